//! Loading integrations and running events through them.
//!
//! An integration is loaded once per process: its component compiled (or taken from the
//! cache), pre-instantiated, asked for its metadata, and given its constants, allow-list,
//! routes and credential. Each event then runs in a fresh store with the sandbox armed:
//! memory cap, guest-CPU budget, wall-time limit, and the outbound hook.

use crate::config::{IntegrationConfig, Limits, LoadedConfig};
use crate::contract::{Capabilities, ProviderError, ProviderMetadata};
use crate::runtime::account_lock;
use crate::runtime::component::{ProviderPre, Reply};
use crate::runtime::engine::{self, CompileCache};
use crate::runtime::instance::{HostState, Journal};
use crate::runtime::operation::{Answer, Operation};
use crate::runtime::report::{ComponentReport, ErrorReport, IntegrationReport};
use crate::runtime::retry::{self, RetryPolicy};
use crate::sandbox::allow_list::{AllowList, Routes};
use crate::sandbox::approvals::{self, Approvals, Pin, Verdict};
use crate::sandbox::connection_pool::ConnectionPool;
use crate::sandbox::constants::{Constants, OperatorInput, Source};
use crate::sandbox::credentials::{credential_for, register_secrets};
use crate::sandbox::egress::{self, AddressPolicy};
use crate::sandbox::logs::{IntegrationLog, Level, LogSettings};
use crate::sandbox::outbound::{OutboundPolicy, RequestBudget, WriteLog};
use crate::sandbox::redaction::Secrets;
use anyhow::{Context, Result, anyhow};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};

/// Stores that may be alive at once in one process (integrations × concurrent events).
const POOL_INSTANCES: u32 = 64;

/// Process-wide settings every integration shares.
#[derive(Debug, Clone)]
pub struct HostSettings {
    pub limits: Limits,
    pub retry: RetryPolicy,
    pub cache_dir: PathBuf,
    pub state_dir: PathBuf,
    pub log: LogSettings,
    /// The secrets of every integration, for redaction everywhere.
    pub secrets: Secrets,
    /// The lock file of the config.
    pub approvals: Approvals,
    /// Where account locks are: one place per config, shared by every user of it.
    pub lock_dir: PathBuf,
    /// Where relative `ca_file` paths start (the config's folder).
    pub config_dir: PathBuf,
}

impl HostSettings {
    pub fn from_config(
        config: &LoadedConfig,
        echo_level: Option<Level>,
        secrets: Secrets,
    ) -> Result<Self> {
        let state_dir = config.state_dir()?;
        Ok(HostSettings {
            limits: config.config.limits,
            retry: config.config.retry,
            cache_dir: config.cache_dir()?,
            log: LogSettings {
                echo_level,
                dir: Some(state_dir.join("logs")),
                max_component_lines: config.config.limits.max_log_lines,
            },
            state_dir,
            secrets,
            approvals: Approvals::for_config(&config.path),
            lock_dir: config.lock_dir(),
            config_dir: config.resolve(Path::new(".")),
        })
    }
}

pub struct Host {
    engine: Engine,
    linker: Linker<HostState>,
    cache: CompileCache,
    pub settings: HostSettings,
}

/// A loaded, configured integration, ready for events.
pub struct Integration {
    pub id: String,
    pub component: ComponentReport,
    pub metadata: ProviderMetadata,
    pub sources: BTreeMap<String, Source>,
    pub allowed_hosts: Vec<String>,
    pub missing: Vec<String>,
    /// How the component compares with its approval (for `list` and `approve`).
    pub approval: Verdict,
    pre: ProviderPre,
    constants: Arc<Constants>,
    /// Identifies the panel resource events lock (see `account-constants`).
    account_key: String,
    outbound: OutboundPolicy,
    log: IntegrationLog,
}

/// How one attempt ended.
enum Attempt {
    Done(Reply),
    Provider(ProviderError),
    Host(ErrorReport),
}

impl Integration {
    /// The constants the host holds for it (secret, never shown to the component).
    pub fn secret_names(&self) -> Vec<String> {
        self.constants.secret_names()
    }
}

impl Host {
    pub fn new(settings: HostSettings) -> Result<Self> {
        Self::with_allocation(settings, None)
    }

