//! Fixture conferences whose charts are written through real yrs
//! transactions (as a TipTap/y-prosemirror client would) and read back with
//! `easel_chart::read_chart`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use easel_chart::{read_chart, seed_template, ChartContent};
use easel_proceedings::{ConferenceInfo, ProceedingsInput, SessionInput};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, Map, ReadTxn, StateVector, Text, Transact, TransactionMut,
    Update, Xml, XmlElementPrelim, XmlElementRef, XmlFragment, XmlTextPrelim,
};

pub fn mark(name: &str) -> Attrs {
    Attrs::from([(Arc::from(name), Any::Map(Arc::new(HashMap::new())))])
}

pub fn link(href: &str) -> Attrs {
    let mut m = HashMap::new();
    m.insert("href".to_string(), Any::String(href.into()));
    Attrs::from([(Arc::from("link"), Any::Map(Arc::new(m)))])
}

pub fn el<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, tag: &str) -> XmlElementRef {
    parent.push_back(txn, XmlElementPrelim::empty(tag))
}

pub fn para<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, text: &str) -> XmlElementRef {
    let p = el(txn, parent, "paragraph");
    p.push_back(txn, XmlTextPrelim::new(text));
    p
}

pub fn heading<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, level: i64, text: &str) {
    let h = el(txn, parent, "heading");
    h.insert_attribute(txn, "level", level);
    h.push_back(txn, XmlTextPrelim::new(text));
}

pub fn task<P: XmlFragment>(
    txn: &mut TransactionMut,
    list: &P,
    done: bool,
    text: &str,
) -> XmlElementRef {
    let item = el(txn, list, "taskItem");
    item.insert_attribute(txn, "checked", done);
    para(txn, &item, text);
    item
}

pub fn participants(doc: &Doc, names: &[&str]) {
    let meta = doc.get_or_insert_map("meta");
    let mut txn = doc.transact_mut();
    let arr = meta.insert(&mut txn, "participants", ArrayPrelim::default());
    for n in names {
        arr.push_back(&mut txn, *n);
    }
}

/// Ships the doc as a v1 update to a fresh doc (like the server receiving it)
/// and reads the chart from there.
pub fn read_via_update(doc: &Doc) -> ChartContent {
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

fn chart_ideas() -> ChartContent {
    let doc = Doc::with_client_id(11);
    seed_template(&doc).unwrap();
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        // Fill the template's empty paragraph (index 1) and task (index 3).
        let key_para: XmlElementRef = notes.get(&txn, 1).unwrap().into_xml_element().unwrap();
        let text = key_para.push_back(&mut txn, XmlTextPrelim::new(""));
        text.insert(&mut txn, 0, "Café culture needs ");
        let len = text.len(&txn);
        text.insert_with_attributes(&mut txn, len, "fewer slides", mark("bold"));
        let len = text.len(&txn);
        text.insert_with_attributes(
            &mut txn,
            len,
            " and ",
            Attrs::from([(Arc::from("bold"), Any::Null)]),
        );
        let len = text.len(&txn);
        text.insert_with_attributes(&mut txn, len, "more talk", mark("italic"));
        let len = text.len(&txn);
        text.insert_with_attributes(
            &mut txn,
            len,
            ". See ",
            Attrs::from([(Arc::from("italic"), Any::Null)]),
        );
        let len = text.len(&txn);
        text.insert_with_attributes(
            &mut txn,
            len,
            "the wiki",
            link("https://wiki.example.org/open-space?x=1&y=2"),
        );
        key_para.push_back(&mut txn, XmlElementPrelim::empty("hardBreak"));
        let t2 = key_para.push_back(&mut txn, XmlTextPrelim::new("Run "));
        t2.insert_with_attributes(&mut txn, 4, "cargo test", mark("code"));
        t2.insert_with_attributes(
            &mut txn,
            14,
            " often, ",
            Attrs::from([(Arc::from("code"), Any::Null)]),
        );
        let len = t2.len(&txn);
        t2.insert_with_attributes(&mut txn, len, "never", mark("strike"));
        let len = t2.len(&txn);
        t2.insert_with_attributes(
            &mut txn,
            len,
            " rarely; ",
            Attrs::from([(Arc::from("strike"), Any::Null)]),
        );
        let len = t2.len(&txn);
        t2.insert_with_attributes(&mut txn, len, "this matters", mark("highlight"));

        let tasks: XmlElementRef = notes.get(&txn, 3).unwrap().into_xml_element().unwrap();
        let first: XmlElementRef = tasks.get(&txn, 0).unwrap().into_xml_element().unwrap();
        let p: XmlElementRef = first.get(&txn, 0).unwrap().into_xml_element().unwrap();
        p.push_back(&mut txn, XmlTextPrelim::new("Share slides with the group"));
        first.insert_attribute(&mut txn, "checked", true);
        let second = task(&mut txn, &tasks, false, "Plan a follow-up session");
        let nested = el(&mut txn, &second, "taskList");
        task(&mut txn, &nested, false, "Ask María for a room");

        let ul = el(&mut txn, &notes, "bulletList");
        let li = el(&mut txn, &ul, "listItem");
        para(&mut txn, &li, "Ελληνικά: καλημέρα");
        let li = el(&mut txn, &ul, "listItem");
        para(&mut txn, &li, "Кириллица: привет");
        let ol = el(&mut txn, &notes, "orderedList");
        ol.insert_attribute(&mut txn, "start", 2i64);
        let li = el(&mut txn, &ol, "listItem");
        para(&mut txn, &li, "second");
        let bq = el(&mut txn, &notes, "blockquote");
        para(&mut txn, &bq, "Whoever comes are the right people.");
        let cb = el(&mut txn, &notes, "codeBlock");
        cb.insert_attribute(&mut txn, "language", "rust");
        cb.push_back(
            &mut txn,
            XmlTextPrelim::new("fn main() {\n    println!(\"hi\");\n}"),
        );
        el(&mut txn, &notes, "horizontalRule");
    }
    participants(&doc, &["María José", "Ζωή", "Дмитрий", "Ada"]);
    read_via_update(&doc)
}

