//! Body storage: content-addressed by blake3, zstd-compressed, and delta-encoded against the
//! previous body of the same URL when that is small: as a patch (the one changed stretch)
//! when that is shorter, else as zstd with the previous body as dictionary. Decoding follows
//! the delta chain, whose depth is bounded by `MAX_DELTA_DEPTH`.

use super::compact::{put, read_leb};
use super::schema::BodyRec;

/// zstd level for full bodies: level 3 is zstd's default, a good ratio at ~300 MB/s.
const LEVEL: i32 = 3;
/// Bodies up to this size are delta-encoded against their predecessor. Larger ones (a big
/// execution list) are compressed alone: a dictionary of several MB costs more to load than
/// it saves, and such bodies are de-duplicated whole when unchanged.
pub const DELTA_MAX_LEN: usize = 256 * 1024;
/// Every 64th body of a URL is stored full, so decoding one reads at most 64 bodies.
pub const MAX_DELTA_DEPTH: u32 = 63;

pub const ENC_RAW: u8 = 0;
pub const ENC_ZSTD: u8 = 1;
pub const ENC_ZSTD_DELTA: u8 = 2;
/// The base with one stretch replaced: `[prefix kept][suffix kept]` as LEB128, then the bytes
/// between them. The router's `/health` changes only its `timestamp` between polls: a few
/// bytes this way, some 30 as a zstd frame.
pub const ENC_PATCH: u8 = 3;
/// A patch at most this long is taken without trying zstd.
const PATCH_ENOUGH: usize = 48;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("zstd failed")]
    Zstd(#[source] std::io::Error),
    #[error("unknown body encoding {0}")]
    Encoding(u8),
    #[error("delta body has no base")]
    NoBase,
    #[error("decoded body has {found} bytes, expected {expected}")]
    Length { found: usize, expected: u64 },
    #[error("decoded body does not match its hash")]
    Hash,
    #[error("patch does not fit its base")]
    Patch,
}

/// Encodes `raw`; `base` is the previous body of the same URL (id, raw bytes, depth).
/// The first 8 bytes of a blake3 hash: a body's own integrity check.
pub fn check_of(hash: &[u8; 32]) -> [u8; 8] {
    let mut c = [0u8; 8];
    c.copy_from_slice(&hash[..8]);
    c
}

pub fn encode(raw: &[u8], hash: [u8; 32], base: Option<(u64, &[u8], u32)>) -> BodyRec {
    let check = check_of(&hash);
    if let Some((base_id, base_raw, depth)) = base
        && raw.len() <= DELTA_MAX_LEN
        && base_raw.len() <= DELTA_MAX_LEN
        && depth < MAX_DELTA_DEPTH
    {
        let delta = |encoding, data| BodyRec {
            check,
            len: raw.len() as u64,
            encoding,
            base: Some(base_id),
            depth: depth + 1,
            data,
        };
        let patch = patch(base_raw, raw);
        if patch.len() <= PATCH_ENOUGH {
            return delta(ENC_PATCH, patch);
        }
        if let Ok(mut c) = zstd::bulk::Compressor::with_dictionary(LEVEL, base_raw)
            && let Ok(data) = c.compress(raw)
        {
            return match data.len() < patch.len() {
                true => delta(ENC_ZSTD_DELTA, data),
                false => delta(ENC_PATCH, patch),
            };
        }
    }
    match zstd::bulk::compress(raw, LEVEL) {
        Ok(data) if data.len() < raw.len() => BodyRec {
            check,
            len: raw.len() as u64,
            encoding: ENC_ZSTD,
            base: None,
            depth: 0,
            data,
        },
        _ => BodyRec {
            check,
            len: raw.len() as u64,
            encoding: ENC_RAW,
            base: None,
            depth: 0,
            data: raw.to_vec(),
        },
    }
}

/// Decodes a body; `base_raw` is the decoded base for a delta body.
pub fn decode(rec: &BodyRec, base_raw: Option<&[u8]>) -> Result<Vec<u8>, BlobError> {
    let cap = rec.len as usize;
    let out = match rec.encoding {
        ENC_RAW => rec.data.clone(),
        ENC_ZSTD => zstd::bulk::decompress(&rec.data, cap).map_err(BlobError::Zstd)?,
        ENC_ZSTD_DELTA => {
            let base = base_raw.ok_or(BlobError::NoBase)?;
            zstd::bulk::Decompressor::with_dictionary(base)
                .and_then(|mut d| d.decompress(&rec.data, cap))
                .map_err(BlobError::Zstd)?
        }
        ENC_PATCH => apply(base_raw.ok_or(BlobError::NoBase)?, &rec.data, cap)?,
        other => return Err(BlobError::Encoding(other)),
    };
    if out.len() as u64 != rec.len {
        return Err(BlobError::Length {
            found: out.len(),
            expected: rec.len,
        });
    }
    if check_of(blake3::hash(&out).as_bytes()) != rec.check {
        return Err(BlobError::Hash);
    }
    Ok(out)
}

