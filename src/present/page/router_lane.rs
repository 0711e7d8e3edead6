//! The router's lane: providers healthy / total per `/health` as step lines, then each
//! provider's state per `/providers` as a strip.

use super::axis::Scale;
use super::esc::esc;
use super::lane::*;
use crate::analysis::lanes::RouterLanes;
use crate::analysis::router::ProviderState;
use crate::present::text::Ctx;
use std::fmt::Write;

const HEALTH_H: f64 = 56.0;
const STATE_H: f64 = 12.0;
/// Providers drawn one strip each; more are counted under the last strip.
pub const PROVIDERS_MAX: usize = 40;
/// Characters of a provider's name (with its region) in the gutter.
const NAME_CHARS: usize = 44;

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
        ProviderState::CheckRaised => "checks failing since a completed check",
        ProviderState::Unknown => "health unknown",
        ProviderState::Absent => "absent",
        ProviderState::NotSeen => "not seen (the router did not answer)",
    }
}

/// Healthy / total as step lines, then one state timeline per provider.
pub(super) fn router_lane(r: &RouterLanes, s: &Scale, ctx: Ctx, y0: f64, out: &mut String) -> f64 {
    if r.healthy.is_empty() && r.providers.is_empty() {
        let y = lane_head("router", "Router", "not recorded", y0, 20.0, out);
        return y + 20.0 + LANE_GAP;
    }
    let shown = r.providers.len().min(PROVIDERS_MAX);
    let more = r.providers.len() - shown;
    let h = HEALTH_H + (shown + usize::from(more > 0)) as f64 * (STATE_H + 2.0) + 6.0;
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
        let said = if p.1.is_none() && p.2.is_none() {
            "the router did not answer /health: nothing known".to_string()
        } else {
            format!(
                "/health says {} of {} providers healthy",
                opt(p.1),
                opt(p.2)
            )
        };
        let _ = write!(
            out,
            r#"<rect class="hover" x="{x:.1}" y="{y0:.1}" width="{:.1}" height="{HEALTH_H}"><title>{}: {said}</title></rect>"#,
            (next - x).max(1.0),
            ctx.time(p.0),
        );
    }
    if more > 0 {
        let _ = write!(
            out,
            r#"<text class="cell-label" clip-path="url(#cg)" x="{:.1}" y="{:.1}">+{more} more providers (report --json lists all)</text>"#,
            LABEL_X,
            y0 + HEALTH_H + shown as f64 * (STATE_H + 2.0) + STATE_H - 2.0,
        );
    }
    for (k, p) in r.providers.iter().take(shown).enumerate() {
        let y = y0 + HEALTH_H + k as f64 * (STATE_H + 2.0);
        let name = match &p.region {
            Some(r) => format!("{} ({r})", p.name),
            None => p.name.clone(),
        };
        let _ = write!(
            out,
            r#"<text class="cell-label" clip-path="url(#cg)" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL_X,
            y + STATE_H - 2.0,
            esc(&short(&name, NAME_CHARS))
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
