//! Two trees for work that must outlive the process but is not a chart or
//! a metadata document: the *outbox* (messages to send later, written in
//! the same atomic step as the document change that causes them) and the
//! *journal of attempts* (`attempts`, a bounded history the caller trims).
//! The store does not know what the entries mean (the webhooks crate does);
//! keys and values are opaque bytes, kept in key order.
//!
//! | tree       | key            | value          |
//! |------------|----------------|----------------|
//! | `outbox`   | caller-defined | caller-defined |
//! | `attempts` | caller-defined | caller-defined |

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::{Store, StoreError};

/// Entries as `(key, value)` pairs.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

impl Store {
    /// Writes a metadata document only if its current value is `expected`
    /// (like [`Store::put_document_if`]) and, in the same atomic write,
    /// the outbox `entries`; waits until both are durable. `Ok(false)`:
    /// the document was something else; nothing was written. A crash can
    /// leave the document and the outbox both changed or both unchanged,
    /// never one without the other.
    pub async fn put_document_if_with_outbox(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<bool, StoreError> {
        let result = (&self.inner.documents, &self.inner.outbox).transaction(|(docs, outbox)| {
            if docs.get(key)?.as_deref() != expected {
                return Err(ConflictableTransactionError::Abort(()));
            }
            docs.insert(key.as_bytes(), value)?;
            for (k, v) in entries {
                outbox.insert(k.as_slice(), v.as_slice())?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => return Ok(false),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await?;
        Ok(true)
    }

    /// Writes outbox entries and waits until they are durable.
    pub async fn put_outbox(&self, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        for (k, v) in entries {
            self.inner.outbox.insert(k.as_slice(), v.as_slice())?;
        }
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await
    }

    /// Removes an outbox entry and waits until that is durable.
    pub async fn remove_outbox(&self, key: &[u8]) -> Result<(), StoreError> {
        self.inner.outbox.remove(key)?;
        let ticket = self.ticket_after_write();
        self.checkpointed(ticket).await
    }

    /// Removes an outbox entry without waiting: durable with the next
    /// checkpoint (at most half a second later). For entries whose loss of
    /// removal in a crash only repeats work (a delivered message sent
    /// again), it saves a flush per entry.
    pub fn discard_outbox(&self, key: &[u8]) -> Result<(), StoreError> {
        self.inner.outbox.remove(key)?;
        self.ticket_after_write();
        Ok(())
    }

    /// Outbox entries whose key starts with `prefix`, in key order.
    pub fn scan_outbox(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        scan(&self.inner.outbox, prefix)
    }

    /// How many outbox entries have keys starting with `prefix`.
    pub fn count_outbox(&self, prefix: &[u8]) -> Result<usize, StoreError> {
        let mut n = 0;
        for key in self.inner.outbox.scan_prefix(prefix).keys() {
            key?;
            n += 1;
        }
        Ok(n)
    }

    /// Writes an attempts entry; durable with the next checkpoint (at most
    /// half a second later), not waited for: a history lost in a crash is
    /// only a shorter history.
    pub fn insert_attempt(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.inner.attempts.insert(key, value)?;
        self.ticket_after_write();
        Ok(())
    }

    /// Removes an attempts entry (durable with the next checkpoint).
    pub fn remove_attempt(&self, key: &[u8]) -> Result<(), StoreError> {
        self.inner.attempts.remove(key)?;
        self.ticket_after_write();
        Ok(())
    }

    /// Attempts entries whose key starts with `prefix`, in key order.
    pub fn scan_attempts(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        scan(&self.inner.attempts, prefix)
    }
}

fn scan(tree: &sled::Tree, prefix: &[u8]) -> Result<Entries, StoreError> {
    tree.scan_prefix(prefix)
        .map(|entry| {
            let (k, v) = entry?;
            Ok((k.to_vec(), v.to_vec()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::Store;

    /// The document and the outbox change together or not at all, and
    /// both are there after reopening.
    #[tokio::test]
    async fn document_and_outbox_in_one_write() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_document("conf/a", b"v1").await.unwrap();
            let entry = vec![(b"e/1".to_vec(), b"event".to_vec())];
            // Stale expectation: nothing written, not even the outbox entry.
            assert!(!store
                .put_document_if_with_outbox("conf/a", Some(b"v0"), b"v2", &entry)
                .await
                .unwrap());
            assert!(store.scan_outbox(b"").unwrap().is_empty());
            assert!(store
                .put_document_if_with_outbox("conf/a", Some(b"v1"), b"v2", &entry)
                .await
                .unwrap());
            store.insert_attempt(b"w/1", b"a").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.get_document("conf/a").unwrap().unwrap(), b"v2");
        assert_eq!(
            store.scan_outbox(b"e/").unwrap(),
            vec![(b"e/1".to_vec(), b"event".to_vec())]
        );
        store.remove_outbox(b"e/1").await.unwrap();
        assert!(store.scan_outbox(b"").unwrap().is_empty());
        assert_eq!(store.scan_attempts(b"w/").unwrap().len(), 1);
    }
}
