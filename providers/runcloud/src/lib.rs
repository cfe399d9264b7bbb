//! RunCloud: domains are records of a web application; SSL is redeployed to cover them.
//!
//! Two credential styles, as users have them:
//! - `WU_RUNCLOUD_API_TOKEN` (the current plugin): API v3, `Authorization: Bearer`;
//! - `WU_RUNCLOUD_API_KEY` + `WU_RUNCLOUD_API_SECRET` (the seed docs): API v2, HTTP Basic.
//!
//! The paths below `https://manage.runcloud.io/api/{v2,v3}` are the same:
//! `servers/{S}/webapps/{A}/domains` (list with `page`/`perPage`, create, delete by id;
//! v3 also `PATCH domains/{id}/meta`). SSL follows the official v3 SDK's routes
//! (`provider-apis.md` §2.9–2.10): `GET ssl/advanced` tells the mode; basic mode redeploys
//! the app's certificate with `GET ssl` + `PUT ssl/{id}`; advanced mode installs or
//! redeploys the domain's own certificate (`domains/{id}/ssl`). The PHP plugin's
//! `PATCH ssl/advanced/{id}/redeploy` is unverified and kept in one fallback function.
//!
//! Unlike the PHP plugin: every status is checked; a name "already taken" is a success only
//! when it is on *this* web application (another app holding it is a conflict); an
//! existing record gets `www` when the policy now wants it; removal follows every page,
//! rescans when the list changes under it and confirms an absence with a second scan, and
//! never deletes the app's primary domain; subdomain sites are created and deleted as
//! domains; the certificate is redeployed only when this event changed the domain list,
//! once, even across retries (Let's Encrypt limits issuance per registered domain); a retry
//! reads the list before it creates, so a create applied before its answer was lost (a 503)
//! is found and not sent again.
//! Events lock per account (server and app), so concurrent events cannot race on the list
//! or on the shared certificate.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent, DomainProvider,
    Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, config, journal, json, log,
};

pub const API_ROOT: &str = "https://manage.runcloud.io/api";
pub const API_TOKEN: &str = "WU_RUNCLOUD_API_TOKEN";
pub const API_KEY: &str = "WU_RUNCLOUD_API_KEY";
pub const API_SECRET: &str = "WU_RUNCLOUD_API_SECRET";
pub const SERVER_ID: &str = "WU_RUNCLOUD_SERVER_ID";
pub const APP_ID: &str = "WU_RUNCLOUD_APP_ID";
/// RunCloud's documented maximum page size.
pub const PER_PAGE: u32 = 40;
/// A bound on pages followed, so a misbehaving API cannot keep a component looping.
const MAX_PAGES: u32 = 500;
/// Scans restarted because the list changed while being read, before giving up.
const MAX_RESCANS: u32 = 3;

pub struct RunCloud;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// Bearer token.
    V3,
    /// HTTP Basic key:secret (legacy, as in the seed docs).
    V2,
}

impl ApiVersion {
    /// The token wins when both styles are configured, as in the host's auth order.
    fn configured() -> ApiVersion {
        if config::is_set(API_TOKEN) {
            ApiVersion::V3
        } else {
            ApiVersion::V2
        }
    }

    fn path(self) -> &'static str {
        match self {
            ApiVersion::V3 => "v3",
            ApiVersion::V2 => "v2",
        }
    }
}

