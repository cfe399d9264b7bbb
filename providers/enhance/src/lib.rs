//! Enhance: mapped domains are domains of one website, through the orchd API
//! (`panel-apis-a.md` §7).
//!
//! `{WU_ENHANCE_API_URL}` is the control panel's API root (`https://cp.example.com/api`),
//! with `Authorization: Bearer <access token>` attached by the host:
//! - `GET /orgs/{org}/websites/{website}` proves the token and ids (`test-connection`);
//! - `GET …/domains[?withSsl=true]` lists the website's domain mappings as
//!   `{"items": [{"domainId", "domain", "mappingKind", "cert"?, …}]}`, no pagination
//!   (`withSsl` is the spec's name, `getWebsiteDomainMappings`; the SDK serialises it so in
//!   `src/Api/DomainsApi.php`);
//! - `POST …/domains {"domain"}` maps a name (kind `alias` by default) → 201 `{"id"}`;
//! - `DELETE …/domains/{domainId}` → 204;
//! - `POST /orgs/{org}/domains/check` says who holds a name (used to explain a refusal);
//! - `POST /v2/domains/{domainId}/letsencrypt_preflight` → `{"canIssue", "error"?}`, then
//!   `POST /v2/domains/{domainId}/letsencrypt` (`request-certificate`), "a longer running
//!   task" (SDK `LetsencryptApi`), given [`LETSENCRYPT_TIMEOUT`].
//!
//! Unlike the PHP plugin: removal reads the id from `domainId`, the field the API returns
//! (the plugin's `items[].id` is never there, so its removals never happened); the `www`
//! policy is honoured (`www.` is a mapping of its own); a name already on the website is
//! a success whether Enhance answers 400 or 409 for it; the website's primary domain is
//! never removed; certificates are requested through the Let's Encrypt endpoint after its
//! preflight, and `certificate-status` reads the mapping's `cert`.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, Capabilities, CertificateReport, CertificateState, ConstantSpec, DomainEvent,
    DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, config,
    journal, json, log,
};
use serde_json::{Value, json};
use std::time::Duration;

pub const API_TOKEN: &str = "WU_ENHANCE_API_TOKEN";
pub const API_URL: &str = "WU_ENHANCE_API_URL";
pub const ORG_ID: &str = "WU_ENHANCE_ORG_ID";
pub const WEBSITE_ID: &str = "WU_ENHANCE_WEBSITE_ID";
/// How long the Let's Encrypt POST may take: it runs the whole ACME order before answering
/// ("a longer running task", SDK `docs/Api/LetsencryptApi.md`). The host still caps each
/// request at `[limits] request_timeout_secs` (30 s by default) and the call at
/// `call_timeout_secs` (120 s).
pub const LETSENCRYPT_TIMEOUT: Duration = Duration::from_secs(90);

pub struct Enhance;

