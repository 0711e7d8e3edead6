//! Issue 17: the ways out say what the report says and keep their promises — no secret in any
//! error, `ship` knows what the server has, the seal covers everything, formats load without
//! converting, imports take captures as people make them.

use crate::common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

/// A port nothing listens on.
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `ship` to a dead server with the password in the query (ClickHouse's documented login), in
/// the userinfo, and as `?pass=`: no secret in any line, also the ones `--follow` repeats.
#[test]
fn no_password_in_any_error_of_ship() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    let port = dead_port();
    for url in [
        format!("http://127.0.0.1:{port}/?user=default&password=s3cretA"),
        format!("http://127.0.0.1:{port}/?user=default&pass=s3cretA"),
        format!("http://default:s3cretA@127.0.0.1:{port}/"),
    ] {
        let r = bb(&db, &["ship", "--clickhouse", &url]);
        let line = r.clean_failure();
        assert!(line.contains("did not answer"), "{line}");
        assert!(!r.stderr.contains("s3cretA"), "{}", r.stderr);
        assert!(!r.stdout.contains("s3cretA"));
    }
    // --follow says the failure again and again: each line without it.
    let mut c = Child(
        bin()
            .arg("--db")
            .arg(&db)
            .args([
                "ship",
                "--clickhouse",
                &format!("http://127.0.0.1:{port}/?password=s3cretA"),
                "--follow",
            ])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut err = c.0.stderr.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = c.0.kill();
    let mut text = String::new();
    let _ = err.read_to_string(&mut text);
    assert!(!text.contains("s3cretA"), "{text}");
}

/// `record` against a dead runner whose URL carries a token: the lines it prints, the file it
/// writes and `snapshots` say `REDACTED`.
#[test]
fn no_token_in_what_record_prints_or_stores() {
    let (_d, db) = tmp();
    let port = dead_port();
    let r = bb(
        &db,
        &[
            "record",
            "--runner",
            &format!("http://u:pw5ecret@127.0.0.1:{port}/?token=t0ken5ecret"),
            "--job",
            "j",
            "--count",
            "2",
            "--interval",
            "100ms",
            "--timeout",
            "1s",
        ],
    );
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("5ecret"), "{all}");
    let s = bb(&db, &["snapshots", "--all", "--json"]).ok().stdout;
    assert!(!s.contains("5ecret"), "{s}");
    let raw = std::fs::read(&db).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"5ecret"));
}

/// A ClickHouse stand-in that answers the question of which snapshots it holds with `held`, and
/// everything else with an empty 200. Returns its URL.
fn fake_clickhouse(held: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        // Tables it was asked to create, with their columns, for DESCRIBE TABLE.
        let mut tables: std::collections::HashMap<String, String> = Default::default();
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("content-length:") {
                    len = line[15..].trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let sql = String::from_utf8_lossy(&body);
            let answer = if sql.contains("SELECT DISTINCT seq") {
                held.to_string()
            } else if let Some(rest) = sql.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
                let (name, rest) = rest.split_once(" (").unwrap();
                let cols = rest.split_once(") ENGINE").unwrap().0;
                tables.insert(name.to_string(), described(cols));
                String::new()
            } else if let Some(rest) = sql.strip_prefix("DESCRIBE TABLE ") {
                let name = rest.split_whitespace().next().unwrap();
                tables.get(name).cloned().unwrap_or_default()
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

/// DESCRIBE TABLE's answer for a CREATE TABLE's column list: one name and type per line.
fn described(cols: &str) -> String {
    let (mut out, mut depth, mut col) = (String::new(), 0, String::new());
    for c in cols.chars().chain([',']) {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                let (name, ty) = col.trim().split_once(' ').unwrap();
                out.push_str(&format!("{name}\t{ty}\n"));
                col.clear();
                continue;
            }
            _ => {}
        }
        col.push(c);
    }
    out
}

/// `ship` asks for a set and refuses an impossible answer, saying what it was, sending nothing.
#[test]
fn ship_refuses_an_impossible_answer() {
    let (_d, db, _) = record_scenario("classic", 60.0);
    for (held, why) in [
        ("99999999\t1760000000000000\n", "beyond this file's last"),
        ("18446744073709551616\t0\n", "not a snapshot number"),
        ("garbage\n", "not a seq and a time"),
        ("1\t5\n", "another history"),
        ("0\t5\n", "numbered from 1"),
    ] {
        let url = fake_clickhouse(held);
        let r = bb(&db, &["ship", "--clickhouse", &url]);
        let line = r.clean_failure();
        assert!(line.contains(why), "{held:?}: {line}");
        assert!(line.contains("nothing sent"), "{line}");
    }
}

