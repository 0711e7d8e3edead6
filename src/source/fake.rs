//! A scripted source: answers from a script of (time, request) -> reply or fault, on the
//! recorder's own clock, and logs every request it gets. With a `ManualClock` the whole poll
//! loop runs without sockets or sleeps: a reply's latency advances the clock.

use super::seam::Source;
use crate::clock::Clock;
use crate::fetch::{FetchErrorKind, Fetched, Request};
use std::sync::{Arc, Mutex};

/// What the fake answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// How long the request takes, in the clock's µs.
    pub latency_us: i64,
    /// A failure without a response (the status and body are then ignored).
    pub fault: Option<FetchErrorKind>,
    /// For a 429: seconds to wait, as a `Retry-After` would say.
    pub retry_after: Option<u64>,
    /// The server's clock as its `Date` header would say it (µs since the epoch).
    pub date_us: Option<i64>,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            body: body.into().into_bytes(),
            latency_us: 1_000,
            fault: None,
            retry_after: None,
            date_us: None,
        }
    }

    pub fn fault(kind: FetchErrorKind) -> Self {
        Reply {
            status: 0,
            body: Vec::new(),
            latency_us: 1_000,
            fault: Some(kind),
            retry_after: None,
            date_us: None,
        }
    }

    /// The runner's 429, with or without a wait.
    pub fn too_many(retry_after: Option<u64>) -> Self {
        Reply {
            retry_after,
            ..Reply::json(
                429,
                r#"{"error":{"type":"rate_limited","message":"Too many requests. Please slow down.","code":"RATE_LIMIT_EXCEEDED"}}"#,
            )
        }
    }

    pub fn after_us(mut self, latency_us: i64) -> Self {
        self.latency_us = latency_us;
        self
    }

    /// The answer's `Date` header, as the server's clock has it (µs since the epoch).
    pub fn dated(mut self, date_us: i64) -> Self {
        self.date_us = Some(date_us);
        self
    }
}

type Respond = dyn Fn(i64, &Request) -> Reply + Send + Sync;

/// One line of a script: from `from_us` (inclusive) until `until_us` (exclusive), requests whose
/// URL path and query contain `path` get `reply`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub from_us: i64,
    pub until_us: i64,
    pub path: String,
    pub reply: Reply,
}

pub struct FakeSource {
    clock: Arc<dyn Clock>,
    respond: Box<Respond>,
    log: Mutex<Vec<(i64, Request)>>,
}

impl FakeSource {
    /// Answers with `respond(now_us, request)`.
    pub fn new(
        clock: Arc<dyn Clock>,
        respond: impl Fn(i64, &Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        FakeSource {
            clock,
            respond: Box::new(respond),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Answers from a script: the first rule that matches, else 404.
    pub fn script(clock: Arc<dyn Clock>, rules: Vec<Rule>) -> Self {
        Self::new(clock, move |now, req| {
            let pq = match req.url.query() {
                Some(q) => format!("{}?{q}", req.url.path()),
                None => req.url.path().to_string(),
            };
            rules
                .iter()
                .find(|r| now >= r.from_us && now < r.until_us && pq.contains(&r.path))
                .map_or_else(
                    || Reply::json(404, r#"{"error":"not found"}"#),
                    |r| r.reply.clone(),
                )
        })
    }

    /// Every request received, with the clock's time when it came.
    pub fn requests(&self) -> Vec<(i64, Request)> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn answer(&self, req: Request) -> Fetched {
        let now = self.clock.now_us();
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((now, req.clone()));
        let reply = (self.respond)(now, &req);
        self.clock.sleep_us(reply.latency_us).await;
        let latency_us = reply.latency_us.max(0) as u64;
        if let Some(kind) = reply.fault {
            let mut f = Fetched::failed(&req, kind, format!("scripted {}", kind.name()));
            f.latency_us = latency_us;
            f.sent_at_us = Some(now);
            return f;
        }
        Fetched {
            kind: req.kind,
            job: req.job.clone(),
            url: crate::redact::url(&req.url),
            status: Some(reply.status),
            latency_us,
            content_type: Some("application/json".into()),
            body: Some(reply.body),
            error: None,
            retry_after: reply.retry_after,
            location: None,
            date_us: reply.date_us,
            sent_at_us: Some(now),
            retried: None,
            secrets_removed: 0,
        }
    }
}

impl Source for FakeSource {
    fn fetch(&self, req: Request) -> impl std::future::Future<Output = Fetched> + Send {
        self.answer(req)
    }
}
