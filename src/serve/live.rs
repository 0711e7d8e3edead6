//! The live page: the postmortem page served over HTTP while `record --ui` records, or for any
//! file with `serve-report` (also one another process is recording). Read-only: it opens the
//! file for reading on each look and renders again only when a new snapshot has committed. The
//! page asks for a newer `<main>` every two seconds and swaps it in (no reload, no flicker).

use super::accept::{Limits, Resp};
use crate::analysis::{Recording, lanes};
use crate::present::page::{self, Live};
use crate::present::safe::term;
use crate::present::text::Ctx;
use crate::store::{Reader, StoreError, open_reader};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The page of one snapshot, rendered once.
struct Rendered {
    /// What it was rendered from: the recording's id and last seq (another file put in the
    /// path, or a new recording there, is another key).
    key: (Option<String>, u64, bool, bool),
    /// What the page asks after: the snapshot, `e` added once the recording ended.
    token: String,
    page: Bytes,
    main: Bytes,
}

pub struct LivePage {
    path: PathBuf,
    job: Option<String>,
    /// Said on the page: this process is recording the file.
    recording: bool,
    /// The recording this process ran has ended (the page says so, and stops asking).
    ended: std::sync::atomic::AtomicBool,
    cache: Mutex<Option<Arc<Rendered>>>,
    /// Bound to loopback: requests must name it (`Host`), or a web page elsewhere could read
    /// the recording through DNS rebinding.
    loopback: std::sync::atomic::AtomicBool,
    /// `/metrics`, when this process records.
    metrics: Mutex<Option<Arc<super::metrics::Metrics>>>,
    /// When the file was last looked at, and whether a look is under way: a flood of
    /// clients is served the page in hand, the file is looked at by one of them at a time
    /// and at most every `LOOK_EVERY`.
    looked: Mutex<Option<std::time::Instant>>,
    looking: std::sync::atomic::AtomicBool,
}

/// The file is looked at for a new snapshot at most this often (the page asks every 2 s).
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(750);

/// What a look at the file found.
enum Look {
    Page(Arc<Rendered>),
    /// No snapshot yet (the recorder has not committed one, or not created the file).
    Waiting,
}

/// Inline style for the page; inline script and requests to this server for the live one.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

