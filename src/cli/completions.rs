//! `blackbox completions SHELL`: a completion script, and `blackbox man`: the man page.

use super::error::CmdResult;
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

/// `cmd` is the whole command line (given by the dispatcher, which knows it).
pub fn run(args: Args, mut cmd: clap::Command, out: &mut dyn Write) -> CmdResult {
    clap_complete::generate(args.shell, &mut cmd, "blackbox", out);
    Ok(())
}

/// Print the man page (roff): `blackbox man > blackbox.1; man ./blackbox.1`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {}

pub fn man(_args: ManArgs, cmd: clap::Command, out: &mut dyn Write) -> CmdResult {
    let page = clap_mangen::Man::new(cmd);
    page.render(out)?;
    Ok(())
}
