//! The extra endpoints over the recording, read by key (`keyed`): what changed between two
//! answers, the queues' depth over time, the runner's stuck jobs, the router's health checks as
//! its check history shows them, and how each endpoint answered.

use super::recording::Recording;
use super::values::Stamp;
use crate::fetch::{Outcome, SourceKind};
use crate::keyed::{self, Flat, PathChange};
use crate::store::StoreError;
use crate::store::schema::FetchRec;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Changes kept per event; the count says how many there were.
pub const CHANGES_KEPT: usize = 20;

/// An endpoint: its source and, for `--endpoint`s, its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EndpointId {
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl EndpointId {
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {n}", self.source),
            None => self.source.to_string(),
        }
    }
}

/// One endpoint's answer changing between two fetches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointChange {
    #[serde(flatten)]
    pub endpoint: EndpointId,
    /// The snapshot of the earlier answer.
    pub from_seq: u64,
    pub seq: u64,
    pub at: Stamp,
    /// The first `CHANGES_KEPT` changed paths.
    pub changes: Vec<PathChange>,
    pub changed: usize,
}

/// One answer of a keyed endpoint.
struct Answer {
    seq: u64,
    body: u64,
}

fn id_of(rec: &Recording, f: &FetchRec) -> Option<EndpointId> {
    let kind = SourceKind::from_u8(f.source)?;
    if !kind.is_keyed() {
        return None;
    }
    let name = (kind == SourceKind::Custom).then(|| {
        let url = rec.string(f.url);
        rec.sessions
            .iter()
            .find_map(|s| s.endpoint_name(url))
            .map_or_else(|| url.to_string(), str::to_string)
    });
    Some(EndpointId {
        source: kind.name(),
        name,
    })
}

/// Every answered fetch of every keyed endpoint, in snapshot order.
fn answers(rec: &Recording) -> BTreeMap<EndpointId, Vec<Answer>> {
    let mut out: BTreeMap<EndpointId, Vec<Answer>> = BTreeMap::new();
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        for f in &snap.fetches {
            if f.outcome() != Outcome::Ok {
                continue;
            }
            if let (Some(id), Some(body)) = (id_of(rec, f), f.body) {
                out.entry(id).or_default().push(Answer {
                    seq: info.seq,
                    body,
                });
            }
        }
    }
    out
}

/// Bodies read as paths, each once.
struct Bodies<'a> {
    rec: &'a Recording,
    cache: HashMap<u64, Option<Flat>>,
}

impl Bodies<'_> {
    fn flat(&mut self, id: u64) -> Result<Option<&Flat>, StoreError> {
        if !self.cache.contains_key(&id) {
            let raw = self.rec.reader.body(id)?;
            self.cache.insert(id, keyed::read(&raw).ok());
        }
        Ok(self.cache.get(&id).and_then(Option::as_ref))
    }
}

fn change(
    rec: &Recording,
    endpoint: &EndpointId,
    from_seq: u64,
    seq: u64,
    all: Vec<PathChange>,
) -> EndpointChange {
    EndpointChange {
        endpoint: endpoint.clone(),
        from_seq,
        seq,
        at: Stamp(rec.info(seq).map_or(0, |i| i.started_at)),
        changed: all.len(),
        changes: all.into_iter().take(CHANGES_KEPT).collect(),
    }
}

/// Every change of every keyed endpoint's answer, in snapshot order (volatile keys left out:
/// an answer that differs only in its timestamp is no change).
pub fn changes(rec: &Recording) -> Result<Vec<EndpointChange>, StoreError> {
    let mut bodies = Bodies {
        rec,
        cache: HashMap::new(),
    };
    let mut out = Vec::new();
    for (id, list) in answers(rec) {
        let mut prev: Option<(u64, u64)> = None;
        for a in list {
            if let Some((pseq, pbody)) = prev
                && pbody != a.body
            {
                let before = bodies.flat(pbody)?.cloned();
                let after = bodies.flat(a.body)?.cloned();
                if let (Some(b), Some(c)) = (before, after) {
                    let all = keyed::changes(&b, &c);
                    if !all.is_empty() {
                        out.push(change(rec, &id, pseq, a.seq, all));
                    }
                }
                // Only the last two bodies are needed from here on.
                bodies.cache.retain(|k, _| *k == a.body);
            }
            prev = Some((a.seq, a.body));
        }
    }
    out.sort_by_key(|c| c.seq);
    Ok(out)
}

