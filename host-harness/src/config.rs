//! `domain-host.toml`: which integrations are enabled, their constants, their sandbox.
//!
//! ```toml
//! www = "always"            # always | main_only | never
//! components = "dir"        # optional: where <id>.wasm files are
//!
//! [integrations.serverpilot]
//! enabled = true
//! constants = { WU_SERVER_PILOT_CLIENT_ID = "cid_x", WU_SERVER_PILOT_APP_ID = "..." }
//! allowed_hosts = ["api.serverpilot.io"]                       # optional
//! routes = { "api.serverpilot.io" = "http://127.0.0.1:18081" }  # optional
//! ```
//!
//! Unknown keys and wrong types are errors that name the line and key, so a typo never
//! silently leaves a setting unused. Relative paths are relative to the config file.

use crate::domain::WwwPolicy;
use crate::runtime::retry::RetryPolicy;
use crate::sandbox::allow_list::{AllowList, Routes};
use crate::sandbox::constants::is_constant_name;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    #[serde(default)]
    pub www: WwwPolicy,
    pub components: Option<PathBuf>,
    /// Lock files and integration logs. Default: `$XDG_STATE_HOME/domain-host`.
    pub state_dir: Option<PathBuf>,
    /// Compiled components. Default: `$XDG_CACHE_HOME/domain-host`.
    pub cache_dir: Option<PathBuf>,
    /// Account locks. Default: `domain-host.locks` beside the config file, shared by every
    /// user (and every config in that folder) so their events exclude each other.
    pub lock_dir: Option<PathBuf>,
    /// The network's own domain: never pruned by `reconcile`.
    pub network_domain: Option<String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub integrations: BTreeMap<String, IntegrationConfig>,
    /// DNS and certificate checks of mapped domains (see `lifecycle::config`).
    pub lifecycle: Option<crate::lifecycle::config::LifecycleConfig>,
    /// `domain-host serve`: the HTTP API, its token and the stage callback.
    pub service: Option<ServiceConfig>,
    /// Where the queue, lifecycle and outbox live: absent, SQLite in `state_dir`; or a
    /// MySQL/MariaDB database several instances share.
    pub store: Option<StoreConfig>,
}

impl HostConfig {
    /// This process's name in `/healthz`, `/metrics` and the leases it takes in a shared
    /// store: `[service] instance`, else `hostname:pid`.
    pub fn instance(&self) -> String {
        if let Some(name) = self.service.as_ref().and_then(|s| s.instance.clone()) {
            return name;
        }
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length; the name is cut at its NUL.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let host = if ok {
            String::from_utf8_lossy(&buf[..end]).into_owned()
        } else {
            "localhost".to_string()
        };
        format!("{host}:{}", std::process::id())
    }
}

/// `[store]`: a MySQL 8 / MariaDB 10.6+ database shared by every `serve` instance and the
/// CLI.
///
/// ```toml
/// [store]
/// url_env = "DOMAIN_HOST_DATABASE_URL"   # mysql://user:password@host:3306/database
/// # or: url = "mysql://user@host:3306/database" and password_env = "DOMAIN_HOST_DATABASE_PASSWORD"
/// lease = "30s"      # an instance's claim on an event, check or delivery; renewed while working
/// timeout = "5s"     # one database call; then it is an error (the service says 503)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub password_env: Option<String>,
    #[serde(default = "d_30s", with = "duration_text")]
    pub lease: std::time::Duration,
    #[serde(default = "d_5s", with = "duration_text")]
    pub timeout: std::time::Duration,
}

impl StoreConfig {
    pub fn check(&self) -> Result<()> {
        match (&self.url, &self.url_env) {
            (Some(_), Some(_)) => bail!("store: set url or url_env, not both"),
            (None, None) => bail!(
                "store: set url_env (the environment variable holding mysql://user:password@host/database) or url"
            ),
            (Some(url), None) => {
                let authority = url
                    .strip_prefix("mysql://")
                    .ok_or_else(|| anyhow::anyhow!("store.url must start with mysql://"))?
                    .split('/')
                    .next()
                    .unwrap_or_default();
                if authority
                    .rsplit_once('@')
                    .is_some_and(|(user, _)| user.contains(':'))
                {
                    bail!(
                        "store.url must not hold the password (the config file is not a secret): put it in password_env, or the whole URL in url_env"
                    );
                }
            }
            _ => {}
        }
        for (key, name) in [
            ("url_env", &self.url_env),
            ("password_env", &self.password_env),
        ] {
            if let Some(name) = name
                && !is_constant_name(name)
            {
                bail!("store.{key}: {name:?} is not an environment variable name");
            }
        }
        if self.lease < std::time::Duration::from_secs(1) {
            bail!("store.lease must be at least 1s");
        }
        if self.timeout.is_zero() {
            bail!("store.timeout must be above 0");
        }
        Ok(())
    }

