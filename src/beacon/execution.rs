//! One execution row as every runner format is read into it (also the stored value of an
//! execution version), and the short string type its fields use.

use serde::{Deserialize, Serialize};

/// Short strings inline (no allocation up to 24 bytes): an execution's status, model, region
/// and question all fit, which makes decoding 10,000 stored executions several times faster.
pub type Str = compact_str::CompactString;

/// One execution row, normalised from any of the runner's row formats.
///
/// This is also the stored value of an execution version (see `store::schema`), so it is a
/// plain struct: no `serde_json::Value`, no skipped or flattened fields (bincode needs every
/// field in order). Times are microseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Execution {
    pub id: i64,
    pub job_id: Option<Str>,
    pub status: Str,
    pub question_id: Option<Str>,
    pub model_id: Option<Str>,
    /// The region exactly as the runner wrote it (`US`, `us-east`, `unknown`, ...).
    pub region_raw: Option<Str>,
    /// The region through the alias table (`US` -> `us-east`); `None` when absent.
    pub region: Option<Str>,
    pub provider_id: Option<Str>,
    pub created_at: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// `Some(true)` when the row's output was `null` or omitted, `None` when the format has no
    /// output at all (the job view).
    pub output_null: Option<bool>,
    pub error_code: Option<Str>,
    pub error_message: Option<Str>,
    pub failure_stage: Option<Str>,
    pub failure_type: Option<Str>,
    pub has_receipt: Option<bool>,
    pub response_classification: Option<Str>,
    pub retry_count: Option<u32>,
    pub max_retries: Option<u32>,
    pub last_retry_at: Option<i64>,
    pub retry_attempts: u32,
}

/// A stored execution read without copying: its text fields borrowed from the stored bytes
/// (not checked as UTF-8 until read as text), for the sweeps over every version of a job's
/// rows that read a few fields of each (status, times). Same fields, same order, as
/// `Execution`; the bytes are the same (bincode writes a string as its bytes). Text that is
/// not UTF-8 (a damaged page) is read with replacement characters here, where a full decode
/// refuses it; `verify` names such a version (`text_ok`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ExecRef<'a> {
    pub id: i64,
    #[serde(borrow)]
    pub job_id: Option<&'a [u8]>,
    #[serde(borrow)]
    pub status: &'a [u8],
    #[serde(borrow)]
    pub question_id: Option<&'a [u8]>,
    #[serde(borrow)]
    pub model_id: Option<&'a [u8]>,
    #[serde(borrow)]
    pub region_raw: Option<&'a [u8]>,
    #[serde(borrow)]
    pub region: Option<&'a [u8]>,
    #[serde(borrow)]
    pub provider_id: Option<&'a [u8]>,
    pub created_at: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub output_null: Option<bool>,
    #[serde(borrow)]
    pub error_code: Option<&'a [u8]>,
    #[serde(borrow)]
    pub error_message: Option<&'a [u8]>,
    #[serde(borrow)]
    pub failure_stage: Option<&'a [u8]>,
    #[serde(borrow)]
    pub failure_type: Option<&'a [u8]>,
    pub has_receipt: Option<bool>,
    #[serde(borrow)]
    pub response_classification: Option<&'a [u8]>,
    pub retry_count: Option<u32>,
    pub max_retries: Option<u32>,
    pub last_retry_at: Option<i64>,
    pub retry_attempts: u32,
}

impl ExecRef<'_> {
    /// The status as text (bytes that are not UTF-8 read with replacement characters).
    pub fn status(&self) -> Str {
        match std::str::from_utf8(self.status) {
            Ok(s) => Str::from(s),
            Err(_) => Str::from(String::from_utf8_lossy(self.status)),
        }
    }

    pub fn is_failed(&self) -> bool {
        self.status == b"failed"
    }

    /// The row as an `Execution` with only what a drawing or a timeline reads of it (status,
    /// provider, times, error code, its cell: question, model, region); the other text fields
    /// (job, raw region, message, failure, classification) are left out (`None`).
    pub fn brief(&self) -> Execution {
        let text = |t: Option<&[u8]>| t.map(|t| Str::from(String::from_utf8_lossy(t)));
        Execution {
            id: self.id,
            status: self.status(),
            question_id: text(self.question_id),
            model_id: text(self.model_id),
            region: text(self.region),
            provider_id: text(self.provider_id),
            created_at: self.created_at,
            started_at: self.started_at,
            completed_at: self.completed_at,
            error_code: text(self.error_code),
            ..Default::default()
        }
    }

    /// Whether every text field is UTF-8: with that, the bytes decode as an `Execution` too.
    pub fn text_ok(&self) -> bool {
        let texts = [
            self.job_id,
            Some(self.status),
            self.question_id,
            self.model_id,
            self.region_raw,
            self.region,
            self.provider_id,
            self.error_code,
            self.error_message,
            self.failure_stage,
            self.failure_type,
            self.response_classification,
        ];
        texts
            .into_iter()
            .flatten()
            .all(|t| std::str::from_utf8(t).is_ok())
    }
}

