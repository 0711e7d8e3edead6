//! Issue 10: the postmortem page, parsed as a browser would (html5ever), its structure checked
//! against the recording: the lanes, one bar per execution, the duplicate marks, the grid, the
//! outage bands at the recorded times, and no markup from a hostile field.

use crate::common::*;
use beacon_blackbox::analysis::Recording;
use beacon_blackbox::store::open_reader;
use scraper::{Html, Selector};

fn page(db: &std::path::Path) -> Html {
    let out = bb(db, &["report", "--format", "html"]).ok();
    Html::parse_document(&out.stdout)
}

fn count(doc: &Html, css: &str) -> usize {
    doc.select(&Selector::parse(css).unwrap()).count()
}

fn attr(doc: &Html, css: &str, name: &str) -> Vec<String> {
    doc.select(&Selector::parse(css).unwrap())
        .filter_map(|e| e.value().attr(name).map(str::to_string))
        .collect()
}

#[test]
fn classic_page_draws_every_execution_duplicate_and_cell() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let doc = page(&db);
    for lane in ["#rows-0", "#waterfall-0", "#router", "#fetches", "#grid-0"] {
        assert_eq!(count(&doc, lane), 1, "{lane}");
    }
    // One bar per execution (44), 8 of them a cell's second row, each with a mark.
    assert_eq!(count(&doc, "#lanes .bar"), 44);
    assert_eq!(count(&doc, "#lanes .bar.dup"), 8);
    assert_eq!(count(&doc, "#lanes .dup-mark"), 8);
    // Every bar failed after exactly 2m00s: drawn as the common duration.
    assert_eq!(count(&doc, "#lanes .bar.st-failed.mode"), 44);
    // 36 grid cells, 8 of them with two rows and a badge; none missing.
    assert_eq!(count(&doc, "table.matrix td"), 36);
    assert_eq!(count(&doc, "table.matrix td.dup"), 8);
    let badges: Vec<String> = doc
        .select(&Selector::parse("table.matrix td .badge").unwrap())
        .map(|b| b.text().collect())
        .collect();
    assert_eq!(badges, vec!["×2"; 8]);
    assert_eq!(count(&doc, "table.matrix td.missing"), 0);
    // Each cell's title names its execution ids.
    let titles = attr(&doc, "table.matrix td.dup", "title");
    assert!(
        titles.iter().all(|t| t.matches(" failed").count() == 2),
        "{titles:?}"
    );
    // The rows lane: the default view's count over the stacked areas.
    assert_eq!(count(&doc, "#lanes path.default-view"), 1);
    assert!(count(&doc, "#lanes path.area.st-failed") == 1);
    // Findings link to where their evidence is drawn, and the anchors exist.
    for href in attr(&doc, ".findings a.ev", "href") {
        assert_eq!(count(&doc, &href), 1, "{href}");
    }
    assert!(count(&doc, ".findings a.ev") >= 5);
    // Static page: no script, nothing fetched.
    assert_eq!(count(&doc, "script"), 0);
    assert_eq!(count(&doc, "img, iframe, object, [src]"), 0);
    assert_eq!(
        attr(&doc, "link", "href"),
        vec!["data:,"],
        "the only link: an empty icon"
    );
}

