//! Issue 9: what the report says of the router holds for the real router. Bodies shaped like
//! the real router's answers (`tests/fixtures/router-observed/`, captured from it with no
//! reachable provider), played over time by a scripted source; assertions on typed fields.

use crate::common::*;
use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::fetch::SourceKind;
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

/// The router's clock runs a year ahead of the recorder's here: ages must come from it.
const ROUTER_AHEAD_S: f64 = 365.0 * 86_400.0;

fn router_now(t_us: i64) -> f64 {
    t_us as f64 / 1e6 + ROUTER_AHEAD_S
}

/// Records a router whose `/health` and `/providers` are `health(t)` and `providers(t)` (t in
/// seconds from the start), every 10 s for `secs`.
fn record_router(
    secs: u64,
    health: impl Fn(f64, f64) -> Value + Send + Sync + 'static,
    providers: impl Fn(f64, f64) -> Value + Send + Sync + 'static,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let clock = Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), move |now, req| {
        let t = (now - T0) as f64 / 1e6;
        let r = router_now(now);
        match req.kind {
            SourceKind::RouterHealth => Reply::json(200, health(t, r).to_string()),
            SourceKind::RouterProviders => Reply::json(200, providers(t, r).to_string()),
            _ => Reply::json(404, "{}"),
        }
    });
    let mut opts = options(&[], 10.0);
    opts.targets.runner = None;
    opts.stop = Stop::After(std::time::Duration::from_secs(secs));
    let (d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    (d, db)
}

fn provider(name: &str, kind: &str, healthy: bool, checked: f64, rate: f64) -> Value {
    let mut p = fixture("providers.json")["providers"][0].clone();
    p["name"] = json!(name);
    p["type"] = json!(kind);
    p["region"] = json!(if name.contains("eu") {
        "eu-west"
    } else {
        "us-east"
    });
    p["healthy"] = json!(healthy);
    p["last_health_check"] = json!(checked);
    p["success_rate"] = json!(rate);
    p
}

fn health(version: &str, total: i64, healthy: i64, regions: &[&str], r: f64) -> Value {
    let mut h = fixture("health.json");
    h["version"] = json!(version);
    h["providers_total"] = json!(total);
    h["providers_healthy"] = json!(healthy);
    h["regions"] = json!(regions);
    h["timestamp"] = json!(r);
    h
}

