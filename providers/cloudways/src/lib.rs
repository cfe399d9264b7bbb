//! Cloudways: mapped domains are the application's aliases; Let's Encrypt is installed for
//! the names whose DNS the host verified, and its operation is polled.
//!
//! API (`https://api.cloudways.com/api/v1`, or `/api/v2` with an access token;
//! `panel-apis-b.md` §1):
//! - access token (`WU_CLOUDWAYS_ACCESS_TOKEN`, tried first): the platform "Access Token"
//!   that replaces the API key, which stops working on 2026-10-15 (`panel-apis-b.md` §1.2):
//!   the host sends it as `Authorization: Bearer` with no exchange, and every request goes to
//!   `/api/v2` with v1's paths ("replace v1 with v2", §1.1);
//! - otherwise `POST /api/v1/oauth/access_token` (form `email`, `api_key`) answers
//!   `{"access_token", "token_type", "expires_in"}`: the host performs this exchange (a
//!   session), caches the token for `expires_in` seconds, attaches it as `Authorization:
//!   Bearer` and exchanges again after a 401; neither the API key nor either token enters
//!   this component;
//! - `GET /server`: every server with its apps, each app with its `aliases` (ids are
//!   strings in answers, integers in requests);
//! - `POST /app/manage/aliases` (form `server_id`, `app_id`, `aliases[]`) **replaces** the
//!   whole alias list: the list is read from the app right before it is written, and the host
//!   runs one event at a time per server and app (the account lock);
//!   An empty list is sent as one empty `aliases[]` field, never as no field at all (whether
//!   Cloudways requires the field is not documented; without it the last alias could never
//!   be removed if it does).
//! - `POST /security/lets_encrypt_install` (form `server_id`, `app_id`, `ssl_email`,
//!   `wild_card`, `ssl_domains[]`) answers `{"operation_id"}`; `GET /operation/{id}` says
//!   when it is done (`is_completed`). It **replaces** the app's certificate with one for
//!   exactly the names sent, so every request carries the app's `cname`, every name the
//!   certificate must keep and the event's names (see [`certificate_names`]).
//! - `GET /server` also carries the account's passwords (`master_password`, `app_password`,
//!   `sys_password`, `mysql_password`; cloudways-js-client `src/services/server/types.ts`):
//!   no answer body is ever copied into an error or a log, only the fields Cloudways uses for
//!   its own messages.
//!
//! Unlike the PHP plugin: the alias list is read from the app and changed by the event's
//! names, not rebuilt from WordPress's mapping table (which drops every alias added in the
//! Cloudways panel); repeats send nothing; the Let's Encrypt request goes out when the host
//! has verified the name's DNS and keeps the names the certificate already covers; its
//! operation is polled instead of ignored; every answer is checked.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, AuthScheme, BodyFormat, Capabilities, ConstantSpec, DomainEvent, DomainProvider,
    LoginField, LoginValue, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata,
    SessionLogin, config, journal, log,
};
use serde_json::Value;
use std::time::Duration;

/// API v1: the API key's exchange and its token.
pub const API_BASE: &str = "https://api.cloudways.com/api/v1";
/// API v2: the same paths, for the platform's access tokens (`panel-apis-b.md` §1.1).
pub const API_V2_BASE: &str = "https://api.cloudways.com/api/v2";
pub const EMAIL: &str = "WU_CLOUDWAYS_EMAIL";
pub const API_KEY: &str = "WU_CLOUDWAYS_API_KEY";
pub const ACCESS_TOKEN: &str = "WU_CLOUDWAYS_ACCESS_TOKEN";
pub const SERVER_ID: &str = "WU_CLOUDWAYS_SERVER_ID";
pub const APP_ID: &str = "WU_CLOUDWAYS_APP_ID";
pub const EXTRA_DOMAINS: &str = "WU_CLOUDWAYS_EXTRA_DOMAINS";
/// Token lifetime when the answer does not say (clients and the plugin assume an hour).
const DEFAULT_TOKEN_SECS: u32 = 3600;
/// Waits between reads of the Let's Encrypt operation (seconds).
const POLL_WAITS: [u64; 4] = [1, 2, 3, 4];

