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
    let mut c = Cursor::new(s);
    c.advance(s, t);
    c.world(s, t)
}

/// Events in time order (ties in file order): the order they happen.
pub fn event_order(s: &Scenario) -> Vec<usize> {
    let mut order: Vec<usize> = (0..s.events.len()).collect();
    order.sort_by(|&a, &b| s.events[a].at.total_cmp(&s.events[b].at).then(a.cmp(&b)));
    order
}

/// The world after the events up to some time, moved forward one event at a time: a long
/// scenario (a fleet over a day) costs each request only the events since the last one.
#[derive(Debug, Clone)]
pub struct Cursor {
    order: Vec<usize>,
    /// The outage events, in order (they are in force by time, not by having happened).
    outages: Vec<usize>,
    /// Events of `order` applied so far.
    next: usize,
    /// Scenario second the cursor stands at.
    t: f64,
    world: std::sync::Arc<World>,
}

impl Cursor {
    pub fn new(s: &Scenario) -> Cursor {
        let world = World {
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
        let order = event_order(s);
        let outages = order
            .iter()
            .copied()
            .filter(|&i| matches!(s.events[i].what, EventKind::Outage { .. }))
            .collect();
        Cursor {
            order,
            outages,
            next: 0,
            t: f64::NEG_INFINITY,
            world: std::sync::Arc::new(world),
        }
    }

    /// Applies the events up to `t` (clamped to the end); going back in time starts over.
    pub fn advance(&mut self, s: &Scenario, t: f64) {
        let t = t.min(s.end);
        if t < self.t {
            *self = Cursor::new(s);
        }
        self.t = t;
        while self.next < self.order.len() && s.events[self.order[self.next]].at <= t {
            let e = &s.events[self.order[self.next]];
            apply(std::sync::Arc::make_mut(&mut self.world), e);
            self.next += 1;
        }
    }

    /// The world now, with the outages in force at `t`.
    pub fn world(&mut self, s: &Scenario, t: f64) -> World {
        (*self.shared(s, t)).clone()
    }

    /// The world now without copying it (outages set for `t`).
    pub fn shared(&mut self, s: &Scenario, t: f64) -> std::sync::Arc<World> {
        let t = t.min(s.end);
        let (mut runner, mut router) = (None, None);
        for &i in &self.outages {
            if s.events[i].at > t {
                break;
            }
            if let EventKind::Outage {
                target,
                until,
                mode,
            } = &s.events[i].what
                && t < *until
            {
                let o = Some(outage_mode(mode));
                if target == "router" {
                    router = o;
                } else {
                    runner = o;
                }
            }
        }
        if self.world.runner_outage != runner || self.world.router_outage != router {
            let w = std::sync::Arc::make_mut(&mut self.world);
            w.runner_outage = runner;
            w.router_outage = router;
        }
        self.world.clone()
    }
}

fn apply(w: &mut World, e: &super::scenario::Event) {
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
        // In force by time, not by order: `Cursor::shared` reads them.
        EventKind::Outage { .. } => {}
        EventKind::Provider { name, healthy } => {
            if let Some(p) = w.providers.iter_mut().find(|p| &p.name == name) {
                p.healthy = *healthy;
                p.checked_at = Some(e.at);
            }
        }
    }
}
