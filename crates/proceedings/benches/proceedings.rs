//! Proceedings benchmark: 300 realistic charts, every format.
//!
//! Run with `cargo bench -p easel-proceedings --bench proceedings`.
//! Environment: `EASEL_BENCH_CHARTS` (default 300), `EASEL_BENCH_RUNS`
//! (text formats, default 30), `EASEL_BENCH_PDF_RUNS` (default 5) and
//! `EASEL_BENCH_BOARDS` (default 1: every second chart has a board of
//! 20–40 stickies, 10–30 strokes of 50–250 points and 3–8 arrows; 0: none).
//!
//! Charts are written through real yrs documents (template, notes with
//! marks, lists and task items, participants), shipped as v1 updates to a
//! fresh document and read back with `read_chart`, as the server does.
//! Every run of a format is paired with a run of the baseline
//! (`serde_json::to_vec` of the compiled model: the floor any renderer pays
//! to walk the model) so both see the same machine noise; the table gives
//! medians, p99 and the ratio of the medians.

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use easel_chart::{read_chart, seed_template, ChartContent};
use easel_proceedings::{
    render, ConferenceInfo, Format, Proceedings, ProceedingsInput, SessionInput,
};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, Map, MapPrelim, ReadTxn, StateVector, Text, TextPrelim, Transact,
    TransactionMut, Update, Xml, XmlElementPrelim, XmlElementRef, XmlFragment, XmlTextPrelim,
};

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "the",
    "team",
    "agreed",
    "that",
    "we",
    "should",
    "try",
    "pairing",
    "on",
    "small",
    "tasks",
    "before",
    "retrospective",
    "feedback",
    "loops",
    "matter",
    "more",
    "than",
    "tools",
    "people",
    "conference",
    "session",
    "notes",
    "remote",
    "hybrid",
    "facilitation",
    "trust",
    "safety",
    "experiment",
    "learning",
    "backlog",
    "deploy",
    "weekly",
    "open",
    "space",
    "law",
    "of",
    "two",
    "feet",
    "butterflies",
    "bumblebees",
    "marketplace",
    "café",
    "Überblick",
    "façade",
    "naïve",
    "coração",
    "São",
    "Paulo",
    "Kraków",
    "Ελληνικά",
    "συνάντηση",
    "Москва",
    "встреча",
    "and",
    "a",
    "with",
    "for",
    "is",
    "it",
    "in",
    "to",
    "our",
    "next",
    "step",
    "ideas",
    "questions",
];

const NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "María José",
    "João",
    "Zoë",
    "Jürgen",
    "Ζωή",
    "Νίκος",
    "Дмитрий",
    "Ольга",
    "Amélie",
    "Søren",
    "Łukasz",
    "Chiara",
    "Kwame",
    "Priya",
    "Tomás",
    "Ingrid",
    "Mehmet",
    "Aiko",
];

fn sentence(rng: &mut Rng, lo: usize, hi: usize) -> String {
    let n = rng.range(lo, hi);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    s
}

fn mark(name: &str) -> Attrs {
    Attrs::from([(Arc::from(name), Any::Map(Arc::new(HashMap::new())))])
}

fn el<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, tag: &str) -> XmlElementRef {
    parent.push_back(txn, XmlElementPrelim::empty(tag))
}

/// A paragraph of several sentences, some runs with marks.
fn rich_paragraph<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, rng: &mut Rng) {
    let p = el(txn, parent, "paragraph");
    let text = p.push_back(txn, XmlTextPrelim::new(""));
    for _ in 0..rng.range(2, 5) {
        let run = format!("{}. ", sentence(rng, 6, 16));
        let len = text.len(txn);
        match rng.below(8) {
            0 => text.insert_with_attributes(txn, len, &run, mark("bold")),
            1 => text.insert_with_attributes(txn, len, &run, mark("italic")),
            2 => text.insert_with_attributes(txn, len, &run, mark("highlight")),
            _ => text.insert_with_attributes(txn, len, &run, Attrs::new()),
        }
    }
}

