//! Where a session sits on the agenda, as readers count it: day number,
//! the round's place within its day, the space's place in the space list.
//! The proceedings, the exports and anything else that orders sessions
//! the way the agenda grid shows them use this one definition.

use crate::{Conference, Session};

/// A session's place on the agenda. Numbers are 1-based; 0 means the
/// session's round is not on the agenda (or its space is gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// The day number counted from the conference's start date.
    pub day: u32,
    /// The day's label, e.g. `Day 1 — Mon 3 Nov 2026`.
    pub day_label: String,
    /// The round's place within its day, by start time.
    pub round_in_day: u32,
    /// The space's place in the conference's space list.
    pub space: u32,
}

impl Position {
    /// The agenda's reading order: day, round, space (then the caller's
    /// tie-breaker, e.g. the session id).
    pub fn sort_key(&self) -> (u32, u32, u32) {
        (self.day, self.round_in_day, self.space)
    }
}

impl Conference {
    /// Where `session` sits on the agenda.
    pub fn position(&self, session: &Session) -> Position {
        let (day, day_label, round_in_day) = self
            .round(&session.round_id)
            .ok()
            .and_then(|round| {
                let date = self.local_date_of(round);
                let day = self.days().into_iter().find(|d| d.date == date)?;
                let mut in_day: Vec<_> = self
                    .rounds()
                    .iter()
                    .filter(|o| day.round_ids.contains(&o.id))
                    .collect();
                in_day.sort_by_key(|o| (o.starts_at, o.id.clone()));
                let place = in_day.iter().position(|o| o.id == round.id).unwrap_or(0);
                Some((day.number, day.label, place as u32 + 1))
            })
            .unwrap_or((0, String::new(), 0));
        let space = self
            .spaces()
            .iter()
            .position(|sp| sp.id == session.space_id)
            .map_or(0, |i| i as u32 + 1);
        Position {
            day,
            day_label,
            round_in_day,
            space,
        }
    }
}
