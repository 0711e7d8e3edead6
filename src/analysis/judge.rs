//! One judge, live and after: which of the report's findings hold at the recording's last
//! snapshot, and under what key. While recording, the report is run on the recording so far
//! after every committed snapshot and each key that begins or ends holding is kept as a row of
//! the findings table (`record::live`); afterwards the report reads each finding's first
//! snapshot back from those rows. Nothing here judges anything the report does not: it only
//! says of each of the report's findings whether it holds *now* and whether it is a problem.
//!
//! - A job's findings hold while the job has not finished, and at the snapshot it was first
//!   seen finished (so that "it ended with 2 cells missing" is said once, then ends): a
//!   finished job's view stays cut and its rows stay failed forever, and nothing about it is
//!   still happening.
//! - A finding over a window (a source failing, a provider's state, a count) holds while the
//!   window reaches the last answer of its source: as seen, when seen, a source not answered
//!   leaves it as it was.
//! - An event (a restart, a rate that dropped) holds at the snapshot that showed it only.
//! - A problem is what someone on call acts on; the rest (the coverage when nothing is missing,
//!   the job's status, healthy throughout with nothing failed, the recorder's own gaps) only
//!   confirms. Both are kept; only problems are said and counted in `/metrics`.

use super::findings::Finding;
use super::recording::Recording;
use super::report::Report;
use serde::Serialize;

/// How long a job's complete list may go without a new row, with cells missing and the job
/// still running, before the missing cells are a problem rather than "not yet".
pub const STALLED_AFTER_SECS: f64 = 900.0;

/// What a finding is about. A finding about several sources or providers has one key per
/// source or provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Key {
    pub kind: &'static str,
    pub job: Option<String>,
    /// A source as people name it (`runner.executions_all`, `endpoint worker`), or the server
    /// a clock belongs to (`runner`, `router`).
    pub source: Option<String>,
    pub provider: Option<String>,
    /// What tells two findings of one kind and subject apart: a provider's state.
    pub detail: Option<String>,
    /// A problem, or only a confirmation (the same finding can be either, e.g. the coverage
    /// of a job that ended with cells missing): each is its own key.
    pub problem: bool,
}

/// One of the report's findings under one key, and whether it holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// Index into `Report::findings`.
    pub finding: usize,
    pub key: Key,
    pub holds: bool,
}

/// Every finding of `report` (the report of `rec`) under its keys, with whether it holds at
/// `rec`'s last snapshot.
pub fn judge(report: &Report, rec: &Recording) -> Vec<Judged> {
    let last = rec.infos.last().map_or(0, |i| i.seq);
    let mut out = Vec::new();
    for (i, f) in report.findings.iter().enumerate() {
        let holds = holds(f, report, rec, last);
        let problem = is_problem(f, report);
        for (source, provider, detail) in subjects(f, rec) {
            out.push(Judged {
                finding: i,
                key: Key {
                    kind: f.kind(),
                    job: f.job().map(str::to_string),
                    source,
                    provider,
                    detail,
                    problem,
                },
                holds,
            });
        }
    }
    out
}

type Subject = (Option<String>, Option<String>, Option<String>);

/// The sources, providers and details a finding is about (one entry when none).
fn subjects(f: &Finding, _rec: &Recording) -> Vec<Subject> {
    use Finding::*;
    match f {
        FetchOutage {
            sources, endpoint, ..
        } => match endpoint {
            Some(name) => vec![(Some(format!("endpoint {name}")), None, None)],
            None => sources
                .iter()
                .map(|s| (Some(s.to_string()), None, None))
                .collect(),
        },
        RecorderGap { source, .. } => vec![(Some(source.to_string()), None, None)],
        ClockSkew { job: None, clock } => {
            vec![(Some(clock.server.name().to_string()), None, None)]
        }
        ProviderState {
            providers, state, ..
        } => providers
            .iter()
            .map(|(p, _)| (None, Some(p.clone()), Some(state.word().to_string())))
            .collect(),
        ProviderRate { rate } => vec![(None, Some(rate.provider.clone()), None)],
        _ => vec![(None, None, None)],
    }
}

/// Whether someone on call acts on it (else it only confirms or describes).
pub fn is_problem(f: &Finding, report: &Report) -> bool {
    use Finding::*;
    match f {
        EmptyRecording | NoSpec { .. } | MatrixCounted { .. } => false,
        Coverage {
            missing,
            duplicated_cells,
            repeated_rows,
            active,
            ..
        } => *duplicated_cells > 0 || *repeated_rows > 0 || (*missing > 0 && active.is_none()),
        MissingCells { active, .. } => active.is_none() || stalled(f, report),
        // The failures are one problem, said by their signature; the rest describe it.
        ExactDuration { .. } | FailureSpan { .. } => false,
        StatusChanged { .. } | StatusStayed { .. } | RouterChanges { .. } | RecorderGap { .. } => {
            false
        }
        RouterAllHealthy { failed_rows, .. } => *failed_rows > 0,
        ProviderState { state, .. } => state.is_unhealthy() || state.is_risky(),
        _ => true,
    }
}

