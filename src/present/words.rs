//! The sentences: findings, the answer paragraph, timeline events and router changes, rendered
//! from the analysis's typed values. Every value from the recording goes through the output's
//! escaper (`term` for text, `md` for Markdown, HTML escaping for pages).

use super::text::{Ctx, list, plural};
use crate::analysis::FetchKind;
use crate::analysis::answer::JobAnswer;
use crate::analysis::failures::SigKey;
use crate::analysis::findings::Finding;
use crate::analysis::matrix::Cell;
use crate::analysis::router::{ClockUsed, ProviderState, RateIssue, RestartSign, RouterChange};
use crate::analysis::timeline::EventKind;
use crate::duration::human;

/// How values are written into sentences.
pub struct Style<'a> {
    pub ctx: Ctx,
    pub esc: &'a dyn Fn(&str) -> String,
}

impl Style<'_> {
    pub fn e(&self, s: &str) -> String {
        (self.esc)(s)
    }

    fn opt(&self, s: Option<&str>, none: &str) -> String {
        self.e(s.unwrap_or(none))
    }

    fn at(&self, us: i64) -> String {
        self.ctx.time(us)
    }

    fn cell(&self, c: &Cell) -> String {
        format!(
            "{}/{}/{}",
            self.e(&c.question_id),
            self.e(&c.model_id),
            self.e(&c.region)
        )
    }
}

/// How many items a sentence names before "and N more".
pub const NAMED: usize = 6;

pub fn fetch_kind(k: &FetchKind) -> String {
    k.word()
}

pub fn state(s: ProviderState) -> &'static str {
    match s {
        ProviderState::CheckedHealthy => "checked healthy",
        ProviderState::AssumedHealthy => "assumed healthy, never checked",
        ProviderState::HealthyStale => "healthy, but not checked for a long time",
        ProviderState::CheckedUnhealthy => "checked unhealthy",
        ProviderState::UnhealthyStale => "checked unhealthy, and not checked again for a long time",
        ProviderState::ChecksFailing => "unhealthy, checks failing",
        ProviderState::CheckRaised => "unhealthy, checks failing",
        ProviderState::Unknown => "of unknown health",
        ProviderState::Absent => "not listed",
        ProviderState::NotSeen => "not seen (the router did not answer)",
    }
}

fn signature(k: &SigKey, st: &Style) -> String {
    let mut sig = vec![st.e(&k.status)];
    if let Some(c) = &k.error_code {
        sig.push(st.e(c));
    }
    if let Some(s) = &k.failure_stage {
        sig.push(format!("at {}", st.e(s)));
    }
    sig.push(if k.provider_empty {
        "provider_id empty".into()
    } else {
        "provider_id set".into()
    });
    match k.output_null {
        Some(true) => sig.push("output null".into()),
        Some(false) => sig.push("output with the error".into()),
        None => {}
    }
    sig.join(", ")
}

fn opt_count(v: Option<i64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

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
            format!(" and {} more", c.changed - parts.len())
        } else {
            String::new()
        }
    )
}

