//! Exports over HTTP: one chart (for its hosts) and a conference's
//! proceedings (for its readers) in every format of `easel-proceedings`.
//!
//! | route                                              | who                                   |
//! |----------------------------------------------------|---------------------------------------|
//! | `GET /api/v1/charts/{id}/export.{ext}`             | any token of the chart's conference   |
//! | `GET /api/v1/conferences/{id}/proceedings.{ext}`   | a token of the conference, or none when proceedings are public |
//! | `GET /api/v1/charts/{id}/board.{svg,png}`          | any token of the chart's conference   |
//!
//! `ext` is `md`, `html`, `json` or `pdf`. Responses carry the format's
//! `Content-Type`, `Content-Disposition: attachment; filename="<slug>.<ext>"`
//! (`?inline=1` serves the HTML edition inline, under a CSP that allows
//! nothing but its inline styles) and a strong `ETag` (SHA-256 of the
//! rendered bytes); `If-None-Match` answers 304. Every export is compiled
//! on demand from the charts' current state: during the event it is the
//! live edition, after it the final one. What is rendered, and how, is
//! `easel_conferences::proceedings`, shared with `easel proceedings`,
//! which runs it on a stopped server's data dir.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use easel_conferences::history::AsOf;
use easel_conferences::proceedings::{
    render_board, render_chart_export, render_proceedings_as_of, BoardFormat, ExportError,
};
use easel_proceedings::Format;
use sha2::{Digest, Sha256};

use super::{ApiError, ApiPath, Caller, ErrorBody};
use crate::access::Role;
use crate::AppState;

/// Content-Security-Policy of an HTML export served inline: the file is
/// self-contained (inline CSS, no scripts), so it needs nothing else.
const INLINE_HTML_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The format an extension names (`md`, `html`, `json`, `pdf`).
pub fn parse_format(ext: &str) -> Option<Format> {
    match ext {
        "md" | "markdown" => Some(Format::Markdown),
        "html" => Some(Format::Html),
        "json" => Some(Format::Json),
        "pdf" => Some(Format::Pdf),
        _ => None,
    }
}

/// The format of a request, or the API error for it. The one place that
/// decides which formats the endpoints serve.
pub(crate) fn request_format(ext: &str) -> Result<Format, ApiError> {
    parse_format(ext).ok_or_else(|| {
        ApiError::not_found(format!(
            "no export format {ext:?}; use md, html, json or pdf"
        ))
    })
}

