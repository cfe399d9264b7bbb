//! BigScoots' WPO public API as Ultimate Multisite's newest code assumes it
//! (`panel-apis-b.md` §8). No public reference exists, so every shape here is unverified and
//! the uncertain ones are switches.
//!
//! - Headers `x-auth-email` and `x-auth-key`; wrong or missing → 401 `{"message":
//!   "Unauthenticated."}`.
//! - `GET /v1/accounts/` → `{"primaryOwner": {"account_uuid"}}`; `GET
//!   /v1/sites/account/{account}` → the account's sites (`site_uuid`, `type`, `domain`).
//! - `GET /v1/multi-sites/sub-sites/{primary}` → the sub-sites (`blog_id`, `blog_url`,
//!   `domain`, `ssl: {"status"}`); an unknown primary → 404; a primary whose plan is not
//!   multisite/hybrid (`multisite = false`) → 403 `{"message"}` on every sub-site route.
//! - `POST /v1/multi-sites/sub-sites/ {"primary_uuid", "blog_url"}` registers the WordPress
//!   site at that address (BigScoots reads the install: [`BigScoots::wordpress`] maps
//!   addresses to blog ids); an address the install does not have → 422; one registered →
//!   409 (unverified).
//! - `PATCH …/{primary}/{blog_id} {"domain"}` replaces the sub-site's one domain (its
//!   certificate state resets): the plugin's `BigScoots_Domain_Mapping::update_subsite_domain`,
//!   which `sync_active_domain` calls with the site's active host on every add and remove
//!   (Ultimate-Multisite `inc/integrations/providers/bigscoots/class-bigscoots-domain-mapping.php`
//!   @ 26fcc142); one domain per sub-site is that code's model, unverified against the API; `DELETE …/{primary}/{blog_id}` removes it; both 404 when
//!   the sub-site is absent.
//! - `POST …/ssl/{primary}/{blog_id}` → `{"success": true}`; the certificate is `pending`
//!   for `ssl_reads` reads of the list, then `issued` (or `failed` for domains in
//!   `failing`).
//! - `wrap` puts every answer in `{"response": …}` (the plugin reads both); `ssl_in_list`
//!   false leaves the certificate state out of the list (its shape is unknown).

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubSite {
    pub blog_url: String,
    pub domain: String,
    /// `none`, `pending`, `issued`, `failed`.
    pub ssl: String,
    pub reads: u32,
}

#[derive(Debug, Clone)]
pub struct BigScoots {
    pub email: String,
    pub key: String,
    pub account_uuid: String,
    /// (site_uuid, type, domain) of the account's sites.
    pub sites: Vec<(String, String, String)>,
    pub primary_uuid: String,
    pub multisite: bool,
    /// The WordPress install's sites as BigScoots sees them: address → blog id.
    pub wordpress: BTreeMap<String, u64>,
    pub subs: BTreeMap<u64, SubSite>,
    pub wrap: bool,
    pub ssl_in_list: bool,
    pub ssl_reads: u32,
    pub failing: BTreeSet<String>,
    pub ssl_requests: u32,
}

impl BigScoots {
    pub fn new(email: &str, key: &str, primary_uuid: &str, network: &str) -> Self {
        BigScoots {
            email: email.into(),
            key: key.into(),
            account_uuid: "a6f0c1de-7b1e-4c55-9d3a-0b8e5f2c7a11".into(),
            sites: vec![(primary_uuid.into(), "primary".into(), network.into())],
            primary_uuid: primary_uuid.into(),
            multisite: true,
            wordpress: BTreeMap::from([(network.to_string(), 1)]),
            subs: BTreeMap::new(),
            wrap: true,
            ssl_in_list: true,
            ssl_reads: 1,
            failing: BTreeSet::new(),
            ssl_requests: 0,
        }
    }

    /// A registered sub-site (test set-up).
    pub fn seed(&mut self, blog_id: u64, blog_url: &str, domain: &str) {
        self.wordpress.insert(blog_url.into(), blog_id);
        let host = blog_url.split('/').next().unwrap_or(blog_url).to_string();
        self.subs.insert(
            blog_id,
            SubSite {
                blog_url: blog_url.into(),
                domain: if domain.is_empty() {
                    host
                } else {
                    domain.into()
                },
                ssl: "issued".into(),
                reads: 0,
            },
        );
    }

    fn answer(&self, status: u16, value: Value) -> Response {
        if self.wrap {
            Response::json(status, &json!({ "response": value }))
        } else {
            Response::json(status, &value)
        }
    }

