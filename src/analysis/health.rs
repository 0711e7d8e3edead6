//! The router across the incident and the health of the fetches: transitions, stale
//! providers, failures the router did not explain, and outage windows per source.

use super::report::{
    FetchReport, JobReport, Outage, RouterPoint, RouterReport, STALE_AFTER_SECS, StaleProvider,
    Transition, human_secs,
};
use super::{JobState, Recording};
use crate::beacon::{RouterRec, format_micros};
use crate::fetch::SourceKind;
use crate::store::StoreError;
use crate::store::schema::FetchRec;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn router_report(
    rec: &Recording,
    jobs: &[JobReport],
    finals: &[&JobState],
) -> Result<RouterReport, StoreError> {
    let mut rr = RouterReport {
        recorded: rec.router_recorded(),
        ..Default::default()
    };
    let versions = rec.reader.router_versions()?;
    let at = |seq: u64| {
        rec.info(seq)
            .map_or_else(String::new, |i| format_micros(i.started_at))
    };
    let mut prev: Option<&RouterRec> = None;
    for (seq, r) in &versions {
        let h = r.health.clone().unwrap_or_default();
        rr.series.push(RouterPoint {
            seq: *seq,
            taken_at: at(*seq),
            providers_healthy: h.providers_healthy,
            providers_total: h.providers_total,
            regions: h.regions.clone(),
        });
        if let Some(p) = prev {
            for c in router_changes(p, r) {
                rr.transitions.push(Transition {
                    seq: *seq,
                    at: at(*seq),
                    what: c.describe(),
                });
            }
        }
        prev = Some(r);
    }
    let all_healthy = |r: &RouterRec| {
        r.health.as_ref().is_some_and(|h| {
            h.providers_total.is_some_and(|t| t > 0) && h.providers_healthy == h.providers_total
        })
    };
    rr.all_healthy_throughout =
        !versions.is_empty() && versions.iter().all(|(_, r)| all_healthy(r));
    if let (Some((_, last)), Some(end)) = (versions.last(), rec.infos.last()) {
        for p in last.providers.iter().flatten() {
            let reason = match p.last_health_check {
                None => Some("never checked (last_health_check 0)".to_string()),
                Some(t) if end.started_at - t > STALE_AFTER_SECS * 1_000_000 => Some(format!(
                    "last checked {} before the end of the recording",
                    human_secs((end.started_at - t) as f64 / 1e6)
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                rr.stale_providers.push(StaleProvider {
                    name: p.name.clone(),
                    region: p.region.clone(),
                    last_health_check: p.last_health_check.map(format_micros),
                    reason,
                });
            }
        }
    }
    // Rows failing with router/provider errors while the router said all was well.
    for (jr, js) in jobs.iter().zip(finals) {
        for o in &jr.failures.observed {
            let Some(e) = js.execs.get(&o.id) else {
                continue;
            };
            let routerish = e
                .error_code
                .as_deref()
                .is_some_and(|c| c.starts_with("ROUTER") || c.starts_with("PROVIDER"))
                || e.failure_stage
                    .as_deref()
                    .is_some_and(|s| s.contains("router") || s.contains("provider"));
            if !routerish {
                continue;
            }
            let state = versions
                .iter()
                .rev()
                .find(|(s, _)| *s <= o.failed_seq)
                .map(|(_, r)| r);
            if state.is_some_and(all_healthy) {
                rr.failed_while_all_healthy += 1;
            }
        }
    }
    Ok(rr)
}

pub(super) fn fetch_report(rec: &Recording) -> FetchReport {
    let mut fr = FetchReport::default();
    for snap in &rec.snaps {
        for f in &snap.fetches {
            fr.requests += 1;
            let o = f.outcome();
            if o.is_failure() {
                fr.failed_requests += 1;
            } else if o.is_gap() {
                fr.unsent_requests += 1;
            }
        }
    }
    fr.outages = windows(rec, |f| f.outcome().is_failure());
    fr.gaps = windows(rec, |f| f.outcome().is_gap());
    fr
}

/// Windows of consecutive snapshots in which a source's requests matched `bad` (per source
/// and job), each closed by the next snapshot in which that source's requests did not.
fn windows(rec: &Recording, bad: impl Fn(&FetchRec) -> bool) -> Vec<Outage> {
    // Key: (source, job). Open windows: key -> (from_seq, to_seq, count, kinds).
    type Key = (u8, Option<u32>);
    let mut out = Vec::new();
    let mut open: BTreeMap<Key, (u64, u64, usize, BTreeSet<String>)> = BTreeMap::new();
    let job_name = |j: Option<u32>| {
        j.and_then(|j| {
            rec.jobs
                .iter()
                .find(|(_, i)| *i == j)
                .map(|(n, _)| n.clone())
        })
    };
    let at = |seq: u64| {
        rec.info(seq)
            .map_or_else(String::new, |i| format_micros(i.started_at))
    };
    let close = |key: Key,
                 w: (u64, u64, usize, BTreeSet<String>),
                 recovered: Option<u64>,
                 out: &mut Vec<Outage>| {
        out.push(Outage {
            source: SourceKind::name_of(key.0).to_string(),
            job: job_name(key.1),
            from: at(w.0),
            to: at(w.1),
            from_seq: w.0,
            to_seq: w.1,
            snapshots: w.2,
            recovered_at: recovered.map(at),
            kinds: w.3.into_iter().collect(),
        });
    };
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        let mut status: BTreeMap<Key, Option<String>> = BTreeMap::new();
        for f in &snap.fetches {
            let e = status.entry((f.source, f.job)).or_insert(None);
            if bad(f) && e.is_none() {
                *e = Some(f.outcome_word());
            }
        }
        for (key, failed) in status {
            match failed {
                Some(kind) => {
                    let w = open
                        .entry(key)
                        .or_insert((info.seq, info.seq, 0, BTreeSet::new()));
                    w.1 = info.seq;
                    w.2 += 1;
                    w.3.insert(kind);
                }
                None => {
                    if let Some(w) = open.remove(&key) {
                        close(key, w, Some(info.seq), &mut out);
                    }
                }
            }
        }
    }
    for (key, w) in std::mem::take(&mut open) {
        close(key, w, None, &mut out);
    }
    out.sort_by(|a, b| a.from_seq.cmp(&b.from_seq).then(a.source.cmp(&b.source)));
    out
}

/// One change of the router's state between two versions.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RouterChange {
    Counts {
        from: (Option<i64>, Option<i64>),
        to: (Option<i64>, Option<i64>),
    },
    Regions {
        from: Vec<String>,
        to: Vec<String>,
    },
    ProviderAppeared(String),
    ProviderHealth {
        name: String,
        healthy: Option<bool>,
    },
    ProviderGone(String),
}

