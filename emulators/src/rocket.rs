//! Rocket.net API v1 (`panel-apis-b.md` §3), as its documentation and a live test of it
//! describe it.
//!
//! - `POST /v1/login` `{"username", "password"}` → 200 `{"token": "<jwt>"}` bare, or with
//!   `login_wrapped` inside the envelope `{success, errors, messages, result: {token}}`.
//!   Unverified: both shapes served. The login page and fastmcp-rocketnet `auth.py` read
//!   `token` at the root; every other answer is wrapped (`panel-apis-b.md` §3.1, RK-TEST)
//!   and upstream UM's test accepts `token`, `access_token`, `result.token` and
//!   `result.access_token` (§3.2, RK-UMT). Missing fields → 400 "Invalid or missing request
//!   parameters"; wrong → 401 "Authentication failed". `POST /v1/auth/login` (what the PHP
//!   plugin calls) → 404.
//! - Everything else needs `Authorization: Bearer <token>`; an unknown or expired token
//!   (`token_ttl`, 7 days by default) → 401.
//! - Every answer is the envelope `{"success", "errors", "messages", ["metadata"],
//!   "result"}`; errors carry `success: false` and `errors: [{"code", "message"}]`. With
//!   `errors_in_200`, refusals of a write come as HTTP 200 with `success: false` (the real
//!   API's error bodies were not recorded, only its statuses).
//! - `/v1/sites/{id}/...` for an unknown site → 404 "Given site not found for user"; a site
//!   of another user (`forbidden`) → 403 "Not authorized to access endpoint".
//! - `GET /sites/{id}/domains?page&per_page&search` (at most 100 a page, `metadata` with
//!   `total`, `page`, `per_page`); `POST` `{"domain"}` (garbage → 405 "Invalid input", a
//!   name on any site of the account → 400 "... already exists"); `DELETE .../{domain_id}`
//!   → 200 (unknown → 404).
//! - New domains start `hostname_status`/`ssl_status` "pending" and become "active" after
//!   `reads_to_active` reads of `GET /sites/{id}/maindomain/status` (or "failed" for names
//!   in `failing`). That answer's layout is not documented: `StatusShape` offers two.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: u64,
    pub domain: String,
    pub hostname_status: String,
    pub ssl_status: String,
    /// Status reads seen since it was added.
    pub reads: u32,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub main_domain: String,
    pub domains: Vec<Domain>,
    /// Belongs to another user: 403.
    pub forbidden: bool,
}

/// Layouts of `GET maindomain/status` (undocumented beyond its description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusShape {
    /// `{domain, ssl_status, ..., alternate_domains: [], additional_domains: [...]}`.
    Nested,
    /// A list of `{hostname, hostname_status, ssl_status}`, main domain first.
    Flat,
}

#[derive(Debug, Clone)]
pub struct Rocket {
    pub username: String,
    pub password: String,
    pub sites: BTreeMap<u64, Site>,
    tokens: Vec<(String, Instant)>,
    pub token_ttl: Duration,
    pub logins: u32,
    pub login_wrapped: bool,
    pub errors_in_200: bool,
    pub reads_to_active: u32,
    pub failing: BTreeSet<String>,
    pub status_shape: StatusShape,
    next_id: u64,
}

impl Rocket {
    /// One site, `site`, whose main domain is `main`.
    pub fn new(username: &str, password: &str, site: u64, main: &str) -> Self {
        let mut sites = BTreeMap::new();
        sites.insert(
            site,
            Site {
                main_domain: main.into(),
                domains: vec![],
                forbidden: false,
            },
        );
        Rocket {
            username: username.into(),
            password: password.into(),
            sites,
            tokens: vec![],
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            logins: 0,
            login_wrapped: false,
            errors_in_200: false,
            reads_to_active: 2,
            failing: BTreeSet::new(),
            status_shape: StatusShape::Nested,
            next_id: 5000,
        }
    }

    pub fn site(&self, id: u64) -> &Site {
        &self.sites[&id]
    }

    pub fn site_mut(&mut self, id: u64) -> &mut Site {
        self.sites.get_mut(&id).expect("no such site")
    }

