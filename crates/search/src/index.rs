//! The tantivy index: one document per passage, filtered by conference on
//! every search.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::passages::{Passage, PassageKind, Place};
use crate::SearchError;

/// Bumped whenever the schema or the tokenizer changes: an index written
/// by another version is discarded and rebuilt.
const SCHEMA_VERSION: &str = "easel-search 1";
const VERSION_FILE: &str = "easel-version";
/// Written after the last commit of a clean shutdown and removed at open:
/// an index opened without it may lack the last edits before a crash.
const CLEAN_FILE: &str = "easel-clean";
const TOKENIZER: &str = "easel";
/// The writer's indexing memory (tantivy's minimum per thread).
const WRITER_MEMORY: usize = 15_000_000;
/// Characters of a passage shown around its matches.
const SNIPPET_CHARS: usize = 160;

#[derive(Clone, Copy)]
struct Fields {
    conference: Field,
    chart: Field,
    session: Field,
    topic: Field,
    kind: Field,
    place: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_options = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        conference: b.add_text_field("conference", STRING | STORED),
        chart: b.add_text_field("chart", STRING | STORED),
        session: b.add_text_field("session", STORED),
        topic: b.add_text_field("topic", STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        place: b.add_text_field("place", STORED),
        text: b.add_text_field("text", text_options),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// A chart as the index holds it: where it belongs and its passages (the
/// topic is added as a passage of its own).
#[derive(Debug, Clone)]
pub struct ChartRecord {
    pub conference_id: String,
    pub chart_id: String,
    pub session_id: String,
    pub topic: String,
    pub passages: Vec<Passage>,
}

/// One change to the index; a batch of them is committed at once.
#[derive(Debug, Clone)]
pub enum Change {
    /// Replaces everything indexed of the chart.
    Chart(ChartRecord),
    RemoveChart(String),
    RemoveConference(String),
}

/// A passage that matched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub chart_id: String,
    pub session_id: String,
    /// The session's topic.
    pub topic: String,
    pub kind: PassageKind,
    pub place: Place,
    /// BM25 relevance; hits are in descending order of it.
    pub score: f32,
    /// Plain text around the matches (at most ~160 characters of the
    /// passage).
    pub snippet: String,
    /// The matched words in `snippet`, as `[start, end)` offsets in UTF-16
    /// code units (JavaScript string indices).
    pub highlights: Vec<[u32; 2]>,
    /// `snippet` with HTML special characters escaped and the matches in
    /// `<mark>`: safe to insert as HTML.
    pub snippet_html: String,
}

/// A search's answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Results {
    /// How many passages matched in all (the hits are the best of them).
    pub total: usize,
    /// True when the query's syntax was not understood and its words were
    /// searched for instead.
    pub lenient: bool,
    pub hits: Vec<Hit>,
}

