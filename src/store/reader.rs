//! Read access to a recording through one read transaction (a consistent view even while a
//! recorder commits). The analysis reads entity versions; bodies are decoded only on demand.

use super::open::{DbResult, StoreError};
use super::rows::Rows;
use super::schema::*;
use super::{blobs, checkpoint, codec};
use crate::beacon::{ExecRef, Execution};
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata};
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

/// A snapshot's place in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub seq: u64,
    pub started_at: i64,
    pub ended_at: i64,
    pub session: u64,
}

type ExtrasTable = redb::ReadOnlyTable<(u32, u64), &'static [u8]>;

/// A range of snapshots read as if it were the whole recording (`report --from/--to`, `cut`):
/// only its snapshots; every entity's last version at or before `from` appears at `from` (its
/// state there), versions after `to` do not appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: u64,
    pub to: u64,
}

pub struct Reader {
    pub(super) txn: ReadTransaction,
    window: Option<Window>,
}

impl Reader {
    pub fn new(db: &super::open::ReadDb) -> Result<Self, StoreError> {
        Ok(Reader {
            txn: db.begin_read()?,
            window: None,
        })
    }

    /// A reader on a read transaction of the writer's own database.
    pub fn from_txn(txn: ReadTransaction) -> Result<Self, StoreError> {
        Ok(Reader { txn, window: None })
    }

    /// Finding rows as judged while recording (those touching the window when windowed).
    pub fn findings(&self) -> Result<Vec<(u64, super::schema::FindingRec)>, StoreError> {
        let mut rows = super::findings::read(&self.txn)?;
        if let Some(w) = self.window {
            rows.retain(|(_, r)| r.began_seq <= w.to && r.ended_seq.is_none_or(|e| e >= w.from));
        }
        Ok(rows)
    }

    /// A reader of snapshots `from..=to` only (see `Window`).
    pub fn windowed(db: &super::open::ReadDb, from: u64, to: u64) -> Result<Self, StoreError> {
        Ok(Reader {
            txn: db.begin_read()?,
            window: Some(Window { from, to }),
        })
    }

    /// The read transaction itself (the seal's digest reads every table through it).
    pub fn txn(&self) -> &ReadTransaction {
        &self.txn
    }

    pub fn window(&self) -> Option<Window> {
        self.window
    }

    fn seqs(&self) -> std::ops::RangeInclusive<u64> {
        match self.window {
            Some(w) => w.from..=w.to,
            None => 0..=u64::MAX,
        }
    }

    /// Versions of one entity in seq order, as the window shows them.
    fn in_window<T>(&self, versions: Vec<(u64, T)>) -> Vec<(u64, T)> {
        let Some(w) = self.window else {
            return versions;
        };
        let mut base: Option<T> = None;
        let mut out = Vec::new();
        for (seq, v) in versions {
            if seq <= w.from {
                base = Some(v);
            } else if seq <= w.to {
                if let Some(b) = base.take() {
                    out.push((w.from, b));
                }
                out.push((seq, v));
            }
        }
        if let Some(b) = base {
            out.push((w.from, b));
        }
        out
    }

