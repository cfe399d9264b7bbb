//! Rocket.net: mapped domains are the site's "additional domains"; SSL is automatic.
//!
//! API (`https://api.rocket.net/v1`, `panel-apis-b.md` §3):
//! - `POST /login` `{"username", "password"}` answers `{"token": "<jwt>"}`: the host performs
//!   it (a session), caches the token and attaches it as `Authorization: Bearer`, and logs in
//!   again after a 401; neither the password nor the token enters this component;
//! - every other answer is the envelope `{"success", "errors", "messages", ["metadata"],
//!   "result"}`, read everywhere, errors inside an HTTP 200 (`success: false`) included;
//! - `GET /sites/{id}` (the site and its main domain), `GET /sites/{id}/domains?page&per_page`
//!   (the additional domains, in `result`), `POST /sites/{id}/domains {"domain"}`,
//!   `DELETE /sites/{id}/domains/{domain_id}`;
//! - `GET /sites/{id}/maindomain/status`: the status of the main domain, any alternate main
//!   domains and the additional domains (hostname and certificate validation), read by
//!   `certificate-status`.
//!
//! Unlike the PHP plugin: the login is the documented `POST /v1/login` with `username` (the
//! plugin posts `email` to `/v1/auth/login`); removal finds the id in `result`, where the API
//! puts the list (the plugin reads `data`/`domains`/the root array, never finds it, and so
//! never deletes anything); every answer is checked, the `www.` variant follows the
//! network's policy, and adding a present name or removing an absent one changes nothing.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, BodyFormat, Capabilities, CertificateReport, CertificateState, ConstantSpec,
    DomainEvent, DomainProvider, LoginField, LoginValue, Operations, Outcome, PanelDomain,
    ProviderError, ProviderMetadata, SessionLogin, config, journal, log,
};
use serde_json::Value;

pub const API_BASE: &str = "https://api.rocket.net/v1";
pub const EMAIL: &str = "WU_ROCKET_EMAIL";
pub const PASSWORD: &str = "WU_ROCKET_PASSWORD";
pub const SITE_ID: &str = "WU_ROCKET_SITE_ID";
/// The documented default page size of the domains list (and the size asked for).
pub const PER_PAGE: usize = 100;
/// A bound on pages followed, so a misbehaving API cannot keep a component looping.
const MAX_PAGES: u32 = 200;
/// Token lifetime when the login answer does not say (it does not in the documentation;
/// a third party reports 7 days). Shorter is harmless: the host logs in again.
const DEFAULT_TOKEN_SECS: u32 = 3600;

pub struct Rocket;

/// Where the login answer may carry the token, the first present wins (the host reads
/// `|`-separated alternatives): at the root or inside the envelope's `result`, as `token`
/// or `access_token`.
pub const TOKEN_POINTERS: &str = "/token|/result/token|/access_token|/result/access_token";

/// The host's declarative login: the documented route and fields.
pub fn session_login() -> SessionLogin {
    SessionLogin {
        url: format!("{API_BASE}/login"),
        body_format: BodyFormat::Json,
        fields: vec![
            LoginField {
                name: "username".into(),
                value: LoginValue::Constant(EMAIL.into()),
            },
            LoginField {
                name: "password".into(),
                value: LoginValue::Constant(PASSWORD.into()),
            },
        ],
        // The documentation and the live-tested client read `token` at the root; every other
        // Rocket.net answer is the `{success, errors, messages, result}` envelope
        // (panel-apis-b.md §3.1), and upstream UM's own test accepts all four places (§3.2).
        token_pointer: TOKEN_POINTERS.into(),
        lifetime_pointer: None,
        default_lifetime_secs: DEFAULT_TOKEN_SECS,
        token_header: None,
    }
}

