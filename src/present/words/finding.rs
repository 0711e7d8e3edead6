//! Each finding's sentence, by theme.

use super::super::text::{grouped as g, list, plural};
use super::events::change;
use super::style::{NAMED, Style, fetch_kind, opt_count, signature, state};
use crate::analysis::findings::Finding;
use crate::analysis::router::{ClockUsed, RateIssue, RestartSign};
use crate::duration::human;

fn join_names(v: &[&str]) -> String {
    match v {
        [] => String::new(),
        [a] => a.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A finding's sentence: each kind's words in the function of its theme.
pub fn finding(f: &Finding, st: &Style) -> String {
    job_words(f, st)
        .or_else(|| cell_words(f, st))
        .or_else(|| failure_words(f, st))
        .or_else(|| status_words(f, st))
        .or_else(|| router_words(f, st))
        .or_else(|| provider_words(f, st))
        .or_else(|| fetch_words(f, st))
        .unwrap_or_default()
    // (`fetch_words` names every kind the others do not: a kind no function covers does not
    // compile.)
}

/// A job's spec, its default view and its coverage.
fn job_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    let j = |job: &str| st.e(job);
    Some(match f {
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
            "The default job view of {} showed {} of {} rows at {}, when the complete list fetched in the same poll had {} (the runner returns the newest {} by created_at unless asked for more){}.",
            j(job),
            g(*shown as u64),
            g(*complete as u64),
            st.at(at.0),
            g(*complete as u64),
            g(*page_size as u64),
            first.map_or(String::new(), |f| format!(
                "; it first showed fewer than the list at {}: {} of {}",
                st.at(f.at.0),
                g(f.shown as u64),
                g(f.complete as u64)
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
            active,
        } => {
            let declared = match declared {
                Some(d) if d != expected => format!(" (the spec declared {})", g(*d)),
                Some(_) => " (as the spec declared)".into(),
                None => String::new(),
            };
            let mut s = format!(
                "Job {}: {} expected{declared}; {} covered, {} missing{}",
                j(job),
                plural(*expected, "cell", "cells"),
                g(*covered as u64),
                g(*missing),
                match active {
                    Some(st) => format!(" so far (the job is {})", j(st)),
                    None => String::new(),
                }
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
            "Job {}'s spec declares {} cells, more than {}: the matrix is counted, not listed (no table, no list of missing cells).",
            j(job),
            g(*cells),
            g(*cap)
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
        _ => return None,
    })
}

/// Cells without a row (or unknown), rows outside the spec or without an id, the two clocks.
fn cell_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    let j = |job: &str| st.e(job);
    Some(match f {
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
        ClockSkew { job, clock } => clock_words(job, clock, st),
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
            g(*covered as u64),
            plural(*expected, "cell", "cells"),
            if *may_be_cut {
                format!(
                    "the view is cut at {} (the runner's default page, newest first), so rows beyond it cannot be seen: ",
                    g(*page_size as u64)
                )
            } else {
                String::new()
            },
            plural(*unknown, "cell", "cells")
        ),
        _ => return None,
    })
}

/// The clocks: a server's offset from the recorder's, and how the times are read.
fn clock_words(
    job: &Option<String>,
    clock: &crate::analysis::clocks::ClockSummary,
    st: &Style,
) -> String {
    let subject = match job {
        Some(job) => format!("By the rows of job {}, ", st.e(job)),
        None => String::new(),
    };
    let mut text = format!(
        "{subject}{} (measured {}).",
        super::style::clock_clause(clock),
        super::style::measured_clause(clock)
    );
    // Capitalise the clause when it opens the sentence.
    if job.is_none() {
        text = format!("T{}", &text[1..]);
    }
    let how = match clock.server {
        crate::analysis::clocks::Server::Runner if clock.changed => {
            " Every time here is on the recorder's clock: each row time is moved by the offset measured around it, the runner's own stamp said beside it where they differ."
        }
        crate::analysis::clocks::Server::Runner => {
            " Every time here is on the recorder's clock: the rows' own times are moved by that offset, the runner's own stamp said beside them where they differ."
        }
        crate::analysis::clocks::Server::Router => {
            " The ages of provider checks are measured on the router's own clock."
        }
    };
    format!("{text}{how}")
}

/// How the rows failed.
fn failure_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    let j = |job: &str| st.e(job);
    Some(match f {
        FailureSignature {
            job,
            failed,
            rows,
            count,
            key,
            error_text,
            signatures,
        } => format!(
            "{} of {} of job {} failed; {} share one signature: {}{}{}.",
            g(*failed as u64),
            plural(*rows as u64, "row", "rows"),
            j(job),
            g(*count as u64),
            signature(key, st),
            error_text
                .as_deref()
                .map_or(String::new(), |t| format!(", error \"{}\"", st.e(t))),
            if *signatures > 1 {
                format!(" ({} signatures in all)", g(*signatures as u64))
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
            "{} of the failed rows ran exactly {} (completed_at - started_at): {}.",
            g(*count as u64),
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
            runner_clock,
            first_runner,
            last_runner,
            ..
        } => {
            let seen = match (seen_first, seen_last) {
                (Some(a), Some(b)) => format!(
                    "; polling first saw a failure at {} and the last new one at {}",
                    st.at(a.0),
                    st.at(b.0),
                ),
                _ => String::new(),
            };
            let clock = match runner_clock {
                Some(k) => format!(
                    " on the recorder's clock (the runner's own stamps{}; {})",
                    super::answer::own_stamps(
                        *first_runner,
                        *last_runner,
                        Some(*first),
                        Some(*last),
                    ),
                    super::style::clock_brief(k)
                ),
                None => String::new(),
            };
            format!(
                "By the rows' own timestamps, failures ran from {} to {}{clock} ({}, {}){seen}.",
                st.at(first.0),
                st.at(last.0),
                human((spread_seconds * 1e6) as i64),
                plural(*clusters as u64, "cluster", "clusters")
            )
        }
        _ => return None,
    })
}

/// Rows that vanished, and the job's status.
fn status_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    let j = |job: &str| st.e(job);
    Some(match f {
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
        _ => return None,
    })
}

/// The router's health counts and changes.
fn router_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    Some(match f {
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
        _ => return None,
    })
}

