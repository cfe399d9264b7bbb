//! Plesk: mapped domains become site aliases of the network's site (`www.` alias per the
//! `www` policy), subdomain sites become subdomains of it, through the REST API's CLI gateway.
//!
//! API (`panel-apis-a.md` §3), on the operator's own Plesk (`https://{host}:8443/api/v2`):
//! - Auth: `X-API-Key: <key>` or HTTP Basic with the admin login, both attached by the host.
//!   Refusals are HTTP 401/403 with `{"code", "message"}`.
//! - `GET /server` (its `platform`) and `GET /domains?name=<site>` are `test-connection`'s
//!   reads.
//! - Everything else is `POST /cli/{utility}/call` with `{"params": [...]}`. The gateway
//!   answers HTTP 200 with `{"code", "stdout", "stderr"}` whatever the utility did: a `code`
//!   that is not 0 is an error carrying `stderr`.
//! - Aliases: `site_alias --info <alias>` (read), `--create <alias> -domain <site>`,
//!   `--delete <alias>`. Subdomains by label: `subdomain --info <label> -domain <site>`,
//!   `--create <label> -domain <site> -www-root /httpdocs`, `--remove <label> -domain <site>`.
//!
//! Certificates are left to Plesk, as the PHP plugin leaves them
//! (`class-plesk-domain-mapping.php:34,60`: no Let's Encrypt call, SSL It!'s "Keep websites
//! secured"), and `request-certificate` is not offered. A Plesk site carries one certificate
//! whose names are the site and its aliases, and `extension --exec letsencrypt cli.php -d …`
//! replaces it with exactly the names given (panel-review.md #4). Nothing in the REST API
//! says which names the current certificate covers, so a run would have to name the site and
//! every alias: one alias whose DNS does not point here would then fail the whole order and
//! block every new name, and a run for the event's names alone would take HTTPS away from the
//! site and its other aliases. SSL It!'s hourly `keep-secured.php` task issues and renews the
//! site's certificate itself when "Keep websites secured" is on (Plesk KB "How does Let's
//! Encrypt extension renew certificates?").
//!
//! Not offered either: `list-domains` (REST API v2 lists sites, not their aliases; the CLI
//! `site_alias` listing's output is undocumented), `certificate-status` (no documented read
//! of a site's certificate) and `dns-requirements` (pointing the name at the server is all).
//!
//! Unlike the PHP plugin: a `code` other than 0 is an error (the plugin logged it as
//! success); each name is read before it is written, so repeats write nothing and a name
//! another site holds is reported; subdomains are created and removed by label under the
//! site (the plugin passed the full host name and `--delete`); `www.` is removed only when
//! the host's event says it goes with the domain.

use provider_sdk::errors::{error_message, parse_retry_after, status_error};
use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, ApiError, AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent,
    DomainProvider, HeaderAuth, Operations, Outcome, ProviderError, ProviderMetadata, config,
    journal, log,
};
use serde_json::{Value, json};
use std::time::Duration;

pub const HOST: &str = "WU_PLESK_HOST";
pub const PORT: &str = "WU_PLESK_PORT";
pub const API_KEY: &str = "WU_PLESK_API_KEY";
pub const USERNAME: &str = "WU_PLESK_USERNAME";
pub const PASSWORD: &str = "WU_PLESK_PASSWORD";
pub const DOMAIN: &str = "WU_PLESK_DOMAIN";
pub const DEFAULT_PORT: &str = "8443";
/// Subdomains serve the site's own document root (relative to the webspace).
pub const WWW_ROOT: &str = "/httpdocs";

pub struct Plesk;

