//! Issue 26: two clocks, both ways, per poll. A runner clock behind the recorder's is found as
//! surely as one ahead, and a clock that drifts during the recording (a simulator at
//! `--speed 10` against a recorder on the wall clock) never pushes a time out of the
//! recording or a bar off the page.

use super::common::*;
use beacon_blackbox::analysis::{Recording, lanes, report};
use beacon_blackbox::clock::{Clock, ManualClock, Sleep};
use beacon_blackbox::sim;
use beacon_blackbox::store::open_reader;
use std::path::Path;
use std::sync::Arc;

/// The simulator's clock running `speed` times as fast as the recorder's manual clock, from
/// the same start: what a wall-clock recorder sees of `simulate --speed X`.
struct Faster {
    base: Arc<ManualClock>,
    epoch: i64,
    speed: f64,
}

impl Clock for Faster {
    fn now_us(&self) -> i64 {
        self.epoch + ((self.base.now_us() - self.epoch) as f64 * self.speed) as i64
    }

    fn sleep_us(&self, us: i64) -> Sleep<'_> {
        let real = (us.max(0) as f64 / self.speed) as i64;
        Box::pin(async move { self.base.advance_us(real) })
    }
}

/// Records `scenario` with the simulator's clock `speed` times the recorder's, every
/// `interval_secs` of the recorder's clock, to the scenario's end and a margin.
fn record_skewed(
    mut scenario: sim::Scenario,
    runner_offset: f64,
    speed: f64,
    interval_secs: f64,
) -> (tempfile::TempDir, std::path::PathBuf) {
    scenario.runner.clock_offset = runner_offset;
    let end = scenario.end;
    let jobs: Vec<String> = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let clock = Arc::new(ManualClock::new(T0));
    let sim_clock = Arc::new(Faster {
        base: clock.clone(),
        epoch: T0,
        speed,
    });
    let s = sim::Sim::with_clock(scenario, sim_clock, T0, speed, Some(0));
    let src = sim::SimSource::new(s, 10_000_000, false).with_recorder_clock(clock.clone());
    let refs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let mut opts = options(&refs, interval_secs);
    opts.stop = beacon_blackbox::record::Stop::After(std::time::Duration::from_secs_f64(
        end / speed + 30.0,
    ));
    let (d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    (d, db)
}

fn open(db: &Path) -> (report::Report, lanes::Lanes) {
    let d = open_reader(db).unwrap();
    let rec = Recording::open(&d).unwrap();
    let r = beacon_blackbox::analysis::report(&rec, None).unwrap();
    let l = lanes::lanes(&rec, &r).unwrap();
    (r, l)
}

fn skew_findings(rep: &serde_json::Value, server: &str) -> Vec<serde_json::Value> {
    findings_of(rep, "clock_skew")
        .into_iter()
        .filter(|f| f["server"] == server)
        .cloned()
        .collect()
}

fn secs(v: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

/// A runner seven minutes behind: a skew finding of about −420 s from its `Date` headers, and
/// the failure times of the answer on the recorder's clock, the runner's own stamps beside.
#[test]
fn a_runner_seven_minutes_behind_is_found_and_times_are_the_recorders() {
    let (_d, db) = record_skewed(sim::builtin("classic").unwrap(), -420.0, 1.0, 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let skew = skew_findings(&rep, "runner");
    assert_eq!(skew.len(), 1, "{skew:?}");
    let k = &skew[0];
    let off = k["offset_seconds"].as_f64().unwrap();
    assert!((off + 420.0).abs() <= 1.5, "{k}");
    assert_eq!(k["measured"], "date_header");
    assert_eq!(k["changed"], false, "{k}");
    assert!(
        skew_findings(&rep, "router").is_empty(),
        "the router's clock agrees"
    );

    let first = secs(&rep["recording"]["first"]["taken_at"]);
    let last = secs(&rep["recording"]["last"]["taken_at"]);
    let f = &rep["jobs"][0]["answer"]["failures"];
    let (a, z) = (secs(&f["first"]), secs(&f["last"]));
    assert!(
        first <= a && a <= z && z <= last + 1,
        "{f} in {first}..{last}"
    );
    // The runner's own stamps are 7 minutes earlier.
    let own = secs(&f["first_runner"]);
    assert!((a - own - 420).abs() <= 2, "{f}");
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(
        md.contains("7m00s behind the recorder's") && md.contains("on the recorder's clock"),
        "{md}"
    );
}

/// A runner ahead by a minute is found the same way, with the opposite sign.
#[test]
fn a_runner_ahead_is_found_with_its_sign() {
    let (_d, db) = record_skewed(sim::builtin("classic").unwrap(), 60.0, 1.0, 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let skew = skew_findings(&rep, "runner");
    assert_eq!(skew.len(), 1, "{skew:?}");
    let off = skew[0]["offset_seconds"].as_f64().unwrap();
    assert!((off - 60.0).abs() <= 1.5, "{off}");
    // And one in agreement gives none.
    let (_d, db) = record_skewed(sim::builtin("classic").unwrap(), 0.0, 1.0, 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert!(findings_of(&rep, "clock_skew").is_empty());
    assert!(rep["jobs"][0]["answer"]["failures"]["first_runner"].is_null());
}

/// A wall-clock recorder against a simulator at 10x: the runner's clock runs away from the
/// recorder's. Every bar stays inside the plot, the failure times inside the recording, and
/// the skew finding says the offset changed and by how much.
#[test]
fn a_drifting_clock_keeps_every_bar_inside_the_recording() {
    for name in ["cutoff", "outage"] {
        let (_d, db) = record_skewed(sim::builtin(name).unwrap(), 0.0, 10.0, 1.0);
        let (r, l) = open(&db);
        let j = &l.jobs[0];
        assert!(!j.bars.is_empty(), "{name}");
        for b in &j.bars {
            assert!(
                !b.before_start && !b.dated_ahead,
                "{name}: execution {:?} drawn at the edge: {b:?}",
                b.id
            );
            assert!(
                b.real_start_us >= l.start_us && b.real_end_us <= l.end_us,
                "{name}: execution {:?} outside {}..{}: {b:?}",
                b.id,
                l.start_us,
                l.end_us
            );
        }
        let f = &r.jobs[0].history.failures;
        if let (Some(a), Some(z)) = (f.first_failed_at, f.last_failed_at) {
            assert!(a.0 >= l.start_us && z.0 <= l.end_us, "{name}: {a:?}..{z:?}");
        }
        let rep = bb(&db, &["report", "--json"]).ok().json();
        let skew = skew_findings(&rep, "runner");
        assert_eq!(skew.len(), 1, "{name}: {skew:?}");
        assert_eq!(skew[0]["changed"], true, "{name}");
        // 9 scenario seconds per recorder second, over the recording.
        let drift = skew[0]["drift_seconds"].as_f64().unwrap();
        let span = rep["recording"]["span_seconds"].as_f64().unwrap();
        assert!(
            (drift - 9.0 * span).abs() <= 0.1 * 9.0 * span + 2.0,
            "{name}: {drift} over {span}"
        );
        let page = bb(&db, &["report", "--format", "html"]).ok().stdout;
        assert!(
            page.contains("it changed"),
            "{name}: the page says the offset changed"
        );
    }
}

/// The router's clock is read from the router's own answers only: a runner seven minutes
/// behind changes no age of a provider's check (measured on the router's clock).
#[test]
fn a_skewed_runner_leaves_the_routers_ages_alone() {
    let ages = |offset: f64| {
        let (_d, db) = record_skewed(sim::builtin("classic").unwrap(), offset, 1.0, 30.0);
        let rep = bb(&db, &["report", "--json"]).ok().json();
        let mut v: Vec<(String, i64)> = findings_of(&rep, "provider_state")
            .iter()
            .filter_map(|f| {
                Some((
                    f["state"].to_string(),
                    f["age_seconds"].as_f64()?.round() as i64,
                ))
            })
            .collect();
        v.sort();
        v
    };
    let agreeing = ages(0.0);
    assert!(!agreeing.is_empty(), "no provider ages to compare");
    assert_eq!(ages(-420.0), agreeing);
}
