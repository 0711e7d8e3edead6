//! The command line: clap types (one file per subcommand, each with its Args and `run`),
//! rendering, and exit codes. Only this module parses arguments, prints, or picks exit codes.
//!
//! Exit codes: 0 success (also when stdout is closed early, as with `| head`); 1 a failure at
//! run time (unreadable database, nothing to select, `verify` found problems); 2 bad usage
//! (unknown flag, invalid value).

mod args;
mod completions;
mod cut;
mod demo;
mod diff;
mod error;
mod export;
mod import;
mod line;
mod note;
mod open;
mod record;
mod replay;
mod report;
mod result;
mod serve_report;
mod ship;
mod show;
mod simulate;
mod snapshots;
mod verify;
pub use error::{CliError, CmdResult, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, render_error};
pub use open::open_recording;

mod app;
pub use app::*;
