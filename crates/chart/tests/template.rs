//! The report template: content, determinism and idempotence.

use easel_chart::{read_chart, seed_template, template_update, Block, ChartContent, Inline};
use yrs::updates::decoder::Decode;
use yrs::{
    Array, ArrayPrelim, Doc, Map, ReadTxn, StateVector, Transact, Update, XmlFragment,
    XmlTextPrelim,
};

fn apply(doc: &Doc, bytes: &[u8]) {
    doc.transact_mut()
        .apply_update(Update::decode_v1(bytes).unwrap())
        .unwrap();
}

fn heading(text: &str) -> Block {
    Block::Heading {
        level: 2,
        inlines: vec![Inline::Text {
            text: text.into(),
            marks: Default::default(),
        }],
    }
}

fn expected_template() -> ChartContent {
    ChartContent {
        blocks: vec![
            heading("Key points"),
            Block::Paragraph { inlines: vec![] },
            heading("Next steps"),
            Block::TaskList {
                items: vec![easel_chart::TaskItem {
                    id: None,
                    done: false,
                    blocks: vec![Block::Paragraph { inlines: vec![] }],
                }],
            },
        ],
        participants: vec![],
        board: Default::default(),
    }
}

#[test]
fn template_content() {
    let doc = Doc::new();
    assert!(seed_template(&doc).unwrap());
    let c = read_chart(&doc);
    assert_eq!(c, expected_template());
    assert!(c.is_blank());
    assert!(c.action_items().is_empty());
    let meta = doc.get_or_insert_map("meta");
    let txn = doc.transact();
    assert!(matches!(
        meta.get(&txn, "participants"),
        Some(yrs::Out::YArray(_))
    ));
}

#[test]
fn template_update_is_deterministic() {
    assert_eq!(template_update(), template_update());
    let hex: String = template_update()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Changing these bytes changes struct ids: charts seeded by old and new
    // builds would then show the template twice.
    insta::assert_snapshot!(hex);
}

#[test]
fn applying_twice_yields_template_once() {
    let doc = Doc::new();
    apply(&doc, &template_update());
    apply(&doc, &template_update());
    assert_eq!(read_chart(&doc), expected_template());
}

#[test]
fn seeding_two_replicas_then_syncing_does_not_duplicate() {
    let a = Doc::new();
    let b = Doc::new();
    seed_template(&a).unwrap();
    seed_template(&b).unwrap();
    let ua = a
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let ub = b
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    apply(&a, &ub);
    apply(&b, &ua);
    assert_eq!(read_chart(&a), expected_template());
    assert_eq!(read_chart(&b), expected_template());
}

#[test]
fn seeding_keeps_existing_notes() {
    let doc = Doc::new();
    let notes = doc.get_or_insert_xml_fragment("notes");
    notes.push_back(&mut doc.transact_mut(), XmlTextPrelim::new("already here"));
    assert!(!seed_template(&doc).unwrap());
    assert_eq!(read_chart(&doc).blocks.len(), 1);
}

#[test]
fn seeding_keeps_existing_participants() {
    let doc = Doc::with_client_id(987_654);
    let meta = doc.get_or_insert_map("meta");
    {
        let mut txn = doc.transact_mut();
        let arr = meta.insert(&mut txn, "participants", ArrayPrelim::default());
        arr.push_back(&mut txn, "Ada");
    }
    assert!(seed_template(&doc).unwrap());
    let c = read_chart(&doc);
    assert_eq!(c.participants, vec!["Ada"]);
    assert_eq!(c.blocks, expected_template().blocks);
}

#[test]
fn reseeding_after_user_deleted_template_does_not_resurrect_it() {
    let doc = Doc::new();
    seed_template(&doc).unwrap();
    let notes = doc.get_or_insert_xml_fragment("notes");
    {
        let mut txn = doc.transact_mut();
        let len = notes.len(&txn);
        notes.remove_range(&mut txn, 0, len);
    }
    seed_template(&doc).unwrap();
    assert!(read_chart(&doc).blocks.is_empty());
}