impl LivePage {
    pub fn new(path: PathBuf, job: Option<String>, recording: bool) -> Arc<LivePage> {
        Arc::new(LivePage {
            path,
            job,
            recording,
            ended: std::sync::atomic::AtomicBool::new(false),
            cache: Mutex::new(None),
            loopback: std::sync::atomic::AtomicBool::new(true),
            metrics: Mutex::new(None),
            looked: Mutex::new(None),
            looking: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The page in hand when the file needs no look now: one was taken within `LOOK_EVERY`,
    /// or another request is taking one.
    fn fresh(&self) -> Option<Arc<Rendered>> {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let recent = self
            .looked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| t.elapsed() < LOOK_EVERY);
        let busy = self.looking.load(std::sync::atomic::Ordering::Acquire);
        (recent || busy).then_some(cached)
    }

    /// `look`, by one request at a time (the others are served the page in hand).
    fn look_once(&self) -> Result<Look, String> {
        use std::sync::atomic::Ordering;
        if self
            .looking
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
            && let Some(r) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone()
        {
            return Ok(Look::Page(r));
        }
        let r = self.look();
        *self.looked.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
        self.looking.store(false, Ordering::Release);
        r
    }

    /// Serves `/metrics` from `m` beside the page.
    pub fn set_metrics(&self, m: Option<Arc<super::metrics::Metrics>>) {
        *self.metrics.lock().unwrap_or_else(|p| p.into_inner()) = m;
    }

    /// The recording has ended: the page is rendered once more, saying so.
    pub fn end(&self) {
        self.ended.store(true, std::sync::atomic::Ordering::Relaxed);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The page of the latest snapshot: from the cache when nothing committed since.
    fn look(&self) -> Result<Look, String> {
        let ended = self.ended.load(std::sync::atomic::Ordering::Relaxed);
        // Whether a recorder writes the file: this process's own, or (serve-report) another
        // holding it, looked at before this process opens it.
        let recording = self.recording || crate::store::held_elsewhere(&self.path);
        let d = match open_reader(&self.path) {
            Ok(d) => d,
            // The recorder this process runs has not made it yet.
            Err(StoreError::Missing { .. }) if self.recording => return Ok(Look::Waiting),
            Err(StoreError::Missing { .. }) => return Err("the recording is gone".into()),
            Err(e) => return Err(crate::errors::error_chain(&e)),
        };
        let err = |e: StoreError| crate::errors::error_chain(&e);
        let reader = Reader::new(&d).map_err(err)?;
        let Some(seq) = reader.last_seq().map_err(err)? else {
            return Ok(Look::Waiting);
        };
        let key = (reader.recording_id().map_err(err)?, seq, ended, recording);
        drop(reader);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = cache.as_ref().filter(|r| r.key == key) {
            return Ok(Look::Page(r.clone()));
        }
        let rec = Recording::open(&d).map_err(err)?;
        let seq = rec.infos.last().map_or(seq, |i| i.seq);
        let r = crate::analysis::report(&rec, self.job.as_deref()).map_err(|e| e.to_string())?;
        let l = lanes::lanes(&rec, &r).map_err(err)?;
        let ctx = Ctx::new(rec.start_us(), false);
        let live = Live {
            seq,
            recording,
            ended,
        };
        let mut main = String::new();
        page::main_html(&r, &l, ctx, Some(live), &mut main);
        let rendered = Arc::new(Rendered {
            key,
            token: format!("{seq}{}", if ended { "e" } else { "" }),
            page: Bytes::from(page::report_html(&r, &l, ctx, Some(live))),
            main: Bytes::from(main),
        });
        *cache = Some(rendered.clone());
        Ok(Look::Page(rendered))
    }

    async fn answer(self: Arc<Self>, req: Request<Incoming>) -> Result<Resp, std::io::Error> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "read-only: GET and HEAD only",
            );
            r.headers_mut().insert(
                "allow",
                hyper::header::HeaderValue::from_static("GET, HEAD"),
            );
            return Ok(r);
        }
        if self.loopback.load(std::sync::atomic::Ordering::Relaxed) && !local_host(&req) {
            return Ok(plain(
                StatusCode::MISDIRECTED_REQUEST,
                "this page answers only to localhost, 127.0.0.1 or [::1]",
            ));
        }
        let path = req.uri().path().to_string();
        let after: Option<String> = req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("after=")))
            .map(str::to_string);
        if path == "/metrics" {
            let m = self
                .metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return Ok(match m {
                Some(m) => metrics_blocking(m, req.method().clone(), path).await?,
                None => plain(
                    StatusCode::NOT_FOUND,
                    "no /metrics: only a recording process serves them",
                ),
            });
        }
        if path != "/" && path != "/main" {
            return Ok(plain(StatusCode::NOT_FOUND, "not found: the page is at /"));
        }
        let look = match self.fresh() {
            Some(r) => Ok(Look::Page(r)),
            None => {
                let me = self.clone();
                tokio::task::spawn_blocking(move || me.look_once())
                    .await
                    .map_err(std::io::Error::other)?
            }
        };
        Ok(match (look, path.as_str()) {
            // The details (a path, an error text) go to the server's log, not to any client.
            (Err(e), _) => {
                crate::present::say(&format!(
                    "live page: cannot read the recording: {}",
                    term(&e)
                ));
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the recording cannot be read now (the server's log says why)",
                )
            }
            (Ok(Look::Waiting), "/") => html(StatusCode::OK, waiting_page(), None),
            (Ok(Look::Waiting), _) => empty(StatusCode::NO_CONTENT),
            (Ok(Look::Page(r)), "/") => html(StatusCode::OK, r.page.clone(), None),
            (Ok(Look::Page(r)), _) if after.as_deref() == Some(r.token.as_str()) => {
                empty(StatusCode::NO_CONTENT)
            }
            (Ok(Look::Page(r)), _) => html(StatusCode::OK, r.main.clone(), Some(&r.token)),
        })
    }
}

/// The request names a loopback host (by its `Host` header, or an absolute URI's authority).
fn local_host(req: &Request<Incoming>) -> bool {
    let host = req
        .uri()
        .authority()
        .map(|a| a.host().to_string())
        .or_else(|| {
            req.headers()
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|h| match h.rsplit_once(':') {
                    // `[::1]:8765`, `localhost:8765`; a bare `::1` has colons too.
                    Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                        name.to_string()
                    }
                    _ => h.to_string(),
                })
        });
    match host {
        None => true,
        Some(h) => {
            let h = h
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase();
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    }
}

