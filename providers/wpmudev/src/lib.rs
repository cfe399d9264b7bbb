//! WPMU DEV Hosting: mapped domains are added to the hosted site through WPMU DEV's hosting
//! API; WPMU DEV issues their certificates itself.
//!
//! API (`https://premium.wpmudev.org/api/hosting/v1/{site_id}`, `panel-apis-b.md` §5; no
//! public reference exists, the shapes come from WPMU DEV's own WP-CLI and Snapshot code):
//! - auth: `Authorization: <API key>`, the raw key with no scheme (the host attaches it);
//! - `GET {site}/domains`: the site's domains (the connection test; the body's shape is not
//!   documented, so a list of names, of objects or a wrapped list are all read);
//! - `POST {site}/domains`, form `domain`, `site_id`: adds a domain. Whether it answers an
//!   `action_id` (as backups do) is unknown: when it does, `GET {site}/actions/{id}` is
//!   polled until `completed` or `errored`;
//! - success is a 2xx **without** a `code` key; errors are `{"code", "message"}` or
//!   `{"code", "message": {"message"}}`, in a 4xx or inside a 200.
//!
//! There is no removal endpoint ("the WPMU DEV API does not provide a way to remove
//! domains"): this component declares no `removal` capability, its remove-domain reads the
//! list and names what is still there for the operator to remove in the Hub, and
//! `domain-host reconcile` lists extras as "remove by hand".
//!
//! Unlike the PHP plugin (which posts both names blindly and only logs an answer carrying a
//! `message`): present names are not posted again, `www.` follows the network's policy,
//! every answer is checked (including errors inside HTTP 200), a duplicate is a success, and
//! the key is the host's secret `WU_WPMUDEV_API_KEY` rather than the Dashboard plugin's
//! WordPress option (which a host outside WordPress cannot read).

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    ApiError, AuthScheme, Capabilities, ConstantSpec, DomainEvent, DomainProvider, HeaderAuth,
    Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, config, journal, log,
};
use serde_json::Value;
use std::time::Duration;

pub const API_BASE: &str = "https://premium.wpmudev.org/api/hosting/v1";
pub const SITE_ID: &str = "WPMUDEV_HOSTING_SITE_ID";
pub const API_KEY: &str = "WU_WPMUDEV_API_KEY";
/// The plugin raises Ultimate Multisite's certificate checks to 10 for WPMU DEV.
pub const SSL_ATTEMPTS: u32 = 10;
/// Waits between reads of an action (seconds); after them the action is reported as still
/// running.
const ACTION_WAITS: [u64; 5] = [0, 1, 2, 3, 4];

pub struct WpmuDev;

impl DomainProvider for WpmuDev {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "wpmudev".into(),
            title: "WPMU DEV Hosting".into(),
            description: "Adds mapped domains to a site hosted at WPMU DEV; WPMU DEV issues \
                          their certificates. Its API cannot remove domains: removed ones are \
                          named for the operator to remove in the Hub."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/wpmu-dev".into(),
            constants: vec![
                ConstantSpec::required(
                    SITE_ID,
                    "Hosted site ID",
                    "The hosting site's ID, defined by WPMU DEV on its servers (the Hub shows \
                     it in the site's hosting overview)",
                ),
                ConstantSpec::required(
                    API_KEY,
                    "WPMU DEV API key",
                    "The WPMU DEV API key (the Hub > Account > API key; the WPMU DEV \
                     Dashboard plugin keeps it in the `wpmudev_apikey` site option)",
                )
                .secret(),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL | Capabilities::WWW_HANDLING,
            operations: Operations::LIST_DOMAINS,
            ssl_verification_attempts: SSL_ATTEMPTS,
            default_allowed_hosts: vec!["premium.wpmudev.org".into()],
            auth: vec![AuthScheme::Header(HeaderAuth {
                header_name: "authorization".into(),
                value_constant: API_KEY.into(),
            })],
            account_constants: vec![SITE_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        // The plugin's test is this GET answering 200; a body it cannot read still passes.
        Ok(Outcome::unchanged(match api.read_domains()? {
            Ok(domains) => format!(
                "WPMU DEV site {} reachable: {} domain(s)",
                api.site,
                domains.len()
            ),
            Err(shape) => format!(
                "WPMU DEV site {} reachable, but {shape}: add-domain posts without reading \
                 it, as the plugin does",
                api.site
            ),
        }))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        // Nothing is removed here: `www.` is named when the host says it goes with this
        // mapping (the shared rule), so the operator is not told to remove a name that is a
        // mapping of its own.
        let names = names_for(&event.domain, event.www);
        let present: Vec<String> = match api.read_domains()? {
            Ok(listed) => names
                .into_iter()
                .filter(|n| listed.iter().any(|d| &d.name == n))
                .collect(),
            // Unreadable list: whether they are there cannot be told; name them all.
            Err(_) => names,
        };
        if present.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} is not on WPMU DEV site {}; nothing to remove",
                event.domain, api.site
            )));
        }
        log::warn(format!(
            "WPMU DEV's API cannot remove domains: {} stay on site {}",
            present.join(", "),
            api.site
        ));
        Ok(Outcome::unchanged(by_hand_note(&present, &api.site)))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        Ok(Api::configured()?
            .domains()?
            .into_iter()
            .map(|d| PanelDomain {
                name: d.name,
                www: None,
                certificate: None,
                primary: d.primary,
            })
            .collect())
    }
}

