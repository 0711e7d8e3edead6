//! The poll plan: which requests each poll makes, in which order, and how far apart polls are,
//! so that the recorder never blinds itself with its own rate budget.
//!
//! - The cadence is planned before any request is sent: a poll's runner requests (each job's
//!   complete list, its default view, the admin stats) must fit in `--max-runner-rpm` (of which
//!   90 % is planned, leaving room for jitter). When they do not fit at the asked interval, the
//!   default view and admin stats are fetched on fewer polls (every 2nd ... 4th: the view
//!   changes only with the rows), and if that is not enough the interval is lengthened evenly.
//! - Within a poll, value decides the order: complete lists first, then default views, then
//!   admin. A view or admin request is sent only if the budget keeps room for the next lists.
//! - A complete list the budget cannot carry is recorded as *skipped by the recorder's budget*,
//!   the recorder's own gap, never as the runner failing.
//! - A 429 pauses every runner request until its wait is over (`Retry-After`, the runner's
//!   `X-RateLimit-Reset`, or a backoff of 5 s doubling to 60 s); a poll is placed right at the
//!   end of the pause, so the runner is never left unpolled longer than the pause.
//! - An older runner's 404 on `/executions/all` is remembered: it is probed again every five
//!   minutes, and meanwhile the job endpoint is paged directly.
//! - The runner's admin routes allow one request per 10 s per client (`AdminRateLimitMiddleware`
//!   in its `middleware/admin_auth.go`); admin requests keep 11 s apart.
//! - The extra endpoints (runner health, readiness and stuck jobs; the router's metrics, debug
//!   endpoints, queues and readiness; `--endpoint`s) are fetched about once a minute, the
//!   runner's within the budget like views. One the service answers 404 for is not offered by
//!   its version: it is asked again only every five minutes.
//! - With `--all-jobs` the runner's job list is read about every 15 s (`follow`); a job it
//!   shows for the first time gets its complete list and its default view (the spec) in that
//!   same poll.

use super::budget::RateBudget;
use super::follow::Follow;
use crate::clock::Clock;
use crate::fetch::{FetchErrorKind, Fetched, Outcome, Request, SourceKind};
use crate::normalise;
use crate::source::Source;
use reqwest::Url;
use std::collections::{BTreeSet, HashMap};

/// Rows per page when paging the job endpoint: the runner's maximum `exec_limit`.
pub const PAGE_LIMIT: usize = 200;
/// A job of more than 50 full pages (10,000 rows) is cut off: paging is the fallback for old
/// runners, whose jobs are far smaller.
const MAX_PAGES: usize = 50;
/// An older runner's `/executions/all` is probed again this often (it may be upgraded).
pub const PROBE_EVERY_US: i64 = 300_000_000;
/// The runner refuses a second admin request within 10 s; one more second for clock jitter.
pub const ADMIN_GAP_US: i64 = 11_000_000;
/// Share of `--max-runner-rpm` that the cadence plans to use.
const PLAN_SHARE: f64 = 0.9;
/// When the budget is tight, views and admin are fetched on at most every this-many polls.
const THIN_MAX: u64 = 4;
/// Waits after a 429 that said nothing about how long: 5 s, doubling up to 60 s.
const BACKOFF_FIRST_US: i64 = 5_000_000;
const BACKOFF_MAX_US: i64 = 60_000_000;
/// A 429's wait is honoured up to this long; longer would blind the recorder for the incident.
const MAX_WAIT_US: i64 = 600_000_000;
/// The extra endpoints are fetched about this often.
pub const EXTRAS_EVERY_US: i64 = 60_000_000;
/// `--all-jobs` reads the runner's job list about this often.
pub const DISCOVER_EVERY_US: i64 = 15_000_000;
/// How long `--all-jobs` keeps following a job that is terminal and unchanged, by default.
pub const DEFAULT_GRACE_US: i64 = 600_000_000;

