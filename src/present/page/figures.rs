//! The answer as numbers first: per job, a row of big figures (expected, complete list,
//! default view, covered, missing, duplicated, failed), each a link to where its evidence is
//! drawn, and the cause in one line. Every figure is a value of the job's typed answer, the
//! same the text and JSON reports print.

use super::super::words;
use super::esc::esc;
use crate::analysis::answer::JobAnswer;
use crate::analysis::job::JobReport;
use crate::present::text::plural;
use std::fmt::Write;

/// One figure: its name (also `data-fig`), the number or word, what it counts, where its
/// evidence is, and whether it is a problem.
struct Figure {
    name: &'static str,
    value: String,
    under: String,
    href: String,
    bad: bool,
}

pub use crate::present::text::grouped;

fn figures_of(a: &JobAnswer, k: usize, failed_at: &str) -> Vec<Figure> {
    let grid = format!("grid-{k}");
    let rows = format!("rows-{k}");
    let c = &a.complete;
    let mut out = Vec::new();
    out.push(Figure {
        name: "expected",
        value: a.expected.as_ref().map_or("?".into(), |e| grouped(e.cells)),
        under: match &a.expected {
            Some(e) => match e.declared {
                Some(d) if d != e.cells => {
                    format!("cells expected (the portal declared {})", grouped(d))
                }
                _ => "cells expected".into(),
            },
            None => "expected: no spec recorded".into(),
        },
        href: grid.clone(),
        bad: false,
    });
    out.push(Figure {
        name: "complete",
        value: if c.complete_seen {
            grouped(c.rows as u64)
        } else {
            "–".into()
        },
        under: if c.complete_seen {
            match c.seen {
                Some(o) if o.age_seconds > 0.0 => {
                    format!("rows in the complete list (seq {})", o.seq)
                }
                _ => "rows in the complete list".into(),
            }
        } else {
            "complete list: never read".into()
        },
        href: rows.clone(),
        bad: !c.complete_seen,
    });
    if let Some(v) = &a.default_view {
        out.push(Figure {
            name: "view",
            value: grouped(v.rows as u64),
            under: match v.complete_then {
                Some(n) => format!("rows in the default view (of {} then)", grouped(n as u64)),
                None => "rows in the default view".into(),
            },
            href: rows,
            bad: v.truncated == Some(true),
        });
    }
    if a.expected.is_none() {
        // Without a spec there are no cells: nothing covered, missing or run twice to count.
        for name in ["covered", "missing", "duplicated"] {
            out.push(Figure {
                name,
                value: "–".into(),
                under: format!("cells {name}: no spec recorded"),
                href: grid.clone(),
                bad: false,
            });
        }
    } else {
        cell_figures(a, &grid, &mut out);
    }
    let failed = a.failures.as_ref().map_or(0, |f| f.failed);
    out.push(Figure {
        name: "failed",
        value: grouped(failed as u64),
        under: format!(
            "of {} {} failed",
            grouped(c.rows as u64),
            if c.rows == 1 { "row" } else { "rows" }
        ),
        href: failed_at.to_string(),
        bad: failed > 0,
    });
    out
}

/// Covered, missing (or unknown) and duplicated cells, when the job has a spec.
fn cell_figures(a: &JobAnswer, grid: &str, out: &mut Vec<Figure>) {
    let c = &a.complete;
    out.push(Figure {
        name: "covered",
        value: grouped(c.covered as u64),
        under: "cells covered".into(),
        href: grid.to_string(),
        bad: false,
    });
    let (value, under, bad) = if c.complete_seen || a.unknown == 0 {
        (
            grouped(a.missing),
            format!(
                "{}{}",
                if !a.is_final {
                    "cells without a row so far"
                } else {
                    "cells missing"
                },
                if c.no_cell > 0 && a.missing > 0 {
                    format!(
                        " ({} without a cell may fill some)",
                        plural(c.no_cell as u64, "row", "rows")
                    )
                } else {
                    String::new()
                }
            ),
            a.missing > 0,
        )
    } else {
        (
            grouped(a.unknown),
            "cells unknown (no complete list)".to_string(),
            true,
        )
    };
    out.push(Figure {
        name: if c.complete_seen || a.unknown == 0 {
            "missing"
        } else {
            "unknown"
        },
        value,
        under,
        href: grid.to_string(),
        bad,
    });
    out.push(Figure {
        name: "duplicated",
        value: grouped(c.duplicated_cells as u64),
        under: format!(
            "cells run more than once ({})",
            plural(c.extra_runs as u64, "later run", "later runs")
        ),
        href: grid.to_string(),
        bad: c.duplicated_cells > 0,
    });
}

/// The figures row and the cause line of every job, at the top of the page.
pub fn figures(jobs: &[JobReport], st: &words::Style, out: &mut String) {
    for (k, j) in jobs.iter().enumerate() {
        let a = &j.answer;
        let failed_at = if j.history.failures.signatures.is_empty() {
            format!("waterfall-{k}")
        } else {
            format!("sigs-{k}")
        };
        let _ = write!(
            out,
            "<div class=\"figures\" id=\"figures-{k}\" data-job=\"{}\">",
            esc(&a.job)
        );
        if jobs.len() > 1 {
            let _ = write!(out, "<p class=\"fig-job\">Job {}</p>", esc(&a.job));
        }
        out.push_str("<div class=\"fig-row\">");
        for f in figures_of(a, k, &failed_at) {
            let _ = write!(
                out,
                "<a class=\"fig{}\" data-fig=\"{}\" href=\"#{}\"><b>{}</b><span>{}</span></a>",
                if f.bad { " bad" } else { "" },
                f.name,
                f.href,
                f.value,
                f.under
            );
        }
        let _ = write!(
            out,
            "</div><p class=\"cause\">{}</p></div>",
            super::esc::code_spans(&words::cause(a, st))
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        let g = super::grouped;
        assert_eq!(
            [g(0), g(999), g(1000), g(10008), g(123456), g(1234567)],
            ["0", "999", "1,000", "10,008", "123,456", "1,234,567"]
        );
    }
}
