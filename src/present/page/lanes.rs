//! The lanes under the shared axis, as one SVG: rows by status with the default view's count,
//! the execution waterfall, the router, one heartbeat per source; failure windows shaded
//! across all of them; markers as numbered flags (listed under the drawing).

use super::axis::{GUTTER, Scale, WIDTH, axis};
use super::esc::esc;
use crate::analysis::lanes::{Bar, BarEnd, JobLanes, Lanes, Mark, MarkerKind, RouterLanes};
use crate::analysis::router::ProviderState;
use crate::duration::human;
use crate::present::text::{Ctx, plural};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Above this many executions a job's waterfall is drawn as density bands per model and
/// region instead of one bar each.
pub const BARS_MAX: usize = 2_000;
/// Time buckets of a density band.
const BUCKETS: usize = 160;
const ROW_H: f64 = 7.0;
const ROWS_LANE_H: f64 = 130.0;
const HEALTH_H: f64 = 56.0;
const STATE_H: f64 = 12.0;
const SOURCE_H: f64 = 14.0;
const BAND_H: f64 = 22.0;
const LANE_GAP: f64 = 14.0;
const AXIS_TOP: f64 = 44.0;

/// Characters of a label that fit the gutter at its font size.
const LABEL_CHARS: usize = 32;

/// Status classes of the rows lane, bottom to top.
const CLASSES: [&str; 4] = ["completed", "failed", "running", "other"];

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

/// The SVG of every lane, and the markers it numbered.
pub fn lanes_svg(l: &Lanes, ctx: Ctx) -> (String, Flags) {
    let s = Scale::new(l.start_us, l.end_us);
    let mut body = String::new();
    let mut y = AXIS_TOP + 10.0;
    let mut flags: Flags = Vec::new();
    for (j, job) in l.jobs.iter().enumerate() {
        y = rows_lane(job, j, &s, ctx, y, &mut body);
        y = waterfall(job, j, &s, ctx, y, &mut body);
        for m in &job.markers {
            flags.push((0, m.at_us, marker_text(&job.job, &m.kind, l.jobs.len() > 1)));
        }
    }
    for m in &l.notes {
        flags.push((0, m.at_us, marker_text("", &m.kind, false)));
    }
    y = router_lane(&l.router, &s, ctx, y, &mut body);
    y = sources_lane(l, &s, ctx, y, &mut body);
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
    // Stretches nobody recorded.
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
    // Marked windows, then failure windows, behind everything, across every lane.
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
    axis(&s, ctx, AXIS_TOP, height, &mut out);
    out.push_str(&body);
    // Flags close together step sideways so that each stays visible.
    let mut last_x = f64::NEG_INFINITY;
    let mut shift = 0.0;
    for (n, at, text) in &flags {
        let x = s.x(*at);
        shift = if x - last_x < 15.0 { shift + 15.0 } else { 0.0 };
        last_x = x;
        let fx = x + shift;
        let _ = write!(
            out,
            r#"<g class="marker" id="marker-{n}"><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{height:.1}"/><circle cx="{fx:.1}" cy="{:.1}" r="7"/><text x="{fx:.1}" y="{:.1}">{n}</text><title>{}: {}</title></g>"#,
            AXIS_TOP,
            AXIS_TOP - 34.0,
            AXIS_TOP - 30.5,
            ctx.time(*at),
            text
        );
    }
    out.push_str("</svg>");
    (out, flags)
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
        MarkerKind::ClockSkew { ahead_seconds } => format!(
            "rows dated {} ahead of the recorder's clock{of}",
            human((*ahead_seconds * 1e6) as i64)
        ),
        MarkerKind::Note { text, marked } => format!(
            "note: {}{}",
            esc(text),
            if *marked { " (marked window)" } else { "" }
        ),
    }
}

/// Height of a lane's title line.
const HEAD: f64 = 18.0;

