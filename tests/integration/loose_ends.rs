//! Issue 20: what a new user trips over in the first hour, one test per item.

use crate::common::*;
use std::path::Path;

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn every_duration_flag_takes_compound_durations() {
    let (_d, db) = tmp();
    // One poll against nothing: refused at once, recorded, done.
    let r = bb(
        &db,
        &[
            "record",
            "--router",
            "http://127.0.0.1:1",
            "--interval",
            "1h30m",
            "--timeout",
            "12m30s",
            "--retain",
            "1d12h",
            "--count",
            "1",
        ],
    );
    r.assert_ok();
    bb(&db, &["note", "--at", "last", "--mark", "1h30m", "deploy"]).ok();
    for bad in ["5parsecs", "1m1m", "0s", "-5s"] {
        bb(
            &db,
            &[
                "record",
                "--router",
                "http://127.0.0.1:1",
                "--interval",
                bad,
                "--count",
                "1",
            ],
        )
        .usage_failure();
    }
}

#[test]
fn the_readme_installs_the_locked_dependency_set() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("cargo install --locked --path ."));
    assert!(!readme.contains("`cargo install --path .`"));
}

#[test]
fn man_writes_a_page_per_subcommand() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("man");
    let r = bb_plain(&["man", "--out", dir.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("blackbox-record.1"), "{}", r.stdout);
    for page in [
        "blackbox.1",
        "blackbox-record.1",
        "blackbox-show.1",
        "blackbox-export.1",
    ] {
        assert!(dir.join(page).exists(), "{page}");
    }
    // The top page points to pages that exist; a subcommand's page lists its flags.
    let top = std::fs::read_to_string(dir.join("blackbox.1")).unwrap();
    assert!(top.contains("blackbox\\-record(1)"), "{top}");
    let record = std::fs::read_to_string(dir.join("blackbox-record.1")).unwrap();
    assert!(record.contains("\\-\\-interval") && record.contains("\\-\\-max\\-runner\\-rpm"));
    // Without --out: the top page on stdout, as before.
    assert!(bb_plain(&["man"]).ok().stdout.starts_with(".ie"));
}

#[test]
fn a_file_that_is_not_a_recording_gets_one_message_everywhere() {
    let d = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("text.redb", &b"hello, not a database\n"[..]),
        ("empty.redb", &b""[..]),
    ] {
        let f = d.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let out = d.path().join("out");
        let out = out.to_str().unwrap();
        for args in [
            vec!["show"],
            vec!["report"],
            vec!["snapshots"],
            vec!["diff", "first", "last"],
            vec!["replay"],
            vec!["verify"],
            vec!["note", "x"],
            vec!["cut", "--from", "first", "--to", "last", "--out", out],
            vec!["export", "--format", "jsonl", "--out", out],
        ] {
            let r = bb(&f, &args);
            let line = r.clean_failure();
            assert!(
                line.contains("is not a beacon-blackbox database"),
                "{args:?}: {line}"
            );
            assert_eq!(r.code, 1, "{args:?}");
            assert_eq!(read(&f), bytes, "{args:?} changed the file");
        }
    }
}

#[test]
fn recording_a_dead_port_says_so_once_and_goes_on() {
    let (_d, db) = tmp();
    let r = bb(
        &db,
        &[
            "record",
            "--router",
            "http://127.0.0.1:1",
            "--interval",
            "50ms",
            "--count",
            "6",
        ],
    )
    .ok();
    let said: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("nothing answers at"))
        .collect();
    assert_eq!(said.len(), 1, "{}", r.stderr);
    assert!(said[0].contains("127.0.0.1:1") && said[0].contains("refused"));
    assert!(said[0].contains("recording goes on"));
    // Every poll was kept: an outage is data.
    let s = bb(&db, &["snapshots", "--json"]).ok().json();
    assert_eq!(s.as_array().unwrap().len(), 6);
}

#[test]
fn unknown_statuses_and_cells_are_refused_with_the_known_values() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let l = bb(&db, &["show", "--rows", "--status", "faild"])
        .usage_failure()
        .to_string();
    assert!(
        l.contains("\"failed\"") && l.contains("\"completed\""),
        "{l}"
    );
    let l = bb(
        &db,
        &[
            "show",
            "--rows",
            "--cell",
            "identity_basic/llama3.2-1b/mars",
        ],
    )
    .usage_failure()
    .to_string();
    assert!(
        l.contains("no region \"mars\"") && l.contains("\"us-east\""),
        "{l}"
    );
    bb(
        &db,
        &["show", "--rows", "--cell", "identity_basic//us-east"],
    )
    .usage_failure();
    bb(&db, &["show", "--rows", "--cell", "a/b"]).usage_failure();
    // Known values pass: a status the runner knows gives its rows, or none.
    let r = bb(&db, &["show", "--rows", "--status", "failed", "--json"])
        .ok()
        .json();
    assert_eq!(r["jobs"][0]["listed"], 44);
    let r = bb(&db, &["show", "--rows", "--status", "cancelled", "--json"])
        .ok()
        .json();
    assert_eq!(r["jobs"][0]["listed"], 0);
    let r = bb(&db, &["show", "--rows", "--cell", "*/*/US", "--json"])
        .ok()
        .json();
    assert!(r["jobs"][0]["listed"].as_u64().unwrap() > 0);
}

