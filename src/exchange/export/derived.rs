//! Tables that carry the analysis, so that a query gives the report's numbers without
//! re-deriving them from versions: each execution as the last snapshot has it
//! (`executions_latest`), each expected cell with its rows (`cells`), each job's answer
//! (`answers`), and the router as each poll observed it (`router_polls`). They are built from
//! the same `Report` the text, JSON and page are: one truth.

use crate::analysis::Recording;
use crate::analysis::matrix::distinct_executions;
use crate::analysis::report::Report;
use crate::analysis::summary::matrix_for;
use crate::beacon::{Execution, ExtraWhy};
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One row of a job as the last snapshot has it: every execution the complete list ever had
/// (`listed` false once it left the list), and every row kept beside the by-id list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestRow {
    pub recording_id: String,
    pub job: String,
    /// `id:N` for an execution, `x:N` for the Nth row kept beside the by-id list.
    pub key: String,
    pub id: Option<i64>,
    /// `duplicate_id` or `no_id` for a row kept beside the by-id list.
    pub kept_beside: Option<String>,
    /// In the complete list at the last snapshot that read one.
    pub listed: bool,
    /// The snapshot these values are as of (the last one).
    pub as_of_seq: u64,
    /// The snapshot of the row's last change.
    pub changed_seq: u64,
    pub status: String,
    pub question_id: Option<String>,
    pub model_id: Option<String>,
    pub region: Option<String>,
    pub region_raw: Option<String>,
    pub provider_id: Option<String>,
    pub created_at_us: Option<i64>,
    pub started_at_us: Option<i64>,
    pub completed_at_us: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retry_count: Option<u32>,
    pub output_null: Option<bool>,
    /// When polling first saw the row (the recorder's clock).
    pub first_seen_seq: u64,
    pub first_seen_at_us: i64,
    /// When polling first saw it failed (the recorder's clock).
    pub failed_seen_seq: Option<u64>,
    pub failed_seen_at_us: Option<i64>,
    /// `expected` (in a cell of the spec's matrix), `unexpected` or `no_cell`.
    pub place: String,
}

/// One expected cell of a job at the last snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellRow {
    pub recording_id: String,
    pub job: String,
    pub as_of_seq: u64,
    pub question_id: String,
    pub model_id: String,
    pub region: String,
    /// Rows in the cell (a repeated one too).
    pub rows: u32,
    /// Distinct executions: a cell with more than one ran more than once.
    pub executions: u32,
    /// The rows' statuses, comma-separated, in the list's order.
    pub statuses: String,
    /// No row (only when a complete list was read; else unknown, see `answers`).
    pub missing: bool,
}

/// The numbers of a job's answer, as `report --json` has them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerRow {
    pub recording_id: String,
    pub job: String,
    pub as_of_seq: u64,
    pub as_of_us: i64,
    pub status: Option<String>,
    pub path: Option<String>,
    pub expected_cells: u64,
    pub declared: Option<u64>,
    pub rows: u64,
    pub covered: u64,
    pub missing: u64,
    pub unknown: u64,
    pub duplicated_cells: u64,
    pub extra_runs: u64,
    pub repeated_rows: u64,
    pub unexpected: u64,
    pub no_cell: u64,
    pub failed: u64,
    pub default_view_rows: Option<u32>,
    pub default_view_seq: Option<u64>,
    /// Rows of the complete list in the poll the default view is described at (none: no poll
    /// fetched both; then nothing is compared).
    pub default_view_complete_rows: Option<u64>,
    pub default_view_truncated: Option<bool>,
    pub redeliveries_shown: Option<u64>,
    /// The recorder's clock: when polling first saw a row, first saw one failed, and the last
    /// new failure.
    pub first_row_seen_at_us: Option<i64>,
    pub first_failed_seen_at_us: Option<i64>,
    pub last_failed_seen_at_us: Option<i64>,
    /// From the first row seen to the first failure seen, both on the recorder's clock.
    pub seconds_to_first_failure: Option<f64>,
    /// The rows' own times (the runner's clock).
    pub first_failed_at_us: Option<i64>,
    pub last_failed_at_us: Option<i64>,
    /// The runner's clock against the recorder's, + ahead, − behind (the skew finding's
    /// largest offset); `None` when they agree.
    pub runner_offset_seconds: Option<f64>,
}

