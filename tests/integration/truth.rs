//! Issue 17: one truth in every view. The README's queries — read from README.md itself, so the
//! documented ones are the tested ones — run against a real ClickHouse (the one the ClickHouse
//! test starts) and against the Parquet export with real duckdb, on several scenarios, and give
//! `report --json`'s numbers.

use crate::clickhouse;
use crate::common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The SQL statements of the README's ```sql block that follows `heading`, each with its first
/// comment line as its name.
fn readme_queries(heading: &str) -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading}"))..];
    let block = after
        .split("```sql\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    let mut out = Vec::new();
    let mut name = String::new();
    for line in block.lines() {
        if let Some(c) = line.strip_prefix("-- ") {
            name = c.to_string();
        } else if !line.trim().is_empty() {
            out.push((name.clone(), line.trim_end_matches(';').to_string()));
        }
    }
    assert!(!out.is_empty());
    out
}

fn report(db: &Path) -> Value {
    bb(db, &["report", "--json"]).ok().json()
}

/// `report --json`'s rows by status at the end, per job, summed.
fn by_status(rep: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for j in rep["jobs"].as_array().unwrap() {
        for (k, v) in j["by_status"].as_object().unwrap() {
            *m.entry(k.clone()).or_default() += v.as_u64().unwrap();
        }
    }
    m
}

