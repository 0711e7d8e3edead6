//! Expected matrix vs actual rows: covered, missing, duplicated and unexpected cells.

use crate::beacon::{Execution, ExpectedMatrix, format_micros};
use crate::store::schema::RouterRec;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// Row ids per expected cell, in the order of `ExpectedMatrix::cells`, for the table.
    #[serde(skip)]
    pub cell_rows: Vec<((u32, u32, u32), Vec<i64>)>,
}

impl Coverage {
    /// Row ids of an expected cell (by indexes); `None` when the cell is not expected.
    pub fn rows_of(&self, cell: (u32, u32, u32)) -> Option<&[i64]> {
        self.cell_rows
            .binary_search_by_key(&cell, |(c, _)| *c)
            .ok()
            .map(|i| self.cell_rows[i].1.as_slice())
    }
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
        status: e.status.to_string(),
        created_at: e.created_at.map(format_micros),
        started_at: e.started_at.map(format_micros),
    }
}

fn index(v: &[String]) -> HashMap<&str, u32> {
    v.iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect()
}

fn cell_of(m: &ExpectedMatrix, c: (u32, u32, u32)) -> Cell {
    let (q, mo, r) = m.names(c);
    Cell {
        question_id: q.into(),
        model_id: mo.into(),
        region: r.into(),
    }
}

pub fn coverage(m: &ExpectedMatrix, execs: &BTreeMap<i64, Execution>) -> Coverage {
    let mut cov = Coverage::default();
    let (qi, mi, ri) = (index(&m.questions), index(&m.models), index(&m.regions));
    let (nm, nr) = (m.models.len(), m.regions.len());
    // Dense grid: slot of each expected cell, by (q, m, r) indexes; no strings copied.
    let mut slot = vec![usize::MAX; m.questions.len() * nm * nr];
    let cells: Vec<(u32, u32, u32)> = m.cells.iter().copied().collect();
    for (k, &(q, mo, r)) in cells.iter().enumerate() {
        slot[(q as usize * nm + mo as usize) * nr + r as usize] = k;
    }
    let mut ids: Vec<Vec<i64>> = vec![Vec::new(); cells.len()];
    let single_default = m.questions.len() == 1 && m.questions[0] == "default";
    for e in execs.values() {
        let q = e
            .question_id
            .as_deref()
            .or(single_default.then_some("default"));
        let region = e
            .region
            .as_deref()
            .filter(|r| *r != "unknown" && !r.is_empty());
        let (Some(q), Some(model), Some(region)) = (q, e.model_id.as_deref(), region) else {
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
                question_id: e.question_id.as_deref().map(str::to_string),
                model_id: e.model_id.as_deref().map(str::to_string),
                region: e.region_raw.as_deref().map(str::to_string),
                reason: why.join(", "),
            });
            continue;
        };
        let k = match (qi.get(q), mi.get(model), ri.get(region)) {
            (Some(&a), Some(&b), Some(&c)) => {
                slot[(a as usize * nm + b as usize) * nr + c as usize]
            }
            _ => usize::MAX,
        };
        if k != usize::MAX {
            ids[k].push(e.id);
            continue;
        }
        let mut why = Vec::new();
        if !qi.contains_key(q) {
            why.push(format!("question {q} not in spec"));
        }
        if !mi.contains_key(model) {
            why.push(format!("model {model} not in spec"));
        }
        if m.unplanned_regions.iter().any(|r| r == region) {
            why.push(format!("region {region} not planned (no provider)"));
        } else if !ri.contains_key(region) {
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
            question_id: Some(q.to_string()),
            model_id: Some(model.to_string()),
            region: e.region_raw.as_deref().map(str::to_string),
            reason: why.join("; "),
        });
    }
    for (k, rows) in ids.iter().enumerate() {
        match rows.len() {
            0 => cov.missing.push(cell_of(m, cells[k])),
            1 => cov.covered += 1,
            _ => {
                cov.covered += 1;
                let c = cell_of(m, cells[k]);
                cov.duplicated.push(DupCell {
                    question_id: c.question_id,
                    model_id: c.model_id,
                    region: c.region,
                    execution_ids: rows.clone(),
                    rows: rows
                        .iter()
                        .filter_map(|i| execs.get(i))
                        .map(row_ref)
                        .collect(),
                })
            }
        }
    }
    cov.cell_rows = cells.into_iter().zip(ids).collect();
    cov
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(id: i64, q: Option<&str>, m: &str, r: &str) -> Execution {
        Execution {
            id,
            status: "failed".into(),
            question_id: q.map(Into::into),
            model_id: Some(m.into()),
            region_raw: Some(r.into()),
            region: Some(crate::beacon::normalize_region(r).into()),
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
