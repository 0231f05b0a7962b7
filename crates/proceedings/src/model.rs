//! The compiled proceedings model: conference -> days -> rounds -> sessions,
//! plus summary figures, the action register and the conveners index.
//!
//! It is computed once from a [`ProceedingsInput`] and every renderer works
//! from it, so the formats cannot disagree about order, counts or which links
//! are allowed. It is also exactly the JSON output (`easel.proceedings/v2`),
//! which makes it the input of any future renderer (e.g. a typst PDF).
// (`easel.proceedings/v2`: v1 plus `priorities` and action item `id`s.)

use std::collections::BTreeMap;

use easel_chart::{ActionItem, Block, Board, ChartContent, Inline};
use serde::{Deserialize, Serialize};

use crate::escape::{safe_href, session_anchor};
use crate::input::{Attribution, ConferenceInfo, ProceedingsInput, SessionInput, SessionKind};
use crate::priorities::{self, Priorities, VotesInput};

/// Identifier of the JSON schema this model serializes to.
pub const SCHEMA: &str = "easel.proceedings/v2";

/// Earlier schemas this version still reads (v2 only added fields).
pub const READS_SCHEMAS: [&str; 2] = ["easel.proceedings/v1", SCHEMA];

/// Whether the document covers the whole conference or a single chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Proceedings,
    Chart,
}

/// The compiled proceedings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proceedings {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub kind: DocumentKind,
    pub conference: ConferenceInfo,
    /// Sessions ranked by the convergence phase's dots; `null` when the
    /// conference had no convergence phase (and always for one chart).
    pub priorities: Option<Priorities>,
    pub summary: Summary,
    pub days: Vec<Day>,
    pub action_register: Vec<ActionEntry>,
    pub conveners: Vec<ConvenerEntry>,
    /// Distinct participant names over all charts, sorted case-insensitively.
    pub participants: Vec<String>,
    /// `named`, or `anonymous`: no person's name anywhere in the document.
    #[serde(default)]
    pub attribution: Attribution,
}

/// Headline figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub sessions: usize,
    /// Sessions whose chart has notes (the sessions that were held).
    pub sessions_with_notes: usize,
    pub sessions_without_notes: usize,
    /// Distinct participant names across all charts.
    pub participants: usize,
    pub action_items: usize,
    pub action_items_done: usize,
    pub action_items_open: usize,
}

/// A conference day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    pub index: u32,
    pub label: String,
    pub rounds: Vec<Round>,
}

/// A round (time slot) of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    pub index: u32,
    pub label: String,
    pub sessions: Vec<Session>,
}

/// One session with its notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// `session-{id}`, escaped; the HTML element id / permalink fragment.
    pub anchor: String,
    pub topic: String,
    pub convener: String,
    pub space: String,
    pub space_index: u32,
    pub day_label: String,
    pub round_label: String,
    pub starts_local: String,
    pub starts_utc: String,
    pub state: String,
    /// False for charts nobody wrote in (rendered as "No notes").
    pub has_notes: bool,
    pub participants: Vec<String>,
    /// Chart blocks; link targets are already filtered (see
    /// [`crate::escape::safe_href`]): unsafe links have `link: null`.
    pub blocks: Vec<Block>,
    pub action_items: Vec<ActionItem>,
    /// `session`, `opening_circle` or `closing_circle` (a circle's plenary
    /// chart sits in its round like a session).
    #[serde(default)]
    pub kind: SessionKind,
    #[serde(default)]
    pub chart_id: String,
    /// The session this one continues.
    #[serde(default)]
    pub continues: Option<SessionRef>,
    /// The sessions that continue this one.
    #[serde(default)]
    pub continued_in: Vec<SessionRef>,
    /// The chart's board (v2): stickies with their cluster, strokes,
    /// arrows, and notes of what the limits left out. Absent when empty.
    #[serde(default, skip_serializing_if = "Board::is_empty")]
    pub board: Board,
}

/// One line of the action register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEntry {
    pub session_id: String,
    pub anchor: String,
    pub topic: String,
    pub text: String,
    pub done: bool,
    /// `@Name` in the item; absent when none (or withheld).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `YYYY-MM-DD` from `due …` / `by …` in the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default)]
    pub chart_id: String,
}

/// A convener and the sessions they convened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvenerEntry {
    pub name: String,
    pub sessions: Vec<SessionRef>,
}

/// A pointer to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    pub id: String,
    pub anchor: String,
    pub topic: String,
}

impl Proceedings {
    /// Compiles the whole conference.
    pub fn build(input: &ProceedingsInput) -> Self {
        let mut model = build(
            &input.conference,
            input.sessions.iter(),
            DocumentKind::Proceedings,
            input.votes.as_ref(),
        );
        model.attribution = input.attribution;
        model
    }

    /// Compiles a single chart (per-session export).
    pub fn for_chart(session: &SessionInput, conference: &ConferenceInfo) -> Self {
        build(
            conference,
            std::iter::once(session),
            DocumentKind::Chart,
            None,
        )
    }

    /// All sessions in agenda order.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.days
            .iter()
            .flat_map(|d| d.rounds.iter())
            .flat_map(|r| r.sessions.iter())
    }
}

fn fold_key(s: &str) -> String {
    s.trim().to_lowercase()
}

