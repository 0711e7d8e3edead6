//! The recording as Prometheus series at one snapshot: what `/metrics` serves while recording
//! and what `export --format openmetrics` writes for every snapshot, from this one function.
//! A scrape at snapshot K and the export's samples at K are the same numbers.
//!
//! Names follow Prometheus' conventions: `beacon_` for what Beacon's services said,
//! `blackbox_` for the recorder, units in names, `_total` on counters, `*_timestamp_seconds`
//! for moments (so `time() - x` works across restarts), totals and subsets as separate
//! metrics. Labels: `beacon_job`, `source`, `outcome`, `provider`, `region`, `state`, `kind`;
//! never a cell or an execution id.
//!
//! Cardinality: per job 12 series plus one per row status it has had; per source 9 outcomes and
//! 2 timestamps; per provider 11 (its health and its state among 10); per finding kind 2, plus one per finding subject that has been
//! open (kept at 0 once it ends, so that a rule never reads a gone series as the last value).

use super::history::RowsAt;
use super::recording::Recording;
use super::summary;
use crate::fetch::Outcome;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One series' labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A metric family: its name (for a counter without `_total`), help, type and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// `seconds`, `bytes`: the name ends with it.
    pub unit: Option<&'static str>,
    pub samples: Vec<Sample>,
}

