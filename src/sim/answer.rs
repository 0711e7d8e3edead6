//! What the simulated runner and router answer to one request, as a pure function of the
//! scenario's time and the request: the HTTP servers (`sim::start`) send it over loopback, and
//! `SimSource` hands it to the recorder directly, on a manual clock.

use super::play::Sim;
use super::state::{Outage, Row, World};
use crate::beacon::format_micros;
use serde_json::{Map, Value, json};

/// One answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SimAnswer {
    Reply {
        status: u16,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    },
    /// The request is accepted and never answered.
    Hang,
    /// Nothing listens: the connection is refused.
    Refused,
}

fn json_reply(status: u16, body: &Value) -> SimAnswer {
    SimAnswer::Reply {
        status,
        body: serde_json::to_vec(body).unwrap_or_default(),
        headers: vec![("content-type", "application/json".into())],
    }
}

/// A request as the simulator sees it.
#[derive(Debug, Clone)]
pub struct Asked<'a> {
    /// The client, for the per-client rate limits.
    pub client: std::net::IpAddr,
    /// The path, percent-encoded as sent.
    pub path: &'a str,
    pub query: Vec<(String, String)>,
    /// The `Authorization` header held a bearer token.
    pub bearer: bool,
}

impl Asked<'_> {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `%XX` decoding of one path segment (a job id).
fn decode(seg: &str) -> String {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// The runner's global limiter, then an outage of the runner.
fn runner_gate(sim: &Sim, w: &World, asked: &Asked) -> Option<SimAnswer> {
    if let Some(reset_us) = sim.limited(asked.client) {
        // As the runner: no Retry-After; the reset time at second precision (Go's RFC3339).
        let reset = format_micros(reset_us - reset_us.rem_euclid(1_000_000) + 1_000_000);
        return Some(SimAnswer::Reply {
            status: 429,
            body: serde_json::to_vec(&json!({"error": {"type": "rate_limited",
                "message": "Too many requests. Please slow down.", "code": "RATE_LIMIT_EXCEEDED"},
                "request_id": sim.request_id()}))
            .unwrap_or_default(),
            headers: vec![
                ("content-type", "application/json".into()),
                ("x-ratelimit-limit", sim.rate_limit_rpm.to_string()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset),
            ],
        });
    }
    match w.runner_outage {
        Some(Outage::Status(code)) => Some(json_reply(
            code,
            &json!({"error": "persistence unavailable"}),
        )),
        Some(Outage::Hang) => Some(SimAnswer::Hang),
        Some(Outage::Refused) => Some(SimAnswer::Refused),
        None => None,
    }
}

/// The runner's answer.
pub fn runner(sim: &Sim, asked: &Asked) -> SimAnswer {
    let w = sim.world();
    if let Some(a) = runner_gate(sim, &w, asked) {
        return a;
    }
    let segs: Vec<&str> = asked.path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "jobs"] => jobs_list(sim, &w, asked),
        ["api", "v1", "jobs", id] => job(sim, &w, &decode(id), asked),
        ["api", "v1", "jobs", id, "executions", "all"] => all(sim, &w, &decode(id)),
        ["health"] => json_reply(
            200,
            &json!({"status": "healthy", "services": services(sim)}),
        ),
        ["health", "ready"] => json_reply(200, &json!({"ready": true, "services": services(sim)})),
        ["admin", what @ ("queue-stats" | "stuck-jobs")] => {
            if !asked.bearer {
                return json_reply(401, &json!({"error": "unauthorized"}));
            }
            if let Some(wait) = sim.admin_limited(asked.client) {
                return json_reply(
                    429,
                    &json!({"error": "rate_limit_exceeded", "message": "Admin operations are rate limited",
                            "retry_after": wait}),
                );
            }
            if *what == "stuck-jobs" {
                return json_reply(200, &stuck_jobs(sim, &w));
            }
            let processing = w.rows.values().filter(|r| r.status == "running").count();
            json_reply(
                200,
                &json!({"queue": "jobs", "main": 0, "retry": 0, "dead": 0, "processing": processing}),
            )
        }
        _ => json_reply(404, &json!({"error": "not found"})),
    }
}

/// The runner's services, as its `/health` lists them (`last_check` is the moment of the
/// answer, as the runner's checker stamps it).
fn services(sim: &Sim) -> Value {
    let now = sim.micros(sim.now());
    let cb = json!({"Name": "", "State": 0, "Failures": 0, "Successes": 0, "Requests": 0,
                    "LastFailTime": "0001-01-01T00:00:00Z"});
    json!(["yagna", "ipfs", "database", "redis"]
        .iter()
        .map(|n| json!({"name": n, "status": "healthy", "circuit_breaker_stats": cb, "last_check": now}))
        .collect::<Vec<_>>())
}

