//! Convergence: dot voting on session reports and action items.
//!
//! An organizer opens a convergence phase (by hand or at set times) and
//! gives every voter `dots` dots to place on sessions (their reports) and
//! on action items (a chart's task items, named by their `actionId`; see
//! `docs/chart-schema.md`). Dots may be stacked on one target.
//!
//! Stored as one metadata document per conference, `votes/{id}` (a
//! [`Convergence`]), written under the conference's edit lock with the
//! same conditional write as the agenda, so votes go through the same
//! store and cluster path but do not bump the agenda's version or resend
//! the agenda to every live stream.
//!
//! Who a voter is comes from the server, never from the request body: a
//! personal link ([`TokenRecord::personal`]) is one voter, named by its
//! token id; a shared edit link votes only when the organizer allows it,
//! one vote set per browser key (a random key the browser keeps, hashed
//! here; unverified, like a poster key).
//!
//! The phase is open at `t` when `opens_at <= t < closes_at` (no
//! `closes_at`: open until closed). Opening and closing by hand set those
//! times to now, so both kinds are the same rule, checked against the
//! server's clock on every vote. Timers ([`Conferences::settle_phase`])
//! only tell live clients and announce the close; they do not guard votes.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::tokens::{self as access, Minted, Role, TokenRecord};
use crate::{to_json, Conferences, Effect, Error, Result};

/// A conference's convergence settings and the dots placed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Convergence {
    /// Bumped on every change; live `votes` events carry it.
    #[serde(default)]
    pub version: u64,
    /// Dots each voter may place.
    #[serde(default = "default_dots")]
    pub dots: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<Timestamp>,
    /// Whether shared (non-personal) edit links may vote, one vote set per
    /// browser.
    #[serde(default)]
    pub shared_links_vote: bool,
    /// The `closes_at` whose close was announced (so each close is
    /// announced once, by whichever node gets there first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_announced: Option<Timestamp>,
    /// Voter id -> the targets of their dots (one entry per dot).
    #[serde(default)]
    pub voters: BTreeMap<String, Vec<Target>>,
}

fn default_dots() -> u32 {
    5
}

/// What a dot is placed on: a session's report, or one of its action
/// items.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Target {
    pub session_id: String,
    /// The action item's `actionId`; absent: the session itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
}

/// Whether votes are taken at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No opening time set.
    NotOpened,
    /// Opens at `opens_at`.
    Scheduled,
    Open,
    Closed,
}

/// Vote counts: per session (dots on the session itself) and per action
/// item (session id -> item id -> dots).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tallies {
    pub sessions: BTreeMap<String, u32>,
    pub items: BTreeMap<String, BTreeMap<String, u32>>,
    /// Voters who placed at least one dot.
    pub voters: u32,
}

impl Convergence {
    pub fn phase(&self, now: Timestamp) -> Phase {
        match (self.opens_at, self.closes_at) {
            (None, _) => Phase::NotOpened,
            (Some(_), Some(c)) if c <= now => Phase::Closed,
            (Some(o), _) if now < o => Phase::Scheduled,
            _ => Phase::Open,
        }
    }

    pub fn tallies(&self) -> Tallies {
        let mut t = Tallies::default();
        for dots in self.voters.values() {
            if !dots.is_empty() {
                t.voters += 1;
            }
            for d in dots {
                match &d.item_id {
                    None => *t.sessions.entry(d.session_id.clone()).or_default() += 1,
                    Some(item) => {
                        *t.items
                            .entry(d.session_id.clone())
                            .or_default()
                            .entry(item.clone())
                            .or_default() += 1
                    }
                }
            }
        }
        t
    }

