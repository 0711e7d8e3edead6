//! Issue 26: the story first. Findings are ranked by what hurt the job — a failing source,
//! providers unhealthy while serving it, failures, missing cells — and confirmations last; the
//! one-line cause names the incident before the rows' own symptoms.

use super::common::*;

fn kinds(rep: &serde_json::Value) -> Vec<String> {
    rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_outage_is_told_first_and_confirmations_last() {
    let (_d, db, _) = record_scenario("outage", 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let k = kinds(&rep);
    let pos = |kind: &str| {
        k.iter()
            .position(|x| x == kind)
            .unwrap_or_else(|| panic!("{kind} in {k:?}"))
    };
    // The runner's 503s and refusals first, then eu-west unhealthy, then how the rows failed.
    assert_eq!(&k[..2], ["fetch_outage", "fetch_outage"], "{k:?}");
    let unhealthy = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["kind"] == "provider_state" && f["state"] == "checked_unhealthy")
        .expect("eu-west unhealthy is a finding");
    assert!(unhealthy < pos("failure_signature"), "{k:?}");
    // "8 cells expected ... 0 missing" confirms: it comes after every problem.
    assert!(
        pos("coverage") > pos("rows_without_cell").max(pos("router_changes")),
        "{k:?}"
    );
    let cause = rep["jobs"][0]["answer"]["cause"].as_str().unwrap();
    let at = |s: &str| cause.find(s).unwrap_or_else(|| panic!("{s:?} in {cause}"));
    assert!(at("http 503") < at("connect_refused"), "{cause}");
    assert!(
        at("connect_refused") < at("modal-eu-west (eu-west) was checked unhealthy"),
        "{cause}"
    );
    assert!(
        at("was checked unhealthy") < at("5 of 9 rows failed"),
        "{cause}"
    );
    assert_eq!(
        rep["jobs"][0]["answer"]["incident"]["outages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn classic_tells_the_failures_before_the_cut_view() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let k = kinds(&rep);
    let pos = |kind: &str| k.iter().position(|x| x == kind).unwrap();
    assert!(
        pos("failure_signature") < pos("default_view_truncated"),
        "{k:?}"
    );
    assert!(
        pos("router_all_healthy") < pos("failure_signature"),
        "healthy while all failed: {k:?}"
    );
    assert_eq!(k.last().unwrap(), "status_changed", "{k:?}");
    let cause = rep["jobs"][0]["answer"]["cause"].as_str().unwrap();
    assert!(cause.starts_with("44 of 44 rows failed"), "{cause}");
}
