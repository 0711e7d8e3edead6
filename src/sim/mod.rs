//! A local stand-in for the Beacon runner and hybrid router, driven by a scenario.
//!
//! Two real HTTP servers (axum) on loopback behave as API.md describes: the 20-row default
//! page with `exec_limit`/`exec_offset` ordered by `created_at` DESC with ties, the complete
//! `/executions/all`, `null` for empty lists, 404 for unknown jobs, a 60-per-minute rate limit
//! answering 429, float timestamps on the router, and outage windows (5xx, hanging requests,
//! or a closed port that refuses connections).

pub mod scenario;
mod state;

pub use scenario::{BUILTIN, Scenario, builtin};
pub use state::{World, world_at};

use crate::beacon::format_micros;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use state::{Outage, Row};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

/// The simulator's clock and configuration, shared by both servers.
pub struct Sim {
    pub scenario: Scenario,
    pub speed: f64,
    start: Instant,
    /// Unix microseconds of scenario second 0.
    epoch_us: i64,
    rate_limit_rpm: u32,
    hits: Mutex<HashMap<std::net::IpAddr, VecDeque<Instant>>>,
    request_ids: AtomicU64,
}

impl Sim {
    pub fn new(scenario: Scenario, speed: f64, rate_limit_rpm: Option<u32>) -> Arc<Self> {
        let rpm = rate_limit_rpm.unwrap_or(scenario.runner.rate_limit_rpm);
        Arc::new(Sim {
            scenario,
            speed,
            start: Instant::now(),
            epoch_us: chrono::Utc::now().timestamp_micros(),
            rate_limit_rpm: rpm,
            hits: Mutex::new(HashMap::new()),
            request_ids: AtomicU64::new(1),
        })
    }

    /// Scenario seconds elapsed.
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.speed
    }

    pub fn world(&self) -> World {
        world_at(&self.scenario, self.now())
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

    /// The sliding-window rate limit; `Some(retry_after_secs)` when over.
    fn limited(&self, ip: std::net::IpAddr) -> Option<u64> {
        if self.rate_limit_rpm == 0 {
            return None;
        }
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let q = hits.entry(ip).or_default();
        while q
            .front()
            .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(60))
        {
            q.pop_front();
        }
        if q.len() >= self.rate_limit_rpm as usize {
            let oldest = *q.front()?;
            let wait = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
            return Some(wait.as_secs().max(1));
        }
        q.push_back(now);
        None
    }

    fn request_id(&self) -> String {
        format!(
            "sim-{:08}",
            self.request_ids.fetch_add(1, Ordering::Relaxed)
        )
    }
}

fn json_response(sim: &Sim, status: StatusCode, body: &Value) -> Response {
    let mut r = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&sim.request_id()) {
        h.insert("x-request-id", v);
    }
    r
}

/// Rows in the runner's order: `created_at` DESC; ties in id order, as Postgres happened to
/// return them (it promises nothing, which is the point).
fn ordered_rows<'a>(w: &'a World, job: &str) -> Vec<&'a Row> {
    let mut rows: Vec<&Row> = w.rows.values().filter(|r| r.job == job).collect();
    rows.sort_by(|a, b| {
        b.created
            .floor()
            .total_cmp(&a.created.floor())
            .then(a.id.cmp(&b.id))
    });
    rows
}

fn all_row(sim: &Sim, r: &Row) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("job_id".into(), json!(r.job));
    m.insert("status".into(), json!(r.status));
    m.insert("region".into(), json!(r.region));
    m.insert("provider_id".into(), json!(r.provider_id));
    m.insert("started_at".into(), json!(sim.secs(r.started)));
    m.insert(
        "completed_at".into(),
        json!(r.completed.map(|c| sim.secs(c)).unwrap_or_default()),
    );
    m.insert("created_at".into(), json!(sim.secs(r.created)));
    m.insert("has_receipt".into(), json!(r.status == "completed"));
    if let Some(o) = &r.output {
        m.insert("output".into(), o.clone());
    }
    m.insert("model_id".into(), json!(r.model));
    if !r.question.is_empty() {
        m.insert("question_id".into(), json!(r.question));
    }
    m.insert("is_substantive".into(), json!(false));
    m.insert("is_content_refusal".into(), json!(false));
    m.insert("response_classification".into(), json!("unknown"));
    m.insert("retry_count".into(), json!(r.retry_count));
    m.insert("max_retries".into(), json!(3));
    if let Some(&last) = r.retry_history.last() {
        m.insert("last_retry_at".into(), json!(sim.secs(last)));
    }
    m.insert(
        "retry_history".into(),
        Value::Array(
            r.retry_history
                .iter()
                .enumerate()
                .map(|(i, &t)| json!({"attempt": i + 1, "timestamp": sim.secs(t), "status": "retrying"}))
                .collect(),
        ),
    );
    Value::Object(m)
}

