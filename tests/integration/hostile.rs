//! Hostile input, issue 8: rows with out-of-range numbers and shared ids, terminal escapes and
//! forged lines in field values, secrets in URLs, redirects, a spec that declares millions of
//! cells. Nothing is dropped silently, nothing leaks, nothing reaches a terminal raw.

use crate::common::*;

const SPEC: &str = r#"{"questions":["q1","q2","q3"],"constraints":{"regions":["US"]},"models":[{"id":"m","regions":["US"]}]}"#;
const PROVIDERS: &str = r#"{"providers":[{"name":"modal-us-east","region":"us-east","healthy":true,"last_health_check":1760000000.0}]}"#;

/// Issue 8: 4 rows in the body, one with an id of 1e400, one with retry_count 1e400: all four
/// are counted, each unreadable value is a problem with its row's index.
#[test]
fn rows_with_out_of_range_numbers_are_kept_or_named() {
    let body = r#"{"executions":[
        {"id":1e400,"status":"failed","model_id":"m","question_id":"q1","region":"US"},
        {"id":7,"status":"failed","retry_count":1e400,"model_id":"m","question_id":"q2","region":"US"},
        {"id":8,"status":"failed","model_id":"m","question_id":"q3","region":"US"},
        {"id":9,"status":"failed","max_retries":99999999999,"model_id":"m","question_id":"q3","region":"US"}]}"#;
    let (_d, db) = record_bodies(body.into(), SPEC.into(), PROVIDERS.into(), 2);
    let show = bb(&db, &["show", "--json"]).ok().json();
    let j = &show["jobs"][0];
    assert_eq!(j["rows"], 4, "{j}");
    assert_eq!(j["cells"]["covered"], 3);
    assert_eq!(j["cells"]["missing"].as_array().unwrap().len(), 0);
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let all = &snaps[0]["sources"][0];
    assert_eq!(all["source"], "runner.executions_all");
    assert_eq!(
        all["rows"],
        serde_json::json!({"in_body": 4, "kept": 4, "repeated": 0, "unusable": 0})
    );
    let problems = all["problems"].as_array().unwrap();
    let idx: Vec<u64> = problems
        .iter()
        .map(|p| p["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![0, 1, 3]);
    assert!(problems[0]["reason"].as_str().unwrap().contains("1e400"));
    assert_eq!(problems[1]["id"], 7);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let problems = findings_of(&rep, "row_problems");
    assert_eq!(problems[0]["rows"], 6, "3 problems in each of 2 polls");
    assert_eq!(problems[0]["first"]["index"], 0);
    assert_eq!(findings_of(&rep, "rows_without_id")[0]["count"], 1);
    bb(&db, &["verify"]).ok();
}

/// Issue 8: 10,000 rows that share one id are 10,000 rows, and no cell they fill is called
/// missing.
#[test]
fn ten_thousand_rows_sharing_one_id_are_all_kept() {
    let rows: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                r#"{{"id":42,"status":"failed","model_id":"m","question_id":"q{}","region":"US"}}"#,
                i % 3 + 1
            )
        })
        .collect();
    let body = format!(r#"{{"executions":[{}]}}"#, rows.join(","));
    let (_d, db) = record_bodies(body, SPEC.into(), PROVIDERS.into(), 2);
    let show = bb(&db, &["show", "--json"]).ok().json();
    let j = &show["jobs"][0];
    assert_eq!(j["rows"], 10_000);
    assert_eq!(j["by_status"]["failed"], 10_000);
    assert_eq!(j["cells"]["covered"], 3);
    assert!(j["cells"]["missing"].as_array().unwrap().is_empty());
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(
        rep["jobs"][0]["extra_rows"]["repeated_ids"],
        serde_json::json!([{"id": 42, "rows": 10_000}])
    );
    assert_eq!(
        findings_of(&rep, "repeated_ids")[0]["ids"],
        serde_json::json!([{"id": 42, "rows": 10_000}])
    );
    assert!(findings_of(&rep, "missing_cells").is_empty());
    // The second poll saw the same body: no new version of anything.
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    assert_eq!(snaps[1]["jobs"][0]["rows"], 10_000);
}

