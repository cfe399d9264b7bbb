//! Cloudflare: custom hostnames (Cloudflare for SaaS) for mapped domains, proxied CNAME
//! records for the sites of a subdomain network.
//!
//! API v4, `https://api.cloudflare.com/client/v4`, `Authorization: Bearer <API token>`
//! (`panel-apis-a.md` §1). Every answer is the envelope
//! `{success, errors[{code,message}], messages[], result, result_info}`, and `success` is the
//! truth: a `success: false` inside an HTTP 200 is an error like any 4xx.
//!
//! - Mapped domains, with `WU_CLOUDFLARE_SAAS_ZONE_ID`: `POST /zones/{saas}/custom_hostnames`
//!   `{"hostname", "ssl": {"method": "http", "type": "dv"}}` answers **201**; a duplicate is
//!   409 / code 1406, which is success once `GET ?hostname=` finds the name in this zone
//!   (never retried: a 409 will not change). Removal looks the id up and
//!   `DELETE /custom_hostnames/{id}` (a bare `{"id"}` or an envelope, both read; 404/1436 is
//!   "already gone"). `list-domains` pages through the custom hostnames, `certificate-status`
//!   reads `ssl.status`, `dns-requirements` is the CNAME to the zone's fallback origin plus the
//!   ownership TXT while the hostname is pending, and `request-certificate` sends the no-change
//!   `PATCH` that Cloudflare documents as "check again now" (it resets the DCV backoff).
//! - Subdomain sites: a proxied `CNAME <site> → <zone apex>` in `WU_CLOUDFLARE_ZONE_ID`
//!   (and `www.<site>` when wanted), removed on delete. Only CNAMEs that point at the apex
//!   are ever deleted; a name that already has another record is a conflict, not overwritten.
//!
//! Unlike the PHP plugin: a 201 is success and a 200 with `success: false` is not; a
//! duplicate is resolved by a lookup instead of failing; `www.<domain>` gets its own custom
//! hostname when the network's `www` policy wants it (Cloudflare serves only the hostnames it
//! has); removal deletes the id the lookup found for exactly this name (`?hostname=` may match
//! more than one name, which is unverified, so the list is filtered); DNS records are written
//! with the apex's name instead of the unverified `"@"`; and a retried event says what it did
//! (the journal remembers a write whose answer was lost).

use provider_sdk::errors::{error_message, parse_retry_after};
use provider_sdk::http::{Request, Response};
use provider_sdk::{
    ApiError, AuthScheme, Capabilities, CertificateReport, CertificateState, ConstantSpec,
    DnsRecord, DomainEvent, DomainProvider, Operations, Outcome, PanelDomain, ProviderError,
    ProviderMetadata, RateLimit, config, journal, json, log,
};
use serde_json::Value;

pub const API: &str = "https://api.cloudflare.com/client/v4";
pub const API_KEY: &str = "WU_CLOUDFLARE_API_KEY";
pub const ZONE_ID: &str = "WU_CLOUDFLARE_ZONE_ID";
pub const SAAS_ZONE_ID: &str = "WU_CLOUDFLARE_SAAS_ZONE_ID";
/// Not a PHP-plugin constant: stands in for its `wu_cloudflare_should_add_www` filter, since
/// the host's events for subdomain sites never ask for `www.` (see [`subdomain_www`]).
pub const SUBDOMAIN_WWW: &str = "WU_CLOUDFLARE_SUBDOMAIN_WWW";
/// Custom hostnames asked for per page (the legacy Go client's choice; Cloudflare's default
/// is 20).
pub const PER_PAGE: u32 = 50;
/// DNS records per page (Cloudflare's default).
pub const DNS_PER_PAGE: u32 = 100;
/// A bound on pages followed, so a misbehaving API cannot keep a component looping.
const MAX_PAGES: u32 = 1000;

pub struct Cloudflare;

