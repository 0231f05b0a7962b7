//! Markdown renderer (CommonMark + GFM task lists).
//!
//! Proceedings are often pasted into wikis and repositories, so Markdown is a
//! first-class output. All user text goes through [`crate::escape`], so a
//! participant cannot inject links, HTML or structure.

use std::fmt::Write;

use easel_chart::{Block, Inline, Marks};

use crate::escape::{
    language_tag, markdown as esc, markdown_code_span, markdown_heading as heading_text,
    markdown_href, markdown_line_start, safe_href,
};
use crate::model::{DocumentKind, Proceedings, Session, SessionRef};
use crate::priorities::{votes_label, Priorities};

/// Renders the compiled model as Markdown.
pub fn render(model: &Proceedings) -> String {
    let mut out = String::new();
    match model.kind {
        DocumentKind::Proceedings => render_proceedings(model, &mut out),
        DocumentKind::Chart => {
            for s in model.sessions() {
                render_chart(model, s, &mut out);
            }
        }
    }
    // Exactly one trailing newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn dates(model: &Proceedings) -> String {
    let c = &model.conference;
    if c.end_date.is_empty() || c.end_date == c.start_date {
        esc(&c.start_date)
    } else {
        format!("{} – {}", esc(&c.start_date), esc(&c.end_date))
    }
}

fn render_proceedings(model: &Proceedings, out: &mut String) {
    let c = &model.conference;
    let _ = writeln!(out, "# {}\n", heading_text(&c.name));
    if !c.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", line_start(c.description.trim()));
    }
    let _ = writeln!(
        out,
        "**Dates:** {} · **Time zone:** {}\n",
        dates(model),
        esc(&c.time_zone)
    );

    if let Some(p) = &model.priorities {
        priorities(p, out);
    }

    let s = &model.summary;
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "- Sessions: {} ({} with notes, {} without notes)",
        s.sessions, s.sessions_with_notes, s.sessions_without_notes
    );
    let _ = writeln!(out, "- Participants: {}", s.participants);
    let _ = writeln!(
        out,
        "- Action items: {} ({} done, {} open)\n",
        s.action_items, s.action_items_done, s.action_items_open
    );

    for day in &model.days {
        let _ = writeln!(out, "## {}\n", heading_text(&day.label));
        for round in &day.rounds {
            let _ = writeln!(out, "### {}\n", heading_text(&round.label));
            for session in &round.sessions {
                let _ = writeln!(out, "#### {}\n", heading_text(&session.topic));
                session_body(session, 4, out);
            }
        }
    }

    if !model.action_register.is_empty() {
        let _ = writeln!(out, "## Action register\n");
        for a in &model.action_register {
            let _ = writeln!(
                out,
                "- [{}] {} — *{}*{}",
                if a.done { "x" } else { " " },
                line_start(&a.text),
                esc(&a.topic),
                owner_due(a.owner.as_deref(), a.due.as_deref())
            );
        }
        out.push('\n');
    }

    if !model.conveners.is_empty() {
        let _ = writeln!(out, "## Conveners\n");
        for c in &model.conveners {
            let topics: Vec<String> = c.sessions.iter().map(|s| esc(&s.topic)).collect();
            let _ = writeln!(out, "- **{}**: {}", esc(&c.name), topics.join("; "));
        }
        out.push('\n');
    }

    if !model.participants.is_empty() {
        let _ = writeln!(out, "## Participants\n");
        let _ = writeln!(out, "{}\n", line_start(&model.participants.join(", ")));
    }
}

