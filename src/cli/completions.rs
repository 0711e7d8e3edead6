//! `blackbox completions SHELL`: a completion script, and `blackbox man`: the man page.

use super::error::{CliError, CmdResult};
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

/// Print the man page (roff): `blackbox man > blackbox.1; man ./blackbox.1`; or write one page
/// per subcommand: `blackbox man --out DIR` (blackbox.1, blackbox-record.1, ...).
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write every page (the command's and one per subcommand) into this folder, created if
    /// needed, instead of printing the top page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

pub fn man(args: ManArgs, cmd: clap::Command, out: &mut dyn Write) -> CmdResult {
    let Some(dir) = args.out else {
        clap_mangen::Man::new(cmd).render(out)?;
        return Ok(());
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
    clap_mangen::generate_to(cmd, &dir)
        .map_err(|e| CliError::failure(format!("cannot write into {}: {e}", dir.display())))?;
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("blackbox") && n.ends_with(".1"))
        .collect();
    pages.sort();
    writeln!(
        out,
        "wrote {} man pages into {}: {}",
        pages.len(),
        crate::present::safe::term(&dir.display().to_string()),
        pages.join(", ")
    )?;
    Ok(())
}
