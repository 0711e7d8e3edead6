//! Execution rows: the runner's `/executions/all` list and the `executions` array of the job
//! view, in all three row formats (current, 2025-10-01..13, pre-2025-10-01). One parser reads
//! them all: fields a format lacks are simply absent.

use super::execution::Execution;
use super::lenient::{LBool, LInt, LStr};
use super::{RowProblem, normalize_region, parse_time_micros};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The rows of one body: every row is either kept (in `rows` or `no_id`) or named in
/// `problems`; nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionList {
    /// Rows with a usable id, in body order. Two rows may share an id (a broken or hostile
    /// body); the caller decides what that means.
    pub rows: Vec<Execution>,
    /// Rows without a usable id (missing, not a number, out of range). Kept: their cell still
    /// counts. Their `id` is 0 and means nothing.
    pub no_id: Vec<Execution>,
    /// The list was JSON `null` (the runner's way of saying "none").
    pub was_null: bool,
    /// Rows of the body, as the array had them.
    pub in_body: usize,
    /// Rows that could not be kept at all (not an object), and fields of kept rows that could
    /// not be read (an out-of-range number, a time that is not a time).
    pub problems: Vec<RowProblem>,
}

impl ExecutionList {
    /// Rows kept, with or without an id.
    pub fn kept(&self) -> usize {
        self.rows.len() + self.no_id.len()
    }

    /// Rows of the body that could not be kept at all.
    pub fn unusable(&self) -> usize {
        self.in_body - self.kept()
    }
}

/// Every field is taken raw first and read on its own, so one unreadable value (`1e400`)
/// costs that value, not the row.
#[derive(Deserialize)]
struct RawRow<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    job_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    region: Option<&'a RawValue>,
    #[serde(borrow, default)]
    provider_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    model_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    question_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    started_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    completed_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    created_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    has_receipt: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response_classification: Option<&'a RawValue>,
    #[serde(borrow, default)]
    retry_count: Option<&'a RawValue>,
    #[serde(borrow, default)]
    max_retries: Option<&'a RawValue>,
    #[serde(borrow, default)]
    last_retry_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    receipt: Option<&'a RawValue>,
    #[serde(borrow, default)]
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
#[repr(u8)]
enum RowSource {
    /// `/executions/all`: `output` is omitted exactly when it is null.
    All,
    /// the job view: no output field at all.
    JobView,
}

/// The raw text of a value, cut for a problem message.
fn snippet(raw: &RawValue) -> String {
    let t = raw.get();
    if t.chars().count() > 40 {
        format!("{}...", t.chars().take(40).collect::<String>())
    } else {
        t.to_string()
    }
}

fn is_blank(raw: &RawValue) -> bool {
    matches!(raw.get(), "null" | "\"\"")
}

/// Reads one row's fields, noting each that could not be read.
struct FieldReader<'p> {
    problems: &'p mut Vec<String>,
}

impl FieldReader<'_> {
    fn str(&mut self, name: &str, raw: Option<&RawValue>) -> Option<super::execution::Str> {
        let raw = raw?;
        match serde_json::from_str::<LStr>(raw.get()) {
            Ok(v) => v.0,
            Err(e) => {
                self.problems
                    .push(format!("{name} {} unreadable ({e})", snippet(raw)));
                None
            }
        }
    }

    fn int(&mut self, name: &str, raw: Option<&RawValue>) -> Option<i64> {
        let raw = raw.filter(|r| !is_blank(r))?;
        match serde_json::from_str::<LInt>(raw.get()) {
            Ok(LInt(Some(v))) => Some(v),
            Ok(LInt(None)) => {
                self.problems.push(format!(
                    "{name} {} is not a whole number in range",
                    snippet(raw)
                ));
                None
            }
            Err(e) => {
                self.problems
                    .push(format!("{name} {} unreadable ({e})", snippet(raw)));
                None
            }
        }
    }

    fn count(&mut self, name: &str, raw: Option<&RawValue>) -> Option<u32> {
        let v = self.int(name, raw)?;
        match u32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problems.push(format!("{name} {v} is out of range"));
                None
            }
        }
    }

    fn time(&mut self, name: &str, raw: Option<&RawValue>) -> Option<i64> {
        let s = self.str(name, raw)?;
        match parse_time(&s) {
            Ok(t) => t,
            Err(()) => {
                self.problems.push(format!(
                    "{name} {} is not a time",
                    raw.map(snippet).unwrap_or_default()
                ));
                None
            }
        }
    }

    fn bool(&mut self, name: &str, raw: Option<&RawValue>) -> Option<bool> {
        let raw = raw?;
        match serde_json::from_str::<LBool>(raw.get()) {
            Ok(v) => v.0,
            Err(e) => {
                self.problems
                    .push(format!("{name} {} unreadable ({e})", snippet(raw)));
                None
            }
        }
    }
}

