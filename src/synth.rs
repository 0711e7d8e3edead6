//! Synthetic recordings at scale, built through the library without HTTP: for benchmarks and
//! for trying the analysis on large jobs. Deterministic for a given seed.
//!
//! A synthetic snapshot carries fetch headers (status 200, no body: nothing was received) and
//! the job's complete list handed to the writer already parsed; everything after parsing —
//! change detection, entity versions, commits — is the real path.

use crate::beacon::{Execution, JobRec, Provider, RouterHealth, RouterRec, normalize_region};
use crate::fetch::{Fetched, Outcome, SourceKind};
use crate::normalise::{FetchNotes, JobRows, ListObs, Observations};
use crate::store::{Poll, Sharing, StoreError, Writer};
use std::path::Path;

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub executions: usize,
    pub snapshots: usize,
    /// Fraction of executions that change per snapshot.
    pub change_rate: f64,
    pub seed: u64,
    /// Commit durably (slower; what `record` does).
    pub durable: bool,
}

pub const JOB_ID: &str = "bias-detection-synthetic";
const REGIONS: [&str; 3] = ["US", "EU", "ASIA"];
const MODELS: [&str; 3] = ["llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"];
const STATUSES: [&str; 4] = ["running", "completed", "failed", "retrying"];

/// SplitMix64: tiny, deterministic, good enough to pick rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Questions needed so that questions x 3 models x 3 regions >= `executions`.
fn questions_for(executions: usize) -> usize {
    executions.div_ceil(MODELS.len() * REGIONS.len()).max(1)
}

pub fn spec_json(executions: usize) -> String {
    let qs: Vec<String> = (0..questions_for(executions))
        .map(|i| format!("q{i:05}"))
        .collect();
    serde_json::json!({
        "id": JOB_ID,
        "constraints": {"regions": REGIONS},
        "models": MODELS.iter().map(|m| serde_json::json!({"id": m, "regions": REGIONS})).collect::<Vec<_>>(),
        "questions": qs,
        "metadata": {"total_executions_expected": qs.len() * 9}
    })
    .to_string()
}

/// The initial rows: one per cell until `n`.
pub fn initial_rows(n: usize, t0_us: i64) -> Vec<Execution> {
    (0..n)
        .map(|i| {
            let region = REGIONS[i % 3];
            Execution {
                id: 100_000 + i as i64,
                job_id: Some(JOB_ID.into()),
                status: "running".into(),
                question_id: Some(compact_str::format_compact!("q{:05}", i / 9)),
                model_id: Some(MODELS[(i / 3) % 3].into()),
                region_raw: Some(region.into()),
                region: Some(normalize_region(region).into()),
                provider_id: Some(Default::default()),
                created_at: Some(t0_us),
                started_at: Some(t0_us),
                output_null: Some(true),
                retry_count: Some(0),
                max_retries: Some(3),
                ..Default::default()
            }
        })
        .collect()
}

fn router() -> RouterRec {
    RouterRec {
        health: Some(RouterHealth {
            status: Some("healthy".into()),
            version: Some("synth".into()),
            providers_total: Some(3),
            providers_healthy: Some(3),
            regions: vec!["us-east".into(), "eu-west".into(), "asia-pacific".into()],
        }),
        providers: Some(
            ["us-east", "eu-west", "asia-pacific"]
                .iter()
                .map(|r| Provider {
                    name: format!("modal-{r}"),
                    kind: Some("modal".into()),
                    region: Some(r.to_string()),
                    healthy: Some(true),
                    last_health_check: Some(1_760_000_000_000_000),
                    ..Default::default()
                })
                .collect(),
        ),
    }
}

fn headers(seq: usize) -> Vec<Fetched> {
    let f = |kind, path: &str| Fetched {
        kind,
        job: matches!(
            kind,
            SourceKind::RunnerExecAll | SourceKind::RunnerJobDefault
        )
        .then(|| JOB_ID.to_string()),
        url: format!("http://synth.invalid{path}"),
        status: Some(200),
        latency_us: 1_000 + (seq as u64 % 7) * 100,
        content_type: Some("application/json".into()),
        body: None,
        error: None,
        retry_after: None,
        location: None,
        date_us: None,
        sent_at_us: None,
        retried: None,
        secrets_removed: 0,
    };
    vec![
        f(
            SourceKind::RunnerExecAll,
            &format!("/api/v1/jobs/{JOB_ID}/executions/all"),
        ),
        f(
            SourceKind::RunnerJobDefault,
            &format!("/api/v1/jobs/{JOB_ID}?include=executions"),
        ),
        f(SourceKind::RouterHealth, "/health"),
        f(SourceKind::RouterProviders, "/providers"),
    ]
}

/// Builds the recording; returns the number of entity versions written.
pub fn build(path: &Path, o: &SynthOptions) -> Result<usize, StoreError> {
    let sharing = if o.durable {
        Sharing::Shared
    } else {
        Sharing::Exclusive
    };
    let mut w = Writer::open_with(path, sharing)?;
    w.set_durable(o.durable);
    let mut rng = Rng(o.seed);
    let t0 = 1_760_000_000_000_000i64;
    let mut rows = initial_rows(o.executions, t0);
    let spec = spec_json(o.executions);
    let per_snap = ((o.executions as f64) * o.change_rate).round() as usize;
    let mut versions = 0;
    for s in 0..o.snapshots {
        let at = t0 + s as i64 * 5_000_000;
        if s > 0 {
            for _ in 0..per_snap {
                let i = (rng.next() % rows.len().max(1) as u64) as usize;
                let r = &mut rows[i];
                r.status = STATUSES[(rng.next() % 4) as usize].into();
                r.completed_at = Some(at);
                if r.status == "failed" {
                    r.error_code = Some("ROUTER_TIMEOUT".into());
                    r.failure_stage = Some("router_http_timeout".into());
                }
                r.retry_count =
                    Some(r.retry_count.unwrap_or(0) + u32::from(r.status == "retrying"));
            }
        }
        let router = router();
        let obs = Observations {
            notes: (0..4).map(|_| FetchNotes::new(Outcome::Ok)).collect(),
            lists: vec![(
                JOB_ID.into(),
                ListObs::Complete(JobRows {
                    by_id: rows.iter().map(|r| (r.id, r.clone())).collect(),
                    extras: Vec::new(),
                }),
            )],
            views: vec![(
                JOB_ID.into(),
                JobRec {
                    found: true,
                    status: Some(
                        if s + 1 == o.snapshots {
                            "completed"
                        } else {
                            "processing"
                        }
                        .into(),
                    ),
                    spec_json: Some(spec.clone()),
                    default_rows: Some(20.min(o.executions as u32)),
                    default_ids: rows.iter().rev().take(20).map(|r| r.id).collect(),
                },
            )],
            health: router.health,
            providers: router.providers,
        };
        let poll = Poll {
            started_at: at,
            ended_at: at + 50_000,
            fetches: headers(s),
        };
        let st = w.ingest(&poll, &obs)?;
        versions += st.exec_versions + st.job_versions + st.router_versions;
    }
    Ok(versions)
}
