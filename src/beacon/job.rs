//! The job view (`GET /api/v1/jobs/{id}?include=executions`) and the expected matrix a job
//! spec implies, for both execution paths.

use super::exec::{ExecutionList, parse_exec_rows_with};
use super::region::normalize_region;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeSet;

/// What one job view body says.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// The job spec exactly as received (JSON text), when present.
    pub spec_json: Option<String>,
    pub status: Option<String>,
    /// `None` when the body had no `executions` key (asked without `include`).
    pub executions: Option<ExecutionList>,
}

/// Parses a job view body. An error body (`{"error": ...}`) is an error here; the caller
/// decides by HTTP status whether that is expected.
pub fn parse_job_view(body: &[u8]) -> Result<JobView, String> {
    parse_job_view_with(body, None)
}

/// `parse_job_view`, reading again only the rows `cache` has not seen (fallback paging).
pub fn parse_job_view_with(
    body: &[u8],
    cache: Option<&mut super::exec::RowCache>,
) -> Result<JobView, String> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        job: Option<&'a RawValue>,
        #[serde(default)]
        status: super::lenient::LStr,
        // Present-but-null must stay distinguishable from missing, so no plain `Option`.
        #[serde(borrow, default, deserialize_with = "present")]
        executions: Option<&'a RawValue>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
        <&RawValue>::deserialize(d).map(Some)
    }
    let b: Body = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let job = b.job.filter(|j| j.get() != "null");
    if job.is_none() && b.status.0.is_none() {
        return Err("no `job` or `status` field".into());
    }
    let executions = match b.executions {
        None => None,
        Some(raw) => Some(parse_exec_rows_with(raw, cache)?),
    };
    Ok(JobView {
        spec_json: job.map(|j| j.get().to_string()),
        status: b.status.0.map(Into::into),
        executions,
    })
}

/// Which of the runner's two execution paths a spec belongs to (API.md, "What execution
/// fields mean").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecPath {
    /// `models: [{id, regions}]` objects: queue-based job runner.
    JobRunner,
    /// `metadata.models: [strings]`: the portal's cross-region path.
    CrossRegion,
}

impl ExecPath {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecPath::JobRunner => "job-runner",
            ExecPath::CrossRegion => "cross-region",
        }
    }
}

/// Above this many cells a matrix is summarised (counted) rather than materialised: a few KB of
/// job spec can declare millions of cells, and the analysis must cost what the rows cost.
pub const MATRIX_CAP: u64 = 100_000;

/// The cells a job should fill: (question, model, normalised region), kept as its lists and,
/// per model, the regions it serves. The cells themselves are never stored: their number is a
/// product of the lists, and `contains` answers membership from the lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedMatrix {
    pub path: Option<ExecPath>,
    pub questions: Vec<String>,
    pub models: Vec<String>,
    /// Normalised region names, in spec order.
    pub regions: Vec<String>,
    /// For each model (same order as `models`), whether it serves each region (same order as
    /// `regions`).
    pub serves: Vec<Vec<bool>>,
    /// `metadata.total_executions_expected`, what the portal declared.
    pub declared: Option<u64>,
    /// Regions of the spec that were not planned because the router listed no provider there
    /// (cross-region path only).
    pub unplanned_regions: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Unique values in first-seen order, in linear time (a hostile spec can be long).
fn unique(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter().filter(|s| seen.insert(s.clone())).collect()
}

impl ExpectedMatrix {
    /// How many cells the spec expects.
    pub fn cell_count(&self) -> u64 {
        let per_question: u64 = self
            .serves
            .iter()
            .map(|r| r.iter().filter(|x| **x).count() as u64)
            .sum();
        (self.questions.len() as u64).saturating_mul(per_question)
    }

    /// Whether the matrix is small enough to list its cells (`MATRIX_CAP`).
    pub fn listable(&self) -> bool {
        self.cell_count() <= MATRIX_CAP
    }

    /// Whether (question, model, region) indexes name an expected cell.
    pub fn contains(&self, q: u32, m: u32, r: u32) -> bool {
        (q as usize) < self.questions.len()
            && self
                .serves
                .get(m as usize)
                .and_then(|rs| rs.get(r as usize))
                .copied()
                .unwrap_or(false)
    }

