//! What changed between two snapshots. `diff(a, a)` is empty.

use super::matrix::{Cell, coverage};
use super::recording::{Recording, State};
use super::summary::{SnapshotRef, matrix_for, snapshot_ref};
use crate::beacon::RouterRec;
use crate::beacon::{Execution, Provider, format_micros};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Changed fields, `{name: [old, new]}` in JSON. A vector with static names rather than a
/// map of owned strings: a diff can hold tens of thousands of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields(pub Vec<(&'static str, (Value, Value))>);

impl Fields {
    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, (Value, Value))> {
        self.0.iter()
    }

    pub fn get(&self, name: &str) -> Option<&(Value, Value)> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExecChange {
    pub id: i64,
    pub fields: Fields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ExecDiff {
    pub added: Vec<i64>,
    pub removed: Vec<i64>,
    pub changed: Vec<ExecChange>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct CellDiff {
    pub newly_missing: Vec<Cell>,
    pub no_longer_missing: Vec<Cell>,
    pub newly_duplicated: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobDiff {
    pub job_id: String,
    pub status: Option<(Option<String>, Option<String>)>,
    /// Rows kept beside the by-id list (repeated ids, no id), when they changed: [old, new]
    /// counts.
    pub extra_rows: Option<(usize, usize)>,
    pub executions: ExecDiff,
    pub cells: CellDiff,
}

impl JobDiff {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.extra_rows.is_none()
            && self.executions == ExecDiff::default()
            && self.cells == CellDiff::default()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RouterDiff {
    pub changes: BTreeMap<String, (Value, Value)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ProviderDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ExecChangeNamed>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExecChangeNamed {
    pub name: String,
    pub fields: BTreeMap<String, (Value, Value)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_changes_lists_only_what_changed() {
        let a = Execution {
            id: 1,
            status: "running".into(),
            started_at: Some(1_000_000),
            ..Default::default()
        };
        let mut b = a.clone();
        assert!(exec_changes(&a, &b).is_empty());
        b.status = "failed".into();
        b.completed_at = Some(121_000_000);
        let c = exec_changes(&a, &b);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.get("status"),
            Some(&(Value::from("running"), Value::from("failed")))
        );
        assert_eq!(
            c.get("completed_at").unwrap().1,
            Value::from("1970-01-01T00:02:01Z")
        );
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["status"], serde_json::json!(["running", "failed"]));
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diff {
    pub from: SnapshotRef,
    pub to: SnapshotRef,
    pub jobs: Vec<JobDiff>,
    pub router: RouterDiff,
    pub providers: ProviderDiff,
    /// The extra endpoints, by key: each one's answer in force at `from` vs at `to`.
    pub endpoints: Vec<super::endpoints::EndpointChange>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.jobs.iter().all(JobDiff::is_empty)
            && self.router.changes.is_empty()
            && self.providers == ProviderDiff::default()
            && self.endpoints.is_empty()
    }
}

/// Field-by-field changes between two serialisable values (objects).
pub fn field_changes<T: Serialize>(a: &T, b: &T) -> BTreeMap<String, (Value, Value)> {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return BTreeMap::new();
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (
                a.get(k).cloned().unwrap_or(Value::Null),
                b.get(k).cloned().unwrap_or(Value::Null),
            );
            (x != y).then(|| (k.clone(), (x, y)))
        })
        .collect()
}

/// Field-by-field changes of one execution, without a round trip through JSON for the
/// unchanged fields (a diff can compare thousands of executions). Times are shown as RFC 3339.
pub fn exec_changes(a: &Execution, b: &Execution) -> Fields {
    let mut out = Vec::new();
    macro_rules! plain {
        ($($f:ident),*) => {$(
            if a.$f != b.$f {
                out.push((stringify!($f), (serde_json::json!(a.$f), serde_json::json!(b.$f))));
            }
        )*};
    }
    macro_rules! time {
        ($($f:ident),*) => {$(
            if a.$f != b.$f {
                out.push((
                    stringify!($f),
                    (serde_json::json!(a.$f.map(format_micros)), serde_json::json!(b.$f.map(format_micros))),
                ));
            }
        )*};
    }
    plain!(
        id,
        job_id,
        status,
        question_id,
        model_id,
        region_raw,
        region,
        provider_id,
        output_null,
        error_code,
        error_message,
        failure_stage,
        failure_type,
        has_receipt,
        response_classification,
        retry_count,
        max_retries,
        retry_attempts
    );
    time!(created_at, started_at, completed_at, last_retry_at);
    Fields(out)
}

fn router_fields(r: Option<&RouterRec>) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    if let Some(h) = r.and_then(|r| r.health.as_ref()) {
        m.insert("status".into(), serde_json::json!(h.status));
        m.insert(
            "providers_total".into(),
            serde_json::json!(h.providers_total),
        );
        m.insert(
            "providers_healthy".into(),
            serde_json::json!(h.providers_healthy),
        );
        m.insert("regions".into(), serde_json::json!(h.regions));
        m.insert("version".into(), serde_json::json!(h.version));
    }
    m
}

pub fn diff_states(rec: &Recording, a: &State, b: &State) -> Diff {
    let mut jobs = Vec::new();
    for (ja, jb) in a.jobs.iter().zip(&b.jobs) {
        let mut ed = ExecDiff::default();
        for (id, eb) in &jb.execs {
            match ja.execs.get(id) {
                None => ed.added.push(*id),
                Some(ea) if ea != eb => ed.changed.push(ExecChange {
                    id: *id,
                    fields: exec_changes(ea, eb),
                }),
                _ => {}
            }
        }
        ed.removed = ja
            .execs
            .keys()
            .filter(|id| !jb.execs.contains_key(id))
            .copied()
            .collect();
        let sa = ja.rec.as_ref().and_then(|r| r.status.clone());
        let sb = jb.rec.as_ref().and_then(|r| r.status.clone());
        let ca = coverage(&matrix_for(ja, a.router.as_ref()), ja.rows());
        let cb = coverage(&matrix_for(jb, b.router.as_ref()), jb.rows());
        let miss_a: BTreeSet<&Cell> = ca.missing.iter().collect();
        let miss_b: BTreeSet<&Cell> = cb.missing.iter().collect();
        let cellkey = |d: &super::matrix::DupCell| Cell {
            question_id: d.question_id.clone(),
            model_id: d.model_id.clone(),
            region: d.region.clone(),
        };
        let dup_a: BTreeSet<Cell> = ca.duplicated.iter().map(cellkey).collect();
        jobs.push(JobDiff {
            job_id: jb.job_id.clone(),
            status: (sa != sb).then_some((sa, sb)),
            extra_rows: (ja.extras != jb.extras).then_some((ja.extras.len(), jb.extras.len())),
            executions: ed,
            cells: CellDiff {
                newly_missing: miss_b.difference(&miss_a).map(|c| (*c).clone()).collect(),
                no_longer_missing: miss_a.difference(&miss_b).map(|c| (*c).clone()).collect(),
                newly_duplicated: cb
                    .duplicated
                    .iter()
                    .map(cellkey)
                    .filter(|c| !dup_a.contains(c))
                    .collect(),
            },
        });
    }
    let (ra, rb) = (
        router_fields(a.router.as_ref()),
        router_fields(b.router.as_ref()),
    );
    let keys: BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
    let changes = keys
        .into_iter()
        .filter_map(|k| {
            let (x, y) = (
                ra.get(k).cloned().unwrap_or(Value::Null),
                rb.get(k).cloned().unwrap_or(Value::Null),
            );
            (x != y).then(|| (k.clone(), (x, y)))
        })
        .collect();
    let pa: BTreeMap<&str, &Provider> = a
        .router
        .iter()
        .flat_map(|r| r.providers.iter().flatten())
        .map(|p| (p.name.as_str(), p))
        .collect();
    let pb: BTreeMap<&str, &Provider> = b
        .router
        .iter()
        .flat_map(|r| r.providers.iter().flatten())
        .map(|p| (p.name.as_str(), p))
        .collect();
    let providers = ProviderDiff {
        added: pb
            .keys()
            .filter(|k| !pa.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
        removed: pa
            .keys()
            .filter(|k| !pb.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
        changed: pb
            .iter()
            .filter_map(|(k, p)| {
                let old = pa.get(k)?;
                (old != p).then(|| ExecChangeNamed {
                    name: k.to_string(),
                    fields: field_changes(*old, *p),
                })
            })
            .collect(),
    };
    Diff {
        from: snapshot_ref(rec, a.seq),
        to: snapshot_ref(rec, b.seq),
        jobs,
        router: RouterDiff { changes },
        providers,
        endpoints: Vec::new(),
    }
}

pub fn diff(
    rec: &Recording,
    from: u64,
    to: u64,
    job: Option<&str>,
) -> Result<Diff, super::summary::ShowError> {
    let jobs = rec
        .select_jobs(job)
        .map_err(super::summary::ShowError::Job)?;
    let (a, b) = if from == to {
        let a = rec.state_at(from, &jobs)?;
        (a.clone(), a)
    } else {
        // The two states are independent reads of one snapshot of the file: read them on two
        // threads (most of a diff's time is decoding them).
        std::thread::scope(|sc| {
            let other = sc.spawn(|| rec.state_at(to, &jobs));
            let a = rec.state_at(from, &jobs);
            let b = other
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            Ok::<_, crate::store::StoreError>((a?, b?))
        })?
    };
    let mut d = diff_states(rec, &a, &b);
    d.endpoints = super::endpoints::diff(rec, from, to)?;
    Ok(d)
}