    /// The database URL and the password (when set apart), from the environment.
    pub fn url(&self) -> Result<(String, Option<String>)> {
        let url = match (&self.url, &self.url_env) {
            (Some(url), _) => url.clone(),
            (None, Some(name)) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
                _ => bail!("store.url_env: the environment variable {name} is not set"),
            },
            (None, None) => bail!("store: url is not set"),
        };
        let password = match &self.password_env {
            None => None,
            Some(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Some(v),
                _ => bail!("store.password_env: the environment variable {name} is not set"),
            },
        };
        Ok((url, password))
    }
}

/// `[service]`: what `domain-host serve` listens on, who may call it, and where stage
/// changes go.
///
/// ```toml
/// [service]
/// listen = "127.0.0.1:8787"
/// token_env = "DOMAIN_HOST_TOKEN"       # or token = "..." (one of them is required)
/// operator_token_env = "DOMAIN_HOST_OPERATOR_TOKEN"  # or operator_token: reconcile apply/prune, retry
/// metrics_token_env = "DOMAIN_HOST_METRICS_TOKEN"    # optional: /metrics (the operator token works too)
/// prune_max_share = 0.2         # a prune removing more of a panel's names needs force=true
/// callback_url = "https://network.example/wp-json/domain-host/v1/stage"   # optional
/// callback_secret_env = "DOMAIN_HOST_CALLBACK_SECRET"  # or callback_secret = "..."
/// workers = 16                  # events applied at once (never two of one domain)
/// event_threads = 1             # threads the events run on through the components
/// retry_interval = "5s"         # first wait after a transient failure, then doubling
/// retry_max_interval = "10m"
/// max_attempts = 10             # then the event is failed
/// shutdown_grace = "20s"        # SIGTERM: how long running events may finish
/// synchronous = "normal"        # or "full": an fsync per commit (survives power loss)
/// paused = false                # accept and queue, apply nothing (maintenance)
/// callback_concurrency = 4      # stage changes in flight at once
/// callback_max_attempts = 50    # then the change is dead (a dead letter)
/// callback_breaker_cooldown = "30s"  # pause after 5 failures in a row (5xx, timeouts)
/// events_retention = "30d"      # done and failed events are deleted after this
/// idempotency_ttl = "7d"        # an Idempotency-Key names its event this long
/// header_timeout = "10s"        # a request's headers must arrive within this
/// max_connections = 256         # connections open at once; more wait
/// instance = "web-1"            # this instance's name (default: hostname:pid)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    #[serde(default = "default_listen")]
    pub listen: std::net::SocketAddr,
    pub token: Option<String>,
    pub token_env: Option<String>,
    /// The operator's token: everything the event token may do, and reconcile with
    /// apply or prune, event retry, `/metrics`. Without it those calls are refused.
    pub operator_token: Option<String>,
    pub operator_token_env: Option<String>,
    /// May read `/metrics` only (a scraper's token).
    pub metrics_token: Option<String>,
    pub metrics_token_env: Option<String>,
    #[serde(default = "default_prune_max_share")]
    pub prune_max_share: f64,
    pub callback_url: Option<String>,
    pub callback_secret: Option<String>,
    pub callback_secret_env: Option<String>,
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Threads that run events through the components (see
    /// [`crate::runtime::executor`]): one keeps an event's guest, requests and connections
    /// on one thread, which is what a panel whose events run one at a time needs; more
    /// spread the CPU of many independent accounts.
    #[serde(default = "default_event_threads")]
    pub event_threads: usize,
    #[serde(default = "d_5s", with = "duration_text")]
    pub retry_interval: std::time::Duration,
    #[serde(default = "d_10m", with = "duration_text")]
    pub retry_max_interval: std::time::Duration,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "d_20s", with = "duration_text")]
    pub shutdown_grace: std::time::Duration,
    #[serde(default)]
    pub synchronous: Synchronous,
    #[serde(default)]
    pub paused: bool,
    #[serde(default = "default_callback_concurrency")]
    pub callback_concurrency: usize,
    #[serde(default = "default_callback_max_attempts")]
    pub callback_max_attempts: u32,
    #[serde(default = "d_30s", with = "duration_text")]
    pub callback_breaker_cooldown: std::time::Duration,
    #[serde(default = "d_30d", with = "duration_text")]
    pub events_retention: std::time::Duration,
    #[serde(default = "d_7d", with = "duration_text")]
    pub idempotency_ttl: std::time::Duration,
    #[serde(default = "d_10s", with = "duration_text")]
    pub header_timeout: std::time::Duration,
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// This instance's name in `/healthz`, `/metrics` and the leases it holds. Default:
    /// hostname and process id.
    pub instance: Option<String>,
}

/// How a commit reaches the disk (SQLite's `synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// A committed event survives the process being killed at any point.
    #[default]
    Normal,
    /// It survives a power loss too, at the cost of an fsync per commit.
    Full,
}

