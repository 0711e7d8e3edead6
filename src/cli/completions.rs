//! `blackbox completions SHELL`: a completion script, and `blackbox man`: the man page.

use super::error::CmdResult;
use clap::CommandFactory;
use std::io::Write;

/// Print a shell completion script.
///
/// For bash: `blackbox completions bash > /etc/bash_completion.d/blackbox`; zsh: into a
/// directory of $fpath as `_blackbox`; fish: `~/.config/fish/completions/blackbox.fish`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "blackbox", out);
    Ok(())
}

/// Print the man page (roff): `blackbox man > blackbox.1; man ./blackbox.1`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {}

pub fn man(_args: ManArgs, out: &mut dyn Write) -> CmdResult {
    let page = clap_mangen::Man::new(super::Cli::command());
    page.render(out)?;
    Ok(())
}