impl DomainProvider for Cloudflare {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "cloudflare".into(),
            title: "Cloudflare".into(),
            description: "Adds mapped domains as Cloudflare for SaaS custom hostnames (with a DV \
                          certificate) and proxied DNS records for the sites of a subdomain \
                          network."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/cloudflare".into(),
            constants: vec![
                ConstantSpec::required(
                    API_KEY,
                    "API token",
                    "My Profile > API Tokens: a token (not the Global API Key) with Zone:Read and \
                     DNS:Edit on the network's zone, and SSL and Certificates:Edit on the SaaS zone",
                )
                .secret(),
                ConstantSpec::required(
                    ZONE_ID,
                    "Zone ID",
                    "The network domain's zone: Overview page, API section, Zone ID",
                ),
                ConstantSpec::optional(
                    SAAS_ZONE_ID,
                    "SaaS zone ID",
                    "The Cloudflare for SaaS zone whose custom hostnames serve mapped domains \
                     (SSL/TLS > Custom Hostnames, with a fallback origin); unset: mapped domains \
                     are left alone",
                ),
                ConstantSpec::optional(
                    SUBDOMAIN_WWW,
                    "www for subdomain sites",
                    "Overrides the network's www policy for subdomain sites: \"always\" (or 1) \
                     adds a www.<site> record too, \"never\" only <site>; unset: the policy \
                     decides, as in the plugin",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS
                | Operations::DNS_REQUIREMENTS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.cloudflare.com".into()],
            auth: vec![AuthScheme::Bearer(API_KEY.into())],
            account_constants: vec![ZONE_ID.into(), SAAS_ZONE_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        // Reads only. Not `/user/tokens/verify` (the plugin's test): an account-owned token
        // fails there although it works everywhere else.
        // Every read here is allowed by the scope the help text asks for: "Zone Details"
        // (`GET /zones/{id}`) accepts Zone Read, DNS Read/Write and SSL and Certificates
        // Read/Write, "List Custom Hostnames" SSL and Certificates Read/Write (Cloudflare API
        // reference, "Accepted Permissions"; developers.cloudflare.com/api/resources/zones/
        // methods/get, …/custom_hostnames/methods/list).
        let zone = config::require_id(ZONE_ID)?;
        let apex = zone_name(&zone, ZONE_ID)?;
        let records = dns_page(&zone, &[("per_page", "5".to_string())])?;
        let mut note = format!(
            "zone {apex} reachable: {} DNS record(s)",
            total(&records.1, records.0.len())
        );
        match saas_zone()? {
            Some(saas) => {
                let saas_name = zone_name(&saas, SAAS_ZONE_ID)?;
                let (items, info) = hostnames_page(&saas, 1, 5, None)?;
                note.push_str(&format!(
                    "; SaaS zone {saas_name} reachable: {} custom hostname(s)",
                    total(&info, items.len())
                ));
            }
            None => note.push_str(&format!(
                "; {SAAS_ZONE_ID} is not set, so mapped domains are not sent to Cloudflare"
            )),
        }
        Ok(Outcome::unchanged(note))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let Some(saas) = saas_zone()? else {
            return Ok(no_saas_zone(&event.domain));
        };
        // A subdomain network maps its sites' hosts too: those are served by the network
        // zone's own records (add-subdomain), never as custom hostnames.
        let apex = zone_name(&config::require_id(ZONE_ID)?, ZONE_ID)?;
        if event.domain.eq_ignore_ascii_case(&apex) || in_zone(&event.domain, &apex) {
            return Ok(Outcome::unchanged(format!(
                "{} is in the network's zone {apex}: its DNS records serve it, not a custom \
                 hostname",
                event.domain
            )));
        }
        let mut outcome = Outcome {
            changed: false,
            notes: vec![],
        };
        for name in names_for(&event.domain, event.www) {
            let step = add_custom_hostname(&saas, &name);
            merge(&mut outcome, step)?;
        }
        Ok(outcome)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let Some(saas) = saas_zone()? else {
            return Ok(no_saas_zone(&event.domain));
        };
        let mut outcome = Outcome {
            changed: false,
            notes: vec![],
        };
        // `www.<domain>` only when the host says so: it is false when the policy does not
        // want it or when `www.<domain>` is mapped as a domain of its own (review #9).
        for name in names_for(&event.domain, event.www) {
            let step = remove_custom_hostname(&saas, &name);
            merge(&mut outcome, step)?;
        }
        Ok(outcome)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let zone = config::require_id(ZONE_ID)?;
        let apex = zone_name(&zone, ZONE_ID)?;
        check_in_zone(&event.domain, &apex)?;
        let www = subdomain_www()?.unwrap_or(event.www);
        let mut outcome = Outcome {
            changed: false,
            notes: vec![],
        };
        for name in names_for(&event.domain, www) {
            let step = add_record(&zone, &apex, &name);
            merge(&mut outcome, step)?;
        }
        Ok(outcome)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let zone = config::require_id(ZONE_ID)?;
        let apex = zone_name(&zone, ZONE_ID)?;
        check_in_zone(&event.domain, &apex)?;
        let mut outcome = Outcome {
            changed: false,
            notes: vec![],
        };
        for name in names_for(&event.domain, true) {
            let step = remove_records(&zone, &apex, &name);
            merge(&mut outcome, step)?;
        }
        Ok(outcome)
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let saas = require_saas("list-domains")?;
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let (items, info) = hostnames_page(&saas, page, PER_PAGE, None)?;
            let more = has_next(info.as_ref(), items.len(), page, PER_PAGE);
            for h in items {
                all.push(PanelDomain {
                    certificate: Some(h.certificate_state()),
                    name: h.hostname,
                    // Every name is a custom hostname of its own, www. ones included.
                    www: None,
                    primary: false,
                });
            }
            if !more || page >= MAX_PAGES {
                return Ok(all);
            }
            page += 1;
        }
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let saas = require_saas("request-certificate")?;
        let mut outcome = Outcome {
            changed: false,
            notes: vec![],
        };
        for name in names_for(&event.domain, event.www) {
            let Some(found) = find_hostname(&saas, &name)? else {
                return Err(ProviderError::NotFound(format!(
                    "{name} is not a custom hostname of the SaaS zone; map the domain first"
                )));
            };
            if found.ssl_status() == "active" {
                outcome
                    .notes
                    .push(format!("{name}: the certificate is already active"));
                continue;
            }
            // The same ssl object again: Cloudflare checks the hostname and DCV now and
            // resets its backoff (202). It changes no setting, so a repeat is harmless.
            let url = format!(
                "{API}/zones/{saas}/custom_hostnames/{}",
                safe_id(&found.id)?
            );
            call(
                Request::patch(url).json(&json::object_of(vec![("ssl", ssl_settings())])),
                SAAS_ZONE_ID,
            )
            .map_err(|e| e.prefixed(&format!("re-checking {name} failed: ")))?;
            log::info(format!("asked Cloudflare to validate {name} again"));
            outcome.changed = true;
            outcome.notes.push(format!(
                "{name}: Cloudflare asked to validate the hostname and certificate again \
                 (ssl.status was {})",
                found.ssl_status()
            ));
        }
        Ok(outcome)
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let saas = require_saas("certificate-status")?;
        Ok(match find_hostname(&saas, &event.domain)? {
            None => CertificateReport {
                state: CertificateState::None,
                message: format!(
                    "{} is not a custom hostname of the SaaS zone, so Cloudflare has no \
                     certificate for it",
                    event.domain
                ),
                expires_at: None,
            },
            Some(found) => found.certificate_report(),
        })
    }

    fn dns_requirements(event: DomainEvent) -> Result<Vec<DnsRecord>, ProviderError> {
        let saas = require_saas("dns-requirements")?;
        let origin = fallback_origin(&saas)?;
        let mut records = Vec::new();
        for name in names_for(&event.domain, event.www) {
            records.push(DnsRecord {
                kind: "CNAME".into(),
                name: name.clone(),
                value: origin.clone(),
                purpose: "routing".into(),
            });
            if let Some(found) = find_hostname(&saas, &name)? {
                records.extend(found.pending_records());
            }
        }
        Ok(records)
    }
}

provider_sdk::export_provider!(Cloudflare);

/// Adds one step's outcome to the event's; an error says what the earlier steps did.
fn merge(outcome: &mut Outcome, step: Result<Outcome, ProviderError>) -> Result<(), ProviderError> {
    match step {
        Ok(step) => {
            outcome.changed |= step.changed;
            outcome.notes.extend(step.notes);
            Ok(())
        }
        Err(error) if outcome.changed => {
            let done = outcome.notes.join("; ");
            Err(error.prefixed(&format!("{done}; but ")))
        }
        Err(error) => Err(error),
    }
}

fn no_saas_zone(domain: &str) -> Outcome {
    Outcome::unchanged(format!(
        "{SAAS_ZONE_ID} is not set: mapped domains such as {domain} are not sent to Cloudflare"
    ))
}

fn saas_zone() -> Result<Option<String>, ProviderError> {
    match config::get(SAAS_ZONE_ID) {
        Some(_) => config::require_id(SAAS_ZONE_ID).map(Some),
        None => Ok(None),
    }
}

fn require_saas(operation: &str) -> Result<String, ProviderError> {
    saas_zone()?.ok_or_else(|| {
        ProviderError::Unsupported(format!(
            "{operation} reads the custom hostnames of the SaaS zone: set {SAAS_ZONE_ID}"
        ))
    })
}

/// The names an event covers: the domain, and `www.` + domain when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") && !domain.starts_with("*.") {
        names.push(format!("www.{domain}"));
    }
    names
}

