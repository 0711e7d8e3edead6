//! Expected matrix vs actual rows: covered, missing, duplicated and unexpected cells.

use super::Stamp;
use crate::beacon::RouterRec;
use crate::beacon::{Execution, ExpectedMatrix};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Cell {
    pub question_id: String,
    pub model_id: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowRef {
    /// `None` for a row without a usable id.
    pub id: Option<i64>,
    pub status: String,
    pub created_at: Option<Stamp>,
    pub started_at: Option<Stamp>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DupCell {
    pub question_id: String,
    pub model_id: String,
    pub region: String,
    /// Ids of the cell's rows that have one (an id can repeat: the runner sent it twice).
    pub execution_ids: Vec<i64>,
    pub rows: Vec<RowRef>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Unexpected {
    /// `None` for a row without a usable id.
    pub execution_id: Option<i64>,
    pub question_id: Option<String>,
    pub model_id: Option<String>,
    pub region: Option<String>,
    /// Why it is outside the matrix.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Coverage {
    /// Cells the spec expects (a count: see `listed`).
    pub expected: u64,
    pub covered: usize,
    /// Expected cells without a row.
    pub missing_count: u64,
    /// Whether the cells are listed (`missing`, the matrix table): a matrix over
    /// `beacon::MATRIX_CAP` cells is counted only.
    pub listed: bool,
    pub missing: Vec<Cell>,
    pub duplicated: Vec<DupCell>,
    /// Rows with a full cell key that the spec does not expect.
    pub unexpected: Vec<Unexpected>,
    /// Rows that cannot be placed in any cell (no question, region `unknown`, ...): early
    /// failures, typically.
    pub no_cell: Vec<Unexpected>,
    /// Statuses of the rows of each expected cell, in cell order, for the matrix table (only
    /// when `listed`).
    #[serde(skip)]
    pub cell_rows: Vec<((u32, u32, u32), Vec<String>)>,
}

impl Coverage {
    /// Row statuses of an expected cell (by indexes); `None` when the cell is not expected or
    /// the matrix is not listed.
    pub fn rows_of(&self, cell: (u32, u32, u32)) -> Option<&[String]> {
        self.cell_rows
            .binary_search_by_key(&cell, |(c, _)| *c)
            .ok()
            .map(|i| self.cell_rows[i].1.as_slice())
    }
}

/// One row of a job, from the by-id list or kept beside it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub id: Option<i64>,
    pub exec: &'a Execution,
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

fn row_ref(r: &Row) -> RowRef {
    RowRef {
        id: r.id,
        status: r.exec.status.to_string(),
        created_at: r.exec.created_at.map(Stamp),
        started_at: r.exec.started_at.map(Stamp),
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

/// Places each row in its cell. The cost follows the rows (and, when the matrix is listed,
/// its cells), never the product of a spec's lists.
pub fn coverage<'a>(m: &ExpectedMatrix, rows: impl IntoIterator<Item = Row<'a>>) -> Coverage {
    let mut cov = Coverage {
        expected: m.cell_count(),
        listed: m.listable(),
        ..Default::default()
    };
    let (qi, mi, ri) = (index(&m.questions), index(&m.models), index(&m.regions));
    let mut groups: HashMap<(u32, u32, u32), Vec<Row<'a>>> = HashMap::new();
    let single_default = m.questions.len() == 1 && m.questions[0] == "default";
    for row in rows {
        let e = row.exec;
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
                execution_id: row.id,
                question_id: e.question_id.as_deref().map(str::to_string),
                model_id: e.model_id.as_deref().map(str::to_string),
                region: e.region_raw.as_deref().map(str::to_string),
                reason: why.join(", "),
            });
            continue;
        };
        if let (Some(&a), Some(&b), Some(&c)) = (qi.get(q), mi.get(model), ri.get(region))
            && m.contains(a, b, c)
        {
            groups.entry((a, b, c)).or_default().push(row);
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
        if m.cell_count() == 0 {
            why = vec!["no job spec recorded".into()];
        }
        cov.unexpected.push(Unexpected {
            execution_id: row.id,
            question_id: Some(q.to_string()),
            model_id: Some(model.to_string()),
            region: e.region_raw.as_deref().map(str::to_string),
            reason: why.join("; "),
        });
    }
    cov.covered = groups.len();
    cov.missing_count = cov.expected.saturating_sub(groups.len() as u64);
    let mut dups: Vec<(u32, u32, u32)> = groups
        .iter()
        .filter(|(_, rows)| rows.len() > 1)
        .map(|(c, _)| *c)
        .collect();
    dups.sort_unstable();
    for c in dups {
        let rows = &groups[&c];
        let cell = cell_of(m, c);
        cov.duplicated.push(DupCell {
            question_id: cell.question_id,
            model_id: cell.model_id,
            region: cell.region,
            execution_ids: rows.iter().filter_map(|r| r.id).collect(),
            rows: rows.iter().map(row_ref).collect(),
        });
    }
    if cov.listed {
        for c in m.cells() {
            match groups.get(&c) {
                None => {
                    cov.missing.push(cell_of(m, c));
                    cov.cell_rows.push((c, Vec::new()));
                }
                Some(rows) => cov
                    .cell_rows
                    .push((c, rows.iter().map(|r| r.exec.status.to_string()).collect())),
            }
        }
    }
    cov
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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

    fn rows(execs: &BTreeMap<i64, Execution>) -> impl Iterator<Item = Row<'_>> {
        execs.values().map(|e| Row {
            id: Some(e.id),
            exec: e,
        })
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
        let c = coverage(&m, rows(&execs));
        assert_eq!(c.covered, 2);
        assert_eq!(c.missing_count, 2);
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
        let c = coverage(&m, rows(&execs));
        assert_eq!(c.covered, 1);
        assert!(c.missing.is_empty() && c.no_cell.is_empty());
    }
}
