//! The HTTP source: one reqwest client with connect and total timeouts (reqwest has none by
//! default), a body cap, the runner rate budget, and the request plan of one poll.

use super::{FetchErrorKind, Fetched, RateBudget, SourceKind, strip_credentials};
use futures_util::StreamExt;
use reqwest::Url;
use std::error::Error as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rows per page when paging the job endpoint: the runner's maximum `exec_limit`.
pub const PAGE_LIMIT: usize = 200;
/// A job of more than 50 full pages (10,000 rows) is cut off: paging is the fallback for old
/// runners, whose jobs are far smaller.
const MAX_PAGES: usize = 50;

#[derive(Debug, Clone)]
pub struct HttpSourceConfig {
    pub runner: Option<Url>,
    pub router: Option<Url>,
    pub jobs: Vec<String>,
    pub timeout: Duration,
    pub token: Option<String>,
    pub max_runner_rpm: u32,
    pub body_cap: u64,
    /// The longest a request may wait for the rate budget before it is recorded as not sent.
    pub max_budget_wait: Duration,
}

pub struct HttpSource {
    cfg: HttpSourceConfig,
    client: reqwest::Client,
    budget: Mutex<RateBudget>,
}

fn classify(e: &reqwest::Error) -> FetchErrorKind {
    if e.is_timeout() {
        return FetchErrorKind::Timeout;
    }
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = src {
        chain.push_str(&s.to_string().to_ascii_lowercase());
        chain.push(' ');
        src = s.source();
    }
    if chain.contains("dns error")
        || chain.contains("failed to lookup")
        || chain.contains("name or service not known")
    {
        FetchErrorKind::Dns
    } else if chain.contains("refused") {
        FetchErrorKind::ConnectRefused
    } else if chain.contains("tls")
        || chain.contains("certificate")
        || chain.contains("handshake")
        || chain.contains("corrupt message")
        || chain.contains("invalidcontenttype")
        || chain.contains("rustls")
    {
        FetchErrorKind::Tls
    } else if e.is_connect() || chain.contains("reset") || chain.contains("closed") {
        FetchErrorKind::ConnectionClosed
    } else if e.is_body() || e.is_decode() {
        FetchErrorKind::BodyIncomplete
    } else {
        FetchErrorKind::Other
    }
}

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110); a date in the past means
/// "now".
fn parse_retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.with_timezone(&chrono::Utc) - now).num_seconds().max(0) as u64)
}

fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    if let Some(u) = e.url() {
        msg = msg.replace(u.as_str(), &strip_credentials(u.as_str()));
    }
    let mut src: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

