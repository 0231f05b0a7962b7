//! Escaping and URL filtering shared by all renderers.
//!
//! Every string in the proceedings comes from conference participants. These
//! helpers are the only way user text reaches an output, so an injection fix
//! happens in one place.

/// Escapes text for HTML element content and quoted attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for CommonMark/GFM inline content: every ASCII punctuation
/// character that can mean something somewhere (emphasis, links, HTML,
/// entities, tables, headings, list and quote markers, setext underlines,
/// fences) is backslash-escaped; CommonMark allows this for all of them.
/// Only characters that are inert in any position stay as they are (to keep
/// the source readable), and `.` is escaped only after a digit (`1.` list
/// marker). Line breaks and other control characters become spaces so that
/// text cannot start a new block.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev = ' ';
    for c in s.chars() {
        let escape = match c {
            ',' | ';' | ':' | '/' | '?' | '@' | '%' | '$' | '^' | '\'' | '"' => false,
            '.' => prev.is_ascii_digit(),
            c => c.is_ascii_punctuation(),
        };
        prev = c;
        if escape {
            out.push('\\');
            out.push(c);
        } else if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// A CommonMark code span holding `s` literally.
pub fn markdown_code_span(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = s.starts_with('`') || s.ends_with('`') || s.starts_with(' ') || s.ends_with(' ');
    if pad {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// A link destination for Markdown; `href` must come from [`safe_href`].
/// `&` is escaped so entities are not decoded.
pub fn markdown_href(href: &str) -> String {
    href.replace('&', "\\&")
}

/// Keeps only characters safe in a code-fence info string / CSS class.
pub fn language_tag(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.' | '#'))
        .take(32)
        .collect()
}

/// Filters a link target: returns `Some` only for absolute `http`, `https`
/// and `mailto` URLs, normalised (lower-case scheme) and with every character
/// that could break out of an attribute or Markdown destination
/// percent-encoded. `javascript:`, `data:`, relative URLs etc. give `None`.
pub fn safe_href(raw: &str) -> Option<String> {
    // Browsers drop tab/LF/CR anywhere and trim C0 controls and spaces.
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c <= ' ');
    let (scheme, rest) = cleaned.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let ok = match scheme.as_str() {
        "http" | "https" => rest.starts_with("//") && rest.len() > 2,
        "mailto" => !rest.is_empty(),
        _ => false,
    };
    if !ok {
        return None;
    }
    let mut out = String::with_capacity(cleaned.len() + 8);
    out.push_str(&scheme);
    out.push(':');
    for c in rest.chars() {
        if c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&*+,;=%".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Some(out)
}

/// The permalink anchor of a session: `session-{id}`. ASCII letters, digits,
/// `-` and `.` are kept; any other byte is written as `_XX` (hex), so the
/// anchor is unique per id and safe in attributes, URLs and CSS.
pub fn session_anchor(id: &str) -> String {
    let mut out = String::from("session-");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs() {
        assert_eq!(
            safe_href(" HTTPS://x.org/a b?c=<d>&e=\"f\" "),
            Some("https://x.org/a%20b?c=%3Cd%3E&e=%22f%22".into())
        );
        assert_eq!(safe_href("mailto:a@b.org"), Some("mailto:a@b.org".into()));
        assert_eq!(
            safe_href("https://ü.org/é"),
            Some("https://%C3%BC.org/%C3%A9".into())
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            " \u{1}javascript:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "/relative",
            "example.org",
            "https:",
            "http:evil",
            "",
        ] {
            assert_eq!(safe_href(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn anchors() {
        assert_eq!(session_anchor("s-1.2"), "session-s-1.2");
        assert_eq!(session_anchor("a b_\"<"), "session-a_20b_5F_22_3C");
    }

    #[test]
    fn code_spans() {
        assert_eq!(markdown_code_span("a`b"), "``a`b``");
        assert_eq!(markdown_code_span("`x"), "`` `x ``");
    }

    #[test]
    fn markdown_escapes_all_punctuation() {
        assert_eq!(
            markdown("*_[]()#>`|\\"),
            "\\*\\_\\[\\]\\(\\)\\#\\>\\`\\|\\\\"
        );
        assert_eq!(markdown("a\nb"), "a b");
        assert_eq!(markdown("1. Hi, you: 2.5 a.b"), "1\\. Hi, you: 2\\.5 a.b");
    }
}
