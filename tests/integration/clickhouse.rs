//! Issue 12: shipping into a real ClickHouse server, started here on loopback (Debian's
//! `clickhouse-server`, 18.16; `.ci/run` installs it when missing). Skipped, saying so, only
//! where the server is not installed.

use crate::common::*;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct ClickHouse {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("clickhouse-server"))
        .find(|p| p.is_file())
}

pub fn start() -> Option<ClickHouse> {
    let Some(bin) = binary() else {
        eprintln!(
            "SKIPPED: clickhouse-server is not installed (.ci/run installs it: apt-get install clickhouse-server)"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().display().to_string();
    std::fs::write(
        dir.path().join("config.xml"),
        format!(
            r#"<?xml version="1.0"?><yandex><logger><level>warning</level><console>1</console></logger>
<http_port>{port}</http_port><listen_host>127.0.0.1</listen_host><path>{p}/data/</path><tmp_path>{p}/tmp/</tmp_path>
<users_config>{p}/users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>536870912</mark_cache_size></yandex>"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("users.xml"),
        r#"<?xml version="1.0"?><yandex><profiles><default></default></profiles><users><default><password></password>
<networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>"#,
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = std::process::Command::new(bin)
        .arg(format!("--config-file={p}/config.xml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let ch = ClickHouse { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, _, b)) = http_get(&format!("http://127.0.0.1:{port}/ping"))
            && b.starts_with(b"Ok")
        {
            return Some(ch);
        }
        assert!(
            Instant::now() < deadline,
            "clickhouse-server did not answer: {}",
            std::fs::read_to_string(ch.dir.path().join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl ClickHouse {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn query(&self, sql: &str) -> String {
        let mut u = reqwest::Url::parse(&self.url()).unwrap();
        u.query_pairs_mut().append_pair("query", sql);
        let (status, _, body) = http_get(u.as_str()).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(status, 200, "{sql}: {text}");
        text.trim().to_string()
    }

    /// A statement that changes something (ClickHouse refuses those over GET).
    pub fn post(&self, sql: &str) -> String {
        let (status, body) = http_post(&self.url(), sql.as_bytes().to_vec()).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(status, 200, "{sql}: {text}");
        text.trim().to_string()
    }

    pub fn count(&self, table: &str) -> u64 {
        self.query(&format!("SELECT count() FROM {table}"))
            .parse()
            .unwrap()
    }
}

fn local_versions(db: &std::path::Path, dir: &std::path::Path) -> usize {
    let out = dir.join("jl");
    bb(
        db,
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    std::fs::read_to_string(out.join("executions.jsonl"))
        .unwrap()
        .lines()
        .count()
}

#[test]
fn shipping_is_whole_idempotent_and_follows_a_live_recording() {
    let Some(ch) = start() else { return };
    let (d, db, _) = record_scenario("classic", 30.0);
    let url = ch.url();
    let ship =
        |db: &std::path::Path| bb(db, &["ship", "--clickhouse", &url, "--database", "fleet"]).ok();
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let n = snaps.as_array().unwrap().len() as u64;
    let first = ship(&db);
    assert!(
        first.stdout.contains(&format!("shipped {n} snapshots")),
        "{}",
        first.stdout
    );
    assert_eq!(ch.count("fleet.snapshots"), n);
    let versions = local_versions(&db, d.path());
    assert_eq!(ch.count("fleet.executions") as usize, versions);
    let requests: u64 = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sources"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(ch.count("fleet.requests"), requests);
    // Twice: one copy.
    let again = ship(&db);
    assert!(
        again.stdout.contains("shipped 0 snapshots"),
        "{}",
        again.stdout
    );
    assert_eq!(ch.count("fleet.snapshots"), n);
    assert_eq!(ch.count("fleet.executions") as usize, versions);
    // The fleet view: another recording into the same server; the documented queries.
    let (_d2, db2, _) = record_scenario("outage", 30.0);
    ship(&db2);
    assert_eq!(ch.query("SELECT count() FROM fleet.recordings FINAL"), "2");
    // --follow: snapshots committed later by another recorder reach the server.
    let (_d3, db3) = tmp();
    let clock = std::sync::Arc::new(beacon_blackbox::clock::ManualClock::new(T0));
    let src = beacon_blackbox::source::FakeSource::new(clock.clone(), |_, _| {
        beacon_blackbox::source::Reply::json(
            200,
            r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":[]}"#,
        )
    });
    let mut opts = options(&[], 5.0);
    opts.targets.runner = None;
    opts.stop = beacon_blackbox::record::Stop::Count(3);
    record_lib(&db3, opts.clone(), &src, clock.clone());
    let mut follower = Child(
        bin()
            .args([
                "--db",
                db3.to_str().unwrap(),
                "ship",
                "--clickhouse",
                &url,
                "--database",
                "fleet",
                "--follow",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let id = bb(
        &db3,
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            d.path().join("j3").to_str().unwrap(),
        ],
    )
    .ok();
    drop(id);
    let rid = std::fs::read_to_string(d.path().join("j3/snapshots.jsonl")).unwrap();
    let rid: serde_json::Value = serde_json::from_str(rid.lines().next().unwrap()).unwrap();
    let rid = rid["recording_id"].as_str().unwrap().to_string();
    let have = |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let c: u64 = ch
                .query(&format!(
                    "SELECT count() FROM fleet.snapshots WHERE recording_id = '{rid}'"
                ))
                .parse()
                .unwrap();
            if c == n {
                return;
            }
            assert!(Instant::now() < deadline, "{c} of {n} snapshots shipped");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    have(3);
    opts.stop = beacon_blackbox::record::Stop::Count(4);
    record_lib(&db3, opts, &src, clock);
    have(7);
    let _ = follower.0.kill();
}

/// A server that refuses: one line, exit 1, no password in it.
#[test]
fn a_refusing_server_is_one_clean_line() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let r = bb(
        &db,
        &[
            "ship",
            "--clickhouse",
            &format!("http://user:Sekr1t@127.0.0.1:{port}"),
        ],
    );
    let line = r.clean_failure();
    assert!(line.contains("did not answer"), "{line}");
    assert!(!r.stderr.contains("Sekr1t"));
}

/// Issue 27: the analysis tables are shipped by sets, not by the server's maximum taken on
/// trust. One planted `answers` row as of a snapshot the recording never had is removed and
/// named, and the next ship brings the answers up to date (it froze them before).
#[test]
fn a_planted_analysis_row_freezes_nothing() {
    let Some(ch) = start() else { return };
    let url = ch.url();
    let scenario = beacon_blackbox::sim::builtin("classic").unwrap();
    let job = scenario.jobs[0].id.clone();
    let clock = std::sync::Arc::new(beacon_blackbox::clock::ManualClock::new(T0));
    let s = beacon_blackbox::sim::Sim::with_clock(scenario, clock.clone(), T0, 1.0, Some(0));
    let src = beacon_blackbox::sim::SimSource::new(s, 10_000_000, false);
    let mut opts = options(&[&job], 60.0);
    opts.stop = beacon_blackbox::record::Stop::Count(4);
    let (d, db) = tmp();
    record_lib(&db, opts.clone(), &src, clock.clone());
    let ship = || {
        bb(
            &db,
            &["ship", "--clickhouse", &url, "--database", "planted"],
        )
        .ok()
    };
    ship();
    let rid = {
        let out = d.path().join("jl");
        bb(
            &db,
            &[
                "export",
                "--format",
                "jsonl",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .ok();
        let first = std::fs::read_to_string(out.join("snapshots.jsonl")).unwrap();
        let v: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        v["recording_id"].as_str().unwrap().to_string()
    };
    let rows_now = || {
        ch.query(&format!(
            "SELECT as_of_seq, rows FROM planted.answers FINAL WHERE recording_id = '{rid}'"
        ))
    };
    assert!(rows_now().starts_with("4\t"), "{}", rows_now());
    // Planted: a version from far beyond the recording.
    ch.post(&format!(
        "INSERT INTO planted.answers (recording_id, job, as_of_seq, as_of_us, expected_cells, rows, covered, missing, unknown, duplicated_cells, extra_runs, repeated_rows, unexpected, no_cell, failed) VALUES ('{rid}', '{job}', 99999999, 0, 0, 12345, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
    ));
    assert!(rows_now().starts_with("99999999\t12345"), "{}", rows_now());
    // The recording goes on; the next ship removes the planted version and says so.
    opts.stop = beacon_blackbox::record::Stop::Count(8);
    record_lib(&db, opts, &src, clock);
    let out = ship();
    assert!(
        out.stdout.contains("never had (99999999)"),
        "{}",
        out.stdout
    );
    let want = bb(&db, &["show", "--json"]).ok().json()["jobs"][0]["rows"].clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = rows_now();
        if now == format!("12\t{want}") {
            break;
        }
        assert!(Instant::now() < deadline, "answers stayed frozen: {now}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue 28: `ship --follow` ships what a one-shot ship ships. `cutoff` is recorded in two
/// halves with a follower shipping as it goes; the finished file is then shipped at once into
/// another database. The latest version of the events (`rows_stopped` included: it is known
/// only once later snapshots add nothing) and of the findings is the same in both, and is the
/// local export's; FINAL keeps one row per finding per state.
#[test]
fn a_follower_ships_what_one_ship_ships() {
    use beacon_blackbox::sim;
    let Some(ch) = start() else { return };
    let url = ch.url();
    let scenario = sim::builtin("cutoff").unwrap();
    let end = scenario.end;
    let jobs: Vec<String> = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let clock = std::sync::Arc::new(beacon_blackbox::clock::ManualClock::new(T0));
    let s = sim::Sim::with_clock(scenario, clock.clone(), T0, 1.0, Some(0));
    let src = sim::SimSource::new(s, 10_000_000, false);
    let refs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let mut opts = options(&refs, 30.0);
    opts.live_findings = true;
    opts.stop = beacon_blackbox::record::Stop::Count(10);
    let (d, db) = tmp();
    record_lib(&db, opts.clone(), &src, clock.clone());
    let mut follower = Child(
        bin()
            .args([
                "--db",
                db.to_str().unwrap(),
                "ship",
                "--clickhouse",
                &url,
                "--database",
                "follow",
                "--follow",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // 0 while the follower has not made the database yet.
    let snaps_of = |database: &str| -> u64 {
        let mut u = reqwest::Url::parse(&ch.url()).unwrap();
        u.query_pairs_mut().append_pair(
            "query",
            &format!("SELECT count() FROM {database}.snapshots"),
        );
        let (_, _, body) = http_get(u.as_str()).unwrap();
        String::from_utf8(body).unwrap().trim().parse().unwrap_or(0)
    };
    let wait = |database: &str, n: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while snaps_of(database) < n {
            assert!(Instant::now() < deadline, "{} of {n}", snaps_of(database));
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait("follow", 10);
    opts.stop = beacon_blackbox::record::Stop::After(Duration::from_secs_f64(end + 120.0 - 300.0));
    record_lib(&db, opts, &src, clock);
    let n = bb(&db, &["snapshots", "--json"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .len() as u64;
    wait("follow", n);
    // The follower's last pass sends the analysis after the snapshots: give it that pass.
    let last = n.to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ch.query("SELECT max(as_of_seq) FROM follow.answers") != last {
        assert!(
            Instant::now() < deadline,
            "the analysis as of {last} never came"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = follower.0.kill();
    bb(&db, &["ship", "--clickhouse", &url, "--database", "once"]).ok();
    let latest = |database: &str, table: &str, cols: &str| {
        ch.query(&format!(
            "SELECT {cols} FROM {database}.{table} FINAL WHERE as_of_seq = (SELECT max(as_of_seq) FROM {database}.{table}) ORDER BY {cols} FORMAT TabSeparated"
        ))
    };
    for (table, cols) in [
        ("events", "seq, kind, message"),
        ("findings", "n, kind, message, first_seen_seq, holds"),
    ] {
        let followed = latest("follow", table, cols);
        assert_eq!(followed, latest("once", table, cols), "{table}");
        // The local export has the same rows.
        let jl = d.path().join("jl");
        bb(
            &db,
            &[
                "export",
                "--format",
                "jsonl",
                "--out",
                jl.to_str().unwrap(),
                "--force",
            ],
        )
        .ok();
        let local = std::fs::read_to_string(jl.join(format!("{table}.jsonl"))).unwrap();
        assert_eq!(
            followed.lines().count(),
            local.lines().count(),
            "{table}: {followed}"
        );
    }
    assert!(
        latest("follow", "events", "kind")
            .lines()
            .any(|k| k == "rows_stopped"),
        "no rows_stopped event"
    );
    // FINAL: one row per finding per state, never one set per version shipped.
    let versions: u64 = ch
        .query("SELECT count(DISTINCT as_of_seq) FROM follow.findings")
        .parse()
        .unwrap();
    assert!(versions > 1, "{versions} versions");
    let rows: u64 = ch
        .query("SELECT count() FROM follow.findings FINAL")
        .parse()
        .unwrap();
    let keys: u64 = ch
        .query("SELECT count(DISTINCT finding_key) FROM follow.findings")
        .parse()
        .unwrap();
    assert_eq!(rows, keys);
    let latest_n = latest("follow", "findings", "n").lines().count() as u64;
    assert!(
        rows < latest_n * versions,
        "{rows} rows for {latest_n} findings"
    );
}

/// `ship --follow` on a recording no recorder holds: says so, ships it, and stops after the
/// grace with everything shipped.
#[test]
fn following_an_ended_recording_stops() {
    let Some(ch) = start() else {
        return;
    };
    let (_d, db, _) = crate::common::record_scenario("cutoff", 30.0);
    let began = Instant::now();
    let r = crate::common::bb(
        &db,
        &[
            "ship",
            "--clickhouse",
            &ch.url(),
            "--database",
            "ended",
            "--follow",
            "--follow-grace",
            "2s",
            "--json",
        ],
    )
    .ok();
    // --json: the first pass as JSON on stdout, the following said on stderr.
    let v = r.json();
    assert_eq!(v["database"], "ended");
    assert_eq!(v["had"], serde_json::json!([]));
    assert!(began.elapsed() < Duration::from_secs(30));
    assert!(r.stderr.contains("no recorder holds"), "{}", r.stderr);
    assert!(r.stderr.contains("the recording has ended"), "{}", r.stderr);
    let shipped: u64 = ch
        .query("SELECT count() FROM ended.snapshots")
        .parse()
        .unwrap();
    let local = crate::common::bb(&db, &["snapshots", "--json"]).ok().json();
    assert_eq!(shipped as usize, local.as_array().unwrap().len());
    assert_eq!(v["snapshots"].as_u64(), Some(shipped));
    assert_eq!(v["has"], serde_json::json!([[1, shipped]]));
}
