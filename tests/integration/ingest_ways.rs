//! The fast ingest (rows unchanged since the last poll not read again, bodies encoded on a
//! second core) stores exactly what reading every row of every poll stores: every table of
//! the two files, key by key and byte by byte.

use beacon_blackbox::beacon::RowCache;
use beacon_blackbox::fetch::{Fetched, SourceKind};
use beacon_blackbox::normalise::normalise;
use beacon_blackbox::store::schema::*;
use beacon_blackbox::store::{Poll, Sharing, Writer};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const JOB: &str = "bias-detection-ways";

fn row(id: i64, status: &str, extra: &str) -> String {
    format!(
        r#"{{"id":{id},"job_id":"{JOB}","status":"{status}","region":"{}","model_id":"m{}","question_id":"q{}","provider_id":"","started_at":"2025-10-01T14:53:09Z","completed_at":"2025-10-01T14:55:09Z","created_at":"2025-10-01T14:53:0{}Z","output":{{"error":"timeout {id}","error_code":"ROUTER_TIMEOUT"}},"retry_history":[]{extra}}}"#,
        ["us-east", "eu-west", "asia-pacific"][(id % 3) as usize],
        (id / 3) % 3,
        id / 9,
        id % 10,
    )
}

fn list(rows: &[String]) -> Vec<u8> {
    format!(r#"{{"executions":[{}]}}"#, rows.join(",")).into_bytes()
}

fn fetched(kind: SourceKind, status: u16, url: &str, body: Option<Vec<u8>>) -> Fetched {
    Fetched {
        kind,
        job: Some(JOB.into()),
        url: url.into(),
        status: (status > 0).then_some(status),
        latency_us: 1000,
        content_type: Some("application/json".into()),
        body,
        error: None,
        retry_after: None,
        location: None,
        date_us: None,
        sent_at_us: None,
        retried: None,
        secrets_removed: 0,
    }
}

fn all(body: Vec<u8>) -> Fetched {
    fetched(
        SourceKind::RunnerExecAll,
        200,
        &format!("http://runner.test/api/v1/jobs/{JOB}/executions/all"),
        Some(body),
    )
}

fn view(rows: &[String]) -> Fetched {
    let body = format!(
        r#"{{"job":{{"questions":["q0"]}},"status":"processing","executions":[{}]}}"#,
        rows.iter().take(20).cloned().collect::<Vec<_>>().join(",")
    );
    fetched(
        SourceKind::RunnerJobDefault,
        200,
        &format!("http://runner.test/api/v1/jobs/{JOB}?include=executions"),
        Some(body.into_bytes()),
    )
}

/// Polls that reach every path: unchanged bodies, a few rows changed, many changed (a
/// checkpoint), rows gone and new, an id twice, rows without an id or not rows at all, fields
/// out of range, the same rows in other bytes, a failed request, `null`, fallback pages, and a
/// body seen two polls earlier.
fn polls() -> Vec<Poll> {
    let mut rows: Vec<String> = (0..300).map(|i| row(i, "running", "")).collect();
    let mut bodies: Vec<Vec<Fetched>> = Vec::new();
    bodies.push(vec![all(list(&rows)), view(&rows)]);
    bodies.push(vec![all(list(&rows)), view(&rows)]);
    for i in [3, 50, 77, 120, 299] {
        rows[i] = row(i as i64, "failed", "");
    }
    bodies.push(vec![all(list(&rows)), view(&rows)]);
    let before_many = rows.clone();
    for i in 0..120 {
        rows[i * 2] = row(i as i64 * 2, "completed", "");
    }
    rows.truncate(280);
    rows.push(row(1000, "running", ""));
    rows.push(row(7, "failed", r#","retry_count":1e400"#));
    rows.push(r#"{"status":"failed","model_id":"m1","question_id":"q1","region":"US"}"#.into());
    rows.push("5".into());
    rows.push(row(1001, "running", r#","started_at":"garbage""#));
    bodies.push(vec![all(list(&rows)), view(&rows)]);
    // The same rows, another key order: other bytes, the same executions.
    let reordered: Vec<String> = rows
        .iter()
        .map(|r| r.replacen(r#"{"id":"#, r#"{"retry_history":[],"id":"#, 1))
        .collect();
    bodies.push(vec![all(list(&reordered)), view(&rows)]);
    bodies.push(vec![
        fetched(
            SourceKind::RunnerExecAll,
            500,
            &format!("http://runner.test/api/v1/jobs/{JOB}/executions/all"),
            Some(b"{\"error\":\"boom\"}".to_vec()),
        ),
        view(&rows),
    ]);
    bodies.push(vec![all(br#"{"executions":null}"#.to_vec()), view(&rows)]);
    // An older runner: paging instead of /executions/all.
    let mut paged = vec![fetched(
        SourceKind::RunnerExecAll,
        404,
        &format!("http://runner.test/api/v1/jobs/{JOB}/executions/all"),
        Some(b"404 page not found".to_vec()),
    )];
    for (k, chunk) in before_many.chunks(200).enumerate() {
        let body = format!(
            r#"{{"job":{{}},"status":"processing","executions":[{}]}}"#,
            chunk.join(",")
        );
        paged.push(fetched(
            SourceKind::RunnerJobPage,
            200,
            &format!(
                "http://runner.test/api/v1/jobs/{JOB}?include=executions&exec_limit=200&exec_offset={}",
                k * 200
            ),
            Some(body.into_bytes()),
        ));
    }
    bodies.push(paged);
    bodies.push(vec![all(list(&rows)), view(&rows)]);
    bodies.push(vec![all(list(&before_many)), view(&before_many)]);
    bodies
        .into_iter()
        .enumerate()
        .map(|(k, fetches)| Poll {
            started_at: 1_759_000_000_000_000 + k as i64 * 5_000_000,
            ended_at: 1_759_000_000_000_000 + k as i64 * 5_000_000 + 1000,
            fetches,
        })
        .collect()
}

fn dump<K: redb::Key + 'static, V: redb::Value + 'static>(
    db: &redb::Database,
    t: TableDefinition<K, V>,
) -> Vec<String>
where
    for<'a> K::SelfType<'a>: std::fmt::Debug,
    for<'a> V::SelfType<'a>: std::fmt::Debug,
{
    let txn = db.begin_read().unwrap();
    let Ok(table) = txn.open_table(t) else {
        return vec!["(no table)".into()];
    };
    table
        .iter()
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            format!("{:?} = {:?}", k.value(), v.value())
        })
        .collect()
}

fn tables(path: &Path) -> Vec<(&'static str, Vec<String>)> {
    let db = redb::Database::open(path).unwrap();
    vec![
        // Every key but the recording's random id.
        (
            "meta",
            dump(&db, META)
                .into_iter()
                .filter(|l| !l.starts_with("\"recording_id\""))
                .collect(),
        ),
        ("sessions", dump(&db, SESSIONS)),
        ("snapshots", dump(&db, SNAPSHOTS)),
        ("strings", dump(&db, STRINGS)),
        ("bodies", dump(&db, BODIES)),
        ("body_index", dump(&db, BODY_INDEX)),
        ("jobs", dump(&db, JOBS)),
        ("job_versions", dump(&db, JOB_VERSIONS)),
        ("exec_versions", dump(&db, EXEC_VERSIONS)),
        ("router_versions", dump(&db, ROUTER_VERSIONS)),
        ("exec_changes", dump(&db, EXEC_CHANGES)),
        ("exec_checkpoints", dump(&db, EXEC_CHECKPOINTS)),
        ("exec_extras", dump(&db, EXEC_EXTRAS)),
        ("notes", dump(&db, NOTES)),
        ("pruned", dump(&db, PRUNED)),
    ]
}

#[test]
fn the_fast_ingest_stores_what_reading_every_row_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (slow, fast) = (dir.path().join("slow.redb"), dir.path().join("fast.redb"));
    let polls = polls();
    {
        let mut a = Writer::open_with(&slow, Sharing::Exclusive).unwrap();
        let mut b = Writer::open_with(&fast, Sharing::Exclusive).unwrap();
        let mut cache = RowCache::default();
        for p in &polls {
            let want = normalise(&p.fetches);
            let sa = a.ingest(p, &want).unwrap();
            let (sb, got) = b.ingest_with(p, &mut cache).unwrap();
            assert_eq!(got, want, "the observations of snapshot {}", sa.seq);
            assert_eq!(
                (sa.seq, sa.exec_versions, sa.new_bodies),
                (sb.seq, sb.exec_versions, sb.new_bodies)
            );
        }
    }
    let (ta, tb) = (tables(&slow), tables(&fast));
    for ((name, a), (_, b)) in ta.iter().zip(&tb) {
        assert_eq!(a.len(), b.len(), "table {name}: rows");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x, y, "table {name}");
        }
    }
    // The polls reached what they were made for.
    let count = |name: &str| ta.iter().find(|(n, _)| *n == name).unwrap().1.len();
    assert!(count("exec_checkpoints") >= 1, "a checkpoint was written");
    assert!(count("exec_extras") >= 1, "rows beside the list were kept");
    assert!(count("exec_versions") > 300);
}
