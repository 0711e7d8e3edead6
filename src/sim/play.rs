//! The simulator's engine: a scenario played on a clock, the state it gives at any moment, and
//! loading a scenario by name or file.

use super::scenario::{BUILTIN, Scenario, builtin};
use super::state::World;
use crate::beacon::format_micros;
use crate::clock::{Clock, ScaledClock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown scenario {name:?} (built-in: {builtin}; or give a scenario file path)")]
    UnknownScenario { name: String, builtin: String },
    #[error("cannot read scenario file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario file {path} is not a valid scenario")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// A built-in name, or a path to a scenario JSON file.
pub fn load_scenario(name_or_path: &str) -> Result<Scenario, SimError> {
    if let Some(s) = builtin(name_or_path) {
        return Ok(s);
    }
    let p = std::path::Path::new(name_or_path);
    if !p.exists() {
        return Err(SimError::UnknownScenario {
            name: name_or_path.into(),
            builtin: BUILTIN.join(", "),
        });
    }
    let text = std::fs::read_to_string(p).map_err(|source| SimError::Read {
        path: name_or_path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| SimError::Parse {
        path: name_or_path.into(),
        source,
    })
}

/// One client's token bucket (the runner's `RateLimiting` middleware).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    tokens: f64,
    at_us: i64,
}

/// The simulator's clock and configuration, shared by both servers.
pub struct Sim {
    pub scenario: Scenario,
    pub speed: f64,
    clock: Arc<dyn Clock>,
    /// Unix µs of scenario second 0.
    epoch_us: i64,
    pub(super) rate_limit_rpm: u32,
    buckets: Mutex<HashMap<std::net::IpAddr, Bucket>>,
    admin_last: Mutex<HashMap<std::net::IpAddr, i64>>,
    request_ids: AtomicU64,
    cursor: Mutex<super::state::Cursor>,
}

/// The runner's admin routes allow one request per this long per client.
pub(super) const ADMIN_GAP_US: i64 = 10_000_000;

impl Sim {
    /// A simulator whose scenario starts now and plays `speed` times faster than real time.
    pub fn new(scenario: Scenario, speed: f64, rate_limit_rpm: Option<u32>) -> Arc<Self> {
        let clock = ScaledClock::new(speed);
        let epoch = clock.epoch_us();
        Self::with_clock(scenario, Arc::new(clock), epoch, speed, rate_limit_rpm)
    }

    /// A simulator on any clock (a manual one in tests), scenario second 0 at `epoch_us`.
    pub fn with_clock(
        scenario: Scenario,
        clock: Arc<dyn Clock>,
        epoch_us: i64,
        speed: f64,
        rate_limit_rpm: Option<u32>,
    ) -> Arc<Self> {
        let rpm = rate_limit_rpm.unwrap_or(scenario.runner.rate_limit_rpm);
        Arc::new(Sim {
            speed,
            clock,
            epoch_us,
            rate_limit_rpm: rpm,
            buckets: Mutex::new(HashMap::new()),
            admin_last: Mutex::new(HashMap::new()),
            request_ids: AtomicU64::new(1),
            cursor: Mutex::new(super::state::Cursor::new(&scenario)),
            scenario,
        })
    }

    /// The simulator's clock: scenario second 0 is its epoch.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn epoch_us(&self) -> i64 {
        self.epoch_us
    }

    /// Scenario seconds elapsed.
    pub fn now(&self) -> f64 {
        (self.clock.now_us() - self.epoch_us) as f64 / 1e6
    }

    /// The world now, shared (not copied).
    pub fn world(&self) -> Arc<World> {
        let t = self.now();
        let mut c = self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        c.advance(&self.scenario, t);
        c.shared(&self.scenario, t)
    }

    /// Wall seconds until the scenario's end.
    pub fn wall_duration(&self) -> Duration {
        Duration::from_secs_f64(self.scenario.end / self.speed)
    }

    /// Scenario second `t` on the runner's clock, µs since the epoch.
    fn ts_us(&self, t: f64) -> i64 {
        self.epoch_us + ((t + self.scenario.runner.clock_offset) * 1e6).round() as i64
    }

    /// Scenario second `t` on the router's clock, seconds since the epoch (its float stamps).
    pub(super) fn unix(&self, t: f64) -> f64 {
        (self.epoch_us + ((t + self.scenario.router.clock_offset) * 1e6).round() as i64) as f64
            / 1e6
    }

    /// Now on a side's clock, as its `Date` header says it (RFC 9110's IMF-fixdate).
    pub(super) fn date_header(&self, runner: bool) -> String {
        let off = if runner {
            self.scenario.runner.clock_offset
        } else {
            self.scenario.router.clock_offset
        };
        let us = self.clock.now_us() + (off * 1e6).round() as i64;
        chrono::DateTime::from_timestamp_micros(us)
            .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .unwrap_or_default()
    }

    /// Seconds-precision RFC 3339, as the older formats and `/executions/all` write.
    pub(super) fn secs(&self, t: f64) -> String {
        let us = self.ts_us(t);
        format_micros(us - us.rem_euclid(1_000_000))
    }

    pub(super) fn micros(&self, t: f64) -> String {
        chrono::DateTime::from_timestamp_micros(self.ts_us(t))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default()
    }

    /// Millisecond RFC 3339, as the runner's job list writes `created_at`.
    pub(super) fn millis(&self, t: f64) -> String {
        chrono::DateTime::from_timestamp_micros(self.ts_us(t))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }

    /// The runner's token bucket: `rate_limit_rpm` tokens, refilled evenly over a minute.
    /// `Some(reset_at_us)` (when the next token is there) when the request is refused.
    pub(super) fn limited(&self, ip: std::net::IpAddr) -> Option<i64> {
        if self.rate_limit_rpm == 0 {
            return None;
        }
        let now = self.clock.now_us();
        let max = self.rate_limit_rpm as f64;
        let per_us = max / 60e6;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: max,
            at_us: now,
        });
        b.tokens = (b.tokens + (now - b.at_us).max(0) as f64 * per_us).min(max);
        b.at_us = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return None;
        }
        // On the runner's clock, as its `X-RateLimit-Reset` says it.
        let offset = (self.scenario.runner.clock_offset * 1e6).round() as i64;
        Some(now + ((1.0 - b.tokens) / per_us).ceil() as i64 + offset)
    }

    /// The admin limiter: `Some(seconds)` to wait when a request comes too soon.
    pub(super) fn admin_limited(&self, ip: std::net::IpAddr) -> Option<u64> {
        let now = self.clock.now_us();
        let mut last = self.admin_last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&t) = last.get(&ip)
            && now - t < ADMIN_GAP_US
        {
            return Some(ADMIN_GAP_US as u64 / 1_000_000);
        }
        last.insert(ip, now);
        None
    }

    pub(super) fn request_id(&self) -> String {
        format!(
            "sim-{:08}",
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        )
    }
}
