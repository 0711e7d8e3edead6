//! Timestamps as the runner writes them: RFC 3339 with or without fractions, `""` for none.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Go's zero time (`0001-01-01T00:00:00Z`), which some runner versions write for "never".
pub const GO_ZERO_US: i64 = -62_135_596_800_000_000;

/// Parses an RFC 3339 time into microseconds since the epoch, signed: a time at or before the
/// epoch is kept as it was sent (`1969-12-31T23:59:59Z` is -1 s). `""`, garbage and Go's zero
/// time ("never") are `None`.
pub fn parse_time_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .filter(|&us| us != GO_ZERO_US)
}

/// Microseconds since the epoch as RFC 3339 (UTC, `Z`), with fractions only when present.
pub fn format_micros(us: i64) -> String {
    match Utc.timestamp_micros(us).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("@{us}us"),
    }
}

/// Float unix seconds (the router's timestamps) to microseconds.
pub fn float_secs_to_micros(secs: f64) -> Option<i64> {
    if secs.is_finite() && secs > 0.0 && secs < 1e11 {
        Some((secs * 1e6).round() as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_precisions() {
        assert_eq!(parse_time_micros(""), None);
        assert_eq!(parse_time_micros("0001-01-01T00:00:00Z"), None);
        // Issue 27: at or before the epoch, kept as sent.
        assert_eq!(parse_time_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time_micros("1969-12-31T23:59:59Z"), Some(-1_000_000));
        let old = parse_time_micros("1900-01-01T00:00:00Z").unwrap();
        assert_eq!(format_micros(old), "1900-01-01T00:00:00Z");
        let s = parse_time_micros("2025-10-01T14:56:31Z").unwrap();
        let us = parse_time_micros("2025-10-01T14:56:31.190224Z").unwrap();
        assert_eq!(us - s, 190_224);
        assert_eq!(format_micros(s), "2025-10-01T14:56:31Z");
        assert_eq!(format_micros(us), "2025-10-01T14:56:31.190224Z");
    }
}
