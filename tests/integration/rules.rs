//! Issue 28: the example alert rules against the incidents they are for. Every built-in
//! scenario is recorded (findings judged, a poll every 5 s), exported with `export --format
//! openmetrics`, and turned into `promtool test rules` input: what Prometheus would have
//! scraped every 5 s while recording (the last snapshot's series; a series not yet served is
//! absent; at the end of the recording the recorder goes and its series turn stale). The
//! expected alerts below are stated from each scenario's story, not from the rules; the file
//! `examples/alerts.test.yml` is written from them and checked in, and promtool runs it.
//!
//! `BLACKBOX_UPDATE_RULES_TEST=1` writes the file anew; `BLACKBOX_RULES_DISCOVER=1` prints the
//! alerts that actually fire, every 5 s (for writing the expectations, never for passing).

use crate::common::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const TEST_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/alerts.test.yml");
/// Scrape and evaluation interval, seconds.
const STEP: i64 = 5;
/// An alert's edges are checked this far either side (polls and evaluations do not line up).
const SLACK: i64 = 20;

/// An alert expected to fire in a scenario from `from` to `to` seconds (scenario time: 0 is
/// the first snapshot), with these labels besides `alertname` and `alertstate`.
struct Expect {
    alert: &'static str,
    labels: &'static [(&'static str, &'static str)],
    from: i64,
    to: i64,
}

const fn e(
    alert: &'static str,
    labels: &'static [(&'static str, &'static str)],
    from: i64,
    to: i64,
) -> Expect {
    Expect {
        alert,
        labels,
        from,
        to,
    }
}

/// Each scenario: how long to record it (seconds), how often (the fleet polls every minute:
/// a day at 5 s is 17,000 snapshots), and the alerts its story should raise.
fn scenarios() -> Vec<(&'static str, i64, i64, Vec<Expect>)> {
    let end = |n: &str| beacon_blackbox::sim::builtin(n).unwrap().end as i64 + 60;
    // The recorder goes after its last snapshot: `BlackboxDown` (`from` set from the
    // recording's end).
    let down = |_: i64| e("BlackboxDown", DOWN, 0, i64::MAX);
    const CLASSIC: &str = "bias-detection-1759330371966";
    vec![
        (
            "classic",
            5,
            end("classic"),
            vec![
                // The first batch fails at 125 s; every row that finishes fails until the job
                // turns failed at 862 s (seen at 865 s).
                e(
                    "BeaconRowsAllFailed",
                    &[
                        ("beacon_job", CLASSIC),
                        ("severity", "critical"),
                        ("status", "failed"),
                    ],
                    125 + 120,
                    865,
                ),
                // The 21st row is created at 371 s (seen at 375 s), with failed rows by then.
                e(
                    "BeaconDefaultViewCut",
                    &[
                        ("beacon_job", CLASSIC),
                        ("kind", "default_view_truncated"),
                        ("severity", "info"),
                    ],
                    375 + 60,
                    865,
                ),
                // The queue redelivers eight units at 737 s (seen at 740 s).
                e(
                    "BeaconCellsRunTwice",
                    &[("beacon_job", CLASSIC), ("severity", "info")],
                    740 + 60,
                    865,
                ),
                down(end("classic")),
            ],
        ),
        // Cut off at 15 minutes with cells missing: the job has not stalled for 15 minutes
        // by the end of the recording; the report says the rest.
        ("cutoff", 5, end("cutoff"), vec![down(end("cutoff"))]),
        (
            "outage",
            5,
            end("outage"),
            vec![
                // 503 from 120 s to 240 s, refused from 400 s to 480 s.
                e("BeaconSourceFailing", RUNNER, 120 + 30, 240),
                e("BeaconSourceFailing", RUNNER, 400 + 30, 480),
                // eu-west unhealthy from 300 s to 600 s.
                e(
                    "BeaconProviderUnhealthy",
                    &[
                        ("provider", "modal-eu-west"),
                        ("region", "eu-west"),
                        ("severity", "warning"),
                    ],
                    300 + 60,
                    600,
                ),
                down(end("outage")),
            ],
        ),
        ("legacy", 5, end("legacy"), vec![down(end("legacy"))]),
        // A healthy job that takes 20 minutes: nothing until the recorder goes.
        ("slow", 5, end("slow"), vec![down(end("slow"))]),
        // Two hours of an always-on day, polled every minute: nothing.
        ("fleet", 60, 7200, vec![down(7200)]),
    ]
}

