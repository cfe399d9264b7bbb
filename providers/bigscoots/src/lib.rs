//! BigScoots (WPO public API): each site of the network is a *sub-site* of the primary WPO
//! site, keyed by its WordPress blog id; a mapped domain is the sub-site's one domain.
//!
//! API (`https://api.bigscoots.com`, `panel-apis-b.md` §8). No public reference exists:
//! every path and shape below is what Ultimate Multisite's newest BigScoots code assumes,
//! unverified against the real API:
//! - auth: headers `x-auth-email` and `x-auth-key` (the key is attached by the host; the
//!   e-mail is a plain value, or a placeholder when the operator keeps it secret);
//! - `GET /v1/accounts/` → `{"primaryOwner": {"account_uuid"}}`;
//!   `GET /v1/sites/account/{account}` → the account's sites (`site_uuid`, `type`,
//!   `domain`), bare or in `{"response": …}`;
//! - `GET /v1/multi-sites/sub-sites/{primary}`: the primary's sub-sites (any 2xx; the
//!   entries are read when they carry `blog_id`);
//! - `POST /v1/multi-sites/sub-sites/ {"primary_uuid", "blog_url"}` registers a sub-site;
//!   `DELETE /v1/multi-sites/sub-sites/{primary}/{blog_id}` removes it (404: already gone);
//! - `PATCH /v1/multi-sites/sub-sites/{primary}/{blog_id} {"domain"}` sets the sub-site's
//!   domain, for mapping and unmapping alike;
//! - `POST /v1/multi-sites/sub-sites/ssl/{primary}/{blog_id}` asks for the certificate
//!   (the plugin calls it once DNS has propagated: here `request-certificate`).
//!   Errors are read from `message`, `error`, `response.error` or `response.message`.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    ApiError, AuthScheme, Capabilities, CertificateReport, CertificateState, ConstantSpec,
    DomainEvent, DomainProvider, HeaderAuth, Operations, Outcome, PanelDomain, ProviderError,
    ProviderMetadata, config, journal, log,
};
use serde_json::{Value, json};

pub const API_BASE: &str = "https://api.bigscoots.com";
pub const API_EMAIL: &str = "WU_BIGSCOOTS_API_EMAIL";
pub const API_KEY: &str = "WU_BIGSCOOTS_API_KEY";
pub const PRIMARY_UUID: &str = "WU_BIGSCOOTS_PRIMARY_UUID";

pub struct BigScoots;

