//! `blackbox verify`.
use super::CmdResult;
use std::io::Write;
use std::path::Path;

/// Check a database's integrity.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, _db: &Path, _out: &mut dyn Write) -> CmdResult {
    Err(super::CliError::failure("verify is not implemented yet"))
}