const RUNNER: &[(&str, &str)] = &[("server", "runner"), ("severity", "warning")];
const DOWN: &[(&str, &str)] = &[("severity", "critical"), ("version", VERSION)];
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One series of the export: its text (`name{labels}`) and (time µs, value) points.
type Series = Vec<(String, Vec<(i64, f64)>)>;

fn parse(om: &str) -> Series {
    let mut out: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for l in om.lines().filter(|l| !l.starts_with('#')) {
        let (rest, ts) = l.rsplit_once(' ').unwrap();
        let (series, v) = rest.rsplit_once(' ').unwrap();
        let (s, us) = ts.split_once('.').unwrap();
        let at = s.parse::<i64>().unwrap() * 1_000_000 + us.parse::<i64>().unwrap();
        let i = *index.entry(series.to_string()).or_insert_with(|| {
            out.push((series.to_string(), Vec::new()));
            out.len() - 1
        });
        out[i].1.push((at, v.parse().unwrap()));
    }
    out
}

/// `v` as promtool reads it.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// promtool's expanding notation for a list of values (`None`: no sample), runs of a constant
/// step written `a+bxN`, a stale marker at the end when the series was there.
fn values(vals: &[Option<f64>], stale_at_end: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < vals.len() {
        match vals[i] {
            None => {
                let n = vals[i..].iter().take_while(|v| v.is_none()).count();
                out.push(format!("_x{n}"));
                i += n;
            }
            Some(a) => {
                let step = vals.get(i + 1).copied().flatten().map(|b| b - a);
                let mut n = 0;
                if let Some(d) = step {
                    while let Some(Some(x)) = vals.get(i + n + 1) {
                        if (x - (a + d * (n + 1) as f64)).abs() > 1e-9 {
                            break;
                        }
                        n += 1;
                    }
                }
                if n == 0 {
                    out.push(num(a));
                    i += 1;
                } else {
                    let d = step.unwrap_or(0.0);
                    let sign = if d < 0.0 { "-" } else { "+" };
                    out.push(format!("{}{sign}{}x{n}", num(a), num(d.abs())));
                    i += n + 1;
                }
            }
        }
    }
    if stale_at_end {
        out.push("stale".into());
    }
    out.join(" ")
}

/// The input series of one scenario: every export series sampled every `STEP` s from the first
/// snapshot to the last (the last snapshot's value at each step, as a scrape would get it),
/// timestamps made relative to the first snapshot as promtool's time starts at 0.
fn input_series(om: &str) -> (String, i64) {
    let series = parse(om);
    let t0 = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(t, _)| *t))
        .min()
        .unwrap();
    let end = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(t, _)| *t))
        .max()
        .unwrap();
    let steps = ((end - t0) / 1_000_000 / STEP) as usize + 1;
    let mut out = String::new();
    for (name, points) in &series {
        let shift = if name
            .split('{')
            .next()
            .unwrap()
            .ends_with("_timestamp_seconds")
        {
            t0 as f64 / 1e6
        } else {
            0.0
        };
        let mut vals = Vec::with_capacity(steps);
        let mut k = 0;
        let mut last = None;
        for i in 0..steps {
            let t = t0 + i as i64 * STEP * 1_000_000;
            while k < points.len() && points[k].0 <= t {
                last = Some(points[k].1 - shift);
                k += 1;
            }
            vals.push(last);
        }
        let _ = writeln!(
            out,
            "      - series: '{}'\n        values: '{}'",
            name.replace('\'', "''"),
            values(&vals, true)
        );
    }
    (out, ((end - t0) / 1_000_000))
}

