//! WP Engine: mapped domains are domains of the install, through the public Hosting Platform
//! API; SSL is automatic on WP Engine's Advanced Network and Global Edge Security.
//!
//! API (`https://api.wpengineapi.com/v1`, HTTP Basic with an API user id and password,
//! `panel-apis-b.md` §9):
//! - `GET /installs/{install}` (the connection test);
//! - `GET /installs/{install}/domains?limit&offset` → `{"previous", "next", "count",
//!   "results"}` (at most 100 a page);
//! - `POST /installs/{install}/domains {"name", "primary": false}` → 201 `Domain`, with
//!   `ownership_status: TXT_VERIFICATION_PENDING` and `txt_verification_key`/`_value`: a root
//!   domain serves no traffic until that TXT record exists and
//!   `POST …/domains/{id}/verification` confirms it;
//! - `DELETE /installs/{install}/domains/{id}` → 204;
//! - `GET /installs/{install}/domains/{id}`: `network_details.network_info.ssl.status` is the
//!   certificate's state.
//!
//! Unlike the PHP plugin, which calls WP Engine's on-server `WPE_API` class (present only on
//! WP Engine's servers, out of a component's reach, and whose `test_connection` can never
//! fail): the documented public API, every answer checked; the TXT record the API now
//! requires is shown by `dns-requirements` and verified by `request-certificate` (called once
//! DNS points at WP Engine); `www.` follows the network's policy; removal is by the domain's
//! id, and the install's primary domain is never removed.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, BasicAuth, Capabilities, CertificateReport, CertificateState, ConstantSpec,
    DnsRecord, DomainEvent, DomainProvider, Operations, Outcome, PanelDomain, ProviderError,
    ProviderMetadata, config, journal, log,
};
use serde_json::{Value, json};

pub const API_BASE: &str = "https://api.wpengineapi.com/v1";
pub const API_USER: &str = "WU_WPENGINE_API_USER";
pub const API_PASSWORD: &str = "WU_WPENGINE_API_PASSWORD";
pub const INSTALL_ID: &str = "WU_WPENGINE_INSTALL_ID";
/// WP Engine's largest page.
pub const LIMIT: usize = 100;
/// A bound on pages followed.
const MAX_PAGES: usize = 200;
pub const TXT_VERIFIED: &str = "TXT_VERIFIED";

pub struct WpEngine;

