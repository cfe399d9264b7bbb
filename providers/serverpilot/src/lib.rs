//! ServerPilot: the app's domain list is replaced as a whole, then AutoSSL is switched on.
//!
//! API (v1, `https://api.serverpilot.io/v1`, HTTP Basic `client_id:api_key`):
//! - `GET /apps/{id}` → `{"data": {"domains": [...], "ssl": {...}|null, "autossl": {...}}}`
//! - `POST /apps/{id}` `{"domains": [...]}` replaces the list (order is not kept);
//! - `POST /apps/{id}/ssl` `{"auto": true}` enables AutoSSL, which ServerPilot allows only
//!   once `autossl.available` is true (the app's domains point at the server).
//!
//! Unlike the PHP plugin, every response is checked, the list is de-duplicated, the
//! 300-domains-per-app limit is reported before ServerPilot refuses it, a request that
//! would change nothing is not sent, AutoSSL is requested only when ServerPilot can issue
//! it (and again by `request-certificate` once DNS points here), and a retried event says
//! what it did: the journal remembers a list written before its answer was lost.
//! `remove-domain` takes `www.<domain>` off the app only when the event's `www` is true (the
//! PHP plugin always removed it, even while `www.` was mapped of its own); a 404 names
//! `WU_SERVER_PILOT_APP_ID`, the only id in the URL.

use provider_sdk::http::Request;
use provider_sdk::{
    AuthScheme, BasicAuth, Capabilities, CertificateReport, CertificateState, ConstantSpec,
    DomainEvent, DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata,
    config, journal, json, log,
};
use serde_json::Value;

pub const API_BASE: &str = "https://api.serverpilot.io/v1";
pub const CLIENT_ID: &str = "WU_SERVER_PILOT_CLIENT_ID";
pub const API_KEY: &str = "WU_SERVER_PILOT_API_KEY";
pub const APP_ID: &str = "WU_SERVER_PILOT_APP_ID";
/// ServerPilot's documented limit (it was 1000 before 2024-02-18).
pub const MAX_DOMAINS_PER_APP: usize = 300;

pub struct ServerPilot;

