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

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "command failed: stderr={}", self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// A usage error: exit 2, clap's whole message (first line `error: ...`, then the usage),
    /// no panic.
    pub fn usage_failure(&self) -> &str {
        assert_eq!(
            self.code, 2,
            "expected a usage error; stderr={}",
            self.stderr
        );
        assert!(
            self.stderr.starts_with("error: "),
            "stderr: {}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "stderr: {}", self.stderr);
        self.stderr.lines().next().unwrap_or("")
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
        let secs = self.sim.wall_duration().as_secs_f64() + 1.0;
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

/// What a recording run on the library said, besides the file.
#[derive(Default)]
pub struct Heard {
    pub warnings: Vec<String>,
    pub committed: Vec<beacon_blackbox::store::IngestStats>,
    pub write_errors: Vec<String>,
    /// Findings said to begin or end (also said as warnings, as the terminal does).
    pub findings: Vec<beacon_blackbox::record::live::Change>,
}

impl beacon_blackbox::record::Observer for Heard {
    fn warn(&mut self, msg: &str) {
        self.warnings.push(msg.to_string());
    }
    fn finding(&mut self, c: &beacon_blackbox::record::live::Change) {
        self.warn(&format!("{} {}: {}", c.kind, c.state, c.message));
        self.findings.push(c.clone());
    }
    fn committed(
        &mut self,
        stats: &beacon_blackbox::store::IngestStats,
        _: &beacon_blackbox::store::Poll,
    ) {
        self.committed.push(stats.clone());
    }
    fn write_failed(&mut self, err: &beacon_blackbox::store::StoreError) {
        self.write_errors
            .push(beacon_blackbox::record::error_chain(err));
    }
}

/// Scenario second 0 of recordings on a manual clock: 2025-10-09T08:53:20Z.
pub const T0: i64 = 1_760_000_000_000_000;

pub fn base(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap()
}

/// Options for a library recording: both sides, no stop (set one), fast commits.
pub fn options(jobs: &[&str], interval_secs: f64) -> beacon_blackbox::record::RecordOptions {
    beacon_blackbox::record::RecordOptions {
        targets: beacon_blackbox::record::Targets {
            runner: Some(base("http://runner.test/")),
            router: Some(base("http://router.test/")),
            jobs: jobs.iter().map(|j| j.to_string()).collect(),
            admin: false,
            ..Default::default()
        },
        interval: std::time::Duration::from_secs_f64(interval_secs),
        timeout: std::time::Duration::from_secs(10),
        max_runner_rpm: 50,
        stop: beacon_blackbox::record::Stop::Never,
        label: None,
        durable: false,
        disk_limit: None,
        retain: None,
        max_size: None,
        live_findings: false,
        metrics: None,
        on_finding: None,
    }
}

/// Runs `record` on the library with `src` and a manual `clock`, to its stop condition.
pub fn record_lib<S: beacon_blackbox::source::Source>(
    db: &Path,
    opts: beacon_blackbox::record::RecordOptions,
    src: &S,
    clock: Arc<beacon_blackbox::clock::ManualClock>,
) -> (beacon_blackbox::record::RecordSummary, Heard) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut heard = Heard::default();
    let s = rt
        .block_on(beacon_blackbox::record::record(
            db,
            opts,
            src,
            clock,
            &mut heard,
            std::future::pending(),
        ))
        .unwrap();
    (s, heard)
}

/// Records a whole built-in scenario on a manual clock through the simulator's own answers
/// (no sockets): deterministic, and as long as the scenario plus a minute, in milliseconds.
pub fn record_scenario(name: &str, interval_secs: f64) -> (tempfile::TempDir, PathBuf, Heard) {
    record_scenario_with(name, interval_secs, false)
}

/// `record_scenario`, judging findings while recording when `live`.
pub fn record_scenario_with(
    name: &str,
    interval_secs: f64,
    live: bool,
) -> (tempfile::TempDir, PathBuf, Heard) {
    let end = sim::builtin(name).unwrap().end;
    record_scenario_for(name, interval_secs, live, end + 60.0)
}

/// `record_scenario_with`, for `secs` of the scenario.
pub fn record_scenario_for(
    name: &str,
    interval_secs: f64,
    live: bool,
    secs: f64,
) -> (tempfile::TempDir, PathBuf, Heard) {
    let scenario = sim::builtin(name).unwrap();
    let jobs: Vec<String> = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let clock = Arc::new(beacon_blackbox::clock::ManualClock::new(T0));
    let s = sim::Sim::with_clock(scenario, clock.clone(), T0, 1.0, Some(0));
    let src = sim::SimSource::new(s, 10_000_000, false);
    let refs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let mut opts = options(&refs, interval_secs);
    opts.live_findings = live;
    opts.stop = beacon_blackbox::record::Stop::After(std::time::Duration::from_secs_f64(secs));
    let (d, db) = tmp();
    let (_, heard) = record_lib(&db, opts, &src, clock);
    (d, db, heard)
}

/// The findings of a `report --json` of one kind.
pub fn findings_of<'a>(rep: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// Records `polls` polls of a runner whose complete list is `all` and whose job view carries
/// `spec`, with a router that says `providers`.
pub fn record_bodies(
    all: String,
    spec: String,
    providers: String,
    polls: u64,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let clock = Arc::new(beacon_blackbox::clock::ManualClock::new(T0));
    let src = beacon_blackbox::source::FakeSource::new(clock.clone(), move |_, req| {
        match req.kind {
            beacon_blackbox::fetch::SourceKind::RunnerExecAll => {
                beacon_blackbox::source::Reply::json(200, all.clone())
            }
            beacon_blackbox::fetch::SourceKind::RunnerJobDefault => {
                beacon_blackbox::source::Reply::json(
                    200,
                    format!(r#"{{"job":{spec},"status":"processing","executions":null}}"#),
                )
            }
            beacon_blackbox::fetch::SourceKind::RouterHealth => {
                beacon_blackbox::source::Reply::json(
                    200,
                    r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":["us-east"]}"#,
                )
            }
            beacon_blackbox::fetch::SourceKind::RouterProviders => {
                beacon_blackbox::source::Reply::json(200, providers.clone())
            }
            _ => beacon_blackbox::source::Reply::json(404, "{}"),
        }
    });
    let mut opts = options(&["job-x"], 5.0);
    opts.stop = beacon_blackbox::record::Stop::Count(polls);
    let (d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    (d, db)
}

/// One GET with a 5 s timeout: (status, headers, body).
pub fn http_get(url: &str) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), reqwest::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = {
            beacon_blackbox::source::install_crypto();
            reqwest::Client::new()
        }
        .get(url)
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await?;
        let s = r.status().as_u16();
        let h = r.headers().clone();
        Ok((s, h, r.bytes().await?.to_vec()))
    })
}

/// One POST with a 30 s timeout: (status, body).
pub fn http_post(url: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        beacon_blackbox::source::install_crypto();
        let r = reqwest::Client::new()
            .post(url)
            .body(body)
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await?;
        let s = r.status().as_u16();
        Ok((s, r.bytes().await?.to_vec()))
    })
}

/// A long-running `blackbox` (a server), killed when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `blackbox ARGS...` and waits for the stderr line that starts with `prefix`; returns
/// the process and that line.
pub fn spawn_until(args: &[&str], prefix: &str) -> (Child, String) {
    use std::io::BufRead;
    let mut c = bin()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start blackbox");
    let err = c.stderr.take().unwrap();
    let child = Child(c);
    let mut lines = std::io::BufReader::new(err).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with(prefix) => {
                // Keep draining stderr so the process never blocks on it.
                std::thread::spawn(move || for _ in lines {});
                return (child, l);
            }
            Some(Ok(_)) => continue,
            _ => panic!("blackbox ended before saying {prefix:?}"),
        }
    }
}
