//! PDF renderer tests: the PDF is checked through its extracted text
//! (`pdftotext` from poppler-utils) and a rendered page (`pdftoppm`).
//!
//! poppler-utils is installed by `scripts/install-deps.sh`; when it is
//! missing these tests fail with a message saying so instead of skipping.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    circles_fixture, conference, el, evil, fixture, heading, hostile, hostile_fields, mark, para,
    participants, read_via_update, session, task,
};
use easel_proceedings::{
    font_families, render, render_chart, render_chart_pdf, render_model, render_pdf, Format,
    Proceedings, ProceedingsInput,
};
use yrs::{Doc, Text, Transact, XmlFragment, XmlTextPrelim};

/// Typst markup and code that must come out as literal text.
const TYPST_EVIL: &str = r#" #set page(width: 3cm) $x^2$ @fig <lbl> #eval("1+1") \#[x] ] = Heading ~ -- "quoted" 'single' \ / ``raw``"#;

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn tool(name: &str) -> Command {
    let probe = Command::new(name).arg("-v").output();
    if probe.is_err() {
        panic!(
            "`{name}` is required by the PDF tests but was not found on PATH; \
             install Debian's poppler-utils (scripts/install-deps.sh does)"
        );
    }
    Command::new(name)
}

fn write_pdf(name: &str, pdf: &[u8]) -> PathBuf {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let path = tmp(name);
    std::fs::write(&path, pdf).unwrap();
    path
}

