//! One network's integrations, loaded, and the one dispatch path every caller uses.
//!
//! The CLI, the service and the lifecycle all run events through [`Network::event`]: every
//! enabled integration receives it concurrently (each with its locks and retries, in
//! [`Host::run`]), and the lifecycle records the domain afterwards.

use crate::config::LoadedConfig;
use crate::lifecycle::database::Database;
use crate::lifecycle::{Lifecycle, Panels};
use crate::runtime::host::{Host, HostSettings, Integration};
use crate::runtime::operation::Operation;
use crate::runtime::report::{EventReport, IntegrationReport};
use crate::sandbox::approvals;
use crate::sandbox::logs::Level;
use crate::sandbox::redaction::Secrets;
use anyhow::{Context, Result};
use std::sync::Arc;

pub struct Network {
    pub config: LoadedConfig,
    pub host: Arc<Host>,
    /// The integrations that loaded.
    pub integrations: Vec<Arc<Integration>>,
    /// Those that did not, with why.
    pub failed: Vec<IntegrationReport>,
    /// Present when the config has a `[lifecycle]` table.
    pub lifecycle: Option<Lifecycle>,
    /// The database (`domain-host.db` in the state directory, or the shared one of
    /// `[store]`), when the config has a `[lifecycle]`, `[service]` or `[store]` table: the
    /// lifecycle's records, the service's queue.
    pub store: Option<Arc<Database>>,
}

/// Which integrations to load, and how a missing component counts.
pub struct Selection {
    pub ids: Vec<String>,
    pub mode: approvals::Mode,
    /// A component file that is not there fails the whole command (nothing is sent);
    /// otherwise it is reported per integration.
    pub strict: bool,
}

impl Network {
    pub async fn open(
        config: LoadedConfig,
        secrets: Secrets,
        log_level: Option<Level>,
        selection: Selection,
    ) -> Result<Network> {
        let mut paths = Vec::new();
        let mut failed = Vec::new();
        for id in &selection.ids {
            match config.component_path(id) {
                Ok(path) => paths.push((id.clone(), path)),
                Err(e) if !selection.strict => failed.push(IntegrationReport::failed(
                    id,
                    "configuration",
                    format!("{e:#}"),
                )),
                Err(e) => return Err(e),
            }
        }
        let host = Arc::new(Host::new(HostSettings::from_config(
            &config, log_level, secrets,
        )?)?);
        let mut integrations = Vec::new();
        for (id, path) in paths {
            match host
                .load_with(&id, &config.config.integrations[&id], path, selection.mode)
                .await
            {
                Ok(integration) => integrations.push(Arc::new(integration)),
                Err(e) => {
                    let text = e.to_string();
                    let kind = if text.contains("asks for more than was approved")
                        || text.contains("has not been approved yet")
                    {
                        "not_approved"
                    } else {
                        "component"
                    };
                    failed.push(IntegrationReport::failed(&id, kind, format!("{e:#}")))
                }
            }
        }
        // `approve` reads components and writes the lock file, nothing else: root runs it on
        // a server, where the state directory is the service user's and not root's to open.
        let uses_store = selection.mode != approvals::Mode::Approve
            && (config.config.lifecycle.is_some()
                || config.config.service.is_some()
                || config.config.store.is_some());
        let store = if uses_store {
            let store = match &config.config.store {
                Some(shared) => Database::open_mysql(shared, &config.config.instance())?,
                None => Database::open(&host.settings.state_dir.join("domain-host.db"))?,
            };
            // Stage changes go to the outbox whenever a callback is configured, whoever
            // changes them (the service, or `verify` from cron): the service delivers them.
            store.keep_outbox(
                config
                    .config
                    .service
                    .as_ref()
                    .is_some_and(|s| s.callback_url.is_some()),
            );
            Some(Arc::new(store))
        } else {
            None
        };
        let lifecycle = match &store {
            Some(store) => open_lifecycle(&config, store.clone(), &integrations)?,
            None => None,
        };
        Ok(Network {
            config,
            host,
            integrations,
            failed,
            lifecycle,
            store,
        })
    }

