//! The snapshot writer: the one owner of a database being recorded. It turns one poll's
//! fetches into one durable transaction: the snapshot header, new bodies, and entity versions
//! for exactly the entities that changed since the previous snapshot.

use super::open::{DbResult, StoreError};
use super::schema::*;
use super::{blobs, checkpoint, codec};
use crate::fetch::{Fetched, SourceKind};
use crate::normalise::{ListObs, Observations};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, WriteTransaction};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// One poll as the recorder hands it over.
#[derive(Debug, Clone)]
pub struct Poll {
    pub started_at: i64,
    pub ended_at: i64,
    pub fetches: Vec<Fetched>,
}

/// What one ingest wrote, and how the poll's requests went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestStats {
    pub seq: u64,
    pub exec_versions: usize,
    pub tombstones: usize,
    pub extras_versions: usize,
    pub job_versions: usize,
    pub router_versions: usize,
    pub new_bodies: usize,
    pub new_body_bytes: usize,
    /// Per job whose complete list came in whole this poll: its rows by status.
    pub job_rows: Vec<(String, BTreeMap<String, usize>)>,
    pub requests: usize,
    /// Requests the source failed (`Outcome::is_failure`).
    pub failed: usize,
    /// Requests not sent (`Outcome::is_gap`).
    pub gaps: usize,
    /// This poll's failed or unsent requests: (endpoint, outcome word).
    pub problems: Vec<(SourceKind, String)>,
    /// Notes taken in from the inbox before this snapshot.
    pub notes_taken: usize,
    /// What the writer has to say (inbox files set aside, retention).
    pub warnings: Vec<String>,
}

pub struct Writer {
    /// `None` only while it is being reopened after a failed commit.
    db: Option<Database>,
    path: PathBuf,
    sharing: super::open::Sharing,
    limit: Option<u64>,
    durable: bool,
    next_seq: u64,
    next_body: u64,
    next_string: u32,
    strings: HashMap<String, u32>,
    jobs: HashMap<String, u32>,
    pending_session: Option<SessionRec>,
    session: u64,
    /// Previous small body per URL id, for delta encoding: (body id, raw, depth).
    last_body: HashMap<u32, (u64, Vec<u8>, u32)>,
    /// Bodies of the poll being ingested, hashed and encoded ahead (`ingest_with`), by fetch.
    prepared: Vec<Option<PreparedBody>>,
    /// Each job's live rows as last stored, to tell a changed row without encoding the rest
    /// (two rows are equal exactly when their encodings are).
    execs: HashMap<u32, HashMap<i64, crate::beacon::Execution>>,
    job_state: HashMap<u32, Vec<u8>>,
    /// Encoded current extras of each job (absent = none).
    extras_state: HashMap<u32, Vec<u8>>,
    router_state: RouterRec,
    /// Execution versions written per job since its last checkpoint.
    since_checkpoint: HashMap<u32, usize>,
    /// Set when a commit failed: redb then refuses every write until the database is opened
    /// again, so the next ingest reopens it (checked, as any open) and reloads the caches.
    broken: bool,
    retention: super::prune::Retention,
    /// Poll time of the last retention pass.
    pruned_at: Option<i64>,
}

/// The retention window is applied this often (poll time), or more often for short windows.
const PRUNE_EVERY_US: i64 = 300_000_000;

