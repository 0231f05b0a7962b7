//! Webhook endpoints of a conference (organizer only): list, register,
//! remove, and each endpoint's delivery log. The secret is shown once, in
//! the answer to the registration, and never again. What is refused and
//! why: docs/security.md ("Webhooks").

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use easel_conferences::webhooks::{Endpoint, EventType};
use easel_webhooks::{sign, vet, Attempt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// A registered endpoint, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// Event types it receives, e.g. `session.created`.
    #[schema(value_type = Vec<String>, example = json!(["session.created", "session.finalized"]))]
    pub events: Vec<EventType>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created: jiff::Timestamp,
}

fn webhook_view(e: &Endpoint) -> WebhookView {
    WebhookView {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.events.clone(),
        created: e.created,
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://`; its host must be (and resolve to) a public
    /// address unless the server allows private targets.
    pub url: String,
    /// Any of `session.created`, `session.finalized`, `chart.updated`,
    /// `proceedings.published`, `convergence.closed`; at least one.
    #[schema(example = json!(["session.created"]))]
    pub events: Vec<String>,
    /// `whsec_` + base64 of 24 to 64 random bytes. Left out: the server
    /// makes one and returns it (once).
    pub secret: Option<String>,
}

/// The registered endpoint and its secret, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    pub webhook: WebhookView,
    /// The signing secret (`whsec_...`): keep it; it is never shown again.
    pub secret: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// How many attempts, newest first (default and most: the server's
    /// `--webhook-history`).
    pub limit: Option<usize>,
}

fn refused(e: vet::Refused) -> ApiError {
    ApiError::invalid(format!("invalid url: {e}"))
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/webhooks", tag = "webhooks",
    params(("conference_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<WebhookView>), (status = "4XX", body = ErrorBody))
)]
/// The conference's webhook endpoints, oldest first (organizer).
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<WebhookView>>> {
    caller.require(&id, Role::Organizer)?;
    state.conferences.load(&id).await?;
    let endpoints = state.conferences.webhooks(&id).await?;
    Ok(Json(endpoints.iter().map(webhook_view).collect()))
}

#[utoipa::path(
    post, path = "/conferences/{conference_id}/webhooks", tag = "webhooks",
    params(("conference_id" = String, Path)),
    request_body = CreateWebhook, security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; the secret is shown only here", body = CreatedWebhook),
        (status = "4XX", description = "Bad URL (scheme, syntax, a non-public address), secret or event type: nothing stored", body = ErrorBody),
    )
)]
/// Register a webhook endpoint (organizer).
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    caller.require(&id, Role::Organizer)?;
    if body.events.is_empty() {
        return Err(ApiError::invalid(
            "invalid events: name at least one event type",
        ));
    }
    let mut events = Vec::new();
    for name in &body.events {
        let kind = EventType::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::invalid(format!(
                "invalid events: unknown event type {name:?}; known: {}",
                known.join(", ")
            ))
        })?;
        if !events.contains(&kind) {
            events.push(kind);
        }
    }
    let secret = match body.secret {
        Some(s) => {
            sign::secret_key(s.trim())
                .map_err(|e| ApiError::invalid(format!("invalid secret: {e}")))?;
            s.trim().to_owned()
        }
        None => sign::generate_secret(),
    };
    let config = state.config.webhook_config();
    let url = vet::check_url(&body.url, config.policy, config.connect_timeout)
        .await
        .map_err(refused)?;
    let endpoint = state
        .conferences
        .add_webhook(
            &id,
            url.to_string(),
            secret.clone(),
            events,
            state.config.webhooks_per_conference,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: webhook_view(&endpoint),
            secret,
        }),
    ))
}

#[utoipa::path(
    delete, path = "/conferences/{conference_id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("conference_id" = String, Path), ("webhook_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed; deliveries still pending for it are dropped"), (status = "4XX", body = ErrorBody))
)]
/// Remove a webhook endpoint and its delivery log (organizer).
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, webhook_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(&id, Role::Organizer)?;
    state.conferences.remove_webhook(&id, &webhook_id).await?;
    if let Err(e) = easel_webhooks::dispatch::forget(&state.store, &id, &webhook_id) {
        tracing::warn!(error = %e, webhook_id, "delivery log of a removed webhook not removed");
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("conference_id" = String, Path), ("webhook_id" = String, Path), HistoryQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Recent delivery attempts, newest first", body = Vec<Attempt>), (status = "4XX", body = ErrorBody))
)]
/// An endpoint's delivery log: time, event id and type, attempt, HTTP
/// status or error, next retry (organizer).
pub async fn webhook_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, webhook_id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<Attempt>>> {
    caller.require(&id, Role::Organizer)?;
    if state.conferences.webhook(&id, &webhook_id).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "webhook {webhook_id:?} not found"
        )));
    }
    let keep = state.config.webhook_history.max(1);
    let limit = query.limit.unwrap_or(keep).clamp(1, keep);
    let attempts = easel_webhooks::dispatch::history(&state.store, &id, &webhook_id, limit)
        .map_err(|e| ApiError::new(super::ErrorCode::Internal, e.to_string()))?;
    Ok(Json(attempts))
}
