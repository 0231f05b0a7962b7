//! Reading charts written the way real clients write them.

use std::collections::HashMap;
use std::sync::Arc;

use easel_chart::{read_chart, ActionItem, Block, ChartContent, Inline, ListItem, Marks, TaskItem};
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Doc, Map, ReadTxn, StateVector, Text, Transact,
    TransactionMut, Update, Xml, XmlElementPrelim, XmlElementRef, XmlFragment, XmlTextPrelim,
};

fn attrs(pairs: &[(&str, Any)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (Arc::<str>::from(*k), v.clone()))
        .collect()
}

fn on() -> Any {
    Any::Map(Arc::new(HashMap::new()))
}

fn link(href: &str) -> Any {
    let mut m = HashMap::new();
    m.insert("href".to_string(), Any::String(href.into()));
    m.insert("target".to_string(), Any::String("_blank".into()));
    Any::Map(Arc::new(m))
}

fn el<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, tag: &str) -> XmlElementRef {
    parent.push_back(txn, XmlElementPrelim::empty(tag))
}

fn para_text<P: XmlFragment>(txn: &mut TransactionMut, parent: &P, text: &str) -> XmlElementRef {
    let p = el(txn, parent, "paragraph");
    p.push_back(txn, XmlTextPrelim::new(text));
    p
}

fn t(text: &str) -> Inline {
    Inline::Text {
        text: text.into(),
        marks: Marks::default(),
    }
}

fn tm(text: &str, marks: Marks) -> Inline {
    Inline::Text {
        text: text.into(),
        marks,
    }
}

fn p(text: &str) -> Block {
    Block::Paragraph {
        inlines: vec![t(text)],
    }
}

fn reencode(doc: &Doc) -> Doc {
    let update = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let fresh = Doc::new();
    fresh
        .transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
    fresh
}

/// A chart using every node type and every mark, written through yrs
/// transactions like a y-prosemirror client.
fn full_doc() -> Doc {
    let doc = Doc::with_client_id(7);
    let notes = doc.get_or_insert_xml_fragment("notes");
    let meta = doc.get_or_insert_map("meta");
    let mut txn = doc.transact_mut();

    let h = el(&mut txn, &notes, "heading");
    h.insert_attribute(&mut txn, "level", 1i64);
    h.push_back(&mut txn, XmlTextPrelim::new("Title"));

    let h = el(&mut txn, &notes, "heading");
    h.insert_attribute(&mut txn, "level", "3");
    h.push_back(&mut txn, XmlTextPrelim::new("Sub"));

    let para = el(&mut txn, &notes, "paragraph");
    let text = para.push_back(&mut txn, XmlTextPrelim::new(""));
    text.insert(&mut txn, 0, "plain ");
    text.insert_with_attributes(&mut txn, 6, "bold", attrs(&[("bold", on())]));
    // like y-prosemirror, explicitly unset the mark to the left
    text.insert_with_attributes(
        &mut txn,
        10,
        " italic strike code mark ",
        attrs(&[("bold", Any::Null)]),
    );
    // italic 11..17, strike 18..24, code 25..29, highlight 30..34
    text.format(&mut txn, 11, 6, attrs(&[("italic", on())]));
    text.format(&mut txn, 18, 6, attrs(&[("strike", on())]));
    text.format(&mut txn, 25, 4, attrs(&[("code", on())]));
    text.format(&mut txn, 30, 4, attrs(&[("highlight", on())]));
    let len = text.len(&txn);
    text.insert_with_attributes(
        &mut txn,
        len,
        "site",
        attrs(&[("link", link("https://example.org/x"))]),
    );
    para.push_back(&mut txn, XmlElementPrelim::empty("hardBreak"));
    para.push_back(&mut txn, XmlTextPrelim::new("after break"));

    let ul = el(&mut txn, &notes, "bulletList");
    let li = el(&mut txn, &ul, "listItem");
    para_text(&mut txn, &li, "one");
    let li = el(&mut txn, &ul, "listItem");
    para_text(&mut txn, &li, "two");
    let inner = el(&mut txn, &li, "bulletList");
    let li = el(&mut txn, &inner, "listItem");
    para_text(&mut txn, &li, "two.a");

    let ol = el(&mut txn, &notes, "orderedList");
    ol.insert_attribute(&mut txn, "start", 3i64);
    let li = el(&mut txn, &ol, "listItem");
    para_text(&mut txn, &li, "three");

    let tl = el(&mut txn, &notes, "taskList");
    let ti = el(&mut txn, &tl, "taskItem");
    ti.insert_attribute(&mut txn, "checked", true);
    para_text(&mut txn, &ti, "done thing");
    let ti = el(&mut txn, &tl, "taskItem");
    ti.insert_attribute(&mut txn, "checked", "true");
    para_text(&mut txn, &ti, "done as string");
    let ti = el(&mut txn, &tl, "taskItem");
    ti.insert_attribute(&mut txn, "checked", false);
    para_text(&mut txn, &ti, "open thing");
    let nested = el(&mut txn, &ti, "taskList");
    let nti = el(&mut txn, &nested, "taskItem");
    nti.insert_attribute(&mut txn, "checked", "false");
    para_text(&mut txn, &nti, "nested open");

    let bq = el(&mut txn, &notes, "blockquote");
    para_text(&mut txn, &bq, "quoted");

    let cb = el(&mut txn, &notes, "codeBlock");
    cb.insert_attribute(&mut txn, "language", "rust");
    cb.push_back(&mut txn, XmlTextPrelim::new("fn main() {}\n"));

    el(&mut txn, &notes, "horizontalRule");

    let unknown = el(&mut txn, &notes, "callout");
    para_text(&mut txn, &unknown, "from a newer client");

    let participants = meta.insert(&mut txn, "participants", ArrayPrelim::default());
    participants.push_back(&mut txn, "Ada");
    participants.push_back(&mut txn, " Grace ");
    participants.push_back(&mut txn, "Ada");
    participants.push_back(&mut txn, "");
    drop(txn);
    doc
}

