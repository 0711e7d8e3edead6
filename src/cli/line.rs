//! The command line itself: the global options and the subcommands, as clap reads them.

use crate::present::text;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// A flight recorder for Project Beacon incidents: record the runner and router into a redb
/// file, then answer the postmortem questions from it offline.
#[derive(Parser, Debug)]
#[command(name = "blackbox", version, about, max_term_width = 100)]
pub struct Cli {
    /// The recording database (a redb file) [default: blackbox.redb; `demo`'s:
    /// blackbox-demo.redb].
    #[arg(
        long,
        global = true,
        env = "BLACKBOX_DB",
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub(super) db: Option<PathBuf>,
    /// Colour states (failed, missing, truncated) in text output: auto (on a terminal, unless
    /// NO_COLOR is set), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN",
        help_heading = "Global options"
    )]
    pub(super) color: text::ColorChoice,
    #[command(subcommand)]
    pub(super) cmd: Command,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    Record(Box<super::record::Args>),
    Snapshots(super::snapshots::Args),
    Simulate(super::simulate::Args),
    Demo(super::demo::Args),
    Show(super::show::Args),
    Diff(super::diff::Args),
    Report(super::report::Args),
    Replay(super::replay::Args),
    Verify(super::verify::Args),
    ServeReport(super::serve_report::ServeArgs),
    Note(super::note::Args),
    Cut(super::cut::Args),
    Digest(super::cut::DigestArgs),
    Export(super::export::Args),
    Import(super::import::Args),
    Ship(super::ship::Args),
    Completions(super::completions::Args),
    Man(super::completions::ManArgs),
}

const DEFAULT_DB: &str = "blackbox.redb";

impl Cli {
    pub(super) fn db(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
    }
}
