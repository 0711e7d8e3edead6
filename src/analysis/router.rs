//! The router across the incident, read the way the real router means its fields (API.md, and
//! its `core/router.py`): health is checked at start-up and after inference requests only;
//! `last_health_check: 0` with `healthy: true` is health *assumed* (a new or restarted router
//! before any check), with `healthy: false` it is checks *failing* (a golem check that raised
//! never stamps the time); `/health`'s `regions` is a set; `status: "healthy"` is hard-coded;
//! `version` is the deployed git sha. Ages are measured on the router's own clock (its
//! `/health` `timestamp`) when the recording has it.

use super::{JobState, Recording, Stamp};
use crate::beacon::{Provider, RouterRec};
use crate::fetch::SourceKind;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A provider not checked for this long is called stale.
pub const STALE_AFTER_SECS: i64 = 600;
/// A success rate below this, while the router calls the provider healthy, is flagged. The
/// router moves it by 10 % per call (an exponential average), so 0.5 means most recent calls
/// failed.
pub const LOW_SUCCESS: f64 = 0.5;
/// A success rate that falls by this much between two snapshots is a sharp change.
pub const SHARP_DROP: f64 = 0.25;
/// An average latency that grows this many times (and by at least a second) is a sharp change.
pub const LATENCY_JUMP: f64 = 3.0;

/// What the data says of a provider at one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderState {
    /// Healthy, with a check within `STALE_AFTER_SECS`.
    CheckedHealthy,
    /// Healthy and never checked (`last_health_check` 0): health assumed, not measured.
    AssumedHealthy,
    /// Healthy, but the last check is older than `STALE_AFTER_SECS`.
    HealthyStale,
    /// Unhealthy after a recent completed check.
    CheckedUnhealthy,
    /// Unhealthy with no completed check (`last_health_check` 0), or none for a long time.
    ChecksFailing,
    /// Listed without a usable `healthy`.
    Unknown,
    /// Not listed by `/providers`.
    Absent,
}

impl ProviderState {
    /// Whether the state is worth a finding wherever it occurs.
    pub fn is_risky(self) -> bool {
        matches!(
            self,
            Self::AssumedHealthy | Self::HealthyStale | Self::ChecksFailing
        )
    }
}

/// The state of `p` when the router's clock read `now_us`.
pub fn provider_state(p: &Provider, now_us: i64) -> ProviderState {
    let stale = |t: i64| now_us - t > STALE_AFTER_SECS * 1_000_000;
    match (p.healthy, p.last_health_check) {
        (Some(true), None) => ProviderState::AssumedHealthy,
        (Some(true), Some(t)) if stale(t) => ProviderState::HealthyStale,
        (Some(true), Some(_)) => ProviderState::CheckedHealthy,
        (Some(false), None) => ProviderState::ChecksFailing,
        (Some(false), Some(t)) if stale(t) => ProviderState::ChecksFailing,
        (Some(false), Some(_)) => ProviderState::CheckedUnhealthy,
        (None, _) => ProviderState::Unknown,
    }
}

/// Whose clock ages were measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockUsed {
    /// The router's `/health` `timestamp`.
    Router,
    /// The recorder's (the router's time was not recorded).
    Recorder,
}

