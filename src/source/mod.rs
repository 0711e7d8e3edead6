//! Fetching over HTTP: what a request returned (`Fetched`), how it failed (`FetchErrorKind`),
//! the runner's rate budget, and the plan of requests for one poll.
//!
//! Every request of a poll ends in a `Fetched`, success or failure: a source that fails is
//! data, never a reason to stop recording.

mod budget;
mod http;

pub use budget::RateBudget;
pub use http::{HttpSource, HttpSourceConfig};

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
}

impl SourceKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::RunnerExecAll,
            1 => Self::RunnerJobDefault,
            2 => Self::RunnerJobPage,
            3 => Self::RouterHealth,
            4 => Self::RouterProviders,
            5 => Self::RunnerAdminQueue,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::RunnerExecAll => "runner.executions_all",
            Self::RunnerJobDefault => "runner.job_view",
            Self::RunnerJobPage => "runner.job_page",
            Self::RouterHealth => "router.health",
            Self::RouterProviders => "router.providers",
            Self::RunnerAdminQueue => "runner.admin_queue_stats",
        }
    }

    pub fn is_runner(self) -> bool {
        matches!(
            self,
            Self::RunnerExecAll
                | Self::RunnerJobDefault
                | Self::RunnerJobPage
                | Self::RunnerAdminQueue
        )
    }
}

/// How a request failed before a complete HTTP response was in hand. Stored as u8.
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
    /// Not sent: the runner rate budget (or a 429's Retry-After) did not allow it in time.
    RateBudget = 7,
    /// Connection reset or closed before any response.
    ConnectionClosed = 8,
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
            Self::RateBudget => "rate_budget",
            Self::ConnectionClosed => "connection_closed",
        }
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub kind: SourceKind,
    /// The job a runner request was for.
    pub job: Option<String>,
    /// The URL, credentials stripped.
    pub url: String,
    pub status: Option<u16>,
    pub latency_us: u64,
    pub content_type: Option<String>,
    /// The body as received, for any status.
    pub body: Option<Vec<u8>>,
    pub error: Option<(FetchErrorKind, String)>,
    /// `Retry-After` of a 429, in seconds.
    pub retry_after: Option<u64>,
}

impl Fetched {
    /// A request that was never sent or failed without a response.
    pub fn failed(
        kind: SourceKind,
        job: Option<String>,
        url: String,
        err: FetchErrorKind,
        msg: String,
    ) -> Self {
        Fetched {
            kind,
            job,
            url,
            status: None,
            latency_us: 0,
            content_type: None,
            body: None,
            error: Some((err, msg)),
            retry_after: None,
        }
    }

    pub fn ok_body(&self) -> Option<&[u8]> {
        match (self.status, &self.body, &self.error) {
            (Some(200..=299), Some(b), None) => Some(b),
            _ => None,
        }
    }
}

/// Removes `user:password@` from a URL so that credentials never reach the database.
pub fn strip_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped() {
        assert_eq!(
            strip_credentials("http://bob:secret@127.0.0.1:80/api/v1/jobs/x"),
            "http://127.0.0.1/api/v1/jobs/x"
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in 0..=5 {
            assert_eq!(SourceKind::from_u8(k).unwrap() as u8, k);
        }
        for k in 0..=8 {
            assert_eq!(FetchErrorKind::from_u8(k) as u8, k);
        }
    }
}
