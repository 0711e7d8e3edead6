//! The router across the incident, read the way the real router means its fields (API.md, and
//! its `core/router.py`, `main.py`): health is checked at start-up and after inference requests
//! only; what a provider's `healthy` and `last_health_check` mean together is `state`'s;
//! `/health`'s `regions` is a set; `status: "healthy"` is hard-coded; `version` is the deployed
//! git sha; providers are made once, at start-up. Ages are measured on the router's own clock
//! (its `/health` `timestamp`) when the recording has it. Only polls that got an answer are read
//! as observations: across a poll the router did not answer, a provider is `NotSeen`.

pub mod state;
pub use state::{CheckMemory, ProviderState, Raised, STALE_AFTER_SECS, provider_state};

use super::{JobState, Recording, Stamp};
use crate::beacon::{Provider, RouterRec};
use crate::fetch::SourceKind;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A success rate below this, while the router calls the provider healthy, is flagged. The
/// router moves it by 10 % per call (an exponential average), so 0.5 means most recent calls
/// failed.
pub const LOW_SUCCESS: f64 = 0.5;
/// A success rate that falls by this much between two snapshots is a sharp change.
pub const SHARP_DROP: f64 = 0.25;
/// An average latency that grows this many times (and by at least a second) is a sharp change.
pub const LATENCY_JUMP: f64 = 3.0;

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
        /// Whether a check completed since (a new `last_health_check`). Turning unhealthy
        /// without one means the check raised (refused, timed out).
        checked: bool,
    },
}

