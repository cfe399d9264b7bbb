//! Enhance's orchd API (`panel-apis-a.md` §7), under `/api`, for one cluster.
//!
//! - `Authorization: Bearer <token>`; otherwise 401. Error bodies are the spec's
//!   `HttpError {code, message}` — unverified for these endpoints, so `empty_errors` answers
//!   them with no body instead.
//! - `GET /orgs/{org}/websites/{website}` → `Website`; `GET …/domains[?withSsl=true]` →
//!   `{"items": [DomainMapping]}` (camelCase, the id in `domainId`, no `id` key, `cert` only
//!   with `withSsl`, the query name in Enhance's OpenAPI spec, `getWebsiteDomainMappings`,
//!   and in the SDK `upmind/enhance-sdk-php` `src/Api/DomainsApi.php`
//!   `getWebsiteDomainMappingsRequest`: `'withSsl', // param base name`; `with_ssl` is not
//!   a parameter and gets no `cert`); `POST …/domains {"domain", "kind"?}` → 201 `{"id"}`; a name mapped
//!   anywhere on the cluster → `duplicate_status` (400 by default; unverified);
//!   `DELETE …/domains/{domainId}` → 204, unknown → 404, the primary → 400.
//! - `POST /orgs/{org}/domains/check` → `{"status", "websiteId"?}`.
//! - `POST /v2/domains/{id}/letsencrypt_preflight` → `{"canIssue", "error"?}` (names in
//!   `le_blocked` cannot issue); `POST /v2/domains/{id}/letsencrypt` → 201 and a `cert`.
//! - `placeholder_certs`: a mapping without an issued certificate lists a self-signed one
//!   (`issuer` equal to `cn`), as a public report says Enhance does. Unverified: both
//!   shapes served (the spec's `DomainSslCert` says nothing of it).

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub id: String,
    pub domain: String,
    pub kind: String,
    /// Issuance time of a Let's Encrypt certificate, when one was issued.
    pub certificate: bool,
    pub certificates_issued: u32,
}

#[derive(Debug, Clone)]
pub struct Website {
    pub org: String,
    pub domains: Vec<Mapping>,
}

#[derive(Debug, Clone)]
pub struct Enhance {
    pub token: String,
    /// Website id → website.
    pub websites: BTreeMap<String, Website>,
    /// Organisations whose token has no role (403).
    pub forbidden_orgs: Vec<String>,
    /// Names of deleted websites still held, and prohibited names.
    pub deleted_site_names: Vec<String>,
    pub prohibited: Vec<String>,
    /// Name → why Let's Encrypt cannot issue (preflight `canIssue: false`).
    pub le_blocked: BTreeMap<String, String>,
    pub duplicate_status: u16,
    pub empty_errors: bool,
    pub placeholder_certs: bool,
    next_id: u64,
}

impl Enhance {
    /// One organisation with one website whose primary domain is `primary`.
    pub fn new(token: &str, org: &str, website: &str, primary: &str) -> Self {
        let mut e = Enhance {
            token: token.into(),
            websites: BTreeMap::new(),
            forbidden_orgs: vec![],
            deleted_site_names: vec![],
            prohibited: vec![],
            le_blocked: BTreeMap::new(),
            duplicate_status: 400,
            empty_errors: false,
            placeholder_certs: false,
            next_id: 0,
        };
        let primary = e.mapping(primary, "primary");
        e.websites.insert(
            website.into(),
            Website {
                org: org.into(),
                domains: vec![primary],
            },
        );
        e
    }

    /// Another website (of `org`) holding `names`.
    pub fn add_website(&mut self, org: &str, website: &str, names: &[&str]) {
        let domains = names.iter().map(|n| self.mapping(n, "alias")).collect();
        self.websites.insert(
            website.into(),
            Website {
                org: org.into(),
                domains,
            },
        );
    }

    pub fn seed(&mut self, website: &str, names: &[&str]) {
        let new: Vec<Mapping> = names.iter().map(|n| self.mapping(n, "alias")).collect();
        self.websites
            .get_mut(website)
            .expect("no such website")
            .domains
            .extend(new);
    }

    /// The website's domain names, sorted.
    pub fn names(&self, website: &str) -> Vec<String> {
        let mut names: Vec<String> = self.websites[website]
            .domains
            .iter()
            .map(|m| m.domain.clone())
            .collect();
        names.sort();
        names
    }