fn default_listen() -> std::net::SocketAddr {
    ([127, 0, 0, 1], 8787).into()
}
fn default_workers() -> usize {
    16
}
fn default_event_threads() -> usize {
    1
}
fn default_max_attempts() -> u32 {
    10
}
fn default_prune_max_share() -> f64 {
    0.2
}
fn default_callback_concurrency() -> usize {
    4
}
fn default_callback_max_attempts() -> u32 {
    50
}
fn default_max_connections() -> usize {
    256
}
fn d_10s() -> std::time::Duration {
    std::time::Duration::from_secs(10)
}
fn d_30s() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}
fn d_7d() -> std::time::Duration {
    std::time::Duration::from_secs(7 * 86_400)
}
fn d_30d() -> std::time::Duration {
    std::time::Duration::from_secs(30 * 86_400)
}
fn d_5s() -> std::time::Duration {
    std::time::Duration::from_secs(5)
}
fn d_10m() -> std::time::Duration {
    std::time::Duration::from_secs(600)
}
fn d_20s() -> std::time::Duration {
    std::time::Duration::from_secs(20)
}

/// `"200ms"`, `"5s"`, `"10m"`, as operators write durations.
mod duration_text {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration like \"500ms\", \"5s\", \"10m\": {e}"
            ))
        })
    }
}

impl ServiceConfig {
    /// Refuses settings that cannot work, naming the key.
    pub fn check(&self) -> Result<()> {
        match (&self.token, &self.token_env) {
            (Some(_), Some(_)) => bail!("service: set token or token_env, not both"),
            (None, None) => bail!(
                "service: a token is required: set token_env (the environment variable holding it) or token"
            ),
            _ => {}
        }
        for (key, value, env) in [
            (
                "operator_token",
                &self.operator_token,
                &self.operator_token_env,
            ),
            (
                "metrics_token",
                &self.metrics_token,
                &self.metrics_token_env,
            ),
        ] {
            match (value, env) {
                (Some(_), Some(_)) => bail!("service: set {key} or {key}_env, not both"),
                (Some(t), None) if t.trim().chars().count() < MIN_SECRET_CHARS => {
                    bail!("service.{key} must be at least {MIN_SECRET_CHARS} characters")
                }
                _ => {}
            }
        }
        for (key, name) in [
            ("token_env", &self.token_env),
            ("operator_token_env", &self.operator_token_env),
            ("metrics_token_env", &self.metrics_token_env),
            ("callback_secret_env", &self.callback_secret_env),
        ] {
            if let Some(name) = name
                && !is_constant_name(name)
            {
                bail!("service.{key}: {name:?} is not an environment variable name");
            }
        }
        if self.callback_secret.is_some() && self.callback_secret_env.is_some() {
            bail!("service: set callback_secret or callback_secret_env, not both");
        }
        // Values written in the file are checked now; those in the environment when the
        // service reads them at start.
        if self.token.is_some() {
            self.token()?;
        }
        if self.callback_secret.is_some() {
            self.callback_secret()?;
        }
        if let Some(url) = &self.callback_url {
            let uri: http::Uri = url
                .parse()
                .map_err(|_| anyhow::anyhow!("service.callback_url: {url:?} is not a URL"))?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
                bail!("service.callback_url: {url:?} must be an http:// or https:// URL");
            }
            // A stage callback names the domain and what the checks found, signed with a
            // key a captured one would let anyone brute-force: plain HTTP stays on this
            // machine (security review F15).
            if uri.scheme_str() == Some("http")
                && !uri
                    .host()
                    .is_some_and(crate::sandbox::egress::is_loopback_host)
            {
                bail!(
                    "service.callback_url: {url:?} is plain http:// to a host that is not \
                     loopback; use https://"
                );
            }
            if self.callback_secret.is_none() && self.callback_secret_env.is_none() {
                bail!(
                    "service: callback_url needs callback_secret or callback_secret_env (the HMAC key the receiver verifies)"
                );
            }
        }
        if self.workers == 0 {
            bail!("service.workers must be greater than 0");
        }
        if self.event_threads == 0 || self.event_threads > 64 {
            bail!("service.event_threads must be between 1 and 64");
        }
        if self.max_attempts == 0 {
            bail!("service.max_attempts must be greater than 0");
        }
        if self.retry_interval.is_zero() || self.retry_max_interval < self.retry_interval {
            bail!("service: retry_interval must be above 0 and at most retry_max_interval");
        }
        if !(self.prune_max_share > 0.0 && self.prune_max_share <= 1.0) {
            bail!("service.prune_max_share must be above 0 and at most 1 (0.2: a fifth)");
        }
        if self.callback_concurrency == 0 || self.callback_concurrency > 64 {
            bail!("service.callback_concurrency must be 1 to 64");
        }
        if self.callback_max_attempts == 0 {
            bail!("service.callback_max_attempts must be greater than 0");
        }
        if self.max_connections == 0 {
            bail!("service.max_connections must be greater than 0");
        }
        for (key, value) in [
            ("events_retention", self.events_retention),
            ("idempotency_ttl", self.idempotency_ttl),
            ("header_timeout", self.header_timeout),
            ("callback_breaker_cooldown", self.callback_breaker_cooldown),
        ] {
            if value.is_zero() {
                bail!("service.{key} must be above 0");
            }
        }
        Ok(())
    }

    /// The operator's token, when one is configured.
    pub fn operator_token(&self) -> Result<Option<String>> {
        optional_secret(
            "operator_token",
            &self.operator_token,
            &self.operator_token_env,
        )
    }

    /// The metrics scraper's token, when one is configured.
    pub fn metrics_token(&self) -> Result<Option<String>> {
        optional_secret(
            "metrics_token",
            &self.metrics_token,
            &self.metrics_token_env,
        )
    }

    /// The bearer token: from the named environment variable, or the file.
    pub fn token(&self) -> Result<String> {
        secret_value("token", &self.token, &self.token_env)
    }

    /// The callback's HMAC key, when a callback is configured.
    pub fn callback_secret(&self) -> Result<Option<String>> {
        if self.callback_secret.is_none() && self.callback_secret_env.is_none() {
            return Ok(None);
        }
        secret_value(
            "callback_secret",
            &self.callback_secret,
            &self.callback_secret_env,
        )
        .map(Some)
    }
}