impl DomainProvider for Rocket {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "rocket".into(),
            title: "Rocket.net".into(),
            description: "Adds mapped domains to a Rocket.net site as additional domains; \
                          Rocket.net issues their certificates automatically."
                .into(),
            tutorial_link: "https://ultimatemultisite.com/docs/user-guide/host-integrations/rocket"
                .into(),
            constants: vec![
                ConstantSpec::required(
                    EMAIL,
                    "Rocket.net username",
                    "The e-mail address you log in to the Rocket.net control panel with \
                     (sent as the login's username)",
                ),
                ConstantSpec::required(
                    PASSWORD,
                    "Rocket.net password",
                    "The password of that Rocket.net user",
                )
                .secret(),
                ConstantSpec::required(
                    SITE_ID,
                    "Site ID",
                    "From the site's URL in the Rocket.net control panel",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.rocket.net".into()],
            auth: vec![AuthScheme::Session(session_login())],
            account_constants: vec![SITE_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let site = api.site()?;
        let first = api.domains_page(1)?;
        Ok(Outcome::unchanged(format!(
            "site {} reachable ({}): {}{} additional domain(s)",
            api.site_id,
            site.main_domain.as_deref().unwrap_or("no main domain"),
            first.items.len(),
            if first.items.len() >= PER_PAGE {
                "+"
            } else {
                ""
            }
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.` only when the host says it goes with this mapping (it says no when the
        // policy does not want it or `www.<domain>` is a mapping of its own).
        Api::configured()?.remove(&names_for(&event.domain, event.www))
    }

    // Subdomain sites: the site's main domain (and Rocket.net's wildcard) serves them, as in
    // the plugin; the SDK's defaults answer "nothing to do" without a request.

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let site = api.site()?;
        let mut list: Vec<PanelDomain> = Vec::new();
        if let Some(main) = site.main_domain {
            list.push(PanelDomain {
                name: main,
                www: None,
                certificate: None,
                primary: true,
            });
        }
        for domain in api.all_domains()? {
            list.push(PanelDomain {
                certificate: domain.ssl_status.as_deref().map(certificate_state),
                name: domain.name,
                www: None,
                primary: false,
            });
        }
        Ok(list)
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let api = Api::configured()?;
        let status = api.main_domain_status()?;
        if let Some(found) = find_status(&status, &event.domain) {
            return Ok(found.report());
        }
        // Not in the status answer: the domain list says whether it is there at all.
        match api.find(&event.domain)? {
            Some(domain) => Ok(DomainStatus {
                ssl: domain.ssl_status,
                hostname: domain.hostname_status,
            }
            .report()),
            None => Err(ProviderError::NotFound(format!(
                "{} is not on the Rocket.net site; map the domain first",
                event.domain
            ))),
        }
    }
}

provider_sdk::export_provider!(Rocket);

/// The names an event puts on the site: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// One additional domain as the list returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub hostname_status: Option<String>,
    pub ssl_status: Option<String>,
}

impl Domain {
    /// From a list item: `{id, domain, domain_type, hostname_status, ssl_status, ...}` (the
    /// plugin also accepted `name` for the domain).
    pub fn from_json(item: &Value) -> Option<Domain> {
        let name = item
            .get("domain")
            .or_else(|| item.get("name"))
            .and_then(Value::as_str)?
            .to_ascii_lowercase();
        let id = match item.get("id")? {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some(Domain {
            id,
            name,
            hostname_status: text(item, "hostname_status"),
            ssl_status: text(item, "ssl_status"),
        })
    }
}

fn text(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_string)
}

/// One page of the domains list.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Domain>,
    /// Whether the metadata says more pages follow (`None`: it does not say).
    pub more: Option<bool>,
}

impl Page {
    /// `result` is the list; `metadata` may carry the paging (names not documented: a
    /// total, or a page count, is used when present).
    pub fn parse(result: &Value, metadata: Option<&Value>, page: u32) -> Result<Page, String> {
        let Some(list) = result.as_array() else {
            return Err(format!(
                "the domains list is not an array ({})",
                kind(result)
            ));
        };
        let items = list.iter().filter_map(Domain::from_json).collect();
        let number = |keys: &[&str]| {
            metadata.and_then(|m| keys.iter().find_map(|k| m.get(*k).and_then(Value::as_u64)))
        };
        let more = if let Some(pages) = number(&["total_pages", "pages", "last_page"]) {
            Some(u64::from(page) < pages)
        } else {
            number(&["total", "count", "total_count"])
                .map(|total| (u64::from(page) * PER_PAGE as u64) < total)
        };
        Ok(Page { items, more })
    }

    /// Whether to read the next page: the metadata says so, or (silent) this page was full.
    pub fn has_next(&self) -> bool {
        self.more.unwrap_or(self.items.len() >= PER_PAGE)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The readable text of an envelope's `errors` (or `messages`): strings, or objects with a
/// `message` (and perhaps a `code` or `field`).
pub fn envelope_messages(body: &Value, key: &str) -> Vec<String> {
    let Some(list) = body.get(key).and_then(Value::as_array) else {
        return vec![];
    };
    list.iter()
        .filter_map(|entry| match entry {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => {
                let message = o
                    .get("message")
                    .or_else(|| o.get("error"))
                    .and_then(Value::as_str)?;
                Some(match o.get("field").and_then(Value::as_str) {
                    Some(field) => format!("{field}: {message}"),
                    None => message.to_string(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The panel's words from an answer: the envelope's errors, else the usual shapes.
pub fn panel_message(status: u16, body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let errors = envelope_messages(&json, "errors");
        if !errors.is_empty() {
            return errors.join("; ");
        }
        let messages = envelope_messages(&json, "messages");
        if !messages.is_empty() {
            return messages.join("; ");
        }
    }
    provider_sdk::errors::error_message(status, body)
}

/// What an envelope says: its `result` and `metadata`, or the error it carries (HTTP 200
/// with `success: false` included).
pub fn open_envelope(status: u16, body: &[u8]) -> Result<(Value, Option<Value>), ProviderError> {
    let json: Value = provider_sdk::http::parse_json(status, body)?;
    let success = json.get("success").and_then(Value::as_bool);
    if success == Some(false) {
        return Err(ProviderError::Api(provider_sdk::ApiError {
            status,
            message: format!(
                "Rocket.net answered success: false: {}",
                panel_message(status, body)
            ),
        }));
    }
    if success.is_none() && json.get("result").is_none() {
        return Err(ProviderError::Api(provider_sdk::ApiError {
            status,
            message: "the answer is not Rocket.net's {success, errors, result} envelope".into(),
        }));
    }
    let metadata = json.get("metadata").cloned();
    Ok((json.get("result").cloned().unwrap_or(Value::Null), metadata))
}

/// What Rocket.net's certificate words mean (Cloudflare-style validation statuses).
pub fn certificate_state(status: &str) -> CertificateState {
    let s = status.to_ascii_lowercase();
    match s.as_str() {
        "active" | "issued" | "valid" | "deployed" => CertificateState::Active,
        "" | "none" | "inactive" | "disabled" | "deleted" => CertificateState::None,
        _ if s.contains("fail")
            || s.contains("timed_out")
            || s.contains("timeout")
            || s.contains("expired")
            || s.contains("error")
            || s == "blocked" =>
        {
            CertificateState::Failed
        }
        _ if s.starts_with("pending")
            || s.contains("initializ")
            || s.contains("validat")
            || s.contains("progress")
            || s.contains("issuance")
            || s.contains("deploy") =>
        {
            CertificateState::Pending
        }
        _ => CertificateState::Unknown,
    }
}

/// A name's statuses, wherever the status answer puts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainStatus {
    pub ssl: Option<String>,
    pub hostname: Option<String>,
}

impl DomainStatus {
    pub fn report(&self) -> CertificateReport {
        let state = match &self.ssl {
            Some(ssl) => certificate_state(ssl),
            None => CertificateState::Unknown,
        };
        let mut message = match &self.ssl {
            Some(ssl) => format!("Rocket.net certificate status: {ssl}"),
            None => "Rocket.net does not report a certificate status for this name".into(),
        };
        if let Some(hostname) = &self.hostname {
            message.push_str(&format!("; hostname status: {hostname}"));
        }
        CertificateReport {
            state,
            message,
            expires_at: None,
        }
    }
}

/// The entry for `name` in `GET maindomain/status`'s `result`. Its layout is not documented
/// beyond "the maindomain, any alternate maindomains, and additional domains", so any
/// object naming the domain (`domain`, `name` or `hostname`) is taken, at any depth.
pub fn find_status(result: &Value, name: &str) -> Option<DomainStatus> {
    match result {
        Value::Object(o) => {
            let named = ["domain", "name", "hostname"].iter().any(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(name))
            });
            if named {
                let ssl = ["ssl_status", "certificate_status", "ssl"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string));
                let hostname = ["hostname_status", "status"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string));
                return Some(DomainStatus { ssl, hostname });
            }
            o.values().find_map(|v| find_status(v, name))
        }
        Value::Array(list) => list.iter().find_map(|v| find_status(v, name)),
        _ => None,
    }
}

/// Whether a refused create says the name is taken (the exact words are not documented).
pub fn says_taken(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already") || m.contains("exists") || m.contains("in use") || m.contains("taken")
}

struct Site {
    main_domain: Option<String>,
}

/// Journal keys: what this event did, across retries.
fn created_key(name: &str) -> String {
    format!("create {name}")
}
fn deleted_key(name: &str) -> String {
    format!("delete {name}")
}

struct Api {
    site_id: String,
    base: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let site_id = config::require_id(SITE_ID)?;
        Ok(Api {
            base: format!("{API_BASE}/sites/{site_id}"),
            site_id,
        })
    }

    /// The envelope of an answer, with Rocket.net's statuses in this integration's terms.
    fn read(&self, response: Response) -> Result<(Value, Option<Value>), ProviderError> {
        if response.is_success() {
            return open_envelope(response.status, &response.body);
        }
        let message = panel_message(response.status, &response.body);
        Err(match response.status {
            401 => ProviderError::BadCredentials(format!(
                "Rocket.net refused the session (401): {message}; check {EMAIL} and {PASSWORD}"
            )),
            403 => ProviderError::BadCredentials(format!(
                "Rocket.net does not let this user manage site {} (403): {message}",
                self.site_id
            )),
            404 => ProviderError::NotFound(format!(
                "Rocket.net has no site {} for this user ({message}): check {SITE_ID}",
                self.site_id
            )),
            405 => ProviderError::InvalidInput(message),
            _ => provider_sdk::errors::status_error(
                response.status,
                response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after),
                message,
            ),
        })
    }

    fn send(&self, request: Request) -> Result<Response, ProviderError> {
        request.send().map_err(|e| match e {
            // A session the host could not open reaches the component as a refusal.
            ProviderError::Denied(m) => ProviderError::Denied(format!(
                "{m} (if the host's log says the session login was refused, check {EMAIL} and \
                 {PASSWORD})"
            )),
            other => other,
        })
    }

    fn site(&self) -> Result<Site, ProviderError> {
        let (result, _) = self.read(self.send(Request::get(&self.base))?)?;
        let main_domain = ["domain", "main_domain", "primary_domain"]
            .iter()
            .find_map(|k| result.get(*k).and_then(Value::as_str))
            .map(str::to_ascii_lowercase);
        Ok(Site { main_domain })
    }

    fn domains_page(&self, page: u32) -> Result<Page, ProviderError> {
        let request = Request::get(format!("{}/domains", self.base)).query(&[
            ("page", page.to_string()),
            ("per_page", PER_PAGE.to_string()),
        ]);
        let (result, metadata) = self.read(self.send(request)?)?;
        Page::parse(&result, metadata.as_ref(), page).map_err(|message| {
            ProviderError::Api(provider_sdk::ApiError {
                status: 200,
                message,
            })
        })
    }

    fn all_domains(&self) -> Result<Vec<Domain>, ProviderError> {
        let mut all: Vec<Domain> = Vec::new();
        for page in 1..=MAX_PAGES {
            let current = self.domains_page(page)?;
            let has_next = current.has_next() && !current.items.is_empty();
            for d in current.items {
                if !all.iter().any(|a| a.id == d.id) {
                    all.push(d);
                }
            }
            if !has_next {
                break;
            }
        }
        Ok(all)
    }

    fn find(&self, name: &str) -> Result<Option<Domain>, ProviderError> {
        Ok(self
            .all_domains()?
            .into_iter()
            .find(|d| d.name.eq_ignore_ascii_case(name)))
    }

    fn main_domain_status(&self) -> Result<Value, ProviderError> {
        let url = format!("{}/maindomain/status", self.base);
        Ok(self.read(self.send(Request::get(url))?)?.0)
    }

    fn add(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let current = self.all_domains()?;
        let mut added = Vec::new();
        let mut present = Vec::new();
        for name in names {
            let sent_earlier = journal::recall(&created_key(name)).is_some();
            if current.iter().any(|d| d.name.eq_ignore_ascii_case(name)) {
                if sent_earlier {
                    added.push(name.clone());
                } else {
                    present.push(name.clone());
                }
                continue;
            }
            journal::remember(&created_key(name), "sent");
            let response = self.send(
                Request::post(format!("{}/domains", self.base))
                    .json(&serde_json::json!({ "domain": name })),
            )?;
            match self.read(response) {
                Ok(_) => {
                    log::info(format!("added {name} to site {}", self.site_id));
                    added.push(name.clone());
                }
                Err(error) => {
                    let refused = match &error {
                        ProviderError::InvalidInput(m) => Some(m.clone()),
                        ProviderError::Api(e) if e.status < 500 => Some(e.message.clone()),
                        _ => None,
                    };
                    // A refusal that may mean "already there": the list says whose it is.
                    if let Some(message) = refused.filter(|m| says_taken(m)) {
                        if self.find(name)?.is_some() {
                            if sent_earlier {
                                added.push(name.clone());
                            } else {
                                present.push(name.clone());
                            }
                            continue;
                        }
                        return Err(ProviderError::Conflict(format!(
                            "{name} is held elsewhere on Rocket.net (another site?): {message}"
                        )));
                    }
                    let done = if added.is_empty() {
                        String::new()
                    } else {
                        format!("added {} but ", added.join(", "))
                    };
                    return Err(error.prefixed(&format!("{done}adding {name} failed: ")));
                }
            }
        }
        let mut outcome = if added.is_empty() {
            Outcome::unchanged(format!("{} already on the site", present.join(", ")))
        } else {
            let mut o = Outcome::changed(format!("added {}", added.join(", ")));
            if !present.is_empty() {
                o.notes
                    .push(format!("{} already on the site", present.join(", ")));
            }
            o
        };
        outcome
            .notes
            .push("Rocket.net validates the hostname and issues the certificate automatically once DNS points at the site".into());
        Ok(outcome)
    }

    fn remove(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let current = self.all_domains()?;
        let mut removed = Vec::new();
        for name in names {
            let Some(domain) = current.iter().find(|d| d.name.eq_ignore_ascii_case(name)) else {
                if journal::recall(&deleted_key(name)).is_some() {
                    removed.push(name.clone());
                }
                continue;
            };
            journal::remember(&deleted_key(name), &domain.id);
            let response = self.send(Request::delete(format!(
                "{}/domains/{}",
                self.base, domain.id
            )))?;
            if response.status == 404 {
                // Deleted between the listing and now: the wanted state is reached.
                continue;
            }
            self.read(response).map_err(|e| {
                let done = if removed.is_empty() {
                    String::new()
                } else {
                    format!("removed {} but ", removed.join(", "))
                };
                e.prefixed(&format!("{done}removing {name} failed: "))
            })?;
            log::info(format!(
                "removed {name} (domain id {}) from site {}",
                domain.id, self.site_id
            ));
            removed.push(name.clone());
        }
        Ok(if removed.is_empty() {
            Outcome::unchanged(format!(
                "{} not on the site; nothing to remove",
                names.join(", ")
            ))
        } else {
            Outcome::changed(format!("removed {}", removed.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_login_is_the_documented_one() {
        let login = session_login();
        assert_eq!(login.url, "https://api.rocket.net/v1/login");
        let names: Vec<&str> = login.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["username", "password"]);
        assert!(matches!(&login.fields[0].value, LoginValue::Constant(c) if c == EMAIL));
        assert_eq!(
            login.token_pointer,
            "/token|/result/token|/access_token|/result/access_token"
        );
    }

    #[test]
    fn www_follows_the_policy() {
        assert_eq!(names_for("a.com", true), ["a.com", "www.a.com"]);
        assert_eq!(names_for("a.com", false), ["a.com"]);
        assert_eq!(names_for("www.a.com", true), ["www.a.com"]);
    }

    #[test]
    fn the_list_is_read_from_result() {
        let body = br#"{"success":true,"errors":[],"messages":[],"metadata":{"total":2},
            "result":[{"id":11,"domain":"A.com","ssl_status":"pending","hostname_status":"pending"},
                      {"id":"12","name":"b.com"}]}"#;
        let (result, metadata) = open_envelope(200, body).unwrap();
        let page = Page::parse(&result, metadata.as_ref(), 1).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].id, "11");
        assert_eq!(page.items[0].name, "a.com");
        assert_eq!(page.items[1].id, "12");
        assert!(!page.has_next());
        // The plugin's shapes are not the API's: `data` is not read.
        let plugin = br#"{"success":true,"result":[],"data":[{"id":1,"domain":"a.com"}]}"#;
        let (result, _) = open_envelope(200, plugin).unwrap();
        assert!(Page::parse(&result, None, 1).unwrap().items.is_empty());
    }

    #[test]
    fn paging_follows_metadata_or_full_pages() {
        let full: Vec<Value> = (0..PER_PAGE)
            .map(|i| json!({"id": i, "domain": format!("d{i}.com")}))
            .collect();
        let page = Page::parse(&json!(full), None, 1).unwrap();
        assert!(page.has_next());
        let page = Page::parse(&json!(full), Some(&json!({"total": 100})), 1).unwrap();
        assert!(!page.has_next());
        let page = Page::parse(&json!([]), Some(&json!({"total_pages": 3})), 2).unwrap();
        assert!(page.has_next());
        assert!(Page::parse(&json!({"x": 1}), None, 1).is_err());
    }

    #[test]
    fn errors_inside_http_200_are_errors() {
        let body = br#"{"success":false,"errors":[{"code":400,"message":"Domain already exists"}],"result":null}"#;
        match open_envelope(200, body) {
            Err(ProviderError::Api(e)) => {
                assert_eq!(e.status, 200);
                assert!(e.message.contains("Domain already exists"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        assert!(open_envelope(200, br#"[1,2]"#).is_err());
        assert!(open_envelope(200, br#"{"success":true,"result":{"id":1}}"#).is_ok());
    }

    #[test]
    fn messages_in_both_shapes() {
        let strings = br#"{"success":false,"errors":["Given site not found for user"]}"#;
        assert_eq!(panel_message(404, strings), "Given site not found for user");
        let objects = br#"{"success":false,"errors":[{"field":"domain","message":"is invalid"}]}"#;
        assert_eq!(panel_message(400, objects), "domain: is invalid");
        assert_eq!(
            panel_message(401, br#"{"message":"Authentication failed"}"#),
            "Authentication failed"
        );
        assert!(says_taken("The domain a.com is already in use"));
        assert!(!says_taken("Invalid input"));
    }

    #[test]
    fn statuses_are_found_at_any_depth() {
        let nested = json!({"domain": "main.com", "ssl_status": "active",
            "additional_domains": [{"domain": "a.com", "hostname_status": "active", "ssl_status": "pending_validation"}]});
        let a = find_status(&nested, "a.com").unwrap();
        assert_eq!(a.ssl.as_deref(), Some("pending_validation"));
        assert_eq!(a.report().state, CertificateState::Pending);
        assert_eq!(
            find_status(&nested, "main.com").unwrap().report().state,
            CertificateState::Active
        );
        let flat = json!([{"hostname": "b.com", "ssl_status": "validation_timed_out"}]);
        assert_eq!(
            find_status(&flat, "b.com").unwrap().report().state,
            CertificateState::Failed
        );
        assert!(find_status(&flat, "c.com").is_none());
    }

    #[test]
    fn certificate_words() {
        assert_eq!(certificate_state("active"), CertificateState::Active);
        assert_eq!(certificate_state("pending"), CertificateState::Pending);
        assert_eq!(
            certificate_state("pending_deployment"),
            CertificateState::Pending
        );
        assert_eq!(certificate_state("failed"), CertificateState::Failed);
        assert_eq!(certificate_state("none"), CertificateState::None);
        assert_eq!(certificate_state("mystery"), CertificateState::Unknown);
    }
}
