//! Compiles the charts of a conference into proceedings.
//!
//! After an Open Space the notes of every flip chart are the conference's
//! only record. This crate turns them into a document people can read,
//! print, archive and link to: Markdown, a single self-contained HTML file,
//! versioned JSON and a typeset PDF. It is pure (no IO): the caller supplies
//! a [`ProceedingsInput`] and gets bytes back.
//!
//! Pipeline: [`ProceedingsInput`] → [`Proceedings`] (built once: ordering,
//! summary, action register, conveners index, link filtering) → a renderer.
//! The PDF renderer hands the model's JSON form to a typst template as data
//! (see `docs/proceedings.md`).

mod anonymize;
mod board;
mod escape;
mod html;
mod input;
mod json;
mod markdown;
mod model;
mod pdf;
mod priorities;

pub use anonymize::{anonymize, anonymize_session, names_of};
pub use board::{
    ink_hex, png as board_png, sticky_hex, summary as board_summary, svg as board_svg, PNG_MAX_SIDE,
};
pub use escape::html as escape_html;
pub use escape::{safe_href, session_anchor};
pub use html::notes_fragment;
pub use input::{
    Attribution, ConferenceInfo, LinkedSession, ProceedingsInput, SessionInput, SessionKind,
};
pub use json::parse as parse_json;
pub use model::{
    ActionEntry, ConvenerEntry, Day, DocumentKind, Proceedings, Round, Session, SessionRef,
    Summary, SCHEMA,
};
pub use pdf::{font_families, FONT_DIRS_ENV, TEMPLATE as PDF_TEMPLATE};
pub use priorities::{Priorities, PriorityAction, PrioritySession, VotesInput, TOP_ACTIONS};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum ProceedingsError {
    /// JSON (de)serialization failed.
    #[error("proceedings JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A JSON document declares a schema this version does not read.
    #[error("unsupported proceedings schema {0:?} (expected {SCHEMA:?})")]
    UnsupportedSchema(String),
    /// The PDF template failed to compile or lay out (typst diagnostics).
    /// With the bundled template this indicates a bug, not bad input.
    #[error("PDF typesetting failed: {0}")]
    PdfCompile(String),
    /// The laid-out document could not be written as PDF.
    #[error("PDF export failed: {0}")]
    PdfExport(String),
    /// The board's SVG could not be rasterized (a bug, not bad input: the
    /// SVG is generated from checked values).
    #[error("board rasterization failed: {0}")]
    Raster(String),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Markdown,
    Html,
    Json,
    /// Typeset PDF (typst, embedded fonts).
    Pdf,
}

impl Format {
    /// All formats, for listings and tests.
    pub const ALL: [Format; 4] = [Format::Markdown, Format::Html, Format::Json, Format::Pdf];

    /// HTTP `Content-Type` of the rendered bytes.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
        }
    }

    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }
}

/// Renders a compiled model. This is the renderer boundary: every format
/// takes the same [`Proceedings`].
pub fn render_model(model: &Proceedings, format: Format) -> Result<Vec<u8>, ProceedingsError> {
    Ok(match format {
        Format::Markdown => markdown::render(model).into_bytes(),
        Format::Html => html::render(model).into_bytes(),
        Format::Json => json::render(model)?.into_bytes(),
        Format::Pdf => pdf::render(model)?,
    })
}

/// Compiles and renders the proceedings of a whole conference.
pub fn render(input: &ProceedingsInput, format: Format) -> Result<Vec<u8>, ProceedingsError> {
    render_model(&Proceedings::build(input), format)
}

/// Compiles and renders one chart (per-session export for hosts).
pub fn render_chart(
    session: &SessionInput,
    conference: &ConferenceInfo,
    format: Format,
) -> Result<Vec<u8>, ProceedingsError> {
    render_model(&Proceedings::for_chart(session, conference), format)
}

/// Compiles and renders one chart with the conference's attribution (an
/// anonymous chart export says so, like the proceedings).
pub fn render_chart_with(
    session: &SessionInput,
    conference: &ConferenceInfo,
    attribution: Attribution,
    format: Format,
) -> Result<Vec<u8>, ProceedingsError> {
    let mut model = Proceedings::for_chart(session, conference);
    model.attribution = attribution;
    render_model(&model, format)
}

/// Markdown of the whole conference.
pub fn render_markdown(input: &ProceedingsInput) -> String {
    markdown::render(&Proceedings::build(input))
}

/// Standalone HTML of the whole conference.
pub fn render_html(input: &ProceedingsInput) -> String {
    html::render(&Proceedings::build(input))
}

/// `easel.proceedings/v2` JSON of the whole conference.
pub fn render_json(input: &ProceedingsInput) -> Result<String, ProceedingsError> {
    json::render(&Proceedings::build(input))
}

/// PDF of the whole conference.
pub fn render_pdf(input: &ProceedingsInput) -> Result<Vec<u8>, ProceedingsError> {
    pdf::render(&Proceedings::build(input))
}

/// Markdown of one chart.
pub fn render_chart_markdown(session: &SessionInput, conference: &ConferenceInfo) -> String {
    markdown::render(&Proceedings::for_chart(session, conference))
}

/// Standalone HTML of one chart.
pub fn render_chart_html(session: &SessionInput, conference: &ConferenceInfo) -> String {
    html::render(&Proceedings::for_chart(session, conference))
}

/// `easel.proceedings/v2` JSON (kind `chart`) of one chart.
pub fn render_chart_json(
    session: &SessionInput,
    conference: &ConferenceInfo,
) -> Result<String, ProceedingsError> {
    json::render(&Proceedings::for_chart(session, conference))
}

/// PDF of one chart.
pub fn render_chart_pdf(
    session: &SessionInput,
    conference: &ConferenceInfo,
) -> Result<Vec<u8>, ProceedingsError> {
    pdf::render(&Proceedings::for_chart(session, conference))
}
