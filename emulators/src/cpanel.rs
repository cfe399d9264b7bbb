//! cPanel's UAPI and API 2 for one account (`panel-apis-a.md` §2, emulator checklist §2.8).
//!
//! - `/execute/<Module>/<function>` answers the bare UAPI object `{messages, errors, status,
//!   metadata, data, warnings}`; `/json-api/cpanel` answers API 2's `{"cpanelresult": {...}}`
//!   (`cpanel_jsonapi_apiversion` or `cpanel_jsonapi_version`, default 2). GET query and POST
//!   form parameters are both read. Failures are HTTP 200: UAPI `status: 0` with `errors`,
//!   API 2 `data[0].result: 0` with `reason` and `cpanelresult.error`, `event.result: 1`.
//! - Auth: `Authorization: cpanel <user>:<token>` or HTTP Basic `<user>:<password>`. A bad
//!   password is 403 with API 2's "Access denied" JSON; a bad token is, as configured
//!   (`token_failure`, UNVERIFIED exact body), 401 text or the same 403 JSON. A token on any
//!   other path is 403 "Token authentication allows access to UAPI or API 2 calls only.";
//!   no credentials at all get the login page (401 HTML).
//! - State: the main domain, addon domains parked on `label.<main>` subdomains, parked
//!   domains, subdomains, and names other accounts on the server hold. A name that exists
//!   anywhere is "(XID …) The domain “X” already exists in the userdata."; a label whose
//!   subdomain exists is reused (as cPanel does); the addon limit, wildcards and `www` labels
//!   are refused with cPanel's texts; `deladdondomain` wants `<label>_<main>` and answers
//!   "The subdomain … does not correspond to …" otherwise; a subdomain an addon domain is
//!   parked on cannot be deleted.
//! - UAPI `AddonDomain` exists only from cPanel 11.138 (`uapi_addon`); before, the module
//!   fails to load, as cPanel's `Cpanel::API` says. Unknown functions are "The system could
//!   not find the function …".
//! - `addaddondomain` also creates an FTP account that counts against the account's FTP
//!   limit (UAPI spec 11.138, `AddonDomain::addaddondomain`: "The system also creates an FTP
//!   account for the addon domain, which counts against the account's FTP account limit").
//!   An account at its limit (`ftp_at_quota`) fails with "You have exceeded the maximum
//!   allowed FTP accounts." (`panel-apis-a.md` §2.5) unless `ftp_is_optional=1`, which API 2
//!   honours (§2.5, CPSRC `AddonDomain.pm`). Whether UAPI honours it is unverified (its spec
//!   lists `newdomain`, `subdomain`, `dir`, `disallowdot`): both shapes served,
//!   `uapi_ftp_optional` (default true) says.
//! - `SSL::start_autossl_check` queues a check (`status: 1, data: null`);
//!   `SSL::is_autossl_check_in_progress` answers 1 for `autossl_duration` afterwards. Both
//!   need the `sslinstall` feature.
//! - `DomainInfo::list_domains`: `main_domain` a string (`main_domain_as_array` answers the
//!   11.125 spec's array instead).

