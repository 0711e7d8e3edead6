//! The answer first: per job, the numbers of "why N rows instead of M?" put together in one
//! place: the expected cells and where that number comes from, what the default view showed
//! and why, what the complete list holds, what is missing, and when and how the rows failed.

use super::failures::Failures;
use super::failures::SigKey;
use super::history::JobHistory;
use super::matrix::DupCell;
use super::recording::{JobState, Recording};
use super::seen::Observed;
use super::summary::JobSummary;
use super::values::Stamp;
use crate::beacon::Execution;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub use crate::beacon::DEFAULT_PAGE;

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
    /// complete list (then nothing is compared: `truncated` and `by_status` are `None`).
    pub complete_then: Option<usize>,
    pub truncated: Option<bool>,
    /// How many distinct shown executions are second or later runs of a cell (redeliveries).
    pub duplicates_shown: usize,
    /// Shown rows by status, as the complete list of the same poll had them (`None` as
    /// `truncated`).
    pub by_status: Option<BTreeMap<String, usize>>,
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
    /// `first` and `last` are the rows' own times put on the recorder's clock. When the
    /// runner's clock disagreed with it (the skew finding): that clock, and the rows' own
    /// stamps of the two.
    pub runner_clock: Option<super::clocks::ClockSummary>,
    pub first_runner: Option<Stamp>,
    pub last_runner: Option<Stamp>,
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

/// A source that failed while the job was recorded: its own requests, or the whole runner's or
/// router's.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IncidentOutage {
    pub sources: Vec<&'static str>,
    pub kinds: Vec<super::values::FetchKind>,
    pub from: Stamp,
    pub to: Stamp,
    pub recovered_at: Option<Stamp>,
}

/// A provider of the job's regions in an unhealthy state, over one span.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IncidentProvider {
    pub provider: String,
    pub region: Option<String>,
    pub state: super::router::ProviderState,
    pub from: Stamp,
    pub to: Stamp,
}

/// What happened around the job: the story the answer tells first.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Incident {
    pub outages: Vec<IncidentOutage>,
    pub unhealthy: Vec<IncidentProvider>,
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
    /// The job's status at the end is a final one (as `JobSummary::is_final`).
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Cells without a row seen, when no complete list was read: not known to be missing.
    pub unknown: u64,
    pub failures: Option<FailureAnswer>,
    pub output: OutputAnswer,
    /// Sources that failed and providers of its regions that were unhealthy (set once the
    /// whole recording's requests and router are known: `incident`).
    pub incident: Incident,
}

/// The job's incident: its own sources' and the services' failures, and the providers of its
/// regions in an unhealthy state, from the report's outages and provider spans.
pub fn incident(
    job: &str,
    regions: &[String],
    fetch: &super::fetches::FetchReport,
    router: &super::router::RouterReport,
) -> Incident {
    let mut out = Incident::default();
    for o in fetch
        .outages
        .iter()
        .filter(|o| o.job.as_deref().is_none_or(|j| j == job))
    {
        match out
            .outages
            .iter_mut()
            .find(|g| g.from == o.from && g.to == o.to && g.kinds == o.kinds)
        {
            Some(g) => g.sources.push(o.source),
            None => out.outages.push(IncidentOutage {
                sources: vec![o.source],
                kinds: o.kinds.clone(),
                from: o.from,
                to: o.to,
                recovered_at: o.recovered_at,
            }),
        }
    }
    out.outages.sort_by_key(|o| o.from);
    let serves = |r: &Option<String>| {
        regions.is_empty()
            || r.as_deref().is_some_and(|r| {
                let r = crate::beacon::normalize_region(r);
                regions
                    .iter()
                    .any(|x| crate::beacon::normalize_region(x) == r)
            })
    };
    out.unhealthy = router
        .provider_spans
        .iter()
        .filter(|s| s.state.is_unhealthy() && serves(&s.region))
        .map(|s| IncidentProvider {
            provider: s.provider.clone(),
            region: s.region.clone(),
            state: s.state,
            from: s.from,
            to: s.to,
        })
        .collect();
    out.unhealthy.sort_by_key(|p| p.from);
    out
}

