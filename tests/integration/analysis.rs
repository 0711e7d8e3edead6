//! `show`, `diff` and `report` on simulator recordings.

use crate::common::*;
use serde_json::Value;

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn classic_report_answers_why_20_instead_of_36() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    let rep = bb(&db, &["report", "--format", "json"]).ok().json();
    let j = &rep["jobs"][0];
    assert_eq!(j["expected"]["cells"], 36);
    assert_eq!(j["expected"]["declared"], 36);
    assert_eq!(j["cells"]["covered"], 36);
    assert!(j["cells"]["missing"].as_array().unwrap().is_empty());
    let dups = j["cells"]["duplicated"].as_array().unwrap();
    assert_eq!(dups.len(), 8);
    assert!(
        dups.iter()
            .all(|d| d["execution_ids"].as_array().unwrap().len() == 2)
    );
    assert_eq!(j["default_view"]["rows"], 20);
    assert_eq!(j["default_view"]["truncated"], true);
    assert_eq!(j["default_view"]["hidden"], 24);
    let f = &j["failures"];
    assert_eq!(f["total"], 44);
    assert_eq!(f["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(f["signatures"][0]["key"]["error_code"], "ROUTER_TIMEOUT");
    assert_eq!(f["signatures"][0]["key"]["provider_empty"], true);
    assert_eq!(
        f["duration_modes"][0],
        serde_json::json!({"seconds": 120, "count": 44})
    );
    assert!(f["clusters"].as_array().unwrap().len() >= 2);
    // rows_over_time grows and ends at 44.
    let rows: Vec<u64> = j["rows_over_time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rows"].as_u64().unwrap())
        .collect();
    assert!(rows.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*rows.last().unwrap(), 44);
    assert_eq!(rep["router"]["all_healthy_throughout"], true);
    assert_eq!(rep["router"]["failed_while_all_healthy"], 44);
    // The findings are typed: one says what the default view showed.
    let f0 = findings_of(&rep, "default_view_truncated")[0];
    assert_eq!(
        (f0["shown"].as_u64(), f0["complete"].as_u64()),
        (Some(20), Some(44))
    );
    assert!(f0["message"].as_str().unwrap().contains("showed 20 of 44"));
    let cov = findings_of(&rep, "coverage");
    assert_eq!(cov[0]["expected"], 36);
    assert_eq!(cov[0]["duplicated_cells"], 8);
    assert_eq!(cov[0]["extra_runs"], 8);
    assert_eq!(cov[0]["repeated_rows"], 0);
    let exact = findings_of(&rep, "exact_duration");
    assert_eq!(
        (exact[0]["seconds"].as_u64(), exact[0]["count"].as_u64()),
        (Some(120), Some(44))
    );
    assert_eq!(exact[0]["timeout_named"], true);
    let healthy = findings_of(&rep, "router_all_healthy");
    assert_eq!(
        (
            healthy[0]["healthy"].as_u64(),
            healthy[0]["failed_rows"].as_u64()
        ),
        (Some(3), Some(44))
    );
    let sig = findings_of(&rep, "failure_signature");
    assert_eq!(sig[0]["key"]["error_code"], "ROUTER_TIMEOUT");
    assert_eq!(
        sig[0]["error_text"],
        "hybrid error: hybrid timeout: HTTP request timeout"
    );
    // The answer paragraph puts the numbers together, per job.
    let a = &j["answer"];
    assert_eq!(a["expected"]["cells"], 36);
    assert_eq!(a["default_view"]["rows"], 20);
    assert_eq!(
        a["default_view"]["duplicates_shown"], 8,
        "the newest 20 hold the redeliveries"
    );
    assert_eq!(a["complete"]["rows"], 44);
    assert_eq!(a["complete"]["covered"], 36);
    assert_eq!(a["complete"]["extra_runs"], 8);
    assert_eq!(a["missing"], 0);
    assert_eq!(a["output"]["error_in_list"], 44);
    assert_eq!(a["output"]["null_in_list"], 0);
    // The Markdown report pastes the same findings first, then the matrix.
    let md = bb(&db, &["report"]).ok().stdout;
    let fpos = md.find("## Findings").unwrap();
    let mpos = md.find("### Matrix").unwrap();
    assert!(fpos < mpos);
    assert!(md.contains("| identity_basic |"));
    assert!(md.contains("**failed ×2**"));
    // --out writes the file.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    // The format follows the file's name.
    bb(&db, &["report", "--out", out.to_str().unwrap()]).ok();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("<!doctype html>")
    );
}