/// Jobs known now (created), newest first, at most `limit` (default 50, at most 200).
fn jobs_list(sim: &Sim, w: &World, asked: &Asked) -> SimAnswer {
    let limit = asked
        .q("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|v| (1..=200).contains(v))
        .unwrap_or(50);
    let now = sim.now();
    let mut jobs: Vec<&super::scenario::SimJob> = sim
        .scenario
        .jobs
        .iter()
        .filter(|j| j.created <= now)
        .collect();
    jobs.sort_by(|a, b| b.created.total_cmp(&a.created).then(a.id.cmp(&b.id)));
    let list: Vec<Value> = jobs
        .into_iter()
        .take(limit)
        .map(|j| {
            json!({"id": j.id, "status": w.job_status.get(&j.id).cloned().unwrap_or_default(),
                   "created_at": sim.millis(j.created)})
        })
        .collect();
    json_reply(
        200,
        &json!({"jobs": if list.is_empty() { Value::Null } else { Value::Array(list) }}),
    )
}

/// Jobs processing for more than 15 minutes.
fn stuck_jobs(sim: &Sim, w: &World) -> Value {
    let now = sim.now();
    let stuck: Vec<Value> = sim
        .scenario
        .jobs
        .iter()
        .filter(|j| j.created <= now - 900.0)
        .filter(|j| {
            matches!(
                w.job_status.get(&j.id).map(String::as_str),
                Some("processing" | "running")
            )
        })
        .map(|j| {
            let ns = ((now - j.created) * 1e9) as i64;
            json!({"job_id": j.id, "updated_at": sim.millis(now), "created_at": sim.millis(j.created),
                   "processing_duration": ns, "total_duration": ns})
        })
        .collect();
    json!({"stuck_jobs_count": stuck.len(), "timeout_threshold_minutes": 15, "stuck_jobs": stuck})
}

fn job(sim: &Sim, w: &World, id: &str, asked: &Asked) -> SimAnswer {
    let now = sim.now();
    let Some(job) = sim
        .scenario
        .jobs
        .iter()
        .find(|j| j.id == id && j.created <= now)
    else {
        return json_reply(404, &json!({"error": "job not found"}));
    };
    let status = w.job_status.get(id).cloned().unwrap_or_default();
    let mut body = json!({"job": job.spec, "status": status});
    if matches!(asked.q("include"), Some("executions" | "all")) {
        // Any value outside 1..=200 silently becomes 20, as the runner does.
        let limit = asked
            .q("exec_limit")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| (1..=200).contains(v))
            .unwrap_or(20);
        let offset = asked
            .q("exec_offset")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let rows: Vec<Value> = ordered_rows(w, id)
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|r| view_row(sim, r, &sim.scenario.runner.row_format))
            .collect();
        body["executions"] = if rows.is_empty() {
            Value::Null
        } else {
            Value::Array(rows)
        };
    }
    json_reply(200, &body)
}

fn all(sim: &Sim, w: &World, id: &str) -> SimAnswer {
    if !sim.scenario.runner.executions_all {
        // Go's plain text 404 for a route it does not have.
        return SimAnswer::Reply {
            status: 404,
            body: b"404 page not found\n".to_vec(),
            headers: vec![("content-type", "text/plain".into())],
        };
    }
    let now = sim.now();
    if !sim
        .scenario
        .jobs
        .iter()
        .any(|j| j.id == id && j.created <= now)
    {
        return json_reply(404, &json!({"error": "job not found"}));
    }
    let rows: Vec<Value> = ordered_rows(w, id)
        .into_iter()
        .map(|r| all_row(sim, r))
        .collect();
    let list = if rows.is_empty() {
        Value::Null
    } else {
        Value::Array(rows)
    };
    json_reply(200, &json!({"executions": list}))
}

/// The router's answer.
pub fn router(sim: &Sim, asked: &Asked) -> SimAnswer {
    let w = sim.world();
    match w.router_outage {
        Some(Outage::Status(code)) => {
            return json_reply(code, &json!({"detail": "Service Unavailable"}));
        }
        Some(Outage::Hang) => return SimAnswer::Hang,
        Some(Outage::Refused) => return SimAnswer::Refused,
        None => {}
    }
    match asked.path {
        "/health" => {
            let healthy: Vec<&super::state::ProviderState> =
                w.providers.iter().filter(|p| p.healthy).collect();
            let mut regions: Vec<&str> = healthy.iter().map(|p| p.region.as_str()).collect();
            regions.dedup();
            json_reply(
                200,
                &json!({"status": "healthy", "timestamp": sim.unix(sim.now()), "version": "sim",
                        "providers_total": w.providers.len(), "providers_healthy": healthy.len(),
                        "regions": regions}),
            )
        }
        "/providers" => {
            let list: Vec<Value> = w
                .providers
                .iter()
                .filter(|p| asked.q("region").is_none_or(|r| r == p.region))
                .map(|p| {
                    json!({"name": p.name, "type": "modal", "region": p.region, "healthy": p.healthy,
                           "cost_per_second": 5e-05, "avg_latency": 0.0, "success_rate": 1.0,
                           "last_health_check": p.checked_at.map(|t| sim.unix(t)).unwrap_or(0.0)})
                })
                .collect();
            json_reply(200, &json!({"providers": list}))
        }
        "/metrics" => {
            let healthy = w.providers.iter().filter(|p| p.healthy).count();
            let some = healthy > 0;
            json_reply(
                200,
                &json!({"total_providers": w.providers.len(), "healthy_providers": healthy,
                        "avg_latency": 0.0, "avg_success_rate": if some { 1.0 } else { 0.0 },
                        "cost_range": {"min": if some { 5e-05 } else { 0.0 }, "max": if some { 5e-05 } else { 0.0 }},
                        "models_supported": ["llama3.2-1b", "mistral-7b", "qwen2.5-1.5b"]}),
            )
        }
        "/debug/providers"
        | "/debug/startup-status"
        | "/debug/health-check-history"
        | "/queue/status" => debug_answer(sim, &w, asked.path),
        "/ready" => json_reply(
            200,
            &json!({"status": "ok", "timestamp": sim.unix(sim.now())}),
        ),
        // The real router has it; the recorder must never ask for it (it dumps the environment).
        "/env" => json_reply(
            200,
            &json!({"GOLEM_US_ENDPOINT": "https://golem-us.example", "MODAL_TOKEN_SECRET": "sim-secret-never-recorded"}),
        ),
        _ => json_reply(404, &json!({"detail": "Not Found"})),
    }
}