/// The router as one poll observed it, and as last observed at or before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterPollRow {
    pub recording_id: String,
    pub seq: u64,
    pub taken_at_us: i64,
    /// This poll's `/health` answered (the fields below are this poll's, else null).
    pub health_seen: bool,
    pub providers_seen: bool,
    pub status: Option<String>,
    pub version: Option<String>,
    pub providers_total: Option<i64>,
    pub providers_healthy: Option<i64>,
    /// `/health` as last answered at or before this poll, and which poll that was.
    pub last_seq: Option<u64>,
    pub last_version: Option<String>,
    pub last_providers_total: Option<i64>,
    pub last_providers_healthy: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub executions_latest: Vec<LatestRow>,
    pub cells: Vec<CellRow>,
    pub answers: Vec<AnswerRow>,
    pub router_polls: Vec<RouterPollRow>,
}

fn s(v: &Option<crate::beacon::Str>) -> Option<String> {
    v.as_ref().map(|x| x.to_string())
}

/// What one sweep of a job's versions says of each id: first seen, last present version,
/// whether it left the list, and its last change.
struct Life {
    first_seq: u64,
    last: Option<Execution>,
    gone: bool,
    changed_seq: u64,
}

fn lives(rec: &Recording, job: u32) -> Result<BTreeMap<i64, Life>, StoreError> {
    let mut out: BTreeMap<i64, Life> = BTreeMap::new();
    rec.reader
        .each_exec_version(job, i64::MIN..=i64::MAX, |id, seq, v| {
            let l = out.entry(id).or_insert(Life {
                first_seq: seq,
                last: None,
                gone: false,
                changed_seq: seq,
            });
            l.changed_seq = seq;
            match v {
                Some(e) => {
                    l.last = Some(e);
                    l.gone = false;
                }
                None => l.gone = true,
            }
        })?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn latest_row(
    id_text: &str,
    job: &str,
    key: String,
    id: Option<i64>,
    beside: Option<ExtraWhy>,
    listed: bool,
    as_of: u64,
    changed: u64,
    e: &Execution,
    first: (u64, i64),
    failed: Option<(u64, i64)>,
    place: &str,
) -> LatestRow {
    LatestRow {
        recording_id: id_text.to_string(),
        job: job.to_string(),
        key,
        id,
        kept_beside: beside.map(|w| match w {
            ExtraWhy::DuplicateId => "duplicate_id".to_string(),
            ExtraWhy::NoId => "no_id".to_string(),
        }),
        listed,
        as_of_seq: as_of,
        changed_seq: changed,
        status: e.status.to_string(),
        question_id: s(&e.question_id),
        model_id: s(&e.model_id),
        region: s(&e.region),
        region_raw: s(&e.region_raw),
        provider_id: s(&e.provider_id),
        created_at_us: e.created_at,
        started_at_us: e.started_at,
        completed_at_us: e.completed_at,
        error_code: s(&e.error_code),
        error_message: s(&e.error_message),
        retry_count: e.retry_count,
        output_null: e.output_null,
        first_seen_seq: first.0,
        first_seen_at_us: first.1,
        failed_seen_seq: failed.map(|f| f.0),
        failed_seen_at_us: failed.map(|f| f.1),
        place: place.to_string(),
    }
}

/// The derived tables of a recording whose report is `r`.
pub fn derived(rec: &Recording, id: &str, r: &Report) -> Result<Derived, StoreError> {
    let mut d = Derived::default();
    let Some(last) = rec.infos.last().map(|i| i.seq) else {
        return Ok(d);
    };
    let jobs: Vec<(String, u32)> = r
        .jobs
        .iter()
        .filter_map(|j| {
            rec.jobs
                .iter()
                .find(|(n, _)| *n == j.summary.job_id)
                .cloned()
        })
        .collect();
    let state = rec.state_at(last, &jobs)?;
    for (j, js) in r.jobs.iter().zip(&state.jobs) {
        let m = matrix_for(js, state.router.as_ref());
        latest_rows(rec, id, last, j, js, &m, &mut d.executions_latest)?;
        cell_rows(id, last, j, &m, &mut d.cells);
        d.answers.push(answer_row(rec, id, last, j));
    }
    d.router_polls = router_polls(rec, id)?;
    Ok(d)
}

/// Every row of one job as the last snapshot has it.
fn latest_rows(
    rec: &Recording,
    id: &str,
    last: u64,
    j: &crate::analysis::job::JobReport,
    js: &crate::analysis::JobState,
    m: &crate::beacon::ExpectedMatrix,
    out: &mut Vec<LatestRow>,
) -> Result<(), StoreError> {
    let at = |seq: u64| rec.info(seq).map_or(0, |i| i.started_at);
    let name = &j.summary.job_id;
    let single_default = m.questions.len() == 1 && m.questions[0] == "default";
    let place = |e: &Execution| -> &'static str {
        let q = e
            .question_id
            .as_deref()
            .or(single_default.then_some("default"));
        match (q, e.model_id.as_deref(), e.region.as_deref()) {
            (Some(q), Some(mo), Some(rg)) if rg != "unknown" && !rg.is_empty() => {
                if m.has(q, mo, rg) {
                    "expected"
                } else {
                    "unexpected"
                }
            }
            _ => "no_cell",
        }
    };
    let failed: BTreeMap<i64, u64> = j
        .history
        .failures
        .observed
        .iter()
        .map(|o| (o.id, o.failed_seq))
        .collect();
    for (eid, l) in lives(rec, js.index)? {
        let Some(e) = &l.last else { continue };
        out.push(latest_row(
            id,
            name,
            format!("id:{eid}"),
            Some(eid),
            None,
            !l.gone,
            last,
            l.changed_seq,
            e,
            (l.first_seq, at(l.first_seq)),
            failed.get(&eid).map(|s| (*s, at(*s))),
            place(e),
        ));
    }
    let extras = rec.reader.extras_versions(js.index)?;
    let extras_changed = extras.last().map_or(last, |(s, _)| *s);
    for (n, x) in js.extras.iter().enumerate() {
        // Kept beside the list without a history of their own: the Nth such row is seen
        // since the first list that had N of them.
        let seen = extras
            .iter()
            .find(|(_, l)| l.len() > n)
            .map_or(extras_changed, |(s, _)| *s);
        out.push(latest_row(
            id,
            name,
            format!("x:{n}"),
            x.id(),
            Some(x.why),
            true,
            last,
            extras_changed,
            &x.exec,
            (seen, at(seen)),
            None,
            place(&x.exec),
        ));
    }
    Ok(())
}

