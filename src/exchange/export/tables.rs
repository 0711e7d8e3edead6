//! The recording as flat tables, the same for every way out (JSON lines, Parquet, ClickHouse).
//! Column names and meanings are documented in `docs/export.md` and kept stable: a column is
//! only ever added.

use crate::analysis::router::CheckMemory;
use crate::analysis::summary::router_time_at;
use crate::analysis::{Recording, report, timeline};
use crate::fetch::SourceKind;
use crate::present::render::text_style;
use crate::present::text::Ctx;
use crate::present::words;
use crate::store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotRow {
    pub recording_id: String,
    pub seq: u64,
    /// µs since the epoch.
    pub taken_at_us: i64,
    pub ended_at_us: i64,
    pub session: u64,
    pub requests: u32,
    pub failed: u32,
    pub not_sent: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRow {
    pub recording_id: String,
    pub seq: u64,
    /// Its place in the snapshot.
    pub n: u32,
    pub taken_at_us: i64,
    pub source: String,
    pub job: Option<String>,
    /// Without secrets.
    pub url: String,
    pub status: Option<u16>,
    pub latency_us: u64,
    /// `ok`, `http_error`, `transport`, `skipped_by_budget`, ...
    pub outcome: String,
    pub error_kind: Option<String>,
    pub body_bytes: u64,
    pub rows_in_body: Option<u32>,
}

/// One stored version of an execution: what the snapshot `seq` saw change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionRow {
    pub recording_id: String,
    pub job: String,
    pub id: i64,
    pub seq: u64,
    pub taken_at_us: i64,
    /// The row left the complete list at this snapshot (the other fields are empty).
    pub gone: bool,
    pub status: Option<String>,
    pub question_id: Option<String>,
    pub model_id: Option<String>,
    pub region: Option<String>,
    pub region_raw: Option<String>,
    pub provider_id: Option<String>,
    pub created_at_us: Option<i64>,
    pub started_at_us: Option<i64>,
    pub completed_at_us: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retry_count: Option<u32>,
    pub output_null: Option<bool>,
}

