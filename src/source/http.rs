//! The HTTP source: one reqwest client with connect and total timeouts (reqwest has none by
//! default), a body cap, no redirects (a 3xx is recorded as the answer: it is evidence, and
//! following it could carry the token off `/admin/*`), and the bearer token on admin requests
//! only.
//!
//! Kept connections. A server closes a keep-alive connection that stayed idle for its own
//! timeout (uvicorn, which the router runs on: 5 s; gunicorn 2 s; nginx 75 s; Go's servers
//! 90 s or none), and a client that reuses it just then gets "connection closed" before any
//! response: the client's race, not a failure of the server. At the default 5 s interval
//! reqwest's 90 s pool hit that race with uvicorn about one request in ten. So a connection
//! is used again only within `KEEP_IDLE` of its last answer (the requests of one poll share
//! connections; polls do not), and a GET that fails before any response byte while a kept
//! connection may have been used is sent once more on a new connection. The retry is kept
//! with the request (`Fetched::retried`), never hidden; a failure on a new connection (a
//! server stopped, refusing, resetting) is a failure at once.

use super::seam::Source;
use crate::clock::Clock;
use crate::fetch::{FetchErrorKind, Fetched, Request};
use crate::redact;
use futures_util::StreamExt;
use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Total time allowed for one request, body included.
    pub timeout: Duration,
    /// Bodies larger than this are cut off and recorded as a failed fetch.
    pub body_cap: u64,
    /// Bearer token for the runner's admin routes.
    pub token: Option<String>,
}

/// A kept connection is used again only this soon after its last answer: under the shortest
/// keep-alive timeout of the common servers (gunicorn's 2 s; uvicorn's 5 s), with a margin
/// for timers.
pub const KEEP_IDLE: Duration = Duration::from_secs(1);

pub struct HttpSource {
    cfg: HttpConfig,
    client: reqwest::Client,
    /// Never keeps a connection: a retry goes on a new one.
    fresh: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// When each origin last answered (or failed): whether a kept connection may exist.
    last_used: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
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
fn parse_retry_after(v: &str, now_us: i64) -> Option<u64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(((at.timestamp_micros() - now_us) / 1_000_000).max(0) as u64)
}

/// How long a 429 asks to wait, from what the answer carries: `Retry-After`; else the runner's
/// `X-RateLimit-Reset` (an RFC 3339 time: its rate limiter sends no `Retry-After`); else the
/// `retry_after` seconds of the JSON body (its admin limiter's way).
pub(crate) fn wait_hint<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
    now_us: i64,
) -> Option<u64> {
    if let Some(s) = header("retry-after").and_then(|v| parse_retry_after(v, now_us)) {
        return Some(s);
    }
    if let Some(reset) = header("x-ratelimit-reset")
        .and_then(|v| chrono::DateTime::parse_from_rfc3339(v.trim()).ok())
    {
        return Some(((reset.timestamp_micros() - now_us) / 1_000_000).max(0) as u64);
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("retry_after")?
        .as_u64()
}

fn describe(e: &reqwest::Error) -> String {
    // Without the URL the client would quote (the request's own, credentials and all); the
    // redactor still runs over what the causes say.
    let mut msg = match e.url() {
        Some(u) => e.to_string().replace(u.as_str(), &redact::url(u)),
        None => e.to_string(),
    };
    let mut src: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    redact::in_text(&msg).into_owned()
}

fn builder(cfg: &HttpConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(
            cfg.timeout
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(100)),
        )
        .timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("beacon-blackbox/", env!("CARGO_PKG_VERSION")))
}

impl HttpSource {
    pub fn new(cfg: HttpConfig, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        install_crypto();
        let client = builder(&cfg).pool_idle_timeout(KEEP_IDLE).build()?;
        let fresh = builder(&cfg).pool_max_idle_per_host(0).build()?;
        Ok(HttpSource {
            cfg,
            client,
            fresh,
            clock,
            last_used: Default::default(),
        })
    }

