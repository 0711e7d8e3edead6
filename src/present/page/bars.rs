//! The execution waterfall of a small job: one bar per execution, grouped by cell, the cell
//! named in aligned columns (region, model, question); later rows of a cell marked, bars of
//! the common failure duration outlined, near-instant ones as diamonds.

use super::axis::{GUTTER, Scale};
use super::esc::esc;
use super::lane::*;
use crate::analysis::lanes::{Bar, BarEnd, JobLanes};
use crate::duration::human;
use crate::present::text::{Ctx, plural};
use std::fmt::Write;

pub(super) fn cell_label(b: &Bar) -> String {
    match &b.cell {
        Some(c) => format!("{}/{}/{}", c.question_id, c.model_id, c.region),
        None => "(no cell)".to_string(),
    }
}

/// Row height of a bar: tall enough for a 10-unit label.
const ROW_H: f64 = 12.0;

/// The label columns of the gutter: (x, characters) of region, model and question, so that
/// cells read down aligned and the part that tells them apart is never cut off.
pub(super) const COLUMNS: [(f64, usize); 3] = [(6.0, 12), (76.0, 15), (160.0, 20)];

/// The execution lane's subtitle: how many, later rows, the common duration, the clock.
pub(super) fn lane_sub(job: &JobLanes) -> String {
    let dups = job.bars.iter().filter(|b| b.rank > 0).count();
    let mode_text = match job.duration_modes.first() {
        Some((secs, n)) => format!("; {n} failed after exactly {}", human(secs * 1_000_000)),
        None => String::new(),
    };
    let clock = match &job.clock {
        Some(k) if k.changed && !k.at_least => {
            "; on the recorder's clock, each row by the runner's offset at its polls (it changed)"
                .to_string()
        }
        Some(k) => format!(
            "; on the recorder's clock (the runner's: {})",
            crate::present::words::offset(k.offset_seconds, "it")
        ),
        None => String::new(),
    };
    format!(
        "{}, {} later rows of a cell{mode_text}{clock}",
        plural(job.bars.len() as u64, "execution", "executions"),
        dups
    )
}

/// One bar per execution, grouped by cell (at most `BARS_MAX` of them).
pub(super) fn waterfall(
    job: &JobLanes,
    j: usize,
    s: &Scale,
    ctx: Ctx,
    y0: f64,
    out: &mut String,
) -> f64 {
    let modes: Vec<i64> = job.duration_modes.iter().map(|m| m.0).collect();
    // A line for the columns' names when there are cells to name.
    let heads = if job.bars.iter().any(|b| b.cell.is_some()) {
        ROW_H
    } else {
        0.0
    };
    let h = (job.bars.len() as f64 * ROW_H).max(ROW_H) + 4.0 + heads;
    let y0 = lane_head(
        &format!("waterfall-{j}"),
        "Executions, by cell",
        &esc(&lane_sub(job)),
        y0,
        h.max(24.0),
        out,
    );
    if heads > 0.0 {
        for ((x, _), name) in COLUMNS.iter().zip(["region", "model", "question"]) {
            let _ = write!(
                out,
                r#"<text class="col-head" x="{x:.1}" y="{:.1}">{name}</text>"#,
                y0 + heads - 2.0
            );
        }
    }
    let y0 = y0 + heads;
    let look = BarLook {
        row_h: ROW_H,
        modes: &modes,
    };
    for (i, b) in job.bars.iter().enumerate() {
        draw_bar(b, y0 + 2.0 + i as f64 * look.row_h, &look, s, ctx, out);
    }
    y0 - heads + h.max(24.0) + LANE_GAP
}

/// A cell's name in the gutter's aligned columns: region, model, question.
fn cell_columns(b: &Bar, y: f64, out: &mut String) {
    let Some(c) = &b.cell else {
        let _ = write!(
            out,
            r#"<text class="col" clip-path="url(#cg)" x="{:.1}" y="{y:.1}">(no cell)</text>"#,
            COLUMNS[0].0
        );
        return;
    };
    for (k, ((x, n), v)) in COLUMNS
        .iter()
        .zip([&c.region, &c.model_id, &c.question_id])
        .enumerate()
    {
        let _ = write!(
            out,
            r#"<text class="col" clip-path="url(#c{k})" x="{x:.1}" y="{y:.1}">{}</text>"#,
            esc(&short(v, *n))
        );
    }
}

/// How every bar of a lane is drawn.
struct BarLook<'a> {
    row_h: f64,
    /// Durations (whole seconds) many failed rows share: bars of exactly one are outlined.
    modes: &'a [i64],
}

