//! Bad input: one clear line on stderr, a non-zero exit, no panic, and the file untouched.

use crate::common::*;

fn recorded() -> (tempfile::TempDir, std::path::PathBuf) {
    let s = start_sim("classic", 100_000.0);
    let (d, db) = tmp();
    s.record_count(&db, 2, "50ms").ok();
    (d, db)
}

#[test]
fn bad_selectors_and_arguments_fail_cleanly_and_leave_the_file_alone() {
    let (_d, db) = recorded();
    let before = std::fs::read(&db).unwrap();
    // Values that parse but select nothing: one line, exit 1.
    for args in [
        &["show", "--at", "-50"][..],
        &["show", "--at", "1999-01-01T00:00:00Z"],
        &["show", "--at", "+5m"],
        &["diff", "first", "77"],
        &["report", "--job", "unknown-job"],
    ] {
        let r = bb(&db, args);
        r.clean_failure();
    }
    // Values that do not parse: clap's whole message, exit 2.
    let l = bb(&db, &["show", "--at", "yesterday"])
        .usage_failure()
        .to_string();
    assert!(l.contains("not a selector"), "{l}");
    for args in [
        &[
            "record",
            "--router",
            "http://127.0.0.1:1",
            "--interval",
            "0s",
        ][..],
        &[
            "record",
            "--router",
            "http://127.0.0.1:1",
            "--interval",
            "-5s",
        ],
        &["record", "--router", "not a url"],
        &["record", "--router", "http://127.0.0.1:1", "--count", "0"],
        &["record", "--runner", "http://127.0.0.1:1"],
        &["record"],
    ] {
        let r = bb(&db, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
    assert!(std::fs::read(&db).unwrap() == before, "file changed");
}

#[test]
fn files_that_are_not_recordings() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope.redb");
    let l = bb(&missing, &["show"]).clean_failure().to_string();
    assert!(l.contains("no database"), "{l}");
    assert!(!missing.exists(), "a read command must not create the file");
    let junk = d.path().join("junk.redb");
    std::fs::write(&junk, b"this is not a redb file at all, just text").unwrap();
    let before = std::fs::read(&junk).unwrap();
    bb(&junk, &["show"]).clean_failure();
    bb(&junk, &["report"]).clean_failure();
    assert!(std::fs::read(&junk).unwrap() == before, "file changed");
    // A redb file of someone else's.
    let other = d.path().join("other.redb");
    {
        let db = redb::Database::create(&other).unwrap();
        let t = db.begin_write().unwrap();
        t.open_table(redb::TableDefinition::<&str, u64>::new("x"))
            .unwrap()
            .insert("a", 1)
            .unwrap();
        t.commit().unwrap();
    }
    let l = bb(&other, &["show"]).clean_failure().to_string();
    assert!(l.contains("not a beacon-blackbox database"), "{l}");
    // Truncated recording.
    let (_d2, db) = recorded();
    let bytes = std::fs::read(&db).unwrap();
    let cut = d.path().join("cut.redb");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let r = bb(&cut, &["show"]);
    assert_ne!(r.code, 0);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn a_newer_schema_is_refused() {
    let (_d, db) = recorded();
    {
        let d = redb::Database::create(&db).unwrap();
        let t = d.begin_write().unwrap();
        t.open_table(beacon_blackbox::store::schema::META)
            .unwrap()
            .insert("schema_version", 99u32.to_le_bytes().as_slice())
            .unwrap();
        t.commit().unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let l = bb(&db, &["show"]).clean_failure().to_string();
    assert!(l.contains("schema version 99"), "{l}");
    let l = bb(
        &db,
        &["record", "--router", "http://127.0.0.1:1", "--count", "1"],
    )
    .clean_failure()
    .to_string();
    assert!(l.contains("schema version 99"), "{l}");
    assert!(std::fs::read(&db).unwrap() == before, "file changed");
}

#[test]
fn unknown_scenario_and_demo_overwrite() {
    let l = bb_plain(&["simulate", "--scenario", "no-such"])
        .clean_failure()
        .to_string();
    assert!(l.contains("unknown scenario"), "{l}");
    let (_d, db) = recorded();
    let l = bb(&db, &["demo"]).clean_failure().to_string();
    assert!(l.contains("--force"), "{l}");
    // --force replaces recordings only, never another file.
    let d = tempfile::tempdir().unwrap();
    let other = d.path().join("notes.txt");
    std::fs::write(&other, b"not a recording").unwrap();
    let l = bb(&other, &["demo", "--force"]).clean_failure().to_string();
    assert!(l.contains("not replacing it"), "{l}");
    assert_eq!(std::fs::read(&other).unwrap(), b"not a recording");
}
