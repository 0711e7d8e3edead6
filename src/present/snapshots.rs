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
                    "endpoint": rec.endpoint_name(f),
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
                    "sent_at": f.sent_us.map(|d| crate::beacon::format_micros(info.started_at + d as i64)),
                    "retried": f.retried.as_ref().map(|e| json!({"kind": FetchErrorKind::from_u8(e.kind).name(), "message": e.message})),
                    "secrets_removed": f.secrets_removed,
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

/// One line of `snapshots` before its columns are aligned.
struct Line {
    seqs: String,
    when: String,
    rest: String,
    /// Lines printed after it (notes, retention).
    after: Vec<String>,
    /// A line printed before it, unaligned (a range removed by retention).
    before: Option<String>,
}

/// A note as its line under the snapshot it came with.
fn note_line(n: &crate::analysis::Note, ctx: &Ctx) -> String {
    format!(
        "note {}: {}{}",
        ctx.time(n.at.0),
        term(&n.text),
        match n.mark_from {
            Some(f) => format!(" (keeps from {} from pruning)", ctx.time(f.0)),
            None => String::new(),
        }
    )
}

pub fn write_text(rec: &Recording, all: bool, ctx: Ctx, out: &mut dyn Write) -> Result<(), Error> {
    let series = job_series(rec)?;
    if rec.infos.is_empty() {
        writeln!(out, "no snapshots")?;
        return Ok(());
    }
    let keys = run_keys(rec);
    let notes = rec.notes_by_snapshot();
    let first_polled = first_polled(rec);
    let mut lines: Vec<Line> = Vec::new();
    let mut k = 0;
    while k < rec.infos.len() {
        let mut end = k;
        let mut run = keys[k].outcomes.clone();
        if !all {
            // A run: every source answering the same way in each poll that asked it
            // (requests not sent by the budget, or asked only once a minute, do not split
            // it); it ends at a note, and at a range removed by retention.
            while end + 1 < rec.infos.len()
                && alike(&run, &keys[end + 1].outcomes)
                && notes[end].is_empty()
                && rec.infos[end + 1].seq == rec.infos[end].seq + 1
            {
                end += 1;
                run.extend(keys[end].outcomes.clone());
            }
        }
        let before = (k > 0 && rec.infos[k].seq > rec.infos[k - 1].seq + 1).then(|| {
            format!(
                "... seq {}-{} removed by retention",
                rec.infos[k - 1].seq + 1,
                rec.infos[k].seq - 1
            )
        });
        let (a, b) = (&rec.infos[k], &rec.infos[end]);
        let unsent: usize = keys[k..=end].iter().map(|r| r.unsent).sum();
        let not_ok: Vec<String> = run
            .iter()
            .filter(|(_, w)| *w != "ok")
            .map(|(s, w)| format!("{} {}", term(s), ctx.bad(&term(w))))
            .collect();
        let mut srcs = if not_ok.is_empty() {
            ctx.good("all ok")
        } else {
            format!("{}, the rest ok", not_ok.join(", "))
        };
        if unsent > 0 {
            srcs.push_str(&format!(
                " ({} not sent by the recorder)",
                plural(unsent as u64, "request", "requests")
            ));
        }
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
        let (seqs, when) = if end == k {
            (a.seq.to_string(), ctx.time(a.started_at))
        } else {
            (
                format!("{}-{}", a.seq, b.seq),
                format!("{} to {}", ctx.time(a.started_at), ctx.offset(b.started_at)),
            )
        };
        let count = if end > k {
            format!(
                "{}: ",
                plural((end - k + 1) as u64, "snapshot", "snapshots")
            )
        } else {
            String::new()
        };
        let after = notes[end].iter().map(|n| note_line(n, &ctx)).collect();
        lines.push(Line {
            seqs,
            when,
            rest: format!("{count}{srcs}  {}", jobs.join("; ")),
            after,
            before,
        });
        k = end + 1;
    }
    print_lines(&lines, out)
}

/// The lines in columns: the snapshot numbers right-aligned, the times left-aligned, by the
/// widest.
fn print_lines(lines: &[Line], out: &mut dyn Write) -> Result<(), Error> {
    let seq_w = lines.iter().map(|l| l.seqs.len()).max().unwrap_or(0);
    let when_w = lines
        .iter()
        .map(|l| l.when.chars().count())
        .max()
        .unwrap_or(0);
    let indent = " ".repeat(seq_w + 2);
    for l in lines {
        if let Some(b) = &l.before {
            writeln!(out, "{indent}{b}")?;
        }
        let pad = when_w - l.when.chars().count();
        writeln!(
            out,
            "{:>seq_w$}  {}{}  {}",
            l.seqs,
            l.when,
            " ".repeat(pad),
            l.rest
        )?;
        for a in &l.after {
            writeln!(out, "{indent}{a}")?;
        }
    }
    Ok(())
}

/// What a snapshot's requests came to: each source's outcome, and how many requests were not
/// sent.
struct RunKey {
    outcomes: BTreeMap<String, String>,
    unsent: usize,
}

/// Whether a snapshot goes on a run: every source both asked answered alike.
fn alike(run: &BTreeMap<String, String>, next: &BTreeMap<String, String>) -> bool {
    next.iter().all(|(s, w)| run.get(s).is_none_or(|r| r == w))
}

fn run_keys(rec: &Recording) -> Vec<RunKey> {
    rec.snaps
        .iter()
        .map(|s| {
            let mut outcomes = BTreeMap::new();
            let mut unsent = 0;
            for f in &s.fetches {
                if f.outcome().is_gap() {
                    unsent += 1;
                    continue;
                }
                let mut w = f.outcome_word();
                if f.problems_total > 0 {
                    w.push_str(&format!(" ({} row problems)", f.problems_total));
                }
                // A job's pages: the worst of them speaks for the source.
                let mut label = rec.source_label(f);
                if let Some(j) = f.job.filter(|_| rec.jobs.len() > 1) {
                    let name = rec
                        .jobs
                        .iter()
                        .find(|(_, i)| *i == j)
                        .map(|(n, _)| n.as_str());
                    label.push_str(&format!(" ({})", name.unwrap_or("?")));
                }
                let e = outcomes.entry(label).or_insert_with(|| w.clone());
                if *e == "ok" {
                    *e = w;
                }
            }
            RunKey { outcomes, unsent }
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