pub struct Cloudways;

/// The host's declarative token exchange.
pub fn session_login() -> SessionLogin {
    SessionLogin {
        url: format!("{API_BASE}/oauth/access_token"),
        body_format: BodyFormat::Form,
        fields: vec![
            LoginField {
                name: "email".into(),
                value: LoginValue::Constant(EMAIL.into()),
            },
            LoginField {
                name: "api_key".into(),
                value: LoginValue::Constant(API_KEY.into()),
            },
        ],
        token_pointer: "/access_token".into(),
        lifetime_pointer: Some("/expires_in".into()),
        default_lifetime_secs: DEFAULT_TOKEN_SECS,
        token_header: None,
    }
}

impl DomainProvider for Cloudways {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "cloudways".into(),
            title: "Cloudways".into(),
            description: "Keeps mapped domains in a Cloudways application's aliases and installs \
                          Let's Encrypt certificates for them once their DNS points at the \
                          server."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/cloudways".into(),
            constants: vec![
                ConstantSpec::required(
                    EMAIL,
                    "Cloudways account e-mail",
                    "The e-mail address of the Cloudways account (used for the token exchange \
                     and as the Let's Encrypt contact)",
                ),
                ConstantSpec::optional(
                    ACCESS_TOKEN,
                    "Cloudways access token",
                    "Platform > API > Create Access Token (role FULL ACCESS, or LIMITED with \
                     application management and SSL); replaces the API key, which stops \
                     working on 2026-10-15. Used with API v2 when set",
                )
                .secret(),
                ConstantSpec::optional(
                    API_KEY,
                    "Cloudways API key (legacy)",
                    "Account > API Integration > API key; exchanged for a token on API v1. \
                     Keys stop working on 2026-10-15: use an access token instead",
                )
                .secret(),
                ConstantSpec::required(
                    SERVER_ID,
                    "Server ID",
                    "From the server's URL in the Cloudways platform",
                ),
                ConstantSpec::required(
                    APP_ID,
                    "Application ID",
                    "From the application's URL in the Cloudways platform",
                ),
                ConstantSpec::optional(
                    EXTRA_DOMAINS,
                    "Extra domains",
                    "Comma-separated names that must stay in the alias list whatever \
                     WordPress maps",
                ),
            ],
            any_of: vec![AnyOfGroup {
                label: "Cloudways credentials".into(),
                options: vec![vec![ACCESS_TOKEN.into()], vec![API_KEY.into()]],
            }],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS | Operations::REQUEST_CERTIFICATE,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.cloudways.com".into()],
            // The host uses the first scheme whose constants are all set: the access token
            // (API v2) when given, else the key exchange (API v1); `Api::configured` picks
            // the matching base the same way.
            auth: vec![
                AuthScheme::Bearer(ACCESS_TOKEN.into()),
                AuthScheme::Session(session_login()),
            ],
            account_constants: vec![SERVER_ID.into(), APP_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let app = api.app()?;
        Ok(Outcome::unchanged(format!(
            "server {} app {} reachable through API {} ({}): {} alias(es)",
            api.server_id,
            api.app_id,
            api.mode.version(),
            app.cname
                .as_deref()
                .or(app.label.as_deref())
                .unwrap_or("no primary domain"),
            app.aliases.len()
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.` only when the host says it goes with this mapping: it may be a mapping of
        // its own, or the network's policy may not want it.
        Api::configured()?.remove(&names_for(&event.domain, event.www))
    }

    // Subdomain sites: the application's primary domain (and a wildcard alias, where the
    // operator set one) serves them, as in the plugin: no request.

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let app = Api::configured()?.app()?;
        let mut list = Vec::new();
        for primary in [app.cname.clone(), app.app_fqdn.clone()]
            .into_iter()
            .flatten()
        {
            if !list.iter().any(|d: &PanelDomain| d.name == primary) {
                list.push(PanelDomain {
                    name: primary,
                    www: None,
                    certificate: None,
                    primary: true,
                });
            }
        }
        for alias in &app.aliases {
            if !list.iter().any(|d| &d.name == alias) {
                list.push(PanelDomain {
                    name: alias.clone(),
                    www: None,
                    certificate: None,
                    primary: false,
                });
            }
        }
        Ok(list)
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.request_certificate(&names_for(&event.domain, event.www))
    }
}

provider_sdk::export_provider!(Cloudways);

/// The names an event puts on the app: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// `WU_CLOUDWAYS_EXTRA_DOMAINS`: comma-separated, trimmed, lower case, no duplicates.
pub fn extra_domains(value: Option<&str>) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for name in value.unwrap_or("").split(',') {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() && !list.contains(&name) {
            list.push(name);
        }
    }
    list
}

/// Let's Encrypt's limit on the names of one certificate.
pub const MAX_CERTIFICATE_NAMES: usize = 100;

/// What `GET /server` says of the app's Let's Encrypt certificate (`lets_encrypt`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Certificate {
    /// `null` (or absent): no Let's Encrypt certificate.
    #[default]
    None,
    /// Names the answer lists (an object with `ssl_domains`, or a string holding such JSON:
    /// unverified shapes, read when present).
    Names(Vec<String>),
    /// A certificate whose names the answer does not tell: the client types `lets_encrypt`
    /// as `string | null` (cloudways-js-client `src/services/server/types.ts`), and what the
    /// string holds is not documented.
    Unknown,
}

/// An application as `GET /server` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct App {
    pub label: Option<String>,
    pub cname: Option<String>,
    pub app_fqdn: Option<String>,
    pub aliases: Vec<String>,
    pub certificate: Certificate,
}

fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
}

/// A list of names as an array of strings or a comma-separated string.
fn names_in(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(list) => Some(
            list.iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        Value::String(s) => Some(extra_domains(Some(s))),
        _ => None,
    }
}

/// The names an object (or a string holding JSON) lists for a certificate.
fn listed_names(le: &Value) -> Option<Vec<String>> {
    match le {
        Value::String(s) => serde_json::from_slice::<Value>(s.trim().as_bytes())
            .ok()
            .filter(|v| v.is_object())
            .and_then(|v| listed_names(&v)),
        Value::Object(_) => ["ssl_domains", "domains", "domain_names", "domain"]
            .iter()
            .find_map(|k| le.get(*k).and_then(names_in))
            .filter(|names| !names.is_empty()),
        _ => None,
    }
}

impl App {
    pub fn from_json(v: &Value) -> App {
        let certificate = match v.get("lets_encrypt") {
            None | Some(Value::Null) => Certificate::None,
            Some(le) => listed_names(le).map_or(Certificate::Unknown, Certificate::Names),
        };
        App {
            label: text(v, "label"),
            cname: text(v, "cname"),
            app_fqdn: text(v, "app_fqdn"),
            aliases: v.get("aliases").and_then(names_in).unwrap_or_default(),
            certificate,
        }
    }

    pub fn serves(&self, name: &str) -> bool {
        self.cname.as_deref() == Some(name) || self.aliases.iter().any(|a| a == name)
    }
}

/// The app `app_id` of server `server_id` in a `GET /server` answer.
pub fn find_app(body: &Value, server_id: &str, app_id: &str) -> Result<App, ProviderError> {
    if body.get("status").and_then(Value::as_bool) == Some(false) {
        return Err(api_error(
            200,
            format!("Cloudways answered status: false: {}", message_of(body)),
        ));
    }
    let Some(servers) = body.get("servers").and_then(Value::as_array) else {
        return Err(api_error(200, "the server list has no `servers`".into()));
    };
    let Some(server) = servers
        .iter()
        .find(|s| id_text(s.get("id")).as_deref() == Some(server_id))
    else {
        return Err(ProviderError::NotFound(format!(
            "Cloudways has no server {server_id} in this account ({} server(s) listed): check \
             {SERVER_ID}",
            servers.len()
        )));
    };
    let apps = server.get("apps").and_then(Value::as_array);
    let Some(app) = apps.and_then(|a| {
        a.iter()
            .find(|app| id_text(app.get("id")).as_deref() == Some(app_id))
    }) else {
        return Err(ProviderError::NotFound(format!(
            "Cloudways server {server_id} has no application {app_id}: check {APP_ID}"
        )));
    };
    Ok(App::from_json(app))
}

/// Cloudways' words from an answer: its 422 map (`{field: [{code, message}]}`),
/// `error_description`, `message` or `error`. Never the body itself: a `GET /server` answer
/// holds the account's passwords.
pub fn message_of(body: &Value) -> String {
    if let Some(d) = body.get("error_description").and_then(Value::as_str) {
        return d.to_string();
    }
    if let Some(m) = body.get("message").and_then(Value::as_str) {
        return m.to_string();
    }
    if let Some(m) = body.get("error").and_then(|e| {
        e.as_str()
            .or_else(|| e.get("message").and_then(Value::as_str))
    }) {
        return m.to_string();
    }
    if let Some(fields) = body.as_object() {
        let parts: Vec<String> = fields
            .iter()
            .filter_map(|(field, problems)| {
                let list = problems.as_array()?;
                let words: Vec<&str> = list
                    .iter()
                    .filter_map(|p| p.get("message").and_then(Value::as_str).or(p.as_str()))
                    .collect();
                (!words.is_empty()).then(|| format!("{field}: {}", words.join(" ")))
            })
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
        let keys: Vec<&str> = fields.keys().map(String::as_str).take(8).collect();
        return format!("no message in the answer (its fields: {})", keys.join(", "));
    }
    "no message in the answer".to_string()
}

fn panel_message(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => message_of(&json),
        Err(_) => provider_sdk::errors::error_message(status, body),
    }
}

fn api_error(status: u16, message: String) -> ProviderError {
    ProviderError::Api(provider_sdk::ApiError { status, message })
}

/// What a Let's Encrypt operation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationState {
    Running(String),
    Done(String),
    Failed(String),
}

/// `{"operation": {"is_completed": "0"|"1", "status", "message", ...}}`. How a failed
/// operation is reported is not documented: a negative `is_completed`, or a completed one
/// whose status or message speaks of failure, is a failure.
pub fn operation_state(body: &Value) -> Result<OperationState, String> {
    let op = body.get("operation").unwrap_or(body);
    let completed = match op.get("is_completed") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::Bool(b)) => Some(i64::from(*b)),
        _ => None,
    }
    .ok_or("the operation has no readable `is_completed`")?;
    let words: Vec<String> = ["status", "message"]
        .iter()
        .filter_map(|k| op.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .fold(Vec::new(), |mut acc, w| {
            if !acc.contains(&w) {
                acc.push(w);
            }
            acc
        });
    let words = if words.is_empty() {
        format!("is_completed {completed}")
    } else {
        words.join(": ")
    };
    let failed_words = {
        let w = words.to_ascii_lowercase();
        w.contains("fail") || w.contains("error") || w.contains("unable") || w.contains("could not")
    };
    Ok(match completed {
        c if c < 0 => OperationState::Failed(words),
        0 => OperationState::Running(words),
        _ if failed_words => OperationState::Failed(words),
        _ => OperationState::Done(words),
    })
}

/// The names to send to `lets_encrypt_install`, which replaces the app's certificate with
/// one for exactly these names, so it must never narrow it:
/// - the app's `cname` (the network's main domain, which the PHP plugin always sends);
/// - every name the current certificate covers that the app still serves; when the answer
///   does not tell which names it covers ([`Certificate::Unknown`]), every alias the app
///   serves, as the plugin sends every mapped domain: never fewer than the certificate had;
/// - the event's names (the host asks only once their DNS points at the server).
///
/// Wildcard aliases are left out (`wild_card` is false: HTTP validation cannot issue them).
/// More than Let's Encrypt's 100 names is refused rather than cut down.
pub fn certificate_names(app: &App, wanted: &[String]) -> Result<Vec<String>, ProviderError> {
    let kept: Vec<&String> = match &app.certificate {
        Certificate::None => vec![],
        Certificate::Names(covered) => covered.iter().collect(),
        Certificate::Unknown => app.aliases.iter().collect(),
    };
    let mut names: Vec<String> = Vec::new();
    for name in app.cname.iter().chain(kept).chain(wanted) {
        if app.serves(name) && !name.starts_with("*.") && !names.contains(name) {
            names.push(name.clone());
        }
    }
    if names.len() > MAX_CERTIFICATE_NAMES {
        return Err(ProviderError::LimitReached(format!(
            "the app's certificate would need {} names (its primary domain, the names it keeps \
             and {}); Let's Encrypt issues at most {MAX_CERTIFICATE_NAMES} names per \
             certificate, and leaving names out would take HTTPS away from them",
            names.len(),
            wanted.join(", ")
        )));
    }
    Ok(names)
}

fn journal_key(what: &str, names: &[String]) -> String {
    format!("{what} {}", names.join(","))
}

/// Which credential the host attaches, hence which API version the requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `WU_CLOUDWAYS_ACCESS_TOKEN` as a Bearer token on `/api/v2`.
    AccessToken,
    /// The e-mail and API key exchanged for a token on `/api/v1`.
    ApiKey,
}

impl Mode {
    /// The host's choice: the first auth scheme whose constants are all set.
    fn configured() -> Mode {
        if config::is_set(ACCESS_TOKEN) {
            Mode::AccessToken
        } else {
            Mode::ApiKey
        }
    }

    pub fn base(self) -> &'static str {
        match self {
            Mode::AccessToken => API_V2_BASE,
            Mode::ApiKey => API_BASE,
        }
    }

    fn version(self) -> &'static str {
        match self {
            Mode::AccessToken => "v2",
            Mode::ApiKey => "v1",
        }
    }

    /// What to check when Cloudways refuses the credential.
    fn check(self) -> String {
        match self {
            Mode::AccessToken => format!(
                "check {ACCESS_TOKEN} (it may have expired or been revoked in the platform)"
            ),
            Mode::ApiKey => format!(
                "check {EMAIL} and {API_KEY}; Cloudways API keys stop working on 2026-10-15: \
                 an access token goes in {ACCESS_TOKEN}"
            ),
        }
    }
}

struct Api {
    server_id: String,
    app_id: String,
    mode: Mode,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let server_id = config::require_id(SERVER_ID)?;
        let app_id = config::require_id(APP_ID)?;
        for (name, value) in [(SERVER_ID, &server_id), (APP_ID, &app_id)] {
            if !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ProviderError::InvalidInput(format!(
                    "{name} must be the number from the Cloudways platform's URL (got {value:?})"
                )));
            }
        }
        Ok(Api {
            server_id,
            app_id,
            mode: Mode::configured(),
        })
    }

    fn send(&self, request: Request) -> Result<Response, ProviderError> {
        request.send().map_err(|e| match e {
            ProviderError::Denied(m) => ProviderError::Denied(match self.mode {
                Mode::ApiKey => format!(
                    "{m} (if the host's log says the session login was refused, {})",
                    self.mode.check()
                ),
                Mode::AccessToken => m,
            }),
            other => other,
        })
    }

    /// An answer's JSON, with Cloudways' statuses in this integration's terms; `status:
    /// false` inside an HTTP 200 is an error.
    fn read(&self, response: Response) -> Result<Value, ProviderError> {
        if response.is_success() {
            let body: Value = if response.body.iter().all(u8::is_ascii_whitespace) {
                Value::Object(Default::default())
            } else {
                provider_sdk::http::parse_json(response.status, &response.body)?
            };
            if body.get("status").and_then(Value::as_bool) == Some(false) {
                return Err(api_error(
                    response.status,
                    format!("Cloudways answered status: false: {}", message_of(&body)),
                ));
            }
            return Ok(body);
        }
        let message = panel_message(response.status, &response.body);
        Err(match response.status {
            400 => ProviderError::BadCredentials(format!(
                "Cloudways says the access token was not provided (400): {message}"
            )),
            401 => ProviderError::BadCredentials(format!(
                "Cloudways refused the access token (401): {message}; {}",
                self.mode.check()
            )),
            403 => ProviderError::NotFound(format!(
                "Cloudways does not let this account manage server {} app {} (403): {message}; \
                 check {SERVER_ID} and {APP_ID}{}",
                self.server_id,
                self.app_id,
                if self.mode == Mode::AccessToken {
                    format!(
                        ", and that the role of {ACCESS_TOKEN} allows application management \
                         and SSL (a READ token cannot write)"
                    )
                } else {
                    String::new()
                }
            )),
            404 => ProviderError::NotFound(format!(
                "Cloudways has no server {} app {} (404): {message}; check {SERVER_ID} and {APP_ID}",
                self.server_id, self.app_id
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

    fn app(&self) -> Result<App, ProviderError> {
        let body = self.read(self.send(Request::get(format!("{}/server", self.mode.base())))?)?;
        find_app(&body, &self.server_id, &self.app_id)
    }

    fn write_aliases(&self, aliases: &[String]) -> Result<(), ProviderError> {
        let mut fields: Vec<(&str, &str)> =
            vec![("server_id", &self.server_id), ("app_id", &self.app_id)];
        for alias in aliases {
            fields.push(("aliases[]", alias));
        }
        if aliases.is_empty() {
            // An empty list would form-encode to no field at all; send the field, empty.
            fields.push(("aliases[]", ""));
        }
        let response = self.send(
            Request::post(format!("{}/app/manage/aliases", self.mode.base())).form(&fields),
        )?;
        self.read(response).map(|_| ())
    }

    fn add(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let app = self.app()?;
        let extras = extra_domains(config::get(EXTRA_DOMAINS).as_deref());
        let key = journal_key("aliases+", names);
        let ours = journal::recall(&key).is_some();
        let mut list = app.aliases.clone();
        let mut added = Vec::new();
        for name in names.iter().chain(&extras) {
            if !list.contains(name) && app.cname.as_deref() != Some(name) {
                list.push(name.clone());
                added.push(name.clone());
            }
        }
        if added.is_empty() {
            return Ok(if ours {
                Outcome::changed(format!("added {}", names.join(", ")))
            } else {
                Outcome::unchanged(format!("{} already in the app's aliases", names.join(", ")))
            });
        }
        journal::remember(&key, "sent");
        self.write_aliases(&list)
            .map_err(|e| e.prefixed(&format!("adding {} failed: ", added.join(", "))))?;
        log::info(format!(
            "aliases of app {} now: {}",
            self.app_id,
            list.join(", ")
        ));
        Ok(
            Outcome::changed(format!("added {}", added.join(", "))).with_note(
                "Cloudways installs the Let's Encrypt certificate when asked (request-certificate) \
             once DNS points at the server",
            ),
        )
    }

    fn remove(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let app = self.app()?;
        let extras = extra_domains(config::get(EXTRA_DOMAINS).as_deref());
        let key = journal_key("aliases-", names);
        let kept: Vec<&String> = names.iter().filter(|n| extras.contains(n)).collect();
        let list: Vec<String> = app
            .aliases
            .iter()
            .filter(|a| !names.contains(a) || extras.contains(a))
            .cloned()
            .collect();
        let removed: Vec<String> = app
            .aliases
            .iter()
            .filter(|a| !list.contains(a))
            .cloned()
            .collect();
        let mut outcome = if removed.is_empty() {
            if journal::recall(&key).is_some() {
                Outcome::changed(format!("removed {}", names.join(", ")))
            } else {
                Outcome::unchanged(format!(
                    "{} not in the app's aliases; nothing to remove",
                    names.join(", ")
                ))
            }
        } else {
            journal::remember(&key, "sent");
            self.write_aliases(&list)
                .map_err(|e| e.prefixed(&format!("removing {} failed: ", removed.join(", "))))?;
            log::info(format!(
                "aliases of app {} now: {}",
                self.app_id,
                list.join(", ")
            ));
            Outcome::changed(format!("removed {}", removed.join(", ")))
        };
        if !kept.is_empty() {
            let kept: Vec<&str> = kept.iter().map(|s| s.as_str()).collect();
            outcome = outcome.with_note(format!(
                "{} kept: listed in {EXTRA_DOMAINS}",
                kept.join(", ")
            ));
        }
        Ok(outcome)
    }

    fn operation(&self, id: &str) -> Result<OperationState, ProviderError> {
        let url = format!("{}/operation/{id}", self.mode.base());
        let body = self.read(self.send(Request::get(url))?)?;
        operation_state(&body).map_err(|m| api_error(200, m))
    }

    fn request_certificate(&self, wanted: &[String]) -> Result<Outcome, ProviderError> {
        let app = self.app()?;
        // Only names the app serves: a name whose DNS was verified but that is not an alias
        // yet cannot be validated by Let's Encrypt on this app.
        let served: Vec<String> = wanted.iter().filter(|n| app.serves(n)).cloned().collect();
        if served.is_empty() {
            return Err(ProviderError::NotFound(format!(
                "{} is not an alias of Cloudways app {}; map the domain first",
                wanted.join(", "),
                self.app_id
            )));
        }
        let key = journal_key("lets_encrypt", &served);
        let operation = match journal::recall(&key) {
            // An earlier attempt of this event started it: follow that operation.
            Some(id) => id,
            None => {
                if let Certificate::Names(covered) = &app.certificate
                    && served.iter().all(|n| covered.contains(n))
                {
                    return Ok(Outcome::unchanged(format!(
                        "the app's Let's Encrypt certificate already covers {}",
                        served.join(", ")
                    )));
                }
                let names = certificate_names(&app, &served)?;
                if app.certificate == Certificate::Unknown {
                    log::info(
                        "Cloudways does not say which names the app's certificate covers: \
                         asking for the primary domain and every alias, so none loses HTTPS",
                    );
                }
                let email = config::secret(EMAIL).in_form()?;
                let mut fields: Vec<(&str, &str)> = vec![
                    ("server_id", &self.server_id),
                    ("app_id", &self.app_id),
                    ("ssl_email", &email),
                    ("wild_card", "false"),
                ];
                for name in &names {
                    fields.push(("ssl_domains[]", name));
                }
                let response = self.send(
                    Request::post(format!(
                        "{}/security/lets_encrypt_install",
                        self.mode.base()
                    ))
                    .form(&fields),
                )?;
                let body = self
                    .read(response)
                    .map_err(|e| e.prefixed("installing Let's Encrypt failed: "))?;
                let Some(id) = id_text(body.get("operation_id")).filter(|s| !s.is_empty()) else {
                    return Err(api_error(
                        200,
                        "Cloudways accepted the Let's Encrypt request but gave no operation_id"
                            .into(),
                    ));
                };
                if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(api_error(200, format!("unexpected operation_id {id:?}")));
                }
                journal::remember(&key, &id);
                log::info(format!(
                    "Let's Encrypt requested for {} (operation {id})",
                    names.join(", ")
                ));
                id
            }
        };
        let mut state = self.operation(&operation)?;
        for wait in POLL_WAITS {
            if !matches!(state, OperationState::Running(_)) {
                break;
            }
            std::thread::sleep(Duration::from_secs(wait));
            state = self.operation(&operation)?;
        }
        let names = served.join(", ");
        match state {
            OperationState::Done(words) => Ok(Outcome::changed(format!(
                "Let's Encrypt certificate installed for {names} (operation {operation}: {words})"
            ))),
            OperationState::Failed(words) => Err(api_error(
                0,
                format!(
                    "Cloudways could not install the Let's Encrypt certificate for {names} \
                     (operation {operation}: {words})"
                ),
            )),
            OperationState::Running(words) => Ok(Outcome::changed(format!(
                "Let's Encrypt requested for {names}; Cloudways is still working on it \
                 (operation {operation}: {words})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_exchange_is_the_documented_one() {
        let login = session_login();
        assert_eq!(
            login.url,
            "https://api.cloudways.com/api/v1/oauth/access_token"
        );
        assert!(matches!(login.body_format, BodyFormat::Form));
        let names: Vec<&str> = login.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["email", "api_key"]);
        assert_eq!(login.token_pointer, "/access_token");
        assert_eq!(login.lifetime_pointer.as_deref(), Some("/expires_in"));
    }

    #[test]
    fn extras_are_a_clean_list() {
        assert_eq!(
            extra_domains(Some(" A.com, b.com.,,a.com ")),
            ["a.com", "b.com"]
        );
        assert!(extra_domains(None).is_empty());
    }

    fn server_answer() -> Value {
        json!({"status": true, "servers": [{"id": "50482", "label": "net", "apps": [
            {"id": "1234", "label": "wp", "cname": "network.example",
             "app_fqdn": "wordpress-1234.cloudwaysapps.com", "aliases": ["a.com"],
             "lets_encrypt": {"ssl_domains": ["network.example"]}}]}]})
    }

    #[test]
    fn the_app_is_found_by_string_ids() {
        let app = find_app(&server_answer(), "50482", "1234").unwrap();
        assert_eq!(app.aliases, ["a.com"]);
        assert_eq!(app.cname.as_deref(), Some("network.example"));
        assert_eq!(
            app.certificate,
            Certificate::Names(vec!["network.example".to_string()])
        );
        assert!(matches!(
            find_app(&server_answer(), "1", "1234"),
            Err(ProviderError::NotFound(_))
        ));
        assert!(matches!(
            find_app(&server_answer(), "50482", "9"),
            Err(ProviderError::NotFound(_))
        ));
        let app = App::from_json(&json!({"id": "1", "aliases": [], "lets_encrypt": null}));
        assert_eq!(app.certificate, Certificate::None);
        let app = App::from_json(&json!({"id": "1", "lets_encrypt": "2026-01-01 10:00:00"}));
        assert_eq!(app.certificate, Certificate::Unknown);
        let app =
            App::from_json(&json!({"id": "1", "lets_encrypt": "{\"ssl_domains\":[\"a.com\"]}"}));
        assert_eq!(app.certificate, Certificate::Names(vec!["a.com".into()]));
    }

    #[test]
    fn certificate_names_never_narrow() {
        let mut app = find_app(&server_answer(), "50482", "1234").unwrap();
        app.aliases = vec!["a.com".into(), "b.com".into(), "*.network.example".into()];
        let wanted = ["b.com".to_string(), "www.b.com".to_string()];
        assert_eq!(
            certificate_names(&app, &wanted).unwrap(),
            ["network.example", "b.com"]
        );
        app.certificate = Certificate::Unknown;
        assert_eq!(
            certificate_names(&app, &wanted).unwrap(),
            ["network.example", "a.com", "b.com"]
        );
        app.aliases = (0..100).map(|i| format!("d{i}.com")).collect();
        assert!(matches!(
            certificate_names(&app, &["d1.com".to_string()]),
            Err(ProviderError::LimitReached(_))
        ));
    }

    #[test]
    fn operations() {
        let running = json!({"operation": {"id": "1", "is_completed": "0", "status": "Process is initiated", "message": "Process is initiated"}});
        assert_eq!(
            operation_state(&running).unwrap(),
            OperationState::Running("Process is initiated".into())
        );
        let done = json!({"operation": {"is_completed": "1", "status": "Operation completed", "message": ""}});
        assert!(matches!(
            operation_state(&done).unwrap(),
            OperationState::Done(_)
        ));
        let failed = json!({"operation": {"is_completed": "1", "status": "Failed", "message": "Unable to verify domain"}});
        assert!(matches!(
            operation_state(&failed).unwrap(),
            OperationState::Failed(_)
        ));
        let negative = json!({"operation": {"is_completed": "-1"}});
        assert!(matches!(
            operation_state(&negative).unwrap(),
            OperationState::Failed(_)
        ));
        assert!(operation_state(&json!({"operation": {}})).is_err());
    }

    #[test]
    fn messages() {
        let v = json!({"server_id": [{"code": "integer", "message": "The server id must be an integer."}]});
        assert_eq!(
            message_of(&v),
            "server_id: The server id must be an integer."
        );
        let v = json!({"error": "invalid_credentials", "error_description": "The user credentials were incorrect."});
        assert_eq!(message_of(&v), "The user credentials were incorrect.");
        let v = json!({"status": false, "servers": [{"master_password": "pw-1"}]});
        assert!(!message_of(&v).contains("pw-1"), "{}", message_of(&v));
    }
}