fn headers(b: hyper::http::response::Builder) -> hyper::http::response::Builder {
    b.header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", CSP)
        .header("referrer-policy", "no-referrer")
}

fn html(status: StatusCode, body: Bytes, token: Option<&str>) -> Resp {
    let mut b = headers(Response::builder().status(status))
        .header("content-type", "text/html; charset=utf-8");
    if let Some(s) = token {
        b = b.header("x-seq", s);
    }
    b.body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn plain(status: StatusCode, text: &str) -> Resp {
    headers(Response::builder().status(status))
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(format!("{text}\n"))))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn empty(status: StatusCode) -> Resp {
    headers(Response::builder().status(status))
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Before the first snapshot: a page that reloads itself until there is one.
fn waiting_page() -> Bytes {
    Bytes::from_static(
        b"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Beacon incident: waiting</title></head><body><main data-seq=\"0\"><p>No snapshot recorded yet; this page updates when the first one is.</p></main><script>setTimeout(function(){location.reload();},2000);</script></body></html>",
    )
}

/// Binds `addr` and serves the page on the current runtime; returns the address bound.
pub async fn start(page: Arc<LivePage>, addr: &str) -> Result<SocketAddr, String> {
    let (listener, bound) = bind(addr).await?;
    page.loopback.store(
        bound.ip().is_loopback(),
        std::sync::atomic::Ordering::Relaxed,
    );
    super::accept::serve(listener, Limits::default(), move |req| {
        page.clone().answer(req)
    });
    Ok(bound)
}

/// Binds `addr`; the listener and the address bound.
async fn bind(addr: &str) -> Result<(tokio::net::TcpListener, SocketAddr), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", term(addr)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", term(addr)))?;
    Ok((listener, bound))
}

/// Binds `addr` and serves only `/metrics` from `m` (`record --metrics ADDR`).
pub async fn start_metrics(
    m: Arc<super::metrics::Metrics>,
    addr: &str,
) -> Result<SocketAddr, String> {
    let (listener, bound) = bind(addr).await?;
    let loopback = bound.ip().is_loopback();
    super::accept::serve(listener, Limits::default(), move |req| {
        let m = m.clone();
        // As the page's listener: on loopback, only requests naming it (DNS rebinding).
        let misdirected = loopback && !local_host(&req);
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        async move {
            if misdirected {
                return Ok(plain(
                    StatusCode::MISDIRECTED_REQUEST,
                    "metrics answer only to localhost, 127.0.0.1 or [::1]",
                ));
            }
            metrics_blocking(m, method, path).await
        }
    });
    Ok(bound)
}

/// `metrics_answer`, on the async thread: a scrape takes a lock and copies a string (the
/// recording's half is rendered after each commit by `Metrics`' own thread), so it never
/// needs a blocking thread of its own (hundreds of scrapers once meant hundreds of them).
async fn metrics_blocking(
    m: Arc<super::metrics::Metrics>,
    method: Method,
    path: String,
) -> Result<Resp, std::io::Error> {
    Ok(metrics_answer(&m, &method, &path))
}

/// The answer to a request of the metrics server (or of `/metrics` on the page's).
fn metrics_answer(m: &super::metrics::Metrics, method: &Method, path: &str) -> Resp {
    if method != Method::GET && method != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "read-only: GET and HEAD only",
        );
    }
    if path != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "only /metrics here");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    match m.render(now) {
        Ok(text) => headers(Response::builder().status(StatusCode::OK))
            .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
            .body(Full::new(Bytes::from(text)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
        // The details go to the server's log, not to any client.
        Err(e) => {
            crate::present::say(&format!("metrics: cannot read the recording: {}", term(&e)));
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the recording cannot be read now (the server's log says why)",
            )
        }
    }
}

/// A line for stderr: where the page is, and a warning when anyone on the network can read it.
pub fn announce(bound: SocketAddr) -> String {
    let mut s = format!("live page at http://{bound}/");
    if !bound.ip().is_loopback() {
        s.push_str(" (NOT loopback: anyone who can reach this address can read the recording)");
    }
    s
}

/// How long `record --ui` serves the final page after the recording ended: two of the
/// page's 2 s looks.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(5);

/// The default address of the live page: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8765";
