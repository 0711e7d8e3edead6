//! The expected-vs-actual matrix as a grid: questions down, models across with their regions
//! under them; each cell coloured by its rows' final status, a count badge on a cell that ran
//! more than once, missing cells hatched. Above `PROBLEMS_FIRST` questions the rows with a
//! problem come first and the rest are counted, folded under `<details>`. Unplanned regions
//! and rows outside the matrix beside it.

use super::esc::esc;
use super::lane::class_of;
use crate::analysis::job::JobReport;
use crate::analysis::matrix::{Coverage, Unexpected};
use crate::analysis::summary::JobSummary;
use crate::beacon::Str;
use crate::present::text::{grouped, plural};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Above this many cells the grid is not drawn (the counts and lists stay).
pub const GRID_MAX: u64 = 20_000;
/// Above this many questions, the rows with a problem come first and the rest are folded.
pub const PROBLEMS_FIRST: usize = 50;
/// Rows with a problem shown before the fold.
const SHOWN: usize = 50;
/// Characters of a question, model or region name shown in the grid.
const NAME_CHARS: usize = 40;

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let head: String = s.chars().take(n - 1).collect();
        format!("{head}…")
    }
}

pub fn grid(j: &JobReport, k: usize, out: &mut String) {
    let s = &j.summary;
    let e = &s.expected;
    let _ = write!(
        out,
        r#"<section class="grid" id="grid-{k}"><h3>Expected vs actual: {}</h3>"#,
        esc(&s.job_id)
    );
    let _ = write!(
        out,
        "<p class=\"counts\">{} expected, {} covered, {}, {} run more than once, {} outside the matrix, {} without a cell.</p>",
        plural(e.cells, "cell", "cells"),
        grouped(s.cells.covered as u64),
        if s.cells.complete {
            format!(
                "{} missing{}",
                grouped(s.cells.missing_count),
                if s.so_far() { " so far" } else { "" }
            )
        } else {
            format!(
                "{} unknown (no complete list seen)",
                grouped(s.cells.unknown_count)
            )
        },
        grouped(s.cells.duplicated.len() as u64),
        plural(s.cells.unexpected.len() as u64, "row", "rows"),
        plural(s.cells.no_cell.len() as u64, "row", "rows"),
    );
    if e.cells == 0 {
        out.push_str("<p>No job spec recorded: no expected matrix.</p>");
    } else if !s.cells.listed || e.cells > GRID_MAX {
        let _ = write!(
            out,
            "<p>{} cells: too many to draw; <code>blackbox show --rows</code> lists the rows.</p>",
            grouped(e.cells)
        );
    } else {
        matrix(s, out);
    }
    if !e.unplanned_regions.is_empty() {
        let r: Vec<String> = e.unplanned_regions.iter().map(|r| esc(r)).collect();
        let _ = write!(
            out,
            r#"<p class="unplanned">Regions of the spec not planned (the router listed no provider there): {}</p>"#,
            r.join(", ")
        );
    }
    for (title, rows) in [
        ("Rows outside the matrix", &s.cells.unexpected),
        ("Rows without a cell", &s.cells.no_cell),
    ] {
        if !rows.is_empty() {
            outside(title, rows, out);
        }
    }
    out.push_str("</section>");
}

/// What a question's row holds: cells missing (or unknown), run more than once, failed.
#[derive(Debug, Default, Clone, Copy)]
struct RowTally {
    missing: usize,
    twice: usize,
    failed: usize,
    /// Every planned cell has one execution, completed.
    all_completed_once: bool,
}

impl RowTally {
    fn problem(&self) -> bool {
        self.missing + self.twice + self.failed > 0
    }
}

/// Distinct executions among a cell's rows (a row without an id counts as one of its own).
fn distinct(rows: &[(Str, Option<i64>)]) -> usize {
    let ids: BTreeSet<i64> = rows.iter().filter_map(|r| r.1).collect();
    ids.len() + rows.iter().filter(|r| r.1.is_none()).count()
}

fn tally(c: &Coverage, q: u32, cols: &[(u32, u32)]) -> RowTally {
    let mut t = RowTally {
        all_completed_once: true,
        ..Default::default()
    };
    for &(m, r) in cols {
        let Some(rows) = c.rows_of((q, m, r)) else {
            continue;
        };
        if rows.is_empty() {
            t.missing += 1;
        }
        if distinct(rows) > 1 {
            t.twice += 1;
        }
        if rows.iter().any(|(st, _)| class_of(st) == "failed") {
            t.failed += 1;
        }
        if rows.len() != 1 || class_of(&rows[0].0) != "completed" {
            t.all_completed_once = false;
        }
    }
    t
}