/// An RFC 3339 time, signed (a time at or before the epoch is kept as sent): `Ok(None)` for
/// Go's zero time (some versions write it for "never"), `Err` for text that is not a time.
fn parse_time(s: &str) -> Result<Option<i64>, ()> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(t).map_err(|_| ())?;
    Ok(parse_time_micros(t))
}

/// One row: the execution (id 0 when it has none) and whether its id was usable.
fn convert(raw: RawRow<'_>, source: RowSource, problems: &mut Vec<String>) -> (Execution, bool) {
    let mut r = FieldReader { problems };
    let id = match raw.id {
        None => {
            r.problems.push("no id".into());
            None
        }
        Some(v) if is_blank(v) => {
            r.problems.push("no id".into());
            None
        }
        some => r.int("id", some),
    };
    let region_raw = r.str("region", raw.region);
    let mut e = Execution {
        id: id.unwrap_or(0),
        job_id: r.str("job_id", raw.job_id),
        status: r.str("status", raw.status).unwrap_or_default(),
        question_id: r.str("question_id", raw.question_id),
        model_id: r.str("model_id", raw.model_id),
        region: region_raw.as_deref().map(|x| normalize_region(x).into()),
        region_raw,
        provider_id: Some(r.str("provider_id", raw.provider_id).unwrap_or_default()),
        created_at: r.time("created_at", raw.created_at),
        started_at: r.time("started_at", raw.started_at),
        completed_at: r.time("completed_at", raw.completed_at),
        has_receipt: r.bool("has_receipt", raw.has_receipt),
        response_classification: r.str("response_classification", raw.response_classification),
        retry_count: r.count("retry_count", raw.retry_count),
        max_retries: r.count("max_retries", raw.max_retries),
        last_retry_at: r.time("last_retry_at", raw.last_retry_at),
        ..Execution::default()
    };
    if source == RowSource::JobView && e.has_receipt.is_none() {
        e.has_receipt = Some(raw.receipt.is_some_and(|x| x.get() != "null"));
    }
    if let Some(h) = raw.retry_history {
        e.retry_attempts = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(h.get())
            .map(|v| v.len().min(u32::MAX as usize) as u32)
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
    (e, id.is_some())
}

/// What one row of a body came to. It depends on the row's bytes and the endpoint only, so a
/// row that has not changed since the last poll need not be read again (`RowCache`).
#[derive(Debug, Clone)]
// Nearly every row is kept: boxing it would cost an allocation per row for the rare other.
#[allow(clippy::large_enum_variant)]
enum RowOut {
    Kept {
        e: Execution,
        has_id: bool,
        /// Fields that could not be read, said once for the row.
        problem: Option<String>,
    },
    /// Not a row at all: why.
    Unusable(String),
}

fn parse_row(r: &RawValue, source: RowSource) -> RowOut {
    match serde_json::from_str::<RawRow>(r.get()) {
        Ok(raw) => {
            let mut notes = Vec::new();
            let (e, has_id) = convert(raw, source, &mut notes);
            let problem = (!notes.is_empty()).then(|| {
                format!(
                    "{}; {}",
                    notes.join("; "),
                    if has_id {
                        "row kept without them"
                    } else {
                        "row kept without an id"
                    }
                )
            });
            RowOut::Kept { e, has_id, problem }
        }
        Err(e) => RowOut::Unusable(format!("not a row ({e}): {}; not kept", snippet(r))),
    }
}

/// Rows already read, by a 128-bit hash of their bytes (xxh3; the endpoint seeds it): a poll
/// of 10,000 rows of which 100 changed reads 100. Holds the rows of the last poll and of the
/// one before (`next_poll` drops the rest), at most `RowCache::MAX` of them; past that, rows
/// are read every time.
#[derive(Debug, Default)]
pub struct RowCache {
    /// This poll's rows, in the order first seen, and where each hash is among them.
    now: Vec<RowOut>,
    now_at: rustc_hash::FxHashMap<u128, u32>,
    /// The last poll's (each taken at most once).
    before: Vec<Option<RowOut>>,
    before_at: rustc_hash::FxHashMap<u128, u32>,
}

impl RowCache {
    /// Rows kept at most (about 400 bytes each).
    pub const MAX: usize = 200_000;

    /// A new poll begins: rows not seen in the last one are forgotten.
    pub fn next_poll(&mut self) {
        let n = self.now.len();
        self.before = std::mem::replace(&mut self.now, Vec::with_capacity(n))
            .into_iter()
            .map(Some)
            .collect();
        self.before_at = std::mem::replace(
            &mut self.now_at,
            rustc_hash::FxHashMap::with_capacity_and_hasher(n, Default::default()),
        );
    }

    fn row(&mut self, r: &RawValue, source: RowSource) -> RowOut {
        let h = twox_hash::XxHash3_128::oneshot_with_seed(source as u64, r.get().as_bytes());
        if let Some(&i) = self.now_at.get(&h) {
            return self.now[i as usize].clone();
        }
        let v = self
            .before_at
            .get(&h)
            .and_then(|&i| self.before.get_mut(i as usize)?.take())
            .unwrap_or_else(|| parse_row(r, source));
        if self.now.len() < Self::MAX {
            self.now_at.insert(h, self.now.len() as u32);
            self.now.push(v.clone());
        }
        v
    }
}

fn parse_rows(
    rows: Option<Vec<&RawValue>>,
    source: RowSource,
    mut cache: Option<&mut RowCache>,
) -> ExecutionList {
    let Some(rows) = rows else {
        return ExecutionList {
            was_null: true,
            ..Default::default()
        };
    };
    let mut out = ExecutionList {
        rows: Vec::with_capacity(rows.len()),
        in_body: rows.len(),
        ..Default::default()
    };
    for (index, r) in rows.into_iter().enumerate() {
        let index = index.min(u32::MAX as usize) as u32;
        let row = match cache.as_deref_mut() {
            Some(c) => c.row(r, source),
            None => parse_row(r, source),
        };
        match row {
            RowOut::Kept { e, has_id, problem } => {
                if let Some(reason) = problem {
                    out.problems.push(RowProblem {
                        index,
                        id: has_id.then_some(e.id),
                        reason,
                    });
                }
                if has_id {
                    out.rows.push(e);
                } else {
                    out.no_id.push(e);
                }
            }
            RowOut::Unusable(reason) => out.problems.push(RowProblem {
                index,
                id: None,
                reason,
            }),
        }
    }
    out
}

/// Parses a `GET /api/v1/jobs/{id}/executions/all` body.
pub fn parse_exec_list(body: &[u8]) -> Result<ExecutionList, String> {
    parse_exec_list_with(body, None)
}

/// `parse_exec_list`, reading again only the rows `cache` has not seen.
pub fn parse_exec_list_with(
    body: &[u8],
    cache: Option<&mut RowCache>,
) -> Result<ExecutionList, String> {
    // `executions` must be present (even as null): a body without it is not this endpoint's.
    // Its rows are cut out as raw values in the same pass.
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, deserialize_with = "present_rows")]
        executions: Present<'a>,
    }
    struct Present<'a>(Option<Vec<&'a RawValue>>);
    fn present_rows<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Present<'de>, D::Error> {
        <Option<Vec<&'de RawValue>>>::deserialize(d).map(Present)
    }
    let probe: Probe = match serde_json::from_slice(body) {
        Ok(p) => p,
        // The error as the two-step reading words it (the field, then its rows).
        Err(_) => return Err(exec_list_error(body)),
    };
    let rows = probe.executions.0;
    Ok(parse_rows(rows, RowSource::All, cache))
}

