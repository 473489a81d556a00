//! Restart policies (`--restart`, `HostConfig.RestartPolicy`), with Docker's
//! rules: `no` never restarts; `on-failure[:N]` restarts after a non-zero exit,
//! at most N times when N is set; `always` restarts after any exit;
//! `unless-stopped` likewise. A container stopped with `stop` or `kill` is left stopped;
//! when the daemon starts, `always` brings it back all the same. Restarts wait
//! a back-off that doubles from 100 ms up to a minute, and starts again from
//! 100 ms after a run of ten seconds (docs/03-state-machine.md).

use std::time::Duration;

use common::wire::ContainerConfig;

/// The first back-off...
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// ...doubled at each restart in a row, up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
pub const STEADY_RUN: Duration = Duration::from_secs(10);

/// Whether the policy restarts a container that has just exited with
/// `exit_code`. `at_daemon_start`: the daemon is starting, when `always`
/// ignores a manual stop.
pub fn should_restart(config: &ContainerConfig, exit_code: i32, at_daemon_start: bool) -> bool {
    let policy = &config.restart_policy;
    match policy.name.as_str() {
        "always" => at_daemon_start || !config.manually_stopped,
        "unless-stopped" => !config.manually_stopped,
        "on-failure" => {
            !config.manually_stopped
                && exit_code != 0
                && (policy.maximum_retry_count == 0
                    || config.restart_count < policy.maximum_retry_count as u64)
        }
        _ => false,
    }
}

/// How long to wait before the next restart, after `restarts_in_a_row`.
pub fn backoff(restarts_in_a_row: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1u32 << restarts_in_a_row.min(20)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::wire::RestartPolicy;

    fn config(name: &str, maximum: i64, count: u64, manually_stopped: bool) -> ContainerConfig {
        let mut config =
            common::wire::ContainerConfig::from_json(&serde_json::json!({"id": "x", "name": "y"})).unwrap();
        config.restart_policy = RestartPolicy { name: name.to_string(), maximum_retry_count: maximum };
        config.restart_count = count;
        config.manually_stopped = manually_stopped;
        config
    }

    #[test]
    fn docker_rules() {
        assert!(!should_restart(&config("no", 0, 0, false), 1, false));
        assert!(should_restart(&config("on-failure", 0, 5, false), 1, false));
        assert!(!should_restart(&config("on-failure", 0, 0, false), 0, false), "success is not a failure");
        assert!(!should_restart(&config("on-failure", 2, 2, false), 1, false), "at most N times");
        assert!(should_restart(&config("always", 0, 0, false), 0, false));
        assert!(!should_restart(&config("always", 0, 0, true), 0, false), "a manual stop is not restarted");
        assert!(should_restart(&config("always", 0, 0, true), 0, true), "...except when the daemon starts");
        assert!(!should_restart(&config("unless-stopped", 0, 0, true), 0, true));
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
