//! One job over the whole recording: its status history, rows over time, growth, the largest
//! truncation of its default view, its failures, rows kept beside the by-id list, and whether
//! its rows' clock agrees with the recorder's.

use super::clocks::{ClockSummary, RowBounds, Server, ServerClock};
use super::failures::{self, Failures, ObservedFailure};
use super::recording::{JobState, Recording};
use super::values::Stamp;
use crate::beacon::{ExecRef, ExtraRow, Str};
use crate::store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowsAt {
    pub seq: u64,
    pub taken_at: Stamp,
    pub rows: usize,
    pub by_status: BTreeMap<String, usize>,
    /// This poll read the complete list whole (else `rows` are the last known).
    pub list_seen: bool,
    /// Rows on the default view's page, when this poll fetched it (`None` otherwise: a view
    /// fetched earlier is not a view of this moment).
    pub default_rows: Option<u32>,
    /// The default view last fetched at or before this poll: its poll and rows.
    pub default_last: Option<(u64, u32)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Vanished {
    pub id: i64,
    pub seq: u64,
    pub taken_at: Stamp,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Growth {
    pub first_row_seq: Option<u64>,
    pub first_row_at: Option<Stamp>,
    /// The last snapshot at which the row count went up.
    pub last_new_row_seq: Option<u64>,
    pub last_new_row_at: Option<Stamp>,
    pub max_rows: usize,
    pub vanished: Vec<Vanished>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusChange {
    pub seq: u64,
    pub at: Stamp,
    /// `None` when the view had no status; "not found" is `found: false`.
    pub status: Option<String>,
    pub found: bool,
}

/// The default view against the complete list fetched in the same poll.
pub type Truncation = super::seen::ViewAndList;

/// An id the runner sent more than once in one body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RepeatedId {
    pub id: i64,
    /// Rows with this id at the last snapshot.
    pub rows: usize,
}

/// Rows kept beside the by-id list at the last snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ExtraSummary {
    pub repeated_ids: Vec<RepeatedId>,
    pub without_id: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobHistory {
    pub status_history: Vec<StatusChange>,
    pub rows_over_time: Vec<RowsAt>,
    pub growth: Growth,
    /// The poll whose default view hid the most rows of the complete list fetched with it.
    pub max_truncation: Option<Truncation>,
    /// The first poll whose default view showed fewer rows than the complete list fetched
    /// with it.
    pub first_truncation: Option<Truncation>,
    /// The last poll that fetched both the default view and the complete list.
    pub last_compared: Option<Truncation>,
    /// Polls that fetched the default view, and those that fetched it with the complete list.
    pub view_polls: usize,
    pub compared_polls: usize,
    pub failures: Failures,
    pub extra_rows: ExtraSummary,
    /// The runner's clock against the recorder's when they disagree (the skew finding):
    /// measured from its answers' `Date` headers, else bounded by the rows' own times.
    pub clock_skew: Option<ClockSummary>,
    /// The runner's clock as this job's times are mapped onto the recorder's.
    #[serde(skip)]
    pub runner_clock: ServerClock,
}

/// What one sweep over a range of a job's row versions learns. Versions come in (id, seq)
/// order, so a row's previous version is always the one just seen.
#[derive(Default)]
struct Sweep {
    /// (seq, status, +1 or -1): a row's status entering or leaving the count.
    deltas: Vec<(u64, Str, i8)>,
    /// (id, seq) of the version in which each row last became failed, for rows whose last
    /// version is failed (a row failed, retried and failed again failed at the last).
    last_failed: Vec<(i64, u64)>,
    /// (id, seq) of each tombstone.
    vanished: Vec<(i64, u64)>,
    /// (seq, t): the latest time a row version first carried, and the poll that listed it.
    ahead: Vec<(u64, i64)>,
    /// (seq of the version before, seq, t): a `completed_at` set on a row already listed.
    set_after: Vec<(u64, u64, i64)>,
}

/// A row's last version as the sweep carries it to the next: (id, status, its stamps, its
/// seq, the seq it became failed at when failed).
type Last = (i64, Option<Str>, Option<[Option<i64>; 4]>, u64, Option<u64>);

/// The times of a row version that are on the runner's clock.
fn stamps(e: &ExecRef) -> [Option<i64>; 4] {
    [e.created_at, e.started_at, e.completed_at, e.last_retry_at]
}

impl Sweep {
    fn run(rec: &Recording, job: u32, ids: RangeInclusive<i64>) -> Result<Sweep, StoreError> {
        let mut w = Sweep::default();
        // (id, its last version's status, its stamps, its seq, failed since)
        let mut prev: Option<Last> = None;
        rec.reader.each_exec_ref(job, ids, |id, seq, e| {
            let same = prev.as_ref().is_some_and(|p| p.0 == id);
            if !same && let Some((pid, _, _, _, Some(since))) = prev.take() {
                w.last_failed.push((pid, since));
            }
            let (before, before_stamps, before_seq, since) = match prev.take() {
                Some((_, st, sp, sq, since)) if same => (st, sp, Some(sq), since),
                _ => (None, None, None, None),
            };
            let now = e.as_ref().map(|e| e.status());
            if before != now {
                if let Some(b) = &before {
                    w.deltas.push((seq, b.clone(), -1));
                }
                if let Some(n) = &now {
                    w.deltas.push((seq, n.clone(), 1));
                }
            }
            let since = match &e {
                Some(x) if x.is_failed() => match since {
                    Some(s) if before.as_ref().is_some_and(|b| b.as_bytes() == x.status) => Some(s),
                    _ => Some(seq),
                },
                _ => None,
            };
            let now_stamps = e.as_ref().map(stamps);
            match &e {
                None => w.vanished.push((id, seq)),
                Some(x) => w.note_times(x, before_stamps.as_ref(), before_seq, seq),
            }
            prev = Some((id, now, now_stamps, seq, since));
        })?;
        if let Some((id, _, _, _, Some(since))) = prev {
            w.last_failed.push((id, since));
        }
        Ok(w)
    }

    /// The runner's clock as one row version shows it: the latest time it newly carries (it
    /// was set before the poll that listed it ended), and a `completed_at` newly set on a row
    /// listed before (set after that earlier poll).
    fn note_times(
        &mut self,
        e: &ExecRef,
        before: Option<&[Option<i64>; 4]>,
        before_seq: Option<u64>,
        seq: u64,
    ) {
        let now = stamps(e);
        let newest = now
            .iter()
            .enumerate()
            .filter(|(k, t)| t.is_some() && before.is_none_or(|b| b[*k] != **t))
            .filter_map(|(_, t)| *t)
            .max();
        if let Some(t) = newest {
            self.ahead.push((seq, t));
        }
        if let (Some(b), Some(bs), Some(c)) = (before, before_seq, e.completed_at)
            && b[2] != Some(c)
        {
            self.set_after.push((bs, seq, c));
        }
    }

    /// One sweep from the sweeps of consecutive id ranges.
    fn join(parts: Vec<Sweep>) -> Sweep {
        let mut w = Sweep::default();
        for p in parts {
            w.deltas.extend(p.deltas);
            w.last_failed.extend(p.last_failed);
            w.vanished.extend(p.vanished);
            w.ahead.extend(p.ahead);
            w.set_after.extend(p.set_after);
        }
        w
    }

    /// The bounds the rows put on the runner's offset; `list_polls` are the polls that read
    /// the complete list whole, ascending.
    fn bounds(&self, list_polls: &[u64]) -> RowBounds {
        let mut b = RowBounds {
            ahead: self.ahead.clone(),
            behind: Vec::new(),
        };
        for &(before, seq, t) in &self.set_after {
            // The last poll before `seq` that listed the row as it was before.
            let k = list_polls.partition_point(|&s| s < seq);
            if let Some(&p0) = k.checked_sub(1).and_then(|k| list_polls.get(k))
                && p0 >= before
            {
                b.behind.push((p0, t));
            }
        }
        b
    }
}

/// Sweeps a job's row versions, split by id range over the machine's cores.
fn sweep(rec: &Recording, job: u32) -> Result<Sweep, StoreError> {
    super::recording::by_id_ranges(rec, job, |ids| Sweep::run(rec, job, ids)).map(Sweep::join)
}

/// Rows by status at every snapshot (aligned with `rec.infos`), from the version history:
/// one sweep, no per-snapshot state rebuild.
pub fn status_series(
    rec: &Recording,
    job: u32,
) -> Result<Vec<BTreeMap<String, usize>>, StoreError> {
    let w = sweep(rec, job)?;
    let extras = rec.reader.extras_versions(job)?;
    Ok(series_of(rec, w.deltas, &extras))
}

fn series_of(
    rec: &Recording,
    mut deltas: Vec<(u64, Str, i8)>,
    extras: &[(u64, Vec<ExtraRow>)],
) -> Vec<BTreeMap<String, usize>> {
    let mut before: &[ExtraRow] = &[];
    for (seq, now) in extras {
        deltas.extend(before.iter().map(|x| (*seq, x.exec.status.clone(), -1)));
        deltas.extend(now.iter().map(|x| (*seq, x.exec.status.clone(), 1)));
        before = now;
    }
    deltas.sort_by_key(|d| d.0);
    let mut out = Vec::with_capacity(rec.infos.len());
    let mut cur: BTreeMap<&str, i64> = BTreeMap::new();
    let mut last: Option<BTreeMap<String, usize>> = None;
    let mut i = 0;
    for info in &rec.infos {
        let start = i;
        while i < deltas.len() && deltas[i].0 <= info.seq {
            *cur.entry(deltas[i].1.as_str()).or_default() += deltas[i].2 as i64;
            i += 1;
        }
        // Most snapshots change nothing: reuse the previous map.
        let now = match (&last, i == start) {
            (Some(l), true) => l.clone(),
            _ => cur
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k.to_string(), *n as usize))
                .collect(),
        };
        last = Some(now.clone());
        out.push(now);
    }
    out
}

