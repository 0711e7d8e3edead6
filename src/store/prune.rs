//! Retention (`record --retain`, `--max-size`): snapshots older than the window go as recording
//! goes on, and the file stops growing (redb reuses the pages they free).
//!
//! For each range of removed snapshots, every entity (a row, a job, the router, a job's extra
//! rows) keeps its last version in the range, moved to the first kept snapshot after it, so
//! the state there is whole; its older versions go. A row whose last version there is a
//! tombstone and that has no kept version before is forgotten. Checkpoints in the range go;
//! bodies no kept snapshot uses (directly or as a delta's base) go; sessions without a kept
//! snapshot go. The range is written to `pruned`. Snapshots inside a window marked by a note
//! (`note --mark`), and the newest snapshot, are never removed.

use super::codec;
use super::open::{DbResult, StoreError};
use super::schema::*;
use redb::{Database, ReadableTable, WriteTransaction};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Retention {
    /// Keep snapshots of the last this-many µs.
    pub retain_us: Option<i64>,
    /// Keep the data under this many bytes.
    pub max_size: Option<u64>,
}

impl Retention {
    pub fn any(&self) -> bool {
        self.retain_us.is_some() || self.max_size.is_some()
    }
}

/// Past this share of `max_size` the oldest snapshots go ...
const SIZE_HIGH: f64 = 0.9;
/// ... a tenth of those kept at a time, until the data is under it.
const SIZE_STEP: f64 = 0.1;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneStats {
    pub snapshots: usize,
    pub versions_moved: usize,
    pub versions_removed: usize,
    pub bodies: usize,
    /// Body ids removed (the writer forgets them as delta bases).
    pub removed_bodies: BTreeSet<u64>,
}

/// A body's header, read without its data.
#[derive(Deserialize)]
struct BodyHead {
    _check: [u8; 8],
    _len: u64,
    _encoding: u8,
    base: Option<u64>,
}

/// Bytes the database uses (its allocated pages).
pub fn used_bytes(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let s = txn.stats().db()?;
    Ok(s.allocated_pages() * s.page_size() as u64)
}

/// (seq, start time) of every snapshot, in order.
type Times = Vec<(u64, i64)>;

/// The snapshots retention removes now: older than the window, or the oldest while the data is
/// over its size; never a marked one, never the newest.
fn choose(
    txn: &WriteTransaction,
    r: Retention,
    now_us: i64,
) -> Result<(BTreeSet<u64>, Times), StoreError> {
    let mut times: Vec<(u64, i64)> = Vec::new();
    for e in txn.open_table(SNAPSHOTS).db()?.iter().db()? {
        let (k, v) = e.db()?;
        let rec = codec::decode_snapshot(v.value())
            .map_err(|e| StoreError::corrupt(format!("snapshot {}", k.value()), e))?;
        times.push((k.value(), rec.started_at));
    }
    let mut marks: Vec<(i64, i64)> = Vec::new();
    for e in txn.open_table(NOTES).db()?.iter().db()? {
        let (_, v) = e.db()?;
        if let Ok(n) = codec::decode::<NoteRec>(format::NOTE_V1, v.value())
            && let (Some(f), Some(t)) = (n.mark_from, n.mark_to)
        {
            marks.push((f, t));
        }
    }
    let marked = |t: i64| marks.iter().any(|&(f, to)| (f..=to).contains(&t));
    let newest = times.last().map(|x| x.0);
    let mut out = BTreeSet::new();
    if let Some(keep) = r.retain_us {
        for &(seq, t) in &times {
            if t < now_us - keep && Some(seq) != newest && !marked(t) {
                out.insert(seq);
            }
        }
    }
    if let Some(max) = r.max_size
        && used_bytes(txn)? as f64 > max as f64 * SIZE_HIGH
    {
        let left: Vec<u64> = times
            .iter()
            .filter(|(s, t)| !out.contains(s) && Some(*s) != newest && !marked(*t))
            .map(|(s, _)| *s)
            .collect();
        let n = ((left.len() as f64 * SIZE_STEP).ceil() as usize).max(1);
        out.extend(left.into_iter().take(n));
    }
    Ok((out, times))
}

