//! The poll loop on a scripted source and a manual clock: the budget scheduler, 429s, older
//! runners, the stop conditions. No sockets, no sleeps: ten minutes of recording run in well
//! under a second.

use crate::common::*;
use beacon_blackbox::analysis::Recording;
use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::fetch::{Outcome, Request, SourceKind};
use beacon_blackbox::record::Stop;
use beacon_blackbox::source::{FakeSource, Reply};
use beacon_blackbox::store::open_reader;
use std::sync::Arc;
use std::time::Duration;

fn row(id: i64, q: usize) -> String {
    format!(
        r#"{{"id":{id},"status":"failed","region":"us-east","provider_id":"","model_id":"m","question_id":"q{q}","started_at":"2025-10-09T08:53:20Z","completed_at":"2025-10-09T08:55:20Z","created_at":"2025-10-09T08:53:20Z"}}"#
    )
}

fn rows(n: usize, first: i64) -> Vec<String> {
    (0..n).map(|i| row(first + i as i64, i)).collect()
}

fn spec(n: usize) -> String {
    let qs: Vec<String> = (0..n).map(|i| format!("\"q{i}\"")).collect();
    format!(
        r#"{{"questions":[{}],"constraints":{{"regions":["US"]}},"models":[{{"id":"m","regions":["US"]}}]}}"#,
        qs.join(",")
    )
}

