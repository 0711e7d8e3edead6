//! A local stand-in for the Beacon runner and hybrid router, driven by a scenario.
//!
//! Two real HTTP servers (axum) on loopback behave as API.md describes: the 20-row default
//! page with `exec_limit`/`exec_offset` ordered by `created_at` DESC with ties, the complete
//! `/executions/all`, `null` for empty lists, 404 for unknown jobs, the runner's rate limits as
//! its code has them (a token bucket of 60 per client IP refilled at one a second, answering
//! 429 with `X-RateLimit-Reset` and no `Retry-After`; admin routes one request per 10 s,
//! answering 429 with `retry_after` in the body), float timestamps on the router, and outage
//! windows (5xx, hanging requests, or a closed port that refuses connections).
//!
//! The simulator runs on a `ScaledClock`: its scenario seconds, the rows' timestamps and its
//! rate limits all run `speed` times faster than real time, on one clock that a recorder can
//! share (the demo does).

mod answer;
pub mod scenario;
mod source;
mod state;

pub use answer::{Asked, SimAnswer};
pub use scenario::{BUILTIN, Scenario, builtin, fleet};
pub use source::SimSource;
pub use state::{World, world_at};

use crate::beacon::format_micros;
use crate::clock::{Clock, ScaledClock};
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use state::Outage;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

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
struct Bucket {
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
    rate_limit_rpm: u32,
    buckets: Mutex<HashMap<std::net::IpAddr, Bucket>>,
    admin_last: Mutex<HashMap<std::net::IpAddr, i64>>,
    request_ids: AtomicU64,
    cursor: Mutex<state::Cursor>,
}

/// The runner's admin routes allow one request per this long per client.
const ADMIN_GAP_US: i64 = 10_000_000;

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
            cursor: Mutex::new(state::Cursor::new(&scenario)),
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

    fn ts_us(&self, t: f64) -> i64 {
        self.epoch_us + (t * 1e6).round() as i64
    }

    fn unix(&self, t: f64) -> f64 {
        self.ts_us(t) as f64 / 1e6
    }

    /// Seconds-precision RFC 3339, as the older formats and `/executions/all` write.
    fn secs(&self, t: f64) -> String {
        let us = self.ts_us(t);
        format_micros(us - us.rem_euclid(1_000_000))
    }

    fn micros(&self, t: f64) -> String {
        chrono::DateTime::from_timestamp_micros(self.ts_us(t))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default()
    }

    /// Millisecond RFC 3339, as the runner's job list writes `created_at`.
    fn millis(&self, t: f64) -> String {
        chrono::DateTime::from_timestamp_micros(self.ts_us(t))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }

    /// The runner's token bucket: `rate_limit_rpm` tokens, refilled evenly over a minute.
    /// `Some(reset_at_us)` (when the next token is there) when the request is refused.
    fn limited(&self, ip: std::net::IpAddr) -> Option<i64> {
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
        Some(now + ((1.0 - b.tokens) / per_us).ceil() as i64)
    }

    /// The admin limiter: `Some(seconds)` to wait when a request comes too soon.
    fn admin_limited(&self, ip: std::net::IpAddr) -> Option<u64> {
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

    fn request_id(&self) -> String {
        format!(
            "sim-{:08}",
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Which service a listener plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Runner,
    Router,
}

/// Answers one request of `side` the way the HTTP servers do.
pub fn answer(sim: &Sim, side: Side, asked: &Asked) -> SimAnswer {
    match side {
        Side::Runner => answer::runner(sim, asked),
        Side::Router => answer::router(sim, asked),
    }
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .and_then(|q| reqwest::Url::parse(&format!("http://q/?{q}")).ok())
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

async fn handle(
    sim: Arc<Sim>,
    side: Side,
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let asked = Asked {
        client: addr.ip(),
        path: uri.path(),
        query: query_pairs(&uri),
        bearer: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7),
    };
    match answer(&sim, side, &asked) {
        SimAnswer::Reply {
            status,
            body,
            headers: hs,
        } => {
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response();
            let h = r.headers_mut();
            for (k, v) in hs {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            }
            if side == Side::Runner
                && let Ok(v) = HeaderValue::from_str(&sim.request_id())
            {
                h.insert("x-request-id", v);
            }
            r
        }
        SimAnswer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // The listener is closed while refusing; a request that slipped in meanwhile fails.
        SimAnswer::Refused => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn app(sim: Arc<Sim>, side: Side) -> Router {
    Router::new()
        .fallback(
            move |State(sim): State<Arc<Sim>>,
                  ConnectInfo(addr): ConnectInfo<SocketAddr>,
                  uri: Uri,
                  headers: HeaderMap| handle(sim, side, addr, uri, headers),
        )
        .with_state(sim)
}

/// A running simulator: its two addresses. Dropping it does not stop the servers; they run
/// until the runtime ends.
pub struct Running {
    pub runner: SocketAddr,
    pub router: SocketAddr,
    pub sim: Arc<Sim>,
}

async fn bind(addr: &str) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: addr.into(),
            source,
        })
}

/// Serves `app` on `listener`; while the world says the port is "refused", the listener is
/// closed (so connections are refused for real) and bound again afterwards.
fn serve_with_outages(
    sim: Arc<Sim>,
    listener: TcpListener,
    app: Router,
    is_runner: bool,
) -> SocketAddr {
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    let refused = move |sim: &Sim| {
        let w = sim.world();
        let o = if is_runner {
            &w.runner_outage
        } else {
            &w.router_outage
        };
        *o == Some(Outage::Refused)
    };
    tokio::spawn(async move {
        let mut listener = Some(listener);
        loop {
            let l = match listener.take() {
                Some(l) => l,
                None => match TcpListener::bind(addr).await {
                    Ok(l) => l,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            let s2 = sim.clone();
            let shutdown = async move {
                while !refused(&s2) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            let _ = axum::serve(
                l,
                app.clone()
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await;
            while refused(&sim) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    addr
}

/// Starts both servers on the current tokio runtime.
pub async fn start(
    scenario: Scenario,
    speed: f64,
    rate_limit_rpm: Option<u32>,
    runner_listen: &str,
    router_listen: &str,
) -> Result<Running, SimError> {
    let sim = Sim::new(scenario, speed, rate_limit_rpm);
    let rl = bind(runner_listen).await?;
    let ol = bind(router_listen).await?;
    let runner = serve_with_outages(sim.clone(), rl, app(sim.clone(), Side::Runner), true);
    let router = serve_with_outages(sim.clone(), ol, app(sim.clone(), Side::Router), false);
    Ok(Running {
        runner,
        router,
        sim,
    })
}
