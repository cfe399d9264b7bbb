//! `domain-host serve`: the durable service WordPress posts events to.
//!
//! - [`api`]: the HTTP API (axum), behind a bearer token;
//! - [`queue`]: events, idempotency keys and the callback outbox in the lifecycle's
//!   database, each change one transaction;
//! - the dispatcher here: applies queued events through [`Network::event_from`] (the CLI's
//!   dispatch path, with its locks and retries), a domain's events one at a time in the
//!   order accepted, different domains at once (`workers`); a transient failure is queued
//!   again with backoff, a process killed mid-event re-queues it on start; the events run
//!   through the components on threads of their own ([`crate::runtime::executor`],
//!   `event_threads`), apart from the runtime that answers HTTP and writes the queue;
//! - the scheduler: the lifecycle's due checks ([`crate::lifecycle::Lifecycle::check_due`]);
//! - an event for a network where an enabled integration cannot load (not approved, a
//!   missing constant, a component that does not load) is not tried: it waits `blocked`
//!   with the reason and runs once the next start loads everything;
//! - [`callback`] and [`deliver`]: stage changes from the outbox to `callback_url`, signed,
//!   a few at a time behind a circuit breaker, until acknowledged or dead;
//! - [`server`]: the listener, with a header-read timeout and a connection cap.
//!
//! One [`Network`] (components compiled and loaded once) serves every event.

pub(crate) mod api;
pub(crate) mod callback;
mod deliver;
pub(crate) mod metrics;
pub(crate) mod queue;
mod server;

use crate::commands::{self, Options};
use crate::config::{LoadedConfig, ServiceConfig, Synchronous};
use crate::dispatch::{Network, Selection};
use crate::lifecycle::database::{Database, now_ms};
use crate::runtime::executor::Executor;
use crate::runtime::operation::Operation;
use crate::runtime::report::EventReport;
use crate::sandbox::redaction::Secrets;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Notify, watch};

pub struct State {
    pub network: Arc<Network>,
    pub store: Arc<Database>,
    /// Group commit of POSTed events (SQLite; a shared store accepts each on its own, its
    /// requests spread over connections).
    pub acceptor: Option<queue::Acceptor>,
    pub service: ServiceConfig,
    pub secrets: Secrets,
    token_digest: [u8; 32],
    /// The operator's token (reconcile apply/prune, retry, metrics), when configured.
    operator_digest: Option<[u8; 32]>,
    /// A scraper's token for `/metrics` only, when configured.
    metrics_digest: Option<[u8; 32]>,
    /// Why events cannot run now: the enabled integrations that did not load, with why.
    /// `None` when every one loaded.
    pub blocked: Option<String>,
    pub metrics: metrics::Metrics,
    /// This instance's name (`/healthz`, `/metrics`, the leases it holds in a shared store).
    pub instance: String,
    pub callback: Option<callback::Callback>,
    /// A new event was accepted.
    pub wake_events: Notify,
    /// A domain was added or changed: checks may be due.
    pub wake_checks: Notify,
    /// A stage may have changed: the outbox may have something to send.
    pub wake_outbox: Notify,
    /// The threads events run on through the components.
    pub executor: Executor,
    log: bool,
}

/// Compares a presented token with the configured one in constant time.
pub fn same_token(expected: &[u8; 32], given: &str) -> bool {
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    expected
        .iter()
        .zip(given.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

impl State {
    fn say(&self, line: &str) {
        if self.log {
            eprintln!("domain-host: {}", self.secrets.redact(line));
        }
    }
}

/// Runs the service until SIGTERM or SIGINT. Returns the exit status.
pub async fn run(options: &Options, listen: Option<SocketAddr>) -> i32 {
    let secrets = Secrets::default();
    match serve(options, listen, &secrets).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("domain-host: {}", secrets.redact(&format!("{e:#}")));
            commands::EXIT_USAGE
        }
    }
}

