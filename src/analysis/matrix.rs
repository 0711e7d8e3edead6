//! Expected matrix vs actual rows: covered, missing, duplicated and unexpected cells.

use super::values::Stamp;
use crate::beacon::RouterRec;
use crate::beacon::{Execution, ExpectedMatrix, Str};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Cell {
    pub question_id: Str,
    pub model_id: Str,
    pub region: Str,
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
    pub question_id: Str,
    pub model_id: Str,
    pub region: Str,
    /// The distinct ids of the cell's rows.
    pub execution_ids: Vec<i64>,
    /// Distinct executions: distinct ids, each row without a usable id counted as its own.
    /// A row repeating an id of the same body is that execution sent twice, not a second run.
    pub executions: usize,
    /// Every row, a repeated one too.
    pub rows: Vec<RowRef>,
}

impl DupCell {
    /// Runs beyond the cell's first (by distinct execution).
    pub fn extra_runs(&self) -> usize {
        self.executions - 1
    }
}

/// Distinct executions among rows: distinct ids, plus every row without one.
pub fn distinct_executions(ids: impl IntoIterator<Item = Option<i64>>) -> (Vec<i64>, usize) {
    let mut with: Vec<i64> = Vec::new();
    let mut without = 0;
    for id in ids {
        match id {
            Some(i) => with.push(i),
            None => without += 1,
        }
    }
    with.sort_unstable();
    with.dedup();
    let n = with.len() + without;
    (with, n)
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
    /// Expected cells without a row seen, when no complete list was read (then none is
    /// "missing": rows beyond the view may exist).
    pub unknown_count: u64,
    /// A complete list was read: `missing` means missing.
    pub complete: bool,
    /// Whether the cells are listed (`missing`, the matrix table): a matrix over
    /// `beacon::MATRIX_CAP` cells is counted only.
    pub listed: bool,
    pub missing: Vec<Cell>,
    pub duplicated: Vec<DupCell>,
    /// Rows in expected cells that repeat an id already in their cell (the runner sent one
    /// execution twice): neither a cell covered nor a second run.
    pub repeated_rows: usize,
    /// Rows with a full cell key that the spec does not expect.
    pub unexpected: Vec<Unexpected>,
    /// Rows that cannot be placed in any cell (no question, region `unknown`, ...): early
    /// failures, typically.
    pub no_cell: Vec<Unexpected>,
    /// Statuses of the rows of each expected cell, in cell order, for the matrix table (only
    /// when `listed`).
    #[serde(skip)]
    pub cell_rows: CellRows,
}

/// Row statuses per expected cell, flat: a matrix of 100,000 cells is three vectors, not
/// 100,000 small ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellRows {
    /// Cells by indexes, in order.
    cells: Vec<(u32, u32, u32)>,
    /// Where each cell's rows end in `rows`.
    ends: Vec<u32>,
    /// (status, id) of each row.
    rows: Vec<(Str, Option<i64>)>,
}

impl CellRows {
    fn push(&mut self, cell: (u32, u32, u32), rows: impl IntoIterator<Item = (Str, Option<i64>)>) {
        self.cells.push(cell);
        self.rows.extend(rows);
        self.ends.push(self.rows.len() as u32);
    }
}

impl Coverage {
    /// Without a complete list, cells without a row are unknown, not missing.
    pub fn only_seen(mut self) -> Coverage {
        self.unknown_count = self.missing_count;
        self.missing_count = 0;
        self.missing.clear();
        self.complete = false;
        self
    }

    /// (status, id) of the rows of an expected cell (by indexes); `None` when the cell is not
    /// expected or the matrix is not listed.
    pub fn rows_of(&self, cell: (u32, u32, u32)) -> Option<&[(Str, Option<i64>)]> {
        let c = &self.cell_rows;
        let i = c.cells.binary_search(&cell).ok()?;
        let start = i.checked_sub(1).map_or(0, |p| c.ends[p] as usize);
        Some(&c.rows[start..c.ends[i] as usize])
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

/// Names to positions, with a fast hash: coverage looks up three names per row.
fn index(v: &[String]) -> rustc_hash::FxHashMap<&str, u32> {
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

/// A cell by its indexes in the spec's lists (question, model, region).
type CellIdx = (u32, u32, u32);

/// Places each row in its cell. The cost follows the rows (and, when the matrix is listed,
/// its cells), never the product of a spec's lists.
pub fn coverage<'a>(m: &ExpectedMatrix, rows: impl IntoIterator<Item = Row<'a>>) -> Coverage {
    let mut cov = Coverage {
        expected: m.cell_count(),
        listed: m.listable(),
        complete: true,
        ..Default::default()
    };
    let (qi, mi, ri) = (index(&m.questions), index(&m.models), index(&m.regions));
    // Rows placed in a cell, then sorted by cell: no map, no vector per cell.
    let rows = rows.into_iter();
    let mut placed: Vec<(CellIdx, Row<'a>)> = Vec::with_capacity(rows.size_hint().0);
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
            placed.push(((a, b, c), row));
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
    // Stable: a cell's rows stay in the order they came (by id, then the extras).
    placed.sort_by_key(|(c, _)| *c);
    let groups: Vec<&[(CellIdx, Row<'a>)]> = placed.chunk_by(|a, b| a.0 == b.0).collect();
    cov.covered = groups.len();
    cov.missing_count = cov.expected.saturating_sub(groups.len() as u64);
    for g in groups.iter().filter(|g| g.len() > 1) {
        let (execution_ids, executions) = distinct_executions(g.iter().map(|(_, r)| r.id));
        cov.repeated_rows += g.len() - executions;
        if executions < 2 {
            continue;
        }
        let cell = cell_of(m, g[0].0);
        cov.duplicated.push(DupCell {
            question_id: cell.question_id,
            model_id: cell.model_id,
            region: cell.region,
            execution_ids,
            executions,
            rows: g.iter().map(|(_, r)| row_ref(r)).collect(),
        });
    }
    if cov.listed {
        // Both in cell order: one walk.
        let mut next = groups.iter().peekable();
        for c in m.cells() {
            while next.next_if(|g| g[0].0 < c).is_some() {}
            match next.next_if(|g| g[0].0 == c) {
                None => {
                    cov.missing.push(cell_of(m, c));
                    cov.cell_rows.push(c, []);
                }
                Some(g) => cov
                    .cell_rows
                    .push(c, g.iter().map(|(_, r)| (r.exec.status.clone(), r.id))),
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
