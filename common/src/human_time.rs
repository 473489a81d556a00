//! Durations for people, worded as the docker CLI words them ("Up 3 seconds",
//! "Exited (0) About a minute ago", "2 hours ago"): used by the daemon for a
//! container's `Status` and by the CLI for `CREATED`.

use std::time::Duration;

/// "Less than a second", "1 second", "About a minute", "3 hours", ...
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let plural = |count: u64, unit: &str| {
        if count == 1 {
            format!("1 {unit}")
        } else {
            format!("{count} {unit}s")
        }
    };
    let hours = seconds / 3600;
    match seconds {
        0 => "Less than a second".to_string(),
        1..=59 => plural(seconds, "second"),
        60..=119 => "About a minute".to_string(),
        120..=3599 => plural(seconds / 60, "minute"),
        3600..=7199 => "About an hour".to_string(),
        _ if hours < 48 => plural(hours, "hour"),
        _ if hours < 24 * 14 => plural(hours / 24, "day"),
        _ if hours < 24 * 60 => plural(hours / 24 / 7, "week"),
        _ if hours < 24 * 365 * 2 => plural(hours / 24 / 30, "month"),
        _ => plural(hours / 24 / 365, "year"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_like_docker() {
        let s = Duration::from_secs;
        assert_eq!(human_duration(Duration::from_millis(300)), "Less than a second");
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(43)), "43 seconds");
        assert_eq!(human_duration(s(90)), "About a minute");
        assert_eq!(human_duration(s(600)), "10 minutes");
        assert_eq!(human_duration(s(4000)), "About an hour");
        assert_eq!(human_duration(s(5 * 3600)), "5 hours");
        assert_eq!(human_duration(s(3 * 86400)), "3 days");
    }
}
