//! Text, Markdown and HTML renderings of the analysis (JSON is the serde form of the same
//! structures).

//!
//! Every value that came from a recording goes through `term` (text) or `md` (Markdown) on its
//! way into a line: field values are hostile input.

use super::safe::{md, term};
use crate::analysis::diff::Diff;
use crate::analysis::matrix::Cell;
use crate::analysis::report::{JobReport, JobSummary, Report, RouterSummary, ShowOut, human_secs};
use std::collections::BTreeMap;
use std::io::{self, Write};

fn by_status(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{} {v}", term(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An execution id, or `(no id)` for a row without a usable one.
fn id_text(id: Option<i64>) -> String {
    id.map_or_else(|| "(no id)".to_string(), |i| i.to_string())
}

fn opt<'a>(s: Option<&'a str>, none: &'a str) -> std::borrow::Cow<'a, str> {
    term(s.unwrap_or(none))
}

fn mdo(s: Option<&str>, none: &str) -> String {
    md(s.unwrap_or(none))
}

fn job_text(j: &JobSummary, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "job {}: status {}{}",
        term(&j.job_id),
        opt(j.status.as_deref(), "?"),
        if j.found {
            ""
        } else {
            " (runner says: job not found)"
        }
    )?;
    writeln!(out, "  rows: {} ({})", j.rows, by_status(&j.by_status))?;
    if let Some(f) = &j.list_fetch
        && f != "ok"
    {
        writeln!(
            out,
            "  complete list fetch at this snapshot: {} (rows are the last known)",
            term(f)
        )?;
    }
    let e = &j.expected;
    writeln!(
        out,
        "  expected: {} cells{} = {} questions x {} models x {} regions [{}]{}",
        e.cells,
        e.declared
            .map_or(String::new(), |d| format!(" (declared {d})")),
        e.questions.len(),
        e.models.len(),
        e.regions.len(),
        e.path.unwrap_or("no spec"),
        if e.unplanned_regions.is_empty() {
            String::new()
        } else {
            format!(
                "; not planned (no provider): {}",
                term(&e.unplanned_regions.join(", "))
            )
        }
    )?;
    let c = &j.cells;
    writeln!(
        out,
        "  cells: {} covered, {} missing, {} duplicated; {} unexpected rows, {} rows with no cell{}",
        c.covered,
        c.missing_count,
        c.duplicated.len(),
        c.unexpected.len(),
        c.no_cell.len(),
        if c.listed {
            ""
        } else {
            " (too many cells to list)"
        }
    )?;
    for m in &c.missing {
        writeln!(out, "    missing    {}", cell_str(m))?;
    }
    for d in &c.duplicated {
        let rows: Vec<String> = d
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    id_text(r.id),
                    term(&r.status),
                    r.created_at
                        .as_deref()
                        .or(r.started_at.as_deref())
                        .unwrap_or("")
                )
            })
            .collect();
        writeln!(
            out,
            "    duplicated {}/{}/{}: {}",
            term(&d.question_id),
            term(&d.model_id),
            term(&d.region),
            rows.join("; ")
        )?;
    }
    for u in c.unexpected.iter().chain(&c.no_cell) {
        writeln!(
            out,
            "    unexpected row {}: {}",
            id_text(u.execution_id),
            term(&u.reason)
        )?;
    }
    let v = &j.default_view;
    match v.rows {
        Some(n) => writeln!(
            out,
            "  default view: {n} rows of {}{}",
            v.complete_rows,
            if v.truncated {
                format!(" (TRUNCATED: {} rows hidden)", v.hidden)
            } else {
                String::new()
            }
        )?,
        None => writeln!(out, "  default view: not recorded")?,
    }
    Ok(())
}

fn router_text(r: &Option<RouterSummary>, out: &mut dyn Write) -> io::Result<()> {
    let Some(r) = r else {
        return writeln!(out, "router: not recorded");
    };
    writeln!(
        out,
        "router: {} of {} providers healthy, regions [{}]{}",
        r.providers_healthy.map_or("?".into(), |v| v.to_string()),
        r.providers_total.map_or("?".into(), |v| v.to_string()),
        term(&r.regions.join(", ")),
        r.fetch
            .as_deref()
            .filter(|f| *f != "ok")
            .map_or(String::new(), |f| format!(
                " (health fetch here: {}; last known shown)",
                term(f)
            ))
    )?;
    for p in &r.providers {
        writeln!(
            out,
            "  {} ({}): {}, last checked {}",
            term(&p.name),
            opt(p.region.as_deref(), "?"),
            match p.healthy {
                Some(true) => "healthy",
                Some(false) => "UNHEALTHY",
                None => "?",
            },
            p.last_health_check.as_deref().unwrap_or("never")
        )?;
    }
    Ok(())
}

