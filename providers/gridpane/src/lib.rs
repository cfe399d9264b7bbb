//! GridPane: mapped domains are alias domains of the site, through GridPane's documented
//! ("oauth") API; certificates are turned on per domain by id.
//!
//! API (`https://my.gridpane.com/oauth/api/v1`, `panel-apis-b.md` §2.2, GridPane's Postman
//! collection):
//! - `Authorization: Bearer <personal access token>` (the host attaches it: the token never
//!   enters this component); JSON bodies; Laravel answers (`{"message"}`, 422
//!   `{"message", "errors": {field: [...]}}`, 429 "too fast");
//! - `GET /user` (who the token belongs to), `GET /site` (the sites, to check the ids);
//! - `GET /domain?per_page&page` (Laravel paginator `{data, links, meta}`), `GET
//!   /domain/{id}`, `POST /domain {"domain_url", "site_id", "server_id", "type": "alias",
//!   "dns_management": "none_none"}`, `PUT /domain/{id} {"ssl": true}` (issuance is
//!   asynchronous: `ssl_status` goes `pending` → `succeed` or `failed`), `DELETE
//!   /domain/{id}`.
//!
//! Unlike the PHP plugin, which posts `api_token` in a form to the undocumented legacy routes
//! `api/application/add-domain` and `delete-domain` and "tests" the connection by deleting
//! `test.com`: the documented API is used (ids, a list, removal by id, the SSL toggle),
//! `test-connection` only reads, every answer is checked, and repeats change nothing.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, Capabilities, CertificateReport, CertificateState, ConstantSpec, DomainEvent,
    DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, RateLimit,
    config, journal, log,
};
use serde_json::{Value, json};
use std::time::Duration;

pub const API: &str = "https://my.gridpane.com/oauth/api/v1";
pub const API_KEY: &str = "WU_GRIDPANE_API_KEY";
pub const SERVER_ID: &str = "WU_GRIDPANE_SERVER_ID";
pub const APP_ID: &str = "WU_GRIDPANE_APP_ID";
/// The plugin's on/off constant (GridPane defines it in `wp-config.php`).
pub const FLAG: &str = "WU_GRIDPANE";
/// Page size asked for (GridPane's default is 15, its maximum 500).
pub const PER_PAGE: usize = 100;
/// A bound on pages followed.
const MAX_PAGES: u32 = 200;
/// Waits between certificate reads after turning SSL on (seconds).
const POLL_WAITS: [u64; 3] = [1, 2, 3];
/// GridPane documents no Retry-After; its own CLI backs off 15 seconds on a 429.
const RATE_LIMIT_WAIT_SECS: u32 = 15;

pub struct GridPane;

