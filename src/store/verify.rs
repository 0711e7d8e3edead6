//! `verify`: every invariant of the on-disk format, checked without changing the file: redb's
//! own page checksums (in a dry run, as `record` does before writing), then every record.
//! Damage is a problem in the report, never a crash of the check.

use super::schema::*;
use super::{DbResult, Reader, StoreError, check_pages, checkpoint, codec, no_panic, open_reader};
use crate::fetch::SourceKind;
use redb::{ReadableTable, ReadableTableMetadata};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct VerifyReport {
    pub snapshots: u64,
    pub bodies: u64,
    pub versions: u64,
    pub problems: Vec<String>,
    /// What could not be checked, and why (not problems).
    pub notes: Vec<String>,
}

/// Verifies a file. `Err` only when it is not a recording this version reads at all.
pub fn verify_file(path: &Path) -> Result<VerifyReport, StoreError> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    match check_pages(path) {
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
            crate::record::error_chain(&e)
        )),
    }
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
            problems.push(format!(
                "cannot read the records: {}",
                crate::record::error_chain(&e)
            ));
            return Ok(VerifyReport {
                problems,
                notes,
                ..Default::default()
            });
        }
    };
    let mut r = match no_panic(|| Reader::new(&d).and_then(|r| r.verify())) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => VerifyReport {
            problems: vec![format!(
                "reading the records stopped: {}",
                crate::record::error_chain(&e)
            )],
            ..Default::default()
        },
        Err(p) => VerifyReport {
            problems: vec![format!("redb failed reading the records: {p}")],
            ..Default::default()
        },
    };
    problems.append(&mut r.problems);
    r.problems = problems;
    r.notes = notes;
    Ok(r)
}