/// Whether subdomain sites get a `www.` record too.
///
/// The plugin adds `www.<site>` when `should_create_www_subdomain("<site>")` allows: with the
/// network setting `always` (its default), yes; with `main_only`, never (a site's host has
/// three labels or more, so it is not a "main" domain); with `never`, no. The host's event
/// carries that policy; the operator may override it for subdomain sites here, because
/// Cloudflare's Universal SSL certificate covers one level below the apex, not
/// `www.<site>.<apex>` (`never` avoids records without an edge certificate).
pub fn subdomain_www() -> Result<Option<bool>, ProviderError> {
    parse_switch(config::get(SUBDOMAIN_WWW).as_deref())
}

pub fn parse_switch(value: Option<&str>) -> Result<Option<bool>, ProviderError> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "always" | "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "never" | "main_only" | "0" | "false" | "no" | "off" => Ok(Some(false)),
        other => Err(ProviderError::InvalidInput(format!(
            "{SUBDOMAIN_WWW} must be \"always\" or \"never\" (got {other:?})"
        ))),
    }
}

fn check_in_zone(name: &str, apex: &str) -> Result<(), ProviderError> {
    if in_zone(name, apex) {
        Ok(())
    } else {
        Err(ProviderError::InvalidInput(format!(
            "{name} is not in the zone {apex} ({ZONE_ID}); subdomain sites must be under the \
             network's zone"
        )))
    }
}

pub fn in_zone(name: &str, apex: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with(&format!(".{}", apex.to_ascii_lowercase()))
}

// ---------------------------------------------------------------------------------------
// The envelope and its errors.

/// Cloudflare's envelope. `success` is absent only from bare answers (custom-hostname DELETE).
#[derive(Debug, Default)]
pub struct Envelope {
    pub success: Option<bool>,
    pub errors: Vec<Value>,
    pub result: Value,
    pub result_info: Option<ResultInfo>,
}

impl Envelope {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Envelope")?;
        Ok(Envelope {
            success: json::opt(o, "success", json::boolean)?,
            errors: json::list_or_default(o, "errors", json::any)?,
            result: json::or_default(o, "result", json::any)?,
            result_info: json::opt(o, "result_info", ResultInfo::from_json)?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct ResultInfo {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    pub count: Option<u64>,
    pub total_count: Option<u64>,
    pub total_pages: Option<u32>,
}

impl ResultInfo {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct ResultInfo")?;
        Ok(ResultInfo {
            page: json::opt(o, "page", json::u32)?,
            per_page: json::opt(o, "per_page", json::u32)?,
            count: json::opt(o, "count", json::u64)?,
            total_count: json::opt(o, "total_count", json::u64)?,
            total_pages: json::opt(o, "total_pages", json::u32)?,
        })
    }
}

/// An answer that is not a success, with Cloudflare's codes and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    pub codes: Vec<i64>,
    pub message: String,
    pub retry_after: Option<u32>,
}

/// Codes that mean the token is not accepted or lacks a permission.
const AUTH_CODES: &[i64] = &[1000, 6003, 6111, 9103, 9106, 9109, 10000, 10001];
/// "Could not route to ..., perhaps your object identifier is invalid?" / "No route for that
/// URI": a zone id that does not exist.
const ROUTE_CODES: &[i64] = &[7000, 7003];
const DUPLICATE_HOSTNAME: i64 = 1406;
const HOSTNAME_NOT_FOUND: i64 = 1436;
const QUOTA_CODES: &[i64] = &[1404, 1405];
/// Record already exists / a CNAME (or A, AAAA) with that host already exists.
const RECORD_EXISTS: &[i64] = &[81053, 81054, 81057, 81058];
const RECORD_NOT_FOUND: i64 = 81044;
const RATE_LIMITED: i64 = 971;

impl Failure {
    pub fn has(&self, code: i64) -> bool {
        self.codes.contains(&code)
    }

    fn has_any(&self, codes: &[i64]) -> bool {
        self.codes.iter().any(|c| codes.contains(c))
    }

