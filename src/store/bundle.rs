//! Sealed incident bundles (`blackbox cut`): a recording of one window of another, whole on its
//! own — its snapshots, their bodies (stored full, no delta reaching outside), every entity's
//! state at the window's start and its versions after, the notes — with a manifest in `meta`
//! saying where it came from and a blake3 digest over all of it: every table, every key and
//! value, and the manifest itself (its `digest` field blank). `verify` recomputes the digest,
//! and refuses a table the bundle format does not know: any change to the file's content after
//! the cut breaks the seal. (Free pages are not content: redb's page checks cover them.)

use super::open::{DbResult, ReadDb, StoreError};
use super::reader::Reader;
use super::schema::*;
use super::{blobs, checkpoint, codec};
use redb::{MultimapTableHandle, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

pub const FORMAT: &str = "beacon-blackbox bundle 2";

/// Bundles cut by earlier versions: their digest left the manifest out.
pub const FORMAT_1: &str = "beacon-blackbox bundle 1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Counts {
    pub snapshots: u64,
    pub bodies: u64,
    pub versions: u64,
    pub notes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The recording it was cut from.
    pub source_recording_id: Option<String>,
    pub from_seq: u64,
    pub to_seq: u64,
    /// Times of the first and last snapshot (RFC 3339).
    pub from: String,
    pub to: String,
    /// The jobs it holds (all the source's, or those given to `cut --job`).
    pub jobs: Vec<String>,
    pub counts: Counts,
    pub created_by: String,
    pub created_at: String,
    /// blake3 over every table and this manifest (with this field empty), hex.
    pub digest: String,
}

/// The tables of a bundle, in the order the digest reads them. Any other table is a change.
const TABLE_NAMES: [&str; 15] = [
    "meta",
    "sessions",
    "snapshots",
    "strings",
    "bodies",
    "body_index",
    "jobs",
    "job_versions",
    "exec_versions",
    "router_versions",
    "exec_changes",
    "exec_checkpoints",
    "exec_extras",
    "notes",
    "pruned",
];

/// Feeds one table's entries to the hasher: its name, then every key and value, each
/// length-prefixed, in key order.
fn feed<K: redb::Key + 'static, V: redb::Value + 'static>(
    h: &mut blake3::Hasher,
    txn: &redb::ReadTransaction,
    def: TableDefinition<K, V>,
    skip: impl Fn(&[u8]) -> bool,
) -> Result<(), StoreError> {
    let name = def.name().to_string();
    h.update(&(name.len() as u64).to_le_bytes());
    h.update(name.as_bytes());
    let t = match txn.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(StoreError::Db(e.into())),
    };
    for e in t.iter().db()? {
        let (k, v) = e.db()?;
        let kv = k.value();
        let kb = K::as_bytes(&kv);
        let kb: &[u8] = kb.as_ref();
        if skip(kb) {
            continue;
        }
        let vv = v.value();
        let vb = V::as_bytes(&vv);
        let vb: &[u8] = vb.as_ref();
        h.update(&(kb.len() as u64).to_le_bytes());
        h.update(kb);
        h.update(&(vb.len() as u64).to_le_bytes());
        h.update(vb);
    }
    Ok(())
}

