//! Byte sizes as people write them: `50MB`, `512 KiB`, `1.5GB`, `100`.
//!
//! Used for every size limit in the file and by the CLI (`--quota 2GB`).
//! Decimal units (KB, MB, GB, TB) are powers of 1000, binary units (KiB, MiB,
//! GiB, TiB) powers of 1024, so `50MB` means what a user's mail client shows.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A number of bytes.
///
/// Parses from a string with an optional unit (`B`, `KB`, `MB`, `GB`, `TB`,
/// `KiB`, `MiB`, `GiB`, `TiB`; case-insensitive; an optional space between
/// number and unit; no unit means bytes), or from a TOML integer of bytes. A
/// fraction (`1.5GB`) is rounded down to a whole byte. Displays in the largest
/// unit that represents the value exactly (`50MB`, `1536MiB`), so the printed
/// form parses back to the same value; other values print as approximate
/// decimal units (`1.23MB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Why a string is not a [`ByteSize`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ByteSizeError {
    /// Not a number followed by a known unit.
    #[error("invalid size `{0}` (expected a number with a unit such as 512KB, 50MB, 1GiB)")]
    Invalid(String),
    /// More bytes than fit in 64 bits.
    #[error("size `{0}` is too large (the maximum is {max} bytes)", max = u64::MAX)]
    TooLarge(String),
}

/// One kilobyte, 1000 bytes.
pub const KB: u64 = 1000;
/// One megabyte, 1000 KB.
pub const MB: u64 = 1000 * KB;
/// One gigabyte, 1000 MB.
pub const GB: u64 = 1000 * MB;
/// One terabyte, 1000 GB.
pub const TB: u64 = 1000 * GB;
/// One kibibyte, 1024 bytes.
pub const KIB: u64 = 1024;
/// One mebibyte, 1024 KiB.
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte, 1024 MiB.
pub const GIB: u64 = 1024 * MIB;
/// One tebibyte, 1024 GiB.
pub const TIB: u64 = 1024 * GIB;

/// Units with their multipliers; names as displayed, matched case-insensitively.
const UNITS: [(&str, u64); 9] = [
    ("B", 1),
    ("KB", KB),
    ("MB", MB),
    ("GB", GB),
    ("TB", TB),
    ("KiB", KIB),
    ("MiB", MIB),
    ("GiB", GIB),
    ("TiB", TIB),
];

/// More fraction digits than this cannot change a size by a whole byte in any
/// sensible input, and keeps the arithmetic below inside `u128`.
const MAX_FRACTION_DIGITS: usize = 18;

