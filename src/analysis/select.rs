//! Selecting a point in time: `17`, `first`, `last`, `-3`, an RFC 3339 time, `+90s` /
//! `+1h30m` from the first snapshot, or `-30m` before the last.
//!
//! One rule for times: a time is answered with the last snapshot taken at or before it, and it
//! must fall within the recording (from the first snapshot's start to the last one's end); a
//! time before or after that is refused, naming the recording's span. `-30m` is "the last 30
//! minutes": the first snapshot taken at or after 30 minutes before the last one began (the
//! first snapshot when the recording is shorter), so it always names one.

use crate::store::SnapshotInfo;

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Seq(u64),
    First,
    Last,
    /// N snapshots before the last.
    BeforeLast(u64),
    /// The last snapshot taken at or before this time (µs since epoch).
    At(i64),
    /// Offset from the first snapshot's time, in µs.
    Offset(i64),
    /// The first snapshot taken at or after this long (µs) before the last one began.
    Within(i64),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SelectError {
    #[error(
        "{0:?} is not a selector (use a seq like 17, first, last, -3, an RFC 3339 time, +90s / +1h30m from the first, or -30m before the last)"
    )]
    Invalid(String),
    #[error("the recording has no snapshots")]
    Empty,
    #[error("no snapshot {0}: the recording has seq {1} to {2}")]
    NoSeq(u64, u64, u64),
    #[error("{0} is outside the recording, which runs from {1} to {2}")]
    Outside(String, String, String),
    #[error("-{0} goes before the first snapshot (the recording has {1})")]
    TooFarBack(u64, usize),
}

impl std::str::FromStr for Selector {
    type Err = SelectError;

    fn from_str(s: &str) -> Result<Self, SelectError> {
        let t = s.trim();
        let bad = || SelectError::Invalid(s.to_string());
        match t {
            "first" => return Ok(Selector::First),
            "last" => return Ok(Selector::Last),
            _ => {}
        }
        if let Some(rest) = t.strip_prefix('+') {
            let d = crate::duration::parse_us(rest).map_err(|_| bad())?;
            return Ok(Selector::Offset(d));
        }
        if let Some(rest) = t.strip_prefix('-') {
            if let Ok(n) = rest.parse() {
                return Ok(Selector::BeforeLast(n));
            }
            let d = crate::duration::parse_us(rest).map_err(|_| bad())?;
            return Ok(Selector::Within(d));
        }
        if let Ok(n) = t.parse::<u64>() {
            return Ok(Selector::Seq(n));
        }
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| Selector::At(d.timestamp_micros()))
            .map_err(|_| bad())
    }
}

impl Selector {
    /// The seq this selector names in a recording with these snapshots (in seq order).
    pub fn resolve(&self, snaps: &[SnapshotInfo]) -> Result<u64, SelectError> {
        let (first, last) = match (snaps.first(), snaps.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Err(SelectError::Empty),
        };
        match *self {
            Selector::First => Ok(first.seq),
            Selector::Last => Ok(last.seq),
            Selector::Seq(n) => {
                if snaps.binary_search_by_key(&n, |s| s.seq).is_ok() {
                    Ok(n)
                } else {
                    Err(SelectError::NoSeq(n, first.seq, last.seq))
                }
            }
            Selector::BeforeLast(n) => {
                let len = snaps.len();
                if (n as usize) < len {
                    Ok(snaps[len - 1 - n as usize].seq)
                } else {
                    Err(SelectError::TooFarBack(n, len))
                }
            }
            Selector::At(t) => at_or_before(snaps, t, || crate::beacon::format_micros(t)),
            Selector::Offset(d) => at_or_before(snaps, first.started_at.saturating_add(d), || {
                format!("+{}", crate::duration::human(d))
            }),
            Selector::Within(d) => {
                let since = last.started_at.saturating_sub(d);
                Ok(snaps[snaps.partition_point(|s| s.started_at < since)].seq)
            }
        }
    }
}

fn at_or_before(
    snaps: &[SnapshotInfo],
    t: i64,
    name: impl Fn() -> String,
) -> Result<u64, SelectError> {
    let (first, last) = (&snaps[0], &snaps[snaps.len() - 1]);
    if t < first.started_at || t > last.ended_at.max(last.started_at) {
        let span = crate::duration::human(last.ended_at.max(last.started_at) - first.started_at);
        return Err(SelectError::Outside(
            name(),
            crate::beacon::format_micros(first.started_at),
            format!(
                "{} (+{span})",
                crate::beacon::format_micros(last.ended_at.max(last.started_at))
            ),
        ));
    }
    let idx = snaps.partition_point(|s| s.started_at <= t);
    Ok(snaps[idx.max(1) - 1].seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snaps() -> Vec<SnapshotInfo> {
        (1..=5)
            .map(|i| SnapshotInfo {
                seq: i,
                started_at: 1_000_000_000 + i as i64 * 5_000_000,
                ended_at: 1_000_000_000 + i as i64 * 5_000_000 + 100_000,
                session: 1,
            })
            .collect()
    }

    #[test]
    fn selectors_resolve() {
        let s = snaps();
        let r = |x: &str| x.parse::<Selector>().unwrap().resolve(&s);
        assert_eq!(r("first"), Ok(1));
        assert_eq!(r("last"), Ok(5));
        assert_eq!(r("3"), Ok(3));
        assert_eq!(r("-1"), Ok(4));
        assert_eq!(r("-0"), Ok(5));
        assert_eq!(r("+0s"), Ok(1));
        assert_eq!(r("+5s"), Ok(2));
        assert_eq!(r("+7s"), Ok(2));
        assert_eq!(r("+20.1s"), Ok(5), "up to the last snapshot's end");
        assert!(matches!(r("9"), Err(SelectError::NoSeq(9, 1, 5))));
        assert!(matches!(r("-5"), Err(SelectError::TooFarBack(5, 5))));
        // Before the start and past the end: one rule.
        assert!(matches!(
            r("1970-01-01T00:00:00Z"),
            Err(SelectError::Outside(..))
        ));
        assert!(matches!(r("+5m"), Err(SelectError::Outside(..))));
        assert!(matches!(r("+1h30m"), Err(SelectError::Outside(..))));
        let e = r("+5m").unwrap_err().to_string();
        assert!(e.starts_with("+5m00s is outside the recording"), "{e}");
        assert!("yesterday".parse::<Selector>().is_err());
        assert!("-yesterday".parse::<Selector>().is_err());
        // The last N minutes: from the first snapshot at or after that long before the last.
        assert_eq!(
            r("-5s"),
            Ok(4),
            "snapshot 4 began exactly 5 s before the last"
        );
        assert_eq!(r("-4.9s"), Ok(5));
        assert_eq!(r("-6s"), Ok(4));
        assert_eq!(r("-0s"), Ok(5));
        assert_eq!(r("-30m"), Ok(1), "longer than the recording: all of it");
        assert_eq!(
            "1970-01-01T00:00:00Z".parse::<Selector>(),
            Ok(Selector::At(0))
        );
        assert_eq!(Selector::Last.resolve(&[]), Err(SelectError::Empty));
    }
}
