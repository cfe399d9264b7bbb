//! RunCloud API v2 and v3 (`provider-apis.md` Part 2), under one router.
//!
//! - `/api/v3/...` takes `Authorization: Bearer <token>`; `/api/v2/...` takes Basic
//!   `key:secret` (legacy personal space) or Bearer (workspace). Failure: 401
//!   `{"message":"Invalid credentials."}` (Basic) or `{"message":"Unauthenticated."}`.
//! - Single resources come back bare; lists as `{"data":[...],"meta":{"pagination":{...}}}`
//!   with `page` and `perPage` (at most 40; default 20 on v3, 15 on v2) and `data: []` past
//!   the last page.
//! - Laravel-style 422s: `{"message":"The given data was invalid.","errors":{field:[...]}}`;
//!   JSON and form bodies are both accepted.
//! - `X-RateLimit-Limit` / `X-RateLimit-Remaining` on every answer; over budget → 429 with
//!   `Retry-After`.
//! - SSL, basic mode (one certificate per web app): `GET ssl` (404 `{"message":"SSL not
//!   installed!"}` when none) and `PUT ssl/{id}` to redeploy, on v2 and v3 (the official v3
//!   SDK's routes). `GET ssl/advanced` tells the mode (`advancedSSL`, `autoSSL`) and, as the
//!   PHP plugin reads it, `sslCertificate`; the plugin's `PATCH ssl/advanced/{id}/redeploy`
//!   is unverified, so each redeploy route can be switched off (`basic_redeploy_route`,
//!   `plugin_redeploy_route`). A redeploy freezes the names the certificate covers.
//! - SSL, advanced mode (one certificate per domain): `GET/POST domains/{id}/ssl`,
//!   `PUT domains/{id}/ssl/{sslId}` to redeploy.
//! - Domain names are unique per server: a name another web application holds is a 422
//!   "already taken" too. v3 `PATCH domains/{id}/meta` changes `www`, `redirection`, `type`.
//! - `omit_meta` answers lists without `meta`, as leaner v2 answers do.

use crate::server::{Panel, Request, Response, basic_credentials};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: u64,
    pub name: String,
    pub www: bool,
    pub redirection: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub id: u64,
    /// The names the certificate covers, as of its last issue or redeploy.
    pub covered: Vec<String>,
    pub redeploys: u32,
}

#[derive(Debug, Clone)]
pub struct WebApp {
    pub domains: Vec<Domain>,
    pub certificate: Option<Certificate>,
    /// Advanced SSL: one certificate per domain (by domain id).
    pub advanced: bool,
    pub domain_certificates: BTreeMap<u64, Certificate>,
}

#[derive(Debug, Clone)]
pub struct RunCloud {
    pub token: String,
    pub api_key: String,
    pub api_secret: String,
    /// (server id, web app id) → web app.
    pub webapps: BTreeMap<(u64, u64), WebApp>,
    /// Requests allowed per window before 429 (`None`: unlimited).
    pub rate_limit: Option<u32>,
    /// The rate-limit window (Laravel's `throttle:60,1` is one minute).
    pub rate_window: std::time::Duration,
    pub rate_used: u32,
    window_started: std::time::Instant,
    next_id: u64,
    /// `PUT ssl/{id}` exists (the official SDK's basic redeploy).
    pub basic_redeploy_route: bool,
    /// `PATCH ssl/advanced/{id}/redeploy` exists (what the PHP plugin sends; unverified).
    pub plugin_redeploy_route: bool,
    /// Lists come without `meta` (leaner v2 answers).
    pub omit_meta: bool,
    /// Status of `GET ssl` when no certificate is installed: the body
    /// `{"message":"SSL not installed!"}` is what clients test (§2.9, ANSIBLE, WPU-RC2), its
    /// status is unknown (unverified: both shapes served, 404 by default, 200 as an option).
    pub no_ssl_status: u16,
}