/// The runner's extra endpoints, in the order fetched.
const RUNNER_EXTRAS: [SourceKind; 2] = [SourceKind::RunnerHealth, SourceKind::RunnerReady];
/// The router's extra endpoints (never `/env`: it dumps the router's environment).
const ROUTER_EXTRAS: [SourceKind; 6] = [
    SourceKind::RouterMetrics,
    SourceKind::RouterDebugProviders,
    SourceKind::RouterStartup,
    SourceKind::RouterCheckHistory,
    SourceKind::RouterQueue,
    SourceKind::RouterReady,
];

/// What to record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Targets {
    pub runner: Option<Url>,
    pub router: Option<Url>,
    /// Jobs always recorded (`--job`).
    pub jobs: Vec<String>,
    /// A runner token was given: record `/admin/queue-stats` and `/admin/stuck-jobs`.
    pub admin: bool,
    /// Follow every job the runner shows active (`--all-jobs`).
    pub all_jobs: bool,
    /// How long a terminal, unchanged job stays followed; 0 for `DEFAULT_GRACE_US`.
    pub grace_us: i64,
    /// Record the services' extra endpoints once a minute.
    pub extras: bool,
    /// `--endpoint NAME=URL`.
    pub endpoints: Vec<(String, Url)>,
}

/// How often polls run and what each carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Cadence {
    pub interval_us: i64,
    /// Default views (and admin stats) are fetched on every `view_every`-th poll.
    pub view_every: u64,
    /// The extra endpoints are fetched on every `extras_every`-th poll.
    pub extras_every: u64,
    /// Runner requests per minute the asked interval would need with everything every poll.
    pub needed_rpm: f64,
}

#[derive(Debug, Clone, Copy)]
struct Legacy {
    probe_at: i64,
    pages: usize,
}

enum Gate {
    Go,
    Skip(FetchErrorKind, String),
}

pub struct Scheduler {
    targets: Targets,
    requested_us: i64,
    max_rpm: u32,
    budget: RateBudget,
    pause_until: Option<i64>,
    backoff_us: i64,
    legacy: HashMap<String, Legacy>,
    polls: u64,
    last_admin: Option<i64>,
    cadence: Cadence,
    /// A change of cadence not yet told.
    notice: Option<String>,
    follow: Follow,
    /// Jobs whose default view (their spec) is due in the next poll whatever the thinning.
    first_view: BTreeSet<String>,
    /// Extra endpoints the service does not offer (a 404), and when to ask again; keyed by
    /// kind and, for `--endpoint`s, name.
    not_offered: HashMap<(SourceKind, String), i64>,
    /// Entries of the last job list without a usable id (told when it changes).
    unusable_jobs: usize,
}

