//! Durations on the command line: `10s`, `500ms`, `1.5s`, `2m`, `1h`, `1d`,
//! or a bare number of seconds (`2.5`), as GNU parallel's `--timeout` takes.
//!
//! humantime does not take fractions (`1.5s`) or bare seconds, so this is
//! a few lines of its own.

use std::time::Duration;

/// A duration that could not be read; the message names the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum DurationError {
    /// Not a number with one of the known units.
    #[error(
        "bad duration {value:?}: expected a number with a unit ms, s, m, h or d (e.g. 10s, 500ms, 1.5s, 2m), or a bare number of seconds"
    )]
    Malformed {
        /// The text given.
        value: String,
    },
    /// Negative, not finite, or too large to represent.
    #[error("bad duration {value:?}: out of range")]
    OutOfRange {
        /// The text given.
        value: String,
    },
}

/// Reads a duration; a bare number is seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed { value: text.to_owned() };
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() || number == "." {
        return Err(malformed());
    }
    let number: f64 = number.parse().map_err(|_| malformed())?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(malformed()),
    };
    Duration::try_from_secs_f64(number * seconds_per_unit)
        .map_err(|_| DurationError::OutOfRange { value: text.to_owned() })
}

/// Prints a duration as briefly as it reads on the command line (`1.5s`, `250ms`).
pub(crate) fn show(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_fractions_and_bare_seconds() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_values_are_named() {
        for bad in ["", "s", "10x", "-1s", "1..2s", "ten", "."] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        assert!(matches!(parse_duration("1e300d"), Err(DurationError::Malformed { .. })));
        assert!(matches!(
            parse_duration("99999999999999999999999d"),
            Err(DurationError::OutOfRange { .. })
        ));
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_millis(250)), "250ms");
    }
}
