//! Which jobs `record --all-jobs` follows: every job the runner's list shows active, or that
//! changed within the grace period; a job that is terminal and unchanged for the grace period
//! is let go (it comes back if it changes again). Pinned jobs (`--job`) are always followed.
//!
//! "Changed" is what the recorder can see: the status in the list, or the job's complete list
//! (its body) differing from the last one. A job first seen already terminal is followed only
//! if it was created within the grace period (it just finished); the 45 finished jobs of a
//! fleet cost nothing. A job active but unchanged for `IDLE_AFTER` is let go too (the
//! cross-region path leaves partial jobs `running` or `queued` for good).

use crate::beacon::ListedJob;
use std::collections::BTreeMap;

/// Jobs followed at most; the newest active ones first.
pub const MAX_FOLLOWED: usize = 100;
/// An active job whose status and rows did not change for this long is let go.
pub const IDLE_AFTER_US: i64 = 3_600_000_000;

pub fn is_terminal(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled" | "canceled")
}

#[derive(Debug, Clone)]
struct Watch {
    status: Option<String>,
    created_at: Option<i64>,
    /// When the recorder last saw it change (its status, or its rows).
    changed_at: i64,
}

#[derive(Debug, Clone)]
pub struct Follow {
    pinned: Vec<String>,
    grace_us: i64,
    seen: BTreeMap<String, Watch>,
    /// Rows fingerprint of each followed job's last complete list.
    rows: BTreeMap<String, u64>,
    followed: Vec<String>,
}

impl Follow {
    pub fn new(pinned: Vec<String>, grace_us: i64) -> Follow {
        Follow {
            followed: pinned.clone(),
            pinned,
            grace_us,
            seen: BTreeMap::new(),
            rows: BTreeMap::new(),
        }
    }

    /// The jobs to poll: pinned first, then followed jobs, active ones first.
    pub fn jobs(&self) -> &[String] {
        &self.followed
    }

    /// Takes in the runner's list; returns a sentence when the followed set changed.
    pub fn listed(&mut self, jobs: &[ListedJob], now: i64) -> Option<String> {
        for j in jobs {
            match self.seen.get_mut(&j.id) {
                Some(w) => {
                    if w.status != j.status {
                        w.status = j.status.clone();
                        w.changed_at = now;
                    }
                }
                None => {
                    // First sight: a terminal job counts as changed when it was created.
                    let terminal = j.status.as_deref().is_some_and(is_terminal);
                    let changed_at = if terminal {
                        j.created_at.unwrap_or(i64::MIN / 2).min(now)
                    } else {
                        now
                    };
                    self.seen.insert(
                        j.id.clone(),
                        Watch {
                            status: j.status.clone(),
                            created_at: j.created_at,
                            changed_at,
                        },
                    );
                }
            }
        }
        self.refresh(now)
    }

    /// Takes in a job's complete list as a fingerprint of its rows.
    pub fn rows_seen(&mut self, job: &str, fingerprint: u64, now: i64) {
        if self.rows.insert(job.to_string(), fingerprint) != Some(fingerprint)
            && let Some(w) = self.seen.get_mut(job)
        {
            w.changed_at = now;
        }
    }

    fn wanted(&self, w: &Watch, now: i64) -> bool {
        let quiet = now - w.changed_at;
        match w.status.as_deref() {
            Some(s) if is_terminal(s) => quiet < self.grace_us,
            _ => quiet < IDLE_AFTER_US,
        }
    }

    fn refresh(&mut self, now: i64) -> Option<String> {
        let mut active: Vec<(&String, &Watch)> = self
            .seen
            .iter()
            .filter(|(id, w)| !self.pinned.contains(id) && self.wanted(w, now))
            .collect();
        // Active before grace, newest first.
        active.sort_by_key(|(id, w)| {
            (
                w.status.as_deref().is_some_and(is_terminal),
                std::cmp::Reverse(w.created_at),
                (*id).clone(),
            )
        });
        let room = MAX_FOLLOWED.saturating_sub(self.pinned.len());
        let over = active.len().saturating_sub(room);
        let mut next = self.pinned.clone();
        next.extend(active.into_iter().take(room).map(|(id, _)| id.clone()));
        if next == self.followed {
            return None;
        }
        // The same jobs in another order (one finished): nothing to tell.
        let mut a = next.clone();
        let mut b = self.followed.clone();
        a.sort();
        b.sort();
        if a == b && over == 0 {
            self.followed = next;
            return None;
        }
        let added: Vec<&String> = next.iter().filter(|j| !self.followed.contains(j)).collect();
        let gone: Vec<&String> = self.followed.iter().filter(|j| !next.contains(j)).collect();
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("following {}", names(&added)));
        }
        if !gone.is_empty() {
            parts.push(format!(
                "let go of {} (finished and unchanged)",
                names(&gone)
            ));
        }
        if over > 0 {
            parts.push(format!(
                "{over} more active job{} not followed: at most {MAX_FOLLOWED}",
                if over == 1 { "" } else { "s" }
            ));
        }
        let note = format!(
            "{}; {} job{} followed",
            parts.join("; "),
            next.len(),
            if next.len() == 1 { "" } else { "s" }
        );
        for g in &gone {
            self.rows.remove(*g);
        }
        self.followed = next;
        Some(note)
    }
}

