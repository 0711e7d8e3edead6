//! Issue 27: a recorder no client can stall. Hundreds of clients on `/metrics` (both
//! listeners) and on the live page while it records a large recording: the polls keep their
//! schedule and its memory stays bounded. The same measurement, at full size and with the
//! release build, is `cargo run --release --example flood`.
//!
//! A test binary of its own (the others are one, `tests/integration`): cargo runs test
//! binaries one after another, so this timing is not taken while a hundred other tests share
//! the machine's two cores.

#[path = "../examples/flood/run.rs"]
mod run;

#[test]
fn a_flood_of_clients_does_not_stall_the_recorder() {
    let dir = tempfile::tempdir().unwrap();
    let f = run::Flood {
        blackbox: env!("CARGO_BIN_EXE_blackbox").into(),
        executions: 2_000,
        snapshots: 200,
        clients: 150,
        seconds: 6.0,
        interval: std::time::Duration::from_secs(1),
    };
    let r = run::run(&f, dir.path());
    eprintln!(
        "flood: {} clients for {} s: {} snapshots, largest gap {:?}; RSS {} KiB before, {} peak, {} after; {} answers, slowest {:?}",
        r.clients,
        r.seconds,
        r.snapshots,
        r.largest_gap,
        r.rss_before_kib,
        r.rss_peak_kib,
        r.rss_after_kib,
        r.answers,
        r.slowest_answer
    );
    assert!(r.answers > 1_000, "the clients were answered: {r:?}");
    assert!(r.snapshots >= 5, "{r:?}");
    assert!(
        r.largest_gap.as_secs_f64() <= 1.25 * f.interval.as_secs_f64(),
        "a poll came late: {r:?}"
    );
    assert!(
        r.rss_peak_kib.saturating_sub(r.rss_before_kib) <= 64 * 1024,
        "memory grew: {r:?}"
    );
}
