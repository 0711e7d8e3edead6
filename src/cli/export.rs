//! `blackbox export`: the recording for other tools (`exchange::export` writes it).

use super::error::{CliError, CmdResult};
use super::open::open_recording;
use crate::exchange::export::{self, Format as Out};
use crate::present::safe::term;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// One `TABLE.jsonl` per table in the folder OUT.
    Jsonl,
    /// One `TABLE.parquet` per table in the folder OUT.
    Parquet,
    /// One Chrome trace-event JSON file OUT.
    Trace,
    /// One OpenMetrics file OUT: the series `/metrics` would have served at every snapshot,
    /// stamped with its time (`promtool tsdb create-blocks-from openmetrics OUT DIR` loads it).
    Openmetrics,
}

/// Export the recording to files other tools read.
///
/// jsonl and parquet write the tables snapshots, requests, executions (every stored version),
/// extra_rows (rows with a repeated or no usable id), jobs, router, providers, events (the
/// timeline) and findings into the folder OUT (made if
/// absent; a folder with files in it only with --force, which replaces the files of those names). trace writes one file: a track per cell, a
/// slice per execution, instants where a source starts or stops failing and router changes. openmetrics writes
/// one file: the series `/metrics` would have served at every snapshot, each sample at its
/// snapshot's time. Columns are in docs/export.md.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// jsonl or parquet (one file per table in the folder OUT), trace or openmetrics (one file).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Format,
    /// The folder (jsonl, parquet) or file (trace, openmetrics; `-`: stdout) to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Write into a folder that already holds files (replacing those of the tables' names), or
    /// over an existing trace file. Without it, export refuses, as `cut` does.
    #[arg(long)]
    pub force: bool,
    /// Say what was written as JSON: `{out, format, written: {snapshots, requests, ...}}`
    /// (the counts of the tables, or of an OpenMetrics file's series and samples).
    #[arg(long)]
    pub json: bool,
}

/// Refuses to write over what is there without --force.
fn check_out(path: &Path, db: &Path, format: Out, force: bool) -> Result<(), CliError> {
    // The recording itself is refused by export, with its own words.
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok().is_some_and(|b| a == b))
    };
    if force || same(path, db) {
        return Ok(());
    }
    let shown = term(&path.display().to_string()).into_owned();
    let taken = match format {
        Out::Trace | Out::OpenMetrics => path.exists().then(|| format!("{shown} exists")),
        _ => std::fs::read_dir(path)
            .ok()
            .and_then(|mut d| d.next())
            .map(|_| format!("{shown} is a folder with files in it")),
    };
    match taken {
        Some(what) => Err(CliError::failure(format!(
            "{what}; export writes over nothing without --force (give a new --out, or --force to replace the tables' files)"
        ))),
        None => Ok(()),
    }
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_d, rec) = open_recording(db)?;
    let shown = term(&args.out.display().to_string()).into_owned();
    let format = match args.format {
        Format::Jsonl => Out::Jsonl,
        Format::Parquet => Out::Parquet,
        Format::Trace => Out::Trace,
        Format::Openmetrics => Out::OpenMetrics,
    };
    // `-`: the one-file formats to standard output, what was written said on stderr.
    if args.out.as_os_str() == "-" {
        if args.json {
            return Err(CliError::usage(
                "--json and --out - both write to standard output: give --out a file",
            ));
        }
        let Some((bytes, w)) = export::one_file(&rec, format).map_err(CliError::from_exchange)?
        else {
            return Err(CliError::usage(
                "--out - writes one file to standard output: jsonl and parquet write a folder of tables (give a folder)",
            ));
        };
        out.write_all(&bytes)?;
        out.flush()?;
        if format == Out::OpenMetrics {
            crate::present::say(&format!(
                "wrote standard output: {} series, {} samples over {} snapshots",
                w.series, w.samples, w.snapshots
            ));
        }
        return Ok(());
    }
    check_out(&args.out, db, format, args.force)?;
    let w = export::export(&rec, db, format, &args.out).map_err(CliError::from_exchange)?;
    if args.json {
        let v = serde_json::json!({
            "out": args.out.display().to_string(),
            "format": format!("{:?}", args.format).to_lowercase(),
            "written": w,
        });
        return Ok(super::result::said(out, true, "", v)?);
    }
    if format == Out::Trace {
        writeln!(out, "wrote {shown}")?;
    } else if format == Out::OpenMetrics {
        writeln!(
            out,
            "wrote {shown}: {} series, {} samples over {} snapshots",
            w.series, w.samples, w.snapshots
        )?;
    } else {
        writeln!(
            out,
            "wrote {shown}: {} snapshots, {} requests, {} execution versions, {} executions as of the last snapshot, {} rows kept beside them, {} cells, {} jobs' answers, {} events, {} findings (schema.json lists every table's columns)",
            w.snapshots,
            w.requests,
            w.versions,
            w.latest,
            w.extra_rows,
            w.cells,
            w.answers,
            w.events,
            w.findings
        )?;
    }
    Ok(())
}
