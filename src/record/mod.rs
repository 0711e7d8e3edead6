//! The poll loop: the plan (`plan::Scheduler`) decides each poll's requests and spacing, a
//! `Source` carries them out, and one writer thread owns the database: it reads each poll's
//! answers (`normalise`) and commits them as one durable transaction. Time comes from the
//! `Clock` it is given, so the same loop runs on the wall clock, on the simulator's scaled
//! clock (the demo) and on a manual clock (tests).
//!
//! Stopping: `--count N` means N committed snapshots; `--duration D` starts no poll at or after
//! D, and a poll still in flight at D is finished if it ends within one `--timeout` after D,
//! else dropped whole. Ctrl-C / SIGTERM drop a poll still fetching; a commit in progress is
//! finished. Either way no snapshot is ever half-written. A commit that fails is reported with
//! its cause and recording goes on; after `MAX_WRITE_FAILURES` in a row, or most of the last
//! `WRITE_WINDOW` (a full disk), it stops, leaving every committed snapshot in a valid file.

mod budget;
pub mod follow;
pub mod hook;
pub mod live;
pub mod plan;
mod silence;

pub use plan::{Cadence, Scheduler, Targets};

use crate::clock::Clock;
use crate::source::Source;
use crate::store::schema::SessionRec;
use crate::store::{IngestStats, Sharing, StoreError, Writer, writer::Poll};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Commits that may fail in a row before recording stops.
pub const MAX_WRITE_FAILURES: u32 = 3;
/// Recording also stops when more than half of the last `WRITE_WINDOW` commits failed: a disk
/// that is nearly full lets some commits through (freed pages are reused) and fails most.
pub const WRITE_WINDOW: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Count(u64),
    After(Duration),
    Never,
}

#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub targets: Targets,
    /// Time between the starts of two polls, as asked (the plan may lengthen it).
    pub interval: Duration,
    /// Bound of one request; also the grace for a poll in flight at `--duration`'s end.
    pub timeout: Duration,
    pub max_runner_rpm: u32,
    pub stop: Stop,
    pub label: Option<String>,
    /// Commit durably (the default); off only for tests, benchmarks and synthetic data.
    pub durable: bool,
    /// A length the file may not grow past: a full disk, simulated (tests).
    pub disk_limit: Option<u64>,
    /// `--retain`: snapshots older than this are pruned as recording goes on.
    pub retain: Option<Duration>,
    /// `--max-size`: the oldest snapshots are pruned to keep the data under this many bytes.
    pub max_size: Option<u64>,
    /// Judge findings after each snapshot (`live`); off: `--no-live-findings`.
    pub live_findings: bool,
    /// What `/metrics` serves, kept up to date after each poll.
    pub metrics: Option<Arc<crate::serve::metrics::Metrics>>,
    /// `--on-finding`: run for each finding that begins or ends.
    pub on_finding: Option<hook::Hook>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the database writer stopped unexpectedly")]
    WriterGone,
    #[error(
        "the recording's last snapshot ({last}) is later than now ({now}) by this recorder's clock; a recording runs forward in time: record into a new file (--db OTHER.redb)"
    )]
    Behind { last: String, now: String },
}

/// What the caller hears while recording (the CLI renders it).
pub trait Observer: Send {
    fn warn(&mut self, msg: &str);
    /// A finding began or ended (judged from the snapshot just committed).
    fn finding(&mut self, c: &live::Change) {
        self.warn(&format!("{} {}: {}", c.kind, c.state, c.message));
    }
    fn committed(&mut self, stats: &IngestStats, poll: &Poll);
    /// A snapshot could not be written.
    fn write_failed(&mut self, err: &StoreError);
}

#[derive(Debug, Clone, Default)]
pub struct RecordSummary {
    /// Snapshots committed.
    pub snapshots: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Requests in committed snapshots, and how many of them the source failed
    /// (`Outcome::is_failure`) or were not sent (`Outcome::is_gap`).
    pub requests: usize,
    pub failed: usize,
    pub gaps: usize,
    pub write_errors: usize,
    /// Set when recording stopped because commits kept failing: the last cause.
    pub gave_up: Option<String>,
    pub interrupted: bool,
    /// A poll in flight at the end of `--duration` that did not finish within `--timeout`.
    pub dropped_at_deadline: bool,
    /// Recording time on the recorder's clock, µs.
    pub elapsed_us: i64,
}

pub use crate::errors::error_chain;

/// Commits that failed lately: recording gives up when they keep failing (a full disk).
#[derive(Default)]
struct WriteHealth {
    in_a_row: u32,
    /// The last `WRITE_WINDOW` commits: whether each failed.
    recent: std::collections::VecDeque<bool>,
}