    /// The contract's error for this failure of a call to the zone `zone_constant` names.
    pub fn into_error(self, zone_constant: &str) -> ProviderError {
        let message = self.message.clone();
        if self.status == 429 || self.has(RATE_LIMITED) {
            return ProviderError::RateLimited(RateLimit {
                retry_after_secs: self.retry_after,
                message: format!("Cloudflare rate limit: {message}"),
            });
        }
        if self.status == 401 || self.has_any(AUTH_CODES) {
            let why = if self.has(10000) && self.status != 401 {
                "the API token lacks a permission this call needs"
            } else {
                "Cloudflare rejected the API token"
            };
            return ProviderError::BadCredentials(format!(
                "{why} ({message}); check {API_KEY} (an API token, not the Global API Key) and \
                 its permissions on {zone_constant}"
            ));
        }
        if self.has_any(ROUTE_CODES) {
            return ProviderError::NotFound(format!(
                "Cloudflare has no such zone ({message}); check {zone_constant}"
            ));
        }
        if self.has_any(QUOTA_CODES) {
            return ProviderError::LimitReached(format!("Cloudflare: {message}"));
        }
        match self.status {
            408 | 500..=599 => {
                ProviderError::Transient(format!("Cloudflare HTTP {}: {message}", self.status))
            }
            404 => ProviderError::NotFound(format!("Cloudflare: {message}")),
            409 => ProviderError::Conflict(format!("Cloudflare: {message}")),
            400 | 422 => ProviderError::InvalidInput(format!("Cloudflare: {message}")),
            status => ProviderError::Api(ApiError {
                status,
                message: format!("Cloudflare: {message}"),
            }),
        }
    }
}

/// Reads an answer: the envelope of a success, or the failure it reports (an HTTP error, or
/// `success: false` whatever the status).
pub fn read(status: u16, retry_after: Option<u32>, body: &[u8]) -> Result<Envelope, Failure> {
    let ok_status = (200..300).contains(&status);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let Some(json) = json else {
        return Err(Failure {
            status,
            codes: vec![],
            message: if ok_status {
                format!("the answer is not JSON ({})", error_message(status, body))
            } else {
                error_message(status, body)
            },
            retry_after,
        });
    };
    let envelope = match Envelope::from_json(&json) {
        Ok(envelope) => envelope,
        Err(e) => {
            return Err(Failure {
                status,
                codes: vec![],
                message: format!("unexpected answer shape: {e}"),
                retry_after,
            });
        }
    };
    if ok_status && envelope.success != Some(false) {
        // A bare object (custom-hostname DELETE) is its own result.
        if envelope.success.is_none() && envelope.result.is_null() {
            return Ok(Envelope {
                result: json,
                ..envelope
            });
        }
        return Ok(envelope);
    }
    // Plain loops rather than collecting iterator chains: each chain is code of its own.
    let mut codes: Vec<i64> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for e in &envelope.errors {
        let text = e
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| json::text(e));
        words.push(match e.get("code").and_then(Value::as_i64) {
            Some(code) => {
                codes.push(code);
                format!("{text} (code {code})")
            }
            None => text,
        });
    }
    let message = if words.is_empty() {
        if ok_status {
            "success: false without an error message".to_string()
        } else {
            error_message(status, body)
        }
    } else {
        words.join("; ")
    };
    Err(Failure {
        status,
        codes,
        message,
        retry_after,
    })
}

fn read_response(response: &Response) -> Result<Envelope, Failure> {
    let retry_after = response.header("retry-after").and_then(parse_retry_after);
    read(response.status, retry_after, &response.body)
}

/// Sends a request and reads its envelope; failures become the contract's errors.
fn call(request: Request, zone_constant: &str) -> Result<Envelope, ProviderError> {
    let response = request.send()?;
    read_response(&response).map_err(|f| f.into_error(zone_constant))
}

/// The envelope's `result`, read by `read` (see [`json`]).
fn result<T>(envelope: &Envelope, read: json::Read<T>) -> Result<T, ProviderError> {
    read(&envelope.result).map_err(|e| {
        ProviderError::Api(ApiError {
            status: 200,
            message: format!("Cloudflare answered an unexpected shape: {e}"),
        })
    })
}

/// Whether a listing goes on after `page`, from `result_info` when it says (`total_pages`,
/// else `total_count`), else from whether the page was full.
pub fn has_next(info: Option<&ResultInfo>, count: usize, page: u32, per_page: u32) -> bool {
    if count == 0 {
        return false;
    }
    match info {
        Some(ResultInfo {
            total_pages: Some(pages),
            ..
        }) => page < *pages,
        Some(ResultInfo {
            total_count: Some(total),
            per_page: asked,
            ..
        }) => u64::from(page) * u64::from(asked.unwrap_or(per_page)) < *total,
        _ => count as u32 >= per_page,
    }
}

fn total(info: &Option<ResultInfo>, fallback: usize) -> u64 {
    info.as_ref()
        .and_then(|i| i.total_count)
        .unwrap_or(fallback as u64)
}

/// An id Cloudflare gave, used in a path: refused unless it is a plain token.
fn safe_id(id: &str) -> Result<&str, ProviderError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(id)
    } else {
        Err(ProviderError::Api(ApiError {
            status: 200,
            message: format!("Cloudflare answered an unusable id {id:?}"),
        }))
    }
}

fn zone_name(zone: &str, zone_constant: &str) -> Result<String, ProviderError> {
    let envelope = call(Request::get(format!("{API}/zones/{zone}")), zone_constant)?;
    let name = result(&envelope, |v| {
        json::field(json::object(v, "struct Zone")?, "name", json::string)
    })?;
    Ok(name.trim_end_matches('.').to_ascii_lowercase())
}

// ---------------------------------------------------------------------------------------
// Custom hostnames (Cloudflare for SaaS).

#[derive(Debug, Clone)]
pub struct CustomHostname {
    pub id: String,
    pub hostname: String,
    pub status: Option<String>,
    pub ssl: Option<Ssl>,
    pub ownership_verification: Option<Ownership>,
    pub verification_errors: Vec<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Ssl {
    pub status: Option<String>,
    pub method: Option<String>,
    pub validation_records: Vec<ValidationRecord>,
    pub validation_errors: Vec<Value>,
    pub expires_on: Option<String>,
    pub certificates: Vec<Certificate>,
    /// Older answers carry the TXT record here instead of in `validation_records`.
    pub txt_name: Option<String>,
    pub txt_value: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ValidationRecord {
    pub txt_name: Option<String>,
    pub txt_value: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Certificate {
    pub expires_on: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Ownership {
    /// `type`.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
}

impl CustomHostname {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct CustomHostname")?;
        Ok(CustomHostname {
            id: json::field(o, "id", json::string)?,
            hostname: json::field(o, "hostname", json::string)?,
            status: json::opt(o, "status", json::string)?,
            ssl: json::opt(o, "ssl", Ssl::from_json)?,
            ownership_verification: json::opt(o, "ownership_verification", |v| {
                let o = json::object(v, "struct Ownership")?;
                Ok(Ownership {
                    kind: json::opt(o, "type", json::string)?,
                    name: json::opt(o, "name", json::string)?,
                    value: json::opt(o, "value", json::string)?,
                })
            })?,
            verification_errors: json::list_or_default(o, "verification_errors", json::any)?,
        })
    }
}

impl Ssl {
    fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Ssl")?;
        Ok(Ssl {
            status: json::opt(o, "status", json::string)?,
            method: json::opt(o, "method", json::string)?,
            validation_records: json::list_or_default(o, "validation_records", |v| {
                let o = json::object(v, "struct ValidationRecord")?;
                Ok(ValidationRecord {
                    txt_name: json::opt(o, "txt_name", json::string)?,
                    txt_value: json::opt(o, "txt_value", json::string)?,
                })
            })?,
            validation_errors: json::list_or_default(o, "validation_errors", json::any)?,
            expires_on: json::opt(o, "expires_on", json::string)?,
            certificates: json::list_or_default(o, "certificates", |v| {
                let o = json::object(v, "struct Certificate")?;
                Ok(Certificate {
                    expires_on: json::opt(o, "expires_on", json::string)?,
                })
            })?,
            txt_name: json::opt(o, "txt_name", json::string)?,
            txt_value: json::opt(o, "txt_value", json::string)?,
        })
    }
}

/// Statuses of a hostname on its way out.
const LEAVING: &[&str] = &["pending_deletion", "deleted"];

impl CustomHostname {
    pub fn ssl_status(&self) -> &str {
        self.ssl
            .as_ref()
            .and_then(|s| s.status.as_deref())
            .unwrap_or("unknown")
    }

    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("unknown")
    }

    fn leaving(&self) -> bool {
        LEAVING.contains(&self.status())
    }

    pub fn certificate_state(&self) -> CertificateState {
        certificate_state(self.ssl_status())
    }

    pub fn certificate_report(&self) -> CertificateReport {
        let mut message = format!(
            "ssl.status {}, hostname status {}",
            self.ssl_status(),
            self.status()
        );
        let ssl_errors = self.ssl.as_ref().map(|s| s.validation_errors.as_slice());
        let mut problems: Vec<String> = Vec::new();
        for e in ssl_errors
            .unwrap_or_default()
            .iter()
            .chain(&self.verification_errors)
        {
            problems.push(match e {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| json::text(other)),
            });
        }
        problems.dedup();
        if !problems.is_empty() {
            message.push_str(&format!(": {}", problems.join("; ")));
        }
        let expires = self.ssl.as_ref().and_then(|s| {
            s.expires_on
                .as_deref()
                .or_else(|| s.certificates.iter().find_map(|c| c.expires_on.as_deref()))
        });
        CertificateReport {
            state: self.certificate_state(),
            message,
            expires_at: expires.and_then(parse_rfc3339),
        }
    }

