//! Presence: who is in a chart right now (names, colours, cursors).
//!
//! Awareness states are not part of the document and are never stored. The
//! table remembers which connection announced each client id, so that a
//! closing connection's states can be removed and that removal broadcast
//! (y-websocket relies on the server for this), and it expires states that
//! were not renewed in time, which yrs' own `Awareness` does not do.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::ClientID;

use crate::ConnId;

struct Entry {
    clock: u32,
    json: Arc<str>,
    owner: ConnId,
    renewed: Instant,
}

/// The JSON a removed state carries on the wire.
const REMOVED: &str = "null";

/// One chart's presence table.
#[derive(Default)]
pub struct Presence {
    states: HashMap<ClientID, Entry>,
}

impl Presence {
    /// Applies a client's awareness update and returns the entries that
    /// changed something, to broadcast. Stale clocks are dropped, as
    /// y-protocols does.
    pub fn apply(
        &mut self,
        owner: ConnId,
        update: AwarenessUpdate,
        now: Instant,
    ) -> Option<AwarenessUpdate> {
        let mut changed = HashMap::new();
        for (client, entry) in update.clients {
            let removal = &*entry.json == REMOVED;
            match self.states.get_mut(&client) {
                Some(current) => {
                    let newer = entry.clock > current.clock
                        || (entry.clock == current.clock && removal && &*current.json != REMOVED);
                    if !newer {
                        // A renewal with the same clock still counts as "alive".
                        if entry.clock == current.clock {
                            current.renewed = now;
                        }
                        continue;
                    }
                    if removal {
                        self.states.remove(&client);
                    } else {
                        current.clock = entry.clock;
                        current.json = entry.json.clone();
                        current.owner = owner;
                        current.renewed = now;
                    }
                }
                None if removal => continue,
                None => {
                    self.states.insert(
                        client,
                        Entry {
                            clock: entry.clock,
                            json: entry.json.clone(),
                            owner,
                            renewed: now,
                        },
                    );
                }
            }
            changed.insert(client, entry);
        }
        (!changed.is_empty()).then_some(AwarenessUpdate { clients: changed })
    }

    /// Every known state, for a newcomer or a query-awareness.
    pub fn full(&self) -> Option<AwarenessUpdate> {
        self.full_where(|_| true)
    }

    /// The states whose announcing connection passes `owned` (in a cluster:
    /// this node's own clients, to answer another node's query).
    pub fn full_where(&self, owned: impl Fn(ConnId) -> bool) -> Option<AwarenessUpdate> {
        let clients: HashMap<_, _> = self
            .states
            .iter()
            .filter(|(_, e)| owned(e.owner))
            .map(|(id, e)| {
                (
                    *id,
                    AwarenessUpdateEntry {
                        clock: e.clock,
                        json: e.json.clone(),
                    },
                )
            })
            .collect();
        (!clients.is_empty()).then_some(AwarenessUpdate { clients })
    }

    /// Removes every state a connection announced; returns the removal to
    /// broadcast.
    pub fn remove_owner(&mut self, owner: ConnId) -> Option<AwarenessUpdate> {
        self.remove_where(|e| e.owner == owner)
    }

    /// Removes states not renewed within `timeout`.
    pub fn expire(&mut self, now: Instant, timeout: Duration) -> Option<AwarenessUpdate> {
        self.remove_where(|e| now.duration_since(e.renewed) > timeout)
    }

