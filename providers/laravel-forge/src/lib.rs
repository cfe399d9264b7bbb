//! Laravel Forge: mapped domains are domain records of one Forge site; certificates are the
//! domain's own Let's Encrypt certificate.
//!
//! The current, organization-scoped API (`https://forge.laravel.com/api`, `panel-apis-b.md`
//! §6.3), Bearer token:
//! - `GET /orgs/{org}/servers/{server}/sites/{site}` (the connection test);
//! - `GET …/sites/{site}/domains` (cursor pages: `page[cursor]`, `meta.next_cursor`),
//!   `POST …/domains {"name", "allow_wildcard_subdomains", "www_redirect_type"}`,
//!   `PATCH …/domains/{id} {"www_redirect_type"}`, `DELETE …/domains/{id}`; answers are
//!   JSON:API-like `{"data": {"id", "type", "attributes": {...}}}`;
//! - `POST …/domains/{id}/certificate {"type": "letsencrypt", "letsencrypt": {...}}` (async)
//!   and `GET …/domains/{id}/certificate`, polled; an earlier revision of the same pages used
//!   the plural `…/certificates` (with `…/certificates/{id}`): both are understood.
//! - 60 requests a minute per user: `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
//!   `X-RateLimit-Reset` (a Unix time) on answers, and on a 429 `Retry-After` when Forge sends
//!   it; the component stops before a request Forge would refuse and tells the host how long
//!   to wait, so the host retries after the window resets.
//!
//! Unlike the PHP plugin (legacy `/api/v1`, which Forge is reported to discontinue): the domain
//! is added to the configured site instead of a whole new site per domain on every server;
//! `www.` follows the network's policy (the plugin always ordered a certificate for `www.`
//! too); the certificate is requested when the host says DNS points here (`request-certificate`),
//! not right after the add when Let's Encrypt's HTTP check cannot pass yet; every answer is
//! checked, and repeats change nothing.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, Capabilities, CertificateReport, CertificateState, ConstantSpec, DomainEvent,
    DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, RateLimit,
    config, journal, json, log,
};
use serde_json::Value;
use std::cell::Cell;
use std::time::Duration;

pub const API_ROOT: &str = "https://forge.laravel.com/api";
pub const TOKEN: &str = "WU_FORGE_API_TOKEN";
pub const ORGANIZATION: &str = "WU_FORGE_ORGANIZATION";
pub const SERVER_ID: &str = "WU_FORGE_SERVER_ID";
pub const SITE_ID: &str = "WU_FORGE_SITE_ID";
/// The plugin's options this component does not offer (see the README section).
pub const LB_SERVER_ID: &str = "WU_FORGE_LOAD_BALANCER_SERVER_ID";
pub const LB_SITE_ID: &str = "WU_FORGE_LOAD_BALANCER_SITE_ID";
pub const ADDITIONAL_SERVERS: &str = "WU_FORGE_ADDITIONAL_SERVER_IDS";
pub const DEPLOY_COMMAND: &str = "WU_FORGE_DEPLOY_COMMAND";
pub const SYMLINK_TARGET: &str = "WU_FORGE_SYMLINK_TARGET";
/// A bound on pages followed.
const MAX_PAGES: u32 = 200;
/// Waits between certificate reads after a request (seconds): about six in all, well inside
/// the host's call time, and few requests of the minute's budget.
const POLL_WAITS: [u64; 3] = [1, 2, 3];
/// Polling stops when fewer requests than this are left in the minute.
const POLL_RESERVE: u32 = 5;
/// Forge's window when it does not say when it resets.
const WINDOW_SECS: u32 = 60;

pub struct LaravelForge;