/// `raw` as `base` with the stretch between their common prefix and common suffix replaced.
fn patch(base: &[u8], raw: &[u8]) -> Vec<u8> {
    let prefix = base.iter().zip(raw).take_while(|(a, b)| a == b).count();
    let most = base.len().min(raw.len()) - prefix;
    let suffix = base
        .iter()
        .rev()
        .zip(raw.iter().rev())
        .take(most)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = Vec::with_capacity(8 + raw.len() - prefix - suffix);
    put(&mut out, prefix as u64);
    put(&mut out, suffix as u64);
    out.extend_from_slice(&raw[prefix..raw.len() - suffix]);
    out
}

/// Undoes `patch`; `cap` is the length the result must have.
fn apply(base: &[u8], data: &[u8], cap: usize) -> Result<Vec<u8>, BlobError> {
    let mut at = 0;
    let prefix = read_leb(data, &mut at).ok_or(BlobError::Patch)?;
    let suffix = read_leb(data, &mut at).ok_or(BlobError::Patch)?;
    let kept = prefix.checked_add(suffix).ok_or(BlobError::Patch)?;
    if kept > base.len() as u64 {
        return Err(BlobError::Patch);
    }
    let (prefix, suffix) = (prefix as usize, suffix as usize);
    let middle = &data[at..];
    if prefix + middle.len() + suffix != cap {
        return Err(BlobError::Length {
            found: prefix + middle.len() + suffix,
            expected: cap as u64,
        });
    }
    let mut out = Vec::with_capacity(cap);
    out.extend_from_slice(&base[..prefix]);
    out.extend_from_slice(middle);
    out.extend_from_slice(&base[base.len() - suffix..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_of_near_copy_is_tiny_and_round_trips() {
        let a = br#"{"status":"healthy","timestamp":1760545260.412,"version":"4c5c4cf","providers_total":3,"providers_healthy":3,"regions":["us-east","eu-west","asia-pacific"]}"#;
        let b = br#"{"status":"healthy","timestamp":1760545265.981,"version":"4c5c4cf","providers_total":3,"providers_healthy":3,"regions":["us-east","eu-west","asia-pacific"]}"#;
        let full = encode(a, *blake3::hash(a).as_bytes(), None);
        let delta = encode(b, *blake3::hash(b).as_bytes(), Some((1, a, 0)));
        assert_eq!(delta.encoding, ENC_PATCH);
        // `5.981` (the `0.412` it replaces, but for the common `.`: one stretch) and two lengths.
        assert_eq!(delta.data.len(), 2 + 5, "delta {:?}", delta.data);
        assert_eq!(decode(&full, None).unwrap(), a);
        assert_eq!(decode(&delta, Some(a)).unwrap(), b);
        assert!(matches!(decode(&delta, None), Err(BlobError::NoBase)));
    }

    #[test]
    fn a_body_changed_throughout_is_a_zstd_delta() {
        let a: Vec<u8> = (0..4000u32)
            .flat_map(|i| format!("row {i},").into_bytes())
            .collect();
        let b: Vec<u8> = a
            .iter()
            .map(|c| if *c == b',' { b';' } else { *c })
            .collect();
        let d = encode(&b, *blake3::hash(&b).as_bytes(), Some((1, &a, 0)));
        assert_eq!(d.encoding, ENC_ZSTD_DELTA);
        assert!(d.data.len() < b.len() / 4, "{} bytes", d.data.len());
        assert_eq!(decode(&d, Some(&a)).unwrap(), b);
    }

    #[test]
    fn patches_round_trip_at_their_edges() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"", b""),
            (b"abc", b"abc"),
            (b"abc", b""),
            (b"", b"abc"),
            (b"aaaa", b"aa"),
            (b"aa", b"aaaa"),
            (b"head-1-tail", b"head-22-tail"),
        ];
        for (a, b) in cases {
            let p = patch(a, b);
            assert_eq!(apply(a, &p, b.len()).unwrap(), b, "{a:?} -> {b:?}");
            let rec = encode(b, *blake3::hash(b).as_bytes(), Some((1, a, 0)));
            assert_eq!(decode(&rec, Some(a)).unwrap(), b);
        }
    }

    #[test]
    fn a_patch_that_does_not_fit_is_refused() {
        // Prefix 3 and suffix 3 of a 4-byte base.
        assert!(matches!(apply(b"abcd", &[3, 3], 6), Err(BlobError::Patch)));
        assert!(matches!(apply(b"abcd", &[0x80], 4), Err(BlobError::Patch)));
        // Prefix 1, one byte, suffix 1: 3 bytes, not the 9 the record says; the error says so.
        assert!(matches!(
            apply(b"abcd", &[1, 1, b'x'], 9),
            Err(BlobError::Length {
                found: 3,
                expected: 9
            })
        ));
        let huge = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0,
        ];
        assert!(apply(b"abcd", &huge, 4).is_err());
    }

    #[test]
    fn corrupt_data_is_detected() {
        let a = vec![b'x'; 1000];
        let mut rec = encode(&a, *blake3::hash(&a).as_bytes(), None);
        rec.check[0] ^= 1;
        assert!(decode(&rec, None).is_err());
    }
}