impl DomainProvider for Plesk {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "plesk".into(),
            title: "Plesk".into(),
            description: "Adds mapped domains as site aliases of the network's Plesk site and \
                          creates and removes the subdomains of subdomain sites; SSL It! keeps \
                          the site's certificate covering them."
                .into(),
            tutorial_link: "https://ultimatemultisite.com/docs/user-guide/host-integrations/plesk"
                .into(),
            constants: vec![
                ConstantSpec::required(
                    HOST,
                    "Host",
                    "Plesk's host name, as in https://HOST:8443 (a URL is fine)",
                ),
                ConstantSpec::optional(
                    API_KEY,
                    "API key",
                    "A REST API key (plesk bin secret_key --create, or POST /api/v2/auth/keys)",
                )
                .secret(),
                ConstantSpec::optional(USERNAME, "Username", "The Plesk administrator's login"),
                ConstantSpec::optional(PASSWORD, "Password", "The Plesk administrator's password")
                    .secret(),
                ConstantSpec::required(
                    DOMAIN,
                    "Site",
                    "The Plesk site (domain) that serves the network",
                ),
                ConstantSpec::optional(PORT, "Port", "Plesk's HTTPS port (8443)"),
            ],
            any_of: vec![AnyOfGroup {
                label: "Plesk credentials".into(),
                options: vec![vec![API_KEY.into()], vec![USERNAME.into(), PASSWORD.into()]],
            }],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            // Certificates: SSL It! "Keep websites secured" (see the module's documentation).
            operations: Operations::empty(),
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec![format!("{{{HOST}}}:{{{PORT}:{DEFAULT_PORT}}}")],
            auth: vec![
                AuthScheme::Header(HeaderAuth {
                    header_name: "x-api-key".into(),
                    value_constant: API_KEY.into(),
                }),
                AuthScheme::Basic(BasicAuth {
                    username_constant: USERNAME.into(),
                    password_constant: PASSWORD.into(),
                }),
            ],
            account_constants: vec![HOST.into(), PORT.into(), DOMAIN.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let server = api.get("/server")?;
        let platform = server
            .get("platform")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::Api(ApiError {
                    status: 200,
                    message: "GET /api/v2/server has no platform: this is not Plesk's REST API"
                        .into(),
                })
            })?
            .to_string();
        api.site()?;
        Ok(Outcome::unchanged(format!(
            "Plesk reachable ({} auth, {platform}{}): site {} found",
            if config::is_set(API_KEY) {
                "API key"
            } else {
                "admin login"
            },
            server
                .get("panel_version")
                .and_then(Value::as_str)
                .map(|v| format!(", Plesk {v}"))
                .unwrap_or_default(),
            api.domain
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        match api.label_of(&event.domain) {
            Some(label) => api.add_subdomain(&event.domain, &label),
            None => api.add_alias(&event.domain, event.www),
        }
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        match api.label_of(&event.domain) {
            Some(label) => api.remove_subdomain(&event.domain, &label),
            None => api.remove_alias(&event.domain, event.www),
        }
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let label = api.require_label(&event.domain)?;
        let mut outcome = api.add_subdomain(&event.domain, &label)?;
        if event.www {
            outcome = outcome.with_note(format!(
                "www.{} is not created separately: Plesk serves the www. name of a subdomain",
                event.domain
            ));
        }
        Ok(outcome)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let label = api.require_label(&event.domain)?;
        api.remove_subdomain(&event.domain, &label)
    }
}

provider_sdk::export_provider!(Plesk);

/// The Plesk URL from the operator's host and port: a URL keeps its scheme and port, a bare
/// host gets HTTPS and the port (8443).
pub fn base_url(host: &str, port: Option<&str>) -> Result<String, ProviderError> {
    provider_sdk::url::panel_base(HOST, host, PORT, port, DEFAULT_PORT)
}

/// What the CLI gateway answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliResult {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl CliResult {
    pub fn parse(body: &Value) -> Option<CliResult> {
        let code = match body.get("code")? {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(CliResult {
            code,
            stdout: text("stdout"),
            stderr: text("stderr"),
        })
    }

    /// The utility's own words for a failure: `stderr`, else `stdout`.
    pub fn message(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            format!("exit code {} without a message", self.code)
        } else {
            text.chars().take(400).collect()
        }
    }
}

/// Whether a failure text says the object does not exist.
pub fn says_missing(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("unable to find")
        || t.contains("not found")
        || t.contains("does not exist")
        || t.contains("doesn't exist")
        || t.contains("no such")
}

pub fn says_exists(text: &str) -> bool {
    text.to_ascii_lowercase().contains("already exist")
}

/// Which site an alias's `--info` names, from its `key: value` lines: `Some(site)`, or
/// `None` when the output does not say.
pub fn site_of(stdout: &str, ours: &str) -> Option<String> {
    let mut other = None;
    for line in stdout.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim().trim_end_matches('.').to_ascii_lowercase();
        if value == ours {
            return Some(value);
        }
        if (key.contains("domain") || key.contains("site") || key.contains("webspace"))
            && !key.contains("alias")
            && value.contains('.')
            && !value.contains(' ')
        {
            other = Some(value);
        }
    }
    other
}

/// The contract's error for a failing utility.
pub fn classify(result: &CliResult, what: &str) -> ProviderError {
    let text = result.message();
    let t = text.to_ascii_lowercase();
    let message = format!("{what}: Plesk (exit code {}): {text}", result.code);
    if says_exists(&text) {
        ProviderError::Conflict(message)
    } else if says_missing(&text) {
        ProviderError::NotFound(message)
    } else if t.contains("limit") || t.contains("exceed") {
        ProviderError::LimitReached(message)
    } else if t.contains("invalid") || t.contains("incorrect") {
        ProviderError::InvalidInput(message)
    } else {
        ProviderError::Api(ApiError {
            status: 200,
            message,
        })
    }
}

