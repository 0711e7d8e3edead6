//! The expected-vs-actual matrix as a grid: questions down, model @ region across; each cell
//! coloured by its rows' final status, a count badge on a cell with several rows, missing cells
//! hatched; unplanned regions and rows outside the matrix beside it.

use super::esc::esc;
use super::lanes::class_of;
use crate::analysis::job::JobReport;
use crate::analysis::matrix::Unexpected;
use crate::present::text::plural;
use std::fmt::Write;

/// Above this many cells the grid is not drawn (the counts and lists stay).
pub const GRID_MAX: u64 = 20_000;
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
        "<p class=\"counts\">{} expected, {} covered, {}, {} with more than one row, {} outside the matrix, {} without a cell.</p>",
        plural(e.cells, "cell", "cells"),
        s.cells.covered,
        if s.cells.complete {
            format!("{} missing", s.cells.missing_count)
        } else {
            format!("{} unknown (no complete list seen)", s.cells.unknown_count)
        },
        s.cells.duplicated.len(),
        plural(s.cells.unexpected.len() as u64, "row", "rows"),
        plural(s.cells.no_cell.len() as u64, "row", "rows"),
    );
    if e.cells == 0 {
        out.push_str("<p>No job spec recorded: no expected matrix.</p>");
    } else if !s.cells.listed || e.cells > GRID_MAX {
        let _ = write!(
            out,
            "<p>{} cells: too many to draw; <code>blackbox show --rows</code> lists the rows.</p>",
            e.cells
        );
    } else {
        table(j, out);
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

fn table(j: &JobReport, out: &mut String) {
    let s = &j.summary;
    let e = &s.expected;
    let mut cols = Vec::new();
    for mi in 0..e.models.len() {
        for ri in 0..e.regions.len() {
            cols.push((mi as u32, ri as u32));
        }
    }
    // Names are cut: a spec of long names would otherwise repeat them in every cell.
    let cut = |s: &str| esc(&short(s, NAME_CHARS));
    out.push_str(r#"<div class="grid-wrap"><table class="matrix"><thead><tr><th>question</th>"#);
    for (m, r) in &cols {
        let _ = write!(
            out,
            "<th>{}<br>@ {}</th>",
            cut(&e.models[*m as usize]),
            cut(&e.regions[*r as usize])
        );
    }
    out.push_str("</tr></thead><tbody>");
    for (qi, q) in e.questions.iter().enumerate() {
        let _ = write!(out, "<tr><th>{}</th>", cut(q));
        for (m, r) in &cols {
            let name = || {
                format!(
                    "{}/{}/{}",
                    cut(q),
                    cut(&e.models[*m as usize]),
                    cut(&e.regions[*r as usize])
                )
            };
            match s.cells.rows_of((qi as u32, *m, *r)) {
                None => out.push_str(r#"<td class="na" title="not planned"></td>"#),
                Some([]) => {
                    let _ = write!(
                        out,
                        r#"<td class="missing" title="{}: missing"></td>"#,
                        name()
                    );
                }
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
                    let badge = if rows.len() > 1 {
                        format!(r#"<b class="badge">×{}</b>"#, rows.len())
                    } else {
                        String::new()
                    };
                    let _ = write!(
                        out,
                        r#"<td class="st-{worst}{}" title="{}: {}">{badge}</td>"#,
                        if rows.len() > 1 { " dup" } else { "" },
                        name(),
                        ids.join(", ")
                    );
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn outside(title: &str, rows: &[Unexpected], out: &mut String) {
    const SHOWN: usize = 50;
    let _ = write!(
        out,
        "<h4>{title} ({})</h4><table class=\"outside\"><tr><th>id</th><th>question</th><th>model</th><th>region</th><th>why</th></tr>",
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
    out.push_str("</table>");
    if rows.len() > SHOWN {
        let _ = write!(
            out,
            "<p>and {} more (<code>blackbox report --json</code> lists them all)</p>",
            rows.len() - SHOWN
        );
    }
}