/// A lane's title line (title, then what it shows) over its background `h` tall; returns the
/// y where its content starts.
fn lane_head(id: &str, title: &str, sub: &str, y: f64, h: f64, out: &mut String) -> f64 {
    let _ = write!(
        out,
        r#"<g class="lane" id="{id}"><text class="lane-title" x="6" y="{:.1}">{title}<tspan class="lane-sub" dx="10">{sub}</tspan></text><rect class="lane-bg" x="{GUTTER}" y="{:.1}" width="{:.1}" height="{h:.1}"/></g>"#,
        y + 12.0,
        y + HEAD,
        Scale::plot_width(),
    );
    y + HEAD
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
    for (k, class) in CLASSES.iter().enumerate() {
        if cum
            .iter()
            .all(|c| c[k] == if k == 0 { 0 } else { c[k - 1] })
        {
            continue;
        }
        let mut d = String::new();
        // Top edge, left to right, as steps.
        for (i, c) in cum.iter().enumerate() {
            let next = xs.get(i + 1).copied().unwrap_or(x_end);
            let yt = yv(c[k]);
            let _ = write!(
                d,
                "{}{:.1},{yt:.1}H{next:.1}",
                if i == 0 { "M" } else { "L" },
                xs[i]
            );
        }
        // Bottom edge back.
        for (i, c) in cum.iter().enumerate().rev() {
            let next = xs.get(i + 1).copied().unwrap_or(x_end);
            let yb = yv(if k == 0 { 0 } else { c[k - 1] });
            let _ = write!(d, "L{next:.1},{yb:.1}H{:.1}", xs[i]);
        }
        d.push('Z');
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
    for (i, r) in job.rows.iter().enumerate() {
        let next = xs.get(i + 1).copied().unwrap_or(x_end);
        match r.default_rows {
            Some(v) => {
                let yy = yv(v as usize);
                let _ = write!(
                    d,
                    "{}{:.1},{yy:.1}H{next:.1}",
                    if pen_down { "L" } else { "M" },
                    xs[i]
                );
                pen_down = true;
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
    for (i, r) in job.rows.iter().enumerate() {
        // One hover target per snapshot where something changed, and the last.
        let changed = i == 0
            || i + 1 == job.rows.len()
            || job.rows[i - 1].rows != r.rows
            || job.rows[i - 1].by_status != r.by_status
            || job.rows[i - 1].default_last != r.default_last;
        if !changed {
            continue;
        }
        let next = xs.get(i + 1).copied().unwrap_or(x_end);
        let statuses: Vec<String> = r
            .by_status
            .iter()
            .map(|(k, n)| format!("{} {n}", esc(k)))
            .collect();
        let _ = write!(
            out,
            r#"<rect class="hover" x="{:.1}" y="{y0:.1}" width="{:.1}" height="{h:.1}"><title>snapshot {} at {}: {} ({}); default view {}</title></rect>"#,
            xs[i],
            (next - xs[i]).max(1.0),
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

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let head: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

fn cell_label(b: &Bar) -> String {
    match &b.cell {
        Some(c) => format!("{}/{}/{}", c.question_id, c.model_id, c.region),
        None => "(no cell)".to_string(),
    }
}

/// One bar per execution, grouped by cell; or density bands when there are too many.
fn waterfall(job: &JobLanes, j: usize, s: &Scale, ctx: Ctx, y0: f64, out: &mut String) -> f64 {
    let modes: Vec<i64> = job.duration_modes.iter().map(|m| m.0).collect();
    let dups = job.bars.iter().filter(|b| b.rank > 0).count();
    let mode_text = match job.duration_modes.first() {
        Some((secs, n)) => format!("; {n} failed after exactly {}", human(secs * 1_000_000)),
        None => String::new(),
    };
    let clock = if job.shift_us > 0 {
        format!(
            "; on the recorder's clock: the rows' own times moved back {} (the runner's clock ran ahead)",
            human(job.shift_us)
        )
    } else {
        String::new()
    };
    let sub = format!(
        "{}, {} later rows of a cell{mode_text}{clock}",
        plural(job.bars.len() as u64, "execution", "executions"),
        dups
    );
    if job.bars.len() > BARS_MAX {
        return density(job, j, s, ctx, y0, &sub, out);
    }
    // Rows tall enough for a label when there are few of them.
    let (row_h, labels) = match job.bars.len() {
        0..=150 => (11.0, true),
        151..=400 => (8.0, true),
        _ => (ROW_H, false),
    };
    let h = (job.bars.len() as f64 * row_h).max(row_h) + 4.0;
    let y0 = lane_head(
        &format!("waterfall-{j}"),
        "Executions, by cell",
        &esc(&sub),
        y0,
        h.max(24.0),
        out,
    );
    let look = BarLook {
        row_h,
        labels,
        modes: &modes,
        shift_us: job.shift_us,
    };
    for (i, b) in job.bars.iter().enumerate() {
        draw_bar(b, y0 + 2.0 + i as f64 * look.row_h, &look, s, ctx, out);
    }
    y0 + h.max(24.0) + LANE_GAP
}

/// How every bar of a lane is drawn.
struct BarLook<'a> {
    row_h: f64,
    /// Cell names on the left.
    labels: bool,
    /// Durations (whole seconds) many failed rows share: bars of exactly one are outlined.
    modes: &'a [i64],
    /// How far the rows' clock was moved back onto the recorder's.
    shift_us: i64,
}

/// One execution's bar at height `y`: its cell's label or the mark of a later row, the bar
/// (a diamond when near-instant), its details on hover, arrows where the axis cuts it.
fn draw_bar(b: &Bar, y: f64, look: &BarLook, s: &Scale, ctx: Ctx, out: &mut String) {
    let (row_h, labels, modes) = (look.row_h, look.labels, look.modes);
    let cls = class_of(&b.status);
    // The cell's name on its first row; later rows are flagged as such.
    if b.rank == 0 {
        if labels {
            let _ = write!(
                out,
                r#"<text class="cell-label" x="{:.1}" y="{:.1}">{}</text>"#,
                GUTTER - 4.0,
                y + row_h - 2.5,
                esc(&short(&cell_label(b), LABEL_CHARS))
            );
        }
    } else {
        let _ = write!(
            out,
            r#"<g class="dup-mark"><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"/><text class="dup-text" x="{:.1}" y="{:.1}">row {} of the cell above</text><title>row {} of cell {}</title></g>"#,
            GUTTER - 112.0,
            108.0,
            row_h - 1.0,
            GUTTER - 8.0,
            y + row_h - 2.5,
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
    let title = bar_title(b, look.shift_us, ctx);
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
fn bar_title(b: &Bar, shift_us: i64, ctx: Ctx) -> String {
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
    match (shift_us, b.dated_ahead) {
        (_, true) => {
            format!("{title}; dated after the poll that first saw it, so drawn from that poll")
        }
        (0, false) => title,
        (d, false) => format!(
            "{title} (the runner's timestamps moved back {} onto the recorder's clock)",
            human(d)
        ),
    }
}

/// Many executions: per model @ region, how many were in flight in each time bucket, stacked by
/// final status.
fn density(
    job: &JobLanes,
    j: usize,
    s: &Scale,
    ctx: Ctx,
    y0: f64,
    sub: &str,
    out: &mut String,
) -> f64 {
    let mut groups: BTreeMap<String, Vec<&Bar>> = BTreeMap::new();
    for b in &job.bars {
        let key = match &b.cell {
            Some(c) => format!("{} @ {}", c.model_id, c.region),
            None => "(no cell)".to_string(),
        };
        groups.entry(key).or_default().push(b);
    }
    let h = groups.len() as f64 * (BAND_H + 2.0) + 4.0;
    let y0 = lane_head(
        &format!("waterfall-{j}"),
        "Executions in flight",
        &format!("{} (density per model @ region)", esc(sub)),
        y0,
        h.max(24.0),
        out,
    );
    let span = (s.end_us - s.start_us).max(1) as f64;
    let bucket_w = Scale::plot_width() / BUCKETS as f64;
    for (g, (name, bars)) in groups.iter().enumerate() {
        let y = y0 + 2.0 + g as f64 * (BAND_H + 2.0);
        let mut counts = vec![[0u32; 4]; BUCKETS];
        for b in bars {
            let k = CLASSES
                .iter()
                .position(|c| *c == class_of(&b.status))
                .unwrap_or(3);
            let from = (((b.start_us - s.start_us) as f64 / span) * BUCKETS as f64) as usize;
            let to = (((b.end_us - s.start_us) as f64 / span) * BUCKETS as f64) as usize;
            for c in counts
                .iter_mut()
                .take(to.min(BUCKETS - 1) + 1)
                .skip(from.min(BUCKETS - 1))
            {
                c[k] += 1;
            }
        }
        let max = counts
            .iter()
            .map(|c| c.iter().sum::<u32>())
            .max()
            .unwrap_or(0)
            .max(1);
        let dups = bars.iter().filter(|b| b.rank > 0).count();
        let _ = write!(
            out,
            r#"<text class="cell-label" x="{:.1}" y="{:.1}">{}</text>"#,
            GUTTER - 4.0,
            y + BAND_H / 2.0 + 3.0,
            esc(&short(name, LABEL_CHARS))
        );
        for (i, c) in counts.iter().enumerate() {
            let total: u32 = c.iter().sum();
            if total == 0 {
                continue;
            }
            let x = s.x(s.start_us) + i as f64 * bucket_w;
            let mut base = y + BAND_H;
            for (k, class) in CLASSES.iter().enumerate() {
                if c[k] == 0 {
                    continue;
                }
                let hh = c[k] as f64 / max as f64 * BAND_H;
                base -= hh;
                let _ = write!(
                    out,
                    r#"<rect class="dens st-{class}" x="{x:.1}" y="{base:.1}" width="{:.1}" height="{hh:.1}"/>"#,
                    bucket_w + 0.2
                );
            }
        }
        let _ = write!(
            out,
            r#"<rect class="hover" x="{GUTTER}" y="{y:.1}" width="{:.1}" height="{BAND_H}"><title>{}: {} ({} later rows of a cell); at most {max} in flight at once; from {} to {}</title></rect>"#,
            Scale::plot_width(),
            esc(name),
            plural(bars.len() as u64, "execution", "executions"),
            dups,
            ctx.time(s.start_us),
            ctx.time(s.end_us)
        );
    }
    y0 + h.max(24.0) + LANE_GAP
}

fn state_class(st: ProviderState) -> &'static str {
    match st {
        ProviderState::CheckedHealthy => "checked_healthy",
        ProviderState::AssumedHealthy => "assumed_healthy",
        ProviderState::HealthyStale => "healthy_stale",
        ProviderState::CheckedUnhealthy => "checked_unhealthy",
        ProviderState::UnhealthyStale => "unhealthy_stale",
        ProviderState::ChecksFailing => "checks_failing",
        ProviderState::CheckRaised => "check_raised",
        ProviderState::Unknown => "unknown",
        ProviderState::Absent => "absent",
        ProviderState::NotSeen => "not_seen",
    }
}

pub fn state_words(st: ProviderState) -> &'static str {
    match st {
        ProviderState::CheckedHealthy => "checked healthy",
        ProviderState::AssumedHealthy => "assumed healthy, never checked",
        ProviderState::HealthyStale => "healthy, last check old",
        ProviderState::CheckedUnhealthy => "checked unhealthy",
        ProviderState::UnhealthyStale => "checked unhealthy, last check old",
        ProviderState::ChecksFailing => "checks failing, none ever completed",
        ProviderState::CheckRaised => "checks failing since a healthy check",
        ProviderState::Unknown => "health unknown",
        ProviderState::Absent => "absent",
        ProviderState::NotSeen => "not seen (the router did not answer)",
    }
}

/// Healthy / total as step lines, then one state timeline per provider.
fn router_lane(r: &RouterLanes, s: &Scale, ctx: Ctx, y0: f64, out: &mut String) -> f64 {
    if r.healthy.is_empty() && r.providers.is_empty() {
        let y = lane_head("router", "Router", "not recorded", y0, 20.0, out);
        return y + 20.0 + LANE_GAP;
    }
    let h = HEALTH_H + r.providers.len() as f64 * (STATE_H + 2.0) + 6.0;
    let max = r
        .healthy
        .iter()
        .filter_map(|p| p.2.max(p.1))
        .max()
        .unwrap_or(0)
        .max(1);
    let y0 = lane_head(
        "router",
        "Router",
        "providers healthy (green) / total (grey) per /health; each provider's state per /providers",
        y0,
        h,
        out,
    );
    // Counts out of range (a negative one from a broken router) stay inside the lane.
    let yv =
        |v: i64| y0 + HEALTH_H - 4.0 - (v.clamp(0, max) as f64 / max as f64) * (HEALTH_H - 12.0);
    let x_end = s.x(s.end_us);
    for (class, pick) in [
        (
            "total",
            (|p: &(i64, Option<i64>, Option<i64>)| p.2) as fn(&_) -> Option<i64>,
        ),
        ("healthy", |p| p.1),
    ] {
        let mut d = String::new();
        let mut pen = false;
        for (i, p) in r.healthy.iter().enumerate() {
            let next = r.healthy.get(i + 1).map_or(x_end, |n| s.x(n.0));
            match pick(p) {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1}H{next:.1}",
                        if pen { "L" } else { "M" },
                        s.x(p.0),
                        yv(v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        if !d.is_empty() {
            let _ = write!(out, r#"<path class="health {class}" d="{d}"/>"#);
        }
    }
    y_scale(out, max, yv(max), yv(0));
    for (i, p) in r.healthy.iter().enumerate() {
        let next = r.healthy.get(i + 1).map_or(x_end, |n| s.x(n.0));
        let x = s.x(p.0);
        let opt = |v: Option<i64>| v.map_or("?".to_string(), |v| v.to_string());
        let _ = write!(
            out,
            r#"<rect class="hover" x="{x:.1}" y="{y0:.1}" width="{:.1}" height="{HEALTH_H}"><title>{}: /health says {} of {} providers healthy</title></rect>"#,
            (next - x).max(1.0),
            ctx.time(p.0),
            opt(p.1),
            opt(p.2)
        );
    }
    for (k, p) in r.providers.iter().enumerate() {
        let y = y0 + HEALTH_H + k as f64 * (STATE_H + 2.0);
        let name = match &p.region {
            Some(r) => format!("{} ({r})", p.name),
            None => p.name.clone(),
        };
        let _ = write!(
            out,
            r#"<text class="cell-label" x="{:.1}" y="{:.1}">{}</text>"#,
            GUTTER - 4.0,
            y + STATE_H - 2.0,
            esc(&short(&name, LABEL_CHARS))
        );
        for (from, to, st) in &p.spans {
            let (x1, x2) = (s.x(*from), s.x(*to));
            let _ = write!(
                out,
                r#"<rect class="pstate ps-{}" x="{x1:.1}" y="{y:.1}" width="{:.1}" height="{STATE_H}"><title>{}: {} from {} to {}</title></rect>"#,
                state_class(*st),
                (x2 - x1).max(1.0),
                esc(&p.name),
                state_words(*st),
                ctx.time(*from),
                ctx.time(*to)
            );
        }
    }
    y0 + h + LANE_GAP
}

fn mark_class(m: Mark) -> &'static str {
    match m {
        Mark::Ok => "ok",
        Mark::Answered => "answered",
        Mark::RateLimited => "rate-limited",
        Mark::HttpError => "http-error",
        Mark::Timeout => "timeout",
        Mark::Refused => "refused",
        Mark::Transport => "transport",
        Mark::Unparsable => "unparsable",
        Mark::NotSent => "not-sent",
    }
}

pub fn mark_css_class(m: Mark) -> &'static str {
    mark_class(m)
}

/// One heartbeat per source (per job for the runner's job requests): a mark per request.
fn sources_lane(l: &Lanes, s: &Scale, ctx: Ctx, y0: f64, out: &mut String) -> f64 {
    let h = l.sources.len() as f64 * (SOURCE_H + 2.0) + 4.0;
    let y0 = lane_head(
        "fetches",
        "Requests",
        "one mark per request, by source",
        y0,
        h.max(20.0),
        out,
    );
    let many_jobs = l.jobs.len() > 1;
    for (k, src) in l.sources.iter().enumerate() {
        let y = y0 + 2.0 + k as f64 * (SOURCE_H + 2.0);
        let name = match (&src.job, many_jobs) {
            (Some(j), true) => format!("{} ({})", src.source, short(j, 12)),
            _ => src.source.to_string(),
        };
        let _ = write!(
            out,
            r#"<text class="cell-label" x="{:.1}" y="{:.1}">{}</text>"#,
            GUTTER - 4.0,
            y + SOURCE_H - 3.0,
            esc(&name)
        );
        // Failures drawn last, over the oks of the same instant. Alike marks closer than a
        // mark's width are one mark (a day of requests stays a few thousand marks).
        let mut marks: Vec<&(i64, Mark, crate::analysis::FetchKind)> = src.marks.iter().collect();
        marks.sort_by_key(|m| (m.1 != Mark::Ok, m.1, m.0));
        let mut k = 0;
        while k < marks.len() {
            let (t, m, kind) = marks[k];
            let mut end = k;
            while end + 1 < marks.len()
                && marks[end + 1].1 == *m
                && marks[end + 1].2 == *kind
                && s.x(marks[end + 1].0) - s.x(marks[end].0) < 2.2
            {
                end += 1;
            }
            let (x1, x2) = (s.x(*t), s.x(marks[end].0));
            let title = if end == k {
                format!(
                    "{} {}: {}",
                    ctx.time(*t),
                    esc(src.source),
                    esc(&kind.word())
                )
            } else {
                format!(
                    "{} to {}: {} requests of {}: {}",
                    ctx.time(*t),
                    ctx.time(marks[end].0),
                    end - k + 1,
                    esc(src.source),
                    esc(&kind.word())
                )
            };
            let _ = write!(
                out,
                r#"<rect class="hb hb-{}" data-n="{}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{SOURCE_H}"><title>{title}</title></rect>"#,
                mark_class(*m),
                end - k + 1,
                x1 - 1.1,
                x2 - x1 + 2.2
            );
            k = end + 1;
        }
    }
    y0 + h.max(20.0) + LANE_GAP
}

/// The scale labels of a lane: its top value and 0, left of the plot.
fn y_scale(out: &mut String, max: impl std::fmt::Display, y_max: f64, y_zero: f64) {
    let _ = write!(
        out,
        r#"<text class="y-label" x="{:.1}" y="{:.1}">{max}</text><text class="y-label" x="{:.1}" y="{:.1}">0</text>"#,
        GUTTER - 4.0,
        y_max + 4.0,
        GUTTER - 4.0,
        y_zero
    );
}
