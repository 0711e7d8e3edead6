//! `replay`: the timeline and the time-travel server.

use crate::common::*;
use beacon_blackbox::analysis::Recording;
use beacon_blackbox::source::SourceKind;
use beacon_blackbox::store::open_reader;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

struct Served {
    child: Child,
    runner: String,
    router: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &Path, args: &[&str]) -> Served {
    let mut child = bin()
        .arg("--db")
        .arg(db)
        .args(["replay", "--serve"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let runner = lines.next().unwrap().unwrap();
    let router = lines.next().unwrap().unwrap();
    Served {
        child,
        runner: runner.strip_prefix("runner: ").unwrap().to_string(),
        router: router.strip_prefix("router: ").unwrap().to_string(),
    }
}

#[test]
fn round_trip_through_the_clock_server_agrees() {
    // A: the incident recorded on a manual clock (15 minutes of scenario time in no time);
    // served at 300x, B records it over HTTP in about 3 s.
    let (_d, a, _) = record_scenario("classic", 30.0);
    let job = "bias-detection-1759330371966".to_string();
    let srv = serve(&a, &["--clock", "--speed", "300"]);
    let b = a.with_file_name("b.redb");
    let rec_a = Recording::open(&open_reader(&a).unwrap()).unwrap();
    let span = (rec_a.infos.last().unwrap().started_at - rec_a.infos[0].started_at) as f64 / 1e6;
    let dur = format!("{:.1}s", span / 300.0 + 1.0);
    bb(
        &b,
        &[
            "record",
            "--runner",
            &srv.runner,
            "--job",
            &job,
            "--router",
            &srv.router,
            "--interval",
            "100ms",
            "--duration",
            &dur,
            "--max-runner-rpm",
            "100000",
        ],
    )
    .ok();
    let sa = bb(&a, &["show", "--json"]).ok().json();
    let sb = bb(&b, &["show", "--json"]).ok().json();
    for key in ["rows", "by_status", "status", "cells", "expected"] {
        assert_eq!(sa["jobs"][0][key], sb["jobs"][0][key], "{key}");
    }
    // The default view alike; when it was fetched is each recording's own.
    for key in [
        "rows",
        "complete_rows",
        "truncated",
        "hidden",
        "ids",
        "same_poll",
    ] {
        assert_eq!(
            sa["jobs"][0]["default_view"][key], sb["jobs"][0]["default_view"][key],
            "default_view {key}"
        );
    }
    for key in ["providers_total", "providers_healthy", "regions"] {
        assert_eq!(sa["router"][key], sb["router"][key], "router {key}");
    }
    // Each provider alike; its check's time is on each recorder's own clock (B polled the
    // replay on the wall clock, against the router's recorded stamps of 2025).
    let providers = |s: &serde_json::Value| {
        let mut v = s["router"]["providers"].clone();
        for p in v.as_array_mut().unwrap() {
            for k in [
                "last_health_check",
                "last_health_check_router",
                "failing_since",
            ] {
                p.as_object_mut().unwrap().remove(k);
            }
        }
        v
    };
    assert_eq!(providers(&sa), providers(&sb), "router providers");
    // B saw the incident unfold, not just its end: the same growth, point by point.
    let grow = |db: &Path| -> Vec<u64> {
        let r = bb(db, &["report", "--format", "json"]).ok().json();
        let mut v: Vec<u64> = r["jobs"][0]["rows_over_time"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["rows"].as_u64().unwrap())
            .collect();
        v.dedup();
        v
    };
    let (ga, gb) = (grow(&a), grow(&b));
    assert!(gb.len() >= 3, "{gb:?}");
    assert!(gb.iter().all(|n| ga.contains(n)), "A {ga:?} B {gb:?}");
    // Mid-way points agree too: B at +Xs shows a row count that A had.
    let mid = bb(
        &b,
        &["show", "--at", &format!("+{:.1}s", span / 600.0), "--json"],
    )
    .ok()
    .json();
    assert!(ga.contains(&mid["jobs"][0]["rows"].as_u64().unwrap()));
}

#[test]
fn at_serves_recorded_bytes_and_reenacts_failures() {
    let (_d, db, _) = record_scenario("outage", 15.0);
    let rec = Recording::open(&open_reader(&db).unwrap()).unwrap();
    // Find a snapshot with a 503, one with a refused connection, and a good one.
    let find = |pred: &dyn Fn(&beacon_blackbox::store::schema::FetchRec) -> bool| {
        rec.infos
            .iter()
            .zip(&rec.snaps)
            .find_map(|(i, s)| {
                s.fetches
                    .iter()
                    .find(|f| f.source == SourceKind::RunnerExecAll as u8 && pred(f))
                    .map(|f| (i.seq, f.clone()))
            })
            .unwrap()
    };
    let (ok_seq, ok) = find(&|f| f.status == Some(200));
    let (bad_seq, bad) = find(&|f| f.status == Some(503));
    let (refused_seq, _) = find(&|f| f.error.as_ref().is_some_and(|e| e.kind == 1));
    let path = reqwest::Url::parse(rec.string(ok.url))
        .unwrap()
        .path()
        .to_string();

    let srv = serve(&db, &["--at", &ok_seq.to_string()]);
    let (st, h, body) = http_get(&format!("{}{path}", srv.runner)).unwrap();
    assert_eq!(st, 200);
    assert!(
        body == rec.reader.body(ok.body.unwrap()).unwrap(),
        "byte-identical body"
    );
    assert_eq!(h["x-blackbox-seq"], ok_seq.to_string().as_str());
    assert_eq!(h["content-type"], "application/json");
    let (st, _, body) = http_get(&format!("{}{path}x", srv.runner)).unwrap();
    assert_eq!(st, 404);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["closest"][0],
        path.as_str(),
        "near miss names the right path"
    );
    let (st, _, _) = http_get(&format!("{}/health", srv.router)).unwrap();
    assert_eq!(st, 200);
    drop(srv);

    let srv = serve(&db, &["--at", &bad_seq.to_string()]);
    let (st, _, body) = http_get(&format!("{}{path}", srv.runner)).unwrap();
    assert_eq!(st, 503);
    assert!(body == rec.reader.body(bad.body.unwrap()).unwrap());
    drop(srv);

    let srv = serve(&db, &["--at", &refused_seq.to_string()]);
    let e = http_get(&format!("{}{path}", srv.runner)).unwrap_err();
    assert!(
        !e.is_timeout(),
        "a refused connection is re-enacted at once: {e}"
    );
}

#[test]
fn timeline_lists_duplicates_and_failures() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let out = bb(&db, &["replay", "--json"]).ok().stdout;
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |k: &str| events.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(count("cell_duplicated"), 8);
    assert_eq!(count("execution_appeared"), 44);
    let failed = events
        .iter()
        .filter(|e| e["kind"] == "execution_changed" && e["to"] == "failed")
        .count();
    assert_eq!(failed, 44);
    assert_eq!(count("rows_stopped"), 1);
    assert!(
        events
            .iter()
            .all(|e| e["at"].is_string() && e["seq"].is_u64() && e["message"].is_string())
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "in time order");
    // A window narrows the events; text mode groups a snapshot's alike events on one line.
    let text = bb(&db, &["replay"]).ok().stdout;
    assert!(text.lines().count() < events.len() / 2, "{text}");
    assert!(text.contains("6 executions appeared, running"), "{text}");
    let verbose = bb(&db, &["replay", "--verbose"]).ok().stdout;
    let blocks = verbose.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!(verbose.lines().count(), events.len() + blocks);
    let last = bb(&db, &["replay", "--from", "-1", "--to", "last"])
        .ok()
        .stdout;
    assert!(last.lines().count() < text.lines().count());
}

