//! Failure signatures and timing: what failed alike, when, and for how long.

use super::clocks::ServerClock;
use super::values::Stamp;
use crate::beacon::Execution;
use serde::Serialize;
use std::collections::BTreeMap;

/// Failures closer than this (by the rows' own completion times) form one cluster.
pub const CLUSTER_GAP_SECS: f64 = 60.0;
/// A failed row faster than this never reached a provider in any meaningful way.
pub const NEAR_INSTANT_SECS: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SigKey {
    pub status: String,
    pub error_code: Option<String>,
    pub failure_stage: Option<String>,
    pub provider_empty: bool,
    /// `None` when the format carries no output (job view only).
    pub output_null: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Signature {
    pub key: SigKey,
    pub count: usize,
    pub example_ids: Vec<i64>,
    /// The error text most of its rows carry (`output.error`, else `failure.message`).
    pub error_text: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cluster {
    pub start: Stamp,
    pub end: Stamp,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DurationMode {
    pub seconds: i64,
    pub count: usize,
}

/// When polling saw a row turn failed: after `not_failed_at`, by `failed_at`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ObservedFailure {
    pub id: i64,
    /// The last snapshot whose complete list showed the row not failed (or not yet there).
    pub not_failed_seq: Option<u64>,
    pub not_failed_at: Option<Stamp>,
    /// The first snapshot whose complete list showed it failed.
    pub failed_seq: u64,
    pub failed_at: Stamp,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Failures {
    pub total: usize,
    pub signatures: Vec<Signature>,
    /// The first and last failure by the rows' own times, on the recorder's clock (moved by
    /// the runner's measured offset, and never after the poll that saw the row failed).
    pub first_failed_at: Option<Stamp>,
    pub last_failed_at: Option<Stamp>,
    /// The same two as the rows' own stamps say, on the runner's clock, when its clock and
    /// the recorder's disagree (`None` when they agree: the times above are the stamps).
    pub first_failed_runner: Option<Stamp>,
    pub last_failed_runner: Option<Stamp>,
    pub spread_seconds: Option<f64>,
    pub clusters: Vec<Cluster>,
    pub duration_modes: Vec<DurationMode>,
    pub near_instant: Vec<i64>,
    pub observed: Vec<ObservedFailure>,
    /// Earliest and latest snapshot time at which polling first saw a row failed.
    pub first_seen_failed_at: Option<Stamp>,
    pub last_seen_failed_at: Option<Stamp>,
}

/// The instant a row's failure is dated by: completion, else start, else creation.
pub fn failure_time(e: &Execution) -> Option<i64> {
    e.completed_at.or(e.started_at).or(e.created_at)
}

pub fn signatures(failed: &[&Execution]) -> Vec<Signature> {
    let mut groups: BTreeMap<SigKey, (Vec<i64>, BTreeMap<&str, usize>)> = BTreeMap::new();
    for e in failed {
        let key = SigKey {
            status: e.status.to_string(),
            error_code: e.error_code.as_deref().map(str::to_string),
            failure_stage: e.failure_stage.as_deref().map(str::to_string),
            provider_empty: e.provider_id.as_deref().unwrap_or("").is_empty(),
            output_null: e.output_null,
        };
        let g = groups.entry(key).or_default();
        g.0.push(e.id);
        if let Some(m) = e.error_message.as_deref() {
            *g.1.entry(m).or_default() += 1;
        }
    }
    let mut out: Vec<Signature> = groups
        .into_iter()
        .map(|(key, (ids, texts))| Signature {
            key,
            count: ids.len(),
            example_ids: ids.into_iter().take(5).collect(),
            error_text: texts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(t, _)| t.to_string()),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    out
}

/// Groups sorted instants (µs) into clusters separated by more than `gap_secs`.
pub fn clusters(times: &[i64], gap_secs: f64) -> Vec<Cluster> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::new();
    let mut start = None;
    let mut prev = 0i64;
    let mut count = 0;
    for &t in &sorted {
        match start {
            Some(s) if (t - prev) as f64 / 1e6 > gap_secs => {
                out.push(Cluster {
                    start: Stamp(s),
                    end: Stamp(prev),
                    count,
                });
                start = Some(t);
                count = 0;
            }
            None => start = Some(t),
            _ => {}
        }
        prev = t;
        count += 1;
    }
    if let Some(s) = start {
        out.push(Cluster {
            start: Stamp(s),
            end: Stamp(prev),
            count,
        });
    }
    out
}

/// Durations (rounded to the second) shared by at least two rows, most common first.
pub fn duration_modes(durations: &[f64]) -> Vec<DurationMode> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for d in durations {
        *counts.entry(d.round() as i64).or_default() += 1;
    }
    let mut out: Vec<DurationMode> = counts
        .into_iter()
        .filter(|(_, c)| *c >= 2)
        .map(|(seconds, count)| DurationMode { seconds, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.seconds.cmp(&b.seconds)));
    out
}

/// Everything about the failed rows of a job at the end of the recording. `clock` maps the
/// rows' times onto the recorder's clock; `seen_end(seq)` is when that poll ended, the latest
/// a row it saw failed can have failed.
pub fn analyse<'a>(
    final_rows: impl IntoIterator<Item = &'a Execution>,
    observed: Vec<ObservedFailure>,
    clock: &ServerClock,
    seen_end: impl Fn(u64) -> Option<i64>,
) -> Failures {
    let failed: Vec<&Execution> = final_rows.into_iter().filter(|e| e.is_failed()).collect();
    let seen: std::collections::HashMap<i64, u64> =
        observed.iter().map(|o| (o.id, o.failed_seq)).collect();
    let own: Vec<(i64, i64)> = failed
        .iter()
        .filter_map(|e| {
            let t = failure_time(e)?;
            let mut r = clock.to_recorder(t);
            if let Some(end) = seen.get(&e.id).and_then(|s| seen_end(*s)) {
                r = r.min(end);
            }
            Some((t, r))
        })
        .collect();
    let times: Vec<i64> = own.iter().map(|x| x.1).collect();
    let durations: Vec<f64> = failed.iter().filter_map(|e| e.duration_secs()).collect();
    let (first, last) = (times.iter().min().copied(), times.iter().max().copied());
    let runner = |pick: Option<i64>| {
        (!clock.agrees())
            .then(|| own.iter().find(|x| Some(x.1) == pick).map(|x| Stamp(x.0)))
            .flatten()
    };
    let seen_first = observed.iter().map(|o| o.failed_seq).min();
    let seen_last = observed.iter().map(|o| o.failed_seq).max();
    let at = |seq: Option<u64>| {
        seq.and_then(|s| observed.iter().find(|o| o.failed_seq == s))
            .map(|o| o.failed_at)
    };
    Failures {
        total: failed.len(),
        signatures: signatures(&failed),
        first_failed_at: first.map(Stamp),
        last_failed_at: last.map(Stamp),
        first_failed_runner: runner(first),
        last_failed_runner: runner(last),
        spread_seconds: first.zip(last).map(|(a, b)| (b - a) as f64 / 1e6),
        clusters: clusters(&times, CLUSTER_GAP_SECS),
        duration_modes: duration_modes(&durations),
        near_instant: failed
            .iter()
            .filter(|e| e.duration_secs().is_some_and(|d| d < NEAR_INSTANT_SECS))
            .map(|e| e.id)
            .collect(),
        first_seen_failed_at: at(seen_first),
        last_seen_failed_at: at(seen_last),
        observed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_split_on_gaps() {
        let s = 1_000_000_000_000i64;
        let t = |secs: i64| s + secs * 1_000_000;
        let c = clusters(&[t(0), t(30), t(50), t(500), t(520), t(2000)], 60.0);
        assert_eq!(c.iter().map(|c| c.count).collect::<Vec<_>>(), vec![3, 2, 1]);
        assert!(clusters(&[], 60.0).is_empty());
    }

    #[test]
    fn duration_modes_find_the_timeout() {
        let m = duration_modes(&[120.0, 120.2, 119.8, 45.0, 3.0, 45.4]);
        assert_eq!(
            m[0],
            DurationMode {
                seconds: 120,
                count: 3
            }
        );
        assert_eq!(
            m[1],
            DurationMode {
                seconds: 45,
                count: 2
            }
        );
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn signatures_group_and_count() {
        let a = Execution {
            id: 1,
            status: "failed".into(),
            error_code: Some("ROUTER_TIMEOUT".into()),
            provider_id: Some(Default::default()),
            ..Default::default()
        };
        let b = Execution { id: 2, ..a.clone() };
        let c = Execution {
            id: 3,
            status: "failed".into(),
            provider_id: Some("modal-us-east".into()),
            output_null: Some(true),
            ..Default::default()
        };
        let s = signatures(&[&a, &b, &c]);
        assert_eq!(s[0].count, 2);
        assert!(s[0].key.provider_empty);
        assert_eq!(s[1].example_ids, vec![3]);
        assert!(!s[1].key.provider_empty);
    }
}
