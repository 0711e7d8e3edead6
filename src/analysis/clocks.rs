//! Two clocks, both ways, per poll. The runner dates its rows and its answers (`Date`) by its
//! own clock, the router its `/health` `timestamp` and its checks by its own; either may run
//! ahead of the recorder's or behind it, by an amount that changes (API.md). This module
//! measures each server's offset (server clock − recorder clock) at every poll that can tell,
//! and maps a server's time onto the recorder's clock, so every time the report and the page
//! give is on one clock.
//!
//! How a poll measures it. The recorder keeps, per request, when it was sent and how long the
//! answer took (`FetchRec::sent_us`, `latency_us`), and the server's clock as the answer said
//! it (`server_time`: the router's `/health` `timestamp`, to the microsecond; else the `Date`
//! header, truncated to the second). The server read its clock somewhere inside that bracket,
//! so the offset lies in `[D − answered, D + 1 s − sent]` for a `Date` (`[T − answered, T −
//! sent]` for a timestamp); the brackets of one poll's requests are intersected. Files from
//! before send times were kept use the poll's start and end.
//!
//! Without any such answer (a synthetic recording, a file of older versions without dates) the
//! rows' own times bound the runner's offset (`row_bounds`): a row dated after the poll that
//! first listed it means the runner is ahead by at least that much; a row whose
//! `completed_at` was set after a poll that listed it unfinished, but dated before that poll,
//! means it is behind by at least that much.
//!
//! Imported captures are left out: their snapshot times were decided from the same `Date`
//! headers.

use super::values::Stamp;
use crate::fetch::{Outcome, SourceKind};
use crate::store::SnapshotInfo;
use crate::store::schema::{SessionRec, SnapshotRec};
use serde::Serialize;

/// A drift is measured over at least this much of the recorder's time before it is carried
/// past the ends of the measurements: a `Date` second over a shorter base is mostly noise.
const DRIFT_BASE_US: i64 = 30_000_000;

/// Offsets within this are the clocks agreeing: the `Date` header's second, a poll's length
/// and the runner truncating its stamps make a few seconds of noise.
pub const AGREE_US: i64 = 5_000_000;

/// Whose clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    Runner,
    Router,
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::Runner => "runner",
            Server::Router => "router",
        }
    }
}

/// What an offset was measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    /// The answers' `Date` headers (to the second).
    DateHeader,
    /// The router's `/health` `timestamp`.
    HealthTimestamp,
    /// The rows' own times: a bound, the offset is at least this large.
    RowTimes,
}

/// One poll's measurement of a server's clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OffsetAt {
    pub seq: u64,
    /// The recorder's time the measurement stands for.
    pub at: Stamp,
    /// Server clock − recorder clock: positive when the server is ahead.
    pub offset_seconds: f64,
    /// How far either way the true offset may lie from `offset_seconds` (0 for a bound).
    pub error_seconds: f64,
    pub measured: Measured,
}

impl OffsetAt {
    fn offset_us(&self) -> i64 {
        (self.offset_seconds * 1e6).round() as i64
    }
}

/// A server's clock over the recording: one measurement per poll that gave one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerClock {
    pub samples: Vec<OffsetAt>,
    /// (recorder µs, server µs), the server's time kept from going back: the mapping.
    points: Vec<(i64, i64)>,
    agrees: bool,
}

/// A server's clock in a few numbers: what the skew finding, the answer and the page say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClockSummary {
    pub server: Server,
    pub measured: Measured,
    /// Polls that measured it.
    pub polls: usize,
    /// The largest offset either way, signed (+ ahead of the recorder, − behind), and the poll
    /// that measured it.
    pub offset_seconds: f64,
    pub seq: u64,
    pub at: Stamp,
    pub first_offset_seconds: f64,
    pub last_offset_seconds: f64,
    /// Last − first: how far the server's clock moved against the recorder's.
    pub drift_seconds: f64,
    pub min_offset_seconds: f64,
    pub max_offset_seconds: f64,
    /// The offset changed during the recording by more than the clocks' noise.
    pub changed: bool,
    /// From the rows' times: the offset is at least `offset_seconds`, maybe more.
    pub at_least: bool,
}

