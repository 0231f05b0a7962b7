//! A structural walk over a v1 update, run before yrs decodes it. (One
//! file, though long: it mirrors yrs' decoder grammar step by step, and
//! reading it beside that grammar is how it is reviewed.)
//!
//! yrs reserves memory from the counts an update declares (clients, structs
//! per client, `Any` arrays and maps, JSON entries) before it reads the
//! entries, so a 16-byte update can make it reserve gigabytes. This walk
//! reads the same grammar yrs reads (`Update::decode`, `ItemContent::decode`,
//! `Any::decode`, `IdSet::decode`, with yrs' own varint and string readers),
//! allocates nothing, and refuses an update as soon as a declared count could
//! not fit in the bytes that remain. When it accepts, every count yrs will
//! reserve for is backed by at least one byte per entry, so what yrs reserves
//! is bounded by a constant times the update's length.
//!
//! Sub-documents are refused outright (see [`Walk::content`]).
//!
//! It also refuses what yrs would turn into a panic or an abort rather than
//! an error: client ids above 2^53 (yrs asserts in debug builds; found by
//! the update_check fuzzer), clock arithmetic that overflows `u32` (yrs adds
//! without checking; debug builds panic) and `Any` values nested deeper than [`MAX_ANY_DEPTH`]
//! (yrs decodes them recursively, so a deep enough nesting overflows the
//! stack, which no `catch_unwind` can catch).

use yrs::encoding::read::{Cursor, Read};

use crate::ProtocolError;

/// How deep `Any` values (arrays and maps inside arrays and maps) may nest:
/// serde_json's own recursion limit, which yrs already applies to JSON
/// embeds. Yjs applications keep far shallower values.
pub const MAX_ANY_DEPTH: usize = 128;

// Block kinds, from the low 4 bits of a struct's info byte (yrs `block.rs`).
const GC: u8 = 0;
const DELETED: u8 = 1;
const JSON: u8 = 2;
const BINARY: u8 = 3;
const STRING: u8 = 4;
const EMBED: u8 = 5;
const FORMAT: u8 = 6;
const TYPE: u8 = 7;
const ANY: u8 = 8;
const DOC: u8 = 9;
const SKIP: u8 = 10;
const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;

// Type refs of a TYPE struct (yrs `types/mod.rs`). 7 is a weak link, which
// this build of yrs does not decode (its `weak` feature is off).
const TYPE_XML_ELEMENT: u8 = 3;
const TYPE_REFS_WITHOUT_DATA: [u8; 7] = [0, 1, 2, 4, 5, 6, 9];
const TYPE_UNDEFINED: u8 = 15;

struct Walk<'a> {
    cursor: Cursor<'a>,
}

fn truncated(_: yrs::encoding::read::Error) -> ProtocolError {
    ProtocolError::Truncated("update")
}

impl<'a> Walk<'a> {
    fn remaining(&self) -> usize {
        self.cursor.buf.len() - self.cursor.next
    }

    fn u8(&mut self) -> Result<u8, ProtocolError> {
        self.cursor.read_u8().map_err(truncated)
    }

    fn u32(&mut self) -> Result<u32, ProtocolError> {
        self.cursor.read_var::<u32>().map_err(truncated)
    }

    fn u64(&mut self) -> Result<u64, ProtocolError> {
        self.cursor.read_var::<u64>().map_err(truncated)
    }

    /// A signed varint, read here rather than with yrs' reader: that one
    /// shifts past 64 bits on an 11-byte varint and negates `i64::MIN`,
    /// both panics in debug builds (found by the update_check fuzzer). Nine
    /// bytes carry 62 bits, more than any Yjs number (53).
    fn signed_varint(&mut self) -> Result<(), ProtocolError> {
        for _ in 0..9 {
            if self.u8()? < 0x80 {
                return Ok(());
            }
        }
        Err(ProtocolError::Malformed(
            "update: integer longer than 9 bytes",
        ))
    }

