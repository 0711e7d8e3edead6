//! `blackbox export`: the recording for other tools. JSON lines (`jq`, DuckDB, pandas) and
//! Parquet: one file per table (`docs/export.md`); `trace`: the Chrome trace-event JSON of the
//! executions, for Perfetto or `chrome://tracing`.

mod pq;
pub mod tables;
mod trace;

use super::outfile::{write_bytes, write_file};
use super::safe::term;
use super::{CliError, CmdResult, open_recording};
use pq::Column;
use std::io::Write;
use std::path::{Path, PathBuf};
use tables::Tables;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// One `TABLE.jsonl` per table in the folder OUT.
    Jsonl,
    /// One `TABLE.parquet` per table in the folder OUT.
    Parquet,
    /// One Chrome trace-event JSON file OUT.
    Trace,
}

/// Export the recording to files other tools read.
///
/// jsonl and parquet write the tables snapshots, requests, executions (every stored version),
/// extra_rows (rows with a repeated or no usable id), jobs, router, providers, events (the
/// timeline) and findings into the folder OUT (made if
/// absent; its files of those names are replaced). trace writes one file: a track per cell, a
/// slice per execution, instants for failed requests and router changes. Columns are in
/// docs/export.md.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// jsonl or parquet (one file per table in the folder OUT), or trace (one file).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Format,
    /// The folder (jsonl, parquet) or file (trace) to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