pub fn show_text(s: &ShowOut, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "snapshot {} at {}",
        s.snapshot.seq, s.snapshot.taken_at
    )?;
    for j in &s.jobs {
        job_text(j, out)?;
    }
    router_text(&s.router, out)
}

fn cell_str(c: &Cell) -> String {
    format!(
        "{}/{}/{}",
        term(&c.question_id),
        term(&c.model_id),
        term(&c.region)
    )
}

pub fn diff_text(d: &Diff, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "from snapshot {} ({}) to {} ({})",
        d.from.seq, d.from.taken_at, d.to.seq, d.to.taken_at
    )?;
    if d.is_empty() {
        return writeln!(out, "no changes");
    }
    for j in d.jobs.iter().filter(|j| !j.is_empty()) {
        writeln!(out, "job {}", term(&j.job_id))?;
        if let Some((a, b)) = &j.status {
            writeln!(
                out,
                "  status: {} -> {}",
                opt(a.as_deref(), "?"),
                opt(b.as_deref(), "?")
            )?;
        }
        if let Some((a, b)) = j.extra_rows {
            writeln!(
                out,
                "  rows kept beside the by-id list (repeated or no id): {a} -> {b}"
            )?;
        }
        let e = &j.executions;
        if !e.added.is_empty() {
            writeln!(out, "  added {}: {}", e.added.len(), ids(&e.added))?;
        }
        if !e.removed.is_empty() {
            writeln!(out, "  removed {}: {}", e.removed.len(), ids(&e.removed))?;
        }
        for c in &e.changed {
            let f: Vec<String> = c
                .fields
                .iter()
                .map(|(k, (a, b))| {
                    format!("{k} {} -> {}", term(&a.to_string()), term(&b.to_string()))
                })
                .collect();
            writeln!(out, "  changed {}: {}", c.id, f.join(", "))?;
        }
        for c in &j.cells.newly_missing {
            writeln!(out, "  cell now missing: {}", cell_str(c))?;
        }
        for c in &j.cells.no_longer_missing {
            writeln!(out, "  cell filled: {}", cell_str(c))?;
        }
        for c in &j.cells.newly_duplicated {
            writeln!(out, "  cell now duplicated: {}", cell_str(c))?;
        }
    }
    for (k, (a, b)) in &d.router.changes {
        writeln!(
            out,
            "router {k}: {} -> {}",
            term(&a.to_string()),
            term(&b.to_string())
        )?;
    }
    for p in &d.providers.added {
        writeln!(out, "provider added: {}", term(p))?;
    }
    for p in &d.providers.removed {
        writeln!(out, "provider removed: {}", term(p))?;
    }
    for c in &d.providers.changed {
        let f: Vec<String> = c
            .fields
            .iter()
            .map(|(k, (a, b))| {
                format!(
                    "{} {} -> {}",
                    term(k),
                    term(&a.to_string()),
                    term(&b.to_string())
                )
            })
            .collect();
        writeln!(out, "provider {}: {}", term(&c.name), f.join(", "))?;
    }
    Ok(())
}

fn ids(v: &[i64]) -> String {
    let mut s: Vec<String> = v.iter().take(30).map(|i| i.to_string()).collect();
    if v.len() > 30 {
        s.push(format!("... ({} more)", v.len() - 30));
    }
    s.join(", ")
}

/// Above this many cells the Markdown matrix is summarised: a table of thousands of columns
/// helps nobody.
const MATRIX_TABLE_MAX: u64 = 2_000;

