//! Metadata documents behind a trait: what the binary's conferences, tokens
//! and chart index are stored in. One node keeps them in this store's sled
//! tree ([`Store`] implements [`MetaStore`]); a cluster keeps them in Redis
//! (`crates/cluster`, `RedisMeta`), so that every node sees every
//! conference, link, session and revocation (docs/scale-out.md).
//!
//! The trait is small on purpose: keyed byte documents, a conditional
//! write (the fencing check for edits), a prefix listing, a lock per scope
//! that holds across nodes, and a durable announcement channel between
//! nodes. The store knows nothing of what the documents or announcements
//! mean; the binary (`conferences.rs`) does.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use crate::{Store, StoreError};

/// A boxed future, so the trait stays object safe (`Arc<dyn MetaStore>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Documents as `(key, value)` pairs, in key order.
pub type Documents = Vec<(String, Vec<u8>)>;

/// Errors of a metadata store a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not reachable, or did not answer in time: retry later. Nothing is
    /// known to have been written.
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    /// Another node held the lock for longer than the wait allows.
    #[error("{0} is locked by another node; try again")]
    Locked(String),
    #[error("metadata store data is damaged: {0}")]
    Corrupt(String),
}

/// A held lock on one scope. Dropping it releases the lock (a cluster lock
/// is released in the background; its expiry covers a holder that died).
pub struct MetaLock {
    /// Whatever the implementation needs to release on drop; `None` for a
    /// store that only one process uses.
    _held: Option<Box<dyn Send + Sync>>,
}

impl MetaLock {
    /// A lock that nothing else can contend for (one process).
    pub fn local() -> MetaLock {
        MetaLock { _held: None }
    }

    /// A lock whose release is `held`'s `Drop`.
    pub fn held(held: Box<dyn Send + Sync>) -> MetaLock {
        MetaLock { _held: Some(held) }
    }
}

/// Keyed metadata documents, shared by every process that serves them.
///
/// Writes resolve `Ok` only once durable. Keys are `prefix/rest` strings.
pub trait MetaStore: Send + Sync + 'static {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, MetaError>>;

    fn put<'a>(&'a self, key: &'a str, value: &'a [u8]) -> BoxFuture<'a, Result<(), MetaError>>;

    /// Writes `value` only if the current value is `expected` (`None`:
    /// absent), atomically. `Ok(false)`: it was not; nothing was written.
    fn put_if<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<bool, MetaError>>;

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), MetaError>>;

    /// Every document whose key starts with `prefix`, in key order.
    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Documents, MetaError>>;

    /// Takes the lock of `scope` for every process sharing this store,
    /// waiting a bounded time for another holder.
    fn lock<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<MetaLock, MetaError>>;

    /// Tells every other process sharing this store about `event` (opaque
    /// bytes). Resolves once the announcement is durable, so a process that
    /// is away now still gets it when it comes back.
    fn announce<'a>(&'a self, event: &'a [u8]) -> BoxFuture<'a, Result<(), MetaError>>;

    /// The other processes' announcements, in order, once per store (later
    /// calls get `None`); `None` as well where no other process exists.
    fn announcements(&self) -> Option<mpsc::Receiver<Vec<u8>>>;

    /// The local store, when the documents are in it: then a document and
    /// outbox entries can be written in one atomic step
    /// ([`Store::put_document_if_with_outbox`]).
    fn local_store(&self) -> Option<&Store> {
        None
    }
}

/// One node: the sled tree. Locks are the caller's in-process mutex, and
/// there is nobody to announce to.
impl MetaStore for Store {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, MetaError>> {
        Box::pin(async move { Ok(self.get_document(key)?) })
    }

    fn put<'a>(&'a self, key: &'a str, value: &'a [u8]) -> BoxFuture<'a, Result<(), MetaError>> {
        Box::pin(async move { Ok(self.put_document(key, value).await?) })
    }

    fn put_if<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: &'a [u8],
    ) -> BoxFuture<'a, Result<bool, MetaError>> {
        Box::pin(async move { Ok(self.put_document_if(key, expected, value).await?) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), MetaError>> {
        Box::pin(async move { Ok(self.remove_document(key).await?) })
    }

    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Documents, MetaError>> {
        Box::pin(async move { Ok(self.scan_documents(prefix)?) })
    }

    fn lock<'a>(&'a self, _scope: &'a str) -> BoxFuture<'a, Result<MetaLock, MetaError>> {
        Box::pin(async { Ok(MetaLock::local()) })
    }

    fn announce<'a>(&'a self, _event: &'a [u8]) -> BoxFuture<'a, Result<(), MetaError>> {
        Box::pin(async { Ok(()) })
    }

    fn announcements(&self) -> Option<mpsc::Receiver<Vec<u8>>> {
        None
    }

    fn local_store(&self) -> Option<&Store> {
        Some(self)
    }
}