fn dur(s: i64) -> String {
    format!("{s}s")
}

/// The firing alerts expected at `t` (promtool's labels, sorted as it prints them).
fn firing_at(ex: &[Expect], t: i64) -> Vec<String> {
    let mut v: Vec<String> = ex
        .iter()
        .filter(|x| x.from <= t && t < x.to)
        .map(|x| {
            let mut labels: Vec<(String, String)> = vec![
                ("alertname".into(), x.alert.into()),
                ("alertstate".into(), "firing".into()),
            ];
            labels.extend(x.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            labels.sort();
            let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("ALERTS{{{}}}", inner.join(", "))
        })
        .collect();
    v.sort();
    v
}

/// Eval times checked: every 15 s from 0 to 10 minutes past the recording, but within
/// `SLACK` of an expected edge.
fn checked_times(ex: &[Expect], end: i64) -> Vec<i64> {
    let edges: Vec<i64> = ex.iter().flat_map(|x| [x.from, x.to]).collect();
    (0..=(end + 600) / 15)
        .map(|i| i * 15)
        .filter(|t| edges.iter().all(|e| (t - e).abs() > SLACK))
        .collect()
}

fn record_and_export(name: &str, every: i64, secs: i64) -> String {
    let (d, db, _) = record_scenario_for(name, every as f64, true, secs as f64);
    let om = d.path().join("m.om");
    bb(
        &db,
        &[
            "export",
            "--format",
            "openmetrics",
            "--out",
            om.to_str().unwrap(),
        ],
    )
    .ok();
    std::fs::read_to_string(om).unwrap()
}

const HEADER: &str = "rule_files:\n  - alerts.yml\nevaluation_interval: 5s\ntests:\n";

fn generate(discover: bool) -> String {
    generate_groups(discover)
        .into_iter()
        .fold(String::new(), |mut a, (_, g)| {
            a.push_str(&g);
            a
        })
}

/// The test file's preamble, then each scenario's group.
fn generate_groups(discover: bool) -> Vec<(&'static str, String)> {
    let mut groups = vec![(
        "",
        String::from(
            "# Generated by tests/integration/rules.rs from recordings of every built-in scenario\n\
         # (BLACKBOX_UPDATE_RULES_TEST=1 cargo test --test integration rules): `promtool test\n\
         # rules examples/alerts.test.yml`. Input: what Prometheus would have scraped from the\n\
         # recorder every 5s (*_timestamp_seconds values moved so that the first snapshot is\n\
         # time 0, as promtool's clock starts there); the recorder stops after the last\n\
         # snapshot. Expected: the alerts each scenario's story should raise, checked every 15s\n\
         # (but within 20s of an alert's start or end).\n",
        ) + HEADER,
    )];
    for (name, every, secs, mut ex) in scenarios_all() {
        let mut out = String::new();
        let om = record_and_export(name, every, secs);
        let (series, end) = input_series(&om);
        // Its series turn stale at the first scrape after the last snapshot, and
        // `BlackboxDown` fires a minute later (and goes on past what is checked).
        for x in ex.iter_mut().filter(|x| x.alert == "BlackboxDown") {
            x.from = end + STEP + 60;
        }
        let _ = write!(
            out,
            "  - name: {name}\n    interval: {STEP}s\n    input_series:\n{series}    promql_expr_test:\n"
        );
        let times: Vec<i64> = if discover {
            (0..=(end + 600) / STEP).map(|i| i * STEP).collect()
        } else {
            checked_times(&ex, end)
        };
        for t in times {
            let _ = writeln!(
                out,
                "      - expr: 'ALERTS{{alertstate=\"firing\"}}'\n        eval_time: {}",
                dur(t)
            );
            let f = if discover {
                Vec::new()
            } else {
                firing_at(&ex, t)
            };
            if f.is_empty() {
                let _ = writeln!(out, "        exp_samples: []");
            } else {
                let _ = writeln!(out, "        exp_samples:");
                for a in f {
                    let _ = writeln!(
                        out,
                        "          - labels: '{}'\n            value: 1",
                        a.replace('\'', "''")
                    );
                }
            }
        }
        groups.push((name, out));
    }
    groups
}

fn scenarios_all() -> Vec<(&'static str, i64, i64, Vec<Expect>)> {
    scenarios()
}

fn promtool() -> Option<std::path::PathBuf> {
    let p = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .ok()?;
    p.status.success().then(|| "promtool".into())
}

#[test]
fn the_example_alerts_fire_on_the_incidents_they_are_for() {
    let discover = std::env::var_os("BLACKBOX_RULES_DISCOVER").is_some();
    if discover {
        let d = tempfile::tempdir().unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/alerts.yml"),
            d.path().join("alerts.yml"),
        )
        .unwrap();
        for (name, g) in generate_groups(true).into_iter().skip(1) {
            let f = d.path().join("alerts.test.yml");
            std::fs::write(&f, format!("{HEADER}{g}")).unwrap();
            let out = std::process::Command::new("promtool")
                .args(["test", "rules"])
                .arg(&f)
                .output()
                .unwrap();
            println!("=== {name}");
            println!("{}", String::from_utf8_lossy(&out.stderr));
            println!("{}", String::from_utf8_lossy(&out.stdout));
        }
        return;
    }
    let text = generate(false);
    if std::env::var_os("BLACKBOX_UPDATE_RULES_TEST").is_some() {
        std::fs::write(TEST_FILE, &text).unwrap();
    }
    let kept = std::fs::read_to_string(TEST_FILE).unwrap_or_default();
    assert!(
        kept == text,
        "examples/alerts.test.yml is not what the recordings and expectations give now (BLACKBOX_UPDATE_RULES_TEST=1 to write it)"
    );
    let Some(tool) = promtool() else {
        eprintln!("SKIPPED (promtool test rules): promtool is not installed (.ci/run installs it)");
        return;
    };
    let out = std::process::Command::new(tool)
        .args(["test", "rules"])
        .arg(TEST_FILE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn expanding_notation_round_trips() {
    assert_eq!(
        values(
            &[None, None, Some(1.0), Some(1.0), Some(1.0), Some(5.0)],
            true
        ),
        "_x2 1+0x2 5 stale"
    );
    assert_eq!(values(&[Some(3.0), Some(1.0), Some(-1.0)], false), "3-2x2");
    assert_eq!(values(&[Some(0.5)], false), "0.5");
}

/// The OpenMetrics export loads into a Prometheus TSDB (`promtool tsdb create-blocks-from
/// openmetrics`), every sample of it.
#[test]
fn the_openmetrics_export_loads_into_prometheus() {
    let Some(tool) = promtool() else {
        eprintln!("SKIPPED: promtool is not installed (.ci/run installs it)");
        return;
    };
    let (d, db, _) = record_scenario_for("outage", 10.0, true, 760.0);
    let om = d.path().join("m.om");
    let said = bb(
        &db,
        &[
            "export",
            "--format",
            "openmetrics",
            "--out",
            om.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    let samples: usize = said
        .split(" samples")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    let text = std::fs::read_to_string(&om).unwrap();
    assert!(text.ends_with("# EOF\n"));
    assert_eq!(
        text.lines().filter(|l| !l.starts_with('#')).count(),
        samples,
        "{said}"
    );
    let out = std::process::Command::new(tool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(d.path().join("tsdb"))
        .output()
        .unwrap();
    let o = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{o}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Its block table: ULID, min, max, duration, samples, chunks, series, size.
    let loaded: usize = o
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4)?.parse::<usize>().ok())
        .sum();
    assert_eq!(loaded, samples, "{o}");
}
