//! The simulator as a `Source`: the recorder's requests answered straight from the scenario
//! (`answer`), without sockets, on the simulator's clock. With a manual clock a whole scenario
//! is recorded deterministically in milliseconds; what the HTTP servers would send is what it
//! gets, refused connections and hanging requests included.

use super::play::Sim;
use super::server::{Side, answer};
use super::{Asked, SimAnswer};
use crate::fetch::{FetchErrorKind, Fetched, Request};
use crate::source::{Source, wait_hint};
use std::sync::Arc;

pub struct SimSource {
    sim: Arc<Sim>,
    /// How long a hanging request waits before it is a timeout (the recorder's `--timeout`).
    timeout_us: i64,
    /// Whether a runner token is sent (to admin requests only, as the HTTP source does).
    token: bool,
    /// The recorder's clock, when it is not the simulator's: when a request was sent is the
    /// recorder's to say.
    recorder: Option<Arc<dyn crate::clock::Clock>>,
}

impl SimSource {
    pub fn new(sim: Arc<Sim>, timeout_us: i64, token: bool) -> Self {
        SimSource {
            sim,
            timeout_us,
            token,
            recorder: None,
        }
    }

    /// The same, for a recorder whose clock is not the simulator's (a wall-clock recorder
    /// against a faster simulator).
    pub fn with_recorder_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        self.recorder = Some(clock);
        self
    }

    async fn answer(&self, req: Request) -> Fetched {
        let side = if req.kind.is_runner() {
            Side::Runner
        } else {
            Side::Router
        };
        let asked = Asked {
            client: std::net::Ipv4Addr::LOCALHOST.into(),
            path: req.url.path(),
            query: req
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            bearer: self.token && req.kind == crate::fetch::SourceKind::RunnerAdminQueue,
        };
        let clock = self.sim.clock();
        let sent_at = self.recorder.as_ref().unwrap_or(&clock).now_us();
        match answer(&self.sim, side, &asked) {
            SimAnswer::Hang => {
                clock.sleep_us(self.timeout_us).await;
                let mut f = Fetched::failed(&req, FetchErrorKind::Timeout, "timed out".into());
                f.latency_us = self.timeout_us.max(0) as u64;
                f.sent_at_us = Some(sent_at);
                f
            }
            SimAnswer::Refused => {
                let mut f = Fetched::failed(
                    &req,
                    FetchErrorKind::ConnectRefused,
                    "connection refused".into(),
                );
                f.sent_at_us = Some(sent_at);
                f
            }
            SimAnswer::Reply {
                status,
                body,
                headers,
            } => {
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.as_str())
                };
                let date_us = header("date")
                    .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
                    .map(|d| d.timestamp_micros());
                Fetched {
                    kind: req.kind,
                    job: req.job.clone(),
                    url: crate::redact::url(&req.url),
                    status: Some(status),
                    latency_us: 1_000,
                    content_type: header("content-type").map(str::to_string),
                    // The reset is on the runner's clock, as its `Date` is.
                    retry_after: (status == 429)
                        .then(|| wait_hint(header, &body, date_us.unwrap_or(clock.now_us())))
                        .flatten(),
                    body: Some(body),
                    error: None,
                    location: None,
                    date_us,
                    sent_at_us: Some(sent_at),
                    retried: None,
                    secrets_removed: 0,
                }
            }
        }
    }
}

impl Source for SimSource {
    fn fetch(&self, req: Request) -> impl std::future::Future<Output = Fetched> + Send {
        self.answer(req)
    }
}