    /// The records the customer still has to create: the ownership TXT while the hostname
    /// is not active, a DCV TXT while the certificate waits for validation.
    pub fn pending_records(&self) -> Vec<DnsRecord> {
        let mut records = Vec::new();
        if self.status() != "active"
            && let Some(own) = &self.ownership_verification
            && own
                .kind
                .as_deref()
                .unwrap_or("txt")
                .eq_ignore_ascii_case("txt")
            && let (Some(name), Some(value)) = (&own.name, &own.value)
        {
            records.push(DnsRecord {
                kind: "TXT".into(),
                name: name.trim_end_matches('.').to_string(),
                value: value.clone(),
                purpose: "ownership".into(),
            });
        }
        if let Some(ssl) = &self.ssl
            && ssl.status.as_deref() == Some("pending_validation")
        {
            let mut txt: Vec<(&String, &String)> = Vec::new();
            for r in &ssl.validation_records {
                if let (Some(name), Some(value)) = (&r.txt_name, &r.txt_value) {
                    txt.push((name, value));
                }
            }
            if let (Some(name), Some(value)) = (&ssl.txt_name, &ssl.txt_value) {
                txt.push((name, value));
            }
            txt.dedup();
            for (name, value) in txt {
                records.push(DnsRecord {
                    kind: "TXT".into(),
                    name: name.trim_end_matches('.').to_string(),
                    value: value.clone(),
                    purpose: "certificate".into(),
                });
            }
        }
        records
    }
}

/// What a custom hostname's `ssl.status` means for the contract.
pub fn certificate_state(ssl_status: &str) -> CertificateState {
    match ssl_status {
        // Still covering the name (a renewal is due, or a backup certificate serves).
        "active" | "pending_expiration" | "backup_issued" => CertificateState::Active,
        "initializing" | "pending_validation" | "pending_issuance" | "pending_deployment"
        | "pending_cleanup" | "staging_deployment" | "staging_active" | "holding_deployment" => {
            CertificateState::Pending
        }
        "initializing_timed_out"
        | "validation_timed_out"
        | "issuance_timed_out"
        | "deployment_timed_out"
        | "expired" => CertificateState::Failed,
        "deleted" | "pending_deletion" | "deletion_timed_out" | "deactivating" | "inactive" => {
            CertificateState::None
        }
        _ => CertificateState::Unknown,
    }
}

pub fn ssl_settings() -> Value {
    json::object_of(vec![("method", "http".into()), ("type", "dv".into())])
}

pub fn create_body(hostname: &str) -> Value {
    json::object_of(vec![("hostname", hostname.into()), ("ssl", ssl_settings())])
}

fn hostnames_page(
    zone: &str,
    page: u32,
    per_page: u32,
    hostname: Option<&str>,
) -> Result<(Vec<CustomHostname>, Option<ResultInfo>), ProviderError> {
    let mut query: Vec<(&str, String)> = vec![];
    if let Some(hostname) = hostname {
        query.push(("hostname", hostname.to_string()));
    }
    query.push(("page", page.to_string()));
    query.push(("per_page", per_page.to_string()));
    let envelope = call(
        Request::get(format!("{API}/zones/{zone}/custom_hostnames")).query(&query),
        SAAS_ZONE_ID,
    )?;
    let items = result(&envelope, |v| json::list(v, CustomHostname::from_json))?;
    Ok((items, envelope.result_info))
}

/// The custom hostname for exactly `name`. Cloudflare's `hostname` filter is documented as
/// the name to match; whether it matches exactly is unverified, so the answer is filtered and
/// followed over its pages.
fn find_hostname(zone: &str, name: &str) -> Result<Option<CustomHostname>, ProviderError> {
    let mut page = 1;
    loop {
        let (items, info) = hostnames_page(zone, page, PER_PAGE, Some(name))?;
        let more = has_next(info.as_ref(), items.len(), page, PER_PAGE);
        if let Some(found) = items
            .into_iter()
            .find(|h| h.hostname.trim_end_matches('.').eq_ignore_ascii_case(name))
        {
            return Ok(Some(found));
        }
        if !more || page >= MAX_PAGES {
            return Ok(None);
        }
        page += 1;
    }
}

fn created_key(name: &str) -> String {
    format!("created {name}")
}

fn deleted_key(name: &str) -> String {
    format!("deleted {name}")
}

