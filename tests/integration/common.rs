use beacon_blackbox::sim;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "command failed: stderr={}", self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// A failure as the standards demand: non-zero, one `error:` line, no panic.
    pub fn clean_failure(&self) -> &str {
        assert_ne!(self.code, 0, "expected failure; stdout={}", self.stdout);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one stderr line, got: {:?}",
            self.stderr
        );
        assert!(lines[0].starts_with("error: "), "stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "stderr: {}", self.stderr);
        lines[0]
    }
}

fn to_run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_blackbox"));
    c.env_remove("BLACKBOX_DB")
        .env_remove("BLACKBOX_RUNNER_TOKEN");
    c
}

/// Runs `blackbox --db DB ARGS...`.
pub fn bb(db: &Path, args: &[&str]) -> Run {
    let mut c = bin();
    c.arg("--db").arg(db).args(args);
    to_run(c.output().expect("run blackbox"))
}

pub fn bb_plain(args: &[&str]) -> Run {
    to_run(bin().args(args).output().expect("run blackbox"))
}

/// A simulator running on its own runtime for the length of a test.
pub struct SimHandle {
    _rt: tokio::runtime::Runtime,
    pub runner: String,
    pub router: String,
    pub sim: Arc<sim::Sim>,
}

pub fn start_sim(name: &str, speed: f64) -> SimHandle {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = sim::builtin(name).unwrap();
    // The rate limit is tested on its own; here it would only slow the tests down.
    let running = rt
        .block_on(sim::start(s, speed, Some(0), "127.0.0.1:0", "127.0.0.1:0"))
        .unwrap();
    SimHandle {
        runner: format!("http://{}", running.runner),
        router: format!("http://{}", running.router),
        sim: running.sim,
        _rt: rt,
    }
}

impl SimHandle {
    pub fn job(&self) -> String {
        self.sim.scenario.jobs[0].id.clone()
    }

    /// `record` against both sides of this simulator, no rate budget in the way.
    fn record_args(&self, interval: &str) -> Vec<String> {
        [
            "record",
            "--runner",
            &self.runner,
            "--job",
            &self.job(),
            "--router",
            &self.router,
            "--interval",
            interval,
            "--max-runner-rpm",
            "100000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn record_with(&self, db: &Path, interval: &str, more: &[&str]) -> Run {
        let mut args = self.record_args(interval);
        args.extend(more.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        bb(db, &refs)
    }

    /// Records `count` snapshots at `interval`, runner and router.
    pub fn record_count(&self, db: &Path, count: u32, interval: &str) -> Run {
        self.record_with(db, interval, &["--count", &count.to_string()])
    }

    /// Starts `record` without a stop condition, in the background; stdout and stderr piped.
    pub fn spawn_record(&self, db: &Path, interval: &str) -> std::process::Child {
        bin()
            .arg("--db")
            .arg(db)
            .args(self.record_args(interval))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn blackbox record")
    }

    /// Records until the scenario is over (plus a margin), at `interval`.
    pub fn record_all(&self, db: &Path, interval: &str, extra: &[&str]) -> Run {
        let secs = self.sim.wall_duration().as_secs_f64() + 1.5;
        let dur = format!("{secs:.1}s");
        let mut more = vec!["--duration", &dur, "--timeout", "2s"];
        more.extend_from_slice(extra);
        self.record_with(db, interval, &more)
    }
}

pub fn tmp() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("rec.redb");
    (d, p)
}