fn full_expected() -> ChartContent {
    let bold = Marks {
        bold: true,
        ..Marks::default()
    };
    ChartContent {
        blocks: vec![
            Block::Heading {
                level: 1,
                inlines: vec![t("Title")],
            },
            Block::Heading {
                level: 3,
                inlines: vec![t("Sub")],
            },
            Block::Paragraph {
                inlines: vec![
                    t("plain "),
                    tm("bold", bold),
                    t(" "),
                    tm(
                        "italic",
                        Marks {
                            italic: true,
                            ..Marks::default()
                        },
                    ),
                    t(" "),
                    tm(
                        "strike",
                        Marks {
                            strike: true,
                            ..Marks::default()
                        },
                    ),
                    t(" "),
                    tm(
                        "code",
                        Marks {
                            code: true,
                            ..Marks::default()
                        },
                    ),
                    t(" "),
                    tm(
                        "mark",
                        Marks {
                            highlight: true,
                            ..Marks::default()
                        },
                    ),
                    t(" "),
                    tm(
                        "site",
                        Marks {
                            link: Some("https://example.org/x".into()),
                            ..Marks::default()
                        },
                    ),
                    Inline::HardBreak,
                    t("after break"),
                ],
            },
            Block::BulletList {
                items: vec![
                    ListItem {
                        blocks: vec![p("one")],
                    },
                    ListItem {
                        blocks: vec![
                            p("two"),
                            Block::BulletList {
                                items: vec![ListItem {
                                    blocks: vec![p("two.a")],
                                }],
                            },
                        ],
                    },
                ],
            },
            Block::OrderedList {
                start: 3,
                items: vec![ListItem {
                    blocks: vec![p("three")],
                }],
            },
            Block::TaskList {
                items: vec![
                    TaskItem {
                        id: None,
                        done: true,
                        blocks: vec![p("done thing")],
                    },
                    TaskItem {
                        id: None,
                        done: true,
                        blocks: vec![p("done as string")],
                    },
                    TaskItem {
                        id: None,
                        done: false,
                        blocks: vec![
                            p("open thing"),
                            Block::TaskList {
                                items: vec![TaskItem {
                                    id: None,
                                    done: false,
                                    blocks: vec![p("nested open")],
                                }],
                            },
                        ],
                    },
                ],
            },
            Block::Blockquote {
                blocks: vec![p("quoted")],
            },
            Block::CodeBlock {
                language: Some("rust".into()),
                text: "fn main() {}\n".into(),
            },
            Block::HorizontalRule,
            Block::Unknown {
                name: "callout".into(),
                text: "from a newer client".into(),
            },
        ],
        participants: vec!["Ada".into(), "Grace".into()],
        board: Default::default(),
    }
}

#[test]
fn every_node_and_mark_via_transactions() {
    let doc = full_doc();
    assert_eq!(read_chart(&doc), full_expected());
}

#[test]
fn every_node_and_mark_via_v1_update() {
    let doc = reencode(&full_doc());
    assert_eq!(read_chart(&doc), full_expected());
}

#[test]
fn action_items_include_nested() {
    let content = read_chart(&full_doc());
    assert_eq!(
        content.action_items(),
        vec![
            ActionItem {
                id: None,
                text: "done thing".into(),
                done: true,
                owner: None,
                due: None,
            },
            ActionItem {
                id: None,
                text: "done as string".into(),
                done: true,
                owner: None,
                due: None,
            },
            ActionItem {
                id: None,
                text: "open thing".into(),
                done: false,
                owner: None,
                due: None,
            },
            ActionItem {
                id: None,
                text: "nested open".into(),
                done: false,
                owner: None,
                due: None,
            },
        ]
    );
    assert!(!content.is_blank());
}