impl DomainProvider for LaravelForge {
    fn metadata() -> ProviderMetadata {
        let unsupported = |name: &str, label: &str| {
            ConstantSpec::optional(
                name,
                label,
                "The PHP plugin's option; not supported by this component (see its README \
                 section). Leave it unset.",
            )
        };
        ProviderMetadata {
            id: "laravel-forge".into(),
            title: "Laravel Forge".into(),
            description: "Adds mapped domains to a Laravel Forge site (organization-scoped API) \
                          and requests their Let's Encrypt certificates."
                .into(),
            tutorial_link:
                "https://github.com/superdav42/wp-multisite-waas/wiki/Laravel-Forge-Integration"
                    .into(),
            constants: vec![
                ConstantSpec::required(
                    TOKEN,
                    "API token",
                    "Forge > Account > API Tokens (with access to the organization's servers \
                     and sites)",
                )
                .secret(),
                ConstantSpec::required(
                    ORGANIZATION,
                    "Organization",
                    "The organization's slug, as in forge.laravel.com/{organization}/...",
                ),
                ConstantSpec::required(SERVER_ID, "Server ID", "From the server's URL in Forge"),
                ConstantSpec::required(
                    SITE_ID,
                    "Site ID",
                    "The WordPress network's site, from its URL in Forge",
                ),
                unsupported(LB_SERVER_ID, "Load balancer server ID (unsupported)"),
                unsupported(LB_SITE_ID, "Load balancer site ID (unsupported)"),
                unsupported(ADDITIONAL_SERVERS, "Additional server IDs (unsupported)"),
                unsupported(DEPLOY_COMMAND, "Deploy command (unsupported)"),
                unsupported(SYMLINK_TARGET, "Symlink target (unsupported)"),
            ],
            any_of: vec![],
            // Not auto-ssl: Forge issues a certificate when asked (request-certificate).
            capabilities: Capabilities::WWW_HANDLING | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["forge.laravel.com".into()],
            auth: vec![AuthScheme::Bearer(TOKEN.into())],
            account_constants: vec![ORGANIZATION.into(), SERVER_ID.into(), SITE_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let site = api.site_name()?;
        let page = api.domains_page(None)?;
        let mut outcome = Outcome::unchanged(format!(
            "site {} ({}) reachable in organization {}: {}{} domain record(s)",
            api.site,
            site.as_deref().unwrap_or("unnamed"),
            api.organization,
            page.records.len(),
            if page.next.is_some() { "+" } else { "" }
        ));
        outcome.notes.extend(unsupported_notes());
        Ok(outcome)
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        refuse_unsupported()?;
        let mut outcome = Api::configured()?.add(&event.domain, event.www)?;
        outcome.notes.extend(unsupported_notes());
        Ok(outcome)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain, event.www)
    }

    // Subdomain sites: no-ops, as in the plugin; Forge serves them through a domain record
    // with `allow_wildcard_subdomains` (see the README section).

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let records = Api::configured()?.all_records()?;
        Ok(records
            .into_iter()
            .map(|r| PanelDomain {
                www: Some(r.serves_www()),
                primary: r.is_primary(),
                name: r.name,
                certificate: None,
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        refuse_unsupported()?;
        Api::configured()?.request_certificate(&event.domain)
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let api = Api::configured()?;
        let record = api.require(&event.domain)?;
        let (_, certificate) = api.certificate(&record.id)?;
        Ok(match certificate {
            Some(c) => c.report(),
            None => CertificateReport {
                state: CertificateState::None,
                message: "Forge has no certificate for this domain yet".into(),
                expires_at: None,
            },
        })
    }
}

provider_sdk::export_provider!(LaravelForge);

/// The load balancer and extra servers change where a domain must go: refused rather than
/// half done.
fn refuse_unsupported() -> Result<(), ProviderError> {
    let set: Vec<&str> = [LB_SERVER_ID, LB_SITE_ID, ADDITIONAL_SERVERS]
        .into_iter()
        .filter(|n| config::get(n).is_some())
        .collect();
    if set.is_empty() {
        return Ok(());
    }
    Err(ProviderError::Unsupported(format!(
        "{} set: this component adds domains to one Forge site ({SITE_ID}); load balancers and \
         additional servers are not supported (see the README section)",
        set.join(", ")
    )))
}

fn unsupported_notes() -> Vec<String> {
    [DEPLOY_COMMAND, SYMLINK_TARGET]
        .into_iter()
        .filter(|n| config::get(n).is_some())
        .map(|n| {
            log::warn(format!("{n} is set but not supported; nothing was run"));
            format!("{n} is set but not supported: no command was run on the server")
        })
        .collect()
}

/// The `www_redirect_type` for the network's policy: with `www`, Forge serves `www.` and
/// redirects it to the bare name; without, no `www.` at all.
pub fn www_redirect_type(www: bool) -> &'static str {
    if www { "from-www" } else { "none" }
}

pub fn create_body(name: &str, www: bool) -> Value {
    json::object_of(vec![
        ("name", name.into()),
        ("allow_wildcard_subdomains", false.into()),
        ("www_redirect_type", www_redirect_type(www).into()),
    ])
}

/// The body that asks for a Let's Encrypt certificate (HTTP-01: DNS points at the server).
pub fn certificate_body() -> Value {
    json::object_of(vec![
        ("type", "letsencrypt".into()),
        (
            "letsencrypt",
            json::object_of(vec![("verification_method", "http-01".into())]),
        ),
    ])
}

/// A JSON:API resource's id and attributes (`{"id", "type", "attributes"}`); a bare object
/// is read as its own attributes.
fn resource(v: &Value) -> Option<(String, &Value)> {
    let id = match v.get("id")? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((id, v.get("attributes").unwrap_or(v)))
}

fn attr(attributes: &Value, key: &str) -> Option<String> {
    attributes
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A domain record of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub name: String,
    /// `primary` or `alias`.
    pub kind: Option<String>,
    /// `pending`, `connecting`, `enabled`, `deleting`, ...
    pub status: Option<String>,
    pub www_redirect_type: Option<String>,
}

impl Record {
    pub fn from_json(v: &Value) -> Option<Record> {
        let (id, a) = resource(v)?;
        Some(Record {
            id,
            name: attr(a, "name")?.to_ascii_lowercase(),
            kind: attr(a, "type"),
            status: attr(a, "status"),
            www_redirect_type: attr(a, "www_redirect_type"),
        })
    }

    pub fn is_primary(&self) -> bool {
        self.kind.as_deref() == Some("primary")
    }

    pub fn serves_www(&self) -> bool {
        matches!(
            self.www_redirect_type.as_deref(),
            Some("from-www" | "to-www")
        )
    }

    pub fn is_deleting(&self) -> bool {
        self.status.as_deref() == Some("deleting")
    }
}

/// One page of the domains list.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<String>,
}

impl Page {
    pub fn parse(body: &Value) -> Result<Page, String> {
        let Some(data) = body.get("data").and_then(Value::as_array) else {
            return Err("the domains answer has no data list".into());
        };
        let records = data.iter().filter_map(Record::from_json).collect();
        let next = body
            .pointer("/meta/next_cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .or_else(|| {
                body.pointer("/links/next")
                    .and_then(|v| v.as_str().or_else(|| v.get("href").and_then(Value::as_str)))
                    .and_then(cursor_of)
            });
        Ok(Page { records, next })
    }
}

