//! cPanel: mapped domains are addon domains of the cPanel account, subdomain sites are its
//! subdomains, and AutoSSL is asked to check the account once DNS points here.
//!
//! API (`panel-apis-a.md` §2), on the account's own cPanel (`https://{host}:2083`):
//! - UAPI `/execute/<Module>/<function>` answers `{status, errors, messages, data, ...}`;
//!   API 2 `/json-api/cpanel?cpanel_jsonapi_module=M&cpanel_jsonapi_func=f&
//!   cpanel_jsonapi_apiversion=2` answers `{"cpanelresult": {data, error, event}}`. Both
//!   answer failures with HTTP 200: `status: 0`, `result: 0` or `cpanelresult.error` is an
//!   error with cPanel's own text.
//! - Auth: an API token as `Authorization: cpanel <user>:<token>` (both host-held, put in by
//!   placeholders), or the account password as HTTP Basic (attached by the host).
//! - `DomainInfo::list_domains` (UAPI) is the account's view: main, addon, parked and sub
//!   domains. It is every operation's first read, and `test-connection`'s only one.
//! - Add: `AddonDomain::addaddondomain` with `newdomain`, the subdomain label and the
//!   document root; UAPI's from cPanel 11.138, API 2's before (chosen by what cPanel
//!   answers: "Failed to load module" / "could not find the function").
//! - Remove: `AddonDomain::deladdondomain` with `domain` and the key cPanel really uses,
//!   `<label>_<main domain>`, read from `AddonDomain::listaddondomains` (API 2; the main
//!   domain from `list_domains`), never guessed.
//! - Subdomain sites: UAPI `SubDomain::addsubdomain` (label + root domain of the account),
//!   API 2 `SubDomain::delsubdomain` (no UAPI equivalent).
//! - `request-certificate`: UAPI `SSL::start_autossl_check`, unless
//!   `SSL::is_autossl_check_in_progress` says one is running.
//!
//! Unlike the PHP plugin: a token needs no session login; every answer is checked (the
//! plugin only logs `reason`); removal uses cPanel's own key instead of
//! `<domain without dots>_<WordPress host>`, which breaks when WordPress is not the account's
//! main domain; a label already used by another subdomain is not reused (cPanel would park
//! the new domain on it); subdomain sites are removed; AutoSSL is really asked for; and a
//! retried event says what it did (the journal remembers a write whose answer was lost).

use provider_sdk::errors::{error_message, status_error};
use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, ApiError, AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent,
    DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, config,
    journal, log,
};
use serde_json::Value;

pub const USERNAME: &str = "WU_CPANEL_USERNAME";
pub const API_TOKEN: &str = "WU_CPANEL_API_TOKEN";
pub const PASSWORD: &str = "WU_CPANEL_PASSWORD";
pub const HOST: &str = "WU_CPANEL_HOST";
pub const PORT: &str = "WU_CPANEL_PORT";
pub const ROOT_DIR: &str = "WU_CPANEL_ROOT_DIR";
pub const DEFAULT_PORT: &str = "2083";
pub const DEFAULT_ROOT_DIR: &str = "/public_html";

pub struct CPanel;

