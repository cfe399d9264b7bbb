//! Cloudways API v1 and v2 (`panel-apis-b.md` §1), as its documentation and the clients
//! built on it describe it.
//!
//! - v2 (`/api/v2/*`, the same paths as v1: "replace v1 with v2", §1.1 [FIELD] CW-MCP
//!   `workflows-automation.md`): a platform "Access Token" (`access_tokens`) sent directly as
//!   `Authorization: Bearer`, no exchange (§1.2 [FIELD] CW-MCP `installation.md`, which
//!   quotes Cloudways support article 14654372, and CW-FIELD). Given to the exchange as an
//!   `api_key`, it is refused with `invalid_credentials` (same sources). Unverified: whether
//!   v1 accepts access tokens or v2 exchanged tokens (neither is served), and v2's error
//!   bodies: `v2_errors` serves v1's OAuth shape or `{"message"}` (both served).
//! - The API key's retirement (2026-10-15, §1.2 [FIELD] CW-MCP `installation.md`): with
//!   `api_keys_retired` the exchange refuses even the right key with `invalid_credentials`.
//! - `POST /api/v1/oauth/access_token` (form, query or JSON `email`, `api_key`) → 200
//!   `{"access_token", "token_type": "Bearer", "expires_in"}` (`token_ttl`, 3600 s by
//!   default); wrong → 401 `{"error": "invalid_credentials", "error_description"}` (the
//!   league/oauth2-server shape: unverified).
//! - Every other call needs `Authorization: Bearer <token>`: none → 400 "Access Token not
//!   provided"; unknown or expired → 401.
//! - `GET /server` → `{"status": true, "servers": [{id, label, ..., master_user,
//!   master_password, "apps": [{id, label, application, app_fqdn, app_user, app_password,
//!   sys_user, sys_password, cname, mysql_db_name, mysql_user, mysql_password, aliases,
//!   server_id, lets_encrypt}]}]}` (ids as strings): the fields of cloudways-js-client
//!   `src/services/server/types.ts` (`Server`, `App`), passwords included, so a test can
//!   show that none reaches any output.
//!   `lets_encrypt`: that client types it `string | null`; `null` until a certificate is
//!   installed, then a string whose content is not documented (`LetsEncryptShape::Text`
//!   serves an opaque date, which names nothing). `LetsEncryptShape::Object` serves
//!   `{"ssl_domains": [...], "wild_card": false, "auto": true}` instead: unverified, no
//!   source shows it; both shapes are served so the component is tested with each.
//! - `POST /app/manage/aliases` (form or query: `server_id`, `app_id`, `aliases[]` or
//!   `aliases[N]`) **replaces** the list; non-integer ids → 422 `{field: [{code, message}]}`;
//!   an app not in the account → `unknown_app_status` (403 or 404, unverified); success body
//!   `alias_answer` (`{}` or `{"status": true}`, unverified). Empty values are dropped, so an
//!   empty `aliases[]=` clears the list. No alias field at all clears it too, or, with
//!   `aliases_field_required`, is refused with 422 "The aliases field is required."
//!   (unverified whether Cloudways requires the field: both modes are served).
//! - `POST /security/lets_encrypt_install` (`server_id`, `app_id`, `ssl_email`, `wild_card`,
//!   `ssl_domains[]`) → `{"operation_id"}`; a name the app does not serve → 422. `GET
//!   /operation/{id}` → `{"operation": {..., "is_completed": "0"|"1", "status", "message"}}`:
//!   done after `polls_to_complete` reads; names in `failing` (DNS not pointing here) and
//!   more than 100 names (Let's Encrypt's per-certificate limit,
//!   letsencrypt.org/docs/rate-limits) end as `failure` says (how a failure is reported is
//!   not documented). A completed install **replaces** the app's certificate with exactly
//!   the names sent (panel-apis-b.md §1.3: the call takes the full `ssl_domains` list), so a
//!   request that leaves a name out takes HTTPS away from it here too.
//! - `rate_limit`: at most that many API calls per minute, then 429 (body not documented).

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: u64,
    pub label: String,
    pub cname: String,
    pub aliases: Vec<String>,
    pub certificate: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub id: u64,
    pub apps: Vec<App>,
}

/// How `GET /server` serves `lets_encrypt` once a certificate is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetsEncryptShape {
    /// A string (cloudways-js-client types it `string | null`); its content is not
    /// documented, so an opaque one that names nothing.
    Text,
    /// `{"ssl_domains": [...], ...}`: unverified.
    Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasAnswer {
    Empty,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `is_completed: "1"` with a failure status and message.
    CompletedWithError,
    /// `is_completed: "-1"`.
    Negative,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: u64,
    pub server_id: u64,
    pub app_id: u64,
    pub domains: Vec<String>,
    pub reads: u32,
    pub completed: bool,
    pub failed: bool,
}

