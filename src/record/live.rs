//! Findings while recording: after each committed snapshot the report is run on the recording
//! so far (`analysis::report`, the same judge `report` runs afterwards), and each of its
//! findings that begins or ends holding (`analysis::judge`) is kept as a row of the findings
//! table. Problems are also said: on the terminal, as a note, to the hook, in `/metrics`.
//!
//! As seen, when seen: a finding over a source's answers holds until an answer says otherwise;
//! a source not fetched (the budget) or failing leaves it as it was.
//!
//! Cost: one report of the recording so far per snapshot (its figure is in the README's
//! alerting section); what grows is the recording, bounded by `--retain`.

use crate::analysis::Recording;
use crate::analysis::judge::{Key, judge};
use crate::present::text::Ctx;
use crate::store::schema::FindingRec;
use serde::Serialize;
use std::collections::BTreeMap;

/// A problem finding that began or ended at a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Its row in the findings table.
    pub id: u64,
    pub kind: &'static str,
    pub job: Option<String>,
    pub source: Option<String>,
    pub provider: Option<String>,
    pub detail: Option<String>,
    /// `began` or `ended` (or `open`: still open when the recording stopped, in notes only).
    pub state: &'static str,
    pub seq: u64,
    /// The snapshot's start, µs since the epoch.
    pub at_us: i64,
    /// When it began (for `ended`: how long it lasted).
    pub since_seq: u64,
    pub since_us: i64,
    /// What it is now: as this snapshot's report says it (`began`), as the last snapshot at
    /// which it held (`ended`, `open`).
    pub message: String,
    /// What it was when it began.
    pub began_message: String,
}

impl Change {
    /// What it is about, in one string: job, source, provider (what is known of them).
    pub fn subject(&self) -> String {
        let parts: Vec<&str> = [&self.job, &self.source, &self.provider]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        parts.join(" ")
    }

    fn of(
        id: u64,
        r: &FindingRec,
        kind: &'static str,
        state: &'static str,
        seq: u64,
        at: i64,
    ) -> Self {
        Change {
            id,
            kind,
            job: r.job.clone(),
            source: r.source.clone(),
            provider: r.provider.clone(),
            detail: r.detail.clone(),
            state,
            seq,
            at_us: at,
            since_seq: r.began_seq,
            since_us: r.began_at,
            message: r.message.clone(),
            began_message: r.began_message.clone(),
        }
    }
}

/// How often the judge runs: after every snapshot while judging takes at most a fifth of the
/// interval; else after every k-th, k as small as keeps it within that (the recording so far
/// grows, and with it the report: a day of 50 jobs would otherwise hold polls back). A change
/// of cadence is said.
#[derive(Debug)]
pub struct Cadence {
    interval: std::time::Duration,
    every: u64,
    since: u64,
}

/// The share of the poll interval judging may take.
pub const JUDGE_SHARE: f64 = 0.2;

impl Cadence {
    pub fn new(interval: std::time::Duration) -> Self {
        Cadence {
            interval,
            every: 1,
            since: 0,
        }
    }

    /// Whether this snapshot is judged.
    pub fn due(&mut self) -> bool {
        self.since += 1;
        if self.since >= self.every {
            self.since = 0;
            return true;
        }
        false
    }

    /// Takes in how long a judging took; what to say when the cadence changes.
    pub fn took(&mut self, d: std::time::Duration) -> Option<String> {
        let budget = self.interval.as_secs_f64() * JUDGE_SHARE;
        if budget <= 0.0 {
            return None;
        }
        // Up as soon as judging needs it; down only with a margin (judging took under 70 % of
        // the share), so that a cost near the line does not flap between the two.
        let over = |share: f64| ((d.as_secs_f64() / (budget * share)).ceil() as u64).max(1);
        let every = if over(1.0) > self.every {
            over(1.0)
        } else if over(0.7) < self.every {
            over(0.7)
        } else {
            self.every
        };
        if every == self.every {
            return None;
        }
        self.every = every;
        Some(if every == 1 {
            "findings are judged after every snapshot again".to_string()
        } else {
            format!(
                "findings are judged after one snapshot in {every}: judging the recording so far takes {:.0} ms, more than a fifth of the interval (--retain keeps the recording, and the judging, bounded)",
                d.as_secs_f64() * 1e3
            )
        })
    }
}

/// What one snapshot's judging changed: rows to write, and the problems to say.
#[derive(Debug, Default)]
pub struct Step {
    pub rows: Vec<(u64, FindingRec)>,
    pub changes: Vec<Change>,
}

/// The findings open now, by key, with their rows.
#[derive(Debug, Default)]
pub struct Live {
    open: BTreeMap<Key, (u64, FindingRec)>,
    next_id: u64,
    /// When each open row was last written (its values now refresh at most every
    /// `REFRESH_US`: an age that grows every poll would rewrite it every poll).
    written: BTreeMap<u64, i64>,
}

/// How often an open finding's values now are written while it holds (its begin and end are
/// written when they happen, and every open row's last values when the recording stops).
pub const REFRESH_US: i64 = 60_000_000;