/// The later distinct executions of each duplicated cell (by created, else started time):
/// the redelivered ones.
fn redelivered(cells: &[DupCell]) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for d in cells {
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

/// Distinct shown executions that are second or later runs of their cell.
fn redeliveries_shown(ids: &[i64], cells: &[DupCell]) -> usize {
    let again = redelivered(cells);
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    distinct.iter().filter(|i| again.contains(i)).count()
}

/// The shown rows by status, as `execs` (the complete list of the same poll) had them; an id
/// the list did not have is not counted.
fn shown_by_status(ids: &[i64], execs: &crate::store::rows::Rows) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for id in ids {
        if let Some(e) = execs.get(id) {
            *by.entry(e.status.to_string()).or_default() += 1;
        }
    }
    by
}

/// How the failed rows failed: the top signature, when, and the duration most share (only
/// when at least half of them do).
fn failure_answer(
    f: &Failures,
    runner_clock: Option<super::clocks::ClockSummary>,
) -> Option<FailureAnswer> {
    let top = f.signatures.first()?;
    let mode = f.duration_modes.first().filter(|m| m.count * 2 >= f.total);
    Some(FailureAnswer {
        failed: f.total,
        first: f.first_failed_at,
        last: f.last_failed_at,
        top: top.key.clone(),
        top_count: top.count,
        error_text: top.error_text.clone(),
        same_seconds: mode.map(|m| m.seconds),
        same_count: mode.map_or(0, |m| m.count),
        runner_clock,
        first_runner: f.first_failed_runner,
        last_runner: f.last_failed_runner,
        seen_first: f.first_seen_failed_at,
        seen_last: f.last_seen_failed_at,
    })
}