impl RouterChange {
    /// Whether `/providers` carries this change (else `/health`).
    fn of_providers(&self) -> bool {
        matches!(
            self,
            Self::ProviderAppeared { .. } | Self::ProviderGone { .. } | Self::ProviderHealth { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// The first poll that saw the new state.
    pub seq: u64,
    pub at: Stamp,
    /// When polls before it did not observe the router, the last one that did: the change
    /// happened somewhere between the two.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Stamp>,
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
    /// The last completed check, on the recorder's clock (the router's stamp mapped through
    /// its measured offset).
    pub last_check: Option<Stamp>,
    /// Age of the last check at the end of the span, on `clock`.
    pub age_seconds: Option<f64>,
    pub clock: ClockUsed,
    /// For checks failing after a completed one (`check_raised`): the earliest time they are
    /// known to have failed by (the poll that first saw it, or a later round of checks that
    /// stamped the other providers and not this one, on the recorder's clock).
    pub failing_since: Option<Stamp>,
    /// What the last completed check found, when the recorder saw it (`None`: before the
    /// recording, not known).
    pub last_check_found_healthy: Option<bool>,
}

/// One provider as one poll's `/providers` answer showed it.
struct SpanObs {
    state: ProviderState,
    last_check: Option<Stamp>,
    age_seconds: Option<f64>,
    failing_since: Option<Stamp>,
    found_healthy: Option<bool>,
}

impl SpanObs {
    /// A provider not listed, or not seen: nothing of its checks is known here.
    fn bare(state: ProviderState) -> Self {
        SpanObs {
            state,
            last_check: None,
            age_seconds: None,
            failing_since: None,
            found_healthy: None,
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartSign {
    VersionChanged,
    /// Every provider's `last_health_check` went back (to 0, or earlier).
    ChecksReset,
    /// Every provider's success rate went back to 1.0 and its latency to 0.
    RatesReset,
    /// A provider appeared or disappeared: the router makes its providers once, at start-up
    /// (`setup_providers`).
    ProvidersChanged,
    /// The router refused connections, then answered with a changed provider list.
    AfterRefusal,
    /// Every provider's last check moved forward at once, within one round's spread (or, for
    /// one whose check raised, stayed at 0), while no provider's success rate or latency
    /// moved (but back to its start): the start-up checks, with no inference to have set off
    /// a round (each inference moves the rate of the provider that served it). A round forced
    /// by hand in which every check completed looks the same: a sign, not a proof.
    ChecksTogether,
    /// `/queue/status`'s depths went from some to none: the router's queue workers are
    /// disabled, so nothing drains them but a restart (its queues start empty). The
    /// `completed`/`failed` counters are not read: they never move on the real router.
    QueuesEmptied,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restart {
    pub seq: u64,
    pub at: Stamp,
    pub signs: Vec<RestartSign>,
    /// Only signs that something else can also make (every check run anew, the queues
    /// emptied): the router may have restarted.
    pub possible: bool,
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
    /// Failed rows with router/provider errors, first seen failed in a poll whose `/health`
    /// answer reported every provider healthy; `None` when no `/health` ever answered.
    pub failed_while_all_healthy: Option<usize>,
    /// Every poll whose `/health` answered said every provider was healthy; `None` when none
    /// answered (nothing was seen).
    pub all_healthy_throughout: Option<bool>,
    /// The distinct (healthy, total) counts `/health` gave, in order of first appearance.
    pub healthy_counts: Vec<(Option<i64>, Option<i64>)>,
    /// Polls whose `/health` answered, of all polls.
    pub health_polls: usize,
    pub polls: usize,
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
            failed_while_all_healthy: None,
            all_healthy_throughout: None,
            healthy_counts: Vec::new(),
            health_polls: 0,
            polls: 0,
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
fn restart_signs(p: &RouterRec, r: &RouterRec, refused_before: bool) -> Vec<RestartSign> {
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
    if checks_together(&pairs) {
        signs.push(RestartSign::ChecksTogether);
    }
    if let (Some(a), Some(b)) = (&p.providers, &r.providers) {
        let names = |l: &[Provider]| l.iter().map(|x| x.name.clone()).collect::<BTreeSet<_>>();
        if names(a) != names(b) {
            signs.push(RestartSign::ProvidersChanged);
        }
        if refused_before && a != b {
            signs.push(RestartSign::AfterRefusal);
        }
    }
    signs
}

/// Signs that something besides a restart can make too.
fn only_weak(signs: &[RestartSign]) -> bool {
    signs
        .iter()
        .all(|s| matches!(s, RestartSign::ChecksTogether | RestartSign::QueuesEmptied))
}

/// Every provider's stamp moved forward together, no rate moved but back to its start, and
/// some provider was healthy before (an inference would have been served by one, and moved its
/// rate): the start-up checks of a restart.
fn checks_together(pairs: &[(&Provider, &Provider)]) -> bool {
    // A stamp that appears where there was none is a first round completing (a router that
    // had just started), not evidence of a restart.
    let moved: Vec<i64> = pairs
        .iter()
        .filter_map(|(b, x)| match (b.last_health_check, x.last_health_check) {
            (Some(t0), Some(t1)) if t1 > t0 => Some(t1),
            _ => None,
        })
        .collect();
    let (Some(lo), Some(hi)) = (moved.iter().min(), moved.iter().max()) else {
        return false;
    };
    // After a restart every stamp starts at 0: the start-up round stamps each check that
    // completes, and a golem check that raises leaves its provider unhealthy at 0. A provider
    // that kept an earlier stamp was not restarted (a round forced by `/debug/force-health-
    // check` leaves a raised check's old stamp in place).
    let all_checked = pairs
        .iter()
        .all(|(b, x)| match (b.last_health_check, x.last_health_check) {
            (Some(t0), Some(t1)) => t1 > t0,
            (_, None) => x.healthy == Some(false),
            (None, Some(_)) => false,
        });
    let rates_still = pairs.iter().all(|(b, x)| {
        (x.success_rate, x.avg_latency) == (b.success_rate, b.avg_latency)
            || (x.success_rate == Some(1.0) && x.avg_latency.is_none_or(|l| l == 0.0))
    });
    all_checked
        && hi - lo <= state::ROUND_SPREAD_US
        && rates_still
        && pairs.iter().any(|(b, _)| b.healthy == Some(true))
}

/// Adds the router's queues emptying (`/queue/status`) to the restarts: the sign joins a
/// restart seen at the same poll, or stands as one of its own.
pub fn queue_restarts(rr: &mut RouterReport, e: &super::endpoints::EndpointsReport) {
    for q in e
        .queues
        .iter()
        .filter(|q| q.source == "router.queue_status")
    {
        for &(before, seq, at) in &q.emptied {
            // Queues are read once a minute: the restart is the one seen since the answer
            // before, if any.
            match rr
                .restarts
                .iter_mut()
                .find(|r| r.seq > before && r.seq <= seq)
            {
                Some(r) => r.signs.push(RestartSign::QueuesEmptied),
                None => rr.restarts.push(Restart {
                    seq,
                    at,
                    possible: true,
                    signs: vec![RestartSign::QueuesEmptied],
                    version_from: None,
                    version_to: None,
                }),
            }
        }
    }
    rr.restarts.sort_by_key(|r| r.seq);
}

/// Whether the router refused a connection in a poll after `after` and before `before`.
fn refused_between(rec: &Recording, after: Option<u64>, before: u64) -> bool {
    rec.infos
        .iter()
        .zip(&rec.snaps)
        .filter(|(i, _)| after.is_none_or(|a| i.seq > a) && i.seq < before)
        .any(|(_, s)| {
            s.fetches.iter().any(|f| {
                (f.source == SourceKind::RouterHealth as u8
                    || f.source == SourceKind::RouterProviders as u8)
                    && f.error_kind() == Some(crate::fetch::FetchErrorKind::ConnectRefused)
            })
        })
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

pub(super) fn router_report(
    rec: &Recording,
    failures: &[(&super::failures::Failures, &JobState)],
) -> Result<RouterReport, StoreError> {
    let mut rr = RouterReport {
        recorded: rec.router_recorded(),
        polls: rec.infos.len(),
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
            let before = seq.saturating_sub(1);
            let last_health = rec.seen.last_health(before);
            let last_providers = rec.seen.last_providers(before);
            for change in router_changes(p, r) {
                // The last poll that saw the state before, when polls in between did not.
                let since = if change.of_providers() {
                    last_providers
                } else {
                    last_health
                }
                .filter(|s| {
                    rec.index_of(*s)
                        .is_some_and(|k| rec.index_of(*seq) != Some(k + 1))
                });
                rr.transitions.push(Transition {
                    seq: *seq,
                    at: at(*seq),
                    since_seq: since,
                    since: since.map(at),
                    change,
                });
            }
            let refused = refused_between(rec, last_providers.min(last_health), *seq);
            let signs = restart_signs(p, r, refused);
            if !signs.is_empty() {
                rr.restarts.push(Restart {
                    seq: *seq,
                    at: at(*seq),
                    possible: only_weak(&signs),
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
    // `/health` as each poll that got an answer saw it.
    let in_force = |seq: u64| {
        versions
            .iter()
            .rev()
            .find(|(s, _)| *s <= seq)
            .map(|(_, r)| r)
    };
    let mut all = true;
    for i in &rec.infos {
        if !rec.seen.health_at(i.seq) {
            continue;
        }
        rr.health_polls += 1;
        let Some(r) = in_force(i.seq) else { continue };
        all &= all_healthy(r);
        let h = r.health.clone().unwrap_or_default();
        let count = (h.providers_healthy, h.providers_total);
        if !rr.healthy_counts.contains(&count) {
            rr.healthy_counts.push(count);
        }
    }
    rr.all_healthy_throughout = (rr.health_polls > 0).then_some(all);
    let mut failed_while = 0;
    per_snapshot(rec, &versions, &mut rr);
    // Rows failed at the end with router/provider errors, first seen failing in a poll whose
    // `/health` answer said all was well: the two observed in the same poll, never a carried
    // router state. A row that failed and then ran again is not counted (the failed rows are
    // those at the end, as everywhere in the report).
    for (f, js) in failures {
        for o in &f.observed {
            let Some(e) = js.execs.get(&o.id).filter(|e| e.is_failed()) else {
                continue;
            };
            let routerish = e
                .error_code
                .as_deref()
                .is_some_and(|c| c.starts_with("ROUTER") || c.starts_with("PROVIDER"))
                || e.failure_stage
                    .as_deref()
                    .is_some_and(|s| s.contains("router") || s.contains("provider"));
            if routerish
                && rec.seen.health_at(o.failed_seq)
                && in_force(o.failed_seq).is_some_and(all_healthy)
            {
                failed_while += 1;
            }
        }
    }
    rr.failed_while_all_healthy = (rr.health_polls > 0).then_some(failed_while);
    Ok(rr)
}

/// Provider states, "healthy" with none healthy, and `/health` against `/providers`: these
/// need every snapshot (a state can change with time alone). A poll whose `/providers` did not
/// answer is `NotSeen` for every provider; one whose `/health` did not answer ends a window of
/// "healthy" with none healthy.
fn per_snapshot(rec: &Recording, versions: &[(u64, RouterRec)], rr: &mut RouterReport) {
    let (times, clock) = router_times(rec);
    rr.clock = clock;
    // Open spans: provider -> span.
    let mut open: BTreeMap<String, ProviderSpan> = BTreeMap::new();
    let mut none_open: Option<HealthyWithNone> = None;
    let mut memory = CheckMemory::default();
    let mut v = 0;
    for (k, info) in rec.infos.iter().enumerate() {
        while v + 1 < versions.len() && versions[v + 1].0 <= info.seq {
            v += 1;
        }
        let Some((_, r)) = versions.get(v).filter(|(s, _)| *s <= info.seq) else {
            continue;
        };
        let at = Stamp(info.started_at);
        // Provider states, from this poll's answer only.
        let mut now: Vec<(String, Option<String>, SpanObs)> = Vec::new();
        match &r.providers {
            Some(list) if rec.seen.providers_at(info.seq) => {
                let mut seen = BTreeSet::new();
                let router = &rec.clocks.router;
                for (p, (state, raised)) in list.iter().zip(memory.states(list, times[k])) {
                    seen.insert(p.name.clone());
                    let failing_since = match raised {
                        Raised::No => None,
                        Raised::AfterSuccess => Some(at),
                        Raised::SinceRound(t) => Some(Stamp(router.to_recorder(t).min(at.0))),
                    };
                    now.push((
                        p.name.clone(),
                        p.region.clone(),
                        SpanObs {
                            state,
                            last_check: p.last_health_check.map(|t| Stamp(router.to_recorder(t))),
                            age_seconds: p.last_health_check.map(|t| (times[k] - t) as f64 / 1e6),
                            failing_since,
                            found_healthy: (raised == Raised::AfterSuccess).then_some(true),
                        },
                    ));
                }
                for name in open.keys().filter(|n| !seen.contains(*n)) {
                    now.push((name.clone(), None, SpanObs::bare(ProviderState::Absent)));
                }
            }
            _ => {
                for name in open.keys() {
                    now.push((name.clone(), None, SpanObs::bare(ProviderState::NotSeen)));
                }
            }
        }
        for (name, region, o) in now {
            extend_span(
                &mut open,
                &mut rr.provider_spans,
                (&name, region),
                o,
                (info.seq, at),
                clock,
            );
        }
        // "healthy" while no provider is, in polls whose `/health` answered.
        let h = r.health.as_ref().filter(|_| rec.seen.health_at(info.seq));
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
        if rec.seen.health_at(info.seq)
            && rec.seen.providers_at(info.seq)
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

/// Carries a provider's open span on by one poll, or ends it and opens the next when its state
/// changed.
fn extend_span(
    open: &mut BTreeMap<String, ProviderSpan>,
    done: &mut Vec<ProviderSpan>,
    (name, region): (&str, Option<String>),
    o: SpanObs,
    (seq, at): (u64, Stamp),
    clock: ClockUsed,
) {
    let unseen = matches!(o.state, ProviderState::Absent | ProviderState::NotSeen);
    match open.get_mut(name) {
        Some(s) if s.state == o.state => {
            s.to_seq = seq;
            s.to = at;
            s.snapshots += 1;
            if !unseen {
                s.age_seconds = o.age_seconds;
                s.last_check = o.last_check;
            }
        }
        _ => {
            let region = match (unseen, open.get(name)) {
                (true, Some(prev)) => prev.region.clone(),
                _ => region,
            };
            if let Some(prev) = open.insert(
                name.to_string(),
                ProviderSpan {
                    provider: name.to_string(),
                    region,
                    state: o.state,
                    from_seq: seq,
                    to_seq: seq,
                    from: at,
                    to: at,
                    snapshots: 1,
                    last_check: o.last_check,
                    age_seconds: if unseen { None } else { o.age_seconds },
                    clock,
                    failing_since: o.failing_since,
                    last_check_found_healthy: o.found_healthy,
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
            restart_signs(&a, &c, false),
            vec![RestartSign::VersionChanged, RestartSign::ChecksReset]
        );
    }

    fn pv(name: &str, healthy: bool, checked: Option<i64>, rate: f64, latency: f64) -> Provider {
        Provider {
            name: name.into(),
            region: Some("us-east".into()),
            healthy: Some(healthy),
            last_health_check: checked,
            success_rate: Some(rate),
            avg_latency: Some(latency),
            ..Default::default()
        }
    }

    fn rec(list: Vec<Provider>) -> RouterRec {
        RouterRec {
            health: None,
            providers: Some(list),
        }
    }

    /// Which answer carries a change: what a change's "since" is read from.
    #[test]
    fn provider_changes_are_of_providers_and_counts_of_health() {
        assert!(
            RouterChange::ProviderAppeared {
                provider: "a".into()
            }
            .of_providers()
        );
        assert!(
            RouterChange::ProviderHealth {
                provider: "a".into(),
                healthy: Some(false),
                checked: false
            }
            .of_providers()
        );
        assert!(
            !RouterChange::HealthyCount {
                from_healthy: Some(1),
                from_total: Some(1),
                to_healthy: Some(0),
                to_total: Some(1)
            }
            .of_providers()
        );
    }

    /// Issue 26, case 4: every check run anew together, rates untouched: a sign. Each part of
    /// the rule, one at a time, turns it off.
    #[test]
    fn checks_moving_together_is_a_restart_sign_only_when_every_part_holds() {
        let together = |before: Vec<Provider>, after: Vec<Provider>| {
            restart_signs(&rec(before), &rec(after), false).contains(&RestartSign::ChecksTogether)
        };
        let t = 1_000_000_000i64;
        let base = || {
            vec![
                pv("a", true, Some(t), 1.0, 0.0),
                pv("b", false, Some(t), 1.0, 0.0),
            ]
        };
        // Both stamped anew within a round: the sign.
        assert!(together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", true, Some(t + 61_000_000), 1.0, 0.0)
            ]
        ));
        // One kept its stamp (unhealthy, raised in a forced round): no restart.
        assert!(!together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", false, Some(t), 1.0, 0.0)
            ]
        ));
        // One raised at start-up: unhealthy at 0 after. Still the sign.
        assert!(together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", false, None, 1.0, 0.0)
            ]
        ));
        // A stamp equal to the one before has not moved.
        assert!(!together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", true, Some(t), 1.0, 0.0)
            ]
        ));
        // Stamps further apart than one round: two rounds, not the start-up one.
        assert!(!together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", true, Some(t + 80_000_000), 1.0, 0.0)
            ]
        ));
        // A rate moved (not back to its start): an inference set the round off.
        assert!(!together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 0.9, 0.4),
                pv("b", true, Some(t + 61_000_000), 1.0, 0.0)
            ]
        ));
        // A success rate still 1.0 with a latency now (an inference served and succeeded),
        // or a rate fallen with no latency: moved, not back to the start.
        assert!(!together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 2.3),
                pv("b", true, Some(t + 61_000_000), 1.0, 0.0)
            ]
        ));
        assert!(!together(
            base(),
            vec![
                pv("a", true, Some(t + 60_000_000), 0.5, 0.0),
                pv("b", true, Some(t + 61_000_000), 1.0, 0.0)
            ]
        ));
        // A rate back to its start is a restart's, not an inference's.
        let worn = vec![
            pv("a", true, Some(t), 0.8, 0.5),
            pv("b", false, Some(t), 1.0, 0.0),
        ];
        assert!(together(
            worn,
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", true, Some(t + 61_000_000), 1.0, 0.0)
            ]
        ));
        // Nobody healthy before: an inference could not have been served; not told apart.
        let sick = vec![
            pv("a", false, Some(t), 1.0, 0.0),
            pv("b", false, Some(t), 1.0, 0.0),
        ];
        assert!(!together(
            sick,
            vec![
                pv("a", true, Some(t + 60_000_000), 1.0, 0.0),
                pv("b", true, Some(t + 61_000_000), 1.0, 0.0)
            ]
        ));
        // A first round completing where there was no stamp: a router that had just started.
        let fresh = vec![pv("a", true, None, 1.0, 0.0), pv("b", true, None, 1.0, 0.0)];
        assert!(!together(
            fresh,
            vec![
                pv("a", true, Some(t), 1.0, 0.0),
                pv("b", true, Some(t + 1_000_000), 1.0, 0.0)
            ]
        ));
    }

