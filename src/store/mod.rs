//! The redb store: opening a file (and checking its schema), the snapshot writer, and the
//! reader the analysis works through.
//!
//! Every handle is opened in redb's `ConcurrencyMode::SingleWriter`: one process (`record`)
//! writes, and `show`/`diff`/`report` in other processes open the same file read-only and see
//! each committed snapshot as it lands.

pub mod blobs;
pub mod bundle;
pub mod checkpoint;
pub mod codec;
mod compact;
pub mod findings;
mod guard;
pub mod notes;
pub mod prune;
mod reader;
pub mod rows;
pub mod schema;
pub mod sign;
mod verify;
pub mod writer;
pub use reader::{Reader, SnapshotInfo};
pub use verify::{VerifyReport, verify_file};
pub use writer::{IngestStats, Poll, Writer};

mod open;
pub use open::*;