impl DomainProvider for CPanel {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "cpanel".into(),
            title: "cPanel".into(),
            description: "Adds mapped domains as addon domains of a cPanel account, creates and \
                          deletes the subdomains of subdomain sites, and asks AutoSSL for their \
                          certificates."
                .into(),
            tutorial_link: "https://ultimatemultisite.com/docs/user-guide/host-integrations/cpanel"
                .into(),
            constants: vec![
                ConstantSpec::required(USERNAME, "Username", "The cPanel account's username"),
                ConstantSpec::optional(
                    API_TOKEN,
                    "API token",
                    "cPanel > Security > Manage API Tokens",
                )
                .secret(),
                ConstantSpec::optional(PASSWORD, "Password", "The cPanel account's password")
                    .secret(),
                ConstantSpec::required(
                    HOST,
                    "Host",
                    "The server's host name, as in https://HOST:2083 (a URL is fine)",
                ),
                ConstantSpec::optional(PORT, "Port", "cPanel's HTTPS port (2083)"),
                ConstantSpec::optional(
                    ROOT_DIR,
                    "Document root",
                    "WordPress's folder, relative to the account's home (/public_html)",
                ),
            ],
            any_of: vec![AnyOfGroup {
                label: "cPanel credentials".into(),
                options: vec![vec![API_TOKEN.into()], vec![PASSWORD.into()]],
            }],
            // Not independent-domains: labels are chosen against the account's subdomain
            // list, and AutoSSL checks the whole account.
            capabilities: Capabilities::AUTO_SSL | Capabilities::SUBDOMAINS | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS | Operations::REQUEST_CERTIFICATE,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec![format!("{{{HOST}}}:{{{PORT}:{DEFAULT_PORT}}}")],
            // The password goes as HTTP Basic, attached by the host. A token goes in a header
            // the component composes from placeholders (see `Api::auth_header`).
            auth: vec![AuthScheme::Basic(BasicAuth {
                username_constant: USERNAME.into(),
                password_constant: PASSWORD.into(),
            })],
            account_constants: vec![HOST.into(), PORT.into(), USERNAME.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let d = api.domains()?;
        Ok(Outcome::unchanged(format!(
            "cPanel account reachable ({} auth): main domain {}, {} addon, {} parked and {} \
             sub domain(s)",
            if api.token { "API token" } else { "password" },
            d.main,
            d.addons.len(),
            d.parked.len(),
            d.subs.len()
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add_domain(&event.domain)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove_domain(&event.domain)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add_subdomain(&event.domain)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove_subdomain(&event.domain)
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let d = api.domains()?;
        let backing: Vec<String> = if d.addons.is_empty() {
            vec![]
        } else {
            api.addon_entries()?
                .iter()
                .filter_map(|e| e.full_subdomain(&d.main))
                .collect()
        };
        let entry = |name: &String, primary: bool| PanelDomain {
            name: name.clone(),
            // cPanel adds www. to every domain it creates, but the list does not say.
            www: None,
            certificate: None,
            primary,
        };
        let mut list = vec![entry(&d.main, true)];
        list.extend(d.addons.iter().map(|n| entry(n, false)));
        list.extend(d.parked.iter().map(|n| entry(n, false)));
        // Subdomains, less those that only carry an addon domain.
        list.extend(
            d.subs
                .iter()
                .filter(|s| !backing.iter().any(|b| b.eq_ignore_ascii_case(s)))
                .map(|n| entry(n, false)),
        );
        Ok(list)
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let d = api.domains()?;
        if d.kind_of(&event.domain).is_none() {
            return Err(ProviderError::NotFound(format!(
                "{} is not a domain of the cPanel account; map the domain first",
                event.domain
            )));
        }
        let running = api
            .uapi_read("SSL", "is_autossl_check_in_progress", &[])?
            .map_err(|text| classify(&text).prefixed("reading AutoSSL's state failed: "))?;
        if truthy(&running) {
            return Ok(if journal::recall(AUTOSSL).is_some() {
                Outcome::changed(AUTOSSL_QUEUED)
            } else {
                Outcome::unchanged("an AutoSSL check of the account is already running")
            });
        }
        journal::remember(AUTOSSL, "sent");
        api.uapi_write("SSL", "start_autossl_check", &[])?
            .map_err(|text| classify(&text).prefixed("starting AutoSSL failed: "))?;
        log::info("AutoSSL check queued");
        Ok(Outcome::changed(AUTOSSL_QUEUED).with_note(format!(
            "AutoSSL covers {} and its www. name once their DNS points at this server",
            event.domain
        )))
    }
}

provider_sdk::export_provider!(CPanel);

const AUTOSSL: &str = "autossl";
const AUTOSSL_QUEUED: &str = "AutoSSL check of the account queued";

/// The cPanel URL from the operator's host and port, as the host builds the allow-list
/// entry: a URL keeps its scheme and port, a bare host gets HTTPS and the port (2083).
pub fn base_url(host: &str, port: Option<&str>) -> Result<String, ProviderError> {
    provider_sdk::url::panel_base(HOST, host, PORT, port, DEFAULT_PORT)
}

/// The subdomain label an addon domain gets: the domain without dots, as the PHP plugin
/// made them (`shop.example.com` → `shopexamplecom`), kept to a DNS label's length.
pub fn label_for(domain: &str) -> String {
    let mut label = String::new();
    for c in domain.to_ascii_lowercase().chars() {
        // No "--" (an IDN's `xn--` would make the label look like punycode).
        if (c.is_ascii_alphanumeric() || c == '-') && !(c == '-' && label.ends_with('-')) {
            label.push(c);
        }
    }
    label.truncate(56);
    while label.ends_with('-') {
        label.pop();
    }
    label
}

/// `label`, or `label2`, `label3`, ... when `label.<main>` is already a subdomain of the
/// account: cPanel would reuse that subdomain and park the new domain on someone else's.
pub fn free_label(label: &str, main: &str, subs: &[String]) -> Option<String> {
    let taken = |l: &str| {
        subs.iter()
            .any(|s| s.eq_ignore_ascii_case(&format!("{l}.{main}")))
    };
    if !taken(label) {
        return Some(label.to_string());
    }
    (2..100).map(|n| format!("{label}{n}")).find(|l| !taken(l))
}

/// The account's domains, as `DomainInfo::list_domains` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domains {
    pub main: String,
    pub addons: Vec<String>,
    pub parked: Vec<String>,
    pub subs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Main,
    Addon,
    Parked,
    Sub,
}

impl Domains {
    pub fn parse(data: &Value) -> Result<Domains, ProviderError> {
        let names = |key: &str| -> Vec<String> {
            data.get(key)
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        // A string (as cPanel answers); an array in the 11.125 spec.
        let main = match data.get("main_domain") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(list)) => list
                .iter()
                .find_map(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
        .trim_end_matches('.')
        .to_ascii_lowercase();
        if main.is_empty() {
            // cPanel blanks values it will not show, instead of failing.
            return Err(ProviderError::Api(ApiError {
                status: 200,
                message: "cPanel listed no main domain for the account: the user may lack \
                          the permission to list domains"
                    .into(),
            }));
        }
        Ok(Domains {
            main,
            addons: names("addon_domains"),
            parked: names("parked_domains"),
            subs: names("sub_domains"),
        })
    }

    pub fn kind_of(&self, name: &str) -> Option<Kind> {
        let has = |list: &[String]| list.iter().any(|d| d.eq_ignore_ascii_case(name));
        if self.main.eq_ignore_ascii_case(name) {
            Some(Kind::Main)
        } else if has(&self.addons) {
            Some(Kind::Addon)
        } else if has(&self.parked) {
            Some(Kind::Parked)
        } else if has(&self.subs) {
            Some(Kind::Sub)
        } else {
            None
        }
    }

    /// The account domain `host` is a subdomain of (the longest), and the label below it.
    pub fn root_of(&self, host: &str) -> Option<(String, String)> {
        let host = host.to_ascii_lowercase();
        std::iter::once(&self.main)
            .chain(&self.addons)
            .chain(&self.parked)
            .filter_map(|root| {
                host.strip_suffix(&format!(".{root}"))
                    .map(|label| (root.clone(), label.to_string()))
            })
            .max_by_key(|(root, _)| root.len())
    }
}

/// One entry of API 2 `AddonDomain::listaddondomains`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonEntry {
    pub domain: String,
    pub subdomain: Option<String>,
    pub domainkey: Option<String>,
    pub fullsubdomain: Option<String>,
}

impl AddonEntry {
    pub fn parse(item: &Value) -> Option<AddonEntry> {
        let text = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        Some(AddonEntry {
            domain: text("domain")?.to_ascii_lowercase(),
            subdomain: text("subdomain"),
            domainkey: text("domainkey"),
            fullsubdomain: text("fullsubdomain"),
        })
    }

    /// The key `deladdondomain` wants: cPanel's `domainkey`, else `<label>_<main>`.
    pub fn key(&self, main: &str) -> Option<String> {
        self.domainkey
            .clone()
            .or_else(|| self.subdomain.as_ref().map(|l| format!("{l}_{main}")))
    }

    fn full_subdomain(&self, main: &str) -> Option<String> {
        self.fullsubdomain
            .clone()
            .or_else(|| self.subdomain.as_ref().map(|l| format!("{l}.{main}")))
            .map(|s| s.to_ascii_lowercase())
    }
}

/// What a UAPI answer says: the data of a success, or cPanel's text for a failure.
pub fn uapi_result(body: &Value) -> Result<Value, String> {
    // Direct calls answer the object itself; WHM-proxied ones wrap it in `result`.
    let inner = match body.get("result") {
        Some(r) if r.get("status").is_some() => r,
        _ => body,
    };
    let status = inner.get("status");
    let ok = status.is_some_and(truthy);
    if ok {
        return Ok(inner.get("data").cloned().unwrap_or(Value::Null));
    }
    let errors = texts(inner.get("errors"));
    Err(if !errors.is_empty() {
        errors.join(" ")
    } else if status.is_none() {
        "the answer is not a UAPI result".to_string()
    } else {
        "cPanel reported a failure without a message".to_string()
    })
}

/// What an API 2 answer says: its data, or cPanel's text for a failure (`cpanelresult.error`,
/// `event.result: 0`, or `data[0].result: 0` with its `reason`).
pub fn api2_result(body: &Value) -> Result<Value, String> {
    let Some(result) = body.get("cpanelresult") else {
        return Err("the answer is not an API 2 result".into());
    };
    let first = match result.get("data") {
        Some(Value::Array(list)) => list.first().cloned(),
        Some(other @ Value::Object(_)) => Some(other.clone()),
        _ => None,
    };
    let reason = first
        .as_ref()
        .and_then(|d| d.get("reason"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(error) = result
        .get("error")
        .and_then(Value::as_str)
        .filter(|e| !e.trim().is_empty())
    {
        return Err(error.to_string());
    }
    let failed = |v: Option<&Value>| v.is_some_and(|v| !truthy(v));
    if failed(result.get("event").and_then(|e| e.get("result")))
        || failed(first.as_ref().and_then(|d| d.get("result")))
    {
        return Err(reason.unwrap_or_else(|| "cPanel reported a failure without a reason".into()));
    }
    Ok(result.get("data").cloned().unwrap_or(Value::Null))
}

/// `1`, `"1"`, `true`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => s.trim() != "0" && !s.trim().is_empty(),
        _ => false,
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => vec![],
    }
}

/// Whether cPanel's text says the UAPI call does not exist on this version.
pub fn missing_function(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("failed to load module") || t.contains("could not find the function")
}

/// Whether cPanel's text is the FTP account limit `addaddondomain` runs into when it also
/// creates the addon domain's FTP account ("You have exceeded the maximum allowed FTP
/// accounts.", `panel-apis-a.md` §2.5).
pub fn names_ftp_limit(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("ftp") && (t.contains("exceeded") || t.contains("limit") || t.contains("maximum"))
}

pub fn already_exists(text: &str) -> bool {
    text.to_ascii_lowercase().contains("already exists")
}

/// The contract's error for a cPanel failure text that needs no special handling.
pub fn classify(text: &str) -> ProviderError {
    let t = text.to_ascii_lowercase();
    if t.contains("limit") && (t.contains("reached") || t.contains("exceeded"))
        || t.contains("exceeded the maximum")
    {
        ProviderError::LimitReached(format!("cPanel: {text}"))
    } else if t.contains("invalid domain")
        || t.contains("wildcard")
        || t.contains("is not a valid")
        || t.contains("cannot create the")
    {
        ProviderError::InvalidInput(format!("cPanel: {text}"))
    } else {
        ProviderError::Api(ApiError {
            status: 200,
            message: format!("cPanel: {text}"),
        })
    }
}

/// The words of an answer cPanel refused at the HTTP level (API 2's JSON, or text).
fn refusal_text(response: &Response) -> String {
    if let Ok(json) = serde_json::from_slice::<Value>(&response.body)
        && let Some(result) = json.get("cpanelresult")
    {
        let error = result.get("error").and_then(Value::as_str);
        let reason = result.pointer("/data/reason").and_then(Value::as_str);
        if let Some(text) = error.or(reason) {
            return text.to_string();
        }
    }
    error_message(response.status, &response.body)
}

/// Journal keys: what this event sent, across its retries.
fn created_key(name: &str) -> String {
    format!("created {name}")
}
fn deleted_key(name: &str) -> String {
    format!("deleted {name}")
}

struct Api {
    base: String,
    /// The token is used (no password set).
    token: bool,
    root_dir: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let host = config::require(HOST)?;
        let base = base_url(&host, config::get(PORT).as_deref())?;
        let root_dir = config::get(ROOT_DIR).unwrap_or_else(|| DEFAULT_ROOT_DIR.to_string());
        if root_dir.contains("..") || root_dir.chars().any(|c| c.is_control()) {
            return Err(ProviderError::InvalidInput(format!(
                "{ROOT_DIR} must be a folder in the account's home (got {root_dir:?})"
            )));
        }
        Ok(Api {
            base,
            token: !config::is_set(PASSWORD),
            root_dir,
        })
    }

    /// `Authorization: cpanel <user>:<token>`, both put in by the host. With a password
    /// the host attaches HTTP Basic itself (and would replace this header).
    fn auth_header(&self) -> Result<Option<String>, ProviderError> {
        if !self.token {
            return Ok(None);
        }
        let user = config::secret(USERNAME).in_header()?;
        let token = config::secret(API_TOKEN).in_header()?;
        Ok(Some(format!("cpanel {user}:{token}")))
    }

    fn send(&self, request: Request) -> Result<Value, ProviderError> {
        let request = match self.auth_header()? {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        let response = request.send()?;
        self.check(&response)?;
        match serde_json::from_slice::<Value>(&response.body) {
            Ok(json) => Ok(json),
            Err(_) => {
                let text = error_message(response.status, &response.body);
                if text.to_ascii_lowercase().contains("login") {
                    Err(self.rejected(&text))
                } else {
                    Err(ProviderError::Api(ApiError {
                        status: response.status,
                        message: format!("cPanel answered something that is not JSON: {text}"),
                    }))
                }
            }
        }
    }

    fn rejected(&self, text: &str) -> ProviderError {
        let which = if self.token { API_TOKEN } else { PASSWORD };
        ProviderError::BadCredentials(format!(
            "cPanel refused the credentials ({text}); check {USERNAME} and {which}"
        ))
    }

    /// HTTP-level refusals: 401/403 are the credentials (cPanel answers API-level failures
    /// with 200), the rest by status.
    fn check(&self, response: &Response) -> Result<(), ProviderError> {
        match response.status {
            200..=299 => Ok(()),
            401 | 403 => Err(self.rejected(&refusal_text(response))),
            status => {
                let retry_after = response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after);
                Err(status_error(status, retry_after, refusal_text(response)).prefixed("cPanel: "))
            }
        }
    }

    fn uapi_url(&self, module: &str, function: &str) -> String {
        format!("{}/execute/{module}/{function}", self.base)
    }

    /// A UAPI read (GET): its data, or cPanel's text when it reports a failure.
    fn uapi_read(
        &self,
        module: &str,
        function: &str,
        params: &[(&str, String)],
    ) -> Result<Result<Value, String>, ProviderError> {
        let json = self.send(Request::get(self.uapi_url(module, function)).query(params))?;
        Ok(uapi_result(&json))
    }

    /// A UAPI write (POST, form body).
    fn uapi_write(
        &self,
        module: &str,
        function: &str,
        params: &[(&str, String)],
    ) -> Result<Result<Value, String>, ProviderError> {
        let json = self.send(Request::post(self.uapi_url(module, function)).form(params))?;
        Ok(uapi_result(&json))
    }

    /// An API 2 call (POST, form body).
    fn api2(
        &self,
        module: &str,
        function: &str,
        params: &[(&str, String)],
    ) -> Result<Result<Value, String>, ProviderError> {
        let mut fields: Vec<(&str, String)> = vec![
            ("cpanel_jsonapi_apiversion", "2".into()),
            ("cpanel_jsonapi_module", module.into()),
            ("cpanel_jsonapi_func", function.into()),
        ];
        fields.extend(params.iter().cloned());
        let json =
            self.send(Request::post(format!("{}/json-api/cpanel", self.base)).form(&fields))?;
        Ok(api2_result(&json))
    }

    /// A write through UAPI's AddonDomain module where this cPanel has it (11.138 on),
    /// API 2's otherwise.
    fn addon_call(
        &self,
        function: &str,
        params: &[(&str, String)],
        api2_extra: &[(&str, String)],
    ) -> Result<Result<Value, String>, ProviderError> {
        match self.uapi_write("AddonDomain", function, params)? {
            Err(text) if missing_function(&text) => {
                log::debug(format!(
                    "UAPI AddonDomain::{function} is not on this cPanel ({text}); using API 2"
                ));
                let mut all = params.to_vec();
                all.extend(api2_extra.iter().cloned());
                self.api2("AddonDomain", function, &all)
            }
            other => Ok(other),
        }
    }

    fn domains(&self) -> Result<Domains, ProviderError> {
        let data = self
            .uapi_read("DomainInfo", "list_domains", &[])?
            .map_err(|text| classify(&text).prefixed("listing the account's domains failed: "))?;
        Domains::parse(&data)
    }

    fn addon_entries(&self) -> Result<Vec<AddonEntry>, ProviderError> {
        let data = self
            .api2("AddonDomain", "listaddondomains", &[])?
            .map_err(|text| classify(&text).prefixed("listing the addon domains failed: "))?;
        Ok(data
            .as_array()
            .map(|list| list.iter().filter_map(AddonEntry::parse).collect())
            .unwrap_or_default())
    }

    /// A name the account already has: success, and what the event did about it.
    fn present(&self, name: &str, kind: Kind, want: Kind, key: &str) -> Outcome {
        if kind == want && journal::recall(key).is_some() {
            return Outcome::changed(match want {
                Kind::Sub => format!("added subdomain {name}"),
                _ => format!("added addon domain {name}"),
            });
        }
        Outcome::unchanged(match kind {
            Kind::Main => format!("{name} is the account's main domain"),
            Kind::Addon => format!("{name} is already an addon domain of the account"),
            Kind::Parked => format!(
                "{name} is already parked on the account (an alias of its main domain), so it \
                 is served already"
            ),
            Kind::Sub => format!("{name} is already a subdomain of the account"),
        })
    }

    fn add_domain(&self, name: &str) -> Result<Outcome, ProviderError> {
        let key = created_key(name);
        let d = self.domains()?;
        if let Some(kind) = d.kind_of(name) {
            return Ok(self.present(name, kind, Kind::Addon, &key));
        }
        if d.root_of(name).is_some() {
            // Under a domain of the account: cPanel serves it as a subdomain (a subdomain
            // network maps its sites' hosts too), never as an addon domain.
            return self.add_subdomain_in(&d, name);
        }
        let label = free_label(&label_for(name), &d.main, &d.subs).ok_or_else(|| {
            ProviderError::Conflict(format!("no free subdomain label for {name}"))
        })?;
        journal::remember(&key, &label);
        // `addaddondomain` also creates an FTP account, which counts against the account's
        // FTP limit (UAPI spec 11.138); `ftp_is_optional=1` lets it go on without one (API 2,
        // `panel-apis-a.md` §2.5). It is sent on UAPI too; whether UAPI reads it is
        // unverified, so an FTP-limit refusal there is retried through API 2, which reads it
        // (the subdomain a failed attempt left is reused, as cPanel documents).
        let params = [
            ("newdomain", name.to_string()),
            ("subdomain", label.clone()),
            ("dir", self.root_dir.clone()),
            ("ftp_is_optional", "1".to_string()),
        ];
        let outcome = match self.addon_call("addaddondomain", &params, &[])? {
            Err(text) if names_ftp_limit(&text) => {
                log::debug(format!(
                    "UAPI AddonDomain::addaddondomain ran into the FTP account limit ({text}); \
                     using API 2 with ftp_is_optional=1"
                ));
                self.api2("AddonDomain", "addaddondomain", &params)?
            }
            other => other,
        };
        match outcome {
            Ok(_) => {
                log::info(format!("added addon domain {name} on {label}.{}", d.main));
                Ok(Outcome::changed(format!(
                    "added addon domain {name} (subdomain {label}.{}, document root {})",
                    d.main, self.root_dir
                )))
            }
            Err(text) if already_exists(&text) => match self.domains()?.kind_of(name) {
                Some(kind) => Ok(self.present(name, kind, Kind::Addon, &key)),
                None => Err(ProviderError::Conflict(format!(
                    "cPanel says {name} already exists ({text}), but not on this account: \
                     another account on the server holds it"
                ))),
            },
            Err(text) => Err(classify(&text).prefixed(&format!("adding {name} failed: "))),
        }
    }

    fn remove_domain(&self, name: &str) -> Result<Outcome, ProviderError> {
        let key = deleted_key(name);
        let gone = |note: Option<String>| {
            let outcome = if journal::recall(&key).is_some() {
                Outcome::changed(format!("removed addon domain {name}"))
            } else {
                Outcome::unchanged(format!(
                    "{name} is not an addon domain of the account; nothing to remove"
                ))
            };
            match note {
                Some(note) => outcome.with_note(note),
                None => outcome,
            }
        };
        let d = self.domains()?;
        match d.kind_of(name) {
            Some(Kind::Addon) => {}
            Some(Kind::Main) => {
                return Err(ProviderError::Conflict(format!(
                    "{name} is the cPanel account's main domain; it is never removed from here"
                )));
            }
            Some(Kind::Parked) => {
                return Ok(gone(Some(format!(
                    "{name} is parked on the account (not an addon domain); left as is"
                ))));
            }
            Some(Kind::Sub) => {
                return Ok(gone(Some(format!(
                    "{name} is a subdomain of the account; remove-subdomain removes it"
                ))));
            }
            None => return Ok(gone(None)),
        }
        let entries = self.addon_entries()?;
        let Some(subdomain) = entries
            .iter()
            .find(|e| e.domain.eq_ignore_ascii_case(name))
            .and_then(|e| e.key(&d.main))
        else {
            return Err(ProviderError::Api(ApiError {
                status: 200,
                message: format!(
                    "cPanel lists {name} as an addon domain but listaddondomains has no key for it"
                ),
            }));
        };
        journal::remember(&key, &subdomain);
        let params = [
            ("domain", name.to_string()),
            ("subdomain", subdomain.clone()),
        ];
        match self.addon_call("deladdondomain", &params, &[])? {
            Ok(_) => {
                log::info(format!("removed addon domain {name} ({subdomain})"));
                Ok(Outcome::changed(format!("removed addon domain {name}")))
            }
            Err(text) => {
                // Gone meanwhile ("does not correspond" once the pair no longer exists)?
                if self.domains()?.kind_of(name) != Some(Kind::Addon) {
                    return Ok(Outcome::unchanged(format!("{name} was already removed")));
                }
                Err(classify(&text).prefixed(&format!("removing {name} failed: ")))
            }
        }
    }

    fn add_subdomain(&self, host: &str) -> Result<Outcome, ProviderError> {
        let d = self.domains()?;
        self.add_subdomain_in(&d, host)
    }

    fn add_subdomain_in(&self, d: &Domains, host: &str) -> Result<Outcome, ProviderError> {
        let key = created_key(host);
        if let Some(kind) = d.kind_of(host) {
            return Ok(self.present(host, kind, Kind::Sub, &key));
        }
        let Some((root, label)) = d.root_of(host) else {
            return Err(ProviderError::InvalidInput(format!(
                "{host} is not under a domain of the cPanel account (main domain {})",
                d.main
            )));
        };
        journal::remember(&key, "sent");
        let params = [
            ("domain", label.clone()),
            ("rootdomain", root.clone()),
            ("dir", self.root_dir.clone()),
        ];
        match self.uapi_write("SubDomain", "addsubdomain", &params)? {
            Ok(_) => {
                log::info(format!("added subdomain {host}"));
                Ok(Outcome::changed(format!(
                    "added subdomain {host} (document root {})",
                    self.root_dir
                )))
            }
            Err(text) if already_exists(&text) => match self.domains()?.kind_of(host) {
                Some(kind) => Ok(self.present(host, kind, Kind::Sub, &key)),
                None => Err(ProviderError::Conflict(format!(
                    "cPanel says {host} already exists ({text}), but not on this account"
                ))),
            },
            Err(text) => Err(classify(&text).prefixed(&format!("adding {host} failed: "))),
        }
    }

    fn remove_subdomain(&self, host: &str) -> Result<Outcome, ProviderError> {
        let key = deleted_key(host);
        let d = self.domains()?;
        if d.kind_of(host) != Some(Kind::Sub) {
            return Ok(if journal::recall(&key).is_some() {
                Outcome::changed(format!("removed subdomain {host}"))
            } else {
                Outcome::unchanged(format!(
                    "{host} is not a subdomain of the account; nothing to remove"
                ))
            });
        }
        journal::remember(&key, "sent");
        // API 2 only: UAPI has no delete. Both `label_root` and the full name are accepted.
        match self.api2("SubDomain", "delsubdomain", &[("domain", host.to_string())])? {
            Ok(_) => {
                log::info(format!("removed subdomain {host}"));
                Ok(Outcome::changed(format!("removed subdomain {host}")))
            }
            Err(text) if text.to_ascii_lowercase().contains("addon domain") => {
                Err(ProviderError::Conflict(format!("cPanel: {text}")))
            }
            Err(text) => {
                if self.domains()?.kind_of(host) != Some(Kind::Sub) {
                    return Ok(Outcome::unchanged(format!("{host} was already removed")));
                }
                Err(classify(&text).prefixed(&format!("removing {host} failed: ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_url_follows_the_hosts_template() {
        assert_eq!(
            base_url("cp.example.com", None).unwrap(),
            "https://cp.example.com:2083"
        );
        assert_eq!(
            base_url("cp.example.com", Some("2087")).unwrap(),
            "https://cp.example.com:2087"
        );
        assert_eq!(
            base_url("https://cp.example.com:2083/", Some("9999")).unwrap(),
            "https://cp.example.com:2083"
        );
        assert_eq!(
            base_url("https://cp.example.com/cpanel", None).unwrap(),
            "https://cp.example.com:2083"
        );
        assert!(base_url("ftp://cp.example.com", None).is_err());
        assert!(base_url("cp example.com", None).is_err());
        assert!(base_url("cp.example.com", Some("http")).is_err());
    }

    #[test]
    fn labels_are_the_domain_without_dots_and_never_reused() {
        assert_eq!(label_for("shop.example.com"), "shopexamplecom");
        assert_eq!(label_for("a-b.co.uk"), "a-bcouk");
        assert_eq!(label_for("xn--bcher-kva.example"), "xn-bcher-kvaexample");
        assert!(label_for(&format!("{}.com", "x".repeat(80))).len() <= 56);
        let subs = vec!["shopexamplecom.main.com".to_string()];
        assert_eq!(
            free_label("shopexamplecom", "main.com", &subs).unwrap(),
            "shopexamplecom2"
        );
        assert_eq!(free_label("other", "main.com", &subs).unwrap(), "other");
    }

    #[test]
    fn uapi_answers() {
        let ok = json!({"messages":null,"errors":null,"status":1,"metadata":{},"data":{"x":1},"warnings":null});
        assert_eq!(uapi_result(&ok).unwrap(), json!({"x":1}));
        let failed = json!({"status":0,"errors":["The domain “a.com” already exists in the userdata."],"data":null});
        assert!(already_exists(&uapi_result(&failed).unwrap_err()));
        let wrapped =
            json!({"apiversion":3,"func":"f","module":"M","result":{"status":1,"data":0}});
        assert_eq!(uapi_result(&wrapped).unwrap(), json!(0));
        assert!(uapi_result(&json!({"cpanelresult":{}})).is_err());
    }

    #[test]
    fn api2_answers_fail_on_any_of_the_three_signals() {
        let ok = json!({"cpanelresult":{"apiversion":2,"data":[{"result":1,"reason":"added"}],"event":{"result":1}}});
        assert!(api2_result(&ok).is_ok());
        let reason = json!({"cpanelresult":{"data":[{"result":0,"reason":"The subdomain x does not correspond to a.com."}],"event":{"result":1}}});
        assert!(
            api2_result(&reason)
                .unwrap_err()
                .contains("does not correspond")
        );
        let error = json!({"cpanelresult":{"data":[{"result":"1"}],"error":"Access denied","event":{"result":1}}});
        assert_eq!(api2_result(&error).unwrap_err(), "Access denied");
        let event = json!({"cpanelresult":{"data":[],"event":{"result":0}}});
        assert!(api2_result(&event).is_err());
    }

    #[test]
    fn list_domains_shapes() {
        let d = Domains::parse(&json!({"main_domain":"Main.com","addon_domains":["a.com"],"parked_domains":[],"sub_domains":["acom.main.com","site1.main.com"]})).unwrap();
        assert_eq!(d.main, "main.com");
        assert_eq!(d.kind_of("a.com"), Some(Kind::Addon));
        assert_eq!(d.kind_of("site1.main.com"), Some(Kind::Sub));
        assert_eq!(d.kind_of("b.com"), None);
        let old = Domains::parse(&json!({"main_domain":["main.com"]})).unwrap();
        assert_eq!(old.main, "main.com");
        assert!(Domains::parse(&json!({"main_domain":""})).is_err());
    }

    #[test]
    fn subdomain_sites_find_their_root() {
        let d = Domains {
            main: "main.com".into(),
            addons: vec!["net.org".into()],
            parked: vec![],
            subs: vec![],
        };
        assert_eq!(
            d.root_of("site1.main.com"),
            Some(("main.com".into(), "site1".into()))
        );
        assert_eq!(
            d.root_of("a.b.net.org"),
            Some(("net.org".into(), "a.b".into()))
        );
        assert_eq!(d.root_of("site1.other.com"), None);
    }

    #[test]
    fn the_removal_key_is_cpanels_own() {
        let e = AddonEntry::parse(&json!({"domain":"a.com","subdomain":"acom","rootdomain":"main.com","domainkey":"acom_main.com","fullsubdomain":"acom.main.com"})).unwrap();
        assert_eq!(e.key("main.com").unwrap(), "acom_main.com");
        let e = AddonEntry::parse(&json!({"domain":"a.com","subdomain":"custom"})).unwrap();
        assert_eq!(e.key("main.com").unwrap(), "custom_main.com");
    }

    #[test]
    fn the_ftp_limit_text_is_recognised() {
        assert!(names_ftp_limit(
            "You have exceeded the maximum allowed FTP accounts."
        ));
        assert!(names_ftp_limit(
            "You have exceeded the maximum allowed FTP (File Transfer Protocol) accounts."
        ));
        assert!(!names_ftp_limit(
            "Your addon domain limit of 2 addon domain(s) has been reached."
        ));
    }

    #[test]
    fn failure_texts_are_classified() {
        assert!(matches!(
            classify("Your addon domain limit of 2 addon domain(s) has been reached."),
            ProviderError::LimitReached(_)
        ));
        assert!(matches!(
            classify("You have exceeded the maximum allowed FTP accounts."),
            ProviderError::LimitReached(_)
        ));
        assert!(matches!(
            classify("You cannot create a wildcard addon domain."),
            ProviderError::InvalidInput(_)
        ));
        assert!(matches!(classify("boom"), ProviderError::Api(_)));
        assert!(missing_function(
            "Failed to load module “AddonDomain”: Can't locate Cpanel/API/AddonDomain.pm"
        ));
        assert!(missing_function(
            "The system could not find the function “addaddondomain” in the module “AddonDomain”."
        ));
    }
}
