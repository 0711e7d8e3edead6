//! `blackbox record`: poll the runner and router into the database.

use super::args::{
    parse_base_url, parse_count, parse_duration, parse_endpoint, parse_max_size, parse_size,
};
use super::error::{CliError, CmdResult};
use crate::clock::{Clock, SystemClock};
use crate::present::safe::term;
use crate::record::{
    Observer, RecordOptions, RecordSummary, Stop, Targets, record, shutdown_signal,
};
use crate::source::{HttpConfig, HttpSource};
use crate::store::writer::Poll;
use crate::store::{IngestStats, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Poll the Beacon runner and hybrid router on an interval and store every snapshot.
///
/// Per job and poll: the complete execution list (`/executions/all`, or every page of the job
/// endpoint on older runners) and the default job view a person would see. Router: `/health`
/// and `/providers`. Failed fetches are recorded too; recording goes on.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Runner base URL, e.g. http://runner:8090. Leave out to record only the router.
    #[arg(long, value_parser = parse_base_url, value_name = "URL")]
    pub runner: Option<reqwest::Url>,
    /// A job id to record (repeatable). With --runner, this or --all-jobs.
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<String>,
    /// Follow every job the runner shows active or that changed recently (its job list is read
    /// every 15 s), besides any --job. Within the same rate budget, active jobs first.
    #[arg(long)]
    pub all_jobs: bool,
    /// With --all-jobs: how long a finished job is still followed once unchanged.
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub grace: Duration,
    /// Do not record the extra endpoints (runner health and readiness; router metrics, debug
    /// endpoints, queues and readiness), which are otherwise read once a minute.
    #[arg(long)]
    pub no_extras: bool,
    /// Also record this JSON (or Prometheus text) endpoint once a minute, as NAME
    /// (repeatable), e.g. --endpoint worker=http://worker:9100/metrics.
    #[arg(long = "endpoint", value_parser = parse_endpoint, value_name = "NAME=URL")]
    pub endpoints: Vec<(String, reqwest::Url)>,
    /// Hybrid router base URL. Leave out to record only the runner.
    #[arg(long, value_parser = parse_base_url, value_name = "URL")]
    pub router: Option<reqwest::Url>,
    /// Time between the starts of two polls (e.g. 5s, 500ms, 1m).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Total time allowed for one request, body included.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Stop after this many snapshots.
    #[arg(long, value_parser = parse_count, conflicts_with = "duration")]
    pub count: Option<u64>,
    /// Stop after this long (e.g. 10m).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Bearer token for the runner's /admin/* routes (then /admin/queue-stats is recorded).
    /// Sent only to /admin/* paths; never written to the database.
    #[arg(
        long,
        env = "BLACKBOX_RUNNER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub runner_token: Option<String>,
    /// Never send the runner more requests than this per minute (it allows 60 per client IP).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_runner_rpm: u32,
    /// A note stored with this recording session (e.g. the incident ticket).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Bodies larger than this are cut off and recorded as a failed fetch.
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: u64,
    /// Keep only the last DURATION of snapshots (e.g. 24h): older ones are removed as recording
    /// goes on and their space reused, so the file stops growing. Marked windows
    /// (`note --mark`) are kept.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub retain: Option<Duration>,
    /// Keep the data under SIZE (e.g. 2GiB): the oldest snapshots go first. Marked windows are
    /// kept.
    #[arg(long, value_parser = parse_max_size, value_name = "SIZE")]
    pub max_size: Option<u64>,
    /// How to write the per-snapshot lines on stderr: text (one line, on a terminal a status
    /// line), or json (one object per line, for a service's journal).
    #[arg(long, value_enum, default_value = "text", value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// Serve the postmortem page while recording, updated as snapshots commit (read-only).
    /// Without ADDR: 127.0.0.1:8765.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = crate::serve::live::DEFAULT_ADDR
    )]
    pub ui: Option<String>,
    /// Serve `/metrics` (Prometheus text format) on ADDR, without the page (with `--ui` it is
    /// on the page's address too).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Run CMD once for each finding that begins or ends: the finding as JSON on its stdin,
    /// BLACKBOX_FINDING_KIND/_STATE/_SUBJECT/_SEQ in its environment. Split on spaces and run
    /// without a shell.
    #[arg(long, value_name = "CMD")]
    pub on_finding: Option<String>,
    /// Hand this variable of the recorder's environment to --on-finding's runs too
    /// (repeatable). They get only PATH, HOME, LANG, LC_ALL, LC_CTYPE, TZ and the finding's
    /// own variables otherwise; never the runner's token.
    #[arg(long = "on-finding-env", value_name = "NAME")]
    pub on_finding_env: Vec<String>,
    /// How long one --on-finding run may take before it is killed (with its process group).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::cli::args::parse_duration)]
    pub on_finding_timeout: std::time::Duration,
    /// Do not judge findings while recording (no notes, no hook, no finding metrics).
    #[arg(long)]
    pub no_live_findings: bool,
}

