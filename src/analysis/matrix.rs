//! Expected matrix vs actual rows: covered, missing, duplicated and unexpected cells.

use crate::beacon::{Execution, ExpectedMatrix, format_micros};
use crate::store::schema::RouterRec;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Cell {
    pub question_id: String,
    pub model_id: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowRef {
    pub id: i64,
    pub status: String,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DupCell {
    pub question_id: String,
    pub model_id: String,
    pub region: String,
    pub execution_ids: Vec<i64>,
    pub rows: Vec<RowRef>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Unexpected {
    pub execution_id: i64,
    pub question_id: Option<String>,
    pub model_id: Option<String>,
    pub region: Option<String>,
    /// Why it is outside the matrix.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Coverage {
    pub covered: usize,
    pub missing: Vec<Cell>,
    pub duplicated: Vec<DupCell>,
    /// Rows with a full cell key that the spec does not expect.
    pub unexpected: Vec<Unexpected>,
    /// Rows that cannot be placed in any cell (no question, region `unknown`, ...): early
    /// failures, typically.
    pub no_cell: Vec<Unexpected>,
    /// Row ids per expected cell, for the matrix table.
    #[serde(skip)]
    pub cells: BTreeMap<Cell, Vec<i64>>,
}

/// The regions for which the router lists a provider (what the cross-region path plans).
pub fn router_regions(router: Option<&RouterRec>) -> Option<BTreeSet<String>> {
    let providers = router?.providers.as_ref()?;
    Some(
        providers
            .iter()
            .filter_map(|p| p.region.as_deref().map(crate::beacon::normalize_region))
            .collect(),
    )
}

fn row_ref(e: &Execution) -> RowRef {
    RowRef {
        id: e.id,
        status: e.status.clone(),
        created_at: e.created_at.map(format_micros),
        started_at: e.started_at.map(format_micros),
    }
}

pub fn coverage(m: &ExpectedMatrix, execs: &BTreeMap<i64, Execution>) -> Coverage {
    let mut cov = Coverage::default();
    let mut cells: BTreeMap<Cell, Vec<i64>> = m
        .cells
        .iter()
        .map(|(q, mo, r)| {
            (
                Cell {
                    question_id: q.clone(),
                    model_id: mo.clone(),
                    region: r.clone(),
                },
                Vec::new(),
            )
        })
        .collect();
    let single_default = m.questions.len() == 1 && m.questions[0] == "default";
    for e in execs.values() {
        let q = e
            .question_id
            .clone()
            .or_else(|| single_default.then(|| "default".to_string()));
        let region = e.region.clone().filter(|r| r != "unknown" && !r.is_empty());
        let (Some(q), Some(model), Some(region)) = (q, e.model_id.clone(), region) else {
            let mut why = Vec::new();
            if e.question_id.is_none() && !single_default {
                why.push("no question");
            }
            if e.model_id.is_none() {
                why.push("no model");
            }
            match e.region.as_deref() {
                None | Some("") => why.push("no region"),
                Some("unknown") => why.push("region unknown"),
                _ => {}
            }
            cov.no_cell.push(Unexpected {
                execution_id: e.id,
                question_id: e.question_id.clone(),
                model_id: e.model_id.clone(),
                region: e.region_raw.clone(),
                reason: why.join(", "),
            });
            continue;
        };
        let cell = Cell {
            question_id: q.clone(),
            model_id: model.clone(),
            region: region.clone(),
        };
        match cells.get_mut(&cell) {
            Some(ids) => ids.push(e.id),
            None => {
                let mut why = Vec::new();
                if !m.questions.contains(&q) {
                    why.push(format!("question {q} not in spec"));
                }
                if !m.models.contains(&model) {
                    why.push(format!("model {model} not in spec"));
                }
                if m.unplanned_regions.contains(&region) {
                    why.push(format!("region {region} not planned (no provider)"));
                } else if !m.regions.contains(&region) {
                    why.push(format!("region {region} not in spec"));
                }
                if why.is_empty() {
                    why.push(format!("model {model} not planned for {region}"));
                }
                if m.cells.is_empty() {
                    why = vec!["no job spec recorded".into()];
                }
                cov.unexpected.push(Unexpected {
                    execution_id: e.id,
                    question_id: Some(q),
                    model_id: Some(model),
                    region: e.region_raw.clone(),
                    reason: why.join("; "),
                });
            }
        }
    }
    for (cell, ids) in &cells {
        match ids.len() {
            0 => cov.missing.push(cell.clone()),
            1 => cov.covered += 1,
            _ => {
                cov.covered += 1;
                cov.duplicated.push(DupCell {
                    question_id: cell.question_id.clone(),
                    model_id: cell.model_id.clone(),
                    region: cell.region.clone(),
                    execution_ids: ids.clone(),
                    rows: ids
                        .iter()
                        .filter_map(|i| execs.get(i))
                        .map(row_ref)
                        .collect(),
                })
            }
        }
    }
    cov.cells = cells;
    cov
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(id: i64, q: Option<&str>, m: &str, r: &str) -> Execution {
        Execution {
            id,
            status: "failed".into(),
            question_id: q.map(str::to_string),
            model_id: Some(m.into()),
            region_raw: Some(r.into()),
            region: Some(crate::beacon::normalize_region(r)),
            ..Default::default()
        }
    }

    fn spec() -> ExpectedMatrix {
        ExpectedMatrix::from_spec(
            r#"{"questions":["q1","q2"],"constraints":{"regions":["US","EU"]},
                "models":[{"id":"a","regions":["US","EU"]}]}"#,
            None,
        )
    }

    #[test]
    fn aliases_duplicates_missing_unexpected_and_early_failures() {
        let m = spec();
        let execs: BTreeMap<i64, Execution> = [
            ex(1, Some("q1"), "a", "US"),
            ex(2, Some("q1"), "a", "us-east"), // same cell through the alias
            ex(3, Some("q2"), "a", "eu-west"),
            ex(4, Some("q2"), "zz", "EU"), // unexpected model
            ex(5, None, "a", "unknown"),   // early failure
        ]
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
        let c = coverage(&m, &execs);
        assert_eq!(c.covered, 2);
        assert_eq!(c.duplicated.len(), 1);
        assert_eq!(c.duplicated[0].execution_ids, vec![1, 2]);
        assert_eq!(
            c.missing,
            vec![
                Cell {
                    question_id: "q1".into(),
                    model_id: "a".into(),
                    region: "eu-west".into()
                },
                Cell {
                    question_id: "q2".into(),
                    model_id: "a".into(),
                    region: "us-east".into()
                }
            ]
        );
        assert_eq!(c.unexpected.len(), 1);
        assert!(c.unexpected[0].reason.contains("model zz not in spec"));
        assert_eq!(c.no_cell.len(), 1);
        assert!(c.no_cell[0].reason.contains("region unknown"));
    }

    #[test]
    fn cross_region_rows_without_question_fill_default() {
        let m = ExpectedMatrix::from_spec(
            r#"{"constraints":{"regions":["US"]},"metadata":{"models":["a"]}}"#,
            None,
        );
        let execs: BTreeMap<i64, Execution> = [(1, ex(1, None, "a", "US"))].into_iter().collect();
        let c = coverage(&m, &execs);
        assert_eq!(c.covered, 1);
        assert!(c.missing.is_empty() && c.no_cell.is_empty());
    }
}
