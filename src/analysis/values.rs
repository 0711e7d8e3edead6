//! Small values every part of the analysis uses: a time, and how a request went.

use serde::Serialize;

/// A time: µs since the epoch. JSON shows it as RFC 3339 with its full precision; text output
/// is the CLI's to choose (to the second, with the offset from the recording's start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub i64);

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::beacon::format_micros(self.0))
    }
}

/// How a request went, as data: `{outcome, http_status?, error?}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FetchKind {
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The transport failure or the reason a request was not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

impl FetchKind {
    pub fn of(f: &crate::store::schema::FetchRec) -> Self {
        let o = f.outcome();
        FetchKind {
            outcome: o.name(),
            http_status: f.status.filter(|_| o == crate::fetch::Outcome::HttpError),
            error: f
                .error_kind()
                .filter(|_| {
                    matches!(
                        o,
                        crate::fetch::Outcome::Transport
                            | crate::fetch::Outcome::SkippedByBudget
                            | crate::fetch::Outcome::Waiting
                    )
                })
                .map(|k| k.name()),
        }
    }

    /// The short word of the CLI: `http 503`, `timeout`, `skipped_by_budget`, `unparsable`.
    pub fn word(&self) -> String {
        match (self.http_status, self.error) {
            (Some(s), _) => format!("http {s}"),
            (None, Some(e)) => e.to_string(),
            (None, None) => self.outcome.to_string(),
        }
    }

    pub fn not_sent(&self) -> bool {
        matches!(self.outcome, "skipped_by_budget" | "waiting_retry_after")
    }
}
