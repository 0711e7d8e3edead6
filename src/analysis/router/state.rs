//! What one `/providers` entry means, read the way the real router writes it (its
//! `core/router.py`, `_check_provider_health`): a check that completes sets `healthy` and
//! stamps `last_health_check`; a golem check that raises (refused, timeout) sets `healthy:
//! false` and leaves the stamp as it was; a modal check catches its own errors and always
//! stamps. Inference changes only `success_rate` and `avg_latency`. So:
//! - `healthy: true` with no stamp (0) is health *assumed* (a new router before any check);
//! - `healthy: false` with no stamp: no check has ever completed, checks are failing;
//! - `healthy: false` with the stamp of a check that found it healthy: a later check raised
//!   and stamped nothing; checks are failing since at least the poll that first saw it;
//! - `healthy: false` with a stamp of its own: a completed check found it unhealthy.

use crate::beacon::Provider;
use serde::Serialize;
use std::collections::BTreeMap;

/// A provider not checked for this long is called stale.
pub const STALE_AFTER_SECS: i64 = 600;

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
    /// Takes in one observation of `p`; returns whether its latest check raised (unhealthy
    /// under the stamp of a check that found it healthy). Observing the same answer twice
    /// changes nothing.
    pub fn observe(&mut self, p: &Provider) -> bool {
        let raised = p.healthy == Some(false)
            && p.last_health_check.is_some()
            && self
                .last
                .get(&p.name)
                .is_some_and(|(t, ok)| *t == p.last_health_check && *ok);
        let ok = raised || p.healthy == Some(true);
        self.last.insert(p.name.clone(), (p.last_health_check, ok));
        raised
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
        assert!(!m.observe(&p(true, Some(100))));
        assert!(m.observe(&p(false, Some(100))), "flip with no new stamp");
        assert!(m.observe(&p(false, Some(100))), "and it stays so");
        // A check completes again and finds it unhealthy: stamped.
        assert!(!m.observe(&p(false, Some(200))));
        assert!(!m.observe(&p(false, Some(200))));
        // Unhealthy from a stamped check, then healthy again, then raised.
        assert!(!m.observe(&p(true, Some(300))));
        assert!(m.observe(&p(false, Some(300))));
        // First seen already unhealthy with a stamp: nothing says the check raised.
        let mut fresh = CheckMemory::default();
        assert!(!fresh.observe(&p(false, Some(100))));
        // Never stamped: that is ChecksFailing, not a raise after a success.
        let mut never = CheckMemory::default();
        assert!(!never.observe(&p(true, None)));
        assert!(!never.observe(&p(false, None)));
    }
}
