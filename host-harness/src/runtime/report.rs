//! What `domain-host` reports: per integration, what happened, in text or JSON.

use crate::runtime::engine::CacheStatus;
use crate::runtime::operation::Answer;
use crate::sandbox::logs::LogLine;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct EventReport {
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub www: Option<bool>,
    pub ok: bool,
    pub integrations: Vec<IntegrationReport>,
    /// Why the lifecycle could not record the domain, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The lifecycle's record failed because the shared store could not be written (it was
    /// lost): the event is not finished, whatever the panels answered.
    #[serde(skip)]
    pub store_lost: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationReport {
    pub id: String,
    pub ok: bool,
    pub changed: bool,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    pub attempts: u32,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentReport>,
    /// What a read operation answered (`domains`, `certificate`, `records`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    pub log: Vec<LogLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    pub path: String,
    pub cache: CacheStatus,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    /// `bad_credentials`, `not_found`, `conflict`, `rate_limited`, `transient`,
    /// `invalid_input`, `limit_reached`, `denied`, `unsupported`, `api` (from the
    /// provider), or `configuration`, `component`, `not_approved`, `timeout`,
    /// `cpu_limit`, `memory_limit`, `trap`, `busy` (from the host).
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl IntegrationReport {
    pub fn failed(id: &str, kind: &str, message: String) -> Self {
        IntegrationReport {
            id: id.to_string(),
            ok: false,
            changed: false,
            notes: vec![],
            error: Some(ErrorReport {
                kind: kind.to_string(),
                message,
                status: None,
            }),
            attempts: 0,
            duration_ms: 0,
            component: None,
            answer: None,
            log: vec![],
        }
    }
}

impl EventReport {
    pub fn new(event: &str, integrations: Vec<IntegrationReport>) -> Self {
        EventReport {
            event: event.to_string(),
            domain: None,
            site: None,
            www: None,
            ok: integrations.iter().all(|i| i.ok),
            integrations,
            lifecycle: None,
            store_lost: false,
        }
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let mut head = self.event.clone();
        if let Some(domain) = &self.domain {
            head.push(' ');
            head.push_str(domain);
        }
        let mut details = vec![];
        if let Some(site) = self.site {
            details.push(format!("site {site}"));
        }
        if let Some(www) = self.www {
            details.push(format!("www {}", if www { "yes" } else { "no" }));
        }
        if !details.is_empty() {
            head.push_str(&format!(" ({})", details.join(", ")));
        }
        out.push_str(&head);
        out.push('\n');
        if self.integrations.is_empty() {
            out.push_str("  no integration is enabled\n");
        }
        let width = self
            .integrations
            .iter()
            .map(|i| i.id.len())
            .max()
            .unwrap_or(0);
        for i in &self.integrations {
            let (status, text) = match &i.error {
                None => (if i.changed { "changed" } else { "ok" }, i.notes.join("; ")),
                Some(e) => ("FAILED", e.message.clone()),
            };
            let retries = if i.attempts > 1 {
                format!(" [{} attempts]", i.attempts)
            } else {
                String::new()
            };
            out.push_str(&format!("  {:width$}  {status:7}  {text}{retries}\n", i.id));
        }
        out
    }
}