    fn skip(&mut self, n: usize) -> Result<(), ProtocolError> {
        self.cursor.read_exact(n).map(|_| ()).map_err(truncated)
    }

    /// A length-prefixed UTF-8 string (yrs refuses invalid UTF-8 too).
    fn string(&mut self) -> Result<&'a str, ProtocolError> {
        let len = self.u32()? as usize;
        if len > self.remaining() {
            return Err(ProtocolError::Truncated("update"));
        }
        let start = self.cursor.next;
        self.cursor.next += len;
        std::str::from_utf8(&self.cursor.buf[start..start + len])
            .map_err(|_| ProtocolError::Malformed("update: string is not UTF-8"))
    }

    /// A string yrs parses as JSON (embeds, format values): parsed here
    /// without building the value. Syntax only: yrs also refuses numbers
    /// out of `f64` range (with an error, harmlessly).
    fn json(&mut self) -> Result<(), ProtocolError> {
        let s = self.string()?;
        serde_json::from_str::<serde::de::IgnoredAny>(s)
            .map(|_| ())
            .map_err(|_| ProtocolError::Malformed("update: invalid JSON"))
    }

    fn buf(&mut self) -> Result<(), ProtocolError> {
        let len = self.u32()? as usize;
        self.skip(len)
    }

    /// A declared count whose entries each take at least `min_entry_bytes`
    /// of what is left.
    fn count(
        &self,
        what: &'static str,
        declared: u64,
        min_entry_bytes: u64,
    ) -> Result<(), ProtocolError> {
        let available = self.remaining();
        if declared.saturating_mul(min_entry_bytes) > available as u64 {
            return Err(ProtocolError::CountTooLarge {
                what,
                declared,
                available,
            });
        }
        Ok(())
    }

    /// A client id: yrs asserts (in debug builds; release builds fold
    /// such ids onto others) that it fits in 53 bits, as Yjs' do.
    fn client(&mut self) -> Result<(), ProtocolError> {
        if self.u64()? >> 53 != 0 {
            return Err(ProtocolError::Malformed("update: client id above 2^53"));
        }
        Ok(())
    }

    fn id(&mut self) -> Result<(), ProtocolError> {
        self.client()?;
        self.u32()?;
        Ok(())
    }

    fn update(&mut self) -> Result<(), ProtocolError> {
        // Each client section: struct count, client id, first clock.
        let clients = self.u32()?;
        self.count("update clients", clients.into(), 3)?;
        for _ in 0..clients {
            let structs = self.u32()?;
            // The smallest struct (a GC or skip run) is an info byte and a length.
            self.count("structs of a client", structs.into(), 2)?;
            self.client()?;
            let mut clock = self.u32()?;
            for _ in 0..structs {
                let len = self.block()?;
                clock = clock
                    .checked_add(len)
                    .ok_or(ProtocolError::Malformed("update: clock overflows"))?;
            }
        }
        self.delete_set()
    }

    /// One struct; returns how many clock ticks it covers.
    fn block(&mut self) -> Result<u32, ProtocolError> {
        let info = self.u8()?;
        match info {
            GC | SKIP => {
                let len = self.u32()?;
                if len == 0 {
                    return Err(ProtocolError::Malformed("update: empty struct"));
                }
                return Ok(len);
            }
            _ => {}
        }
        if info & HAS_ORIGIN != 0 {
            self.id()?;
        }
        if info & HAS_RIGHT_ORIGIN != 0 {
            self.id()?;
        }
        if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
            // No origin to take the parent from: the parent is named.
            if self.u32()? == 1 {
                self.string()?;
            } else {
                self.id()?;
            }
            if info & HAS_PARENT_SUB != 0 {
                self.string()?;
            }
        }
        self.content(info & 0b1111)
    }

    /// An item's content; returns its length in clock ticks (0 for content
    /// yrs drops as empty).
    fn content(&mut self, kind: u8) -> Result<u32, ProtocolError> {
        match kind {
            DELETED => self.u32(),
            JSON => {
                // yrs reads one more entry than the count says, and a count
                // above i32::MAX makes it reserve usize::MAX.
                let declared = self.u32()?;
                if declared > i32::MAX as u32 {
                    return Err(ProtocolError::Malformed("update: JSON count"));
                }
                let entries = declared + 1;
                self.count("JSON content", entries.into(), 1)?;
                for _ in 0..entries {
                    self.string()?;
                }
                Ok(entries)
            }
            BINARY => self.buf().map(|()| 1),
            STRING => {
                let s = self.string()?;
                u32::try_from(s.encode_utf16().count())
                    .map_err(|_| ProtocolError::Malformed("update: string too long"))
            }
            EMBED => self.json().map(|()| 1),
            FORMAT => {
                self.string()?;
                self.json()?;
                Ok(1)
            }
            TYPE => {
                let type_ref = self.u8()?;
                if type_ref == TYPE_XML_ELEMENT {
                    self.string()?;
                } else if !TYPE_REFS_WITHOUT_DATA.contains(&type_ref) && type_ref != TYPE_UNDEFINED
                {
                    return Err(ProtocolError::Malformed("update: unknown type"));
                }
                Ok(1)
            }
            ANY => {
                let values = self.u32()?;
                self.count("Any content", values.into(), 1)?;
                for _ in 0..values {
                    self.any(0)?;
                }
                Ok(values)
            }
            // Each sub-document is a whole `Doc` with its own store: ~700
            // bytes of server memory for 5 bytes of update. Easel's charts
            // have none, and no Easel client makes them.
            DOC => Err(ProtocolError::Malformed(
                "update: sub-documents are not supported",
            )),
            _ => Err(ProtocolError::Malformed("update: unknown struct kind")),
        }
    }

    /// One lib0 `Any` value (yrs `Any::decode`).
    fn any(&mut self, depth: usize) -> Result<(), ProtocolError> {
        if depth >= MAX_ANY_DEPTH {
            return Err(ProtocolError::Malformed("update: values nested too deep"));
        }
        match self.u8()? {
            // undefined, null, true, false
            127 | 126 | 121 | 120 => Ok(()),
            125 => self.signed_varint(),
            124 => self.skip(4),
            123 | 122 => self.skip(8),
            119 => self.string().map(|_| ()),
            118 => {
                let entries = self.u64()?;
                // A key (at least its length byte) and a value's tag.
                self.count("Any map", entries, 2)?;
                for _ in 0..entries {
                    self.string()?;
                    self.any(depth + 1)?;
                }
                Ok(())
            }
            117 => {
                let values = self.u64()?;
                self.count("Any array", values, 1)?;
                for _ in 0..values {
                    self.any(depth + 1)?;
                }
                Ok(())
            }
            116 => self.buf(),
            _ => Err(ProtocolError::Malformed("update: unknown value type")),
        }
    }

    /// The delete set: per client, an id and clock ranges.
    fn delete_set(&mut self) -> Result<(), ProtocolError> {
        let clients = self.u32()?;
        self.count("delete set clients", clients.into(), 2)?;
        for _ in 0..clients {
            self.client()?;
            let ranges = self.u32()?;
            self.count("delete set ranges", ranges.into(), 2)?;
            for _ in 0..ranges {
                let clock = self.u32()?;
                let len = self.u32()?;
                clock
                    .checked_add(len)
                    .ok_or(ProtocolError::Malformed("update: deleted range overflows"))?;
            }
        }
        Ok(())
    }
}

