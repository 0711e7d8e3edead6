//! Text and Markdown renderings of the analysis (JSON is the serde form of the same values,
//! with each sentence added as `message`; the HTML page is `cli::page`).
//!
//! Every value that came from a recording goes through `term` (text) or `md` (Markdown) on its
//! way into a line: field values are hostile input.

use super::safe::{md, term};
use super::text::{Ctx, grouped, list, plural};
use super::words::{self, NAMED, Style};
use crate::analysis::diff::Diff;
use crate::analysis::matrix::{Cell, Coverage};
use crate::analysis::report::Report;
use crate::analysis::rows::RowsOut;
use crate::analysis::summary::{JobSummary, RouterSummary, ShowOut};
use crate::analysis::{FetchKind, job::JobReport};
use crate::duration::human;
use std::collections::BTreeMap;
use std::io::{self, Write};

fn esc_text(s: &str) -> String {
    term(s).into_owned()
}

fn esc_md(s: &str) -> String {
    md(s)
}

pub fn text_style(ctx: Ctx) -> Style<'static> {
    Style {
        ctx,
        esc: &esc_text,
    }
}

pub fn md_style(ctx: Ctx) -> Style<'static> {
    Style { ctx, esc: &esc_md }
}

fn by_status(m: &BTreeMap<String, usize>, st: &Style) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{} {}", st.ctx.status(&(st.esc)(k)), grouped(*v as u64)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An execution id, or `(no id)` for a row without a usable one.
fn id_text(id: Option<i64>) -> String {
    id.map_or_else(|| "(no id)".to_string(), |i| i.to_string())
}

fn cell_text(c: &Cell, st: &Style) -> String {
    format!(
        "{}/{}/{}",
        (st.esc)(&c.question_id),
        (st.esc)(&c.model_id),
        (st.esc)(&c.region)
    )
}

fn fetch_word(k: &Option<FetchKind>) -> Option<String> {
    k.as_ref()
        .filter(|k| k.outcome != "ok")
        .map(words::fetch_kind)
}

/// Missing cells: listed when few (or asked), else counted by question, model and region.
fn missing_text(c: &Coverage, verbose: bool, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    const LIST_UP_TO: usize = 10;
    if c.missing.len() <= LIST_UP_TO || verbose {
        for m in &c.missing {
            writeln!(
                out,
                "    {}    {}",
                st.ctx.warn("missing"),
                cell_text(m, st)
            )?;
        }
        return Ok(());
    }
    let mut by: [BTreeMap<&str, usize>; 3] = Default::default();
    for m in &c.missing {
        *by[0].entry(&m.question_id).or_default() += 1;
        *by[1].entry(&m.model_id).or_default() += 1;
        *by[2].entry(&m.region).or_default() += 1;
    }
    for (name, counts) in ["question", "model", "region"].iter().zip(&by) {
        writeln!(
            out,
            "    {} by {name}: {}",
            st.ctx.warn("missing"),
            list(
                counts.iter().map(|(k, n)| format!("{} {n}", (st.esc)(k))),
                12
            )
        )?;
    }
    writeln!(out, "    (--verbose lists every missing cell)")
}

/// ` so far` after what has not happened, while the job has not finished.
fn so_far(j: &JobSummary) -> &'static str {
    if j.so_far() { " so far" } else { "" }
}

