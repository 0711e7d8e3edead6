//! Fetching: the `Source` seam the poll loop calls for every request, its HTTP implementation,
//! and a scripted one for tests. A source only carries out one request; which requests a poll
//! makes, and when, is the recorder's plan (`record::plan`).
//!
//! Every request ends in a `Fetched`, success or failure: a source that fails is data, never a
//! reason to stop recording.

mod fake;
mod http;
pub use fake::{FakeSource, Reply, Rule};
pub use http::{HttpConfig, HttpSource, KEEP_IDLE, install_crypto};

mod seam;
pub(crate) use http::wait_hint;
pub use seam::*;
