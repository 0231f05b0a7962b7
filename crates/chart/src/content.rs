//! The typed, read-only view of a chart (`ChartContent`).
//!
//! A chart is stored as a ProseMirror tree inside a Yjs document; nothing
//! downstream (proceedings, exports, search) should have to know about CRDT
//! internals. This module defines the plain data model those consumers use.
//! It is serde-serializable so it can travel inside the proceedings JSON.

use serde::{Deserialize, Serialize};

use crate::board::Board;

/// Everything a chart contains, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartContent {
    /// Top-level blocks of the `notes` fragment.
    pub blocks: Vec<Block>,
    /// Distinct participant names from `meta.participants`, in document order.
    pub participants: Vec<String>,
    /// Sticky notes, ink and arrows, with the limits applied.
    #[serde(default, skip_serializing_if = "Board::is_empty")]
    pub board: Board,
}

/// One block-level node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph of inline content.
    Paragraph { inlines: Vec<Inline> },
    /// A heading; `level` is clamped to 1..=6.
    Heading { level: u8, inlines: Vec<Inline> },
    /// An unordered list.
    BulletList { items: Vec<ListItem> },
    /// An ordered list starting at `start`.
    OrderedList { start: u32, items: Vec<ListItem> },
    /// A checklist; every item is an action item.
    TaskList { items: Vec<TaskItem> },
    /// A quotation containing blocks.
    Blockquote { blocks: Vec<Block> },
    /// Preformatted text; marks are dropped.
    CodeBlock {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        text: String,
    },
    /// A thematic break.
    HorizontalRule,
    /// A node this crate does not know, reduced to its plain text so that
    /// content written by a newer or foreign client never disappears.
    Unknown { name: String, text: String },
}

/// An item of a bullet or ordered list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItem {
    pub blocks: Vec<Block>,
}

/// An item of a task list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskItem {
    /// `checked` attribute of the `taskItem` node.
    pub done: bool,
    /// `actionId` attribute: the item's identity, which votes refer to
    /// (set once by the web client; items written by other clients have
    /// none and cannot be voted on). See `docs/chart-schema.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub blocks: Vec<Block>,
}

/// Inline content of a textblock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Inline {
    /// A run of text sharing the same marks.
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Marks::is_plain")]
        marks: Marks,
    },
    /// A forced line break (`hardBreak`).
    HardBreak,
}

/// Formatting of a text run. `link` holds the raw `href` as the client wrote
/// it; renderers must filter it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Marks {
    #[serde(skip_serializing_if = "is_false")]
    pub bold: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub italic: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub strike: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub code: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub highlight: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Marks {
    /// True when no mark is set.
    pub fn is_plain(&self) -> bool {
        *self == Marks::default()
    }
}

/// A task item flattened for the action register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// The task item's `actionId`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Plain text of the item, excluding nested lists.
    pub text: String,
    pub done: bool,
    /// Who does it: the first `@Name` in the text (see [`crate::parse_action`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it is due, `YYYY-MM-DD`: `due 2026-12-10` or `by 2026-12-10`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

/// Headings of [`crate::ReportTemplate::classic`], the template earlier
/// versions seeded. A chart holding only headings (of any template) and
/// whitespace has no notes.
pub const TEMPLATE_HEADINGS: [&str; 2] = ["Key points", "Next steps"];

impl ChartContent {
    /// Every task item in the chart, depth first (nested items follow their
    /// parent). Items with no text are skipped.
    pub fn action_items(&self) -> Vec<ActionItem> {
        let mut out = Vec::new();
        collect_actions(&self.blocks, &mut out);
        out
    }

    /// True when nobody wrote anything: no participants and no text other
    /// than whitespace and headings (every report template is headings over
    /// empty sections, and the template is the organizer's choice, so a
    /// heading alone is structure, not notes).
    pub fn is_blank(&self) -> bool {
        self.participants.is_empty()
            && self.board.is_empty()
            && self.blocks.iter().all(block_is_blank)
    }

    /// Replaces every person name the chart holds (participants, and the
    /// authors of board items) by `f(name)`; names mapped to "" are dropped
    /// from the participants. The one place a caller changes how people
    /// are named (e.g. anonymous attribution), so no name is missed.
    pub fn map_people(&mut self, mut f: impl FnMut(&str) -> String) {
        let mut kept: Vec<String> = Vec::new();
        for p in &self.participants {
            let name = f(p);
            if !name.is_empty() && !kept.contains(&name) {
                kept.push(name);
            }
        }
        self.participants = kept;
        self.board.map_people(&mut f);
    }