/// What changed between the answers in force at two snapshots (each endpoint's last answer
/// at or before them).
pub fn diff(rec: &Recording, from: u64, to: u64) -> Result<Vec<EndpointChange>, StoreError> {
    let mut bodies = Bodies {
        rec,
        cache: HashMap::new(),
    };
    let mut out = Vec::new();
    for (id, list) in answers(rec) {
        let at = |s: u64| list.iter().rev().find(|a| a.seq <= s);
        // No answer yet at `from` (the recording, or a bundle cut from it, starts later than
        // the last one before): compared from its first answer in the range (the seqs
        // compared are said).
        let first_in = || list.iter().find(|a| a.seq > from && a.seq <= to);
        let (Some(a), Some(b)) = (at(from).or_else(first_in), at(to)) else {
            continue;
        };
        if a.body == b.body {
            continue;
        }
        let (sa, sb) = (a.seq, b.seq);
        let before = bodies.flat(a.body)?.cloned();
        let after = bodies.flat(b.body)?.cloned();
        if let (Some(x), Some(y)) = (before, after) {
            let all = keyed::changes(&x, &y);
            if !all.is_empty() {
                out.push(change(rec, &id, sa, sb, all));
            }
        }
    }
    Ok(out)
}

/// Numbers of a queue endpoint at one answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePoint {
    pub seq: u64,
    pub at: Stamp,
    /// Path -> depth: `main`, `retry`, `dead`, `processing` (runner); `regions.US.queue_size`,
    /// `global_retry_queue_size`, ... (router).
    pub depths: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSeries {
    pub source: &'static str,
    /// A point whenever a depth changed (and the first).
    pub points: Vec<QueuePoint>,
    /// Changes of depth: the points after the first.
    pub changes: usize,
    /// Answers at which the depths went from some to none (the answer before, this one, its
    /// time). On the router, whose queue workers are disabled, only a restart empties them.
    /// (Its `completed`/`failed` counters never move there, and are not read.)
    pub emptied: Vec<(u64, u64, Stamp)>,
    /// The largest of each depth.
    pub max: BTreeMap<String, f64>,
}

/// Stuck jobs as the runner reported them.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct StuckJobs {
    pub answers: usize,
    pub max_count: u64,
    pub first_seen: Option<Stamp>,
    pub last_seen: Option<Stamp>,
    /// The last answer, stuck jobs or not: whether `last_seen` is still the case.
    pub last_answer: Option<Stamp>,
    /// Every job id it named.
    pub jobs: Vec<String>,
}

/// One provider's completed health checks, as the polls saw them: every distinct stamp of
/// `/providers`' `last_health_check` and of the check history's `last_check_timestamp`. Each
/// answer shows only a provider's last check, so checks between two polls go unseen: the list
/// is a lower bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderChecks {
    pub provider: String,
    /// Checks seen: (when it ran, by the router's clock; healthy after it).
    pub checks: Vec<(Stamp, bool)>,
    /// The longest time between two checks seen (or from the last to the end), seconds;
    /// checks in between may have gone unseen.
    pub longest_gap_seconds: Option<f64>,
}

