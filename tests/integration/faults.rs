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
            "--max-runner-rpm",
            "600",
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
    // Polls that fell inside the wait recorded the runner's requests as waiting (a gap, not a
    // failure), and a poll was placed where the wait ended.
    assert!(
        outcomes.contains(&"waiting_retry_after".to_string()),
        "{outcomes:?}"
    );
    assert!(
        log[1].0.duration_since(first) < Duration::from_millis(2300),
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
        let wait = Duration::from_millis(120 + rng % 400);
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
    // Every stored snapshot is complete: it has all four requests of every poll (and on the
    // polls that make them, every extra endpoint's too).
    for s in snaps.as_array().unwrap() {
        let names: Vec<&str> = s["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["source"].as_str().unwrap())
            .collect();
        let primary = [
            "runner.executions_all",
            "runner.job_view",
            "router.health",
            "router.providers",
        ];
        assert!(primary.iter().all(|p| names.contains(p)), "{s}");
        assert!(names.len() == 4 || names.len() == 12, "{s}");
    }
}

/// Issue 8: redirects are recorded as the answer, never followed: the token cannot leave
/// `/admin/*`, and another host's answer is never taken for the original URL's.
#[test]
fn redirects_are_recorded_not_followed() {
    let heads: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let h2 = heads.clone();
    let (other, other_log) = serve_raw(|s, _| reply(s, "200 OK", "", br#"{"executions":[]}"#));
    let target = format!("{other}/api/v1/jobs/j/executions/all?token=leak");
    let (url, _) = serve_raw(move |s, head| {
        h2.lock().unwrap().push(head.to_string());
        if head.starts_with("GET /admin/") {
            reply(s, "302 Found", "location: /api/v1/elsewhere?x=1\r\n", b"");
        } else if head.contains("/executions/all") {
            let loc = format!("location: {target}\r\n");
            reply(s, "307 Temporary Redirect", &loc, b"");
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
    bb(
        &db,
        &[
            "record",
            "--runner",
            &url,
            "--job",
            "j",
            "--count",
            "1",
            "--runner-token",
            "Tok-Secret-1",
            "--timeout",
            "1s",
            "--no-extras",
        ],
    )
    .ok();
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 3, "{heads:?}");
    for h in heads.iter() {
        let authorized = h
            .to_ascii_lowercase()
            .contains("authorization: bearer tok-secret-1");
        assert_eq!(authorized, h.starts_with("GET /admin/queue-stats"), "{h}");
    }
    assert!(
        other_log.lock().unwrap().is_empty(),
        "the other host was never asked"
    );
    let v = bb(&db, &["snapshots", "--json"]).ok().json();
    let srcs = v[0]["sources"].as_array().unwrap();
    let all = srcs
        .iter()
        .find(|f| f["source"] == "runner.executions_all")
        .unwrap();
    assert_eq!(all["outcome"], "http 307");
    assert_eq!(all["failed"], true);
    let loc = all["location"].as_str().unwrap();
    assert!(
        loc.contains("token=REDACTED") && !loc.contains("leak"),
        "{loc}"
    );
    let admin = srcs
        .iter()
        .find(|f| f["source"] == "runner.admin_queue_stats")
        .unwrap();
    assert_eq!(admin["outcome"], "http 302");
    assert_eq!(admin["location"], "/api/v1/elsewhere?x=1");
}

/// Issue 8: a stderr that cannot be written (full, closed) never stops the recorder.
#[test]
fn a_full_stderr_does_not_stop_recording() {
    let s = start_sim("classic", 100_000.0);
    let (_d, db) = tmp();
    let job = s.job();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "record",
            "--runner",
            &s.runner,
            "--job",
            &job,
            "--router",
            &s.router,
            "--count",
            "3",
            "--interval",
            "50ms",
            "--max-runner-rpm",
            "100000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let v = bb(&db, &["verify"]).ok();
    assert!(v.stdout.contains("ok: 3 snapshots"), "{}", v.stdout);
}

/// Issue 8: a file damaged in any one page is refused by `record` with one line and left
/// byte for byte as it was (or, for a page nothing reads, recorded into and still sound);
/// `verify` lists the damage instead of crashing.
#[test]
fn a_damaged_page_is_refused_and_the_file_left_as_it_was() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let good = std::fs::read(&db).unwrap();
    let pages = good.len() / 4096;
    assert!(pages > 10, "{pages} pages");
    let dir = tempfile::tempdir().unwrap();
    let (mut refused, mut recorded) = (0, 0);
    for page in 0..pages {
        let f = dir.path().join(format!("p{page}.redb"));
        let mut bytes = good.clone();
        bytes[page * 4096..(page + 1) * 4096].fill(0);
        std::fs::write(&f, &bytes).unwrap();
        let r = bb(
            &f,
            &[
                "record",
                "--router",
                "http://127.0.0.1:1",
                "--count",
                "1",
                "--timeout",
                "1s",
            ],
        );
        if r.code == 0 {
            recorded += 1;
            let v = bb(&f, &["verify"]);
            assert_eq!(v.code, 0, "page {page}: recorded into, then: {}", v.stdout);
            continue;
        }
        refused += 1;
        let line = r.clean_failure().to_string();
        // Page 0 holds redb's header: without it the file is no redb file at all.
        assert!(
            (line.contains("is damaged") && line.contains("verify"))
                || (page == 0 && line.contains("not a beacon-blackbox database")),
            "page {page}: {line}"
        );
        assert!(
            std::fs::read(&f).unwrap() == bytes,
            "page {page}: the file changed"
        );
        let v = bb(&f, &["verify"]);
        assert_eq!(v.code, 1, "page {page}: {}", v.stdout);
        if page > 0 {
            assert!(
                v.stdout.starts_with("problem: "),
                "page {page}: {}",
                v.stdout
            );
        }
        assert!(
            !v.stderr.contains("panicked") && !v.stderr.contains("internal failure"),
            "page {page}: {}",
            v.stderr
        );
    }
    assert!(
        refused >= pages / 2,
        "refused {refused} of {pages}, recorded {recorded}"
    );
}

/// A small tmpfs mounted for a test, unmounted when dropped (then its temporary folder goes).
/// Mounting needs root.
struct SmallDisk(std::path::PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl SmallDisk {
    fn mount(kib: u32) -> Option<Self> {
        let d = tempfile::tempdir().ok()?;
        let p = d.path().join("disk");
        std::fs::create_dir(&p).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&p)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(p, d))
    }

    /// Fills the disk until `free_kib` KiB are left.
    fn fill_leaving(&self, free_kib: u64) {
        let f = self.0.join("filler");
        let mut w = std::fs::File::create(&f).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            if w.write_all(&chunk).is_err() {
                break;
            }
        }
        drop(w);
        // Give back what was asked for.
        let len = std::fs::metadata(&f).unwrap().len();
        let keep = len.saturating_sub(free_kib * 1024);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&f)
            .unwrap()
            .set_len(keep)
            .unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Issue 8, on a real full filesystem: the cause is named, recording stops with exit 1 and
/// says how many snapshots it kept, and the file verifies; a full disk at creation leaves no
/// file behind.
#[test]
fn a_real_full_disk() {
    let Some(disk) = SmallDisk::mount(2048) else {
        eprintln!(
            "skipped a_real_full_disk: cannot mount a tmpfs here (not root?); the injected full disk in recorder.rs covers the same path"
        );
        return;
    };
    let s = start_sim("legacy", 60.0);
    let db = disk.0.join("r.redb");
    disk.fill_leaving(128);
    let job = s.job();
    let r = bb(
        &db,
        &[
            "record",
            "--runner",
            &s.runner,
            "--job",
            &job,
            "--router",
            &s.router,
            "--interval",
            "50ms",
            "--count",
            "400",
            "--max-runner-rpm",
            "100000",
        ],
    );
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("error: stopped: snapshots kept failing to be written")
            && last.contains("No space left on device"),
        "{last}"
    );
    let kept: u64 = r.stdout.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(kept > 0, "{}", r.stdout);
    let v = bb(&db, &["verify"]).ok();
    assert!(
        v.stdout.contains(&format!("ok: {kept} snapshots")),
        "{}",
        v.stdout
    );
    // Now nothing is left at all.
    disk.fill_leaving(0);
    let new = disk.0.join("new.redb");
    let l = bb(&new, &["record", "--router", &s.router, "--count", "1"])
        .clean_failure()
        .to_string();
    assert!(
        l.contains("cannot create") && l.contains("No space left on device"),
        "{l}"
    );
    let left: Vec<_> = std::fs::read_dir(&disk.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("new"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
