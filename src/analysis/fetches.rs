//! The requests themselves over the recording: windows in which a source failed (outages), and
//! windows in which the recorder did not send a source's requests (its gaps).

use super::recording::Recording;
use super::values::{FetchKind, Stamp};
use crate::fetch::SourceKind;
use crate::store::schema::FetchRec;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Consecutive snapshots in which one source (of one job) failed, or was not sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outage {
    pub source: &'static str,
    pub job: Option<String>,
    /// For an `--endpoint`: its name (each endpoint fails on its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub from: Stamp,
    pub to: Stamp,
    pub from_seq: u64,
    pub to_seq: u64,
    pub snapshots: usize,
    /// The first snapshot after the window in which that source answered.
    pub recovered_at: Option<Stamp>,
    pub recovered_seq: Option<u64>,
    pub kinds: Vec<FetchKind>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct FetchReport {
    /// Windows in which a source failed (`Outcome::is_failure`).
    pub outages: Vec<Outage>,
    /// Windows in which the recorder did not send a source's requests (its budget, or a 429's
    /// wait): gaps in the recording, not failures of the source.
    pub gaps: Vec<Outage>,
    pub requests: usize,
    pub failed_requests: usize,
    pub unsent_requests: usize,
}

pub(super) fn fetch_report(rec: &Recording) -> FetchReport {
    let mut fr = FetchReport::default();
    for snap in &rec.snaps {
        for f in &snap.fetches {
            fr.requests += 1;
            let o = f.outcome();
            if o.is_failure() {
                fr.failed_requests += 1;
            } else if o.is_gap() {
                fr.unsent_requests += 1;
            }
        }
    }
    // A request not sent says nothing of its source: it neither extends an outage nor ends it.
    fr.outages = windows(rec, |f| f.outcome().is_failure(), |f| f.outcome().is_gap());
    fr.gaps = windows(rec, |f| f.outcome().is_gap(), |_| false);
    fr
}

/// Windows of consecutive snapshots in which a source's requests matched `bad` (per source
/// and job), each closed by the next snapshot in which that source's requests did not.
/// Requests `silent` says nothing of are passed over.
fn windows(
    rec: &Recording,
    bad: impl Fn(&FetchRec) -> bool,
    silent: impl Fn(&FetchRec) -> bool,
) -> Vec<Outage> {
    // (source, job, the URL of an `--endpoint`)
    type Key = (u8, Option<u32>, Option<u32>);
    struct Open {
        from: u64,
        to: u64,
        count: usize,
        kinds: BTreeSet<FetchKind>,
    }
    let mut out = Vec::new();
    let mut open: BTreeMap<Key, Open> = BTreeMap::new();
    let job_name = |j: Option<u32>| {
        j.and_then(|j| {
            rec.jobs
                .iter()
                .find(|(_, i)| *i == j)
                .map(|(n, _)| n.clone())
        })
    };
    let at = |seq: u64| Stamp(rec.info(seq).map_or(0, |i| i.started_at));
    let close = |key: Key, w: Open, recovered: Option<u64>, out: &mut Vec<Outage>| {
        out.push(Outage {
            source: SourceKind::name_of(key.0),
            job: job_name(key.1),
            endpoint: key.2.map(|u| {
                let url = rec.string(u);
                rec.sessions
                    .iter()
                    .find_map(|s| s.endpoint_name(url))
                    .map_or_else(|| url.to_string(), str::to_string)
            }),
            from: at(w.from),
            to: at(w.to),
            from_seq: w.from,
            to_seq: w.to,
            snapshots: w.count,
            recovered_at: recovered.map(at),
            recovered_seq: recovered,
            kinds: w.kinds.into_iter().collect(),
        });
    };
    for (info, snap) in rec.infos.iter().zip(&rec.snaps) {
        let mut status: BTreeMap<Key, Option<FetchKind>> = BTreeMap::new();
        for f in snap.fetches.iter().filter(|f| !silent(f)) {
            let endpoint = (f.source == SourceKind::Custom as u8).then_some(f.url);
            let e = status.entry((f.source, f.job, endpoint)).or_insert(None);
            if bad(f) && e.is_none() {
                *e = Some(FetchKind::of(f));
            }
        }
        for (key, failed) in status {
            match failed {
                Some(kind) => {
                    let w = open.entry(key).or_insert(Open {
                        from: info.seq,
                        to: info.seq,
                        count: 0,
                        kinds: BTreeSet::new(),
                    });
                    w.to = info.seq;
                    w.count += 1;
                    w.kinds.insert(kind);
                }
                None => {
                    if let Some(w) = open.remove(&key) {
                        close(key, w, Some(info.seq), &mut out);
                    }
                }
            }
        }
    }
    for (key, w) in std::mem::take(&mut open) {
        close(key, w, None, &mut out);
    }
    out.sort_by(|a, b| a.from_seq.cmp(&b.from_seq).then(a.source.cmp(b.source)));
    out
}
