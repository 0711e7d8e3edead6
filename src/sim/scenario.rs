//! Scenarios: what the simulated runner and router do over time, as data.
//!
//! A scenario is a JSON document (see README "Scenario files"): jobs with their specs, the
//! router's providers, and a list of events at scenario seconds. `blackbox simulate
//! --print-scenario NAME` prints a built-in one as a starting point for your own.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Scenario second after which nothing changes any more.
    pub end: f64,
    #[serde(default)]
    pub runner: RunnerConf,
    #[serde(default)]
    pub router: RouterConf,
    pub jobs: Vec<SimJob>,
    #[serde(default)]
    pub providers: Vec<SimProvider>,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerConf {
    /// Requests per minute per client IP before 429; 0 switches the limit off.
    pub rate_limit_rpm: u32,
    /// Whether `/executions/all` exists (older runners answer 404).
    pub executions_all: bool,
    /// Row format of the job view: `current`, `2025-10-01`, or `legacy` (no question_id).
    pub row_format: String,
    /// Seconds the runner's clock is ahead of the scenario's (negative: behind): its rows'
    /// times, its `Date` headers and its rate limiter's reset times.
    pub clock_offset: f64,
}

impl Default for RunnerConf {
    fn default() -> Self {
        RunnerConf {
            rate_limit_rpm: 60,
            executions_all: true,
            row_format: "current".into(),
            clock_offset: 0.0,
        }
    }
}

/// The simulated router.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RouterConf {
    /// Seconds the router's clock is ahead of the scenario's (negative: behind): its
    /// `/health` `timestamp`, its checks' stamps and its `Date` headers.
    pub clock_offset: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimJob {
    pub id: String,
    /// The job spec as the runner stores it.
    pub spec: Value,
    #[serde(default = "default_status")]
    pub status: String,
    /// Scenario second the job is created: before it the runner does not know it (its list
    /// leaves it out, its endpoints answer 404). Negative: created before the scenario.
    #[serde(default)]
    pub created: f64,
}

