//! `GET /api/v1/jobs?limit=`: `{"jobs":[{id, status, created_at}]}` (`null` when none), newest
//! first. The ids it gives are followed by `record --all-jobs`, so they are checked like any
//! input: a usable id is 1 to `MAX_ID_LEN` printable characters.

use serde::Deserialize;
use serde_json::Value;

/// Longer ids are not followed (the runner's are `bias-detection-<13 digits>`).
pub const MAX_ID_LEN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedJob {
    pub id: String,
    pub status: Option<String>,
    /// µs since the epoch.
    pub created_at: Option<i64>,
}

/// The jobs of a list body, and how many entries were not usable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobsList {
    pub jobs: Vec<ListedJob>,
    pub unusable: usize,
}

/// `.` and `..` would name another path (`/api/v1/jobs/..` is `/api/v1/`), even encoded.
pub fn usable_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && !id.chars().any(char::is_control)
}

pub fn parse_jobs_list(body: &[u8]) -> Result<JobsList, String> {
    #[derive(Deserialize)]
    struct Body {
        jobs: Option<Vec<Value>>,
    }
    let b: Body = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut out = JobsList::default();
    for v in b.jobs.unwrap_or_default() {
        let id = v.get("id").and_then(Value::as_str).filter(|s| usable_id(s));
        match id {
            Some(id) => out.jobs.push(ListedJob {
                id: id.to_string(),
                status: v
                    .get("status")
                    .and_then(Value::as_str)
                    .map(|s| s.chars().take(64).collect()),
                created_at: v
                    .get("created_at")
                    .and_then(Value::as_str)
                    .and_then(super::time::parse_time_micros),
            }),
            None => out.unusable += 1,
        }
    }
    Ok(out)
}

/// The runner's default page size for `?include=executions` (API.md).
pub const DEFAULT_PAGE: u32 = 20;

/// A job status after which nothing more happens to the job (and the recorder's "not found").
pub fn is_final(status: &str) -> bool {
    matches!(
        status,
        "completed" | "failed" | "cancelled" | "canceled" | "not found"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_runner_list_and_refuses_odd_ids() {
        let body = br#"{"jobs":[{"id":"bias-detection-1","status":"queued","created_at":"2025-10-15T16:21:11.904Z"},
            {"id":"","status":"x"},{"id":7},{"status":"completed"},{"id":"a\nb"},{"id":"ok-2"},{"id":"."},{"id":".."},{"id":"..."}]}"#;
        let l = parse_jobs_list(body).unwrap();
        assert_eq!(l.jobs.len(), 3, "{:?}", l.jobs);
        assert_eq!(l.jobs[0].status.as_deref(), Some("queued"));
        assert!(l.jobs[0].created_at.is_some());
        assert_eq!(l.jobs[1].status, None);
        assert_eq!(l.unusable, 6);
        assert_eq!(
            parse_jobs_list(br#"{"jobs":null}"#).unwrap(),
            JobsList::default()
        );
        assert!(parse_jobs_list(b"[1]").is_err());
        assert!(!usable_id(&"x".repeat(201)));
    }
}
