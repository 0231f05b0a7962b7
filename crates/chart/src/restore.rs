//! Restoring a chart to an earlier version as a *new* update.
//!
//! A restore must not rewrite history: clients hold the chart's items, and
//! an update that removed them from the log would leave every open editor
//! diverged. Instead [`restore_update`] computes, against the chart's
//! current state, one update that deletes the current content of every
//! root type and inserts fresh copies of the version's content (new items
//! of a fresh client id). Applied like any edit, every client converges to
//! it without a reload, and anything typed concurrently that the update did
//! not delete (text added after the state it was computed against) stays.
//!
//! Root types are handled generically: `notes` (`XmlFragment`), `meta` and
//! `board` (`Map`) by name (docs/chart-schema.md), any other root by what
//! its content looks like. Element attributes are copied with their typed
//! values (y-prosemirror stores a heading's `level` as a number), text with
//! its formatting.

use std::collections::BTreeMap;

use yrs::types::{AsPrelim, ToJson};
use yrs::updates::decoder::Decode;
use yrs::{
    Array, Doc, GetString, In, Map, Out, ReadTxn, Text, Transact, TransactionMut, Update, WriteTxn,
    Xml, XmlElementPrelim, XmlElementRef, XmlFragment, XmlOut,
};

use crate::read::{META, NOTES};
use crate::ChartError;

/// Name of the root `Y.Map` holding the drawing board.
pub const BOARD: &str = "board";

/// What a root type is, for copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fragment,
    Map,
    Array,
    Text,
}

/// The kind of a root that is not one of the schema's, from its content
/// (yrs' own inference, which reads an untyped root as it would be read).
fn infer<T: ReadTxn>(txn: &T, value: &Out) -> Kind {
    match value {
        Out::YXmlFragment(_) => Kind::Fragment,
        Out::YMap(_) => Kind::Map,
        Out::YArray(_) => Kind::Array,
        Out::YText(_) => Kind::Text,
        other => match other.as_prelim(txn) {
            In::Array(_) => Kind::Array,
            In::Text(_) => Kind::Text,
            In::XmlFragment(_) => Kind::Fragment,
            _ => Kind::Map,
        },
    }
}

fn known(name: &str) -> Option<Kind> {
    match name {
        NOTES => Some(Kind::Fragment),
        META | BOARD => Some(Kind::Map),
        _ => None,
    }
}

fn doc_from(state: &[u8]) -> Result<Doc, ChartError> {
    let doc = Doc::new();
    let update = Update::decode_v1(state)?;
    doc.transact_mut().apply_update(update)?;
    Ok(doc)
}

/// The update that turns a chart whose state is `current` (a v1 update of
/// its whole state) into one whose content equals `version`'s. Empty
/// (`Ok(None)`) when nothing needs to change.
pub fn restore_update(current: &[u8], version: &[u8]) -> Result<Option<Vec<u8>>, ChartError> {
    let cur = doc_from(current)?;
    let ver = doc_from(version)?;
    let before = cur.transact().state_vector();
    {
        let src = ver.transact();
        let mut dst = cur.transact_mut();
        let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
        for (name, value) in dst.root_refs() {
            kinds.insert(name.to_owned(), known(name).unwrap_or(infer(&dst, &value)));
        }
        for (name, value) in src.root_refs() {
            // The version's content decides a root's kind when both have it.
            kinds.insert(name.to_owned(), known(name).unwrap_or(infer(&src, &value)));
        }
        for (name, kind) in kinds {
            replace_root(&src, &mut dst, &name, kind);
        }
    }
    let update = cur.transact().encode_state_as_update_v1(&before);
    let changed = cur.transact().state_vector() != before;
    Ok(changed.then_some(update))
}

