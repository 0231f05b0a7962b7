//! HTML renderer: one self-contained file (inline CSS, no scripts, no external
//! resources) that reads well on a phone and prints with one session per page.
//!
//! All user text is escaped through [`crate::escape::html`]; link targets were
//! filtered when the model was built and are escaped again here. A restrictive
//! Content-Security-Policy meta tag is a second line of defence.

use std::fmt::Write;

use easel_chart::{Block, Inline};

use crate::escape::{html as esc, language_tag, safe_href};
use crate::model::{DocumentKind, Proceedings, Session, SessionRef};
use crate::priorities::{votes_label, Priorities};

const CSS: &str = r#"
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --accent: #2b59c3; --bg-soft: #f6f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink); background: #fff; }
main, header.cover, nav.toc, section.block, footer { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
header.cover { padding-top: 3rem; padding-bottom: 2rem; border-bottom: 1px solid var(--line); }
.kicker { text-transform: uppercase; letter-spacing: .08em; color: var(--muted); font-size: .8rem; margin: 0; }
h1 { font-size: 2rem; line-height: 1.2; margin: .3rem 0 1rem; }
h2 { font-size: 1.5rem; margin: 2.5rem 0 1rem; }
h3 { font-size: 1.2rem; margin: 2rem 0 .75rem; color: var(--muted); }
h4, h5, h6 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
a { color: var(--accent); overflow-wrap: anywhere; }
.facts, .meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0 1rem; }
.facts dt, .meta dt { color: var(--muted); }
.facts dd, .meta dd { margin: 0; }
nav.toc ol, nav.toc ul { padding-left: 1.2rem; }
nav.toc li { margin: .15rem 0; }
article.session { border-top: 1px solid var(--line); padding-top: .5rem; margin-top: 1.5rem; }
article.session > h4 { font-size: 1.3rem; margin-top: .5rem; }
.permalink { color: inherit; text-decoration: none; }
.no-notes { color: var(--muted); font-style: italic; }
.tag { font-size: .8rem; color: var(--muted); }
.votes { font-size: .85rem; color: var(--muted); white-space: nowrap; }
ol.ranking > li { margin: .4rem 0; }
ul.tasks { list-style: none; padding-left: .2rem; }
ul.tasks ul.tasks { padding-left: 1.4rem; }
ul.tasks input { margin-right: .4rem; }
li > p { margin: .2rem 0; }
li.task > input + p { display: inline; }
blockquote { margin: 1rem 0; padding: .2rem 1rem; border-left: 3px solid var(--line); color: var(--muted); }
pre { background: var(--bg-soft); padding: .75rem; overflow-x: auto; white-space: pre-wrap; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; }
mark { background: #fff3a3; }
figure.board { margin: 1.5rem 0; }
figure.board svg { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figure.board figcaption, .board-notes { color: var(--muted); font-size: .85rem; margin-top: .4rem; }
@media print { figure.board { break-inside: avoid; } }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: .4rem .3rem; }
footer { color: var(--muted); font-size: .8rem; padding-top: 2rem; padding-bottom: 2rem; }
@media (max-width: 30rem) { body { font-size: 15px; } h1 { font-size: 1.6rem; } .facts, .meta { grid-template-columns: 1fr; } .facts dd, .meta dd { margin-bottom: .4rem; } }
@media print {
  body { font-size: 11pt; }
  a { color: inherit; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: .8em; color: var(--muted); }
  header.cover, nav.toc, section.summary { break-after: page; }
  article.session { break-before: page; border-top: none; }
  h2, h3, h4 { break-after: avoid; }
  tr, li { break-inside: avoid; }
}
"#;

/// Renders the compiled model as a standalone HTML document.
pub fn render(model: &Proceedings) -> String {
    let mut out = String::new();
    let c = &model.conference;
    let title = match model.kind {
        DocumentKind::Proceedings => format!("{} — Proceedings", c.name),
        DocumentKind::Chart => match model.sessions().next() {
            Some(s) => format!("{} — {}", s.topic, c.name),
            None => c.name.clone(),
        },
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"generator\" content=\"Easel\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        esc(&title),
        CSS
    );
    match model.kind {
        DocumentKind::Proceedings => proceedings(model, &mut out),
        DocumentKind::Chart => {
            for s in model.sessions() {
                chart(model, s, &mut out);
            }
        }
    }
    let _ = write!(
        out,
        "<footer>Generated by Easel · {}</footer>\n</body>\n</html>\n",
        esc(&model.schema)
    );
    out
}

fn dates(model: &Proceedings) -> String {
    let c = &model.conference;
    if c.end_date.is_empty() || c.end_date == c.start_date {
        format!("<time datetime=\"{0}\">{0}</time>", esc(&c.start_date))
    } else {
        format!(
            "<time datetime=\"{0}\">{0}</time> – <time datetime=\"{1}\">{1}</time>",
            esc(&c.start_date),
            esc(&c.end_date)
        )
    }
}

/// The ranking, right after the cover: what the conference chose to
/// carry forward.
fn priorities(p: &Priorities, out: &mut String) {
    let _ = writeln!(
        out,
        "<section class=\"block priorities\" id=\"priorities\">\n<h2>Priorities</h2>"
    );
    if p.sessions.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"no-notes\">No dots were placed.</p>\n</section>"
        );
        return;
    }
    let _ = writeln!(
        out,
        "<p>Sessions ranked by the dots of {} {}.</p>\n<ol class=\"ranking\">",
        p.voters,
        if p.voters == 1 { "voter" } else { "voters" }
    );
    for s in &p.sessions {
        let mut count = votes_label(s.votes);
        if s.action_votes > 0 {
            count.push_str(&format!(
                ", {} on action items",
                votes_label(s.action_votes)
            ));
        }
        let _ = write!(
            out,
            "<li value=\"{}\"><a href=\"#{}\">{}</a> <span class=\"votes\">{}</span>",
            s.rank,
            esc(&s.anchor),
            esc(&s.topic),
            count
        );
        if !s.actions.is_empty() {
            let _ = write!(out, "\n<ul class=\"tasks\">");
            for a in &s.actions {
                let _ = write!(
                    out,
                    "\n<li class=\"task\">{} {} <span class=\"votes\">{}</span></li>",
                    if a.done { "✓" } else { "☐" },
                    esc(&a.text),
                    votes_label(a.votes)
                );
            }
            let _ = write!(out, "\n</ul>");
        }
        let _ = writeln!(out, "</li>");
    }
    let _ = writeln!(out, "</ol>\n</section>");
}

