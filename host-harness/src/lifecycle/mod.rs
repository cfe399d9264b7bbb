//! The domain lifecycle: after the panel accepts a domain, every name it serves is checked
//! until it works, and watched afterwards.
//!
//! Each name has two tracks: routing (DNS, asked of the domain's authoritative servers)
//! and certificate (an SNI handshake to every address). The domain's stage keeps Ultimate
//! Multisite's values (`checking-dns`, `checking-ssl-cert`, `done`, `failed`, `ssl-failed`)
//! plus `degraded` for a domain that was done and broke. A check that could not run is never
//! counted as a failed one. When a name's DNS turns right, the panels that offer it are asked
//! for a certificate; their own view of it is shown beside ours.
//!
//! One place per concern: [`config`], [`schedule`] (pure), [`dns`] (client + pure
//! classification), [`caa`] and [`cdn`] (pure), [`tls`], [`diagnosis`] (pure), [`database`] (the SQLite file the service shares).

pub(crate) mod caa;
pub(crate) mod cdn;
pub mod config;
pub mod database;
pub(crate) mod diagnosis;
pub(crate) mod dns;
pub(crate) mod schedule;
pub(crate) mod tls;

use crate::contract::{DomainEvent, Operations};
use crate::runtime::host::{Host, Integration};
use crate::runtime::operation::{Answer, Operation};
use anyhow::Result;
use config::LifecycleConfig;
use database::{CertView, Database, DnsView, DomainRecord, NameRecord};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The panels a check may ask (request-certificate, certificate-status).
#[derive(Clone, Copy)]
pub struct Panels<'a> {
    pub host: &'a Host,
    pub integrations: &'a [Arc<Integration>],
}

pub struct Lifecycle {
    pub config: LifecycleConfig,
    pub store: Arc<Database>,
    roots: Arc<rustls::RootCertStore>,
    resolvers: Vec<SocketAddr>,
    /// The certificate attempts of compatible mode.
    pub ssl_attempts: u32,
}

/// The names a domain serves: the apex and, for mapped domains the policy gives it, `www.`.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// What one name's check found, before the stage is derived.
struct NameCheck {
    dns: DnsView,
    certificate: CertView,
    diagnosis: Vec<String>,
    /// Whether a failure was a real answer (not "could not check").
    definitive_dns: bool,
    definitive_cert: bool,
}

impl Lifecycle {
    pub fn new(
        config: LifecycleConfig,
        store: Arc<Database>,
        extra_roots: &[Vec<u8>],
        ssl_attempts: u32,
    ) -> Result<Self> {
        let roots =
            tls::roots(extra_roots).map_err(|e| anyhow::anyhow!("lifecycle.extra_roots: {e}"))?;
        let resolvers = if config.resolvers.is_empty() {
            dns::system_resolvers()
        } else {
            config.resolvers.clone()
        };
        Ok(Lifecycle {
            config,
            store,
            roots,
            resolvers,
            ssl_attempts,
        })
    }

    /// Creates or refreshes a domain's record after the panels were told (`event`: the
    /// service event on whose behalf, named in the stage change it causes).
    pub fn record(
        &self,
        domain: &str,
        site: u64,
        subdomain: bool,
        www: bool,
        event: Option<i64>,
    ) -> Result<()> {
        let names = names_for(domain, www && !subdomain);
        let kind = if subdomain { "subdomain" } else { "mapped" };
        self.store
            .upsert_for(domain, site, kind, &names, database::now_ms(), event)
    }

    /// Ends a domain's record (`event` as for [`Lifecycle::record`]).
    pub fn end(&self, domain: &str, event: Option<i64>) -> Result<bool> {
        self.store.remove_for(domain, event)
    }

    /// A panel failed the domain's event for good: stage `failed`, the failures as its
    /// diagnosis (a stage change for the callback); `stop`: no more checks (a removal
    /// that failed: the network no longer wants the name). Answers whether a record was
    /// there.
    pub fn panel_failed(&self, domain: &str, diagnosis: Vec<String>, stop: bool) -> Result<bool> {
        let Some(mut record) = self.store.get(domain)? else {
            return Ok(false);
        };
        let summary = diagnosis.join("; ");
        record.stage = "failed".into();
        record.diagnosis = diagnosis;
        if stop {
            record.next_check_ms = NO_MORE_CHECKS_MS;
        }
        self.store.save(&record, &summary)?;
        Ok(true)
    }

