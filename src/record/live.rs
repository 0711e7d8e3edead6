//! Findings while recording: after each committed snapshot, what that poll's answers say is
//! compared with what was open before, and each finding that begins or ends is said once. The
//! cost follows the poll (its lists' rows), never the recording.
//!
//! As seen, when seen: a finding is judged only from sources answered in the poll; one not
//! fetched (the budget) or failing leaves its findings as they were, so "ended" always means
//! an answer said so.

use crate::fetch::Fetched;
use crate::normalise::{ListObs, Observations};
use serde::Serialize;
use std::collections::BTreeMap;

/// Polls in a row a source must fail before it is a finding (a single timeout is noise).
pub const FAILING_AFTER: u32 = 3;

/// The kinds, as they appear in notes, metrics and the hook.
pub const KINDS: [&str; 4] = [
    "default_view_cut",
    "rows_all_failed",
    "providers_unhealthy",
    "source_failing",
];

/// A finding's key (kind, job or source) and whether the poll says it holds (its message).
type Judged = ((&'static str, Option<String>), Option<String>);

/// A finding that began or ended at a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: &'static str,
    pub job: Option<String>,
    /// `began` or `ended` (or `open`: still open when the recording stopped, in notes only).
    pub state: &'static str,
    pub seq: u64,
    /// The poll's start, µs since the epoch.
    pub at_us: i64,
    /// When it began (for `ended`: how long it lasted).
    pub since_seq: u64,
    pub since_us: i64,
    /// What it is now: as this poll said it (`began`), as the last poll that said it held
    /// (`ended`, `open`).
    pub message: String,
    /// What it was when it began.
    pub began_message: String,
}

#[derive(Debug, Clone)]
struct Open {
    since_seq: u64,
    since_us: i64,
    began_message: String,
    /// As the last poll that said it held.
    message: String,
}

/// The open findings and what judging them needs from earlier polls.
#[derive(Debug, Default)]
pub struct Live {
    open: BTreeMap<(&'static str, Option<String>), Open>,
    /// Failed polls in a row, per (source, job).
    failing: BTreeMap<(String, Option<String>), u32>,
}

impl Live {
    /// Findings open now, by kind and job.
    pub fn open(&self) -> impl Iterator<Item = (&'static str, Option<&str>)> + '_ {
        self.open.keys().map(|(k, j)| (*k, j.as_deref()))
    }

    /// The findings still open, as of the snapshot `seq` at `at_us` (the recording's last):
    /// state `open`, so that a recording that stops never leaves one unsaid.
    pub fn still_open(&self, seq: u64, at_us: i64) -> Vec<Change> {
        self.open
            .iter()
            .map(|((kind, job), o)| Change {
                kind,
                job: job.clone(),
                state: "open",
                seq,
                at_us,
                since_seq: o.since_seq,
                since_us: o.since_us,
                message: o.message.clone(),
                began_message: o.began_message.clone(),
            })
            .collect()
    }

    /// Judges one committed snapshot; returns what began and what ended.
    pub fn step(
        &mut self,
        seq: u64,
        at_us: i64,
        fetches: &[Fetched],
        obs: &Observations,
    ) -> Vec<Change> {
        // (kind, job) -> Some(message): holds now; None: answered and does not hold.
        let mut now: Vec<Judged> = Vec::new();
        // This poll's view of each job: its status (judged only from it), or "not found",
        // which ends the job's findings (nothing of it is left to be wrong).
        let mut status_now: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for (job, rec) in &obs.views {
            if rec.found {
                status_now.insert(job, rec.status.as_deref());
            } else {
                for kind in ["default_view_cut", "rows_all_failed"] {
                    now.push(((kind, Some(job.clone())), None));
                }
            }
        }
        for (job, list) in &obs.lists {
            let ListObs::Complete(rows) = list else {
                continue;
            };
            let total = rows.len();
            // The default view of the same poll against the complete list.
            if let Some(shown) = obs
                .views
                .iter()
                .find(|(j, _)| j == job)
                .and_then(|(_, r)| r.default_rows)
            {
                let cut = (shown as usize) < total;
                now.push((
                    ("default_view_cut", Some(job.clone())),
                    cut.then(|| {
                        format!("the default view shows {shown} of {total} rows of job {job}")
                    }),
                ));
            }
            let failed = rows
                .by_id
                .values()
                .chain(rows.extras.iter().map(|x| &x.exec))
                .filter(|e| e.is_failed())
                .count();
            // Judged only when this poll's view said the job's status.
            if let Some(Some(status)) = status_now.get(job.as_str()) {
                let active = matches!(*status, "processing" | "running" | "queued" | "created");
                now.push((
                    ("rows_all_failed", Some(job.clone())),
                    (total > 0 && failed == total && active).then(|| {
                        format!("all {total} rows of job {job} failed while it is {status}")
                    }),
                ));
            }
        }
        if let Some(h) = &obs.health
            && let (Some(ok), Some(all)) = (h.providers_healthy, h.providers_total)
            && all > 0
        {
            now.push((
                ("providers_unhealthy", None),
                (ok < all).then(|| format!("the router reports {ok} of {all} providers healthy")),
            ));
        }
        self.sources(fetches, obs, &mut now);
        // One verdict per finding: it holds if anything this poll says it does.
        let mut verdict: BTreeMap<(&'static str, Option<String>), Option<String>> = BTreeMap::new();
        for (key, holds) in now {
            let v = verdict.entry(key).or_insert(None);
            if v.is_none() {
                *v = holds;
            }
        }
        let mut out = Vec::new();
        for (key, holds) in verdict {
            match (holds, self.open.contains_key(&key)) {
                (Some(message), false) => {
                    out.push(Change {
                        kind: key.0,
                        job: key.1.clone(),
                        state: "began",
                        seq,
                        at_us,
                        since_seq: seq,
                        since_us: at_us,
                        message: message.clone(),
                        began_message: message.clone(),
                    });
                    self.open.insert(
                        key,
                        Open {
                            since_seq: seq,
                            since_us: at_us,
                            began_message: message.clone(),
                            message,
                        },
                    );
                }
                (Some(message), true) => {
                    // Still holds: its value now (20 of 36 rows hidden, then 20 of 44).
                    if let Some(o) = self.open.get_mut(&key) {
                        o.message = message;
                    }
                }
                (None, true) => {
                    let o = self.open.remove(&key).expect("checked");
                    out.push(Change {
                        kind: key.0,
                        job: key.1,
                        state: "ended",
                        seq,
                        at_us,
                        since_seq: o.since_seq,
                        since_us: o.since_us,
                        message: o.message,
                        began_message: o.began_message,
                    });
                }
                (None, false) => {}
            }
        }
        out
    }

    /// A source failing `FAILING_AFTER` polls in a row; ended by its next usable answer.
    /// Requests the recorder did not send change nothing.
    fn sources(&mut self, fetches: &[Fetched], obs: &Observations, now: &mut Vec<Judged>) {
        // Per source this poll: failed when any of its requests failed (pages of one list,
        // say), answered when any was sent. An `--endpoint` is its own source (by URL).
        let mut polled: BTreeMap<(String, Option<String>), (bool, Option<String>)> =
            BTreeMap::new();
        for (f, n) in fetches.iter().zip(&obs.notes) {
            if n.outcome.is_gap() {
                continue;
            }
            let name = if f.kind == crate::fetch::SourceKind::Custom {
                format!("endpoint {}", f.url)
            } else {
                f.kind.name().to_string()
            };
            let e = polled.entry((name, f.job.clone())).or_insert((false, None));
            if n.outcome.is_failure() && !e.0 {
                e.0 = true;
                e.1 = Some(crate::fetch::outcome_word(
                    n.outcome,
                    f.status,
                    f.error.as_ref().map(|e| e.0),
                ));
            }
        }
        for ((name, job), (failed, why)) in polled {
            let label = source_label(&name, job.as_deref());
            let key = (name, job);
            if failed {
                let k = self.failing.entry(key).or_default();
                *k += 1;
                if *k >= FAILING_AFTER {
                    now.push((
                        ("source_failing", Some(label.clone())),
                        Some(format!(
                            "{label} failed {k} polls in a row ({})",
                            why.unwrap_or_default()
                        )),
                    ));
                }
            } else {
                self.failing.remove(&key);
                now.push((("source_failing", Some(label)), None));
            }
        }
    }
}

/// A source as findings name it: its endpoint, and its job when it has one.
fn source_label(name: &str, job: Option<&str>) -> String {
    match job {
        Some(j) => format!("{name} ({j})"),
        None => name.to_string(),
    }
}

/// A change as the note it is kept as, at its snapshot's start.
pub fn note(c: &Change) -> crate::store::notes::NewNote {
    crate::store::notes::NewNote {
        at: c.at_us,
        text: note_text(c),
        mark_from: None,
        mark_to: None,
        created_at: c.at_us,
    }
}

/// The text a change is kept as, so that it appears in `snapshots`, the timeline, the report
/// and the page: its value now, and when it began with its value then (when that differs).
/// Its first snapshot's time is given to the second (the seq is exact).
pub fn note_text(c: &Change) -> String {
    let began = || {
        let at = crate::beacon::format_micros(c.since_us.div_euclid(1_000_000) * 1_000_000);
        if c.began_message == c.message {
            format!("{}; first seen at snapshot {}, {at}", c.kind, c.since_seq)
        } else {
            format!(
                "{}; first seen at snapshot {}, {at}, when {}",
                c.kind, c.since_seq, c.began_message
            )
        }
    };
    match c.state {
        "began" => format!("finding began: {} ({})", c.message, c.kind),
        "open" => format!(
            "finding still open when the recording stopped: {} ({})",
            c.message,
            began()
        ),
        _ => format!("finding ended: last {} ({})", c.message, began()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::SourceKind;
    use crate::normalise::normalise;

    const JOB: &str = "j";

    fn f(kind: SourceKind, status: u16, body: &str) -> Fetched {
        Fetched {
            kind,
            job: (kind != SourceKind::RouterHealth).then(|| JOB.to_string()),
            url: format!("http://x/{}", kind.name()),
            status: Some(status),
            latency_us: 1,
            content_type: Some("application/json".into()),
            body: Some(body.as_bytes().to_vec()),
            error: None,
            retry_after: None,
            location: None,
            date_us: None,
            sent_at_us: None,
            retried: None,
            secrets_removed: 0,
        }
    }

    fn rows(n: usize, status: &str) -> String {
        (0..n)
            .map(|i| format!(r#"{{"id":{i},"status":"{status}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn all(n: usize, status: &str) -> Fetched {
        f(
            SourceKind::RunnerExecAll,
            200,
            &format!(r#"{{"executions":[{}]}}"#, rows(n, status)),
        )
    }

    fn view(n: usize, status: &str, job_status: &str) -> Fetched {
        f(
            SourceKind::RunnerJobDefault,
            200,
            &format!(
                r#"{{"job":{{}},"status":"{job_status}","executions":[{}]}}"#,
                rows(n, status)
            ),
        )
    }

    fn health(ok: u32, all: u32) -> Fetched {
        f(
            SourceKind::RouterHealth,
            200,
            &format!(r#"{{"status":"ok","providers_total":{all},"providers_healthy":{ok}}}"#),
        )
    }

    fn step(l: &mut Live, seq: u64, fetches: Vec<Fetched>) -> Vec<(&'static str, &'static str)> {
        let obs = normalise(&fetches);
        l.step(seq, seq as i64 * 1_000_000, &fetches, &obs)
            .into_iter()
            .map(|c| (c.kind, c.state))
            .collect()
    }

    /// Each kind begins when an answer shows it and ends only when an answer says so: a
    /// source not answered leaves it as it was.
    #[test]
    fn findings_begin_and_end_on_answers_only() {
        let mut l = Live::default();
        assert_eq!(
            step(
                &mut l,
                1,
                vec![
                    all(25, "running"),
                    view(20, "running", "processing"),
                    health(3, 3)
                ]
            ),
            vec![("default_view_cut", "began")]
        );
        // The list failed and the view was not asked: nothing is judged, nothing ends.
        let failed = f(SourceKind::RunnerExecAll, 500, "{}");
        assert_eq!(step(&mut l, 2, vec![failed.clone()]), vec![]);
        assert_eq!(
            step(&mut l, 3, vec![failed.clone(), health(2, 3)]),
            vec![("providers_unhealthy", "began")]
        );
        // The third failure in a row is a finding; every row failed while processing is one.
        assert_eq!(
            step(&mut l, 4, vec![failed.clone()]),
            vec![("source_failing", "began")]
        );
        assert_eq!(
            step(
                &mut l,
                5,
                vec![all(25, "failed"), view(20, "failed", "processing")]
            ),
            vec![("rows_all_failed", "began"), ("source_failing", "ended")]
        );
        assert_eq!(l.open().count(), 3);
        // The job ends: the rows are no longer failing "while processing"; the view shows all.
        assert_eq!(
            step(
                &mut l,
                6,
                vec![
                    all(20, "failed"),
                    view(20, "failed", "failed"),
                    health(3, 3)
                ]
            ),
            vec![
                ("default_view_cut", "ended"),
                ("providers_unhealthy", "ended"),
                ("rows_all_failed", "ended")
            ]
        );
        assert_eq!(l.open().count(), 0);
    }

    /// Two `--endpoint`s are two sources; the pages of one list are one (any failing page
    /// fails it); "job not found" ends the job's findings; a poll without the view does not
    /// judge whether the rows failed "while active".
    #[test]
    fn sources_are_judged_per_poll_and_jobs_that_vanish_end() {
        let mut l = Live::default();
        let ep = |url: &str, status: u16| {
            let mut x = f(SourceKind::Custom, status, "{}");
            x.job = None;
            x.url = url.into();
            x
        };
        let page = |status: u16| f(SourceKind::RunnerJobPage, status, "{}");
        for seq in 1..=2 {
            assert_eq!(
                step(
                    &mut l,
                    seq,
                    vec![
                        ep("http://a/x", 500),
                        ep("http://b/y", 200),
                        page(200),
                        page(500)
                    ]
                ),
                vec![]
            );
        }
        let began = step(
            &mut l,
            3,
            vec![
                ep("http://a/x", 500),
                ep("http://b/y", 200),
                page(200),
                page(500),
            ],
        );
        assert_eq!(
            began,
            vec![("source_failing", "began"), ("source_failing", "began")]
        );
        let subjects: Vec<String> = l.open().map(|(_, s)| s.unwrap().to_string()).collect();
        assert!(
            subjects.iter().any(|s| s.contains("http://a/x")),
            "{subjects:?}"
        );
        assert!(
            subjects.iter().any(|s| s.contains("runner.job_page")),
            "{subjects:?}"
        );
        // Rows all failed, but no view this poll: not judged.
        assert_eq!(step(&mut l, 4, vec![all(5, "failed")]), vec![]);
        assert_eq!(
            step(
                &mut l,
                5,
                vec![all(25, "failed"), view(20, "failed", "running")]
            ),
            vec![("default_view_cut", "began"), ("rows_all_failed", "began")]
        );
        let gone = f(
            SourceKind::RunnerJobDefault,
            404,
            r#"{"error":"job not found"}"#,
        );
        assert_eq!(
            step(&mut l, 6, vec![gone]),
            vec![("default_view_cut", "ended"), ("rows_all_failed", "ended")]
        );
    }

    #[test]
    fn an_ended_note_says_when_it_began() {
        let c = Change {
            kind: "default_view_cut",
            job: Some(JOB.into()),
            state: "ended",
            seq: 9,
            at_us: 9_000_000,
            since_seq: 4,
            since_us: 4_500_000,
            message: "the default view shows 20 of 36 rows of job j".into(),
            began_message: "the default view shows 20 of 36 rows of job j".into(),
        };
        let t = note_text(&c);
        assert!(
            t.starts_with("finding ended: last the default view shows 20 of 36"),
            "{t}"
        );
        assert!(
            t.contains("first seen at snapshot 4, 1970-01-01T00:00:04"),
            "{t}"
        );
    }

    /// Issue 26: a finding still open says its value now, and when it began with its value
    /// then (20 of 44 now, 20 of 24 when it began), never the first value as if current.
    #[test]
    fn an_open_note_says_its_value_now_and_then() {
        let mut l = Live::default();
        assert_eq!(
            step(
                &mut l,
                1,
                vec![all(24, "failed"), view(20, "failed", "processing")]
            ),
            vec![("default_view_cut", "began"), ("rows_all_failed", "began")]
        );
        step(
            &mut l,
            2,
            vec![all(44, "failed"), view(20, "failed", "processing")],
        );
        let open = l.still_open(3, 3_000_000);
        let cut = open.iter().find(|c| c.kind == "default_view_cut").unwrap();
        assert_eq!(cut.message, "the default view shows 20 of 44 rows of job j");
        assert_eq!(
            cut.began_message,
            "the default view shows 20 of 24 rows of job j"
        );
        let t = note_text(cut);
        assert!(
            t.starts_with(
                "finding still open when the recording stopped: the default view shows 20 of 44"
            ),
            "{t}"
        );
        assert!(t.contains("first seen at snapshot 1, 1970-01-01T00:00:01Z, when the default view shows 20 of 24"), "{t}");
        // Ending says the last value it had.
        let ended = l.step(
            4,
            4_000_000,
            &[],
            &normalise(&[all(44, "failed"), view(44, "failed", "failed")]),
        );
        let e = ended.iter().find(|c| c.kind == "default_view_cut").unwrap();
        assert_eq!(e.message, "the default view shows 20 of 44 rows of job j");
    }
}