#[test]
fn a_note_far_past_a_finished_recording_is_refused() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let before = read(&db);
    let l = bb(&db, &["note", "--at", "+2h", "too late"])
        .usage_failure()
        .to_string();
    assert!(l.contains("after the recording's last snapshot"), "{l}");
    assert_eq!(read(&db), before, "a refused note writes nothing");
    // Inside it, or just after its end, is taken.
    bb(&db, &["note", "--at", "+5m", "inside"]).ok();
    bb(&db, &["note", "--at", "+20m", "just after"]).ok();
    let n = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(n["recording"]["notes"].as_array().unwrap().len(), 2);
}

#[test]
fn synth_has_help() {
    // `cargo test` builds the examples beside the test binaries.
    let exe = std::env::current_exe().unwrap();
    let synth = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|t| t.join("examples").join("synth"))
        .unwrap();
    let out = std::process::Command::new(&synth)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--executions") && text.contains("--snapshots") && text.contains("--db"));
    let out = std::process::Command::new(&synth)
        .arg("--nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_shows_global_options_once_with_the_default_database() {
    for cmd in ["record", "show", "export"] {
        let h = bb_plain(&[cmd, "--help"]).ok().stdout;
        assert_eq!(h.matches("--db <PATH>").count(), 1, "{cmd}: {h}");
        assert_eq!(h.matches("--color <WHEN>").count(), 1, "{cmd}");
        let global = h.find("Global options:").expect("a heading");
        assert!(h.find("--db <PATH>").unwrap() > global, "{cmd}");
        assert!(h.contains("blackbox.redb"), "{cmd}");
    }
    // In record, the command's own flags are not interleaved with the global ones.
    let h = bb_plain(&["record", "--help"]).ok().stdout;
    let global = h.find("Global options:").unwrap();
    for own in ["--runner <URL>", "--job <ID>", "--interval"] {
        assert!(h.find(own).unwrap() < global, "{own}");
    }
}

#[test]
fn export_refuses_a_folder_with_files_unless_forced() {
    let (d, db, _) = record_scenario("outage", 60.0);
    let out = d.path().join("x");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = out.to_str().unwrap();
    let l = bb(&db, &["export", "--format", "jsonl", "--out", o])
        .clean_failure()
        .to_string();
    assert!(l.contains("--force"), "{l}");
    assert!(!out.join("snapshots.jsonl").exists(), "nothing written");
    bb(&db, &["export", "--format", "jsonl", "--out", o, "--force"]).ok();
    assert!(out.join("snapshots.jsonl").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    // An empty or new folder needs no --force; a trace over a file does.
    let fresh = d.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    bb(
        &db,
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            fresh.to_str().unwrap(),
        ],
    )
    .ok();
    let tr = d.path().join("t.json");
    bb(
        &db,
        &["export", "--format", "trace", "--out", tr.to_str().unwrap()],
    )
    .ok();
    bb(
        &db,
        &["export", "--format", "trace", "--out", tr.to_str().unwrap()],
    )
    .clean_failure();
}

#[test]
fn snapshots_name_endpoints_align_and_run_by_outcome() {
    let sim = start_sim("outage", 600.0);
    let (_d, db) = tmp();
    bb(
        &db,
        &[
            "record",
            "--router",
            &sim.router,
            "--endpoint",
            &format!("alpha={}/health", sim.router),
            "--endpoint",
            &format!("beta={}/ready", sim.router),
            "--interval",
            "100ms",
            "--count",
            "3",
            "--no-extras",
        ],
    )
    .ok();
    let s = bb(&db, &["snapshots", "--json"]).ok().json();
    let names: std::collections::BTreeSet<String> = s[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "endpoint")
        .map(|f| f["endpoint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alpha", "beta"].map(String::from).into());
    // outage: the runner's outage is one run although its extras are asked every other poll.
    let (_d, db, _) = record_scenario("outage", 30.0);
    let text = bb(&db, &["snapshots"]).ok().stdout;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("note"))
        .collect();
    assert!(lines.len() <= 6, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("http 503") && l.contains("4 snapshots")),
        "{text}"
    );
    // Columns line up: every line's time starts at the same place.
    let at: Vec<usize> = lines.iter().map(|l| l.find(':').unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] == w[1]), "{text}");
}