/// Against a real server: a bundle (seq 20-25 of its recording) and a recording missing some
/// snapshots on the server are said as they are, and only the missing ones are sent.
#[test]
fn ship_says_what_the_server_had_and_sends_the_rest() {
    let Some(ch) = crate::clickhouse::start() else {
        return;
    };
    let (d, db, _) = record_scenario("classic", 30.0);
    let bundle = d.path().join("b.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "20",
            "--to",
            "25",
            "--out",
            bundle.to_str().unwrap(),
        ],
    )
    .ok();
    let r = bb(&bundle, &["ship", "--clickhouse", &ch.url()]).ok();
    assert!(
        r.stdout
            .contains("the server had 0 snapshots of this recording (none), now 6 (seq 20-25)"),
        "{}",
        r.stdout
    );
    // Two snapshots go missing on the server: the next ship sends those two.
    ch.post("ALTER TABLE blackbox.snapshots DELETE WHERE seq IN (21, 23)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ch.query("SELECT count() FROM blackbox.snapshots") != "4" {
        assert!(std::time::Instant::now() < deadline, "mutation not applied");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let r = bb(&bundle, &["ship", "--clickhouse", &ch.url()]).ok();
    assert!(
        r.stdout.contains("shipped 2 snapshots")
            && r.stdout.contains("the server had 4 snapshots of this recording (seq 20, 22, 24-25), now 6 (seq 20-25)"),
        "{}",
        r.stdout
    );
}

/// A recording on a clock past 2106: `taken_at` clamped and said, `taken_at_us` exact.
#[test]
fn times_outside_datetime_are_clamped_and_said() {
    let Some(ch) = crate::clickhouse::start() else {
        return;
    };
    let far: i64 = 4_600_000_000_000_000; // 2115
    let clock = std::sync::Arc::new(beacon_blackbox::clock::ManualClock::new(far));
    let src = beacon_blackbox::source::FakeSource::new(clock.clone(), |_, _| {
        beacon_blackbox::source::Reply::json(
            200,
            r#"{"status":"healthy","providers_total":1,"providers_healthy":1,"regions":[]}"#,
        )
    });
    let mut opts = options(&[], 5.0);
    opts.targets.runner = None;
    opts.stop = beacon_blackbox::record::Stop::Count(2);
    let (_d, db) = tmp();
    record_lib(&db, opts, &src, clock);
    let r = bb(&db, &["ship", "--clickhouse", &ch.url()]).ok();
    assert!(
        r.stdout.contains("outside ClickHouse's DateTime"),
        "{}",
        r.stdout
    );
    assert_eq!(
        ch.query("SELECT toUnixTimestamp(taken_at), taken_at_us FROM blackbox.snapshots ORDER BY seq LIMIT 1"),
        format!("4291747199\t{far}")
    );
}

/// The seal covers the manifest and every table: a rewritten manifest or an added table breaks
/// it, and so does any change of a byte that changes the content.
#[test]
fn the_seal_covers_everything() {
    use beacon_blackbox::store::verify_file;
    let (d, db, _) = record_scenario("cutoff", 60.0);
    let bundle = d.path().join("b.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "2",
            "--to",
            "4",
            "--out",
            bundle.to_str().unwrap(),
        ],
    )
    .ok();
    // Through the command, as a user checks it: a damaged file must never pass (nor panic).
    let holds = |p: &Path| {
        let r = bb(p, &["verify"]);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        r.code == 0 && r.stdout.contains("every fact of its manifest holds")
    };
    let _ = verify_file;
    assert!(holds(&bundle));
    // The manifest rewritten (its digest kept): broken.
    let edit = d.path().join("edit.redb");
    std::fs::copy(&bundle, &edit).unwrap();
    {
        let db = redb::Database::open(&edit).unwrap();
        let t = db.begin_write().unwrap();
        {
            let mut meta = t.open_table(beacon_blackbox::store::schema::META).unwrap();
            let m: Value = {
                use redb::ReadableTable;
                serde_json::from_slice(meta.get("manifest").unwrap().unwrap().value()).unwrap()
            };
            let mut m2 = m.clone();
            m2["jobs"] = json!(["someone-else"]);
            meta.insert("manifest", serde_json::to_vec(&m2).unwrap().as_slice())
                .unwrap();
        }
        t.commit().unwrap();
    }
    assert!(!holds(&edit), "a rewritten manifest passed");
    let r = bb(&edit, &["verify"]);
    assert_ne!(r.code, 0);
    // A table added: broken.
    std::fs::copy(&bundle, &edit).unwrap();
    {
        let db = redb::Database::open(&edit).unwrap();
        let t = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("smuggled");
            t.open_table(def).unwrap().insert(1, 2).unwrap();
        }
        t.commit().unwrap();
    }
    assert!(!holds(&edit), "an added table passed");
    // Every page in turn: a byte flipped either leaves the content as it was or breaks the seal.
    let original = std::fs::read(&bundle).unwrap();
    // What the file holds, if it can be read at all (a damaged page may make the reader
    // give up, or, in redb, panic: then it is not the same content).
    let content = |p: &Path| -> Option<String> {
        let p = p.to_path_buf();
        std::panic::catch_unwind(move || {
            let d = beacon_blackbox::store::open_reader(&p).ok()?;
            beacon_blackbox::store::bundle::content_digest(&d).ok()
        })
        .ok()
        .flatten()
    };
    let want = content(&bundle).unwrap();
    let page = 4096;
    let mut changed = 0;
    for at in (0..original.len()).step_by(page) {
        let mut b = original.clone();
        let k = (at + 97).min(b.len() - 1);
        b[k] ^= 0x5a;
        std::fs::write(&edit, &b).unwrap();
        let same = content(&edit).is_some_and(|c| c == want);
        if !same {
            changed += 1;
            assert!(
                !holds(&edit),
                "page {} changed the content and the seal held",
                at / page
            );
        }
    }
    assert!(changed > 0);
}