fn replace_root<T: ReadTxn>(src: &T, dst: &mut TransactionMut, name: &str, kind: Kind) {
    match kind {
        Kind::Fragment => {
            let to = dst.get_or_insert_xml_fragment(name);
            let len = to.len(dst);
            if len > 0 {
                to.remove_range(dst, 0, len);
            }
            if let Some(from) = src.get_xml_fragment(name) {
                for (i, child) in from.children(src).enumerate() {
                    insert_node(src, dst, &to, i as u32, child);
                }
            }
        }
        Kind::Map => {
            let to = dst.get_or_insert_map(name);
            let from = src.get_map(name);
            let wanted: BTreeMap<String, Out> = from
                .map(|m| m.iter(src).map(|(k, v)| (k.to_owned(), v)).collect())
                .unwrap_or_default();
            let present: Vec<String> = to.keys(dst).map(str::to_owned).collect();
            for key in present {
                if !wanted.contains_key(&key) {
                    to.remove(dst, &key);
                }
            }
            for (key, value) in wanted {
                // An equal plain value stays as it is: fewer changes for
                // the clients to apply and nothing for them to lose.
                if let (Out::Any(new), Some(Out::Any(old))) = (&value, to.get(dst, &key)) {
                    if new == &old {
                        continue;
                    }
                }
                to.insert(dst, key, value.as_prelim(src));
            }
        }
        Kind::Array => {
            let to = dst.get_or_insert_array(name);
            let len = to.len(dst);
            if len > 0 {
                to.remove_range(dst, 0, len);
            }
            if let Some(from) = src.get_array(name) {
                for value in from.iter(src) {
                    to.push_back(dst, value.as_prelim(src));
                }
            }
        }
        Kind::Text => {
            let to = dst.get_or_insert_text(name);
            let len = to.len(dst);
            if len > 0 {
                to.remove_range(dst, 0, len);
            }
            if let Some(from) = src.get_text(name) {
                let delta = from.as_prelim(src);
                to.apply_delta(dst, delta.iter().cloned());
            }
        }
    }
}

/// Inserts a copy of `node` (read through `src`) at `index` of `parent`.
fn insert_node<T: ReadTxn, P: XmlFragment>(
    src: &T,
    dst: &mut TransactionMut,
    parent: &P,
    index: u32,
    node: XmlOut,
) {
    match node {
        XmlOut::Element(el) => {
            let copy = parent.insert(dst, index, XmlElementPrelim::empty(el.tag().clone()));
            copy_element(src, dst, &el, &copy);
        }
        XmlOut::Text(text) => {
            parent.insert(
                dst,
                index,
                yrs::types::xml::XmlIn::Text(text.as_prelim(src)),
            );
        }
        XmlOut::Fragment(fragment) => {
            parent.insert(
                dst,
                index,
                yrs::types::xml::XmlIn::Fragment(fragment.as_prelim(src)),
            );
        }
    }
}

/// Attributes with their typed values (yrs' own prelim of an element turns
/// them into strings), then the children.
fn copy_element<T: ReadTxn>(
    src: &T,
    dst: &mut TransactionMut,
    from: &XmlElementRef,
    to: &XmlElementRef,
) {
    let attributes: Vec<(String, In)> = from
        .attributes(src)
        .map(|(k, v)| (k.to_owned(), v.as_prelim(src)))
        .collect();
    for (key, value) in attributes {
        to.insert_attribute(dst, key, value);
    }
    for (i, child) in from.children(src).enumerate() {
        insert_node(src, dst, to, i as u32, child);
    }
}