fn job_text(j: &JobSummary, verbose: bool, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let ctx = &st.ctx;
    writeln!(
        out,
        "job {}: status {}{}",
        ctx.bold(&term(&j.job_id)),
        ctx.status(&term(j.status.as_deref().unwrap_or("?"))),
        if j.found == Some(false) {
            ctx.bad(" (runner says: job not found)")
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "  rows: {} ({})",
        grouped(j.rows as u64),
        by_status(&j.by_status, st)
    )?;
    if let Some(f) = fetch_word(&j.list_fetch) {
        writeln!(
            out,
            "  complete list fetch at this snapshot: {} (rows are the last known)",
            ctx.bad(&f)
        )?;
    }
    let e = &j.expected;
    writeln!(
        out,
        "  expected: {}{} = {} x {} x {} [{}]{}",
        plural(e.cells, "cell", "cells"),
        e.declared
            .map_or(String::new(), |d| format!(" (declared {})", grouped(d))),
        plural(e.questions.len() as u64, "question", "questions"),
        plural(e.models.len() as u64, "model", "models"),
        plural(e.regions.len() as u64, "region", "regions"),
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
    cells_text(j, verbose, st, out)?;
    default_view_text(j, st, out)
}

/// The job's cells: covered, missing, duplicated, outside the spec.
fn cells_text(j: &JobSummary, verbose: bool, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let ctx = &st.ctx;
    let c = &j.cells;
    let missing = if !c.complete {
        ctx.warn(&format!(
            "{} unknown ({})",
            grouped(c.unknown_count),
            if j.default_view.rows.is_some() {
                "no complete list seen, only the default view"
            } else {
                "nothing of this job recorded by this snapshot"
            }
        ))
    } else if c.missing_count > 0 {
        ctx.warn(&format!(
            "{} missing{}",
            grouped(c.missing_count),
            so_far(j)
        ))
    } else {
        format!("0 missing{}", so_far(j))
    };
    writeln!(
        out,
        "  cells: {} covered, {missing}, {} duplicated; {} outside the spec, {} with no cell{}",
        grouped(c.covered as u64),
        grouped(c.duplicated.len() as u64),
        plural(c.unexpected.len() as u64, "row", "rows"),
        plural(c.no_cell.len() as u64, "row", "rows"),
        if c.listed {
            ""
        } else {
            " (too many cells to list)"
        }
    )?;
    missing_text(c, verbose, st, out)?;
    for d in &c.duplicated {
        let rows: Vec<String> = d
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    id_text(r.id),
                    ctx.status(&term(&r.status)),
                    r.created_at
                        .or(r.started_at)
                        .map_or(String::new(), |t| ctx.time(t.0))
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
            "    outside    {}: {}",
            id_text(u.execution_id),
            term(&u.reason)
        )?;
    }
    Ok(())
}

/// The default view, compared with the complete list only within one poll.
fn default_view_text(j: &JobSummary, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let ctx = &st.ctx;
    let v = &j.default_view;
    match v.rows {
        Some(n) if v.same_poll => writeln!(
            out,
            "  default view: {} of {} rows{}",
            grouped(n as u64),
            grouped(v.complete_rows as u64),
            match (v.truncated, v.hidden) {
                (Some(true), Some(h)) => {
                    ctx.warn(&format!(" (TRUNCATED: {} not shown)", grouped(h as u64)))
                }
                _ => String::new(),
            }
        )?,
        Some(n) => writeln!(
            out,
            "  default view: {} {}; not compared with this snapshot's complete list{}",
            plural(n as u64, "row", "rows"),
            match &v.seen {
                Some(o) => format!(
                    "as last fetched at seq {}, {} earlier",
                    o.seq,
                    human((o.age_seconds * 1e6) as i64)
                ),
                None => "as fetched before this window".into(),
            },
            match &v.last_compared {
                Some(c) => format!(
                    " (last fetched together at seq {}: {} of {}{})",
                    c.seq,
                    c.shown,
                    c.complete,
                    if c.truncated() {
                        ctx.warn(", truncated")
                    } else {
                        String::new()
                    }
                ),
                None => String::new(),
            }
        )?,
        None => writeln!(out, "  default view: not recorded")?,
    }
    Ok(())
}

fn router_text(r: &Option<RouterSummary>, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let ctx = &st.ctx;
    let Some(r) = r else {
        return writeln!(out, "router: not recorded");
    };
    writeln!(
        out,
        "router: {} of {} providers healthy, regions [{}]{}{}",
        r.providers_healthy.map_or("?".into(), |v| v.to_string()),
        r.providers_total.map_or("?".into(), |v| v.to_string()),
        term(&r.regions.join(", ")),
        r.version
            .as_deref()
            .map_or(String::new(), |v| format!(", version {}", term(v))),
        fetch_word(&r.fetch).map_or(String::new(), |f| format!(
            " ({} at this snapshot; last known shown)",
            ctx.bad(&format!("health fetch {f}"))
        ))
    )?;
    match &r.providers_seen {
        Some(o) if o.age_seconds > 0.0 => writeln!(
            out,
            "  providers as last answered, at seq {} ({} earlier){}; states as of then:",
            o.seq,
            human((o.age_seconds * 1e6) as i64),
            fetch_word(&r.providers_fetch).map_or(String::new(), |f| format!(
                "; this snapshot's request: {}",
                ctx.bad(&f)
            ))
        )?,
        None if !r.providers.is_empty() => writeln!(
            out,
            "  providers as answered before this window; states as of then:"
        )?,
        _ => {}
    }
    let answered_earlier = r.providers_seen.as_ref().filter(|o| o.age_seconds > 0.0);
    for p in &r.providers {
        let state = words::state(p.state);
        let state = match p.state {
            crate::analysis::router::ProviderState::CheckedHealthy => ctx.good(state),
            s if s.is_risky() => ctx.warn(state),
            _ => ctx.bad(state),
        };
        let since = p.failing_since.map_or(String::new(), |t| {
            format!(" since at least {}", ctx.time(t.0))
        });
        let checked = match (p.last_health_check, p.age_seconds) {
            (Some(t), Some(a)) => format!(
                "{}{}, {} before this snapshot{}{}",
                ctx.time(t.0),
                p.last_health_check_router
                    .map_or(String::new(), |r| format!(
                        " (the router's stamp: {})",
                        crate::present::text::clock(r.0)
                    )),
                human((a * 1e6) as i64),
                match (answered_earlier, p.age_at_answer_seconds) {
                    (Some(o), Some(b)) => format!(
                        " ({} before the answer at seq {})",
                        human((b * 1e6) as i64),
                        o.seq
                    ),
                    _ => String::new(),
                },
                match (p.failing_since, p.last_check_found_healthy) {
                    (Some(_), Some(true)) => "; that check found it healthy, a later one raised",
                    (Some(_), _) => {
                        "; a later round stamped the other providers, not it: its check raised"
                    }
                    _ => "",
                }
            ),
            _ => "never".into(),
        };
        writeln!(
            out,
            "  {} ({}): {state}{since}, last checked {checked}{}",
            term(&p.name),
            term(p.region.as_deref().unwrap_or("?")),
            p.success_rate
                .map_or(String::new(), |s| format!(", success rate {s:.2}"))
        )?;
    }
    Ok(())
}

pub fn show_text(s: &ShowOut, verbose: bool, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let st = text_style(ctx);
    writeln!(
        out,
        "snapshot {} at {}",
        s.snapshot.seq,
        ctx.time(s.snapshot.taken_at.0)
    )?;
    for j in &s.jobs {
        job_text(j, verbose, &st, out)?;
    }
    router_text(&s.router, &st, out)
}

pub fn rows_text(r: &RowsOut, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "snapshot {} at {}",
        r.snapshot.seq,
        ctx.time(r.snapshot.taken_at.0)
    )?;
    for j in &r.jobs {
        writeln!(
            out,
            "job {}: {} listed of {}; the default view showed {} (marked *)",
            ctx.bold(&term(&j.job_id)),
            j.listed,
            plural(j.total as u64, "row", "rows"),
            j.default_view_rows
                .map_or("nothing recorded".into(), |n| n.to_string())
        )?;
        writeln!(
            out,
            "    {:>8}  {:<40} {:<10} {:<9} {:<19} {:>8}  error",
            "id", "cell", "status", "provider", "started", "took"
        )?;
        for row in &j.rows {
            let cell = format!(
                "{}/{}/{}",
                term(row.question_id.as_deref().unwrap_or("-")),
                term(row.model_id.as_deref().unwrap_or("-")),
                term(row.region.as_deref().unwrap_or("-"))
            );
            let provider = match row.provider_id.as_deref() {
                Some("") | None => "\"\"".to_string(),
                Some(p) => term(p).into_owned(),
            };
            let mark = if row.in_default_view { "*" } else { " " };
            let id = match (row.id, row.kept_beside) {
                (Some(i), None) => i.to_string(),
                (Some(i), Some(_)) => format!("{i}+"),
                (None, _) => "(no id)".into(),
            };
            let error = match (&row.error_code, &row.error) {
                (Some(c), Some(e)) => format!("{} {}", term(c), term(e)),
                (Some(c), None) => term(c).into_owned(),
                (None, Some(e)) => term(e).into_owned(),
                (None, None) => String::new(),
            };
            writeln!(
                out,
                "  {mark} {id:>8}  {cell:<40} {} {provider:<9} {:<19} {:>8}  {error}",
                ctx.status(&format!("{:<10}", term(&row.status))),
                row.started_at.map_or("-".into(), |t| ctx.time(t.0)),
                row.duration_seconds
                    .map_or("-".into(), |d| human((d * 1e6) as i64))
            )?;
        }
    }
    writeln!(
        out,
        "(* shown by the default view; + a second row with the same id in one body)"
    )
}

