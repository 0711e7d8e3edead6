//! A local stand-in for the Beacon runner and hybrid router, driven by a scenario.
//!
//! Two real HTTP servers (axum) on loopback behave as API.md describes: the 20-row default
//! page with `exec_limit`/`exec_offset` ordered by `created_at` DESC with ties, the complete
//! `/executions/all`, `null` for empty lists, 404 for unknown jobs, the runner's rate limits as
//! its code has them (a token bucket of 60 per client IP refilled at one a second, answering
//! 429 with `X-RateLimit-Reset` and no `Retry-After`; admin routes one request per 10 s,
//! answering 429 with `retry_after` in the body), float timestamps on the router, and outage
//! windows (5xx, hanging requests, or a closed port that refuses connections).
//!
//! The simulator runs on a `ScaledClock`: its scenario seconds, the rows' timestamps and its
//! rate limits all run `speed` times faster than real time, on one clock that a recorder can
//! share (the demo does).

mod answer;
pub mod scenario;
mod source;
mod state;
pub use answer::{Asked, SimAnswer};
pub use scenario::{BUILTIN, Scenario, builtin, fleet};
pub use source::SimSource;
pub use state::{World, world_at};

mod play;
mod server;
pub use play::*;
pub use server::*;