/// One Let's Encrypt request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub ssl_email: String,
    pub wild_card: String,
    pub domains: Vec<String>,
}

/// How `/api/v2` answers a refused or missing token (not documented for v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Errors {
    /// As v1: `{"error", "error_description"}`.
    OAuth,
    /// `{"message": "..."}`.
    Message,
}

#[derive(Debug, Clone)]
pub struct Cloudways {
    pub email: String,
    pub api_key: String,
    /// Platform access tokens `/api/v2` accepts as they are.
    pub access_tokens: Vec<String>,
    /// Past 2026-10-15: the exchange refuses every API key.
    pub api_keys_retired: bool,
    pub v2_errors: V2Errors,
    pub servers: Vec<Server>,
    tokens: Vec<(String, Instant)>,
    pub token_ttl: Duration,
    pub logins: u32,
    pub unknown_app_status: u16,
    pub alias_answer: AliasAnswer,
    pub aliases_field_required: bool,
    pub lets_encrypt_shape: LetsEncryptShape,
    pub polls_to_complete: u32,
    pub failing: BTreeSet<String>,
    pub failure: Failure,
    pub operations: Vec<Operation>,
    pub installs: Vec<Install>,
    pub rate_limit: Option<usize>,
    /// Revokes every token once, after this many authenticated answers (a token that
    /// expired early).
    pub revoke_after: Option<u32>,
    served: u32,
    calls: Vec<Instant>,
    next_op: u64,
}

impl Cloudways {
    /// One server with one app whose primary domain (`cname`) is `primary`.
    pub fn new(email: &str, api_key: &str, server: u64, app: u64, primary: &str) -> Self {
        Cloudways {
            email: email.into(),
            api_key: api_key.into(),
            access_tokens: vec![],
            api_keys_retired: false,
            v2_errors: V2Errors::OAuth,
            servers: vec![Server {
                id: server,
                apps: vec![App {
                    id: app,
                    label: "network".into(),
                    cname: primary.into(),
                    aliases: vec![],
                    certificate: None,
                }],
            }],
            tokens: vec![],
            token_ttl: Duration::from_secs(3600),
            logins: 0,
            unknown_app_status: 403,
            alias_answer: AliasAnswer::Empty,
            aliases_field_required: false,
            lets_encrypt_shape: LetsEncryptShape::Text,
            polls_to_complete: 2,
            failing: BTreeSet::new(),
            failure: Failure::CompletedWithError,
            operations: vec![],
            installs: vec![],
            rate_limit: None,
            revoke_after: None,
            served: 0,
            calls: vec![],
            next_op: 596_280,
        }
    }

    pub fn app(&self, server: u64, app: u64) -> &App {
        self.find(server, app).expect("no such app")
    }

    pub fn app_mut(&mut self, server: u64, app: u64) -> &mut App {
        self.servers
            .iter_mut()
            .find(|s| s.id == server)
            .and_then(|s| s.apps.iter_mut().find(|a| a.id == app))
            .expect("no such app")
    }

    fn find(&self, server: u64, app: u64) -> Option<&App> {
        self.servers
            .iter()
            .find(|s| s.id == server)
            .and_then(|s| s.apps.iter().find(|a| a.id == app))
    }