/// The `page[cursor]` of a next-page link.
pub fn cursor_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "page[cursor]" || k.eq_ignore_ascii_case("page%5Bcursor%5D"))
            .then(|| v.to_string())
            .filter(|v| !v.is_empty())
    })
}

/// A domain's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub id: Option<String>,
    pub status: Option<String>,
    pub request_status: Option<String>,
    pub active: Option<bool>,
}

impl Certificate {
    pub fn from_json(v: &Value) -> Option<Certificate> {
        let a = v.get("attributes").unwrap_or(v);
        if !a.is_object() {
            return None;
        }
        let id = resource(v).map(|(id, _)| id);
        Some(Certificate {
            id,
            status: attr(a, "status"),
            request_status: attr(a, "request_status"),
            active: a.get("active").and_then(Value::as_bool),
        })
    }

    pub fn state(&self) -> CertificateState {
        let status = self.status.as_deref().unwrap_or("");
        let request = self.request_status.as_deref().unwrap_or("");
        if status == "failed" || request == "failed" || status == "error" {
            return CertificateState::Failed;
        }
        match status {
            "installed" | "active" if self.active != Some(false) => CertificateState::Active,
            "installed" | "installing" | "creating" | "pending" | "updating" | "activating" => {
                CertificateState::Pending
            }
            "deleting" | "removing" | "removed" => CertificateState::None,
            "" if matches!(request, "verifying" | "creating" | "created") => {
                CertificateState::Pending
            }
            _ => CertificateState::Unknown,
        }
    }

