//! `blackbox ship`: a recording into ClickHouse over its HTTP interface, for the fleet view
//! (several recorders into one server). The tables are the export's (`docs/export.md`) with a
//! `DateTime('UTC')` `taken_at` beside the µs columns; they are `ReplacingMergeTree`s ordered by
//! recording id and time, created when absent. Shipping is idempotent: only snapshots after the
//! last one the server has for this recording are sent, and the snapshot rows go last, so an
//! interrupted ship is completed by the next one (rows sent twice then collapse in the
//! replacing merge: query with `FINAL`). The SQL is what ClickHouse 18.16 accepts, so newer
//! servers accept it too (no `DateTime64`, no `LowCardinality`).

use super::export::tables::{self, Tables};
use super::safe::term;
use super::{CliError, CmdResult};
use crate::analysis::Recording;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Ship a recording into ClickHouse (the fleet view); with --follow, keep shipping it live.
///
/// Creates the database and tables when absent; sends only the snapshots the server does not
/// have yet for this recording, so shipping twice leaves one copy. Credentials in the URL
/// (`http://user:password@host:8123`) are sent as HTTP basic auth and never printed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The ClickHouse HTTP interface, e.g. http://127.0.0.1:8123.
    #[arg(long, value_parser = super::args::parse_base_url, value_name = "URL")]
    pub clickhouse: reqwest::Url,
    /// The database to ship into (created when absent).
    #[arg(long, default_value = "blackbox", value_parser = parse_name, value_name = "NAME")]
    pub database: String,
    /// Keep shipping new snapshots as they commit (every 2 s) until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Snapshots per batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000), value_name = "N")]
    pub batch: u64,
}

fn parse_name(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{:?} is not a database name (letters, digits, '_')",
            term(s)
        ))
    }
}

/// (column, ClickHouse type).
type Columns = &'static [(&'static str, &'static str)];

/// (table, ORDER BY, columns); `taken_at` is made from `taken_at_us`.
const TABLES: [(&str, &str, Columns); 6] = [
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

fn datetime(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "1970-01-01 00:00:00".into())
}