/// The matrix table: rows = questions, columns = model x region.
fn matrix_markdown(j: &JobReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &j.summary;
    let e = &s.expected;
    if e.cells == 0 {
        return writeln!(out, "_No job spec recorded: no expected matrix._\n");
    }
    if !s.cells.listed || e.cells > MATRIX_TABLE_MAX {
        return writeln!(
            out,
            "_{} cells: too many to draw as a table ({} covered, {} missing)._\n",
            e.cells, s.cells.covered, s.cells.missing_count
        );
    }
    let mut cols = Vec::new();
    for mi in 0..e.models.len() {
        for ri in 0..e.regions.len() {
            cols.push((mi as u32, ri as u32));
        }
    }
    write!(out, "| question |")?;
    for (m, r) in &cols {
        write!(
            out,
            " {} @ {} |",
            md(&e.models[*m as usize]),
            md(&e.regions[*r as usize])
        )?;
    }
    writeln!(out)?;
    write!(out, "|---|")?;
    for _ in &cols {
        write!(out, "---|")?;
    }
    writeln!(out)?;
    for (qi, q) in e.questions.iter().enumerate() {
        write!(out, "| {} |", md(q))?;
        for (m, r) in &cols {
            let text = match s.cells.rows_of((qi as u32, *m, *r)) {
                None => "n/a".to_string(),
                Some([]) => "**missing**".to_string(),
                Some(sts) => {
                    let sts: Vec<String> = sts.iter().map(|x| md(x)).collect();
                    if sts.len() > 1 {
                        format!("{} **x{}**", sts.join(", "), sts.len())
                    } else {
                        sts.join(", ")
                    }
                }
            };
            write!(out, " {text} |")?;
        }
        writeln!(out)?;
    }
    writeln!(out)
}

