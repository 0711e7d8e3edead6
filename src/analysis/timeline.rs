//! The incident's story in order: typed events derived from consecutive snapshots. A poll in
//! which nothing changed yields no event.

use super::matrix::Cell;
use super::router::{RouterChange, router_changes};
use super::{FetchKind, Recording, Stamp};
use crate::beacon::Execution;
use crate::fetch::SourceKind;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    FetchFailed {
        source: &'static str,
        now: FetchKind,
        /// What it was failing with before, when it already was.
        was: Option<FetchKind>,
    },
    /// The recorder did not send it (its budget, or a 429's wait): a gap, not a failure.
    FetchNotSent {
        source: &'static str,
        now: FetchKind,
    },
    FetchRecovered {
        source: &'static str,
        was: FetchKind,
    },
    JobStatus {
        from: Option<String>,
        to: Option<String>,
    },
    ExecutionAppeared {
        execution_id: i64,
        cell: Option<Cell>,
        status: String,
    },
    ExecutionChanged {
        execution_id: i64,
        cell: Option<Cell>,
        field: &'static str,
        from: Option<String>,
        to: Option<String>,
        /// The error code, when the status changed to failed.
        error_code: Option<String>,
    },
    ExecutionVanished {
        execution_id: i64,
        cell: Option<Cell>,
    },
    CellDuplicated {
        cell: Cell,
        execution_ids: Vec<i64>,
    },
    RowsStopped {
        rows: usize,
        later_snapshots: usize,
    },
    Router {
        #[serde(flatten)]
        change: RouterChange,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub at: Stamp,
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(flatten)]
    pub kind: EventKind,
}

fn cell_of(e: &Execution) -> Option<Cell> {
    Some(Cell {
        question_id: e.question_id.as_deref().unwrap_or("default").to_string(),
        model_id: e.model_id.as_deref()?.to_string(),
        region: e.region.as_deref().filter(|r| *r != "unknown")?.to_string(),
    })
}

