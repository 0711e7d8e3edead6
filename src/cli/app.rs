//! The binary's entry: parse the command line, dispatch to the command, print its error as one
//! line, and pick the exit code.

use super::error::{CliError, CmdResult, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, render_error};
use super::line::{Cli, Command};
use crate::present::safe;
use clap::{CommandFactory, Parser};
use std::io::Write;

fn dispatch(cli: Cli, out: &mut dyn Write) -> CmdResult {
    use std::io::IsTerminal;
    let db = cli.db();
    let explicit_db = cli.db.is_some();
    let color = cli.color.enabled(std::io::stdout().is_terminal());
    match cli.cmd {
        Command::Record(a) => super::record::run(*a, &db, out),
        Command::Snapshots(a) => super::snapshots::run(a, &db, color, out),
        Command::Simulate(a) => super::simulate::run(a, out),
        Command::Demo(a) => super::demo::run(a, explicit_db.then_some(db.as_path()), color, out),
        Command::Show(a) => super::show::run(a, &db, color, out),
        Command::Diff(a) => super::diff::run(a, &db, color, out),
        Command::Report(a) => super::report::run(a, &db, color, out),
        Command::Replay(a) => super::replay::run(a, &db, color, out),
        Command::Verify(a) => super::verify::run(a, &db, out),
        Command::ServeReport(a) => super::serve_report::serve_report(a, &db, out),
        Command::Note(a) => super::note::run(a, &db, out),
        Command::Cut(a) => super::cut::run(a, &db, out),
        Command::Digest(a) => super::cut::digest(a, &db, out),
        Command::Export(a) => super::export::run(a, &db, out),
        Command::Import(a) => super::import::run(a, &db, out),
        Command::Ship(a) => super::ship::run(a, &db, out),
        Command::Completions(a) => super::completions::run(a, Cli::command(), out),
        Command::Man(a) => super::completions::man(a, Cli::command(), out),
    }
}

/// Parses `argv`, runs the command writing to `out`, prints errors to stderr, and returns the
/// exit code. In-process entry for tests as well as `main`.
pub fn run_with(argv: Vec<std::ffi::OsString>, out: &mut dyn Write) -> i32 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version.
                let _ = e.print();
                return EXIT_OK;
            }
            // One line: clap's first line names the flag and the problem.
            let text = e.render().to_string();
            // The whole message, usage line included; clap quotes the value it refused, and a
            // URL's password must not be echoed.
            let text = crate::redact::in_text(text.trim_end());
            let lines: Vec<String> = text.lines().map(|l| safe::term(l).into_owned()).collect();
            super::record::say(&lines.join("\n"));
            return EXIT_USAGE;
        }
    };
    // A panic is a bug; it must still end as one line and a non-zero exit, never a trace.
    // Only a command that reads a recording points at `verify`.
    let reads_a_recording = !matches!(
        cli.cmd,
        Command::Completions(_) | Command::Man(_) | Command::Simulate(_)
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli, out)));
    let result = match result {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            // A library that panics on a closed output (a pipe's reader gone) is no failure.
            if msg.contains("Broken pipe") || msg.contains("os error 32") {
                return EXIT_OK;
            }
            Err(CliError::failure(if reads_a_recording {
                format!(
                    "internal failure ({msg}); the database may be damaged, try `blackbox verify`"
                )
            } else {
                format!("internal failure ({msg})")
            }))
        }
    };
    let flushed = out.flush();
    match result {
        Ok(()) => match flushed {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                super::record::say(&format!("error: cannot write output: {e}"));
                EXIT_FAILURE
            }
            _ => EXIT_OK,
        },
        Err(e) if super::error::is_broken_pipe(e.error.as_ref()) => EXIT_OK,
        Err(e) => {
            super::record::say(&render_error(&e));
            e.code
        }
    }
}

/// The binary's entry point.
pub fn main() -> i32 {
    std::panic::set_hook(Box::new(|_| {}));
    // Diagnostics for the tool itself (requests, commits, timings) go to stderr when asked
    // for, e.g. BLACKBOX_LOG=debug; by default only what the commands print is seen.
    let filter = tracing_subscriber::EnvFilter::try_from_env("BLACKBOX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    run_with(std::env::args_os().collect(), &mut out)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Issue 9: every flag and argument of every command says what it does.
    #[test]
    fn every_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "blackbox", &mut missing);
        assert!(missing.is_empty(), "no help: {missing:?}");
    }
}