fn chart_short() -> ChartContent {
    let doc = Doc::with_client_id(12);
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        heading(&mut txn, &notes, 2, "Outcome");
        para(&mut txn, &notes, "We agreed to meet again.");
        let tl = el(&mut txn, &notes, "taskList");
        task(&mut txn, &tl, true, "Send summary mail");
    }
    participants(&doc, &["ada", "Grace"]);
    read_via_update(&doc)
}

fn chart_template_only() -> ChartContent {
    let doc = Doc::with_client_id(13);
    seed_template(&doc).unwrap();
    read_via_update(&doc)
}

pub fn conference() -> ConferenceInfo {
    ConferenceInfo {
        id: "osc-2026".into(),
        name: "Open Space Καλοκαίρι 2026".into(),
        description: "Two days of self-organised sessions in Thessaloniki.".into(),
        time_zone: "Europe/Athens".into(),
        start_date: "2026-11-03".into(),
        end_date: "2026-11-04".into(),
    }
}

pub fn session(
    id: &str,
    day: u32,
    round: u32,
    space: u32,
    topic: &str,
    content: ChartContent,
) -> SessionInput {
    let day_label = if day == 0 {
        "Day 1 — Tue 3 Nov 2026"
    } else {
        "Day 2 — Wed 4 Nov 2026"
    };
    let hour = 9 + 2 * round;
    SessionInput {
        id: id.into(),
        topic: topic.into(),
        convener: ["María José", "Dmitri", "María José"][(space as usize) % 3].into(),
        space: ["Garden", "Λέσχη", "Room Ж"][(space as usize) % 3].into(),
        round_label: format!("Round {} · {hour:02}:00", round + 1),
        day_label: day_label.into(),
        round_index: round,
        day_index: day,
        space_index: space,
        starts_local: format!(
            "{} {hour:02}:00",
            if day == 0 { "Tue 3 Nov" } else { "Wed 4 Nov" }
        ),
        starts_utc: format!("2026-11-0{}T{:02}:00:00Z", 3 + day, hour - 2),
        state: "held".into(),
        content,
        ..Default::default()
    }
}