    /// What must never be stored of a request: the token, the URL's password and the values
    /// of its secret-named parameters (those short enough to be any text are left: a 3-byte
    /// "secret" would redact half a body).
    fn secrets_of(&self, req: &Request) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        if let Some(t) = &self.cfg.token {
            out.push(t.as_bytes().to_vec());
        }
        if let Some(p) = req.url.password() {
            out.push(p.as_bytes().to_vec());
            let decoded = percent_encoding::percent_decode_str(p).collect::<Vec<u8>>();
            out.push(decoded);
        }
        for (k, v) in req.url.query_pairs() {
            if redact::is_secret_name(&k) {
                out.push(v.as_bytes().to_vec());
            }
        }
        out.retain(|s| s.len() >= 4);
        out.sort();
        out.dedup();
        out
    }

    fn origin(url: &reqwest::Url) -> String {
        url.origin().ascii_serialization()
    }

    /// Whether a connection kept from an earlier answer of this origin may have carried a
    /// request started at `start`.
    fn maybe_kept(&self, url: &reqwest::Url, start: Instant) -> bool {
        let last = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        last.get(&Self::origin(url))
            .is_some_and(|t| start.saturating_duration_since(*t) <= KEEP_IDLE * 2)
    }

    fn used(&self, url: &reqwest::Url) {
        let mut last = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        last.insert(Self::origin(url), Instant::now());
    }

    /// Sends the request; once more on a new connection when it failed before any response
    /// while a kept connection may have been used. Returns the answer or the last error, the
    /// first attempt's error when there was a second, and when the answering attempt was sent.
    async fn send(
        &self,
        req: &Request,
    ) -> (
        Result<reqwest::Response, reqwest::Error>,
        Option<(FetchErrorKind, String)>,
        Instant,
        i64,
    ) {
        let build = |client: &reqwest::Client| {
            let mut r = client.get(req.url.clone());
            // The token goes to admin requests only, and never into a Fetched. Redirects are
            // not followed, so it cannot travel on from there.
            if let Some(token) = &self.cfg.token
                && req.kind.is_admin()
            {
                r = r.bearer_auth(token);
            }
            r
        };
        let start = Instant::now();
        let sent_at = self.clock.now_us();
        let kept = self.maybe_kept(&req.url, start);
        let first = build(&self.client).send().await;
        let retry = match &first {
            Err(e) if kept && classify(e) == FetchErrorKind::ConnectionClosed => {
                Some((FetchErrorKind::ConnectionClosed, describe(e)))
            }
            _ => None,
        };
        let Some(first_error) = retry else {
            self.used(&req.url);
            return (first, None, start, sent_at);
        };
        tracing::debug!(url = %redact::url(&req.url), error = %first_error.1, "closed on a kept connection; sent again on a new one");
        let start = Instant::now();
        let sent_at = self.clock.now_us();
        let second = build(&self.fresh).send().await;
        self.used(&req.url);
        (second, Some(first_error), start, sent_at)
    }

    async fn get(&self, req: Request) -> Fetched {
        let shown = redact::url(&req.url);
        let (sent, retried, start, sent_at) = self.send(&req).await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let msg = describe(&e);
                tracing::debug!(url = %shown, error = %msg, "request failed");
                let mut f = Fetched::failed(&req, classify(&e), msg);
                f.latency_us = start.elapsed().as_micros() as u64;
                f.sent_at_us = Some(sent_at);
                f.retried = retried;
                return f;
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = headers
            .get(reqwest::header::LOCATION)
            .map(|v| redact::url_text(&String::from_utf8_lossy(v.as_bytes())));
        let date_us = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v.trim()).ok())
            .map(|d| d.timestamp_micros());
        let mut f = Fetched {
            kind: req.kind,
            job: req.job.clone(),
            url: shown,
            status: Some(status),
            latency_us: 0,
            content_type,
            body: None,
            error: None,
            retry_after: None,
            location,
            date_us,
            sent_at_us: Some(sent_at),
            retried,
            secrets_removed: 0,
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
        if status == 429 {
            // A reset time is on the server's clock: read against its own `Date` (a runner
            // clock minutes behind would otherwise make every wait zero).
            f.retry_after = wait_hint(
                |name| headers.get(name).and_then(|v| v.to_str().ok()),
                &body,
                f.date_us.unwrap_or_else(|| self.clock.now_us()),
            );
        }
        tracing::debug!(url = %f.url, status, bytes = body.len(), latency_us = f.latency_us, "fetched");
        // A server that echoes the request (its headers, its URL) must not get the token or a
        // password into the recording: replaced before anything keeps the body.
        f.secrets_removed = remove_secrets(&mut body, &self.secrets_of(&req));
        f.body = Some(body);
        f
    }
}

impl Source for HttpSource {
    fn fetch(&self, req: Request) -> impl std::future::Future<Output = Fetched> + Send {
        self.get(req)
    }
}

/// Replaces every occurrence of each secret in `body` with `REDACTED`; how many there were.
/// A body without one (nearly all) is only searched, never copied.
pub(crate) fn remove_secrets(body: &mut Vec<u8>, secrets: &[Vec<u8>]) -> u32 {
    let mut n = 0;
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        let finder = memchr::memmem::Finder::new(s);
        if finder.find(body).is_none() {
            continue;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut last = 0;
        for at in finder.find_iter(body) {
            out.extend_from_slice(&body[last..at]);
            out.extend_from_slice(redact::REDACTED.as_bytes());
            last = at + s.len();
            n += 1;
        }
        out.extend_from_slice(&body[last..]);
        *body = out;
    }
    n
}

/// Makes rustls' ring provider the process' TLS crypto (once; reqwest is built without one).
/// Every HTTP client of the process needs it before it is built.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Already set by someone else: theirs stays.
        // rustls 0.23.48 deprecates ring's provider (no post-quantum key exchange); ring is kept
        // on purpose: aws-lc-rs is a long C and assembly build, and the recorder talks to
        // Beacon's own services. `cargo install --locked` builds the tested 0.23.46.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_secrets_are_removed_and_counted() {
        let mut b =
            br#"{"headers":{"authorization":"Bearer s3cr3t-t0ken"},"url":"/x?token=s3cr3t-t0ken"}"#
                .to_vec();
        assert_eq!(remove_secrets(&mut b, &[b"s3cr3t-t0ken".to_vec()]), 2);
        let t = String::from_utf8(b).unwrap();
        assert!(
            !t.contains("s3cr3t") && t.contains("Bearer REDACTED"),
            "{t}"
        );
        let mut clean = b"nothing here".to_vec();
        assert_eq!(remove_secrets(&mut clean, &[b"s3cr3t".to_vec()]), 0);
        assert_eq!(clean, b"nothing here");
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .timestamp_micros();
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

    /// The runner's own limiter sends `X-RateLimit-Reset`, its admin limiter a body field.
    #[test]
    fn wait_hints_of_the_real_runner() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-10-01T10:00:00Z")
            .unwrap()
            .timestamp_micros();
        let reset = |n: &str| (n == "x-ratelimit-reset").then_some("2025-10-01T10:00:07Z");
        assert_eq!(wait_hint(reset, b"", now), Some(7));
        let body = br#"{"error":"rate_limit_exceeded","retry_after":10}"#;
        assert_eq!(wait_hint(|_| None, body, now), Some(10));
        assert_eq!(wait_hint(|_| None, b"{}", now), None);
    }
}
