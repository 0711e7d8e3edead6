//! `blackbox import`: captures made without the recorder (saved `curl` answers, a browser's
//! HAR file) into a recording, as a new session.

use super::safe::term;
use super::{CliError, CmdResult};
use crate::capture::{self, Capture};
use crate::normalise::normalise;
use crate::store::writer::Poll;
use crate::store::{Sharing, Writer};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Import captures made without the recorder into a recording (new or existing).
///
/// Saved answers: `import --url URL [--at TIME] FILE` for one, or `import --manifest LIST` for
/// many (each line `URL FILE [TIME]`; `#` starts a comment; FILE relative to the list). A file
/// saved with `curl -i` has its status and headers read; its time is --at or the manifest's,
/// else its `Date:` header, else the file's modification time. HAR files (`--har`, repeatable):
/// every GET to a runner or router path, at its recorded time, with status, latency and body.
/// Captures within a second of each other become one snapshot. The report says what imported
/// data cannot show.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Saved response bodies (with --url, one file).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The URL the file was fetched from.
    #[arg(long, value_parser = super::args::parse_base_url, value_name = "URL")]
    pub url: Option<reqwest::Url>,
    /// When it was fetched (RFC 3339); only with one FILE.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// A list of captures: lines of `URL FILE [TIME]`.
    #[arg(long, value_name = "LIST")]
    pub manifest: Option<PathBuf>,
    /// A HAR file saved by a browser (repeatable).
    #[arg(long = "har", value_name = "FILE")]
    pub hars: Vec<PathBuf>,
    /// A note stored with the session.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
}

fn time(s: &str) -> Result<i64, CliError> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.timestamp_micros())
        .map_err(|e| CliError::usage(format!("{:?} is not an RFC 3339 time: {e}", term(s))))
}

/// The largest file read: a saved body as large as the recorder's default `--max-body`; a HAR
/// file, which holds many bodies, twice that (reading one takes about 16 times its size in
/// memory: the JSON tree and the bodies).
const MAX_FILE: u64 = 64 << 20;
const MAX_HAR: u64 = 2 * MAX_FILE;