/// One change of the router's state between two versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RouterChange {
    HealthyCount {
        from_healthy: Option<i64>,
        from_total: Option<i64>,
        to_healthy: Option<i64>,
        to_total: Option<i64>,
    },
    /// The set of regions changed (its order never counts).
    Regions {
        added: Vec<String>,
        removed: Vec<String>,
    },
    Version {
        from: Option<String>,
        to: Option<String>,
    },
    ProviderAppeared {
        provider: String,
    },
    ProviderGone {
        provider: String,
    },
    ProviderHealth {
        provider: String,
        healthy: Option<bool>,
        /// Whether a check completed since (a new `last_health_check`).
        checked: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub seq: u64,
    pub at: Stamp,
    #[serde(flatten)]
    pub change: RouterChange,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterPoint {
    pub seq: u64,
    pub taken_at: Stamp,
    pub providers_healthy: Option<i64>,
    pub providers_total: Option<i64>,
    pub regions: Vec<String>,
}

/// A stretch of snapshots in which a provider stayed in one state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderSpan {
    pub provider: String,
    pub region: Option<String>,
    pub state: ProviderState,
    pub from_seq: u64,
    pub to_seq: u64,
    pub from: Stamp,
    pub to: Stamp,
    pub snapshots: usize,
    pub last_check: Option<Stamp>,
    /// Age of the last check at the end of the span, on `clock`.
    pub age_seconds: Option<f64>,
    pub clock: ClockUsed,
}

/// Snapshots in which `/health` said "healthy" with no healthy provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthyWithNone {
    pub from_seq: u64,
    pub to_seq: u64,
    pub from: Stamp,
    pub to: Stamp,
    pub snapshots: usize,
    pub providers_total: Option<i64>,
    pub status: Option<String>,
}