fn default_status() -> String {
    "created".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimProvider {
    pub name: String,
    pub region: String,
    #[serde(default = "yes")]
    pub healthy: bool,
    /// Whether the router checked it at start-up (`last_health_check` > 0).
    #[serde(default = "yes")]
    pub checked: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Scenario seconds.
    pub at: f64,
    #[serde(flatten)]
    pub what: EventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The job's status changes.
    JobStatus { job: String, status: String },
    /// A row is inserted (`created_at` = `at`).
    Insert {
        job: String,
        id: i64,
        #[serde(default)]
        question: String,
        model: String,
        region: String,
        #[serde(default)]
        provider_id: String,
        status: String,
        /// Scenario second of `started_at`; defaults to `at`.
        #[serde(default)]
        started: Option<f64>,
        #[serde(default)]
        completed: Option<f64>,
        #[serde(default)]
        output: Option<Value>,
    },
    /// A row changes in place (retries update the same row).
    Update {
        id: i64,
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        completed: Option<f64>,
        #[serde(default)]
        output: Option<Value>,
        #[serde(default)]
        provider_id: Option<String>,
        /// Count one more retry (`retry_count` + 1, `retry_history` appended).
        #[serde(default)]
        retry: bool,
    },
    /// A source is down until `until`: `mode` is `503`, `500`, `refused` or `hang`.
    Outage {
        target: String,
        until: f64,
        mode: String,
    },
    /// The router's view of one provider changes (as after an inference request).
    Provider { name: String, healthy: bool },
}

/// Names of the built-in scenarios.
pub const BUILTIN: &[&str] = &["classic", "cutoff", "outage", "legacy", "fleet", "slow"];

pub fn builtin(name: &str) -> Option<Scenario> {
    match name {
        "classic" => Some(classic()),
        "cutoff" => Some(cutoff()),
        "outage" => Some(outage()),
        "legacy" => Some(legacy()),
        "fleet" => Some(fleet()),
        "slow" => Some(slow()),
        _ => None,
    }
}

const QUESTIONS: [&str; 4] = [
    "identity_basic",
    "tiananmen_neutral",
    "taiwan_status",
    "math_basic",
];
const MODELS: [&str; 3] = ["llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"];

fn job_runner_spec(id: &str, questions: &[&str], models: &[&str], regions: &[&str]) -> Value {
    let expected = questions.len() * models.len() * regions.len();
    json!({
        "id": id,
        "version": "v1",
        "benchmark": {"name": "multi-model-bias-detection", "version": "v1"},
        "constraints": {"regions": regions, "min_regions": 1, "min_success_rate": 0.67,
                        "timeout": 600_000_000_000u64, "provider_timeout": 600_000_000_000u64},
        "metadata": {"created_by": "portal", "execution_type": "cross-region", "multi_model": true,
                     "models": models, "total_executions_expected": expected},
        "models": models.iter().map(|m| json!({"id": m, "name": m, "provider": "hybrid",
                     "container_image": "", "regions": regions})).collect::<Vec<_>>(),
        "questions": questions,
        "runs": 1
    })
}

fn three_providers() -> Vec<SimProvider> {
    ["us-east", "eu-west", "asia-pacific"]
        .iter()
        .map(|r| SimProvider {
            name: format!("modal-{r}"),
            region: r.to_string(),
            healthy: true,
            checked: true,
        })
        .collect()
}

fn router_failure(
    code: &str,
    stage: &str,
    kind: &str,
    region: &str,
    model: &str,
    msg: &str,
) -> Value {
    json!({
        "error": format!("hybrid error: {msg}"),
        "error_code": code,
        "failure": {"stage": stage, "component": "hybrid_router", "subcomponent": "inference",
                    "code": code, "type": kind, "region": region, "model": model,
                    "message": msg, "transient": true}
    })
}

fn map_region(r: &str) -> &'static str {
    match r {
        "US" => "us-east",
        "ASIA" | "APAC" => "asia-pacific",
        _ => "eu-west",
    }
}

/// A day of an always-on runner: 50 jobs, 45 finished before it began (200 rows each), 5
/// active whose 200 rows complete one by one over the day (about one change every 7 minutes
/// per job). What `record --all-jobs` costs when little happens.
pub fn fleet() -> Scenario {
    const DAY: f64 = 86_400.0;
    const ROWS: usize = 200;
    let questions: Vec<String> = (0..ROWS).map(|k| format!("q{k:03}")).collect();
    let qrefs: Vec<&str> = questions.iter().map(String::as_str).collect();
    let mut jobs = Vec::new();
    let mut events = Vec::new();
    let mut id = 100_000i64;
    for j in 0..50usize {
        let name = format!("bias-detection-fleet-{j:02}");
        let active = j >= 45;
        // Finished ones were created over the day before; active ones just before the start.
        let created = if active {
            -600.0 + j as f64
        } else {
            -DAY + j as f64 * 1_500.0
        };
        jobs.push(SimJob {
            id: name.clone(),
            spec: job_runner_spec(&name, &qrefs, &["llama3.2-1b"], &["US"]),
            status: if active { "processing" } else { "completed" }.into(),
            created,
        });
        for (k, q) in questions.iter().enumerate() {
            let start = created + 1.0 + k as f64 * 0.5;
            let done = if active {
                // Spread over the day, each job offset a little.
                (k + 1) as f64 * DAY / (ROWS + 1) as f64 + j as f64 * 37.0
            } else {
                start + 30.0
            };
            events.push(Event {
                at: start,
                what: EventKind::Insert {
                    job: name.clone(),
                    id,
                    question: q.clone(),
                    model: "llama3.2-1b".into(),
                    region: "us-east".into(),
                    provider_id: "modal-us-east".into(),
                    status: if active { "running" } else { "completed" }.into(),
                    started: Some(start),
                    completed: (!active).then_some(done),
                    output: (!active).then(|| json!({"response": "ok"})),
                },
            });
            if active {
                events.push(Event {
                    at: done,
                    what: EventKind::Update {
                        id,
                        status: Some("completed".into()),
                        completed: Some(done),
                        output: Some(json!({"response": "ok"})),
                        provider_id: None,
                        retry: false,
                    },
                });
            }
            id += 1;
        }
        if active {
            events.push(Event {
                at: DAY - 1.0,
                what: EventKind::JobStatus {
                    job: name.clone(),
                    status: "completed".into(),
                },
            });
        }
    }
    Scenario {
        name: "fleet".into(),
        description: "An always-on day: 50 jobs, 45 finished, 5 active whose 200 rows each \
                      complete one by one over 24 h."
            .into(),
        end: DAY,
        runner: RunnerConf::default(),
        router: RouterConf::default(),
        jobs,
        providers: three_providers(),
        events,
    }
}