/// Where `output` is: null, carrying the error, or not in the row's format at all.
fn output_answer<'a>(rows: impl IntoIterator<Item = &'a Execution>) -> OutputAnswer {
    let mut o = OutputAnswer {
        absent_in_view: true,
        null_in_list: 0,
        error_in_list: 0,
        no_output_field: 0,
    };
    for e in rows {
        match e.output_null {
            Some(true) => o.null_in_list += 1,
            Some(false) if e.error_message.is_some() || e.error_code.is_some() => {
                o.error_in_list += 1
            }
            Some(false) => {}
            None => o.no_output_field += 1,
        }
    }
    o
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
    let mut by_status = None;
    if complete_then.is_some() {
        let earlier;
        let execs = if seq == last {
            &js.execs
        } else {
            earlier = rec.reader.execs_at(js.index, seq)?;
            &earlier
        };
        by_status = Some(shown_by_status(&ids, execs));
    }
    Ok(Some(ViewAnswer {
        rows,
        page_size: DEFAULT_PAGE,
        seen: rec.observed(seq, last),
        complete_then,
        truncated: complete_then.map(|c| (rows as usize) < c),
        duplicates_shown: redeliveries_shown(&ids, &s.cells.duplicated),
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
    let failures = failure_answer(&h.failures, h.clock_skew);
    let output = output_answer(js.rows().map(|r| r.exec));
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
        active: s.status.clone().filter(|_| s.so_far()),
        is_final: s.is_final,
        unknown: c.unknown_count,
        failures,
        output,
        incident: Incident::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::failures::{DurationMode, Signature};
    use crate::analysis::matrix::RowRef;

    fn sig(count: usize) -> Signature {
        Signature {
            key: SigKey {
                status: "failed".into(),
                error_code: Some("ROUTER_TIMEOUT".into()),
                failure_stage: None,
                provider_empty: true,
                output_null: Some(false),
            },
            count,
            example_ids: vec![],
            error_text: Some("timeout".into()),
        }
    }

    fn failures(total: usize, mode: Option<(i64, usize)>) -> Failures {
        Failures {
            total,
            signatures: vec![sig(total - 1), sig(1)],
            duration_modes: mode
                .map(|(seconds, count)| DurationMode { seconds, count })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    /// The common duration is said only when at least half the failures share it.
    #[test]
    fn the_common_duration_needs_half_the_failures() {
        let a = failure_answer(&failures(6, Some((120, 3))), None).unwrap();
        assert_eq!(
            (a.same_seconds, a.same_count),
            (Some(120), 3),
            "exactly half"
        );
        let a = failure_answer(&failures(7, Some((120, 3))), None).unwrap();
        assert_eq!((a.same_seconds, a.same_count), (None, 0), "fewer than half");
        let a = failure_answer(&failures(4, Some((150, 4))), None).unwrap();
        assert_eq!((a.same_seconds, a.same_count), (Some(150), 4));
        assert_eq!(a.failed, 4);
        assert_eq!(a.top_count, 3, "the top signature's own count");
        assert!(failure_answer(&Failures::default(), None).is_none());
    }

    fn ex(id: i64, output_null: Option<bool>, msg: bool, code: bool) -> Execution {
        Execution {
            id,
            status: "failed".into(),
            output_null,
            error_message: msg.then(|| "hybrid timeout".into()),
            error_code: code.then(|| "ROUTER_TIMEOUT".into()),
            ..Default::default()
        }
    }

    /// Null output, output carrying the error (by text, by code or both), output without an
    /// error, and a format without output are each counted apart.
    #[test]
    fn where_the_output_is() {
        let rows = [
            ex(1, Some(true), false, false),
            ex(2, Some(true), true, true),
            ex(3, Some(false), true, false),
            ex(4, Some(false), false, true),
            ex(5, Some(false), true, true),
            ex(6, Some(false), false, false),
            ex(7, None, false, false),
        ];
        let o = output_answer(rows.iter());
        assert_eq!(o.null_in_list, 2);
        assert_eq!(o.error_in_list, 3);
        assert_eq!(o.no_output_field, 1);
        assert!(o.absent_in_view);
    }

    /// A view mixing statuses is counted by status; an id the list lacks is not counted.
    #[test]
    fn the_view_by_status() {
        let execs: crate::store::rows::Rows = [
            (1, "failed"),
            (2, "failed"),
            (3, "completed"),
            (4, "running"),
        ]
        .into_iter()
        .map(|(id, st)| {
            (
                id,
                Execution {
                    id,
                    status: st.into(),
                    ..Default::default()
                },
            )
        })
        .collect();
        let by = shown_by_status(&[1, 2, 3, 4, 9], &execs);
        assert_eq!(
            by,
            BTreeMap::from([
                ("completed".to_string(), 1),
                ("failed".to_string(), 2),
                ("running".to_string(), 1)
            ])
        );
    }

    fn row(id: Option<i64>, t: i64) -> RowRef {
        RowRef {
            id,
            status: "failed".into(),
            created_at: Some(Stamp(t)),
            started_at: None,
        }
    }

    /// Redeliveries are the later distinct executions of a cell: a repeated id is not one.
    #[test]
    fn redeliveries_by_distinct_execution() {
        let cell = |rows: Vec<RowRef>| DupCell {
            question_id: "q".into(),
            model_id: "m".into(),
            region: "r".into(),
            execution_ids: vec![],
            executions: 2,
            rows,
        };
        // Cell A: 10 then 11 (11 again, a repeated row). Cell B: 20 created after 21.
        let cells = vec![
            cell(vec![row(Some(11), 5), row(Some(10), 1), row(Some(11), 5)]),
            cell(vec![row(Some(20), 9), row(Some(21), 2), row(None, 3)]),
        ];
        assert_eq!(redelivered(&cells), BTreeSet::from([11, 20]));
        assert_eq!(redeliveries_shown(&[11, 11, 20, 21, 10], &cells), 2);
        assert_eq!(redeliveries_shown(&[10, 21], &cells), 0);
    }
}
