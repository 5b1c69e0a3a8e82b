//! When to try again: a configured list of growing waits whose last one
//! repeats, and a lifetime after which a message is given up and bounced
//! (RFC 5321 §4.5.4.1); and when a sender is told once that a message is
//! still being retried (a delay notice, RFC 3464 `Action: delayed`).

use std::time::Duration;

/// The retry waits, the lifetime of queued mail, and when its delay notice
/// is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// At least one wait; the last one repeats.
    pub waits: Vec<Duration>,
    pub lifetime: Duration,
    /// The age of a still-deferred message at which its sender gets a
    /// delay notice; `None` for no notices.
    pub delay_notice: Option<Duration>,
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
        now >= self.retry_until(created_at)
    }

    /// When a message queued at `created_at` is given up, Unix seconds.
    pub fn retry_until(&self, created_at: i64) -> i64 {
        created_at.saturating_add(seconds(self.lifetime))
    }

    /// When the delay notice of a message queued at `created_at` is due,
    /// Unix seconds; `None` if notices are off.
    pub fn delay_notice_at(&self, created_at: i64) -> Option<i64> {
        self.delay_notice
            .map(|after| created_at.saturating_add(seconds(after)))
    }

    /// Whether a message queued at `created_at` is old enough at `now` for
    /// its delay notice.
    pub fn delay_notice_due(&self, created_at: i64, now: i64) -> bool {
        self.delay_notice_at(created_at).is_some_and(|at| now >= at)
    }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_then_the_last_repeats() {
        let schedule = Schedule {
            waits: vec![Duration::from_secs(60), Duration::from_secs(600)],
            lifetime: Duration::from_secs(3600),
            delay_notice: None,
        };
        assert_eq!(schedule.next_attempt(1, 1000), 1060);
        assert_eq!(schedule.next_attempt(2, 1000), 1600);
        assert_eq!(schedule.next_attempt(9, 1000), 1600);
        assert!(!schedule.expired(1000, 4599));
        assert!(schedule.expired(1000, 4600));
    }

    #[test]
    fn the_delay_notice_is_due_from_its_age_on() {
        let mut schedule = Schedule {
            waits: vec![Duration::from_secs(60)],
            lifetime: Duration::from_secs(3600),
            delay_notice: Some(Duration::from_secs(600)),
        };
        assert!(!schedule.delay_notice_due(1000, 1599));
        assert!(schedule.delay_notice_due(1000, 1600));
        assert_eq!(schedule.delay_notice_at(1000), Some(1600));
        assert_eq!(schedule.retry_until(1000), 4600);
        schedule.delay_notice = None;
        assert!(!schedule.delay_notice_due(1000, 1_000_000));
    }
}