/// The failure windows of `outage` are drawn across the lanes from the recorded start of each
/// to the snapshot that saw the source answer again.
#[test]
fn outage_bands_sit_at_the_recorded_times() {
    let (_d, db, _) = record_scenario("outage", 30.0);
    let doc = page(&db);
    let r = {
        let d = open_reader(&db).unwrap();
        let rec = Recording::open(&d).unwrap();
        beacon_blackbox::analysis::report(&rec, None).unwrap()
    };
    assert!(!r.fetch.outages.is_empty());
    let want: Vec<(String, String)> = r
        .fetch
        .outages
        .iter()
        .map(|o| {
            (
                o.from.0.to_string(),
                o.recovered_at.expect("recovers").0.to_string(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = doc
        .select(&Selector::parse("#lanes rect.band.outage").unwrap())
        .map(|e| {
            let v = e.value();
            (
                v.attr("data-from").unwrap().to_string(),
                v.attr("data-to").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Each failed request is a mark of its kind in the requests lane.
    assert!(count(&doc, "#lanes .hb-http-error") > 0);
    assert!(count(&doc, "#lanes .hb-refused") > 0);
    // Alike marks closer than a mark's width are one; their count is kept.
    let marks: usize = attr(&doc, "#lanes .hb", "data-n")
        .iter()
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(marks, r.fetch.requests);
}

/// Field values are hostile: none becomes markup, all are shown as text.
#[test]
fn hostile_values_never_become_markup() {
    let evil = r#"<script>alert(1)</script>"#;
    let attr_break = r#"\"><img src=x onerror=alert(2)>"#;
    let svg_break = r#"</text></svg><iframe src=javascript:alert(3)>"#;
    let row = |id: u32, q: &str, m: &str, status: &str| {
        format!(
            r#"{{"id":{id},"status":"{status}","question_id":"{q}","model_id":"{m}","region":"US","provider_id":"","started_at":"2025-10-01T10:00:00Z","output":{{"error":"{evil}","error_code":"{svg_break}"}}}}"#
        )
    };
    let body = format!(
        r#"{{"executions":[{},{},{}]}}"#,
        row(1, evil, "m", "failed"),
        row(2, "q1", attr_break, "failed"),
        row(3, "q1", "m", evil)
    );
    let spec = format!(
        r#"{{"questions":["q1","{evil}"],"constraints":{{"regions":["US"]}},"models":[{{"id":"m","regions":["US"]}},{{"id":"{attr_break}","regions":["US"]}}]}}"#
    );
    let providers = format!(
        r#"{{"providers":[{{"name":"{evil}","region":"{attr_break}","healthy":true,"last_health_check":0}}]}}"#
    );
    let (_d, db) = record_bodies(body, spec, providers, 3);
    let html = bb(&db, &["report", "--format", "html"]).ok().stdout;
    let doc = Html::parse_document(&html);
    assert_eq!(count(&doc, "script, img, iframe"), 0, "{html}");
    for e in doc.select(&Selector::parse("*").unwrap()) {
        for (name, _) in e.value().attrs() {
            assert!(
                !name.starts_with("on"),
                "attribute {name} on <{}>",
                e.value().name()
            );
        }
    }
    // The values are there, as text.
    let text: String = doc.root_element().text().collect();
    assert!(text.contains("<script>alert(1)</script>"));
    assert!(text.contains(r#""><img src=x onerror=alert(2)>"#));
    assert!(text.contains("</text></svg><iframe"));
    // The page is still whole: every lane drawn.
    for lane in ["#rows-0", "#waterfall-0", "#router", "#fetches", "#grid-0"] {
        assert_eq!(count(&doc, lane), 1, "{lane}");
    }
}

fn addr_of(line: &str) -> String {
    // "live page at http://127.0.0.1:PORT/ ..."
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_string()
}

fn seq_of(h: &reqwest::header::HeaderMap) -> u64 {
    h["x-seq"].to_str().unwrap().parse().unwrap()
}

/// `serve-report` serves the page, read-only, and follows the commits of another process.
#[test]
fn served_page_follows_commits_of_another_process() {
    use beacon_blackbox::clock::ManualClock;
    use beacon_blackbox::source::{FakeSource, Reply};
    let clock = std::sync::Arc::new(ManualClock::new(T0));
    let src = FakeSource::new(clock.clone(), |_, req| match req.kind {
        beacon_blackbox::fetch::SourceKind::RunnerExecAll => Reply::json(
            200,
            r#"{"executions":[{"id":1,"status":"running","model_id":"m","question_id":"q1","region":"US"}]}"#,
        ),
        _ => Reply::json(503, "{}"),
    });
    let (_d, db) = tmp();
    let mut opts = options(&["job-x"], 5.0);
    opts.stop = beacon_blackbox::record::Stop::Count(3);
    record_lib(&db, opts.clone(), &src, clock.clone());
    let dbs = db.to_str().unwrap();
    let (_srv, line) = spawn_until(
        &["serve-report", "--db", dbs, "--listen", "127.0.0.1:0"],
        "live page at",
    );
    assert!(line.contains("127.0.0.1"), "{line}");
    let base = addr_of(&line);
    let (status, h, body) = http_get(&format!("{base}/")).unwrap();
    assert_eq!(status, 200);
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let text = String::from_utf8(body).unwrap();
    let doc = Html::parse_document(&text);
    assert_eq!(attr(&doc, "main", "data-seq"), vec!["3"]);
    assert_eq!(count(&doc, "script"), 1, "the live page's one script");
    // No recorder holds the file: said so, not "live".
    assert!(text.contains("File not being recorded"), "{text}");
    // One holds it (here a reader in this process, as a recorder would): the page says so.
    let held = beacon_blackbox::store::open_reader(&db).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, _, body) = http_get(&format!("{base}/")).unwrap();
        if String::from_utf8_lossy(&body).contains("Live: recording") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never said recording");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(held);
    // Nothing new: 204. Behind: the newer <main>.
    assert_eq!(http_get(&format!("{base}/main?after=3")).unwrap().0, 204);
    let (s, h, _) = http_get(&format!("{base}/main?after=1")).unwrap();
    assert_eq!((s, seq_of(&h)), (200, 3));
    // Another recorder appends two snapshots: the page follows.
    opts.stop = beacon_blackbox::record::Stop::Count(2);
    record_lib(&db, opts, &src, clock);
    // The file is looked at for a new snapshot at most every 750 ms (a flood of clients is
    // served the page in hand meanwhile): the page follows within that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let (s, h, body) = loop {
        let (s, h, body) = http_get(&format!("{base}/main?after=3")).unwrap();
        if s == 200 || std::time::Instant::now() > deadline {
            break (s, h, body);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!((s, seq_of(&h)), (200, 5));
    let main = Html::parse_fragment(&String::from_utf8(body).unwrap());
    let marks: usize = attr(&main, "#lanes .hb", "data-n")
        .iter()
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(marks, 5 * 4, "4 requests a poll, 5 polls");
    // Read-only, and nothing but the page.
    let post = status_of(|c| c.post(format!("{base}/")));
    assert_eq!(post, 405);
    assert_eq!(http_get(&format!("{base}/../etc/passwd")).unwrap().0, 404);
    // Another name for this address (DNS rebinding): refused.
    let rebound = status_of(|c| c.get(format!("{base}/")).header("host", "attacker.example"));
    assert_eq!(rebound, 421);
}

/// The status of one request built from a fresh client.
fn status_of(req: impl FnOnce(reqwest::Client) -> reqwest::RequestBuilder) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    beacon_blackbox::source::install_crypto();
    let r = req(reqwest::Client::new());
    rt.block_on(async { r.send().await.unwrap().status().as_u16() })
}

/// `serve-report` on something that is not a recording fails at once, with one line.
#[test]
fn serving_a_missing_file_fails_cleanly() {
    let (_d, db) = tmp();
    let r = bb(&db, &["serve-report", "--listen", "127.0.0.1:0"]);
    r.clean_failure();
}

/// `record --ui` serves the page of the recording it is making, updated as it commits.
#[test]
fn record_ui_serves_the_recording_as_it_grows() {
    let sim = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let (_rec, line) = spawn_until(
        &[
            "record",
            "--db",
            db.to_str().unwrap(),
            "--runner",
            &sim.runner,
            "--router",
            &sim.router,
            "--job",
            "bias-detection-1759330371966",
            "--interval",
            "300ms",
            "--max-runner-rpm",
            "1000",
            "--duration",
            "60s",
            "--ui",
            "127.0.0.1:0",
        ],
        "live page at",
    );
    let base = addr_of(&line);
    // Until the first commit the page waits; then it is the recording's, marked live.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let first = loop {
        let (s, h, _) = http_get(&format!("{base}/main?after=0")).unwrap();
        if s == 200 {
            break seq_of(&h);
        }
        assert!(std::time::Instant::now() < deadline, "no snapshot served");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let (_, _, body) = http_get(&format!("{base}/")).unwrap();
    assert!(String::from_utf8_lossy(&body).contains("Live: recording"));
    let later = loop {
        let (s, h, _) = http_get(&format!("{base}/main?after={first}")).unwrap();
        if s == 200 {
            break seq_of(&h);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page did not follow"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(later > first);
}

/// Issue 16: `record --ui` shows its last snapshot and says the recording ended; the page's
/// header is the live state, not "updates by itself" when nothing will.
#[test]
fn record_ui_shows_its_last_snapshot_and_says_it_ended() {
    let sim = start_sim("classic", 60.0);
    let (_d, db) = tmp();
    let (mut rec, line) = spawn_until(
        &[
            "record",
            "--db",
            db.to_str().unwrap(),
            "--runner",
            &sim.runner,
            "--router",
            &sim.router,
            "--job",
            "bias-detection-1759330371966",
            "--interval",
            "300ms",
            "--max-runner-rpm",
            "1000",
            "--duration",
            "2s",
            "--ui",
            "127.0.0.1:0",
        ],
        "live page at",
    );
    let base = addr_of(&line);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (token, body) = loop {
        if let Ok((200, h, b)) = http_get(&format!("{base}/main?after=0")) {
            let t = h["x-seq"].to_str().unwrap().to_string();
            if t.ends_with('e') {
                break (t, String::from_utf8_lossy(&b).into_owned());
            }
        }
        assert!(std::time::Instant::now() < deadline, "never said it ended");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    // The page of the last snapshot the file holds.
    let _ = rec.0.wait();
    let last = bb(&db, &["snapshots", "--json"]).ok().json();
    let n = last.as_array().unwrap().last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(token, format!("{n}e"));
    assert!(
        body.contains(&format!(
            "Recording ended at snapshot {n}: this page no longer changes."
        )),
        "{body}"
    );
    assert!(!body.contains("updates by itself"));
}

/// A window cut from the middle: bars begun before it or going on after it keep their real
/// length (two-minute timeouts are not drawn as near-instant) and are marked as cut.
#[test]
fn bars_cut_by_the_axis_keep_their_real_length() {
    let (d, db, _) = record_scenario("classic", 30.0);
    let one = d.path().join("one.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "20",
            "--to",
            "20",
            "--out",
            one.to_str().unwrap(),
        ],
    )
    .ok();
    let doc = page(&one);
    let bars = count(&doc, "#lanes .bar");
    assert!(bars > 0);
    assert_eq!(
        count(&doc, "#lanes .bar.instant"),
        0,
        "none of them was near-instant"
    );
    assert!(count(&doc, "#lanes .cut") > 0);
    let titles: Vec<String> = doc
        .select(&Selector::parse("#lanes .bar.st-failed title").unwrap())
        .map(|t| t.text().collect())
        .collect();
    assert!(titles.iter().all(|t| t.contains("2m00s")), "{titles:?}");
}

/// A recorder's clock that stepped back mid-recording still gives a page (not a crash).
#[test]
fn a_clock_that_steps_back_still_draws() {
    use beacon_blackbox::store::{Poll, Sharing, Writer};
    let (_d, db) = tmp();
    let mut w = Writer::open_with(&db, Sharing::Exclusive).unwrap();
    for (i, t) in [T0, T0 + 5_000_000, T0 - 3_600_000_000, T0 - 3_595_000_000]
        .into_iter()
        .enumerate()
    {
        let f = beacon_blackbox::fetch::Fetched {
            kind: beacon_blackbox::fetch::SourceKind::RouterHealth,
            job: None,
            url: "http://router.test/health".into(),
            status: Some(200),
            latency_us: 1000,
            content_type: None,
            body: Some(
                format!(
                    r#"{{"status":"healthy","providers_total":1,"providers_healthy":{}}}"#,
                    i % 2
                )
                .into_bytes(),
            ),
            error: None,
            retry_after: None,
            location: None,
            date_us: None,
            sent_at_us: None,
            retried: None,
            secrets_removed: 0,
        };
        let poll = Poll {
            started_at: t,
            ended_at: t + 1000,
            fetches: vec![f],
        };
        let obs = beacon_blackbox::normalise::normalise(&poll.fetches);
        w.ingest(&poll, &obs).unwrap();
    }
    drop(w);
    let doc = page(&db);
    assert_eq!(count(&doc, "#router"), 1);
    assert!(
        count(&doc, "#lanes .band.norec") >= 1,
        "the hour nobody recorded is shaded"
    );
}
