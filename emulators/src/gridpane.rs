//! GridPane (`panel-apis-b.md` §2): the documented "oauth" API from GridPane's Postman
//! collection, and the legacy form route the PHP plugin calls.
//!
//! - `/oauth/api/v1/*` needs `Authorization: Bearer <token>`; otherwise 401
//!   `{"message": "Unauthenticated."}` (Laravel Passport's words; unverified).
//! - `GET /user`; `GET /site` and `GET /domain` are Laravel paginators (`per_page` default
//!   15, at most 500; `{data, links, meta}`); `GET /domain/{id}`.
//! - `POST /domain` validates like Laravel (422 `{message, errors}`): `domain_url` (a host
//!   name, unique: "The domain url has already been taken."), `site_id` and `server_id`
//!   (integers of an existing site on that server: "The selected site id is invalid."),
//!   `type` (alias or redirect), `dns_management` (`dns_integration_id` required unless
//!   `none_none`). Success status (200 or 201) and body (the domain, or none) are not
//!   documented: `create_status` and `create_echoes` choose.
//! - `PUT /domain/{id}` takes exactly one operation; `{"ssl": true}` sets `is_ssl` and
//!   `ssl_status: "pending"`, which becomes `"succeed"` (or `"failed"` for names in
//!   `failing`) after `reads_to_issue` reads of `GET /domain/{id}`.
//! - `DELETE /domain/{id}` → 200 (unknown → 404; the site's primary → 422).
//! - `login_page`: every API answer is GridPane's HTML login page with HTTP 200 (what a
//!   Laravel app answers a request it bounces to `/login`): an error inside a 200.
//! - Legacy `POST /api/application/{add,delete}-domain` (form `api_token`, `server_ip`,
//!   `site_url`, `domain_url`): a wrong token → 403 "This action is unauthorized."; kept so
//!   tests can prove the component never calls it.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: u64,
    pub url: String,
    pub server_id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: u64,
    pub url: String,
    pub kind: String,
    pub route: String,
    pub is_ssl: bool,
    pub ssl_status: Option<String>,
    pub site_id: u64,
    pub server_id: u64,
    /// Single reads since SSL was turned on.
    pub reads: u32,
}

#[derive(Debug, Clone)]
pub struct GridPane {
    pub token: String,
    pub sites: Vec<Site>,
    pub domains: Vec<Domain>,
    pub reads_to_issue: u32,
    pub failing: BTreeSet<String>,
    pub create_status: u16,
    pub create_echoes: bool,
    pub login_page: bool,
    /// Requests to the legacy form routes.
    pub legacy_calls: u32,
    next_id: u64,
}

impl GridPane {
    /// One site `site` on `server`, whose primary domain is `primary`.
    pub fn new(token: &str, server: u64, site: u64, primary: &str) -> Self {
        let mut panel = GridPane {
            token: token.into(),
            sites: vec![],
            domains: vec![],
            reads_to_issue: 2,
            failing: BTreeSet::new(),
            create_status: 201,
            create_echoes: true,
            login_page: false,
            legacy_calls: 0,
            next_id: 540_000,
        };
        panel.add_site(site, server, primary);
        panel
    }

    /// Another site of the account, with its primary domain.
    pub fn add_site(&mut self, site: u64, server: u64, primary: &str) {
        self.sites.push(Site {
            id: site,
            url: primary.into(),
            server_id: server,
        });
        let mut d = self.domain(primary, site, server, "primary");
        d.is_ssl = true;
        d.ssl_status = Some("succeed".into());
        self.domains.push(d);
    }

    /// Alias domains added directly (test set-up), certificates issued.
    pub fn seed(&mut self, site: u64, names: &[String]) {
        let server = self.sites.iter().find(|s| s.id == site).unwrap().server_id;
        for name in names {
            let d = self.domain(name, site, server, "alias");
            self.domains.push(d);
        }
    }

    /// The alias names of a site, sorted.
    pub fn names(&self, site: u64) -> Vec<String> {
        let mut names: Vec<String> = self
            .domains
            .iter()
            .filter(|d| d.site_id == site && d.kind != "primary")
            .map(|d| d.url.clone())
            .collect();
        names.sort();
        names
    }

