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

/// Escapes text for CommonMark/GFM inline content, adding a backslash only
/// where a parser would otherwise read markup mid-line: emphasis and
/// strikethrough (`*`, `~`, and `_` unless it sits inside a word), code
/// (`` ` ``), links (`[`, `]`), HTML and autolinks (`<`), tables (`|`),
/// entities (`&` that starts `&name;` or `&#..;`) and escapes themselves
/// (`\` before punctuation or at the end). Everything else (`(`, `+`, `.`,
/// `#`, `!`, ...) is inert mid-line and stays as typed; what is special only
/// at the start of a line is handled by [`markdown_line_start`]. Line breaks
/// and other control characters become spaces so that text cannot start a
/// new block.
pub fn markdown(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let escape = match c {
            '*' | '`' | '[' | ']' | '<' | '|' | '~' => true,
            // Intraword `_` can neither open nor close emphasis.
            '_' => {
                !(prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric))
            }
            // The end of this text may meet a line break or markup.
            '\\' => next.is_none_or(|n| n.is_ascii_punctuation()),
            '&' => starts_entity(&chars[i + 1..]),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `rest` (the text after a `&`) would make it an entity or
/// numeric character reference. Text that ends before a `;` might be
/// continued by the next piece of text, so it counts too.
fn starts_entity(rest: &[char]) -> bool {
    let name_len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '#')
        .count();
    name_len > 0 && rest.get(name_len).is_none_or(|c| *c == ';')
}

/// Makes a line of already [`markdown`]-escaped text safe at the start of a
/// line (or of a list item), where `#` headings, `>` quotes, `-`/`+`/`1.`
/// list items, `=`/`-` setext underlines and thematic breaks begin. Leading
/// whitespace (indented code) must already be gone.
pub fn markdown_line_start(line: &str) -> String {
    let bytes = line.as_bytes();
    let follows_blank = |i: usize| matches!(bytes.get(i), None | Some(b' ' | b'\t'));
    let escape_at = match bytes.first() {
        Some(b'#') => {
            let run = bytes.iter().take_while(|b| **b == b'#').count();
            (run <= 6 && follows_blank(run)).then_some(0)
        }
        Some(b'>' | b'=') => Some(0),
        Some(b'+') => follows_blank(1).then_some(0),
        Some(b'-') => (follows_blank(1) || bytes.get(1) == Some(&b'-')).then_some(0),
        Some(b'0'..=b'9') => {
            let run = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            (run <= 9 && matches!(bytes.get(run), Some(b'.' | b')')) && follows_blank(run + 1))
                .then_some(run)
        }
        _ => None,
    };
    match escape_at {
        Some(i) => format!("{}\\{}", &line[..i], &line[i..]),
        None => line.to_string(),
    }
}

/// Markdown-escaped text for an ATX heading: a trailing `#` run would be
/// read as the optional closing sequence and dropped.
pub fn markdown_heading(s: &str) -> String {
    let text = markdown(s.trim());
    match text.strip_suffix('#') {
        Some(head) => format!("{head}\\#"),
        None => text,
    }
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
    fn markdown_escapes_only_what_a_parser_would_read() {
        assert_eq!(
            markdown("*_[]()#>`|\\ <b> ~x~"),
            "\\*\\_\\[\\]()#>\\`\\|\\ \\<b> \\~x\\~"
        );
        assert_eq!(markdown("a\nb"), "a b");
        assert_eq!(
            markdown("1. Hi (you): 2.5 a+b = c! snake_case _x_ C:\\Users"),
            "1. Hi (you): 2.5 a+b = c! snake_case \\_x\\_ C:\\Users"
        );
        assert_eq!(markdown("R&D &amp; &#60; &x"), "R&D \\&amp; \\&#60; \\&x");
        assert_eq!(markdown("ends\\"), "ends\\\\");
    }

    #[test]
    fn markdown_line_starts() {
        for (line, want) in [
            ("# a", "\\# a"),
            ("###### a", "\\###### a"),
            ("####### a", "####### a"),
            ("#hashtag", "#hashtag"),
            ("> a", "\\> a"),
            ("- a", "\\- a"),
            ("---", "\\---"),
            ("-1 degrees", "-1 degrees"),
            ("+ a", "\\+ a"),
            ("+1", "+1"),
            ("===", "\\==="),
            ("1. a", "1\\. a"),
            ("2026) a", "2026\\) a"),
            ("2026.", "2026\\."),
            ("2.5 kg", "2.5 kg"),
            ("1234567890. a", "1234567890. a"),
            ("plain", "plain"),
        ] {
            assert_eq!(markdown_line_start(line), want, "{line:?}");
        }
        assert_eq!(markdown_heading("C# ##"), "C# #\\#");
        assert_eq!(markdown_heading("Why?"), "Why?");
    }
}