impl DomainProvider for BigScoots {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "bigscoots".into(),
            title: "BigScoots".into(),
            description: "Keeps each network site's domain on its BigScoots WPO sub-site \
                          (keyed by the WordPress site id) and asks BigScoots for its \
                          certificate once DNS points at it."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/bigscoots".into(),
            constants: vec![
                ConstantSpec::required(
                    API_EMAIL,
                    "API e-mail",
                    "The e-mail address of the WPO Portal account the API key belongs to",
                ),
                ConstantSpec::required(
                    API_KEY,
                    "API key",
                    "WPO Portal > Edit Profile & Security > API Access",
                )
                .secret(),
                ConstantSpec::required(
                    PRIMARY_UUID,
                    "Primary site UUID",
                    "The UUID of the network's primary WPO site (a multisite or hybrid plan; \
                     BigScoots support enables multisite API access otherwise)",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::AUTO_SSL | Capabilities::SUBDOMAINS | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS
                | Operations::REQUEST_CERTIFICATE
                | Operations::CERTIFICATE_STATUS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.bigscoots.com".into()],
            auth: vec![AuthScheme::Header(HeaderAuth {
                header_name: "x-auth-key".into(),
                value_constant: API_KEY.into(),
            })],
            account_constants: vec![PRIMARY_UUID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let account = api.account()?;
        let sites = api.sites(&account)?;
        let primary = sites
            .iter()
            .find(|s| s.uuid == api.primary)
            .ok_or_else(|| {
                ProviderError::NotFound(format!(
                    "account {account} has no WPO site {} ({} site(s)): check {PRIMARY_UUID}",
                    api.primary,
                    sites.len()
                ))
            })?;
        let subs = api.sub_sites()?;
        Ok(Outcome::unchanged(format!(
            "BigScoots account {account}: primary site {} ({}), {}",
            api.primary,
            primary.domain.as_deref().unwrap_or("domain not given"),
            match subs {
                Some(subs) => format!("{} sub-site(s)", subs.len()),
                None => "its sub-site list answers in a shape not recognised".into(),
            }
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let (mut outcome, _) = api.set_domain(event.site_id, &event.domain)?;
        if event.www {
            outcome.notes.push(format!(
                "a BigScoots sub-site has one domain: www.{} is not added (BigScoots' own \
                 redirects decide it)",
                event.domain
            ));
        }
        Ok(outcome)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let Some(subs) = api.sub_sites()? else {
            return Err(unreadable());
        };
        let Some(sub) = subs.iter().find(|s| s.blog_id == event.site_id) else {
            return Ok(Outcome::unchanged(format!(
                "site {} is not a BigScoots sub-site; nothing to remove",
                event.site_id
            )));
        };
        // Only the sub-site's current domain is set back: any other name (a second mapping
        // that was never set, see add-domain) leaves the site where it is.
        if sub.domain.as_deref() != Some(event.domain.as_str()) {
            if journal::recall(&journal_key("unmap", event.site_id)).is_some() {
                return Ok(Outcome::changed(format!(
                    "{} unmapped from site {}",
                    event.domain, event.site_id
                )));
            }
            return Ok(Outcome::unchanged(format!(
                "{} is not site {}'s domain on BigScoots ({}); nothing to remove",
                event.domain,
                event.site_id,
                match &sub.domain {
                    Some(current) => format!("it is served on {current}, which stays"),
                    None => "BigScoots does not say its domain".into(),
                }
            )));
        }
        let Some(network_host) = sub.blog_host() else {
            return Err(ProviderError::Api(ApiError {
                status: 200,
                message: format!(
                    "BigScoots does not say site {}'s network address (blog_url), so its domain \
                     cannot be set back",
                    event.site_id
                ),
            }));
        };
        // The sub-site is on its network address already (the network's own domain, or
        // the site's subdomain): that is no mapping, and it is never removed.
        if network_host == event.domain {
            return Ok(Outcome::unchanged(format!(
                "{} is site {}'s network address on BigScoots, not a mapped domain; it stays",
                event.domain, event.site_id
            )));
        }
        journal::remember(&journal_key("unmap", event.site_id), &network_host);
        api.patch(event.site_id, &network_host)
            .map_err(|e| e.prefixed(&format!("unmapping {} failed: ", event.domain)))?;
        log::info(format!(
            "site {} back on {network_host} (was {})",
            event.site_id, event.domain
        ));
        let mut outcome = Outcome::changed(format!(
            "{} unmapped: site {} is served on {network_host} again",
            event.domain, event.site_id
        ));
        outcome.notes.push(format!(
            "should site {} keep another mapped domain, requesting its certificate sets it on \
             BigScoots (a sub-site has one domain)",
            event.site_id
        ));
        Ok(outcome)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let subs = api.sub_sites()?;
        if let Some(sub) = subs.iter().flatten().find(|s| s.blog_id == event.site_id) {
            let key = journal_key("register", event.site_id);
            return Ok(if journal::recall(&key).is_some() {
                Outcome::changed(format!("registered {} as a sub-site", event.domain))
            } else {
                Outcome::unchanged(format!(
                    "site {} is already a BigScoots sub-site ({})",
                    event.site_id,
                    sub.blog_url.as_deref().unwrap_or("address not given")
                ))
            });
        }
        journal::remember(&journal_key("register", event.site_id), "sent");
        let response = api.send(
            Request::post(format!("{API_BASE}/v1/multi-sites/sub-sites/"))
                .json(&json!({ "primary_uuid": api.primary, "blog_url": event.domain })),
        )?;
        if response.status == 409 {
            return Ok(Outcome::unchanged(format!(
                "{} is already a BigScoots sub-site ({})",
                event.domain,
                panel_message(response.status, &response.body)
            )));
        }
        api.check(response, Scope::Primary)
            .map_err(|e| e.prefixed(&format!("registering {} failed: ", event.domain)))?;
        log::info(format!("registered sub-site {}", event.domain));
        Ok(Outcome::changed(format!(
            "registered {} as a sub-site",
            event.domain
        )))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let key = journal_key("deregister", event.site_id);
        let response = api.send(Request::delete(api.sub_site_url(event.site_id)))?;
        if response.status == 404 {
            return Ok(if journal::recall(&key).is_some() {
                Outcome::changed(format!("removed sub-site {}", event.domain))
            } else {
                Outcome::unchanged(format!(
                    "site {} is not a BigScoots sub-site; nothing to remove",
                    event.site_id
                ))
            });
        }
        journal::remember(&key, "sent");
        api.check(response, Scope::SubSite(event.site_id))
            .map_err(|e| e.prefixed(&format!("removing {} failed: ", event.domain)))?;
        log::info(format!("removed sub-site {}", event.domain));
        Ok(Outcome::changed(format!(
            "removed sub-site {}",
            event.domain
        )))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let subs = api.sub_sites()?.ok_or_else(unreadable)?;
        Ok(subs
            .into_iter()
            .filter_map(|s| {
                let name = s.domain.clone().or_else(|| s.blog_host())?;
                Some(PanelDomain {
                    certificate: s.ssl.as_deref().map(certificate_state),
                    name,
                    www: None,
                    primary: false,
                })
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        // As the plugin does: make sure the domain is set, then ask for the certificate.
        // When the sub-site keeps another custom domain, nothing is asked: the plugin
        // requests SSL only for the site's primary or a first custom domain
        // (`is_ssl_candidate`).
        let (set, kept_other) = api.set_domain(event.site_id, &event.domain)?;
        if kept_other {
            return Ok(set);
        }
        let key = journal_key("ssl", event.site_id);
        if journal::recall(&key).is_none()
            && let Some(sub) = api
                .sub_sites()?
                .into_iter()
                .flatten()
                .find(|s| s.blog_id == event.site_id)
            && sub.ssl.as_deref().map(certificate_state) == Some(CertificateState::Active)
            && !set.changed
        {
            return Ok(Outcome::unchanged(format!(
                "BigScoots already reports an active certificate for {}",
                event.domain
            )));
        }
        journal::remember(&key, "sent");
        let response = api.send(Request::post(format!(
            "{API_BASE}/v1/multi-sites/sub-sites/ssl/{}/{}",
            api.primary, event.site_id
        )))?;
        api.check(response, Scope::SubSite(event.site_id))
            .map_err(|e| {
                e.prefixed(&format!(
                    "requesting the certificate for {} failed: ",
                    event.domain
                ))
            })?;
        log::info(format!("certificate requested for {}", event.domain));
        let mut outcome = Outcome::changed(format!(
            "certificate requested for {} (site {})",
            event.domain, event.site_id
        ));
        if set.changed {
            outcome.notes.insert(0, set.notes.join("; "));
        }
        Ok(outcome)
    }

    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let api = Api::configured()?;
        let subs = api.sub_sites()?.ok_or_else(unreadable)?;
        let Some(sub) = subs.into_iter().find(|s| s.blog_id == event.site_id) else {
            return Err(ProviderError::NotFound(format!(
                "site {} is not a BigScoots sub-site",
                event.site_id
            )));
        };
        Ok(
            match (
                &sub.ssl,
                sub.domain.as_deref() == Some(event.domain.as_str()),
            ) {
                (_, false) => CertificateReport {
                    state: CertificateState::None,
                    message: format!(
                        "site {}'s domain on BigScoots is {}, not {}",
                        event.site_id,
                        sub.domain.as_deref().unwrap_or("not given"),
                        event.domain
                    ),
                    expires_at: None,
                },
                (Some(ssl), true) => CertificateReport {
                    state: certificate_state(ssl),
                    message: format!("BigScoots certificate status: {ssl}"),
                    expires_at: None,
                },
                (None, true) => CertificateReport {
                    state: CertificateState::Unknown,
                    message: "BigScoots' sub-site answer does not say the certificate's state"
                        .into(),
                    expires_at: None,
                },
            },
        )
    }
}

provider_sdk::export_provider!(BigScoots);

fn unreadable() -> ProviderError {
    ProviderError::Api(ApiError {
        status: 200,
        message: "BigScoots' sub-site list is not in a known shape (no entries with blog_id)"
            .into(),
    })
}

fn journal_key(what: &str, blog: u64) -> String {
    format!("{what} {blog}")
}

/// A site of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub uuid: String,
    pub kind: Option<String>,
    pub domain: Option<String>,
}

/// A sub-site of the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubSite {
    pub blog_id: u64,
    pub blog_url: Option<String>,
    pub domain: Option<String>,
    pub ssl: Option<String>,
}

impl SubSite {
    /// The sub-site's domain when it is a custom one: set, and not its network address.
    pub fn custom_domain(&self) -> Option<String> {
        let domain = self.domain.as_deref()?;
        (self.blog_host().as_deref() != Some(domain)).then(|| domain.to_string())
    }

    /// The host of the sub-site's network address (`site1.network.example`, or the network
    /// host of `network.example/site1`).
    pub fn blog_host(&self) -> Option<String> {
        let url = self.blog_url.as_deref()?;
        let url = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url);
        let host = url.split('/').next()?.trim().to_ascii_lowercase();
        (!host.is_empty()).then_some(host)
    }
}

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// `{"response": X}` or X itself.
pub fn unwrap_response(body: &Value) -> &Value {
    match body.get("response") {
        Some(inner) if !inner.is_null() => inner,
        _ => body,
    }
}

fn items(body: &Value) -> Vec<Value> {
    let inner = unwrap_response(body);
    match inner {
        Value::Array(list) => list.clone(),
        Value::Object(map) => ["sites", "sub_sites", "subsites", "data", "items"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_array).cloned())
            .unwrap_or_default(),
        _ => vec![],
    }
}

pub fn parse_sites(body: &Value) -> Vec<Site> {
    items(body)
        .iter()
        .filter_map(|s| {
            Some(Site {
                uuid: text(s, &["site_uuid", "uuid", "id"])?,
                kind: text(s, &["type", "plan_type"]),
                domain: text(s, &["domain", "primary_domain"]),
            })
        })
        .collect()
}

/// The sub-sites, or `None` when the answer has no entry with a `blog_id`.
pub fn parse_sub_sites(body: &Value) -> Option<Vec<SubSite>> {
    let list = items(body);
    let subs: Vec<SubSite> = list
        .iter()
        .filter_map(|s| {
            let blog_id = match s.get("blog_id")? {
                Value::Number(n) => n.as_u64()?,
                Value::String(t) => t.parse().ok()?,
                _ => return None,
            };
            Some(SubSite {
                blog_id,
                blog_url: text(s, &["blog_url", "url"]),
                domain: text(s, &["domain"]).map(|d| d.to_ascii_lowercase()),
                ssl: match s.get("ssl") {
                    Some(Value::Object(o)) => text(&Value::Object(o.clone()), &["status"]),
                    Some(Value::Bool(b)) => Some(if *b { "active" } else { "none" }.into()),
                    _ => text(s, &["ssl_status", "ssl"]),
                },
            })
        })
        .collect();
    (list.is_empty() || !subs.is_empty()).then_some(subs)
}

pub fn certificate_state(ssl: &str) -> CertificateState {
    let s = ssl.to_ascii_lowercase();
    match s.as_str() {
        "active" | "issued" | "installed" | "valid" | "enabled" => CertificateState::Active,
        "none" | "disabled" | "" => CertificateState::None,
        _ if s.contains("fail") || s.contains("error") || s.contains("expired") => {
            CertificateState::Failed
        }
        _ if s.contains("pending") || s.contains("progress") || s.contains("requested") => {
            CertificateState::Pending
        }
        _ => CertificateState::Unknown,
    }
}

/// BigScoots' words: `message`, `error`, `response.error`, `response.message`.
pub fn panel_message(status: u16, body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return provider_sdk::errors::error_message(status, body);
    };
    let pick = |v: &Value| {
        ["message", "error"].iter().find_map(|k| match v.get(*k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Object(o)) => o.get("message").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
    };
    pick(&json)
        .or_else(|| json.get("response").and_then(pick))
        .unwrap_or_else(|| provider_sdk::errors::error_message(status, body))
}

/// Whether a 2xx body still says it failed (`{"success": false}`).
fn refused_in_2xx(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| {
        v.get("success") == Some(&Value::Bool(false))
            || unwrap_response(&v).get("success") == Some(&Value::Bool(false))
    })
}

/// What a request was about, for the error it gets.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Account,
    Primary,
    SubSite(u64),
}

struct Api {
    primary: String,
    email: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let primary = config::require_id(PRIMARY_UUID)?;
        // A plain value, or a placeholder when the operator keeps the e-mail secret.
        let email = match config::get(API_EMAIL) {
            Some(email) => email,
            None => config::secret(API_EMAIL).in_header()?,
        };
        Ok(Api { primary, email })
    }

