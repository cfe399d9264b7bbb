//! Hestia Control Panel: mapped domains become aliases of the network's web domain, and
//! `request-certificate` re-issues its Let's Encrypt certificate with the names it keeps and
//! the event's.
//!
//! API (`panel-apis-a.md` §5): `POST https://{host}:8083/api/` with form fields `cmd`,
//! `arg1`…, `returncode`, and the credentials in the body: `user` + `password` (the admin's
//! password) or `hash` (an access key `ACCESS:SECRET`, or a legacy API hash). Both secrets are
//! host-held and travel as placeholders the host fills in.
//!
//! - Writes use `returncode=yes`: the body is the command's exit code (`0` success, `3`
//!   missing, `4` exists, `8` limit …), with HTTP 200 for command results and 401/400 for
//!   refused credentials. Reads and Let's Encrypt use `returncode=no` to get the output: JSON,
//!   or `Error: …` text (with HTTP 400 in access-key mode, HTTP 200 in the legacy mode, which
//!   ignores the command's exit code).
//! - `v-list-web-domain ACCOUNT DOMAIN json` is every operation's first read, and
//!   `test-connection`'s only one (its `ALIAS` is the comma list of aliases).
//! - Add: `v-add-web-domain-alias ACCOUNT DOMAIN a[,www.a] RESTART`, only the names missing;
//!   exit 4 is success when a re-read shows the names on this web domain, a conflict when
//!   they are not (another domain or user holds them).
//! - Remove: `v-delete-web-domain-alias ACCOUNT DOMAIN alias RESTART` for the name and its
//!   `www.` when present; exit 3 (already gone) is success.
//! - `request-certificate`: `v-add-letsencrypt-domain ACCOUNT DOMAIN "<aliases>"` issues one
//!   certificate for exactly the domain and the aliases given (`bin/v-add-letsencrypt-domain`),
//!   and Hestia never adds a new alias to an existing certificate, so the list is every name
//!   the current certificate covers (`v-list-web-domain-ssl`'s `SUBJECT` and `ALIASES`) that
//!   is still an alias, plus the event's names: never narrower, and never an alias whose DNS
//!   the host has not verified (one such name fails the whole order with exit 15 and would
//!   block everyone else's certificate). When the listing does not say which names the
//!   certificate covers, every alias is sent, so none loses HTTPS. More than Let's Encrypt's
//!   100 names is refused before anything is sent, never cut down.
//! - Subdomain sites are served by the web domain itself (its wildcard DNS and alias), as the
//!   PHP plugin's no-op subdomain events assumed: `add-subdomain` and `remove-subdomain` do
//!   nothing unless `WU_HESTIA_SUBDOMAIN_ALIASES` is `yes`, which makes each site an alias
//!   (mind the package's `WEB_ALIASES` quota and the certificate's 100 names).
//!
//! Unlike the PHP plugin: requests go to `/api/` (the plugin's `/api` is a redirect); every
//! exit code is read (exists/missing are successes only when the re-read agrees); only
//! aliases that exist are deleted, and `www.` only when the host's event says it goes with
//! the domain; certificates are really requested.

use provider_sdk::errors::error_message;
use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, ApiError, Capabilities, ConstantSpec, DomainEvent, DomainProvider, Operations,
    Outcome, PanelDomain, ProviderError, ProviderMetadata, config, journal, log,
};
use serde_json::Value;
use std::time::Duration;

pub const API_URL: &str = "WU_HESTIA_API_URL";
pub const API_HASH: &str = "WU_HESTIA_API_HASH";
pub const API_PASSWORD: &str = "WU_HESTIA_API_PASSWORD";
pub const API_USER: &str = "WU_HESTIA_API_USER";
pub const ACCOUNT: &str = "WU_HESTIA_ACCOUNT";
pub const WEB_DOMAIN: &str = "WU_HESTIA_WEB_DOMAIN";
pub const RESTART: &str = "WU_HESTIA_RESTART";
/// Opt-in: subdomain sites become aliases of the web domain.
pub const SUBDOMAIN_ALIASES: &str = "WU_HESTIA_SUBDOMAIN_ALIASES";
/// Let's Encrypt's limit on the names of one certificate.
pub const MAX_CERTIFICATE_NAMES: usize = 100;
pub const DEFAULT_RESTART: &str = "yes";
/// Hestia's RESTART argument values (`v-add-web-domain-alias`).
const RESTART_VALUES: &[&str] = &["yes", "no", "ssl", "reload", "updatessl", "scheduled"];

pub struct Hestia;