impl Args {
    /// The runner's token. An empty `BLACKBOX_RUNNER_TOKEN` (the usual way to unset it in a
    /// unit file or a shell) is taken as unset, and said; an empty `--runner-token` is refused.
    fn token(&self) -> Result<Option<String>, CliError> {
        let Some(t) = &self.runner_token else {
            return Ok(None);
        };
        if !t.trim().is_empty() {
            return Ok(Some(t.clone()));
        }
        let from_env = std::env::var_os("BLACKBOX_RUNNER_TOKEN")
            .is_some_and(|v| v.to_string_lossy().trim().is_empty());
        if from_env {
            crate::present::say(
                "note: BLACKBOX_RUNNER_TOKEN is empty: taken as unset (no /admin/* requests)",
            );
            return Ok(None);
        }
        Err(CliError::usage("--runner-token is empty"))
    }

    /// Validates the combination of flags into options, before any I/O.
    pub fn options(&self) -> Result<(RecordOptions, HttpConfig), CliError> {
        if self.runner.is_none() && self.router.is_none() && self.endpoints.is_empty() {
            return Err(CliError::usage(
                "nothing to record: give --runner URL --job ID, --router URL, or both",
            ));
        }
        if self.runner.is_some() && self.jobs.is_empty() && !self.all_jobs {
            return Err(CliError::usage(
                "--runner needs at least one --job ID, or --all-jobs",
            ));
        }
        if self.runner.is_none() && (!self.jobs.is_empty() || self.all_jobs) {
            return Err(CliError::usage("--job and --all-jobs need --runner URL"));
        }
        let mut names: Vec<&str> = Vec::new();
        for (n, _) in &self.endpoints {
            if names.contains(&n.as_str()) {
                return Err(CliError::usage(format!(
                    "--endpoint {} is given twice",
                    term(n)
                )));
            }
            names.push(n);
        }
        if let Some(j) = self.jobs.iter().find(|j| j.trim().is_empty()) {
            return Err(CliError::usage(format!("--job {:?} is empty", term(j))));
        }
        let token = self.token()?;
        let mut jobs: Vec<String> = Vec::new();
        for j in &self.jobs {
            if !jobs.contains(j) {
                jobs.push(j.clone());
            }
        }
        Ok((
            RecordOptions {
                targets: Targets {
                    runner: self.runner.clone(),
                    router: self.router.clone(),
                    jobs,
                    admin: token.is_some(),
                    all_jobs: self.all_jobs,
                    grace_us: self.grace.as_micros() as i64,
                    extras: !self.no_extras,
                    endpoints: self.endpoints.clone(),
                },
                interval: self.interval,
                timeout: self.timeout,
                max_runner_rpm: self.max_runner_rpm,
                stop: match (self.count, self.duration) {
                    (Some(n), _) => Stop::Count(n),
                    (_, Some(d)) => Stop::After(d),
                    _ => Stop::Never,
                },
                label: self.label.clone(),
                durable: true,
                disk_limit: None,
                retain: self.retain,
                max_size: self.max_size,
                live_findings: !self.no_live_findings,
                metrics: None,
                on_finding: match &self.on_finding {
                    Some(cmd) if self.no_live_findings => {
                        let _ = cmd;
                        return Err(CliError::usage(
                            "--on-finding needs the findings --no-live-findings turns off",
                        ));
                    }
                    Some(cmd) => Some(
                        crate::record::hook::Hook::new(
                            cmd,
                            self.on_finding_timeout,
                            &self.on_finding_env,
                        )
                        .map_err(CliError::usage)?,
                    ),
                    None => None,
                },
            },
            HttpConfig {
                timeout: self.timeout,
                body_cap: self.max_body,
                token,
            },
        ))
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Writes a line to stderr; a closed or full stderr never stops the recorder.
pub use crate::present::say;

/// The live status: one line on a terminal (indicatif), plain lines otherwise.
pub struct Status {
    /// One JSON object per line instead of text.
    json: bool,
    bar: Option<ProgressBar>,
    start: Instant,
    count: u64,
    failed: usize,
    gaps: usize,
    last_rows: BTreeMap<String, usize>,
    quiet: bool,
}

impl Status {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Status {
            json: false,
            bar,
            start: Instant::now(),
            count: 0,
            failed: 0,
            gaps: 0,
            last_rows: BTreeMap::new(),
            quiet,
        }
    }

    /// JSON lines (`--log-format json`): no status line.
    pub fn json() -> Self {
        let mut s = Status::new(true);
        s.json = true;
        s
    }

    fn json_line(&self, v: serde_json::Value) {
        say(&v.to_string());
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Status {
    fn show(&self, line: String) {
        match &self.bar {
            Some(b) => b.println(line),
            None => say(&line),
        }
    }
}

impl Observer for Status {
    fn warn(&mut self, msg: &str) {
        if self.json {
            return self.json_line(serde_json::json!({"event": "note", "message": msg}));
        }
        self.show(format!("note: {}", term(msg)));
    }

    fn finding(&mut self, c: &crate::record::live::Change) {
        if self.json {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["event"] = serde_json::json!("finding");
            v["at"] = serde_json::json!(crate::beacon::format_micros(c.at_us));
            return self.json_line(v);
        }
        self.show(format!(
            "finding {}: {} [{}, snapshot {}]",
            c.state,
            term(&c.message),
            c.kind,
            c.seq
        ));
    }

    fn committed(&mut self, stats: &IngestStats, poll: &Poll) {
        if self.json {
            self.count += 1;
            let jobs: Vec<serde_json::Value> = stats
                .job_rows
                .iter()
                .map(|(job, by)| serde_json::json!({"job": job, "rows": by.values().sum::<usize>(), "by_status": by}))
                .collect();
            let problems: Vec<serde_json::Value> = stats
                .problems
                .iter()
                .map(|(k, w)| serde_json::json!({"source": k.name(), "outcome": w}))
                .collect();
            return self.json_line(serde_json::json!({
                "event": "snapshot",
                "seq": stats.seq,
                "taken_at": crate::beacon::format_micros(poll.started_at),
                "requests": stats.requests,
                "failed": stats.failed,
                "not_sent": stats.gaps,
                "problems": problems,
                "jobs": jobs,
                "new_bodies": stats.new_bodies,
                "new_body_bytes": stats.new_body_bytes,
                "notes_taken": stats.notes_taken,
                "warnings": stats.warnings,
            }));
        }
        if stats.notes_taken > 0 {
            self.show(format!(
                "{} taken in",
                if stats.notes_taken == 1 {
                    "1 note".to_string()
                } else {
                    format!("{} notes", stats.notes_taken)
                }
            ));
        }
        for w in &stats.warnings {
            self.show(format!("note: {}", term(w)));
        }
        self.count += 1;
        self.failed += stats.failed;
        self.gaps += stats.gaps;
        let mut parts = vec![format!(
            "snapshot {} committed, {} poll{} in {:.0?}",
            stats.seq,
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.start.elapsed()
        )];
        for (job, by) in &stats.job_rows {
            let total: usize = by.values().sum();
            let prev = self.last_rows.insert(job.clone(), total);
            let delta = prev.map_or(String::new(), |p| {
                format!(" ({:+})", total as i64 - p as i64)
            });
            let statuses: Vec<String> =
                by.iter().map(|(s, n)| format!("{} {n}", term(s))).collect();
            parts.push(format!(
                "{}: {total} row{}{delta} [{}]",
                term(job),
                if total == 1 { "" } else { "s" },
                statuses.join(", ")
            ));
        }
        parts.push(format!(
            "failed fetches {}, not sent {}",
            self.failed, self.gaps
        ));
        if !stats.problems.is_empty() {
            let now: Vec<String> = stats
                .problems
                .iter()
                .map(|(k, w)| format!("{} {}", k.name(), term(w)))
                .collect();
            parts.push(format!("now: {}", now.join(", ")));
        }
        let line = parts.join("; ");
        match &self.bar {
            Some(b) => b.set_message(line),
            None if !self.quiet => say(&line),
            None => {}
        }
    }

    fn write_failed(&mut self, err: &StoreError) {
        if self.json {
            return self.json_line(serde_json::json!({
                "event": "write_failed",
                "message": crate::errors::error_chain(err),
            }));
        }
        self.show(format!(
            "error: snapshot not written: {}",
            term(&crate::errors::error_chain(err))
        ));
    }
}

/// The one summary line of a recording.
pub fn summary_line(s: &RecordSummary, db: &Path) -> String {
    let secs = s.elapsed_us as f64 / 1e6;
    let mut line = format!(
        "recorded {} snapshot{}{} in {secs:.1}s into {}; {} request{}, {} failed, {} not sent",
        s.snapshots,
        if s.snapshots == 1 { "" } else { "s" },
        match (s.first_seq, s.last_seq) {
            (Some(a), Some(b)) => format!(" (seq {a}-{b})"),
            _ => String::new(),
        },
        term(&db.display().to_string()),
        s.requests,
        if s.requests == 1 { "" } else { "s" },
        s.failed,
        s.gaps,
    );
    if s.write_errors > 0 {
        line.push_str(&format!("; {} NOT written", s.write_errors));
    }
    if s.interrupted {
        line.push_str("; stopped by signal");
    }
    if s.dropped_at_deadline {
        line.push_str("; the poll in flight at the end was dropped");
    }
    line
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (opts, http) = args.options()?;
    // A file that cannot be made ends here, before any page or endpoint is announced.
    crate::store::check_folder(db)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let src = HttpSource::new(http, clock.clone()).map_err(|e| {
        CliError::failure(format!(
            "cannot build the HTTP client: {}",
            term(&e.to_string())
        ))
    })?;
    let mut status = match args.log_format {
        LogFormat::Text => Status::new(false),
        LogFormat::Json => Status::json(),
    };
    let mut live = None;
    let metrics = (args.ui.is_some() || args.metrics.is_some()).then(|| {
        let m = Arc::new(crate::serve::metrics::Metrics::new(
            db.to_path_buf(),
            opts.live_findings,
        ));
        crate::serve::metrics::Metrics::spawn_renderer(&m);
        m
    });
    let mut opts = opts;
    opts.metrics = metrics.clone();
    if let (Some(addr), Some(m)) = (&args.metrics, &metrics) {
        let bound = rt
            .block_on(crate::serve::live::start_metrics(m.clone(), addr))
            .map_err(CliError::failure)?;
        let mut line = format!("metrics at http://{bound}/metrics");
        if !bound.ip().is_loopback() {
            line.push_str(" (NOT loopback: anyone who can reach this address can read them)");
        }
        say(&line);
    }
    if let Some(addr) = &args.ui {
        let page = crate::serve::live::LivePage::new(db.to_path_buf(), None, true);
        page.set_metrics(metrics.clone());
        let bound = rt
            .block_on(crate::serve::live::start(page.clone(), addr))
            .map_err(CliError::failure)?;
        say(&crate::serve::live::announce(bound));
        live = Some(page);
    }
    let summary = rt.block_on(record(
        db,
        opts,
        &src,
        clock,
        &mut status,
        shutdown_signal(),
    ));
    status.finish();
    if let Some(page) = live.filter(|_| summary.is_ok()) {
        // The page shows the last snapshot and says the recording ended: an open page asks
        // every 2 s, so it is served a little longer (a second Ctrl-C ends it at once).
        page.end();
        say(&format!(
            "live page: recording ended; the final page is served {}s more (Ctrl-C to stop now)",
            crate::serve::live::LINGER.as_secs()
        ));
        rt.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(crate::serve::live::LINGER) => {}
                _ = shutdown_signal() => {}
            }
        });
    }
    let s = summary?;
    writeln!(out, "{}", summary_line(&s, db))?;
    if let Some(cause) = &s.gave_up {
        return Err(CliError::failure(format!(
            "stopped: snapshots kept failing to be written ({} of them: {}); the file holds every snapshot committed before, {} from this run",
            s.write_errors,
            term(cause),
            s.snapshots
        )));
    }
    if s.write_errors > 0 {
        return Err(CliError::failure(format!(
            "{} snapshot{} could not be written",
            s.write_errors,
            if s.write_errors == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}
