//! Sealed incident bundles (`blackbox cut`): a recording of one window of another, whole on its
//! own — its snapshots, their bodies (stored full, no delta reaching outside), every entity's
//! state at the window's start and its versions after, the notes — with a manifest in `meta`
//! saying where it came from.
//!
//! The seal. A blake3 digest over everything the bundle holds — every table, every key and
//! value, the manifest's bytes as stored — is kept in `meta` (`digest`), and the one line
//! `digest_line` gives is what a signature signs: `cut --sign KEY` signs it with an OpenSSH
//! key (`sign`), kept in `meta` (`signature`, not itself digested) and beside the bundle. What
//! it proves differs: without a key the digest is a checksum against damage — anyone who
//! changes the content can compute it anew, so it proves nothing unless the digest was kept
//! somewhere else (`verify --expect`); with a key, the signature proves the content is what the
//! key's holder cut, to anyone with its public key (`verify --allowed-signers`, or OpenSSH's
//! own `ssh-keygen -Y verify`). `verify` also checks every fact of the manifest against the
//! content, refuses a field it does not know, and refuses the earlier formats (1 left the
//! manifest out of its digest; 2 kept the digest inside it): a file can be set back to them.
//! (Free pages are not content: redb's page checks cover them.)

use super::open::{DbResult, ReadDb, StoreError};
use super::reader::Reader;
use super::schema::*;
use super::{blobs, checkpoint, codec};
use redb::{
    MultimapTableHandle, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    TableHandle,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

pub const FORMAT: &str = "beacon-blackbox bundle 3";

/// Formats of earlier versions, refused by `verify`: 1 left the manifest out of its digest, 2
/// kept its digest inside the manifest (both can be made to hold over changed content).
pub const OLD_FORMATS: [&str; 2] = ["beacon-blackbox bundle 1", "beacon-blackbox bundle 2"];

/// Keys of `meta` outside the digest: the digest itself and the signature of it.
pub const UNDIGESTED: [&[u8]; 2] = [b"digest", b"signature"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub snapshots: u64,
    pub bodies: u64,
    pub versions: u64,
    pub notes: u64,
}

/// What a bundle says of itself; every field is checked against the content by `verify`, and
/// a field this version does not know is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The recording it was cut from (the bundle's own `recording_id` is the same).
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
}

/// The one line a bundle's signature signs (and `blackbox digest` prints), newline included.
pub fn digest_line(digest: &str) -> String {
    format!("{FORMAT} blake3 {digest}\n")
}

/// The tables of a bundle, in the order the digest reads them. Any other table is a change.
const TABLE_NAMES: [&str; 16] = [
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
    "findings",
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

/// The digest of a bundle's content: every table of the format in order, `meta` with its
/// manifest's bytes as stored but without the digest and the signature.
pub fn digest(txn: &redb::ReadTransaction) -> Result<String, StoreError> {
    let mut h = blake3::Hasher::new();
    feed(&mut h, txn, META, |k| UNDIGESTED.contains(&k))?;
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
    feed(&mut h, txn, FINDINGS, |_| false)?;
    Ok(h.finalize().to_hex().to_string())
}

/// A digest of a file's whole content: every table of the format, every key and value, the
/// manifest included, and the names of any other tables. Two files with the same content have
/// the same digest whatever their free pages hold.
pub fn content_digest(db: &ReadDb) -> Result<String, StoreError> {
    let txn = db.begin_read()?;
    let mut h = blake3::Hasher::new();
    feed(&mut h, &txn, META, |_| false)?;
    h.update(digest(&txn)?.as_bytes());
    for t in txn.list_tables().db()? {
        h.update(t.name().as_bytes());
    }
    for t in txn.list_multimap_tables().db()? {
        h.update(t.name().as_bytes());
    }
    Ok(h.finalize().to_hex().to_string())
}

/// What a bundle's seal says, when it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seal {
    pub manifest: Manifest,
    /// The digest of the content, recomputed (it matched the one kept).
    pub digest: String,
    /// The signature kept in the bundle: its key, and the allowed signer it verified as (when
    /// `verify --allowed-signers` was given).
    pub signed_by: Option<String>,
    pub principals: Option<String>,
}

