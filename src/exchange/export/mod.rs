//! The recording for other tools. JSON lines (`jq`, DuckDB, pandas) and Parquet: one file per
//! table (`docs/export.md`) and `schema.json`; the trace: the Chrome trace-event JSON of the
//! executions, for Perfetto or `chrome://tracing`.

pub mod derived;
pub mod openmetrics;
mod pq;
pub mod tables;
mod trace;

use super::error::Error;
use crate::analysis::Recording;
use crate::outfile::{write_bytes, write_file};
use crate::present::safe::term;
use pq::Column;
use std::io::Write;
use std::path::Path;
use tables::Tables;

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// One `TABLE.jsonl` per table in a folder.
    Jsonl,
    /// One `TABLE.parquet` per table in a folder.
    Parquet,
    /// One Chrome trace-event JSON file.
    Trace,
    /// One OpenMetrics file: the `/metrics` series at every snapshot, with its time.
    OpenMetrics,
}

/// One table as columns: the one description every format writes from.
pub struct Table {
    pub name: &'static str,
    pub cols: Vec<Column>,
}

/// A value of a column as JSON.
fn cell(c: &Column, i: usize) -> serde_json::Value {
    use serde_json::Value;
    match &c.data {
        pq::Data::I64(v) => v[i].map_or(Value::Null, Value::from),
        pq::Data::F64(v) => v[i].map_or(Value::Null, Value::from),
        pq::Data::Bool(v) => v[i].map_or(Value::Null, Value::from),
        pq::Data::Str(v) => v[i]
            .as_ref()
            .map_or(Value::Null, |s| Value::from(s.as_str())),
    }
}

fn write_jsonl(dir: &Path, db: &Path, tables: &[Table]) -> std::io::Result<()> {
    for t in tables {
        let rows = t.cols.first().map_or(0, Column::len);
        write_file(&dir.join(format!("{}.jsonl", t.name)), db, |f| {
            let mut w = std::io::BufWriter::new(f);
            for i in 0..rows {
                let mut m = serde_json::Map::with_capacity(t.cols.len());
                for c in &t.cols {
                    m.insert(c.name.to_string(), cell(c, i));
                }
                serde_json::to_writer(&mut w, &m)?;
                w.write_all(b"\n")?;
            }
            w.flush()
        })?;
    }
    Ok(())
}

