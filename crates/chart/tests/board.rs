//! Reading the board (`docs/chart-schema.md`, "The board"): the documented
//! examples as stock clients wrote them, the limits, and hostile values.

use std::time::Instant;

use easel_chart::{
    read_board, read_chart, read_chart_with, Board, BoardLimits, InkColor, StickyColor, Tool,
    BOARD_HEIGHT, BOARD_WIDTH,
};
use yrs::updates::decoder::Decode;
use yrs::{Any, Array, ArrayPrelim, Doc, Map, MapPrelim, MapRef, Transact, Update, WriteTxn};

fn doc_from(bytes: &[u8]) -> Doc {
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(bytes).unwrap())
        .unwrap();
    doc
}

/// The board's three maps, created in one transaction.
fn board_maps(doc: &Doc) -> (MapRef, MapRef, MapRef) {
    let board = doc.get_or_insert_map("board");
    let mut txn = doc.transact_mut();
    let s = board.insert(&mut txn, "stickies", MapPrelim::default());
    let k = board.insert(&mut txn, "strokes", MapPrelim::default());
    let a = board.insert(&mut txn, "arrows", MapPrelim::default());
    (s, k, a)
}

fn sticky(fields: &[(&str, Any)]) -> MapPrelim {
    MapPrelim::from_iter(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), yrs::In::Any(v.clone()))),
    )
}

fn board_of(doc: &Doc) -> Board {
    read_board(&doc.transact(), &BoardLimits::default())
}

fn docs_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/chart-schema.md"
    ))
    .unwrap()
}

/// The code block of `lang` under `heading` in docs/chart-schema.md.
fn doc_example(heading: &str, lang: &str) -> String {
    let docs = docs_text();
    let at = docs.find(heading).expect("heading in the docs");
    let fence = format!("```{lang}\n");
    let start = at + docs[at..].find(&fence).unwrap() + fence.len();
    let end = start + docs[start..].find("```\n").unwrap();
    docs[start..end].to_string()
}

#[test]
fn the_fixture_generators_hold_the_documented_examples_verbatim() {
    let py = doc_example("## Example: a board from Python (pycrdt)", "python");
    let gen = include_str!("fixtures/gen_pycrdt_fixture.py");
    assert!(
        gen.contains(&py),
        "gen_pycrdt_fixture.py differs from the docs"
    );
    let js = doc_example("## Example: a board from JavaScript (Yjs)", "js");
    let from = &js[js.find("const board =").unwrap()..];
    let gen = include_str!("fixtures/gen_yjs_fixture.cjs");
    assert!(
        gen.contains(from),
        "gen_yjs_fixture.cjs differs from the docs"
    );
}

#[test]
fn reads_the_documented_pycrdt_board() {
    let doc = doc_from(include_bytes!("fixtures/pycrdt_example.bin"));
    let c = read_chart(&doc);
    let b = &c.board;
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    let ids: Vec<_> = b.stickies.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["py-s1", "py-s2", "py-s3"]);
    let s1 = &b.stickies[0];
    assert_eq!(
        (s1.text.as_str(), s1.x, s1.y, s1.w, s1.h),
        ("Shorter feedback loops", 300, 200, 200, 200)
    );
    assert_eq!((s1.color, s1.author.as_str()), (StickyColor::Yellow, "Ada"));
    assert_eq!(b.stickies[1].color, StickyColor::Pink);
    // s1 and s2 are 10 units apart: one cluster; s3 is far away.
    let clusters: Vec<_> = b.stickies.iter().map(|s| s.cluster).collect();
    assert_eq!(clusters, [0, 0, 1]);
    assert_eq!(b.cluster_count(), 2);
    // Defaults: size 200 x 200.
    assert_eq!((b.stickies[2].w, b.stickies[2].h), (200, 200));
    assert_eq!(b.strokes.len(), 1);
    let k = &b.strokes[0];
    assert_eq!(k.points, [300, 450, 400, 470, 500, 460, 700, 480]);
    assert_eq!(
        (k.color, k.width, k.tool, k.done),
        (InkColor::Blue, 4, Tool::Pen, true)
    );
    assert_eq!(b.arrows.len(), 1);
    assert_eq!(
        (b.arrows[0].from.as_str(), b.arrows[0].to.as_str()),
        ("py-s1", "py-s3")
    );
    assert_eq!(b.arrows[0].color, InkColor::Red);
    assert!(!c.is_blank());
}

