//! Selecting a point in time: `17`, `first`, `last`, `-3`, an RFC 3339 time, or `+90s`.

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
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SelectError {
    #[error(
        "{0:?} is not a selector (use a seq like 17, first, last, -3, an RFC 3339 time, or +90s)"
    )]
    Invalid(String),
    #[error("the recording has no snapshots")]
    Empty,
    #[error("no snapshot {0}: the recording has seq {1} to {2}")]
    NoSeq(u64, u64, u64),
    #[error("{0} is before the first snapshot ({1})")]
    TooEarly(String, String),
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
            let d = crate::cli_support::parse_offset(rest).ok_or_else(bad)?;
            return Ok(Selector::Offset(d));
        }
        if let Some(rest) = t.strip_prefix('-') {
            return rest.parse().map(Selector::BeforeLast).map_err(|_| bad());
        }
        if let Ok(n) = t.parse::<u64>() {
            return Ok(Selector::Seq(n));
        }
        crate::beacon::parse_time_micros(t)
            .map(Selector::At)
            .ok_or_else(bad)
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
            Selector::At(t) => at_or_before(snaps, t),
            Selector::Offset(d) => at_or_before(snaps, first.started_at + d),
        }
    }
}

fn at_or_before(snaps: &[SnapshotInfo], t: i64) -> Result<u64, SelectError> {
    let idx = snaps.partition_point(|s| s.started_at <= t);
    if idx == 0 {
        return Err(SelectError::TooEarly(
            crate::beacon::format_micros(t),
            crate::beacon::format_micros(snaps[0].started_at),
        ));
    }
    Ok(snaps[idx - 1].seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snaps() -> Vec<SnapshotInfo> {
        (1..=5)
            .map(|i| SnapshotInfo {
                seq: i,
                started_at: 1_000_000_000 + i as i64 * 5_000_000,
                ended_at: 0,
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
        assert!(matches!(r("9"), Err(SelectError::NoSeq(9, 1, 5))));
        assert!(matches!(r("-5"), Err(SelectError::TooFarBack(5, 5))));
        assert!(matches!(
            r("1970-01-01T00:00:01Z"),
            Err(SelectError::TooEarly(..))
        ));
        assert!("yesterday".parse::<Selector>().is_err());
        assert_eq!(Selector::Last.resolve(&[]), Err(SelectError::Empty));
    }
}