impl DomainProvider for RunCloud {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "runcloud".into(),
            title: "RunCloud".into(),
            description: "Adds mapped domains to a RunCloud web application and redeploys its \
                          SSL certificate to cover them."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/runcloud".into(),
            constants: vec![
                ConstantSpec::optional(
                    API_TOKEN,
                    "API token (v3)",
                    "Workspace > Settings > API Management",
                )
                .secret(),
                ConstantSpec::optional(
                    API_KEY,
                    "API key (v2)",
                    "User profile > API (legacy key/secret)",
                )
                .secret(),
                ConstantSpec::optional(
                    API_SECRET,
                    "API secret (v2)",
                    "User profile > API (legacy key/secret)",
                )
                .secret(),
                ConstantSpec::required(
                    SERVER_ID,
                    "Server ID",
                    "From the URL: manage.runcloud.io/servers/{SERVER_ID}",
                ),
                ConstantSpec::required(
                    APP_ID,
                    "Web application ID",
                    "From the web application's URL",
                ),
            ],
            any_of: vec![AnyOfGroup {
                label: "RunCloud API credentials".into(),
                options: vec![
                    vec![API_TOKEN.into()],
                    vec![API_KEY.into(), API_SECRET.into()],
                ],
            }],
            // Not independent-domains: the certificate is shared by the whole web
            // application, and removals page through a list other events change.
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS | Operations::REQUEST_CERTIFICATE,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["manage.runcloud.io".into()],
            auth: vec![
                AuthScheme::Bearer(API_TOKEN.into()),
                AuthScheme::Basic(BasicAuth {
                    username_constant: API_KEY.into(),
                    password_constant: API_SECRET.into(),
                }),
            ],
            account_constants: vec![SERVER_ID.into(), APP_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let page = api.domains_page(1, 1)?;
        Ok(Outcome::unchanged(format!(
            "web application reachable (API {}): {} domain(s)",
            api.version.path(),
            page.meta
                .map(|m| m.pagination.total)
                .unwrap_or(page.data.len() as u64)
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&event.domain, event.www, event.attempt > 1)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&event.domain, false, event.attempt > 1)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain)
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let domains = Api::configured()?.all_domains()?;
        Ok(domains
            .into_iter()
            .map(|d| PanelDomain {
                www: Some(d.www()),
                primary: d.is_primary(),
                name: d.name,
                certificate: None,
            })
            .collect())
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let Some(domain) = api.find(&event.domain)? else {
            return Err(ProviderError::NotFound(format!(
                "{} is not on the web application; map the domain first",
                event.domain
            )));
        };
        let note = api.deploy_certificate(&domain.name.clone(), Some(domain))?;
        Ok(Outcome::changed(note))
    }
}

provider_sdk::export_provider!(RunCloud);

/// The body that creates a domain: with `www`, RunCloud serves `www.` too and redirects it
/// to the bare name; without, no alias and no redirect.
pub fn create_body(name: &str, www: bool) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "www": www,
        "redirection": if www { "non-www" } else { "none" },
        "type": "alias",
    })
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub id: u64,
    pub name: String,
    /// Returned as 0/1 (sent as a boolean); leaner v2 answers leave it out (`null` then).
    pub www: serde_json::Value,
    /// `type`.
    pub kind: Option<String>,
}

impl Domain {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        let o = json::object(value, "struct Domain")?;
        Ok(Domain {
            id: json::field(o, "id", json::u64)?,
            name: json::field(o, "name", json::string)?,
            www: json::or_default(o, "www", json::any)?,
            kind: json::opt(o, "type", json::string)?,
        })
    }

    pub fn www(&self) -> bool {
        self.www == serde_json::json!(1) || self.www == serde_json::json!(true)
    }

    /// The web application's own domain: RunCloud serves the app under it.
    pub fn is_primary(&self) -> bool {
        self.kind.as_deref() == Some("primary")
    }
}

#[derive(Debug)]
pub struct Page {
    pub data: Vec<Domain>,
    pub meta: Option<Meta>,
}

#[derive(Debug)]
pub struct Meta {
    pub pagination: Pagination,
}

#[derive(Debug)]
pub struct Pagination {
    pub total: u64,
    pub current_page: u32,
    pub total_pages: u32,
}

impl Page {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        let o = json::object(value, "struct Page")?;
        Ok(Page {
            data: json::field(o, "data", |v| json::list(v, Domain::from_json))?,
            meta: json::opt(o, "meta", |v| {
                let o = json::object(v, "struct Meta")?;
                let pagination = json::field(o, "pagination", |v| {
                    let o = json::object(v, "struct Pagination")?;
                    Ok(Pagination {
                        total: json::or_default(o, "total", json::u64)?,
                        current_page: json::field(o, "current_page", json::u32)?,
                        total_pages: json::field(o, "total_pages", json::u32)?,
                    })
                })?;
                Ok(Meta { pagination })
            })?,
        })
    }

    /// Whether another page follows this one. Without `meta`, a full page may be followed
    /// by another.
    pub fn has_next(&self, per_page: u32) -> bool {
        match &self.meta {
            Some(meta) => meta.pagination.current_page < meta.pagination.total_pages,
            None => self.data.len() as u32 >= per_page,
        }
    }

    fn total(&self) -> Option<u64> {
        self.meta.as_ref().map(|m| m.pagination.total)
    }
}

