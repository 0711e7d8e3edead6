//! The poll loop: the HTTP source polls on an interval; one writer thread owns the database
//! and commits each poll as one durable transaction.
//!
//! Shutdown (Ctrl-C, SIGTERM, or the caller's future): a poll still fetching is dropped whole;
//! a poll being committed is finished. Either way no snapshot is ever half-written.

use crate::clock::Clock;
use crate::source::{HttpSource, HttpSourceConfig};
use crate::store::schema::SessionRec;
use crate::store::{IngestStats, StoreError, Writer, writer::Poll};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Debug, Clone)]
pub enum Stop {
    Count(u64),
    After(Duration),
    Never,
}

#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub source: HttpSourceConfig,
    pub interval: Duration,
    pub stop: Stop,
    pub label: Option<String>,
    /// Commit durably (the default); off only for benchmarks and synthetic data.
    pub durable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("the database writer stopped unexpectedly")]
    WriterGone,
}

/// What the caller hears while recording (the CLI renders it).
pub trait Observer: Send {
    fn warn(&mut self, msg: &str);
    fn committed(&mut self, stats: &IngestStats, poll: &Poll);
    /// A snapshot could not be written; recording goes on.
    fn write_failed(&mut self, err: &StoreError);
}

#[derive(Debug, Clone, Default)]
pub struct RecordSummary {
    pub snapshots: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub fetch_errors: usize,
    pub write_errors: usize,
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// A poll for the writer, and where it sends the outcome (with the poll back: bodies can be
/// megabytes, so they are moved, not copied).
type Job = (
    Poll,
    oneshot::Sender<(Result<IngestStats, StoreError>, Poll)>,
);

/// Opens the writer on its own thread. Returns the channel to it.
fn spawn_writer(
    path: &Path,
    session: SessionRec,
    durable: bool,
) -> Result<(std::sync::mpsc::Sender<Job>, std::thread::JoinHandle<()>), StoreError> {
    let mut w = if durable {
        Writer::open(path)?
    } else {
        let mut w = Writer::open_with(path, crate::store::Sharing::Exclusive)?;
        w.set_durable(false);
        w
    };
    w.begin_session(session);
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let h = std::thread::Builder::new()
        .name("blackbox-writer".into())
        .spawn(move || {
            for (poll, reply) in rx {
                let r = w.ingest(&poll);
                let _ = reply.send((r, poll));
            }
            // Recording is over (the channel closed): hand back the file's free space.
            w.compact();
        })
        .expect("spawn writer thread");
    Ok((tx, h))
}

/// Records until the stop condition or `shutdown` resolves.
pub async fn record(
    db: &Path,
    opts: RecordOptions,
    clock: Arc<dyn Clock>,
    observer: &mut dyn Observer,
    shutdown: impl Future<Output = ()>,
) -> Result<RecordSummary, RecordError> {
    let src = HttpSource::new(opts.source.clone()).map_err(RecordError::Client)?;
    let session = SessionRec {
        started_at: clock.now_us(),
        first_seq: 0,
        runner: opts
            .source
            .runner
            .as_ref()
            .map(|u| crate::source::strip_credentials(u.as_str())),
        router: opts
            .source
            .router
            .as_ref()
            .map(|u| crate::source::strip_credentials(u.as_str())),
        jobs: opts.source.jobs.clone(),
        interval_ms: opts.interval.as_millis() as u64,
        timeout_ms: opts.source.timeout.as_millis() as u64,
        max_runner_rpm: opts.source.max_runner_rpm,
        label: opts.label.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let (tx, handle) = spawn_writer(db, session, opts.durable)?;

    let per_poll = src.runner_requests_per_poll();
    if per_poll > 0 {
        let polls_per_min = 60.0 / opts.interval.as_secs_f64().max(1e-3);
        let need = per_poll as f64 * polls_per_min;
        if need > opts.source.max_runner_rpm as f64 {
            observer.warn(&format!(
                "a {:?} interval needs {:.0} runner requests/min but the budget is {} (--max-runner-rpm); polls will be spaced to fit",
                opts.interval, need, opts.source.max_runner_rpm
            ));
        }
    }

    let started = tokio::time::Instant::now();
    let mut summary = RecordSummary::default();
    tokio::pin!(shutdown);
    let mut next = started;
    loop {
        match opts.stop {
            Stop::Count(n) if summary.snapshots >= n => break,
            Stop::After(d) if started.elapsed() >= d => break,
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = &mut shutdown => { summary.interrupted = true; break; }
        }
        let poll_start = tokio::time::Instant::now();
        next = poll_start + opts.interval;
        let started_at = clock.now_us();
        let fetched = tokio::select! {
            f = src.poll() => f,
            // Dropped whole: nothing of this poll was written.
            _ = &mut shutdown => { summary.interrupted = true; break; }
        };
        let poll = Poll {
            started_at,
            ended_at: clock.now_us().max(started_at),
            fetches: fetched,
        };
        let (rtx, rrx) = oneshot::channel();
        tx.send((poll, rtx)).map_err(|_| RecordError::WriterGone)?;
        // A commit in progress is always awaited, even when shutdown arrives meanwhile.
        let (outcome, poll) = rrx.await.map_err(|_| RecordError::WriterGone)?;
        match outcome {
            Ok(stats) => {
                summary.snapshots += 1;
                summary.fetch_errors += stats.fetch_errors;
                summary.first_seq.get_or_insert(stats.seq);
                summary.last_seq = Some(stats.seq);
                observer.committed(&stats, &poll);
            }
            Err(e) => {
                summary.write_errors += 1;
                observer.write_failed(&e);
            }
        }
    }
    drop(tx);
    let _ = tokio::task::spawn_blocking(move || handle.join()).await;
    summary.elapsed = started.elapsed();
    Ok(summary)
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