/// Providers' states and rates, and restarts.
fn provider_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    Some(match f {
        ProviderState {
            providers,
            state: s,
            from,
            to,
            throughout,
            last_check,
            age_seconds,
            clock,
            failing_since,
            last_check_found_healthy,
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
                P::CheckRaised => {
                    let them = if providers.len() == 1 { "it" } else { "them" };
                    let since = st.at(failing_since.unwrap_or(*from).0);
                    match last_check_found_healthy {
                        Some(true) => format!(
                            ": the last check that completed{} found {them} healthy, and a later one raised (refused or timed out) without stamping its time, so checks have been failing since at least {since}",
                            last_check.map_or(String::new(), |t| format!(" ({})", st.at(t.0))),
                        ),
                        _ => format!(
                            ": a later round of checks stamped the other providers and not {them} (the router checks all at once), so {them} raised (refused or timed out) and checks have been failing since at least {since}; the last check that completed{} was before the recording, what it found is not known",
                            last_check.map_or(String::new(), |t| format!(" ({})", st.at(t.0))),
                        ),
                    }
                }
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
        RouterRestart { restart } => restart_words(restart, st),
        _ => return None,
    })
}

/// A restart of the router, and the signs it was read from.
fn restart_words(restart: &crate::analysis::router::Restart, st: &Style) -> String {
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
            RestartSign::ChecksTogether => {
                "every provider's last check moved forward at once with no inference in between (the start-up checks; a round forced by hand looks the same)".into()
            }
            RestartSign::QueuesEmptied => {
                "its queues went from some to none (its queue workers are disabled: nothing else drains them)".into()
            }
        })
        .collect();
    if restart.possible {
        format!(
            "The router may have restarted at {}: {}.",
            st.at(restart.at.0),
            why.join("; ")
        )
    } else {
        format!(
            "The router restarted (or was redeployed) at {}: {}.",
            st.at(restart.at.0),
            why.join("; ")
        )
    }
}

/// The requests: unreadable rows, outages, the recorder's gaps; the runner's stuck jobs.
fn fetch_words(f: &Finding, st: &Style) -> Option<String> {
    use Finding::*;
    Some(match f {
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
        // Every other kind, by name: a kind added to `Finding` must be given its words.
        EmptyRecording
        | JobNotFound { .. }
        | DefaultViewTruncated { .. }
        | Coverage { .. }
        | NoSpec { .. }
        | MatrixCounted { .. }
        | UnplannedRegions { .. }
        | MissingCells { .. }
        | UnexpectedRows { .. }
        | RowsWithoutCell { .. }
        | RepeatedIds { .. }
        | RowsWithoutId { .. }
        | ClockSkew { .. }
        | FailureSignature { .. }
        | ExactDuration { .. }
        | NearInstantFailures { .. }
        | FailureSpan { .. }
        | VanishedRows { .. }
        | StatusChanged { .. }
        | StatusStayed { .. }
        | RouterAllHealthy { .. }
        | FailedWhileAllHealthy { .. }
        | RouterChanges { .. }
        | HealthyWithNone { .. }
        | HealthDisagrees { .. }
        | ProviderState { .. }
        | ProviderRate { .. }
        | RouterRestart { .. }
        | OnlyDefaultView { .. } => return None,
    })
}

/// When the recording first showed a finding, as judged while recording: ` (first seen at
/// snapshot 14, 08:59:50Z (+6m20s))`, or nothing when it was not judged then.
pub fn first_seen(s: Option<crate::analysis::judge::Seen>, st: &Style) -> String {
    match s {
        Some(s) => format!(
            " First seen at snapshot {}, {}.",
            s.seq,
            st.ctx.time(s.at.0)
        ),
        None => String::new(),
    }
}
