//! The polled system, Project Beacon, as data: execution rows in all three runner formats,
//! the job view and its spec, the router's health and providers, region aliases, and the
//! expected matrix of a job. Nothing here does I/O; every parser takes the body bytes as
//! received and is lenient about what it does not need (unknown fields are ignored, `null`
//! and `""` mean "absent").
//!
//! Wire formats: `../shared/beacon/API.md`.

mod entity;
mod exec;
mod job;
mod jobs;
mod lenient;
mod region;
mod router;
mod time;
pub use entity::{ExtraRow, ExtraWhy, JobRec, RouterRec, RowProblem};
pub use exec::{
    ExecutionList, RowCache, parse_exec_list, parse_exec_list_with, parse_exec_rows,
    parse_exec_rows_with,
};
pub use job::{ExecPath, ExpectedMatrix, JobView, MATRIX_CAP, parse_job_view, parse_job_view_with};
pub use jobs::{
    DEFAULT_PAGE, JobsList, ListedJob, MAX_ID_LEN, is_final, parse_jobs_list, usable_id,
};
pub use region::normalize_region;
pub use router::{Provider, RouterHealth, health_timestamp, parse_health, parse_providers};
pub use time::{format_micros, parse_time_micros};

mod execution;
pub use execution::*;
