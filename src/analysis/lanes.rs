//! What the postmortem page draws on its shared time axis, as data: per job the rows by status
//! and the default view's count over time, one bar per execution (grouped by cell) and the
//! markers; the router's healthy count and each provider's states; one mark per request per
//! source; the windows in which a source failed or was not sent. The page only lays it out.

use super::fetches::Outage;
use super::history::RowsAt;
use super::matrix::Cell;
use super::recording::{Recording, by_id_ranges};
use super::report::Report;
use super::router::ProviderState;
use super::values::FetchKind;
use crate::beacon::{Execution, Str};
use crate::fetch::{FetchErrorKind, Outcome, SourceKind};
use crate::store::StoreError;
use std::collections::BTreeMap;

/// The whole page's lanes. Times are µs since the epoch on the recorder's clock; a bar's are
/// the row's own timestamps mapped onto it by the runner's measured offset (`clocks`).
#[derive(Debug, Clone, PartialEq)]
pub struct Lanes {
    /// The axis: the first snapshot's start to the last one's end.
    pub start_us: i64,
    pub end_us: i64,
    pub jobs: Vec<JobLanes>,
    pub router: RouterLanes,
    pub sources: Vec<SourceLane>,
    /// Windows in which a source failed, and in which the recorder did not send one.
    pub outages: Vec<Band>,
    pub gaps: Vec<Band>,
    /// Notes, and the windows they mark.
    pub notes: Vec<Marker>,
    pub marks: Vec<(i64, i64)>,
    /// Stretches nobody recorded: between sessions, a stalled recorder, snapshots removed by
    /// retention. What the lanes show across them is the last state before.
    pub unrecorded: Vec<(i64, i64)>,
}

/// Gaps between two snapshots longer than this many times the usual spacing (and a minute)
/// were not recorded.
const GAP_FACTOR: i64 = 4;

fn unrecorded(rec: &Recording) -> Vec<(i64, i64)> {
    // In time order: a clock that stepped back puts later snapshots earlier.
    let mut infos: Vec<&crate::store::SnapshotInfo> = rec.infos.iter().collect();
    infos.sort_by_key(|i| i.started_at);
    let mut steps: Vec<i64> = infos
        .windows(2)
        .map(|w| w[1].started_at - w[0].started_at)
        .filter(|d| *d > 0)
        .collect();
    steps.sort_unstable();
    let usual = steps.get(steps.len() / 2).copied().unwrap_or(0);
    let limit = (usual * GAP_FACTOR).max(60_000_000);
    infos
        .windows(2)
        .filter(|w| w[1].started_at - w[0].ended_at > limit || w[1].seq > w[0].seq + 1)
        .map(|w| (w[0].ended_at, w[1].started_at))
        .filter(|(a, b)| b > a)
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobLanes {
    pub job: String,
    /// Rows by status and the default view's count, at every snapshot.
    pub rows: Vec<RowsAt>,
    /// One bar per execution, grouped by cell (cells in order, rows without one last), a
    /// cell's rows in the order they first appeared.
    pub bars: Vec<Bar>,
    pub markers: Vec<Marker>,
    /// Durations (whole seconds) that many failed rows share exactly.
    pub duration_modes: Vec<(i64, usize)>,
    /// The rows' own timestamps are on the runner's clock; when it disagreed with the
    /// recorder's (the skew finding), each is moved by the offset measured around it.
    pub clock: Option<super::clocks::ClockSummary>,
}

/// How a bar's end was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarEnd {
    /// The row's `completed_at`.
    Completed,
    /// Not completed and still not final at the last snapshot: drawn to the end, open.
    StillRunning,
    /// Final (failed, ...) without `completed_at`: when polling first saw it so.
    SeenFinal,
    /// The row vanished from the list: when it did.
    Vanished,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// `None` for a row without a usable id.
    pub id: Option<i64>,
    pub cell: Option<Cell>,
    /// 0 for a cell's first row; 1, 2, ... for its later rows (redeliveries, duplicates).
    pub rank: u32,
    /// Where the bar is drawn: its times within the axis.
    pub start_us: i64,
    pub end_us: i64,
    /// Its times on the recorder's clock (they may lie outside the axis: begun before the
    /// recording).
    pub real_start_us: i64,
    pub real_end_us: i64,
    /// The row's own stamps, on the runner's clock, when that disagreed with the recorder's.
    pub own_start_us: Option<i64>,
    pub own_end_us: Option<i64>,
    pub end: BarEnd,
    /// The row's last known status.
    pub status: Str,
    pub error_code: Option<Str>,
    /// A row kept beside the by-id list (its id repeated within one body, or none).
    pub beside: bool,
    /// The row began before the first snapshot (drawn from the axis' start).
    pub before_start: bool,
    /// When polling first saw the row.
    pub first_seen_us: i64,
    /// Even on the recorder's clock, the row was dated after the poll that first saw it:
    /// drawn from that poll.
    pub dated_ahead: bool,
}