    /// `verify`: a fresh start for the schedule (and for a failed domain), then a check now.
    pub async fn verify(
        &self,
        domain: &str,
        panels: Option<Panels<'_>>,
    ) -> Result<Option<DomainRecord>> {
        let Some(mut record) = self.store.get(domain)? else {
            return Ok(None);
        };
        record.backoff = 0;
        if matches!(record.stage.as_str(), "failed" | "ssl-failed") {
            record.attempts = 0;
            record.phase_started_ms = database::now_ms();
        }
        Ok(Some(self.check_record(record, panels).await?))
    }

    /// Checks a domain as scheduled.
    pub async fn check(
        &self,
        domain: &str,
        panels: Option<Panels<'_>>,
    ) -> Result<Option<DomainRecord>> {
        let Some(record) = self.store.get(domain)? else {
            return Ok(None);
        };
        Ok(Some(self.check_record(record, panels).await?))
    }

    /// Checks every domain that is due (at most `limit`), `concurrency` at once.
    pub async fn check_due(&self, panels: Option<Panels<'_>>, limit: usize) -> Result<usize> {
        self.check_due_each(panels, limit, |_| {}).await
    }

    /// [`Lifecycle::check_due`], answering the stage each checked domain ended in.
    pub async fn check_due_stages(
        &self,
        panels: Option<Panels<'_>>,
        limit: usize,
    ) -> Result<Vec<String>> {
        let mut stages = Vec::new();
        self.check_due_each(panels, limit, |stage| stages.push(stage))
            .await?;
        Ok(stages)
    }

