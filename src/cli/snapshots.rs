//! `blackbox snapshots`: one line per snapshot.

use super::safe::{json_out, term, text_out};
use super::{CmdResult, open_recording};
use crate::analysis::Recording;
use crate::analysis::report::status_series;
use crate::beacon::format_micros;
use crate::fetch::{FetchErrorKind, SourceKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// List every snapshot.
///
/// One line each: its time, the outcome of each request, and rows by status per job.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print a JSON array instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Per job, rows by status at every snapshot (aligned with `rec.infos`).
type JobSeries = Vec<(String, Vec<BTreeMap<String, usize>>)>;

pub fn job_series(rec: &Recording) -> Result<JobSeries, crate::store::StoreError> {
    let mut out = Vec::new();
    for (name, idx) in &rec.jobs {
        let versions = rec.reader.exec_versions(*idx)?;
        let extras = rec.reader.extras_versions(*idx)?;
        out.push((name.clone(), status_series(rec, &versions, &extras)));
    }
    Ok(out)
}

pub fn snapshots_json(rec: &Recording) -> Result<Value, crate::store::StoreError> {
    let series = job_series(rec)?;
    let mut arr = Vec::new();
    for (k, (info, snap)) in rec.infos.iter().zip(&rec.snaps).enumerate() {
        let sources: Vec<Value> = snap
            .fetches
            .iter()
            .map(|f| {
                let o = f.outcome();
                json!({
                    "source": SourceKind::name_of(f.source),
                    "url": rec.string(f.url),
                    "http_status": f.status,
                    "latency_ms": f.latency_us as f64 / 1000.0,
                    "body_bytes": f.body_len,
                    "outcome": f.outcome_word(),
                    "failed": o.is_failure(),
                    "not_sent": o.is_gap(),
                    "error": f.error.as_ref().map(|e| json!({"kind": FetchErrorKind::from_u8(e.kind).name(), "message": e.message})),
                    "parse_error": f.parse_error,
                    "location": f.location.map(|l| rec.string(l)),
                    "rows": f.rows.map(|[in_body, kept, repeated, unusable]| json!({
                        "in_body": in_body, "kept": kept, "repeated": repeated, "unusable": unusable})),
                    "problems": f.problems,
                    "problems_total": f.problems_total,
                })
            })
            .collect();
        let jobs: Vec<Value> = series
            .iter()
            .map(|(name, s)| json!({"job_id": name, "rows": s[k].values().sum::<usize>(), "by_status": s[k]}))
            .collect();
        arr.push(json!({
            "seq": info.seq,
            "taken_at": format_micros(info.started_at),
            "ended_at": format_micros(info.ended_at),
            "session": info.session,
            "sources": sources,
            "jobs": jobs,
        }));
    }
    Ok(Value::Array(arr))
}

pub fn write_text(rec: &Recording, out: &mut dyn Write) -> CmdResult {
    let series = job_series(rec)?;
    if rec.infos.is_empty() {
        writeln!(out, "no snapshots")?;
    }
    for (k, (info, snap)) in rec.infos.iter().zip(&rec.snaps).enumerate() {
        let srcs: Vec<String> = snap
            .fetches
            .iter()
            .map(|f| {
                let mut w = format!(
                    "{} {}",
                    SourceKind::name_of(f.source),
                    term(&f.outcome_word())
                );
                if f.problems_total > 0 {
                    w.push_str(&format!(" ({} row problems)", f.problems_total));
                }
                w
            })
            .collect();
        let jobs: Vec<String> = series
            .iter()
            .map(|(name, s)| {
                let by: Vec<String> = s[k]
                    .iter()
                    .map(|(st, n)| format!("{} {n}", term(st)))
                    .collect();
                format!(
                    "{}: {} rows [{}]",
                    term(name),
                    s[k].values().sum::<usize>(),
                    by.join(", ")
                )
            })
            .collect();
        writeln!(
            out,
            "{:>5}  {}  {}  {}",
            info.seq,
            format_micros(info.started_at),
            srcs.join(", "),
            jobs.join("; ")
        )?;
    }
    Ok(())
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_db, rec) = open_recording(db)?;
    if args.json {
        let mut out = json_out(out);
        serde_json::to_writer_pretty(&mut out, &snapshots_json(&rec)?)?;
        writeln!(out)?;
        return Ok(());
    }
    write_text(&rec, &mut text_out(out))
}
