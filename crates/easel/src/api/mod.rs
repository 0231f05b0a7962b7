//! The REST JSON API under `/api/v1`: conferences, agenda, sessions,
//! capability links, chart info and the live agenda event stream.
//!
//! Every route is registered through `utoipa_axum::routes!`, so the router
//! and the OpenAPI document (`GET /api/v1/openapi.json`) come from the same
//! handler annotations and cannot drift apart. Every failure has one shape
//! (see [`error`]). Who may call what:
//!
//! | role       | may                                                           |
//! |------------|---------------------------------------------------------------|
//! | none       | create a conference; read a conference whose proceedings are public |
//! | read       | read the agenda, chart info, the event stream; open charts read-only |
//! | edit       | + propose sessions; edit charts; vote (personal links, or shared ones when allowed) |
//! | organizer  | + everything else: conference, rounds, spaces, sessions, links, webhooks |

pub mod calendar;
pub mod error;
pub mod events;
pub mod exports;
mod handlers;
pub mod history;
pub mod news;
pub mod report;
pub mod search;
pub mod views;
pub mod votes;
pub mod webhooks;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{self, Role, TokenRecord};
use crate::AppState;
pub use error::{ApiError, ErrorBody, ErrorCode};

/// JSON body extractor whose rejections use the API error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path extractor whose rejections use the API error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query extractor whose rejections use the API error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The caller: the token it presented (already checked: known, not
/// revoked) and its address (for rate limits).
pub struct Caller {
    pub token: Option<TokenRecord>,
    pub ip: IpAddr,
}

/// The client address axum recorded for this connection.
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Checks the token presented with a request (header or `?token=`):
/// `Ok(None)` if none, `Ok(Some)` if valid, else 401 (counted against the
/// address's failed-attempt budget) or 429 once that budget is spent.
pub async fn check_token(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    ip: IpAddr,
) -> Result<Option<TokenRecord>, ApiError> {
    let Some(secret) = access::presented_token(headers, query) else {
        return Ok(None);
    };
    if state.limits.auth_failures.exhausted(ip) {
        return Err(ApiError::rate_limited("failed token attempts"));
    }
    match state.conferences.authenticate(&secret).await? {
        Some(record) => Ok(Some(record)),
        None => {
            state.limits.auth_failures.try_take(ip);
            tracing::info!(%ip, "request with an invalid token");
            Err(ApiError::invalid_token())
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let ip = client_ip(parts);
        let token = check_token(state, &parts.headers, parts.uri.query(), ip).await?;
        Ok(Caller { token, ip })
    }
}

impl Caller {
    /// The caller's token if it belongs to `conference_id` with at least
    /// `role`; 401 without a token, 403 otherwise. Checked before anything
    /// is loaded, so answers do not reveal which conferences exist.
    pub fn require(&self, conference_id: &str, role: Role) -> Result<&TokenRecord, ApiError> {
        let token = self.token.as_ref().ok_or_else(ApiError::unauthorized)?;
        if token.conference_id != conference_id {
            return Err(ApiError::forbidden(
                "this token belongs to another conference",
            ));
        }
        if token.role < role {
            return Err(ApiError::forbidden(format!(
                "this needs a {} link; yours is {}",
                role.as_str(),
                token.role.as_str()
            )));
        }
        Ok(token)
    }

    /// The role the caller has in `conference_id`, if any.
    pub fn role_in(&self, conference_id: &str) -> Option<Role> {
        self.token
            .as_ref()
            .filter(|t| t.conference_id == conference_id)
            .map(|t| t.role)
    }
}

/// Base of links handed out: `--public-url`, else `http://{Host}`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The web client's link into a conference.
pub fn conference_link(base: &str, conference_id: &str, token: &str) -> String {
    format!("{base}/#/conference/{conference_id}?token={token}")
}

/// The web client's link to a chart.
pub fn chart_link(base: &str, chart_id: &str, token: &str) -> String {
    format!("{base}/#/chart/{chart_id}?token={token}")
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Easel API",
        description = "Conferences, agenda, sessions and capability links of an Easel server. \
                       Tokens go in `Authorization: Bearer <token>` or `?token=<token>`. \
                       Every error is `{\"error\": {\"code\", \"message\"}}`."
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, events::EditedView))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API router (to be nested at `/api/v1`) and its OpenAPI document.
pub fn router(state: &AppState) -> Router<AppState> {
    use handlers::*;
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create_conference))
        .routes(routes!(
            get_conference,
            update_conference,
            delete_conference
        ))
        .routes(routes!(add_round))
        .routes(routes!(add_round_pattern))
        .routes(routes!(delete_round, report::update_round))
        .routes(routes!(report::update_report))
        .routes(routes!(report::set_continues))
        .routes(routes!(report::actions_csv))
        .routes(routes!(report::actions_ics))
        .routes(routes!(add_space))
        .routes(routes!(update_space, delete_space))
        .routes(routes!(propose_session))
        .routes(routes!(update_session, cancel_session))
        .routes(routes!(merge_sessions))
        .routes(routes!(list_links, mint_link))
        .routes(routes!(revoke_link))
        .routes(routes!(whoami))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::delete_webhook))
        .routes(routes!(webhooks::webhook_deliveries))
        .merge(
            // A long list of names is a larger body than the rest of the
            // API takes; its own limit, then the names limit, apply.
            OpenApiRouter::new()
                .routes(routes!(votes::mint_personal_links))
                .layer(DefaultBodyLimit::max(state.config.max_voter_names_bytes)),
        )
        .routes(routes!(votes::get_votes))
        .routes(routes!(votes::update_convergence))
        .routes(routes!(votes::place_dot, votes::remove_dot))
        .routes(routes!(events::conference_events))
        .routes(routes!(conference_presence))
        .routes(routes!(search::search_conference))
        .routes(routes!(calendar::agenda_calendar))
        .routes(routes!(calendar::session_calendar))
        .routes(routes!(chart_info))
        .routes(routes!(exports::chart_export))
        .routes(routes!(exports::board_image))
        .routes(routes!(exports::proceedings))
        .routes(routes!(news::news))
        .routes(routes!(news::feed))
        .routes(routes!(news::dashboard))
        .routes(routes!(history::list_versions, history::save_version))
        .routes(routes!(history::version_export))
        .routes(routes!(history::version_diff))
        .routes(routes!(history::restore_version))
        .split_for_parts();
    let openapi = std::sync::Arc::new(openapi);
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::not_found("no such API route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                crate::api::ErrorCode::MethodNotAllowed,
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(state.config.max_api_body_bytes))
}