/// The digest of a bundle: every table, and its manifest with the digest field empty (format
/// 2); a format 1 bundle's left the manifest out.
pub fn digest(
    txn: &redb::ReadTransaction,
    manifest: Option<&Manifest>,
) -> Result<String, StoreError> {
    let mut h = blake3::Hasher::new();
    feed(&mut h, txn, META, |k| k == b"manifest")?;
    if let Some(m) = manifest.filter(|m| m.format != FORMAT_1) {
        let mut blank = m.clone();
        blank.digest = String::new();
        let bytes = serde_json::to_vec(&blank).unwrap_or_default();
        h.update(b"manifest");
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    feed(&mut h, txn, SESSIONS, |_| false)?;
    feed(&mut h, txn, SNAPSHOTS, |_| false)?;
    feed(&mut h, txn, STRINGS, |_| false)?;
    feed(&mut h, txn, BODIES, |_| false)?;
    feed(&mut h, txn, BODY_INDEX, |_| false)?;
    feed(&mut h, txn, JOBS, |_| false)?;
    feed(&mut h, txn, JOB_VERSIONS, |_| false)?;
    feed(&mut h, txn, EXEC_VERSIONS, |_| false)?;
    feed(&mut h, txn, ROUTER_VERSIONS, |_| false)?;
    feed(&mut h, txn, EXEC_CHANGES, |_| false)?;
    feed(&mut h, txn, EXEC_CHECKPOINTS, |_| false)?;
    feed(&mut h, txn, EXEC_EXTRAS, |_| false)?;
    feed(&mut h, txn, NOTES, |_| false)?;
    feed(&mut h, txn, PRUNED, |_| false)?;
    Ok(h.finalize().to_hex().to_string())
}

/// A digest of a file's whole content: every table of the format, every key and value, the
/// manifest included, and the names of any other tables. Two files with the same content have
/// the same digest whatever their free pages hold.
pub fn content_digest(db: &ReadDb) -> Result<String, StoreError> {
    let txn = db.begin_read()?;
    let mut h = blake3::Hasher::new();
    feed(&mut h, &txn, META, |_| false)?;
    h.update(digest(&txn, None)?.as_bytes());
    for t in txn.list_tables().db()? {
        h.update(t.name().as_bytes());
    }
    for t in txn.list_multimap_tables().db()? {
        h.update(t.name().as_bytes());
    }
    Ok(h.finalize().to_hex().to_string())
}

/// `None` for a file that is not a bundle; else whether its seal holds (`Err`: why not).
pub fn check_seal(reader: &Reader) -> Result<Option<Result<Manifest, String>>, StoreError> {
    let Some(bytes) = reader.manifest_json()? else {
        return Ok(None);
    };
    let m: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => return Ok(Some(Err(format!("its manifest is unreadable: {e}")))),
    };
    if m.format != FORMAT && m.format != FORMAT_1 {
        return Ok(Some(Err(format!(
            "its manifest's format {:?} is not one this version knows",
            m.format
        ))));
    }
    // A table the format does not have is a change the digest would not see.
    let mut extra: Vec<String> = reader
        .txn
        .list_tables()
        .db()?
        .map(|t| t.name().to_string())
        .filter(|n| !TABLE_NAMES.contains(&n.as_str()))
        .collect();
    extra.extend(
        reader
            .txn
            .list_multimap_tables()
            .db()?
            .map(|t| t.name().to_string()),
    );
    if !extra.is_empty() {
        return Ok(Some(Err(format!(
            "the seal is broken: the file holds {} the bundle format does not have ({})",
            if extra.len() == 1 {
                "a table"
            } else {
                "tables"
            },
            extra.join(", ")
        ))));
    }
    let d = digest(&reader.txn, Some(&m))?;
    Ok(Some(if d == m.digest {
        Ok(m)
    } else {
        Err(format!(
            "the seal is broken: the contents' digest is {d}, the manifest says {}",
            m.digest
        ))
    }))
}

