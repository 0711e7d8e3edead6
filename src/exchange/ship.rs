//! `blackbox ship`: a recording into ClickHouse over its HTTP interface, for the fleet view
//! (several recorders into one server). The tables are the export's (`docs/export.md`) with a
//! `DateTime('UTC')` `taken_at` beside the µs columns; they are `ReplacingMergeTree`s ordered by
//! recording id and time, created when absent. Shipping is idempotent: the server is asked which
//! snapshots of this recording it holds (a set, with their times), only the others are sent, and
//! the snapshot rows go last, so an interrupted ship is completed by the next one (rows sent twice
//! then collapse in the replacing merge: query with `FINAL`). The tables that carry the analysis
//! (`executions_latest`, `cells`, `answers`, `findings`) are sent as of the last snapshot, each
//! row with `as_of_seq`, the version the replacing merge keeps. The SQL is what ClickHouse 18.16
//! accepts, so newer servers accept it too (no `DateTime64`, no `LowCardinality`, no ASOF JOIN:
//! `router_polls` has the router as of every poll, joined on `seq`).

use super::error::Error;
use super::export::tables::{self, Tables};
use crate::analysis::Recording;
use crate::present::safe::term;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// (column, ClickHouse type).
type Columns = &'static [(&'static str, &'static str)];