/// A row of a job's complete list kept beside the by-id list (its id repeats an earlier
/// row's, or it has none): the whole list of them as of snapshot `seq`, where it changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtraRowOut {
    pub recording_id: String,
    pub job: String,
    pub seq: u64,
    pub taken_at_us: i64,
    /// Its place in that list.
    pub n: u32,
    /// `duplicate_id` or `no_id`.
    pub why: String,
    /// The repeated id (none for `no_id`).
    pub id: Option<i64>,
    pub status: String,
    pub question_id: Option<String>,
    pub model_id: Option<String>,
    pub region: Option<String>,
    pub provider_id: Option<String>,
    pub created_at_us: Option<i64>,
    pub error_message: Option<String>,
    pub retry_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    pub recording_id: String,
    pub job: String,
    pub seq: u64,
    pub taken_at_us: i64,
    pub found: bool,
    pub status: Option<String>,
    pub default_rows: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterRow {
    pub recording_id: String,
    pub seq: u64,
    pub taken_at_us: i64,
    pub status: Option<String>,
    pub version: Option<String>,
    pub providers_total: Option<i64>,
    pub providers_healthy: Option<i64>,
    /// Comma-separated, sorted.
    pub regions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderRow {
    pub recording_id: String,
    pub seq: u64,
    pub taken_at_us: i64,
    pub name: String,
    pub region: Option<String>,
    pub healthy: Option<bool>,
    /// `checked_healthy`, `assumed_healthy`, `checks_failing`, ...
    pub state: String,
    pub last_health_check_us: Option<i64>,
    pub success_rate: Option<f64>,
    pub avg_latency: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    pub recording_id: String,
    pub seq: u64,
    pub at_us: i64,
    pub job: Option<String>,
    pub kind: String,
    pub message: String,
    /// The typed event (`docs/json.md`) as JSON text.
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub recording_id: String,
    pub n: u32,
    pub kind: String,
    pub job: Option<String>,
    /// The sources and providers it is about, comma-separated (`None`: none).
    pub source: Option<String>,
    pub provider: Option<String>,
    /// A problem (else it only confirms), and whether it held at the last snapshot.
    pub problem: bool,
    pub holds: bool,
    /// The first snapshot at which it held, as judged while recording (`None`: not judged).
    pub first_seen_seq: Option<u64>,
    pub first_seen_at_us: Option<i64>,
    pub message: String,
    pub data: String,
}

impl FindingRow {
    /// Each finding of the report as a row: one place every output takes them from.
    pub fn all(rec: &Recording, id: &str, r: &report::Report) -> Vec<FindingRow> {
        let st = text_style(Ctx::new(rec.start_us(), false));
        let judged = crate::analysis::judge::judge(r, rec);
        r.findings
            .iter()
            .enumerate()
            .map(|(n, f)| {
                let data = serde_json::to_value(f).unwrap_or_default();
                let keys: Vec<_> = judged.iter().filter(|j| j.finding == n).collect();
                let join = |v: Vec<&String>| {
                    let v: Vec<&str> = v.into_iter().map(String::as_str).collect();
                    (!v.is_empty()).then(|| v.join(","))
                };
                let seen = r.first_seen.get(n).copied().flatten();
                FindingRow {
                    recording_id: id.to_string(),
                    n: n as u32,
                    kind: f.kind().to_string(),
                    job: f.job().map(str::to_string),
                    source: join(keys.iter().filter_map(|j| j.key.source.as_ref()).collect()),
                    provider: join(
                        keys.iter()
                            .filter_map(|j| j.key.provider.as_ref())
                            .collect(),
                    ),
                    problem: keys.first().is_some_and(|j| j.key.problem),
                    holds: keys.first().is_some_and(|j| j.holds),
                    first_seen_seq: seen.map(|s| s.seq),
                    first_seen_at_us: seen.map(|s| s.at.0),
                    message: words::finding(f, &st),
                    data: data.to_string(),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub snapshots: Vec<SnapshotRow>,
    pub requests: Vec<RequestRow>,
    pub executions: Vec<ExecutionRow>,
    pub extra_rows: Vec<ExtraRowOut>,
    pub jobs: Vec<JobRow>,
    pub router: Vec<RouterRow>,
    pub providers: Vec<ProviderRow>,
    pub events: Vec<EventRow>,
    pub findings: Vec<FindingRow>,
}

/// The id every row carries: the recording's own, or for a file without one its path.
pub fn recording_id(rec: &Recording, fallback: &str) -> Result<String, StoreError> {
    Ok(rec
        .reader
        .recording_id()?
        .unwrap_or_else(|| fallback.to_string()))
}

fn kind_of(v: &serde_json::Value) -> String {
    v.get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_string()
}

/// Snapshots, requests and stored versions with `seq` in `seqs` (all for `..`), and the
/// analysis (events in `seqs`, findings) of the whole recording when its report is given.
pub fn tables(
    rec: &Recording,
    id: &str,
    seqs: std::ops::RangeInclusive<u64>,
    analysis: Option<&report::Report>,
) -> Result<Tables, StoreError> {
    let mut t = Tables::default();
    snapshot_rows(rec, id, &seqs, &mut t);
    for (name, idx) in &rec.jobs {
        job_rows(rec, id, &seqs, name, *idx, &mut t)?;
    }
    router_rows(rec, id, &seqs, &mut t)?;
    if let Some(r) = analysis {
        analysis_rows(rec, id, &seqs, r, &mut t)?;
    }
    Ok(t)
}

type Seqs = std::ops::RangeInclusive<u64>;

/// Snapshots and their requests.
fn snapshot_rows(rec: &Recording, id: &str, seqs: &Seqs, t: &mut Tables) {
    let job_name = |i: u32| {
        rec.jobs
            .iter()
            .find(|(_, j)| *j == i)
            .map(|(n, _)| n.clone())
    };
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        if !seqs.contains(&info.seq) {
            continue;
        }
        let (mut failed, mut gaps) = (0, 0);
        for (n, f) in snap.fetches.iter().enumerate() {
            let o = f.outcome();
            failed += o.is_failure() as u32;
            gaps += o.is_gap() as u32;
            t.requests.push(RequestRow {
                recording_id: id.to_string(),
                seq: info.seq,
                n: n as u32,
                taken_at_us: info.started_at,
                source: SourceKind::name_of(f.source).to_string(),
                job: f.job.and_then(job_name),
                url: rec.string(f.url).to_string(),
                status: f.status,
                latency_us: f.latency_us,
                outcome: o.name().to_string(),
                error_kind: f.error_kind().map(|k| k.name().to_string()),
                body_bytes: f.body_len,
                rows_in_body: f.rows.map(|r| r[0]),
            });
        }
        t.snapshots.push(SnapshotRow {
            recording_id: id.to_string(),
            seq: info.seq,
            taken_at_us: info.started_at,
            ended_at_us: info.ended_at,
            session: info.session,
            requests: snap.fetches.len() as u32,
            failed,
            not_sent: gaps,
        });
    }
}

/// One job's stored versions: its executions, the rows kept beside them, its own.
fn job_rows(
    rec: &Recording,
    id: &str,
    seqs: &Seqs,
    name: &str,
    idx: u32,
    t: &mut Tables,
) -> Result<(), StoreError> {
    let at = |seq: u64| rec.info(seq).map_or(0, |i| i.started_at);
    rec.reader
        .each_exec_version(idx, i64::MIN..=i64::MAX, |eid, seq, e| {
            if !seqs.contains(&seq) {
                return;
            }
            let s = |v: &Option<crate::beacon::Str>| v.as_ref().map(|x| x.to_string());
            t.executions.push(match e {
                Some(e) => ExecutionRow {
                    recording_id: id.to_string(),
                    job: name.to_string(),
                    id: eid,
                    seq,
                    taken_at_us: at(seq),
                    gone: false,
                    status: Some(e.status.to_string()),
                    question_id: s(&e.question_id),
                    model_id: s(&e.model_id),
                    region: s(&e.region),
                    region_raw: s(&e.region_raw),
                    provider_id: s(&e.provider_id),
                    created_at_us: e.created_at,
                    started_at_us: e.started_at,
                    completed_at_us: e.completed_at,
                    error_code: s(&e.error_code),
                    error_message: s(&e.error_message),
                    retry_count: e.retry_count,
                    output_null: e.output_null,
                },
                None => ExecutionRow {
                    recording_id: id.to_string(),
                    job: name.to_string(),
                    id: eid,
                    seq,
                    taken_at_us: at(seq),
                    gone: true,
                    status: None,
                    question_id: None,
                    model_id: None,
                    region: None,
                    region_raw: None,
                    provider_id: None,
                    created_at_us: None,
                    started_at_us: None,
                    completed_at_us: None,
                    error_code: None,
                    error_message: None,
                    retry_count: None,
                    output_null: None,
                },
            });
        })?;
    for (seq, rows) in rec.reader.extras_versions(idx)? {
        if !seqs.contains(&seq) {
            continue;
        }
        let s = |v: &Option<crate::beacon::Str>| v.as_ref().map(|x| x.to_string());
        for (n, x) in rows.iter().enumerate() {
            let e = &x.exec;
            t.extra_rows.push(ExtraRowOut {
                recording_id: id.to_string(),
                job: name.to_string(),
                seq,
                taken_at_us: at(seq),
                n: n as u32,
                why: match x.why {
                    crate::beacon::ExtraWhy::DuplicateId => "duplicate_id",
                    crate::beacon::ExtraWhy::NoId => "no_id",
                }
                .into(),
                id: x.id(),
                status: e.status.to_string(),
                question_id: s(&e.question_id),
                model_id: s(&e.model_id),
                region: s(&e.region),
                provider_id: s(&e.provider_id),
                created_at_us: e.created_at,
                error_message: s(&e.error_message),
                retry_count: e.retry_count,
            });
        }
    }
    for (seq, r) in rec.reader.job_versions(idx)? {
        if !seqs.contains(&seq) {
            continue;
        }
        t.jobs.push(JobRow {
            recording_id: id.to_string(),
            job: name.to_string(),
            seq,
            taken_at_us: at(seq),
            found: r.found,
            status: r.status,
            default_rows: r.default_rows,
        });
    }
    Ok(())
}

/// The router's stored versions and each provider's state in them.
fn router_rows(rec: &Recording, id: &str, seqs: &Seqs, t: &mut Tables) -> Result<(), StoreError> {
    let at = |seq: u64| rec.info(seq).map_or(0, |i| i.started_at);
    // States as the report reads them: on the router's clock, a raised check told by what
    // the provider's earlier answers said.
    let mut memory = CheckMemory::default();
    for (seq, r) in rec.reader.router_versions()? {
        let router_now = router_time_at(rec, seq).0;
        let states = memory.states(r.providers.as_deref().unwrap_or(&[]), router_now);
        if !seqs.contains(&seq) {
            continue;
        }
        let h = r.health.clone().unwrap_or_default();
        let mut regions = h.regions.clone();
        regions.sort();
        t.router.push(RouterRow {
            recording_id: id.to_string(),
            seq,
            taken_at_us: at(seq),
            status: h.status,
            version: h.version,
            providers_total: h.providers_total,
            providers_healthy: h.providers_healthy,
            regions: regions.join(","),
        });
        for (p, (state, _)) in r.providers.iter().flatten().zip(states) {
            t.providers.push(ProviderRow {
                recording_id: id.to_string(),
                seq,
                taken_at_us: at(seq),
                name: p.name.clone(),
                region: p.region.clone(),
                healthy: p.healthy,
                state: serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                last_health_check_us: p.last_health_check,
                success_rate: p.success_rate,
                avg_latency: p.avg_latency,
            });
        }
    }
    Ok(())
}

/// Every event of the recording's timeline as a row.
pub fn events(rec: &Recording, id: &str) -> Result<Vec<EventRow>, StoreError> {
    let (Some(first), Some(last)) = (rec.infos.first(), rec.infos.last()) else {
        return Ok(Vec::new());
    };
    let mut t = Tables::default();
    let r = Seqs::new(first.seq, last.seq);
    event_rows(rec, id, &r, &mut t)?;
    Ok(t.events)
}

/// The timeline's events in `seqs` and the report's findings.
fn analysis_rows(
    rec: &Recording,
    id: &str,
    seqs: &Seqs,
    r: &report::Report,
    t: &mut Tables,
) -> Result<(), StoreError> {
    if !rec.infos.is_empty() {
        event_rows(rec, id, seqs, t)?;
        t.findings = FindingRow::all(rec, id, r);
    }
    Ok(())
}

/// The timeline's events in `seqs` (the recording has a snapshot).
fn event_rows(rec: &Recording, id: &str, seqs: &Seqs, t: &mut Tables) -> Result<(), StoreError> {
    {
        let st = text_style(Ctx::new(rec.start_us(), false));
        let first = (*seqs.start()).max(rec.infos[0].seq);
        let last = (*seqs.end()).min(rec.infos[rec.infos.len() - 1].seq);
        for e in timeline::timeline(rec, first, last, &rec.jobs)? {
            let data = serde_json::to_value(&e).unwrap_or_default();
            t.events.push(EventRow {
                recording_id: id.to_string(),
                seq: e.seq,
                at_us: e.at.0,
                job: e.job.as_ref().map(|j| j.to_string()),
                kind: kind_of(&data),
                message: words::event(&e.kind, e.job.as_deref(), &st),
                data: data.to_string(),
            });
        }
    }
    Ok(())
}