impl Family {
    fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        let unit = ["seconds", "bytes"]
            .into_iter()
            .find(|u| name.ends_with(&format!("_{u}")));
        Family {
            name,
            help,
            kind,
            unit,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: &[(&'static str, &str)], value: f64) {
        self.samples.push(Sample {
            labels: labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            value,
        });
    }
}

/// What is counted over the snapshots: advanced one snapshot at a time, so that the export
/// walks a recording once and `/metrics` never recounts from the start.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// The last snapshot counted.
    pub seq: u64,
    pub snapshots: u64,
    /// Requests by (source, outcome).
    pub requests: BTreeMap<(String, &'static str), u64>,
    /// Per source: the last request sent, and the last usable answer (µs).
    pub last_sent: BTreeMap<String, i64>,
    pub last_good: BTreeMap<String, i64>,
}

impl Tally {
    /// Counts the snapshots after the last one counted, up to `seq`.
    pub fn advance(&mut self, rec: &Recording, seq: u64) {
        let from = rec.infos.partition_point(|i| i.seq <= self.seq);
        for (info, snap) in rec.infos[from..].iter().zip(&rec.snaps[from..]) {
            if info.seq > seq {
                break;
            }
            self.seq = info.seq;
            self.snapshots += 1;
            for f in &snap.fetches {
                let source = rec.source_label(f);
                let o = f.outcome();
                *self.requests.entry((source.clone(), o.name())).or_default() += 1;
                if o.is_gap() {
                    continue;
                }
                self.last_sent.insert(source.clone(), info.started_at);
                if !o.is_failure() {
                    self.last_good.insert(source, info.started_at);
                }
            }
        }
    }
}

/// Each job's rows over the recording (`history::job_history`), for when its complete list
/// last grew as of any snapshot.
pub type Rows = BTreeMap<String, Vec<RowsAt>>;

/// Every job's rows over time, as of the recording's last snapshot.
pub fn rows_of(rec: &Recording) -> Result<Rows, String> {
    let Some(last) = rec.infos.last().map(|i| i.seq) else {
        return Ok(Rows::new());
    };
    let state = rec.state_at(last, &rec.jobs).map_err(|e| e.to_string())?;
    let mut out = Rows::new();
    for js in &state.jobs {
        let h = super::history::job_history(rec, js).map_err(|e| e.to_string())?;
        out.insert(js.job_id.clone(), h.rows_over_time);
    }
    Ok(out)
}

/// The snapshot at or before `seq` at which the job's complete list last had more rows than
/// the one before it.
fn last_growth(rows: &[RowsAt], seq: u64) -> Option<i64> {
    let mut prev = 0;
    let mut at = None;
    for r in rows.iter().take_while(|r| r.seq <= seq) {
        if r.rows > prev {
            at = Some(r.taken_at.0);
        }
        prev = r.rows;
    }
    at
}

fn secs(us: i64) -> f64 {
    us as f64 / 1e6
}

/// The series as of snapshot `seq`: `tally` must have been advanced to it, `rows` made from
/// a recording that holds it.
pub fn families(
    rec: &Recording,
    seq: u64,
    tally: &Tally,
    rows: &Rows,
) -> Result<Vec<Family>, String> {
    let info = rec.info(seq).ok_or_else(|| format!("no snapshot {seq}"))?;
    let s = summary::show(rec, seq, None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let version = rec
        .sessions
        .iter()
        .rev()
        .find(|x| x.first_seq <= seq)
        .map_or(env!("CARGO_PKG_VERSION"), |x| x.tool_version.as_str());
    let mut f = Family::new(
        "blackbox_build_info",
        Kind::Gauge,
        "1, labelled with the blackbox version that recorded the snapshot",
    );
    f.add(&[("version", version)], 1.0);
    out.push(f);
    let mut f = Family::new(
        "blackbox_last_snapshot_seq",
        Kind::Gauge,
        "The snapshot these figures are of (`show --at SEQ` gives the same)",
    );
    f.add(&[], seq as f64);
    out.push(f);
    let mut f = Family::new(
        "blackbox_last_snapshot_timestamp_seconds",
        Kind::Gauge,
        "When the last committed snapshot started",
    );
    f.add(&[], secs(info.started_at));
    out.push(f);
    let mut f = Family::new(
        "blackbox_snapshots",
        Kind::Counter,
        "Snapshots in the recording up to this one",
    );
    f.add(&[], tally.snapshots as f64);
    out.push(f);
    requests(tally, &mut out);
    jobs(&s, rows, seq, &mut out);
    router(&s, &mut out);
    findings(rec, seq, &mut out);
    Ok(out)
}

fn requests(tally: &Tally, out: &mut Vec<Family>) {
    let sources: BTreeSet<&String> = tally.requests.keys().map(|(s, _)| s).collect();
    let mut f = Family::new(
        "blackbox_requests",
        Kind::Counter,
        "Requests of committed snapshots by source and outcome (skipped_by_budget and waiting_retry_after: not sent)",
    );
    for s in &sources {
        for o in Outcome::ALL {
            let n = tally
                .requests
                .get(&((*s).clone(), o.name()))
                .copied()
                .unwrap_or(0);
            f.add(&[("source", s), ("outcome", o.name())], n as f64);
        }
    }
    out.push(f);
    for (name, help, map) in [
        (
            "blackbox_last_request_timestamp_seconds",
            "When the source was last sent a request (requests not sent do not count)",
            &tally.last_sent,
        ),
        (
            "blackbox_last_good_answer_timestamp_seconds",
            "When the source last gave a usable answer",
            &tally.last_good,
        ),
    ] {
        let mut f = Family::new(name, Kind::Gauge, help);
        for (s, at) in map {
            f.add(&[("source", s)], secs(*at));
        }
        out.push(f);
    }
}

fn jobs(s: &summary::ShowOut, rows: &Rows, seq: u64, out: &mut Vec<Family>) {
    let g = |name, help| Family::new(name, Kind::Gauge, help);
    let mut by_status = g(
        "beacon_job_rows",
        "Rows of the job's complete list (as last read whole) by status",
    );
    let mut list = g(
        "beacon_job_list_rows",
        "Rows of the job's complete list, as last read whole",
    );
    let mut view = g(
        "beacon_job_default_view_rows",
        "Rows on the job's default view (`?include=executions`), as last fetched",
    );
    let mut view_at = g(
        "beacon_job_default_view_timestamp_seconds",
        "When the default view given in beacon_job_default_view_rows was fetched",
    );
    let mut cells: Vec<Family> = [
        ("beacon_job_cells_expected", "Cells of the job's matrix"),
        ("beacon_job_cells_covered", "Cells with a row"),
        (
            "beacon_job_cells_missing",
            "Cells without a row (so far, while the job is active)",
        ),
        (
            "beacon_job_cells_unknown",
            "Cells not known to have a row or not (no complete list read)",
        ),
        ("beacon_job_cells_duplicated", "Cells run more than once"),
    ]
    .into_iter()
    .map(|(n, h)| g(n, h))
    .collect();
    let mut active = g(
        "beacon_job_active",
        "1 while the job's status is not a final one (completed, failed, cancelled; an unknown status is not final), else 0",
    );
    let mut grew = g(
        "beacon_job_last_new_row_timestamp_seconds",
        "When the job's complete list last had more rows than at the snapshot before",
    );
    for j in &s.jobs {
        let job = j.job_id.as_str();
        let l = [("beacon_job", job)];
        // Every status the list has had so far: one left is 0, not a series gone.
        let mut statuses: BTreeSet<&str> = j.by_status.keys().map(String::as_str).collect();
        for r in rows
            .get(job)
            .into_iter()
            .flatten()
            .take_while(|r| r.seq <= seq)
        {
            statuses.extend(r.by_status.keys().map(String::as_str));
        }
        for status in statuses {
            let n = j.by_status.get(status).copied().unwrap_or(0);
            by_status.add(&[("beacon_job", job), ("status", status)], n as f64);
        }
        if j.list_seen.is_some() {
            list.add(&l, j.rows as f64);
        }
        if let (Some(n), Some(seen)) = (j.default_view.rows, j.default_view.seen) {
            view.add(&l, n as f64);
            view_at.add(&l, secs(seen.at.0));
        }
        let c = &j.cells;
        for (f, n) in cells.iter_mut().zip([
            j.expected.cells,
            c.covered as u64,
            c.missing_count,
            c.unknown_count,
            c.duplicated.len() as u64,
        ]) {
            f.add(&l, n as f64);
        }
        active.add(&l, if j.so_far() { 1.0 } else { 0.0 });
        if let Some(at) = rows.get(job).and_then(|r| last_growth(r, seq)) {
            grew.add(&l, secs(at));
        }
    }
    out.extend([by_status, list, view, view_at]);
    out.extend(cells);
    out.extend([active, grew]);
}

fn router(s: &summary::ShowOut, out: &mut Vec<Family>) {
    let Some(r) = &s.router else { return };
    let g = |name, help| Family::new(name, Kind::Gauge, help);
    let mut healthy = g(
        "beacon_router_providers_healthy",
        "Providers the router's /health reports healthy, as last answered",
    );
    let mut total = g(
        "beacon_router_providers",
        "Providers the router's /health reports in all, as last answered",
    );
    if let (Some(ok), Some(all)) = (r.providers_healthy, r.providers_total) {
        healthy.add(&[], ok as f64);
        total.add(&[], all as f64);
    }
    let mut one = g(
        "beacon_router_provider_healthy",
        "1 when /providers says the provider is healthy, 0 when not, as last answered",
    );
    let mut state = g(
        "beacon_router_provider_state",
        "1 for each provider's state as the report names it (checked_healthy, checks_failing, ...)",
    );
    for p in &r.providers {
        let region = p.region.as_deref().unwrap_or("");
        if let Some(h) = p.healthy {
            one.add(
                &[("provider", &p.name), ("region", region)],
                if h { 1.0 } else { 0.0 },
            );
        }
        // Every state, 1 for the one it is in: a state left is 0, not a series gone.
        for st in super::router::ProviderState::ALL {
            let v = if st == p.state { 1.0 } else { 0.0 };
            state.add(&[("provider", &p.name), ("state", st.word())], v);
        }
    }
    out.extend([healthy, total, one, state]);
}

/// Problems open at `seq`, as judged while recording (the findings table).
fn findings(rec: &Recording, seq: u64, out: &mut Vec<Family>) {
    let kinds = crate::analysis::findings::KINDS;
    let rows: Vec<_> = rec
        .findings
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.problem && r.began_seq <= seq)
        .collect();
    let open = |r: &crate::store::schema::FindingRec| r.ended_seq.is_none_or(|e| e > seq);
    let mut count = Family::new(
        "blackbox_findings_open",
        Kind::Gauge,
        "Problems open now, by kind (as judged after each snapshot)",
    );
    let mut began = Family::new(
        "blackbox_findings_began",
        Kind::Counter,
        "Problems that began while recording, by kind",
    );
    for k in kinds {
        let of = rows.iter().filter(|r| r.kind == k);
        count.add(
            &[("kind", k)],
            of.clone().filter(|r| open(r)).count() as f64,
        );
        began.add(&[("kind", k)], of.count() as f64);
    }
    // One series per subject ever open: 1 while open, 0 after.
    let mut subjects: BTreeMap<[String; 4], bool> = BTreeMap::new();
    for r in &rows {
        let key = [
            r.kind.clone(),
            r.job.clone().unwrap_or_default(),
            r.source.clone().unwrap_or_default(),
            r.provider.clone().unwrap_or_default(),
        ];
        *subjects.entry(key).or_default() |= open(r);
    }
    let mut one = Family::new(
        "blackbox_finding_open",
        Kind::Gauge,
        "1 while a problem is open, 0 once it ended, by kind and the job, source and provider it is about",
    );
    for ([kind, job, source, provider], is) in &subjects {
        one.add(
            &[
                ("kind", kind),
                ("beacon_job", job),
                ("source", source),
                ("provider", provider),
            ],
            if *is { 1.0 } else { 0.0 },
        );
    }
    out.extend([count, began, one]);
}
