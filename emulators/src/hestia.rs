//! HestiaCP's `/api/` (`panel-apis-a.md` §5, emulator checklist §5.8).
//!
//! - `POST /api/` with form fields (when `access_key`, `user` or `hash` is one of them) or a
//!   JSON body; `/api` without the slash is a 301 to `/api/` (`redirect_bare_api`, as
//!   nginx does for the directory; UNVERIFIED, so it can be turned off: then 404). Nothing
//!   readable is 405 "Error: data received is null or invalid, …".
//! - Auth: `access_key` + `secret_key`, or `hash=ACCESS:SECRET` (split when the parts are 20
//!   and 40 characters): the key mode (`api_connection`). Otherwise the legacy mode
//!   (`api_legacy`): `user` must be the admin, with its `password` or the legacy API `hash`.
//!   Unknown key / bad secret / bad password: exit 9 (401); a key without permission for
//!   the command, or a legacy user that is not the admin: 10 (401); API off: 11 (400; the
//!   legacy mode prints its text and then the answer).
//! - Answers, as `web/api/index.php`: `returncode=yes` → HTTP 200 with the exit code as the
//!   body and `Hestia-Exit-Code`; `returncode=no` → key mode: exit 0 is 200 with the output
//!   (JSON typed as such) or 204 when there is none, exit N is the HTTP status of
//!   `exit_code_to_http_code` with the output (`Error: …`); legacy mode: 200 with the output
//!   and a newline, or `OK`, whatever the exit code.
//! - State: users → web domains → their `ALIAS` list. `v-add-web-domain-alias`
//!   (`bin/v-add-web-domain-alias`): an empty list is 2 "Invalid alias format: empty"; an
//!   alias must be new on the whole server (`is_domain_new`, exit 4: "Web alias X exists",
//!   "Web domain X exists"; `is_base_domain_owner`: "… belongs to a different user"); then
//!   `is_package_full 'WEB_ALIASES'` (`func/main.sh`) counts the whole list with the new
//!   aliases against the package's `WEB_ALIASES` (`alias_limit`) and answers 8 "WEB_ALIASES
//!   limit is reached :: upgrade user package" when it is exceeded; a suspended domain is 5.
//!   `v-delete-web-domain-alias`: an alias not in the list is 3 "alias X doesn't exist".
//! - `v-add-letsencrypt-domain USER DOMAIN [ALIASES]` (`bin/v-add-letsencrypt-domain`):
//!   every alias must be on the domain (3 "domain alias X doesn't exist"); one order for the
//!   domain and all the aliases: more than 100 names is refused by Let's Encrypt's new-order
//!   (15 "Let's Encrypt new auth status 400"), and a name whose DNS does not point here
//!   (`le_failing`) fails the whole run (15 "Let's Encrypt validation status 400 (…)",
//!   naming the name); otherwise the certificate covers exactly the domain and the listed
//!   aliases, replacing the one before (new aliases are never added to it on their own).
//! - `v-list-web-domain-ssl USER DOMAIN json` (`bin/v-list-web-domain-ssl`, `json_list`):
//!   `{DOMAIN: {CRT, KEY, CA, SUBJECT, ALIASES, NOT_BEFORE, NOT_AFTER, SIGNATURE, PUB_KEY,
//!   ISSUER}}`, `SUBJECT` the common name and `ALIASES` every DNS name of the certificate
//!   joined by commas; `KEY` is the private key (served, so a test can show it never reaches
//!   any output); all empty without a certificate.