/// A runner with `n` rows per job (ids from 1000 per job) and a router, answering like the
/// real ones.
fn world(n: usize) -> impl Fn(i64, &Request) -> Reply + Send + Sync + 'static {
    move |_, req| {
        let job_no = req
            .job
            .as_deref()
            .and_then(|j| j.rsplit('-').next())
            .and_then(|k| k.parse::<i64>().ok())
            .unwrap_or(0);
        let all = rows(n, 1000 * (job_no + 1));
        match req.kind {
            SourceKind::RunnerExecAll => {
                Reply::json(200, format!(r#"{{"executions":[{}]}}"#, all.join(",")))
            }
            SourceKind::RunnerJobDefault | SourceKind::RunnerJobPage => {
                let q: std::collections::HashMap<String, String> =
                    req.url.query_pairs().into_owned().collect();
                let limit = q
                    .get("exec_limit")
                    .and_then(|v| v.parse().ok())
                    .filter(|v| (1..=200).contains(v))
                    .unwrap_or(20usize);
                let offset = q
                    .get("exec_offset")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0usize);
                let page: Vec<&String> = all.iter().skip(offset).take(limit).collect();
                let page = if page.is_empty() {
                    "null".to_string()
                } else {
                    format!(
                        "[{}]",
                        page.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
                    )
                };
                Reply::json(
                    200,
                    format!(
                        r#"{{"job":{},"status":"processing","executions":{page}}}"#,
                        spec(n)
                    ),
                )
            }
            SourceKind::RouterHealth => Reply::json(
                200,
                r#"{"status":"healthy","timestamp":1760000000.5,"providers_total":1,"providers_healthy":1,"regions":["us-east"]}"#,
            ),
            SourceKind::RouterProviders => Reply::json(
                200,
                r#"{"providers":[{"name":"modal-us-east","type":"modal","region":"us-east","healthy":true,"last_health_check":1760000000.1}]}"#,
            ),
            SourceKind::RunnerAdminQueue => Reply::json(200, r#"{"main":0}"#),
            _ => Reply::json(404, r#"{"detail":"Not Found"}"#),
        }
        .after_us(2_000)
    }
}

fn runner_requests(src: &FakeSource) -> Vec<(i64, Request)> {
    src.requests()
        .into_iter()
        .filter(|(_, r)| r.kind.is_runner())
        .collect()
}

/// The most runner requests sent in any 60 s window.
fn busiest_minute(reqs: &[(i64, Request)]) -> usize {
    let times: Vec<i64> = reqs.iter().map(|(t, _)| *t).collect();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= 60_000_000 {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// Per snapshot: (seq, start µs, outcome of each job's complete list).
fn list_outcomes(db: &std::path::Path) -> Vec<(u64, i64, Vec<Outcome>)> {
    let d = open_reader(db).unwrap();
    let rec = Recording::open(&d).unwrap();
    rec.infos
        .iter()
        .zip(&rec.snaps)
        .map(|(i, s)| {
            let o = s
                .fetches
                .iter()
                .filter(|f| SourceKind::from_u8(f.source).is_some_and(SourceKind::is_list))
                .map(|f| f.outcome())
                .collect();
            (i.seq, i.started_at, o)
        })
        .collect()
}

/// Issue 8: interval 1 s, two jobs, 50 rpm, 10 minutes: the recorder never blinds itself.
#[test]
fn a_tight_budget_never_costs_a_complete_list() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), world(30));
    let mut opts = options(&["job-0", "job-1"], 1.0);
    opts.stop = Stop::After(Duration::from_secs(600));
    let (_d, db) = tmp();
    let (summary, heard) = record_lib(&db, opts, &src, clock.clone());
    // Said once, with the interval used and why.
    assert_eq!(heard.warnings.len(), 1, "{:?}", heard.warnings);
    assert!(
        heard.warnings[0].contains("polling every 3.3s instead")
            && heard.warnings[0].contains("--max-runner-rpm"),
        "{}",
        heard.warnings[0]
    );
    // Every poll has both complete lists, none skipped.
    let outcomes = list_outcomes(&db);
    assert!(outcomes.len() >= 175, "{} polls", outcomes.len());
    for (seq, _, o) in &outcomes {
        assert_eq!(o, &vec![Outcome::Ok, Outcome::Ok], "seq {seq}");
    }
    assert_eq!(summary.gaps, 0);
    assert_eq!(summary.failed, 0);
    // Evenly spaced, within the budget in every minute, and on time.
    let starts: Vec<i64> = outcomes.iter().map(|o| o.1).collect();
    assert!(starts.windows(2).all(|w| w[1] - w[0] == 3_334_000));
    let reqs = runner_requests(&src);
    assert!(busiest_minute(&reqs) <= 50, "{}", busiest_minute(&reqs));
    assert!(*starts.last().unwrap() < T0 + 600_000_000);
    // Default views on every 4th poll.
    let views = reqs
        .iter()
        .filter(|(_, r)| r.kind == SourceKind::RunnerJobDefault)
        .count();
    assert_eq!(views, 2 * outcomes.len().div_ceil(4));
}

/// Issue 8: a 429 pauses the runner for as long as it asks, and recording resumes right then.
#[test]
fn a_429_pauses_the_runner_and_recovery_comes_right_after() {
    for (retry_after, pause) in [(Some(20u64), 20_000_000i64), (None, 5_000_000)] {
        let clock = Arc::new(ManualClock::new(T0));
        let good = world(10);
        let src = FakeSource::new(clock.clone(), move |t, req| {
            // The runner is shared: for one second it refuses everyone.
            if req.kind.is_runner() && (T0 + 120_000_000..T0 + 121_000_000).contains(&t) {
                return Reply::too_many(retry_after);
            }
            good(t, req)
        });
        let mut opts = options(&["job-0"], 5.0);
        opts.stop = Stop::After(Duration::from_secs(200));
        let (_d, db) = tmp();
        let (summary, _) = record_lib(&db, opts, &src, clock.clone());
        let reqs = runner_requests(&src);
        let at_429 = reqs
            .iter()
            .position(|(t, _)| *t >= T0 + 120_000_000)
            .unwrap();
        assert_eq!(reqs[at_429].0, T0 + 120_000_000);
        // Nothing is sent during the pause; the next request comes the moment it ends.
        assert_eq!(
            reqs[at_429 + 1].0,
            T0 + 120_000_000 + 1_000 + pause,
            "{retry_after:?}"
        );
        let outcomes = list_outcomes(&db);
        let after: Vec<&(u64, i64, Vec<Outcome>)> = outcomes
            .iter()
            .filter(|o| o.1 >= T0 + 120_000_000)
            .collect();
        assert_eq!(after[0].2, vec![Outcome::HttpError], "the 429 itself");
        let waiting: Vec<_> = after
            .iter()
            .take_while(|o| o.2 != vec![Outcome::Ok])
            .skip(1)
            .collect();
        assert!(waiting.iter().all(|o| o.2 == vec![Outcome::Waiting]));
        assert_eq!(waiting.len() as i64, (pause - 1) / 5_000_000);
        // Recovered for good.
        assert!(
            after
                .iter()
                .skip(1 + waiting.len())
                .all(|o| o.2 == vec![Outcome::Ok])
        );
        assert_eq!(summary.failed, 1);
        assert_eq!(summary.gaps, waiting.len());
    }
}

/// Issue 8: an older runner's 404 is remembered: at most one probe per 5 minutes, pages
/// meanwhile, and every poll still has the complete list.
#[test]
fn an_older_runner_is_probed_every_five_minutes_and_paged_between() {
    let clock = Arc::new(ManualClock::new(T0));
    let inner = world(225);
    let src = FakeSource::new(clock.clone(), move |t, req| {
        if req.kind == SourceKind::RunnerExecAll {
            return Reply::json(404, "404 page not found\n");
        }
        inner(t, req)
    });
    let mut opts = options(&["job-0"], 5.0);
    opts.stop = Stop::After(Duration::from_secs(1200));
    let (_d, db) = tmp();
    let (summary, _) = record_lib(&db, opts, &src, clock.clone());
    let probes: Vec<i64> = src
        .requests()
        .iter()
        .filter(|(_, r)| r.kind == SourceKind::RunnerExecAll)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(probes.len(), 4, "{probes:?}");
    assert!(probes.windows(2).all(|w| w[1] - w[0] >= 300_000_000));
    assert_eq!(summary.failed, 0, "an older runner's 404 is not a failure");
    let d = open_reader(&db).unwrap();
    let rec = Recording::open(&d).unwrap();
    for info in &rec.infos {
        assert_eq!(rec.reader.execs_at(0, info.seq).unwrap().len(), 225);
    }
}

/// Issue 8: `--count N` is N committed snapshots; `--duration` starts no poll after its end
/// and drops a poll that runs past it by more than the timeout.
#[test]
fn stop_conditions_are_kept() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), world(5));
    let mut opts = options(&["job-0"], 2.0);
    opts.stop = Stop::Count(7);
    let (_d, db) = tmp();
    let (s, _) = record_lib(&db, opts, &src, clock.clone());
    assert_eq!(s.snapshots, 7);
    assert_eq!(list_outcomes(&db).len(), 7);

    // The runner hangs for 100 s from second 49; the deadline is 50 s, the timeout 10 s.
    let clock = Arc::new(ManualClock::new(T0));
    let inner = world(5);
    let src = FakeSource::new(clock.clone(), move |t, req| {
        let r = inner(t, req);
        if t >= T0 + 49_000_000 && req.kind.is_runner() {
            r.after_us(100_000_000)
        } else {
            r
        }
    });
    let mut opts = options(&["job-0"], 1.0);
    opts.max_runner_rpm = 1000;
    opts.stop = Stop::After(Duration::from_secs(50));
    let (_d, db) = tmp();
    let (s, _) = record_lib(&db, opts, &src, clock.clone());
    assert!(s.dropped_at_deadline);
    let outcomes = list_outcomes(&db);
    assert_eq!(
        outcomes.len(),
        49,
        "polls 0..48 committed, 49 dropped whole"
    );
    assert!(outcomes.iter().all(|o| o.1 < T0 + 50_000_000));
    assert_eq!(s.snapshots, 49);
}