/// A chart's whole content as JSON (every root type), for comparing two
/// states in tests and tools: equal JSON, equal content.
pub fn content_json(state: &[u8]) -> Result<String, ChartError> {
    let doc = doc_from(state)?;
    let txn = doc.transact();
    let mut roots: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in txn.root_refs() {
        let text = match known(name).unwrap_or(infer(&txn, &value)) {
            Kind::Fragment => txn
                .get_xml_fragment(name)
                .map(|f| f.get_string(&txn))
                .unwrap_or_default(),
            Kind::Map => {
                let mut out = String::new();
                if let Some(m) = txn.get_map(name) {
                    m.to_json(&txn).to_json(&mut out);
                }
                out
            }
            Kind::Array => {
                let mut out = String::new();
                if let Some(a) = txn.get_array(name) {
                    a.to_json(&txn).to_json(&mut out);
                }
                out
            }
            Kind::Text => txn
                .get_text(name)
                .map(|t| t.get_string(&txn))
                .unwrap_or_default(),
        };
        roots.insert(name.to_owned(), text);
    }
    serde_json::to_string(&roots).map_err(|e| ChartError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{StateVector, XmlTextPrelim, XmlTextRef};

    fn state(doc: &Doc) -> Vec<u8> {
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn apply(doc: &Doc, update: &[u8]) {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }

    fn paragraph(doc: &Doc, text: &str) {
        let notes = doc.get_or_insert_xml_fragment(NOTES);
        let mut txn = doc.transact_mut();
        let len = notes.len(&txn);
        let p = notes.insert(&mut txn, len, XmlElementPrelim::empty("paragraph"));
        let t: XmlTextRef = p.insert(&mut txn, 0, XmlTextPrelim::new(text));
        t.format(
            &mut txn,
            0,
            1,
            [("bold".into(), yrs::Any::Bool(true))].into(),
        );
    }

    #[test]
    fn restore_brings_back_every_root_and_keeps_later_edits() {
        let a = Doc::with_client_id(11);
        paragraph(&a, "first");
        {
            let heading = a.get_or_insert_xml_fragment(NOTES);
            let mut txn = a.transact_mut();
            let h = heading.insert(&mut txn, 0, XmlElementPrelim::empty("heading"));
            h.insert_attribute(&mut txn, "level", In::Any(yrs::Any::from(2.0)));
            h.insert(&mut txn, 0, XmlTextPrelim::new("Title"));
        }
        {
            let meta = a.get_or_insert_map(META);
            let board = a.get_or_insert_map(BOARD);
            let other = a.get_or_insert_text("scratch");
            let mut txn = a.transact_mut();
            meta.insert(&mut txn, "topic", "kept");
            board.insert(
                &mut txn,
                "stickies",
                yrs::MapPrelim::from([("s1".to_owned(), In::Any("hello".into()))]),
            );
            other.insert(&mut txn, 0, "scratch text");
        }
        let version = state(&a);
        let want = content_json(&version).unwrap();

        // Everything changes afterwards, in every root, and a new root appears.
        paragraph(&a, "second");
        {
            let meta = a.get_or_insert_map(META);
            let board = a.get_or_insert_map(BOARD);
            let other = a.get_or_insert_text("scratch");
            let extra = a.get_or_insert_array("extra");
            let mut txn = a.transact_mut();
            meta.insert(&mut txn, "topic", "changed");
            meta.insert(&mut txn, "added", 1.0);
            board.remove(&mut txn, "stickies");
            other.insert(&mut txn, 0, "more ");
            extra.push_back(&mut txn, "x");
        }
        assert_ne!(content_json(&state(&a)).unwrap(), want);

        // A second client that saw none of the restore.
        let b = Doc::with_client_id(12);
        apply(&b, &state(&a));

        let update = restore_update(&state(&a), &version).unwrap().unwrap();
        apply(&a, &update);
        let got = content_json(&state(&a)).unwrap();
        let mut expected: serde_json::Value = serde_json::from_str(&want).unwrap();
        expected["extra"] = serde_json::json!("[]");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&got).unwrap(),
            expected
        );
        // The heading's level is still a number.
        {
            let txn = a.transact();
            let notes = txn.get_xml_fragment(NOTES).unwrap();
            let Some(XmlOut::Element(h)) = notes.get(&txn, 0) else {
                panic!("heading missing")
            };
            assert_eq!(
                h.get_attribute(&txn, "level"),
                Some(Out::Any(yrs::Any::from(2.0)))
            );
        }

        // b types a new paragraph concurrently, then both exchange.
        paragraph(&b, "typed meanwhile");
        apply(&b, &update);
        apply(&a, &state(&b));
        let (sa, sb) = (
            content_json(&state(&a)).unwrap(),
            content_json(&state(&b)).unwrap(),
        );
        assert_eq!(sa, sb);
        assert!(sa.contains("yped meanwhile"), "{sa}");
        assert!(!sa.contains("econd"), "{sa}");

        // Restoring what is already there changes nothing.
        let now = state(&a);
        let again = restore_update(&now, &now).unwrap();
        if let Some(u) = again {
            apply(&a, &u);
            assert_eq!(content_json(&state(&a)).unwrap(), sa);
        }
    }
}
