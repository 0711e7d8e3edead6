//! The requests lane: one strip per source (per job for the runner's job requests), a mark
//! per request by outcome; a source whose every request was ok is one thin line with its count.

use super::axis::Scale;
use super::esc::esc;
use super::lane::*;
use crate::analysis::lanes::{Lanes, Mark};
use crate::present::text::Ctx;
use std::fmt::Write;

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

/// Height of a source's strip with marks, and of a quiet one (every request ok).
const SOURCE_H: f64 = 14.0;
const QUIET_H: f64 = 10.0;

fn quiet(src: &crate::analysis::lanes::SourceLane) -> bool {
    src.marks.iter().all(|m| m.1 == Mark::Ok)
}

/// One strip per source (per job for the runner's job requests): a mark per request; a
/// source whose every request was ok is one thin line with its count.
pub(super) fn sources_lane(l: &Lanes, s: &Scale, ctx: Ctx, y0: f64, out: &mut String) -> f64 {
    let row = |src| if quiet(src) { QUIET_H } else { SOURCE_H } + 2.0;
    let h = l.sources.iter().map(row).sum::<f64>() + 4.0;
    let y0 = lane_head(
        "fetches",
        "Requests",
        "one mark per request, by source; a thin line: every request ok",
        y0,
        h.max(20.0),
        out,
    );
    let many_jobs = l.jobs.len() > 1;
    let mut y = y0 + 2.0;
    for src in &l.sources {
        let name = match (&src.job, many_jobs) {
            (Some(j), true) => format!("{} ({})", src.source, short(j, 12)),
            _ => src.source.to_string(),
        };
        if quiet(src) {
            quiet_strip(src, &name, y, s, ctx, out);
            y += QUIET_H + 2.0;
            continue;
        }
        let _ = write!(
            out,
            r#"<text class="cell-label" clip-path="url(#cg)" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL_X,
            y + SOURCE_H - 3.0,
            esc(&name)
        );
        marks(src, y, s, ctx, out);
        y += SOURCE_H + 2.0;
    }
    y0 + h.max(20.0) + LANE_GAP
}

/// A source whose every request was ok: a thin line from its first request to its last.
fn quiet_strip(
    src: &crate::analysis::lanes::SourceLane,
    name: &str,
    y: f64,
    s: &Scale,
    ctx: Ctx,
    out: &mut String,
) {
    let n = src.marks.len();
    let _ = write!(
        out,
        r#"<text class="cell-label" clip-path="url(#cg)" x="{:.1}" y="{:.1}">{} · {n} ok</text>"#,
        LABEL_X,
        y + QUIET_H - 1.5,
        esc(name)
    );
    let (Some(first), Some(last)) = (
        src.marks.iter().map(|m| m.0).min(),
        src.marks.iter().map(|m| m.0).max(),
    ) else {
        return;
    };
    let (x1, x2) = (s.x(first), s.x(last));
    let _ = write!(
        out,
        r#"<rect class="hb hb-ok quiet" data-n="{n}" x="{:.1}" y="{:.1}" width="{:.1}" height="3"><title>{}: {n} requests from {} to {}, every one ok</title></rect>"#,
        x1 - 1.0,
        y + QUIET_H / 2.0 - 1.5,
        x2 - x1 + 2.0,
        esc(src.source),
        ctx.time(first),
        ctx.time(last)
    );
}

/// A source's requests, a mark each. Failures drawn last, over the oks of the same instant;
/// alike marks closer than a mark's width are one mark (a day of requests stays a few
/// thousand marks).
fn marks(src: &crate::analysis::lanes::SourceLane, y: f64, s: &Scale, ctx: Ctx, out: &mut String) {
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