impl DomainProvider for GridPane {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "gridpane".into(),
            title: "Gridpane".into(),
            description: "Adds mapped domains to a GridPane site as alias domains and turns \
                          their Let's Encrypt certificate on, through GridPane's documented API."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/gridpane".into(),
            constants: vec![
                ConstantSpec::required(
                    API_KEY,
                    "GridPane API token",
                    "A personal access token (GridPane > Settings > GridPane API)",
                )
                .secret(),
                ConstantSpec::required(
                    SERVER_ID,
                    "Server ID",
                    "The id of the server the site is on (or its IP address, as GridPane \
                     writes it into wp-config.php; then the site's server is used)",
                ),
                ConstantSpec::required(
                    APP_ID,
                    "Site ID",
                    "The id of the GridPane site (or its URL, as GridPane writes it into \
                     wp-config.php; then the site is looked up by URL)",
                ),
                ConstantSpec::optional(
                    FLAG,
                    "GridPane integration switch",
                    "The plugin's on/off constant: false, 0, off or no makes every event a \
                     no-op; anything else (or unset) leaves the integration on",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::REMOVAL
                | Capabilities::INDEPENDENT_DOMAINS,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["my.gridpane.com".into()],
            auth: vec![AuthScheme::Bearer(API_KEY.into())],
            account_constants: vec![SERVER_ID.into(), APP_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let user = api.get_json(&format!("{API}/user"))?;
        let site = api.site()?;
        let domains = api.site_domains(&site)?;
        let who = ["email", "name"]
            .iter()
            .find_map(|k| {
                user.get(*k)
                    .or_else(|| user.get("data").and_then(|d| d.get(*k)))
                    .and_then(Value::as_str)
            })
            .unwrap_or("the token's user");
        let mut outcome = Outcome::unchanged(format!(
            "connected as {who}; site {} ({}) on server {}: {} domain(s)",
            site.id,
            site.url.as_deref().unwrap_or("no URL"),
            site.server_id,
            domains.len()
        ));
        if !switched_on() {
            outcome = outcome.with_note(format!("{FLAG} is off: events are not sent"));
        }
        Ok(outcome)
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        if let Some(off) = switched_off_outcome() {
            return Ok(off);
        }
        Api::configured()?.add(&event.domain)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        if let Some(off) = switched_off_outcome() {
            return Ok(off);
        }
        Api::configured()?.remove(&event.domain)
    }

    // Subdomain sites: the site's own domain (and GridPane's wildcard option) serves them, as
    // in the plugin; the SDK's defaults answer "nothing to do" without a request.

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let site = api.site()?;
        Ok(api
            .site_domains(&site)?
            .into_iter()
            .map(|d| PanelDomain {
                certificate: Some(d.certificate_state()),
                primary: d.kind.as_deref() == Some("primary"),
                name: d.url,
                www: None,
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        if let Some(off) = switched_off_outcome() {
            return Ok(off);
        }
        Api::configured()?.request_certificate(&event.domain)
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let api = Api::configured()?;
        let site = api.site()?;
        let domain = api.require(&site, &event.domain)?;
        // The single read gives the freshest status.
        let fresh = api.domain(&domain.id)?.unwrap_or(domain);
        Ok(fresh.report())
    }
}

provider_sdk::export_provider!(GridPane);

/// Whether the plugin's switch reads as off.
pub fn flag_is_off(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "false" | "0" | "off" | "no"
        )
    })
}

fn switched_on() -> bool {
    !flag_is_off(config::get(FLAG).as_deref())
}

fn switched_off_outcome() -> Option<Outcome> {
    (!switched_on()).then(|| {
        Outcome::unchanged(format!(
            "{FLAG} is off: nothing was sent to GridPane (set it to true, or remove it, to \
             turn the integration on)"
        ))
    })
}

/// A constant that may be an id or, as GridPane writes them, an IP address or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdOrName {
    Id(String),
    Name(String),
}

impl IdOrName {
    pub fn parse(value: &str) -> IdOrName {
        let v = value.trim();
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            IdOrName::Id(v.to_string())
        } else {
            IdOrName::Name(host_of(v))
        }
    }
}

/// `https://Shop.example.com/` → `shop.example.com`.
pub fn host_of(value: &str) -> String {
    let v = value.trim();
    let v = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or(v);
    v.split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A GridPane site, as `GET /site` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: String,
    pub url: Option<String>,
    pub server_id: String,
}

impl Site {
    pub fn from_json(v: &Value) -> Option<Site> {
        Some(Site {
            id: id_text(v.get("id"))?,
            url: v
                .get("url")
                .or_else(|| v.get("domain"))
                .and_then(Value::as_str)
                .map(host_of),
            server_id: id_text(v.get("server_id"))
                .or_else(|| id_text(v.get("server").and_then(|s| s.get("id"))))?,
        })
    }
}

/// A domain object (`GET /domain`, `GET /domain/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub url: String,
    pub kind: Option<String>,
    pub site_id: Option<String>,
    pub is_ssl: bool,
    pub ssl_status: Option<String>,
}