    fn route(&mut self, request: &Request) -> Response {
        if request.header("x-auth-email") != Some(self.email.as_str())
            || request.header("x-auth-key") != Some(self.key.as_str())
        {
            return Response::json(401, &json!({ "message": "Unauthenticated." }));
        }
        let segments: Vec<&str> = request
            .path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["v1", "accounts"]) => self.answer(
                200,
                json!({ "primaryOwner": { "account_uuid": self.account_uuid,
                                          "email": self.email } }),
            ),
            ("GET", ["v1", "sites", "account", account]) => {
                if *account != self.account_uuid {
                    return message(404, "Account not found.");
                }
                let sites: Vec<Value> = self
                    .sites
                    .iter()
                    .map(|(u, t, d)| json!({ "site_uuid": u, "type": t, "domain": d }))
                    .collect();
                self.answer(200, Value::Array(sites))
            }
            ("POST", ["v1", "multi-sites", "sub-sites"]) => self.register(request),
            (method, ["v1", "multi-sites", "sub-sites", rest @ ..]) => {
                let (ssl, rest) = match rest {
                    ["ssl", tail @ ..] => (true, tail),
                    _ => (false, rest),
                };
                let Some((primary, tail)) = rest.split_first() else {
                    return message(404, "Not found.");
                };
                if let Some(refused) = self.primary_check(primary) {
                    return refused;
                }
                match (method, ssl, tail) {
                    ("GET", false, []) => self.list(),
                    (_, _, [blog]) => {
                        let Ok(blog) = blog.parse::<u64>() else {
                            return message(404, "Sub-site not found.");
                        };
                        if !self.subs.contains_key(&blog) {
                            return message(404, "Sub-site not found.");
                        }
                        match (method, ssl) {
                            ("PATCH", false) => self.set_domain(blog, request),
                            ("DELETE", false) => {
                                self.subs.remove(&blog);
                                self.answer(200, json!({ "success": true }))
                            }
                            ("POST", true) => {
                                self.ssl_requests += 1;
                                let sub = self.subs.get_mut(&blog).expect("checked");
                                sub.ssl = "pending".into();
                                sub.reads = 0;
                                Response::json(200, &json!({ "success": true }))
                            }
                            _ => message(405, "Method not allowed."),
                        }
                    }
                    _ => message(404, "Not found."),
                }
            }
            _ => message(404, "Not found."),
        }
    }

    fn primary_check(&self, primary: &str) -> Option<Response> {
        if primary != self.primary_uuid {
            return Some(message(404, "Site not found."));
        }
        if !self.multisite {
            return Some(message(
                403,
                "Multisite API access is not enabled for this site.",
            ));
        }
        None
    }

    fn list(&mut self) -> Response {
        let ssl_reads = self.ssl_reads;
        let failing = self.failing.clone();
        let ssl_in_list = self.ssl_in_list;
        let items: Vec<Value> = self
            .subs
            .iter_mut()
            .map(|(id, s)| {
                if s.ssl == "pending" {
                    s.reads += 1;
                    if s.reads > ssl_reads {
                        s.ssl = if failing.contains(&s.domain) {
                            "failed".into()
                        } else {
                            "issued".into()
                        };
                    }
                }
                let mut v = json!({ "blog_id": id, "blog_url": s.blog_url, "domain": s.domain });
                if ssl_in_list {
                    v["ssl"] = json!({ "status": s.ssl });
                }
                v
            })
            .collect();
        self.answer(200, Value::Array(items))
    }

    fn register(&mut self, request: &Request) -> Response {
        let Ok(body) = request.json() else {
            return message(400, "The request body must be JSON.");
        };
        let primary = body
            .get("primary_uuid")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(refused) = self.primary_check(primary) {
            return refused;
        }
        let url = body.get("blog_url").and_then(Value::as_str).unwrap_or("");
        let Some(&blog) = self.wordpress.get(url) else {
            return Response::json(
                422,
                &json!({ "message": "The given data was invalid.",
                         "error": format!("blog_url {url} is not a site of the multisite network") }),
            );
        };
        if self.subs.contains_key(&blog) {
            return message(409, "The sub-site already exists.");
        }
        let host = url.split('/').next().unwrap_or(url).to_string();
        self.subs.insert(
            blog,
            SubSite {
                blog_url: url.into(),
                domain: host,
                ssl: "none".into(),
                reads: 0,
            },
        );
        self.answer(201, json!({ "success": true, "blog_id": blog }))
    }

    fn set_domain(&mut self, blog: u64, request: &Request) -> Response {
        let domain = request
            .json()
            .ok()
            .and_then(|b| b.get("domain").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !crate::serverpilot::valid_hostname(&domain) {
            return Response::json(
                422,
                &json!({ "message": "The given data was invalid.",
                         "response": { "error": format!("Invalid domain: {domain}") } }),
            );
        }
        let sub = self.subs.get_mut(&blog).expect("checked");
        if sub.domain != domain {
            sub.domain = domain;
            sub.ssl = "none".into();
            sub.reads = 0;
        }
        Response::json(200, &json!({ "success": true }))
    }
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "message": text }))
}

impl Panel for BigScoots {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        let subs: Vec<Value> = self
            .subs
            .iter()
            .map(|(id, s)| json!({ "blog_id": id, "blog_url": s.blog_url, "domain": s.domain, "ssl": s.ssl }))
            .collect();
        json!({ "panel": "bigscoots", "primary_uuid": self.primary_uuid, "sub_sites": subs })
    }
}
