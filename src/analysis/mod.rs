//! Pure analysis over a recording: the state at a snapshot, matrix coverage, diffs between two
//! points, failure signatures and timing, router health, fetch outages, findings, and the
//! timeline. Everything here returns data; `cli` renders it.
//!
//! The analysis reads entity versions and snapshot headers, never raw bodies.

pub mod answer;
pub mod clocks;
pub mod diff;
pub mod endpoints;
pub mod failures;
pub mod fetches;
pub mod findings;
pub mod history;
pub mod job;
pub mod judge;
pub mod lanes;
pub mod matrix;
pub mod metrics;
pub mod report;
pub mod router;
pub mod rows;
pub mod seen;
mod select;
pub mod summary;
pub mod timeline;
pub use select::{SelectError, Selector};

mod recording;
mod values;
pub use recording::*;
pub use values::*;
mod postmortem;
pub use postmortem::report;
