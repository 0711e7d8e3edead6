//! The seam every request goes through: a `Source` answers a planned request, over HTTP or from
//! a script in tests.

pub use crate::fetch::{FetchErrorKind, Fetched, Request, SourceKind};

use std::future::Future;

/// Carries out one request.
pub trait Source: Send + Sync {
    fn fetch(&self, req: Request) -> impl Future<Output = Fetched> + Send;
}