provider_sdk::export_provider!(WpmuDev);

/// What the operator must do for names the API cannot remove.
pub fn by_hand_note(names: &[String], site: &str) -> String {
    format!(
        "WPMU DEV's hosting API cannot remove domains: remove {} by hand in the Hub (Hosting > \
         site {site} > Domains)",
        names.join(", ")
    )
}

/// The names an event puts on the site: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// A domain of the hosted site, as far as the list says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub primary: bool,
}

/// The domain list, in any of the shapes it may have: a list of names, a list of objects
/// (`domain`, `name` or `hostname`), or either wrapped in `domains`, `data` or `items`.
pub fn parse_domains(body: &Value) -> Result<Vec<Listed>, String> {
    let list = match body {
        Value::Array(list) => list,
        Value::Object(map) => ["domains", "data", "items", "results"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_array))
            .ok_or_else(|| {
                format!(
                    "the domain list is not in a known shape (keys: {})",
                    map.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?,
        _ => return Err("the domain list is not a list".into()),
    };
    let mut out: Vec<Listed> = Vec::new();
    for item in list {
        let entry = match item {
            Value::String(name) => Listed {
                name: name.clone(),
                primary: false,
            },
            Value::Object(map) => {
                let Some(name) = ["domain", "name", "hostname"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(Value::as_str))
                else {
                    continue;
                };
                let flag = |k: &str| {
                    map.get(k)
                        .is_some_and(|v| v.as_bool() == Some(true) || v.as_u64() == Some(1))
                };
                Listed {
                    name: name.to_string(),
                    primary: flag("primary")
                        || flag("is_primary")
                        || map.get("type").and_then(Value::as_str) == Some("primary"),
                }
            }
            _ => continue,
        };
        let name = entry.name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() && !out.iter().any(|d| d.name == name) {
            out.push(Listed { name, ..entry });
        }
    }
    Ok(out)
}

/// WPMU DEV's error in a body: `{"code", "message"}` or `{"code", "message": {"message"}}`.
/// A body without `code` is not an error (WPMU DEV's own rule).
pub fn panel_error(body: &[u8]) -> Option<(String, String)> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let code = json.get("code")?;
    let code = match code {
        Value::String(s) => s.clone(),
        other => provider_sdk::json::text(other),
    };
    let message = json.get("message");
    let message = message
        .and_then(|m| m.get("message"))
        .and_then(Value::as_str)
        .or_else(|| message.and_then(Value::as_str))
        .unwrap_or("no message")
        .to_string();
    Some((code, message))
}

/// Whether an error says the domain is already there.
pub fn is_duplicate(code: &str, message: &str) -> bool {
    let words = format!("{code} {message}").to_ascii_lowercase();
    words.contains("exist") || words.contains("already") || words.contains("duplicate")
}

fn journal_key(what: &str, name: &str) -> String {
    format!("{what} {name}")
}

fn api_error(status: u16, message: String) -> ProviderError {
    ProviderError::Api(ApiError { status, message })
}

/// An action's state, as `GET {site}/actions/{id}` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Running(String),
    Completed,
    Errored(String),
}

pub fn parse_action(body: &Value) -> Action {
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    match status.as_str() {
        "completed" | "complete" | "done" | "success" => Action::Completed,
        "errored" | "error" | "failed" => Action::Errored(
            body.get("message")
                .and_then(Value::as_str)
                .or_else(|| body.get("error").and_then(Value::as_str))
                .unwrap_or("no message")
                .to_string(),
        ),
        _ => Action::Running(if status.is_empty() {
            "no status".into()
        } else {
            status
        }),
    }
}