/// Issue 8: clients of the replay server are hostile too: half-sent request heads are cut off
/// after the header timeout, connections over the cap are closed at once, and the near-miss
/// answer to a 65 KB path compares only its first 256 characters.
#[test]
fn the_replay_server_bounds_what_a_client_can_cost() {
    use beacon_blackbox::serve::replay::{Limits, Server, Timing};
    use std::io::{Read, Write};
    let (_d, db, _) = record_scenario("classic", 60.0);
    let d = open_reader(&db).unwrap();
    let rec = Recording::open(&d).unwrap();
    let limits = Limits {
        header_timeout: std::time::Duration::from_millis(300),
        max_connections: 16,
    };
    let server = Server::with_limits(rec, Timing::At(3), limits).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (runner, _) = rt
        .block_on(beacon_blackbox::serve::replay::start(
            server,
            "127.0.0.1:0",
            "127.0.0.1:0",
        ))
        .unwrap();
    // Forty clients that send half a head and stop.
    let slow: Vec<std::net::TcpStream> = (0..40)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(runner).unwrap();
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    // The cap closed the ones beyond it at once; the header timeout closes the rest.
    std::thread::sleep(std::time::Duration::from_millis(800));
    for mut s in slow {
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut buf = Vec::new();
        // Closed (with at most a 408), never left open: the read ends instead of timing out.
        let closed = s.read_to_end(&mut buf);
        assert!(
            closed.is_ok()
                || closed
                    .as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "left open: {closed:?}"
        );
        assert!(
            buf.is_empty() || buf.starts_with(b"HTTP/1.1 408"),
            "{buf:?}"
        );
    }
    // And the server still answers.
    let job = "bias-detection-1759330371966";
    let (status, _, _) =
        http_get(&format!("http://{runner}/api/v1/jobs/{job}/executions/all")).unwrap();
    assert_eq!(status, 200);
    // A 65 KB path: the answer names only the first 256 characters of it.
    let long = format!("/api/v1/jobs/{}", "x".repeat(65_000));
    let (status, _, body) = http_get(&format!("http://{runner}{long}")).unwrap();
    assert_eq!(status, 404);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["path"].as_str().unwrap().chars().count(), 256);
    assert!(!v["closest"].as_array().unwrap().is_empty());
}
