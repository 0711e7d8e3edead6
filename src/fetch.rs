//! What one request was for and what it got: the data shared by the source that fetches, the
//! normaliser that reads the answers, the store that keeps them and the analysis that reports
//! them. No I/O here.
//!
//! `Outcome` is the one definition of how a request went. The live status line, the summary of
//! `record`, `snapshots`, the report and the timeline all count failures through it.

use std::fmt;

/// Which endpoint a request was for. Stored as u8 (`store::schema::FetchRec::source`); the
/// numbers are part of the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    /// `GET /api/v1/jobs/{id}/executions/all`: the complete list.
    RunnerExecAll = 0,
    /// `GET /api/v1/jobs/{id}?include=executions`: the default view a person gets.
    RunnerJobDefault = 1,
    /// `GET /api/v1/jobs/{id}?include=executions&exec_limit=200&exec_offset=k`: fallback paging.
    RunnerJobPage = 2,
    RouterHealth = 3,
    RouterProviders = 4,
    /// `GET /admin/queue-stats`, only when a runner token was given.
    RunnerAdminQueue = 5,
    /// `GET /api/v1/jobs?limit=200`: the jobs `--all-jobs` follows.
    RunnerJobs = 6,
    /// `GET /health`: the runner's services (in practice always "healthy").
    RunnerHealth = 7,
    /// `GET /health/ready`: a real database ping; 503 when down.
    RunnerReady = 8,
    /// `GET /admin/stuck-jobs` (token).
    RunnerStuckJobs = 9,
    /// `GET /metrics` (JSON): provider totals, latency and success rate of the healthy ones.
    RouterMetrics = 10,
    /// `GET /debug/providers`: providers with endpoint, concurrency and check age.
    RouterDebugProviders = 11,
    /// `GET /debug/startup-status`: whether the start-up checks completed.
    RouterStartup = 12,
    /// `GET /debug/health-check-history`: each provider's last check.
    RouterCheckHistory = 13,
    /// `GET /queue/status`: the router's region queues.
    RouterQueue = 14,
    /// `GET /ready`: the router's readiness probe.
    RouterReady = 15,
    /// `--endpoint NAME=URL`: any other JSON (or Prometheus text) endpoint.
    Custom = 16,
}

/// Every source kind, in number order.
pub const SOURCE_KINDS: [SourceKind; 17] = [
    SourceKind::RunnerExecAll,
    SourceKind::RunnerJobDefault,
    SourceKind::RunnerJobPage,
    SourceKind::RouterHealth,
    SourceKind::RouterProviders,
    SourceKind::RunnerAdminQueue,
    SourceKind::RunnerJobs,
    SourceKind::RunnerHealth,
    SourceKind::RunnerReady,
    SourceKind::RunnerStuckJobs,
    SourceKind::RouterMetrics,
    SourceKind::RouterDebugProviders,
    SourceKind::RouterStartup,
    SourceKind::RouterCheckHistory,
    SourceKind::RouterQueue,
    SourceKind::RouterReady,
    SourceKind::Custom,
];

