//! The incident at a glance, on the first screen under the figures: one strip on the lanes'
//! time axis with a row each for when rows failed, when the default view was cut, and when a
//! source failed. The lanes below hold the details.

use super::axis::{GUTTER, Scale, WIDTH, axis};
use super::esc::esc;
use super::lane::LABEL_X;
use crate::analysis::lanes::Lanes;
use crate::present::text::{Ctx, plural};
use std::fmt::Write;

/// Where the strip's rows begin (the axis labels above them), and each row's height.
const TOP: f64 = 34.0;
const ROW: f64 = 16.0;

/// Spans `(from, to, words)` of one row.
type Spans = Vec<(i64, i64, String)>;

/// When each job's failed rows grew (between the snapshot before and the one that saw them)
/// and when its default view showed fewer rows than its complete list.
fn job_spans(l: &Lanes, ctx: Ctx) -> (Spans, Spans) {
    let (mut failed, mut cut) = (Vec::new(), Vec::new());
    let many = l.jobs.len() > 1;
    for j in &l.jobs {
        let of = if many {
            format!(" ({})", esc(&j.job))
        } else {
            String::new()
        };
        for w in j.rows.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let f = |r: &crate::analysis::history::RowsAt| {
                r.by_status.get("failed").copied().unwrap_or(0)
            };
            if f(b) > f(a) {
                failed.push((
                    a.taken_at.0,
                    b.taken_at.0,
                    format!(
                        "{} more failed{} by {}",
                        plural((f(b) - f(a)) as u64, "row", "rows"),
                        of,
                        ctx.time(b.taken_at.0)
                    ),
                ));
            }
            // The view in force at b, compared with the list read whole at b.
            if let Some((_, shown)) = b.default_last
                && b.list_seen
                && (shown as usize) < b.rows
            {
                cut.push((
                    a.taken_at.0,
                    b.taken_at.0,
                    format!(
                        "the default view showed {shown} of {} rows{} at {}",
                        b.rows,
                        of,
                        ctx.time(b.taken_at.0)
                    ),
                ));
            }
        }
    }
    (merged(failed, ctx, "failed"), merged(cut, ctx, "cut"))
}

/// Adjacent spans (one ending where the next begins) as one, so that a long recording draws a
/// few rectangles, not one per snapshot; a merged span says its window.
fn merged(spans: Spans, ctx: Ctx, what: &str) -> Spans {
    let mut out: Vec<(i64, i64, String, usize)> = Vec::new();
    for (from, to, words) in spans {
        match out.last_mut() {
            Some(last) if last.1 >= from => {
                last.1 = last.1.max(to);
                last.3 += 1;
            }
            _ => out.push((from, to, words, 1)),
        }
    }
    out.into_iter()
        .map(|(from, to, words, n)| {
            let words = if n == 1 {
                words
            } else if what == "failed" {
                format!(
                    "rows failed in each of {n} polls from {} to {}",
                    ctx.time(from),
                    ctx.time(to)
                )
            } else {
                format!(
                    "the default view was cut in each of {n} polls from {} to {}",
                    ctx.time(from),
                    ctx.time(to)
                )
            };
            (from, to, words)
        })
        .collect()
}

/// The strip's SVG.
pub fn strip(l: &Lanes, ctx: Ctx, out: &mut String) {
    let s = Scale::new(l.start_us, l.end_us);
    let (failed, cut) = job_spans(l, ctx);
    let sources: Spans = l
        .outages
        .iter()
        .map(|b| {
            (
                b.from_us,
                b.to_us,
                format!(
                    "{} failed from {} to {}",
                    esc(b.source),
                    ctx.time(b.from_us),
                    ctx.time(b.to_us)
                ),
            )
        })
        .collect();
    let rows: [(&str, &str, &Spans); 3] = [
        ("rows failed", "failed", &failed),
        ("default view cut", "cut", &cut),
        ("a source failing", "outage", &sources),
    ];
    let height = TOP + ROW * rows.len() as f64 + 4.0;
    // As the lanes: on a narrow screen the strip scrolls and its labels stay in place.
    let _ = write!(
        out,
        r##"<div class="svg-wrap strip-wrap"><div class="lanes-row"><svg class="gutter" viewBox="0 0 {GUTTER} {height:.0}" width="{GUTTER}" height="{height:.0}" aria-hidden="true"><rect width="{GUTTER}" height="{height:.0}" fill="#fff"/><use href="#strip-all"/></svg><svg class="strip" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="The incident on one time axis: when rows failed, when the default view was cut, when a source failed (the lanes below have the details)"><g id="strip-all">"##
    );
    axis(&s, ctx, TOP, height - 2.0, out);
    for (i, (label, class, spans)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let _ = write!(
            out,
            r#"<text class="strip-label" x="{LABEL_X}" y="{:.1}">{label}{}</text><rect class="strip-bg" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/>"#,
            y + ROW - 4.0,
            if spans.is_empty() { ": none" } else { "" },
            s.x(l.start_us),
            y + 2.0,
            s.x(l.end_us) - s.x(l.start_us),
            ROW - 4.0
        );
        for (from, to, words) in spans.iter() {
            let (x1, x2) = (s.x(*from), s.x(*to));
            let _ = write!(
                out,
                r#"<rect class="strip-{class}" x="{x1:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{words}</title></rect>"#,
                y + 2.0,
                (x2 - x1).max(2.0),
                ROW - 4.0
            );
        }
    }
    out.push_str(r##"</g></svg></div></div><p class="meta strip-more"><a href="#lanes">On one time axis, in detail ↓</a></p>"##);
}