fn add_custom_hostname(zone: &str, name: &str) -> Result<Outcome, ProviderError> {
    // Sent by an earlier attempt of this event whose answer was lost?
    let sent_earlier = journal::recall(&created_key(name)).is_some();
    let existing = |found: CustomHostname| -> Result<Outcome, ProviderError> {
        if found.leaving() {
            return Err(ProviderError::Conflict(format!(
                "{name} is being deleted at Cloudflare (status {}); add it again once it is gone",
                found.status()
            )));
        }
        Ok(if sent_earlier {
            Outcome::changed(format!("added custom hostname {name}"))
        } else {
            Outcome::unchanged(format!(
                "{name} is already a custom hostname (status {}, ssl.status {})",
                found.status(),
                found.ssl_status()
            ))
        })
    };
    if let Some(found) = find_hostname(zone, name)? {
        return existing(found);
    }
    journal::remember(&created_key(name), "sent");
    let response = Request::post(format!("{API}/zones/{zone}/custom_hostnames"))
        .json(&create_body(name))
        .send()?;
    match read_response(&response) {
        Ok(envelope) => {
            let created = result(&envelope, CustomHostname::from_json).ok();
            let ssl = created
                .as_ref()
                .map(|c| c.ssl_status().to_string())
                .unwrap_or_else(|| "unknown".into());
            log::info(format!("created custom hostname {name} (ssl.status {ssl})"));
            Ok(Outcome::changed(format!(
                "added custom hostname {name} (DV certificate by HTTP validation, ssl.status {ssl})"
            )))
        }
        // A duplicate: found by a lookup, it is success; a 409 is final, never retried.
        Err(f) if f.has(DUPLICATE_HOSTNAME) || (f.status == 409 && f.codes.is_empty()) => {
            match find_hostname(zone, name)? {
                Some(found) => existing(found),
                None => Err(ProviderError::Conflict(format!(
                    "Cloudflare refused {name} as a duplicate ({}) but this zone has no such \
                     custom hostname: another zone or account holds it",
                    f.message
                ))),
            }
        }
        Err(f) => Err(f
            .into_error(SAAS_ZONE_ID)
            .prefixed(&format!("adding custom hostname {name} failed: "))),
    }
}

fn remove_custom_hostname(zone: &str, name: &str) -> Result<Outcome, ProviderError> {
    let gone = || {
        if journal::recall(&deleted_key(name)).is_some() {
            Outcome::changed(format!("removed custom hostname {name}"))
        } else {
            Outcome::unchanged(format!(
                "{name} is not a custom hostname; nothing to remove"
            ))
        }
    };
    let Some(found) = find_hostname(zone, name)? else {
        return Ok(gone());
    };
    if found.leaving() {
        return Ok(gone().with_note(format!("{name} is already being deleted")));
    }
    journal::remember(&deleted_key(name), "sent");
    let url = format!(
        "{API}/zones/{zone}/custom_hostnames/{}",
        safe_id(&found.id)?
    );
    let response = Request::delete(url).send()?;
    match read_response(&response) {
        Ok(_) => {
            log::info(format!("deleted custom hostname {name} ({})", found.id));
            Ok(Outcome::changed(format!("removed custom hostname {name}")))
        }
        // Deleted between the lookup and now: the wanted state is reached.
        Err(f) if f.status == 404 || f.has(HOSTNAME_NOT_FOUND) => {
            Ok(Outcome::unchanged(format!("{name} was already removed")))
        }
        Err(f) => Err(f
            .into_error(SAAS_ZONE_ID)
            .prefixed(&format!("removing custom hostname {name} failed: "))),
    }
}

fn fallback_origin(zone: &str) -> Result<String, ProviderError> {
    let missing = |why: &str| {
        ProviderError::NotFound(format!(
            "the SaaS zone has no fallback origin ({why}); set one under SSL/TLS > Custom \
             Hostnames"
        ))
    };
    let response = Request::get(format!(
        "{API}/zones/{zone}/custom_hostnames/fallback_origin"
    ))
    .send()?;
    let envelope = match read_response(&response) {
        Ok(envelope) => envelope,
        Err(f) if f.status == 404 => return Err(missing(&f.message)),
        Err(f) => return Err(f.into_error(SAAS_ZONE_ID)),
    };
    match envelope.result.get("origin").and_then(Value::as_str) {
        Some(origin) if !origin.trim().is_empty() => {
            Ok(origin.trim().trim_end_matches('.').to_ascii_lowercase())
        }
        _ => Err(missing("Cloudflare answered none")),
    }
}

// ---------------------------------------------------------------------------------------
// DNS records of the network's zone (subdomain sites).

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    /// `type`.
    pub kind: String,
    pub name: String,
    pub content: String,
    pub proxied: Option<bool>,
}

impl Record {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Record")?;
        Ok(Record {
            id: json::field(o, "id", json::string)?,
            kind: json::field(o, "type", json::string)?,
            name: json::field(o, "name", json::string)?,
            content: json::or_default(o, "content", json::string)?,
            proxied: json::opt(o, "proxied", json::boolean)?,
        })
    }

    /// A CNAME that points at the zone's apex: what this provider creates.
    pub fn is_ours(&self, apex: &str) -> bool {
        let target = self.content.trim_end_matches('.').to_ascii_lowercase();
        self.kind.eq_ignore_ascii_case("CNAME") && (target == apex || target == "@")
    }

    fn routes_the_name(&self) -> bool {
        ["A", "AAAA", "CNAME"]
            .iter()
            .any(|k| self.kind.eq_ignore_ascii_case(k))
    }
}

fn dns_page(
    zone: &str,
    query: &[(&str, String)],
) -> Result<(Vec<Record>, Option<ResultInfo>), ProviderError> {
    let envelope = call(
        Request::get(format!("{API}/zones/{zone}/dns_records")).query(query),
        ZONE_ID,
    )?;
    let records = result(&envelope, |v| json::list(v, Record::from_json))?;
    Ok((records, envelope.result_info))
}

/// Every record named exactly `name`, every page.
fn records_named(zone: &str, name: &str) -> Result<Vec<Record>, ProviderError> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let (records, info) = dns_page(
            zone,
            &[
                ("name", name.to_string()),
                ("page", page.to_string()),
                ("per_page", DNS_PER_PAGE.to_string()),
            ],
        )?;
        let more = has_next(info.as_ref(), records.len(), page, DNS_PER_PAGE);
        for r in records {
            if r.name.trim_end_matches('.').eq_ignore_ascii_case(name) {
                all.push(r);
            }
        }
        if !more || page >= MAX_PAGES {
            return Ok(all);
        }
        page += 1;
    }
}

