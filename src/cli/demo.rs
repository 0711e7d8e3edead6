//! `blackbox demo`: the seed incident, end to end, on the built-in simulator.

use super::error::{CliError, CmdResult};
use super::open::open_recording;
use super::record::{Status, say};
use crate::clock::Clock;
use crate::present::safe::term;
use crate::record::{RecordOptions, Stop, Targets, record, shutdown_signal};
use crate::sim;
use crate::source::{HttpConfig, HttpSource};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const DEMO_DB: &str = "blackbox-demo.redb";
/// Scenario speed: the classic incident's 14 minutes play in about 15 s.
const SPEED: f64 = 60.0;
/// Polls every 30 incident seconds (half a second of real time at 60x).
const INTERVAL: Duration = Duration::from_secs(30);
/// Recording goes on this long after the scenario's end, to see that nothing changes.
const MARGIN_SECS: f64 = 120.0;

/// Record the classic incident on the built-in simulator and print the postmortem.
///
/// Plays the scenario at 60x and records it on the simulator's clock (so snapshot times and
/// row times agree) for about 17 seconds, then prints the snapshots and the Markdown report.
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
    /// Print `{db, snapshots, bytes, report}` as JSON (`report`: what `report --json` gives)
    /// instead of the snapshots and the Markdown report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, explicit_db: Option<&Path>, color: bool, out: &mut dyn Write) -> CmdResult {
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
        let running = sim::start(scenario, SPEED, None, "127.0.0.1:0", "127.0.0.1:0").await?;
        // One clock for the simulated services and the recorder: snapshot times and the rows'
        // own timestamps agree, and `show --at +5m` means five incident minutes.
        let clock: Arc<dyn Clock> = running.sim.clock();
        let length = Duration::from_secs_f64(running.sim.scenario.end + MARGIN_SECS);
        say(&format!(
            "demo: simulating {:?} at {SPEED}x (runner http://{}, router http://{}); recording {} incident minutes (~{:.0}s) into {}",
            running.sim.scenario.name,
            running.runner,
            running.router,
            (length.as_secs_f64() / 60.0).round(),
            length.as_secs_f64() / SPEED,
            path.display()
        ));
        let url = |a: std::net::SocketAddr| {
            reqwest::Url::parse(&format!("http://{a}"))
                .map_err(|e| CliError::failure(e.to_string()))
        };
        let opts = RecordOptions {
            targets: Targets {
                runner: Some(url(running.runner)?),
                router: Some(url(running.router)?),
                jobs: running.sim.scenario.jobs.iter().map(|j| j.id.clone()).collect(),
                admin: false,
                extras: true,
                ..Default::default()
            },
            interval: INTERVAL,
            timeout: Duration::from_secs(5),
            max_runner_rpm: 50,
            stop: Stop::After(length),
            label: Some(format!("demo: {} at {SPEED}x", running.sim.scenario.name)),
            durable: true,
            disk_limit: None,
            retain: None,
            max_size: None,
            live_findings: true,
            metrics: None,
            on_finding: None,
        };
        let src = HttpSource::new(
            HttpConfig {
                timeout: Duration::from_secs(5),
                body_cap: 64 << 20,
                token: None,
            },
            clock.clone(),
        )
        .map_err(|e| CliError::failure(format!("cannot build the HTTP client: {e}")))?;
        let mut status = Status::new(true);
        let s = record(&path, opts, &src, clock, &mut status, shutdown_signal()).await;
        status.finish();
        Ok::<_, CliError>(s?)
    })?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if args.json {
        let (_db, rec) = open_recording(&path)?;
        let r = crate::analysis::report(&rec, None)?;
        let ctx = crate::present::text::Ctx::new(rec.start_us(), false);
        let v = serde_json::json!({
            "db": path.display().to_string(),
            "snapshots": summary.snapshots,
            "bytes": size,
            "report": crate::present::json::report(&r, ctx)?,
        });
        return Ok(super::result::said(out, true, "", v)?);
    }
    writeln!(
        out,
        "recorded {} into {} ({})\n",
        crate::present::text::plural(summary.snapshots, "snapshot", "snapshots"),
        path.display(),
        crate::present::text::size(size)
    )?;
    let (_db, rec) = open_recording(&path)?;
    let mut out = crate::present::safe::text_out(out);
    let out: &mut dyn Write = &mut out;
    writeln!(out, "## Snapshots\n")?;
    let ctx = crate::present::text::Ctx::new(rec.start_us(), color);
    crate::present::snapshots::write_text(&rec, false, ctx, out)?;
    writeln!(out)?;
    super::report::render_report(&rec, None, super::report::Format::Markdown, color, out)?;
    writeln!(
        out,
        "\nExplore it: blackbox --db {0} show --at +5m | show --rows --status failed | diff first last | report --json | replay\nThe page: blackbox --db {0} report --out demo.html (or serve-report, then open http://127.0.0.1:8765/)",
        term(&path.display().to_string())
    )?;
    Ok(())
}