impl RunCloud {
    /// One server with one web application whose primary domain is `primary`, with a
    /// Let's Encrypt certificate installed.
    pub fn new(token: &str, key: &str, secret: &str, server: u64, app: u64, primary: &str) -> Self {
        let mut rc = RunCloud {
            token: token.into(),
            api_key: key.into(),
            api_secret: secret.into(),
            webapps: BTreeMap::new(),
            rate_limit: None,
            rate_window: std::time::Duration::from_secs(60),
            rate_used: 0,
            window_started: std::time::Instant::now(),
            next_id: 700,
            basic_redeploy_route: true,
            plugin_redeploy_route: true,
            omit_meta: false,
            no_ssl_status: 404,
        };
        let primary = rc.domain(primary, false, "none", "primary");
        rc.webapps.insert(
            (server, app),
            WebApp {
                domains: vec![primary.clone()],
                certificate: Some(Certificate {
                    id: 52,
                    covered: vec![primary.name],
                    redeploys: 0,
                }),
                advanced: false,
                domain_certificates: BTreeMap::new(),
            },
        );
        rc
    }

    /// Adds another web application on a server (it may hold names too).
    pub fn add_webapp(&mut self, server: u64, app: u64, names: &[&str]) {
        let domains = names
            .iter()
            .map(|n| self.domain(n, false, "none", "alias"))
            .collect();
        self.webapps.insert(
            (server, app),
            WebApp {
                domains,
                certificate: None,
                advanced: false,
                domain_certificates: BTreeMap::new(),
            },
        );
    }

    /// Allows `limit` requests per `window`, the window starting now.
    pub fn limit_rate(&mut self, limit: u32, window: std::time::Duration) {
        self.rate_limit = Some(limit);
        self.rate_window = window;
        self.rate_used = 0;
        self.window_started = std::time::Instant::now();
    }

    fn domain(&mut self, name: &str, www: bool, redirection: &str, kind: &str) -> Domain {
        self.next_id += 1;
        Domain {
            id: self.next_id,
            name: name.into(),
            www,
            redirection: redirection.into(),
            kind: kind.into(),
        }
    }

    pub fn webapp(&self, server: u64, app: u64) -> &WebApp {
        &self.webapps[&(server, app)]
    }

    pub fn webapp_mut(&mut self, server: u64, app: u64) -> &mut WebApp {
        self.webapps
            .get_mut(&(server, app))
            .expect("no such web app")
    }

    /// Adds alias domains directly (test set-up).
    pub fn seed(&mut self, server: u64, app: u64, names: &[String]) {
        let new: Vec<Domain> = names
            .iter()
            .map(|n| self.domain(n, false, "none", "alias"))
            .collect();
        self.webapp_mut(server, app).domains.extend(new);
    }

    /// §2.3: 401; v2 Basic answers `{"message":"Invalid credentials."}` ([CODE] RAYCAST);
    /// the Bearer failure text "Unauthenticated." is Laravel's default (unverified; the
    /// component reads only the status).
    fn authenticate(&self, version: &str, request: &Request) -> Result<(), Response> {
        let header = request.header("authorization").unwrap_or("");
        if let Some(token) = header.strip_prefix("Bearer ") {
            return if token == self.token {
                Ok(())
            } else {
                Err(message(401, "Unauthenticated."))
            };
        }
        if version == "v2" {
            return match basic_credentials(request) {
                Some((key, secret)) if key == self.api_key && secret == self.api_secret => Ok(()),
                _ => Err(message(401, "Invalid credentials.")),
            };
        }
        Err(message(401, "Unauthenticated."))
    }

    fn route(&mut self, request: &Request) -> Response {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let ["api", version, rest @ ..] = segments.as_slice() else {
            return message(404, "Not found.");
        };
        let version = *version;
        if version != "v2" && version != "v3" {
            return message(404, "Not found.");
        }
        if let Err(denied) = self.authenticate(version, request) {
            return denied;
        }
        let method = request.method.as_str();
        match (method, rest) {
            ("GET", ["ping"]) => message(200, "pong"),
            (_, ["servers", server, "webapps", app, tail @ ..]) => {
                let key = match (server.parse::<u64>(), app.parse::<u64>()) {
                    (Ok(s), Ok(a)) if self.webapps.contains_key(&(s, a)) => (s, a),
                    _ => return message(404, "Not found."),
                };
                self.webapp_route(version, method, key, tail, request)
            }
            _ => message(404, "Not found."),
        }
    }