impl WriteHealth {
    /// Takes in one commit's outcome, into the summary and to the observer; whether to give up.
    fn note(
        &mut self,
        outcome: Result<IngestStats, StoreError>,
        poll: &Poll,
        summary: &mut RecordSummary,
        observer: &mut dyn Observer,
    ) -> bool {
        self.recent.push_back(outcome.is_err());
        if self.recent.len() > WRITE_WINDOW {
            self.recent.pop_front();
        }
        match outcome {
            Ok(stats) => {
                self.in_a_row = 0;
                summary.snapshots += 1;
                summary.requests += stats.requests;
                summary.failed += stats.failed;
                summary.gaps += stats.gaps;
                summary.first_seq.get_or_insert(stats.seq);
                summary.last_seq = Some(stats.seq);
                observer.committed(&stats, poll);
                false
            }
            Err(e) => {
                summary.write_errors += 1;
                self.in_a_row += 1;
                observer.write_failed(&e);
                let failing = self.recent.iter().filter(|f| **f).count();
                if self.in_a_row >= MAX_WRITE_FAILURES || failing * 2 > WRITE_WINDOW {
                    summary.gave_up = Some(error_chain(&e));
                    return true;
                }
                false
            }
        }
    }
}

/// What the writer hands back for a poll: the commit's outcome and the poll (bodies can be
/// megabytes, so they are moved, not copied).
type Reply = (Result<IngestStats, StoreError>, Poll);

/// Work for the writer: a poll to commit (and then judge), or a call answered once all
/// before it is done.
enum Job {
    Poll(Poll, oneshot::Sender<Reply>),
    Flush(oneshot::Sender<()>),
}

/// What a judging changed and what it has to say, sent as soon as it is done.
type Judged = (Vec<live::Change>, Vec<String>);

/// The writer's channels: jobs in, judgings out.
type WriterEnds = (
    std::sync::mpsc::Sender<Job>,
    tokio::sync::mpsc::UnboundedReceiver<Judged>,
    std::thread::JoinHandle<()>,
);

/// Opens the writer on its own thread. A poll is answered once committed; the judge then runs
/// off the poll's path and sends what it changed on the second channel.
fn spawn_writer(
    path: &Path,
    session: SessionRec,
    opts: &RecordOptions,
) -> Result<WriterEnds, StoreError> {
    let judge = opts.live_findings;
    let mut cadence = live::Cadence::new(opts.interval);
    let hook = opts.on_finding.clone();
    let metrics = opts.metrics.clone();
    let sharing = if opts.durable {
        Sharing::Shared
    } else {
        Sharing::Exclusive
    };
    let mut w = Writer::open_limited(path, sharing, opts.disk_limit)?;
    w.set_durable(opts.durable);
    w.set_retention(crate::store::prune::Retention {
        retain_us: opts.retain.map(|d| d.as_micros() as i64),
        max_size: opts.max_size,
    });
    w.begin_session(session);
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let (judged_tx, judged_rx) = tokio::sync::mpsc::unbounded_channel::<Judged>();
    let h = std::thread::Builder::new()
        .name("blackbox-writer".into())
        .spawn(move || {
            // Rows unchanged since the last poll are not read again.
            let mut rows = crate::beacon::RowCache::default();
            // Findings left open by an earlier session on this file carry on.
            let mut findings = judge.then(|| {
                live::Live::resume(w.reader().and_then(|r| r.findings()).unwrap_or_default())
            });
            // The last snapshot committed: (seq, start).
            let mut last: Option<(u64, i64)> = None;
            for job in rx {
                let (poll, reply) = match job {
                    Job::Poll(poll, reply) => (poll, reply),
                    Job::Flush(reply) => {
                        let _ = reply.send(());
                        continue;
                    }
                };
                // Notes left by `blackbox note` go in before the snapshot.
                let (taken, mut warnings) = match w.take_inbox() {
                    Ok(t) => t,
                    Err(e) => (0, vec![format!("notes not taken in: {}", error_chain(&e))]),
                };
                let r = w.ingest_with(&poll, &mut rows).map(|(mut s, _)| {
                    last = Some((s.seq, poll.started_at));
                    s.notes_taken = taken;
                    s.warnings.append(&mut warnings);
                    s
                });
                let committed = r.as_ref().ok().map(|s| s.seq);
                let at = poll.started_at;
                // The poll loop goes on at once: judging is not on its path.
                let _ = reply.send((r, poll));
                let mut said = Vec::new();
                // The report's judge on the recording so far.
                let mut step = live::Step::default();
                if let (Some(l), Some(seq)) = (findings.as_mut(), committed)
                    && cadence.due()
                {
                    step = judge_once(&w, l, &mut cadence, (seq, at), &mut said);
                }
                // Runs of the hook that could not be made are kept too.
                let dropped: Vec<_> = hook
                    .as_ref()
                    .map(|h| h.take_dropped())
                    .unwrap_or_default()
                    .iter()
                    .map(|d| hook::dropped_note(d, at))
                    .collect();
                if !step.rows.is_empty() || !dropped.is_empty() {
                    let mut notes = live::notes(&step.changes);
                    notes.extend(dropped);
                    match w.write_findings(&step.rows, &notes) {
                        Err(e) => said.push(format!("findings not kept: {}", error_chain(&e))),
                        // /metrics shows them for the snapshot they were judged at.
                        Ok(_) => {
                            if let Some(m) = &metrics {
                                m.judged();
                            }
                        }
                    }
                }
                if !step.changes.is_empty() || !said.is_empty() {
                    let _ = judged_tx.send((step.changes, said));
                }
            }
            // Recording is over (the channel closed): what is still open is said once, and the
            // hook's runs that the stop left unmade.
            if let (Some(l), Some((seq, at))) = (&findings, last) {
                let mut notes = live::notes(&l.still_open(seq, at));
                if let Some(h) = &hook {
                    notes.extend(h.take_dropped().iter().map(|d| hook::dropped_note(d, at)));
                }
                // Open rows with their values at the last judging, and the notes.
                if let Err(e) = w.write_findings(&l.open_rows(), &notes) {
                    crate::present::say(&format!(
                        "findings still open not kept: {}",
                        error_chain(&e)
                    ));
                }
            }
            // Hand back the file's free space.
            w.compact();
        })
        .map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((tx, judged_rx, h))
}