fn jsonl<T: serde::Serialize>(path: &Path, db: &Path, rows: &[T]) -> std::io::Result<()> {
    write_file(path, db, |f| {
        let mut w = std::io::BufWriter::new(f);
        for r in rows {
            serde_json::to_writer(&mut w, r)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    })
}

fn write_jsonl(dir: &Path, db: &Path, t: &Tables) -> std::io::Result<()> {
    let p = |n: &str| dir.join(format!("{n}.jsonl"));
    jsonl(&p("snapshots"), db, &t.snapshots)?;
    jsonl(&p("requests"), db, &t.requests)?;
    jsonl(&p("executions"), db, &t.executions)?;
    jsonl(&p("extra_rows"), db, &t.extra_rows)?;
    jsonl(&p("jobs"), db, &t.jobs)?;
    jsonl(&p("router"), db, &t.router)?;
    jsonl(&p("providers"), db, &t.providers)?;
    jsonl(&p("events"), db, &t.events)?;
    jsonl(&p("findings"), db, &t.findings)
}

fn u(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn write_parquet(dir: &Path, db: &Path, t: &Tables) -> std::io::Result<()> {
    let p = |n: &str| dir.join(format!("{n}.parquet"));
    let s = &t.snapshots;
    pq::write(
        db,
        &p("snapshots"),
        &[
            Column::str("recording_id", s.iter().map(|r| r.recording_id.clone())),
            Column::i64("seq", s.iter().map(|r| u(r.seq))),
            Column::i64("taken_at_us", s.iter().map(|r| r.taken_at_us)),
            Column::i64("ended_at_us", s.iter().map(|r| r.ended_at_us)),
            Column::i64("session", s.iter().map(|r| u(r.session))),
            Column::i64("requests", s.iter().map(|r| r.requests as i64)),
            Column::i64("failed", s.iter().map(|r| r.failed as i64)),
            Column::i64("not_sent", s.iter().map(|r| r.not_sent as i64)),
        ],
    )?;
    let q = &t.requests;
    pq::write(
        db,
        &p("requests"),
        &[
            Column::str("recording_id", q.iter().map(|r| r.recording_id.clone())),
            Column::i64("seq", q.iter().map(|r| u(r.seq))),
            Column::i64("n", q.iter().map(|r| r.n as i64)),
            Column::i64("taken_at_us", q.iter().map(|r| r.taken_at_us)),
            Column::str("source", q.iter().map(|r| r.source.clone())),
            Column::opt_str("job", q.iter().map(|r| r.job.clone())),
            Column::str("url", q.iter().map(|r| r.url.clone())),
            Column::opt_i64("status", q.iter().map(|r| r.status.map(i64::from))),
            Column::i64("latency_us", q.iter().map(|r| u(r.latency_us))),
            Column::str("outcome", q.iter().map(|r| r.outcome.clone())),
            Column::opt_str("error_kind", q.iter().map(|r| r.error_kind.clone())),
            Column::i64("body_bytes", q.iter().map(|r| u(r.body_bytes))),
            Column::opt_i64(
                "rows_in_body",
                q.iter().map(|r| r.rows_in_body.map(i64::from)),
            ),
        ],
    )?;
    let e = &t.executions;
    pq::write(
        db,
        &p("executions"),
        &[
            Column::str("recording_id", e.iter().map(|r| r.recording_id.clone())),
            Column::str("job", e.iter().map(|r| r.job.clone())),
            Column::i64("id", e.iter().map(|r| r.id)),
            Column::i64("seq", e.iter().map(|r| u(r.seq))),
            Column::i64("taken_at_us", e.iter().map(|r| r.taken_at_us)),
            Column::bool("gone", e.iter().map(|r| r.gone)),
            Column::opt_str("status", e.iter().map(|r| r.status.clone())),
            Column::opt_str("question_id", e.iter().map(|r| r.question_id.clone())),
            Column::opt_str("model_id", e.iter().map(|r| r.model_id.clone())),
            Column::opt_str("region", e.iter().map(|r| r.region.clone())),
            Column::opt_str("region_raw", e.iter().map(|r| r.region_raw.clone())),
            Column::opt_str("provider_id", e.iter().map(|r| r.provider_id.clone())),
            Column::opt_i64("created_at_us", e.iter().map(|r| r.created_at_us)),
            Column::opt_i64("started_at_us", e.iter().map(|r| r.started_at_us)),
            Column::opt_i64("completed_at_us", e.iter().map(|r| r.completed_at_us)),
            Column::opt_str("error_code", e.iter().map(|r| r.error_code.clone())),
            Column::opt_str("error_message", e.iter().map(|r| r.error_message.clone())),
            Column::opt_i64(
                "retry_count",
                e.iter().map(|r| r.retry_count.map(i64::from)),
            ),
            Column::opt_bool("output_null", e.iter().map(|r| r.output_null)),
        ],
    )?;
    let x = &t.extra_rows;
    pq::write(
        db,
        &p("extra_rows"),
        &[
            Column::str("recording_id", x.iter().map(|r| r.recording_id.clone())),
            Column::str("job", x.iter().map(|r| r.job.clone())),
            Column::i64("seq", x.iter().map(|r| u(r.seq))),
            Column::i64("taken_at_us", x.iter().map(|r| r.taken_at_us)),
            Column::i64("n", x.iter().map(|r| r.n as i64)),
            Column::str("why", x.iter().map(|r| r.why.clone())),
            Column::opt_i64("id", x.iter().map(|r| r.id)),
            Column::str("status", x.iter().map(|r| r.status.clone())),
            Column::opt_str("question_id", x.iter().map(|r| r.question_id.clone())),
            Column::opt_str("model_id", x.iter().map(|r| r.model_id.clone())),
            Column::opt_str("region", x.iter().map(|r| r.region.clone())),
            Column::opt_str("provider_id", x.iter().map(|r| r.provider_id.clone())),
            Column::opt_i64("created_at_us", x.iter().map(|r| r.created_at_us)),
            Column::opt_str("error_message", x.iter().map(|r| r.error_message.clone())),
            Column::opt_i64(
                "retry_count",
                x.iter().map(|r| r.retry_count.map(i64::from)),
            ),
        ],
    )?;
    let j = &t.jobs;
    pq::write(
        db,
        &p("jobs"),
        &[
            Column::str("recording_id", j.iter().map(|r| r.recording_id.clone())),
            Column::str("job", j.iter().map(|r| r.job.clone())),
            Column::i64("seq", j.iter().map(|r| u(r.seq))),
            Column::i64("taken_at_us", j.iter().map(|r| r.taken_at_us)),
            Column::bool("found", j.iter().map(|r| r.found)),
            Column::opt_str("status", j.iter().map(|r| r.status.clone())),
            Column::opt_i64(
                "default_rows",
                j.iter().map(|r| r.default_rows.map(i64::from)),
            ),
        ],
    )?;
    let r = &t.router;
    pq::write(
        db,
        &p("router"),
        &[
            Column::str("recording_id", r.iter().map(|x| x.recording_id.clone())),
            Column::i64("seq", r.iter().map(|x| u(x.seq))),
            Column::i64("taken_at_us", r.iter().map(|x| x.taken_at_us)),
            Column::opt_str("status", r.iter().map(|x| x.status.clone())),
            Column::opt_str("version", r.iter().map(|x| x.version.clone())),
            Column::opt_i64("providers_total", r.iter().map(|x| x.providers_total)),
            Column::opt_i64("providers_healthy", r.iter().map(|x| x.providers_healthy)),
            Column::str("regions", r.iter().map(|x| x.regions.clone())),
        ],
    )?;
    let v = &t.providers;
    pq::write(
        db,
        &p("providers"),
        &[
            Column::str("recording_id", v.iter().map(|x| x.recording_id.clone())),
            Column::i64("seq", v.iter().map(|x| u(x.seq))),
            Column::i64("taken_at_us", v.iter().map(|x| x.taken_at_us)),
            Column::str("name", v.iter().map(|x| x.name.clone())),
            Column::opt_str("region", v.iter().map(|x| x.region.clone())),
            Column::opt_bool("healthy", v.iter().map(|x| x.healthy)),
            Column::str("state", v.iter().map(|x| x.state.clone())),
            Column::opt_i64(
                "last_health_check_us",
                v.iter().map(|x| x.last_health_check_us),
            ),
            Column::opt_f64("success_rate", v.iter().map(|x| x.success_rate)),
            Column::opt_f64("avg_latency", v.iter().map(|x| x.avg_latency)),
        ],
    )?;
    let ev = &t.events;
    pq::write(
        db,
        &p("events"),
        &[
            Column::str("recording_id", ev.iter().map(|x| x.recording_id.clone())),
            Column::i64("seq", ev.iter().map(|x| u(x.seq))),
            Column::i64("at_us", ev.iter().map(|x| x.at_us)),
            Column::opt_str("job", ev.iter().map(|x| x.job.clone())),
            Column::str("kind", ev.iter().map(|x| x.kind.clone())),
            Column::str("message", ev.iter().map(|x| x.message.clone())),
            Column::str("data", ev.iter().map(|x| x.data.clone())),
        ],
    )?;
    let f = &t.findings;
    pq::write(
        db,
        &p("findings"),
        &[
            Column::str("recording_id", f.iter().map(|x| x.recording_id.clone())),
            Column::i64("n", f.iter().map(|x| x.n as i64)),
            Column::str("kind", f.iter().map(|x| x.kind.clone())),
            Column::opt_str("job", f.iter().map(|x| x.job.clone())),
            Column::str("message", f.iter().map(|x| x.message.clone())),
            Column::str("data", f.iter().map(|x| x.data.clone())),
        ],
    )
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (_d, rec) = open_recording(db)?;
    let shown = term(&args.out.display().to_string()).into_owned();
    let failed =
        |e: &dyn std::fmt::Display| CliError::failure(format!("cannot write {shown}: {e}"));
    match args.format {
        Format::Trace => {
            let r = crate::analysis::report::report(&rec, None)?;
            let lanes = crate::analysis::lanes::lanes(&rec, &r)?;
            let events = crate::analysis::timeline::timeline(
                &rec,
                rec.infos.first().map_or(0, |i| i.seq),
                rec.infos.last().map_or(0, |i| i.seq),
                &rec.jobs,
            )?;
            let json = trace::trace(&lanes, &events, &rec);
            write_bytes(&args.out, db, json.as_bytes()).map_err(|e| failed(&e))?;
            writeln!(out, "wrote {shown}")?;
        }
        f => {
            if args.out.exists() && !args.out.is_dir() {
                return Err(failed(&"it is not a folder"));
            }
            std::fs::create_dir_all(&args.out).map_err(|e| failed(&e))?;
            let id = tables::recording_id(&rec, &db.display().to_string())?;
            let t = tables::tables(&rec, &id, 0..=u64::MAX, true)?;
            match f {
                Format::Jsonl => write_jsonl(&args.out, db, &t).map_err(|e| failed(&e))?,
                _ => write_parquet(&args.out, db, &t).map_err(|e| failed(&e))?,
            }
            writeln!(
                out,
                "wrote {shown}: {} snapshots, {} requests, {} execution versions, {} rows kept beside them, {} events, {} findings",
                t.snapshots.len(),
                t.requests.len(),
                t.executions.len(),
                t.extra_rows.len(),
                t.events.len(),
                t.findings.len()
            )?;
        }
    }
    Ok(())
}
