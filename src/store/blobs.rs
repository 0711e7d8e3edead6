//! Body storage: content-addressed by blake3, zstd-compressed, and delta-encoded against the
//! previous body of the same URL when that is small. Decoding follows the delta chain, whose
//! depth is bounded by `MAX_DELTA_DEPTH`.

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
        && let Ok(mut c) = zstd::bulk::Compressor::with_dictionary(LEVEL, base_raw)
        && let Ok(data) = c.compress(raw)
    {
        return BodyRec {
            check,
            len: raw.len() as u64,
            encoding: ENC_ZSTD_DELTA,
            base: Some(base_id),
            depth: depth + 1,
            data,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_of_near_copy_is_tiny_and_round_trips() {
        let a = br#"{"status":"healthy","timestamp":1760545260.412,"version":"4c5c4cf","providers_total":3,"providers_healthy":3,"regions":["us-east","eu-west","asia-pacific"]}"#;
        let b = br#"{"status":"healthy","timestamp":1760545265.981,"version":"4c5c4cf","providers_total":3,"providers_healthy":3,"regions":["us-east","eu-west","asia-pacific"]}"#;
        let full = encode(a, *blake3::hash(a).as_bytes(), None);
        let delta = encode(b, *blake3::hash(b).as_bytes(), Some((1, a, 0)));
        assert_eq!(delta.encoding, ENC_ZSTD_DELTA);
        assert!(delta.data.len() < 40, "delta {} bytes", delta.data.len());
        assert_eq!(decode(&full, None).unwrap(), a);
        assert_eq!(decode(&delta, Some(a)).unwrap(), b);
        assert!(matches!(decode(&delta, None), Err(BlobError::NoBase)));
    }

    #[test]
    fn corrupt_data_is_detected() {
        let a = vec![b'x'; 1000];
        let mut rec = encode(&a, *blake3::hash(&a).as_bytes(), None);
        rec.check[0] ^= 1;
        assert!(decode(&rec, None).is_err());
    }
}
