//! Issue 9: the command line fits a person's habits.

use crate::common::*;

#[test]
fn clap_errors_are_whole_and_usage_is_exit_2() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let r = bb(&db, &["diff", "5"]);
    r.usage_failure();
    assert!(r.stderr.contains("<TO>"), "{}", r.stderr);
    assert!(r.stderr.contains("Usage: blackbox diff"), "{}", r.stderr);
    bb(&db, &["report", "--json", "--format", "markdown"]).usage_failure();
    bb(&db, &["show", "--status", "failed"]).usage_failure();
}

#[test]
fn report_formats_json_md_and_by_extension() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let a = bb(&db, &["report", "--json"]).ok().json();
    let b = bb(&db, &["report", "--format", "json"]).ok().json();
    assert_eq!(a, b);
    let md = bb(&db, &["report", "--format", "md"]).ok().stdout;
    assert!(md.starts_with("# Beacon incident report"));
    let dir = tempfile::tempdir().unwrap();
    for (name, start) in [
        ("r.md", "# Beacon"),
        ("r.json", "{"),
        ("r.html", "<!doctype html>"),
    ] {
        let p = dir.path().join(name);
        bb(&db, &["report", "--out", p.to_str().unwrap()]).ok();
        assert!(
            std::fs::read_to_string(&p).unwrap().starts_with(start),
            "{name}"
        );
    }
    let odd = dir.path().join("r.txt");
    let l = bb(&db, &["report", "--out", odd.to_str().unwrap()])
        .clean_failure()
        .to_string();
    assert!(l.contains("--format"), "{l}");
}

#[test]
fn selectors_take_compound_durations_and_refuse_past_the_end() {
    // A 15-minute scenario recorded every minute.
    let (_d, db, _) = record_scenario("classic", 60.0);
    let s = bb(&db, &["show", "--at", "+5m", "--json"]).ok().json();
    assert_eq!(s["snapshot"]["seq"], 6);
    let s = bb(&db, &["show", "--at", "+0h10m30s", "--json"])
        .ok()
        .json();
    assert_eq!(s["snapshot"]["seq"], 11);
    let l = bb(&db, &["show", "--at", "+1h30m"])
        .clean_failure()
        .to_string();
    assert!(l.contains("outside the recording"), "{l}");
    let l = bb(&db, &["show", "--at", "1970-01-01T00:00:00Z"])
        .clean_failure()
        .to_string();
    assert!(l.contains("outside the recording"), "{l}");
}

#[test]
fn text_shows_seconds_and_offsets_and_plurals() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let s = bb(&db, &["show", "--at", "+5m"]).ok().stdout;
    assert!(s.starts_with("snapshot 6 at 08:58:20Z (+5m00s)"), "{s}");
    assert!(!s.contains(".000000Z"), "{s}");
    let snaps = bb(&db, &["snapshots"]).ok().stdout;
    // Runs of alike snapshots are one line each; --all gives every snapshot.
    assert!(snaps.lines().count() < 5, "{snaps}");
    assert!(snaps.contains("all ok"), "{snaps}");
    let all = bb(&db, &["snapshots", "--all"]).ok().stdout;
    assert_eq!(all.lines().count(), 16, "15m22s every minute");
    let md = bb(&db, &["report"]).ok().stdout;
    for bad in ["1 rows", "1 failures", "1 polls", "1 snapshots"] {
        assert!(!md.contains(bad), "{bad}");
    }
    // No colour when the output is not a terminal, even with --color auto; always when asked.
    assert!(!bb(&db, &["show"]).ok().stdout.contains('\u{1b}'));
    let c = bb(&db, &["--color", "always", "show"]).ok().stdout;
    assert!(c.contains("\u{1b}[31mfailed"), "{c}");
    let mut cmd = bin();
    cmd.arg("--db")
        .arg(&db)
        .args(["--color", "always", "show"])
        .env("NO_COLOR", "1");
    let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    assert!(out.contains('\u{1b}'), "always means always");
}

/// `show --rows`: the rows themselves, which of them the default view showed, filters.
#[test]
fn show_rows_lists_what_the_default_view_showed() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let r = bb(&db, &["show", "--rows", "--json"]).ok().json();
    let rows = r["jobs"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 44);
    let shown: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|x| x["in_default_view"] == true)
        .collect();
    assert_eq!(shown.len(), 20);
    // The runner's order: the newest first; the shown ones are the first 20 of it.
    assert!(rows[..20].iter().all(|x| x["in_default_view"] == true));
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("hybrid timeout")
    );
    let one = bb(
        &db,
        &[
            "show",
            "--rows",
            "--cell",
            "identity_basic/llama3.2-1b/US",
            "--json",
        ],
    )
    .ok()
    .json();
    let ids: Vec<i64> = one["jobs"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1406, 1370], "the duplicate cell, newest first");
    let none = bb(&db, &["show", "--rows", "--status", "completed", "--json"])
        .ok()
        .json();
    assert_eq!(none["jobs"][0]["listed"], 0);
    let text = bb(&db, &["show", "--rows", "--cell", "*/mistral-7b/*"])
        .ok()
        .stdout;
    assert_eq!(
        text.lines().filter(|l| l.contains("mistral-7b")).count(),
        12
    );
    bb(&db, &["show", "--rows", "--cell", "just-one-part"]).usage_failure();
}

/// The answer paragraph on the three other built-in incidents.
#[test]
fn the_answer_comes_first_on_every_scenario() {
    let (_d, db, _) = record_scenario("cutoff", 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let a = &rep["jobs"][0]["answer"];
    assert_eq!(a["expected"]["path"], "cross-region");
    assert_eq!(a["expected"]["cells"], 12);
    assert_eq!(a["expected"]["declared"], 18);
    assert_eq!(a["missing"], 2);
    assert_eq!(a["complete"]["unexpected"], 1);
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("2 cells without a row so far (the job was still queued)")
    );
    let md = bb(&db, &["report"]).ok().stdout;
    let answer = md.find("should have 12 executions").unwrap();
    assert!(
        answer < md.find("## Findings").unwrap(),
        "the answer comes first"
    );

    let (_d, db, _) = record_scenario("legacy", 30.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let a = &rep["jobs"][0]["answer"];
    assert_eq!(a["complete"]["rows"], 225);
    assert_eq!(a["default_view"]["rows"], 20);
    assert_eq!(a["default_view"]["truncated"], true);
    // An older runner's pages carry no output at all: said as absent, not null.
    assert_eq!(a["output"]["no_output_field"], 225);

    let (_d, db, _) = record_scenario("outage", 15.0);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(rep["jobs"][0]["answer"]["complete"]["no_cell"], 1);
}

#[test]
fn completions_and_the_man_page() {
    let bash = bb_plain(&["completions", "bash"]).ok().stdout;
    assert!(
        bash.contains("_blackbox()") && bash.contains("replay"),
        "{bash}"
    );
    let zsh = bb_plain(&["completions", "zsh"]).ok().stdout;
    assert!(zsh.contains("#compdef blackbox"));
    let man = bb_plain(&["man"]).ok().stdout;
    assert!(
        man.contains(".TH blackbox") && man.contains("record"),
        "{man}"
    );
}