fn optional_secret(
    key: &str,
    value: &Option<String>,
    env: &Option<String>,
) -> Result<Option<String>> {
    if value.is_none() && env.is_none() {
        return Ok(None);
    }
    secret_value(key, value, env).map(Some)
}

/// Shortest service token or callback secret accepted: a captured callback must not let
/// anyone brute-force the key offline, nor a guess the token.
pub const MIN_SECRET_CHARS: usize = 32;

/// A service secret, trimmed (an env file's trailing space or newline would otherwise make
/// the token never match), and refused when shorter than [`MIN_SECRET_CHARS`]. The error
/// names where the value came from and its length, never the value.
fn secret_value(key: &str, value: &Option<String>, env: &Option<String>) -> Result<String> {
    let (value, from) = match (value, env) {
        (Some(v), _) => (v.trim().to_string(), format!("service.{key}")),
        (None, Some(name)) => match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => (
                v.trim().to_string(),
                format!("service.{key}_env: the environment variable {name}"),
            ),
            _ => bail!("service.{key}_env: the environment variable {name} is not set"),
        },
        (None, None) => bail!("service: {key} is not set"),
    };
    let chars = value.chars().count();
    if chars < MIN_SECRET_CHARS {
        bail!(
            "{from} holds {chars} characters; it must be at least {MIN_SECRET_CHARS} random \
             characters (for example `openssl rand -hex 32`)"
        );
    }
    Ok(value)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    #[serde(default)]
    pub enabled: bool,
    pub component: Option<PathBuf>,
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    pub allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// Environment variables this integration may read, by the constant they hold
    /// (`WU_SERVER_PILOT_API_KEY`). Their values are always secret.
    #[serde(default)]
    pub env: Vec<String>,
    /// Constants the operator marks secret, whatever the component says.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Private, loopback or link-local networks (CIDR) an allowed host name may resolve
    /// to, for panels on a LAN (`["10.0.0.0/24"]`). Without it such names are refused.
    #[serde(default)]
    pub allow_private: Vec<String>,
    /// PEM file of certificates to trust for this panel's HTTPS besides the public roots
    /// (a self-hosted panel's own certificate or CA).
    pub ca_file: Option<PathBuf>,
    /// Overrides the provider's certificate attempts (the lifecycle's compatible mode).
    pub ssl_verification_attempts: Option<u32>,
    /// Lets the component put secret placeholders in the query string (Closte's API takes
    /// its key there). Off by default: header values and the body only, since servers
    /// echo URLs in redirects and error pages and write them to their logs.
    #[serde(default)]
    pub secrets_in_query: bool,
}

/// The sandbox around every component call.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory a component may use.
    pub memory_mb: u64,
    /// Guest CPU time per call (host waits, such as HTTP, do not count).
    pub cpu_ms: u64,
    /// Wall time per call, HTTP included.
    pub call_timeout_secs: u64,
    /// Ceiling for each request's connect / first-byte / between-bytes timeout.
    pub request_timeout_secs: u64,
    /// Largest response body a component may receive.
    pub max_response_bytes: u64,
    /// How long an event waits for another process working on the same account.
    pub lock_wait_secs: u64,
    /// Requests one call may make in all; beyond it they are denied.
    pub max_requests_per_call: u32,
    /// Requests one call may have in flight at once; beyond it they are denied.
    pub max_requests_in_flight: u32,
    /// Lines a component may log per event (the host's own lines are always kept).
    pub max_log_lines: u32,
    /// Largest request body the host holds to substitute secret placeholders.
    pub max_request_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: 64,
            cpu_ms: 5_000,
            call_timeout_secs: 120,
            request_timeout_secs: 30,
            max_response_bytes: 4 * 1024 * 1024,
            lock_wait_secs: 300,
            max_requests_per_call: 256,
            max_requests_in_flight: 8,
            max_log_lines: 200,
            max_request_bytes: 1024 * 1024,
        }
    }
}

/// A parsed config and the folder its relative paths start from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: HostConfig,
    pub path: PathBuf,
    base: PathBuf,
}

