//! RunCloud: domains are records of a web application; SSL is redeployed to cover them.
//!
//! Two credential styles, as users have them:
//! - `WU_RUNCLOUD_API_TOKEN` (the current plugin): API v3, `Authorization: Bearer`;
//! - `WU_RUNCLOUD_API_KEY` + `WU_RUNCLOUD_API_SECRET` (the seed docs): API v2, HTTP Basic.
//!
//! The paths below `https://manage.runcloud.io/api/{v2,v3}` are the same:
//! `servers/{S}/webapps/{A}/domains` (list with `page`/`perPage`, create, delete by id).
//! SSL redeploy differs, following what each plugin version sends: v3 reads `ssl/advanced`
//! for the certificate id and PATCHes `ssl/advanced/{id}/redeploy`; v2 reads `ssl` and PUTs
//! `ssl/{id}`.
//!
//! Unlike the PHP plugin: every status is checked, an existing domain counts as success,
//! removal follows pagination, the `www` policy is honoured, and subdomain sites are
//! created and deleted as domains of the app.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent, DomainProvider,
    Outcome, ProviderError, ProviderMetadata, config, log,
};
use serde::Deserialize;

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
                constant(
                    API_TOKEN,
                    "API token (v3)",
                    "Workspace > Settings > API Management",
                    true,
                    false,
                ),
                constant(
                    API_KEY,
                    "API key (v2)",
                    "User profile > API (legacy key/secret)",
                    true,
                    false,
                ),
                constant(
                    API_SECRET,
                    "API secret (v2)",
                    "User profile > API (legacy key/secret)",
                    true,
                    false,
                ),
                constant(
                    SERVER_ID,
                    "Server ID",
                    "From the URL: manage.runcloud.io/servers/{SERVER_ID}",
                    false,
                    true,
                ),
                constant(
                    APP_ID,
                    "Web application ID",
                    "From the web application's URL",
                    false,
                    true,
                ),
            ],
            any_of: vec![AnyOfGroup {
                label: "RunCloud API credentials".into(),
                options: vec![
                    vec![API_TOKEN.into()],
                    vec![API_KEY.into(), API_SECRET.into()],
                ],
            }],
            capabilities: Capabilities::AUTO_SSL
                | Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL
                | Capabilities::INDEPENDENT_DOMAINS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["manage.runcloud.io".into()],
            auth: vec![
                AuthScheme::Bearer(API_TOKEN.into()),
                AuthScheme::Basic(BasicAuth {
                    username_constant: API_KEY.into(),
                    password_constant: API_SECRET.into(),
                }),
            ],
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
        Api::configured()?.add(&event.domain, event.www)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&event.domain, false)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain)
    }
}

provider_sdk::export_provider!(RunCloud);

fn constant(
    name: &str,
    label: &str,
    description: &str,
    secret: bool,
    required: bool,
) -> ConstantSpec {
    ConstantSpec {
        name: name.into(),
        label: label.into(),
        description: description.into(),
        secret,
        required,
    }
}

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

#[derive(Debug, Deserialize)]
pub struct Domain {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Page {
    pub data: Vec<Domain>,
    pub meta: Option<Meta>,
}

#[derive(Debug, Deserialize)]
pub struct Meta {
    pub pagination: Pagination,
}

#[derive(Debug, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub total: u64,
    pub current_page: u32,
    pub total_pages: u32,
}

impl Page {
    /// Whether another page follows this one.
    pub fn has_next(&self) -> bool {
        match &self.meta {
            Some(meta) => meta.pagination.current_page < meta.pagination.total_pages,
            None => false,
        }
    }
}

