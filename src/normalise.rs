//! Between fetching and storing: the bodies of one poll, read into observations (each job's
//! complete list and default view, the router's health and providers) and the outcome of every
//! request. Pure: no I/O, no clock, no database.
//!
//! This is the one place that decides what an answer means: a 404 of `/executions/all` is an
//! older runner (page instead) unless the runner says in JSON that the job does not exist; a
//! job's list is complete only when every request for it got a usable answer; rows that repeat
//! an id within one body, or have no usable id, are kept beside the by-id list; every row of a
//! body is kept or named in a problem.

use crate::beacon::{
    self, Execution, ExtraRow, ExtraWhy, JobRec, Provider, RouterHealth, RowProblem,
};
use crate::fetch::{Fetched, Outcome, SourceKind};
use std::collections::BTreeMap;

/// Row problems kept per request; the total is kept too. The body itself is always stored, so
/// nothing is lost by keeping only the first ones.
pub const PROBLEMS_KEPT: usize = 100;

/// What one poll's answers say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// One per fetch, in the poll's order.
    pub notes: Vec<FetchNotes>,
    /// Each job whose complete list was asked for, in the order first asked.
    pub lists: Vec<(String, ListObs)>,
    /// Each job whose default view answered (or said "job not found").
    pub views: Vec<(String, JobRec)>,
    pub health: Option<RouterHealth>,
    pub providers: Option<Vec<Provider>>,
}

/// How one request went, and what its rows came to.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchNotes {
    pub outcome: Outcome,
    /// Why a 2xx body did not read as this endpoint's.
    pub parse_error: Option<String>,
    /// For bodies that carry execution rows.
    pub rows: Option<RowCount>,
    /// The first `PROBLEMS_KEPT` row problems.
    pub problems: Vec<RowProblem>,
    pub problems_total: u32,
    /// The server's clock: the router's `/health` `timestamp`, else the `Date` header.
    pub server_time: Option<i64>,
}

impl FetchNotes {
    pub fn new(outcome: Outcome) -> Self {
        FetchNotes {
            outcome,
            parse_error: None,
            rows: None,
            problems: Vec::new(),
            problems_total: 0,
            server_time: None,
        }
    }
}

/// The rows of one body, accounted for: `in_body = kept + repeated + unusable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowCount {
    /// Elements of the body's array.
    pub in_body: u32,
    /// Rows kept from this body (by id, or beside it).
    pub kept: u32,
    /// Rows an earlier page of the same poll already had (paging repeats rows that share
    /// `created_at`); the first copy is kept.
    pub repeated: u32,
    /// Elements that are not rows at all (named in the problems).
    pub unusable: u32,
}

/// A job's complete list in one poll.
#[derive(Debug, Clone, PartialEq)]
pub enum ListObs {
    /// Every request for it answered: these are all its rows now.
    Complete(JobRows),
    /// Some request failed or was not sent: the rows stay as last known.
    Incomplete,
    /// No complete list was asked for, only the default view (an imported capture): its rows
    /// are some of the job's rows. Stored, but no row is taken as gone for not being there.
    Partial(JobRows),
}

/// All rows of a job: by id, and the rows kept beside (repeated id within a body, no id).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobRows {
    pub by_id: BTreeMap<i64, Execution>,
    pub extras: Vec<ExtraRow>,
}

