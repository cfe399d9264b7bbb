//! Laravel Forge's current, organization-scoped API (`panel-apis-b.md` §6.3, §6.5).
//!
//! - `Authorization: Bearer <token>`; missing or wrong → 401 `{"message":"No valid API key
//!   was provided."}` (the status-code table of Forge's API docs, §6.1 FG-DOC; the §6.5
//!   checklist's "Unauthenticated." was a guess).
//! - `/api/orgs/{organization}/servers/{server}/sites/{site}/...`: an unknown organization,
//!   server or site → 404 `{"message":"Not Found."}`.
//! - JSON:API-like resources `{"data": {"id", "type", "links", "attributes"}}`; lists with
//!   cursor pages (`page[size]`, default 30, `page[cursor]`; `meta.next_cursor`,
//!   `links.next`).
//! - Domain records: `POST …/domains` → 202, `status` "pending", then "connecting" and
//!   "enabled" as it is read (`reads_to_enable`); Laravel 422s on a bad or taken name (names
//!   are unique per server); `PATCH` changes `www_redirect_type`; `DELETE` → 204 and, with
//!   `async_delete`, the record shows "deleting" for a read before it goes.
//! - Certificates, in the revision `certificate_route` says: `Singular` (`…/domains/{id}/
//!   certificate`, POST and GET) or `Plural` (`…/domains/{id}/certificates`, list, POST,
//!   `…/certificates/{id}`); the other revision's paths are 404. A requested certificate is
//!   `request_status: verifying, status: installing`, then `created/installed, active`
//!   after `certificate_reads` reads, or `failed` for names in `failing`.
//! - 60 requests a minute per token (`rate_limit`, `rate_window`): `X-RateLimit-Limit` and
//!   `X-RateLimit-Remaining` on every answer, `X-RateLimit-Reset` (a Unix time, Laravel's)
//!   with them; over budget → 429 `{"message":"Too Many Attempts."}` with `Retry-After`
//!   unless `retry_after_on_429` is off (Forge's documentation names only the three
//!   `X-RateLimit-*` headers).
//! - `maintenance` → 503 `{"message":"Forge is offline for maintenance."}`.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub id: u64,
    pub request_status: String,
    pub status: String,
    pub active: bool,
    pub reads: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRecord {
    pub id: u64,
    pub name: String,
    /// `primary` or `alias`.
    pub kind: String,
    pub status: String,
    pub www_redirect_type: String,
    pub allow_wildcard_subdomains: bool,
    pub reads: u32,
    pub certificates: Vec<Certificate>,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub domains: Vec<DomainRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateRoute {
    Singular,
    Plural,
}

#[derive(Debug, Clone)]
pub struct Forge {
    pub token: String,
    pub organization: String,
    /// (server, site) → site.
    pub sites: BTreeMap<(u64, u64), Site>,
    pub certificate_route: CertificateRoute,
    pub reads_to_enable: u32,
    pub certificate_reads: u32,
    pub failing: BTreeSet<String>,
    pub async_delete: bool,
    pub maintenance: bool,
    pub rate_limit: u32,
    pub rate_window: Duration,
    pub rate_used: u32,
    pub retry_after_on_429: bool,
    window_started: Instant,
    next_id: u64,
}

impl Forge {
    /// One organization with one server and site whose primary domain is `primary`.
    pub fn new(token: &str, organization: &str, server: u64, site: u64, primary: &str) -> Self {
        let mut forge = Forge {
            token: token.into(),
            organization: organization.into(),
            sites: BTreeMap::new(),
            certificate_route: CertificateRoute::Singular,
            reads_to_enable: 2,
            certificate_reads: 1,
            failing: BTreeSet::new(),
            async_delete: false,
            maintenance: false,
            rate_limit: 60,
            rate_window: Duration::from_secs(60),
            rate_used: 0,
            retry_after_on_429: true,
            window_started: Instant::now(),
            next_id: 900,
        };
        let mut record = forge.record(primary, "primary", "none");
        record.status = "enabled".into();
        forge.sites.insert(
            (server, site),
            Site {
                name: primary.into(),
                domains: vec![record],
            },
        );
        forge
    }

    pub fn add_site(&mut self, server: u64, site: u64, names: &[&str]) {
        let domains = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut r = self.record(n, if i == 0 { "primary" } else { "alias" }, "none");
                r.status = "enabled".into();
                r
            })
            .collect();
        self.sites.insert(
            (server, site),
            Site {
                name: names.first().copied().unwrap_or("site").into(),
                domains,
            },
        );
    }

    pub fn site(&self, server: u64, site: u64) -> &Site {
        &self.sites[&(server, site)]
    }

    pub fn site_mut(&mut self, server: u64, site: u64) -> &mut Site {
        self.sites.get_mut(&(server, site)).expect("no such site")
    }

    /// Adds enabled alias records directly (test set-up).
    pub fn seed(&mut self, server: u64, site: u64, names: &[String], www: &str) {
        let new: Vec<DomainRecord> = names
            .iter()
            .map(|n| {
                let mut r = self.record(n, "alias", www);
                r.status = "enabled".into();
                r
            })
            .collect();
        self.site_mut(server, site).domains.extend(new);
    }

    /// Sets the budget: `limit` a window, `used` of it spent, the window starting now.
    pub fn limit_rate(&mut self, limit: u32, window: Duration, used: u32) {
        self.rate_limit = limit;
        self.rate_window = window;
        self.rate_used = used;
        self.window_started = Instant::now();
    }

    pub fn record_named(&self, server: u64, site: u64, name: &str) -> Option<DomainRecord> {
        self.sites[&(server, site)]
            .domains
            .iter()
            .find(|d| d.name == name)
            .cloned()
    }

    fn record(&mut self, name: &str, kind: &str, www: &str) -> DomainRecord {
        self.next_id += 1;
        DomainRecord {
            id: self.next_id,
            name: name.into(),
            kind: kind.into(),
            status: "pending".into(),
            www_redirect_type: www.into(),
            allow_wildcard_subdomains: false,
            reads: 0,
            certificates: vec![],
        }
    }

    fn reset_at(&self) -> u64 {
        let left = self
            .rate_window
            .saturating_sub(self.window_started.elapsed());
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + left.as_secs_f64().ceil() as u64
    }

    fn route(&mut self, request: &Request) -> Response {
        // §6.1 [DOC] FG-DOC: 503 "Forge is offline for maintenance."
        if self.maintenance {
            return message(503, "Forge is offline for maintenance.");
        }
        let authorized = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| t == self.token);
        // §6.1 [DOC] FG-DOC: Bearer token; 401 "No valid API key was provided."
        if !authorized {
            return message(401, "No valid API key was provided.");
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let method = request.method.as_str();
        match (method, segments.as_slice()) {
            ("GET", ["api", "orgs"]) => Response::json(
                200,
                &json!({ "data": [{ "id": "1", "type": "organizations",
                    "attributes": { "name": "Network", "slug": self.organization } }] }),
            ),
            (_, ["api", "orgs", org, "servers", server, rest @ ..]) => {
                if *org != self.organization {
                    return message(404, "Not Found.");
                }
                let Ok(server) = server.parse::<u64>() else {
                    return message(404, "Not Found.");
                };
                match rest {
                    [] if method == "GET" && self.sites.keys().any(|(s, _)| *s == server) => {
                        Response::json(
                            200,
                            &json!({ "data": { "id": server.to_string(), "type": "servers",
                                "attributes": { "name": "web-1", "ip_address": "203.0.113.10" } } }),
                        )
                    }
                    ["sites", site, tail @ ..] => {
                        let key = match site.parse::<u64>() {
                            Ok(site) if self.sites.contains_key(&(server, site)) => (server, site),
                            _ => return message(404, "Not Found."),
                        };
                        self.site_route(method, key, tail, request)
                    }
                    _ => message(404, "Not Found."),
                }
            }
            _ => message(404, "Not Found."),
        }
    }

    fn site_route(
        &mut self,
        method: &str,
        key: (u64, u64),
        tail: &[&str],
        request: &Request,
    ) -> Response {
        match (method, tail) {
            ("GET", []) => {
                let site = &self.sites[&key];
                Response::json(
                    200,
                    &json!({ "data": { "id": key.1.to_string(), "type": "sites",
                        "attributes": { "name": site.name, "status": "installed" } } }),
                )
            }
            ("GET", ["domains"]) => self.list(key, request),
            ("POST", ["domains"]) => self.create(key, request),
            (_, ["domains", id, rest @ ..]) => {
                let Some(index) = self.find(key, id) else {
                    return message(404, "Not Found.");
                };
                self.domain_route(method, key, index, rest, request)
            }
            _ => message(404, "Not Found."),
        }
    }

    fn find(&self, key: (u64, u64), id: &str) -> Option<usize> {
        let id: u64 = id.parse().ok()?;
        self.sites[&key].domains.iter().position(|d| d.id == id)
    }

    fn read_record(&mut self, key: (u64, u64), index: usize) {
        let reads_to_enable = self.reads_to_enable;
        let record = &mut self.site_mut(key.0, key.1).domains[index];
        record.reads += 1;
        match record.status.as_str() {
            "pending" | "connecting" if record.reads >= reads_to_enable => {
                record.status = "enabled".into()
            }
            "pending" => record.status = "connecting".into(),
            _ => {}
        }
    }

    /// §6.1 [DOC] FG-DOC: cursor pages `page[size]` (default 30), `page[cursor]`,
    /// `meta.next_cursor`, `links.next`.
    fn list(&mut self, key: (u64, u64), request: &Request) -> Response {
        let size = match param(request, "page[size]").map(|v| v.parse::<usize>()) {
            None => 30,
            Some(Ok(n)) if (1..=200).contains(&n) => n,
            _ => return invalid("page.size", "The page.size must be between 1 and 200."),
        };
        let start = match param(request, "page[cursor]") {
            None => 0,
            Some(c) => match c.strip_prefix("cur").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => n,
                None => return invalid("page.cursor", "The cursor is invalid."),
            },
        };
        // Deletions finish as the list is read.
        let site = self.site_mut(key.0, key.1);
        site.domains
            .retain(|d| !(d.status == "deleting" && d.reads > 0));
        for d in site.domains.iter_mut().filter(|d| d.status == "deleting") {
            d.reads += 1;
        }
        let count = self.sites[&key].domains.len();
        for i in start..count.min(start + size) {
            if self.sites[&key].domains[i].status != "deleting" {
                self.read_record(key, i);
            }
        }
        let all = &self.sites[&key].domains;
        let items: Vec<Value> = all.iter().skip(start).take(size).map(record_json).collect();
        let next = (start + size < all.len()).then(|| format!("cur{}", start + size));
        let prev = (start > 0).then(|| format!("cur{}", start.saturating_sub(size)));
        let link = |c: &Option<String>| {
            c.as_ref().map(|c| {
                format!(
                    "https://forge.laravel.com{}?page%5Bcursor%5D={c}",
                    request.path
                )
            })
        };
        Response::json(
            200,
            &json!({ "data": items,
                     "links": { "first": null, "last": null, "prev": link(&prev), "next": link(&next) },
                     "meta": { "path": format!("https://forge.laravel.com{}", request.path),
                               "per_page": size, "next_cursor": next, "prev_cursor": prev } }),
        )
    }

    /// §6.3 [DOC] FG-DOC "Add domain": `name`, `allow_wildcard_subdomains`,
    /// `www_redirect_type`; answer `{"data": {…, "status": "pending"}}` (its HTTP status, 202
    /// here, is not stated: the component accepts any 2xx). 422 texts are Laravel's defaults
    /// (unverified, §6.2).
    fn create(&mut self, key: (u64, u64), request: &Request) -> Response {
        let Ok(Value::Object(body)) = request.json() else {
            return message(400, "The request body is not valid JSON.");
        };
        let Some(name) = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return invalid("name", "The name field is required.");
        };
        let name = name.to_ascii_lowercase();
        if !crate::serverpilot::valid_hostname(&name) {
            return invalid("name", "The name must be a valid domain.");
        }
        let www = body
            .get("www_redirect_type")
            .and_then(Value::as_str)
            .unwrap_or("from-www")
            .to_string();
        if !["none", "from-www", "to-www"].contains(&www.as_str()) {
            return invalid(
                "www_redirect_type",
                "The selected www redirect type is invalid.",
            );
        }
        let taken = self
            .sites
            .iter()
            .filter(|((server, _), _)| *server == key.0)
            .any(|(_, s)| s.domains.iter().any(|d| d.name == name));
        if taken {
            return invalid("name", "The name has already been taken.");
        }
        let mut record = self.record(&name, "alias", &www);
        record.allow_wildcard_subdomains = body
            .get("allow_wildcard_subdomains")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let answer = record_json(&record);
        self.site_mut(key.0, key.1).domains.push(record);
        Response::json(202, &json!({ "data": answer }))
    }

    fn domain_route(
        &mut self,
        method: &str,
        key: (u64, u64),
        index: usize,
        rest: &[&str],
        request: &Request,
    ) -> Response {
        let route = self.certificate_route;
        match (method, rest, route) {
            ("GET", [], _) => {
                self.read_record(key, index);
                Response::json(
                    200,
                    &json!({ "data": record_json(&self.sites[&key].domains[index]) }),
                )
            }
            ("PATCH", [], _) => {
                let body: Value = request.json().unwrap_or(Value::Null);
                let record = &mut self.site_mut(key.0, key.1).domains[index];
                if let Some(www) = body.get("www_redirect_type").and_then(Value::as_str) {
                    if !["none", "from-www", "to-www"].contains(&www) {
                        return invalid(
                            "www_redirect_type",
                            "The selected www redirect type is invalid.",
                        );
                    }
                    record.www_redirect_type = www.into();
                }
                if let Some(w) = body
                    .get("allow_wildcard_subdomains")
                    .and_then(Value::as_bool)
                {
                    record.allow_wildcard_subdomains = w;
                }
                Response::json(200, &json!({ "data": record_json(record) }))
            }
            // §6.3 [DOC] FG-DOC "Delete domain": "No content" (204); the primary's refusal
            // text is unverified.
            ("DELETE", [], _) => {
                let site = self.site_mut(key.0, key.1);
                if site.domains[index].kind == "primary" {
                    return message(422, "The primary domain cannot be deleted.");
                }
                if self.async_delete {
                    let record = &mut self.site_mut(key.0, key.1).domains[index];
                    record.status = "deleting".into();
                    record.reads = 0;
                } else {
                    self.site_mut(key.0, key.1).domains.remove(index);
                }
                Response {
                    status: 204,
                    headers: vec![],
                    body: vec![],
                }
            }
            ("POST", ["certificate"], CertificateRoute::Singular)
            | ("POST", ["certificates"], CertificateRoute::Plural) => {
                self.issue(key, index, request)
            }
            ("GET", ["certificate"], CertificateRoute::Singular) => {
                match self.read_certificate(key, index, None) {
                    Some(c) => Response::json(200, &json!({ "data": certificate_json(&c) })),
                    None => message(404, "Not Found."),
                }
            }
            ("GET", ["certificates"], CertificateRoute::Plural) => {
                let list: Vec<Value> = self.sites[&key].domains[index]
                    .certificates
                    .iter()
                    .map(certificate_json)
                    .collect();
                Response::json(
                    200,
                    &json!({ "data": list, "meta": { "next_cursor": null } }),
                )
            }
            ("GET", ["certificates", id], CertificateRoute::Plural) => {
                match self.read_certificate(key, index, id.parse().ok()) {
                    Some(c) => Response::json(200, &json!({ "data": certificate_json(&c) })),
                    None => message(404, "Not Found."),
                }
            }
            _ => message(404, "Not Found."),
        }
    }

    /// §6.3 [DOC] FG-DOC "Issue certificate" (async): singular `…/certificate` or, in the
    /// older revision, plural `…/certificates`; unverified which is live, so both served
    /// (`certificate_route`). `verifying`/`installing` are documented, the final names not.
    fn issue(&mut self, key: (u64, u64), index: usize, request: &Request) -> Response {
        let body: Value = request.json().unwrap_or(Value::Null);
        if body.get("type").and_then(Value::as_str) != Some("letsencrypt") {
            return invalid("type", "The selected type is invalid.");
        }
        let method = body
            .pointer("/letsencrypt/verification_method")
            .and_then(Value::as_str)
            .unwrap_or("http-01");
        if !["http-01", "dns-01"].contains(&method) {
            return invalid(
                "letsencrypt.verification_method",
                "The selected verification method is invalid.",
            );
        }
        self.next_id += 1;
        let certificate = Certificate {
            id: self.next_id,
            request_status: "verifying".into(),
            status: "installing".into(),
            active: false,
            reads: 0,
        };
        let answer = certificate_json(&certificate);
        let record = &mut self.site_mut(key.0, key.1).domains[index];
        for c in record.certificates.iter_mut() {
            c.active = false;
        }
        record.certificates.push(certificate);
        Response::json(202, &json!({ "data": answer }))
    }

    /// Reads a certificate (the newest, or `id`), moving it along.
    fn read_certificate(
        &mut self,
        key: (u64, u64),
        index: usize,
        id: Option<u64>,
    ) -> Option<Certificate> {
        let reads = self.certificate_reads;
        let failing = self.failing.clone();
        let record = &mut self.site_mut(key.0, key.1).domains[index];
        let name = record.name.clone();
        let certificate = match id {
            Some(id) => record.certificates.iter_mut().find(|c| c.id == id)?,
            None => record.certificates.last_mut()?,
        };
        certificate.reads += 1;
        if certificate.status == "installing" && certificate.reads >= reads {
            if failing.contains(&name) {
                certificate.status = "failed".into();
            } else {
                certificate.request_status = "created".into();
                certificate.status = "installed".into();
                certificate.active = true;
            }
        }
        Some(certificate.clone())
    }
}