use crate::server::{Panel, Request, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub access: String,
    pub secret: String,
    pub user: String,
    /// Commands the key may run; `None`: all.
    pub commands: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebDomain {
    pub aliases: Vec<String>,
    pub letsencrypt: bool,
    /// Names the current certificate covers.
    pub certificate: Vec<String>,
    pub suspended: bool,
}

#[derive(Debug, Clone)]
pub struct Hestia {
    pub admin: String,
    pub password: String,
    /// The legacy API hash (`hash=<key>` with `user`).
    pub legacy_hash: String,
    pub keys: Vec<AccessKey>,
    /// user → web domain → state.
    pub users: BTreeMap<String, BTreeMap<String, WebDomain>>,
    /// The package's WEB_ALIASES per web domain (`is_package_full`).
    pub alias_limit: Option<usize>,
    pub api_enabled: bool,
    pub redirect_bare_api: bool,
    /// Names whose DNS does not point here: Let's Encrypt cannot validate them.
    pub le_failing: Vec<String>,
    pub le_runs: u32,
    /// The next alias change applies, then the restart fails (exit 20).
    pub restart_fails: bool,
    /// Every command run (after authentication): `cmd arg1 arg2 …`.
    pub commands: Vec<String>,
}

const WRITES: &[&str] = &[
    "v-add-web-domain-alias",
    "v-delete-web-domain-alias",
    "v-add-letsencrypt-domain",
    "v-add-web-domain",
    "v-delete-web-domain",
];

impl Hestia {
    pub fn new(admin: &str, password: &str) -> Self {
        Hestia {
            admin: admin.into(),
            password: password.into(),
            legacy_hash: String::new(),
            keys: vec![],
            users: BTreeMap::new(),
            alias_limit: None,
            api_enabled: true,
            redirect_bare_api: true,
            le_failing: vec![],
            le_runs: 0,
            restart_fails: false,
            commands: vec![],
        }
    }

    pub fn add_user_domain(&mut self, user: &str, domain: &str, aliases: &[&str]) {
        self.users.entry(user.into()).or_default().insert(
            domain.into(),
            WebDomain {
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
                ..WebDomain::default()
            },
        );
    }

    pub fn domain(&self, user: &str, domain: &str) -> Option<&WebDomain> {
        self.users.get(user)?.get(domain)
    }

    pub fn domain_mut(&mut self, user: &str, domain: &str) -> Option<&mut WebDomain> {
        self.users.get_mut(user)?.get_mut(domain)
    }

    /// The commands run that change the panel.
    pub fn writes(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter(|c| WRITES.iter().any(|w| c.split(' ').next() == Some(w)))
            .cloned()
            .collect()
    }

    fn route(&mut self, request: &Request) -> Response {
        match request.path.as_str() {
            "/api/" | "/api/index.php" => {}
            "/api" if self.redirect_bare_api => {
                return Response {
                    status: 301,
                    headers: vec![
                        ("location".into(), "/api/".into()),
                        ("content-type".into(), "text/html".into()),
                    ],
                    body: b"<html><head><title>301 Moved Permanently</title></head><body><center><h1>301 Moved Permanently</h1></center><hr><center>nginx</center></body></html>".to_vec(),
                };
            }
            _ => {
                return Response {
                    status: 404,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body: b"<html><head><title>404 Not Found</title></head><body>404 Not Found</body></html>".to_vec(),
                };
            }
        }
        let Some(data) = request_data(request) else {
            return text(
                405,
                "Error: data received is null or invalid, check https://hestiacp.com/docs/server-administration/rest-api.html",
            );
        };
        let field = |k: &str| data.get(k).cloned().unwrap_or_default();
        let code_mode = field("returncode") == "yes";
        let cmd = field("cmd").trim().to_string();
        let mut access = field("access_key");
        let mut secret = field("secret_key");
        let mut hash = field("hash");
        if let Some((a, s)) = hash.split_once(':')
            && a.len() == 20
            && s.len() == 40
        {
            access = a.into();
            secret = s.into();
            hash.clear();
        }
        let args: Vec<String> = (1..=13)
            .map(|i| data.get(&format!("arg{i}")).cloned())
            .take_while(Option::is_some)
            .flatten()
            .collect();
        if !access.is_empty() && !secret.is_empty() {
            // api_connection
            if !self.api_enabled {
                return api_error(11, "API has been disabled", code_mode);
            }
            let Some(key) = self.keys.iter().find(|k| k.access == access).cloned() else {
                return api_error(9, &format!("Access key {access} doesn't exist"), code_mode);
            };
            if key.secret != secret {
                return api_error(
                    9,
                    &format!("Invalid secret key for key {access}"),
                    code_mode,
                );
            }
            if let Some(allowed) = &key.commands
                && !allowed.iter().any(|c| c == &cmd)
            {
                return api_error(
                    10,
                    &format!("Key {access} don't have permission to run the command {cmd}"),
                    code_mode,
                );
            }
            let (exit, stdout) = self.execute(&cmd, &args);
            if code_mode {
                return code_answer(exit);
            }
            if exit == 0 {
                if stdout.is_empty() {
                    return Response {
                        status: 204,
                        headers: vec![],
                        body: vec![],
                    };
                }
                let json = serde_json::from_str::<Value>(&stdout).is_ok();
                return Response {
                    status: 200,
                    headers: vec![(
                        "content-type".into(),
                        if json {
                            "application/json"
                        } else {
                            "text/plain"
                        }
                        .into(),
                    )],
                    body: stdout.into_bytes(),
                };
            }
            return text(http_of(exit), &stdout);
        }
        // api_legacy
        if !self.api_enabled {
            let mut response = api_error(11, "authentication failed", code_mode);
            let mut body = b"Error: API has been disabled\n".to_vec();
            body.extend(response.body);
            response.body = body;
            response.status = 400;
            return response;
        }
        let user = field("user");
        let password = field("password");
        if user != self.admin {
            return api_error(10, "authentication failed", code_mode);
        }
        let good = if !hash.is_empty() {
            !self.legacy_hash.is_empty() && hash == self.legacy_hash
        } else {
            !password.is_empty() && password == self.password
        };
        if !good {
            return api_error(9, "authentication failed", code_mode);
        }
        let (exit, stdout) = self.execute(&cmd, &args);
        if code_mode {
            return code_answer(exit);
        }
        // The legacy mode ignores the command's exit code here.
        if stdout.is_empty() {
            text(200, "OK")
        } else {
            text(200, &format!("{stdout}\n"))
        }
    }

    fn execute(&mut self, cmd: &str, args: &[String]) -> (u32, String) {
        self.commands.push(
            std::iter::once(cmd.to_string())
                .chain(args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" "),
        );
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        let fail = |code: u32, message: String| (code, format!("Error: {message}"));
        let need = |n: usize, usage: &str| -> Result<(), (u32, String)> {
            if args.len() < n || args[..n].iter().any(|a| a.is_empty()) {
                Err((1, format!("Usage: {cmd} {usage}")))
            } else {
                Ok(())
            }
        };
        let user_ok = |this: &Self, user: &str| -> Result<(), (u32, String)> {
            if this.users.contains_key(user) {
                Ok(())
            } else {
                Err(fail(3, format!("user {user} doesn't exist")))
            }
        };
        let domain_ok = |this: &Self, user: &str, domain: &str| -> Result<(), (u32, String)> {
            user_ok(this, user)?;
            if this.domain(user, domain).is_some() {
                Ok(())
            } else {
                Err(fail(3, format!("web domain {domain} doesn't exist")))
            }
        };
        let result: Result<(u32, String), (u32, String)> = (|| match cmd {
            "v-list-web-domains" => {
                need(1, "USER [FORMAT]")?;
                user_ok(self, &arg(0))?;
                let all: Map<String, Value> = self.users[&arg(0)]
                    .iter()
                    .map(|(d, w)| (d.clone(), domain_json(w)))
                    .collect();
                Ok((0, Value::Object(all).to_string()))
            }
            "v-list-web-domain" => {
                need(2, "USER DOMAIN [FORMAT]")?;
                domain_ok(self, &arg(0), &arg(1))?;
                let w = self.domain(&arg(0), &arg(1)).cloned().unwrap_or_default();
                Ok((0, json!({ arg(1): domain_json(&w) }).to_string()))
            }
            "v-list-web-domain-ssl" => {
                need(2, "USER DOMAIN [FORMAT]")?;
                domain_ok(self, &arg(0), &arg(1))?;
                let w = self.domain(&arg(0), &arg(1)).cloned().unwrap_or_default();
                if w.certificate.is_empty() {
                    return Ok((
                        0,
                        json!({ arg(1): { "CRT": "", "KEY": "", "CA": "", "SUBJECT": "", "ALIASES": "",
                            "NOT_BEFORE": "", "NOT_AFTER": "", "SIGNATURE": "", "PUB_KEY": "", "ISSUER": "" } })
                        .to_string(),
                    ));
                }
                let subject = w.certificate.first().cloned().unwrap_or_default();
                let mut sans = w.certificate.clone();
                sans.sort();
                Ok((
                    0,
                    json!({ arg(1): { "CRT": "-----BEGIN CERTIFICATE-----\nMIIFemulated\n-----END CERTIFICATE-----",
                        "KEY": PRIVATE_KEY, "CA": "-----BEGIN CERTIFICATE-----\nMIIFca\n-----END CERTIFICATE-----",
                        "SUBJECT": subject, "ALIASES": sans.join(","),
                        "NOT_BEFORE": "Jan  1 00:00:00 2026 GMT", "NOT_AFTER": "Apr  1 00:00:00 2026 GMT",
                        "SIGNATURE": "sha256WithRSAEncryption", "PUB_KEY": "2048 bit", "ISSUER": "C = US, O = Let's Encrypt, CN = R11" } })
                    .to_string(),
                ))
            }
            "v-add-web-domain-alias" => {
                if args.len() >= 3 && arg(2).trim().is_empty() {
                    return Err(fail(2, "Invalid alias format: empty".into()));
                }
                need(3, "USER DOMAIN ALIASES [RESTART]")?;
                let (user, domain) = (arg(0), arg(1));
                domain_ok(self, &user, &domain)?;
                let aliases: Vec<String> = arg(2)
                    .split(',')
                    .map(|a| a.trim().to_ascii_lowercase())
                    .collect();
                let w = self.domain(&user, &domain).cloned().unwrap_or_default();
                if w.suspended {
                    return Err(fail(5, format!("web domain {domain} is suspended")));
                }
                for alias in &aliases {
                    if alias.is_empty() || !valid_alias(alias) {
                        return Err(fail(2, format!("invalid alias format :: {alias}")));
                    }
                    for (owner, domains) in &self.users {
                        if domains.contains_key(alias) {
                            return Err(fail(4, format!("Web domain {alias} exists")));
                        }
                        for web in domains.values() {
                            if web.aliases.contains(alias) {
                                return Err(if *owner == user {
                                    fail(4, format!("Web alias {alias} exists"))
                                } else {
                                    fail(
                                        4,
                                        format!(
                                            "Unable to add {alias}. {alias} belongs to a different user"
                                        ),
                                    )
                                });
                            }
                        }
                    }
                }
                if let Some(limit) = self.alias_limit
                    && w.aliases.len() + aliases.len() > limit
                {
                    return Err(fail(
                        8,
                        "WEB_ALIASES limit is reached :: upgrade user package".into(),
                    ));
                }
                if let Some(web) = self.domain_mut(&user, &domain) {
                    web.aliases.extend(aliases);
                }
                if std::mem::take(&mut self.restart_fails) && arg(3) != "no" {
                    return Err(fail(20, "restart of web failed".into()));
                }
                Ok((0, String::new()))
            }
            "v-delete-web-domain-alias" => {
                need(3, "USER DOMAIN ALIAS [RESTART]")?;
                let (user, domain, alias) = (arg(0), arg(1), arg(2).to_ascii_lowercase());
                domain_ok(self, &user, &domain)?;
                let web = self.domain_mut(&user, &domain).expect("checked");
                let Some(i) = web.aliases.iter().position(|a| *a == alias) else {
                    return Err(fail(3, format!("alias {alias} doesn't exist")));
                };
                web.aliases.remove(i);
                Ok((0, String::new()))
            }
            "v-add-letsencrypt-domain" => {
                need(2, "USER DOMAIN [ALIASES] [MAIL]")?;
                let (user, domain) = (arg(0), arg(1));
                domain_ok(self, &user, &domain)?;
                let web = self.domain(&user, &domain).cloned().unwrap_or_default();
                let aliases: Vec<String> = arg(2)
                    .split(',')
                    .map(|a| a.trim().to_ascii_lowercase())
                    .filter(|a| !a.is_empty())
                    .collect();
                for alias in &aliases {
                    if !web.aliases.contains(alias) {
                        return Err(fail(3, format!("domain alias {alias} doesn't exist")));
                    }
                }
                let mut names: Vec<String> = std::iter::once(domain.clone()).collect();
                for alias in aliases {
                    if !names.contains(&alias) {
                        names.push(alias);
                    }
                }
                self.le_runs += 1;
                if names.len() > 100 {
                    return Err(fail(
                        15,
                        format!("Let's Encrypt new auth status 400 ({domain})"),
                    ));
                }
                if let Some(bad) = names.iter().find(|n| self.le_failing.contains(n)) {
                    return Err(fail(
                        15,
                        format!(
                            "Let's Encrypt validation status 400 ({bad}). Details: 403:\"{bad}: Invalid response from http://{bad}/.well-known/acme-challenge/hV3k9Fz: 404\""
                        ),
                    ));
                }
                let web = self.domain_mut(&user, &domain).expect("checked");
                web.letsencrypt = true;
                web.certificate = names;
                Ok((0, String::new()))
            }
            _ => Err(fail(1, format!("command {cmd} not found"))),
        })();
        match result {
            Ok(ok) => ok,
            Err(err) => err,
        }
    }
}

/// The private key `v-list-web-domain-ssl` shows in `KEY`.
pub const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwHestiaEmulatorKey\n-----END PRIVATE KEY-----";

fn domain_json(w: &WebDomain) -> Value {
    json!({
        "IP": "203.0.113.10", "IP6": "", "DOCUMENT_ROOT": "/home/user/web/domain/public_html/",
        "U_DISK": "12", "U_BANDWIDTH": "0", "TPL": "wordpress", "ALIAS": w.aliases.join(","),
        "STATS": "", "STATS_USER": "", "SSL": if w.letsencrypt { "yes" } else { "no" },
        "SSL_HOME": "same", "LETSENCRYPT": if w.letsencrypt { "yes" } else { "no" },
        "FTP_USER": "", "FTP_PATH": "", "AUTH_USER": "", "BACKEND": "PHP-8_2",
        "PROXY": "default", "PROXY_EXT": "css,htm,html,js", "SUSPENDED": if w.suspended { "yes" } else { "no" },
        "TIME": "10:00:00", "DATE": "2026-01-01",
    })
}

fn valid_alias(alias: &str) -> bool {
    let name = alias.strip_prefix("*.").unwrap_or(alias);
    crate::serverpilot::valid_hostname(name)
}

/// `exit_code_to_http_code` (`web/inc/helpers.php`).
pub fn http_of(code: u32) -> u16 {
    match code {
        0 => 200,
        1 | 11 => 400,
        2 => 422,
        5 | 6 | 9 | 10 | 21 => 401,
        _ => 400,
    }
}

fn code_answer(code: u32) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/plain".into()),
            ("hestia-exit-code".into(), code.to_string()),
        ],
        body: code.to_string().into_bytes(),
    }
}