/// Nothing wrong, only slow: 36 units (4 questions x 3 models x 3 regions) run two at a time,
/// each for 65 s, so the job takes 20 minutes to fill and complete; the router is healthy and
/// checks its providers. What the alert rules must stay quiet on.
pub fn slow() -> Scenario {
    let job = "bias-detection-1762000000000";
    let regions = ["US", "EU", "ASIA"];
    let mut events = vec![Event {
        at: 2.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "processing".into(),
        },
    }];
    let mut id = 7001;
    let mut i = 0;
    for r in regions {
        for m in MODELS {
            for q in QUESTIONS {
                let region = map_region(r);
                // Two at a time: a new pair every 66 s, each running 65 s.
                let t = 5.0 + (i / 2) as f64 * 66.0;
                events.push(Event {
                    at: t,
                    what: EventKind::Insert {
                        job: job.into(),
                        id,
                        question: q.into(),
                        model: m.into(),
                        region: region.into(),
                        provider_id: format!("modal-{region}"),
                        status: "running".into(),
                        started: None,
                        completed: None,
                        output: None,
                    },
                });
                events.push(Event {
                    at: t + 65.0,
                    what: EventKind::Update {
                        id,
                        status: Some("completed".into()),
                        completed: Some(t + 65.0),
                        provider_id: None,
                        output: Some(json!({"response": "ok"})),
                        retry: false,
                    },
                });
                // Each inference request makes the router check that provider again.
                events.push(Event {
                    at: t + 65.0,
                    what: EventKind::Provider {
                        name: format!("modal-{region}"),
                        healthy: true,
                    },
                });
                id += 1;
                i += 1;
            }
        }
    }
    let end = 5.0 + 17.0 * 66.0 + 65.0 + 5.0;
    events.push(Event {
        at: end,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "completed".into(),
        },
    });
    Scenario {
        name: "slow".into(),
        description: "Nothing wrong, only slow: 36 units run two at a time, the job fills and \
                      completes over 20 minutes, the router healthy and checking."
            .into(),
        end: end + 30.0,
        runner: RunnerConf::default(),
        router: RouterConf::default(),
        jobs: vec![SimJob {
            id: job.into(),
            spec: job_runner_spec(job, &QUESTIONS, &MODELS, &regions),
            status: "created".into(),
            created: 0.0,
        }],
        providers: three_providers(),
        events,
    }
}

