//! Durations as people write them: `30s`, `5m`, `2h`, `1d`, or `90` seconds.
//!
//! Used for timeouts and throttling windows; whole seconds are precise enough
//! for all of them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A duration in whole seconds.
///
/// Parses from a whole number with an optional unit (`s`, `m`, `h`, `d`,
/// `mo` for 30 days;
/// case-insensitive; an optional space between number and unit; no unit means
/// seconds), or from a TOML integer of seconds. Displays in the largest unit
/// that represents the value exactly (`5m`, `90s`), which parses back to the
/// same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

/// Why a string is not a [`HumanDuration`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a whole number followed by a known unit.
    #[error("invalid duration `{0}` (expected a whole number with a unit such as 30s, 5m, 2h, 1d)")]
    Invalid(String),
    /// More seconds than fit in 64 bits.
    #[error("duration `{0}` is too large")]
    TooLarge(String),
}

/// Units with their length in seconds, largest first for display.
const UNITS: [(&str, u64); 4] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)];

/// A month of 30 days, for retention periods (`6mo`); read, never shown,
/// so that displays stay in days.
const MONTH: (&str, u64) = ("mo", 30 * 86_400);

impl HumanDuration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(Duration::from_secs(secs))
    }
}

impl From<HumanDuration> for Duration {
    fn from(value: HumanDuration) -> Self {
        value.0
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || DurationError::Invalid(input.to_owned());
        let text = input.trim();
        let number_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, rest) = text.split_at(number_end);
        if number.is_empty() {
            return Err(invalid());
        }
        let unit = rest.strip_prefix(' ').unwrap_or(rest);
        let seconds_per_unit = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .chain([&MONTH])
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|&(_, secs)| secs)
                .ok_or_else(invalid)?
        };
        // Only digits remain, so a parse failure can only be overflow.
        let count: u64 = number
            .parse()
            .map_err(|_| DurationError::TooLarge(input.to_owned()))?;
        count
            .checked_mul(seconds_per_unit)
            .map(HumanDuration::from_secs)
            .ok_or_else(|| DurationError::TooLarge(input.to_owned()))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (name, per_unit) = UNITS
            .iter()
            .find(|&&(_, per_unit)| secs != 0 && secs.is_multiple_of(per_unit))
            .copied()
            .unwrap_or(("s", 1));
        f.pad(&format!("{}{name}", secs / per_unit))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = HumanDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\" or \"5m\", or a whole number of seconds")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<HumanDuration, E> {
                value.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<HumanDuration, E> {
                Ok(HumanDuration::from_secs(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<HumanDuration, E> {
                u64::try_from(value)
                    .map(HumanDuration::from_secs)
                    .map_err(|_| E::custom(DurationError::Invalid(value.to_string())))
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Result<u64, DurationError> {
        text.parse::<HumanDuration>().map(|d| d.0.as_secs())
    }

    #[test]
    fn parses_known_answers() {
        let cases = [
            ("30s", 30),
            ("5m", 300),
            ("2h", 7200),
            ("1d", 86_400),
            ("6mo", 180 * 86_400),
            ("90", 90),
            ("0", 0),
            ("15 m", 900),
            ("2H", 7200),
            (" 45s ", 45),
        ];
        for (text, expected) in cases {
            assert_eq!(secs(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for text in [
            "",
            "s",
            "-5s",
            "1.5h",
            "5 minutes",
            "5ms",
            "5w",
            "5  m",
            "1h30m",
            "m5",
            "5mx",
        ] {
            assert_eq!(
                secs(text),
                Err(DurationError::Invalid(text.to_owned())),
                "{text:?}"
            );
        }
        for text in ["18446744073709551616", "300000000000000000d"] {
            assert_eq!(
                secs(text),
                Err(DurationError::TooLarge(text.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            secs("soon").expect_err("invalid").to_string(),
            "invalid duration `soon` (expected a whole number with a unit such as 30s, 5m, 2h, 1d)"
        );
    }

    #[test]
    fn displays_in_the_largest_exact_unit_and_parses_back() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (90, "90s"),
            (300, "5m"),
            (7200, "2h"),
            (172_800, "2d"),
        ];
        for (value, expected) in cases {
            let shown = HumanDuration::from_secs(value).to_string();
            assert_eq!(shown, expected);
            assert_eq!(secs(&shown), Ok(value));
        }
    }
}
