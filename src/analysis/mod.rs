//! Pure analysis over a recording: the state at a snapshot, matrix coverage, diffs between two
//! points, failure signatures and timing, router health, fetch outages, findings, and the
//! timeline. Everything here returns data; `cli` renders it.
//!
//! The analysis reads entity versions and snapshot headers, never raw bodies.

pub mod diff;
pub mod failures;
mod findings;
mod health;
pub mod matrix;
pub mod report;
mod select;
pub mod timeline;

pub use select::{SelectError, Selector};

use crate::beacon::Execution;
use crate::source::{FetchErrorKind, SourceKind};
use crate::store::schema::{FetchRec, JobRec, RouterRec, SessionRec, SnapshotRec};
use crate::store::{Reader, SnapshotInfo, StoreError};
use std::collections::{BTreeMap, HashMap};

/// A recording opened for analysis: one consistent read view plus the snapshot headers.
pub struct Recording {
    pub reader: Reader,
    pub infos: Vec<SnapshotInfo>,
    pub snaps: Vec<SnapshotRec>,
    pub strings: HashMap<u32, String>,
    /// (job id, job index), in the order first recorded.
    pub jobs: Vec<(String, u32)>,
    pub sessions: Vec<SessionRec>,
}

/// The state of one job at one snapshot.
#[derive(Debug, Clone)]
pub struct JobState {
    pub job_id: String,
    pub index: u32,
    pub rec: Option<JobRec>,
    pub execs: BTreeMap<i64, Execution>,
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

/// A request's outcome in a snapshot, as a short word: `ok`, `http 503`, `timeout`, ...
pub fn fetch_outcome(f: &FetchRec) -> String {
    if let Some(e) = &f.error {
        return FetchErrorKind::from_u8(e.kind).name().to_string();
    }
    match f.status {
        Some(s) if (200..300).contains(&s) => match &f.parse_error {
            Some(_) => "unparsable".into(),
            None => "ok".into(),
        },
        Some(s) => format!("http {s}"),
        None => "no response".into(),
    }
}

/// Whether a fetch failed, from the point of view of the data it should have given. A 404 of
/// `/executions/all` is the older runner's normal answer (the recorder pages instead).
pub fn fetch_failed(f: &FetchRec) -> bool {
    if f.error.is_some() || f.parse_error.is_some() {
        return true;
    }
    match f.status {
        Some(200..=299) => false,
        Some(404) if f.source == SourceKind::RunnerExecAll as u8 => false,
        // A job that does not exist is an answer, not an outage.
        Some(404)
            if (f.source == SourceKind::RunnerJobDefault as u8
                || f.source == SourceKind::RunnerJobPage as u8)
                && f.body_len > 0 =>
        {
            false
        }
        _ => true,
    }
}

impl Recording {
    pub fn open(db: &crate::store::ReadDb) -> Result<Self, StoreError> {
        let reader = Reader::new(db)?;
        let (infos, snaps) = reader.snapshots()?.into_iter().unzip();
        Ok(Recording {
            strings: reader.strings()?,
            jobs: reader.jobs()?,
            sessions: reader.sessions()?,
            infos,
            snaps,
            reader,
        })
    }

    pub fn resolve(&self, sel: &Selector) -> Result<u64, SelectError> {
        sel.resolve(&self.infos)
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

    pub fn state_at(&self, seq: u64, jobs: &[(String, u32)]) -> Result<State, StoreError> {
        let taken_at = self.info(seq).map_or(0, |i| i.started_at);
        let mut out = Vec::with_capacity(jobs.len());
        for (id, idx) in jobs {
            out.push(JobState {
                job_id: id.clone(),
                index: *idx,
                rec: self.reader.job_at(*idx, seq)?.map(|(_, r)| r),
                execs: self.reader.execs_at(*idx, seq)?,
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
