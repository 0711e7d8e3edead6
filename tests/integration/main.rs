//! One integration binary: every test drives the real `blackbox` binary against real HTTP
//! servers on loopback (the built-in simulator) and real redb files in temporary folders.

mod alerting;
mod always;
mod analysis;
mod bad_input;
mod cli;
mod clickhouse;
mod clocks;
mod common;
mod conventions;
mod damaged;
mod export;
mod faults;
mod golden;
mod hostile;
mod import;
mod ingest_ways;
mod judge;
mod loose_ends;
mod page;
mod page_scale;
mod record;
mod recorder;
mod replay;
mod router;
mod router_truth;
mod rules;
mod seal;
mod seen;
mod story;
mod transport;
mod truth;
mod unknown;
mod ways_out;