    /// Forgets every token (they expired early).
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    fn login(&mut self, request: &Request) -> Response {
        let mut fields = request.form_pairs();
        if let Ok(Value::Object(body)) = request.json() {
            for (k, v) in body {
                if let Some(v) = v.as_str() {
                    fields.push((k, v.to_string()));
                }
            }
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        // An access token is no API key: the exchange refuses it like a wrong key
        // (panel-apis-b.md §1.2), and so it does every key after the cut-off.
        if self.api_keys_retired
            || get("email").as_deref() != Some(self.email.as_str())
            || get("api_key").as_deref() != Some(self.api_key.as_str())
        {
            return Response::json(
                401,
                &json!({"error": "invalid_credentials",
                        "error_description": "The user credentials were incorrect."}),
            );
        }
        self.logins += 1;
        let token = format!("cw-access-{}-{:x}", self.logins, self.next_op * 31);
        self.tokens.push((token.clone(), Instant::now()));
        Response::json(
            200,
            &json!({"access_token": token, "token_type": "Bearer",
                    "expires_in": self.token_ttl.as_secs()}),
        )
    }

    /// A refused token in the shape of the version asked.
    fn auth_error(&self, v2: bool, status: u16, error: &str, description: &str) -> Response {
        if v2 && self.v2_errors == V2Errors::Message {
            return Response::json(status, &json!({"message": description}));
        }
        Response::json(
            status,
            &json!({"error": error, "error_description": description}),
        )
    }

    fn route(&mut self, request: &Request) -> Response {
        let (v2, path) = if let Some(path) = request.path.strip_prefix("/api/v1") {
            (false, path)
        } else if let Some(path) = request.path.strip_prefix("/api/v2") {
            (true, path)
        } else {
            return Response::json(404, &json!({"error": "Not Found"}));
        };
        if request.method == "POST" && path == "/oauth/access_token" {
            return self.login(request);
        }
        let Some(bearer) = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            if v2 && self.v2_errors == V2Errors::Message {
                return Response::json(400, &json!({"message": "Access Token not provided"}));
            }
            return Response::json(400, &json!({"error": "Access Token not provided"}));
        };
        // v1: tokens from the exchange; v2: the platform's access tokens as they are.
        let valid = if v2 {
            self.access_tokens.iter().any(|t| t == bearer)
        } else {
            self.tokens
                .iter()
                .any(|(t, at)| t == bearer && at.elapsed() < self.token_ttl)
        };
        if !valid {
            return self.auth_error(
                v2,
                401,
                "invalid_token",
                "The access token provided is invalid or has expired.",
            );
        }
        self.served += 1;
        if self.revoke_after.is_some_and(|n| self.served > n) {
            self.tokens.clear();
            self.revoke_after = None;
            return Response::json(
                401,
                &json!({"error": "invalid_token",
                        "error_description": "The access token provided is invalid or has expired."}),
            );
        }
        if let Some(limit) = self.rate_limit {
            self.calls.retain(|t| t.elapsed() < Duration::from_secs(60));
            if self.calls.len() >= limit {
                return Response::json(429, &json!({"error": "Too Many Attempts."}));
            }
            self.calls.push(Instant::now());
        }
        match (request.method.as_str(), path) {
            ("GET", "/server") => self.server_list(),
            ("POST", "/app/manage/aliases") => self.aliases(request),
            ("POST", "/security/lets_encrypt_install") => self.install(request),
            ("GET", p) if p.starts_with("/operation/") => self.operation(&p["/operation/".len()..]),
            _ => Response::json(404, &json!({"error": "Not Found"})),
        }
    }

    fn server_list(&self) -> Response {
        Response::json(200, &self.server_list_body())
    }

    /// The body of `GET /server`, passwords and all.
    pub fn server_list_body(&self) -> Value {
        let servers: Vec<Value> = self
            .servers
            .iter()
            .map(|s| {
                let apps: Vec<Value> = s
                    .apps
                    .iter()
                    .map(|a| {
                        let lets_encrypt = match (&a.certificate, self.lets_encrypt_shape) {
                            (None, _) => Value::Null,
                            (Some(_), LetsEncryptShape::Text) => json!("2026-01-01 10:00:00"),
                            (Some(d), LetsEncryptShape::Object) => {
                                json!({"ssl_domains": d, "wild_card": false, "auto": true})
                            }
                        };
                        json!({"id": a.id.to_string(), "label": a.label,
                               "application": "wordpressmu", "app_version": "6.5",
                               "app_fqdn": format!("wordpress-{}.cloudwaysapps.com", a.id),
                               "app_user": format!("app-user-{}", a.id),
                               "app_password": app_password(a.id),
                               "sys_user": format!("sysuser{}", a.id),
                               "sys_password": sys_password(a.id),
                               "mysql_db_name": format!("db{}", a.id),
                               "mysql_user": format!("db{}", a.id),
                               "mysql_password": mysql_password(a.id),
                               "cname": a.cname, "aliases": a.aliases,
                               "symlink": null, "webroot": null, "is_csr_available": false,
                               "server_id": s.id.to_string(), "project_id": "1",
                               "lets_encrypt": lets_encrypt })
                    })
                    .collect();
                json!({"id": s.id.to_string(), "label": "network-server", "status": "running",
                       "cloud": "do", "public_ip": "203.0.113.10",
                       "master_user": "master_network", "master_password": master_password(s.id),
                       "server_fqdn": format!("{}.cloudwaysapps.com", s.id), "apps": apps})
            })
            .collect();
        json!({"status": true, "servers": servers})
    }

