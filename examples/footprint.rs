//! Measures the recorder's footprint on the classic job (simulated):
//! - raw JSON received / database size for one hour of polling at 5 s (720 polls), with the
//!   simulator sped up 100x so that the hour takes 36 s;
//! - bytes added to the file per poll in which nothing changed (after the incident is over).
//!
//! cargo run --release --example footprint

use beacon_blackbox::analysis::Recording;
use beacon_blackbox::clock::{Clock, SystemClock};
use beacon_blackbox::record::{Observer, RecordOptions, Stop, Targets, record};
use beacon_blackbox::sim;
use beacon_blackbox::source::{HttpConfig, HttpSource};
use beacon_blackbox::store::{IngestStats, Poll, StoreError, open_reader};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

struct Quiet;
impl Observer for Quiet {
    fn warn(&mut self, m: &str) {
        eprintln!("warning: {m}");
    }
    fn committed(&mut self, _: &IngestStats, _: &Poll) {}
    fn write_failed(&mut self, e: &StoreError) {
        eprintln!("error: {e}");
    }
}

const SPEED: f64 = 100.0;

async fn rec(db: &Path, runner: &str, router: &str, job: &str, polls: u64) {
    let opts = RecordOptions {
        targets: Targets {
            runner: Some(runner.parse().unwrap()),
            router: Some(router.parse().unwrap()),
            jobs: vec![job.to_string()],
            admin: false,
            ..Default::default()
        },
        interval: Duration::from_secs_f64(5.0 / SPEED),
        timeout: Duration::from_secs(5),
        max_runner_rpm: 100_000,
        stop: Stop::Count(polls),
        label: None,
        durable: true,
        disk_limit: None,
        retain: None,
        max_size: None,
        // FOOTPRINT_NO_LIVE=1: without live findings (what their rows and notes cost).
        live_findings: std::env::var_os("FOOTPRINT_NO_LIVE").is_none(),
        metrics: None,
        on_finding: None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let src = HttpSource::new(
        HttpConfig {
            timeout: Duration::from_secs(5),
            body_cap: 64 << 20,
            token: None,
        },
        clock.clone(),
    )
    .unwrap();
    record(db, opts, &src, clock, &mut Quiet, std::future::pending())
        .await
        .unwrap();
}

fn raw_bytes(db: &Path) -> u64 {
    let d = open_reader(db).unwrap();
    let r = Recording::open(&d).unwrap();
    r.snaps
        .iter()
        .flat_map(|s| &s.fetches)
        .map(|f| f.body_len)
        .sum()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = match std::env::args().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("footprint.redb"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = sim::builtin("classic").unwrap();
        let job = s.jobs[0].id.clone();
        let running = sim::start(s, SPEED, Some(0), "127.0.0.1:0", "127.0.0.1:0").await.unwrap();
        let (runner, router) = (format!("http://{}", running.runner), format!("http://{}", running.router));
        rec(&db, &runner, &router, &job, 720).await;
        let raw = raw_bytes(&db);
        let size = std::fs::metadata(&db).unwrap().len();
        println!(
            "one hour at 5 s (720 polls): {raw} bytes of JSON received, database {size} bytes: ratio {:.0}x",
            raw as f64 / size as f64
        );
        // The incident is over: every further poll sees the same bodies (the router's /health
        // timestamp aside).
        let before = std::fs::metadata(&db).unwrap().len();
        const MORE: u64 = 1000;
        rec(&db, &runner, &router, &job, MORE).await;
        let after = std::fs::metadata(&db).unwrap().len();
        println!(
            "{MORE} unchanged polls added {} bytes: {:.0} bytes per poll",
            after - before,
            (after - before) as f64 / MORE as f64
        );
    });
}
