//! Closte's client API (`panel-apis-b.md` §4), as Closte's own mu-plugin calls it:
//! `https://app.closte.com/api/client/{endpoint}`.
//!
//! - Every call needs `apikey` (form body for POST, query for GET); a wrong one answers
//!   `{"success": false, "error": bad_key_error}` ("Invalid API key") with
//!   `bad_key_status` (200 by default; the real answer is unverified).
//! - `GET getdomains` → `{"success": true, "domains": [...]}` (Closte_Api's
//!   `getdomains`, `panel-apis-b.md` §4.2: the item shape is never shown). Unverified: both
//!   shapes served: objects `{"domain", "primary", "wildcard", "ssl_status"}`, or with
//!   `capitalised_items` `{"Domain": …}` as `panel-review.md` #12 shows an unknown shape
//!   (PascalCase, no other key); `names_only` gives plain names. A domain's `ssl_status` is
//!   `pending` until it has been listed `ssl_reads` times, then `issued`.
//! - `POST adddomainalias` form `domain`, `wildcard` (`1`, `0`, `true`, `false` or empty):
//!   an empty or malformed name → `{"success": false, "error": "Invalid or empty domain:
//!   <d>"}` (HTTP 200, the exact string); a present name → `success: false` "Domain
//!   already exists" (unverified).
//! - `POST deletedomainalias` form `domain`, `wildcard` (WP Ultimo 1.x and the plugin post
//!   it, UMP §6.1) removes an alias and answers the same envelope (unverified); unknown →
//!   `success: false` "Domain not found" (unverified); the main domain cannot be deleted.
//! - `POST gettaskstatus` → `{"success": true, "task": {...}}`.
//! - Anything else (the PHP plugin's guessed SSL routes among them) → a 404 HTML page.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub primary: bool,
    pub wildcard: bool,
    pub reads: u32,
}

#[derive(Debug, Clone)]
pub struct Closte {
    pub api_key: String,
    pub domains: Vec<Domain>,
    pub bad_key_status: u16,
    pub bad_key_error: String,
    pub names_only: bool,
    /// Items as `{"Domain": name}` (unverified: both shapes served).
    pub capitalised_items: bool,
    pub ssl_reads: u32,
}

impl Closte {
    pub fn new(api_key: &str, main_domain: &str) -> Self {
        Closte {
            api_key: api_key.into(),
            domains: vec![Domain {
                name: main_domain.into(),
                primary: true,
                wildcard: false,
                reads: 0,
            }],
            bad_key_status: 200,
            bad_key_error: "Invalid API key".into(),
            names_only: false,
            capitalised_items: false,
            ssl_reads: 2,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.domains.iter().map(|d| d.name.clone()).collect()
    }

    pub fn find(&self, name: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.name == name)
    }

    /// Adds aliases directly (test set-up).
    pub fn seed(&mut self, names: &[&str]) {
        for name in names {
            self.domains.push(Domain {
                name: name.to_string(),
                primary: false,
                wildcard: name.starts_with("*."),
                reads: 0,
            });
        }
    }

    fn route(&mut self, request: &Request) -> Response {
        let Some(endpoint) = request.path.strip_prefix("/api/client/") else {
            return not_found();
        };
        let params = request.form_params();
        if params.get("apikey").map(String::as_str) != Some(self.api_key.as_str()) {
            return Response::json(
                self.bad_key_status,
                &json!({ "success": false, "error": self.bad_key_error }),
            );
        }
        let domain = params.get("domain").cloned().unwrap_or_default();
        match (request.method.as_str(), endpoint.trim_end_matches('/')) {
            ("GET", "getdomains") => self.list(),
            ("POST", "adddomainalias") => {
                let name = domain.to_ascii_lowercase();
                let bare = name.strip_prefix("*.").unwrap_or(&name);
                if !crate::serverpilot::valid_hostname(bare) {
                    return failure(&format!("Invalid or empty domain: {domain}"));
                }
                if self.find(&name).is_some() {
                    return failure("Domain already exists");
                }
                let wildcard = matches!(
                    params.get("wildcard").map(String::as_str),
                    Some("1" | "true")
                );
                self.domains.push(Domain {
                    name,
                    primary: false,
                    wildcard,
                    reads: 0,
                });
                Response::json(200, &json!({ "success": true }))
            }
            ("POST", "deletedomainalias") => {
                let name = domain.to_ascii_lowercase();
                match self.domains.iter().position(|d| d.name == name) {
                    None => failure("Domain not found"),
                    Some(i) if self.domains[i].primary => {
                        failure("The main domain cannot be deleted")
                    }
                    Some(i) => {
                        self.domains.remove(i);
                        Response::json(200, &json!({ "success": true }))
                    }
                }
            }
            ("POST", "gettaskstatus") => Response::json(
                200,
                &json!({ "success": true, "task": { "id": params.get("id"), "status": "completed" } }),
            ),
            _ => not_found(),
        }
    }

    fn list(&mut self) -> Response {
        let ssl_reads = self.ssl_reads;
        let names_only = self.names_only;
        let capitalised = self.capitalised_items;
        let items: Vec<Value> = self
            .domains
            .iter_mut()
            .map(|d| {
                d.reads += 1;
                if names_only {
                    return json!(d.name);
                }
                if capitalised {
                    return json!({ "Domain": d.name });
                }
                let ssl = if d.primary || d.reads > ssl_reads {
                    "issued"
                } else {
                    "pending"
                };
                json!({ "domain": d.name, "primary": d.primary, "wildcard": d.wildcard,
                        "ssl_status": ssl })
            })
            .collect();
        Response::json(200, &json!({ "success": true, "domains": items }))
    }
}

fn failure(error: &str) -> Response {
    Response::json(200, &json!({ "success": false, "error": error }))
}

fn not_found() -> Response {
    Response {
        status: 404,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>Not Found</body></html>".to_vec(),
    }
}

impl Panel for Closte {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({ "panel": "closte", "domains": self.names() })
    }
}
