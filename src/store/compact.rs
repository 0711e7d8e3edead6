//! Snapshot headers in format `SNAPSHOT_V4`: the same `SnapshotRec` as version 3, written
//! field by field so that a poll in which nothing changed costs as little as it can. An
//! unchanged poll is mostly its headers (the bodies are de-duplicated), and bincode of the
//! plain struct spends a byte on every absent `Option` and nine on every timestamp.
//!
//! Layout after the format byte (integers are LEB128; signed ones zigzag first):
//! `session, started_at (signed), duration_us, count`, then per request:
//! `source (byte), flags, url, latency_us, body_len, outcome (byte)` and, in flag order, the
//! fields present: `job, status, body, content_type, rows (4 integers), server_time (signed,
//! µs after started_at), sent_us, location, secrets_removed, error, parse_error, problems
//! (count then each as bincode) with problems_total, retried`. Rare fields that hold text
//! (errors, problems) are bincode-encoded as in version 3. The common flags are the low seven
//! bits, so that an ordinary request spends one byte on them.

use super::schema::{FetchErrorRec, FetchRec, RowProblem, SnapshotRec};
use serde::{Deserialize, Serialize};

const JOB: u32 = 1;
const STATUS: u32 = 1 << 1;
const BODY: u32 = 1 << 2;
const CONTENT_TYPE: u32 = 1 << 3;
const ROWS: u32 = 1 << 4;
const SERVER_TIME: u32 = 1 << 5;
const SENT: u32 = 1 << 6;
const LOCATION: u32 = 1 << 7;
const SECRETS: u32 = 1 << 8;
const ERROR: u32 = 1 << 9;
const PARSE_ERROR: u32 = 1 << 10;
const PROBLEMS: u32 = 1 << 11;
const RETRIED: u32 = 1 << 12;
const KNOWN: u32 = (1 << 13) - 1;

/// Why a header does not decode (`codec` says it as its own error).
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error("malformed value: {0}")]
    Malformed(&'static str),
    #[error("undecodable value")]
    Decode(#[source] bincode::error::DecodeError),
    #[error("{0} trailing bytes after value")]
    Trailing(usize),
}

/// The fewest bytes one request can take: source, flags, url, latency, length, outcome.
const MIN_FETCH: usize = 6;

pub fn encode_snapshot(format: u8, s: &SnapshotRec) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 32 * s.fetches.len());
    out.push(format);
    put(&mut out, s.session);
    put(&mut out, zigzag(s.started_at));
    put(&mut out, s.duration_us);
    put(&mut out, s.fetches.len() as u64);
    for f in &s.fetches {
        put_fetch(&mut out, f, s.started_at);
    }
    out
}

fn flags_of(f: &FetchRec) -> u32 {
    let mut flags = 0;
    let mut set = |on: bool, bit: u32| {
        if on {
            flags |= bit;
        }
    };
    set(f.job.is_some(), JOB);
    set(f.status.is_some(), STATUS);
    set(f.body.is_some(), BODY);
    set(f.content_type.is_some(), CONTENT_TYPE);
    set(f.rows.is_some(), ROWS);
    set(f.server_time.is_some(), SERVER_TIME);
    set(f.sent_us.is_some(), SENT);
    set(f.location.is_some(), LOCATION);
    set(f.secrets_removed != 0, SECRETS);
    set(f.error.is_some(), ERROR);
    set(f.parse_error.is_some(), PARSE_ERROR);
    set(!f.problems.is_empty() || f.problems_total != 0, PROBLEMS);
    set(f.retried.is_some(), RETRIED);
    flags
}

fn put_fetch(out: &mut Vec<u8>, f: &FetchRec, started_at: i64) {
    out.push(f.source);
    put(out, flags_of(f).into());
    put(out, f.url.into());
    put(out, f.latency_us);
    put(out, f.body_len);
    out.push(f.outcome);
    if let Some(j) = f.job {
        put(out, j.into());
    }
    if let Some(s) = f.status {
        put(out, s.into());
    }
    if let Some(b) = f.body {
        put(out, b);
    }
    if let Some(c) = f.content_type {
        put(out, c.into());
    }
    for r in f.rows.iter().flatten() {
        put(out, (*r).into());
    }
    if let Some(t) = f.server_time {
        put(out, zigzag(t.wrapping_sub(started_at)));
    }
    if let Some(s) = f.sent_us {
        put(out, s);
    }
    if let Some(l) = f.location {
        put(out, l.into());
    }
    if f.secrets_removed != 0 {
        put(out, f.secrets_removed.into());
    }
    if let Some(e) = &f.error {
        bincode_into(out, e);
    }
    if let Some(p) = &f.parse_error {
        bincode_into(out, p);
    }
    if !f.problems.is_empty() || f.problems_total != 0 {
        bincode_into(out, &f.problems);
        put(out, f.problems_total.into());
    }
    if let Some(e) = &f.retried {
        bincode_into(out, e);
    }
}