#[test]
fn reads_the_documented_yjs_board() {
    let doc = doc_from(include_bytes!("fixtures/yjs_client.bin"));
    let b = read_chart(&doc).board;
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    // Drawing order: z, then id (js-s2 has no z: 0).
    let ids: Vec<_> = b.stickies.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["js-s2", "js-s1"]);
    let s1 = &b.stickies[1];
    assert_eq!(s1.text, "Fewer meetings\nmore pairing");
    assert_eq!((s1.x, s1.y, s1.w, s1.h, s1.z), (1000, 400, 240, 160, 1));
    assert_eq!(
        (s1.color, s1.author.as_str()),
        (StickyColor::Orange, "Linus")
    );
    assert_eq!(b.stickies[0].text, "Async stand-ups");
    // 1000 + 240 = 1240, 10 from 1250: together.
    assert_eq!(b.cluster_count(), 1);
    let k = &b.strokes[0];
    assert_eq!(k.points, [1000, 700, 1100, 720, 1250, 710, 1400, 740]);
    assert_eq!((k.tool, k.width, k.done), (Tool::Highlighter, 24, true));
    assert_eq!(b.arrows[0].author, "Linus");
}

#[test]
fn hostile_values_are_clamped_dropped_or_defaulted() {
    let doc = Doc::new();
    let (s, k, a) = board_maps(&doc);
    {
        let mut txn = doc.transact_mut();
        let evil = "</svg><script>alert(1)</script>";
        s.insert(
            &mut txn,
            "nan",
            sticky(&[("x", Any::from(f64::NAN)), ("text", Any::from("gone"))]),
        );
        s.insert(&mut txn, "inf", sticky(&[("w", Any::from(f64::INFINITY))]));
        s.insert(
            &mut txn,
            "huge",
            sticky(&[
                ("x", Any::from(1e308)),
                ("y", Any::from(-1e308)),
                ("w", Any::from(1e9)),
                ("h", Any::from(1.0)),
                ("color", Any::from(evil)),
                ("author", Any::from(evil)),
                ("text", Any::from(evil)),
            ]),
        );
        s.insert(&mut txn, "not-a-map", Any::from(42.0));
        s.insert(&mut txn, "x".repeat(65), sticky(&[]));
        k.insert(
            &mut txn,
            "k-nan",
            sticky(&[(
                "points",
                Any::from(vec![Any::from(1.0), Any::from(f64::NAN)]),
            )]),
        );
        k.insert(
            &mut txn,
            "k-wide",
            sticky(&[
                (
                    "points",
                    Any::from(vec![
                        Any::from(-5.0),
                        Any::from(1e300),
                        Any::from("x"),
                        Any::from(-5.0),
                        Any::from(1e300),
                        Any::from(7.4),
                        Any::from(9.6),
                    ]),
                ),
                ("width", Any::from(1e6)),
                ("color", Any::from(evil)),
            ]),
        );
        a.insert(
            &mut txn,
            "a-dangling",
            sticky(&[("from", Any::from("huge")), ("to", Any::from("nope"))]),
        );
        a.insert(
            &mut txn,
            "a-ok",
            sticky(&[("from", Any::from("huge")), ("to", Any::from("huge"))]),
        );
    }
    let b = board_of(&doc);
    let ids: Vec<_> = b.stickies.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["huge"]);
    let s = &b.stickies[0];
    assert_eq!((s.w, s.h), (1000, 40));
    assert_eq!((s.x, s.y), (BOARD_WIDTH - 1000, 0));
    assert_eq!(s.color, StickyColor::Yellow);
    // Text and names are data: kept verbatim, escaped by each renderer.
    assert_eq!(s.author, "</svg><script>alert(1)</script>");
    assert_eq!(b.strokes.len(), 1);
    let k = &b.strokes[0];
    // (-5, 1e300) clamped to (0, 3000); the repeat dropped; "x" skipped.
    assert_eq!(k.points, [0, BOARD_HEIGHT, 7, 10]);
    assert_eq!((k.width, k.color), (64, InkColor::Black));
    assert_eq!(b.arrows.len(), 1);
    let notes = b.notes.join("\n");
    for expected in [
        "3 items with a number that is not finite left out",
        "1 items with an id longer than 64 characters",
        "1 entries that are not board items",
        "1 arrows whose sticky is not on the board",
        "2 items with a colour outside the palette",
        "moved or resized into the board space",
    ] {
        assert!(notes.contains(expected), "{expected:?} not in {notes}");
    }
}

