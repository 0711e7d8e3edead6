//! `blackbox report`: the postmortem over the whole recording.

use super::error::{CliError, CmdResult};
use super::open::open_recording;
use crate::present::safe::{term, text_out};
use crate::present::text::Ctx;
use crate::present::{page, render};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// Markdown (also `md`).
    #[value(alias = "md")]
    Markdown,
    Json,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    /// The format a file name asks for: `.md`, `.markdown`, `.json`, `.html`, `.htm`.
    fn of_path(p: &Path) -> Option<Format> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// Write the postmortem over the whole recording.
///
/// Per job an opening paragraph that answers "why N rows instead of M", then the findings,
/// then per job the matrix, growth, failure signatures and timing; the router across the
/// incident; fetch outages and gaps; how it was recorded.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    /// Output format: markdown (md), json or html. Without it: from --out's extension, else
    /// markdown.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
    pub format: Option<Format>,
    /// Print JSON: the same as --format json (shapes in docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Write to this file instead of stdout (created with the recording's permissions; `-`:
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Report only from this snapshot on, as if the recording began there (the state there
    /// included): a seq, first, -3, an RFC 3339 time, +90s, or -30m (the last 30 minutes).
    /// What `cut --from` would keep.
    #[arg(long, allow_hyphen_values = true, value_name = "SEL")]
    pub from: Option<crate::analysis::Selector>,
    /// Report only up to this snapshot.
    #[arg(long, allow_hyphen_values = true, value_name = "SEL")]
    pub to: Option<crate::analysis::Selector>,
}

impl Args {
    fn format(&self) -> Result<Format, CliError> {
        if self.json {
            return Ok(Format::Json);
        }
        if let Some(f) = self.format {
            return Ok(f);
        }
        match &self.out {
            None => Ok(Format::Markdown),
            Some(p) if p.as_os_str() == "-" => Ok(Format::Markdown),
            Some(p) => Format::of_path(p).ok_or_else(|| {
                CliError::usage(format!(
                    "cannot tell the format of {} from its name: give --format markdown|json|html",
                    term(&p.display().to_string())
                ))
            }),
        }
    }
}

pub fn render_report(
    rec: &crate::analysis::Recording,
    job: Option<&str>,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let r = crate::analysis::report(rec, job)?;
    let ctx = Ctx::new(rec.start_us(), false);
    match format {
        Format::Json => {
            crate::present::safe::write_json_pretty(out, &crate::present::json::report(&r, ctx)?)?;
        }
        Format::Markdown => render::report_markdown(&r, Ctx { color, ..ctx }, &mut text_out(out))?,
        // Every value is HTML-escaped by the page; the filter then only sees markup.
        Format::Html => {
            let lanes = crate::analysis::lanes::lanes(rec, &r)?;
            text_out(out).write_all(page::report_html(&r, &lanes, ctx, None).as_bytes())?
        }
    }
    Ok(())
}

pub fn run(args: Args, db: &Path, color: bool, out: &mut dyn Write) -> CmdResult {
    let format = args.format()?;
    let (d, mut rec) = open_recording(db)?;
    if args.from.is_some() || args.to.is_some() {
        let from = rec.resolve(
            args.from
                .as_ref()
                .unwrap_or(&crate::analysis::Selector::First),
        )?;
        let to = rec.resolve(args.to.as_ref().unwrap_or(&crate::analysis::Selector::Last))?;
        if from > to {
            return Err(CliError::usage(format!("--from {from} is after --to {to}")));
        }
        rec = crate::analysis::Recording::open_window(&d, from, to)?;
    }
    match &args.out {
        // `-`: standard output, as without --out.
        Some(path) if path.as_os_str() != "-" => {
            let mut buf = Vec::new();
            render_report(&rec, args.job.as_deref(), format, false, &mut buf)?;
            crate::outfile::write_bytes(path, db, &buf).map_err(|e| {
                CliError::failure(format!(
                    "cannot write {}: {e}",
                    term(&path.display().to_string())
                ))
            })?;
            writeln!(out, "wrote {}", term(&path.display().to_string()))?;
            Ok(())
        }
        _ => render_report(&rec, args.job.as_deref(), format, color, out),
    }
}
