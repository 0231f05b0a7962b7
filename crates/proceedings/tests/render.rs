//! Golden files, ordering, summary, Unicode, JSON round trip and injection
//! tests for every output format.

mod common;

use common::{conference, evil, fixture, hostile, hostile_fields, EVIL};
use easel_chart::{Block, Inline};
use easel_proceedings::{
    parse_json, render, render_chart, render_chart_html, render_chart_json, render_chart_markdown,
    render_html, render_json, render_markdown, Format, Proceedings, SCHEMA,
};
use pulldown_cmark::{Event, Parser, Tag};

/// Independent HTML escaper for assertions.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
        .collect()
}

fn assert_safe_hrefs(html: &str) {
    for h in hrefs(html) {
        assert!(
            h.starts_with('#')
                || h.starts_with("https://")
                || h.starts_with("http://")
                || h.starts_with("mailto:"),
            "unsafe href {h:?}"
        );
        assert!(!h.contains('<') && !h.contains('>') && !h.contains(' '));
    }
}

#[test]
fn golden_markdown() {
    insta::assert_snapshot!(render_markdown(&fixture()));
}

#[test]
fn golden_html() {
    insta::assert_snapshot!(render_html(&fixture()));
}

#[test]
fn golden_json() {
    insta::assert_snapshot!(render_json(&fixture()).unwrap());
}

#[test]
fn golden_chart_exports() {
    let input = fixture();
    let session = input.sessions.iter().find(|s| s.id == "s-ideas").unwrap();
    let conf = conference();
    insta::assert_snapshot!("chart_markdown", render_chart_markdown(session, &conf));
    insta::assert_snapshot!("chart_html", render_chart_html(session, &conf));
    insta::assert_snapshot!("chart_json", render_chart_json(session, &conf).unwrap());
}

#[test]
fn render_dispatch_matches_format_functions() {
    let input = fixture();
    assert_eq!(
        render(&input, Format::Markdown).unwrap(),
        render_markdown(&input).into_bytes()
    );
    assert_eq!(
        render(&input, Format::Html).unwrap(),
        render_html(&input).into_bytes()
    );
    assert_eq!(
        render(&input, Format::Json).unwrap(),
        render_json(&input).unwrap().into_bytes()
    );
    let s = &input.sessions[0];
    assert_eq!(
        render_chart(s, &input.conference, Format::Markdown).unwrap(),
        render_chart_markdown(s, &input.conference).into_bytes()
    );
    assert_eq!(Format::Markdown.extension(), "md");
    assert_eq!(Format::Html.content_type(), "text/html; charset=utf-8");
    assert_eq!(Format::Json.content_type(), "application/json");
}

#[test]
fn agenda_order_and_grouping() {
    let model = Proceedings::build(&fixture());
    let ids: Vec<&str> = model.sessions().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s-ideas", "s-short", "s-later", "s-empty"]);
    assert_eq!(model.days.len(), 2);
    assert_eq!(model.days[0].rounds.len(), 2);
    assert_eq!(model.days[0].rounds[0].sessions.len(), 2);
    assert_eq!(model.days[1].label, "Day 2 — Wed 4 Nov 2026");
}

#[test]
fn summary_register_and_index() {
    let model = Proceedings::build(&fixture());
    let s = &model.summary;
    assert_eq!(
        (s.sessions, s.sessions_with_notes, s.sessions_without_notes),
        (4, 2, 2)
    );
    assert_eq!(
        (s.action_items, s.action_items_done, s.action_items_open),
        (4, 2, 2)
    );
    // "ada" and "Ada" are the same person.
    assert_eq!(
        model.participants,
        ["Ada", "Grace", "María José", "Ζωή", "Дмитрий"]
    );
    assert_eq!(s.participants, 5);
    let register: Vec<(&str, &str, bool)> = model
        .action_register
        .iter()
        .map(|a| (a.session_id.as_str(), a.text.as_str(), a.done))
        .collect();
    assert_eq!(
        register,
        [
            ("s-ideas", "Share slides with the group", true),
            ("s-ideas", "Plan a follow-up session", false),
            ("s-ideas", "Ask María for a room", false),
            ("s-short", "Send summary mail", true),
        ]
    );
    let conveners: Vec<(&str, usize)> = model
        .conveners
        .iter()
        .map(|c| (c.name.as_str(), c.sessions.len()))
        .collect();
    assert_eq!(conveners, [("Dmitri", 1), ("María José", 3)]);
}