/// Where each removed snapshot's last versions move: the first kept snapshot after it.
fn destinations(removed: &BTreeSet<u64>, times: &[(u64, i64)]) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    let mut pending: Vec<u64> = Vec::new();
    for &(seq, _) in times {
        if removed.contains(&seq) {
            pending.push(seq);
        } else {
            for p in pending.drain(..) {
                out.insert(p, seq);
            }
        }
    }
    out
}

/// One entity's versions, in seq order, planned: (old seq, new seq or `None` = removed).
fn plan_entity<V>(
    versions: &[(u64, V)],
    dest: &BTreeMap<u64, u64>,
    is_tombstone: impl Fn(&V) -> bool,
) -> Vec<(u64, Option<u64>)> {
    let mut out = Vec::new();
    let existing: BTreeSet<u64> = versions.iter().map(|(s, _)| *s).collect();
    let mut kept_before = false;
    let mut k = 0;
    while k < versions.len() {
        let (seq, v) = &versions[k];
        let Some(&to) = dest.get(seq) else {
            kept_before = true;
            k += 1;
            continue;
        };
        // The run of this entity's versions that move to the same snapshot.
        let mut end = k;
        while end + 1 < versions.len() && dest.get(&versions[end + 1].0) == Some(&to) {
            end += 1;
        }
        for (s, _) in &versions[k..end] {
            out.push((*s, None));
        }
        let (last, lv) = &versions[end];
        let stays = !existing.contains(&to) && (kept_before || !is_tombstone(lv));
        out.push((*last, stays.then_some(to)));
        kept_before |= stays;
        let _ = v;
        k = end + 1;
    }
    out
}

/// Removes what retention lets go now. `current_session` is never removed.
pub fn prune(
    db: &Database,
    r: Retention,
    now_us: i64,
    current_session: u64,
    durable: bool,
) -> Result<Option<PruneStats>, StoreError> {
    let mut txn = db.begin_write().db()?;
    if !durable {
        txn.set_durability(redb::Durability::None).db()?;
    }
    // Only the size asked about, and the data under it: nothing to read.
    let under = match r.max_size {
        Some(max) => used_bytes(&txn)? as f64 <= max as f64 * SIZE_HIGH,
        None => true,
    };
    if r.retain_us.is_none() && under {
        let _ = txn.abort();
        return Ok(None);
    }
    let (removed, times) = choose(&txn, r, now_us)?;
    if removed.is_empty() {
        let _ = txn.abort();
        return Ok(None);
    }
    let dest = destinations(&removed, &times);
    let mut st = PruneStats {
        snapshots: removed.len(),
        ..Default::default()
    };
    move_exec_versions(&txn, &dest, &removed, &mut st)?;
    move_job_versions(&txn, &dest, &mut st)?;
    move_router_versions(&txn, &dest, &mut st)?;
    let (used_bodies, used_sessions) = remove_snapshots(&txn, &removed, current_session)?;
    remove_unused_bodies(&txn, used_bodies, &mut st)?;
    remove_unused_sessions(&txn, &used_sessions)?;
    note_removed_ranges(&txn, &removed)?;
    txn.commit().db()?;
    Ok(Some(st))
}

/// Row versions, per (job, id): the last in a removed range moved to the snapshot kept after
/// it, the others removed; checkpoints of removed snapshots removed.
fn move_exec_versions(
    txn: &WriteTransaction,
    dest: &BTreeMap<u64, u64>,
    removed: &BTreeSet<u64>,
    st: &mut PruneStats,
) -> Result<(), StoreError> {
    let mut ev = txn.open_table(EXEC_VERSIONS).db()?;
    let mut ch = txn.open_table(EXEC_CHANGES).db()?;
    let mut moves: Vec<((u32, i64, u64), Option<u64>)> = Vec::new();
    let mut cur: Option<(u32, i64)> = None;
    let mut versions: Vec<(u64, bool)> = Vec::new();
    let mut flush = |key: Option<(u32, i64)>, versions: &mut Vec<(u64, bool)>| {
        if let Some((job, id)) = key
            && versions.iter().any(|(s, _)| dest.contains_key(s))
        {
            for (old, new) in plan_entity(versions, dest, |t| *t) {
                moves.push(((job, id, old), new));
            }
        }
        versions.clear();
    };
    for e in ev.iter().db()? {
        let (k, v) = e.db()?;
        let (job, id, seq) = k.value();
        if cur != Some((job, id)) {
            flush(cur, &mut versions);
            cur = Some((job, id));
        }
        versions.push((
            seq,
            codec::format_of(v.value()) == Some(format::EXEC_TOMBSTONE),
        ));
    }
    flush(cur, &mut versions);
    for ((job, id, old), new) in moves {
        let bytes = ev.remove((job, id, old)).db()?.map(|g| g.value().to_vec());
        ch.remove((job, old, id)).db()?;
        match (new, bytes) {
            (Some(to), Some(b)) => {
                ev.insert((job, id, to), b.as_slice()).db()?;
                ch.insert((job, to, id), ()).db()?;
                st.versions_moved += 1;
            }
            _ => st.versions_removed += 1,
        }
    }
    let mut cp = txn.open_table(EXEC_CHECKPOINTS).db()?;
    let gone: Vec<(u32, u64)> = cp
        .iter()
        .db()?
        .filter_map(|e| e.ok().map(|(k, _)| k.value()))
        .filter(|(_, s)| removed.contains(s))
        .collect();
    for k in gone {
        cp.remove(k).db()?;
    }
    Ok(())
}