    /// `allocation` defaults to a pool sized for the limits.
    pub fn with_allocation(
        settings: HostSettings,
        allocation: Option<engine::Allocation>,
    ) -> Result<Self> {
        let allocation = allocation.unwrap_or(engine::Allocation::Pooling {
            instances: POOL_INSTANCES,
            max_memory_bytes: (settings.limits.memory_mb as usize) << 20,
        });
        let engine = engine::new_engine(allocation)?;
        let linker = engine::new_linker(&engine)?;
        let cache = CompileCache::open(&settings.cache_dir);
        Ok(Host {
            engine,
            linker,
            cache,
            settings,
        })
    }

    /// Compiles (or loads from cache) and configures one integration, enforcing its
    /// approval.
    pub async fn load(
        &self,
        id: &str,
        config: &IntegrationConfig,
        component_path: PathBuf,
    ) -> Result<Integration> {
        self.load_with(id, config, component_path, approvals::Mode::Enforce)
            .await
    }

    /// [`Host::load`], with the approval handled as `mode` says.
    pub async fn load_with(
        &self,
        id: &str,
        config: &IntegrationConfig,
        component_path: PathBuf,
        mode: approvals::Mode,
    ) -> Result<Integration> {
        let loaded = engine::load_component(&self.engine, &component_path, &self.cache)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&loaded.component)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "component {} needs imports this host does not grant",
                    component_path.display()
                )
            })?;
        let pre = ProviderPre::new(loaded.version, instance_pre)?;

        let quiet_log = IntegrationLog::new(
            id,
            self.settings.secrets.clone(),
            LogSettings {
                echo_level: None,
                dir: None,
                max_component_lines: 0,
            },
        );
        let metadata = self
            .metadata(&pre, quiet_log)
            .await
            .with_context(|| format!("{id}: reading the component's metadata"))?;
        if metadata.id != id {
            anyhow::bail!(
                "integrations.{id}: component {} is the {:?} provider; configure it as [integrations.{}]",
                component_path.display(),
                metadata.id,
                metadata.id
            );
        }
        check_metadata(&metadata).map_err(|e| {
            anyhow!(
                "integrations.{id}: component {} refused: {e}",
                component_path.display()
            )
        })?;

        let log = IntegrationLog::new(id, self.settings.secrets.clone(), self.settings.log.clone());
        let pin = Pin::new(&metadata, &loaded.digest, &loaded.contract);
        let approval = self.settings.approvals.check(id, pin, mode)?;
        let enforcing = matches!(mode, approvals::Mode::Enforce | approvals::Mode::Require);
        match &approval {
            Verdict::Refused(wanted) if enforcing => anyhow::bail!(
                "{id}: the component {} asks for more than was approved in {}:\n  {}\n\
                 Review it, then run `domain-host approve {id}`",
                component_path.display(),
                self.settings.approvals.path().display(),
                wanted.join("\n  ")
            ),
            Verdict::Unpinned if mode == approvals::Mode::Require => anyhow::bail!(
                "{id}: the component {} has not been approved yet (no pin in {}); review \
                 what it asks for with `domain-host list`, then run `domain-host approve {id}`",
                component_path.display(),
                self.settings.approvals.path().display()
            ),
            Verdict::Pinned(changes) if enforcing => log.host(
                Level::Warn,
                // One line: the integration's log file keeps one entry per line.
                &format!(
                    "approved and pinned in {}: {}",
                    self.settings.approvals.path().display(),
                    changes.join("; ")
                ),
            ),
            _ => {}
        }

        let input = OperatorInput {
            configured: &config.constants,
            env: &config.env,
            secrets: &config.secrets,
        };
        let (constants, sources) =
            Constants::resolve(&metadata.constants, &metadata.auth, input, |n| {
                std::env::var(n).ok()
            })
            .map_err(|e| anyhow!("integrations.{id}.{e}"))?;
        let credential = credential_for(&metadata.auth, &constants, &self.settings.secrets)
            .map_err(|e| anyhow!("integrations.{id}: {e}"))?;
        register_secrets(&self.settings.secrets, &constants, credential.as_ref());

        let from_component = config.allowed_hosts.is_none();
        let allowed_hosts = match &config.allowed_hosts {
            Some(hosts) => hosts.clone(),
            None => {
                // A self-hosted panel's default is the operator's own host (a template).
                let mut hosts = Vec::new();
                for entry in &metadata.default_allowed_hosts {
                    let expanded = crate::sandbox::allow_list::expand_default(entry, |n| {
                        constants.visible(n).map(str::to_string)
                    })
                    .map_err(|e| anyhow!("integrations.{id}: default allowed host: {e}"))?;
                    hosts.extend(expanded);
                }
                hosts
            }
        };
        // Component defaults are vetted whatever they expanded to: only the operator's
        // `allowed_hosts` names an address outright.
        let allow = if from_component {
            AllowList::from_component_defaults(&allowed_hosts)
        } else {
            AllowList::parse(&allowed_hosts)
        }
        .map_err(|e| anyhow!("integrations.{id}: allowed hosts: {e}"))?;
        let routes =
            Routes::parse(&config.routes).map_err(|e| anyhow!("integrations.{id}.routes: {e}"))?;
        routes
            .check_keys(&allow)
            .map_err(|e| anyhow!("integrations.{id}.routes: {e}"))?;
        let addresses = AddressPolicy::parse(&config.allow_private)
            .map_err(|e| anyhow!("integrations.{id}.allow_private: {e}"))?;
        let extra_roots = match &config.ca_file {
            Some(file) => {
                let path = self.settings.config_dir.join(file);
                Some(std::fs::read(&path).with_context(|| {
                    format!("integrations.{id}.ca_file: cannot read {}", path.display())
                })?)
            }
            None => None,
        };
        let tls = egress::panel_tls_config(extra_roots.as_deref())
            .map_err(|e| anyhow!("integrations.{id}.ca_file: {e}"))?;
        if let Some(crate::sandbox::credentials::Credential::Session(session)) = &credential {
            let login = allow.allowing(&session.url).filter(|e| e.is_https());
            if login.is_none() {
                anyhow::bail!(
                    "integrations.{id}: the session login {} is not on the integration's HTTPS allowed hosts",
                    session.url
                );
            }
        }
        let missing = constants.missing(&metadata);
        let limits = self.settings.limits;
        let outbound = OutboundPolicy {
            allow,
            routes,
            addresses,
            tls,
            credential,
            max_timeout: Duration::from_secs(limits.request_timeout_secs),
            max_response_bytes: limits.max_response_bytes,
            max_request_bytes: limits.max_request_bytes,
            budget: RequestBudget::new(limits.max_requests_per_call, limits.max_requests_in_flight),
            pool: ConnectionPool::new(),
            placeholders: None,
            placeholders_in_query: config.secrets_in_query,
            writes: Arc::default(),
            log: log.clone(),
        };
        let account_key = account_key(&metadata.account_constants, &constants);
        Ok(Integration {
            id: id.to_string(),
            account_key,
            component: ComponentReport {
                path: component_path.display().to_string(),
                cache: loaded.cache,
            },
            metadata,
            sources,
            allowed_hosts,
            missing,
            approval,
            pre,
            constants: Arc::new(constants),
            outbound,
            log,
        })
    }

    /// The metadata call runs with nothing granted: no hosts, no constants.
    async fn metadata(&self, pre: &ProviderPre, log: IntegrationLog) -> Result<ProviderMetadata> {
        let outbound = OutboundPolicy {
            allow: AllowList::default(),
            routes: Routes::default(),
            addresses: AddressPolicy::default(),
            tls: egress::panel_tls_config(None).map_err(|e| anyhow!(e))?,
            credential: None,
            max_timeout: Duration::from_secs(1),
            max_response_bytes: 0,
            max_request_bytes: 0,
            budget: RequestBudget::new(0, 0),
            pool: ConnectionPool::new(),
            placeholders: None,
            placeholders_in_query: false,
            writes: Arc::default(),
            log: log.clone(),
        };
        let mut store = self.new_store(HostState::new(
            outbound,
            Arc::default(),
            Arc::default(),
            log,
            self.store_limits(),
        ));
        let metadata = tokio::time::timeout(
            Duration::from_secs(self.settings.limits.call_timeout_secs),
            pre.metadata(&mut store),
        )
        .await
        .map_err(|_| anyhow!("metadata() did not return in time"))??;
        Ok(metadata)
    }

    fn store_limits(&self) -> wasmtime::StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size((self.settings.limits.memory_mb as usize) << 20)
            .trap_on_grow_failure(true)
            .build()
    }

    /// A store whose guest may run for the configured CPU budget. The epoch callback only
    /// fires while guest code runs, so time spent waiting on HTTP does not count; each tick
    /// also yields, so a busy guest never starves the runtime's timers.
    fn new_store(&self, state: HostState) -> Store<HostState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let budget = self
            .settings
            .limits
            .cpu_ms
            .div_ceil(engine::EPOCH_TICK.as_millis() as u64)
            .max(1);
        let mut used = 0u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            used += 1;
            if used > budget {
                return Err(wasmtime::Error::new(CpuBudgetExceeded));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Runs one operation through one integration: serialised per account, retried on
    /// transient faults, reported with everything redacted.
    pub async fn run(&self, integration: &Integration, operation: &Operation) -> IntegrationReport {
        let log = integration.log.for_event();
        let report = self.run_logged(integration, operation, &log).await;
        log.finish_event();
        IntegrationReport {
            log: log.lines(),
            ..report
        }
    }

    async fn run_logged(
        &self,
        integration: &Integration,
        operation: &Operation,
        log: &IntegrationLog,
    ) -> IntegrationReport {
        let started = Instant::now();
        // Failures before the component runs.
        let refused = |kind: &str, message: String| IntegrationReport {
            component: Some(integration.component.clone()),
            ..IntegrationReport::failed(&integration.id, kind, message)
        };

        if !integration.missing.is_empty() {
            return refused(
                "configuration",
                format!(
                    "{}: missing constants: {} (set them in the integration's constants, or name \
                     their environment variables in its env list)",
                    integration.id,
                    integration.missing.join(", ")
                ),
            );
        }

        if let Some(needed) = operation.needs()
            && !integration.metadata.operations.contains(needed)
        {
            return IntegrationReport {
                error: Some(ErrorReport {
                    kind: "unsupported".into(),
                    message: format!(
                        "{}: the {} component does not offer {}",
                        integration.id,
                        integration.metadata.title,
                        operation.name()
                    ),
                    status: None,
                }),
                ..refused("unsupported", String::new())
            };
        }

        let _lock = if operation.changes_panel() {
            let independent = integration
                .metadata
                .capabilities
                .contains(Capabilities::INDEPENDENT_DOMAINS);
            let path = account_lock::lock_path(
                &self.settings.lock_dir,
                &integration.id,
                &integration.account_key,
                operation.domain().filter(|_| independent),
            );
            match account_lock::acquire(
                path,
                Duration::from_secs(self.settings.limits.lock_wait_secs),
            )
            .await
            {
                Ok(lock) => Some(lock),
                Err(e) => return refused("busy", format!("{}: {e:#}", integration.id)),
            }
        } else {
            None
        };

        // What the event did so far, across its attempts: the component's journal and the
        // writes the host saw reach the panel.
        let journal = Arc::new(Journal::default());
        let writes = Arc::new(WriteLog::default());
        // The retry budget starts once the lock is held: waiting behind other events for the
        // same account is not the panel's fault.
        let retries_started = Instant::now();
        let policy = self.settings.retry;
        let mut attempt = 0;
        let mut earlier: Vec<String> = Vec::new();
        let mut landed_earlier = 0;
        let session = match &integration.outbound.credential {
            Some(crate::sandbox::credentials::Credential::Session(session)) => {
                Some(session.clone())
            }
            _ => None,
        };
        let mut relogged = false;
        let result = loop {
            attempt += 1;
            let refusals_before = session.as_ref().map(|s| s.invalidations());
            let result = self
                .attempt(
                    integration,
                    &operation.for_attempt(attempt),
                    log,
                    &journal,
                    &writes,
                )
                .await;
            // A login the host made failed: the component only saw a denial; say why, and
            // retry when the panel was unavailable.
            let result = match (result, session.as_ref().and_then(|s| s.take_failure())) {
                (Attempt::Provider(ProviderError::Denied(_)), Some(failure)) => {
                    Attempt::Provider(match failure {
                        crate::sandbox::session::LoginFailure::Refused(m) => {
                            ProviderError::BadCredentials(m)
                        }
                        crate::sandbox::session::LoginFailure::Unavailable(m) => {
                            ProviderError::Transient(m)
                        }
                        crate::sandbox::session::LoginFailure::Unusable(m) => {
                            ProviderError::Api(crate::contract::ApiError {
                                status: 0,
                                message: m,
                            })
                        }
                    })
                }
                (result, _) => result,
            };
            let Attempt::Provider(error) = &result else {
                break result;
            };
            // A session token the panel refused: log in again, once.
            let token_refused = refusals_before
                .zip(session.as_ref().map(|s| s.invalidations()))
                .is_some_and(|(before, after)| after > before);
            if token_refused && !relogged && matches!(error, ProviderError::BadCredentials(_)) {
                relogged = true;
                log.host(
                    Level::Info,
                    &format!(
                        "attempt {attempt}: the panel refused the session token; logging in again"
                    ),
                );
                earlier.push(format!("attempt {attempt} failed: {}", describe(error)));
                landed_earlier = writes.landed().len();
                continue;
            }
            let Some(retry_after) = retry::retryable(error) else {
                break result;
            };
            let delay = policy.delay(attempt + 1, retry_after, retry::jitter());
            if !policy.may_retry(attempt + 1, retries_started.elapsed(), delay) {
                break result;
            }
            log.host(
                Level::Info,
                &format!(
                    "attempt {attempt} failed ({}); retrying in {} ms",
                    describe(error),
                    delay.as_millis()
                ),
            );
            earlier.push(format!("attempt {attempt} failed: {}", describe(error)));
            landed_earlier = writes.landed().len();
            tokio::time::sleep(delay).await;
        };

        let secrets = log.secrets();
        let landed = writes.landed();
        let (outcome, answer, error) = match result {
            Attempt::Done(Reply::Outcome(outcome)) => (Some(outcome), None, None),
            Attempt::Done(Reply::Domains(list)) => (
                None,
                Some(Answer::Domains(list.into_iter().map(Into::into).collect())),
                None,
            ),
            Attempt::Done(Reply::Certificate(c)) => {
                (None, Some(Answer::Certificate(c.into())), None)
            }
            Attempt::Done(Reply::Records(r)) => (
                None,
                Some(Answer::Records(r.into_iter().map(Into::into).collect())),
                None,
            ),
            Attempt::Provider(error) => {
                let mut error = provider_error(&error);
                if attempt > 1 {
                    error
                        .message
                        .push_str(&format!(" (gave up after {attempt} attempts)"));
                }
                (None, None, Some(error))
            }
            Attempt::Host(error) => (None, None, Some(error)),
        };
        // What the component answered goes on to the lifecycle's records, the callback's
        // outbox and WordPress: a secret it got hold of (or a panel echoed) goes no
        // further than here.
        let answer = answer.map(|a| a.redacted(secrets));
        // A report says what the event did: an earlier attempt's write that reached the
        // panel changed it, even when the last attempt found nothing left to do.
        let changed_earlier = landed_earlier > 0;
        let mut notes: Vec<String> = outcome
            .as_ref()
            .map(|o| o.notes.clone())
            .unwrap_or_default();
        if attempt > 1 {
            notes.extend(earlier);
        }
        if changed_earlier && !outcome.as_ref().is_some_and(|o| o.changed) {
            notes.push(format!(
                "an earlier attempt changed the panel before its answer was lost ({})",
                landed[..landed_earlier].join("; ")
            ));
        }
        if error.is_some() && !landed.is_empty() {
            notes.push(format!(
                "the panel was changed before the failure ({})",
                landed.join("; ")
            ));
        }
        IntegrationReport {
            id: integration.id.clone(),
            ok: error.is_none(),
            changed: outcome.as_ref().is_some_and(|o| o.changed)
                || changed_earlier
                || (error.is_some() && !landed.is_empty()),
            notes: notes.iter().map(|n| secrets.redact(n)).collect(),
            error: error.map(|e| ErrorReport {
                message: secrets.redact(&format!("{}: {}", integration.id, e.message)),
                ..e
            }),
            attempts: attempt,
            duration_ms: started.elapsed().as_millis() as u64,
            component: Some(integration.component.clone()),
            answer,
            log: vec![],
        }
    }

    /// Instantiates the integration into a fresh store and drops it: what every event
    /// pays before the provider runs (for benchmarks).
    pub async fn instantiate_once(&self, integration: &Integration) -> Result<()> {
        let state = HostState::new(
            integration.outbound.clone(),
            integration.constants.clone(),
            Arc::default(),
            integration.log.clone(),
            self.store_limits(),
        );
        let mut store = self.new_store(state);
        Ok(integration.pre.instantiate(&mut store).await?)
    }

    async fn attempt(
        &self,
        integration: &Integration,
        operation: &Operation,
        log: &IntegrationLog,
        journal: &Arc<Journal>,
        writes: &Arc<WriteLog>,
    ) -> Attempt {
        let limits = self.settings.limits;
        let budget =
            RequestBudget::new(limits.max_requests_per_call, limits.max_requests_in_flight);
        let outbound = OutboundPolicy {
            log: log.clone(),
            budget: budget.clone(),
            writes: writes.clone(),
            ..integration.outbound.clone()
        };
        let state = HostState::new(
            outbound,
            integration.constants.clone(),
            journal.clone(),
            log.clone(),
            self.store_limits(),
        );
        let mut store = self.new_store(state);
        let result = tokio::time::timeout(
            Duration::from_secs(limits.call_timeout_secs),
            integration.pre.call(&mut store, operation),
        )
        .await;
        store.data().flush_stdio();
        budget.finish(log);
        match result {
            Err(_) => Attempt::Host(host_error(
                "timeout",
                format!(
                    "the component did not finish within {} s; stopped",
                    limits.call_timeout_secs
                ),
            )),
            Ok(Ok(Ok(reply))) => Attempt::Done(reply),
            Ok(Ok(Err(error))) => Attempt::Provider(error),
            Ok(Err(trap)) => Attempt::Host(trap_error(&trap, &limits)),
        }
    }
}

