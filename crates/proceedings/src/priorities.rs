//! The Priorities section: sessions ranked by the dots of the convergence
//! phase, each with its top action items. Built once into the model like
//! everything else, so every format shows the same ranking.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Session;

/// Action items shown under a ranked session.
pub const TOP_ACTIONS: usize = 3;

/// The dots placed, as the caller hands them in: per session (on the
/// session itself) and per action item (session id -> `actionId` -> dots).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotesInput {
    #[serde(default)]
    pub sessions: BTreeMap<String, u32>,
    #[serde(default)]
    pub items: BTreeMap<String, BTreeMap<String, u32>>,
    /// People who placed at least one dot.
    #[serde(default)]
    pub voters: u32,
}

/// The ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priorities {
    pub voters: u32,
    /// Sessions with at least one dot (on the session or its action
    /// items), best first.
    pub sessions: Vec<PrioritySession>,
}

/// A ranked session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrioritySession {
    /// 1 for the first; sessions with equal counts share a rank (1, 1, 3).
    pub rank: u32,
    pub session_id: String,
    pub anchor: String,
    pub topic: String,
    /// Dots on the session itself.
    pub votes: u32,
    /// Dots on its action items, together.
    pub action_votes: u32,
    /// Its action items with dots, most first (at most [`TOP_ACTIONS`]).
    pub actions: Vec<PriorityAction>,
}

/// An action item with its dots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityAction {
    pub id: String,
    pub text: String,
    pub done: bool,
    pub votes: u32,
}

/// Ranks `sessions` (in agenda order) by `votes`: dots on the session,
/// then dots on its action items, then agenda order. Dots on an action
/// item no longer in the chart are not shown.
pub fn build<'a>(sessions: impl Iterator<Item = &'a Session>, votes: &VotesInput) -> Priorities {
    let mut ranked: Vec<PrioritySession> = Vec::new();
    for s in sessions {
        let own = votes.sessions.get(&s.id).copied().unwrap_or(0);
        let mut actions: Vec<PriorityAction> = Vec::new();
        if let Some(items) = votes.items.get(&s.id) {
            for a in &s.action_items {
                let Some(id) = &a.id else { continue };
                let n = items.get(id).copied().unwrap_or(0);
                if n > 0 && !actions.iter().any(|x| &x.id == id) {
                    actions.push(PriorityAction {
                        id: id.clone(),
                        text: a.text.clone(),
                        done: a.done,
                        votes: n,
                    });
                }
            }
        }
        let action_votes = actions.iter().map(|a| a.votes).sum();
        if own == 0 && action_votes == 0 {
            continue;
        }
        // Stable: equal counts keep the chart's order.
        actions.sort_by_key(|a| std::cmp::Reverse(a.votes));
        actions.truncate(TOP_ACTIONS);
        ranked.push(PrioritySession {
            rank: 0,
            session_id: s.id.clone(),
            anchor: s.anchor.clone(),
            topic: s.topic.clone(),
            votes: own,
            action_votes,
            actions,
        });
    }
    // Stable: equal counts keep the agenda's order.
    ranked.sort_by_key(|s| std::cmp::Reverse((s.votes, s.action_votes)));
    let mut previous = None;
    for (i, s) in ranked.iter_mut().enumerate() {
        let key = (s.votes, s.action_votes);
        s.rank = match previous {
            Some((k, r)) if k == key => r,
            _ => i as u32 + 1,
        };
        previous = Some((key, s.rank));
    }
    Priorities {
        voters: votes.voters,
        sessions: ranked,
    }
}

/// "1 vote", "3 votes".
pub fn votes_label(n: u32) -> String {
    if n == 1 {
        "1 vote".to_owned()
    } else {
        format!("{n} votes")
    }
}
