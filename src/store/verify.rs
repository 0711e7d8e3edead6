//! `verify`: every invariant of the on-disk format, checked without changing the file: redb's
//! own page checksums (in a dry run, as `record` does before writing), then every record.
//! Damage is a problem in the report, never a crash of the check.

use super::open::{DbResult, StoreError, check_pages, no_panic, open_reader};
use super::schema::*;
use super::{Reader, checkpoint, codec};
use crate::fetch::SourceKind;
use redb::{ReadableTable, ReadableTableMetadata};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct VerifyReport {
    pub snapshots: u64,
    pub bodies: u64,
    pub versions: u64,
    /// Annotations (`blackbox note`) checked.
    pub annotations: u64,
    /// A sealed bundle's seal, when it holds (a broken seal is a problem).
    pub bundle: Option<super::bundle::Seal>,
    pub problems: Vec<String>,
    /// What could not be checked, and why (not problems).
    pub notes: Vec<String>,
}

/// Verifies a file, its seal as `seal` asks; `sealed`: a file without a seal is a problem.
/// `Err` only when it is not a recording this version reads at all.
pub fn verify_file(
    path: &Path,
    seal: &super::bundle::SealCheck,
    sealed: bool,
) -> Result<VerifyReport, StoreError> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    // redb's own page checks (a dry open of the file) and the records' checks are apart:
    // both run at once.
    let (pages, records) = std::thread::scope(|sc| {
        let pages = sc.spawn(|| check_pages(path));
        let records = check_records(path, seal, sealed);
        let pages = pages
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (pages, records)
    });
    match pages {
        Ok(None) => {}
        Ok(Some(why)) => problems.push(format!("pages: {why}")),
        Err(StoreError::Locked { .. }) => notes.push(
            "a recorder holds the file: redb's page checks were not run (the records were checked)"
                .to_string(),
        ),
        Err(
            e @ (StoreError::Missing { .. }
            | StoreError::NotBlackbox { .. }
            | StoreError::NewerSchema { .. }),
        ) => return Err(e),
        // Not writable by this user, say: the records are still checked.
        Err(e) => notes.push(format!(
            "redb's page checks were not run: {}",
            crate::errors::error_chain(&e)
        )),
    }
    let mut r = match records? {
        Records::Checked(r) => *r,
        Records::Unreadable(why) => {
            problems.push(why);
            return Ok(VerifyReport {
                problems,
                notes,
                ..Default::default()
            });
        }
    };
    problems.append(&mut r.problems);
    r.problems = problems;
    r.notes = notes;
    Ok(r)
}

/// The records' checks, or why the records could not be read at all.
enum Records {
    Checked(Box<VerifyReport>),
    Unreadable(String),
}

/// Opens the file to read and checks its records; a file that is not a recording (or of a
/// newer version) is an error, as from `check_pages`.
fn check_records(
    path: &Path,
    seal: &super::bundle::SealCheck,
    sealed: bool,
) -> Result<Records, StoreError> {
    let opened = no_panic(|| open_reader(path)).unwrap_or_else(|p| {
        Err(StoreError::Damaged {
            path: path.to_path_buf(),
            cause: format!("redb failed opening it: {p}"),
        })
    });
    let d = match opened {
        Ok(d) => d,
        Err(
            e @ (StoreError::Missing { .. }
            | StoreError::NotBlackbox { .. }
            | StoreError::NewerSchema { .. }),
        ) => return Err(e),
        Err(e) => {
            return Ok(Records::Unreadable(format!(
                "cannot read the records: {}",
                crate::errors::error_chain(&e)
            )));
        }
    };
    Ok(Records::Checked(Box::new(
        match no_panic(|| Reader::new(&d).and_then(|r| r.verify(seal, sealed))) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => VerifyReport {
                problems: vec![format!(
                    "reading the records stopped: {}",
                    crate::errors::error_chain(&e)
                )],
                ..Default::default()
            },
            Err(p) => VerifyReport {
                problems: vec![format!("redb failed reading the records: {p}")],
                ..Default::default()
            },
        },
    )))
}

/// Problems kept per report: a badly damaged file would otherwise list every record.
const MAX_PROBLEMS: usize = 1000;

/// What one part of the check found, in the order it found it.
#[derive(Default)]
struct Found {
    problems: Vec<String>,
    snapshots: u64,
    bodies: u64,
    versions: u64,
    notes: u64,
}

impl Found {
    fn p(&mut self, s: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(s)
        }
    }
}

/// Keys other records refer to, read first.
struct Known {
    strings: HashSet<u32>,
    jobs: HashSet<u32>,
    sessions: BTreeSet<u64>,
    seqs: BTreeSet<u64>,
    /// Ranges removed by retention.
    pruned: Vec<(u64, u64)>,
}