pub fn record_body(name: &str, apex: &str) -> Value {
    // `ttl: 1` is "automatic", the only TTL of a proxied record.
    json::object_of(vec![
        ("type", "CNAME".into()),
        ("name", name.into()),
        ("content", apex.into()),
        ("proxied", true.into()),
        ("ttl", 1.into()),
    ])
}

fn add_record(zone: &str, apex: &str, name: &str) -> Result<Outcome, ProviderError> {
    let sent_earlier = journal::recall(&created_key(name)).is_some();
    let existing = |records: Vec<Record>| -> Result<Option<Outcome>, ProviderError> {
        if let Some(ours) = records.iter().find(|r| r.is_ours(apex)) {
            let proxied = if ours.proxied == Some(false) {
                " (not proxied)"
            } else {
                ""
            };
            return Ok(Some(if sent_earlier {
                Outcome::changed(format!("added proxied CNAME {name} → {apex}"))
            } else {
                Outcome::unchanged(format!("{name} already has its CNAME to {apex}{proxied}"))
            }));
        }
        if let Some(other) = records.iter().find(|r| r.routes_the_name()) {
            return Err(ProviderError::Conflict(format!(
                "{name} already has a {} record ({}) in the zone; it was left as is, remove it \
                 for the site's CNAME to {apex}",
                other.kind, other.content
            )));
        }
        Ok(None)
    };
    if let Some(outcome) = existing(records_named(zone, name)?)? {
        return Ok(outcome);
    }
    journal::remember(&created_key(name), "sent");
    let response = Request::post(format!("{API}/zones/{zone}/dns_records"))
        .json(&record_body(name, apex))
        .send()?;
    match read_response(&response) {
        Ok(_) => {
            log::info(format!("created proxied CNAME {name} → {apex}"));
            Ok(Outcome::changed(format!(
                "added proxied CNAME {name} → {apex}"
            )))
        }
        // Created meanwhile (by another event, or by this one before its answer was lost).
        Err(f) if f.has_any(RECORD_EXISTS) => match existing(records_named(zone, name)?)? {
            Some(outcome) => Ok(outcome),
            None => Err(ProviderError::Conflict(format!(
                "Cloudflare refused the CNAME for {name}: {}",
                f.message
            ))),
        },
        Err(f) => Err(f
            .into_error(ZONE_ID)
            .prefixed(&format!("adding the CNAME for {name} failed: "))),
    }
}