    /// Adds another site of the same account (it may hold names).
    pub fn add_site(&mut self, id: u64, main: &str, names: &[&str]) {
        let domains = names.iter().map(|n| self.domain(n)).collect();
        self.sites.insert(
            id,
            Site {
                main_domain: main.into(),
                domains,
                forbidden: false,
            },
        );
    }

    /// Adds additional domains directly (test set-up), already active.
    pub fn seed(&mut self, site: u64, names: &[String]) {
        let new: Vec<Domain> = names
            .iter()
            .map(|n| {
                let mut d = self.domain(n);
                d.hostname_status = "active".into();
                d.ssl_status = "active".into();
                d
            })
            .collect();
        self.site_mut(site).domains.extend(new);
    }

    /// Forgets every token (they expired early).
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    pub fn names(&self, site: u64) -> Vec<String> {
        let mut names: Vec<String> = self.sites[&site]
            .domains
            .iter()
            .map(|d| d.domain.clone())
            .collect();
        names.sort();
        names
    }

    fn domain(&mut self, name: &str) -> Domain {
        self.next_id += 1;
        Domain {
            id: self.next_id,
            domain: name.into(),
            hostname_status: "pending".into(),
            ssl_status: "pending".into(),
            reads: 0,
        }
    }

    fn login(&mut self, request: &Request) -> Response {
        let body: Value = request.json().unwrap_or(Value::Null);
        let (Some(user), Some(password)) = (body["username"].as_str(), body["password"].as_str())
        else {
            return failure(400, "Invalid or missing request parameters");
        };
        if user != self.username || password != self.password {
            return failure(401, "Authentication failed");
        }
        self.logins += 1;
        let token = format!("eyJhbGciOiJIUzI1NiJ9.rocket-{}.sig", self.logins);
        self.tokens.push((token.clone(), Instant::now()));
        // Unverified: both shapes served (panel-apis-b.md §3.1-3.2).
        if self.login_wrapped {
            ok(json!({ "token": token }))
        } else {
            Response::json(200, &json!({ "token": token }))
        }
    }

    fn authenticated(&self, request: &Request) -> bool {
        let Some(token) = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.tokens
            .iter()
            .any(|(t, issued)| t == token && issued.elapsed() < self.token_ttl)
    }

    fn refuse(&self, status: u16, message: &str) -> Response {
        if self.errors_in_200 {
            failure(200, message)
        } else {
            failure(status, message)
        }
    }

    fn route(&mut self, request: &Request) -> Response {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let method = request.method.as_str();
        match (method, segments.as_slice()) {
            ("POST", ["v1", "login"]) => return self.login(request),
            (_, ["v1", "auth", "login"]) => return failure(404, "Not Found"),
            _ => {}
        }
        if !self.authenticated(request) {
            return failure(401, "Authentication failed");
        }
        let ["v1", "sites", site, rest @ ..] = segments.as_slice() else {
            return failure(404, "Not Found");
        };
        let Some(site_id) = site
            .parse::<u64>()
            .ok()
            .filter(|s| self.sites.contains_key(s))
        else {
            return failure(404, "Given site not found for user");
        };
        if self.sites[&site_id].forbidden {
            return failure(403, "Not authorized to access endpoint");
        }
        match (method, rest) {
            ("GET", []) => {
                let site = &self.sites[&site_id];
                ok(
                    json!({ "id": site_id, "name": "network", "domain": site.main_domain,
                           "status": "active", "location": 12 }),
                )
            }
            ("GET", ["domains"]) => self.list(site_id, request),
            ("POST", ["domains"]) => self.create(site_id, request),
            ("DELETE", ["domains", id]) => {
                let site = self.site_mut(site_id);
                match site
                    .domains
                    .iter()
                    .position(|d| id.parse::<u64>().ok() == Some(d.id))
                {
                    Some(i) => {
                        site.domains.remove(i);
                        ok(json!([]))
                    }
                    None => failure(404, "Domain not found"),
                }
            }
            ("GET", ["maindomain", "status"]) => self.status(site_id),
            _ => failure(404, "Not Found"),
        }
    }

