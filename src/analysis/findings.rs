//! Findings: plain sentences from the data, most important first, for the top of a
//! postmortem. Nothing here is specific to a scenario; every number comes from the analysis.

use super::Recording;
use super::report::{FetchReport, JobReport, RouterReport, human_secs};
use std::collections::BTreeSet;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn findings(
    jobs: &[JobReport],
    router: &RouterReport,
    fetch: &FetchReport,
    rec: &Recording,
) -> Vec<String> {
    let mut out = Vec::new();
    if rec.infos.is_empty() {
        out.push("The recording holds no snapshots.".into());
        return out;
    }
    for j in jobs {
        let s = &j.summary;
        let name = &s.job_id;
        if !s.found {
            out.push(format!("The runner answered 404 \"job not found\" for job {name} at the end of the recording."));
        }
        if let Some((shown, complete)) = j.max_truncation {
            out.push(format!(
                "The default job view of {name} showed {shown} of {complete} rows (the runner returns 20 unless asked for more); the complete list had {complete}."
            ));
        }
        let e = &s.expected;
        if e.cells > 0 {
            let declared = match e.declared {
                Some(d) if d != e.cells => format!(" (the spec declared {d})"),
                Some(_) => " (as the spec declared)".into(),
                None => String::new(),
            };
            let mut sentence = format!(
                "Job {name}: {} expected{declared}; {} covered, {} missing",
                plural(e.cells as usize, "cell", "cells"),
                s.cells.covered,
                s.cells.missing_count
            );
            if !s.cells.duplicated.is_empty() {
                let extra: usize = s.cells.duplicated.iter().map(|d| d.rows.len() - 1).sum();
                sentence.push_str(&format!(
                    "; {} ran more than once ({} extra {})",
                    plural(s.cells.duplicated.len(), "cell", "cells"),
                    extra,
                    if extra == 1 { "row" } else { "rows" }
                ));
            }
            sentence.push_str(&format!("; {} in all.", plural(s.rows, "row", "rows")));
            out.push(sentence);
            if !s.cells.listed {
                out.push(format!(
                    "Job {name}'s spec declares {} cells, more than {}: the matrix is counted, not listed (no table, no list of missing cells).",
                    e.cells,
                    crate::beacon::MATRIX_CAP
                ));
            }
        } else if s.found {
            out.push(format!(
                "Job {name}: no job spec was recorded, so no expected matrix; {} seen.",
                plural(s.rows, "row", "rows")
            ));
        }
        if !e.unplanned_regions.is_empty() {
            out.push(format!(
                "Region{} {} of job {name} had no provider at the router, so the cross-region path planned no rows there.",
                if e.unplanned_regions.len() == 1 { "" } else { "s" },
                e.unplanned_regions.join(", ")
            ));
        }
        if s.cells.missing_count > 0 {
            let list: Vec<String> = s
                .cells
                .missing
                .iter()
                .take(6)
                .map(|c| format!("{}/{}/{}", c.question_id, c.model_id, c.region))
                .collect();
            let more = s.cells.missing_count.saturating_sub(list.len() as u64);
            let stopped = j
                .growth
                .last_new_row_at
                .as_deref()
                .map_or(String::new(), |t| {
                    format!(
                        "; rows stopped appearing at {t} (seq {})",
                        j.growth.last_new_row_seq.unwrap_or(0)
                    )
                });
            let named = if list.is_empty() {
                String::new()
            } else {
                format!(": {}", list.join(", "))
            };
            out.push(format!(
                "{} of job {name} never got a row{named}{}{stopped}.",
                plural(s.cells.missing_count as usize, "cell", "cells"),
                if more > 0 && !list.is_empty() {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if !s.cells.unexpected.is_empty() {
            let reasons: BTreeSet<&str> = s
                .cells
                .unexpected
                .iter()
                .map(|u| u.reason.as_str())
                .collect();
            out.push(format!(
                "{} of job {name} fall outside the spec: {}.",
                plural(s.cells.unexpected.len(), "row", "rows"),
                reasons.into_iter().collect::<Vec<_>>().join("; ")
            ));
        }
        if !s.cells.no_cell.is_empty() {
            let reasons: BTreeSet<&str> =
                s.cells.no_cell.iter().map(|u| u.reason.as_str()).collect();
            out.push(format!(
                "{} of job {name} {} to no cell ({}): early failures, typically.",
                plural(s.cells.no_cell.len(), "row", "rows"),
                if s.cells.no_cell.len() == 1 {
                    "belongs"
                } else {
                    "belong"
                },
                reasons.into_iter().collect::<Vec<_>>().join("; ")
            ));
        }
        extra_rows(j, &mut out);
        if let Some(k) = &j.clock_skew {
            out.push(format!(
                "Rows of job {name} are dated up to {} after the recorder saw them (execution {}, seen at seq {}): the runner's clock and the recorder's disagree, so times by the rows' own timestamps and times by polling are on different clocks.",
                human_secs(k.ahead_seconds),
                k.execution_id,
                k.seq
            ));
        }
        let f = &j.failures;
        if f.total > 0 {
            let top = &f.signatures[0];
            let mut sig = vec![top.key.status.clone()];
            if let Some(c) = &top.key.error_code {
                sig.push(c.clone());
            }
            if let Some(st) = &top.key.failure_stage {
                sig.push(format!("at {st}"));
            }
            sig.push(if top.key.provider_empty {
                "provider_id empty".into()
            } else {
                "provider_id set".into()
            });
            if top.key.output_null == Some(true) {
                sig.push("output null".into());
            }
            out.push(format!(
                "{} of {} rows of job {name} failed; {} share one signature: {}{}.",
                f.total,
                s.rows,
                top.count,
                sig.join(", "),
                if f.signatures.len() > 1 {
                    format!(" ({} signatures in all)", f.signatures.len())
                } else {
                    String::new()
                }
            ));
            if let Some(m) = f.duration_modes.first()
                && m.count * 2 >= f.total.max(2)
            {
                // Call it a timeout only when the rows say so; a shared duration alone is a hint.
                let timeout_said = f.signatures.iter().any(|sig| {
                    sig.key
                        .error_code
                        .as_deref()
                        .is_some_and(|c| c.contains("TIMEOUT"))
                        || sig
                            .key
                            .failure_stage
                            .as_deref()
                            .is_some_and(|s| s.contains("timeout"))
                });
                out.push(format!(
                    "{} of the failed rows ran exactly {} s (completed_at - started_at): {}.",
                    m.count,
                    m.seconds,
                    if timeout_said {
                        "the mark of a client timeout"
                    } else {
                        "a duration this exact usually means a timeout somewhere on the path"
                    }
                ));
            }
            if !f.near_instant.is_empty() {
                out.push(format!(
                    "{} failed within a second of starting: {} never reached a provider.",
                    plural(f.near_instant.len(), "row", "rows"),
                    if f.near_instant.len() == 1 {
                        "it"
                    } else {
                        "they"
                    }
                ));
            }
            if let (Some(a), Some(b), Some(sp)) =
                (&f.first_failed_at, &f.last_failed_at, f.spread_seconds)
            {
                let seen = match (&f.first_seen_failed_at, &f.last_seen_failed_at) {
                    (Some(x), Some(y)) => {
                        format!("; polling first saw a failure at {x} and the last new one at {y}")
                    }
                    _ => String::new(),
                };
                out.push(format!(
                    "By the rows' own timestamps, failures ran from {a} to {b} ({}, {}){seen}.",
                    human_secs(sp),
                    plural(f.clusters.len(), "cluster", "clusters")
                ));
            }
        }
        if !j.growth.vanished.is_empty() {
            out.push(format!(
                "{} of job {name} vanished from the complete list during the recording (ids {}).",
                plural(j.growth.vanished.len(), "row", "rows"),
                j.growth
                    .vanished
                    .iter()
                    .take(8)
                    .map(|v| v.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if j.status_history.len() > 1 {
            let chain: Vec<String> = j
                .status_history
                .iter()
                .map(|c| c.status.clone().unwrap_or("?".into()))
                .collect();
            out.push(format!("Job {name} status went {}.", chain.join(" -> ")));
        } else if let Some(c) = j.status_history.first() {
            out.push(format!(
                "Job {name} status stayed {} throughout the recording.",
                c.status.clone().unwrap_or("?".into())
            ));
        }
    }
    if router.recorded {
        if router.all_healthy_throughout {
            let h = router
                .series
                .last()
                .and_then(|p| p.providers_healthy)
                .unwrap_or(0);
            let extra = if router.failed_while_all_healthy > 0 {
                format!(
                    ", while {} failed with router or provider errors (its health is checked only at start-up and after inference requests, so it can be stale)",
                    plural(router.failed_while_all_healthy, "row", "rows")
                )
            } else {
                String::new()
            };
            out.push(format!(
                "The router reported {h} of {h} providers healthy throughout{extra}."
            ));
        } else if !router.transitions.is_empty() {
            let t: Vec<String> = router
                .transitions
                .iter()
                .take(6)
                .map(|t| format!("{} at {}", t.what, t.at))
                .collect();
            out.push(format!("Router changes: {}.", t.join("; ")));
            if router.failed_while_all_healthy > 0 {
                out.push(format!("{} failed with router or provider errors while the router reported every provider healthy.", plural(router.failed_while_all_healthy, "row", "rows")));
            }
        }
        if !router.stale_providers.is_empty() {
            let s: Vec<String> = router
                .stale_providers
                .iter()
                .map(|p| format!("{}: {}", p.name, p.reason))
                .collect();
            out.push(format!("Stale provider health: {}.", s.join("; ")));
        }
    }
    row_problems(rec, &mut out);
    // Sources that failed over the same window in the same way make one sentence.
    let mut groups: Vec<(Vec<&str>, &super::report::Outage)> = Vec::new();
    for o in &fetch.outages {
        match groups.iter_mut().find(|(_, g)| {
            g.job == o.job && g.from_seq == o.from_seq && g.to_seq == o.to_seq && g.kinds == o.kinds
        }) {
            Some((names, _)) => names.push(&o.source),
            None => groups.push((vec![&o.source], o)),
        }
    }
    for (names, o) in groups {
        out.push(format!(
            "{}{} failed from {} to {} ({}; {}){}.",
            names.join(" and "),
            o.job
                .as_deref()
                .map_or(String::new(), |j| format!(" ({j})")),
            o.from,
            o.to,
            plural(o.snapshots, "snapshot", "snapshots"),
            o.kinds.join(", "),
            o.recovered_at
                .as_deref()
                .map_or(" and had not recovered at the end".into(), |r| format!(
                    ", recovered at {r}"
                ))
        ));
    }
    for g in &fetch.gaps {
        out.push(format!(
            "The recorder did not send {}{} from {} to {} ({}; {}): a gap of the recording, not a failure of the source.",
            g.source,
            g.job
                .as_deref()
                .map_or(String::new(), |j| format!(" ({j})")),
            g.from,
            g.to,
            plural(g.snapshots, "snapshot", "snapshots"),
            g.kinds.join(", ")
        ));
    }
    out
}

/// Rows the runner sent that have no place in the by-id list.
fn extra_rows(j: &JobReport, out: &mut Vec<String>) {
    let name = &j.summary.job_id;
    let x = &j.extra_rows;
    for d in x.repeated_ids.iter().take(5) {
        out.push(format!(
            "Job {name}: the complete list had {} rows with id {} in one body (ids should be unique); all are kept and counted.",
            d.rows, d.id
        ));
    }
    if x.repeated_ids.len() > 5 {
        out.push(format!(
            "Job {name}: {} more ids appeared more than once in one body.",
            x.repeated_ids.len() - 5
        ));
    }
    if x.without_id > 0 {
        out.push(format!(
            "Job {name}: {} had no usable id (missing, not a number, or out of range); kept and counted, with their cells.",
            plural(x.without_id, "row", "rows")
        ));
    }
}

/// Rows of bodies that could not be read whole, over the recording.
fn row_problems(rec: &Recording, out: &mut Vec<String>) {
    let mut total = 0u64;
    let mut bodies = 0usize;
    let mut first: Option<(u64, &str, &crate::beacon::RowProblem)> = None;
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        for f in &snap.fetches {
            if f.problems_total > 0 {
                total += f.problems_total as u64;
                bodies += 1;
                if first.is_none()
                    && let Some(p) = f.problems.first()
                {
                    first = Some((info.seq, crate::fetch::SourceKind::name_of(f.source), p));
                }
            }
        }
    }
    if let Some((seq, source, p)) = first {
        out.push(format!(
            "{} in {} could not be read whole (every one is listed by `snapshots --json`); the first: {source} at seq {seq}, row {}: {}.",
            plural(total as usize, "row", "rows"),
            plural(bodies, "body", "bodies"),
            p.index,
            p.reason
        ));
    }
}