/// The version in which each failed row last became failed, with the last snapshot before it
/// that had the complete list whole (when the row was last seen not failed, or not yet there).
fn observed_failures(
    rec: &Recording,
    last_failed: &[(i64, u64)],
    ok_seqs: &[u64],
) -> Vec<ObservedFailure> {
    let at = |s: u64| Stamp(rec.info(s).map_or(0, |i| i.started_at));
    last_failed
        .iter()
        .map(|&(id, failed_seq)| {
            let idx = ok_seqs.partition_point(|&s| s < failed_seq);
            let not_failed_seq = idx.checked_sub(1).map(|p| ok_seqs[p]);
            ObservedFailure {
                id,
                not_failed_seq,
                not_failed_at: not_failed_seq.map(at),
                failed_seq,
                failed_at: at(failed_seq),
            }
        })
        .collect()
}

fn extra_summary(js: &JobState) -> ExtraSummary {
    let mut x = ExtraSummary::default();
    let mut repeated: BTreeMap<i64, usize> = BTreeMap::new();
    for e in &js.extras {
        match e.id() {
            Some(id) => *repeated.entry(id).or_insert(1) += 1,
            None => x.without_id += 1,
        }
    }
    x.repeated_ids = repeated
        .into_iter()
        .map(|(id, rows)| RepeatedId { id, rows })
        .collect();
    x.repeated_ids
        .sort_by(|a, b| b.rows.cmp(&a.rows).then(a.id.cmp(&b.id)));
    x
}

