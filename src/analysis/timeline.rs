//! The incident's story in order: typed events derived from consecutive snapshots. A poll in
//! which nothing changed yields no event.

use super::matrix::Cell;
use super::recording::Recording;
use super::router::{RouterChange, router_changes};
use super::values::{FetchKind, Stamp};
use crate::beacon::{Execution, Str};
use crate::fetch::SourceKind;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

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
        status: Str,
    },
    ExecutionChanged {
        execution_id: i64,
        cell: Option<Cell>,
        field: &'static str,
        from: Option<Str>,
        to: Option<Str>,
        /// The error code, when the status changed to failed.
        error_code: Option<Str>,
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
    /// `blackbox note`, at the snapshot its time falls in.
    Note {
        note: super::recording::Note,
    },
    /// An extra endpoint's answer changed (by key).
    EndpointChanged {
        #[serde(flatten)]
        change: super::endpoints::EndpointChange,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub at: Stamp,
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Str>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The cell a row fills, by the matrix's rule (no question: `default`; region `unknown`: none).
pub(crate) fn cell_of(e: &Execution) -> Option<Cell> {
    Some(Cell {
        question_id: e.question_id.as_deref().unwrap_or("default").into(),
        model_id: e.model_id.clone().filter(|m| !m.is_empty())?,
        region: e
            .region
            .clone()
            .filter(|r| !r.is_empty() && r != "unknown")?,
    })
}

/// Where an event sorts within its snapshot: request failures first, then each job in turn
/// (its status, its rows by id, its rows stopping), then the router.
type Order = (u64, u32, i64, u8);

/// The events of one job's rows, from one sweep in (id, seq) order.
struct RowEvents<'g> {
    /// The timeline's events, this job's appended (with `place`).
    events: &'g mut Vec<(Order, u32, EventKind)>,
    place: u32,
    /// (cell, seq, id) of every appearance of a row with a cell.
    appearances: Vec<(Cell, u64, i64)>,
    /// Rows whose last version is not a tombstone.
    live: usize,
    /// The last snapshot at which a row appeared.
    last_added: Option<u64>,
}

impl<'g> RowEvents<'g> {
    fn sweep(
        rec: &Recording,
        job: u32,
        (order, place): (u32, u32),
        seqs: &RangeInclusive<u64>,
        events: &'g mut Vec<(Order, u32, EventKind)>,
    ) -> Result<RowEvents<'g>, StoreError> {
        let mut w = RowEvents {
            events,
            place,
            appearances: Vec::new(),
            live: 0,
            last_added: None,
        };
        let ids = i64::MIN..=i64::MAX;
        let mut prev: Option<(i64, Option<Execution>)> = None;
        // Read in place; what events say of a row (status, provider, error code, cell) kept.
        rec.reader.each_exec_ref(job, ids, |id, seq, v| {
            let v = v.map(|e| e.brief());
            let old = match prev.take() {
                Some((pid, Some(o))) if pid == id => Some(o),
                _ => None,
            };
            let key = (seq, order, id, 0);
            let shown = seqs.contains(&seq);
            match (&old, &v) {
                (None, Some(e)) => {
                    let cell = cell_of(e);
                    if let Some(c) = &cell {
                        w.appearances.push((c.clone(), seq, id));
                    }
                    if shown {
                        let status = e.status.clone();
                        let kind = EventKind::ExecutionAppeared {
                            execution_id: id,
                            cell,
                            status,
                        };
                        w.events.push((key, w.place, kind));
                    }
                    w.live += 1;
                    w.last_added = w.last_added.max(Some(seq));
                }
                (Some(o), Some(e)) if shown => {
                    for (field, a, b) in [
                        ("status", Some(&o.status), Some(&e.status)),
                        (
                            "provider_id",
                            o.provider_id.as_ref(),
                            e.provider_id.as_ref(),
                        ),
                    ] {
                        if a != b {
                            let kind = EventKind::ExecutionChanged {
                                execution_id: id,
                                cell: cell_of(e),
                                field,
                                from: a.cloned(),
                                to: b.cloned(),
                                error_code: (field == "status" && e.is_failed())
                                    .then(|| e.error_code.clone())
                                    .flatten(),
                            };
                            w.events.push((key, w.place, kind));
                        }
                    }
                }
                (Some(o), None) => {
                    if shown {
                        let kind = EventKind::ExecutionVanished {
                            execution_id: id,
                            cell: cell_of(o),
                        };
                        w.events.push((key, w.place, kind));
                    }
                    w.live -= 1;
                }
                _ => {}
            }
            prev = Some((id, v));
        })?;
        Ok(w)
    }
}

/// A cell gets a second row: at the first appearance, in (seq, id) order, of an id other than
/// the cell's first.
fn duplications(mut seen: Vec<(Cell, u64, i64)>, order: u32) -> Vec<(Order, EventKind)> {
    seen.sort_unstable();
    let mut out = Vec::new();
    for group in seen.chunk_by(|a, b| a.0 == b.0) {
        let first = group[0].2;
        if let Some((cell, seq, id)) = group.iter().find(|(_, _, id)| *id != first) {
            let mut execution_ids = vec![first, *id];
            execution_ids.sort_unstable();
            let kind = EventKind::CellDuplicated {
                cell: cell.clone(),
                execution_ids,
            };
            out.push(((*seq, order, *id, 1), kind));
        }
    }
    out
}

