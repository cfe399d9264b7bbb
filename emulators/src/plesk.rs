//! Plesk's REST API v2 and its CLI gateway (`panel-apis-a.md` §3, checklist §3.5).
//!
//! - Auth: `X-API-Key` (one of `keys`) or HTTP Basic with the admin login; anything else is
//!   401 `{"code": 1, "message": "…"}` (UNVERIFIED body).
//! - `GET /api/v2/server`: `{"platform": "Unix", "hostname", "guid", "panel_version", …}`.
//! - `GET /api/v2/domains?name=`: a list of matching sites (`[]` when none; with
//!   `missing_domain_404` a 404 `{"code","message"}` instead, UNVERIFIED which).
//! - `POST /api/v2/cli/{utility}/call` `{"params": [...]}`: HTTP 200
//!   `{"code", "stdout", "stderr"}` whatever the utility did; an unknown utility is 404
//!   (UNVERIFIED). Utilities: `site_alias --create A -domain S | --delete A | --info A`,
//!   `subdomain --create L -domain S [-www-root P] | --remove L -domain S | --info L -domain
//!   S`, `extension --exec letsencrypt cli.php -d N [-d N2 …]`. Failures are `code: 1` with
//!   the text on stderr (texts UNVERIFIED): a name that exists anywhere ("… already
//!   exists"), a missing one ("Unable to find …"), the site's alias limit, a Let's Encrypt
//!   name in `le_failing`.
//! - Certificates: a Plesk site (webspace) carries one certificate and its aliases are names
//!   on it (panel-review.md #4: field code re-secures a site with `-d site -d www.site -d
//!   alias -d www.alias …`; panel-apis-a.md §3.2 lists the extension call). So `certificates` is keyed by the site (a subdomain is a domain of its own):
//!   a Let's Encrypt run whose first `-d` is the site, one of its aliases or a subdomain
//!   **replaces** that site's certificate with exactly the names sent, which is how a run for
//!   an alias alone takes HTTPS away from the site and its other aliases. Which of the two
//!   things real Plesk does for an alias first (this, or "domain not found") is unverified;
//!   this is the one that loses data, so a test sees it.
//! - `info_names_site: false` makes `site_alias --info` leave out which site the alias is on.

use crate::server::{Panel, Request, Response, basic_credentials};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    pub aliases: Vec<String>,
    /// Subdomain label → www root.
    pub subdomains: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Plesk {
    pub admin: String,
    pub password: String,
    pub keys: Vec<String>,
    pub sites: BTreeMap<String, Site>,
    pub alias_limit: Option<usize>,
    pub missing_domain_404: bool,
    pub info_names_site: bool,
    pub le_failing: Vec<String>,
    /// Each site's one certificate: site (or subdomain) → the names it covers.
    pub certificates: BTreeMap<String, Vec<String>>,
    /// Every CLI call: `utility param param …`.
    pub calls: Vec<String>,
}