    fn webapp_route(
        &mut self,
        version: &str,
        method: &str,
        key: (u64, u64),
        tail: &[&str],
        request: &Request,
    ) -> Response {
        match (method, tail) {
            // §2.8 (RC-V3-8617111/8617112): list paged, create answers the domain object.
            ("GET", ["domains"]) => self.list_domains(version, key, request),
            ("POST", ["domains"]) => self.create_domain(key, request),
            ("PATCH", ["domains", id, "meta"]) if version == "v3" => {
                self.update_meta(key, id, request)
            }
            // §2.10 advanced mode (RC-SDK; install body and `{}` answers RC-V3-8811386,
            // redeploy RC-V2-9849816); "status >= 400 when none" ([CODE] ANSIBLE).
            ("GET", ["domains", id, "ssl"]) => match self.find_domain_id(key, id) {
                Some(domain_id) => match self.webapps[&key].domain_certificates.get(&domain_id) {
                    Some(cert) => Response::json(200, &certificate_json(cert)),
                    None => message(404, "SSL not installed!"),
                },
                None => message(404, "Not found."),
            },
            ("POST", ["domains", id, "ssl"]) => match self.find_domain_id(key, id) {
                Some(domain_id) => {
                    let name = self.domain_names_of(key, domain_id);
                    self.next_id += 1;
                    let cert = Certificate {
                        id: self.next_id,
                        covered: name,
                        redeploys: 0,
                    };
                    self.webapp_mut(key.0, key.1)
                        .domain_certificates
                        .insert(domain_id, cert);
                    Response::json(200, &json!({}))
                }
                None => message(404, "Not found."),
            },
            ("PUT", ["domains", id, "ssl", ssl_id]) => match self.find_domain_id(key, id) {
                Some(domain_id) => {
                    let names = self.domain_names_of(key, domain_id);
                    match self
                        .webapp_mut(key.0, key.1)
                        .domain_certificates
                        .get_mut(&domain_id)
                    {
                        Some(cert) if ssl_id.parse::<u64>().ok() == Some(cert.id) => {
                            cert.covered = names;
                            cert.redeploys += 1;
                            Response::json(200, &json!({}))
                        }
                        _ => message(404, "Not found."),
                    }
                }
                None => message(404, "Not found."),
            },
            ("GET", ["domains", id]) => match self.find(key, id) {
                Some(i) => Response::json(200, &domain_json(&self.webapps[&key].domains[i])),
                None => message(404, "Not found."),
            },
            // §2.8 (RC-V3-8617116): delete answers the deleted domain object.
            ("DELETE", ["domains", id]) => match self.find(key, id) {
                Some(i) => {
                    let removed = self.webapp_mut(key.0, key.1).domains.remove(i);
                    Response::json(200, &domain_json(&removed))
                }
                None => message(404, "Not found."),
            },
            // §2.9 basic mode (RC-SDK `get-basic-ssl-config`, `redeploy-basic-ssl` = PUT);
            // the SSL object's shape is assembled from client models ([CODE] ONHOVER).
            ("GET", ["ssl"]) => match &self.webapps[&key].certificate {
                Some(cert) => Response::json(200, &certificate_json(cert)),
                None => message(self.no_ssl_status, "SSL not installed!"),
            },
            ("PUT", ["ssl", id]) if self.basic_redeploy_route => self.redeploy(key, id),
            ("GET", ["ssl", "advanced"]) => {
                let app = &self.webapps[&key];
                let cert = app.certificate.as_ref().map(certificate_json);
                Response::json(
                    200,
                    &json!({ "advancedSSL": app.advanced, "autoSSL": false, "sslCertificate": cert }),
                )
            }
            ("PATCH", ["ssl", "advanced", id, "redeploy"]) if self.plugin_redeploy_route => {
                self.redeploy(key, id)
            }
            _ => message(404, "Not found."),
        }
    }

    fn find_domain_id(&self, key: (u64, u64), id: &str) -> Option<u64> {
        self.find(key, id).map(|i| self.webapps[&key].domains[i].id)
    }

    /// The names a certificate for one domain record covers.
    fn domain_names_of(&self, key: (u64, u64), domain_id: u64) -> Vec<String> {
        self.webapps[&key]
            .domains
            .iter()
            .filter(|d| d.id == domain_id)
            .flat_map(|d| {
                let mut names = vec![d.name.clone()];
                if d.www {
                    names.push(format!("www.{}", d.name));
                }
                names
            })
            .collect()
    }