    /// A short plain-text summary for a news item: the body of the first
    /// section that has text (the blocks under a heading, up to the next
    /// heading), else the first paragraph-like block with text; cut at
    /// `max_chars` characters (with an ellipsis). Empty for a blank chart.
    ///
    /// Why the first section: the report template opens with "Key points",
    /// which is what a reader of the news wall wants to see first.
    pub fn summary(&self, max_chars: usize) -> String {
        let has_headings = self
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Heading { .. }));
        let mut section: Vec<String> = Vec::new();
        for block in &self.blocks {
            if let Block::Heading { .. } = block {
                if !section.is_empty() {
                    break;
                }
                continue;
            }
            let mut lines = Vec::new();
            block_lines(block, &mut lines);
            let text = lines.join(" ");
            if text.trim().is_empty() {
                continue;
            }
            section.push(text);
            if !has_headings {
                break;
            }
        }
        cut(&section.join(" "), max_chars)
    }

    /// All text of the chart as plain text, one block per line.
    pub fn plain_text(&self) -> String {
        let mut lines = Vec::new();
        for b in &self.blocks {
            block_lines(b, &mut lines);
        }
        lines.join("\n")
    }
}

fn block_is_blank(block: &Block) -> bool {
    match block {
        Block::Heading { .. } => true,
        Block::Paragraph { inlines } => inlines_text(inlines).trim().is_empty(),
        Block::BulletList { items } | Block::OrderedList { items, .. } => {
            items.iter().all(|i| i.blocks.iter().all(block_is_blank))
        }
        Block::TaskList { items } => items.iter().all(|i| i.blocks.iter().all(block_is_blank)),
        Block::Blockquote { blocks } => blocks.iter().all(block_is_blank),
        Block::CodeBlock { text, .. } | Block::Unknown { text, .. } => text.trim().is_empty(),
        Block::HorizontalRule => true,
    }
}

/// `text` with runs of whitespace collapsed, at most `max` characters (the
/// last one an ellipsis when cut).
fn cut(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let text = words.join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Plain text of inline content; hard breaks become a space.
pub fn inlines_text(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text { text, .. } => s.push_str(text),
            Inline::HardBreak => s.push(' '),
        }
    }
    s
}

fn block_lines(block: &Block, lines: &mut Vec<String>) {
    match block {
        Block::Paragraph { inlines } | Block::Heading { inlines, .. } => {
            lines.push(inlines_text(inlines))
        }
        Block::BulletList { items } | Block::OrderedList { items, .. } => {
            for i in items {
                for b in &i.blocks {
                    block_lines(b, lines);
                }
            }
        }
        Block::TaskList { items } => {
            for i in items {
                for b in &i.blocks {
                    block_lines(b, lines);
                }
            }
        }
        Block::Blockquote { blocks } => {
            for b in blocks {
                block_lines(b, lines);
            }
        }
        Block::CodeBlock { text, .. } | Block::Unknown { text, .. } => lines.push(text.clone()),
        Block::HorizontalRule => {}
    }
}

/// Text of a task item's own blocks (nested lists excluded), whitespace
/// collapsed.
fn task_text(blocks: &[Block]) -> String {
    let mut lines = Vec::new();
    for b in blocks {
        match b {
            Block::BulletList { .. } | Block::OrderedList { .. } | Block::TaskList { .. } => {}
            other => block_lines(other, &mut lines),
        }
    }
    lines
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn collect_actions(blocks: &[Block], out: &mut Vec<ActionItem>) {
    for b in blocks {
        match b {
            Block::TaskList { items } => {
                for item in items {
                    let text = task_text(&item.blocks);
                    if !text.is_empty() {
                        let (owner, due) = crate::actions::parse_action(&text);
                        out.push(ActionItem {
                            id: item.id.clone(),
                            text,
                            done: item.done,
                            owner,
                            due,
                        });
                    }
                    collect_actions(&item.blocks, out);
                }
            }
            Block::BulletList { items } | Block::OrderedList { items, .. } => {
                for item in items {
                    collect_actions(&item.blocks, out);
                }
            }
            Block::Blockquote { blocks } => collect_actions(blocks, out),
            _ => {}
        }
    }
}