/// Writes snapshots `from..=to` of `src` (only `jobs`' requests and versions when given; the
/// router's always) as a sealed bundle at `out`, which must not exist.
pub fn cut(
    src: &ReadDb,
    from: u64,
    to: u64,
    jobs: Option<&[String]>,
    out: &Path,
) -> Result<Manifest, StoreError> {
    let r = Reader::windowed(src, from, to)?;
    let all_jobs = r.jobs()?;
    let kept_jobs: Vec<(String, u32)> = match jobs {
        Some(want) => all_jobs
            .into_iter()
            .filter(|(n, _)| want.contains(n))
            .collect(),
        None => all_jobs,
    };
    let job_ids: BTreeSet<u32> = kept_jobs.iter().map(|(_, i)| *i).collect();
    let snaps: Vec<(u64, SnapshotRec)> = r
        .snapshots()?
        .into_iter()
        .map(|(i, mut s)| {
            s.fetches
                .retain(|f| f.job.is_none_or(|j| job_ids.contains(&j)));
            (i.seq, s)
        })
        .collect();
    if snaps.is_empty() {
        return Err(StoreError::corrupt(
            "cut",
            std::io::Error::other("no snapshot in the range"),
        ));
    }
    let strings = r.strings()?;
    let db = super::open::create_bundle_file(out)?;
    let mut counts = Counts::default();
    let txn = db.begin_write().db()?;
    copy_sessions(&txn, &r)?;
    let bodies = copy_snapshots(&txn, &snaps, &strings, &mut counts)?;
    copy_bodies(&txn, &r, &bodies, &mut counts)?;
    copy_jobs(&txn, &r, &kept_jobs, from, &mut counts)?;
    copy_router(&txn, &r, &mut counts)?;
    copy_notes(&txn, &r, from, to, &mut counts)?;
    txn.commit().db()?;
    let time = |seq: u64| {
        snaps
            .iter()
            .find(|(s, _)| *s == seq)
            .map_or(String::new(), |(_, s)| {
                crate::beacon::format_micros(s.started_at)
            })
    };
    let first = snaps.first().map_or(from, |(s, _)| *s);
    let last = snaps.last().map_or(to, |(s, _)| *s);
    let mut m = Manifest {
        format: FORMAT.into(),
        source_recording_id: r.recording_id()?,
        from_seq: first,
        to_seq: last,
        from: time(first),
        to: time(last),
        jobs: kept_jobs.iter().map(|(n, _)| n.clone()).collect(),
        counts,
        created_by: format!("beacon-blackbox {}", env!("CARGO_PKG_VERSION")),
        created_at: crate::beacon::format_micros(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as i64),
        ),
        digest: String::new(),
    };
    m.digest = digest(&db.begin_read().db()?, Some(&m))?;
    let txn = db.begin_write().db()?;
    txn.open_table(META)
        .db()?
        .insert(
            "manifest",
            serde_json::to_vec(&m).unwrap_or_default().as_slice(),
        )
        .db()?;
    txn.commit().db()?;
    Ok(m)
}

fn copy_sessions(txn: &redb::WriteTransaction, r: &Reader) -> Result<(), StoreError> {
    let mut t = txn.open_table(SESSIONS).db()?;
    for s in r.sessions()? {
        t.insert(
            s.first_seq,
            codec::encode(format::SESSION_V2, &s).as_slice(),
        )
        .db()?;
    }
    Ok(())
}

/// The snapshots and the strings they name; the bodies they use.
fn copy_snapshots(
    txn: &redb::WriteTransaction,
    snaps: &[(u64, SnapshotRec)],
    strings: &std::collections::HashMap<u32, String>,
    counts: &mut Counts,
) -> Result<BTreeSet<u64>, StoreError> {
    let mut bodies: BTreeSet<u64> = BTreeSet::new();
    let mut t = txn.open_table(SNAPSHOTS).db()?;
    let mut st = txn.open_table(STRINGS).db()?;
    let mut used: BTreeSet<u32> = BTreeSet::new();
    for (seq, s) in snaps {
        for f in &s.fetches {
            used.insert(f.url);
            used.extend(f.content_type);
            used.extend(f.location);
            bodies.extend(f.body);
        }
        t.insert(*seq, codec::encode(format::SNAPSHOT_V3, s).as_slice())
            .db()?;
        counts.snapshots += 1;
    }
    for id in used {
        if let Some(s) = strings.get(&id) {
            st.insert(id, s.as_str()).db()?;
        }
    }
    Ok(bodies)
}

