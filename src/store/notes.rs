//! Notes (`blackbox note`): annotations of a recording, written straight into the file when no
//! recorder holds it, else through the recorder's inbox.
//!
//! The inbox is a folder beside the database, `<db>.inbox/` (mode 0700). `note` writes one
//! file per note there (`*.json`, written under a temporary name and renamed, so a recorder
//! never reads half a note). The recorder looks into it before each snapshot, writes the notes
//! it finds in their own transaction, and removes their files once committed. A file that is
//! not a note is renamed `*.rejected` and said. Notes left in the inbox when no recorder runs
//! are taken in by the next `note` or `record` on the file.

use super::codec;
use super::open::{DbResult, StoreError};
use super::schema::{NOTES, NoteRec, format};
use redb::{Database, ReadableTable};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Characters of a note's text kept.
pub const MAX_TEXT: usize = 4096;
/// A note file larger than this is not a note.
const MAX_FILE: u64 = 64 * 1024;

/// A note as `note` hands it over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewNote {
    /// µs since the epoch.
    pub at: i64,
    pub text: String,
    pub mark_from: Option<i64>,
    pub mark_to: Option<i64>,
    pub created_at: i64,
}

/// The latest time a note may have: the end of year 9999, in µs.
const MAX_TIME_US: i64 = 253_402_300_799_999_999;

impl NewNote {
    /// What `note` itself accepts: a text, times from 1970 to 9999, a marked window both ends
    /// given, in order. An inbox file is anyone's; it is held to the same rule.
    pub fn valid(&self) -> bool {
        let time = |t: i64| (0..=MAX_TIME_US).contains(&t);
        let mark = match (self.mark_from, self.mark_to) {
            (None, None) => true,
            (Some(f), Some(t)) => time(f) && time(t) && f <= t,
            _ => false,
        };
        !self.text.trim().is_empty() && time(self.at) && time(self.created_at) && mark
    }

    fn rec(&self) -> NoteRec {
        NoteRec {
            text: self.text.chars().take(MAX_TEXT).collect(),
            mark_from: self.mark_from,
            mark_to: self.mark_to,
            created_at: self.created_at,
        }
    }
}

pub fn inbox_of(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".inbox");
    PathBuf::from(p)
}

/// Leaves a note for the recorder holding `db`; returns the file written.
pub fn post(db: &Path, note: &NewNote) -> std::io::Result<PathBuf> {
    let dir = inbox_of(db);
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir)?;
    let name = format!("{}-{}", note.created_at, std::process::id());
    let tmp = dir.join(format!(".{name}.tmp"));
    let done = dir.join(format!("{name}.json"));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp)?;
    std::io::Write::write_all(
        &mut f,
        &serde_json::to_vec(note).map_err(std::io::Error::other)?,
    )?;
    f.sync_all()?;
    std::fs::rename(&tmp, &done)?;
    Ok(done)
}

/// The notes waiting in the inbox of `db`, with their files; files that are not notes are
/// set aside (`*.rejected`) and named in the second list.
pub fn waiting(db: &Path) -> (Vec<(PathBuf, NewNote)>, Vec<String>) {
    let mut notes = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(inbox_of(db)) else {
        return (notes, bad);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let read = std::fs::metadata(&p)
            .ok()
            .filter(|m| m.is_file() && m.len() <= MAX_FILE)
            .and_then(|_| std::fs::read(&p).ok())
            .and_then(|b| serde_json::from_slice::<NewNote>(&b).ok())
            .filter(NewNote::valid);
        match read {
            Some(n) => notes.push((p, n)),
            None => {
                let _ = std::fs::rename(&p, p.with_extension("rejected"));
                bad.push(format!(
                    "{} is not a note; set aside as .rejected",
                    p.display()
                ));
            }
        }
    }
    (notes, bad)
}

/// Writes notes in one durable transaction.
pub fn write(db: &Database, notes: &[NewNote]) -> Result<(), StoreError> {
    if notes.is_empty() {
        return Ok(());
    }
    let txn = db.begin_write().db()?;
    insert(&txn, notes)?;
    txn.commit().db()?;
    Ok(())
}

/// Adds notes within a write transaction.
pub(super) fn insert(txn: &redb::WriteTransaction, notes: &[NewNote]) -> Result<(), StoreError> {
    {
        let mut t = txn.open_table(NOTES).db()?;
        for n in notes {
            // Notes at the same µs keep apart by their number.
            let next = t
                .range((n.at, 0)..=(n.at, u64::MAX))
                .db()?
                .next_back()
                .transpose()
                .db()?
                .map_or(0, |(k, _)| k.value().1 + 1);
            t.insert(
                (n.at, next),
                codec::encode(format::NOTE_V1, &n.rec()).as_slice(),
            )
            .db()?;
        }
    }
    Ok(())
}

/// Takes the inbox in: writes its notes, removes their files. Returns how many notes were
/// taken and what was set aside.
pub fn take_in(path: &Path, db: &Database) -> Result<(usize, Vec<String>), StoreError> {
    let (found, bad) = waiting(path);
    let notes: Vec<NewNote> = found.iter().map(|(_, n)| n.clone()).collect();
    write(db, &notes)?;
    for (p, _) in &found {
        let _ = std::fs::remove_file(p);
    }
    Ok((notes.len(), bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_takes_notes_and_sets_aside_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("r.redb");
        let n = NewNote {
            at: 5,
            text: "deploy".into(),
            mark_from: None,
            mark_to: None,
            created_at: 7,
        };
        let f = post(&db, &n).unwrap();
        assert!(f.starts_with(inbox_of(&db)));
        std::fs::write(inbox_of(&db).join("zz.json"), b"{not a note").unwrap();
        // Notes `note` would refuse: empty, out of range, a window backwards or half given.
        let odd = [
            NewNote {
                text: " ".into(),
                ..n.clone()
            },
            NewNote {
                at: i64::MIN,
                ..n.clone()
            },
            NewNote {
                created_at: -1,
                ..n.clone()
            },
            NewNote {
                mark_from: Some(9),
                mark_to: Some(3),
                ..n.clone()
            },
            NewNote {
                mark_from: Some(1),
                mark_to: None,
                ..n.clone()
            },
        ];
        for (i, o) in odd.iter().enumerate() {
            std::fs::write(
                inbox_of(&db).join(format!("odd{i}.json")),
                serde_json::to_vec(o).unwrap(),
            )
            .unwrap();
        }
        let (ok, bad) = waiting(&db);
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].1, n);
        assert_eq!(bad.len(), 1 + odd.len(), "{bad:?}");
        assert!(inbox_of(&db).join("zz.rejected").exists());
        assert!(
            NewNote {
                mark_from: Some(3),
                mark_to: Some(9),
                ..n.clone()
            }
            .valid()
        );
        // A long text is cut.
        let long = NewNote {
            text: "x".repeat(10_000),
            ..n
        };
        assert_eq!(long.rec().text.len(), MAX_TEXT);
    }
}
