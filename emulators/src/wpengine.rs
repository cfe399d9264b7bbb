//! WP Engine's Hosting Platform API v1 (`panel-apis-b.md` §9, the Swagger 2.0 spec 1.17.0).
//!
//! - HTTP Basic (API user id, password); wrong or missing → 401 `{"message": "Bad
//!   Credentials", "documentation_url"}`.
//! - `GET /v1/status`, `GET /v1/user`, `GET /v1/installs/{id}` (unknown → 404
//!   `{"message": "Not Found"}`).
//! - Offset pages: `limit` (default 100, at most 100; more → 400) and `offset`; answers
//!   `{"previous", "next", "count", "results"}` with absolute `https://api.wpengineapi.com`
//!   URLs.
//! - `POST /v1/installs/{id}/domains {"name", "primary"?, "redirect_to"?}` → 201 `Domain`. A
//!   new name gets `ownership_status: TXT_VERIFICATION_PENDING` with a TXT key and value,
//!   unless a verified domain of the install already covers it (its subdomains:
//!   unverified, kept simple); a bad name → 400 `invalid_value`; a name on any install →
//!   400 `value_unavailable` (exact code unverified).
//! - `POST …/domains/{id}/verification`: 200 and `TXT_VERIFIED` when the test says the
//!   customer created the record (`txt_present`), else 400.
//! - `network_details.network_info.ssl.status` "pending", "active" after `ssl_reads` reads
//!   of the domain once verified (or "failed" for names in `failing`).
//! - `DELETE …/domains/{id}` → 204, then 404. The primary cannot be deleted (400,
//!   unverified wording).
//! - `POST …/domains/{id}/check_status` → 202 `{"report_id"}`, a second one within 5 s → 429
//!   with the documented message; `GET …/domains/check_status/{report}` → the report.

use crate::server::{Panel, Request, Response, basic_credentials, opaque_id};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

pub const PUBLIC_BASE: &str = "https://api.wpengineapi.com/v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub primary: bool,
    pub ownership_status: String,
    pub txt_key: Option<String>,
    pub txt_value: Option<String>,
    pub ssl_status: String,
    pub reads: u32,
    pub redirect_to: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Install {
    pub name: String,
    pub network_type: String,
    pub domains: Vec<Domain>,
}

#[derive(Debug, Clone)]
pub struct WpEngine {
    pub user: String,
    pub password: String,
    pub installs: BTreeMap<String, Install>,
    /// Names whose TXT record the customer created.
    pub txt_present: BTreeSet<String>,
    pub ssl_reads: u32,
    pub failing: BTreeSet<String>,
    last_check: BTreeMap<String, Instant>,
    reports: BTreeMap<String, u32>,
    next_id: u64,
}

impl WpEngine {
    /// One install whose primary domain is `primary` (verified, certificate active).
    pub fn new(user: &str, password: &str, install: &str, primary: &str) -> Self {
        let mut wpe = WpEngine {
            user: user.into(),
            password: password.into(),
            installs: BTreeMap::new(),
            txt_present: BTreeSet::new(),
            ssl_reads: 2,
            failing: BTreeSet::new(),
            last_check: BTreeMap::new(),
            reports: BTreeMap::new(),
            next_id: 1,
        };
        let mut domain = wpe.domain(primary, true);
        domain.ownership_status = "TXT_VERIFIED".into();
        domain.ssl_status = "active".into();
        domain.txt_key = None;
        domain.txt_value = None;
        wpe.installs.insert(
            install.into(),
            Install {
                name: "network".into(),
                network_type: "AN".into(),
                domains: vec![domain],
            },
        );
        wpe
    }

    pub fn install(&self, id: &str) -> &Install {
        &self.installs[id]
    }

    pub fn install_mut(&mut self, id: &str) -> &mut Install {
        self.installs.get_mut(id).expect("no such install")
    }

    pub fn add_install(&mut self, id: &str, names: &[&str]) {
        let domains = names.iter().map(|n| self.domain(n, false)).collect();
        self.installs.insert(
            id.into(),
            Install {
                name: "other".into(),
                network_type: "AN".into(),
                domains,
            },
        );
    }