impl DomainProvider for Hestia {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "hestia".into(),
            title: "Hestia Control Panel".into(),
            description: "Adds mapped domains as aliases of the network's web domain in Hestia, \
                          and re-issues its Let's Encrypt certificate with the new names once \
                          their DNS points at the server."
                .into(),
            tutorial_link: "https://ultimatemultisite.com/docs/user-guide/host-integrations/hestia"
                .into(),
            constants: vec![
                ConstantSpec::required(
                    API_URL,
                    "API URL",
                    "Hestia's address with its port, e.g. https://server.example.com:8083",
                ),
                ConstantSpec::optional(
                    API_HASH,
                    "Access key",
                    "An access key ACCESS_KEY:SECRET_KEY (or a legacy API hash)",
                )
                .secret(),
                ConstantSpec::optional(
                    API_PASSWORD,
                    "Admin password",
                    "The admin user's password (Hestia's deprecated API login)",
                )
                .secret(),
                ConstantSpec::required(API_USER, "API user", "Hestia's admin user (admin)"),
                ConstantSpec::required(
                    ACCOUNT,
                    "Account",
                    "The Hestia user that owns the web domain",
                ),
                ConstantSpec::required(
                    WEB_DOMAIN,
                    "Web domain",
                    "The web domain that serves the network",
                ),
                ConstantSpec::optional(
                    RESTART,
                    "Restart",
                    "Restart the web server after a change: yes (default), no, reload, ...",
                ),
                ConstantSpec::optional(
                    SUBDOMAIN_ALIASES,
                    "Subdomain sites as aliases",
                    "yes: add each subdomain site as an alias of the web domain (default no: \
                     the web domain's wildcard serves them)",
                ),
            ],
            any_of: vec![AnyOfGroup {
                label: "Hestia credentials".into(),
                options: vec![vec![API_HASH.into()], vec![API_PASSWORD.into()]],
            }],
            // Not independent-domains: every event rewrites the same web domain's alias list.
            // Not subdomains: by default subdomain events do nothing (WU_HESTIA_SUBDOMAIN_ALIASES).
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::REMOVAL,
            // Not certificate-status: `v-list-web-domain-ssl` gives names, not the order's
            // state, and the host's own TLS check says more. Not dns-requirements: pointing
            // the name at the server is all Hestia needs.
            operations: Operations::LIST_DOMAINS | Operations::REQUEST_CERTIFICATE,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec![format!("{{{API_URL}}}")],
            // The secret goes in the form body (placeholders), never as a header.
            auth: vec![],
            account_constants: vec![API_URL.into(), ACCOUNT.into(), WEB_DOMAIN.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let web = api.web_domain()?;
        Ok(Outcome::unchanged(format!(
            "Hestia reachable ({} auth): web domain {} of {} with {} alias(es){}",
            if api.hash { "access key" } else { "password" },
            api.domain,
            api.account,
            web.aliases.len(),
            if web.letsencrypt {
                ", Let's Encrypt on"
            } else {
                ""
            }
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&event.domain, event.www)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain, event.www)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        if !subdomain_aliases()? {
            return Ok(subdomain_skipped(&event.domain));
        }
        Api::configured()?.add(&event.domain, event.www)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        if !subdomain_aliases()? {
            return Ok(subdomain_skipped(&event.domain));
        }
        Api::configured()?.remove(&event.domain, event.www)
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let web = api.web_domain()?;
        let entry = |name: &str, primary: bool| PanelDomain {
            name: name.to_string(),
            www: None,
            certificate: None,
            primary,
        };
        let mut list = vec![entry(&api.domain, true)];
        list.extend(web.aliases.iter().map(|a| entry(a, false)));
        Ok(list)
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.certificate(&event.domain, event.www)
    }
}

provider_sdk::export_provider!(Hestia);

/// `WU_HESTIA_SUBDOMAIN_ALIASES`: yes/true/1 or no/false/0 (unset: no).
fn subdomain_aliases() -> Result<bool, ProviderError> {
    match config::get(SUBDOMAIN_ALIASES)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("" | "no" | "false" | "0") => Ok(false),
        Some("yes" | "true" | "1") => Ok(true),
        Some(other) => Err(ProviderError::InvalidInput(format!(
            "{SUBDOMAIN_ALIASES} must be yes or no (got {other:?})"
        ))),
    }
}

fn subdomain_skipped(name: &str) -> Outcome {
    Outcome::unchanged(format!(
        "{name} is served by the web domain itself (its wildcard DNS and alias); set \
         {SUBDOMAIN_ALIASES} = yes to add each subdomain site as an alias"
    ))
}

/// What `v-list-web-domain-ssl` says of the web domain's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// No certificate.
    Nothing,
    /// The names it covers (`SUBJECT` and `ALIASES`).
    Names(Vec<String>),
    /// A certificate whose names the answer does not tell.
    Unknown,
}

