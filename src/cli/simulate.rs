//! `blackbox simulate`: serve a simulated runner and router on loopback.

use super::args::{parse_offset, parse_speed};
use super::error::{CliError, CmdResult};
use crate::sim;
use std::io::Write;

/// Serve a simulated Beacon runner and hybrid router, playing a scenario.
///
/// Prints `runner: http://HOST:PORT` and `router: http://HOST:PORT` first, then serves until
/// stopped (Ctrl-C). Built-in scenarios: classic, cutoff, outage, legacy, fleet, slow.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A built-in scenario name (classic, cutoff, outage, legacy, fleet, slow) or a scenario JSON
    /// file.
    #[arg(long, default_value = "classic", value_name = "NAME|FILE")]
    pub scenario: String,
    /// Scenario seconds per wall second (60 plays one minute per second).
    #[arg(long, default_value = "1", value_parser = parse_speed, value_name = "X")]
    pub speed: f64,
    /// Where the simulated runner listens (loopback unless told otherwise).
    #[arg(
        long,
        visible_alias = "listen",
        default_value = "127.0.0.1:0",
        value_name = "ADDR"
    )]
    pub runner_listen: String,
    /// Where the simulated router listens.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub router_listen: String,
    /// Override the runner's rate limit (requests per minute per client; 0 = off).
    #[arg(long, value_name = "RPM")]
    pub rate_limit: Option<u32>,
    /// Set the runner's clock this far ahead of the scenario's (`-7m`: seven minutes behind):
    /// its rows' times, `Date` headers and rate-limit resets.
    #[arg(long, value_parser = parse_offset, value_name = "OFFSET", allow_hyphen_values = true)]
    pub runner_clock: Option<f64>,
    /// Set the router's clock this far ahead of the scenario's: its `/health` timestamp, its
    /// checks' stamps and `Date` headers.
    #[arg(long, value_parser = parse_offset, value_name = "OFFSET", allow_hyphen_values = true)]
    pub router_clock: Option<f64>,
    /// Print the scenario as JSON (a starting point for your own file) and exit.
    #[arg(long)]
    pub print_scenario: bool,
    /// Print where it serves as one JSON line, `{"runner", "router", "scenario", "speed",
    /// "plays_for_seconds"}`, instead of the `runner:` and `router:` lines.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let mut scenario = sim::load_scenario(&args.scenario)?;
    if let Some(o) = args.runner_clock {
        scenario.runner.clock_offset = o;
    }
    if let Some(o) = args.router_clock {
        scenario.router.clock_offset = o;
    }
    if args.print_scenario {
        serde_json::to_writer_pretty(&mut *out, &scenario)?;
        writeln!(out)?;
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let running = sim::start(
            scenario,
            args.speed,
            args.rate_limit,
            &args.runner_listen,
            &args.router_listen,
        )
        .await?;
        if args.json {
            let v = serde_json::json!({
                "runner": format!("http://{}", running.runner),
                "router": format!("http://{}", running.router),
                "scenario": running.sim.scenario.name,
                "speed": args.speed,
                "plays_for_seconds": running.sim.wall_duration().as_secs_f64(),
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "runner: http://{}", running.runner)?;
            writeln!(out, "router: http://{}", running.router)?;
        }
        out.flush()?;
        super::record::say(&format!(
            "simulating {:?} at {}x: plays out in {:.1}s, then holds its final state; Ctrl-C stops",
            running.sim.scenario.name,
            args.speed,
            running.sim.wall_duration().as_secs_f64()
        ));
        crate::record::shutdown_signal().await;
        Ok::<(), CliError>(())
    })
}
