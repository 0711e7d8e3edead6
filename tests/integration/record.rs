//! `record` against the simulator, checked against the simulator's own truth.

use crate::common::*;
use beacon_blackbox::sim::world_at;
use beacon_blackbox::store::{Reader, open_reader};

fn table(db: &std::path::Path, name: &str) -> u64 {
    let d = open_reader(db).unwrap();
    let r = Reader::new(&d).unwrap();
    r.table_sizes()
        .unwrap()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}

#[test]
fn classic_records_every_row_the_simulator_wrote() {
    let s = start_sim("classic", 300.0);
    let (_d, db) = tmp();
    let out = s.record_all(&db, "100ms", &[]).ok();
    assert!(out.stdout.contains("recorded "), "{}", out.stdout);
    let truth = world_at(&s.sim.scenario, f64::INFINITY);
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let snaps = snaps.as_array().unwrap();
    // The summary line names the count; the database holds exactly that many.
    let n: usize = out
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(snaps.len(), n);
    assert!(n >= 10);
    let last = &snaps[n - 1];
    assert_eq!(last["jobs"][0]["rows"], truth.rows.len());
    assert_eq!(truth.rows.len(), 44);
    for s in snaps {
        assert!(s["taken_at"].as_str().unwrap().ends_with('Z'));
        for src in s["sources"].as_array().unwrap() {
            assert_eq!(src["http_status"], 200, "{src}");
        }
    }
    let show = bb(&db, &["show", "--json"]).ok().json();
    let job = &show["jobs"][0];
    assert_eq!(job["rows"], 44);
    assert_eq!(job["by_status"]["failed"], 44);
    // Every simulated row is there, duplicates as distinct rows.
    let d = open_reader(&db).unwrap();
    let rec = beacon_blackbox::analysis::Recording::open(&d).unwrap();
    let last_seq = rec.infos.last().unwrap().seq;
    let execs = rec.reader.execs_at(0, last_seq).unwrap();
    for (id, row) in &truth.rows {
        let e = execs.get(id).unwrap_or_else(|| panic!("row {id} missing"));
        assert_eq!(e.status, row.status);
        assert_eq!(e.model_id.as_deref(), Some(row.model.as_str()));
        assert_eq!(e.error_code.as_deref(), Some("ROUTER_TIMEOUT"));
    }
    // The simulator dates rows and answers in its scenario time (150x faster) and this
    // recorder stamps wall time: the report says the clocks disagree, and how they moved,
    // instead of mixing them silently.
    let rep = bb(&db, &["report", "--format", "json"]).ok().json();
    let skew = &rep["jobs"][0]["clock_skew"];
    assert!(skew["offset_seconds"].as_f64().unwrap() > 60.0, "{skew}");
    assert_eq!(skew["changed"], true, "{skew}");
    assert!(
        rep["findings"]
            .to_string()
            .contains("The runner's clock went from"),
        "{}",
        rep["findings"]
    );
}

