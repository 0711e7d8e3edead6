//! Execution rows: the runner's `/executions/all` list and the `executions` array of the job
//! view, in all three row formats (current, 2025-10-01..13, pre-2025-10-01). One parser reads
//! them all: fields a format lacks are simply absent.

use super::lenient::{LBool, LInt, LStr};
use super::{Execution, normalize_region, parse_time_micros};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The rows of one body, plus what could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionList {
    pub rows: Vec<Execution>,
    /// The list was JSON `null` (the runner's way of saying "none").
    pub was_null: bool,
    /// Rows that were not objects or had no usable `id`; kept out of `rows`.
    pub bad_rows: usize,
}

#[derive(Deserialize)]
struct RawRow<'a> {
    #[serde(default)]
    id: LInt,
    #[serde(default)]
    job_id: LStr,
    #[serde(default)]
    status: LStr,
    #[serde(default)]
    region: LStr,
    #[serde(default)]
    provider_id: LStr,
    #[serde(default)]
    model_id: LStr,
    #[serde(default)]
    question_id: LStr,
    #[serde(default)]
    started_at: LStr,
    #[serde(default)]
    completed_at: LStr,
    #[serde(default)]
    created_at: LStr,
    #[serde(default)]
    has_receipt: LBool,
    #[serde(default)]
    response_classification: LStr,
    #[serde(default)]
    retry_count: LInt,
    #[serde(default)]
    max_retries: LInt,
    #[serde(default)]
    last_retry_at: LStr,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default, borrow)]
    receipt: Option<&'a RawValue>,
    #[serde(default, borrow)]
    retry_history: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct OutputSummary {
    #[serde(default)]
    error: LStr,
    #[serde(default)]
    error_code: LStr,
    #[serde(default)]
    failure: Option<FailureSummary>,
}

#[derive(Deserialize, Default)]
struct FailureSummary {
    #[serde(default)]
    stage: LStr,
    #[serde(default)]
    code: LStr,
    #[serde(default, rename = "type")]
    kind: LStr,
    #[serde(default)]
    message: LStr,
}

/// Which body a list comes from decides whether a missing `output` means "null output".
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RowSource {
    /// `/executions/all`: `output` is omitted exactly when it is null.
    All,
    /// the job view: no output field at all.
    JobView,
}

fn convert(raw: RawRow<'_>, source: RowSource) -> Option<Execution> {
    let id = raw.id.0?;
    let region_raw = raw.region.0;
    let mut e = Execution {
        id,
        job_id: raw.job_id.0,
        status: raw.status.0.unwrap_or_default(),
        question_id: raw.question_id.0,
        model_id: raw.model_id.0,
        region: region_raw.as_deref().map(|r| normalize_region(r).into()),
        region_raw,
        provider_id: Some(raw.provider_id.0.unwrap_or_default()),
        created_at: raw.created_at.0.as_deref().and_then(parse_time_micros),
        started_at: raw.started_at.0.as_deref().and_then(parse_time_micros),
        completed_at: raw.completed_at.0.as_deref().and_then(parse_time_micros),
        has_receipt: raw.has_receipt.0,
        response_classification: raw.response_classification.0,
        retry_count: raw.retry_count.0.and_then(|v| u32::try_from(v).ok()),
        max_retries: raw.max_retries.0.and_then(|v| u32::try_from(v).ok()),
        last_retry_at: raw.last_retry_at.0.as_deref().and_then(parse_time_micros),
        ..Execution::default()
    };
    if source == RowSource::JobView && e.has_receipt.is_none() {
        e.has_receipt = Some(raw.receipt.is_some_and(|r| r.get() != "null"));
    }
    if let Some(h) = raw.retry_history {
        e.retry_attempts = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(h.get())
            .map(|v| v.len() as u32)
            .unwrap_or(0);
    }
    let output = raw.output.filter(|o| o.get() != "null");
    if source == RowSource::All {
        e.output_null = Some(output.is_none());
    }
    if let Some(o) = output {
        let s: OutputSummary = serde_json::from_str(o.get()).unwrap_or_default();
        e.error_message = s.error.0;
        e.error_code = s.error_code.0;
        if let Some(f) = s.failure {
            e.failure_stage = f.stage.0;
            e.failure_type = f.kind.0;
            if e.error_code.is_none() {
                e.error_code = f.code.0;
            }
            if e.error_message.is_none() {
                e.error_message = f.message.0;
            }
        }
    }
    Some(e)
}

