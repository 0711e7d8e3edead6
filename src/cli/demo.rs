//! `blackbox demo`: the seed incident, end to end, on the built-in simulator.

use super::record::Status;
use super::{CliError, CmdResult, open_recording};
use crate::clock::SystemClock;
use crate::record::{RecordOptions, Stop, record, shutdown_signal};
use crate::sim;
use crate::source::HttpSourceConfig;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const DEMO_DB: &str = "blackbox-demo.redb";
/// Scenario speed: the classic incident's 14 minutes play in about 15 s.
const SPEED: f64 = 60.0;

/// Record the classic incident on the built-in simulator and print the postmortem.
///
/// Plays the scenario at 60x, records it for about 17 seconds, then prints the snapshots and
/// the Markdown report.
///
/// Without --db it writes blackbox-demo.redb, replacing an earlier demo file.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Overwrite the file given with --db if it exists.
    #[arg(long)]
    pub force: bool,
    /// Scenario to play (built-in name or file).
    #[arg(long, default_value = "classic")]
    pub scenario: String,
}

pub fn run(args: Args, explicit_db: Option<&Path>, out: &mut dyn Write) -> CmdResult {
    let path: PathBuf = explicit_db.map_or_else(|| PathBuf::from(DEMO_DB), Path::to_path_buf);
    if path.exists() {
        if explicit_db.is_some() && !args.force {
            return Err(CliError::usage(format!(
                "{} exists; the demo would replace it (give --force, or another --db)",
                path.display()
            )));
        }
        // Replace only a recording, and only one that no recorder holds: --force is for an old
        // demo, not for whatever file a mistyped --db names.
        crate::store::open_reader(&path).map_err(|e| {
            CliError::failure(format!(
                "{} is not a readable beacon-blackbox database ({e}); not replacing it",
                path.display()
            ))
        })?;
        drop(crate::store::open_writer(
            &path,
            crate::store::Sharing::Shared,
        )?);
        std::fs::remove_file(&path)
            .map_err(|e| CliError::failure(format!("cannot replace {}: {e}", path.display())))?;
    }
    let scenario = sim::load_scenario(&args.scenario)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let summary = rt.block_on(async {
        // Time runs 60x faster, so the runner's per-minute rate limit does too.
        let running = sim::start(scenario, SPEED, Some((60.0 * SPEED) as u32), "127.0.0.1:0", "127.0.0.1:0").await?;
        let wall = running.sim.wall_duration() + Duration::from_secs(2);
        eprintln!(
            "demo: simulating {:?} at {SPEED}x (runner http://{}, router http://{}); recording {:.0}s into {}",
            running.sim.scenario.name,
            running.runner,
            running.router,
            wall.as_secs_f64(),
            path.display()
        );
        let opts = RecordOptions {
            source: HttpSourceConfig {
                runner: Some(reqwest::Url::parse(&format!("http://{}", running.runner)).map_err(|e| CliError::failure(e.to_string()))?),
                router: Some(reqwest::Url::parse(&format!("http://{}", running.router)).map_err(|e| CliError::failure(e.to_string()))?),
                jobs: running.sim.scenario.jobs.iter().map(|j| j.id.clone()).collect(),
                timeout: Duration::from_secs(5),
                token: None,
                max_runner_rpm: (50.0 * SPEED) as u32,
                body_cap: 64 << 20,
                max_budget_wait: Duration::from_secs(5),
            },
            interval: Duration::from_millis(500),
            stop: Stop::After(wall),
            label: Some(format!("demo: {} at {SPEED}x", running.sim.scenario.name)),
            durable: true,
        };
        let mut status = Status::new(true);
        let s = record(&path, opts, Arc::new(SystemClock), &mut status, shutdown_signal()).await;
        status.finish();
        Ok::<_, CliError>(s?)
    })?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    writeln!(
        out,
        "recorded {} snapshots into {} ({} bytes)\n",
        summary.snapshots,
        path.display(),
        size
    )?;
    let (_db, rec) = open_recording(&path)?;
    writeln!(out, "## Snapshots\n")?;
    super::snapshots::write_text(&rec, out)?;
    writeln!(out)?;
    super::report::render_report(&rec, None, super::report::Format::Markdown, out)?;
    writeln!(
        out,
        "\nExplore it: blackbox --db {0} show --at +5m | diff first last | report --format json | replay",
        path.display()
    )?;
    Ok(())
}