pub fn job_history(rec: &Recording, js: &JobState) -> Result<JobHistory, StoreError> {
    let mut w = sweep(rec, js.index)?;
    let extras = rec.reader.extras_versions(js.index)?;
    let series = series_of(rec, std::mem::take(&mut w.deltas), &extras);
    let jv = rec.reader.job_versions(js.index)?;
    let mut rows_over_time = Vec::with_capacity(rec.infos.len());
    let mut v = 0;
    let mut default_last: Option<(u64, u32)> = None;
    for (i, by) in rec.infos.iter().zip(series) {
        while v < jv.len() && jv[v].0 <= i.seq {
            v += 1;
        }
        let in_force = v.checked_sub(1).and_then(|k| jv[k].1.default_rows);
        let fetched = rec.seen.view_at(js.index, i.seq);
        let default_rows = in_force.filter(|_| fetched);
        if let Some(d) = default_rows {
            default_last = Some((i.seq, d));
        } else if fetched {
            // Answered without rows ("job not found", no `executions`).
            default_last = None;
        }
        rows_over_time.push(RowsAt {
            seq: i.seq,
            taken_at: Stamp(i.started_at),
            rows: by.values().sum(),
            by_status: by,
            list_seen: rec.seen.list_at(js.index, i.seq),
            default_rows,
            default_last,
        });
    }
    let mut growth = Growth::default();
    let mut prev_rows = 0;
    for r in &rows_over_time {
        if r.rows > 0 && growth.first_row_seq.is_none() {
            growth.first_row_seq = Some(r.seq);
            growth.first_row_at = Some(r.taken_at);
        }
        if r.rows > prev_rows {
            growth.last_new_row_seq = Some(r.seq);
            growth.last_new_row_at = Some(r.taken_at);
        }
        growth.max_rows = growth.max_rows.max(r.rows);
        prev_rows = r.rows;
    }
    growth.vanished = w
        .vanished
        .iter()
        .map(|&(id, seq)| Vanished {
            id,
            seq,
            taken_at: Stamp(rec.info(seq).map_or(0, |i| i.started_at)),
        })
        .collect();
    let ok_seqs: Vec<u64> = rec
        .infos
        .iter()
        .filter(|i| rec.seen.list_at(js.index, i.seq))
        .map(|i| i.seq)
        .collect();
    let observed = observed_failures(rec, &w.last_failed, &ok_seqs);
    let runner_clock = if rec.clocks.runner.samples.is_empty() {
        ServerClock::new(w.bounds(&ok_seqs).samples(|s| rec.info(s).copied()))
    } else {
        rec.clocks.runner.clone()
    };
    let mut status_history: Vec<StatusChange> = Vec::new();
    for (seq, r) in &jv {
        if status_history
            .last()
            .is_none_or(|l| l.status != r.status || l.found != r.found)
        {
            status_history.push(StatusChange {
                seq: *seq,
                at: Stamp(rec.info(*seq).map_or(0, |i| i.started_at)),
                status: r.status.clone(),
                found: r.found,
            });
        }
    }
    let pairs = view_and_list(&rows_over_time);
    let view_polls = rows_over_time
        .iter()
        .filter(|r| rec.seen.view_at(js.index, r.seq))
        .count();
    let mut max_truncation: Option<Truncation> = None;
    for t in pairs.iter().filter(|t| t.truncated()) {
        if max_truncation
            .is_none_or(|m| t.complete - t.shown as usize > m.complete - m.shown as usize)
        {
            max_truncation = Some(*t);
        }
    }
    let seen_end = |seq: u64| rec.info(seq).map(|i| i.ended_at.max(i.started_at));
    Ok(JobHistory {
        clock_skew: runner_clock.summary(Server::Runner),
        extra_rows: extra_summary(js),
        failures: failures::analyse(js.rows().map(|r| r.exec), observed, &runner_clock, seen_end),
        runner_clock,
        status_history,
        rows_over_time,
        growth,
        max_truncation,
        first_truncation: pairs.iter().find(|t| t.truncated()).copied(),
        last_compared: pairs.last().copied(),
        view_polls,
        compared_polls: pairs.len(),
    })
}

/// The polls that fetched both the default view (with rows) and the complete list, with the
/// two counts of that poll: the only moments at which they are compared.
fn view_and_list(rows: &[RowsAt]) -> Vec<Truncation> {
    rows.iter()
        .filter(|r| r.list_seen)
        .filter_map(|r| {
            Some(Truncation {
                seq: r.seq,
                at: r.taken_at,
                shown: r.default_rows?,
                complete: r.rows,
            })
        })
        .collect()
}