impl Reader {
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut r = VerifyReport::default();
        let txn = &self.txn;
        let mut p = |s: String| {
            if r.problems.len() < 1000 {
                r.problems.push(s)
            }
        };
        let strings: HashSet<u32> = txn
            .open_table(STRINGS)
            .db()?
            .iter()
            .db()?
            .filter_map(|e| e.ok().map(|(k, _)| k.value()))
            .collect();
        let jobs: HashSet<u32> = txn
            .open_table(JOBS)
            .db()?
            .iter()
            .db()?
            .filter_map(|e| e.ok().map(|(_, v)| v.value()))
            .collect();
        let sessions: BTreeSet<u64> = txn
            .open_table(SESSIONS)
            .db()?
            .iter()
            .db()?
            .filter_map(|e| e.ok().map(|(k, _)| k.value()))
            .collect();
        for e in txn.open_table(SESSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            if let Err(e) = codec::decode::<SessionRec>(format::SESSION_V1, v.value()) {
                p(format!("session {}: undecodable: {e}", k.value()));
            }
        }
        let bodies = txn.open_table(BODIES).db()?;
        let mut seqs = BTreeSet::new();
        let mut expected = 1u64;
        for e in txn.open_table(SNAPSHOTS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let seq = k.value();
            seqs.insert(seq);
            if seq != expected {
                p(format!(
                    "snapshot seq {seq} follows {}: sequence numbers are not contiguous",
                    expected - 1
                ));
            }
            expected = seq + 1;
            let snap: SnapshotRec = match codec::decode_snapshot(v.value()) {
                Ok(s) => s,
                Err(e) => {
                    p(format!("snapshot {seq}: undecodable: {e}"));
                    continue;
                }
            };
            if !sessions.contains(&snap.session) {
                p(format!(
                    "snapshot {seq}: session {} is missing",
                    snap.session
                ));
            }
            if snap.fetches.is_empty() {
                p(format!("snapshot {seq}: no requests recorded"));
            }
            for (i, f) in snap.fetches.iter().enumerate() {
                if SourceKind::from_u8(f.source).is_none() {
                    p(format!(
                        "snapshot {seq} request {i}: unknown source {}",
                        f.source
                    ));
                }
                if !strings.contains(&f.url)
                    || f.content_type.is_some_and(|c| !strings.contains(&c))
                {
                    p(format!(
                        "snapshot {seq} request {i}: refers to a missing string"
                    ));
                }
                if f.job.is_some_and(|j| !jobs.contains(&j)) {
                    p(format!(
                        "snapshot {seq} request {i}: refers to a missing job"
                    ));
                }
                if f.status.is_none() && f.error.is_none() {
                    p(format!(
                        "snapshot {seq} request {i}: neither a status nor an error"
                    ));
                }
                if crate::fetch::Outcome::from_u8(f.outcome).is_none() {
                    p(format!(
                        "snapshot {seq} request {i}: unknown outcome {}",
                        f.outcome
                    ));
                }
                if let Some([in_body, kept, repeated, unusable]) = f.rows
                    && in_body as u64 != kept as u64 + repeated as u64 + unusable as u64
                {
                    p(format!(
                        "snapshot {seq} request {i}: {in_body} rows in the body but {kept} kept + {repeated} repeated + {unusable} unusable"
                    ));
                }
                if (f.problems.len() as u64) > f.problems_total as u64 {
                    p(format!(
                        "snapshot {seq} request {i}: more row problems kept than counted"
                    ));
                }
                if let Some(b) = f.body
                    && bodies.get(b).db()?.is_none()
                {
                    p(format!("snapshot {seq} request {i}: body {b} is missing"));
                }
            }
        }
        r.snapshots = seqs.len() as u64;
        // Bodies: each decodes (through its delta chain) to bytes matching its check; every
        // index entry names a stored body whose bytes have that hash.
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
                        p(format!(
                            "body {id}: its bytes do not have the hash it is indexed under"
                        ));
                    }
                }
                Err(e) => p(format!("body {id}: {e}")),
            }
        }
        for (_, id) in &index {
            if bodies.get(*id).db()?.is_none() {
                p(format!("hash index names body {id}, which is missing"));
            }
        }
        // Entity versions point at snapshots that exist, and decode.
        for e in txn.open_table(JOB_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let (job, seq) = k.value();
            r.versions += 1;
            if !seqs.contains(&seq) || !jobs.contains(&job) {
                p(format!(
                    "job version ({job}, {seq}): no such snapshot or job"
                ));
            }
            if let Err(e) = codec::decode::<JobRec>(format::JOB_V1, v.value()) {
                p(format!("job version ({job}, {seq}): undecodable: {e}"));
            }
        }
        let changes = txn.open_table(EXEC_CHANGES).db()?;
        for e in txn.open_table(EXEC_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let (job, id, seq) = k.value();
            r.versions += 1;
            if !seqs.contains(&seq) {
                p(format!("execution {id} version at {seq}: no such snapshot"));
            }
            let bytes = v.value();
            if codec::format_of(bytes) != Some(format::EXEC_TOMBSTONE)
                && let Err(e) = codec::decode::<crate::beacon::Execution>(format::EXEC_V1, bytes)
            {
                p(format!("execution {id} version at {seq}: undecodable: {e}"));
            }
            if changes.get((job, seq, id)).db()?.is_none() {
                p(format!(
                    "execution {id} version at {seq}: missing from the change index"
                ));
            }
        }
        if changes.len().db()? != txn.open_table(EXEC_VERSIONS).db()?.len().db()? {
            p("the change index and the execution versions differ in size".into());
        }
        for e in txn.open_table(EXEC_CHECKPOINTS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let (job, seq) = k.value();
            if !seqs.contains(&seq) {
                p(format!("checkpoint ({job}, {seq}): no such snapshot"));
            }
            match checkpoint::decode(v.value())
                .and_then(|raw| checkpoint::entries(&raw).map(|e| (raw, e)))
            {
                Ok((raw, entries)) => {
                    for (id, range) in entries {
                        if codec::decode::<crate::beacon::Execution>(format::EXEC_V1, &raw[range])
                            .is_err()
                        {
                            p(format!(
                                "checkpoint ({job}, {seq}): execution {id} undecodable"
                            ));
                        }
                    }
                }
                Err(e) => p(format!("checkpoint ({job}, {seq}): {e}")),
            }
        }
        if let Some(t) = self.extras_table()? {
            for e in t.iter().db()? {
                let (k, v) = e.db()?;
                let (job, seq) = k.value();
                r.versions += 1;
                if !seqs.contains(&seq) || !jobs.contains(&job) {
                    p(format!(
                        "extra rows ({job}, {seq}): no such snapshot or job"
                    ));
                }
                if let Err(e) = codec::decode_extras(v.value()) {
                    p(format!("extra rows ({job}, {seq}): undecodable: {e}"));
                }
            }
        }
        for e in txn.open_table(ROUTER_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            r.versions += 1;
            if !seqs.contains(&k.value()) {
                p(format!("router version at {}: no such snapshot", k.value()));
            }
            if let Err(e) = codec::decode::<RouterRec>(format::ROUTER_V1, v.value()) {
                p(format!("router version at {}: undecodable: {e}", k.value()));
            }
        }
        Ok(r)
    }
}
