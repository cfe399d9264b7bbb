//! The soak's event stream: several clients posting add/remove events over a set of
//! domains, each with an `Idempotency-Key`, as the WordPress bridge does: an event stays
//! with its client until the service answers 2xx (through refused connections while the
//! service is down, and answers lost to a kill), and is re-posted with the same key now
//! and then (a re-run Action Scheduler job), which must name the same event.

use super::service::http;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small deterministic generator (splitmix64), so a run can be repeated by its seed as
/// far as timing allows.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// Uniform in `low..high`.
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(self.below(span + 1))
    }
}

/// An event the service accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: i64,
    pub key: String,
    pub kind: &'static str,
    pub domain: String,
}

#[derive(Default)]
pub struct Outcome {
    pub accepted: Vec<Accepted>,
    /// Posts that found the service down or lost its answer, and were sent again.
    pub resent: u64,
    /// Deliberate re-posts of an accepted key.
    pub repeats: u64,
    /// Contract breaches seen by a client (a repeated key naming another event, a 4xx).
    pub violations: Vec<String>,
}

pub fn domain(i: u64) -> String {
    format!("d{i}.soak.test")
}

pub fn site(i: u64) -> u64 {
    i + 2
}

/// Posts one event until the service answers 2xx; its id. Gives up at `give_up`.
fn post(
    addr: SocketAddr,
    key: &str,
    kind: &str,
    index: u64,
    give_up: Instant,
    out: &Mutex<Outcome>,
) -> Result<(u16, i64), String> {
    let body =
        serde_json::json!({ "event": kind, "domain": domain(index), "site_id": site(index) })
            .to_string();
    loop {
        match http(
            addr,
            "POST",
            "/v1/events",
            &[("Idempotency-Key", key)],
            &body,
        ) {
            Ok((status @ (200 | 202), text)) => {
                let id = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["id"].as_i64())
                    .ok_or_else(|| format!("{key}: {status} without an id: {text}"))?;
                return Ok((status, id));
            }
            // The bridge keeps 5xx and 429 queued; so does this client.
            Ok((status, _)) if status >= 500 || status == 429 => {}
            Ok((status, text)) => return Err(format!("{key}: {kind} answered {status}: {text}")),
            Err(_) => {}
        }
        if Instant::now() > give_up {
            return Err(format!("{key}: {kind} {} never accepted", domain(index)));
        }
        out.lock().unwrap().resent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `clients` clients until `until`, at `rate` events per second in all; returns once
/// every client's last event was accepted (or given up on).
pub fn run(
    addr: SocketAddr,
    clients: u64,
    rate: f64,
    domains: u64,
    until: Instant,
    seed: u64,
) -> Outcome {
    let out = Arc::new(Mutex::new(Outcome::default()));
    let gap = Duration::from_secs_f64(clients as f64 / rate);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ (c + 1).wrapping_mul(0xA24B_AED4_963E_E407));
                let mut last: Option<(Accepted, u64)> = None;
                let mut seq = 0u64;
                let mut next = Instant::now();
                while Instant::now() < until {
                    let give_up = until + Duration::from_secs(120);
                    // Now and then the same job again: the same key must name the same event.
                    if let Some((prev, index)) = &last
                        && rng.chance(0.05)
                    {
                        match post(addr, &prev.key, prev.kind, *index, give_up, &out) {
                            Ok((_, id)) if id == prev.id => out.lock().unwrap().repeats += 1,
                            Ok((status, id)) => out.lock().unwrap().violations.push(format!(
                                "{} was event {} and now names {id} ({status})",
                                prev.key, prev.id
                            )),
                            Err(e) => out.lock().unwrap().violations.push(e),
                        }
                    }
                    let index = rng.below(domains);
                    let kind = if rng.chance(0.5) {
                        "add-domain"
                    } else {
                        "remove-domain"
                    };
                    let key = format!("soak-{seed:x}-c{c}-{seq}");
                    seq += 1;
                    match post(addr, &key, kind, index, give_up, &out) {
                        Ok((_, id)) => {
                            let accepted = Accepted {
                                id,
                                key,
                                kind,
                                domain: domain(index),
                            };
                            out.lock().unwrap().accepted.push(accepted.clone());
                            last = Some((accepted, index));
                        }
                        Err(e) => out.lock().unwrap().violations.push(e),
                    }
                    // Paced, with jitter, whatever the post took.
                    next += rng.between(gap / 2, gap + gap / 2);
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    } else {
                        next = Instant::now();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    std::mem::take(&mut *out.lock().unwrap())
}