    fn send(&self, request: Request) -> Result<Response, ProviderError> {
        request.header("x-auth-email", &self.email).send()
    }

    fn sub_site_url(&self, blog: u64) -> String {
        format!(
            "{API_BASE}/v1/multi-sites/sub-sites/{}/{blog}",
            self.primary
        )
    }

    fn check(&self, response: Response, scope: Scope) -> Result<Value, ProviderError> {
        let message = || panel_message(response.status, &response.body);
        if response.is_success() {
            if refused_in_2xx(&response.body) {
                return Err(ProviderError::Api(ApiError {
                    status: response.status,
                    message: format!("BigScoots refused it: {}", message()),
                }));
            }
            if response.body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            return response.json();
        }
        let message = message();
        Err(match (response.status, scope) {
            (401, _) => ProviderError::BadCredentials(format!(
                "BigScoots refused the credentials (401): {message}; check {API_EMAIL} and \
                 {API_KEY} (WPO Portal > Edit Profile & Security > API Access)"
            )),
            (403, _) if message.to_ascii_lowercase().contains("multisite") => {
                ProviderError::Unsupported(format!(
                    "BigScoots: {message}; the primary site must be a multisite or hybrid plan \
                     (ask BigScoots support to enable multisite API access)"
                ))
            }
            (403, _) => ProviderError::BadCredentials(format!(
                "BigScoots refused access (403): {message}; the API key may not manage site {}",
                self.primary
            )),
            (404, Scope::Primary) => ProviderError::NotFound(format!(
                "BigScoots has no primary site {} for this account ({message}): check \
                 {PRIMARY_UUID}",
                self.primary
            )),
            (404, Scope::SubSite(blog)) => ProviderError::NotFound(format!(
                "site {blog} is not a sub-site of BigScoots site {} ({message}): it is \
                 registered when the site is created (add-subdomain)",
                self.primary
            )),
            (status, _) => provider_sdk::errors::status_error(
                status,
                response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after),
                message,
            ),
        })
    }

    fn account(&self) -> Result<String, ProviderError> {
        let body = self.check(
            self.send(Request::get(format!("{API_BASE}/v1/accounts/")))?,
            Scope::Account,
        )?;
        let inner = unwrap_response(&body);
        inner
            .pointer("/primaryOwner/account_uuid")
            .or_else(|| inner.get("account_uuid"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::Api(ApiError {
                    status: 200,
                    message: "BigScoots' account answer has no primaryOwner.account_uuid".into(),
                })
            })
    }

    fn sites(&self, account: &str) -> Result<Vec<Site>, ProviderError> {
        let body = self.check(
            self.send(Request::get(format!(
                "{API_BASE}/v1/sites/account/{account}"
            )))?,
            Scope::Account,
        )?;
        Ok(parse_sites(&body))
    }

    /// The primary's sub-sites; `None` when the answer is 2xx but not readable.
    fn sub_sites(&self) -> Result<Option<Vec<SubSite>>, ProviderError> {
        let body = self.check(
            self.send(Request::get(format!(
                "{API_BASE}/v1/multi-sites/sub-sites/{}",
                self.primary
            )))?,
            Scope::Primary,
        )?;
        Ok(parse_sub_sites(&body))
    }

    fn patch(&self, blog: u64, domain: &str) -> Result<(), ProviderError> {
        let response =
            self.send(Request::patch(self.sub_site_url(blog)).json(&json!({ "domain": domain })))?;
        self.check(response, Scope::SubSite(blog)).map(|_| ())
    }

    /// Makes `domain` the sub-site's domain, unless it already is, or unless the sub-site
    /// is served on another custom domain: then nothing is sent and the second value says
    /// so.
    ///
    /// The plugin PATCHes the site's current primary host (`sync_active_domain`), which
    /// WordPress knows and the event does not carry (only domain, site id and `www`). A
    /// sub-site has one domain, so PATCHing a second mapping would take the site off its
    /// primary (panel-review.md #6). The event's name is set only when the sub-site has no
    /// custom domain yet (it is on its network address): the first mapping, which the plugin
    /// also sets (`is_ssl_candidate`: no other custom primary).
    fn set_domain(&self, blog: u64, domain: &str) -> Result<(Outcome, bool), ProviderError> {
        let key = journal_key("map", blog);
        let current = self
            .sub_sites()?
            .and_then(|subs| subs.into_iter().find(|s| s.blog_id == blog));
        if let Some(sub) = &current
            && sub.domain.as_deref() == Some(domain)
        {
            return Ok((
                if journal::recall(&key).is_some() {
                    Outcome::changed(format!("{domain} mapped to site {blog}"))
                } else {
                    Outcome::unchanged(format!("{domain} already is site {blog}'s domain"))
                },
                false,
            ));
        }
        if let Some(other) = current.as_ref().and_then(SubSite::custom_domain) {
            log::warn(format!(
                "site {blog} is served on {other} at BigScoots; {domain} is not set over it"
            ));
            return Ok((
                Outcome::unchanged(format!(
                    "{domain} not set on BigScoots: site {blog} is served there on {other}, and \
                     a sub-site has one domain. Which mapping is the site's primary is \
                     WordPress's to say and the event does not carry it, so {other} is kept \
                     (the plugin sets the site's primary domain). To serve site {blog} on \
                     {domain}, remove the {other} mapping, then request {domain}'s \
                     certificate"
                )),
                true,
            ));
        }
        journal::remember(&key, domain);
        self.patch(blog, domain)
            .map_err(|e| e.prefixed(&format!("mapping {domain} failed: ")))?;
        log::info(format!("site {blog} now on {domain}"));
        let mut outcome = Outcome::changed(format!("{domain} mapped to site {blog}"));
        if let Some(previous) = current.and_then(|s| s.domain).filter(|d| d != domain) {
            outcome.notes.push(format!("it replaces {previous}"));
        }
        Ok((outcome, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_and_bare_lists_are_read() {
        let sites = parse_sites(
            &json!({"response": [{"site_uuid": "p-1", "type": "primary", "domain": "n.example"}]}),
        );
        assert_eq!(sites[0].uuid, "p-1");
        assert_eq!(parse_sites(&json!([{"site_uuid": "p-2"}]))[0].uuid, "p-2");
        let subs = parse_sub_sites(&json!({"response": [
            {"blog_id": 4, "blog_url": "https://network.example/shop", "domain": "Shop.Example", "ssl": {"status": "issued"}},
            {"blog_id": "9", "blog_url": "site9.network.example"}]}))
        .unwrap();
        assert_eq!(subs[0].domain.as_deref(), Some("shop.example"));
        assert_eq!(subs[0].blog_host().as_deref(), Some("network.example"));
        assert_eq!(
            certificate_state(subs[0].ssl.as_deref().unwrap()),
            CertificateState::Active
        );
        assert_eq!(subs[1].blog_id, 9);
        assert_eq!(parse_sub_sites(&json!({"success": true})), Some(vec![]));
        assert_eq!(parse_sub_sites(&json!([{"name": "x"}])), None);
    }

    #[test]
    fn messages_from_every_place() {
        assert_eq!(
            panel_message(401, br#"{"message":"Unauthorized"}"#),
            "Unauthorized"
        );
        assert_eq!(panel_message(400, br#"{"error":"bad"}"#), "bad");
        assert_eq!(
            panel_message(400, br#"{"response":{"error":"inner"}}"#),
            "inner"
        );
        assert_eq!(panel_message(400, br#"{"response":{"message":"m"}}"#), "m");
        assert!(refused_in_2xx(br#"{"success":false,"message":"x"}"#));
        assert!(!refused_in_2xx(br#"{"success":true}"#));
    }
}
