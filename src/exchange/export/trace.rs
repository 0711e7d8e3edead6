//! The executions as a Chrome trace (the trace-event JSON format that Perfetto and
//! `chrome://tracing` open): a process per job, a thread (track) per cell, a complete slice
//! per execution from its start to its end; a "requests" process with an instant each time a
//! source starts failing, changes how, goes unsent or recovers (the timeline's transitions, not
//! every request) and a "router" process with an instant per router change (a process
//! with nothing in it is left out). Times are µs from the earliest thing in the trace (the
//! first snapshot, or an execution begun before it: a trace viewer drops negative times);
//! `otherData.time_zero` says when that is.

use crate::analysis::Recording;
use crate::analysis::lanes::{BarEnd, Lanes};
use crate::analysis::timeline::{Event, EventKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn trace(l: &Lanes, events: &[Event], rec: &Recording) -> String {
    let t0 = l
        .jobs
        .iter()
        .flat_map(|j| j.bars.iter().map(|b| b.real_start_us))
        .chain(events.iter().map(|e| e.at.0))
        .fold(l.start_us, i64::min);
    let mut out: Vec<Value> = Vec::new();
    let meta = |pid: usize, tid: Option<usize>, name: &str| {
        let mut v = json!({"ph": "M", "pid": pid, "name": if tid.is_some() { "thread_name" } else { "process_name" },
                           "args": {"name": name}});
        if let Some(t) = tid {
            v["tid"] = json!(t);
        }
        v
    };
    for (j, job) in l.jobs.iter().enumerate() {
        let pid = j + 1;
        out.push(meta(pid, None, &format!("job {}", job.job)));
        let mut tracks: BTreeMap<String, usize> = BTreeMap::new();
        for b in &job.bars {
            let cell = match &b.cell {
                Some(c) => format!("{}/{}/{}", c.question_id, c.model_id, c.region),
                None => "(no cell)".to_string(),
            };
            let n = tracks.len() + 1;
            let tid = *tracks.entry(cell.clone()).or_insert_with(|| {
                out.push(meta(pid, Some(n), &cell));
                n
            });
            out.push(json!({
                "ph": "X", "pid": pid, "tid": tid,
                "name": format!("{} {}", b.id.map_or("(no id)".to_string(), |i| i.to_string()), b.status),
                "cat": b.status.as_str(),
                "ts": b.real_start_us - t0,
                "dur": b.duration_us(),
                "args": {
                    "execution_id": b.id, "status": b.status.as_str(), "error_code": b.error_code.as_deref(),
                    "row_of_cell": b.rank + 1, "kept_beside_the_list": b.beside,
                    "end": match b.end {
                        BarEnd::Completed => "completed_at",
                        BarEnd::StillRunning => "still running at the last snapshot",
                        BarEnd::SeenFinal => "first seen final (no completed_at)",
                        BarEnd::Vanished => "vanished from the list",
                    },
                },
            }));
        }
    }
    let requests = l.jobs.len() + 1;
    let router = l.jobs.len() + 2;
    let mut named: Vec<usize> = Vec::new();
    for e in events {
        let (pid, name) = match &e.kind {
            EventKind::FetchFailed { source, now, .. } => {
                (requests, format!("{source} failed: {}", now.word()))
            }
            EventKind::FetchNotSent { source, now } => {
                (requests, format!("{source} not sent: {}", now.word()))
            }
            EventKind::FetchRecovered { source, .. } => (requests, format!("{source} recovered")),
            EventKind::Router { change } => (
                router,
                serde_json::to_value(change)
                    .ok()
                    .and_then(|v| v.get("change").and_then(|k| k.as_str()).map(str::to_string))
                    .unwrap_or_else(|| "router change".into()),
            ),
            _ => continue,
        };
        if !named.contains(&pid) {
            named.push(pid);
            out.push(meta(
                pid,
                None,
                if pid == requests {
                    "requests"
                } else {
                    "router"
                },
            ));
        }
        let data = serde_json::to_value(e).unwrap_or_default();
        out.push(
            json!({"ph": "i", "s": "p", "pid": pid, "tid": 0, "name": name,
                        "ts": e.at.0 - t0, "args": data}),
        );
    }
    let doc = json!({
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "otherData": {
            "recording_start": crate::beacon::format_micros(l.start_us),
            "time_zero": crate::beacon::format_micros(t0),
            "snapshots": rec.infos.len(),
            "made_by": format!("beacon-blackbox {}", env!("CARGO_PKG_VERSION")),
        },
    });
    doc.to_string()
}