impl SourceKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        SOURCE_KINDS.get(v as usize).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::RunnerExecAll => "runner.executions_all",
            Self::RunnerJobDefault => "runner.job_view",
            Self::RunnerJobPage => "runner.job_page",
            Self::RouterHealth => "router.health",
            Self::RouterProviders => "router.providers",
            Self::RunnerAdminQueue => "runner.admin_queue_stats",
            Self::RunnerJobs => "runner.jobs",
            Self::RunnerHealth => "runner.health",
            Self::RunnerReady => "runner.ready",
            Self::RunnerStuckJobs => "runner.admin_stuck_jobs",
            Self::RouterMetrics => "router.metrics",
            Self::RouterDebugProviders => "router.debug_providers",
            Self::RouterStartup => "router.startup_status",
            Self::RouterCheckHistory => "router.health_check_history",
            Self::RouterQueue => "router.queue_status",
            Self::RouterReady => "router.ready",
            Self::Custom => "endpoint",
        }
    }

    /// The path of a fixed extra endpoint (`None` for job requests, the two router sources
    /// of every poll, and custom endpoints).
    pub fn extra_path(self) -> Option<&'static str> {
        Some(match self {
            Self::RunnerJobs => "/api/v1/jobs?limit=200",
            Self::RunnerHealth => "/health",
            Self::RunnerReady => "/health/ready",
            Self::RunnerStuckJobs => "/admin/stuck-jobs",
            Self::RouterMetrics => "/metrics",
            Self::RouterDebugProviders => "/debug/providers",
            Self::RouterStartup => "/debug/startup-status",
            Self::RouterCheckHistory => "/debug/health-check-history",
            Self::RouterQueue => "/queue/status",
            Self::RouterReady => "/ready",
            _ => return None,
        })
    }

    /// Endpoints recorded for themselves, diffed by key (not job lists, views or the router's
    /// health and providers, which have their own analysis).
    pub fn is_keyed(self) -> bool {
        matches!(
            self,
            Self::RunnerAdminQueue
                | Self::RunnerHealth
                | Self::RunnerReady
                | Self::RunnerStuckJobs
                | Self::RouterMetrics
                | Self::RouterDebugProviders
                | Self::RouterStartup
                | Self::RouterCheckHistory
                | Self::RouterQueue
                | Self::RouterReady
                | Self::Custom
        )
    }

    /// Needs the runner token (sent only to `/admin/*`).
    pub fn is_admin(self) -> bool {
        matches!(self, Self::RunnerAdminQueue | Self::RunnerStuckJobs)
    }

    /// The name of a stored source number, `?` for one this version does not know.
    pub fn name_of(v: u8) -> &'static str {
        Self::from_u8(v).map_or("?", Self::name)
    }

    pub fn is_runner(self) -> bool {
        matches!(
            self,
            Self::RunnerExecAll
                | Self::RunnerJobDefault
                | Self::RunnerJobPage
                | Self::RunnerAdminQueue
                | Self::RunnerJobs
                | Self::RunnerHealth
                | Self::RunnerReady
                | Self::RunnerStuckJobs
        )
    }

    /// Requests that make up a job's complete list.
    pub fn is_list(self) -> bool {
        matches!(self, Self::RunnerExecAll | Self::RunnerJobPage)
    }
}

/// How a request failed before a complete HTTP response was in hand, or why it was not sent.
/// Stored as u8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FetchErrorKind {
    Other = 0,
    ConnectRefused = 1,
    Timeout = 2,
    Dns = 3,
    Tls = 4,
    /// The body was larger than the cap; what arrived is dropped.
    BodyTooLarge = 5,
    /// The connection ended before the body was complete.
    BodyIncomplete = 6,
    /// Not sent: the recorder's own rate budget had no room for it. A gap of the recorder,
    /// never a failure of the source.
    RateBudget = 7,
    /// Connection reset or closed before any response.
    ConnectionClosed = 8,
    /// Not sent: the runner answered 429 and the recorder waits out its `Retry-After`.
    Waiting = 9,
}