/// One execution's bar at height `y`: its cell's label or the mark of a later row, the bar
/// (a diamond when near-instant), its details on hover, arrows where the axis cuts it.
fn draw_bar(b: &Bar, y: f64, look: &BarLook, s: &Scale, ctx: Ctx, out: &mut String) {
    let (row_h, modes) = (look.row_h, look.modes);
    let cls = class_of(&b.status);
    // The cell's name on its first row; later rows are flagged as such.
    if b.rank == 0 {
        cell_columns(b, y + row_h - 3.0, out);
    } else {
        let _ = write!(
            out,
            r#"<g class="dup-mark"><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"/><text class="dup-text" x="{:.1}" y="{:.1}">row {} of the cell above</text><title>row {} of cell {}</title></g>"#,
            COLUMNS[1].0,
            GUTTER - 4.0 - COLUMNS[1].0,
            row_h - 1.0,
            GUTTER - 8.0,
            y + row_h - 3.0,
            b.rank + 1,
            b.rank + 1,
            esc(&cell_label(b))
        );
    }
    let (x1, x2) = (s.x(b.start_us), s.x(b.end_us));
    let dur = b.duration_us();
    let mode = b.end != BarEnd::StillRunning
        && cls == "failed"
        && modes.contains(&(dur / 1_000_000))
        && dur % 1_000_000 == 0;
    let instant = dur < 1_000_000 && b.end != BarEnd::StillRunning && !b.after_end();
    let mut classes = format!("bar st-{cls}");
    for (on, c) in [
        (mode, " mode"),
        (instant, " instant"),
        (b.end == BarEnd::StillRunning, " open"),
        (b.beside, " beside"),
        (b.rank > 0, " dup"),
    ] {
        if on {
            classes.push_str(c);
        }
    }
    let title = bar_title(b, ctx);
    if instant {
        // Near-instant: a diamond, so it does not vanish into a hairline.
        let cy = y + row_h / 2.0 - 0.5;
        let _ = write!(
            out,
            r#"<path class="{classes}" d="M{:.1},{cy:.1}l3.5,-3l3.5,3l-3.5,3z"><title>{title}</title></path>"#,
            x1 - 3.5
        );
    } else {
        let _ = write!(
            out,
            r#"<rect class="{classes}" x="{x1:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{title}</title></rect>"#,
            (x2 - x1).max(1.5),
            row_h - 2.0
        );
    }
    // Cut at an edge of the axis: an arrow says it goes on.
    if b.before_start {
        let _ = write!(
            out,
            r#"<path class="cut" d="M{:.1},{:.1}l-4,{:.1}l4,{:.1}z"/>"#,
            x1,
            y,
            (row_h - 2.0) / 2.0,
            (row_h - 2.0) / 2.0
        );
    }
    if b.after_end() {
        let _ = write!(
            out,
            r#"<path class="cut" d="M{:.1},{:.1}l4,{:.1}l-4,{:.1}z"/>"#,
            x2,
            y,
            (row_h - 2.0) / 2.0,
            (row_h - 2.0) / 2.0
        );
    }
}

/// A bar's details on hover: its execution, cell, status, times and how its end was found.
fn bar_title(b: &Bar, ctx: Ctx) -> String {
    let dur = b.duration_us();
    let title = format!(
        "execution {}{}: {} ({}), {} from {} to {}{}{}{}",
        b.id.map_or("without id".to_string(), |i| i.to_string()),
        if b.beside {
            " (kept beside the by-id list)"
        } else {
            ""
        },
        esc(&cell_label(b)),
        esc(&b.status),
        human(dur),
        ctx.time(b.real_start_us),
        ctx.time(b.real_end_us),
        match b.end {
            BarEnd::Completed => "",
            BarEnd::StillRunning => ", still not final at the last snapshot",
            BarEnd::SeenFinal => " (first seen so; no completed_at)",
            BarEnd::Vanished => ", then vanished from the list",
        },
        b.error_code
            .as_deref()
            .map_or(String::new(), |c| format!(", {}", esc(c))),
        if b.before_start {
            ", began before the recording"
        } else {
            ""
        }
    );
    let own = match (b.own_start_us, b.own_end_us) {
        (Some(a), Some(z)) => format!(
            " (the recorder's clock; the runner's own stamps: {} to {})",
            crate::present::text::clock(a),
            crate::present::text::clock(z)
        ),
        (Some(a), None) => format!(
            " (the recorder's clock; the runner's own stamp: from {})",
            crate::present::text::clock(a)
        ),
        _ => String::new(),
    };
    if b.dated_ahead {
        format!("{title}{own}; dated after the poll that first saw it, so drawn from that poll")
    } else {
        format!("{title}{own}")
    }
}