/// Where a web application's certificate id is in `GET ssl` (basic mode).
pub fn certificate_id(body: &serde_json::Value) -> Option<u64> {
    let id = body
        .get("id")
        .or_else(|| body.get("sslCertificate").and_then(|c| c.get("id")));
    id.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

/// Whether a 422 says the name is taken, read from the `errors.name` field.
pub fn name_taken(response: &Response) -> bool {
    if response.status != 422 {
        return false;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
        return false;
    };
    let messages: Vec<String> = match body.pointer("/errors/name") {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|m| m.as_str().map(str::to_ascii_lowercase))
            .collect(),
        Some(serde_json::Value::String(m)) => vec![m.to_ascii_lowercase()],
        _ => vec![],
    };
    messages
        .iter()
        .any(|m| m.contains("already") && m.contains("taken"))
}

/// Journal keys and values: what this event did, across retries.
fn created_key(name: &str) -> String {
    format!("create {name}")
}
/// The create was sent (it may have applied even if its answer was lost).
const SENT: &str = "sent";
/// The name was there before this event.
const EXISTED: &str = "existed";
const WWW_ADDED: &str = "www added";
const DELETED: &str = "deleted";
const CERTIFICATE: &str = "certificate";

struct Api {
    version: ApiVersion,
    base: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let version = ApiVersion::configured();
        let base = format!(
            "{API_ROOT}/{}/servers/{}/webapps/{}",
            version.path(),
            config::require_id(SERVER_ID)?,
            config::require_id(APP_ID)?
        );
        Ok(Api { version, base })
    }

    /// 401 and 404 in this integration's terms.
    fn check(&self, response: Response) -> Result<Response, ProviderError> {
        match response.status {
            404 => Err(ProviderError::NotFound(format!(
                "RunCloud has no such server or web application ({}): check {SERVER_ID} and {APP_ID}",
                provider_sdk::errors::error_message(404, &response.body)
            ))),
            401 => Err(response.status_error().prefixed(match self.version {
                ApiVersion::V3 => "check WU_RUNCLOUD_API_TOKEN: ",
                ApiVersion::V2 => "check WU_RUNCLOUD_API_KEY and WU_RUNCLOUD_API_SECRET: ",
            })),
            _ => response.error_for_status(),
        }
    }

    fn domains_page(&self, page: u32, per_page: u32) -> Result<Page, ProviderError> {
        let url = format!("{}/domains?page={page}&perPage={per_page}", self.base);
        self.check(Request::get(url).send()?)?
            .json_with(Page::from_json)
    }

    /// Every domain record, every page. The scan restarts when the total changes while
    /// it runs (a removal elsewhere shifts later records onto earlier pages).
    fn all_domains(&self) -> Result<Vec<Domain>, ProviderError> {
        'scan: for _ in 0..MAX_RESCANS {
            let mut all = Vec::new();
            let mut total = None;
            let mut page = 1;
            loop {
                let current = self.domains_page(page, PER_PAGE)?;
                if total.is_some() && current.total() != total {
                    log::info("the domain list changed while it was read; reading it again");
                    continue 'scan;
                }
                total = current.total();
                let has_next = current.has_next(PER_PAGE);
                all.extend(current.data);
                if !has_next || page >= MAX_PAGES {
                    return Ok(all);
                }
                page += 1;
            }
        }
        Err(ProviderError::Transient(
            "the domain list kept changing while it was read".into(),
        ))
    }

    /// The record for `name`. An absence is confirmed by a second full scan, so a record
    /// that moved between pages during the first is not missed.
    fn find(&self, name: &str) -> Result<Option<Domain>, ProviderError> {
        let matches = |d: &Domain| d.name.eq_ignore_ascii_case(name);
        if let Some(found) = self.all_domains()?.into_iter().find(matches) {
            return Ok(Some(found));
        }
        Ok(self.all_domains()?.into_iter().find(matches))
    }

    /// Creates `name`'s record. A first attempt creates straight away (RunCloud's "already
    /// taken" says when it is there); a retry reads first, so a create applied before its
    /// answer was lost is found and not sent again.
    fn add(&self, name: &str, www: bool, retry: bool) -> Result<Outcome, ProviderError> {
        // The journal says whether an earlier attempt of this event sent this create: if
        // its answer was lost, the record now there is ours.
        let sent_earlier = journal::recall(&created_key(name)).as_deref() == Some(SENT);
        if (retry || sent_earlier)
            && let Some(domain) = self.find(name)?
        {
            let (outcome, record) = self.existing_record(name, www, sent_earlier, domain)?;
            return self.finish(outcome, name, Some(record));
        }
        journal::remember(&created_key(name), SENT);
        let response = Request::post(format!("{}/domains", self.base))
            .json(&create_body(name, www))
            .send()?;
        let (outcome, record) = if name_taken(&response) {
            let (outcome, record) = self.existing(name, www, sent_earlier)?;
            (outcome, Some(record))
        } else {
            let created = self.check(response)?;
            // RunCloud answers with the created record; a 2xx that is not JSON at all (a
            // login page, a proxy's page) is no create and is reported as the error it is.
            let body: serde_json::Value = created
                .json()
                .map_err(|e| e.prefixed(&format!("adding {name}: ")))?;
            log::info(format!("added {name} (www: {www})"));
            let outcome = Outcome::changed(format!(
                "added {name}{}",
                if www { " with www redirect" } else { "" }
            ));
            (outcome, Domain::from_json(&body).ok())
        };
        self.finish(outcome, name, record)
    }

    /// Redeploys the certificate when this event changed the list, once across retries.
    fn finish(
        &self,
        mut outcome: Outcome,
        name: &str,
        record: Option<Domain>,
    ) -> Result<Outcome, ProviderError> {
        if !outcome.changed {
            outcome
                .notes
                .push("SSL certificate not redeployed: the domain list did not change".into());
            return Ok(outcome);
        }
        if journal::recall(CERTIFICATE).is_some() {
            outcome
                .notes
                .push("SSL certificate already redeployed by an earlier attempt".into());
            return Ok(outcome);
        }
        let note = self
            .deploy_certificate(name, record)
            .map_err(|e| e.prefixed(&format!("{} but ", outcome.notes[0])))?;
        journal::remember(CERTIFICATE, "1");
        outcome.notes.push(note);
        Ok(outcome)
    }

    /// A name RunCloud says is taken: fine when it is ours (brought to the wanted `www`),
    /// a conflict when another web application on the server holds it.
    fn existing(
        &self,
        name: &str,
        www: bool,
        created_earlier: bool,
    ) -> Result<(Outcome, Domain), ProviderError> {
        let Some(domain) = self.find(name)? else {
            journal::remember(&created_key(name), EXISTED);
            return Err(ProviderError::Conflict(format!(
                "{name} is already used by another web application on this server; remove it \
                 there first"
            )));
        };
        self.existing_record(name, www, created_earlier, domain)
    }

    /// This web application's record for `name`, brought to the wanted `www`.
    fn existing_record(
        &self,
        name: &str,
        www: bool,
        created_earlier: bool,
        domain: Domain,
    ) -> Result<(Outcome, Domain), ProviderError> {
        if !created_earlier {
            journal::remember(&created_key(name), EXISTED);
        }
        let outcome = if www && !domain.www() {
            match self.version {
                ApiVersion::V3 => {
                    let url = format!("{}/domains/{}/meta", self.base, domain.id);
                    self.check(
                        Request::patch(url)
                            .json(&serde_json::json!({"www": true, "redirection": "non-www", "type": "alias"}))
                            .send()?,
                    )?;
                    journal::remember(WWW_ADDED, "1");
                    Outcome::changed(format!(
                        "{name} was on the web application without www; www added with a redirect"
                    ))
                }
                ApiVersion::V2 => Outcome {
                    changed: created_earlier,
                    notes: vec![format!(
                        "{name} is on the web application without www; API v2 cannot change \
                         that (use an API v3 token, or enable www in RunCloud)"
                    )],
                },
            }
        } else if created_earlier || journal::recall(WWW_ADDED).is_some() {
            Outcome::changed(format!("added {name}"))
        } else {
            Outcome::unchanged(format!("{name} is already on the web application"))
        };
        Ok((outcome, domain))
    }

    fn remove(&self, name: &str) -> Result<Outcome, ProviderError> {
        let Some(domain) = self.find(name)? else {
            return Ok(if journal::recall(DELETED).is_some() {
                Outcome::changed(format!("removed {name}"))
            } else {
                Outcome::unchanged(format!(
                    "{name} is not on the web application; nothing to remove"
                ))
            });
        };
        if domain.is_primary() {
            return Err(ProviderError::Conflict(format!(
                "{name} is the web application's primary domain: RunCloud serves the app under \
                 it, so it is never removed from here; change the primary domain in RunCloud first"
            )));
        }
        journal::remember(DELETED, "1");
        let response = Request::delete(format!("{}/domains/{}", self.base, domain.id)).send()?;
        if response.status == 404 {
            // Deleted between our listing and now: the wanted state is reached.
            return Ok(Outcome::unchanged(format!("{name} was already removed")));
        }
        self.check(response)?;
        log::info(format!("removed {name} (domain id {})", domain.id));
        Ok(Outcome::changed(format!("removed {name}")))
    }

    /// Has the certificate cover `name`: per domain in advanced mode (its record looked up
    /// when not `known`), the app's shared certificate in basic mode.
    fn deploy_certificate(
        &self,
        name: &str,
        known: Option<Domain>,
    ) -> Result<String, ProviderError> {
        let mode = Request::get(format!("{}/ssl/advanced", self.base)).send()?;
        // A 404 is an API without the advanced endpoint (basic mode); other errors count.
        let advanced = if mode.status == 404 {
            false
        } else {
            self.check(mode)
                .map_err(|e| e.prefixed("reading the SSL mode failed: "))?
                .json::<serde_json::Value>()?
                .get("advancedSSL")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        if advanced {
            let domain = match known {
                Some(domain) => domain,
                None => self.find(name)?.ok_or_else(|| {
                    ProviderError::Transient(format!("{name} is not in the domain list yet"))
                })?,
            };
            self.deploy_domain_certificate(&domain)
        } else {
            self.redeploy_app_certificate()
        }
    }

    /// Advanced mode: the domain's own certificate, redeployed or installed.
    fn deploy_domain_certificate(&self, domain: &Domain) -> Result<String, ProviderError> {
        let url = format!("{}/domains/{}/ssl", self.base, domain.id);
        let current = Request::get(&url).send()?;
        if current.status == 200 {
            let body: serde_json::Value = current.json()?;
            if let Some(id) = certificate_id(&body) {
                self.check(Request::put(format!("{url}/{id}")).send()?)
                    .map_err(|e| e.prefixed("SSL redeploy failed: "))?;
                return Ok(format!(
                    "SSL certificate {id} of {} redeployed",
                    domain.name
                ));
            }
        }
        self.check(
            Request::post(&url)
                .json(&serde_json::json!({
                    "advancedSSL": true, "autoSSL": false, "provider": "letsencrypt",
                    "enableHttp": false, "enableHsts": false,
                    "authorizationMethod": "http-01", "environment": "live"
                }))
                .send()?,
        )
        .map_err(|e| e.prefixed("installing the SSL certificate failed: "))?;
        Ok(format!(
            "Let's Encrypt certificate requested for {}",
            domain.name
        ))
    }

    /// Basic mode: the app's certificate, redeployed so it covers the current domains.
    fn redeploy_app_certificate(&self) -> Result<String, ProviderError> {
        let response = Request::get(format!("{}/ssl", self.base)).send()?;
        if response.status == 404 && response.text().contains("not installed") {
            return Ok(no_certificate());
        }
        let body: serde_json::Value = self
            .check(response)
            .map_err(|e| e.prefixed("reading the SSL certificate failed: "))?
            .json()?;
        let Some(id) = certificate_id(&body) else {
            return Ok(no_certificate());
        };
        let redeploy = Request::put(format!("{}/ssl/{id}", self.base)).send()?;
        if matches!(redeploy.status, 404 | 405) {
            return self.plugin_redeploy(id);
        }
        self.check(redeploy)
            .map_err(|e| e.prefixed("SSL redeploy failed: "))?;
        log::info(format!("SSL certificate {id} redeployed"));
        Ok(format!("SSL certificate {id} redeployed"))
    }

    /// UNVERIFIED: `PATCH ssl/advanced/{id}/redeploy` is what Ultimate Multisite 2.4.10's
    /// `Runcloud_Host_Provider` sends; neither RunCloud's docs nor its official v3 SDK list
    /// it (`provider-apis.md` §2.9). Used only when the SDK's `PUT ssl/{id}` is missing.
    fn plugin_redeploy(&self, id: u64) -> Result<String, ProviderError> {
        let url = format!("{}/ssl/advanced/{id}/redeploy", self.base);
        self.check(Request::patch(url).json(&serde_json::json!({})).send()?)
            .map_err(|e| e.prefixed("SSL redeploy failed: "))?;
        log::info(format!("SSL certificate {id} redeployed (plugin route)"));
        Ok(format!("SSL certificate {id} redeployed"))
    }
}