    pub fn words(&self) -> String {
        let mut words = format!("status {}", self.status.as_deref().unwrap_or("unknown"));
        if let Some(r) = &self.request_status {
            words.push_str(&format!(", request {r}"));
        }
        if self.active == Some(false) {
            words.push_str(", not active");
        }
        words
    }

    pub fn report(&self) -> CertificateReport {
        CertificateReport {
            state: self.state(),
            message: format!("Forge certificate: {}", self.words()),
            expires_at: None,
        }
    }
}

/// The certificate to go by in a plural list: the active one, else the newest.
pub fn pick_certificate(list: &[Value]) -> Option<Certificate> {
    let all: Vec<Certificate> = list.iter().filter_map(Certificate::from_json).collect();
    all.iter()
        .find(|c| c.active == Some(true))
        .cloned()
        .or_else(|| all.last().cloned())
}

/// Which revision of the certificate endpoint this Forge serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `…/domains/{id}/certificate` (the current pages).
    Singular,
    /// `…/domains/{id}/certificates[/{certificate}]` (an earlier revision).
    Plural,
}

/// Seconds until a `X-RateLimit-Reset` value: a Unix time (Laravel's), or already a delay.
pub fn seconds_until(reset: u64, now: u64) -> u32 {
    let secs = if reset > 1_000_000_000 {
        reset.saturating_sub(now)
    } else {
        reset
    };
    u32::try_from(secs.clamp(1, 3600)).unwrap_or(WINDOW_SECS)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How long Forge asks to wait: `Retry-After`, else its reset time, else a whole window.
pub fn wait_from(response: &Response, now: u64) -> u32 {
    if let Some(secs) = response
        .header("retry-after")
        .and_then(provider_sdk::errors::parse_retry_after)
    {
        return secs.max(1);
    }
    response
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|reset| seconds_until(reset, now))
        .unwrap_or(WINDOW_SECS)
}

fn journal_key(what: &str, name: &str) -> String {
    format!("{what} {name}")
}