fn read(path: &Path, max: u64) -> Result<(Vec<u8>, Option<i64>), CliError> {
    use std::io::Read;
    let shown = term(&path.display().to_string()).into_owned();
    let failed = |e: &dyn std::fmt::Display| CliError::failure(format!("cannot read {shown}: {e}"));
    let meta = std::fs::metadata(path).map_err(|e| failed(&e))?;
    if !meta.is_file() {
        return Err(failed(&"it is not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(|e| failed(&e))?;
    if bytes.len() as u64 > max {
        return Err(failed(&format!(
            "it is larger than {}",
            super::text::size(max)
        )));
    }
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_micros() as i64);
    Ok((bytes, mtime))
}

fn name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The captures, how many HAR entries were not ours, and the entries of ours not readable.
type Gathered = (Vec<Capture>, usize, Vec<String>);

fn gather(args: &Args) -> Result<Gathered, CliError> {
    let mut caps = Vec::new();
    let mut skipped = 0;
    let mut unreadable = Vec::new();
    if !args.files.is_empty() {
        let url = args
            .url
            .as_ref()
            .ok_or_else(|| CliError::usage("a saved FILE needs --url (or use --manifest)"))?;
        if args.at.is_some() && args.files.len() > 1 {
            return Err(CliError::usage(
                "--at is for one FILE; give many with --manifest (a time per line)",
            ));
        }
        let at = args.at.as_deref().map(time).transpose()?;
        for f in &args.files {
            let (bytes, mtime) = read(f, MAX_FILE)?;
            caps.push(
                capture::from_file(&name(f), &bytes, url, at, mtime).map_err(CliError::failure)?,
            );
        }
    } else if args.url.is_some() || args.at.is_some() {
        return Err(CliError::usage("--url and --at go with a FILE"));
    }
    if let Some(list) = &args.manifest {
        let (text, _) = read(list, MAX_FILE)?;
        let dir = list.parent().unwrap_or(Path::new("."));
        for (n, line) in String::from_utf8_lossy(&text).lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let w: Vec<&str> = line.split_whitespace().collect();
            let bad = || {
                CliError::usage(format!(
                    "{} line {}: expected URL FILE [TIME]",
                    term(&list.display().to_string()),
                    n + 1
                ))
            };
            let (url, file, at) = match w.as_slice() {
                [u, f] => (*u, *f, None),
                [u, f, t] => (*u, *f, Some(time(t)?)),
                _ => return Err(bad()),
            };
            let url = super::args::parse_base_url(url).map_err(|e| {
                CliError::usage(format!(
                    "{} line {}: {e}",
                    term(&list.display().to_string()),
                    n + 1
                ))
            })?;
            let path = dir.join(file);
            let (bytes, mtime) = read(&path, MAX_FILE)?;
            caps.push(
                capture::from_file(&name(&path), &bytes, &url, at, mtime)
                    .map_err(CliError::failure)?,
            );
        }
    }
    for h in &args.hars {
        let (bytes, _) = read(h, MAX_HAR)?;
        let har = capture::from_har(&name(h), &bytes).map_err(CliError::failure)?;
        caps.extend(har.captures);
        skipped += har.not_ours;
        unreadable.extend(har.unreadable);
    }
    if caps.is_empty() && !unreadable.is_empty() {
        return Err(CliError::failure(format!(
            "nothing importable: {}",
            super::text::list(unreadable.iter().map(|u| term(u).into_owned()), 3)
        )));
    }
    if caps.is_empty() && !args.hars.is_empty() {
        return Err(CliError::failure(
            "nothing to import: the HAR files hold no GET to a runner or router path",
        ));
    }
    if caps.is_empty() {
        return Err(CliError::usage(
            "nothing to import: give FILE with --url, --manifest LIST or --har FILE",
        ));
    }
    Ok((caps, skipped, unreadable))
}

/// Two answers of one source: the same kind and job (an `--endpoint`-like capture: the same
/// URL).
fn same_source(a: &crate::fetch::Fetched, b: &crate::fetch::Fetched) -> bool {
    a.kind == b.kind
        && a.job == b.job
        && (a.kind != crate::fetch::SourceKind::Custom || a.url == b.url)
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (mut caps, skipped, unreadable) = gather(&args)?;
    caps.sort_by_key(|c| c.at_us);
    // Captures within a second of the first of a group are one snapshot, unless one is a
    // second answer of the same source (the same endpoint of the same job, whatever its
    // query): then it is a later state and starts a snapshot of its own.
    let mut polls: Vec<Poll> = Vec::new();
    for c in &caps {
        match polls.last_mut() {
            Some(p)
                if c.at_us - p.started_at < 1_000_000
                    && !p.fetches.iter().any(|f| same_source(f, &c.fetched)) =>
            {
                p.ended_at = p.ended_at.max(c.at_us + c.fetched.latency_us as i64);
                p.fetches.push(c.fetched.clone());
            }
            _ => polls.push(Poll {
                started_at: c.at_us,
                ended_at: c.at_us + c.fetched.latency_us as i64,
                fetches: vec![c.fetched.clone()],
            }),
        }
    }
    // Checked before the file is opened for writing (which would mark it as written).
    // (A file that cannot be read here is refused by the writer's own checks, with its cause.)
    // One rule for captures of the same moment imported one call at a time: a `Date` header
    // has whole seconds, so a capture dated within the second of the last snapshot (and not
    // before it) follows that snapshot, its time moved to just after it and said so; one
    // dated earlier is refused.
    let last = crate::store::last_started_at(db).ok().flatten();
    let mut moved = Vec::new();
    if let Some(last) = last {
        let second = last.div_euclid(1_000_000);
        for p in polls.iter_mut() {
            if p.started_at > last {
                break;
            }
            if p.started_at.div_euclid(1_000_000) != second {
                return Err(CliError::usage(format!(
                    "the captures start at {}, before the recording's last snapshot ({}): a \
                     recording runs forward in time; captures of one moment go in together \
                     (one --manifest LIST of URL FILE [TIME] lines), older ones into a new \
                     recording (--db OTHER.redb)",
                    super::text::date_time(p.started_at),
                    super::text::date_time(last)
                )));
            }
            let shift = last + 1 - p.started_at;
            p.started_at += shift;
            p.ended_at += shift;
            moved.push(p.started_at);
        }
        // Moved polls keep their order; the next ones stay after them.
        for k in 1..polls.len() {
            if polls[k].started_at <= polls[k - 1].started_at {
                let shift = polls[k - 1].started_at + 1 - polls[k].started_at;
                polls[k].started_at += shift;
                polls[k].ended_at += shift;
            }
        }
    }
    let note_moved = (!moved.is_empty()).then(|| {
        format!(
            "{} dated within the second of the recording's last snapshot (a Date header has whole seconds) placed just after it",
            super::text::plural(moved.len() as u64, "snapshot", "snapshots")
        )
    });
    let mut w = Writer::open_with(db, Sharing::Shared)?;
    let mut jobs: Vec<String> = caps.iter().filter_map(|c| c.fetched.job.clone()).collect();
    jobs.sort();
    jobs.dedup();
    w.begin_session(crate::store::schema::SessionRec {
        started_at: polls.first().map_or(0, |p| p.started_at),
        first_seq: 0,
        runner: None,
        router: None,
        jobs,
        interval_ms: 0,
        timeout_ms: 0,
        max_runner_rpm: 0,
        label: Some(args.label.clone().unwrap_or_else(|| "import".into())),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        all_jobs: false,
        endpoints: Vec::new(),
        retain_us: None,
        max_size: None,
        origin: caps
            .iter()
            .map(|c| c.origin.clone())
            .chain(unreadable.iter().cloned())
            .chain(note_moved.clone())
            .collect(),
    });
    let (mut first, mut last) = (None, 0);
    for p in &polls {
        let obs = normalise(&p.fetches);
        let s = w.ingest(p, &obs)?;
        first.get_or_insert(s.seq);
        last = s.seq;
    }
    writeln!(
        out,
        "imported {} into {} (seq {}-{}){}",
        super::text::plural(caps.len() as u64, "capture", "captures"),
        super::text::plural(polls.len() as u64, "snapshot", "snapshots"),
        first.unwrap_or(0),
        last,
        if skipped > 0 {
            format!(
                "; {} of the HAR files left out (not a GET to a runner or router path)",
                super::text::plural(skipped as u64, "entry", "entries")
            )
        } else {
            String::new()
        }
    )?;
    for u in &unreadable {
        writeln!(out, "{}", term(u))?;
    }
    if let Some(n) = note_moved {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}