impl Panel for Forge {
    /// §6.1 [DOC] FG-DOC: 60/min per user, `X-RateLimit-{Limit,Remaining,Reset}`; 429 body
    /// and `Retry-After` unverified (both served, `retry_after_on_429`).
    fn handle(&mut self, request: &Request) -> Response {
        if self.window_started.elapsed() >= self.rate_window {
            self.window_started = Instant::now();
            self.rate_used = 0;
        }
        let reset = self.reset_at().to_string();
        if self.rate_used >= self.rate_limit {
            let left = self
                .rate_window
                .saturating_sub(self.window_started.elapsed())
                .as_secs_f64()
                .ceil()
                .max(1.0);
            let mut response = message(429, "Too Many Attempts.")
                .with_header("x-ratelimit-limit", self.rate_limit.to_string())
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", reset);
            if self.retry_after_on_429 {
                response = response.with_header("retry-after", left.to_string());
            }
            return response;
        }
        self.rate_used += 1;
        let remaining = self.rate_limit - self.rate_used;
        self.route(request)
            .with_header("x-ratelimit-limit", self.rate_limit.to_string())
            .with_header("x-ratelimit-remaining", remaining.to_string())
            .with_header("x-ratelimit-reset", reset)
    }

    fn snapshot(&self) -> Value {
        let sites: Vec<Value> = self
            .sites
            .iter()
            .map(|((server, site), s)| {
                json!({ "server": server, "site": site, "name": s.name,
                        "domains": s.domains.iter().map(record_json).collect::<Vec<_>>() })
            })
            .collect();
        json!({ "panel": "laravel-forge", "organization": self.organization, "sites": sites })
    }
}

