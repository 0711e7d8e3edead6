//! `blackbox record`: poll the runner and router into the database.

use super::args::{parse_base_url, parse_count, parse_duration, parse_size};
use super::{CliError, CmdResult};
use crate::clock::SystemClock;
use crate::record::{Observer, RecordOptions, Stop, record, shutdown_signal};
use crate::source::HttpSourceConfig;
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
    /// A job id to record (repeatable). Needed with --runner.
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<String>,
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
}

impl Args {
    /// Validates the combination of flags into options, before any I/O.
    pub fn options(&self) -> Result<RecordOptions, CliError> {
        if self.runner.is_none() && self.router.is_none() {
            return Err(CliError::usage(
                "nothing to record: give --runner URL --job ID, --router URL, or both",
            ));
        }
        if self.runner.is_some() && self.jobs.is_empty() {
            return Err(CliError::usage("--runner needs at least one --job ID"));
        }
        if self.runner.is_none() && !self.jobs.is_empty() {
            return Err(CliError::usage("--job needs --runner URL"));
        }
        if let Some(j) = self.jobs.iter().find(|j| j.trim().is_empty()) {
            return Err(CliError::usage(format!("--job {j:?} is empty")));
        }
        if self
            .runner_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(CliError::usage("--runner-token is empty"));
        }
        let mut jobs = self.jobs.clone();
        jobs.dedup();
        Ok(RecordOptions {
            source: HttpSourceConfig {
                runner: self.runner.clone(),
                router: self.router.clone(),
                jobs,
                timeout: self.timeout,
                token: self.runner_token.clone(),
                max_runner_rpm: self.max_runner_rpm,
                body_cap: self.max_body,
                max_budget_wait: self.interval.max(self.timeout),
            },
            interval: self.interval,
            stop: match (self.count, self.duration) {
                (Some(n), _) => Stop::Count(n),
                (_, Some(d)) => Stop::After(d),
                _ => Stop::Never,
            },
            label: self.label.clone(),
            durable: true,
        })
    }
}

/// The live status: one line on a terminal (indicatif), plain lines otherwise.
pub struct Status {
    bar: Option<ProgressBar>,
    start: Instant,
    count: u64,
    errors: usize,
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
            bar,
            start: Instant::now(),
            count: 0,
            errors: 0,
            last_rows: BTreeMap::new(),
            quiet,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for Status {
    fn warn(&mut self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(format!("warning: {msg}")),
            None => eprintln!("warning: {msg}"),
        }
    }

    fn committed(&mut self, stats: &IngestStats, poll: &Poll) {
        self.count += 1;
        self.errors += stats.fetch_errors;
        let mut parts = vec![format!(
            "snapshot {} committed, {} polls in {:.0?}",
            stats.seq,
            self.count,
            self.start.elapsed()
        )];
        for (job, by) in &stats.job_rows {
            if let Some(by) = by {
                let total: usize = by.values().sum();
                let prev = self.last_rows.insert(job.clone(), total);
                let delta = prev.map_or(String::new(), |p| {
                    format!(" ({:+})", total as i64 - p as i64)
                });
                let statuses: Vec<String> = by.iter().map(|(s, n)| format!("{s} {n}")).collect();
                parts.push(format!(
                    "{job}: {total} rows{delta} [{}]",
                    statuses.join(", ")
                ));
            }
        }
        let failed: Vec<String> = poll
            .fetches
            .iter()
            .filter_map(|f| {
                f.error
                    .as_ref()
                    .map(|(k, _)| format!("{} {}", f.kind.name(), k))
                    .or_else(|| {
                        f.status
                            .filter(|s| !(200..300).contains(s))
                            .map(|s| format!("{} HTTP {s}", f.kind.name()))
                    })
            })
            .collect();
        parts.push(format!("fetch errors {}", self.errors));
        if !failed.is_empty() {
            parts.push(format!("now: {}", failed.join(", ")));
        }
        let line = parts.join("; ");
        match &self.bar {
            Some(b) => b.set_message(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    fn write_failed(&mut self, err: &StoreError) {
        let e = format!("error: snapshot not written: {err}");
        match &self.bar {
            Some(b) => b.println(format!("{e}; recording goes on")),
            None => eprintln!("{e}; recording goes on"),
        }
    }
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let opts = args.options()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut status = Status::new(false);
    let summary = rt.block_on(record(
        db,
        opts,
        Arc::new(SystemClock),
        &mut status,
        shutdown_signal(),
    ));
    status.finish();
    let s = summary?;
    writeln!(
        out,
        "recorded {} snapshot{}{} in {:.1}s into {}; {} failed fetches{}{}",
        s.snapshots,
        if s.snapshots == 1 { "" } else { "s" },
        match (s.first_seq, s.last_seq) {
            (Some(a), Some(b)) => format!(" (seq {a}-{b})"),
            _ => String::new(),
        },
        s.elapsed.as_secs_f64(),
        db.display(),
        s.fetch_errors,
        if s.write_errors > 0 {
            format!("; {} snapshots NOT written", s.write_errors)
        } else {
            String::new()
        },
        if s.interrupted {
            "; stopped by signal"
        } else {
            ""
        }
    )?;
    if s.write_errors > 0 {
        return Err(CliError::failure(format!(
            "{} snapshots could not be written",
            s.write_errors
        )));
    }
    Ok(())
}
