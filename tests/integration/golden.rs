//! Every output of the four built-in scenarios, byte for byte, as digests in
//! `tests/golden/outputs.txt`: a change that means to leave outputs alone (a restructuring, a
//! speed-up) proves it here. A change that means to change them regenerates the file with
//! `BLACKBOX_UPDATE_GOLDEN=1 cargo test --test integration golden` and shows the difference in
//! review (`target/golden/` then holds every output, for `diff -r` against an earlier run).

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/outputs.txt");

/// Each command whose output is kept, by name.
const COMMANDS: &[(&str, &[&str])] = &[
    ("show", &["show"]),
    ("show.json", &["show", "--json"]),
    ("show-at-3", &["show", "--at", "3", "--verbose"]),
    ("show-rows", &["show", "--rows"]),
    ("show-rows.json", &["show", "--rows", "--json"]),
    ("snapshots", &["snapshots"]),
    ("snapshots-all", &["snapshots", "--all"]),
    ("snapshots.json", &["snapshots", "--json"]),
    ("report.md", &["report"]),
    ("report.json", &["report", "--json"]),
    ("report.html", &["report", "--format", "html"]),
    ("replay", &["replay"]),
    ("replay.json", &["replay", "--json"]),
    ("diff", &["diff", "first", "last", "--verbose"]),
    ("diff.json", &["diff", "first", "last", "--json"]),
];

fn outputs(name: &str, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    // Findings judged while recording, as `record` does by default.
    let (d, db, _) = record_scenario_with(name, 30.0, true);
    let mut out = BTreeMap::new();
    // The exports, the recording's random id replaced (in the report's JSON too).
    let jl = d.path().join("jl");
    bb(
        &db,
        &["export", "--format", "jsonl", "--out", jl.to_str().unwrap()],
    )
    .ok();
    let first = std::fs::read_to_string(jl.join("snapshots.jsonl")).unwrap();
    let id: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let id = id["recording_id"].as_str().unwrap().to_string();
    for (what, args) in COMMANDS {
        let r = bb(&db, args);
        assert_eq!(r.code, 0, "{name} {args:?}: {}", r.stderr);
        out.insert(
            what.to_string(),
            r.stdout.replace(&id, "RECORDING").into_bytes(),
        );
    }
    let om = d.path().join("m.om");
    bb(
        &db,
        &[
            "export",
            "--format",
            "openmetrics",
            "--out",
            om.to_str().unwrap(),
        ],
    )
    .ok();
    out.insert("metrics.om".into(), std::fs::read(&om).unwrap());
    let mut files: Vec<_> = std::fs::read_dir(&jl).unwrap().flatten().collect();
    files.sort_by_key(|f| f.file_name());
    for f in files {
        let text = std::fs::read_to_string(f.path())
            .unwrap()
            .replace(&id, "RECORDING");
        out.insert(
            format!("export/{}", f.file_name().to_string_lossy()),
            text.into_bytes(),
        );
    }
    let tr = d.path().join("t.json");
    bb(
        &db,
        &["export", "--format", "trace", "--out", tr.to_str().unwrap()],
    )
    .ok();
    out.insert("trace.json".into(), std::fs::read(&tr).unwrap());
    let keep = dir.join(name);
    std::fs::create_dir_all(keep.join("export")).unwrap();
    for (k, v) in &out {
        std::fs::write(keep.join(k), v).unwrap();
    }
    out
}

#[test]
fn every_output_is_as_it_was() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golden");
    let _ = std::fs::remove_dir_all(&dir);
    let mut now = String::new();
    for name in ["classic", "cutoff", "outage", "legacy"] {
        for (k, v) in outputs(name, &dir) {
            now.push_str(&format!("{name} {k} {}\n", blake3::hash(&v).to_hex()));
        }
    }
    if std::env::var_os("BLACKBOX_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &now).unwrap();
        return;
    }
    let was = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    let changed: Vec<String> = now
        .lines()
        .filter(|l| !was.lines().any(|w| w == *l))
        .map(|l| l.rsplit_once(' ').map_or(l, |(a, _)| a).to_string())
        .collect();
    assert!(
        changed.is_empty() && was.lines().count() == now.lines().count(),
        "outputs changed (target/golden/ holds them; BLACKBOX_UPDATE_GOLDEN=1 to accept): {changed:?}"
    );
}
