//! When a failed operation is tried again, and how long the host waits first.
//!
//! Operations are idempotent (adding a present domain or removing an absent one is a
//! success), so the whole operation is re-run in a fresh store. Only faults a retry can fix
//! are retried: transient ones (5xx, 408, connection refused or reset, timeouts) and rate
//! limits (honouring `Retry-After`). Backoff is exponential, capped, with jitter, inside a
//! total time budget.

use crate::contract::ProviderError;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// No retry starts once this much time has passed since the first attempt.
    pub budget_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay_ms: 500,
            max_delay_ms: 8_000,
            budget_secs: 60,
        }
    }
}

/// Whether an error is worth another attempt, and the panel's requested wait if any.
pub fn retryable(error: &ProviderError) -> Option<Option<Duration>> {
    match error {
        ProviderError::Transient(_) => Some(None),
        ProviderError::RateLimited(limit) => Some(
            limit
                .retry_after_secs
                .map(|s| Duration::from_secs(u64::from(s))),
        ),
        _ => None,
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry). `jitter` is in `[0, 1)`.
    pub fn delay(&self, next: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let cap = Duration::from_millis(self.max_delay_ms);
        if let Some(asked) = retry_after {
            // The panel said how long; never less, but not longer than the budget allows.
            return asked.min(Duration::from_secs(self.budget_secs));
        }
        let exp = next.saturating_sub(2).min(20);
        let full = Duration::from_millis(self.base_delay_ms.saturating_mul(1 << exp)).min(cap);
        // "Equal jitter": half fixed, half random, so retries spread but never collapse to 0.
        full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }

    /// Whether attempt `next` may start after `elapsed` plus the coming `delay`.
    pub fn may_retry(&self, next: u32, elapsed: Duration, delay: Duration) -> bool {
        next <= self.attempts && elapsed + delay <= Duration::from_secs(self.budget_secs)
    }
}

/// A number in `[0, 1)` from the process's random hasher keys; no extra crate needed for
/// backoff jitter.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{ApiError, RateLimit};

    #[test]
    fn only_transient_and_rate_limits_are_retried() {
        assert_eq!(
            retryable(&ProviderError::Transient("503".into())),
            Some(None)
        );
        let limited = ProviderError::RateLimited(RateLimit {
            retry_after_secs: Some(2),
            message: String::new(),
        });
        assert_eq!(retryable(&limited), Some(Some(Duration::from_secs(2))));
        for final_error in [
            ProviderError::BadCredentials(String::new()),
            ProviderError::NotFound(String::new()),
            ProviderError::InvalidInput(String::new()),
            ProviderError::Denied(String::new()),
            ProviderError::Api(ApiError {
                status: 403,
                message: String::new(),
            }),
        ] {
            assert_eq!(retryable(&final_error), None, "{final_error:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay_ms: 100,
            max_delay_ms: 1000,
            budget_secs: 60,
        };
        assert_eq!(p.delay(2, None, 0.0), Duration::from_millis(50));
        let high = p.delay(2, None, 0.999_999);
        assert!(
            high > Duration::from_millis(99) && high < Duration::from_millis(100),
            "{high:?}"
        );
        assert_eq!(p.delay(3, None, 0.0), Duration::from_millis(100));
        assert_eq!(p.delay(4, None, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(9, None, 0.0), Duration::from_millis(500), "capped");
        assert_eq!(
            p.delay(40, None, 1.0),
            Duration::from_millis(1000),
            "no overflow"
        );
    }

    #[test]
    fn retry_after_is_honoured_within_the_budget() {
        let p = RetryPolicy {
            attempts: 5,
            base_delay_ms: 100,
            max_delay_ms: 1000,
            budget_secs: 10,
        };
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(3)), 0.5),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(3600)), 0.5),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn attempts_and_budget_bound_retries() {
        let p = RetryPolicy {
            attempts: 3,
            base_delay_ms: 100,
            max_delay_ms: 1000,
            budget_secs: 2,
        };
        assert!(p.may_retry(3, Duration::ZERO, Duration::from_millis(100)));
        assert!(!p.may_retry(4, Duration::ZERO, Duration::from_millis(100)));
        assert!(!p.may_retry(2, Duration::from_millis(1950), Duration::from_millis(100)));
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