impl ServerClock {
    pub fn new(mut samples: Vec<OffsetAt>) -> Self {
        samples.sort_by_key(|s| s.seq);
        let mut points: Vec<(i64, i64)> = Vec::with_capacity(samples.len());
        for s in &samples {
            let m = s.at.0;
            let r = m + s.offset_us();
            // Time runs forward on both clocks: noise (a `Date` second) never takes it back.
            let r = points.last().map_or(r, |&(_, pr)| r.max(pr));
            points.push((m, r));
        }
        let agrees = samples.iter().all(|s| s.offset_us().abs() <= AGREE_US);
        ServerClock {
            samples,
            points,
            agrees,
        }
    }

    /// Every measurement within `AGREE_US`: the server's times are taken as they are.
    pub fn agrees(&self) -> bool {
        self.agrees
    }

    /// A time on the server's clock, on the recorder's: between two measurements by the line
    /// through them (a drifting clock), before the first and after the last by their offset.
    /// The identity when the clocks agree.
    pub fn to_recorder(&self, t: i64) -> i64 {
        if self.agrees {
            return t;
        }
        let p = &self.points;
        let k = p.partition_point(|&(_, r)| r <= t);
        if k == 0 {
            return self.beyond(t, p[0], p.iter().copied());
        }
        if k == p.len() {
            return self.beyond(t, p[k - 1], p.iter().rev().copied());
        }
        let ((m0, r0), (m1, r1)) = (p[k - 1], p[k]);
        if r1 == r0 {
            return m0;
        }
        m0 + ((t - r0) as i128 * (m1 - m0) as i128 / (r1 - r0) as i128) as i64
    }

    /// A time before the first measurement or after the last, from the one at the end
    /// (`edge`): by its offset when the clock kept one, else along the drift measured over at
    /// least `DRIFT_BASE_US` from that end (`toward` walks inward), so that a clock running
    /// faster is not taken back to its first offset.
    fn beyond(
        &self,
        t: i64,
        edge: (i64, i64),
        mut toward: impl Iterator<Item = (i64, i64)>,
    ) -> i64 {
        let (m0, r0) = edge;
        let changed = {
            let (lo, hi) = self.samples.iter().fold((f64::MAX, f64::MIN), |(a, b), s| {
                (a.min(s.offset_seconds), b.max(s.offset_seconds))
            });
            (hi - lo) * 1e6 > AGREE_US as f64
        };
        let far = toward.find(|&(m, _)| (m - m0).abs() >= DRIFT_BASE_US);
        match far {
            Some((m1, r1)) if changed && r1 != r0 && (r1 - r0).signum() == (m1 - m0).signum() => {
                m0 + ((t - r0) as i128 * (m1 - m0) as i128 / (r1 - r0) as i128) as i64
            }
            _ => t - (r0 - m0),
        }
    }

    /// The offset measured at or before `seq` (the first one for an earlier seq), µs.
    pub fn offset_at(&self, seq: u64) -> Option<i64> {
        let k = self.samples.partition_point(|s| s.seq <= seq);
        self.samples
            .get(k.saturating_sub(1))
            .map(OffsetAt::offset_us)
    }

    /// The numbers of the skew finding, when the clocks do not agree.
    pub fn summary(&self, server: Server) -> Option<ClockSummary> {
        if self.agrees {
            return None;
        }
        let (first, last) = (self.samples.first()?, self.samples.last()?);
        let largest = self
            .samples
            .iter()
            .max_by(|a, b| {
                a.offset_seconds
                    .abs()
                    .total_cmp(&b.offset_seconds.abs())
                    .then(b.seq.cmp(&a.seq))
            })
            .expect("not empty");
        let min = self
            .samples
            .iter()
            .map(|s| s.offset_seconds)
            .fold(f64::INFINITY, f64::min);
        let max = self
            .samples
            .iter()
            .map(|s| s.offset_seconds)
            .fold(f64::NEG_INFINITY, f64::max);
        Some(ClockSummary {
            server,
            measured: largest.measured,
            polls: self.samples.len(),
            offset_seconds: largest.offset_seconds,
            seq: largest.seq,
            at: largest.at,
            first_offset_seconds: first.offset_seconds,
            last_offset_seconds: last.offset_seconds,
            drift_seconds: last.offset_seconds - first.offset_seconds,
            min_offset_seconds: min,
            max_offset_seconds: max,
            changed: (max - min) * 1e6 > AGREE_US as f64,
            at_least: largest.measured == Measured::RowTimes,
        })
    }
}