impl Domain {
    pub fn from_json(v: &Value) -> Option<Domain> {
        let url = v
            .get("url")
            .or_else(|| v.get("domain_url"))
            .and_then(Value::as_str)?;
        Some(Domain {
            id: id_text(v.get("id"))?,
            url: host_of(url),
            kind: v.get("type").and_then(Value::as_str).map(str::to_string),
            site_id: id_text(v.get("site_id")),
            is_ssl: match v.get("is_ssl") {
                Some(Value::Bool(b)) => *b,
                Some(Value::Number(n)) => n.as_u64() == Some(1),
                _ => false,
            },
            ssl_status: v
                .get("ssl_status")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    pub fn certificate_state(&self) -> CertificateState {
        match self.ssl_status.as_deref().map(str::to_ascii_lowercase) {
            Some(s) if s == "succeed" || s == "success" || s == "active" => {
                CertificateState::Active
            }
            Some(s) if s == "pending" || s.contains("progress") => CertificateState::Pending,
            Some(s) if s.contains("fail") || s.contains("error") => CertificateState::Failed,
            None if !self.is_ssl => CertificateState::None,
            Some(s) if s.is_empty() && !self.is_ssl => CertificateState::None,
            _ => CertificateState::Unknown,
        }
    }

    pub fn report(&self) -> CertificateReport {
        let words = match &self.ssl_status {
            Some(s) => format!("ssl_status {s}"),
            None => "ssl_status null".to_string(),
        };
        let ssl = if self.is_ssl { "on" } else { "off" };
        CertificateReport {
            state: self.certificate_state(),
            message: format!("GridPane: SSL {ssl}, {words}"),
            expires_at: None,
        }
    }
}

/// One page of a Laravel paginator (or a plain array).
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Value>,
    pub more: bool,
}

impl Page {
    pub fn parse(body: &Value, page: u32) -> Result<Page, String> {
        let (items, meta, links) = match body {
            Value::Array(list) => (list.clone(), None, None),
            Value::Object(o) => match o.get("data") {
                Some(Value::Array(list)) => (list.clone(), o.get("meta"), o.get("links")),
                _ => return Err("the answer has no `data` list".into()),
            },
            _ => return Err("the answer is not a list".into()),
        };
        let last_page = meta
            .and_then(|m| m.get("last_page"))
            .and_then(Value::as_u64)
            .or_else(|| body.get("last_page").and_then(Value::as_u64));
        let next_link = links
            .and_then(|l| l.get("next"))
            .or_else(|| body.get("next_page_url"));
        let more = match (last_page, next_link) {
            (Some(last), _) => u64::from(page) < last,
            (None, Some(next)) => !next.is_null(),
            (None, None) => items.len() >= PER_PAGE,
        };
        Ok(Page { items, more })
    }
}

/// Whether a refused create says the name is taken (Laravel's `unique` rule).
pub fn says_taken(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already been taken") || m.contains("already exists") || m.contains("in use")
}

/// The POST body of a new alias domain, as the collection documents it.
pub fn create_body(name: &str, site: &Site) -> Value {
    let number = |s: &str| {
        s.parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(s))
    };
    json!({
        "domain_url": name,
        "site_id": number(&site.id),
        "server_id": number(&site.server_id),
        "type": "alias",
        "dns_management": "none_none",
    })
}

fn journal_key(what: &str, name: &str) -> String {
    format!("{what} {name}")
}

fn api_error(status: u16, message: String) -> ProviderError {
    ProviderError::Api(provider_sdk::ApiError { status, message })
}

struct Api {
    app: IdOrName,
    server: IdOrName,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let app = config::require(APP_ID)?;
        let server = config::require(SERVER_ID)?;
        Ok(Api {
            app: IdOrName::parse(&app),
            server: IdOrName::parse(&server),
        })
    }

