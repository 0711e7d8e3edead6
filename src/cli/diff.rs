//! `blackbox diff`: what changed between two snapshots.

use super::error::CmdResult;
use super::open::open_recording;
use crate::analysis::{Selector, diff};
use crate::present::render;
use crate::present::safe::text_out;
use crate::present::text::Ctx;
use std::io::Write;
use std::path::Path;

/// Show what changed between two snapshots.
///
/// Job status, executions added / removed / changed (field by field; alike changes on one
/// line), cells newly missing, filled or duplicated, router and provider changes.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// From this snapshot: a seq, first, last, -3, an RFC 3339 time, +90s from the first, or -30m (the last 30 minutes).
    #[arg(allow_hyphen_values = true, value_name = "FROM")]
    pub from: Selector,
    /// To this snapshot (same forms as FROM).
    #[arg(allow_hyphen_values = true, value_name = "TO")]
    pub to: Selector,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    /// List every change and cell instead of summarising alike ones.
    #[arg(long)]
    pub verbose: bool,
    /// Print JSON instead of text (shapes in docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, color: bool, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    let from = rec.resolve(&args.from)?;
    let to = rec.resolve(&args.to)?;
    let d = diff::diff(&rec, from, to, args.job.as_deref())?;
    if args.json {
        crate::present::safe::write_json_pretty(out, &d)?;
    } else {
        let ctx = Ctx::new(rec.start_us(), color);
        render::diff_text(&d, args.verbose, ctx, &mut text_out(out))?;
    }
    Ok(())
}
