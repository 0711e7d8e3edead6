//! A flood of clients on a recorder's `/metrics` and live page while it records a large
//! recording (issue 27): the figures `examples/flood` prints and the test checks. Shared by
//! the example and `tests/integration/flood.rs` (one implementation of the measurement).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Flood {
    /// The `blackbox` binary that records.
    pub blackbox: PathBuf,
    /// The synthetic recording recorded on: executions x snapshots.
    pub executions: usize,
    pub snapshots: usize,
    pub clients: usize,
    pub seconds: f64,
    pub interval: Duration,
}

#[derive(Debug)]
pub struct Figures {
    pub clients: usize,
    pub seconds: f64,
    /// Snapshots the recorder committed during the run, and the largest gap between two.
    pub snapshots: usize,
    pub largest_gap: Duration,
    pub rss_before_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_after_kib: u64,
    /// Answers the clients got, and the slowest one.
    pub answers: u64,
    pub slowest_answer: Duration,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The address after `prefix` in a line of the recorder's stderr (`live page at http://A/`).
fn address(line: &str, prefix: &str) -> Option<String> {
    let rest = line.split(prefix).nth(1)?;
    Some(
        rest.split(['/', ' '])
            .next()
            .unwrap_or_default()
            .to_string(),
    )
}

pub fn run(f: &Flood, dir: &Path) -> Figures {
    beacon_blackbox::source::install_crypto();
    let db = dir.join("flood.redb");
    let _ = std::fs::remove_file(&db);
    beacon_blackbox::synth::build(
        &db,
        &beacon_blackbox::synth::SynthOptions {
            executions: f.executions,
            snapshots: f.snapshots,
            change_rate: 0.01,
            seed: 27,
            durable: false,
        },
    )
    .expect("the synthetic recording");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(beacon_blackbox::sim::start(
            beacon_blackbox::sim::builtin("classic").unwrap(),
            60.0,
            Some(0),
            "127.0.0.1:0",
            "127.0.0.1:0",
        ))
        .unwrap();
    let job = sim.sim.scenario.jobs[0].id.clone();
    let duration = f.seconds + 8.0;
    let mut child = Command::new(&f.blackbox)
        .arg("--db")
        .arg(&db)
        .args([
            "record",
            "--runner",
            &format!("http://{}", sim.runner),
            "--router",
            &format!("http://{}", sim.router),
            "--job",
            &job,
            "--interval",
            &format!("{}ms", f.interval.as_millis()),
            "--duration",
            &format!("{duration:.1}s"),
            "--max-runner-rpm",
            "100000",
            "--no-extras",
            "--ui",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("blackbox record");
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut ui, mut metrics) = (None, None);
    while ui.is_none() || metrics.is_none() {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(a) = address(&line, "live page at http://") {
            ui = Some(a);
        }
        if let Some(a) = address(&line, "metrics at http://") {
            metrics = Some(a);
        }
    }
    // The rest of stderr is drained, so the recorder never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    let (ui, metrics) = (
        ui.expect("the page's address"),
        metrics.expect("the metrics address"),
    );
    // Warm: the page and the metrics rendered once, as a first look at them does; what the
    // flood adds is measured from there.
    rt.block_on(async {
        let c = reqwest::Client::new();
        for url in [format!("http://{ui}/"), format!("http://{metrics}/metrics")] {
            if let Ok(r) = c.get(&url).send().await {
                let _ = r.bytes().await;
            }
        }
    });
    std::thread::sleep(f.interval * 2);
    let rss_before_kib = rss_kib(pid);
    let answers = Arc::new(AtomicU64::new(0));
    let slowest = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(rss_before_kib));
    let deadline = Instant::now() + Duration::from_secs_f64(f.seconds);
    rt.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..f.clients {
            // Both listeners: `/metrics` on each, and the page.
            let url = match k % 3 {
                0 => format!("http://{metrics}/metrics"),
                1 => format!("http://{ui}/metrics"),
                _ => format!("http://{ui}/"),
            };
            let (answers, slowest) = (answers.clone(), slowest.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if let Ok(r) = client.get(&url).send().await {
                        let _ = r.bytes().await;
                        answers.fetch_add(1, Ordering::Relaxed);
                        slowest.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                    }
                }
            }));
        }
        let peak = peak.clone();
        let sampler = tokio::spawn(async move {
            while Instant::now() < deadline {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        for t in tasks {
            let _ = t.await;
        }
        let _ = sampler.await;
    });
    let rss_after_kib = rss_kib(pid);
    let _ = child.wait();
    // The snapshots of this session: the synthetic ones came before.
    let out = Command::new(&f.blackbox)
        .arg("--db")
        .arg(&db)
        .args(["snapshots", "--all", "--json"])
        .output()
        .unwrap();
    let snaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let times: Vec<i64> = snaps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["seq"].as_u64().unwrap() as usize > f.snapshots)
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s["taken_at"].as_str().unwrap())
                .unwrap()
                .timestamp_micros()
        })
        .collect();
    let largest_gap = times
        .windows(2)
        .map(|w| Duration::from_micros((w[1] - w[0]).max(0) as u64))
        .max()
        .unwrap_or_default();
    Figures {
        clients: f.clients,
        seconds: f.seconds,
        snapshots: times.len(),
        largest_gap,
        rss_before_kib,
        rss_peak_kib: peak.load(Ordering::Relaxed),
        rss_after_kib,
        answers: answers.load(Ordering::Relaxed),
        slowest_answer: Duration::from_micros(slowest.load(Ordering::Relaxed)),
    }
}
