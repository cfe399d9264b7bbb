//! ServerPilot: the app's domain list is replaced as a whole, then AutoSSL is switched on.
//!
//! API (v1, `https://api.serverpilot.io/v1`, HTTP Basic `client_id:api_key`):
//! - `GET /apps/{id}` → `{"data": {"domains": [...], "ssl": {...}|null, "autossl": {...}}}`
//! - `POST /apps/{id}` `{"domains": [...]}` replaces the list (order is not kept);
//! - `POST /apps/{id}/ssl` `{"auto": true}` enables AutoSSL.
//!
//! Unlike the PHP plugin, every response is checked, the list is de-duplicated, the
//! 300-domains-per-app limit is reported before ServerPilot refuses it, and a request that
//! would change nothing is not sent.

use provider_sdk::http::Request;
use provider_sdk::{
    AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent, DomainProvider, Outcome,
    ProviderError, ProviderMetadata, config, log,
};
use serde::Deserialize;

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
                constant(
                    CLIENT_ID,
                    "Client ID",
                    "Account > API in the ServerPilot dashboard (cid_...)",
                    false,
                ),
                constant(
                    API_KEY,
                    "API key",
                    "Account > API in the ServerPilot dashboard",
                    true,
                ),
                constant(
                    APP_ID,
                    "App ID",
                    "From the app's URL: manage.serverpilot.io/apps/{APP_ID}",
                    false,
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.serverpilot.io".into()],
            auth: vec![AuthScheme::Basic(BasicAuth {
                username_constant: CLIENT_ID.into(),
                password_constant: API_KEY.into(),
            })],
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
        // The www variant goes with the domain whatever today's www policy says.
        remove_names(&names_for(&event.domain, true))
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        add_names(std::slice::from_ref(&event.domain))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        remove_names(std::slice::from_ref(&event.domain))
    }
}

provider_sdk::export_provider!(ServerPilot);

fn constant(name: &str, label: &str, description: &str, secret: bool) -> ConstantSpec {
    ConstantSpec {
        name: name.into(),
        label: label.into(),
        description: description.into(),
        secret,
        required: true,
    }
}

fn add_names(names: &[String]) -> Result<Outcome, ProviderError> {
    let app = get_app()?;
    let (domains, added) = with_domains(&app.domains, names);
    let mut outcome = if added.is_empty() {
        Outcome::unchanged(format!("{} already on the app", names.join(", ")))
    } else {
        check_limit(domains.len())?;
        set_domains(&domains)?;
        log::info(format!("added {} to the app", added.join(", ")));
        Outcome::changed(format!("added {}", added.join(", ")))
    };
    match ensure_autossl(&app) {
        Ok(note) => outcome.notes.push(note),
        Err(error) if outcome.changed => {
            // Say what already happened: the domains are in place, only SSL is missing.
            return Err(error.prefixed(&format!("added {} but ", added.join(", "))));
        }
        Err(error) => return Err(error),
    }
    Ok(outcome)
}

fn remove_names(names: &[String]) -> Result<Outcome, ProviderError> {
    let app = get_app()?;
    let (domains, removed) = without_domains(&app.domains, names);
    if removed.is_empty() {
        return Ok(Outcome::unchanged(format!(
            "{} not on the app; nothing to remove",
            names.join(", ")
        )));
    }
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
    let removed = current.iter().filter(|d| is_removed(d)).cloned().collect();
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

#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

#[derive(Debug, Deserialize)]
pub struct App {
    pub name: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    pub ssl: Option<Ssl>,
    pub autossl: Option<AutoSsl>,
}

#[derive(Debug, Deserialize)]
pub struct Ssl {
    #[serde(default)]
    pub auto: bool,
}

#[derive(Debug, Deserialize)]
pub struct AutoSsl {
    #[serde(default)]
    pub available: bool,
}

fn app_url() -> Result<String, ProviderError> {
    Ok(format!("{API_BASE}/apps/{}", config::require_id(APP_ID)?))
}

fn get_app() -> Result<App, ProviderError> {
    let response = Request::get(app_url()?).send()?.error_for_status()?;
    parse_app(&response.body)
}

pub fn parse_app(body: &[u8]) -> Result<App, ProviderError> {
    let envelope: Envelope<App> = provider_sdk::http::parse_json(200, body)?;
    Ok(envelope.data)
}

fn set_domains(domains: &[String]) -> Result<(), ProviderError> {
    Request::post(app_url()?)
        .json(&serde_json::json!({ "domains": domains }))
        .send()?
        .error_for_status()?;
    Ok(())
}

/// AutoSSL on, unless it already is. A custom certificate blocks AutoSSL; that is left
/// alone and reported, since replacing someone's certificate is not ours to decide.
fn ensure_autossl(app: &App) -> Result<String, ProviderError> {
    match &app.ssl {
        Some(ssl) if ssl.auto => return Ok("AutoSSL already on".into()),
        Some(_) => {
            log::warn("the app has a custom certificate; AutoSSL left off");
            return Ok("the app uses a custom certificate; AutoSSL left off".into());
        }
        None => {}
    }
    Request::post(format!("{}/ssl", app_url()?))
        .json(&serde_json::json!({ "auto": true }))
        .send()?
        .error_for_status()
        .map_err(|e| e.prefixed("enabling AutoSSL failed: "))?;
    log::info("AutoSSL enabled");
    Ok("AutoSSL enabled".into())
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