/// The seed incident: 36 units on the job-runner path, each timing out at the router after
/// exactly 120 s with an empty provider, a queue redelivery that re-runs 8 units, and a router
/// that reports 3 of 3 providers healthy throughout.
pub fn classic() -> Scenario {
    let job = "bias-detection-1759330371966";
    let regions = ["US", "EU", "ASIA"];
    let mut events = vec![Event {
        at: 3.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "processing".into(),
        },
    }];
    let mut units = Vec::new();
    for r in regions {
        for m in MODELS {
            for q in QUESTIONS {
                units.push((q, m, r));
            }
        }
    }
    let mut id = 1370;
    // Workers run units in batches, each batch 122 s after the previous.
    let mut unit_events = |units: &[(&str, &str, &str)], t0: f64, workers: usize, id: &mut i64| {
        for (i, (q, m, r)) in units.iter().enumerate() {
            let start = t0 + (i / workers) as f64 * 122.0;
            let region = map_region(r);
            events.push(Event {
                at: start,
                what: EventKind::Insert {
                    job: job.into(),
                    id: *id,
                    question: q.to_string(),
                    model: m.to_string(),
                    region: region.into(),
                    provider_id: String::new(),
                    status: "running".into(),
                    started: None,
                    completed: None,
                    output: None,
                },
            });
            events.push(Event {
                at: start + 120.0,
                what: EventKind::Update {
                    id: *id,
                    status: Some("failed".into()),
                    completed: Some(start + 120.0),
                    output: Some(router_failure(
                        "ROUTER_TIMEOUT",
                        "router_http_timeout",
                        "timeout",
                        region,
                        m,
                        "hybrid timeout: HTTP request timeout",
                    )),
                    provider_id: None,
                    retry: false,
                },
            });
            *id += 1;
        }
    };
    unit_events(&units, 5.0, 6, &mut id);
    // Queue redelivery: the first eight units run again, all at once, as new rows.
    unit_events(&units[..8], 5.0 + 6.0 * 122.0, 8, &mut id);
    events.push(Event {
        at: 862.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "failed".into(),
        },
    });
    Scenario {
        name: "classic".into(),
        description: "The seed incident: 36 units, all fail with ROUTER_TIMEOUT after 120 s, \
                      8 cells run twice after a queue redelivery, router healthy throughout."
            .into(),
        end: 862.0,
        runner: RunnerConf::default(),
        router: RouterConf::default(),
        jobs: vec![SimJob {
            id: job.into(),
            spec: job_runner_spec(job, &QUESTIONS, &MODELS, &regions),
            status: "created".into(),
            created: 0.0,
        }],
        providers: three_providers(),
        events,
    }
}

/// The cross-region path cut off at 15 minutes: the router lists no asia-pacific provider
/// (ASIA unplanned), EU is cut off with two cells missing, and one row carries a model that
/// is not in the spec.
pub fn cutoff() -> Scenario {
    let job = "bias-detection-1760545271810";
    let questions = ["identity_basic", "tiananmen_neutral"];
    let spec = json!({
        "id": job, "version": "v1",
        "constraints": {"regions": ["US", "EU", "ASIA"], "min_regions": 1},
        "metadata": {"created_by": "portal", "execution_type": "cross-region", "multi_model": true,
                     "models": MODELS, "total_executions_expected": 18},
        "questions": questions, "runs": 1
    });
    let mut events = Vec::new();
    let mut id = 2190;
    let mut add = |at: f64, region: &str, start: f64, q: &str, m: &str, status: &str| {
        events.push(Event {
            at,
            what: EventKind::Insert {
                job: job.into(),
                id,
                question: q.into(),
                model: m.into(),
                region: region.into(),
                provider_id: format!("modal-{}", map_region(region)),
                status: status.into(),
                started: Some(start),
                completed: Some(at),
                output: None,
            },
        });
        id += 1;
    };
    let mut t = 40.0;
    for m in MODELS {
        for q in questions {
            add(t, "US", 1.0, q, m, "completed");
            t += 45.0;
        }
    }
    add(t, "US", 1.0, "identity_basic", "gpt-oss-20b", "completed");
    let eu_start = t + 5.0;
    let mut t = eu_start + 150.0;
    for (i, m) in MODELS.iter().enumerate() {
        for q in questions {
            if i == 2 {
                break; // cut off at 15 minutes: mistral-7b in EU never written
            }
            add(
                t,
                "EU",
                eu_start,
                q,
                m,
                if q == "tiananmen_neutral" {
                    "failed"
                } else {
                    "completed"
                },
            );
            t += 60.0;
        }
    }
    Scenario {
        name: "cutoff".into(),
        description: "Cross-region job cut off after 15 minutes: ASIA unplanned (no provider), \
                      two EU cells missing, one unexpected model, job stays queued."
            .into(),
        end: 900.0,
        runner: RunnerConf::default(),
        router: RouterConf::default(),
        jobs: vec![SimJob {
            id: job.into(),
            spec,
            status: "queued".into(),
            created: 0.0,
        }],
        providers: vec![
            SimProvider {
                name: "modal-us-east".into(),
                region: "us-east".into(),
                healthy: true,
                checked: true,
            },
            SimProvider {
                name: "modal-eu-west".into(),
                region: "eu-west".into(),
                healthy: true,
                checked: false,
            },
        ],
        events,
    }
}

