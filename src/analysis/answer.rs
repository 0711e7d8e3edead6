//! The answer first: per job, the numbers of "why N rows instead of M?" put together in one
//! place: the expected cells and where that number comes from, what the default view showed
//! and why, what the complete list holds, what is missing, and when and how the rows failed.

use super::history::JobHistory;
use super::seen::Observed;
use super::summary::JobSummary;
use super::{JobState, Recording};
use super::{Stamp, failures::SigKey};
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The runner's default page size for `?include=executions` (API.md).
pub const DEFAULT_PAGE: u32 = 20;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExpectedFrom {
    pub cells: u64,
    pub path: Option<&'static str>,
    pub questions: usize,
    pub models: usize,
    pub regions: usize,
    /// `metadata.total_executions_expected`, what the portal declared.
    pub declared: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ViewAnswer {
    /// Rows the page showed.
    pub rows: u32,
    /// The runner's default page: the newest rows by `created_at`, at most this many.
    pub page_size: u32,
    /// The poll described: the last that fetched both the view and the complete list, else
    /// the last that fetched the view (its age counts to the last snapshot).
    pub seen: Observed,
    /// Rows of the complete list fetched in the same poll; `None` when that poll read no
    /// complete list (then nothing is compared: `truncated` is false, `by_status` empty).
    pub complete_then: Option<usize>,
    pub truncated: bool,
    /// How many distinct shown executions are second or later runs of a cell (redeliveries).
    pub duplicates_shown: usize,
    /// Shown rows by status, as the complete list of the same poll had them.
    pub by_status: BTreeMap<String, usize>,
    pub ids: Vec<i64>,
    /// Polls that fetched the view, and those that fetched it with the complete list.
    pub view_polls: usize,
    pub compared_polls: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListAnswer {
    /// A complete list was read; without one, `rows` are the rows seen (a default view).
    pub complete_seen: bool,
    /// The last poll that read the complete list whole (its age counts to the last
    /// snapshot); the rows are as it read them.
    pub seen: Option<Observed>,
    pub rows: usize,
    pub covered: usize,
    /// Runs beyond the first of their cell, by distinct execution id.
    pub extra_runs: usize,
    pub duplicated_cells: usize,
    /// Rows repeating an execution id within their cell (one execution sent twice).
    pub repeated_rows: usize,
    pub unexpected: usize,
    pub no_cell: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailureAnswer {
    pub failed: usize,
    pub first: Option<Stamp>,
    pub last: Option<Stamp>,
    pub top: SigKey,
    pub top_count: usize,
    pub error_text: Option<String>,
    /// The duration most failed rows share, when at least half do.
    pub same_seconds: Option<i64>,
    pub same_count: usize,
    /// `first` and `last` are the rows' own timestamps, on the runner's clock; when that ran
    /// ahead of the recorder's (the clock skew finding), by up to this many seconds.
    pub runner_ahead_seconds: Option<f64>,
    /// When polling first saw a row failed, and the last new failure, on the recorder's clock.
    pub seen_first: Option<Stamp>,
    pub seen_last: Option<Stamp>,
}

/// Where `output` is in each view.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputAnswer {
    /// The default view's rows never carry `output` (it is absent, not null).
    pub absent_in_view: bool,
    /// Complete-list rows whose output is null (or omitted, which means null there).
    pub null_in_list: usize,
    /// Complete-list rows whose output carries an error text.
    pub error_in_list: usize,
    /// Rows whose format has no output at all (older runners' pages).
    pub no_output_field: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobAnswer {
    pub job: String,
    pub expected: Option<ExpectedFrom>,
    pub default_view: Option<ViewAnswer>,
    pub complete: ListAnswer,
    pub missing: u64,
    /// The job's status at the end when not a final one: `missing` are cells without a row
    /// *so far*.
    pub active: Option<String>,
    /// Cells without a row seen, when no complete list was read: not known to be missing.
    pub unknown: u64,
    pub failures: Option<FailureAnswer>,
    pub output: OutputAnswer,
}

/// The later distinct executions of each duplicated cell: the redelivered ones.
fn redelivered(s: &JobSummary) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for d in &s.cells.duplicated {
        let mut rows: Vec<(Option<Stamp>, i64)> = d
            .rows
            .iter()
            .filter_map(|r| Some((r.created_at.or(r.started_at), r.id?)))
            .collect();
        rows.sort();
        let mut seen = BTreeSet::new();
        rows.retain(|(_, id)| seen.insert(*id));
        out.extend(rows.iter().skip(1).map(|(_, id)| *id));
    }
    out
}

/// The default view as one poll fetched it, compared only with the complete list of that
/// same poll.
fn view_answer(
    rec: &Recording,
    s: &JobSummary,
    h: &JobHistory,
    js: &JobState,
) -> Result<Option<ViewAnswer>, StoreError> {
    let last = rec.infos.last().map_or(0, |i| i.seq);
    let (seq, rows, complete_then) = match (h.last_compared, &s.default_view) {
        (Some(c), _) => (c.seq, c.shown, Some(c.complete)),
        (None, v) => match (v.rows, v.seen) {
            (Some(r), Some(o)) => (o.seq, r, None),
            // Fetched before this window only: described as of the window's start.
            (Some(r), None) => (rec.infos.first().map_or(0, |i| i.seq), r, None),
            (None, _) => return Ok(None),
        },
    };
    let ids: Vec<i64> = if seq == last {
        s.default_view.ids.clone()
    } else {
        rec.reader
            .job_at(js.index, seq)?
            .map(|(_, r)| r.default_ids)
            .unwrap_or_default()
    };
    let mut by_status = BTreeMap::new();
    if complete_then.is_some() {
        let earlier;
        let execs = if seq == last {
            &js.execs
        } else {
            earlier = rec.reader.execs_at(js.index, seq)?;
            &earlier
        };
        for id in &ids {
            if let Some(e) = execs.get(id) {
                *by_status.entry(e.status.to_string()).or_default() += 1;
            }
        }
    }
    let again = redelivered(s);
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    Ok(Some(ViewAnswer {
        rows,
        page_size: DEFAULT_PAGE,
        seen: rec.observed(seq, last),
        complete_then,
        truncated: complete_then.is_some_and(|c| (rows as usize) < c),
        duplicates_shown: distinct.iter().filter(|i| again.contains(i)).count(),
        by_status,
        ids,
        view_polls: h.view_polls,
        compared_polls: h.compared_polls,
    }))
}

pub fn answer(
    rec: &Recording,
    s: &JobSummary,
    h: &JobHistory,
    js: &JobState,
) -> Result<JobAnswer, StoreError> {
    let c = &s.cells;
    let default_view = view_answer(rec, s, h, js)?;
    let last = rec.infos.last().map_or(0, |i| i.seq);
    let f = &h.failures;
    let failures = f.signatures.first().map(|top| {
        let mode = f.duration_modes.first().filter(|m| m.count * 2 >= f.total);
        FailureAnswer {
            failed: f.total,
            first: f.first_failed_at,
            last: f.last_failed_at,
            top: top.key.clone(),
            top_count: top.count,
            error_text: top.error_text.clone(),
            same_seconds: mode.map(|m| m.seconds),
            same_count: mode.map_or(0, |m| m.count),
            runner_ahead_seconds: h.clock_skew.as_ref().map(|k| k.ahead_seconds),
            seen_first: f.first_seen_failed_at,
            seen_last: f.last_seen_failed_at,
        }
    });
    let mut output = OutputAnswer {
        absent_in_view: true,
        null_in_list: 0,
        error_in_list: 0,
        no_output_field: 0,
    };
    for r in js.rows() {
        match r.exec.output_null {
            Some(true) => output.null_in_list += 1,
            Some(false) if r.exec.error_message.is_some() || r.exec.error_code.is_some() => {
                output.error_in_list += 1
            }
            Some(false) => {}
            None => output.no_output_field += 1,
        }
    }
    let e = &s.expected;
    Ok(JobAnswer {
        job: s.job_id.clone(),
        expected: (e.cells > 0).then_some(ExpectedFrom {
            cells: e.cells,
            path: e.path,
            questions: e.questions.len(),
            models: e.models.len(),
            regions: e.regions.len(),
            declared: e.declared,
        }),
        default_view,
        complete: ListAnswer {
            complete_seen: c.complete,
            seen: rec
                .seen
                .last_list(js.index, last)
                .map(|q| rec.observed(q, last)),
            rows: s.rows,
            covered: c.covered,
            extra_runs: c.duplicated.iter().map(|d| d.extra_runs()).sum(),
            duplicated_cells: c.duplicated.len(),
            repeated_rows: c.repeated_rows,
            unexpected: c.unexpected.len(),
            no_cell: c.no_cell.len(),
        },
        missing: c.missing_count,
        active: s.status.clone().filter(|st| !super::findings::is_final(st)),
        unknown: c.unknown_count,
        failures,
        output,
    })
}
