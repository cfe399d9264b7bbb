//! DirectAdmin's legacy `CMD_API_*` commands (`panel-apis-a.md` §4, checklist §4.5).
//!
//! - HTTP Basic `user:password` or `user:<login key>`. Anything else gets the HTML login
//!   page, with HTTP 200 (`login_page_status` to change it).
//! - A login key may be limited to some commands: others answer `error=1` with a "not
//!   allowed" text (UNVERIFIED wording).
//! - Answers are `error=0&text=…&details=…` URL-encoded; with `json=yes` they are JSON
//!   (`json_mode`; the JSON shapes are UNVERIFIED: `{"error":"1","text","details"}`, and a
//!   pointer list as `{"name":"alias"}` or, with `json_pointer_objects`, `{"name":{"type":
//!   "alias"}}`).
//! - `CMD_API_LOGIN_TEST`: `error=0&text=Login OK&details=none`.
//! - `CMD_API_DOMAIN_POINTER`: `GET ?domain=` lists the pointers (`name=alias|pointer`);
//!   `POST action=add&from=&alias=yes` adds one, `action=delete&select0..N` deletes. A domain
//!   the user does not own, a name that exists anywhere on the server, a missing pointer and
//!   the pointer limit are `error=1` with `text` and `details` (UNVERIFIED texts).
//! - `post_blocked`: 405 for POST, as `api_access` hardening does.

