//! Golden files, ordering, summary, Unicode, JSON round trip and injection
//! tests for every output format.

mod common;

use common::{circles_fixture, conference, evil, fixture, hostile, hostile_fields, session, EVIL};
use easel_chart::{Block, ChartContent, Inline, Marks};
use easel_proceedings::{
    parse_json, render, render_chart, render_chart_html, render_chart_json, render_chart_markdown,
    render_html, render_json, render_markdown, Format, Proceedings, SCHEMA,
};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

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

/// Circles placed in their rounds, continuations both ways, owners and
/// due dates in the register.
#[test]
fn golden_circles() {
    let input = circles_fixture();
    insta::assert_snapshot!("circles_markdown", render_markdown(&input));
    insta::assert_snapshot!("circles_html", render_html(&input));
    insta::assert_snapshot!("circles_json", render_json(&input).unwrap());
    let model = Proceedings::build(&input);
    let order: Vec<_> = model.sessions().map(|s| s.id.as_str()).collect();
    assert_eq!(order, ["circle-open", "s-eu", "s-am", "circle-close"]);
    assert_eq!(
        model.summary.sessions, 2,
        "circles are not counted as sessions"
    );
    let owners: Vec<_> = model
        .action_register
        .iter()
        .map(|a| (a.owner.as_deref(), a.due.as_deref()))
        .collect();
    assert_eq!(
        owners,
        [
            (None, None),
            (Some("Ana Lima"), Some("2026-11-20")),
            (Some("Carla"), Some("2026-12-15")),
            (Some("Vera"), Some("2026-11-30")),
        ]
    );
    // A single chart's export names the other session, without a link.
    let am = input.sessions.iter().find(|s| s.id == "s-am").unwrap();
    let html = render_chart_html(am, &input.conference);
    assert!(
        html.contains("<dt>Continues</dt><dd><cite>Async retros (Europe)</cite>"),
        "{html}"
    );
    let md = render_chart_markdown(am, &input.conference);
    assert!(
        md.contains("* **Continues:** *Async retros (Europe)*"),
        "{md}"
    );
}

/// Anonymous: every convener's, participant's and owner's name is gone
/// from every text format (the PDF is checked in `pdf.rs`).
#[test]
fn anonymized_input_names_nobody() {
    let mut input = circles_fixture();
    for s in &mut input.sessions {
        s.convener = "Dmitri Kovalenko".into();
    }
    easel_proceedings::anonymize(&mut input, false);
    for out in [
        render_markdown(&input),
        render_html(&input),
        render_json(&input).unwrap(),
    ] {
        for name in [
            "Ana Lima",
            "Ana_Lima",
            "Carla",
            "Vera",
            "Dmitri Kovalenko",
            "\"Bo\"",
        ] {
            assert!(!out.contains(name), "{name} in\n{out}");
        }
        assert!(out.contains("Retros work across zones"));
    }
    let model = Proceedings::build(&input);
    assert!(model.participants.is_empty() && model.conveners.is_empty());
    assert!(model.action_register.iter().all(|a| a.owner.is_none()));
    assert_eq!(model.attribution, easel_proceedings::Attribution::Anonymous);
    // Keeping owners keeps exactly them.
    let mut input = circles_fixture();
    easel_proceedings::anonymize(&mut input, true);
    let model = Proceedings::build(&input);
    assert!(model.participants.is_empty());
    let owners: Vec<_> = model
        .action_register
        .iter()
        .filter_map(|a| a.owner.as_deref())
        .collect();
    assert_eq!(owners, ["Ana Lima", "Carla", "Vera"]);
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
        assert!(md.contains(r"\<script>alert(1)\</script> \*\_\[\]()#>\`\| \&amp; \&lt;"));
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

fn plain(text: &str) -> Inline {
    Inline::Text {
        text: text.into(),
        marks: Marks::default(),
    }
}

/// Lines that would be block markup at the start of a line, each after a
/// hard break, and text that needs no escaping at all.
#[test]
fn markdown_escapes_only_what_would_be_markup() {
    let lines = [
        "# not a heading",
        "###### nor this",
        "- not a list",
        "+ nor this",
        "* nor this",
        "1. nor this",
        "2) nor this",
        "> not a quote",
        "===",
        "---",
        "___",
        "    not code",
        "| a | b |",
        "|---|---|",
        "<div>not html</div>",
        "```",
        "~~~",
        "[x]: https://evil.example",
        "~~not struck~~ *not emphasis* _nor this_ `not code`",
    ];
    let mut broken = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            broken.push(Inline::HardBreak);
        }
        broken.push(plain(l));
    }
    let highlight = Marks {
        highlight: true,
        ..Marks::default()
    };
    let blocks = vec![
        Block::Paragraph { inlines: broken },
        Block::Heading {
            level: 2,
            inlines: vec![plain("Is C# better than F##")],
        },
        Block::Paragraph {
            inlines: vec![plain("2026. A year")],
        },
        Block::Paragraph {
            inlines: vec![plain(r"snake_case, 2.5 + (x) R&D! C:\path #24 a-b 50% ok?")],
        },
        Block::Paragraph {
            inlines: vec![
                plain("split &amp"),
                Inline::Text {
                    text: "; entity and snake_".into(),
                    marks: highlight,
                },
                plain("case"),
            ],
        },
    ];
    let chart = ChartContent {
        blocks,
        participants: Vec::new(),
        board: Default::default(),
    };
    let s = session("s-md", 0, 0, 0, "Markup # in (a) topic #", chart);
    let md = render_chart_markdown(&s, &conference());

    // Readable: nothing to escape here.
    assert!(
        md.contains(r"snake_case, 2.5 + (x) R&D! C:\path #24 a-b 50% ok?"),
        "{md}"
    );
    assert!(md.contains("# Markup # in (a) topic \\#\n"), "{md}");
    assert!(md.contains("## Is C# better than F#\\#\n"), "{md}");
    assert!(md.contains("2026\\. A year"), "{md}");
    assert!(md.contains(r"split \&amp; entity and snake_case"), "{md}");

    let gfm = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM;
    for options in [Options::empty(), gfm] {
        let mut headings = Vec::new();
        let mut lists = 0;
        let mut in_heading = false;
        let mut text = String::new();
        for ev in Parser::new_ext(&md, options) {
            match &ev {
                Event::Start(Tag::Heading { .. }) => {
                    in_heading = true;
                    headings.push(String::new());
                }
                Event::End(TagEnd::Heading(_)) => in_heading = false,
                Event::Text(t) if in_heading => headings.last_mut().unwrap().push_str(t),
                Event::Text(t) => text.push_str(t),
                Event::HardBreak | Event::SoftBreak | Event::End(_) => text.push('\n'),
                Event::Start(Tag::List(_)) => lists += 1,
                Event::Start(Tag::Paragraph | Tag::Item | Tag::Emphasis | Tag::Strong) => {}
                other => panic!("unexpected {other:?} with {options:?} in:\n{md}"),
            }
        }
        assert_eq!(
            headings,
            ["Markup # in (a) topic #", "Is C# better than F##"],
            "{options:?}"
        );
        // Only the facts list (convener, space, ...).
        assert_eq!(lists, 1, "{options:?}:\n{md}");
        for line in lines {
            assert!(
                text.contains(line.trim_start()),
                "{line:?} altered with {options:?}:\n{text}"
            );
        }
        for s in [
            "2026. A year",
            "split &amp; entity and snake_case",
            r"C:\path #24",
        ] {
            assert!(text.contains(s), "{s:?} altered:\n{text}");
        }
    }
}