    pub fn mapping_of(&self, name: &str) -> Option<Mapping> {
        self.websites
            .values()
            .flat_map(|w| &w.domains)
            .find(|m| m.domain == name)
            .cloned()
    }

    fn mapping(&mut self, name: &str, kind: &str) -> Mapping {
        self.next_id += 1;
        Mapping {
            id: format!(
                "{:08x}-7d3e-4b1a-9c2f-{:012x}",
                0x5b0c_1e9e_u64 + self.next_id,
                self.next_id
            ),
            domain: name.into(),
            kind: kind.into(),
            certificate: false,
            certificates_issued: 0,
        }
    }

    fn error(&self, status: u16, code: &str, message: &str) -> Response {
        if self.empty_errors {
            return Response {
                status,
                headers: vec![],
                body: vec![],
            };
        }
        Response::json(status, &json!({ "code": code, "message": message }))
    }

    fn holder(&self, name: &str) -> Option<(String, String)> {
        self.websites
            .iter()
            .find(|(_, w)| w.domains.iter().any(|m| m.domain == name))
            .map(|(id, w)| (id.clone(), w.org.clone()))
    }

    fn route(&mut self, request: &Request) -> Response {
        let Some(rest) = request.path.strip_prefix("/api/") else {
            return self.error(404, "notFound", "Not found");
        };
        if request.header("authorization") != Some(format!("Bearer {}", self.token).as_str()) {
            return self.error(401, "unauthorized", "Invalid session");
        }
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let method = request.method.as_str();
        match (method, segments.as_slice()) {
            ("POST", ["orgs", org, "domains", "check"]) => {
                let name = request
                    .json()
                    .ok()
                    .and_then(|b| b["domain"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let status = if self.prohibited.contains(&name) {
                    json!({"status": "prohibited"})
                } else if self.deleted_site_names.contains(&name) {
                    json!({"status": "inUseDeletedSite"})
                } else {
                    match self.holder(&name) {
                        Some((website, o)) if o == *org => {
                            json!({"status": "inUseCurrentOrg", "websiteId": website})
                        }
                        Some(_) => json!({"status": "inUseAnotherOrg"}),
                        None => json!({"status": "notInUse"}),
                    }
                };
                Response::json(200, &status)
            }
            (_, ["orgs", org, "websites", website, tail @ ..]) => {
                if self.forbidden_orgs.iter().any(|o| o == org) {
                    return self.error(403, "forbidden", "Insufficient privileges");
                }
                match self.websites.get(*website) {
                    Some(w) if w.org == *org => {}
                    _ => return self.error(404, "notFound", "Not found"),
                }
                self.website_route(method, website, tail, request)
            }
            ("POST", ["v2", "domains", id, action]) => {
                let Some((website, index)) = self.find_id(id) else {
                    return self.error(404, "notFound", "Not found");
                };
                let name = self.websites[&website].domains[index].domain.clone();
                let blocked = self.le_blocked.get(&name).cloned();
                match *action {
                    "letsencrypt_preflight" => Response::json(
                        200,
                        &match blocked {
                            Some(why) => json!({"canIssue": false, "error": why}),
                            None => json!({"canIssue": true}),
                        },
                    ),
                    "letsencrypt" => match blocked {
                        Some(why) => self.error(400, "invalidInput", &why),
                        None => {
                            let m = &mut self.websites.get_mut(&website).unwrap().domains[index];
                            m.certificate = true;
                            m.certificates_issued += 1;
                            Response {
                                status: 201,
                                headers: vec![("content-type".into(), "application/json".into())],
                                body: br#""SSL Certs successfully created""#.to_vec(),
                            }
                        }
                    },
                    _ => self.error(404, "notFound", "Not found"),
                }
            }
            _ => self.error(404, "notFound", "Not found"),
        }
    }

    fn find_id(&self, id: &str) -> Option<(String, usize)> {
        self.websites.iter().find_map(|(w, site)| {
            site.domains
                .iter()
                .position(|m| m.id == id)
                .map(|i| (w.clone(), i))
        })
    }

    fn website_route(
        &mut self,
        method: &str,
        website: &str,
        tail: &[&str],
        request: &Request,
    ) -> Response {
        match (method, tail) {
            ("GET", []) => {
                let w = &self.websites[website];
                let primary = w.domains.iter().find(|m| m.kind == "primary");
                Response::json(
                    200,
                    &json!({
                        "id": website, "orgId": w.org, "status": "active", "kind": "normal",
                        "domain": primary.map(|m| json!({"id": m.id, "domain": m.domain})),
                        "aliases": w.domains.iter().filter(|m| m.kind == "alias").map(|m| json!({"id": m.id, "domain": m.domain})).collect::<Vec<_>>(),
                        "subdomains": [], "createdAt": "2025-01-01T00:00:00Z"
                    }),
                )
            }
            ("GET", ["domains"]) => {
                // `withSsl` (OpenAPI `getWebsiteDomainMappings`; SDK `DomainsApi.php`
                // `getWebsiteDomainMappingsRequest`), a form-style boolean.
                let with_ssl = request.query_param("withSsl").as_deref() == Some("true");
                let placeholder = self.placeholder_certs;
                let items: Vec<Value> = self.websites[website]
                    .domains
                    .iter()
                    .map(|m| {
                        let mut item = json!({
                            "domainId": m.id, "websiteId": website, "domain": m.domain,
                            "mappingKind": m.kind, "documentRoot": "/var/www/public_html",
                            "cloudflareStatus": null
                        });
                        if with_ssl && m.certificate {
                            item["cert"] = json!({
                                "cn": m.domain, "issued": "2026-11-21T03:57:43Z",
                                "expires": "2027-02-19T03:57:43Z", "issuer": "R11",
                                "sans": [m.domain], "forceHttps": false
                            });
                        } else if with_ssl && placeholder {
                            item["cert"] = json!({
                                "cn": m.domain, "issued": "2026-11-01T00:00:00Z",
                                "expires": "2036-10-30T00:00:00Z", "issuer": m.domain,
                                "sans": [m.domain], "forceHttps": false
                            });
                        }
                        item
                    })
                    .collect();
                Response::json(200, &json!({ "items": items }))
            }
            ("POST", ["domains"]) => {
                let Ok(body) = request.json() else {
                    return self.error(400, "invalidInput", "Invalid input");
                };
                let name = body["domain"].as_str().unwrap_or("").to_ascii_lowercase();
                if !crate::serverpilot::valid_hostname(&name) {
                    return self.error(400, "invalidInput", "Invalid domain name");
                }
                let kind = body["kind"].as_str().unwrap_or("alias").to_string();
                if !["primary", "preview", "addon", "alias", "subdomain"].contains(&kind.as_str()) {
                    return self.error(400, "invalidInput", "Invalid mapping kind");
                }
                if self.prohibited.contains(&name) {
                    return self.error(400, "prohibited", "Domain is prohibited");
                }
                if self.holder(&name).is_some() || self.deleted_site_names.contains(&name) {
                    let status = self.duplicate_status;
                    return self.error(status, "alreadyExists", "Domain is already in use");
                }
                let mapping = self.mapping(&name, &kind);
                let id = mapping.id.clone();
                self.websites
                    .get_mut(website)
                    .unwrap()
                    .domains
                    .push(mapping);
                Response::json(201, &json!({ "id": id }))
            }
            ("DELETE", ["domains", id]) => {
                let domains = &mut self.websites.get_mut(website).unwrap().domains;
                match domains.iter().position(|m| m.id == *id) {
                    Some(i) if domains[i].kind == "primary" => {
                        self.error(400, "invalidInput", "Cannot delete the primary domain")
                    }
                    Some(i) => {
                        domains.remove(i);
                        Response {
                            status: 204,
                            headers: vec![],
                            body: vec![],
                        }
                    }
                    None => self.error(404, "notFound", "Not found"),
                }
            }
            _ => self.error(404, "notFound", "Not found"),
        }
    }
}

impl Panel for Enhance {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        let websites: Vec<Value> = self
            .websites
            .iter()
            .map(|(id, w)| {
                json!({"id": id, "org": w.org,
                       "domains": w.domains.iter().map(|m| json!({"domainId": m.id, "domain": m.domain, "kind": m.kind, "certificate": m.certificate})).collect::<Vec<_>>()})
            })
            .collect();
        json!({ "panel": "enhance", "websites": websites })
    }
}
