//! Closte: mapped domains are domain aliases of the Closte site, added and deleted as
//! Closte's own mu-plugin (class `Closte_Api`) calls them; Closte issues certificates itself.
//!
//! API (`https://app.closte.com/api/client/`, `panel-apis-b.md` §4; no public reference):
//! - the key (`CLOSTE_CLIENT_API_KEY`, defined by Closte on its servers) is the `apikey`
//!   field of the form body (POST) or the query (GET): a host-held secret, placed here as a
//!   placeholder the host fills in;
//! - `GET getdomains?apikey=` → `{"success": true, "domains": [...]}` (item shape not shown
//!   in any source: names or objects are both read);
//! - `POST adddomainalias` form `apikey, domain, wildcard` → `{"success": true}` or
//!   `{"success": false, "error": "..."}`; an empty or bad name answers
//!   `"Invalid or empty domain: <d>"`;
//! - `POST deletedomainalias` form `apikey, domain, wildcard`, same envelope;
//! - errors come inside HTTP 200 (`success: false`), or as HTTP statuses.
//!
//! No SSL endpoint is documented anywhere (Closte's own plugin has none; the four the PHP
//! plugin tries have no source), so none is invented: SSL is automatic, and the certificate
//! state is read from the domain list when it carries one.
//!
//! Unlike the PHP plugin: the connection test reads the domain list instead of posting an
//! empty alias; a present alias is not posted again and an absent one is not deleted; `www.`
//! follows the network's policy (the plugin never added it); every answer is checked.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    ApiError, Capabilities, CertificateReport, CertificateState, ConstantSpec, DomainEvent,
    DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, config,
    journal, log,
};
use serde_json::Value;

pub const API_BASE: &str = "https://app.closte.com/api/client";
pub const API_KEY: &str = "CLOSTE_CLIENT_API_KEY";
/// The plugin raises Ultimate Multisite's certificate checks to 20 for Closte.
pub const SSL_ATTEMPTS: u32 = 20;

pub struct Closte;

