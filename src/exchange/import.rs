//! `blackbox import`: captures made without the recorder (saved `curl` answers, a browser's
//! HAR file) into a recording, as a new session.

use super::capture::{self, Capture};
use super::error::Error;
use crate::present::safe::term;
use crate::store::writer::Poll;
use crate::store::{Sharing, Writer};
use std::path::{Path, PathBuf};

/// What to import: saved answers (`files` with one `url`, at `at` or their own times), a list
/// of them (`manifest`: lines of `URL FILE [TIME]`), browsers' HAR files.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub files: Vec<PathBuf>,
    pub url: Option<reqwest::Url>,
    pub at: Option<i64>,
    pub manifest: Option<PathBuf>,
    pub hars: Vec<PathBuf>,
    pub label: Option<String>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    pub captures: usize,
    pub snapshots: usize,
    pub first_seq: u64,
    pub last_seq: u64,
    /// HAR entries not ours (not a GET to a runner or router path).
    pub not_ours: usize,
    /// Entries of ours that could not be read, each with why.
    pub unreadable: Vec<String>,
    /// Snapshots moved to just after the recording's last (same second), said.
    pub moved: Option<String>,
}

/// An RFC 3339 time, as `import --at` and a capture list give it.
pub fn time(s: &str) -> Result<i64, Error> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.timestamp_micros())
        .map_err(|e| Error::usage(format!("{:?} is not an RFC 3339 time: {e}", term(s))))
}

/// The largest file read: a saved body as large as the recorder's default `--max-body`; a HAR
/// file, which holds many bodies, twice that (reading one takes about 16 times its size in
/// memory: the JSON tree and the bodies).
const MAX_FILE: u64 = 64 << 20;
const MAX_HAR: u64 = 2 * MAX_FILE;

/// `-` for a file: standard input.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A file's bytes (at most `max`) and its modification time; `-` reads standard input, which
/// has no time of its own (its capture needs `--at`, a manifest's time or a `Date:` header).
fn read(path: &Path, max: u64) -> Result<(Vec<u8>, Option<i64>), Error> {
    use std::io::Read;
    let shown = term(&path.display().to_string()).into_owned();
    let failed = |e: &dyn std::fmt::Display| Error::failure(format!("cannot read {shown}: {e}"));
    if is_stdin(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::failure(format!("cannot read standard input: {e}")))?;
        if bytes.len() as u64 > max {
            return Err(Error::failure(format!(
                "cannot read standard input: it is larger than {}",
                crate::present::text::size(max)
            )));
        }
        return Ok((bytes, None));
    }
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
            crate::present::text::size(max)
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
    if is_stdin(p) {
        return "standard input".into();
    }
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The captures, how many HAR entries were not ours, and the entries of ours not readable.
type Gathered = (Vec<Capture>, usize, Vec<String>);

fn gather(args: &Request) -> Result<Gathered, Error> {
    let mut caps = Vec::new();
    let mut skipped = 0;
    let mut unreadable = Vec::new();
    let dashes = args
        .files
        .iter()
        .chain(&args.hars)
        .chain(&args.manifest)
        .filter(|p| is_stdin(p))
        .count();
    if dashes > 1 {
        return Err(Error::usage(
            "`-` (standard input) is given more than once: it can be read only once",
        ));
    }
    if !args.files.is_empty() {
        let url = args
            .url
            .as_ref()
            .ok_or_else(|| Error::usage("a saved FILE needs --url (or use --manifest)"))?;
        if args.at.is_some() && args.files.len() > 1 {
            return Err(Error::usage(
                "--at is for one FILE; give many with --manifest (a time per line)",
            ));
        }
        let at = args.at;
        for f in &args.files {
            let (bytes, mtime) = read(f, MAX_FILE)?;
            caps.push(
                capture::from_file(&name(f), &bytes, url, at, mtime).map_err(Error::failure)?,
            );
        }
    } else if args.url.is_some() || args.at.is_some() {
        return Err(Error::usage("--url and --at go with a FILE"));
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
                Error::usage(format!(
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
            let url = crate::redact::parse_http_url(url).map_err(|e| {
                Error::usage(format!(
                    "{} line {}: {e}",
                    term(&list.display().to_string()),
                    n + 1
                ))
            })?;
            let path = dir.join(file);
            let (bytes, mtime) = read(&path, MAX_FILE)?;
            caps.push(
                capture::from_file(&name(&path), &bytes, &url, at, mtime)
                    .map_err(Error::failure)?,
            );
        }
    }
    for h in &args.hars {
        let (bytes, _) = read(h, MAX_HAR)?;
        let har = capture::from_har(&name(h), &bytes).map_err(Error::failure)?;
        caps.extend(har.captures);
        skipped += har.not_ours;
        unreadable.extend(har.unreadable);
    }
    if caps.is_empty() && !unreadable.is_empty() {
        return Err(Error::failure(format!(
            "nothing importable: {}",
            crate::present::text::list(unreadable.iter().map(|u| term(u).into_owned()), 3)
        )));
    }
    if caps.is_empty() && !args.hars.is_empty() {
        return Err(Error::failure(
            "nothing to import: the HAR files hold no GET to a runner or router path",
        ));
    }
    if caps.is_empty() {
        return Err(Error::usage(
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

/// Imports the captures `req` names into the recording at `db` (made when absent), as a new
/// session.
pub fn import(req: &Request, db: &Path) -> Result<Imported, Error> {
    let (mut caps, skipped, unreadable) = gather(req)?;
    capture::settle_health(&mut caps);
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
                return Err(Error::usage(format!(
                    "the captures start at {}, before the recording's last snapshot ({}): a \
                     recording runs forward in time; captures of one moment go in together \
                     (one --manifest LIST of URL FILE [TIME] lines), older ones into a new \
                     recording (--db OTHER.redb)",
                    crate::present::text::date_time(p.started_at),
                    crate::present::text::date_time(last)
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
            crate::present::text::plural(moved.len() as u64, "snapshot", "snapshots")
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
        label: Some(req.label.clone().unwrap_or_else(|| "import".into())),
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
    let mut rows = crate::beacon::RowCache::default();
    for p in &polls {
        let (s, _) = w.ingest_with(p, &mut rows)?;
        first.get_or_insert(s.seq);
        last = s.seq;
    }
    Ok(Imported {
        captures: caps.len(),
        snapshots: polls.len(),
        first_seq: first.unwrap_or(0),
        last_seq: last,
        not_ours: skipped,
        unreadable,
        moved: note_moved,
    })
}
