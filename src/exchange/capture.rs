//! Captures made without the recorder — a response body saved by `curl` (`-o`, or `-i` with
//! its status line and headers), a browser's HAR file — read into the fetches a recorder would
//! have made, so that they go through the same normalise step and every read command works on
//! them.
//!
//! Which endpoint a capture is comes from its URL's path (after any prefix): `/api/v1/jobs/ID`
//! (`?include=executions`: the default view; with `exec_limit`/`exec_offset`: a page),
//! `/api/v1/jobs/ID/executions/all`, `/api/v1/jobs`, `/providers`, `/health` (the router's if
//! its body has `providers_total`, the runner's if it has `services`; a body with neither, such
//! as a 503's error text, goes with the other captures from its origin, else the runner's), `/health/ready`, `/ready`, `/metrics`,
//! `/debug/...`, `/queue/status`, `/admin/queue-stats`, `/admin/stuck-jobs`. Anything else is
//! an `endpoint` named by its path.

use crate::fetch::{Fetched, SourceKind};
use reqwest::Url;

/// A capture, ready to store.
#[derive(Debug, Clone)]
pub struct Capture {
    pub fetched: Fetched,
    /// When it was answered, µs since the epoch.
    pub at_us: i64,
    /// Where it came from and how its time was decided (said in the report).
    pub origin: String,
}

/// The endpoint of a URL (and the job it is about).
pub fn kind_of(url: &Url, body: &[u8]) -> (SourceKind, Option<String>) {
    let path = url.path().trim_end_matches('/');
    let q = |k: &str| url.query_pairs().any(|(n, _)| n == k);
    let decode = percent_decode;
    if let Some(i) = path.find("/api/v1/jobs") {
        let rest = &path[i + "/api/v1/jobs".len()..];
        let segs: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        return match segs.as_slice() {
            [""] => (SourceKind::RunnerJobs, None),
            [id] if q("exec_limit") || q("exec_offset") => {
                (SourceKind::RunnerJobPage, Some(decode(id)))
            }
            [id] => (SourceKind::RunnerJobDefault, Some(decode(id))),
            [id, "executions", "all"] => (SourceKind::RunnerExecAll, Some(decode(id))),
            _ => (SourceKind::Custom, None),
        };
    }
    let ends = |s: &str| path.ends_with(s);
    let kind = if ends("/health/ready") {
        SourceKind::RunnerReady
    } else if ends("/health") {
        health_says(body).unwrap_or(SourceKind::RunnerHealth)
    } else if ends("/providers") {
        SourceKind::RouterProviders
    } else if ends("/admin/queue-stats") {
        SourceKind::RunnerAdminQueue
    } else if ends("/admin/stuck-jobs") {
        SourceKind::RunnerStuckJobs
    } else if ends("/metrics") {
        SourceKind::RouterMetrics
    } else if ends("/debug/providers") {
        SourceKind::RouterDebugProviders
    } else if ends("/debug/startup-status") {
        SourceKind::RouterStartup
    } else if ends("/debug/health-check-history") {
        SourceKind::RouterCheckHistory
    } else if ends("/queue/status") {
        SourceKind::RouterQueue
    } else if ends("/ready") {
        SourceKind::RouterReady
    } else {
        SourceKind::Custom
    };
    (kind, None)
}

/// Whether a `/health` body says which service answered (`providers_total`: the router,
/// `services`: the runner).
fn health_says(body: &[u8]) -> Option<SourceKind> {
    let v = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    if v.get("providers_total").is_some() {
        Some(SourceKind::RouterHealth)
    } else if v.get("services").is_some() {
        Some(SourceKind::RunnerHealth)
    } else {
        None
    }
}

/// The service a capture's kind belongs to, when only one has it (`true`: the router).
fn router_side(kind: SourceKind) -> Option<bool> {
    use SourceKind::*;
    match kind {
        RouterProviders | RouterMetrics | RouterDebugProviders | RouterStartup
        | RouterCheckHistory | RouterQueue | RouterReady => Some(true),
        RunnerExecAll | RunnerJobDefault | RunnerJobPage | RunnerJobs | RunnerAdminQueue
        | RunnerReady | RunnerStuckJobs => Some(false),
        _ => None,
    }
}

