//! `/metrics` in Prometheus' text format while recording (on the `--ui` address, or on
//! `--metrics ADDR` alone). Two halves: what the recorder counts as it goes (requests by
//! outcome, the last good answer per source, commits, open findings), kept in `Counters`; and
//! what the recording says at its last snapshot (rows, cells, the default view, the router),
//! from the same summary `show --json` prints, so the two never disagree.
//!
//! A scrape reads no file: the recording's half is rendered once per committed snapshot, by one
//! thread of its own (`spawn_renderer`), and every scrape in between is served that text. A
//! flood of scrapers costs the recorder a string copy each, never a summary of the recording
//! (which each of them once did, and a few hundred of them stalled the polls).
//!
//! Names follow Prometheus' conventions: `beacon_` for what Beacon's services said,
//! `blackbox_` for the recorder itself, units in names, `_total` on counters. Labels are jobs,
//! sources, outcomes, providers and finding kinds; never cells or execution ids.

use crate::analysis::{Recording, summary};
use crate::store::{Reader, open_reader};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;
type GaugeF = Gauge<f64, AtomicU64>;

/// What the recorder counts while recording.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests by (source, outcome word).
    pub requests: BTreeMap<(String, String), u64>,
    /// The last usable answer per source, µs since the epoch.
    pub last_good_us: BTreeMap<String, i64>,
    pub commits: u64,
    pub commit_failures: u64,
    /// Open findings: (kind, job or source).
    pub open: Vec<(String, String)>,
    /// Findings that began since the start, by kind.
    pub began: BTreeMap<String, u64>,
    /// Per job: its rows in the last complete list, and when that number last grew.
    pub rows: BTreeMap<String, (usize, i64)>,
    /// When the last committed snapshot started, µs.
    pub last_snapshot_us: Option<i64>,
}

/// The recorder's side of `/metrics`, shared with the live page's server.
#[derive(Debug)]
pub struct Metrics {
    path: PathBuf,
    /// Findings are judged (`--no-live-findings` leaves their families out).
    findings: bool,
    pub counters: Mutex<Counters>,
    /// `--endpoint`s: (name, URL as recorded): each is its own source.
    endpoints: Vec<(String, String)>,
    /// The recording's half, rendered for the last committed snapshot: (seq, text).
    rendered: Mutex<Option<(u64, std::sync::Arc<String>)>>,
    /// The last snapshot committed, for the renderer to catch up with.
    committed: Mutex<u64>,
    wake: std::sync::Condvar,
}

