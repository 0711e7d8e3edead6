//! Where the numbered marker flags sit above the axis: at their time when there is room,
//! else in a second row, else stepped aside; never over each other, never off the canvas.

use super::axis::{GUTTER, WIDTH};

/// A flag's circle: its radius, the room it needs on its row, and the rows above the axis.
pub const RADIUS: f64 = 7.0;
const ROOM: f64 = 2.0 * RADIUS + 2.0;
pub const ROWS: usize = 2;
/// The first and last x a circle's centre may take.
pub const MIN_X: f64 = GUTTER + RADIUS + 1.0;
pub const MAX_X: f64 = WIDTH - RADIUS - 1.0;

/// Places flags at the given x (sorted ascending): (x of the circle, row). Each is at its x
/// when nothing is within `ROOM` on some row; else on the row where it moves least.
pub fn place(xs: &[f64]) -> Vec<(f64, usize)> {
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); ROWS];
    let mut out: Vec<(f64, usize)> = Vec::with_capacity(xs.len());
    for &x in xs {
        let want = x.clamp(MIN_X, MAX_X);
        // On each row, the first free x at or after `want`.
        let (row, at) = (0..ROWS)
            .map(|r| {
                let last = rows[r].last().map(|&k| out[k].0);
                (r, last.map_or(want, |l| want.max(l + ROOM)))
            })
            .min_by(|a, b| (a.1 - want).total_cmp(&(b.1 - want)).then(a.0.cmp(&b.0)))
            .expect("rows");
        rows[row].push(out.len());
        out.push((at, row));
    }
    // Flags pushed past the right edge step back, each row from its right end.
    for row in &rows {
        let mut limit = MAX_X;
        for &k in row.iter().rev() {
            if out[k].0 > limit {
                out[k].0 = limit;
            }
            limit = out[k].0 - ROOM;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apart(p: &[(f64, usize)]) -> bool {
        p.iter().enumerate().all(|(i, a)| {
            p.iter()
                .skip(i + 1)
                .all(|b| a.1 != b.1 || (a.0 - b.0).abs() >= ROOM - 1e-9)
        })
    }

    #[test]
    fn flags_at_their_time_when_apart() {
        let p = place(&[300.0, 500.0, 700.0]);
        assert_eq!(p, vec![(300.0, 0), (500.0, 0), (700.0, 0)]);
    }

    #[test]
    fn close_flags_take_the_second_row_then_step_aside() {
        let p = place(&[400.0, 401.0, 402.0]);
        assert_eq!(p[0], (400.0, 0));
        assert_eq!(p[1], (401.0, 1));
        assert_eq!(p[2].0, 400.0 + ROOM);
        assert!(apart(&p));
    }

    #[test]
    fn flags_past_the_edge_stay_on_the_canvas_apart() {
        let xs: Vec<f64> = (0..12).map(|k| WIDTH + k as f64).collect();
        let p = place(&xs);
        assert!(p.iter().all(|(x, _)| (MIN_X..=MAX_X).contains(x)), "{p:?}");
        assert!(apart(&p), "{p:?}");
        // Before the start too.
        let p = place(&[0.0, 1.0]);
        assert!(p.iter().all(|(x, _)| *x >= MIN_X));
    }
}