fn priorities(p: &Priorities, out: &mut String) {
    let _ = writeln!(out, "## Priorities\n");
    if p.sessions.is_empty() {
        let _ = writeln!(out, "No dots were placed.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Sessions ranked by the dots of {} {}.\n",
        p.voters,
        if p.voters == 1 { "voter" } else { "voters" }
    );
    for s in &p.sessions {
        let _ = write!(
            out,
            // A bullet, not an ordered list: tied sessions share a rank,
            // which CommonMark's renumbering would hide.
            "- #{} **{}** — {}",
            s.rank,
            esc(&s.topic),
            votes_label(s.votes)
        );
        if s.action_votes > 0 {
            let _ = write!(out, ", {} on action items", votes_label(s.action_votes));
        }
        out.push('\n');
        for a in &s.actions {
            let _ = writeln!(
                out,
                "  - [{}] {} — {}",
                if a.done { "x" } else { " " },
                line_start(&a.text),
                votes_label(a.votes)
            );
        }
    }
    out.push('\n');
}

fn render_chart(model: &Proceedings, session: &Session, out: &mut String) {
    let _ = writeln!(out, "# {}\n", heading_text(&session.topic));
    let mut context = vec![format!("*{}*", esc(model.conference.name.trim()))];
    for part in [&session.day_label, &session.round_label] {
        if !part.trim().is_empty() {
            context.push(esc(part));
        }
    }
    let _ = writeln!(out, "{}\n", context.join(" · "));
    session_body(session, 1, out);
}

/// ` (owner: Ana · due 2026-12-10)`, or nothing.
fn owner_due(owner: Option<&str>, due: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(o) = owner {
        parts.push(format!("owner: {}", esc(o)));
    }
    if let Some(d) = due {
        parts.push(format!("due {}", esc(d)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(" · "))
    }
}

fn session_body(session: &Session, base: u8, out: &mut String) {
    let mut facts = Vec::new();
    let mut fact = |label: &str, value: &str| {
        if !value.trim().is_empty() {
            // `*` so that a list at the start of the notes does not merge.
            facts.push(format!("* **{label}:** {}", esc(value.trim())));
        }
    };
    if session.kind.is_circle() {
        fact("Plenary", session.kind.label());
    }
    fact("Convener", &session.convener);
    fact("Space", &session.space);
    fact("Starts", &session.starts_local);
    fact("State", &session.state);
    fact("Participants", &session.participants.join(", "));
    // Named, not linked: Markdown headings get their anchors from the
    // viewer (wikis and forges slug them differently).
    let link = |r: &SessionRef| format!("*{}*", esc(&r.topic));
    if let Some(c) = &session.continues {
        facts.push(format!("* **Continues:** {}", link(c)));
    }
    if !session.continued_in.is_empty() {
        let list: Vec<String> = session.continued_in.iter().map(link).collect();
        facts.push(format!("* **Continued in:** {}", list.join(", ")));
    }
    for f in facts {
        let _ = writeln!(out, "{f}");
    }
    out.push('\n');
    if session.has_notes {
        let base = heading_base(&session.blocks, base);
        let body = blocks(&session.blocks, base, Some('*'));
        if !body.is_empty() {
            let _ = writeln!(out, "{body}\n");
        }
        board(&session.board, out);
    } else {
        let _ = writeln!(out, "*No notes*\n");
    }
}

/// The board, which Markdown cannot draw: sticky texts by colour, then by
/// cluster (`docs/chart-schema.md`, "Clusters"), each with its author;
/// arrows as "from → to"; what the limits left out. Ink is only counted.
fn board(b: &easel_chart::Board, out: &mut String) {
    if b.is_empty() {
        return;
    }
    let _ = writeln!(out, "**Board:** {}\n", esc(&crate::board::summary(b)));
    // A sticky's lines joined, since a list item is one line here.
    let text = |s: &easel_chart::Sticky| {
        let joined = s
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" / ");
        if joined.is_empty() {
            "*(empty)*".to_owned()
        } else {
            line_start(&joined)
        }
    };
    for (color, clusters) in crate::board::markdown_groups(b) {
        let _ = writeln!(out, "* **{}**", crate::board::sticky_label(color));
        for (cluster, stickies) in clusters {
            let _ = writeln!(out, "  * Cluster {}", cluster + 1);
            for s in stickies {
                let by = if s.author.is_empty() {
                    String::new()
                } else {
                    format!(" — *{}*", esc(&s.author))
                };
                let _ = writeln!(out, "    * {}{by}", text(s));
            }
        }
    }
    if !b.arrows.is_empty() {
        let by_id: std::collections::HashMap<&str, &easel_chart::Sticky> =
            b.stickies.iter().map(|s| (s.id.as_str(), s)).collect();
        let _ = writeln!(out, "* **Arrows**");
        for a in &b.arrows {
            if let (Some(from), Some(to)) = (by_id.get(a.from.as_str()), by_id.get(a.to.as_str())) {
                let _ = writeln!(out, "  * {} → {}", text(from), text(to));
            }
        }
    }
    out.push('\n');
    for n in &b.notes {
        let _ = writeln!(out, "*{}*\n", esc(n));
    }
}

/// Renders a block sequence. Adjacent lists would merge into one in
/// CommonMark, so consecutive lists alternate their markers (`-`/`*` and
/// `.`/`)`); `prev_bullet` is the marker of a list right before `blocks`.
fn blocks(blocks: &[Block], base: u8, prev_bullet: Option<char>) -> String {
    let mut bullet_state = prev_bullet;
    let mut ordered_state: Option<char> = None;
    let mut parts = Vec::new();
    for b in blocks {
        let (bullet, delim) = match b {
            Block::BulletList { .. } | Block::TaskList { .. } => {
                let m = if bullet_state == Some('-') { '*' } else { '-' };
                bullet_state = Some(m);
                ordered_state = None;
                (m, '.')
            }
            Block::OrderedList { .. } => {
                let d = if ordered_state == Some('.') { ')' } else { '.' };
                ordered_state = Some(d);
                bullet_state = None;
                ('-', d)
            }
            _ => {
                bullet_state = None;
                ordered_state = None;
                ('-', '.')
            }
        };
        let rendered = block(b, base, bullet, delim);
        if !rendered.is_empty() {
            parts.push(rendered);
        }
    }
    parts.join("\n\n")
}

/// Shift that maps the chart's smallest heading level to `base + 1`.
fn heading_base(items: &[Block], base: u8) -> u8 {
    fn min_level(items: &[Block]) -> Option<u8> {
        items
            .iter()
            .filter_map(|b| match b {
                Block::Heading { level, .. } => Some(*level),
                Block::Blockquote { blocks } => min_level(blocks),
                Block::BulletList { items } | Block::OrderedList { items, .. } => {
                    items.iter().filter_map(|i| min_level(&i.blocks)).min()
                }
                Block::TaskList { items } => {
                    items.iter().filter_map(|i| min_level(&i.blocks)).min()
                }
                _ => None,
            })
            .min()
    }
    let min = min_level(items).unwrap_or(1).max(1);
    base.saturating_sub(min - 1)
}

/// Indents every line but the first by `indent`.
fn hang(body: &str, indent: &str) -> String {
    let mut out = String::new();
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(indent);
            }
        }
        out.push_str(line);
    }
    out
}