#[test]
fn empty_doc_is_empty_and_blank() {
    let doc = Doc::new();
    let c = read_chart(&doc);
    assert_eq!(c, ChartContent::default());
    assert!(c.is_blank());
}

/// Bytes produced by Yjs 13 (JavaScript), written like TipTap +
/// y-prosemirror do; see `fixtures/gen_yjs_fixture.cjs`.
#[test]
fn reads_a_chart_written_by_yjs_js() {
    let bytes = include_bytes!("fixtures/yjs_client.bin");
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(bytes).unwrap())
        .unwrap();
    let c = read_chart(&doc);
    insta::assert_json_snapshot!(c);
    assert_eq!(c.participants, vec!["Zoë", "Дмитрий"]);
    assert_eq!(
        c.action_items(),
        vec![
            ActionItem {
                id: None,
                text: "Book the room".into(),
                done: true,
                owner: None,
                due: None,
            },
            ActionItem {
                id: None,
                text: "Write <script>alert(1)</script> up".into(),
                done: false,
                owner: None,
                due: None,
            },
            ActionItem {
                id: None,
                text: "Nested step".into(),
                done: false,
                owner: None,
                due: None,
            },
        ]
    );
}

#[test]
fn hostile_text_is_preserved_verbatim() {
    let doc = Doc::new();
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        let p = el(&mut txn, &notes, "paragraph");
        let text = p.push_back(
            &mut txn,
            XmlTextPrelim::new("<script>alert(1)</script> &amp; *_[]()#>`|"),
        );
        let len = text.len(&txn);
        text.insert_with_attributes(
            &mut txn,
            len,
            "click",
            attrs(&[("link", link("javascript:alert(1)"))]),
        );
    }
    let c = read_chart(&reencode(&doc));
    assert_eq!(
        c.blocks,
        vec![Block::Paragraph {
            inlines: vec![
                t("<script>alert(1)</script> &amp; *_[]()#>`|"),
                tm(
                    "click",
                    Marks {
                        link: Some("javascript:alert(1)".into()),
                        ..Marks::default()
                    }
                ),
            ]
        }]
    );
}

#[test]
fn odd_attribute_values_are_tolerated() {
    let doc = Doc::new();
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        for level in [
            Any::from(99i64),
            Any::from("abc"),
            Any::from(2.0f64),
            Any::Null,
        ] {
            let h = el(&mut txn, &notes, "heading");
            h.insert_attribute(&mut txn, "level", level);
            h.push_back(&mut txn, XmlTextPrelim::new("h"));
        }
        let tl = el(&mut txn, &notes, "task_list");
        let ti = el(&mut txn, &tl, "task_item");
        ti.insert_attribute(&mut txn, "checked", 1i64);
        para_text(&mut txn, &ti, "snake case works");
        // marks with null/false values are unset; `--hash` suffixes are stripped
        let p = el(&mut txn, &notes, "paragraph");
        let text = p.push_back(&mut txn, XmlTextPrelim::new(""));
        text.insert_with_attributes(
            &mut txn,
            0,
            "x",
            attrs(&[
                ("bold", Any::Null),
                ("italic", Any::Bool(false)),
                ("strike--abc", on()),
            ]),
        );
    }
    let c = read_chart(&doc);
    let levels: Vec<u8> = c
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, .. } => Some(*level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, vec![6, 1, 2, 1]);
    assert_eq!(
        c.action_items(),
        vec![ActionItem {
            id: None,
            text: "snake case works".into(),
            done: true,
            owner: None,
            due: None,
        }]
    );
    assert_eq!(
        c.blocks.last(),
        Some(&Block::Paragraph {
            inlines: vec![tm(
                "x",
                Marks {
                    strike: true,
                    ..Marks::default()
                }
            )]
        })
    );
}