impl Bar {
    /// Its real length (not the drawn one).
    pub fn duration_us(&self) -> i64 {
        (self.real_end_us - self.real_start_us).max(0)
    }

    /// It runs on past the axis' end (drawn cut there).
    pub fn after_end(&self) -> bool {
        self.real_end_us > self.end_us
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MarkerKind {
    JobStatus {
        to: Option<String>,
    },
    FirstTruncated {
        shown: u32,
        complete: usize,
    },
    FirstDuplicate {
        cell: Cell,
    },
    /// A server's clock at its furthest from the recorder's (+ ahead, − behind).
    ClockSkew {
        offset_seconds: f64,
        changed: bool,
    },
    Note {
        text: String,
        marked: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub at_us: i64,
    pub kind: MarkerKind,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RouterLanes {
    /// (time, healthy, total) from `/health` where a poll's answer changed them, and
    /// `(time, None, None)` where polls began that got no answer: the line breaks there
    /// (nothing is claimed while the router did not answer).
    pub healthy: Vec<(i64, Option<i64>, Option<i64>)>,
    pub providers: Vec<ProviderLane>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderLane {
    pub name: String,
    pub region: Option<String>,
    /// (from, to, state), in order; `to` is the start of the next span or the axis' end.
    pub spans: Vec<(i64, i64, ProviderState)>,
}

/// One mark per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    Ok,
    /// An answer about the job or the runner's version, not a failure (404 job not found, an
    /// older runner's 404 for `/executions/all`).
    Answered,
    RateLimited,
    HttpError,
    Timeout,
    Refused,
    Transport,
    Unparsable,
    /// Not sent: the recorder's budget, or a 429's wait.
    NotSent,
}

impl Mark {
    pub fn of(f: &crate::store::schema::FetchRec) -> Mark {
        match f.outcome() {
            Outcome::Ok => Mark::Ok,
            Outcome::OlderRunner | Outcome::JobNotFound | Outcome::NotOffered => Mark::Answered,
            Outcome::HttpError if f.status == Some(429) => Mark::RateLimited,
            Outcome::HttpError => Mark::HttpError,
            Outcome::Unparsable => Mark::Unparsable,
            Outcome::Transport => match f.error_kind() {
                Some(FetchErrorKind::Timeout) => Mark::Timeout,
                Some(FetchErrorKind::ConnectRefused) => Mark::Refused,
                _ => Mark::Transport,
            },
            Outcome::SkippedByBudget | Outcome::Waiting => Mark::NotSent,
        }
    }

    /// Every mark, in legend order.
    pub const ALL: [Mark; 9] = [
        Mark::Ok,
        Mark::Answered,
        Mark::RateLimited,
        Mark::HttpError,
        Mark::Timeout,
        Mark::Refused,
        Mark::Transport,
        Mark::Unparsable,
        Mark::NotSent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mark::Ok => "ok",
            Mark::Answered => "answered: not found, not offered",
            Mark::RateLimited => "rate-limited by the server (429)",
            Mark::HttpError => "HTTP error",
            Mark::Timeout => "timeout",
            Mark::Refused => "connection refused",
            Mark::Transport => "other transport failure",
            Mark::Unparsable => "parse error",
            Mark::NotSent => "not sent by the recorder (budget, 429 wait)",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceLane {
    pub source: &'static str,
    pub job: Option<String>,
    /// (time, mark, what happened in words: `http 503`, `timeout`, ...).
    pub marks: Vec<(i64, Mark, FetchKind)>,
}

/// A window drawn across every lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from_us: i64,
    pub to_us: i64,
    pub source: &'static str,
    pub job: Option<String>,
    pub kinds: Vec<FetchKind>,
    pub snapshots: usize,
}

impl Band {
    fn of(o: &Outage, end_us: i64) -> Band {
        Band {
            from_us: o.from.0,
            // To the snapshot that saw it answer again, else the end of the axis.
            to_us: o.recovered_at.map_or(end_us, |t| t.0),
            source: o.source,
            job: o.job.clone(),
            kinds: o.kinds.clone(),
            snapshots: o.snapshots,
        }
    }
}

/// The lanes of a recording whose report is `r` (built from the same recording).
pub fn lanes(rec: &Recording, r: &Report) -> Result<Lanes, StoreError> {
    let start_us = rec.start_us();
    let end_us = rec
        .infos
        .last()
        .map_or(start_us, |i| i.ended_at.max(i.started_at))
        .max(start_us);
    let mut jobs = Vec::new();
    for j in &r.jobs {
        let Some(&(_, index)) = rec.jobs.iter().find(|(n, _)| *n == j.summary.job_id) else {
            continue;
        };
        let single_default = j.summary.expected.questions == ["default"];
        let axis = Axis {
            start_us,
            end_us,
            clock: &j.history.runner_clock,
            single_default,
        };
        let mut bars = bars(rec, index, &axis)?;
        let last = rec.infos.last().map_or(0, |i| i.seq);
        for x in rec.reader.extras_at(index, last)? {
            // Kept beside the list, without a history of their own: their own creation time
            // stands for when they appeared.
            let t = x
                .exec
                .created_at
                .map_or(end_us, |t| axis.clock.to_recorder(t))
                .clamp(start_us, end_us);
            let seen = Seen {
                first_us: t,
                first_end_us: t,
                final_us: t,
                final_end_us: t,
                vanished_us: None,
            };
            bars.push(bar_of(x.id(), &x.exec, &axis, seen, true));
        }
        order_by_cell(&mut bars);
        let h = &j.history;
        let markers = markers(rec, h, &bars, start_us);
        jobs.push(JobLanes {
            job: j.summary.job_id.clone(),
            rows: h.rows_over_time.clone(),
            bars,
            markers,
            duration_modes: h
                .failures
                .duration_modes
                .iter()
                .map(|m| (m.seconds, m.count))
                .collect(),
            clock: h.clock_skew,
        });
    }
    Ok(Lanes {
        start_us,
        end_us,
        jobs,
        router: router_lanes(rec, r, end_us),
        sources: sources(rec, r),
        outages: r
            .fetch
            .outages
            .iter()
            .map(|o| Band::of(o, end_us))
            .collect(),
        gaps: r.fetch.gaps.iter().map(|o| Band::of(o, end_us)).collect(),
        notes: r
            .recording
            .notes
            .iter()
            .map(|n| Marker {
                at_us: n.at.0,
                kind: MarkerKind::Note {
                    text: n.text.clone(),
                    marked: n.mark_from.is_some(),
                },
            })
            .collect(),
        marks: r
            .recording
            .notes
            .iter()
            .filter_map(|n| Some((n.mark_from?.0, n.mark_to?.0)))
            .collect(),
        unrecorded: unrecorded(rec),
    })
}

/// A job's numbered markers: status changes, the first poll whose view fell behind its list,
/// the first cell with a second run, the furthest clock skew; in time order.
fn markers(
    rec: &Recording,
    h: &super::history::JobHistory,
    bars: &[Bar],
    start_us: i64,
) -> Vec<Marker> {
    let at = |seq: u64| rec.info(seq).map_or(start_us, |i| i.started_at);
    let mut markers: Vec<Marker> = h
        .status_history
        .iter()
        .skip(1)
        .map(|s| Marker {
            at_us: s.at.0,
            kind: MarkerKind::JobStatus {
                to: if s.found {
                    s.status.clone()
                } else {
                    Some("not found".into())
                },
            },
        })
        .collect();
    // The same poll the finding cites: the view and the list fetched together.
    if let Some(t) = h.first_truncation {
        markers.push(Marker {
            at_us: t.at.0,
            kind: MarkerKind::FirstTruncated {
                shown: t.shown,
                complete: t.complete,
            },
        });
    }
    if let Some(b) = bars
        .iter()
        .filter(|b| b.rank > 0 && b.cell.is_some())
        .min_by_key(|b| b.first_seen_us)
    {
        markers.push(Marker {
            at_us: b.first_seen_us,
            kind: MarkerKind::FirstDuplicate {
                cell: b.cell.clone().expect("filtered"),
            },
        });
    }
    if let Some(s) = &h.clock_skew {
        markers.push(Marker {
            at_us: at(s.seq),
            kind: MarkerKind::ClockSkew {
                offset_seconds: s.offset_seconds,
                changed: s.changed,
            },
        });
    }
    markers.sort_by_key(|m| m.at_us);
    markers
}

/// When polling saw a row: first, first in its last status (each poll's start and end), and
/// vanishing.
#[derive(Clone, Copy)]
struct Seen {
    first_us: i64,
    first_end_us: i64,
    final_us: i64,
    final_end_us: i64,
    vanished_us: Option<i64>,
}

/// Where bars are drawn: the axis, and the runner's clock the rows' times are mapped from.
struct Axis<'a> {
    start_us: i64,
    end_us: i64,
    clock: &'a super::clocks::ServerClock,
    single_default: bool,
}

/// A row time may lie this far after the end of the poll that saw it before it is called
/// dated ahead: the runner truncates its stamps, and a `Date` second leaves the offset this
/// uncertain.
const DATED_SLACK_US: i64 = 1_000_000;

/// One bar per row id the job ever had (vanished ones too), from one sweep of its versions.
fn bars(rec: &Recording, job: u32, axis: &Axis) -> Result<Vec<Bar>, StoreError> {
    let at = |seq: u64| {
        rec.info(seq).map_or((axis.start_us, axis.start_us), |i| {
            (i.started_at, i.ended_at.max(i.started_at))
        })
    };
    let parts = by_id_ranges(rec, job, |ids| {
        let mut out = Vec::new();
        // (id, last present version, seen)
        let mut cur: Option<(i64, Option<Execution>, Seen)> = None;
        let finish = |c: Option<(i64, Option<Execution>, Seen)>, out: &mut Vec<Bar>| {
            if let Some((id, Some(e), seen)) = c {
                out.push(bar_of(Some(id), &e, axis, seen, false));
            }
        };
        // Read in place; what a bar draws is kept of the row's last version.
        rec.reader.each_exec_ref(job, ids, |id, seq, v| {
            let v = v.map(|e| e.brief());
            let (t, t_end) = at(seq);
            match &mut cur {
                Some((cid, last, seen)) if *cid == id => match v {
                    Some(e) => {
                        if last.as_ref().is_none_or(|l| l.status != e.status) {
                            seen.final_us = t;
                            seen.final_end_us = t_end;
                        }
                        seen.vanished_us = None;
                        *last = Some(e);
                    }
                    None => seen.vanished_us = Some(t),
                },
                _ => {
                    finish(cur.take(), &mut out);
                    let seen = Seen {
                        first_us: t,
                        first_end_us: t_end,
                        final_us: t,
                        final_end_us: t_end,
                        vanished_us: v.is_none().then_some(t),
                    };
                    cur = Some((id, v, seen));
                }
            }
        })?;
        finish(cur.take(), &mut out);
        Ok(out)
    })?;
    Ok(parts.into_iter().flatten().collect())
}

/// Statuses after which a row does not change any more.
fn is_final(status: &str) -> bool {
    matches!(
        status,
        "completed" | "failed" | "cancelled" | "canceled" | "error"
    )
}

/// The cell of a row by the matrix's rule: no question means `default` only when the spec's
/// one question is `default`; no region, or `unknown`, means no cell.
fn cell_of(e: &Execution, single_default: bool) -> Option<Cell> {
    let q = match e.question_id.as_deref() {
        Some(q) if !q.is_empty() => q,
        _ if single_default => "default",
        _ => return None,
    };
    Some(Cell {
        question_id: q.into(),
        model_id: e.model_id.clone().filter(|m| !m.is_empty())?,
        region: e
            .region
            .clone()
            .filter(|r| !r.is_empty() && r != "unknown")?,
    })
}

fn bar_of(id: Option<i64>, e: &Execution, axis: &Axis, seen: Seen, beside: bool) -> Bar {
    let (start_us, end_us) = (axis.start_us, axis.end_us);
    let mapped = |t: Option<i64>| t.map(|t| axis.clock.to_recorder(t));
    let own_begin = e.started_at.or(e.created_at);
    let begin = mapped(own_begin).unwrap_or(seen.first_us);
    let (end, how) = match (mapped(e.completed_at), seen.vanished_us) {
        // Not after the poll that first saw it in its last status.
        (Some(c), _) => (c.min(seen.final_end_us), BarEnd::Completed),
        (None, Some(v)) => (v, BarEnd::Vanished),
        (None, None) if is_final(&e.status) => (seen.final_us, BarEnd::SeenFinal),
        (None, None) => (end_us, BarEnd::StillRunning),
    };
    // Dated after the poll that first saw it even on the recorder's clock: the row cannot
    // have begun later than that, so it is drawn from there.
    let dated_ahead = begin > seen.first_end_us + DATED_SLACK_US;
    let (begin, end) = if dated_ahead {
        (seen.first_us, seen.first_us + (end - begin).max(0))
    } else {
        (begin.min(seen.first_end_us), end)
    };
    let real_end = end.max(begin);
    let before_start = begin < start_us;
    let own = |t: Option<i64>| t.filter(|_| !axis.clock.agrees());
    // `start_us <= end_us` (the axis is the min and max of the snapshots' times).
    let shown = begin.clamp(start_us, end_us);
    Bar {
        id,
        cell: cell_of(e, axis.single_default),
        rank: 0,
        start_us: shown,
        end_us: real_end.clamp(shown, end_us),
        real_start_us: begin,
        real_end_us: real_end,
        own_start_us: own(own_begin),
        own_end_us: own(e.completed_at),
        end: how,
        status: e.status.clone(),
        error_code: e.error_code.clone(),
        beside,
        before_start,
        first_seen_us: seen.first_us,
        dated_ahead,
    }
}

/// Cells in order (rows without one last); a cell's rows by when they were first seen; ranks.
fn order_by_cell(bars: &mut [Bar]) {
    bars.sort_by(|a, b| {
        (a.cell.is_none(), &a.cell, a.first_seen_us, a.id).cmp(&(
            b.cell.is_none(),
            &b.cell,
            b.first_seen_us,
            b.id,
        ))
    });
    let mut k = 0;
    while k < bars.len() {
        let mut end = k + 1;
        while end < bars.len() && bars[end].cell == bars[k].cell {
            end += 1;
        }
        if bars[k].cell.is_some() {
            // By distinct execution: a row repeating an id of its cell (the runner sent it
            // twice) is that execution again, not a later run.
            let mut ids: Vec<Option<i64>> = Vec::new();
            for b in bars[k..end].iter_mut() {
                b.rank = match b.id.and_then(|id| ids.iter().position(|x| *x == Some(id))) {
                    Some(r) => r as u32,
                    None => {
                        ids.push(b.id);
                        (ids.len() - 1) as u32
                    }
                };
            }
        }
        k = end;
    }
}

/// Healthy / total as each poll's `/health` answer said it, a point where it changed or the
/// router stopped or started answering.
fn healthy_line(rec: &Recording, r: &Report) -> Vec<(i64, Option<i64>, Option<i64>)> {
    let series = &r.router.series;
    let mut out: Vec<(i64, Option<i64>, Option<i64>)> = Vec::new();
    let mut v = 0;
    for i in &rec.infos {
        while v + 1 < series.len() && series[v + 1].seq <= i.seq {
            v += 1;
        }
        let p = series
            .get(v)
            .filter(|p| p.seq <= i.seq && rec.seen.health_at(i.seq))
            .map_or((None, None), |p| (p.providers_healthy, p.providers_total));
        if out.last().is_none_or(|l| (l.1, l.2) != p) {
            out.push((i.started_at, p.0, p.1));
        }
    }
    out
}

fn router_lanes(rec: &Recording, r: &Report, end_us: i64) -> RouterLanes {
    let healthy = if r.router.recorded {
        healthy_line(rec, r)
    } else {
        Vec::new()
    };
    let mut by_name: BTreeMap<&str, ProviderLane> = BTreeMap::new();
    for s in &r.router.provider_spans {
        let lane = by_name.entry(&s.provider).or_insert_with(|| ProviderLane {
            name: s.provider.clone(),
            region: s.region.clone(),
            spans: Vec::new(),
        });
        lane.spans.push((s.from.0, s.to.0, s.state));
    }
    let mut providers: Vec<ProviderLane> = by_name.into_values().collect();
    for p in &mut providers {
        p.spans.sort_by_key(|s| s.0);
        // A span lasts until the next one starts (or the axis ends).
        let n = p.spans.len();
        for k in 0..n {
            let next = if k + 1 < n { p.spans[k + 1].0 } else { end_us };
            p.spans[k].1 = next.max(p.spans[k].1);
        }
    }
    RouterLanes { healthy, providers }
}

fn sources(rec: &Recording, r: &Report) -> Vec<SourceLane> {
    let wanted: Vec<&str> = r.jobs.iter().map(|j| j.summary.job_id.as_str()).collect();
    let job_name = |i: u32| {
        rec.jobs
            .iter()
            .find(|(_, j)| *j == i)
            .map(|(n, _)| n.clone())
    };
    let mut lanes: BTreeMap<(u8, Option<u32>), SourceLane> = BTreeMap::new();
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        for f in &snap.fetches {
            let job = f.job.and_then(job_name);
            if job.as_deref().is_some_and(|j| !wanted.contains(&j)) {
                continue;
            }
            let lane = lanes
                .entry((f.source, f.job))
                .or_insert_with(|| SourceLane {
                    source: SourceKind::name_of(f.source),
                    job,
                    marks: Vec::new(),
                });
            lane.marks
                .push((info.started_at, Mark::of(f), FetchKind::of(f)));
        }
    }
    lanes.into_values().collect()
}
