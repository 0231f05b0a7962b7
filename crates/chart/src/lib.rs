//! The chart document schema of Easel.
//!
//! Every flip chart is one Yjs document edited live by TipTap/y-prosemirror
//! clients. This crate is the single place that knows how that document is
//! laid out (see `docs/chart-schema.md`): it reads a document into the plain
//! [`ChartContent`] model and writes the report template new charts start
//! from. Everything else in Easel works on [`ChartContent`].

mod actions;
mod board;
mod content;
mod read;
mod redact;
mod restore;
mod template;

pub use actions::parse_action;
pub use redact::{Redactor, WITHHELD};

pub use board::{
    read_board, Arrow, Board, BoardLimits, InkColor, Sticky, StickyColor, Stroke, Tool, BOARD,
    BOARD_HEIGHT, BOARD_WIDTH, CLUSTER_GAP, MAX_ID_CHARS, STICKY_DEFAULT_SIZE, STICKY_SIZE,
    STROKE_WIDTH,
};
pub use content::{
    inlines_text, ActionItem, Block, ChartContent, Inline, ListItem, Marks, TaskItem,
    TEMPLATE_HEADINGS,
};
pub use read::{
    read_chart, read_chart_txn, read_chart_txn_with, read_chart_with, valid_action_id, ACTION_ID,
    META, NOTES, PARTICIPANTS,
};
pub use restore::{content_json, restore_update};
pub use template::{
    seed_template, seed_template_with, template_update, ReportTemplate, SectionKind, TemplateError,
    TemplateLimits, TemplateSection, TEMPLATE_CLIENT_ID,
};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A Yjs update could not be decoded.
    #[error("cannot decode chart update: {0}")]
    Decode(#[from] yrs::encoding::read::Error),
    /// A decoded Yjs update could not be integrated.
    #[error("cannot apply chart update: {0}")]
    Apply(#[from] yrs::error::UpdateError),
    /// A chart's content could not be written as JSON.
    #[error("cannot write chart content as JSON: {0}")]
    Json(String),
}