/// The grid: every question in order when there are few; else the rows with a problem first
/// (most missing, then run twice, then failed) and the rest folded.
fn matrix(s: &JobSummary, out: &mut String) {
    let e = &s.expected;
    let cols: Vec<(u32, u32)> = (0..e.models.len() as u32)
        .flat_map(|m| (0..e.regions.len() as u32).map(move |r| (m, r)))
        .collect();
    let tallies: Vec<RowTally> = (0..e.questions.len() as u32)
        .map(|q| tally(&s.cells, q, &cols))
        .collect();
    let all: Vec<usize> = (0..e.questions.len()).collect();
    if e.questions.len() <= PROBLEMS_FIRST {
        table(s, &cols, &all, "matrix", out);
        return;
    }
    let mut problems: Vec<usize> = all
        .iter()
        .copied()
        .filter(|q| tallies[*q].problem())
        .collect();
    problems.sort_by_key(|q| {
        let t = tallies[*q];
        (
            std::cmp::Reverse(t.missing),
            std::cmp::Reverse(t.twice),
            std::cmp::Reverse(t.failed),
            *q,
        )
    });
    let rest: Vec<usize> = all
        .iter()
        .copied()
        .filter(|q| !tallies[*q].problem())
        .collect();
    let shown = problems.len().min(SHOWN);
    if problems.is_empty() {
        let _ = write!(
            out,
            "<p class=\"problems-first\">None of the {} question rows has a cell missing, run more than once or failed.</p>",
            e.questions.len()
        );
    } else {
        let _ = write!(
            out,
            "<p class=\"problems-first\">{} of {} have a cell missing, run more than once or failed; {}.</p>",
            plural(problems.len() as u64, "question row", "question rows"),
            e.questions.len(),
            if problems.len() > shown {
                format!(
                    "the {shown} with the most missing cells first, then run twice, then failed"
                )
            } else {
                "they come first".to_string()
            }
        );
    }
    if shown > 0 {
        table(s, &cols, &problems[..shown], "matrix problems", out);
    }
    if problems.len() > shown {
        let _ = write!(
            out,
            "<details class=\"fold\"><summary>{} more with a problem</summary>",
            plural((problems.len() - shown) as u64, "row", "rows")
        );
        table(s, &cols, &problems[shown..], "matrix more", out);
        out.push_str("</details>");
    }
    if !rest.is_empty() {
        let all_done = rest.iter().all(|q| tallies[*q].all_completed_once);
        let _ = write!(
            out,
            "<details class=\"fold\"><summary>{} {}</summary>",
            plural(rest.len() as u64, "row", "rows"),
            if all_done {
                "all completed once"
            } else {
                "with every cell run once and none failed"
            }
        );
        table(s, &cols, &rest, "matrix rest", out);
        out.push_str("</details>");
    }
}

/// One table of the grid: the two-line header (models, their regions) and the given rows.
fn table(s: &JobSummary, cols: &[(u32, u32)], rows: &[usize], class: &str, out: &mut String) {
    let e = &s.expected;
    // Names are cut: a spec of long names would otherwise repeat them in every cell.
    let cut = |s: &str| esc(&short(s, NAME_CHARS));
    let _ = write!(
        out,
        r#"<div class="grid-wrap"><table class="{class}"><thead><tr><th rowspan="2" class="q">question</th>"#
    );
    for m in &e.models {
        let _ = write!(
            out,
            r#"<th colspan="{}" class="model" title="{}">{}</th>"#,
            e.regions.len(),
            esc(m),
            cut(m)
        );
    }
    out.push_str("</tr><tr>");
    for (_, r) in cols {
        let name = &e.regions[*r as usize];
        let _ = write!(
            out,
            r#"<th class="region" title="{}">{}</th>"#,
            esc(name),
            cut(name)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for &qi in rows {
        let q = &e.questions[qi];
        let _ = write!(out, r#"<tr><th title="{}">{}</th>"#, esc(q), cut(q));
        for &(m, r) in cols {
            cell(&s.cells, (qi as u32, m, r), s.so_far(), out);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// One cell: its worst row's colour, a badge when it ran more than once, its rows on hover.
fn cell(c: &Coverage, key: (u32, u32, u32), so_far: bool, out: &mut String) {
    match c.rows_of(key) {
        None => out.push_str(r#"<td class="na" title="not planned"></td>"#),
        Some([]) if c.complete && so_far => out.push_str(
            r#"<td class="missing" title="no row so far (the job has not finished)"></td>"#,
        ),
        Some([]) if c.complete => out.push_str(r#"<td class="missing" title="missing"></td>"#),
        Some([]) => out.push_str(
            r#"<td class="unknown" title="no row seen; no complete list was read">?</td>"#,
        ),
        Some(rows) => {
            // The cell shows its worst row: failed over running over completed.
            let classes: Vec<&str> = rows.iter().map(|(st, _)| class_of(st)).collect();
            let worst = ["failed", "other", "running", "completed"]
                .into_iter()
                .find(|c| classes.contains(c))
                .unwrap_or("other");
            let ids: Vec<String> = rows
                .iter()
                .map(|(st, id)| {
                    format!(
                        "{} {}",
                        id.map_or("(no id)".to_string(), |i| i.to_string()),
                        esc(st)
                    )
                })
                .collect();
            let runs = distinct(rows);
            let badge = if runs > 1 {
                format!(r#"<b class="badge">×{runs}</b>"#)
            } else {
                String::new()
            };
            let repeated = if rows.len() > runs {
                "; one execution sent more than once"
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<td class="st-{worst}{}" title="{}{repeated}">{badge}</td>"#,
                if runs > 1 { " dup" } else { "" },
                ids.join(", ")
            );
        }
    }
}

fn outside(title: &str, rows: &[Unexpected], out: &mut String) {
    const SHOWN: usize = 50;
    let _ = write!(
        out,
        "<h4>{title} ({})</h4><div class=\"table-wrap\"><table class=\"outside\"><tr><th>id</th><th>question</th><th>model</th><th>region</th><th>why</th></tr>",
        rows.len()
    );
    let o = |v: &Option<String>| v.as_deref().map_or("-".to_string(), esc);
    for u in rows.iter().take(SHOWN) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            u.execution_id
                .map_or("(no id)".to_string(), |i| i.to_string()),
            o(&u.question_id),
            o(&u.model_id),
            o(&u.region),
            esc(&u.reason)
        );
    }
    out.push_str("</table></div>");
    if rows.len() > SHOWN {
        let _ = write!(
            out,
            "<p>and {} more (<code>blackbox report --json</code> lists them all)</p>",
            rows.len() - SHOWN
        );
    }
}