fn record_json(d: &DomainRecord) -> Value {
    json!({ "id": d.id.to_string(), "type": "domainRecords",
            "links": { "self": { "href": format!("https://forge.laravel.com/api/domains/{}", d.id) } },
            "attributes": { "name": d.name, "type": d.kind, "status": d.status,
                            "www_redirect_type": d.www_redirect_type,
                            "allow_wildcard_subdomains": d.allow_wildcard_subdomains,
                            "created_at": "2026-01-07T05:31:56Z", "updated_at": "2026-01-07T05:31:56Z" } })
}

fn certificate_json(c: &Certificate) -> Value {
    json!({ "id": c.id.to_string(), "type": "certificates",
            "attributes": { "type": "letsencrypt", "verification_method": "http-01",
                            "key_type": "ecdsa", "preferred_chain": "ISRG Root X1",
                            "request_status": c.request_status, "status": c.status,
                            "active": c.active,
                            "created_at": "2026-01-07T05:31:56Z", "updated_at": "2026-01-07T05:31:56Z" } })
}

/// A query parameter by its decoded name (`page[size]` arrives as `page%5Bsize%5D`).
fn param(request: &Request, name: &str) -> Option<String> {
    request.query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = k
            .replace("%5B", "[")
            .replace("%5b", "[")
            .replace("%5D", "]")
            .replace("%5d", "]");
        (k == name).then(|| v.to_string())
    })
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

fn invalid(field: &str, problem: &str) -> Response {
    Response::json(
        422,
        &json!({ "message": problem, "errors": { field: [problem] } }),
    )
}