fn api_error(code: u32, message: &str, code_mode: bool) -> Response {
    let body = if code_mode {
        code.to_string()
    } else {
        format!("Error: {message}")
    };
    Response {
        status: http_of(code),
        headers: vec![
            ("content-type".into(), "text/plain".into()),
            ("hestia-exit-code".into(), code.to_string()),
        ],
        body: body.into_bytes(),
    }
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// `$_POST` when it has `access_key`, `user` or `hash`; else a JSON object body.
fn request_data(request: &Request) -> Option<BTreeMap<String, String>> {
    if request.method != "POST" {
        return None;
    }
    let form = request.form_params();
    if ["access_key", "user", "hash"]
        .iter()
        .any(|k| form.contains_key(*k))
    {
        return Some(form);
    }
    let json: Value = serde_json::from_slice(&request.body).ok()?;
    let object = json.as_object()?;
    Some(
        object
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
    )
}

impl Panel for Hestia {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({
            "panel": "hestia",
            "users": self.users.iter().map(|(u, d)| (u.clone(), d.iter().map(|(n, w)| (n.clone(), json!({
                "aliases": w.aliases, "letsencrypt": w.letsencrypt, "certificate": w.certificate,
            }))).collect::<Map<String, Value>>().into())).collect::<Map<String, Value>>(),
            "le_runs": self.le_runs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn post(body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/api/".into(),
            query: String::new(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.as_bytes().to_vec(),
            received: Instant::now(),
        }
    }

    fn hestia() -> Hestia {
        let mut h = Hestia::new("admin", "pw");
        h.add_user_domain("wpuser", "wp.example.com", &[]);
        h.keys.push(AccessKey {
            access: "A".repeat(20),
            secret: "S".repeat(40),
            user: "admin".into(),
            commands: None,
        });
        h
    }

    #[test]
    fn returncode_yes_answers_the_code_with_200() {
        let mut h = hestia();
        let r = h.handle(&post("user=admin&password=pw&returncode=yes&cmd=v-add-web-domain-alias&arg1=wpuser&arg2=wp.example.com&arg3=a.com"));
        assert_eq!((r.status, r.body.as_slice()), (200, b"0".as_slice()));
        let r = h.handle(&post("user=admin&password=pw&returncode=yes&cmd=v-add-web-domain-alias&arg1=wpuser&arg2=wp.example.com&arg3=a.com"));
        assert_eq!((r.status, r.body.as_slice()), (200, b"4".as_slice()));
        let r = h.handle(&post(
            "user=admin&password=bad&returncode=yes&cmd=v-list-web-domains&arg1=wpuser",
        ));
        assert_eq!((r.status, r.body.as_slice()), (401, b"9".as_slice()));
    }

    #[test]
    fn key_mode_maps_exit_codes_to_http_and_legacy_mode_does_not() {
        let mut h = hestia();
        let hash = format!("{}%3A{}", "A".repeat(20), "S".repeat(40));
        let r = h.handle(&post(&format!(
            "hash={hash}&returncode=no&cmd=v-list-web-domain&arg1=wpuser&arg2=nope.com&arg3=json"
        )));
        assert_eq!(r.status, 400);
        assert!(String::from_utf8_lossy(&r.body).starts_with("Error: web domain nope.com"));
        let r = h.handle(&post("user=admin&password=pw&returncode=no&cmd=v-list-web-domain&arg1=wpuser&arg2=nope.com&arg3=json"));
        assert_eq!(r.status, 200);
        assert!(String::from_utf8_lossy(&r.body).starts_with("Error: web domain nope.com"));
        let r = h.handle(&post(&format!("hash={hash}&returncode=no&cmd=v-add-web-domain-alias&arg1=wpuser&arg2=wp.example.com&arg3=b.com")));
        assert_eq!(r.status, 204);
    }
}
