//! Builds a large synthetic recording through the library, without HTTP.
//!
//! cargo run --release --example synth -- --executions 10000 --snapshots 1000 \
//!     [--change-rate 0.01] [--seed 1] [--durable] --db big.redb

use beacon_blackbox::synth::{SynthOptions, build};
use std::time::Instant;

const USAGE: &str =
    "Builds a large synthetic recording through the library, without HTTP: one job of N
executions (3 models x 3 regions per question; the last question's cells beyond N have no
row, up to 8), changing over M snapshots.

Usage: synth --db PATH [OPTIONS]

Options:
      --db <PATH>            The new recording (refused if it exists)
      --executions <N>       Executions of the job [default: 10000]
      --snapshots <M>        Snapshots [default: 1000]
      --change-rate <R>      Fraction of executions changing per snapshot, 0 to 1 [default: 0.01]
      --seed <S>             Seed: the same seed gives the same recording [default: 1]
      --durable              Commit durably, as `record` does (slower)
  -h, --help                 Print this help

Example: cargo run --release --example synth -- --executions 10000 --snapshots 1000 --db big.redb";

fn main() {
    let mut o = SynthOptions {
        executions: 10_000,
        snapshots: 1_000,
        change_rate: 0.01,
        seed: 1,
        durable: false,
    };
    let mut db = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("error: {name} needs a value");
                std::process::exit(2)
            })
        };
        let bad = |name: &str, v: &str| -> ! {
            eprintln!("error: invalid value {v:?} for {name}");
            std::process::exit(2)
        };
        match a.as_str() {
            "--executions" => {
                let v = val(&a);
                o.executions = v.parse().unwrap_or_else(|_| bad(&a, &v))
            }
            "--snapshots" => {
                let v = val(&a);
                o.snapshots = v.parse().unwrap_or_else(|_| bad(&a, &v))
            }
            "--change-rate" => {
                let v = val(&a);
                o.change_rate = v
                    .parse()
                    .ok()
                    .filter(|r: &f64| (0.0..=1.0).contains(r))
                    .unwrap_or_else(|| bad(&a, &v))
            }
            "--seed" => {
                let v = val(&a);
                o.seed = v.parse().unwrap_or_else(|_| bad(&a, &v))
            }
            "--durable" => o.durable = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            "--db" => db = Some(val(&a)),
            other => {
                eprintln!("error: unknown argument {other:?} (synth --help lists the options)");
                std::process::exit(2)
            }
        }
    }
    let Some(db) = db else {
        eprintln!("error: --db PATH is required");
        std::process::exit(2)
    };
    if std::path::Path::new(&db).exists() {
        eprintln!("error: {db} exists; synth writes a new file");
        std::process::exit(1)
    }
    let t = Instant::now();
    match build(std::path::Path::new(&db), &o) {
        Ok(v) => {
            let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
            println!(
                "wrote {db}: {} snapshots x {} executions, {v} entity versions, {size} bytes, in {:.1}s",
                o.snapshots,
                o.executions,
                t.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("error: {msg}");
            std::process::exit(1)
        }
    }
}
