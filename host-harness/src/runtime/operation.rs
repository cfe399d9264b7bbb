//! The operations of the contract as the host runs them, and what they answer.
//!
//! The CLI, the service and the lifecycle all describe work as an [`Operation`] and get an
//! [`crate::runtime::report::IntegrationReport`] back from [`crate::runtime::host::Host::run`]: one dispatch
//! path for everything.

use crate::contract::{
    CertificateReport, CertificateState, DnsRecord, DomainEvent, Operations, PanelDomain,
};
use serde::Serialize;

#[derive(Debug, Clone)]
pub enum Operation {
    TestConnection,
    AddDomain(DomainEvent),
    RemoveDomain(DomainEvent),
    AddSubdomain(DomainEvent),
    RemoveSubdomain(DomainEvent),
    ListDomains,
    RequestCertificate(DomainEvent),
    CertificateStatus(DomainEvent),
    DnsRequirements(DomainEvent),
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::TestConnection => "test",
            Operation::AddDomain(_) => "add-domain",
            Operation::RemoveDomain(_) => "remove-domain",
            Operation::AddSubdomain(_) => "add-subdomain",
            Operation::RemoveSubdomain(_) => "remove-subdomain",
            Operation::ListDomains => "list-domains",
            Operation::RequestCertificate(_) => "request-certificate",
            Operation::CertificateStatus(_) => "certificate-status",
            Operation::DnsRequirements(_) => "dns-requirements",
        }
    }

    pub fn event(&self) -> Option<&DomainEvent> {
        match self {
            Operation::TestConnection | Operation::ListDomains => None,
            Operation::AddDomain(e)
            | Operation::RemoveDomain(e)
            | Operation::AddSubdomain(e)
            | Operation::RemoveSubdomain(e)
            | Operation::RequestCertificate(e)
            | Operation::CertificateStatus(e)
            | Operation::DnsRequirements(e) => Some(e),
        }
    }

    /// The same operation for attempt `n` of its event.
    pub fn for_attempt(&self, n: u32) -> Operation {
        let mut op = self.clone();
        match &mut op {
            Operation::TestConnection | Operation::ListDomains => {}
            Operation::AddDomain(e)
            | Operation::RemoveDomain(e)
            | Operation::AddSubdomain(e)
            | Operation::RemoveSubdomain(e)
            | Operation::RequestCertificate(e)
            | Operation::CertificateStatus(e)
            | Operation::DnsRequirements(e) => e.attempt = n,
        }
        op
    }

    /// One of the four domain events by its name (`add-domain`, `remove-domain`,
    /// `add-subdomain`, `remove-subdomain`), as the CLI and the service name them.
    pub fn domain_event(name: &str, event: DomainEvent) -> Option<Operation> {
        match name {
            "add-domain" => Some(Operation::AddDomain(event)),
            "remove-domain" => Some(Operation::RemoveDomain(event)),
            "add-subdomain" => Some(Operation::AddSubdomain(event)),
            "remove-subdomain" => Some(Operation::RemoveSubdomain(event)),
            _ => None,
        }
    }

    /// The domain an event is about.
    pub fn domain(&self) -> Option<&str> {
        self.event().map(|e| e.domain.as_str())
    }

    /// Whether it may write to the panel (then it holds the account lock).
    pub fn changes_panel(&self) -> bool {
        matches!(
            self,
            Operation::AddDomain(_)
                | Operation::RemoveDomain(_)
                | Operation::AddSubdomain(_)
                | Operation::RemoveSubdomain(_)
                | Operation::RequestCertificate(_)
        )
    }

    /// The `operations` flag a provider must announce for this one, if any.
    pub fn needs(&self) -> Option<Operations> {
        match self {
            Operation::ListDomains => Some(Operations::LIST_DOMAINS),
            Operation::RequestCertificate(_) => Some(Operations::REQUEST_CERTIFICATE),
            Operation::CertificateStatus(_) => Some(Operations::CERTIFICATE_STATUS),
            Operation::DnsRequirements(_) => Some(Operations::DNS_REQUIREMENTS),
            _ => None,
        }
    }
}

/// What a read operation answered, besides the outcome fields of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Domains(Vec<PanelName>),
    Certificate(CertificateView),
    Records(Vec<RecordView>),
}

impl Answer {
    /// Every text of the answer with the host's secrets redacted (every encoding).
    pub fn redacted(self, secrets: &crate::sandbox::redaction::Secrets) -> Answer {
        let r = |text: String| secrets.redact(&text);
        match self {
            Answer::Domains(list) => Answer::Domains(
                list.into_iter()
                    .map(|d| PanelName {
                        name: r(d.name),
                        ..d
                    })
                    .collect(),
            ),
            Answer::Certificate(c) => Answer::Certificate(CertificateView {
                message: r(c.message),
                ..c
            }),
            Answer::Records(list) => Answer::Records(
                list.into_iter()
                    .map(|rec| RecordView {
                        kind: r(rec.kind),
                        name: r(rec.name),
                        value: r(rec.value),
                        purpose: r(rec.purpose),
                    })
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelName {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub www: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<&'static str>,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateView {
    /// `none`, `pending`, `active`, `failed` or `unknown`.
    pub state: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecordView {
    pub kind: String,
    pub name: String,
    pub value: String,
    pub purpose: String,
}

pub fn certificate_state(state: CertificateState) -> &'static str {
    match state {
        CertificateState::None => "none",
        CertificateState::Pending => "pending",
        CertificateState::Active => "active",
        CertificateState::Failed => "failed",
        CertificateState::Unknown => "unknown",
    }
}

impl From<PanelDomain> for PanelName {
    fn from(d: PanelDomain) -> Self {
        PanelName {
            name: d.name.to_ascii_lowercase(),
            www: d.www,
            certificate: d.certificate.map(certificate_state),
            primary: d.primary,
        }
    }
}

impl From<CertificateReport> for CertificateView {
    fn from(c: CertificateReport) -> Self {
        CertificateView {
            state: certificate_state(c.state),
            message: c.message,
            expires_at: c.expires_at,
        }
    }
}

impl From<DnsRecord> for RecordView {
    fn from(r: DnsRecord) -> Self {
        RecordView {
            kind: r.kind.to_ascii_uppercase(),
            name: r.name.trim_end_matches('.').to_ascii_lowercase(),
            value: r.value,
            purpose: r.purpose,
        }
    }
}
