//! Time, behind one seam. Everything the recorder, the simulator and the replay server stamp or
//! wait on goes through a `Clock`: the wall time stamped on what is recorded (`now_us`) and the
//! waits between polls (`sleep_us`).
//!
//! - `SystemClock`: the real wall clock; waits are tokio sleeps.
//! - `ScaledClock`: wall time that runs `speed` times faster from a fixed start. The simulator
//!   plays its scenario on one, and the demo records on the same one, so that row timestamps and
//!   snapshot times are on one clock.
//! - `ManualClock`: time moves only when told to or when something sleeps on it (a sleep
//!   advances it at once). Tests drive the whole poll loop on it, deterministically and without
//!   waiting.
//!
//! What is not a time of day stays outside: the HTTP source measures a request's latency with
//! the monotonic `Instant` (a physical duration), and reqwest's own timeouts run in real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait Clock: Send + Sync {
    /// Wall time: microseconds since the Unix epoch, UTC.
    fn now_us(&self) -> i64;

    /// Waits `us` microseconds of this clock's time (nothing for zero or less).
    fn sleep_us(&self, us: i64) -> Sleep<'_>;

    /// Waits until this clock reads `at_us`.
    fn sleep_until_us(&self, at_us: i64) -> Sleep<'_> {
        self.sleep_us(at_us - self.now_us())
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        chrono::Utc::now().timestamp_micros()
    }

    fn sleep_us(&self, us: i64) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(Duration::from_micros(us.max(0) as u64)))
    }
}

/// Wall time running `speed` times faster than real time, from `epoch_us` at the moment the
/// clock was made.
pub struct ScaledClock {
    epoch_us: i64,
    speed: f64,
    start: std::time::Instant,
}

impl ScaledClock {
    pub fn new(speed: f64) -> Self {
        ScaledClock {
            epoch_us: SystemClock.now_us(),
            speed,
            start: std::time::Instant::now(),
        }
    }

    /// The clock's reading when it was made: scenario second 0 of the simulator.
    pub fn epoch_us(&self) -> i64 {
        self.epoch_us
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for ScaledClock {
    fn now_us(&self) -> i64 {
        self.epoch_us + (self.start.elapsed().as_secs_f64() * self.speed * 1e6) as i64
    }

    fn sleep_us(&self, us: i64) -> Sleep<'_> {
        let real = us.max(0) as f64 / self.speed;
        Box::pin(tokio::time::sleep(Duration::from_secs_f64(real / 1e6)))
    }
}

/// A clock that moves only when told to, or when something sleeps on it: a sleep advances it
/// by its length when first polled, and is then over. A sleep that loses a race (a `select!`
/// whose other branch finished first) is never polled and moves nothing. For tests and
/// synthetic recordings.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_us: i64) -> Self {
        ManualClock(AtomicI64::new(start_us))
    }

    pub fn advance_us(&self, us: i64) {
        self.0.fetch_add(us.max(0), Ordering::SeqCst);
    }

    /// Moves the clock forward to `at_us` (never back).
    pub fn advance_to(&self, at_us: i64) {
        self.0.fetch_max(at_us, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn sleep_us(&self, us: i64) -> Sleep<'_> {
        Box::pin(async move { self.advance_us(us) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_moves_only_when_slept_on() {
        let c = ManualClock::new(1_000);
        assert_eq!(c.now_us(), 1_000);
        c.sleep_us(500).await;
        assert_eq!(c.now_us(), 1_500);
        c.sleep_until_us(1_200).await;
        assert_eq!(c.now_us(), 1_500, "never back");
        c.advance_to(9_000);
        assert_eq!(c.now_us(), 9_000);
        let lost = c.sleep_us(1_000);
        drop(lost);
        assert_eq!(c.now_us(), 9_000, "a sleep never polled moves nothing");
    }

    #[tokio::test]
    async fn scaled_clock_runs_faster() {
        let c = ScaledClock::new(1000.0);
        let t0 = c.now_us();
        c.sleep_us(2_000_000).await; // 2 s of scaled time: 2 ms real
        let d = c.now_us() - t0;
        assert!(d >= 2_000_000, "{d}");
        assert!(d < 200_000_000, "{d}");
    }
}
