//! Fault tolerance: sources that misbehave are recorded as failed fetches with their kind
//! while recording goes on; `kill -9` never leaves a database that fails `verify` or lacks a
//! snapshot that was reported committed.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Request lines the server saw, with when.
type RequestLog = Arc<Mutex<Vec<(Instant, String)>>>;

/// A deliberately broken HTTP server on loopback; `respond` gets each request's head.
fn serve_raw(
    respond: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static,
) -> (String, RequestLog) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let log = log2.clone();
            let respond = respond.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let mut r = BufReader::new(s.try_clone().unwrap());
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        match r.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    log.lock().unwrap().push((
                        Instant::now(),
                        head.lines().next().unwrap_or("").to_string(),
                    ));
                    respond(&mut s, &head);
                    if head.contains("__close__") {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), log)
}

fn reply(s: &mut TcpStream, status: &str, headers: &str, body: &[u8]) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n",
        body.len()
    );
    let _ = s.write_all(body);
}

/// Records the router at `url` once and returns the outcome of its /health request.
fn health_outcome(url: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let (_d, db) = tmp();
    let mut args = vec!["record", "--router", url, "--count", "1", "--timeout", "1s"];
    args.extend_from_slice(extra);
    bb(&db, &args).ok();
    let v = bb(&db, &["snapshots", "--json"]).ok().json();
    let f = v[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "router.health")
        .unwrap()
        .clone();
    (f["outcome"].as_str().unwrap().to_string(), f)
}

#[test]
fn each_misbehaviour_is_a_failed_fetch_of_its_kind() {
    for code in [
        "500 Internal Server Error",
        "502 Bad Gateway",
        "503 Service Unavailable",
    ] {
        let (url, _) = serve_raw(move |s, _| reply(s, code, "", b"{\"detail\":\"down\"}"));
        let (o, f) = health_outcome(&url, &[]);
        assert_eq!(o, format!("http {}", &code[..3]));
        assert_eq!(f["body_bytes"], 17, "the error body is kept");
    }
    let (url, _) = serve_raw(|s, _| reply(s, "200 OK", "", b"{not json"));
    let (o, f) = health_outcome(&url, &[]);
    assert_eq!(o, "unparsable");
    assert!(f["parse_error"].is_string());

    // Cut off mid-way: promises 1000 bytes, sends 10, hangs up.
    let (url, _) = serve_raw(|s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"status\":");
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    assert_eq!(health_outcome(&url, &[]).0, "body_incomplete");

    // Over the cap, declared and streamed.
    let big = vec![b' '; 5000];
    let (url, _) = serve_raw(move |s, _| reply(s, "200 OK", "", &big));
    assert_eq!(
        health_outcome(&url, &["--max-body", "1KiB"]).0,
        "body_too_large"
    );
    let (url, _) = serve_raw(|s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        for _ in 0..10 {
            let _ = s.write_all(b"200\r\n");
            let _ = s.write_all(&[b' '; 512]);
            let _ = s.write_all(b"\r\n");
        }
        let _ = s.write_all(b"0\r\n\r\n");
    });
    assert_eq!(
        health_outcome(&url, &["--max-body", "1KiB"]).0,
        "body_too_large"
    );

    // Trickles a byte every 300 ms: slower than the 1 s timeout.
    let (url, _) = serve_raw(|s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n");
        for _ in 0..50 {
            if s.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    assert_eq!(health_outcome(&url, &[]).0, "timeout");

    // Accepts and never answers.
    let (url, _) = serve_raw(|_, _| std::thread::sleep(Duration::from_secs(5)));
    let t = Instant::now();
    assert_eq!(health_outcome(&url, &[]).0, "timeout");
    assert!(t.elapsed() < Duration::from_secs(5));

    // Nothing listens.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        health_outcome(&format!("http://127.0.0.1:{port}"), &[]).0,
        "connect_refused"
    );
    // A name that does not resolve. This needs the machine's resolver to answer "no such
    // name" promptly (it does here, with no network); where the lookup itself hangs, the
    // recorder rightly reports a timeout, which is not what this line is about.
    let t = Instant::now();
    let quick_nxdomain = std::net::ToSocketAddrs::to_socket_addrs(&("no-such-host.invalid", 80))
        .is_err()
        && t.elapsed() < Duration::from_millis(500);
    if quick_nxdomain {
        assert_eq!(health_outcome("http://no-such-host.invalid", &[]).0, "dns");
    } else {
        eprintln!("skipped the dns case: this machine's resolver does not answer promptly");
    }
    // TLS to a plain HTTP port.
    let (url, _) = serve_raw(|s, _| reply(s, "200 OK", "", b"{}"));
    assert_eq!(
        health_outcome(&url.replace("http://", "https://"), &[]).0,
        "tls"
    );
}

