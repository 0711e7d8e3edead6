//! The postmortem over a whole recording: it only assembles what the other rooms compute (the
//! jobs, the router, the requests, the findings) and says how the recording was made.

use super::fetches::{FetchReport, fetch_report};
use super::findings::{Finding, findings};
use super::job::{JobReport, job_report};
use super::recording::Recording;
use super::router::{RouterReport, router_report};
use super::summary::{ShowError, SnapshotRef, snapshot_ref};
use super::values::Stamp;
use serde::Serialize;

/// How a session's snapshots were made.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Made {
    /// Polled by `record`.
    Recorded,
    /// Captures brought in by `import`: `origin` says from where.
    Imported,
    /// Written through the library with no runner, router or polling (`examples/synth`).
    Synthetic,
}

impl Made {
    fn of(s: &crate::store::schema::SessionRec) -> Made {
        if !s.origin.is_empty() {
            Made::Imported
        } else if s.runner.is_none()
            && s.router.is_none()
            && s.endpoints.is_empty()
            && s.interval_ms == 0
        {
            Made::Synthetic
        } else {
            Made::Recorded
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionOut {
    pub made: Made,
    pub started_at: Stamp,
    pub first_seq: u64,
    pub runner: Option<String>,
    pub router: Option<String>,
    pub jobs: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub max_runner_rpm: u32,
    pub label: Option<String>,
    pub tool_version: String,
    pub all_jobs: bool,
    /// `--endpoint`s: (name, URL).
    pub endpoints: Vec<(String, String)>,
    pub retain_seconds: Option<f64>,
    pub max_size: Option<u64>,
    /// For an import: each capture and how its time was decided.
    pub origin: Vec<String>,
}

/// A range of snapshots removed by retention.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pruned {
    pub from_seq: u64,
    pub to_seq: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordingInfo {
    /// The recording's id, as in the exports and the fleet copy (`None`: a file from before
    /// ids).
    pub recording_id: Option<String>,
    pub snapshots: usize,
    pub first: Option<SnapshotRef>,
    pub last: Option<SnapshotRef>,
    pub span_seconds: f64,
    pub sessions: Vec<SessionOut>,
    /// Notes, in time order.
    pub notes: Vec<super::recording::Note>,
    /// Snapshots removed by retention: the recording's window starts at `first`, and these
    /// ranges inside it are gone too (all but marked windows).
    pub pruned: Vec<Pruned>,
    pub reported_by: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Each finding's first snapshot as judged while recording (`judge::first_seen`); the
    /// JSON puts it in each finding as `first_seen`.
    #[serde(skip)]
    pub first_seen: Vec<Option<Seen>>,
    pub jobs: Vec<JobReport>,
    pub router: RouterReport,
    pub fetch: FetchReport,
    /// The extra endpoints: how they answered, queues, stuck jobs, the router's checks.
    pub endpoints: super::endpoints::EndpointsReport,
    pub recording: RecordingInfo,
}

/// When the recording first showed a finding, as judged while recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Seen {
    pub seq: u64,
    pub at: super::values::Stamp,
}

/// The report without `first_seen` (`analysis::report` adds it from the judge).
pub fn build(rec: &Recording, job: Option<&str>) -> Result<Report, ShowError> {
    let jobs = rec.select_jobs(job).map_err(ShowError::Job)?;
    let last_seq = rec.infos.last().map_or(0, |i| i.seq);
    let last = rec.state_at(last_seq, &jobs)?;
    let mut reports = Vec::new();
    for js in &last.jobs {
        reports.push(job_report(rec, &last, js)?);
    }
    let failures: Vec<_> = reports
        .iter()
        .zip(&last.jobs)
        .map(|(r, js)| (&r.history.failures, js))
        .collect();
    let mut router = router_report(rec, &failures)?;
    let fetch = fetch_report(rec);
    let endpoints = super::endpoints::report(rec)?;
    super::router::queue_restarts(&mut router, &endpoints);
    for r in &mut reports {
        r.answer.incident = super::answer::incident(
            &r.summary.job_id,
            &r.summary.expected.regions,
            &fetch,
            &router,
        );
    }
    let mut findings = findings(&reports, &router, &fetch, rec);
    if let Some(st) = &endpoints.stuck_jobs
        && st.max_count > 0
    {
        findings.push(Finding::StuckJobs {
            max_count: st.max_count,
            jobs: st.jobs.clone(),
            first_seen: st.first_seen,
            last_seen: st.last_seen,
        });
    }
    let recording = RecordingInfo {
        recording_id: rec.id.clone(),
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
                made: Made::of(s),
                started_at: Stamp(s.started_at),
                first_seq: s.first_seq,
                runner: s.runner.clone(),
                router: s.router.clone(),
                jobs: s.jobs.clone(),
                interval_ms: s.interval_ms,
                timeout_ms: s.timeout_ms,
                max_runner_rpm: s.max_runner_rpm,
                label: s.label.clone(),
                tool_version: s.tool_version.clone(),
                all_jobs: s.all_jobs,
                endpoints: s.endpoints.clone(),
                retain_seconds: s.retain_us.map(|u| u as f64 / 1e6),
                max_size: s.max_size,
                origin: s.origin.clone(),
            })
            .collect(),
        notes: rec.notes.clone(),
        pruned: rec
            .pruned
            .iter()
            .map(|&(from_seq, to_seq)| Pruned { from_seq, to_seq })
            .collect(),
        reported_by: format!("beacon-blackbox {}", env!("CARGO_PKG_VERSION")),
    };
    Ok(Report {
        findings,
        first_seen: Vec::new(),
        jobs: reports,
        router,
        fetch,
        endpoints,
        recording,
    })
}
