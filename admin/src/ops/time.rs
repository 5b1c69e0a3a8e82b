//! Times as operators and scripts write them, and as operators read them.
//! The CLI, the API and the console read times here, so that each accepts
//! what the others do: RFC 3339 (`2025-03-01T10:00:00+01:00`), a day in
//! UTC (`2025-03-01`), or whole seconds since the Unix epoch.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate};
use thiserror::Error;

/// Seconds in a day; days here are UTC days, without leap seconds.
const DAY: i64 = 24 * 3600;

/// A time as given: an instant, or a whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// Seconds since the epoch.
    Instant(i64),
    /// A UTC day, by the seconds of its midnight.
    Day(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`{0}` is not a time such as 2025-03-03T10:00:00Z, a date such as 2025-03-03, \
     nor seconds since the epoch"
)]
pub struct TimeError(String);

impl Time {
    /// When it starts: the instant itself, or the day's midnight.
    pub fn start(self) -> i64 {
        match self {
            Time::Instant(at) | Time::Day(at) => at,
        }
    }

    /// When it is over: the instant itself, or the next day's midnight. An
    /// exclusive bound that takes in the whole of a day given as a date.
    pub fn end(self) -> i64 {
        match self {
            Time::Instant(at) => at,
            Time::Day(midnight) => midnight + DAY,
        }
    }
}

impl FromStr for Time {
    type Err = TimeError;

    fn from_str(text: &str) -> Result<Time, TimeError> {
        let trimmed = text.trim();
        let instant = if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            trimmed.parse().ok()
        } else {
            DateTime::parse_from_rfc3339(trimmed)
                .ok()
                .map(|t| t.timestamp())
        };
        if let Some(at) = instant {
            return Ok(Time::Instant(at));
        }
        NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|midnight| Time::Day(midnight.and_utc().timestamp()))
            .ok_or_else(|| TimeError(text.to_string()))
    }
}

/// A time as operators read it, in UTC.
pub fn utc(secs: i64) -> String {
    match DateTime::from_timestamp(secs, 0) {
        Some(time) => time.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => secs.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARCH_1: i64 = 1_740_787_200;

    #[test]
    fn instants_are_rfc_3339_or_epoch_seconds() {
        for text in [
            "1740787200",
            " 1740787200 ",
            "2025-03-01T00:00:00Z",
            "2025-03-01T01:00:00+01:00",
            "2025-03-01t00:00:00z",
        ] {
            assert_eq!(text.parse(), Ok(Time::Instant(MARCH_1)), "{text:?}");
        }
    }

    #[test]
    fn a_date_is_its_whole_utc_day() {
        let day: Time = "2025-03-01".parse().unwrap();
        assert_eq!(day, Time::Day(MARCH_1));
        assert_eq!(day.start(), MARCH_1);
        assert_eq!(day.end(), MARCH_1 + DAY);
        let instant = Time::Instant(MARCH_1);
        assert_eq!((instant.start(), instant.end()), (MARCH_1, MARCH_1));
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for bad in [
            "",
            " ",
            "-5",
            "1e9",
            "ieri",
            "2025-02-30",
            "01/03/2025",
            "99999999999999999999",
        ] {
            let err = bad.parse::<Time>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(1_740_996_000), "2025-03-03 10:00 UTC");
    }
}
