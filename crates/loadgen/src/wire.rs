//! The few y-websocket bytes the generator writes and reads, and the latency
//! marker it types into the chart.
//!
//! A writer types markers `~L{writer}.{seq}.{phase}.{micros}~` into its own
//! paragraph. The text of a v1 update is stored as plain UTF-8, so a receiver
//! finds the markers by scanning the message bytes, whatever the server did
//! to the update on the way (re-encoded it, merged several into one): no map
//! shared between connections, no clock other than the process's one epoch.

use yrs::updates::decoder::Decode;
use yrs::Update;

pub const MSG_SYNC: u64 = 0;
pub const MSG_AWARENESS: u64 = 1;
pub const SYNC_STEP1: u64 = 0;
pub const SYNC_STEP2: u64 = 1;
pub const SYNC_UPDATE: u64 = 2;

pub fn write_var(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

pub fn read_var(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(n);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn sync(kind: u64, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(payload.len() + 8);
    write_var(&mut buf, MSG_SYNC);
    write_var(&mut buf, kind);
    write_var(&mut buf, payload.len() as u64);
    buf.extend_from_slice(payload);
    buf
}

/// SyncStep1 with the given v1 state vector.
pub fn step1(state_vector: &[u8]) -> Vec<u8> {
    sync(SYNC_STEP1, state_vector)
}

/// SyncStep2 carrying a v1 update.
pub fn step2(update: &[u8]) -> Vec<u8> {
    sync(SYNC_STEP2, update)
}

/// An incremental update message.
pub fn update(update: &[u8]) -> Vec<u8> {
    sync(SYNC_UPDATE, update)
}

/// An awareness message with one client's JSON state.
pub fn awareness(client_id: u64, clock: u64, json: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(json.len() + 16);
    write_var(&mut payload, 1);
    write_var(&mut payload, client_id);
    write_var(&mut payload, clock);
    write_var(&mut payload, json.len() as u64);
    payload.extend_from_slice(json.as_bytes());
    let mut buf = Vec::with_capacity(payload.len() + 4);
    write_var(&mut buf, MSG_AWARENESS);
    write_var(&mut buf, payload.len() as u64);
    buf.extend_from_slice(&payload);
    buf
}

/// What one inbound message is, as far as the generator cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    Step1,
    /// Step 2, with its update's length in bytes.
    Step2(usize),
    /// An update's v1 payload.
    Update(&'a [u8]),
    Awareness,
    Other,
}

pub fn classify(msg: &[u8]) -> Inbound<'_> {
    let mut pos = 0;
    match read_var(msg, &mut pos) {
        Some(MSG_SYNC) => {
            let kind = read_var(msg, &mut pos);
            let len = read_var(msg, &mut pos).unwrap_or(0) as usize;
            let payload = msg.get(pos..pos.saturating_add(len)).unwrap_or(&[]);
            match kind {
                Some(SYNC_STEP1) => Inbound::Step1,
                Some(SYNC_STEP2) => Inbound::Step2(payload.len()),
                Some(SYNC_UPDATE) => Inbound::Update(payload),
                _ => Inbound::Other,
            }
        }
        Some(MSG_AWARENESS) => Inbound::Awareness,
        _ => Inbound::Other,
    }
}

/// Decodes a v1 update the way a client must before applying it. Returns
/// false when it does not decode.
pub fn decode_update(payload: &[u8]) -> bool {
    Update::decode_v1(payload).is_ok()
}

/// One latency marker typed by a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub writer: u32,
    pub seq: u32,
    pub phase: u32,
    /// Microseconds since the generator's epoch, at send.
    pub sent_us: u64,
}

impl Marker {
    pub fn text(&self) -> String {
        format!(
            "~L{}.{}.{}.{}~ ",
            self.writer, self.seq, self.phase, self.sent_us
        )
    }
}

/// Every marker in `bytes`, in order.
pub fn markers(bytes: &[u8], mut f: impl FnMut(Marker)) {
    let mut i = 0;
    while i + 2 < bytes.len() {
        if bytes[i] == b'~' && bytes[i + 1] == b'L' {
            if let Some((m, end)) = parse_marker(bytes, i + 2) {
                f(m);
                i = end;
                continue;
            }
        }
        i += 1;
    }
}

fn parse_marker(bytes: &[u8], mut pos: usize) -> Option<(Marker, usize)> {
    let mut nums = [0u64; 4];
    for (k, n) in nums.iter_mut().enumerate() {
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            *n = n
                .checked_mul(10)?
                .checked_add(u64::from(bytes[pos] - b'0'))?;
            pos += 1;
        }
        if pos == start || pos >= bytes.len() {
            return None;
        }
        let want = if k == 3 { b'~' } else { b'.' };
        if bytes[pos] != want {
            return None;
        }
        pos += 1;
    }
    Some((
        Marker {
            writer: u32::try_from(nums[0]).ok()?,
            seq: u32::try_from(nums[1]).ok()?,
            phase: u32::try_from(nums[2]).ok()?,
            sent_us: nums[3],
        },
        pos,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_through_bytes() {
        let a = Marker {
            writer: 7,
            seq: 42,
            phase: 3,
            sent_us: 123_456,
        };
        let b = Marker { seq: 43, ..a };
        let text = format!("xx~L1.2~{}{}~L9", a.text(), b.text());
        let mut found = Vec::new();
        markers(text.as_bytes(), |m| found.push(m));
        assert_eq!(found, vec![a, b]);
    }

    #[test]
    fn varints_round_trip() {
        for n in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            write_var(&mut buf, n);
            let mut pos = 0;
            assert_eq!(read_var(&buf, &mut pos), Some(n));
            assert_eq!(pos, buf.len());
        }
    }

    #[test]
    fn classifies_what_it_writes() {
        assert_eq!(classify(&step1(&[0])), Inbound::Step1);
        assert_eq!(classify(&step2(&[0, 0])), Inbound::Step2(2));
        assert_eq!(classify(&update(&[0, 0])), Inbound::Update(&[0, 0]));
        assert_eq!(classify(&awareness(1, 1, "{}")), Inbound::Awareness);
    }
}