    /// Every expected cell, in (question, model, region) order. Callers check `listable`
    /// first: this is as long as the product of the lists.
    pub fn cells(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        (0..self.questions.len() as u32).flat_map(move |q| {
            self.serves.iter().enumerate().flat_map(move |(m, rs)| {
                rs.iter()
                    .enumerate()
                    .filter(|(_, s)| **s)
                    .map(move |(r, _)| (q, m as u32, r as u32))
            })
        })
    }

    /// Whether (question, model, normalised region) is an expected cell.
    pub fn has(&self, q: &str, m: &str, r: &str) -> bool {
        let pos = |v: &[String], x: &str| v.iter().position(|y| y == x).map(|i| i as u32);
        match (
            pos(&self.questions, q),
            pos(&self.models, m),
            pos(&self.regions, r),
        ) {
            (Some(a), Some(b), Some(c)) => self.contains(a, b, c),
            _ => false,
        }
    }

    pub fn names(&self, c: (u32, u32, u32)) -> (&str, &str, &str) {
        (
            &self.questions[c.0 as usize],
            &self.models[c.1 as usize],
            &self.regions[c.2 as usize],
        )
    }

    /// Computes the matrix from a spec's JSON text. `router_regions` is the set of (normalised)
    /// regions for which the router listed a provider; the cross-region path plans only those.
    /// `None` means the router was not observed, and every spec region counts as planned.
    pub fn from_spec(spec_json: &str, router_regions: Option<&BTreeSet<String>>) -> Self {
        let Ok(spec) = serde_json::from_str::<Value>(spec_json) else {
            return Self::default();
        };
        let declared = spec
            .pointer("/metadata/total_executions_expected")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        let regions = unique(
            strings(spec.pointer("/constraints/regions"))
                .iter()
                .map(|r| normalize_region(r)),
        );
        let questions = unique(strings(spec.get("questions")));
        let model_objs: Vec<&Value> = spec
            .get("models")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter(|m| m.is_object()).collect())
            .unwrap_or_default();
        let mut m = ExpectedMatrix {
            declared,
            ..Default::default()
        };
        if !model_objs.is_empty() {
            m.path = Some(ExecPath::JobRunner);
            m.questions = questions;
            m.regions = regions;
            let index: std::collections::HashMap<&str, usize> = m
                .regions
                .iter()
                .enumerate()
                .map(|(i, r)| (r.as_str(), i))
                .collect();
            let mut models: Vec<(String, Vec<bool>)> = Vec::new();
            let mut model_index: std::collections::HashMap<String, usize> = Default::default();
            for obj in model_objs {
                let Some(id) = obj
                    .get("id")
                    .and_then(Value::as_str)
                    .or_else(|| obj.get("name").and_then(Value::as_str))
                else {
                    continue;
                };
                let serves: Vec<bool> = match obj.get("regions") {
                    Some(Value::Array(_)) => {
                        let mut s = vec![false; m.regions.len()];
                        for r in strings(obj.get("regions")) {
                            if let Some(&i) = index.get(normalize_region(&r).as_str()) {
                                s[i] = true;
                            }
                        }
                        s
                    }
                    _ => vec![true; m.regions.len()],
                };
                // A model listed twice serves the union of its regions.
                match model_index.get(id) {
                    Some(&i) => {
                        for (a, b) in models[i].1.iter_mut().zip(serves) {
                            *a |= b;
                        }
                    }
                    None => {
                        model_index.insert(id.to_string(), models.len());
                        models.push((id.to_string(), serves));
                    }
                }
            }
            (m.models, m.serves) = models.into_iter().unzip();
        } else {
            m.path = Some(ExecPath::CrossRegion);
            m.questions = if questions.is_empty() {
                vec!["default".to_string()]
            } else {
                questions
            };
            m.models = unique(strings(spec.pointer("/metadata/models")));
            if m.models.is_empty()
                && let Some(single) = spec.pointer("/metadata/model").and_then(Value::as_str)
            {
                m.models.push(single.to_string());
            }
            for r in regions {
                match router_regions {
                    Some(planned) if !planned.contains(&r) => m.unplanned_regions.push(r),
                    _ => m.regions.push(r),
                }
            }
            m.serves = vec![vec![true; m.regions.len()]; m.models.len()];
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/beacon/fixtures/runner/"
    );

