//! When each value was observed. A snapshot stores an entity only when it changed, so the state
//! at a snapshot carries every value forward from the last poll that fetched it: a default view
//! skipped by the rate budget, a router that did not answer, a list whose request failed. This
//! index, read from the snapshots' request headers alone, says for every source at every
//! snapshot whether that poll observed it, and which poll last did (the value's age). Every
//! comparison between two sources (the default view against the complete list, `/health`
//! against `/providers`) is made only within one poll that observed both.

use super::values::Stamp;
use crate::fetch::{Outcome, SourceKind};
use crate::store::SnapshotInfo;
use crate::store::schema::SnapshotRec;
use serde::Serialize;
use std::collections::HashMap;

/// The polls (by seq, ascending) in which each source was observed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenIndex {
    /// Per job index: polls whose default view answered (rows, or "job not found").
    views: HashMap<u32, Vec<u64>>,
    /// Per job index: polls that read the complete list whole.
    lists: HashMap<u32, Vec<u64>>,
    /// Per job index, for each poll in `lists`: rows the list's bodies kept (`None` when the
    /// file predates row accounting).
    list_rows: HashMap<u32, Vec<Option<u64>>>,
    /// Per job index, for each poll in `views`: rows the view's page held.
    view_rows: HashMap<u32, Vec<Option<u32>>>,
    health: Vec<u64>,
    providers: Vec<u64>,
}

/// A value as last observed: the poll that fetched it, and how long before the moment
/// described that was.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Observed {
    pub seq: u64,
    pub at: Stamp,
    /// Seconds from that poll to the snapshot described (0 when it is the same poll).
    pub age_seconds: f64,
}

/// One poll that fetched both a job's default view and its complete list: the only polls in
/// which the two can be compared.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ViewAndList {
    pub seq: u64,
    pub at: Stamp,
    /// Rows on the default view's page.
    pub shown: u32,
    /// Rows of the complete list in the same poll.
    pub complete: usize,
}

impl ViewAndList {
    pub fn truncated(&self) -> bool {
        (self.shown as usize) < self.complete
    }
}

/// Whether a poll read a job's complete list whole: some list request answered and none
/// failed or went unsent. An older runner's 404 alone is no list.
pub fn list_complete(snap: &SnapshotRec, job: u32) -> bool {
    let mut answered = false;
    for f in &snap.fetches {
        if f.job != Some(job) || !SourceKind::from_u8(f.source).is_some_and(SourceKind::is_list) {
            continue;
        }
        match f.outcome() {
            Outcome::Ok => answered = true,
            Outcome::OlderRunner => {}
            _ => return false,
        }
    }
    answered
}

fn answered(snap: &SnapshotRec, kind: SourceKind) -> bool {
    snap.fetches
        .iter()
        .any(|f| f.source == kind as u8 && f.outcome() == Outcome::Ok)
}

impl SeenIndex {
    pub fn build(infos: &[SnapshotInfo], snaps: &[SnapshotRec]) -> Self {
        let mut ix = SeenIndex::default();
        for (info, snap) in infos.iter().zip(snaps) {
            let mut jobs: Vec<u32> = snap.fetches.iter().filter_map(|f| f.job).collect();
            jobs.sort_unstable();
            jobs.dedup();
            for job in jobs {
                let view = snap.fetches.iter().find(|f| {
                    f.job == Some(job)
                        && f.source == SourceKind::RunnerJobDefault as u8
                        && matches!(f.outcome(), Outcome::Ok | Outcome::JobNotFound)
                });
                if let Some(v) = view {
                    ix.views.entry(job).or_default().push(info.seq);
                    ix.view_rows
                        .entry(job)
                        .or_default()
                        .push(v.rows.map(|r| r[0]).filter(|_| v.outcome() == Outcome::Ok));
                }
                if list_complete(snap, job) {
                    ix.lists.entry(job).or_default().push(info.seq);
                    let kept = snap
                        .fetches
                        .iter()
                        .filter(|f| {
                            f.job == Some(job)
                                && SourceKind::from_u8(f.source).is_some_and(SourceKind::is_list)
                                && f.outcome() == Outcome::Ok
                        })
                        .map(|f| f.rows.map(|r| r[1] as u64))
                        .try_fold(0u64, |acc, n| n.map(|n| acc + n));
                    ix.list_rows.entry(job).or_default().push(kept);
                }
            }
            if answered(snap, SourceKind::RouterHealth) {
                ix.health.push(info.seq);
            }
            if answered(snap, SourceKind::RouterProviders) {
                ix.providers.push(info.seq);
            }
        }
        ix
    }

    fn last_in(v: Option<&Vec<u64>>, seq: u64) -> Option<u64> {
        let v = v?;
        let k = v.partition_point(|s| *s <= seq);
        k.checked_sub(1).map(|k| v[k])
    }

    fn has(v: Option<&Vec<u64>>, seq: u64) -> bool {
        v.is_some_and(|v| v.binary_search(&seq).is_ok())
    }

    /// The last poll at or before `seq` whose default view of `job` answered.
    pub fn last_view(&self, job: u32, seq: u64) -> Option<u64> {
        Self::last_in(self.views.get(&job), seq)
    }

    pub fn view_at(&self, job: u32, seq: u64) -> bool {
        Self::has(self.views.get(&job), seq)
    }

    /// The last poll at or before `seq` that read `job`'s complete list whole.
    pub fn last_list(&self, job: u32, seq: u64) -> Option<u64> {
        Self::last_in(self.lists.get(&job), seq)
    }

    pub fn list_at(&self, job: u32, seq: u64) -> bool {
        Self::has(self.lists.get(&job), seq)
    }

    pub fn health_at(&self, seq: u64) -> bool {
        Self::has(Some(&self.health), seq)
    }

    pub fn providers_at(&self, seq: u64) -> bool {
        Self::has(Some(&self.providers), seq)
    }

    pub fn last_health(&self, seq: u64) -> Option<u64> {
        Self::last_in(Some(&self.health), seq)
    }

    pub fn last_providers(&self, seq: u64) -> Option<u64> {
        Self::last_in(Some(&self.providers), seq)
    }

    /// Every poll that fetched both `job`'s default view (with rows) and its complete list,
    /// with the two counts from the requests' own row accounting. Polls of files written
    /// before row accounting are left out (`view_and_list` in `history` covers them).
    pub fn view_and_list(&self, at: impl Fn(u64) -> i64, job: u32) -> Vec<ViewAndList> {
        let (Some(views), Some(vrows)) = (self.views.get(&job), self.view_rows.get(&job)) else {
            return Vec::new();
        };
        let (Some(lists), Some(lrows)) = (self.lists.get(&job), self.list_rows.get(&job)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (seq, shown) in views.iter().zip(vrows) {
            let Ok(k) = lists.binary_search(seq) else {
                continue;
            };
            if let (Some(shown), Some(complete)) = (shown, lrows[k]) {
                out.push(ViewAndList {
                    seq: *seq,
                    at: Stamp(at(*seq)),
                    shown: *shown,
                    complete: complete as usize,
                });
            }
        }
        out
    }
}