impl RouterChange {
    pub(super) fn describe(&self) -> String {
        match self {
            RouterChange::Counts { from, to } => format!(
                "providers healthy {} of {} -> {} of {}",
                opt(from.0),
                opt(from.1),
                opt(to.0),
                opt(to.1)
            ),
            RouterChange::Regions { from, to } => {
                format!("regions [{}] -> [{}]", from.join(", "), to.join(", "))
            }
            RouterChange::ProviderAppeared(n) => format!("provider {n} appeared"),
            RouterChange::ProviderHealth { name, healthy } => format!(
                "provider {name} turned {}",
                if *healthy == Some(true) {
                    "healthy"
                } else {
                    "unhealthy"
                }
            ),
            RouterChange::ProviderGone(n) => format!("provider {n} disappeared"),
        }
    }
}

/// What changed from one router version to the next.
pub(super) fn router_changes(p: &RouterRec, r: &RouterRec) -> Vec<RouterChange> {
    let mut out = Vec::new();
    let (ph, h) = (
        p.health.clone().unwrap_or_default(),
        r.health.clone().unwrap_or_default(),
    );
    if (ph.providers_healthy, ph.providers_total) != (h.providers_healthy, h.providers_total) {
        out.push(RouterChange::Counts {
            from: (ph.providers_healthy, ph.providers_total),
            to: (h.providers_healthy, h.providers_total),
        });
    }
    if ph.regions != h.regions {
        out.push(RouterChange::Regions {
            from: ph.regions,
            to: h.regions,
        });
    }
    let before: BTreeMap<&str, Option<bool>> = p
        .providers
        .iter()
        .flatten()
        .map(|x| (x.name.as_str(), x.healthy))
        .collect();
    for x in r.providers.iter().flatten() {
        match before.get(x.name.as_str()) {
            None => out.push(RouterChange::ProviderAppeared(x.name.clone())),
            Some(b) if *b != x.healthy => out.push(RouterChange::ProviderHealth {
                name: x.name.clone(),
                healthy: x.healthy,
            }),
            _ => {}
        }
    }
    let now: BTreeSet<&str> = r
        .providers
        .iter()
        .flatten()
        .map(|x| x.name.as_str())
        .collect();
    for name in before.keys().filter(|n| !now.contains(*n)) {
        out.push(RouterChange::ProviderGone(name.to_string()));
    }
    out
}

fn opt(v: Option<i64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}
