//! Italian civil time (the `Europe/Rome` zone) as the generated script's
//! date tests need it: the UTC offset in force at the midnight that starts
//! a day. Italy keeps the European Union's summer time (Directive
//! 2000/84/EC): UTC+2 from the last Sunday of March to the last Sunday of
//! October, switching at 01:00 UTC; UTC+1 the rest of the year. Only
//! dates people choose for an absence are asked about, so the rule in
//! force since 1996 is the only one written here.

use chrono::{Datelike, NaiveDate};

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = match month {
        12 => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
        _ => NaiveDate::from_ymd_opt(year, month + 1, 1)?,
    };
    let last = first_of_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_days(chrono::Days::new(u64::from(back)))
}

/// The offset from UTC, in minutes, at the midnight that starts `day` in
/// Italy. Summer time starts at 02:00 local on the last Sunday of March
/// and ends at 03:00 local on the last Sunday of October, so that Sunday's
/// midnight still has the offset of the day before.
pub fn offset_at_midnight(day: NaiveDate) -> i32 {
    let year = day.year();
    let summer = match (last_sunday(year, 3), last_sunday(year, 10)) {
        (Some(starts), Some(ends)) => day > starts && day <= ends,
        _ => false,
    };
    if summer { 120 } else { 60 }
}

/// An offset as the Sieve `:zone` argument writes it (RFC 5260 §4.1):
/// `+0100`.
pub fn zone_argument(offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let minutes = offset_minutes.unsigned_abs();
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn last_sundays() {
        assert_eq!(last_sunday(2026, 3), Some(day("2026-03-29")));
        assert_eq!(last_sunday(2026, 10), Some(day("2026-10-25")));
        assert_eq!(last_sunday(2027, 3), Some(day("2027-03-28")));
        assert_eq!(last_sunday(2024, 12), Some(day("2024-12-29")));
    }

    #[test]
    fn summer_time_starts_after_the_last_sunday_of_march_midnight() {
        assert_eq!(offset_at_midnight(day("2026-01-15")), 60);
        assert_eq!(offset_at_midnight(day("2026-03-29")), 60);
        assert_eq!(offset_at_midnight(day("2026-03-30")), 120);
        assert_eq!(offset_at_midnight(day("2026-08-10")), 120);
        assert_eq!(offset_at_midnight(day("2026-10-25")), 120);
        assert_eq!(offset_at_midnight(day("2026-10-26")), 60);
        assert_eq!(offset_at_midnight(day("2026-12-24")), 60);
    }

    #[test]
    fn zones_as_sieve_writes_them() {
        assert_eq!(zone_argument(60), "+0100");
        assert_eq!(zone_argument(120), "+0200");
        assert_eq!(zone_argument(-570), "-0930");
    }
}