    fn update_meta(&mut self, key: (u64, u64), id: &str, request: &Request) -> Response {
        let fields = match body_fields(request) {
            Ok(fields) => fields,
            Err(response) => return response,
        };
        let Some(index) = self.find(key, id) else {
            return message(404, "Not found.");
        };
        let www = match fields.get("www") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return invalid("www", "The www field must be true or false."),
        };
        let redirection = fields
            .get("redirection")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(r) = &redirection
            && !["none", "www", "non-www"].contains(&r.as_str())
        {
            return invalid("redirection", "The selected redirection is invalid.");
        }
        let domain = &mut self.webapp_mut(key.0, key.1).domains[index];
        if let Some(www) = www {
            domain.www = www;
        }
        if let Some(r) = redirection {
            domain.redirection = r;
        }
        message(200, "Domain settings have been successfully updated.")
    }

    fn find(&self, key: (u64, u64), id: &str) -> Option<usize> {
        let id: u64 = id.parse().ok()?;
        self.webapps[&key].domains.iter().position(|d| d.id == id)
    }

    /// §2.4: `page`/`perPage` (max 40, [DOC] RC-LEGACY), default 20 on v3 ([DOC]
    /// RC-V3-8617112) and 15 on v2 ([CODE] RAYCAST), `data: []` past the end.
    fn list_domains(&self, version: &str, key: (u64, u64), request: &Request) -> Response {
        let default = if version == "v3" { 20 } else { 15 };
        let per_page = match request.query_param("perPage") {
            None => default,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=40).contains(&n) => n,
                _ => return invalid("perPage", "The per page must be between 1 and 40."),
            },
        };
        let page = match request.query_param("page") {
            None => 1,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => return invalid("page", "The page must be at least 1."),
            },
        };
        let all = &self.webapps[&key].domains;
        let total_pages = all.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(domain_json)
            .collect();
        let mut links = serde_json::Map::new();
        if page < total_pages {
            links.insert(
                "next".into(),
                json!(format!(
                    "{}?page={}&perPage={per_page}",
                    request.path,
                    page + 1
                )),
            );
        }
        if page > 1 {
            links.insert(
                "previous".into(),
                json!(format!(
                    "{}?page={}&perPage={per_page}",
                    request.path,
                    page - 1
                )),
            );
        }
        if self.omit_meta {
            return Response::json(200, &json!({ "data": items }));
        }
        Response::json(
            200,
            &json!({ "data": items, "meta": { "pagination": {
                "total": all.len(), "count": items.len(), "per_page": per_page,
                "current_page": page, "total_pages": total_pages, "links": links
            }}}),
        )
    }

    /// §2.8: only `name` is required (WPU-RC2, ONHOVER post it alone); a duplicate is a 422
    /// with `errors.name` (unverified text: §2.3 "not found", Laravel's "has already been
    /// taken" assumed); JSON and form bodies both accepted (§2.2).
    fn create_domain(&mut self, key: (u64, u64), request: &Request) -> Response {
        let fields = match body_fields(request) {
            Ok(fields) => fields,
            Err(response) => return response,
        };
        let Some(name) = fields
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return invalid("name", "The name field is required.");
        };
        let name = name.to_ascii_lowercase();
        if !crate::serverpilot::valid_hostname(&name) {
            return invalid("name", "The name format is invalid.");
        }
        // Names are unique per server: nginx serves each from one web application.
        let taken = self
            .webapps
            .iter()
            .filter(|((server, _), _)| *server == key.0)
            .any(|(_, app)| app.domains.iter().any(|d| d.name == name));
        if taken {
            return invalid("name", "The name has already been taken.");
        }
        let www = match fields.get("www") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) if v == &json!(1) || v == &json!("1") || v == &json!("true") => true,
            Some(v) if v == &json!(0) || v == &json!("0") || v == &json!("false") => false,
            Some(_) => return invalid("www", "The www field must be true or false."),
        };
        let redirection = fields
            .get("redirection")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string();
        if !["none", "www", "non-www"].contains(&redirection.as_str()) {
            return invalid("redirection", "The selected redirection is invalid.");
        }
        let kind = fields
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("alias")
            .to_string();
        if !["alias", "redirect"].contains(&kind.as_str()) {
            return invalid("type", "The selected type is invalid.");
        }
        let domain = self.domain(&name, www, &redirection, &kind);
        let body = domain_json(&domain);
        self.webapp_mut(key.0, key.1).domains.push(domain);
        Response::json(200, &body)
    }

    fn redeploy(&mut self, key: (u64, u64), id: &str) -> Response {
        let names: Vec<String> = self.webapps[&key]
            .domains
            .iter()
            .flat_map(|d| {
                let mut names = vec![d.name.clone()];
                if d.www {
                    names.push(format!("www.{}", d.name));
                }
                names
            })
            .collect();
        let app = self.webapp_mut(key.0, key.1);
        match &mut app.certificate {
            Some(cert) if id.parse::<u64>().ok() == Some(cert.id) => {
                cert.covered = names;
                cert.redeploys += 1;
                let body = certificate_json(cert);
                Response::json(200, &body)
            }
            _ => message(404, "Not found."),
        }
    }
}

