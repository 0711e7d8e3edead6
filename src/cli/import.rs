//! `blackbox import`: captures made without the recorder into a recording
//! (`exchange::import` does it).

use super::error::{CliError, CmdResult};
use crate::exchange::import::{self, Request};
use crate::present::safe::term;
use crate::present::text::plural;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Import captures made without the recorder into a recording (new or existing).
///
/// Saved answers: `import --url URL [--at TIME] FILE` for one, or `import --manifest LIST` for
/// many (each line `URL FILE [TIME]`; `#` starts a comment; FILE relative to the list). `-`
/// for FILE, LIST or a HAR file reads standard input (once; its time comes from --at, the
/// manifest or a `Date:` header, as it has no file time). A file
/// saved with `curl -i` has its status and headers read; its time is --at or the manifest's,
/// else its `Date:` header, else the file's modification time. HAR files (`--har`, repeatable):
/// every GET to a runner or router path, at its recorded time, with status, latency and body.
/// Captures within a second of each other become one snapshot. The report says what imported
/// data cannot show.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Saved response bodies (with --url, one file).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The URL the file was fetched from.
    #[arg(long, value_parser = super::args::parse_base_url, value_name = "URL")]
    pub url: Option<reqwest::Url>,
    /// When it was fetched (RFC 3339); only with one FILE.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// A list of captures: lines of `URL FILE [TIME]`.
    #[arg(long, value_name = "LIST")]
    pub manifest: Option<PathBuf>,
    /// A HAR file saved by a browser (repeatable).
    #[arg(long = "har", value_name = "FILE")]
    pub hars: Vec<PathBuf>,
    /// A note stored with the session.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Say what was imported as JSON: `{captures, snapshots, first_seq, last_seq, not_ours,
    /// unreadable, note}`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let x = CliError::from_exchange;
    let req = Request {
        files: args.files,
        url: args.url,
        at: args
            .at
            .as_deref()
            .map(import::time)
            .transpose()
            .map_err(x)?,
        manifest: args.manifest,
        hars: args.hars,
        label: args.label,
    };
    let r = import::import(&req, db).map_err(x)?;
    if args.json {
        let v = serde_json::json!({
            "captures": r.captures,
            "snapshots": r.snapshots,
            "first_seq": r.first_seq,
            "last_seq": r.last_seq,
            "not_ours": r.not_ours,
            "unreadable": r.unreadable,
            "note": r.moved,
        });
        return Ok(super::result::said(out, true, "", v)?);
    }
    writeln!(
        out,
        "imported {} into {} (seq {}-{}){}",
        plural(r.captures as u64, "capture", "captures"),
        plural(r.snapshots as u64, "snapshot", "snapshots"),
        r.first_seq,
        r.last_seq,
        if r.not_ours > 0 {
            format!(
                "; {} of the HAR files left out (not a GET to a runner or router path)",
                plural(r.not_ours as u64, "entry", "entries")
            )
        } else {
            String::new()
        }
    )?;
    for u in &r.unreadable {
        writeln!(out, "{}", term(u))?;
    }
    if let Some(n) = r.moved {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}