type Part<'a> = Box<dyn Fn(&Reader, &Known) -> Result<Found, StoreError> + Sync + 'a>;

impl Reader {
    /// Checks every record. The parts run at once on threads (decoding every stored row
    /// version and checkpoint is most of the work); their problems are reported in a fixed
    /// order.
    pub fn verify(
        &self,
        seal: &super::bundle::SealCheck,
        sealed: bool,
    ) -> Result<VerifyReport, StoreError> {
        let known = self.known()?;
        // Checkpoints hold every row again, compressed: the biggest part, shared out.
        let shares = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let mut parts: Vec<Part> = vec![
            Box::new(Reader::check_snapshots),
            Box::new(Reader::check_bodies),
            Box::new(Reader::check_job_versions),
            Box::new(Reader::check_exec_versions),
        ];
        for share in 0..shares {
            parts.push(Box::new(move |r: &Reader, k: &Known| {
                r.check_checkpoints(k, share, shares)
            }));
        }
        parts.push(Box::new(Reader::check_extras_and_router));
        parts.push(Box::new(Reader::check_findings));
        let found: Vec<Result<Found, StoreError>> = std::thread::scope(|sc| {
            let handles: Vec<_> = parts
                .iter()
                .map(|part| {
                    let known = &known;
                    sc.spawn(move || part(self, known))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut r = VerifyReport::default();
        for f in found {
            let f = f?;
            r.snapshots += f.snapshots;
            r.bodies += f.bodies;
            r.versions += f.versions;
            r.annotations += f.notes;
            let room = MAX_PROBLEMS - r.problems.len();
            r.problems.extend(f.problems.into_iter().take(room));
        }
        match super::bundle::check_seal(self, seal)? {
            Some(Ok(s)) => r.bundle = Some(s),
            Some(Err(why)) => {
                let room = MAX_PROBLEMS.saturating_sub(r.problems.len());
                r.problems.extend(why.into_iter().take(room));
            }
            None if sealed || seal.allowed_signers.is_some() || seal.expect.is_some() => {
                r.problems.push(
                    "the file has no seal: it is not a bundle made by `blackbox cut`".to_string(),
                )
            }
            None => {}
        }
        Ok(r)
    }

    fn known(&self) -> Result<Known, StoreError> {
        let txn = &self.txn;
        // An iterator's error ends the walk and is reported: a damaged page can make redb
        // return the same error again and again, so an error is never skipped over.
        Ok(Known {
            strings: txn
                .open_table(STRINGS)
                .db()?
                .iter()
                .db()?
                .map(|e| {
                    let (k, v) = e.db()?;
                    super::open::stored_text("strings", || v.value().to_string())?;
                    Ok(k.value())
                })
                .collect::<Result<_, StoreError>>()?,
            jobs: txn
                .open_table(JOBS)
                .db()?
                .iter()
                .db()?
                .map(|e| {
                    let (k, v) = e.db()?;
                    super::open::stored_text("jobs", || k.value().to_string())?;
                    Ok(v.value())
                })
                .collect::<Result<_, StoreError>>()?,
            sessions: txn
                .open_table(SESSIONS)
                .db()?
                .iter()
                .db()?
                .map(|e| e.db().map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?,
            seqs: txn
                .open_table(SNAPSHOTS)
                .db()?
                .iter()
                .db()?
                .map(|e| e.db().map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?,
            pruned: self.pruned()?,
        })
    }

    fn check_snapshots(&self, known: &Known) -> Result<Found, StoreError> {
        let mut r = Found::default();
        let txn = &self.txn;
        for e in txn.open_table(SESSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            if let Err(e) = codec::decode_session(v.value()) {
                r.p(format!("session {}: undecodable: {e}", k.value()));
            }
        }
        let bodies = txn.open_table(BODIES).db()?;
        // A recording starts at 1, a bundle where it was cut, one pruned where its window
        // starts; within, every gap is a range retention removed.
        let mut expected: Option<u64> = None;
        for e in txn.open_table(SNAPSHOTS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let seq = k.value();
            r.snapshots += 1;
            if let Some(x) = expected
                && seq != x
                && !known.pruned.iter().any(|&(a, b)| a == x && b + 1 == seq)
            {
                r.p(format!(
                    "snapshot seq {seq} follows {}: sequence numbers are not contiguous and no removed range explains it",
                    x - 1
                ));
            }
            expected = Some(seq + 1);
            let snap: SnapshotRec = match codec::decode_snapshot(v.value()) {
                Ok(s) => s,
                Err(e) => {
                    r.p(format!("snapshot {seq}: undecodable: {e}"));
                    continue;
                }
            };
            if !known.sessions.contains(&snap.session) {
                r.p(format!(
                    "snapshot {seq}: session {} is missing",
                    snap.session
                ));
            }
            if snap.fetches.is_empty() {
                r.p(format!("snapshot {seq}: no requests recorded"));
            }
            for (i, f) in snap.fetches.iter().enumerate() {
                let mut p = |what: String| r.p(format!("snapshot {seq} request {i}: {what}"));
                if SourceKind::from_u8(f.source).is_none() {
                    p(format!("unknown source {}", f.source));
                }
                if !known.strings.contains(&f.url)
                    || f.content_type.is_some_and(|c| !known.strings.contains(&c))
                {
                    p("refers to a missing string".into());
                }
                if f.job.is_some_and(|j| !known.jobs.contains(&j)) {
                    p("refers to a missing job".into());
                }
                if f.status.is_none() && f.error.is_none() {
                    p("neither a status nor an error".into());
                }
                if crate::fetch::Outcome::from_u8(f.outcome).is_none() {
                    p(format!("unknown outcome {}", f.outcome));
                }
                if let Some([in_body, kept, repeated, unusable]) = f.rows
                    && in_body as u64 != kept as u64 + repeated as u64 + unusable as u64
                {
                    p(format!(
                        "{in_body} rows in the body but {kept} kept + {repeated} repeated + {unusable} unusable"
                    ));
                }
                if (f.problems.len() as u64) > f.problems_total as u64 {
                    p("more row problems kept than counted".into());
                }
                if let Some(b) = f.body
                    && bodies.get(b).db()?.is_none()
                {
                    p(format!("body {b} is missing"));
                }
            }
        }
        Ok(r)
    }

    /// Each body decodes (through its delta chain) to bytes matching its check; every index
    /// entry names a stored body whose bytes have that hash.
    fn check_bodies(&self, _: &Known) -> Result<Found, StoreError> {
        let mut r = Found::default();
        let bodies = self.txn.open_table(BODIES).db()?;
        let index: Vec<([u8; 32], u64)> = self.body_index()?;
        let by_id: std::collections::HashMap<u64, [u8; 32]> =
            index.iter().map(|(h, id)| (*id, *h)).collect();
        for id in self.body_ids()? {
            r.bodies += 1;
            match self.body(id) {
                Ok(raw) => {
                    if let Some(h) = by_id.get(&id)
                        && *h != *blake3::hash(&raw).as_bytes()
                    {
                        r.p(format!(
                            "body {id}: its bytes do not have the hash it is indexed under"
                        ));
                    }
                }
                Err(e) => r.p(format!("body {id}: {e}")),
            }
        }
        for (_, id) in &index {
            if bodies.get(*id).db()?.is_none() {
                r.p(format!("hash index names body {id}, which is missing"));
            }
        }
        Ok(r)
    }

    /// Entity versions point at snapshots that exist, and decode.
    fn check_job_versions(&self, known: &Known) -> Result<Found, StoreError> {
        let mut r = Found::default();
        for e in self.txn.open_table(JOB_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let (job, seq) = k.value();
            r.versions += 1;
            if !known.seqs.contains(&seq) || !known.jobs.contains(&job) {
                r.p(format!(
                    "job version ({job}, {seq}): no such snapshot or job"
                ));
            }
            if let Err(e) = codec::decode::<JobRec>(format::JOB_V1, v.value()) {
                r.p(format!("job version ({job}, {seq}): undecodable: {e}"));
            }
        }
        Ok(r)
    }

    fn check_exec_versions(&self, known: &Known) -> Result<Found, StoreError> {
        let mut r = Found::default();
        let txn = &self.txn;
        let changes = txn.open_table(EXEC_CHANGES).db()?;
        // The versions' keys in the change index's order, to be walked beside it.
        let mut keys = Vec::new();
        for e in txn.open_table(EXEC_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let (job, id, seq) = k.value();
            r.versions += 1;
            if !known.seqs.contains(&seq) {
                r.p(format!("execution {id} version at {seq}: no such snapshot"));
            }
            let bytes = v.value();
            if codec::format_of(bytes) != Some(format::EXEC_TOMBSTONE) {
                match codec::decode::<crate::beacon::ExecRef>(format::EXEC_V1, bytes) {
                    Err(e) => r.p(format!("execution {id} version at {seq}: undecodable: {e}")),
                    Ok(x) if !x.text_ok() => r.p(format!(
                        "execution {id} version at {seq}: undecodable: text that is not UTF-8"
                    )),
                    Ok(_) => {}
                }
            }
            keys.push((job, seq, id));
        }
        keys.sort_unstable();
        let mut indexed = changes.iter().db()?.peekable();
        for (job, seq, id) in keys {
            // Index entries before this key belong to no version: counted by the sizes below.
            loop {
                let next = match indexed.peek() {
                    Some(Ok((k, _))) => Some(k.value()),
                    Some(Err(_)) => {
                        indexed.next().transpose().db()?;
                        None
                    }
                    None => None,
                };
                match next {
                    Some(k) if k < (job, seq, id) => {
                        indexed.next();
                    }
                    Some(k) if k == (job, seq, id) => {
                        indexed.next();
                        break;
                    }
                    _ => {
                        r.p(format!(
                            "execution {id} version at {seq}: missing from the change index"
                        ));
                        break;
                    }
                }
            }
        }
        if changes.len().db()? != txn.open_table(EXEC_VERSIONS).db()?.len().db()? {
            r.p("the change index and the execution versions differ in size".into());
        }
        Ok(r)
    }

    /// The `share`-th of `shares` consecutive runs of checkpoints: they are checked on as many
    /// threads, and their problems, joined in share order, come in key order.
    fn check_checkpoints(
        &self,
        known: &Known,
        share: usize,
        shares: usize,
    ) -> Result<Found, StoreError> {
        let mut r = Found::default();
        let t = self.txn.open_table(EXEC_CHECKPOINTS).db()?;
        let n = t.len().db()? as usize;
        let (from, to) = (n * share / shares, n * (share + 1) / shares);
        for e in t.iter().db()?.skip(from).take(to - from) {
            let (k, v) = e.db()?;
            let (job, seq) = k.value();
            if !known.seqs.contains(&seq) {
                r.p(format!("checkpoint ({job}, {seq}): no such snapshot"));
            }
            match checkpoint::decode(v.value())
                .and_then(|raw| checkpoint::entries(&raw).map(|e| (raw, e)))
            {
                Ok((raw, entries)) => {
                    for (id, range) in entries {
                        if !codec::decode::<crate::beacon::ExecRef>(format::EXEC_V1, &raw[range])
                            .is_ok_and(|x| x.text_ok())
                        {
                            r.p(format!(
                                "checkpoint ({job}, {seq}): execution {id} undecodable"
                            ));
                        }
                    }
                }
                Err(e) => r.p(format!("checkpoint ({job}, {seq}): {e}")),
            }
        }
        Ok(r)
    }

    /// Each finding row decodes, and began before it ended.
    fn check_findings(&self, _known: &Known) -> Result<Found, StoreError> {
        let mut r = Found::default();
        let t = match self.txn.open_table(FINDINGS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(r),
            Err(e) => return Err(StoreError::Db(e.into())),
        };
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            let id = k.value();
            match codec::decode::<FindingRec>(format::FINDING_V1, v.value()) {
                Ok(f) if f.ended_seq.is_some_and(|e| e < f.began_seq) => r.p(format!(
                    "finding {id}: ends at snapshot {} before it begins at {}",
                    f.ended_seq.unwrap_or_default(),
                    f.began_seq
                )),
                Ok(_) => {}
                Err(e) => r.p(format!("finding {id}: undecodable: {e}")),
            }
        }
        Ok(r)
    }

    fn check_extras_and_router(&self, known: &Known) -> Result<Found, StoreError> {
        let mut r = Found::default();
        for (at, n, note) in self.notes()? {
            r.notes += 1;
            if note.mark_from.zip(note.mark_to).is_some_and(|(f, t)| f > t) {
                r.p(format!(
                    "note ({at}, {n}): its marked window ends before it starts"
                ));
            }
        }
        for &(a, b) in &known.pruned {
            if a > b || known.seqs.range(a..=b).next().is_some() {
                r.p(format!(
                    "removed range {a}-{b} is not a range of missing snapshots"
                ));
            }
        }
        if let Some(t) = self.extras_table()? {
            for e in t.iter().db()? {
                let (k, v) = e.db()?;
                let (job, seq) = k.value();
                r.versions += 1;
                if !known.seqs.contains(&seq) || !known.jobs.contains(&job) {
                    r.p(format!(
                        "extra rows ({job}, {seq}): no such snapshot or job"
                    ));
                }
                if let Err(e) = codec::decode_extras(v.value()) {
                    r.p(format!("extra rows ({job}, {seq}): undecodable: {e}"));
                }
            }
        }
        for e in self.txn.open_table(ROUTER_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            r.versions += 1;
            let seq = k.value();
            if !known.seqs.contains(&seq) {
                r.p(format!("router version at {seq}: no such snapshot"));
            }
            if let Err(e) = codec::decode::<RouterRec>(format::ROUTER_V1, v.value()) {
                r.p(format!("router version at {seq}: undecodable: {e}"));
            }
        }
        Ok(r)
    }
}