/// Decodes what `encode_snapshot` wrote (after the format byte, which the caller checked).
pub fn decode_snapshot(body: &[u8]) -> Result<SnapshotRec, CompactError> {
    let mut r = Cursor { bytes: body, at: 0 };
    let session = r.uint()?;
    let started_at = unzigzag(r.uint()?);
    let duration_us = r.uint()?;
    let count = r.uint()?;
    // A corrupt count must not allocate the world: every request takes some bytes.
    if count > (r.left() / MIN_FETCH) as u64 {
        return Err(CompactError::Malformed("more requests than bytes"));
    }
    let mut fetches = Vec::with_capacity(count as usize);
    for _ in 0..count {
        fetches.push(r.fetch(started_at)?);
    }
    if r.left() != 0 {
        return Err(CompactError::Trailing(r.left()));
    }
    Ok(SnapshotRec {
        session,
        started_at,
        duration_us,
        fetches,
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, CompactError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or(CompactError::Malformed("ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn uint(&mut self) -> Result<u64, CompactError> {
        read_uint(self.bytes, &mut self.at)
    }

    fn small<T: TryFrom<u64>>(&mut self) -> Result<T, CompactError> {
        T::try_from(self.uint()?).map_err(|_| CompactError::Malformed("integer out of range"))
    }

    fn bincode<T: Deserialize<'a>>(&mut self) -> Result<T, CompactError> {
        let (v, used) = bincode::serde::borrow_decode_from_slice(
            &self.bytes[self.at..],
            bincode::config::standard(),
        )
        .map_err(CompactError::Decode)?;
        self.at += used;
        Ok(v)
    }

    fn fetch(&mut self, started_at: i64) -> Result<FetchRec, CompactError> {
        let source = self.byte()?;
        let flags: u32 = self.small()?;
        if flags & !KNOWN != 0 {
            return Err(CompactError::Malformed("unknown request fields"));
        }
        let on = |bit: u32| flags & bit != 0;
        let url = self.small()?;
        let latency_us = self.uint()?;
        let body_len = self.uint()?;
        let outcome = self.byte()?;
        let job = on(JOB).then(|| self.small()).transpose()?;
        let status = on(STATUS).then(|| self.small()).transpose()?;
        let body = on(BODY).then(|| self.uint()).transpose()?;
        let content_type = on(CONTENT_TYPE).then(|| self.small()).transpose()?;
        let rows = on(ROWS).then(|| self.rows()).transpose()?;
        let server_time = on(SERVER_TIME)
            .then(|| Ok(started_at.wrapping_add(unzigzag(self.uint()?))))
            .transpose()?;
        let sent_us = on(SENT).then(|| self.uint()).transpose()?;
        let location = on(LOCATION).then(|| self.small()).transpose()?;
        let secrets_removed = if on(SECRETS) { self.small()? } else { 0 };
        let error = on(ERROR).then(|| self.bincode()).transpose()?;
        let parse_error = on(PARSE_ERROR).then(|| self.bincode()).transpose()?;
        let (problems, problems_total) = if on(PROBLEMS) {
            let p: Vec<RowProblem> = self.bincode()?;
            (p, self.small()?)
        } else {
            (Vec::new(), 0)
        };
        let retried: Option<FetchErrorRec> = on(RETRIED).then(|| self.bincode()).transpose()?;
        Ok(FetchRec {
            source,
            job,
            url,
            status,
            latency_us,
            body,
            body_len,
            content_type,
            error,
            parse_error,
            outcome,
            location,
            rows,
            problems,
            problems_total,
            server_time,
            sent_us,
            retried,
            secrets_removed,
        })
    }

    fn rows(&mut self) -> Result<[u32; 4], CompactError> {
        Ok([self.small()?, self.small()?, self.small()?, self.small()?])
    }
}

/// An unsigned LEB128 integer at `*at`, which moves past it; `None` when the bytes end first
/// or it does not fit in a u64.
pub(super) fn read_leb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return None;
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn read_uint(bytes: &[u8], at: &mut usize) -> Result<u64, CompactError> {
    read_leb(bytes, at).ok_or(match *at >= bytes.len() {
        true => CompactError::Malformed("ends early"),
        false => CompactError::Malformed("integer out of range"),
    })
}

/// `v` as an unsigned LEB128 integer.
pub(super) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn bincode_into<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    // Encoding plain values into a Vec cannot fail: no I/O, no unsupported serde features.
    bincode::serde::encode_into_std_write(v, out, bincode::config::standard())
        .expect("bincode encode of a plain value into a Vec");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_at_their_edges_round_trip() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put(&mut out, v);
            let mut c = Cursor { bytes: &out, at: 0 };
            assert_eq!(c.uint().unwrap(), v);
            assert_eq!(c.left(), 0);
        }
        for v in [0, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        // Eleven bytes, or a tenth byte above 1, is not a u64.
        let too_long = [0xffu8; 10];
        assert!(
            Cursor {
                bytes: &too_long,
                at: 0
            }
            .uint()
            .is_err()
        );
        let mut over = vec![0xffu8; 9];
        over.push(0x02);
        assert!(
            Cursor {
                bytes: &over,
                at: 0
            }
            .uint()
            .is_err()
        );
    }

    #[test]
    fn a_huge_count_is_refused_without_allocating() {
        let mut out = vec![];
        for v in [1, 2, 3, u64::MAX >> 1] {
            put(&mut out, v);
        }
        assert!(matches!(
            decode_snapshot(&out),
            Err(CompactError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_flags_are_refused() {
        let s = SnapshotRec {
            session: 1,
            started_at: 5,
            duration_us: 1,
            fetches: vec![FetchRec {
                source: 0,
                job: None,
                url: 0,
                status: None,
                latency_us: 0,
                body: None,
                body_len: 0,
                content_type: None,
                error: None,
                parse_error: None,
                outcome: 0,
                location: None,
                rows: None,
                problems: vec![],
                problems_total: 0,
                server_time: None,
                sent_us: None,
                retried: None,
                secrets_removed: 0,
            }],
        };
        let mut bytes = encode_snapshot(0, &s);
        assert_eq!(decode_snapshot(&bytes[1..]).unwrap(), s);
        // The request's flags are the byte after its source.
        bytes[6] = 0x7f;
        bytes[7] = 0x40;
        bytes.insert(8, 0);
        assert!(decode_snapshot(&bytes[1..]).is_err());
    }

    /// A poll of the classic job as the recorder wrote it (four requests, all answered): the
    /// header of an unchanged poll, which is most of what such a poll costs.
    #[test]
    fn an_ordinary_header_is_small() {
        let fetch =
            |source, url, latency_us, body, body_len, rows, server_time, sent_us| FetchRec {
                source,
                job: (source < 2).then_some(0),
                url,
                status: Some(200),
                latency_us,
                body: Some(body),
                body_len,
                content_type: Some(1),
                error: None,
                parse_error: None,
                outcome: 0,
                location: None,
                rows,
                problems: vec![],
                problems_total: 0,
                server_time: Some(server_time),
                sent_us: Some(sent_us),
                retried: None,
                secrets_removed: 0,
            };
        let at = 1_796_705_300_412_345;
        let s = SnapshotRec {
            session: 721,
            started_at: at,
            duration_us: 2_210,
            fetches: vec![
                fetch(
                    0,
                    0,
                    1_166,
                    747,
                    34_266,
                    Some([44, 44, 0, 0]),
                    1_796_705_301_000_000,
                    34,
                ),
                fetch(
                    1,
                    2,
                    264,
                    748,
                    6_758,
                    Some([20, 20, 0, 0]),
                    1_796_705_301_000_000,
                    1_237,
                ),
                fetch(3, 3, 411, 1_748, 155, None, 1_796_705_301_051_606, 112),
                fetch(4, 4, 372, 4, 550, None, 1_796_705_301_000_000, 125),
            ],
        };
        let bytes = encode_snapshot(0, &s);
        // Version 3 (bincode of the struct) took 177 bytes for this.
        assert!(bytes.len() <= 100, "{} bytes", bytes.len());
        assert_eq!(decode_snapshot(&bytes[1..]).unwrap(), s);
    }

    fn any_error() -> impl Strategy<Value = Option<FetchErrorRec>> {
        proptest::option::of(
            (any::<u8>(), ".{0,12}").prop_map(|(kind, message)| FetchErrorRec { kind, message }),
        )
    }

    prop_compose! {
        fn any_fetch()(
            source in any::<u8>(), job in proptest::option::of(any::<u32>()), url in any::<u32>(),
            status in proptest::option::of(any::<u16>()), latency_us in any::<u64>(),
            body in proptest::option::of(any::<u64>()), body_len in any::<u64>(),
            content_type in proptest::option::of(any::<u32>()), error in any_error(),
            parse_error in proptest::option::of(".{0,12}"), outcome in any::<u8>(),
            location in proptest::option::of(any::<u32>()),
            rows in proptest::option::of(any::<[u32; 4]>()),
            problems in proptest::collection::vec((any::<u32>(), proptest::option::of(any::<i64>()), ".{0,8}"), 0..3),
            problems_total in any::<u32>(), server_time in proptest::option::of(any::<i64>()),
            sent_us in proptest::option::of(any::<u64>()), retried in any_error(),
            secrets_removed in any::<u32>(),
        ) -> FetchRec {
            let problems = problems.into_iter().map(|(index, id, reason)| RowProblem { index, id, reason }).collect();
            FetchRec { source, job, url, status, latency_us, body, body_len, content_type, error,
                parse_error, outcome, location, rows, problems, problems_total, server_time,
                sent_us, retried, secrets_removed }
        }
    }

    proptest! {
        #[test]
        fn every_snapshot_round_trips(session in any::<u64>(), started_at in any::<i64>(),
                                      duration_us in any::<u64>(),
                                      fetches in proptest::collection::vec(any_fetch(), 0..5)) {
            let s = SnapshotRec { session, started_at, duration_us, fetches };
            let bytes = encode_snapshot(0, &s);
            prop_assert_eq!(decode_snapshot(&bytes[1..]).unwrap(), s);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_snapshot(&bytes);
        }
    }
}
