//! The API's one error shape, `{"error": {"code", "message"}}`, and the one
//! table that maps every failure to an HTTP status and a machine code.
//!
//! | code                       | status | when                                                  |
//! |----------------------------|--------|-------------------------------------------------------|
//! | `invalid_json`             | 400    | body is not JSON                                      |
//! | `invalid_input`            | 400    | a field is missing, malformed or out of range         |
//! | `unauthorized`             | 401    | no token given                                        |
//! | `invalid_token`            | 401    | unknown or revoked token                              |
//! | `forbidden`                | 403    | token of another conference, or role too weak         |
//! | `origin_not_allowed`       | 403    | WebSocket `Origin` not in the allowed list            |
//! | `not_found`                | 404    | conference, round, space, session, link or route      |
//! | `method_not_allowed`       | 405    | route exists, method does not                         |
//! | `conflict`                 | 409    | id already in use; agenda changed concurrently (retry) |
//! | `cell_taken`               | 409    | (round, space) already holds a session                |
//! | `rounds_overlap`           | 409    | a round would overlap another                         |
//! | `has_sessions`             | 409    | round/space still holds sessions                      |
//! | `invalid_transition`       | 409    | session state change not allowed                      |
//! | `session_final`            | 409    | session is final; reopen first                        |
//! | `payload_too_large`        | 413    | body over `--max-api-body-bytes`                      |
//! | `unsupported_media_type`   | 415    | body without `Content-Type: application/json`         |
//! | `not_a_breakout`           | 422    | sessions go into breakout rounds only                 |
//! | `outside_conference_dates` | 422    | round starts outside the conference dates             |
//! | `invalid_time_zone`        | 422    | not an IANA zone name                                 |
//! | `nonexistent_local_time`   | 422    | local time falls into a DST gap                       |
//! | `rate_limited`             | 429    | too many failed tokens / connections / creations      |
//! | `internal`                 | 500    | storage failure or damaged data (details in the log)  |
//! | `unavailable`              | 503    | chart or metadata store (Redis) could not be reached, or shutting down |

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use easel_agenda::AgendaError;
use serde::Serialize;

use crate::conferences::Error;
use easel_store::meta::MetaError;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (see the table in `docs/api.md`).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// An API failure: status, machine code, message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }
    pub fn unauthorized() -> ApiError {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a token is required (Authorization: Bearer or ?token=)",
        )
    }
    pub fn invalid_token() -> ApiError {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the token is unknown or was revoked",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn rate_limited(what: &str) -> ApiError {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what} from this address; try again in a minute"),
        )
    }
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        });
        if self.status == StatusCode::UNAUTHORIZED {
            (self.status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

impl From<AgendaError> for ApiError {
    fn from(e: AgendaError) -> ApiError {
        use AgendaError as A;
        let (status, code) = match &e {
            A::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            A::DuplicateId { .. } => (StatusCode::CONFLICT, "conflict"),
            A::CellTaken { .. } => (StatusCode::CONFLICT, "cell_taken"),
            A::NotABreakout { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not_a_breakout"),
            A::HasSessions { .. } => (StatusCode::CONFLICT, "has_sessions"),
            A::RoundsOverlap { .. } => (StatusCode::CONFLICT, "rounds_overlap"),
            A::OutsideConferenceDates { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "outside_conference_dates")
            }
            A::InvalidTimeZone { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_time_zone"),
            A::NonexistentLocalTime { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "nonexistent_local_time")
            }
            A::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "invalid_input"),
            A::InvalidTransition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
            A::SessionFinal { .. } => (StatusCode::CONFLICT, "session_final"),
            _ => (StatusCode::BAD_REQUEST, "invalid_input"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Agenda(a) => a.into(),
            Error::ConferenceNotFound(_) | Error::LinkNotFound(_) => {
                ApiError::not_found(e.to_string())
            }
            Error::Hub(h) => {
                tracing::warn!(error = %h, "chart operation failed");
                ApiError::unavailable(format!("the chart could not be updated: {h}"))
            }
            Error::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            Error::Meta(MetaError::Unavailable(_) | MetaError::Locked(_)) => {
                tracing::warn!(error = %e, "metadata store not available");
                ApiError::unavailable(e.to_string())
            }
            Error::Meta(_) | Error::Corrupt(_) => {
                tracing::error!(error = %e, "API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match &r {
            JsonRejection::JsonDataError(_) => ApiError::invalid(r.body_text()),
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", r.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than the server accepts",
            ),
            _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", r.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::invalid(r.body_text())
    }
}
