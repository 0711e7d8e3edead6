//! The answer paragraph, a sentence each.

use super::super::text::{grouped, list, plural};
use super::style::Style;
use crate::analysis::answer::JobAnswer;
use crate::duration::human;

/// The opening paragraph of a job: the numbers of "why N instead of M" put together, a
/// sentence each.
pub fn answer(a: &JobAnswer, st: &Style) -> String {
    let mut s = vec![expected_sentence(a, st)];
    if let Some(v) = &a.default_view {
        s.push(view_sentence(a, v, st));
    }
    s.push(list_sentence(a, st));
    if let Some(f) = &a.failures {
        s.push(failure_sentence(a, f, st));
    }
    s.extend(output_sentence(a));
    s.join(" ")
}

/// How many executions the job should have, and where that number comes from.
fn expected_sentence(a: &JobAnswer, st: &Style) -> String {
    let job = st.e(&a.job);
    match &a.expected {
        Some(e) => format!(
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
                Some(d) if d == e.cells => format!("; the portal declared {} too", grouped(d)),
                Some(d) => format!("; the portal declared {}", grouped(d)),
                None => String::new(),
            },
            ""
        ),
        None => format!(
            "Job {job}: no spec was recorded, so how many executions it should have is unknown."
        ),
    }
}

/// What the default view showed, at the poll it is described at, and why.
fn view_sentence(a: &JobAnswer, v: &crate::analysis::answer::ViewAnswer, st: &Style) -> String {
    let end_seq = a.complete.seen.map(|o| o.seq);
    let by_status = v.by_status.clone().unwrap_or_default();
    let statuses = match by_status.len() {
        0 => String::new(),
        1 if by_status.values().sum::<usize>() == v.rows as usize => {
            let (k, _) = by_status.iter().next().expect("one");
            format!(", all {}", st.ctx.status(&st.e(k)))
        }
        _ => format!(
            " ({})",
            by_status
                .iter()
                .map(|(k, n)| format!("{} {}", grouped(*n as u64), st.ctx.status(&st.e(k))))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let why = if v.truncated == Some(true) {
        format!(
            ": the runner's default page, the newest {} by created_at",
            grouped(v.page_size as u64)
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
    format!(
        "The default view (?include=executions) showed {}{statuses}{when}{why}{dup}.",
        plural(v.rows as u64, "row", "rows")
    )
}

/// The complete list as covered cells + extra runs + the rest, and what is missing.
fn list_sentence(a: &JobAnswer, st: &Style) -> String {
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
            (None, n) if n > 0 && !a.is_final => format!(
                "{} without a row so far (the job's status was not known)",
                plural(n, "cell", "cells")
            ),
            (_, n) if !a.is_final => format!("{} missing so far", plural(n, "cell", "cells")),
            (_, n) => format!("{} missing", plural(n, "cell", "cells")),
        };
        format!(
            "The complete list{when} had {} = {}; {missing}.",
            plural(c.rows as u64, "row", "rows"),
            parts.join(" + ")
        )
    } else {
        let cut = a.default_view.as_ref().filter(|v| v.rows >= v.page_size);
        format!(
            "No complete list was seen, only the default view: {} visible = {}; {}{} unknown, not missing.",
            plural(c.rows as u64, "row", "rows"),
            parts.join(" + "),
            match cut {
                Some(v) => format!(
                    "the view is cut at {} (the runner's default page), so rows beyond it cannot be seen: ",
                    grouped(v.page_size as u64)
                ),
                None => String::new(),
            },
            plural(a.unknown, "cell", "cells")
        )
    }
}

/// The runner's own stamps of a first and last time, said where they differ from the times on
/// the recorder's clock by more than the polls could tell apart (the runner's stamps are
/// truncated to the second; a `Date` second): `: 17:22:31Z and 17:22:44Z`.
pub(super) fn own_stamps(
    first_runner: Option<crate::analysis::Stamp>,
    last_runner: Option<crate::analysis::Stamp>,
    first: Option<crate::analysis::Stamp>,
    last: Option<crate::analysis::Stamp>,
) -> String {
    let differ = |own: Option<crate::analysis::Stamp>, ours: Option<crate::analysis::Stamp>| {
        own.zip(ours)
            .is_some_and(|(a, b)| (a.0 - b.0).abs() > 2_000_000)
    };
    match (first_runner, last_runner) {
        (Some(a), Some(b)) if differ(first_runner, first) || differ(last_runner, last) => {
            format!(
                " said {} and {}",
                super::super::text::clock(a.0),
                super::super::text::clock(b.0)
            )
        }
        _ => " agree with these".to_string(),
    }
}

/// When and how the rows failed, on which clock.
fn failure_sentence(
    a: &JobAnswer,
    f: &crate::analysis::answer::FailureAnswer,
    st: &Style,
) -> String {
    let c = &a.complete;
    let clock = match &f.runner_clock {
        Some(k) => format!(
            " on the recorder's clock (the rows' own stamps{}, {})",
            own_stamps(f.first_runner, f.last_runner, f.first, f.last),
            super::style::clock_brief(k)
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
            grouped(f.same_count as u64),
            human(secs * 1_000_000)
        ),
        None => String::new(),
    };
    let all = if f.failed == c.rows { "All " } else { "" };
    format!(
        "{all}{} failed{when}{error}{same}{}.",
        plural(f.failed as u64, "row", "rows"),
        if f.top_count < f.failed {
            format!(" ({} alike)", grouped(f.top_count as u64))
        } else {
            String::new()
        }
    )
}

/// Where `output` is (absent in the view, null or carrying the error in the list).
fn output_sentence(a: &JobAnswer) -> Option<String> {
    let o = &a.output;
    (o.null_in_list + o.error_in_list > 0).then(|| {
        format!(
            "`output` is absent in the default view (it never carries one), not null; in the complete list {} carry the error in `output` and {} have a null `output`.",
            plural(o.error_in_list as u64, "row", "rows"),
            grouped(o.null_in_list as u64)
        )
    })
}

/// Sources as a person names them: `the runner's executions_all and job_view`.
fn sources_phrase(sources: &[&str]) -> String {
    let and = |v: Vec<&str>| match v.as_slice() {
        [a, b] => format!("{a} and {b}"),
        _ => list(v.iter().map(|s| s.to_string()), super::style::NAMED),
    };
    for (prefix, whose) in [("runner.", "the runner's"), ("router.", "the router's")] {
        let own: Option<Vec<&str>> = sources.iter().map(|s| s.strip_prefix(prefix)).collect();
        if let Some(own) = own {
            return format!("{whose} {}", and(own));
        }
    }
    and(sources.to_vec())
}

/// The sources that failed and the providers that were unhealthy around a job, a clause each
/// (at most `NAMED` of each, then how many more).
fn incident_parts(i: &crate::analysis::answer::Incident, st: &Style) -> Vec<String> {
    let mut parts: Vec<String> = i
        .outages
        .iter()
        .take(super::style::NAMED)
        .map(|o| {
            let kinds: Vec<String> = o.kinds.iter().map(super::style::fetch_kind).collect();
            format!(
                "{} failed ({}) from {} to {}{}",
                sources_phrase(&o.sources),
                kinds.join(", "),
                st.at(o.from.0),
                st.at(o.to.0),
                if o.recovered_at.is_none() {
                    " and had not recovered"
                } else {
                    ""
                }
            )
        })
        .collect();
    if i.outages.len() > super::style::NAMED {
        parts.push(format!(
            "{} more source outages",
            i.outages.len() - super::style::NAMED
        ));
    }
    parts.extend(i.unhealthy.iter().take(super::style::NAMED).map(|p| {
        format!(
            "provider {} ({}) was {} from {} to {}",
            st.e(&p.provider),
            st.opt(p.region.as_deref(), "?"),
            super::style::state(p.state),
            st.at(p.from.0),
            st.at(p.to.0)
        )
    }));
    if i.unhealthy.len() > super::style::NAMED {
        parts.push(format!(
            "{} more unhealthy stretches of providers",
            i.unhealthy.len() - super::style::NAMED
        ));
    }
    parts
}

/// The answer in one line: what failed around the job, how its rows failed, what is missing or
/// ran twice, what cut the view; the figures row's caption.
pub fn cause(a: &JobAnswer, st: &Style) -> String {
    // The story first: what failed around the job, how its rows failed, what is missing or
    // ran twice; what the views hide last.
    let mut parts = incident_parts(&a.incident, st);
    let c = &a.complete;
    if let Some(f) = &a.failures {
        let how = f.top.error_code.as_deref().map_or(String::new(), |code| {
            format!(
                ", {} with {}",
                if f.top_count == f.failed {
                    "all".to_string()
                } else {
                    format!("{} of them", grouped(f.top_count as u64))
                },
                st.e(code)
            )
        });
        let same = match f.same_seconds {
            Some(secs) if f.same_count == f.failed => {
                format!(", each after exactly {}", human(secs * 1_000_000))
            }
            _ => String::new(),
        };
        parts.push(format!(
            "{} of {} failed{how}{same}",
            grouped(f.failed as u64),
            plural(c.rows as u64, "row", "rows")
        ));
    }
    if a.expected.is_none() {
        parts.push("no spec was recorded, so no cell can be counted missing or run twice".into());
    }
    if c.complete_seen && a.missing > 0 {
        let maybe = if c.no_cell > 0 {
            format!(
                " (the {} without a cell may be some of theirs)",
                plural(c.no_cell as u64, "row", "rows")
            )
        } else {
            String::new()
        };
        parts.push(format!(
            "{} {}{maybe}",
            plural(a.missing, "cell", "cells"),
            if a.is_final {
                "never got a row"
            } else {
                "without a row so far"
            }
        ));
    }
    if !c.complete_seen && a.unknown > 0 {
        parts.push(format!(
            "{} unknown: no complete list was read",
            plural(a.unknown, "cell", "cells")
        ));
    }
    if c.extra_runs > 0 {
        parts.push(format!(
            "{} of a cell that had run",
            plural(c.extra_runs as u64, "later run", "later runs")
        ));
    }
    if a.expected.is_some() && c.unexpected > 0 {
        parts.push(format!(
            "{} outside the spec",
            plural(c.unexpected as u64, "row", "rows")
        ));
    }
    if a.expected.is_some() && c.no_cell > 0 {
        parts.push(format!(
            "{} without a cell",
            plural(c.no_cell as u64, "row", "rows")
        ));
    }
    if let Some(v) = a.default_view.as_ref() {
        if v.truncated == Some(true) {
            parts.push(format!(
                "the default view is the runner's first page, the newest {} of {}",
                grouped(v.page_size as u64),
                plural(v.complete_then.unwrap_or(0) as u64, "row", "rows")
            ));
        } else if !c.complete_seen && v.rows >= v.page_size {
            parts.push(format!(
                "the default view is a full page of {} and no complete list was read: rows beyond it cannot be seen",
                plural(v.rows as u64, "row", "rows")
            ));
        }
    }
    if parts.is_empty() {
        return if !a.is_final {
            "No problem in the rows so far: every expected cell has a row, none ran more than once, none failed.".into()
        } else {
            "No problem in the rows: every expected cell has a row, none ran more than once, none failed.".into()
        };
    }
    let mut s = parts.join("; ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    s + "."
}