/// A board as people leave it: stickies in a few heaps, ink, arrows.
fn board(doc: &Doc, rng: &mut Rng) {
    let board = doc.get_or_insert_map("board");
    let mut txn = doc.transact_mut();
    let stickies = board.insert(&mut txn, "stickies", MapPrelim::default());
    let strokes = board.insert(&mut txn, "strokes", MapPrelim::default());
    let arrows = board.insert(&mut txn, "arrows", MapPrelim::default());
    let colors = ["yellow", "pink", "blue", "green", "orange", "purple"];
    let n = rng.range(20, 40);
    for i in 0..n {
        let heap = (i % 4) as f64;
        let s = stickies.insert(&mut txn, format!("s{i:03}"), MapPrelim::default());
        s.insert(
            &mut txn,
            "text",
            TextPrelim::new(capitalise(&sentence(rng, 3, 14))),
        );
        s.insert(
            &mut txn,
            "x",
            200.0 + heap * 900.0 + (rng.below(3) * 210) as f64,
        );
        s.insert(&mut txn, "y", 200.0 + (rng.below(8) * 210) as f64);
        s.insert(&mut txn, "color", colors[rng.below(colors.len())]);
        s.insert(&mut txn, "author", rng.pick(NAMES));
    }
    for i in 0..rng.range(10, 30) {
        let k = strokes.insert(&mut txn, format!("k{i:03}"), MapPrelim::default());
        let (mut x, mut y) = (rng.range(0, 3800) as f64, rng.range(0, 2800) as f64);
        let mut points = Vec::new();
        for _ in 0..rng.range(50, 250) {
            x = (x + rng.range(0, 20) as f64 - 10.0).clamp(0.0, 4000.0);
            y = (y + rng.range(0, 20) as f64 - 10.0).clamp(0.0, 3000.0);
            points.push(x);
            points.push(y);
        }
        let arr = k.insert(&mut txn, "points", ArrayPrelim::default());
        arr.insert_range(&mut txn, 0, points);
        k.insert(
            &mut txn,
            "width",
            if rng.below(4) == 0 { 24.0 } else { 4.0 },
        );
        k.insert(
            &mut txn,
            "tool",
            if rng.below(4) == 0 {
                "highlighter"
            } else {
                "pen"
            },
        );
        k.insert(&mut txn, "author", rng.pick(NAMES));
        k.insert(&mut txn, "done", true);
    }
    for i in 0..rng.range(3, 8) {
        let a = arrows.insert(&mut txn, format!("a{i:03}"), MapPrelim::default());
        a.insert(&mut txn, "from", format!("s{:03}", rng.below(n)));
        a.insert(&mut txn, "to", format!("s{:03}", rng.below(n)));
        a.insert(&mut txn, "author", rng.pick(NAMES));
    }
}

fn chart(rng: &mut Rng, client: u64, with_board: bool) -> ChartContent {
    let doc = Doc::with_client_id(client);
    if rng.below(15) == 0 {
        // ~7% of charts: nobody wrote anything.
        seed_template(&doc).unwrap();
        return ship(&doc);
    }
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        let h = el(&mut txn, &notes, "heading");
        h.insert_attribute(&mut txn, "level", 2i64);
        h.push_back(&mut txn, XmlTextPrelim::new("Key points"));
        for _ in 0..rng.range(2, 5) {
            rich_paragraph(&mut txn, &notes, rng);
        }
        let ul = el(&mut txn, &notes, "bulletList");
        for _ in 0..rng.range(2, 6) {
            let li = el(&mut txn, &ul, "listItem");
            let p = el(&mut txn, &li, "paragraph");
            p.push_back(&mut txn, XmlTextPrelim::new(sentence(rng, 4, 12)));
        }
        if rng.below(4) == 0 {
            let cb = el(&mut txn, &notes, "codeBlock");
            cb.push_back(&mut txn, XmlTextPrelim::new("make test && make deploy"));
        }
        let h = el(&mut txn, &notes, "heading");
        h.insert_attribute(&mut txn, "level", 2i64);
        h.push_back(&mut txn, XmlTextPrelim::new("Next steps"));
        let tl = el(&mut txn, &notes, "taskList");
        for _ in 0..rng.range(1, 5) {
            let item = el(&mut txn, &tl, "taskItem");
            item.insert_attribute(&mut txn, "checked", rng.below(3) == 0);
            let p = el(&mut txn, &item, "paragraph");
            p.push_back(&mut txn, XmlTextPrelim::new(sentence(rng, 4, 10)));
        }
    }
    let meta = doc.get_or_insert_map("meta");
    {
        let mut txn = doc.transact_mut();
        let arr = meta.insert(&mut txn, "participants", ArrayPrelim::default());
        for _ in 0..rng.range(3, 12) {
            arr.push_back(&mut txn, rng.pick(NAMES));
        }
    }
    if with_board {
        board(&doc, rng);
    }
    ship(&doc)
}

/// Encodes the doc as a v1 update, applies it to a fresh doc, reads it.
fn ship(doc: &Doc) -> ChartContent {
    let bytes = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let server = Doc::new();
    server
        .transact_mut()
        .apply_update(Update::decode_v1(&bytes).unwrap())
        .unwrap();
    read_chart(&server)
}

