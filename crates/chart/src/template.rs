//! The report templates charts start from.
//!
//! Several places may seed the same chart (two server replicas, a server and
//! an offline client, a retried request). If each wrote the template with its
//! own client id, every seeding would create *new* CRDT items and the chart
//! would show every heading twice. Instead a template is always produced by
//! a document with the fixed client id [`TEMPLATE_CLIENT_ID`] and written in
//! a fixed order, so every seeding of the same template yields byte-identical
//! items with identical ids; Yjs integrates an already-known item as a no-op.
//! Consequences worth knowing:
//! * Re-seeding a chart whose template was deleted does not resurrect it (the
//!   items are known, only deleted).
//! * Two *different* templates share item ids (client 1, clocks from 0), so
//!   one chart must only ever be seeded with one template: the server seeds a
//!   chart once, when it creates it, under the conference's edit lock, and
//!   [`seed_template_with`] refuses a document that already has items of
//!   client 1.
//! * The small id makes the template lose map-key conflicts: if a client has
//!   already created `meta.participants`, that array wins over the template's.
//! * No live client may ever use client id 1. Yjs picks random 32-bit ids,
//!   so this only matters for tools that hard-code client ids.

use serde::{Deserialize, Serialize};
use yrs::updates::decoder::Decode;
use yrs::{
    ArrayPrelim, Doc, Map, ReadTxn, StateVector, Transact, Update, Xml, XmlElementPrelim,
    XmlFragment, XmlTextPrelim,
};

use crate::read::{META, NOTES, PARTICIPANTS};
use crate::ChartError;

/// Client id that authors the template items.
pub const TEMPLATE_CLIENT_ID: u64 = 1;

/// What a template section holds under its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Free text: an empty paragraph to write into.
    Text,
    /// Action items: a task list with one empty, unchecked item.
    Actions,
}

/// One section of a report template: a level-2 heading and what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TemplateSection {
    pub heading: String,
    pub kind: SectionKind,
}

/// A report template: the sections a new chart starts with, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReportTemplate {
    pub sections: Vec<TemplateSection>,
}

/// How large a template may be (the server's config names both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateLimits {
    pub max_sections: usize,
    pub max_heading_chars: usize,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a template needs at least one section")]
    Empty,
    #[error("a template has at most {max} sections; this one has {count}")]
    TooManySections { count: usize, max: usize },
    #[error("section {index}: the heading is empty")]
    EmptyHeading { index: usize },
    #[error("section {index}: the heading has {chars} characters; at most {max} are allowed")]
    HeadingTooLong {
        index: usize,
        chars: usize,
        max: usize,
    },
    #[error("section {index}: the heading must be one line of text without control characters")]
    HeadingNotOneLine { index: usize },
}

fn section(heading: &str, kind: SectionKind) -> TemplateSection {
    TemplateSection {
        heading: heading.to_owned(),
        kind,
    }
}

impl ReportTemplate {
    /// The Open Space report form: summary; key points and ideas;
    /// recommendations; questions for further study; next steps.
    pub fn open_space() -> ReportTemplate {
        use SectionKind::{Actions, Text};
        ReportTemplate {
            sections: vec![
                section("Summary", Text),
                section("Key points and ideas", Text),
                section("Recommendations", Text),
                section("Questions for further study", Text),
                section("Next steps / actions", Actions),
            ],
        }
    }

    /// The two-section template of earlier Easel versions ("Key points",
    /// "Next steps"); the charts it seeded keep it.
    pub fn classic() -> ReportTemplate {
        ReportTemplate {
            sections: vec![
                section("Key points", SectionKind::Text),
                section("Next steps", SectionKind::Actions),
            ],
        }
    }

    /// The opening circle's chart: the framing of the event.
    pub fn opening_circle() -> ReportTemplate {
        use SectionKind::{Actions, Text};
        ReportTemplate {
            sections: vec![
                section("Theme and framing", Text),
                section("Principles and the law of two feet", Text),
                section("Announcements", Text),
                section("Actions", Actions),
            ],
        }
    }

    /// The closing circle's chart: news and commitments.
    pub fn closing_circle() -> ReportTemplate {
        use SectionKind::{Actions, Text};
        ReportTemplate {
            sections: vec![
                section("News", Text),
                section("Reflections", Text),
                section("Commitments", Actions),
            ],
        }
    }

