//! beacon-blackbox: a flight recorder for Project Beacon incidents.
//!
//! Data flows one way: `record` plans each poll within the runner's rate budget and asks a
//! `source` (HTTP, or a scripted fake in tests) for each request; `normalise` reads the answers
//! into observations (each job's complete list and view, the router) and decides each request's
//! outcome (`fetch::Outcome`, the one definition of a failed fetch); the one `store::Writer`
//! keeps every body as received (content-addressed, compressed) and writes a version of each
//! entity only when it changed; `analysis` reads those versions back as the state at any
//! snapshot (and which poll observed what) and answers the postmortem questions as typed values.
//!
//! Then three rooms, each below `cli`: `present` turns those values into what a person reads
//! (sentences, text, Markdown, JSON, the HTML page, with every recorded value escaped);
//! `exchange` moves a recording in and out (captures and HAR files in, JSON lines, Parquet and a
//! trace out, ClickHouse); `serve` answers HTTP (the time-travel replay server, the live page).
//! `cli` only parses arguments, calls one of them and prints: one file per command, its error
//! type in `cli/error.rs`.
//!
//! Below everything: `beacon` knows the wire formats, `redact` keeps secrets out of URLs,
//! `errors` writes an error's chain in one line, `outfile` writes a file whole or not at all,
//! `clock` is the one reader of time, `sim` plays scenarios on loopback for the demo and the
//! tests.

pub mod analysis;
pub mod beacon;
pub mod cli;
pub mod clock;
pub mod duration;
pub mod errors;
pub mod exchange;
pub mod fetch;
pub mod keyed;
pub mod normalise;
pub mod outfile;
pub mod present;
pub mod record;
pub mod redact;
pub mod serve;
pub mod sim;
pub mod source;
pub mod store;
pub mod synth;
