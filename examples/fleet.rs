//! The recorder at fleet size (issue 28): the built-in `fleet` scenario's 50 jobs followed,
//! findings judged after every snapshot, `/metrics` rendered after every commit, polled every
//! 5 s on a manual clock (so polls run back to back and the time a poll takes is the work it
//! costs). Prints, every `EVERY` polls, the median wall and CPU time per poll over the last
//! `EVERY`, and at the end the time to render `/metrics`, to answer a scrape, and the series
//! it serves (the label cardinality).
//!
//! cargo run --release --example fleet -- [POLLS] [EVERY]    (defaults: 720 polls = 1 hour, 60)

use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::record::{Observer, RecordOptions, Stop, Targets, record};
use beacon_blackbox::serve::metrics::Metrics;
use beacon_blackbox::sim;
use beacon_blackbox::store::{IngestStats, Poll, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Process CPU time (user + system), from /proc/self/stat, in seconds.
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the file (utime, stime), 12 and 13 after the name.
    (tick(11) + tick(12)) / 100.0
}

struct Timing {
    every: usize,
    marks: Vec<(Instant, f64)>,
}

impl Observer for Timing {
    fn warn(&mut self, _: &str) {}
    fn committed(&mut self, stats: &IngestStats, _: &Poll) {
        self.marks.push((Instant::now(), cpu()));
        let n = self.marks.len();
        if n > self.every && n.is_multiple_of(self.every) {
            let w = &self.marks[n - self.every - 1..];
            let mut walls: Vec<f64> = w
                .windows(2)
                .map(|p| (p[1].0 - p[0].0).as_secs_f64())
                .collect();
            walls.sort_by(f64::total_cmp);
            let cpu = (w[w.len() - 1].1 - w[0].1) / self.every as f64;
            println!(
                "snapshots {:>5}  per poll: median wall {:>6.1} ms, mean CPU {:>6.1} ms",
                stats.seq,
                walls[walls.len() / 2] * 1e3,
                cpu * 1e3
            );
        }
    }
    fn write_failed(&mut self, e: &StoreError) {
        eprintln!("write failed: {e}");
    }
}

fn main() {
    let arg = |k: usize, d: usize| {
        std::env::args()
            .nth(k)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (polls, every) = (arg(1, 720), arg(2, 60));
    let t0 = 1_760_000_000_000_000;
    let scenario = sim::fleet();
    let jobs: Vec<String> = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let clock = Arc::new(ManualClock::new(t0));
    let s = sim::Sim::with_clock(scenario, clock.clone(), t0, 1.0, Some(0));
    let src = sim::SimSource::new(s, 10_000_000, false);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.redb");
    let metrics = Arc::new(Metrics::new(db.clone(), true));
    let url = |s: &str| reqwest::Url::parse(s).unwrap();
    let opts = RecordOptions {
        targets: Targets {
            runner: Some(url("http://runner.test/")),
            router: Some(url("http://router.test/")),
            jobs: jobs.clone(),
            ..Default::default()
        },
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        max_runner_rpm: 100_000,
        stop: Stop::Count(polls as u64),
        label: None,
        durable: true,
        disk_limit: None,
        retain: None,
        max_size: None,
        live_findings: true,
        metrics: Some(metrics.clone()),
        on_finding: None,
    };
    println!(
        "{} jobs followed, a poll every 5 s (manual clock), findings judged, /metrics rendered after each commit",
        jobs.len()
    );
    // The renderer as `record` runs it: its own thread, once per commit.
    Metrics::spawn_renderer(&metrics);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut timing = Timing {
        every,
        marks: Vec::new(),
    };
    rt.block_on(record(
        &db,
        opts,
        &src,
        clock,
        &mut timing,
        std::future::pending(),
    ))
    .unwrap();
    let t = Instant::now();
    metrics.render_recording(polls as u64);
    let render = t.elapsed();
    let mut scrapes: Vec<f64> = (0..51)
        .map(|_| {
            let t = Instant::now();
            let text = metrics.render(0).unwrap();
            std::hint::black_box(text);
            t.elapsed().as_secs_f64()
        })
        .collect();
    scrapes.sort_by(f64::total_cmp);
    let text = metrics.render(0).unwrap();
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let name = l.split(['{', ' ']).next().unwrap_or("");
        *by.entry(name).or_default() += 1;
    }
    println!(
        "/metrics after {polls} snapshots: rendered in {:.0} ms (once per commit, off the polling path), a scrape answered in {:.3} ms (median of 51), {series} series, {} bytes",
        render.as_secs_f64() * 1e3,
        scrapes[25] * 1e3,
        text.len()
    );
    for (name, n) in by {
        println!("  {n:>5}  {name}");
    }
}