impl JobRows {
    pub fn len(&self) -> usize {
        self.by_id.len() + self.extras.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows by status, extras included.
    pub fn by_status(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for e in self
            .by_id
            .values()
            .chain(self.extras.iter().map(|x| &x.exec))
        {
            *m.entry(e.status.to_string()).or_default() += 1;
        }
        m
    }
}

/// Whether a body says `{"error": "job not found"}` (the runner's 404 for an unknown job).
fn says_job_not_found(f: &Fetched) -> bool {
    f.body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .is_some_and(|v| v.get("error").and_then(|e| e.as_str()) == Some("job not found"))
}

/// What an answer of the job endpoints means before its body is read: the one rule for a 404.
pub fn answer_outcome(f: &Fetched) -> Outcome {
    let t = f.transport_outcome();
    if t != Outcome::HttpError || f.status != Some(404) {
        return t;
    }
    // An extra endpoint this version of the service does not have.
    if f.kind.extra_path().is_some() {
        return Outcome::NotOffered;
    }
    if !f.kind.is_runner() {
        return t;
    }
    match f.kind {
        SourceKind::RunnerExecAll | SourceKind::RunnerJobPage | SourceKind::RunnerJobDefault
            if says_job_not_found(f) =>
        {
            Outcome::JobNotFound
        }
        // Go's plain "404 page not found": a runner without this route.
        SourceKind::RunnerExecAll => Outcome::OlderRunner,
        _ => t,
    }
}

/// Elements in a job page's `executions` array, to decide whether to fetch the next page.
pub fn page_len(f: &Fetched) -> Option<usize> {
    let v = beacon::parse_job_view(f.ok_body()?).ok()?;
    Some(v.executions.map_or(0, |l| l.in_body))
}

#[derive(Default)]
struct ListAcc {
    rows: JobRows,
    /// Some request for it gave rows (or `null`): there is a list to store.
    answered: bool,
    incomplete: bool,
}

impl ListAcc {
    /// Adds one body's rows. Within a body a repeated id is an anomaly, kept beside; across
    /// the pages of one poll it is the known paging artefact, and the first copy wins.
    fn add(&mut self, list: beacon::ExecutionList, notes: &mut FetchNotes) {
        self.answered = true;
        let mut count = RowCount {
            in_body: list.in_body.min(u32::MAX as usize) as u32,
            unusable: list.unusable().min(u32::MAX as usize) as u32,
            ..Default::default()
        };
        let mut seen = rustc_hash::FxHashSet::default();
        seen.reserve(list.rows.len());
        for e in list.rows {
            if !seen.insert(e.id) {
                self.rows.extras.push(ExtraRow {
                    why: ExtraWhy::DuplicateId,
                    exec: e,
                });
                count.kept += 1;
            } else {
                match self.rows.by_id.entry(e.id) {
                    std::collections::btree_map::Entry::Occupied(_) => count.repeated += 1,
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(e);
                        count.kept += 1;
                    }
                }
            }
        }
        for e in list.no_id {
            self.rows.extras.push(ExtraRow {
                why: ExtraWhy::NoId,
                exec: e,
            });
            count.kept += 1;
        }
        note_problems(notes, list.problems);
        notes.rows = Some(count);
    }
}

fn note_problems(notes: &mut FetchNotes, problems: Vec<RowProblem>) {
    notes.problems_total = problems.len().min(u32::MAX as usize) as u32;
    notes.problems = problems.into_iter().take(PROBLEMS_KEPT).collect();
}

fn entry<'a, T: Default>(v: &'a mut Vec<(String, T)>, job: &str) -> &'a mut T {
    match v.iter().position(|(j, _)| j == job) {
        Some(i) => &mut v[i].1,
        None => {
            v.push((job.to_string(), T::default()));
            &mut v.last_mut().expect("just pushed").1
        }
    }
}

/// Reads one poll's answers.
pub fn normalise(fetches: &[Fetched]) -> Observations {
    normalise_with(fetches, None)
}