/// The strong entity tag of rendered bytes: a quoted SHA-256 prefix.
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` matches `tag` (weak comparison, RFC 9110 13.1.2).
fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

/// Whether the query asks for the HTML edition inline (`inline=1`/`true`).
fn wants_inline(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .any(|(k, v)| k == "inline" && (v == "1" || v == "true"))
    })
}

/// The HTTP response for rendered bytes: type, file name, ETag, 304.
pub(crate) fn file_response(
    headers: &HeaderMap,
    query: Option<&str>,
    format: Format,
    name: &str,
    bytes: Vec<u8>,
) -> Response {
    let tag = etag(&bytes);
    let mut response = if not_modified(headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let inline = format == Format::Html && wants_inline(query);
    let disposition = format!(
        "{}; filename=\"{name}.{}\"",
        if inline { "inline" } else { "attachment" },
        format.extension()
    );
    let h = response.headers_mut();
    let mut set = |key: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(key, v);
        }
    };
    set(header::CONTENT_TYPE, format.content_type());
    set(header::CONTENT_DISPOSITION, &disposition);
    set(header::ETAG, &tag);
    // Live edition: always revalidate (cheap with the ETag); never in a
    // shared cache, since most exports need a token.
    set(header::CACHE_CONTROL, "private, no-cache");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if format == Format::Html {
        set(header::CONTENT_SECURITY_POLICY, INLINE_HTML_CSP);
    }
    response
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::Conference(c) => c.into(),
            other => {
                tracing::error!(error = %other, "export failed");
                ApiError::new(
                    crate::api::ErrorCode::Internal,
                    "the export could not be rendered; see the server log",
                )
            }
        }
    }
}

#[utoipa::path(
    get, path = "/charts/{chart_id}/export.{format}", tag = "exports",
    params(
        ("chart_id" = String, Path),
        ("format" = String, Path, description = "md, html, json or pdf"),
        ("inline" = Option<String>, Query, description = "`1`: serve the HTML edition inline"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart in the requested format (with ETag)"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// One chart as Markdown, HTML, JSON or PDF (any token of its conference).
pub async fn chart_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((chart_id, ext)): ApiPath<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthorized)?;
    let format = request_format(&ext)?;
    let entry = state
        .conferences
        .chart_entry(&chart_id)
        .await?
        .filter(|e| e.conference_id == token.conference_id)
        .ok_or_else(|| ApiError::forbidden("this token does not grant access to this chart"))?;
    caller.require(&entry.conference_id, Role::Read)?;
    let (name, bytes) =
        render_chart_export(&state.conferences, &entry.conference_id, &chart_id, format).await?;
    Ok(file_response(&headers, uri.query(), format, &name, bytes))
}

/// The proceedings' query parameters the handler reads (`inline` is read
/// from the raw query by [`file_response`]).
#[derive(Debug, serde::Deserialize)]
pub struct ProceedingsQuery {
    as_of: Option<String>,
}

#[utoipa::path(
    get, path = "/charts/{chart_id}/board.{format}", tag = "exports",
    params(
        ("chart_id" = String, Path),
        ("format" = String, Path, description = "svg or png"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart's board drawn as SVG (`image/svg+xml`) or PNG (`image/png`, at most 2000 pixels on its longer side), with ETag"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// One chart's board (stickies, ink, arrows) as SVG or PNG (any token of
/// its conference, like the chart's exports).
pub async fn board_image(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((chart_id, ext)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = caller.token.as_ref().ok_or_else(ApiError::unauthorized)?;
    let format = match ext.as_str() {
        "svg" => BoardFormat::Svg,
        "png" => BoardFormat::Png,
        _ => {
            return Err(ApiError::not_found(format!(
                "no board format {ext:?}; use svg or png"
            )))
        }
    };
    let entry = state
        .conferences
        .chart_entry(&chart_id)
        .await?
        .filter(|e| e.conference_id == token.conference_id)
        .ok_or_else(|| ApiError::forbidden("this token does not grant access to this chart"))?;
    caller.require(&entry.conference_id, Role::Read)?;
    let (name, bytes) =
        render_board(&state.conferences, &entry.conference_id, &chart_id, format).await?;
    let tag = etag(&bytes);
    let mut response = if not_modified(&headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let disposition = format!("inline; filename=\"{name}.{}\"", format.extension());
    let h = response.headers_mut();
    let mut set = |key: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(key, v);
        }
    };
    set(header::CONTENT_TYPE, format.content_type());
    set(header::CONTENT_DISPOSITION, &disposition);
    set(header::ETAG, &tag);
    set(header::CACHE_CONTROL, "private, no-cache");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // An SVG opened on its own is a document: it may not run or load
    // anything (it has no script; this holds if that ever changed).
    set(header::CONTENT_SECURITY_POLICY, INLINE_HTML_CSP);
    Ok(response)
}

#[utoipa::path(
    get, path = "/conferences/{conference_id}/proceedings.{format}", tag = "exports",
    params(
        ("conference_id" = String, Path),
        ("format" = String, Path, description = "md, html, json or pdf"),
        ("inline" = Option<String>, Query, description = "`1`: serve the HTML edition inline"),
        ("as_of" = Option<String>, Query, description = "the proceedings as they were: an RFC 3339 time, or `round:<round id>` (the end of that round), built from the charts' versions"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The proceedings in the requested format (with ETag)"),
        (status = 304, description = "If-None-Match matched"),
        (status = "4XX", body = ErrorBody),
    )
)]
/// The conference's proceedings (read token, or none when public).
pub async fn proceedings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((conference_id, ext)): ApiPath<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<ProceedingsQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if caller.token.is_some() {
        caller.require(&conference_id, Role::Read)?;
    } else {
        // Same answer for "not public" and "no such conference".
        let public = state
            .conferences
            .load(&conference_id)
            .await
            .is_ok_and(|s| s.proceedings_public);
        if !public {
            return Err(ApiError::unauthorized());
        }
    }
    let format = request_format(&ext)?;
    let as_of = match query.as_of {
        None => None,
        Some(text) => Some(AsOf::parse(&text).ok_or_else(|| {
            ApiError::invalid(format!(
                "invalid as_of {text:?}: an RFC 3339 time (2026-06-15T10:00:00Z) or round:<round id>"
            ))
        })?),
    };
    let (mut name, bytes) =
        render_proceedings_as_of(&state.conferences, &conference_id, format, as_of.as_ref())
            .await?;
    if as_of.is_some() {
        name.push_str("-as-of");
    }
    Ok(file_response(&headers, uri.query(), format, &name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = etag(b"hello");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{tag}")).unwrap(),
        );
        assert!(not_modified(&h, &tag));
        assert!(!not_modified(&h, &etag(b"other")));
    }

    #[test]
    fn formats() {
        for f in Format::ALL {
            assert_eq!(parse_format(f.extension()), Some(f));
        }
        assert_eq!(parse_format("exe"), None);
    }
}
