//! `record --on-finding CMD`: a program run once for each finding that begins or ends, with
//! the finding as JSON on its stdin and `BLACKBOX_FINDING_KIND`, `_STATE`, `_SUBJECT` (job,
//! source and provider in one), `_JOB`, `_SOURCE`, `_PROVIDER`, `_SEQ` in its environment. CMD is split on whitespace and run directly, never through a shell:
//! recorded values reach it only as data. One worker per finding kind runs them one at a time
//! (at most `QUEUE` waiting), each bounded by a timeout; polling never waits for a hook, and a
//! hook that fails, hangs or cannot start is said on stderr, never fatal.
//!
//! What the hook gets, and what it leaves behind:
//! - Its environment is an allowlist (`ALLOWED_ENV`, the finding's variables, and any the
//!   operator names with `--on-finding-env`), never the recorder's own: a runner URL with a
//!   password in it, a cloud key, the runner's token stay with the recorder.
//! - It runs in a process group of its own; at its timeout, and when recording stops, the
//!   whole group is killed (a shell script's children too).
//! - A run that is not made — its kind's queue full, or the recording stopping first — is said
//!   on stderr and kept as a note (`take_dropped`), never lost without a word.
//! - The program is looked up when recording starts: a path that does not exist, or a name
//!   not on `PATH`, is refused then, not at the first finding.

use super::live::Change;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Changes of one kind waiting for the hook at most; more are said and kept as notes.
pub const QUEUE: usize = 32;

/// The recorder's variables a hook gets (when set): enough to find programs and speak the
/// locale, nothing that could be a secret.
pub const ALLOWED_ENV: [&str; 6] = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ"];

/// A run that was not made, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    pub change: Change,
    pub why: &'static str,
}

#[derive(Debug, Clone)]
pub struct Hook {
    argv: Vec<String>,
    timeout: Duration,
    /// The whole environment of a run, but the finding's own variables.
    env: Vec<(String, String)>,
    workers: Arc<Mutex<HashMap<&'static str, SyncSender<Change>>>>,
    /// Process groups of the runs under way, by kind.
    running: Arc<Mutex<HashMap<&'static str, u32>>>,
    dropped: Arc<Mutex<Vec<Dropped>>>,
    stopping: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

/// Where `program` is: a path as given (it must be a file), else a name looked up on `path`.
fn locate(program: &str, path: Option<&str>) -> Result<std::path::PathBuf, String> {
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "--on-finding: {program} does not exist (or is not a file)"
            ))
        };
    }
    path.unwrap_or("")
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("--on-finding: {program} is not on PATH"))
}

