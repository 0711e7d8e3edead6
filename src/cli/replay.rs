//! `blackbox replay`.
use super::CmdResult;
use std::io::Write;
use std::path::Path;

/// Walk the recorded timeline, or serve the recorded API as it was.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, _db: &Path, _out: &mut dyn Write) -> CmdResult {
    Err(super::CliError::failure("replay is not implemented yet"))
}