/// `base` with the API path and query appended: a path prefix of the base (a runner behind
/// `/beacon/`) and its query parameters are kept.
pub fn join(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let prefix = base.path().trim_end_matches('/');
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    u.set_path(&format!("{prefix}{p}"));
    let mut pairs: Vec<(String, String)> = base
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Ok(api) = Url::parse(&format!("http://api/?{q}")) {
        pairs.extend(
            api.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    u.set_fragment(None);
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u
}

/// `/api/v1/jobs/{id}`, the id percent-encoded (job ids are plain, but hostile input is not).
pub fn job_path(job: &str) -> String {
    let enc: String = job
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/api/v1/jobs/{enc}")
}

impl Scheduler {
    pub fn new(targets: Targets, interval_us: i64, max_rpm: u32) -> Self {
        let grace = if targets.grace_us > 0 {
            targets.grace_us
        } else {
            DEFAULT_GRACE_US
        };
        let follow = Follow::new(targets.jobs.clone(), grace);
        let mut s = Scheduler {
            first_view: targets.jobs.iter().cloned().collect(),
            follow,
            not_offered: HashMap::new(),
            unusable_jobs: 0,
            targets,
            requested_us: interval_us.max(1_000),
            max_rpm: max_rpm.max(1),
            budget: RateBudget::new(max_rpm),
            pause_until: None,
            backoff_us: BACKOFF_FIRST_US,
            legacy: HashMap::new(),
            polls: 0,
            last_admin: None,
            cadence: Cadence {
                interval_us,
                view_every: 1,
                extras_every: 1,
                needed_rpm: 0.0,
            },
            notice: None,
        };
        s.cadence = s.plan_cadence();
        s.notice = s.describe();
        s
    }

    pub fn cadence(&self) -> &Cadence {
        &self.cadence
    }

    /// A sentence about the cadence, once when it differs from what was asked and again each
    /// time it changes.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    /// The jobs polled now: pinned, and with `--all-jobs` the ones followed.
    pub fn jobs(&self) -> &[String] {
        self.follow.jobs()
    }

    fn runner_jobs(&self) -> usize {
        if self.targets.runner.is_some() {
            self.jobs().len()
        } else {
            0
        }
    }

    /// Polls between two fetches of something wanted every `period_us`.
    fn every(&self, interval_us: i64, period_us: i64) -> u64 {
        ((period_us as f64 / interval_us.max(1) as f64).round() as u64).max(1)
    }

    /// Runner requests per poll for the extra endpoints and the job list, amortised.
    fn runner_background(&self, interval_us: i64) -> f64 {
        if self.targets.runner.is_none() {
            return 0.0;
        }
        let mut per = 0.0;
        if self.targets.extras {
            per += RUNNER_EXTRAS.len() as f64 / self.every(interval_us, EXTRAS_EVERY_US) as f64;
        }
        if self.targets.all_jobs {
            per += 1.0 / self.every(interval_us, DISCOVER_EVERY_US) as f64;
        }
        per
    }

    /// Runner requests of one poll's complete lists, as last seen (pages of older runners).
    fn list_cost(&self) -> f64 {
        if self.targets.runner.is_none() {
            return 0.0;
        }
        self.jobs()
            .iter()
            .map(|j| self.legacy.get(j).map_or(1, |l| l.pages.max(1)) as f64)
            .sum()
    }

    fn plan_cadence(&self) -> Cadence {
        let lists = self.list_cost();
        let extras = self.runner_jobs() as f64
            + if self.targets.admin && self.targets.runner.is_some() {
                1.0
            } else {
                0.0
            };
        let per_min = |interval_us: i64, k: u64| {
            (lists + extras / k as f64 + self.runner_background(interval_us)) * 60e6
                / interval_us as f64
        };
        let cap = self.max_rpm as f64 * PLAN_SHARE;
        let needed_rpm = per_min(self.requested_us, 1);
        for k in 1..=THIN_MAX {
            if per_min(self.requested_us, k) <= cap {
                return Cadence {
                    interval_us: self.requested_us,
                    view_every: k,
                    extras_every: self.every(self.requested_us, EXTRAS_EVERY_US),
                    needed_rpm,
                };
            }
        }
        // Lengthen evenly; round up to whole milliseconds. The background requests come at
        // fixed periods, so they cost the same per minute at any interval.
        let background_per_min =
            self.runner_background(self.requested_us) * 60e6 / self.requested_us as f64;
        let need = (lists + extras / THIN_MAX as f64) * 60e6 / (cap - background_per_min).max(1.0);
        let interval_us = ((need / 1e3).ceil() as i64 * 1_000).max(self.requested_us);
        Cadence {
            interval_us,
            view_every: THIN_MAX,
            extras_every: self.every(interval_us, EXTRAS_EVERY_US),
            needed_rpm,
        }
    }

    fn describe(&self) -> Option<String> {
        let c = &self.cadence;
        if c.interval_us == self.requested_us && c.view_every == 1 {
            return None;
        }
        let jobs = self.runner_jobs();
        let mut what = format!("{jobs} complete list{}", if jobs == 1 { "" } else { "s" });
        if self.legacy.values().any(|l| l.pages > 1) {
            what.push_str(" (paged: an older runner)");
        }
        what.push_str(&format!(
            " + {jobs} default view{}",
            if jobs == 1 { "" } else { "s" }
        ));
        if self.targets.admin {
            what.push_str(" + admin stats");
        }
        let views = format!(
            "default views{} every {} polls ({})",
            if self.targets.admin {
                " and admin stats"
            } else {
                ""
            },
            c.view_every,
            crate::duration::human(c.interval_us * c.view_every as i64)
        );
        Some(if c.interval_us == self.requested_us {
            format!(
                "every {} the runner needs {:.0} requests/min ({what}); the budget is {}/min (--max-runner-rpm): complete lists every poll, {views}",
                crate::duration::human(self.requested_us),
                c.needed_rpm,
                self.max_rpm
            )
        } else {
            format!(
                "every {} the runner needs {:.0} requests/min ({what}); the budget is {}/min (--max-runner-rpm): polling every {} instead, complete lists every poll, {views}",
                crate::duration::human(self.requested_us),
                c.needed_rpm,
                self.max_rpm,
                crate::duration::human(c.interval_us)
            )
        })
    }

    /// Re-plans after what a poll learned (pages of an older runner); a change is told.
    fn replan(&mut self) {
        let c = self.plan_cadence();
        if c.interval_us != self.cadence.interval_us || c.view_every != self.cadence.view_every {
            self.cadence = c;
            let said = self.describe().unwrap_or_else(|| {
                format!(
                    "polling every {} again, everything every poll",
                    crate::duration::human(self.requested_us)
                )
            });
            self.tell(said);
        }
    }

    /// When the poll after one that started at `last_start` begins: one interval later; but
    /// right when a 429's pause ends if that comes first, or shortly after (within half an
    /// interval), so that the runner is asked again the moment it allows.
    pub fn next_poll_at(&self, last_start: i64) -> i64 {
        let regular = last_start + self.cadence.interval_us;
        match self.pause_until {
            Some(p) if p > last_start && p < regular + self.cadence.interval_us / 2 => p,
            _ => regular,
        }
    }

    fn gate(&mut self, now: i64) -> Gate {
        if let Some(p) = self.pause_until
            && now < p
        {
            return Gate::Skip(
                FetchErrorKind::Waiting,
                format!(
                    "not sent: the runner answered 429; waiting {} more as it asked",
                    crate::duration::human(p - now)
                ),
            );
        }
        if self.budget.available(now) == 0 {
            return Gate::Skip(
                FetchErrorKind::RateBudget,
                format!(
                    "not sent: {} runner requests in the last minute is the recorder's budget (--max-runner-rpm)",
                    self.max_rpm
                ),
            );
        }
        self.budget.take(now);
        Gate::Go
    }

    /// A view or admin request: only when not paused and the budget keeps room for the next
    /// poll's complete lists.
    fn gate_optional(&mut self, now: i64) -> bool {
        if self.pause_until.is_some_and(|p| now < p) {
            return false;
        }
        let reserve = self.list_cost().ceil() as u32;
        if self.budget.available(now) > reserve {
            self.budget.take(now);
            true
        } else {
            false
        }
    }

    /// Learns from a runner answer: a 429 pauses the runner.
    fn observe(&mut self, f: &Fetched, now: i64) {
        match f.status {
            Some(429) => {
                let wait = match f.retry_after {
                    Some(s) => (s as i64).saturating_mul(1_000_000).max(1_000_000),
                    None => {
                        let w = self.backoff_us;
                        self.backoff_us = (self.backoff_us * 2).min(BACKOFF_MAX_US);
                        w
                    }
                };
                let until = now + wait.min(MAX_WAIT_US);
                self.pause_until = Some(self.pause_until.map_or(until, |p| p.max(until)));
            }
            Some(200..=299) => self.backoff_us = BACKOFF_FIRST_US,
            _ => {}
        }
    }

    fn request(&self, base: &Url, kind: SourceKind, job: Option<&str>, path: &str) -> Request {
        Request {
            kind,
            job: job.map(str::to_string),
            url: join(base, path),
        }
    }

    async fn send<S: Source>(&mut self, src: &S, clock: &dyn Clock, req: Request) -> Fetched {
        let f = src.fetch(req).await;
        self.observe(&f, clock.now_us());
        f
    }

    /// The complete list of one job: `/executions/all`, or on an older runner every page.
    async fn list<S: Source>(
        &mut self,
        src: &S,
        clock: &dyn Clock,
        base: &Url,
        job: &str,
        out: &mut Vec<Fetched>,
    ) {
        let path = job_path(job);
        let now = clock.now_us();
        let known = self.legacy.get(job).copied();
        if known.is_none_or(|l| now >= l.probe_at) {
            let req = self.request(
                base,
                SourceKind::RunnerExecAll,
                Some(job),
                &format!("{path}/executions/all"),
            );
            if let Gate::Skip(kind, msg) = self.gate(now) {
                out.push(Fetched::failed(&req, kind, msg));
                return;
            }
            let f = self.send(src, clock, req).await;
            let outcome = normalise::answer_outcome(&f);
            out.push(f);
            if outcome != Outcome::OlderRunner {
                self.legacy.remove(job);
                return;
            }
            self.legacy.insert(
                job.to_string(),
                Legacy {
                    probe_at: now + PROBE_EVERY_US,
                    pages: known.map_or(1, |l| l.pages),
                },
            );
        }
        // Page at the maximum page size until a short page. Rows sharing `created_at` can
        // repeat or be skipped across pages; the normaliser keeps the first copy.
        let mut pages = 0;
        for page in 0..MAX_PAGES {
            let req = self.request(
                base,
                SourceKind::RunnerJobPage,
                Some(job),
                &format!(
                    "{path}?include=executions&exec_limit={PAGE_LIMIT}&exec_offset={}",
                    page * PAGE_LIMIT
                ),
            );
            if let Gate::Skip(kind, msg) = self.gate(clock.now_us()) {
                out.push(Fetched::failed(&req, kind, msg));
                break;
            }
            let f = self.send(src, clock, req).await;
            let rows = normalise::page_len(&f);
            out.push(f);
            pages += 1;
            match rows {
                Some(n) if n >= PAGE_LIMIT => continue,
                _ => break,
            }
        }
        if let Some(l) = self.legacy.get_mut(job) {
            l.pages = pages.max(1);
        }
    }

    /// Every runner request of one poll, in order of value.
    async fn runner<S: Source>(&mut self, src: &S, clock: &dyn Clock, round: bool) -> Vec<Fetched> {
        let mut out = Vec::new();
        let Some(base) = self.targets.runner.clone() else {
            return out;
        };
        if self.targets.all_jobs
            && self
                .polls
                .saturating_sub(1)
                .is_multiple_of(self.every(self.cadence.interval_us, DISCOVER_EVERY_US))
        {
            self.discover(src, clock, &base, &mut out).await;
        }
        let jobs = self.jobs().to_vec();
        for job in &jobs {
            let from = out.len();
            self.list(src, clock, &base, job, &mut out).await;
            self.note_rows(job, &out[from..], clock.now_us());
        }
        for job in &jobs {
            if (round || self.first_view.contains(job)) && self.gate_optional(clock.now_us()) {
                self.first_view.remove(job);
                {
                    let req = self.request(
                        &base,
                        SourceKind::RunnerJobDefault,
                        Some(job),
                        &format!("{}?include=executions", job_path(job)),
                    );
                    out.push(self.send(src, clock, req).await);
                }
            }
        }
        let extras = self.targets.extras && self.extras_round();
        if round || extras {
            let now = clock.now_us();
            // One admin request per 10 s: the stuck jobs on extra rounds, else the queue.
            let kind = if extras {
                SourceKind::RunnerStuckJobs
            } else {
                SourceKind::RunnerAdminQueue
            };
            if self.targets.admin
                && self.offered(kind, "", now)
                && self.last_admin.is_none_or(|t| now - t >= ADMIN_GAP_US)
                && self.gate_optional(now)
            {
                self.last_admin = Some(now);
                let path = kind.extra_path().unwrap_or("/admin/queue-stats");
                let req = self.request(&base, kind, None, path);
                let f = self.send(src, clock, req).await;
                self.note_offered(&f, "", now);
                out.push(f);
            }
        }
        if extras {
            for kind in RUNNER_EXTRAS {
                let now = clock.now_us();
                if self.offered(kind, "", now) && self.gate_optional(now) {
                    let req = self.request(&base, kind, None, kind.extra_path().unwrap_or("/"));
                    let f = self.send(src, clock, req).await;
                    self.note_offered(&f, "", now);
                    out.push(f);
                }
            }
        }
        out
    }

    /// Whether this poll fetches the extra endpoints.
    fn extras_round(&self) -> bool {
        self.polls
            .saturating_sub(1)
            .is_multiple_of(self.cadence.extras_every)
    }

    /// Whether to ask for an extra endpoint now: always, unless it answered 404 less than
    /// five minutes ago.
    fn offered(&self, kind: SourceKind, name: &str, now: i64) -> bool {
        self.not_offered
            .get(&(kind, name.to_string()))
            .is_none_or(|&at| now >= at)
    }

    fn note_offered(&mut self, f: &Fetched, name: &str, now: i64) {
        let key = (f.kind, name.to_string());
        if normalise::answer_outcome(f) == Outcome::NotOffered {
            self.not_offered.insert(key, now + PROBE_EVERY_US);
        } else {
            self.not_offered.remove(&key);
        }
    }

    /// Reads the runner's job list and updates the jobs followed.
    async fn discover<S: Source>(
        &mut self,
        src: &S,
        clock: &dyn Clock,
        base: &Url,
        out: &mut Vec<Fetched>,
    ) {
        let now = clock.now_us();
        let path = SourceKind::RunnerJobs
            .extra_path()
            .unwrap_or("/api/v1/jobs");
        let req = self.request(base, SourceKind::RunnerJobs, None, path);
        if let Gate::Skip(kind, msg) = self.gate(now) {
            out.push(Fetched::failed(&req, kind, msg));
            return;
        }
        let f = self.send(src, clock, req).await;
        let listed = f
            .ok_body()
            .and_then(|b| crate::beacon::parse_jobs_list(b).ok());
        out.push(f);
        let Some(list) = listed else { return };
        if list.unusable != self.unusable_jobs {
            self.unusable_jobs = list.unusable;
            if list.unusable > 0 {
                self.tell(format!(
                    "{} in the runner's job list not followed: no usable id (empty, `.`, `..`, \
                     control characters or over {} characters; the list is recorded)",
                    if list.unusable == 1 {
                        "1 entry".to_string()
                    } else {
                        format!("{} entries", list.unusable)
                    },
                    crate::beacon::MAX_ID_LEN
                ));
            }
        }
        let before: BTreeSet<String> = self.jobs().iter().cloned().collect();
        if let Some(note) = self.follow.listed(&list.jobs, clock.now_us()) {
            for j in self.follow.jobs() {
                if !before.contains(j) {
                    self.first_view.insert(j.clone());
                }
            }
            self.tell(note);
            self.replan();
        }
    }

    /// Adds to what is to be told after this poll (nothing said before is lost).
    fn tell(&mut self, s: String) {
        self.notice = Some(match self.notice.take() {
            Some(n) => format!("{n}; {s}"),
            None => s,
        });
    }

    /// Tells the follower whether a job's rows changed (its complete list's bodies).
    fn note_rows(&mut self, job: &str, fetched: &[Fetched], now: i64) {
        use std::hash::{Hash, Hasher};
        if fetched.is_empty() || fetched.iter().any(|f| f.ok_body().is_none()) {
            return;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for f in fetched {
            f.body.hash(&mut h);
        }
        self.follow.rows_seen(job, h.finish(), now);
    }

    /// The router's extra endpoints and the `--endpoint`s, at the same time.
    async fn extras<S: Source>(&mut self, src: &S, clock: &dyn Clock) -> Vec<Fetched> {
        let now = clock.now_us();
        let mut reqs = Vec::new();
        if let Some(r) = &self.targets.router {
            for kind in ROUTER_EXTRAS {
                if self.offered(kind, "", now) {
                    let url = join(r, kind.extra_path().unwrap_or("/"));
                    reqs.push((
                        String::new(),
                        Request {
                            kind,
                            job: None,
                            url,
                        },
                    ));
                }
            }
        }
        for (name, url) in self.targets.endpoints.clone() {
            // One on the runner's own host counts against its budget.
            let on_runner = self.targets.runner.as_ref().is_some_and(|r| {
                r.host_str() == url.host_str()
                    && r.port_or_known_default() == url.port_or_known_default()
            });
            if on_runner && !self.gate_optional(now) {
                continue;
            }
            let req = Request {
                kind: SourceKind::Custom,
                job: None,
                url,
            };
            reqs.push((name, req));
        }
        let names: Vec<String> = reqs.iter().map(|(n, _)| n.clone()).collect();
        let got = futures_util::future::join_all(reqs.into_iter().map(|(_, r)| src.fetch(r))).await;
        for (f, name) in got.iter().zip(&names) {
            if f.kind != SourceKind::Custom {
                self.note_offered(f, name, now);
            }
        }
        got
    }

    /// One poll: runner requests one after another, the router's two at the same time. Stable
    /// order: runner lists, views, admin, then router health and providers.
    pub async fn poll<S: Source>(&mut self, src: &S, clock: &dyn Clock) -> Vec<Fetched> {
        let round = self.polls.is_multiple_of(self.cadence.view_every);
        self.polls += 1;
        let router = self.targets.router.clone();
        let router_part = async {
            match router {
                Some(r) => {
                    let (h, p) = tokio::join!(
                        src.fetch(Request {
                            kind: SourceKind::RouterHealth,
                            job: None,
                            url: join(&r, "/health"),
                        }),
                        src.fetch(Request {
                            kind: SourceKind::RouterProviders,
                            job: None,
                            url: join(&r, "/providers"),
                        })
                    );
                    vec![h, p]
                }
                None => Vec::new(),
            }
        };
        let extras = self.targets.extras && self.extras_round();
        let (mut out, router) = tokio::join!(self.runner(src, clock, round), router_part);
        out.extend(router);
        if extras || (!self.targets.endpoints.is_empty() && self.extras_round()) {
            let ex = self.extras(src, clock).await;
            out.extend(ex);
        }
        self.replan();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(jobs: usize, admin: bool) -> Targets {
        Targets {
            runner: Some(Url::parse("http://runner/").unwrap()),
            router: None,
            jobs: (0..jobs).map(|i| format!("job-{i}")).collect(),
            admin,
            ..Default::default()
        }
    }

    #[test]
    fn a_cadence_that_fits_is_kept() {
        let s = Scheduler::new(targets(1, false), 5_000_000, 50);
        assert_eq!(
            s.cadence(),
            &Cadence {
                interval_us: 5_000_000,
                view_every: 1,
                extras_every: 12,
                needed_rpm: 24.0
            }
        );
    }

    /// Issue 8: interval 1 s, two jobs, 50 rpm: lengthened evenly, views thinned, said once.
    #[test]
    fn a_tight_budget_thins_views_then_lengthens_the_interval() {
        let mut s = Scheduler::new(targets(2, false), 1_000_000, 50);
        let c = s.cadence().clone();
        assert_eq!(c.view_every, 4);
        // (2 lists + 2 views / 4) per poll within 45 of 50 per minute: every 3.34 s.
        assert_eq!(c.interval_us, 3_334_000);
        let n = s.take_notice().unwrap();
        assert!(n.contains("polling every 3.3s instead"), "{n}");
        assert!(n.contains("240 requests/min"), "{n}");
        assert!(s.take_notice().is_none(), "said once");
        // Thinning alone is enough here: the interval stays.
        let s = Scheduler::new(targets(1, false), 2_000_000, 50);
        assert_eq!(s.cadence().interval_us, 2_000_000);
        assert_eq!(s.cadence().view_every, 2);
    }

    #[test]
    fn join_keeps_prefix_and_query() {
        let base = Url::parse("http://h:1/beacon/?token=t").unwrap();
        assert_eq!(
            join(&base, "/api/v1/jobs/x?include=executions").as_str(),
            "http://h:1/beacon/api/v1/jobs/x?token=t&include=executions"
        );
        assert_eq!(job_path("a b/c"), "/api/v1/jobs/a%20b%2Fc");
    }
}
