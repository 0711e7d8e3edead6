//! beacon-blackbox: a flight recorder for Project Beacon incidents.
//!
//! Data flows one way: `source` fetches the runner's and router's endpoints over HTTP;
//! `record` hands each poll to the one `store::Writer`, which keeps every body as received
//! (content-addressed, compressed) and writes a version of each entity (job, execution,
//! router) only when it changed; `analysis` reads those versions back as the state at any
//! snapshot and answers the postmortem questions; `replay` walks the timeline and serves the
//! recorded bodies again; `cli` renders it all. `beacon` knows the wire formats, `sim` plays
//! scenarios on loopback for the demo and the tests.

pub mod analysis;
pub mod beacon;
pub mod cli;
pub mod cli_support;
pub mod clock;
pub mod record;
pub mod replay;
pub mod sim;
pub mod source;
pub mod store;
pub mod synth;