/// Parquet times are TIMESTAMP(µs, UTC); every table's columns are in schema.json, an empty one
/// too; a trace's times are never negative and every slice is there.
#[test]
fn formats_load_without_converting() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let (d, db, _) = record_scenario("classic", 30.0);
    let pq = d.path().join("pq");
    bb(
        &db,
        &[
            "export",
            "--format",
            "parquet",
            "--out",
            pq.to_str().unwrap(),
        ],
    )
    .ok();
    let f = std::fs::File::open(pq.join("snapshots.parquet")).unwrap();
    let r = SerializedFileReader::new(f).unwrap();
    let schema = r.metadata().file_metadata().schema_descr();
    let col = (0..schema.num_columns())
        .map(|i| schema.column(i))
        .find(|c| c.name() == "taken_at_us")
        .unwrap();
    assert!(
        format!("{:?}", col.logical_type_ref()).contains("Timestamp"),
        "{:?}",
        col.logical_type_ref()
    );
    let jl = d.path().join("jl");
    bb(
        &db,
        &["export", "--format", "jsonl", "--out", jl.to_str().unwrap()],
    )
    .ok();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(jl.join("schema.json")).unwrap()).unwrap();
    let tables = schema["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for t in [
        "executions_latest",
        "cells",
        "answers",
        "router_polls",
        "extra_rows",
    ] {
        assert!(names.contains(&t), "{names:?}");
        assert!(jl.join(format!("{t}.jsonl")).exists());
    }
    let extra = tables.iter().find(|t| t["name"] == "extra_rows").unwrap();
    assert_eq!(extra["rows"], 0);
    assert!(
        extra["columns"].as_array().unwrap().len() > 5,
        "an empty table says its columns"
    );
    // A window cut from the middle: executions begun before it keep their slices.
    let one = d.path().join("one.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "20",
            "--to",
            "22",
            "--out",
            one.to_str().unwrap(),
        ],
    )
    .ok();
    let tr = d.path().join("t.json");
    bb(
        &one,
        &["export", "--format", "trace", "--out", tr.to_str().unwrap()],
    )
    .ok();
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&tr).unwrap()).unwrap();
    let ev = t["traceEvents"].as_array().unwrap();
    assert!(
        ev.iter().all(|e| e["ts"].as_i64().is_none_or(|ts| ts >= 0)),
        "negative ts"
    );
    let slices = ev.iter().filter(|e| e["ph"] == "X").count();
    let rep = bb(&one, &["report", "--json"]).ok().json();
    let rows = rep["jobs"][0]["rows"].as_u64().unwrap() as usize;
    assert!(slices >= rows, "{slices} slices for {rows} rows");
    // No process without anything in it.
    for e in ev
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
    {
        let pid = &e["pid"];
        assert!(
            ev.iter().any(|x| x["ph"] != "M" && x["pid"] == *pid),
            "empty process {e}"
        );
    }
}

fn import(db: &Path, args: &[&str]) -> Run {
    let mut a = vec!["import"];
    a.extend_from_slice(args);
    bb(db, &a)
}

