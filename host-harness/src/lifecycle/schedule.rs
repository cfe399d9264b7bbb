//! When a name is checked next, and when a track has failed. Pure.
//!
//! Continuous mode (the default) follows the best anchors (Cloudflare for SaaS, certmagic):
//! checks start about a minute apart and double up to a cap; a track is failed only after
//! its horizon (DNS days, certificate weeks), and even then it keeps being re-checked slowly,
//! so a customer who fixes DNS late still gets a working domain. Compatible mode keeps
//! Ultimate Multisite's counts (`> attempts` failed checks) for networks that rely on them.
//! A check that could not run (resolver timeout, SERVFAIL) never counts.

use super::config::{LifecycleConfig, Mode};
use std::time::Duration;

/// The wait after the `n`-th consecutive failing check (0-based).
pub fn backoff(config: &LifecycleConfig, n: u32) -> Duration {
    let factor = 1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX);
    config
        .first_interval
        .checked_mul(factor)
        .unwrap_or(config.max_interval)
        .min(config.max_interval)
}

/// Which track a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    Dns,
    Certificate,
}

/// Whether a track that keeps failing is now failed.
pub fn exhausted(
    config: &LifecycleConfig,
    track: Track,
    failed_checks: u32,
    since_ms: i64,
    now_ms: i64,
    ssl_attempts: u32,
) -> bool {
    match config.mode {
        Mode::Compatible => {
            let allowed = match track {
                Track::Dns => config.dns_attempts,
                Track::Certificate => ssl_attempts,
            };
            // Ultimate Multisite: `++$tries > $max_tries` fails, so 5 means 6 checks.
            failed_checks > allowed
        }
        Mode::Continuous => {
            let horizon = match track {
                Track::Dns => config.dns_horizon,
                Track::Certificate => config.certificate_horizon,
            };
            now_ms.saturating_sub(since_ms) >= horizon.as_millis() as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(mode: &str) -> LifecycleConfig {
        toml::from_str(&format!(
            "targets = [\"203.0.113.10\"]\nmode = \"{mode}\"\nfirst_interval = \"1m\"\nmax_interval = \"4h\"\ndns_horizon = \"7d\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn backoff_doubles_from_a_minute_to_the_cap() {
        let c = config("continuous");
        assert_eq!(backoff(&c, 0), Duration::from_secs(60));
        assert_eq!(backoff(&c, 1), Duration::from_secs(120));
        assert_eq!(backoff(&c, 8), Duration::from_secs(4 * 3600), "capped");
        assert_eq!(
            backoff(&c, 40),
            Duration::from_secs(4 * 3600),
            "no overflow"
        );
    }

    #[test]
    fn compatible_mode_counts_like_ultimate_multisite() {
        let c = config("compatible");
        assert!(
            !exhausted(&c, Track::Dns, 5, 0, 0, 5),
            "5 failed checks of 6"
        );
        assert!(exhausted(&c, Track::Dns, 6, 0, 0, 5));
        assert!(!exhausted(&c, Track::Certificate, 10, 0, 0, 10));
        assert!(exhausted(&c, Track::Certificate, 11, 0, 0, 10));
    }

    #[test]
    fn continuous_mode_waits_out_the_horizon() {
        let c = config("continuous");
        let day = 86_400_000;
        assert!(!exhausted(&c, Track::Dns, 1000, 0, 6 * day, 5));
        assert!(exhausted(&c, Track::Dns, 1, 0, 7 * day, 5));
    }
}