#[test]
fn empty_charts_are_listed_as_no_notes() {
    let input = fixture();
    let md = render_markdown(&input);
    assert_eq!(md.matches("*No notes*").count(), 2);
    assert!(md.contains("#### Nobody wrote here"));
    let html = render_html(&input);
    assert_eq!(
        html.matches("<p class=\"no-notes\">No notes</p>").count(),
        2
    );
    assert!(html.contains("id=\"session-s-empty\""));
    let model = parse_json(&render_json(&input).unwrap()).unwrap();
    let empty: Vec<&str> = model
        .sessions()
        .filter(|s| !s.has_notes)
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(empty, ["s-later", "s-empty"]);
}

#[test]
fn html_is_self_contained_with_permalinks() {
    let html = render_html(&fixture());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<link") && !html.contains("src="));
    assert!(html.contains("@media print"));
    assert!(html.contains("name=\"viewport\""));
    for id in ["s-ideas", "s-short", "s-later", "s-empty"] {
        assert!(html.contains(&format!("<article class=\"session\" id=\"session-{id}\">")));
        assert!(html.contains(&format!("href=\"#session-{id}\"")));
    }
    assert_safe_hrefs(&html);
    assert!(html.contains(
        "<a href=\"https://wiki.example.org/open-space?x=1&amp;y=2\" rel=\"nofollow noopener noreferrer\">the wiki</a>"
    ));
}

#[test]
fn unicode_passes_through() {
    let input = fixture();
    let outputs = [
        render_markdown(&input),
        render_html(&input),
        render_json(&input).unwrap(),
    ];
    for out in &outputs {
        for word in [
            "Καλοκαίρι",
            "καλημέρα",
            "привет",
            "Café",
            "María José",
            "Дмитрий",
            "Room Ж",
        ] {
            assert!(out.contains(word), "{word} missing");
        }
    }
}

#[test]
fn json_round_trips() {
    for input in [fixture(), hostile()] {
        let json = render_json(&input).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["schema"], SCHEMA);
        assert_eq!(value["kind"], "proceedings");
        let model = parse_json(&json).unwrap();
        assert_eq!(model, Proceedings::build(&input));
        // Re-serializing the parsed model yields the same document.
        assert_eq!(render_json_model(&model), json);
    }
    let bad = render_json(&fixture())
        .unwrap()
        .replace(SCHEMA, "easel.proceedings/v9");
    assert!(parse_json(&bad).is_err());
}

fn render_json_model(model: &Proceedings) -> String {
    String::from_utf8(easel_proceedings::render_model(model, Format::Json).unwrap()).unwrap()
}

// ---------------------------------------------------------------- injection

#[test]
fn injection_html() {
    let input = hostile();
    let model = Proceedings::build(&input);
    let mut outputs = vec![render_html(&input)];
    for s in &input.sessions {
        outputs.push(render_chart_html(s, &input.conference));
    }
    for (n, html) in outputs.iter().enumerate() {
        assert!(!html.to_lowercase().contains("<script"), "raw script tag");
        assert!(!html.to_lowercase().contains("=\"javascript:"));
        assert_safe_hrefs(html);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // user-typed entities are shown literally, not decoded
        assert!(html.contains("&amp;amp; &amp;lt;"));
        let fields = hostile_fields();
        for field in &fields {
            // chart export has no conference dates / tz / description
            if n > 0
                && ["description", "tz", "start", "end", "local", "participant"]
                    .iter()
                    .any(|f| field == &evil(f))
            {
                continue;
            }
            assert!(
                html.contains(&html_escaped(field)),
                "{field} not escaped in html"
            );
        }
        // the only link from notes is the https one, fully encoded
        assert!(html.contains(
            "href=\"https://ok.example/?q=%22%3E%3Cscript%3Ealert%281%29%3C/script%3E&amp;amp;x=%60%7C\""
        ));
        let anchor = &model.sessions().next().unwrap().anchor;
        assert!(anchor.starts_with("session-sid_3Cscript_3Ealert_281_29"));
        assert!(html.contains(&format!("id=\"{anchor}\"")));
    }
}