mod report_templates {
    use easel_chart::{
        read_chart, seed_template_with, Block, ReportTemplate, SectionKind, TemplateError,
        TemplateLimits, TemplateSection,
    };
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, ReadTxn, Transact, Update};

    const LIMITS: TemplateLimits = TemplateLimits {
        max_sections: 50,
        max_heading_chars: 200,
    };

    fn headings(doc: &Doc) -> Vec<String> {
        read_chart(doc)
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { inlines, .. } => Some(easel_chart::inlines_text(inlines)),
                _ => None,
            })
            .collect()
    }

    /// The Open Space form, seeded on two replicas and merged both ways, and
    /// seeded again: every heading once, one action item slot, blank.
    #[test]
    fn open_space_form_seeds_once_on_two_replicas() {
        let t = ReportTemplate::default();
        assert_eq!(t, ReportTemplate::open_space());
        assert_eq!(t.update(), ReportTemplate::open_space().update());
        let a = Doc::with_client_id(7);
        let b = Doc::with_client_id(8);
        assert!(seed_template_with(&a, &t).unwrap());
        assert!(seed_template_with(&b, &t).unwrap());
        let sa = a.transact().encode_state_as_update_v1(&Default::default());
        b.transact_mut()
            .apply_update(Update::decode_v1(&sa).unwrap())
            .unwrap();
        assert!(!seed_template_with(&b, &t).unwrap());
        assert_eq!(
            headings(&b),
            [
                "Summary",
                "Key points and ideas",
                "Recommendations",
                "Questions for further study",
                "Next steps / actions"
            ]
        );
        let content = read_chart(&b);
        assert!(content.is_blank());
        assert_eq!(content, read_chart(&a));
    }

    /// A chart that ever had a template is not seeded with another one,
    /// even when its notes were emptied: two templates share item ids.
    #[test]
    fn a_second_template_is_refused() {
        let doc = Doc::new();
        assert!(seed_template_with(&doc, &ReportTemplate::closing_circle()).unwrap());
        let notes = doc.get_or_insert_xml_fragment("notes");
        {
            let mut txn = doc.transact_mut();
            use yrs::XmlFragment;
            let n = notes.len(&txn);
            notes.remove_range(&mut txn, 0, n);
        }
        assert!(!seed_template_with(&doc, &ReportTemplate::open_space()).unwrap());
        assert!(headings(&doc).is_empty());
    }

    #[test]
    fn limits_are_enforced_with_clear_errors() {
        let s = |h: &str| TemplateSection {
            heading: h.into(),
            kind: SectionKind::Text,
        };
        let many = ReportTemplate {
            sections: (0..500).map(|i| s(&format!("S{i}"))).collect(),
        };
        let err = many.validated(LIMITS).unwrap_err();
        assert_eq!(
            err,
            TemplateError::TooManySections {
                count: 500,
                max: 50
            }
        );
        assert!(err.to_string().contains("at most 50 sections"));
        let empty = ReportTemplate {
            sections: vec![s("Fine"), s("  ")],
        };
        assert_eq!(
            empty.validated(LIMITS).unwrap_err(),
            TemplateError::EmptyHeading { index: 2 }
        );
        let long = ReportTemplate {
            sections: vec![s(&"x".repeat(201))],
        };
        assert!(matches!(
            long.validated(LIMITS),
            Err(TemplateError::HeadingTooLong { chars: 201, .. })
        ));
        let none = ReportTemplate { sections: vec![] };
        assert_eq!(none.validated(LIMITS).unwrap_err(), TemplateError::Empty);
        let ok = ReportTemplate {
            sections: vec![s("  Trimmed  ")],
        }
        .validated(LIMITS)
        .unwrap();
        assert_eq!(ok.sections[0].heading, "Trimmed");
    }
}
