//! Issue 26: unknown is null. A field that compares two sources, or carries state from an
//! earlier poll, is `null` where it was not observed or compared for the moment described —
//! never `false` or 0, which a script would read as "complete" — with the last observation
//! beside it.

use super::common::*;
use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::fetch::FetchErrorKind;
use beacon_blackbox::sim;
use beacon_blackbox::source::{FakeSource, Reply};
use serde_json::Value;
use std::sync::Arc;

/// Every object of `v`, depth first, with its path.
fn objects<'a>(
    v: &'a Value,
    path: String,
    out: &mut Vec<(String, &'a serde_json::Map<String, Value>)>,
) {
    match v {
        Value::Object(m) => {
            out.push((path.clone(), m));
            for (k, x) in m {
                objects(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                objects(x, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The rules: what was not compared is null, with the last comparison beside it.
fn check(v: &Value, what: &str) -> usize {
    let mut all = Vec::new();
    objects(v, what.to_string(), &mut all);
    let mut checked = 0;
    for (path, m) in all {
        if m.get("same_poll") == Some(&Value::Bool(false)) {
            checked += 1;
            assert!(
                m["truncated"].is_null(),
                "{path}: truncated not compared: {m:?}"
            );
            assert!(m["hidden"].is_null(), "{path}: hidden not compared: {m:?}");
            assert!(
                m.contains_key("last_compared"),
                "{path}: the last comparison beside"
            );
        }
        if m.get("complete_then") == Some(&Value::Null) {
            checked += 1;
            assert!(m["truncated"].is_null(), "{path}: {m:?}");
            assert!(m["by_status"].is_null(), "{path}: {m:?}");
            assert!(m["seen"].is_object(), "{path}: the poll it is as of");
        }
        if m.get("health_polls") == Some(&Value::from(0)) {
            checked += 1;
            assert!(m["all_healthy_throughout"].is_null(), "{path}: {m:?}");
            assert!(m["failed_while_all_healthy"].is_null(), "{path}: {m:?}");
        }
    }
    checked
}

/// A budget-limited recording (the default view fetched only every few polls): at every
/// snapshot, `show --json` says nothing was compared where nothing was, and the report too.
#[test]
fn a_budget_limited_recording_never_says_false_for_not_seen() {
    let scenario = sim::builtin("classic").unwrap();
    let end = scenario.end;
    let job = scenario.jobs[0].id.clone();
    let clock = Arc::new(ManualClock::new(T0));
    let s = sim::Sim::with_clock(scenario, clock.clone(), T0, 1.0, Some(0));
    let src = sim::SimSource::new(s, 10_000_000, false);
    // One job every 2 s within 50 requests a minute: the view every few polls.
    let mut opts = options(&[&job], 2.0);
    opts.targets.router = None;
    opts.stop =
        beacon_blackbox::record::Stop::After(std::time::Duration::from_secs_f64(end.min(240.0)));
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let n = snaps.as_array().unwrap().len();
    let mut checked = 0;
    let mut uncompared = 0;
    for seq in 1..=n {
        let show = bb(&db, &["show", "--json", "--at", &seq.to_string()])
            .ok()
            .json();
        if show["jobs"][0]["default_view"]["same_poll"] == false {
            uncompared += 1;
        }
        checked += check(&show, &format!("show@{seq}"));
    }
    assert!(
        uncompared > n / 3,
        "the budget thinned the views: {uncompared} of {n}"
    );
    assert!(checked >= uncompared, "{checked}");
    let rep = bb(&db, &["report", "--json"]).ok().json();
    check(&rep, "report");
}

/// A router whose `/health` never answered: "all healthy throughout" is not known, not false;
/// a job whose view never answered: `found` is not known.
#[test]
fn a_router_never_answered_is_not_unhealthy_and_a_job_never_viewed_is_not_found_unknown() {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), |_, req| {
        if req.url.path().ends_with("/executions/all") {
            return Reply::json(200, r#"{"executions":null}"#);
        }
        if req.url.path().starts_with("/api/v1/jobs/") {
            return Reply::json(503, r#"{"error":"persistence unavailable"}"#);
        }
        Reply::fault(FetchErrorKind::ConnectRefused)
    });
    let mut opts = options(&["job-x"], 10.0);
    opts.stop = beacon_blackbox::record::Stop::Count(4);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(rep["router"]["health_polls"], 0);
    assert!(check(&rep, "report") >= 1);
    let show = bb(&db, &["show", "--json"]).ok().json();
    assert!(show["jobs"][0]["found"].is_null(), "{}", show["jobs"][0]);
    assert!(
        show["jobs"][0]["list_seen"].is_object(),
        "the list was read: its poll beside"
    );
}

/// Issue 26: while a job has not finished, every view says what has not happened *so far*
/// (the finding, `show`, the figures, the grid, the Markdown matrix) and the JSON says
/// `final: false`; once it has finished, none does.
#[test]
fn so_far_is_said_in_every_view_while_a_job_is_active() {
    let scenario = sim::builtin("classic").unwrap();
    let job = scenario.jobs[0].id.clone();
    let clock = Arc::new(ManualClock::new(T0));
    let s = sim::Sim::with_clock(scenario, clock.clone(), T0, 1.0, Some(0));
    let src = sim::SimSource::new(s, 10_000_000, false);
    let mut opts = options(&[&job], 30.0);
    opts.targets.router = None;
    // Stopped while the job is still processing, with cells not yet run.
    opts.stop = beacon_blackbox::record::Stop::After(std::time::Duration::from_secs(200));
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let j = &rep["jobs"][0];
    assert_eq!(j["final"], false, "{}", j["status"]);
    assert_eq!(j["answer"]["final"], false);
    assert!(
        j["cells"]["missing_count"].as_u64().unwrap() > 0,
        "cells not run yet"
    );
    let cov = &findings_of(&rep, "coverage")[0];
    assert!(
        cov["message"].as_str().unwrap().contains("missing so far"),
        "{cov}"
    );
    let show = bb(&db, &["show"]).ok().stdout;
    assert!(show.contains("missing so far"), "{show}");
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(
        md.contains("no row yet") && !md.contains("**missing**"),
        "{md}"
    );
    let html = bb(&db, &["report", "--format", "html"]).ok().stdout;
    assert!(
        html.contains("missing so far") && html.contains("without a row so far"),
        "grid and figures"
    );
    assert!(
        html.contains("no row so far (the job has not finished)"),
        "grid cells"
    );

    // The whole incident, to the job's end: nothing is "so far" at the end, and an early
    // snapshot of it is.
    let (_d2, done, _) = record_scenario("classic", 30.0);
    let rep = bb(&done, &["report", "--json"]).ok().json();
    assert_eq!(rep["jobs"][0]["final"], true);
    assert!(!bb(&done, &["report"]).ok().stdout.contains("so far"));
    let early = bb(&done, &["show", "--at", "3"]).ok().stdout;
    assert!(early.contains("missing so far"), "{early}");
}
