//! Validation of user-typed text: topics, names, ids, URLs.
//!
//! Why: the agenda is shown on shared screens and in proceedings, so text has
//! to be trimmed, bounded and free of control characters that would break
//! layouts or terminals; ids travel in URLs and must be plain tokens. Keeping
//! the rules in one place keeps every operation consistent.

use crate::error::{AgendaError, Result};

/// Maximum length of a session topic, in characters (Unicode scalar values).
pub const TOPIC_MAX_CHARS: usize = 200;
/// Maximum length of a convener's name.
pub const CONVENER_MAX_CHARS: usize = 100;
/// Maximum length of a space name, round label or conference name.
pub const NAME_MAX_CHARS: usize = 200;
/// Maximum length of a conference description.
pub const DESCRIPTION_MAX_CHARS: usize = 5000;
/// Maximum length of an id.
pub const ID_MAX_CHARS: usize = 128;
/// Maximum length of a video URL.
pub const URL_MAX_CHARS: usize = 2048;

/// Trim `input` and check it is a single line of 1..=`max` characters with
/// no control characters. Returns the trimmed text.
pub(crate) fn single_line(field: &'static str, input: &str, max: usize) -> Result<String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(AgendaError::invalid(field, "must not be empty"));
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(AgendaError::invalid(
            field,
            format!("is {chars} characters long; at most {max} allowed"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(AgendaError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Like [`single_line`] but allows newlines and tabs and may be empty.
pub(crate) fn multi_line(field: &'static str, input: &str, max: usize) -> Result<String> {
    let trimmed = input.trim();
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(AgendaError::invalid(
            field,
            format!("is {chars} characters long; at most {max} allowed"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(AgendaError::invalid(
            field,
            "must not contain control characters other than newlines and tabs",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Ids are opaque tokens supplied by the caller (UUIDs, ULIDs, slugs): they
/// must be non-empty, at most [`ID_MAX_CHARS`] long and consist of ASCII
/// letters, digits, `-`, `_`, `.` or `:` so they are safe in URLs and logs.
pub(crate) fn id(field: &'static str, input: &str) -> Result<()> {
    if input.is_empty() {
        return Err(AgendaError::invalid(field, "must not be empty"));
    }
    if input.len() > ID_MAX_CHARS {
        return Err(AgendaError::invalid(
            field,
            format!("at most {ID_MAX_CHARS} characters allowed"),
        ));
    }
    if !input
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Err(AgendaError::invalid(
            field,
            "may only contain ASCII letters, digits, '-', '_', '.' and ':'",
        ));
    }
    Ok(())
}

/// Video links are clicked by every participant, so only absolute `http` or
/// `https` URLs with a host are accepted (no `javascript:`, `file:` ...).
pub(crate) fn video_url(input: &str) -> Result<String> {
    const FIELD: &str = "video_url";
    let url = input.trim();
    if url.len() > URL_MAX_CHARS {
        return Err(AgendaError::invalid(
            FIELD,
            format!("at most {URL_MAX_CHARS} characters allowed"),
        ));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AgendaError::invalid(
            FIELD,
            "must not contain spaces or control characters",
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url["https://".len()..]
    } else if lower.starts_with("http://") {
        &url["http://".len()..]
    } else {
        return Err(AgendaError::invalid(
            FIELD,
            "must be an absolute http:// or https:// URL",
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    if host.is_empty() {
        return Err(AgendaError::invalid(FIELD, "must name a host"));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_trims_and_counts_chars_not_bytes() {
        assert_eq!(single_line("topic", "  hi  ", 5).unwrap(), "hi");
        assert!(single_line("topic", &"é".repeat(5), 5).is_ok());
        assert!(single_line("topic", &"é".repeat(6), 5).is_err());
        assert!(single_line("topic", "   ", 5).is_err());
        assert!(single_line("topic", "a\nb", 5).is_err());
        assert!(single_line("topic", "a\u{7}b", 5).is_err());
    }

    #[test]
    fn multi_line_allows_newlines_only() {
        assert_eq!(multi_line("d", " a\nb\t ", 10).unwrap(), "a\nb");
        assert_eq!(multi_line("d", "", 10).unwrap(), "");
        assert!(multi_line("d", "a\u{1b}[31m", 10).is_err());
    }

    #[test]
    fn ids_are_url_safe_tokens() {
        assert!(id("id", "01JC-abc_def.1:2").is_ok());
        assert!(id("id", "").is_err());
        assert!(id("id", "a b").is_err());
        assert!(id("id", "a/b").is_err());
        assert!(id("id", &"a".repeat(ID_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn video_urls() {
        assert!(video_url("https://meet.example.org/room-1").is_ok());
        assert!(video_url("HTTP://example.org").is_ok());
        assert!(video_url("https://user@host:8443/x?y#z").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://example.org",
            "https://",
            "https:///path",
            "https://exa mple.org",
            "example.org",
            "file:///etc/passwd",
        ] {
            assert!(video_url(bad).is_err(), "{bad} accepted");
        }
    }
}