/// The bodies, each whole (a delta's base may be outside the window).
fn copy_bodies(
    txn: &redb::WriteTransaction,
    r: &Reader,
    bodies: &BTreeSet<u64>,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(BODIES).db()?;
    let mut idx = txn.open_table(BODY_INDEX).db()?;
    for &id in bodies {
        // Whole: a delta's base may be outside the window.
        let raw = r.body(id)?;
        let hash = *blake3::hash(&raw).as_bytes();
        let rec = blobs::encode(&raw, hash, None);
        t.insert(id, codec::encode(format::BODY_V1, &rec).as_slice())
            .db()?;
        if idx.get(&hash).db()?.is_none() {
            idx.insert(&hash, id).db()?;
        }
        counts.bodies += 1;
    }
    Ok(())
}

/// Each kept job: its versions, its rows' versions, its state at the window's start as a
/// checkpoint, the rows kept beside its list.
fn copy_jobs(
    txn: &redb::WriteTransaction,
    r: &Reader,
    kept_jobs: &[(String, u32)],
    from: u64,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let mut jt = txn.open_table(JOBS).db()?;
    let mut jv = txn.open_table(JOB_VERSIONS).db()?;
    let mut ev = txn.open_table(EXEC_VERSIONS).db()?;
    let mut ch = txn.open_table(EXEC_CHANGES).db()?;
    let mut cp = txn.open_table(EXEC_CHECKPOINTS).db()?;
    let mut xt = txn.open_table(EXEC_EXTRAS).db()?;
    for (name, job) in kept_jobs {
        jt.insert(name.as_str(), *job).db()?;
        for (seq, rec) in r.job_versions(*job)? {
            jv.insert((*job, seq), codec::encode(format::JOB_V1, &rec).as_slice())
                .db()?;
            counts.versions += 1;
        }
        let mut err = None;
        r.each_exec_version(*job, i64::MIN..=i64::MAX, |id, seq, e| {
            let bytes = match &e {
                Some(e) => codec::encode(format::EXEC_V1, e),
                None => vec![format::EXEC_TOMBSTONE],
            };
            let done = ev
                .insert((*job, id, seq), bytes.as_slice())
                .and_then(|_| ch.insert((*job, seq, id), ()));
            if let Err(e) = done {
                err.get_or_insert(e);
            }
            counts.versions += 1;
        })?;
        if let Some(e) = err {
            return Err(StoreError::Db(e.into()));
        }
        // The state at the window's start in one value, as the recorder would have it.
        let start = r.execs_at(*job, from)?;
        if !start.is_empty() {
            let encoded: Vec<(i64, Vec<u8>)> = start
                .values()
                .map(|e| (e.id, codec::encode(format::EXEC_V1, e)))
                .collect();
            let value = checkpoint::encode(encoded.iter().map(|(i, b)| (*i, b.as_slice())));
            cp.insert((*job, from), value.as_slice()).db()?;
        }
        for (seq, rows) in r.extras_versions(*job)? {
            xt.insert((*job, seq), codec::encode_extras(&rows).as_slice())
                .db()?;
            counts.versions += 1;
        }
    }
    Ok(())
}

fn copy_router(
    txn: &redb::WriteTransaction,
    r: &Reader,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(ROUTER_VERSIONS).db()?;
    for (seq, rec) in r.router_versions()? {
        t.insert(seq, codec::encode(format::ROUTER_V1, &rec).as_slice())
            .db()?;
        counts.versions += 1;
    }
    Ok(())
}

/// The notes, and the ranges retention removed inside the window.
fn copy_notes(
    txn: &redb::WriteTransaction,
    r: &Reader,
    from: u64,
    to: u64,
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(NOTES).db()?;
    for (at, n, rec) in r.notes()? {
        t.insert((at, n), codec::encode(format::NOTE_V1, &rec).as_slice())
            .db()?;
        counts.notes += 1;
    }
    let mut p = txn.open_table(PRUNED).db()?;
    for (a, b) in r.pruned()? {
        p.insert(a.max(from), b.min(to)).db()?;
    }
    Ok(())
}