fn action_id(body: &Value) -> Option<String> {
    match body.get("action_id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

struct Api {
    site: String,
    base: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let site = config::require_id(SITE_ID)?;
        Ok(Api {
            base: format!("{API_BASE}/{site}"),
            site,
        })
    }

    /// Success is a 2xx without `code`; anything else becomes this integration's error.
    fn check(&self, response: Response) -> Result<Value, ProviderError> {
        let error = panel_error(&response.body);
        if response.is_success() && error.is_none() {
            if response.body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            return response.json();
        }
        let (code, message) = error.unwrap_or_else(|| {
            (
                String::new(),
                provider_sdk::errors::error_message(response.status, &response.body),
            )
        });
        let words = if code.is_empty() {
            message.clone()
        } else {
            format!("{message} ({code})")
        };
        let lower = code.to_ascii_lowercase();
        Err(match response.status {
            401 | 403 => self.rejected(response.status, &words),
            404 => self.no_site(&words),
            // An error inside a 2xx: the code says what it is.
            200..=299 if lower.contains("auth") || lower.contains("forbidden") => {
                self.rejected(response.status, &words)
            }
            200..=299 if lower.contains("not_found") || lower.contains("invalid_site") => {
                self.no_site(&words)
            }
            200..=299 => api_error(response.status, format!("WPMU DEV refused it: {words}")),
            status @ 300..=399 => api_error(
                status,
                format!(
                    "WPMU DEV answered a redirect to {} ({words}); the hosting API's host may \
                     have moved: set the integration's allowed_hosts and report it",
                    response.header("location").unwrap_or("nowhere")
                ),
            ),
            status => provider_sdk::errors::status_error(
                status,
                response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after),
                words,
            ),
        })
    }

    fn rejected(&self, status: u16, words: &str) -> ProviderError {
        ProviderError::BadCredentials(format!(
            "WPMU DEV refused the API key ({status}): {words}; check {API_KEY} (the Hub > \
             Account > API key)"
        ))
    }

    fn no_site(&self, words: &str) -> ProviderError {
        ProviderError::NotFound(format!(
            "WPMU DEV has no hosted site {} for this API key ({words}): check {SITE_ID}",
            self.site
        ))
    }

    fn domains(&self) -> Result<Vec<Listed>, ProviderError> {
        self.read_domains()?.map_err(|m| api_error(200, m))
    }

    /// The list, or (inside `Ok`) why its 2xx body could not be read: the body is
    /// undocumented (`panel-apis-b.md` §5.2), so an unknown shape must not stop an add.
    fn read_domains(&self) -> Result<Result<Vec<Listed>, String>, ProviderError> {
        let body = self.check(Request::get(format!("{}/domains", self.base)).send()?)?;
        Ok(parse_domains(&body))
    }

    fn add(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let mut notes: Vec<String> = Vec::new();
        // Unreadable: post every name, as the plugin does, and let a duplicate say "there".
        let listed = match self.read_domains()? {
            Ok(listed) => Some(listed),
            Err(shape) => {
                log::warn(format!("WPMU DEV site {}: {shape}", self.site));
                notes.push(format!(
                    "WPMU DEV's domain list is {}; the names were posted without reading it, \
                     as the plugin does",
                    shape.trim_start_matches("the domain list is ")
                ));
                None
            }
        };
        let mut added: Vec<String> = Vec::new();
        let mut present: Vec<String> = Vec::new();
        for name in names {
            let key = journal_key("add", name);
            let sent_earlier = journal::recall(&key);
            if listed.iter().flatten().any(|d| &d.name == name) {
                match sent_earlier {
                    Some(_) => added.push(name.clone()),
                    None => present.push(name.clone()),
                }
                continue;
            }
            // An earlier attempt's action may still be running: follow it, do not post again.
            if let Some(action) = sent_earlier
                .as_deref()
                .and_then(|v| v.strip_prefix("action "))
            {
                if let Some(note) = self.follow(name, action)? {
                    notes.push(note);
                }
                added.push(name.clone());
                continue;
            }
            journal::remember(&key, "sent");
            let response = Request::post(format!("{}/domains", self.base))
                .form(&[("domain", name.as_str()), ("site_id", self.site.as_str())])
                .send()?;
            if let Some((code, message)) = panel_error(&response.body)
                && is_duplicate(&code, &message)
            {
                // A list that cannot be read cannot contradict the duplicate: take it.
                let there = match self.read_domains()? {
                    Ok(list) => list.iter().any(|d| &d.name == name),
                    Err(_) => true,
                };
                if there {
                    match sent_earlier {
                        Some(_) => added.push(name.clone()),
                        None => present.push(name.clone()),
                    }
                    continue;
                }
                return Err(ProviderError::Conflict(format!(
                    "WPMU DEV says {name} exists ({message}, {code}) but site {} does not list \
                     it: it may be on another hosted site",
                    self.site
                )));
            }
            let body = self.check(response).map_err(|e| {
                if added.is_empty() {
                    e.prefixed(&format!("adding {name} failed: "))
                } else {
                    e.prefixed(&format!(
                        "added {} but adding {name} failed: ",
                        added.join(", ")
                    ))
                }
            })?;
            log::info(format!("added {name} to WPMU DEV site {}", self.site));
            if let Some(action) = action_id(&body) {
                journal::remember(&key, format!("action {action}"));
                if let Some(note) = self.follow(name, &action)? {
                    notes.push(note);
                }
            }
            added.push(name.clone());
        }
        if added.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} already on WPMU DEV site {}",
                present.join(", "),
                self.site
            )));
        }
        let mut outcome = Outcome::changed(format!("added {}", added.join(", ")));
        if !present.is_empty() {
            outcome
                .notes
                .push(format!("{} already on the site", present.join(", ")));
        }
        outcome.notes.extend(notes);
        outcome
            .notes
            .push("WPMU DEV issues the certificate once DNS points at the site".into());
        Ok(outcome)
    }

    /// Reads an action until it ends; a note when it is still running after the waits.
    fn follow(&self, name: &str, action: &str) -> Result<Option<String>, ProviderError> {
        let mut last = String::new();
        for wait in ACTION_WAITS {
            std::thread::sleep(Duration::from_secs(wait));
            let body =
                self.check(Request::get(format!("{}/actions/{action}", self.base)).send()?)?;
            match parse_action(&body) {
                Action::Completed => return Ok(None),
                Action::Errored(message) => {
                    return Err(api_error(
                        200,
                        format!(
                            "WPMU DEV could not add {name}: action {action} errored: {message}"
                        ),
                    ));
                }
                Action::Running(status) => last = status,
            }
        }
        Ok(Some(format!(
            "WPMU DEV is still adding {name} (action {action}: {last})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_list_shape_is_read() {
        let names = |v: Value| {
            parse_domains(&v)
                .unwrap()
                .into_iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(json!(["A.com", "b.com."])), ["a.com", "b.com"]);
        assert_eq!(
            names(json!([{"domain": "a.com"}, {"name": "b.com"}, {"hostname": "c.com"}, {"x": 1}])),
            ["a.com", "b.com", "c.com"]
        );
        assert_eq!(names(json!({"domains": ["a.com", "a.com"]})), ["a.com"]);
        assert_eq!(names(json!({"data": [{"domain": "a.com"}]})), ["a.com"]);
        assert!(parse_domains(&json!({"total": 0})).is_err());
        assert!(parse_domains(&json!("a.com")).is_err());
        let primary = parse_domains(&json!([{"domain": "n.example", "is_primary": true}])).unwrap();
        assert!(primary[0].primary);
    }

    #[test]
    fn errors_are_bodies_with_a_code() {
        assert_eq!(
            panel_error(
                br#"{"code":"domain_exists","message":{"message":"Domain already exists"}}"#
            ),
            Some(("domain_exists".into(), "Domain already exists".into()))
        );
        assert_eq!(
            panel_error(br#"{"code":401,"message":"Invalid API key"}"#),
            Some(("401".into(), "Invalid API key".into()))
        );
        assert_eq!(panel_error(br#"{"message":"ok","domain":"a.com"}"#), None);
        assert_eq!(panel_error(b"[]"), None);
        assert!(is_duplicate("domain_exists", ""));
        assert!(is_duplicate("", "This domain is already added"));
        assert!(!is_duplicate("invalid_domain", "Invalid domain"));
    }

    #[test]
    fn actions_and_names() {
        assert_eq!(
            parse_action(&json!({"id": 1, "status": "in-progress"})),
            Action::Running("in-progress".into())
        );
        assert_eq!(
            parse_action(&json!({"status": "completed"})),
            Action::Completed
        );
        assert!(matches!(
            parse_action(&json!({"status": "errored", "message": "DNS"})),
            Action::Errored(m) if m == "DNS"
        ));
        assert_eq!(action_id(&json!({"action_id": 12})).as_deref(), Some("12"));
        assert_eq!(action_id(&json!({"domain": "a"})), None);
        assert_eq!(names_for("a.com", true), ["a.com", "www.a.com"]);
        assert_eq!(names_for("www.a.com", true), ["www.a.com"]);
        assert_eq!(names_for("a.com", false), ["a.com"]);
    }
}
