//! `GET /metrics`: Prometheus text, formatted here (a handful of counters and one
//! histogram do not need a metrics crate). Gauges of the queue are read from the database
//! at scrape time, so they are right after a restart too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the panel latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub repeated: AtomicU64,
    pub refused: AtomicU64,
    pub unauthorized: AtomicU64,
    pub attempts: AtomicU64,
    /// 1 while the callback's circuit breaker is open.
    pub breaker_open: AtomicU64,
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    panel: Mutex<BTreeMap<String, Histogram>>,
    checks: Mutex<BTreeMap<String, u64>>,
    callbacks: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += 1;
}

impl Metrics {
    /// An attempt ended `done`, `failed`, `retried` or `blocked`.
    pub fn outcome(&self, outcome: &'static str) {
        bump(&self.outcomes, outcome);
    }

    /// How long one integration took for one attempt (its retries included).
    pub fn panel_latency(&self, integration: &str, seconds: f64) {
        let mut panel = self.panel.lock().unwrap_or_else(|e| e.into_inner());
        let h = panel.entry(integration.to_string()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// A lifecycle check ended in `stage`.
    pub fn check(&self, stage: &str) {
        bump(&self.checks, stage.to_string());
    }

    /// A callback was `delivered` or `failed`, or a change went `dead`.
    pub fn callback(&self, result: &'static str) {
        bump(&self.callbacks, result);
    }

    /// The exposition; `events`: events by state, `outbox`: undelivered changes, `dead`:
    /// changes the callback never acknowledged.
    pub fn render(&self, events: &[(String, i64)], outbox: i64, dead: i64) -> String {
        let mut out = String::new();
        let by_state: BTreeMap<&str, i64> = events.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        out.push_str("# HELP domain_host_events Events in the store by state.\n# TYPE domain_host_events gauge\n");
        for state in ["queued", "running", "blocked", "done", "failed"] {
            let n = by_state.get(state).copied().unwrap_or(0);
            let _ = writeln!(out, "domain_host_events{{state=\"{state}\"}} {n}");
        }
        let depth = by_state.get("queued").copied().unwrap_or(0)
            + by_state.get("running").copied().unwrap_or(0)
            + by_state.get("blocked").copied().unwrap_or(0);
        out.push_str("# HELP domain_host_queue_depth Events accepted and not finished (queued, running or blocked).\n# TYPE domain_host_queue_depth gauge\n");
        let _ = writeln!(out, "domain_host_queue_depth {depth}");
        out.push_str("# HELP domain_host_events_accepted_total Events accepted (committed) since start.\n# TYPE domain_host_events_accepted_total counter\n");
        let _ = writeln!(
            out,
            "domain_host_events_accepted_total {}",
            self.accepted.load(Ordering::Relaxed)
        );
        out.push_str("# HELP domain_host_requests_refused_total Requests refused since start, by reason.\n# TYPE domain_host_requests_refused_total counter\n");
        for (reason, n) in [
            ("invalid", self.refused.load(Ordering::Relaxed)),
            ("unauthorized", self.unauthorized.load(Ordering::Relaxed)),
        ] {
            let _ = writeln!(
                out,
                "domain_host_requests_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP domain_host_events_repeated_total Events posted again with a known Idempotency-Key (not stored again).\n# TYPE domain_host_events_repeated_total counter\n");
        let _ = writeln!(
            out,
            "domain_host_events_repeated_total {}",
            self.repeated.load(Ordering::Relaxed)
        );
        out.push_str("# HELP domain_host_event_attempts_total Attempts at applying events since start.\n# TYPE domain_host_event_attempts_total counter\n");
        let _ = writeln!(
            out,
            "domain_host_event_attempts_total {}",
            self.attempts.load(Ordering::Relaxed)
        );
        out.push_str("# HELP domain_host_event_outcomes_total How attempts ended since start.\n# TYPE domain_host_event_outcomes_total counter\n");
        let outcomes = self
            .outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for outcome in ["done", "failed", "retried", "blocked"] {
            let _ = writeln!(
                out,
                "domain_host_event_outcomes_total{{outcome=\"{outcome}\"}} {}",
                outcomes.get(outcome).copied().unwrap_or(0)
            );
        }
        out.push_str("# HELP domain_host_panel_latency_seconds Time one integration took for one event attempt, retries included.\n# TYPE domain_host_panel_latency_seconds histogram\n");
        let panel = self.panel.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (id, h) in &panel {
            for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "domain_host_panel_latency_seconds_bucket{{integration=\"{id}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "domain_host_panel_latency_seconds_bucket{{integration=\"{id}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "domain_host_panel_latency_seconds_sum{{integration=\"{id}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "domain_host_panel_latency_seconds_count{{integration=\"{id}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP domain_host_checks_total Lifecycle checks since start, by the stage they ended in.\n# TYPE domain_host_checks_total counter\n");
        for (stage, n) in self.checks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "domain_host_checks_total{{result=\"{stage}\"}} {n}");
        }
        out.push_str("# HELP domain_host_callbacks_total Stage-change deliveries since start.\n# TYPE domain_host_callbacks_total counter\n");
        let callbacks = self
            .callbacks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for result in ["delivered", "failed", "dead"] {
            let _ = writeln!(
                out,
                "domain_host_callbacks_total{{result=\"{result}\"}} {}",
                callbacks.get(result).copied().unwrap_or(0)
            );
        }
        out.push_str("# HELP domain_host_outbox_pending Stage changes not yet acknowledged by the callback.\n# TYPE domain_host_outbox_pending gauge\n");
        let _ = writeln!(out, "domain_host_outbox_pending {outbox}");
        out.push_str("# HELP domain_host_outbox_dead Stage changes the callback never acknowledged within callback_max_attempts (dead letters).\n# TYPE domain_host_outbox_dead gauge\n");
        let _ = writeln!(out, "domain_host_outbox_dead {dead}");
        out.push_str("# HELP domain_host_callback_breaker_open 1 while deliveries are paused after failures in a row.\n# TYPE domain_host_callback_breaker_open gauge\n");
        let _ = writeln!(
            out,
            "domain_host_callback_breaker_open {}",
            self.breaker_open.load(Ordering::Relaxed)
        );
        out
    }
}

/// Every sample labelled with the instance that serves it (several instances share one
/// store: their counters are their own, the store's gauges the same on each).
pub fn label_instance(text: &str, instance: &str) -> String {
    let label = format!("instance=\"{}\"", instance.replace(['\\', '"', '\n'], "_"));
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
        } else if let Some((name, rest)) = line.split_once('{') {
            out.push_str(&format!("{name}{{{label},{rest}"));
        } else if let Some((name, value)) = line.split_once(' ') {
            out.push_str(&format!("{name}{{{label}}} {value}"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_names_its_instance() {
        let text = label_instance("# HELP a x\na_total 3\nb{state=\"queued\"} 2\n", "web-1");
        assert_eq!(
            text,
            "# HELP a x\na_total{instance=\"web-1\"} 3\nb{instance=\"web-1\",state=\"queued\"} 2\n"
        );
    }

    #[test]
    fn renders_counters_gauges_and_cumulative_buckets() {
        let m = Metrics::default();
        m.accepted.fetch_add(3, Ordering::Relaxed);
        m.panel_latency("runcloud", 0.003);
        m.panel_latency("runcloud", 0.2);
        m.check("checking-dns");
        let text = m.render(
            &[
                ("queued".into(), 2),
                ("running".into(), 1),
                ("blocked".into(), 1),
            ],
            4,
            1,
        );
        assert!(text.contains("domain_host_queue_depth 4"), "{text}");
        assert!(text.contains("domain_host_events{state=\"blocked\"} 1"));
        assert!(text.contains("domain_host_outbox_dead 1"));
        assert!(
            text.contains("domain_host_events{state=\"done\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("domain_host_events_accepted_total 3"),
            "{text}"
        );
        assert!(text.contains(
            "domain_host_panel_latency_seconds_bucket{integration=\"runcloud\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "domain_host_panel_latency_seconds_bucket{integration=\"runcloud\",le=\"0.25\"} 2"
        ));
        assert!(text.contains("domain_host_checks_total{result=\"checking-dns\"} 1"));
        assert!(text.contains("domain_host_outbox_pending 4"));
    }
}