use crate::server::{Panel, Request, Response, basic_credentials};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct LoginKey {
    pub key: String,
    /// Commands the key may run; `None`: all.
    pub commands: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct DirectAdmin {
    pub user: String,
    pub password: String,
    pub keys: Vec<LoginKey>,
    /// The user's domains → their pointers (name → is an alias).
    pub domains: BTreeMap<String, BTreeMap<String, bool>>,
    /// Domains and pointers of other users on the server.
    pub elsewhere: Vec<String>,
    pub pointer_limit: Option<usize>,
    pub login_page_status: u16,
    pub json_mode: bool,
    pub json_pointer_objects: bool,
    pub post_blocked: bool,
}

impl DirectAdmin {
    pub fn new(user: &str, password: &str, domain: &str) -> Self {
        DirectAdmin {
            user: user.into(),
            password: password.into(),
            keys: vec![],
            domains: BTreeMap::from([(domain.to_string(), BTreeMap::new())]),
            elsewhere: vec![],
            pointer_limit: None,
            login_page_status: 200,
            json_mode: true,
            json_pointer_objects: false,
            post_blocked: false,
        }
    }

    pub fn pointers(&self, domain: &str) -> Vec<String> {
        self.domains
            .get(domain)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn exists(&self, name: &str) -> bool {
        self.domains.contains_key(name)
            || self.domains.values().any(|p| p.contains_key(name))
            || self.elsewhere.iter().any(|e| e == name)
    }

    /// §4.2 [FIELD] Ultimate-Multisite PR #1671: wrong credentials get the HTML login page,
    /// "typically HTTP 200"; the status is unverified, so both served (`login_page_status`).
    fn login_page(&self) -> Response {
        Response {
            status: self.login_page_status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: b"<html><head><title>DirectAdmin Login</title></head><body><form action=\"/CMD_LOGIN\" method=\"post\"><input type=\"text\" name=\"username\"><input type=\"password\" name=\"password\"></form></body></html>".to_vec(),
        }
    }

    /// §4.1 [DOC] DA api: HTTP Basic with the password or a login key.
    fn route(&mut self, request: &Request) -> Response {
        let Some((user, secret)) = basic_credentials(request) else {
            return self.login_page();
        };
        let key = self.keys.iter().find(|k| k.key == secret).cloned();
        let password_ok = !self.password.is_empty() && secret == self.password;
        if user != self.user || (!password_ok && key.is_none()) {
            return self.login_page();
        }
        let params = request.form_params();
        let json = self.json_mode && params.get("json").map(String::as_str) == Some("yes");
        let command = request.path.trim_start_matches('/').to_string();
        // §4.1/§4.2: per-key command allowlists ([3P] rubydoc direct_admin; [FIELD] ref
        // 57374956197); the refusal's text is unverified (the component reads `error=1`).
        if let Some(key) = &key
            && let Some(allowed) = &key.commands
            && !allowed.contains(&command)
        {
            return failure(
                json,
                "You cannot execute that command",
                &format!("This login key is not allowed to run {command}"),
            );
        }
        // §4.2 [3P] ref 55836252280: 405 when `api_access` hardening blocks POST.
        if request.method == "POST" && self.post_blocked {
            return Response {
                status: 405,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"Method Not Allowed".to_vec(),
            };
        }
        match command.as_str() {
            // §4.3: "Login OK" ([FIELD] ref 67104503539); pointers list/add/delete ([3P] refs
            // 16715311500, 18382226866, 55836252280); `error=1&text&details` is the error shape
            // ([DOC] DA legacy), the texts of duplicate/missing pointers are unverified (§4.4).
            "CMD_API_LOGIN_TEST" => success(json, "Login OK"),
            "CMD_API_DOMAIN_POINTER" => self.pointer(request, &params, json),
            _ => Response {
                status: 404,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"Not Found".to_vec(),
            },
        }
    }

    fn pointer(&mut self, request: &Request, p: &BTreeMap<String, String>, json: bool) -> Response {
        let domain = p
            .get("domain")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !self.domains.contains_key(&domain) {
            return failure(
                json,
                "You do not own that domain",
                &format!("{domain} is not one of your domains"),
            );
        }
        let action = p.get("action").cloned().unwrap_or_default();
        if request.method == "GET" || action.is_empty() {
            let list = &self.domains[&domain];
            if json {
                let map: Map<String, Value> = list
                    .iter()
                    .map(|(n, alias)| {
                        let kind = if *alias { "alias" } else { "pointer" };
                        let value = if self.json_pointer_objects {
                            json!({ "type": kind })
                        } else {
                            json!(kind)
                        };
                        (n.clone(), value)
                    })
                    .collect();
                return Response::json(200, &Value::Object(map));
            }
            let body = list
                .iter()
                .map(|(n, alias)| format!("{n}={}", if *alias { "alias" } else { "pointer" }))
                .collect::<Vec<_>>()
                .join("&");
            return text(&body);
        }
        match action.as_str() {
            "add" => {
                let from = p
                    .get("from")
                    .cloned()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if !crate::serverpilot::valid_hostname(&from) {
                    return failure(
                        json,
                        "Cannot create pointer",
                        &format!("{from} is not a valid domain"),
                    );
                }
                if self.exists(&from) {
                    return failure(
                        json,
                        "Cannot create pointer",
                        &format!("That domain already exists on this server<br>\n{from}"),
                    );
                }
                if let Some(limit) = self.pointer_limit
                    && self.domains[&domain].len() >= limit
                {
                    return failure(
                        json,
                        "Cannot create pointer",
                        &format!("You have reached your domain pointer limit of {limit}"),
                    );
                }
                let alias = p.get("alias").map(String::as_str) == Some("yes");
                self.domains
                    .get_mut(&domain)
                    .expect("owned")
                    .insert(from, alias);
                success(json, "Domain Pointer Created")
            }
            "delete" => {
                let names: Vec<String> = (0..)
                    .map_while(|i| p.get(&format!("select{i}")).cloned())
                    .map(|n| n.to_ascii_lowercase())
                    .collect();
                let list = self.domains.get_mut(&domain).expect("owned");
                if let Some(missing) = names.iter().find(|n| !list.contains_key(*n)) {
                    return failure(
                        json,
                        "Error while deleting pointers",
                        &format!("Domain pointer {missing} does not exist"),
                    );
                }
                for n in &names {
                    list.remove(n);
                }
                success(json, "Domain Pointer(s) Deleted")
            }
            other => failure(json, "Unknown action", &format!("action={other}")),
        }
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn text(body: &str) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn success(json: bool, message: &str) -> Response {
    if json {
        return Response::json(
            200,
            &json!({ "error": "0", "text": message, "details": "" }),
        );
    }
    text(&format!("error=0&text={}&details=none", encode(message)))
}

fn failure(json: bool, message: &str, details: &str) -> Response {
    if json {
        return Response::json(
            200,
            &json!({ "error": "1", "text": message, "details": details }),
        );
    }
    text(&format!(
        "error=1&text={}&details={}",
        encode(message),
        encode(details)
    ))
}

impl Panel for DirectAdmin {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({
            "panel": "directadmin", "user": self.user,
            "domains": self.domains.iter().map(|(d, p)| (d.clone(), json!(p))).collect::<Map<String, Value>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::basic_header;
    use std::time::Instant;

    fn request(method: &str, path: &str, query: &str, body: &str, auth: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![
                ("authorization".into(), auth.into()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: body.as_bytes().to_vec(),
            received: Instant::now(),
        }
    }

    #[test]
    fn a_bad_password_gets_the_login_page_with_200() {
        let mut da = DirectAdmin::new("u", "pw", "main.com");
        let r = da.handle(&request(
            "GET",
            "/CMD_API_LOGIN_TEST",
            "",
            "",
            &basic_header("u", "no"),
        ));
        assert_eq!(r.status, 200);
        assert!(String::from_utf8_lossy(&r.body).contains("<form"));
    }

    #[test]
    fn pointers_are_added_listed_and_deleted_in_both_formats() {
        let mut da = DirectAdmin::new("u", "pw", "main.com");
        let auth = basic_header("u", "pw");
        let r = da.handle(&request(
            "POST",
            "/CMD_API_DOMAIN_POINTER",
            "",
            "domain=main.com&action=add&from=a.com&alias=yes",
            &auth,
        ));
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            "error=0&text=Domain%20Pointer%20Created&details=none"
        );
        let r = da.handle(&request(
            "POST",
            "/CMD_API_DOMAIN_POINTER",
            "",
            "domain=main.com&action=add&from=a.com&alias=yes",
            &auth,
        ));
        assert!(String::from_utf8_lossy(&r.body).starts_with("error=1"));
        let r = da.handle(&request(
            "GET",
            "/CMD_API_DOMAIN_POINTER",
            "domain=main.com&json=yes",
            "",
            &auth,
        ));
        assert_eq!(String::from_utf8_lossy(&r.body), r#"{"a.com":"alias"}"#);
        let r = da.handle(&request(
            "POST",
            "/CMD_API_DOMAIN_POINTER",
            "",
            "domain=main.com&action=delete&select0=a.com",
            &auth,
        ));
        assert!(String::from_utf8_lossy(&r.body).starts_with("error=0"));
        assert!(da.pointers("main.com").is_empty());
    }
}