/// Issue 8: escapes, CR and LF in field values never reach a terminal raw, and never forge a
/// line or a Markdown table cell.
#[test]
fn control_characters_in_field_values_are_shown_escaped() {
    let evil = r#"fail\u001b[2J\u001b]0;pwned\u0007\r\nforged line|x\u009b31m\u202e"#;
    let body = format!(
        r#"{{"executions":[{{"id":1,"status":"{evil}","model_id":"m","question_id":"q1","region":"US","output":{{"error_code":"{evil}","error":"{evil}"}}}},
            {{"id":2,"status":"failed","model_id":"{evil}","question_id":"q2","region":"US"}}]}}"#
    );
    let providers = format!(
        r#"{{"providers":[{{"name":"{evil}","region":"{evil}","healthy":false,"last_health_check":0}}]}}"#
    );
    let (_d, db) = record_bodies(body, SPEC.into(), providers, 2);
    let outputs = [
        bb(&db, &["show"]),
        bb(&db, &["snapshots"]),
        bb(&db, &["report"]),
        bb(&db, &["report", "--format", "html"]),
        bb(&db, &["replay"]),
        bb(&db, &["diff", "first", "last"]),
        bb(&db, &["show", "--json"]),
        bb(&db, &["report", "--json"]),
        bb(&db, &["replay", "--json"]),
    ];
    for o in &outputs {
        o.assert_ok();
        for bad in ['\u{1b}', '\r', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(
                !o.stdout.contains(bad),
                "raw {bad:?} in output: {}",
                o.stdout
            );
        }
        assert!(
            !o.stdout.lines().any(|l| l.starts_with("forged line")),
            "a forged line: {}",
            o.stdout
        );
    }
    // The value is shown, escaped.
    assert!(
        outputs[0].stdout.contains(r"\x1b[2J"),
        "{}",
        outputs[0].stdout
    );
    // In Markdown, the pipe cannot open a table cell.
    assert!(
        outputs[2].stdout.contains(r"forged line\|x"),
        "{}",
        outputs[2].stdout
    );
    // JSON keeps the exact value (escaped as JSON does).
    let v = outputs[6].json();
    assert!(
        v["jobs"][0]["by_status"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("\u{1b}[2J") && k.contains('\u{9b}'))
    );
}

/// Issue 8: a spec that declares 1000 questions x 1000 models x 10 regions is counted, not
/// built: `show` and `report` answer with the count.
#[test]
fn a_spec_declaring_ten_million_cells_is_summarised() {
    let qs: Vec<String> = (0..1000).map(|i| format!("\"q{i}\"")).collect();
    let ms: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"id":"m{i}","regions":["r0","r1","r2","r3","r4","r5","r6","r7","r8","r9"]}}"#
            )
        })
        .collect();
    let spec = format!(
        r#"{{"questions":[{}],"constraints":{{"regions":["r0","r1","r2","r3","r4","r5","r6","r7","r8","r9"]}},"models":[{}]}}"#,
        qs.join(","),
        ms.join(",")
    );
    let body = r#"{"executions":[{"id":1,"status":"failed","model_id":"m1","question_id":"q1","region":"r1"}]}"#;
    let (_d, db) = record_bodies(body.into(), spec, PROVIDERS.into(), 2);
    let show = bb(&db, &["show", "--json"]).ok().json();
    let c = &show["jobs"][0]["cells"];
    assert_eq!(show["jobs"][0]["expected"]["cells"], 10_000_000u64);
    assert_eq!(c["expected"], 10_000_000u64);
    assert_eq!(c["covered"], 1);
    assert_eq!(c["missing_count"], 9_999_999u64);
    assert_eq!(c["listed"], false);
    assert!(c["missing"].as_array().unwrap().is_empty());
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(
        findings_of(&rep, "matrix_counted")[0]["cells"],
        10_000_000u64
    );
    bb(&db, &["report"]).ok();
    bb(&db, &["diff", "first", "last"]).ok();
}

/// A server answering every request with `answer(request head)`, on loopback.
fn echo_server(answer: fn(&str) -> String) -> String {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let _ = w.write_all(answer(&head).as_bytes());
            });
        }
    });
    addr
}

