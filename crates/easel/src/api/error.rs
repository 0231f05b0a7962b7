//! The API's one error shape, `{"error": {"code", "message"}}`, and the one
//! table that maps every failure to an HTTP status and a machine code.
//!
//! The codes are [`ErrorCode`]: one enum, one status per code. The table
//! in `docs/api.md` is written from it and a test fails when they disagree
//! (`error_codes_match_the_table_in_docs_api_md`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use easel_agenda::AgendaError;
use serde::Serialize;

use easel_conferences::Error;
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

/// Every machine code the API answers with, and its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidJson,
    InvalidInput,
    Unauthorized,
    InvalidToken,
    Forbidden,
    RestoreNotAllowed,
    OriginNotAllowed,
    NotFound,
    MethodNotAllowed,
    Conflict,
    CellTaken,
    RoundsOverlap,
    HasSessions,
    InvalidTransition,
    SessionFinal,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebsocketRequired,
    NotABreakout,
    OutsideConferenceDates,
    InvalidTimeZone,
    NonexistentLocalTime,
    VotingClosed,
    NoDotsLeft,
    NotAVoter,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order of the table in `docs/api.md`.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::InvalidInput,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidToken,
        ErrorCode::Forbidden,
        ErrorCode::RestoreNotAllowed,
        ErrorCode::OriginNotAllowed,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::CellTaken,
        ErrorCode::RoundsOverlap,
        ErrorCode::HasSessions,
        ErrorCode::InvalidTransition,
        ErrorCode::SessionFinal,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::WebsocketRequired,
        ErrorCode::NotABreakout,
        ErrorCode::OutsideConferenceDates,
        ErrorCode::InvalidTimeZone,
        ErrorCode::NonexistentLocalTime,
        ErrorCode::VotingClosed,
        ErrorCode::NoDotsLeft,
        ErrorCode::NotAVoter,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        use ErrorCode as C;
        match self {
            C::InvalidJson => "invalid_json",
            C::InvalidInput => "invalid_input",
            C::Unauthorized => "unauthorized",
            C::InvalidToken => "invalid_token",
            C::Forbidden => "forbidden",
            C::RestoreNotAllowed => "restore_not_allowed",
            C::OriginNotAllowed => "origin_not_allowed",
            C::NotFound => "not_found",
            C::MethodNotAllowed => "method_not_allowed",
            C::Conflict => "conflict",
            C::CellTaken => "cell_taken",
            C::RoundsOverlap => "rounds_overlap",
            C::HasSessions => "has_sessions",
            C::InvalidTransition => "invalid_transition",
            C::SessionFinal => "session_final",
            C::PayloadTooLarge => "payload_too_large",
            C::UnsupportedMediaType => "unsupported_media_type",
            C::WebsocketRequired => "websocket_required",
            C::NotABreakout => "not_a_breakout",
            C::OutsideConferenceDates => "outside_conference_dates",
            C::InvalidTimeZone => "invalid_time_zone",
            C::NonexistentLocalTime => "nonexistent_local_time",
            C::VotingClosed => "voting_closed",
            C::NoDotsLeft => "no_dots_left",
            C::NotAVoter => "not_a_voter",
            C::RateLimited => "rate_limited",
            C::Internal => "internal",
            C::Unavailable => "unavailable",
        }
    }

    /// The HTTP status every response with this code has.
    pub fn status(self) -> StatusCode {
        use ErrorCode as C;
        match self {
            C::InvalidJson | C::InvalidInput => StatusCode::BAD_REQUEST,
            C::Unauthorized | C::InvalidToken => StatusCode::UNAUTHORIZED,
            C::Forbidden | C::RestoreNotAllowed | C::OriginNotAllowed | C::NotAVoter => {
                StatusCode::FORBIDDEN
            }
            C::NotFound => StatusCode::NOT_FOUND,
            C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            C::Conflict
            | C::CellTaken
            | C::RoundsOverlap
            | C::HasSessions
            | C::InvalidTransition
            | C::SessionFinal
            | C::VotingClosed
            | C::NoDotsLeft => StatusCode::CONFLICT,
            C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            C::WebsocketRequired => StatusCode::UPGRADE_REQUIRED,
            C::NotABreakout
            | C::OutsideConferenceDates
            | C::InvalidTimeZone
            | C::NonexistentLocalTime => StatusCode::UNPROCESSABLE_ENTITY,
            C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An API failure: machine code (which decides the status) and message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: code.status(),
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::InvalidInput, message)
    }
    pub fn unauthorized() -> ApiError {
        Self::new(
            ErrorCode::Unauthorized,
            "a token is required (Authorization: Bearer or ?token=)",
        )
    }
    pub fn invalid_token() -> ApiError {
        Self::new(
            ErrorCode::InvalidToken,
            "the token is unknown or was revoked",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn rate_limited(what: &str) -> ApiError {
        Self::new(
            ErrorCode::RateLimited,
            format!("too many {what} from this address; try again in a minute"),
        )
    }
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::Unavailable, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_owned(),
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
        let code = match &e {
            A::NotFound { .. } => ErrorCode::NotFound,
            A::DuplicateId { .. } => ErrorCode::Conflict,
            A::CellTaken { .. } => ErrorCode::CellTaken,
            A::NotABreakout { .. } => ErrorCode::NotABreakout,
            A::HasSessions { .. } => ErrorCode::HasSessions,
            A::RoundsOverlap { .. } => ErrorCode::RoundsOverlap,
            A::OutsideConferenceDates { .. } => ErrorCode::OutsideConferenceDates,
            A::InvalidTimeZone { .. } => ErrorCode::InvalidTimeZone,
            A::NonexistentLocalTime { .. } => ErrorCode::NonexistentLocalTime,
            A::InvalidInput { .. } => ErrorCode::InvalidInput,
            A::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            A::SessionFinal { .. } => ErrorCode::SessionFinal,
            _ => ErrorCode::InvalidInput,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Agenda(a) => a.into(),
            Error::ConferenceNotFound(_) | Error::LinkNotFound(_) | Error::WebhookNotFound(_) => {
                ApiError::not_found(e.to_string())
            }
            Error::Hub(h) => {
                tracing::warn!(error = %h, "chart operation failed");
                ApiError::unavailable(format!("the chart could not be updated: {h}"))
            }
            Error::Conflict(_) => ApiError::new(ErrorCode::Conflict, e.to_string()),
            Error::Vote(v) => {
                use easel_conferences::votes::VoteError as V;
                let code = match &v {
                    V::Closed(_) => ErrorCode::VotingClosed,
                    V::NoDotsLeft(_) => ErrorCode::NoDotsLeft,
                    V::NotAVoter(_) => ErrorCode::NotAVoter,
                    V::UnknownSession(_) | V::UnknownItem { .. } | V::NoDot => ErrorCode::NotFound,
                    V::Invalid(_) => ErrorCode::InvalidInput,
                };
                ApiError::new(code, v.to_string())
            }
            Error::Meta(MetaError::Unavailable(_) | MetaError::Locked(_)) => {
                tracing::warn!(error = %e, "metadata store not available");
                ApiError::unavailable(e.to_string())
            }
            Error::Meta(_) | Error::Corrupt(_) => {
                tracing::error!(error = %e, "API request failed");
                ApiError::new(ErrorCode::Internal, "internal error; see the server log")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match &r {
            JsonRejection::JsonDataError(_) => ApiError::invalid(r.body_text()),
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(ErrorCode::InvalidJson, r.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                ErrorCode::PayloadTooLarge,
                "request body is larger than the server accepts",
            ),
            _ => ApiError::new(ErrorCode::InvalidJson, r.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::invalid(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::invalid(r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/api.md`'s table of codes is what clients read: it must list
    /// exactly the codes the server answers with, each with its status.
    #[test]
    fn error_codes_match_the_table_in_docs_api_md() {
        let doc = include_str!("../../../../docs/api.md");
        let documented: Vec<(String, u16)> = doc
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.get(2)?.parse().ok()?;
                Some((code.to_owned(), status))
            })
            .collect();
        let served: Vec<(String, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), c.status().as_u16()))
            .collect();
        assert_eq!(documented, served, "docs/api.md's error table vs ErrorCode");
    }
}
