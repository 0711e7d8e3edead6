//! `blackbox note`: an annotation of a recording, also while a recorder holds it.

use super::args::parse_duration;
use super::error::{CliError, CmdResult};
use super::result::said;
use crate::analysis::Selector;
use crate::present::safe::term;
use crate::store::notes::{self, NewNote};
use crate::store::{StoreError, Writer};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Add a note to a recording ("deploy of runner 5442b72 started").
///
/// Notes appear in `snapshots`, the timeline, the report and its page. With --mark the window
/// before the note (e.g. the last 2 h) is kept by retention (`record --retain/--max-size`).
/// When a recorder holds the file, the note goes to its inbox (`<db>.inbox/`) and the recorder
/// takes it in before its next snapshot. On a finished recording (no recorder holds it) a note
/// must fall within it or at most 10 minutes after its last snapshot.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The note's text (at most 4096 characters kept).
    #[arg(value_name = "TEXT")]
    pub text: String,
    /// When it happened: an RFC 3339 time, +90s from the first snapshot, or a snapshot (17,
    /// first, last, -3). Default: now.
    #[arg(long, allow_hyphen_values = true, value_name = "WHEN")]
    pub at: Option<Selector>,
    /// Keep this much of the recording before the note from being pruned (e.g. 2h).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub mark: Option<Duration>,
    /// Say what was noted as JSON: `{at, text, taken_in}` (`taken_in`: false while the
    /// recorder holding the file has not taken it in yet).
    #[arg(long)]
    pub json: bool,
}

/// How far after a finished recording's last snapshot a note may fall.
const AFTER_END_US: i64 = 10 * 60 * 1_000_000;

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The note's time: a time as given, anything else through the recording's snapshots.
fn when(sel: &Option<Selector>, db: &Path) -> Result<i64, CliError> {
    match sel {
        None => Ok(now_us()),
        Some(Selector::At(t)) => Ok(*t),
        Some(s) => {
            let (_d, rec) = super::open::open_recording(db)?;
            if let Selector::Offset(o) = s {
                return Ok(rec.start_us() + o);
            }
            let seq = rec.resolve(s)?;
            Ok(rec.info(seq).map_or(0, |i| i.started_at))
        }
    }
}

/// The note as `--json` says it.
fn noted(n: &NewNote, taken_in: bool) -> serde_json::Value {
    serde_json::json!({
        "at": crate::present::text::date_time(n.at),
        "text": n.text,
        "mark_from": n.mark_from.map(crate::present::text::date_time),
        "taken_in": taken_in,
    })
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    if args.text.trim().is_empty() {
        return Err(CliError::usage("the note is empty"));
    }
    if !db.exists() {
        return Err(StoreError::Missing {
            path: db.to_path_buf(),
        }
        .into());
    }
    let at = when(&args.at, db)?;
    let note = NewNote {
        at,
        text: args.text.clone(),
        mark_from: args.mark.map(|d| at - d.as_micros() as i64),
        mark_to: args.mark.map(|_| at),
        created_at: now_us(),
    };
    // The rule the recorder holds inbox notes to.
    if !note.valid() {
        return Err(CliError::usage(
            "a note's time (and its marked window) must lie between 1970 and 9999",
        ));
    }
    // No recorder holds the file: it is finished, and a note far past its end is most likely
    // a mistake (a time meant inside it, or no --at days later). Decided before anything
    // opens it for writing.
    // A bundle is never written to: said before any other rule.
    if crate::store::is_bundle(db)? {
        return Err(StoreError::Sealed {
            path: db.to_path_buf(),
        }
        .into());
    }
    let last = crate::store::last_started_at(db).ok().flatten();
    if let Some(last) = last
        && at > last + AFTER_END_US
        && !crate::store::held_elsewhere(db)
    {
        return Err(CliError::usage(format!(
            "{} is {} after the recording's last snapshot ({}); a note on a finished recording must fall within it or at most {} after it: give --at a time inside it (an RFC 3339 time, +90s from the start, or a snapshot)",
            match &args.at {
                Some(_) => format!("--at {}", crate::present::text::date_time(at)),
                None => format!("now ({}, no --at)", crate::present::text::date_time(at)),
            },
            crate::duration::human(at - last),
            crate::present::text::date_time(last),
            crate::duration::human(AFTER_END_US)
        )));
    }
    match Writer::try_open(db) {
        Ok(mut w) => {
            // Earlier notes waiting for a recorder that is gone go in first.
            let (_, bad) = w.take_inbox()?;
            for b in bad {
                super::record::say(&format!("note: {}", term(&b)));
            }
            w.add_notes(std::slice::from_ref(&note))?;
            said(
                out,
                args.json,
                &format!("noted at {}", crate::present::text::date_time(at)),
                noted(&note, true),
            )?;
        }
        Err(StoreError::Locked { .. }) => {
            let file = notes::post(db, &note).map_err(|e| {
                CliError::failure(format!(
                    "a recorder holds {} and its inbox cannot be written: {e}",
                    term(&db.display().to_string())
                ))
            })?;
            // Wait a little for the recorder to take it in.
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while file.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let rejected = file.with_extension("rejected");
            if rejected.exists() {
                return Err(CliError::failure(format!(
                    "the recorder holding the file did not take the note in (set aside as {})",
                    term(&rejected.display().to_string())
                )));
            }
            let taken = !file.exists();
            let text = if taken {
                format!(
                    "noted at {}; taken in by the recorder holding the file",
                    crate::present::text::date_time(at)
                )
            } else {
                format!(
                    "noted at {}; the recorder holding the file has not taken it in yet: it will before its next snapshot (or the next record or note on the file will)",
                    crate::present::text::date_time(at)
                )
            };
            said(out, args.json, &text, noted(&note, taken))?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
