//! Full-text search over a conference's charts: topics, notes, action items
//! and board stickies, ranked (BM25) with highlighted snippets and the place
//! in the chart each hit opens at.
//!
//! The index ([`SearchIndex`], tantivy) lives in the data dir (`search/`)
//! and holds one document per passage (see [`passages`]). It is kept up to
//! date off the data path by the indexer ([`Search::start`]): it follows
//! the hub's change feed (`Hub::subscribe_changes`) and the conference
//! service's notices (agenda changes, deletions, other nodes' chart edits),
//! waits a short debounce per chart, then reads the chart's current state
//! and replaces its passages, one commit per batch. Nothing here runs on a
//! chart actor: the only cost to the write path is one state read per chart
//! per debounce window. docs/search.md says what is guaranteed.

pub mod index;
mod indexer;
pub mod passages;

pub use index::{Change, ChartRecord, Hit, Results, SearchIndex};
pub use indexer::{all_records, Search, SearchConfig};
pub use passages::{Passage, PassageKind, Place};

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query has nothing to search for (no letters or digits).
    #[error("the query has no words to search for")]
    NoWords,
    /// The query could not be understood even as plain words.
    #[error("the query could not be parsed: {0}")]
    Query(String),
    /// The index (tantivy) failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be prepared.
    #[error("search index directory {0}: {1}")]
    Io(std::path::PathBuf, std::io::Error),
    /// Reading a conference or chart to index it failed.
    #[error("reading what to index: {0}")]
    Source(#[from] easel_conferences::Error),
    /// The indexer has stopped (the server is shutting down).
    #[error("the search indexer has stopped")]
    Stopped,
    /// A blocking task of the index panicked.
    #[error("search task failed: {0}")]
    Task(String),
}
