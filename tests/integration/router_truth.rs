//! Issue 16: router claims that were false or misleading on the real router, each on bodies
//! shaped like its answers (`tests/fixtures/router-observed/`, the new ones built from its
//! `core/router.py`, `main.py` and `core/region_queue.py`, each saying where from).

use crate::common::*;
use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::fetch::{FetchErrorKind, SourceKind};
use beacon_blackbox::record::Stop;
use beacon_blackbox::source::{FakeSource, Reply};
use serde_json::{Value, json};
use std::sync::Arc;

fn fixture(name: &str) -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/router-observed/"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{p}{name}")).unwrap()).unwrap();
    v["body"].clone()
}

/// The router's clock runs a day ahead of the recorder's: ages come from it.
const AHEAD_S: f64 = 86_400.0;

/// Seconds of the router's clock at scenario second 0.
fn r0() -> f64 {
    T0 as f64 / 1e6 + AHEAD_S
}

/// What the router answers at scenario second `t` (router clock `r`) to a request of `kind`;
/// `None` for a 404.
type Answers = dyn Fn(f64, f64, SourceKind) -> Option<Reply> + Send + Sync;

/// Records a router every 10 s for `secs`, with the extra endpoints when `extras`.
fn record(
    secs: u64,
    extras: bool,
    answer: Box<Answers>,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |now, req| {
        let t = (now - T0) as f64 / 1e6;
        answer(t, t + r0(), req.kind)
            .unwrap_or_else(|| Reply::json(404, r#"{"detail":"Not Found"}"#))
    });
    let mut opts = options(&[], 10.0);
    opts.targets.runner = None;
    opts.targets.extras = extras;
    opts.stop = Stop::After(std::time::Duration::from_secs(secs));
    let (d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    (d, db)
}

fn health(total: i64, healthy: i64, version: &str, r: f64) -> Reply {
    let mut h = fixture("health.json");
    h["providers_total"] = json!(total);
    h["providers_healthy"] = json!(healthy);
    h["version"] = json!(version);
    h["regions"] = json!(["us-east"]);
    h["timestamp"] = json!(r);
    Reply::json(200, h.to_string())
}

fn with(mut body: Value, name: &str, healthy: bool, stamp: f64) -> Value {
    for p in body["providers"].as_array_mut().unwrap() {
        if p["name"] == name {
            p["healthy"] = json!(healthy);
            p["last_health_check"] = json!(stamp);
        }
    }
    body
}

fn spans_of<'a>(rep: &'a Value, provider: &str) -> Vec<&'a Value> {
    rep["router"]["provider_spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["provider"] == provider)
        .collect()
}

/// Case 1: a golem check that raised after an earlier success leaves the success's stamp.
/// Unhealthy under that stamp is *checks failing since at least* the poll that saw it, never
/// "checked unhealthy, last checked" at a check that returned 200.
#[test]
fn a_golem_check_that_raised_is_checks_failing_since_the_poll_that_saw_it() {
    let (_d, db) = record(
        150,
        false,
        Box::new(|t, r, kind| {
            let ok_stamp = r0() - 5.0;
            Some(match kind {
                SourceKind::RouterHealth => health(3, if t < 60.0 { 3 } else { 2 }, "v1", r),
                SourceKind::RouterProviders => {
                    let b = fixture("providers_golem_checked.json");
                    let b = with(b, "modal-us-east", true, r - 1.0);
                    let b = with(b, "modal-eu-west", true, r - 1.0);
                    Reply::json(200, with(b, "golem-1", t < 60.0, ok_stamp).to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let spans = spans_of(&rep, "golem-1");
    let states: Vec<&str> = spans.iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["checked_healthy", "check_raised"], "{spans:?}");
    assert_eq!(spans[1]["from_seq"], 7, "first seen raised at t=60");
    let f: Vec<&Value> = findings_of(&rep, "provider_state")
        .into_iter()
        .filter(|f| f["state"] == "check_raised")
        .collect();
    assert_eq!(f.len(), 1, "{}", rep["findings"]);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("checks have been failing since at least"),
        "{msg}"
    );
    assert!(msg.contains("found it healthy"), "{msg}");
    assert!(!msg.contains("checked unhealthy"), "{msg}");
    // The change itself names the missing stamp.
    let ch = &findings_of(&rep, "router_changes")[0];
    assert!(
        ch["message"]
            .as_str()
            .unwrap()
            .contains("golem-1 turned unhealthy without a new check stamp"),
        "{}",
        ch["message"]
    );
    let show = bb(&db, &["show", "--json"]).ok().json();
    let g = show["router"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "golem-1")
        .unwrap()
        .clone();
    assert_eq!(g["state"], "check_raised");
    let text = bb(&db, &["show"]).ok().stdout;
    let line = text.lines().find(|l| l.contains("golem-1")).unwrap();
    assert!(line.contains("checks failing"), "{line}");
    assert!(!line.contains("checked unhealthy"), "{line}");
    // Issue 26, case 3: `show` says it as the report does: since when, and that the stamped
    // check found it healthy (not the words of checks that never completed).
    assert!(line.contains("since at least"), "{line}");
    assert!(line.contains("that check found it healthy"), "{line}");
    assert_eq!(g["last_check_found_healthy"], true);
    assert!(g["failing_since"].is_string(), "{g}");
}

/// Case 2: checked once at start-up (a 503: the check completed) and never again. After ten
/// minutes that is an old unhealthy check, not "no health check has completed".
#[test]
fn a_provider_checked_once_unhealthy_is_an_old_check_not_failing_checks() {
    let (_d, db) = record(
        900,
        false,
        Box::new(|_, r, kind| {
            Some(match kind {
                SourceKind::RouterHealth => health(2, 1, "v1", r),
                SourceKind::RouterProviders => {
                    let b = with(
                        fixture("providers_startup_unhealthy.json"),
                        "golem-1",
                        false,
                        r0() - 5.0,
                    );
                    // Checked in the same round, never again (a later round would have
                    // checked golem-1 too: the router checks every provider at once).
                    Reply::json(200, with(b, "modal-us-east", true, r0() - 3.0).to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let states: Vec<String> = spans_of(&rep, "golem-1")
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, vec!["checked_unhealthy", "unhealthy_stale"]);
    let f = findings_of(&rep, "provider_state");
    assert!(f.iter().all(|f| f["state"] != "checks_failing"), "{f:?}");
    let stale: Vec<&&Value> = f
        .iter()
        .filter(|f| f["state"] == "unhealthy_stale")
        .collect();
    assert_eq!(stale.len(), 1);
    let msg = stale[0]["message"].as_str().unwrap();
    assert!(msg.contains("checked unhealthy"), "{msg}");
    assert!(!msg.contains("no health check has"), "{msg}");
    assert!(msg.contains("last completed check was"), "{msg}");
}

/// Cases 3 and 4: a restart that added a provider (providers are made only at start-up). Every
/// poll said all healthy, 4 of 4 then 5 of 5: "throughout" names both counts, and the change is
/// still reported; the restart is seen with the same version and checks moving forward.
#[test]
fn a_restart_that_added_a_provider_is_a_change_and_a_restart() {
    let (_d, db) = record(
        300,
        false,
        Box::new(|t, r, kind| {
            let before = t < 170.0;
            Some(match kind {
                SourceKind::RouterHealth => {
                    let n = if before { 4 } else { 5 };
                    health(n, n, "5442b72", r)
                }
                SourceKind::RouterProviders => {
                    // The start-up checks stamp every provider anew after the restart.
                    let stamp = if before { r0() - 30.0 } else { r0() + 171.0 };
                    let mut list: Vec<Value> =
                        ["modal-us-east", "modal-eu-west", "golem-1", "golem-2"]
                            .iter()
                            .map(|n| {
                                let mut p =
                                    fixture("providers_golem_checked.json")["providers"][0].clone();
                                p["name"] = json!(n);
                                p["healthy"] = json!(true);
                                p["last_health_check"] = json!(stamp);
                                p
                            })
                            .collect();
                    if !before {
                        let mut p = list[3].clone();
                        p["name"] = json!("golem-3");
                        list.push(p);
                    }
                    Reply::json(200, json!({ "providers": list }).to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let all = &findings_of(&rep, "router_all_healthy")[0];
    assert_eq!(all["counts"], json!([[4, 4], [5, 5]]));
    let msg = all["message"].as_str().unwrap();
    assert!(msg.contains("4 of 4, then 5 of 5"), "{msg}");
    assert!(
        !msg.contains("5 of 5 providers healthy throughout"),
        "{msg}"
    );
    let ch = findings_of(&rep, "router_changes");
    assert_eq!(ch.len(), 1, "{}", rep["findings"]);
    assert!(
        ch[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["change"] == "provider_appeared" && c["provider"] == "golem-3")
    );
    let restarts = findings_of(&rep, "router_restart");
    assert_eq!(restarts.len(), 1, "{}", rep["findings"]);
    assert_eq!(
        restarts[0]["signs"],
        json!(["checks_together", "providers_changed"])
    );
    assert_eq!(restarts[0]["seq"], 18);
}

/// A router restarted at 160 s (every check stamped anew, its queue emptied); `fault` answers
/// a router request at `t` instead, when it returns one (a refused or failing stretch).
fn restarted_at_160(
    fault: impl Fn(f64, SourceKind) -> Option<Reply> + Send + Sync + 'static,
) -> (tempfile::TempDir, std::path::PathBuf) {
    record(
        400,
        true,
        Box::new(move |t, r, kind| {
            let after = t >= 160.0;
            if let Some(f) = fault(t, kind) {
                return Some(f);
            }
            Some(match kind {
                SourceKind::RouterHealth => health(2, 2, "not_provided", r),
                SourceKind::RouterProviders => {
                    let stamp = if after { r0() + 161.0 } else { r0() - 30.0 };
                    let b = fixture("providers_golem_checked.json");
                    let mut b = with(b, "golem-1", true, stamp);
                    b["providers"].as_array_mut().unwrap().truncate(2);
                    Reply::json(200, with(b, "modal-us-east", true, stamp).to_string())
                }
                SourceKind::RouterQueue => {
                    let mut q = fixture("queue_status.json");
                    let n = if after { 0 } else { 5 };
                    q["queues"]["regions"]["US"]["queue_size"] = json!(n);
                    q["timestamp"] = json!(r);
                    Reply::json(200, q.to_string())
                }
                _ => return None,
            })
        }),
    )
}

/// The router's own three endpoints.
fn routers(kind: SourceKind) -> bool {
    matches!(
        kind,
        SourceKind::RouterHealth | SourceKind::RouterProviders | SourceKind::RouterQueue
    )
}

/// Case 4: a restart with the same version and the same providers, seen as a refused stretch
/// followed by a changed provider list, every stamp moved forward together, and the queues
/// emptied. Case 7: the queue's first answer is not a change.
#[test]
fn a_restart_after_a_refused_stretch_is_seen_with_the_same_version() {
    let (_d, db) = restarted_at_160(|t, kind| {
        ((100.0..160.0).contains(&t) && routers(kind))
            .then(|| Reply::fault(FetchErrorKind::ConnectRefused))
    });
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let restarts = findings_of(&rep, "router_restart");
    assert_eq!(restarts.len(), 1, "{}", rep["findings"]);
    assert_eq!(
        restarts[0]["signs"],
        json!(["checks_together", "after_refusal", "queues_emptied"])
    );
    assert_eq!(
        restarts[0]["seq"], 17,
        "the first poll answered after the refusals"
    );
    let q = rep["endpoints"]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["source"] == "router.queue_status")
        .unwrap()
        .clone();
    assert_eq!(q["changes"], 1, "5 then 0; the first answer is no change");
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("its queues went from some to none"), "{md}");
}

/// A refusal after a restart is not a sign of it: only refusals between the last answer
/// before and the restart's poll count.
#[test]
fn a_refusal_after_a_restart_is_not_its_sign() {
    let (_d, db) = restarted_at_160(|t, kind| {
        ((250.0..300.0).contains(&t) && routers(kind))
            .then(|| Reply::fault(FetchErrorKind::ConnectRefused))
    });
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let restarts = findings_of(&rep, "router_restart");
    assert_eq!(restarts.len(), 1, "{}", rep["findings"]);
    assert_eq!(
        restarts[0]["signs"],
        json!(["checks_together", "queues_emptied"]),
        "{}",
        restarts[0]
    );
}

/// A router whose /health and /providers answered 503 (not refused) before a restart, its
/// queue endpoint refused: no "after a refusal" sign (only /health's and /providers'
/// refusals are the router's own).
#[test]
fn a_503_stretch_before_a_restart_is_not_a_refusal() {
    let (_d, db) = restarted_at_160(|t, kind| {
        let down = (100.0..160.0).contains(&t);
        match kind {
            SourceKind::RouterQueue if down => Some(Reply::fault(FetchErrorKind::ConnectRefused)),
            SourceKind::RouterHealth | SourceKind::RouterProviders if down => {
                Some(Reply::json(503, "{}"))
            }
            _ => None,
        }
    });
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let restarts = findings_of(&rep, "router_restart");
    assert_eq!(restarts.len(), 1, "{}", rep["findings"]);
    assert_eq!(
        restarts[0]["signs"],
        json!(["checks_together", "queues_emptied"]),
        "{}",
        restarts[0]
    );
}

/// A router with no providers is not "all healthy": 0 of 0 is none.
#[test]
fn a_router_with_no_providers_is_not_all_healthy() {
    let (_d, db) = record(
        60,
        false,
        Box::new(|_, r, kind| {
            Some(match kind {
                SourceKind::RouterHealth => health(0, 0, "not_provided", r),
                SourceKind::RouterProviders => Reply::json(200, r#"{"providers":[]}"#),
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(
        rep["router"]["all_healthy_throughout"],
        json!(false),
        "{}",
        rep["router"]
    );
    assert!(
        findings_of(&rep, "router_all_healthy").is_empty(),
        "{}",
        rep["findings"]
    );
}

/// "healthy" with none of its providers healthy, poll after poll: one window, every poll
/// counted.
#[test]
fn healthy_with_none_counts_every_poll() {
    let (_d, db) = record(
        60,
        false,
        Box::new(|_, r, kind| {
            Some(match kind {
                SourceKind::RouterHealth => health(2, 0, "not_provided", r),
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let w = &rep["router"]["healthy_with_none"];
    assert_eq!(w.as_array().map(Vec::len), Some(1), "{w}");
    assert_eq!(
        w[0]["snapshots"], rep["router"]["health_polls"],
        "{}",
        rep["router"]
    );
    assert!(w[0]["snapshots"].as_u64().unwrap() > 2);
    // Every poll is a poll of the router's report.
    assert_eq!(rep["router"]["polls"], rep["recording"]["snapshots"]);
}

/// Case 6: the check history is read once a minute and shows only each provider's last check;
/// `/providers`, read every poll, shows more. The count is a lower bound and says so.
#[test]
fn checks_seen_are_a_lower_bound_and_include_every_providers_stamp() {
    let (_d, db) = record(
        300,
        true,
        Box::new(|t, r, kind| {
            // A check every 20 s.
            let stamp = r0() + (t / 20.0).floor() * 20.0;
            Some(match kind {
                SourceKind::RouterHealth => health(1, 1, "v1", r),
                SourceKind::RouterProviders => {
                    let b = fixture("providers_golem_checked.json");
                    let mut b = with(b, "modal-us-east", true, stamp);
                    b["providers"] = json!([b["providers"][1].clone()]);
                    Reply::json(200, b.to_string())
                }
                SourceKind::RouterCheckHistory => {
                    let mut h = fixture("debug_health_history.json");
                    h["providers"] = json!([{
                        "provider": "modal-us-east", "healthy": true,
                        "last_check_timestamp": stamp, "last_check_ago_seconds": r - stamp,
                        "last_check_ago_human": "0s ago"
                    }]);
                    h["current_timestamp"] = json!(r);
                    Reply::json(200, h.to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let c = rep["endpoints"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider"] == "modal-us-east")
        .unwrap()
        .clone();
    // 300 s of checks every 20 s: 15 stamps, each seen by a 10 s poll of /providers; the
    // history alone (once a minute) would show 5.
    assert_eq!(c["checks"].as_array().unwrap().len(), 15);
    assert!(c["longest_gap_seconds"].as_f64().unwrap() <= 20.5);
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("at least 15"), "{md}");
    assert!(
        md.contains("checks in between may have gone unseen"),
        "{md}"
    );
}

/// Case 8: across a router outage nothing is observed. The provider lanes say "not seen"
/// there, no span of a state runs across it, and `show` names the poll its states come from.
#[test]
fn provider_states_are_not_carried_across_a_router_outage() {
    let (_d, db) = record(
        300,
        false,
        Box::new(|t, r, kind| {
            if (100.0..200.0).contains(&t) {
                return Some(Reply::fault(FetchErrorKind::ConnectRefused));
            }
            // Back from the outage, a check has found it unhealthy.
            let up = t < 100.0;
            Some(match kind {
                SourceKind::RouterHealth => health(1, if up { 1 } else { 0 }, "v1", r),
                SourceKind::RouterProviders => {
                    let b = fixture("providers_golem_checked.json");
                    let mut b = with(b, "modal-us-east", up, r - 1.0);
                    b["providers"] = json!([b["providers"][1].clone()]);
                    Reply::json(200, b.to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let spans = spans_of(&rep, "modal-us-east");
    let states: Vec<(&str, u64, u64)> = spans
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap(),
                s["from_seq"].as_u64().unwrap(),
                s["to_seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("checked_healthy", 1, 10),
            ("not_seen", 11, 20),
            ("checked_unhealthy", 21, 30)
        ]
    );
    // The flip happened while the router was not observed: placed between the two polls
    // that saw it, never at the moment it answered again alone.
    let ch = &findings_of(&rep, "router_changes")[0];
    let flip = ch["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["change"] == "provider_health")
        .unwrap();
    assert_eq!(
        (flip["since_seq"].as_u64(), flip["seq"].as_u64()),
        (Some(10), Some(21))
    );
    assert!(
        ch["message"]
            .as_str()
            .unwrap()
            .contains("(the router was not observed in between)"),
        "{}",
        ch["message"]
    );
    // Not all healthy, and no row failed while it said so: no such finding.
    assert!(findings_of(&rep, "failed_while_all_healthy").is_empty());
    assert!(findings_of(&rep, "router_all_healthy").is_empty());
    let show = bb(&db, &["show", "--at", "15", "--json"]).ok().json();
    assert_eq!(show["router"]["providers_seen"]["seq"], 10);
    assert_eq!(
        show["router"]["providers_fetch"]["error"],
        "connect_refused"
    );
    let text = bb(&db, &["show", "--at", "15"]).ok().stdout;
    assert!(
        text.contains("providers as last answered, at seq 10 (50s earlier)"),
        "{text}"
    );
    // The page draws the stretch as not seen.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("r.html");
    bb(&db, &["report", "--out", page.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("ps-not_seen"), "no not-seen span drawn");
}

/// Issue 26, case 1: a golem check that raised *before the recording began*: unhealthy under an
/// old stamp while the modal providers carry newer ones (the router checks every provider in
/// one round; a modal check always stamps). That round checked it and did not stamp it: checks
/// failing since at least that round, and what the old check found is not claimed.
#[test]
fn a_raise_before_the_recording_is_read_from_the_others_newer_stamps() {
    let (_d, db) = record(
        120,
        false,
        Box::new(|_, r, kind| {
            Some(match kind {
                SourceKind::RouterHealth => health(3, 2, "v1", r),
                SourceKind::RouterProviders => {
                    let b = fixture("providers_golem_checked.json");
                    // A round 40 s before the recording stamped both modal providers.
                    let b = with(b, "modal-us-east", true, r0() - 40.0);
                    let b = with(b, "modal-eu-west", true, r0() - 40.0);
                    Reply::json(200, with(b, "golem-1", false, r0() - 300.0).to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let spans = spans_of(&rep, "golem-1");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["state"], "check_raised");
    assert!(spans[0]["last_check_found_healthy"].is_null());
    // Since at least the round: 40 s before the recording, on the recorder's clock (the
    // router's runs a day ahead: its stamps are mapped back through the measured offset).
    let since = chrono::DateTime::parse_from_rfc3339(spans[0]["failing_since"].as_str().unwrap())
        .unwrap()
        .timestamp_micros();
    assert!(
        (since - (T0 - 40_000_000)).abs() < 1_000_000,
        "{}",
        spans[0]
    );
    let f: Vec<&Value> = findings_of(&rep, "provider_state")
        .into_iter()
        .filter(|f| f["state"] == "check_raised")
        .collect();
    assert_eq!(f.len(), 1, "{}", rep["findings"]);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("a later round of checks stamped the other providers"),
        "{msg}"
    );
    assert!(msg.contains("since at least"), "{msg}");
    assert!(msg.contains("what it found is not known"), "{msg}");
    assert!(!msg.contains("found it healthy"), "{msg}");
    assert!(!msg.contains("checked unhealthy"), "{msg}");
    let text = bb(&db, &["show"]).ok().stdout;
    let line = text.lines().find(|l| l.contains("golem-1")).unwrap();
    assert!(line.contains("since at least"), "{line}");
    assert!(
        line.contains("a later round stamped the other providers"),
        "{line}"
    );
    assert!(!line.contains("checked unhealthy"), "{line}");
}

/// Issue 26, case 2: `show` during a router outage gives each check's age as of the snapshot
/// described, and as of the answer it comes from, each said as such.
#[test]
fn show_during_a_router_outage_ages_checks_to_the_snapshot_described() {
    let (_d, db) = record(
        200,
        false,
        Box::new(|t, r, kind| {
            if t >= 60.0 {
                return Some(Reply::fault(FetchErrorKind::ConnectRefused));
            }
            Some(match kind {
                SourceKind::RouterHealth => health(2, 2, "v1", r),
                SourceKind::RouterProviders => {
                    let b = fixture("providers_golem_checked.json");
                    let b = with(b, "modal-us-east", true, r0() - 5.0);
                    Reply::json(200, with(b, "golem-1", true, r0() - 5.0).to_string())
                }
                _ => return None,
            })
        }),
    );
    let show = bb(&db, &["show", "--json"]).ok().json();
    let seen = &show["router"]["providers_seen"];
    let answer_age = seen["age_seconds"].as_f64().unwrap();
    assert!(answer_age > 100.0, "{seen}");
    let g = show["router"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "golem-1")
        .unwrap()
        .clone();
    let now = g["age_seconds"].as_f64().unwrap();
    let then = g["age_at_answer_seconds"].as_f64().unwrap();
    assert!((now - then - answer_age).abs() < 1.0, "{g} {seen}");
    let text = bb(&db, &["show"]).ok().stdout;
    let line = text.lines().find(|l| l.contains("golem-1")).unwrap();
    let want = format!(
        "{} before this snapshot",
        beacon_blackbox::duration::human((now * 1e6) as i64)
    );
    assert!(line.contains(&want), "{line} / {want}");
    assert!(line.contains("before the answer at seq 6"), "{line}");
}

/// Issue 26, case 4: a restart between two polls with the same version and the same
/// providers, no refused poll: every stamp moves forward together (the start-up checks) while
/// no rate moves. Inference traffic moves the stamps together too, but also the rate of the
/// provider that served it: no restart then.
#[test]
fn a_restart_between_polls_is_read_from_stamps_moving_together() {
    for traffic in [false, true] {
        let (_d, db) = record(
            200,
            false,
            Box::new(move |t, r, kind| {
                let after = t >= 100.0;
                Some(match kind {
                    SourceKind::RouterHealth => health(2, 2, "5442b72", r),
                    SourceKind::RouterProviders => {
                        let stamp = if after { r0() + 101.0 } else { r0() - 30.0 };
                        let b = fixture("providers_golem_checked.json");
                        let b = with(b, "golem-1", true, stamp);
                        let mut b = with(b, "modal-us-east", true, stamp + 2.0);
                        b["providers"].as_array_mut().unwrap().truncate(2);
                        if traffic && after {
                            b["providers"][0]["avg_latency"] = json!(0.4);
                            b["providers"][0]["success_rate"] = json!(0.9);
                        }
                        Reply::json(200, b.to_string())
                    }
                    _ => return None,
                })
            }),
        );
        let rep = bb(&db, &["report", "--json"]).ok().json();
        let restarts = findings_of(&rep, "router_restart");
        if traffic {
            assert!(restarts.is_empty(), "{}", rep["findings"]);
        } else {
            assert_eq!(restarts.len(), 1, "{}", rep["findings"]);
            assert_eq!(restarts[0]["signs"], json!(["checks_together"]));
            assert_eq!(restarts[0]["seq"], 11);
            // A sign, not a proof: a round forced by hand looks the same.
            assert_eq!(restarts[0]["possible"], true);
            let msg = restarts[0]["message"].as_str().unwrap();
            assert!(msg.starts_with("The router may have restarted"), "{msg}");
        }
    }
}

/// A round of checks forced by hand (`/debug/force-health-check`, as tried on the real router)
/// in which a golem check raised: the others move forward together, the raised one keeps its
/// old stamp. After a restart every stamp starts at 0, so that is no restart.
#[test]
fn a_forced_round_with_a_raised_check_is_no_restart() {
    let (_d, db) = record(
        200,
        false,
        Box::new(|t, r, kind| {
            let after = t >= 100.0;
            Some(match kind {
                SourceKind::RouterHealth => health(2, if after { 1 } else { 2 }, "5442b72", r),
                SourceKind::RouterProviders => {
                    let b = fixture("providers_golem_checked.json");
                    let b = with(b, "golem-1", !after, r0() - 30.0);
                    let stamp = if after { r0() + 101.0 } else { r0() - 30.0 };
                    let mut b = with(b, "modal-us-east", true, stamp);
                    b["providers"].as_array_mut().unwrap().truncate(2);
                    Reply::json(200, b.to_string())
                }
                _ => return None,
            })
        }),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert!(
        findings_of(&rep, "router_restart").is_empty(),
        "{}",
        rep["findings"]
    );
}

/// Issue 26, case 4: the simulator's `outage` retries a row: no restart is read from it (the
/// real router's queue counters never move, and none are read).
#[test]
fn a_retried_row_is_no_restart() {
    let (_d, db, _) = record_scenario("outage", 10.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert!(
        findings_of(&rep, "router_restart").is_empty(),
        "{}",
        rep["findings"]
    );
}

/// Issue 26, case 5: across polls the router did not answer, the page's healthy / total line
/// is broken, not drawn on at the last count.
#[test]
fn the_healthy_line_breaks_where_the_router_did_not_answer() {
    let (_d, db) = record(
        400,
        false,
        Box::new(|t, r, kind| {
            if (100.0..310.0).contains(&t) {
                return Some(Reply::fault(FetchErrorKind::ConnectRefused));
            }
            Some(match kind {
                SourceKind::RouterHealth => health(4, 4, "v1", r),
                SourceKind::RouterProviders => {
                    Reply::json(200, fixture("providers_golem_checked.json").to_string())
                }
                _ => return None,
            })
        }),
    );
    let html = bb(&db, &["report", "--format", "html"]).ok().stdout;
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("path.health.healthy").unwrap();
    let d = doc
        .select(&sel)
        .next()
        .expect("the healthy line")
        .value()
        .attr("d")
        .unwrap()
        .to_string();
    assert_eq!(d.matches('M').count(), 2, "two pieces, a gap between: {d}");
    assert!(
        html.contains("the router did not answer /health"),
        "the gap says so"
    );
}
