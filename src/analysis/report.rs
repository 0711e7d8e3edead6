//! The state at one snapshot (`show`) and the postmortem over a whole recording (`report`),
//! with its findings: plain sentences derived from the data, most important first.

use super::failures::{self, Failures, ObservedFailure};
use super::matrix::{Coverage, coverage, router_regions};
use super::{JobState, Recording, State};
use crate::beacon::{Execution, ExpectedMatrix, ExtraRow, RouterRec, format_micros};
use crate::fetch::SourceKind;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Providers not checked for this long before the end of a recording are called stale.
pub const STALE_AFTER_SECS: i64 = 600;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SnapshotRef {
    pub seq: u64,
    pub taken_at: String,
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
    /// Rows on the page a person gets from `?include=executions`.
    pub rows: Option<u32>,
    /// Rows in the complete list at the same snapshot.
    pub complete_rows: usize,
    pub truncated: bool,
    /// Rows of the complete list that the default page did not show.
    pub hidden: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobSummary {
    pub job_id: String,
    /// `false` when the runner said 404 "job not found".
    pub found: bool,
    pub status: Option<String>,
    pub rows: usize,
    pub by_status: BTreeMap<String, usize>,
    pub expected: Expected,
    pub cells: Coverage,
    pub default_view: DefaultView,
    /// Outcome of this snapshot's complete-list fetch (`ok`, `http 503`, `timeout`, ...).
    pub list_fetch: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderOut {
    pub name: String,
    pub region: Option<String>,
    pub healthy: Option<bool>,
    pub last_health_check: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouterSummary {
    /// Outcome of this snapshot's `/health` fetch.
    pub fetch: Option<String>,
    pub status: Option<String>,
    pub providers_total: Option<i64>,
    pub providers_healthy: Option<i64>,
    pub regions: Vec<String>,
    pub providers: Vec<ProviderOut>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShowOut {
    pub snapshot: SnapshotRef,
    pub jobs: Vec<JobSummary>,
    pub router: Option<RouterSummary>,
}

pub fn snapshot_ref(rec: &Recording, seq: u64) -> SnapshotRef {
    SnapshotRef {
        seq,
        taken_at: rec
            .info(seq)
            .map_or_else(String::new, |i| format_micros(i.started_at)),
    }
}

fn outcome_of(rec: &Recording, seq: u64, kind: SourceKind, job: Option<u32>) -> Option<String> {
    let snap = &rec.snaps[rec.index_of(seq)?];
    let fs: Vec<_> = snap
        .fetches
        .iter()
        .filter(|f| f.source == kind as u8 && f.job == job)
        .collect();
    fs.iter()
        .find(|f| f.outcome().is_failure() || f.outcome().is_gap())
        .or(fs.first())
        .map(|f| f.outcome_word())
}

/// Outcome of the job's complete list in a snapshot: `/executions/all`, or the pages.
fn list_outcome(rec: &Recording, seq: u64, job: u32) -> Option<String> {
    list_outcome_in(&rec.snaps[rec.index_of(seq)?], job)
}

/// `ok`, or the first failure or unsent request, of the requests for a job's complete list in
/// one snapshot; `None` when the snapshot did not ask for it.
fn list_outcome_in(snap: &crate::store::schema::SnapshotRec, job: u32) -> Option<String> {
    let mut fs = snap
        .fetches
        .iter()
        .filter(|f| {
            f.job == Some(job) && SourceKind::from_u8(f.source).is_some_and(SourceKind::is_list)
        })
        .peekable();
    fs.peek()?;
    Some(
        match fs.find(|f| f.outcome().is_failure() || f.outcome().is_gap()) {
            Some(f) => f.outcome_word(),
            None => "ok".into(),
        },
    )
}

pub fn matrix_for(js: &JobState, router: Option<&RouterRec>) -> ExpectedMatrix {
    match js.rec.as_ref().and_then(|r| r.spec_json.as_deref()) {
        Some(spec) => ExpectedMatrix::from_spec(spec, router_regions(router).as_ref()),
        None => ExpectedMatrix::default(),
    }
}

pub fn job_summary(rec: &Recording, state: &State, js: &JobState) -> JobSummary {
    let m = matrix_for(js, state.router.as_ref());
    let mut by_status = BTreeMap::new();
    for r in js.rows() {
        *by_status.entry(r.exec.status.to_string()).or_default() += 1;
    }
    let total = js.row_count();
    let default_rows = js.rec.as_ref().and_then(|r| r.default_rows);
    let shown: BTreeSet<i64> = js
        .rec
        .as_ref()
        .map(|r| r.default_ids.iter().copied().collect())
        .unwrap_or_default();
    // Rows the page did not show: by id, plus every row kept beside the list.
    let hidden = js.execs.keys().filter(|id| !shown.contains(id)).count() + js.extras.len();
    JobSummary {
        job_id: js.job_id.clone(),
        found: js.rec.as_ref().is_none_or(|r| r.found),
        status: js.rec.as_ref().and_then(|r| r.status.clone()),
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
        cells: coverage(&m, js.rows()),
        default_view: DefaultView {
            rows: default_rows,
            complete_rows: total,
            truncated: default_rows.is_some_and(|d| (d as usize) < total),
            hidden: if default_rows.is_some() { hidden } else { 0 },
        },
        list_fetch: list_outcome(rec, state.seq, js.index),
    }
}

pub fn router_summary(rec: &Recording, state: &State) -> Option<RouterSummary> {
    let r = state.router.as_ref()?;
    let h = r.health.clone().unwrap_or_default();
    Some(RouterSummary {
        fetch: outcome_of(rec, state.seq, SourceKind::RouterHealth, None),
        status: h.status,
        providers_total: h.providers_total,
        providers_healthy: h.providers_healthy,
        regions: h.regions,
        providers: r
            .providers
            .iter()
            .flatten()
            .map(|p| ProviderOut {
                name: p.name.clone(),
                region: p.region.clone(),
                healthy: p.healthy,
                last_health_check: p.last_health_check.map(format_micros),
            })
            .collect(),
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

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error("{0}")]
    Job(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Select(#[from] super::SelectError),
}

// ---------------------------------------------------------------------------------------
// The whole-recording report.

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowsAt {
    pub seq: u64,
    pub taken_at: String,
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Vanished {
    pub id: i64,
    pub seq: u64,
    pub taken_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Growth {
    pub first_row_seq: Option<u64>,
    pub first_row_at: Option<String>,
    /// The last snapshot at which the row count went up.
    pub last_new_row_seq: Option<u64>,
    pub last_new_row_at: Option<String>,
    pub max_rows: usize,
    pub vanished: Vec<Vanished>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusChange {
    pub seq: u64,
    pub at: String,
    pub status: Option<String>,
}

/// An id the runner sent more than once in one body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RepeatedId {
    pub id: i64,
    /// Rows with this id at the last snapshot.
    pub rows: usize,
}

/// Rows kept beside the by-id list at the last snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ExtraSummary {
    pub repeated_ids: Vec<RepeatedId>,
    pub without_id: usize,
}

/// Rows dated later than the recorder's clock said it was when it saw them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClockSkew {
    /// How far the latest timestamp of the row ran ahead of the end of the poll that saw it.
    pub ahead_seconds: f64,
    pub execution_id: i64,
    pub seq: u64,
}

/// Rows may be dated this far after the poll that saw them before it counts as clock skew
/// (the runner's timestamps are truncated, never rounded up, so a few seconds is generous).
pub const SKEW_TOLERANCE_SECS: i64 = 5;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobReport {
    #[serde(flatten)]
    pub summary: JobSummary,
    pub status_history: Vec<StatusChange>,
    pub rows_over_time: Vec<RowsAt>,
    pub growth: Growth,
    /// The largest truncation of the default view seen: (shown, complete).
    pub max_truncation: Option<(u32, usize)>,
    pub failures: Failures,
    pub extra_rows: ExtraSummary,
    pub clock_skew: Option<ClockSkew>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouterPoint {
    pub seq: u64,
    pub taken_at: String,
    pub providers_healthy: Option<i64>,
    pub providers_total: Option<i64>,
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Transition {
    pub seq: u64,
    pub at: String,
    pub what: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StaleProvider {
    pub name: String,
    pub region: Option<String>,
    pub last_health_check: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RouterReport {
    pub recorded: bool,
    pub series: Vec<RouterPoint>,
    pub transitions: Vec<Transition>,
    pub stale_providers: Vec<StaleProvider>,
    /// Failed rows with router/provider errors, first seen failed while the router reported
    /// every provider healthy.
    pub failed_while_all_healthy: usize,
    pub all_healthy_throughout: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outage {
    pub source: String,
    pub job: Option<String>,
    pub from: String,
    pub to: String,
    pub from_seq: u64,
    pub to_seq: u64,
    pub snapshots: usize,
    /// The first snapshot after the window whose fetch succeeded.
    pub recovered_at: Option<String>,
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct FetchReport {
    /// Windows in which a source failed (`Outcome::is_failure`).
    pub outages: Vec<Outage>,
    /// Windows in which the recorder did not send a source's requests (its budget, or a 429's
    /// wait): gaps in the recording, not failures of the source.
    pub gaps: Vec<Outage>,
    pub requests: usize,
    pub failed_requests: usize,
    pub unsent_requests: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionOut {
    pub started_at: String,
    pub first_seq: u64,
    pub runner: Option<String>,
    pub router: Option<String>,
    pub jobs: Vec<String>,
    pub interval_ms: u64,
    pub label: Option<String>,
    pub tool_version: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordingInfo {
    pub snapshots: usize,
    pub first: Option<SnapshotRef>,
    pub last: Option<SnapshotRef>,
    pub span_seconds: f64,
    pub sessions: Vec<SessionOut>,
    pub reported_by: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub findings: Vec<String>,
    pub jobs: Vec<JobReport>,
    pub router: RouterReport,
    pub fetch: FetchReport,
    pub recording: RecordingInfo,
}

/// Seqs at which the complete list of `job` was fetched successfully.
fn list_ok_seqs(rec: &Recording, job: u32) -> Vec<u64> {
    rec.infos
        .iter()
        .zip(&rec.snaps)
        .filter(|(_, s)| list_outcome_in(s, job).as_deref() == Some("ok"))
        .map(|(i, _)| i.seq)
        .collect()
}

/// Rows by status at every snapshot, from the version history (one sweep, no per-snapshot
/// state rebuild).
pub fn status_series(
    rec: &Recording,
    versions: &[(i64, u64, Option<Execution>)],
    extras: &[(u64, Vec<ExtraRow>)],
) -> Vec<BTreeMap<String, usize>> {
    // (seq, status, +1/-1)
    let mut deltas: Vec<(u64, &str, i64)> = Vec::new();
    let mut before: &[ExtraRow] = &[];
    for (seq, now) in extras {
        deltas.extend(before.iter().map(|x| (*seq, x.exec.status.as_str(), -1)));
        deltas.extend(now.iter().map(|x| (*seq, x.exec.status.as_str(), 1)));
        before = now;
    }
    let mut prev: Option<(i64, Option<&str>)> = None;
    for (id, seq, e) in versions {
        let before = match prev {
            Some((pid, st)) if pid == *id => st,
            _ => None,
        };
        let now = e.as_ref().map(|e| e.status.as_str());
        if let Some(b) = before {
            deltas.push((*seq, b, -1));
        }
        if let Some(n) = now {
            deltas.push((*seq, n, 1));
        }
        prev = Some((*id, now));
    }
    deltas.sort_by_key(|d| d.0);
    let mut out = Vec::with_capacity(rec.infos.len());
    let mut cur: BTreeMap<String, i64> = BTreeMap::new();
    let mut i = 0;
    for info in &rec.infos {
        while i < deltas.len() && deltas[i].0 <= info.seq {
            *cur.entry(deltas[i].1.to_string()).or_default() += deltas[i].2;
            i += 1;
        }
        out.push(
            cur.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k.clone(), *n as usize))
                .collect(),
        );
    }
    out
}

fn observed_failures(
    rec: &Recording,
    versions: &[(i64, u64, Option<Execution>)],
    ok_seqs: &[u64],
) -> Vec<ObservedFailure> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < versions.len() {
        let id = versions[i].0;
        let mut j = i;
        while j < versions.len() && versions[j].0 == id {
            j += 1;
        }
        // The first version of this row that is failed (after a non-failed one or none).
        let vs = &versions[i..j];
        if let Some(k) = vs
            .iter()
            .position(|(_, _, e)| e.as_ref().is_some_and(|e| e.is_failed()))
        {
            let failed_seq = vs[k].1;
            let idx = ok_seqs.partition_point(|&s| s < failed_seq);
            let not_failed_seq = idx.checked_sub(1).map(|p| ok_seqs[p]);
            out.push(ObservedFailure {
                id,
                not_failed_seq,
                not_failed_at: not_failed_seq
                    .and_then(|s| rec.info(s))
                    .map(|i| format_micros(i.started_at)),
                failed_seq,
                failed_at: rec
                    .info(failed_seq)
                    .map_or_else(String::new, |i| format_micros(i.started_at)),
            });
        }
        i = j;
    }
    out
}

fn job_report(rec: &Recording, last: &State, js: &JobState) -> Result<JobReport, StoreError> {
    let summary = job_summary(rec, last, js);
    let versions = rec.reader.exec_versions(js.index)?;
    let extras = rec.reader.extras_versions(js.index)?;
    let series = status_series(rec, &versions, &extras);
    let rows_over_time: Vec<RowsAt> = rec
        .infos
        .iter()
        .zip(&series)
        .map(|(i, by)| RowsAt {
            seq: i.seq,
            taken_at: format_micros(i.started_at),
            rows: by.values().sum(),
        })
        .collect();
    let mut growth = Growth::default();
    let mut prev_rows = 0;
    for r in &rows_over_time {
        if r.rows > 0 && growth.first_row_seq.is_none() {
            growth.first_row_seq = Some(r.seq);
            growth.first_row_at = Some(r.taken_at.clone());
        }
        if r.rows > prev_rows {
            growth.last_new_row_seq = Some(r.seq);
            growth.last_new_row_at = Some(r.taken_at.clone());
        }
        growth.max_rows = growth.max_rows.max(r.rows);
        prev_rows = r.rows;
    }
    growth.vanished = versions
        .iter()
        .filter(|(_, _, e)| e.is_none())
        .map(|(id, seq, _)| Vanished {
            id: *id,
            seq: *seq,
            taken_at: rec
                .info(*seq)
                .map_or_else(String::new, |i| format_micros(i.started_at)),
        })
        .collect();
    let ok_seqs = list_ok_seqs(rec, js.index);
    let observed = observed_failures(rec, &versions, &ok_seqs);
    // Job status history and the largest truncation over time.
    let jv = rec.reader.job_versions(js.index)?;
    let mut status_history: Vec<StatusChange> = Vec::new();
    for (seq, r) in &jv {
        let st = if r.found {
            r.status.clone()
        } else {
            Some("not found".into())
        };
        if status_history.last().is_none_or(|l| l.status != st) {
            status_history.push(StatusChange {
                seq: *seq,
                at: rec
                    .info(*seq)
                    .map_or_else(String::new, |i| format_micros(i.started_at)),
                status: st,
            });
        }
    }
    let mut max_truncation: Option<(u32, usize)> = None;
    for (k, info) in rec.infos.iter().enumerate() {
        let Some(view) = jv
            .iter()
            .rev()
            .find(|(s, _)| *s <= info.seq)
            .map(|(_, r)| r)
        else {
            continue;
        };
        let complete: usize = series[k].values().sum();
        if let Some(d) = view.default_rows
            && (d as usize) < complete
            && max_truncation.is_none_or(|(_, c)| complete - (d as usize) > c - (d as usize))
        {
            max_truncation = Some((d, complete));
        }
    }
    let mut extra_rows = ExtraSummary::default();
    let mut repeated: BTreeMap<i64, usize> = BTreeMap::new();
    for x in &js.extras {
        match x.id() {
            Some(id) => *repeated.entry(id).or_insert(1) += 1,
            None => extra_rows.without_id += 1,
        }
    }
    extra_rows.repeated_ids = repeated
        .into_iter()
        .map(|(id, rows)| RepeatedId { id, rows })
        .collect();
    extra_rows
        .repeated_ids
        .sort_by(|a, b| b.rows.cmp(&a.rows).then(a.id.cmp(&b.id)));
    Ok(JobReport {
        clock_skew: clock_skew(rec, &versions),
        extra_rows,
        failures: failures::analyse(js.rows().map(|r| r.exec), observed),
        summary,
        status_history,
        rows_over_time,
        growth,
        max_truncation,
    })
}

/// The furthest any row's own timestamps ran ahead of the recorder's clock, over every stored
/// version, when more than `SKEW_TOLERANCE_SECS`.
fn clock_skew(rec: &Recording, versions: &[(i64, u64, Option<Execution>)]) -> Option<ClockSkew> {
    let mut worst: Option<ClockSkew> = None;
    for (id, seq, e) in versions {
        let (Some(e), Some(info)) = (e, rec.info(*seq)) else {
            continue;
        };
        let latest = [e.created_at, e.started_at, e.completed_at, e.last_retry_at]
            .into_iter()
            .flatten()
            .max();
        let Some(t) = latest else { continue };
        let ahead = t - info.ended_at;
        if ahead > SKEW_TOLERANCE_SECS * 1_000_000
            && worst
                .as_ref()
                .is_none_or(|w| ahead as f64 / 1e6 > w.ahead_seconds)
        {
            worst = Some(ClockSkew {
                ahead_seconds: ahead as f64 / 1e6,
                execution_id: *id,
                seq: *seq,
            });
        }
    }
    worst
}

/// `75` -> `1m 15s`.
pub fn human_secs(s: f64) -> String {
    let s = s.round() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn report(rec: &Recording, job: Option<&str>) -> Result<Report, ShowError> {
    let jobs = rec.select_jobs(job).map_err(ShowError::Job)?;
    let last_seq = rec.infos.last().map_or(0, |i| i.seq);
    let last = rec.state_at(last_seq, &jobs)?;
    let mut reports = Vec::new();
    for js in &last.jobs {
        reports.push(job_report(rec, &last, js)?);
    }
    let finals: Vec<&JobState> = last.jobs.iter().collect();
    let router = super::health::router_report(rec, &reports, &finals)?;
    let fetch = super::health::fetch_report(rec);
    let findings = super::findings::findings(&reports, &router, &fetch, rec);
    let recording = RecordingInfo {
        snapshots: rec.infos.len(),
        first: rec.infos.first().map(|i| snapshot_ref(rec, i.seq)),
        last: rec.infos.last().map(|i| snapshot_ref(rec, i.seq)),
        span_seconds: match (rec.infos.first(), rec.infos.last()) {
            (Some(a), Some(b)) => (b.started_at - a.started_at) as f64 / 1e6,
            _ => 0.0,
        },
        sessions: rec
            .sessions
            .iter()
            .map(|s| SessionOut {
                started_at: format_micros(s.started_at),
                first_seq: s.first_seq,
                runner: s.runner.clone(),
                router: s.router.clone(),
                jobs: s.jobs.clone(),
                interval_ms: s.interval_ms,
                label: s.label.clone(),
                tool_version: s.tool_version.clone(),
            })
            .collect(),
        reported_by: format!("beacon-blackbox {}", env!("CARGO_PKG_VERSION")),
    };
    Ok(Report {
        findings,
        jobs: reports,
        router,
        fetch,
        recording,
    })
}