    /// The dots one voter placed.
    pub fn dots_of(&self, voter: &str) -> &[Target] {
        self.voters.get(voter).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Why a vote or a convergence change was refused.
#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    #[error("voting is closed: {0}")]
    Closed(String),
    #[error("all your {0} dots are placed; remove one to place it elsewhere")]
    NoDotsLeft(u32),
    #[error("{0}")]
    NotAVoter(String),
    #[error("session {0:?} is not on this conference's agenda")]
    UnknownSession(String),
    #[error("session {session:?} has no action item {item:?}")]
    UnknownItem { session: String, item: String },
    #[error("you have no dot on that")]
    NoDot,
    #[error("{0}")]
    Invalid(String),
}

/// Who asks to vote, as the request's token and headers say.
#[derive(Debug, Clone)]
pub struct VoterClaim {
    pub token: TokenRecord,
    /// `X-Easel-Voter-Key` (shared links only).
    pub browser_key: Option<String>,
}

/// Shortest and longest browser voter key accepted.
const BROWSER_KEY_LEN: std::ops::RangeInclusive<usize> = 16..=128;

impl VoterClaim {
    /// The voter id this claim votes as, under `c`'s rules.
    pub fn voter_id(&self, c: &Convergence) -> Result<String, VoteError> {
        if self.token.role < Role::Edit {
            return Err(VoteError::NotAVoter(
                "a read link cannot vote; ask the organizers for a personal link".into(),
            ));
        }
        if self.token.personal {
            return Ok(format!("p-{}", self.token.id));
        }
        if !c.shared_links_vote {
            return Err(VoteError::NotAVoter(
                "only personal links may vote in this conference; ask the organizers for yours"
                    .into(),
            ));
        }
        let key = self
            .browser_key
            .as_deref()
            .filter(|k| BROWSER_KEY_LEN.contains(&k.len()))
            .ok_or_else(|| {
                VoteError::NotAVoter(
                    "a shared link votes with a browser key (X-Easel-Voter-Key, 16 to 128 characters)"
                        .into(),
                )
            })?;
        Ok(format!("b-{}", &access::hash_token(key)[..32]))
    }
}

/// An organizer's change of the convergence settings; `None` leaves a
/// field as it is, `Some(None)` clears a time.
#[derive(Debug, Clone, Default)]
pub struct ConvergenceChange {
    pub dots: Option<u32>,
    pub opens_at: Option<Option<Timestamp>>,
    pub closes_at: Option<Option<Timestamp>>,
    pub shared_links_vote: Option<bool>,
    /// Open now (and drop a past closing time).
    pub open_now: bool,
    /// Close now.
    pub close_now: bool,
}

/// The limits a deployment sets (`--max-dots`, `--max-voter-names`).
#[derive(Debug, Clone, Copy)]
pub struct VoteLimits {
    pub max_dots: u32,
    pub max_names: usize,
}

/// Longest voter name (the link's label).
pub const MAX_NAME_CHARS: usize = 200;

/// Names from a pasted list: one per line, or CSV whose header has a
/// `name` column (any case). Blank lines are skipped; surrounding spaces
/// trimmed; every name at most [`MAX_NAME_CHARS`] without control
/// characters; duplicates (ignoring case) refused, since two links with one
/// name cannot be told apart on the list.
pub fn parse_names(text: &str, max: usize) -> Result<Vec<String>, VoteError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let raw: Vec<(usize, String)> = if first.contains(',') || first.contains(';') {
        csv_names(text)?
    } else {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim().to_owned()))
            .filter(|(_, l)| !l.is_empty())
            .collect()
    };
    if raw.is_empty() {
        return Err(VoteError::Invalid(
            "the list has no names: give one name per line, or CSV with a name column".into(),
        ));
    }
    if raw.len() > max {
        return Err(VoteError::Invalid(format!(
            "the list has {} names; at most {max} at once (--max-voter-names)",
            raw.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (line, name) in raw {
        if name.chars().any(char::is_control) {
            return Err(VoteError::Invalid(format!(
                "line {line}: the name contains a control character"
            )));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(VoteError::Invalid(format!(
                "line {line}: the name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        if !seen.insert(name.to_lowercase()) {
            return Err(VoteError::Invalid(format!(
                "line {line}: {name:?} is on the list twice; make the names unique"
            )));
        }
        out.push(name);
    }
    Ok(out)
}

fn csv_names(text: &str) -> Result<Vec<(usize, String)>, VoteError> {
    let delimiter = if text
        .lines()
        .next()
        .is_some_and(|l| l.contains(';') && !l.contains(','))
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| VoteError::Invalid(format!("CSV header: {e}")))?
        .clone();
    let column = headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("name"))
        .ok_or_else(|| {
            VoteError::Invalid(
                "CSV needs a header row with a \"name\" column (or give one name per line, without commas)"
                    .into(),
            )
        })?;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| VoteError::Invalid(format!("CSV: {e}")))?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let name = record.get(column).unwrap_or("").trim().to_owned();
        if !name.is_empty() {
            out.push((line, name));
        }
    }
    Ok(out)
}

fn votes_key(id: &str) -> String {
    format!("votes/{id}")
}

/// How long a phase timer may sleep at once (a far-off time is slept
/// towards in steps, so a changed schedule is not missed for long).
const MAX_SLEEP: Duration = Duration::from_secs(3600);

impl Conferences {
    /// The stored convergence (defaults if none) and the bytes read.
    async fn load_votes(&self, id: &str) -> Result<(Convergence, Option<Vec<u8>>)> {
        match self.inner.meta.get(&votes_key(id)).await? {
            None => Ok((Convergence::default_settings(), None)),
            Some(bytes) => {
                let c = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Corrupt(format!("votes of {id}: {e}")))?;
                Ok((c, Some(bytes)))
            }
        }
    }

    async fn save_votes(&self, id: &str, c: &Convergence, read: Option<&[u8]>) -> Result<()> {
        if !self
            .inner
            .meta
            .put_if(&votes_key(id), read, &to_json(c)?)
            .await?
        {
            return Err(Error::Conflict(id.to_owned()));
        }
        Ok(())
    }

    async fn announce_votes(&self, id: &str, version: u64) {
        let effect = Effect::Votes {
            conference_id: id.to_owned(),
            version,
        };
        if let Err(e) = self.announce(effect).await {
            tracing::warn!(conference_id = id, error = %e, "votes change not announced to other nodes");
        }
    }

    /// The conference's convergence settings and votes.
    pub async fn convergence(&self, id: &str) -> Result<Convergence> {
        self.load_shared(id).await?;
        Ok(self.load_votes(id).await?.0)
    }

    /// Changes the settings (organizer). Announces a close made by hand at
    /// once and schedules timers for set times.
    pub async fn set_convergence(
        &self,
        id: &str,
        change: ConvergenceChange,
        limits: VoteLimits,
    ) -> Result<Convergence> {
        let now = Timestamp::now();
        let c = {
            let _guard = self.guard(id).await?;
            self.load_shared(id).await?;
            let (mut c, read) = self.load_votes(id).await?;
            if let Some(d) = change.dots {
                if d == 0 || d > limits.max_dots {
                    return Err(VoteError::Invalid(format!(
                        "dots per voter must be 1 to {} (--max-dots)",
                        limits.max_dots
                    ))
                    .into());
                }
                c.dots = d;
            }
            if let Some(v) = change.shared_links_vote {
                c.shared_links_vote = v;
            }
            if let Some(o) = change.opens_at {
                c.opens_at = o;
            }
            if let Some(cl) = change.closes_at {
                c.closes_at = cl;
            }
            if change.open_now && change.close_now {
                return Err(VoteError::Invalid("open or close, not both".into()).into());
            }
            if change.open_now {
                c.opens_at = Some(now);
                if c.closes_at.is_some_and(|t| t <= now) {
                    c.closes_at = None;
                }
            }
            if change.close_now {
                if c.phase(now) != Phase::Open {
                    return Err(VoteError::Invalid("voting is not open".into()).into());
                }
                c.closes_at = Some(now);
            }
            if let (Some(o), Some(cl)) = (c.opens_at, c.closes_at) {
                if cl <= o {
                    return Err(
                        VoteError::Invalid("closes_at must be after opens_at".into()).into(),
                    );
                }
            }
            c.version += 1;
            self.save_votes(id, &c, read.as_deref()).await?;
            c
        };
        self.announce_votes(id, c.version).await;
        self.settle_phase(id).await?;
        self.schedule_phase(id, &c);
        self.load_votes(id).await.map(|(c, _)| c)
    }

    /// Places (`add`) or removes one dot of the claimed voter. Refused
    /// outside the phase, past the voter's dots, for a session not on
    /// this conference's agenda or an action item its chart does not hold.
    pub async fn vote(
        &self,
        id: &str,
        claim: &VoterClaim,
        target: Target,
        add: bool,
    ) -> Result<(Convergence, String)> {
        let c = {
            let _guard = self.guard(id).await?;
            let stored = self.load_shared(id).await?;
            let (mut c, read) = self.load_votes(id).await?;
            let voter = claim.voter_id(&c)?;
            let now = Timestamp::now();
            match c.phase(now) {
                Phase::Open => {}
                Phase::NotOpened => {
                    return Err(
                        VoteError::Closed("the organizers have not opened it".into()).into(),
                    )
                }
                Phase::Scheduled => {
                    return Err(VoteError::Closed(format!(
                        "it opens at {}",
                        c.opens_at.map(|t| t.to_string()).unwrap_or_default()
                    ))
                    .into())
                }
                Phase::Closed => {
                    return Err(VoteError::Closed(format!(
                        "it closed at {}",
                        c.closes_at.map(|t| t.to_string()).unwrap_or_default()
                    ))
                    .into())
                }
            }
            let dots = c.voters.entry(voter.clone()).or_default();
            if add {
                let session = stored
                    .conference
                    .sessions()
                    .iter()
                    .find(|s| s.id == target.session_id)
                    .ok_or_else(|| VoteError::UnknownSession(target.session_id.clone()))?;
                if let Some(item) = &target.item_id {
                    let content =
                        crate::proceedings::chart_content(self.hub(), &session.chart_id).await?;
                    if !content
                        .action_items()
                        .iter()
                        .any(|a| a.id.as_deref() == Some(item.as_str()))
                    {
                        return Err(VoteError::UnknownItem {
                            session: target.session_id.clone(),
                            item: item.clone(),
                        }
                        .into());
                    }
                }
                if dots.len() >= c.dots as usize {
                    return Err(VoteError::NoDotsLeft(c.dots).into());
                }
                dots.push(target);
            } else {
                let at = dots
                    .iter()
                    .rposition(|d| *d == target)
                    .ok_or(VoteError::NoDot)?;
                dots.remove(at);
            }
            if c.voters.get(&voter).is_some_and(Vec::is_empty) {
                c.voters.remove(&voter);
            }
            c.version += 1;
            self.save_votes(id, &c, read.as_deref()).await?;
            (c, voter)
        };
        self.announce_votes(id, c.0.version).await;
        Ok(c)
    }

    /// Drops a revoked personal link's dots (the caller holds the lock).
    pub(crate) async fn drop_voter_locked(&self, id: &str, token_id: &str) -> Result<()> {
        let (mut c, read) = self.load_votes(id).await?;
        if c.voters.remove(&format!("p-{token_id}")).is_none() {
            return Ok(());
        }
        c.version += 1;
        self.save_votes(id, &c, read.as_deref()).await?;
        self.announce_votes(id, c.version).await;
        Ok(())
    }

    /// Mints one personal edit link per name, all or none: each is one
    /// voter, labelled with the name, revocable alone.
    pub async fn mint_personal_links(&self, id: &str, names: &[String]) -> Result<Vec<Minted>> {
        let _guard = self.guard(id).await?;
        self.load(id).await?;
        let minted: Vec<Minted> = names
            .iter()
            .map(|n| {
                let mut m = access::mint(id, Role::Edit, n);
                m.record.personal = true;
                m
            })
            .collect();
        for (i, m) in minted.iter().enumerate() {
            if let Err(e) = self.put_token(&m.record).await {
                // Take back the ones stored: the organizer gets none or all.
                for done in &minted[..i] {
                    let _ = self
                        .inner
                        .meta
                        .remove(&access::token_key(&done.record.hash))
                        .await;
                }
                return Err(e);
            }
        }
        Ok(minted)
    }

    /// Tells live clients when the phase moved by the clock, and announces
    /// a close once (marking it in the document so no other node or
    /// restart announces it again).
    pub async fn settle_phase(&self, id: &str) -> Result<()> {
        let now = Timestamp::now();
        let (c, _) = self.load_votes(id).await?;
        let Some(closes) = c.closes_at.filter(|t| *t <= now) else {
            return Ok(());
        };
        if c.close_announced == Some(closes) {
            return Ok(());
        }
        let c = {
            let _guard = self.guard(id).await?;
            let (mut c, read) = self.load_votes(id).await?;
            if c.closes_at != Some(closes) || c.close_announced == Some(closes) {
                return Ok(());
            }
            c.close_announced = Some(closes);
            c.version += 1;
            self.save_votes(id, &c, read.as_deref()).await?;
            c
        };
        tracing::info!(conference_id = id, closes_at = %closes, "convergence closed");
        self.announce(Effect::ConvergenceClosed {
            conference_id: id.to_owned(),
            closed_at: closes.to_string(),
            tallies: serde_json::to_value(c.tallies()).unwrap_or_default(),
        })
        .await?;
        self.announce_votes(id, c.version).await;
        Ok(())
    }

    /// Wakes at the set opening and closing times (on this node) to tell
    /// live clients and announce the close.
    fn schedule_phase(&self, id: &str, c: &Convergence) {
        let now = Timestamp::now();
        for at in [c.opens_at, c.closes_at].into_iter().flatten() {
            if at <= now {
                continue;
            }
            let this = self.clone();
            let id = id.to_owned();
            tokio::spawn(async move {
                loop {
                    let left = Timestamp::now().duration_until(at);
                    let Ok(left) = Duration::try_from(left) else {
                        break;
                    };
                    if left.is_zero() {
                        break;
                    }
                    tokio::time::sleep(left.min(MAX_SLEEP)).await;
                }
                // Still the schedule? A changed one has its own timer.
                match this.load_votes(&id).await {
                    Ok((c, _)) if c.opens_at == Some(at) => {
                        this.announce_votes(&id, c.version).await
                    }
                    Ok((c, _)) if c.closes_at == Some(at) => {
                        if let Err(e) = this.settle_phase(&id).await {
                            tracing::warn!(conference_id = %id, error = %e, "convergence close not announced");
                        }
                    }
                    _ => {}
                }
            });
        }
    }

    /// At startup: announces closes that passed while no node ran and sets
    /// timers for the times ahead.
    pub async fn resume_convergence(&self) -> Result<()> {
        for (key, _) in self.inner.meta.scan("votes/").await? {
            let id = key.trim_start_matches("votes/");
            if let Err(e) = self.settle_phase(id).await {
                tracing::warn!(conference_id = id, error = %e, "convergence not resumed");
                continue;
            }
            if let Ok((c, _)) = self.load_votes(id).await {
                self.schedule_phase(id, &c);
            }
        }
        Ok(())
    }

    /// The dots for the proceedings' Priorities section; `None` when no
    /// convergence phase was ever opened or scheduled.
    pub async fn votes_input(&self, id: &str) -> Result<Option<easel_proceedings::VotesInput>> {
        let (c, _) = self.load_votes(id).await?;
        if c.opens_at.is_none() {
            return Ok(None);
        }
        let t = c.tallies();
        Ok(Some(easel_proceedings::VotesInput {
            sessions: t.sessions,
            items: t.items,
            voters: t.voters,
        }))
    }

    /// Removes the votes of a deleted conference.
    pub(crate) async fn delete_votes(&self, id: &str) -> Result<()> {
        self.inner.meta.remove(&votes_key(id)).await?;
        Ok(())
    }
}

impl Convergence {
    fn default_settings() -> Convergence {
        Convergence {
            dots: default_dots(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_follows_the_clock() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let mut c = Convergence::default_settings();
        assert_eq!(c.phase(t("2030-01-01T10:00:00Z")), Phase::NotOpened);
        c.opens_at = Some(t("2030-01-01T10:00:00Z"));
        c.closes_at = Some(t("2030-01-01T11:00:00Z"));
        assert_eq!(c.phase(t("2030-01-01T09:59:59Z")), Phase::Scheduled);
        assert_eq!(c.phase(t("2030-01-01T10:00:00Z")), Phase::Open);
        assert_eq!(c.phase(t("2030-01-01T10:59:59Z")), Phase::Open);
        assert_eq!(c.phase(t("2030-01-01T11:00:00Z")), Phase::Closed);
    }

    #[test]
    fn names_from_lines_and_csv() {
        assert_eq!(
            parse_names("Ada\n\n  Grace Hopper \r\nLinus\n", 10).unwrap(),
            ["Ada", "Grace Hopper", "Linus"]
        );
        assert_eq!(
            parse_names("email,Name\na@x,\"Lovelace, Ada\"\nb@x,Grace\n", 10).unwrap(),
            ["Lovelace, Ada", "Grace"]
        );
        assert_eq!(parse_names("name;team\nAda;A\n", 10).unwrap(), ["Ada"]);
        assert!(parse_names("", 10).is_err());
        assert!(parse_names(" \n \n", 10).is_err());
        assert!(parse_names("email,team\na,b\n", 10).is_err());
        assert!(parse_names("Ada\nBob\nCy", 2).is_err());
        assert!(parse_names("Ada\u{7}\n", 10).is_err());
        assert!(parse_names("Ada\nada\n", 10).is_err());
        assert!(parse_names(&"x".repeat(201), 10).is_err());
    }

    #[test]
    fn tallies_count_sessions_and_items() {
        let mut c = Convergence::default_settings();
        let s = |id: &str| Target {
            session_id: id.into(),
            item_id: None,
        };
        let i = |id: &str, item: &str| Target {
            session_id: id.into(),
            item_id: Some(item.into()),
        };
        c.voters
            .insert("p-a".into(), vec![s("s1"), s("s1"), i("s1", "x")]);
        c.voters.insert("p-b".into(), vec![s("s2"), i("s1", "x")]);
        c.voters.insert("p-c".into(), vec![]);
        let t = c.tallies();
        assert_eq!(t.sessions["s1"], 2);
        assert_eq!(t.sessions["s2"], 1);
        assert_eq!(t.items["s1"]["x"], 2);
        assert_eq!(t.voters, 2);
    }
}