/// `normalise`, with the rows of earlier polls kept in `cache` (the recorder's: only rows
/// whose bytes changed are read). The result is the same with or without it.
pub fn normalise_with(
    fetches: &[Fetched],
    mut cache: Option<&mut beacon::RowCache>,
) -> Observations {
    if let Some(c) = cache.as_deref_mut() {
        c.next_poll();
    }
    let mut obs = Observations::default();
    let mut lists: Vec<(String, ListAcc)> = Vec::new();
    let mut view_rows: Vec<(String, Vec<crate::beacon::Execution>)> = Vec::new();
    for f in fetches {
        let mut notes = FetchNotes::new(answer_outcome(f));
        notes.server_time = f.date_us;
        match (f.kind, f.job.as_deref()) {
            (SourceKind::RunnerExecAll | SourceKind::RunnerJobPage, Some(job)) => {
                let acc = entry(&mut lists, job);
                read_list(f, &mut notes, acc, cache.as_deref_mut());
            }
            (SourceKind::RunnerJobDefault, Some(job)) => {
                let mut seen = None;
                let rec = read_view(f, &mut notes, &mut seen);
                if let Some(rows) = seen {
                    match view_rows.iter_mut().find(|(j, _)| j == job) {
                        Some(v) => v.1 = rows,
                        None => view_rows.push((job.to_string(), rows)),
                    }
                }
                if let Some(rec) = rec {
                    match obs.views.iter_mut().find(|(j, _)| j == job) {
                        Some(v) => v.1 = rec,
                        None => obs.views.push((job.to_string(), rec)),
                    }
                }
            }
            (SourceKind::RouterHealth, _) => {
                if let Some(b) = ok_body(f, &notes) {
                    match beacon::parse_health(b) {
                        Ok(h) => {
                            obs.health = Some(h);
                            notes.server_time = beacon::health_timestamp(b).or(f.date_us);
                        }
                        Err(e) => unparsable(&mut notes, e),
                    }
                }
            }
            (SourceKind::RouterProviders, _) => {
                if let Some(b) = ok_body(f, &notes) {
                    match beacon::parse_providers(b) {
                        Ok(p) => obs.providers = Some(p),
                        Err(e) => unparsable(&mut notes, e),
                    }
                }
            }
            (SourceKind::RunnerJobs, _) => {
                if let Some(b) = ok_body(f, &notes)
                    && let Err(e) = beacon::parse_jobs_list(b)
                {
                    unparsable(&mut notes, e);
                }
            }
            (k, _) if k.is_keyed() => {
                if let Some(b) = ok_body(f, &notes)
                    && let Err(e) = crate::keyed::read(b)
                {
                    unparsable(&mut notes, e);
                }
            }
            // A runner job request without a job: nothing to read.
            _ => {}
        }
        obs.notes.push(notes);
    }
    obs.lists = lists
        .into_iter()
        .map(|(job, acc)| {
            let l = if acc.incomplete || !acc.answered {
                ListObs::Incomplete
            } else {
                ListObs::Complete(acc.rows)
            };
            (job, l)
        })
        .collect();
    // A view of a job whose complete list was not asked for: its rows are what there is.
    for (job, rows) in view_rows {
        if obs.lists.iter().any(|(j, _)| *j == job) {
            continue;
        }
        let mut r = JobRows::default();
        for e in rows {
            r.by_id.entry(e.id).or_insert(e);
        }
        obs.lists.push((job, ListObs::Partial(r)));
    }
    obs
}

fn ok_body<'a>(f: &'a Fetched, notes: &FetchNotes) -> Option<&'a [u8]> {
    (notes.outcome == Outcome::Ok)
        .then(|| f.ok_body())
        .flatten()
}

fn unparsable(notes: &mut FetchNotes, e: String) {
    notes.outcome = Outcome::Unparsable;
    notes.parse_error = Some(e);
}

fn read_list(
    f: &Fetched,
    notes: &mut FetchNotes,
    acc: &mut ListAcc,
    cache: Option<&mut beacon::RowCache>,
) {
    match notes.outcome {
        // The pages that follow carry the list.
        Outcome::OlderRunner => {}
        Outcome::Ok => {
            let Some(b) = f.ok_body() else {
                acc.incomplete = true;
                return;
            };
            let parsed = if f.kind == SourceKind::RunnerExecAll {
                beacon::parse_exec_list_with(b, cache)
            } else {
                beacon::parse_job_view_with(b, cache).map(|v| v.executions.unwrap_or_default())
            };
            match parsed {
                Ok(list) => acc.add(list, notes),
                Err(e) => {
                    unparsable(notes, e);
                    acc.incomplete = true;
                }
            }
        }
        // A failure, a request not sent, or the job gone (not a failure: its rows stay as
        // last known).
        _ => acc.incomplete = true,
    }
}

