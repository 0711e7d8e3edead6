//! `/metrics` in Prometheus' text format while recording (on the `--ui` address, or on
//! `--metrics ADDR` alone). The series are `analysis::metrics::families` at the last committed
//! snapshot (what `export --format openmetrics` writes at that snapshot, so the two never
//! disagree), plus what only the running recorder knows: commits that failed and the file's
//! size.
//!
//! A scrape reads no file: the series are rendered once per committed snapshot, by one thread
//! of its own (`spawn_renderer`), and every scrape in between is served that text. A flood of
//! scrapers costs the recorder a string copy each, never a summary of the recording (which
//! each of them once did, and a few hundred of them stalled the polls).

use crate::analysis::Recording;
use crate::analysis::metrics::{Family, Kind, Tally, families, rows_of};
use crate::store::{Reader, open_reader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The recorder's side of `/metrics`, shared with the live page's server.
#[derive(Debug)]
pub struct Metrics {
    path: PathBuf,
    /// Findings are judged (`--no-live-findings` leaves their families out).
    findings: bool,
    commit_failures: AtomicU64,
    /// The series rendered for the last committed snapshot: (seq, text).
    rendered: Mutex<Option<(u64, Arc<String>)>>,
    /// What is counted over the snapshots, carried from one render to the next.
    tally: Mutex<Tally>,
    /// The last snapshot committed, for the renderer to catch up with.
    committed: Mutex<u64>,
    wake: std::sync::Condvar,
    /// Findings were written for the snapshot already rendered (the judge runs after the
    /// commit): render it again.
    again: std::sync::atomic::AtomicBool,
}

impl Metrics {
    pub fn new(path: PathBuf, findings: bool) -> Self {
        Metrics {
            path,
            findings,
            commit_failures: AtomicU64::new(0),
            rendered: Mutex::new(None),
            tally: Mutex::new(Tally::default()),
            committed: Mutex::new(0),
            wake: std::sync::Condvar::new(),
            again: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Starts the thread that renders the series after each commit. It ends when the last
    /// other holder of `m` is gone.
    pub fn spawn_renderer(m: &Arc<Metrics>) {
        let weak = Arc::downgrade(m);
        let _ = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                // What the file holds already (a recorder restarted on it) is served at once.
                if let Some(m) = weak.upgrade() {
                    m.render_recording(0);
                }
                loop {
                    let Some(m) = weak.upgrade() else { return };
                    let want = {
                        let c = m.committed.lock().unwrap_or_else(|p| p.into_inner());
                        let done = m.rendered_seq();
                        let again = || m.again.swap(false, Ordering::AcqRel);
                        if *c <= done && !again() {
                            let (c, _) = m
                                .wake
                                .wait_timeout(c, std::time::Duration::from_millis(500))
                                .unwrap_or_else(|p| p.into_inner());
                            if *c <= done && !again() {
                                continue;
                            }
                            *c
                        } else {
                            *c
                        }
                    };
                    m.render_recording(want);
                }
            });
    }

    fn rendered_seq(&self) -> u64 {
        self.rendered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |r| r.0)
    }

    /// Renders the series as of the last committed snapshot (`seq` or later) and keeps them
    /// for the scrapes to come; a failure keeps the last text.
    pub fn render_recording(&self, seq: u64) {
        match self.recording_side() {
            Ok(Some((last, text))) => {
                *self.rendered.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((last.max(seq), Arc::new(text)));
            }
            Ok(None) => {}
            Err(e) => {
                crate::present::say(&format!(
                    "metrics: cannot read the recording: {}",
                    crate::present::safe::term(&e)
                ));
                // Not tried again until the next commit.
                let mut r = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
                match r.as_mut() {
                    Some(r) => r.0 = r.0.max(seq),
                    None => *r = Some((seq, Arc::new(String::new()))),
                }
            }
        }
    }

    /// The judge wrote findings for a committed snapshot: the series are rendered again.
    pub fn judged(&self) {
        self.again.store(true, Ordering::Release);
        let _guard = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_one();
    }

    /// Counts one poll: whether it committed (and wakes the renderer when it did).
    pub fn count(&self, committed: Option<&crate::store::IngestStats>) {
        match committed {
            Some(s) => {
                let mut last = self.committed.lock().unwrap_or_else(|p| p.into_inner());
                *last = (*last).max(s.seq);
                self.wake.notify_one();
            }
            None => {
                self.commit_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The text a scrape gets: the recorder's own figures now, and the series as rendered at
    /// the last commit (no file is read but the size of the recording's).
    pub fn render(&self, _now_us: i64) -> Result<String, String> {
        let mut failures = Family {
            name: "blackbox_commit_failures",
            help: "Snapshots that could not be committed (disk full or damaged?) since this recorder started",
            kind: Kind::Counter,
            unit: None,
            samples: Vec::new(),
        };
        failures.samples.push(crate::analysis::metrics::Sample {
            labels: Vec::new(),
            value: self.commit_failures.load(Ordering::Relaxed) as f64,
        });
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        let file = Family {
            name: "blackbox_file_size_bytes",
            help: "Size of the recording's file",
            kind: Kind::Gauge,
            unit: Some("bytes"),
            samples: vec![crate::analysis::metrics::Sample {
                labels: Vec::new(),
                value: size as f64,
            }],
        };
        let mut text = String::new();
        crate::present::metrics::text(&[failures, file], &mut text);
        let rendered = self
            .rendered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|r| r.1.clone());
        if let Some(r) = rendered {
            text.push_str(&r);
        }
        Ok(text)
    }

    /// The series at the last snapshot, and which snapshot that is. Nothing when none is
    /// committed yet.
    fn recording_side(&self) -> Result<Option<(u64, String)>, String> {
        let d = match open_reader(&self.path) {
            Ok(d) => d,
            Err(crate::store::StoreError::Missing { .. }) => return Ok(None),
            Err(e) => return Err(crate::errors::error_chain(&e)),
        };
        let err = |e: crate::store::StoreError| crate::errors::error_chain(&e);
        if Reader::new(&d)
            .map_err(err)?
            .last_seq()
            .map_err(err)?
            .is_none()
        {
            return Ok(None);
        }
        let rec = Recording::open(&d).map_err(err)?;
        let Some(last) = rec.infos.last().map(|i| i.seq) else {
            return Ok(None);
        };
        let rows = rows_of(&rec)?;
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        tally.advance(&rec, last);
        let mut fams = families(&rec, last, &tally, &rows)?;
        if !self.findings {
            fams.retain(|f| !f.name.starts_with("blackbox_finding"));
        }
        let mut text = String::new();
        crate::present::metrics::text(&fams, &mut text);
        Ok(Some((last, text)))
    }
}
