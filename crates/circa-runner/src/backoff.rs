//! Delays between retries: 100 ms, doubling, capped.

use std::time::Duration;

/// The first delay.
pub const INITIAL: Duration = Duration::from_millis(100);

/// The longest delay unless a caller caps it lower.
pub const MAX: Duration = Duration::from_secs(5);

/// An exponential backoff: each [`Backoff::next_delay`] doubles the delay up to the cap.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(MAX)
    }
}

impl Backoff {
    /// A backoff starting at 100 ms, never above `max`.
    pub fn new(max: Duration) -> Self {
        Backoff {
            next: INITIAL.min(max),
            max,
        }
    }

    /// The delay to wait now; the one after is twice as long (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(self.max);
        now
    }

    /// Starts again from 100 ms (after a success).
    pub fn reset(&mut self) {
        self.next = INITIAL.min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let got: Vec<u128> = (0..9).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay(), INITIAL);
    }

    #[test]
    fn a_low_cap_wins_over_the_first_delay() {
        let mut b = Backoff::new(Duration::from_millis(50));
        assert_eq!(b.next_delay(), Duration::from_millis(50));
        assert_eq!(b.next_delay(), Duration::from_millis(50));
    }
}