fn read_view(
    f: &Fetched,
    notes: &mut FetchNotes,
    seen: &mut Option<Vec<crate::beacon::Execution>>,
) -> Option<JobRec> {
    match notes.outcome {
        Outcome::JobNotFound => Some(JobRec::default()),
        Outcome::Ok => match beacon::parse_job_view(f.ok_body()?) {
            Ok(v) => {
                let (rows, ids) = match v.executions {
                    Some(l) => {
                        let n = l.in_body.min(u32::MAX as usize) as u32;
                        let ids = l.rows.iter().map(|r| r.id).collect();
                        *seen = Some(l.rows.clone());
                        note_problems(notes, l.problems);
                        notes.rows = Some(RowCount {
                            in_body: n,
                            kept: l.rows.len() as u32 + l.no_id.len() as u32,
                            repeated: 0,
                            unusable: (l.in_body - l.rows.len() - l.no_id.len()) as u32,
                        });
                        (Some(n), ids)
                    }
                    None => (None, vec![]),
                };
                Some(JobRec {
                    found: true,
                    status: v.status,
                    spec_json: v.spec_json,
                    default_rows: rows,
                    default_ids: ids,
                })
            }
            Err(e) => {
                unparsable(notes, e);
                None
            }
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FetchErrorKind;

    fn fetched(kind: SourceKind, status: u16, body: &str) -> Fetched {
        Fetched {
            kind,
            job: Some("j".into()),
            url: "http://h/x".into(),
            status: Some(status),
            latency_us: 1,
            content_type: None,
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

    #[test]
    fn a_404_means_older_runner_unless_the_job_is_unknown() {
        let plain = fetched(SourceKind::RunnerExecAll, 404, "404 page not found\n");
        assert_eq!(answer_outcome(&plain), Outcome::OlderRunner);
        let gone = fetched(
            SourceKind::RunnerExecAll,
            404,
            r#"{"error":"job not found"}"#,
        );
        assert_eq!(answer_outcome(&gone), Outcome::JobNotFound);
        let view = fetched(SourceKind::RunnerJobDefault, 404, "nope");
        assert_eq!(answer_outcome(&view), Outcome::HttpError);
    }

    /// Issue 8: rows sharing one id are all kept; the count of the body is accounted for.
    #[test]
    fn shared_ids_are_kept_beside_the_list() {
        let row = |id: &str, q: &str| {
            format!(
                r#"{{"id":{id},"status":"failed","question_id":"{q}","model_id":"m","region":"US"}}"#
            )
        };
        let body = format!(
            r#"{{"executions":[{},{},{},{},5]}}"#,
            row("1", "a"),
            row("1", "b"),
            row("1", "c"),
            row("\"x\"", "d")
        );
        let obs = normalise(&[fetched(SourceKind::RunnerExecAll, 200, &body)]);
        let ListObs::Complete(rows) = &obs.lists[0].1 else {
            panic!("complete")
        };
        assert_eq!(rows.by_id.len(), 1);
        assert_eq!(rows.extras.len(), 3);
        assert_eq!(rows.len(), 4);
        assert!(!rows.is_empty() && JobRows::default().is_empty());
        // Counts by status include the rows kept beside the by-id list.
        assert_eq!(
            rows.by_status(),
            BTreeMap::from([("failed".to_string(), 4)])
        );
        let n = obs.notes[0].rows.unwrap();
        assert_eq!((n.in_body, n.kept, n.unusable), (5, 4, 1));
        assert_eq!(
            obs.notes[0].problems_total, 2,
            "{:?}",
            obs.notes[0].problems
        );
    }

    #[test]
    fn pages_repeat_rows_and_the_first_copy_wins() {
        let page = |ids: &[i64]| {
            let rows: Vec<String> = ids
                .iter()
                .map(|i| format!(r#"{{"id":{i},"status":"running"}}"#))
                .collect();
            format!(
                r#"{{"job":{{}},"status":"processing","executions":[{}]}}"#,
                rows.join(",")
            )
        };
        let obs = normalise(&[
            fetched(SourceKind::RunnerExecAll, 404, "404 page not found"),
            fetched(SourceKind::RunnerJobPage, 200, &page(&[1, 2, 3])),
            fetched(SourceKind::RunnerJobPage, 200, &page(&[3, 4])),
        ]);
        let ListObs::Complete(rows) = &obs.lists[0].1 else {
            panic!("complete")
        };
        assert_eq!(rows.by_id.len(), 4);
        assert!(rows.extras.is_empty());
        assert_eq!(obs.notes[2].rows.unwrap().repeated, 1);
        assert_eq!(obs.notes[0].outcome, Outcome::OlderRunner);
    }

    #[test]
    fn views_admin_and_unanswered_lists() {
        let view = |job: &str, status: &str| {
            let mut f = fetched(
                SourceKind::RunnerJobDefault,
                200,
                &format!(r#"{{"job":{{}},"status":"{status}","executions":null}}"#),
            );
            f.job = Some(job.into());
            f
        };
        let mut gone = fetched(
            SourceKind::RunnerJobDefault,
            404,
            r#"{"error":"job not found"}"#,
        );
        gone.job = Some("c".into());
        let obs = normalise(&[view("a", "queued"), view("b", "failed"), gone]);
        let st: Vec<(&str, Option<&str>, bool)> = obs
            .views
            .iter()
            .map(|(j, r)| (j.as_str(), r.status.as_deref(), r.found))
            .collect();
        assert_eq!(
            st,
            vec![
                ("a", Some("queued"), true),
                ("b", Some("failed"), true),
                ("c", None, false)
            ]
        );
        assert_eq!(obs.notes[2].outcome, Outcome::JobNotFound);
        // A default view's rows: one with an id, one without, one that is not a row.
        let mut shown = fetched(
            SourceKind::RunnerJobDefault,
            200,
            r#"{"job":{},"status":"failed","executions":[{"id":7,"status":"failed"},{"status":"failed"},3]}"#,
        );
        shown.job = Some("d".into());
        let obs = normalise(&[shown]);
        assert_eq!(obs.views[0].1.default_rows, Some(3));
        assert_eq!(obs.views[0].1.default_ids, vec![7]);
        let n = obs.notes[0].rows.unwrap();
        assert_eq!((n.in_body, n.kept, n.unusable), (3, 2, 1));
        // An admin body that is not JSON is unparsable; one that is, ok.
        let mut admin = fetched(SourceKind::RunnerAdminQueue, 200, "<html>");
        admin.job = None;
        let mut good = admin.clone();
        good.body = Some(br#"{"main":0}"#.to_vec());
        let obs = normalise(&[admin, good]);
        assert_eq!(obs.notes[0].outcome, Outcome::Unparsable);
        assert_eq!(obs.notes[1].outcome, Outcome::Ok);
        // An older runner's 404 with no page after it: no list this poll, not an empty one.
        let obs = normalise(&[fetched(
            SourceKind::RunnerExecAll,
            404,
            "404 page not found",
        )]);
        assert_eq!(obs.lists[0].1, ListObs::Incomplete);
    }

    #[test]
    fn a_failed_or_skipped_request_leaves_the_list_incomplete() {
        let mut skipped = fetched(SourceKind::RunnerJobPage, 0, "");
        skipped.status = None;
        skipped.body = None;
        skipped.error = Some((FetchErrorKind::RateBudget, "no room".into()));
        let obs = normalise(&[
            fetched(SourceKind::RunnerExecAll, 404, "404 page not found"),
            skipped,
        ]);
        assert_eq!(obs.lists[0].1, ListObs::Incomplete);
        assert_eq!(obs.notes[1].outcome, Outcome::SkippedByBudget);
        let obs = normalise(&[fetched(SourceKind::RunnerExecAll, 200, "{not json")]);
        assert_eq!(obs.lists[0].1, ListObs::Incomplete);
        assert_eq!(obs.notes[0].outcome, Outcome::Unparsable);
    }
}
