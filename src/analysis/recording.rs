//! A recording opened for analysis: its snapshot headers and sessions, which poll observed what
//! (`seen`), and the state of every job and of the router at any snapshot.

use super::seen::Observed;
use super::select::{SelectError, Selector};
use super::values::Stamp;
use serde::Serialize;

use crate::beacon::{ExtraRow, JobRec, RouterRec};
use crate::fetch::SourceKind;
use crate::store::schema::{SessionRec, SnapshotRec};
use crate::store::{Reader, SnapshotInfo, StoreError};
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// A recording opened for analysis: one consistent read view plus the snapshot headers.
pub struct Recording {
    pub reader: Reader,
    pub infos: Vec<SnapshotInfo>,
    pub snaps: Vec<SnapshotRec>,
    pub strings: HashMap<u32, String>,
    /// (job id, job index), in the order first recorded.
    pub jobs: Vec<(String, u32)>,
    pub sessions: Vec<SessionRec>,
    /// How many id ranges a sweep over row versions is split into (one thread each): the
    /// machine's cores, at most 4. The result does not depend on it.
    pub threads: usize,
    /// Notes (`blackbox note`), in time order.
    pub notes: Vec<Note>,
    /// Ranges of snapshots removed by retention.
    pub pruned: Vec<(u64, u64)>,
    /// Which poll observed which source (`seen`).
    pub seen: super::seen::SeenIndex,
    /// The runner's and the router's clocks against the recorder's, from their answers.
    pub clocks: super::clocks::Clocks,
    /// Findings as judged while recording (`record::live`), by row id.
    pub findings: Vec<(u64, crate::store::schema::FindingRec)>,
    /// The recording's id (`None` in a file from before ids).
    pub id: Option<String>,
}

/// An annotation of the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub at: Stamp,
    pub text: String,
    /// The window kept from pruning, when marked.
    pub mark_from: Option<Stamp>,
    pub mark_to: Option<Stamp>,
}

/// The state of one job at one snapshot.
#[derive(Debug, Clone)]
pub struct JobState {
    pub job_id: String,
    pub index: u32,
    pub rec: Option<JobRec>,
    pub execs: crate::store::rows::Rows,
    /// Rows kept beside the by-id list (an id repeated within one body, no usable id).
    pub extras: Vec<ExtraRow>,
    /// A complete list of its rows was read at some snapshot up to this one. Without one
    /// (an imported default view alone), rows not seen may exist: cells are unknown, not
    /// missing.
    pub list_seen: bool,
}

impl JobState {
    /// Every row: by id, then the extras.
    pub fn rows(&self) -> impl Iterator<Item = super::matrix::Row<'_>> {
        self.execs
            .values()
            .map(|e| super::matrix::Row {
                id: Some(e.id),
                exec: e,
            })
            .chain(self.extras.iter().map(|x| super::matrix::Row {
                id: x.id(),
                exec: &x.exec,
            }))
    }

    pub fn row_count(&self) -> usize {
        self.execs.len() + self.extras.len()
    }
}

/// The recorded world at one snapshot.
#[derive(Debug, Clone)]
pub struct State {
    pub seq: u64,
    pub taken_at: i64,
    pub jobs: Vec<JobState>,
    /// `None` when the router was never recorded up to this point.
    pub router: Option<RouterRec>,
}

