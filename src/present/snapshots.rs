//! `snapshots`: one line per run of snapshots whose requests went alike, or per snapshot; and
//! the JSON of every snapshot.

use crate::analysis::Recording;
use crate::analysis::history::status_series;
use crate::fetch::{FetchErrorKind, SourceKind};
use crate::present::safe::term;
use crate::present::text::{Ctx, plural};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;

/// A store error, or a failed write.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Per job, rows by status at every snapshot (aligned with `rec.infos`).
type JobSeries = Vec<(String, Vec<BTreeMap<String, usize>>)>;

pub fn job_series(rec: &Recording) -> Result<JobSeries, crate::store::StoreError> {
    let mut out = Vec::new();
    for (name, idx) in &rec.jobs {
        out.push((name.clone(), status_series(rec, *idx)?));
    }
    Ok(out)
}

pub fn snapshots_json(rec: &Recording) -> Result<Value, crate::store::StoreError> {
    let series = job_series(rec)?;
    let notes = rec.notes_by_snapshot();
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
                    "server_time": f.server_time.map(crate::beacon::format_micros),
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
            "taken_at": crate::beacon::format_micros(info.started_at),
            "ended_at": crate::beacon::format_micros(info.ended_at),
            "session": info.session,
            "sources": sources,
            "jobs": jobs,
            "notes": notes[k],
        }));
    }
    Ok(Value::Array(arr))
}

fn by_status(m: &BTreeMap<String, usize>, ctx: &Ctx) -> String {
    m.iter()
        .map(|(st, n)| format!("{} {n}", ctx.status(&term(st))))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn write_text(rec: &Recording, all: bool, ctx: Ctx, out: &mut dyn Write) -> Result<(), Error> {
    let series = job_series(rec)?;
    if rec.infos.is_empty() {
        writeln!(out, "no snapshots")?;
        return Ok(());
    }
    let outcomes = run_keys(rec);
    let notes = rec.notes_by_snapshot();
    let first_polled = first_polled(rec);
    let mut k = 0;
    while k < rec.infos.len() {
        let mut end = k;
        if !all {
            // A run ends at a note, and at a range removed by retention.
            while end + 1 < rec.infos.len()
                && outcomes[end + 1] == outcomes[k]
                && notes[end].is_empty()
                && rec.infos[end + 1].seq == rec.infos[end].seq + 1
            {
                end += 1;
            }
        }
        if k > 0 && rec.infos[k].seq > rec.infos[k - 1].seq + 1 {
            writeln!(
                out,
                "       ... seq {}-{} removed by retention",
                rec.infos[k - 1].seq + 1,
                rec.infos[k].seq - 1
            )?;
        }
        let (a, b) = (&rec.infos[k], &rec.infos[end]);
        let all_ok = outcomes[k].iter().all(|(_, w)| w == "ok");
        let srcs = if all_ok {
            ctx.good("all ok")
        } else {
            outcomes[k]
                .iter()
                .map(|(s, w)| {
                    if w == "ok" {
                        format!("{s} ok")
                    } else {
                        format!("{s} {}", ctx.bad(&term(w)))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let jobs: Vec<String> = series
            .iter()
            .filter(|(name, _)| first_polled.get(name.as_str()).is_some_and(|&f| f <= b.seq))
            .map(|(name, s)| {
                let (r0, r1): (usize, usize) = (s[k].values().sum(), s[end].values().sum());
                let rows = if r0 == r1 {
                    plural(r1 as u64, "row", "rows")
                } else {
                    format!("rows {r0} -> {r1}")
                };
                format!("{}: {rows} [{}]", term(name), by_status(&s[end], &ctx))
            })
            .collect();
        let seqs = if end == k {
            format!("{:>5}", a.seq)
        } else {
            format!("{:>5}-{}", a.seq, b.seq)
        };
        let when = if end == k {
            ctx.time(a.started_at)
        } else {
            format!("{} to {}", ctx.time(a.started_at), ctx.offset(b.started_at))
        };
        writeln!(
            out,
            "{seqs}  {when}  {}{srcs}  {}",
            if end > k {
                format!(
                    "{}: ",
                    plural((end - k + 1) as u64, "snapshot", "snapshots")
                )
            } else {
                String::new()
            },
            jobs.join("; ")
        )?;
        for n in &notes[end] {
            writeln!(
                out,
                "       note {}: {}{}",
                ctx.time(n.at.0),
                term(&n.text),
                match n.mark_from {
                    Some(f) => format!(" (keeps from {} from pruning)", ctx.time(f.0)),
                    None => String::new(),
                }
            )?;
        }
        k = end + 1;
    }
    Ok(())
}

/// What each snapshot's requests came to, in order: the key of a run.
fn run_keys(rec: &Recording) -> Vec<Vec<(&'static str, String)>> {
    rec.snaps
        .iter()
        .map(|s| {
            s.fetches
                .iter()
                .map(|f| {
                    let mut w = f.outcome_word();
                    if f.problems_total > 0 {
                        w.push_str(&format!(" ({} row problems)", f.problems_total));
                    }
                    (SourceKind::name_of(f.source), w)
                })
                .collect()
        })
        .collect()
}

/// When each job was first asked about: before that a job has no line (it was not polled).
fn first_polled(rec: &Recording) -> std::collections::HashMap<&str, u64> {
    rec.jobs
        .iter()
        .filter_map(|(name, idx)| {
            rec.infos
                .iter()
                .zip(&rec.snaps)
                .find(|(_, s)| s.fetches.iter().any(|f| f.job == Some(*idx)))
                .map(|(i, _)| (name.as_str(), i.seq))
        })
        .collect()
}
