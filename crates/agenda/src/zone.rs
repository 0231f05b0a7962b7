//! Time zones, civil-time resolution and display formatting.
//!
//! Why: an Open Space agenda is planned in the conference's wall-clock time
//! but stored as UTC instants, because worldwide events have participants in
//! every zone and only an instant means the same moment to all of them. This
//! module is the single place where wall-clock times become instants (with a
//! clear rule for daylight-saving gaps and folds) and instants become text.
//!
//! Zones are looked up in jiff's global tz database: the system copy when the
//! host has one, otherwise the copy bundled into the binary (crate feature
//! `tzdb-bundle-always`), so validation works in minimal containers too.

use std::fmt;

use jiff::civil::DateTime;
use jiff::fmt::temporal::Pieces;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use crate::error::{AgendaError, Result};

/// A validated IANA time zone, e.g. `Europe/Lisbon`.
///
/// Why a newtype: it guarantees the name was found in the tz database, keeps
/// the canonical spelling for serialization (it serializes as the plain name)
/// and caches the loaded rules so conversions never fail later.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Look `name` up in the IANA tz database.
    ///
    /// Only IANA names are accepted (`UTC`, `America/New_York`, ...); fixed
    /// offsets such as `+05:00` and POSIX TZ strings are rejected because they
    /// silently ignore daylight-saving time. Lookup is case-insensitive and
    /// the canonical capitalization is kept.
    pub fn parse(name: &str) -> Result<Zone> {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(AgendaError::InvalidTimeZone {
                name: name.to_owned(),
                reason: "must not be empty".to_owned(),
            });
        }
        let tz = jiff::tz::db()
            .get(trimmed)
            .map_err(|e| AgendaError::InvalidTimeZone {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        let canonical = tz.iana_name().unwrap_or(trimmed).to_owned();
        Ok(Zone {
            name: canonical,
            tz,
        })
    }

    /// The UTC zone.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// The IANA name, e.g. `Europe/Lisbon`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The loaded jiff time zone rules.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The instant `at` as wall-clock time in this zone.
    pub fn zoned(&self, at: Timestamp) -> Zoned {
        at.to_zoned(self.tz.clone())
    }

    /// Turn a wall-clock time in this zone into an instant.
    ///
    /// Resolution rule (documented because DST makes it necessary):
    /// - a time inside a spring-forward **gap** (e.g. 02:30 on the night New
    ///   York jumps from 02:00 to 03:00) does not exist and is rejected with
    ///   [`AgendaError::NonexistentLocalTime`]: silently shifting a session
    ///   by an hour is worse than asking the organizer;
    /// - a time inside a fall-back **fold** (e.g. 01:30 on the night clocks go
    ///   back) happens twice; the **earlier** occurrence (still on daylight
    ///   time) is chosen, i.e. the first time the wall clock shows it. Give
    ///   an RFC 3339 instant with an explicit offset to pick the later one.
    pub fn resolve(&self, datetime: DateTime) -> Result<Timestamp> {
        let ambiguous = self.tz.to_ambiguous_timestamp(datetime);
        match ambiguous.offset() {
            AmbiguousOffset::Gap { .. } => Err(AgendaError::NonexistentLocalTime {
                datetime,
                time_zone: self.name.clone(),
            }),
            AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => ambiguous
                .earlier()
                .map_err(|e| AgendaError::invalid("datetime", e.to_string())),
        }
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl std::str::FromStr for Zone {
    type Err = AgendaError;
    fn from_str(s: &str) -> Result<Zone> {
        Zone::parse(s)
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Zone, D::Error> {
        let name = String::deserialize(d)?;
        Zone::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// Parse an RFC 3339 timestamp that carries an explicit offset, e.g.
/// `2026-11-03T09:00:00Z` or `2026-11-01T01:30:00-05:00`.
///
/// Why: an offset pins the instant unambiguously, which is the only way to
/// name the second 01:30 of a fall-back night.
pub fn parse_instant(input: &str) -> Result<Timestamp> {
    input.trim().parse::<Timestamp>().map_err(|e| {
        AgendaError::invalid(
            "starts_at",
            format!("expected an RFC 3339 timestamp with offset: {e}"),
        )
    })
}

/// Parse a wall-clock date and time without offset, e.g. `2026-11-03T09:00`.
///
/// Strings carrying an offset or a `[zone]` annotation are rejected so that a
/// caller never believes an offset was honoured when it was not; use
/// [`parse_instant`] for those.
pub fn parse_civil(input: &str) -> Result<DateTime> {
    let input = input.trim();
    let pieces = Pieces::parse(input).map_err(|e| {
        AgendaError::invalid(
            "starts_at",
            format!("expected a civil date and time like 2026-11-03T09:00: {e}"),
        )
    })?;
    if pieces.offset().is_some() || pieces.time_zone_annotation().is_some() {
        return Err(AgendaError::invalid(
            "starts_at",
            "a civil time must not carry an offset or zone; pass it as an RFC 3339 instant instead",
        ));
    }
    let time = pieces
        .time()
        .ok_or_else(|| AgendaError::invalid("starts_at", "a time of day is required"))?;
    Ok(DateTime::from_parts(pieces.date(), time))
}

/// Format an instant for people: `Mon 3 Nov 2026 09:00 WET (+00:00)`.
///
/// Why both abbreviation and offset: abbreviations are familiar but
/// ambiguous (IST, CST), the numeric offset is not; and on a fall-back night
/// the offset is what tells the two 01:30s apart.
pub fn format_local(zoned: &Zoned) -> String {
    zoned.strftime("%a %-d %b %Y %H:%M %Z (%:z)").to_string()
}

/// Format an instant as UTC RFC 3339, e.g. `2026-11-03T09:00:00Z`; the
/// machine-readable form for APIs and calendar exports.
pub fn format_utc(at: Timestamp) -> String {
    at.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_canonicalized() {
        assert_eq!(
            Zone::parse("europe/lisbon").unwrap().name(),
            "Europe/Lisbon"
        );
        assert_eq!(Zone::parse(" UTC ").unwrap().name(), "UTC");
    }

    #[test]
    fn bundled_database_is_available() {
        // Hosts without /usr/share/zoneinfo must still know the zones.
        let db = jiff::tz::TimeZoneDatabase::bundled();
        assert!(db.get("Europe/Lisbon").is_ok());
        assert!(db.get("America/New_York").is_ok());
    }
}
