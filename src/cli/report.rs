//! `blackbox report`: the postmortem over the whole recording.

use super::safe::{json_out, term, text_out};
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
            let mut out = json_out(out);
            serde_json::to_writer_pretty(&mut out, &r)?;
            writeln!(out)?;
        }
        Format::Markdown => render::report_markdown(&r, &mut text_out(out))?,
        // Every value is HTML-escaped by the renderer; the filter then only sees markup.
        Format::Html => render::report_html(&r, &mut text_out(out))?,
    }
    Ok(())
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    match &args.out {
        Some(path) => {
            let mut buf = Vec::new();
            render_report(&rec, args.job.as_deref(), args.format, &mut buf)?;
            write_private(path, &buf, db).map_err(|e| {
                CliError::failure(format!(
                    "cannot write {}: {e}",
                    term(&path.display().to_string())
                ))
            })?;
            writeln!(out, "wrote {}", term(&path.display().to_string()))?;
            Ok(())
        }
        None => render_report(&rec, args.job.as_deref(), args.format, out),
    }
}

/// Writes a file that holds what the recording holds with the recording's own permissions
/// (0600 for every file `record` makes), whatever the umask says.
fn write_private(path: &Path, bytes: &[u8], db: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mode = std::fs::metadata(db).map_or(0o600, |m| m.permissions().mode() & 0o777);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)?;
        // An existing file keeps its old mode through open(): set it.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        let _ = db;
        std::fs::write(path, bytes)
    }
}
