//! What every lane of the drawing shares: its sizes, the status classes, a lane's title line,
//! drawing columns, stacked step areas, short labels and y scales. The lane kinds (rows, bars,
//! density, router, sources) use it; it uses none of them.

use super::axis::{GUTTER, Scale};
use std::fmt::Write;

pub(super) const ROWS_LANE_H: f64 = 130.0;

pub(super) const LANE_GAP: f64 = 14.0;

/// Where the plot starts: the flags' two rows and the axis labels above it.
pub(super) const AXIS_TOP: f64 = 66.0;

/// Where gutter labels start (left-aligned, clipped to the gutter: a long name loses its end,
/// never its start).
pub(super) const LABEL_X: f64 = 6.0;

/// Status classes of the rows lane, bottom to top.
pub(super) const CLASSES: [&str; 4] = ["completed", "failed", "running", "other"];

pub fn class_of(status: &str) -> &'static str {
    match status {
        "completed" => "completed",
        "failed" | "cancelled" | "canceled" | "error" => "failed",
        "running" | "processing" | "started" => "running",
        _ => "other",
    }
}

/// Numbered markers: (number, time, sentence).
pub type Flags = Vec<(usize, i64, String)>;

/// Height of a lane's title line.
const HEAD: f64 = 18.0;

/// A lane's title line (title, then what it shows) over its background `h` tall; returns the
/// y where its content starts.
pub(super) fn lane_head(id: &str, title: &str, sub: &str, y: f64, h: f64, out: &mut String) -> f64 {
    let _ = write!(
        out,
        r#"<g class="lane" id="{id}"><text class="lane-title" x="6" y="{:.1}">{title}<tspan class="lane-sub" dx="10">{sub}</tspan></text><rect class="lane-bg" x="{GUTTER}" y="{:.1}" width="{:.1}" height="{h:.1}"/></g>"#,
        y + 12.0,
        y + HEAD,
        Scale::plot_width(),
    );
    y + HEAD
}

/// The snapshots as drawing columns: (x, index of the snapshot whose value the column shows).
/// Snapshots closer than half a unit share a column showing the last of them, so a day of
/// snapshots costs a path of at most a few thousand points.
pub(super) fn columns(xs: &[f64]) -> Vec<(f64, usize)> {
    let mut out: Vec<(f64, usize)> = Vec::new();
    for (i, &x) in xs.iter().enumerate() {
        match out.last_mut() {
            Some(last) if x - last.0 < 0.5 => last.1 = i,
            _ => out.push((x, i)),
        }
    }
    out
}

/// A stacked step area between `top` and `bottom` (one value per column, held until the
/// next column and the last until `x_end`), written only where a value changes.
pub(super) fn step_area(cols: &[(f64, usize)], x_end: f64, top: &[f64], bottom: &[f64]) -> String {
    let mut d = String::new();
    let Some(&(x0, _)) = cols.first() else {
        return d;
    };
    let r = |v: f64| (v * 10.0).round() / 10.0;
    let _ = write!(d, "M{x0:.1},{:.1}", r(top[0]));
    for i in 1..cols.len() {
        if r(top[i]) != r(top[i - 1]) {
            let _ = write!(d, "H{:.1}V{:.1}", cols[i].0, r(top[i]));
        }
    }
    let last = cols.len() - 1;
    let _ = write!(d, "H{x_end:.1}V{:.1}", r(bottom[last]));
    for i in (1..cols.len()).rev() {
        if r(bottom[i - 1]) != r(bottom[i]) {
            let _ = write!(d, "H{:.1}V{:.1}", cols[i].0, r(bottom[i - 1]));
        }
    }
    let _ = write!(d, "H{x0:.1}Z");
    d
}

pub(super) fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let head: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

/// The scale labels of a lane: its top value and 0, left of the plot.
pub(super) fn y_scale(out: &mut String, max: impl std::fmt::Display, y_max: f64, y_zero: f64) {
    let _ = write!(
        out,
        r#"<text class="y-label" x="{:.1}" y="{:.1}">{max}</text><text class="y-label" x="{:.1}" y="{:.1}">0</text>"#,
        GUTTER - 4.0,
        y_max + 4.0,
        GUTTER - 4.0,
        y_zero
    );
}
