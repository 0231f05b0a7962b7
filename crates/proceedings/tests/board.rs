//! The board in every format: the documented examples as pycrdt and Yjs
//! wrote them (golden SVGs in `snapshots/`), in Markdown, HTML, JSON, PDF,
//! SVG and PNG; and hostile boards (markup in every text field, NaN and
//! huge numbers, a million points, a hundred thousand stickies) that must
//! come out escaped and bounded.

mod common;

use std::path::Path;
use std::process::Command;

use common::{conference, session};
use easel_chart::{read_chart, ChartContent};
use easel_proceedings::{
    board_png, board_svg, parse_json, render, render_chart, Format, ProceedingsInput,
};
use yrs::updates::decoder::Decode;
use yrs::{Any, Array, ArrayPrelim, Doc, Map, MapPrelim, Text, TextPrelim, Transact, Update};

fn chart_from(bytes: &[u8]) -> ChartContent {
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(bytes).unwrap())
        .unwrap();
    read_chart(&doc)
}

fn pycrdt() -> ChartContent {
    chart_from(include_bytes!(
        "../../chart/tests/fixtures/pycrdt_example.bin"
    ))
}

fn yjs() -> ChartContent {
    chart_from(include_bytes!("../../chart/tests/fixtures/yjs_client.bin"))
}

fn chart_formats(content: ChartContent) -> [String; 3] {
    let s = session("s-board", 0, 0, 0, "Board topic", content);
    let c = conference();
    let text = |f| String::from_utf8(render_chart(&s, &c, f).unwrap()).unwrap();
    [
        text(Format::Markdown),
        text(Format::Html),
        text(Format::Json),
    ]
}

fn pdf_text(name: &str, pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"));
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is required");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn golden_svgs_of_the_documented_examples() {
    insta::assert_snapshot!("pycrdt_board_svg", board_svg(&pycrdt().board));
    insta::assert_snapshot!("yjs_board_svg", board_svg(&yjs().board));
}

#[test]
fn the_pycrdt_board_in_markdown_html_and_json() {
    let [md, html, json] = chart_formats(pycrdt());
    // Markdown: by colour, then cluster (s1 and s2 touch; s3 is apart).
    let yellow = md.find("* **Yellow**").expect(&md);
    let pink = md.find("* **Pink**").expect(&md);
    let green = md.find("* **Green**").expect(&md);
    assert!(yellow < pink && pink < green, "{md}");
    assert!(
        md.contains("* **Yellow**\n  * Cluster 1\n    * Shorter feedback loops — *Ada*"),
        "{md}"
    );
    assert!(
        md.contains("* **Pink**\n  * Cluster 1\n    * Pair on the hard parts — *Grace*"),
        "{md}"
    );
    assert!(
        md.contains("* **Green**\n  * Cluster 2\n    * Ship on Fridays? — *Ada*"),
        "{md}"
    );
    assert!(
        md.contains("* Shorter feedback loops → Ship on Fridays?"),
        "{md}"
    );
    assert!(
        md.contains("**Board:** 3 sticky notes in 2 clusters, 1 ink stroke, 1 arrow"),
        "{md}"
    );
    // HTML: the inline SVG, with the texts.
    assert!(html.contains("<figure class=\"board\">\n<svg xmlns=\"http://www.w3.org/2000/svg\""));
    // Wrapped to the sticky's width.
    assert!(
        html.contains(">Shorter feedback</tspan><tspan x=\"310\" dy=\"25\">loops</tspan>"),
        "{html}"
    );
    assert!(
        html.contains("<path d=\"M300 450l100 20 100-10 200 20\""),
        "{html}"
    );
    // JSON: v2, the board as data.
    let model = parse_json(&json).unwrap();
    assert_eq!(model.schema, "easel.proceedings/v2");
    let board = &model.sessions().next().unwrap().board;
    assert_eq!(board.stickies.len(), 3);
    assert_eq!(board.stickies[2].cluster, 1);
    assert_eq!(board.strokes[0].points.len(), 8);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let s = &v["days"][0]["rounds"][0]["sessions"][0]["board"];
    assert_eq!(s["stickies"][0]["color"], "yellow");
    assert_eq!(s["arrows"][0]["to"], "py-s3");
}

