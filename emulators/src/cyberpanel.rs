//! CyberPanel (`panel-apis-a.md` §6; stable tree 2024-10), as far as domain mapping goes.
//!
//! - Everything answers HTTP 200 JSON, failures included, with per-view status keys
//!   (`status`, `createWebSiteStatus`, `fetchStatus`, `websiteDeleteStatus`, `SSL`,
//!   `verifyConn`, `websiteStatus`) and `error_message` (`"None"` on success). A GET to a
//!   view is a 500 page; a route that does not exist is Django's 404 HTML page (the PHP
//!   plugin's `/api/addChildDomain`, `/api/deleteChildDomain`).
//! - `/api/verifyConn` and `/api/submitWebsiteStatus` take `adminUser`/`adminPass` in the
//!   body. `submitWebsiteStatus` with any state but `"Suspend"` unsuspends the website.
//! - `/cloudAPI/` routes `{"serverUserName", "controller", ...}`: only user `admin`, API
//!   access on, and `Authorization` equal to the stored token ([`CyberPanel::token`], the
//!   value as CyberPanel stores it, `Basic ...`). Nothing else authenticates: stable
//!   `cloudAPI/views.py` `router` and `cloudAPI/cloudManager.py` `CloudManager.verifyLogin`
//!   compare the header with `admin.token` and read no password from the body (the body
//!   login `userName`/`password` went with commit 3ffce793, 2018-11-20).
//! - The input filter (`secMiddleware`) refuses JSON string values with
//!   `` ` $ & ( ) [ ] { } ; : ' < > | .. `` or a newline on every URL but `cloudAPI` and
//!   `verifyLogin`; whether `/api/verifyConn` is exempt differs between trees, so
//!   `verify_conn_filtered` says.
//! - Child domains: `submitDomainCreation` starts a job and answers with its status file;
//!   `statusFunc` answers "running" `running_polls` times, then the terminal line (`[200]`,
//!   which deletes the file, or `[404]`). Duplicates, websites and the package's domain
//!   limit fail only there. `submitDomainCreation` validates as stable
//!   `websiteFunctions/website.py` `WebsiteManager.submitDomainCreation` does (a missing key
//!   is Python's KeyError text, `'path'`). `fetchDomains` lists only the children whose
//!   alias flag equals the request's `alias` (default 0; `website.py` `fetchDomains`,
//!   `plogical/childDomain.py` `findChildDomainsJson`) and returns `data` as a JSON string
//!   (`data_as_list` for the plain list); `submitDomainDeletion` and `issueSSL` are
//!   synchronous (`ssl_failures` makes issuance fail with ACME output).

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    pub name: String,
    pub path: String,
    pub alias: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Website {
    pub children: Vec<Child>,
    pub suspended: bool,
    /// The package's domain limit (children), when it has one.
    pub max_domains: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub password: String,
    pub api: bool,
}

#[derive(Debug, Clone)]
struct Job {
    polls_left: u32,
    /// `None`: success; otherwise the `[404]` line.
    failure: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CyberPanel {
    pub users: BTreeMap<String, User>,
    /// The admin's API token as stored (the whole `Authorization` value).
    pub token: String,
    pub websites: BTreeMap<String, Website>,
    jobs: BTreeMap<String, Job>,
    next_job: u32,
    /// "Running" answers of `statusFunc` before a job's terminal line.
    pub running_polls: u32,
    pub verify_conn_filtered: bool,
    pub data_as_list: bool,
    /// Domain → ACME output of a failed issuance.
    pub ssl_failures: BTreeMap<String, String>,
    /// Names a certificate was issued for, in order.
    pub certificates: Vec<String>,
    /// Children deleted with their document root (`DeleteDocRoot: 1`).
    pub deleted_docroots: Vec<String>,
}

impl CyberPanel {
    /// An admin with API access and `token`, and the master website `master`.
    pub fn new(password: &str, token: &str, master: &str) -> Self {
        let mut users = BTreeMap::new();
        users.insert(
            "admin".to_string(),
            User {
                password: password.into(),
                api: true,
            },
        );
        let mut websites = BTreeMap::new();
        websites.insert(master.to_string(), Website::default());
        CyberPanel {
            users,
            token: token.into(),
            websites,
            jobs: BTreeMap::new(),
            next_job: 1000,
            running_polls: 1,
            verify_conn_filtered: false,
            data_as_list: false,
            ssl_failures: BTreeMap::new(),
            certificates: vec![],
            deleted_docroots: vec![],
        }
    }