    fn fixture(name: &str) -> Option<String> {
        std::fs::read_to_string(format!("{FIX}{name}")).ok()
    }

    #[test]
    fn job_runner_path_counts_models_per_region() {
        let spec = r#"{"questions":["q1","q2"],"constraints":{"regions":["US","EU","ASIA"]},
            "models":[{"id":"a","regions":["US","EU","ASIA"]},{"id":"b","regions":["us-east"]}],
            "metadata":{"total_executions_expected":12}}"#;
        let m = ExpectedMatrix::from_spec(spec, None);
        assert_eq!(m.path, Some(ExecPath::JobRunner));
        assert_eq!(m.cell_count(), 2 * 3 + 2);
        assert_eq!(m.cells().count(), 8);
        assert_eq!(m.declared, Some(12));
        assert!(m.has("q1", "b", "us-east"));
        assert!(!m.has("q1", "b", "eu-west"));
    }

    #[test]
    fn cross_region_path_plans_only_router_regions() {
        let spec = r#"{"questions":[],"constraints":{"regions":["US","EU","ASIA"]},
            "metadata":{"models":["m1","m2"]}}"#;
        let router: BTreeSet<String> = ["us-east".to_string(), "eu-west".to_string()].into();
        let m = ExpectedMatrix::from_spec(spec, Some(&router));
        assert_eq!(m.path, Some(ExecPath::CrossRegion));
        assert_eq!(m.questions, vec!["default"]);
        assert_eq!(m.cell_count(), 2 * 2);
        assert_eq!(m.unplanned_regions, vec!["asia-pacific"]);
        assert_eq!(ExpectedMatrix::from_spec(spec, None).cell_count(), 6);
    }

    /// Issue 8: a small spec declaring ten million cells costs its lists, not their product.
    #[test]
    fn a_huge_declared_matrix_is_counted_not_built() {
        let qs: Vec<String> = (0..1000).map(|i| format!("\"q{i}\"")).collect();
        let ms: Vec<String> = (0..1000).map(|i| format!("{{\"id\":\"m{i}\"}}")).collect();
        let regions: Vec<String> = (0..10).map(|i| format!("\"r{i}\"")).collect();
        let spec = format!(
            r#"{{"questions":[{}],"models":[{}],"constraints":{{"regions":[{}]}}}}"#,
            qs.join(","),
            ms.join(","),
            regions.join(",")
        );
        let m = ExpectedMatrix::from_spec(&spec, None);
        assert_eq!(m.cell_count(), 10_000_000);
        assert!(!m.listable());
        assert!(m.contains(999, 999, 9) && !m.contains(1000, 0, 0));
    }

    #[test]
    fn fixtures_parse() {
        let Some(spec) = fixture("jobspec_stored_job_runner_path.json") else {
            return; // shared/ is beside the checkout in CI; tolerate running elsewhere
        };
        let m = ExpectedMatrix::from_spec(&spec, None);
        assert_eq!(m.cell_count(), 36);
        assert_eq!(m.declared, Some(36));
        let view = parse_job_view(
            fixture("runner_get_job_include_executions.json")
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(view.status.as_deref(), Some("queued"));
        let rows = view.executions.unwrap().rows;
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.question_id.is_some()));
        assert!(
            rows[0].started_at.unwrap() % 1_000_000 != 0,
            "microseconds kept"
        );
        let old = parse_job_view(
            fixture("runner_get_job_include_executions_2025-10-01_to_10-13_format.json")
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert!(
            old.executions
                .unwrap()
                .rows
                .iter()
                .all(|r| r.created_at.is_some())
        );
        let empty = parse_job_view(
            fixture("runner_get_job_include_executions_empty.json")
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert!(empty.executions.unwrap().was_null);
        assert!(parse_job_view(fixture("runner_get_job_404.json").unwrap().as_bytes()).is_err());
    }
}
