//! A chart cut into passages: the units search finds and opens. A passage
//! is one top-level block of the notes (a list: one item), one action
//! item, one sticky note or the session's topic, with the place a client
//! scrolls to.

use easel_chart::{inlines_text, Block, ChartContent};
use serde::{Deserialize, Serialize};
use yrs::{Doc, GetString, Map, Out, ReadTxn, Transact};

/// What kind of text a passage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassageKind {
    /// The session's topic.
    Topic,
    /// A block of the notes (paragraph, heading, list item, quote, code).
    Note,
    /// A task item of the notes.
    Action,
    /// A sticky note on the board.
    Sticky,
}

impl PassageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PassageKind::Topic => "topic",
            PassageKind::Note => "note",
            PassageKind::Action => "action",
            PassageKind::Sticky => "sticky",
        }
    }

    pub fn parse(s: &str) -> Option<PassageKind> {
        Some(match s {
            "topic" => PassageKind::Topic,
            "note" => PassageKind::Note,
            "action" => PassageKind::Action,
            "sticky" => PassageKind::Sticky,
            _ => return None,
        })
    }
}

/// Where in the chart a passage is: what a client scrolls to and
/// highlights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Place {
    /// Child indices from the root of the notes: `[3]` is the fourth
    /// top-level block, `[3, 1]` the second item of the list that block is.
    /// Empty for topics and stickies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<u32>,
    /// The nearest heading above the passage in the notes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// The sticky's id on the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky_id: Option<String>,
}

/// One searchable unit of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub kind: PassageKind,
    pub place: Place,
    pub text: String,
}

/// Longest text kept of one passage (characters); the rest of a giant
/// block is not searchable. Charts are bounded by `max_chart_bytes`, this
/// keeps one pathological paragraph from dominating the index.
pub const MAX_PASSAGE_CHARS: usize = 20_000;

fn clip(mut text: String) -> String {
    if let Some((i, _)) = text.char_indices().nth(MAX_PASSAGE_CHARS) {
        text.truncate(i);
    }
    text
}

/// Text of a block and everything nested in it, one line per block.
fn block_text(block: &Block) -> String {
    ChartContent {
        blocks: vec![block.clone()],
        participants: Vec::new(),
        board: Default::default(),
    }
    .plain_text()
}

/// The passages of a chart's notes, in document order.
pub fn note_passages(content: &ChartContent) -> Vec<Passage> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    let push =
        |out: &mut Vec<Passage>, kind, path: Vec<u32>, heading: &Option<String>, text: String| {
            if !text.trim().is_empty() {
                out.push(Passage {
                    kind,
                    place: Place {
                        path,
                        heading: heading.clone(),
                        sticky_id: None,
                    },
                    text: clip(text),
                });
            }
        };
    for (i, block) in content.blocks.iter().enumerate() {
        let i = i as u32;
        match block {
            Block::Heading { inlines, .. } => {
                let text = inlines_text(inlines).trim().to_owned();
                push(&mut out, PassageKind::Note, vec![i], &heading, text.clone());
                heading = (!text.is_empty()).then_some(text);
            }
            Block::BulletList { items } | Block::OrderedList { items, .. } => {
                for (j, item) in items.iter().enumerate() {
                    let text = item
                        .blocks
                        .iter()
                        .map(block_text)
                        .collect::<Vec<_>>()
                        .join("\n");
                    push(
                        &mut out,
                        PassageKind::Note,
                        vec![i, j as u32],
                        &heading,
                        text,
                    );
                }
            }
            Block::TaskList { items } => {
                for (j, item) in items.iter().enumerate() {
                    let text = item
                        .blocks
                        .iter()
                        .map(block_text)
                        .collect::<Vec<_>>()
                        .join("\n");
                    push(
                        &mut out,
                        PassageKind::Action,
                        vec![i, j as u32],
                        &heading,
                        text,
                    );
                }
            }
            Block::HorizontalRule => {}
            other => push(
                &mut out,
                PassageKind::Note,
                vec![i],
                &heading,
                block_text(other),
            ),
        }
    }
    out
}

/// Root map of the board (docs/chart-schema.md, "The board").
const BOARD: &str = "board";
/// Key of the stickies map inside [`BOARD`].
const STICKIES: &str = "stickies";
/// Stickies read per chart, as the board's readers keep (`max_board_stickies`).
pub const MAX_STICKIES: usize = 500;

/// The sticky notes of a chart's board: `(id, text)` in id order, at most
/// [`MAX_STICKIES`]. Reads `board.stickies.*.text` directly; anything not
/// shaped as the schema says is skipped.
pub fn board_stickies<T: ReadTxn>(txn: &T) -> Vec<(String, String)> {
    let Some(board) = txn.get_map(BOARD) else {
        return Vec::new();
    };
    let Some(Out::YMap(stickies)) = board.get(txn, STICKIES) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (id, value) in stickies.iter(txn) {
        let Out::YMap(sticky) = value else { continue };
        let text = match sticky.get(txn, "text") {
            Some(Out::YText(t)) => t.get_string(txn),
            Some(Out::Any(yrs::Any::String(s))) => s.to_string(),
            _ => continue,
        };
        out.push((id.to_owned(), text));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.truncate(MAX_STICKIES);
    out
}

/// Every passage of a chart document except its topic: notes, action
/// items and stickies.
pub fn chart_passages(doc: &Doc) -> Vec<Passage> {
    let txn = doc.transact();
    let content = easel_chart::read_chart_txn(&txn);
    let mut out = note_passages(&content);
    for (id, text) in board_stickies(&txn) {
        if !text.trim().is_empty() {
            out.push(Passage {
                kind: PassageKind::Sticky,
                place: Place {
                    path: Vec::new(),
                    heading: None,
                    sticky_id: Some(id),
                },
                text: clip(text),
            });
        }
    }
    out
}