impl LoadedConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let config: HostConfig = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!("config file {}: {}", path.display(), safe_error(&e, text))
        })?;
        for (id, integration) in &config.integrations {
            check_names(id, integration)
                .with_context(|| format!("config file {}", path.display()))?;
        }
        for (id, integration) in &config.integrations {
            validate_integration(id, integration)
                .with_context(|| format!("config file {}", path.display()))?;
        }
        check_limits(&config.limits).with_context(|| format!("config file {}", path.display()))?;
        if let Some(lifecycle) = &config.lifecycle {
            lifecycle
                .check()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        if let Some(store) = &config.store {
            store
                .check()
                .with_context(|| format!("config file {}", path.display()))?;
        }
        if let Some(service) = &config.service {
            if let Some(instance) = &service.instance
                && (instance.is_empty()
                    || instance.len() > 200
                    || !instance
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
            {
                bail!(
                    "config file {}: service.instance must be 1 to 200 letters, digits, '-', '_', '.' or ':'",
                    path.display()
                );
            }
            service
                .check()
                .with_context(|| format!("config file {}", path.display()))?;
            // Stage changes come from the lifecycle: without it the callback would never
            // be called, silently.
            if service.callback_url.is_some() && config.lifecycle.is_none() {
                bail!(
                    "config file {}: service.callback_url is set but there is no [lifecycle] table: stage changes come from the lifecycle's checks, so nothing would ever be sent; add [lifecycle] (at least targets) or remove callback_url",
                    path.display()
                );
            }
        }
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(LoadedConfig {
            config,
            path: path.to_path_buf(),
            base,
        })
    }

    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// Lock files and logs: `state_dir`, else `$XDG_STATE_HOME/domain-host`,
    /// else `~/.local/state/domain-host`. Never a shared temporary directory.
    pub fn state_dir(&self) -> Result<PathBuf> {
        match &self.config.state_dir {
            Some(dir) => Ok(self.resolve(dir)),
            None => xdg_dir("XDG_STATE_HOME", ".local/state", "state_dir"),
        }
    }

    /// Compiled components: `cache_dir`, else `$XDG_CACHE_HOME/domain-host`, else
    /// `~/.cache/domain-host`.
    pub fn cache_dir(&self) -> Result<PathBuf> {
        match &self.config.cache_dir {
            Some(dir) => Ok(self.resolve(dir)),
            None => xdg_dir("XDG_CACHE_HOME", ".cache", "cache_dir"),
        }
    }

    /// Account locks: `lock_dir`, else `domain-host.locks` beside the config file.
    pub fn lock_dir(&self) -> PathBuf {
        match &self.config.lock_dir {
            Some(dir) => self.resolve(dir),
            None => self.base.join("domain-host.locks"),
        }
    }

    /// Where an integration's component is: its `component` key, else `<id>.wasm` in the
    /// first components folder that has it.
    pub fn component_path(&self, id: &str) -> Result<PathBuf> {
        if let Some(file) = self
            .config
            .integrations
            .get(id)
            .and_then(|i| i.component.as_ref())
        {
            let path = self.resolve(file);
            if !path.is_file() {
                bail!(
                    "integrations.{id}.component: no such file {} (config file {})",
                    path.display(),
                    self.path.display()
                );
            }
            return Ok(path);
        }
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf));
        let dirs = self.component_dirs(exe_dir.as_deref());
        if let Some(found) = find_component(&dirs, id) {
            return Ok(found);
        }
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        bail!(
            "integrations.{id}: unknown integration: no component {id}.wasm found (looked in {}). \
             Build the components (scripts/build-components.sh) or set `component`.",
            looked.join(", ")
        )
    }

    /// The configured folder, then `$DOMAIN_HOST_COMPONENTS`, then the folders a build of
    /// this repository puts components in, relative to the executable in `exe_dir`, then
    /// where the Debian package installs them (`../lib/domain-host/components` beside the
    /// executable, and `/usr/lib/domain-host/components`).
    fn component_dirs(&self, exe_dir: Option<&Path>) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(dir) = &self.config.components {
            dirs.push(self.resolve(dir));
        }
        if let Some(dir) = std::env::var_os("DOMAIN_HOST_COMPONENTS") {
            dirs.push(PathBuf::from(dir));
        }
        if let Some(exe_dir) = exe_dir {
            // target/<profile>/domain-host (or target/<profile>/deps/<test> in tests).
            for up in [exe_dir.join(".."), exe_dir.join("../..")] {
                dirs.push(up.join("wasm32-wasip2/component"));
                dirs.push(up.join("wasm32-wasip2/release"));
            }
            dirs.push(exe_dir.join("components"));
            // An installed <prefix>/bin/domain-host.
            dirs.push(exe_dir.join("../lib/domain-host/components"));
        }
        dirs.push(PathBuf::from(INSTALLED_COMPONENTS));
        dirs.push(PathBuf::from("components"));
        dirs
    }
}

/// Where the Debian package puts the components (`scripts/package.sh`).
const INSTALLED_COMPONENTS: &str = "/usr/lib/domain-host/components";