impl FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || ByteSizeError::Invalid(input.to_owned());
        let too_large = || ByteSizeError::TooLarge(input.to_owned());

        let text = input.trim();
        let number_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, rest) = text.split_at(number_end);
        let unit = rest.strip_prefix(' ').unwrap_or(rest);
        let multiplier = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|&(_, multiplier)| multiplier)
                .ok_or_else(invalid)?
        };

        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (number.contains('.') && fraction.is_empty())
            || fraction.len() > MAX_FRACTION_DIGITS
        {
            return Err(invalid());
        }

        let mut bytes: u128 = 0;
        for digit in whole.bytes() {
            bytes = bytes
                .checked_mul(10)
                .and_then(|b| b.checked_add(u128::from(digit - b'0')))
                .ok_or_else(too_large)?;
        }
        bytes = bytes
            .checked_mul(u128::from(multiplier))
            .ok_or_else(too_large)?;
        if !fraction.is_empty() {
            let numerator: u128 = fraction.parse().map_err(|_| invalid())?;
            let digits = u32::try_from(fraction.len()).map_err(|_| invalid())?;
            bytes += numerator * u128::from(multiplier) / 10u128.pow(digits);
        }
        u64::try_from(bytes).map(ByteSize).map_err(|_| too_large())
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        let exact = UNITS
            .iter()
            .filter(|&&(_, multiplier)| bytes.is_multiple_of(multiplier))
            .min_by_key(|&&(_, multiplier)| bytes / multiplier);
        let text = match exact {
            _ if bytes == 0 => "0B".to_owned(),
            Some(&(name, multiplier)) if multiplier > 1 => format!("{}{name}", bytes / multiplier),
            _ if bytes < KB => format!("{bytes}B"),
            _ => {
                let (name, multiplier) = UNITS[1..5]
                    .iter()
                    .rev()
                    .find(|&&(_, multiplier)| bytes >= multiplier)
                    .copied()
                    .unwrap_or(("KB", KB));
                // Precision loss is fine: this branch is an approximation.
                let value = bytes as f64 / multiplier as f64;
                let rounded = format!("{value:.2}");
                let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
                format!("{trimmed}{name}")
            }
        };
        f.pad(&text)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"50MB\" or a whole number of bytes")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<ByteSize, E> {
                value.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ByteSize, E> {
                u64::try_from(value)
                    .map(ByteSize)
                    .map_err(|_| E::custom(ByteSizeError::Invalid(value.to_string())))
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> Result<u64, ByteSizeError> {
        text.parse::<ByteSize>().map(|s| s.0)
    }

    #[test]
    fn parses_known_answers() {
        let cases = [
            ("100", 100),
            ("0", 0),
            ("100B", 100),
            ("50MB", 50_000_000),
            ("50mb", 50_000_000),
            ("50 MB", 50_000_000),
            ("512 KiB", 524_288),
            ("512kib", 524_288),
            ("1.5GB", 1_500_000_000),
            ("1.5GiB", 1_610_612_736),
            ("0.5KiB", 512),
            ("1.1KiB", 1126),
            ("2TB", 2_000_000_000_000),
            ("1TiB", 1_099_511_627_776),
            ("  7 kb ", 7000),
        ];
        for (text, expected) in cases {
            assert_eq!(size(text), Ok(expected), "{text}");
        }
        assert_eq!(size("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn rejects_bad_input() {
        for text in [
            "",
            " ",
            "MB",
            "-5MB",
            "-1",
            "12 parsecs",
            "5 M",
            "5K",
            "1.GB",
            ".5GB",
            "1..5GB",
            "1.2.3MB",
            "5  MB",
            "1e3",
            "5MBx",
            "0x10",
            "1,5MB",
            "16EiB",
        ] {
            assert_eq!(
                size(text),
                Err(ByteSizeError::Invalid(text.to_owned())),
                "{text:?}"
            );
        }
        for text in [
            "18446744073709551616",
            "20000000TB",
            "99999999999999999999999999999999999999999",
        ] {
            assert_eq!(
                size(text),
                Err(ByteSizeError::TooLarge(text.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn error_message_names_the_value() {
        let err = size("12 parsecs").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid size `12 parsecs` (expected a number with a unit such as 512KB, 50MB, 1GiB)"
        );
    }

    #[test]
    fn displays_exact_values_in_the_largest_unit() {
        let cases = [
            (0, "0B"),
            (999, "999B"),
            (1000, "1KB"),
            (1024, "1KiB"),
            (50 * MB, "50MB"),
            (50 * MIB, "50MiB"),
            (1_610_612_736, "1536MiB"),
            (1_500_000_000, "1500MB"),
            (2 * TB, "2TB"),
            (1_234_567, "1.23MB"),
            (1001, "1KB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(ByteSize(bytes).to_string(), expected, "{bytes}");
        }
        assert_eq!(format!("{:>6}", ByteSize(KB)), "   1KB");
    }

    #[test]
    fn exact_display_parses_back() {
        for bytes in [
            0,
            1,
            999,
            1000,
            4096,
            50 * MB,
            3 * GIB,
            5 * TB,
            1_500_000_000,
        ] {
            let shown = ByteSize(bytes).to_string();
            assert_eq!(size(&shown), Ok(bytes), "{shown}");
        }
    }
}
