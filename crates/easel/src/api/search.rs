//! `GET /conferences/{id}/search`: full-text search over a conference's
//! charts (`easel_search`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use easel_search::{Results, SearchError};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiError, ApiPath, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

/// Hits answered when the request names no `limit`.
const DEFAULT_HITS: usize = 20;

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// What to search for: words (all must occur; case and accents do not
    /// matter), `"a phrase"`, `-excluded`, `a OR b`. A query whose syntax
    /// is not understood is searched as its plain words (`lenient` in the
    /// answer). At most `--max-search-query-bytes` bytes.
    q: Option<String>,
    /// Most hits to answer with (default 20, capped at `--max-search-hits`).
    limit: Option<usize>,
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> ApiError {
        match e {
            SearchError::NoWords | SearchError::Query(_) => ApiError::invalid(e.to_string()),
            SearchError::Source(e) => e.into(),
            SearchError::Stopped => ApiError::unavailable(e.to_string()),
            SearchError::Index(_) | SearchError::Io(..) | SearchError::Task(_) => {
                tracing::error!(error = %e, "search failed");
                ApiError::new(
                    super::ErrorCode::Internal,
                    "internal error; see the server log",
                )
            }
        }
    }
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/search", tag = "conferences",
    params(("conference_id" = String, Path), SearchParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Matching passages of the conference's charts, best first (read link)", body = Results),
        (status = "4XX", description = "No or bad query, query too long, or no token of this conference", body = ErrorBody),
    )
)]
/// Full-text search over the conference's charts: session topics, notes,
/// action items and board stickies. Each hit names the chart and the place
/// in it (a block of the notes or a sticky) and has a highlighted snippet.
/// Only the token's own conference is searched.
pub async fn search_conference(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Results>, ApiError> {
    caller.require(&id, Role::Read)?;
    let Query(params) = params.map_err(|e| ApiError::invalid(e.body_text()))?;
    let q = params.q.unwrap_or_default();
    let max = state.config.max_search_query_bytes;
    if q.len() > max {
        return Err(ApiError::invalid(format!(
            "the query is {} bytes; at most {max} are searched (--max-search-query-bytes)",
            q.len()
        )));
    }
    if q.trim().is_empty() {
        return Err(ApiError::invalid("q is required: the words to search for"));
    }
    if q.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "the query must not contain control characters",
        ));
    }
    let limit = params
        .limit
        .unwrap_or(DEFAULT_HITS)
        .clamp(1, state.config.max_search_hits.max(1));
    Ok(Json(state.search.search(&id, &q, limit).await?))
}
