//! The lanes under the shared axis, as one SVG: rows by status with the default view's count,
//! the executions (bars for a small job, density bands for a big one), the router, one strip
//! per source; failure windows shaded across all of them; markers as numbered flags (listed
//! under the drawing). The drawing keeps its width: on a narrow screen its frame scrolls.

use super::axis::{GUTTER, Scale, WIDTH, axis};
use super::esc::esc;
use super::lane::*;
use crate::analysis::lanes::{JobLanes, Lanes, MarkerKind};
use crate::present::text::{Ctx, plural};
use std::fmt::Write;

/// Above this many executions a job's executions are drawn as density bands instead of one
/// bar each: a lane of bars stays under ~700 px.
pub const BARS_MAX: usize = 60;

/// The SVG of every lane, and the markers it numbered.
pub fn lanes_svg(l: &Lanes, ctx: Ctx) -> (String, Flags) {
    let s = Scale::new(l.start_us, l.end_us);
    let mut body = String::new();
    let mut y = AXIS_TOP + 10.0;
    let mut flags: Flags = Vec::new();
    for (j, job) in l.jobs.iter().enumerate() {
        y = rows_lane(job, j, &s, ctx, y, &mut body);
        y = if job.bars.len() > BARS_MAX {
            super::density::density(job, j, &s, ctx, y, &mut body)
        } else {
            super::bars::waterfall(job, j, &s, ctx, y, &mut body)
        };
        for m in &job.markers {
            flags.push((0, m.at_us, marker_text(&job.job, &m.kind, l.jobs.len() > 1)));
        }
    }
    for m in &l.notes {
        flags.push((0, m.at_us, marker_text("", &m.kind, false)));
    }
    y = super::router_lane::router_lane(&l.router, &s, ctx, y, &mut body);
    y = super::sources::sources_lane(l, &s, ctx, y, &mut body);
    let height = y + 6.0;
    flags.sort_by_key(|f| f.1);
    for (k, f) in flags.iter_mut().enumerate() {
        f.0 = k + 1;
    }
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        r#"<svg class="lanes" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="Lanes on one time axis" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(
        out,
        r##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9e9e9e" stroke-width="2"/></pattern><pattern id="hatch-warn" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff3c4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#f9a825" stroke-width="2"/></pattern><pattern id="hatch-grey" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bdbdbd" stroke-width="2"/></pattern></defs>"##
    );
    // Labels stay in their column: the gutter, and region, model, question within it.
    let cols = super::bars::COLUMNS;
    let _ = write!(
        out,
        r#"<defs><clipPath id="cg"><rect x="0" y="0" width="{:.1}" height="{height:.0}"/></clipPath><clipPath id="c0"><rect x="0" y="0" width="{:.1}" height="{height:.0}"/></clipPath><clipPath id="c1"><rect x="0" y="0" width="{:.1}" height="{height:.0}"/></clipPath><clipPath id="c2"><rect x="0" y="0" width="{:.1}" height="{height:.0}"/></clipPath></defs>"#,
        GUTTER - 4.0,
        cols[1].0 - 4.0,
        cols[2].0 - 4.0,
        GUTTER - 4.0,
    );
    out.push_str(r#"<g id="lanes-all">"#);
    bands(l, &s, ctx, height, &mut out);
    axis(&s, ctx, AXIS_TOP, height, &mut out);
    out.push_str(&body);
    flags_svg(&flags, &s, ctx, height, &mut out);
    out.push_str("</g></svg>");
    // The label column again, kept in place while a narrow screen scrolls the drawing: the
    // same drawing (`use`), cut to the gutter, over an opaque background.
    let gutter = format!(
        r##"<svg class="gutter" viewBox="0 0 {GUTTER} {height:.0}" width="{GUTTER}" height="{height:.0}" aria-hidden="true"><rect width="{GUTTER}" height="{height:.0}" fill="#fff"/><use href="#lanes-all"/></svg>"##
    );
    (
        format!(r#"<div class="lanes-row">{gutter}{out}</div>"#),
        flags,
    )
}

/// Stretches nobody recorded, marked windows, then failure windows: behind everything,
/// across every lane.
fn bands(l: &Lanes, s: &Scale, ctx: Ctx, height: f64, out: &mut String) {
    for (from, to) in &l.unrecorded {
        let (x1, x2) = (s.x(*from), s.x(*to));
        let _ = write!(
            out,
            r#"<rect class="band norec" data-from="{from}" data-to="{to}" x="{x1:.1}" y="{AXIS_TOP:.1}" width="{:.1}" height="{:.1}"><title>not recorded from {} to {}: the lanes hold the last state seen before</title></rect>"#,
            (x2 - x1).max(2.0),
            height - AXIS_TOP,
            ctx.time(*from),
            ctx.time(*to)
        );
    }
    for (from, to) in &l.marks {
        let (x1, x2) = (s.x(*from), s.x(*to));
        let _ = write!(
            out,
            r#"<rect class="band mark" x="{x1:.1}" y="{AXIS_TOP:.1}" width="{:.1}" height="{:.1}"><title>marked window, kept by retention: {} to {}</title></rect>"#,
            (x2 - x1).max(2.0),
            height - AXIS_TOP,
            ctx.time(*from),
            ctx.time(*to)
        );
    }
    for (class, bands) in [("outage", &l.outages), ("gap", &l.gaps)] {
        for b in bands {
            let (x1, x2) = (s.x(b.from_us), s.x(b.to_us));
            let what = if class == "outage" {
                "failed"
            } else {
                "not sent by the recorder"
            };
            let kinds: Vec<String> = b.kinds.iter().map(|k| k.word()).collect();
            let _ = write!(
                out,
                r#"<rect class="band {class}" data-from="{}" data-to="{}" x="{x1:.1}" y="{AXIS_TOP:.1}" width="{:.1}" height="{:.1}"><title>{}{} {what} from {} to {} ({}): {}</title></rect>"#,
                b.from_us,
                b.to_us,
                (x2 - x1).max(2.0),
                height - AXIS_TOP,
                esc(b.source),
                b.job
                    .as_deref()
                    .map_or(String::new(), |j| format!(" ({})", esc(j))),
                ctx.time(b.from_us),
                ctx.time(b.to_us),
                plural(b.snapshots as u64, "snapshot", "snapshots"),
                esc(&kinds.join(", "))
            );
        }
    }
}

/// The numbered flags above the axis, each with a line down through the lanes at its time (a
/// flag outside the recording's span has no line: its circle sits at the edge, drawn hollow).
fn flags_svg(flags: &Flags, s: &Scale, ctx: Ctx, height: f64, out: &mut String) {
    use super::flags::{RADIUS, place};
    let xs: Vec<f64> = flags
        .iter()
        .map(|(_, at, _)| {
            GUTTER
                + (*at - s.start_us) as f64 / (s.end_us - s.start_us) as f64 * Scale::plot_width()
        })
        .collect();
    for ((n, at, text), (fx, row)) in flags.iter().zip(place(&xs)) {
        let cy = 12.0 + row as f64 * 18.0;
        let inside = (s.start_us..=s.end_us).contains(at);
        let x = s.x(*at);
        let line = if inside {
            format!(
                r#"<polyline points="{fx:.1},{:.1} {x:.1},{AXIS_TOP:.1} {x:.1},{height:.1}"/>"#,
                cy + RADIUS
            )
        } else {
            String::new()
        };
        let outside = match *at {
            a if a > s.end_us => " (after the recording's end)",
            a if a < s.start_us => " (before the recording's start)",
            _ => "",
        };
        let _ = write!(
            out,
            r#"<g class="marker{}" id="marker-{n}">{line}<circle cx="{fx:.1}" cy="{cy:.1}" r="{RADIUS}"/><text x="{fx:.1}" y="{:.1}">{n}</text><title>{}{outside}: {}</title></g>"#,
            if inside { "" } else { " outside" },
            cy + 3.5,
            ctx.time(*at),
            text
        );
    }
}

fn marker_text(job: &str, k: &MarkerKind, name_job: bool) -> String {
    let of = if name_job {
        format!(" ({})", esc(job))
    } else {
        String::new()
    };
    match k {
        MarkerKind::JobStatus { to } => format!(
            "job status now {}{of}",
            esc(to.as_deref().unwrap_or("none"))
        ),
        MarkerKind::FirstTruncated { shown, complete } => format!(
            "the default view first shows fewer rows than the complete list: {shown} of {complete}{of}"
        ),
        MarkerKind::FirstDuplicate { cell } => format!(
            "first cell with a second row: {}/{}/{}{of}",
            esc(&cell.question_id),
            esc(&cell.model_id),
            esc(&cell.region)
        ),
        MarkerKind::ClockSkew {
            offset_seconds,
            changed,
        } => format!(
            "the runner's clock {}{}{of}",
            crate::present::words::offset(*offset_seconds, "the recorder's"),
            if *changed {
                " here, its furthest (the offset changed during the recording)"
            } else {
                ""
            }
        ),
        MarkerKind::Note { text, marked } => format!(
            "note: {}{}",
            esc(text),
            if *marked { " (marked window)" } else { "" }
        ),
    }
}

/// Rows by status, stacked steps, and the default view's count over them.
fn rows_lane(job: &JobLanes, j: usize, s: &Scale, ctx: Ctx, y0: f64, out: &mut String) -> f64 {
    let h = ROWS_LANE_H;
    let max = job
        .rows
        .iter()
        .map(|r| r.rows.max(r.default_rows.unwrap_or(0) as usize))
        .max()
        .unwrap_or(0)
        .max(1);
    let last = job.rows.last();
    let sub = match last {
        Some(r) => format!(
            "{} at the end{}",
            plural(r.rows as u64, "row", "rows"),
            r.default_last
                .map_or(String::new(), |(_, d)| format!(", default view {d}"))
        ),
        None => String::new(),
    };
    let y0 = lane_head(
        &format!("rows-{j}"),
        &format!("Rows by status, job {}", esc(&short(&job.job, 40))),
        &sub,
        y0,
        h,
        out,
    );
    let yv = |v: usize| y0 + h - (v as f64 / max as f64) * (h - 8.0);
    // Cumulative counts per class at each snapshot.
    let cum: Vec<[usize; 4]> = job
        .rows
        .iter()
        .map(|r| {
            let mut c = [0usize; 4];
            for (st, n) in &r.by_status {
                let k = CLASSES.iter().position(|x| *x == class_of(st)).unwrap_or(3);
                c[k] += n;
            }
            for k in 1..4 {
                c[k] += c[k - 1];
            }
            c
        })
        .collect();
    // Each snapshot's value holds until the next one.
    let xs: Vec<f64> = job.rows.iter().map(|r| s.x(r.taken_at.0)).collect();
    let x_end = s.x(s.end_us);
    let cols = columns(&xs);
    for (k, class) in CLASSES.iter().enumerate() {
        let below = |c: &[usize; 4]| if k == 0 { 0 } else { c[k - 1] };
        if cum.iter().all(|c| c[k] == below(c)) {
            continue;
        }
        let top: Vec<f64> = cols.iter().map(|&(_, i)| yv(cum[i][k])).collect();
        let bottom: Vec<f64> = cols.iter().map(|&(_, i)| yv(below(&cum[i]))).collect();
        let d = step_area(&cols, x_end, &top, &bottom);
        let _ = write!(out, r#"<path class="area st-{class}" d="{d}"/>"#);
    }
    default_view_line(job, &xs, x_end, &yv, out);
    // Scale labels and hover details per snapshot.
    y_scale(out, max, yv(max), yv(0));
    rows_hover(job, &xs, x_end, y0, h, ctx, out);
    y0 + h + LANE_GAP
}

/// The default view's rows: a dashed step over each poll that fetched it.
fn default_view_line(
    job: &JobLanes,
    xs: &[f64],
    x_end: f64,
    yv: &dyn Fn(usize) -> f64,
    out: &mut String,
) {
    // Default view: a dashed step over each poll that fetched it (a poll that did not is
    // left open: its view is not known there).
    let mut d = String::new();
    let mut pen_down = false;
    let mut last_y = f64::NAN;
    for (i, r) in job.rows.iter().enumerate() {
        let next = xs.get(i + 1).copied().unwrap_or(x_end);
        match r.default_rows {
            Some(v) => {
                let yy = yv(v as usize);
                if pen_down && yy == last_y {
                    let _ = write!(d, "H{next:.1}");
                } else {
                    let _ = write!(
                        d,
                        "{}{:.1},{yy:.1}H{next:.1}",
                        if pen_down { "L" } else { "M" },
                        xs[i]
                    );
                }
                pen_down = true;
                last_y = yy;
            }
            None => pen_down = false,
        }
    }
    if !d.is_empty() {
        let _ = write!(out, r#"<path class="default-view" d="{d}"/>"#);
        if let Some((_, v)) = job.rows.last().and_then(|r| r.default_last) {
            let _ = write!(
                out,
                r#"<text class="dv-label" x="{:.1}" y="{:.1}">default view: {v}</text>"#,
                x_end - 4.0,
                yv(v as usize) - 4.0
            );
        }
    }
}

/// One hover target per snapshot where something changed, and the last.
fn rows_hover(job: &JobLanes, xs: &[f64], x_end: f64, y0: f64, h: f64, ctx: Ctx, out: &mut String) {
    // Snapshots where something changed, and the last.
    let changed: Vec<usize> = (0..job.rows.len())
        .filter(|&i| {
            let r = &job.rows[i];
            i == 0
                || i + 1 == job.rows.len()
                || job.rows[i - 1].rows != r.rows
                || job.rows[i - 1].by_status != r.by_status
                || job.rows[i - 1].default_last != r.default_last
        })
        .collect();
    // One hover target per strip at least 4 units wide: it tells the last snapshot in it.
    let mut groups: Vec<(usize, usize, usize)> = Vec::new();
    for &i in &changed {
        match groups.last_mut() {
            Some(g) if xs[i] - xs[g.0] < 4.0 => {
                g.1 = i;
                g.2 += 1;
            }
            _ => groups.push((i, i, 1)),
        }
    }
    for (k, &(first, last, n)) in groups.iter().enumerate() {
        let next = groups.get(k + 1).map_or(x_end, |g| xs[g.0]);
        let r = &job.rows[last];
        let statuses: Vec<String> = r
            .by_status
            .iter()
            .map(|(k, n)| format!("{} {n}", esc(k)))
            .collect();
        let strip = if n > 1 {
            format!(
                "{n} snapshots that changed, {} to {}; at the last, ",
                job.rows[first].seq, r.seq
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            r#"<rect class="hover" x="{:.1}" y="{y0:.1}" width="{:.1}" height="{h:.1}"><title>{strip}snapshot {} at {}: {} ({}); default view {}</title></rect>"#,
            xs[first],
            (next - xs[first]).max(1.0),
            r.seq,
            ctx.time(r.taken_at.0),
            plural(r.rows as u64, "row", "rows"),
            statuses.join(", "),
            match (r.default_rows, r.default_last) {
                (Some(d), _) => d.to_string(),
                (None, Some((seq, d))) =>
                    format!("not fetched in this poll (last: {d} at seq {seq})"),
                (None, None) => "not recorded".to_string(),
            }
        );
    }
}