fn origin_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str()?,
        u.port_or_known_default()?
    ))
}

/// Settles a `/health` whose body does not say whose it is by the captures from the same
/// origin: the router's when that origin answered only router paths, else the runner's.
pub fn settle_health(caps: &mut [Capture]) {
    let mut sides: std::collections::HashMap<String, (bool, bool)> = Default::default();
    for c in caps.iter() {
        let f = &c.fetched;
        let side = match f.kind {
            SourceKind::RouterHealth | SourceKind::RunnerHealth => f
                .body
                .as_deref()
                .and_then(health_says)
                .map(|k| k == SourceKind::RouterHealth),
            k => router_side(k),
        };
        if let (Some(router), Some(o)) = (side, origin_of(&f.url)) {
            let e = sides.entry(o).or_default();
            if router {
                e.0 = true;
            } else {
                e.1 = true;
            }
        }
    }
    for c in caps.iter_mut() {
        let f = &mut c.fetched;
        if f.kind != SourceKind::RunnerHealth || f.body.as_deref().and_then(health_says).is_some() {
            continue;
        }
        if let Some((true, false)) = origin_of(&f.url).and_then(|o| sides.get(&o).copied()) {
            f.kind = SourceKind::RouterHealth;
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The paths a capture may have (after any prefix), for the message that refuses another.
pub const KNOWN_PATHS: &str = "/api/v1/jobs/ID?include=executions, /api/v1/jobs/ID?include=executions&exec_limit=N&exec_offset=K, /api/v1/jobs/ID/executions/all, /api/v1/jobs, /health, /health/ready, /providers, /metrics, /debug/providers, /debug/startup-status, /debug/health-check-history, /queue/status, /ready, /admin/queue-stats, /admin/stuck-jobs";

/// A saved response: its status, headers and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// It started with a status line (`curl -i`).
    pub with_head: bool,
}

impl Saved {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a saved response. With `curl -i`, the status line and headers come first (after a
/// `100 Continue`, or with `-L` after a redirect and whatever body it carried, the last
/// response is the one); without, it is all body and the status is taken as 200.
pub fn parse_saved(bytes: &[u8]) -> Saved {
    let mut rest = bytes;
    let mut last: Option<Saved> = None;
    while rest.starts_with(b"HTTP/") {
        let Some(end) = find(rest, b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| find(rest, b"\n\n").map(|i| (i, 2)))
        else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..end.0]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        rest = &rest[end.0 + end.1..];
        let saved = Saved {
            status,
            headers,
            body: Vec::new(),
            with_head: true,
        };
        // A redirect `curl -L` followed: its own body (by its length, else up to the next
        // status line) comes before the next response.
        if (300..400).contains(&status) && saved.header("location").is_some() {
            let len = saved
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok());
            let next = len
                .filter(|&n| rest.get(n..).is_some_and(|r| r.starts_with(b"HTTP/")))
                .or_else(|| find(rest, b"HTTP/"));
            if let Some(n) = next {
                rest = &rest[n..];
                last = Some(saved);
                continue;
            }
        }
        last = Some(saved);
        // Another response follows (a 1xx).
        if !rest.starts_with(b"HTTP/") {
            break;
        }
    }
    match last {
        Some(mut s) => {
            s.body = rest.to_vec();
            s
        }
        None => Saved {
            status: 200,
            headers: Vec::new(),
            body: bytes.to_vec(),
            with_head: false,
        },
    }
}

/// A body as its `Content-Encoding` says it was sent (curl keeps it so without
/// `--compressed`), decoded; a gzip body saved without its head is told by its magic bytes.
/// `None` when nothing was to decode; `Err` when it does not decode.
pub fn decode_body(saved: &Saved) -> Result<Option<(Vec<u8>, &'static str)>, String> {
    use std::io::Read;
    let enc = saved
        .header("content-encoding")
        .map(|e| e.trim().to_ascii_lowercase());
    let enc = match enc.as_deref() {
        Some("gzip") | Some("x-gzip") => "gzip",
        Some("deflate") => "deflate",
        Some("br") => "br",
        Some("identity") | Some("") | None if saved.body.starts_with(&[0x1f, 0x8b]) => "gzip",
        Some("identity") | Some("") | None => return Ok(None),
        Some(other) => {
            return Err(format!(
                "its Content-Encoding {other:?} is not one this version reads"
            ));
        }
    };
    let mut out = Vec::new();
    let limit = 256u64 << 20;
    let read = match enc {
        "gzip" => flate2::read::MultiGzDecoder::new(saved.body.as_slice())
            .take(limit)
            .read_to_end(&mut out),
        // Servers send zlib-wrapped deflate; a few raw.
        "deflate" => flate2::read::ZlibDecoder::new(saved.body.as_slice())
            .take(limit)
            .read_to_end(&mut out)
            .or_else(|_| {
                out.clear();
                flate2::read::DeflateDecoder::new(saved.body.as_slice())
                    .take(limit)
                    .read_to_end(&mut out)
            }),
        _ => brotli_decompressor::Decompressor::new(saved.body.as_slice(), 4096)
            .take(limit)
            .read_to_end(&mut out),
    };
    match read {
        Ok(_) if out.len() as u64 >= limit => Err(format!(
            "its {enc} body decodes to more than {} MiB",
            limit >> 20
        )),
        Ok(_) => Ok(Some((out, enc))),
        Err(e) => Err(format!("its body does not decode as {enc}: {e}")),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A `Date` header as µs since the epoch.
pub fn http_date(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(s)
        .ok()
        .map(|d| d.timestamp_micros())
}

fn fetched(url: &Url, saved: &Saved, latency_us: u64, at_us: i64) -> Fetched {
    let (kind, job) = kind_of(url, &saved.body);
    Fetched {
        kind,
        job,
        url: crate::redact::url(url),
        status: Some(saved.status),
        latency_us,
        content_type: saved.header("content-type").map(str::to_string),
        body: Some(saved.body.clone()),
        error: None,
        retry_after: None,
        location: saved.header("location").map(crate::redact::url_text),
        date_us: saved.header("date").and_then(http_date).or(Some(at_us)),
        sent_at_us: None,
        retried: None,
        secrets_removed: 0,
    }
}

/// One saved response. Its time: `at` when given, else its `Date` header, else the file's
/// modification time.
pub fn from_file(
    name: &str,
    bytes: &[u8],
    url: &Url,
    at: Option<i64>,
    mtime_us: Option<i64>,
) -> Result<Capture, String> {
    let mut saved = parse_saved(bytes);
    let decoded = decode_body(&saved).map_err(|e| format!("{name}: {e}"))?;
    if let Some((body, _)) = &decoded {
        saved.body = body.clone();
        saved
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-encoding"));
    }
    if kind_of(url, &saved.body).0 == SourceKind::Custom {
        return Err(format!(
            "{name}: {} is not an endpoint of the runner or router this version reads (their paths: {KNOWN_PATHS})",
            crate::redact::url(url)
        ));
    }
    if !saved.with_head && bytes.starts_with(b"HTTP/") {
        return Err(format!(
            "{name}: its head (as `curl -i` saves it) has no end (a blank line); the capture looks cut"
        ));
    }
    if saved.with_head && !(100..=599).contains(&saved.status) {
        return Err(format!(
            "{name}: its status line has no HTTP status (100 to 599)"
        ));
    }
    let (at_us, how) = match (at, saved.header("date").and_then(http_date), mtime_us) {
        (Some(t), _, _) => (t, "time given"),
        (None, Some(t), _) => (t, "time from its Date header"),
        (None, None, Some(t)) => (t, "time from the file's modification time"),
        (None, None, None) => return Err(format!("{name}: no time (give --at)")),
    };
    Ok(Capture {
        fetched: fetched(url, &saved, 0, at_us),
        at_us,
        origin: format!(
            "{name}: {} ({how}{})",
            crate::redact::url(url),
            decoded.map_or(String::new(), |(_, enc)| format!(
                "; its {enc} body decoded"
            ))
        ),
    })
}

/// Every GET of a HAR file to a runner or router path, at its recorded time; the number of
/// entries left out (other methods, other paths, unreadable entries).
/// What a HAR file gave: its captures, the entries left out because they are not ours (not a
/// GET to a runner or router path), and the entries of ours that could not be read, each with
/// why (these go into the session's origin: nothing is dropped without a word).
#[derive(Debug, Default)]
pub struct Har {
    pub captures: Vec<Capture>,
    pub not_ours: usize,
    pub unreadable: Vec<String>,
}

/// The longest time a HAR entry may say a request took: a day.
const MAX_HAR_MS: f64 = 86_400_000.0;

pub fn from_har(name: &str, bytes: &[u8]) -> Result<Har, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{name} is not a HAR file: {e}"))?;
    let entries = v
        .pointer("/log/entries")
        .and_then(|e| e.as_array())
        .ok_or_else(|| format!("{name} is not a HAR file: no log.entries"))?;
    let mut out = Har::default();
    for (n, e) in entries.iter().enumerate() {
        match har_entry(name, e) {
            Ok(c) => out.captures.push(c),
            Err(Skip::NotOurs) => out.not_ours += 1,
            Err(Skip::Unreadable(why)) => out.unreadable.push(format!(
                "{name}: entry {} ({}) not imported: {why}",
                n + 1,
                e.pointer("/request/url")
                    .and_then(|u| u.as_str())
                    .map_or_else(|| "no URL".into(), crate::redact::url_text)
            )),
        }
    }
    Ok(out)
}

/// Why a HAR entry gave no capture.
enum Skip {
    /// Not a GET to a runner or router path.
    NotOurs,
    /// Ours, but it cannot be read: why.
    Unreadable(String),
}

/// One HAR entry as a capture.
fn har_entry(name: &str, e: &serde_json::Value) -> Result<Capture, Skip> {
    use Skip::*;
    let bad = |why: &str| Unreadable(why.to_string());
    let req = e.get("request").ok_or(NotOurs)?;
    if req.get("method").and_then(|m| m.as_str()) != Some("GET") {
        return Err(NotOurs);
    }
    let url = req
        .get("url")
        .and_then(|u| u.as_str())
        .and_then(|u| Url::parse(u).ok())
        .ok_or(NotOurs)?;
    let res = e.get("response").ok_or_else(|| bad("no response"))?;
    // A field of the wrong type is named as such (`"status": "200"`).
    for (field, v, want) in [
        ("response.status", res.get("status"), "a number"),
        ("time", e.get("time"), "a number"),
        ("startedDateTime", e.get("startedDateTime"), "a string"),
        (
            "response.content.text",
            res.pointer("/content/text"),
            "a string",
        ),
        (
            "response.content.size",
            res.pointer("/content/size"),
            "a number",
        ),
        (
            "response.content.encoding",
            res.pointer("/content/encoding"),
            "a string",
        ),
        ("response.headers", res.get("headers"), "an array"),
    ] {
        if let Some(v) = v.filter(|v| !v.is_null())
            && json_type(v) != want
        {
            return Err(bad(&format!("its {field} is {}, not {want}", json_type(v))));
        }
    }
    let content = res.get("content");
    let text = content.and_then(|c| c.get("text")).and_then(|t| t.as_str());
    let body = match (text, content.and_then(|c| c.get("encoding"))) {
        (Some(t), Some(enc)) if enc.as_str() == Some("base64") => {
            base64_decode(t).ok_or_else(|| bad("its base64 body does not decode"))?
        }
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, _) => Vec::new(),
    };
    let (kind, _) = kind_of(&url, &body);
    if kind == SourceKind::Custom {
        return Err(NotOurs);
    }
    let at_us = e
        .get("startedDateTime")
        .and_then(|t| t.as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp_micros())
        .ok_or_else(|| bad("its startedDateTime is not an RFC 3339 time"))?;
    let status = res.get("status").and_then(|s| s.as_u64()).unwrap_or(0);
    if status == 0 {
        return Err(bad(
            "no answer was recorded (status 0: blocked, aborted or cached)",
        ));
    }
    if !(100..=599).contains(&status) {
        return Err(bad("its status is not an HTTP status (100 to 599)"));
    }
    if status == 304 {
        return Err(bad("304 Not Modified: the browser used its cached copy"));
    }
    let size = content
        .and_then(|c| c.get("size"))
        .and_then(|s| s.as_i64())
        .unwrap_or(0);
    // No text, or an empty one for a body that had a size: the browser kept no body
    // (every endpoint we read answers with one).
    if text.is_none() || (text == Some("") && size != 0) {
        return Err(bad("the browser did not save its body"));
    }
    // A negative time is the HAR way of saying "not known".
    let ms = e
        .get("time")
        .and_then(|t| t.as_f64())
        .unwrap_or(0.0)
        .max(0.0);
    if !(0.0..=MAX_HAR_MS).contains(&ms) {
        return Err(bad("its time is out of range (more than a day)"));
    }
    let headers = res
        .get("headers")
        .and_then(|h| h.as_array())
        .map(|h| {
            h.iter()
                .filter_map(|x| {
                    Some((
                        x.get("name")?.as_str()?.to_string(),
                        x.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let saved = Saved {
        status: status as u16,
        headers,
        body,
        with_head: true,
    };
    Ok(Capture {
        fetched: fetched(&url, &saved, (ms * 1000.0) as u64, at_us),
        at_us,
        origin: format!(
            "{name}: {} (time from the HAR entry)",
            crate::redact::url(&url)
        ),
    })
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const HAR: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    HAR.decode(clean).ok()
}

/// What a JSON value is, for a message about a field of the wrong type.
fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_endpoint() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            kind_of(&u("http://r/api/v1/jobs/j%201?include=executions"), b""),
            (SourceKind::RunnerJobDefault, Some("j 1".into()))
        );
        assert_eq!(
            kind_of(&u("http://r/beacon/api/v1/jobs/j/executions/all"), b"").0,
            SourceKind::RunnerExecAll
        );
        assert_eq!(
            kind_of(
                &u("http://r/api/v1/jobs/j?include=executions&exec_limit=200"),
                b""
            )
            .0,
            SourceKind::RunnerJobPage
        );
        assert_eq!(
            kind_of(&u("http://r/api/v1/jobs?limit=5"), b"").0,
            SourceKind::RunnerJobs
        );
        assert_eq!(
            kind_of(
                &u("http://x/health"),
                br#"{"status":"healthy","providers_total":2}"#
            )
            .0,
            SourceKind::RouterHealth
        );
        assert_eq!(
            kind_of(
                &u("http://x/health"),
                br#"{"status":"healthy","services":[]}"#
            )
            .0,
            SourceKind::RunnerHealth
        );
        assert_eq!(kind_of(&u("http://x/who/knows"), b"").0, SourceKind::Custom);
    }

    #[test]
    fn a_health_that_does_not_say_whose_goes_with_its_origin() {
        let cap = |url: &str, body: &[u8]| {
            let u = Url::parse(url).unwrap();
            let saved = Saved {
                status: 503,
                headers: vec![],
                body: body.to_vec(),
                with_head: false,
            };
            Capture {
                fetched: fetched(&u, &saved, 0, 0),
                at_us: 0,
                origin: String::new(),
            }
        };
        let mut caps = vec![
            cap("http://router.example/health", b"upstream down"),
            cap("http://router.example/providers", b"[]"),
            cap("http://runner.example:8090/health", b"oops"),
            cap(
                "http://runner.example:8090/api/v1/jobs/j/executions/all",
                b"[]",
            ),
            cap("http://alone.example/health", b""),
            cap("http://both.example/health", b""),
            cap("http://both.example/providers", b"[]"),
            cap("http://both.example/api/v1/jobs", b"[]"),
        ];
        settle_health(&mut caps);
        let kinds: Vec<SourceKind> = caps.iter().map(|c| c.fetched.kind).collect();
        assert_eq!(kinds[0], SourceKind::RouterHealth);
        assert_eq!(kinds[2], SourceKind::RunnerHealth);
        assert_eq!(kinds[4], SourceKind::RunnerHealth);
        assert_eq!(kinds[5], SourceKind::RunnerHealth);
    }

    #[test]
    fn curl_i_output_is_read_with_its_head() {
        let s = parse_saved(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/2 503 \r\ndate: Wed, 01 Oct 2025 10:00:00 GMT\r\ncontent-type: application/json\r\n\r\n{\"error\":\"x\"}");
        assert_eq!(s.status, 503);
        assert_eq!(s.header("Date"), Some("Wed, 01 Oct 2025 10:00:00 GMT"));
        assert_eq!(s.body, b"{\"error\":\"x\"}");
        assert_eq!(
            http_date("Wed, 01 Oct 2025 10:00:00 GMT"),
            Some(1_759_312_800_000_000)
        );
        let plain = parse_saved(b"{\"a\":1}");
        assert_eq!((plain.status, plain.with_head), (200, false));
        assert_eq!(base64_decode("eyJhIjoxfQ==").unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn a_cut_head_or_an_odd_status_is_refused() {
        let url = Url::parse("http://r/api/v1/jobs/j/executions/all").unwrap();
        let cut = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n";
        let e = from_file("t.txt", cut, &url, Some(0), None).unwrap_err();
        assert!(e.contains("looks cut"), "{e}");
        let odd = b"HTTP/1.1 1 X\r\n\r\n{}";
        let e = from_file("o.txt", odd, &url, Some(0), None).unwrap_err();
        assert!(e.contains("100 to 599"), "{e}");
        assert!(from_file("ok.txt", b"HTTP/1.1 200 OK\r\n\r\n{}", &url, Some(0), None).is_ok());
    }

    #[test]
    fn har_entries_of_ours_that_cannot_be_read_are_named_not_dropped() {
        let entry = |status: &str, time: &str, content: &str, started: &str| {
            format!(
                r#"{{"startedDateTime":"{started}","time":{time},"request":{{"method":"GET","url":"http://r/api/v1/jobs/j/executions/all?token=s3cret"}},"response":{{"status":{status},"headers":[],"content":{content}}}}}"#
            )
        };
        let t = "2025-10-01T10:00:00Z";
        let body = r#"{"text":"{\"executions\":[]}"}"#;
        let entries = [
            entry("200", "12", body, t),
            entry("0", "12", body, t),
            entry("70200", "12", body, t),
            entry("200", "1e300", body, t),
            entry("200", "12", r#"{"size":5000}"#, t),
            entry("200", "12", r#"{"text":"!!","encoding":"base64"}"#, t),
            entry("200", "12", body, "garbage"),
            entry("200", "12", r#"{"text":"","size":7128}"#, t),
            entry("200", "12", r#"{"size":-1}"#, t),
            entry("304", "12", r#"{"size":0}"#, t),
            entry("200", "-1", body, t),
            r#"{"request":{"method":"POST","url":"http://r/api/v1/jobs"},"response":{}}"#.into(),
            r#"{"request":{"method":"GET","url":"http://cdn/app.js"},"response":{}}"#.into(),
        ];
        let har = format!(r#"{{"log":{{"entries":[{}]}}}}"#, entries.join(","));
        let h = from_har("a.har", har.as_bytes()).unwrap();
        assert_eq!(h.captures.len(), 2);
        assert_eq!(h.captures[0].fetched.latency_us, 12_000);
        assert_eq!(
            h.captures[1].fetched.latency_us, 0,
            "a time of -1 is not known"
        );
        assert_eq!(h.not_ours, 2);
        let whys = h.unreadable.join("\n");
        assert_eq!(h.unreadable.len(), 9, "{whys}");
        assert!(
            whys.contains("entry 9 ") && whys.contains("entry 10 "),
            "{whys}"
        );
        assert!(whys.contains("304 Not Modified"), "{whys}");
        for why in [
            "entry 2 ",
            "status 0",
            "entry 3 ",
            "not an HTTP status",
            "time is out of range",
            "did not save its body",
            "does not decode",
            "not an RFC 3339 time",
        ] {
            assert!(whys.contains(why), "{why}: {whys}");
        }
        assert!(!whys.contains("s3cret"), "{whys}");
    }
}