/// `{"<domain>": {"CRT", "KEY", "CA", "SUBJECT", "ALIASES": "a,b", ...}}`
/// (`bin/v-list-web-domain-ssl`, `json_list`: `ALIASES` is the certificate's DNS names joined
/// by commas). Never echoed: it carries the private key.
pub fn covered_names(json: &Value) -> Covered {
    let Some(entry) = json.as_object().and_then(|o| o.values().next()) else {
        return Covered::Unknown;
    };
    let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let mut names = split_list(field("SUBJECT"));
    for name in split_list(field("ALIASES")) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if !names.is_empty() {
        Covered::Names(names)
    } else if field("CRT").is_empty() {
        Covered::Nothing
    } else {
        Covered::Unknown
    }
}

/// The aliases to send to `v-add-letsencrypt-domain` (the domain itself is its own
/// argument): the names the certificate covers that are still aliases (every alias when that
/// is unknown), then the event's; wildcards never (HTTP validation cannot issue them).
pub fn certificate_aliases(
    web: &WebDomain,
    domain: &str,
    covered: &Covered,
    wanted: &[String],
) -> Vec<String> {
    let kept: Vec<&String> = match covered {
        Covered::Nothing => vec![],
        Covered::Names(names) => names.iter().collect(),
        Covered::Unknown => web.aliases.iter().collect(),
    };
    let mut list: Vec<String> = Vec::new();
    for name in kept.into_iter().chain(wanted) {
        if name != domain && !name.starts_with("*.") && web.has(name) && !list.contains(name) {
            list.push(name.clone());
        }
    }
    list
}

/// The API endpoint from `WU_HESTIA_API_URL`, keeping the scheme, host and port the operator
/// wrote (as the host builds the allow-list entry): `https://h:8083` → `https://h:8083/api/`.
/// A path is kept (a proxy may serve Hestia under one); `/api` is added once.
pub fn api_endpoint(url: &str) -> Result<String, ProviderError> {
    let url = url.trim();
    let invalid = |why: &str| ProviderError::InvalidInput(format!("{API_URL} {url:?}: {why}"));
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_string(), url),
    };
    if scheme != "https" && scheme != "http" {
        return Err(invalid("the scheme must be https"));
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host_ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && authority
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.parse::<u16>().is_ok_and(|p| p != 0));
    if !host_ok {
        return Err(invalid(
            "expected a URL such as https://server.example.com:8083",
        ));
    }
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/api").unwrap_or(path);
    if path.contains("..") || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("not a usable path"));
    }
    Ok(format!("{scheme}://{authority}{path}/api/"))
}

/// A web domain as `v-list-web-domain … json` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebDomain {
    pub aliases: Vec<String>,
    pub letsencrypt: bool,
    pub ssl: bool,
    pub suspended: bool,
}

impl WebDomain {
    /// `{"<domain>": {"ALIAS": "a.tld,b.tld", "LETSENCRYPT": "yes", ...}}`.
    pub fn parse(json: &Value, domain: &str) -> Result<WebDomain, ProviderError> {
        let object = json.as_object().ok_or_else(|| unreadable(json))?;
        let entry = object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(domain))
            .map(|(_, v)| v)
            .or_else(|| {
                (object.len() == 1)
                    .then(|| object.values().next())
                    .flatten()
            })
            .ok_or_else(|| {
                ProviderError::NotFound(format!(
                    "Hestia did not list web domain {domain}; check {WEB_DOMAIN}"
                ))
            })?;
        let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("");
        Ok(WebDomain {
            aliases: split_list(field("ALIAS")),
            letsencrypt: field("LETSENCRYPT").eq_ignore_ascii_case("yes"),
            ssl: field("SSL").eq_ignore_ascii_case("yes"),
            suspended: field("SUSPENDED").eq_ignore_ascii_case("yes"),
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// A wildcard alias that serves `name` (`*.example.com` serves `site1.example.com`).
    pub fn wildcard_for(&self, name: &str) -> Option<&String> {
        self.aliases.iter().find(|a| {
            a.strip_prefix("*.").is_some_and(|suffix| {
                name.strip_suffix(suffix)
                    .and_then(|label| label.strip_suffix('.'))
                    .is_some_and(|label| !label.is_empty() && !label.contains('.'))
            })
        })
    }
}

/// Hestia's comma (or space) separated lists, lower-cased, without empties.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn unreadable(json: &Value) -> ProviderError {
    let text = provider_sdk::json::text(json);
    ProviderError::Api(ApiError {
        status: 200,
        message: format!(
            "Hestia answered something unexpected: {}",
            text.chars().take(200).collect::<String>()
        ),
    })
}

/// The name of an exit code (`func/main.sh`).
pub fn code_name(code: u32) -> &'static str {
    match code {
        0 => "OK",
        1 => "E_ARGS",
        2 => "E_INVALID",
        3 => "E_NOTEXIST",
        4 => "E_EXISTS",
        5 => "E_SUSPENDED",
        6 => "E_UNSUSPENDED",
        7 => "E_INUSE",
        8 => "E_LIMIT",
        9 => "E_PASSWORD",
        10 => "E_FORBIDEN",
        11 => "E_DISABLED",
        12 => "E_PARSING",
        13 => "E_DISK",
        14 => "E_LA",
        15 => "E_CONNECT",
        16 => "E_FTP",
        17 => "E_DB",
        18 => "E_RRD",
        19 => "E_UPDATE",
        20 => "E_RESTART",
        21 => "E_API_DISABLED",
        _ => "unknown",
    }
}