struct Api {
    organization: String,
    site: String,
    base: String,
    /// What Forge's headers said of the minute's budget.
    remaining: Cell<Option<u32>>,
    reset: Cell<Option<u64>>,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let organization = config::require_id(ORGANIZATION)?;
        let server = config::require_id(SERVER_ID)?;
        let site = config::require_id(SITE_ID)?;
        Ok(Api {
            base: format!("{API_ROOT}/orgs/{organization}/servers/{server}/sites/{site}"),
            organization,
            site,
            remaining: Cell::new(None),
            reset: Cell::new(None),
        })
    }

    /// Sends within Forge's rate limit: a request Forge would refuse is not sent, and a 429
    /// becomes the wait Forge asked for.
    fn send(&self, request: Request) -> Result<Response, ProviderError> {
        if self.remaining.get() == Some(0) {
            let wait = self
                .reset
                .get()
                .map(|r| seconds_until(r, now_unix()))
                .unwrap_or(WINDOW_SECS);
            return Err(ProviderError::RateLimited(RateLimit {
                retry_after_secs: Some(wait),
                message: "Forge's requests for this minute are used up (X-RateLimit-Remaining: 0)"
                    .into(),
            }));
        }
        let response = request.send()?;
        if let Some(remaining) = response
            .header("x-ratelimit-remaining")
            .and_then(|v| v.trim().parse().ok())
        {
            self.remaining.set(Some(remaining));
        }
        if let Some(reset) = response
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse().ok())
        {
            self.reset.set(Some(reset));
        }
        if response.status == 429 {
            return Err(ProviderError::RateLimited(RateLimit {
                retry_after_secs: Some(wait_from(&response, now_unix())),
                message: provider_sdk::errors::error_message(429, &response.body),
            }));
        }
        Ok(response)
    }

    /// Forge's statuses in this integration's terms.
    fn check(&self, response: Response) -> Result<Response, ProviderError> {
        if response.is_success() {
            return Ok(response);
        }
        let message = provider_sdk::errors::error_message(response.status, &response.body);
        Err(match response.status {
            401 => ProviderError::BadCredentials(format!(
                "Forge refused the token (401): {message}; check {TOKEN}"
            )),
            403 => ProviderError::BadCredentials(format!(
                "the token may not do this (403): {message}; check its scopes and its access \
                 to organization {}",
                self.organization
            )),
            404 => ProviderError::NotFound(format!(
                "Forge has no such organization, server or site ({message}): check \
                 {ORGANIZATION}, {SERVER_ID} and {SITE_ID}"
            )),
            _ => response.status_error(),
        })
    }

    fn json(&self, response: Response) -> Result<Value, ProviderError> {
        let response = self.check(response)?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        response.json()
    }

    fn site_name(&self) -> Result<Option<String>, ProviderError> {
        let body = self.json(self.send(Request::get(&self.base))?)?;
        Ok(body
            .get("data")
            .and_then(resource)
            .and_then(|(_, a)| attr(a, "name")))
    }

    fn domains_page(&self, cursor: Option<&str>) -> Result<Page, ProviderError> {
        let mut request = Request::get(format!("{}/domains", self.base));
        if let Some(cursor) = cursor {
            request = request.query(&[("page[cursor]", cursor)]);
        }
        let body = self.json(self.send(request)?)?;
        Page::parse(&body).map_err(|message| {
            ProviderError::Api(provider_sdk::ApiError {
                status: 200,
                message,
            })
        })
    }

    fn all_records(&self) -> Result<Vec<Record>, ProviderError> {
        let mut all: Vec<Record> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.domains_page(cursor.as_deref())?;
            for r in page.records {
                if !all.iter().any(|a| a.id == r.id) {
                    all.push(r);
                }
            }
            match page.next {
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                _ => break,
            }
        }
        Ok(all)
    }

    fn find(&self, name: &str) -> Result<Option<Record>, ProviderError> {
        Ok(self
            .all_records()?
            .into_iter()
            .find(|r| r.name.eq_ignore_ascii_case(name)))
    }

    fn require(&self, name: &str) -> Result<Record, ProviderError> {
        self.find(name)?.ok_or_else(|| {
            ProviderError::NotFound(format!(
                "{name} is not a domain of Forge site {}; map the domain first",
                self.site
            ))
        })
    }

    fn add(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        let sent_earlier = journal::recall(&journal_key("create", name)).is_some();
        if let Some(record) = self.find(name)? {
            return self.existing(record, www, sent_earlier);
        }
        journal::remember(&journal_key("create", name), "sent");
        let response = self
            .send(Request::post(format!("{}/domains", self.base)).json(&create_body(name, www)))?;
        if matches!(response.status, 400 | 422) && name_taken(&response) {
            // Taken: ours (an earlier attempt, or a race), or another site's.
            return match self.find(name)? {
                Some(record) => self.existing(record, www, true),
                None => Err(ProviderError::Conflict(format!(
                    "{name} is already used by another site on this server; remove it there \
                     first ({})",
                    provider_sdk::errors::error_message(response.status, &response.body)
                ))),
            };
        }
        let body = self.json(response)?;
        let status = body
            .get("data")
            .and_then(Record::from_json)
            .and_then(|r| r.status)
            .unwrap_or_else(|| "pending".into());
        log::info(format!("added {name} to site {} ({status})", self.site));
        Ok(Outcome::changed(format!(
            "added {name}{}",
            if www { " with www redirect" } else { "" }
        ))
        .with_note(format!(
            "Forge is configuring it (status {status}); request-certificate orders its \
             Let's Encrypt certificate once DNS points at the server"
        )))
    }

    /// A record that is already there, brought to the wanted `www`.
    fn existing(&self, record: Record, www: bool, ours: bool) -> Result<Outcome, ProviderError> {
        if record.is_deleting() {
            return Err(ProviderError::Transient(format!(
                "{} is being removed from the site; adding it again once that is done",
                record.name
            )));
        }
        if www && !record.serves_www() {
            journal::remember(&journal_key("www", &record.name), "sent");
            let url = format!("{}/domains/{}", self.base, record.id);
            self.json(self.send(Request::patch(url).json(&json::object_of(vec![(
                "www_redirect_type",
                "from-www".into(),
            )])))?)
            .map_err(|e| e.prefixed("turning on www failed: "))?;
            return Ok(Outcome::changed(format!(
                "{} was on the site without www; www added with a redirect",
                record.name
            )));
        }
        if ours || journal::recall(&journal_key("www", &record.name)).is_some() {
            return Ok(Outcome::changed(format!("added {}", record.name)));
        }
        let mut outcome = Outcome::unchanged(format!("{} is already on the site", record.name));
        if !www && record.serves_www() {
            outcome
                .notes
                .push(format!("{} also serves www. (left as it is)", record.name));
        }
        Ok(outcome)
    }

    /// Removes `name`'s record, and `www.<name>`'s record of its own only when the event's
    /// `www` says so (the host sends `false` while `www.<name>` is mapped of its own or the
    /// policy does not want it).
    fn remove(&self, name: &str, with_www: bool) -> Result<Outcome, ProviderError> {
        let records = self.all_records()?;
        let www = format!("www.{name}");
        let with_www = with_www && !name.starts_with("www.");
        let targets: Vec<&Record> = records
            .iter()
            .filter(|r| r.name == name || (with_www && r.name == www))
            .collect();
        if let Some(primary) = targets.iter().find(|r| r.is_primary()) {
            return Err(ProviderError::Conflict(format!(
                "{} is the site's primary domain: Forge serves the site under it, so it is never \
                 removed from here",
                primary.name
            )));
        }
        let mut removed = Vec::new();
        for record in targets {
            if record.is_deleting() {
                if journal::recall(&journal_key("delete", &record.name)).is_some() {
                    removed.push(record.name.clone());
                }
                continue;
            }
            journal::remember(&journal_key("delete", &record.name), &record.id);
            let response = self.send(Request::delete(format!(
                "{}/domains/{}",
                self.base, record.id
            )))?;
            if response.status == 404 {
                continue;
            }
            self.check(response)
                .map_err(|e| e.prefixed(&format!("removing {} failed: ", record.name)))?;
            log::info(format!("removed {} (record {})", record.name, record.id));
            removed.push(record.name.clone());
        }
        if removed.is_empty() {
            for n in [name, www.as_str()]
                .into_iter()
                .take(1 + usize::from(with_www))
            {
                if journal::recall(&journal_key("delete", n)).is_some() {
                    removed.push(n.to_string());
                }
            }
        }
        Ok(if removed.is_empty() {
            Outcome::unchanged(format!("{name} is not on the site; nothing to remove"))
        } else {
            Outcome::changed(format!("removed {}", removed.join(", ")))
        })
    }

    fn domain_url(&self, id: &str) -> String {
        format!("{}/domains/{id}", self.base)
    }

    /// The domain's certificate and the route revision that answered.
    fn certificate(&self, domain_id: &str) -> Result<(Route, Option<Certificate>), ProviderError> {
        let url = self.domain_url(domain_id);
        let singular = self.send(Request::get(format!("{url}/certificate")))?;
        if singular.status != 404 {
            let body = self.json(singular)?;
            return Ok((
                Route::Singular,
                body.get("data").and_then(Certificate::from_json),
            ));
        }
        // No certificate, or no such route: the earlier revision's list tells which.
        let plural = self.send(Request::get(format!("{url}/certificates")))?;
        if plural.status == 404 {
            return Ok((Route::Singular, None));
        }
        let body = self.json(plural)?;
        let list = body
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok((Route::Plural, pick_certificate(&list)))
    }

    fn reread(
        &self,
        domain_id: &str,
        route: Route,
        known: &Option<Certificate>,
    ) -> Result<Option<Certificate>, ProviderError> {
        let url = self.domain_url(domain_id);
        match (route, known.as_ref().and_then(|c| c.id.clone())) {
            (Route::Plural, Some(id)) => {
                let body =
                    self.json(self.send(Request::get(format!("{url}/certificates/{id}")))?)?;
                Ok(body.get("data").and_then(Certificate::from_json))
            }
            _ => Ok(self.certificate(domain_id)?.1),
        }
    }

    fn request_certificate(&self, name: &str) -> Result<Outcome, ProviderError> {
        let record = self.require(name)?;
        let key = journal_key("certificate", &record.id);
        let requested_earlier = journal::recall(&key).is_some();
        let (route, current) = self.certificate(&record.id)?;
        let state = current.as_ref().map(Certificate::state);
        let mut certificate = match state {
            Some(CertificateState::Active) => {
                return Ok(if requested_earlier {
                    Outcome::changed(format!("certificate for {name} installed"))
                } else {
                    Outcome::unchanged(format!("{name} already has an active certificate"))
                });
            }
            // Being issued (by an earlier attempt of this event, or before it): wait for it.
            Some(CertificateState::Pending) => current,
            _ => {
                journal::remember(&key, "sent");
                let url = match route {
                    Route::Singular => format!("{}/certificate", self.domain_url(&record.id)),
                    Route::Plural => format!("{}/certificates", self.domain_url(&record.id)),
                };
                let body = self
                    .json(self.send(Request::post(url).json(&certificate_body()))?)
                    .map_err(|e| e.prefixed("requesting the certificate failed: "))?;
                log::info(format!("Let's Encrypt certificate requested for {name}"));
                body.get("data").and_then(Certificate::from_json)
            }
        };
        let ours = requested_earlier || journal::recall(&key).is_some();
        for wait in POLL_WAITS {
            if certificate
                .as_ref()
                .is_some_and(|c| c.state() != CertificateState::Pending)
            {
                break;
            }
            if self.remaining.get().is_some_and(|r| r < POLL_RESERVE) {
                break;
            }
            std::thread::sleep(Duration::from_secs(wait));
            certificate = self
                .reread(&record.id, route, &certificate)?
                .or(certificate);
        }
        let words = certificate
            .as_ref()
            .map(Certificate::words)
            .unwrap_or_else(|| "not reported yet".into());
        match certificate.as_ref().map(Certificate::state) {
            Some(CertificateState::Active) => Ok(Outcome {
                changed: ours,
                notes: vec![format!("certificate for {name} installed ({words})")],
            }),
            Some(CertificateState::Failed) => Err(ProviderError::Api(provider_sdk::ApiError {
                status: 0,
                message: format!(
                    "Forge could not issue the certificate for {name} ({words}): Let's Encrypt's \
                     HTTP check fails when DNS does not point at the server yet"
                ),
            })),
            _ => Ok(Outcome {
                changed: ours,
                notes: vec![format!(
                    "certificate for {name} requested; Forge is still working on it ({words})"
                )],
            }),
        }
    }
}