async fn serve(options: &Options, listen: Option<SocketAddr>, secrets: &Secrets) -> Result<()> {
    let config = LoadedConfig::load(&options.config)?;
    commands::register_operator_secrets(&config, secrets);
    let Some(service) = config.config.service.clone() else {
        bail!(
            "{} has no [service] table: set at least service.token_env (the environment variable holding the API token)",
            config.path.display()
        );
    };
    let token = service.token()?;
    let operator = service.operator_token()?;
    let metrics_token = service.metrics_token()?;
    if operator.as_deref() == Some(token.as_str()) {
        bail!(
            "service: operator_token must differ from token (the event token WordPress holds may not reconcile with apply or prune)"
        );
    }
    let callback = match (&service.callback_url, service.callback_secret()?) {
        (Some(url), Some(key)) => Some(callback::Callback::new(url, key)?),
        _ => None,
    };
    let ids = commands::enabled_ids(&config);
    let network = Network::open(
        config,
        secrets.clone(),
        options.log_level,
        Selection {
            ids,
            // The service never pins: an integration nobody approved does not run
            // (security review F10).
            mode: crate::sandbox::approvals::Mode::Require,
            strict: true,
        },
    )
    .await?;
    // Say at start which integrations do not run (not approved yet, a broken component),
    // not only in the reports of the events they miss.
    for failed in &network.failed {
        if let Some(error) = &failed.error {
            eprintln!(
                "integration {} is not loaded: {}",
                failed.id,
                secrets.redact(&error.message)
            );
        }
    }
    let store = network
        .store
        .clone()
        .context("the service needs its database")?;
    // One service per SQLite database: a second would re-queue the first's running events.
    // A shared store takes any number: each re-queues only what its own name left running,
    // and takes over another's events when their leases expire.
    // (A shared store needs no state directory, so it may not exist: no lock file then.)
    let _instance_lock = if store.mysql().is_none() {
        let lock_path = network.host.settings.state_dir.join("service.lock");
        let lock = crate::sandbox::files::open_lock_file(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            bail!(
                "another domain-host serve is running on this state directory ({})",
                lock_path.display()
            );
        }
        Some(lock)
    } else {
        None
    };
    let instance = network.config.config.instance();
    if service.synchronous == Synchronous::Full {
        store.synchronous_full()?;
    }
    let requeued = queue::requeue_running(&store, now_ms())?;
    let blocked = blocked_reason(&network);
    let unblocked = queue::unblock_or_update(&store, now_ms(), blocked.as_deref())?;
    let address = listen.unwrap_or(service.listen);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    let acceptor = match store.mysql() {
        Some(_) => None,
        None => Some(queue::Acceptor::start(
            store.clone(),
            service.idempotency_ttl.as_millis() as i64,
        )?),
    };
    let state = Arc::new(State {
        network: Arc::new(network),
        store,
        acceptor,
        token_digest: Sha256::digest(token.as_bytes()).into(),
        operator_digest: operator.map(|t| Sha256::digest(t.as_bytes()).into()),
        metrics_digest: metrics_token.map(|t| Sha256::digest(t.as_bytes()).into()),
        blocked,
        service: service.clone(),
        secrets: secrets.clone(),
        metrics: Default::default(),
        instance,
        callback,
        wake_events: Notify::new(),
        wake_checks: Notify::new(),
        wake_outbox: Notify::new(),
        executor: Executor::new(service.event_threads).context("cannot start the event threads")?,
        log: options.log_level.is_some(),
    });
    if requeued > 0 {
        state.say(&format!(
            "{requeued} event(s) were running when the service stopped: queued again"
        ));
    }
    match &state.blocked {
        Some(reason) => state.say(&format!(
            "events are not applied: {reason}; they wait as blocked and run once every enabled integration loads (fix it, then restart)"
        )),
        None if unblocked > 0 => state.say(&format!(
            "{unblocked} blocked event(s): every integration loads now, queued again"
        )),
        None => {}
    }
    // The line a supervisor (or a test) waits for; the address is the bound one.
    println!("listening on {bound}");
    state.say(&format!(
        "instance {} on the {} store",
        state.instance,
        state.store.kind()
    ));
    state.say(&format!(
        "serving on {bound} ({} integration(s){})",
        state.network.integrations.len(),
        if service.paused {
            ", paused: events are queued, not applied"
        } else {
            ""
        }
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let dispatcher = tokio::spawn(dispatch(state.clone(), stop_rx.clone()));
    let scheduler = tokio::spawn(schedule(state.clone(), stop_rx.clone()));
    let deliverer = tokio::spawn(deliver::deliver(state.clone(), stop_rx.clone()));
    let pruner = tokio::spawn(prune(state.clone(), stop_rx.clone()));
    let server = tokio::spawn(server::serve(
        listener,
        api::router(state.clone()),
        service.header_timeout,
        service.max_connections,
        stop_rx.clone(),
    ));

    let signal = shutdown_signal().await;
    state.say(&format!(
        "{signal}: no new requests; running events may finish (up to {} s)",
        service.shutdown_grace.as_secs()
    ));
    let _ = stop_tx.send(true);
    let grace = service.shutdown_grace + Duration::from_secs(1);
    let _ = tokio::time::timeout(grace, dispatcher).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    scheduler.abort();
    deliverer.abort();
    pruner.abort();
    state.say("stopped");
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

/// Sleeps until `at` (unix ms), at most `cap`, or until woken or stopping.
async fn nap(at: Option<i64>, cap: Duration, wake: &Notify, stop: &mut watch::Receiver<bool>) {
    let wait = at
        .map(|at| Duration::from_millis((at - now_ms()).max(0) as u64))
        .unwrap_or(cap)
        .min(cap);
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = wake.notified() => {}
        _ = stop.changed() => {}
    }
}

/// Takes due events as workers free up; on stop, lets running ones finish within the grace
/// period (what is still running then stays `running` and is queued again on start).
async fn dispatch(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        // When every free worker got an event, a finishing one wakes the loop; otherwise
        // the soonest retry (or a new event) does.
        let mut next = None;
        if !state.service.paused {
            let free = state.service.workers.saturating_sub(running.len());
            match queue::claim(&state.store, now_ms(), free) {
                Ok(claimed) => {
                    let filled = claimed.len() == free;
                    for event in claimed {
                        running.spawn(apply(state.clone(), event));
                    }
                    if !filled {
                        next = queue::next_due(&state.store).ok().flatten();
                    }
                }
                Err(e) => state.say(&format!("cannot read the queue: {e:#}")),
            }
        }
        tokio::select! {
            _ = state.wake_events.notified() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = tokio::time::sleep(
                next.map(|at| Duration::from_millis((at - now_ms()).max(0) as u64))
                    .unwrap_or(Duration::from_secs(5))
                    .min(Duration::from_secs(5))
            ) => {}
            _ = stop.changed() => {}
        }
    }
    let _ = tokio::time::timeout(state.service.shutdown_grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
}

/// Error kinds a later attempt may get past.
fn retryable(report: &EventReport) -> bool {
    report.lifecycle.is_some()
        || report.integrations.iter().any(|i| {
            i.error.as_ref().is_some_and(|e| {
                matches!(
                    e.kind.as_str(),
                    "transient" | "rate_limited" | "timeout" | "busy"
                )
            })
        })
}

fn summary(report: &EventReport) -> String {
    let mut parts: Vec<String> = report
        .integrations
        .iter()
        .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {}", i.id, e.message)))
        .collect();
    if let Some(l) = &report.lifecycle {
        parts.push(format!("lifecycle: {l}"));
    }
    parts.join("; ")
}

/// Why events cannot run: each enabled integration that did not load, or lacks constants
/// (redacted: a load error may quote configuration).
fn blocked_reason(network: &Network) -> Option<String> {
    let mut why: Vec<String> = network
        .failed
        .iter()
        .map(|f| {
            let message = f.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
            format!("{} cannot load: {message}", f.id)
        })
        .collect();
    why.extend(
        network
            .integrations
            .iter()
            .filter(|i| !i.missing.is_empty())
            .map(|i| format!("{}: missing constants: {}", i.id, i.missing.join(", "))),
    );
    (!why.is_empty()).then(|| network.host.settings.secrets.redact(&why.join("; ")))
}

/// Deletes finished events older than `events_retention`, at start and every hour.
async fn prune(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        let before = now_ms() - state.service.events_retention.as_millis() as i64;
        let store = state.store.clone();
        match tokio::task::spawn_blocking(move || queue::prune(&store, before)).await {
            Ok(Ok(n)) if n > 0 => state.say(&format!(
                "{n} finished event(s) older than {} deleted",
                humantime::format_duration(state.service.events_retention)
            )),
            Ok(Err(e)) => state.say(&format!("pruning events: {e:#}")),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One attempt at one event, through the CLI's dispatch path.
async fn apply(state: Arc<State>, event: queue::Claimed) {
    let network = &state.network;
    if let Some(reason) = &state.blocked {
        state.metrics.outcome("blocked");
        state.say(&format!(
            "event {} {} {}: blocked ({reason})",
            event.id, event.kind, event.domain
        ));
        if let Err(e) = queue::block(&state.store, event.id, reason) {
            state.say(&format!("event {}: cannot save it: {e:#}", event.id));
        }
        return;
    }
    let built = if event.kind == "remove-domain" {
        commands::remove_domain_event(&network.config, &event.domain, event.site, event.www_mapped)
    } else {
        commands::domain_event(&network.config, &event.domain, event.site)
    };
    let operation = built
        .ok()
        .and_then(|e| Operation::domain_event(&event.kind, e));
    let Some(operation) = operation else {
        let message = format!("{} {} can no longer be applied", event.kind, event.domain);
        let _ = queue::finish(
            &state.store,
            event.id,
            "failed",
            "null",
            Some(&message),
            now_ms(),
        );
        state.metrics.outcome("failed");
        return;
    };
    state.metrics.attempts.fetch_add(1, Ordering::Relaxed);
    let report = {
        let run = {
            let running = state.clone();
            let operation = operation.clone();
            let id = event.id;
            let work = async move { running.network.event_from(&operation, Some(id), None).await };
            state.executor.spawn(work)
        };
        tokio::pin!(run);
        let renew_every = lease_renewal(&state.store);
        loop {
            tokio::select! {
                report = &mut run => break report.unwrap_or_else(|e| stopped(&operation, &e)),
                _ = tokio::time::sleep(renew_every) => renew(&state, event.id).await,
            }
        }
    };
    for i in &report.integrations {
        if i.attempts > 0 {
            state
                .metrics
                .panel_latency(&i.id, i.duration_ms as f64 / 1000.0);
        }
    }
    let text = state
        .secrets
        .redact(&serde_json::to_string(&report).unwrap_or_else(|_| "null".into()));
    let now = now_ms();
    // Done only when the lifecycle's record is kept too: a record the lost shared store
    // could not take would lose the domain's stage change; the event runs again instead.
    let saved = if report.ok && !report.store_lost {
        state.metrics.outcome("done");
        state.say(&format!(
            "event {} {} {}: done (attempt {})",
            event.id, event.kind, event.domain, event.attempt
        ));
        save_result(&state, event.id, |store| {
            queue::finish(store, event.id, "done", &text, None, now)
        })
        .await
    } else {
        let why = state.secrets.redact(&summary(&report));
        if retryable(&report) && event.attempt < state.service.max_attempts {
            let base = state.service.retry_interval;
            let full = base
                .saturating_mul(1u32 << (event.attempt - 1).min(20))
                .min(state.service.retry_max_interval);
            let wait = full / 2 + full.mul_f64(crate::runtime::retry::jitter() / 2.0);
            state.metrics.outcome("retried");
            state.say(&format!(
                "event {} {} {}: attempt {} failed ({why}); again in {} ms",
                event.id,
                event.kind,
                event.domain,
                event.attempt,
                wait.as_millis()
            ));
            let at = now + wait.as_millis() as i64;
            save_result(&state, event.id, |store| {
                queue::reschedule(store, event.id, at, &text, &why)
            })
            .await
        } else {
            state.metrics.outcome("failed");
            state.say(&format!(
                "event {} {} {}: failed after {} attempt(s): {why}",
                event.id, event.kind, event.domain, event.attempt
            ));
            network.panel_failed(&operation, &report);
            save_result(&state, event.id, |store| {
                queue::finish(store, event.id, "failed", &text, Some(&why), now)
            })
            .await
        }
    };
    if !saved {
        state.say(&format!(
            "event {}: its lease expired and another instance took it over: this attempt's result is not saved (the other's is)",
            event.id
        ));
    }
    state.wake_checks.notify_one();
    state.wake_outbox.notify_one();
    state.wake_events.notify_one();
}

/// The report of an event whose run stopped without one (a panic on its thread): retried,
/// as a run the lifecycle could not finish is.
fn stopped(operation: &Operation, error: &tokio::task::JoinError) -> EventReport {
    let mut report = EventReport::new(operation.name(), Vec::new());
    report.lifecycle = Some(format!("the event's run stopped: {error}"));
    report
}

/// How often a running event's lease is renewed: a third of it (SQLite has none: never
/// in effect).
fn lease_renewal(store: &Database) -> Duration {
    match store.mysql() {
        Some(m) => Duration::from_millis((m.lease_ms / 3).max(200) as u64),
        None => Duration::from_secs(3600),
    }
}

async fn renew(state: &Arc<State>, id: i64) {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || queue::renew(&store, id, now_ms())).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => state.say(&format!(
            "event {id}: its lease was lost (it expired; another instance may apply it again)"
        )),
        Ok(Err(e)) => state.say(&format!("event {id}: cannot renew its lease: {e:#}")),
        Err(_) => {}
    }
}

/// Saves an attempt's result; in a shared store again and again (for up to about ten
/// minutes) while the database cannot be reached: the work is done, and losing its result
/// would apply the event once more. Answers `false` when the event is no longer this
/// instance's.
async fn save_result(
    state: &Arc<State>,
    id: i64,
    save: impl Fn(&Database) -> Result<bool>,
) -> bool {
    let tries = if state.store.mysql().is_some() {
        120
    } else {
        1
    };
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=tries {
        match save(&state.store) {
            Ok(kept) => return kept,
            Err(e) if attempt == tries => {
                state.say(&format!("event {id}: cannot save its result: {e:#}"));
            }
            Err(e) => {
                state.say(&format!(
                    "event {id}: cannot save its result ({e:#}); trying again in {} ms",
                    wait.as_millis()
                ));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
    true
}

/// The lifecycle's scheduler: due checks, then sleep until the next is due.
async fn schedule(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let Some(lifecycle) = &state.network.lifecycle else {
        return;
    };
    loop {
        if *stop.borrow() {
            return;
        }
        if !state.service.paused {
            match lifecycle
                .check_due_stages(Some(state.network.panels()), 1000)
                .await
            {
                Ok(stages) => {
                    for stage in &stages {
                        state.metrics.check(stage);
                    }
                    if !stages.is_empty() {
                        state.wake_outbox.notify_one();
                    }
                }
                Err(e) => state.say(&format!("lifecycle checks: {e:#}")),
            }
        }
        let next = lifecycle.store.next_due().ok().flatten();
        nap(next, Duration::from_secs(60), &state.wake_checks, &mut stop).await;
    }
}