    /// The due checks, `concurrency` at once, each checked domain's stage given to `seen`;
    /// answers how many. The due domains are read a page at a time as checks finish (not
    /// all at once), so a network of 100,000 domains needs no more memory than one of
    /// 10,000.
    async fn check_due_each(
        &self,
        panels: Option<Panels<'_>>,
        limit: usize,
        mut seen: impl FnMut(String),
    ) -> Result<usize> {
        use futures::StreamExt;
        use futures::stream::FuturesUnordered;
        let concurrency = self.config.concurrency.max(1);
        let page = (concurrency * 4).max(64);
        let now = database::now_ms();
        let mut cursor = None;
        let mut waiting = std::collections::VecDeque::new();
        let (mut asked, mut exhausted, mut checked) = (0, false, 0);
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < concurrency {
                if waiting.is_empty() && !exhausted {
                    let want = page.min(limit - asked);
                    let (domains, next) = if want == 0 {
                        (vec![], cursor)
                    } else {
                        self.store.due_page(now, cursor, want)?
                    };
                    cursor = next;
                    asked += domains.len();
                    exhausted = domains.len() < want || want == 0;
                    waiting.extend(domains);
                }
                let Some(domain) = waiting.pop_front() else {
                    break;
                };
                running.push(async move { self.check(&domain, panels).await });
            }
            let Some(result) = running.next().await else {
                return Ok(checked);
            };
            if let Some(record) = result? {
                checked += 1;
                seen(record.stage);
            }
        }
    }

    fn nameservers(&self) -> &[SocketAddr] {
        &self.config.nameservers
    }

    async fn check_name(&self, name: &NameRecord, cname_addresses: &[IpAddr]) -> NameCheck {
        let timeout = self.config.timeout;
        let routing_reqs: Vec<&crate::runtime::operation::RecordView> = name
            .requirements
            .iter()
            .filter(|r| r.purpose == "routing" && r.name == name.name)
            .collect();
        let mut expect = dns::Expect {
            targets: self.config.targets.clone(),
            cname_target: self.config.cname_target.clone(),
            cname_target_addresses: cname_addresses.to_vec(),
        };
        // A panel that says where this name must point (Cloudflare for SaaS) decides.
        if !routing_reqs.is_empty() {
            expect.targets = routing_reqs
                .iter()
                .filter(|r| r.kind == "A" || r.kind == "AAAA")
                .filter_map(|r| r.value.parse().ok())
                .collect();
            expect.cname_target = routing_reqs
                .iter()
                .find(|r| r.kind == "CNAME")
                .map(|r| r.value.trim_end_matches('.').to_ascii_lowercase());
        }
        let servers: Vec<SocketAddr> = if !self.nameservers().is_empty() {
            self.nameservers().to_vec()
        } else {
            match dns::authoritative(&self.resolvers, &name.name, timeout).await {
                Ok(s) => s,
                Err(e) => return self.could_not_check(&name.name, &expect, e.0),
            }
        };
        let observed = match dns::observe(&servers, &name.name, timeout).await {
            Ok(o) => o,
            Err(e) => return self.could_not_check(&name.name, &expect, e.0),
        };
        let mut routing = dns::classify(&observed, &expect);
        let mut lines = diagnosis::routing(
            &name.name,
            Some(&observed),
            &routing,
            &expect.targets,
            expect.cname_target.as_deref(),
        );
        let mut definitive_dns = routing.state != "unknown";

        // CAA, climbing from the name (RFC 8659).
        let caa_servers = if self.nameservers().is_empty() {
            &self.resolvers
        } else {
            &self.nameservers().to_vec()
        };
        let top = if self.nameservers().is_empty() {
            None
        } else {
            observed.zone.as_deref()
        };
        match dns::caa_set(
            caa_servers,
            &name.name,
            self.nameservers().is_empty(),
            timeout,
            top,
        )
        .await
        {
            Ok(Some((found_at, set))) => {
                let verdict = caa::evaluate(&set, &self.config.ca, name.name.starts_with("*."));
                if let Some(line) = diagnosis::caa(
                    &name.name,
                    &found_at,
                    observed.zone.as_deref(),
                    &verdict,
                    &self.config.ca,
                ) {
                    lines.push(line);
                    if routing.state == "ok" {
                        routing.state = "wrong";
                        routing.reason = "caa-forbids";
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                lines.push(format!(
                    "The CAA records of {} could not be read ({}).",
                    name.name, e.0
                ));
                if routing.state == "ok" {
                    routing.state = "unknown";
                    routing.reason = "caa-unchecked";
                    definitive_dns = false;
                }
            }
        }

        // Other records a panel needs (ownership TXT and the like).
        for req in name
            .requirements
            .iter()
            .filter(|r| r.purpose != "routing" && r.kind == "TXT")
        {
            let present = dns::query_any(
                &servers,
                &req.name,
                hickory_proto::rr::RecordType::TXT,
                false,
                timeout,
            )
            .await
            .map(|l| {
                l.answers.iter().any(|r| match &r.data {
                    hickory_proto::rr::RData::TXT(t) => {
                        t.txt_data
                            .iter()
                            .map(|d| String::from_utf8_lossy(d).into_owned())
                            .collect::<String>()
                            == req.value
                    }
                    _ => false,
                })
            });
            match present {
                Ok(true) => {}
                Ok(false) => {
                    lines.push(format!(
                        "The panel needs a {} record for {}: TXT {} → \"{}\".",
                        req.purpose,
                        name.name,
                        diagnosis::relative(&req.name, observed.zone.as_deref()),
                        req.value
                    ));
                    if routing.state == "ok" {
                        routing.state = "wrong";
                        routing.reason = "requirement-missing";
                    }
                }
                Err(e) => lines.push(format!(
                    "The {} record of {} could not be read ({}).",
                    req.purpose, name.name, e.0
                )),
            }
        }

        // What public resolvers see, to explain propagation.
        if !self.config.public_resolvers.is_empty()
            && let Ok(public) =
                dns::addresses(&self.config.public_resolvers, &name.name, true, timeout).await
        {
            let mut public: Vec<String> = public.iter().map(|a| a.to_string()).collect();
            public.sort();
            let mut authoritative: Vec<String> =
                observed.addresses.iter().map(|a| a.to_string()).collect();
            authoritative.sort();
            if public != authoritative {
                lines.push(format!(
                    "Public resolvers still see {} for {} (its nameservers answer {}); they follow within the record's TTL.",
                    if public.is_empty() { "nothing".into() } else { public.join(", ") },
                    name.name,
                    if authoritative.is_empty() { "nothing".into() } else { authoritative.join(", ") }
                ));
            }
        }

        let dns_view = DnsView {
            state: routing.state.into(),
            reason: routing.reason.into(),
            found: routing.found.clone(),
            expected: routing.expected.clone(),
        };
        // The certificate matters once the name reaches this network.
        let (certificate, definitive_cert) = if routing.state == "ok" {
            let cert = tls::check(
                &name.name,
                &observed.addresses,
                self.config.tls_port,
                self.roots.clone(),
                timeout,
            )
            .await;
            let now = database::now_ms() / 1000;
            let days_left = cert.seen.not_after.map(|t| (t - now).div_euclid(86400));
            if cert.seen.state == "ok"
                && let (Some(from), Some(to)) = (cert.seen.not_before, cert.seen.not_after)
                && to > from
                && (to - now) * 3 < (to - from)
            {
                lines.push(format!(
                    "The certificate of {} expires in {} day(s), less than a third of its lifetime: the panel should renew it soon.",
                    name.name,
                    days_left.unwrap_or(0)
                ));
            }
            match cert.seen.state {
                "ok" => {}
                "unknown" => lines.push(format!(
                    "The certificate of {} could not be checked ({}); not counted as a failed check.",
                    name.name, cert.seen.reason
                )),
                _ => lines.push(format!(
                    "HTTPS on {} ({}): {}{}.",
                    name.name,
                    cert.address.map(|a| a.to_string()).unwrap_or_default(),
                    cert.seen.reason,
                    cert.seen
                        .issuer
                        .as_ref()
                        .map(|i| format!(" (issued by {i})"))
                        .unwrap_or_default()
                )),
            }
            let definitive = cert.seen.state != "unknown";
            (
                CertView {
                    state: cert.seen.state.into(),
                    reason: cert.seen.reason,
                    issuer: cert.seen.issuer,
                    not_after: cert.seen.not_after,
                    days_left,
                },
                definitive,
            )
        } else {
            (
                CertView {
                    state: "unknown".into(),
                    reason: "waiting-for-dns".into(),
                    issuer: None,
                    not_after: None,
                    days_left: None,
                },
                false,
            )
        };
        NameCheck {
            dns: dns_view,
            certificate,
            diagnosis: lines,
            definitive_dns,
            definitive_cert,
        }
    }

    /// The line names the name: two names that cannot be checked give two lines, each
    /// saying which name it is about.
    fn could_not_check(&self, name: &str, expect: &dns::Expect, why: String) -> NameCheck {
        NameCheck {
            dns: DnsView {
                state: "unknown".into(),
                reason: "could-not-check".into(),
                found: vec![],
                expected: expect.expected(),
            },
            certificate: CertView {
                state: "unknown".into(),
                reason: "waiting-for-dns".into(),
                issuer: None,
                not_after: None,
                days_left: None,
            },
            diagnosis: vec![diagnosis::unchecked(name, &why)],
            definitive_dns: false,
            definitive_cert: false,
        }
    }

    /// One check of every name, the panels' hooks, and the derived stage, saved at once.
    async fn check_record(
        &self,
        mut record: DomainRecord,
        panels: Option<Panels<'_>>,
    ) -> Result<DomainRecord> {
        // As read: a write by someone else while this check runs (a panel's failure, a
        // re-add) changes one of them, and then that write stays, not this check's.
        let read = (record.stage.clone(), record.next_check_ms);
        let cname_addresses = match &self.config.cname_target {
            Some(target) => {
                let servers = if self.nameservers().is_empty() {
                    self.resolvers.clone()
                } else {
                    self.nameservers().to_vec()
                };
                dns::addresses(
                    &servers,
                    target,
                    self.nameservers().is_empty(),
                    self.config.timeout,
                )
                .await
                .unwrap_or_default()
            }
            None => vec![],
        };
        let mut checks = Vec::new();
        for name in &record.names {
            checks.push(self.check_name(name, &cname_addresses).await);
        }
        let mut diagnosis = Vec::new();
        for (name, check) in record.names.iter_mut().zip(checks.iter()) {
            name.dns = check.dns.clone();
            name.certificate = check.certificate.clone();
            diagnosis.extend(check.diagnosis.iter().cloned());
        }
        if let Some(panels) = panels {
            diagnosis.extend(self.ask_panels(&mut record, panels).await);
        }
        // The same words twice say nothing new (e.g. one panel note for every name).
        let mut seen = std::collections::HashSet::new();
        diagnosis.retain(|line| seen.insert(line.clone()));

        let now = database::now_ms();
        let dns_ok = record.names.iter().all(|n| n.dns.state == "ok");
        let cert_ok = record.names.iter().all(|n| n.certificate.state == "ok");
        let definitive_dns = checks
            .iter()
            .any(|c| c.dns.state != "ok" && c.definitive_dns);
        let definitive_cert = checks
            .iter()
            .any(|c| c.certificate.state != "ok" && c.definitive_cert);
        record.checks += 1;
        record.last_check_ms = Some(now);
        let previous = record.phase.clone();
        let enter = |record: &mut DomainRecord, phase: &str| {
            if record.phase != phase {
                record.phase = phase.into();
                record.phase_started_ms = now;
                record.attempts = 0;
                record.backoff = 0;
            }
        };
        if dns_ok && cert_ok {
            if record.done_ms.is_none() || previous != "done" {
                record.done_ms = Some(now);
            }
            enter(&mut record, "done");
            record.stage = "done".into();
            record.backoff = 0;
            record.next_check_ms = now + self.config.recheck.as_millis() as i64;
        } else if previous == "done" && (definitive_dns || definitive_cert) {
            // Was done, and a real answer says it broke.
            record.stage = "degraded".into();
            record.next_check_ms =
                now + schedule::backoff(&self.config, record.backoff).as_millis() as i64;
            record.backoff += 1;
        } else if previous == "done" {
            // Could not check: a working domain is never demoted for that.
            record.next_check_ms = now + self.config.first_interval.as_millis() as i64;
        } else {
            let (phase, track, definitive, checking, failed) = if !dns_ok {
                (
                    "dns",
                    schedule::Track::Dns,
                    definitive_dns,
                    "checking-dns",
                    "failed",
                )
            } else {
                (
                    "certificate",
                    schedule::Track::Certificate,
                    definitive_cert,
                    "checking-ssl-cert",
                    "ssl-failed",
                )
            };
            enter(&mut record, phase);
            if definitive {
                record.attempts += 1;
            }
            let exhausted = schedule::exhausted(
                &self.config,
                track,
                record.attempts,
                record.phase_started_ms,
                now,
                self.ssl_attempts,
            );
            record.stage = if exhausted {
                failed.into()
            } else {
                checking.into()
            };
            record.next_check_ms = if exhausted {
                // Not given up for good: slow re-checks, so a late fix still works.
                now + self.config.recheck.as_millis() as i64
            } else {
                now + schedule::backoff(&self.config, record.backoff).as_millis() as i64
            };
            record.backoff += 1;
        }
        record.diagnosis = diagnosis;
        let summary = record
            .names
            .iter()
            .map(|n| {
                format!(
                    "{}: dns {} ({}), certificate {} ({})",
                    n.name, n.dns.state, n.dns.reason, n.certificate.state, n.certificate.reason
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        if !self
            .store
            .save_checked(&record, &summary, (&read.0, read.1))?
        {
            // Changed or removed meanwhile: what is stored now is the answer.
            return Ok(self.store.get(&record.domain)?.unwrap_or(record));
        }
        Ok(record)
    }

    /// Asks the panels for a certificate once a name's DNS is right, and for their own
    /// view of certificates that do not verify yet.
    async fn ask_panels(&self, record: &mut DomainRecord, panels: Panels<'_>) -> Vec<String> {
        let mut lines = vec![];
        let www = record
            .names
            .iter()
            .any(|n| n.name.starts_with("www.") && n.name != record.domain);
        let event = DomainEvent {
            domain: record.domain.clone(),
            site_id: record.site,
            www,
            attempt: 1,
        };
        let all_dns_ok = record.names.iter().all(|n| n.dns.state == "ok");
        let cert_ok = record.names.iter().all(|n| n.certificate.state == "ok");
        let requested = record.names.iter().any(|n| n.requested_ms.is_some());
        if all_dns_ok && !cert_ok && !requested {
            for i in panels.integrations {
                if !i
                    .metadata
                    .operations
                    .contains(Operations::REQUEST_CERTIFICATE)
                {
                    continue;
                }
                let report = panels
                    .host
                    .run(i, &Operation::RequestCertificate(event.clone()))
                    .await;
                match &report.error {
                    None => lines.push(format!(
                        "DNS is right: {} was asked for a certificate ({}).",
                        i.metadata.title,
                        report.notes.join("; ")
                    )),
                    Some(e) => lines.push(format!(
                        "DNS is right, but asking {} for a certificate failed: {}",
                        i.metadata.title, e.message
                    )),
                }
            }
            let now = database::now_ms();
            for n in &mut record.names {
                n.requested_ms = Some(now);
            }
        }
        if !cert_ok {
            for i in panels.integrations {
                if !i
                    .metadata
                    .operations
                    .contains(Operations::CERTIFICATE_STATUS)
                {
                    continue;
                }
                for n in &mut record.names {
                    if n.certificate.state == "ok" {
                        continue;
                    }
                    let ev = DomainEvent {
                        domain: n.name.clone(),
                        ..event.clone()
                    };
                    let report = panels.host.run(i, &Operation::CertificateStatus(ev)).await;
                    let view = match (&report.answer, &report.error) {
                        (Some(Answer::Certificate(c)), _) => {
                            serde_json::to_value(c).unwrap_or_default()
                        }
                        (_, Some(e)) => serde_json::json!({ "error": e.message }),
                        _ => continue,
                    };
                    if let Some(state) = view.get("state").and_then(|s| s.as_str()) {
                        lines.push(format!(
                            "{} says the certificate of {} is {state}: {}",
                            i.metadata.title,
                            n.name,
                            view.get("message").and_then(|m| m.as_str()).unwrap_or("")
                        ));
                    }
                    n.panel.insert(i.id.clone(), view);
                }
            }
        }
        lines
    }

    /// Records the DNS requirements the panels state for a domain's names.
    pub async fn record_requirements(
        &self,
        domain: &str,
        www: bool,
        site: u64,
        panels: Panels<'_>,
    ) -> Result<()> {
        let Some(mut record) = self.store.get(domain)? else {
            return Ok(());
        };
        let mut reqs = vec![];
        for i in panels.integrations {
            if !i.metadata.operations.contains(Operations::DNS_REQUIREMENTS) {
                continue;
            }
            let event = DomainEvent {
                domain: domain.into(),
                site_id: site,
                www,
                attempt: 1,
            };
            let report = panels.host.run(i, &Operation::DnsRequirements(event)).await;
            if let Some(Answer::Records(r)) = report.answer {
                reqs.extend(r);
            }
        }
        for n in &mut record.names {
            n.requirements = reqs
                .iter()
                .filter(|r| r.name == n.name || r.name.ends_with(&format!(".{}", n.name)))
                .cloned()
                .collect();
        }
        self.store.save(&record, "requirements recorded")
    }
}

/// `status --json` for one domain.
#[derive(Debug, Serialize)]
pub struct Status {
    pub domain: String,
    pub site: u64,
    pub kind: String,
    pub stage: String,
    pub names: Vec<NameStatus>,
    pub attempts: u32,
    pub checks: u32,
    pub next_check_at: String,
    pub last_check_at: Option<String>,
    pub diagnosis: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct NameStatus {
    pub name: String,
    pub dns: DnsView,
    pub certificate: CertificateStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<crate::runtime::operation::RecordView>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub panel: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct CertificateStatus {
    pub state: String,
    pub reason: String,
    pub issuer: Option<String>,
    pub not_after: Option<String>,
    pub days_left: Option<i64>,
}

/// A record's next check when it is no longer checked: the last second RFC 3339 can
/// write (9999-12-31T23:59:59Z), so `status` can still show it.
pub const NO_MORE_CHECKS_MS: i64 = 253_402_300_799_000;

/// The time as RFC 3339 (clamped to what the format can write: never a panic).
fn rfc3339(ms: i64) -> String {
    let ms = ms.clamp(0, NO_MORE_CHECKS_MS);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

impl From<&DomainRecord> for Status {
    fn from(r: &DomainRecord) -> Self {
        Status {
            domain: r.domain.clone(),
            site: r.site,
            kind: r.kind.clone(),
            stage: r.stage.clone(),
            names: r
                .names
                .iter()
                .map(|n| NameStatus {
                    name: n.name.clone(),
                    dns: n.dns.clone(),
                    certificate: CertificateStatus {
                        state: n.certificate.state.clone(),
                        reason: n.certificate.reason.clone(),
                        issuer: n.certificate.issuer.clone(),
                        not_after: n.certificate.not_after.map(|s| rfc3339(s * 1000)),
                        days_left: n.certificate.days_left,
                    },
                    requirements: n.requirements.clone(),
                    panel: n.panel.clone(),
                })
                .collect(),
            attempts: r.attempts,
            checks: r.checks,
            next_check_at: rfc3339(r.next_check_ms),
            last_check_at: r.last_check_ms.map(rfc3339),
            diagnosis: r.diagnosis.clone(),
        }
    }
}

impl Status {
    /// One domain as text: its stage, each name's tracks, and what to do.
    pub fn render(&self) -> String {
        let mut out = format!("{} (site {}): {}\n", self.domain, self.site, self.stage);
        for n in &self.names {
            out.push_str(&format!(
                "  {}: dns {} ({}), certificate {} ({}){}\n",
                n.name,
                n.dns.state,
                n.dns.reason,
                n.certificate.state,
                n.certificate.reason,
                n.certificate
                    .days_left
                    .map(|d| format!(", {d} day(s) left"))
                    .unwrap_or_default()
            ));
        }
        for line in &self.diagnosis {
            out.push_str(&format!("  - {line}\n"));
        }
        out.push_str(&format!(
            "  {} check(s), next at {}\n",
            self.checks, self.next_check_at
        ));
        out
    }
}