    /// Adds verified domains directly (test set-up).
    pub fn seed(&mut self, install: &str, names: &[String]) {
        let new: Vec<Domain> = names
            .iter()
            .map(|n| {
                let mut d = self.domain(n, false);
                d.ownership_status = "TXT_VERIFIED".into();
                d.ssl_status = "active".into();
                d.txt_key = None;
                d.txt_value = None;
                d
            })
            .collect();
        self.install_mut(install).domains.extend(new);
    }

    pub fn find(&self, install: &str, name: &str) -> Option<Domain> {
        self.installs[install]
            .domains
            .iter()
            .find(|d| d.name == name)
            .cloned()
    }

    pub fn names(&self, install: &str) -> Vec<String> {
        let mut names: Vec<String> = self.installs[install]
            .domains
            .iter()
            .map(|d| d.name.clone())
            .collect();
        names.sort();
        names
    }

    /// A UUID-shaped id, deterministic per counter.
    fn uuid(&mut self) -> String {
        self.next_id += 1;
        let hex: String = opaque_id(self.next_id)
            .bytes()
            .chain(opaque_id(self.next_id + 1_000_000).bytes())
            .map(|b| format!("{:x}", b % 16))
            .collect();
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..15],
            &hex[15..18],
            &hex[18..30]
        )
    }

    fn domain(&mut self, name: &str, primary: bool) -> Domain {
        let id = self.uuid();
        Domain {
            txt_value: Some(format!("wpe-{}", &id[..8])),
            id,
            name: name.into(),
            primary,
            ownership_status: "TXT_VERIFICATION_PENDING".into(),
            txt_key: Some("_wpe_verification".into()),
            ssl_status: "pending".into(),
            reads: 0,
            redirect_to: None,
        }
    }

    /// §9.2 [DOC] WPE-OAS: HTTP Basic; 401 `{"message":"Bad Credentials"}`; `/status`,
    /// `/user` as connection tests.
    fn route(&mut self, request: &Request) -> Response {
        match basic_credentials(request) {
            Some((u, p)) if u == self.user && p == self.password => {}
            _ => {
                return Response::json(
                    401,
                    &json!({ "message": "Bad Credentials",
                             "documentation_url": "https://wpengineapi.com/reference" }),
                );
            }
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let method = request.method.as_str();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "status"]) => Response::json(
                200,
                &json!({ "success": true, "created_on": "2026-01-01T00:00:00.000Z" }),
            ),
            ("GET", ["v1", "user"]) => Response::json(
                200,
                &json!({ "id": "fd8e24a5-1f16-4b80-af5f-d748bcc9e64d", "first_name": "Network",
                         "last_name": "Admin", "email": "admin@network.example" }),
            ),
            (_, ["v1", "installs", install, rest @ ..]) => {
                let install = install.to_string();
                if !self.installs.contains_key(&install) {
                    return not_found();
                }
                self.install_route(method, &install, rest, request)
            }
            _ => not_found(),
        }
    }

    fn install_route(
        &mut self,
        method: &str,
        install: &str,
        rest: &[&str],
        request: &Request,
    ) -> Response {
        match (method, rest) {
            ("GET", []) => {
                let i = &self.installs[install];
                Response::json(
                    200,
                    &json!({ "id": install, "name": i.name, "account": { "id": "acct-1" },
                             "php_version": "8.2", "status": "active",
                             "cname": format!("{}.wpengine.com", i.name),
                             "environment": "production", "primary_domain": i.domains.iter()
                                 .find(|d| d.primary).map(|d| d.name.clone()) }),
                )
            }
            // §9.4 [DOC] WPE-OAS: list paged (§9.2 `limit` ≤ 100, `offset`, `next`); create
            // 201 `Domain` with `TXT_VERIFICATION_PENDING`; a duplicate 400 with `errors[]`
            // (exact `errors[]` entry unverified, §9.3).
            ("GET", ["domains"]) => self.list(install, request),
            ("POST", ["domains"]) => self.create(install, request),
            // §9.4 [DOC] WPE-OAS: the status report, `complete` false → true.
            ("GET", ["domains", "check_status", report]) => match self.reports.get_mut(*report) {
                Some(reads) => {
                    *reads += 1;
                    let complete = *reads > 1;
                    Response::json(
                        200,
                        &json!({ "report": { "complete": complete, "domains": [] } }),
                    )
                }
                None => not_found(),
            },
            (_, ["domains", id, tail @ ..]) => {
                let Some(index) = self.installs[install]
                    .domains
                    .iter()
                    .position(|d| d.id == *id)
                else {
                    return not_found();
                };
                self.domain_route(method, install, index, tail)
            }
            _ => not_found(),
        }
    }

    fn list(&mut self, install: &str, request: &Request) -> Response {
        let limit = match request.query_param("limit").map(|v| v.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            _ => return bad_request("limit", "invalid_value", "Limit must be between 1 and 100"),
        };
        let offset = match request.query_param("offset").map(|v| v.parse::<usize>()) {
            None => 0,
            Some(Ok(n)) => n,
            _ => return bad_request("offset", "invalid_value", "Offset must be a number"),
        };
        let all = &self.installs[install].domains;
        let network = self.installs[install].network_type.clone();
        let results: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|d| domain_json(d, &network))
            .collect();
        let url =
            |o: usize| format!("{PUBLIC_BASE}/installs/{install}/domains?limit={limit}&offset={o}");
        let next = (offset + limit < all.len()).then(|| url(offset + limit));
        let previous = (offset > 0).then(|| url(offset.saturating_sub(limit)));
        Response::json(
            200,
            &json!({ "previous": previous, "next": next, "count": all.len(), "results": results }),
        )
    }

    fn create(&mut self, install: &str, request: &Request) -> Response {
        let Ok(Value::Object(body)) = request.json() else {
            return bad_request("body", "invalid_value", "Request body must be JSON");
        };
        let Some(name) = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return bad_request("name", "invalid_value", "Name cannot be empty");
        };
        let name = name.to_ascii_lowercase();
        let wildcard = name.strip_prefix("*.").unwrap_or(&name).to_string();
        if !crate::serverpilot::valid_hostname(&wildcard) {
            return bad_request("name", "invalid_value", "Name is not a valid domain");
        }
        let taken = self
            .installs
            .values()
            .any(|i| i.domains.iter().any(|d| d.name == name));
        if taken {
            return Response::json(
                400,
                &json!({ "message": "Invalid Domain: Name has already been taken",
                         "documentation_url": "https://wpengineapi.com/reference",
                         "errors": [{ "resource": "Domain", "field": "name",
                                      "type": "value_unavailable", "code": "already_exists",
                                      "message": "Name has already been taken" }] }),
            );
        }
        let covered = self.installs[install].domains.iter().any(|d| {
            d.ownership_status == "TXT_VERIFIED" && name.ends_with(&format!(".{}", d.name))
        });
        let mut domain = self.domain(&name, false);
        if covered {
            domain.ownership_status = "TXT_VERIFIED".into();
            domain.txt_key = None;
            domain.txt_value = None;
        }
        domain.redirect_to = body
            .get("redirect_to")
            .and_then(Value::as_str)
            .map(str::to_string);
        let network = self.installs[install].network_type.clone();
        let answer = domain_json(&domain, &network);
        self.install_mut(install).domains.push(domain);
        Response::json(201, &answer)
    }

    fn domain_route(
        &mut self,
        method: &str,
        install: &str,
        index: usize,
        tail: &[&str],
    ) -> Response {
        let network = self.installs[install].network_type.clone();
        match (method, tail) {
            ("GET", []) => {
                let ssl_reads = self.ssl_reads;
                let failing = self.failing.clone();
                let d = &mut self.install_mut(install).domains[index];
                if d.ownership_status == "TXT_VERIFIED" && d.ssl_status == "pending" {
                    d.reads += 1;
                    if d.reads >= ssl_reads {
                        d.ssl_status = if failing.contains(&d.name) {
                            "failed".into()
                        } else {
                            "active".into()
                        };
                    }
                }
                Response::json(200, &domain_json(d, &network))
            }
            // §9.4 [DOC] WPE-OAS: 204, then 404 `{"message":"Not Found"}` (§9.3).
            ("DELETE", []) => {
                if self.installs[install].domains[index].primary {
                    return bad_request(
                        "primary",
                        "invalid_value",
                        "The primary domain cannot be deleted",
                    );
                }
                self.install_mut(install).domains.remove(index);
                Response {
                    status: 204,
                    headers: vec![],
                    body: vec![],
                }
            }
            // §9.4 [DOC] WPE-OAS/WPE-DOC: TXT verification flips `ownership_status`; the
            // refusal while the TXT is absent (400) is unverified (§9.5).
            ("POST", ["verification"]) => {
                let present = self.txt_present.clone();
                let d = &mut self.install_mut(install).domains[index];
                if d.ownership_status != "TXT_VERIFIED" {
                    if !present.contains(&d.name) {
                        return bad_request(
                            "txt_verification",
                            "invalid_value",
                            "TXT record not found",
                        );
                    }
                    d.ownership_status = "TXT_VERIFIED".into();
                    d.txt_key = None;
                    d.txt_value = None;
                }
                Response::json(
                    200,
                    &json!({ "id": d.id, "name": d.name,
                             "txt_verified_time": "2026-04-20T16:00:00.007Z",
                             "txt_verified_domain": d.name,
                             "txt_verification_key": null, "txt_verification_value": null }),
                )
            }
            // §9.2/§9.4 [DOC] WPE-OAS: 202 `{report_id}`; 429 with the spec's message when
            // asked again within 5 s for the install.
            ("POST", ["check_status"]) => {
                let now = Instant::now();
                if self
                    .last_check
                    .get(install)
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(5))
                {
                    return Response::json(
                        429,
                        &json!({ "message": "Domain status checks are rate-limited to one request every 5 seconds for each install" }),
                    );
                }
                self.last_check.insert(install.into(), now);
                let report = self.uuid();
                self.reports.insert(report.clone(), 0);
                Response::json(202, &json!({ "report_id": report }))
            }
            _ => not_found(),
        }
    }
}