    /// Checks the template against `limits` and trims its headings.
    pub fn validated(mut self, limits: TemplateLimits) -> Result<ReportTemplate, TemplateError> {
        if self.sections.is_empty() {
            return Err(TemplateError::Empty);
        }
        if self.sections.len() > limits.max_sections {
            return Err(TemplateError::TooManySections {
                count: self.sections.len(),
                max: limits.max_sections,
            });
        }
        for (i, s) in self.sections.iter_mut().enumerate() {
            let index = i + 1;
            let heading = s.heading.trim();
            if heading.is_empty() {
                return Err(TemplateError::EmptyHeading { index });
            }
            if heading.chars().any(char::is_control) {
                return Err(TemplateError::HeadingNotOneLine { index });
            }
            let chars = heading.chars().count();
            if chars > limits.max_heading_chars {
                return Err(TemplateError::HeadingTooLong {
                    index,
                    chars,
                    max: limits.max_heading_chars,
                });
            }
            s.heading = heading.to_owned();
        }
        Ok(self)
    }

    /// The template as a Yjs v1 update, authored by [`TEMPLATE_CLIENT_ID`].
    /// Deterministic: every call on an equal template returns the same bytes.
    pub fn update(&self) -> Vec<u8> {
        let doc = Doc::with_client_id(TEMPLATE_CLIENT_ID);
        self.write(&doc);
        let txn = doc.transact();
        txn.encode_state_as_update_v1(&StateVector::default())
    }

    /// Writes the template through ordinary transactions. Every call
    /// happens in a fixed order (no `HashMap` iteration, e.g. no
    /// multi-attribute `XmlElementPrelim`) so the item ids are reproducible.
    fn write(&self, doc: &Doc) {
        let notes = doc.get_or_insert_xml_fragment(NOTES);
        let meta = doc.get_or_insert_map(META);
        let mut txn = doc.transact_mut();
        for s in &self.sections {
            let h = notes.push_back(&mut txn, XmlElementPrelim::empty("heading"));
            h.insert_attribute(&mut txn, "level", 2i64);
            h.push_back(&mut txn, XmlTextPrelim::new(s.heading.as_str()));
            match s.kind {
                SectionKind::Text => {
                    notes.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
                }
                SectionKind::Actions => {
                    let list = notes.push_back(&mut txn, XmlElementPrelim::empty("taskList"));
                    let item = list.push_back(&mut txn, XmlElementPrelim::empty("taskItem"));
                    item.insert_attribute(&mut txn, "checked", false);
                    item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
                }
            }
        }
        meta.insert(&mut txn, PARTICIPANTS, ArrayPrelim::default());
    }
}

impl Default for ReportTemplate {
    fn default() -> Self {
        ReportTemplate::open_space()
    }
}

/// The [`ReportTemplate::classic`] template as a Yjs v1 update.
pub fn template_update() -> Vec<u8> {
    ReportTemplate::classic().update()
}

/// Writes the [`ReportTemplate::classic`] template, see
/// [`seed_template_with`].
pub fn seed_template(doc: &Doc) -> Result<bool, ChartError> {
    seed_template_with(doc, &ReportTemplate::classic())
}

/// Writes `template` into `doc` if its `notes` are empty (no live nodes)
/// and no template was ever written into it (no items of client 1).
/// Returns `Ok(true)` if the template was applied, `Ok(false)` otherwise.
/// Safe to call any number of times, on any replica.
///
/// Opens a write transaction: do not call while holding one on `doc`.
pub fn seed_template_with(doc: &Doc, template: &ReportTemplate) -> Result<bool, ChartError> {
    let mut txn = doc.transact_mut();
    let has_notes = txn.get_xml_fragment(NOTES).is_some_and(|n| n.len(&txn) > 0);
    let seeded_before = txn
        .state_vector()
        .get(&yrs::block::ClientID::new(TEMPLATE_CLIENT_ID))
        > 0;
    if has_notes || seeded_before {
        return Ok(false);
    }
    let update = Update::decode_v1(&template.update())?;
    txn.apply_update(update)?;
    Ok(true)
}