/// Not an error: the domain is served, and the certificate installed later will cover it.
fn no_certificate() -> String {
    log::warn("no SSL certificate is installed on the web application");
    "no SSL certificate is installed on the web application yet; install one in RunCloud \
     and it will cover this domain"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_follows_the_www_policy() {
        assert_eq!(
            create_body("a.com", true),
            serde_json::json!({"name": "a.com", "www": true, "redirection": "non-www", "type": "alias"})
        );
        assert_eq!(
            create_body("a.com", false),
            serde_json::json!({"name": "a.com", "www": false, "redirection": "none", "type": "alias"})
        );
    }

    #[test]
    fn parses_the_documented_list_shape() {
        let body = br#"{"data":[{"id":710,"name":"yog.alirahman.site","type":"alias","www":0,
            "redirection":"non-www","wildcard":0,"dns_integration":"none","status":null,
            "created_at":"2024-07-18 01:31:10"}],
            "meta":{"pagination":{"total":41,"count":1,"per_page":40,"current_page":1,"total_pages":2,"links":{"next":"x"}}}}"#;
        let page = provider_sdk::http::parse_json_with(200, body, Page::from_json).unwrap();
        assert_eq!(page.data[0].id, 710);
        assert!(!page.data[0].www());
        assert!(page.has_next(40));
    }

    #[test]
    fn last_page_and_missing_meta_stop_the_walk() {
        let last = provider_sdk::http::parse_json_with(
            200,
            br#"{"data":[],"meta":{"pagination":{"total":0,"count":0,"per_page":40,"current_page":3,"total_pages":3}}}"#,
            Page::from_json,
        )
        .unwrap();
        assert!(!last.has_next(40));
        let bare =
            provider_sdk::http::parse_json_with(200, br#"{"data":[]}"#, Page::from_json).unwrap();
        assert!(!bare.has_next(40));
        // Without meta, a full page may be followed by another.
        let full = provider_sdk::http::parse_json_with(
            200,
            br#"{"data":[{"id":1,"name":"a.com"},{"id":2,"name":"b.com"}]}"#,
            Page::from_json,
        )
        .unwrap();
        assert!(full.has_next(2));
        assert!(!full.has_next(3));
    }

    #[test]
    fn certificate_ids_are_read_from_either_shape() {
        assert_eq!(
            certificate_id(&serde_json::json!({"id": "52", "method": "letsencrypt"})),
            Some(52)
        );
        assert_eq!(
            certificate_id(&serde_json::json!({"sslCertificate": {"id": 53}})),
            Some(53)
        );
        assert_eq!(
            certificate_id(&serde_json::json!({"message": "SSL not installed!"})),
            None
        );
    }

    #[test]
    fn primary_records_are_known() {
        let d = Domain::from_json(&serde_json::json!(
            {"id":1,"name":"a.com","type":"primary","www":1}
        ))
        .unwrap();
        assert!(d.is_primary() && d.www());
    }

    #[test]
    fn duplicate_names_are_recognised_from_the_422() {
        let duplicate = Response {
            status: 422,
            headers: vec![],
            body: br#"{"message":"The given data was invalid.","errors":{"name":["The name has already been taken."]}}"#.to_vec(),
        };
        assert!(name_taken(&duplicate));
        let invalid = Response {
            status: 422,
            headers: vec![],
            body: br#"{"message":"The given data was invalid.","errors":{"name":["The name format is invalid."]}}"#.to_vec(),
        };
        assert!(!name_taken(&invalid));
        // The word in another field, or in the message only, is not "taken".
        let other = Response {
            status: 422,
            headers: vec![],
            body: br#"{"message":"The name has already been taken.","errors":{"www":["invalid"]}}"#
                .to_vec(),
        };
        assert!(!name_taken(&other));
    }
}
