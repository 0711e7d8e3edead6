//! Findings: what the data shows, most important first, for the top of a postmortem. Each is a
//! value of a closed set with typed fields; the CLI turns it into a sentence (and JSON keeps
//! that sentence as `message` beside the fields). Nothing here is specific to a scenario, and
//! no list is cut: a renderer that shortens one says how many more there are.

use super::clocks::{ClockSummary, Server};
use super::fetches::{FetchReport, Outage};
use super::history::RepeatedId;
use super::matrix::Cell;
use super::recording::Recording;
use super::router::{
    ClockUsed, Disagreement, HealthyWithNone, ProviderRate, ProviderState, Restart, RouterReport,
    Transition,
};
use super::values::{FetchKind, Stamp};
use crate::analysis::failures::SigKey;
use serde::Serialize;
use std::collections::BTreeSet;

/// The first row problem of a recording, as an example.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProblemExample {
    pub seq: u64,
    pub source: &'static str,
    pub index: u32,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    EmptyRecording,
    JobNotFound {
        job: String,
    },
    /// The default view against the complete list fetched in the same poll, at its most
    /// truncated (and, when earlier, where it first was).
    DefaultViewTruncated {
        job: String,
        shown: u32,
        complete: usize,
        page_size: u32,
        seq: u64,
        at: Stamp,
        first: Option<super::seen::ViewAndList>,
        /// Polls that fetched both (the others are not compared).
        compared_polls: usize,
    },
    Coverage {
        job: String,
        expected: u64,
        declared: Option<u64>,
        covered: usize,
        missing: u64,
        duplicated_cells: usize,
        /// Runs beyond the first of each duplicated cell, by distinct execution id.
        extra_runs: usize,
        /// Rows repeating an id within their cell (one execution sent twice).
        repeated_rows: usize,
        rows: usize,
        /// The job's status when not a final one: `missing` are cells without a row so far.
        active: Option<String>,
    },
    NoSpec {
        job: String,
        rows: usize,
    },
    MatrixCounted {
        job: String,
        cells: u64,
        cap: u64,
    },
    UnplannedRegions {
        job: String,
        regions: Vec<String>,
    },
    /// No complete list was read, only the default view (an import of what a person saw):
    /// the cells without a row seen are unknown.
    OnlyDefaultView {
        job: String,
        visible: usize,
        page_size: u32,
        /// The view is full: rows beyond it cannot be seen.
        may_be_cut: bool,
        expected: u64,
        covered: usize,
        unknown: u64,
    },
    MissingCells {
        job: String,
        count: u64,
        /// Every missing cell when the matrix is listed (else empty).
        cells: Vec<Cell>,
        rows_stopped_seq: Option<u64>,
        rows_stopped_at: Option<Stamp>,
        /// The job's status at the end when it had not finished: the cells have no row *so
        /// far*, as of `as_of`.
        active: Option<String>,
        as_of: Stamp,
    },
    UnexpectedRows {
        job: String,
        count: usize,
        reasons: Vec<String>,
    },
    RowsWithoutCell {
        job: String,
        count: usize,
        reasons: Vec<String>,
    },
    RepeatedIds {
        job: String,
        ids: Vec<RepeatedId>,
    },
    RowsWithoutId {
        job: String,
        count: usize,
    },
    /// A server's clock disagrees with the recorder's: measured from its answers (`job` is
    /// `None`), or for the runner without any answer's clock, bounded by a job's rows.
    ClockSkew {
        job: Option<String>,
        #[serde(flatten)]
        clock: ClockSummary,
    },
    FailureSignature {
        job: String,
        failed: usize,
        rows: usize,
        count: usize,
        key: SigKey,
        error_text: Option<String>,
        signatures: usize,
    },
    ExactDuration {
        job: String,
        seconds: i64,
        count: usize,
        failed: usize,
        /// The rows themselves name a timeout (error code or stage).
        timeout_named: bool,
    },
    NearInstantFailures {
        job: String,
        ids: Vec<i64>,
    },
    FailureSpan {
        job: String,
        first: Stamp,
        last: Stamp,
        spread_seconds: f64,
        clusters: usize,
        seen_first: Option<Stamp>,
        seen_last: Option<Stamp>,
        /// `first` and `last` are on the recorder's clock; when the runner's disagreed (the
        /// skew finding), that clock and the rows' own stamps.
        runner_clock: Option<ClockSummary>,
        first_runner: Option<Stamp>,
        last_runner: Option<Stamp>,
    },
    VanishedRows {
        job: String,
        ids: Vec<i64>,
    },
    StatusChanged {
        job: String,
        chain: Vec<Option<String>>,
    },
    StatusStayed {
        job: String,
        status: Option<String>,
        /// The status is not a final one: it has stayed so *so far*.
        active: bool,
    },
    /// Every poll whose `/health` answered said every provider was healthy.
    RouterAllHealthy {
        /// The healthy count of the last answer.
        healthy: i64,
        /// Each distinct (healthy, total) it gave, in order.
        counts: Vec<(Option<i64>, Option<i64>)>,
        /// Polls whose `/health` answered, of all.
        polls_seen: usize,
        polls: usize,
        failed_rows: usize,
    },
    FailedWhileAllHealthy {
        rows: usize,
    },
    RouterChanges {
        changes: Vec<Transition>,
    },
    HealthyWithNone {
        #[serde(flatten)]
        window: HealthyWithNone,
        throughout: bool,
    },
    HealthDisagrees {
        first: Disagreement,
        polls: usize,
    },
    /// Providers in a risky state over the same snapshots.
    ProviderState {
        /// (name, region) of each provider, in name order.
        providers: Vec<(String, Option<String>)>,
        state: ProviderState,
        from: Stamp,
        to: Stamp,
        from_seq: u64,
        to_seq: u64,
        snapshots: usize,
        throughout: bool,
        /// The last completed check (for checks failing since a completed one: that check),
        /// on the recorder's clock.
        last_check: Option<Stamp>,
        age_seconds: Option<f64>,
        clock: ClockUsed,
        /// For checks failing since a completed one: since at least when, and what that check
        /// found when the recorder saw it (`None`: it was before the recording).
        failing_since: Option<Stamp>,
        last_check_found_healthy: Option<bool>,
    },
    ProviderRate {
        #[serde(flatten)]
        rate: ProviderRate,
    },
    RouterRestart {
        #[serde(flatten)]
        restart: Restart,
    },
    RowProblems {
        rows: u64,
        bodies: usize,
        first: ProblemExample,
    },
    FetchOutage {
        sources: Vec<&'static str>,
        job: Option<String>,
        /// For an `--endpoint`: its name.
        #[serde(skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        from: Stamp,
        to: Stamp,
        from_seq: u64,
        to_seq: u64,
        snapshots: usize,
        kinds: Vec<FetchKind>,
        recovered_at: Option<Stamp>,
    },
    /// The runner's `/admin/stuck-jobs` named jobs processing for too long.
    StuckJobs {
        max_count: u64,
        jobs: Vec<String>,
        first_seen: Option<Stamp>,
        last_seen: Option<Stamp>,
    },
    RecorderGap {
        source: &'static str,
        job: Option<String>,
        from: Stamp,
        to: Stamp,
        from_seq: u64,
        to_seq: u64,
        snapshots: usize,
        kinds: Vec<FetchKind>,
    },
}