/// A kind's name as the judge knows it ('static), for a row read back.
fn kind_of(name: &str) -> Option<&'static str> {
    crate::analysis::findings::KINDS
        .iter()
        .find(|k| **k == name)
        .copied()
}

fn key_of(r: &FindingRec) -> Option<Key> {
    Some(Key {
        kind: kind_of(&r.kind)?,
        job: r.job.clone(),
        source: r.source.clone(),
        provider: r.provider.clone(),
        detail: r.detail.clone(),
        problem: r.problem,
    })
}

impl Live {
    /// Carries on from the rows an earlier session left open (a recorder restarted on its
    /// file): the next snapshot ends those that no longer hold, the others go on.
    pub fn resume(rows: Vec<(u64, FindingRec)>) -> Self {
        let next_id = rows.iter().map(|(id, _)| id + 1).max().unwrap_or(1);
        let open = rows
            .into_iter()
            .filter(|(_, r)| r.ended_seq.is_none())
            .filter_map(|(id, r)| Some((key_of(&r)?, (id, r))))
            .collect();
        Live {
            open,
            next_id,
            written: BTreeMap::new(),
        }
    }

    /// Every open row with its values at the last judging (written when the recording stops).
    pub fn open_rows(&self) -> Vec<(u64, FindingRec)> {
        self.open.values().cloned().collect()
    }

    /// Problems open now.
    pub fn open(&self) -> impl Iterator<Item = &Key> + '_ {
        self.open.keys().filter(|k| k.problem)
    }

    /// The problems still open, as of the snapshot `seq` at `at_us` (the recording's last):
    /// state `open`, so that a recording that stops never leaves one unsaid.
    pub fn still_open(&self, seq: u64, at_us: i64) -> Vec<Change> {
        self.open
            .iter()
            .filter(|(k, _)| k.problem)
            .map(|(k, (id, r))| Change::of(*id, r, k.kind, "open", seq, at_us))
            .collect()
    }

    /// Judges the recording as it is after its snapshot `seq` (its last).
    pub fn step(&mut self, rec: &Recording, seq: u64, at_us: i64) -> Result<Step, String> {
        let report = crate::analysis::report::build(rec, None).map_err(|e| e.to_string())?;
        let st = crate::present::render::text_style(Ctx::new(rec.start_us(), false));
        // Per key: the finding that holds (the first, in the report's order), if any does.
        let mut now: BTreeMap<Key, Option<usize>> = BTreeMap::new();
        for j in judge(&report, rec) {
            let e = now.entry(j.key).or_insert(None);
            if j.holds && e.is_none() {
                *e = Some(j.finding);
            }
        }
        let mut step = Step::default();
        let text = |i: usize| {
            let f = &report.findings[i];
            (
                crate::present::words::finding(f, &st),
                serde_json::to_string(f).unwrap_or_default(),
            )
        };
        for (key, holds) in &now {
            let Some(i) = holds else { continue };
            match self.open.get_mut(key) {
                Some((id, r)) => {
                    // Still holds: its value now (20 of 36 rows hidden, then 20 of 44).
                    let (message, values) = text(*i);
                    if values != r.values || message != r.message {
                        r.message = message;
                        r.values = values;
                        let last = self.written.get(id).copied().unwrap_or(i64::MIN);
                        if at_us.saturating_sub(last) >= REFRESH_US {
                            self.written.insert(*id, at_us);
                            step.rows.push((*id, r.clone()));
                        }
                    }
                }
                None => {
                    let (message, values) = text(*i);
                    let r = FindingRec {
                        kind: key.kind.to_string(),
                        job: key.job.clone(),
                        source: key.source.clone(),
                        provider: key.provider.clone(),
                        detail: key.detail.clone(),
                        problem: key.problem,
                        began_seq: seq,
                        began_at: at_us,
                        ended_seq: None,
                        ended_at: None,
                        began_message: message.clone(),
                        message,
                        began_values: values.clone(),
                        values,
                    };
                    let id = self.next_id.max(1);
                    self.next_id = id + 1;
                    if key.problem {
                        step.changes
                            .push(Change::of(id, &r, key.kind, "began", seq, at_us));
                    }
                    step.rows.push((id, r.clone()));
                    self.written.insert(id, at_us);
                    self.open.insert(key.clone(), (id, r));
                }
            }
        }
        let ended: Vec<Key> = self
            .open
            .keys()
            .filter(|k| !matches!(now.get(*k), Some(Some(_))))
            .cloned()
            .collect();
        for key in ended {
            if let Some((id, mut r)) = self.open.remove(&key) {
                self.written.remove(&id);
                r.ended_seq = Some(seq);
                r.ended_at = Some(at_us);
                if key.problem {
                    step.changes
                        .push(Change::of(id, &r, key.kind, "ended", seq, at_us));
                }
                step.rows.push((id, r));
            }
        }
        Ok(step)
    }
}

/// Changes as the notes they are kept as: a finding about several sources or providers (one
/// change each) is one note.
pub fn notes(changes: &[Change]) -> Vec<crate::store::notes::NewNote> {
    let mut out: Vec<crate::store::notes::NewNote> = Vec::new();
    for c in changes {
        let n = note(c);
        if !out.iter().any(|o| o.text == n.text && o.at == n.at) {
            out.push(n);
        }
    }
    out
}