/// The contract's error for a Hestia exit code with what it was doing.
pub fn exit_error(code: u32, what: &str, text: Option<&str>) -> ProviderError {
    let detail = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!("{what}: Hestia exit code {code} ({}): {t}", code_name(code)),
        None => format!("{what}: Hestia exit code {code} ({})", code_name(code)),
    };
    match code {
        1 | 2 => ProviderError::InvalidInput(detail),
        3 => ProviderError::NotFound(detail),
        4 | 5 | 7 => ProviderError::Conflict(detail),
        8 => ProviderError::LimitReached(detail),
        9 | 10 | 21 => ProviderError::BadCredentials(format!(
            "{detail}; check {API_USER} and {API_HASH} or {API_PASSWORD}, that the API is \
             enabled and that this server's address is in Hestia's API allowed IPs"
        )),
        14 => ProviderError::Transient(detail),
        _ => ProviderError::Api(ApiError {
            status: 200,
            message: detail,
        }),
    }
}

/// An exit code from a `returncode=yes` answer: the `Hestia-Exit-Code` header, else the
/// body's last number (the legacy "API disabled" answer prints its text, then the code).
pub fn exit_code(response: &Response) -> Option<u32> {
    if let Some(code) = response
        .header("hestia-exit-code")
        .and_then(|v| v.trim().parse().ok())
    {
        return Some(code);
    }
    let text = response.text();
    text.split_whitespace().last()?.parse().ok()
}