/// Every finding's `kind`, as its JSON and metrics name it.
pub const KINDS: [&str; 33] = [
    "empty_recording",
    "job_not_found",
    "default_view_truncated",
    "coverage",
    "no_spec",
    "matrix_counted",
    "unplanned_regions",
    "only_default_view",
    "missing_cells",
    "unexpected_rows",
    "rows_without_cell",
    "repeated_ids",
    "rows_without_id",
    "clock_skew",
    "failure_signature",
    "exact_duration",
    "near_instant_failures",
    "failure_span",
    "vanished_rows",
    "status_changed",
    "status_stayed",
    "router_all_healthy",
    "failed_while_all_healthy",
    "router_changes",
    "healthy_with_none",
    "health_disagrees",
    "provider_state",
    "provider_rate",
    "router_restart",
    "row_problems",
    "fetch_outage",
    "stuck_jobs",
    "recorder_gap",
];

impl Finding {
    /// Its `kind` (the JSON tag).
    pub fn kind(&self) -> &'static str {
        use Finding::*;
        match self {
            EmptyRecording => "empty_recording",
            JobNotFound { .. } => "job_not_found",
            DefaultViewTruncated { .. } => "default_view_truncated",
            Coverage { .. } => "coverage",
            NoSpec { .. } => "no_spec",
            MatrixCounted { .. } => "matrix_counted",
            UnplannedRegions { .. } => "unplanned_regions",
            OnlyDefaultView { .. } => "only_default_view",
            MissingCells { .. } => "missing_cells",
            UnexpectedRows { .. } => "unexpected_rows",
            RowsWithoutCell { .. } => "rows_without_cell",
            RepeatedIds { .. } => "repeated_ids",
            RowsWithoutId { .. } => "rows_without_id",
            ClockSkew { .. } => "clock_skew",
            FailureSignature { .. } => "failure_signature",
            ExactDuration { .. } => "exact_duration",
            NearInstantFailures { .. } => "near_instant_failures",
            FailureSpan { .. } => "failure_span",
            VanishedRows { .. } => "vanished_rows",
            StatusChanged { .. } => "status_changed",
            StatusStayed { .. } => "status_stayed",
            RouterAllHealthy { .. } => "router_all_healthy",
            FailedWhileAllHealthy { .. } => "failed_while_all_healthy",
            RouterChanges { .. } => "router_changes",
            HealthyWithNone { .. } => "healthy_with_none",
            HealthDisagrees { .. } => "health_disagrees",
            ProviderState { .. } => "provider_state",
            ProviderRate { .. } => "provider_rate",
            RouterRestart { .. } => "router_restart",
            RowProblems { .. } => "row_problems",
            FetchOutage { .. } => "fetch_outage",
            StuckJobs { .. } => "stuck_jobs",
            RecorderGap { .. } => "recorder_gap",
        }
    }
    /// The job a finding is about, if one.
    pub fn job(&self) -> Option<&str> {
        use Finding::*;
        match self {
            JobNotFound { job }
            | DefaultViewTruncated { job, .. }
            | Coverage { job, .. }
            | NoSpec { job, .. }
            | MatrixCounted { job, .. }
            | UnplannedRegions { job, .. }
            | MissingCells { job, .. }
            | OnlyDefaultView { job, .. }
            | UnexpectedRows { job, .. }
            | RowsWithoutCell { job, .. }
            | RepeatedIds { job, .. }
            | RowsWithoutId { job, .. }
            | FailureSignature { job, .. }
            | ExactDuration { job, .. }
            | NearInstantFailures { job, .. }
            | FailureSpan { job, .. }
            | VanishedRows { job, .. }
            | StatusChanged { job, .. }
            | StatusStayed { job, .. } => Some(job),
            FetchOutage { job, .. } | RecorderGap { job, .. } | ClockSkew { job, .. } => {
                job.as_deref()
            }
            _ => None,
        }
    }
}