/// The router's debug endpoints and its queues, as the real router builds them
/// (`api/debug.py`, `api/queue.py`).
fn debug_answer(sim: &Sim, w: &World, path: &str) -> SimAnswer {
    match path {
        "/debug/providers" => {
            let now = sim.unix(sim.now());
            let list: Vec<Value> = w
                .providers
                .iter()
                .map(|p| {
                    let last = p.checked_at.map(|t| sim.unix(t)).unwrap_or(0.0);
                    json!({"name": p.name, "type": "modal",
                           "endpoint": format!("https://sim--{}.modal.run", p.name),
                           "region": p.region, "healthy": p.healthy, "last_health_check": last,
                           "last_health_check_ago_seconds": if last > 0.0 { json!(now - last) } else { Value::Null },
                           "avg_latency": 0.0, "success_rate": 1.0, "cost_per_second": 5e-05,
                           "max_concurrent": 10})
                })
                .collect();
            json_reply(
                200,
                &json!({"total_providers": w.providers.len(),
                        "healthy_count": w.providers.iter().filter(|p| p.healthy).count(),
                        "providers": list, "timestamp": now}),
            )
        }
        "/debug/startup-status" => {
            let checked = w
                .providers
                .iter()
                .filter(|p| p.checked_at.is_some())
                .count();
            let never: Vec<&str> = w
                .providers
                .iter()
                .filter(|p| p.checked_at.is_none())
                .map(|p| p.name.as_str())
                .collect();
            json_reply(
                200,
                &json!({"startup_health_checks_completed": checked == w.providers.len(),
                        "some_health_checks_completed": checked > 0,
                        "providers_checked": checked, "providers_total": w.providers.len(),
                        "providers_healthy": w.providers.iter().filter(|p| p.healthy).count(),
                        "providers_never_checked": never}),
            )
        }
        "/debug/health-check-history" => {
            let now = sim.unix(sim.now());
            let list: Vec<Value> = w
                .providers
                .iter()
                .map(|p| match p.checked_at {
                    Some(t) => {
                        let ago = now - sim.unix(t);
                        json!({"provider": p.name, "healthy": p.healthy,
                               "last_check_timestamp": sim.unix(t), "last_check_ago_seconds": ago,
                               "last_check_ago_human": if ago < 60.0 { format!("{}s ago", ago as i64) } else { format!("{}m ago", (ago / 60.0) as i64) }})
                    }
                    None => json!({"provider": p.name, "healthy": p.healthy,
                                   "last_check_timestamp": 0, "last_check_ago_seconds": null,
                                   "last_check_ago_human": "Never"}),
                })
                .collect();
            json_reply(200, &json!({"providers": list, "current_timestamp": now}))
        }
        "/queue/status" => {
            // As the real router: its queue workers are disabled (`main.py`) and the runner
            // never uses `/inference/queued`, so the queues stay empty and their counters at 0.
            let mut regions = Map::new();
            for name in ["US", "EU", "ASIA"] {
                regions.insert(
                    name.into(),
                    json!({"region": name, "queue_size": 0, "retry_queue_size": 0,
                           "processing": false, "current_job": null,
                           "completed": 0, "failed": 0}),
                );
            }
            json_reply(
                200,
                &json!({"queues": {"global_retry_queue_size": 0, "regions": regions},
                        "timestamp": sim.unix(sim.now())}),
            )
        }
        _ => json_reply(404, &json!({"detail": "Not Found"})),
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn job_ids_are_percent_decoded() {
        assert_eq!(decode("a%20b%2Fc"), "a b/c");
        assert_eq!(decode("plain-1"), "plain-1");
        assert_eq!(decode("bad%zz%4"), "bad%zz%4");
    }
}