/// Job versions and extra rows, per job, the same way.
fn move_job_versions(
    txn: &WriteTransaction,
    dest: &BTreeMap<u64, u64>,
    st: &mut PruneStats,
) -> Result<(), StoreError> {
    for def in [JOB_VERSIONS, EXEC_EXTRAS] {
        let mut t = txn.open_table(def).db()?;
        let mut by_job: BTreeMap<u32, Vec<(u64, bool)>> = BTreeMap::new();
        for e in t.iter().db()? {
            let (k, _) = e.db()?;
            let (job, seq) = k.value();
            by_job.entry(job).or_default().push((seq, false));
        }
        for (job, versions) in by_job {
            for (old, new) in plan_entity(&versions, dest, |_| false) {
                let bytes = t.remove((job, old)).db()?.map(|g| g.value().to_vec());
                match (new, bytes) {
                    (Some(to), Some(b)) => {
                        t.insert((job, to), b.as_slice()).db()?;
                        st.versions_moved += 1;
                    }
                    _ => st.versions_removed += 1,
                }
            }
        }
    }
    Ok(())
}

/// Router versions, the same way.
fn move_router_versions(
    txn: &WriteTransaction,
    dest: &BTreeMap<u64, u64>,
    st: &mut PruneStats,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(ROUTER_VERSIONS).db()?;
    let versions: Vec<(u64, bool)> = t
        .iter()
        .db()?
        .filter_map(|e| e.ok().map(|(k, _)| (k.value(), false)))
        .collect();
    for (old, new) in plan_entity(&versions, dest, |_| false) {
        let bytes = t.remove(old).db()?.map(|g| g.value().to_vec());
        match (new, bytes) {
            (Some(to), Some(b)) => {
                t.insert(to, b.as_slice()).db()?;
                st.versions_moved += 1;
            }
            _ => st.versions_removed += 1,
        }
    }
    Ok(())
}

/// The removed snapshots; the bodies and sessions those kept still use.
fn remove_snapshots(
    txn: &WriteTransaction,
    removed: &BTreeSet<u64>,
    current_session: u64,
) -> Result<(BTreeSet<u64>, BTreeSet<u64>), StoreError> {
    let mut used_bodies: BTreeSet<u64> = BTreeSet::new();
    let mut used_sessions: BTreeSet<u64> = BTreeSet::from([current_session]);
    {
        let mut t = txn.open_table(SNAPSHOTS).db()?;
        for &seq in removed {
            t.remove(seq).db()?;
        }
        for e in t.iter().db()? {
            let (k, v) = e.db()?;
            let rec = codec::decode_snapshot(v.value())
                .map_err(|e| StoreError::corrupt(format!("snapshot {}", k.value()), e))?;
            used_sessions.insert(rec.session);
            used_bodies.extend(rec.fetches.iter().filter_map(|f| f.body));
        }
    }
    Ok((used_bodies, used_sessions))
}