    pub fn named(&self, url: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.url == url)
    }

    fn domain(&mut self, url: &str, site: u64, server: u64, kind: &str) -> Domain {
        self.next_id += 1;
        Domain {
            id: self.next_id,
            url: url.into(),
            kind: kind.into(),
            route: "none".into(),
            is_ssl: false,
            ssl_status: None,
            site_id: site,
            server_id: server,
            reads: 0,
        }
    }

    fn legacy(&mut self, request: &Request) -> Response {
        self.legacy_calls += 1;
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let token = body
            .split('&')
            .find_map(|p| p.strip_prefix("api_token="))
            .unwrap_or("");
        if token != self.token {
            return message(403, "This action is unauthorized.");
        }
        message(200, "ok")
    }

    fn route(&mut self, request: &Request) -> Response {
        if request.path.starts_with("/api/application/") && request.method == "POST" {
            // §2.1 legacy routes (UMP §6.6; 403 text is Laravel's default, status unverified).
            return self.legacy(request);
        }
        let Some(rest) = request.path.strip_prefix("/oauth/api/v1/") else {
            return message(404, "Not Found");
        };
        let bearer = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "));
        // §2.2: Bearer personal access token ([DOC] GP-PM, [CODE] GP-SDK); the 401 body is
        // Passport's default (unverified; the component reads only the status).
        if bearer != Some(self.token.as_str()) {
            return message(401, "Unauthenticated.");
        }
        // Unverified: an HTML page inside a 200, as a Laravel app's redirect to `/login`
        // ends; the component refuses any non-JSON 200.
        if self.login_page {
            return Response {
                status: 200,
                headers: vec![("content-type".into(), "text/html; charset=UTF-8".into())],
                body: b"<!DOCTYPE html><html><head><title>Login | GridPane</title></head>\
                        <body><form action=\"/login\"></form></body></html>"
                    .to_vec(),
            };
        }
        let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            // §2.2 test connection: `GET /user` ([CODE] GP-CLI `_gp_test_token`).
            ("GET", ["user"]) => Response::json(
                200,
                &json!({"id": 1356, "name": "Network Owner", "email": "owner@network.example"}),
            ),
            ("GET", ["site"]) => {
                let items: Vec<Value> = self
                    .sites
                    .iter()
                    .map(|s| json!({"id": s.id, "url": s.url, "server_id": s.server_id}))
                    .collect();
                paginate(request, "site", items)
            }
            // §2.2 Laravel paginator, per_page default 15, max 500 ([FIELD] GP-DJ).
            ("GET", ["domain"]) => {
                let items: Vec<Value> = self.domains.iter().map(domain_json).collect();
                paginate(request, "domain", items)
            }
            ("GET", ["domain", id]) => self.read_one(id),
            // §2.2 `POST /domain` fields ([DOC] GP-PM); 422 `{message, errors}` ([CODE] GP-CLI
            // site add); success status and body unverified: both served (`create_status`,
            // `create_echoes`). `PUT` one operation each ([DOC] GP-PM), SSL async ([FIELD]).
            ("POST", ["domain"]) => self.create(request),
            ("PUT", ["domain", id]) => self.update(id, request),
            // §2.2 `DELETE /domain/{id}` ([DOC] GP-PM; answer undocumented, 200 assumed; the
            // unknown-id 404 text is Laravel's `ModelNotFoundException`, unverified).
            ("DELETE", ["domain", id]) => {
                let Some(i) = self.position(id) else {
                    return message(404, "No query results for model [App\\Domain].");
                };
                if self.domains[i].kind == "primary" {
                    return invalid("domain", "The primary domain cannot be deleted.");
                }
                self.domains.remove(i);
                message(200, "Domain deleted successfully")
            }
            _ => message(404, "Not Found"),
        }
    }

    fn position(&self, id: &str) -> Option<usize> {
        let id: u64 = id.parse().ok()?;
        self.domains.iter().position(|d| d.id == id)
    }

    fn read_one(&mut self, id: &str) -> Response {
        let Some(i) = self.position(id) else {
            return message(404, "No query results for model [App\\Domain].");
        };
        let reads_to_issue = self.reads_to_issue;
        let failing = self.failing.contains(&self.domains[i].url);
        let d = &mut self.domains[i];
        if d.ssl_status.as_deref() == Some("pending") {
            d.reads += 1;
            if d.reads >= reads_to_issue {
                d.ssl_status = Some(if failing { "failed" } else { "succeed" }.into());
            }
        }
        Response::json(200, &json!({ "data": domain_json(d) }))
    }

    fn create(&mut self, request: &Request) -> Response {
        let Ok(body) = request.json() else {
            return invalid("domain_url", "The domain url field is required.");
        };
        let Some(url) = body["domain_url"].as_str().map(str::to_ascii_lowercase) else {
            return invalid("domain_url", "The domain url field is required.");
        };
        if !crate::serverpilot::valid_hostname(&url) {
            return invalid("domain_url", "The domain url format is invalid.");
        }
        let (Some(site_id), Some(server_id)) =
            (body["site_id"].as_u64(), body["server_id"].as_u64())
        else {
            return invalid("site_id", "The site id must be an integer.");
        };
        if !self
            .sites
            .iter()
            .any(|s| s.id == site_id && s.server_id == server_id)
        {
            return invalid("site_id", "The selected site id is invalid.");
        }
        let kind = body["type"].as_str().unwrap_or("");
        if !matches!(kind, "alias" | "redirect") {
            return invalid("type", "The selected type is invalid.");
        }
        let dns = body["dns_management"].as_str().unwrap_or("");
        if !matches!(
            dns,
            "none_none"
                | "cloudflare_full"
                | "cloudflare_challenge"
                | "dnsme_full"
                | "dnsme_challenge"
        ) {
            return invalid("dns_management", "The selected dns management is invalid.");
        }
        if dns != "none_none" && body["dns_integration_id"].as_u64().is_none() {
            return invalid(
                "dns_integration_id",
                "The dns integration id field is required unless dns management is in none_none.",
            );
        }
        if self.domains.iter().any(|d| d.url == url) {
            return invalid("domain_url", "The domain url has already been taken.");
        }
        let d = self.domain(&url, site_id, server_id, kind);
        let echoed = domain_json(&d);
        self.domains.push(d);
        if self.create_echoes {
            Response::json(self.create_status, &json!({ "data": echoed }))
        } else {
            Response {
                status: self.create_status,
                headers: vec![],
                body: vec![],
            }
        }
    }

    fn update(&mut self, id: &str, request: &Request) -> Response {
        let Some(i) = self.position(id) else {
            return message(404, "No query results for model [App\\Domain].");
        };
        let body = request.json().unwrap_or(Value::Null);
        let Some(fields) = body.as_object() else {
            return invalid("ssl", "One operation is required.");
        };
        let known = ["ssl", "routing", "wildcard", "switch_to_primary_type"];
        if fields.len() != 1 || !fields.keys().all(|k| known.contains(&k.as_str())) {
            return invalid(
                "ssl",
                "Exactly one of ssl, routing, wildcard, switch_to_primary_type is accepted.",
            );
        }
        let d = &mut self.domains[i];
        if let Some(ssl) = fields.get("ssl") {
            let Some(on) = ssl.as_bool() else {
                return invalid("ssl", "The ssl field must be true or false.");
            };
            d.is_ssl = on;
            d.ssl_status = on.then(|| "pending".to_string());
            d.reads = 0;
        } else if let Some(routing) = fields.get("routing").and_then(Value::as_str) {
            d.route = routing.into();
        }
        message(200, "Domain updated successfully")
    }
}

