//! `blackbox verify`: check a database without changing it.

use super::safe::{term, text_out};
use super::{CliError, CmdResult};
use crate::store::verify_file;
use std::io::Write;
use std::path::Path;

/// Check a database's integrity without changing it.
///
/// redb's own page checksums (in a dry run: every write held in memory), the schema version,
/// every snapshot complete and decodable, sequence numbers contiguous, every referenced body
/// present and matching its hash, every entity version pointing at an existing snapshot, every
/// body's rows accounted for. Prints what is wrong; exits 0 only when all holds.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let r = verify_file(db)?;
    let mut out = text_out(out);
    const SHOWN: usize = 50;
    for n in &r.notes {
        writeln!(out, "note: {}", term(n))?;
    }
    for p in r.problems.iter().take(SHOWN) {
        writeln!(out, "problem: {}", term(p))?;
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
            term(&db.display().to_string())
        )))
    }
}
