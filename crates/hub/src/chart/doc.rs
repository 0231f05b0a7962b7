//! The document side of a chart, pure (no IO, no actor state): integrating
//! a client's update without keeping pending state, replaying a stored log
//! into a Doc, and merging a batch's updates. The fuzz targets and the
//! mutation test drive exactly these functions.

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use easel_protocol as protocol;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update, WriteTxn};

use crate::HubError;

/// Rebuilds a Doc from a chart's stored snapshot and log. Pure (no IO), so
/// the log-replay fuzz target drives exactly what a chart load does. A
/// stored entry that does not decode, apply, or leaves missing
/// dependencies is an error, never a silently shorter chart.
pub fn replay(stored: &easel_store::StoredChart) -> Result<Doc, HubError> {
    replay_updates(stored.snapshot.iter().chain(stored.updates.iter()))
}

/// Applies stored updates in order to a fresh Doc; anything that does not
/// decode, apply, or leaves missing dependencies fails the load loudly.
pub(crate) fn replay_updates<'a, B: AsRef<[u8]> + 'a + ?Sized>(
    updates: impl Iterator<Item = &'a B>,
) -> Result<Doc, HubError> {
    let doc = Doc::new();
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let mut txn = doc.transact_mut();
        for bytes in updates {
            let bytes = bytes.as_ref();
            // The same structural check as client input: a damaged entry
            // can declare billions of items (found by the log_replay fuzzer).
            protocol::check_update(bytes).map_err(|e| format!("damaged stored update: {e}"))?;
            let update =
                Update::decode_v1(bytes).map_err(|e| format!("undecodable stored update: {e}"))?;
            txn.apply_update(update)
                .map_err(|e| format!("stored update does not apply: {e}"))?;
        }
        if txn.has_missing_updates() {
            return Err("stored updates leave missing dependencies".into());
        }
        Ok(())
    }));
    match result {
        Ok(Ok(())) => Ok(doc),
        Ok(Err(e)) => Err(HubError::Load(e)),
        Err(_) => Err(HubError::Load(
            "yrs panicked while replaying the log".into(),
        )),
    }
}

pub(crate) fn encode_full(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// What applying one client update did to a Doc.
#[derive(Debug, PartialEq, Eq)]
pub enum Integrated {
    /// Everything integrated: store and broadcast the client's own bytes.
    All,
    /// Part integrated, the rest needed missing dependencies and was pruned:
    /// store and broadcast these bytes (what did integrate); ask for a resync.
    Partial(Vec<u8>),
    /// Nothing new (a duplicate, or an empty sync step 2).
    Nothing,
    /// Nothing integrated and the rest was pruned: ask for a resync.
    NothingButPending,
    /// Not a valid update.
    Rejected(String),
    /// yrs panicked; the Doc may be damaged and must be reloaded.
    Panicked,
}

/// Applies one client update to `doc`, keeping no pending state. Pure (no
/// IO), so the fuzz target and the mutation test drive exactly this.
pub fn integrate(doc: &Doc, bytes: &[u8]) -> Integrated {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let update = match Update::decode_v1(bytes) {
            Ok(u) => u,
            Err(e) => return Integrated::Rejected(format!("undecodable update: {e}")),
        };
        let mut txn = doc.transact_mut();
        if let Err(e) = txn.apply_update(update) {
            return Integrated::Rejected(format!("update does not apply: {e}"));
        }
        let changed = |txn: &yrs::TransactionMut| {
            !(txn.insert_set().is_empty() && txn.delete_set().is_empty())
        };
        if txn.has_missing_updates() {
            // Pending state poisons later encodes (yrs 0.28): never keep it.
            txn.prune_pending();
            return if changed(&txn) {
                Integrated::Partial(txn.encode_update_v1())
            } else {
                Integrated::NothingButPending
            };
        }
        if changed(&txn) {
            Integrated::All
        } else {
            Integrated::Nothing
        }
    }));
    outcome.unwrap_or(Integrated::Panicked)
}

/// An update that carries nothing: no structs, empty delete set. Read-only
/// clients send these as their sync step 2; they are not edits.
pub(crate) fn is_empty_update(bytes: &[u8]) -> bool {
    match Update::decode_v1(bytes) {
        Ok(update) => update.is_empty(),
        Err(_) => false,
    }
}

