//! `logs`: the container's output, stdout to stdout and stderr to stderr. The
//! daemon sends Docker's multiplexed frames (raw bytes for a TTY container,
//! which its `Content-Type` says); `--since`/`--until` take RFC 3339 times,
//! Unix timestamps or durations such as `10m`, sent as Unix seconds.

use std::io::Write;

use lexopt::prelude::*;

use common::stream_frame::{read_frame_into, Stream};

use super::{help, text, usage_error, value};
use crate::api::{container_path, daemon_error, Api, CliError};
use crate::http_client::encode;

const LOGS_HELP: &str = "\
Usage: orchestrate logs [OPTIONS] NAME

Fetch the output of a container.

Options:
  -f, --follow          Follow the output until the container stops
  -n, --tail N          Number of lines to show from the end (default all)
      --since TIME      Only lines after TIME: RFC 3339, Unix seconds, or a duration (10m, 1h30m)
      --until TIME      Only lines before TIME
  -t, --timestamps      Show the time of each line
";

pub fn logs(mut parser: lexopt::Parser, api: &mut Api) -> Result<i32, CliError> {
    let mut query = Vec::new();
    let mut name = None;
    while let Some(arg) = parser.next().map_err(usage_error("logs"))? {
        match arg {
            Short('n') | Long("tail") => query.push(format!("tail={}", encode(&value("logs", &mut parser)?))),
            Long("since") => query.push(format!("since={}", time_parameter(&value("logs", &mut parser)?)?)),
            Long("until") => query.push(format!("until={}", time_parameter(&value("logs", &mut parser)?)?)),
            Short('t') | Long("timestamps") => query.push("timestamps=1".to_string()),
            Short('f') | Long("follow") => query.push("follow=1".to_string()),
            Short('h') | Long("help") => return help(LOGS_HELP),
            Value(value) if name.is_none() => name = Some(text("logs", value)?),
            other => return Err(usage_error("logs")(other.unexpected())),
        }
    }
    let name =
        name.ok_or_else(|| CliError::usage("logs", "\"orchestrate logs\" requires exactly 1 argument."))?;
    print_logs(api, &name, &query.join("&"))?;
    Ok(0)
}

/// Prints the container's log; `query` adds options (`tail=2`, `since=…`,
/// `follow=1`). When following, each piece is printed as it arrives.
pub fn print_logs(api: &mut Api, name: &str, query: &str) -> Result<(), CliError> {
    let separator = if query.is_empty() { "" } else { "&" };
    let path = container_path(name, &format!("/logs?stdout=1&stderr=1{separator}{query}"));
    let response = api.client.request_last("GET", &path, None)?;
    if response.status != 200 {
        return Err(daemon_error(response));
    }
    let follow = query.split('&').any(|option| option == "follow=1");
    let raw = response.content_type.contains("raw-stream");
    print_output(response, raw, follow)
}

/// Prints a container's output stream: Docker's frames, stdout to stdout and
/// stderr to stderr, or raw bytes (a TTY container). With `live`, each piece
/// is shown as it arrives; otherwise big outputs go out in big writes.
pub fn print_output(from: impl std::io::Read, raw: bool, live: bool) -> Result<(), CliError> {
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut stderr = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr().lock());
    let mut from = std::io::BufReader::with_capacity(64 * 1024, from);
    if raw {
        return copy_raw(&mut from, &mut stdout, live);
    }
    let mut payload = Vec::with_capacity(64 * 1024);
    while let Some(stream) = read_frame_into(&mut from, &mut payload)? {
        match stream {
            Stream::Stderr => stderr.write_all(&payload)?,
            _ => stdout.write_all(&payload)?,
        }
        if live || from.buffer().is_empty() {
            stdout.flush()?;
            stderr.flush()?;
        }
    }
    stdout.flush()?;
    stderr.flush()?;
    Ok(())
}

/// A TTY container's log: raw bytes, no frames.
fn copy_raw(from: &mut impl std::io::Read, to: &mut impl Write, follow: bool) -> Result<(), CliError> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = from.read(&mut buffer)?;
        if count == 0 {
            to.flush()?;
            return Ok(());
        }
        to.write_all(&buffer[..count])?;
        if follow {
            to.flush()?;
        }
    }
}

/// `--since`/`--until` as Unix seconds with nine decimals, as the docker CLI
/// sends them.
pub(super) fn time_parameter(text: &str) -> Result<String, CliError> {
    let nanos = parse_time(text, common::time::now_nanos()).ok_or_else(|| {
        CliError::usage("logs", format!("invalid time {text:?}: use RFC 3339, Unix seconds, or 10m"))
    })?;
    Ok(format!("{}.{:09}", nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000)))
}

/// RFC 3339, Unix seconds (`1577836800.5`), or a duration back from `now`
/// (`90s`, `10m`, `1h30m`).
fn parse_time(text: &str, now: i128) -> Option<i128> {
    if let Some(nanos) = common::time::parse_rfc3339(text) {
        return Some(nanos);
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Some((seconds * 1e9) as i128);
    }
    let mut total: i128 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit: f64 = match c {
            's' => 1e9,
            'm' => 60e9,
            'h' => 3600e9,
            _ => return None,
        };
        total += (number.parse::<f64>().ok()? * unit) as i128;
        number.clear();
    }
    number.is_empty().then_some(now - total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = 1_000_000 * 1_000_000_000;
        assert_eq!(parse_time("10m", now), Some(now - 600 * 1_000_000_000));
        assert_eq!(parse_time("1h30m", now), Some(now - 5400 * 1_000_000_000));
        assert_eq!(parse_time("1577836800", now), Some(1_577_836_800 * 1_000_000_000));
        assert_eq!(parse_time("2020-01-01T00:00:00Z", now), Some(1_577_836_800 * 1_000_000_000));
        assert_eq!(parse_time("soon", now), None);
    }
}
