//! The Priorities section: golden files in every text format, the PDF's
//! text, and the ranking rules (ties share a rank, top action items,
//! dots on deleted items not shown).

mod common;

use common::{fixture, voted};
use easel_proceedings::{
    parse_json, render_html, render_json, render_markdown, render_pdf, Proceedings, TOP_ACTIONS,
};

#[test]
fn golden_priorities_markdown() {
    insta::assert_snapshot!(render_markdown(&voted()));
}

#[test]
fn golden_priorities_html() {
    insta::assert_snapshot!(render_html(&voted()));
}

#[test]
fn golden_priorities_json() {
    insta::assert_snapshot!(render_json(&voted()).unwrap());
}

#[test]
fn ranking_rules() {
    let model = Proceedings::build(&voted());
    let p = model.priorities.as_ref().expect("priorities");
    assert_eq!(p.voters, 3);
    let order: Vec<(u32, &str, u32, u32)> = p
        .sessions
        .iter()
        .map(|s| (s.rank, s.session_id.as_str(), s.votes, s.action_votes))
        .collect();
    // s-c and s-b tie on session dots; s-c's action dots put it first.
    // The dot on the deleted item a-gone is not counted.
    assert_eq!(
        order,
        [(1, "s-c", 3, 5), (2, "s-b", 3, 0), (3, "s-a", 1, 2)]
    );
    let top: Vec<&str> = p.sessions[0]
        .actions
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(top.len(), TOP_ACTIONS);
    // Most dots first; equal counts keep the chart's order.
    assert_eq!(top, ["a-2", "a-1", "a-3"]);
    // Parsed back from JSON, the model is the same.
    assert_eq!(parse_json(&render_json(&voted()).unwrap()).unwrap(), model);
}

#[test]
fn priorities_open_the_proceedings() {
    let md = render_markdown(&voted());
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s:?} missing"));
    assert!(at("## Priorities") < at("## Summary"));
    let html = render_html(&voted());
    assert!(html.find("<h2>Priorities</h2>").unwrap() < html.find("<h2>Summary</h2>").unwrap());
    // User text is escaped in the ranking.
    assert!(html.contains("Remote-first &lt;teams&gt;"));
    assert!(md.contains("- #3 **Remote-first \\<teams>**"), "{md}");
    // Without a convergence phase there is no section and `priorities` is null.
    assert!(!render_markdown(&fixture()).contains("Priorities"));
    assert!(render_json(&fixture())
        .unwrap()
        .contains("\"priorities\": null"));
}

#[test]
fn ties_share_a_rank() {
    let mut input = voted();
    input.votes.as_mut().unwrap().items.clear();
    let model = Proceedings::build(&input);
    let ranks: Vec<(u32, &str)> = model
        .priorities
        .as_ref()
        .unwrap()
        .sessions
        .iter()
        .map(|s| (s.rank, s.session_id.as_str()))
        .collect();
    // Equal counts: agenda order, same rank; the next rank skips.
    assert_eq!(ranks, [(1, "s-b"), (1, "s-c"), (3, "s-a")]);
}

#[test]
fn priorities_pdf_text() {
    let pdf = render_pdf(&voted()).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("priorities.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed by the PDF tests");
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for s in [
        "Priorities",
        "Sessions ranked by the dots of 3 voters.",
        "Rank Session Votes",
        "1 Better conferences",
        "Plan a follow-up · 2 votes",
        "5 votes on actions",
        "2 Meeting culture 3 votes",
        "3 Remote-first <teams>",
    ] {
        assert!(text.contains(s), "{s:?} not in the PDF text:\n{text}");
    }
    let section = &text[text.find("Priorities").unwrap()..text.find("Summary").unwrap()];
    assert!(section.contains("Book a room"), "{section}");
    assert!(
        !section.contains("Fourth & least"),
        "only the top {TOP_ACTIONS} actions: {section}"
    );
}
