//! The report template every new chart starts from.
//!
//! Several places may seed the same chart (two server replicas, a server and
//! an offline client, a retried request). If each wrote the template with its
//! own client id, every seeding would create *new* CRDT items and the chart
//! would show "Key points / Next steps" twice. Instead the template is always
//! produced by a document with the fixed client id [`TEMPLATE_CLIENT_ID`]
//! and written in a fixed order, so every seeding yields byte-identical
//! items with identical ids; Yjs integrates an already-known item as a no-op.
//! Consequences worth knowing:
//! * Re-seeding a chart whose template was deleted does not resurrect it (the
//!   items are known, only deleted).
//! * The small id makes the template lose map-key conflicts: if a client has
//!   already created `meta.participants`, that array wins over the template's.
//! * No live client may ever use client id 1. Yjs picks random 32-bit ids,
//!   so this only matters for tools that hard-code client ids.

use yrs::updates::decoder::Decode;
use yrs::{
    ArrayPrelim, Doc, Map, ReadTxn, StateVector, Transact, Update, Xml, XmlElementPrelim,
    XmlFragment, XmlTextPrelim,
};

use crate::read::{META, NOTES, PARTICIPANTS};
use crate::ChartError;

/// Client id that authors the template items.
pub const TEMPLATE_CLIENT_ID: u64 = 1;

/// The template as a Yjs v1 update, authored by [`TEMPLATE_CLIENT_ID`].
/// Deterministic: every call returns the same bytes.
pub fn template_update() -> Vec<u8> {
    let doc = Doc::with_client_id(TEMPLATE_CLIENT_ID);
    write_template(&doc);
    let txn = doc.transact();
    txn.encode_state_as_update_v1(&StateVector::default())
}

/// Writes the template into `doc` if its `notes` are empty (no live nodes).
/// Returns `Ok(true)` if the template was applied, `Ok(false)` if the chart
/// already had notes. Safe to call any number of times, on any replica.
///
/// Opens a write transaction: do not call while holding one on `doc`.
pub fn seed_template(doc: &Doc) -> Result<bool, ChartError> {
    let mut txn = doc.transact_mut();
    let has_notes = txn.get_xml_fragment(NOTES).is_some_and(|n| n.len(&txn) > 0);
    if has_notes {
        return Ok(false);
    }
    let update = Update::decode_v1(&template_update())?;
    txn.apply_update(update)?;
    Ok(true)
}

/// Writes the template through ordinary transactions. Every call happens in
/// a fixed order (no `HashMap` iteration, e.g. no multi-attribute
/// `XmlElementPrelim`) so the resulting item ids are reproducible.
fn write_template(doc: &Doc) {
    let notes = doc.get_or_insert_xml_fragment(NOTES);
    let meta = doc.get_or_insert_map(META);
    let mut txn = doc.transact_mut();

    let heading = |txn: &mut yrs::TransactionMut, text: &str| {
        let h = notes.push_back(txn, XmlElementPrelim::empty("heading"));
        h.insert_attribute(txn, "level", 2i64);
        h.push_back(txn, XmlTextPrelim::new(text));
    };

    heading(&mut txn, "Key points");
    notes.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));

    heading(&mut txn, "Next steps");
    let list = notes.push_back(&mut txn, XmlElementPrelim::empty("taskList"));
    let item = list.push_back(&mut txn, XmlElementPrelim::empty("taskItem"));
    item.insert_attribute(&mut txn, "checked", false);
    item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));

    meta.insert(&mut txn, PARTICIPANTS, ArrayPrelim::default());
}
