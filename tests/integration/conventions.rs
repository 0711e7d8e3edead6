//! Issue 29: the conventions users of command-line tools rely on. `-` is standard output for an
//! `--out` that writes one file and standard input for `import`; an empty token variable is
//! unset; a `--db` in a folder that does not exist is named with the command to make it.

use crate::common::*;
use std::io::Write;
use std::process::Stdio;

/// `--out -` writes what the file would hold to stdout, and no file named `-`.
#[test]
fn dash_is_standard_output() {
    let (d, db, _) = record_scenario("classic", 60.0);
    let here = d.path();
    let run = |args: &[&str]| {
        let mut c = bin();
        c.current_dir(here).arg("--db").arg(&db).args(args);
        let o = c.output().unwrap();
        (
            o.status.code(),
            o.stdout,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // The report: as without --out (Markdown), and as --format says.
    let (code, md, _) = run(&["report", "--out", "-"]);
    assert_eq!(code, Some(0));
    assert_eq!(md, bb(&db, &["report"]).ok().stdout.into_bytes());
    let (code, html, _) = run(&["report", "--out", "-", "--format", "html"]);
    assert_eq!(code, Some(0));
    assert!(String::from_utf8_lossy(&html).starts_with("<!doctype html>"));
    // OpenMetrics: the file's bytes, what was written said on stderr.
    let file = here.join("m.om");
    bb(
        &db,
        &[
            "export",
            "--format",
            "openmetrics",
            "--out",
            file.to_str().unwrap(),
        ],
    )
    .ok();
    let (code, om, err) = run(&["export", "--format", "openmetrics", "--out", "-"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(om, std::fs::read(&file).unwrap());
    assert!(err.contains("series"), "{err}");
    // A folder of tables cannot go to stdout: said, exit 2.
    let (code, out, err) = run(&["export", "--format", "jsonl", "--out", "-"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty() && err.contains("write a folder"), "{err}");
    // A bundle to stdout: a sealed recording every command reads.
    let (code, bundle, err) = run(&["cut", "--from", "first", "--to", "5", "--out", "-"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("wrote standard output: seq 1-5"), "{err}");
    let b = here.join("b.redb");
    std::fs::write(&b, &bundle).unwrap();
    let v = bb(&b, &["verify"]).ok();
    assert!(
        v.stdout.contains("checksum holds") || v.stdout.contains("holds"),
        "{}",
        v.stdout
    );
    assert_eq!(
        bb(&b, &["snapshots", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(!here.join("-").exists(), "a file named - was written");
}

/// `import -` reads the capture from stdin; its time from --at (stdin has no file time).
#[test]
fn dash_is_standard_input_for_import() {
    let (d, db) = tmp();
    let body = r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":[]}"#;
    let import = |at: Option<&str>| {
        let mut c = bin();
        c.arg("--db")
            .arg(&db)
            .args(["import", "--url", "http://router.test/health"]);
        if let Some(t) = at {
            c.args(["--at", t]);
        }
        c.arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut ch = c.spawn().unwrap();
        ch.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        let o = ch.wait_with_output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, _, err) = import(None);
    assert_ne!(code, Some(0));
    assert!(err.contains("standard input: no time (give --at)"), "{err}");
    let (code, out, err) = import(Some("2025-10-09T08:53:20Z"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("imported 1 capture"), "{out}");
    let s = bb(&db, &["snapshots", "--json"]).ok().json();
    assert_eq!(s.as_array().unwrap().len(), 1);
    // Twice `-` is refused: standard input is read once.
    let r = bb(
        &db,
        &[
            "import",
            "--url",
            "http://router.test/health",
            "-",
            "--har",
            "-",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("more than once"), "{}", r.stderr);
    drop(d);
}

/// An empty BLACKBOX_RUNNER_TOKEN is unset (and said); an empty --runner-token is refused.
#[test]
fn an_empty_token_variable_is_unset() {
    let sim = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let o = bin()
        .env("BLACKBOX_RUNNER_TOKEN", "")
        .args([
            "--db",
            db.to_str().unwrap(),
            "record",
            "--runner",
            &sim.runner,
        ])
        .args(["--all-jobs", "--count", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("BLACKBOX_RUNNER_TOKEN is empty: taken as unset"),
        "{err}"
    );
    let r = bb(
        &db,
        &[
            "record",
            "--runner",
            &sim.runner,
            "--job",
            "j",
            "--count",
            "1",
            "--runner-token",
            "",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--runner-token is empty"), "{}", r.stderr);
}

/// A --db in a folder that does not exist: the folder named, with the command to make it.
#[test]
fn a_missing_folder_is_named_with_its_command() {
    let sim = start_sim("classic", 60.0);
    let (d, _) = tmp();
    let db = d.path().join("var/lib/blackbox/beacon.redb");
    let r = bb(
        &db,
        &[
            "record",
            "--runner",
            &sim.runner,
            "--all-jobs",
            "--count",
            "1",
            "--ui",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let line = r.clean_failure();
    let dir = d.path().join("var/lib/blackbox");
    assert!(
        line.contains(&format!("mkdir -p {}", dir.display())),
        "{line}"
    );
    assert!(!dir.exists());
    // Said before any page or endpoint is announced (nothing to serve, nothing to wait for).
    assert!(!r.stderr.contains("live page"), "{}", r.stderr);
    assert!(!r.stderr.contains("metrics at"), "{}", r.stderr);
}

/// `completions` into a pipe whose reader is gone (as `completions bash|zsh|fish`, typed as
/// written, makes): no failure, and never a word about a database.
#[test]
fn completions_into_a_closed_pipe_is_no_failure() {
    for shell in ["bash", "zsh", "fish"] {
        let mut c = bin()
            .args(["completions", shell])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(c.stdout.take());
        let o = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{shell}: {err}");
        assert!(!err.contains("database"), "{shell}: {err}");
    }
}

/// The first JSON line a long-running command prints on stdout, then it is stopped.
fn first_json_line(args: &[&str]) -> serde_json::Value {
    use std::io::BufRead;
    let mut c = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = c.kill();
    let _ = c.wait();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {line}"))
}

/// Every command that reports a result says it as JSON with --json: the same facts as its
/// sentence.
#[test]
fn every_command_that_reports_has_json() {
    let (d, db, _) = record_scenario("classic", 60.0);
    let p = |x: &str| d.path().join(x).to_str().unwrap().to_string();
    let n = bb(&db, &["snapshots", "--json"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .len();
    // note
    let v = bb(&db, &["note", "--at", "3", "deploy started", "--json"])
        .ok()
        .json();
    assert_eq!(
        (v["text"].as_str(), v["taken_in"].as_bool()),
        (Some("deploy started"), Some(true))
    );
    // export: the counts the sentence gives
    let v = bb(
        &db,
        &["export", "--format", "jsonl", "--out", &p("j"), "--json"],
    )
    .ok()
    .json();
    assert_eq!(v["written"]["snapshots"].as_u64(), Some(n as u64));
    assert_eq!(v["format"], "jsonl");
    let lines = std::fs::read_to_string(d.path().join("j/findings.jsonl")).unwrap();
    assert_eq!(
        v["written"]["findings"].as_u64(),
        Some(lines.lines().count() as u64)
    );
    // cut
    let v = bb(
        &db,
        &[
            "cut",
            "--from",
            "2",
            "--to",
            "4",
            "--out",
            &p("b.redb"),
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(
        (
            v["manifest"]["from_seq"].as_u64(),
            v["manifest"]["to_seq"].as_u64()
        ),
        (Some(2), Some(4))
    );
    assert!(
        v["digest"].as_str().unwrap().starts_with("beacon-blackbox"),
        "{v}"
    );
    assert!(v["signed_by"].is_null());
    // --json and --out - cannot share stdout
    assert_eq!(
        bb(
            &db,
            &["cut", "--from", "2", "--to", "4", "--out", "-", "--json"]
        )
        .code,
        2
    );
    // import
    std::fs::write(
        d.path().join("h.json"),
        r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":[]}"#,
    )
    .unwrap();
    let v = bb(
        &d.path().join("imp.redb"),
        &[
            "import",
            "--url",
            "http://router.test/health",
            "--at",
            "2025-10-09T08:53:20Z",
            &p("h.json"),
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(
        (v["captures"].as_u64(), v["first_seq"].as_u64()),
        (Some(1), Some(1))
    );
    // demo
    let v = bb(&d.path().join("demo.redb"), &["demo", "--json"])
        .ok()
        .json();
    assert!(v["snapshots"].as_u64().unwrap() > 10, "{v}");
    assert!(v["report"]["findings"].as_array().unwrap().len() > 3);
    // simulate and serve-report: where they serve
    let v = first_json_line(&["simulate", "--json"]);
    assert!(
        v["runner"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{v}"
    );
    assert_eq!(v["scenario"], "classic");
    let v = first_json_line(&[
        "--db",
        db.to_str().unwrap(),
        "serve-report",
        "--listen",
        "127.0.0.1:0",
        "--json",
    ]);
    assert!(
        v["url"].as_str().unwrap().starts_with("http://127.0.0.1:"),
        "{v}"
    );
}