pub fn report_markdown(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Beacon incident report\n")?;
    writeln!(out, "## Findings\n")?;
    for (i, f) in r.findings.iter().enumerate() {
        writeln!(out, "{}. {}", i + 1, md(f))?;
    }
    writeln!(out)?;
    for j in &r.jobs {
        let s = &j.summary;
        writeln!(out, "## Job {}\n", md(&s.job_id))?;
        writeln!(
            out,
            "Status **{}**; {} rows ({}); path {}; expected {} cells{}.\n",
            mdo(s.status.as_deref(), "?"),
            s.rows,
            md(&by_status(&s.by_status)),
            s.expected.path.unwrap_or("unknown"),
            s.expected.cells,
            s.expected
                .declared
                .map_or(String::new(), |d| format!(", declared {d}"))
        )?;
        writeln!(out, "### Matrix (at the last snapshot)\n")?;
        matrix_markdown(j, out)?;
        let c = &s.cells;
        if !c.duplicated.is_empty() {
            writeln!(out, "Duplicated cells:\n")?;
            for d in &c.duplicated {
                let rows: Vec<String> = d
                    .rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{} ({}, created {})",
                            id_text(r.id),
                            md(&r.status),
                            r.created_at
                                .as_deref()
                                .or(r.started_at.as_deref())
                                .unwrap_or("?")
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    "- {}/{}/{}: {}",
                    md(&d.question_id),
                    md(&d.model_id),
                    md(&d.region),
                    rows.join("; ")
                )?;
            }
            writeln!(out)?;
        }
        if !c.unexpected.is_empty() || !c.no_cell.is_empty() {
            writeln!(out, "Rows outside the matrix:\n")?;
            for u in c.unexpected.iter().chain(&c.no_cell) {
                writeln!(
                    out,
                    "- {}: {} (question {}, model {}, region {})",
                    id_text(u.execution_id),
                    md(&u.reason),
                    mdo(u.question_id.as_deref(), "-"),
                    mdo(u.model_id.as_deref(), "-"),
                    mdo(u.region.as_deref(), "-")
                )?;
            }
            writeln!(out)?;
        }
        writeln!(out, "### Growth\n")?;
        let g = &j.growth;
        writeln!(
            out,
            "First row seen at {} (seq {}); last new row at {} (seq {}); at most {} rows.{}",
            g.first_row_at.as_deref().unwrap_or("-"),
            g.first_row_seq.map_or("-".into(), |v| v.to_string()),
            g.last_new_row_at.as_deref().unwrap_or("-"),
            g.last_new_row_seq.map_or("-".into(), |v| v.to_string()),
            g.max_rows,
            if g.vanished.is_empty() {
                String::new()
            } else {
                format!(" {} rows vanished.", g.vanished.len())
            }
        )?;
        if let Some((shown, complete)) = j.max_truncation {
            writeln!(
                out,
                "\nThe default view showed at most {shown} of {complete} rows."
            )?;
        }
        writeln!(out, "\n| seq | time | rows |\n|---|---|---|")?;
        let mut last = None;
        for p in &j.rows_over_time {
            if last != Some(p.rows) {
                writeln!(out, "| {} | {} | {} |", p.seq, p.taken_at, p.rows)?;
                last = Some(p.rows);
            }
        }
        writeln!(out, "\n(rows listed when the count changed)\n")?;
        if !j.status_history.is_empty() {
            let h: Vec<String> = j
                .status_history
                .iter()
                .map(|c| {
                    format!(
                        "{} (seq {}, {})",
                        mdo(c.status.as_deref(), "?"),
                        c.seq,
                        c.at
                    )
                })
                .collect();
            writeln!(out, "Job status: {}.\n", h.join(" -> "))?;
        }
        let f = &j.failures;
        writeln!(out, "### Failures\n")?;
        if f.total == 0 {
            writeln!(out, "No failed rows.\n")?;
        } else {
            writeln!(
                out,
                "| count | status | error code | stage | provider empty | output null | examples |\n|---|---|---|---|---|---|---|"
            )?;
            for sig in &f.signatures {
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    sig.count,
                    md(&sig.key.status),
                    mdo(sig.key.error_code.as_deref(), "-"),
                    mdo(sig.key.failure_stage.as_deref(), "-"),
                    if sig.key.provider_empty { "yes" } else { "no" },
                    sig.key
                        .output_null
                        .map_or("n/a", |b| if b { "yes" } else { "no" }),
                    sig.example_ids
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            writeln!(out)?;
            writeln!(
                out,
                "- By the rows' timestamps: first failure {}, last {}, spread {}.",
                f.first_failed_at.as_deref().unwrap_or("-"),
                f.last_failed_at.as_deref().unwrap_or("-"),
                f.spread_seconds.map_or("-".into(), human_secs)
            )?;
            if let (Some(a), Some(b)) = (&f.first_seen_failed_at, &f.last_seen_failed_at) {
                writeln!(
                    out,
                    "- By polling: first seen failed at {a}, last newly failed at {b}."
                )?;
            }
            for c in &f.clusters {
                writeln!(
                    out,
                    "- Cluster: {} failures from {} to {}.",
                    c.count, c.start, c.end
                )?;
            }
            for m in &f.duration_modes {
                writeln!(
                    out,
                    "- Duration mode: {} rows ran {} s.",
                    m.count, m.seconds
                )?;
            }
            if !f.near_instant.is_empty() {
                writeln!(
                    out,
                    "- Near-instant failures (< 1 s): {}.",
                    ids(&f.near_instant)
                )?;
            }
            writeln!(out)?;
        }
    }
    writeln!(out, "## Router\n")?;
    if !r.router.recorded {
        writeln!(out, "The router was not recorded.\n")?;
    } else {
        writeln!(
            out,
            "| seq | time | healthy / total | regions |\n|---|---|---|---|"
        )?;
        for p in &r.router.series {
            writeln!(
                out,
                "| {} | {} | {} / {} | {} |",
                p.seq,
                p.taken_at,
                p.providers_healthy.map_or("?".into(), |v| v.to_string()),
                p.providers_total.map_or("?".into(), |v| v.to_string()),
                md(&p.regions.join(", "))
            )?;
        }
        writeln!(out)?;
        for t in &r.router.transitions {
            writeln!(out, "- {} (seq {}): {}", t.at, t.seq, md(&t.what))?;
        }
        for p in &r.router.stale_providers {
            writeln!(
                out,
                "- Stale: {} ({}): {}",
                md(&p.name),
                mdo(p.region.as_deref(), "?"),
                md(&p.reason)
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## Fetch outages\n")?;
    if r.fetch.outages.is_empty() {
        writeln!(
            out,
            "None: every request that was sent got a usable answer ({} of {} requests sent).\n",
            r.fetch.requests - r.fetch.unsent_requests,
            r.fetch.requests
        )?;
    } else {
        writeln!(
            out,
            "| source | job | from | to | snapshots | kinds | recovered |\n|---|---|---|---|---|---|---|"
        )?;
        for o in &r.fetch.outages {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                o.source,
                mdo(o.job.as_deref(), "-"),
                o.from,
                o.to,
                o.snapshots,
                md(&o.kinds.join(", ")),
                o.recovered_at.as_deref().unwrap_or("no")
            )?;
        }
        writeln!(out)?;
    }
    if !r.fetch.gaps.is_empty() {
        writeln!(out, "## Gaps of the recorder\n")?;
        writeln!(
            out,
            "Requests the recorder did not send (its own rate budget, or waiting out a 429): gaps in what was recorded, not failures of the source.\n"
        )?;
        writeln!(
            out,
            "| source | job | from | to | snapshots | why |\n|---|---|---|---|---|---|"
        )?;
        for g in &r.fetch.gaps {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                g.source,
                mdo(g.job.as_deref(), "-"),
                g.from,
                g.to,
                g.snapshots,
                md(&g.kinds.join(", "))
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## How this was recorded\n")?;
    let rc = &r.recording;
    writeln!(
        out,
        "{} snapshots from {} to {} ({}); {} of {} requests failed, {} not sent by the recorder. Report by {}.\n",
        rc.snapshots,
        rc.first.as_ref().map_or("-".into(), |s| s.taken_at.clone()),
        rc.last.as_ref().map_or("-".into(), |s| s.taken_at.clone()),
        human_secs(rc.span_seconds),
        r.fetch.failed_requests,
        r.fetch.requests,
        r.fetch.unsent_requests,
        rc.reported_by
    )?;
    for s in &rc.sessions {
        writeln!(
            out,
            "- Session from seq {} at {}: runner {}, router {}, jobs {}, interval {} ms, blackbox {}{}",
            s.first_seq,
            s.started_at,
            mdo(s.runner.as_deref(), "-"),
            mdo(s.router.as_deref(), "-"),
            if s.jobs.is_empty() {
                "-".into()
            } else {
                md(&s.jobs.join(", "))
            },
            s.interval_ms,
            md(&s.tool_version),
            s.label
                .as_deref()
                .map_or(String::new(), |l| format!(", label \"{}\"", md(l)))
        )?;
    }
    Ok(())
}

fn esc(s: &str) -> String {
    term(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page: findings, a rows-over-time chart per job (SVG), and the
/// Markdown report below it.
pub fn report_html(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Beacon incident report</title>"
    )?;
    writeln!(
        out,
        "<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}pre{{white-space:pre-wrap}}</style></head><body>"
    )?;
    writeln!(out, "<h1>Beacon incident report</h1><h2>Findings</h2><ol>")?;
    for f in &r.findings {
        writeln!(out, "<li>{}</li>", esc(f))?;
    }
    writeln!(out, "</ol>")?;
    for j in &r.jobs {
        writeln!(out, "<h2>Rows over time: {}</h2>", esc(&j.summary.job_id))?;
        let pts = &j.rows_over_time;
        let max = pts.iter().map(|p| p.rows).max().unwrap_or(0).max(1) as f64;
        let n = pts.len().max(2) as f64 - 1.0;
        let poly: Vec<String> = pts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{:.1},{:.1}",
                    40.0 + i as f64 / n * 640.0,
                    190.0 - p.rows as f64 / max * 170.0
                )
            })
            .collect();
        writeln!(
            out,
            "<svg width=\"700\" height=\"210\" role=\"img\"><line x1=\"40\" y1=\"190\" x2=\"680\" y2=\"190\" stroke=\"#999\"/><line x1=\"40\" y1=\"20\" x2=\"40\" y2=\"190\" stroke=\"#999\"/><text x=\"4\" y=\"24\" font-size=\"11\">{}</text><text x=\"4\" y=\"190\" font-size=\"11\">0</text><polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"2\" points=\"{}\"/></svg>",
            max as usize,
            poly.join(" ")
        )?;
    }
    let mut md = Vec::new();
    report_markdown(r, &mut md)?;
    writeln!(
        out,
        "<h2>Full report (Markdown)</h2><pre>{}</pre></body></html>",
        esc(&String::from_utf8_lossy(&md))
    )
}