/// `<id>.wasm` (or with `_` for `-`) in the first of `dirs` that has it.
fn find_component(dirs: &[PathBuf], id: &str) -> Option<PathBuf> {
    let names = [
        format!("{id}.wasm"),
        format!("{}.wasm", id.replace('-', "_")),
    ];
    dirs.iter()
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .map(|candidate| candidate.canonicalize().unwrap_or(candidate))
}

fn validate_integration(id: &str, integration: &IntegrationConfig) -> Result<()> {
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !id_ok {
        bail!("[integrations.{id}]: an integration id is lower-case letters, digits, '-' or '_'");
    }
    if let Some(hosts) = &integration.allowed_hosts {
        AllowList::parse(hosts)
            .map_err(|e| anyhow::anyhow!("integrations.{id}.allowed_hosts: {e}"))?;
    }
    Routes::parse(&integration.routes)
        .map_err(|e| anyhow::anyhow!("integrations.{id}.routes: {e}"))?;
    Ok(())
}

fn check_limits(limits: &Limits) -> Result<()> {
    let zero = [
        ("memory_mb", limits.memory_mb),
        ("cpu_ms", limits.cpu_ms),
        ("call_timeout_secs", limits.call_timeout_secs),
        ("request_timeout_secs", limits.request_timeout_secs),
        ("max_response_bytes", limits.max_response_bytes),
        (
            "max_requests_per_call",
            u64::from(limits.max_requests_per_call),
        ),
        (
            "max_requests_in_flight",
            u64::from(limits.max_requests_in_flight),
        ),
    ]
    .into_iter()
    .find(|(_, v)| *v == 0);
    if let Some((key, _)) = zero {
        bail!("limits.{key} must be greater than 0");
    }
    Ok(())
}

/// A per-user directory from the XDG variable or `HOME`. Without either (PHP-FPM and cron
/// often clear them) the operator must say where: falling back to a shared temporary
/// directory would let other local users plant files there.
fn xdg_dir(var: &str, fallback: &str, key: &str) -> Result<PathBuf> {
    let base = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(fallback))
        });
    match base {
        Some(base) => Ok(base.join("domain-host")),
        None => bail!(
            "neither {var} nor HOME is set, so there is no per-user directory for domain-host's \
             files: set `{key}` in the config file"
        ),
    }
}

/// Environment and secret names are constant names: refused early when they cannot be.
fn check_names(id: &str, integration: &IntegrationConfig) -> Result<()> {
    for (key, names) in [("env", &integration.env), ("secrets", &integration.secrets)] {
        if let Some(bad) = names.iter().find(|n| !is_constant_name(n)) {
            bail!(
                "integrations.{id}.{key}: {bad:?} is not a constant name (letters, digits and '_')"
            );
        }
    }
    for cidr in &integration.allow_private {
        cidr.parse::<ipnet::IpNet>()
            .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                anyhow::anyhow!(
                    "integrations.{id}.allow_private: {cidr:?} is not an address or network (10.0.0.0/24)"
                )
            })?;
    }
    Ok(())
}

/// The parse error, without the offending line: the line may hold a secret, and values the
/// message quotes from the constants tables are replaced too.
fn safe_error(error: &toml::de::Error, text: &str) -> String {
    let mut message = error.message().trim().to_string();
    for value in sensitive_values(text) {
        message = message.replace(&value, crate::sandbox::redaction::REDACTED);
    }
    let message = message.lines().collect::<Vec<_>>().join("; ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before.len() - line_start + 1;
            // The key is safe to show; the value after `=` is not.
            let key = text[line_start..]
                .lines()
                .next()
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !k.starts_with('['))
                .map(|k| format!(" (key `{k}`)"))
                .unwrap_or_default();
            format!("line {line}, column {column}{key}: {message}")
        }
        None => message,
    }
}

