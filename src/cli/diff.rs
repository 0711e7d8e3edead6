//! `blackbox diff`: what changed between two snapshots.

use super::safe::{json_out, text_out};
use super::{CmdResult, open_recording, render};
use crate::analysis::{Selector, diff};
use std::io::Write;
use std::path::Path;

/// Show what changed between two snapshots.
///
/// Job status, executions added / removed / changed (field by field), cells newly missing or
/// duplicated, router and provider changes.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// From this snapshot (seq, first, last, -3, RFC 3339 time, +90s).
    #[arg(allow_hyphen_values = true)]
    pub from: Selector,
    /// To this snapshot.
    #[arg(allow_hyphen_values = true)]
    pub to: Selector,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    let from = rec.resolve(&args.from)?;
    let to = rec.resolve(&args.to)?;
    let d = diff::diff(&rec, from, to, args.job.as_deref())?;
    if args.json {
        let mut out = json_out(out);
        serde_json::to_writer_pretty(&mut out, &d)?;
        writeln!(out)?;
    } else {
        render::diff_text(&d, &mut text_out(out))?;
    }
    Ok(())
}
