//! The commands of `domain-host`, independent of argument parsing.

use crate::config::LoadedConfig;
use crate::contract::{Capabilities, DomainEvent};
use crate::dispatch::{Network, Selection};
use crate::domain::{self, wants_www};
use crate::lifecycle;
use crate::reconcile;
use crate::runtime::host::Integration;
use crate::runtime::operation::Operation;
use crate::runtime::report::{EventReport, IntegrationReport};
use crate::sandbox::approvals::{self, Verdict};
use crate::sandbox::constants::Source;
use crate::sandbox::logs::Level;
use crate::sandbox::redaction::Secrets;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Exit statuses: 0 all integrations succeeded, 1 at least one failed, 2 the command
/// itself could not run (bad config, bad domain).
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Clone)]
pub enum Command {
    List,
    /// Pin what the integrations' components ask for now (all, or one).
    Approve {
        id: Option<String>,
    },
    Test {
        id: Option<String>,
    },
    AddDomain {
        domain: String,
        site: u64,
    },
    RemoveDomain {
        domain: String,
        site: u64,
        /// `www.<domain>` is mapped as a domain of its own (it stays).
        www_mapped: bool,
    },
    AddSubdomain {
        host: String,
        site: u64,
    },
    RemoveSubdomain {
        host: String,
        site: u64,
    },
    ListDomains {
        id: Option<String>,
    },
    RequestCertificate {
        domain: String,
        site: u64,
    },
    CertificateStatus {
        domain: String,
        site: u64,
    },
    DnsRequirements {
        domain: String,
        site: u64,
    },
    Reconcile {
        wanted: std::path::PathBuf,
        apply: bool,
        prune: bool,
        /// See [`reconcile::Mode::force`].
        force: bool,
    },
    /// The lifecycle's view: all domains, or one with its names, checks and diagnosis.
    Status {
        domain: Option<String>,
    },
    /// Check a domain now (resetting its backoff); `wait`: until done or failed; `due`:
    /// every domain whose check is due.
    Verify {
        domain: Option<String>,
        wait: bool,
        due: bool,
        timeout: std::time::Duration,
    },
}

pub struct Options {
    pub config: std::path::PathBuf,
    pub json: bool,
    pub log_level: Option<Level>,
}

/// Runs a command and prints its report. Returns the process exit status.
pub async fn run(options: &Options, command: Command) -> i32 {
    // Every text printed passes through the secrets of every integration, whatever path
    // produced it.
    let secrets = Secrets::default();
    match execute(options, command, &secrets).await {
        Ok(Output::Event(report)) => {
            print_out(options.json, &secrets, &report, || report.render_text());
            if report.ok { 0 } else { EXIT_FAILED }
        }
        Ok(Output::List(list)) => {
            print_out(options.json, &secrets, &list, || render_list(&list));
            0
        }
        Ok(Output::Approved(list)) => {
            let ok = list.iter().all(|a| a.error.is_none());
            print_out(options.json, &secrets, &list, || render_approved(&list));
            if ok { 0 } else { EXIT_FAILED }
        }
        Ok(Output::Status(list, one, service)) => {
            let text = || {
                let mut text = list
                    .iter()
                    .map(lifecycle::Status::render)
                    .collect::<String>();
                if let Some(line) = &service {
                    text.push_str(line);
                }
                text
            };
            if one {
                print_out(options.json, &secrets, &list[0], text);
            } else {
                print_out(options.json, &secrets, &list, text);
            }
            if list.iter().all(|s| s.stage == "done") {
                0
            } else if one {
                EXIT_FAILED
            } else {
                0
            }
        }
        Ok(Output::Reconciled(report)) => {
            print_out(options.json, &secrets, &report, || {
                reconcile::render(&report)
            });
            if report.in_sync { 0 } else { EXIT_FAILED }
        }
        Err(e) => {
            let message = secrets.redact(&format!("{e:#}"));
            if options.json {
                let body = serde_json::json!({ "ok": false, "error": message });
                println!("{body}");
            } else {
                eprintln!("domain-host: {message}");
            }
            EXIT_USAGE
        }
    }
}

fn print_out<T: Serialize>(
    json: bool,
    secrets: &Secrets,
    value: &T,
    text: impl FnOnce() -> String,
) {
    let out = if json {
        serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
    } else {
        text()
    };
    print!("{}", secrets.redact(&out));
}