fn view_row(sim: &Sim, r: &Row, format: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    if format == "current" {
        m.insert("region".into(), json!(r.region));
        m.insert("provider_id".into(), json!(r.provider_id));
        m.insert("status".into(), json!(r.status));
        m.insert("model_id".into(), json!(r.model));
        m.insert("question_id".into(), json!(r.question));
        m.insert("response_classification".into(), Value::Null);
        m.insert("is_substantive".into(), json!(false));
        m.insert("is_content_refusal".into(), Value::Null);
        m.insert("started_at".into(), json!(sim.micros(r.started)));
        if let Some(c) = r.completed {
            m.insert("completed_at".into(), json!(sim.micros(c)));
        }
    } else {
        m.insert("status".into(), json!(r.status));
        m.insert("region".into(), json!(r.region));
        m.insert("provider_id".into(), json!(r.provider_id));
        m.insert("started_at".into(), json!(sim.secs(r.started)));
        m.insert(
            "completed_at".into(),
            json!(r.completed.map(|c| sim.secs(c)).unwrap_or_default()),
        );
        m.insert("created_at".into(), json!(sim.secs(r.created)));
        m.insert("model_id".into(), json!(r.model));
        if format != "legacy" && !r.question.is_empty() {
            m.insert("question_id".into(), json!(r.question));
        }
    }
    Value::Object(m)
}

async fn runner_gate(sim: &Sim, addr: SocketAddr) -> Option<Response> {
    if let Some(wait) = sim.limited(addr.ip()) {
        let mut r = json_response(
            sim,
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"error": {"type": "rate_limited", "message": "Too many requests. Please slow down.",
                    "code": "RATE_LIMIT_EXCEEDED"}, "request_id": sim.request_id()}),
        );
        let h = r.headers_mut();
        h.insert("retry-after", HeaderValue::from(wait));
        h.insert("x-ratelimit-limit", HeaderValue::from(sim.rate_limit_rpm));
        h.insert("x-ratelimit-remaining", HeaderValue::from(0));
        return Some(r);
    }
    match sim.world().runner_outage {
        Some(Outage::Status(code)) => Some(json_response(
            sim,
            StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            &json!({"error": "persistence unavailable"}),
        )),
        Some(Outage::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
        _ => None,
    }
}

async fn get_job(
    State(sim): State<Arc<Sim>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = runner_gate(&sim, addr).await {
        return r;
    }
    let w = sim.world();
    let Some(job) = sim.scenario.jobs.iter().find(|j| j.id == id) else {
        return json_response(
            &sim,
            StatusCode::NOT_FOUND,
            &json!({"error": "job not found"}),
        );
    };
    let status = w.job_status.get(&id).cloned().unwrap_or_default();
    let mut body = json!({"job": job.spec, "status": status});
    let include = q.get("include").map(String::as_str);
    if matches!(include, Some("executions" | "all")) {
        // Any value outside 1..=200 silently becomes 20, as the runner does.
        let limit = q
            .get("exec_limit")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| (1..=200).contains(v))
            .unwrap_or(20);
        let offset = q
            .get("exec_offset")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let rows: Vec<Value> = ordered_rows(&w, &id)
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|r| view_row(&sim, r, &sim.scenario.runner.row_format))
            .collect();
        body["executions"] = if rows.is_empty() {
            Value::Null
        } else {
            Value::Array(rows)
        };
    }
    json_response(&sim, StatusCode::OK, &body)
}

async fn get_all(
    State(sim): State<Arc<Sim>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = runner_gate(&sim, addr).await {
        return r;
    }
    if !sim.scenario.runner.executions_all {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    }
    let w = sim.world();
    if !sim.scenario.jobs.iter().any(|j| j.id == id) {
        return json_response(
            &sim,
            StatusCode::NOT_FOUND,
            &json!({"error": "job not found"}),
        );
    }
    let rows: Vec<Value> = ordered_rows(&w, &id)
        .into_iter()
        .map(|r| all_row(&sim, r))
        .collect();
    let list = if rows.is_empty() {
        Value::Null
    } else {
        Value::Array(rows)
    };
    json_response(&sim, StatusCode::OK, &json!({"executions": list}))
}