impl Panel for GridPane {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({ "panel": "gridpane",
                "sites": self.sites.iter().map(|s| json!({"id": s.id, "url": s.url, "server_id": s.server_id})).collect::<Vec<_>>(),
                "domains": self.domains.iter().map(domain_json).collect::<Vec<_>>(),
                "legacy_calls": self.legacy_calls })
    }
}

fn paginate(request: &Request, path: &str, items: Vec<Value>) -> Response {
    let per_page = match request.query_param("per_page").map(|v| v.parse::<usize>()) {
        None => 15,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        _ => return invalid("per_page", "The per page must be between 1 and 500."),
    };
    let page = match request.query_param("page").map(|v| v.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        _ => return invalid("page", "The page must be at least 1."),
    };
    let total = items.len();
    let last_page = total.div_ceil(per_page).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let base = format!("https://my.gridpane.com/oauth/api/v1/{path}");
    let link = |p: usize| json!(format!("{base}?page={p}"));
    let from = if data.is_empty() {
        Value::Null
    } else {
        json!((page - 1) * per_page + 1)
    };
    let to = if data.is_empty() {
        Value::Null
    } else {
        json!((page - 1) * per_page + data.len())
    };
    Response::json(
        200,
        &json!({
            "data": data,
            "links": {"first": link(1), "last": link(last_page),
                      "prev": if page > 1 { link(page - 1) } else { Value::Null },
                      "next": if page < last_page { link(page + 1) } else { Value::Null }},
            "meta": {"current_page": page, "from": from, "last_page": last_page, "path": base,
                     "per_page": per_page, "to": to, "total": total},
        }),
    )
}

fn domain_json(d: &Domain) -> Value {
    json!({ "id": d.id, "url": d.url, "route": d.route, "type": d.kind,
            "dns_management_id": null, "is_ssl": d.is_ssl, "ssl_status": d.ssl_status,
            "site_id": d.site_id, "user_id": 1356, "server_id": d.server_id,
            "is_wildcard": false, "status": null, "deleted_at": null,
            "user_dns": {"id": 0, "integration_name": "none", "provider": {"id": 0, "name": "none"}} })
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

fn invalid(field: &str, text: &str) -> Response {
    Response::json(
        422,
        &json!({ "message": text, "errors": { field: [text] } }),
    )
}