/// A change as the note it is kept as, at its snapshot's start.
pub fn note(c: &Change) -> crate::store::notes::NewNote {
    crate::store::notes::NewNote {
        at: c.at_us,
        text: note_text(c),
        mark_from: None,
        mark_to: None,
        created_at: c.at_us,
    }
}

/// The text a change is kept as, so that it appears in `snapshots`, the timeline, the report
/// and the page: its value now, and when it began with its value then (when that differs).
/// Its first snapshot's time is given to the second (the seq is exact).
pub fn note_text(c: &Change) -> String {
    let began = || {
        let at = crate::beacon::format_micros(c.since_us.div_euclid(1_000_000) * 1_000_000);
        if c.began_message == c.message {
            format!("{}; first seen at snapshot {}, {at}", c.kind, c.since_seq)
        } else {
            format!(
                "{}; first seen at snapshot {}, {at}, when {}",
                c.kind, c.since_seq, c.began_message
            )
        }
    };
    match c.state {
        "began" => format!("finding began: {} ({})", c.message, c.kind),
        "open" => format!(
            "finding still open when the recording stopped: {} ({})",
            c.message,
            began()
        ),
        _ => format!("finding ended: last {} ({})", c.message, began()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(state: &'static str, message: &str, began: &str) -> Change {
        Change {
            id: 1,
            kind: "default_view_truncated",
            job: Some("j".into()),
            source: None,
            provider: None,
            detail: None,
            state,
            seq: 9,
            at_us: 9_000_000,
            since_seq: 4,
            since_us: 4_500_000,
            message: message.into(),
            began_message: began.into(),
        }
    }

    /// Judging within a fifth of the interval runs every snapshot; slower, every k-th, and
    /// back to every snapshot when it is fast again; each change said once.
    #[test]
    fn the_judge_keeps_within_a_fifth_of_the_interval() {
        let mut c = Cadence::new(std::time::Duration::from_secs(5));
        assert!(c.due());
        assert_eq!(c.took(std::time::Duration::from_millis(900)), None);
        assert!(c.due());
        let said = c.took(std::time::Duration::from_millis(2500)).unwrap();
        assert!(said.contains("one snapshot in 3"), "{said}");
        assert_eq!(
            (0..6).map(|_| c.due()).collect::<Vec<_>>(),
            [false, false, true, false, false, true]
        );
        assert_eq!(c.took(std::time::Duration::from_millis(2100)), None);
        // Just under the line: no flapping back (it must fit with a margin).
        assert_eq!(c.took(std::time::Duration::from_millis(1900)), None);
        assert_eq!(c.took(std::time::Duration::from_millis(2500)), None);
        assert!(
            c.took(std::time::Duration::from_millis(10))
                .unwrap()
                .contains("every snapshot again")
        );
        assert!(c.due());
    }

    #[test]
    fn an_ended_note_says_when_it_began() {
        let m = "the default view shows 20 of 36 rows of job j";
        let t = note_text(&change("ended", m, m));
        assert!(
            t.starts_with("finding ended: last the default view shows 20 of 36"),
            "{t}"
        );
        assert!(
            t.contains("first seen at snapshot 4, 1970-01-01T00:00:04"),
            "{t}"
        );
    }

    /// Issue 26: a finding still open says its value now, and when it began with its value
    /// then (20 of 44 now, 20 of 24 when it began), never the first value as if current.
    #[test]
    fn an_open_note_says_its_value_now_and_then() {
        let t = note_text(&change(
            "open",
            "the default view shows 20 of 44 rows",
            "the default view shows 20 of 24 rows",
        ));
        assert!(
            t.starts_with(
                "finding still open when the recording stopped: the default view shows 20 of 44"
            ),
            "{t}"
        );
        assert!(
            t.contains("first seen at snapshot 4, 1970-01-01T00:00:04Z, when the default view shows 20 of 24"),
            "{t}"
        );
    }

    fn row(kind: &str, ended: Option<u64>) -> FindingRec {
        FindingRec {
            kind: kind.into(),
            job: Some("j".into()),
            source: None,
            provider: None,
            detail: None,
            problem: true,
            began_seq: 2,
            began_at: 2,
            ended_seq: ended,
            ended_at: ended.map(|e| e as i64),
            began_message: "m".into(),
            message: "m".into(),
            began_values: "{}".into(),
            values: "{}".into(),
        }
    }

    /// A restarted recorder carries on from the rows left open, numbers new rows after the
    /// last, and passes over a row of a kind it does not know (a newer blackbox's).
    #[test]
    fn resume_takes_the_open_rows_only() {
        let l = Live::resume(vec![
            (3, row("fetch_outage", None)),
            (7, row("fetch_outage", Some(5))),
            (8, row("a_kind_from_the_future", None)),
        ]);
        assert_eq!(l.open().count(), 1);
        assert_eq!(l.next_id, 9);
        assert_eq!(l.still_open(10, 10)[0].id, 3);
    }
}
