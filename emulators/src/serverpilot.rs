//! ServerPilot API v1, as documented (`provider-apis.md` Part 1).
//!
//! - HTTP Basic `client_id:api_key` on every request; otherwise 401.
//! - `{"data": ...}` on success (`actionid` on mutations), `{"error": {"message"}}` on error.
//! - `POST /v1/apps/:id {"domains": [...]}` replaces the whole list; the order is not kept
//!   (the list comes back in another order, as in the docs' example); at most 300.
//! - `POST /v1/apps/:id/ssl` runs exactly one of: custom certificate, `{"auto": true}`,
//!   `{"force": bool}`, with the documented preconditions. `DELETE` disables SSL.
//! - Actions start `open` and turn `success` after a poll.
//!
//! Sources: SP-README = ServerPilot's API docs (`ServerPilot/API` README on GitHub, cited in
//! `provider-apis.md` §1 with its commits). Statuses and messages of refused SSL and domain
//! calls are not documented (§1.4, §1.5): the emulator answers 400 with
//! `{"error":{"message"}}`, and the component treats every non-2xx alike
//! (`error_for_status`), so the exact status does not matter to it.

use crate::server::{Panel, Request, Response, basic_credentials, opaque_id};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const MAX_DOMAINS_PER_APP: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ssl {
    None,
    Auto { force: bool },
    Custom { force: bool },
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub name: String,
    pub domains: Vec<String>,
    pub ssl: Ssl,
    /// Whether an AutoSSL certificate can be issued (DNS points here, in real life).
    pub autossl_available: bool,
    /// The names the available AutoSSL certificate covers (`autossl.domains`, a subset of
    /// the app's domains); `None`: all of them.
    pub autossl_covers: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ServerPilot {
    pub client_id: String,
    pub api_key: String,
    pub apps: BTreeMap<String, App>,
    pub actions: BTreeMap<String, String>,
    /// Answer this instead of JSON for every API call (an HTML error page, garbage).
    pub raw_override: Option<Response>,
    counter: u64,
}

impl ServerPilot {
    /// One account with one app.
    pub fn new(client_id: &str, api_key: &str, app_id: &str) -> Self {
        let mut apps = BTreeMap::new();
        apps.insert(
            app_id.to_string(),
            App {
                id: app_id.to_string(),
                name: "wordpress".into(),
                domains: vec![],
                ssl: Ssl::None,
                autossl_available: true,
                autossl_covers: None,
            },
        );
        ServerPilot {
            client_id: client_id.into(),
            api_key: api_key.into(),
            apps,
            actions: BTreeMap::new(),
            raw_override: None,
            counter: 0,
        }
    }

    pub fn app(&self, id: &str) -> &App {
        &self.apps[id]
    }

    pub fn app_mut(&mut self, id: &str) -> &mut App {
        self.apps.get_mut(id).expect("no such app")
    }

    fn new_action(&mut self) -> String {
        self.counter += 1;
        let id = opaque_id(self.counter);
        self.actions.insert(id.clone(), "open".into());
        id
    }

    /// §1.5 `GET /apps/:id` (SP-README): `ssl` null without a certificate, `auto` says
    /// AutoSSL; `autossl` only on the details call, `domains` only when `available` (the
    /// absent key when not available is inferred from the wording, §1.5).
    fn app_json(app: &App, details: bool) -> Value {
        // The API does not keep the order of the list; answer in reverse to prove that
        // clients do not depend on it.
        let domains: Vec<&String> = app.domains.iter().rev().collect();
        let ssl = match &app.ssl {
            Ssl::None => Value::Null,
            Ssl::Auto { force } => json!({
                "key": "-----BEGIN PRIVATE KEY----- (emulated) -----END PRIVATE KEY-----",
                "cert": "-----BEGIN CERTIFICATE----- (emulated) -----END CERTIFICATE-----",
                "cacerts": "-----BEGIN CERTIFICATE----- (emulated) -----END CERTIFICATE-----",
                "auto": true, "force": force
            }),
            Ssl::Custom { force } => json!({
                "key": "-----BEGIN PRIVATE KEY----- (custom) -----END PRIVATE KEY-----",
                "cert": "-----BEGIN CERTIFICATE----- (custom) -----END CERTIFICATE-----",
                "cacerts": null, "auto": false, "force": force
            }),
        };
        let mut value = json!({
            "id": app.id, "datecreated": 1403143012, "name": app.name,
            "sysuserid": "RvnwAIfuENyjUVnl", "domains": domains, "ssl": ssl,
            "serverid": "4zGDDO2xg30yEeum", "runtime": "php8.3"
        });
        if details {
            value["autossl"] = if app.autossl_available {
                let covered: Vec<&String> = match &app.autossl_covers {
                    Some(names) => names.iter().collect(),
                    None => domains.clone(),
                };
                json!({ "available": true, "domains": covered })
            } else {
                json!({ "available": false })
            };
        }
        value
    }

    /// §1.5 `POST /apps/:id` (SP-README, CHANGELOG 2014-07-24): `domains` replaces the whole
    /// list; at most 300 (§1.4, commit `6ab8c23`); the refusal of an invalid or excess name
    /// is unverified (400 + `error.message` assumed, §1.4).
    fn update_app(&mut self, id: &str, request: &Request) -> Response {
        let body = match json_object(request) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let domains = match body.get("domains") {
            None => None,
            Some(Value::Array(list)) => {
                let mut domains: Vec<String> = Vec::new();
                for item in list {
                    let Some(name) = item.as_str() else {
                        return error(400, "Invalid argument: domains");
                    };
                    if !valid_hostname(name) {
                        return error(400, &format!("Invalid domain: {name}"));
                    }
                    let name = name.to_ascii_lowercase();
                    if !domains.contains(&name) {
                        domains.push(name);
                    }
                }
                if domains.len() > MAX_DOMAINS_PER_APP {
                    return error(400, "An app can have at most 300 domains.");
                }
                Some(domains)
            }
            Some(_) => return error(400, "Invalid argument: domains"),
        };
        if let Some(domains) = domains {
            self.app_mut(id).domains = domains;
        }
        let action = self.new_action();
        let app = Self::app_json(&self.apps[id], false);
        Response::json(200, &json!({ "actionid": action, "data": app }))
    }

    /// §1.5 `POST /apps/:id/ssl` (SP-README): exactly one of certificate / `auto: true` /
    /// `force`; AutoSSL only when `autossl.available` and no custom certificate. "Invalid
    /// argument: auto" is the real message ([FIELD] SP-SHELL PR #5); the other refusals'
    /// statuses and texts are unverified (400 assumed).
    fn set_ssl(&mut self, id: &str, request: &Request) -> Response {
        let body = match json_object(request) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let has = |k: &str| body.contains_key(k);
        let certificate = has("key") || has("cert") || has("cacerts");
        let operations = [certificate, has("auto"), has("force")]
            .iter()
            .filter(|b| **b)
            .count();
        if operations != 1 {
            return error(
                400,
                "Specify exactly one of: a certificate (key, cert, cacerts), auto, or force.",
            );
        }
        let app = self.app_mut(id);
        if has("auto") {
            if body.get("auto") != Some(&Value::Bool(true)) {
                return error(400, "Invalid argument: auto");
            }
            if matches!(app.ssl, Ssl::Custom { .. }) {
                return error(
                    400,
                    "AutoSSL cannot be enabled while a custom certificate is installed.",
                );
            }
            if !app.autossl_available {
                return error(
                    400,
                    "AutoSSL is not available for this app. Make sure its domains point to the server.",
                );
            }
            if !matches!(app.ssl, Ssl::Auto { .. }) {
                app.ssl = Ssl::Auto { force: false };
            }
        } else if has("force") {
            let Some(force) = body.get("force").and_then(Value::as_bool) else {
                return error(400, "Invalid argument: force");
            };
            match &mut app.ssl {
                Ssl::None => return error(400, "SSL must be enabled before ForceSSL."),
                Ssl::Auto { force: f } | Ssl::Custom { force: f } => *f = force,
            }
        } else {
            if !(has("key") && has("cert") && has("cacerts")) {
                return error(400, "Missing argument: key, cert and cacerts are required.");
            }
            if matches!(app.ssl, Ssl::Auto { .. }) {
                return error(400, "Disable AutoSSL before adding a custom certificate.");
            }
            app.ssl = Ssl::Custom { force: false };
        }
        let ssl = Self::app_json(app, false)["ssl"].clone();
        let action = self.new_action();
        Response::json(200, &json!({ "actionid": action, "data": ssl }))
    }
}

impl Panel for ServerPilot {
    fn handle(&mut self, request: &Request) -> Response {
        // §1.1/§1.3: HTTP Basic `client_id:key` on every request, else 401 (SP-README).
        match basic_credentials(request) {
            Some((id, key)) if id == self.client_id && key == self.api_key => {}
            _ => {
                return error(
                    401,
                    "Either no authentication credentials were provided or they are invalid.",
                );
            }
        }
        if let Some(raw) = &self.raw_override {
            return raw.clone();
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            // §1.5 `GET /apps`: everything in one `data` array, no pagination (SP-README).
            ("GET", ["v1", "apps"]) => {
                let apps: Vec<Value> = self
                    .apps
                    .values()
                    .map(|a| Self::app_json(a, false))
                    .collect();
                Response::json(200, &json!({ "data": apps }))
            }
            (method, ["v1", "apps", id, rest @ ..]) => {
                // §1.3: 404 "You requested a resource that does not exist." (SP-README).
                if !self.apps.contains_key(*id) {
                    return error(404, "You requested a resource that does not exist.");
                }
                match (method, rest) {
                    ("GET", []) => Response::json(
                        200,
                        &json!({ "data": Self::app_json(&self.apps[*id], true) }),
                    ),
                    ("POST", []) => self.update_app(id, request),
                    ("POST", ["ssl"]) => self.set_ssl(id, request),
                    // §1.5 `DELETE /apps/:id/ssl`: `{"actionid", "data": {}}` (SP-README).
                    ("DELETE", ["ssl"]) => {
                        self.app_mut(id).ssl = Ssl::None;
                        let action = self.new_action();
                        Response::json(200, &json!({ "actionid": action, "data": {} }))
                    }
                    _ => error(404, "You requested a resource that does not exist."),
                }
            }
            // §1.5/§1.6 `GET /actions/:id`: `open`, then `success`/`error` (SP-README; the
            // number of polls is unverified).
            ("GET", ["v1", "actions", id]) => match self.actions.get_mut(*id) {
                Some(status) => {
                    let now = status.clone();
                    *status = "success".into();
                    Response::json(
                        200,
                        &json!({ "data": {
                            "id": id, "serverid": "4zGDDO2xg30yEeum", "status": now, "datecreated": 1403138066
                        }}),
                    )
                }
                None => error(404, "You requested a resource that does not exist."),
            },
            _ => error(404, "You requested a resource that does not exist."),
        }
    }

    fn snapshot(&self) -> Value {
        let apps: BTreeMap<&String, Value> = self
            .apps
            .iter()
            .map(|(id, app)| {
                let mut domains = app.domains.clone();
                domains.sort();
                let ssl = match app.ssl {
                    Ssl::None => "none",
                    Ssl::Auto { .. } => "autossl",
                    Ssl::Custom { .. } => "custom",
                };
                (id, json!({ "name": app.name, "domains": domains, "ssl": ssl, "autossl_available": app.autossl_available }))
            })
            .collect();
        json!({ "panel": "serverpilot", "apps": apps })
    }
}

/// The request body as a JSON object, or ServerPilot's 400.
fn json_object(request: &Request) -> Result<serde_json::Map<String, Value>, Response> {
    match request.json() {
        Ok(Value::Object(body)) => Ok(body),
        _ => Err(error(
            400,
            "We couldn't understand your request. The body must be a JSON object.",
        )),
    }
}

/// §1.2: every error is `{"error": {"message"}}` (SP-README).
fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "error": { "message": message } }))
}

/// Host names as a panel would accept them: LDH labels, at least two, no wildcard.
pub fn valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.len() <= 253
        && name.split('.').count() >= 2
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
