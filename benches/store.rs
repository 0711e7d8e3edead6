//! Benchmarks over the library API (criterion).
//!
//! - `ingest/10k`: one poll of a 10,000-execution job (13.7 MB of `/executions/all` JSON with
//!   1% of rows changed) as the recorder ingests it (`Writer::ingest_with`: rows unchanged
//!   since the last poll not read again, the body delta-encoded on a second core), detect
//!   changes, commit: without fsync (`10k`) and durable (`10k_durable`, what `record` does).
//! - `query/show_at`, `query/diff_first_last`: on a synthetic recording of 1,000 snapshots x
//!   10,000 executions (1% change per snapshot), built once into `target/bench-data/`.
//! - `parts/*`: the parts the read commands' profiles name (issue 30), on the same recording:
//!   the sweep of a job's row versions (`history::status_series`), walking every version read
//!   in place (`each_exec_ref`) against decoded (`each_exec_version`), a poll's header decoded
//!   (`SNAPSHOT_V4`), and the diff's JSON written through the terminal filter.
//! - `command/*`: the read commands as a user runs them (arguments parsed, file opened,
//!   output rendered into a sink), in process: `report --format json|html`, `replay --json`,
//!   `verify`, `show --at 500`, `diff first last`, `snapshots --json`. Whole-process figures:
//!   `scripts/bench.sh`.

use beacon_blackbox::analysis::{Recording, diff, summary};
use beacon_blackbox::fetch::{Fetched, SourceKind};
use beacon_blackbox::store::{Poll, Sharing, Writer, open_reader};
use beacon_blackbox::synth::{SynthOptions, build};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use std::time::Duration;

// The allocator of the `blackbox` binary, so that the figures are the recorder's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const N: usize = 10_000;

fn row_json(i: usize, status: &str) -> String {
    let region = ["us-east", "eu-west", "asia-pacific"][i % 3];
    let model = ["llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"][(i / 3) % 3];
    serde_json::json!({
        "id": 100_000 + i, "job_id": "bias-detection-bench", "status": status, "region": region,
        "provider_id": "", "started_at": "2025-10-01T14:53:09Z", "completed_at": "2025-10-01T14:55:09Z",
        "created_at": "2025-10-01T14:53:09Z", "has_receipt": false,
        "output": {"error": "hybrid error: hybrid timeout: HTTP request timeout", "error_code": "ROUTER_TIMEOUT",
            "failure": {"stage": "router_http_timeout", "component": "hybrid_router", "subcomponent": "inference",
                "code": "ROUTER_TIMEOUT", "type": "timeout", "region": region, "model": model,
                "message": format!("hybrid timeout: HTTP request timeout after 120s; request {i:08} to {region}; {}", "x".repeat(560)),
                "transient": true}},
        "model_id": model, "question_id": format!("q{:05}", i / 9), "is_substantive": false,
        "is_content_refusal": false, "response_classification": "unknown", "retry_count": 0,
        "max_retries": 3, "retry_history": []
    })
    .to_string()
}

fn body(rows: &[String]) -> Vec<u8> {
    let mut b = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 20);
    b.extend_from_slice(b"{\"executions\":[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(r.as_bytes());
    }
    b.extend_from_slice(b"]}");
    b
}

fn poll(body: Vec<u8>, t: i64) -> Poll {
    Poll {
        started_at: t,
        ended_at: t + 1000,
        fetches: vec![Fetched {
            kind: SourceKind::RunnerExecAll,
            job: Some("bias-detection-bench".into()),
            url: "http://runner.bench/api/v1/jobs/bias-detection-bench/executions/all".into(),
            status: Some(200),
            latency_us: 1000,
            content_type: Some("application/json".into()),
            body: Some(body),
            error: None,
            retry_after: None,
            location: None,
            date_us: None,
            sent_at_us: None,
            retried: None,
            secrets_removed: 0,
        }],
    }
}