impl FetchErrorKind {
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::ConnectRefused,
            2 => Self::Timeout,
            3 => Self::Dns,
            4 => Self::Tls,
            5 => Self::BodyTooLarge,
            6 => Self::BodyIncomplete,
            7 => Self::RateBudget,
            8 => Self::ConnectionClosed,
            9 => Self::Waiting,
            _ => Self::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Other => "other",
            Self::ConnectRefused => "connect_refused",
            Self::Timeout => "timeout",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::BodyTooLarge => "body_too_large",
            Self::BodyIncomplete => "body_incomplete",
            Self::RateBudget => "skipped_by_budget",
            Self::ConnectionClosed => "connection_closed",
            Self::Waiting => "waiting_retry_after",
        }
    }

    /// Not sent at all, by the recorder's choice.
    pub fn not_sent(self) -> bool {
        matches!(self, Self::RateBudget | Self::Waiting)
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one request went: the one definition every output counts by. Stored as u8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// A 2xx answer whose body reads as what the endpoint returns.
    Ok = 0,
    /// `404` on `/executions/all` from a runner without that route: the recorder pages instead.
    OlderRunner = 1,
    /// `404 {"error":"job not found"}`: an answer about the job, not a failed fetch.
    JobNotFound = 2,
    /// Any other HTTP status (3xx redirects included: they are recorded, never followed).
    HttpError = 3,
    /// A 2xx answer whose body does not read as this endpoint's.
    Unparsable = 4,
    /// No complete answer: refused, timeout, reset, cut-off or over-cap body, TLS, DNS.
    Transport = 5,
    /// Not sent: the recorder's budget had no room. The recorder's gap.
    SkippedByBudget = 6,
    /// Not sent: waiting out a 429's `Retry-After`. A gap the source asked for.
    Waiting = 7,
    /// `404` on an extra endpoint this version of the service does not offer: an answer, not
    /// a failure (probed again every five minutes).
    NotOffered = 8,
}

impl Outcome {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Ok,
            1 => Self::OlderRunner,
            2 => Self::JobNotFound,
            3 => Self::HttpError,
            4 => Self::Unparsable,
            5 => Self::Transport,
            6 => Self::SkippedByBudget,
            7 => Self::Waiting,
            8 => Self::NotOffered,
            _ => return None,
        })
    }

    /// Every outcome, in stored order.
    pub const ALL: [Outcome; 9] = [
        Self::Ok,
        Self::OlderRunner,
        Self::JobNotFound,
        Self::HttpError,
        Self::Unparsable,
        Self::Transport,
        Self::SkippedByBudget,
        Self::Waiting,
        Self::NotOffered,
    ];

    /// Its name in JSON: `ok`, `older_runner`, `http_error`, `transport`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::OlderRunner => "older_runner",
            Self::JobNotFound => "job_not_found",
            Self::HttpError => "http_error",
            Self::Unparsable => "unparsable",
            Self::Transport => "transport",
            Self::SkippedByBudget => "skipped_by_budget",
            Self::Waiting => "waiting_retry_after",
            Self::NotOffered => "not_offered",
        }
    }

    /// The source failed to give what was asked.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::HttpError | Self::Unparsable | Self::Transport)
    }

    /// Not sent: a gap in the recording, not something the source did.
    pub fn is_gap(self) -> bool {
        matches!(self, Self::SkippedByBudget | Self::Waiting)
    }

    /// The outcome of a fetch from its transport facts alone (what a body says is the
    /// normaliser's to judge: `Ok` here may still turn out `Unparsable`, `OlderRunner` or
    /// `JobNotFound`).
    pub fn of_transport(status: Option<u16>, error: Option<FetchErrorKind>) -> Self {
        match (error, status) {
            (Some(FetchErrorKind::RateBudget), _) => Self::SkippedByBudget,
            (Some(FetchErrorKind::Waiting), _) => Self::Waiting,
            (Some(_), _) => Self::Transport,
            (None, Some(200..=299)) => Self::Ok,
            (None, _) => Self::HttpError,
        }
    }
}

/// The outcome as a short word: `ok`, `http 503`, `timeout`, `skipped_by_budget`, ...
pub fn outcome_word(
    outcome: Outcome,
    status: Option<u16>,
    error: Option<FetchErrorKind>,
) -> String {
    match outcome {
        Outcome::Ok => "ok".into(),
        Outcome::OlderRunner => "older_runner".into(),
        Outcome::JobNotFound => "job_not_found".into(),
        Outcome::NotOffered => "not_offered".into(),
        Outcome::HttpError => match status {
            Some(s) => format!("http {s}"),
            None => "no response".into(),
        },
        Outcome::Unparsable => "unparsable".into(),
        Outcome::Transport | Outcome::SkippedByBudget | Outcome::Waiting => {
            error.unwrap_or(FetchErrorKind::Other).name().to_string()
        }
    }
}

