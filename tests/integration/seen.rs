//! Issue 16: as seen, when seen. A value the recorder did not fetch in a poll is never read as
//! if it had been: the default view and the complete list are compared only within one poll
//! that fetched both, a carried value says its age, and cells and redeliveries are counted by
//! distinct execution.

use crate::common::*;
use beacon_blackbox::analysis::Recording;
use beacon_blackbox::analysis::lanes::{MarkerKind, lanes};
use beacon_blackbox::analysis::report;
use beacon_blackbox::analysis::summary::show;
use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::fetch::SourceKind;
use beacon_blackbox::record::Stop;
use beacon_blackbox::source::{FakeSource, Reply};
use beacon_blackbox::store::open_reader;
use serde_json::{Value, json};
use std::sync::Arc;

/// Whether snapshot `seq` fetched `job`'s default view and its complete list.
fn fetched_both(rec: &Recording, seq: u64, job: u32) -> (bool, bool) {
    let snap = &rec.snaps[rec.index_of(seq).unwrap()];
    let ok = |k: SourceKind| {
        snap.fetches.iter().any(|f| {
            f.job == Some(job)
                && f.source == k as u8
                && f.outcome() == beacon_blackbox::fetch::Outcome::Ok
        })
    };
    (
        ok(SourceKind::RunnerJobDefault),
        ok(SourceKind::RunnerExecAll),
    )
}

/// Every comparison of the view with the list, in every output built from the analysis, is
/// made within one poll that fetched both; and the plan did skip views.
fn assert_same_poll_only(name: &str, interval: f64) {
    let (_d, db, _) = record_scenario(name, interval);
    let rec = Recording::open(&open_reader(&db).unwrap()).unwrap();
    let (_, job) = rec.jobs[0].clone();
    let skipped = rec
        .infos
        .iter()
        .filter(|i| !fetched_both(&rec, i.seq, job).0)
        .count();
    assert!(
        skipped > 0,
        "{name} at {interval}s: the budget fetched every view, the test proves nothing"
    );
    let mut stated_age = 0;
    for info in &rec.infos {
        let out = show(&rec, info.seq, None).unwrap();
        let v = &out.jobs[0].default_view;
        let (view, list) = fetched_both(&rec, info.seq, job);
        assert_eq!(
            v.same_poll,
            view && list && v.rows.is_some(),
            "seq {}",
            info.seq
        );
        // Compared only within one poll; not compared is not known, never false or 0.
        assert_eq!(
            v.truncated.is_some() && v.hidden.is_some(),
            v.same_poll,
            "{name} seq {}: compared across polls, or said false for not compared",
            info.seq
        );
        if v.rows.is_some() && !view {
            let o = v.seen.expect("a carried view says when it was fetched");
            assert!(o.seq < info.seq && o.age_seconds > 0.0);
            assert!(fetched_both(&rec, o.seq, job).0);
            stated_age += 1;
        }
        if let Some(c) = v.last_compared {
            assert_eq!(fetched_both(&rec, c.seq, job), (true, true));
        }
    }
    assert!(stated_age > 0);
    let r = report(&rec, None).unwrap();
    let h = &r.jobs[0].history;
    for t in [h.max_truncation, h.first_truncation, h.last_compared]
        .into_iter()
        .flatten()
    {
        assert_eq!(
            fetched_both(&rec, t.seq, job),
            (true, true),
            "{name}: {t:?}"
        );
    }
    for f in &r.findings {
        if let beacon_blackbox::analysis::findings::Finding::DefaultViewTruncated {
            seq,
            first,
            ..
        } = f
        {
            assert_eq!(fetched_both(&rec, *seq, job), (true, true));
            if let Some(x) = first {
                assert_eq!(fetched_both(&rec, x.seq, job), (true, true));
            }
        }
    }
    // The answer describes one poll that fetched both.
    if let Some(v) = &r.jobs[0].answer.default_view
        && v.complete_then.is_some()
    {
        assert_eq!(fetched_both(&rec, v.seen.seq, job), (true, true));
    }
    // The page's marker is at such a poll too.
    let l = lanes(&rec, &r).unwrap();
    for m in &l.jobs[0].markers {
        if let MarkerKind::FirstTruncated { .. } = m.kind {
            let seq = rec.seq_at(m.at_us).unwrap();
            assert_eq!(fetched_both(&rec, seq, job), (true, true));
            assert_eq!(Some(m.at_us), h.first_truncation.map(|t| t.at.0));
        }
    }
    // The text says so: a carried view names its poll and is not compared.
    let carried = rec
        .infos
        .iter()
        .find(|i| !fetched_both(&rec, i.seq, job).0 && i.seq > 1)
        .unwrap()
        .seq;
    let text = bb(&db, &["show", "--at", &carried.to_string()]).ok().stdout;
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("default view:"))
        .unwrap();
    assert!(line.contains("as last fetched at seq"), "{line}");
    assert!(line.contains("not compared"), "{line}");
    assert!(!line.contains("TRUNCATED"), "{line}");
}

