//! `blackbox show`: the state at one snapshot, or its rows.

use super::error::CmdResult;
use super::open::open_recording;
use crate::analysis::Selector;
use crate::analysis::rows::{RowFilter, rows};
use crate::analysis::summary::show;
use crate::present::render;
use crate::present::safe::text_out;
use crate::present::text::Ctx;
use std::io::Write;
use std::path::Path;

/// Show the state at one snapshot.
///
/// Per job: rows by status, the expected matrix and its coverage (missing, duplicated,
/// unexpected cells), the default view's truncation. Then the router and its providers. With
/// --rows: the rows themselves, marking those the default view showed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which snapshot: a seq (17), first, last, -3 (three before the last), an RFC 3339 time,
    /// or +90s / +1h30m from the first.
    #[arg(
        long,
        default_value = "last",
        value_name = "SEL",
        allow_hyphen_values = true
    )]
    pub at: Selector,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    /// List the rows (id, cell, status, provider, times, error), newest first as the runner
    /// orders them, marking those the default view showed.
    #[arg(long)]
    pub rows: bool,
    /// With --rows: only rows with this status (e.g. failed).
    #[arg(long, value_name = "STATUS", requires = "rows")]
    pub status: Option<String>,
    /// With --rows: only rows of this cell, QUESTION/MODEL/REGION (any part * for any; regions
    /// through aliases, US = us-east).
    #[arg(long, value_name = "Q/M/R", requires = "rows", value_parser = RowFilter::parse_cell)]
    pub cell: Option<crate::analysis::rows::CellFilter>,
    /// List every missing cell instead of counting them by question, model and region.
    #[arg(long)]
    pub verbose: bool,
    /// Print JSON instead of text (shapes in docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, db: &Path, color: bool, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    let seq = rec.resolve(&args.at)?;
    let ctx = Ctx::new(rec.start_us(), color);
    if args.rows {
        let filter = RowFilter {
            status: args.status.clone(),
            cell: args.cell.clone(),
        };
        let r = rows(&rec, seq, args.job.as_deref(), &filter)?;
        if args.json {
            crate::present::safe::write_json_pretty(out, &r)?;
        } else {
            render::rows_text(&r, ctx, &mut text_out(out))?;
        }
        return Ok(());
    }
    let s = show(&rec, seq, args.job.as_deref())?;
    if args.json {
        crate::present::safe::write_json_pretty(out, &s)?;
    } else {
        render::show_text(&s, args.verbose, ctx, &mut text_out(out))?;
    }
    Ok(())
}