fn ingest(c: &mut Criterion) {
    let mut rows: Vec<String> = (0..N).map(|i| row_json(i, "running")).collect();
    let size = body(&rows).len();
    eprintln!("ingest body: {size} bytes, {N} executions");
    let mut g = c.benchmark_group("ingest");
    g.sample_size(20).measurement_time(Duration::from_secs(20));
    for durable in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ingest.redb");
        let mut w = if durable {
            Writer::open(&path).unwrap()
        } else {
            let mut w = Writer::open_with(&path, Sharing::Exclusive).unwrap();
            w.set_durable(false);
            w
        };
        // As the recorder does: rows unchanged since the last poll are not read again.
        let mut cache = beacon_blackbox::beacon::RowCache::default();
        let first = poll(body(&rows), 0);
        w.ingest_with(&first, &mut cache).unwrap();
        let mut k = 0usize;
        let mut t = 0i64;
        g.bench_function(if durable { "10k_durable" } else { "10k" }, |b| {
            b.iter_batched(
                || {
                    // 1% of the rows change status, so every poll is a new body.
                    for _ in 0..N / 100 {
                        k = (k + 7919) % N;
                        let st =
                            ["failed", "completed", "retrying", "running"][(k + t as usize) % 4];
                        rows[k] = row_json(k, st);
                    }
                    t += 5_000_000;
                    poll(body(&rows), t)
                },
                |p| w.ingest_with(&p, &mut cache).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn big_recording() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("synth-10000x1000-v3.redb");
    if !path.exists() {
        let tmp = dir.join("synth.tmp.redb");
        let _ = std::fs::remove_file(&tmp);
        eprintln!("building {} (once)...", path.display());
        build(
            &tmp,
            &SynthOptions {
                executions: N,
                snapshots: 1000,
                change_rate: 0.01,
                seed: 1,
                durable: false,
            },
        )
        .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn query(c: &mut Criterion) {
    let path = big_recording();
    let db = open_reader(&path).unwrap();
    let rec = Recording::open(&db).unwrap();
    let mut g = c.benchmark_group("query");
    g.sample_size(30);
    g.bench_function("show_at_mid", |b| {
        b.iter(|| summary::show(&rec, 500, None).unwrap())
    });
    g.bench_function("show_at_last", |b| {
        b.iter(|| summary::show(&rec, 1000, None).unwrap())
    });
    g.bench_function("diff_first_last", |b| {
        b.iter(|| diff::diff(&rec, 1, 1000, None).unwrap())
    });
    g.bench_function("open_and_show_at_mid", |b| {
        b.iter(|| {
            let db = open_reader(&path).unwrap();
            let rec = Recording::open(&db).unwrap();
            summary::show(&rec, 500, None).unwrap()
        })
    });
    g.finish();
}

fn command(c: &mut Criterion) {
    let path = big_recording();
    let mut g = c.benchmark_group("command");
    g.sample_size(20);
    for (name, args) in [
        ("report_json", &["report", "--format", "json"][..]),
        ("report_html", &["report", "--format", "html"]),
        ("replay_json", &["replay", "--json"]),
        ("verify", &["verify"]),
        ("show_at_500", &["show", "--at", "500"]),
        ("diff_first_last", &["diff", "first", "last"]),
        ("snapshots_json", &["snapshots", "--json"]),
    ] {
        let mut argv: Vec<std::ffi::OsString> = vec!["blackbox".into()];
        argv.extend(args.iter().map(Into::into));
        argv.extend(["--db".into(), path.clone().into_os_string()]);
        g.bench_function(name, |b| {
            b.iter(|| {
                let code = beacon_blackbox::cli::run_with(argv.clone(), &mut std::io::sink());
                assert_eq!(code, 0, "{name}");
            })
        });
    }
    g.finish();
}

fn parts(c: &mut Criterion) {
    use beacon_blackbox::store::{codec, schema};
    let path = big_recording();
    let db = open_reader(&path).unwrap();
    let rec = Recording::open(&db).unwrap();
    let mut g = c.benchmark_group("parts");
    g.sample_size(20);
    g.bench_function("sweep_status_series", |b| {
        b.iter(|| beacon_blackbox::analysis::history::status_series(&rec, 0).unwrap())
    });
    g.bench_function("versions_in_place", |b| {
        b.iter(|| {
            let mut n = 0u64;
            rec.reader
                .each_exec_ref(0, i64::MIN..=i64::MAX, |_, _, e| {
                    n += e.map_or(0, |e| e.status.len() as u64)
                })
                .unwrap();
            n
        })
    });
    g.bench_function("versions_decoded", |b| {
        b.iter(|| {
            let mut n = 0u64;
            rec.reader
                .each_exec_version(0, i64::MIN..=i64::MAX, |_, _, e| {
                    n += e.map_or(0, |e| e.status.len() as u64)
                })
                .unwrap();
            n
        })
    });
    // A poll's header as the recorder writes it: four requests, all answered.
    let fetch = |source: u8, body: u64| schema::FetchRec {
        source,
        job: (source < 2).then_some(0),
        url: u32::from(source),
        status: Some(200),
        latency_us: 1_166,
        body: Some(body),
        body_len: 34_266,
        content_type: Some(1),
        error: None,
        parse_error: None,
        outcome: 0,
        location: None,
        rows: (source < 2).then_some([44, 44, 0, 0]),
        problems: vec![],
        problems_total: 0,
        server_time: Some(1_796_705_301_000_000),
        sent_us: Some(120),
        retried: None,
        secrets_removed: 0,
    };
    let header = codec::encode_snapshot(&schema::SnapshotRec {
        session: 1,
        started_at: 1_796_705_300_412_345,
        duration_us: 2_210,
        fetches: vec![fetch(0, 747), fetch(1, 748), fetch(3, 1748), fetch(4, 4)],
    });
    g.bench_function("snapshot_header_decode", |b| {
        b.iter(|| codec::decode_snapshot(std::hint::black_box(&header)).unwrap())
    });
    let d = diff::diff(&rec, 1, 1000, None).unwrap();
    g.bench_function("diff_json_out", |b| {
        b.iter(|| {
            beacon_blackbox::present::safe::write_json_pretty(&mut std::io::sink(), &d).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, ingest, query, parts, command);
criterion_main!(benches);