pub use crate::beacon::is_final;

/// The job's status when it has not finished (`None` when it has): what has not happened so
/// far. An unknown status is not a finished one: said as such.
fn active_status(s: &super::summary::JobSummary) -> Option<String> {
    s.so_far()
        .then(|| s.status.clone().unwrap_or_else(|| "not known".into()))
}

/// Per-job findings, in order of importance.
fn job_findings(j: &super::job::JobReport, out: &mut Vec<Finding>) {
    coverage_findings(j, out);
    row_findings(j, out);
    failure_findings(j, out);
    status_findings(j, out);
}

/// The job found or not, its default view, its cells expected, covered and missing.
fn coverage_findings(j: &super::job::JobReport, out: &mut Vec<Finding>) {
    let s = &j.summary;
    let h = &j.history;
    let job = s.job_id.clone();
    if s.found == Some(false) {
        out.push(Finding::JobNotFound { job: job.clone() });
    }
    if let Some(t) = h.max_truncation {
        out.push(Finding::DefaultViewTruncated {
            job: job.clone(),
            shown: t.shown,
            complete: t.complete,
            page_size: crate::beacon::DEFAULT_PAGE,
            seq: t.seq,
            at: t.at,
            first: h.first_truncation.filter(|f| f.seq != t.seq),
            compared_polls: h.compared_polls,
        });
    }
    let e = &s.expected;
    let c = &s.cells;
    if !c.complete {
        out.push(Finding::OnlyDefaultView {
            job: job.clone(),
            visible: s.rows,
            page_size: crate::beacon::DEFAULT_PAGE,
            may_be_cut: s.default_view.may_be_cut,
            expected: e.cells,
            covered: c.covered,
            unknown: c.unknown_count,
        });
    } else if e.cells > 0 {
        out.push(Finding::Coverage {
            job: job.clone(),
            expected: e.cells,
            declared: e.declared,
            covered: c.covered,
            missing: c.missing_count,
            duplicated_cells: c.duplicated.len(),
            extra_runs: c.duplicated.iter().map(|d| d.extra_runs()).sum(),
            repeated_rows: c.repeated_rows,
            rows: s.rows,
            active: active_status(s),
        });
        if !c.listed {
            out.push(Finding::MatrixCounted {
                job: job.clone(),
                cells: e.cells,
                cap: crate::beacon::MATRIX_CAP,
            });
        }
    } else if s.found != Some(false) {
        out.push(Finding::NoSpec {
            job: job.clone(),
            rows: s.rows,
        });
    }
    if !e.unplanned_regions.is_empty() {
        out.push(Finding::UnplannedRegions {
            job: job.clone(),
            regions: e.unplanned_regions.clone(),
        });
    }
    let active = active_status(s);
    if c.missing_count > 0 {
        out.push(Finding::MissingCells {
            job: job.clone(),
            count: c.missing_count,
            cells: c.missing.clone(),
            rows_stopped_seq: h.growth.last_new_row_seq,
            rows_stopped_at: h.growth.last_new_row_at,
            active: active.clone(),
            as_of: h.rows_over_time.last().map_or(Stamp(0), |r| r.taken_at),
        });
    }
}

