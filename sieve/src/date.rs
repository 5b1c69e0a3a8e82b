//! Date parts of RFC 5260 section 2.3, computed from a Unix time and a zone
//! offset with the proleptic Gregorian calendar, and `:zone` arguments.

use crate::script::DatePart;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// Days from 1858-11-17, the origin of RFC 5260's "julian" (Modified Julian Day), to 1970-01-01.
const MJD_OF_UNIX_EPOCH: i64 = 40_587;

/// Parses a `:zone` argument, "+hhmm" or "-hhmm", into minutes east of UTC.
pub(crate) fn parse_zone(zone: &str) -> Option<i32> {
    let bytes = zone.as_bytes();
    if bytes.len() != 5 || !bytes[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = zone[1..3].parse().ok()?;
    let minutes: i32 = zone[3..5].parse().ok()?;
    (hours < 24 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// The civil date of a day count from 1970-01-01: (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Shift the origin to 0000-03-01 so that leap days fall at the end of a
    // year, then count 400-year eras of 146 097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn zone_text(offset: i32, colon: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (offset.abs() / 60, offset.abs() % 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// The text of `part` for the instant `unix` seen in the zone `offset` (minutes east of UTC).
pub(crate) fn date_part(unix: i64, offset: i32, part: DatePart) -> String {
    let local = unix.saturating_add(i64::from(offset) * 60);
    let days = local.div_euclid(86_400);
    let seconds = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let weekday = (days + 4).rem_euclid(7);
    match part {
        DatePart::Year => format!("{year:04}"),
        DatePart::Month => format!("{month:02}"),
        DatePart::Day => format!("{day:02}"),
        DatePart::Date => format!("{year:04}-{month:02}-{day:02}"),
        DatePart::Julian => (days + MJD_OF_UNIX_EPOCH).to_string(),
        DatePart::Hour => format!("{hour:02}"),
        DatePart::Minute => format!("{minute:02}"),
        DatePart::Second => format!("{second:02}"),
        DatePart::Time => format!("{hour:02}:{minute:02}:{second:02}"),
        DatePart::Iso8601 => format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}",
            zone_text(offset, true)
        ),
        DatePart::Std11 => format!(
            "{}, {day} {} {year:04} {hour:02}:{minute:02}:{second:02} {}",
            WEEKDAYS[weekday as usize],
            MONTHS[(month - 1) as usize],
            zone_text(offset, false)
        ),
        DatePart::Zone => zone_text(offset, false),
        DatePart::Weekday => weekday.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2005-07-11 01:02:03 UTC, a Monday.
    const T: i64 = 1_121_043_723;

    #[test]
    fn parts_in_utc_and_in_zones() {
        assert_eq!(date_part(T, 0, DatePart::Date), "2005-07-11");
        assert_eq!(date_part(T, 0, DatePart::Time), "01:02:03");
        assert_eq!(date_part(T, 0, DatePart::Weekday), "1");
        assert_eq!(date_part(T, 0, DatePart::Julian), "53562");
        assert_eq!(date_part(T, -120, DatePart::Date), "2005-07-10");
        assert_eq!(date_part(T, -120, DatePart::Hour), "23");
        assert_eq!(
            date_part(T, 90, DatePart::Iso8601),
            "2005-07-11T02:32:03+01:30"
        );
        assert_eq!(
            date_part(T, -300, DatePart::Std11),
            "Sun, 10 Jul 2005 20:02:03 -0500"
        );
        assert_eq!(date_part(T, -300, DatePart::Zone), "-0500");
        assert_eq!(date_part(951_782_400, 0, DatePart::Date), "2000-02-29");
        assert_eq!(date_part(-86_400, 0, DatePart::Date), "1969-12-31");
    }

    #[test]
    fn zones() {
        assert_eq!(parse_zone("+0100"), Some(60));
        assert_eq!(parse_zone("-0930"), Some(-570));
        assert_eq!(parse_zone("0100"), None);
        assert_eq!(parse_zone("+2400"), None);
        assert_eq!(parse_zone("+01:00"), None);
    }
}