#[test]
fn cutoff_at_2s_compares_the_view_only_within_a_poll() {
    assert_same_poll_only("cutoff", 2.0);
}

#[test]
fn outage_at_2s_compares_the_view_only_within_a_poll() {
    assert_same_poll_only("outage", 2.0);
}

#[test]
fn classic_at_1s_compares_the_view_only_within_a_poll() {
    assert_same_poll_only("classic", 1.0);
}

/// The issue's case, made certain: the view fetched at seq 1 shows 0 rows, the plan skips it at
/// seq 2 and 3 while the list grows to 5. No poll fetched both with rows in them, so there is
/// no truncation, and the view at seq 3 is "0 rows as last fetched at seq 1".
#[test]
fn a_view_from_an_earlier_poll_is_never_compared() {
    let clock = Arc::new(ManualClock::new(T0));
    let rows = |n: i64| -> String {
        let r: Vec<String> = (1..=n)
            .map(|i| {
                format!(
                    r#"{{"id":{i},"status":"completed","question_id":"q","model_id":"m{i}","region":"us-east"}}"#
                )
            })
            .collect();
        format!(r#"{{"executions":[{}]}}"#, r.join(","))
    };
    let spec = r#"{"questions":["q"],"models":[{"id":"m1","regions":["US"]}],"constraints":{"regions":["US"]}}"#;
    let src = FakeSource::new(clock.clone(), move |now, req| {
        let poll = (now - T0) / 10_000_000 + 1;
        match req.kind {
            SourceKind::RunnerExecAll => Reply::json(200, rows(if poll == 1 { 0 } else { 5 })),
            // Only the first poll gets an answer of the view: later ones fail.
            SourceKind::RunnerJobDefault if poll == 1 => Reply::json(
                200,
                format!(r#"{{"job":{spec},"status":"processing","executions":null}}"#),
            ),
            SourceKind::RunnerJobDefault => {
                Reply::fault(beacon_blackbox::fetch::FetchErrorKind::ConnectRefused)
            }
            _ => Reply::json(404, "{}"),
        }
    });
    let mut opts = options(&["j"], 10.0);
    opts.targets.router = None;
    opts.stop = Stop::Count(3);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let s = bb(&db, &["show", "--at", "3", "--json"]).ok().json();
    let v = &s["jobs"][0]["default_view"];
    assert_eq!(v["rows"], 0);
    assert_eq!(v["complete_rows"], 5);
    // Not compared: not known, not false (issue 26).
    assert!(v["truncated"].is_null(), "{v}");
    assert!(v["hidden"].is_null(), "{v}");
    assert_eq!(v["same_poll"], false);
    assert_eq!(v["seen"]["seq"], 1);
    assert_eq!(v["seen"]["age_seconds"], 20.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert!(findings_of(&rep, "default_view_truncated").is_empty());
    let a = &rep["jobs"][0]["answer"]["default_view"];
    assert_eq!(a["seen"]["seq"], 1);
    assert_eq!(a["complete_then"], 0);
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(
        md.contains("showed 0 rows at ") && md.contains("(seq 1, the last poll that fetched it with the complete list, which had 0 rows then)"),
        "{md}"
    );
    assert!(!md.contains("default page, the newest"), "{md}");
}

/// A runner body that sends one execution twice under one id (a duplicated join row) beside
/// three real redeliveries: cells are counted by distinct execution.
#[test]
fn rows_sharing_an_id_are_not_second_runs() {
    let row = |id: i64, q: &str, t: &str| {
        json!({"id": id, "job_id": "j", "status": "failed", "region": "us-east",
               "provider_id": "", "model_id": "m", "question_id": q,
               "created_at": t, "started_at": t, "completed_at": t})
    };
    let mut rows = Vec::new();
    // Ten cells, one execution each; execution 1..=10 created at minute 1.
    for i in 1..=10 {
        rows.push(row(i, &format!("q{i}"), "2025-10-09T08:54:00Z"));
    }
    // Three redeliveries: cells q1..q3 run again (ids 11..13), created later.
    for i in 1..=3 {
        rows.push(row(10 + i, &format!("q{i}"), "2025-10-09T08:55:00Z"));
    }
    // The runner repeats ids 4..=8 and 11 within the body (a join that doubles rows).
    for i in [4, 5, 6, 7, 8] {
        rows.push(row(i, &format!("q{i}"), "2025-10-09T08:54:00Z"));
    }
    rows.push(row(11, "q1", "2025-10-09T08:55:00Z"));
    let all = json!({ "executions": rows }).to_string();
    let questions: Vec<String> = (1..=10).map(|i| format!("q{i}")).collect();
    let spec = json!({"questions": questions, "models": [{"id": "m", "regions": ["US"]}],
                      "constraints": {"regions": ["US"]}})
    .to_string();
    // The view shows the newest rows: the three redeliveries and four more.
    let shown: Vec<Value> = [11, 12, 13, 11, 1, 2, 3, 4]
        .iter()
        .map(|&i| json!({"id": i, "status": "failed"}))
        .collect();
    let view = json!({"job": serde_json::from_str::<Value>(&spec).unwrap(), "status": "failed",
                      "executions": shown})
    .to_string();
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |_, req| match req.kind {
        SourceKind::RunnerExecAll => Reply::json(200, all.clone()),
        SourceKind::RunnerJobDefault => Reply::json(200, view.clone()),
        _ => Reply::json(404, "{}"),
    });
    let mut opts = options(&["j"], 10.0);
    opts.targets.router = None;
    opts.stop = Stop::Count(2);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let j = &rep["jobs"][0];
    assert_eq!(j["rows"], 19);
    assert_eq!(j["cells"]["covered"], 10);
    assert_eq!(j["cells"]["duplicated"].as_array().unwrap().len(), 3);
    assert_eq!(j["cells"]["repeated_rows"], 6);
    let q1 = &j["cells"]["duplicated"][0];
    assert_eq!(q1["execution_ids"], json!([1, 11]));
    assert_eq!(q1["executions"], 2);
    assert_eq!(q1["rows"].as_array().unwrap().len(), 3);
    let a = &j["answer"];
    assert_eq!(a["complete"]["duplicated_cells"], 3);
    assert_eq!(a["complete"]["extra_runs"], 3);
    assert_eq!(a["complete"]["repeated_rows"], 6);
    // 11, 12 and 13 are second runs; 11 shown twice is still one execution.
    assert_eq!(a["default_view"]["duplicates_shown"], 3);
    let cov = &findings_of(&rep, "coverage")[0];
    assert_eq!(cov["duplicated_cells"], 3);
    assert_eq!(cov["extra_runs"], 3);
    assert_eq!(cov["repeated_rows"], 6);
    // The repeated ids are their own finding: the runner's duplicate rows, named and counted.
    let rep_ids = &findings_of(&rep, "repeated_ids")[0];
    let ids: Vec<(i64, i64)> = rep_ids["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["rows"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids, vec![(4, 2), (5, 2), (6, 2), (7, 2), (8, 2), (11, 2)]);
    assert!(
        rep_ids["message"]
            .as_str()
            .unwrap()
            .contains("not a second run"),
        "{}",
        rep_ids["message"]
    );
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("3 of them are second runs of a cell"), "{md}");
    assert!(
        md.contains("19 rows = 10 cells covered + 3 extra runs of 3 cells that ran more than once + 6 rows repeating an execution id"),
        "{md}"
    );
    // No view ever answered: no spec, so nothing expected (not "0 executions").
    let (_d, db) = record_polls(
        [
            Some(("failed", 2)),
            Some(("failed", 2)),
            Some(("failed", 2)),
        ],
        [None, None, None],
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let a = &rep["jobs"][0]["answer"];
    assert_eq!(a["expected"], Value::Null);
    assert_eq!(a["default_view"], Value::Null);
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("no spec was recorded, so how many executions it should have is unknown"),
        "{a}"
    );
}

/// Issue 16: while a job has not finished, what has not happened is said to have not happened
/// *so far*: "never got a row" and "stayed ... throughout" only of a finished job.
#[test]
fn an_unfinished_job_says_so_far() {
    let (_d, db, _) = record_scenario("cutoff", 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let m = &findings_of(&rep, "missing_cells")[0];
    assert_eq!(m["active"], "queued");
    let msg = m["message"].as_str().unwrap();
    assert!(msg.contains("had no row so far, by "), "{msg}");
    assert!(msg.contains("(the job was still queued)"), "{msg}");
    assert!(!msg.contains("never got a row"), "{msg}");
    let stayed = &findings_of(&rep, "status_stayed")[0];
    assert!(
        stayed["message"]
            .as_str()
            .unwrap()
            .ends_with("so far (not a final status)."),
        "{}",
        stayed["message"]
    );
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(
        md.contains("2 cells without a row so far (the job was still queued)"),
        "{md}"
    );
    // A finished job's missing cells never got a row.
    let (_d2, db2, _) = record_scenario("outage", 30.0);
    let rep = bb(&db2, &["report", "--json"]).ok().json();
    for f in findings_of(&rep, "status_stayed") {
        assert_eq!(f["active"], false, "{f}");
    }
}

/// Three polls of a job of four cells: `lists[k]` is poll k+1's complete list (status of rows
/// 1..=n, or `None`: the request times out), `views[k]` the ids its default view shows (or
/// `None`: times out).
fn record_polls(
    lists: [Option<(&'static str, i64)>; 3],
    views: [Option<&'static [i64]>; 3],
) -> (tempfile::TempDir, std::path::PathBuf) {
    let clock = Arc::new(ManualClock::new(T0));
    let spec = r#"{"questions":["q1","q2","q3","q4"],"models":[{"id":"m","regions":["US"]}],"constraints":{"regions":["US"]}}"#;
    let src = FakeSource::new(clock.clone(), move |now, req| {
        let k = ((now - T0) / 10_000_000) as usize;
        let timeout = || Reply::fault(beacon_blackbox::fetch::FetchErrorKind::Timeout);
        match req.kind {
            SourceKind::RunnerExecAll => match lists.get(k).copied().flatten() {
                Some((status, n)) => {
                    let r: Vec<String> = (1..=n)
                        .map(|i| {
                            format!(
                                r#"{{"id":{i},"status":"{status}","question_id":"q{i}","model_id":"m","region":"us-east"}}"#
                            )
                        })
                        .collect();
                    Reply::json(200, format!(r#"{{"executions":[{}]}}"#, r.join(",")))
                }
                None => timeout(),
            },
            SourceKind::RunnerJobDefault => match views.get(k).copied().flatten() {
                Some(ids) => {
                    let r: Vec<String> = ids
                        .iter()
                        .map(|i| format!(r#"{{"id":{i},"status":"x"}}"#))
                        .collect();
                    Reply::json(
                        200,
                        format!(
                            r#"{{"job":{spec},"status":"processing","executions":[{}]}}"#,
                            r.join(",")
                        ),
                    )
                }
                None => timeout(),
            },
            _ => timeout(),
        }
    });
    let mut opts = options(&["j"], 10.0);
    opts.targets.router = None;
    opts.stop = Stop::Count(3);
    let (d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    (d, db)
}

/// The answer's default view is the poll it names, whole: the ids that poll's view showed and
/// the statuses the list of that same poll gave them, never the last snapshot's.
#[test]
fn the_answer_describes_the_view_as_its_poll_saw_it() {
    // Poll 3 shows another view but its list timed out: the answer describes poll 2.
    let (_d, db) = record_polls(
        [Some(("running", 3)), Some(("failed", 4)), None],
        [Some(&[3, 2]), Some(&[4]), Some(&[4, 3])],
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let v = &rep["jobs"][0]["answer"]["default_view"];
    assert_eq!(v["seen"]["seq"], 2);
    assert_eq!(v["ids"], json!([4]));
    assert_eq!(v["complete_then"], 4);
    assert_eq!(v["by_status"], json!({"failed": 1}));
    assert_eq!(v["truncated"], true);
    // Poll 3's list changed the statuses, its view timed out: poll 2's statuses are said.
    let (_d, db) = record_polls(
        [
            Some(("running", 3)),
            Some(("running", 4)),
            Some(("failed", 4)),
        ],
        [Some(&[3, 2]), Some(&[4, 3]), None],
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let v = &rep["jobs"][0]["answer"]["default_view"];
    assert_eq!(v["seen"]["seq"], 2);
    assert_eq!(v["by_status"], json!({"running": 2}));
    assert_eq!(rep["jobs"][0]["by_status"], json!({"failed": 4}));
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(
        md.contains("showed 2 rows, all running at ") && md.contains("(seq 2, the last poll that fetched it with the complete list, which had 4 rows then)"),
        "{md}"
    );
}

/// Issue 16: every scenario's findings, kind by kind, in order (issue 26: the story first): a
/// finding that appears where it should not, or goes missing, fails here (the cargo-mutants
/// gaps of `findings.rs`). And each
/// finding's job, as the exports carry it, is the job the finding names.
#[test]
fn each_scenario_has_exactly_its_findings() {
    for (name, want) in [
        (
            "classic",
            vec![
                "router_all_healthy",
                "failure_signature",
                "exact_duration",
                "failure_span",
                "coverage",
                "default_view_truncated",
                "provider_state",
                "status_changed",
            ],
        ),
        (
            "cutoff",
            vec![
                "failure_signature",
                "failure_span",
                "coverage",
                "unplanned_regions",
                "missing_cells",
                "unexpected_rows",
                "provider_state",
                "provider_state",
                "status_stayed",
                "router_all_healthy",
            ],
        ),
        (
            "outage",
            vec![
                "fetch_outage",
                "fetch_outage",
                "failed_while_all_healthy",
                "provider_state",
                "failure_signature",
                "exact_duration",
                "near_instant_failures",
                "failure_span",
                "rows_without_cell",
                "router_changes",
                "provider_state",
                "coverage",
                "status_changed",
            ],
        ),
        (
            "legacy",
            vec![
                "default_view_truncated",
                "coverage",
                "status_changed",
                "router_all_healthy",
            ],
        ),
    ] {
        let (d, db, _) = record_scenario(name, 30.0);
        let rep = bb(&db, &["report", "--json"]).ok().json();
        let kinds: Vec<&str> = rep["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, want, "{name}");
        let out = d.path().join("jl");
        bb(
            &db,
            &[
                "export",
                "--format",
                "jsonl",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .ok();
        let text = std::fs::read_to_string(out.join("findings.jsonl")).unwrap();
        for line in text.lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            let data: Value = serde_json::from_str(row["data"].as_str().unwrap()).unwrap();
            assert_eq!(row["job"], data["job"], "{name}: {row}");
        }
        if name == "outage" {
            assert!(
                text.contains("\"job\":\"bias-detection"),
                "a job's finding carries it"
            );
        }
    }
    // The classic view first fell behind the list before it hid the most.
    let (_d, db, _) = record_scenario("classic", 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let t = &findings_of(&rep, "default_view_truncated")[0];
    assert_eq!(
        (t["shown"].as_u64(), t["complete"].as_u64()),
        (Some(20), Some(44))
    );
    assert_eq!(
        (
            t["first"]["shown"].as_u64(),
            t["first"]["complete"].as_u64()
        ),
        (Some(20), Some(24))
    );
    assert!(t["first"]["seq"].as_u64() < t["seq"].as_u64());
}

/// A finished job's cells without a row never got one; its status stayed. A job with no spec
/// has no coverage, only rows.
#[test]
fn a_finished_job_never_got_its_rows() {
    let clock = Arc::new(ManualClock::new(T0));
    let spec = r#"{"questions":["q1","q2","q3","q4"],"models":[{"id":"m","regions":["US"]}],"constraints":{"regions":["US"]}}"#;
    let rows = r#"{"executions":[{"id":1,"status":"failed","question_id":"q1","model_id":"m","region":"us-east"},{"id":2,"status":"failed","question_id":"q2","model_id":"m","region":"us-east"}]}"#;
    let src = FakeSource::new(clock.clone(), move |_, req| match req.kind {
        SourceKind::RunnerExecAll => Reply::json(200, rows),
        SourceKind::RunnerJobDefault => Reply::json(
            200,
            format!(r#"{{"job":{spec},"status":"failed","executions":null}}"#),
        ),
        _ => Reply::json(404, "{}"),
    });
    let mut opts = options(&["j"], 10.0);
    opts.targets.router = None;
    opts.stop = Stop::Count(2);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let m = &findings_of(&rep, "missing_cells")[0];
    assert_eq!(m["active"], Value::Null);
    assert!(
        m["message"].as_str().unwrap().contains("never got a row"),
        "{m}"
    );
    let st = &findings_of(&rep, "status_stayed")[0];
    assert_eq!(st["active"], false);
    assert!(!st["message"].as_str().unwrap().contains("so far"));
    assert_eq!(rep["jobs"][0]["answer"]["active"], Value::Null);
    // No view ever answered: no spec, so no coverage, only what was seen.
    let (_d, db) = record_polls(
        [
            Some(("failed", 2)),
            Some(("failed", 2)),
            Some(("failed", 2)),
        ],
        [None, None, None],
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(findings_of(&rep, "no_spec").len(), 1);
    assert!(findings_of(&rep, "coverage").is_empty());
    // The page's figures say the same: no cells to count.
    assert!(rep["jobs"][0]["answer"]["expected"].is_null());
    crate::page_scale::figures_are_the_reports(&db);
}

/// The common duration of failures is a finding when at least half of them share it, and a
/// timeout is named when the rows' error code says so (with no stage).
#[test]
fn a_shared_duration_needs_half_the_failures() {
    let run = |durations: &'static [i64]| {
        let clock = Arc::new(ManualClock::new(T0));
        let src = FakeSource::new(clock.clone(), move |_, req| {
            let rows: Vec<String> = durations
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    format!(
                        r#"{{"id":{},"status":"failed","question_id":"q{i}","model_id":"m","region":"us-east","started_at":"2025-10-09T08:00:00Z","completed_at":"2025-10-09T08:{:02}:{:02}Z","output":{{"error":"x","error_code":"ROUTER_TIMEOUT"}}}}"#,
                        i + 1,
                        d / 60,
                        d % 60
                    )
                })
                .collect();
            match req.kind {
                SourceKind::RunnerExecAll => {
                    Reply::json(200, format!(r#"{{"executions":[{}]}}"#, rows.join(",")))
                }
                _ => Reply::json(404, "{}"),
            }
        });
        let mut opts = options(&["j"], 10.0);
        opts.targets.router = None;
        opts.stop = Stop::Count(1);
        let (d, db) = tmp();
        record_lib(&db, opts, &src, clock);
        let rep = bb(&db, &["report", "--json"]).ok().json();
        drop(d);
        rep
    };
    let rep = run(&[120, 120, 120, 30, 45, 61]);
    let e = findings_of(&rep, "exact_duration");
    assert_eq!(e.len(), 1, "3 of 6 share 120 s");
    assert_eq!(
        (e[0]["seconds"].as_i64(), e[0]["count"].as_i64()),
        (Some(120), Some(3))
    );
    assert_eq!(
        e[0]["timeout_named"], true,
        "the error code names a timeout"
    );
    let rep = run(&[120, 120, 120, 30, 45, 61, 90]);
    assert!(
        findings_of(&rep, "exact_duration").is_empty(),
        "3 of 7 is less than half"
    );
}

/// Rows failed by the router or a provider while `/health` said all was well: read from the
/// error code in their `output` (ROUTER…, PROVIDER…) or, failing that, from the failure's
/// stage (router…, …provider…); each is enough alone, and neither is a runner's own failure.
#[test]
fn failed_while_all_healthy_reads_the_code_or_the_stage() {
    let clock = Arc::new(ManualClock::new(T0));
    let rows = |failed: bool| -> String {
        let st = if failed { "failed" } else { "running" };
        let r = [
            (1, r#"{"error_code":"PROVIDER_ERROR","failure":{"stage":"inference"}}"#),
            (2, r#"{"error_code":"ROUTER_TIMEOUT"}"#),
            (3, r#"{"failure":{"stage":"provider_call"}}"#),
            (4, r#"{"error_code":"RUNNER_PANIC","failure":{"stage":"setup"}}"#),
        ]
        .map(|(i, output)| {
            format!(
                r#"{{"id":{i},"status":"{st}","question_id":"q","model_id":"m{i}","region":"us-east","output":{output}}}"#
            )
        });
        format!(r#"{{"executions":[{}]}}"#, r.join(","))
    };
    let src = FakeSource::new(clock.clone(), move |now, req| {
        let poll = (now - T0) / 10_000_000 + 1;
        match req.kind {
            SourceKind::RunnerExecAll => Reply::json(200, rows(poll >= 2)),
            SourceKind::RouterHealth => Reply::json(
                200,
                r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":["us-east"]}"#,
            ),
            _ => Reply::json(404, "{}"),
        }
    });
    let mut opts = options(&["j"], 10.0);
    opts.stop = Stop::Count(3);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(
        rep["router"]["failed_while_all_healthy"], 3,
        "{}",
        rep["router"]
    );
}