impl DomainProvider for ServerPilot {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "serverpilot".into(),
            title: "ServerPilot".into(),
            description: "Adds mapped domains to a ServerPilot app and keeps AutoSSL \
                          (Let's Encrypt) on for them."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/serverpilot".into(),
            constants: vec![
                ConstantSpec::required(
                    CLIENT_ID,
                    "Client ID",
                    "Account > API in the ServerPilot dashboard (cid_...)",
                ),
                ConstantSpec::required(
                    API_KEY,
                    "API key",
                    "Account > API in the ServerPilot dashboard",
                )
                .secret(),
                ConstantSpec::required(
                    APP_ID,
                    "App ID",
                    "From the app's URL: manage.serverpilot.io/apps/{APP_ID}",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.serverpilot.io".into()],
            auth: vec![AuthScheme::Basic(BasicAuth {
                username_constant: CLIENT_ID.into(),
                password_constant: API_KEY.into(),
            })],
            account_constants: vec![APP_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let app = get_app()?;
        let autossl = match &app.ssl {
            Some(ssl) if ssl.auto => "on",
            Some(_) => "off (custom certificate)",
            None => "off",
        };
        Ok(Outcome::unchanged(format!(
            "app {} reachable: {} domain(s), AutoSSL {autossl}",
            app.name.as_deref().unwrap_or("(unnamed)"),
            app.domains.len()
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        add_names(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.` goes only when the host says so: it is false when the network's policy does
        // not want `www.` for this name or when `www.<domain>` is mapped of its own.
        remove_names(&names_for(&event.domain, event.www))
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        add_names(std::slice::from_ref(&event.domain))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        remove_names(std::slice::from_ref(&event.domain))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let app = get_app()?;
        Ok(app
            .domains
            .iter()
            .map(|name| PanelDomain {
                name: name.clone(),
                // ServerPilot lists `www.` names as names of their own.
                www: None,
                certificate: Some(app.certificate_state(name)),
                primary: false,
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let app = get_app()?;
        let names = names_for(&event.domain, event.www);
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !app.domains.iter().any(|d| d.eq_ignore_ascii_case(n)))
            .collect();
        if !missing.is_empty() {
            return Err(ProviderError::NotFound(format!(
                "{} not on the app; map the domain first",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let note = ensure_autossl(&app)?;
        let changed = note == AUTOSSL_ENABLED;
        Ok(Outcome {
            changed,
            notes: vec![note],
        })
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let app = get_app()?;
        let state = app.certificate_state(&event.domain);
        let message = match (&app.ssl, state) {
            (None, _) => "no certificate: AutoSSL is off".to_string(),
            (Some(ssl), _) if !ssl.auto => "the app uses a custom certificate".to_string(),
            (_, CertificateState::Active) => "covered by the app's AutoSSL certificate".into(),
            _ => "AutoSSL is on; ServerPilot has not issued a certificate for this name yet"
                .to_string(),
        };
        Ok(CertificateReport {
            state,
            message,
            expires_at: None,
        })
    }
}

provider_sdk::export_provider!(ServerPilot);

/// The journal key of a list this event wrote (its answer may have been lost).
const WROTE: &str = "wrote-domains";

fn add_names(names: &[String]) -> Result<Outcome, ProviderError> {
    let app = get_app()?;
    let (domains, added) = with_domains(&app.domains, names);
    let mut outcome = if added.is_empty() {
        match journal::recall(WROTE) {
            // An earlier attempt of this event wrote them; its answer was lost.
            Some(wrote) => Outcome::changed(format!("added {wrote}")),
            None => Outcome::unchanged(format!("{} already on the app", names.join(", "))),
        }
    } else {
        check_limit(domains.len())?;
        journal::remember(WROTE, added.join(", "));
        set_domains(&domains)?;
        log::info(format!("added {} to the app", added.join(", ")));
        Outcome::changed(format!("added {}", added.join(", ")))
    };
    match ensure_autossl(&app) {
        Ok(note) => outcome.notes.push(note),
        Err(error) if outcome.changed => {
            // Say what already happened: the domains are in place, only SSL is missing.
            let done = outcome.notes[0].clone();
            return Err(error.prefixed(&format!("{done}, but ")));
        }
        Err(error) => return Err(error),
    }
    Ok(outcome)
}

fn remove_names(names: &[String]) -> Result<Outcome, ProviderError> {
    let app = get_app()?;
    let (domains, removed) = without_domains(&app.domains, names);
    if removed.is_empty() {
        return Ok(match journal::recall(WROTE) {
            Some(wrote) => Outcome::changed(format!("removed {wrote}")),
            None => Outcome::unchanged(format!(
                "{} not on the app; nothing to remove",
                names.join(", ")
            )),
        });
    }
    journal::remember(WROTE, removed.join(", "));
    set_domains(&domains)?;
    log::info(format!("removed {} from the app", removed.join(", ")));
    Ok(Outcome::changed(format!("removed {}", removed.join(", "))))
}

/// The names an event puts on the app: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// The new list with `names` added (no duplicates), and which names were new.
pub fn with_domains(current: &[String], names: &[String]) -> (Vec<String>, Vec<String>) {
    let mut list: Vec<String> = Vec::with_capacity(current.len() + names.len());
    for name in current.iter().chain(names) {
        if !list.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            list.push(name.clone());
        }
    }
    let added = names
        .iter()
        .filter(|n| !current.iter().any(|d| d.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    (list, added)
}

/// The new list without `names`, and which names were actually there.
pub fn without_domains(current: &[String], names: &[String]) -> (Vec<String>, Vec<String>) {
    let is_removed = |d: &String| names.iter().any(|n| n.eq_ignore_ascii_case(d));
    let list = current.iter().filter(|d| !is_removed(d)).cloned().collect();
    // In the event's order, as the report names them.
    let removed = names
        .iter()
        .filter(|n| current.iter().any(|d| d.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    (list, removed)
}

pub fn check_limit(count: usize) -> Result<(), ProviderError> {
    if count > MAX_DOMAINS_PER_APP {
        return Err(ProviderError::LimitReached(format!(
            "ServerPilot allows at most {MAX_DOMAINS_PER_APP} domains per app; \
             this change would make {count}. Remove unused domains or use another app."
        )));
    }
    Ok(())
}

/// ServerPilot's `{"data": ...}` envelope.
#[derive(Debug)]
pub struct Envelope<T> {
    pub data: T,
}

#[derive(Debug)]
pub struct App {
    pub name: Option<String>,
    pub domains: Vec<String>,
    pub ssl: Option<Ssl>,
    pub autossl: Option<AutoSsl>,
}

#[derive(Debug)]
pub struct Ssl {
    pub auto: bool,
}

#[derive(Debug)]
pub struct AutoSsl {
    pub available: bool,
    /// The names the available AutoSSL certificate covers.
    pub domains: Vec<String>,
}

impl Envelope<App> {
    /// `{"data": app}`, each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Envelope")?;
        Ok(Envelope {
            data: json::field(o, "data", App::from_json)?,
        })
    }
}

impl App {
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct App")?;
        Ok(App {
            name: json::opt(o, "name", json::string)?,
            domains: json::list_or_default(o, "domains", json::string)?,
            ssl: json::opt(o, "ssl", |v| {
                let o = json::object(v, "struct Ssl")?;
                Ok(Ssl {
                    auto: json::or_default(o, "auto", json::boolean)?,
                })
            })?,
            autossl: json::opt(o, "autossl", |v| {
                let o = json::object(v, "struct AutoSsl")?;
                Ok(AutoSsl {
                    available: json::or_default(o, "available", json::boolean)?,
                    domains: json::list_or_default(o, "domains", json::string)?,
                })
            })?,
        })
    }

    /// What ServerPilot says about a name's certificate.
    pub fn certificate_state(&self, name: &str) -> CertificateState {
        match &self.ssl {
            None => CertificateState::None,
            Some(ssl) if !ssl.auto => CertificateState::Unknown,
            Some(_) => {
                let covered = self.autossl.as_ref().is_some_and(|a| {
                    a.available && a.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
                });
                if covered {
                    CertificateState::Active
                } else {
                    CertificateState::Pending
                }
            }
        }
    }
}

fn app_url() -> Result<String, ProviderError> {
    Ok(format!("{API_BASE}/apps/{}", config::require_id(APP_ID)?))
}

/// ServerPilot's answer, its 404 naming the constant to check (the app id is the only id
/// in the URL).
fn check(
    response: provider_sdk::http::Response,
) -> Result<provider_sdk::http::Response, ProviderError> {
    if response.status == 404 {
        return Err(response
            .status_error()
            .prefixed(&format!("ServerPilot has no such app: check {APP_ID}: ")));
    }
    response.error_for_status()
}

fn get_app() -> Result<App, ProviderError> {
    let response = check(Request::get(app_url()?).send()?)?;
    parse_app(&response.body)
}

pub fn parse_app(body: &[u8]) -> Result<App, ProviderError> {
    let envelope = provider_sdk::http::parse_json_with(200, body, Envelope::from_json)?;
    Ok(envelope.data)
}

fn set_domains(domains: &[String]) -> Result<(), ProviderError> {
    check(
        Request::post(app_url()?)
            .json(&serde_json::json!({ "domains": domains }))
            .send()?,
    )?;
    Ok(())
}

const AUTOSSL_ENABLED: &str = "AutoSSL enabled";

/// What to do about AutoSSL for an app in this state.
#[derive(Debug, PartialEq, Eq)]
pub enum AutoSslStep {
    AlreadyOn,
    /// A custom certificate blocks AutoSSL; replacing it is not ours to decide.
    CustomCertificate,
    /// ServerPilot cannot issue yet: the domains do not point at the server.
    NotAvailable,
    Enable,
}

pub fn autossl_step(app: &App) -> AutoSslStep {
    match &app.ssl {
        Some(ssl) if ssl.auto => AutoSslStep::AlreadyOn,
        Some(_) => AutoSslStep::CustomCertificate,
        None if !app.autossl.as_ref().is_some_and(|a| a.available) => AutoSslStep::NotAvailable,
        None => AutoSslStep::Enable,
    }
}

/// AutoSSL on when ServerPilot can issue it; otherwise a note saying why not yet.
fn ensure_autossl(app: &App) -> Result<String, ProviderError> {
    match autossl_step(app) {
        AutoSslStep::AlreadyOn => Ok("AutoSSL already on".into()),
        AutoSslStep::CustomCertificate => {
            log::warn("the app has a custom certificate; AutoSSL left off");
            Ok("the app uses a custom certificate; AutoSSL left off".into())
        }
        AutoSslStep::NotAvailable => Ok("AutoSSL is not available yet: it will be enabled \
             once the domains point at the server"
            .into()),
        AutoSslStep::Enable => {
            Request::post(format!("{}/ssl", app_url()?))
                .json(&serde_json::json!({ "auto": true }))
                .send()?
                .error_for_status()
                .map_err(|e| e.prefixed("enabling AutoSSL failed: "))?;
            log::info("AutoSSL enabled");
            Ok(AUTOSSL_ENABLED.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn www_variant_only_when_wanted() {
        assert_eq!(
            names_for("example.com", true),
            list(&["example.com", "www.example.com"])
        );
        assert_eq!(names_for("example.com", false), list(&["example.com"]));
        assert_eq!(
            names_for("www.example.com", true),
            list(&["www.example.com"])
        );
    }

    #[test]
    fn adding_keeps_existing_and_skips_duplicates() {
        let current = list(&["www.a.com", "a.com"]);
        let (new, added) = with_domains(&current, &list(&["b.com", "www.b.com", "a.com"]));
        assert_eq!(new, list(&["www.a.com", "a.com", "b.com", "www.b.com"]));
        assert_eq!(added, list(&["b.com", "www.b.com"]));
    }

    #[test]
    fn adding_present_names_changes_nothing() {
        let current = list(&["b.com", "www.b.com"]);
        let (new, added) = with_domains(&current, &list(&["www.b.com", "b.com"]));
        assert_eq!(new, current);
        assert!(added.is_empty());
    }

    #[test]
    fn duplicates_already_on_the_app_are_collapsed() {
        let (new, _) = with_domains(&list(&["a.com", "A.com"]), &list(&["b.com"]));
        assert_eq!(new, list(&["a.com", "b.com"]));
    }

    #[test]
    fn removing_takes_domain_and_www_only() {
        let current = list(&["a.com", "www.a.com", "shop.a.com", "b.com"]);
        let (new, removed) = without_domains(&current, &list(&["a.com", "www.a.com"]));
        assert_eq!(new, list(&["shop.a.com", "b.com"]));
        assert_eq!(removed, list(&["a.com", "www.a.com"]));
    }

    #[test]
    fn removing_absent_names_reports_nothing_removed() {
        let (new, removed) = without_domains(&list(&["a.com"]), &list(&["z.com"]));
        assert_eq!(new, list(&["a.com"]));
        assert!(removed.is_empty());
    }

    #[test]
    fn limit_is_three_hundred() {
        assert!(check_limit(300).is_ok());
        assert!(
            matches!(check_limit(301), Err(ProviderError::LimitReached(m)) if m.contains("300"))
        );
    }

    #[test]
    fn parses_documented_app_shape() {
        let body = br#"{"data":{"id":"nlcN0TwdZAyNEgdp","datecreated":1403143012,"name":"gallery",
            "sysuserid":"RvnwAIfuENyjUVnl","domains":["www.example.com","example.com"],
            "ssl":{"key":"k","cert":"c","cacerts":"x","auto":true,"force":false},
            "autossl":{"available":true,"domains":["example.com"]},
            "serverid":"4zGDDO2xg30yEeum","runtime":"php7.0"}}"#;
        let app = parse_app(body).unwrap();
        assert_eq!(app.domains, list(&["www.example.com", "example.com"]));
        assert!(app.ssl.unwrap().auto);
        assert!(app.autossl.unwrap().available);
    }

    #[test]
    fn autossl_is_requested_only_when_serverpilot_can_issue_it() {
        let app = |ssl: &str, autossl: &str| {
            parse_app(
                format!(r#"{{"data":{{"domains":["a.com"],"ssl":{ssl},"autossl":{autossl}}}}}"#)
                    .as_bytes(),
            )
            .unwrap()
        };
        assert_eq!(
            autossl_step(&app("null", r#"{"available":false}"#)),
            AutoSslStep::NotAvailable
        );
        assert_eq!(
            autossl_step(&app("null", r#"{"available":true,"domains":["a.com"]}"#)),
            AutoSslStep::Enable
        );
        assert_eq!(
            autossl_step(&app(r#"{"auto":true}"#, r#"{"available":true}"#)),
            AutoSslStep::AlreadyOn
        );
        assert_eq!(
            autossl_step(&app(r#"{"auto":false}"#, r#"{"available":true}"#)),
            AutoSslStep::CustomCertificate
        );
    }

    #[test]
    fn certificate_state_follows_the_autossl_domains() {
        let app = parse_app(br#"{"data":{"domains":["a.com","b.com"],"ssl":{"auto":true},"autossl":{"available":true,"domains":["a.com"]}}}"#).unwrap();
        assert_eq!(app.certificate_state("a.com"), CertificateState::Active);
        assert_eq!(app.certificate_state("b.com"), CertificateState::Pending);
    }

    #[test]
    fn null_ssl_and_missing_autossl_parse() {
        let app = parse_app(br#"{"data":{"name":"x","domains":[],"ssl":null}}"#).unwrap();
        assert!(app.ssl.is_none() && app.autossl.is_none());
    }

    #[test]
    fn wrong_shape_is_a_readable_error() {
        let err = parse_app(br#"{"data":{"domains":"example.com"}}"#).unwrap_err();
        assert!(
            matches!(err, ProviderError::Api(e) if e.message.contains("unexpected JSON shape"))
        );
    }
}