/// Text of a parsed Markdown document, one line per block/soft break.
fn markdown_text(md: &str) -> (String, Vec<String>, Vec<Event<'_>>) {
    let mut text = String::new();
    let mut links = Vec::new();
    let mut suspicious = Vec::new();
    for ev in Parser::new(md) {
        match &ev {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::Html(_) | Event::InlineHtml(_) => suspicious.push(ev.clone()),
            Event::Start(
                Tag::Table(_) | Tag::Image { .. } | Tag::CodeBlock(_) | Tag::BlockQuote(_),
            ) => suspicious.push(ev.clone()),
            _ => {}
        }
    }
    (text, links, suspicious)
}

#[test]
fn injection_markdown() {
    let input = hostile();
    let full = render_markdown(&input);
    let chart = render_chart_markdown(&input.sessions[0], &input.conference);
    for (n, md) in [full, chart].iter().enumerate() {
        let (text, links, suspicious) = markdown_text(md);
        assert!(suspicious.is_empty(), "unexpected markup: {suspicious:?}");
        assert_eq!(
            links,
            ["https://ok.example/?q=%22%3E%3Cscript%3Ealert%281%29%3C/script%3E&amp;x=%60%7C"]
        );
        for field in hostile_fields() {
            if n > 0
                && ["description", "tz", "start", "end", "local", "participant"]
                    .iter()
                    .any(|f| field == evil(f))
            {
                continue;
            }
            // Parsing the Markdown gives back exactly what the user typed.
            assert!(
                text.contains(&field),
                "{field:?} altered in markdown:\n{text}"
            );
        }
        // and the rendered HTML has no tags from user text
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, Parser::new(md));
        assert!(!html.contains("<script"));
        assert_safe_hrefs(&html);
        assert!(md.contains(r"\<script\>alert\(1\)\</script\> \*\_\[\]\(\)\#\>\`\| \&amp; \&lt;"));
    }
}

#[test]
fn injection_json() {
    let input = hostile();
    let json = render_json(&input).unwrap();
    assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
    assert!(json.contains("\\u003cscript\\u003e"));
    let model = parse_json(&json).unwrap();
    assert_eq!(model.conference.name, evil("name"));
    assert_eq!(model.conference.description, evil("description"));
    let s = model.sessions().next().unwrap();
    assert_eq!(s.topic, evil("topic"));
    assert_eq!(s.convener, evil("convener"));
    assert_eq!(s.space, evil("space"));
    assert_eq!(s.participants, [evil("participant")]);
    assert_eq!(model.action_register[0].text, evil("task"));
    // only the https link survives; the text of the others is kept
    let mut links = Vec::new();
    let mut texts = Vec::new();
    for b in &s.blocks {
        if let Block::Paragraph { inlines } = b {
            for i in inlines {
                if let Inline::Text { text, marks } = i {
                    texts.push(text.clone());
                    links.extend(marks.link.clone());
                }
            }
        }
    }
    assert_eq!(
        links,
        ["https://ok.example/?q=%22%3E%3Cscript%3Ealert%281%29%3C/script%3E&amp;x=%60%7C"]
    );
    assert!(texts.iter().any(|t| t == &evil("jslink")));
    let chart_json = render_chart_json(&input.sessions[0], &input.conference).unwrap();
    assert!(!chart_json.contains('<'));
    assert_eq!(
        parse_json(&chart_json).unwrap().kind,
        easel_proceedings::DocumentKind::Chart
    );
    assert!(EVIL.contains("<script>"));
}

#[test]
fn golden_hostile() {
    let input = hostile();
    insta::assert_snapshot!("hostile_markdown", render_markdown(&input));
    insta::assert_snapshot!("hostile_html", render_html(&input));
    insta::assert_snapshot!("hostile_json", render_json(&input).unwrap());
}
