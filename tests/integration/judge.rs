//! Issue 28: one judge, live and after. Every built-in scenario is recorded with findings
//! judged while recording; then the report is run on the recording cut at every snapshot, and
//! each finding of the whole recording's report must have been first seen live exactly where
//! the cut recordings first show it holding.

use crate::common::*;
use beacon_blackbox::analysis::Recording;
use beacon_blackbox::analysis::judge::{Key, judge, span};
use beacon_blackbox::store::open_reader;
use std::collections::BTreeMap;
use std::path::Path;

/// The seq at which each key first held, over the recording cut at every snapshot; and every
/// seq at which it held.
fn judged_offline(db: &Path) -> BTreeMap<Key, Vec<u64>> {
    let d = open_reader(db).unwrap();
    let all = Recording::open(&d).unwrap();
    let first = all.infos.first().unwrap().seq;
    let mut held: BTreeMap<Key, Vec<u64>> = BTreeMap::new();
    for info in &all.infos {
        let rec = Recording::open_window(&d, first, info.seq).unwrap();
        let r = beacon_blackbox::analysis::report(&rec, None).unwrap();
        for j in judge(&r, &rec) {
            if j.holds {
                let v = held.entry(j.key).or_default();
                if v.last() != Some(&info.seq) {
                    v.push(info.seq);
                }
            }
        }
    }
    held
}

fn check(name: &str, interval: f64) -> usize {
    let (_d, db, heard) = record_scenario_with(name, interval, true);
    let held = judged_offline(&db);
    let d = open_reader(&db).unwrap();
    let rec = Recording::open(&d).unwrap();
    let r = beacon_blackbox::analysis::report(&rec, None).unwrap();
    let mut checked = 0;
    for j in judge(&r, &rec) {
        let f = &r.findings[j.finding];
        let seen = r.first_seen[j.finding];
        let offline = held.get(&j.key);
        // Live rows: one per run of snapshots in which the key held.
        let rows: Vec<_> = rec
            .findings
            .iter()
            .filter(|(_, x)| {
                x.kind == j.key.kind
                    && x.job == j.key.job
                    && x.source == j.key.source
                    && x.provider == j.key.provider
                    && x.detail == j.key.detail
                    && x.problem == j.key.problem
            })
            .map(|(_, x)| x.began_seq)
            .collect();
        let runs: Vec<u64> = offline.map_or(Vec::new(), |v| {
            v.iter()
                .enumerate()
                .filter(|(i, s)| {
                    *i == 0 || {
                        let prev = v[i - 1];
                        // A run breaks where a snapshot in between did not hold.
                        rec.infos.iter().any(|x| x.seq > prev && x.seq < **s)
                    }
                })
                .map(|(_, s)| *s)
                .collect()
        });
        assert_eq!(
            rows, runs,
            "{name}: live rows of {:?} began at {rows:?}, the cut recordings say {runs:?}",
            j.key
        );
        // The report's first_seen is the first begin (within the finding's own window).
        let want = runs
            .iter()
            .copied()
            .filter(|b| span(f).is_none_or(|(a, z)| (a..=z).contains(b)))
            .min();
        assert_eq!(
            seen.map(|s| s.seq),
            want,
            "{name}: {:?} first_seen against the cut recordings' {runs:?}",
            j.key
        );
        checked += usize::from(seen.is_some());
    }
    // What was said live is exactly the problems among the rows.
    let problems = rec.findings.iter().filter(|(_, x)| x.problem).count();
    let began = heard.findings.iter().filter(|c| c.state == "began").count();
    assert!(
        began <= problems,
        "{name}: {began} said to begin, {problems} problem rows"
    );
    if name == "slow" {
        // A healthy job of 36 cells: its default view is cut (a fact of the API) and checks
        // go stale while no request is routed; nothing fails, nothing is missing.
        let said: Vec<_> = rec
            .findings
            .iter()
            .filter(|(_, x)| x.problem)
            .map(|(_, x)| (x.kind.as_str(), x.began_message.as_str()))
            .collect();
        assert!(
            said.iter().all(|(k, m)| *k == "default_view_truncated"
                || (*k == "provider_state" && m.contains("was healthy, but not checked"))),
            "{name}: a healthy job raised {said:?}"
        );
    }
    checked
}

#[test]
fn live_begins_are_the_reports_first_seen_on_classic() {
    assert!(check("classic", 10.0) > 0, "no finding was first seen live");
}

#[test]
fn live_begins_are_the_reports_first_seen_on_outage() {
    assert!(check("outage", 10.0) > 0, "no finding was first seen live");
}

#[test]
fn live_begins_are_the_reports_first_seen_on_cutoff() {
    assert!(check("cutoff", 10.0) > 0, "no finding was first seen live");
}

#[test]
fn live_begins_are_the_reports_first_seen_on_legacy() {
    assert!(check("legacy", 10.0) > 0, "no finding was first seen live");
}

/// The healthy scenario: no failure begins live.
#[test]
fn live_begins_are_the_reports_first_seen_on_slow() {
    assert!(check("slow", 30.0) > 0, "no finding was first seen live");
}

/// 50 jobs, polled every 15 minutes (the cut recordings are judged one by one).
#[test]
fn live_begins_are_the_reports_first_seen_on_fleet() {
    assert!(check("fleet", 900.0) > 0, "no finding was first seen live");
}