fn remove_records(zone: &str, apex: &str, name: &str) -> Result<Outcome, ProviderError> {
    let records = records_named(zone, name)?;
    let mut outcome = Outcome {
        changed: false,
        notes: vec![],
    };
    for other in records
        .iter()
        .filter(|r| r.routes_the_name() && !r.is_ours(apex))
    {
        outcome.notes.push(format!(
            "{name} has a {} record ({}) this integration did not create; left as is",
            other.kind, other.content
        ));
    }
    if !records.iter().any(|r| r.is_ours(apex)) {
        if journal::recall(&deleted_key(name)).is_some() {
            outcome.changed = true;
            outcome.notes.insert(0, format!("removed the CNAME {name}"));
        } else {
            outcome.notes.insert(
                0,
                format!("{name} has no CNAME to {apex}; nothing to remove"),
            );
        }
        return Ok(outcome);
    }
    for record in records.iter().filter(|r| r.is_ours(apex)) {
        journal::remember(&deleted_key(name), "sent");
        let url = format!("{API}/zones/{zone}/dns_records/{}", safe_id(&record.id)?);
        let response = Request::delete(url).send()?;
        match read_response(&response) {
            Ok(_) => {
                log::info(format!("deleted the CNAME {name} ({})", record.id));
                outcome.changed = true;
            }
            Err(f) if f.status == 404 || f.has(RECORD_NOT_FOUND) => {}
            Err(f) => {
                return Err(f
                    .into_error(ZONE_ID)
                    .prefixed(&format!("removing the CNAME {name} failed: ")));
            }
        }
    }
    outcome.notes.insert(
        0,
        if outcome.changed {
            format!("removed the CNAME {name}")
        } else {
            format!("{name} was already removed")
        },
    );
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------

/// Unix seconds of an RFC 3339 time (`2026-02-06T18:11:23.531995Z`, `…+02:00`).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (year, month, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (clock, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':')?;
        (clock, sign * (num(h)? * 3600 + num(m)? * 60))
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.split(':');
    let (h, m, s) = (num(c.next()?)?, num(c.next()?)?, num(c.next()?)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s - offset;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_variant_only_when_wanted() {
        assert_eq!(names_for("a.com", true), vec!["a.com", "www.a.com"]);
        assert_eq!(names_for("a.com", false), vec!["a.com"]);
        assert_eq!(names_for("www.a.com", true), vec!["www.a.com"]);
    }

    #[test]
    fn the_subdomain_www_switch() {
        assert_eq!(
            parse_switch(None).unwrap(),
            None,
            "unset: the policy decides"
        );
        assert_eq!(parse_switch(Some("")).unwrap(), None);
        assert_eq!(parse_switch(Some("always")).unwrap(), Some(true));
        assert_eq!(parse_switch(Some(" 1 ")).unwrap(), Some(true));
        assert_eq!(parse_switch(Some("never")).unwrap(), Some(false));
        assert_eq!(parse_switch(Some("main_only")).unwrap(), Some(false));
        assert!(matches!(
            parse_switch(Some("sometimes")),
            Err(ProviderError::InvalidInput(_))
        ));
    }

    #[test]
    fn success_false_inside_a_200_is_a_failure() {
        let body = br#"{"success":false,"errors":[{"code":1406,"message":"Duplicate custom hostname found."}],"messages":[],"result":null}"#;
        let f = read(200, None, body).unwrap_err();
        assert_eq!(f.codes, vec![1406]);
        assert!(f.has(DUPLICATE_HOSTNAME));
        assert!(
            f.message
                .contains("Duplicate custom hostname found. (code 1406)")
        );
        let e = f.into_error(SAAS_ZONE_ID);
        assert!(matches!(
            e,
            ProviderError::Api(ApiError { status: 200, .. })
        ));
    }

    #[test]
    fn a_201_envelope_and_a_bare_delete_answer_are_successes() {
        let created = br#"{"success":true,"errors":[],"messages":[],"result":{"id":"0d89","hostname":"a.com","ssl":{"status":"pending_validation"},"status":"pending"}}"#;
        let env = read(201, None, created).unwrap();
        let h = result(&env, CustomHostname::from_json).unwrap();
        assert_eq!(h.ssl_status(), "pending_validation");
        let bare = read(200, None, br#"{"id":"0d89"}"#).unwrap();
        assert_eq!(bare.result["id"], "0d89");
    }

    #[test]
    fn errors_map_to_the_contract() {
        let f = |status, code: i64| Failure {
            status,
            codes: vec![code],
            message: "m".into(),
            retry_after: Some(7),
        };
        assert!(matches!(
            f(403, 9109).into_error(ZONE_ID),
            ProviderError::BadCredentials(_)
        ));
        assert!(matches!(
            f(401, 1000).into_error(ZONE_ID),
            ProviderError::BadCredentials(_)
        ));
        assert!(
            matches!(f(403, 10000).into_error(ZONE_ID), ProviderError::BadCredentials(m) if m.contains("lacks a permission"))
        );
        assert!(
            matches!(f(400, 7003).into_error(ZONE_ID), ProviderError::NotFound(m) if m.contains(ZONE_ID))
        );
        assert!(matches!(
            f(403, 1405).into_error(SAAS_ZONE_ID),
            ProviderError::LimitReached(_)
        ));
        assert!(matches!(
            f(429, 971).into_error(ZONE_ID),
            ProviderError::RateLimited(RateLimit {
                retry_after_secs: Some(7),
                ..
            })
        ));
        assert!(matches!(
            f(503, 1500).into_error(ZONE_ID),
            ProviderError::Transient(_)
        ));
        assert!(matches!(
            f(400, 1411).into_error(SAAS_ZONE_ID),
            ProviderError::InvalidInput(_)
        ));
    }

    #[test]
    fn html_and_non_json_answers_are_failures() {
        let f = read(200, None, b"<html><title>Oops</title></html>").unwrap_err();
        assert!(f.message.contains("not JSON"));
        let f = read(
            502,
            None,
            b"<!DOCTYPE html><html><title>502 Bad Gateway</title></html>",
        )
        .unwrap_err();
        assert!(matches!(f.into_error(ZONE_ID), ProviderError::Transient(_)));
    }

    #[test]
    fn paging_follows_result_info_or_full_pages() {
        let info = |pages: Option<u32>, total: Option<u64>| ResultInfo {
            page: Some(1),
            per_page: Some(50),
            count: Some(50),
            total_count: total,
            total_pages: pages,
        };
        assert!(has_next(Some(&info(Some(3), Some(120))), 50, 1, 50));
        assert!(!has_next(Some(&info(Some(3), Some(120))), 20, 3, 50));
        // The legacy fixture's result_info has no total_pages.
        assert!(has_next(Some(&info(None, Some(120))), 50, 2, 50));
        assert!(!has_next(Some(&info(None, Some(100))), 50, 2, 50));
        assert!(has_next(None, 50, 1, 50));
        assert!(!has_next(None, 49, 1, 50));
        assert!(!has_next(Some(&info(Some(9), None)), 0, 1, 50));
    }

    #[test]
    fn ssl_statuses_map_to_certificate_states() {
        assert_eq!(certificate_state("active"), CertificateState::Active);
        assert_eq!(
            certificate_state("pending_validation"),
            CertificateState::Pending
        );
        assert_eq!(
            certificate_state("validation_timed_out"),
            CertificateState::Failed
        );
        assert_eq!(certificate_state("deleted"), CertificateState::None);
        assert_eq!(certificate_state("new_state"), CertificateState::Unknown);
    }

    #[test]
    fn pending_hostnames_need_the_ownership_txt() {
        let body = r#"{"id":"0d89c70d-ad9f-4843-b99f-6cc0252067e9","hostname":"app.shop.com",
            "ssl":{"id":"x","status":"pending_validation","method":"http","type":"dv",
              "validation_records":[{"http_url":"http://app.shop.com/.well-known/pki-validation/ca3.txt","http_body":"ca3-x"}],
              "validation_errors":[{"message":"caa error"}]},
            "status":"pending",
            "verification_errors":["None of the A or AAAA records are owned by this account."],
            "ownership_verification":{"type":"txt","name":"_cf-custom-hostname.app.shop.com","value":"38ddbedc"}}"#;
        let h = CustomHostname::from_json(&serde_json::from_str(body).unwrap()).unwrap();
        let records = h.pending_records();
        assert_eq!(records.len(), 1, "HTTP validation needs no DNS record");
        assert_eq!(records[0].name, "_cf-custom-hostname.app.shop.com");
        assert_eq!(records[0].purpose, "ownership");
        let report = h.certificate_report();
        assert_eq!(report.state, CertificateState::Pending);
        assert!(report.message.contains("caa error"), "{}", report.message);
        assert!(report.message.contains("None of the A or AAAA"));
        let active = CustomHostname::from_json(&serde_json::from_str(
            r#"{"id":"1","hostname":"a.com","status":"active","ssl":{"status":"active","expires_on":"2026-02-06T18:11:23Z"},
                "ownership_verification":{"type":"txt","name":"_cf-custom-hostname.a.com","value":"v"}}"#,
        ).unwrap())
        .unwrap();
        assert!(active.pending_records().is_empty());
        assert_eq!(active.certificate_report().expires_at, Some(1_770_401_483));
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2020-02-06T18:11:23.531995Z"),
            Some(1_581_012_683)
        );
        assert_eq!(
            parse_rfc3339("2020-02-06T20:11:23+02:00"),
            Some(1_581_012_683)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn only_cnames_to_the_apex_are_ours() {
        let r = |kind: &str, content: &str| Record {
            id: "1".into(),
            kind: kind.into(),
            name: "s.net.com".into(),
            content: content.into(),
            proxied: Some(true),
        };
        assert!(r("CNAME", "net.com").is_ours("net.com"));
        assert!(r("CNAME", "Net.com.").is_ours("net.com"));
        assert!(!r("CNAME", "elsewhere.org").is_ours("net.com"));
        assert!(!r("A", "192.0.2.1").is_ours("net.com"));
    }

    #[test]
    fn zone_membership() {
        assert!(in_zone("site1.net.com", "net.com"));
        assert!(!in_zone("net.com", "net.com"));
        assert!(!in_zone("site1.othernet.com", "net.com"));
    }
}