fn reply(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

/// Issue 27: an endpoint that echoes the request (headers, URL) does not get the admin token
/// or a password into the recording: replaced before the body is stored, and counted on the
/// request.
#[test]
fn a_body_echoing_the_token_is_stored_without_it() {
    let runner = echo_server(|head| {
        let body = serde_json::json!({ "echo": head }).to_string();
        reply("200 OK", "", &body)
    });
    let (_d, db) = tmp();
    let mut c = bin();
    c.env("BLACKBOX_RUNNER_TOKEN", "t0ken-of-the-runner")
        .arg("--db")
        .arg(&db)
        .args([
            "record",
            "--runner",
            &runner,
            "--job",
            "j",
            "--count",
            "2",
            "--interval",
            "200ms",
            "--no-live-findings",
        ]);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let admin: Vec<&serde_json::Value> = snaps
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["sources"].as_array().unwrap())
        .filter(|f| f["source"].as_str().unwrap().starts_with("runner.admin"))
        .collect();
    assert!(!admin.is_empty(), "the admin request was made");
    assert!(admin.iter().all(|f| f["secrets_removed"] == 1), "{admin:?}");
    // Every stored body, read back: the token is in none.
    let d = beacon_blackbox::store::open_reader(&db).unwrap();
    let r = beacon_blackbox::store::Reader::new(&d).unwrap();
    for id in r.body_ids().unwrap() {
        let b = r.body(id).unwrap();
        assert!(
            !String::from_utf8_lossy(&b).contains("t0ken-of-the-runner"),
            "body {id} holds the token"
        );
    }
}

/// Issue 27: `ship` follows no redirect (the statement and the password would go on), and a
/// server's error text that echoes the request is redacted like a URL.
#[test]
fn ship_follows_no_redirect_and_redacts_an_echoed_request() {
    let (_d, db, _) = record_scenario("classic", 120.0);
    let to = echo_server(|_| {
        reply(
            "307 Temporary Redirect",
            "location: http://u:pw@elsewhere:8123/?password=hunter2\r\n",
            "",
        )
    });
    let r = bb(
        &db,
        &[
            "ship",
            "--clickhouse",
            &format!(
                "{}/?user=bob&password=hunter2",
                to.replace("http://", "http://bob:hunter2@")
            ),
        ],
    );
    let line = r.clean_failure().to_string();
    assert!(line.contains("redirects are not followed"), "{line}");
    assert!(!line.contains("hunter2"), "{line}");
    let echo = echo_server(|head| {
        let first = head.lines().next().unwrap_or("").to_string();
        reply("500 Internal Server Error", "", &first)
    });
    let r = bb(
        &db,
        &[
            "ship",
            "--clickhouse",
            &format!("{echo}/?password=hunter2;token=hunter2"),
        ],
    );
    let line = r.clean_failure().to_string();
    assert!(line.contains("refused (500"), "{line}");
    assert!(!line.contains("hunter2"), "{line}");
}

/// Issue 27: times at or before the epoch are kept as they were sent (signed microseconds),
/// not made null; only Go's zero time means "never".
#[test]
fn times_at_or_before_the_epoch_are_kept() {
    let all = r#"{"executions":[
        {"id":1,"status":"failed","question_id":"q","model_id":"m","region":"US","started_at":"1969-12-31T23:59:59Z","completed_at":"1970-01-01T00:00:00Z"},
        {"id":2,"status":"failed","question_id":"q","model_id":"m","region":"US","started_at":"1900-01-01T00:00:00Z","completed_at":"0001-01-01T00:00:00Z"}]}"#;
    let spec = r#"{"questions":["q"],"models":[{"id":"m","regions":["US"]}]}"#;
    let (_d, db) = record_bodies(all.into(), spec.into(), r#"{"providers":[]}"#.into(), 2);
    let rows = bb(&db, &["show", "--rows", "--json"]).ok().json();
    let by_id = |id: i64| {
        rows["jobs"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(1)["started_at"], "1969-12-31T23:59:59Z");
    assert_eq!(by_id(1)["completed_at"], "1970-01-01T00:00:00Z");
    assert_eq!(by_id(2)["started_at"], "1900-01-01T00:00:00Z");
    assert!(
        by_id(2)["completed_at"].is_null(),
        "Go's zero time is never"
    );
    // And every output still works on them.
    bb(&db, &["report", "--format", "html"]).ok();
    bb(&db, &["report"]).ok();
}