/// The report's judge on the recording so far, after the snapshot `(seq, at)`; what went
/// wrong, and a change of cadence, go to `said`.
fn judge_once(
    w: &Writer,
    l: &mut live::Live,
    cadence: &mut live::Cadence,
    (seq, at): (u64, i64),
    said: &mut Vec<String>,
) -> live::Step {
    let began = std::time::Instant::now();
    let judged = w
        .reader()
        .and_then(crate::analysis::Recording::with_reader)
        .map_err(|e| error_chain(&e))
        .and_then(|rec| l.step(&rec, seq, at));
    let step = match judged {
        Ok(st) => st,
        Err(e) => {
            said.push(format!("findings not judged at snapshot {seq}: {e}"));
            live::Step::default()
        }
    };
    said.extend(cadence.took(began.elapsed()));
    step
}

fn session(opts: &RecordOptions, clock: &dyn Clock) -> SessionRec {
    SessionRec {
        started_at: clock.now_us(),
        first_seq: 0,
        runner: opts.targets.runner.as_ref().map(crate::redact::url),
        router: opts.targets.router.as_ref().map(crate::redact::url),
        jobs: opts.targets.jobs.clone(),
        interval_ms: opts.interval.as_millis() as u64,
        timeout_ms: opts.timeout.as_millis() as u64,
        max_runner_rpm: opts.max_runner_rpm,
        label: opts.label.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        all_jobs: opts.targets.all_jobs,
        endpoints: opts
            .targets
            .endpoints
            .iter()
            .map(|(n, u)| (n.clone(), crate::redact::url(u)))
            .collect(),
        retain_us: opts.retain.map(|d| d.as_micros() as i64),
        max_size: opts.max_size,
        origin: Vec::new(),
    }
}