fn block(b: &Block, base: u8, bullet: char, delim: char) -> String {
    match b {
        Block::Paragraph { inlines: i } => inline_text(i, true),
        Block::Heading { level, inlines: i } => {
            // Hard breaks are not allowed in ATX headings; nothing is at the
            // start of a line there either.
            let text = inline_text(i, false).replace("\\\n", " ");
            if text.is_empty() {
                return String::new();
            }
            // A trailing `#` (always user text: no markup ends in `#`) would
            // be read as the closing sequence.
            let text = match text.strip_suffix('#') {
                Some(head) => format!("{head}\\#"),
                None => text,
            };
            let n = (base.saturating_add(*level)).clamp(1, 6) as usize;
            format!("{} {text}", "#".repeat(n))
        }
        Block::BulletList { items } => items
            .iter()
            .map(|item| {
                let body = blocks(&item.blocks, base, None);
                format!("{bullet} {}", hang(&body, "  "))
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::OrderedList { start, items } => items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                let marker = format!("{}{delim} ", u64::from(*start) + n as u64);
                let body = blocks(&item.blocks, base, None);
                format!("{marker}{}", hang(&body, &" ".repeat(marker.len())))
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::TaskList { items } => items
            .iter()
            .map(|item| {
                let body = blocks(&item.blocks, base, None);
                let mark = if item.done { "x" } else { " " };
                format!("{bullet} [{mark}] {}", hang(&body, "  "))
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Blockquote { blocks: inner } => blocks(inner, base, None)
            .split('\n')
            .map(|l| {
                if l.is_empty() {
                    ">".to_string()
                } else {
                    format!("> {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::CodeBlock { language, text } => {
            let mut longest = 0;
            let mut run = 0;
            for c in text.chars() {
                if c == '`' {
                    run += 1;
                    longest = longest.max(run);
                } else {
                    run = 0;
                }
            }
            let fence = "`".repeat((longest + 1).max(3));
            let lang = language.as_deref().map(language_tag).unwrap_or_default();
            let text = text.strip_suffix('\n').unwrap_or(text);
            format!("{fence}{lang}\n{text}\n{fence}")
        }
        Block::HorizontalRule => "---".to_string(),
        Block::Unknown { text, .. } => text
            .split('\n')
            .map(|l| line_start(l.trim()))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\\\n"),
    }
}

/// User text at the start of a line (or of a list item).
fn line_start(s: &str) -> String {
    markdown_line_start(&esc(s.trim_start()))
}

/// The Markdown for one run of text sharing the marks Markdown can show
/// (highlight has no Markdown form, so it does not split a run).
fn styled(text: &str, marks: &Marks) -> String {
    if marks.code {
        let core = markdown_code_span(text);
        return match marks.link.as_deref().and_then(safe_href) {
            Some(href) => format!("[{core}]({})", markdown_href(&href)),
            None => core,
        };
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return esc(text);
    }
    // Emphasis must not start or end with whitespace, so it wraps the
    // trimmed text.
    let lead = &text[..text.len() - text.trim_start().len()];
    let trail = &text[text.trim_end().len()..];
    let mut s = esc(trimmed);
    if marks.strike {
        s = format!("~~{s}~~");
    }
    if marks.italic {
        s = format!("*{s}*");
    }
    if marks.bold {
        s = format!("**{s}**");
    }
    if let Some(href) = marks.link.as_deref().and_then(safe_href) {
        s = format!("[{s}]({})", markdown_href(&href));
    }
    format!("{}{s}{}", esc(lead), esc(trail))
}

/// Renders inline content. Neighbouring pieces that look the same in
/// Markdown are escaped as one text, so that escaping sees the real
/// neighbours of each character (`snake_case` split by a highlight stays
/// unescaped, `&amp;` split in two is still caught). With `line_starts`,
/// the first line and every line after a hard break are made safe against
/// block markers.
fn inline_text(items: &[Inline], line_starts: bool) -> String {
    let mut out = String::new();
    let mut run: Option<(String, Marks)> = None;
    let visible = |m: &Marks| Marks {
        highlight: false,
        ..m.clone()
    };
    for i in items {
        match i {
            Inline::HardBreak => {
                if let Some((text, marks)) = run.take() {
                    out.push_str(&styled(&text, &marks));
                }
                out.push_str("\\\n");
            }
            Inline::Text { text, marks } => {
                let marks = visible(marks);
                match &mut run {
                    Some((t, m)) if *m == marks => t.push_str(text),
                    _ => {
                        if let Some((t, m)) = run.replace((text.clone(), marks)) {
                            out.push_str(&styled(&t, &m));
                        }
                    }
                }
            }
        }
    }
    if let Some((text, marks)) = run {
        out.push_str(&styled(&text, &marks));
    }
    // Hard breaks are the only line breaks here (user text has none), and
    // leading whitespace is dropped by the parser anyway: at the start of a
    // block it would make indented code.
    out.split('\n')
        .map(|line| {
            let line = line.trim_start();
            if line_starts {
                markdown_line_start(line)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