fn added_key(name: &str) -> String {
    format!("added {name}")
}
fn deleted_key(name: &str) -> String {
    format!("deleted {name}")
}

/// A name's state for this site.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Presence {
    Absent,
    Ours,
    /// Plesk has it, on another site.
    Elsewhere(String),
    /// Plesk has it, and its `--info` does not say on which site (taken as ours).
    Unsure,
}

struct Api {
    base: String,
    domain: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let base = base_url(&config::require(HOST)?, config::get(PORT).as_deref())?;
        let domain = config::require(DOMAIN)?.trim().to_ascii_lowercase();
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(ProviderError::InvalidInput(format!(
                "{DOMAIN} must be a domain name (got {domain:?})"
            )));
        }
        Ok(Api {
            base: format!("{base}/api/v2"),
            domain,
        })
    }

    /// A host of the site (`site1.<site>`): its subdomain label.
    fn label_of(&self, host: &str) -> Option<String> {
        host.strip_suffix(&format!(".{}", self.domain))
            .filter(|l| !l.is_empty())
            .map(str::to_string)
    }

    fn require_label(&self, host: &str) -> Result<String, ProviderError> {
        self.label_of(host).ok_or_else(|| {
            ProviderError::InvalidInput(format!(
                "{host} is not under the Plesk site {} ({DOMAIN})",
                self.domain
            ))
        })
    }

    fn credentials(&self) -> &'static str {
        if config::is_set(API_KEY) {
            API_KEY
        } else {
            "WU_PLESK_USERNAME and WU_PLESK_PASSWORD"
        }
    }

    /// HTTP-level refusals and faults; 2xx passes.
    fn check(&self, response: &Response) -> Result<(), ProviderError> {
        match response.status {
            200..=299 => Ok(()),
            401 | 403 => Err(ProviderError::BadCredentials(format!(
                "Plesk refused the credentials (HTTP {}: {}); check {} (only the administrator \
                 may use the REST API, and an API key may be bound to an IP address)",
                response.status,
                error_message(response.status, &response.body),
                self.credentials()
            ))),
            status => Err(status_error(
                status,
                response.header("retry-after").and_then(parse_retry_after),
                error_message(status, &response.body),
            )
            .prefixed("Plesk: ")),
        }
    }

    fn json(&self, response: &Response) -> Result<Value, ProviderError> {
        serde_json::from_slice(&response.body).map_err(|_| {
            ProviderError::Api(ApiError {
                status: response.status,
                message: format!(
                    "Plesk answered something that is not JSON: {}",
                    error_message(response.status, &response.body)
                ),
            })
        })
    }

    fn get(&self, path: &str) -> Result<Value, ProviderError> {
        let response = Request::get(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .send()?;
        self.check(&response)?;
        self.json(&response)
    }

    /// The configured site, through the native REST API.
    fn site(&self) -> Result<Value, ProviderError> {
        let response = Request::get(format!("{}/domains", self.base))
            .query(&[("name", self.domain.as_str())])
            .header("accept", "application/json")
            .send()?;
        let missing = || {
            ProviderError::NotFound(format!("Plesk has no site {}; check {DOMAIN}", self.domain))
        };
        if response.status == 404 {
            return Err(missing());
        }
        self.check(&response)?;
        let json = self.json(&response)?;
        let found = match &json {
            Value::Array(list) => list.iter().find(|d| {
                d.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(&self.domain))
            }),
            Value::Object(_) => Some(&json),
            _ => None,
        };
        found.cloned().ok_or_else(missing)
    }

    /// One CLI gateway call. `read` marks calls that change nothing.
    fn cli(&self, utility: &str, params: &[&str], read: bool) -> Result<CliResult, ProviderError> {
        let mut request = Request::post(format!("{}/cli/{utility}/call", self.base))
            .header("accept", "application/json")
            .json(&json!({ "params": params }));
        if read {
            request = request.read_only();
        } else {
            // Utilities reconfigure the web server.
            request = request.timeout(Duration::from_secs(90));
        }
        let response = request.send()?;
        if response.status == 404 {
            return Err(ProviderError::Api(ApiError {
                status: 404,
                message: format!(
                    "Plesk's CLI gateway has no utility {utility:?} ({}); check that the REST \
                     API allows it",
                    error_message(404, &response.body)
                ),
            }));
        }
        self.check(&response)?;
        let json = self.json(&response)?;
        CliResult::parse(&json).ok_or_else(|| {
            ProviderError::Api(ApiError {
                status: response.status,
                message: format!(
                    "Plesk's CLI gateway answered without an exit code: {}",
                    error_message(response.status, &response.body)
                ),
            })
        })
    }

    /// The contract's error for a failing write: when Plesk says the configured site does
    /// not exist ("Unable to find domain <site>"), the error names the constant to check.
    fn failure(&self, result: &CliResult, what: &str) -> ProviderError {
        let text = result.message();
        let site = self.domain.to_ascii_lowercase();
        let names_site = text
            .to_ascii_lowercase()
            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .any(|w| w.trim_end_matches(['.', ',', ':']) == site);
        if says_missing(&text) && names_site {
            return ProviderError::NotFound(format!(
                "{what}: Plesk has no site {}; check {DOMAIN} (Plesk, exit code {}: {text})",
                self.domain, result.code
            ));
        }
        classify(result, what)
    }

    fn alias_presence(&self, name: &str) -> Result<Presence, ProviderError> {
        let result = self.cli("site_alias", &["--info", name], true)?;
        if result.code != 0 {
            if says_missing(&result.message()) {
                return Ok(Presence::Absent);
            }
            return Err(classify(&result, &format!("reading alias {name}")));
        }
        Ok(match site_of(&result.stdout, &self.domain) {
            Some(site) if site != self.domain => Presence::Elsewhere(site),
            Some(_) => Presence::Ours,
            None => Presence::Unsure,
        })
    }

    fn subdomain_presence(&self, label: &str) -> Result<bool, ProviderError> {
        let result = self.cli(
            "subdomain",
            &["--info", label, "-domain", &self.domain],
            true,
        )?;
        if result.code == 0 {
            return Ok(true);
        }
        if says_missing(&result.message()) {
            return Ok(false);
        }
        Err(classify(&result, &format!("reading subdomain {label}")))
    }

    fn add_alias(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        if name == self.domain {
            return Ok(Outcome::unchanged(format!(
                "{name} is the Plesk site itself ({DOMAIN})"
            )));
        }
        let mut wanted = vec![name.to_string()];
        if www && !name.starts_with("www.") {
            wanted.push(format!("www.{name}"));
        }
        let mut added = Vec::new();
        let mut notes = Vec::new();
        for n in &wanted {
            match self.alias_presence(n)? {
                Presence::Unsure => {
                    notes.push(format!(
                        "{n} is already an alias in Plesk, which did not say of which site"
                    ));
                    continue;
                }
                Presence::Ours => {
                    if journal::recall(&added_key(n)).is_some() {
                        added.push(n.clone());
                    }
                    continue;
                }
                Presence::Elsewhere(site) => {
                    return Err(ProviderError::Conflict(format!(
                        "{n} is already an alias of the Plesk site {site}, not of {}",
                        self.domain
                    )));
                }
                Presence::Absent => {}
            }
            journal::remember(&added_key(n), "sent");
            let result = self.cli(
                "site_alias",
                &["--create", n, "-domain", &self.domain],
                false,
            )?;
            if result.code == 0 {
                log::info(format!("added alias {n} to {}", self.domain));
                added.push(n.clone());
                continue;
            }
            // Exists after all (another event, or an earlier attempt)?
            if says_exists(&result.message())
                && matches!(self.alias_presence(n)?, Presence::Ours | Presence::Unsure)
            {
                continue;
            }
            return Err(self.failure(&result, &format!("adding alias {n}")));
        }
        let mut outcome = if added.is_empty() {
            Outcome::unchanged(format!(
                "{} already alias(es) of the Plesk site {}",
                wanted.join(" and "),
                self.domain
            ))
        } else {
            Outcome::changed(format!(
                "added {} as alias(es) of the Plesk site {}",
                added.join(" and "),
                self.domain
            ))
        };
        for note in notes {
            outcome = outcome.with_note(note);
        }
        Ok(outcome)
    }

    fn remove_alias(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        if name == self.domain {
            return Err(ProviderError::Conflict(format!(
                "{name} is the Plesk site itself ({DOMAIN}); it is never removed from here"
            )));
        }
        let mut names = vec![name.to_string()];
        // `www.` only when the host says it goes with this mapping (it may be its own).
        if www && !name.starts_with("www.") {
            names.push(format!("www.{name}"));
        }
        let mut removed = Vec::new();
        let mut notes = Vec::new();
        for n in &names {
            match self.alias_presence(n)? {
                Presence::Absent => {
                    if journal::recall(&deleted_key(n)).is_some() {
                        removed.push(n.clone());
                    }
                    continue;
                }
                Presence::Elsewhere(site) => {
                    notes.push(format!(
                        "{n} is an alias of another site ({site}); left as is"
                    ));
                    continue;
                }
                Presence::Ours | Presence::Unsure => {}
            }
            journal::remember(&deleted_key(n), "sent");
            let result = self.cli("site_alias", &["--delete", n], false)?;
            if result.code == 0 {
                log::info(format!("removed alias {n} from {}", self.domain));
                removed.push(n.clone());
                continue;
            }
            if self.alias_presence(n)? == Presence::Absent {
                continue;
            }
            return Err(classify(&result, &format!("removing alias {n}")));
        }
        let mut outcome = if removed.is_empty() {
            Outcome::unchanged(format!(
                "{name} is not an alias of the Plesk site {}; nothing to remove",
                self.domain
            ))
        } else {
            Outcome::changed(format!(
                "removed alias(es) {} from the Plesk site {}",
                removed.join(" and "),
                self.domain
            ))
        };
        for note in notes {
            outcome = outcome.with_note(note);
        }
        Ok(outcome)
    }

    fn add_subdomain(&self, host: &str, label: &str) -> Result<Outcome, ProviderError> {
        let key = added_key(host);
        if self.subdomain_presence(label)? {
            return Ok(if journal::recall(&key).is_some() {
                Outcome::changed(format!("added subdomain {host}"))
            } else {
                Outcome::unchanged(format!("{host} is already a subdomain of {}", self.domain))
            });
        }
        journal::remember(&key, "sent");
        let result = self.cli(
            "subdomain",
            &[
                "--create",
                label,
                "-domain",
                &self.domain,
                "-www-root",
                WWW_ROOT,
            ],
            false,
        )?;
        if result.code == 0 || (says_exists(&result.message()) && self.subdomain_presence(label)?) {
            log::info(format!("added subdomain {host}"));
            return Ok(Outcome::changed(format!(
                "added subdomain {host} (document root {WWW_ROOT} of {})",
                self.domain
            )));
        }
        Err(self.failure(&result, &format!("adding subdomain {host}")))
    }

    fn remove_subdomain(&self, host: &str, label: &str) -> Result<Outcome, ProviderError> {
        let key = deleted_key(host);
        if !self.subdomain_presence(label)? {
            return Ok(if journal::recall(&key).is_some() {
                Outcome::changed(format!("removed subdomain {host}"))
            } else {
                Outcome::unchanged(format!(
                    "{host} is not a subdomain of {}; nothing to remove",
                    self.domain
                ))
            });
        }
        journal::remember(&key, "sent");
        let result = self.cli(
            "subdomain",
            &["--remove", label, "-domain", &self.domain],
            false,
        )?;
        if result.code == 0 || !self.subdomain_presence(label)? {
            log::info(format!("removed subdomain {host}"));
            return Ok(Outcome::changed(format!("removed subdomain {host}")));
        }
        Err(classify(&result, &format!("removing subdomain {host}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_follows_the_hosts_template() {
        assert_eq!(
            base_url("plesk.example.com", None).unwrap(),
            "https://plesk.example.com:8443"
        );
        assert_eq!(
            base_url("https://plesk.example.com:9443/", Some("1")).unwrap(),
            "https://plesk.example.com:9443"
        );
        assert!(base_url("plesk example.com", None).is_err());
    }

    #[test]
    fn the_gateway_answer_is_read() {
        let ok = CliResult::parse(&json!({"code":0,"stdout":"SUCCESS: Creation of domain alias 'a.com' completed.","stderr":""})).unwrap();
        assert_eq!(ok.code, 0);
        let failed = CliResult::parse(&json!({"code":"1","stdout":"","stderr":"An error occurred during domain alias creation: Domain alias a.com already exists.\n"})).unwrap();
        assert_eq!(failed.code, 1);
        assert!(says_exists(&failed.message()));
        assert!(matches!(classify(&failed, "x"), ProviderError::Conflict(_)));
        assert!(CliResult::parse(&json!({"stdout":"x"})).is_none());
        assert!(says_missing("Unable to find domain alias a.com"));
    }

    #[test]
    fn the_site_an_alias_belongs_to_is_read_from_its_info() {
        let info = "Alias name:          a.com\nDomain name:         main.com\nWeb:   true\n";
        assert_eq!(site_of(info, "main.com").as_deref(), Some("main.com"));
        assert_eq!(site_of(info, "other.com").as_deref(), Some("main.com"));
        assert_eq!(site_of("Status: OK", "main.com"), None);
    }
}
