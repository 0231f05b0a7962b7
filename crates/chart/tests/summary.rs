//! A chart's summary for the news wall: the first section with text, else
//! the first paragraph; cut with an ellipsis.

use easel_chart::{Block, ChartContent, Inline, ListItem};

fn text(t: &str) -> Vec<Inline> {
    vec![Inline::Text {
        text: t.into(),
        marks: Default::default(),
    }]
}

fn heading(t: &str) -> Block {
    Block::Heading {
        level: 2,
        inlines: text(t),
    }
}

fn para(t: &str) -> Block {
    Block::Paragraph { inlines: text(t) }
}

fn chart(blocks: Vec<Block>) -> ChartContent {
    ChartContent {
        blocks,
        participants: vec![],
        board: Default::default(),
    }
}

#[test]
fn the_first_section_with_text_is_the_summary() {
    let c = chart(vec![
        heading("Key points"),
        para("  "),
        heading("Background"),
        para("We met in the garden."),
        Block::BulletList {
            items: vec![ListItem {
                blocks: vec![para("Retros   work async")],
            }],
        },
        heading("Next steps"),
        para("Write it down"),
    ]);
    assert_eq!(c.summary(200), "We met in the garden. Retros work async");
}

#[test]
fn without_headings_the_first_paragraph_is_the_summary() {
    let c = chart(vec![
        para(""),
        para("First thought."),
        para("Second thought."),
    ]);
    assert_eq!(c.summary(200), "First thought.");
}

#[test]
fn a_long_summary_is_cut_with_an_ellipsis_and_a_blank_chart_has_none() {
    let c = chart(vec![para(&"word ".repeat(100))]);
    let s = c.summary(20);
    assert_eq!(s.chars().count(), 20);
    assert!(s.ends_with('…'), "{s}");
    assert_eq!(
        chart(vec![heading("Key points"), para(" ")]).summary(20),
        ""
    );
    assert_eq!(ChartContent::default().summary(20), "");
}