/// Each expected cell of one job (a listed matrix only).
fn cell_rows(
    id: &str,
    last: u64,
    j: &crate::analysis::job::JobReport,
    m: &crate::beacon::ExpectedMatrix,
    out: &mut Vec<CellRow>,
) {
    let name = &j.summary.job_id;
    let c = &j.summary.cells;
    if c.listed {
        for cell in m.cells() {
            let rows = c.rows_of(cell).unwrap_or(&[]);
            let (_, executions) = distinct_executions(rows.iter().map(|(_, i)| *i));
            let (q, mo, rg) = m.names(cell);
            out.push(CellRow {
                recording_id: id.to_string(),
                job: name.clone(),
                as_of_seq: last,
                question_id: q.to_string(),
                model_id: mo.to_string(),
                region: rg.to_string(),
                rows: rows.len() as u32,
                executions: executions as u32,
                statuses: rows
                    .iter()
                    .map(|(st, _)| st.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                missing: rows.is_empty() && c.complete,
            });
        }
    }
}

/// One job's answer, in numbers.
fn answer_row(
    rec: &Recording,
    id: &str,
    last: u64,
    j: &crate::analysis::job::JobReport,
) -> AnswerRow {
    let at = |seq: u64| rec.info(seq).map_or(0, |i| i.started_at);
    let name = &j.summary.job_id;
    let a = &j.answer;
    let f = a.failures.as_ref();
    let v = a.default_view.as_ref();
    let first_row = j.history.growth.first_row_at.map(|t| t.0);
    let first_failed_seen = j.history.failures.first_seen_failed_at.map(|t| t.0);
    AnswerRow {
        recording_id: id.to_string(),
        job: name.clone(),
        as_of_seq: last,
        as_of_us: at(last),
        status: j.summary.status.clone(),
        path: j.summary.expected.path.map(str::to_string),
        expected_cells: j.summary.expected.cells,
        declared: j.summary.expected.declared,
        rows: a.complete.rows as u64,
        covered: a.complete.covered as u64,
        missing: a.missing,
        unknown: a.unknown,
        duplicated_cells: a.complete.duplicated_cells as u64,
        extra_runs: a.complete.extra_runs as u64,
        repeated_rows: a.complete.repeated_rows as u64,
        unexpected: a.complete.unexpected as u64,
        no_cell: a.complete.no_cell as u64,
        failed: j.history.failures.total as u64,
        default_view_rows: v.map(|v| v.rows),
        default_view_seq: v.map(|v| v.seen.seq),
        default_view_complete_rows: v.and_then(|v| v.complete_then.map(|c| c as u64)),
        default_view_truncated: v.and_then(|v| v.truncated),
        redeliveries_shown: v.map(|v| v.duplicates_shown as u64),
        first_row_seen_at_us: first_row,
        first_failed_seen_at_us: first_failed_seen,
        last_failed_seen_at_us: j.history.failures.last_seen_failed_at.map(|t| t.0),
        seconds_to_first_failure: first_row
            .zip(first_failed_seen)
            .map(|(a, b)| (b - a) as f64 / 1e6),
        first_failed_at_us: f.and_then(|f| f.first.map(|t| t.0)),
        last_failed_at_us: f.and_then(|f| f.last.map(|t| t.0)),
        runner_offset_seconds: j.history.clock_skew.map(|k| k.offset_seconds),
    }
}

/// The router as each poll observed it (`/health` answered in that poll), and as last
/// observed at or before it: joined on `seq`, a row's poll gives the router "as of" it.
pub fn router_polls(rec: &Recording, id: &str) -> Result<Vec<RouterPollRow>, StoreError> {
    let versions = rec.reader.router_versions()?;
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(rec.infos.len());
    let mut v = 0;
    let mut last: Option<(u64, crate::beacon::RouterHealth)> = None;
    for info in &rec.infos {
        while v + 1 < versions.len() && versions[v + 1].0 <= info.seq {
            v += 1;
        }
        let h = versions
            .get(v)
            .filter(|(s, _)| *s <= info.seq)
            .and_then(|(_, r)| r.health.clone());
        let health_seen = rec.seen.health_at(info.seq);
        if health_seen && let Some(h) = &h {
            last = Some((info.seq, h.clone()));
        }
        let now = h.filter(|_| health_seen);
        out.push(RouterPollRow {
            recording_id: id.to_string(),
            seq: info.seq,
            taken_at_us: info.started_at,
            health_seen,
            providers_seen: rec.seen.providers_at(info.seq),
            status: now.as_ref().and_then(|h| h.status.clone()),
            version: now.as_ref().and_then(|h| h.version.clone()),
            providers_total: now.as_ref().and_then(|h| h.providers_total),
            providers_healthy: now.as_ref().and_then(|h| h.providers_healthy),
            last_seq: last.as_ref().map(|(s, _)| *s),
            last_version: last.as_ref().and_then(|(_, h)| h.version.clone()),
            last_providers_total: last.as_ref().and_then(|(_, h)| h.providers_total),
            last_providers_healthy: last.as_ref().and_then(|(_, h)| h.providers_healthy),
        });
    }
    Ok(out)
}

/// The rows of `d` a ship of snapshots from `from` on must send: executions and cells that
/// changed since (with the rows kept beside the list re-sent whole, and keys they no longer
/// fill marked not listed; every cell when `all_cells`: a spec or the router's regions
/// changed), the answers, and the polls from `from` on.
pub fn changed_since(
    d: &Derived,
    rec: &Recording,
    from: u64,
    all_cells: bool,
) -> Result<Derived, StoreError> {
    let mut out = Derived {
        answers: d.answers.clone(),
        router_polls: d
            .router_polls
            .iter()
            .filter(|r| r.seq >= from)
            .cloned()
            .collect(),
        ..Default::default()
    };
    // Rows beside the list: a job's whole list is re-sent when it changed; keys it no longer
    // fills are sent as not listed.
    let mut beside_changed: BTreeSet<&str> = BTreeSet::new();
    let mut changed_cells: BTreeSet<(&str, &str, &str, &str)> = BTreeSet::new();
    for r in &d.executions_latest {
        if r.changed_seq < from {
            continue;
        }
        if r.kept_beside.is_some() {
            beside_changed.insert(&r.job);
        }
        if let (Some(q), Some(m), Some(g)) = (&r.question_id, &r.model_id, &r.region) {
            changed_cells.insert((&r.job, q, m, g));
        }
    }
    for r in &d.executions_latest {
        let keep = if r.kept_beside.is_some() {
            beside_changed.contains(r.job.as_str())
        } else {
            r.changed_seq >= from
        };
        if keep {
            out.executions_latest.push(r.clone());
        }
    }
    for job in beside_changed {
        let Some(&(_, idx)) = rec.jobs.iter().find(|(n, _)| n == job) else {
            continue;
        };
        let now = d
            .executions_latest
            .iter()
            .filter(|r| r.job == job && r.kept_beside.is_some())
            .count();
        let before = if from > 1 {
            rec.reader.extras_at(idx, from - 1)?.len()
        } else {
            0
        };
        let as_of = d.answers.first().map_or(from, |a| a.as_of_seq);
        for n in now..before {
            out.executions_latest.push(LatestRow {
                recording_id: d
                    .answers
                    .first()
                    .map_or(String::new(), |a| a.recording_id.clone()),
                job: job.to_string(),
                key: format!("x:{n}"),
                id: None,
                kept_beside: None,
                listed: false,
                as_of_seq: as_of,
                changed_seq: as_of,
                status: String::new(),
                question_id: None,
                model_id: None,
                region: None,
                region_raw: None,
                provider_id: None,
                created_at_us: None,
                started_at_us: None,
                completed_at_us: None,
                error_code: None,
                error_message: None,
                retry_count: None,
                output_null: None,
                first_seen_seq: as_of,
                first_seen_at_us: rec.info(as_of).map_or(0, |i| i.started_at),
                failed_seen_seq: None,
                failed_seen_at_us: None,
                place: "no_cell".into(),
            });
        }
    }
    let first = rec.infos.first().map_or(0, |i| i.seq);
    for c in &d.cells {
        let touched = changed_cells.contains(&(
            c.job.as_str(),
            c.question_id.as_str(),
            c.model_id.as_str(),
            c.region.as_str(),
        ));
        if all_cells || from <= first || touched {
            out.cells.push(c.clone());
        }
    }
    Ok(out)
}
