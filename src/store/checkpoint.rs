//! Execution checkpoints: every live execution of a job after one snapshot, in one value, so
//! that the state at any snapshot is a checkpoint plus a bounded number of changes.

use super::schema::format;

/// Below this many versions since the last checkpoint, none is written (small jobs replay
/// their few changes faster than they would decode a checkpoint).
pub const MIN_CHANGES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("format byte {0:#04x}, expected a checkpoint")]
    Format(u8),
    #[error("empty value")]
    Empty,
    #[error("zstd failed")]
    Zstd(#[source] std::io::Error),
    #[error("entry cut off at byte {0}")]
    Truncated(usize),
}

/// Whether a checkpoint is due after `since` versions, with `live` rows in the job.
pub fn due(since: usize, live: usize) -> bool {
    since >= MIN_CHANGES.max(live / 8)
}

/// Encodes (id, encoded execution) pairs.
pub fn encode<'a>(rows: impl Iterator<Item = (i64, &'a [u8])>) -> Vec<u8> {
    let mut raw = Vec::new();
    for (id, bytes) in rows {
        raw.extend_from_slice(&id.to_le_bytes());
        raw.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        raw.extend_from_slice(bytes);
    }
    // Level 1: checkpoints are written while recording; speed matters more than ratio.
    let packed = zstd::bulk::compress(&raw, 1).unwrap_or_default();
    let mut out = Vec::with_capacity(packed.len() + 9);
    out.push(format::CHECKPOINT_V1);
    out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    out.extend_from_slice(&packed);
    out
}

/// Decodes into the raw payload; `entries` then walks it.
pub fn decode(value: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    let (&f, rest) = value.split_first().ok_or(CheckpointError::Empty)?;
    if f != format::CHECKPOINT_V1 {
        return Err(CheckpointError::Format(f));
    }
    if rest.len() < 8 {
        return Err(CheckpointError::Truncated(0));
    }
    let len = u64::from_le_bytes(rest[..8].try_into().unwrap_or_default()) as usize;
    // A corrupt length must not allocate the world: no checkpoint is larger than 4 GiB.
    if len > (4usize << 30) {
        return Err(CheckpointError::Truncated(0));
    }
    zstd::bulk::decompress(&rest[8..], len).map_err(CheckpointError::Zstd)
}

/// The (id, byte range) entries of a decoded payload.
pub fn entries(raw: &[u8]) -> Result<Vec<(i64, std::ops::Range<usize>)>, CheckpointError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if i + 12 > raw.len() {
            return Err(CheckpointError::Truncated(i));
        }
        let id = i64::from_le_bytes(raw[i..i + 8].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(raw[i + 8..i + 12].try_into().unwrap_or_default()) as usize;
        let start = i + 12;
        if start + len > raw.len() {
            return Err(CheckpointError::Truncated(i));
        }
        out.push((id, start..start + len));
        i = start + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let rows: Vec<(i64, Vec<u8>)> =
            vec![(1, vec![0x50, 1, 2]), (-5, vec![]), (9, vec![7; 300])];
        let v = encode(rows.iter().map(|(i, b)| (*i, b.as_slice())));
        let raw = decode(&v).unwrap();
        let e = entries(&raw).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(&raw[e[2].1.clone()], &rows[2].1[..]);
        assert_eq!(e[1].0, -5);
        assert!(decode(&v[..v.len() - 2]).is_err());
        assert!(due(64, 10) && !due(63, 10) && !due(100, 1000) && due(125, 1000));
    }
}