/// Why a body is not an `/executions/all` answer: the field first, then its value.
fn exec_list_error(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Field<'a> {
        #[serde(borrow)]
        executions: &'a RawValue,
    }
    match serde_json::from_slice::<Field>(body) {
        Err(e) => e.to_string(),
        Ok(f) => match serde_json::from_str::<Option<Vec<&RawValue>>>(f.executions.get()) {
            Err(e) => format!("executions: {e}"),
            Ok(_) => "executions: unreadable".into(),
        },
    }
}

/// Parses the `executions` value of a job view (already cut out of the body).
pub fn parse_exec_rows(executions: &RawValue) -> Result<ExecutionList, String> {
    parse_exec_rows_with(executions, None)
}

/// `parse_exec_rows`, reading again only the rows `cache` has not seen.
pub fn parse_exec_rows_with(
    executions: &RawValue,
    cache: Option<&mut RowCache>,
) -> Result<ExecutionList, String> {
    let rows: Option<Vec<&RawValue>> =
        serde_json::from_str(executions.get()).map_err(|e| format!("executions: {e}"))?;
    Ok(parse_rows(rows, RowSource::JobView, cache))
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
        assert_eq!(l.in_body, 4);
        // `{"no_id":true}` is kept without an id; `5` is not a row at all.
        assert_eq!(l.no_id.len(), 1);
        assert_eq!(l.unusable(), 1);
        assert_eq!(l.problems.len(), 2);
        assert_eq!((l.problems[0].index, l.problems[1].index), (2, 3));
        let e = &l.rows[0];
        assert_eq!(e.error_code.as_deref(), Some("ROUTER_TIMEOUT"));
        assert_eq!(e.failure_stage.as_deref(), Some("router_http_timeout"));
        assert_eq!(e.duration_secs(), Some(120.0));
        assert_eq!(e.created_at, None);
        assert_eq!(e.output_null, Some(false));
        assert_eq!(e.retry_attempts, 1);
        assert_eq!(l.rows[1].output_null, Some(true));
    }

    /// Issue 8: a row whose id or retry_count is out of range is never dropped silently.
    #[test]
    fn out_of_range_numbers_cost_the_value_not_the_row() {
        let body = br#"{"executions":[
            {"id":1e400,"status":"failed","model_id":"m","question_id":"q","region":"US"},
            {"id":7,"status":"failed","retry_count":1e400},
            {"id":8,"status":"failed","retry_count":-1,"started_at":"garbage"},
            {"id":99999999999999999999999,"status":"running"}]}"#;
        let l = parse_exec_list(body).unwrap();
        assert_eq!(l.in_body, 4);
        assert_eq!(l.kept(), 4, "every row kept");
        assert_eq!(l.rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(l.no_id.len(), 2);
        assert_eq!(
            l.no_id[0].model_id.as_deref(),
            Some("m"),
            "its cell is kept"
        );
        let idx: Vec<u32> = l.problems.iter().map(|p| p.index).collect();
        assert_eq!(idx, vec![0, 1, 2, 3]);
        assert!(
            l.problems[0].reason.contains("1e400"),
            "{:?}",
            l.problems[0]
        );
        assert_eq!(l.problems[1].id, Some(7));
        assert!(l.problems[1].reason.contains("retry_count"));
        assert!(
            l.problems[2]
                .reason
                .contains("retry_count -1 is out of range")
        );
        assert!(
            l.problems[2]
                .reason
                .contains("started_at \"garbage\" is not a time")
        );
        assert_eq!(l.rows[0].retry_count, None);
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