impl Panel for RunCloud {
    /// §2.5 (RC-V2-INTRO "Rate Limit"): `X-RateLimit-*` on every answer, 429 over budget;
    /// the budget and `Retry-After` are unverified (Laravel defaults).
    fn handle(&mut self, request: &Request) -> Response {
        let limit = self.rate_limit;
        if self.window_started.elapsed() >= self.rate_window {
            self.window_started = std::time::Instant::now();
            self.rate_used = 0;
        }
        if let Some(limit) = limit {
            if self.rate_used >= limit {
                let left = self
                    .rate_window
                    .saturating_sub(self.window_started.elapsed());
                return message(429, "Too Many Attempts.")
                    .with_header(
                        "retry-after",
                        left.as_secs_f64().ceil().max(1.0).to_string(),
                    )
                    .with_header("x-ratelimit-limit", limit.to_string())
                    .with_header("x-ratelimit-remaining", "0");
            }
            self.rate_used += 1;
        }
        let remaining = limit.map(|l| l - self.rate_used).unwrap_or(60);
        self.route(request)
            .with_header("x-ratelimit-limit", limit.unwrap_or(60).to_string())
            .with_header("x-ratelimit-remaining", remaining.to_string())
    }

    fn snapshot(&self) -> Value {
        let apps: Vec<Value> = self
            .webapps
            .iter()
            .map(|((server, app), w)| {
                json!({
                    "server": server, "webapp": app,
                    "domains": w.domains.iter().map(domain_json).collect::<Vec<_>>(),
                    "certificate": w.certificate.as_ref().map(|c| json!({ "id": c.id, "covers": c.covered, "redeploys": c.redeploys })),
                    "advanced": w.advanced,
                })
            })
            .collect();
        json!({ "panel": "runcloud", "webapps": apps })
    }
}

fn domain_json(d: &Domain) -> Value {
    json!({
        "id": d.id, "name": d.name, "type": d.kind, "www": u8::from(d.www),
        "redirection": d.redirection, "wildcard": 0, "dns_integration": "none",
        "status": null, "created_at": "2024-07-18 01:31:10"
    })
}

fn certificate_json(c: &Certificate) -> Value {
    json!({
        "id": c.id, "method": "letsencrypt", "validUntil": "2027-02-19 03:57:43",
        "renewalDate": "2027-01-20 03:57:43", "enableHttp": false, "enableHsts": false,
        "authorizationMethod": "http-01", "staging": false, "api_id": null,
        "ssl_protocol_id": 2, "created_at": "2026-11-21 03:57:43"
    })
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

fn invalid(field: &str, problem: &str) -> Response {
    Response::json(
        422,
        &json!({ "message": "The given data was invalid.", "errors": { field: [problem] } }),
    )
}

/// JSON or form-encoded fields, as Laravel reads either.
fn body_fields(request: &Request) -> Result<serde_json::Map<String, Value>, Response> {
    let content_type = request.header("content-type").unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(&request.body);
        return Ok(text
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k.to_string(), Value::String(v.replace('+', " ")))
            })
            .collect());
    }
    match request.json() {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(message(400, "The request body is not valid JSON.")),
    }
}
