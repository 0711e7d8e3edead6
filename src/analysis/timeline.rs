//! The incident's story in order: events derived from consecutive snapshots. A poll in which
//! nothing changed yields no event.

use super::Recording;
use super::health::{RouterChange, router_changes};
use super::matrix::Cell;
use crate::beacon::{Execution, format_micros};
use crate::fetch::{FetchErrorKind, SourceKind};
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub at: String,
    #[serde(skip)]
    pub at_us: i64,
    pub seq: u64,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<Cell>,
    /// Kind-specific details (old/new values, fetch error kind, ...).
    pub detail: BTreeMap<String, serde_json::Value>,
    pub message: String,
}

fn cell_of(e: &Execution) -> Option<Cell> {
    Some(Cell {
        question_id: e.question_id.as_deref().unwrap_or("default").to_string(),
        model_id: e.model_id.as_deref()?.to_string(),
        region: e.region.as_deref().filter(|r| *r != "unknown")?.to_string(),
    })
}

/// Events between `from` and `to` (seqs, inclusive), for the given jobs.
pub fn timeline(
    rec: &Recording,
    from: u64,
    to: u64,
    jobs: &[(String, u32)],
) -> Result<Vec<Event>, StoreError> {
    let mut ev: Vec<Event> = Vec::new();
    let at = |seq: u64| rec.info(seq).map_or(0, |i| i.started_at);
    let mk = |seq: u64, kind: &'static str, job: Option<&str>, message: String| Event {
        at: format_micros(at(seq)),
        at_us: at(seq),
        seq,
        kind,
        job: job.map(str::to_string),
        execution_id: None,
        cell: None,
        detail: BTreeMap::new(),
        message,
    };
    let in_range = |s: u64| s >= from && s <= to;
    let job_ids: BTreeSet<u32> = jobs.iter().map(|(_, i)| *i).collect();
    let job_name = |i: u32| jobs.iter().find(|(_, j)| *j == i).map(|(n, _)| n.clone());

    // Fetch failures and recoveries, per (source, job).
    let mut failing: BTreeMap<(u8, Option<u32>), String> = BTreeMap::new();
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        let mut now: BTreeMap<(u8, Option<u32>), Option<String>> = BTreeMap::new();
        for f in &snap.fetches {
            if f.job.is_some_and(|j| !job_ids.contains(&j)) {
                continue;
            }
            let e = now.entry((f.source, f.job)).or_insert(None);
            let o = f.outcome();
            if (o.is_failure() || o.is_gap()) && e.is_none() {
                *e = Some(f.outcome_word());
            }
        }
        for (key, state) in now {
            let name = SourceKind::from_u8(key.0).map_or("?", |k| k.name());
            let job = key.1.and_then(job_name);
            match (failing.get(&key).cloned(), state) {
                (old, Some(kind)) if old.as_ref() != Some(&kind) => {
                    if in_range(info.seq) {
                        // A request the recorder did not send is its own gap, not the source.
                        let unsent = kind == FetchErrorKind::RateBudget.name()
                            || kind == FetchErrorKind::Waiting.name();
                        let message = match (old, unsent) {
                            (_, true) => format!(
                                "{name} not sent: {kind} (a gap of the recorder, not a failure of the source)"
                            ),
                            (None, false) => format!("{name} failed: {kind}"),
                            (Some(_), false) => format!("{name} still failing, now: {kind}"),
                        };
                        let what = if unsent {
                            "fetch_not_sent"
                        } else {
                            "fetch_failed"
                        };
                        let mut e = mk(info.seq, what, job.as_deref(), message);
                        e.detail.insert("source".into(), name.into());
                        e.detail.insert("error".into(), kind.clone().into());
                        ev.push(e);
                    }
                    failing.insert(key, kind);
                }
                (Some(old), None) => {
                    if in_range(info.seq) {
                        let mut e = mk(
                            info.seq,
                            "fetch_recovered",
                            job.as_deref(),
                            format!("{name} recovered (was: {old})"),
                        );
                        e.detail.insert("source".into(), name.into());
                        e.detail.insert("was".into(), old.into());
                        ev.push(e);
                    }
                    failing.remove(&key);
                }
                _ => {}
            }
        }
    }

    for (name, idx) in jobs {
        // Job status.
        let mut prev: Option<Option<String>> = None;
        for (seq, r) in rec.reader.job_versions(*idx)? {
            let st = if r.found {
                r.status.clone()
            } else {
                Some("not found".into())
            };
            if prev.as_ref() != Some(&st) {
                if in_range(seq) {
                    let old = prev.clone().flatten();
                    let mut e = mk(
                        seq,
                        "job_status",
                        Some(name),
                        match &old {
                            Some(o) => {
                                format!("job {name} status {o} -> {}", st.as_deref().unwrap_or("?"))
                            }
                            None => format!("job {name} status {}", st.as_deref().unwrap_or("?")),
                        },
                    );
                    e.detail.insert("from".into(), serde_json::json!(old));
                    e.detail.insert("to".into(), serde_json::json!(st));
                    ev.push(e);
                }
                prev = Some(st);
            }
        }
        // Executions, in seq order.
        let mut versions = rec.reader.exec_versions(*idx)?;
        versions.sort_by_key(|(id, seq, _)| (*seq, *id));
        let mut live: BTreeMap<i64, Execution> = BTreeMap::new();
        let mut cells: BTreeMap<Cell, BTreeSet<i64>> = BTreeMap::new();
        let mut count_by_seq: BTreeMap<u64, usize> = BTreeMap::new();
        for (id, seq, v) in versions {
            let old = live.get(&id).cloned();
            match (old, v) {
                (None, Some(e)) => {
                    let cell = cell_of(&e);
                    if in_range(seq) {
                        let mut x = mk(
                            seq,
                            "execution_appeared",
                            Some(name),
                            format!(
                                "execution {id} appeared: {} {}",
                                cell.as_ref().map_or("(no cell)".into(), |c| format!(
                                    "{}/{}/{}",
                                    c.question_id, c.model_id, c.region
                                )),
                                e.status
                            ),
                        );
                        x.execution_id = Some(id);
                        x.cell = cell.clone();
                        x.detail.insert("status".into(), e.status.as_str().into());
                        ev.push(x);
                    }
                    if let Some(c) = cell {
                        let ids = cells.entry(c.clone()).or_default();
                        ids.insert(id);
                        if ids.len() == 2 && in_range(seq) {
                            let mut x = mk(
                                seq,
                                "cell_duplicated",
                                Some(name),
                                format!(
                                    "cell {}/{}/{} got a second row: {}",
                                    c.question_id,
                                    c.model_id,
                                    c.region,
                                    ids.iter()
                                        .map(|i| i.to_string())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            );
                            x.execution_id = Some(id);
                            x.cell = Some(c);
                            x.detail
                                .insert("execution_ids".into(), serde_json::json!(ids));
                            ev.push(x);
                        }
                    }
                    live.insert(id, e);
                    *count_by_seq.entry(seq).or_default() += 1;
                }
                (Some(o), Some(e)) => {
                    if in_range(seq) {
                        for (field, a, b) in [
                            ("status", Some(o.status.clone()), Some(e.status.clone())),
                            ("provider_id", o.provider_id.clone(), e.provider_id.clone()),
                        ] {
                            if a != b {
                                let mut x = mk(
                                    seq,
                                    "execution_changed",
                                    Some(name),
                                    format!(
                                        "execution {id} {field} {} -> {}{}",
                                        a.as_deref().map_or("-", |s| if s.is_empty() {
                                            "\"\""
                                        } else {
                                            s
                                        }),
                                        b.as_deref().map_or("-", |s| if s.is_empty() {
                                            "\"\""
                                        } else {
                                            s
                                        }),
                                        if field == "status" && e.is_failed() {
                                            e.error_code
                                                .as_deref()
                                                .map_or(String::new(), |c| format!(" ({c})"))
                                        } else {
                                            String::new()
                                        }
                                    ),
                                );
                                x.execution_id = Some(id);
                                x.cell = cell_of(&e);
                                x.detail.insert("field".into(), field.into());
                                x.detail.insert("from".into(), serde_json::json!(a));
                                x.detail.insert("to".into(), serde_json::json!(b));
                                ev.push(x);
                            }
                        }
                    }
                    live.insert(id, e);
                }
                (Some(o), None) => {
                    if in_range(seq) {
                        let mut x = mk(
                            seq,
                            "execution_vanished",
                            Some(name),
                            format!("execution {id} vanished from the complete list"),
                        );
                        x.execution_id = Some(id);
                        x.cell = cell_of(&o);
                        ev.push(x);
                    }
                    live.remove(&id);
                }
                (None, None) => {}
            }
        }
        // Rows stopped growing: after the last snapshot that added rows, if more followed.
        if let Some((&last_seq, _)) = count_by_seq.iter().next_back()
            && rec.infos.last().is_some_and(|l| l.seq > last_seq)
            && in_range(last_seq)
        {
            let mut x = mk(
                last_seq,
                "rows_stopped",
                Some(name),
                format!(
                    "job {name}: rows stopped growing at {} (no new row in the {} later snapshots)",
                    live.len(),
                    rec.infos.iter().filter(|i| i.seq > last_seq).count()
                ),
            );
            x.detail.insert("rows".into(), live.len().into());
            ev.push(x);
        }
    }

    // Router.
    let mut prev: Option<crate::store::schema::RouterRec> = None;
    for (seq, r) in rec.reader.router_versions()? {
        if let Some(p) = &prev
            && in_range(seq)
        {
            for c in router_changes(p, &r) {
                let mut x = mk(seq, "", None, format!("router: {}", c.describe()));
                match &c {
                    RouterChange::Counts { from, to } => {
                        x.kind = "router_health";
                        x.detail.insert("from".into(), serde_json::json!(from.0));
                        x.detail.insert("to".into(), serde_json::json!(to.0));
                    }
                    RouterChange::Regions { from, to } => {
                        x.kind = "router_regions";
                        x.detail.insert("from".into(), serde_json::json!(from));
                        x.detail.insert("to".into(), serde_json::json!(to));
                    }
                    RouterChange::ProviderHealth { name, healthy } => {
                        x.kind = "provider_health";
                        x.detail.insert("provider".into(), name.clone().into());
                        x.detail
                            .insert("healthy".into(), serde_json::json!(healthy));
                    }
                    RouterChange::ProviderAppeared(name) | RouterChange::ProviderGone(name) => {
                        x.kind = if matches!(c, RouterChange::ProviderGone(_)) {
                            "provider_gone"
                        } else {
                            "provider_appeared"
                        };
                        x.detail.insert("provider".into(), name.clone().into());
                    }
                }
                ev.push(x);
            }
        }
        prev = Some(r);
    }
    ev.sort_by_key(|e| e.seq);
    Ok(ev)
}