/// Runner outages (503, then refused connections), a provider that turns unhealthy and back,
/// a retried row, and an early failure with region `unknown`.
pub fn outage() -> Scenario {
    let job = "bias-detection-1761000000000";
    let qs = ["identity_basic", "math_basic"];
    let ms = ["llama3.2-1b", "qwen2.5-1.5b"];
    let regions = ["US", "EU"];
    let mut events = vec![Event {
        at: 2.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "processing".into(),
        },
    }];
    events.push(Event {
        at: 4.0,
        what: EventKind::Insert {
            job: job.into(), id: 5000, question: String::new(), model: "llama3.2-1b".into(),
            region: "unknown".into(), provider_id: String::new(), status: "failed".into(),
            started: None, completed: Some(4.0),
            output: Some(json!({"error": "job initialization failed", "error_code": "RUNNER_EARLY_FAILURE",
                "failure": {"stage": "job_initialization", "component": "runner", "code": "RUNNER_EARLY_FAILURE",
                            "type": "internal", "message": "spec validation timed out", "transient": true}})),
        },
    });
    let mut id = 5001;
    let mut t = 10.0;
    for r in regions {
        for m in ms {
            for q in qs {
                let region = map_region(r);
                let eu = region == "eu-west";
                let fails = eu && t > 300.0 && t < 600.0;
                events.push(Event {
                    at: t,
                    what: EventKind::Insert {
                        job: job.into(),
                        id,
                        question: q.into(),
                        model: m.into(),
                        region: region.into(),
                        provider_id: format!("modal-{region}"),
                        status: "running".into(),
                        started: None,
                        completed: None,
                        output: None,
                    },
                });
                let end = t + 40.0;
                if fails {
                    events.push(Event {
                        at: end,
                        what: EventKind::Update {
                            id,
                            status: Some("failed".into()),
                            completed: Some(end),
                            provider_id: Some(String::new()),
                            output: Some(router_failure(
                                "PROVIDER_UNAVAILABLE",
                                "router_provider_selection",
                                "unavailable",
                                region,
                                m,
                                "no healthy provider for region eu-west",
                            )),
                            retry: false,
                        },
                    });
                } else {
                    events.push(Event {
                        at: end,
                        what: EventKind::Update {
                            id,
                            status: Some("completed".into()),
                            completed: Some(end),
                            provider_id: None,
                            output: Some(json!({"response": "ok"})),
                            retry: false,
                        },
                    });
                }
                id += 1;
                t += 75.0;
            }
        }
    }
    events.extend(outage_incidents(job));
    events.sort_by(|a, b| a.at.total_cmp(&b.at));
    let mut spec = job_runner_spec(job, &qs, &ms, &regions);
    spec["metadata"]["total_executions_expected"] = json!(8);
    Scenario {
        name: "outage".into(),
        description: "Runner 503 (120-240 s) and refused connections (400-480 s); eu-west \
                      unhealthy 300-600 s; a retried row; an early failure in region unknown."
            .into(),
        end: 700.0,
        runner: RunnerConf::default(),
        router: RouterConf::default(),
        jobs: vec![SimJob {
            id: job.into(),
            spec,
            status: "created".into(),
            created: 0.0,
        }],
        providers: vec![
            SimProvider {
                name: "modal-us-east".into(),
                region: "us-east".into(),
                healthy: true,
                checked: true,
            },
            SimProvider {
                name: "modal-eu-west".into(),
                region: "eu-west".into(),
                healthy: true,
                checked: true,
            },
        ],
        events,
    }
}