/// Distinct (from, to) pairs of one field listed one per line; past this, the field is one
/// line (timestamps differ on every row: listing them is noise).
const PAIRS_LISTED: usize = 8;

/// Changed executions, per field: alike changes on one line ("status running -> failed: 12
/// executions"), a field whose values all differ as one count.
fn changes_summary(
    changed: &[crate::analysis::diff::ExecChange],
    out: &mut dyn Write,
) -> io::Result<()> {
    // Fields in the order rows list them.
    type Pairs = BTreeMap<(String, String), Vec<i64>>;
    let mut by_field: Vec<(&str, Pairs)> = Vec::new();
    for c in changed {
        for (k, (a, b)) in c.fields.iter() {
            let at = match by_field.iter().position(|(f, _)| f == k) {
                Some(i) => i,
                None => {
                    by_field.push((k, BTreeMap::new()));
                    by_field.len() - 1
                }
            };
            by_field[at]
                .1
                .entry((a.to_string(), b.to_string()))
                .or_default()
                .push(c.id);
        }
    }
    // Changes made by the same executions share one line: a status change that came with six
    // other fields is one line naming its executions once.
    let mut groups: Vec<(Vec<i64>, Vec<String>)> = Vec::new();
    let mut counted: Vec<String> = Vec::new();
    for (field, pairs) in by_field {
        if pairs.len() <= PAIRS_LISTED {
            for ((a, b), ids) in pairs {
                let what = format!("{field} {} -> {}", term(&a), term(&b));
                match groups.iter_mut().find(|g| g.0 == ids) {
                    Some(g) => g.1.push(what),
                    None => groups.push((ids, vec![what])),
                }
            }
        } else {
            let n: usize = pairs.values().map(Vec::len).sum();
            let ((a, b), ids) = pairs.iter().next().expect("more than PAIRS_LISTED");
            counted.push(format!(
                "  changed {field} on {}, {} different changes (e.g. {}: {} -> {}; --verbose lists them)",
                plural(n as u64, "execution", "executions"),
                pairs.len(),
                ids[0],
                term(a),
                term(b)
            ));
        }
    }
    for (ids, what) in groups {
        let who = list(ids.iter().map(|i| i.to_string()), 12);
        let n = plural(ids.len() as u64, "execution", "executions");
        match what.as_slice() {
            [one] => writeln!(out, "  changed {one}: {n} ({who})")?,
            _ => writeln!(out, "  changed {n} ({who}): {}", what.join(", "))?,
        }
    }
    for line in counted {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn diff_text(d: &Diff, verbose: bool, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "from snapshot {} ({}) to {} ({})",
        d.from.seq,
        ctx.time(d.from.taken_at.0),
        d.to.seq,
        ctx.time(d.to.taken_at.0)
    )?;
    if d.is_empty() {
        return writeln!(out, "no changes");
    }
    let st = text_style(ctx);
    for j in d.jobs.iter().filter(|j| !j.is_empty()) {
        writeln!(out, "job {}", ctx.bold(&term(&j.job_id)))?;
        if let Some((a, b)) = &j.status {
            writeln!(
                out,
                "  status: {} -> {}",
                ctx.status(&term(a.as_deref().unwrap_or("?"))),
                ctx.status(&term(b.as_deref().unwrap_or("?")))
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
            writeln!(
                out,
                "  added {}: {}",
                e.added.len(),
                list(e.added.iter().map(|i| i.to_string()), 30)
            )?;
        }
        if !e.removed.is_empty() {
            writeln!(
                out,
                "  removed {}: {}",
                e.removed.len(),
                list(e.removed.iter().map(|i| i.to_string()), 30)
            )?;
        }
        if verbose {
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
        } else {
            changes_summary(&e.changed, out)?;
        }
        let cells = [
            ("cells now missing", &j.cells.newly_missing),
            ("cells filled", &j.cells.no_longer_missing),
            ("cells now duplicated", &j.cells.newly_duplicated),
        ];
        for (what, v) in cells {
            if v.is_empty() {
                continue;
            }
            if verbose {
                for c in v {
                    writeln!(out, "  {what}: {}", cell_text(c, &st))?;
                }
            } else {
                writeln!(
                    out,
                    "  {} {what}: {}",
                    v.len(),
                    list(v.iter().map(|c| cell_text(c, &st)), NAMED)
                )?;
            }
        }
    }
    router_diff_text(d, verbose, out)?;
    if !verbose {
        writeln!(out, "(--verbose lists every change)")?;
    }
    Ok(())
}

/// The router's, the providers' and the extra endpoints' changes.
fn router_diff_text(d: &Diff, verbose: bool, out: &mut dyn Write) -> io::Result<()> {
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
    for c in &d.endpoints {
        writeln!(
            out,
            "endpoint {} (its answers at seq {} and {}): {}",
            term(&c.endpoint.label()),
            c.from_seq,
            c.seq,
            plural(c.changed as u64, "path changed", "paths changed")
        )?;
        let shown = if verbose { c.changes.len() } else { 10 };
        for p in c.changes.iter().take(shown) {
            let v = |v: &Option<String>| {
                v.as_deref()
                    .map_or("(absent)".to_string(), |v| term(v).into_owned())
            };
            writeln!(out, "  {}: {} -> {}", term(&p.path), v(&p.from), v(&p.to))?;
        }
        if c.changed > shown.min(c.changes.len()) {
            writeln!(
                out,
                "  and {} more",
                grouped((c.changed - shown.min(c.changes.len())) as u64)
            )?;
        }
    }
    Ok(())
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
            "_{} cells: too many to draw as a table ({} covered, {} missing{})._\n",
            grouped(e.cells),
            grouped(s.cells.covered as u64),
            grouped(s.cells.missing_count),
            so_far(s)
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
                Some([]) if !s.cells.complete => "unknown".to_string(),
                Some([]) if s.so_far() => "**no row yet**".to_string(),
                Some([]) => "**missing**".to_string(),
                Some(rows) => md_cell(rows),
            };
            write!(out, " {text} |")?;
        }
        writeln!(out)?;
    }
    writeln!(out)
}