enum Output {
    Event(EventReport),
    List(Vec<ListEntry>),
    Approved(Vec<ApprovalEntry>),
    Reconciled(reconcile::ReconcileReport),
    /// Lifecycle statuses; `true` when one domain was asked for; the service's queue
    /// (blocked events, dead stage changes) when it has something to say.
    Status(Vec<lifecycle::Status>, bool, Option<String>),
}

/// Registers the values the operator's config makes secret before anything is loaded:
/// the named environment variables and the constants marked secret.
pub fn register_operator_secrets(config: &LoadedConfig, secrets: &Secrets) {
    // The shared store's URL holds its password (or password_env does).
    if let Some(store) = &config.config.store
        && let Ok((url, password)) = store.url()
    {
        if let Some((user, _)) = url
            .strip_prefix("mysql://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|authority| authority.rsplit_once('@'))
            && let Some((_, pass)) = user.split_once(':')
            && !pass.is_empty()
        {
            secrets.add(pass);
        }
        secrets.add(&url);
        if let Some(password) = password {
            secrets.add(&password);
        }
    }
    for integration in config.config.integrations.values() {
        for name in &integration.env {
            if let Ok(value) = std::env::var(name) {
                secrets.add(&value);
            }
        }
        for name in &integration.secrets {
            if let Some(value) = integration.constants.get(name) {
                secrets.add(value);
            }
        }
    }
    if let Some(service) = &config.config.service {
        if let Ok(token) = service.token() {
            secrets.add(&token);
        }
        for token in [service.operator_token(), service.metrics_token()] {
            if let Ok(Some(token)) = token {
                secrets.add(&token);
            }
        }
        if let Ok(Some(key)) = service.callback_secret() {
            secrets.add(&key);
        }
    }
}

/// The event for a name as given (command line or service): validated and normalised,
/// with the network's `www.` policy for it. Bad input is refused before anything runs.
pub fn domain_event(config: &LoadedConfig, name: &str, site: u64) -> Result<DomainEvent> {
    let name = domain::normalize(name, true)?;
    // Subdomain sites get what the policy says for the full host too (DNS panels add
    // `www.` records for them as the PHP plugin does; app panels ignore it).
    let www = wants_www(config.config.www, &name);
    Ok(DomainEvent {
        domain: name,
        site_id: site,
        www,
        attempt: 1,
    })
}

/// The event for a removed mapped domain: `www.<domain>` goes with it only when the policy
/// wants one and, as the event says, it is not mapped as a domain of its own (review #9;
/// [`Network::event`] also asks the lifecycle store).
pub fn remove_domain_event(
    config: &LoadedConfig,
    name: &str,
    site: u64,
    www_mapped: bool,
) -> Result<DomainEvent> {
    let mut event = domain_event(config, name, site)?;
    event.www = domain::www_on_remove(config.config.www, &event.domain, www_mapped);
    Ok(event)
}

/// A wildcard name is refused when an enabled integration cannot serve one.
pub fn check_wildcards(event: &DomainEvent, loaded: &[std::sync::Arc<Integration>]) -> Result<()> {
    if event.domain.starts_with("*.")
        && let Some(i) = loaded
            .iter()
            .find(|i| !i.metadata.capabilities.contains(Capabilities::WILDCARDS))
    {
        bail!(
            "invalid domain {:?}: {} does not support wildcard domains",
            event.domain,
            i.metadata.title
        );
    }
    Ok(())
}

async fn execute(options: &Options, command: Command, secrets: &Secrets) -> Result<Output> {
    let config = LoadedConfig::load(&options.config)?;
    register_operator_secrets(&config, secrets);
    // Bad input changes nothing: the name is checked before any component is loaded.
    // Bad input changes nothing: the wanted list is read before anything is loaded too.
    let wanted = match &command {
        Command::Reconcile {
            wanted,
            prune,
            force,
            ..
        } => {
            let text = std::fs::read_to_string(wanted)
                .with_context(|| format!("cannot read the wanted list {}", wanted.display()))?;
            let list = reconcile::parse_wanted(&text)
                .with_context(|| format!("wanted list {}", wanted.display()))?;
            reconcile::check_wanted(&list)?;
            reconcile::check_prune(
                &list,
                reconcile::Mode {
                    prune: *prune,
                    force: *force,
                    ..Default::default()
                },
            )
            .with_context(|| format!("wanted list {}", wanted.display()))?;
            Some(list)
        }
        _ => None,
    };
    let event = match &command {
        Command::List
        | Command::Approve { .. }
        | Command::Test { .. }
        | Command::ListDomains { .. }
        | Command::Status { .. }
        | Command::Verify { .. }
        | Command::Reconcile { .. } => None,
        Command::RequestCertificate { domain, site }
        | Command::CertificateStatus { domain, site }
        | Command::DnsRequirements { domain, site }
        | Command::AddDomain { domain, site } => Some(domain_event(&config, domain, *site)?),
        Command::RemoveDomain {
            domain,
            site,
            www_mapped,
        } => Some(remove_domain_event(&config, domain, *site, *www_mapped)?),
        Command::AddSubdomain { host, site } | Command::RemoveSubdomain { host, site } => {
            Some(domain_event(&config, host, *site)?)
        }
    };

    let ids: Vec<String> = match &command {
        Command::List | Command::Approve { id: None } => {
            config.config.integrations.keys().cloned().collect()
        }
        Command::Test { id: Some(id) }
        | Command::Approve { id: Some(id) }
        | Command::ListDomains { id: Some(id) } => {
            if !config.config.integrations.contains_key(id) {
                bail!("no integration {id:?} in {}", config.path.display());
            }
            vec![id.clone()]
        }
        _ => enabled_ids(&config),
    };

    let mode = match command {
        Command::List | Command::Status { .. } => approvals::Mode::Inspect,
        Command::Approve { .. } => approvals::Mode::Approve,
        _ => approvals::Mode::Enforce,
    };
    let network = Network::open(
        config,
        secrets.clone(),
        options.log_level,
        Selection {
            ids,
            mode,
            // A missing component fails the whole command (nothing is sent anywhere);
            // `list` shows it per integration instead.
            strict: !matches!(command, Command::List),
        },
    )
    .await?;
    let loaded = &network.integrations;
    let failed = network.failed.clone();

    if let Command::Status { domain } = &command {
        return status(&network, domain.as_deref());
    }
    if let Command::Verify {
        domain,
        wait,
        due,
        timeout,
    } = &command
    {
        return verify(&network, domain.as_deref(), *wait, *due, *timeout).await;
    }

    if matches!(command, Command::Approve { .. }) {
        let mut list: Vec<ApprovalEntry> = loaded
            .iter()
            .map(|i| ApprovalEntry {
                id: i.id.clone(),
                changes: match &i.approval {
                    Verdict::Pinned(changes) => changes.clone(),
                    _ => vec![],
                },
                error: None,
            })
            .collect();
        list.extend(failed.into_iter().map(|f| ApprovalEntry {
            id: f.id,
            changes: vec![],
            error: f.error.map(|e| e.message),
        }));
        list.sort_by(|a, b| a.id.cmp(&b.id));
        return Ok(Output::Approved(list));
    }

    if matches!(command, Command::List) {
        return Ok(Output::List(integration_list(&network)));
    }

    if let Some(event) = &event {
        check_wildcards(event, loaded)?;
    }

    if let (
        Command::Reconcile {
            apply,
            prune,
            force,
            ..
        },
        Some(wanted),
    ) = (&command, &wanted)
    {
        let mode = reconcile::Mode {
            apply: *apply,
            prune: *prune,
            force: *force,
            max_share: network
                .config
                .config
                .service
                .as_ref()
                .map_or(reconcile::DEFAULT_MAX_SHARE, |s| s.prune_max_share),
        };
        return Ok(Output::Reconciled(
            reconcile_network(&network, wanted, mode).await,
        ));
    }

    let operation = match (command, event) {
        (Command::Test { .. }, _) => Operation::TestConnection,
        (Command::ListDomains { .. }, _) => Operation::ListDomains,
        (Command::RequestCertificate { .. }, Some(e)) => Operation::RequestCertificate(e),
        (Command::CertificateStatus { .. }, Some(e)) => Operation::CertificateStatus(e),
        (Command::DnsRequirements { .. }, Some(e)) => Operation::DnsRequirements(e),
        (
            Command::Approve { .. }
            | Command::List
            | Command::Status { .. }
            | Command::Verify { .. }
            | Command::Reconcile { .. },
            _,
        ) => unreachable!("handled above"),
        (Command::AddDomain { .. }, Some(e)) => Operation::AddDomain(e),
        (Command::RemoveDomain { .. }, Some(e)) => Operation::RemoveDomain(e),
        (Command::AddSubdomain { .. }, Some(e)) => Operation::AddSubdomain(e),
        (Command::RemoveSubdomain { .. }, Some(e)) => Operation::RemoveSubdomain(e),
        _ => unreachable!("every event command carries an event"),
    };

    // Every enabled integration receives the event, concurrently; each reports on its own.
    let report = network.event(&operation).await;
    Ok(Output::Event(report))
}

/// `reconcile`: what WordPress wants against what each loaded integration's panel serves.
pub async fn reconcile_network(
    network: &Network,
    wanted: &[reconcile::Wanted],
    mode: reconcile::Mode,
) -> reconcile::ReconcileReport {
    reconcile::reconcile(
        &network.host,
        &network.integrations,
        wanted,
        network.config.config.www,
        network.config.config.network_domain.as_deref(),
        mode,
    )
    .await
}

/// What `list` shows: every integration of the network, loaded or not.
pub fn integration_list(network: &Network) -> Vec<ListEntry> {
    let config = &network.config;
    let mut list: Vec<ListEntry> = network
        .integrations
        .iter()
        .map(|i| ListEntry::from_integration(config, i))
        .collect();
    list.extend(
        network
            .failed
            .iter()
            .cloned()
            .map(|f| ListEntry::broken(config, f)),
    );
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

pub fn enabled_ids(config: &LoadedConfig) -> Vec<String> {
    config
        .config
        .integrations
        .iter()
        .filter(|(_, i)| i.enabled)
        .map(|(id, _)| id.clone())
        .collect()
}

#[derive(Debug, Serialize)]
pub struct ListEntry {
    id: String,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<String>,
    capabilities: Vec<&'static str>,
    ssl_verification_attempts: Option<u32>,
    allowed_hosts: Vec<String>,
    /// Constant name → where its value comes from; values are never shown.
    constants: BTreeMap<String, Source>,
    /// Constants the host holds (secret: never shown to the component or printed).
    secrets: Vec<String>,
    missing: Vec<String>,
    /// `approved`, or what the component asks for beyond its pin.
    #[serde(skip_serializing_if = "Option::is_none")]
    approval: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What `approve` pinned for one integration.
#[derive(Debug, Serialize)]
struct ApprovalEntry {
    id: String,
    /// Empty when the pin was already current.
    changes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn render_approved(list: &[ApprovalEntry]) -> String {
    let mut out = String::new();
    for entry in list {
        match (&entry.error, entry.changes.is_empty()) {
            (Some(error), _) => out.push_str(&format!("{}: FAILED {error}\n", entry.id)),
            (None, true) => out.push_str(&format!("{}: already approved\n", entry.id)),
            (None, false) => {
                out.push_str(&format!("{}: approved\n", entry.id));
                for change in &entry.changes {
                    out.push_str(&format!("  {change}\n"));
                }
            }
        }
    }
    out
}

impl ListEntry {
    fn from_integration(config: &LoadedConfig, i: &Integration) -> Self {
        let caps = i.metadata.capabilities;
        let names = [
            (Capabilities::AUTO_SSL, "auto-ssl"),
            (Capabilities::WWW_HANDLING, "www-handling"),
            (Capabilities::SUBDOMAINS, "subdomains"),
            (Capabilities::REMOVAL, "removal"),
            (Capabilities::WILDCARDS, "wildcards"),
            (Capabilities::INDEPENDENT_DOMAINS, "independent-domains"),
        ];
        ListEntry {
            id: i.id.clone(),
            enabled: config
                .config
                .integrations
                .get(&i.id)
                .is_some_and(|c| c.enabled),
            title: Some(i.metadata.title.clone()),
            component: Some(i.component.path.clone()),
            capabilities: names
                .iter()
                .filter(|(f, _)| caps.contains(*f))
                .map(|(_, n)| *n)
                .collect(),
            ssl_verification_attempts: Some(i.metadata.ssl_verification_attempts),
            allowed_hosts: i.allowed_hosts.clone(),
            constants: i.sources.clone(),
            secrets: i.secret_names(),
            missing: i.missing.clone(),
            approval: Some(match &i.approval {
                Verdict::Unpinned => vec![
                    "not approved yet (pinned on first use, or run `domain-host approve`)".into(),
                ],
                Verdict::Refused(wanted) => wanted.clone(),
                _ => vec!["approved".into()],
            }),
            // It loads, but cannot run an event (the service blocks events on it).
            error: (!i.missing.is_empty())
                .then(|| format!("missing constants: {}", i.missing.join(", "))),
        }
    }

    fn broken(config: &LoadedConfig, report: IntegrationReport) -> Self {
        ListEntry {
            enabled: config
                .config
                .integrations
                .get(&report.id)
                .is_some_and(|c| c.enabled),
            id: report.id,
            title: None,
            component: None,
            capabilities: vec![],
            ssl_verification_attempts: None,
            allowed_hosts: vec![],
            constants: BTreeMap::new(),
            secrets: vec![],
            missing: vec![],
            approval: None,
            error: report.error.map(|e| e.message),
        }
    }
}

fn render_list(list: &[ListEntry]) -> String {
    if list.is_empty() {
        return "no integrations configured\n".into();
    }
    let mut out = String::new();
    for entry in list {
        let state = if entry.enabled { "enabled" } else { "disabled" };
        out.push_str(&format!("{} ({state})", entry.id));
        if let Some(title) = &entry.title {
            out.push_str(&format!(": {title}"));
        }
        out.push('\n');
        if let Some(error) = &entry.error {
            out.push_str(&format!("  error: {error}\n"));
            continue;
        }
        if let Some(component) = &entry.component {
            out.push_str(&format!("  component: {component}\n"));
        }
        out.push_str(&format!(
            "  capabilities: {}\n",
            entry.capabilities.join(", ")
        ));
        out.push_str(&format!(
            "  allowed hosts: {}\n",
            entry.allowed_hosts.join(", ")
        ));
        let constants: Vec<String> = entry
            .constants
            .iter()
            .map(|(name, source)| {
                let source = match source {
                    Source::Config => "config",
                    Source::Environment => "environment",
                    Source::Missing => "not set",
                };
                let secret = if entry.secrets.contains(name) {
                    ", secret"
                } else {
                    ""
                };
                format!("{name} ({source}{secret})")
            })
            .collect();
        out.push_str(&format!("  constants: {}\n", constants.join(", ")));
        if !entry.missing.is_empty() {
            out.push_str(&format!("  missing: {}\n", entry.missing.join(", ")));
        }
        if let Some(approval) = &entry.approval {
            out.push_str(&format!("  approval: {}\n", approval.join("; ")));
        }
    }
    out
}

/// The default config file: `$DOMAIN_HOST_CONFIG`, else `domain-host.toml` here.
pub fn default_config_path() -> std::path::PathBuf {
    std::env::var_os("DOMAIN_HOST_CONFIG")
        .map(Into::into)
        .unwrap_or_else(|| Path::new("domain-host.toml").to_path_buf())
}

pub fn lifecycle_of(network: &Network) -> Result<&lifecycle::Lifecycle> {
    network.lifecycle.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no [lifecycle] table: set lifecycle.targets (the addresses the network serves from) to check domains",
            network.config.path.display()
        )
    })
}

fn normalized(domain: &str) -> Result<String> {
    Ok(domain::normalize(domain, true)?)
}

fn status(network: &Network, domain: Option<&str>) -> Result<Output> {
    let service = match (domain, &network.store) {
        (None, Some(store)) if network.config.config.service.is_some() => {
            Some(service_summary(store)?)
        }
        _ => None,
    };
    // A service without [lifecycle] has no domains to show, but its queue.
    if network.lifecycle.is_none()
        && let Some(line) = service
    {
        let line = if line.is_empty() {
            "service: no blocked events, no dead stage changes\n".to_string()
        } else {
            line
        };
        return Ok(Output::Status(vec![], false, Some(line)));
    }
    Ok(Output::Status(
        statuses(network, domain)?,
        domain.is_some(),
        service.filter(|s| !s.is_empty()),
    ))
}

/// The service's queue as `status` tells it: blocked events (with why) and dead stage
/// changes; empty when neither.
fn service_summary(store: &lifecycle::database::Database) -> Result<String> {
    let (blocked, reason) = crate::service::queue::blocked(store)?;
    let dead = crate::service::queue::outbox_dead(store)?;
    let mut out = String::new();
    if blocked > 0 {
        out.push_str(&format!(
            "service: {blocked} event(s) blocked: {}\n",
            reason.unwrap_or_default()
        ));
    }
    if dead > 0 {
        out.push_str(&format!(
            "service: {dead} stage change(s) dead: the callback refused them callback_max_attempts times (kept, not retried)\n"
        ));
    }
    Ok(out)
}

/// `status`: every domain, or one (an error names a domain with no record).
pub fn statuses(network: &Network, domain: Option<&str>) -> Result<Vec<lifecycle::Status>> {
    let lifecycle = lifecycle_of(network)?;
    match domain {
        Some(d) => {
            let d = normalized(d)?;
            let record = lifecycle.store.get(&d)?.ok_or_else(|| no_record(&d))?;
            Ok(vec![(&record).into()])
        }
        None => Ok(lifecycle.store.all()?.iter().map(Into::into).collect()),
    }
}

/// The error for a domain the lifecycle has no record of.
pub fn no_record(domain: &str) -> anyhow::Error {
    anyhow::anyhow!("no record of {domain}: it is added by add-domain or add-subdomain")
}

/// `verify DOMAIN` (without waiting): a check now, its schedule reset.
pub async fn verify_now(network: &Network, domain: &str) -> Result<lifecycle::Status> {
    let lifecycle = lifecycle_of(network)?;
    let d = normalized(domain)?;
    let record = lifecycle
        .verify(&d, Some(network.panels()))
        .await?
        .ok_or_else(|| no_record(&d))?;
    Ok((&record).into())
}

async fn verify(
    network: &Network,
    domain: Option<&str>,
    wait: bool,
    due: bool,
    timeout: std::time::Duration,
) -> Result<Output> {
    let deadline = std::time::Instant::now() + timeout;
    let lifecycle = lifecycle_of(network)?;
    let panels = Some(network.panels());
    let Some(domain) = domain else {
        if !due {
            bail!("verify needs a DOMAIN, or --due to check every domain that is due");
        }
        lifecycle.check_due(panels, 10_000).await?;
        return Ok(Output::Status(
            lifecycle.store.all()?.iter().map(Into::into).collect(),
            false,
            None,
        ));
    };
    let d = normalized(domain)?;
    let mut progress = Progress::new(&d, wait);
    let mut record = lifecycle
        .verify(&d, panels)
        .await?
        .ok_or_else(|| no_record(&d))?;
    progress.show(&record);
    while wait
        && !matches!(record.stage.as_str(), "done" | "failed" | "ssl-failed")
        && std::time::Instant::now() < deadline
    {
        let pause = (record.next_check_ms - lifecycle::database::now_ms()).max(0) as u64;
        progress.waiting(&record, pause);
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        record = match lifecycle.check(&d, panels).await? {
            Some(r) => r,
            None => bail!("{d} was removed while waiting"),
        };
        progress.show(&record);
    }
    progress.finish();
    Ok(Output::Status(vec![(&record).into()], true, None))
}

/// What `verify --wait` shows while it waits: a spinner on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    wait: bool,
}

impl Progress {
    fn new(domain: &str, wait: bool) -> Self {
        use std::io::IsTerminal;
        let bar = (wait && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(domain.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { bar, wait }
    }

    fn line(record: &lifecycle::database::DomainRecord) -> String {
        let names: Vec<String> = record
            .names
            .iter()
            .map(|n| {
                format!(
                    "{} dns {} certificate {}",
                    n.name, n.dns.state, n.certificate.state
                )
            })
            .collect();
        format!(
            "check {}: {} ({})",
            record.checks,
            record.stage,
            names.join("; ")
        )
    }

    fn show(&mut self, record: &lifecycle::database::DomainRecord) {
        if !self.wait {
            return;
        }
        match &self.bar {
            Some(bar) => bar.set_message(Self::line(record)),
            None => eprintln!("{}", Self::line(record)),
        }
    }

    fn waiting(&mut self, record: &lifecycle::database::DomainRecord, ms: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{}; next check in {} ms", Self::line(record), ms))
            }
            None => eprintln!("next check in {ms} ms"),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
