//! What goes wrong during the soak: the panel answers 503, drops the connection after
//! applying a write, answers 503 after applying it, or stalls longer than the request
//! timeout (one fault at a time, at random moments and on random routes); the service is
//! SIGKILLed at random moments and started again on the same state directory. And what is
//! watched meanwhile: the service's resident memory.

use super::load::Rng;
use super::service::{Service, rss_kib};
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::{Emulator, Fault, FaultKind};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Faults the panel applied, by kind, and the requests it received.
#[derive(Debug, Default, Clone)]
pub struct FaultTally {
    pub by_kind: BTreeMap<&'static str, u64>,
    pub panel_requests: u64,
}

impl FaultTally {
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }
}

fn label(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Respond(_) => "503",
        FaultKind::ApplyThenDrop => "drop after applying",
        FaultKind::ApplyThenRespond(_) => "503 after applying",
        FaultKind::Delay(_) => "stall",
        FaultKind::Drop => "drop",
        FaultKind::WhenBody(_, inner) => label(inner),
    }
}

/// Moves the faults the panel used up into the tally, and forgets its request log (a long
/// run would otherwise hold every request in the test process). Returns the live faults.
fn sweep(panel: &Emulator<ServerPilot>, tally: &Mutex<FaultTally>) -> usize {
    let mut shared = panel.lock();
    let mut tally = tally.lock().unwrap();
    tally.panel_requests += shared.requests.len() as u64;
    shared.requests.clear();
    shared.faults.retain(|f| {
        if f.times == 0 {
            *tally.by_kind.entry(label(&f.kind)).or_default() += 1;
        }
        f.times > 0
    });
    shared.faults.len()
}

/// Injects one fault at a time until `stop`, then removes what is left unused.
pub fn inject_faults(
    panel: Arc<Emulator<ServerPilot>>,
    app: &'static str,
    stall: Duration,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> std::thread::JoinHandle<FaultTally> {
    std::thread::spawn(move || {
        let tally = Mutex::new(FaultTally::default());
        let mut rng = Rng::new(seed ^ 0xFA17);
        let write = format!("/v1/apps/{app}");
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(
                rng.between(Duration::from_millis(200), Duration::from_millis(1200)),
            );
            if sweep(&panel, &tally) > 0 {
                continue;
            }
            let roll = rng.below(100);
            let fault = if roll < 40 {
                Fault::status(503, 1)
            } else if roll < 70 {
                Fault::apply_then_drop(1)
            } else if roll < 88 {
                Fault::apply_then_status(503, 1)
            } else {
                Fault {
                    method: None,
                    path_prefix: None,
                    times: 1,
                    kind: FaultKind::Delay(stall),
                }
            };
            // On the domain-list write half the time (the step whose loss would matter),
            // else on whatever request comes next (reads, AutoSSL, actions).
            let fault = if rng.chance(0.5) {
                fault.on("POST", &write)
            } else {
                fault
            };
            panel.inject(fault);
        }
        panel.lock().faults.retain(|f| f.times == 0);
        sweep(&panel, &tally);
        tally.into_inner().unwrap()
    })
}

/// Kills and restarts.
#[derive(Debug, Default)]
pub struct Kills {
    /// When each kill happened (since the run started).
    pub at: Vec<Duration>,
    /// Kills that struck just after the panel received a domain-list write.
    pub mid_write: u64,
    pub failures: Vec<String>,
}

/// SIGKILLs the service at random moments (`gap` apart, uniform) until `until`, starting it
/// again at once each time. Half the kills wait, after the gap, for the panel to receive a
/// domain-list write and strike right then: an event in the middle of its work (the write
/// applied or stalled, its answer not yet recorded), which a moment picked blindly rarely
/// hits when events take milliseconds.
pub fn kill_at_random(
    service: Arc<Mutex<Service>>,
    panel: Arc<Emulator<ServerPilot>>,
    app: &'static str,
    started: Instant,
    until: Instant,
    gap: (Duration, Duration),
    seed: u64,
) -> std::thread::JoinHandle<Kills> {
    std::thread::spawn(move || {
        let mut rng = Rng::new(seed ^ 0x6B111);
        let mut kills = Kills::default();
        let write = format!("/v1/apps/{app}");
        loop {
            let wait = rng.between(gap.0, gap.1);
            if Instant::now() + wait >= until {
                break;
            }
            std::thread::sleep(wait);
            if rng.chance(0.5) {
                let since = Instant::now();
                while since.elapsed() < Duration::from_secs(3) {
                    let hit = panel
                        .lock()
                        .requests
                        .iter()
                        .rev()
                        .take(8)
                        .any(|r| r.method == "POST" && r.path == write && r.received >= since);
                    if hit {
                        kills.mid_write += 1;
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
            let mut service = service.lock().unwrap();
            service.kill();
            kills.at.push(started.elapsed());
            if let Err(e) = service.start() {
                kills.failures.push(e);
                // One more try; a service that cannot come back ends the soak's checks.
                if let Err(e) = service.start() {
                    kills.failures.push(e);
                    break;
                }
            }
        }
        kills
    })
}

/// One RSS sample of the running service.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub pid: i32,
    pub at: Duration,
    pub kib: u64,
}

/// Samples the service's RSS every `every` until `stop`.
pub fn sample_rss(
    pid: Arc<AtomicI32>,
    started: Instant,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Sample>> {
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let p = pid.load(Ordering::SeqCst);
            if p != 0
                && let Some(kib) = rss_kib(p)
            {
                samples.push(Sample {
                    pid: p,
                    at: started.elapsed(),
                    kib,
                });
            }
            std::thread::sleep(every);
        }
        samples
    })
}