#[test]
fn retry_after_is_honoured() {
    let hits = Arc::new(Mutex::new(0usize));
    let h2 = hits.clone();
    let (url, log) = serve_raw(move |s, head| {
        let mut n = h2.lock().unwrap();
        *n += 1;
        if *n == 1 {
            reply(
                s,
                "429 Too Many Requests",
                "retry-after: 2\r\n",
                br#"{"error":{"type":"rate_limited","code":"RATE_LIMIT_EXCEEDED"}}"#,
            );
        } else if head.contains("/executions/all") {
            reply(s, "200 OK", "", br#"{"executions":null}"#);
        } else {
            reply(
                s,
                "200 OK",
                "",
                br#"{"job":{"id":"j"},"status":"queued","executions":null}"#,
            );
        }
    });
    let (_d, db) = tmp();
    let t0 = Instant::now();
    bb(
        &db,
        &[
            "record",
            "--runner",
            &url,
            "--job",
            "j",
            "--count",
            "5",
            "--interval",
            "700ms",
            "--timeout",
            "1s",
        ],
    )
    .ok();
    let log = log.lock().unwrap();
    let first = log[0].0;
    // Nothing was sent during the 2 s the runner asked for.
    assert!(log.len() >= 2, "{log:?}");
    assert!(
        log[1].0.duration_since(first) >= Duration::from_millis(1900),
        "sent again after {:?}",
        log[1].0.duration_since(first)
    );
    assert!(t0.elapsed() >= Duration::from_secs(2));
    let v = bb(&db, &["snapshots", "--json"]).ok().json();
    let outcomes: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["outcome"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(outcomes[0], "http 429");
    // The next poll is placed where the wait ends (the budget spaces polls 1.7 s apart here,
    // so none fell inside the wait).
    assert!(
        log[1].0.duration_since(first) < Duration::from_millis(2600),
        "sent again after {:?}",
        log[1].0.duration_since(first)
    );
    assert_eq!(
        outcomes.last().unwrap(),
        "ok",
        "recording went on: {outcomes:?}"
    );
}

#[test]
fn kill_dash_nine_never_loses_a_committed_snapshot() {
    let iterations: usize = std::env::var("BLACKBOX_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let s = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut reported: Vec<u64> = Vec::new();
    for i in 0..iterations {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait = Duration::from_millis(150 + rng % 700);
        let mut child = s.spawn_record(&db, "40ms");
        std::thread::sleep(wait);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        for line in err.lines() {
            if let Some(rest) = line.strip_prefix("snapshot ")
                && let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok())
            {
                reported.push(n);
            }
        }
        let v = bb(&db, &["verify"]);
        assert_eq!(
            v.code, 0,
            "iteration {i} after {wait:?}: {} {}",
            v.stdout, v.stderr
        );
    }
    assert!(!reported.is_empty());
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let have: std::collections::BTreeSet<u64> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    for seq in &reported {
        assert!(
            have.contains(seq),
            "snapshot {seq} was reported committed but is missing"
        );
    }
    // Every stored snapshot is complete: it has all four requests.
    for s in snaps.as_array().unwrap() {
        assert_eq!(s["sources"].as_array().unwrap().len(), 4, "{s}");
    }
}
