//! `blackbox replay`: the timeline, or the time-travel server.

use super::args::parse_speed;
use super::error::{CliError, CmdResult};
use super::open::open_recording;
use crate::analysis::timeline::{Event, EventKind};
use crate::analysis::{Selector, timeline};
use crate::present::safe::{json_out, term, text_out};
use crate::present::text::{Ctx, list};
use crate::present::{render, words};
use crate::serve::replay::{Server, Timing};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Walk the incident's timeline, or serve the recorded API as it was at a moment.
///
/// The timeline: fetch failures, gaps and recoveries, status changes, new rows, duplicates,
/// rows that stop growing, router changes; one block per snapshot, alike events on one line.
/// With --serve: answer HTTP requests with the responses recorded at the selected snapshot,
/// re-enacting recorded failures.
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
    /// One JSON object per line: {at, seq, job?, kind, ...its fields, message}.
    #[arg(long)]
    pub json: bool,
    /// One line per event instead of alike events of a snapshot on one line.
    #[arg(long)]
    pub verbose: bool,
    /// Pace the timeline (or the --clock server) in scaled real time: 60 plays a recorded
    /// minute per second.
    #[arg(long, value_parser = parse_speed, value_name = "X")]
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
    /// With --serve: where the runner listens (loopback unless told otherwise).
    #[arg(
        long,
        visible_alias = "listen",
        default_value = "127.0.0.1:0",
        value_name = "ADDR"
    )]
    pub runner_listen: String,
    /// With --serve: where the router listens.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub router_listen: String,
}

/// A key under which events of one snapshot are alike and share a line.
fn alike(k: &EventKind) -> Option<String> {
    match k {
        EventKind::ExecutionAppeared { status, .. } => Some(format!("appeared {status}")),
        EventKind::ExecutionChanged {
            field,
            from,
            to,
            error_code,
            ..
        } => Some(format!("changed {field} {from:?} {to:?} {error_code:?}")),
        EventKind::CellDuplicated { .. } => Some("duplicated".into()),
        EventKind::ExecutionVanished { .. } => Some("vanished".into()),
        _ => None,
    }
}

/// One line for a group of alike events.
fn group_line(events: &[&Event], st: &words::Style) -> String {
    let first = &events[0].kind;
    if events.len() == 1 {
        return words::event(first, events[0].job.as_deref(), st);
    }
    let cell = |c: &Option<crate::analysis::matrix::Cell>| {
        c.as_ref().map_or("(no cell)".into(), |c| {
            format!(
                "{}/{}/{}",
                term(&c.question_id),
                term(&c.model_id),
                term(&c.region)
            )
        })
    };
    let items =
        |f: &dyn Fn(&EventKind) -> String| -> String { list(events.iter().map(|e| f(&e.kind)), 6) };
    let n = events.len();
    match first {
        EventKind::ExecutionAppeared { status, .. } => format!(
            "{n} executions appeared, {}: {}",
            st.ctx.status(&term(status)),
            items(&|k| match k {
                EventKind::ExecutionAppeared {
                    execution_id,
                    cell: c,
                    ..
                } => format!("{execution_id} {}", cell(c)),
                _ => String::new(),
            })
        ),
        EventKind::ExecutionChanged {
            field,
            from,
            to,
            error_code,
            ..
        } => format!(
            "{n} executions {field} {} -> {}{}: {}",
            term(from.as_deref().unwrap_or("-")),
            st.ctx.status(&term(to.as_deref().unwrap_or("-"))),
            error_code
                .as_deref()
                .map_or(String::new(), |c| format!(" ({})", term(c))),
            items(&|k| match k {
                EventKind::ExecutionChanged { execution_id, .. } => execution_id.to_string(),
                _ => String::new(),
            })
        ),
        EventKind::CellDuplicated { .. } => format!(
            "{n} cells got a second row: {}",
            items(&|k| match k {
                EventKind::CellDuplicated {
                    cell: c,
                    execution_ids,
                } => format!(
                    "{} ({})",
                    cell(&Some(c.clone())),
                    execution_ids
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => String::new(),
            })
        ),
        EventKind::ExecutionVanished { .. } => format!(
            "{n} executions vanished from the complete list: {}",
            items(&|k| match k {
                EventKind::ExecutionVanished { execution_id, .. } => execution_id.to_string(),
                _ => String::new(),
            })
        ),
        other => words::event(other, events[0].job.as_deref(), st),
    }
}

pub fn run(args: Args, db: &Path, color: bool, out: &mut dyn Write) -> CmdResult {
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
    let ctx = Ctx::new(rec.start_us(), color && !args.json);
    let st = render::text_style(ctx);
    // Buffered before the filter: it then looks at large pieces, not serde's small ones.
    let mut out: Box<dyn Write + '_> = if args.json {
        Box::new(std::io::BufWriter::with_capacity(1 << 16, json_out(out)))
    } else {
        Box::new(std::io::BufWriter::with_capacity(1 << 16, text_out(out)))
    };
    let mut prev_at: Option<i64> = None;
    let mut line = Vec::new();
    let mut k = 0;
    while k < events.len() {
        let seq = events[k].seq;
        let mut end = k;
        while end < events.len() && events[end].seq == seq {
            end += 1;
        }
        let block = &events[k..end];
        let at = block[0].at.0;
        if let (Some(speed), Some(p)) = (args.speed, prev_at) {
            let gap = (at - p).max(0) as f64 / 1e6 / speed;
            if gap > 0.0 {
                out.flush()?;
                std::thread::sleep(Duration::from_secs_f64(gap.min(3600.0)));
            }
        }
        prev_at = Some(at);
        if args.json {
            // The block's lines made in memory and written at once: no call per JSON token.
            line.clear();
            for e in block {
                serde_json::to_writer(&mut line, &crate::present::json::event(e, ctx))?;
                line.push(b'\n');
            }
            out.write_all(&line)?;
        } else {
            writeln!(out, "#{seq:<5} {}", ctx.time(at))?;
            // Alike events share a line, in the order the first of each came.
            let mut groups: Vec<(Option<String>, Vec<&Event>)> = Vec::new();
            for e in block {
                let key = if args.verbose { None } else { alike(&e.kind) };
                match groups
                    .iter_mut()
                    .find(|(g, v)| key.is_some() && *g == key && v[0].job == e.job)
                {
                    Some((_, v)) => v.push(e),
                    None => groups.push((key, vec![e])),
                }
            }
            for (_, g) in &groups {
                writeln!(out, "       {}", group_line(g, &st))?;
            }
        }
        k = end;
    }
    if events.is_empty() && !args.json {
        writeln!(out, "no events between snapshots {from} and {to}")?;
    }
    out.flush()?;
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
            crate::serve::replay::start(server, &args.runner_listen, &args.router_listen).await?;
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