/// Bodies no kept snapshot uses (and no delta they need is based on), with their index.
fn remove_unused_bodies(
    txn: &WriteTransaction,
    used_bodies: BTreeSet<u64>,
    st: &mut PruneStats,
) -> Result<(), StoreError> {
    let mut bodies = txn.open_table(BODIES).db()?;
    let mut base: HashMap<u64, u64> = HashMap::new();
    let mut all: Vec<u64> = Vec::new();
    for e in bodies.iter().db()? {
        let (k, v) = e.db()?;
        all.push(k.value());
        let head = v.value().get(1..).and_then(|rest| {
            bincode::serde::decode_from_slice::<BodyHead, _>(rest, bincode::config::standard()).ok()
        });
        if let Some((BodyHead { base: Some(b), .. }, _)) = head {
            base.insert(k.value(), b);
        }
    }
    // Bodies in use, and the bases their deltas need.
    let mut keep = used_bodies.clone();
    let mut stack: Vec<u64> = used_bodies.into_iter().collect();
    while let Some(b) = stack.pop() {
        if let Some(&p) = base.get(&b)
            && keep.insert(p)
        {
            stack.push(p);
        }
    }
    for id in all {
        if !keep.contains(&id) {
            bodies.remove(id).db()?;
            st.removed_bodies.insert(id);
        }
    }
    st.bodies = st.removed_bodies.len();
    let mut idx = txn.open_table(BODY_INDEX).db()?;
    // An iterator's error ends the walk (a damaged page can return the same error forever).
    let mut stale: Vec<[u8; 32]> = Vec::new();
    for e in idx.iter().db()? {
        let (k, v) = e.db()?;
        if st.removed_bodies.contains(&v.value()) {
            stale.push(*k.value());
        }
    }
    for h in stale {
        idx.remove(&h).db()?;
    }
    Ok(())
}

/// Sessions no kept snapshot belongs to (the current one stays).
fn remove_unused_sessions(
    txn: &WriteTransaction,
    used_sessions: &BTreeSet<u64>,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(SESSIONS).db()?;
    let gone: Vec<u64> = t
        .iter()
        .db()?
        .filter_map(|e| e.ok().map(|(k, _)| k.value()))
        .filter(|s| !used_sessions.contains(s))
        .collect();
    for s in gone {
        t.remove(s).db()?;
    }
    Ok(())
}

/// The removed ranges, merged with those noted before.
fn note_removed_ranges(txn: &WriteTransaction, removed: &BTreeSet<u64>) -> Result<(), StoreError> {
    let mut t = txn.open_table(PRUNED).db()?;
    let mut ranges: Vec<(u64, u64)> = t
        .iter()
        .db()?
        .filter_map(|e| e.ok().map(|(k, v)| (k.value(), v.value())))
        .collect();
    for seq in removed {
        ranges.push((*seq, *seq));
    }
    ranges.sort();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(l) if a <= l.1 + 1 => l.1 = l.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let old: Vec<u64> = t
        .iter()
        .db()?
        .filter_map(|e| e.ok().map(|(k, _)| k.value()))
        .collect();
    for k in old {
        t.remove(k).db()?;
    }
    for (a, b) in merged {
        t.insert(a, b).db()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_version_of_a_removed_range_moves_to_the_next_kept_snapshot() {
        // Snapshots 1..=6; 2, 3 and 5 removed: 2 and 3 move to 4, 5 to 6.
        let removed = BTreeSet::from([2, 3, 5]);
        let times: Vec<(u64, i64)> = (1..=6).map(|s| (s, s as i64)).collect();
        let dest = destinations(&removed, &times);
        assert_eq!(dest, BTreeMap::from([(2, 4), (3, 4), (5, 6)]));
        // Versions at 1, 2, 3: 2 goes, 3 moves to 4.
        let p = plan_entity(&[(1, false), (2, false), (3, false)], &dest, |t| *t);
        assert_eq!(p, vec![(2, None), (3, Some(4))]);
        // A version at 4 already: the moved one would hide nothing; it goes.
        let p = plan_entity(&[(3, false), (4, false)], &dest, |t| *t);
        assert_eq!(p, vec![(3, None)]);
        // A tombstone with nothing kept before it: the row is forgotten.
        let p = plan_entity(&[(2, false), (3, true)], &dest, |t| *t);
        assert_eq!(p, vec![(2, None), (3, None)]);
        // With a kept version before, the tombstone moves (the row vanished by 4).
        let p = plan_entity(&[(1, false), (3, true)], &dest, |t| *t);
        assert_eq!(p, vec![(3, Some(4))]);
        // 5 moves to 6.
        let p = plan_entity(&[(5, false)], &dest, |t| *t);
        assert_eq!(p, vec![(5, Some(6))]);
    }
}