#[test]
fn the_yjs_board_in_the_pdf_and_the_proceedings() {
    let input = ProceedingsInput {
        conference: conference(),
        sessions: vec![
            session("s-1", 0, 0, 0, "From Python", pycrdt()),
            session("s-2", 0, 0, 1, "From JavaScript", yjs()),
            session("s-3", 0, 1, 0, "No board", ChartContent::default()),
        ],
        ..Default::default()
    };
    let pdf = render(&input, Format::Pdf).unwrap();
    let text = pdf_text("boards.pdf", &pdf);
    for needle in [
        "Board: 3 sticky notes in 2 clusters, 1 ink stroke, 1 arrow",
        "Board: 2 sticky notes in 1 cluster, 1 ink stroke, 1 arrow",
        "Shorter feedback loops",
        "Async stand-ups",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    let md = String::from_utf8(render(&input, Format::Markdown).unwrap()).unwrap();
    assert!(
        md.contains("* **Orange**\n  * Cluster 1\n    * Fewer meetings / more pairing — *Linus*"),
        "{md}"
    );
    let html = String::from_utf8(render(&input, Format::Html).unwrap()).unwrap();
    assert_eq!(html.matches("<svg ").count(), 2);
    // The highlighter: a wide translucent stroke.
    assert!(html.contains("stroke-width=\"24\" stroke-linecap=\"round\" stroke-linejoin=\"round\" stroke-opacity=\"0.35\""), "{html}");
}

#[test]
fn the_png_is_the_drawing() {
    let board = pycrdt().board;
    let png = board_png(&board).unwrap();
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert!(pixmap.width() <= 2000 && pixmap.height() <= 2000);
    assert!(pixmap.width() >= 1000, "{}", pixmap.width());
    // The view starts 20 units left of and above the first sticky (300,
    // 200); a point inside sticky 1 but clear of its text is yellow.
    let scale = pixmap.width() as f32 / (1600.0 + 40.0);
    let at = |x: f32, y: f32| {
        let px = ((x - 280.0) * scale) as u32;
        let py = ((y - 180.0) * scale) as u32;
        let c = pixmap.pixel(px, py).unwrap();
        (c.red(), c.green(), c.blue())
    };
    assert_eq!(at(480.0, 380.0), (0xff, 0xf1, 0x76), "sticky 1 is yellow");
    assert_eq!(at(1000.0, 700.0), (0xff, 0xff, 0xff), "background");
    // Some dark pixels where the text is (glyphs were drawn).
    let dark = (300..500)
        .flat_map(|x| (210..260).map(move |y| (x as f32, y as f32)))
        .filter(|&(x, y)| at(x, y).0 < 0x80)
        .count();
    assert!(dark > 20, "no text drawn ({dark} dark pixels)");
}

const EVIL: &str = "</svg><script>alert(1)</script>]]><!-- & \u{1}\u{FFFF} # *x* [a](javascript:x)";

/// A board with markup in every text field and every kind of bad number.
fn hostile_board(stickies: usize, points: usize) -> ChartContent {
    let doc = Doc::new();
    let board = doc.get_or_insert_map("board");
    {
        let mut txn = doc.transact_mut();
        let s = board.insert(&mut txn, "stickies", MapPrelim::default());
        let k = board.insert(&mut txn, "strokes", MapPrelim::default());
        let a = board.insert(&mut txn, "arrows", MapPrelim::default());
        for (i, (x, y)) in [
            (f64::NAN, 0.0),
            (1e308, -1e308),
            (100.0, 100.0),
            (f64::INFINITY, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            let m = s.insert(
                &mut txn,
                format!("{i}{EVIL}").chars().take(60).collect::<String>(),
                MapPrelim::default(),
            );
            let t = m.insert(&mut txn, "text", TextPrelim::new(""));
            t.insert(&mut txn, 0, &EVIL.repeat(100));
            m.insert(&mut txn, "x", x);
            m.insert(&mut txn, "y", y);
            m.insert(&mut txn, "w", 1e308);
            m.insert(&mut txn, "color", EVIL);
            m.insert(&mut txn, "author", EVIL);
        }
        for i in 0..stickies {
            let plain: std::collections::HashMap<String, Any> = [
                ("x".to_owned(), Any::from((i * 37 % 3800) as f64)),
                ("y".to_owned(), Any::from((i * 53 % 2800) as f64)),
                ("text".to_owned(), Any::from(EVIL)),
                ("author".to_owned(), Any::from(EVIL)),
                ("color".to_owned(), Any::from("pink")),
            ]
            .into_iter()
            .collect();
            s.insert(&mut txn, format!("z{i:06}"), Any::from(plain));
        }
        let stroke = k.insert(&mut txn, "big", MapPrelim::default());
        stroke.insert(&mut txn, "color", EVIL);
        stroke.insert(&mut txn, "author", EVIL);
        stroke.insert(&mut txn, "tool", EVIL);
        stroke.insert(&mut txn, "width", f64::MAX);
        let arr = stroke.insert(&mut txn, "points", ArrayPrelim::default());
        let values: Vec<f64> = (0..points * 2)
            .map(|i| {
                if i % 7 == 0 {
                    1e308
                } else {
                    (i * 13 % 4100) as f64 - 50.0
                }
            })
            .collect();
        arr.insert_range(&mut txn, 0, values);
        let nan = k.insert(&mut txn, "nan", MapPrelim::default());
        nan.insert(&mut txn, "points", ArrayPrelim::from(vec![1.0, f64::NAN]));
        let arrow = a.insert(&mut txn, "a", MapPrelim::default());
        let first: String = format!("2{EVIL}").chars().take(60).collect();
        arrow.insert(&mut txn, "from", first.clone());
        arrow.insert(&mut txn, "to", first);
        arrow.insert(&mut txn, "color", EVIL);
        arrow.insert(&mut txn, "author", EVIL);
    }
    read_chart(&doc)
}

fn assert_no_markup(format: &str, out: &str) {
    // Link text like "javascript:x" is inert in SVG and HTML text.
    for bad in ["<script", "</svg><", "]]><!--"] {
        assert!(!out.contains(bad), "{format}: {bad:?} came through");
    }
}

#[test]
fn hostile_boards_are_escaped_and_bounded_in_every_format() {
    let content = hostile_board(100_000, 1_000_000);
    let board = &content.board;
    // The first 500 ids hold the four hostile ones, two of them NaN/inf.
    assert_eq!(board.stickies.len(), 498);
    assert!(board
        .notes
        .iter()
        .any(|n| n.contains("over the limit of 500")));
    let svg = board_svg(board);
    assert_no_markup("svg", &svg);
    assert!(svg.len() < 3_000_000, "SVG of {} bytes", svg.len());
    // resvg parses it (the SVG is well-formed XML) and draws it bounded.
    let png = board_png(board).unwrap();
    assert!(png.len() < 8_000_000, "PNG of {} bytes", png.len());
    let [md, html, json] = chart_formats(content.clone());
    assert_no_markup("html", &html);
    assert!(html.len() < 4_000_000, "HTML of {} bytes", html.len());
    // Markdown: no raw HTML, no link.
    assert!(
        {
            // Escaped `\<` and `\]` are text; what is left must hold no
            // tag and no link.
            let bare = md.replace("\\<", "").replace("\\]", "");
            !bare.contains("<script") && !bare.contains("](javascript")
        },
        "{}",
        &md[..2000]
    );
    assert!(md.contains("\\<script>"), "escaped text present");
    assert!(md.len() < 2_000_000);
    assert!(!json.contains("<script"));
    assert!(json.len() < 8_000_000, "JSON of {} bytes", json.len());
    let s = session("s-evil", 0, 0, 0, "Evil", content);
    let pdf = render_chart(&s, &conference(), Format::Pdf).unwrap();
    assert!(pdf.len() < 20_000_000, "PDF of {} bytes", pdf.len());
    let text = pdf_text("hostile-board.pdf", &pdf);
    assert!(
        text.contains("Board: 498 sticky notes"),
        "{}",
        &text[..text.len().min(2000)]
    );
}