#[test]
fn a_million_points_and_a_hundred_thousand_stickies_are_cut_to_the_limits() {
    let doc = Doc::new();
    let (s, k, _) = board_maps(&doc);
    {
        let mut txn = doc.transact_mut();
        let points: Vec<f64> = (0..2_000_000).map(|i| (i % 3000) as f64).collect();
        let stroke = k.insert(&mut txn, "big", MapPrelim::default());
        // One block of numbers, the way Yjs' `push` writes a batch.
        let arr = stroke.insert(&mut txn, "points", ArrayPrelim::default());
        arr.insert_range(&mut txn, 0, points);
        for i in 0..100_000 {
            // Plain objects (one CRDT item each) keep the test quick.
            let plain: std::collections::HashMap<String, Any> = [
                ("x".to_owned(), Any::from((i % 3800) as f64)),
                ("text".to_owned(), Any::from("x")),
            ]
            .into_iter()
            .collect();
            s.insert(&mut txn, format!("s{i:06}"), Any::from(plain));
        }
    }
    let started = Instant::now();
    let b = board_of(&doc);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert_eq!(b.stickies.len(), 500);
    // The first 500 in id order.
    assert_eq!(
        b.stickies.iter().map(|s| s.id.as_str()).min(),
        Some("s000000")
    );
    assert_eq!(
        b.stickies.iter().map(|s| s.id.as_str()).max(),
        Some("s000499")
    );
    assert_eq!(b.strokes[0].points.len(), 2 * 10_000);
    let notes = b.notes.join("\n");
    assert!(
        notes.contains("99500 stickies over the limit of 500"),
        "{notes}"
    );
    assert!(
        notes.contains("990000 ink points over the limits"),
        "{notes}"
    );
}

#[test]
fn the_points_budget_is_shared_by_all_strokes_and_text_is_cut() {
    let doc = Doc::new();
    let (s, k, _) = board_maps(&doc);
    {
        let mut txn = doc.transact_mut();
        for i in 0..5 {
            let stroke = k.insert(&mut txn, format!("k{i}"), MapPrelim::default());
            let points: Vec<f64> = (0..200).map(|p| f64::from(p * 3 + i)).collect();
            stroke.insert(&mut txn, "points", ArrayPrelim::from(points));
        }
        s.insert(
            &mut txn,
            "long",
            sticky(&[
                ("text", Any::from("é".repeat(50))),
                ("author", Any::from("a".repeat(20))),
            ]),
        );
    }
    let limits = BoardLimits {
        max_board_points: 250,
        max_sticky_chars: 10,
        max_author_chars: 5,
        ..BoardLimits::default()
    };
    let c = read_chart_with(&doc, &limits);
    let kept: usize = c.board.strokes.iter().map(|k| k.points.len() / 2).sum();
    assert_eq!(kept, 250);
    assert_eq!(
        c.board.strokes.len(),
        3,
        "k0, k1 full, k2 half, k3 and k4 empty"
    );
    assert_eq!(c.board.stickies[0].text, "é".repeat(10));
    assert_eq!(c.board.stickies[0].author, "aaaaa");
}

#[test]
fn wrong_board_shapes_read_as_empty() {
    let doc = Doc::new();
    {
        let mut txn = doc.transact_mut();
        let board = txn.get_or_insert_map("board");
        board.insert(&mut txn, "stickies", Any::from("not a map"));
        board.insert(&mut txn, "strokes", ArrayPrelim::from(vec![1.0, 2.0]));
    }
    let b = board_of(&doc);
    assert!(b.is_empty());
    let empty = Doc::new();
    {
        let t = empty.get_or_insert_text("board");
        let mut txn = empty.transact_mut();
        yrs::Text::insert(&t, &mut txn, 0, "hi");
    }
    // `board` as a Y.Text: yrs reads it as whatever root was defined first;
    // the reader must not panic and shows nothing.
    let _ = board_of(&empty);
}

#[test]
fn people_are_renamed_in_one_place() {
    let doc = doc_from(include_bytes!("fixtures/pycrdt_example.bin"));
    let mut c = read_chart(&doc);
    c.map_people(|_| String::new());
    assert!(c.participants.is_empty());
    assert!(c.board.stickies.iter().all(|s| s.author.is_empty()));
    assert!(c.board.strokes.iter().all(|s| s.author.is_empty()));
    assert!(c.board.arrows.iter().all(|s| s.author.is_empty()));
}