fn proceedings(model: &Proceedings, out: &mut String) {
    let c = &model.conference;
    let _ = writeln!(
        out,
        "<header class=\"cover\">\n<p class=\"kicker\">Proceedings</p>\n<h1>{}</h1>",
        esc(&c.name)
    );
    if !c.description.trim().is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"description\">{}</p>",
            esc(c.description.trim())
        );
    }
    let _ = writeln!(
        out,
        "<dl class=\"facts\"><dt>Dates</dt><dd>{}</dd><dt>Time zone</dt><dd>{}</dd></dl>\n</header>",
        dates(model),
        esc(&c.time_zone)
    );

    if let Some(p) = &model.priorities {
        priorities(p, out);
    }

    let s = &model.summary;
    let _ = writeln!(
        out,
        "<section class=\"block summary\" id=\"summary\">\n<h2>Summary</h2>\n<dl class=\"facts\">\
<dt>Sessions</dt><dd>{} ({} with notes, {} without notes)</dd>\
<dt>Participants</dt><dd>{}</dd>\
<dt>Action items</dt><dd>{} ({} done, {} open)</dd></dl>\n</section>",
        s.sessions,
        s.sessions_with_notes,
        s.sessions_without_notes,
        s.participants,
        s.action_items,
        s.action_items_done,
        s.action_items_open
    );

    // Table of contents: day -> round -> space.
    let _ = writeln!(
        out,
        "<nav class=\"toc\" id=\"contents\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ol>"
    );
    for day in &model.days {
        let _ = writeln!(
            out,
            "<li><a href=\"#day-{}\">{}</a>\n<ol>",
            day.index,
            esc(&day.label)
        );
        for round in &day.rounds {
            let _ = writeln!(out, "<li>{}\n<ul>", esc(&round.label));
            for session in &round.sessions {
                let space = if session.space.trim().is_empty() {
                    String::new()
                } else {
                    format!("{}: ", esc(&session.space))
                };
                let empty = if session.has_notes {
                    ""
                } else {
                    " <span class=\"tag\">No notes</span>"
                };
                let _ = writeln!(
                    out,
                    "<li>{space}<a href=\"#{}\">{}</a>{empty}</li>",
                    esc(&session.anchor),
                    esc(&session.topic)
                );
            }
            let _ = writeln!(out, "</ul></li>");
        }
        let _ = writeln!(out, "</ol></li>");
    }
    let _ = writeln!(
        out,
        "<li><a href=\"#actions\">Action register</a></li>\n<li><a href=\"#conveners\">Conveners</a></li>\n</ol>\n</nav>"
    );

    let _ = writeln!(out, "<main>");
    for day in &model.days {
        let _ = writeln!(
            out,
            "<section class=\"day\" id=\"day-{}\">\n<h2>{}</h2>",
            day.index,
            esc(&day.label)
        );
        for round in &day.rounds {
            let _ = writeln!(
                out,
                "<section class=\"round\" id=\"day-{}-round-{}\">\n<h3>{}</h3>",
                day.index,
                round.index,
                esc(&round.label)
            );
            for session in &round.sessions {
                session_article(session, 4, out);
            }
            let _ = writeln!(out, "</section>");
        }
        let _ = writeln!(out, "</section>");
    }
    let _ = writeln!(out, "</main>");

    let _ = writeln!(
        out,
        "<section class=\"block register\" id=\"actions\">\n<h2>Action register</h2>"
    );
    if model.action_register.is_empty() {
        let _ = writeln!(out, "<p class=\"no-notes\">No action items</p>");
    } else {
        let _ = writeln!(
            out,
            "<table>\n<thead><tr><th>Done</th><th>Action</th><th>Owner</th><th>Due</th><th>Session</th></tr></thead>\n<tbody>"
        );
        for a in &model.action_register {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"#{}\">{}</a></td></tr>",
                if a.done {
                    "✓ <span class=\"tag\">done</span>"
                } else {
                    "☐ <span class=\"tag\">open</span>"
                },
                esc(&a.text),
                esc(a.owner.as_deref().unwrap_or("")),
                a.due
                    .as_deref()
                    .map(|d| format!("<time datetime=\"{0}\">{0}</time>", esc(d)))
                    .unwrap_or_default(),
                esc(&a.anchor),
                esc(&a.topic)
            );
        }
        let _ = writeln!(out, "</tbody>\n</table>");
    }
    let _ = writeln!(out, "</section>");

    let _ = writeln!(
        out,
        "<section class=\"block conveners\" id=\"conveners\">\n<h2>Conveners</h2>\n<dl class=\"facts\">"
    );
    for c in &model.conveners {
        let links: Vec<String> = c
            .sessions
            .iter()
            .map(|s| format!("<a href=\"#{}\">{}</a>", esc(&s.anchor), esc(&s.topic)))
            .collect();
        let _ = writeln!(
            out,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&c.name),
            links.join("; ")
        );
    }
    let _ = writeln!(out, "</dl>\n</section>");

    if !model.participants.is_empty() {
        let names: Vec<String> = model.participants.iter().map(|p| esc(p)).collect();
        let _ = writeln!(
            out,
            "<section class=\"block participants\" id=\"participants\">\n<h2>Participants</h2>\n<p>{}</p>\n</section>",
            names.join(", ")
        );
    }
}

