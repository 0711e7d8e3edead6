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
/// body's rows accounted for; for a bundle, its seal and every fact of its manifest. Prints
/// what is wrong; exits 0 only when all holds.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON: {ok, snapshots, bodies, versions, bundle, problems: [...], notes: [...]}.
    #[arg(long)]
    pub json: bool,
    /// The bundle must be signed by a key of this OpenSSH allowed_signers file (the format
    /// `ssh-keygen -Y verify` reads), for namespace beacon-blackbox.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<std::path::PathBuf>,
    /// The bundle's digest must be this one (as `cut` printed it, kept elsewhere).
    #[arg(long, value_name = "DIGEST")]
    pub expect: Option<String>,
    /// A file without a seal (not a bundle) is a problem.
    #[arg(long)]
    pub sealed: bool,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let allowed_signers = match &args.allowed_signers {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            CliError::usage(format!(
                "cannot read --allowed-signers {}: {e}",
                term(&p.display().to_string())
            ))
        })?),
        None => None,
    };
    // `blake3 HEX` or the whole digest line are taken as well as the bare digest.
    let expect = args
        .expect
        .as_deref()
        .map(|e| e.trim().rsplit(' ').next().unwrap_or("").to_string());
    let check = crate::store::bundle::SealCheck {
        allowed_signers,
        expect,
    };
    let r = verify_file(db, &check, args.sealed)?;
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
        if let Some(s) = &r.bundle {
            let m = &s.manifest;
            writeln!(
                out,
                "sealed bundle of recording {} seq {}-{} ({} to {}): every fact of its manifest holds; digest blake3 {}",
                term(m.source_recording_id.as_deref().unwrap_or("?")),
                m.from_seq,
                m.to_seq,
                term(&m.from),
                term(&m.to),
                term(&s.digest)
            )?;
            match (&s.signed_by, &s.principals) {
                (Some(fp), Some(who)) => writeln!(
                    out,
                    "signed by {} ({}): the signature holds against the allowed signers",
                    term(who),
                    term(fp)
                )?,
                (Some(fp), None) => writeln!(
                    out,
                    "signed by key {}: not checked (give --allowed-signers FILE to check who signed it)",
                    term(fp)
                )?,
                _ => writeln!(
                    out,
                    "not signed: its digest is a checksum against damage, not proof (anyone can compute it anew); compare it with one kept elsewhere (--expect)"
                )?,
            }
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