    fn list(&self, site_id: u64, request: &Request) -> Response {
        let page = match request.query_param("page").map(|v| v.parse::<usize>()) {
            None => 1,
            Some(Ok(n)) if n >= 1 => n,
            _ => return failure(400, "Invalid or missing request parameters"),
        };
        let per_page = match request.query_param("per_page").map(|v| v.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            _ => return failure(400, "Invalid or missing request parameters"),
        };
        let search = request.query_param("search").unwrap_or_default();
        let all: Vec<&Domain> = self.sites[&site_id]
            .domains
            .iter()
            .filter(|d| d.domain.contains(&search))
            .collect();
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|d| domain_json(d))
            .collect();
        Response::json(
            200,
            &json!({ "success": true, "errors": [], "messages": [],
                     "metadata": { "total": all.len(), "page": page, "per_page": per_page },
                     "result": items }),
        )
    }

    fn create(&mut self, site_id: u64, request: &Request) -> Response {
        let body: Value = match request.json() {
            Ok(v) => v,
            Err(_) => return self.refuse(400, "Invalid or missing request parameters"),
        };
        let Some(name) = body["domain"].as_str() else {
            return self.refuse(400, "Invalid or missing request parameters");
        };
        let name = name.to_ascii_lowercase();
        if !crate::serverpilot::valid_hostname(&name) {
            return self.refuse(405, "Invalid input");
        }
        let taken = self
            .sites
            .values()
            .any(|s| s.main_domain == name || s.domains.iter().any(|d| d.domain == name));
        if taken {
            return self.refuse(400, &format!("The domain {name} already exists"));
        }
        let domain = self.domain(&name);
        let body = domain_json(&domain);
        self.site_mut(site_id).domains.push(domain);
        ok(body)
    }

    fn status(&mut self, site_id: u64) -> Response {
        let reads_to_active = self.reads_to_active;
        let failing = self.failing.clone();
        let site = self.site_mut(site_id);
        for d in site.domains.iter_mut() {
            d.reads += 1;
            if d.ssl_status == "pending" && d.reads >= reads_to_active {
                if failing.contains(&d.domain) {
                    d.ssl_status = "failed".into();
                } else {
                    d.hostname_status = "active".into();
                    d.ssl_status = "active".into();
                }
            }
        }
        let site = &self.sites[&site_id];
        let entries: Vec<Value> = site
            .domains
            .iter()
            .map(|d| {
                json!({ "domain": d.domain, "hostname_status": d.hostname_status,
                        "ssl_status": d.ssl_status, "validation_method": "http" })
            })
            .collect();
        match self.status_shape {
            StatusShape::Nested => ok(json!({
                "domain": site.main_domain, "status": "active", "ssl_status": "active",
                "alternate_domains": [], "additional_domains": entries,
            })),
            StatusShape::Flat => {
                let mut list = vec![json!({ "hostname": site.main_domain,
                    "hostname_status": "active", "ssl_status": "active" })];
                list.extend(site.domains.iter().map(|d| {
                    json!({ "hostname": d.domain, "hostname_status": d.hostname_status,
                            "ssl_status": d.ssl_status })
                }));
                ok(json!(list))
            }
        }
    }
}

impl Panel for Rocket {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        let sites: Vec<Value> = self
            .sites
            .iter()
            .map(|(id, s)| {
                json!({ "id": id, "main_domain": s.main_domain,
                        "domains": s.domains.iter().map(domain_json).collect::<Vec<_>>() })
            })
            .collect();
        json!({ "panel": "rocket", "sites": sites, "logins": self.logins })
    }
}

fn domain_json(d: &Domain) -> Value {
    json!({ "id": d.id, "domain": d.domain, "domain_type": "additional",
            "hostname_status": d.hostname_status, "ssl_status": d.ssl_status,
            "validation_method": "http", "redirect_to_primary": false })
}

fn ok(result: Value) -> Response {
    Response::json(
        200,
        &json!({ "success": true, "errors": [], "messages": [], "result": result }),
    )
}

fn failure(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({ "success": false, "errors": [{ "code": status, "message": message }],
                 "messages": [], "result": null }),
    )
}