/// A matrix cell in Markdown: its executions' statuses with counts (`failed ×2`), in bold when
/// the cell ran more than once; rows repeating an execution's id are said apart.
fn md_cell(rows: &[(crate::beacon::Str, Option<i64>)]) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut by: Vec<(String, usize)> = Vec::new();
    let mut repeated = 0;
    for (st, id) in rows {
        if id.is_some_and(|i| !seen.insert(i)) {
            repeated += 1;
            continue;
        }
        let st = md(st);
        match by.iter_mut().find(|(s, _)| *s == st) {
            Some(e) => e.1 += 1,
            None => by.push((st, 1)),
        }
    }
    let runs: usize = by.iter().map(|(_, n)| n).sum();
    let text: Vec<String> = by
        .into_iter()
        .map(|(s, n)| if n > 1 { format!("{s} ×{n}") } else { s })
        .collect();
    let mut text = text.join(", ");
    if runs > 1 {
        text = format!("**{text}**");
    }
    if repeated > 0 {
        text.push_str(&format!(
            " (+{})",
            plural(repeated as u64, "repeated row", "repeated rows")
        ));
    }
    text
}

fn job_markdown(j: &JobReport, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let st = md_style(ctx);
    let s = &j.summary;
    writeln!(out, "## Job {}\n", md(&s.job_id))?;
    writeln!(
        out,
        "Status **{}**; {} ({}); path {}; expected {}.\n",
        md(s.status.as_deref().unwrap_or("?")),
        plural(s.rows as u64, "row", "rows"),
        by_status(&s.by_status, &st),
        s.expected.path.unwrap_or("unknown"),
        plural(s.expected.cells, "cell", "cells")
    )?;
    writeln!(out, "### Matrix (at the last snapshot)\n")?;
    matrix_markdown(j, out)?;
    cells_markdown(j, &st, out)?;
    growth_markdown(j, ctx, out)?;
    failures_markdown(j, ctx, out)
}