#[test]
fn the_words_are_right() {
    let (d, db, _) = record_scenario("classic", 30.0);
    // "1 note", never "1 notes".
    bb(&db, &["note", "--at", "+1m", "one"]).ok();
    let v = bb(&db, &["verify"]).ok().stdout;
    assert!(v.contains(", 1 note verified"), "{v}");
    let cut = d.path().join("c.redb");
    let c = bb(
        &db,
        &[
            "cut",
            "--from",
            "1",
            "--to",
            "5",
            "--out",
            cut.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(c.stdout.contains(", 1 note\n"), "{}", c.stdout);
    // One offset per time in `show`'s provider lines.
    let s = bb(&db, &["show"]).ok().stdout;
    let p = s.lines().find(|l| l.contains("last checked")).unwrap();
    assert!(
        p.contains("before this snapshot") && !p.contains(") ("),
        "{p}"
    );
    // `diff` names alike changes' executions once.
    let diff = bb(&db, &["diff", "10", "20"]).ok().stdout;
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.trim_start().starts_with("changed"))
        .collect();
    assert!(!changed.is_empty(), "{diff}");
    let mut ids = std::collections::BTreeSet::new();
    for l in &changed {
        let list = &l[l.find('(').unwrap() + 1..l.find(')').unwrap()];
        for id in list.split(", ") {
            assert!(ids.insert(id.to_string()), "{id} named twice: {diff}");
        }
    }
    // The Markdown matrix: a cell run twice is "failed ×2", not "failed, failed x2".
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("**failed ×2**"), "no ×2 cell");
    assert!(
        !md.contains("failed, failed"),
        "a cell run twice read as two statuses"
    );
    // (The queue line: `words::events` tests.)
}

#[test]
fn an_unparsable_list_is_not_compared_with_the_view() {
    let d = tempfile::tempdir().unwrap();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sat, 05 Dec 2026 01:00:00 GMT\r\n\r\n";
    std::fs::write(
        d.path().join("all.txt"),
        format!("{head}{{\"executions\": [{{\"id\": 1"),
    )
    .unwrap();
    std::fs::write(
        d.path().join("view.txt"),
        format!("{head}{{\"job\": {{\"id\": \"j1\"}}, \"status\": \"failed\", \"executions\": [{{\"id\": 1, \"status\": \"failed\"}}, {{\"id\": 2, \"status\": \"failed\"}}]}}"),
    )
    .unwrap();
    let manifest = d.path().join("m.txt");
    std::fs::write(
        &manifest,
        "http://runner.test/api/v1/jobs/j1/executions/all all.txt\nhttp://runner.test/api/v1/jobs/j1?include=executions view.txt\n",
    )
    .unwrap();
    let db = d.path().join("u.redb");
    bb(&db, &["import", "--manifest", manifest.to_str().unwrap()]).ok();
    let s = bb(&db, &["show"]).ok().stdout;
    assert!(!s.contains("of 0 rows"), "{s}");
    assert!(s.contains("unparsable"), "{s}");
}

#[test]
fn bad_selectors_are_bad_usage() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    for sel in ["99", "yesterday", "+2h"] {
        assert_eq!(bb(&db, &["show", "--at", sel]).code, 2, "{sel}");
    }
    assert_eq!(bb(&db, &["diff", "1", "99"]).code, 2);
    assert_eq!(bb(&db, &["show", "--job", "nope"]).code, 2);
}

#[test]
fn backslashes_in_values_are_told_apart_from_escapes() {
    let d = tempfile::tempdir().unwrap();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sat, 05 Dec 2026 01:00:00 GMT\r\n\r\n";
    // The error text holds a backslash and "x1b" (four characters), and a real ESC.
    std::fs::write(
        d.path().join("all.txt"),
        format!("{head}{{\"executions\": [{{\"id\": 1, \"status\": \"failed\", \"region\": \"us-east\", \"model_id\": \"m\", \"question_id\": \"q\", \"output\": {{\"error\": \"a\\\\x1b b\\u001b c\"}}}}]}}"),
    )
    .unwrap();
    let manifest = d.path().join("m.txt");
    std::fs::write(
        &manifest,
        "http://runner.test/api/v1/jobs/j1/executions/all all.txt\n",
    )
    .unwrap();
    let db = d.path().join("b.redb");
    bb(&db, &["import", "--manifest", manifest.to_str().unwrap()]).ok();
    let rows = bb(&db, &["show", "--rows"]).ok().stdout;
    assert!(rows.contains("a\\\\x1b b\\x1b c"), "{rows}");
}
