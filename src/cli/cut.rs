//! `blackbox cut`: a sealed incident bundle of one window of a recording.

use super::error::{CliError, CmdResult};
use super::open::open_recording;
use crate::analysis::Selector;
use crate::present::safe::term;
use crate::present::text::plural;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Cut a window of the recording into a sealed, self-contained bundle.
///
/// The bundle holds the window's snapshots and their bodies, every entity's state at its start
/// and its versions after, and the notes, with a manifest (source recording, range, counts,
/// version) and a blake3 digest over everything: `verify` checks the seal. Every read command
/// (`replay --serve` too) works on a bundle as on a recording. Works while a recorder writes
/// the source.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// First snapshot: a seq, first, last, -3, an RFC 3339 time, or +90s from the first.
    #[arg(long, allow_hyphen_values = true, value_name = "SEL")]
    pub from: Selector,
    /// Last snapshot (same forms).
    #[arg(long, allow_hyphen_values = true, value_name = "SEL")]
    pub to: Selector,
    /// Only this job's requests and rows (repeatable); the router's are always kept.
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<String>,
    /// The bundle to write (it must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (d, rec) = open_recording(db)?;
    let from = rec.resolve(&args.from)?;
    let to = rec.resolve(&args.to)?;
    if from > to {
        return Err(CliError::usage(format!("--from {from} is after --to {to}")));
    }
    for j in &args.jobs {
        rec.select_jobs(Some(j)).map_err(CliError::usage)?;
    }
    drop(rec);
    let jobs = (!args.jobs.is_empty()).then_some(args.jobs.as_slice());
    let m = crate::store::bundle::cut(&d, from, to, jobs, &args.out)?;
    writeln!(
        out,
        "wrote {}: seq {}-{} ({} to {}), {}, {}, {}, {}; digest {}",
        term(&args.out.display().to_string()),
        m.from_seq,
        m.to_seq,
        m.from,
        m.to,
        plural(m.counts.snapshots, "snapshot", "snapshots"),
        plural(m.counts.bodies, "body", "bodies"),
        plural(m.counts.versions, "version", "versions"),
        plural(m.counts.notes, "note", "notes"),
        m.digest
    )?;
    Ok(())
}