impl Writer {
    /// Opens for recording: shared with readers in other processes, durable commits.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, super::open::Sharing::Shared)
    }

    pub fn open_with(path: &Path, sharing: super::open::Sharing) -> Result<Self, StoreError> {
        Self::open_limited(path, sharing, None)
    }

    /// Opens an existing recording for a short write (a note), without waiting: `Locked`
    /// at once when a recorder holds it.
    pub fn try_open(path: &Path) -> Result<Self, StoreError> {
        let db = super::open::open_writer_now(path)?;
        Self::with_db(db, path, super::open::Sharing::Shared, None)
    }

    /// `open_with`, on a file that may not grow past `limit` bytes (a full disk, simulated).
    pub fn open_limited(
        path: &Path,
        sharing: super::open::Sharing,
        limit: Option<u64>,
    ) -> Result<Self, StoreError> {
        let db = super::open::open_writer_limited(path, sharing, limit)?;
        Self::with_db(db, path, sharing, limit)
    }

    fn with_db(
        db: Database,
        path: &Path,
        sharing: super::open::Sharing,
        limit: Option<u64>,
    ) -> Result<Self, StoreError> {
        let mut w = Writer {
            db: Some(db),
            path: path.to_path_buf(),
            sharing,
            limit,
            durable: true,
            next_seq: 1,
            next_body: 1,
            next_string: 0,
            strings: HashMap::new(),
            jobs: HashMap::new(),
            pending_session: None,
            session: 0,
            last_body: HashMap::new(),
            prepared: Vec::new(),
            execs: HashMap::new(),
            job_state: HashMap::new(),
            extras_state: HashMap::new(),
            router_state: RouterRec::default(),
            since_checkpoint: HashMap::new(),
            broken: false,
            retention: Default::default(),
            pruned_at: None,
        };
        w.reload()?;
        Ok(w)
    }

    fn db(&self) -> Result<&Database, StoreError> {
        self.db.as_ref().ok_or_else(|| StoreError::Closed {
            path: self.path.clone(),
        })
    }

    /// Durable commits (the default) or not (benchmarks of the rest of the path; only on a
    /// writer opened with `Sharing::Exclusive`).
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    /// Gives back the free space the recording left inside the file (redb's copy-on-write
    /// pages) by compacting it. Only possible while no other process is reading; returns
    /// whether the file was compacted. Failing to compact is not an error worth reporting:
    /// the data is complete either way.
    pub fn compact(&mut self) -> bool {
        let mut any = false;
        // Each pass moves pages toward the start; a few passes reach a fixed point.
        let Some(db) = self.db.as_mut() else {
            return false;
        };
        for _ in 0..8 {
            match db.compact() {
                Ok(true) => any = true,
                _ => break,
            }
        }
        any
    }

    /// Rebuilds the in-memory caches from what is committed.
    fn reload(&mut self) -> Result<(), StoreError> {
        let txn = self.db()?.begin_read().db()?;
        let snaps = txn.open_table(SNAPSHOTS).db()?;
        self.next_seq = snaps.last().db()?.map_or(1, |(k, _)| k.value() + 1);
        let bodies = txn.open_table(BODIES).db()?;
        self.next_body = bodies.last().db()?.map_or(1, |(k, _)| k.value() + 1);
        self.strings.clear();
        self.next_string = 0;
        for e in txn.open_table(STRINGS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let text = super::open::stored_text("strings", || v.value().to_string())?;
            self.strings.insert(text, k.value());
            self.next_string = self.next_string.max(k.value() + 1);
        }
        self.jobs.clear();
        for e in txn.open_table(JOBS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let job = super::open::stored_text("jobs", || k.value().to_string())?;
            self.jobs.insert(job, v.value());
        }
        self.execs.clear();
        for e in txn.open_table(EXEC_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            let (job, id, _seq) = k.value();
            let bytes = v.value();
            let m = self.execs.entry(job).or_default();
            if codec::format_of(bytes) == Some(format::EXEC_TOMBSTONE) {
                m.remove(&id);
            } else {
                let e = codec::decode(format::EXEC_V1, bytes)
                    .map_err(|e| StoreError::corrupt(format!("execution {id}"), e))?;
                m.insert(id, e);
            }
        }
        self.since_checkpoint.clear();
        let checkpoints = txn.open_table(EXEC_CHECKPOINTS).db()?;
        let changes = txn.open_table(EXEC_CHANGES).db()?;
        for &job in self.execs.keys() {
            let last = checkpoints
                .range((job, 0)..=(job, u64::MAX))
                .db()?
                .next_back()
                .transpose()
                .db()?
                .map_or(0, |(k, _)| k.value().1);
            let n = changes
                .range((job, last + 1, i64::MIN)..=(job, u64::MAX, i64::MAX))
                .db()?
                .count();
            self.since_checkpoint.insert(job, n);
        }
        self.job_state.clear();
        for e in txn.open_table(JOB_VERSIONS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            self.job_state.insert(k.value().0, v.value().to_vec());
        }
        self.extras_state.clear();
        for e in txn.open_table(EXEC_EXTRAS).db()?.iter().db()? {
            let (k, v) = e.db()?;
            self.extras_state.insert(k.value().0, v.value().to_vec());
        }
        self.router_state = match txn.open_table(ROUTER_VERSIONS).db()?.last().db()? {
            Some((_, v)) => codec::decode(format::ROUTER_V1, v.value())
                .map_err(|e| StoreError::corrupt("router version", e))?,
            None => RouterRec::default(),
        };
        self.last_body.clear();
        Ok(())
    }

    /// Keep only a window of the recording (`record --retain`, `--max-size`).
    pub fn set_retention(&mut self, r: super::prune::Retention) {
        self.retention = r;
    }

    /// Runs retention when due after a commit at poll time `now_us`; says what it removed.
    fn maybe_prune(&mut self, now_us: i64) -> Option<String> {
        if !self.retention.any() {
            return None;
        }
        // The window is applied every five minutes of poll time; the size after every commit
        // (a cheap look at the allocated pages while under it), so a fast-growing recording
        // cannot outrun it.
        // (A window shorter than 20 minutes is applied at a quarter of its length.)
        let every = self
            .retention
            .retain_us
            .map_or(PRUNE_EVERY_US, |w| (w / 4).clamp(1_000_000, PRUNE_EVERY_US));
        let window_due = self.pruned_at.is_none_or(|t| now_us - t >= every);
        if !window_due && self.retention.max_size.is_none() {
            return None;
        }
        let r = super::prune::Retention {
            retain_us: self.retention.retain_us.filter(|_| window_due),
            max_size: self.retention.max_size,
        };
        if window_due {
            self.pruned_at = Some(now_us);
        }
        let db = self.db.as_ref()?;
        match super::prune::prune(db, r, now_us, self.session, self.durable) {
            Ok(Some(st)) => {
                self.last_body
                    .retain(|_, (id, _, _)| !st.removed_bodies.contains(id));
                tracing::debug!(snapshots = st.snapshots, bodies = st.bodies, "retention");
                None
            }
            Ok(None) => None,
            Err(e) => Some(format!(
                "retention pass failed (recording goes on): {}",
                crate::errors::error_chain(&e)
            )),
        }
    }

    /// Writes notes now, in their own transaction.
    pub fn add_notes(&mut self, notes: &[super::notes::NewNote]) -> Result<(), StoreError> {
        let r = super::notes::write(self.db()?, notes);
        self.broken |= r.is_err();
        r
    }

    /// Takes in the notes waiting in the inbox (see `notes`): how many, and what was set
    /// aside.
    /// Writes notes at once, in their own durable transaction (findings as they appear).
    pub fn write_notes(&mut self, notes: &[super::notes::NewNote]) -> Result<(), StoreError> {
        let r = super::notes::write(self.db()?, notes);
        // A failed write leaves redb refusing every other: the next ingest opens it again.
        self.broken |= r.is_err();
        r
    }

    /// Writes finding rows (by id) and the notes that say them, in one transaction.
    pub fn write_findings(
        &mut self,
        rows: &[(u64, super::schema::FindingRec)],
        notes: &[super::notes::NewNote],
    ) -> Result<(), StoreError> {
        let r = super::findings::write(self.db()?, rows, notes, self.durable);
        self.broken |= r.is_err();
        r
    }

    /// A reader of what is committed now (the live judge reads the recording so far).
    pub fn reader(&self) -> Result<super::reader::Reader, StoreError> {
        super::reader::Reader::from_txn(self.db()?.begin_read().db()?)
    }

    pub fn take_inbox(&mut self) -> Result<(usize, Vec<String>), StoreError> {
        let path = self.path.clone();
        self.reopen_if_broken()?;
        let r = super::notes::take_in(&path, self.db()?);
        self.broken |= r.is_err();
        r
    }

    /// Starts a session; it is stored with the next snapshot.
    pub fn begin_session(&mut self, mut rec: SessionRec) {
        rec.first_seq = self.next_seq;
        self.pending_session = Some(rec);
    }

    fn intern(&mut self, txn: &WriteTransaction, s: &str) -> Result<u32, StoreError> {
        if let Some(&id) = self.strings.get(s) {
            return Ok(id);
        }
        let id = self.next_string;
        txn.open_table(STRINGS).db()?.insert(id, s).db()?;
        self.next_string += 1;
        self.strings.insert(s.to_string(), id);
        Ok(id)
    }

    fn job_index(&mut self, txn: &WriteTransaction, job: &str) -> Result<u32, StoreError> {
        if let Some(&id) = self.jobs.get(job) {
            return Ok(id);
        }
        let id = self.jobs.len() as u32;
        txn.open_table(JOBS).db()?.insert(job, id).db()?;
        self.jobs.insert(job.to_string(), id);
        Ok(id)
    }

    fn store_body(
        &mut self,
        txn: &WriteTransaction,
        url: u32,
        raw: &[u8],
        prep: Option<PreparedBody>,
        stats: &mut IngestStats,
    ) -> Result<u64, StoreError> {
        // The same body as last time at this URL: the common case of an unchanged poll.
        if let Some((id, prev, _)) = self.last_body.get(&url)
            && prev.as_slice() == raw
        {
            return Ok(*id);
        }
        let hash = match &prep {
            Some(p) => p.hash,
            None => *blake3::hash(raw).as_bytes(),
        };
        let mut index = txn.open_table(BODY_INDEX).db()?;
        if let Some(id) = index.get(&hash).db()? {
            return Ok(id.value());
        }
        let base = self
            .last_body
            .get(&url)
            .map(|(id, b, d)| (*id, b.as_slice(), *d));
        // Encoded ahead against the same base (a URL asked twice in one poll has another).
        let rec = match prep {
            Some(p) if p.base == base.map(|b| b.0) => p.rec,
            _ => blobs::encode(raw, hash, base),
        };
        let id = self.next_body;
        let bytes = codec::encode(format::BODY_V1, &rec);
        stats.new_bodies += 1;
        stats.new_body_bytes += bytes.len();
        txn.open_table(BODIES)
            .db()?
            .insert(id, bytes.as_slice())
            .db()?;
        if rec.base.is_none() {
            index.insert(&hash, id).db()?;
        }
        self.next_body += 1;
        if raw.len() <= blobs::DELTA_MAX_LEN {
            // The last body's buffer is reused: no fresh 10 MB to fault in every poll.
            let e = self.last_body.entry(url).or_default();
            e.0 = id;
            e.1.clear();
            e.1.extend_from_slice(raw);
            e.2 = rec.depth;
        } else {
            self.last_body.remove(&url);
        }
        Ok(id)
    }

    /// Writes one poll, read into `obs` (`normalise`), as one transaction and returns what
    /// was written.
    /// Reads the poll's answers (`normalise_with`, rows unchanged since the last poll taken
    /// from `rows`) while a second core hashes and delta-encodes its bodies, then ingests it.
    /// The same snapshot as `ingest(poll, &normalise(&poll.fetches))`.
    pub fn ingest_with(
        &mut self,
        poll: &Poll,
        rows: &mut crate::beacon::RowCache,
    ) -> Result<(IngestStats, crate::normalise::Observations), StoreError> {
        self.reopen_if_broken()?;
        let (obs, prepared) = std::thread::scope(|s| {
            let this = &*self;
            let bodies = s.spawn(move || this.prepare_bodies(poll));
            let obs = crate::normalise::normalise_with(&poll.fetches, Some(rows));
            let prepared = bodies
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (obs, prepared)
        });
        self.prepared = prepared;
        let stats = self.ingest(poll, &obs);
        self.prepared.clear();
        Ok((stats?, obs))
    }

    /// Each fetch's body hashed and encoded against the last body of its URL, as `store_body`
    /// would; `None` where the body is that last body again (or there is none).
    fn prepare_bodies(&self, poll: &Poll) -> Vec<Option<PreparedBody>> {
        poll.fetches
            .iter()
            .map(|f| {
                let raw = f.body.as_deref()?;
                let last = self.strings.get(&f.url).and_then(|u| self.last_body.get(u));
                if last.is_some_and(|(_, prev, _)| prev.as_slice() == raw) {
                    return None;
                }
                let hash = *blake3::hash(raw).as_bytes();
                let base = last.map(|(id, b, d)| (*id, b.as_slice(), *d));
                Some(PreparedBody {
                    base: base.map(|b| b.0),
                    hash,
                    rec: blobs::encode(raw, hash, base),
                })
            })
            .collect()
    }

    fn reopen_if_broken(&mut self) -> Result<(), StoreError> {
        if self.broken {
            // Close before opening again: the old handle holds the file's writer lock.
            self.db = None;
            let db = super::open::open_writer_limited(&self.path, self.sharing, self.limit)?;
            self.db = Some(db);
            self.reload()?;
            self.broken = false;
        }
        Ok(())
    }

    pub fn ingest(&mut self, poll: &Poll, obs: &Observations) -> Result<IngestStats, StoreError> {
        if self.broken {
            // Close before opening again: the old handle holds the file's writer lock.
            self.db = None;
            let db = super::open::open_writer_limited(&self.path, self.sharing, self.limit)?;
            self.db = Some(db);
            self.reload()?;
            self.broken = false;
        }
        let seq = self.next_seq;
        let mut txn = self.db()?.begin_write().db()?;
        if !self.durable {
            txn.set_durability(Durability::None).db()?;
        }
        let result = self.write_poll(&txn, seq, poll, obs);
        match result {
            Ok((stats, pending)) => match txn.commit() {
                Ok(()) => {
                    tracing::debug!(
                        seq,
                        exec_versions = stats.exec_versions,
                        new_bodies = stats.new_bodies,
                        new_body_bytes = stats.new_body_bytes,
                        "snapshot committed"
                    );
                    self.apply(pending);
                    self.next_seq += 1;
                    self.pending_session = None;
                    let mut stats = stats;
                    if let Some(w) = self.maybe_prune(poll.started_at) {
                        stats.warnings.push(w);
                    }
                    Ok(stats)
                }
                Err(e) => {
                    self.broken = true;
                    Err(StoreError::Db(e.into()))
                }
            },
            Err(e) => {
                self.broken = true;
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    fn apply(&mut self, p: Pending) {
        for (job, since) in p.checkpoints {
            self.since_checkpoint.insert(job, since);
        }
        for (job, id, row) in p.execs {
            let m = self.execs.entry(job).or_default();
            match row {
                Some(e) => {
                    m.insert(id, e);
                }
                None => {
                    m.remove(&id);
                }
            }
        }
        for (job, bytes) in p.jobs {
            self.job_state.insert(job, bytes);
        }
        for (job, bytes) in p.extras {
            self.extras_state.insert(job, bytes);
        }
        if let Some(r) = p.router {
            self.router_state = r;
        }
    }

    fn write_poll(
        &mut self,
        txn: &WriteTransaction,
        seq: u64,
        poll: &Poll,
        obs: &Observations,
    ) -> Result<(IngestStats, Pending), StoreError> {
        let mut stats = IngestStats {
            seq,
            ..Default::default()
        };
        let mut pending = Pending::default();
        self.write_session(txn, seq, poll)?;
        let fetch_recs = self.fetch_records(txn, poll, obs, &mut stats)?;
        // Entity versions, only where something changed.
        self.write_exec_versions(txn, seq, obs, &mut stats, &mut pending)?;
        self.write_job_versions(txn, seq, obs, &mut stats, &mut pending)?;
        self.write_router_version(txn, seq, obs, &mut stats, &mut pending)?;
        let snap = SnapshotRec {
            session: self.session,
            started_at: poll.started_at,
            duration_us: poll.ended_at.saturating_sub(poll.started_at).max(0) as u64,
            fetches: fetch_recs,
        };
        txn.open_table(SNAPSHOTS)
            .db()?
            .insert(seq, codec::encode_snapshot(&snap).as_slice())
            .db()?;
        Ok((stats, pending))
    }

    /// The session's header, at its first poll.
    fn write_session(
        &mut self,
        txn: &WriteTransaction,
        seq: u64,
        poll: &Poll,
    ) -> Result<(), StoreError> {
        if self.session == 0 || self.pending_session.is_some() {
            let rec = self.pending_session.clone().unwrap_or_else(|| SessionRec {
                started_at: poll.started_at,
                first_seq: seq,
                runner: None,
                router: None,
                jobs: vec![],
                interval_ms: 0,
                timeout_ms: 0,
                max_runner_rpm: 0,
                label: None,
                tool_version: env!("CARGO_PKG_VERSION").into(),
                all_jobs: false,
                endpoints: Vec::new(),
                retain_us: None,
                max_size: None,
                origin: Vec::new(),
            });
            txn.open_table(SESSIONS)
                .db()?
                .insert(seq, codec::encode(format::SESSION_V2, &rec).as_slice())
                .db()?;
            self.session = seq;
        }
        Ok(())
    }

    /// Each request's header: its outcome, its body stored (once), its rows accounted for.
    fn fetch_records(
        &mut self,
        txn: &WriteTransaction,
        poll: &Poll,
        obs: &Observations,
        stats: &mut IngestStats,
    ) -> Result<Vec<FetchRec>, StoreError> {
        let mut fetch_recs = Vec::with_capacity(poll.fetches.len());
        for (i, f) in poll.fetches.iter().enumerate() {
            let notes = obs.notes.get(i);
            let outcome = notes.map_or_else(|| f.transport_outcome(), |n| n.outcome);
            let url = self.intern(txn, &f.url)?;
            let content_type = match &f.content_type {
                Some(ct) => Some(self.intern(txn, ct)?),
                None => None,
            };
            let location = match &f.location {
                Some(l) => Some(self.intern(txn, l)?),
                None => None,
            };
            let job = match &f.job {
                Some(j) => Some(self.job_index(txn, j)?),
                None => None,
            };
            let body = match &f.body {
                Some(b) => {
                    let prep = self.prepared.get_mut(i).and_then(Option::take);
                    Some(self.store_body(txn, url, b, prep, stats)?)
                }
                None => None,
            };
            stats.requests += 1;
            if outcome.is_failure() || outcome.is_gap() {
                if outcome.is_failure() {
                    stats.failed += 1;
                } else {
                    stats.gaps += 1;
                }
                stats.problems.push((
                    f.kind,
                    crate::fetch::outcome_word(outcome, f.status, f.error.as_ref().map(|e| e.0)),
                ));
            }
            fetch_recs.push(FetchRec {
                source: f.kind as u8,
                job,
                url,
                status: f.status,
                latency_us: f.latency_us,
                body,
                body_len: f.body.as_ref().map_or(0, |b| b.len() as u64),
                content_type,
                error: f.error.as_ref().map(|(k, m)| FetchErrorRec {
                    kind: *k as u8,
                    message: m.clone(),
                }),
                parse_error: notes.and_then(|n| n.parse_error.clone()),
                outcome: outcome as u8,
                location,
                rows: notes
                    .and_then(|n| n.rows)
                    .map(|r| [r.in_body, r.kept, r.repeated, r.unusable]),
                problems: notes.map(|n| n.problems.clone()).unwrap_or_default(),
                problems_total: notes.map_or(0, |n| n.problems_total),
                server_time: notes.and_then(|n| n.server_time).or(f.date_us),
                sent_us: f
                    .sent_at_us
                    .map(|t| t.saturating_sub(poll.started_at).max(0) as u64),
                retried: f.retried.as_ref().map(|(k, m)| FetchErrorRec {
                    kind: *k as u8,
                    message: m.clone(),
                }),
                secrets_removed: f.secrets_removed,
            });
        }

        Ok(fetch_recs)
    }

    /// Every job's rows that changed, tombstones for rows gone from a complete list, a
    /// checkpoint when due, the rows kept beside the list when they changed.
    fn write_exec_versions(
        &mut self,
        txn: &WriteTransaction,
        seq: u64,
        obs: &Observations,
        stats: &mut IngestStats,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        let mut ev = txn.open_table(EXEC_VERSIONS).db()?;
        let mut ch = txn.open_table(EXEC_CHANGES).db()?;
        let mut cp = txn.open_table(EXEC_CHECKPOINTS).db()?;
        let mut xt = txn.open_table(EXEC_EXTRAS).db()?;
        for (name, list) in &obs.lists {
            let (rows, complete) = match list {
                ListObs::Complete(r) => (r, true),
                ListObs::Partial(r) => (r, false),
                ListObs::Incomplete => continue,
            };
            let job = self.job_index(txn, name)?;
            let current = self.execs.get(&job);
            let mut written = 0;
            for e in rows.by_id.values() {
                // A default view alone carries less than the complete list: what it lacks
                // stays as last read, never erased by a poorer observation.
                let merged;
                let e = match current.and_then(|c| c.get(&e.id)).filter(|_| !complete) {
                    Some(before) => {
                        let mut m = e.clone();
                        m.fill_from(before);
                        merged = m;
                        &merged
                    }
                    None => e,
                };
                if current.and_then(|c| c.get(&e.id)) != Some(e) {
                    let bytes = codec::encode(format::EXEC_V1, e);
                    ev.insert((job, e.id, seq), bytes.as_slice()).db()?;
                    ch.insert((job, seq, e.id), ()).db()?;
                    pending.execs.push((job, e.id, Some(e.clone())));
                    stats.exec_versions += 1;
                    written += 1;
                }
            }
            if let Some(cur) = current.filter(|_| complete) {
                for &id in cur.keys() {
                    if !rows.by_id.contains_key(&id) {
                        ev.insert((job, id, seq), [format::EXEC_TOMBSTONE].as_slice())
                            .db()?;
                        ch.insert((job, seq, id), ()).db()?;
                        pending.execs.push((job, id, None));
                        stats.tombstones += 1;
                        written += 1;
                    }
                }
            }
            let since = self.since_checkpoint.get(&job).copied().unwrap_or(0) + written;
            if complete && written > 0 && checkpoint::due(since, rows.by_id.len()) {
                // The state after this poll is exactly the complete list just read.
                let encoded: Vec<(i64, Vec<u8>)> = rows
                    .by_id
                    .values()
                    .map(|e| (e.id, codec::encode(format::EXEC_V1, e)))
                    .collect();
                let value = checkpoint::encode(encoded.iter().map(|(i, b)| (*i, b.as_slice())));
                cp.insert((job, seq), value.as_slice()).db()?;
                pending.checkpoints.push((job, 0));
            } else {
                pending.checkpoints.push((job, since));
            }
            // Extras: a version whenever they change, an empty one when they go.
            let had = self.extras_state.get(&job);
            if complete && !(rows.extras.is_empty() && had.is_none()) {
                let bytes = codec::encode_extras(&rows.extras);
                if had != Some(&bytes) {
                    xt.insert((job, seq), bytes.as_slice()).db()?;
                    pending.extras.push((job, bytes));
                    stats.extras_versions += 1;
                }
            }
            if complete {
                stats.job_rows.push((name.clone(), rows.by_status()));
            }
        }
        Ok(())
    }

    /// Every job whose default view changed.
    fn write_job_versions(
        &mut self,
        txn: &WriteTransaction,
        seq: u64,
        obs: &Observations,
        stats: &mut IngestStats,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        let mut jv = txn.open_table(JOB_VERSIONS).db()?;
        for (name, rec) in &obs.views {
            let job = self.job_index(txn, name)?;
            let bytes = codec::encode(format::JOB_V1, rec);
            if self.job_state.get(&job) != Some(&bytes) {
                jv.insert((job, seq), bytes.as_slice()).db()?;
                pending.jobs.push((job, bytes));
                stats.job_versions += 1;
            }
        }
        Ok(())
    }

    /// The router, when this poll's answers changed it.
    fn write_router_version(
        &mut self,
        txn: &WriteTransaction,
        seq: u64,
        obs: &Observations,
        stats: &mut IngestStats,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        let mut router = self.router_state.clone();
        if let Some(h) = &obs.health {
            router.health = Some(h.clone());
        }
        if let Some(p) = &obs.providers {
            router.providers = Some(p.clone());
        }
        if router != self.router_state {
            txn.open_table(ROUTER_VERSIONS)
                .db()?
                .insert(seq, codec::encode(format::ROUTER_V1, &router).as_slice())
                .db()?;
            pending.router = Some(router);
            stats.router_versions += 1;
        }
        Ok(())
    }
}

/// A body hashed and encoded ahead of its transaction.
#[derive(Debug)]
struct PreparedBody {
    /// The body it is a delta against, if any.
    base: Option<u64>,
    hash: [u8; 32],
    rec: super::schema::BodyRec,
}

#[derive(Default)]
struct Pending {
    /// Per job: versions since its last checkpoint after this poll.
    checkpoints: Vec<(u32, usize)>,
    /// Rows written (`None`: gone), to apply once the commit holds.
    execs: Vec<(u32, i64, Option<crate::beacon::Execution>)>,
    jobs: Vec<(u32, Vec<u8>)>,
    extras: Vec<(u32, Vec<u8>)>,
    router: Option<RouterRec>,
}
