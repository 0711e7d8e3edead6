//! What one `/providers` entry means, read the way the real router writes it (its
//! `core/router.py`, `_check_provider_health`): a check that completes sets `healthy` and
//! stamps `last_health_check`; a golem check that raises (refused, timeout) sets `healthy:
//! false` and leaves the stamp as it was; a modal check catches its own errors and always
//! stamps. Inference changes only `success_rate` and `avg_latency`. So:
//! - `healthy: true` with no stamp (0) is health *assumed* (a new router before any check);
//! - `healthy: false` with no stamp: no check has ever completed, checks are failing;
//! - `healthy: false` with the stamp of a check that found it healthy: a later check raised
//!   and stamped nothing; checks are failing since at least the poll that first saw it;
//! - `healthy: false` with a stamp older than the other providers' by more than one round of
//!   checks takes (`ROUND_SPREAD_US`): the router checks every provider together
//!   (`health_check_providers`, at start-up and after each inference), so the later round
//!   checked it too and did not stamp it: its check raised, since at least that round, even
//!   when the recorder never saw what the stamped check found (it was before the recording);
//! - `healthy: false` with a stamp of its own: a completed check found it unhealthy.

use crate::beacon::Provider;
use serde::Serialize;
use std::collections::BTreeMap;

/// A provider not checked for this long is called stale.
pub const STALE_AFTER_SECS: i64 = 600;

/// The stamps of one round of checks lie within this of each other: every check of a round
/// starts at once (`asyncio.gather`) and stamps when it ends, a golem check after at most 5 s,
/// a modal one after at most 10 s (their timeouts in `core/router.py`), plus scheduling.
pub const ROUND_SPREAD_US: i64 = 15_000_000;

/// Whether, and how, a provider's latest check is known to have raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    No,
    /// Unhealthy under the stamp of a check the recorder saw find it healthy.
    AfterSuccess,
    /// Unhealthy under a stamp older than a later round's (the router's clock, µs): that round
    /// checked it and did not stamp it. What the stamped check found is not known.
    SinceRound(i64),
}

impl Raised {
    pub fn raised(self) -> bool {
        self != Raised::No
    }
}

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
    /// Unhealthy after a completed check older than `STALE_AFTER_SECS`, and none since.
    UnhealthyStale,
    /// Unhealthy with no completed check at all (`last_health_check` 0).
    ChecksFailing,
    /// Unhealthy while the stamp is still that of a check which found it healthy: a later
    /// check raised without stamping.
    CheckRaised,
    /// Listed without a usable `healthy`.
    Unknown,
    /// Not listed by `/providers`.
    Absent,
    /// The router did not answer `/providers` in this poll: nothing is known of it here.
    NotSeen,
}

impl ProviderState {
    /// Its name as JSON and metrics say it (`checked_unhealthy`).
    pub fn word(self) -> &'static str {
        match self {
            Self::CheckedHealthy => "checked_healthy",
            Self::AssumedHealthy => "assumed_healthy",
            Self::HealthyStale => "healthy_stale",
            Self::CheckedUnhealthy => "checked_unhealthy",
            Self::UnhealthyStale => "unhealthy_stale",
            Self::ChecksFailing => "checks_failing",
            Self::CheckRaised => "check_raised",
            Self::Unknown => "unknown",
            Self::Absent => "absent",
            Self::NotSeen => "not_seen",
        }
    }

    /// Whether the state is worth a finding wherever it occurs.
    pub fn is_risky(self) -> bool {
        matches!(
            self,
            Self::AssumedHealthy
                | Self::HealthyStale
                | Self::UnhealthyStale
                | Self::ChecksFailing
                | Self::CheckRaised
        )
    }

    /// The provider is not healthy by what the router says (the incident of a job served by it).
    pub fn is_unhealthy(self) -> bool {
        matches!(
            self,
            Self::CheckedUnhealthy | Self::UnhealthyStale | Self::ChecksFailing | Self::CheckRaised
        )
    }

    /// Every state, in legend order.
    pub const ALL: [ProviderState; 10] = [
        Self::CheckedHealthy,
        Self::AssumedHealthy,
        Self::HealthyStale,
        Self::CheckedUnhealthy,
        Self::UnhealthyStale,
        Self::ChecksFailing,
        Self::CheckRaised,
        Self::Unknown,
        Self::Absent,
        Self::NotSeen,
    ];
}

/// The state of `p` when the router's clock read `now_us`; `raised` from `CheckMemory`.
pub fn provider_state(p: &Provider, now_us: i64, raised: bool) -> ProviderState {
    let stale = |t: i64| now_us - t > STALE_AFTER_SECS * 1_000_000;
    match (p.healthy, p.last_health_check) {
        (Some(true), None) => ProviderState::AssumedHealthy,
        (Some(true), Some(t)) if stale(t) => ProviderState::HealthyStale,
        (Some(true), Some(_)) => ProviderState::CheckedHealthy,
        (Some(false), None) => ProviderState::ChecksFailing,
        (Some(false), Some(_)) if raised => ProviderState::CheckRaised,
        (Some(false), Some(t)) if stale(t) => ProviderState::UnhealthyStale,
        (Some(false), Some(_)) => ProviderState::CheckedUnhealthy,
        (None, _) => ProviderState::Unknown,
    }
}

/// Each provider's last stamp and what the check of that stamp found, over successive
/// observations: what tells a check that raised from one that completed.
#[derive(Debug, Clone, Default)]
pub struct CheckMemory {
    /// name -> (last stamp seen, the check of that stamp found it healthy)
    last: BTreeMap<String, (Option<i64>, bool)>,
}