/// duckdb, from PyPI (`.ci/run` installs it): `None` where it is not installed.
fn duckdb(dir: &Path, sql: &str) -> Option<Vec<Vec<Value>>> {
    let script = r#"
import json, sys
try:
    import duckdb
except ImportError:
    print("NO-DUCKDB"); sys.exit(0)
con = duckdb.connect()
rows = con.execute(sys.argv[1]).fetchall()
print(json.dumps([[str(x) if not isinstance(x, (int, float, bool, type(None))) else x for x in r] for r in rows]))
"#;
    let out = std::process::Command::new("python3")
        .current_dir(dir)
        .args(["-c", script, sql])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim() == "NO-DUCKDB" || !out.status.success() {
        assert!(
            out.status.success(),
            "duckdb failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("SKIPPED: duckdb is not installed (.ci/run installs it: pip install duckdb)");
        return None;
    }
    Some(serde_json::from_str(text.trim()).unwrap())
}

/// The README's duckdb queries on each scenario's Parquet export give the report's numbers.
#[test]
fn duckdb_queries_of_the_readme_give_the_reports_numbers() {
    let queries = readme_queries("With duckdb");
    for name in ["classic", "outage", "cutoff"] {
        let (d, db, _) = record_scenario(name, 30.0);
        let dir = d.path().join("incident");
        bb(
            &db,
            &[
                "export",
                "--format",
                "parquet",
                "--out",
                dir.to_str().unwrap(),
            ],
        )
        .ok();
        let rep = report(&db);
        for (what, sql) in &queries {
            let Some(rows) = duckdb(d.path(), sql) else {
                return;
            };
            match what.as_str() {
                w if w.starts_with("Rows by status") => {
                    let got: BTreeMap<String, u64> = rows
                        .iter()
                        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
                        .collect();
                    assert_eq!(got, by_status(&rep), "{name}: {sql}");
                }
                w if w.starts_with("Each job's answer") => {
                    for (r, j) in rows.iter().zip(rep["jobs"].as_array().unwrap()) {
                        let a = &j["answer"];
                        assert_eq!(r[0], j["job_id"]);
                        assert_eq!(r[1], j["expected"]["cells"], "{name} expected");
                        assert_eq!(r[2], a["complete"]["rows"], "{name} rows");
                        assert_eq!(r[3], a["complete"]["covered"], "{name} covered");
                        assert_eq!(r[4], a["missing"], "{name} missing");
                        assert_eq!(r[5], a["complete"]["duplicated_cells"], "{name} dup");
                        assert_eq!(r[6], a["complete"]["extra_runs"], "{name} extra");
                        assert_eq!(r[7], j["failures"]["total"], "{name} failed");
                    }
                }
                w if w.starts_with("The cells that ran more than once") => {
                    let want: usize = rep["jobs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|j| j["cells"]["duplicated"].as_array().unwrap().len())
                        .sum();
                    assert_eq!(rows.len(), want, "{name}: {sql}");
                }
                other => panic!("a README query no test checks: {other}"),
            }
        }
    }
}

/// The README's ClickHouse queries, on three recordings shipped into one server, give each
/// recording's report numbers.
#[test]
fn clickhouse_queries_of_the_readme_give_the_reports_numbers() {
    let Some(ch) = clickhouse::start() else {
        return;
    };
    let mut reps: BTreeMap<String, Value> = BTreeMap::new();
    let mut keep = Vec::new();
    for name in ["classic", "outage", "cutoff"] {
        // Judged while recorded, as `record` does by default.
        let (d, db, _) = record_scenario_with(name, 30.0, true);
        bb(
            &db,
            &["ship", "--clickhouse", &ch.url(), "--database", "blackbox"],
        )
        .ok();
        let out = d.path().join("j");
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
        let id: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        reps.insert(
            id["recording_id"].as_str().unwrap().to_string(),
            report(&db),
        );
        keep.push(d);
    }
    let rows = |sql: &str| -> Vec<Vec<String>> {
        ch.query(&format!("{sql} FORMAT TabSeparated"))
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    };
    for (what, sql) in readme_queries("are the fleet view") {
        let got = rows(&sql);
        match what.as_str() {
            w if w.starts_with("Duplicated cells per job") => {
                let mut want = Vec::new();
                for (id, rep) in &reps {
                    for j in rep["jobs"].as_array().unwrap() {
                        want.push(vec![
                            id.clone(),
                            j["job_id"].as_str().unwrap().to_string(),
                            j["cells"]["duplicated"]
                                .as_array()
                                .unwrap()
                                .len()
                                .to_string(),
                        ]);
                    }
                }
                // Jobs without a listed matrix have no cells: only those with cells answer.
                assert_eq!(got, want, "{sql}");
            }
            w if w.starts_with("Failed rows by error code") => {
                for (id, rep) in &reps {
                    let mine: Vec<&Vec<String>> = got.iter().filter(|r| r[0] == *id).collect();
                    let total: u64 = mine.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
                    let failed: u64 = rep["jobs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|j| j["failures"]["total"].as_u64().unwrap())
                        .sum();
                    assert_eq!(total, failed, "{id}: {got:?}");
                    // Each signature's count, by error code.
                    let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
                    for j in rep["jobs"].as_array().unwrap() {
                        for s in j["failures"]["signatures"].as_array().unwrap() {
                            let code = s["key"]["error_code"].as_str().unwrap_or("\\N").to_string();
                            *by_code.entry(code).or_default() += s["count"].as_u64().unwrap();
                        }
                    }
                    let mut got_codes: BTreeMap<String, u64> = BTreeMap::new();
                    for r in &mine {
                        *got_codes.entry(r[2].clone()).or_default() += r[3].parse::<u64>().unwrap();
                    }
                    assert_eq!(got_codes, by_code, "{id}");
                    // The version is what /health said: every recording here says "sim".
                    for r in &mine {
                        assert!(r[1] == "sim" || r[1] == "\\N", "{r:?}");
                    }
                    if failed > 0 && rep["router"]["recorded"] == true {
                        assert!(mine.iter().any(|r| r[1] == "sim"), "{mine:?}");
                    }
                }
            }
            w if w.starts_with("From the first row seen to the first failure seen") => {
                for (id, rep) in &reps {
                    for j in rep["jobs"].as_array().unwrap() {
                        if j["failures"]["total"] == 0 {
                            continue;
                        }
                        let r = got
                            .iter()
                            .find(|r| r[0] == *id && r[1] == j["job_id"].as_str().unwrap())
                            .unwrap_or_else(|| panic!("{id}: {got:?}"));
                        let first_row = chrono_us(&j["growth"]["first_row_at"]);
                        let first_failed = chrono_us(&j["failures"]["first_seen_failed_at"]);
                        let secs: f64 = r[2].parse().unwrap();
                        assert!(
                            (secs - (first_failed - first_row) as f64 / 1e6).abs() < 1e-6,
                            "{r:?}"
                        );
                        // Both on the recorder's clock: never negative, skew or not.
                        assert!(secs >= 0.0, "{r:?}");
                        match &j["clock_skew"] {
                            Value::Null => assert_eq!(r[3], "\\N"),
                            k => assert_eq!(
                                r[3].parse::<f64>().unwrap(),
                                k["offset_seconds"].as_f64().unwrap()
                            ),
                        }
                    }
                }
            }
            w if w.starts_with("Each recording's findings as its last shipped report") => {
                for (id, rep) in &reps {
                    let mine: Vec<Vec<String>> = got
                        .iter()
                        .filter(|r| r[0] == *id)
                        .map(|r| vec![r[1].clone(), r[2].clone(), r[6].clone()])
                        .collect();
                    let want: Vec<Vec<String>> = rep["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .enumerate()
                        .map(|(n, f)| {
                            vec![
                                n.to_string(),
                                f["kind"].as_str().unwrap().to_string(),
                                f["first_seen"]["seq"]
                                    .as_u64()
                                    .map_or("\\N".to_string(), |s| s.to_string()),
                            ]
                        })
                        .collect();
                    assert_eq!(mine, want, "{id}");
                    assert!(mine.iter().any(|r| r[2] != "\\N"), "{id}: none first seen");
                }
            }
            other => panic!("a README query no test checks: {other}"),
        }
    }
    // Shipping again sends nothing and changes no answer.
    let again = rows("SELECT count() FROM blackbox.answers");
    for d in &keep {
        let db = d.path().join("rec.redb");
        let r = bb(
            &db,
            &["ship", "--clickhouse", &ch.url(), "--database", "blackbox"],
        )
        .ok();
        assert!(
            r.stdout.contains("shipped 0 snapshots (0 rows)"),
            "{}",
            r.stdout
        );
    }
    assert_eq!(rows("SELECT count() FROM blackbox.answers"), again);
    let _ = json!(null);
}

fn chrono_us(v: &Value) -> i64 {
    let s = v.as_str().unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
    t.timestamp_micros()
}