impl Plesk {
    pub fn new(admin: &str, password: &str, site: &str) -> Self {
        Plesk {
            admin: admin.into(),
            password: password.into(),
            keys: vec![],
            sites: BTreeMap::from([(site.to_string(), Site::default())]),
            alias_limit: None,
            missing_domain_404: false,
            info_names_site: true,
            le_failing: vec![],
            certificates: BTreeMap::new(),
            calls: vec![],
        }
    }

    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.get(name)
    }

    pub fn site_mut(&mut self, name: &str) -> Option<&mut Site> {
        self.sites.get_mut(name)
    }

    /// The CLI calls that change the panel.
    pub fn writes(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter(|c| !c.contains(" --info"))
            .cloned()
            .collect()
    }

    fn exists(&self, name: &str) -> bool {
        self.sites.iter().any(|(s, site)| {
            s == name
                || site.aliases.iter().any(|a| a == name)
                || site.subdomains.keys().any(|l| format!("{l}.{s}") == name)
        })
    }

    fn alias_site(&self, alias: &str) -> Option<String> {
        self.sites
            .iter()
            .find(|(_, site)| site.aliases.iter().any(|a| a == alias))
            .map(|(s, _)| s.clone())
    }

    fn authenticated(&self, request: &Request) -> bool {
        if let Some(key) = request.header("x-api-key") {
            return self.keys.iter().any(|k| k == key);
        }
        matches!(basic_credentials(request), Some((u, p)) if u == self.admin && p == self.password && !p.is_empty())
    }

    fn route(&mut self, request: &Request) -> Response {
        if !self.authenticated(request) {
            return Response::json(
                401,
                &json!({ "code": 1, "message": "Authentication failed: wrong login or password, or the API key is not valid" }),
            );
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["api", "v2", "server"]) => Response::json(
                200,
                &json!({ "hostname": "plesk.hosting-panel.test", "guid": "1b2c3d4e-0000-4000-8000-000000000001",
                    "platform": "Unix", "panel_version": "18.0.60", "panel_revision": "1", "panel_build_date": "2026-01-01",
                    "panel_update_version": "2", "extension_version": null }),
            ),
            ("GET", ["api", "v2", "domains"]) => {
                let name = request.query_param("name").unwrap_or_default();
                let found: Vec<Value> = self
                    .sites
                    .keys()
                    .enumerate()
                    .filter(|(_, s)| name.is_empty() || **s == name)
                    .map(|(i, s)| json!({ "id": i + 1, "name": s, "hosting_type": "virtual", "guid": format!("site-{i}") }))
                    .collect();
                if found.is_empty() && self.missing_domain_404 {
                    return Response::json(
                        404,
                        &json!({ "code": 0, "message": "Domain not found" }),
                    );
                }
                Response::json(200, &Value::Array(found))
            }
            ("POST", ["api", "v2", "cli", utility, "call"]) => {
                let params: Vec<String> = request
                    .json()
                    .ok()
                    .and_then(|b| b.get("params").cloned())
                    .and_then(|p| p.as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                let utility = utility.to_string();
                if !matches!(utility.as_str(), "site_alias" | "subdomain" | "extension") {
                    return Response::json(
                        404,
                        &json!({ "code": 0, "message": format!("Command {utility} not found") }),
                    );
                }
                self.calls.push(
                    std::iter::once(utility.clone())
                        .chain(params.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                let (code, stdout, stderr) = match self.cli(&utility, &params) {
                    Ok(stdout) => (0, stdout, String::new()),
                    Err(stderr) => (1, String::new(), format!("{stderr}\n")),
                };
                Response::json(
                    200,
                    &json!({ "code": code, "stdout": stdout, "stderr": stderr }),
                )
            }
            _ => Response::json(404, &json!({ "code": 0, "message": "Not found" })),
        }
    }

    fn cli(&mut self, utility: &str, p: &[String]) -> Result<String, String> {
        let opt = |name: &str| {
            p.iter()
                .position(|x| x == name)
                .and_then(|i| p.get(i + 1))
                .map(|v| v.to_ascii_lowercase())
        };
        let first = |flag: &str| {
            (p.first().map(String::as_str) == Some(flag))
                .then(|| p.get(1).map(|v| v.to_ascii_lowercase()))
                .flatten()
        };
        match utility {
            "site_alias" => {
                if let Some(alias) = first("--create") {
                    let site = opt("-domain").unwrap_or_default();
                    if !self.sites.contains_key(&site) {
                        return Err(format!(
                            "An error occurred during domain alias creation: Unable to find domain {site}"
                        ));
                    }
                    if !crate::serverpilot::valid_hostname(&alias) {
                        return Err(format!(
                            "An error occurred during domain alias creation: Invalid domain alias name: {alias}"
                        ));
                    }
                    if self.exists(&alias) {
                        return Err(format!(
                            "An error occurred during domain alias creation: Domain alias {alias} already exists."
                        ));
                    }
                    if let Some(limit) = self.alias_limit
                        && self.sites[&site].aliases.len() >= limit
                    {
                        return Err("An error occurred during domain alias creation: The limit on the number of domain aliases is exceeded.".into());
                    }
                    self.sites
                        .get_mut(&site)
                        .expect("checked")
                        .aliases
                        .push(alias.clone());
                    return Ok(format!(
                        "SUCCESS: Creation of domain alias '{alias}' completed."
                    ));
                }
                if let Some(alias) = first("--delete") {
                    let Some(site) = self.alias_site(&alias) else {
                        return Err(format!("Unable to find domain alias {alias}"));
                    };
                    self.sites
                        .get_mut(&site)
                        .expect("found")
                        .aliases
                        .retain(|a| *a != alias);
                    return Ok(format!(
                        "SUCCESS: Removal of domain alias '{alias}' completed."
                    ));
                }
                if let Some(alias) = first("--info") {
                    let Some(site) = self.alias_site(&alias) else {
                        return Err(format!("Unable to find domain alias {alias}"));
                    };
                    let mut out = format!("Alias name:                  {alias}\n");
                    if self.info_names_site {
                        out.push_str(&format!("Domain name:                 {site}\n"));
                    }
                    out.push_str("Status:                      OK\nWeb:                         true\nMail:                        false\n");
                    return Ok(out);
                }
                Err("Unknown command. Use --help for usage.".into())
            }
            "subdomain" => {
                let site = opt("-domain").unwrap_or_default();
                let check_site = |this: &Self| {
                    if this.sites.contains_key(&site) {
                        Ok(())
                    } else {
                        Err(format!("Unable to find domain {site}"))
                    }
                };
                if let Some(label) = first("--create") {
                    check_site(self)?;
                    let fqdn = format!("{label}.{site}");
                    if !crate::serverpilot::valid_hostname(&fqdn) {
                        return Err(format!("Invalid subdomain name: {label}"));
                    }
                    if self.exists(&fqdn) {
                        return Err(format!(
                            "An error occurred during subdomain creation: Subdomain {fqdn} already exists."
                        ));
                    }
                    let root = opt("-www-root").unwrap_or_else(|| format!("/{label}"));
                    self.sites
                        .get_mut(&site)
                        .expect("checked")
                        .subdomains
                        .insert(label.clone(), root);
                    return Ok(format!(
                        "SUCCESS: Creation of subdomain '{label}' completed."
                    ));
                }
                if let Some(label) = first("--remove") {
                    check_site(self)?;
                    if self
                        .sites
                        .get_mut(&site)
                        .expect("checked")
                        .subdomains
                        .remove(&label)
                        .is_none()
                    {
                        return Err(format!("Unable to find subdomain {label}.{site}"));
                    }
                    return Ok(format!(
                        "SUCCESS: Removal of subdomain '{label}' completed."
                    ));
                }
                if let Some(label) = first("--info") {
                    check_site(self)?;
                    let Some(root) = self.sites[&site].subdomains.get(&label) else {
                        return Err(format!("Unable to find subdomain {label}.{site}"));
                    };
                    return Ok(format!(
                        "Subdomain name:   {label}\nParent domain:    {site}\nWWW-root:  {root}\n"
                    ));
                }
                Err("Unknown command. Use --help for usage.".into())
            }
            "extension" => {
                if p.len() < 3 || p[0] != "--exec" || p[1] != "letsencrypt" || p[2] != "cli.php" {
                    return Err("Unknown extension command".into());
                }
                let names: Vec<String> = p
                    .windows(2)
                    .filter(|w| w[0] == "-d")
                    .map(|w| w[1].to_ascii_lowercase())
                    .collect();
                let Some(main) = names.first().cloned() else {
                    return Err("The domain name is required (-d).".into());
                };
                if !self.exists(&main) {
                    return Err(format!("Domain {main} does not exist."));
                }
                // The certificate belongs to the site the first name is on.
                let owner = self.alias_site(&main).unwrap_or_else(|| main.clone());
                if let Some(bad) = names.iter().find(|n| self.le_failing.contains(n)) {
                    return Err(format!(
                        "Could not issue a Let's Encrypt SSL/TLS certificate for {main}. Authorization for the domain failed.\nDetails\nInvalid response from http://{bad}/.well-known/acme-challenge/Zq1Y: 404"
                    ));
                }
                self.certificates.insert(owner, names);
                Ok(String::new())
            }
            _ => Err("unknown utility".into()),
        }
    }
}

impl Panel for Plesk {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        json!({
            "panel": "plesk",
            "sites": self.sites.iter().map(|(s, site)| (s.clone(), json!({ "aliases": site.aliases, "subdomains": site.subdomains }))).collect::<serde_json::Map<String, Value>>(),
            "certificates": self.certificates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn call(p: &mut Plesk, utility: &str, params: &[&str]) -> Value {
        let r = p.handle(&Request {
            method: "POST".into(),
            path: format!("/api/v2/cli/{utility}/call"),
            query: String::new(),
            headers: vec![("x-api-key".into(), "K".into())],
            body: serde_json::to_vec(&json!({ "params": params })).unwrap(),
            received: Instant::now(),
        });
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn utility_failures_are_http_200_with_a_code() {
        let mut p = Plesk::new("admin", "pw", "main.com");
        p.keys.push("K".into());
        let ok = call(
            &mut p,
            "site_alias",
            &["--create", "a.com", "-domain", "main.com"],
        );
        assert_eq!(ok["code"], 0);
        let again = call(
            &mut p,
            "site_alias",
            &["--create", "a.com", "-domain", "main.com"],
        );
        assert_eq!(again["code"], 1);
        assert!(again["stderr"].as_str().unwrap().contains("already exists"));
        let info = call(&mut p, "site_alias", &["--info", "a.com"]);
        assert!(info["stdout"].as_str().unwrap().contains("main.com"));
        let gone = call(&mut p, "site_alias", &["--delete", "b.com"]);
        assert_eq!(gone["code"], 1);
    }
}