#[derive(Debug)]
struct CpuBudgetExceeded;

impl std::fmt::Display for CpuBudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("guest CPU budget exceeded")
    }
}

impl std::error::Error for CpuBudgetExceeded {}

fn host_error(kind: &str, message: String) -> ErrorReport {
    ErrorReport {
        kind: kind.to_string(),
        message,
        status: None,
    }
}

/// A trap or host failure, told in the user's terms.
fn trap_error(error: &wasmtime::Error, limits: &Limits) -> ErrorReport {
    if error.is::<CpuBudgetExceeded>() {
        return host_error(
            "cpu_limit",
            format!(
                "the component used more than {} ms of CPU; stopped",
                limits.cpu_ms
            ),
        );
    }
    let text = format!("{error:#}");
    if text.contains("forcing trap when growing memory")
        || text.contains("forcing a memory growth failure")
    {
        return host_error(
            "memory_limit",
            format!(
                "the component tried to use more than {} MiB of memory; stopped",
                limits.memory_mb
            ),
        );
    }
    let first_line = text.lines().next().unwrap_or("trap").to_string();
    host_error("trap", format!("the component crashed: {first_line}"))
}

fn describe(error: &ProviderError) -> String {
    provider_error(error).message
}

fn provider_error(error: &ProviderError) -> ErrorReport {
    let (kind, message, status) = match error {
        ProviderError::BadCredentials(m) => ("bad_credentials", m.clone(), None),
        ProviderError::NotFound(m) => ("not_found", format!("not found: {m}"), None),
        ProviderError::Conflict(m) => ("conflict", format!("conflict: {m}"), None),
        ProviderError::RateLimited(r) => (
            "rate_limited",
            format!(
                "rate limited{}: {}",
                r.retry_after_secs
                    .map(|s| format!(" (retry after {s} s)"))
                    .unwrap_or_default(),
                r.message
            ),
            Some(429),
        ),
        ProviderError::Transient(m) => ("transient", m.clone(), None),
        ProviderError::InvalidInput(m) => ("invalid_input", format!("refused: {m}"), None),
        ProviderError::LimitReached(m) => ("limit_reached", m.clone(), None),
        ProviderError::Denied(m) => ("denied", format!("denied by the sandbox: {m}"), None),
        ProviderError::Unsupported(m) => ("unsupported", format!("not supported: {m}"), None),
        ProviderError::Api(e) => (
            "api",
            if e.status == 0 {
                e.message.clone()
            } else {
                format!("HTTP {}: {}", e.status, e.message)
            },
            (e.status != 0).then_some(e.status),
        ),
    };
    ErrorReport {
        kind: kind.to_string(),
        message,
        status,
    }
}

/// What the host refuses in a component's metadata, whatever the operator configures:
/// `http://` or IP-literal default hosts, and credentials in framing, hop-by-hop, host or
/// cookie headers.
fn check_metadata(metadata: &ProviderMetadata) -> Result<(), String> {
    AllowList::parse_component_defaults(&metadata.default_allowed_hosts)
        .map_err(|e| format!("default allowed hosts: {e}"))?;
    for scheme in &metadata.auth {
        if let crate::contract::AuthScheme::Header(h) = scheme {
            crate::sandbox::auth_header::check_auth_header_name(&h.header_name)?;
        }
    }
    Ok(())
}

/// The values that identify the panel resource: the declared account constants, or (for
/// providers that declare none) every non-secret value.
fn account_key(names: &[String], constants: &Constants) -> String {
    if names.is_empty() {
        return constants.account_key();
    }
    names
        .iter()
        .map(|n| format!("{n}={}", constants.value(n).unwrap_or("")))
        .collect::<Vec<_>>()
        .join("\n")
}
