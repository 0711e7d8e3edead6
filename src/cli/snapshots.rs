//! `blackbox snapshots`: the snapshots, runs of alike ones collapsed.

use super::error::CmdResult;
use super::open::open_recording;
use crate::present::safe::text_out;
use crate::present::snapshots::{snapshots_json, write_text};
use crate::present::text::Ctx;
use std::io::Write;
use std::path::Path;

/// List the snapshots.
///
/// One line per run of snapshots whose requests went alike (all ok, say), with each job's rows
/// at its start and end; --all for one line per snapshot.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One line per snapshot instead of one per run of alike ones.
    #[arg(long)]
    pub all: bool,
    /// Print a JSON array instead of text, one entry per snapshot (shapes in docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, color: bool, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    if args.json {
        crate::present::safe::write_json_pretty(out, &snapshots_json(&rec)?)?;
        return Ok(());
    }
    let ctx = Ctx::new(rec.start_us(), color);
    write_text(&rec, args.all, ctx, &mut text_out(out))?;
    Ok(())
}