/// One request, as the poll plan asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: SourceKind,
    /// The job a runner request is for.
    pub job: Option<String>,
    /// The full URL to send (it may carry credentials; `Fetched::url` never does).
    pub url: reqwest::Url,
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub kind: SourceKind,
    /// The job a runner request was for.
    pub job: Option<String>,
    /// The URL, secrets removed (`redact::url`).
    pub url: String,
    pub status: Option<u16>,
    pub latency_us: u64,
    pub content_type: Option<String>,
    /// The body as received, for any status.
    pub body: Option<Vec<u8>>,
    pub error: Option<(FetchErrorKind, String)>,
    /// How long a 429 asked to wait, in seconds (from `Retry-After`, `X-RateLimit-Reset` or the
    /// body's `retry_after`).
    pub retry_after: Option<u64>,
    /// A redirect's `Location`, secrets removed. Redirects are never followed.
    pub location: Option<String>,
    /// The server's clock: its `Date` header, µs since the epoch.
    pub date_us: Option<i64>,
    /// When it was sent, on the recorder's clock (µs since the epoch); `None` when not sent.
    pub sent_at_us: Option<i64>,
    /// The first attempt's failure, when the request failed before any response on a kept
    /// connection and was sent again on a new one (`source::http`).
    pub retried: Option<(FetchErrorKind, String)>,
    /// Secrets the body echoed (the runner's token, a password or secret parameter of the
    /// URL), replaced by `REDACTED` before anything kept it: how many.
    pub secrets_removed: u32,
}

impl Fetched {
    /// A request that was never sent or failed without a response.
    pub fn failed(req: &Request, err: FetchErrorKind, msg: String) -> Self {
        Fetched {
            kind: req.kind,
            job: req.job.clone(),
            url: crate::redact::url(&req.url),
            status: None,
            latency_us: 0,
            content_type: None,
            body: None,
            error: Some((err, msg)),
            retry_after: None,
            location: None,
            date_us: None,
            sent_at_us: None,
            retried: None,
            secrets_removed: 0,
        }
    }

    pub fn ok_body(&self) -> Option<&[u8]> {
        match (self.status, &self.body, &self.error) {
            (Some(200..=299), Some(b), None) => Some(b),
            _ => None,
        }
    }

    pub fn transport_outcome(&self) -> Outcome {
        Outcome::of_transport(self.status, self.error.as_ref().map(|e| e.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in 0..=16 {
            assert_eq!(SourceKind::from_u8(k).unwrap() as u8, k);
        }
        assert_eq!(SourceKind::from_u8(17), None);
        for k in 0..=9 {
            assert_eq!(FetchErrorKind::from_u8(k) as u8, k);
        }
        for k in 0..=8 {
            assert_eq!(Outcome::from_u8(k).unwrap() as u8, k);
        }
        assert_eq!(Outcome::from_u8(9), None);
    }

    #[test]
    fn gaps_are_not_failures() {
        let budget = Outcome::of_transport(None, Some(FetchErrorKind::RateBudget));
        assert!(budget.is_gap() && !budget.is_failure());
        let wait = Outcome::of_transport(None, Some(FetchErrorKind::Waiting));
        assert!(wait.is_gap() && !wait.is_failure());
        assert!(Outcome::of_transport(Some(503), None).is_failure());
        assert!(Outcome::of_transport(Some(302), None).is_failure());
        assert!(Outcome::of_transport(None, Some(FetchErrorKind::Timeout)).is_failure());
        assert!(!Outcome::of_transport(Some(200), None).is_failure());
        assert!(!Outcome::OlderRunner.is_failure() && !Outcome::JobNotFound.is_failure());
    }
}