/// Both servers' clocks, from the answers' clocks alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clocks {
    pub runner: ServerClock,
    pub router: ServerClock,
}

/// The bracket in which the server answered, on the recorder's clock.
fn bracket(info: &SnapshotInfo, f: &crate::store::schema::FetchRec) -> (i64, i64) {
    match f.sent_us {
        Some(d) => {
            let sent = info.started_at.saturating_add(d as i64);
            (sent, sent.saturating_add(f.latency_us as i64))
        }
        None => (info.started_at, info.ended_at.max(info.started_at)),
    }
}

/// One poll's offset of `server`, from the clocks its answers carried.
fn measure(info: &SnapshotInfo, snap: &SnapshotRec, server: Server) -> Option<OffsetAt> {
    // (low, high, where) of each answer; intersected.
    let mut each: Vec<(i64, i64, i64, Measured)> = Vec::new();
    for f in &snap.fetches {
        let Some(kind) = SourceKind::from_u8(f.source) else {
            continue;
        };
        let ours = match server {
            Server::Runner => kind.is_runner(),
            Server::Router => !kind.is_runner() && kind != SourceKind::Custom,
        };
        let (Some(t), Some(_)) = (f.server_time, f.status) else {
            continue;
        };
        if !ours {
            continue;
        }
        let (sent, answered) = bracket(info, f);
        let mid = sent + (answered - sent) / 2;
        if kind == SourceKind::RouterHealth && f.outcome() == Outcome::Ok {
            each.push((t - answered, t - sent, mid, Measured::HealthTimestamp));
        } else {
            each.push((
                t - answered,
                t + 1_000_000 - sent,
                mid,
                Measured::DateHeader,
            ));
        }
    }
    let narrowest = each.iter().min_by_key(|e| e.1 - e.0)?;
    let lo = each.iter().map(|e| e.0).max()?;
    let hi = each.iter().map(|e| e.1).min()?;
    // Answers that cannot all be right (a clock stepped within the poll): the narrowest.
    let (lo, hi) = if lo <= hi {
        (lo, hi)
    } else {
        (narrowest.0, narrowest.1)
    };
    let measured = if each.iter().any(|e| e.3 == Measured::HealthTimestamp) {
        Measured::HealthTimestamp
    } else {
        Measured::DateHeader
    };
    Some(OffsetAt {
        seq: info.seq,
        at: Stamp(narrowest.2),
        offset_seconds: (lo + (hi - lo) / 2) as f64 / 1e6,
        error_seconds: (hi - lo) as f64 / 2e6,
        measured,
    })
}

impl Clocks {
    /// Every poll's measurement of both servers, from the snapshot headers; imported sessions
    /// are left out.
    pub fn measure(infos: &[SnapshotInfo], snaps: &[SnapshotRec], sessions: &[SessionRec]) -> Self {
        let imported = |session: u64| {
            sessions
                .iter()
                .find(|s| s.first_seq == session)
                .is_some_and(|s| !s.origin.is_empty())
        };
        let (mut runner, mut router) = (Vec::new(), Vec::new());
        for (info, snap) in infos.iter().zip(snaps) {
            if imported(snap.session) {
                continue;
            }
            runner.extend(measure(info, snap, Server::Runner));
            router.extend(measure(info, snap, Server::Router));
        }
        Clocks {
            runner: ServerClock::new(runner),
            router: ServerClock::new(router),
        }
    }
}

/// Bounds on the runner's offset from its rows' own times, per poll (µs): collected while a
/// job's row versions are swept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowBounds {
    /// (seq, t): a row time `t` first listed at `seq`: offset ≥ t − the poll's end.
    pub ahead: Vec<(u64, i64)>,
    /// (seq of the earlier poll, t): a time set after that poll listed the row unfinished:
    /// offset ≤ t − that poll's start.
    pub behind: Vec<(u64, i64)>,
}

impl RowBounds {
    pub fn extend(&mut self, other: RowBounds) {
        self.ahead.extend(other.ahead);
        self.behind.extend(other.behind);
    }

