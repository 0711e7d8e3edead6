//! Issue 12: the ways out. Parquet read back and compared with what `show` says; JSON lines;
//! the Chrome trace.

use crate::common::*;
use parquet::file::reader::SerializedFileReader;
use parquet::record::RowAccessor;
use serde_json::Value;
use std::collections::BTreeMap;

/// `blackbox export --format FORMAT --out OUT`, which must succeed.
fn export(db: &std::path::Path, format: &str, out: &std::path::Path) -> Run {
    bb(
        db,
        &["export", "--format", format, "--out", out.to_str().unwrap()],
    )
    .ok()
}

/// Column index by name in a Parquet file's rows.
fn rows(path: &std::path::Path) -> (Vec<String>, Vec<parquet::record::Row>) {
    let r = SerializedFileReader::try_from(path).unwrap();
    let names = {
        use parquet::file::reader::FileReader;
        r.metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect()
    };
    let rows = r.into_iter().map(Result::unwrap).collect();
    (names, rows)
}

#[test]
fn parquet_read_back_agrees_with_show() {
    let (d, db, _) = record_scenario("classic", 30.0);
    let out = d.path().join("pq");
    export(&db, "parquet", &out);
    let (names, execs) = rows(&out.join("executions.parquet"));
    let col = |n: &str| names.iter().position(|x| x == n).unwrap();
    let (id, seq, gone, status) = (col("id"), col("seq"), col("gone"), col("status"));
    // The last version of every execution, as the last snapshot had it.
    let mut last: BTreeMap<i64, (i64, Option<String>)> = BTreeMap::new();
    for r in &execs {
        let s = r.get_long(seq).unwrap();
        let st = if r.get_bool(gone).unwrap() {
            None
        } else {
            Some(r.get_string(status).unwrap().clone())
        };
        let e = last
            .entry(r.get_long(id).unwrap())
            .or_insert((s, st.clone()));
        if s >= e.0 {
            *e = (s, st);
        }
    }
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for (_, st) in last.values() {
        if let Some(st) = st {
            *by_status.entry(st.clone()).or_default() += 1;
        }
    }
    let show = bb(&db, &["show", "--json"]).ok().json();
    let want: BTreeMap<String, u64> = show["jobs"][0]["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(by_status, want);
    assert_eq!(last.len() as u64, show["jobs"][0]["rows"].as_u64().unwrap());
    // Snapshots and requests: as many as `snapshots --json` lists.
    let snaps = bb(&db, &["snapshots", "--json"]).ok().json();
    let snaps = snaps.as_array().unwrap();
    let (_, s) = rows(&out.join("snapshots.parquet"));
    assert_eq!(s.len(), snaps.len());
    let (qn, q) = rows(&out.join("requests.parquet"));
    let requests: usize = snaps
        .iter()
        .map(|s| s["sources"].as_array().unwrap().len())
        .sum();
    assert_eq!(q.len(), requests);
    let url = qn.iter().position(|x| x == "url").unwrap();
    assert!(q[0].get_string(url).unwrap().starts_with("http://"));
    // Findings and events carry their kind and sentence.
    let (fnames, f) = rows(&out.join("findings.parquet"));
    let kind = fnames.iter().position(|x| x == "kind").unwrap();
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let kinds: Vec<String> = f
        .iter()
        .map(|r| r.get_string(kind).unwrap().clone())
        .collect();
    let want: Vec<String> = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, want);
    for t in ["jobs", "router", "providers", "events"] {
        assert!(!rows(&out.join(format!("{t}.parquet"))).1.is_empty(), "{t}");
    }
}

#[test]
fn jsonl_and_trace() {
    let (d, db, _) = record_scenario("classic", 30.0);
    let out = d.path().join("jl");
    export(&db, "jsonl", &out);
    let read = |t: &str| -> Vec<Value> {
        std::fs::read_to_string(out.join(format!("{t}.jsonl")))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let ex = read("executions");
    assert!(
        ex.iter()
            .all(|e| e["recording_id"].as_str().unwrap().len() == 32)
    );
    let ids: std::collections::BTreeSet<i64> =
        ex.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 44);
    assert!(
        read("events")
            .iter()
            .any(|e| e["kind"] == "cell_duplicated")
    );
    // The trace: one slice per execution, on a track per cell; 36 cells.
    let trace = d.path().join("t.json");
    export(&db, "trace", &trace);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let ev = v["traceEvents"].as_array().unwrap();
    let slices: Vec<&Value> = ev.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(slices.len(), 44);
    assert!(
        slices.iter().all(|s| s["dur"] == 120_000_000),
        "every one timed out after 120 s"
    );
    let tracks = ev
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .count();
    assert_eq!(tracks, 36);
}

/// An output path that is the recording (or a link to it) is refused and the recording left
/// as it was; a sealed bundle is never written to, so its seal stays true.
#[test]
fn outputs_never_overwrite_the_recording_and_bundles_stay_sealed() {
    let (d, db, _) = record_scenario("classic", 30.0);
    let before = std::fs::read(&db).unwrap();
    let db_s = db.to_str().unwrap();
    let line = bb(&db, &["export", "--format", "trace", "--out", db_s])
        .clean_failure()
        .to_string();
    assert!(line.contains("recording itself"), "{line}");
    let link = d.path().join("alias.html");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    bb(&db, &["report", "--out", link.to_str().unwrap()]).clean_failure();
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the recording changed"
    );
    bb(&db, &["verify"]).ok();

    let bundle = d.path().join("cut.redb");
    bb(
        &db,
        &[
            "cut",
            "--from",
            "2",
            "--to",
            "5",
            "--out",
            bundle.to_str().unwrap(),
        ],
    )
    .ok();
    let sealed = std::fs::read(&bundle).unwrap();
    let line = bb(&bundle, &["note", "hello"]).clean_failure().to_string();
    assert!(line.contains("sealed bundle"), "{line}");
    assert!(
        std::fs::read(&bundle).unwrap() == sealed,
        "the bundle changed"
    );
    bb(&bundle, &["verify"]).ok();
}

/// Rows with a repeated id or none are exported too (`extra_rows`): every row the report
/// counts is in the export.
#[test]
fn rows_without_a_place_of_their_own_are_exported() {
    let body = r#"{"executions":[
        {"id":1,"status":"failed","model_id":"m","question_id":"q1","region":"US"},
        {"id":1,"status":"failed","model_id":"m","question_id":"q2","region":"US"},
        {"id":18446744073709551615,"status":"running","model_id":"m","question_id":"q3","region":"US"}]}"#;
    let (d, db) = record_bodies(body.into(), "{}".into(), r#"{"providers":[]}"#.into(), 2);
    let out = d.path().join("out");
    let o = export(&db, "jsonl", &out);
    assert!(o.stdout.contains("2 rows kept beside them"), "{}", o.stdout);
    let text = std::fs::read_to_string(out.join("extra_rows.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let whys: Vec<(&str, Value)> = lines
        .iter()
        .map(|r| (r["why"].as_str().unwrap(), r["id"].clone()))
        .collect();
    assert_eq!(
        whys,
        vec![("duplicate_id", Value::from(1)), ("no_id", Value::Null)],
        "{text}"
    );
    assert_eq!(lines[0]["question_id"], "q2");
    let out = d.path().join("out-parquet");
    export(&db, "parquet", &out);
    let (_, pq) = rows(&out.join("extra_rows.parquet"));
    assert_eq!(pq.len(), 2);
}