use crate::server::{Panel, Request, Response, basic_credentials};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    /// 401 with a short text (cpsrvd's "dnsadmin" error mode for tokens).
    Text401,
    /// 403 with API 2's "Access denied" JSON, as for a bad password.
    Json403,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addon {
    pub domain: String,
    pub label: String,
    pub dir: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sub {
    pub label: String,
    pub root: String,
    pub dir: String,
}

impl Sub {
    pub fn fqdn(&self) -> String {
        format!("{}.{}", self.label, self.root)
    }
}

#[derive(Debug, Clone)]
pub struct CPanel {
    pub user: String,
    pub token: String,
    pub password: String,
    pub main_domain: String,
    pub addons: Vec<Addon>,
    pub parked: Vec<String>,
    pub subs: Vec<Sub>,
    /// Domains other accounts on the server hold.
    pub elsewhere: Vec<String>,
    /// UAPI has the AddonDomain module (cPanel 11.138 and later).
    pub uapi_addon: bool,
    pub token_failure: TokenFailure,
    pub addon_limit: Option<usize>,
    /// The account has the `sslinstall` feature (AutoSSL calls).
    pub sslinstall: bool,
    pub autossl_runs: u32,
    pub autossl_duration: Duration,
    autossl_until: Option<Instant>,
    pub main_domain_as_array: bool,
    /// The account has as many FTP accounts as its package allows.
    pub ftp_at_quota: bool,
    /// UAPI `addaddondomain` reads `ftp_is_optional` as API 2 does (unverified).
    pub uapi_ftp_optional: bool,
}

impl CPanel {
    pub fn new(user: &str, token: &str, password: &str, main_domain: &str) -> Self {
        CPanel {
            user: user.into(),
            token: token.into(),
            password: password.into(),
            main_domain: main_domain.into(),
            addons: vec![],
            parked: vec![],
            subs: vec![],
            elsewhere: vec![],
            uapi_addon: true,
            token_failure: TokenFailure::Text401,
            addon_limit: None,
            sslinstall: true,
            autossl_runs: 0,
            autossl_duration: Duration::from_secs(60),
            autossl_until: None,
            main_domain_as_array: false,
            ftp_at_quota: false,
            uapi_ftp_optional: true,
        }
    }

    /// An addon domain created directly (test set-up), on `label.<main>`.
    pub fn seed_addon(&mut self, domain: &str, label: &str) {
        self.subs.push(Sub {
            label: label.into(),
            root: self.main_domain.clone(),
            dir: format!("/public_html/{label}"),
        });
        self.addons.push(Addon {
            domain: domain.into(),
            label: label.into(),
            dir: format!("/public_html/{label}"),
        });
    }

    pub fn seed_sub(&mut self, label: &str, root: &str) {
        self.subs.push(Sub {
            label: label.into(),
            root: root.into(),
            dir: "/public_html".into(),
        });
    }

    pub fn addon(&self, domain: &str) -> Option<&Addon> {
        self.addons.iter().find(|a| a.domain == domain)
    }

    pub fn sub(&self, fqdn: &str) -> Option<&Sub> {
        self.subs.iter().find(|s| s.fqdn() == fqdn)
    }

    pub fn autossl_in_progress(&self) -> bool {
        self.autossl_until.is_some_and(|t| Instant::now() < t)
    }

    /// The AutoSSL check ends now.
    pub fn finish_autossl(&mut self) {
        self.autossl_until = None;
    }

    fn exists(&self, name: &str) -> bool {
        name == self.main_domain
            || self.addons.iter().any(|a| a.domain == name)
            || self.parked.iter().any(|p| p == name)
            || self.subs.iter().any(|s| s.fqdn() == name)
            || self.elsewhere.iter().any(|e| e == name)
    }

    fn owns_root(&self, name: &str) -> bool {
        name == self.main_domain
            || self.addons.iter().any(|a| a.domain == name)
            || self.parked.iter().any(|p| p == name)
    }

    fn authenticate(&self, request: &Request) -> Result<bool, Response> {
        let header = request.header("authorization").unwrap_or("");
        if header.len() > 7 && header[..7].eq_ignore_ascii_case("cpanel ") {
            let credential = &header[7..];
            let good = credential.split_once(':').is_some_and(|(user, token)| {
                user == self.user && token == self.token && !self.token.is_empty()
            });
            if !good {
                return Err(match self.token_failure {
                    TokenFailure::Text401 => text(401, "Access denied\n"),
                    TokenFailure::Json403 => access_denied(),
                });
            }
            return Ok(true);
        }
        if header.to_ascii_lowercase().starts_with("basic ") {
            return match basic_credentials(request) {
                Some((user, password))
                    if user == self.user && password == self.password && !password.is_empty() =>
                {
                    Ok(false)
                }
                _ => Err(access_denied()),
            };
        }
        Err(Response {
            status: 401,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: b"<!DOCTYPE html><html><head><title>cPanel Login</title></head><body><form action=\"/login/\">...</form></body></html>".to_vec(),
        })
    }

    fn route(&mut self, request: &Request) -> Response {
        let token = match self.authenticate(request) {
            Ok(token) => token,
            Err(denied) => return denied,
        };
        let params = request.form_params();
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["execute", module, function] => self.uapi(module, function, &params),
            ["json-api", "cpanel"] => {
                let version = params
                    .get("cpanel_jsonapi_apiversion")
                    .or_else(|| params.get("cpanel_jsonapi_version"))
                    .cloned()
                    .unwrap_or_else(|| "2".into());
                let module = params
                    .get("cpanel_jsonapi_module")
                    .cloned()
                    .unwrap_or_default();
                let function = params
                    .get("cpanel_jsonapi_func")
                    .cloned()
                    .unwrap_or_default();
                if version != "2" {
                    return api2_failure(
                        &module,
                        &function,
                        &format!("API version {version} is not available here."),
                    );
                }
                self.api2(&module, &function, &params)
            }
            _ if token => text(
                403,
                "Token authentication allows access to UAPI or API 2 calls only.",
            ),
            _ => text(404, "Not Found"),
        }
    }

    fn uapi(&mut self, module: &str, function: &str, p: &BTreeMap<String, String>) -> Response {
        let known_module = match module {
            "AddonDomain" => self.uapi_addon,
            "DomainInfo" | "SubDomain" | "SSL" => true,
            _ => false,
        };
        if !known_module {
            return uapi_failure(&format!(
                "Failed to load module “{module}”: Can’t locate Cpanel/API/{module}.pm in @INC."
            ));
        }
        let result = match (module, function) {
            ("DomainInfo", "list_domains") => {
                let main = if self.main_domain_as_array {
                    json!([self.main_domain])
                } else {
                    json!(self.main_domain)
                };
                Ok(json!({
                    "main_domain": main,
                    "addon_domains": self.addons.iter().map(|a| &a.domain).collect::<Vec<_>>(),
                    "parked_domains": self.parked,
                    "sub_domains": self.subs.iter().map(Sub::fqdn).collect::<Vec<_>>(),
                }))
            }
            ("AddonDomain", "addaddondomain") => {
                let ftp_optional = self.uapi_ftp_optional;
                self.add_addon(p, ftp_optional).map(|_| Value::Null)
            }
            ("AddonDomain", "deladdondomain") => self.del_addon(p).map(|_| Value::Null),
            ("SubDomain", "addsubdomain") => self.add_sub(p).map(|_| Value::Null),
            ("SSL", "start_autossl_check") => self.need_ssl().map(|_| {
                self.autossl_runs += 1;
                self.autossl_until = Some(Instant::now() + self.autossl_duration);
                Value::Null
            }),
            ("SSL", "is_autossl_check_in_progress") => self
                .need_ssl()
                .map(|_| json!(u8::from(self.autossl_in_progress()))),
            _ => Err(format!(
                "The system could not find the function “{function}” in the module “{module}”."
            )),
        };
        match result {
            Ok(data) => Response::json(
                200,
                &json!({ "messages": null, "errors": null, "status": 1, "metadata": {}, "data": data, "warnings": null }),
            ),
            Err(message) => uapi_failure(&message),
        }
    }

    fn api2(&mut self, module: &str, function: &str, p: &BTreeMap<String, String>) -> Response {
        let result = match (module, function) {
            ("AddonDomain", "addaddondomain") => self.add_addon(p, true).map(|d| {
                json!([{ "result": 1, "reason": format!("The addon domain “{d}” has been created.") }])
            }),
            ("AddonDomain", "deladdondomain") => self.del_addon(p).map(|d| {
                json!([{ "result": 1, "reason": format!("The addon domain “{d}” has been removed.") }])
            }),
            ("AddonDomain", "listaddondomains") => Ok(json!(
                self.addons
                    .iter()
                    .map(|a| {
                        json!({
                            "domain": a.domain, "subdomain": a.label, "rootdomain": self.main_domain,
                            "fullsubdomain": format!("{}.{}", a.label, self.main_domain),
                            "domainkey": format!("{}_{}", a.label, self.main_domain),
                            "basedir": a.dir.trim_start_matches('/'),
                            "dir": format!("/home/{}{}", self.user, a.dir),
                            "reldir": format!("home:{}", a.dir.trim_start_matches('/')),
                            "status": "not redirected",
                        })
                    })
                    .collect::<Vec<_>>()
            )),
            ("SubDomain", "addsubdomain") => self.add_sub(p).map(|d| {
                json!([{ "result": 1, "reason": format!("The subdomain “{d}” has been added.") }])
            }),
            ("SubDomain", "delsubdomain") => self.del_sub(p).map(|d| {
                json!([{ "result": 1, "reason": format!("The subdomain “{d}” has been removed.") }])
            }),
            ("Cron", "fetchcron") => Ok(json!([])),
            _ => Err(format!(
                "Could not find function “{function}” in module “{module}”."
            )),
        };
        match result {
            Ok(data) => Response::json(
                200,
                &json!({ "cpanelresult": {
                    "apiversion": 2, "module": module, "func": function, "data": data,
                    "event": { "result": 1 }, "preevent": { "result": 1 }, "postevent": { "result": 1 },
                }}),
            ),
            Err(message) => api2_failure(module, function, &message),
        }
    }

    fn need_ssl(&self) -> Result<(), String> {
        if self.sslinstall {
            Ok(())
        } else {
            Err("You do not have the feature “sslinstall”.".into())
        }
    }

    fn already(&self, name: &str) -> String {
        format!("(XID 4kq3ff) The domain “{name}” already exists in the userdata.")
    }

    /// `reads_ftp_optional`: whether this API reads `ftp_is_optional`.
    fn add_addon(
        &mut self,
        p: &BTreeMap<String, String>,
        reads_ftp_optional: bool,
    ) -> Result<String, String> {
        let domain = p
            .get("newdomain")
            .map(|d| d.to_ascii_lowercase())
            .unwrap_or_default();
        let label = p
            .get("subdomain")
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        if domain.is_empty() || label.is_empty() {
            return Err("The “newdomain” and “subdomain” parameters are required.".into());
        }
        if domain.starts_with("*.") || label.contains('*') {
            return Err("You cannot create a wildcard addon domain.".into());
        }
        if !crate::serverpilot::valid_hostname(&domain) {
            return Err(format!(
                "Invalid domain specified: “{domain}” is not a valid domain name."
            ));
        }
        if self.exists(&domain) {
            return Err(self.already(&domain));
        }
        if let Some(limit) = self.addon_limit
            && self.addons.len() >= limit
        {
            return Err(format!(
                "Your addon domain limit of {limit} addon domain(s) has been reached. The addon domain {domain} was not added."
            ));
        }
        // The addon domain's FTP account (see the module comment).
        let ftp_optional =
            reads_ftp_optional && p.get("ftp_is_optional").map(|v| v.trim()) == Some("1");
        if self.ftp_at_quota && !ftp_optional {
            return Err("You have exceeded the maximum allowed FTP accounts.".into());
        }
        let dir = p
            .get("dir")
            .cloned()
            .unwrap_or_else(|| format!("/public_html/{label}"));
        let root = self.main_domain.clone();
        // A label whose subdomain exists is reused, as cPanel does.
        if !self.subs.iter().any(|s| s.label == label && s.root == root) {
            self.subs.push(Sub {
                label: label.clone(),
                root,
                dir: dir.clone(),
            });
        }
        self.addons.push(Addon {
            domain: domain.clone(),
            label,
            dir,
        });
        Ok(domain)
    }

    fn del_addon(&mut self, p: &BTreeMap<String, String>) -> Result<String, String> {
        let domain = p
            .get("domain")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let key = p
            .get("subdomain")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if domain.is_empty() || key.is_empty() {
            return Err("The subdomain and domain parameters must exist and be non-empty.".into());
        }
        let main = self.main_domain.clone();
        let Some(index) = self
            .addons
            .iter()
            .position(|a| a.domain == domain && format!("{}_{main}", a.label) == key)
        else {
            return Err(format!(
                "The subdomain {key} does not correspond to {domain}."
            ));
        };
        let removed = self.addons.remove(index);
        // Its subdomain goes too, unless another addon domain is parked on it.
        if !self.addons.iter().any(|a| a.label == removed.label) {
            self.subs
                .retain(|s| !(s.label == removed.label && s.root == main));
        }
        Ok(domain)
    }

    fn add_sub(&mut self, p: &BTreeMap<String, String>) -> Result<String, String> {
        let label = p
            .get("domain")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let root = p
            .get("rootdomain")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if label.is_empty() || root.is_empty() {
            return Err("The “domain” and “rootdomain” parameters are required.".into());
        }
        if label == "www" {
            return Err("You cannot create the “www” subdomain, because the system adds the “www” subdomain to all newly-created domains.".into());
        }
        if !self.owns_root(&root) {
            return Err(format!(
                "The domain “{root}” does not belong to this account."
            ));
        }
        let fqdn = format!("{label}.{root}");
        if !crate::serverpilot::valid_hostname(&fqdn) {
            return Err(format!("Invalid domain specified: “{fqdn}”."));
        }
        if self.exists(&fqdn) {
            return Err(self.already(&fqdn));
        }
        self.subs.push(Sub {
            label,
            root,
            dir: p
                .get("dir")
                .cloned()
                .unwrap_or_else(|| "/public_html".into()),
        });
        Ok(fqdn)
    }

    fn del_sub(&mut self, p: &BTreeMap<String, String>) -> Result<String, String> {
        let given = p
            .get("domain")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase();
        // `label_root.tld` or the full name.
        let Some(index) = self
            .subs
            .iter()
            .position(|s| s.fqdn() == given || format!("{}_{}", s.label, s.root) == given)
        else {
            return Err(format!("The subdomain “{given}” does not exist."));
        };
        let sub = self.subs[index].clone();
        let parked: Vec<&str> = self
            .addons
            .iter()
            .filter(|a| a.label == sub.label && sub.root == self.main_domain)
            .map(|a| a.domain.as_str())
            .collect();
        if !parked.is_empty() {
            return Err(format!(
                "The “{}” subdomain links to the following addon domain: {}. You must remove the addon domain before you remove the subdomain.",
                sub.fqdn(),
                parked.join(", ")
            ));
        }
        self.subs.remove(index);
        Ok(sub.fqdn())
    }
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn access_denied() -> Response {
    Response::json(
        403,
        &json!({ "cpanelresult": { "apiversion": "2", "error": "Access denied",
                 "data": { "reason": "Access denied", "result": "0" }, "type": "text" } }),
    )
}

fn uapi_failure(message: &str) -> Response {
    Response::json(
        200,
        &json!({ "messages": null, "errors": [message], "status": 0, "metadata": {}, "data": null, "warnings": null }),
    )
}

fn api2_failure(module: &str, function: &str, message: &str) -> Response {
    Response::json(
        200,
        &json!({ "cpanelresult": {
            "apiversion": 2, "module": module, "func": function,
            "data": [{ "result": 0, "reason": message }],
            "error": message,
            "event": { "result": 1 }, "preevent": { "result": 1 }, "postevent": { "result": 1 },
        }}),
    )
}

impl Panel for CPanel {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({
            "panel": "cpanel", "user": self.user, "main_domain": self.main_domain,
            "addon_domains": self.addons.iter().map(|a| json!({ "domain": a.domain, "subdomain": a.label, "dir": a.dir })).collect::<Vec<_>>(),
            "parked_domains": self.parked,
            "sub_domains": self.subs.iter().map(Sub::fqdn).collect::<Vec<_>>(),
            "autossl_runs": self.autossl_runs,
            "uapi_addon": self.uapi_addon,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn addon_domains_live_on_label_subdomains_and_need_their_key_to_go() {
        let mut cp = CPanel::new("u", "TOKEN", "pw", "main.com");
        let auth = "cpanel u:TOKEN";
        let r = cp.handle(&request(
            "POST",
            "/execute/AddonDomain/addaddondomain",
            "",
            "newdomain=a.com&subdomain=acom&dir=%2Fpublic_html",
            auth,
        ));
        assert_eq!(r.status, 200);
        assert!(cp.sub("acom.main.com").is_some());
        let wrong = cp.handle(&request(
            "POST",
            "/json-api/cpanel",
            "",
            "cpanel_jsonapi_version=2&cpanel_jsonapi_module=AddonDomain&cpanel_jsonapi_func=deladdondomain&domain=a.com&subdomain=acom_wp.example",
            auth,
        ));
        let body: Value = serde_json::from_slice(&wrong.body).unwrap();
        assert!(
            body["cpanelresult"]["error"]
                .as_str()
                .unwrap()
                .contains("does not correspond")
        );
        assert!(cp.addon("a.com").is_some());
    }

    #[test]
    fn old_versions_have_no_uapi_addon_module() {
        let mut cp = CPanel::new("u", "TOKEN", "pw", "main.com");
        cp.uapi_addon = false;
        let r = cp.handle(&request(
            "GET",
            "/execute/AddonDomain/addaddondomain",
            "newdomain=a.com&subdomain=acom",
            "",
            "cpanel u:TOKEN",
        ));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["status"], 0);
        assert!(
            body["errors"][0]
                .as_str()
                .unwrap()
                .contains("Failed to load module")
        );
    }
}
