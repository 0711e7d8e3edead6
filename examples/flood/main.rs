//! Floods a recorder's `/metrics` and live page while it records a large recording, and
//! prints what happened to its polls and its memory (issue 27's figures).
//!
//! cargo build --release && cargo run --release --example flood -- [CLIENTS] [SECONDS] [EXECUTIONS] [SNAPSHOTS]
//! (defaults: 250 clients for 20 s on 10,000 executions x 1,000 snapshots, polls every 1.58 s)

mod run;

fn main() {
    let arg = |k: usize, d: f64| {
        std::env::args()
            .nth(k)
            .and_then(|a| a.parse::<f64>().ok())
            .unwrap_or(d)
    };
    let blackbox = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("blackbox")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            eprintln!("error: build the release binary first: cargo build --release");
            std::process::exit(2)
        });
    let f = run::Flood {
        blackbox,
        clients: arg(1, 250.0) as usize,
        seconds: arg(2, 20.0),
        executions: arg(3, 10_000.0) as usize,
        snapshots: arg(4, 1_000.0) as usize,
        interval: std::time::Duration::from_millis(1580),
    };
    let dir = tempfile::tempdir().unwrap();
    eprintln!(
        "building {} x {} and recording on it; {} clients for {} s ...",
        f.executions, f.snapshots, f.clients, f.seconds
    );
    let r = run::run(&f, dir.path());
    println!(
        "clients {}  seconds {}  snapshots {}  largest gap {:.2}s (interval {:.2}s)  rss before {} MiB  peak {} MiB  after {} MiB  answers {}  slowest {:.2}s",
        r.clients,
        r.seconds,
        r.snapshots,
        r.largest_gap.as_secs_f64(),
        f.interval.as_secs_f64(),
        r.rss_before_kib / 1024,
        r.rss_peak_kib / 1024,
        r.rss_after_kib / 1024,
        r.answers,
        r.slowest_answer.as_secs_f64()
    );
}