fn parse_rows(rows: Option<Vec<&RawValue>>, source: RowSource) -> ExecutionList {
    let Some(rows) = rows else {
        return ExecutionList {
            was_null: true,
            ..Default::default()
        };
    };
    let mut out = ExecutionList {
        rows: Vec::with_capacity(rows.len()),
        ..Default::default()
    };
    for r in rows {
        match serde_json::from_str::<RawRow>(r.get())
            .ok()
            .and_then(|raw| convert(raw, source))
        {
            Some(e) => out.rows.push(e),
            None => out.bad_rows += 1,
        }
    }
    out
}

/// Parses a `GET /api/v1/jobs/{id}/executions/all` body.
pub fn parse_exec_list(body: &[u8]) -> Result<ExecutionList, String> {
    // `executions` must be present (even as null): a body without it is not this endpoint's.
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        executions: &'a RawValue,
    }
    let probe: Probe = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let rows: Option<Vec<&RawValue>> =
        serde_json::from_str(probe.executions.get()).map_err(|e| format!("executions: {e}"))?;
    Ok(parse_rows(rows, RowSource::All))
}

/// Parses the `executions` value of a job view (already cut out of the body).
pub fn parse_exec_rows(executions: &RawValue) -> Result<ExecutionList, String> {
    let rows: Option<Vec<&RawValue>> =
        serde_json::from_str(executions.get()).map_err(|e| format!("executions: {e}"))?;
    Ok(parse_rows(rows, RowSource::JobView))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_endpoint_failure_output_is_read() {
        let body = br#"{"executions":[{"id":7,"status":"failed","region":"asia-pacific","provider_id":"",
            "started_at":"2025-10-01T14:53:09Z","completed_at":"2025-10-01T14:55:09Z","created_at":"",
            "output":{"error":"hybrid timeout","error_code":"ROUTER_TIMEOUT","failure":{"stage":"router_http_timeout","type":"timeout"}},
            "retry_history":[{"attempt":1}],"unknown_field":{"x":1}},
            {"id":8,"status":"completed"},{"no_id":true},5]}"#;
        let l = parse_exec_list(body).unwrap();
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.bad_rows, 2);
        let e = &l.rows[0];
        assert_eq!(e.error_code.as_deref(), Some("ROUTER_TIMEOUT"));
        assert_eq!(e.failure_stage.as_deref(), Some("router_http_timeout"));
        assert_eq!(e.duration_secs(), Some(120.0));
        assert_eq!(e.created_at, None);
        assert_eq!(e.output_null, Some(false));
        assert_eq!(e.retry_attempts, 1);
        assert_eq!(l.rows[1].output_null, Some(true));
    }

    #[test]
    fn null_list_is_not_an_error_but_missing_is() {
        let l = parse_exec_list(br#"{"executions":null}"#).unwrap();
        assert!(l.was_null && l.rows.is_empty());
        assert!(parse_exec_list(br#"{"error":"job not found"}"#).is_err());
        assert!(parse_exec_list(b"not json").is_err());
    }
}

#[cfg(test)]
mod format_tests {
    /// Before 2025-10-01 rows had no question_id at all: they parse, with no question.
    #[test]
    fn pre_october_rows_without_question() {
        let body = br#"{"job":{"id":"j"},"status":"completed","executions":[{"id":3,"status":"completed","region":"us-east","provider_id":"modal-us-east","started_at":"2025-09-20T10:00:00Z","completed_at":"","created_at":"2025-09-20T10:00:00Z","model_id":"llama3.2-1b"}]}"#;
        let v = crate::beacon::parse_job_view(body).unwrap();
        let rows = v.executions.unwrap().rows;
        assert_eq!(rows[0].question_id, None);
        assert_eq!(rows[0].completed_at, None);
        assert_eq!(rows[0].region.as_deref(), Some("us-east"));
    }
}