/// Values under `constants` tables and secret-like keys, as the parser may quote them.
fn sensitive_values(text: &str) -> Vec<String> {
    fn walk(value: &toml::Value, sensitive: bool, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, v) in table {
                    let key_is_secret = key == "constants"
                        || key.contains("token")
                        || key.contains("secret")
                        || key.contains("password");
                    walk(v, sensitive || key_is_secret, out);
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| walk(v, sensitive, out)),
            toml::Value::String(s) if sensitive => out.push(s.clone()),
            other if sensitive => out.push(other.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        walk(&toml::Value::Table(table), false, &mut out);
    }
    out.retain(|v| v.len() >= 4);
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedConfig> {
        LoadedConfig::parse(text, Path::new("/etc/dh/domain-host.toml"))
    }

    fn error(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn parses_the_documented_shape() {
        let c = parse(
            r#"
            www = "main_only"
            components = "wasm"
            [integrations.serverpilot]
            enabled = true
            component = "sp.wasm"
            constants = { WU_SERVER_PILOT_CLIENT_ID = "cid_x", WU_SERVER_PILOT_APP_ID = "app" }
            allowed_hosts = ["api.serverpilot.io"]
            routes = { "api.serverpilot.io" = "http://127.0.0.1:18081" }
            "#,
        )
        .unwrap();
        assert_eq!(c.config.www, WwwPolicy::MainOnly);
        let sp = &c.config.integrations["serverpilot"];
        assert!(sp.enabled);
        assert_eq!(sp.constants["WU_SERVER_PILOT_APP_ID"], "app");
        assert_eq!(
            c.resolve(sp.component.as_ref().unwrap()),
            PathBuf::from("/etc/dh/sp.wasm")
        );
    }

    #[test]
    fn integrations_are_disabled_unless_enabled() {
        let c = parse("[integrations.serverpilot]\n").unwrap();
        assert!(!c.config.integrations["serverpilot"].enabled);
    }

    #[test]
    fn parse_errors_never_echo_a_secret() {
        let e = error("[integrations.x]\nconstants = { KEY = \"s3cret-value-1\" \n");
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains("s3cret-value-1"), "{e}");
        let e = error("[integrations.x]\nconstants = { KEY = 424242424242 }\n");
        assert!(!e.contains("424242424242"), "{e}");
        let e = error(
            "[integrations.x]\nenabled = \"s3cret-in-the-wrong-place\"\nconstants = { K = \"s3cret-in-the-wrong-place\" }\n",
        );
        assert!(!e.contains("s3cret-in-the-wrong-place"), "{e}");
    }

    #[test]
    fn env_and_secret_names_must_be_constant_names() {
        let e = error("[integrations.x]\nenv = [\"PATH;rm\"]\n");
        assert!(e.contains("integrations.x.env"), "{e}");
        let e = error("[integrations.x]\nallow_private = [\"10.0.0.0/33\"]\n");
        assert!(e.contains("integrations.x.allow_private"), "{e}");
        assert!(
            parse(
                "[integrations.x]\nenv = [\"WU_X\"]\nallow_private = [\"10.0.0.5\", \"fd00::/8\"]\n"
            )
            .is_ok()
        );
    }

    #[test]
    fn bad_toml_names_the_line() {
        let e = error("www = \"always\"\n[integrations.serverpilot\nenabled = true\n");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key_and_line() {
        let e = error("[integrations.serverpilot]\nenabled = \"yes\"\n");
        assert!(e.contains("line 2") && e.contains("enabled"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = error("[integrations.serverpilot]\nenabeld = true\n");
        assert!(e.contains("enabeld") && e.contains("line 2"), "{e}");
        let e = error("wwww = \"always\"\n");
        assert!(e.contains("wwww"), "{e}");
    }

    #[test]
    fn bad_www_value_is_refused() {
        let e = error("www = \"sometimes\"\n");
        assert!(e.contains("sometimes") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn bad_allowed_hosts_and_routes_name_the_integration() {
        let e = error("[integrations.serverpilot]\nallowed_hosts = [\"*\"]\n");
        assert!(e.contains("integrations.serverpilot.allowed_hosts"), "{e}");
        let e = error(
            "[integrations.serverpilot]\nroutes = { \"api.serverpilot.io\" = \"127.0.0.1:1\" }\n",
        );
        assert!(e.contains("integrations.serverpilot.routes"), "{e}");
    }

    #[test]
    fn bad_integration_ids_are_refused() {
        let e = error("[integrations.\"Server Pilot\"]\n");
        assert!(e.contains("Server Pilot"), "{e}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let e = error("[limits]\nmemory_mb = 0\n");
        assert!(e.contains("limits.memory_mb"), "{e}");
    }

    #[test]
    fn the_service_table_needs_a_token_and_a_signed_callback() {
        let e = error("[service]\nlisten = \"127.0.0.1:9000\"\n");
        assert!(e.contains("token"), "{e}");
        let e =
            error("[service]\ntoken_env = \"TOKEN\"\ncallback_url = \"https://x.example/cb\"\n");
        assert!(e.contains("callback_secret"), "{e}");
        let e = error(
            "[service]\ntoken_env = \"TOKEN\"\ncallback_url = \"ftp://x\"\ncallback_secret_env = \"K\"\n",
        );
        assert!(e.contains("callback_url"), "{e}");
        let e = error("[service]\ntoken_env = \"TOKEN\"\nlisten_on = \"x\"\n");
        assert!(e.contains("listen_on"), "{e}");
        let e = error("[service]\ntoken = \"short-s3cret\"\n");
        assert!(e.contains("32") && !e.contains("short-s3cret"), "{e}");
        // Whitespace does not count: 31 characters and spaces are too short.
        let e = error(&format!(
            "[service]\ntoken_env = \"T\"\ncallback_secret = \"  {}  \"\n",
            "c".repeat(31)
        ));
        assert!(
            e.contains("service.callback_secret holds 31 characters") && !e.contains("ccc"),
            "{e}"
        );
        let e = error(
            "[service]\ntoken_env = \"DH_TOKEN\"\ncallback_url = \"http://127.0.0.1:1/cb\"\ncallback_secret_env = \"DH_CB\"\n",
        );
        assert!(
            e.contains("[lifecycle]") && e.contains("callback_url"),
            "{e}"
        );
        let e = error("[service]\ntoken_env = \"T\"\noperator_token = \"short\"\n");
        assert!(
            e.contains("operator_token") && !e.contains("short\""),
            "{e}"
        );
        let e = error("[service]\ntoken_env = \"T\"\nprune_max_share = 0.0\n");
        assert!(e.contains("prune_max_share"), "{e}");
        let c = parse(
            "[lifecycle]\ntargets = [\"127.0.0.1\"]\n[service]\ntoken_env = \"DH_TOKEN\"\ncallback_url = \"http://127.0.0.1:1/cb\"\ncallback_secret_env = \"DH_CB\"\nretry_interval = \"200ms\"\n",
        )
        .unwrap();
        let s = c.config.service.unwrap();
        assert_eq!(s.listen, "127.0.0.1:8787".parse().unwrap());
        assert_eq!(s.retry_interval, std::time::Duration::from_millis(200));
        assert_eq!(s.workers, 16);
        assert_eq!(s.event_threads, 1);
        let e = error("[service]\ntoken_env = \"T\"\nevent_threads = 0\n");
        assert!(e.contains("event_threads"), "{e}");
    }

    #[test]
    fn callbacks_go_over_https_or_stay_on_this_machine_and_need_a_lifecycle() {
        let table = |url: &str| {
            format!(
                "[service]\ntoken_env = \"T\"\ncallback_url = \"{url}\"\ncallback_secret_env = \"K\"\n\
                 [lifecycle]\ntargets = [\"192.0.2.1\"]\n"
            )
        };
        for url in ["http://network.example/cb", "http://10.0.0.5:8080/cb"] {
            let e = error(&table(url));
            assert!(e.contains("plain http://") && e.contains("https://"), "{e}");
        }
        for url in [
            "https://network.example/cb",
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]:1/cb",
        ] {
            assert!(parse(&table(url)).is_ok(), "{url}");
        }
        let e = error(
            "[service]\ntoken_env = \"T\"\ncallback_url = \"https://n.example/cb\"\ncallback_secret_env = \"K\"\n",
        );
        assert!(e.contains("no [lifecycle]"), "{e}");
    }

    #[test]
    fn service_secrets_from_the_environment_are_trimmed_and_long_enough() {
        let c = parse(
            "[service]\ntoken_env = \"DH_F12_TOKEN\"\ncallback_url = \"https://x.example/cb\"\n\
             callback_secret_env = \"DH_F12_CB\"\n[lifecycle]\ntargets = [\"192.0.2.1\"]\n",
        )
        .unwrap();
        let s = c.config.service.unwrap();
        let long = "t".repeat(40);
        // SAFETY: these variables are this test's own; nothing else reads them.
        unsafe {
            std::env::set_var("DH_F12_TOKEN", format!("{long} \n"));
            std::env::set_var("DH_F12_CB", "x");
        }
        assert_eq!(s.token().unwrap(), long, "trimmed");
        let e = format!("{:#}", s.callback_secret().unwrap_err());
        assert!(
            e.contains("environment variable DH_F12_CB holds 1 characters")
                && e.contains("at least 32"),
            "{e}"
        );
    }

    #[test]
    fn missing_component_file_is_named() {
        let c = parse("[integrations.serverpilot]\ncomponent = \"nope.wasm\"\n").unwrap();
        let e = format!("{:#}", c.component_path("serverpilot").unwrap_err());
        assert!(
            e.contains("integrations.serverpilot.component") && e.contains("/etc/dh/nope.wasm"),
            "{e}"
        );
    }

    #[test]
    fn installed_components_are_found_beside_the_executable_and_in_usr_lib() {
        let c = parse("[integrations.laravel-forge]\nenabled = true\n").unwrap();
        let root = std::env::temp_dir().join(format!("dh-installed-{}", std::process::id()));
        let installed = root.join("lib/domain-host/components");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(&installed).unwrap();
        std::fs::write(installed.join("laravel_forge.wasm"), b"\0asm").unwrap();
        let dirs = c.component_dirs(Some(&root.join("bin")));
        assert!(
            dirs.contains(&PathBuf::from("/usr/lib/domain-host/components")),
            "{dirs:?}"
        );
        let found = find_component(&dirs, "laravel-forge");
        let expected = installed.join("laravel_forge.wasm").canonicalize().unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, Some(expected));
    }

    #[test]
    fn a_configured_components_folder_comes_first() {
        let c = parse("components = \"wasm\"\n").unwrap();
        let dirs = c.component_dirs(Some(Path::new("/usr/bin")));
        assert_eq!(dirs[0], PathBuf::from("/etc/dh/wasm"));
        assert!(dirs.contains(&PathBuf::from("/usr/bin/../lib/domain-host/components")));
    }

    #[test]
    fn unknown_integration_is_named() {
        let c =
            parse("components = \"/nonexistent\"\n[integrations.nosuchpanel]\nenabled = true\n")
                .unwrap();
        let e = format!("{:#}", c.component_path("nosuchpanel").unwrap_err());
        assert!(
            e.contains("unknown integration") && e.contains("nosuchpanel.wasm"),
            "{e}"
        );
    }
}