/// How `verify` checks a seal.
#[derive(Debug, Clone, Default)]
pub struct SealCheck {
    /// An `allowed_signers` file's text: the bundle must be signed by one of its keys.
    pub allowed_signers: Option<String>,
    /// A digest kept elsewhere: the content's must be it.
    pub expect: Option<String>,
}

/// `None` for a file that is not a bundle; else its seal (`Err`: every reason it does not
/// hold).
pub fn check_seal(
    reader: &Reader,
    check: &SealCheck,
) -> Result<Option<Result<Seal, Vec<String>>>, StoreError> {
    let Some(bytes) = reader.manifest_json()? else {
        return Ok(None);
    };
    let mut why = Vec::new();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let Some(f) = v.get("format").and_then(|f| f.as_str())
        && OLD_FORMATS.contains(&f)
    {
        return Ok(Some(Err(vec![format!(
            "the seal is not accepted: its format {f:?} can be made to hold over changed content (cut the bundle again from the recording with this version)"
        )])));
    }
    let m: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            return Ok(Some(Err(vec![format!(
                "its manifest is not one this version reads: {e}"
            )])));
        }
    };
    if m.format != FORMAT {
        return Ok(Some(Err(vec![format!(
            "its manifest's format {:?} is not one this version knows",
            m.format
        )])));
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
        why.push(format!(
            "the seal is broken: the file holds {} the bundle format does not have ({})",
            if extra.len() == 1 {
                "a table"
            } else {
                "tables"
            },
            extra.join(", ")
        ));
    }
    let d = digest(&reader.txn)?;
    let meta = reader.txn.open_table(META).db()?;
    let kept = meta
        .get("digest")
        .db()?
        .map(|v| String::from_utf8_lossy(v.value()).into_owned());
    match &kept {
        Some(k) if *k == d => {}
        Some(_) => why.push("the seal is broken: the content does not have the digest the bundle keeps (it changed after the cut)".to_string()),
        None => why.push("the seal is broken: the bundle keeps no digest".to_string()),
    }
    if let Some(e) = &check.expect
        && !e.trim().eq_ignore_ascii_case(&d)
    {
        why.push(format!(
            "the content's digest is not the one expected: {d}, not {}",
            e.trim()
        ));
    }
    why.extend(manifest_facts(reader, &m)?);
    let signature = meta
        .get("signature")
        .db()?
        .map(|v| String::from_utf8_lossy(v.value()).into_owned());
    let mut signed_by = None;
    let mut principals = None;
    match (&signature, &check.allowed_signers) {
        (Some(sig), Some(allowed)) => {
            match super::sign::verify(sig, digest_line(&d).as_bytes(), allowed) {
                Ok(s) => {
                    signed_by = Some(s.fingerprint);
                    principals = Some(s.principals);
                }
                Err(e) => why.push(format!("the signature does not hold: {e}")),
            }
        }
        (None, Some(_)) => {
            why.push("the bundle is not signed (cut --sign KEY signs it)".to_string())
        }
        (Some(sig), None) => match super::sign::signer(sig) {
            Ok(fp) => signed_by = Some(fp),
            Err(e) => why.push(format!("the signature does not hold: {e}")),
        },
        (None, None) => {}
    }
    if !why.is_empty() {
        return Ok(Some(Err(why)));
    }
    Ok(Some(Ok(Seal {
        manifest: m,
        digest: d,
        signed_by,
        principals,
    })))
}

