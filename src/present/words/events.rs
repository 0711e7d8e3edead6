//! Timeline events, router changes and the extra endpoints' lines in words.

use super::super::text::{list, plural};
use super::style::{NAMED, Style, fetch_kind, opt_count};
use crate::analysis::matrix::Cell;
use crate::analysis::router::RouterChange;
use crate::analysis::timeline::EventKind;
use crate::duration::human;

pub fn change(c: &RouterChange, st: &Style) -> String {
    match c {
        RouterChange::HealthyCount {
            from_healthy,
            from_total,
            to_healthy,
            to_total,
        } => format!(
            "providers healthy {} of {} -> {} of {}",
            opt_count(*from_healthy),
            opt_count(*from_total),
            opt_count(*to_healthy),
            opt_count(*to_total)
        ),
        RouterChange::Regions { added, removed } => {
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!(
                    "region{} {} added",
                    if added.len() == 1 { "" } else { "s" },
                    added.iter().map(|r| st.e(r)).collect::<Vec<_>>().join(", ")
                ));
            }
            if !removed.is_empty() {
                parts.push(format!(
                    "region{} {} gone",
                    if removed.len() == 1 { "" } else { "s" },
                    removed
                        .iter()
                        .map(|r| st.e(r))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            format!("{} (regions with a healthy provider)", parts.join(", "))
        }
        RouterChange::Version { from, to } => format!(
            "version {} -> {}",
            st.opt(from.as_deref(), "?"),
            st.opt(to.as_deref(), "?")
        ),
        RouterChange::ProviderAppeared { provider } => {
            format!("provider {} appeared", st.e(provider))
        }
        RouterChange::ProviderGone { provider } => {
            format!("provider {} disappeared", st.e(provider))
        }
        RouterChange::ProviderHealth {
            provider,
            healthy,
            checked,
        } => format!(
            "provider {} turned {}{}",
            st.e(provider),
            match healthy {
                Some(true) => "healthy",
                Some(false) => "unhealthy",
                None => "of unknown health",
            },
            match (checked, healthy) {
                (true, _) => "",
                (false, Some(false)) =>
                    " without a new check stamp: its check raised (refused or timed out)",
                (false, _) => " (no new check recorded)",
            }
        ),
    }
}

pub fn event(k: &EventKind, job: Option<&str>, st: &Style) -> String {
    let cell = |c: &Option<Cell>| c.as_ref().map_or("(no cell)".into(), |c| st.cell(c));
    let quoted = |s: Option<&str>| match s {
        None => "-".to_string(),
        Some("") => "\"\"".to_string(),
        Some(s) => st.e(s),
    };
    match k {
        EventKind::FetchFailed { source, now, was } => match was {
            None => format!("{source} failed: {}", fetch_kind(now)),
            Some(_) => format!("{source} still failing, now: {}", fetch_kind(now)),
        },
        EventKind::FetchNotSent { source, now } => format!(
            "{source} not sent: {} (a gap of the recorder, not a failure of the source)",
            fetch_kind(now)
        ),
        EventKind::FetchRecovered { source, was } => {
            format!("{source} recovered (was: {})", fetch_kind(was))
        }
        EventKind::JobStatus { from, to } => match from {
            Some(f) => format!(
                "job {} status {} -> {}",
                st.opt(job, "?"),
                st.ctx.status(&st.e(f)),
                st.ctx.status(&st.opt(to.as_deref(), "?"))
            ),
            None => format!(
                "job {} status {}",
                st.opt(job, "?"),
                st.ctx.status(&st.opt(to.as_deref(), "?"))
            ),
        },
        EventKind::ExecutionAppeared {
            execution_id,
            cell: c,
            status,
        } => format!(
            "execution {execution_id} appeared: {} {}",
            cell(c),
            st.ctx.status(&st.e(status))
        ),
        EventKind::ExecutionChanged {
            execution_id,
            field,
            from,
            to,
            error_code,
            ..
        } => format!(
            "execution {execution_id} {field} {} -> {}{}",
            quoted(from.as_deref()),
            st.ctx.status(&quoted(to.as_deref())),
            error_code
                .as_deref()
                .map_or(String::new(), |c| format!(" ({})", st.e(c)))
        ),
        EventKind::ExecutionVanished {
            execution_id,
            cell: c,
        } => format!(
            "execution {execution_id} ({}) vanished from the complete list",
            cell(c)
        ),
        EventKind::CellDuplicated {
            cell: c,
            execution_ids,
        } => format!(
            "cell {} got a second row: {}",
            st.cell(c),
            list(execution_ids.iter().map(|i| i.to_string()), NAMED)
        ),
        EventKind::RowsStopped {
            rows,
            later_snapshots,
        } => format!(
            "job {}: rows stopped growing at {rows} (no new row in the {} after)",
            st.opt(job, "?"),
            plural(*later_snapshots as u64, "snapshot", "snapshots")
        ),
        EventKind::Router { change: c } => format!("router: {}", change(c, st)),
        EventKind::EndpointChanged { change: c } => endpoint_change(c, st),
        EventKind::Note { note } => format!(
            "note ({}): {}{}",
            st.ctx.time(note.at.0),
            st.e(&note.text),
            match note.mark_from {
                Some(f) => format!(" (marked from {})", st.ctx.time(f.0)),
                None => String::new(),
            }
        ),
    }
}

/// `router.debug_providers: providers[modal-eu-west].healthy true -> false, ... and 3 more`.
pub fn endpoint_change(c: &crate::analysis::endpoints::EndpointChange, st: &Style) -> String {
    let show = |v: &Option<String>| v.as_deref().map_or("(absent)".to_string(), |v| st.e(v));
    let parts: Vec<String> = c
        .changes
        .iter()
        .take(5)
        .map(|p| format!("{} {} -> {}", st.e(&p.path), show(&p.from), show(&p.to)))
        .collect();
    format!(
        "{}: {}{}",
        st.e(&c.endpoint.label()),
        parts.join(", "),
        if c.changed > parts.len() {
            format!(
                " and {} more",
                super::super::text::grouped((c.changed - parts.len()) as u64)
            )
        } else {
            String::new()
        }
    )
}

/// A queue endpoint over the recording: its largest depths, how often they changed, and
/// whether its counters went back (a restart).
pub fn queue_line(q: &crate::analysis::endpoints::QueueSeries, st: &Style) -> String {
    let m: Vec<String> = q
        .max
        .iter()
        .filter(|(_, v)| **v != 0.0)
        .map(|(k, v)| format!("{} {v}", st.e(k)))
        .collect();
    format!(
        "Queue depth ({}): {} (the endpoints table counts changes of any field of the answer, its counters too){}.",
        q.source,
        match (m.is_empty(), q.changes) {
            (true, _) => "every queue stayed at depth 0 over the recording".to_string(),
            (false, 0) => format!("at most {}; the depths never changed", m.join(", ")),
            (false, n) => format!(
                "at most {}; the depths changed {} over the recording",
                m.join(", "),
                plural(n as u64, "time", "times")
            ),
        },
        match q.emptied.first() {
            Some((_, _, t)) if q.source == "router.queue_status" => format!(
                "; its queues went from some to none at {} (nothing drains them but a restart: its queue workers are disabled)",
                st.at(t.0)
            ),
            _ => String::new(),
        }
    )
}

/// One provider's completed checks as the polls saw them (a lower bound).
pub fn checks_line(c: &crate::analysis::endpoints::ProviderChecks, st: &Style) -> String {
    format!(
        "Health checks of {} seen by the polls (each answer shows only the last one): {}{}.",
        st.e(&c.provider),
        match c.checks.len() {
            0 => "none completed".to_string(),
            n => format!("at least {n}"),
        },
        c.longest_gap_seconds.map_or(String::new(), |g| format!(
            "; the longest stretch between two seen, or from the last to the end, is {} (checks in between may have gone unseen)",
            human((g * 1e6) as i64)
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::endpoints::QueueSeries;
    use crate::present::text::Ctx;
    use std::collections::BTreeMap;

    fn series(max: &[(&str, f64)], changes: usize) -> QueueSeries {
        QueueSeries {
            source: "router.queue_status",
            points: Vec::new(),
            changes,
            emptied: Vec::new(),
            max: max
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// The queue line counts depths, and says the endpoints table counts something else.
    #[test]
    fn the_queue_line_says_what_it_counts() {
        let st = crate::present::render::text_style(Ctx::new(0, false));
        let empty = queue_line(&series(&[("regions.US.queue_size", 0.0)], 0), &st);
        assert!(empty.contains("every queue stayed at depth 0"), "{empty}");
        assert!(
            !empty.contains("every depth 0") && !empty.contains("0 changes"),
            "{empty}"
        );
        let busy = queue_line(&series(&[("main", 3.0)], 4), &st);
        assert!(
            busy.contains("at most main 3; the depths changed 4 times"),
            "{busy}"
        );
        assert!(busy.contains("counts changes of any field"), "{busy}");
        let flat = queue_line(&series(&[("main", 2.0)], 0), &st);
        assert!(flat.contains("the depths never changed"), "{flat}");
    }
}
