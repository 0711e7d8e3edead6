//! The only place that knows bincode. Every value is `[format byte][bincode standard]`.
//! bincode (pinned 2.0.1, serde API) needs plain structs: every field always written, in
//! declaration order, so stored records never use `skip_serializing_if`, `flatten`,
//! untagged enums or `serde_json::Value`. Replacing the codec means changing this file.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::Execution;
    use crate::store::schema::{FetchErrorRec, FetchRec, SnapshotRec, format};
    use proptest::prelude::*;

    fn sample_snapshot() -> SnapshotRec {
        SnapshotRec {
            session: 1,
            started_at: 1_759_330_371_000_000,
            duration_us: 250_000,
            fetches: vec![
                FetchRec {
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
                FetchRec {
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

    /// Golden bytes: if this changes, old files no longer decode. Bump SCHEMA_VERSION and
    /// add a migration instead of editing the expectation.
    #[test]
    fn golden_snapshot_bytes() {
        let bytes = encode(format::SNAPSHOT_V1, &sample_snapshot());
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "2001fd80ad9c0b34800c00fc90d00300020001000301c8fbd2040109fb000201010000030004000a0000000101077265667573656400"
        );
        let back: SnapshotRec = decode(format::SNAPSHOT_V1, &bytes).unwrap();
        assert_eq!(back, sample_snapshot());
    }

    #[test]
    fn wrong_format_byte_is_refused() {
        let bytes = encode(format::SNAPSHOT_V1, &sample_snapshot());
        assert!(matches!(
            decode::<SnapshotRec>(format::JOB_V1, &bytes),
            Err(CodecError::Format { .. })
        ));
        assert!(decode::<SnapshotRec>(format::SNAPSHOT_V1, &bytes[..bytes.len() - 3]).is_err());
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
            let _ = decode::<SnapshotRec>(format::SNAPSHOT_V1, &bytes);
            let _ = decode::<Execution>(format::EXEC_V1, &bytes);
        }
    }
}