/// (table, ORDER BY, columns); `taken_at` is made from `taken_at_us`.
const TABLES: [(&str, &str, Columns); 7] = [
    (
        "snapshots",
        "recording_id, taken_at, seq",
        &[
            ("recording_id", "String"),
            ("seq", "UInt64"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("ended_at_us", "Int64"),
            ("session", "UInt64"),
            ("requests", "UInt32"),
            ("failed", "UInt32"),
            ("not_sent", "UInt32"),
        ],
    ),
    (
        "requests",
        "recording_id, taken_at, seq, n",
        &[
            ("recording_id", "String"),
            ("seq", "UInt64"),
            ("n", "UInt32"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("source", "String"),
            ("job", "Nullable(String)"),
            ("url", "String"),
            ("status", "Nullable(UInt16)"),
            ("latency_us", "UInt64"),
            ("outcome", "String"),
            ("error_kind", "Nullable(String)"),
            ("body_bytes", "UInt64"),
            ("rows_in_body", "Nullable(UInt32)"),
        ],
    ),
    (
        "executions",
        "recording_id, taken_at, job, id, seq",
        &[
            ("recording_id", "String"),
            ("job", "String"),
            ("id", "Int64"),
            ("seq", "UInt64"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("gone", "UInt8"),
            ("status", "Nullable(String)"),
            ("question_id", "Nullable(String)"),
            ("model_id", "Nullable(String)"),
            ("region", "Nullable(String)"),
            ("region_raw", "Nullable(String)"),
            ("provider_id", "Nullable(String)"),
            ("created_at_us", "Nullable(Int64)"),
            ("started_at_us", "Nullable(Int64)"),
            ("completed_at_us", "Nullable(Int64)"),
            ("error_code", "Nullable(String)"),
            ("error_message", "Nullable(String)"),
            ("retry_count", "Nullable(UInt32)"),
            ("output_null", "Nullable(UInt8)"),
        ],
    ),
    (
        "jobs",
        "recording_id, taken_at, job, seq",
        &[
            ("recording_id", "String"),
            ("job", "String"),
            ("seq", "UInt64"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("found", "UInt8"),
            ("status", "Nullable(String)"),
            ("default_rows", "Nullable(UInt32)"),
        ],
    ),
    (
        "router",
        "recording_id, taken_at, seq",
        &[
            ("recording_id", "String"),
            ("seq", "UInt64"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("status", "Nullable(String)"),
            ("version", "Nullable(String)"),
            ("providers_total", "Nullable(Int64)"),
            ("providers_healthy", "Nullable(Int64)"),
            ("regions", "String"),
        ],
    ),
    (
        "providers",
        "recording_id, taken_at, seq, name",
        &[
            ("recording_id", "String"),
            ("seq", "UInt64"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("name", "String"),
            ("region", "Nullable(String)"),
            ("healthy", "Nullable(UInt8)"),
            ("state", "String"),
            ("last_health_check_us", "Nullable(Int64)"),
            ("success_rate", "Nullable(Float64)"),
            ("avg_latency", "Nullable(Float64)"),
        ],
    ),
    (
        "router_polls",
        "recording_id, taken_at, seq",
        &[
            ("recording_id", "String"),
            ("seq", "UInt64"),
            ("taken_at", "DateTime('UTC')"),
            ("taken_at_us", "Int64"),
            ("health_seen", "UInt8"),
            ("providers_seen", "UInt8"),
            ("status", "Nullable(String)"),
            ("version", "Nullable(String)"),
            ("providers_total", "Nullable(Int64)"),
            ("providers_healthy", "Nullable(Int64)"),
            ("last_seq", "Nullable(UInt64)"),
            ("last_version", "Nullable(String)"),
            ("last_providers_total", "Nullable(Int64)"),
            ("last_providers_healthy", "Nullable(Int64)"),
        ],
    ),
];

/// Tables sent as of the last snapshot: (table, ORDER BY, columns); the version the merge
/// keeps is `as_of_seq`. `findings` and `events` are sent whole with each version: the latest
/// are those of the recording's largest `as_of_seq`.
const ANALYSIS: [(&str, &str, Columns); 5] = [
    (
        "executions_latest",
        "recording_id, job, key",
        &[
            ("recording_id", "String"),
            ("job", "String"),
            ("key", "String"),
            ("id", "Nullable(Int64)"),
            ("kept_beside", "Nullable(String)"),
            ("listed", "UInt8"),
            ("as_of_seq", "UInt64"),
            ("changed_seq", "UInt64"),
            ("status", "String"),
            ("question_id", "Nullable(String)"),
            ("model_id", "Nullable(String)"),
            ("region", "Nullable(String)"),
            ("region_raw", "Nullable(String)"),
            ("provider_id", "Nullable(String)"),
            ("created_at_us", "Nullable(Int64)"),
            ("started_at_us", "Nullable(Int64)"),
            ("completed_at_us", "Nullable(Int64)"),
            ("error_code", "Nullable(String)"),
            ("error_message", "Nullable(String)"),
            ("retry_count", "Nullable(UInt32)"),
            ("output_null", "Nullable(UInt8)"),
            ("first_seen_seq", "UInt64"),
            ("first_seen_at_us", "Int64"),
            ("failed_seen_seq", "Nullable(UInt64)"),
            ("failed_seen_at_us", "Nullable(Int64)"),
            ("place", "String"),
        ],
    ),
    (
        "cells",
        "recording_id, job, question_id, model_id, region",
        &[
            ("recording_id", "String"),
            ("job", "String"),
            ("as_of_seq", "UInt64"),
            ("question_id", "String"),
            ("model_id", "String"),
            ("region", "String"),
            ("rows", "UInt32"),
            ("executions", "UInt32"),
            ("statuses", "String"),
            ("missing", "UInt8"),
        ],
    ),
    (
        "answers",
        "recording_id, job",
        &[
            ("recording_id", "String"),
            ("job", "String"),
            ("as_of_seq", "UInt64"),
            ("as_of_us", "Int64"),
            ("status", "Nullable(String)"),
            ("path", "Nullable(String)"),
            ("expected_cells", "UInt64"),
            ("declared", "Nullable(UInt64)"),
            ("rows", "UInt64"),
            ("covered", "UInt64"),
            ("missing", "UInt64"),
            ("unknown", "UInt64"),
            ("duplicated_cells", "UInt64"),
            ("extra_runs", "UInt64"),
            ("repeated_rows", "UInt64"),
            ("unexpected", "UInt64"),
            ("no_cell", "UInt64"),
            ("failed", "UInt64"),
            ("default_view_rows", "Nullable(UInt32)"),
            ("default_view_seq", "Nullable(UInt64)"),
            ("default_view_complete_rows", "Nullable(UInt64)"),
            ("default_view_truncated", "Nullable(UInt8)"),
            ("redeliveries_shown", "Nullable(UInt64)"),
            ("first_row_seen_at_us", "Nullable(Int64)"),
            ("first_failed_seen_at_us", "Nullable(Int64)"),
            ("last_failed_seen_at_us", "Nullable(Int64)"),
            ("seconds_to_first_failure", "Nullable(Float64)"),
            ("first_failed_at_us", "Nullable(Int64)"),
            ("last_failed_at_us", "Nullable(Int64)"),
            ("runner_offset_seconds", "Nullable(Float64)"),
        ],
    ),
    (
        "findings",
        "recording_id, finding_key",
        &[
            ("recording_id", "String"),
            // What the finding is, whatever its values now: kind, job, sources, providers,
            // problem or not, first seen (one row per finding per state after FINAL).
            ("finding_key", "String"),
            ("as_of_seq", "UInt64"),
            ("n", "UInt32"),
            ("kind", "String"),
            ("job", "Nullable(String)"),
            ("source", "Nullable(String)"),
            ("provider", "Nullable(String)"),
            ("problem", "UInt8"),
            ("holds", "UInt8"),
            ("first_seen_seq", "Nullable(UInt64)"),
            ("first_seen_at_us", "Nullable(Int64)"),
            ("message", "String"),
            ("data", "String"),
        ],
    ),
    (
        "events",
        "recording_id, seq, kind, ident",
        &[
            ("recording_id", "String"),
            ("seq", "UInt64"),
            ("at_us", "Int64"),
            ("job", "Nullable(String)"),
            ("kind", "String"),
            // What the event is, whatever its values now (a job's rows that stopped growing
            // count the snapshots after as they come): its message, else its job.
            ("ident", "String"),
            ("message", "String"),
            ("data", "String"),
            ("as_of_seq", "UInt64"),
        ],
    ),
];

const RECORDINGS: &[(&str, &str)] = &[
    ("recording_id", "String"),
    ("source", "String"),
    ("label", "Nullable(String)"),
    ("runner", "Nullable(String)"),
    ("router", "Nullable(String)"),
    ("tool_version", "String"),
    ("first_at", "DateTime('UTC')"),
    ("shipped_at", "DateTime('UTC')"),
];

/// The last second ClickHouse's `DateTime` reads from text: 2105-12-31 23:59:59 (its documented
/// range; 18.16 wraps anything later).
const DATETIME_MAX: i64 = 4_291_747_199;

/// A time as `DateTime('UTC')` text, and whether it had to be clamped into its range
/// (1970-01-01 to 2105-12-31); the `_us` column beside it is always exact.
fn datetime(us: i64) -> (String, bool) {
    let secs = us.div_euclid(1_000_000);
    let clamped = secs.clamp(0, DATETIME_MAX);
    let text = chrono::DateTime::from_timestamp(clamped, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "1970-01-01 00:00:00".into());
    (text, clamped != secs)
}

/// A row as ClickHouse's JSONEachRow wants it: its columns, bools as 0/1, `taken_at` made
/// (clamped into `DateTime`'s range: `clamped` counts those).
fn row(v: Value, cols: &[(&str, &str)], clamped: &mut usize) -> Value {
    let src = match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut out = Map::new();
    for (name, _) in cols {
        let x = if *name == "taken_at" {
            let (text, was) = datetime(src.get("taken_at_us").and_then(Value::as_i64).unwrap_or(0));
            *clamped += was as usize;
            Value::String(text)
        } else {
            match src.get(*name).cloned().unwrap_or(Value::Null) {
                Value::Bool(b) => Value::from(b as u8),
                other => other,
            }
        };
        out.insert(name.to_string(), x);
    }
    Value::Object(out)
}

pub struct Server {
    client: reqwest::Client,
    base: reqwest::Url,
    user: Option<(String, Option<String>)>,
    /// The URL as printed: no credentials.
    pub shown: String,
}

impl Server {
    pub fn new(url: &reqwest::Url) -> Result<Server, Error> {
        crate::source::install_crypto();
        // No redirect is followed: the statement (and the password in the URL) would be sent
        // on to wherever a 3xx points. A 3xx is an error naming where it pointed.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::failure(format!("cannot build the HTTP client: {e}")))?;
        let user = (!url.username().is_empty()).then(|| {
            (
                url.username().to_string(),
                url.password().map(str::to_string),
            )
        });
        let mut base = url.clone();
        let _ = base.set_username("");
        let _ = base.set_password(None);
        Ok(Server {
            client,
            shown: crate::redact::url(url),
            base,
            user,
        })
    }

    /// Runs one statement (`body` follows it, for an INSERT); the answer's text.
    async fn query(&self, sql: &str, body: Vec<u8>) -> Result<String, Error> {
        let mut url = self.base.clone();
        // A statement without data goes as the body (ClickHouse wants a body's length).
        let body = if body.is_empty() {
            sql.as_bytes().to_vec()
        } else {
            url.query_pairs_mut().append_pair("query", sql);
            body
        };
        let mut req = self.client.post(url).body(body);
        if let Some((u, p)) = &self.user {
            req = req.basic_auth(u, p.as_ref());
        }
        let failed =
            |why: String| Error::failure(format!("ClickHouse at {} {why}", term(&self.shown)));
        // The client's error quotes the URL it was sent to, query and all (`?password=`, the
        // login ClickHouse documents): dropped before the message is made.
        let res = req.send().await.map_err(|e| {
            failed(format!(
                "did not answer: {}",
                crate::redact::in_text(&crate::errors::error_chain(&e.without_url()))
            ))
        })?;
        let status = res.status();
        if status.is_redirection() {
            let to = res
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| crate::redact::url_text(&String::from_utf8_lossy(v.as_bytes())))
                .unwrap_or_else(|| "nowhere said".into());
            return Err(failed(format!(
                "answered {status} pointing to {}: redirects are not followed (the statement and its credentials would go there); give that address instead",
                term(&to)
            )));
        }
        let text = res.text().await.map_err(|e| {
            failed(format!(
                "answer cut off: {}",
                crate::redact::in_text(&crate::errors::error_chain(&e.without_url()))
            ))
        })?;
        if !status.is_success() {
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>();
            // The server's text may echo the request (`POST /?password=...`): redacted as a URL.
            return Err(failed(format!(
                "refused ({status}): {}",
                term(&crate::redact::in_text(&first))
            )));
        }
        Ok(text)
    }

    async fn insert(&self, db: &str, table: &str, rows: Vec<Value>) -> Result<usize, Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        let n = rows.len();
        let mut body = Vec::with_capacity(n * 200);
        for r in rows {
            serde_json::to_writer(&mut body, &r)?;
            body.push(b'\n');
        }
        self.query(
            &format!("INSERT INTO {db}.{table} FORMAT JSONEachRow"),
            body,
        )
        .await?;
        Ok(n)
    }
}

/// A table made when absent; `version` is the column the replacing merge keeps the largest of
/// (else the last inserted).
fn create_sql(
    db: &str,
    table: &str,
    order: &str,
    cols: &[(&str, &str)],
    version: Option<&str>,
) -> String {
    let c: Vec<String> = cols.iter().map(|(n, t)| format!("{n} {t}")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.{table} ({}) ENGINE = ReplacingMergeTree({}) ORDER BY ({order})",
        c.join(", "),
        version.unwrap_or("")
    )
}

fn json_rows<T: serde::Serialize>(
    rows: &[T],
    cols: &[(&str, &str)],
    clamped: &mut usize,
) -> Vec<Value> {
    rows.iter()
        .map(|r| row(serde_json::to_value(r).unwrap_or_default(), cols, clamped))
        .collect()
}

/// What one pass found and shipped.
pub struct Shipped {
    pub snapshots: usize,
    pub rows: usize,
    /// The snapshots the server held of this recording before, and holds now.
    pub had: BTreeSet<u64>,
    pub has: BTreeSet<u64>,
    /// Rows whose `taken_at` fell outside `DateTime` and was clamped.
    pub clamped: usize,
    /// The file was not closed cleanly (its recorder was killed): read through a repaired copy.
    pub recovered: bool,
    /// Analysis rows of this recording the server held as of snapshots it never had (a row
    /// planted, or written by another copy): those versions, removed so they freeze nothing.
    pub foreign: BTreeSet<u64>,
}

/// Seqs as runs: `1-5, 8, 10-12`, at most six runs named.
pub fn runs(seqs: &BTreeSet<u64>) -> String {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &s in seqs {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == s => *b = s,
            _ => out.push((s, s)),
        }
    }
    if out.is_empty() {
        return "none".into();
    }
    let mut words: Vec<String> = out
        .iter()
        .take(6)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if out.len() > 6 {
        words.push(format!("and {} more runs", out.len() - 6));
    }
    words.join(", ")
}

/// The snapshots of this recording the server holds, with their times; an answer that cannot
/// be one (not a seq and a time, or a seq of another history of this recording) is an error.
async fn held(
    server: &Server,
    db_name: &str,
    id: &str,
    rec: &Recording,
) -> Result<BTreeSet<u64>, Error> {
    let text = server
        .query(
            &format!(
                "SELECT DISTINCT seq, taken_at_us FROM {db_name}.snapshots WHERE recording_id = '{}' FORMAT TabSeparated",
                id.replace(['\'', '\\'], "")
            ),
            Vec::new(),
        )
        .await?;
    let last = rec.infos.last().map_or(0, |i| i.seq);
    let odd = |line: &str, why: &str| {
        Error::failure(format!(
            "ClickHouse at {} answered {:?} for the snapshots it holds of this recording: {why}; nothing sent",
            term(&server.shown),
            term(&line.chars().take(80).collect::<String>())
        ))
    };
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (seq, at) = line
            .split_once('\t')
            .ok_or_else(|| odd(line, "not a seq and a time"))?;
        let seq: u64 = seq
            .trim()
            .parse()
            .map_err(|_| odd(line, "not a snapshot number"))?;
        let at: i64 = at.trim().parse().map_err(|_| odd(line, "not a time"))?;
        if seq == 0 {
            return Err(odd(line, "snapshots are numbered from 1"));
        }
        if seq > last {
            return Err(Error::failure(format!(
                "ClickHouse at {} holds snapshot {seq} of this recording, beyond this file's last ({last}): the file is an older copy of the recording (restored from a backup?) and its new snapshots would collide; nothing sent",
                term(&server.shown)
            )));
        }
        if let Some(i) = rec.info(seq)
            && i.started_at != at
        {
            return Err(Error::failure(format!(
                "ClickHouse at {} holds snapshot {seq} of this recording taken at another time than this file's: another history of the same recording (a copy that recorded on?); nothing sent",
                term(&server.shown)
            )));
        }
        out.insert(seq);
    }
    Ok(out)
}

/// Sends what the server does not hold of the recording at `path`, in batches of `batch`
/// snapshots, then the analysis as of its last snapshot.
pub async fn ship_once(
    server: &Server,
    db_name: &str,
    path: &Path,
    batch: u64,
) -> Result<Shipped, Error> {
    let (_d, rec, recovered) = super::error::open(path)?;
    let id = tables::recording_id(&rec, &path.display().to_string())?;
    let had = held(server, db_name, &id, &rec).await?;
    let missing: Vec<u64> = rec
        .infos
        .iter()
        .map(|i| i.seq)
        .filter(|s| !had.contains(s))
        .collect();
    let mut shipped = Shipped {
        snapshots: 0,
        rows: 0,
        has: had.clone(),
        had,
        clamped: 0,
        recovered,
        foreign: BTreeSet::new(),
    };
    ship_recording_row(server, db_name, &rec, &id, path).await?;
    let report = if missing.is_empty() {
        None
    } else {
        Some(crate::analysis::report(&rec, None)?)
    };
    // Runs of missing seqs, cut into batches.
    let mut k = 0;
    while k < missing.len() {
        let from = missing[k];
        let mut to = from;
        while k + 1 < missing.len() && missing[k + 1] == to + 1 && to - from + 1 < batch {
            k += 1;
            to = missing[k];
        }
        k += 1;
        let t: Tables = tables::tables(&rec, &id, from..=to, report.as_ref())?;
        let c = &mut shipped.clamped;
        // Snapshots last: the mark of a batch shipped whole.
        for (name, _, cols) in TABLES.iter().skip(1) {
            let rows = match *name {
                "requests" => json_rows(&t.requests, cols, c),
                "executions" => json_rows(&t.executions, cols, c),
                "jobs" => json_rows(&t.jobs, cols, c),
                "router" => json_rows(&t.router, cols, c),
                "router_polls" => {
                    let polls = super::export::derived::router_polls(&rec, &id)?;
                    let polls: Vec<_> = polls
                        .into_iter()
                        .filter(|p| (from..=to).contains(&p.seq))
                        .collect();
                    json_rows(&polls, cols, c)
                }
                _ => json_rows(&t.providers, cols, c),
            };
            shipped.rows += server.insert(db_name, name, rows).await?;
        }
        shipped.snapshots += t.snapshots.len();
        shipped.rows += server
            .insert(
                db_name,
                "snapshots",
                json_rows(&t.snapshots, TABLES[0].2, c),
            )
            .await?;
        shipped.has.extend(from..=to);
    }
    let (rows, foreign) = ship_analysis(server, db_name, &rec, &id, report).await?;
    shipped.rows += rows;
    shipped.foreign = foreign;
    Ok(shipped)
}

/// The versions (`as_of_seq`) of an analysis table the server holds for a recording: a set,
/// never its maximum taken on trust.
async fn versions_held(
    server: &Server,
    db_name: &str,
    table: &str,
    id: &str,
) -> Result<BTreeSet<u64>, Error> {
    let text = server
        .query(
            &format!(
                "SELECT DISTINCT as_of_seq FROM {db_name}.{table} WHERE recording_id = '{}' FORMAT TabSeparated",
                id.replace(['\'', '\\'], "")
            ),
            Vec::new(),
        )
        .await?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// The tables that carry the analysis, as of the last snapshot, when the server lacks that
/// version: what changed since the latest version of this file it has (all of it the first
/// time). Versions the server holds from beyond this file's last snapshot cannot be its own
/// (a planted row, another copy's): the replacing merge would keep them over every version to
/// come, so they are removed first and said (returned).
async fn ship_analysis(
    server: &Server,
    db_name: &str,
    rec: &Recording,
    id: &str,
    report: Option<crate::analysis::report::Report>,
) -> Result<(usize, BTreeSet<u64>), Error> {
    let Some(last) = rec.infos.last().map(|i| i.seq) else {
        return Ok((0, BTreeSet::new()));
    };
    let mut foreign = BTreeSet::new();
    for (table, _, _) in &ANALYSIS {
        let beyond: Vec<u64> = versions_held(server, db_name, table, id)
            .await?
            .into_iter()
            .filter(|v| *v > last)
            .collect();
        if beyond.is_empty() {
            continue;
        }
        let list: Vec<String> = beyond.iter().map(|v| v.to_string()).collect();
        server
            .query(
                &format!(
                    "ALTER TABLE {db_name}.{table} DELETE WHERE recording_id = '{}' AND as_of_seq IN ({})",
                    id.replace(['\'', '\\'], ""),
                    list.join(", ")
                ),
                Vec::new(),
            )
            .await?;
        foreign.extend(beyond);
    }
    let held = versions_held(server, db_name, "answers", id).await?;
    if held.contains(&last) {
        return Ok((0, foreign));
    }
    let have: Option<u64> = held.range(..last).next_back().copied();
    let report = match report {
        Some(r) => r,
        None => crate::analysis::report(rec, None)?,
    };
    let d = super::export::derived::derived(rec, id, &report)?;
    let from = have.map_or(0, |h| h + 1);
    // Every cell again when a spec or the router's regions changed since.
    let all_cells = rec
        .reader
        .router_versions()?
        .iter()
        .any(|(s, _)| *s >= from)
        || rec.jobs.iter().any(|(_, j)| {
            rec.reader
                .job_versions(*j)
                .is_ok_and(|v| v.iter().any(|(s, _)| *s >= from))
        });
    let d = super::export::derived::changed_since(&d, rec, from, all_cells)?;
    let mut c = 0usize;
    let mut n = 0;
    n += server
        .insert(
            db_name,
            "executions_latest",
            json_rows(&d.executions_latest, ANALYSIS[0].2, &mut c),
        )
        .await?;
    n += server
        .insert(db_name, "cells", json_rows(&d.cells, ANALYSIS[1].2, &mut c))
        .await?;
    let findings: Vec<Value> = super::export::tables::FindingRow::all(rec, id, &report)
        .into_iter()
        .map(|f| {
            let mut v = serde_json::to_value(&f).unwrap_or_default();
            v["finding_key"] = Value::from(format!(
                "{}|{}|{}|{}|{}|{}",
                f.kind,
                f.job.as_deref().unwrap_or(""),
                f.source.as_deref().unwrap_or(""),
                f.provider.as_deref().unwrap_or(""),
                u8::from(f.problem),
                f.first_seen_seq.map_or(String::new(), |s| s.to_string())
            ));
            v["as_of_seq"] = Value::from(last);
            v
        })
        .collect();
    let events: Vec<Value> = super::export::tables::events(rec, id)?
        .into_iter()
        .map(|e| {
            let mut v = serde_json::to_value(&e).unwrap_or_default();
            v["ident"] = Value::from(if e.kind == "rows_stopped" {
                e.job.clone().unwrap_or_default()
            } else {
                e.message.clone()
            });
            v["as_of_seq"] = Value::from(last);
            v
        })
        .collect();
    n += server
        .insert(db_name, "events", json_rows(&events, ANALYSIS[4].2, &mut c))
        .await?;
    n += server
        .insert(
            db_name,
            "findings",
            json_rows(&findings, ANALYSIS[3].2, &mut c),
        )
        .await?;
    // Answers last: the mark that this version was shipped whole.
    n += server
        .insert(
            db_name,
            "answers",
            json_rows(&d.answers, ANALYSIS[2].2, &mut c),
        )
        .await?;
    Ok((n, foreign))
}

async fn ship_recording_row(
    server: &Server,
    db_name: &str,
    rec: &Recording,
    id: &str,
    path: &Path,
) -> Result<(), Error> {
    let s = rec.sessions.last();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let v = serde_json::json!({
        "recording_id": id,
        "source": term(&path.display().to_string()),
        "label": s.and_then(|s| s.label.clone()),
        "runner": s.and_then(|s| s.runner.clone()),
        "router": s.and_then(|s| s.router.clone()),
        "tool_version": env!("CARGO_PKG_VERSION"),
        "first_at": datetime(rec.start_us()).0,
        "shipped_at": datetime(now).0,
    });
    server.insert(db_name, "recordings", vec![v]).await?;
    Ok(())
}

/// Makes the database and every table when absent.
pub async fn ensure_tables(server: &Server, d: &str) -> Result<(), Error> {
    server
        .query(&format!("CREATE DATABASE IF NOT EXISTS {d}"), Vec::new())
        .await?;
    server
        .query(
            &create_sql(d, "recordings", "recording_id", RECORDINGS, None),
            Vec::new(),
        )
        .await?;
    for (name, order, cols) in TABLES {
        server
            .query(&create_sql(d, name, order, cols, None), Vec::new())
            .await?;
    }
    for (name, order, cols) in ANALYSIS {
        let version = cols
            .iter()
            .any(|(c, _)| *c == "as_of_seq")
            .then_some("as_of_seq");
        server
            .query(&create_sql(d, name, order, cols, version), Vec::new())
            .await?;
    }
    // A table made by another blackbox version (other columns) is said, not written into.
    for (name, cols) in TABLES
        .iter()
        .chain(ANALYSIS.iter())
        .map(|(n, _, c)| (*n, *c))
        .chain([("recordings", RECORDINGS)])
    {
        let text = server
            .query(
                &format!("DESCRIBE TABLE {d}.{name} FORMAT TabSeparated"),
                Vec::new(),
            )
            .await?;
        let have: Vec<&str> = text.lines().filter_map(|l| l.split('\t').next()).collect();
        let missing: Vec<&str> = cols
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !have.contains(c))
            .collect();
        if !missing.is_empty() {
            return Err(Error::failure(format!(
                "the table {d}.{name} on the server has other columns than this blackbox writes (made by another version; it lacks {}): ship into another --database, or drop that table",
                missing.join(", ")
            )));
        }
    }
    Ok(())
}