impl Hook {
    /// `cmd`: a program and its arguments, split on whitespace; `pass`: more variables of the
    /// recorder's environment the hook may have (by name). Refuses an empty command, a program
    /// that cannot be found, and the runner's token.
    pub fn new(cmd: &str, timeout: Duration, pass: &[String]) -> Result<Hook, String> {
        let mut argv: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        if argv.is_empty() {
            return Err("--on-finding needs a program to run".into());
        }
        if let Some(bad) = pass
            .iter()
            .find(|n| n.as_str() == "BLACKBOX_RUNNER_TOKEN" || n.is_empty() || n.contains('='))
        {
            return Err(format!(
                "--on-finding-env {bad:?}: a variable's name; the runner's token is never handed to a hook"
            ));
        }
        let mut env: Vec<(String, String)> = Vec::new();
        for name in ALLOWED_ENV
            .iter()
            .map(|s| s.to_string())
            .chain(pass.iter().cloned())
        {
            if let Ok(v) = std::env::var(&name) {
                env.push((name, v));
            }
        }
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str());
        argv[0] = locate(&argv[0], path)?.display().to_string();
        Ok(Hook {
            argv,
            timeout,
            env,
            workers: Default::default(),
            running: Default::default(),
            dropped: Default::default(),
            stopping: Default::default(),
            threads: Default::default(),
        })
    }

    fn drop_run(&self, change: Change, why: &'static str) {
        crate::present::say(&format!(
            "--on-finding: not run for {} {} ({}): {why}",
            change.kind,
            change.state,
            crate::present::safe::term(&change.subject()),
        ));
        self.dropped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Dropped { change, why });
    }

    /// Hands the change to its kind's worker; returns at once.
    pub fn run(&self, c: &Change) {
        if self.stopping.load(Ordering::Acquire) {
            self.drop_run(c.clone(), "the recording was stopping");
            return;
        }
        let mut w = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        let tx = w.entry(c.kind).or_insert_with(|| {
            let (tx, rx) = sync_channel::<Change>(QUEUE);
            let me = self.clone();
            let t = std::thread::spawn(move || {
                for c in rx {
                    if me.stopping.load(Ordering::Acquire) {
                        me.drop_run(c, "the recording stopped first");
                        continue;
                    }
                    if let Err(e) = me.run_one(&c) {
                        crate::present::say(&format!(
                            "--on-finding for {} {} ({}): {}",
                            c.kind,
                            c.state,
                            crate::present::safe::term(&c.subject()),
                            crate::present::safe::term(&e)
                        ));
                    }
                }
            });
            self.threads
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(t);
            tx
        });
        match tx.try_send(c.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) => {
                drop(w);
                self.drop_run(c, "its kind's queue was full")
            }
            Err(TrySendError::Disconnected(c)) => {
                drop(w);
                self.drop_run(c, "its worker had stopped")
            }
        }
    }

    /// Recording stops: every run under way is killed with its process group, every one still
    /// waiting is not made (and said); returns once the workers are done.
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        for (_, pgid) in self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
        {
            kill_group(pgid);
        }
        self.workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let threads: Vec<_> = self
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for t in threads {
            let _ = t.join();
        }
    }

    /// The runs not made since the last call, as notes for the recording.
    pub fn take_dropped(&self) -> Vec<Dropped> {
        std::mem::take(&mut *self.dropped.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn run_one(&self, c: &Change) -> Result<(), String> {
        let argv = &self.argv;
        let json = serde_json::to_vec(c).map_err(|e| e.to_string())?;
        let until = Instant::now() + self.timeout;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            // Never the recorder's own environment: what it may hold is not the hook's.
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("BLACKBOX_FINDING_KIND", c.kind)
            .env("BLACKBOX_FINDING_STATE", c.state)
            .env("BLACKBOX_FINDING_SUBJECT", c.subject())
            .env("BLACKBOX_FINDING_JOB", c.job.as_deref().unwrap_or(""))
            .env("BLACKBOX_FINDING_SOURCE", c.source.as_deref().unwrap_or(""))
            .env(
                "BLACKBOX_FINDING_PROVIDER",
                c.provider.as_deref().unwrap_or(""),
            )
            .env("BLACKBOX_FINDING_SEQ", c.seq.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
        let pgid = child.id();
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.kind, pgid);
        if let Some(mut stdin) = child.stdin.take() {
            // Written beside the wait, so that a hook that never reads cannot hold the timeout
            // off; one that does not read at all is its own business.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&json);
            });
        }
        let result = loop {
            match child.try_wait() {
                Ok(Some(st)) if st.success() => break Ok(()),
                Ok(Some(st)) if self.stopping.load(Ordering::Acquire) => {
                    break Err(format!("{} stopped with the recording ({st})", argv[0]));
                }
                Ok(Some(st)) => break Err(format!("{} exited with {st}", argv[0])),
                Ok(None) if Instant::now() >= until => {
                    kill_group(pgid);
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!(
                        "{} still running after {}; killed with its process group",
                        argv[0],
                        crate::duration::human(self.timeout.as_micros() as i64)
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => break Err(e.to_string()),
            }
        };
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(c.kind);
        // Children it left behind go with it, whatever it did.
        kill_group(pgid);
        result
    }
}

/// Kills a process group (the hook's, made with its leader's id).
fn kill_group(pgid: u32) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        if let Ok(id) = i32::try_from(pgid) {
            let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// A run not made, as the note the recording keeps.
pub fn dropped_note(d: &Dropped, at_us: i64) -> crate::store::notes::NewNote {
    crate::store::notes::NewNote {
        at: at_us,
        text: format!(
            "--on-finding not run for {} {} of snapshot {} ({}): {}",
            d.change.kind,
            d.change.state,
            d.change.seq,
            d.change.subject(),
            d.why
        ),
        mark_from: None,
        mark_to: None,
        created_at: at_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> Change {
        Change {
            id: 1,
            kind: "fetch_outage",
            job: Some("runner.health; rm -rf /".into()),
            source: None,
            provider: None,
            detail: None,
            state: "began",
            seq: 3,
            at_us: 3,
            since_seq: 3,
            since_us: 3,
            message: "$(touch /tmp/pwned)".into(),
            began_message: "$(touch /tmp/pwned)".into(),
        }
    }

    fn hook(cmd: &str, timeout: Duration) -> Hook {
        Hook::new(cmd, timeout, &[]).unwrap()
    }

    #[test]
    fn a_hook_that_hangs_is_killed_and_one_that_fails_is_said() {
        let e = hook("sleep 5", Duration::from_millis(100))
            .run_one(&change())
            .unwrap_err();
        assert!(e.contains("killed"), "{e}");
        let e = hook("false", Duration::from_secs(5))
            .run_one(&change())
            .unwrap_err();
        assert!(e.contains("exited with"), "{e}");
        // Refused when recording starts, not at the first finding.
        let e = Hook::new("/nonexistent/hook", Duration::from_secs(5), &[]).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = Hook::new("no-such-program-anywhere", Duration::from_secs(5), &[]).unwrap_err();
        assert!(e.contains("not on PATH"), "{e}");
        // Values are data on stdin, never arguments or shell text.
        assert!(
            hook("cat", Duration::from_secs(5))
                .run_one(&change())
                .is_ok()
        );
        assert!(Hook::new("  ", Duration::from_secs(1), &[]).is_err());
        assert!(
            Hook::new(
                "cat",
                Duration::from_secs(1),
                &["BLACKBOX_RUNNER_TOKEN".into()]
            )
            .is_err()
        );
    }

    /// The hook's environment is the allowlist and the finding's variables, never the
    /// recorder's (here: a variable standing for a secret).
    #[test]
    fn the_hook_gets_an_allowlist_not_the_recorders_environment() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("env.txt");
        let script = d.path().join("h.sh");
        std::fs::write(&script, format!("#!/bin/sh\nenv > {}\n", out.display())).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // The test process has plenty the hook must not get (CARGO_*, RUST_*, ...).
        let h = Hook::new(script.to_str().unwrap(), Duration::from_secs(5), &[]).unwrap();
        h.run_one(&change()).unwrap();
        let env = std::fs::read_to_string(&out).unwrap();
        for line in env.lines() {
            let name = line.split('=').next().unwrap_or("");
            assert!(
                ALLOWED_ENV.contains(&name)
                    || name.starts_with("BLACKBOX_FINDING_")
                    || name == "PWD"
                    || name == "SHLVL"
                    || name == "_",
                "the hook got {name}"
            );
        }
        assert!(env.contains("BLACKBOX_FINDING_KIND=fetch_outage"));
    }

    /// A hook that leaves children behind, killed at its timeout: its whole process group goes.
    #[test]
    fn a_timed_out_hook_takes_its_children_with_it() {
        let d = tempfile::tempdir().unwrap();
        let pidfile = d.path().join("child.pid");
        let script = d.path().join("h.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 30 &\necho $! > {}\nwait\n",
                pidfile.display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // Long enough for the script to have started its child on a busy machine.
        let h = Hook::new(script.to_str().unwrap(), Duration::from_secs(2), &[]).unwrap();
        let e = h.run_one(&change()).unwrap_err();
        assert!(e.contains("killed with its process group"), "{e}");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        // A killed process takes a moment to be gone (or a zombie waiting for its reaper).
        let alive = || {
            std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
                && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                    .unwrap_or_default()
                    .contains(") Z ")
        };
        let until = Instant::now() + Duration::from_secs(5);
        while alive() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(), "the hook's child {pid} outlived it");
    }

    /// Runs that cannot be made are said and kept: a full queue, and the recording stopping.
    #[test]
    fn runs_not_made_are_kept() {
        let h = hook("sleep 2", Duration::from_secs(10));
        for _ in 0..(QUEUE + 3) {
            h.run(&change());
        }
        std::thread::sleep(Duration::from_millis(200));
        h.shutdown();
        let dropped = h.take_dropped();
        assert!(
            dropped.iter().any(|d| d.why == "its kind's queue was full"),
            "{dropped:?}"
        );
        assert!(
            dropped
                .iter()
                .any(|d| d.why == "the recording stopped first"),
            "{dropped:?}"
        );
        let n = dropped_note(&dropped[0], 5);
        assert!(
            n.text
                .starts_with("--on-finding not run for fetch_outage began"),
            "{}",
            n.text
        );
    }
}