impl DomainProvider for Closte {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "closte".into(),
            title: "Closte".into(),
            description: "Adds mapped domains to the Closte site as domain aliases and removes \
                          them; Closte issues their certificates automatically."
                .into(),
            tutorial_link: "https://ultimatemultisite.com/docs/user-guide/host-integrations/closte"
                .into(),
            constants: vec![
                ConstantSpec::required(
                    API_KEY,
                    "Closte API key",
                    "Defined by Closte in wp-config.php on its servers (the site's client API \
                     key)",
                )
                .secret(),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::REMOVAL
                | Capabilities::WILDCARDS,
            operations: Operations::LIST_DOMAINS | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: SSL_ATTEMPTS,
            default_allowed_hosts: vec!["app.closte.com".into()],
            // The key travels in the body or query, as a placeholder.
            auth: vec![],
            account_constants: vec![],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let domains = domains()?;
        Ok(Outcome::unchanged(format!(
            "Closte API key accepted: {} domain(s) on the site",
            domains.len()
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.` only when the host says it goes with this mapping (it says no when the
        // policy does not want it or `www.<domain>` is a mapping of its own).
        remove(&names_for(&event.domain, event.www))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        Ok(domains()?
            .into_iter()
            .map(|d| PanelDomain {
                certificate: d.ssl.as_deref().map(certificate_state),
                name: d.name,
                www: None,
                primary: d.primary,
            })
            .collect())
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let all = domains()?;
        let Some(domain) = all.into_iter().find(|d| d.name == event.domain) else {
            return Err(ProviderError::NotFound(format!(
                "{} is not a domain of the Closte site; map the domain first",
                event.domain
            )));
        };
        Ok(match domain.ssl {
            Some(ssl) => CertificateReport {
                state: certificate_state(&ssl),
                message: format!("Closte certificate status: {ssl}"),
                expires_at: None,
            },
            None => CertificateReport {
                state: CertificateState::Unknown,
                message: "Closte issues certificates automatically once DNS points at it; its \
                          domain list does not say the state"
                    .into(),
                expires_at: None,
            },
        })
    }
}

provider_sdk::export_provider!(Closte);

/// The names an event puts on the site: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// A domain of the Closte site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub primary: bool,
    pub ssl: Option<String>,
}

/// `domains` of a `getdomains` answer: names, or objects with `domain`/`name`/`hostname`
/// (in any letter case: `Domain` too), a primary flag and an SSL status when present. No
/// source shows the item shape, so items with none of these keys are skipped; use
/// [`parse_domains_complete`] where a skipped item would mislead.
pub fn parse_domains(body: &Value) -> Result<Vec<Listed>, String> {
    parse_domains_counted(body).map(|(list, _)| list)
}

/// The list only when every item was read: what add and remove may trust.
pub fn parse_domains_complete(body: &Value) -> Result<Vec<Listed>, String> {
    match parse_domains_counted(body)? {
        (list, 0) => Ok(list),
        (_, skipped) => Err(format!(
            "{skipped} getdomains item(s) are in a shape not known (no domain, name or \
             hostname)"
        )),
    }
}

fn parse_domains_counted(body: &Value) -> Result<(Vec<Listed>, usize), String> {
    let Some(list) = body.get("domains").and_then(Value::as_array) else {
        return Err("the getdomains answer has no domains list".into());
    };
    let mut out: Vec<Listed> = Vec::new();
    let mut skipped = 0;
    for item in list {
        let entry = match item {
            Value::String(name) => Listed {
                name: name.clone(),
                primary: false,
                ssl: None,
            },
            Value::Object(map) => {
                let get = |k: &str| {
                    map.get(k).or_else(|| {
                        map.iter()
                            .find(|(key, _)| key.eq_ignore_ascii_case(k))
                            .map(|(_, v)| v)
                    })
                };
                let Some(name) = ["domain", "name", "hostname"]
                    .iter()
                    .find_map(|k| get(k).and_then(Value::as_str))
                else {
                    skipped += 1;
                    continue;
                };
                let flag = |k: &str| {
                    get(k).is_some_and(|v| v.as_bool() == Some(true) || v.as_u64() == Some(1))
                };
                let ssl = ["ssl_status", "ssl", "certificate"]
                    .iter()
                    .find_map(|k| match get(k) {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Bool(b)) => Some(if *b { "active" } else { "none" }.into()),
                        Some(Value::Object(o)) => {
                            o.get("status").and_then(Value::as_str).map(str::to_string)
                        }
                        _ => None,
                    });
                Listed {
                    name: name.to_string(),
                    primary: flag("primary") || flag("is_primary") || flag("main"),
                    ssl,
                }
            }
            _ => {
                skipped += 1;
                continue;
            }
        };
        let name = entry.name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() && !out.iter().any(|d| d.name == name) {
            out.push(Listed { name, ..entry });
        }
    }
    Ok((out, skipped))
}

pub fn certificate_state(ssl: &str) -> CertificateState {
    let s = ssl.to_ascii_lowercase();
    match s.as_str() {
        "active" | "issued" | "valid" | "installed" | "enabled" | "true" => {
            CertificateState::Active
        }
        "none" | "disabled" | "false" | "" => CertificateState::None,
        _ if s.contains("fail") || s.contains("error") || s.contains("expired") => {
            CertificateState::Failed
        }
        _ if s.contains("pending") || s.contains("progress") || s.contains("issuing") => {
            CertificateState::Pending
        }
        _ => CertificateState::Unknown,
    }
}

/// What a Closte answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(Value),
    /// `success: false` (or an HTTP error) with Closte's words.
    Refused(u16, String),
}

/// Reads the `{success, error}` envelope, whatever the HTTP status.
pub fn verdict(status: u16, body: &[u8]) -> Verdict {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let success = json
        .as_ref()
        .and_then(|j| j.get("success"))
        .map(|s| s.as_bool() == Some(true) || s.as_u64() == Some(1) || s.as_str() == Some("true"));
    let error_text = || {
        json.as_ref()
            .and_then(|j| j.get("error").or_else(|| j.get("message")))
            .and_then(|e| {
                e.as_str()
                    .map(str::to_string)
                    .or_else(|| Some(provider_sdk::json::text(e)))
            })
            .unwrap_or_else(|| provider_sdk::errors::error_message(status, body))
    };
    match (status, success) {
        (200..=299, Some(true)) => Verdict::Ok(json.unwrap_or(Value::Null)),
        (200..=299, Some(false)) => Verdict::Refused(status, error_text()),
        (200..=299, None) => Verdict::Refused(
            status,
            format!(
                "the answer has no success flag ({})",
                provider_sdk::errors::error_message(status, body)
            ),
        ),
        _ => Verdict::Refused(status, error_text()),
    }
}

pub fn is_duplicate(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("already") || e.contains("exist") || e.contains("duplicate")
}

pub fn is_absent(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("not found")
        || e.contains("does not exist")
        || e.contains("not exist")
        || e.contains("no such")
}

pub fn is_bad_key(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("api key")
        || e.contains("apikey")
        || e.contains("unauthori")
        || e.contains("forbidden")
}

/// The typed error for a refusal.
pub fn refusal(status: u16, error: String) -> ProviderError {
    if matches!(status, 401 | 403) || (status < 300 && is_bad_key(&error)) {
        return ProviderError::BadCredentials(format!(
            "Closte refused the API key ({status}): {error}; check {API_KEY} (Closte defines it \
             in wp-config.php on its servers)"
        ));
    }
    if error.starts_with("Invalid or empty domain") {
        return ProviderError::InvalidInput(format!("Closte: {error}"));
    }
    match status {
        200..=299 => ProviderError::Api(ApiError {
            status,
            message: format!("Closte: {error}"),
        }),
        404 => ProviderError::Api(ApiError {
            status,
            message: format!("Closte has no such API route (404): {error}"),
        }),
        _ => provider_sdk::errors::status_error(status, None, format!("Closte: {error}")),
    }
}

fn check(response: Response) -> Result<Value, ProviderError> {
    let status = response.status;
    match verdict(status, &response.body) {
        Verdict::Ok(v) => Ok(v),
        Verdict::Refused(_, error) if status == 429 || status >= 500 => {
            let retry_after = response
                .header("retry-after")
                .and_then(provider_sdk::errors::parse_retry_after);
            Err(provider_sdk::errors::status_error(
                status,
                retry_after,
                format!("Closte: {error}"),
            ))
        }
        Verdict::Refused(status, error) => Err(refusal(status, error)),
    }
}

fn domains() -> Result<Vec<Listed>, ProviderError> {
    parse_domains(&get_domains()?).map_err(|message| {
        ProviderError::Api(ApiError {
            status: 200,
            message,
        })
    })
}

/// The list as a hint for add and remove: `Ok(None)` when Closte answered but not every
/// item could be read (the item shape is undocumented), so the write's own answer decides.
fn hint() -> Result<Option<Vec<Listed>>, ProviderError> {
    Ok(match parse_domains_complete(&get_domains()?) {
        Ok(list) => Some(list),
        Err(why) => {
            log::warn(format!(
                "Closte's domain list cannot be relied on ({why}): its answers to the \
                 writes decide"
            ));
            None
        }
    })
}

fn get_domains() -> Result<Value, ProviderError> {
    let key = config::secret(API_KEY).in_form()?;
    check(
        Request::get(format!("{API_BASE}/getdomains"))
            .query(&[("apikey", key)])
            .send()?,
    )
}

/// `adddomainalias` / `deletedomainalias`, the way Closte's plugin posts them.
fn post_alias(endpoint: &str, name: &str) -> Result<Response, ProviderError> {
    let wildcard = if name.starts_with("*.") { "1" } else { "0" };
    Request::post(format!("{API_BASE}/{endpoint}"))
        .form(&[
            ("apikey", config::secret(API_KEY).in_form()?),
            ("domain", name.to_string()),
            ("wildcard", wildcard.to_string()),
        ])
        .send()
}

fn journal_key(what: &str, name: &str) -> String {
    format!("{what} {name}")
}

fn add(names: &[String]) -> Result<Outcome, ProviderError> {
    let listed = hint()?;
    let mut added: Vec<String> = Vec::new();
    let mut present: Vec<String> = Vec::new();
    for name in names {
        let key = journal_key("add", name);
        let sent_earlier = journal::recall(&key).is_some();
        let settle = |added: &mut Vec<String>, present: &mut Vec<String>| {
            if sent_earlier {
                added.push(name.clone());
            } else {
                present.push(name.clone());
            }
        };
        if listed.iter().flatten().any(|d| &d.name == name) {
            settle(&mut added, &mut present);
            continue;
        }
        journal::remember(&key, "sent");
        let response = post_alias("adddomainalias", name)?;
        if let Verdict::Refused(status @ 200..=299, error) =
            verdict(response.status, &response.body)
            && is_duplicate(&error)
        {
            // A list that cannot be read cannot contradict the duplicate: take it.
            let there = match hint()? {
                Some(list) => list.iter().any(|d| &d.name == name),
                None => true,
            };
            if there {
                settle(&mut added, &mut present);
                continue;
            }
            return Err(ProviderError::Conflict(format!(
                "Closte refused {name} ({error}, HTTP {status}) but the site does not list it: \
                 it may be on another Closte site"
            )));
        }
        check(response).map_err(|e| {
            if added.is_empty() {
                e.prefixed(&format!("adding {name} failed: "))
            } else {
                e.prefixed(&format!(
                    "added {} but adding {name} failed: ",
                    added.join(", ")
                ))
            }
        })?;
        log::info(format!("added domain alias {name}"));
        added.push(name.clone());
    }
    if added.is_empty() {
        return Ok(Outcome::unchanged(format!(
            "{} already on the Closte site",
            present.join(", ")
        )));
    }
    let mut outcome = Outcome::changed(format!("added {}", added.join(", ")));
    if !present.is_empty() {
        outcome
            .notes
            .push(format!("{} already on the site", present.join(", ")));
    }
    outcome.notes.push(
        "Closte issues the certificate automatically once DNS points at it (no SSL call exists)"
            .into(),
    );
    Ok(outcome)
}

/// Posts `deletedomainalias` for each name, as the plugin does, and reads its `success`.
/// The list is a hint: a name it reliably lacks is not posted (nothing of ours to remove),
/// and its main domain is refused before anything is sent.
fn remove(names: &[String]) -> Result<Outcome, ProviderError> {
    let listed = hint()?;
    if let Some(primary) = listed
        .iter()
        .flatten()
        .find(|d| d.primary && names.contains(&d.name))
    {
        return Err(ProviderError::Conflict(format!(
            "{} is the Closte site's main domain, not an alias: it is never removed from here",
            primary.name
        )));
    }
    let mut removed = Vec::new();
    for name in names {
        let key = journal_key("delete", name);
        if listed
            .as_ref()
            .is_some_and(|list| !list.iter().any(|d| &d.name == name))
        {
            if journal::recall(&key).is_some() {
                removed.push(name.clone());
            }
            continue;
        }
        let sent_earlier = journal::recall(&key).is_some();
        journal::remember(&key, "sent");
        let response = post_alias("deletedomainalias", name)?;
        if let Verdict::Refused(200..=299, error) = verdict(response.status, &response.body)
            && is_absent(&error)
        {
            // Gone already: by an earlier attempt of this event whose answer was lost, or
            // never there (the list could not say).
            if sent_earlier {
                removed.push(name.clone());
            }
            continue;
        }
        check(response).map_err(|e| e.prefixed(&format!("removing {name} failed: ")))?;
        log::info(format!("removed domain alias {name}"));
        removed.push(name.clone());
    }
    Ok(if removed.is_empty() {
        Outcome::unchanged(format!(
            "{} not on the Closte site; nothing to remove",
            names.join(", ")
        ))
    } else {
        Outcome::changed(format!("removed {}", removed.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn domain_lists_of_names_or_objects() {
        let d = parse_domains(&json!({"success": true, "domains": ["A.com", "a.com", "b.com"]}))
            .unwrap();
        assert_eq!(
            d.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["a.com", "b.com"]
        );
        let d = parse_domains(&json!({"success": true, "domains": [
            {"domain": "n.example", "primary": true, "ssl_status": "issued"},
            {"name": "a.com", "ssl": {"status": "pending"}},
            {"hostname": "b.com", "ssl": false}]}))
        .unwrap();
        assert!(d[0].primary);
        assert_eq!(
            certificate_state(d[0].ssl.as_deref().unwrap()),
            CertificateState::Active
        );
        assert_eq!(
            certificate_state(d[1].ssl.as_deref().unwrap()),
            CertificateState::Pending
        );
        assert_eq!(
            certificate_state(d[2].ssl.as_deref().unwrap()),
            CertificateState::None
        );
        assert!(parse_domains(&json!({"success": true})).is_err());
    }

    #[test]
    fn the_envelope_decides_not_the_status() {
        assert!(matches!(
            verdict(200, br#"{"success":true}"#),
            Verdict::Ok(_)
        ));
        assert_eq!(
            verdict(
                200,
                br#"{"success":false,"error":"Invalid or empty domain: "}"#
            ),
            Verdict::Refused(200, "Invalid or empty domain: ".into())
        );
        assert!(
            matches!(verdict(200, b"<html>"), Verdict::Refused(200, m) if m.contains("no success flag"))
        );
        assert!(matches!(verdict(500, b""), Verdict::Refused(500, _)));
        assert!(matches!(
            refusal(200, "Invalid API key".into()),
            ProviderError::BadCredentials(_)
        ));
        assert!(matches!(
            refusal(200, "Invalid or empty domain: x".into()),
            ProviderError::InvalidInput(_)
        ));
        assert!(matches!(
            refusal(200, "Quota reached".into()),
            ProviderError::Api(ApiError { status: 200, .. })
        ));
        assert!(is_duplicate("Domain already exists"));
        assert!(is_absent("Domain not found"));
        assert_eq!(names_for("a.com", true), ["a.com", "www.a.com"]);
        assert_eq!(names_for("*.a.com", true), ["*.a.com"]);
    }
}