/// A deploy, a restart, assumed health, failing checks, a low success rate, and `/health`
/// against `/providers`, each read as the real router means it.
#[test]
fn the_router_is_read_as_it_means() {
    let (_d, db) = record_router(
        180,
        |t, r| {
            if t < 60.0 {
                health("5442b72", 3, 2, &["us-east", "eu-west"], r)
            } else if t < 120.0 {
                // The same set of regions in another order: a Python set's order.
                let healthy = if t < 70.0 { 3 } else { 2 };
                health("5442b72", 3, healthy, &["eu-west", "us-east"], r)
            } else {
                // Redeployed; "healthy" with no healthy provider.
                health("9f00dba", 3, 0, &[], r)
            }
        },
        |t, r| {
            let start = router_now(T0) - 300.0;
            if t < 60.0 {
                json!({"providers": [
                    provider("modal-us-east", "modal", true, 0.0, 1.0),
                    provider("modal-eu-west", "modal", true, 0.0, 1.0),
                    provider("golem-1", "golem", false, 0.0, 1.0),
                ]})
            } else if t < 120.0 {
                json!({"providers": [
                    provider("modal-us-east", "modal", true, r - 1.0, 0.45),
                    provider("modal-eu-west", "modal", true, start, 1.0),
                    provider("golem-1", "golem", false, 0.0, 1.0),
                ]})
            } else {
                json!({"providers": [
                    provider("modal-us-east", "modal", false, 0.0, 1.0),
                    provider("modal-eu-west", "modal", false, 0.0, 1.0),
                    provider("golem-1", "golem", false, 0.0, 1.0),
                ]})
            }
        },
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let router = &rep["router"];
    assert_eq!(router["clock"], "router");
    // Region order is no change; a version change and a restart are seen.
    let changes: Vec<&Value> = router["transitions"].as_array().unwrap().iter().collect();
    assert!(
        changes
            .iter()
            .all(|c| c["change"] != "regions" || c["removed"] != json!([])),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["change"] == "version" && c["from"] == "5442b72" && c["to"] == "9f00dba")
    );
    let restarts = findings_of(&rep, "router_restart");
    assert_eq!(restarts.len(), 1, "{}", rep["findings"]);
    assert_eq!(
        restarts[0]["signs"],
        json!(["version_changed", "checks_reset", "rates_reset"])
    );
    // Health assumed (never checked) is flagged where it happened, not only at the end.
    let states = findings_of(&rep, "provider_state");
    let assumed: Vec<&&Value> = states
        .iter()
        .filter(|f| f["state"] == "assumed_healthy")
        .collect();
    assert_eq!(assumed.len(), 1, "{states:?}");
    assert_eq!(assumed[0]["providers"].as_array().unwrap().len(), 2);
    assert_eq!(assumed[0]["from_seq"], 1);
    // golem-1 unhealthy with last_health_check 0: checks failing, not "never checked".
    let failing: Vec<&&Value> = states
        .iter()
        .filter(|f| f["state"] == "checks_failing")
        .collect();
    assert!(
        failing
            .iter()
            .any(|f| f["providers"][0][0] == "golem-1" && f["throughout"] == true),
        "{failing:?}"
    );
    assert!(
        failing[0]["message"]
            .as_str()
            .unwrap()
            .contains("checks failing")
    );
    // Staleness by the router's clock: modal-eu-west's check was 300 s before the router's
    // start, so at most ~6 minutes old; by the recorder's clock it would be a year.
    let spans = router["provider_spans"].as_array().unwrap();
    let eu = spans
        .iter()
        .find(|s| s["provider"] == "modal-eu-west" && s["state"] == "checked_healthy")
        .expect("checked healthy by the router's clock");
    assert!(eu["age_seconds"].as_f64().unwrap() < 600.0, "{eu}");
    // Called healthy at a success rate of 0.45.
    let rates = findings_of(&rep, "provider_rate");
    assert!(rates.iter().any(|r| r["provider"] == "modal-us-east"
        && r["issue"] == "low_while_healthy"
        && r["success_rate"] == 0.45));
    // /health said 3 of 3 while /providers, in the same poll, listed 2 healthy.
    let dis = findings_of(&rep, "health_disagrees");
    assert_eq!(dis[0]["first"]["health_healthy"], 3);
    assert_eq!(dis[0]["first"]["listed_healthy"], 2);
    // "healthy" with none healthy, from the redeploy on.
    let none = findings_of(&rep, "healthy_with_none");
    assert_eq!(none.len(), 1);
    assert_eq!(none[0]["status"], "healthy");
    assert_eq!(none[0]["providers_total"], 3);
    assert_eq!(none[0]["throughout"], false);
}

/// `"status": "healthy"` with 0 of 2 healthy all through (the observed answers as they are).
#[test]
fn healthy_with_no_healthy_provider_all_through() {
    let (_d, db) = record_router(
        60,
        |_, r| {
            let mut h = fixture("health.json");
            h["timestamp"] = json!(r);
            h
        },
        |_, _| fixture("providers.json"),
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let none = findings_of(&rep, "healthy_with_none");
    assert_eq!(none.len(), 1, "{}", rep["findings"]);
    assert_eq!(none[0]["throughout"], true);
    assert_eq!(none[0]["providers_total"], 2);
    assert!(none[0]["message"].as_str().unwrap().contains("throughout"));
}

/// Issue 9: a list is never cut silently: 16 router changes are all in the JSON, and the
/// sentence names some and says how many more.
#[test]
fn a_long_list_says_how_many_more() {
    let (_d, db) = record_router(
        170,
        |t, r| {
            let healthy = if (t / 10.0) as i64 % 2 == 0 { 1 } else { 0 };
            health("v1", 1, healthy, &[], r)
        },
        |t, r| {
            let healthy = (t / 10.0) as i64 % 2 == 0;
            json!({"providers": [provider("modal-us-east", "modal", healthy, r - 1.0, 1.0)]})
        },
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let f = &findings_of(&rep, "router_changes")[0];
    let n = f["changes"].as_array().unwrap().len();
    assert_eq!(n, 32, "16 flips, each a count change and a provider change");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.ends_with(&format!("and {} more.", n - 6)), "{msg}");
    // The last change is the recovery: it is in the data even where the sentence stops.
    assert_eq!(f["changes"][n - 1]["healthy"], true);
}