    /// Per poll, the bound that says the clocks disagree (beyond `AGREE_US`), as samples.
    pub fn samples(&self, info: impl Fn(u64) -> Option<SnapshotInfo>) -> Vec<OffsetAt> {
        use std::collections::BTreeMap;
        let mut by_seq: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
        for &(seq, t) in &self.ahead {
            if let Some(i) = info(seq) {
                let e = by_seq.entry(seq).or_insert((i64::MIN, i64::MAX));
                e.0 = e.0.max(t - i.ended_at.max(i.started_at));
            }
        }
        for &(seq, t) in &self.behind {
            if let Some(i) = info(seq) {
                let e = by_seq.entry(seq).or_insert((i64::MIN, i64::MAX));
                e.1 = e.1.min(t - i.started_at);
            }
        }
        by_seq
            .into_iter()
            .filter_map(|(seq, (lo, hi))| {
                let i = info(seq)?;
                let off = if lo > AGREE_US {
                    lo
                } else if hi < -AGREE_US {
                    hi
                } else {
                    return None;
                };
                Some(OffsetAt {
                    seq,
                    at: Stamp(i.started_at),
                    offset_seconds: off as f64 / 1e6,
                    error_seconds: 0.0,
                    measured: Measured::RowTimes,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::FetchRec;

    fn sample(seq: u64, at_s: i64, off_s: f64) -> OffsetAt {
        OffsetAt {
            seq,
            at: Stamp(at_s * 1_000_000),
            offset_seconds: off_s,
            error_seconds: 0.5,
            measured: Measured::DateHeader,
        }
    }

    /// A clock 7 minutes behind: every runner time moves forward by 7 minutes.
    #[test]
    fn a_constant_offset_maps_both_ways() {
        let behind = ServerClock::new(vec![sample(1, 100, -420.0), sample(2, 105, -420.0)]);
        assert!(!behind.agrees());
        assert_eq!(behind.to_recorder(50_000_000), 470_000_000);
        assert_eq!(behind.to_recorder(1_000_000_000), 1_420_000_000);
        let s = behind.summary(Server::Runner).unwrap();
        assert_eq!(s.offset_seconds, -420.0);
        assert!(!s.changed && !s.at_least);
        let ahead = ServerClock::new(vec![sample(1, 100, 30.0)]);
        assert_eq!(ahead.to_recorder(130_000_000), 100_000_000);
        assert_eq!(ahead.summary(Server::Runner).unwrap().offset_seconds, 30.0);
    }

    /// Within the noise the clocks agree: times are taken as they are, no finding.
    #[test]
    fn offsets_within_the_noise_agree() {
        let c = ServerClock::new(vec![sample(1, 100, 4.9), sample(2, 105, -5.0)]);
        assert!(c.agrees());
        assert_eq!(c.to_recorder(123), 123);
        assert!(c.summary(Server::Runner).is_none());
        assert!(ServerClock::new(vec![]).agrees());
        let just = ServerClock::new(vec![sample(1, 100, 5.1)]);
        assert!(!just.agrees());
    }

    /// A server clock running ten times as fast (a simulator at `--speed 10` against a
    /// recorder on the wall clock): between two polls a time maps along the line through them.
    #[test]
    fn a_drifting_clock_maps_along_its_measurements() {
        // Recorder 0 s, 20 s, 40 s; server 0 s, 200 s, 400 s.
        let c = ServerClock::new(vec![
            sample(1, 0, 0.0),
            sample(2, 20, 180.0),
            sample(3, 40, 360.0),
        ]);
        assert_eq!(c.to_recorder(100_000_000), 10_000_000);
        assert_eq!(c.to_recorder(300_000_000), 30_000_000);
        assert_eq!(c.to_recorder(200_000_000), 20_000_000);
        // Beyond the last measurement, along the drift (the clock still runs ten times as
        // fast): 420 s of the server is 42 s of the recorder's.
        assert_eq!(c.to_recorder(420_000_000), 42_000_000);
        // Before the first: -100 s back to the recorder's -10 s.
        assert_eq!(c.to_recorder(-100_000_000), -10_000_000);
        // A constant offset is carried flat: no drift to follow.
        let k = ServerClock::new(vec![sample(1, 0, 60.0), sample(2, 40, 60.5)]);
        assert_eq!(k.to_recorder(200_000_000), 140_000_000 - 500_000);
        let s = c.summary(Server::Runner).unwrap();
        assert_eq!(s.drift_seconds, 360.0);
        assert!(s.changed);
        assert_eq!(
            (s.first_offset_seconds, s.last_offset_seconds),
            (0.0, 360.0)
        );
        assert_eq!(s.seq, 3);
        assert_eq!(c.offset_at(2), Some(180_000_000));
        assert_eq!(c.offset_at(0), Some(0));
    }

    /// Noise never takes the server's time back: the mapping stays monotonic.
    #[test]
    fn noise_does_not_take_time_back() {
        let c = ServerClock::new(vec![
            sample(1, 0, 100.0),
            sample(2, 1, 98.5),
            sample(3, 2, 100.0),
        ]);
        let mut prev = i64::MIN;
        for t in (95..110).map(|s| s * 1_000_000) {
            let m = c.to_recorder(t);
            assert!(m >= prev, "{t}");
            prev = m;
        }
    }

    fn fetch(source: SourceKind, server_time: i64, sent_us: u64, latency_us: u64) -> FetchRec {
        FetchRec {
            source: source as u8,
            job: None,
            url: 0,
            status: Some(200),
            latency_us,
            body: None,
            body_len: 0,
            content_type: None,
            error: None,
            parse_error: None,
            outcome: Outcome::Ok as u8,
            location: None,
            rows: None,
            problems: vec![],
            problems_total: 0,
            server_time: Some(server_time),
            sent_us: Some(sent_us),
            retried: None,
            secrets_removed: 0,
        }
    }

    /// A `Date` second and the bracket of each answer: intersected within a poll.
    #[test]
    fn a_poll_measures_from_its_answers() {
        let t0 = 1_000_000_000_000_000i64;
        let info = SnapshotInfo {
            seq: 1,
            started_at: t0,
            ended_at: t0 + 300_000,
            session: 1,
        };
        // The runner 420 s behind: Date truncated to the second.
        let d = |at: i64| (at - 420_000_000) / 1_000_000 * 1_000_000;
        let snap = SnapshotRec {
            session: 1,
            started_at: t0,
            duration_us: 300_000,
            fetches: vec![
                fetch(SourceKind::RunnerExecAll, d(t0 + 100_000), 0, 100_000),
                fetch(
                    SourceKind::RunnerJobDefault,
                    d(t0 + 250_000),
                    200_000,
                    50_000,
                ),
                // The router's own timestamp, exact, 3 s ahead.
                fetch(SourceKind::RouterHealth, t0 + 3_000_000 + 10_000, 0, 20_000),
            ],
        };
        let r = measure(&info, &snap, Server::Runner).unwrap();
        assert!(
            (r.offset_seconds + 420.0).abs() <= r.error_seconds + 1e-9,
            "{r:?}"
        );
        assert!(r.error_seconds <= 0.5, "{r:?}");
        assert_eq!(r.measured, Measured::DateHeader);
        let h = measure(&info, &snap, Server::Router).unwrap();
        assert!((h.offset_seconds - 3.0).abs() < 0.02, "{h:?}");
        assert_eq!(h.measured, Measured::HealthTimestamp);
        // No clock in any answer: nothing measured.
        let mut none = snap.clone();
        none.fetches.iter_mut().for_each(|f| f.server_time = None);
        assert!(measure(&info, &none, Server::Runner).is_none());
    }

    /// Row times bound the offset: ahead when dated after the poll that listed them, behind
    /// when set after a poll but dated before it.
    #[test]
    fn row_times_bound_the_offset_both_ways() {
        let info = |seq: u64| {
            Some(SnapshotInfo {
                seq,
                started_at: seq as i64 * 10_000_000,
                ended_at: seq as i64 * 10_000_000 + 1_000_000,
                session: 1,
            })
        };
        let b = RowBounds {
            ahead: vec![(2, 80_000_000), (3, 33_000_000)],
            behind: vec![(4, -380_000_000)],
        };
        let s = b.samples(info);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((s[0].seq, s[0].offset_seconds), (2, 59.0));
        assert_eq!((s[1].seq, s[1].offset_seconds), (4, -420.0));
        assert!(s.iter().all(|x| x.measured == Measured::RowTimes));
    }
}