impl DomainProvider for WpEngine {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "wpengine".into(),
            title: "WP Engine".into(),
            description: "Adds mapped domains to a WP Engine install through the Hosting \
                          Platform API; WP Engine issues their certificates once their \
                          ownership is verified."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/wp-engine".into(),
            constants: vec![
                ConstantSpec::required(
                    API_USER,
                    "API user ID",
                    "my.wpengine.com > API Access: the API user's ID",
                ),
                ConstantSpec::required(
                    API_PASSWORD,
                    "API password",
                    "my.wpengine.com > API Access: the API user's password",
                )
                .secret(),
                ConstantSpec::required(
                    INSTALL_ID,
                    "Install ID",
                    "The install's UUID (GET /installs lists them; the User Portal shows it \
                     under the environment's API details)",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS
                | Operations::DNS_REQUIREMENTS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.wpengineapi.com".into()],
            auth: vec![AuthScheme::Basic(BasicAuth {
                username_constant: API_USER.into(),
                password_constant: API_PASSWORD.into(),
            })],
            account_constants: vec![INSTALL_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let install = api.json(api.send(Request::get(&api.base))?)?;
        let page = api.domains_page(0, 1)?;
        Ok(Outcome::unchanged(format!(
            "install {} reachable ({}): {} domain(s)",
            install
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("unnamed"),
            install
                .get("environment")
                .and_then(Value::as_str)
                .unwrap_or("environment not given"),
            page.count.unwrap_or(page.results.len() as u64)
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.<domain>` only when the host says so: it is false when the policy does not
        // want it or when `www.<domain>` is mapped as a domain of its own (review #9).
        Api::configured()?.remove(&names_for(&event.domain, event.www))
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let all = api.all_domains()?;
        if let Some(wildcard) = covering_wildcard(&all, &event.domain) {
            return Ok(Outcome::unchanged(format!(
                "{} is served through the install's wildcard domain {wildcard}",
                event.domain
            )));
        }
        api.add_with(&all, std::slice::from_ref(&event.domain))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(std::slice::from_ref(&event.domain))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let all = Api::configured()?.all_domains()?;
        Ok(all
            .into_iter()
            .map(|d| PanelDomain {
                certificate: Some(d.certificate_state()),
                primary: d.primary,
                name: d.name,
                // WP Engine lists www. names as domains of their own.
                www: None,
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let all = api.all_domains()?;
        let mut outcome = Outcome {
            changed: false,
            notes: vec![],
        };
        for name in names_for(&event.domain, event.www) {
            let Some(domain) = all.iter().find(|d| d.name == name) else {
                if name == event.domain {
                    return Err(not_on_install(&name));
                }
                outcome
                    .notes
                    .push(format!("{name} is not on the install; skipped"));
                continue;
            };
            let step = api.verify(domain)?;
            outcome.changed |= step.changed;
            outcome.notes.extend(step.notes);
        }
        Ok(outcome)
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let api = Api::configured()?;
        let domain = api.require(&event.domain)?;
        // The domain itself, freshly read: its network info carries the certificate's state.
        let fresh = api.domain(&domain.id)?;
        Ok(fresh.certificate_report())
    }

    fn dns_requirements(event: DomainEvent) -> Result<Vec<DnsRecord>, ProviderError> {
        let api = Api::configured()?;
        let all = api.all_domains()?;
        let mut records = Vec::new();
        for name in names_for(&event.domain, event.www) {
            match all.iter().find(|d| d.name == name) {
                Some(domain) => records.extend(domain.dns_records()),
                None if name == event.domain => return Err(not_on_install(&name)),
                None => {}
            }
        }
        Ok(records)
    }
}

provider_sdk::export_provider!(WpEngine);

fn not_on_install(name: &str) -> ProviderError {
    ProviderError::NotFound(format!(
        "{name} is not a domain of the WP Engine install; map the domain first"
    ))
}

/// The names an event puts on the install: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// The install's wildcard domain that serves `name`, if any (`*.network.example`).
pub fn covering_wildcard(all: &[Domain], name: &str) -> Option<String> {
    let parent = name.split_once('.')?.1;
    all.iter()
        .find(|d| d.name.strip_prefix("*.") == Some(parent))
        .map(|d| d.name.clone())
}

/// A domain of the install, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub primary: bool,
    pub ownership_status: Option<String>,
    pub txt_key: Option<String>,
    pub txt_value: Option<String>,
    pub network_type: Option<String>,
    pub ssl_status: Option<String>,
    pub cname: Option<String>,
    pub a_records: Vec<String>,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Domain {
    pub fn from_json(v: &Value) -> Option<Domain> {
        Some(Domain {
            id: text(v, "/id")?,
            name: text(v, "/name")?.to_ascii_lowercase(),
            primary: v.get("primary").and_then(Value::as_bool).unwrap_or(false),
            ownership_status: text(v, "/ownership_status"),
            txt_key: text(v, "/txt_verification_key"),
            txt_value: text(v, "/txt_verification_value"),
            network_type: text(v, "/network_type"),
            ssl_status: text(v, "/network_details/network_info/ssl/status"),
            cname: text(v, "/network_details/dns_config_info/cname"),
            a_records: v
                .pointer("/network_details/dns_config_info/a_records")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Whether WP Engine still waits for the TXT record (an absent status: nothing pending).
    pub fn ownership_pending(&self) -> bool {
        self.ownership_status
            .as_deref()
            .is_some_and(|s| s != TXT_VERIFIED)
    }

    pub fn is_legacy(&self) -> bool {
        self.network_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("LEGACY"))
    }

    pub fn certificate_state(&self) -> CertificateState {
        if self.ownership_pending() {
            return CertificateState::Pending;
        }
        match self.ssl_status.as_deref().map(str::to_ascii_lowercase) {
            None => CertificateState::Unknown,
            Some(s) => match s.as_str() {
                "active" | "issued" | "deployed" => CertificateState::Active,
                "none" | "inactive" | "disabled" => CertificateState::None,
                _ if s.contains("fail") || s.contains("error") || s.contains("expired") => {
                    CertificateState::Failed
                }
                _ if s.contains("pending")
                    || s.contains("progress")
                    || s.contains("provision")
                    || s.contains("issuing") =>
                {
                    CertificateState::Pending
                }
                _ => CertificateState::Unknown,
            },
        }
    }

    pub fn certificate_report(&self) -> CertificateReport {
        let state = self.certificate_state();
        let message = if self.ownership_pending() {
            format!(
                "WP Engine waits for the domain's TXT ownership record ({}); the certificate \
                 follows once it is verified",
                self.ownership_status.as_deref().unwrap_or("")
            )
        } else {
            match (&self.ssl_status, self.network_type.as_deref()) {
                (Some(ssl), network) => format!(
                    "WP Engine certificate status: {ssl} (network {})",
                    network.unwrap_or("not given")
                ),
                (None, Some(t)) if self.is_legacy() => format!(
                    "network {t}: WP Engine reports no automatic certificate; order one in the \
                     User Portal"
                ),
                (None, _) => "WP Engine reports no certificate status for this domain".into(),
            }
        };
        CertificateReport {
            state,
            message,
            expires_at: None,
        }
    }

    /// The TXT record that proves ownership (its key is the record's host name, relative to
    /// the domain), and the routing record WP Engine names.
    pub fn dns_records(&self) -> Vec<DnsRecord> {
        let mut records = Vec::new();
        if self.ownership_pending()
            && let (Some(key), Some(value)) = (&self.txt_key, &self.txt_value)
        {
            records.push(DnsRecord {
                kind: "TXT".into(),
                name: txt_name(key, &self.name),
                value: value.clone(),
                purpose: "ownership".into(),
            });
        }
        let apex = self.name.split('.').count() <= 2;
        match (&self.cname, apex) {
            (Some(cname), false) => records.push(DnsRecord {
                kind: "CNAME".into(),
                name: self.name.clone(),
                value: cname.clone(),
                purpose: "routing".into(),
            }),
            _ if !self.a_records.is_empty() => {
                records.extend(self.a_records.iter().map(|a| DnsRecord {
                    kind: if a.contains(':') { "AAAA" } else { "A" }.into(),
                    name: self.name.clone(),
                    value: a.clone(),
                    purpose: "routing".into(),
                }))
            }
            (Some(cname), true) => records.push(DnsRecord {
                // No A records given: a CNAME-flattening (ALIAS) record at the apex.
                kind: "CNAME".into(),
                name: self.name.clone(),
                value: cname.clone(),
                purpose: "routing".into(),
            }),
            (None, _) => {}
        }
        records
    }
}

/// The TXT record's full name: the key is a host name relative to the domain (a key that
/// already ends with the domain is kept).
pub fn txt_name(key: &str, domain: &str) -> String {
    let key = key.trim_end_matches('.');
    if key == domain || key.ends_with(&format!(".{domain}")) {
        key.to_string()
    } else {
        format!("{key}.{domain}")
    }
}

/// One page of a list.
#[derive(Debug, Default)]
pub struct Page {
    pub results: Vec<Domain>,
    pub count: Option<u64>,
    pub has_next: bool,
}

impl Page {
    pub fn parse(body: &Value) -> Result<Page, String> {
        let Some(results) = body.get("results").and_then(Value::as_array) else {
            return Err("the domains answer has no results list".into());
        };
        Ok(Page {
            results: results.iter().filter_map(Domain::from_json).collect(),
            count: body.get("count").and_then(Value::as_u64),
            has_next: body.get("next").is_some_and(|n| !n.is_null()),
        })
    }
}

/// WP Engine's error words: `message`, then each of `errors[]`'s.
pub fn panel_message(status: u16, body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return provider_sdk::errors::error_message(status, body);
    };
    let message = json.get("message").and_then(Value::as_str);
    let details: Vec<String> = json
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    let m = e.get("message").and_then(Value::as_str)?;
                    Some(match e.get("field").and_then(Value::as_str) {
                        Some(f) => format!("{f}: {m}"),
                        None => m.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    match (message, details.is_empty()) {
        (Some(m), true) => m.to_string(),
        (Some(m), false) => format!("{m} ({})", details.join("; ")),
        (None, false) => details.join("; "),
        (None, true) => provider_sdk::errors::error_message(status, body),
    }
}

/// Whether a 400 says the name is taken: an `errors[]` entry of type `value_unavailable` or
/// with "taken"/"exists" words on the name (the exact code is not documented).
pub fn name_taken(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    json.get("errors")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter().any(|e| {
                let field = e.get("field").and_then(Value::as_str).unwrap_or("name");
                let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
                let words = format!(
                    "{} {}",
                    e.get("code").and_then(Value::as_str).unwrap_or(""),
                    e.get("message").and_then(Value::as_str).unwrap_or("")
                )
                .to_ascii_lowercase();
                field == "name"
                    && (kind == "value_unavailable"
                        || words.contains("taken")
                        || words.contains("exist")
                        || words.contains("duplicate"))
            })
        })
}

fn journal_key(what: &str, name: &str) -> String {
    format!("{what} {name}")
}

struct Api {
    install: String,
    base: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let install = config::require_id(INSTALL_ID)?;
        Ok(Api {
            base: format!("{API_BASE}/installs/{install}"),
            install,
        })
    }

    fn send(&self, request: Request) -> Result<Response, ProviderError> {
        request.send()
    }

    /// WP Engine's statuses in this integration's terms.
    fn check(&self, response: Response) -> Result<Response, ProviderError> {
        if response.is_success() {
            return Ok(response);
        }
        let message = panel_message(response.status, &response.body);
        Err(match response.status {
            401 => ProviderError::BadCredentials(format!(
                "WP Engine refused the credentials (401): {message}; check {API_USER} and \
                 {API_PASSWORD} (my.wpengine.com > API Access)"
            )),
            403 => ProviderError::BadCredentials(format!(
                "the API user may not do this (403): {message}; it needs access to install {}",
                self.install
            )),
            404 => ProviderError::NotFound(format!(
                "WP Engine has no install {} for this API user ({message}): check {INSTALL_ID}",
                self.install
            )),
            status => provider_sdk::errors::status_error(
                status,
                response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after),
                message,
            ),
        })
    }

    fn json(&self, response: Response) -> Result<Value, ProviderError> {
        let response = self.check(response)?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        response.json()
    }

    fn domains_page(&self, offset: usize, limit: usize) -> Result<Page, ProviderError> {
        let request = Request::get(format!("{}/domains", self.base))
            .query(&[("limit", limit.to_string()), ("offset", offset.to_string())]);
        let body = self.json(self.send(request)?)?;
        Page::parse(&body).map_err(|message| {
            ProviderError::Api(provider_sdk::ApiError {
                status: 200,
                message,
            })
        })
    }

    /// Every domain, page by page (offsets computed here; `next` only says whether more
    /// follow, and `count` when to stop).
    fn all_domains(&self) -> Result<Vec<Domain>, ProviderError> {
        let mut all: Vec<Domain> = Vec::new();
        let mut offset = 0;
        for _ in 0..MAX_PAGES {
            let page = self.domains_page(offset, LIMIT)?;
            let got = page.results.len();
            for d in page.results {
                if !all.iter().any(|a| a.id == d.id) {
                    all.push(d);
                }
            }
            offset += got;
            let more = page.has_next || page.count.is_some_and(|c| (offset as u64) < c);
            if got == 0 || !more {
                break;
            }
        }
        Ok(all)
    }

    fn require(&self, name: &str) -> Result<Domain, ProviderError> {
        self.all_domains()?
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| not_on_install(name))
    }

    fn domain(&self, id: &str) -> Result<Domain, ProviderError> {
        let body = self.json(self.send(Request::get(format!("{}/domains/{id}", self.base)))?)?;
        Domain::from_json(&body).ok_or_else(|| {
            ProviderError::Api(provider_sdk::ApiError {
                status: 200,
                message: "the domain answer has no id and name".into(),
            })
        })
    }

    fn add(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let all = self.all_domains()?;
        self.add_with(&all, names)
    }

    fn add_with(&self, all: &[Domain], names: &[String]) -> Result<Outcome, ProviderError> {
        let mut added: Vec<Domain> = Vec::new();
        let mut present = Vec::new();
        for name in names {
            let sent_earlier = journal::recall(&journal_key("create", name)).is_some();
            if let Some(existing) = all.iter().find(|d| &d.name == name) {
                if sent_earlier {
                    added.push(existing.clone());
                } else {
                    present.push(name.clone());
                }
                continue;
            }
            journal::remember(&journal_key("create", name), "sent");
            let response = self.send(
                Request::post(format!("{}/domains", self.base))
                    .json(&json!({ "name": name, "primary": false })),
            )?;
            if response.status == 400 && name_taken(&response.body) {
                let again = self.all_domains()?;
                match again.into_iter().find(|d| &d.name == name) {
                    Some(d) if sent_earlier => added.push(d),
                    Some(_) => present.push(name.clone()),
                    None => {
                        return Err(ProviderError::Conflict(format!(
                            "{name} is on another WP Engine install or account: {}",
                            panel_message(400, &response.body)
                        )));
                    }
                }
                continue;
            }
            let done = added
                .iter()
                .map(|d| d.name.clone())
                .collect::<Vec<_>>()
                .join(", ");
            let body = self.json(response).map_err(|e| {
                if done.is_empty() {
                    e.prefixed(&format!("adding {name} failed: "))
                } else {
                    e.prefixed(&format!("added {done} but adding {name} failed: "))
                }
            })?;
            log::info(format!("added {name} to install {}", self.install));
            added.push(Domain::from_json(&body).unwrap_or(Domain {
                id: String::new(),
                name: name.clone(),
                primary: false,
                ownership_status: None,
                txt_key: None,
                txt_value: None,
                network_type: None,
                ssl_status: None,
                cname: None,
                a_records: vec![],
            }));
        }
        if added.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} already on the install",
                present.join(", ")
            )));
        }
        let mut outcome = Outcome::changed(format!(
            "added {}",
            added
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if !present.is_empty() {
            outcome
                .notes
                .push(format!("{} already on the install", present.join(", ")));
        }
        for d in added.iter().filter(|d| d.ownership_pending()) {
            let txt = d
                .dns_records()
                .into_iter()
                .find(|r| r.kind == "TXT")
                .map(|r| format!(": TXT {} = {}", r.name, r.value))
                .unwrap_or_default();
            outcome.notes.push(format!(
                "WP Engine serves {} once its ownership is verified{txt} (dns-requirements \
                 lists it; request-certificate verifies it)",
                d.name
            ));
        }
        Ok(outcome)
    }

    fn remove(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let all = self.all_domains()?;
        if let Some(primary) = all.iter().find(|d| d.primary && names.contains(&d.name)) {
            return Err(ProviderError::Conflict(format!(
                "{} is the install's primary domain: WP Engine serves the site under it, so it \
                 is never removed from here; make another domain primary first",
                primary.name
            )));
        }
        let mut removed = Vec::new();
        for name in names {
            let Some(domain) = all.iter().find(|d| &d.name == name) else {
                if journal::recall(&journal_key("delete", name)).is_some() {
                    removed.push(name.clone());
                }
                continue;
            };
            journal::remember(&journal_key("delete", name), &domain.id);
            let response = self.send(Request::delete(format!(
                "{}/domains/{}",
                self.base, domain.id
            )))?;
            if response.status == 404 {
                continue;
            }
            self.check(response)
                .map_err(|e| e.prefixed(&format!("removing {name} failed: ")))?;
            log::info(format!("removed {name} (domain {})", domain.id));
            removed.push(name.clone());
        }
        Ok(if removed.is_empty() {
            Outcome::unchanged(format!(
                "{} not on the install; nothing to remove",
                names.join(", ")
            ))
        } else {
            Outcome::changed(format!("removed {}", removed.join(", ")))
        })
    }

    /// Has WP Engine check the domain's TXT record; SSL follows automatically (Advanced
    /// Network, Global Edge Security).
    fn verify(&self, domain: &Domain) -> Result<Outcome, ProviderError> {
        let key = journal_key("verify", &domain.name);
        let legacy_note = || {
            format!(
                "{} is on WP Engine's legacy network: its Let's Encrypt certificate is ordered in \
                 the User Portal (the API's order needs contact details this integration does \
                 not have)",
                domain.name
            )
        };
        if !domain.ownership_pending() {
            let mut outcome = if journal::recall(&key).is_some() {
                Outcome::changed(format!("ownership of {} verified", domain.name))
            } else {
                Outcome::unchanged(format!(
                    "{}: ownership verified; certificate {}",
                    domain.name,
                    domain
                        .ssl_status
                        .as_deref()
                        .unwrap_or("status not reported")
                ))
            };
            if domain.is_legacy() {
                outcome.notes.push(legacy_note());
            }
            return Ok(outcome);
        }
        journal::remember(&key, "sent");
        let response = self.send(Request::post(format!(
            "{}/domains/{}/verification",
            self.base, domain.id
        )))?;
        if response.status == 400 {
            let txt = domain
                .dns_records()
                .into_iter()
                .find(|r| r.kind == "TXT")
                .map(|r| format!("TXT {} = {}", r.name, r.value))
                .unwrap_or_else(|| "the TXT record dns-requirements lists".into());
            return Err(ProviderError::InvalidInput(format!(
                "WP Engine could not verify {} ({}): create {txt} at the domain's DNS, then \
                 ask again",
                domain.name,
                panel_message(400, &response.body)
            )));
        }
        self.check(response)
            .map_err(|e| e.prefixed(&format!("verifying {} failed: ", domain.name)))?;
        log::info(format!("ownership of {} verified", domain.name));
        let mut outcome = Outcome::changed(format!(
            "ownership of {} verified; WP Engine issues its certificate automatically",
            domain.name
        ));
        if domain.is_legacy() {
            outcome.notes.push(legacy_note());
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented() -> Value {
        json!({"id": "e41fa98f-ea80-4654-b229-a9b765d0863a", "name": "Example.com",
               "duplicate": false, "primary": false, "secure_all_urls": false,
               "redirects_to": [], "network_type": "AN",
               "network_details": {"dns_config_info": {"cname": "wp.wpenginepowered.com", "a_records": ["141.193.213.10"]},
                                   "network_info": {"status": "ACTIVE", "ssl": {"status": "pending"}}},
               "ownership_status": "TXT_VERIFICATION_PENDING",
               "txt_verification_key": "_wpe_verification", "txt_verification_value": "abc123",
               "txt_verified_time": null})
    }

    #[test]
    fn the_documented_domain_object_is_read() {
        let d = Domain::from_json(&documented()).unwrap();
        assert_eq!(d.name, "example.com");
        assert!(d.ownership_pending() && !d.is_legacy());
        assert_eq!(d.certificate_state(), CertificateState::Pending);
        assert!(d.certificate_report().message.contains("TXT"));
        let records = d.dns_records();
        assert_eq!(records[0].kind, "TXT");
        assert_eq!(records[0].name, "_wpe_verification.example.com");
        assert_eq!(records[0].value, "abc123");
        assert_eq!(records[0].purpose, "ownership");
        assert_eq!(
            (records[1].kind.as_str(), records[1].value.as_str()),
            ("A", "141.193.213.10")
        );
    }

    #[test]
    fn verified_domains_report_the_network_ssl_state() {
        let mut v = documented();
        v["ownership_status"] = json!("TXT_VERIFIED");
        v["network_details"]["network_info"]["ssl"]["status"] = json!("active");
        v["name"] = json!("shop.example.com");
        let d = Domain::from_json(&v).unwrap();
        assert_eq!(d.certificate_state(), CertificateState::Active);
        let records = d.dns_records();
        assert_eq!(records.len(), 1, "no TXT once verified");
        assert_eq!(
            (records[0].kind.as_str(), records[0].value.as_str()),
            ("CNAME", "wp.wpenginepowered.com")
        );
        v["network_details"]["network_info"]["ssl"]["status"] = json!("failed");
        assert_eq!(
            Domain::from_json(&v).unwrap().certificate_state(),
            CertificateState::Failed
        );
    }

    #[test]
    fn txt_names_are_relative_to_the_domain() {
        assert_eq!(
            txt_name("_wpe_verification", "a.com"),
            "_wpe_verification.a.com"
        );
        assert_eq!(txt_name("_wpe.a.com.", "a.com"), "_wpe.a.com");
    }

    #[test]
    fn pages_and_errors() {
        let body = json!({"previous": null, "next": "https://api.wpengineapi.com/v1/installs/x/domains?limit=100&offset=100",
                          "count": 150, "results": [documented()]});
        let page = Page::parse(&body).unwrap();
        assert!(page.has_next);
        assert_eq!(page.count, Some(150));
        assert!(Page::parse(&json!({"message": "x"})).is_err());
        let bad = br#"{"message":"Invalid Domain","documentation_url":"x","errors":[{"resource":"Domain","field":"name","type":"value_unavailable","code":"already_exists","message":"Name has already been taken"}]}"#;
        assert!(name_taken(bad));
        assert_eq!(
            panel_message(400, bad),
            "Invalid Domain (name: Name has already been taken)"
        );
        let other = br#"{"message":"Invalid Domain","errors":[{"resource":"Domain","field":"name","type":"invalid_value","code":"invalid","message":"Name is invalid"}]}"#;
        assert!(!name_taken(other));
        assert_eq!(panel_message(503, b""), "empty response body (HTTP 503)");
    }

    #[test]
    fn wildcards_cover_their_subdomains() {
        let wildcard = Domain::from_json(&json!({"id": "1", "name": "*.net.example"})).unwrap();
        assert_eq!(
            covering_wildcard(std::slice::from_ref(&wildcard), "site1.net.example").as_deref(),
            Some("*.net.example")
        );
        assert!(covering_wildcard(&[wildcard], "a.b.net.example").is_none());
    }
}