/// Where a web application's certificate id is, per API version.
pub fn certificate_id(version: ApiVersion, body: &serde_json::Value) -> Option<u64> {
    let id = match version {
        ApiVersion::V3 => body.get("sslCertificate").and_then(|c| c.get("id")),
        ApiVersion::V2 => body.get("id"),
    };
    id.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

/// Whether a 422 says the name exists already (then adding it is a no-op).
pub fn is_duplicate(response: &Response) -> bool {
    response.status == 422 && response.text().to_ascii_lowercase().contains("already")
}

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
        self.check(Request::get(url).send()?)?.json()
    }

    /// Follows `meta.pagination` through every page.
    fn find(&self, name: &str) -> Result<Option<Domain>, ProviderError> {
        let mut page = 1;
        loop {
            let current = self.domains_page(page, PER_PAGE)?;
            let has_next = current.has_next();
            if let Some(found) = current
                .data
                .into_iter()
                .find(|d| d.name.eq_ignore_ascii_case(name))
            {
                return Ok(Some(found));
            }
            if !has_next || page >= MAX_PAGES {
                return Ok(None);
            }
            page += 1;
        }
    }

    fn add(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        let response = Request::post(format!("{}/domains", self.base))
            .json(&create_body(name, www))
            .send()?;
        let mut outcome = if is_duplicate(&response) {
            Outcome::unchanged(format!("{name} is already on the web application"))
        } else {
            self.check(response)?;
            log::info(format!("added {name} (www: {www})"));
            Outcome::changed(format!(
                "added {name}{}",
                if www { " with www redirect" } else { "" }
            ))
        };
        // Redeploy even when the name was there: an earlier attempt may have added it and
        // failed before the certificate was reissued.
        let note = self
            .redeploy_ssl()
            .map_err(|e| e.prefixed(&format!("{name} is on the web application but ")))?;
        outcome.notes.push(note);
        Ok(outcome)
    }

    fn remove(&self, name: &str) -> Result<Outcome, ProviderError> {
        let Some(domain) = self.find(name)? else {
            return Ok(Outcome::unchanged(format!(
                "{name} is not on the web application; nothing to remove"
            )));
        };
        let response = Request::delete(format!("{}/domains/{}", self.base, domain.id)).send()?;
        if response.status == 404 {
            // Deleted between our listing and now: the wanted state is reached.
            return Ok(Outcome::unchanged(format!("{name} was already removed")));
        }
        self.check(response)?;
        log::info(format!("removed {name} (domain id {})", domain.id));
        Ok(Outcome::changed(format!("removed {name}")))
    }

    /// Reissues the web application's certificate so it covers its current domains.
    fn redeploy_ssl(&self) -> Result<String, ProviderError> {
        let read = match self.version {
            ApiVersion::V3 => "ssl/advanced",
            ApiVersion::V2 => "ssl",
        };
        let response = Request::get(format!("{}/{read}", self.base)).send()?;
        if response.status == 404 && response.text().contains("not installed") {
            return Ok(no_certificate());
        }
        let body: serde_json::Value = self
            .check(response)
            .map_err(|e| e.prefixed("reading the SSL certificate failed: "))?
            .json()?;
        let Some(id) = certificate_id(self.version, &body) else {
            return Ok(no_certificate());
        };
        let request = match self.version {
            ApiVersion::V3 => Request::patch(format!("{}/ssl/advanced/{id}/redeploy", self.base)),
            ApiVersion::V2 => Request::put(format!("{}/ssl/{id}", self.base)),
        };
        self.check(request.json(&serde_json::json!({})).send()?)
            .map_err(|e| e.prefixed("SSL redeploy failed: "))?;
        log::info(format!("SSL certificate {id} redeployed"));
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
        let page: Page = provider_sdk::http::parse_json(200, body).unwrap();
        assert_eq!(page.data[0].id, 710);
        assert!(page.has_next());
    }

    #[test]
    fn last_page_and_missing_meta_stop_the_walk() {
        let last: Page = provider_sdk::http::parse_json(
            200,
            br#"{"data":[],"meta":{"pagination":{"total":0,"count":0,"per_page":40,"current_page":3,"total_pages":3}}}"#,
        )
        .unwrap();
        assert!(!last.has_next());
        let bare: Page = provider_sdk::http::parse_json(200, br#"{"data":[]}"#).unwrap();
        assert!(!bare.has_next());
    }

    #[test]
    fn certificate_id_per_version() {
        let v3 = serde_json::json!({"advancedSSL": false, "sslCertificate": {"id": 52}});
        assert_eq!(certificate_id(ApiVersion::V3, &v3), Some(52));
        assert_eq!(
            certificate_id(ApiVersion::V3, &serde_json::json!({"sslCertificate": null})),
            None
        );
        assert_eq!(
            certificate_id(
                ApiVersion::V2,
                &serde_json::json!({"id": "52", "method": "letsencrypt"})
            ),
            Some(52)
        );
        assert_eq!(
            certificate_id(
                ApiVersion::V2,
                &serde_json::json!({"message": "SSL not installed!"})
            ),
            None
        );
    }

    #[test]
    fn duplicate_names_are_recognised_from_the_422() {
        let duplicate = Response {
            status: 422,
            headers: vec![],
            body: br#"{"message":"The given data was invalid.","errors":{"name":["The name has already been taken."]}}"#.to_vec(),
        };
        assert!(is_duplicate(&duplicate));
        let invalid = Response {
            status: 422,
            headers: vec![],
            body: br#"{"message":"The given data was invalid.","errors":{"name":["The name format is invalid."]}}"#.to_vec(),
        };
        assert!(!is_duplicate(&invalid));
    }
}