/// Whether a refused create says the name is taken (Laravel's validation words).
pub fn name_taken(response: &Response) -> bool {
    let Ok(body) = serde_json::from_slice::<Value>(&response.body) else {
        return false;
    };
    let texts: Vec<String> = match body.pointer("/errors/name") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|m| m.as_str().map(str::to_ascii_lowercase))
            .collect(),
        Some(Value::String(m)) => vec![m.to_ascii_lowercase()],
        _ => vec![],
    };
    texts
        .iter()
        .any(|m| m.contains("already") && (m.contains("taken") || m.contains("exists")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn bodies_follow_the_documentation_and_the_www_policy() {
        assert_eq!(
            create_body("a.com", true),
            json!({"name": "a.com", "allow_wildcard_subdomains": false, "www_redirect_type": "from-www"})
        );
        assert_eq!(create_body("a.com", false)["www_redirect_type"], "none");
        assert_eq!(certificate_body()["type"], "letsencrypt");
    }

    #[test]
    fn records_and_cursor_pages() {
        let body = json!({
            "data": [{"id": "12", "type": "domainRecords", "attributes": {"name": "A.com", "type": "alias",
                      "status": "enabled", "www_redirect_type": "from-www"}},
                     {"id": 13, "type": "domainRecords", "attributes": {"name": "net.com", "type": "primary",
                      "status": "enabled", "www_redirect_type": "none"}}],
            "links": {"next": "https://forge.laravel.com/api/orgs/o/servers/1/sites/2/domains?page%5Bcursor%5D=abc"},
            "meta": {"next_cursor": null}
        });
        let page = Page::parse(&body).unwrap();
        assert_eq!(page.records[0].name, "a.com");
        assert!(page.records[0].serves_www() && !page.records[0].is_primary());
        assert!(page.records[1].is_primary() && !page.records[1].serves_www());
        assert_eq!(page.records[1].id, "13");
        assert_eq!(page.next.as_deref(), Some("abc"));
        let last = Page::parse(
            &json!({"data": [], "meta": {"next_cursor": null}, "links": {"next": null}}),
        )
        .unwrap();
        assert!(last.next.is_none());
        let meta = Page::parse(&json!({"data": [], "meta": {"next_cursor": "xyz"}})).unwrap();
        assert_eq!(meta.next.as_deref(), Some("xyz"));
        assert_eq!(
            cursor_of("https://x/y?page[cursor]=q1&page[size]=30").as_deref(),
            Some("q1")
        );
        assert!(Page::parse(&json!({"message": "x"})).is_err());
    }

    #[test]
    fn certificate_states() {
        let cert = |status: &str, request: &str, active: Option<bool>| Certificate {
            id: None,
            status: Some(status.into()),
            request_status: Some(request.into()),
            active,
        };
        assert_eq!(
            cert("installing", "verifying", None).state(),
            CertificateState::Pending
        );
        assert_eq!(
            cert("installed", "created", Some(true)).state(),
            CertificateState::Active
        );
        assert_eq!(
            cert("installed", "created", None).state(),
            CertificateState::Active
        );
        assert_eq!(
            cert("installed", "created", Some(false)).state(),
            CertificateState::Pending
        );
        assert_eq!(
            cert("failed", "verifying", None).state(),
            CertificateState::Failed
        );
        assert_eq!(
            cert("weird", "odd", None).state(),
            CertificateState::Unknown
        );
        let parsed = Certificate::from_json(&json!({"id": "40", "type": "certificates",
            "attributes": {"type": "letsencrypt", "request_status": "verifying", "status": "installing"}}))
        .unwrap();
        assert_eq!(parsed.id.as_deref(), Some("40"));
        let list = [
            json!({"id": "1", "attributes": {"status": "installed", "active": false}}),
            json!({"id": "2", "attributes": {"status": "installed", "active": true}}),
            json!({"id": "3", "attributes": {"status": "failed"}}),
        ];
        assert_eq!(pick_certificate(&list).unwrap().id.as_deref(), Some("2"));
        assert_eq!(
            pick_certificate(&list[2..]).unwrap().id.as_deref(),
            Some("3")
        );
    }

    #[test]
    fn waits_come_from_forges_headers() {
        let now = 1_800_000_000;
        let r = response(
            429,
            &[("Retry-After", "17"), ("X-RateLimit-Reset", "1800000050")],
            "",
        );
        assert_eq!(wait_from(&r, now), 17);
        let r = response(429, &[("X-RateLimit-Reset", "1800000042")], "");
        assert_eq!(wait_from(&r, now), 42);
        let r = response(429, &[("X-RateLimit-Reset", "9")], "");
        assert_eq!(wait_from(&r, now), 9, "a delay, not a time");
        let r = response(429, &[("X-RateLimit-Reset", "1799999990")], "");
        assert_eq!(wait_from(&r, now), 1, "already past");
        assert_eq!(wait_from(&response(429, &[], ""), now), 60);
    }

    #[test]
    fn taken_names_are_recognised() {
        let taken = response(
            422,
            &[],
            r#"{"message":"The name has already been taken.","errors":{"name":["The name has already been taken."]}}"#,
        );
        assert!(name_taken(&taken));
        let invalid = response(
            422,
            &[],
            r#"{"message":"invalid","errors":{"name":["The name must be a valid domain."]}}"#,
        );
        assert!(!name_taken(&invalid));
    }
}