/// The golden fixture; sessions deliberately out of agenda order.
pub fn fixture() -> ProceedingsInput {
    ProceedingsInput {
        votes: None,
        conference: conference(),
        sessions: vec![
            session(
                "s-empty",
                1,
                0,
                0,
                "Nobody wrote here",
                chart_template_only(),
            ),
            session("s-short", 0, 0, 1, "Meeting culture", chart_short()),
            session("s-ideas", 0, 0, 0, "Better conferences", chart_ideas()),
            session(
                "s-later",
                0,
                1,
                2,
                "Afternoon talk",
                ChartContent::default(),
            ),
        ],
        ..Default::default()
    }
}

fn chart_with(text: &str, tasks: &[&str], names: &[&str]) -> ChartContent {
    let doc = Doc::with_client_id(21);
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        para(&mut txn, &notes, text);
        let list = el(&mut txn, &notes, "taskList");
        for t in tasks {
            task(&mut txn, &list, false, t);
        }
    }
    participants(&doc, names);
    read_via_update(&doc)
}

/// Circles, continuations, owners and due dates: an opening circle, two
/// cohorts of one topic (the second continues the first) and a closing
/// circle, given out of order.
pub fn circles_fixture() -> ProceedingsInput {
    use easel_proceedings::{LinkedSession, SessionKind};
    let circle = |id: &str, day, round, kind, topic: &str, content| {
        let mut s = session(id, day, round, 0, topic, content);
        s.kind = kind;
        s.convener = String::new();
        s.space = String::new();
        s.state = String::new();
        s.chart_id = format!("c-{id}");
        s
    };
    let link = |id: &str, topic: &str| LinkedSession {
        id: id.into(),
        topic: topic.into(),
    };
    let mut europe = session(
        "s-eu",
        0,
        1,
        1,
        "Async retros (Europe)",
        chart_with(
            "Retros work across zones",
            &["Write it up @Ana_Lima by 2026-11-20"],
            &["Ana Lima", "Bo"],
        ),
    );
    europe.chart_id = "c-eu".into();
    europe.continued_in = vec![link("s-am", "Async retros (Americas)")];
    let mut americas = session(
        "s-am",
        1,
        0,
        1,
        "Async retros (Americas)",
        chart_with(
            "Picked up from Europe",
            &["Try it for a month @Carla due 2026-12-15"],
            &["Carla"],
        ),
    );
    americas.chart_id = "c-am".into();
    americas.continues = Some(link("s-eu", "Async retros (Europe)"));
    ProceedingsInput {
        conference: conference(),
        sessions: vec![
            circle(
                "circle-close",
                1,
                1,
                SessionKind::ClosingCircle,
                "Closing circle",
                chart_with(
                    "News: two working groups formed",
                    &["Publish the proceedings @Vera due 2026-11-30"],
                    &[],
                ),
            ),
            americas,
            circle(
                "circle-open",
                0,
                0,
                SessionKind::OpeningCircle,
                "Opening circle: Marketplace",
                chart_with(
                    "Framing: whoever comes are the right people",
                    &["Find next year's venue"],
                    &[],
                ),
            ),
            europe,
        ],
        ..Default::default()
    }
}

/// Marker appended to every user field of the hostile fixture.
pub const EVIL: &str = "<script>alert(1)</script> *_[]()#>`| &amp; &lt; javascript:alert(1)";

pub fn evil(field: &str) -> String {
    format!("{field}{EVIL}")
}

