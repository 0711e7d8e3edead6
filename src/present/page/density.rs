//! The execution lane of a big job: per group of cells (region and model), how many
//! executions were in flight in each time bucket, stacked by final status, each band with its
//! own scale; the lane's height is bounded whatever the job's size.

use super::axis::{GUTTER, Scale};
use super::bars::{COLUMNS, lane_sub};
use super::esc::esc;
use super::lane::*;
use crate::analysis::lanes::{Bar, JobLanes};
use crate::present::text::{Ctx, plural};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Time buckets of a band.
const BUCKETS: usize = 160;
/// Height of a band, and the most bands a lane draws (the rest are one band "all others").
const BAND_H: f64 = 24.0;
const BAND_GAP: f64 = 4.0;
pub const BANDS_MAX: usize = 24;

/// How bars are grouped into bands: by region and model, else by region, else by model,
/// whichever first gives at most `BANDS_MAX` bands.
fn groups(bars: &[Bar]) -> (BTreeMap<(String, String), Vec<&Bar>>, &'static str) {
    let by = |f: &dyn Fn(&Bar) -> (String, String)| {
        let mut g: BTreeMap<(String, String), Vec<&Bar>> = BTreeMap::new();
        for b in bars {
            g.entry(f(b)).or_default().push(b);
        }
        g
    };
    let none = || ("(no cell)".to_string(), String::new());
    let both = by(&|b| {
        b.cell
            .as_ref()
            .map_or_else(none, |c| (c.region.to_string(), c.model_id.to_string()))
    });
    if both.len() <= BANDS_MAX {
        return (both, "region and model");
    }
    let region = by(&|b| {
        b.cell
            .as_ref()
            .map_or_else(none, |c| (c.region.to_string(), String::new()))
    });
    if region.len() <= BANDS_MAX {
        return (region, "region");
    }
    let model = by(&|b| {
        b.cell
            .as_ref()
            .map_or_else(none, |c| (String::new(), c.model_id.to_string()))
    });
    if model.len() <= BANDS_MAX {
        return (model, "model");
    }
    // Too many either way: the biggest regions, then one band of all the others.
    let mut sizes: Vec<((String, String), Vec<&Bar>)> = region.into_iter().collect();
    sizes.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut out: BTreeMap<(String, String), Vec<&Bar>> = BTreeMap::new();
    let mut others = Vec::new();
    for (k, (key, v)) in sizes.into_iter().enumerate() {
        if k + 1 < BANDS_MAX {
            out.insert(key, v);
        } else {
            others.extend(v);
        }
    }
    out.insert(("~ all other regions".to_string(), String::new()), others);
    (out, "region (the biggest)")
}

/// Executions in flight per bucket and status class.
fn counts(bars: &[&Bar], s: &Scale) -> Vec<[u32; 4]> {
    let span = (s.end_us - s.start_us).max(1) as f64;
    let bucket = |us: i64| {
        ((((us - s.start_us) as f64 / span) * BUCKETS as f64).max(0.0) as usize).min(BUCKETS - 1)
    };
    let mut counts = vec![[0u32; 4]; BUCKETS];
    for b in bars {
        let k = CLASSES
            .iter()
            .position(|c| *c == class_of(&b.status))
            .unwrap_or(3);
        for c in &mut counts[bucket(b.start_us)..=bucket(b.end_us).max(bucket(b.start_us))] {
            c[k] += 1;
        }
    }
    counts
}

/// Density bands: one per group, its own scale (0 to the most in flight at once) at the left.
pub(super) fn density(
    job: &JobLanes,
    j: usize,
    s: &Scale,
    ctx: Ctx,
    y0: f64,
    out: &mut String,
) -> f64 {
    let (groups, by) = groups(&job.bars);
    let h = groups.len() as f64 * (BAND_H + BAND_GAP) + 4.0;
    let y0 = lane_head(
        &format!("waterfall-{j}"),
        "Executions in flight",
        &format!(
            "{} (in flight over time, a band per {by}, by final status)",
            esc(&lane_sub(job))
        ),
        y0,
        h.max(24.0),
        out,
    );
    let bucket_w = Scale::plot_width() / BUCKETS as f64;
    let x0 = s.x(s.start_us);
    // Bucket edges as drawing columns.
    let cols: Vec<(f64, usize)> = (0..BUCKETS)
        .map(|i| (x0 + i as f64 * bucket_w, i))
        .collect();
    for (g, ((first, second), bars)) in groups.iter().enumerate() {
        let y = y0 + 2.0 + g as f64 * (BAND_H + BAND_GAP);
        let counts = counts(bars, s);
        let max = counts
            .iter()
            .map(|c| c.iter().sum::<u32>())
            .max()
            .unwrap_or(0)
            .max(1);
        for (k, (x, v)) in COLUMNS.iter().zip([first, second]).enumerate() {
            if !v.is_empty() {
                let _ = write!(
                    out,
                    r#"<text class="col" clip-path="url(#c{k})" x="{:.1}" y="{:.1}">{}</text>"#,
                    x.0,
                    y + BAND_H / 2.0 + 4.0,
                    esc(&short(v, x.1))
                );
            }
        }
        let yv = |v: u32| y + BAND_H - v as f64 / max as f64 * BAND_H;
        let mut cum = vec![[0u32; 4]; BUCKETS];
        for (i, c) in counts.iter().enumerate() {
            let mut t = 0;
            for k in 0..4 {
                t += c[k];
                cum[i][k] = t;
            }
        }
        for (k, class) in CLASSES.iter().enumerate() {
            if counts.iter().all(|c| c[k] == 0) {
                continue;
            }
            let top: Vec<f64> = cum.iter().map(|c| yv(c[k])).collect();
            let bottom: Vec<f64> = cum
                .iter()
                .map(|c| yv(if k == 0 { 0 } else { c[k - 1] }))
                .collect();
            let d = step_area(&cols, x0 + BUCKETS as f64 * bucket_w, &top, &bottom);
            let _ = write!(out, r#"<path class="dens st-{class}" d="{d}"/>"#);
        }
        y_scale(out, max, y + 5.0, y + BAND_H);
        let dups = bars.iter().filter(|b| b.rank > 0).count();
        let _ = write!(
            out,
            r#"<rect class="hover dens-band" x="{GUTTER}" y="{y:.1}" width="{:.1}" height="{BAND_H}"><title>{}{}: {} ({} later rows of a cell); at most {max} in flight at once; from {} to {}</title></rect>"#,
            Scale::plot_width(),
            esc(first),
            if second.is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(second))
            },
            plural(bars.len() as u64, "execution", "executions"),
            dups,
            ctx.time(s.start_us),
            ctx.time(s.end_us)
        );
    }
    y0 + h.max(24.0) + LANE_GAP
}