/// Records until the stop condition or `shutdown` resolves.
pub async fn record<S: Source>(
    db: &Path,
    opts: RecordOptions,
    src: &S,
    clock: Arc<dyn Clock>,
    observer: &mut dyn Observer,
    shutdown: impl Future<Output = ()>,
) -> Result<RecordSummary, RecordError> {
    // Snapshots are in time order (selectors, windows and the page rely on it).
    // (A file that cannot be read here is refused by the writer's own checks, with its cause.)
    if let Some(last) = crate::store::last_started_at(db).ok().flatten()
        && last > clock.now_us()
    {
        return Err(RecordError::Behind {
            last: crate::beacon::format_micros(last),
            now: crate::beacon::format_micros(clock.now_us()),
        });
    }
    let (tx, mut judged, handle) = spawn_writer(db, session(&opts, &*clock), &opts)?;
    let mut plan = Scheduler::new(
        opts.targets.clone(),
        opts.interval.as_micros() as i64,
        opts.max_runner_rpm,
    );
    if let Some(n) = plan.take_notice() {
        observer.warn(&n);
    }
    let start = clock.now_us();
    let timeout_us = opts.timeout.as_micros() as i64;
    let deadline = match opts.stop {
        Stop::After(d) => Some(start + d.as_micros() as i64),
        _ => None,
    };
    let mut summary = RecordSummary::default();
    let mut health = WriteHealth::default();
    let mut silence = silence::Silence::default();
    tokio::pin!(shutdown);
    let mut next = start;
    loop {
        if let Stop::Count(n) = opts.stop
            && summary.snapshots >= n
        {
            break;
        }
        if deadline.is_some_and(|d| next >= d) {
            break;
        }
        if !wait_for(next, &*clock, &mut shutdown, &mut judged, &opts, observer).await {
            summary.interrupted = true;
            break;
        }
        let started_at = clock.now_us();
        let fetched = {
            let poll = plan.poll(src, &*clock);
            match deadline {
                Some(d) => tokio::select! {
                    biased;
                    _ = &mut shutdown => { summary.interrupted = true; break; }
                    f = poll => f,
                    _ = clock.sleep_until_us(d + timeout_us) => {
                        summary.dropped_at_deadline = true;
                        break;
                    }
                },
                None => tokio::select! {
                    biased;
                    _ = &mut shutdown => { summary.interrupted = true; break; }
                    f = poll => f,
                },
            }
        };
        let ended_at = clock.now_us().max(started_at);
        // A poll that ran past the deadline's grace is dropped whole, on any clock.
        if deadline.is_some_and(|d| ended_at > d + timeout_us) {
            summary.dropped_at_deadline = true;
            break;
        }
        next = plan.next_poll_at(started_at);
        if let Some(n) = plan.take_notice() {
            observer.warn(&n);
        }
        let poll = Poll {
            started_at,
            ended_at,
            fetches: fetched,
        };
        for line in silence.take(&poll.fetches) {
            observer.warn(&line);
        }
        let (rtx, rrx) = oneshot::channel();
        tx.send(Job::Poll(poll, rtx))
            .map_err(|_| RecordError::WriterGone)?;
        // A commit in progress is always awaited, even when shutdown arrives meanwhile.
        let (outcome, poll) = rrx.await.map_err(|_| RecordError::WriterGone)?;
        if let Some(m) = &opts.metrics {
            m.count(outcome.as_ref().ok());
        }
        if health.note(outcome, &poll, &mut summary, observer) {
            break;
        }
    }
    last_judgings(&tx, &mut judged, &opts, observer).await;
    // The hook's runs under way are killed with their process groups, those waiting are not
    // made (and kept as notes by the writer, before it closes).
    if let Some(h) = &opts.on_finding {
        let h = h.clone();
        let _ = tokio::task::spawn_blocking(move || h.shutdown()).await;
    }
    drop(tx);
    let _ = tokio::task::spawn_blocking(move || handle.join()).await;
    summary.elapsed_us = clock.now_us() - start;
    Ok(summary)
}

/// Waits until `next` (on the recorder's clock), saying what the judge finds as it comes.
/// False when shutdown came first.
async fn wait_for<F: Future<Output = ()>>(
    next: i64,
    clock: &dyn Clock,
    shutdown: &mut std::pin::Pin<&mut F>,
    judged: &mut tokio::sync::mpsc::UnboundedReceiver<Judged>,
    opts: &RecordOptions,
    observer: &mut dyn Observer,
) -> bool {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.as_mut() => return false,
            Some((changes, warnings)) = judged.recv() => {
                say_judged(&changes, &warnings, opts, observer);
            }
            _ = clock.sleep_until_us(next) => return true,
        }
    }
}

/// What the judge found after the last snapshot: the writer answers the flush once all
/// before it is judged.
async fn last_judgings(
    tx: &std::sync::mpsc::Sender<Job>,
    judged: &mut tokio::sync::mpsc::UnboundedReceiver<Judged>,
    opts: &RecordOptions,
    observer: &mut dyn Observer,
) {
    let (ftx, frx) = oneshot::channel();
    if tx.send(Job::Flush(ftx)).is_ok() {
        let _ = frx.await;
    }
    while let Ok((changes, warnings)) = judged.try_recv() {
        say_judged(&changes, &warnings, opts, observer);
    }
}

/// Says what a judging had to say and the findings it began or ended, and runs the hook for
/// each finding.
fn say_judged(
    changes: &[live::Change],
    warnings: &[String],
    opts: &RecordOptions,
    observer: &mut dyn Observer,
) {
    for w in warnings {
        observer.warn(w);
    }
    for (i, c) in changes.iter().enumerate() {
        // A finding about several sources or providers is said once (the hook runs for
        // each: its variables name one).
        if !changes[..i]
            .iter()
            .any(|p| p.state == c.state && p.message == c.message)
        {
            observer.finding(c);
        }
        if let Some(h) = &opts.on_finding {
            h.run(c);
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