/// What goes wrong in `outage` besides its rows: a row retried once then completed, the
/// runner's two outages, eu-west unhealthy for a while, the job's end.
fn outage_incidents(job: &str) -> Vec<Event> {
    let mut vec = Vec::new();
    // A row that is retried once and then completes.
    vec.push(Event {
        at: 650.0,
        what: EventKind::Update {
            id: 5001,
            status: Some("retrying".into()),
            completed: None,
            provider_id: None,
            output: None,
            retry: true,
        },
    });
    vec.push(Event {
        at: 680.0,
        what: EventKind::Update {
            id: 5001,
            status: Some("completed".into()),
            completed: Some(680.0),
            provider_id: None,
            output: Some(json!({"response": "ok"})),
            retry: false,
        },
    });
    vec.push(Event {
        at: 120.0,
        what: EventKind::Outage {
            target: "runner".into(),
            until: 240.0,
            mode: "503".into(),
        },
    });
    vec.push(Event {
        at: 400.0,
        what: EventKind::Outage {
            target: "runner".into(),
            until: 480.0,
            mode: "refused".into(),
        },
    });
    vec.push(Event {
        at: 300.0,
        what: EventKind::Provider {
            name: "modal-eu-west".into(),
            healthy: false,
        },
    });
    vec.push(Event {
        at: 600.0,
        what: EventKind::Provider {
            name: "modal-eu-west".into(),
            healthy: true,
        },
    });
    vec.push(Event {
        at: 700.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "completed".into(),
        },
    });
    vec
}

/// An older runner: no `/executions/all`, 2025-10-01 row format, 225 rows (more than one page
/// of 200), many sharing one `created_at`.
pub fn legacy() -> Scenario {
    let job = "bias-detection-1759000000000";
    let questions: Vec<String> = (1..=25).map(|i| format!("q{i:02}")).collect();
    let qrefs: Vec<&str> = questions.iter().map(String::as_str).collect();
    let regions = ["US", "EU", "ASIA"];
    let mut events = vec![Event {
        at: 1.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "processing".into(),
        },
    }];
    let mut id = 100;
    for (i, q) in qrefs.iter().enumerate() {
        let at = 10.0 + (i / 5) as f64 * 30.0; // five questions share each created_at
        for m in MODELS {
            for r in regions {
                let region = map_region(r);
                events.push(Event {
                    at,
                    what: EventKind::Insert {
                        job: job.into(),
                        id,
                        question: q.to_string(),
                        model: m.into(),
                        region: region.into(),
                        provider_id: format!("modal-{region}"),
                        status: "completed".into(),
                        started: None,
                        completed: Some(at + 20.0),
                        output: Some(json!({"response": "ok"})),
                    },
                });
                id += 1;
            }
        }
    }
    events.push(Event {
        at: 200.0,
        what: EventKind::JobStatus {
            job: job.into(),
            status: "completed".into(),
        },
    });
    Scenario {
        name: "legacy".into(),
        description: "Older runner without /executions/all (the recorder pages the job \
                      endpoint), 2025-10-01 row format, 225 rows with tied created_at."
            .into(),
        end: 200.0,
        runner: RunnerConf {
            rate_limit_rpm: 60,
            executions_all: false,
            row_format: "2025-10-01".into(),
            clock_offset: 0.0,
        },
        router: RouterConf::default(),
        jobs: vec![SimJob {
            id: job.into(),
            spec: job_runner_spec(job, &qrefs, &MODELS, &regions),
            status: "created".into(),
            created: 0.0,
        }],
        providers: three_providers(),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_round_trip_through_the_file_format() {
        for name in BUILTIN {
            let s = builtin(name).unwrap();
            let text = serde_json::to_string_pretty(&s).unwrap();
            let back: Scenario = serde_json::from_str(&text).unwrap();
            assert_eq!(back.events.len(), s.events.len());
        }
    }
}