/// `/health` and `/providers` of one poll disagreeing on the healthy count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disagreement {
    pub seq: u64,
    pub at: Stamp,
    pub health_healthy: Option<i64>,
    pub health_total: Option<i64>,
    pub listed_healthy: usize,
    pub listed_total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum RateIssue {
    /// Called healthy while most of its recent calls failed.
    LowWhileHealthy {
        success_rate: f64,
    },
    SuccessDrop {
        from: f64,
        to: f64,
    },
    LatencyJump {
        from: f64,
        to: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderRate {
    pub provider: String,
    pub seq: u64,
    pub at: Stamp,
    pub healthy: Option<bool>,
    #[serde(flatten)]
    pub issue: RateIssue,
}

/// Why a restart is read from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartSign {
    VersionChanged,
    /// Every provider's `last_health_check` went back (to 0, or earlier).
    ChecksReset,
    /// Every provider's success rate went back to 1.0 and its latency to 0.
    RatesReset,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restart {
    pub seq: u64,
    pub at: Stamp,
    pub signs: Vec<RestartSign>,
    pub version_from: Option<String>,
    pub version_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouterReport {
    pub recorded: bool,
    /// One point per stored version.
    pub series: Vec<RouterPoint>,
    pub transitions: Vec<Transition>,
    /// Every provider's states over the recording, as spans.
    pub provider_spans: Vec<ProviderSpan>,
    pub healthy_with_none: Vec<HealthyWithNone>,
    pub disagreements: Vec<Disagreement>,
    pub rates: Vec<ProviderRate>,
    pub restarts: Vec<Restart>,
    /// Failed rows with router/provider errors, first seen failed while the router reported
    /// every provider healthy.
    pub failed_while_all_healthy: usize,
    pub all_healthy_throughout: bool,
    pub clock: ClockUsed,
}

impl Default for RouterReport {
    fn default() -> Self {
        RouterReport {
            recorded: false,
            series: Vec::new(),
            transitions: Vec::new(),
            provider_spans: Vec::new(),
            healthy_with_none: Vec::new(),
            disagreements: Vec::new(),
            rates: Vec::new(),
            restarts: Vec::new(),
            failed_while_all_healthy: 0,
            all_healthy_throughout: false,
            clock: ClockUsed::Recorder,
        }
    }
}

/// What changed from one router version to the next.
pub fn router_changes(p: &RouterRec, r: &RouterRec) -> Vec<RouterChange> {
    let mut out = Vec::new();
    let (ph, h) = (
        p.health.clone().unwrap_or_default(),
        r.health.clone().unwrap_or_default(),
    );
    if (ph.providers_healthy, ph.providers_total) != (h.providers_healthy, h.providers_total) {
        out.push(RouterChange::HealthyCount {
            from_healthy: ph.providers_healthy,
            from_total: ph.providers_total,
            to_healthy: h.providers_healthy,
            to_total: h.providers_total,
        });
    }
    let (a, b): (BTreeSet<&String>, BTreeSet<&String>) =
        (ph.regions.iter().collect(), h.regions.iter().collect());
    if a != b {
        out.push(RouterChange::Regions {
            added: b.difference(&a).map(|s| s.to_string()).collect(),
            removed: a.difference(&b).map(|s| s.to_string()).collect(),
        });
    }
    if ph.version != h.version && p.health.is_some() && r.health.is_some() {
        out.push(RouterChange::Version {
            from: ph.version.clone(),
            to: h.version.clone(),
        });
    }
    let before: BTreeMap<&str, &Provider> = p
        .providers
        .iter()
        .flatten()
        .map(|x| (x.name.as_str(), x))
        .collect();
    for x in r.providers.iter().flatten() {
        match before.get(x.name.as_str()) {
            None => out.push(RouterChange::ProviderAppeared {
                provider: x.name.clone(),
            }),
            Some(b) if b.healthy != x.healthy => out.push(RouterChange::ProviderHealth {
                provider: x.name.clone(),
                healthy: x.healthy,
                checked: x.last_health_check != b.last_health_check,
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
        out.push(RouterChange::ProviderGone {
            provider: name.to_string(),
        });
    }
    out
}

/// The signs of a restart between two versions.
fn restart_signs(p: &RouterRec, r: &RouterRec) -> Vec<RestartSign> {
    let mut signs = Vec::new();
    let (pv, v) = (
        p.health.as_ref().and_then(|h| h.version.as_deref()),
        r.health.as_ref().and_then(|h| h.version.as_deref()),
    );
    if pv.is_some() && v.is_some() && pv != v {
        signs.push(RestartSign::VersionChanged);
    }
    let before: BTreeMap<&str, &Provider> = p
        .providers
        .iter()
        .flatten()
        .map(|x| (x.name.as_str(), x))
        .collect();
    let pairs: Vec<(&Provider, &Provider)> = r
        .providers
        .iter()
        .flatten()
        .filter_map(|x| before.get(x.name.as_str()).map(|b| (*b, x)))
        .collect();
    if !pairs.is_empty()
        && pairs.iter().any(|(b, _)| b.last_health_check.is_some())
        && pairs
            .iter()
            .all(|(b, x)| match (b.last_health_check, x.last_health_check) {
                (Some(t0), Some(t1)) => t1 < t0,
                (Some(_), None) => true,
                (None, None) => true,
                (None, Some(_)) => false,
            })
    {
        signs.push(RestartSign::ChecksReset);
    }
    if !pairs.is_empty()
        && pairs
            .iter()
            .any(|(b, _)| b.success_rate.is_some_and(|s| s < 1.0))
        && pairs
            .iter()
            .all(|(_, x)| x.success_rate == Some(1.0) && x.avg_latency.is_none_or(|l| l == 0.0))
    {
        signs.push(RestartSign::RatesReset);
    }
    signs
}

/// The router's time at each snapshot: its `/health` timestamp there, else the recorder's
/// time moved by the last offset seen between the two clocks.
fn router_times(rec: &Recording) -> (Vec<i64>, ClockUsed) {
    let mut offset: Option<i64> = None;
    let mut used = ClockUsed::Recorder;
    let mut out = Vec::with_capacity(rec.infos.len());
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        let here = snap
            .fetches
            .iter()
            .find(|f| {
                f.source == SourceKind::RouterHealth as u8
                    && f.outcome() == crate::fetch::Outcome::Ok
            })
            .and_then(|f| f.server_time);
        if let Some(t) = here {
            offset = Some(t - info.started_at);
            used = ClockUsed::Router;
        }
        out.push(info.started_at + offset.unwrap_or(0));
    }
    (out, used)
}

fn all_healthy(r: &RouterRec) -> bool {
    r.health.as_ref().is_some_and(|h| {
        h.providers_total.is_some_and(|t| t > 0) && h.providers_healthy == h.providers_total
    })
}

/// Whether both `/health` and `/providers` of a snapshot answered.
fn both_answered(snap: &crate::store::schema::SnapshotRec) -> bool {
    let ok = |k: SourceKind| {
        snap.fetches
            .iter()
            .any(|f| f.source == k as u8 && f.outcome() == crate::fetch::Outcome::Ok)
    };
    ok(SourceKind::RouterHealth) && ok(SourceKind::RouterProviders)
}

pub(super) fn router_report(
    rec: &Recording,
    failures: &[(&super::failures::Failures, &JobState)],
) -> Result<RouterReport, StoreError> {
    let mut rr = RouterReport {
        recorded: rec.router_recorded(),
        ..Default::default()
    };
    let versions = rec.reader.router_versions()?;
    let at = |seq: u64| Stamp(rec.info(seq).map_or(0, |i| i.started_at));
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
            for change in router_changes(p, r) {
                rr.transitions.push(Transition {
                    seq: *seq,
                    at: at(*seq),
                    change,
                });
            }
            let signs = restart_signs(p, r);
            if !signs.is_empty() {
                rr.restarts.push(Restart {
                    seq: *seq,
                    at: at(*seq),
                    signs,
                    version_from: p.health.as_ref().and_then(|h| h.version.clone()),
                    version_to: r.health.as_ref().and_then(|h| h.version.clone()),
                });
            }
            rate_changes(p, r, *seq, at(*seq), &mut rr.rates);
        }
        low_rates(r, *seq, at(*seq), prev, &mut rr.rates);
        prev = Some(r);
    }
    rr.all_healthy_throughout =
        !versions.is_empty() && versions.iter().all(|(_, r)| all_healthy(r));
    per_snapshot(rec, &versions, &mut rr);
    // Rows failing with router/provider errors while the router said all was well.
    for (f, js) in failures {
        for o in &f.observed {
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

/// Provider states, "healthy" with none healthy, and `/health` against `/providers`: these
/// need every snapshot (a state can change with time alone).
fn per_snapshot(rec: &Recording, versions: &[(u64, RouterRec)], rr: &mut RouterReport) {
    let (times, clock) = router_times(rec);
    rr.clock = clock;
    // Open spans: provider -> span.
    let mut open: BTreeMap<String, ProviderSpan> = BTreeMap::new();
    let mut none_open: Option<HealthyWithNone> = None;
    let mut v = 0;
    for (k, (info, snap)) in rec.infos.iter().zip(&rec.snaps).enumerate() {
        while v + 1 < versions.len() && versions[v + 1].0 <= info.seq {
            v += 1;
        }
        let Some((vseq, r)) = versions.get(v).filter(|(s, _)| *s <= info.seq) else {
            continue;
        };
        let at = Stamp(info.started_at);
        // Provider states.
        if let Some(list) = &r.providers {
            let mut seen = BTreeSet::new();
            for p in list {
                seen.insert(p.name.clone());
                let state = provider_state(p, times[k]);
                extend_span(
                    &mut open,
                    &mut rr.provider_spans,
                    p,
                    state,
                    info.seq,
                    at,
                    times[k],
                    clock,
                );
            }
            let gone: Vec<String> = open
                .keys()
                .filter(|n| !seen.contains(*n))
                .cloned()
                .collect();
            for name in gone {
                let p = Provider {
                    name,
                    ..Default::default()
                };
                extend_span(
                    &mut open,
                    &mut rr.provider_spans,
                    &p,
                    ProviderState::Absent,
                    info.seq,
                    at,
                    times[k],
                    clock,
                );
            }
        }
        // "healthy" while no provider is.
        let h = r.health.as_ref();
        let none = h.is_some_and(|h| {
            h.status.as_deref() == Some("healthy")
                && h.providers_healthy == Some(0)
                && h.providers_total.is_some_and(|t| t > 0)
        });
        match (&mut none_open, none) {
            (Some(w), true) => {
                w.to_seq = info.seq;
                w.to = at;
                w.snapshots += 1;
            }
            (None, true) => {
                none_open = Some(HealthyWithNone {
                    from_seq: info.seq,
                    to_seq: info.seq,
                    from: at,
                    to: at,
                    snapshots: 1,
                    providers_total: h.and_then(|h| h.providers_total),
                    status: h.and_then(|h| h.status.clone()),
                })
            }
            (Some(_), false) => rr.healthy_with_none.extend(none_open.take()),
            (None, false) => {}
        }
        // Within one poll, `/health` against `/providers` (both from this poll).
        if *vseq <= info.seq
            && both_answered(snap)
            && let (Some(h), Some(list)) = (&r.health, &r.providers)
        {
            let listed_healthy = list.iter().filter(|p| p.healthy == Some(true)).count();
            if h.providers_healthy
                .is_some_and(|n| n != listed_healthy as i64)
                || h.providers_total.is_some_and(|n| n != list.len() as i64)
            {
                rr.disagreements.push(Disagreement {
                    seq: info.seq,
                    at,
                    health_healthy: h.providers_healthy,
                    health_total: h.providers_total,
                    listed_healthy,
                    listed_total: list.len(),
                });
            }
        }
    }
    rr.healthy_with_none.extend(none_open);
    rr.provider_spans.extend(open.into_values());
    rr.provider_spans.sort_by(|a, b| {
        a.provider
            .cmp(&b.provider)
            .then(a.from_seq.cmp(&b.from_seq))
    });
}

#[allow(clippy::too_many_arguments)]
fn extend_span(
    open: &mut BTreeMap<String, ProviderSpan>,
    done: &mut Vec<ProviderSpan>,
    p: &Provider,
    state: ProviderState,
    seq: u64,
    at: Stamp,
    router_now: i64,
    clock: ClockUsed,
) {
    let age = p.last_health_check.map(|t| (router_now - t) as f64 / 1e6);
    match open.get_mut(&p.name) {
        Some(s) if s.state == state => {
            s.to_seq = seq;
            s.to = at;
            s.snapshots += 1;
            if state != ProviderState::Absent {
                s.age_seconds = age;
                s.last_check = p.last_health_check.map(Stamp);
            }
        }
        _ => {
            let region = match (state, open.get(&p.name)) {
                (ProviderState::Absent, Some(prev)) => prev.region.clone(),
                _ => p.region.clone(),
            };
            if let Some(prev) = open.insert(
                p.name.clone(),
                ProviderSpan {
                    provider: p.name.clone(),
                    region,
                    state,
                    from_seq: seq,
                    to_seq: seq,
                    from: at,
                    to: at,
                    snapshots: 1,
                    last_check: p.last_health_check.map(Stamp),
                    age_seconds: if state == ProviderState::Absent {
                        None
                    } else {
                        age
                    },
                    clock,
                },
            ) {
                done.push(prev);
            }
        }
    }
}

/// Sharp changes of a provider's success rate or latency between two versions.
fn rate_changes(p: &RouterRec, r: &RouterRec, seq: u64, at: Stamp, out: &mut Vec<ProviderRate>) {
    let before: BTreeMap<&str, &Provider> = p
        .providers
        .iter()
        .flatten()
        .map(|x| (x.name.as_str(), x))
        .collect();
    for x in r.providers.iter().flatten() {
        let Some(b) = before.get(x.name.as_str()) else {
            continue;
        };
        if let (Some(a), Some(c)) = (b.success_rate, x.success_rate)
            && a - c >= SHARP_DROP
        {
            out.push(ProviderRate {
                provider: x.name.clone(),
                seq,
                at,
                healthy: x.healthy,
                issue: RateIssue::SuccessDrop { from: a, to: c },
            });
        }
        if let (Some(a), Some(c)) = (b.avg_latency, x.avg_latency)
            && c >= a * LATENCY_JUMP
            && c - a >= 1.0
        {
            out.push(ProviderRate {
                provider: x.name.clone(),
                seq,
                at,
                healthy: x.healthy,
                issue: RateIssue::LatencyJump { from: a, to: c },
            });
        }
    }
}

/// A provider called healthy with a low success rate: once per stretch.
fn low_rates(
    r: &RouterRec,
    seq: u64,
    at: Stamp,
    prev: Option<&RouterRec>,
    out: &mut Vec<ProviderRate>,
) {
    let low =
        |p: &Provider| p.healthy == Some(true) && p.success_rate.is_some_and(|s| s < LOW_SUCCESS);
    for x in r.providers.iter().flatten() {
        if !low(x) {
            continue;
        }
        let was = prev
            .and_then(|p| p.providers.as_ref())
            .and_then(|l| l.iter().find(|b| b.name == x.name))
            .is_some_and(low);
        if !was {
            out.push(ProviderRate {
                provider: x.name.clone(),
                seq,
                at,
                healthy: x.healthy,
                issue: RateIssue::LowWhileHealthy {
                    success_rate: x.success_rate.unwrap_or(0.0),
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::RouterHealth;

    fn p(name: &str, healthy: bool, checked: Option<i64>) -> Provider {
        Provider {
            name: name.into(),
            region: Some("us-east".into()),
            healthy: Some(healthy),
            last_health_check: checked,
            success_rate: Some(1.0),
            avg_latency: Some(0.0),
            ..Default::default()
        }
    }

    #[test]
    fn states_mean_what_the_router_means() {
        let now = 10_000_000_000;
        assert_eq!(
            provider_state(&p("a", true, None), now),
            ProviderState::AssumedHealthy
        );
        assert_eq!(
            provider_state(&p("a", false, None), now),
            ProviderState::ChecksFailing
        );
        assert_eq!(
            provider_state(&p("a", true, Some(now - 1_000_000)), now),
            ProviderState::CheckedHealthy
        );
        assert_eq!(
            provider_state(&p("a", true, Some(now - 601_000_000)), now),
            ProviderState::HealthyStale
        );
        assert_eq!(
            provider_state(&p("a", false, Some(now - 1_000_000)), now),
            ProviderState::CheckedUnhealthy
        );
    }

    #[test]
    fn region_order_is_not_a_change_and_a_restart_is_seen() {
        let h = |regions: &[&str], version: &str| RouterHealth {
            status: Some("healthy".into()),
            version: Some(version.into()),
            providers_total: Some(2),
            providers_healthy: Some(2),
            regions: regions.iter().map(|s| s.to_string()).collect(),
        };
        let a = RouterRec {
            health: Some(h(&["us-east", "eu-west"], "5442b72")),
            providers: Some(vec![p("a", true, Some(100)), p("b", true, Some(200))]),
        };
        let mut b = a.clone();
        b.health = Some(h(&["eu-west", "us-east"], "5442b72"));
        assert!(router_changes(&a, &b).is_empty());
        let c = RouterRec {
            health: Some(h(&["eu-west"], "9f00dba")),
            providers: Some(vec![p("a", true, None), p("b", true, None)]),
        };
        let changes = router_changes(&a, &c);
        assert!(changes.contains(&RouterChange::Version {
            from: Some("5442b72".into()),
            to: Some("9f00dba".into())
        }));
        assert!(changes.contains(&RouterChange::Regions {
            added: vec![],
            removed: vec!["us-east".into()]
        }));
        assert_eq!(
            restart_signs(&a, &c),
            vec![RestartSign::VersionChanged, RestartSign::ChecksReset]
        );
    }
}