/// A row as ClickHouse's JSONEachRow wants it: its columns, bools as 0/1, `taken_at` made.
fn row(v: Value, cols: &[(&str, &str)]) -> Value {
    let src = match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut out = Map::new();
    for (name, _) in cols {
        let x = if *name == "taken_at" {
            Value::String(datetime(
                src.get("taken_at_us").and_then(Value::as_i64).unwrap_or(0),
            ))
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

struct Server {
    client: reqwest::Client,
    base: reqwest::Url,
    user: Option<(String, Option<String>)>,
    /// The URL as printed: no credentials.
    shown: String,
}

impl Server {
    fn new(url: &reqwest::Url) -> Result<Server, CliError> {
        crate::source::install_crypto();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| CliError::failure(format!("cannot build the HTTP client: {e}")))?;
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
    async fn query(&self, sql: &str, body: Vec<u8>) -> Result<String, CliError> {
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
            |why: String| CliError::failure(format!("ClickHouse at {} {why}", term(&self.shown)));
        let res = req.send().await.map_err(|e| {
            failed(format!(
                "did not answer: {}",
                crate::record::error_chain(&e)
            ))
        })?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| failed(format!("answer cut off: {e}")))?;
        if !status.is_success() {
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>();
            return Err(failed(format!("refused ({status}): {}", term(&first))));
        }
        Ok(text)
    }

    async fn insert(&self, db: &str, table: &str, rows: Vec<Value>) -> Result<usize, CliError> {
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

fn create_sql(db: &str, table: &str, order: &str, cols: &[(&str, &str)]) -> String {
    let c: Vec<String> = cols.iter().map(|(n, t)| format!("{n} {t}")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.{table} ({}) ENGINE = ReplacingMergeTree() ORDER BY ({order})",
        c.join(", ")
    )
}

fn json_rows<T: serde::Serialize>(rows: &[T], cols: &[(&str, &str)]) -> Vec<Value> {
    rows.iter()
        .map(|r| row(serde_json::to_value(r).unwrap_or_default(), cols))
        .collect()
}

/// What one pass shipped.
struct Shipped {
    snapshots: usize,
    rows: usize,
    last: u64,
}

async fn ship_once(
    server: &Server,
    db_name: &str,
    path: &Path,
    batch: u64,
) -> Result<Shipped, CliError> {
    let (_d, rec) = super::open_recording(path)?;
    let id = tables::recording_id(&rec, &path.display().to_string())?;
    let have: u64 = server
        .query(
            &format!(
                "SELECT max(seq) FROM {db_name}.snapshots WHERE recording_id = '{}'",
                id.replace(['\'', '\\'], "")
            ),
            Vec::new(),
        )
        .await?
        .trim()
        .parse()
        .unwrap_or(0);
    let mut shipped = Shipped {
        snapshots: 0,
        rows: 0,
        last: have,
    };
    ship_recording_row(server, db_name, &rec, &id, path).await?;
    let last = rec.infos.last().map_or(0, |i| i.seq);
    let mut from = have + 1;
    while from <= last {
        let to = (from + batch - 1).min(last);
        let t: Tables = tables::tables(&rec, &id, from..=to, false)?;
        // Snapshots last: the mark of a batch shipped whole.
        for (name, _, cols) in TABLES.iter().skip(1) {
            let rows = match *name {
                "requests" => json_rows(&t.requests, cols),
                "executions" => json_rows(&t.executions, cols),
                "jobs" => json_rows(&t.jobs, cols),
                "router" => json_rows(&t.router, cols),
                _ => json_rows(&t.providers, cols),
            };
            shipped.rows += server.insert(db_name, name, rows).await?;
        }
        shipped.snapshots += t.snapshots.len();
        shipped.rows += server
            .insert(db_name, "snapshots", json_rows(&t.snapshots, TABLES[0].2))
            .await?;
        shipped.last = to;
        from = to + 1;
    }
    Ok(shipped)
}

async fn ship_recording_row(
    server: &Server,
    db_name: &str,
    rec: &Recording,
    id: &str,
    path: &Path,
) -> Result<(), CliError> {
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
        "first_at": datetime(rec.start_us()),
        "shipped_at": datetime(now),
    });
    server.insert(db_name, "recordings", vec![v]).await?;
    Ok(())
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    // A wrong file is an error before anything is sent.
    drop(super::open_recording(db)?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = Server::new(&args.clickhouse)?;
    let d = &args.database;
    rt.block_on(async {
        server
            .query(&format!("CREATE DATABASE IF NOT EXISTS {d}"), Vec::new())
            .await?;
        server
            .query(
                &create_sql(d, "recordings", "recording_id", RECORDINGS),
                Vec::new(),
            )
            .await?;
        for (name, order, cols) in TABLES {
            server
                .query(&create_sql(d, name, order, cols), Vec::new())
                .await?;
        }
        let start = Instant::now();
        let s = ship_once(&server, d, db, args.batch).await?;
        let secs = start.elapsed().as_secs_f64();
        writeln!(
            out,
            "shipped {} ({} rows) to {} database {d} in {secs:.1}s ({:.0} rows/s); the server has seq 1-{} of this recording",
            super::text::plural(s.snapshots as u64, "snapshot", "snapshots"),
            s.rows,
            term(&server.shown),
            s.rows as f64 / secs.max(1e-6),
            s.last
        )?;
        if !args.follow {
            return Ok(());
        }
        let stop = crate::record::shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
            match ship_once(&server, d, db, args.batch).await {
                Ok(s) if s.snapshots > 0 => super::record::say(&format!(
                    "shipped {} more (up to seq {})",
                    super::text::plural(s.snapshots as u64, "snapshot", "snapshots"),
                    s.last
                )),
                Ok(_) => {}
                // The server or the file may be away for a moment: said, and tried again.
                Err(e) => super::record::say(&format!(
                    "note: {} (trying again)",
                    term(&e.error.to_string())
                )),
            }
        }
        Ok(())
    })
}