fn names(v: &[&String]) -> String {
    let shown: Vec<String> = v.iter().take(5).map(|s| s.to_string()).collect();
    if v.len() > 5 {
        format!("{} and {} more", shown.join(", "), v.len() - 5)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, status: &str, created_at: i64) -> ListedJob {
        ListedJob {
            id: id.into(),
            status: Some(status.into()),
            created_at: Some(created_at),
        }
    }

    const MIN: i64 = 60_000_000;

    #[test]
    fn follows_active_and_fresh_jobs_and_lets_finished_ones_go() {
        let mut f = Follow::new(vec!["pinned".into()], 10 * MIN);
        let now = 100 * MIN;
        let note = f
            .listed(
                &[
                    job("old-done", "completed", 0),
                    job("just-done", "failed", now - MIN),
                    job("busy", "processing", now - 5 * MIN),
                ],
                now,
            )
            .unwrap();
        assert_eq!(f.jobs(), ["pinned", "busy", "just-done"]);
        assert_eq!(note, "following busy, just-done; 3 jobs followed");
        // Nothing changes: no note.
        assert!(
            f.listed(&[job("busy", "processing", 0)], now + MIN)
                .is_none()
        );
        // busy finishes: followed for the grace period, then let go.
        assert!(
            f.listed(&[job("busy", "completed", 0)], now + 2 * MIN)
                .is_none()
        );
        let note = f.listed(&[], now + 11 * MIN).unwrap();
        assert!(note.contains("let go of just-done"), "{note}");
        assert_eq!(f.jobs(), ["pinned", "busy"]);
        assert!(f.listed(&[], now + 13 * MIN).is_some());
        assert_eq!(f.jobs(), ["pinned"]);
        // A finished job whose rows change again is followed again.
        f.rows_seen("busy", 1, now + 14 * MIN);
        f.rows_seen("busy", 2, now + 15 * MIN);
        assert!(f.listed(&[], now + 15 * MIN).is_some());
        assert_eq!(f.jobs(), ["pinned", "busy"]);
    }

    #[test]
    fn an_active_job_that_never_changes_is_let_go_and_the_cap_holds() {
        let mut f = Follow::new(vec![], 10 * MIN);
        let list: Vec<ListedJob> = (0..150)
            .map(|i| job(&format!("j{i:03}"), "queued", i * MIN))
            .collect();
        let note = f.listed(&list, 0).unwrap();
        assert_eq!(f.jobs().len(), MAX_FOLLOWED);
        assert_eq!(f.jobs()[0], "j149", "newest first");
        assert!(note.contains("50 more active jobs not followed"), "{note}");
        f.listed(&list, IDLE_AFTER_US + 1);
        assert!(f.jobs().is_empty());
    }

    #[test]
    fn long_lists_of_names_are_shortened() {
        let ids: Vec<String> = (0..6).map(|i| format!("j{i}")).collect();
        let refs: Vec<&String> = ids.iter().collect();
        assert_eq!(names(&refs[..5]), "j0, j1, j2, j3, j4");
        assert_eq!(names(&refs), "j0, j1, j2, j3, j4 and 1 more");
    }

    /// The grace period ends exactly at its length; an active job is kept past it (until
    /// it has been idle for an hour); a finished job the list gives no creation time for is
    /// not followed.
    #[test]
    fn grace_and_idle_limits_are_exact() {
        let mut f = Follow::new(vec![], 10 * MIN);
        let t = 5 * MIN;
        let no_time = ListedJob {
            id: "undated".into(),
            status: Some("completed".into()),
            created_at: None,
        };
        f.listed(&[no_time, job("busy", "processing", 0)], t);
        assert_eq!(f.jobs(), ["busy"], "an undated finished job is old news");
        // Unchanged and active for longer than the grace: still followed.
        assert!(f.listed(&[], t + 30 * MIN).is_none());
        assert_eq!(f.jobs(), ["busy"]);
        // Idle for exactly an hour: let go.
        assert!(f.listed(&[], t + IDLE_AFTER_US - 1).is_none());
        assert!(f.listed(&[], t + IDLE_AFTER_US).is_some());
        assert!(f.jobs().is_empty());
        // A finished job: kept until exactly the grace period has passed.
        let mut g = Follow::new(vec![], 10 * MIN);
        g.listed(&[job("done", "failed", t)], t);
        assert_eq!(g.jobs(), ["done"]);
        assert!(g.listed(&[], t + 10 * MIN - 1).is_none());
        assert!(g.listed(&[], t + 10 * MIN).is_some());
        assert!(g.jobs().is_empty());
    }
}
