//! `blackbox replay`: the timeline, or the time-travel server.

use super::args::parse_speed;
use super::safe::{json_out, term, text_out};
use super::{CliError, CmdResult, open_recording};
use crate::analysis::{Selector, timeline};
use crate::replay::{Server, Timing};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Walk the incident's timeline, or serve the recorded API as it was at a moment.
///
/// The timeline: fetch failures and recoveries, status changes, new rows, duplicates, rows
/// that stop growing, router changes. With --serve: answer HTTP requests with the responses
/// recorded at the selected snapshot, re-enacting recorded failures.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Start at this snapshot (seq, first, last, -3, RFC 3339 time, +90s).
    #[arg(long, value_name = "SEL", allow_hyphen_values = true)]
    pub from: Option<Selector>,
    /// End at this snapshot.
    #[arg(long, value_name = "SEL", allow_hyphen_values = true)]
    pub to: Option<Selector>,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Pace the timeline (or the --clock server) in scaled real time: 60 plays a recorded
    /// minute per second.
    #[arg(long, value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Serve the recorded runner and router API instead of printing the timeline.
    #[arg(long)]
    pub serve: bool,
    /// With --serve: the snapshot to serve.
    #[arg(
        long,
        value_name = "SEL",
        allow_hyphen_values = true,
        conflicts_with = "clock"
    )]
    pub at: Option<Selector>,
    /// With --serve: advance through the snapshots with (scaled) wall time.
    #[arg(long)]
    pub clock: bool,
    /// With --serve: the runner listener (binds loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: String,
    /// With --serve: the router listener.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub router_listen: String,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    if args.serve {
        return serve(args, rec, out);
    }
    if args.at.is_some() || args.clock {
        return Err(CliError::usage("--at and --clock need --serve"));
    }
    let from = rec.resolve(args.from.as_ref().unwrap_or(&Selector::First))?;
    let to = rec.resolve(args.to.as_ref().unwrap_or(&Selector::Last))?;
    if from > to {
        return Err(CliError::usage(format!("--from {from} is after --to {to}")));
    }
    let jobs = rec
        .select_jobs(args.job.as_deref())
        .map_err(CliError::failure)?;
    let events = timeline::timeline(&rec, from, to, &jobs)?;
    let mut out: Box<dyn Write + '_> = if args.json {
        Box::new(json_out(out))
    } else {
        Box::new(text_out(out))
    };
    let mut prev_at: Option<i64> = None;
    for e in &events {
        if let (Some(speed), Some(p)) = (args.speed, prev_at) {
            let gap = (e.at_us - p).max(0) as f64 / 1e6 / speed;
            if gap > 0.0 {
                out.flush()?;
                std::thread::sleep(Duration::from_secs_f64(gap.min(3600.0)));
            }
        }
        prev_at = Some(e.at_us);
        if args.json {
            serde_json::to_writer(&mut out, e)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}  #{:<5} {}", e.at, e.seq, term(&e.message))?;
        }
    }
    if events.is_empty() && !args.json {
        writeln!(out, "no events between snapshots {from} and {to}")?;
    }
    Ok(())
}

fn serve(args: Args, rec: crate::analysis::Recording, out: &mut dyn Write) -> CmdResult {
    let timing = match (&args.at, args.clock) {
        (Some(sel), false) => Timing::At(rec.resolve(sel)?),
        (None, true) => Timing::Clock {
            speed: args.speed.unwrap_or(1.0),
        },
        _ => return Err(CliError::usage("--serve needs --at SEL or --clock")),
    };
    let server = Server::new(rec, timing)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (runner, router) =
            crate::replay::start(server, &args.listen, &args.router_listen).await?;
        writeln!(out, "runner: http://{runner}")?;
        writeln!(out, "router: http://{router}")?;
        out.flush()?;
        super::record::say(&format!(
            "serving the recording ({}); Ctrl-C stops",
            match timing {
                Timing::At(s) => format!("snapshot {s}"),
                Timing::Clock { speed } => format!("clock at {speed}x from the first snapshot"),
            }
        ));
        crate::record::shutdown_signal().await;
        Ok::<(), CliError>(())
    })
}