/// Walks a v1 update as yrs will decode it, refusing it (without allocating)
/// when a declared count does not fit the bytes, a string is not UTF-8, or a
/// value would make yrs panic or recurse too deep. Bytes after the delete set
/// are ignored, as yrs ignores them.
pub fn check_update(payload: &[u8]) -> Result<(), ProtocolError> {
    Walk {
        cursor: Cursor::new(payload),
    }
    .update()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{
        Array, ArrayPrelim, Doc, GetString, Map, ReadTxn, StateVector, Text, Transact, Update,
        WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim,
    };

    fn var(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// A chart-like document: rich text, map entries of every `Any` kind,
    /// nested arrays, deletions, formatting, embeds.
    fn sample_updates() -> Vec<Vec<u8>> {
        let doc = Doc::with_client_id(11);
        let mut updates = Vec::new();
        {
            let mut txn = doc.transact_mut();
            let notes = txn.get_or_insert_xml_fragment("notes");
            let p = notes.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            p.push_back(&mut txn, XmlTextPrelim::new("héllo 👋 world"));
            let meta = txn.get_or_insert_map("meta");
            meta.insert(&mut txn, "topic", "Ünïcode");
            meta.insert(&mut txn, "n", 42);
            meta.insert(&mut txn, "big", 1i64 << 40);
            meta.insert(&mut txn, "f", 1.5);
            meta.insert(&mut txn, "yes", true);
            meta.insert(&mut txn, "none", yrs::Any::Null);
            meta.insert(&mut txn, "bytes", yrs::Any::Buffer(vec![1u8, 2, 3].into()));
            meta.insert(
                &mut txn,
                "nested",
                yrs::any!({"a": [1, {"b": [true, null, "x"]}], "c": {"d": 2.25}}),
            );
            let arr = txn.get_or_insert_array("list");
            arr.insert(&mut txn, 0, ArrayPrelim::from([1, 2, 3]));
            arr.push_back(&mut txn, "tail");
            updates.push(txn.encode_update_v1());
        }
        {
            let mut txn = doc.transact_mut();
            let t = txn.get_or_insert_text("t");
            t.insert(&mut txn, 0, "some text to format and cut");
            t.format(
                &mut txn,
                0,
                4,
                [("bold".into(), yrs::Any::Bool(true))]
                    .into_iter()
                    .collect(),
            );
            t.insert_embed(&mut txn, 3, yrs::any!({"image": "x.png"}));
            updates.push(txn.encode_update_v1());
        }
        {
            let mut txn = doc.transact_mut();
            let t = txn.get_or_insert_text("t");
            t.remove_range(&mut txn, 5, 10);
            let meta = txn.get_or_insert_map("meta");
            meta.remove(&mut txn, "n");
            updates.push(txn.encode_update_v1());
        }
        updates.push(
            doc.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        );
        let t = doc.get_or_insert_text("t");
        assert!(t.get_string(&doc.transact()).starts_with("some"));
        updates
    }

    #[test]
    fn accepts_what_yrs_encodes() {
        for (i, update) in sample_updates().iter().enumerate() {
            assert_eq!(check_update(update), Ok(()), "update {i}");
        }
        assert_eq!(check_update(&Update::new().encode_v1()), Ok(()));
    }

    #[test]
    fn the_92_million_struct_update_is_refused_cheaply() {
        // The fuzzer's input: one client declaring ~92 million structs in 16
        // bytes, which made yrs reserve 2.2 GB before reading any of them.
        let mut update = vec![1];
        var(92_000_000, &mut update);
        update.extend_from_slice(&[7, 0, 4, 0x01, 0x00, 0x01, 0x61, 0, 0, 0, 0]);
        update.truncate(16);
        assert_eq!(update.len(), 16);
        let started = Instant::now();
        let got = check_update(&update);
        assert!(started.elapsed() < Duration::from_millis(50));
        assert!(
            matches!(
                got,
                Err(ProtocolError::CountTooLarge {
                    what: "structs of a client",
                    declared: 92_000_000,
                    ..
                })
            ),
            "{got:?}"
        );
    }

    /// Each declared count, at every level, refused when the bytes cannot
    /// hold it.
    #[test]
    fn every_declared_count_is_bounded() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("update clients", vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0]),
            ("structs of a client", vec![1, 0xff, 0xff, 0x7f, 1, 0, 0]),
            // one item with a named parent whose content is a JSON
            // count of a million.
            (
                "JSON content",
                vec![1, 1, 1, 0, JSON, 1, 1, b'x', 0xc0, 0x84, 0x3d, 0],
            ),
            (
                "Any content",
                vec![1, 1, 1, 0, ANY, 1, 1, b'x', 0xc0, 0x84, 0x3d, 0],
            ),
            (
                "Any array",
                vec![1, 1, 1, 0, ANY, 1, 1, b'x', 1, 117, 0xc0, 0x84, 0x3d],
            ),
            (
                "Any map",
                vec![1, 1, 1, 0, ANY, 1, 1, b'x', 1, 118, 0xc0, 0x84, 0x3d, 0],
            ),
            ("delete set clients", vec![0, 0xc0, 0x84, 0x3d, 0]),
            ("delete set ranges", vec![0, 1, 5, 0xc0, 0x84, 0x3d, 0]),
        ];
        for (what, update) in cases {
            let got = check_update(&update);
            assert!(
                matches!(got, Err(ProtocolError::CountTooLarge { what: w, .. }) if w == what),
                "{what}: {got:?}"
            );
            // yrs itself would reserve for these counts (or fail), never
            // integrate them.
            assert!(Update::decode_v1(&update).is_err(), "{what}");
        }
        // Strings and buffers longer than what is left are truncation.
        let long_string = vec![1, 1, 1, 0, STRING, 1, 0xff, 0xff, 0x03, b'x'];
        assert_eq!(
            check_update(&long_string),
            Err(ProtocolError::Truncated("update"))
        );
        let long_buffer = vec![1, 1, 1, 0, BINARY, 1, 1, b'x', 0xff, 0xff, 0x03, 1];
        assert_eq!(
            check_update(&long_buffer),
            Err(ProtocolError::Truncated("update"))
        );
    }

    #[test]
    fn deep_nesting_and_clock_overflow_are_refused() {
        // An Any array nested MAX_ANY_DEPTH + 1 deep: yrs would recurse
        // once per level, and a megabyte frame of these overflows its stack.
        let mut update = vec![1, 1, 1, 0, ANY, 1, 1, b'x', 1];
        for _ in 0..=MAX_ANY_DEPTH {
            update.extend_from_slice(&[117, 1]);
        }
        update.extend_from_slice(&[126, 0]);
        assert!(matches!(
            check_update(&update),
            Err(ProtocolError::Malformed(_))
        ));
        // One level less is fine.
        let mut update = vec![1, 1, 1, 0, ANY, 1, 1, b'x', 1];
        for _ in 0..MAX_ANY_DEPTH - 1 {
            update.extend_from_slice(&[117, 1]);
        }
        update.extend_from_slice(&[126, 0]);
        assert_eq!(check_update(&update), Ok(()));
        assert!(Update::decode_v1(&update).is_ok());

        // Two deleted runs whose clocks add past u32::MAX.
        let mut update = vec![1, 2, 1];
        var(u32::MAX as u64 - 1, &mut update);
        update.extend_from_slice(&[DELETED, 1, 1, b'x', 5, DELETED | HAS_ORIGIN, 1, 0, 1, 0]);
        assert!(matches!(
            check_update(&update),
            Err(ProtocolError::Malformed(_))
        ));
        // A deleted range past u32::MAX.
        let mut update = vec![0, 1, 1, 1];
        var(u32::MAX as u64, &mut update);
        update.push(2);
        assert!(matches!(
            check_update(&update),
            Err(ProtocolError::Malformed(_))
        ));
        // A JSON count yrs turns into a reservation of usize::MAX.
        let mut update = vec![1, 1, 1, 0, JSON, 1, 1, b'x'];
        var(u32::MAX as u64, &mut update);
        assert!(matches!(
            check_update(&update),
            Err(ProtocolError::Malformed(_))
        ));
    }

    #[test]
    fn long_signed_integers_are_refused() {
        // Found by the update_check fuzzer: yrs' signed varint reader
        // overflows its shift on 11 bytes.
        let crash = include_bytes!("../../../fuzz/corpus/update_check/regress_long_signed_varint");
        assert!(matches!(
            check_update(crash),
            Err(ProtocolError::Malformed(_))
        ));
        let any_int = |bytes: &[u8]| {
            let mut u = vec![1, 1, 1, 0, ANY, 1, 1, b'x', 1, 125];
            u.extend_from_slice(bytes);
            u.push(0);
            u
        };
        let nine = any_int(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(check_update(&nine), Ok(()));
        assert!(Update::decode_v1(&nine).is_ok());
        let ten = any_int(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(check_update(&ten).is_err());
    }

    #[test]
    fn client_ids_above_2_pow_53_are_refused() {
        // Found by the update_check fuzzer: yrs' ClientID::new asserts.
        let crash =
            include_bytes!("../../../fuzz/corpus/update_check/regress_client_id_above_2_pow_53");
        assert!(matches!(
            check_update(crash),
            Err(ProtocolError::Malformed(_))
        ));
        let big = 1u64 << 53;
        let mut section = vec![1, 1];
        var(big, &mut section);
        section.extend_from_slice(&[0, SKIP, 1, 0]);
        let mut origin = vec![1, 1, 1, 0, DELETED | HAS_ORIGIN];
        var(big, &mut origin);
        origin.extend_from_slice(&[0, 1, 0]);
        let mut deletes = vec![0, 1];
        var(big, &mut deletes);
        deletes.extend_from_slice(&[1, 0, 1]);
        for update in [section, origin, deletes] {
            assert!(
                matches!(check_update(&update), Err(ProtocolError::Malformed(_))),
                "{update:?}"
            );
        }
        let mut fine = vec![1, 1];
        var(big - 1, &mut fine);
        fine.extend_from_slice(&[0, SKIP, 1, 0]);
        assert_eq!(check_update(&fine), Ok(()));
    }

    #[test]
    fn invalid_utf8_and_unknown_kinds_are_refused() {
        let bad_utf8 = vec![1, 1, 1, 0, STRING, 1, 1, b'x', 2, 0xc3, 0x28, 0];
        assert!(matches!(
            check_update(&bad_utf8),
            Err(ProtocolError::Malformed(_))
        ));
        assert!(Update::decode_v1(&bad_utf8).is_err());
        let subdoc = vec![1, 1, 1, 0, DOC, 1, 1, b'x', 0, 126, 0];
        assert!(Update::decode_v1(&subdoc).is_ok());
        assert!(matches!(
            check_update(&subdoc),
            Err(ProtocolError::Malformed(_))
        ));
        let unknown_kind = vec![1, 1, 1, 0, 11, 1, 1, b'x', 0];
        assert!(check_update(&unknown_kind).is_err());
        let unknown_type = vec![1, 1, 1, 0, TYPE, 1, 1, b'x', 8, 0];
        assert!(check_update(&unknown_type).is_err());
        assert!(Update::decode_v1(&unknown_type).is_err());
    }

    /// Every truncation and every single-byte change of real updates: the
    /// check never panics, and whatever it accepts yrs decodes (the walk
    /// follows yrs' grammar rather than a looser one).
    #[test]
    fn mutations_of_real_updates_agree_with_yrs() {
        let mut accepted = 0;
        let mut refused = 0;
        for update in sample_updates() {
            let mut variants: Vec<Vec<u8>> =
                (0..update.len()).map(|n| update[..n].to_vec()).collect();
            for i in 0..update.len() {
                for b in [0x00, 0x01, 0x7f, 0x80, 0xff, update[i] ^ 0x10] {
                    let mut v = update.clone();
                    v[i] = b;
                    variants.push(v);
                }
            }
            for v in variants {
                if check_update(&v).is_ok() {
                    accepted += 1;
                    let decoded = std::panic::catch_unwind(|| Update::decode_v1(&v).map(|_| ()));
                    assert!(
                        matches!(decoded, Ok(Ok(()))),
                        "accepted but yrs refuses {v:?}: {decoded:?}"
                    );
                } else {
                    refused += 1;
                }
            }
        }
        assert!(accepted > 100 && refused > 100, "{accepted} / {refused}");
    }
}