/// The whole classic incident through the simulator's own answers on a manual clock: every row
/// the scenario wrote, on one clock (no skew), in milliseconds.
#[test]
fn a_scenario_recorded_on_one_clock_agrees_with_the_simulator() {
    let (_d, db, heard) = record_scenario("classic", 10.0);
    assert!(heard.warnings.is_empty(), "{:?}", heard.warnings);
    let truth =
        beacon_blackbox::sim::world_at(&beacon_blackbox::sim::builtin("classic").unwrap(), 1e9);
    let d = open_reader(&db).unwrap();
    let rec = Recording::open(&d).unwrap();
    let last = rec.infos.last().unwrap();
    let execs = rec.reader.execs_at(0, last.seq).unwrap();
    assert_eq!(execs.len(), truth.rows.len());
    for (id, r) in &truth.rows {
        assert_eq!(execs[id].status, r.status);
        // Row times and snapshot times are one clock: second 0 of the scenario is T0.
        assert_eq!(execs[id].started_at, Some(T0 + (r.started * 1e6) as i64));
    }
    let rep = beacon_blackbox::analysis::report(&rec, None).unwrap();
    assert!(rep.jobs[0].history.clock_skew.is_none());
    assert!(
        !rep.findings.iter().any(|f| matches!(
            f,
            beacon_blackbox::analysis::findings::Finding::ClockSkew { .. }
        )),
        "{:?}",
        rep.findings
    );
}

/// Issue 8: a full disk (here a file that may not grow past 2 MiB) names its cause, stops the
/// recorder once commits keep failing, and leaves a valid file with every snapshot
/// that was committed.
#[test]
fn a_full_disk_stops_recording_and_keeps_what_was_committed() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), |t, req| {
        // Every poll changes every row: the file grows fast.
        let status = ["running", "failed", "completed"][((t - T0) / 5_000_000 % 3) as usize];
        let rows: Vec<String> = (0..500)
            .map(|i| {
                format!(
                    r#"{{"id":{i},"status":"{status}","model_id":"m","question_id":"q{i}","region":"US","output":{{"error":"{}"}}}}"#,
                    "x".repeat(200)
                )
            })
            .collect();
        match req.kind {
            SourceKind::RunnerExecAll => {
                Reply::json(200, format!(r#"{{"executions":[{}]}}"#, rows.join(",")))
            }
            _ => Reply::json(200, r#"{"status":"healthy","providers_total":0}"#),
        }
    });
    let mut opts = options(&["job-0"], 5.0);
    opts.stop = Stop::Count(200);
    opts.disk_limit = Some(2 << 20);
    // Durable commits: a non-durable one stays in memory and would not meet the full disk.
    opts.durable = true;
    let (_d, db) = tmp();
    let (s, heard) = record_lib(&db, opts, &src, clock);
    let cause = s.gave_up.expect("stopped on the full disk");
    assert!(cause.contains("No space left on device"), "{cause}");
    assert!(s.snapshots > 0 && s.snapshots < 200, "{}", s.snapshots);
    assert!(heard.write_errors.len() >= 3);
    assert!(
        heard
            .write_errors
            .iter()
            .all(|e| e.contains("No space left on device")),
        "{:?}",
        heard.write_errors
    );
    let v = bb(&db, &["verify"]).ok();
    assert!(
        v.stdout.contains(&format!("ok: {} snapshots", s.snapshots)),
        "{}",
        v.stdout
    );
}
