//! `record --on-finding CMD`: a program run once for each finding that begins or ends, with
//! the finding as JSON on its stdin and `BLACKBOX_FINDING_KIND`, `_STATE`, `_SUBJECT`, `_SEQ`
//! in its environment. CMD is split on whitespace and run directly, never through a shell:
//! recorded values reach it only as data. One worker per finding kind runs them one at a time
//! (at most `QUEUE` waiting), each bounded by a timeout; polling never waits for a hook, and a
//! hook that fails, hangs or cannot start is said on stderr, never fatal.

use super::live::Change;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Changes of one kind waiting for the hook at most; more are logged and not run.
pub const QUEUE: usize = 32;

#[derive(Debug, Clone)]
pub struct Hook {
    argv: Vec<String>,
    timeout: Duration,
    workers: Arc<Mutex<HashMap<&'static str, SyncSender<Change>>>>,
}

impl Hook {
    /// `cmd`: a program and its arguments, split on whitespace. Refuses an empty one.
    pub fn new(cmd: &str, timeout: Duration) -> Result<Hook, String> {
        let argv: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        if argv.is_empty() {
            return Err("--on-finding needs a program to run".into());
        }
        Ok(Hook {
            argv,
            timeout,
            workers: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Hands the change to its kind's worker; returns at once.
    pub fn run(&self, c: &Change) {
        let mut w = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        let tx = w.entry(c.kind).or_insert_with(|| {
            let (tx, rx) = sync_channel::<Change>(QUEUE);
            let (argv, timeout) = (self.argv.clone(), self.timeout);
            std::thread::spawn(move || {
                for c in rx {
                    if let Err(e) = run_one(&argv, timeout, &c) {
                        crate::present::say(&format!(
                            "--on-finding for {} {} ({}): {}",
                            c.kind,
                            c.state,
                            crate::present::safe::term(c.job.as_deref().unwrap_or("-")),
                            crate::present::safe::term(&e)
                        ));
                    }
                }
            });
            tx
        });
        match tx.try_send(c.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) => crate::present::say(&format!(
                "--on-finding: {QUEUE} changes of {} already waiting; {} {} not handed to it",
                c.kind, c.kind, c.state
            )),
            Err(TrySendError::Disconnected(c)) => {
                crate::present::say(&format!("--on-finding: its worker for {} stopped", c.kind))
            }
        }
    }
}

fn run_one(argv: &[String], timeout: Duration, c: &Change) -> Result<(), String> {
    let json = serde_json::to_vec(c).map_err(|e| e.to_string())?;
    let until = Instant::now() + timeout;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        // The recorder's secrets are not the hook's.
        .env_remove("BLACKBOX_RUNNER_TOKEN")
        .env("BLACKBOX_FINDING_KIND", c.kind)
        .env("BLACKBOX_FINDING_STATE", c.state)
        .env("BLACKBOX_FINDING_SUBJECT", c.job.as_deref().unwrap_or(""))
        .env("BLACKBOX_FINDING_SEQ", c.seq.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    if let Some(mut stdin) = child.stdin.take() {
        // Written beside the wait, so that a hook that never reads cannot hold the timeout
        // off; one that does not read at all is its own business.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&json);
        });
    }
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => return Err(format!("{} exited with {st}", argv[0])),
            Ok(None) if Instant::now() >= until => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} still running after {}; killed",
                    argv[0],
                    crate::duration::human(timeout.as_micros() as i64)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> Change {
        Change {
            kind: "source_failing",
            job: Some("runner.health; rm -rf /".into()),
            state: "began",
            seq: 3,
            at_us: 3,
            since_seq: 3,
            since_us: 3,
            message: "$(touch /tmp/pwned)".into(),
            began_message: "$(touch /tmp/pwned)".into(),
        }
    }

    #[test]
    fn a_hook_that_hangs_is_killed_and_one_that_fails_is_said() {
        let argv = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let e = run_one(&argv("sleep 5"), Duration::from_millis(100), &change()).unwrap_err();
        assert!(e.contains("killed"), "{e}");
        let e = run_one(&argv("false"), Duration::from_secs(5), &change()).unwrap_err();
        assert!(e.contains("exited with"), "{e}");
        let e = run_one(
            &argv("/nonexistent/hook"),
            Duration::from_secs(5),
            &change(),
        )
        .unwrap_err();
        assert!(e.contains("cannot start"), "{e}");
        // Values are data on stdin, never arguments or shell text.
        assert!(run_one(&argv("cat"), Duration::from_secs(5), &change()).is_ok());
        assert!(Hook::new("  ", Duration::from_secs(1)).is_err());
    }
}
