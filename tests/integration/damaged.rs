//! Issue 27: bounded reads of any file. A recording cut short at every 4 KiB boundary, or with
//! bytes flipped at random (a proptest loop with a fixed seed: the same flips every run, a
//! failing one shrunk to its smallest case), is read by every command within 10 s, ending in
//! success or one line of error, never a panic's text, never a hang.

use super::common::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long any command may take on a damaged file.
const LIMIT: Duration = Duration::from_secs(10);

/// The commands run on each damaged file (`record` resumes it, against a runner that refuses).
const COMMANDS: &[&[&str]] = &[
    &["verify"],
    &["show"],
    &["report", "--json"],
    &["replay"],
    &["snapshots"],
    &[
        "record",
        "--runner",
        "http://127.0.0.1:1",
        "--job",
        "j",
        "--count",
        "1",
        "--timeout",
        "1s",
        "--no-live-findings",
    ],
];

/// Runs `blackbox --db DB ARGS`, killed after `LIMIT`; returns (exit code, stderr, elapsed).
fn run_bounded(db: &Path, args: &[&str]) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let mut child = bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err, start.elapsed());
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new(), start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One damaged file through every command: each ends in time, cleanly.
fn check_all(db: &Path, what: &str) -> Duration {
    let mut slowest = Duration::ZERO;
    for args in COMMANDS {
        let (code, err, took) = run_bounded(db, args);
        slowest = slowest.max(took);
        let Some(code) = code else {
            panic!("{what}: `{}` did not end within {LIMIT:?}", args.join(" "));
        };
        // No panic, and no panic's text passed on as a message.
        for word in [
            "panicked",
            "RUST_BACKTRACE",
            "assertion",
            "out of bounds",
            "unwrap",
            "overflow",
            ".rs:",
        ] {
            assert!(
                !err.contains(word),
                "{what}: `{}` said {word:?}: {err}",
                args.join(" ")
            );
        }
        if code != 0 {
            let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
            assert_eq!(
                errors.len(),
                1,
                "{what}: `{}` exit {code}, not one error line: {err}",
                args.join(" ")
            );
            assert!(
                err.lines().all(|l| l.starts_with("error: ")
                    || l.starts_with("note: ")
                    || l.starts_with("warning: ")),
                "{what}: `{}`: {err}",
                args.join(" ")
            );
        }
    }
    slowest
}

fn recording(name: &str) -> (tempfile::TempDir, Vec<u8>) {
    let (d, db, _) = record_scenario(name, 30.0);
    let bytes = std::fs::read(&db).unwrap();
    (d, bytes)
}

#[test]
fn a_recording_cut_at_every_4k_boundary_is_read_in_time() {
    let mut cuts = 0;
    let mut slowest = Duration::ZERO;
    for name in ["classic", "outage"] {
        let (d, bytes) = recording(name);
        let cut = d.path().join("cut.redb");
        let mut at = 4096;
        while at < bytes.len() {
            std::fs::write(&cut, &bytes[..at]).unwrap();
            slowest = slowest.max(check_all(&cut, &format!("{name} cut at {at}")));
            cuts += 1;
            at += 4096;
        }
    }
    eprintln!("truncation: {cuts} cut points, slowest command {slowest:?}");
}

#[test]
fn a_recording_with_flipped_bytes_is_read_in_time() {
    let slowest = std::cell::Cell::new(Duration::ZERO);
    let flips = std::cell::Cell::new(0);
    for (name, seed) in [("cutoff", 26u8), ("legacy", 27u8)] {
        let (d, bytes) = recording(name);
        let len = bytes.len();
        let file = d.path().join("flipped.redb");
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: 12,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
        );
        // 1 to 8 bytes flipped anywhere in the file.
        let strategy = proptest::collection::vec((0..len, 1u8..=255), 1..8);
        runner
            .run(&strategy, |changes| {
                let mut b = bytes.clone();
                for (at, x) in &changes {
                    b[*at] ^= x;
                }
                std::fs::write(&file, &b).unwrap();
                let took = check_all(&file, &format!("{name} flipped at {changes:?}"));
                slowest.set(slowest.get().max(took));
                flips.set(flips.get() + 1);
                Ok(())
            })
            .unwrap();
    }
    eprintln!(
        "flips: {} files, slowest command {:?}",
        flips.get(),
        slowest.get()
    );
}