    /// The recording's id (made when the file was created).
    pub fn recording_id(&self) -> Result<Option<String>, StoreError> {
        let t = self.txn.open_table(META).db()?;
        Ok(t.get("recording_id")
            .db()?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned()))
    }

    /// A sealed bundle's manifest (`cut`), as stored.
    pub fn manifest_json(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(META).db()?;
        Ok(t.get("manifest").db()?.map(|v| v.value().to_vec()))
    }

    /// Every note, in time order (those of the window's time when windowed, marks touching it
    /// included).
    pub fn notes(&self) -> Result<Vec<(i64, u64, NoteRec)>, StoreError> {
        let t = match self.txn.open_table(NOTES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::Db(e.into())),
        };
        let span = match self.window {
            Some(w) => {
                let s = self.txn.open_table(SNAPSHOTS).db()?;
                let time = |seq: u64| -> Result<Option<(i64, i64)>, StoreError> {
                    Ok(match s.get(seq).db()? {
                        Some(v) => {
                            let r = codec::decode_snapshot(v.value())
                                .map_err(|e| StoreError::corrupt(format!("snapshot {seq}"), e))?;
                            Some((r.started_at, r.started_at + r.duration_us as i64))
                        }
                        None => None,
                    })
                };
                match (time(w.from)?, time(w.to)?) {
                    (Some(a), Some(b)) => Some((a.0, b.1)),
                    _ => Some((i64::MAX, i64::MIN)),
                }
            }
            None => None,
        };
        let mut out = Vec::new();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            let (at, n) = k.value();
            let rec: NoteRec = codec::decode(format::NOTE_V1, v.value())
                .map_err(|e| StoreError::corrupt(format!("note at {at}"), e))?;
            let keep = span.is_none_or(|(a, b)| {
                (a..=b).contains(&at)
                    || matches!((rec.mark_from, rec.mark_to), (Some(f), Some(t)) if f <= b && t >= a)
            });
            if keep {
                out.push((at, n, rec));
            }
        }
        Ok(out)
    }

    /// Ranges of snapshots removed by retention, in order.
    pub fn pruned(&self) -> Result<Vec<(u64, u64)>, StoreError> {
        let t = match self.txn.open_table(PRUNED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::Db(e.into())),
        };
        let mut out = Vec::new();
        let seqs = self.seqs();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            let (a, b) = (k.value(), v.value());
            if a <= *seqs.end() && b >= *seqs.start() {
                out.push((a, b));
            }
        }
        Ok(out)
    }

    /// The last snapshot's seq, `None` before the first.
    pub fn last_seq(&self) -> Result<Option<u64>, StoreError> {
        let t = self.txn.open_table(SNAPSHOTS).db()?;
        match t.range(self.seqs()).db()?.next_back() {
            Some(e) => Ok(Some(e.db()?.0.value())),
            None => Ok(None),
        }
    }

    /// Every snapshot header, in order.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotInfo, SnapshotRec)>, StoreError> {
        let t = self.txn.open_table(SNAPSHOTS).db()?;
        let mut out = Vec::with_capacity(t.len().db()? as usize);
        for e in t.range(self.seqs()).db()? {
            let (k, v) = e.db()?;
            let seq = k.value();
            let rec = codec::decode_snapshot(v.value())
                .map_err(|e| StoreError::corrupt(format!("snapshot {seq}"), e))?;
            out.push((
                SnapshotInfo {
                    seq,
                    started_at: rec.started_at,
                    ended_at: rec.started_at + rec.duration_us as i64,
                    session: rec.session,
                },
                rec,
            ));
        }
        Ok(out)
    }

    /// Sessions, in order (those of the window's snapshots when windowed).
    pub fn sessions(&self) -> Result<Vec<SessionRec>, StoreError> {
        let used: Option<std::collections::BTreeSet<u64>> = match self.window {
            Some(_) => Some(
                self.snapshots()?
                    .into_iter()
                    .map(|(i, _)| i.session)
                    .collect(),
            ),
            None => None,
        };
        let t = self.txn.open_table(SESSIONS).db()?;
        let mut out = Vec::new();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            if used.as_ref().is_some_and(|u| !u.contains(&k.value())) {
                continue;
            }
            out.push(
                codec::decode_session(v.value())
                    .map_err(|e| StoreError::corrupt(format!("session {}", k.value()), e))?,
            );
        }
        Ok(out)
    }

    pub fn strings(&self) -> Result<HashMap<u32, String>, StoreError> {
        let t = self.txn.open_table(STRINGS).db()?;
        let mut out = HashMap::new();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            out.insert(
                k.value(),
                super::open::stored_text("strings", || v.value().to_string())?,
            );
        }
        Ok(out)
    }

    /// Job ids and their indexes, in index order (the order they were first recorded).
    pub fn jobs(&self) -> Result<Vec<(String, u32)>, StoreError> {
        let t = self.txn.open_table(JOBS).db()?;
        let mut out = Vec::new();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            out.push((
                super::open::stored_text("jobs", || k.value().to_string())?,
                v.value(),
            ));
        }
        out.sort_by_key(|(_, i)| *i);
        Ok(out)
    }

    /// The job's version in force at `seq`, with the seq that wrote it.
    pub fn job_at(&self, job: u32, seq: u64) -> Result<Option<(u64, JobRec)>, StoreError> {
        let t = self.txn.open_table(JOB_VERSIONS).db()?;
        let mut r = t.range((job, 0)..=(job, seq)).db()?;
        match r.next_back() {
            Some(e) => {
                let (k, v) = e.db()?;
                let rec = codec::decode(format::JOB_V1, v.value())
                    .map_err(|e| StoreError::corrupt("job version", e))?;
                Ok(Some((k.value().1, rec)))
            }
            None => Ok(None),
        }
    }

    pub fn job_versions(&self, job: u32) -> Result<Vec<(u64, JobRec)>, StoreError> {
        let t = self.txn.open_table(JOB_VERSIONS).db()?;
        let mut out = Vec::new();
        for e in t.range((job, 0)..=(job, u64::MAX)).db()? {
            let (k, v) = e.db()?;
            out.push((
                k.value().1,
                codec::decode(format::JOB_V1, v.value())
                    .map_err(|e| StoreError::corrupt("job version", e))?,
            ));
        }
        Ok(self.in_window(out))
    }

    /// The live executions of a job at `seq`: the last checkpoint at or before `seq`, then
    /// every change after it up to `seq` (see `schema`). Only the survivors are decoded.
    pub fn execs_at(&self, job: u32, seq: u64) -> Result<Rows, StoreError> {
        // The checkpoint (a zstd frame of ~10,000 rows) and the changes after it are read on
        // two cores at once; the two sorted lists are then merged and decoded in halves.
        let (cp, changes) = std::thread::scope(|sc| {
            let changes = sc.spawn(|| self.changes_since(job, seq));
            let cp = self.checkpoint_before(job, seq);
            let changes = changes
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (cp, changes)
        });
        let (_, raw, entries) = cp?;
        let changes = changes?;
        enum Src<'a> {
            Checkpoint(std::ops::Range<usize>),
            Version(&'a [u8]),
        }
        // Merge: a change after the checkpoint replaces (or, a tombstone, removes) its row.
        let mut live: Vec<(i64, Src)> = Vec::with_capacity(entries.len() + changes.len());
        // By id, the last version of each (changes come in seq order).
        let later: BTreeMap<i64, &[u8]> = changes
            .iter()
            .map(|((_, id), bytes)| (*id, bytes.as_slice()))
            .collect();
        let mut ls = later.into_iter().peekable();
        for (id, r) in entries {
            while let Some((cid, b)) = ls.next_if(|(cid, _)| *cid < id) {
                if codec::format_of(b) != Some(format::EXEC_TOMBSTONE) {
                    live.push((cid, Src::Version(b)));
                }
            }
            match ls.next_if(|(cid, _)| *cid == id) {
                Some((_, b)) if codec::format_of(b) == Some(format::EXEC_TOMBSTONE) => {}
                Some((_, b)) => live.push((id, Src::Version(b))),
                None => live.push((id, Src::Checkpoint(r))),
            }
        }
        for (cid, b) in ls {
            if codec::format_of(b) != Some(format::EXEC_TOMBSTONE) {
                live.push((cid, Src::Version(b)));
            }
        }
        let decode = |(id, src): &(i64, Src)| -> Result<(i64, Execution), StoreError> {
            let bytes = match src {
                Src::Checkpoint(r) => &raw[r.clone()],
                Src::Version(b) => b,
            };
            codec::decode(format::EXEC_V1, bytes)
                .map(|e| (*id, e))
                .map_err(|e| StoreError::corrupt(format!("execution {id}"), e))
        };
        let decode_all = |part: &[(i64, Src)], cap: usize| {
            let mut out = Vec::with_capacity(cap);
            for x in part {
                out.push(decode(x)?);
            }
            Ok::<_, StoreError>(out)
        };
        // Decoding ten thousand rows is most of a `show`: halve it on a second core.
        let rows = if live.len() >= 4096 {
            let (a, b) = live.split_at(live.len() / 2);
            std::thread::scope(|sc| {
                let second = sc.spawn(|| decode_all(b, b.len()));
                let mut first = decode_all(a, live.len())?;
                let second = second
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
                first.extend(second);
                Ok::<_, StoreError>(first)
            })?
        } else {
            decode_all(&live, live.len())?
        };
        Ok(Rows::from_sorted(rows))
    }

    /// The job's last checkpoint at or before `seq`: its snapshot (0: none), its decoded
    /// payload and the (id, byte range) of each row in it, in id order.
    #[allow(clippy::type_complexity)]
    fn checkpoint_before(
        &self,
        job: u32,
        seq: u64,
    ) -> Result<(u64, Vec<u8>, Vec<(i64, std::ops::Range<usize>)>), StoreError> {
        let cps = self.txn.open_table(EXEC_CHECKPOINTS).db()?;
        let Some(e) = cps.range((job, 0)..=(job, seq)).db()?.next_back() else {
            return Ok((0, Vec::new(), Vec::new()));
        };
        let (k, v) = e.db()?;
        let base = k.value().1;
        let raw = checkpoint::decode(v.value())
            .map_err(|e| StoreError::corrupt(format!("checkpoint at {base}"), e))?;
        let mut entries = checkpoint::entries(&raw)
            .map_err(|e| StoreError::corrupt(format!("checkpoint at {base}"), e))?;
        // Written in id order; a checkpoint that is not is put in order (the last of an id
        // wins, as it would in a map).
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
            let mut by_id: BTreeMap<i64, std::ops::Range<usize>> = BTreeMap::new();
            by_id.extend(entries);
            entries = by_id.into_iter().collect();
        }
        Ok((base, raw, entries))
    }

    /// Every version of the job's rows stored after the last checkpoint at or before `seq`,
    /// up to `seq`, by (seq, id).
    fn changes_since(
        &self,
        job: u32,
        seq: u64,
    ) -> Result<BTreeMap<(u64, i64), Vec<u8>>, StoreError> {
        let cps = self.txn.open_table(EXEC_CHECKPOINTS).db()?;
        let base = match cps.range((job, 0)..=(job, seq)).db()?.next_back() {
            Some(e) => e.db()?.0.value().1,
            None => 0,
        };
        let changes = self.txn.open_table(EXEC_CHANGES).db()?;
        let versions = self.txn.open_table(EXEC_VERSIONS).db()?;
        let mut keys: Vec<(i64, u64)> = Vec::new();
        for e in changes
            .range((job, base + 1, i64::MIN)..=(job, seq, i64::MAX))
            .db()?
        {
            let (_, s, id) = e.db()?.0.value();
            keys.push((id, s));
        }
        // Looked up in key order: neighbouring versions share pages, each read once.
        keys.sort_unstable();
        let mut out = BTreeMap::new();
        for (id, s) in keys {
            let v = versions.get((job, id, s)).db()?.ok_or_else(|| {
                StoreError::corrupt(
                    format!("execution {id} at {s}"),
                    std::io::Error::other("indexed version is missing"),
                )
            })?;
            out.insert((s, id), v.value().to_vec());
        }
        Ok(out)
    }

    /// Every stored version of a job's rows whose id is in `ids`, in (id, seq) order, handed
    /// to `f` one at a time (`None`: a tombstone, the row vanished). Nothing is collected, so
    /// memory stays flat however many versions there are; callers keep only what they need.
    pub fn each_exec_version(
        &self,
        job: u32,
        ids: RangeInclusive<i64>,
        mut f: impl FnMut(i64, u64, Option<Execution>),
    ) -> Result<(), StoreError> {
        self.each_exec_bytes(job, ids, |id, seq, bytes| {
            let e = match bytes {
                None => None,
                Some(b) => Some(
                    codec::decode(format::EXEC_V1, b)
                        .map_err(|e| StoreError::corrupt(format!("execution {id}"), e))?,
                ),
            };
            f(id, seq, e);
            Ok(())
        })
    }

    /// `each_exec_version` without copying: each version read in place (`ExecRef`), for
    /// sweeps that read a few fields of every version.
    pub fn each_exec_ref(
        &self,
        job: u32,
        ids: RangeInclusive<i64>,
        mut f: impl FnMut(i64, u64, Option<ExecRef<'_>>),
    ) -> Result<(), StoreError> {
        self.each_exec_bytes(job, ids, |id, seq, bytes| {
            let e = match bytes {
                None => None,
                Some(b) => Some(
                    codec::decode::<ExecRef>(format::EXEC_V1, b)
                        .map_err(|e| StoreError::corrupt(format!("execution {id}"), e))?,
                ),
            };
            f(id, seq, e);
            Ok(())
        })
    }

    /// The walk both share: each version's stored bytes (`None`: a tombstone), in (id, seq)
    /// order, a window's start state included.
    fn each_exec_bytes(
        &self,
        job: u32,
        ids: RangeInclusive<i64>,
        mut f: impl FnMut(i64, u64, Option<&[u8]>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let t = self.txn.open_table(EXEC_VERSIONS).db()?;
        let w = self.window;
        // Windowed: the last version at or before `from` of the current id, not yet shown.
        let mut base: Option<(i64, Vec<u8>)> = None;
        let show_base = |base: &mut Option<(i64, Vec<u8>)>,
                         f: &mut dyn VersionBytes|
         -> Result<(), StoreError> {
            if let (Some((id, bytes)), Some(w)) = (base.take(), w) {
                // A row that was gone by the window's start is not in it at all.
                if let Some(b) = present(&bytes) {
                    f(id, w.from, Some(b))?;
                }
            }
            Ok(())
        };
        for e in t
            .range((job, *ids.start(), 0)..=(job, *ids.end(), u64::MAX))
            .db()?
        {
            let (k, v) = e.db()?;
            let (_, id, s) = k.value();
            let bytes = v.value();
            let Some(w) = w else {
                f(id, s, present(bytes))?;
                continue;
            };
            if base.as_ref().is_some_and(|(b, _)| *b != id) {
                show_base(&mut base, &mut f)?;
            }
            if s <= w.from {
                base = Some((id, bytes.to_vec()));
            } else if s <= w.to {
                show_base(&mut base, &mut f)?;
                f(id, s, present(bytes))?;
            }
        }
        show_base(&mut base, &mut f)?;
        Ok(())
    }

    /// Every stored version of a job's rows, in (id, seq) order.
    pub fn exec_versions(
        &self,
        job: u32,
    ) -> Result<Vec<(i64, u64, Option<Execution>)>, StoreError> {
        let mut out = Vec::new();
        self.each_exec_version(job, i64::MIN..=i64::MAX, |id, s, e| out.push((id, s, e)))?;
        Ok(out)
    }

    /// The lowest and highest row id the job ever had, `None` before its first row.
    pub fn exec_id_bounds(&self, job: u32) -> Result<Option<(i64, i64)>, StoreError> {
        let t = self.txn.open_table(EXEC_VERSIONS).db()?;
        let mut r = t
            .range((job, i64::MIN, 0)..=(job, i64::MAX, u64::MAX))
            .db()?;
        let first = match r.next() {
            Some(e) => e.db()?.0.value().1,
            None => return Ok(None),
        };
        let last = match r.next_back() {
            Some(e) => e.db()?.0.value().1,
            None => first,
        };
        Ok(Some((first, last)))
    }

    /// The job's extra rows in force at `seq` (rows kept beside the by-id list).
    pub fn extras_at(&self, job: u32, seq: u64) -> Result<Vec<ExtraRow>, StoreError> {
        let Some(t) = self.extras_table()? else {
            return Ok(Vec::new());
        };
        let mut r = t.range((job, 0)..=(job, seq)).db()?;
        match r.next_back() {
            Some(e) => {
                let (k, v) = e.db()?;
                codec::decode_extras(v.value())
                    .map_err(|e| StoreError::corrupt(format!("extra rows at {}", k.value().1), e))
            }
            None => Ok(Vec::new()),
        }
    }

    /// Every version of a job's extra rows, in seq order.
    pub fn extras_versions(&self, job: u32) -> Result<Vec<(u64, Vec<ExtraRow>)>, StoreError> {
        let Some(t) = self.extras_table()? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for e in t.range((job, 0)..=(job, u64::MAX)).db()? {
            let (k, v) = e.db()?;
            let seq = k.value().1;
            out.push((
                seq,
                codec::decode_extras(v.value())
                    .map_err(|e| StoreError::corrupt(format!("extra rows at {seq}"), e))?,
            ));
        }
        Ok(self.in_window(out))
    }

    /// The extras table; `None` in a version 1 file, which has none.
    pub(super) fn extras_table(&self) -> Result<Option<ExtrasTable>, StoreError> {
        match self.txn.open_table(EXEC_EXTRAS) {
            Ok(t) => Ok(Some(t)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(StoreError::Db(e.into())),
        }
    }

    pub fn router_at(&self, seq: u64) -> Result<Option<(u64, RouterRec)>, StoreError> {
        let t = self.txn.open_table(ROUTER_VERSIONS).db()?;
        let mut r = t.range(0..=seq).db()?;
        match r.next_back() {
            Some(e) => {
                let (k, v) = e.db()?;
                let rec = codec::decode(format::ROUTER_V1, v.value())
                    .map_err(|e| StoreError::corrupt("router version", e))?;
                Ok(Some((k.value(), rec)))
            }
            None => Ok(None),
        }
    }

    pub fn router_versions(&self) -> Result<Vec<(u64, RouterRec)>, StoreError> {
        let t = self.txn.open_table(ROUTER_VERSIONS).db()?;
        let mut out = Vec::new();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            out.push((
                k.value(),
                codec::decode(format::ROUTER_V1, v.value())
                    .map_err(|e| StoreError::corrupt("router version", e))?,
            ));
        }
        Ok(self.in_window(out))
    }

    pub fn body_rec(&self, id: u64) -> Result<Option<BodyRec>, StoreError> {
        let t = self.txn.open_table(BODIES).db()?;
        match t.get(id).db()? {
            Some(v) => codec::decode(format::BODY_V1, v.value())
                .map(Some)
                .map_err(|e| StoreError::corrupt(format!("body {id}"), e)),
            None => Ok(None),
        }
    }

    /// A body as received, following its delta chain.
    pub fn body(&self, id: u64) -> Result<Vec<u8>, StoreError> {
        let mut chain = Vec::new();
        let mut next = Some(id);
        while let Some(i) = next {
            let rec = self.body_rec(i)?.ok_or_else(|| {
                StoreError::corrupt(
                    format!("body {i}"),
                    std::io::Error::other("referenced body is missing"),
                )
            })?;
            if chain.len() > blobs::MAX_DELTA_DEPTH as usize + 1 {
                return Err(StoreError::corrupt(
                    format!("body {id}"),
                    std::io::Error::other("delta chain too long"),
                ));
            }
            next = rec.base;
            chain.push((i, rec));
        }
        let mut raw: Option<Vec<u8>> = None;
        for (i, rec) in chain.iter().rev() {
            raw = Some(
                blobs::decode(rec, raw.as_deref())
                    .map_err(|e| StoreError::corrupt(format!("body {i}"), e))?,
            );
        }
        Ok(raw.unwrap_or_default())
    }

    /// Entries per table, for tests and `verify`.
    pub fn table_sizes(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        Ok(vec![
            (
                "snapshots",
                self.txn.open_table(SNAPSHOTS).db()?.len().db()?,
            ),
            ("bodies", self.txn.open_table(BODIES).db()?.len().db()?),
            ("strings", self.txn.open_table(STRINGS).db()?.len().db()?),
            ("jobs", self.txn.open_table(JOBS).db()?.len().db()?),
            (
                "job_versions",
                self.txn.open_table(JOB_VERSIONS).db()?.len().db()?,
            ),
            (
                "exec_versions",
                self.txn.open_table(EXEC_VERSIONS).db()?.len().db()?,
            ),
            (
                "router_versions",
                self.txn.open_table(ROUTER_VERSIONS).db()?.len().db()?,
            ),
            (
                "exec_changes",
                self.txn.open_table(EXEC_CHANGES).db()?.len().db()?,
            ),
            (
                "exec_checkpoints",
                self.txn.open_table(EXEC_CHECKPOINTS).db()?.len().db()?,
            ),
            (
                "exec_extras",
                match self.extras_table()? {
                    Some(t) => t.len().db()?,
                    None => 0,
                },
            ),
        ])
    }

    /// Body ids and their index hashes, for `verify`.
    pub fn body_index(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        let t = self.txn.open_table(BODY_INDEX).db()?;
        let mut out = Vec::new();
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            out.push((*k.value(), v.value()));
        }
        Ok(out)
    }

    pub fn body_ids(&self) -> Result<Vec<u64>, StoreError> {
        let t = self.txn.open_table(BODIES).db()?;
        let mut out = Vec::new();
        for e in t.iter().db()? {
            out.push(e.db()?.0.value());
        }
        Ok(out)
    }
}

/// What `each_exec_bytes` hands each version to.
trait VersionBytes: FnMut(i64, u64, Option<&[u8]>) -> Result<(), StoreError> {}
impl<F: FnMut(i64, u64, Option<&[u8]>) -> Result<(), StoreError>> VersionBytes for F {}

/// A stored execution version's bytes, `None` for a tombstone.
fn present(bytes: &[u8]) -> Option<&[u8]> {
    (codec::format_of(bytes) != Some(format::EXEC_TOMBSTONE)).then_some(bytes)
}