fn chart(model: &Proceedings, session: &Session, out: &mut String) {
    let mut context = vec![esc(&model.conference.name)];
    for part in [&session.day_label, &session.round_label] {
        if !part.trim().is_empty() {
            context.push(esc(part));
        }
    }
    let _ = writeln!(
        out,
        "<header class=\"cover\">\n<p class=\"kicker\">{}</p>\n</header>\n<main>",
        context.join(" · ")
    );
    session_article(session, 1, out);
    let _ = writeln!(out, "</main>");
}

fn session_article(session: &Session, level: u8, out: &mut String) {
    let anchor = esc(&session.anchor);
    let _ = writeln!(
        out,
        "<article class=\"session\" id=\"{anchor}\">\n<h{level}><a class=\"permalink\" href=\"#{anchor}\">{}</a></h{level}>",
        esc(&session.topic)
    );
    let mut meta = String::new();
    let mut fact = |label: &str, value: String| {
        if !value.is_empty() {
            let _ = write!(meta, "<dt>{label}</dt><dd>{value}</dd>");
        }
    };
    if session.kind.is_circle() {
        fact("Plenary", session.kind.label().to_owned());
    }
    fact("Convener", esc(session.convener.trim()));
    fact("Space", esc(session.space.trim()));
    if !session.starts_local.trim().is_empty() {
        fact(
            "Starts",
            format!(
                "<time datetime=\"{}\">{}</time>",
                esc(&session.starts_utc),
                esc(session.starts_local.trim())
            ),
        );
    }
    fact("State", esc(session.state.trim()));
    fact(
        "Participants",
        session
            .participants
            .iter()
            .map(|p| esc(p))
            .collect::<Vec<_>>()
            .join(", "),
    );
    // Within the proceedings a continuation links to its session; a single
    // chart's export has no other sessions, so it names them.
    let link = |r: &SessionRef| {
        if level > 1 {
            format!("<a href=\"#{}\">{}</a>", esc(&r.anchor), esc(&r.topic))
        } else {
            format!("<cite>{}</cite>", esc(&r.topic))
        }
    };
    if let Some(c) = &session.continues {
        fact("Continues", link(c));
    }
    fact(
        "Continued in",
        session
            .continued_in
            .iter()
            .map(link)
            .collect::<Vec<_>>()
            .join(", "),
    );
    if !meta.is_empty() {
        let _ = writeln!(out, "<dl class=\"meta\">{meta}</dl>");
    }
    if session.has_notes {
        let base = level.saturating_sub(min_heading(&session.blocks).unwrap_or(1).max(1) - 1);
        blocks(&session.blocks, base, out);
        board(&session.board, out);
    } else {
        let _ = writeln!(out, "<p class=\"no-notes\">No notes</p>");
    }
    let _ = writeln!(out, "</article>");
}