fn conference_input(charts: usize, boards: bool) -> ProceedingsInput {
    let mut rng = Rng(0x005E_ED0F_0BE4_5EA7);
    let (days, rounds) = (3usize, 5usize);
    let spaces = charts.div_ceil(days * rounds).max(1);
    let mut sessions = Vec::with_capacity(charts);
    for n in 0..charts {
        let day = n / (rounds * spaces);
        let round = (n / spaces) % rounds;
        let space = n % spaces;
        let hour = 9 + 2 * round;
        let content = chart(&mut rng, 1000 + n as u64, boards && n % 2 == 0);
        sessions.push(SessionInput {
            id: format!("s{n:04}"),
            topic: format!("{} {}", capitalise(&sentence(&mut rng, 2, 6)), n),
            convener: rng.pick(NAMES).to_string(),
            space: format!("Space {}", space + 1),
            round_label: format!("Round {} · {hour:02}:00", round + 1),
            day_label: format!("Day {} — {} Nov 2026", day + 1, 3 + day),
            round_index: round as u32,
            day_index: day as u32,
            space_index: space as u32,
            starts_local: format!("{} Nov {hour:02}:00", 3 + day),
            starts_utc: format!("2026-11-{:02}T{:02}:00:00Z", 3 + day, hour - 1),
            state: "held".into(),
            content,
            ..Default::default()
        });
    }
    ProceedingsInput {
        votes: None,
        conference: ConferenceInfo {
            id: "bench".into(),
            name: "Open Space Benchmark 2026".into(),
            description: "Three days, five rounds a day, every chart written.".into(),
            time_zone: "Europe/Berlin".into(),
            start_date: "2026-11-03".into(),
            end_date: "2026-11-05".into(),
        },
        sessions,
        ..Default::default()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    // Nearest rank.
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct Row {
    name: &'static str,
    runs: usize,
    bytes: usize,
    median: Duration,
    p99: Duration,
    baseline: Duration,
}

fn measure(
    name: &'static str,
    runs: usize,
    input: &ProceedingsInput,
    format: Option<Format>,
) -> Row {
    let mut times = Vec::with_capacity(runs);
    let mut base = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        // Baseline, then the format: side by side, same noise.
        let t = Instant::now();
        let model = Proceedings::build(input);
        let floor = serde_json::to_vec(&model).unwrap();
        base.push(t.elapsed());
        std::hint::black_box(floor);
        if let Some(format) = format {
            let t = Instant::now();
            let out = render(input, format).unwrap();
            times.push(t.elapsed());
            bytes = out.len();
            std::hint::black_box(out);
        }
    }
    if format.is_none() {
        times = base.clone();
    }
    times.sort();
    base.sort();
    Row {
        name,
        runs,
        bytes,
        median: quantile(&times, 0.5),
        p99: quantile(&times, 0.99),
        baseline: quantile(&base, 0.5),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let charts = env_usize("EASEL_BENCH_CHARTS", 300);
    let runs = env_usize("EASEL_BENCH_RUNS", 30);
    let pdf_runs = env_usize("EASEL_BENCH_PDF_RUNS", 5);
    let boards = env_usize("EASEL_BENCH_BOARDS", 1) != 0;

    let t = Instant::now();
    let input = conference_input(charts, boards);
    let built = t.elapsed();
    let model = Proceedings::build(&input);
    let notes_bytes: usize = input
        .sessions
        .iter()
        .map(|s| s.content.plain_text().len())
        .sum();
    println!(
        "{charts} charts written through yrs and read back in {} ms; \
         notes text {:.1} KB total ({:.2} KB/chart); {} action items; {} participants",
        ms(built),
        notes_bytes as f64 / 1024.0,
        notes_bytes as f64 / 1024.0 / charts.max(1) as f64,
        model.summary.action_items,
        model.summary.participants,
    );
    let with_board: Vec<_> = model.sessions().filter(|s| !s.board.is_empty()).collect();
    println!(
        "{} charts with a board: {} stickies, {} strokes, {} ink points, {} arrows",
        with_board.len(),
        with_board
            .iter()
            .map(|s| s.board.stickies.len())
            .sum::<usize>(),
        with_board
            .iter()
            .map(|s| s.board.strokes.len())
            .sum::<usize>(),
        with_board
            .iter()
            .flat_map(|s| &s.board.strokes)
            .map(|k| k.points.len() / 2)
            .sum::<usize>(),
        with_board
            .iter()
            .map(|s| s.board.arrows.len())
            .sum::<usize>(),
    );

    // Warm up (fonts, typst library, allocator).
    let _ = render(&input, Format::Markdown).unwrap();
    let _ = render(&input, Format::Pdf).unwrap();

    let rows = [
        measure("baseline (build + serde_json::to_vec)", runs, &input, None),
        measure("Markdown", runs, &input, Some(Format::Markdown)),
        measure("HTML", runs, &input, Some(Format::Html)),
        measure("JSON", runs, &input, Some(Format::Json)),
        measure("PDF", pdf_runs, &input, Some(Format::Pdf)),
    ];

    println!();
    println!("| format | runs | output | median (ms) | p99 (ms) | baseline median (ms) | ratio to baseline |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let size = if r.bytes == 0 {
            "—".to_string()
        } else {
            format!("{:.0} KB", r.bytes as f64 / 1024.0)
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1}× |",
            r.name,
            r.runs,
            size,
            ms(r.median),
            ms(r.p99),
            ms(r.baseline),
            r.median.as_secs_f64() / r.baseline.as_secs_f64()
        );
    }
    let text_total: Duration = rows[1..4].iter().map(|r| r.median).sum();
    println!();
    println!(
        "MD + HTML + JSON median total: {} ms (goal ≤ 1000 ms); PDF median: {} ms (goal ≤ 10000 ms)",
        ms(text_total),
        ms(rows[4].median)
    );
}
