//! The state at one snapshot, per job and for the router: what `show` prints, and what every
//! per-job part of the report starts from.

use super::matrix::{Coverage, coverage, router_regions};
use super::recording::{JobState, Recording, State};
use super::router::{CheckMemory, ClockUsed, ProviderState, Raised, provider_state};
use super::seen::{Observed, ViewAndList};
use super::values::{FetchKind, Stamp};
use crate::beacon::{ExpectedMatrix, RouterRec};
use crate::fetch::SourceKind;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SnapshotRef {
    pub seq: u64,
    pub taken_at: Stamp,
}

pub fn snapshot_ref(rec: &Recording, seq: u64) -> SnapshotRef {
    SnapshotRef {
        seq,
        taken_at: Stamp(rec.info(seq).map_or(0, |i| i.started_at)),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Expected {
    pub path: Option<&'static str>,
    pub cells: u64,
    pub declared: Option<u64>,
    pub questions: Vec<String>,
    pub models: Vec<String>,
    pub regions: Vec<String>,
    pub unplanned_regions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DefaultView {
    /// Rows on the page a person gets from `?include=executions`, as last fetched (`seen`
    /// says when).
    pub rows: Option<u32>,
    /// Rows in the complete list at this snapshot.
    pub complete_rows: usize,
    /// The poll that fetched the view described (`None`: before this recording or window).
    pub seen: Option<Observed>,
    /// This snapshot's poll fetched both the view and the complete list: only then are they
    /// compared here (`truncated`, `hidden`).
    pub same_poll: bool,
    /// Fewer rows than the complete list of the same poll; `None` when this poll did not fetch
    /// both (nothing compared: `last_compared` is the last comparison).
    pub truncated: Option<bool>,
    /// Rows of the complete list of the same poll that the default page did not show; `None`
    /// as `truncated`.
    pub hidden: Option<usize>,
    /// When this poll did not fetch both: the last poll at or before it that did.
    pub last_compared: Option<ViewAndList>,
    /// The ids the page showed (newest first, as the runner orders it).
    pub ids: Vec<i64>,
    /// No complete list was read and the page is full (the runner's default page size): rows
    /// beyond it may exist that nothing recorded shows.
    pub may_be_cut: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobSummary {
    pub job_id: String,
    /// `false` when the runner said 404 "job not found"; `None` when no view of the job was
    /// answered up to this snapshot.
    pub found: Option<bool>,
    pub status: Option<String>,
    /// The status is a final one (completed, failed, cancelled). While it is not, what has not
    /// happened has not happened *so far*: every view says so (`so_far`).
    #[serde(rename = "final")]
    pub is_final: bool,
    pub rows: usize,
    pub by_status: BTreeMap<String, usize>,
    pub expected: Expected,
    pub cells: Coverage,
    pub default_view: DefaultView,
    /// How this snapshot's requests for the complete list went (the first that did not
    /// succeed, else ok); `None` when the snapshot did not ask.
    pub list_fetch: Option<FetchKind>,
    /// The poll that last read the complete list whole (`rows`, `by_status` and `cells` are as
    /// it read them), and its age; `None`: never up to this snapshot.
    pub list_seen: Option<Observed>,
}

impl JobSummary {
    /// Whether what has not happened is said to have not happened *so far*: the one rule every
    /// view of a job that has not finished follows.
    pub fn so_far(&self) -> bool {
        !self.is_final
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderOut {
    pub name: String,
    pub kind: Option<String>,
    pub region: Option<String>,
    pub healthy: Option<bool>,
    /// As of the poll that last answered `/providers` (`RouterSummary::providers_seen`).
    pub state: ProviderState,
    /// The last completed check, on the recorder's clock (the router's stamp mapped through
    /// its measured offset); the router's own stamp beside it when the two clocks disagree.
    pub last_health_check: Option<Stamp>,
    pub last_health_check_router: Option<Stamp>,
    /// Age of the last check as of the snapshot described, and as of the poll that answered,
    /// on `RouterSummary::clock`.
    pub age_seconds: Option<f64>,
    pub age_at_answer_seconds: Option<f64>,
    /// For checks failing after a completed one: known failing since at least this (the
    /// recorder's clock), and what the last completed check found when that was seen.
    pub failing_since: Option<Stamp>,
    pub last_check_found_healthy: Option<bool>,
    pub success_rate: Option<f64>,
    pub avg_latency: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouterSummary {
    /// How this snapshot's `/health` request went.
    pub fetch: Option<FetchKind>,
    /// How this snapshot's `/providers` request went.
    pub providers_fetch: Option<FetchKind>,
    /// The polls whose `/health` and `/providers` answers are shown (`None`: before this
    /// recording or window); each provider's state is as of its poll.
    pub health_seen: Option<Observed>,
    pub providers_seen: Option<Observed>,
    pub status: Option<String>,
    pub version: Option<String>,
    pub providers_total: Option<i64>,
    pub providers_healthy: Option<i64>,
    pub regions: Vec<String>,
    pub providers: Vec<ProviderOut>,
    pub clock: ClockUsed,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShowOut {
    pub snapshot: SnapshotRef,
    pub jobs: Vec<JobSummary>,
    pub router: Option<RouterSummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error("{0}")]
    Job(String),
    /// A `--status` or `--cell` naming nothing the recording or the runner knows.
    #[error("{0}")]
    Filter(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Select(#[from] super::select::SelectError),
}

/// How the requests of `kind` (one job's, or none) went in one snapshot: the first that did
/// not succeed, else the first.
fn outcome_of(
    rec: &Recording,
    seq: u64,
    kinds: &[SourceKind],
    job: Option<u32>,
) -> Option<FetchKind> {
    let snap = &rec.snaps[rec.index_of(seq)?];
    let fs: Vec<_> = snap
        .fetches
        .iter()
        .filter(|f| f.job == job && kinds.iter().any(|k| f.source == *k as u8))
        .collect();
    fs.iter()
        .find(|f| f.outcome().is_failure() || f.outcome().is_gap())
        .or(fs.first())
        .map(|f| FetchKind::of(f))
}

pub fn matrix_for(js: &JobState, router: Option<&RouterRec>) -> ExpectedMatrix {
    match js.rec.as_ref().and_then(|r| r.spec_json.as_deref()) {
        Some(spec) => ExpectedMatrix::from_spec(spec, router_regions(router).as_ref()),
        None => ExpectedMatrix::default(),
    }
}

pub fn job_summary(rec: &Recording, state: &State, js: &JobState) -> JobSummary {
    let m = matrix_for(js, state.router.as_ref());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in js.rows() {
        *counts.entry(r.exec.status.as_str()).or_default() += 1;
    }
    let by_status = counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    let total = js.row_count();
    let default_rows = js.rec.as_ref().and_then(|r| r.default_rows);
    let ids: Vec<i64> = js
        .rec
        .as_ref()
        .map(|r| r.default_ids.clone())
        .unwrap_or_default();
    let shown: BTreeSet<i64> = ids.iter().copied().collect();
    // Rows the page did not show: by id, plus every row kept beside the list.
    let hidden = js.execs.keys().filter(|id| !shown.contains(id)).count() + js.extras.len();
    let seen = &rec.seen;
    let same_poll = seen.view_at(js.index, state.seq)
        && seen.list_at(js.index, state.seq)
        && default_rows.is_some();
    let last_compared = if same_poll {
        None
    } else {
        seen.view_and_list(|s| rec.info(s).map_or(0, |i| i.started_at), js.index)
            .into_iter()
            .rev()
            .find(|p| p.seq <= state.seq)
    };
    JobSummary {
        job_id: js.job_id.clone(),
        found: js.rec.as_ref().map(|r| r.found),
        status: js.rec.as_ref().and_then(|r| r.status.clone()),
        is_final: js
            .rec
            .as_ref()
            .and_then(|r| r.status.as_deref())
            .is_some_and(crate::beacon::is_final),
        rows: total,
        by_status,
        expected: Expected {
            path: m.path.map(|p| p.as_str()),
            cells: m.cell_count(),
            declared: m.declared,
            questions: m.questions.clone(),
            models: m.models.clone(),
            regions: m.regions.clone(),
            unplanned_regions: m.unplanned_regions.clone(),
        },
        cells: if js.list_seen {
            coverage(&m, js.rows())
        } else {
            coverage(&m, js.rows()).only_seen()
        },
        default_view: DefaultView {
            rows: default_rows,
            complete_rows: total,
            seen: default_rows
                .and(seen.last_view(js.index, state.seq))
                .map(|s| rec.observed(s, state.seq)),
            same_poll,
            truncated: same_poll.then(|| default_rows.is_some_and(|d| (d as usize) < total)),
            hidden: same_poll.then_some(hidden),
            last_compared,
            ids,
            may_be_cut: !js.list_seen
                && default_rows.is_some_and(|d| d >= crate::beacon::DEFAULT_PAGE),
        },
        list_fetch: outcome_of(
            rec,
            state.seq,
            &[SourceKind::RunnerExecAll, SourceKind::RunnerJobPage],
            Some(js.index),
        ),
        list_seen: seen
            .last_list(js.index, state.seq)
            .map(|s| rec.observed(s, state.seq)),
    }
}

/// The router's clock at `seq`: the last `/health` timestamp at or before it, moved on by the
/// recorder's time since.
pub fn router_time_at(rec: &Recording, seq: u64) -> (i64, ClockUsed) {
    let Some(k) = rec.index_of(seq) else {
        return (0, ClockUsed::Recorder);
    };
    let now = rec.infos[k].started_at;
    for j in (0..=k).rev() {
        let t = rec.snaps[j]
            .fetches
            .iter()
            .find(|f| {
                f.source == SourceKind::RouterHealth as u8
                    && f.outcome() == crate::fetch::Outcome::Ok
            })
            .and_then(|f| f.server_time);
        if let Some(t) = t {
            return (now + (t - rec.infos[j].started_at), ClockUsed::Router);
        }
    }
    (now, ClockUsed::Recorder)
}

pub fn router_summary(rec: &Recording, state: &State) -> Option<RouterSummary> {
    let r = state.router.as_ref()?;
    let h = r.health.clone().unwrap_or_default();
    let providers_seq = rec.seen.last_providers(state.seq);
    // States as of the poll that answered `/providers`, never aged past what it saw; ages also
    // as of the snapshot described.
    let answered = providers_seq.unwrap_or(state.seq);
    let (then, clock) = router_time_at(rec, answered);
    let (now, _) = router_time_at(rec, state.seq);
    let mut memory = CheckMemory::default();
    // Whether each check raised, and since which version: from every answer up to the one
    // shown (the state itself is as of that answer's time, below).
    let mut raised_at: BTreeMap<String, (Raised, Option<u64>)> = BTreeMap::new();
    if let Ok(versions) = rec.reader.router_versions() {
        for (seq, v) in versions.iter().filter(|(s, _)| *s <= answered) {
            let list = v.providers.as_deref().unwrap_or(&[]);
            for (p, (_, raised)) in list.iter().zip(memory.states(list, then)) {
                let since = match raised_at.get(&p.name) {
                    Some((was, Some(since))) if *was == raised => Some(*since),
                    _ => raised.raised().then_some(*seq),
                };
                raised_at.insert(p.name.clone(), (raised, since));
            }
        }
    }
    let router = &rec.clocks.router;
    Some(RouterSummary {
        fetch: outcome_of(rec, state.seq, &[SourceKind::RouterHealth], None),
        providers_fetch: outcome_of(rec, state.seq, &[SourceKind::RouterProviders], None),
        health_seen: rec
            .seen
            .last_health(state.seq)
            .map(|s| rec.observed(s, state.seq)),
        providers_seen: providers_seq.map(|s| rec.observed(s, state.seq)),
        status: h.status,
        version: h.version,
        providers_total: h.providers_total,
        providers_healthy: h.providers_healthy,
        regions: h.regions,
        providers: r
            .providers
            .iter()
            .flatten()
            .map(|p| {
                let (raised, since) = raised_at
                    .get(&p.name)
                    .copied()
                    .unwrap_or((Raised::No, None));
                let st = provider_state(p, then, raised.raised());
                let seen_at = |seq: u64| rec.info(seq).map_or(0, |i| i.started_at);
                ProviderOut {
                    name: p.name.clone(),
                    kind: p.kind.clone(),
                    region: p.region.clone(),
                    healthy: p.healthy,
                    state: st,
                    last_health_check: p.last_health_check.map(|t| Stamp(router.to_recorder(t))),
                    last_health_check_router: p
                        .last_health_check
                        .filter(|_| !router.agrees())
                        .map(Stamp),
                    age_seconds: p.last_health_check.map(|t| (now - t) as f64 / 1e6),
                    age_at_answer_seconds: p.last_health_check.map(|t| (then - t) as f64 / 1e6),
                    failing_since: match raised {
                        Raised::No => None,
                        Raised::AfterSuccess => since.map(|s| Stamp(seen_at(s))),
                        Raised::SinceRound(t) => Some(Stamp(
                            router.to_recorder(t).min(since.map_or(i64::MAX, seen_at)),
                        )),
                    },
                    last_check_found_healthy: (raised == Raised::AfterSuccess).then_some(true),
                    success_rate: p.success_rate,
                    avg_latency: p.avg_latency,
                }
            })
            .collect(),
        clock,
    })
}

pub fn show(rec: &Recording, seq: u64, job: Option<&str>) -> Result<ShowOut, ShowError> {
    let jobs = rec.select_jobs(job).map_err(ShowError::Job)?;
    let state = rec.state_at(seq, &jobs)?;
    Ok(ShowOut {
        snapshot: snapshot_ref(rec, seq),
        jobs: state
            .jobs
            .iter()
            .map(|js| job_summary(rec, &state, js))
            .collect(),
        router: router_summary(rec, &state),
    })
}
