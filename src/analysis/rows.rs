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
        let [q, m, r] = parts.as_slice() else {
            return Err(format!(
                "{s:?} is not a cell (use QUESTION/MODEL/REGION, any part * for any)"
            ));
        };
        let part = |p: &str| (p != "*" && !p.is_empty()).then(|| p.to_string());
        Ok((part(q), part(m), part(r).map(|r| normalize_region(&r))))
    }
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
