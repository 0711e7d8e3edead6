//! `blackbox report`: the postmortem over the whole recording.

use super::{CliError, CmdResult, open_recording, render};
use crate::analysis::report;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Markdown,
    Json,
    Html,
}

/// Write the postmortem over the whole recording.
///
/// Findings first, then per job the matrix, growth, failure signatures and timing; the router
/// across the incident; fetch outages; how it was recorded.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn render_report(
    rec: &crate::analysis::Recording,
    job: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> CmdResult {
    let r = report::report(rec, job)?;
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &r)?;
            writeln!(out)?;
        }
        Format::Markdown => render::report_markdown(&r, out)?,
        Format::Html => render::report_html(&r, out)?,
    }
    Ok(())
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    match &args.out {
        Some(path) => {
            let mut buf = Vec::new();
            render_report(&rec, args.job.as_deref(), args.format, &mut buf)?;
            std::fs::write(path, buf)
                .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
            writeln!(out, "wrote {}", path.display())?;
            Ok(())
        }
        None => render_report(&rec, args.job.as_deref(), args.format, out),
    }
}