/// How each endpoint answered over the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointCount {
    #[serde(flatten)]
    pub endpoint: EndpointId,
    pub requests: usize,
    pub ok: usize,
    pub failed: usize,
    pub not_offered: usize,
    /// Answers whose keyed content changed.
    pub changes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct EndpointsReport {
    pub endpoints: Vec<EndpointCount>,
    pub queues: Vec<QueueSeries>,
    pub stuck_jobs: Option<StuckJobs>,
    pub checks: Vec<ProviderChecks>,
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

pub fn report(rec: &Recording) -> Result<EndpointsReport, StoreError> {
    let changes = changes(rec)?;
    let mut r = EndpointsReport {
        endpoints: counts(rec, &changes),
        ..Default::default()
    };
    let mut bodies = Bodies {
        rec,
        cache: HashMap::new(),
    };
    // Checks seen per provider, from the check history and `/providers`.
    let mut by: BTreeMap<String, Vec<(Stamp, bool)>> = BTreeMap::new();
    for (id, list) in answers(rec) {
        match id.source {
            "runner.admin_queue_stats" | "router.queue_status" => {
                r.queues
                    .push(queue_series(rec, id.source, &list, &mut bodies)?)
            }
            "runner.admin_stuck_jobs" => r.stuck_jobs = Some(stuck_jobs(rec, &list, &mut bodies)?),
            "router.health_check_history" => check_history(&list, &mut bodies, &mut by)?,
            _ => {}
        }
    }
    r.checks = provider_checks(rec, by)?;
    Ok(r)
}

/// How each endpoint answered over the recording, and how often its answer changed.
fn counts(rec: &Recording, changes: &[EndpointChange]) -> Vec<EndpointCount> {
    let mut counts: BTreeMap<EndpointId, EndpointCount> = BTreeMap::new();
    for snap in &rec.snaps {
        for f in &snap.fetches {
            let Some(id) = id_of(rec, f) else { continue };
            let c = counts.entry(id.clone()).or_insert(EndpointCount {
                endpoint: id,
                requests: 0,
                ok: 0,
                failed: 0,
                not_offered: 0,
                changes: 0,
            });
            c.requests += 1;
            match f.outcome() {
                Outcome::Ok => c.ok += 1,
                Outcome::NotOffered => c.not_offered += 1,
                o if o.is_failure() => c.failed += 1,
                _ => {}
            }
        }
    }
    for ch in changes {
        if let Some(c) = counts.get_mut(&ch.endpoint) {
            c.changes += 1;
        }
    }
    counts.into_values().collect()
}

/// A queue endpoint's depths over time (a point where they changed), and its counters going
/// back.
fn queue_series(
    rec: &Recording,
    source: &'static str,
    list: &[Answer],
    bodies: &mut Bodies,
) -> Result<QueueSeries, StoreError> {
    let at = |seq: u64| Stamp(rec.info(seq).map_or(0, |i| i.started_at));
    let mut s = QueueSeries {
        source,
        points: Vec::new(),
        changes: 0,
        emptied: Vec::new(),
        max: BTreeMap::new(),
    };
    let mut prev_seq = 0;
    let mut had_depth = false;
    for a in list {
        let Some(flat) = bodies.flat(a.body)? else {
            continue;
        };
        let depths: BTreeMap<String, f64> = flat
            .iter()
            .filter(|(k, _)| {
                let leaf = k.rsplit('.').next().unwrap_or(k);
                matches!(
                    leaf,
                    "main"
                        | "retry"
                        | "dead"
                        | "processing"
                        | "queue_size"
                        | "retry_queue_size"
                        | "global_retry_queue_size"
                )
            })
            .filter_map(|(k, v)| Some((k.clone(), number(v)?)))
            .collect();
        for (k, v) in &depths {
            let m = s.max.entry(k.clone()).or_insert(*v);
            *m = m.max(*v);
        }
        // Queued work waits in the depths; `processing` is a flag of its own, not a depth.
        let depth = depths
            .iter()
            .filter(|(k, _)| !k.ends_with("processing"))
            .map(|(_, v)| *v)
            .sum::<f64>();
        if had_depth && depth == 0.0 && !depths.is_empty() {
            s.emptied.push((prev_seq, a.seq, at(a.seq)));
        }
        had_depth = depth > 0.0;
        prev_seq = a.seq;
        if s.points.last().is_none_or(|p| p.depths != depths) {
            s.points.push(QueuePoint {
                seq: a.seq,
                at: at(a.seq),
                depths,
            });
        }
        bodies.cache.clear();
    }
    s.changes = s.points.len().saturating_sub(1);
    Ok(s)
}

/// The runner's stuck jobs, as its answers named them.
fn stuck_jobs(
    rec: &Recording,
    list: &[Answer],
    bodies: &mut Bodies,
) -> Result<StuckJobs, StoreError> {
    let at = |seq: u64| Stamp(rec.info(seq).map_or(0, |i| i.started_at));
    let mut st = StuckJobs::default();
    let mut jobs = BTreeSet::new();
    for a in list {
        let Some(flat) = bodies.flat(a.body)? else {
            continue;
        };
        st.answers += 1;
        st.last_answer = Some(at(a.seq));
        let n = flat
            .get("stuck_jobs_count")
            .and_then(|v| number(v))
            .unwrap_or(0.0) as u64;
        if n > 0 {
            st.first_seen.get_or_insert(at(a.seq));
            st.last_seen = Some(at(a.seq));
        }
        st.max_count = st.max_count.max(n);
        for (k, v) in flat {
            if k.starts_with("stuck_jobs[") && k.ends_with(".job_id") {
                jobs.insert(v.trim_matches('"').to_string());
            }
        }
        bodies.cache.clear();
    }
    st.jobs = jobs.into_iter().collect();
    Ok(st)
}

/// Each provider's checks as the router's check history showed them.
fn check_history(
    list: &[Answer],
    bodies: &mut Bodies,
    by: &mut BTreeMap<String, Vec<(Stamp, bool)>>,
) -> Result<(), StoreError> {
    for a in list {
        let Some(flat) = bodies.flat(a.body)? else {
            continue;
        };
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for k in flat.keys() {
            if let Some(rest) = k.strip_prefix("providers[")
                && let Some(end) = rest.find(']')
            {
                names.insert(&rest[..end]);
            }
        }
        for p in names {
            let get = |f: &str| flat.get(&format!("providers[{p}].{f}"));
            let ts = get("last_check_timestamp").and_then(|v| number(v));
            let healthy = get("healthy").is_some_and(|v| v == "true");
            let checks = by.entry(p.to_string()).or_default();
            if let Some(t) = ts.filter(|t| *t > 0.0) {
                let us = (t * 1e6) as i64;
                if checks.last().is_none_or(|(l, _)| l.0 != us) {
                    checks.push((Stamp(us), healthy));
                }
            }
        }
        bodies.cache.clear();
    }
    Ok(())
}

/// Every provider's checks seen (the history's and `/providers`' stamps), and the longest
/// stretch between two.
fn provider_checks(
    rec: &Recording,
    mut by: BTreeMap<String, Vec<(Stamp, bool)>>,
) -> Result<Vec<ProviderChecks>, StoreError> {
    let end = rec.infos.last().map_or(0, |i| i.ended_at);
    let mut out = Vec::new();
    // And every stamp `/providers` showed.
    for (_, v) in rec.reader.router_versions()? {
        for p in v.providers.iter().flatten() {
            if let Some(t) = p.last_health_check {
                by.entry(p.name.clone())
                    .or_default()
                    .push((Stamp(t), p.healthy == Some(true)));
            }
        }
    }
    for (provider, mut checks) in by {
        checks.sort_by_key(|c| c.0);
        // The two endpoints turn one float into µs their own way: within a millisecond is
        // the same check.
        checks.dedup_by(|b, a| (b.0.0 - a.0.0).abs() < 1000);
        let mut longest: Option<f64> = None;
        let mut prev: Option<i64> = None;
        for (t, _) in &checks {
            if let Some(p) = prev {
                let g = (t.0 - p) as f64 / 1e6;
                longest = Some(longest.map_or(g, |l: f64| l.max(g)));
            }
            prev = Some(t.0);
        }
        if let Some(p) = prev {
            let g = (end - p) as f64 / 1e6;
            longest = Some(longest.map_or(g, |l: f64| l.max(g)));
        }
        out.push(ProviderChecks {
            provider,
            checks,
            longest_gap_seconds: longest,
        });
    }
    Ok(out)
}
