//! What the simulated runner and router answer to one request, as a pure function of the
//! scenario's time and the request: the HTTP servers (`sim::start`) send it over loopback, and
//! `SimSource` hands it to the recorder directly, on a manual clock.

use super::Sim;
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
        ["api", "v1", "jobs", id] => job(sim, &w, &decode(id), asked),
        ["api", "v1", "jobs", id, "executions", "all"] => all(sim, &w, &decode(id)),
        ["health"] => json_reply(
            200,
            &json!({"status": "healthy", "services": [{"name": "database", "status": "healthy"}]}),
        ),
        ["admin", "queue-stats"] => {
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
            let processing = w.rows.values().filter(|r| r.status == "running").count();
            json_reply(
                200,
                &json!({"queue": "jobs", "main": 0, "retry": 0, "dead": 0, "processing": processing}),
            )
        }
        _ => json_reply(404, &json!({"error": "not found"})),
    }
}

fn job(sim: &Sim, w: &World, id: &str, asked: &Asked) -> SimAnswer {
    let Some(job) = sim.scenario.jobs.iter().find(|j| j.id == id) else {
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
    if !sim.scenario.jobs.iter().any(|j| j.id == id) {
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
        "/metrics" => json_reply(
            200,
            &json!({"total_providers": w.providers.len(),
                    "healthy_providers": w.providers.iter().filter(|p| p.healthy).count(),
                    "avg_latency": 0.0, "avg_success_rate": 1.0,
                    "cost_range": {"min": 5e-05, "max": 5e-05}, "models_supported": 3}),
        ),
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