    fn remove_where(&mut self, pred: impl Fn(&Entry) -> bool) -> Option<AwarenessUpdate> {
        let gone: Vec<ClientID> = self
            .states
            .iter()
            .filter(|(_, e)| pred(e))
            .map(|(id, _)| *id)
            .collect();
        if gone.is_empty() {
            return None;
        }
        let mut clients = HashMap::new();
        for id in gone {
            if let Some(e) = self.states.remove(&id) {
                clients.insert(
                    id,
                    AwarenessUpdateEntry {
                        clock: e.clock + 1,
                        json: REMOVED.into(),
                    },
                );
            }
        }
        Some(AwarenessUpdate { clients })
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// Longest a presence change (a cursor, a name, someone leaving) waits to go
/// out with the chart's next delivery round.
///
/// Why: sent one by one, awareness updates cost as many sends as the
/// document's updates in a conference burst (one state a second from each
/// of 3,000 clients). Held this long, a change rides along with the next
/// round of document updates, and changes of several clients go out as one
/// message; a human does not see 50 ms on a cursor.
pub const PRESENCE_DELAY: Duration = Duration::from_millis(50);

/// Presence changes held for the next delivery round (see [`PRESENCE_DELAY`]).
#[derive(Default)]
pub struct PresenceBatch {
    /// The held changes, and since when the oldest waits.
    held: Option<(HashMap<ClientID, AwarenessUpdateEntry>, Instant)>,
}

impl PresenceBatch {
    /// Holds a change. The presence table let only newer clocks through, so a
    /// later change of the same client replaces the held one.
    pub fn hold(&mut self, update: AwarenessUpdate) {
        let (held, _) = self
            .held
            .get_or_insert_with(|| (HashMap::new(), Instant::now()));
        held.extend(update.clients);
    }

    /// When the held changes must go out at the latest.
    pub fn due(&self) -> Option<Instant> {
        self.held.as_ref().map(|(_, since)| *since + PRESENCE_DELAY)
    }

    /// The held changes as one update, when they ride along with document
    /// updates (`with_updates`) or their time is up.
    pub fn take(&mut self, with_updates: bool, now: Instant) -> Option<AwarenessUpdate> {
        if !with_updates && self.due().is_none_or(|due| now < due) {
            return None;
        }
        let (clients, _) = self.held.take()?;
        Some(AwarenessUpdate { clients })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upd(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
        let mut clients = HashMap::new();
        clients.insert(
            ClientID::new(client),
            AwarenessUpdateEntry {
                clock,
                json: json.into(),
            },
        );
        AwarenessUpdate { clients }
    }

    #[test]
    fn add_update_stale_remove() {
        let mut p = Presence::default();
        let t = Instant::now();
        assert!(p.apply(1, upd(10, 1, r#"{"n":1}"#), t).is_some());
        assert!(
            p.apply(1, upd(10, 0, r#"{"n":0}"#), t).is_none(),
            "stale clock ignored"
        );
        assert!(p.apply(1, upd(10, 2, r#"{"n":2}"#), t).is_some());
        assert_eq!(p.len(), 1);
        let removal = p.remove_owner(1).unwrap();
        assert_eq!(&*removal.clients[&ClientID::new(10)].json, "null");
        assert_eq!(removal.clients[&ClientID::new(10)].clock, 3);
        assert!(p.is_empty());
    }

    #[test]
    fn expiry() {
        let mut p = Presence::default();
        let t = Instant::now();
        p.apply(1, upd(10, 1, "{}"), t);
        p.apply(2, upd(11, 1, "{}"), t + Duration::from_secs(20));
        let gone = p
            .expire(t + Duration::from_secs(31), Duration::from_secs(30))
            .unwrap();
        assert_eq!(gone.clients.len(), 1);
        assert!(gone.clients.contains_key(&ClientID::new(10)));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn held_presence_rides_with_updates_or_waits_its_delay() {
        let mut batch = PresenceBatch::default();
        let t = Instant::now();
        assert!(batch.take(true, t).is_none(), "nothing held");
        batch.hold(upd(1, 1, r#"{"a":1}"#));
        batch.hold(upd(1, 2, r#"{"a":2}"#));
        batch.hold(upd(2, 1, r#"{"b":1}"#));
        let due = batch.due().unwrap();
        assert!(due <= Instant::now() + PRESENCE_DELAY);
        assert!(batch.take(false, t).is_none(), "not due, no updates");
        let out = batch.take(false, due).unwrap();
        assert_eq!(out.clients.len(), 2, "one entry per client");
        assert_eq!(
            out.clients[&ClientID::new(1)].clock,
            2,
            "the later change wins"
        );
        assert!(batch.due().is_none());
        batch.hold(upd(3, 1, "{}"));
        assert!(batch.take(true, t).is_some(), "rides along with updates");
    }
}