async fn runner_health(State(sim): State<Arc<Sim>>) -> Response {
    json_response(
        &sim,
        StatusCode::OK,
        &json!({"status": "healthy", "services": [{"name": "database", "status": "healthy"}]}),
    )
}

async fn queue_stats(
    State(sim): State<Arc<Sim>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = runner_gate(&sim, addr).await {
        return r;
    }
    let authed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7);
    if !authed {
        return json_response(
            &sim,
            StatusCode::UNAUTHORIZED,
            &json!({"error": "unauthorized"}),
        );
    }
    let w = sim.world();
    let processing = w.rows.values().filter(|r| r.status == "running").count();
    json_response(
        &sim,
        StatusCode::OK,
        &json!({"queue": "jobs", "main": 0, "retry": 0, "dead": 0, "processing": processing}),
    )
}

async fn router_gate(sim: &Sim) -> Option<Response> {
    match sim.world().router_outage {
        Some(Outage::Status(code)) => Some(json_response(
            sim,
            StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            &json!({"detail": "Service Unavailable"}),
        )),
        Some(Outage::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
        _ => None,
    }
}

async fn router_health(State(sim): State<Arc<Sim>>) -> Response {
    if let Some(r) = router_gate(&sim).await {
        return r;
    }
    let w = sim.world();
    let healthy: Vec<&state::ProviderState> = w.providers.iter().filter(|p| p.healthy).collect();
    let mut regions: Vec<&str> = healthy.iter().map(|p| p.region.as_str()).collect();
    regions.dedup();
    json_response(
        &sim,
        StatusCode::OK,
        &json!({"status": "healthy", "timestamp": sim.unix(sim.now()), "version": "sim",
                "providers_total": w.providers.len(), "providers_healthy": healthy.len(),
                "regions": regions}),
    )
}

async fn router_providers(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = router_gate(&sim).await {
        return r;
    }
    let w = sim.world();
    let list: Vec<Value> = w
        .providers
        .iter()
        .filter(|p| q.get("region").is_none_or(|r| *r == p.region))
        .map(|p| {
            json!({"name": p.name, "type": "modal", "region": p.region, "healthy": p.healthy,
                   "cost_per_second": 5e-05, "avg_latency": 0.0, "success_rate": 1.0,
                   "last_health_check": p.checked_at.map(|t| sim.unix(t)).unwrap_or(0.0)})
        })
        .collect();
    json_response(&sim, StatusCode::OK, &json!({"providers": list}))
}

async fn router_metrics(State(sim): State<Arc<Sim>>) -> Response {
    let w = sim.world();
    json_response(
        &sim,
        StatusCode::OK,
        &json!({"total_providers": w.providers.len(),
                "healthy_providers": w.providers.iter().filter(|p| p.healthy).count(),
                "avg_latency": 0.0, "avg_success_rate": 1.0,
                "cost_range": {"min": 5e-05, "max": 5e-05}, "models_supported": 3}),
    )
}

fn runner_app(sim: Arc<Sim>) -> Router {
    let s = sim.clone();
    Router::new()
        .route("/api/v1/jobs/{id}", get(get_job))
        .route("/api/v1/jobs/{id}/executions/all", get(get_all))
        .route("/health", get(runner_health))
        .route("/admin/queue-stats", get(queue_stats))
        .fallback(move || {
            let s = s.clone();
            async move { json_response(&s, StatusCode::NOT_FOUND, &json!({"error": "not found"})) }
        })
        .with_state(sim)
}

fn router_app(sim: Arc<Sim>) -> Router {
    let s = sim.clone();
    Router::new()
        .route("/health", get(router_health))
        .route("/providers", get(router_providers))
        .route("/metrics", get(router_metrics))
        .fallback(move || {
            let s = s.clone();
            async move { json_response(&s, StatusCode::NOT_FOUND, &json!({"detail": "Not Found"})) }
        })
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
            w.runner_outage
        } else {
            w.router_outage
        };
        o == Some(Outage::Refused)
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
    let runner = serve_with_outages(sim.clone(), rl, runner_app(sim.clone()), true);
    let router = serve_with_outages(sim.clone(), ol, router_app(sim.clone()), false);
    Ok(Running {
        runner,
        router,
        sim,
    })
}
