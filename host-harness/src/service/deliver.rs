//! The outbox's deliverer: stage changes to `callback_url`, gently.
//!
//! - at most `callback_concurrency` deliveries in flight (the receiver is a PHP worker
//!   pool); a new one starts as soon as one ends, not when a whole batch has;
//! - one change per domain at a time, the oldest first (a domain's changes in order);
//! - a circuit breaker: after [`THRESHOLD`] failures in a row that say the receiver is
//!   down or overloaded (no connection, a timeout, a 5xx or 429) nothing is sent for
//!   `callback_breaker_cooldown` (doubling while it stays down, at most 10 min), then one
//!   probe: its success closes the breaker;
//! - a change refused `callback_max_attempts` times is dead: kept for the operator
//!   (metrics, `status`), no longer holding its domain's later changes.

use super::State;
use super::callback::{self, Failure};
use super::queue::{self, Delivery};
use crate::lifecycle::database::now_ms;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Failures in a row that open the breaker.
pub const THRESHOLD: u32 = 5;
const MAX_COOLDOWN: Duration = Duration::from_secs(600);

/// Whether deliveries may go out, from how the last ones ended.
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    base: Duration,
    cooldown: Duration,
}

impl Breaker {
    fn new(cooldown: Duration) -> Self {
        Breaker {
            failures: 0,
            open_until: None,
            base: cooldown,
            cooldown,
        }
    }

    /// How many deliveries may be in flight now: all, none (open), or one probe.
    fn room(&self, limit: usize, now: Instant) -> usize {
        match self.open_until {
            None => limit,
            Some(until) if until > now => 0,
            Some(_) => 1,
        }
    }

    /// Records an ended delivery; answers whether the breaker just opened.
    fn record(&mut self, result: &Result<u16, Failure>, now: Instant) -> bool {
        match result {
            Ok(_) => {
                self.failures = 0;
                self.open_until = None;
                self.cooldown = self.base;
                false
            }
            Err(f) if f.unavailable => {
                self.failures += 1;
                if self.failures < THRESHOLD {
                    return false;
                }
                let was_open = self.open_until.is_some();
                if was_open {
                    self.cooldown = (self.cooldown * 2).min(MAX_COOLDOWN);
                }
                self.open_until = Some(now + self.cooldown);
                !was_open
            }
            // The receiver answered and refused this one change: it is up.
            Err(_) => false,
        }
    }
}

pub(super) async fn deliver(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    if state.callback.is_none() {
        return;
    }
    let limit = state.service.callback_concurrency;
    let mut breaker = Breaker::new(state.service.callback_breaker_cooldown);
    let mut running = tokio::task::JoinSet::new();
    let mut in_flight: HashSet<String> = HashSet::new();
    loop {
        if *stop.borrow() {
            return;
        }
        let now = Instant::now();
        let room = breaker.room(limit, now).saturating_sub(running.len());
        if !state.service.paused && room > 0 {
            // A shared store leases what it answers (those in flight here are leased, so
            // never answered again): ask for exactly the room.
            let ask = if state.store.mysql().is_some() {
                room
            } else {
                room + in_flight.len()
            };
            let due = queue::due_deliveries(&state.store, now_ms(), ask).unwrap_or_default();
            let start: Vec<Delivery> = due
                .into_iter()
                .filter(|d| !in_flight.contains(&d.domain))
                .take(room)
                .collect();
            for d in start {
                in_flight.insert(d.domain.clone());
                let state = state.clone();
                running.spawn(async move {
                    let Some(callback) = &state.callback else {
                        unreachable!("checked above")
                    };
                    let result = callback.send(d.id, callback::body(d.id, &d.body)).await;
                    (d, result)
                });
            }
        }
        let (pending, next) = queue::outbox_pending(&state.store).unwrap_or((0, None));
        let mut wait = if pending > 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        if let Some(next) = next {
            wait = wait.min(Duration::from_millis((next - now_ms()).max(0) as u64));
        }
        if let Some(until) = breaker.open_until {
            wait = if until > now {
                until - now
            } else {
                wait.max(Duration::from_millis(50))
            };
        }
        tokio::select! {
            Some(joined) = running.join_next(), if !running.is_empty() => {
                if let Ok((d, result)) = joined {
                    in_flight.remove(&d.domain);
                    if breaker.record(&result, Instant::now()) {
                        state.say(&format!(
                            "callback: {THRESHOLD} failures in a row; no deliveries for {} s, then one probe",
                            breaker.cooldown.as_secs()
                        ));
                    }
                    state.metrics.breaker_open.store(
                        u64::from(breaker.open_until.is_some()),
                        Ordering::Relaxed,
                    );
                    ended(&state, &d, result);
                }
            }
            _ = state.wake_outbox.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Saves how one delivery ended.
fn ended(state: &State, d: &Delivery, result: Result<u16, Failure>) {
    let saved = match result {
        Ok(_) => {
            state.metrics.callback("delivered");
            queue::delivered(&state.store, d.id, now_ms())
        }
        Err(e) => {
            state.metrics.callback("failed");
            let wait = callback::backoff(d.attempts);
            let message = state.secrets.redact(&e.message);
            let now = now_ms();
            match queue::delivery_failed(
                &state.store,
                d.id,
                now + wait.as_millis() as i64,
                &message,
                state.service.callback_max_attempts,
                now,
            ) {
                Ok(true) => {
                    state.metrics.callback("dead");
                    state.say(&format!(
                        "stage change {} of {}: {message}; dead after {} attempts (kept, no longer retried; the domain's later changes go on)",
                        d.id,
                        d.domain,
                        d.attempts + 1
                    ));
                    Ok(())
                }
                Ok(false) => {
                    state.say(&format!(
                        "stage change {} of {}: {message}; again in {} ms",
                        d.id,
                        d.domain,
                        wait.as_millis()
                    ));
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = saved {
        state.say(&format!("outbox: {e:#}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> Result<u16, Failure> {
        Err(Failure {
            message: "HTTP 503".into(),
            unavailable: true,
        })
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_a_probe_closes_it() {
        let mut b = Breaker::new(Duration::from_secs(10));
        let t = Instant::now();
        for _ in 0..THRESHOLD - 1 {
            assert!(!b.record(&down(), t));
        }
        assert_eq!(b.room(4, t), 4);
        assert!(b.record(&down(), t), "the fifth opens it");
        assert_eq!(b.room(4, t), 0);
        let later = t + Duration::from_secs(11);
        assert_eq!(b.room(4, later), 1, "one probe");
        assert!(!b.record(&down(), later), "still open, not newly");
        assert_eq!(b.cooldown, Duration::from_secs(20), "doubled");
        let refused = Err(Failure {
            message: "HTTP 400".into(),
            unavailable: false,
        });
        b.record(&refused, later);
        assert_eq!(b.room(4, later), 0, "a refusal does not close it");
        b.record(&Ok(200), later + Duration::from_secs(30));
        assert_eq!(b.room(4, later), 4);
        assert_eq!(b.cooldown, Duration::from_secs(10));
    }
}