/// The matrix's duplicated cells and the rows outside it.
fn cells_markdown(j: &JobReport, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let ctx = st.ctx;
    let s = &j.summary;
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
                            .or(r.started_at)
                            .map_or("?".into(), |t| ctx.time(t.0))
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
                md(u.question_id.as_deref().unwrap_or("-")),
                md(u.model_id.as_deref().unwrap_or("-")),
                md(u.region.as_deref().unwrap_or("-"))
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// How the rows grew, the counts over time, the job's status.
fn growth_markdown(j: &JobReport, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let h = &j.history;
    writeln!(out, "### Growth\n")?;
    let g = &h.growth;
    writeln!(
        out,
        "First row seen at {}; last new row at {}; at most {}.{}",
        g.first_row_at.map_or("-".into(), |t| ctx.time(t.0)),
        g.last_new_row_at.map_or("-".into(), |t| ctx.time(t.0)),
        plural(g.max_rows as u64, "row", "rows"),
        if g.vanished.is_empty() {
            String::new()
        } else {
            format!(
                " {} vanished.",
                plural(g.vanished.len() as u64, "row", "rows")
            )
        }
    )?;
    writeln!(
        out,
        "\n| seq | time | rows | default view |\n|---|---|---|---|"
    )?;
    let mut last = None;
    for p in &h.rows_over_time {
        let key = (p.rows, p.default_last.map(|d| d.1));
        if last != Some(key) {
            writeln!(
                out,
                "| {} | {} | {}{} | {} |",
                p.seq,
                ctx.time(p.taken_at.0),
                grouped(p.rows as u64),
                if p.list_seen { "" } else { " (last read)" },
                match (p.default_rows, p.default_last) {
                    (Some(d), _) => grouped(d as u64),
                    (None, Some((seq, d))) => {
                        format!("{} (fetched at seq {seq})", grouped(d as u64))
                    }
                    (None, None) => "-".into(),
                }
            )?;
            last = Some(key);
        }
    }
    writeln!(
        out,
        "\n(a line where a count changed; a count not fetched in that poll is the last known, and says so)\n"
    )?;
    if !h.status_history.is_empty() {
        let chain: Vec<String> = h
            .status_history
            .iter()
            .map(|c| {
                format!(
                    "{} (seq {}, {})",
                    if c.found {
                        md(c.status.as_deref().unwrap_or("?"))
                    } else {
                        "not found".into()
                    },
                    c.seq,
                    ctx.time(c.at.0)
                )
            })
            .collect();
        writeln!(out, "Job status: {}.\n", chain.join(" -> "))?;
    }
    Ok(())
}

/// How the rows failed: signatures, when, how long.
fn failures_markdown(j: &JobReport, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let h = &j.history;
    let f = &h.failures;
    writeln!(out, "### Failures\n")?;
    if f.total == 0 {
        return writeln!(out, "No failed rows.\n");
    }
    writeln!(
        out,
        "| count | status | error code | stage | provider empty | output | error | examples |\n|---|---|---|---|---|---|---|---|"
    )?;
    for sig in &f.signatures {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            grouped(sig.count as u64),
            md(&sig.key.status),
            md(sig.key.error_code.as_deref().unwrap_or("-")),
            md(sig.key.failure_stage.as_deref().unwrap_or("-")),
            if sig.key.provider_empty { "yes" } else { "no" },
            match sig.key.output_null {
                Some(true) => "null",
                Some(false) => "with error",
                None => "absent",
            },
            md(sig.error_text.as_deref().unwrap_or("-")),
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
        f.first_failed_at.map_or("-".into(), |t| ctx.time(t.0)),
        f.last_failed_at.map_or("-".into(), |t| ctx.time(t.0)),
        f.spread_seconds
            .map_or("-".into(), |s| human((s * 1e6) as i64))
    )?;
    if let (Some(a), Some(b)) = (f.first_seen_failed_at, f.last_seen_failed_at) {
        writeln!(
            out,
            "- By polling: first seen failed at {}, last newly failed at {}.",
            ctx.time(a.0),
            ctx.time(b.0)
        )?;
    }
    for c in &f.clusters {
        writeln!(
            out,
            "- Cluster: {} from {} to {}.",
            plural(c.count as u64, "failure", "failures"),
            ctx.time(c.start.0),
            ctx.time(c.end.0)
        )?;
    }
    for m in &f.duration_modes {
        writeln!(
            out,
            "- Duration mode: {} ran {}.",
            plural(m.count as u64, "row", "rows"),
            human(m.seconds * 1_000_000)
        )?;
    }
    if !f.near_instant.is_empty() {
        writeln!(
            out,
            "- Near-instant failures (< 1 s): {}.",
            list(f.near_instant.iter().map(|i| i.to_string()), 30)
        )?;
    }
    writeln!(out)
}

fn router_markdown(r: &Report, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let st = md_style(ctx);
    writeln!(out, "## Router\n")?;
    if !r.router.recorded {
        return writeln!(out, "The router was not recorded.\n");
    }
    writeln!(
        out,
        "| seq | time | healthy / total | regions |\n|---|---|---|---|"
    )?;
    for p in &r.router.series {
        writeln!(
            out,
            "| {} | {} | {} / {} | {} |",
            p.seq,
            ctx.time(p.taken_at.0),
            p.providers_healthy.map_or("?".into(), |v| v.to_string()),
            p.providers_total.map_or("?".into(), |v| v.to_string()),
            md(&p.regions.join(", "))
        )?;
    }
    writeln!(out)?;
    for t in &r.router.transitions {
        writeln!(
            out,
            "- {} (seq {}): {}",
            ctx.time(t.at.0),
            t.seq,
            words::change(&t.change, &st)
        )?;
    }
    if !r.router.transitions.is_empty() {
        writeln!(out)?;
    }
    writeln!(
        out,
        "Provider states (by the {}'s clock):\n",
        match r.router.clock {
            crate::analysis::router::ClockUsed::Router => "router",
            crate::analysis::router::ClockUsed::Recorder => "recorder",
        }
    )?;
    for s in &r.router.provider_spans {
        writeln!(
            out,
            "- {} ({}): {} from {} to {} (seq {}-{})",
            md(&s.provider),
            md(s.region.as_deref().unwrap_or("?")),
            words::state(s.state),
            ctx.time(s.from.0),
            ctx.time(s.to.0),
            s.from_seq,
            s.to_seq
        )?;
    }
    writeln!(out)
}

fn outages_markdown(r: &Report, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Fetch outages\n")?;
    if r.fetch.outages.is_empty() {
        writeln!(
            out,
            "None: every request that was sent got a usable answer ({} of {} requests sent).\n",
            grouped((r.fetch.requests - r.fetch.unsent_requests) as u64),
            grouped(r.fetch.requests as u64)
        )?;
    } else {
        writeln!(
            out,
            "| source | job | from | to | snapshots | kinds | recovered |\n|---|---|---|---|---|---|---|"
        )?;
        for o in &r.fetch.outages {
            writeln!(
                out,
                "| {}{} | {} | {} | {} | {} | {} | {} |",
                o.source,
                o.endpoint
                    .as_deref()
                    .map_or(String::new(), |e| format!(" {}", md(e))),
                md(o.job.as_deref().unwrap_or("-")),
                ctx.time(o.from.0),
                ctx.time(o.to.0),
                o.snapshots,
                o.kinds
                    .iter()
                    .map(words::fetch_kind)
                    .collect::<Vec<_>>()
                    .join(", "),
                o.recovered_at.map_or("no".into(), |t| ctx.time(t.0))
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
                md(g.job.as_deref().unwrap_or("-")),
                ctx.time(g.from.0),
                ctx.time(g.to.0),
                g.snapshots,
                g.kinds
                    .iter()
                    .map(words::fetch_kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Queue depth changes listed in the report; the JSON has them all.
const QUEUE_POINTS: usize = 12;

/// Non-zero depths, or "0 throughout".
fn depths(m: &BTreeMap<String, f64>) -> String {
    let v: Vec<String> = m
        .iter()
        .filter(|(_, v)| **v != 0.0)
        .map(|(k, v)| format!("{} {v}", md(k)))
        .collect();
    if v.is_empty() {
        "every depth 0".into()
    } else {
        v.join(", ")
    }
}

/// The extra endpoints: how they answered, queue depths, stuck jobs, the router's checks.
fn endpoints_markdown(r: &Report, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let e = &r.endpoints;
    if e.endpoints.is_empty() {
        return Ok(());
    }
    writeln!(out, "## Extra endpoints\n")?;
    writeln!(
        out,
        "| endpoint | requests | ok | failed | not offered | changes |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for c in &e.endpoints {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            md(&c.endpoint.label()),
            c.requests,
            c.ok,
            c.failed,
            c.not_offered,
            c.changes
        )?;
    }
    writeln!(out)?;
    let sty = md_style(ctx);
    for q in &e.queues {
        writeln!(out, "- {}", words::queue_line(q, &sty))?;
        for p in q.points.iter().take(QUEUE_POINTS) {
            writeln!(out, "  - {}: {}", ctx.time(p.at.0), depths(&p.depths))?;
        }
        if q.points.len() > QUEUE_POINTS {
            writeln!(out, "  - and {} more", q.points.len() - QUEUE_POINTS)?;
        }
    }
    if let Some(st) = &e.stuck_jobs {
        writeln!(
            out,
            "- Stuck jobs (runner): at most {} in {}{}.",
            st.max_count,
            plural(st.answers as u64, "answer", "answers"),
            if st.jobs.is_empty() {
                String::new()
            } else {
                format!(": {}", md(&list(st.jobs.iter().cloned(), NAMED)))
            }
        )?;
    }
    for c in &e.checks {
        writeln!(out, "- {}", words::checks_line(c, &sty))?;
    }
    writeln!(out)
}

/// A note as a list item's text.
pub fn note_words(n: &crate::analysis::Note, st: &Style) -> String {
    format!(
        "{}: {}{}",
        st.ctx.time(n.at.0),
        st.e(&n.text),
        match (n.mark_from, n.mark_to) {
            (Some(f), Some(t)) => format!(
                " (marks {} to {}: kept by retention)",
                st.ctx.time(f.0),
                st.ctx.time(t.0)
            ),
            _ => String::new(),
        }
    )
}

/// What retention removed, when it did.
pub fn window_words(r: &Report) -> Option<String> {
    let rc = &r.recording;
    if rc.pruned.is_empty() {
        return None;
    }
    let first = rc.first.as_ref()?.seq;
    let ranges: Vec<String> = rc
        .pruned
        .iter()
        .map(|p| format!("{}-{}", p.from_seq, p.to_seq))
        .collect();
    let gone: u64 = rc.pruned.iter().map(|p| p.to_seq - p.from_seq + 1).sum();
    Some(format!(
        "Retention removed {} (seq {}); the window kept starts at seq {first}{}.",
        plural(gone, "snapshot", "snapshots"),
        ranges.join(", "),
        if rc.pruned.iter().any(|p| p.from_seq > first) {
            ", with the gaps named (marked windows were kept)"
        } else {
            ""
        }
    ))
}

pub fn report_markdown(r: &Report, ctx: Ctx, out: &mut dyn Write) -> io::Result<()> {
    let st = md_style(ctx);
    writeln!(out, "# Beacon incident report\n")?;
    let rc = &r.recording;
    if let (Some(a), Some(b)) = (&rc.first, &rc.last) {
        writeln!(
            out,
            "Recorded from {} to {} ({}, {}); times below are UTC with the offset from the start.\n",
            super::text::date_time(a.taken_at.0),
            super::text::date_time(b.taken_at.0),
            human((rc.span_seconds * 1e6) as i64),
            plural(rc.snapshots as u64, "snapshot", "snapshots")
        )?;
        if let Some(w) = window_words(r) {
            writeln!(out, "{w}\n")?;
        }
    }
    for j in &r.jobs {
        writeln!(out, "{}\n", words::answer(&j.answer, &st))?;
    }
    if !rc.notes.is_empty() {
        writeln!(out, "## Notes\n")?;
        for n in &rc.notes {
            writeln!(out, "- {}", note_words(n, &st))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "## Findings\n")?;
    for (i, f) in r.findings.iter().enumerate() {
        let seen = words::first_seen(r.first_seen.get(i).copied().flatten(), &st);
        writeln!(out, "{}. {}{seen}", i + 1, words::finding(f, &st))?;
    }
    writeln!(out)?;
    for j in &r.jobs {
        job_markdown(j, ctx, out)?;
    }
    router_markdown(r, ctx, out)?;
    endpoints_markdown(r, ctx, out)?;
    outages_markdown(r, ctx, out)?;
    writeln!(out, "## How this was recorded\n")?;
    writeln!(
        out,
        "{} from {} to {} ({}); {} of {} requests failed, {} not sent by the recorder. Report by {}.\n",
        plural(rc.snapshots as u64, "snapshot", "snapshots"),
        rc.first
            .as_ref()
            .map_or("-".into(), |s| ctx.time(s.taken_at.0)),
        rc.last
            .as_ref()
            .map_or("-".into(), |s| ctx.time(s.taken_at.0)),
        human((rc.span_seconds * 1e6) as i64),
        grouped(r.fetch.failed_requests as u64),
        grouped(r.fetch.requests as u64),
        grouped(r.fetch.unsent_requests as u64),
        rc.reported_by
    )?;
    for s in &rc.sessions {
        if s.made == crate::analysis::report::Made::Synthetic {
            writeln!(
                out,
                "- Session from seq {} at {}: synthetic, written through the library (no runner, router or polling interval: nothing was fetched over HTTP), blackbox {}",
                s.first_seq,
                ctx.time(s.started_at.0),
                md(&s.tool_version)
            )?;
            continue;
        }
        if s.made == crate::analysis::report::Made::Imported {
            writeln!(
                out,
                "- Session from seq {} at {}: imported, jobs {}, blackbox {}{}",
                s.first_seq,
                ctx.time(s.started_at.0),
                if s.jobs.is_empty() {
                    "-".into()
                } else {
                    md(&s.jobs.join(", "))
                },
                md(&s.tool_version),
                s.label
                    .as_deref()
                    .map_or(String::new(), |l| format!(", label \"{}\"", md(l)))
            )?;
        } else {
            writeln!(
                out,
                "- Session from seq {} at {}: runner {}, router {}, jobs {}, every {}, budget {}/min, timeout {}, blackbox {}{}",
                s.first_seq,
                ctx.time(s.started_at.0),
                md(s.runner.as_deref().unwrap_or("-")),
                md(s.router.as_deref().unwrap_or("-")),
                if s.jobs.is_empty() {
                    "-".into()
                } else {
                    md(&s.jobs.join(", "))
                },
                human(s.interval_ms as i64 * 1000),
                s.max_runner_rpm,
                human(s.timeout_ms as i64 * 1000),
                md(&s.tool_version),
                s.label
                    .as_deref()
                    .map_or(String::new(), |l| format!(", label \"{}\"", md(l)))
            )?;
        }
        if !s.origin.is_empty() {
            writeln!(
                out,
                "  - Imported, not recorded: {}. What was not captured cannot be shown: without a complete list, rows beyond a default view are unknown.",
                md(&list(s.origin.iter().cloned(), NAMED))
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::diff::{ExecChange, Fields};
    use serde_json::{Value, json};

    fn change(id: i64, fields: Vec<(&'static str, (Value, Value))>) -> ExecChange {
        ExecChange {
            id,
            fields: Fields(fields),
        }
    }

    /// Alike changes share a line per field; a field whose values all differ (timestamps) is
    /// one count, not a line per row.
    #[test]
    fn changes_are_summarised_per_field() {
        let mut changed = Vec::new();
        for id in 0..20 {
            let status = if id < 15 { "failed" } else { "completed" };
            changed.push(change(
                id,
                vec![
                    ("status", (json!("running"), json!(status))),
                    ("completed_at", (Value::Null, json!(format!("t{id}")))),
                ],
            ));
        }
        let mut out = Vec::new();
        changes_summary(&changed, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with(
                r#"  changed status "running" -> "completed": 5 executions (15, 16, 17, 18, 19)"#
            ),
            "{text}"
        );
        assert!(
            lines[1].contains(r#""failed": 15 executions (0, 1, 2"#)
                && lines[1].ends_with("and 3 more)"),
            "{text}"
        );
        assert_eq!(
            lines[2],
            r#"  changed completed_at on 20 executions, 20 different changes (e.g. 0: null -> "t0"; --verbose lists them)"#
        );
    }
}