#[test]
fn loose_content_and_wrong_root_types_do_not_panic() {
    // Text directly in the fragment, raw values pushed through the array view.
    let doc = Doc::new();
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        notes.push_back(&mut txn, XmlTextPrelim::new("loose text"));
        let arr: &ArrayRef = notes.as_ref();
        arr.push_back(&mut txn, "raw string");
        arr.push_back(&mut txn, 42i64);
        let ul = el(&mut txn, &notes, "bulletList");
        ul.push_back(&mut txn, XmlTextPrelim::new("text in a list"));
        el(&mut txn, &ul, "paragraph");
    }
    let c = read_chart(&reencode(&doc));
    assert_eq!(c.blocks[0], p("loose textraw string42"));

    // `notes` written as a Y.Text, `meta` as a Y.Array.
    let doc = Doc::new();
    let text = doc.get_or_insert_text("notes");
    let meta = doc.get_or_insert_array("meta");
    {
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "hello");
        meta.push_back(&mut txn, "x");
    }
    let _ = read_chart(&reencode(&doc));

    // `notes` as a map, participants as a plain JSON array / a number.
    let doc = Doc::new();
    let notes = doc.get_or_insert_map("notes");
    let meta = doc.get_or_insert_map("meta");
    {
        let mut txn = doc.transact_mut();
        notes.insert(&mut txn, "a", "b");
        meta.insert(
            &mut txn,
            "participants",
            Any::Array(vec![Any::from("Ana"), Any::from(3i64)].into()),
        );
    }
    let c = read_chart(&reencode(&doc));
    assert!(c.blocks.is_empty());
    assert_eq!(c.participants, vec!["Ana"]);

    let doc = Doc::new();
    let meta = doc.get_or_insert_map("meta");
    meta.insert(&mut doc.transact_mut(), "participants", 12i64);
    assert!(read_chart(&doc).participants.is_empty());
}

#[test]
fn deep_nesting_does_not_overflow() {
    let doc = Doc::new();
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        let mut cur = el(&mut txn, &notes, "blockquote");
        for _ in 0..500 {
            cur = el(&mut txn, &cur, "blockquote");
        }
        para_text(&mut txn, &cur, "deep");
    }
    let c = read_chart(&doc);
    assert_eq!(c.blocks.len(), 1);
}

#[test]
fn serde_round_trip() {
    let c = read_chart(&full_doc());
    let json = serde_json::to_string(&c).unwrap();
    let back: ChartContent = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
}

/// The pycrdt example from `docs/chart-schema.md`
/// (`fixtures/gen_pycrdt_fixture.py`).
#[test]
fn reads_the_documented_pycrdt_example() {
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(include_bytes!("fixtures/pycrdt_example.bin")).unwrap())
        .unwrap();
    let c = read_chart(&doc);
    assert_eq!(
        c.blocks,
        vec![
            Block::Heading {
                level: 2,
                inlines: vec![t("Key points")]
            },
            Block::Paragraph {
                inlines: vec![
                    t("Whoever comes are "),
                    tm(
                        "the right people",
                        Marks {
                            bold: true,
                            ..Marks::default()
                        }
                    )
                ]
            },
            Block::TaskList {
                items: vec![TaskItem {
                    id: None,
                    done: false,
                    blocks: vec![p("Send the summary")]
                }]
            },
        ]
    );
    assert_eq!(c.participants, vec!["Ada", "Grace"]);
}

/// An action item's `actionId` is its identity for votes: read as written,
/// kept when other parts of the chart (or the item's text) change, and
/// ignored when it is not a valid id.
#[test]
fn action_ids_survive_edits_elsewhere() {
    let doc = Doc::with_client_id(7);
    let notes = doc.get_or_insert_xml_fragment("notes");
    let (first, item) = {
        let mut txn = doc.transact_mut();
        let first = para_text(&mut txn, &notes, "Intro");
        let list = el(&mut txn, &notes, "taskList");
        let item = el(&mut txn, &list, "taskItem");
        item.insert_attribute(&mut txn, "actionId", "a-0123456789abcdef");
        para_text(&mut txn, &item, "Write the guide");
        let bad = el(&mut txn, &list, "taskItem");
        bad.insert_attribute(&mut txn, "actionId", "<script>");
        para_text(&mut txn, &bad, "Bad id");
        (first, item)
    };
    let ids = |doc: &Doc| -> Vec<(Option<String>, String)> {
        read_chart(doc)
            .action_items()
            .into_iter()
            .map(|a| (a.id, a.text))
            .collect()
    };
    let want = vec![
        (
            Some("a-0123456789abcdef".to_owned()),
            "Write the guide".to_owned(),
        ),
        (None, "Bad id".to_owned()),
    ];
    assert_eq!(ids(&doc), want);
    {
        let mut txn = doc.transact_mut();
        // Text added before the list, a paragraph inserted above, the
        // item's own text edited: the id stays.
        let text = first.get(&txn, 0).unwrap().into_xml_text().unwrap();
        text.insert(&mut txn, 0, "New: ");
        notes.insert(&mut txn, 0, XmlElementPrelim::empty("paragraph"));
        let p = item.get(&txn, 0).unwrap().into_xml_element().unwrap();
        let t = p.get(&txn, 0).unwrap().into_xml_text().unwrap();
        t.push(&mut txn, " today");
    }
    let after = ids(&doc);
    assert_eq!(after[0].0.as_deref(), Some("a-0123456789abcdef"));
    assert_eq!(after[0].1, "Write the guide today");
}
