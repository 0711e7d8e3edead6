//! Issue 26: transport that does not invent failures. A server closes an idle keep-alive
//! connection after its own timeout (uvicorn, which the router runs on: 5 s); a client that
//! reuses it just then gets "connection closed" before any response. The recorder must not
//! call that a failure of the server, and must still call a real failure one at once.

use super::common::*;
use beacon_blackbox::clock::SystemClock;
use beacon_blackbox::fetch::{FetchErrorKind, Request, SourceKind};
use beacon_blackbox::source::{HttpConfig, HttpSource, Source};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Reads one request head (GET, no body); `false` at the end of the stream.
fn read_head(r: &mut BufReader<TcpStream>) -> bool {
    let mut any = false;
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line == "\r\n" || line == "\n" {
            return any;
        }
        any = true;
    }
}

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

/// A server that answers the first request of each connection and keeps it open, then closes
/// it without a word when a second request comes on it: the keep-alive race, made certain.
/// With `answer_none`, it closes every connection at its first request instead (a server that
/// really fails).
fn closing_server(answer_none: bool) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                if !read_head(&mut r) || answer_none {
                    return;
                }
                let _ = w.write_all(OK);
                // The second request on this connection: read it, close without answering.
                let _ = read_head(&mut r);
                let _ = w.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (addr, conns)
}

fn request(base: &str) -> Request {
    Request {
        kind: SourceKind::RouterHealth,
        job: None,
        url: format!("{base}/health").parse().unwrap(),
    }
}

fn source() -> HttpSource {
    HttpSource::new(
        HttpConfig {
            timeout: Duration::from_secs(5),
            body_cap: 1 << 20,
            token: None,
        },
        Arc::new(SystemClock),
    )
    .unwrap()
}

/// A request that fails before any response on a kept connection is sent once more on a new
/// one, and the retry is kept with it; the same failure on a new connection is a failure.
#[test]
fn a_kept_connection_closed_under_the_request_is_retried_once_and_said() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (base, conns) = closing_server(false);
    let src = source();
    rt.block_on(async {
        let a = src.fetch(request(&base)).await;
        assert_eq!(a.status, Some(200), "{a:?}");
        assert!(a.retried.is_none());
        // Soon after (well within `KEEP_IDLE`, once the connection is back in the pool): the
        // kept connection is reused, the server closes it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b = src.fetch(request(&base)).await;
        assert_eq!(b.status, Some(200), "answered on a new connection: {b:?}");
        let (kind, msg) = b.retried.clone().expect("the first attempt is kept");
        assert_eq!(kind, FetchErrorKind::ConnectionClosed, "{msg}");
        assert!(b.sent_at_us.is_some());
    });
    // At least one new connection for the retry (the pool may open another while the first
    // is on its way back to it, on a busy machine).
    assert!(
        conns.load(Ordering::SeqCst) >= 2,
        "a new connection for the retry"
    );

    let (base, _) = closing_server(true);
    let src = source();
    rt.block_on(async {
        let a = src.fetch(request(&base)).await;
        assert_eq!(
            a.error.as_ref().map(|e| e.0),
            Some(FetchErrorKind::ConnectionClosed),
            "a new connection closed is a failure: {a:?}"
        );
        assert!(a.retried.is_none(), "not retried: no kept connection");
    });
}

/// After `KEEP_IDLE` a connection is not used again: a server that closes idle connections
/// sooner than a poll interval never sees a request on one it closed.
#[test]
fn an_idle_connection_is_not_reused_after_keep_idle() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (base, conns) = closing_server(false);
    let src = source();
    rt.block_on(async {
        let a = src.fetch(request(&base)).await;
        assert_eq!(a.status, Some(200));
        tokio::time::sleep(beacon_blackbox::source::KEEP_IDLE + Duration::from_millis(600)).await;
        let b = src.fetch(request(&base)).await;
        assert_eq!(b.status, Some(200), "{b:?}");
        assert!(b.retried.is_none(), "a new connection, no race: {b:?}");
    });
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

