//! `blackbox verify`: check a database, read-only.

use super::{CliError, CmdResult};
use crate::store::{Reader, open_reader};
use std::io::Write;
use std::path::Path;

/// Check a database's integrity, read-only.
///
/// Schema version, every snapshot complete and decodable, sequence numbers contiguous, every
/// referenced body present and matching its hash, every entity version pointing at an existing
/// snapshot. Prints what is wrong; exits 0 only when all holds.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let d = open_reader(db)?;
    let r = Reader::new(&d)?.verify()?;
    const SHOWN: usize = 50;
    for p in r.problems.iter().take(SHOWN) {
        writeln!(out, "problem: {p}")?;
    }
    if r.problems.len() > SHOWN {
        writeln!(out, "... and {} more problems", r.problems.len() - SHOWN)?;
    }
    if r.problems.is_empty() {
        writeln!(
            out,
            "ok: {} snapshots, {} bodies, {} entity versions verified",
            r.snapshots, r.bodies, r.versions
        )?;
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "{} problem{} found in {}",
            r.problems.len(),
            if r.problems.len() == 1 { "" } else { "s" },
            db.display()
        )))
    }
}