/// Text of the PDF with every run of whitespace folded to one space, so
/// assertions do not depend on where lines wrap.
fn pdf_text(name: &str, pdf: &[u8]) -> String {
    let path = write_pdf(name, pdf);
    let out = tool("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fold(&String::from_utf8(out.stdout).unwrap())
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pdfinfo(path: &Path) -> String {
    let out = tool("pdfinfo").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn page_count(path: &Path) -> usize {
    pdfinfo(path)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// Whitespace-free form: pdftotext sometimes inserts a space where a glyph
/// is kerned away from its neighbour (e.g. `] (`), so hostile strings are
/// compared with all whitespace removed (every other character must match).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_contains_squashed(text: &str, needle: &str) {
    assert!(
        squash(text).contains(&squash(needle)),
        "{needle:?} not found in PDF text:\n{text}"
    );
}

fn assert_contains(text: &str, needle: &str) {
    let needle = fold(needle);
    assert!(
        text.contains(&needle),
        "{needle:?} not found in PDF text:\n{text}"
    );
}

#[test]
fn fixture_pdf_text() {
    let pdf = render_pdf(&fixture()).unwrap();
    let text = pdf_text("fixture.pdf", &pdf);
    for s in [
        // cover
        "PROCEEDINGS",
        "Open Space Καλοκαίρι 2026",
        "2026-11-03 – 2026-11-04",
        "Time zone: Europe/Athens",
        "Two days of self-organised sessions in Thessaloniki.",
        // front matter
        "Summary",
        "Contents",
        "2 done, 2 open",
        // structure
        "Day 1 — Tue 3 Nov 2026",
        "Round 1 · 09:00",
        "Day 2 — Wed 4 Nov 2026",
        // sessions
        "Better conferences",
        "Meeting culture",
        "Afternoon talk",
        "Nobody wrote here",
        "No notes",
        "Convener Space Time State Participants",
        "María José Garden",
        "Dmitri Λέσχη",
        "Room Ж",
        "Tue 3 Nov 09:00 (Europe/Athens) · 2026-11-03T07:00:00Z UTC",
        "María José, Ζωή, Дмитрий, Ada",
        // notes with marks
        "Café culture needs fewer slides and more talk. See the wiki",
        "cargo test",
        "this matters",
        "Ελληνικά: καλημέρα",
        "Кириллица: привет",
        "Whoever comes are the right people.",
        "println!(\"hi\");",
        "Share slides with the group",
        "Ask María for a room",
        "We agreed to meet again.",
        // back matter
        "Action register",
        "Send summary mail",
        "Conveners",
        "Participants",
    ] {
        assert_contains(&text, s);
    }
    // Summary figures agree with the model.
    let model = Proceedings::build(&fixture());
    assert_contains(
        &text,
        &format!(
            "{} with notes, {} without notes",
            model.summary.sessions_with_notes, model.summary.sessions_without_notes
        ),
    );
    // Sessions appear in agenda order (first occurrence: the contents).
    let pos = |s: &str| text.find(s).unwrap();
    assert!(pos("Better conferences") < pos("Meeting culture"));
    assert!(pos("Meeting culture") < pos("Afternoon talk"));
    assert!(pos("Afternoon talk") < pos("Nobody wrote here"));
}

#[test]
fn fixture_pdf_layout() {
    let pdf = render_pdf(&fixture()).unwrap();
    let path = write_pdf("layout.pdf", &pdf);
    let info = pdfinfo(&path);
    assert!(info.contains("595.276 x 841.89") || info.contains("595.28 x 841.89"));
    assert!(info.contains("Title:") && info.contains("Open Space Καλοκαίρι 2026"));
    let pages = page_count(&path);
    assert!((5..=20).contains(&pages), "{pages} pages");

    // Page numbers and running headers: page 3 (the first day) carries the
    // conference name in its header and its number in the footer.
    let out = tool("pdftotext")
        .args(["-enc", "UTF-8", "-f", "3", "-l", "3"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let page3 = fold(&String::from_utf8(out.stdout).unwrap());
    assert!(
        page3.starts_with("Open Space Καλοκαίρι 2026"),
        "header: {page3}"
    );
    assert!(page3.ends_with(" 2"), "footer: {page3}");

    // A rendered page to look at (target/tmp/fixture-page-*.png).
    let prefix = tmp("fixture-page");
    let status = tool("pdftoppm")
        .args(["-png", "-r", "50"])
        .arg(&path)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let first = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with("fixture-page-") && n.ends_with(".png")
        });
    assert!(first, "pdftoppm wrote no page");
}

fn typst_hostile() -> ProceedingsInput {
    let mut input = hostile();
    let add = |s: &mut String| s.push_str(TYPST_EVIL);
    add(&mut input.conference.name);
    add(&mut input.conference.description);
    for s in &mut input.sessions {
        add(&mut s.topic);
        add(&mut s.convener);
        add(&mut s.space);
        for p in &mut s.content.participants {
            add(p);
        }
    }
    input
}

#[test]
fn injection_pdf() {
    let input = typst_hostile();
    let pdf = render_pdf(&input).unwrap();
    let path = write_pdf("hostile.pdf", &pdf);
    // `#set page(width: 3cm)` did not apply.
    assert!(pdfinfo(&path).contains("595.276 x 841.89") || pdfinfo(&path).contains("595.28"));
    let text = pdf_text("hostile.pdf", &pdf);
    for field in hostile_fields() {
        assert_contains_squashed(&text, &field);
    }
    for s in ["topic", "convener", "space", "name", "description"] {
        assert_contains_squashed(&text, &format!("{}{TYPST_EVIL}", evil(s)));
    }
    for literal in [
        "#set page(width: 3cm)",
        "$x^2$",
        "<script>alert(1)</script>",
        "*_[]()#>`|",
        "&amp; &lt;",
        "#eval(\"1+1\")",
        "javascript:alert(1)",
        "\\ / ``raw``",
    ] {
        assert_contains_squashed(&text, literal);
    }
    // One chart export of the hostile session too.
    let chart = render_chart_pdf(&input.sessions[0], &input.conference).unwrap();
    let text = pdf_text("hostile-chart.pdf", &chart);
    assert_contains_squashed(&text, &format!("{}{TYPST_EVIL}", evil("topic")));
    assert_contains_squashed(&text, &evil("task"));
}

#[test]
fn chart_pdf() {
    let input = fixture();
    let session = input.sessions.iter().find(|s| s.id == "s-ideas").unwrap();
    let pdf = render_chart(session, &conference(), Format::Pdf).unwrap();
    let path = write_pdf("chart.pdf", &pdf);
    assert_eq!(page_count(&path), 1);
    let text = pdf_text("chart.pdf", &pdf);
    for s in [
        "Open Space Καλοκαίρι 2026 · Day 1 — Tue 3 Nov 2026 · Round 1 · 09:00",
        "Better conferences",
        "María José Garden",
        "Кириллица: привет",
        "Ask María for a room",
    ] {
        assert_contains_squashed(&text, s);
    }
    // Only this chart.
    assert!(!text.contains("Meeting culture"));
    assert!(!text.contains("Contents"));
}

#[test]
fn pdf_is_deterministic_and_dispatched() {
    let input = fixture();
    let a = render(&input, Format::Pdf).unwrap();
    let b = render_model(&Proceedings::build(&input), Format::Pdf).unwrap();
    assert_eq!(a, b, "same input must give the same bytes (ETags)");
    assert_eq!(Format::Pdf.content_type(), "application/pdf");
    assert_eq!(Format::Pdf.extension(), "pdf");
    assert!(Format::ALL.contains(&Format::Pdf));
}

#[test]
fn empty_conference_pdf() {
    let input = ProceedingsInput {
        votes: None,
        conference: Default::default(),
        sessions: Vec::new(),
        ..Default::default()
    };
    let pdf = render_pdf(&input).unwrap();
    let text = pdf_text("empty.pdf", &pdf);
    assert_contains_squashed(&text, "PROCEEDINGS");
    assert_contains_squashed(&text, "0 sessions");
}

/// One sample per script a worldwide event writes in. Right-to-left samples
/// are in logical (typing) order, which is what extracted text must give.
const SCRIPTS: &[(&str, &str)] = &[
    ("Latin", "Café naïve façade"),
    ("Greek", "Καλημέρα κόσμε"),
    ("Cyrillic", "Привет, мир"),
    ("Japanese", "会議の文化を変える ひらがな カタカナ"),
    ("Chinese", "开放空间会议"),
    ("Korean", "오픈 스페이스 회의"),
    ("Arabic", "مرحبا بالعالم"),
    ("Hebrew", "שלום עולם"),
    ("Devanagari", "नमस्ते दुनिया"),
    ("Thai", "สวัสดีชาวโลก"),
    ("Emoji", "🎉🚀👍"),
];

/// pdftotext wraps right-to-left runs in embedding controls (U+202B ...
/// U+202C); the text between them is in logical order.
fn strip_bidi_controls(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// A chart written through yrs as the web client would: a heading, a
/// paragraph per script (one in bold), a task and participants.
fn every_script_chart() -> easel_proceedings::SessionInput {
    let doc = Doc::with_client_id(21);
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        heading(&mut txn, &notes, 2, "各国の言葉 · Языки · اللغات");
        for (name, sample) in SCRIPTS {
            para(&mut txn, &notes, &format!("{name}: {sample}"));
        }
        let p = el(&mut txn, &notes, "paragraph");
        let t = p.push_back(&mut txn, XmlTextPrelim::new("Bold: "));
        t.insert_with_attributes(&mut txn, 6, "太字 עברית नमस्ते", mark("bold"));
        let tl = el(&mut txn, &notes, "taskList");
        task(&mut txn, &tl, false, "🎯 翻訳する — ترجمة");
    }
    participants(&doc, &["山田 花子", "أحمد", "Ada", "דוד", "प्रिया"]);
    let mut s = session(
        "s-world",
        0,
        0,
        0,
        "世界の会議 🌍 مؤتمر",
        read_via_update(&doc),
    );
    s.convener = "さくら".into();
    s.space = "ห้อง 1".into();
    s
}

#[test]
fn every_script_pdf() {
    let families = font_families();
    for family in [
        "Libertinus Serif",
        "Noto Naskh Arabic",
        "Noto Sans Hebrew",
        "Noto Sans Devanagari",
        "Noto Sans Thai",
        "Noto Sans CJK JP",
        "Noto Emoji",
    ] {
        assert!(
            families.iter().any(|f| f == family),
            "{family} not embedded: {families:?}"
        );
    }

    let chart = every_script_chart();
    let pdf = render_chart_pdf(&chart, &conference()).unwrap();
    let text = strip_bidi_controls(&pdf_text("scripts.pdf", &pdf));
    // Right-to-left samples come back in logical order, word order included.
    for (name, sample) in SCRIPTS {
        assert_contains(&text, &format!("{name}: {sample}"));
    }
    // Where a right-to-left run meets other text, pdftotext may put the
    // space on either side of the run.
    for s in [
        "世界の会議 🌍 مؤتمر",
        "各国の言葉 · Языки · اللغات",
        "Bold: 太字 עברית नमस्ते",
        "🎯 翻訳する — ترجمة",
        "さくら",
        "ห้อง 1",
        "山田 花子, أحمد, Ada, דוד, प्रिया",
    ] {
        assert_contains_squashed(&text, s);
    }
    // A character no font has would be a .notdef box, and pdftotext loses
    // it (checked above). Here: each script took its own font, and every
    // font is embedded.
    let path = write_pdf("scripts.pdf", &pdf);
    let fonts = tool("pdffonts").arg(&path).output().unwrap();
    let fonts = String::from_utf8(fonts.stdout).unwrap();
    // Hebrew letters and points are in Libertinus Serif, which comes first;
    // Noto Sans Hebrew only adds the cantillation marks.
    for family in [
        "LibertinusSerif",
        "NotoSansCJKjp",
        "NotoNaskhArabic",
        "NotoSansDevanagari",
        "NotoSansThai",
        "NotoEmoji",
    ] {
        assert!(fonts.contains(family), "{family} not used:\n{fonts}");
    }
    for line in fonts.lines().skip(2) {
        assert!(line.contains(" yes "), "font not embedded: {line}");
    }

    // The same text through the full proceedings.
    let mut input = fixture();
    input.sessions.push(every_script_chart());
    let text = strip_bidi_controls(&pdf_text(
        "scripts-proceedings.pdf",
        &render_pdf(&input).unwrap(),
    ));
    for (name, sample) in SCRIPTS {
        assert_contains(&text, &format!("{name}: {sample}"));
    }

    // A page to look at: target/tmp/scripts-page-1.png.
    let status = tool("pdftoppm")
        .args(["-png", "-r", "110", "-f", "1", "-l", "1"])
        .arg(&path)
        .arg(tmp("scripts-page"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// The circles golden file for the PDF: its text, as pdftotext reads it.
#[test]
fn golden_circles_pdf_text() {
    let pdf = render_pdf(&circles_fixture()).unwrap();
    let text = pdf_text("circles.pdf", &pdf);
    insta::assert_snapshot!("circles_pdf_text", text);
    let open = text.find("whoever comes are the right people").unwrap();
    let close = text.find("two working groups formed").unwrap();
    assert!(open < close);
    assert!(text.contains("Continued in"), "{text}");
    assert!(text.contains("owner: Ana Lima · due 2026-11-20"), "{text}");
}

/// Anonymous proceedings: no name in the PDF's text either.
#[test]
fn anonymous_pdf_names_nobody() {
    let mut input = circles_fixture();
    easel_proceedings::anonymize(&mut input, false);
    let text = pdf_text("anonymous.pdf", &render_pdf(&input).unwrap());
    for name in ["Ana Lima", "Carla", "Vera", "María José", "Dmitri"] {
        assert!(!text.contains(name), "{name} in {text}");
    }
    assert!(text.contains("Retros work across zones"));
}