/// Events between `from` and `to` (seqs, inclusive), for the given jobs, in seq order.
pub fn timeline(
    rec: &Recording,
    from: u64,
    to: u64,
    jobs: &[(String, u32)],
) -> Result<Vec<Event>, StoreError> {
    let mut ev: Vec<Event> = Vec::new();
    let at = |seq: u64| Stamp(rec.info(seq).map_or(0, |i| i.started_at));
    let in_range = |s: u64| s >= from && s <= to;
    let push = |ev: &mut Vec<Event>, seq: u64, job: Option<&str>, kind: EventKind| {
        if in_range(seq) {
            ev.push(Event {
                at: at(seq),
                seq,
                job: job.map(str::to_string),
                kind,
            });
        }
    };
    let job_ids: BTreeSet<u32> = jobs.iter().map(|(_, i)| *i).collect();
    let job_name = |i: u32| jobs.iter().find(|(_, j)| *j == i).map(|(n, _)| n.clone());

    // Requests failing, not sent, and recovering, per (source, job).
    let mut failing: BTreeMap<(u8, Option<u32>), FetchKind> = BTreeMap::new();
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        let mut now: BTreeMap<(u8, Option<u32>), Option<FetchKind>> = BTreeMap::new();
        for f in &snap.fetches {
            if f.job.is_some_and(|j| !job_ids.contains(&j)) {
                continue;
            }
            let e = now.entry((f.source, f.job)).or_insert(None);
            let o = f.outcome();
            if (o.is_failure() || o.is_gap()) && e.is_none() {
                *e = Some(FetchKind::of(f));
            }
        }
        for (key, state) in now {
            let source = SourceKind::name_of(key.0);
            let job = key.1.and_then(job_name);
            match (failing.get(&key).copied(), state) {
                (old, Some(kind)) if old != Some(kind) => {
                    let e = if kind.not_sent() {
                        EventKind::FetchNotSent { source, now: kind }
                    } else {
                        EventKind::FetchFailed {
                            source,
                            now: kind,
                            was: old,
                        }
                    };
                    push(&mut ev, info.seq, job.as_deref(), e);
                    failing.insert(key, kind);
                }
                (Some(was), None) => {
                    push(
                        &mut ev,
                        info.seq,
                        job.as_deref(),
                        EventKind::FetchRecovered { source, was },
                    );
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
                push(
                    &mut ev,
                    seq,
                    Some(name),
                    EventKind::JobStatus {
                        from: prev.clone().flatten(),
                        to: st.clone(),
                    },
                );
                prev = Some(st);
            }
        }
        // Executions, in seq order.
        let mut versions = rec.reader.exec_versions(*idx)?;
        versions.sort_by_key(|(id, seq, _)| (*seq, *id));
        let mut live: BTreeMap<i64, Execution> = BTreeMap::new();
        let mut cells: BTreeMap<Cell, BTreeSet<i64>> = BTreeMap::new();
        let mut added_at: BTreeSet<u64> = BTreeSet::new();
        for (id, seq, v) in versions {
            match (live.get(&id), v) {
                (None, Some(e)) => {
                    let cell = cell_of(&e);
                    push(
                        &mut ev,
                        seq,
                        Some(name),
                        EventKind::ExecutionAppeared {
                            execution_id: id,
                            cell: cell.clone(),
                            status: e.status.to_string(),
                        },
                    );
                    if let Some(c) = cell {
                        let ids = cells.entry(c.clone()).or_default();
                        ids.insert(id);
                        if ids.len() == 2 {
                            let execution_ids = ids.iter().copied().collect();
                            push(
                                &mut ev,
                                seq,
                                Some(name),
                                EventKind::CellDuplicated {
                                    cell: c,
                                    execution_ids,
                                },
                            );
                        }
                    }
                    live.insert(id, e);
                    added_at.insert(seq);
                }
                (Some(o), Some(e)) => {
                    for (field, a, b) in [
                        (
                            "status",
                            Some(o.status.to_string()),
                            Some(e.status.to_string()),
                        ),
                        (
                            "provider_id",
                            o.provider_id.as_deref().map(str::to_string),
                            e.provider_id.as_deref().map(str::to_string),
                        ),
                    ] {
                        if a != b {
                            push(
                                &mut ev,
                                seq,
                                Some(name),
                                EventKind::ExecutionChanged {
                                    execution_id: id,
                                    cell: cell_of(&e),
                                    field,
                                    from: a,
                                    to: b,
                                    error_code: (field == "status" && e.is_failed())
                                        .then(|| e.error_code.as_deref().map(str::to_string))
                                        .flatten(),
                                },
                            );
                        }
                    }
                    live.insert(id, e);
                }
                (Some(o), None) => {
                    let cell = cell_of(o);
                    push(
                        &mut ev,
                        seq,
                        Some(name),
                        EventKind::ExecutionVanished {
                            execution_id: id,
                            cell,
                        },
                    );
                    live.remove(&id);
                }
                (None, None) => {}
            }
        }
        // Rows stopped growing: after the last snapshot that added rows, if more followed.
        if let Some(&last_seq) = added_at.iter().next_back()
            && rec.infos.last().is_some_and(|l| l.seq > last_seq)
        {
            let later = rec.infos.iter().filter(|i| i.seq > last_seq).count();
            push(
                &mut ev,
                last_seq,
                Some(name),
                EventKind::RowsStopped {
                    rows: live.len(),
                    later_snapshots: later,
                },
            );
        }
    }

    // Router.
    let mut prev: Option<crate::beacon::RouterRec> = None;
    for (seq, r) in rec.reader.router_versions()? {
        if let Some(p) = &prev {
            for change in router_changes(p, &r) {
                push(&mut ev, seq, None, EventKind::Router { change });
            }
        }
        prev = Some(r);
    }
    ev.sort_by_key(|e| e.seq);
    Ok(ev)
}
