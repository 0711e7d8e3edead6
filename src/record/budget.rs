//! The runner's rate budget: at most N requests in any 60-second window of the recorder's
//! clock. The runner allows 60 per minute per client IP (a token bucket, `RateLimiting` in its
//! `middleware/security.go`); the recorder defaults to 50, leaving room for people.

use std::collections::VecDeque;

const WINDOW_US: i64 = 60_000_000;

#[derive(Debug)]
pub struct RateBudget {
    max_per_minute: u32,
    /// Times of the requests sent in the last window, oldest first.
    sent: VecDeque<i64>,
}

impl RateBudget {
    pub fn new(max_per_minute: u32) -> Self {
        RateBudget {
            max_per_minute: max_per_minute.max(1),
            sent: VecDeque::new(),
        }
    }

    fn prune(&mut self, now_us: i64) {
        while self.sent.front().is_some_and(|&t| now_us - t >= WINDOW_US) {
            self.sent.pop_front();
        }
    }

    /// Requests that may still be sent now.
    pub fn available(&mut self, now_us: i64) -> u32 {
        self.prune(now_us);
        self.max_per_minute
            .saturating_sub(self.sent.len().min(u32::MAX as usize) as u32)
    }

    /// Records a request sent at `now_us`.
    pub fn take(&mut self, now_us: i64) {
        self.sent.push_back(now_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_n_in_a_window() {
        let mut b = RateBudget::new(3);
        for t in [0, 1, 2] {
            assert!(b.available(t) > 0);
            b.take(t);
        }
        assert_eq!(b.available(59_999_999), 0);
        assert_eq!(b.available(60_000_000), 1);
        assert_eq!(b.available(60_000_002), 3);
    }
}