/// Merges consecutive updates into groups of about `limit` bytes (a group
/// ends at the update that reaches it). An update alone, or a group yrs
/// cannot merge, is kept as it is.
pub(crate) fn merge_groups(updates: Vec<Bytes>, limit: usize) -> Vec<Bytes> {
    if updates.len() < 2 {
        return updates;
    }
    let mut merged = Vec::new();
    let mut group: Vec<Bytes> = Vec::new();
    let mut size = 0;
    let last = updates.len() - 1;
    for (i, update) in updates.into_iter().enumerate() {
        size += update.len();
        group.push(update);
        if size < limit && i < last {
            continue;
        }
        if group.len() == 1 {
            merged.append(&mut group);
        } else {
            let parts: Vec<&[u8]> = group.iter().map(|u| u.as_ref()).collect();
            match yrs::merge_updates_v1(&parts) {
                Ok(bytes) => {
                    merged.push(Bytes::from(bytes));
                    group.clear();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "merging a batch failed; keeping its updates apart");
                    merged.append(&mut group);
                }
            }
        }
        size = 0;
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, Text};

    /// Two edits of one client: the second depends on the first.
    fn two_edits() -> (Vec<u8>, Vec<u8>) {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("t");
        let first = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "hello");
            txn.encode_update_v1()
        };
        let second = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 5, " world");
            txn.encode_update_v1()
        };
        (first, second)
    }

    fn text_of(doc: &Doc) -> String {
        let text = doc.get_or_insert_text("t");
        text.get_string(&doc.transact())
    }

    #[test]
    fn integrate_tells_new_duplicate_pending_and_garbage_apart() {
        let (first, second) = two_edits();
        let doc = Doc::new();
        // The second edit alone waits for the first: nothing is kept pending.
        assert_eq!(integrate(&doc, &second), Integrated::NothingButPending);
        assert_eq!(text_of(&doc), "");
        assert_eq!(integrate(&doc, &first), Integrated::All);
        assert_eq!(integrate(&doc, &first), Integrated::Nothing);
        assert_eq!(integrate(&doc, &second), Integrated::All);
        assert_eq!(text_of(&doc), "hello world");
        assert!(matches!(
            integrate(&doc, &[0xff, 0xff, 0xff]),
            Integrated::Rejected(_)
        ));
    }

    #[test]
    fn integrate_keeps_what_applies_of_a_partly_pending_update() {
        let (first, second) = two_edits();
        // An unrelated client's edit merged with the dependent one.
        let other = Doc::with_client_id(9);
        let other_text = other.get_or_insert_text("t");
        let own = {
            let mut txn = other.transact_mut();
            other_text.insert(&mut txn, 0, "x");
            txn.encode_update_v1()
        };
        let merged = yrs::merge_updates_v1([own.as_slice(), second.as_slice()]).unwrap();
        let doc = Doc::new();
        let Integrated::Partial(kept) = integrate(&doc, &merged) else {
            panic!("expected a partial integration");
        };
        assert_eq!(text_of(&doc), "x");
        // What was kept applies cleanly elsewhere, and the rest arrives later.
        let replica = Doc::new();
        assert_eq!(integrate(&replica, &kept), Integrated::All);
        assert_eq!(integrate(&doc, &first), Integrated::All);
        assert_eq!(integrate(&doc, &second), Integrated::All);
        assert_eq!(text_of(&doc).len(), "hello world".len() + 1);
    }

    #[test]
    fn replay_refuses_a_log_with_a_gap_instead_of_a_shorter_chart() {
        let (first, second) = two_edits();
        let whole = replay_updates([first.as_slice(), second.as_slice()].into_iter()).unwrap();
        assert_eq!(text_of(&whole), "hello world");
        assert!(matches!(
            replay_updates([second.as_slice()].into_iter()),
            Err(HubError::Load(_))
        ));
    }

    #[test]
    fn merge_groups_respects_the_limit_and_keeps_every_edit() {
        let (first, second) = two_edits();
        let updates = vec![Bytes::from(first.clone()), Bytes::from(second.clone())];
        let one = merge_groups(updates.clone(), usize::MAX);
        assert_eq!(one.len(), 1);
        let apart = merge_groups(updates, 1);
        assert_eq!(apart.len(), 2);
        for batch in [one, apart] {
            let doc = Doc::new();
            for u in &batch {
                assert_ne!(integrate(&doc, u), Integrated::NothingButPending);
            }
            assert_eq!(text_of(&doc), "hello world");
        }
        assert!(is_empty_update(
            &Doc::new().transact_mut().encode_update_v1()
        ));
        assert!(!is_empty_update(&first));
    }
}
