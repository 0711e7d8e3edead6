//! The runner's rate budget: at most N requests in any 60-second window (the runner allows
//! 60 per minute per client IP; the recorder defaults to 50 to leave room for people), and a
//! pause until `Retry-After` once the runner answers 429.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct RateBudget {
    max_per_minute: u32,
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl RateBudget {
    pub fn new(max_per_minute: u32) -> Self {
        RateBudget {
            max_per_minute,
            sent: VecDeque::new(),
            paused_until: None,
        }
    }

    /// When the next request may be sent, `now` if at once.
    pub fn next_slot(&mut self, now: Instant) -> Instant {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= WINDOW)
        {
            self.sent.pop_front();
        }
        let mut at = now;
        if self.sent.len() >= self.max_per_minute as usize {
            let idx = self.sent.len() - self.max_per_minute as usize;
            at = at.max(self.sent[idx] + WINDOW);
        }
        if let Some(p) = self.paused_until {
            at = at.max(p);
        }
        at
    }

    /// Records that a request was sent at `at`.
    pub fn take(&mut self, at: Instant) {
        self.sent.push_back(at);
    }

    /// The runner said 429: send nothing before `now + retry_after`.
    pub fn pause(&mut self, now: Instant, retry_after: Duration) {
        let until = now + retry_after;
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_n_in_a_window() {
        let t0 = Instant::now();
        let mut b = RateBudget::new(3);
        for _ in 0..3 {
            let at = b.next_slot(t0);
            assert_eq!(at, t0);
            b.take(at);
        }
        assert_eq!(b.next_slot(t0), t0 + WINDOW);
        assert_eq!(b.next_slot(t0 + WINDOW), t0 + WINDOW);
    }

    #[test]
    fn retry_after_pauses() {
        let t0 = Instant::now();
        let mut b = RateBudget::new(100);
        b.pause(t0, Duration::from_secs(7));
        assert_eq!(b.next_slot(t0), t0 + Duration::from_secs(7));
    }
}
