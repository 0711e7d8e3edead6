//! The only place that knows bincode (with `compact`, which writes snapshot headers field by
//! field). Every value is `[format byte][bincode standard]`, but snapshot headers from
//! `SNAPSHOT_V4` on (`compact`).
//! bincode (pinned 2.0.1, serde API) needs plain structs: every field always written, in
//! declaration order, so stored records never use `skip_serializing_if`, `flatten`,
//! untagged enums or `serde_json::Value`. Replacing the codec means changing this file.

use super::compact::CompactError;
use super::schema::{ExtraRow, SessionRec, SessionRec1, SnapshotRec, format, v1, v2};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty value")]
    Empty,
    #[error("format byte {found:#04x}, expected {expected:#04x}")]
    Format { found: u8, expected: u8 },
    #[error("undecodable value")]
    Decode(#[source] bincode::error::DecodeError),
    #[error("{trailing} trailing bytes after value")]
    Trailing { trailing: usize },
    #[error("zstd failed")]
    Zstd(#[source] std::io::Error),
    #[error("malformed value: {0}")]
    Malformed(&'static str),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub fn encode<T: Serialize>(format: u8, value: &T) -> Vec<u8> {
    let mut out = vec![format];
    // Encoding plain structs into a Vec cannot fail: no I/O, no unsupported serde features.
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("bincode encode of a plain struct into a Vec");
    out
}

/// The format byte of a stored value, without decoding it.
pub fn format_of(bytes: &[u8]) -> Option<u8> {
    bytes.first().copied()
}

pub fn decode<'a, T: Deserialize<'a>>(format: u8, bytes: &'a [u8]) -> Result<T, CodecError> {
    let (&found, rest) = bytes.split_first().ok_or(CodecError::Empty)?;
    if found != format {
        return Err(CodecError::Format {
            found,
            expected: format,
        });
    }
    // Borrowing decode: strings are read straight from the slice (short ones then live
    // inline in `Str`, with no allocation at all).
    let (v, used) =
        bincode::serde::borrow_decode_from_slice(rest, config()).map_err(CodecError::Decode)?;
    if used != rest.len() {
        return Err(CodecError::Trailing {
            trailing: rest.len() - used,
        });
    }
    Ok(v)
}

/// A session of any version, as the current struct.
pub fn decode_session(bytes: &[u8]) -> Result<SessionRec, CodecError> {
    if format_of(bytes) == Some(format::SESSION_V1) {
        return decode::<SessionRec1>(format::SESSION_V1, bytes).map(Into::into);
    }
    decode(format::SESSION_V2, bytes)
}

/// A snapshot header of any version, as the current struct.
pub fn decode_snapshot(bytes: &[u8]) -> Result<SnapshotRec, CodecError> {
    match format_of(bytes) {
        Some(format::SNAPSHOT_V1) => {
            decode::<v1::SnapshotRec>(format::SNAPSHOT_V1, bytes).map(Into::into)
        }
        Some(format::SNAPSHOT_V2) => {
            decode::<v2::SnapshotRec>(format::SNAPSHOT_V2, bytes).map(Into::into)
        }
        Some(format::SNAPSHOT_V3) => decode(format::SNAPSHOT_V3, bytes),
        Some(format::SNAPSHOT_V4) => {
            super::compact::decode_snapshot(&bytes[1..]).map_err(|e| match e {
                CompactError::Malformed(why) => CodecError::Malformed(why),
                CompactError::Decode(e) => CodecError::Decode(e),
                CompactError::Trailing(trailing) => CodecError::Trailing { trailing },
            })
        }
        Some(found) => Err(CodecError::Format {
            found,
            expected: format::SNAPSHOT_V4,
        }),
        None => Err(CodecError::Empty),
    }
}

/// A snapshot header as this version writes it (`SNAPSHOT_V4`).
pub fn encode_snapshot(s: &SnapshotRec) -> Vec<u8> {
    super::compact::encode_snapshot(format::SNAPSHOT_V4, s)
}

/// A job's extra rows: format byte, raw length (u64 LE), zstd of their bincode. They can be
/// many (a body of 10,000 rows sharing one id) and compress like checkpoints do.
pub fn encode_extras(rows: &[ExtraRow]) -> Vec<u8> {
    let raw = encode(format::EXTRAS_V1, &rows);
    let packed = zstd::bulk::compress(&raw[1..], 1).unwrap_or_default();
    let mut out = Vec::with_capacity(packed.len() + 9);
    out.push(format::EXTRAS_V1);
    out.extend_from_slice(&((raw.len() - 1) as u64).to_le_bytes());
    out.extend_from_slice(&packed);
    out
}

pub fn decode_extras(bytes: &[u8]) -> Result<Vec<ExtraRow>, CodecError> {
    let (&f, rest) = bytes.split_first().ok_or(CodecError::Empty)?;
    if f != format::EXTRAS_V1 {
        return Err(CodecError::Format {
            found: f,
            expected: format::EXTRAS_V1,
        });
    }
    if rest.len() < 8 {
        return Err(CodecError::Trailing { trailing: 0 });
    }
    let len = u64::from_le_bytes(rest[..8].try_into().unwrap_or_default()) as usize;
    // A corrupt length must not allocate the world.
    if len > (4usize << 30) {
        return Err(CodecError::Trailing { trailing: 0 });
    }
    let raw = zstd::bulk::decompress(&rest[8..], len).map_err(CodecError::Zstd)?;
    let (v, used) =
        bincode::serde::decode_from_slice(&raw, config()).map_err(CodecError::Decode)?;
    if used != raw.len() {
        return Err(CodecError::Trailing {
            trailing: raw.len() - used,
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::Execution;
    use crate::store::schema::{FetchErrorRec, SnapshotRec, format, v1};
    use proptest::prelude::*;

    fn sample_v1() -> v1::SnapshotRec {
        v1::SnapshotRec {
            session: 1,
            started_at: 1_759_330_371_000_000,
            duration_us: 250_000,
            fetches: vec![
                v1::FetchRec1 {
                    source: 0,
                    job: Some(0),
                    url: 3,
                    status: Some(200),
                    latency_us: 1234,
                    body: Some(9),
                    body_len: 512,
                    content_type: Some(1),
                    error: None,
                    parse_error: None,
                },
                v1::FetchRec1 {
                    source: 3,
                    job: None,
                    url: 4,
                    status: None,
                    latency_us: 10,
                    body: None,
                    body_len: 0,
                    content_type: None,
                    error: Some(FetchErrorRec {
                        kind: 1,
                        message: "refused".into(),
                    }),
                    parse_error: None,
                },
            ],
        }
    }

    /// Version 2's record, as it wrote it: the current record without `sent_us` and `retried`.
    fn sample_v2() -> v2::SnapshotRec {
        let s = sample_v3();
        v2::SnapshotRec {
            session: s.session,
            started_at: s.started_at,
            duration_us: s.duration_us,
            fetches: s
                .fetches
                .into_iter()
                .map(|f| v2::FetchRec2 {
                    source: f.source,
                    job: f.job,
                    url: f.url,
                    status: f.status,
                    latency_us: f.latency_us,
                    body: f.body,
                    body_len: f.body_len,
                    content_type: f.content_type,
                    error: f.error,
                    parse_error: f.parse_error,
                    outcome: f.outcome,
                    location: f.location,
                    rows: f.rows,
                    problems: f.problems,
                    problems_total: f.problems_total,
                    server_time: f.server_time,
                })
                .collect(),
        }
    }

    fn sample_v3() -> SnapshotRec {
        let mut s: SnapshotRec = sample_v1().into();
        s.fetches[0].rows = Some([4, 3, 0, 1]);
        s.fetches[0].problems = vec![crate::beacon::RowProblem {
            index: 3,
            id: None,
            reason: "not a row".into(),
        }];
        s.fetches[0].problems_total = 1;
        s.fetches[1].location = Some(5);
        s.fetches[1].server_time = Some(1_759_330_371_500_000);
        s
    }

    /// Golden bytes of version 1: files written by it must still read. Never edit this
    /// expectation; add a format instead.
    #[test]
    fn golden_snapshot_v1_bytes_still_read() {
        let bytes = encode(format::SNAPSHOT_V1, &sample_v1());
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "2001fd80ad9c0b34800c00fc90d00300020001000301c8fbd2040109fb000201010000030004000a0000000101077265667573656400"
        );
        let back = decode_snapshot(&bytes).unwrap();
        assert_eq!(back.fetches.len(), 2);
        assert_eq!(back.fetches[0].outcome(), crate::fetch::Outcome::Ok);
        assert_eq!(back.fetches[1].outcome(), crate::fetch::Outcome::Transport);
    }

    /// Golden bytes of version 2: files written by it must still read (as version 3 with
    /// nothing known of when requests were sent). Never edit this expectation.
    #[test]
    fn golden_snapshot_v2_bytes_still_read() {
        let bytes = encode(format::SNAPSHOT_V2, &sample_v2());
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_V2);
        assert_eq!(decode_snapshot(&bytes).unwrap(), sample_v3());
    }

    const GOLDEN_V2: &str = "2101fd80ad9c0b34800c00fc90d00300020001000301c8fbd2040109fb00020101000000000104030001010300096e6f74206120726f770100030004000a000000010107726566757365640005010500000001fdc0efab0b34800c00";

    /// Golden bytes of version 3. If this changes, files written by it no longer decode: add a
    /// format instead of editing the expectation.
    #[test]
    fn golden_snapshot_v3_bytes() {
        let mut s = sample_v3();
        s.fetches[0].sent_us = Some(1_500);
        s.fetches[1].retried = Some(FetchErrorRec {
            kind: 8,
            message: "closed".into(),
        });
        let bytes = encode(format::SNAPSHOT_V3, &s);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_V3);
        assert_eq!(decode_snapshot(&bytes).unwrap(), s);
    }

    const GOLDEN_V3: &str = "2201fd80ad9c0b34800c00fc90d00300020001000301c8fbd2040109fb00020101000000000104030001010300096e6f74206120726f77010001fbdc050000030004000a000000010107726566757365640005010500000001fdc0efab0b34800c0000010806636c6f73656400";

    /// Golden bytes of version 4 (`compact`). If this changes, files written by it no longer
    /// decode: add a format instead of editing the expectation.
    #[test]
    fn golden_snapshot_v4_bytes() {
        let mut s = sample_v3();
        s.fetches[0].sent_us = Some(1_500);
        s.fetches[1].retried = Some(FetchErrorRec {
            kind: 8,
            message: "closed".into(),
        });
        let bytes = encode_snapshot(&s);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_V4);
        assert_eq!(decode_snapshot(&bytes).unwrap(), s);
    }

    const GOLDEN_V4: &str = "230180dbf2dcc086a00690a10f0200df1003d20980040000c801090104030001dc0b010300096e6f74206120726f770103a025040a0005c0843d050107726566757365640806636c6f736564";

    #[test]
    fn wrong_format_byte_is_refused() {
        let bytes = encode(format::SNAPSHOT_V3, &sample_v3());
        assert!(matches!(
            decode::<SnapshotRec>(format::JOB_V1, &bytes),
            Err(CodecError::Format { .. })
        ));
        assert!(decode_snapshot(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn extras_round_trip() {
        let rows = vec![crate::beacon::ExtraRow {
            why: crate::beacon::ExtraWhy::DuplicateId,
            exec: Execution {
                id: 7,
                status: "failed".into(),
                ..Default::default()
            },
        }];
        let b = encode_extras(&rows);
        assert_eq!(decode_extras(&b).unwrap(), rows);
        assert!(decode_extras(&b[..b.len() - 2]).is_err());
        assert_eq!(decode_extras(&encode_extras(&[])).unwrap(), vec![]);
    }

    proptest! {
        #[test]
        fn execution_round_trips(id in any::<i64>(), status in ".*", started in proptest::option::of(any::<i64>()),
                                 code in proptest::option::of(".*"), retries in proptest::option::of(any::<u32>())) {
            let e = Execution { id, status: status.into(), started_at: started, error_code: code.map(Into::into), retry_count: retries, ..Default::default() };
            let bytes = encode(format::EXEC_V1, &e);
            prop_assert_eq!(decode::<Execution>(format::EXEC_V1, &bytes).unwrap(), e);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_snapshot(&bytes);
            let _ = decode_extras(&bytes);
            let _ = decode::<Execution>(format::EXEC_V1, &bytes);
        }
    }
}
