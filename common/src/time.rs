//! Wall-clock times as Docker writes them: RFC 3339 in UTC with nine fractional
//! digits (`2026-11-29T01:05:23.139388753Z`), the format of log lines and of
//! `Created`/`StartedAt`/`FinishedAt` in inspect. The calendar arithmetic is
//! done here (days-from-civil) so no date crate is needed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Docker's "never happened" time, for a `FinishedAt` that has not come yet.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Now, as nanoseconds since the Unix epoch.
pub fn now_nanos() -> i128 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// Now, formatted as RFC 3339 with nanoseconds.
pub fn now_rfc3339() -> String {
    format_rfc3339(now_nanos())
}

/// Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub fn format_rfc3339(nanos: i128) -> String {
    let seconds = nanos.div_euclid(1_000_000_000) as i64;
    let fraction = nanos.rem_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:09}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Parses an RFC 3339 time (any number of fractional digits, `Z` or an offset)
/// into nanoseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut fraction: i128 = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<9}", &after_dot[..digits.min(9)]);
        fraction = padded.parse().ok()?;
        rest = &after_dot[digits..];
    }
    let offset_seconds: i64 = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds as i128 * 1_000_000_000 + fraction)
}

/// Nanoseconds since the epoch as a `Duration` back from now (zero if in the future).
pub fn age(nanos: i128) -> Duration {
    let delta = now_nanos() - nanos;
    Duration::from_nanos(delta.max(0) as u64)
}

/// Howard Hinnant's days-from-civil: days since 1970-01-01 of a proleptic
/// Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of `days_from_civil`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_docker_style() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        // 2026-11-29T01:05:23.139388753Z, from docker-reference.md.
        let nanos = 1_795_914_323_139_388_753;
        assert_eq!(format_rfc3339(nanos), "2026-11-29T01:05:23.139388753Z");
        assert_eq!(parse_rfc3339("2026-11-29T01:05:23.139388753Z"), Some(nanos));
    }

    #[test]
    fn parses_offsets_and_short_fractions() {
        let utc = parse_rfc3339("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(utc, 1_577_836_800 * 1_000_000_000);
        assert_eq!(parse_rfc3339("2020-01-01T01:00:00+01:00"), Some(utc));
        assert_eq!(parse_rfc3339("2020-01-01T00:00:00.5Z"), Some(utc + 500_000_000));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2020-13-01T00:00:00Z"), None);
    }
}