/// A small app shaped like the router's `/health` and `/providers`, served by uvicorn with its
/// defaults (keep-alive closed after 5 s idle) on a socket the script binds to port 0.
const APP: &str = r#"
import socket, sys, time
import uvicorn

T0 = time.time()

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/health":
        body = '{"status":"healthy","timestamp":%f,"version":"5442b72","providers_total":1,"providers_healthy":1,"regions":["us-east"]}' % time.time()
    else:
        body = '{"providers":[{"name":"modal-us-east","type":"modal","region":"us-east","healthy":true,"cost_per_second":0.0001,"avg_latency":0.0,"success_rate":1.0,"last_health_check":%f}]}' % T0
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})

sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
"#;

struct Uvicorn {
    child: Child,
    url: String,
}

impl Drop for Uvicorn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uvicorn(dir: &std::path::Path) -> Option<Uvicorn> {
    let has = Command::new("python3")
        .args(["-c", "import uvicorn"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("SKIPPED: uvicorn is not installed (.ci/run installs it: pip install uvicorn)");
        return None;
    }
    let app = dir.join("router_app.py");
    std::fs::write(&app, APP).unwrap();
    let mut child = Command::new("python3")
        .arg(&app)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("http://127.0.0.1:{}", port.trim());
    // Up when it answers.
    for _ in 0..100 {
        if let Ok(mut s) = TcpStream::connect(url.trim_start_matches("http://")) {
            let _ = s.write_all(b"GET /health HTTP/1.0\r\n\r\n");
            let mut b = String::new();
            let _ = s.read_to_string(&mut b);
            if b.starts_with("HTTP/1.1 200") {
                return Some(Uvicorn { child, url });
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("uvicorn did not start");
}

/// (requests sent, failed, retried) over a recording.
fn tally(db: &std::path::Path) -> (usize, usize, usize) {
    let snaps = bb(db, &["snapshots", "--json"]).ok().json();
    let mut out = (0, 0, 0);
    for s in snaps.as_array().unwrap() {
        for f in s["sources"].as_array().unwrap() {
            if f["not_sent"] == true {
                continue;
            }
            out.0 += 1;
            out.1 += (f["failed"] == true) as usize;
            out.2 += (!f["retried"].is_null()) as usize;
        }
    }
    out
}

/// The router's own web server with its defaults, polled at the default interval and around
/// it: no failure in over 100 requests. Then the server stops: a failure at the next poll.
#[test]
fn uvicorn_at_the_default_interval_gives_no_invented_failures() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = uvicorn(dir.path()) else {
        return;
    };
    let runs: Vec<_> = ["4900ms", "5s", "5100ms"]
        .iter()
        .map(|iv| {
            let db = dir.path().join(format!("{iv}.redb"));
            let child = bin()
                .arg("--db")
                .arg(&db)
                .args([
                    "record",
                    "--router",
                    &server.url,
                    "--interval",
                    iv,
                    "--count",
                    "18",
                    "--no-extras",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (db, child)
        })
        .collect();
    let (mut sent, mut failed, mut retried) = (0, 0, 0);
    for (db, child) in runs {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (s, f, r) = tally(&db);
        sent += s;
        failed += f;
        retried += r;
    }
    eprintln!("uvicorn: {sent} requests, {failed} failed, {retried} sent again");
    assert!(sent >= 100, "{sent} requests");
    assert_eq!(failed, 0, "failures invented at the default interval");

    // The server stops: the very next poll records the failure.
    let url = server.url.clone();
    drop(server);
    let db = dir.path().join("stopped.redb");
    bb(
        &db,
        &["record", "--router", &url, "--count", "1", "--no-extras"],
    )
    .ok();
    let (s, f, _) = tally(&db);
    assert_eq!(
        (s, f),
        (2, 2),
        "both router requests failed at the first poll"
    );
}