fn join_names(v: &[&str]) -> String {
    match v {
        [] => String::new(),
        [a] => a.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub fn finding(f: &Finding, st: &Style) -> String {
    use Finding::*;
    let j = |job: &str| st.e(job);
    match f {
        EmptyRecording => "The recording holds no snapshots.".into(),
        JobNotFound { job } => format!(
            "The runner answered 404 \"job not found\" for job {} at the end of the recording.",
            j(job)
        ),
        DefaultViewTruncated {
            job,
            shown,
            complete,
            page_size,
            at,
            first,
            ..
        } => format!(
            "The default job view of {} showed {shown} of {complete} rows at {}, when the complete list fetched in the same poll had {complete} (the runner returns the newest {page_size} by created_at unless asked for more){}.",
            j(job),
            st.at(at.0),
            first.map_or(String::new(), |f| format!(
                "; it first showed fewer than the list at {}: {} of {}",
                st.at(f.at.0),
                f.shown,
                f.complete
            ))
        ),
        Coverage {
            job,
            expected,
            declared,
            covered,
            missing,
            duplicated_cells,
            extra_runs,
            repeated_rows,
            rows,
        } => {
            let declared = match declared {
                Some(d) if d != expected => format!(" (the spec declared {d})"),
                Some(_) => " (as the spec declared)".into(),
                None => String::new(),
            };
            let mut s = format!(
                "Job {}: {} expected{declared}; {covered} covered, {missing} missing",
                j(job),
                plural(*expected, "cell", "cells")
            );
            if *duplicated_cells > 0 {
                s.push_str(&format!(
                    "; {} ran more than once ({})",
                    plural(*duplicated_cells as u64, "cell", "cells"),
                    plural(*extra_runs as u64, "extra run", "extra runs")
                ));
            }
            if *repeated_rows > 0 {
                s.push_str(&format!(
                    "; {} repeated an execution id within its cell (one execution sent twice, not a second run)",
                    plural(*repeated_rows as u64, "row", "rows")
                ));
            }
            s.push_str(&format!(
                "; {} in all.",
                plural(*rows as u64, "row", "rows")
            ));
            s
        }
        NoSpec { job, rows } => format!(
            "Job {}: no job spec was recorded, so no expected matrix; {} seen.",
            j(job),
            plural(*rows as u64, "row", "rows")
        ),
        MatrixCounted { job, cells, cap } => format!(
            "Job {}'s spec declares {cells} cells, more than {cap}: the matrix is counted, not listed (no table, no list of missing cells).",
            j(job)
        ),
        UnplannedRegions { job, regions } => format!(
            "{} {} of job {} had no provider at the router, so the cross-region path planned no rows there.",
            if regions.len() == 1 {
                "Region"
            } else {
                "Regions"
            },
            regions
                .iter()
                .map(|r| st.e(r))
                .collect::<Vec<_>>()
                .join(", "),
            j(job)
        ),
        MissingCells {
            job,
            count,
            cells,
            rows_stopped_at,
            rows_stopped_seq,
            active,
            as_of,
        } => {
            let named = if cells.is_empty() {
                String::new()
            } else {
                format!(": {}", list(cells.iter().map(|c| st.cell(c)), NAMED))
            };
            let stopped = match (rows_stopped_at, rows_stopped_seq, active) {
                (Some(t), Some(s), None) => {
                    format!("; rows stopped appearing at {} (seq {s})", st.at(t.0))
                }
                (Some(t), Some(s), Some(_)) => {
                    format!(
                        "; the last new row so far appeared at {} (seq {s})",
                        st.at(t.0)
                    )
                }
                _ => String::new(),
            };
            match active {
                None => format!(
                    "{} of job {} never got a row{named}{stopped}.",
                    plural(*count, "cell", "cells"),
                    j(job)
                ),
                Some(status) => format!(
                    "{} of job {} had no row so far, by {} (the job was still {}){named}{stopped}.",
                    plural(*count, "cell", "cells"),
                    j(job),
                    st.at(as_of.0),
                    st.e(status)
                ),
            }
        }
        UnexpectedRows {
            job,
            count,
            reasons,
        } => format!(
            "{} of job {} {} outside the spec: {}.",
            plural(*count as u64, "row", "rows"),
            j(job),
            if *count == 1 { "falls" } else { "fall" },
            list(reasons.iter().map(|r| st.e(r)), NAMED)
        ),
        RowsWithoutCell {
            job,
            count,
            reasons,
        } => format!(
            "{} of job {} {} to no cell ({}): early failures, typically.",
            plural(*count as u64, "row", "rows"),
            j(job),
            if *count == 1 { "belongs" } else { "belong" },
            list(reasons.iter().map(|r| st.e(r)), NAMED)
        ),
        RepeatedIds { job, ids } => format!(
            "Job {}: the complete list repeated ids within one body ({}): the runner sent those executions more than once, each row a copy, not a second run; every row is kept and counted, each execution once in the cells.",
            j(job),
            list(
                ids.iter()
                    .map(|r| format!("id {} in {} rows", r.id, r.rows)),
                NAMED
            )
        ),
        RowsWithoutId { job, count } => format!(
            "Job {}: {} had no usable id (missing, not a number, or out of range); kept and counted, with their cells.",
            j(job),
            plural(*count as u64, "row", "rows")
        ),
        ClockSkew { job, skew } => format!(
            "Rows of job {} are dated up to {} after the recorder saw them (execution {}, seq {}): the runner's clock and the recorder's disagree, so times by the rows' own timestamps and times by polling are on different clocks.",
            j(job),
            human((skew.ahead_seconds * 1e6) as i64),
            skew.execution_id,
            skew.seq
        ),
        FailureSignature {
            job,
            failed,
            rows,
            count,
            key,
            error_text,
            signatures,
        } => format!(
            "{failed} of {} of job {} failed; {count} share one signature: {}{}{}.",
            plural(*rows as u64, "row", "rows"),
            j(job),
            signature(key, st),
            error_text
                .as_deref()
                .map_or(String::new(), |t| format!(", error \"{}\"", st.e(t))),
            if *signatures > 1 {
                format!(" ({signatures} signatures in all)")
            } else {
                String::new()
            }
        ),
        ExactDuration {
            seconds,
            count,
            timeout_named,
            ..
        } => format!(
            "{count} of the failed rows ran exactly {} (completed_at - started_at): {}.",
            human(seconds * 1_000_000),
            if *timeout_named {
                "the mark of a client timeout"
            } else {
                "a duration this exact usually means a timeout somewhere on the path"
            }
        ),
        NearInstantFailures { ids, .. } => format!(
            "{} failed within a second of starting ({}): {} never reached a provider.",
            plural(ids.len() as u64, "row", "rows"),
            list(ids.iter().map(|i| i.to_string()), NAMED),
            if ids.len() == 1 { "it" } else { "they" }
        ),
        FailureSpan {
            first,
            last,
            spread_seconds,
            clusters,
            seen_first,
            seen_last,
            runner_ahead_seconds,
            ..
        } => {
            let seen = match (seen_first, seen_last) {
                (Some(a), Some(b)) => format!(
                    "; polling first saw a failure at {} and the last new one at {}{}",
                    st.at(a.0),
                    st.at(b.0),
                    if runner_ahead_seconds.is_some() {
                        " (the recorder's clock)"
                    } else {
                        ""
                    }
                ),
                _ => String::new(),
            };
            let clock = match runner_ahead_seconds {
                Some(a) => format!(
                    " (the runner's clock, up to {} ahead of the recorder's)",
                    human((a * 1e6) as i64)
                ),
                None => String::new(),
            };
            format!(
                "By the rows' own timestamps{clock}, failures ran from {} to {} ({}, {}){seen}.",
                st.at(first.0),
                st.at(last.0),
                human((spread_seconds * 1e6) as i64),
                plural(*clusters as u64, "cluster", "clusters")
            )
        }
        VanishedRows { job, ids } => format!(
            "{} of job {} vanished from the complete list during the recording (ids {}).",
            plural(ids.len() as u64, "row", "rows"),
            j(job),
            list(ids.iter().map(|i| i.to_string()), NAMED)
        ),
        StatusChanged { job, chain } => format!(
            "Job {} status went {}.",
            j(job),
            chain
                .iter()
                .map(|s| st.ctx.status(&st.opt(s.as_deref(), "?")))
                .collect::<Vec<_>>()
                .join(" -> ")
        ),
        StatusStayed {
            job,
            status,
            active,
        } => format!(
            "Job {} status stayed {} throughout the recording{}.",
            j(job),
            st.ctx.status(&st.opt(status.as_deref(), "?")),
            if *active {
                " so far (not a final status)"
            } else {
                ""
            }
        ),
        RouterAllHealthy {
            healthy,
            counts,
            polls_seen,
            polls,
            failed_rows,
        } => {
            let when = if polls_seen == polls {
                "throughout".to_string()
            } else {
                format!("in every poll it answered ({polls_seen} of {polls})")
            };
            let what = match counts.as_slice() {
                [_] | [] => format!("{healthy} of {healthy} providers healthy {when}"),
                many => format!(
                    "every provider healthy {when}: {}",
                    many.iter()
                        .map(|(h, t)| format!("{} of {}", opt_count(*h), opt_count(*t)))
                        .collect::<Vec<_>>()
                        .join(", then ")
                ),
            };
            format!(
                "The router reported {what}{}.",
                if *failed_rows > 0 {
                    format!(
                        ", while {} failed with router or provider errors (its health is checked only at start-up and after inference requests, so it can be stale)",
                        plural(*failed_rows as u64, "row", "rows")
                    )
                } else {
                    String::new()
                }
            )
        }
        FailedWhileAllHealthy { rows } => format!(
            "{} failed with router or provider errors while the router reported every provider healthy.",
            plural(*rows as u64, "row", "rows")
        ),
        RouterChanges { changes } => format!(
            "Router changes: {}.",
            list(
                changes.iter().map(|t| match t.since {
                    Some(since) => format!(
                        "{} between {} and {} (the router was not observed in between)",
                        change(&t.change, st),
                        st.at(since.0),
                        st.at(t.at.0)
                    ),
                    None => format!("{} at {}", change(&t.change, st), st.at(t.at.0)),
                }),
                NAMED
            )
        ),
        HealthyWithNone { window, throughout } => format!(
            "The router answered /health with status \"{}\" while none of its {} was healthy, {} ({}): its status is hard-coded and says nothing.",
            st.opt(window.status.as_deref(), "?"),
            plural(
                window.providers_total.unwrap_or(0) as u64,
                "provider",
                "providers"
            ),
            if *throughout {
                "throughout the recording".to_string()
            } else {
                format!("from {} to {}", st.at(window.from.0), st.at(window.to.0))
            },
            plural(window.snapshots as u64, "snapshot", "snapshots")
        ),
        HealthDisagrees { first, polls } => format!(
            "In {} /health and /providers disagreed: at {} /health said {} of {} healthy while /providers listed {} of {} (they are answered at different moments; a check finished in between).",
            plural(*polls as u64, "poll", "polls"),
            st.at(first.at.0),
            opt_count(first.health_healthy),
            opt_count(first.health_total),
            first.listed_healthy,
            first.listed_total
        ),
        ProviderState {
            providers,
            state: s,
            from,
            to,
            throughout,
            last_check,
            age_seconds,
            clock,
            ..
        } => {
            use crate::analysis::router::ProviderState as P;
            let when = if *throughout {
                "throughout the recording".to_string()
            } else {
                format!("from {} to {}", st.at(from.0), st.at(to.0))
            };
            let clock = if *clock == ClockUsed::Router {
                "router"
            } else {
                "recorder"
            };
            let age = match (s, age_seconds) {
                (P::HealthyStale | P::UnhealthyStale | P::CheckRaised, Some(a)) => format!(
                    "; the last completed check was {} old at the end (by the {clock}'s clock)",
                    human((a * 1e6) as i64)
                ),
                _ => String::new(),
            };
            let meaning = match s {
                P::AssumedHealthy => {
                    ": the router has not checked them, so their health is assumed, not measured"
                        .to_string()
                }
                P::ChecksFailing => ": no health check has ever completed".to_string(),
                P::CheckRaised => format!(
                    ": the last check that completed{} found {} healthy, and a later one raised (refused or timed out) without stamping its time, so checks have been failing since at least {}",
                    last_check.map_or(String::new(), |t| format!(" ({})", st.at(t.0))),
                    if providers.len() == 1 { "it" } else { "them" },
                    st.at(from.0)
                ),
                P::HealthyStale | P::UnhealthyStale => {
                    ": the router checks only at start-up and after inference requests".to_string()
                }
                _ => String::new(),
            };
            let names = list(
                providers
                    .iter()
                    .map(|(n, r)| format!("{} ({})", st.e(n), st.opt(r.as_deref(), "?"))),
                NAMED,
            );
            format!(
                "{} {names} {} {} {when}{meaning}{age}.",
                if providers.len() == 1 {
                    "Provider"
                } else {
                    "Providers"
                },
                if providers.len() == 1 { "was" } else { "were" },
                state(*s)
            )
        }
        ProviderRate { rate } => {
            let what = match rate.issue {
                RateIssue::LowWhileHealthy { success_rate } => format!(
                    "was called healthy with a success rate of {success_rate:.2} (most of its recent calls failed)"
                ),
                RateIssue::SuccessDrop { from, to } => {
                    format!("success rate fell from {from:.2} to {to:.2}")
                }
                RateIssue::LatencyJump { from, to } => {
                    format!("average latency rose from {from:.1} s to {to:.1} s")
                }
            };
            format!(
                "Provider {} {what} at {}.",
                st.e(&rate.provider),
                st.at(rate.at.0)
            )
        }
        RouterRestart { restart } => {
            let why: Vec<String> = restart
                .signs
                .iter()
                .map(|s| match s {
                    RestartSign::VersionChanged => format!(
                        "its version went {} -> {}",
                        st.opt(restart.version_from.as_deref(), "?"),
                        st.opt(restart.version_to.as_deref(), "?")
                    ),
                    RestartSign::ChecksReset => "every provider's last check went back".into(),
                    RestartSign::RatesReset => {
                        "every provider's success rate went back to 1.0".into()
                    }
                    RestartSign::ProvidersChanged => {
                        "its list of providers changed (it makes them only at start-up)".into()
                    }
                    RestartSign::AfterRefusal => {
                        "it refused connections, then answered with a changed provider list".into()
                    }
                    RestartSign::QueuesReset => {
                        "its queue counters went back (its queues start empty)".into()
                    }
                })
                .collect();
            format!(
                "The router restarted (or was redeployed) at {}: {}.",
                st.at(restart.at.0),
                why.join("; ")
            )
        }
        RowProblems {
            rows,
            bodies,
            first,
        } => format!(
            "{} in {} could not be read whole (`snapshots --json` lists them); the first: {} at seq {}, row {}: {}.",
            plural(*rows, "row", "rows"),
            plural(*bodies as u64, "body", "bodies"),
            first.source,
            first.seq,
            first.index,
            st.e(&first.reason)
        ),
        FetchOutage {
            sources,
            job,
            endpoint,
            from,
            to,
            snapshots,
            kinds,
            recovered_at,
            ..
        } => format!(
            "{}{}{} failed from {} to {} ({}; {}){}.",
            join_names(sources),
            endpoint
                .as_deref()
                .map_or(String::new(), |e| format!(" {}", st.e(e))),
            job.as_deref()
                .map_or(String::new(), |j| format!(" ({})", st.e(j))),
            st.at(from.0),
            st.at(to.0),
            plural(*snapshots as u64, "snapshot", "snapshots"),
            kinds.iter().map(fetch_kind).collect::<Vec<_>>().join(", "),
            recovered_at.map_or(" and had not recovered at the end".into(), |r| format!(
                ", recovered at {}",
                st.at(r.0)
            ))
        ),
        RecorderGap {
            source,
            job,
            from,
            to,
            snapshots,
            kinds,
            ..
        } => format!(
            "The recorder did not send {source}{} from {} to {} ({}; {}): a gap of the recording, not a failure of the source.",
            job.as_deref()
                .map_or(String::new(), |j| format!(" ({})", st.e(j))),
            st.at(from.0),
            st.at(to.0),
            plural(*snapshots as u64, "snapshot", "snapshots"),
            kinds.iter().map(fetch_kind).collect::<Vec<_>>().join(", ")
        ),
        OnlyDefaultView {
            job,
            visible,
            page_size,
            may_be_cut,
            expected,
            covered,
            unknown,
        } => format!(
            "Job {}: only the default view was seen, no complete list: {} visible covering {} of {} expected; {}{} unknown, not missing.",
            j(job),
            plural(*visible as u64, "row", "rows"),
            covered,
            plural(*expected, "cell", "cells"),
            if *may_be_cut {
                format!(
                    "the view is cut at {page_size} (the runner's default page, newest first), so rows beyond it cannot be seen: "
                )
            } else {
                String::new()
            },
            plural(*unknown, "cell", "cells")
        ),
        StuckJobs {
            max_count,
            jobs,
            first_seen,
            last_seen,
        } => format!(
            "The runner reported up to {} stuck (processing past its threshold){}: {}.",
            plural(*max_count, "job", "jobs"),
            match (first_seen, last_seen) {
                (Some(a), Some(b)) => format!(" from {} to {}", st.at(a.0), st.at(b.0)),
                _ => String::new(),
            },
            list(jobs.iter().map(|j| st.e(j)), NAMED)
        ),
    }
}

/// The opening paragraph of a job: the numbers of "why N instead of M" put together.
pub fn answer(a: &JobAnswer, st: &Style) -> String {
    let mut s = Vec::new();
    let job = st.e(&a.job);
    match &a.expected {
        Some(e) => s.push(format!(
            "Job {job} should have {} ({}{}{}).",
            plural(e.cells, "execution", "executions"),
            match e.path {
                Some("job-runner") => format!(
                    "the job-runner path: {} x the models serving each of {}",
                    plural(e.questions as u64, "question", "questions"),
                    plural(e.regions as u64, "region", "regions")
                ),
                Some("cross-region") => format!(
                    "the cross-region path: {} x {} x {}",
                    plural(e.questions as u64, "question", "questions"),
                    plural(e.models as u64, "model", "models"),
                    plural(e.regions as u64, "planned region", "planned regions")
                ),
                _ => "from its spec".into(),
            },
            match e.declared {
                Some(d) if d == e.cells => format!("; the portal declared {d} too"),
                Some(d) => format!("; the portal declared {d}"),
                None => String::new(),
            },
            ""
        )),
        None => s.push(format!(
            "Job {job}: no spec was recorded, so how many executions it should have is unknown."
        )),
    }
    let end_seq = a.complete.seen.map(|o| o.seq);
    if let Some(v) = &a.default_view {
        let statuses = match v.by_status.len() {
            0 => String::new(),
            1 if v.by_status.values().sum::<usize>() == v.rows as usize => {
                let (k, _) = v.by_status.iter().next().expect("one");
                format!(", all {}", st.ctx.status(&st.e(k)))
            }
            _ => format!(
                " ({})",
                v.by_status
                    .iter()
                    .map(|(k, n)| format!("{n} {}", st.ctx.status(&st.e(k))))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let why = if v.truncated {
            format!(
                ": the runner's default page, the newest {} by created_at",
                v.page_size
            )
        } else {
            String::new()
        };
        let dup = if v.duplicates_shown > 0 {
            format!(
                "; {} of them {} second runs of a cell (redeliveries)",
                v.duplicates_shown,
                if v.duplicates_shown == 1 {
                    "is a"
                } else {
                    "are"
                }
            )
        } else {
            String::new()
        };
        let when = match v.complete_then {
            // Described at the poll the complete list below was read in: nothing to add.
            Some(_) if Some(v.seen.seq) == end_seq && v.seen.age_seconds == 0.0 => String::new(),
            Some(c) => format!(
                " at {} (seq {}, the last poll that fetched it with the complete list, which had {} then)",
                st.at(v.seen.at.0),
                v.seen.seq,
                plural(c as u64, "row", "rows")
            ),
            None => format!(
                " at {} (seq {}); no poll fetched it together with the complete list, so the two are not compared",
                st.at(v.seen.at.0),
                v.seen.seq
            ),
        };
        s.push(format!(
            "The default view (?include=executions) showed {}{statuses}{when}{why}{dup}.",
            plural(v.rows as u64, "row", "rows")
        ));
    }
    let c = &a.complete;
    let mut parts = vec![format!(
        "{} covered",
        plural(c.covered as u64, "cell", "cells")
    )];
    if c.extra_runs > 0 {
        parts.push(format!(
            "{} of {} that ran more than once",
            plural(c.extra_runs as u64, "extra run", "extra runs"),
            plural(c.duplicated_cells as u64, "cell", "cells")
        ));
    }
    if c.repeated_rows > 0 {
        parts.push(format!(
            "{} repeating an execution id of {} cell (the runner sent one execution twice, not a second run)",
            plural(c.repeated_rows as u64, "row", "rows"),
            if c.repeated_rows == 1 { "its" } else { "their" }
        ));
    }
    if c.unexpected > 0 {
        parts.push(format!(
            "{} outside the spec",
            plural(c.unexpected as u64, "row", "rows")
        ));
    }
    if c.no_cell > 0 {
        parts.push(format!(
            "{} with no cell",
            plural(c.no_cell as u64, "row", "rows")
        ));
    }
    if c.complete_seen {
        let when = match c.seen {
            Some(o) if o.age_seconds > 0.0 => format!(
                ", as last read whole at {} (seq {}, {} before the last snapshot),",
                st.at(o.at.0),
                o.seq,
                human((o.age_seconds * 1e6) as i64)
            ),
            _ => String::new(),
        };
        let missing = match (&a.active, a.missing) {
            (Some(status), n) if n > 0 => format!(
                "{} without a row so far (the job was still {})",
                plural(n, "cell", "cells"),
                st.e(status)
            ),
            (_, n) => format!("{} missing", plural(n, "cell", "cells")),
        };
        s.push(format!(
            "The complete list{when} had {} = {}; {missing}.",
            plural(c.rows as u64, "row", "rows"),
            parts.join(" + ")
        ));
    } else {
        let cut = a.default_view.as_ref().filter(|v| v.rows >= v.page_size);
        s.push(format!(
            "No complete list was seen, only the default view: {} visible = {}; {}{} unknown, not missing.",
            plural(c.rows as u64, "row", "rows"),
            parts.join(" + "),
            match cut {
                Some(v) => format!(
                    "the view is cut at {} (the runner's default page), so rows beyond it cannot be seen: ",
                    v.page_size
                ),
                None => String::new(),
            },
            plural(a.unknown, "cell", "cells")
        ));
    }
    if let Some(f) = &a.failures {
        let clock = match f.runner_ahead_seconds {
            Some(ahead) => format!(
                " by the rows' own timestamps, on the runner's clock, which ran up to {} ahead of the recorder's{}",
                human((ahead * 1e6) as i64),
                match (f.seen_first, f.seen_last) {
                    (Some(x), Some(y)) => format!(
                        " (by the recorder's clock, polling first saw a failure at {} and the last new one at {})",
                        st.at(x.0),
                        st.at(y.0)
                    ),
                    _ => String::new(),
                }
            ),
            None => String::new(),
        };
        let when = match (f.first, f.last) {
            (Some(x), Some(y)) => format!(" between {} and {}{clock}", st.at(x.0), st.at(y.0)),
            _ => String::new(),
        };
        let error = match (&f.top.error_code, &f.error_text) {
            (Some(c), Some(t)) => format!(" with {} (\"{}\")", st.e(c), st.e(t)),
            (Some(c), None) => format!(" with {}", st.e(c)),
            (None, Some(t)) => format!(" with \"{}\"", st.e(t)),
            (None, None) => String::new(),
        };
        let same = match f.same_seconds {
            Some(secs) if f.same_count == f.failed => {
                format!(", each after exactly {}", human(secs * 1_000_000))
            }
            Some(secs) => format!(
                ", {} of them after exactly {}",
                f.same_count,
                human(secs * 1_000_000)
            ),
            None => String::new(),
        };
        let all = if f.failed == c.rows { "All " } else { "" };
        s.push(format!(
            "{all}{} failed{when}{error}{same}{}.",
            plural(f.failed as u64, "row", "rows"),
            if f.top_count < f.failed {
                format!(" ({} alike)", f.top_count)
            } else {
                String::new()
            }
        ));
    }
    let o = &a.output;
    if o.null_in_list + o.error_in_list > 0 {
        s.push(format!(
            "`output` is absent in the default view (it never carries one), not null; in the complete list {} carry the error in `output` and {} have a null `output`.",
            plural(o.error_in_list as u64, "row", "rows"),
            o.null_in_list
        ));
    }
    s.join(" ")
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
        "Queue depth ({}): at most {}; {} over the recording{}.",
        q.source,
        if m.is_empty() {
            "every depth 0".to_string()
        } else {
            m.join(", ")
        },
        plural(q.changes as u64, "change", "changes"),
        match q.resets.first() {
            Some((_, _, t)) => format!(
                "; its counters went back at {} (the queues start empty: a restart)",
                st.at(t.0)
            ),
            None => String::new(),
        }
    )
}

/// One provider's completed checks as the polls saw them (a lower bound).
pub fn checks_line(c: &crate::analysis::endpoints::ProviderChecks, st: &Style) -> String {
    format!(
        "Health checks of {} seen by the polls (each answer shows only the last one): at least {}{}.",
        st.e(&c.provider),
        c.checks.len(),
        c.longest_gap_seconds.map_or(String::new(), |g| format!(
            "; the longest stretch between two seen, or from the last to the end, is {} (checks in between may have gone unseen)",
            human((g * 1e6) as i64)
        ))
    )
}
