//! The entities as they are kept between snapshots: a job as its default view showed it, the
//! router's state, rows kept beside the by-id list, and what could not be read of a row. These
//! are stored values too (see `store::schema`), so they are plain structs: every field always
//! written, in order.

use super::execution::Execution;
use super::{Provider, RouterHealth};
use serde::{Deserialize, Serialize};

/// A job as its default view showed it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JobRec {
    /// `false` when the runner answered 404 "job not found".
    pub found: bool,
    pub status: Option<String>,
    /// The job spec as received (JSON text).
    pub spec_json: Option<String>,
    /// Rows in the default view (`include=executions`, no limit): the page a person sees.
    pub default_rows: Option<u32>,
    /// The execution ids that page showed.
    pub default_ids: Vec<i64>,
}

/// The router's state: the last good `/health` and `/providers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RouterRec {
    pub health: Option<RouterHealth>,
    pub providers: Option<Vec<Provider>>,
}

/// Why a row is kept beside the by-id list instead of in it. (Stored by variant index; the
/// names are for JSON.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraWhy {
    /// Its id repeats the id of an earlier row of the same body.
    DuplicateId,
    /// It has no usable id (missing, not a number, out of range).
    NoId,
}

/// A row of a job's complete list that has no place in the by-id list, kept so that counts
/// and cells stay true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtraRow {
    pub why: ExtraWhy,
    /// The execution; its `id` means nothing when `why` is `NoId`.
    pub exec: Execution,
}

impl ExtraRow {
    pub fn id(&self) -> Option<i64> {
        match self.why {
            ExtraWhy::DuplicateId => Some(self.exec.id),
            ExtraWhy::NoId => None,
        }
    }
}

/// Something about one row of a body that could not be read: the row was not kept, or a field
/// of it was not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowProblem {
    /// Position of the row in the body's array, from 0.
    pub index: u32,
    /// The row's id, when it had a usable one.
    pub id: Option<i64>,
    pub reason: String,
}
