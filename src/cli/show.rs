//! `blackbox show`: the state at one snapshot.

use super::safe::{json_out, text_out};
use super::{CmdResult, open_recording, render};
use crate::analysis::{Selector, report};
use std::io::Write;
use std::path::Path;

/// Show the state at one snapshot.
///
/// Per job: rows by status, the expected matrix and its coverage (missing, duplicated,
/// unexpected cells), the default view's truncation. Then the router.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which snapshot: a seq (17), first, last, -3, an RFC 3339 time, or +90s from the first.
    #[arg(
        long,
        default_value = "last",
        value_name = "SEL",
        allow_hyphen_values = true
    )]
    pub at: Selector,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    let seq = rec.resolve(&args.at)?;
    let s = report::show(&rec, seq, args.job.as_deref())?;
    if args.json {
        let mut out = json_out(out);
        serde_json::to_writer_pretty(&mut out, &s)?;
        writeln!(out)?;
    } else {
        render::show_text(&s, &mut text_out(out))?;
    }
    Ok(())
}
