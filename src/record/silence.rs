//! A source nobody answers for: after a few polls in which every request to the runner (or the
//! router, or an `--endpoint`) got no answer at all — refused, timed out, no such host — the
//! recorder says so once, plainly, and keeps recording (an outage is data); and says so again
//! when it answers.

use crate::fetch::{FetchErrorKind, Fetched, Outcome, SourceKind};
use std::collections::BTreeMap;

/// Polls in a row without an answer before it is said.
pub const SILENT_POLLS: u32 = 3;

#[derive(Debug, Default)]
struct Quiet {
    polls: u32,
    said: bool,
    /// How the last request failed, and its URL (secrets removed).
    how: String,
    url: String,
}

/// Per source (runner, router, each endpoint): how many polls in a row got no answer.
#[derive(Debug, Default)]
pub struct Silence {
    sources: BTreeMap<String, Quiet>,
}

fn source_of(f: &Fetched) -> String {
    match f.kind {
        SourceKind::Custom => format!("endpoint {}", f.url),
        k if k.is_runner() => "runner".into(),
        _ => "router".into(),
    }
}

/// The base of a URL, for the sentence (`http://runner:8090`).
fn base(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.to_string(),
    }
}

impl Silence {
    /// Takes in one poll's requests; returns what to say (at most one line per source).
    pub fn take(&mut self, fetches: &[Fetched]) -> Vec<String> {
        // Per source in this poll: (any answer, a failed request without one).
        let mut seen: BTreeMap<String, (bool, Option<&Fetched>)> = BTreeMap::new();
        for f in fetches {
            let outcome = Outcome::of_transport(f.status, f.error.as_ref().map(|e| e.0));
            if outcome.is_gap() {
                continue;
            }
            let e = seen.entry(source_of(f)).or_default();
            if f.status.is_some() {
                e.0 = true;
            } else if f.error.is_some() {
                e.1 = Some(f);
            }
        }
        let mut out = Vec::new();
        for (source, (answered, failed)) in seen {
            let q = self.sources.entry(source.clone()).or_default();
            match (answered, failed) {
                (true, _) => {
                    if q.said {
                        out.push(format!(
                            "the {source} at {} answers again, after {} poll{} without an answer",
                            q.url,
                            q.polls,
                            if q.polls == 1 { "" } else { "s" }
                        ));
                    }
                    *q = Quiet::default();
                }
                (false, Some(f)) => {
                    q.polls += 1;
                    q.how = f
                        .error
                        .as_ref()
                        .map_or("no answer".into(), |e| how(e.0).to_string());
                    q.url = base(&f.url);
                    if q.polls == SILENT_POLLS && !q.said {
                        q.said = true;
                        out.push(format!(
                            "nothing answers at {} ({source}): {} polls in a row, every request {}; recording goes on (an outage is data)",
                            q.url, q.polls, q.how
                        ));
                    }
                }
                (false, None) => {}
            }
        }
        out
    }
}

fn how(k: FetchErrorKind) -> &'static str {
    match k {
        FetchErrorKind::ConnectRefused => "refused (is anything listening on that port?)",
        FetchErrorKind::Timeout => "timed out",
        FetchErrorKind::Dns => "failed to resolve the host name",
        _ => "failed without an answer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: SourceKind, status: Option<u16>, err: Option<FetchErrorKind>) -> Fetched {
        Fetched {
            kind,
            job: None,
            url: "http://user:pw@127.0.0.1:1/health?token=x".into(),
            status,
            latency_us: 0,
            content_type: None,
            body: None,
            error: err.map(|k| (k, "e".into())),
            retry_after: None,
            location: None,
            date_us: None,
            sent_at_us: None,
            retried: None,
            secrets_removed: 0,
        }
    }

    #[test]
    fn says_it_once_after_three_silent_polls_and_again_when_it_answers() {
        let mut s = Silence::default();
        let dead = || {
            vec![
                f(
                    SourceKind::RouterHealth,
                    None,
                    Some(FetchErrorKind::ConnectRefused),
                ),
                f(SourceKind::RunnerHealth, Some(503), None),
            ]
        };
        assert!(s.take(&dead()).is_empty());
        assert!(s.take(&dead()).is_empty());
        let said = s.take(&dead());
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].starts_with("nothing answers at http://127.0.0.1:1 (router): 3 polls"));
        assert!(said[0].contains("refused"));
        assert!(!said[0].contains("pw") && !said[0].contains("token"));
        // Once: not again on the fourth.
        assert!(s.take(&dead()).is_empty());
        // An HTTP error is an answer: the runner (503) is never called silent.
        let back = s.take(&[f(SourceKind::RouterHealth, Some(200), None)]);
        assert_eq!(back.len(), 1);
        assert!(back[0].contains("answers again, after 4 polls"), "{back:?}");
        // Requests not sent (the budget) neither break a silence nor make one.
        let mut s = Silence::default();
        let skipped = f(
            SourceKind::RouterHealth,
            None,
            Some(FetchErrorKind::RateBudget),
        );
        for _ in 0..5 {
            assert!(s.take(std::slice::from_ref(&skipped)).is_empty());
        }
    }
}
