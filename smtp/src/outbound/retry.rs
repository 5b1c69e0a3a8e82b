//! When to try again: a configured list of growing waits whose last one
//! repeats, and a lifetime after which a message is given up and bounced
//! (RFC 5321 §4.5.4.1).

use std::time::Duration;

/// The retry waits and the lifetime of queued mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// At least one wait; the last one repeats.
    pub waits: Vec<Duration>,
    pub lifetime: Duration,
}

impl Schedule {
    /// When to try again, in Unix seconds, after the `attempts`th attempt
    /// (1 for the first) ended at `now`.
    pub fn next_attempt(&self, attempts: i64, now: i64) -> i64 {
        let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0);
        let wait = self
            .waits
            .get(index)
            .or(self.waits.last())
            .copied()
            .unwrap_or(Duration::from_secs(60));
        now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX))
    }

    /// Whether a message queued at `created_at` has outlived its lifetime.
    pub fn expired(&self, created_at: i64, now: i64) -> bool {
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        now >= created_at.saturating_add(lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_then_the_last_repeats() {
        let schedule = Schedule {
            waits: vec![Duration::from_secs(60), Duration::from_secs(600)],
            lifetime: Duration::from_secs(3600),
        };
        assert_eq!(schedule.next_attempt(1, 1000), 1060);
        assert_eq!(schedule.next_attempt(2, 1000), 1600);
        assert_eq!(schedule.next_attempt(9, 1000), 1600);
        assert!(!schedule.expired(1000, 4599));
        assert!(schedule.expired(1000, 4600));
    }
}