impl Panel for WpEngine {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        let installs: Vec<Value> = self
            .installs
            .iter()
            .map(|(id, i)| {
                json!({ "id": id, "domains": i.domains.iter()
                    .map(|d| domain_json(d, &i.network_type)).collect::<Vec<_>>() })
            })
            .collect();
        json!({ "panel": "wpengine", "installs": installs })
    }
}

fn domain_json(d: &Domain, network: &str) -> Value {
    json!({ "id": d.id, "name": d.name, "duplicate": false, "primary": d.primary,
            "secure_all_urls": false,
            "redirects_to": d.redirect_to.iter().map(|r| json!({ "id": r })).collect::<Vec<_>>(),
            "network_type": network,
            "network_details": {
                "dns_config_info": { "cname": "wp.wpenginepowered.com", "a_records": ["141.193.213.10", "141.193.213.11"] },
                "network_info": { "status": "ACTIVE", "ssl": { "status": d.ssl_status } } },
            "ownership_status": d.ownership_status,
            "txt_verification_key": d.txt_key, "txt_verification_value": d.txt_value,
            "txt_verified_time": if d.ownership_status == "TXT_VERIFIED" { json!("2026-04-20T16:00:00.007Z") } else { Value::Null } })
}

fn not_found() -> Response {
    Response::json(404, &json!({ "message": "Not Found" }))
}

fn bad_request(field: &str, kind: &str, message: &str) -> Response {
    Response::json(
        400,
        &json!({ "message": format!("Invalid Domain: {message}"),
                 "documentation_url": "https://wpengineapi.com/reference",
                 "errors": [{ "resource": "Domain", "field": field, "type": kind,
                              "code": "invalid", "message": message }] }),
    )
}