    /// GridPane's statuses in this integration's terms.
    fn check(&self, response: Response) -> Result<Response, ProviderError> {
        if response.is_success() {
            return Ok(response);
        }
        let message = provider_sdk::errors::error_message(response.status, &response.body);
        Err(match response.status {
            401 => ProviderError::BadCredentials(format!(
                "GridPane refused the token (401): {message}; check {API_KEY}"
            )),
            403 => ProviderError::BadCredentials(format!(
                "GridPane does not let this token do that (403): {message}; check {API_KEY} \
                 and that the site belongs to its account"
            )),
            429 => ProviderError::RateLimited(RateLimit {
                retry_after_secs: Some(
                    response
                        .header("retry-after")
                        .and_then(provider_sdk::errors::parse_retry_after)
                        .unwrap_or(RATE_LIMIT_WAIT_SECS),
                ),
                message: format!("GridPane is rate limiting: {message}"),
            }),
            status => provider_sdk::errors::status_error(status, None, message),
        })
    }

    /// A successful answer's JSON; an HTML page in an HTTP 200 (a login page) is an error.
    fn json(&self, response: Response) -> Result<Value, ProviderError> {
        let response = self.check(response)?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&response.body).map_err(|_| {
            api_error(
                response.status,
                format!(
                    "GridPane answered HTTP {} with something that is not JSON ({})",
                    response.status,
                    provider_sdk::errors::error_message(response.status, &response.body)
                ),
            )
        })
    }

    fn get_json(&self, url: &str) -> Result<Value, ProviderError> {
        self.json(Request::get(url).send()?)
    }

    fn pages(&self, path: &str) -> Result<Vec<Value>, ProviderError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let body = self.get_json(&format!("{API}/{path}?per_page={PER_PAGE}&page={page}"))?;
            let current = Page::parse(&body, page).map_err(|m| {
                api_error(200, format!("GridPane's {path} list is unreadable: {m}"))
            })?;
            let more = current.more && !current.items.is_empty();
            all.extend(current.items);
            if !more {
                break;
            }
        }
        Ok(all)
    }

    /// The configured site, checked against GridPane's list (so a wrong id is reported,
    /// not mistaken for "nothing to do").
    fn site(&self) -> Result<Site, ProviderError> {
        let sites: Vec<Site> = self
            .pages("site")?
            .iter()
            .filter_map(Site::from_json)
            .collect();
        let site = match &self.app {
            IdOrName::Id(id) => sites.iter().find(|s| &s.id == id),
            IdOrName::Name(url) => sites.iter().find(|s| s.url.as_deref() == Some(url)),
        };
        let Some(site) = site.cloned() else {
            let value = match &self.app {
                IdOrName::Id(id) | IdOrName::Name(id) => id,
            };
            return Err(ProviderError::NotFound(format!(
                "GridPane has no site {value} for this token ({} site(s) listed): check {APP_ID}",
                sites.len()
            )));
        };
        if let IdOrName::Id(server) = &self.server
            && &site.server_id != server
        {
            return Err(ProviderError::NotFound(format!(
                "GridPane site {} is on server {}, not {server}: check {SERVER_ID}",
                site.id, site.server_id
            )));
        }
        Ok(site)
    }

    fn site_domains(&self, site: &Site) -> Result<Vec<Domain>, ProviderError> {
        let mut list: Vec<Domain> = Vec::new();
        for d in self.pages("domain")?.iter().filter_map(Domain::from_json) {
            if d.site_id.as_deref() == Some(site.id.as_str()) && !list.iter().any(|x| x.id == d.id)
            {
                list.push(d);
            }
        }
        Ok(list)
    }

    fn find(&self, site: &Site, name: &str) -> Result<Option<Domain>, ProviderError> {
        Ok(self
            .site_domains(site)?
            .into_iter()
            .find(|d| d.url.eq_ignore_ascii_case(name)))
    }

    fn require(&self, site: &Site, name: &str) -> Result<Domain, ProviderError> {
        self.find(site, name)?.ok_or_else(|| {
            ProviderError::NotFound(format!(
                "{name} is not a domain of GridPane site {}; map the domain first",
                site.id
            ))
        })
    }

    fn domain(&self, id: &str) -> Result<Option<Domain>, ProviderError> {
        let body = self.get_json(&format!("{API}/domain/{id}"))?;
        let item = body.get("data").unwrap_or(&body);
        Ok(Domain::from_json(item))
    }

    fn add(&self, name: &str) -> Result<Outcome, ProviderError> {
        let site = self.site()?;
        let key = journal_key("create", name);
        let sent_earlier = journal::recall(&key).is_some();
        let present = |ours: bool| {
            if ours {
                Outcome::changed(format!("added {name}"))
            } else {
                Outcome::unchanged(format!("{name} already on GridPane site {}", site.id))
            }
        };
        if self.find(&site, name)?.is_some() {
            return Ok(present(sent_earlier));
        }
        journal::remember(&key, "sent");
        let response = Request::post(format!("{API}/domain"))
            .json(&create_body(name, &site))
            .send()?;
        match self.json(response) {
            Ok(_) => {
                log::info(format!("added {name} to GridPane site {}", site.id));
                Ok(Outcome::changed(format!("added {name}")).with_note(
                    "GridPane issues its certificate when asked (request-certificate) once DNS \
                     points at the server",
                ))
            }
            Err(ProviderError::InvalidInput(message)) if says_taken(&message) => {
                if self.find(&site, name)?.is_some() {
                    return Ok(present(sent_earlier));
                }
                Err(ProviderError::Conflict(format!(
                    "{name} is held by another GridPane site: {message}"
                )))
            }
            Err(ProviderError::InvalidInput(message))
                if message.contains("site id") || message.contains("server id") =>
            {
                Err(ProviderError::NotFound(format!(
                    "GridPane refused the site or server id: {message}; check {APP_ID} and \
                     {SERVER_ID}"
                )))
            }
            Err(e) => Err(e.prefixed(&format!("adding {name} failed: "))),
        }
    }

    fn remove(&self, name: &str) -> Result<Outcome, ProviderError> {
        let site = self.site()?;
        let key = journal_key("delete", name);
        let Some(domain) = self.find(&site, name)? else {
            return Ok(if journal::recall(&key).is_some() {
                Outcome::changed(format!("removed {name}"))
            } else {
                Outcome::unchanged(format!(
                    "{name} not on GridPane site {}; nothing to remove",
                    site.id
                ))
            });
        };
        if domain.kind.as_deref() == Some("primary") {
            return Err(ProviderError::Conflict(format!(
                "{name} is the primary domain of GridPane site {}; it is not removed",
                site.id
            )));
        }
        journal::remember(&key, &domain.id);
        let response = Request::delete(format!("{API}/domain/{}", domain.id)).send()?;
        if response.status == 404 {
            // Deleted between the listing and now: the wanted state is reached.
            return Ok(Outcome::changed(format!("removed {name}")));
        }
        self.json(response)
            .map_err(|e| e.prefixed(&format!("removing {name} failed: ")))?;
        log::info(format!(
            "removed {name} (domain id {}) from GridPane site {}",
            domain.id, site.id
        ));
        Ok(Outcome::changed(format!("removed {name}")))
    }

    fn request_certificate(&self, name: &str) -> Result<Outcome, ProviderError> {
        let site = self.site()?;
        let mut domain = self.require(&site, name)?;
        let key = journal_key("ssl", &domain.id);
        let requested_earlier = journal::recall(&key).is_some();
        match domain.certificate_state() {
            CertificateState::Active if domain.is_ssl => {
                return Ok(if requested_earlier {
                    Outcome::changed(format!("certificate for {name} issued"))
                } else {
                    Outcome::unchanged(format!("{name} already has a certificate on GridPane"))
                });
            }
            // Being issued: wait for it rather than ask again.
            CertificateState::Pending if domain.is_ssl => {}
            _ => {
                journal::remember(&key, "sent");
                let response = Request::put(format!("{API}/domain/{}", domain.id))
                    .json(&json!({ "ssl": true }))
                    .send()?;
                let body = self
                    .json(response)
                    .map_err(|e| e.prefixed("turning SSL on failed: "))?;
                log::info(format!(
                    "SSL turned on for {name} (domain id {})",
                    domain.id
                ));
                if let Some(updated) = Domain::from_json(body.get("data").unwrap_or(&body)) {
                    domain = updated;
                } else {
                    domain.is_ssl = true;
                    domain.ssl_status = Some("pending".into());
                }
            }
        }
        let ours = requested_earlier || journal::recall(&key).is_some();
        for wait in POLL_WAITS {
            if domain.certificate_state() != CertificateState::Pending {
                break;
            }
            std::thread::sleep(Duration::from_secs(wait));
            if let Some(fresh) = self.domain(&domain.id)? {
                domain = fresh;
            }
        }
        let words = domain.report().message;
        match domain.certificate_state() {
            CertificateState::Active => Ok(Outcome {
                changed: ours,
                notes: vec![format!("certificate for {name} issued ({words})")],
            }),
            CertificateState::Failed => Err(api_error(
                0,
                format!(
                    "GridPane could not issue the certificate for {name} ({words}); after \
                     repeated failures GridPane places an SSL lock on the site"
                ),
            )),
            _ => Ok(Outcome {
                changed: ours,
                notes: vec![format!(
                    "certificate for {name} requested; GridPane is still working on it ({words})"
                )],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_or_names() {
        assert_eq!(IdOrName::parse("495737"), IdOrName::Id("495737".into()));
        assert_eq!(
            IdOrName::parse("https://Network.example/"),
            IdOrName::Name("network.example".into())
        );
        assert_eq!(
            IdOrName::parse("203.0.113.7"),
            IdOrName::Name("203.0.113.7".into())
        );
    }

    #[test]
    fn the_switch() {
        assert!(!flag_is_off(None));
        assert!(!flag_is_off(Some("true")));
        assert!(!flag_is_off(Some("1")));
        for off in ["false", "0", "OFF", " no "] {
            assert!(flag_is_off(Some(off)), "{off}");
        }
    }

    #[test]
    fn the_documented_domain_object() {
        let v = json!({"id": 540586, "url": "example.com", "route": "root", "type": "primary",
            "dns_management_id": 1374, "is_ssl": true, "ssl_status": "succeed",
            "site_id": 495737, "user_id": 1356, "server_id": 33046, "is_wildcard": false});
        let d = Domain::from_json(&v).unwrap();
        assert_eq!(d.id, "540586");
        assert_eq!(d.site_id.as_deref(), Some("495737"));
        assert_eq!(d.certificate_state(), CertificateState::Active);
        let mut d2 = d.clone();
        d2.ssl_status = None;
        d2.is_ssl = false;
        assert_eq!(d2.certificate_state(), CertificateState::None);
        d2.ssl_status = Some("pending".into());
        assert_eq!(d2.certificate_state(), CertificateState::Pending);
        d2.ssl_status = Some("failed".into());
        assert_eq!(d2.certificate_state(), CertificateState::Failed);
    }

    #[test]
    fn laravel_pages() {
        let body = json!({"data": [{"id": 1}], "links": {"next": null},
            "meta": {"current_page": 1, "last_page": 3}});
        assert!(Page::parse(&body, 1).unwrap().more);
        assert!(!Page::parse(&body, 3).unwrap().more);
        let body = json!({"data": [], "links": {"next": "https://x/?page=2"}});
        assert!(Page::parse(&body, 1).unwrap().more);
        assert!(!Page::parse(&json!([{"id": 1}]), 1).unwrap().more);
        assert!(Page::parse(&json!({"message": "x"}), 1).is_err());
    }

    #[test]
    fn the_create_body_is_the_documented_one() {
        let site = Site {
            id: "495737".into(),
            url: None,
            server_id: "33046".into(),
        };
        assert_eq!(
            create_body("shop.example.com", &site),
            json!({"domain_url": "shop.example.com", "site_id": 495737, "server_id": 33046,
                   "type": "alias", "dns_management": "none_none"})
        );
        assert!(says_taken("The domain url has already been taken."));
        assert!(!says_taken("The domain url format is invalid."));
    }
}