/// The search index of every conference on this node.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    parser: QueryParser,
    /// Whether the index may lack changes (new, rebuilt format, or not
    /// closed cleanly): the caller rebuilds it from the store.
    needs_rebuild: bool,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (or replacing one of another
    /// version, or one that cannot be opened) as needed.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let io = |e: std::io::Error| SearchError::Io(dir.to_path_buf(), e);
        let (schema, fields) = schema();
        let version_ok = std::fs::read_to_string(dir.join(VERSION_FILE))
            .is_ok_and(|v| v.trim() == SCHEMA_VERSION);
        let clean = dir.join(CLEAN_FILE).exists();
        let existing = if version_ok {
            match Index::open_in_dir(dir) {
                Ok(index) if index.schema() == schema => Some(index),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding it");
                    None
                }
            }
        } else {
            None
        };
        let (index, fresh) = match existing {
            Some(index) => (index, false),
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(io)?;
                }
                std::fs::create_dir_all(dir).map_err(io)?;
                let index = Index::create_in_dir(dir, schema)?;
                std::fs::write(dir.join(VERSION_FILE), SCHEMA_VERSION).map_err(io)?;
                (index, true)
            }
        };
        let _ = std::fs::remove_file(dir.join(CLEAN_FILE));
        index.tokenizers().register(TOKENIZER, analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut parser = QueryParser::for_index(&index, vec![fields.text]);
        parser.set_conjunction_by_default();
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            parser,
            needs_rebuild: fresh || !clean,
        })
    }

    /// True when the index was just created or was not closed cleanly, so
    /// it may miss charts or edits: rebuild it from the store.
    pub fn needs_rebuild(&self) -> bool {
        self.needs_rebuild
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add_chart(&self, writer: &IndexWriter, chart: &ChartRecord) -> Result<(), SearchError> {
        let f = &self.fields;
        let topic = Passage {
            kind: PassageKind::Topic,
            place: Place {
                path: Vec::new(),
                heading: None,
                sticky_id: None,
            },
            text: chart.topic.clone(),
        };
        for p in std::iter::once(&topic).chain(chart.passages.iter()) {
            let mut doc = TantivyDocument::default();
            doc.add_text(f.conference, &chart.conference_id);
            doc.add_text(f.chart, &chart.chart_id);
            doc.add_text(f.session, &chart.session_id);
            doc.add_text(f.topic, &chart.topic);
            doc.add_text(f.kind, p.kind.as_str());
            doc.add_text(
                f.place,
                serde_json::to_string(&p.place).unwrap_or_else(|_| "{}".into()),
            );
            doc.add_text(f.text, &p.text);
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Applies `changes` and commits them; searches see them when this
    /// returns. Blocking (disk writes): call it off the async workers.
    pub fn apply(&self, changes: &[Change]) -> Result<(), SearchError> {
        if changes.is_empty() {
            return Ok(());
        }
        let f = self.fields;
        let mut writer = self.writer();
        for change in changes {
            match change {
                Change::Chart(chart) => {
                    writer.delete_term(Term::from_field_text(f.chart, &chart.chart_id));
                    self.add_chart(&writer, chart)?;
                }
                Change::RemoveChart(id) => {
                    writer.delete_term(Term::from_field_text(f.chart, id));
                }
                Change::RemoveConference(id) => {
                    writer.delete_term(Term::from_field_text(f.conference, id));
                }
            }
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces the whole index with `charts` (a rebuild), in one commit.
    pub fn replace_all(&self, charts: &[ChartRecord]) -> Result<(), SearchError> {
        let mut writer = self.writer();
        writer.delete_all_documents()?;
        for chart in charts {
            self.add_chart(&writer, chart)?;
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// The charts indexed for a conference: `(chart id, session id, topic)`.
    pub fn indexed_charts(
        &self,
        conference_id: &str,
    ) -> Result<Vec<(String, String, String)>, SearchError> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        let query = BooleanQuery::new(vec![
            (Occur::Must, self.term_query(f.conference, conference_id)),
            (
                Occur::Must,
                self.term_query(f.kind, PassageKind::Topic.as_str()),
            ),
        ]);
        let n = searcher.search(&query, &Count)?;
        let top = searcher.search(&query, &TopDocs::with_limit(n.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            out.push((
                stored(&doc, f.chart),
                stored(&doc, f.session),
                stored(&doc, f.topic),
            ));
        }
        Ok(out)
    }

    fn term_query(&self, field: Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    }

    /// Parses what a person typed. The query language is tantivy's (words
    /// all required, `"phrases"`, `-word`, `OR`, parentheses); a query it
    /// cannot parse, or one naming a field, is searched as its plain words
    /// instead (`lenient`). No words at all is an error.
    fn parse(&self, q: &str) -> Result<(Box<dyn Query>, bool), SearchError> {
        let text = self.fields.text;
        let only_text = |query: &dyn Query| {
            let mut ok = true;
            let mut any = false;
            query.query_terms(&mut |term, _| {
                any = true;
                ok &= term.field() == text;
            });
            (ok, any)
        };
        if let Ok(query) = self.parser.parse_query(q) {
            match only_text(query.as_ref()) {
                (true, true) => return Ok((query, false)),
                (true, false) if !has_words(q) => return Err(SearchError::NoWords),
                _ => {}
            }
        }
        // Operators left dangling ("wombat AND") are dropped rather than
        // searched for as words.
        let words: String = q
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .filter(|w| !matches!(*w, "AND" | "OR" | "NOT"))
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if words.trim().is_empty() {
            return Err(SearchError::NoWords);
        }
        let query = self
            .parser
            .parse_query(&words)
            .map_err(|e| SearchError::Query(e.to_string()))?;
        match only_text(query.as_ref()) {
            (true, true) => Ok((query, true)),
            _ => Err(SearchError::NoWords),
        }
    }

    /// The best `limit` passages of `conference_id` matching `q`.
    pub fn search(
        &self,
        conference_id: &str,
        q: &str,
        limit: usize,
    ) -> Result<Results, SearchError> {
        let f = self.fields;
        let (user, lenient) = self.parse(q)?;
        let query = BooleanQuery::new(vec![
            (Occur::Must, self.term_query(f.conference, conference_id)),
            (Occur::Must, user.box_clone()),
        ]);
        let searcher = self.reader.searcher();
        let (top, total) = searcher.search(
            &query,
            &(TopDocs::with_limit(limit.max(1)).order_by_score(), Count),
        )?;
        let mut snippets = SnippetGenerator::create(&searcher, user.as_ref(), f.text)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top.into_iter().take(limit) {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = stored(&doc, f.text);
            let snippet = snippets.snippet(&text);
            let (fragment, ranges) = if snippet.fragment().is_empty() {
                // A match the generator does not highlight (a phrase
                // prefix): show the passage's start.
                let end = text
                    .char_indices()
                    .nth(SNIPPET_CHARS)
                    .map_or(text.len(), |(i, _)| i);
                (text[..end].to_owned(), Vec::new())
            } else {
                (
                    snippet.fragment().to_owned(),
                    tantivy::snippet::collapse_overlapped_ranges(snippet.highlighted()),
                )
            };
            hits.push(Hit {
                chart_id: stored(&doc, f.chart),
                session_id: stored(&doc, f.session),
                topic: stored(&doc, f.topic),
                kind: PassageKind::parse(&stored(&doc, f.kind)).unwrap_or(PassageKind::Note),
                place: serde_json::from_str(&stored(&doc, f.place)).unwrap_or(Place {
                    path: Vec::new(),
                    heading: None,
                    sticky_id: None,
                }),
                score,
                snippet_html: mark_html(&fragment, &ranges),
                highlights: ranges
                    .iter()
                    .map(|r| {
                        [
                            utf16_len(&fragment[..r.start]),
                            utf16_len(&fragment[..r.end]),
                        ]
                    })
                    .collect(),
                snippet: fragment,
            });
        }
        Ok(Results {
            total,
            lenient,
            hits,
        })
    }

    /// Commits and marks the index closed cleanly: the next start trusts it
    /// without a rebuild.
    pub fn close(&self) -> Result<(), SearchError> {
        self.writer().commit()?;
        std::fs::write(self.dir.join(CLEAN_FILE), b"")
            .map_err(|e| SearchError::Io(self.dir.clone(), e))?;
        Ok(())
    }

    /// Number of passages indexed (all conferences).
    pub fn passages(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn index(&self) -> &Index {
        &self.index
    }
}

fn has_words(q: &str) -> bool {
    q.chars().any(char::is_alphanumeric)
}

fn stored(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// `text` escaped for HTML with `ranges` (byte ranges, sorted, disjoint)
/// wrapped in `<mark>`.
fn mark_html(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * ranges.len());
    let mut at = 0;
    for r in ranges {
        escape_into(&text[at..r.start], &mut out);
        out.push_str("<mark>");
        escape_into(&text[r.clone()], &mut out);
        out.push_str("</mark>");
        at = r.end;
    }
    escape_into(&text[at..], &mut out);
    out
}

fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(conference: &str, chart: &str, topic: &str, notes: &[&str]) -> ChartRecord {
        ChartRecord {
            conference_id: conference.into(),
            chart_id: chart.into(),
            session_id: format!("s-{chart}"),
            topic: topic.into(),
            passages: notes
                .iter()
                .enumerate()
                .map(|(i, t)| Passage {
                    kind: PassageKind::Note,
                    place: Place {
                        path: vec![i as u32],
                        heading: None,
                        sticky_id: None,
                    },
                    text: (*t).into(),
                })
                .collect(),
        }
    }

    fn index() -> (tempfile::TempDir, SearchIndex) {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(&dir.path().join("search")).unwrap();
        (dir, index)
    }

    #[test]
    fn searches_one_conference_and_replaces_a_chart_whole() {
        let (_dir, index) = index();
        assert!(index.needs_rebuild(), "a new index is built from the store");
        index
            .apply(&[
                Change::Chart(record("a", "c1", "Alpha", &["the café plan", "other"])),
                Change::Chart(record("b", "c2", "Beta", &["the cafe plan too"])),
            ])
            .unwrap();
        let r = index.search("a", "CAFE", 10).unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(r.hits[0].chart_id, "c1");
        assert_eq!(r.hits[0].place.path, vec![0]);
        // "café" is 4 UTF-16 units; the highlight covers it in the snippet.
        assert_eq!(r.hits[0].snippet, "the café plan");
        assert_eq!(r.hits[0].highlights, vec![[4, 8]]);
        index
            .apply(&[Change::Chart(record("a", "c1", "Alpha", &["nothing"]))])
            .unwrap();
        assert_eq!(index.search("a", "cafe", 10).unwrap().total, 0);
        assert_eq!(index.search("b", "cafe", 10).unwrap().total, 1);
        index
            .apply(&[Change::RemoveConference("b".into())])
            .unwrap();
        assert_eq!(index.search("b", "cafe", 10).unwrap().total, 0);
    }

    #[test]
    fn snippets_are_escaped_and_syntax_errors_fall_back_to_words() {
        let (_dir, index) = index();
        index
            .apply(&[Change::Chart(record(
                "a",
                "c1",
                "T",
                &["<script>alert('x')</script> & the wombat"],
            ))])
            .unwrap();
        let r = index.search("a", "wombat", 10).unwrap();
        assert!(!r.lenient);
        assert_eq!(
            r.hits[0].snippet_html,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; the <mark>wombat</mark>"
        );
        for q in ["\"wombat", "wombat AND", "note: wombat", "(wombat"] {
            let r = index.search("a", q, 10).unwrap();
            assert!(r.lenient, "{q}");
            assert_eq!(r.total, usize::from(q != "note: wombat"), "{q}");
        }
        for q in ["!!!", "*", "\"\""] {
            assert!(
                matches!(index.search("a", q, 10), Err(SearchError::NoWords)),
                "{q}"
            );
        }
        // A field of the index's own is not a way into another conference.
        let r = index.search("a", "conference:b wombat", 10).unwrap();
        assert!(r.lenient);
    }

    #[test]
    fn an_index_closed_cleanly_is_trusted_and_one_that_was_not_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("search");
        let index = SearchIndex::open(&path).unwrap();
        index
            .apply(&[Change::Chart(record("a", "c1", "Kept", &[]))])
            .unwrap();
        index.close().unwrap();
        drop(index);
        let index = SearchIndex::open(&path).unwrap();
        assert!(!index.needs_rebuild());
        assert_eq!(index.search("a", "kept", 10).unwrap().total, 1);
        drop(index); // not closed: as after a crash
        let index = SearchIndex::open(&path).unwrap();
        assert!(index.needs_rebuild());
        drop(index);
        std::fs::write(path.join(VERSION_FILE), "another").unwrap();
        let index = SearchIndex::open(&path).unwrap();
        assert!(index.needs_rebuild());
        assert_eq!(
            index.search("a", "kept", 10).unwrap().total,
            0,
            "another format is discarded"
        );
    }
}
