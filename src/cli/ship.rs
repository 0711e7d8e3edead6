//! `blackbox ship`: a recording into ClickHouse (`exchange::ship` does it), once or following a
//! live recording.

use super::error::{CliError, CmdResult};
use crate::exchange::ship::{self, Server, runs};
use crate::present::safe::term;
use crate::present::say;
use crate::present::text::{grouped, plural};
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
    /// Keep shipping new snapshots as they commit (every 2 s), until Ctrl-C or until no
    /// recorder has held the file for --follow-grace.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: stop once no process has held the file (a recorder) for this long.
    #[arg(long, default_value = "60s", value_parser = super::args::parse_duration, value_name = "DURATION")]
    pub follow_grace: Duration,
    /// Snapshots per batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000), value_name = "N")]
    pub batch: u64,
    /// Say what was shipped as JSON: `{server, database, snapshots, rows, seconds, had, has,
    /// foreign, clamped}` (`had`/`has`: the seqs the server held before and after, as
    /// `[from, to]` runs);
    /// with --follow, later passes are said on stderr.
    #[arg(long)]
    pub json: bool,
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

/// Seqs as runs, `[[from, to], ...]`.
fn pairs(seqs: &std::collections::BTreeSet<u64>) -> Vec<[u64; 2]> {
    let mut out: Vec<[u64; 2]> = Vec::new();
    for &s in seqs {
        match out.last_mut() {
            Some([_, b]) if *b + 1 == s => *b = s,
            _ => out.push([s, s]),
        }
    }
    out
}

/// What one ship did, as sentences.
fn said_text(
    out: &mut dyn Write,
    s: &ship::Shipped,
    shown: &str,
    d: &str,
    secs: f64,
) -> std::io::Result<()> {
    let held = |h: &std::collections::BTreeSet<u64>| {
        if h.is_empty() {
            "none".to_string()
        } else {
            format!("seq {}", runs(h))
        }
    };
    writeln!(
        out,
        "shipped {} ({} rows) to {} database {d} in {secs:.1}s ({} rows/s); the server had {} of this recording ({}), now {} ({})",
        plural(s.snapshots as u64, "snapshot", "snapshots"),
        grouped(s.rows as u64),
        term(shown),
        grouped((s.rows as f64 / secs.max(1e-6)).round() as u64),
        plural(s.had.len() as u64, "snapshot", "snapshots"),
        held(&s.had),
        grouped(s.has.len() as u64),
        held(&s.has),
    )?;
    if !s.foreign.is_empty() {
        writeln!(
            out,
            "note: the server held analysis rows of this recording as of snapshots it never had ({}): planted or from another copy; removed, so that they freeze nothing",
            runs(&s.foreign)
        )?;
    }
    if s.clamped > 0 {
        writeln!(
            out,
            "note: {} had times outside ClickHouse's DateTime (1970 to 2105): their taken_at is clamped into it, their taken_at_us exact",
            plural(s.clamped as u64, "row", "rows")
        )?;
    }
    Ok(())
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    // A wrong file is an error before anything is sent. A file not closed cleanly is said
    // once (here, or on the pass that first finds it so), never on every pass.
    let (first, _) = super::open::open_recording(db)?;
    let mut said_recovered = first.recovered();
    drop(first);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let x = CliError::from_exchange;
    let server = Server::new(&args.clickhouse).map_err(x)?;
    let d = &args.database;
    rt.block_on(async {
        ship::ensure_tables(&server, d).await.map_err(x)?;
        let start = Instant::now();
        let s = ship::ship_once(&server, d, db, args.batch).await.map_err(x)?;
        let secs = start.elapsed().as_secs_f64();
        if args.json {
            let v = serde_json::json!({
                "server": server.shown,
                "database": d,
                "snapshots": s.snapshots,
                "rows": s.rows,
                "seconds": secs,
                "had": pairs(&s.had),
                "has": pairs(&s.has),
                "foreign": pairs(&s.foreign),
                "clamped": s.clamped,
            });
            super::result::said(out, true, "", v)?;
        } else {
            said_text(out, &s, &server.shown, d, secs)?;
        }
        if !args.follow {
            return Ok(());
        }
        let stop = crate::record::shutdown_signal();
        tokio::pin!(stop);
        // The recording has ended when no recorder has held the file for the grace.
        let grace = args.follow_grace;
        let mut unheld_since = (!crate::store::held_elsewhere(db)).then(Instant::now);
        if unheld_since.is_some() {
            say(&format!(
                "note: no recorder holds {} now; --follow stops if none does within {}",
                term(&db.display().to_string()),
                crate::duration::human(grace.as_micros() as i64)
            ));
        }
        loop {
            match (crate::store::held_elsewhere(db), unheld_since) {
                (true, _) => unheld_since = None,
                (false, None) => unheld_since = Some(Instant::now()),
                (false, Some(t)) if t.elapsed() >= grace => {
                    // One last pass: whatever was committed last is shipped.
                    ship::ship_once(&server, d, db, args.batch).await.map_err(x)?;
                    say(&format!(
                        "the recording has ended (no recorder has held {} for {}): everything is shipped, stopped following",
                        term(&db.display().to_string()),
                        crate::duration::human(grace.as_micros() as i64)
                    ));
                    break;
                }
                (false, Some(_)) => {}
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
            match ship::ship_once(&server, d, db, args.batch).await {
                Ok(s) => {
                    if s.recovered && !said_recovered {
                        said_recovered = true;
                        say(&format!(
                            "note: {} is no longer closed cleanly (its recorder was killed?); reading repaired copies, the file is untouched",
                            term(&db.display().to_string())
                        ));
                    }
                    if s.snapshots > 0 {
                        say(&format!(
                            "shipped {} more (the server now has seq {})",
                            plural(s.snapshots as u64, "snapshot", "snapshots"),
                            runs(&s.has)
                        ));
                    }
                }
                // The server or the file may be away for a moment: said, and tried again.
                Err(e) => say(&format!(
                    "note: {} (trying again)",
                    term(&super::error::render_error(&x(e)))
                )),
            }
        }
        Ok(())
    })
}
