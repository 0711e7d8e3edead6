//! The rows themselves at one snapshot (`show --rows`): each with its cell, status, times,
//! error, and whether the default view showed it. In the runner's order: newest `created_at`
//! first, ties by id.

use super::recording::Recording;
use super::summary::{ShowError, SnapshotRef, snapshot_ref};
use super::values::Stamp;
use crate::beacon::{ExtraWhy, normalize_region};
use serde::Serialize;
use std::collections::BTreeSet;

/// question / model / region of a cell filter; `None` (`*`) matches anything.
pub type CellFilter = (Option<String>, Option<String>, Option<String>);

/// Which rows to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowFilter {
    pub status: Option<String>,
    /// Regions through aliases (`US` = `us-east`).
    pub cell: Option<CellFilter>,
}

impl RowFilter {
    /// Parses `Q/M/R`, any part `*` for "any".
    pub fn parse_cell(s: &str) -> Result<CellFilter, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || format!("{s:?} is not a cell (use QUESTION/MODEL/REGION, any part * for any)");
        let [q, m, r] = parts.as_slice() else {
            return Err(bad());
        };
        // An empty part is a slip (`a//b`): "any" is said with `*`.
        if [q, m, r].iter().any(|p| p.trim().is_empty()) {
            return Err(bad());
        }
        let part = |p: &str| (p != "*").then(|| p.to_string());
        Ok((part(q), part(m), part(r).map(|r| normalize_region(&r))))
    }
}

/// Execution statuses the runner writes (its `executions.status`), besides any in the rows.
pub const KNOWN_STATUSES: [&str; 10] = [
    "queued",
    "created",
    "pending",
    "processing",
    "running",
    "retrying",
    "finalizing",
    "completed",
    "failed",
    "cancelled",
];

/// A filter naming a status, question, model or region that neither the rows at this
/// snapshot, the job's spec nor (for a status) the runner knows: most likely a typo, refused
/// with the values there are.
fn check_filter(state: &super::recording::State, f: &RowFilter) -> Result<(), String> {
    let mut statuses: BTreeSet<String> = KNOWN_STATUSES.iter().map(|s| s.to_string()).collect();
    let mut parts: [BTreeSet<String>; 3] = Default::default();
    for js in &state.jobs {
        for r in js.rows() {
            let e = &r.exec;
            statuses.insert(e.status.to_string());
            for (k, v) in [&e.question_id, &e.model_id, &e.region]
                .into_iter()
                .enumerate()
            {
                if let Some(v) = v {
                    parts[k].insert(v.to_string());
                }
            }
        }
        let m = super::summary::matrix_for(js, state.router.as_ref());
        for (k, list) in [&m.questions, &m.models, &m.regions]
            .into_iter()
            .enumerate()
        {
            parts[k].extend(list.iter().cloned());
        }
    }
    let list = |set: &BTreeSet<String>| {
        let shown: Vec<String> = set.iter().take(12).map(|v| format!("{v:?}")).collect();
        format!(
            "{}{}",
            shown.join(", "),
            if set.len() > 12 {
                format!(" and {} more", set.len() - 12)
            } else {
                String::new()
            }
        )
    };
    if let Some(st) = &f.status
        && !statuses.contains(st)
    {
        return Err(format!(
            "no status {st:?}: the rows and the runner know {}",
            list(&statuses)
        ));
    }
    if let Some((q, m, r)) = &f.cell {
        for ((name, want), known) in ["question", "model", "region"]
            .into_iter()
            .zip([q, m, r])
            .zip(&parts)
        {
            if let Some(w) = want
                && !known.contains(w)
            {
                return Err(format!(
                    "no {name} {w:?} in the rows or the spec of this snapshot; there are {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        list(known)
                    }
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowOut {
    /// `None` for a row without a usable id.
    pub id: Option<i64>,
    /// Set for a row kept beside the by-id list.
    pub kept_beside: Option<ExtraWhy>,
    pub question_id: Option<String>,
    pub model_id: Option<String>,
    pub region: Option<String>,
    pub status: String,
    pub provider_id: Option<String>,
    pub created_at: Option<Stamp>,
    pub started_at: Option<Stamp>,
    pub completed_at: Option<Stamp>,
    pub duration_seconds: Option<f64>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub retry_count: Option<u32>,
    pub in_default_view: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobRowsOut {
    pub job_id: String,
    /// Rows of the job at the snapshot, and how many the filter kept.
    pub total: usize,
    pub listed: usize,
    /// Rows the default view showed (`None` when it was not recorded).
    pub default_view_rows: Option<u32>,
    pub rows: Vec<RowOut>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowsOut {
    pub snapshot: SnapshotRef,
    pub jobs: Vec<JobRowsOut>,
}

pub fn rows(
    rec: &Recording,
    seq: u64,
    job: Option<&str>,
    filter: &RowFilter,
) -> Result<RowsOut, ShowError> {
    let jobs = rec.select_jobs(job).map_err(ShowError::Job)?;
    let state = rec.state_at(seq, &jobs)?;
    check_filter(&state, filter).map_err(ShowError::Filter)?;
    let mut out = Vec::new();
    for js in &state.jobs {
        let shown: BTreeSet<i64> = js
            .rec
            .as_ref()
            .map(|r| r.default_ids.iter().copied().collect())
            .unwrap_or_default();
        let extras = js.extras.iter().map(|x| (x.id(), Some(x.why), &x.exec));
        let mut all: Vec<RowOut> = js
            .execs
            .values()
            .map(|e| (Some(e.id), None, e))
            .chain(extras)
            .filter(|(_, _, e)| {
                filter.status.as_deref().is_none_or(|s| e.status == s)
                    && filter.cell.as_ref().is_none_or(|(q, m, r)| {
                        q.as_deref()
                            .is_none_or(|q| e.question_id.as_deref() == Some(q))
                            && m.as_deref()
                                .is_none_or(|m| e.model_id.as_deref() == Some(m))
                            && r.as_deref().is_none_or(|r| e.region.as_deref() == Some(r))
                    })
            })
            .map(|(id, why, e)| RowOut {
                id,
                kept_beside: why,
                question_id: e.question_id.as_deref().map(str::to_string),
                model_id: e.model_id.as_deref().map(str::to_string),
                region: e.region_raw.as_deref().map(str::to_string),
                status: e.status.to_string(),
                provider_id: e.provider_id.as_deref().map(str::to_string),
                created_at: e.created_at.map(Stamp),
                started_at: e.started_at.map(Stamp),
                completed_at: e.completed_at.map(Stamp),
                duration_seconds: e.duration_secs(),
                error_code: e.error_code.as_deref().map(str::to_string),
                error: e.error_message.as_deref().map(str::to_string),
                retry_count: e.retry_count,
                in_default_view: why.is_none() && id.is_some_and(|i| shown.contains(&i)),
            })
            .collect();
        // The runner's order: created_at DESC, then id.
        all.sort_by(|a, b| {
            b.created_at
                .or(b.started_at)
                .cmp(&a.created_at.or(a.started_at))
                .then(a.id.cmp(&b.id))
        });
        out.push(JobRowsOut {
            job_id: js.job_id.clone(),
            total: js.row_count(),
            listed: all.len(),
            default_view_rows: js.rec.as_ref().and_then(|r| r.default_rows),
            rows: all,
        });
    }
    Ok(RowsOut {
        snapshot: snapshot_ref(rec, seq),
        jobs: out,
    })
}