impl CheckMemory {
    /// Takes in one observation of `p`, listed in an answer whose newest stamp is `round`;
    /// returns whether its latest check is known to have raised. Observing the same answer
    /// twice changes nothing.
    pub fn observe(&mut self, p: &Provider, round: Option<i64>) -> Raised {
        let after_success = p.healthy == Some(false)
            && p.last_health_check.is_some()
            && self
                .last
                .get(&p.name)
                .is_some_and(|(t, ok)| *t == p.last_health_check && *ok);
        let ok = after_success || p.healthy == Some(true);
        self.last.insert(p.name.clone(), (p.last_health_check, ok));
        if after_success {
            return Raised::AfterSuccess;
        }
        match (p.healthy, p.last_health_check, round) {
            (Some(false), Some(t), Some(r)) if r - t > ROUND_SPREAD_US => Raised::SinceRound(r),
            _ => Raised::No,
        }
    }

    /// Every provider of one `/providers` answer, its state when the router's clock read
    /// `now_us` and whether its check raised: the one place states are decided (the report,
    /// `show` and the exports all read them from here).
    pub fn states(&mut self, list: &[Provider], now_us: i64) -> Vec<(ProviderState, Raised)> {
        let round = list.iter().filter_map(|p| p.last_health_check).max();
        list.iter()
            .map(|p| {
                let raised = self.observe(p, round);
                (provider_state(p, now_us, raised.raised()), raised)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(healthy: bool, checked: Option<i64>) -> Provider {
        Provider {
            name: "golem-1".into(),
            healthy: Some(healthy),
            last_health_check: checked,
            ..Default::default()
        }
    }

    #[test]
    fn states_mean_what_the_router_means() {
        let now = 10_000_000_000;
        let st = |h, c| provider_state(&p(h, c), now, false);
        assert_eq!(st(true, None), ProviderState::AssumedHealthy);
        assert_eq!(st(false, None), ProviderState::ChecksFailing);
        assert_eq!(
            st(true, Some(now - 1_000_000)),
            ProviderState::CheckedHealthy
        );
        assert_eq!(
            st(true, Some(now - 601_000_000)),
            ProviderState::HealthyStale
        );
        // Exactly the limit is not stale yet.
        assert_eq!(
            st(true, Some(now - 600_000_000)),
            ProviderState::CheckedHealthy
        );
        assert_eq!(
            st(false, Some(now - 1_000_000)),
            ProviderState::CheckedUnhealthy
        );
        // Checked once, unhealthy, never again: an old completed check, not failing checks.
        assert_eq!(
            st(false, Some(now - 601_000_000)),
            ProviderState::UnhealthyStale
        );
        assert_eq!(
            provider_state(&p(false, Some(now - 601_000_000)), now, true),
            ProviderState::CheckRaised
        );
        let unknown = Provider {
            healthy: None,
            ..p(true, None)
        };
        assert_eq!(provider_state(&unknown, now, false), ProviderState::Unknown);
    }

    /// The `except` branch of `_check_provider_health`: unhealthy, stamp left as it was.
    #[test]
    fn a_check_that_raised_is_told_from_one_that_completed() {
        let mut m = CheckMemory::default();
        let raised = |m: &mut CheckMemory, x: Provider| m.observe(&x, None).raised();
        assert!(!raised(&mut m, p(true, Some(100))));
        assert_eq!(
            m.observe(&p(false, Some(100)), None),
            Raised::AfterSuccess,
            "flip with no new stamp"
        );
        assert!(raised(&mut m, p(false, Some(100))), "and it stays so");
        // A check completes again and finds it unhealthy: stamped.
        assert!(!raised(&mut m, p(false, Some(200))));
        assert!(!raised(&mut m, p(false, Some(200))));
        // Unhealthy from a stamped check, then healthy again, then raised.
        assert!(!raised(&mut m, p(true, Some(300))));
        assert!(raised(&mut m, p(false, Some(300))));
        // First seen already unhealthy with a stamp: nothing says the check raised.
        let mut fresh = CheckMemory::default();
        assert!(!raised(&mut fresh, p(false, Some(100))));
        // Never stamped: that is ChecksFailing, not a raise after a success.
        let mut never = CheckMemory::default();
        assert!(!raised(&mut never, p(true, None)));
        assert!(!raised(&mut never, p(false, None)));
    }

    /// Issue 26: a golem check that raised before the recording began, after an earlier
    /// success: the other providers were stamped by a later round, it was not.
    #[test]
    fn a_raise_before_the_recording_is_read_from_the_others_newer_stamps() {
        let golem = |t| Provider {
            name: "golem-eu".into(),
            healthy: Some(false),
            last_health_check: Some(t),
            ..Default::default()
        };
        let modal = |t| Provider {
            name: "modal-us".into(),
            healthy: Some(true),
            last_health_check: Some(t),
            ..Default::default()
        };
        let now = 1_000_000_000;
        let mut m = CheckMemory::default();
        // The modal check stamped a round 60 s after the golem's last completed check.
        let s = m.states(&[golem(now - 120_000_000), modal(now - 60_000_000)], now);
        assert_eq!(
            s[0],
            (
                ProviderState::CheckRaised,
                Raised::SinceRound(now - 60_000_000)
            )
        );
        assert_eq!(s[1].0, ProviderState::CheckedHealthy);
        // Stamps of one round (within its spread): a completed check found it unhealthy.
        let mut m = CheckMemory::default();
        let s = m.states(&[golem(now - 70_000_000), modal(now - 60_000_000)], now);
        assert_eq!(s[0], (ProviderState::CheckedUnhealthy, Raised::No));
        // Alone, nothing says a later round ran.
        let mut m = CheckMemory::default();
        let s = m.states(&[golem(now - 120_000_000)], now);
        assert_eq!(s[0], (ProviderState::CheckedUnhealthy, Raised::No));
    }
}