/// Runs `f` over a job's row ids split into `rec.threads` disjoint ranges, at once, and
/// returns the results in id order. Sweeps over row versions are the analysis's
/// biggest cost, and each id's versions are independent of the others'.
pub fn by_id_ranges<T: Send>(
    rec: &Recording,
    job: u32,
    f: impl Fn(RangeInclusive<i64>) -> Result<T, StoreError> + Sync,
) -> Result<Vec<T>, StoreError> {
    let ranges = match rec.reader.exec_id_bounds(job)? {
        Some((lo, hi)) if rec.threads > 1 => split_ids(lo, hi, rec.threads),
        _ => vec![i64::MIN..=i64::MAX],
    };
    if ranges.len() == 1 {
        return Ok(vec![f(i64::MIN..=i64::MAX)?]);
    }
    std::thread::scope(|sc| {
        let f = &f;
        let handles: Vec<_> = ranges.into_iter().map(|r| sc.spawn(move || f(r))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// `parts` consecutive ranges covering every i64, cut evenly between `lo` and `hi`.
fn split_ids(lo: i64, hi: i64, parts: usize) -> Vec<RangeInclusive<i64>> {
    let span = hi as i128 - lo as i128 + 1;
    let parts = (parts as i128).min(span).max(1);
    let mut out = Vec::new();
    let mut start = i64::MIN;
    for k in 1..parts {
        let cut = (lo as i128 + span * k / parts) as i64;
        out.push(start..=cut - 1);
        start = cut;
    }
    out.push(start..=i64::MAX);
    out
}

impl Recording {
    pub fn open(db: &crate::store::ReadDb) -> Result<Self, StoreError> {
        Self::with_reader(Reader::new(db)?)
    }

    /// Snapshots `from..=to` as a recording of their own (`report --from/--to`; what `cut`
    /// writes).
    pub fn open_window(db: &crate::store::ReadDb, from: u64, to: u64) -> Result<Self, StoreError> {
        Self::with_reader(Reader::windowed(db, from, to)?)
    }

    /// The recording a reader sees (the live judge's, on the writer's own database).
    pub fn with_reader(reader: Reader) -> Result<Self, StoreError> {
        let (infos, snaps): (Vec<SnapshotInfo>, Vec<SnapshotRec>) =
            reader.snapshots()?.into_iter().unzip();
        let notes = reader
            .notes()?
            .into_iter()
            .map(|(at, _, n)| Note {
                at: Stamp(at),
                text: n.text,
                mark_from: n.mark_from.map(Stamp),
                mark_to: n.mark_to.map(Stamp),
            })
            .collect();
        let sessions = reader.sessions()?;
        Ok(Recording {
            clocks: super::clocks::Clocks::measure(&infos, &snaps, &sessions),
            strings: reader.strings()?,
            jobs: reader.jobs()?,
            sessions,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            notes,
            pruned: reader.pruned()?,
            findings: reader.findings()?,
            id: reader.recording_id()?,
            seen: super::seen::SeenIndex::build(&infos, &snaps),
            infos,
            snaps,
            reader,
        })
    }

    /// Notes by the snapshot they follow: index `i` holds those from snapshot `i`'s start to
    /// the next one's (notes before the first go with the first).
    pub fn notes_by_snapshot(&self) -> Vec<Vec<&Note>> {
        let mut out: Vec<Vec<&Note>> = vec![Vec::new(); self.infos.len()];
        for n in &self.notes {
            let k = self
                .infos
                .partition_point(|i| i.started_at <= n.at.0)
                .saturating_sub(1);
            if let Some(v) = out.get_mut(k) {
                v.push(n);
            }
        }
        out
    }

    /// The snapshot a time falls in (the last one started at or before it; the first for an
    /// earlier time).
    pub fn seq_at(&self, t: i64) -> Option<u64> {
        let k = self
            .infos
            .partition_point(|i| i.started_at <= t)
            .saturating_sub(1);
        self.infos.get(k).map(|i| i.seq)
    }

    pub fn resolve(&self, sel: &Selector) -> Result<u64, SelectError> {
        sel.resolve(&self.infos)
    }

    /// The first snapshot's time: offsets in text output count from it.
    pub fn start_us(&self) -> i64 {
        self.infos.first().map_or(0, |i| i.started_at)
    }

    pub fn index_of(&self, seq: u64) -> Option<usize> {
        self.infos.binary_search_by_key(&seq, |s| s.seq).ok()
    }

    pub fn info(&self, seq: u64) -> Option<&SnapshotInfo> {
        self.index_of(seq).map(|i| &self.infos[i])
    }

    pub fn string(&self, id: u32) -> &str {
        self.strings.get(&id).map_or("?", String::as_str)
    }

    /// The `--endpoint` name a request was recorded under (`None` for the built-in sources).
    pub fn endpoint_name(&self, f: &crate::store::schema::FetchRec) -> Option<&str> {
        if f.source != crate::fetch::SourceKind::Custom as u8 {
            return None;
        }
        let url = self.string(f.url);
        self.sessions.iter().find_map(|s| s.endpoint_name(url))
    }

    /// A request's source as people name it: `router.health`, or `endpoint worker`.
    pub fn source_label(&self, f: &crate::store::schema::FetchRec) -> String {
        match self.endpoint_name(f) {
            Some(n) => format!("endpoint {n}"),
            None => crate::fetch::SourceKind::name_of(f.source).to_string(),
        }
    }

    /// Jobs matching the filter (all when `None`); an unknown job id is an error.
    pub fn select_jobs(&self, filter: Option<&str>) -> Result<Vec<(String, u32)>, String> {
        match filter {
            None => Ok(self.jobs.clone()),
            Some(f) => {
                let m: Vec<_> = self.jobs.iter().filter(|(j, _)| j == f).cloned().collect();
                if m.is_empty() {
                    let known: Vec<&str> = self.jobs.iter().map(|(j, _)| j.as_str()).collect();
                    Err(format!(
                        "job {f:?} is not in this recording (recorded: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ))
                } else {
                    Ok(m)
                }
            }
        }
    }

    /// Whether any session recorded the router.
    pub fn router_recorded(&self) -> bool {
        self.snaps.iter().any(|s| {
            s.fetches
                .iter()
                .any(|f| f.source == SourceKind::RouterHealth as u8)
        })
    }

    /// Whether a complete list of `job` was read at or before `seq`.
    pub fn list_seen(&self, job: u32, seq: u64) -> bool {
        self.seen.last_list(job, seq).is_some()
    }

    pub fn state_at(&self, seq: u64, jobs: &[(String, u32)]) -> Result<State, StoreError> {
        let taken_at = self.info(seq).map_or(0, |i| i.started_at);
        let mut out = Vec::with_capacity(jobs.len());
        for (id, idx) in jobs {
            out.push(JobState {
                job_id: id.clone(),
                index: *idx,
                rec: self.reader.job_at(*idx, seq)?.map(|(_, r)| r),
                execs: self.reader.execs_at(*idx, seq)?,
                extras: self.reader.extras_at(*idx, seq)?,
                list_seen: self.list_seen(*idx, seq),
            });
        }
        let router = match self.reader.router_at(seq)? {
            Some((_, r)) => Some(r),
            None if self.router_recorded() => Some(RouterRec::default()),
            None => None,
        };
        Ok(State {
            seq,
            taken_at,
            jobs: out,
            router,
        })
    }
}

impl Recording {
    /// `seq` as an observation seen from the snapshot `now`.
    pub fn observed(&self, seq: u64, now: u64) -> Observed {
        let t = |s: u64| self.info(s).map_or(0, |i| i.started_at);
        Observed {
            seq,
            at: Stamp(t(seq)),
            age_seconds: (t(now) - t(seq)).max(0) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_ids;

    #[test]
    fn id_ranges_cover_every_id_once() {
        for (lo, hi, parts) in [
            (1, 10_000, 2),
            (5, 5, 4),
            (-3, 3, 3),
            (i64::MIN, i64::MAX, 4),
        ] {
            let r = split_ids(lo, hi, parts);
            assert!(r.len() <= parts && !r.is_empty());
            assert_eq!(*r[0].start(), i64::MIN);
            assert_eq!(*r.last().unwrap().end(), i64::MAX);
            for w in r.windows(2) {
                assert_eq!(*w[0].end() + 1, *w[1].start(), "{lo} {hi} {parts}");
                assert!(w[0].start() <= w[0].end());
            }
        }
        // Cut evenly inside the ids seen.
        assert_eq!(
            split_ids(1, 10_000, 2),
            vec![i64::MIN..=5_000, 5_001..=i64::MAX]
        );
        assert_eq!(split_ids(5, 5, 4).len(), 1);
    }
}