/// The board as inline SVG (escaped by its renderer), with what the limits
/// left out.
fn board(b: &easel_chart::Board, out: &mut String) {
    if b.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<figure class=\"board\">\n{}<figcaption>Board: {}</figcaption>\n",
        crate::board::svg(b),
        esc(&crate::board::summary(b))
    );
    for n in &b.notes {
        let _ = writeln!(out, "<p class=\"board-notes\">{}</p>", esc(n));
    }
    let _ = writeln!(out, "</figure>");
}

/// Smallest heading level in the notes; note headings are shifted so that it
/// lands right below the session heading.
fn min_heading(items: &[Block]) -> Option<u8> {
    items
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, .. } => Some(*level),
            Block::Blockquote { blocks } => min_heading(blocks),
            Block::BulletList { items } | Block::OrderedList { items, .. } => {
                items.iter().filter_map(|i| min_heading(&i.blocks)).min()
            }
            Block::TaskList { items } => items.iter().filter_map(|i| min_heading(&i.blocks)).min(),
            _ => None,
        })
        .min()
}

/// A chart's notes as an HTML fragment (no document, no styles), headings
/// starting at `<h3>`: the content of a news feed entry. Escaped and
/// filtered like the full edition.
pub fn notes_fragment(content: &easel_chart::ChartContent) -> String {
    let mut out = String::new();
    let shift = min_heading(&content.blocks).map_or(0, |m| 3u8.saturating_sub(m));
    blocks(&content.blocks, shift, &mut out);
    out
}