    /// Stamps going back is a restart; equal ones are not.
    #[test]
    fn checks_reset_needs_every_stamp_back() {
        let t = 1_000_000_000i64;
        let before = rec(vec![
            pv("a", true, Some(t), 1.0, 0.0),
            pv("b", true, Some(t), 1.0, 0.0),
        ]);
        let back = rec(vec![
            pv("a", true, Some(t - 1), 1.0, 0.0),
            pv("b", true, None, 1.0, 0.0),
        ]);
        assert!(restart_signs(&before, &back, false).contains(&RestartSign::ChecksReset));
        let same = rec(vec![
            pv("a", true, Some(t), 1.0, 0.0),
            pv("b", true, None, 1.0, 0.0),
        ]);
        assert!(!restart_signs(&before, &same, false).contains(&RestartSign::ChecksReset));
        assert!(only_weak(&[
            RestartSign::ChecksTogether,
            RestartSign::QueuesEmptied
        ]));
        assert!(!only_weak(&[
            RestartSign::ChecksTogether,
            RestartSign::VersionChanged
        ]));
    }

    /// The queues emptying joins the restart seen since the answer before (after `before`, up
    /// to `seq`), else stands alone.
    #[test]
    fn queues_emptied_join_the_restart_of_their_window() {
        let restart = |seq| Restart {
            seq,
            at: Stamp(0),
            signs: vec![RestartSign::ChecksTogether],
            possible: true,
            version_from: None,
            version_to: None,
        };
        let e = |before, seq| super::super::endpoints::EndpointsReport {
            queues: vec![super::super::endpoints::QueueSeries {
                source: "router.queue_status",
                points: vec![],
                changes: 0,
                emptied: vec![(before, seq, Stamp(0))],
                max: Default::default(),
            }],
            ..Default::default()
        };
        for (at, before, seq, joins) in [
            (10, 9, 10, true),
            (10, 10, 12, false),
            (10, 5, 9, false),
            (10, 5, 12, true),
        ] {
            let mut rr = RouterReport {
                restarts: vec![restart(at)],
                ..Default::default()
            };
            queue_restarts(&mut rr, &e(before, seq));
            assert_eq!(
                rr.restarts.len(),
                if joins { 1 } else { 2 },
                "{before}..{seq}"
            );
            let it = rr.restarts.iter().find(|r| r.seq == at).unwrap();
            assert_eq!(
                it.signs.contains(&RestartSign::QueuesEmptied),
                joins,
                "{before}..{seq}"
            );
        }
    }
}