/// OpenMetrics text (what the crate writes) as Prometheus' classic text format 0.0.4, which
/// every scraper and `promtool check metrics` read: a counter's HELP and TYPE name its `_total`
/// series, and the `# UNIT` and `# EOF` lines go.
fn classic_text(open: &str) -> String {
    let counters: std::collections::HashSet<&str> = open
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open.len());
    for line in open.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((p, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{p}{name}_total {tail}"));
                } else {
                    out.push_str(line);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Metrics {
    pub fn new(path: PathBuf, findings: bool) -> Self {
        Metrics {
            path,
            findings,
            counters: Mutex::new(Counters::default()),
            endpoints: Vec::new(),
            rendered: Mutex::new(None),
            committed: Mutex::new(0),
            wake: std::sync::Condvar::new(),
        }
    }

    /// The `--endpoint`s, each its own `source` label (`endpoint NAME`).
    pub fn with_endpoints(mut self, endpoints: Vec<(String, String)>) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Starts the thread that renders the recording's half after each commit. It ends when
    /// the last other holder of `m` is gone.
    pub fn spawn_renderer(m: &std::sync::Arc<Metrics>) {
        let weak = std::sync::Arc::downgrade(m);
        let _ = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                if let Some(m) = weak.upgrade() {
                    m.seed_rows();
                }
                loop {
                    let Some(m) = weak.upgrade() else { return };
                    let want = {
                        let c = m.committed.lock().unwrap_or_else(|p| p.into_inner());
                        let done = m.rendered_seq();
                        if *c <= done {
                            let (c, _) = m
                                .wake
                                .wait_timeout(c, std::time::Duration::from_millis(500))
                                .unwrap_or_else(|p| p.into_inner());
                            if *c <= done {
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

    /// When each job's complete list last grew, as the file says (not since this session
    /// began: a recorder restarted every few minutes would otherwise never see a job stall).
    fn seed_rows(&self) {
        let Ok(d) = open_reader(&self.path) else {
            return;
        };
        let Ok(rec) = Recording::open(&d) else {
            return;
        };
        let Some(last) = rec.infos.last().map(|i| i.seq) else {
            return;
        };
        let Ok(state) = rec.state_at(last, &rec.jobs) else {
            return;
        };
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for js in &state.jobs {
            if let Ok(h) = crate::analysis::history::job_history(&rec, js)
                && let Some(at) = h.growth.last_new_row_at
            {
                let n = js.row_count();
                // A commit of this session may have come first: the earlier growth stands.
                c.rows
                    .entry(js.job_id.clone())
                    .and_modify(|e| {
                        if e.0 == n {
                            e.1 = e.1.min(at.0);
                        }
                    })
                    .or_insert((n, at.0));
            }
        }
    }

    fn rendered_seq(&self) -> u64 {
        self.rendered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |r| r.0)
    }

    /// Renders the recording's half as of the last committed snapshot (`seq` or later) and
    /// keeps it for the scrapes to come; a failure keeps the last text.
    pub fn render_recording(&self, seq: u64) {
        let mut reg = Registry::default();
        match self.recording_side(&mut reg) {
            Ok(Some(last)) => {
                let mut out = String::new();
                if encode(&mut out, &reg).is_ok() {
                    *self.rendered.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((last.max(seq), std::sync::Arc::new(classic_text(&out))));
                }
            }
            Ok(None) => {}
            Err(e) => {
                crate::present::say(&format!(
                    "metrics: cannot read the recording: {}",
                    crate::present::safe::term(&e)
                ));
                // Not tried again until the next commit.
                if let Some(r) = self
                    .rendered
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_mut()
                {
                    r.0 = r.0.max(seq);
                } else {
                    *self.rendered.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((seq, std::sync::Arc::new(String::new())));
                }
            }
        }
    }

    /// The source a request is counted under: its endpoint's name for an `--endpoint`.
    fn source_of(&self, f: &crate::fetch::Fetched) -> String {
        if f.kind == crate::fetch::SourceKind::Custom
            && let Some((name, _)) = self.endpoints.iter().find(|(_, u)| *u == f.url)
        {
            return format!("endpoint {name}");
        }
        f.kind.name().to_string()
    }

    /// Counts one poll: its requests by outcome (`Outcome::name`; `skipped_by_budget` is a
    /// request the budget did not send), whether it committed, the findings it began or ended.
    pub fn count(
        &self,
        poll: &crate::store::Poll,
        outcomes: &[crate::fetch::Outcome],
        committed: Option<&crate::store::IngestStats>,
        changes: &[crate::record::live::Change],
    ) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for (job, by) in committed.map_or(&[][..], |s| &s.job_rows[..]) {
            let n = by.values().sum::<usize>();
            let e = c.rows.entry(job.clone()).or_insert((n, poll.started_at));
            if n > e.0 {
                *e = (n, poll.started_at);
            }
            e.0 = n;
        }
        let committed_seq = committed.map(|s| s.seq);
        let committed = committed.is_some();
        for (i, f) in poll.fetches.iter().enumerate() {
            // As the poll was read (a 200 that does not parse is `unparsable`); before the
            // writer said, by the transport alone.
            let outcome = outcomes
                .get(i)
                .copied()
                .unwrap_or_else(|| crate::normalise::answer_outcome(f));
            let source = self.source_of(f);
            *c.requests
                .entry((source.clone(), outcome.name().to_string()))
                .or_default() += 1;
            if !outcome.is_failure() && !outcome.is_gap() {
                c.last_good_us.insert(source, poll.started_at);
            }
        }
        if committed {
            c.commits += 1;
        } else {
            c.commit_failures += 1;
        }
        if committed {
            c.last_snapshot_us = Some(poll.started_at);
        }
        if let Some(seq) = committed_seq {
            let mut last = self.committed.lock().unwrap_or_else(|p| p.into_inner());
            *last = (*last).max(seq);
            self.wake.notify_one();
        }
        for ch in changes {
            let key = (ch.kind.to_string(), ch.subject());
            if ch.state == "began" {
                *c.began.entry(ch.kind.to_string()).or_default() += 1;
                if !c.open.contains(&key) {
                    c.open.push(key);
                }
            } else {
                c.open.retain(|k| *k != key);
            }
        }
    }

    /// The text a scrape gets: the recorder's counters now, and the recording's half as
    /// rendered at the last commit (no file is read). `now_us`: the recorder's clock.
    pub fn render(&self, now_us: i64) -> Result<String, String> {
        let mut reg = Registry::default();
        self.recorder_side(&mut reg, now_us);
        let mut out = String::new();
        encode(&mut out, &reg).map_err(|e| e.to_string())?;
        let mut text = classic_text(&out);
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

    fn recorder_side(&self, reg: &mut Registry, now_us: i64) {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let requests = Family::<Labels, Counter>::default();
        for ((source, outcome), n) in &c.requests {
            requests
                .get_or_create(&l(&[("source", source), ("outcome", outcome)]))
                .inc_by(*n);
        }
        reg.register(
            "blackbox_requests",
            "Requests by source and outcome (skipped_by_budget and waiting_retry_after: not sent)",
            requests,
        );
        let since = Family::<Labels, GaugeF>::default();
        for (source, at) in &c.last_good_us {
            since
                .get_or_create(&l(&[("source", source)]))
                .set((now_us - at).max(0) as f64 / 1e6);
        }
        reg.register_with_unit(
            "blackbox_since_last_good_answer",
            "Time since the source last gave a usable answer",
            Unit::Seconds,
            since,
        );
        let commits: Counter = Counter::default();
        commits.inc_by(c.commits);
        reg.register("blackbox_commits", "Snapshots committed", commits);
        let failures: Counter = Counter::default();
        failures.inc_by(c.commit_failures);
        reg.register(
            "blackbox_commit_failures",
            "Snapshots that could not be committed",
            failures,
        );
        if self.findings {
            // Every kind present, 0 when none is open: alert rules need the series.
            let count = Family::<Labels, Gauge>::default();
            for kind in crate::analysis::findings::KINDS {
                let n = c.open.iter().filter(|(k, _)| k == kind).count();
                count.get_or_create(&l(&[("kind", kind)])).set(n as i64);
            }
            reg.register(
                "blackbox_findings_open",
                "Findings open now, by kind",
                count,
            );
            let open = Family::<Labels, Gauge>::default();
            for (kind, subject) in &c.open {
                open.get_or_create(&l(&[("kind", kind), ("subject", subject)]))
                    .set(1);
            }
            reg.register(
                "blackbox_finding_open",
                "1 for each open finding, by kind and the job (or source) it is about",
                open,
            );
        }
        if self.findings {
            let began = Family::<Labels, Counter>::default();
            for (kind, n) in &c.began {
                began.get_or_create(&l(&[("kind", kind)])).inc_by(*n);
            }
            reg.register(
                "blackbox_findings_began",
                "Findings that began while recording",
                began,
            );
        }
        let grew = Family::<Labels, GaugeF>::default();
        for (job, (_, at)) in &c.rows {
            grew.get_or_create(&l(&[("beacon_job", job)]))
                .set((now_us - at).max(0) as f64 / 1e6);
        }
        reg.register_with_unit(
            "beacon_job_since_last_new_row",
            "Time since the job's complete list last had more rows than before",
            Unit::Seconds,
            grew,
        );
        if let Some(at) = c.last_snapshot_us {
            let age: GaugeF = Gauge::default();
            age.set((now_us - at).max(0) as f64 / 1e6);
            reg.register_with_unit(
                "blackbox_since_last_snapshot",
                "Time since the last committed snapshot started",
                Unit::Seconds,
                age,
            );
        }
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        let file: Gauge = Gauge::default();
        file.set(size.min(i64::MAX as u64) as i64);
        reg.register_with_unit(
            "blackbox_file_size",
            "Size of the recording's file",
            Unit::Bytes,
            file,
        );
    }

    /// Rows, cells, the default view and the router at the last snapshot, from the summary
    /// `show --json` gives for it; the snapshot it is of. Nothing when none is committed yet.
    fn recording_side(&self, reg: &mut Registry) -> Result<Option<u64>, String> {
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
        let s = summary::show(&rec, last, None).map_err(|e| e.to_string())?;
        let rows = Family::<Labels, Gauge>::default();
        let cells = Family::<Labels, Gauge>::default();
        let view = Family::<Labels, Gauge>::default();
        let view_age = Family::<Labels, GaugeF>::default();
        for j in &s.jobs {
            let job = j.job_id.as_str();
            for (status, n) in &j.by_status {
                rows.get_or_create(&l(&[("beacon_job", job), ("status", status)]))
                    .set(*n as i64);
            }
            let c = &j.cells;
            for (what, n) in [
                ("expected", j.expected.cells),
                ("covered", c.covered as u64),
                ("missing", c.missing_count),
                ("unknown", c.unknown_count),
                ("duplicated", c.duplicated.len() as u64),
            ] {
                cells
                    .get_or_create(&l(&[("beacon_job", job), ("state", what)]))
                    .set(n.min(i64::MAX as u64) as i64);
            }
            if let Some(shown) = j.default_view.rows {
                view.get_or_create(&l(&[("beacon_job", job), ("list", "default_view")]))
                    .set(shown as i64);
                // The view may be from an earlier poll (the budget asks it less often).
                if let Some(seen) = j.default_view.seen {
                    view_age
                        .get_or_create(&l(&[("beacon_job", job)]))
                        .set(seen.age_seconds);
                }
            }
            view.get_or_create(&l(&[("beacon_job", job), ("list", "complete")]))
                .set(j.rows as i64);
        }
        reg.register("beacon_job_rows", "Rows of the job by status", rows);
        reg.register(
            "beacon_job_cells",
            "Cells of the job's matrix: expected, covered (a row), missing, unknown (no complete list read), duplicated (run more than once)",
            cells,
        );
        reg.register(
            "beacon_job_view_rows",
            "Rows in the default job view and in the complete list",
            view,
        );
        reg.register_with_unit(
            "beacon_job_view_age",
            "How old the default view's figure is at the last snapshot (0: fetched in it)",
            Unit::Seconds,
            view_age,
        );
        let seq: Gauge = Gauge::default();
        seq.set(last.min(i64::MAX as u64) as i64);
        reg.register(
            "blackbox_last_snapshot_seq",
            "The snapshot these figures are of (`show --at SEQ` gives the same)",
            seq,
        );
        if let Some(r) = &s.router {
            let providers = Family::<Labels, Gauge>::default();
            if let (Some(ok), Some(all)) = (r.providers_healthy, r.providers_total) {
                providers.get_or_create(&l(&[("state", "healthy")])).set(ok);
                providers.get_or_create(&l(&[("state", "total")])).set(all);
            }
            reg.register(
                "beacon_router_providers",
                "Providers the router reports healthy, and in all",
                providers,
            );
            let state = Family::<Labels, Gauge>::default();
            for p in &r.providers {
                let word = serde_json::to_value(p.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                state
                    .get_or_create(&l(&[("provider", &p.name), ("state", &word)]))
                    .set(1);
            }
            reg.register(
                "beacon_router_provider_state",
                "1 for each provider's state as the report names it (checked_healthy, stale, ...)",
                state,
            );
        }
        Ok(Some(last))
    }
}