    /// `server_id` and `app_id` as integers of an app of the account, or the refusal.
    fn target(&self, fields: &[(String, String)]) -> Result<(u64, u64), Response> {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut errors = serde_json::Map::new();
        let server = get("server_id").and_then(|v| v.parse::<u64>().ok());
        let app = get("app_id").and_then(|v| v.parse::<u64>().ok());
        if server.is_none() {
            errors.insert(
                "server_id".into(),
                json!([{"code": "integer", "message": "The server id must be an integer."}]),
            );
        }
        if app.is_none() {
            errors.insert(
                "app_id".into(),
                json!([{"code": "integer", "message": "The app id must be an integer."}]),
            );
        }
        let (Some(server), Some(app)) = (server, app) else {
            return Err(Response::json(422, &Value::Object(errors)));
        };
        if self.find(server, app).is_none() {
            return Err(Response::json(
                self.unknown_app_status,
                &json!({"error": "You do not have access to this resource.",
                        "message": "Application not found or you are not authorized to access it."}),
            ));
        }
        Ok((server, app))
    }

    fn aliases(&mut self, request: &Request) -> Response {
        let fields = request.form_pairs();
        let (server, app) = match self.target(&fields) {
            Ok(t) => t,
            Err(refusal) => return refusal,
        };
        let list = list_field(&fields, "aliases");
        let field_sent = fields.iter().any(|(k, _)| {
            k == "aliases"
                || k.strip_prefix("aliases[")
                    .is_some_and(|rest| rest.ends_with(']'))
        });
        if !field_sent && self.aliases_field_required {
            return Response::json(
                422,
                &json!({"aliases": [{"code": "required", "message": "The aliases field is required."}]}),
            );
        }
        for alias in &list {
            if !crate::serverpilot::valid_hostname(alias.trim_start_matches("*.")) {
                return Response::json(
                    422,
                    &json!({"aliases": [{"code": "invalid", "message": format!("{alias} is not a valid domain.")}]}),
                );
            }
        }
        let mut unique: Vec<String> = Vec::new();
        for a in list {
            if !unique.contains(&a) {
                unique.push(a);
            }
        }
        self.app_mut(server, app).aliases = unique;
        match self.alias_answer {
            AliasAnswer::Empty => Response::json(200, &json!({})),
            AliasAnswer::Status => Response::json(200, &json!({"status": true})),
        }
    }

    fn install(&mut self, request: &Request) -> Response {
        let fields = request.form_pairs();
        let (server, app) = match self.target(&fields) {
            Ok(t) => t,
            Err(refusal) => return refusal,
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let email = get("ssl_email");
        if !email.contains('@') {
            return Response::json(
                422,
                &json!({"ssl_email": [{"code": "email", "message": "The ssl email must be a valid email address."}]}),
            );
        }
        let domains = list_field(&fields, "ssl_domains");
        if domains.is_empty() {
            return Response::json(
                422,
                &json!({"ssl_domains": [{"code": "required", "message": "The ssl domains field is required."}]}),
            );
        }
        let served = self.app(server, app).clone();
        for d in &domains {
            if served.cname != *d && !served.aliases.contains(d) {
                return Response::json(
                    422,
                    &json!({"ssl_domains": [{"code": "invalid", "message": format!("{d} is not a domain of this application.")}]}),
                );
            }
        }
        self.installs.push(Install {
            ssl_email: email,
            wild_card: get("wild_card"),
            domains: domains.clone(),
        });
        self.next_op += 1;
        // Let's Encrypt refuses an order of more than 100 names.
        let failed = domains.iter().any(|d| self.failing.contains(d)) || domains.len() > 100;
        self.operations.push(Operation {
            id: self.next_op,
            server_id: server,
            app_id: app,
            domains,
            reads: 0,
            completed: false,
            failed,
        });
        Response::json(200, &json!({"operation_id": self.next_op}))
    }

    fn operation(&mut self, id: &str) -> Response {
        let polls = self.polls_to_complete;
        let failure = self.failure;
        let Some(i) = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.operations.iter().position(|o| o.id == id))
        else {
            return Response::json(404, &json!({"error": "Operation not found"}));
        };
        let op = &mut self.operations[i];
        op.reads += 1;
        if !op.completed && op.reads >= polls {
            op.completed = true;
        }
        let op = op.clone();
        let (is_completed, status, message) = match (op.completed, op.failed, failure) {
            (false, _, _) => ("0", "Process is initiated", "Process is initiated"),
            (true, false, _) => (
                "1",
                "Operation completed",
                "SSL certificate installed successfully",
            ),
            (true, true, Failure::CompletedWithError) => (
                "1",
                "Failed",
                "Unable to verify domain ownership: DNS does not point to this server",
            ),
            (true, true, Failure::Negative) => ("-1", "", ""),
        };
        if op.completed && !op.failed {
            self.app_mut(op.server_id, op.app_id).certificate = Some(op.domains.clone());
        }
        Response::json(
            200,
            &json!({"operation": {"id": op.id.to_string(), "type": "lets_encrypt_install",
                    "server_id": op.server_id.to_string(), "app_id": op.app_id.to_string(),
                    "estimated_time_remaining": "1", "frontend_step_number": "1",
                    "status": status, "is_completed": is_completed, "message": message}}),
        )
    }
}