fn blocks(items: &[Block], base: u8, out: &mut String) {
    for b in items {
        block(b, base, out);
    }
}

fn block(b: &Block, base: u8, out: &mut String) {
    match b {
        Block::Paragraph { inlines: i } => {
            let _ = writeln!(out, "<p>{}</p>", inlines(i));
        }
        Block::Heading { level, inlines: i } => {
            let n = base.saturating_add(*level).clamp(1, 6);
            let _ = writeln!(out, "<h{n}>{}</h{n}>", inlines(i));
        }
        Block::BulletList { items } => {
            let _ = writeln!(out, "<ul>");
            for item in items {
                out.push_str("<li>");
                blocks(&item.blocks, base, out);
                let _ = writeln!(out, "</li>");
            }
            let _ = writeln!(out, "</ul>");
        }
        Block::OrderedList { start, items } => {
            if *start == 1 {
                let _ = writeln!(out, "<ol>");
            } else {
                let _ = writeln!(out, "<ol start=\"{start}\">");
            }
            for item in items {
                out.push_str("<li>");
                blocks(&item.blocks, base, out);
                let _ = writeln!(out, "</li>");
            }
            let _ = writeln!(out, "</ol>");
        }
        Block::TaskList { items } => {
            let _ = writeln!(out, "<ul class=\"tasks\">");
            for item in items {
                let (class, checked) = if item.done {
                    ("done", " checked")
                } else {
                    ("open", "")
                };
                let _ = write!(
                    out,
                    "<li class=\"task {class}\"><input type=\"checkbox\" disabled{checked} aria-label=\"{class}\">"
                );
                blocks(&item.blocks, base, out);
                let _ = writeln!(out, "</li>");
            }
            let _ = writeln!(out, "</ul>");
        }
        Block::Blockquote { blocks: inner } => {
            let _ = writeln!(out, "<blockquote>");
            blocks(inner, base, out);
            let _ = writeln!(out, "</blockquote>");
        }
        Block::CodeBlock { language, text } => {
            let lang = language.as_deref().map(language_tag).unwrap_or_default();
            if lang.is_empty() {
                let _ = writeln!(out, "<pre><code>{}</code></pre>", esc(text));
            } else {
                let _ = writeln!(
                    out,
                    "<pre><code class=\"language-{}\">{}</code></pre>",
                    esc(&lang),
                    esc(text)
                );
            }
        }
        Block::HorizontalRule => {
            let _ = writeln!(out, "<hr>");
        }
        Block::Unknown { text, .. } => {
            if !text.trim().is_empty() {
                let _ = writeln!(out, "<p>{}</p>", esc(text.trim()).replace('\n', "<br>"));
            }
        }
    }
}

fn inlines(items: &[Inline]) -> String {
    let mut out = String::new();
    for i in items {
        match i {
            Inline::HardBreak => out.push_str("<br>"),
            Inline::Text { text, marks } => {
                let mut s = esc(text);
                if marks.code {
                    s = format!("<code>{s}</code>");
                }
                if marks.highlight {
                    s = format!("<mark>{s}</mark>");
                }
                if marks.strike {
                    s = format!("<s>{s}</s>");
                }
                if marks.italic {
                    s = format!("<em>{s}</em>");
                }
                if marks.bold {
                    s = format!("<strong>{s}</strong>");
                }
                // Filtered again: the model may come from deserialized JSON.
                if let Some(href) = marks.link.as_deref().and_then(safe_href) {
                    s = format!(
                        "<a href=\"{}\" rel=\"nofollow noopener noreferrer\">{s}</a>",
                        esc(&href)
                    );
                }
                out.push_str(&s);
            }
        }
    }
    out
}