/// Rows outside the spec, without a cell, repeating an id or without one; the two clocks.
fn row_findings(j: &super::job::JobReport, out: &mut Vec<Finding>) {
    let s = &j.summary;
    let h = &j.history;
    let job = s.job_id.clone();
    let c = &s.cells;
    let reasons = |v: &[super::matrix::Unexpected]| -> Vec<String> {
        v.iter()
            .map(|u| u.reason.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    if !c.unexpected.is_empty() {
        out.push(Finding::UnexpectedRows {
            job: job.clone(),
            count: c.unexpected.len(),
            reasons: reasons(&c.unexpected),
        });
    }
    if !c.no_cell.is_empty() {
        out.push(Finding::RowsWithoutCell {
            job: job.clone(),
            count: c.no_cell.len(),
            reasons: reasons(&c.no_cell),
        });
    }
    if !h.extra_rows.repeated_ids.is_empty() {
        out.push(Finding::RepeatedIds {
            job: job.clone(),
            ids: h.extra_rows.repeated_ids.clone(),
        });
    }
    if h.extra_rows.without_id > 0 {
        out.push(Finding::RowsWithoutId {
            job: job.clone(),
            count: h.extra_rows.without_id,
        });
    }
    // Bounded by this job's rows: no answer carried the runner's clock.
    if let Some(k) = h.clock_skew.filter(|k| k.at_least) {
        out.push(Finding::ClockSkew {
            job: Some(job.clone()),
            clock: k,
        });
    }
}

/// How the rows failed: the top signature, a shared duration, near-instant ones, when.
fn failure_findings(j: &super::job::JobReport, out: &mut Vec<Finding>) {
    let s = &j.summary;
    let h = &j.history;
    let job = s.job_id.clone();
    let f = &h.failures;
    if let Some(top) = f.signatures.first() {
        out.push(Finding::FailureSignature {
            job: job.clone(),
            failed: f.total,
            rows: s.rows,
            count: top.count,
            key: top.key.clone(),
            error_text: top.error_text.clone(),
            signatures: f.signatures.len(),
        });
        if let Some(m) = f.duration_modes.first()
            && m.count * 2 >= f.total.max(2)
        {
            // Call it a timeout only when the rows say so; a shared duration alone is a hint.
            let timeout_named = f.signatures.iter().any(|sig| {
                sig.key
                    .error_code
                    .as_deref()
                    .is_some_and(|c| c.contains("TIMEOUT"))
                    || sig
                        .key
                        .failure_stage
                        .as_deref()
                        .is_some_and(|s| s.contains("timeout"))
            });
            out.push(Finding::ExactDuration {
                job: job.clone(),
                seconds: m.seconds,
                count: m.count,
                failed: f.total,
                timeout_named,
            });
        }
        if !f.near_instant.is_empty() {
            out.push(Finding::NearInstantFailures {
                job: job.clone(),
                ids: f.near_instant.clone(),
            });
        }
        if let (Some(first), Some(last), Some(spread)) =
            (f.first_failed_at, f.last_failed_at, f.spread_seconds)
        {
            out.push(Finding::FailureSpan {
                job: job.clone(),
                first,
                last,
                spread_seconds: spread,
                clusters: f.clusters.len(),
                seen_first: f.first_seen_failed_at,
                seen_last: f.last_seen_failed_at,
                runner_clock: h.clock_skew,
                first_runner: f.first_failed_runner,
                last_runner: f.last_failed_runner,
            });
        }
    }
}

/// Rows that vanished, and the job's status over the recording.
fn status_findings(j: &super::job::JobReport, out: &mut Vec<Finding>) {
    let h = &j.history;
    let job = j.summary.job_id.clone();
    if !h.growth.vanished.is_empty() {
        out.push(Finding::VanishedRows {
            job: job.clone(),
            ids: h.growth.vanished.iter().map(|v| v.id).collect(),
        });
    }
    let chain: Vec<Option<String>> = h
        .status_history
        .iter()
        .map(|c| {
            if c.found {
                c.status.clone()
            } else {
                Some("not found".into())
            }
        })
        .collect();
    if chain.len() > 1 {
        out.push(Finding::StatusChanged { job, chain });
    } else if let Some(st) = chain.into_iter().next() {
        out.push(Finding::StatusStayed {
            job,
            active: st.as_deref().is_none_or(|s| !is_final(s)),
            status: st,
        });
    }
}

fn router_findings(router: &RouterReport, rec: &Recording, out: &mut Vec<Finding>) {
    if !router.recorded {
        return;
    }
    let (first, last) = (
        rec.infos.first().map_or(0, |i| i.seq),
        rec.infos.last().map_or(0, |i| i.seq),
    );
    for w in &router.healthy_with_none {
        out.push(Finding::HealthyWithNone {
            window: w.clone(),
            throughout: w.from_seq == first && w.to_seq == last,
        });
    }
    let failed_while = router.failed_while_all_healthy.unwrap_or(0);
    if router.all_healthy_throughout == Some(true) {
        let h = router.healthy_counts.last().and_then(|c| c.0).unwrap_or(0);
        out.push(Finding::RouterAllHealthy {
            healthy: h,
            counts: router.healthy_counts.clone(),
            polls_seen: router.health_polls,
            polls: router.polls,
            failed_rows: failed_while,
        });
    } else if failed_while > 0 {
        out.push(Finding::FailedWhileAllHealthy { rows: failed_while });
    }
    // Changes stand on their own: a restart that added a provider keeps every poll "all
    // healthy" and is still a change.
    if !router.transitions.is_empty() {
        out.push(Finding::RouterChanges {
            changes: router.transitions.clone(),
        });
    }
    if let Some(d) = router.disagreements.first() {
        out.push(Finding::HealthDisagrees {
            first: d.clone(),
            polls: router.disagreements.len(),
        });
    }
    for r in &router.restarts {
        out.push(Finding::RouterRestart { restart: r.clone() });
    }
    // Providers in the same risky state over the same snapshots make one finding.
    let mut states: Vec<Finding> = Vec::new();
    for s in router
        .provider_spans
        .iter()
        .filter(|s| s.state.is_risky() || s.state.is_unhealthy())
    {
        let same = states.iter_mut().find_map(|f| match f {
            Finding::ProviderState {
                providers,
                state,
                from_seq,
                to_seq,
                failing_since,
                last_check_found_healthy,
                ..
            } if *state == s.state
                && *from_seq == s.from_seq
                && *to_seq == s.to_seq
                && *failing_since == s.failing_since
                && *last_check_found_healthy == s.last_check_found_healthy =>
            {
                Some(providers)
            }
            _ => None,
        });
        match same {
            Some(providers) => providers.push((s.provider.clone(), s.region.clone())),
            None => states.push(Finding::ProviderState {
                providers: vec![(s.provider.clone(), s.region.clone())],
                state: s.state,
                from: s.from,
                to: s.to,
                from_seq: s.from_seq,
                to_seq: s.to_seq,
                snapshots: s.snapshots,
                throughout: s.from_seq == first && s.to_seq == last,
                last_check: s.last_check,
                age_seconds: s.age_seconds,
                clock: s.clock,
                failing_since: s.failing_since,
                last_check_found_healthy: s.last_check_found_healthy,
            }),
        }
    }
    out.extend(states);
    for r in &router.rates {
        out.push(Finding::ProviderRate { rate: r.clone() });
    }
}

/// Rows of bodies that could not be read whole, over the recording.
fn row_problems(rec: &Recording, out: &mut Vec<Finding>) {
    let mut total = 0u64;
    let mut bodies = 0usize;
    let mut first: Option<ProblemExample> = None;
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        for f in &snap.fetches {
            if f.problems_total == 0 {
                continue;
            }
            total += f.problems_total as u64;
            bodies += 1;
            if first.is_none()
                && let Some(p) = f.problems.first()
            {
                first = Some(ProblemExample {
                    seq: info.seq,
                    source: crate::fetch::SourceKind::name_of(f.source),
                    index: p.index,
                    reason: p.reason.clone(),
                });
            }
        }
    }
    if let Some(first) = first {
        out.push(Finding::RowProblems {
            rows: total,
            bodies,
            first,
        });
    }
}

fn fetch_findings(fetch: &FetchReport, out: &mut Vec<Finding>) {
    // Sources that failed over the same window in the same way make one finding.
    let mut groups: Vec<(Vec<&'static str>, &Outage)> = Vec::new();
    for o in &fetch.outages {
        match groups.iter_mut().find(|(_, g)| {
            g.job == o.job
                && g.endpoint == o.endpoint
                && g.from_seq == o.from_seq
                && g.to_seq == o.to_seq
                && g.kinds == o.kinds
        }) {
            Some((names, _)) => names.push(o.source),
            None => groups.push((vec![o.source], o)),
        }
    }
    for (sources, o) in groups {
        out.push(Finding::FetchOutage {
            sources,
            job: o.job.clone(),
            endpoint: o.endpoint.clone(),
            from: o.from,
            to: o.to,
            from_seq: o.from_seq,
            to_seq: o.to_seq,
            snapshots: o.snapshots,
            kinds: o.kinds.clone(),
            recovered_at: o.recovered_at,
        });
    }
    for g in &fetch.gaps {
        out.push(Finding::RecorderGap {
            source: g.source,
            job: g.job.clone(),
            from: g.from,
            to: g.to,
            from_seq: g.from_seq,
            to_seq: g.to_seq,
            snapshots: g.snapshots,
            kinds: g.kinds.clone(),
        });
    }
}

pub(super) fn findings(
    jobs: &[super::job::JobReport],
    router: &RouterReport,
    fetch: &FetchReport,
    rec: &Recording,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if rec.infos.is_empty() {
        out.push(Finding::EmptyRecording);
        return out;
    }
    for j in jobs {
        job_findings(j, &mut out);
    }
    // Measured from the servers' answers: one clock each, whatever the jobs.
    for (server, clock) in [
        (Server::Runner, &rec.clocks.runner),
        (Server::Router, &rec.clocks.router),
    ] {
        if let Some(k) = clock.summary(server) {
            out.push(Finding::ClockSkew {
                job: None,
                clock: k,
            });
        }
    }
    router_findings(router, rec, &mut out);
    row_problems(rec, &mut out);
    fetch_findings(fetch, &mut out);
    // The story first: what hurt the jobs, then what confirms.
    out.sort_by_key(rank);
    out
}

/// Where a finding stands in the story, most important first: nothing to report or a job the
/// runner does not know; a source failing; providers unhealthy (or called healthy while rows
/// failed on them); how the rows failed; cells without a row; what the views and rows hide or
/// repeat; the router's changes and clocks; then what only confirms (nothing missing, healthy
/// throughout with nothing failed, the job's status, the recorder's own gaps). Within a rank
/// the order they were judged in stays (per job, in the jobs' order).
pub fn rank(f: &Finding) -> u8 {
    use Finding::*;
    match f {
        EmptyRecording | JobNotFound { .. } => 0,
        FetchOutage { .. } => 1,
        ProviderState { state, .. } if state.is_unhealthy() => 2,
        HealthyWithNone { .. } | FailedWhileAllHealthy { .. } => 2,
        RouterAllHealthy { failed_rows, .. } if *failed_rows > 0 => 2,
        FailureSignature { .. }
        | ExactDuration { .. }
        | NearInstantFailures { .. }
        | FailureSpan { .. } => 3,
        MissingCells { .. } | OnlyDefaultView { .. } | UnplannedRegions { .. } => 4,
        Coverage {
            missing,
            duplicated_cells,
            repeated_rows,
            ..
        } if *missing > 0 || *duplicated_cells > 0 || *repeated_rows > 0 => 4,
        DefaultViewTruncated { .. }
        | UnexpectedRows { .. }
        | RowsWithoutCell { .. }
        | RepeatedIds { .. }
        | RowsWithoutId { .. }
        | VanishedRows { .. }
        | RowProblems { .. }
        | StuckJobs { .. }
        | MatrixCounted { .. }
        | NoSpec { .. } => 5,
        RouterRestart { .. }
        | RouterChanges { .. }
        | HealthDisagrees { .. }
        | ProviderRate { .. }
        | ProviderState { .. }
        | ClockSkew { .. } => 6,
        Coverage { .. }
        | RouterAllHealthy { .. }
        | StatusChanged { .. }
        | StatusStayed { .. }
        | RecorderGap { .. } => 7,
    }
}
