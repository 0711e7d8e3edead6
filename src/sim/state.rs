//! The simulated world at one scenario instant, computed by replaying the events up to it.

use super::scenario::{EventKind, Scenario};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub job: String,
    pub question: String,
    pub model: String,
    pub region: String,
    pub provider_id: String,
    pub status: String,
    pub created: f64,
    pub started: f64,
    pub completed: Option<f64>,
    pub output: Option<Value>,
    pub retry_count: u32,
    pub retry_history: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct ProviderState {
    pub name: String,
    pub region: String,
    pub healthy: bool,
    /// Scenario second of the last check; `None` = never checked.
    pub checked_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outage {
    Status(u16),
    Refused,
    Hang,
}

#[derive(Debug, Clone)]
pub struct World {
    pub job_status: BTreeMap<String, String>,
    pub rows: BTreeMap<i64, Row>,
    pub providers: Vec<ProviderState>,
    pub runner_outage: Option<Outage>,
    pub router_outage: Option<Outage>,
}

fn outage_mode(mode: &str) -> Outage {
    match mode {
        "refused" => Outage::Refused,
        "hang" => Outage::Hang,
        other => Outage::Status(other.parse().unwrap_or(503)),
    }
}

/// The world at scenario second `t` (clamped to the scenario's end).
pub fn world_at(s: &Scenario, t: f64) -> World {
    let t = t.min(s.end);
    let mut w = World {
        job_status: s
            .jobs
            .iter()
            .map(|j| (j.id.clone(), j.status.clone()))
            .collect(),
        rows: BTreeMap::new(),
        providers: s
            .providers
            .iter()
            .map(|p| ProviderState {
                name: p.name.clone(),
                region: p.region.clone(),
                healthy: p.healthy,
                checked_at: p.checked.then_some(0.0),
            })
            .collect(),
        runner_outage: None,
        router_outage: None,
    };
    for e in s.events.iter().filter(|e| e.at <= t) {
        match &e.what {
            EventKind::JobStatus { job, status } => {
                w.job_status.insert(job.clone(), status.clone());
            }
            EventKind::Insert {
                job,
                id,
                question,
                model,
                region,
                provider_id,
                status,
                started,
                completed,
                output,
            } => {
                w.rows.insert(
                    *id,
                    Row {
                        id: *id,
                        job: job.clone(),
                        question: question.clone(),
                        model: model.clone(),
                        region: region.clone(),
                        provider_id: provider_id.clone(),
                        status: status.clone(),
                        created: e.at.min(started.unwrap_or(e.at)),
                        started: started.unwrap_or(e.at),
                        completed: *completed,
                        output: output.clone(),
                        retry_count: 0,
                        retry_history: vec![],
                    },
                );
            }
            EventKind::Update {
                id,
                status,
                completed,
                output,
                provider_id,
                retry,
            } => {
                if let Some(r) = w.rows.get_mut(id) {
                    if let Some(s) = status {
                        r.status = s.clone();
                    }
                    if completed.is_some() {
                        r.completed = *completed;
                    }
                    if output.is_some() {
                        r.output = output.clone();
                    }
                    if let Some(p) = provider_id {
                        r.provider_id = p.clone();
                    }
                    if *retry {
                        r.retry_count += 1;
                        r.retry_history.push(e.at);
                    }
                }
            }
            EventKind::Outage {
                target,
                until,
                mode,
            } => {
                if t < *until {
                    let o = Some(outage_mode(mode));
                    if target == "router" {
                        w.router_outage = o;
                    } else {
                        w.runner_outage = o;
                    }
                }
            }
            EventKind::Provider { name, healthy } => {
                if let Some(p) = w.providers.iter_mut().find(|p| &p.name == name) {
                    p.healthy = *healthy;
                    p.checked_at = Some(e.at);
                }
            }
        }
    }
    w
}
