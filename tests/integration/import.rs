//! Issue 12: captures made without the recorder. The motivating case: one saved default view,
//! 20 failed rows of a 36-cell job.

use crate::common::*;
use serde_json::Value;

/// What the engineers had: `curl -i .../jobs/ID?include=executions` saved to a file.
fn saved_view(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let s = start_sim("classic", 100_000.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let url = format!("{}/api/v1/jobs/{}?include=executions", s.runner, s.job());
    let (status, _, body) = http_get(&url).unwrap();
    assert_eq!(status, 200);
    let mut file = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Wed, 01 Oct 2025 10:20:00 GMT\r\n\r\n".to_vec();
    file.extend_from_slice(&body);
    let path = dir.join("view.txt");
    std::fs::write(&path, file).unwrap();
    (path, url)
}

#[test]
fn a_saved_default_view_says_what_it_cannot_show() {
    let (d, db) = tmp();
    let (file, url) = saved_view(d.path());
    let out = bb(&db, &["import", "--url", &url, file.to_str().unwrap()]).ok();
    assert!(
        out.stdout.contains("imported 1 capture into 1 snapshot"),
        "{}",
        out.stdout
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let j = &rep["jobs"][0];
    assert_eq!(j["rows"], 20);
    assert_eq!(j["cells"]["complete"], false);
    assert_eq!(j["cells"]["unknown_count"], 16);
    assert_eq!(j["cells"]["missing_count"], 0);
    assert_eq!(j["default_view"]["may_be_cut"], true);
    let only = findings_of(&rep, "only_default_view");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["visible"], 20);
    assert_eq!(only[0]["unknown"], 16);
    assert!(findings_of(&rep, "missing_cells").is_empty());
    // The time came from the Date header, and the report says so.
    assert_eq!(
        rep["recording"]["first"]["taken_at"],
        "2025-10-01T10:20:00Z"
    );
    let origin = rep["recording"]["sessions"][0]["origin"][0]
        .as_str()
        .unwrap();
    assert!(origin.contains("Date header"), "{origin}");
    let md = bb(&db, &["report"]).ok().stdout;
    assert!(md.contains("20 rows visible"), "{md}");
    assert!(md.contains("the view is cut at 20"), "{md}");
    assert!(md.contains("16 cells unknown, not missing"), "{md}");
    assert!(
        !md.contains("16 cells missing") && !md.contains("16 missing"),
        "{md}"
    );
    assert!(md.contains("Imported, not recorded"), "{md}");
    // Every read command works on it.
    for cmd in [
        &["show"][..],
        &["snapshots"],
        &["diff", "first", "last"],
        &["verify"],
        &["replay"],
    ] {
        bb(&db, cmd).ok();
    }
    let show = bb(&db, &["show", "--color", "never"]).ok().stdout;
    assert!(show.contains("16 unknown"), "{show}");
}

/// A HAR file: every GET to a runner or router path, at its time, with status, latency and
/// body; other requests left out and counted.
#[test]
fn a_har_file_becomes_fetches_at_their_times() {
    let (d, db) = tmp();
    let (file, url) = saved_view(d.path());
    let body = std::fs::read(&file).unwrap();
    let body = &body[body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    let entry = |url: &str, t: &str, status: u16, text: &str, ms: f64| {
        serde_json::json!({
            "startedDateTime": t, "time": ms,
            "request": {"method": "GET", "url": url, "headers": [{"name": "Authorization", "value": "Bearer secret-in-har"}]},
            "response": {"status": status, "headers": [{"name": "Content-Type", "value": "application/json"}],
                         "content": {"mimeType": "application/json", "text": text}}
        })
    };
    let har = serde_json::json!({"log": {"version": "1.2", "entries": [
        entry(&url, "2025-10-01T10:20:00.000Z", 200, &String::from_utf8_lossy(body), 850.0),
        entry("http://router.test:8000/health", "2025-10-01T10:20:00.300Z", 200,
              r#"{"status":"healthy","providers_total":3,"providers_healthy":3,"regions":["us-east"]}"#, 12.0),
        entry("https://portal.test/assets/app.js", "2025-10-01T10:20:01.000Z", 200, "x", 5.0),
        entry(&format!("{url}&x=1"), "2025-10-01T10:25:00.000Z", 503, r#"{"error":"persistence unavailable"}"#, 30000.0),
    ]}});
    let path = d.path().join("portal.har");
    std::fs::write(&path, har.to_string()).unwrap();
    let out = bb(&db, &["import", "--har", path.to_str().unwrap()]).ok();
    assert!(
        out.stdout.contains("imported 3 captures into 2 snapshots"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 entry of the HAR files left out"),
        "{}",
        out.stdout
    );
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let s: &Vec<Value> = snaps.as_array().unwrap();
    assert_eq!(s.len(), 2);
    let sources: Vec<&str> = s[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, vec!["runner.job_view", "router.health"]);
    assert_eq!(s[0]["sources"][0]["latency_ms"], 850.0);
    assert_eq!(s[1]["sources"][0]["outcome"], "http 503");
    // Request headers of a HAR (a bearer token) are never stored.
    assert!(
        !std::fs::read(&db)
            .unwrap()
            .windows(19)
            .any(|w| w == b"secret-in-har")
    );
    let rep = bb(&db, &["report", "--json"]).ok().json();
    assert_eq!(findings_of(&rep, "only_default_view")[0]["unknown"], 16);
}

#[test]
fn a_manifest_lists_many_captures() {
    let (d, db) = tmp();
    let (file, url) = saved_view(d.path());
    let list = d.path().join("captures.txt");
    std::fs::write(
        &list,
        format!("# what we curled\n{url} view.txt 2025-10-01T09:00:00Z\nhttp://router.test/health health.json\n"),
    )
    .unwrap();
    std::fs::write(
        d.path().join("health.json"),
        r#"{"status":"healthy","providers_total":2,"providers_healthy":0,"regions":[]}"#,
    )
    .unwrap();
    let _ = file;
    let out = bb(&db, &["import", "--manifest", list.to_str().unwrap()]).ok();
    assert!(out.stdout.contains("imported 2 captures"), "{}", out.stdout);
    let rep = bb(&db, &["report", "--json"]).ok().json();
    // The view at the time the list gave; the health at the file's own time (now).
    assert_eq!(
        rep["recording"]["first"]["taken_at"],
        "2025-10-01T09:00:00Z"
    );
    let origin: Vec<&str> = rep["recording"]["sessions"][0]["origin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert!(
        origin.iter().any(|o| o.contains("modification time")),
        "{origin:?}"
    );
    // Bad input: one line, exit 2.
    std::fs::write(&list, "just-one-word\n").unwrap();
    bb(&db, &["import", "--manifest", list.to_str().unwrap()]).usage_failure();
    bb(&db, &["import", "view.txt"]).usage_failure();
}

/// Two answers of one URL are two states, however close in time; a recording runs forward, so
/// captures older than its last snapshot are refused and it is left as it was; only regular
/// files are read.
#[test]
fn captures_run_forward_and_one_url_is_never_merged() {
    let (d, db) = tmp();
    let url = "http://r.test/api/v1/jobs/j/executions/all";
    let row = |st: &str| {
        format!(
            r#"{{"executions":[{{"id":1,"status":"{st}","question_id":"q","model_id":"m","region":"US"}}]}}"#
        )
    };
    std::fs::write(d.path().join("b1.json"), row("running")).unwrap();
    std::fs::write(d.path().join("b2.json"), row("failed")).unwrap();
    let list = d.path().join("m.txt");
    std::fs::write(
        &list,
        // The second with a cache-busting query: still the same job's list.
        format!(
            "{url} b1.json 2025-10-01T10:00:00.1Z\n{url}?nocache=1 b2.json 2025-10-01T10:00:00.9Z\n"
        ),
    )
    .unwrap();
    let out = bb(&db, &["import", "--manifest", list.to_str().unwrap()]).ok();
    assert!(out.stdout.contains("into 2 snapshots"), "{}", out.stdout);
    let last = bb(&db, &["show", "--json"]).ok().json();
    assert_eq!(last["jobs"][0]["by_status"]["failed"], 1, "{last}");
    let first = bb(&db, &["show", "--at", "first", "--json"]).ok().json();
    assert_eq!(first["jobs"][0]["by_status"]["running"], 1, "{first}");

    let before = std::fs::read(&db).unwrap();
    let old = d.path().join("b1.json");
    let line = bb(
        &db,
        &[
            "import",
            "--url",
            url,
            "--at",
            "2025-09-30T00:00:00Z",
            old.to_str().unwrap(),
        ],
    )
    .usage_failure()
    .to_string();
    assert!(
        line.contains("before the recording's last snapshot") && line.contains("--manifest"),
        "{line}"
    );
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the recording changed"
    );
    let line = bb(&db, &["import", "--url", url, "/dev/null"])
        .clean_failure()
        .to_string();
    assert!(line.contains("not a regular file"), "{line}");
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the recording changed"
    );

    // A capture dated in the future, then `record` now: refused, not a timeline running back.
    let (d2, fut) = tmp();
    bb(
        &fut,
        &[
            "import",
            "--url",
            url,
            "--at",
            "2099-01-01T00:00:00Z",
            old.to_str().unwrap(),
        ],
    )
    .ok();
    let before = std::fs::read(&fut).unwrap();
    let line = bb(
        &fut,
        &[
            "record",
            "--router",
            "http://127.0.0.1:1",
            "--count",
            "1",
            "--timeout",
            "1s",
        ],
    )
    .clean_failure()
    .to_string();
    assert!(line.contains("later than now"), "{line}");
    assert!(
        std::fs::read(&fut).unwrap() == before,
        "the recording changed"
    );
    // An empty file (made by `touch` or `mktemp`) becomes a recording.
    let empty = d2.path().join("empty.redb");
    std::fs::write(&empty, b"").unwrap();
    bb(&empty, &["import", "--url", url, old.to_str().unwrap()]).ok();
    // `note` holds itself to the rule the recorder holds inbox notes to.
    bb(
        &empty,
        &["note", "--at", "1969-12-31T00:00:00Z", "too early"],
    )
    .usage_failure();
    // `verify` on a pipe says so instead of waiting for it forever.
    let fifo = d2.path().join("pipe.redb");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let v = bb(&fifo, &["verify"]);
    assert_eq!(v.code, 1, "{}", v.stderr);
    assert!(v.stdout.contains("not a regular file"), "{}", v.stdout);
}

/// Issue 26: observations merge, never erase. A complete list, then a capture of the default
/// view alone (whose rows carry no `output`, so no error code or failure stage): the view's
/// rows keep what the list said, and the failures are one signature, as after the list alone.
#[test]
fn a_poorer_view_after_a_complete_list_erases_nothing() {
    let (d, db) = tmp();
    let s = start_sim("classic", 100_000.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let all = format!("{}/api/v1/jobs/{}/executions/all", s.runner, s.job());
    let view = format!("{}/api/v1/jobs/{}?include=executions", s.runner, s.job());
    for (url, file) in [(&all, "all.json"), (&view, "view.json")] {
        let (status, _, body) = http_get(url).unwrap();
        assert_eq!(status, 200);
        std::fs::write(d.path().join(file), body).unwrap();
    }
    let list = d.path().join("m.txt");
    std::fs::write(
        &list,
        format!("{all} all.json 2025-10-01T10:00:00Z\n{view} view.json 2025-10-01T10:05:00Z\n"),
    )
    .unwrap();
    bb(&db, &["import", "--manifest", list.to_str().unwrap()]).ok();
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let f = &rep["jobs"][0]["failures"];
    assert_eq!(f["total"], 44);
    assert_eq!(
        f["signatures"].as_array().unwrap().len(),
        1,
        "{}",
        f["signatures"]
    );
    assert_eq!(f["signatures"][0]["key"]["error_code"], "ROUTER_TIMEOUT");
    let rows = bb(&db, &["show", "--rows", "--json"]).ok().json();
    let shown: Vec<&Value> = rows["jobs"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["in_default_view"] == true)
        .collect();
    assert_eq!(shown.len(), 20);
    for r in shown {
        assert_eq!(r["error_code"], "ROUTER_TIMEOUT", "{r}");
    }
}
