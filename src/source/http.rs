//! The HTTP source: one reqwest client with connect and total timeouts (reqwest has none by
//! default), a body cap, no redirects (a 3xx is recorded as the answer: it is evidence, and
//! following it could carry the token off `/admin/*`), and the bearer token on admin requests
//! only.

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

pub struct HttpSource {
    cfg: HttpConfig,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
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

impl HttpSource {
    pub fn new(cfg: HttpConfig, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        install_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(
                cfg.timeout
                    .min(Duration::from_secs(5))
                    .max(Duration::from_millis(100)),
            )
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("beacon-blackbox/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpSource { cfg, client, clock })
    }

    async fn get(&self, req: Request) -> Fetched {
        let shown = redact::url(&req.url);
        let mut r = self.client.get(req.url.clone());
        // The token goes to admin requests only, and never into a Fetched. Redirects are not
        // followed, so it cannot travel on from there.
        if let Some(token) = &self.cfg.token
            && req.kind.is_admin()
        {
            r = r.bearer_auth(token);
        }
        let start = Instant::now();
        let resp = match r.send().await {
            Ok(r) => r,
            Err(e) => {
                let msg = describe(&e);
                tracing::debug!(url = %shown, error = %msg, "request failed");
                let mut f = Fetched::failed(&req, classify(&e), msg);
                f.latency_us = start.elapsed().as_micros() as u64;
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
            f.retry_after = wait_hint(
                |name| headers.get(name).and_then(|v| v.to_str().ok()),
                &body,
                self.clock.now_us(),
            );
        }
        tracing::debug!(url = %f.url, status, bytes = body.len(), latency_us = f.latency_us, "fetched");
        f.body = Some(body);
        f
    }
}

impl Source for HttpSource {
    fn fetch(&self, req: Request) -> impl std::future::Future<Output = Fetched> + Send {
        self.get(req)
    }
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