impl DomainProvider for Enhance {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "enhance".into(),
            title: "Enhance Control Panel".into(),
            description: "Adds mapped domains to an Enhance website and requests their Let's \
                          Encrypt certificates."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/enhance".into(),
            constants: vec![
                ConstantSpec::required(
                    API_TOKEN,
                    "Access token",
                    "Settings > Access Tokens in the Enhance control panel",
                )
                .secret(),
                ConstantSpec::required(
                    API_URL,
                    "API URL",
                    "The control panel's API root, e.g. https://cp.example.com/api",
                ),
                ConstantSpec::required(
                    ORG_ID,
                    "Organisation ID",
                    "The UUID of the organisation that owns the website",
                ),
                ConstantSpec::required(
                    WEBSITE_ID,
                    "Website ID",
                    "The UUID of the website that serves the network",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL
                | Capabilities::INDEPENDENT_DOMAINS,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec![format!("{{{API_URL}}}")],
            auth: vec![AuthScheme::Bearer(API_TOKEN.into())],
            account_constants: vec![API_URL.into(), ORG_ID.into(), WEBSITE_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let website: Value = api.check(Request::get(&api.website).send()?)?.json()?;
        if website.get("id").is_none() {
            return Err(unreadable(format!(
                "the website answer has no id: {}",
                json::text(&website)
            )));
        }
        let name = website
            .pointer("/domain/domain")
            .or_else(|| website.get("domain"))
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        let count = api.mappings(false)?.len();
        Ok(Outcome::unchanged(format!(
            "website {name} reachable: {count} domain(s)"
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.` only when the host says it goes with this mapping (`event.www`): it may be
        // a mapping of its own, or wanted by no policy.
        Api::configured()?.remove(&names_for(&event.domain, event.www))
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(std::slice::from_ref(&event.domain))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(std::slice::from_ref(&event.domain))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let mappings = Api::configured()?.mappings(true)?;
        Ok(mappings
            .into_iter()
            .map(|m| PanelDomain {
                primary: m.is_primary(),
                certificate: Some(if m.cert.as_ref().is_some_and(Cert::is_issued) {
                    CertificateState::Active
                } else {
                    CertificateState::None
                }),
                www: None,
                name: m.domain,
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.request_certificate(&names_for(&event.domain, event.www))
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let api = Api::configured()?;
        let mappings = api.mappings(true)?;
        let Some(mapping) = find(&mappings, &event.domain) else {
            return Err(ProviderError::NotFound(format!(
                "{} is not a domain of the website",
                event.domain
            )));
        };
        Ok(match &mapping.cert {
            None => CertificateReport {
                state: CertificateState::None,
                message: "Enhance lists no certificate for this domain".into(),
                expires_at: None,
            },
            Some(cert) if !cert.is_issued() => CertificateReport {
                state: CertificateState::None,
                message: "Enhance lists only a self-signed placeholder certificate for this \
                          domain"
                    .into(),
                expires_at: None,
            },
            Some(cert) => CertificateReport {
                state: CertificateState::Active,
                message: format!(
                    "certificate{}{}",
                    cert.issuer
                        .as_deref()
                        .map(|i| format!(" issued by {i}"))
                        .unwrap_or_default(),
                    cert.expires_text()
                        .map(|e| format!(", expires {e}"))
                        .unwrap_or_default()
                ),
                expires_at: cert.expires_at(),
            },
        })
    }
}

provider_sdk::export_provider!(Enhance);

/// The names an event maps: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// The API root from `WU_ENHANCE_API_URL`: https when no scheme is written, no trailing
/// slash, and `/api` when the value is the bare control-panel address.
pub fn api_root(value: &str) -> Result<String, ProviderError> {
    let value = value.trim().trim_end_matches('/');
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("https", ""));
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(ProviderError::InvalidInput(format!(
            "{API_URL} must be an https URL (got {value:?})"
        )));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) || path.contains(['?', '#'])
    {
        return Err(ProviderError::InvalidInput(format!(
            "{API_URL} is not a usable URL (got {value:?})"
        )));
    }
    let path = if path.is_empty() { "/api" } else { path };
    Ok(format!("{scheme}://{authority}{path}"))
}

#[derive(Debug, Clone)]
pub struct Mapping {
    /// The mapping's id: `domainId` in the API (the plugin looked for `id`, accepted too).
    pub domain_id: Option<String>,
    pub id: Option<String>,
    pub domain: String,
    /// `mappingKind`.
    pub mapping_kind: Option<String>,
    pub cert: Option<Cert>,
}

impl Mapping {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Mapping")?;
        Ok(Mapping {
            domain_id: json::opt(o, "domainId", json::string)?,
            id: json::opt(o, "id", json::string)?,
            domain: json::field(o, "domain", json::string)?,
            mapping_kind: json::opt(o, "mappingKind", json::string)?,
            cert: json::opt(o, "cert", Cert::from_json)?,
        })
    }

    pub fn mapping_id(&self) -> Option<&str> {
        self.domain_id.as_deref().or(self.id.as_deref())
    }

    pub fn is_primary(&self) -> bool {
        self.mapping_kind.as_deref() == Some("primary")
    }
}

#[derive(Debug, Clone)]
pub struct Cert {
    pub cn: Option<String>,
    pub issuer: Option<String>,
    pub expires: Option<Value>,
}

impl Cert {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Cert")?;
        Ok(Cert {
            cn: json::opt(o, "cn", json::string)?,
            issuer: json::opt(o, "issuer", json::string)?,
            expires: json::opt(o, "expires", json::any)?,
        })
    }

    /// Not a self-signed placeholder. Unverified: a public report says Enhance lists a
    /// self-signed certificate for a domain before Let's Encrypt issues one; the spec's
    /// `DomainSslCert {cn, expires, issued, issuer, sans, forceHttps}` does not say. A
    /// certificate whose issuer is its own common name is taken for that placeholder.
    pub fn is_issued(&self) -> bool {
        match (&self.issuer, &self.cn) {
            (Some(issuer), Some(cn)) => !issuer.trim().eq_ignore_ascii_case(cn.trim()),
            _ => true,
        }
    }

    fn expires_text(&self) -> Option<String> {
        match &self.expires {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// `expires` as Unix seconds: a number, or an RFC 3339 date-time.
    pub fn expires_at(&self) -> Option<u64> {
        match &self.expires {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => rfc3339_seconds(s),
            _ => None,
        }
    }
}

/// `2027-02-19T03:57:43Z` (or with `+00:00`, fractional seconds) as Unix seconds; other
/// offsets are applied.
pub fn rfc3339_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, o) = time.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let mut parts = o[1..].split(':').map(|p| p.parse::<i64>().ok());
        let (oh, om) = (parts.next()??, parts.next().flatten().unwrap_or(0));
        (c, sign * (oh * 3600 + om * 60))
    } else {
        (time, 0)
    };
    let mut t = clock.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let s: i64 = t.next().unwrap_or("0").split('.').next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + s - offset;
    u64::try_from(secs).ok()
}

#[derive(Debug)]
pub struct Items {
    pub items: Vec<Mapping>,
}

impl Items {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Items")?;
        Ok(Items {
            items: json::field(o, "items", |v| json::list(v, Mapping::from_json))?,
        })
    }
}

pub fn find<'a>(mappings: &'a [Mapping], name: &str) -> Option<&'a Mapping> {
    mappings
        .iter()
        .find(|m| m.domain.eq_ignore_ascii_case(name))
}

/// Enhance's words in an error body (`HttpError {code, detail?, message?}`), or a
/// description of the status when the body says nothing.
pub fn enhance_message(status: u16, body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let field = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let parts: Vec<&str> = ["message", "detail"]
            .iter()
            .filter_map(|k| field(k))
            .collect();
        if !parts.is_empty() {
            return parts.join(": ");
        }
        if let Some(code) = field("code") {
            return code.to_string();
        }
    }
    let text = provider_sdk::errors::error_message(status, body);
    match status {
        400 if body.is_empty() => "Invalid input".into(),
        401 if body.is_empty() => "Invalid session".into(),
        403 if body.is_empty() => "Insufficient privileges".into(),
        _ => text,
    }
}

/// Who holds a name (`POST /orgs/{org}/domains/check`), as an error for an add Enhance
/// refused.
pub fn held_elsewhere(name: &str, check: &Value, website: &str) -> Option<ProviderError> {
    let status = check.get("status").and_then(Value::as_str)?;
    Some(match status {
        "inUseAnotherOrg" => ProviderError::Conflict(format!(
            "{name} is used by another organisation on this Enhance cluster"
        )),
        "inUseCurrentOrg" => {
            let on = check.get("websiteId").and_then(Value::as_str);
            if on == Some(website) {
                return None;
            }
            ProviderError::Conflict(format!(
                "{name} is used by another website of this organisation{}; remove it there first",
                on.map(|w| format!(" ({w})")).unwrap_or_default()
            ))
        }
        "inUseDeletedSite" => ProviderError::Conflict(format!(
            "{name} is still held by a deleted website; purge it in Enhance first"
        )),
        "prohibited" => {
            ProviderError::InvalidInput(format!("Enhance does not allow the domain {name}"))
        }
        _ => return None,
    })
}

fn unreadable(message: String) -> ProviderError {
    ProviderError::Api(provider_sdk::ApiError {
        status: 200,
        message,
    })
}

fn created_key(name: &str) -> String {
    format!("create {name}")
}
fn deleted_key(name: &str) -> String {
    format!("delete {name}")
}
fn certificate_key(name: &str) -> String {
    format!("letsencrypt {name}")
}

struct Api {
    root: String,
    org: String,
    /// `{root}/orgs/{org}/websites/{website}`.
    website: String,
    website_id: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let root = api_root(&config::require(API_URL)?)?;
        let org = config::require_id(ORG_ID)?;
        let website_id = config::require_id(WEBSITE_ID)?;
        Ok(Api {
            website: format!("{root}/orgs/{org}/websites/{website_id}"),
            root,
            org,
            website_id,
        })
    }

    /// Statuses in this integration's terms, with Enhance's words.
    fn check(&self, response: Response) -> Result<Response, ProviderError> {
        let message = || enhance_message(response.status, &response.body);
        match response.status {
            200..=299 => Ok(response),
            401 => Err(ProviderError::BadCredentials(format!(
                "Enhance rejected the access token (401 {}): check {API_TOKEN}",
                message()
            ))),
            403 => Err(ProviderError::BadCredentials(format!(
                "the access token may not do this (403 {}): give it a role on the \
                 organisation {}",
                message(),
                self.org
            ))),
            404 => Err(ProviderError::NotFound(format!(
                "Enhance has no such organisation or website (404 {}): check {ORG_ID} and \
                 {WEBSITE_ID}",
                message()
            ))),
            400 | 409 | 422 => Err(ProviderError::InvalidInput(message())),
            _ => Err(provider_sdk::errors::status_error(
                response.status,
                response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after),
                message(),
            )),
        }
    }

    fn mappings(&self, with_ssl: bool) -> Result<Vec<Mapping>, ProviderError> {
        let mut request = Request::get(format!("{}/domains", self.website));
        if with_ssl {
            // The spec's and the SDK's name (`DomainsApi.php`: `'withSsl'`).
            request = request.query(&[("withSsl", "true")]);
        }
        let items = self.check(request.send()?)?.json_with(Items::from_json)?;
        Ok(items.items)
    }

    fn add(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let mappings = self.mappings(false)?;
        let mut added = Vec::new();
        let mut present = Vec::new();
        for name in names {
            if find(&mappings, name).is_some() {
                if journal::recall(&created_key(name)).is_some() {
                    added.push(name.clone());
                } else {
                    present.push(name.clone());
                }
                continue;
            }
            journal::remember(&created_key(name), "sent");
            let response = Request::post(format!("{}/domains", self.website))
                .json(&json!({ "domain": name }))
                .send()?;
            if matches!(response.status, 400 | 409 | 422) {
                // Refused: fine when the name is on the website after all (a duplicate,
                // or an earlier attempt's create); otherwise say who holds it.
                if find(&self.mappings(false)?, name).is_some() {
                    added.push(name.clone());
                    continue;
                }
                let refusal = enhance_message(response.status, &response.body);
                return Err(self
                    .explain_refusal(name)
                    .unwrap_or_else(|| {
                        ProviderError::InvalidInput(format!("Enhance refused {name}: {refusal}"))
                    })
                    .prefixed(&done_so_far(&added)));
            }
            self.check(response)
                .map_err(|e| e.prefixed(&done_so_far(&added)))?;
            log::info(format!("mapped {name} to the website"));
            added.push(name.clone());
        }
        if added.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} already on the website",
                present.join(", ")
            )));
        }
        let mut outcome = Outcome::changed(format!("added {}", added.join(", ")));
        if !present.is_empty() {
            outcome
                .notes
                .push(format!("{} already on the website", present.join(", ")));
        }
        Ok(outcome)
    }

    /// Who holds a name Enhance refused, from `domains/check` (a read sent as POST).
    fn explain_refusal(&self, name: &str) -> Option<ProviderError> {
        let url = format!("{}/orgs/{}/domains/check", self.root, self.org);
        let response = Request::post(url)
            .json(&json!({ "domain": name }))
            .read_only()
            .send()
            .ok()?;
        let check: Value = self.check(response).ok()?.json().ok()?;
        held_elsewhere(name, &check, &self.website_id)
    }

    fn remove(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let mappings = self.mappings(false)?;
        let mut removed = Vec::new();
        for name in names {
            let Some(mapping) = find(&mappings, name) else {
                if journal::recall(&deleted_key(name)).is_some() {
                    removed.push(name.clone());
                }
                continue;
            };
            if mapping.is_primary() {
                return Err(ProviderError::Conflict(format!(
                    "{name} is the website's primary domain; it is never removed from here"
                )));
            }
            let Some(id) = mapping.mapping_id() else {
                return Err(unreadable(format!(
                    "Enhance lists {name} without a domainId"
                )));
            };
            provider_sdk_id(id)?;
            journal::remember(&deleted_key(name), "sent");
            let response = Request::delete(format!("{}/domains/{id}", self.website)).send()?;
            if response.status == 404 {
                // Gone between the listing and now: the wanted state.
                continue;
            }
            self.check(response)
                .map_err(|e| e.prefixed(&removed_so_far(&removed)))?;
            log::info(format!("removed {name} (domain id {id})"));
            removed.push(name.clone());
        }
        if removed.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} not on the website; nothing to remove",
                names.join(", ")
            )));
        }
        Ok(Outcome::changed(format!("removed {}", removed.join(", "))))
    }

    fn request_certificate(&self, names: &[String]) -> Result<Outcome, ProviderError> {
        let mappings = self.mappings(true)?;
        let mut notes = Vec::new();
        let mut issued = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let Some(mapping) = find(&mappings, name) else {
                if index == 0 {
                    return Err(ProviderError::NotFound(format!(
                        "{name} is not a domain of the website; map the domain first"
                    )));
                }
                notes.push(format!(
                    "{name} is not a domain of the website; no certificate"
                ));
                continue;
            };
            let Some(id) = mapping.mapping_id() else {
                return Err(unreadable(format!(
                    "Enhance lists {name} without a domainId"
                )));
            };
            provider_sdk_id(id)?;
            if journal::recall(&certificate_key(name)).is_some()
                && mapping.cert.as_ref().is_some_and(Cert::is_issued)
            {
                // An earlier attempt of this event asked, and the certificate is there.
                issued.push(name.clone());
                continue;
            }
            let base = format!("{}/v2/domains/{id}", self.root);
            let preflight: Value = self
                .check(
                    Request::post(format!("{base}/letsencrypt_preflight"))
                        .read_only()
                        .send()?,
                )
                .map_err(|e| {
                    e.prefixed(&format!("the Let's Encrypt preflight for {name} failed: "))
                })?
                .json()?;
            if preflight.get("canIssue").and_then(Value::as_bool) != Some(true) {
                let why = preflight
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("Enhance gave no reason");
                let error = ProviderError::Api(provider_sdk::ApiError {
                    status: 200,
                    message: format!("Enhance cannot issue a certificate for {name} yet: {why}"),
                });
                if index == 0 {
                    return Err(error);
                }
                notes.push(format!("no certificate for {name}: {why}"));
                continue;
            }
            journal::remember(&certificate_key(name), "sent");
            self.check(
                Request::post(format!("{base}/letsencrypt"))
                    .timeout(LETSENCRYPT_TIMEOUT)
                    .send()?,
            )
            .map_err(|e| e.prefixed(&format!("requesting the certificate for {name} failed: ")))?;
            log::info(format!("Let's Encrypt certificate requested for {name}"));
            issued.push(name.clone());
        }
        let mut outcome = Outcome::changed(format!(
            "Let's Encrypt certificate requested for {}",
            issued.join(", ")
        ));
        outcome.notes.extend(notes);
        Ok(outcome)
    }
}

/// A mapping id from the list, used in a path: a plain token.
fn provider_sdk_id(id: &str) -> Result<(), ProviderError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(unreadable(format!(
            "Enhance listed an unusable domain id {id:?}"
        )))
    }
}

fn done_so_far(added: &[String]) -> String {
    if added.is_empty() {
        String::new()
    } else {
        format!("added {}, but ", added.join(", "))
    }
}

fn removed_so_far(removed: &[String]) -> String {
    if removed.is_empty() {
        String::new()
    } else {
        format!("removed {}, but ", removed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_from_what_operators_write() {
        assert_eq!(
            api_root("https://cp.example.com/api").unwrap(),
            "https://cp.example.com/api"
        );
        assert_eq!(
            api_root("https://cp.example.com/api/").unwrap(),
            "https://cp.example.com/api"
        );
        assert_eq!(
            api_root("cp.example.com").unwrap(),
            "https://cp.example.com/api"
        );
        assert_eq!(
            api_root("https://cp.example.com:8443/").unwrap(),
            "https://cp.example.com:8443/api"
        );
        assert!(api_root("ftp://cp.example.com").is_err());
        assert!(api_root("https://cp.example.com/api?x=1").is_err());
    }

    #[test]
    fn mappings_are_read_by_domain_id() {
        let body = br#"{"items":[{"domainId":"5b0c1e9e-1111-4c1e-9a57-1b2c3d4e5f60","websiteId":"w","domain":"shop.example.com","mappingKind":"alias","documentRoot":"/var/www","cloudflareStatus":null}]}"#;
        let items = provider_sdk::http::parse_json_with(200, body, Items::from_json).unwrap();
        assert_eq!(
            items.items[0].mapping_id(),
            Some("5b0c1e9e-1111-4c1e-9a57-1b2c3d4e5f60")
        );
        assert!(!items.items[0].is_primary());
        // The plugin's field, should a build return it.
        let legacy = Mapping::from_json(&json!({"id": "abc", "domain": "a.com"})).unwrap();
        assert_eq!(legacy.mapping_id(), Some("abc"));
    }

    #[test]
    fn error_bodies_and_empty_ones() {
        assert_eq!(
            enhance_message(
                400,
                br#"{"code":"alreadyExists","message":"Domain already exists"}"#
            ),
            "Domain already exists"
        );
        assert_eq!(enhance_message(401, b""), "Invalid session");
        assert_eq!(
            enhance_message(403, br#"{"code":"forbidden"}"#),
            "forbidden"
        );
    }

    #[test]
    fn domain_check_statuses() {
        let other = held_elsewhere("a.com", &json!({"status": "inUseAnotherOrg"}), "w1");
        assert!(matches!(other, Some(ProviderError::Conflict(_))));
        assert!(
            held_elsewhere(
                "a.com",
                &json!({"status": "inUseCurrentOrg", "websiteId": "w1"}),
                "w1"
            )
            .is_none()
        );
        assert!(matches!(
            held_elsewhere("a.com", &json!({"status": "inUseCurrentOrg", "websiteId": "w2"}), "w1"),
            Some(ProviderError::Conflict(m)) if m.contains("w2")
        ));
        assert!(matches!(
            held_elsewhere("a.com", &json!({"status": "prohibited"}), "w1"),
            Some(ProviderError::InvalidInput(_))
        ));
        assert!(held_elsewhere("a.com", &json!({"status": "notInUse"}), "w1").is_none());
    }

    #[test]
    fn a_self_signed_placeholder_is_no_certificate() {
        let cert = Cert::from_json(&json!({"cn": "a.com", "issuer": "R11",
            "expires": "2027-02-19T03:57:43Z", "issued": "x", "sans": ["a.com"], "forceHttps": false}))
        .unwrap();
        assert!(cert.is_issued());
        let placeholder = Cert::from_json(&json!({"cn": "a.com", "issuer": "A.com"})).unwrap();
        assert!(!placeholder.is_issued());
        let bare = Cert::from_json(&json!({})).unwrap();
        assert!(bare.is_issued());
    }

    #[test]
    fn certificate_expiry_dates() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_seconds("2027-02-19T03:57:43Z"), Some(1_803_009_463));
        assert_eq!(
            rfc3339_seconds("2027-02-19T04:57:43.123+01:00"),
            Some(1_803_009_463)
        );
        assert_eq!(rfc3339_seconds("yesterday"), None);
    }

    #[test]
    fn www_names_follow_the_policy() {
        assert_eq!(names_for("a.com", true), vec!["a.com", "www.a.com"]);
        assert_eq!(names_for("a.com", false), vec!["a.com"]);
        assert_eq!(names_for("www.a.com", true), vec!["www.a.com"]);
    }
}
