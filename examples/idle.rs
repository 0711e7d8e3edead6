//! What always-on recording costs when little happens: `record --all-jobs --interval 5s` (with
//! the extra endpoints, durable commits) for one simulated day on the `fleet` scenario (50
//! jobs: 5 active with 200 rows each completing over the day, 45 finished), on a manual clock
//! so that the day takes a minute or two. Prints the recorder's average CPU (share of one core
//! over the simulated day), its peak memory and the file's growth.
//!
//! The simulator answers in the same process (no sockets), so the CPU and memory figures
//! include its share: they are upper bounds for the recorder.
//!
//! cargo run --release --example idle [-- --hours 24 --db /tmp/fleet.redb]

use beacon_blackbox::clock::ManualClock;
use beacon_blackbox::record::{Observer, RecordOptions, Stop, Targets, record};
use beacon_blackbox::sim::{self, SimSource};
use beacon_blackbox::store::{IngestStats, Poll, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Count {
    snapshots: u64,
    notes: Vec<String>,
}

impl Observer for Count {
    fn warn(&mut self, m: &str) {
        self.notes.push(m.to_string());
    }
    fn committed(&mut self, _: &IngestStats, _: &Poll) {
        self.snapshots += 1;
    }
    fn write_failed(&mut self, e: &StoreError) {
        eprintln!("error: {e}");
    }
}

/// User + system CPU seconds of this process (Linux `/proc`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory, MiB (Linux `/proc`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let mut hours = 24.0f64;
    let mut db = std::env::temp_dir().join(format!("blackbox-idle-{}.redb", std::process::id()));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--hours" => hours = args.next().and_then(|v| v.parse().ok()).unwrap_or(24.0),
            "--db" => db = args.next().map(Into::into).unwrap_or(db),
            _ => {
                eprintln!("usage: idle [--hours H] [--db PATH]");
                std::process::exit(2);
            }
        }
    }
    let _ = std::fs::remove_file(&db);
    const T0: i64 = 1_760_000_000_000_000;
    let clock = Arc::new(ManualClock::new(T0));
    let sim = sim::Sim::with_clock(sim::fleet(), clock.clone(), T0, 1.0, None);
    let src = SimSource::new(sim, 10_000_000, false);
    let opts = RecordOptions {
        targets: Targets {
            runner: Some("http://runner.sim/".parse().unwrap()),
            router: Some("http://router.sim/".parse().unwrap()),
            all_jobs: true,
            extras: true,
            ..Default::default()
        },
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        max_runner_rpm: 50,
        stop: Stop::After(Duration::from_secs_f64(hours * 3600.0)),
        label: Some("idle measurement".into()),
        durable: true,
        disk_limit: None,
        retain: None,
        max_size: None,
        live_findings: true,
        metrics: None,
        on_finding: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut heard = Count::default();
    let cpu0 = cpu_seconds();
    let wall = Instant::now();
    let summary = rt
        .block_on(record(
            &db,
            opts,
            &src,
            clock,
            &mut heard,
            std::future::pending(),
        ))
        .unwrap();
    let cpu = cpu_seconds() - cpu0;
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    let simulated = hours * 3600.0;
    println!(
        "fleet, {hours} h simulated: {} snapshots, {} requests ({} failed, {} not sent)",
        summary.snapshots, summary.requests, summary.failed, summary.gaps
    );
    for n in heard.notes.iter().take(3) {
        println!("  recorder said: {n}");
    }
    println!(
        "CPU {cpu:.1} s over {simulated:.0} s simulated = {:.3} % of one core (recorder + simulator); wall {:.1} s",
        cpu / simulated * 100.0,
        wall.elapsed().as_secs_f64()
    );
    println!("peak RSS {:.1} MiB (recorder + simulator)", peak_rss_mib());
    println!(
        "file {:.2} MiB = {:.2} MiB per simulated day",
        size as f64 / 1048576.0,
        size as f64 / 1048576.0 / (hours / 24.0)
    );
    let _ = std::fs::remove_file(&db);
}