/// Imports as people capture: one capture per call within one second; gzip bodies curl kept;
/// `curl -siL` through a redirect with a body; a URL that is no endpoint; HAR fields of the
/// wrong type.
#[test]
fn imports_as_people_capture() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("i.redb");
    let base = "http://runner:8090/api/v1/jobs/j-1";
    let head = |date: &str, extra: &str| {
        format!("HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json\r\n{extra}\r\n")
    };
    let list = r#"{"executions":[{"id":1,"status":"failed","question_id":"q","model_id":"m","region":"us-east"}]}"#;
    let view = r#"{"job":{"questions":["q"]},"status":"failed","executions":[{"id":1,"status":"failed"}]}"#;
    let date = "Wed, 01 Oct 2025 10:00:00 GMT";
    // 1: the complete list.
    let f1 = d.path().join("all.txt");
    std::fs::write(&f1, format!("{}{list}", head(date, ""))).unwrap();
    import(
        &db,
        &[
            "--url",
            &format!("{base}/executions/all"),
            f1.to_str().unwrap(),
        ],
    )
    .ok();
    // 2: the view, gzip as curl saves it without --compressed, the same second.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(view.as_bytes()).unwrap();
    let mut f2b = head(date, "Content-Encoding: gzip\r\n").into_bytes();
    f2b.extend(gz.finish().unwrap());
    let f2 = d.path().join("view.txt");
    std::fs::write(&f2, f2b).unwrap();
    let r = import(
        &db,
        &[
            "--url",
            &format!("{base}?include=executions"),
            f2.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(r.stdout.contains("placed just after it"), "{}", r.stdout);
    let s = bb(&db, &["snapshots", "--all", "--json"]).ok().json();
    let snaps = s.as_array().unwrap();
    assert_eq!(snaps.len(), 2);
    let v = &snaps[1]["sources"][0];
    assert_eq!(v["outcome"], "ok", "{v}");
    assert_eq!(v["rows"]["in_body"], 1);
    // An earlier second is refused, naming --manifest.
    let f3 = d.path().join("old.txt");
    std::fs::write(
        &f3,
        format!("{}{list}", head("Wed, 01 Oct 2025 09:59:00 GMT", "")),
    )
    .unwrap();
    let e = import(
        &db,
        &[
            "--url",
            &format!("{base}/executions/all"),
            f3.to_str().unwrap(),
        ],
    );
    assert!(e.usage_failure().contains("--manifest"), "{}", e.stderr);
    // curl -siL: a redirect with its own body, then the answer.
    let f4 = d.path().join("l.txt");
    std::fs::write(
        &f4,
        format!(
            "HTTP/1.1 301 Moved Permanently\r\nLocation: {base}/executions/all\r\nContent-Length: 8\r\n\r\nmoved, gHTTP/1.1 200 OK\r\nDate: Wed, 01 Oct 2025 10:00:05 GMT\r\n\r\n{list}"
        ),
    )
    .unwrap();
    let saved = beacon_blackbox::exchange::capture::parse_saved(&std::fs::read(&f4).unwrap());
    assert_eq!(saved.status, 200);
    assert_eq!(saved.body, list.as_bytes());
    // Without a length, up to the next status line.
    let raw = format!(
        "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n<html>moved</html>\r\nHTTP/1.1 200 OK\r\n\r\n{list}"
    );
    assert_eq!(
        beacon_blackbox::exchange::capture::parse_saved(raw.as_bytes()).body,
        list.as_bytes()
    );
    import(
        &db,
        &[
            "--url",
            &format!("{base}/executions/all"),
            f4.to_str().unwrap(),
        ],
    )
    .ok();
    // No endpoint of ours: refused, with the known ones, without the URL's secret.
    let e = import(
        &db,
        &[
            "--url",
            "http://u:pw5ecret@runner/api/v2/nothing",
            f1.to_str().unwrap(),
        ],
    );
    let line = e.clean_failure();
    assert!(
        line.contains("is not an endpoint") && line.contains("/executions/all"),
        "{line}"
    );
    assert!(!e.stderr.contains("5ecret"));
    // HAR: a status given as a string is named as such.
    let har = d.path().join("a.har");
    std::fs::write(
        &har,
        json!({"log": {"entries": [{
            "startedDateTime": "2025-10-01T10:01:00Z", "time": 5,
            "request": {"method": "GET", "url": format!("{base}/executions/all")},
            "response": {"status": "200", "headers": [], "content": {"text": list}}
        }]}})
        .to_string(),
    )
    .unwrap();
    let e = import(&db, &["--har", har.to_str().unwrap()]);
    let line = e.clean_failure();
    assert!(
        line.contains("its response.status is a string, not a number"),
        "{line}"
    );
}