/// A conference with hostile content in every user field.
pub fn hostile() -> ProceedingsInput {
    let doc = Doc::with_client_id(66);
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        heading(&mut txn, &notes, 1, &evil("heading"));
        let p = para(&mut txn, &notes, &evil("note"));
        let t = p.push_back(&mut txn, XmlTextPrelim::new(""));
        t.insert_with_attributes(&mut txn, 0, &evil("jslink"), link("javascript:alert(1)"));
        let t = p.push_back(&mut txn, XmlTextPrelim::new(""));
        t.insert_with_attributes(
            &mut txn,
            0,
            &evil("datalink"),
            link("data:text/html,<script>alert(1)</script>"),
        );
        let t = p.push_back(&mut txn, XmlTextPrelim::new(""));
        t.insert_with_attributes(
            &mut txn,
            0,
            &evil("oklink"),
            link("https://ok.example/?q=\"><script>alert(1)</script>&amp;x=`|"),
        );
        let t = p.push_back(&mut txn, XmlTextPrelim::new(""));
        t.insert_with_attributes(&mut txn, 0, &evil("bold"), mark("bold"));
        let tl = el(&mut txn, &notes, "taskList");
        task(&mut txn, &tl, false, &evil("task"));
        let unknown = el(&mut txn, &notes, "script");
        unknown.push_back(&mut txn, XmlTextPrelim::new(evil("unknown")));
    }
    participants(&doc, &[&evil("participant")]);
    let content = read_via_update(&doc);
    ProceedingsInput {
        votes: None,
        conference: ConferenceInfo {
            id: evil("confid"),
            name: evil("name"),
            description: evil("description"),
            time_zone: evil("tz"),
            start_date: evil("start"),
            end_date: evil("end"),
        },
        sessions: vec![SessionInput {
            id: evil("sid"),
            topic: evil("topic"),
            convener: evil("convener"),
            space: evil("space"),
            round_label: evil("round"),
            day_label: evil("day"),
            round_index: 0,
            day_index: 0,
            space_index: 0,
            starts_local: evil("local"),
            starts_utc: evil("utc"),
            state: evil("state"),
            content,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Every hostile user string that must appear (escaped) in the human-readable
/// outputs.
pub fn hostile_fields() -> Vec<String> {
    [
        "name",
        "description",
        "tz",
        "start",
        "end",
        "topic",
        "convener",
        "space",
        "round",
        "day",
        "local",
        "state",
        "participant",
        "heading",
        "note",
        "jslink",
        "datalink",
        "oklink",
        "bold",
        "task",
        "unknown",
    ]
    .iter()
    .map(|f| evil(f))
    .collect()
}

/// A chart whose task items carry `actionId`s, as the web client writes
/// them: `(id, text, done)`.
pub fn chart_with_actions(client: u64, actions: &[(&str, &str, bool)]) -> ChartContent {
    let doc = Doc::with_client_id(client);
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        para(&mut txn, &notes, "Notes.");
        let tl = el(&mut txn, &notes, "taskList");
        for (id, text, done) in actions {
            let item = task(&mut txn, &tl, *done, text);
            item.insert_attribute(&mut txn, easel_chart::ACTION_ID, *id);
        }
    }
    read_via_update(&doc)
}

/// A conference after a convergence phase: three voters' dots on
/// sessions and action items, with a tie, an unvoted session and a dot on
/// an action item that was since deleted from its chart.
pub fn voted() -> ProceedingsInput {
    let mut sessions = BTreeMap::new();
    sessions.insert("s-b".to_owned(), 3);
    sessions.insert("s-c".to_owned(), 3);
    sessions.insert("s-a".to_owned(), 1);
    let mut items = BTreeMap::new();
    items.insert(
        "s-c".to_owned(),
        BTreeMap::from([
            ("a-1".to_owned(), 1),
            ("a-2".to_owned(), 2),
            ("a-3".to_owned(), 1),
            ("a-4".to_owned(), 1),
            ("a-gone".to_owned(), 5),
        ]),
    );
    items.insert("s-a".to_owned(), BTreeMap::from([("x-1".to_owned(), 2)]));
    ProceedingsInput {
        votes: Some(easel_proceedings::VotesInput {
            sessions,
            items,
            voters: 3,
        }),
        conference: conference(),
        sessions: vec![
            session(
                "s-a",
                0,
                0,
                0,
                "Remote-first <teams>",
                chart_with_actions(21, &[("x-1", "Write the *remote* guide", false)]),
            ),
            session(
                "s-b",
                0,
                0,
                1,
                "Meeting culture",
                chart_with_actions(22, &[("b-1", "Nobody voted for this", false)]),
            ),
            session(
                "s-c",
                0,
                1,
                0,
                "Better conferences",
                chart_with_actions(
                    23,
                    &[
                        ("a-1", "Share slides", true),
                        ("a-2", "Plan a follow-up", false),
                        ("a-3", "Book a room", false),
                        ("a-4", "Fourth & least", false),
                    ],
                ),
            ),
            session("s-d", 1, 0, 0, "Nobody voted", chart_with_actions(24, &[])),
        ],
        ..Default::default()
    }
}