#[test]
fn a_poll_with_no_change_adds_no_entity_version() {
    // At this speed the scenario is over before the first poll: every poll sees the same.
    let s = start_sim("classic", 100_000.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (_d, db) = tmp();
    let job = s.job();
    let base = [
        "record",
        "--runner",
        &s.runner,
        "--job",
        &job,
        "--router",
        &s.router,
        "--interval",
        "50ms",
        "--max-runner-rpm",
        "100000",
        // The extra endpoints' bodies carry their answer's moment: not what this is about.
        "--no-extras",
    ];
    let mut a = base.to_vec();
    a.extend(["--count", "3"]);
    bb(&db, &a).ok();
    let (e1, j1, r1, b1) = (
        table(&db, "exec_versions"),
        table(&db, "job_versions"),
        table(&db, "router_versions"),
        table(&db, "bodies"),
    );
    assert_eq!(e1, 44);
    assert_eq!(j1, 1);
    assert_eq!(r1, 1);
    let mut b = base.to_vec();
    b.extend(["--count", "5"]);
    bb(&db, &b).ok();
    assert_eq!(table(&db, "snapshots"), 8);
    assert_eq!(table(&db, "exec_versions"), e1);
    assert_eq!(table(&db, "job_versions"), j1);
    assert_eq!(table(&db, "router_versions"), r1);
    assert_eq!(
        table(&db, "exec_changes"),
        e1,
        "the by-seq index moves with the versions"
    );
    assert!(table(&db, "exec_checkpoints") <= 1);
    // Only the router's /health body changes (its timestamp): one new body per poll at most.
    assert!(table(&db, "bodies") <= b1 + 5);
}

#[test]
fn outage_windows_are_failed_fetches_and_recording_goes_on() {
    let (_d, db, _) = record_scenario("outage", 15.0);
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let outcomes: Vec<(u64, String, String)> = snaps
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let seq = s["seq"].as_u64().unwrap();
            s["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| {
                    (
                        seq,
                        f["source"].as_str().unwrap().to_string(),
                        f["outcome"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let first = |o: &str| {
        outcomes
            .iter()
            .find(|(_, s, x)| s == "runner.executions_all" && x == o)
            .map(|t| t.0)
    };
    let s503 = first("http 503").expect("a 503 window");
    let refused = first("connect_refused").expect("a refused window");
    assert!(s503 < refused);
    let ok_after = outcomes
        .iter()
        .any(|(seq, s, x)| *seq > refused && s == "runner.executions_all" && x == "ok");
    assert!(ok_after, "recording went on after the outage");
    let rep = bb(&db, &["report", "--format", "json"]).ok().json();
    let kinds: Vec<serde_json::Value> = rep["fetch"]["outages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["kinds"].as_array().unwrap().clone())
        .collect();
    assert!(
        kinds.contains(&serde_json::json!({"outcome": "http_error", "http_status": 503})),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&serde_json::json!({"outcome": "transport", "error": "connect_refused"})),
        "{kinds:?}"
    );
    let health: Vec<(&str, &serde_json::Value)> = rep["router"]["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["change"] == "provider_health")
        .map(|t| (t["provider"].as_str().unwrap(), &t["healthy"]))
        .collect();
    assert_eq!(
        health,
        vec![
            ("modal-eu-west", &serde_json::json!(false)),
            ("modal-eu-west", &serde_json::json!(true))
        ]
    );
    let job = &rep["jobs"][0];
    assert_eq!(
        job["cells"]["no_cell"].as_array().unwrap().len(),
        1,
        "the early failure"
    );
    assert_eq!(job["cells"]["covered"], 8);
    let outages = findings_of(&rep, "fetch_outage");
    assert!(
        outages.iter().any(|o| o["sources"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("runner.executions_all"))
            && o["kinds"][0]["http_status"] == 503),
        "{outages:?}"
    );
}

#[test]
fn the_token_is_used_but_never_stored() {
    let s = start_sim("classic", 100_000.0);
    let (_d, db) = tmp();
    let job = s.job();
    let secret = "s3cr3t-T0KEN-do-not-store";
    let out = bb(
        &db,
        &[
            "record",
            "--runner",
            &s.runner,
            "--job",
            &job,
            "--count",
            "2",
            "--interval",
            "50ms",
            "--runner-token",
            secret,
            "--max-runner-rpm",
            "100000",
        ],
    )
    .ok();
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    // It was used: the admin route (which demands a bearer token) answered 200. One admin
    // request per 10 s: on the first poll, the stuck jobs (an extra endpoint).
    let snaps = bb(&db, &["snapshots", "--json"]).ok();
    assert!(!snaps.stdout.contains(secret));
    let v = snaps.json();
    let admin: Vec<&serde_json::Value> = v[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"].as_str().unwrap().starts_with("runner.admin"))
        .collect();
    assert_eq!(admin.len(), 1);
    assert_eq!(admin[0]["source"], "runner.admin_stuck_jobs");
    assert_eq!(admin[0]["http_status"], 200);
    for cmd in [&["show"][..], &["report"][..]] {
        assert!(!bb(&db, cmd).ok().stdout.contains(secret));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn older_runner_is_paged_and_deduplicated() {
    let s = start_sim("legacy", 100_000.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (_d, db) = tmp();
    let job = s.job();
    bb(
        &db,
        &[
            "record",
            "--runner",
            &s.runner,
            "--job",
            &job,
            "--count",
            "2",
            "--interval",
            "50ms",
            "--max-runner-rpm",
            "100000",
        ],
    )
    .ok();
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let srcs: Vec<(String, Option<u64>)> = snaps[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().to_string(),
                f["http_status"].as_u64(),
            )
        })
        .collect();
    assert_eq!(srcs[0], ("runner.executions_all".into(), Some(404)));
    assert_eq!(
        srcs.iter().filter(|s| s.0 == "runner.job_page").count(),
        2,
        "225 rows = 2 pages of 200"
    );
    assert_eq!(snaps[0]["jobs"][0]["rows"], 225);
    let show = bb(&db, &["show", "--json"]).ok().json();
    let j = &show["jobs"][0];
    assert_eq!(j["cells"]["covered"], 225);
    assert_eq!(j["default_view"]["rows"], 20);
    assert_eq!(j["default_view"]["truncated"], true);
    // No fetch outage: the 404 of /executions/all is how an older runner answers.
    let rep = bb(&db, &["report", "--format", "json"]).ok().json();
    assert!(rep["fetch"]["outages"].as_array().unwrap().is_empty());
}

#[test]
fn readers_follow_a_recorder_that_is_still_writing() {
    let s = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let mut child = s.spawn_record(&db, "100ms");
    let mut seen = Vec::new();
    for _ in 0..30 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if !db.exists() {
            continue;
        }
        let r = bb(&db, &["show", "--json"]);
        if r.code == 0 {
            seen.push(r.json()["snapshot"]["seq"].as_u64().unwrap());
        }
        if seen.len() >= 3 {
            break;
        }
    }
    // A second writer is refused with a clear line while the first holds the file.
    let second = bb(&db, &["record", "--router", &s.router, "--count", "1"]);
    let line = second.clean_failure().to_string();
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.len() >= 3, "show ran while recording: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]) && seen.last() > seen.first(),
        "{seen:?}"
    );
    assert!(line.contains("held by another process"), "{line}");
}

#[test]
fn sigterm_stops_cleanly_with_a_summary() {
    let s = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let child = s.spawn_record(&db, "100ms");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
    assert!(stdout.contains("stopped by signal"), "{stdout}");
    let n: u64 = stdout.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n >= 3);
    let v = bb(&db, &["verify"]).ok();
    assert!(
        v.stdout.contains(&format!("ok: {n} snapshots")),
        "{}",
        v.stdout
    );
}

/// Issue 8: secrets in `--runner` / `--router` (userinfo, a token in the query, a fragment)
/// are sent where needed but appear in no byte of the file and no output; a bad URL's error
/// does not echo its password.
#[test]
fn secrets_in_urls_stay_out_of_the_file_and_every_output() {
    let s = start_sim("classic", 100_000.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (_d, db) = tmp();
    let job = s.job();
    let with_secrets = |u: &str| {
        u.replace("http://", "http://bob:Pa55w0rd@")
            + "/?token=T0k3nSecret&api_key=K3ySecret&region=ok#frag-S3cret"
    };
    let (runner, router) = (with_secrets(&s.runner), with_secrets(&s.router));
    let rec = bb(
        &db,
        &[
            "record",
            "--runner",
            &runner,
            "--job",
            &job,
            "--router",
            &router,
            "--count",
            "2",
            "--interval",
            "50ms",
            "--max-runner-rpm",
            "100000",
            "--label",
            "INC-1",
        ],
    )
    .ok();
    let secrets = ["Pa55w0rd", "T0k3nSecret", "K3ySecret", "S3cret", "bob:"];
    let bytes = std::fs::read(&db).unwrap();
    for secret in secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the file"
        );
    }
    let mut outputs = vec![rec];
    for cmd in [
        &["snapshots", "--json"][..],
        &["snapshots"],
        &["show"],
        &["report"],
        &["report", "--format", "json"],
        &["replay"],
        &["diff", "first", "last"],
        &["verify"],
    ] {
        outputs.push(bb(&db, cmd).ok());
    }
    for o in &outputs {
        for secret in secrets {
            assert!(
                !o.stdout.contains(secret) && !o.stderr.contains(secret),
                "{secret} in output: {} {}",
                o.stdout,
                o.stderr
            );
        }
    }
    // The requests were made (the query's other parameters kept), and the report names the
    // parameter without its value.
    let snaps = outputs[1].json();
    assert_eq!(snaps[0]["sources"][0]["http_status"], 200);
    let url = snaps[0]["sources"][0]["url"].as_str().unwrap();
    assert!(
        url.contains("token=REDACTED") && url.contains("region=ok"),
        "{url}"
    );
    // A URL that does not parse still does not echo its password.
    let bad = bb(
        &db,
        &["record", "--router", "http://bob:Pa55w0rd@bad host:1/x"],
    );
    assert_eq!(bad.code, 2);
    assert!(!bad.stderr.contains("Pa55w0rd"), "{}", bad.stderr);
}

/// Issue 8: `report --out` writes with the recording's own mode (0600), whatever the umask.
#[cfg(unix)]
#[test]
fn report_files_are_private_like_the_recording() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, db, _) = record_scenario("classic", 60.0);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.md");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    bb(&db, &["report", "--out", out.to_str().unwrap()]).ok();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("# Beacon incident report")
    );
}

/// Issue 8: one definition of a failed fetch: the live status line, the summary line and the
/// report count the same failures.
#[test]
fn the_status_line_the_summary_and_the_report_agree_on_failures() {
    let s = start_sim("outage", 400.0);
    let (_d, db) = tmp();
    let out = s.record_all(&db, "150ms", &[]).ok();
    let last_status = out
        .stderr
        .lines()
        .rfind(|l| l.starts_with("snapshot "))
        .unwrap()
        .to_string();
    let live: usize = last_status
        .split("failed fetches ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let summary: usize = out
        .stdout
        .split(" failed")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let rep = bb(&db, &["report", "--format", "json"]).ok().json();
    assert!(live > 0, "{last_status}");
    assert_eq!(live, summary, "{last_status} / {}", out.stdout);
    assert_eq!(rep["fetch"]["failed_requests"], summary, "{}", out.stdout);
}
