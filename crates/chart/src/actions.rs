//! Owners and due dates of action items, as note-takers type them.
//!
//! A task item's text carries them inline, so typing stays plain typing in
//! any editor and any Yjs client (see `docs/chart-schema.md`, "Action
//! items"): `@Name` names the owner (the first mention wins; `_` stands for a
//! space, `@Ana_Lima` is "Ana Lima"), and `due 2026-12-10` or
//! `by 2026-12-10` (any case, an optional `:`) the due date. A date that
//! does not exist (`2026-02-30`) is not a due date.

/// The owner and due date written in an action item's `text`.
pub fn parse_action(text: &str) -> (Option<String>, Option<String>) {
    (parse_owner(text), parse_due(text))
}

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\'' | '’')
}

/// The first `@Name` that starts a word (so `ana@example.org` is no owner).
fn parse_owner(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c != '@' {
            continue;
        }
        let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
        if !starts_word || !chars.get(i + 1).is_some_and(|c| c.is_alphabetic()) {
            continue;
        }
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| name_char(**c))
            .collect();
        let name = name
            .trim_end_matches(['.', '-', '\'', '’', '_'])
            .replace('_', " ");
        let name = name.trim();
        if !name.is_empty() {
            return Some(name.to_owned());
        }
    }
    None
}

/// The first `due DATE` / `by DATE` with a real calendar date.
fn parse_due(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    // Lowercasing may change byte offsets for some scripts; the keywords
    // and dates are ASCII, so search the lowercased text only when its
    // length is unchanged and fall back to the text itself otherwise.
    let hay = if lower.len() == text.len() {
        lower.as_str()
    } else {
        text
    };
    let bytes = hay.as_bytes();
    for keyword in ["due", "by"] {
        let mut from = 0;
        while let Some(pos) = hay[from..].find(keyword) {
            let at = from + pos;
            from = at + keyword.len();
            let before_ok = at == 0 || !(bytes[at - 1] as char).is_ascii_alphanumeric();
            if !before_ok {
                continue;
            }
            let mut rest = &hay[at + keyword.len()..];
            rest = rest.strip_prefix(':').unwrap_or(rest);
            let trimmed = rest.trim_start();
            if trimmed.len() == rest.len() && !rest.starts_with(char::is_whitespace) {
                // "duet", "bye": not the keyword.
                if !hay[at + keyword.len()..].starts_with(':') {
                    continue;
                }
            }
            if let Some(date) = date_prefix(trimmed) {
                return Some(date);
            }
        }
    }
    None
}

/// `YYYY-MM-DD` at the start of `s`, if it is a real date.
fn date_prefix(s: &str) -> Option<String> {
    let d = s.get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    if s[10..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    // jiff knows month lengths and leap years.
    d.parse::<jiff::civil::Date>().ok().map(|_| d.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        assert_eq!(parse_owner("Send slides @Ana"), Some("Ana".into()));
        assert_eq!(parse_owner("@Ana_Lima, send it."), Some("Ana Lima".into()));
        assert_eq!(parse_owner("ask @Zoë. then @Bo"), Some("Zoë".into()));
        assert_eq!(parse_owner("(@O'Neil)"), Some("O'Neil".into()));
        assert_eq!(parse_owner("mail ana@example.org"), None);
        assert_eq!(parse_owner("@ nobody @1x"), None);
        assert_eq!(parse_owner("no owner"), None);
    }

    #[test]
    fn due_dates() {
        assert_eq!(parse_due("x due 2026-12-10"), Some("2026-12-10".into()));
        assert_eq!(parse_due("x By: 2026-12-10."), Some("2026-12-10".into()));
        assert_eq!(parse_due("Due:2024-02-29"), Some("2024-02-29".into()));
        assert_eq!(parse_due("due 2025-02-29"), None);
        assert_eq!(parse_due("due 2026-13-01"), None);
        assert_eq!(parse_due("due 2026-12-101"), None);
        assert_eq!(parse_due("standby 2026-12-10"), None);
        assert_eq!(parse_due("duet 2026-12-10"), None);
        assert_eq!(
            parse_due("Ελλάδα by 2026-01-05 ok"),
            Some("2026-01-05".into())
        );
        assert_eq!(parse_due("on 2026-12-10"), None);
    }
}
