//! `blackbox verify`: check a database without changing it.

use super::error::{CliError, CmdResult};
use crate::present::safe::{term, text_out};
use crate::present::text::plural;
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
pub struct Args {
    /// Print JSON: {ok, snapshots, bodies, versions, problems: [...], notes: [...]}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let r = verify_file(db)?;
    if args.json {
        let mut out = crate::present::safe::json_out(out);
        let mut v = serde_json::to_value(&r)?;
        v["ok"] = serde_json::Value::Bool(r.problems.is_empty());
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        drop(out);
        return finish(&r, db);
    }
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
            "ok: {}, {}, {}{} verified",
            plural(r.snapshots, "snapshot", "snapshots"),
            plural(r.bodies, "body", "bodies"),
            plural(r.versions, "entity version", "entity versions"),
            if r.annotations > 0 {
                format!(", {}", plural(r.annotations, "note", "notes"))
            } else {
                String::new()
            }
        )?;
        if let Some(m) = &r.bundle {
            writeln!(
                out,
                "sealed bundle of recording {} seq {}-{} ({} to {}): the seal holds (blake3 {})",
                term(m.source_recording_id.as_deref().unwrap_or("?")),
                m.from_seq,
                m.to_seq,
                term(&m.from),
                term(&m.to),
                term(&m.digest)
            )?;
        }
    }
    drop(out);
    finish(&r, db)
}

fn finish(r: &crate::store::VerifyReport, db: &Path) -> CmdResult {
    if r.problems.is_empty() {
        return Ok(());
    }
    Err(CliError::failure(format!(
        "{} found in {}",
        crate::present::text::plural(r.problems.len() as u64, "problem", "problems"),
        term(&db.display().to_string())
    )))
}