#[test]
fn cutoff_finds_missing_cells_unplanned_region_and_unexpected_model() {
    let s = start_sim("cutoff", 100_000.0);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (_d, db) = tmp();
    let job = s.job();
    s.record_count(&db, 2, "50ms").ok();
    let show = bb(&db, &["show", "--json", "--job", &job]).ok().json();
    let j = &show["jobs"][0];
    assert_eq!(j["status"], "queued");
    assert_eq!(j["expected"]["path"], "cross-region");
    assert_eq!(j["expected"]["declared"], 18);
    assert_eq!(
        j["expected"]["cells"], 12,
        "ASIA has no provider at the router"
    );
    assert_eq!(
        strs(&j["expected"]["unplanned_regions"]),
        vec!["asia-pacific"]
    );
    let missing = j["cells"]["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 2);
    assert!(
        missing
            .iter()
            .all(|m| m["model_id"] == "mistral-7b" && m["region"] == "eu-west")
    );
    let unexpected = j["cells"]["unexpected"].as_array().unwrap();
    assert_eq!(unexpected.len(), 1);
    assert_eq!(unexpected[0]["model_id"], "gpt-oss-20b");
    let rep = bb(&db, &["report", "--json"]).ok().json();
    let missing = findings_of(&rep, "missing_cells");
    assert_eq!(missing[0]["count"], 2);
    assert_eq!(missing[0]["cells"].as_array().unwrap().len(), 2);
    let unexpected = findings_of(&rep, "unexpected_rows");
    assert!(
        unexpected[0]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("gpt-oss-20b not in spec")
    );
    let unplanned = findings_of(&rep, "unplanned_regions");
    assert_eq!(unplanned[0]["regions"], serde_json::json!(["asia-pacific"]));
    // modal-eu-west was never checked while the router called it healthy: assumed, not
    // measured, and said so.
    let assumed: Vec<_> = findings_of(&rep, "provider_state")
        .into_iter()
        .filter(|f| f["state"] == "assumed_healthy")
        .collect();
    assert_eq!(assumed.len(), 1, "{}", rep["findings"]);
    assert_eq!(assumed[0]["providers"][0][0], "modal-eu-west");
    // The router is recorded; `show` of an unknown job is a clear error.
    bb(&db, &["show", "--job", "nope"]).clean_failure();
}

#[test]
fn diff_between_points_and_selectors() {
    let (_d, db, _) = record_scenario("classic", 30.0);
    for sel in ["first", "last", "3", "-2", "+1m"] {
        let d = bb(&db, &["diff", sel, sel, "--json"]).ok().json();
        let j = &d["jobs"][0];
        assert!(j["status"].is_null());
        assert!(j["executions"]["added"].as_array().unwrap().is_empty());
        assert!(j["executions"]["changed"].as_array().unwrap().is_empty());
        assert!(d["router"]["changes"].as_object().unwrap().is_empty());
    }
    assert!(
        bb(&db, &["diff", "last", "last"])
            .ok()
            .stdout
            .contains("no changes")
    );
    // A minute in, six rows are running; by the end all 44 have failed.
    let first = bb(&db, &["show", "--at", "+1m", "--json"]).ok().json();
    assert_eq!(first["jobs"][0]["rows"], 6);
    let d = bb(&db, &["diff", "+1m", "last", "--json"]).ok().json();
    let j = &d["jobs"][0];
    let added = j["executions"]["added"].as_array().unwrap().len() as u64;
    assert_eq!(first["jobs"][0]["rows"].as_u64().unwrap() + added, 44);
    assert!(
        !j["cells"]["newly_duplicated"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let changed = j["executions"]["changed"].as_array().unwrap();
    assert!(
        changed
            .iter()
            .any(|c| c["fields"]["status"] == serde_json::json!(["running", "failed"])),
        "{changed:?}"
    );
    // An RFC 3339 selector picks the last snapshot at or before it.
    let t = first["snapshot"]["taken_at"].as_str().unwrap().to_string();
    let at = bb(&db, &["show", "--at", &t, "--json"]).ok().json();
    assert_eq!(at["snapshot"]["seq"], first["snapshot"]["seq"]);
    let line = bb(&db, &["show", "--at", "999999"])
        .clean_failure()
        .to_string();
    assert!(line.contains("no snapshot 999999"), "{line}");
}

/// Sweeps over row versions run split by id range on threads; the split must not show. Checked
/// on the scenarios (duplicates, vanished rows, failures) and a synthetic file with many rows.
#[test]
fn split_sweeps_agree_with_one_sweep() {
    use beacon_blackbox::analysis::{Recording, timeline};
    use beacon_blackbox::store::open_reader;
    let synth_dir = tempfile::tempdir().unwrap();
    let synth = synth_dir.path().join("s.redb");
    let o = beacon_blackbox::synth::SynthOptions {
        executions: 300,
        snapshots: 40,
        change_rate: 0.2,
        seed: 7,
        durable: false,
    };
    beacon_blackbox::synth::build(&synth, &o).unwrap();
    let mut files = vec![];
    for name in ["classic", "cutoff", "outage", "legacy"] {
        files.push(record_scenario(name, 30.0));
    }
    let paths: Vec<&std::path::Path> = files
        .iter()
        .map(|(_, p, _)| p.as_path())
        .chain([synth.as_path()])
        .collect();
    for p in paths {
        let d = open_reader(p).unwrap();
        let mut rec = Recording::open(&d).unwrap();
        let look = |rec: &Recording| {
            let last = rec.infos.last().unwrap().seq;
            let r = serde_json::to_value(beacon_blackbox::analysis::report(rec, None).unwrap())
                .unwrap();
            let t = timeline::timeline(rec, 1, last, &rec.jobs).unwrap();
            (r, serde_json::to_value(t).unwrap())
        };
        rec.threads = 1;
        let one = look(&rec);
        assert!(!one.1.as_array().unwrap().is_empty(), "{p:?}: events");
        for n in [2, 3, 7] {
            rec.threads = n;
            assert!(look(&rec) == one, "{p:?}: {n} ranges differ from one");
        }
    }
}