impl Panel for Cloudways {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        let servers: Vec<Value> = self
            .servers
            .iter()
            .map(|s| {
                json!({"id": s.id, "apps": s.apps.iter().map(|a| json!({
                    "id": a.id, "cname": a.cname, "aliases": a.aliases,
                    "certificate": a.certificate })).collect::<Vec<_>>()})
            })
            .collect();
        json!({"panel": "cloudways", "servers": servers, "logins": self.logins})
    }
}

/// The account's passwords as `GET /server` shows them (fixed per id, so tests can look for
/// them in any output).
pub fn master_password(server: u64) -> String {
    format!("MasterPw-{server}-q8Zr")
}
pub fn app_password(app: u64) -> String {
    format!("AppPw-{app}-x7Kd")
}
pub fn sys_password(app: u64) -> String {
    format!("SysPw-{app}-m3Vt")
}
pub fn mysql_password(app: u64) -> String {
    format!("MysqlPw-{app}-p5Hn")
}

/// `name[]=a&name[]=b` or `name[0]=a&name[1]=b` (PHP's `http_build_query`).
fn list_field(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
                .is_some_and(|index| index.is_empty() || index.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_array_forms_are_read() {
        let fields = vec![
            ("aliases[]".to_string(), "a.com".to_string()),
            ("aliases[1]".to_string(), "B.com".to_string()),
            ("aliasesx".to_string(), "c.com".to_string()),
            ("server_id".to_string(), "1".to_string()),
        ];
        assert_eq!(list_field(&fields, "aliases"), ["a.com", "b.com"]);
    }

    fn request(method: &str, path: &str, body: &str, bearer: Option<&str>) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: match bearer {
                Some(b) => vec![("authorization".to_string(), format!("Bearer {b}"))],
                None => vec![(
                    "content-type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                )],
            },
            body: body.as_bytes().to_vec(),
            received: std::time::Instant::now(),
        }
    }

    fn panel() -> Cloudways {
        let mut cw = Cloudways::new("me@example.com", "key-1", 1, 2, "net.example");
        cw.access_tokens.push("platform-token-1".into());
        cw
    }

    #[test]
    fn v2_takes_the_access_token_as_it_is_and_v1_does_not() {
        let mut cw = panel();
        let r = cw.handle(&request(
            "GET",
            "/api/v2/server",
            "",
            Some("platform-token-1"),
        ));
        assert_eq!(r.status, 200);
        let r = cw.handle(&request(
            "GET",
            "/api/v1/server",
            "",
            Some("platform-token-1"),
        ));
        assert_eq!(r.status, 401);
        let r = cw.handle(&request("GET", "/api/v2/server", "", Some("other")));
        assert_eq!(r.status, 401);
        let r = cw.handle(&request("GET", "/api/v2/server", "", None));
        assert_eq!(r.status, 400);
        cw.v2_errors = V2Errors::Message;
        let r = cw.handle(&request("GET", "/api/v2/server", "", Some("other")));
        assert_eq!(r.status, 401);
        assert!(String::from_utf8_lossy(&r.body).contains("\"message\""));
        assert_eq!(cw.logins, 0);
    }

    #[test]
    fn the_exchange_refuses_an_access_token_and_retired_keys() {
        let mut cw = panel();
        let login = |key: &str| {
            request(
                "POST",
                "/api/v1/oauth/access_token",
                &format!("email=me%40example.com&api_key={key}"),
                None,
            )
        };
        let r = cw.handle(&login("platform-token-1"));
        assert_eq!(r.status, 401);
        assert!(String::from_utf8_lossy(&r.body).contains("invalid_credentials"));
        assert_eq!(cw.handle(&login("key-1")).status, 200);
        cw.api_keys_retired = true;
        let r = cw.handle(&login("key-1"));
        assert_eq!(r.status, 401);
        assert!(String::from_utf8_lossy(&r.body).contains("invalid_credentials"));
    }
}