/// Every fact of the manifest against the content: the counts, the first and last snapshot and
/// their times, the jobs, the recording.
fn manifest_facts(reader: &Reader, m: &Manifest) -> Result<Vec<String>, StoreError> {
    let txn = &reader.txn;
    let mut why = Vec::new();
    let mut differ = |what: &str, said: String, is: String| {
        if said != is {
            why.push(format!(
                "the manifest says {what} {said}, the content has {is}"
            ));
        }
    };
    let snaps = txn.open_table(SNAPSHOTS).db()?;
    let n = |name: TableDefinition<'static, (u32, u64), &'static [u8]>| -> Result<u64, StoreError> {
        match txn.open_table(name) {
            Ok(t) => Ok(t.len().db()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(StoreError::Db(e.into())),
        }
    };
    let versions = n(JOB_VERSIONS)?
        + txn.open_table(EXEC_VERSIONS).db()?.len().db()?
        + txn.open_table(ROUTER_VERSIONS).db()?.len().db()?
        + n(EXEC_EXTRAS)?;
    let counts = Counts {
        snapshots: snaps.len().db()?,
        bodies: txn.open_table(BODIES).db()?.len().db()?,
        versions,
        notes: txn.open_table(NOTES).db()?.len().db()?,
    };
    differ("counts", format!("{:?}", m.counts), format!("{counts:?}"));
    let first = snaps
        .first()
        .db()?
        .map(|(k, v)| (k.value(), v.value().to_vec()));
    let last = snaps
        .last()
        .db()?
        .map(|(k, v)| (k.value(), v.value().to_vec()));
    let time = |s: &Option<(u64, Vec<u8>)>| {
        s.as_ref()
            .and_then(|(_, v)| codec::decode_snapshot(v).ok())
            .map_or(String::new(), |r| {
                crate::beacon::format_micros(r.started_at)
            })
    };
    differ(
        "first snapshot",
        m.from_seq.to_string(),
        first.as_ref().map_or("none".into(), |f| f.0.to_string()),
    );
    differ(
        "last snapshot",
        m.to_seq.to_string(),
        last.as_ref().map_or("none".into(), |f| f.0.to_string()),
    );
    differ("its start", m.from.clone(), time(&first));
    differ("its end", m.to.clone(), time(&last));
    let mut jobs: Vec<String> = reader.jobs()?.into_iter().map(|(n, _)| n).collect();
    jobs.sort();
    let mut said = m.jobs.clone();
    said.sort();
    differ("jobs", said.join(","), jobs.join(","));
    differ(
        "the recording",
        m.source_recording_id.clone().unwrap_or_default(),
        reader.recording_id()?.unwrap_or_default(),
    );
    Ok(why)
}

/// Writes snapshots `from..=to` of `src` (only `jobs`' requests and versions when given; the
/// router's always) as a sealed bundle at `out`, which must not exist; signed with the OpenSSH
/// key at `sign` when given.
pub fn cut(
    src: &ReadDb,
    from: u64,
    to: u64,
    jobs: Option<&[String]>,
    out: &Path,
    sign: Option<&super::sign::Signer>,
) -> Result<Cut, StoreError> {
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
    let m = Manifest {
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
    };
    let txn = db.begin_write().db()?;
    {
        let mut meta = txn.open_table(META).db()?;
        meta.insert(
            "manifest",
            serde_json::to_vec(&m).unwrap_or_default().as_slice(),
        )
        .db()?;
        // The bundle is a piece of that recording: it carries its id (exports and ClickHouse
        // join on it), and the manifest's claim is checked against it.
        if let Some(id) = &m.source_recording_id {
            meta.insert("recording_id", id.as_bytes()).db()?;
        }
    }
    txn.commit().db()?;
    let d = digest(&db.begin_read().db()?)?;
    let signature = match sign {
        Some(s) => Some((
            s.sign(digest_line(&d).as_bytes())
                .map_err(StoreError::Sign)?,
            s.fingerprint(),
        )),
        None => None,
    };
    let txn = db.begin_write().db()?;
    {
        let mut meta = txn.open_table(META).db()?;
        meta.insert("digest", d.as_bytes()).db()?;
        if let Some((sig, _)) = &signature {
            meta.insert("signature", sig.as_bytes()).db()?;
        }
    }
    txn.commit().db()?;
    Ok(Cut {
        manifest: m,
        digest: d,
        signature,
    })
}

/// What `cut` wrote: the manifest, the digest, and the signature with its key's fingerprint.
pub struct Cut {
    pub manifest: Manifest,
    pub digest: String,
    pub signature: Option<(String, String)>,
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
        t.insert(*seq, codec::encode_snapshot(s).as_slice()).db()?;
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

/// The notes, the ranges retention removed inside the window, the findings that held in it.
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
    // The findings that held within the window, as judged while recording.
    let mut f = txn.open_table(FINDINGS).db()?;
    for (id, rec) in r.findings()? {
        f.insert(id, codec::encode(format::FINDING_V1, &rec).as_slice())
            .db()?;
    }
    Ok(())
}