/// Events between `from` and `to` (seqs, inclusive), for the given jobs, in seq order.
pub fn timeline(
    rec: &Recording,
    from: u64,
    to: u64,
    jobs: &[(String, u32)],
) -> Result<Vec<Event>, StoreError> {
    let mut g = Gathered {
        seqs: from..=to,
        ev: Vec::new(),
    };
    fetch_events(rec, jobs, &mut g);
    for (place, (_, idx)) in jobs.iter().enumerate() {
        job_events(rec, place as u32, *idx, &mut g)?;
    }
    other_events(rec, &mut g)?;
    Ok(in_order(rec, jobs, g.ev))
}

/// Events gathered in any order with their sort keys (jobs by their place in the list asked
/// for, `u32::MAX` for none); only those of snapshots in `seqs` are kept.
struct Gathered {
    seqs: RangeInclusive<u64>,
    ev: Vec<(Order, u32, EventKind)>,
}

impl Gathered {
    fn push(&mut self, key: Order, job: u32, kind: EventKind) {
        if self.seqs.contains(&key.0) {
            self.ev.push((key, job, kind));
        }
    }
}

/// Requests failing, not sent, and recovering, per (source, job).
fn fetch_events(rec: &Recording, jobs: &[(String, u32)], g: &mut Gathered) {
    let job_ids: BTreeSet<u32> = jobs.iter().map(|(_, i)| *i).collect();
    let job_place = |i: u32| jobs.iter().position(|(_, j)| *j == i).map(|p| p as u32);
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
            let job = key.1.and_then(job_place).unwrap_or(u32::MAX);
            let order = (info.seq, 0, 0, 0);
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
                    g.push(order, job, e);
                    failing.insert(key, kind);
                }
                (Some(was), None) => {
                    g.push(order, job, EventKind::FetchRecovered { source, was });
                    failing.remove(&key);
                }
                _ => {}
            }
        }
    }
}

/// One job's status changes and its rows' events.
fn job_events(rec: &Recording, place: u32, idx: u32, g: &mut Gathered) -> Result<(), StoreError> {
    let seqs = g.seqs.clone();
    let order = place + 1;
    // Job status.
    let mut prev: Option<Option<String>> = None;
    for (seq, r) in rec.reader.job_versions(idx)? {
        let st = if r.found {
            r.status.clone()
        } else {
            Some("not found".into())
        };
        if prev.as_ref() != Some(&st) {
            let kind = EventKind::JobStatus {
                from: prev.clone().flatten(),
                to: st.clone(),
            };
            g.push((seq, order, i64::MIN, 0), place, kind);
            prev = Some(st);
        }
    }
    // Rows, in one sweep straight into the timeline: on two cores the sweep was 10 % faster
    // but each core's heap kept its own copy of the events (replay --json: 120 MiB, not 75).
    let w = RowEvents::sweep(rec, idx, (order, place), &seqs, &mut g.ev)?;
    let (appearances, live, last_added) = (w.appearances, w.live, w.last_added);
    for (k, e) in duplications(appearances, order) {
        g.push(k, place, e);
    }
    // Rows stopped growing: after the last snapshot that added rows, if more followed.
    if let Some(last_seq) = last_added
        && rec.infos.last().is_some_and(|l| l.seq > last_seq)
    {
        let later = rec.infos.iter().filter(|i| i.seq > last_seq).count();
        let kind = EventKind::RowsStopped {
            rows: live,
            later_snapshots: later,
        };
        g.push((last_seq, order, i64::MAX, 0), place, kind);
    }
    Ok(())
}

/// The router's changes, the extra endpoints' changes, the notes.
fn other_events(rec: &Recording, g: &mut Gathered) -> Result<(), StoreError> {
    // Router.
    let mut prev: Option<crate::beacon::RouterRec> = None;
    for (seq, r) in rec.reader.router_versions()? {
        if let Some(p) = &prev {
            for change in router_changes(p, &r) {
                g.push(
                    (seq, u32::MAX, 0, 0),
                    u32::MAX,
                    EventKind::Router { change },
                );
            }
        }
        prev = Some(r);
    }
    // The extra endpoints, after the router.
    for c in super::endpoints::changes(rec)? {
        let seq = c.seq;
        g.push(
            (seq, u32::MAX, 1, 0),
            u32::MAX,
            EventKind::EndpointChanged { change: c },
        );
    }
    // Notes, before everything else of their snapshot.
    for n in &rec.notes {
        if let Some(seq) = rec.seq_at(n.at.0) {
            g.push(
                (seq, 0, i64::MIN, 0),
                u32::MAX,
                EventKind::Note { note: n.clone() },
            );
        }
    }
    Ok(())
}

/// The events in time order (sorting small keys, not the events).
fn in_order(
    rec: &Recording,
    jobs: &[(String, u32)],
    ev: Vec<(Order, u32, EventKind)>,
) -> Vec<Event> {
    let mut ev = ev;
    // Stable, in place: events with one key keep the order they were gathered in.
    ev.sort_by_key(|e| e.0);
    let names: Vec<Str> = jobs.iter().map(|(n, _)| Str::from(n.as_str())).collect();
    ev.into_iter()
        .map(|((seq, ..), job, kind)| Event {
            at: Stamp(rec.info(seq).map_or(0, |i| i.started_at)),
            seq,
            job: names.get(job as usize).cloned(),
            kind,
        })
        .collect()
}