/// A table whose definition in redb's catalog is damaged (its type name no longer UTF-8, on
/// which redb panics when the table is opened) is one error line naming the catalog, from
/// every command that reads, and `verify` names it too.
#[test]
fn a_damaged_table_definition_is_one_error() {
    let (d, mut bytes) = recording("classic");
    let needle = b"&str";
    let mut hits = 0;
    for i in 0..bytes.len() - needle.len() {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i + 1] = 0xff;
            hits += 1;
        }
    }
    assert!(hits > 0, "no table has a `&str` type in this file");
    let file = d.path().join("catalog.redb");
    std::fs::write(&file, &bytes).unwrap();
    check_all(&file, "damaged catalog");
    let (code, err, _) = run_bounded(&file, &["show"]);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("corrupt table catalog"), "{err}");
    let out = bin().arg("--db").arg(&file).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("corrupt table catalog"), "{said}");
}

/// What `verify` checks of execution versions, each broken on its own in an otherwise whole
/// recording: a version the change index does not list, and a version whose text is not
/// UTF-8 (it decodes as a structure, not as an execution).
#[test]
fn verify_names_a_version_missing_from_the_index_and_one_not_utf8() {
    use beacon_blackbox::store::schema::{EXEC_CHANGES, EXEC_VERSIONS};
    use redb::{ReadableDatabase, ReadableTable};
    let (d, db, _) = record_scenario("classic", 30.0);
    let say = |db: &Path| {
        let out = bin().arg("--db").arg(db).arg("verify").output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(say(&db).0, Some(0), "{}", say(&db).1);
    // The first version's key, then the index entry of the second removed.
    let dropped = d.path().join("dropped.redb");
    std::fs::copy(&db, &dropped).unwrap();
    let (key2, key1, bytes1) = {
        let h = redb::Database::open(&dropped).unwrap();
        let t = h.begin_read().unwrap();
        let v = t.open_table(EXEC_VERSIONS).unwrap();
        let mut it = v.iter().unwrap();
        let (k1, b1) = it.next().unwrap().unwrap();
        let (k2, _) = it.next().unwrap().unwrap();
        (k2.value(), k1.value(), b1.value().to_vec())
    };
    {
        let h = redb::Database::open(&dropped).unwrap();
        let w = h.begin_write().unwrap();
        let (job, id, seq) = key2;
        assert!(
            w.open_table(EXEC_CHANGES)
                .unwrap()
                .remove((job, seq, id))
                .unwrap()
                .is_some()
        );
        w.commit().unwrap();
    }
    let (code, said) = say(&dropped);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "execution {} version at {}: missing from the change index",
            key2.1, key2.2
        )),
        "{said}"
    );
    // The status's bytes (the first text after the id and job) made not UTF-8.
    let bad = d.path().join("not-utf8.redb");
    std::fs::copy(&db, &bad).unwrap();
    {
        let mut b = bytes1.clone();
        let at = b
            .windows(4)
            .position(|w| {
                w == b"runn"
                    || w == b"comp"
                    || w == b"fail"
                    || w == b"pend"
                    || w == b"queu"
                    || w == b"retr"
            })
            .expect("a status in the stored version");
        b[at] = 0xff;
        let h = redb::Database::open(&bad).unwrap();
        let w = h.begin_write().unwrap();
        w.open_table(EXEC_VERSIONS)
            .unwrap()
            .insert(key1, b.as_slice())
            .unwrap();
        w.commit().unwrap();
    }
    let (code, said) = say(&bad);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "execution {} version at {}: undecodable",
            key1.1, key1.2
        )),
        "{said}"
    );
}
