//! The shared time axis: one scale for every lane, ticks on round wall-clock times labelled
//! with the time and the offset from the incident's start.

use super::super::text::{Ctx, clock};
use std::fmt::Write;

/// Width of the drawing, in SVG units (the page scales it to the window).
pub const WIDTH: f64 = 1240.0;
/// The label column at the left of every lane.
pub const GUTTER: f64 = 280.0;
const RIGHT: f64 = 16.0;

#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub start_us: i64,
    pub end_us: i64,
}

impl Scale {
    pub fn new(start_us: i64, end_us: i64) -> Scale {
        // A recording of one snapshot still gets an axis.
        Scale {
            start_us,
            end_us: end_us.max(start_us + 1_000_000),
        }
    }

    pub fn plot_width() -> f64 {
        WIDTH - GUTTER - RIGHT
    }

    /// x of a time, clamped to the plot.
    pub fn x(&self, us: i64) -> f64 {
        let f = (us - self.start_us) as f64 / (self.end_us - self.start_us) as f64;
        GUTTER + f.clamp(0.0, 1.0) * Self::plot_width()
    }

    /// Tick step: the smallest round step giving at most ten ticks.
    fn step_us(&self) -> i64 {
        const STEPS: [i64; 19] = [
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200,
            86_400, 604_800,
        ];
        let span = self.end_us - self.start_us;
        let s = STEPS
            .iter()
            .map(|s| s * 1_000_000)
            .find(|s| span / s <= 10)
            .unwrap_or(604_800_000_000);
        s.max(1)
    }

    /// Tick times: round multiples of the step within the axis.
    pub fn ticks(&self) -> Vec<i64> {
        let step = self.step_us();
        let first = self.start_us.div_euclid(step) * step + step;
        (0..)
            .map(|k| first + k * step)
            .take_while(|t| *t < self.end_us)
            .take(12)
            .collect()
    }
}

/// The axis at the top of the lanes (`height` tall, ticks reaching down to `bottom`).
pub fn axis(s: &Scale, ctx: Ctx, top: f64, bottom: f64, out: &mut String) {
    let _ = write!(out, r#"<g class="axis">"#);
    // The start: +0.
    let x0 = s.x(s.start_us);
    let _ = write!(
        out,
        r#"<line class="tick start" x1="{x0:.1}" y1="{top:.1}" x2="{x0:.1}" y2="{bottom:.1}"/><text class="tick-label" x="{x0:.1}" y="{:.1}">{}</text><text class="tick-offset" x="{x0:.1}" y="{:.1}">+0 (start)</text>"#,
        top - 18.0,
        clock(s.start_us),
        top - 5.0
    );
    let min_gap = 70.0;
    for t in s.ticks() {
        let x = s.x(t);
        // Clear of the start's label, and whole at the right edge.
        if x - x0 < min_gap || x > WIDTH - RIGHT - 32.0 {
            continue;
        }
        let _ = write!(
            out,
            r#"<line class="tick" x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"/><text class="tick-label" x="{x:.1}" y="{:.1}">{}</text><text class="tick-offset" x="{x:.1}" y="{:.1}">{}</text>"#,
            top - 18.0,
            clock(t),
            top - 5.0,
            ctx.offset(t)
        );
    }
    let _ = write!(out, "</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_few() {
        // 17 s: every 2 s.
        let s = Scale::new(1_000_500_000, 1_017_500_000);
        let t = s.ticks();
        assert_eq!(t[0], 1_002_000_000);
        assert!(t.windows(2).all(|w| w[1] - w[0] == 2_000_000));
        assert!(t.len() <= 10);
        // 83 min: every 10 min.
        let s = Scale::new(0, 83 * 60_000_000);
        assert_eq!(s.ticks().len(), 8);
        assert_eq!(s.x(0), GUTTER);
        assert_eq!(s.x(i64::MAX / 2), WIDTH - RIGHT);
        // One snapshot: an axis of a second.
        assert!(Scale::new(5, 5).x(5) == GUTTER);
    }
}
