//! The latency marker a writer types into the chart.
//!
//! A writer types markers `~L{writer}.{seq}.{phase}.{micros}~` into its own
//! paragraph. The text of a v1 update is stored as plain UTF-8, so a receiver
//! finds the markers by scanning the message bytes, whatever the server did
//! to the update on the way (re-encoded it, merged several into one): no map
//! shared between connections, no clock other than the process's one epoch.

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
}