impl Execution {
    /// Seconds between start and completion, when both are known.
    pub fn duration_secs(&self) -> Option<f64> {
        match (self.started_at, self.completed_at) {
            (Some(s), Some(c)) if c >= s => Some((c - s) as f64 / 1e6),
            _ => None,
        }
    }

    pub fn is_failed(&self) -> bool {
        self.status == "failed"
    }

    /// Fills what this observation could not carry from an earlier, richer one of the same
    /// row: the default view's rows have no `output` (so no error code, message or failure
    /// stage), no retry fields and, in the current format, no `created_at`. A field the
    /// view's format does carry (status, provider, start and completion, which it omits when
    /// null) is never filled: its absence there is a value. Observations merge, never erase.
    pub fn fill_from(&mut self, earlier: &Execution) {
        if self.output_null.is_none() {
            self.output_null = earlier.output_null;
            self.error_code = self
                .error_code
                .take()
                .or_else(|| earlier.error_code.clone());
            self.error_message = self
                .error_message
                .take()
                .or_else(|| earlier.error_message.clone());
            self.failure_stage = self
                .failure_stage
                .take()
                .or_else(|| earlier.failure_stage.clone());
            self.failure_type = self
                .failure_type
                .take()
                .or_else(|| earlier.failure_type.clone());
        }
        self.job_id = self.job_id.take().or_else(|| earlier.job_id.clone());
        self.created_at = self.created_at.or(earlier.created_at);
        self.has_receipt = self.has_receipt.or(earlier.has_receipt);
        if self.retry_count.is_none() {
            self.retry_count = earlier.retry_count;
            self.max_retries = self.max_retries.or(earlier.max_retries);
            self.last_retry_at = self.last_retry_at.or(earlier.last_retry_at);
            self.retry_attempts = self.retry_attempts.max(earlier.retry_attempts);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::beacon::*;
    use proptest::prelude::*;

    /// What the view cannot carry is kept; what it carries, even as an absence, is its own.
    #[test]
    fn a_poorer_observation_fills_only_what_its_format_lacks() {
        let list = Execution {
            id: 1,
            status: "failed".into(),
            created_at: Some(5),
            completed_at: Some(9),
            output_null: Some(false),
            error_code: Some("ROUTER_TIMEOUT".into()),
            failure_stage: Some("router_http_timeout".into()),
            retry_count: Some(1),
            ..Default::default()
        };
        // The view: retried since, so no completion; no output, no created_at, no retries.
        let mut view = Execution {
            id: 1,
            status: "retrying".into(),
            ..Default::default()
        };
        view.fill_from(&list);
        assert_eq!(view.status, "retrying");
        assert_eq!(
            view.completed_at, None,
            "the view omits it when null: not filled"
        );
        assert_eq!(view.created_at, Some(5));
        assert_eq!(view.error_code.as_deref(), Some("ROUTER_TIMEOUT"));
        assert_eq!(view.failure_stage.as_deref(), Some("router_http_timeout"));
        assert_eq!(view.output_null, Some(false));
        assert_eq!(view.retry_count, Some(1));
        // A row whose format carries output keeps its own error fields.
        let mut rich = Execution {
            id: 1,
            status: "failed".into(),
            output_null: Some(true),
            ..Default::default()
        };
        rich.fill_from(&list);
        assert_eq!(rich.error_code, None);
    }

    proptest! {
        /// Whatever a runner or router sends, parsing returns Ok or Err; it never panics.
        #[test]
        fn any_bytes_never_panic_the_parsers(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_exec_list(&body);
            let _ = parse_job_view(&body);
            let _ = parse_health(&body);
            let _ = parse_providers(&body);
        }

        /// Near-valid JSON reaches deeper into the parsers than random bytes do.
        #[test]
        fn json_shaped_input_never_panics(
            id in prop_oneof![Just("1".to_string()), Just("\"7\"".to_string()), Just("null".to_string()), Just("-9223372036854775808".to_string()), Just("1e300".to_string())],
            ts in prop_oneof![Just("\"\"".to_string()), Just("\"2025-10-01T14:53:09Z\"".to_string()), Just("\"garbage\"".to_string()), Just("12".to_string())],
            output in prop_oneof![Just("null".to_string()), Just("\"x\"".to_string()), Just("{\"failure\":5}".to_string()), Just("[1,2]".to_string())],
            last in prop_oneof![Just("0".to_string()), Just("-1".to_string()), Just("1e308".to_string()), Just("\"NaN\"".to_string())],
        ) {
            let row = format!(r#"{{"id":{id},"status":"failed","started_at":{ts},"completed_at":{ts},"output":{output},"retry_history":{output}}}"#);
            let _ = parse_exec_list(format!(r#"{{"executions":[{row}]}}"#).as_bytes());
            let _ = parse_job_view(format!(r#"{{"job":{{}},"status":"x","executions":[{row}]}}"#).as_bytes());
            let _ = parse_providers(format!(r#"{{"providers":[{{"name":"p","last_health_check":{last},"healthy":{id}}}]}}"#).as_bytes());
            let _ = parse_health(format!(r#"{{"status":"healthy","providers_total":{id},"regions":{output}}}"#).as_bytes());
        }
    }
}