impl HttpSource {
    pub fn new(cfg: HttpSourceConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(
                cfg.timeout
                    .min(Duration::from_secs(5))
                    .max(Duration::from_millis(100)),
            )
            .timeout(cfg.timeout)
            .user_agent(concat!("beacon-blackbox/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let budget = Mutex::new(RateBudget::new(cfg.max_runner_rpm.max(1)));
        Ok(HttpSource {
            cfg,
            client,
            budget,
        })
    }

    pub fn config(&self) -> &HttpSourceConfig {
        &self.cfg
    }

    /// Runner requests one poll needs at best (without fallback paging).
    pub fn runner_requests_per_poll(&self) -> u32 {
        if self.cfg.runner.is_none() {
            return 0;
        }
        self.cfg.jobs.len() as u32 * 2 + u32::from(self.cfg.token.is_some())
    }

    /// Waits for the rate budget; `Err` when the wait would be longer than allowed.
    async fn acquire_runner_slot(&self) -> Result<(), String> {
        let now = Instant::now();
        let slot = {
            let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
            let slot = b.next_slot(now);
            if slot.duration_since(now) > self.cfg.max_budget_wait {
                return Err(format!(
                    "not sent: runner rate budget ({} requests/min) allows the next request in {:.1}s",
                    self.cfg.max_runner_rpm,
                    slot.duration_since(now).as_secs_f64()
                ));
            }
            // Reserve the slot now, so concurrent requests queue behind it.
            b.take(slot);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        Ok(())
    }

    /// One GET. Never fails: every outcome is a `Fetched`.
    pub async fn get(&self, kind: SourceKind, job: Option<&str>, url: Url) -> Fetched {
        let shown = strip_credentials(url.as_str());
        let job = job.map(str::to_string);
        if kind.is_runner()
            && let Err(msg) = self.acquire_runner_slot().await
        {
            return Fetched::failed(kind, job, shown, FetchErrorKind::RateBudget, msg);
        }
        let mut req = self.client.get(url.clone());
        // The token goes to admin paths only, and never into a Fetched.
        if let Some(token) = &self.cfg.token
            && url.path().starts_with("/admin/")
        {
            req = req.bearer_auth(token);
        }
        let start = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(url = %shown, error = %describe(&e), "request failed");
                let mut f = Fetched::failed(kind, job, shown, classify(&e), describe(&e));
                f.latency_us = start.elapsed().as_micros() as u64;
                return f;
            }
        };
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        if status == 429 && kind.is_runner() {
            let wait = Duration::from_secs(retry_after.unwrap_or(60).min(3600));
            let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
            b.pause(Instant::now(), wait);
        }
        let mut f = Fetched {
            kind,
            job,
            url: shown,
            status: Some(status),
            latency_us: 0,
            content_type,
            body: None,
            error: None,
            retry_after,
        };
        if resp.content_length().is_some_and(|n| n > self.cfg.body_cap) {
            f.error = Some((
                FetchErrorKind::BodyTooLarge,
                format!(
                    "body of {} bytes is over the cap of {} bytes",
                    resp.content_length().unwrap_or(0),
                    self.cfg.body_cap
                ),
            ));
            f.latency_us = start.elapsed().as_micros() as u64;
            return f;
        }
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => {
                    if body.len() as u64 + c.len() as u64 > self.cfg.body_cap {
                        f.error = Some((
                            FetchErrorKind::BodyTooLarge,
                            format!("body over the cap of {} bytes; cut off", self.cfg.body_cap),
                        ));
                        f.latency_us = start.elapsed().as_micros() as u64;
                        return f;
                    }
                    body.extend_from_slice(&c);
                }
                Err(e) => {
                    let kind = match classify(&e) {
                        FetchErrorKind::Timeout => FetchErrorKind::Timeout,
                        _ => FetchErrorKind::BodyIncomplete,
                    };
                    f.error = Some((
                        kind,
                        format!("after {} body bytes: {}", body.len(), describe(&e)),
                    ));
                    f.latency_us = start.elapsed().as_micros() as u64;
                    return f;
                }
            }
        }
        f.latency_us = start.elapsed().as_micros() as u64;
        tracing::debug!(url = %f.url, status, bytes = body.len(), latency_us = f.latency_us, "fetched");
        f.body = Some(body);
        f
    }

    fn join(base: &Url, path: &str) -> Url {
        // Keep any path prefix of the base (a runner behind `/beacon/`), then the API path.
        let mut u = base.clone();
        let prefix = base.path().trim_end_matches('/');
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        u.set_path(&format!("{prefix}{p}"));
        u.set_query(if q.is_empty() { None } else { Some(q) });
        u
    }

    fn job_path(job: &str) -> String {
        // Job ids are plain (`bias-detection-1759330371966`); encode anything else.
        let enc: String = job
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("/api/v1/jobs/{enc}")
    }

    async fn poll_job(&self, runner: &Url, job: &str) -> Vec<Fetched> {
        let base = Self::job_path(job);
        let mut out = Vec::new();
        let all = self
            .get(
                SourceKind::RunnerExecAll,
                Some(job),
                Self::join(runner, &format!("{base}/executions/all")),
            )
            .await;
        // A 404 means "older runner without this route" (Go's plain-text "404 page not found"),
        // unless the runner says in JSON that the job does not exist: then paging is useless.
        let job_missing = all
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .is_some_and(|v| v.get("error").and_then(|e| e.as_str()) == Some("job not found"));
        let fallback = all.status == Some(404) && !job_missing;
        out.push(all);
        if fallback {
            // Older runners lack `/executions/all`: page the job endpoint at the maximum page
            // size until a short page. Rows sharing `created_at` can repeat or be skipped
            // across pages; the store de-duplicates by id.
            for page in 0..MAX_PAGES {
                let offset = page * PAGE_LIMIT;
                let f = self
                    .get(
                        SourceKind::RunnerJobPage,
                        Some(job),
                        Self::join(
                            runner,
                            &format!(
                                "{base}?include=executions&exec_limit={PAGE_LIMIT}&exec_offset={offset}"
                            ),
                        ),
                    )
                    .await;
                let rows = f
                    .ok_body()
                    .and_then(|b| crate::beacon::parse_job_view(b).ok())
                    .and_then(|v| v.executions)
                    .map(|l| l.rows.len() + l.bad_rows);
                out.push(f);
                match rows {
                    Some(n) if n >= PAGE_LIMIT => continue,
                    _ => break,
                }
            }
        }
        out.push(
            self.get(
                SourceKind::RunnerJobDefault,
                Some(job),
                Self::join(runner, &format!("{base}?include=executions")),
            )
            .await,
        );
        out
    }

    /// Every request of one poll, in a stable order: runner jobs (in the order given), admin
    /// stats, router health, router providers.
    pub async fn poll(&self) -> Vec<Fetched> {
        let runner_part = async {
            let mut out = Vec::new();
            if let Some(runner) = &self.cfg.runner {
                for job in &self.cfg.jobs {
                    out.extend(self.poll_job(runner, job).await);
                }
                if self.cfg.token.is_some() {
                    out.push(
                        self.get(
                            SourceKind::RunnerAdminQueue,
                            None,
                            Self::join(runner, "/admin/queue-stats"),
                        )
                        .await,
                    );
                }
            }
            out
        };
        let router_part = async {
            match &self.cfg.router {
                Some(router) => {
                    let (h, p) = tokio::join!(
                        self.get(
                            SourceKind::RouterHealth,
                            None,
                            Self::join(router, "/health")
                        ),
                        self.get(
                            SourceKind::RouterProviders,
                            None,
                            Self::join(router, "/providers")
                        )
                    );
                    vec![h, p]
                }
                None => Vec::new(),
            }
        };
        let (mut a, b) = tokio::join!(runner_part, router_part);
        a.extend(b);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_or_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after(" 120 ", now), Some(120));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn join_keeps_prefix_and_query() {
        let base = Url::parse("http://h:1/beacon/").unwrap();
        assert_eq!(
            HttpSource::join(&base, "/api/v1/jobs/x?include=executions").as_str(),
            "http://h:1/beacon/api/v1/jobs/x?include=executions"
        );
        assert_eq!(HttpSource::job_path("a b/c"), "/api/v1/jobs/a%20b%2Fc");
    }
}