fn build<'a>(
    conference: &ConferenceInfo,
    sessions: impl Iterator<Item = &'a SessionInput>,
    kind: DocumentKind,
    votes: Option<&VotesInput>,
) -> Proceedings {
    let mut sorted: Vec<&SessionInput> = sessions.collect();
    sorted.sort_by(|a, b| {
        (a.day_index, a.round_index, a.space_index, &a.id).cmp(&(
            b.day_index,
            b.round_index,
            b.space_index,
            &b.id,
        ))
    });

    let mut days: Vec<Day> = Vec::new();
    let mut summary = Summary::default();
    let mut register = Vec::new();
    let mut conveners: BTreeMap<String, ConvenerEntry> = BTreeMap::new();
    let mut people: BTreeMap<String, String> = BTreeMap::new();

    for input in sorted {
        let session = compile_session(input);
        // A circle is a plenary, not a session someone convened.
        if !session.kind.is_circle() {
            summary.sessions += 1;
            if session.has_notes {
                summary.sessions_with_notes += 1;
            } else {
                summary.sessions_without_notes += 1;
            }
        }
        for a in &session.action_items {
            summary.action_items += 1;
            if a.done {
                summary.action_items_done += 1;
            } else {
                summary.action_items_open += 1;
            }
            register.push(ActionEntry {
                session_id: session.id.clone(),
                anchor: session.anchor.clone(),
                topic: session.topic.clone(),
                text: a.text.clone(),
                done: a.done,
                owner: a.owner.clone(),
                due: a.due.clone(),
                chart_id: session.chart_id.clone(),
            });
        }
        for p in &session.participants {
            people.entry(fold_key(p)).or_insert_with(|| p.clone());
        }
        let convener = session.convener.trim();
        if !convener.is_empty() {
            conveners
                .entry(fold_key(convener))
                .or_insert_with(|| ConvenerEntry {
                    name: convener.to_string(),
                    sessions: Vec::new(),
                })
                .sessions
                .push(SessionRef {
                    id: session.id.clone(),
                    anchor: session.anchor.clone(),
                    topic: session.topic.clone(),
                });
        }

        if days.last().map(|d| d.index) != Some(input.day_index) {
            days.push(Day {
                index: input.day_index,
                label: input.day_label.clone(),
                rounds: Vec::new(),
            });
        }
        let Some(day) = days.last_mut() else { continue };
        if day.rounds.last().map(|r| r.index) != Some(input.round_index) {
            day.rounds.push(Round {
                index: input.round_index,
                label: input.round_label.clone(),
                sessions: Vec::new(),
            });
        }
        if let Some(round) = day.rounds.last_mut() {
            round.sessions.push(session);
        }
    }

    let participants: Vec<String> = people.into_values().collect();
    summary.participants = participants.len();
    let priorities = votes.map(|v| {
        priorities::build(
            days.iter()
                .flat_map(|d| d.rounds.iter())
                .flat_map(|r| r.sessions.iter()),
            v,
        )
    });
    Proceedings {
        schema: SCHEMA.to_string(),
        kind,
        conference: conference.clone(),
        priorities,
        summary,
        days,
        action_register: register,
        conveners: conveners.into_values().collect(),
        participants,
        attribution: Attribution::Named,
    }
}

fn session_ref(link: &crate::input::LinkedSession) -> SessionRef {
    SessionRef {
        id: link.id.clone(),
        anchor: session_anchor(&link.id),
        topic: link.topic.clone(),
    }
}

fn compile_session(input: &SessionInput) -> Session {
    let content: &ChartContent = &input.content;
    let blocks = filter_links(&content.blocks);
    Session {
        id: input.id.clone(),
        anchor: session_anchor(&input.id),
        topic: input.topic.clone(),
        convener: input.convener.clone(),
        space: input.space.clone(),
        space_index: input.space_index,
        day_label: input.day_label.clone(),
        round_label: input.round_label.clone(),
        starts_local: input.starts_local.clone(),
        starts_utc: input.starts_utc.clone(),
        state: input.state.clone(),
        has_notes: !content.is_blank(),
        participants: content.participants.clone(),
        blocks,
        action_items: content.action_items(),
        kind: input.kind,
        chart_id: input.chart_id.clone(),
        continues: input.continues.as_ref().map(session_ref),
        continued_in: input.continued_in.iter().map(session_ref).collect(),
        board: content.board.clone(),
    }
}

/// Replaces every link target by its filtered form (or removes the link).
fn filter_links(blocks: &[Block]) -> Vec<Block> {
    blocks.iter().map(filter_block).collect()
}

fn filter_inlines(inlines: &[Inline]) -> Vec<Inline> {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Text { text, marks } => {
                let mut marks = marks.clone();
                marks.link = marks.link.as_deref().and_then(safe_href);
                Inline::Text {
                    text: text.clone(),
                    marks,
                }
            }
            Inline::HardBreak => Inline::HardBreak,
        })
        .collect()
}

fn filter_block(block: &Block) -> Block {
    match block {
        Block::Paragraph { inlines } => Block::Paragraph {
            inlines: filter_inlines(inlines),
        },
        Block::Heading { level, inlines } => Block::Heading {
            level: *level,
            inlines: filter_inlines(inlines),
        },
        Block::BulletList { items } => Block::BulletList {
            items: items
                .iter()
                .map(|i| easel_chart::ListItem {
                    blocks: filter_links(&i.blocks),
                })
                .collect(),
        },
        Block::OrderedList { start, items } => Block::OrderedList {
            start: *start,
            items: items
                .iter()
                .map(|i| easel_chart::ListItem {
                    blocks: filter_links(&i.blocks),
                })
                .collect(),
        },
        Block::TaskList { items } => Block::TaskList {
            items: items
                .iter()
                .map(|i| easel_chart::TaskItem {
                    done: i.done,
                    id: i.id.clone(),
                    blocks: filter_links(&i.blocks),
                })
                .collect(),
        },
        Block::Blockquote { blocks } => Block::Blockquote {
            blocks: filter_links(blocks),
        },
        other => other.clone(),
    }
}