/// Cells missing from a job still running whose complete list has had no new row for
/// `STALLED_AFTER_SECS` (as of its last list).
fn stalled(f: &Finding, report: &Report) -> bool {
    let Finding::MissingCells {
        job,
        rows_stopped_at,
        as_of,
        ..
    } = f
    else {
        return false;
    };
    let first_list = report
        .jobs
        .iter()
        .find(|j| j.summary.job_id == *job)
        .and_then(|j| j.history.rows_over_time.first().map(|r| r.taken_at));
    // No row at all yet: counted from the first list that had none.
    let since = rows_stopped_at.or(first_list);
    since.is_some_and(|s| (as_of.0 - s.0) as f64 / 1e6 >= STALLED_AFTER_SECS)
}

/// Whether a finding holds at snapshot `last` (the report's last).
fn holds(f: &Finding, report: &Report, rec: &Recording, last: u64) -> bool {
    use Finding::*;
    if let Some(job) = f.job()
        && !job_going(job, report, last)
        && !matches!(
            f,
            JobNotFound { .. } | FetchOutage { .. } | RecorderGap { .. }
        )
    {
        return false;
    }
    let providers_seen = rec.seen.last_providers(last);
    let health_seen = rec.seen.last_health(last);
    match f {
        EmptyRecording => false,
        DefaultViewTruncated { job, .. } => report
            .jobs
            .iter()
            .find(|j| j.summary.job_id == *job)
            .and_then(|j| j.history.last_compared)
            .is_some_and(|t| t.truncated()),
        FetchOutage { recovered_at, .. } => recovered_at.is_none(),
        RecorderGap { to_seq, .. } => *to_seq == last,
        HealthyWithNone { window, .. } => Some(window.to_seq) == health_seen,
        HealthDisagrees { .. } => report
            .router
            .disagreements
            .last()
            .is_some_and(|d| Some(d.seq) == providers_seen && Some(d.seq) == health_seen),
        ProviderState { to_seq, .. } => Some(*to_seq) == providers_seen,
        ProviderRate { rate } => Some(rate.seq) == providers_seen,
        RouterRestart { restart } => restart.seq == last,
        RowProblems { .. } => rec
            .snaps
            .last()
            .is_some_and(|s| s.fetches.iter().any(|f| f.problems_total > 0)),
        StuckJobs { last_seen, .. } => report
            .endpoints
            .stuck_jobs
            .as_ref()
            .and_then(|s| s.last_answer)
            .is_some_and(|a| Some(a) == *last_seen),
        _ => true,
    }
}

/// A job not finished at `last`, or first seen finished at `last`.
fn job_going(job: &str, report: &Report, last: u64) -> bool {
    let Some(j) = report.jobs.iter().find(|j| j.summary.job_id == job) else {
        return true;
    };
    if j.summary.so_far() {
        return true;
    }
    // Finished: the snapshot that first said so (the last change of status).
    j.history
        .status_history
        .last()
        .is_some_and(|c| c.seq == last)
}

pub use super::report::Seen;

/// The snapshots a finding over a window covers (its own occurrence among others of its key).
pub fn span(f: &Finding) -> Option<(u64, u64)> {
    use Finding::*;
    match f {
        FetchOutage {
            from_seq, to_seq, ..
        }
        | RecorderGap {
            from_seq, to_seq, ..
        }
        | ProviderState {
            from_seq, to_seq, ..
        } => Some((*from_seq, *to_seq)),
        HealthyWithNone { window, .. } => Some((window.from_seq, window.to_seq)),
        RouterRestart { restart } => Some((restart.seq, restart.seq)),
        ProviderRate { rate } => Some((rate.seq, rate.seq)),
        _ => None,
    }
}

/// Each finding's first snapshot as judged while recording (`record::live`'s rows): the
/// first row of its key, or for a finding over a window the first that began within it.
/// `None` when the recording was not judged then (`--no-live-findings`, an import, a file
/// from before the findings table) or no row of it began there.
pub fn first_seen(report: &Report, rec: &Recording) -> Vec<Option<Seen>> {
    let mut out = vec![None; report.findings.len()];
    if rec.findings.is_empty() {
        return out;
    }
    for j in judge(report, rec) {
        let f = &report.findings[j.finding];
        let span = span(f);
        let k = &j.key;
        let row = rec
            .findings
            .iter()
            .map(|(_, r)| r)
            .filter(|r| {
                r.kind == k.kind
                    && r.job == k.job
                    && r.source == k.source
                    && r.provider == k.provider
                    && r.detail == k.detail
                    && r.problem == k.problem
            })
            .filter(|r| span.is_none_or(|(a, b)| (a..=b).contains(&r.began_seq)))
            .min_by_key(|r| r.began_seq);
        if let Some(r) = row {
            let seen = Seen {
                seq: r.began_seq,
                at: super::values::Stamp(r.began_at),
            };
            let slot = &mut out[j.finding];
            if slot.is_none_or(|s: Seen| s.seq > seen.seq) {
                *slot = Some(seen);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's name is the `kind` its JSON carries.
    #[test]
    fn kind_names_are_the_json_tags() {
        let f = Finding::JobNotFound { job: "j".into() };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["kind"], f.kind());
        assert_eq!(Finding::EmptyRecording.kind(), "empty_recording");
        for k in crate::analysis::findings::KINDS {
            assert!(k.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{k}");
        }
    }
}