    pub fn panels(&self) -> Panels<'_> {
        Panels {
            host: &self.host,
            integrations: &self.integrations,
        }
    }

    /// Runs an operation through every loaded integration, concurrently, and keeps the
    /// lifecycle's record of the domain: created or refreshed after an add, ended after a
    /// removal.
    pub async fn event(&self, operation: &Operation) -> EventReport {
        let report = self.event_from(operation, None, None).await;
        // On the command line an attempt is the last one: a panel's failure is final.
        self.panel_failed(operation, &report);
        report
    }

    /// After an event's last attempt failed on a panel: the domain's record (when there
    /// is one) shows it as stage `failed` with each panel's error as its diagnosis (a
    /// stage change the callback delivers). After a failed removal the record stays (the
    /// panel may still serve the name) and is no longer checked.
    pub fn panel_failed(&self, operation: &Operation, report: &EventReport) {
        let Some(lifecycle) = &self.lifecycle else {
            return;
        };
        let (domain, removal) = match operation {
            Operation::AddDomain(e) | Operation::AddSubdomain(e) => (&e.domain, false),
            Operation::RemoveDomain(e) | Operation::RemoveSubdomain(e) => (&e.domain, true),
            _ => return,
        };
        let lines: Vec<String> = failures(&report.integrations)
            .map(|i| {
                let message = i.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
                format!(
                    "{} {} failed on {}: {message}",
                    operation.name(),
                    domain,
                    i.id
                )
            })
            .collect();
        if lines.is_empty() {
            return;
        }
        let lines: Vec<String> = lines
            .iter()
            .map(|l| self.host.settings.secrets.redact(l))
            .collect();
        let _ = lifecycle.panel_failed(domain, lines, removal);
    }

    /// [`Network::event`] on behalf of a service event (`event`: its id, named in the
    /// stage changes it causes), through every integration or only `only`.
    pub async fn event_from(
        &self,
        operation: &Operation,
        event: Option<i64>,
        only: Option<&str>,
    ) -> EventReport {
        let operation = &self.keep_mapped_www(operation);
        let mut tasks = tokio::task::JoinSet::new();
        for (index, integration) in self
            .integrations
            .iter()
            .enumerate()
            .filter(|(_, i)| only.is_none_or(|id| i.id == id))
        {
            let host = self.host.clone();
            let integration = integration.clone();
            let operation = operation.clone();
            tasks.spawn(async move { (index, host.run(&integration, &operation).await) });
        }
        let mut reports: Vec<(usize, IntegrationReport)> = tasks.join_all().await;
        reports.sort_by_key(|(i, _)| *i);
        let mut integrations: Vec<IntegrationReport> = self
            .failed
            .iter()
            .filter(|f| only.is_none_or(|id| f.id == id))
            .cloned()
            .collect();
        integrations.extend(reports.into_iter().map(|(_, r)| r));
        integrations.sort_by(|a, b| a.id.cmp(&b.id));
        let mut report = EventReport::new(operation.name(), integrations);
        if let Some(e) = operation.event() {
            report.domain = Some(e.domain.clone());
            report.site = Some(e.site_id);
            report.www = Some(e.www);
        }
        if let Some(lifecycle) = &self.lifecycle
            && let Err(e) = self
                .keep_record(lifecycle, operation, event, &report.integrations)
                .await
        {
            report.store_lost = e.chain().any(|c| c.is::<crate::mysql::StoreError>());
            report.lifecycle = Some(format!("{e:#}"));
        }
        report
    }

    /// A remove-domain event keeps `www.<domain>` when the lifecycle store has it as a
    /// domain of its own (review #9). A store that cannot say counts as "mapped": a panel
    /// then keeps a name it could have removed, never the other way round.
    fn keep_mapped_www(&self, operation: &Operation) -> Operation {
        if let Operation::RemoveDomain(e) = operation
            && e.www
            && let Some(store) = &self.store
            && !matches!(store.get(&format!("www.{}", e.domain)), Ok(None))
        {
            let mut e = e.clone();
            e.www = false;
            return Operation::RemoveDomain(e);
        }
        operation.clone()
    }

    /// Keeps the lifecycle's record by what the panels answered: an add is recorded when
    /// at least one panel took it (its DNS requirements asked of those panels only), a
    /// removal ends the record only when every panel removed the name (a failed remove
    /// is never called back as `removed`).
    async fn keep_record(
        &self,
        lifecycle: &Lifecycle,
        operation: &Operation,
        event: Option<i64>,
        reports: &[IntegrationReport],
    ) -> Result<()> {
        match operation {
            Operation::AddDomain(e) | Operation::AddSubdomain(e) => {
                let took: Vec<Arc<Integration>> = self
                    .integrations
                    .iter()
                    .filter(|i| reports.iter().any(|r| r.id == i.id && r.error.is_none()))
                    .cloned()
                    .collect();
                if took.is_empty() && !reports.is_empty() {
                    return Ok(());
                }
                let subdomain = matches!(operation, Operation::AddSubdomain(_));
                lifecycle.record(&e.domain, e.site_id, subdomain, e.www, event)?;
                let panels = Panels {
                    host: &self.host,
                    integrations: &took,
                };
                lifecycle
                    .record_requirements(&e.domain, e.www, e.site_id, panels)
                    .await
            }
            Operation::RemoveDomain(e) | Operation::RemoveSubdomain(e) => {
                if failures(reports).next().is_some() {
                    return Ok(());
                }
                lifecycle.end(&e.domain, event).map(drop)
            }
            _ => Ok(()),
        }
    }
}

/// The integrations an event failed on (an operation a component does not offer is not a
/// failure of the panel).
fn failures(reports: &[IntegrationReport]) -> impl Iterator<Item = &IntegrationReport> {
    reports
        .iter()
        .filter(|r| r.error.as_ref().is_some_and(|e| e.kind != "unsupported"))
}

/// The lifecycle of the config, when it has a `[lifecycle]` table.
fn open_lifecycle(
    config: &LoadedConfig,
    store: Arc<Database>,
    integrations: &[Arc<Integration>],
) -> Result<Option<Lifecycle>> {
    let Some(lc) = &config.config.lifecycle else {
        return Ok(None);
    };
    let mut extra = Vec::new();
    for file in &lc.extra_roots {
        let path = config.resolve(file);
        extra.push(
            std::fs::read(&path).with_context(|| {
                format!("lifecycle.extra_roots: cannot read {}", path.display())
            })?,
        );
    }
    // Ultimate Multisite's certificate attempts: the global setting, else the most patient
    // of the enabled providers (each overridable per integration).
    let ssl_attempts = lc.ssl_attempts.unwrap_or_else(|| {
        integrations
            .iter()
            .map(|i| {
                config.config.integrations[&i.id]
                    .ssl_verification_attempts
                    .unwrap_or(i.metadata.ssl_verification_attempts)
            })
            .max()
            .unwrap_or(5)
    });
    Ok(Some(Lifecycle::new(
        lc.clone(),
        store,
        &extra,
        ssl_attempts,
    )?))
}
