//! Issue 11: always on. Following every job, the extra endpoints diffed by key, a bounded
//! window, notes while recording, sealed bundles.

use crate::common::*;
use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::fetch::{Request, SourceKind};
use beacon_blackbox::record::Stop;
use beacon_blackbox::source::{FakeSource, Reply};
use serde_json::Value;
use std::sync::Arc;

const SEC: i64 = 1_000_000;

fn fixture(path: &str) -> String {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    // Observed router answers are wrapped as {"http_status", "body"}.
    match v.get("body") {
        Some(b) => b.to_string(),
        None => v.to_string(),
    }
}

fn rows(job: &str, n: usize, status: &str) -> String {
    let r: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id":{},"job_id":"{job}","status":"{status}","question_id":"q{i}","model_id":"m","region":"US"}}"#,
                i + 1 + 1000 * job.len()
            )
        })
        .collect();
    format!(r#"{{"executions":[{}]}}"#, r.join(","))
}

/// `--all-jobs`: a job created mid-recording gets its list and spec from the first poll that
/// sees it; a finished one is let go after the grace period; old finished ones cost nothing.
#[test]
fn all_jobs_follows_a_new_job_and_lets_a_finished_one_go() {
    let clock = Arc::new(ManualClock::new(T0));
    let iso = |us: i64| beacon_blackbox::beacon::format_micros(us);
    let src = FakeSource::new(clock.clone(), move |now, req: &Request| {
        let t = now - T0;
        let a_status = if t < 100 * SEC {
            "processing"
        } else {
            "completed"
        };
        match req.kind {
            SourceKind::RunnerJobs => {
                let mut jobs = vec![
                    format!(
                        r#"{{"id":"a","status":"{a_status}","created_at":"{}"}}"#,
                        iso(T0 - 60 * SEC)
                    ),
                    format!(
                        r#"{{"id":"old","status":"completed","created_at":"{}"}}"#,
                        iso(T0 - 86_400 * SEC)
                    ),
                ];
                if t >= 300 * SEC {
                    jobs.insert(
                        0,
                        format!(
                            r#"{{"id":"b","status":"processing","created_at":"{}"}}"#,
                            iso(T0 + 300 * SEC)
                        ),
                    );
                }
                Reply::json(200, format!(r#"{{"jobs":[{}]}}"#, jobs.join(",")))
            }
            SourceKind::RunnerExecAll => {
                let job = req.job.clone().unwrap_or_default();
                Reply::json(200, rows(&job, 3, "running"))
            }
            SourceKind::RunnerJobDefault => Reply::json(
                200,
                r#"{"job":{"questions":["q0","q1","q2"],"constraints":{"regions":["US"]},"models":[{"id":"m","regions":["US"]}]},"status":"processing","executions":null}"#,
            ),
            _ => Reply::json(404, r#"{"detail":"Not Found"}"#),
        }
    });
    let mut opts = options(&[], 5.0);
    opts.targets.router = None;
    opts.targets.all_jobs = true;
    opts.targets.grace_us = 60 * SEC;
    opts.max_runner_rpm = 1000;
    opts.stop = Stop::After(std::time::Duration::from_secs(600));
    let (_d, db) = tmp();
    let (_, heard) = record_lib(&db, opts, &src, clock);
    let reqs = src.requests();
    let of = |job: &str, kind: SourceKind| -> Vec<i64> {
        reqs.iter()
            .filter(|(_, r)| r.job.as_deref() == Some(job) && r.kind == kind)
            .map(|(t, _)| t - T0)
            .collect()
    };
    // b: from the first list that shows it (every 15 s) on, its list and its view together.
    let b_lists = of("b", SourceKind::RunnerExecAll);
    let b_views = of("b", SourceKind::RunnerJobDefault);
    assert!(!b_lists.is_empty());
    assert!((300 * SEC..=320 * SEC).contains(&b_lists[0]), "{b_lists:?}");
    assert!(
        b_views[0] - b_lists[0] < SEC,
        "view in the same poll: {b_views:?}"
    );
    // a: finished at 100 s, let go one grace period (and a list read) later.
    let a_last = *of("a", SourceKind::RunnerExecAll).last().unwrap();
    assert!(
        (160 * SEC..=185 * SEC).contains(&a_last),
        "a last polled at {a_last}"
    );
    // old: never polled.
    assert!(of("old", SourceKind::RunnerExecAll).is_empty());
    assert!(
        heard.warnings.iter().any(|w| w.contains("following b")),
        "{:?}",
        heard.warnings
    );
    assert!(
        heard.warnings.iter().any(|w| w.contains("let go of a")),
        "{:?}",
        heard.warnings
    );
    // Both jobs are in the recording, each with its rows.
    let show = bb(&db, &["show", "--json"]).ok().json();
    let jobs: Vec<&str> = show["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, vec!["a", "b"]);
    assert!(
        show["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["rows"] == 3)
    );
}

/// `--all-jobs` on a list of 120 active jobs and ids that name other paths: 100 followed and
/// the rest told, not dropped silently; `.` and `..` never asked for (they would be
/// `/api/v1/jobs/..` = another endpoint).
#[test]
fn all_jobs_tells_what_it_does_not_follow() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |_, req: &Request| match req.kind {
        SourceKind::RunnerJobs => {
            let mut jobs: Vec<String> = (0..120)
                .map(|i| format!(r#"{{"id":"j{i:03}","status":"processing"}}"#))
                .collect();
            jobs.push(r#"{"id":"..","status":"processing"}"#.into());
            jobs.push(r#"{"id":".","status":"processing"}"#.into());
            Reply::json(200, format!(r#"{{"jobs":[{}]}}"#, jobs.join(",")))
        }
        _ => Reply::json(404, r#"{"detail":"Not Found"}"#),
    });
    let mut opts = options(&[], 5.0);
    opts.targets.router = None;
    opts.targets.all_jobs = true;
    // The default budget: following 100 jobs changes the cadence, which is told too.
    opts.stop = Stop::Count(3);
    let (_d, db) = tmp();
    let (_, heard) = record_lib(&db, opts, &src, clock);
    let all = heard.warnings.join("\n");
    assert!(all.contains("20 more active jobs not followed"), "{all}");
    assert!(
        all.contains("2 entries in the runner's job list not followed"),
        "{all}"
    );
    assert!(
        src.requests()
            .iter()
            .all(|(_, r)| !matches!(r.job.as_deref(), Some(".") | Some(".."))),
        "a dot id was asked for"
    );
}

/// Every extra endpoint is recorded where present, a 404 is "not offered" (asked again every
/// five minutes, never a failure), `/env` is never asked, and answers are compared by key.
#[test]
fn extra_endpoints_are_recorded_and_diffed_by_key() {
    let clock = Arc::new(ManualClock::new(T0));
    let debug_before = fixture("router-observed/debug_providers.json");
    let debug_after = debug_before.replacen(r#""healthy":false"#, r#""healthy":true"#, 1);
    assert_ne!(debug_before, debug_after);
    let history = fixture("router-observed/debug_health_history.json");
    let metrics = fixture("router-observed/metrics.json");
    let health = fixture("runner/runner_health.json");
    let ready = fixture("runner/runner_health_ready.json");
    let src = FakeSource::new(clock.clone(), move |now, req: &Request| {
        let late = now - T0 >= 100 * SEC;
        match req.kind {
            SourceKind::RunnerExecAll => Reply::json(200, rows("j", 2, "running")),
            SourceKind::RunnerJobDefault => {
                Reply::json(200, r#"{"job":{},"status":"processing","executions":null}"#)
            }
            SourceKind::RouterHealth => Reply::json(200, fixture("router-observed/health.json")),
            SourceKind::RouterProviders => {
                Reply::json(200, fixture("router-observed/providers.json"))
            }
            SourceKind::RouterDebugProviders => Reply::json(
                200,
                if late {
                    debug_after.clone()
                } else {
                    debug_before.clone()
                },
            ),
            SourceKind::RouterCheckHistory => Reply::json(200, history.clone()),
            SourceKind::RouterMetrics => Reply::json(200, metrics.clone()),
            SourceKind::RunnerHealth => Reply::json(200, health.clone()),
            SourceKind::RunnerReady => Reply::json(if late { 503 } else { 200 }, ready.clone()),
            SourceKind::Custom => Reply::json(
                200,
                if late {
                    "# TYPE up gauge\nup 0\n"
                } else {
                    "# TYPE up gauge\nup 1\n"
                },
            ),
            // An older router without the rest: "not offered".
            _ => Reply::json(404, r#"{"detail":"Not Found"}"#),
        }
    });
    let mut opts = options(&["j"], 5.0);
    opts.targets.extras = true;
    opts.targets.endpoints = vec![("worker".into(), base("http://worker.test:9100/metrics"))];
    opts.max_runner_rpm = 1000;
    opts.stop = Stop::After(std::time::Duration::from_secs(400));
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let reqs = src.requests();
    assert!(reqs.iter().all(|(_, r)| !r.url.path().ends_with("/env")));
    // Once a minute (every 12th poll at 5 s): 7 times in 400 s; not offered: every 5 minutes.
    let times = |k: SourceKind| reqs.iter().filter(|(_, r)| r.kind == k).count();
    assert_eq!(times(SourceKind::RouterMetrics), 7);
    assert_eq!(
        times(SourceKind::RouterQueue),
        2,
        "asked again after five minutes"
    );
    assert_eq!(times(SourceKind::Custom), 7);
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let first: Vec<(String, String)> = snaps[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().into(),
                f["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (s, o) in [
        ("runner.health", "ok"),
        ("runner.ready", "ok"),
        ("router.metrics", "ok"),
        ("router.debug_providers", "ok"),
        ("router.health_check_history", "ok"),
        ("router.startup_status", "not_offered"),
        ("router.queue_status", "not_offered"),
        ("router.ready", "not_offered"),
        ("endpoint", "ok"),
    ] {
        assert!(
            first.contains(&(s.to_string(), o.to_string())),
            "{s} {o}: {first:?}"
        );
    }
    // diff: changed paths, not lines; the volatile ages and timestamps are no change.
    let d = bb(&db, &["diff", "first", "last", "--json"]).ok().json();
    let ep: Vec<&Value> = d["endpoints"].as_array().unwrap().iter().collect();
    let by = |s: &str| ep.iter().find(|e| e["source"] == s).copied();
    let dp = by("router.debug_providers").expect("debug providers changed");
    assert_eq!(
        dp["changes"],
        serde_json::json!([
            {"path": "providers[modal-us-east].healthy", "from": "false", "to": "true"}
        ])
    );
    let custom = ep.iter().find(|e| e["source"] == "endpoint").unwrap();
    assert_eq!(custom["name"], "worker");
    assert_eq!(
        custom["changes"][0],
        serde_json::json!({"path": "up", "from": "1", "to": "0"})
    );
    assert!(by("router.metrics").is_none(), "unchanged");
    assert!(
        by("router.health_check_history").is_none(),
        "only its ages changed"
    );
    // A bundle cut where no extra answer is (seq 2): its diff compares from each endpoint's
    // first answer in it, and says which.
    let bundle = db.with_extension("cut.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "2",
            "--to",
            "last",
            "--out",
            bundle.to_str().unwrap(),
        ],
    )
    .ok();
    let bd = bb(&bundle, &["diff", "first", "last", "--json"])
        .ok()
        .json();
    let bdp = bd["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "router.debug_providers")
        .expect("the change is seen in the bundle too");
    assert_eq!(bdp["changes"], dp["changes"]);
    assert!(bdp["from_seq"].as_u64().unwrap() > 2, "{bdp}");
    // The readiness probe's 503 is a failed request of that source.
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let counts = rep["endpoints"]["endpoints"].as_array().unwrap();
    let ready = counts
        .iter()
        .find(|c| c["source"] == "runner.ready")
        .unwrap();
    assert_eq!(
        (ready["ok"].as_u64(), ready["failed"].as_u64()),
        (Some(2), Some(5))
    );
    let q = counts
        .iter()
        .find(|c| c["source"] == "router.queue_status")
        .unwrap();
    assert_eq!(
        (q["not_offered"].as_u64(), q["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(rep["endpoints"]["checks"][0]["provider"], "modal-eu-west");
    // The timeline has the change, at the poll that saw it.
    let ev = bb(&db, &["replay", "--json"]).ok().stdout;
    let changed: Vec<Value> = ev
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "endpoint_changed" && e["source"] == "router.debug_providers")
        .collect();
    assert_eq!(changed.len(), 1);
    assert!(
        changed[0]["message"]
            .as_str()
            .unwrap()
            .contains("providers[modal-us-east].healthy false -> true")
    );
}

/// Leaves a note in the inbox marking seconds `from` to `to` after T0 (taken in when
/// recording starts).
fn mark(db: &std::path::Path, text: &str, from: i64, to: i64) {
    beacon_blackbox::store::notes::post(
        db,
        &beacon_blackbox::store::notes::NewNote {
            at: T0 + to * SEC,
            text: text.into(),
            mark_from: Some(T0 + from * SEC),
            mark_to: Some(T0 + to * SEC),
            created_at: T0,
        },
    )
    .unwrap();
}

fn size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// `--retain`: over a long run the file stops growing; what remains verifies and reads; a
/// window marked by a note is kept; the report says where the window starts.
#[test]
fn retention_keeps_the_file_flat_and_marked_windows() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |now, req: &Request| {
        let minute = (now - T0) / (60 * SEC);
        match req.kind {
            // One row changes every minute: new versions all along.
            SourceKind::RunnerExecAll => {
                let r: Vec<String> = (0..40)
                    .map(|i| {
                        let st = if i == minute % 40 { "running" } else { "completed" };
                        format!(r#"{{"id":{i},"status":"{st}","question_id":"q{i}","model_id":"m","region":"US"}}"#)
                    })
                    .collect();
                Reply::json(200, format!(r#"{{"executions":[{}]}}"#, r.join(",")))
            }
            SourceKind::RunnerJobDefault => {
                Reply::json(200, r#"{"job":{},"status":"processing","executions":null}"#)
            }
            SourceKind::RouterHealth => Reply::json(
                200,
                format!(
                    r#"{{"status":"healthy","timestamp":{},"providers_total":1,"providers_healthy":1,"regions":["us-east"]}}"#,
                    now as f64 / 1e6
                ),
            ),
            SourceKind::RouterProviders => Reply::json(200, r#"{"providers":[]}"#),
            _ => Reply::json(404, "{}"),
        }
    });
    let (_d, db) = tmp();
    // A note marking minutes 5 to 15, waiting in the inbox before recording starts.
    mark(&db, "keep this", 300, 900);
    let mut sizes = Vec::new();
    for _ in 0..4 {
        let mut opts = options(&["j"], 5.0);
        opts.retain = Some(std::time::Duration::from_secs(1800));
        opts.stop = Stop::Count(900);
        record_lib(&db, opts, &src, clock.clone());
        sizes.push(size(&db));
    }
    // 3600 polls (5 h) kept to 30 minutes: the file grows at first, then stays.
    assert!(sizes[3] <= sizes[1] + sizes[1] / 10, "sizes {sizes:?}");
    bb(&db, &["verify"]).ok();
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let seqs: Vec<u64> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    // The marked window (polls 61 to 181) and the last 30 minutes (360 polls) remain.
    assert!(
        seqs.contains(&61) && seqs.contains(&181),
        "{:?}",
        &seqs[..5]
    );
    assert!(!seqs.contains(&200) && !seqs.contains(&3000));
    assert!(seqs.len() < 560, "{} kept", seqs.len());
    // ... and every snapshot of the last 30 minutes (360 polls).
    assert!(
        (3241..=3600).all(|s| seqs.contains(&s)),
        "{:?}",
        &seqs[seqs.len() - 5..]
    );
    assert_eq!(*seqs.last().unwrap(), 3600);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let pruned = rep["recording"]["pruned"].as_array().unwrap();
    assert_eq!(pruned[0]["from_seq"], 1);
    assert_eq!(rep["recording"]["notes"][0]["text"], "keep this");
    // Every row is still there at the end, each in its state.
    let show = bb(&db, &["show", "--json"]).ok().json();
    assert_eq!(show["jobs"][0]["rows"], 40);
    assert_eq!(show["jobs"][0]["by_status"]["running"], 1);
    // The job's one version (seq 1, never changed) moved forward, not lost.
    assert_eq!(show["jobs"][0]["status"], "processing", "{show}");
    // The first snapshot after the marked window is whole too.
    let after = seqs.iter().find(|&&s| s > 181).unwrap().to_string();
    let mid = bb(&db, &["show", "--at", &after, "--json"]).ok().json();
    assert_eq!(mid["jobs"][0]["rows"], 40, "{mid}");
    assert_eq!(mid["jobs"][0]["status"], "processing", "{mid}");
    // ... with each row in its state there (the versions of the removed range moved to it):
    // the row of that minute is the one running.
    let running = bb(
        &db,
        &[
            "show", "--at", &after, "--rows", "--status", "running", "--json",
        ],
    )
    .ok()
    .json();
    let taken =
        chrono::DateTime::parse_from_rfc3339(running["snapshot"]["taken_at"].as_str().unwrap())
            .unwrap()
            .timestamp_micros();
    let minute = (taken - T0) / (60 * SEC);
    assert_eq!(
        running["jobs"][0]["rows"][0]["question_id"],
        format!("q{}", minute % 40),
        "{running}"
    );
    assert_eq!(running["jobs"][0]["rows"].as_array().unwrap().len(), 1);
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("Retention removed"), "{md}");
}

/// `--max-size`: answers of 256 KiB that do not compress, one per second, for 200 polls
/// (50 MiB received): the file stays near the size asked for, checked after every commit.
#[test]
fn max_size_holds_against_fast_growth() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |now, req: &Request| {
        // A different pseudo-random body at each poll (xorshift on the time).
        let mut x = (now as u64) | 1;
        let noise: String = (0..(256 << 10) / 16)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect();
        match req.kind {
            SourceKind::RouterHealth => Reply::json(
                200,
                format!(
                    r#"{{"status":"healthy","providers_total":1,"providers_healthy":1,"noise":"{noise}"}}"#
                ),
            ),
            SourceKind::RouterProviders => Reply::json(200, r#"{"providers":[]}"#),
            _ => Reply::json(404, "{}"),
        }
    });
    let (_d, db) = tmp();
    // A marked window (polls 11 to 21) is kept whatever the size.
    mark(&db, "keep", 10, 20);
    let mut opts = options(&[], 1.0);
    opts.max_size = Some(8 << 20);
    opts.stop = Stop::Count(200);
    record_lib(&db, opts, &src, clock);
    let len = size(&db);
    assert!(len < 12 << 20, "{len} bytes for --max-size 8MiB");
    bb(&db, &["verify"]).ok();
    let snaps = bb(&db, &["snapshots", "--json", "--all"]).ok().json();
    let seqs: Vec<u64> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(*seqs.last().unwrap(), 200);
    assert!(seqs.len() < 100, "{} snapshots kept", seqs.len());
    assert!((11..=21).all(|s| seqs.contains(&s)), "{:?}", &seqs[..15]);
    assert!(!seqs.contains(&30) && !seqs.contains(&150));
}

/// A window shorter than the five-minute pass (`--retain 8s`) is applied too.
#[test]
fn a_short_window_is_applied() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |now, req: &Request| match req.kind {
        SourceKind::RouterHealth => Reply::json(
            200,
            format!(
                r#"{{"status":"healthy","timestamp":{},"providers_total":1,"providers_healthy":1,"regions":[]}}"#,
                now as f64 / 1e6
            ),
        ),
        SourceKind::RouterProviders => Reply::json(200, r#"{"providers":[]}"#),
        _ => Reply::json(404, "{}"),
    });
    let mut opts = options(&[], 1.0);
    opts.targets.runner = None;
    opts.retain = Some(std::time::Duration::from_secs(8));
    opts.stop = Stop::Count(40);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let snaps = bb(&db, &["snapshots", "--json", "--all"]).ok().json();
    let n = snaps.as_array().unwrap().len();
    // 8 s at one poll a second, plus up to a pass's interval (2 s) not yet applied.
    assert!((8..=12).contains(&n), "{n} snapshots kept");
    bb(&db, &["verify"]).ok();
}

/// Two `--endpoint`s failing in different ways are two outages, each named.
#[test]
fn each_endpoint_fails_on_its_own() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |_, req: &Request| match req.kind {
        SourceKind::Custom if req.url.path() == "/a" => Reply::json(500, "{}"),
        SourceKind::Custom => Reply::json(200, "not json at all"),
        SourceKind::RouterHealth => Reply::json(
            200,
            r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":[]}"#,
        ),
        SourceKind::RouterProviders => Reply::json(200, r#"{"providers":[]}"#),
        _ => Reply::json(404, "{}"),
    });
    let mut opts = options(&[], 60.0);
    opts.targets.runner = None;
    opts.targets.extras = true;
    opts.targets.endpoints = vec![
        ("alpha".into(), base("http://w.test/a")),
        ("beta".into(), base("http://w.test/b")),
    ];
    opts.stop = Stop::Count(3);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let named: Vec<&str> = rep["fetch"]["outages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["endpoint"].as_str())
        .collect();
    assert_eq!(named, vec!["alpha", "beta"], "{}", rep["fetch"]);
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("endpoint alpha failed"), "{md}");
    assert!(md.contains("endpoint beta failed"), "{md}");
}

/// `note` while a recorder holds the file: the recorder takes it in before its next snapshot.
#[test]
fn a_note_is_taken_in_while_recording() {
    let s = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let mut rec = s.spawn_record(&db, "300ms");
    // Wait for the recorder to hold the file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !db.exists() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = bb(
        &db,
        &["note", "deploy <b>5442b72</b> started", "--mark", "1m"],
    )
    .ok();
    assert!(
        out.stdout.contains("taken in by the recorder"),
        "{}",
        out.stdout
    );
    // While a recorder holds the file, a note may lie past its last snapshot (on a finished
    // recording it may not: `loose_ends`).
    bb(&db, &["note", "--at", "+2h", "planned restart"]).ok();
    let _ = rec.kill();
    let _ = rec.wait();
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let notes: Vec<&Value> = snaps
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["notes"].as_array().unwrap())
        // Findings are said as notes too (the simulator at speed: its clocks run ahead).
        .filter(|n| !n["text"].as_str().unwrap().starts_with("finding "))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0]["text"], "deploy <b>5442b72</b> started");
    assert!(notes[0]["mark_from"].is_string());
    assert!(
        !beacon_blackbox::store::notes::inbox_of(&db)
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "json"))
    );
}

/// `cut`: the bundle verifies, its report equals the report of the same window of the
/// original, and any change to it breaks the seal.
#[test]
fn a_cut_bundle_is_sealed_and_reports_as_its_window() {
    let (d, db, _) = record_scenario("classic", 30.0);
    bb(&db, &["note", "during the window", "--at", "10"]).ok();
    let bundle = d.path().join("incident.redb");
    let b = bundle.to_str().unwrap();
    let out = bb(&db, &["cut", "--from", "5", "--to", "20", "--out", b]).ok();
    assert!(out.stdout.contains("seq 5-20"), "{}", out.stdout);
    let v = bb(&bundle, &["verify", "--json"]).ok().json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["bundle"]["manifest"]["from_seq"], 5);
    assert_eq!(v["bundle"]["manifest"]["counts"]["snapshots"], 16);
    assert_eq!(v["bundle"]["manifest"]["counts"]["notes"], 1);
    // The same report, from the bundle and from that window of the original.
    let whole = bb(&db, &["report", "--json", "--from", "5", "--to", "20"])
        .ok()
        .json();
    let cut = bb(&bundle, &["report", "--json"]).ok().json();
    assert_eq!(whole, cut);
    let a = bb(&db, &["show", "--at", "12", "--json"]).ok().json();
    let b2 = bb(&bundle, &["show", "--at", "12", "--json"]).ok().json();
    assert_eq!(a, b2);
    // Never written over anything.
    bb(&db, &["cut", "--from", "5", "--to", "6", "--out", b]).clean_failure();
    // Tampering: one string changed.
    {
        let rdb = redb::Database::open(&bundle).unwrap();
        let txn = rdb.begin_write().unwrap();
        {
            let mut t = txn
                .open_table(beacon_blackbox::store::schema::STRINGS)
                .unwrap();
            t.insert(0, "http://elsewhere/").unwrap();
        }
        txn.commit().unwrap();
    }
    let v = bb(&bundle, &["verify"]);
    assert_eq!(v.code, 1);
    assert!(v.stdout.contains("the seal is broken"), "{}", v.stdout);
}

/// `--log-format json`: one object per snapshot on stderr, for a service's journal.
#[test]
fn json_log_lines_for_a_service() {
    let s = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let mut args: Vec<String> = vec![
        "record".into(),
        "--runner".into(),
        s.runner.clone(),
        "--job".into(),
        s.job(),
        "--router".into(),
        s.router.clone(),
        "--interval".into(),
        "100ms".into(),
        "--max-runner-rpm".into(),
        "100000".into(),
        "--count".into(),
        "3".into(),
        "--log-format".into(),
        "json".into(),
    ];
    args.splice(0..0, ["--db".to_string(), db.display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = bb_plain(&refs).ok();
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let snaps: Vec<&Value> = lines.iter().filter(|l| l["event"] == "snapshot").collect();
    assert_eq!(snaps.len(), 3);
    assert_eq!(snaps[2]["seq"], 3);
    assert_eq!(snaps[0]["jobs"][0]["job"], s.job());
    assert!(snaps[0]["requests"].as_u64().unwrap() >= 4);
}
