//! WPMU DEV Hosting's API (`panel-apis-b.md` §5): `/api/hosting/v1/{site_id}/…`.
//!
//! - `Authorization` must equal the API key, raw, with no scheme; missing or wrong → 401
//!   `{"code": "unauthorized", "message": "…"}` (code and status configurable: unverified).
//! - A `site_id` in the path that is not the key's site → 404 `{"code": "not_found",
//!   "message": "…"}` (unverified).
//! - `GET {site}/domains` → 200 with the site's domains, in the shape [`ListShape`] says
//!   (unverified: the real shape is unknown, so several are served, including one the
//!   component cannot read).
//! - `POST {site}/domains` form `domain`, `site_id` → adds; a bad name → 400
//!   `{"code": "invalid_domain"}`; a name present → `duplicate_status` with the nested form
//!   `{"code": "domain_exists", "message": {"message": "…"}}` (unverified: `panel-apis-b.md`
//!   §5.3 item 3; the nested form is what WPMU DEV's WP-CLI code reads); with `errors_in_200` every
//!   error answers HTTP 200 instead. With `async_actions` the answer is `{"action_id"}` and
//!   `GET {site}/actions/{id}` says `in-progress` `action_reads` times, then `completed`
//!   (or `errored` for names in `failing`, which then leave the list).
//! - There is no DELETE route: 404 `{"code": "rest_no_route"}`, as a WordPress-style API
//!   answers an unknown route.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// How `GET /domains` shapes its answer. Unverified: every shape served. No source shows
/// the body (`panel-apis-b.md` §5.2: "must be 200; body shape unknown"; WPMU DEV's WP-CLI
/// code and the plugin only check the status), so the component must cope with one it
/// cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListShape {
    /// `[{"domain", "is_primary", "ssl"}]`
    Objects,
    /// `["a.com", …]`
    Names,
    /// `{"domains": [{"domain", …}]}`
    Wrapped,
    /// `{"site_id", "domain_list": {"<name>": {"primary", "ssl"}}}`: the shape
    /// `panel-review.md` #11 uses to show an unknown one (names as keys of an object).
    KeyedByName,
}

#[derive(Debug, Clone)]
struct Action {
    name: String,
    reads: u32,
    state: &'static str,
}

#[derive(Debug, Clone)]
pub struct WpmuDev {
    pub api_key: String,
    pub site_id: String,
    /// The site's domains, the primary first.
    pub domains: Vec<String>,
    pub shape: ListShape,
    pub auth_status: u16,
    pub duplicate_status: u16,
    /// Errors answer HTTP 200 with their `{"code", "message"}` body.
    pub errors_in_200: bool,
    pub async_actions: bool,
    pub action_reads: u32,
    pub failing: BTreeSet<String>,
    actions: BTreeMap<u64, Action>,
    next_action: u64,
}

impl WpmuDev {
    pub fn new(api_key: &str, site_id: &str, primary: &str) -> Self {
        WpmuDev {
            api_key: api_key.into(),
            site_id: site_id.into(),
            domains: vec![primary.into()],
            shape: ListShape::Objects,
            auth_status: 401,
            duplicate_status: 400,
            errors_in_200: false,
            async_actions: false,
            action_reads: 1,
            failing: BTreeSet::new(),
            actions: BTreeMap::new(),
            next_action: 100,
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.domains.iter().any(|d| d == name)
    }

    fn error(&self, status: u16, code: &str, message: Value) -> Response {
        let status = if self.errors_in_200 { 200 } else { status };
        Response::json(status, &json!({ "code": code, "message": message }))
    }

    fn route(&mut self, request: &Request) -> Response {
        if request.header("authorization") != Some(self.api_key.as_str()) {
            return self.error(
                self.auth_status,
                "unauthorized",
                json!("Invalid API key or no access to this site."),
            );
        }
        let Some(rest) = request.path.strip_prefix("/api/hosting/v1/") else {
            return self.error(404, "rest_no_route", json!("No route was found."));
        };
        let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
        let (site, tail) = match segments.split_first() {
            Some((site, tail)) => (*site, tail),
            None => return self.error(404, "rest_no_route", json!("No route was found.")),
        };
        if site != self.site_id {
            return self.error(
                404,
                "not_found",
                json!(format!("Site {site} was not found.")),
            );
        }
        match (request.method.as_str(), tail) {
            ("GET", ["domains"]) => self.list(),
            ("POST", ["domains"]) => self.add(request),
            ("GET", ["actions", id]) => self.action(id),
            _ => self.error(404, "rest_no_route", json!("No route was found.")),
        }
    }

    fn list(&self) -> Response {
        let objects: Vec<Value> = self
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| json!({ "domain": d, "is_primary": i == 0, "ssl": true }))
            .collect();
        let body = match self.shape {
            ListShape::Objects => Value::Array(objects),
            ListShape::Names => json!(self.domains),
            ListShape::Wrapped => json!({ "domains": objects, "total": self.domains.len() }),
            ListShape::KeyedByName => {
                let keyed: serde_json::Map<String, Value> = self
                    .domains
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d.clone(), json!({ "primary": i == 0, "ssl": true })))
                    .collect();
                json!({ "site_id": self.site_id.parse::<u64>().unwrap_or(0), "domain_list": keyed })
            }
        };
        Response::json(200, &body)
    }

    fn add(&mut self, request: &Request) -> Response {
        let form = request.form_params();
        let name = form
            .get("domain")
            .map(|d| d.to_ascii_lowercase())
            .unwrap_or_default();
        if !crate::serverpilot::valid_hostname(&name) {
            return self.error(
                400,
                "invalid_domain",
                json!({ "message": format!("Invalid domain: {name}") }),
            );
        }
        if self.has(&name) {
            return self.error(
                self.duplicate_status,
                "domain_exists",
                json!({ "message": format!("The domain {name} already exists.") }),
            );
        }
        self.domains.push(name.clone());
        if self.async_actions {
            self.next_action += 1;
            let id = self.next_action;
            self.actions.insert(
                id,
                Action {
                    name: name.clone(),
                    reads: 0,
                    state: "in-progress",
                },
            );
            return Response::json(
                200,
                &json!({ "action_id": id, "type": "domain", "status": "in-progress" }),
            );
        }
        Response::json(200, &json!({ "domain": name, "site_id": self.site_id }))
    }

    fn action(&mut self, id: &str) -> Response {
        let reads_needed = self.action_reads;
        let Some(action) = id.parse().ok().and_then(|id| self.actions.get_mut(&id)) else {
            return self.error(404, "not_found", json!("Action not found."));
        };
        if action.state == "in-progress" {
            action.reads += 1;
            if action.reads > reads_needed {
                action.state = if self.failing.contains(&action.name) {
                    "errored"
                } else {
                    "completed"
                };
            }
        }
        let action = action.clone();
        if action.state == "errored" {
            self.domains.retain(|d| d != &action.name);
        }
        Response::json(
            200,
            &json!({ "id": id.parse::<u64>().unwrap_or(0), "type": "domain",
                     "status": action.state, "started_at": "2026-04-20T16:00:00",
                     "completed_at": if action.state == "in-progress" { Value::Null } else { json!("2026-04-20T16:00:05") } }),
        )
    }
}

impl Panel for WpmuDev {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({ "panel": "wpmudev", "site_id": self.site_id, "domains": self.domains })
    }
}