    pub fn website(&self, name: &str) -> &Website {
        &self.websites[name]
    }

    pub fn website_mut(&mut self, name: &str) -> &mut Website {
        self.websites.entry(name.to_string()).or_default()
    }

    /// The names of a website's children, sorted.
    pub fn children(&self, master: &str) -> Vec<String> {
        let mut names: Vec<String> = self.websites[master]
            .children
            .iter()
            .map(|c| c.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Adds alias children directly (test set-up): what `submitDomainCreation` with
    /// `alias: 1` stores (`alais=1`, the master's `public_html`).
    pub fn seed(&mut self, master: &str, names: &[&str]) {
        let path = format!("/home/{master}/public_html");
        let website = self.website_mut(master);
        for name in names {
            website.children.push(Child {
                name: name.to_string(),
                path: path.clone(),
                alias: true,
            });
        }
    }

    /// Adds children with a document root of their own (`alais=0`), as CyberPanel's
    /// "Create Child Domain" page makes them (test set-up).
    pub fn seed_own_root(&mut self, master: &str, names: &[&str]) {
        let website = self.website_mut(master);
        for name in names {
            website.children.push(Child {
                name: name.to_string(),
                path: format!("/home/{master}/{name}"),
                alias: false,
            });
        }
    }

    /// Status files of jobs not read to their end.
    pub fn open_jobs(&self) -> usize {
        self.jobs.len()
    }

    fn owner_of_child(&self, name: &str) -> Option<String> {
        self.websites
            .iter()
            .find(|(_, w)| w.children.iter().any(|c| c.name == name))
            .map(|(m, _)| m.clone())
    }

    fn api(&mut self, name: &str, body: &Value) -> Response {
        let user = body.get("adminUser").and_then(Value::as_str).unwrap_or("");
        let pass = body.get("adminPass").and_then(Value::as_str).unwrap_or("");
        match name {
            "verifyConn" => match self.users.get(user) {
                None => ok(
                    json!({"verifyConn": 0, "error_message": "Administrator matching query does not exist."}),
                ),
                Some(u) if !u.api => {
                    ok(json!({"verifyConn": 0, "error_message": "API Access Disabled."}))
                }
                Some(u) if u.password != pass => ok(json!({"verifyConn": 0})),
                Some(_) => ok(json!({"verifyConn": 1})),
            },
            "submitWebsiteStatus" => {
                if !self
                    .users
                    .get(user)
                    .is_some_and(|u| u.password == pass && u.api)
                {
                    return ok(
                        json!({"websiteStatus": 0, "error_message": "Could not authorize access to API"}),
                    );
                }
                let site = body
                    .get("websiteName")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let state = body.get("state").and_then(Value::as_str).unwrap_or("");
                match self.websites.get_mut(site) {
                    Some(w) => {
                        w.suspended = state == "Suspend";
                        ok(json!({"websiteStatus": 1, "error_message": "None"}))
                    }
                    None => ok(
                        json!({"websiteStatus": 0, "error_message": "Websites matching query does not exist."}),
                    ),
                }
            }
            "createWebsite" | "deleteWebsite" | "loginAPI" | "getUserInfo"
            | "changeUserPassAPI" | "submitUserDeletion" | "listPackage" | "changePackageAPI"
            | "fetchSSHkey" | "remoteTransfer" | "cyberPanelVersion" | "submitUserCreation" => {
                ok(json!({"status": 0, "error_message": "not modelled by the emulator"}))
            }
            _ => not_found_page(),
        }
    }

    fn cloud(&mut self, request: &Request, body: &Value) -> Response {
        let Some(controller) = body.get("controller").and_then(Value::as_str) else {
            return status0("'controller'");
        };
        let Some(user) = body.get("serverUserName").and_then(Value::as_str) else {
            return status0("'serverUserName'");
        };
        let Some(account) = self.users.get(user) else {
            return status0("Administrator matching query does not exist.");
        };
        if user != "admin" {
            return status0("Only administrator can access API.");
        }
        if !account.api {
            return status0("API Access Disabled.");
        }
        if request.header("authorization") != Some(self.token.as_str()) {
            return status0("Invalid login information.");
        }
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        match controller {
            "verifyLogin" => ok(json!({"status": 1, "error_message": null})),
            "fetchDomains" => {
                let Some(master) = text("masterDomain") else {
                    return ok(
                        json!({"status": 0, "fetchStatus": 0, "error_message": "'masterDomain'"}),
                    );
                };
                let Some(website) = self.websites.get(&master) else {
                    return ok(
                        json!({"status": 0, "fetchStatus": 0, "error_message": "Websites matching query does not exist."}),
                    );
                };
                // `website.py` `fetchDomains`: `alias = data['alias']`, 0 when absent;
                // `childDomain.py` `findChildDomainsJson`: `filter(alais=alias)`, and the
                // master's `mail.` child is never listed.
                let alias = match body.get("alias") {
                    None => 0,
                    Some(value) => match flag(value) {
                        Some(a) => a,
                        None => {
                            return ok(json!({"status": 0, "fetchStatus": 0, "error_message":
                                format!("Field 'alais' expected a number but got {value}.")}));
                        }
                    },
                };
                let mail = format!("mail.{master}");
                let list: Vec<Value> = website
                    .children
                    .iter()
                    .filter(|c| i64::from(c.alias) == alias && c.name != mail)
                    .map(|c| {
                        json!({"childDomain": c.name, "path": c.path,
                               "childLunch": format!("/websites/{master}/{}", c.name)})
                    })
                    .collect();
                let data = if self.data_as_list {
                    Value::Array(list)
                } else {
                    Value::String(Value::Array(list).to_string())
                };
                ok(json!({"status": 1, "fetchStatus": 1, "error_message": "None", "data": data}))
            }
            "submitDomainCreation" => self.create(body),
            "statusFunc" => {
                let file = text("statusFile").unwrap_or_default();
                let Some(job) = self.jobs.get_mut(&file) else {
                    return ok(json!({"status": 0, "abort": 0, "installationProgress": "0",
                        "errorMessage": format!("[Errno 2] No such file or directory: '{file}'")}));
                };
                if job.polls_left > 0 {
                    job.polls_left -= 1;
                    return ok(
                        json!({"status": 1, "abort": 0, "installationProgress": "50",
                        "currentStatus": "Creating configurations.."}),
                    );
                }
                match job.failure.clone() {
                    None => {
                        self.jobs.remove(&file);
                        ok(
                            json!({"status": 1, "abort": 1, "installationProgress": "100",
                            "currentStatus": "Domain successfully created. [200]"}),
                        )
                    }
                    Some(line) => ok(json!({"status": 0, "abort": 1, "installationProgress": "0",
                        "error_message": line})),
                }
            }
            "submitDomainDeletion" => {
                let name = text("websiteName").unwrap_or_default();
                let Some(master) = self.owner_of_child(&name) else {
                    return ok(json!({"status": 0, "websiteDeleteStatus": 0,
                        "error_message": "Websites matching query does not exist."}));
                };
                let website = self.website_mut(&master);
                website.children.retain(|c| c.name != name);
                if body.get("DeleteDocRoot").and_then(Value::as_i64) == Some(1) {
                    self.deleted_docroots.push(name);
                }
                ok(json!({"status": 1, "websiteDeleteStatus": 1, "error_message": "None"}))
            }
            "issueSSL" => {
                let name = text("virtualHost").unwrap_or_default();
                if !self.websites.contains_key(&name) && self.owner_of_child(&name).is_none() {
                    return ok(json!({"status": 0, "SSL": 0,
                        "error_message": "Websites matching query does not exist."}));
                }
                if let Some(output) = self.ssl_failures.get(&name) {
                    return ok(json!({"status": 0, "SSL": 0, "error_message": output}));
                }
                self.certificates.push(name);
                ok(json!({"status": 1, "SSL": 1, "error_message": "None"}))
            }
            _ => status0("This function is not available in your version of CyberPanel."),
        }
    }

    /// `submitDomainCreation`, in the order stable `websiteFunctions/website.py`
    /// `WebsiteManager.submitDomainCreation` reads its fields; a missing one is the
    /// KeyError text (`'path'`) in `error_message`.
    fn create(&mut self, body: &Value) -> Response {
        let fail = |m: &str| ok(json!({"status": 0, "createWebSiteStatus": 0, "error_message": m}));
        let key_error = |k: &str| fail(&format!("'{k}'"));
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        // `alias = data['alias']` (0 when absent), then `if alias == 0:` (Python: 0, 0.0
        // and False equal 0; "0" does not).
        let alias_zero = match body.get("alias") {
            None => true,
            Some(Value::Bool(b)) => !b,
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(_) => false,
        };
        let Some(master) = text("masterDomain") else {
            return key_error("masterDomain");
        };
        let Some(domain) = text("domainName") else {
            return key_error("domainName");
        };
        if alias_zero {
            if body.get("phpSelection").is_none() {
                return key_error("phpSelection");
            }
            if body.get("path").is_none() {
                return key_error("path");
            }
        } else if !self.websites.contains_key(&master) {
            // `Websites.objects.get(domain=masterDomain).phpSelection`
            return fail("Websites matching query does not exist.");
        }
        if !crate::serverpilot::valid_hostname(&domain) || !domain.contains('.') {
            return fail("Invalid domain.");
        }
        // `ACLManager.checkOwnership(masterDomain, ...)`: admin owns every website; an
        // unknown one raises DoesNotExist.
        let Some(website) = self.websites.get(&master) else {
            return fail("Websites matching query does not exist.");
        };
        // `if data['path'].find('..') > -1:` runs for every request, alias or not.
        let Some(path) = body.get("path") else {
            return key_error("path");
        };
        let Some(path) = path.as_str() else {
            return fail(&format!(
                "'{}' object has no attribute 'find'",
                py_type(path)
            ));
        };
        if path.contains("..") {
            return ok(json!({"status": 0, "createWebSiteStatus": 0,
                "errorMessage": "You are not authorized to access this resource.",
                "error_message": "You are not authorized to access this resource."}));
        }
        // `str(data['openBasedir'])` when building the command (admin keeps its value).
        if body.get("openBasedir").is_none() {
            return key_error("openBasedir");
        }
        let path = if !alias_zero {
            format!("/home/{master}/public_html")
        } else if path.is_empty() {
            format!("/home/{master}/{domain}")
        } else {
            format!("/home/{master}/{}", path.trim_start_matches('/'))
        };
        // `--aliasDomain str(alias)` then `int(args.aliasDomain)`: stored as `alais`.
        let alias = !alias_zero && body.get("alias").and_then(flag) == Some(1);
        let failure = if self.owner_of_child(&domain).is_some() {
            Some("This domain already exists as child domain. [404]")
        } else if self.websites.contains_key(&domain) {
            Some("This Domain already exists as a website. [404]")
        } else if website
            .max_domains
            .is_some_and(|max| website.children.len() >= max)
        {
            Some("Exceeded maximum number of domains for this package. [404]")
        } else {
            None
        };
        if failure.is_none() {
            self.website_mut(&master).children.push(Child {
                name: domain.clone(),
                path,
                alias,
            });
        }
        self.next_job += 1;
        let file = format!("/home/cyberpanel/{}", self.next_job);
        self.jobs.insert(
            file.clone(),
            Job {
                polls_left: self.running_polls,
                failure: failure.map(str::to_string),
            },
        );
        ok(
            json!({"status": 1, "createWebSiteStatus": 1, "error_message": "None",
            "tempStatusPath": file, "LinuxUser": "netwo1234"}),
        )
    }
}

/// `secMiddleware`: the first refused string value (or key) in a JSON body.
pub fn filter_refuses(body: &Value) -> bool {
    const REFUSED: &[&str] = &[
        "`", "$", "&", "(", ")", "[", "]", "{", "}", ";", ":", "'", "<", ">", "|", "..", "\n",
    ];
    let bad = |s: &str| REFUSED.iter().any(|r| s.contains(r));
    body.as_object()
        .is_some_and(|o| o.iter().any(|(k, v)| bad(k) || v.as_str().is_some_and(bad)))
}

impl Panel for CyberPanel {
    fn handle(&mut self, request: &Request) -> Response {
        let path = request.path.as_str();
        let cloud = path == "/cloudAPI/" || path == "/cloudAPI";
        let api = path.strip_prefix("/api/").map(|n| n.trim_end_matches('/'));
        if !cloud && api.is_none() {
            return not_found_page();
        }
        if api.is_some_and(|n| {
            !matches!(
                n,
                "verifyConn"
                    | "submitWebsiteStatus"
                    | "createWebsite"
                    | "deleteWebsite"
                    | "loginAPI"
                    | "getUserInfo"
                    | "changeUserPassAPI"
                    | "submitUserDeletion"
                    | "listPackage"
                    | "changePackageAPI"
                    | "fetchSSHkey"
                    | "remoteTransfer"
                    | "cyberPanelVersion"
                    | "submitUserCreation"
            )
        }) {
            return not_found_page();
        }
        if request.method != "POST" {
            // The views return None for a GET: Django's 500 page.
            return Response {
                status: 500,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"<!doctype html><html><head><title>Server Error (500)</title></head><body><h1>Server Error (500)</h1></body></html>".to_vec(),
            };
        }
        let body: Value = match request.json() {
            Ok(v) => v,
            Err(e) => return status0(&format!("Expecting value: {e}")),
        };
        let exempt = cloud
            || path.contains("verifyLogin")
            || (path.contains("verifyConn") && !self.verify_conn_filtered);
        if !exempt && filter_refuses(&body) {
            let text = "Data supplied is not accepted, following characters are not allowed in the input ` $ & ( ) [ ] { } ; : ‘ < >.";
            return ok(json!({"error_message": text, "errorMessage": text}));
        }
        match api {
            Some(name) => self.api(name, &body),
            None => self.cloud(request, &body),
        }
    }

    fn snapshot(&self) -> Value {
        let websites: Vec<Value> = self
            .websites
            .iter()
            .map(|(name, w)| {
                json!({"domain": name, "suspended": w.suspended,
                       "children": w.children.iter().map(|c| &c.name).collect::<Vec<_>>()})
            })
            .collect();
        json!({"panel": "cyberpanel", "websites": websites, "certificates": self.certificates,
               "open_jobs": self.jobs.len()})
    }
}

/// A JSON value as Python's `int(...)`/Django's integer lookup reads it: 1, "1", true.
fn flag(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Python's type name of a JSON value, for its AttributeError text.
fn py_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn ok(value: Value) -> Response {
    Response::json(200, &value)
}

fn status0(message: &str) -> Response {
    ok(json!({"status": 0, "error_message": message}))
}

fn not_found_page() -> Response {
    Response {
        status: 404,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<!doctype html><html lang=\"en\"><head><title>Not Found</title></head><body><h1>Not Found</h1><p>The requested resource was not found on this server.</p></body></html>".to_vec(),
    }
}