/// The text of an `Error: …` answer (`returncode=no`), when it is one.
pub fn error_text(body: &str) -> Option<String> {
    let text = body.trim();
    let lower = text.to_ascii_lowercase();
    (lower.starts_with("error") || lower.starts_with("unable"))
        .then(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Journal keys.
fn added_key(name: &str) -> String {
    format!("added {name}")
}
fn deleted_key(name: &str) -> String {
    format!("deleted {name}")
}
const CERT_KEY: &str = "letsencrypt";

struct Api {
    endpoint: String,
    /// `hash` is sent (else `password`).
    hash: bool,
    user: String,
    account: String,
    domain: String,
    restart: String,
}

enum Mode {
    /// `returncode=yes`: the exit code.
    Code,
    /// `returncode=no`: the output.
    Output,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let endpoint = api_endpoint(&config::require(API_URL)?)?;
        let restart = config::get(RESTART)
            .map(|r| r.trim().to_ascii_lowercase())
            .unwrap_or_else(|| DEFAULT_RESTART.into());
        if !RESTART_VALUES.contains(&restart.as_str()) {
            return Err(ProviderError::InvalidInput(format!(
                "{RESTART} must be one of {} (got {restart:?})",
                RESTART_VALUES.join(", ")
            )));
        }
        let plain = |name: &str| -> Result<String, ProviderError> {
            let value = config::require(name)?.trim().to_ascii_lowercase();
            let ok = value.len() <= 253
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok {
                return Err(ProviderError::InvalidInput(format!(
                    "{name} must be a plain name (got {value:?})"
                )));
            }
            Ok(value)
        };
        Ok(Api {
            endpoint,
            hash: config::is_set(API_HASH),
            user: config::require(API_USER)?.trim().to_string(),
            account: plain(ACCOUNT)?,
            domain: plain(WEB_DOMAIN)?,
            restart,
        })
    }

    fn request(&self, cmd: &str, args: &[&str], mode: &Mode) -> Result<Response, ProviderError> {
        let secret = if self.hash {
            ("hash", config::secret(API_HASH).in_form()?)
        } else {
            ("password", config::secret(API_PASSWORD).in_form()?)
        };
        let mut fields: Vec<(String, String)> = vec![
            ("user".into(), self.user.clone()),
            (secret.0.into(), secret.1),
            (
                "returncode".into(),
                match mode {
                    Mode::Code => "yes".into(),
                    Mode::Output => "no".into(),
                },
            ),
            ("cmd".into(), cmd.into()),
        ];
        for (i, arg) in args.iter().enumerate() {
            fields.push((format!("arg{}", i + 1), arg.to_string()));
        }
        let mut request = Request::post(&self.endpoint).form(&fields);
        if cmd.starts_with("v-list-") {
            request = request.read_only();
        }
        if cmd == "v-add-letsencrypt-domain" {
            // A synchronous ACME run.
            request = request.timeout(Duration::from_secs(180));
        } else if !cmd.starts_with("v-list-") {
            // Each alias change restarts the web and proxy servers.
            request = request.timeout(Duration::from_secs(90));
        }
        let response = request.send()?;
        self.check_transport(&response)?;
        Ok(response)
    }

    /// What every answer is checked for before its body is read.
    fn check_transport(&self, response: &Response) -> Result<(), ProviderError> {
        let text = response.text();
        let lower = text.trim_start().to_ascii_lowercase();
        if lower.starts_with("<!doctype") || lower.starts_with("<html") {
            return Err(ProviderError::Api(ApiError {
                status: response.status,
                message: format!(
                    "Hestia answered an HTML page ({}), not the API; check {API_URL} (the \
                     panel's address and port, e.g. https://server:8083)",
                    error_message(response.status, &response.body)
                ),
            }));
        }
        match response.status {
            200..=299 => Ok(()),
            301 | 302 | 307 | 308 => Err(ProviderError::Api(ApiError {
                status: response.status,
                message: format!(
                    "Hestia redirected the API call to {}; check {API_URL}",
                    response.header("location").unwrap_or("another address")
                ),
            })),
            401 | 403 => {
                let code = exit_code(response).unwrap_or(9);
                Err(exit_error(
                    code,
                    "Hestia refused the credentials",
                    error_text(&text).as_deref(),
                ))
            }
            405 => Err(ProviderError::Api(ApiError {
                status: 405,
                message: format!("Hestia did not read the request: {}", compact(&text)),
            })),
            408 | 429 | 500..=599 => Err(ProviderError::Transient(format!(
                "Hestia: HTTP {}: {}",
                response.status,
                error_message(response.status, &response.body)
            ))),
            // 400/422 carry a code or `Error: …` text; the callers read them.
            400 | 422 => Ok(()),
            status => Err(ProviderError::Api(ApiError {
                status,
                message: format!("Hestia: {}", error_message(status, &response.body)),
            })),
        }
    }

    /// A command run for its exit code.
    fn run(&self, cmd: &str, args: &[&str]) -> Result<u32, ProviderError> {
        let response = self.request(cmd, args, &Mode::Code)?;
        let code = exit_code(&response).ok_or_else(|| {
            ProviderError::Api(ApiError {
                status: response.status,
                message: format!(
                    "{cmd}: Hestia answered no exit code: {}",
                    compact(&response.text())
                ),
            })
        })?;
        if code == 11 {
            return Err(ProviderError::Api(ApiError {
                status: response.status,
                message: "Hestia says the API (or this subsystem) is disabled (exit code 11)"
                    .into(),
            }));
        }
        Ok(code)
    }

    /// A command run for its output: `Ok(text)` or `Err((code, text))` for `Error: …`.
    fn output(
        &self,
        cmd: &str,
        args: &[&str],
    ) -> Result<Result<String, (u32, String)>, ProviderError> {
        let response = self.request(cmd, args, &Mode::Output)?;
        let text = response.text();
        let code = response
            .header("hestia-exit-code")
            .and_then(|v| v.trim().parse::<u32>().ok());
        if let Some(error) = error_text(&text) {
            return Ok(Err((code.unwrap_or_else(|| guess_code(&error)), error)));
        }
        if !response.is_success() {
            let code = code.or_else(|| text.trim().parse().ok()).unwrap_or(1);
            return Ok(Err((code, compact(&text))));
        }
        Ok(Ok(text))
    }

    fn web_domain(&self) -> Result<WebDomain, ProviderError> {
        match self.output("v-list-web-domain", &[&self.account, &self.domain, "json"])? {
            Ok(text) => {
                let json: Value = serde_json::from_slice(text.trim().as_bytes()).map_err(|_| {
                    ProviderError::Api(ApiError {
                        status: 200,
                        message: format!(
                            "Hestia's web domain list is not JSON: {}",
                            compact(&text).chars().take(200).collect::<String>()
                        ),
                    })
                })?;
                WebDomain::parse(&json, &self.domain)
            }
            Err((code, text)) => Err(self.read_error(code, &text)),
        }
    }

    fn read_error(&self, code: u32, text: &str) -> ProviderError {
        let lower = text.to_ascii_lowercase();
        if code == 3 || lower.contains("doesn't exist") || lower.contains("does not exist") {
            let which = if lower.contains("user") {
                format!("{ACCOUNT} ({})", self.account)
            } else {
                format!(
                    "{WEB_DOMAIN} ({}) and {ACCOUNT} ({})",
                    self.domain, self.account
                )
            };
            return ProviderError::NotFound(format!("Hestia: {text}; check {which}"));
        }
        exit_error(code, "reading the web domain failed", Some(text))
    }

    fn add(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        let key = added_key(name);
        if name == self.domain {
            return Ok(Outcome::unchanged(format!(
                "{name} is the web domain itself ({WEB_DOMAIN})"
            )));
        }
        let web = self.web_domain()?;
        if let Some(wildcard) = web.wildcard_for(name) {
            return Ok(Outcome::unchanged(format!(
                "{name} is already served by the alias {wildcard} of {}",
                self.domain
            )));
        }
        let mut wanted = vec![name.to_string()];
        if www && !name.starts_with("www.") {
            wanted.push(format!("www.{name}"));
        }
        let missing: Vec<String> = wanted.iter().filter(|n| !web.has(n)).cloned().collect();
        if missing.is_empty() {
            return Ok(self.present(&wanted, &key));
        }
        if web.suspended {
            return Err(ProviderError::Conflict(format!(
                "web domain {} is suspended in Hestia",
                self.domain
            )));
        }
        let list = missing.join(",");
        journal::remember(&key, &list);
        let code = self.run(
            "v-add-web-domain-alias",
            &[&self.account, &self.domain, &list, &self.restart],
        )?;
        match code {
            0 => {
                log::info(format!("added alias(es) {list} to {}", self.domain));
                let mut outcome = Outcome::changed(format!(
                    "added alias(es) {list} to web domain {}",
                    self.domain
                ));
                if web.letsencrypt {
                    outcome = outcome.with_note(
                        "Hestia does not add new aliases to the current Let's Encrypt \
                         certificate: request-certificate re-issues it once DNS points here",
                    );
                }
                Ok(outcome)
            }
            4 => {
                let web = self.web_domain()?;
                if wanted.iter().all(|n| web.has(n)) {
                    Ok(self.present(&wanted, &key))
                } else {
                    let elsewhere: Vec<&String> = wanted.iter().filter(|n| !web.has(n)).collect();
                    Err(ProviderError::Conflict(format!(
                        "Hestia says {} already exists (exit code 4), but not as an alias of {}: \
                         another web domain or user on the server holds it",
                        elsewhere
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        self.domain
                    )))
                }
            }
            20 => Err(ProviderError::Api(ApiError {
                status: 200,
                message: format!(
                    "Hestia added {list} to {} but restarting the web server failed (exit code \
                     20 E_RESTART); check the web server's configuration on the panel",
                    self.domain
                ),
            })),
            code => Err(exit_error(
                code,
                &format!("adding {list} to {}", self.domain),
                None,
            )),
        }
    }

    fn present(&self, wanted: &[String], key: &str) -> Outcome {
        if journal::recall(key).is_some() {
            Outcome::changed(format!(
                "added alias(es) {} to web domain {}",
                journal::recall(key).unwrap_or_default(),
                self.domain
            ))
        } else {
            Outcome::unchanged(format!(
                "{} already alias(es) of web domain {}",
                wanted.join(" and "),
                self.domain
            ))
        }
    }

    fn remove(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        if name == self.domain {
            return Err(ProviderError::Conflict(format!(
                "{name} is the web domain itself ({WEB_DOMAIN}); it is never removed from here"
            )));
        }
        let web = self.web_domain()?;
        let mut names = vec![name.to_string()];
        // `www.` only when the host says it goes with this mapping (it may be its own).
        if www && !name.starts_with("www.") {
            names.push(format!("www.{name}"));
        }
        let present: Vec<&String> = names.iter().filter(|n| web.has(n)).collect();
        let mut removed: Vec<String> = names
            .iter()
            .filter(|n| journal::recall(&deleted_key(n)).is_some() && !web.has(n))
            .cloned()
            .collect();
        for alias in present {
            journal::remember(&deleted_key(alias), "sent");
            let code = self.run(
                "v-delete-web-domain-alias",
                &[&self.account, &self.domain, alias, &self.restart],
            )?;
            match code {
                0 => {
                    log::info(format!("removed alias {alias} from {}", self.domain));
                    removed.push(alias.clone());
                }
                // Gone meanwhile.
                3 => {}
                20 => {
                    return Err(ProviderError::Api(ApiError {
                        status: 200,
                        message: format!(
                            "Hestia removed {alias} from {} but restarting the web server \
                             failed (exit code 20 E_RESTART)",
                            self.domain
                        ),
                    }));
                }
                code => {
                    return Err(exit_error(
                        code,
                        &format!("removing {alias} from {}", self.domain),
                        None,
                    ));
                }
            }
        }
        if removed.is_empty() {
            let mut outcome = Outcome::unchanged(format!(
                "{name} is not an alias of web domain {}; nothing to remove",
                self.domain
            ));
            if let Some(wildcard) = web.wildcard_for(name) {
                outcome = outcome.with_note(format!(
                    "it is served by the wildcard alias {wildcard}, which stays"
                ));
            }
            return Ok(outcome);
        }
        Ok(Outcome::changed(format!(
            "removed alias(es) {} from web domain {}",
            removed.join(", "),
            self.domain
        )))
    }

    fn certificate(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        let web = self.web_domain()?;
        if name != self.domain && !web.has(name) && web.wildcard_for(name).is_none() {
            return Err(ProviderError::NotFound(format!(
                "{name} is not an alias of web domain {}; map the domain first",
                self.domain
            )));
        }
        if web.wildcard_for(name).is_some() && !web.has(name) {
            return Err(ProviderError::Unsupported(format!(
                "{name} is served by a wildcard alias; Let's Encrypt's HTTP validation, which \
                 Hestia uses for web domains, cannot issue wildcard certificates"
            )));
        }
        let mut wanted = vec![name.to_string()];
        if www && web.has(&format!("www.{name}")) {
            wanted.push(format!("www.{name}"));
        }
        let covered = self.covered(&web)?;
        if let Covered::Names(names) = &covered
            && wanted.iter().all(|w| names.contains(w))
        {
            return Ok(if journal::recall(CERT_KEY).is_some() {
                Outcome::changed(format!(
                    "Let's Encrypt certificate issued for {}",
                    self.domain
                ))
            } else {
                Outcome::unchanged(format!(
                    "the certificate of {} already covers {}",
                    self.domain,
                    wanted.join(" and ")
                ))
            });
        }
        let names = certificate_aliases(&web, &self.domain, &covered, &wanted);
        if names.len() + 1 > MAX_CERTIFICATE_NAMES {
            return Err(ProviderError::LimitReached(format!(
                "the certificate of {} would need {} names (the web domain, the names its \
                 certificate keeps and {}); Let's Encrypt issues at most \
                 {MAX_CERTIFICATE_NAMES} names per certificate, and leaving names out would \
                 take HTTPS away from them",
                self.domain,
                names.len() + 1,
                wanted.join(", ")
            )));
        }
        if covered == Covered::Unknown {
            log::info(format!(
                "Hestia did not say which names the certificate of {} covers: asking for every \
                 alias, so none loses HTTPS",
                self.domain
            ));
        }
        journal::remember(CERT_KEY, "sent");
        let list = names.join(",");
        let mut args = vec![self.account.as_str(), self.domain.as_str()];
        if !list.is_empty() {
            args.push(&list);
        }
        match self.output("v-add-letsencrypt-domain", &args)? {
            Ok(_) => {
                log::info(format!(
                    "Let's Encrypt certificate issued for {} and {}",
                    self.domain,
                    if list.is_empty() { "no alias" } else { &list }
                ));
                Ok(Outcome::changed(format!(
                    "Let's Encrypt certificate issued for {} with {} alias(es): {}",
                    self.domain,
                    names.len(),
                    names.join(", ")
                )))
            }
            Err((code, text)) => {
                let lower = text.to_ascii_lowercase();
                // The longest name in Hestia's text is the one that failed.
                let blocker = std::iter::once(&self.domain)
                    .chain(names.iter())
                    .filter(|n| lower.contains(n.as_str()))
                    .max_by_key(|n| n.len());
                let message = match blocker {
                    Some(b) if wanted.contains(b) => format!(
                        "Let's Encrypt refused the certificate for {} because of {b}, which \
                         this event asked for ({text})",
                        self.domain
                    ),
                    Some(b) if b != &self.domain || names.is_empty() => format!(
                        "Let's Encrypt refused the certificate for {} because of {b}: it is on \
                         the current certificate, which Hestia re-issues whole, so {b} blocks \
                         new names until its DNS points at this server again or it is removed \
                         ({text})",
                        self.domain
                    ),
                    _ => format!(
                        "Let's Encrypt refused the certificate for {} and its aliases ({text})",
                        self.domain
                    ),
                };
                Err(match code {
                    9 | 10 | 21 => exit_error(code, "requesting the certificate", Some(&text)),
                    11 => ProviderError::Api(ApiError {
                        status: 200,
                        message: format!("SSL is disabled on this Hestia server ({text})"),
                    }),
                    14 => ProviderError::Transient(text),
                    _ => ProviderError::Api(ApiError {
                        status: 200,
                        message,
                    }),
                })
            }
        }
    }

    /// What the web domain's current certificate covers (`v-list-web-domain-ssl`). An
    /// answer that cannot be read counts as a certificate of unknown names when the web
    /// domain has SSL on, so that nothing is left out.
    fn covered(&self, web: &WebDomain) -> Result<Covered, ProviderError> {
        let unreadable = if web.ssl || web.letsencrypt {
            Covered::Unknown
        } else {
            Covered::Nothing
        };
        let text = match self.output(
            "v-list-web-domain-ssl",
            &[&self.account, &self.domain, "json"],
        )? {
            Ok(text) => text,
            Err(_) => return Ok(unreadable),
        };
        Ok(
            match serde_json::from_slice::<Value>(text.trim().as_bytes()) {
                Ok(json) => match covered_names(&json) {
                    Covered::Nothing if web.ssl || web.letsencrypt => Covered::Unknown,
                    other => other,
                },
                Err(_) => unreadable,
            },
        )
    }
}

fn guess_code(error: &str) -> u32 {
    let lower = error.to_ascii_lowercase();
    if lower.contains("doesn't exist") || lower.contains("does not exist") {
        3
    } else if lower.contains("exists") {
        4
    } else if lower.contains("limit") {
        8
    } else if lower.contains("authentication failed") || lower.contains("access key") {
        9
    } else if lower.contains("disabled") {
        11
    } else {
        1
    }
}

fn compact(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_endpoint_keeps_what_the_operator_wrote_and_ends_in_api_slash() {
        assert_eq!(
            api_endpoint("https://hcp.example.com:8083").unwrap(),
            "https://hcp.example.com:8083/api/"
        );
        assert_eq!(
            api_endpoint("https://hcp.example.com:8083/api").unwrap(),
            "https://hcp.example.com:8083/api/"
        );
        assert_eq!(
            api_endpoint("https://hcp.example.com:8083/api/").unwrap(),
            "https://hcp.example.com:8083/api/"
        );
        assert_eq!(
            api_endpoint("hcp.example.com:8083").unwrap(),
            "https://hcp.example.com:8083/api/"
        );
        assert_eq!(
            api_endpoint("https://example.com/hestia/").unwrap(),
            "https://example.com/hestia/api/"
        );
        assert!(api_endpoint("ftp://hcp.example.com").is_err());
        assert!(api_endpoint("https://hcp example.com").is_err());
        assert!(api_endpoint("https://hcp.example.com:port").is_err());
    }

    #[test]
    fn the_alias_list_is_read_from_the_web_domain() {
        let json = json!({"wp.example.com": {"ALIAS": "a.com,www.a.com,*.wp.example.com", "LETSENCRYPT": "yes", "SUSPENDED": "no"}});
        let web = WebDomain::parse(&json, "wp.example.com").unwrap();
        assert_eq!(web.aliases, vec!["a.com", "www.a.com", "*.wp.example.com"]);
        assert!(web.letsencrypt && !web.suspended);
        assert_eq!(
            web.wildcard_for("site1.wp.example.com").map(String::as_str),
            Some("*.wp.example.com")
        );
        assert_eq!(web.wildcard_for("a.b.wp.example.com"), None);
        assert_eq!(web.wildcard_for("wp.example.com"), None);
        let empty =
            WebDomain::parse(&json!({"wp.example.com": {"ALIAS": ""}}), "wp.example.com").unwrap();
        assert!(empty.aliases.is_empty());
        assert!(WebDomain::parse(&json!([]), "x").is_err());
    }

    #[test]
    fn certificate_aliases_keep_what_is_covered_and_add_the_events_names() {
        let json = json!({"wp.example.com": {"ALIAS": "a.com,b.com,stale.com,*.wp.example.com"}});
        let web = WebDomain::parse(&json, "wp.example.com").unwrap();
        let ssl = json!({"wp.example.com": {"CRT": "x", "KEY": "secret", "SUBJECT": "wp.example.com", "ALIASES": "wp.example.com,a.com,gone.com"}});
        let covered = covered_names(&ssl);
        assert_eq!(
            covered,
            Covered::Names(vec![
                "wp.example.com".into(),
                "a.com".into(),
                "gone.com".into()
            ])
        );
        let wanted = vec!["b.com".to_string()];
        assert_eq!(
            certificate_aliases(&web, "wp.example.com", &covered, &wanted),
            ["a.com", "b.com"]
        );
        assert_eq!(
            certificate_aliases(&web, "wp.example.com", &Covered::Unknown, &wanted),
            ["a.com", "b.com", "stale.com"]
        );
        assert_eq!(
            certificate_aliases(&web, "wp.example.com", &Covered::Nothing, &wanted),
            ["b.com"]
        );
        let none = json!({"wp.example.com": {"CRT": "", "SUBJECT": "", "ALIASES": ""}});
        assert_eq!(covered_names(&none), Covered::Nothing);
    }

    #[test]
    fn exit_codes_map_to_the_contracts_errors() {
        assert!(matches!(
            exit_error(8, "x", None),
            ProviderError::LimitReached(_)
        ));
        assert!(matches!(
            exit_error(3, "x", None),
            ProviderError::NotFound(_)
        ));
        assert!(matches!(
            exit_error(9, "x", None),
            ProviderError::BadCredentials(_)
        ));
        assert!(matches!(
            exit_error(10, "x", None),
            ProviderError::BadCredentials(_)
        ));
        assert!(matches!(
            exit_error(2, "x", None),
            ProviderError::InvalidInput(_)
        ));
        assert!(matches!(exit_error(15, "x", None), ProviderError::Api(_)));
        assert_eq!(
            error_text("Error: web domain x doesn't exist\n").unwrap(),
            "Error: web domain x doesn't exist"
        );
        assert_eq!(error_text("{\"a\":1}"), None);
        assert_eq!(guess_code("Error: alias x doesn't exist"), 3);
        assert_eq!(guess_code("Error: Web alias x exists"), 4);
    }
}
