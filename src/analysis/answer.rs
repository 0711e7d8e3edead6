//! The answer first: per job, the numbers of "why N rows instead of M?" put together in one
//! place: the expected cells and where that number comes from, what the default view showed
//! and why, what the complete list holds, what is missing, and when and how the rows failed.

use super::JobState;
use super::history::JobHistory;
use super::summary::JobSummary;
use super::{Stamp, failures::SigKey};
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
    pub truncated: bool,
    /// How many of the shown rows are second or later rows of a cell (redeliveries).
    pub duplicates_shown: usize,
    /// Shown rows by status.
    pub by_status: BTreeMap<String, usize>,
    pub ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListAnswer {
    /// A complete list was read; without one, `rows` are the rows seen (a default view).
    pub complete_seen: bool,
    pub rows: usize,
    pub covered: usize,
    /// Rows beyond the first of their cell.
    pub duplicate_rows: usize,
    pub duplicated_cells: usize,
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
    /// Cells without a row seen, when no complete list was read: not known to be missing.
    pub unknown: u64,
    pub failures: Option<FailureAnswer>,
    pub output: OutputAnswer,
}

pub fn answer(s: &JobSummary, h: &JobHistory, js: &JobState) -> JobAnswer {
    let c = &s.cells;
    // The later rows of each duplicated cell are the redelivered ones.
    let mut redelivered: BTreeSet<i64> = BTreeSet::new();
    for d in &c.duplicated {
        let mut rows: Vec<(Option<Stamp>, Option<i64>)> = d
            .rows
            .iter()
            .map(|r| (r.created_at.or(r.started_at), r.id))
            .collect();
        rows.sort();
        redelivered.extend(rows.iter().skip(1).filter_map(|(_, id)| *id));
    }
    let default_view = s.default_view.rows.map(|rows| {
        let mut by_status = BTreeMap::new();
        for id in &s.default_view.ids {
            if let Some(e) = js.execs.get(id) {
                *by_status.entry(e.status.to_string()).or_default() += 1;
            }
        }
        ViewAnswer {
            rows,
            page_size: DEFAULT_PAGE,
            truncated: s.default_view.truncated,
            duplicates_shown: s
                .default_view
                .ids
                .iter()
                .filter(|i| redelivered.contains(i))
                .count(),
            by_status,
            ids: s.default_view.ids.clone(),
        }
    });
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
    JobAnswer {
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
            rows: s.rows,
            covered: c.covered,
            duplicate_rows: c.duplicated.iter().map(|d| d.rows.len() - 1).sum(),
            duplicated_cells: c.duplicated.len(),
            unexpected: c.unexpected.len(),
            no_cell: c.no_cell.len(),
        },
        missing: c.missing_count,
        unknown: c.unknown_count,
        failures,
        output,
    }
}