/// `schema.json`: every table's columns, their types and whether they can be null, so an
/// empty table still says what it holds.
fn write_schema(dir: &Path, db: &Path, tables: &[Table], format: &str) -> std::io::Result<()> {
    let doc = serde_json::json!({
        "format": format,
        "made_by": format!("beacon-blackbox {}", env!("CARGO_PKG_VERSION")),
        "tables": tables.iter().map(|t| serde_json::json!({
            "name": t.name,
            "file": format!("{}.{format}", t.name),
            "rows": t.cols.first().map_or(0, Column::len),
            "columns": t.cols.iter().map(|c| serde_json::json!({
                "name": c.name,
                "type": c.type_name(),
                "nullable": !c.required,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    write_bytes(&dir.join("schema.json"), db, text.as_bytes())
}

fn u(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn write_parquet(dir: &Path, db: &Path, tables: &[Table]) -> std::io::Result<()> {
    for t in tables {
        pq::write(db, &dir.join(format!("{}.parquet", t.name)), &t.cols)?;
    }
    Ok(())
}

/// Every table of an export, as columns.
pub fn columns(t: &Tables, d: &derived::Derived) -> Vec<Table> {
    vec![
        snapshots_table(t),
        requests_table(t),
        executions_table(t),
        extra_rows_table(t),
        jobs_table(t),
        router_table(t),
        providers_table(t),
        events_table(t),
        findings_table(t),
        executions_latest_table(d),
        cells_table(d),
        answers_table(d),
        router_polls_table(d),
    ]
}

fn snapshots_table(t: &Tables) -> Table {
    let s = &t.snapshots;
    Table {
        name: "snapshots",
        cols: vec![
            Column::str("recording_id", s.iter().map(|r| r.recording_id.clone())),
            Column::i64("seq", s.iter().map(|r| u(r.seq))),
            Column::i64("taken_at_us", s.iter().map(|r| r.taken_at_us)),
            Column::i64("ended_at_us", s.iter().map(|r| r.ended_at_us)),
            Column::i64("session", s.iter().map(|r| u(r.session))),
            Column::i64("requests", s.iter().map(|r| r.requests as i64)),
            Column::i64("failed", s.iter().map(|r| r.failed as i64)),
            Column::i64("not_sent", s.iter().map(|r| r.not_sent as i64)),
        ],
    }
}

fn requests_table(t: &Tables) -> Table {
    let q = &t.requests;
    Table {
        name: "requests",
        cols: vec![
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
    }
}

fn executions_table(t: &Tables) -> Table {
    let e = &t.executions;
    Table {
        name: "executions",
        cols: vec![
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
    }
}

fn extra_rows_table(t: &Tables) -> Table {
    let x = &t.extra_rows;
    Table {
        name: "extra_rows",
        cols: vec![
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
    }
}

fn jobs_table(t: &Tables) -> Table {
    let j = &t.jobs;
    Table {
        name: "jobs",
        cols: vec![
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
    }
}

fn router_table(t: &Tables) -> Table {
    let r = &t.router;
    Table {
        name: "router",
        cols: vec![
            Column::str("recording_id", r.iter().map(|x| x.recording_id.clone())),
            Column::i64("seq", r.iter().map(|x| u(x.seq))),
            Column::i64("taken_at_us", r.iter().map(|x| x.taken_at_us)),
            Column::opt_str("status", r.iter().map(|x| x.status.clone())),
            Column::opt_str("version", r.iter().map(|x| x.version.clone())),
            Column::opt_i64("providers_total", r.iter().map(|x| x.providers_total)),
            Column::opt_i64("providers_healthy", r.iter().map(|x| x.providers_healthy)),
            Column::str("regions", r.iter().map(|x| x.regions.clone())),
        ],
    }
}

fn providers_table(t: &Tables) -> Table {
    let v = &t.providers;
    Table {
        name: "providers",
        cols: vec![
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
    }
}

fn events_table(t: &Tables) -> Table {
    let ev = &t.events;
    Table {
        name: "events",
        cols: vec![
            Column::str("recording_id", ev.iter().map(|x| x.recording_id.clone())),
            Column::i64("seq", ev.iter().map(|x| u(x.seq))),
            Column::i64("at_us", ev.iter().map(|x| x.at_us)),
            Column::opt_str("job", ev.iter().map(|x| x.job.clone())),
            Column::str("kind", ev.iter().map(|x| x.kind.clone())),
            Column::str("message", ev.iter().map(|x| x.message.clone())),
            Column::str("data", ev.iter().map(|x| x.data.clone())),
        ],
    }
}

fn findings_table(t: &Tables) -> Table {
    let f = &t.findings;
    Table {
        name: "findings",
        cols: vec![
            Column::str("recording_id", f.iter().map(|x| x.recording_id.clone())),
            Column::i64("n", f.iter().map(|x| x.n as i64)),
            Column::str("kind", f.iter().map(|x| x.kind.clone())),
            Column::opt_str("job", f.iter().map(|x| x.job.clone())),
            Column::opt_str("source", f.iter().map(|x| x.source.clone())),
            Column::opt_str("provider", f.iter().map(|x| x.provider.clone())),
            Column::bool("problem", f.iter().map(|x| x.problem)),
            Column::bool("holds", f.iter().map(|x| x.holds)),
            Column::opt_i64("first_seen_seq", f.iter().map(|x| x.first_seen_seq.map(u))),
            Column::opt_i64("first_seen_at_us", f.iter().map(|x| x.first_seen_at_us)),
            Column::str("message", f.iter().map(|x| x.message.clone())),
            Column::str("data", f.iter().map(|x| x.data.clone())),
        ],
    }
}

fn executions_latest_table(d: &derived::Derived) -> Table {
    let e = &d.executions_latest;
    Table {
        name: "executions_latest",
        cols: vec![
            Column::str("recording_id", e.iter().map(|r| r.recording_id.clone())),
            Column::str("job", e.iter().map(|r| r.job.clone())),
            Column::str("key", e.iter().map(|r| r.key.clone())),
            Column::opt_i64("id", e.iter().map(|r| r.id)),
            Column::opt_str("kept_beside", e.iter().map(|r| r.kept_beside.clone())),
            Column::bool("listed", e.iter().map(|r| r.listed)),
            Column::i64("as_of_seq", e.iter().map(|r| u(r.as_of_seq))),
            Column::i64("changed_seq", e.iter().map(|r| u(r.changed_seq))),
            Column::str("status", e.iter().map(|r| r.status.clone())),
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
            Column::i64("first_seen_seq", e.iter().map(|r| u(r.first_seen_seq))),
            Column::i64("first_seen_at_us", e.iter().map(|r| r.first_seen_at_us)),
            Column::opt_i64(
                "failed_seen_seq",
                e.iter().map(|r| r.failed_seen_seq.map(u)),
            ),
            Column::opt_i64("failed_seen_at_us", e.iter().map(|r| r.failed_seen_at_us)),
            Column::str("place", e.iter().map(|r| r.place.clone())),
        ],
    }
}

fn cells_table(d: &derived::Derived) -> Table {
    let c = &d.cells;
    Table {
        name: "cells",
        cols: vec![
            Column::str("recording_id", c.iter().map(|r| r.recording_id.clone())),
            Column::str("job", c.iter().map(|r| r.job.clone())),
            Column::i64("as_of_seq", c.iter().map(|r| u(r.as_of_seq))),
            Column::str("question_id", c.iter().map(|r| r.question_id.clone())),
            Column::str("model_id", c.iter().map(|r| r.model_id.clone())),
            Column::str("region", c.iter().map(|r| r.region.clone())),
            Column::i64("rows", c.iter().map(|r| r.rows as i64)),
            Column::i64("executions", c.iter().map(|r| r.executions as i64)),
            Column::str("statuses", c.iter().map(|r| r.statuses.clone())),
            Column::bool("missing", c.iter().map(|r| r.missing)),
        ],
    }
}

fn answers_table(d: &derived::Derived) -> Table {
    let a = &d.answers;
    let n = |v: u64| v.min(i64::MAX as u64) as i64;
    Table {
        name: "answers",
        cols: vec![
            Column::str("recording_id", a.iter().map(|r| r.recording_id.clone())),
            Column::str("job", a.iter().map(|r| r.job.clone())),
            Column::i64("as_of_seq", a.iter().map(|r| u(r.as_of_seq))),
            Column::i64("as_of_us", a.iter().map(|r| r.as_of_us)),
            Column::opt_str("status", a.iter().map(|r| r.status.clone())),
            Column::opt_str("path", a.iter().map(|r| r.path.clone())),
            Column::i64("expected_cells", a.iter().map(|r| n(r.expected_cells))),
            Column::opt_i64("declared", a.iter().map(|r| r.declared.map(n))),
            Column::i64("rows", a.iter().map(|r| n(r.rows))),
            Column::i64("covered", a.iter().map(|r| n(r.covered))),
            Column::i64("missing", a.iter().map(|r| n(r.missing))),
            Column::i64("unknown", a.iter().map(|r| n(r.unknown))),
            Column::i64("duplicated_cells", a.iter().map(|r| n(r.duplicated_cells))),
            Column::i64("extra_runs", a.iter().map(|r| n(r.extra_runs))),
            Column::i64("repeated_rows", a.iter().map(|r| n(r.repeated_rows))),
            Column::i64("unexpected", a.iter().map(|r| n(r.unexpected))),
            Column::i64("no_cell", a.iter().map(|r| n(r.no_cell))),
            Column::i64("failed", a.iter().map(|r| n(r.failed))),
            Column::opt_i64(
                "default_view_rows",
                a.iter().map(|r| r.default_view_rows.map(i64::from)),
            ),
            Column::opt_i64(
                "default_view_seq",
                a.iter().map(|r| r.default_view_seq.map(u)),
            ),
            Column::opt_i64(
                "default_view_complete_rows",
                a.iter().map(|r| r.default_view_complete_rows.map(n)),
            ),
            Column::opt_bool(
                "default_view_truncated",
                a.iter().map(|r| r.default_view_truncated),
            ),
            Column::opt_i64(
                "redeliveries_shown",
                a.iter().map(|r| r.redeliveries_shown.map(n)),
            ),
            Column::opt_i64(
                "first_row_seen_at_us",
                a.iter().map(|r| r.first_row_seen_at_us),
            ),
            Column::opt_i64(
                "first_failed_seen_at_us",
                a.iter().map(|r| r.first_failed_seen_at_us),
            ),
            Column::opt_i64(
                "last_failed_seen_at_us",
                a.iter().map(|r| r.last_failed_seen_at_us),
            ),
            Column::opt_f64(
                "seconds_to_first_failure",
                a.iter().map(|r| r.seconds_to_first_failure),
            ),
            Column::opt_i64("first_failed_at_us", a.iter().map(|r| r.first_failed_at_us)),
            Column::opt_i64("last_failed_at_us", a.iter().map(|r| r.last_failed_at_us)),
            Column::opt_f64(
                "runner_offset_seconds",
                a.iter().map(|r| r.runner_offset_seconds),
            ),
        ],
    }
}

fn router_polls_table(d: &derived::Derived) -> Table {
    let p = &d.router_polls;
    Table {
        name: "router_polls",
        cols: vec![
            Column::str("recording_id", p.iter().map(|r| r.recording_id.clone())),
            Column::i64("seq", p.iter().map(|r| u(r.seq))),
            Column::i64("taken_at_us", p.iter().map(|r| r.taken_at_us)),
            Column::bool("health_seen", p.iter().map(|r| r.health_seen)),
            Column::bool("providers_seen", p.iter().map(|r| r.providers_seen)),
            Column::opt_str("status", p.iter().map(|r| r.status.clone())),
            Column::opt_str("version", p.iter().map(|r| r.version.clone())),
            Column::opt_i64("providers_total", p.iter().map(|r| r.providers_total)),
            Column::opt_i64("providers_healthy", p.iter().map(|r| r.providers_healthy)),
            Column::opt_i64("last_seq", p.iter().map(|r| r.last_seq.map(u))),
            Column::opt_str("last_version", p.iter().map(|r| r.last_version.clone())),
            Column::opt_i64(
                "last_providers_total",
                p.iter().map(|r| r.last_providers_total),
            ),
            Column::opt_i64(
                "last_providers_healthy",
                p.iter().map(|r| r.last_providers_healthy),
            ),
        ],
    }
}

/// What an export wrote: counts of its tables (none for a trace).
#[derive(Debug, Default, serde::Serialize)]
pub struct Written {
    /// For OpenMetrics: the series and samples written.
    pub series: usize,
    pub samples: usize,
    pub snapshots: usize,
    pub requests: usize,
    pub versions: usize,
    pub latest: usize,
    pub extra_rows: usize,
    pub cells: usize,
    pub answers: usize,
    pub events: usize,
    pub findings: usize,
}

/// Writes `rec` (read from the file `db`, never written over) as `format` at `out`: a folder
/// for the tables (made when absent), a file for the trace.
/// The formats that are one file (the trace, OpenMetrics): their bytes and what they hold.
/// `None` for the formats that write a folder.
pub fn one_file(rec: &Recording, format: Format) -> Result<Option<(Vec<u8>, Written)>, Error> {
    match format {
        Format::OpenMetrics => {
            let (text, c) = openmetrics::openmetrics(rec).map_err(Error::failure)?;
            let w = Written {
                series: c.series,
                samples: c.samples,
                snapshots: c.snapshots,
                ..Default::default()
            };
            Ok(Some((text.into_bytes(), w)))
        }
        Format::Trace => {
            let r = crate::analysis::report(rec, None)?;
            let lanes = crate::analysis::lanes::lanes(rec, &r)?;
            let events = crate::analysis::timeline::timeline(
                rec,
                rec.infos.first().map_or(0, |i| i.seq),
                rec.infos.last().map_or(0, |i| i.seq),
                &rec.jobs,
            )?;
            let json = trace::trace(&lanes, &events, rec);
            Ok(Some((json.into_bytes(), Written::default())))
        }
        _ => Ok(None),
    }
}

pub fn export(rec: &Recording, db: &Path, format: Format, out: &Path) -> Result<Written, Error> {
    let shown = term(&out.display().to_string()).into_owned();
    let failed = |e: &dyn std::fmt::Display| Error::failure(format!("cannot write {shown}: {e}"));
    if let Some((bytes, w)) = one_file(rec, format)? {
        write_bytes(out, db, &bytes).map_err(|e| failed(&e))?;
        return Ok(w);
    }
    if out.exists() && !out.is_dir() {
        return Err(failed(&"it is not a folder"));
    }
    std::fs::create_dir_all(out).map_err(|e| failed(&e))?;
    let id = tables::recording_id(rec, &db.display().to_string())?;
    let r = crate::analysis::report(rec, None)?;
    let t = tables::tables(rec, &id, 0..=u64::MAX, Some(&r))?;
    let d = derived::derived(rec, &id, &r)?;
    let all = columns(&t, &d);
    let ext = if format == Format::Jsonl {
        write_jsonl(out, db, &all).map_err(|e| failed(&e))?;
        "jsonl"
    } else {
        write_parquet(out, db, &all).map_err(|e| failed(&e))?;
        "parquet"
    };
    write_schema(out, db, &all, ext).map_err(|e| failed(&e))?;
    Ok(Written {
        snapshots: t.snapshots.len(),
        requests: t.requests.len(),
        versions: t.executions.len(),
        latest: d
            .executions_latest
            .iter()
            .filter(|r| r.kept_beside.is_none())
            .count(),
        extra_rows: t.extra_rows.len(),
        cells: d.cells.len(),
        answers: d.answers.len(),
        events: t.events.len(),
        findings: t.findings.len(),
        ..Default::default()
    })
}
