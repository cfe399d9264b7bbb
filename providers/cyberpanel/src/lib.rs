//! CyberPanel: mapped domains become child domains of the network's master website,
//! through CyberPanel's `cloudAPI` (`panel-apis-a.md` §6).
//!
//! Everything is `POST https://{host}:{port}/cloudAPI/` with a JSON body
//! `{"serverUserName": "admin", "controller": "<name>", ...}` and the header
//! `Authorization` equal to the token CyberPanel stores for `admin` (the host attaches it
//! from `WU_CYBERPANEL_API_TOKEN`). CyberPanel answers HTTP 200 whatever happened: the
//! status fields (`status`, `createWebSiteStatus`, `fetchStatus`, `websiteDeleteStatus`,
//! `SSL`) and `error_message` say what did.
//!
//! - `submitDomainCreation` (`alias: 1`: the child shares the master's document root and
//!   PHP, as a WordPress network needs; `path: ""`, which CyberPanel reads on every request,
//!   `websiteFunctions/website.py` `submitDomainCreation`) starts a background job and
//!   answers with a status file, polled with `statusFunc` until its last line ends in
//!   `[200]` or `[404]`; a duplicate only shows there. The job also tries to issue the
//!   certificate itself.
//! - `fetchDomains` lists the master's children whose alias flag equals the request's
//!   `alias` (0 when absent: `website.py` `fetchDomains`, `plogical/childDomain.py`
//!   `findChildDomainsJson`), so this component asks with `alias: 1` for the children it
//!   makes and with `alias: 0` for the others (`data` is a JSON *string*).
//! - `submitDomainDeletion` removes a child, never its document root (it is the master's).
//! - `issueSSL` is `request-certificate`: synchronous, the ACME output on failure.
//!
//! The PHP plugin calls `/api/addChildDomain` and `/api/deleteChildDomain`, which do not
//! exist (Django 404), and "issues SSL" with `submitWebsiteStatus`, which unsuspends the
//! master website. `test-connection` keeps the plugin's `/api/verifyConn` check of the
//! admin password (sent in the JSON body as a placeholder), then reads through the
//! `cloudAPI`. The password goes nowhere else: the cloudAPI authenticates by the token
//! alone (`cloudAPI/cloudManager.py` `CloudManager.verifyLogin`). Values CyberPanel's input filter (`secMiddleware`) would refuse are refused
//! here before anything is sent.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, Capabilities, ConstantSpec, DomainEvent, DomainProvider, HeaderAuth, Operations,
    Outcome, PanelDomain, ProviderError, ProviderMetadata, config, journal, json, log,
};
use serde_json::{Value, json};
use std::time::Duration;

pub const HOST: &str = "WU_CYBERPANEL_HOST";
pub const PORT: &str = "WU_CYBERPANEL_PORT";
pub const USERNAME: &str = "WU_CYBERPANEL_USERNAME";
pub const PASSWORD: &str = "WU_CYBERPANEL_PASSWORD";
pub const MASTER_DOMAIN: &str = "WU_CYBERPANEL_MASTER_DOMAIN";
pub const API_TOKEN: &str = "WU_CYBERPANEL_API_TOKEN";
pub const DEFAULT_PORT: &str = "8090";
/// The only user CyberPanel's cloudAPI serves (`cloudAPI/views.py`).
pub const CLOUD_API_USER: &str = "admin";
/// The cloudAPI controllers that only read.
const READS: &[&str] = &["verifyLogin", "fetchDomains", "statusFunc"];
/// How long one attempt waits for a creation job before handing over to a retry.
const JOB_WAIT: Duration = Duration::from_secs(40);

pub struct CyberPanel;

impl DomainProvider for CyberPanel {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "cyberpanel".into(),
            title: "CyberPanel".into(),
            description: "Adds mapped domains as child domains of the network's master website \
                          in CyberPanel (cloudAPI); CyberPanel issues their certificates."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/cyberpanel".into(),
            constants: vec![
                ConstantSpec::required(
                    HOST,
                    "CyberPanel host",
                    "The panel's host name (cp.example.com), without the port",
                ),
                ConstantSpec::optional(PORT, "CyberPanel port", "The panel's port (8090)"),
                ConstantSpec::required(
                    USERNAME,
                    "Admin user",
                    "admin: CyberPanel's cloudAPI serves the admin user only",
                ),
                ConstantSpec::required(
                    PASSWORD,
                    "Admin password",
                    "The admin's password (checked with /api/verifyConn)",
                )
                .secret(),
                ConstantSpec::required(
                    MASTER_DOMAIN,
                    "Master website",
                    "The CyberPanel website that serves the network (its main domain)",
                ),
                ConstantSpec::required(
                    API_TOKEN,
                    "cloudAPI token",
                    "The admin's API token exactly as CyberPanel stores it, starting with \
                     'Basic ' (Users > API Access must be on for admin)",
                )
                .secret(),
            ],
            any_of: vec![],
            // Not independent-domains: children share the master website's package quota
            // and configuration, so events for one master run one at a time.
            capabilities: Capabilities::AUTO_SSL | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS | Operations::REQUEST_CERTIFICATE,
            // As the PHP plugin sets: issuance happens in CyberPanel's background job.
            ssl_verification_attempts: 30,
            default_allowed_hosts: vec![format!("{{{HOST}}}:{{{PORT}:{DEFAULT_PORT}}}")],
            auth: vec![AuthScheme::Header(HeaderAuth {
                header_name: "authorization".into(),
                value_constant: API_TOKEN.into(),
            })],
            account_constants: vec![HOST.into(), PORT.into(), MASTER_DOMAIN.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        api.verify_password()?;
        api.call("verifyLogin", json!({}), None)?;
        let children = api.children()?;
        Ok(Outcome::unchanged(format!(
            "CyberPanel reachable: admin password verified, API token accepted; master \
             website {} has {} child domain(s)",
            api.master,
            children.len()
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let mut outcome = api.add(&event.domain)?;
        if event.www {
            outcome.notes.push(format!(
                "www.{} is not added separately: CyberPanel's virtual host template aliases \
                 www. to the child domain",
                event.domain
            ));
        }
        Ok(outcome)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let _ = event;
        Ok(Outcome::unchanged(
            "subdomain sites are served by the master website (a wildcard alias in \
             CyberPanel); nothing to add",
        ))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let _ = event;
        Ok(Outcome::unchanged(
            "subdomain sites are served by the master website; nothing to remove",
        ))
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let mut list = vec![PanelDomain {
            name: api.master.clone(),
            www: None,
            certificate: None,
            primary: true,
        }];
        // Alias children (this integration's) and children with a root of their own: two
        // lists in CyberPanel.
        let mut children = api.children()?;
        children.extend(api.own_root_children()?);
        list.extend(children.into_iter().map(|c| PanelDomain {
            name: c.name,
            www: None,
            certificate: None,
            primary: false,
        }));
        Ok(list)
    }

    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let domain = &event.domain;
        let known = *domain == api.master
            || api.is_child(domain)?
            || api.own_root_children()?.iter().any(|c| c.name == *domain);
        if !known {
            return Err(ProviderError::NotFound(format!(
                "{domain} is not a child domain of {} in CyberPanel; map the domain first",
                api.master
            )));
        }
        api.call("issueSSL", json!({ "virtualHost": domain }), Some("SSL"))
            .map_err(|e| {
                e.prefixed(&format!(
                    "CyberPanel could not issue a certificate for {domain}: "
                ))
            })?;
        log::info(format!("certificate issued for {domain}"));
        Ok(Outcome::changed(format!(
            "CyberPanel issued a Let's Encrypt certificate for {domain}"
        )))
    }
}

provider_sdk::export_provider!(CyberPanel);

/// `https://{host}:{port}` from the operator's values, as the host expands the default
/// allowed host: a scheme written in the host value is kept (https otherwise), a path is
/// dropped, and a port already in the host value wins over `WU_CYBERPANEL_PORT`.
pub fn base_url(host: &str, port: Option<&str>) -> Result<String, ProviderError> {
    provider_sdk::url::panel_base(HOST, host, PORT, port, DEFAULT_PORT)
}

/// What CyberPanel's input filter (`CyberCP/secMiddleware.py`) refuses in any JSON string
/// value on the URLs it checks: the first offending character (or sequence), if any. The
/// union of the stable tree's list and the reference's.
pub fn filter_refuses(value: &str) -> Option<&'static str> {
    const REFUSED: &[&str] = &[
        "`", "$", "&", "(", ")", "[", "]", "{", "}", ";", ":", "'", "<", ">", "|", "..", "\n", "\r",
    ];
    REFUSED.iter().copied().find(|r| value.contains(r))
}

/// A value this component puts into a request, refused before sending when CyberPanel's
/// filter (or its domain check) would refuse it.
pub fn check_value(what: &str, value: &str) -> Result<(), ProviderError> {
    if let Some(bad) = filter_refuses(value) {
        return Err(ProviderError::InvalidInput(format!(
            "{what} {value:?} contains {bad:?}, which CyberPanel's input filter refuses \
             (` $ & ( ) [ ] {{ }} ; : ' < > | ..)"
        )));
    }
    Ok(())
}

/// The master website's name, as CyberPanel keys websites: lower case, no trailing dot,
/// letters, digits, dots and dashes only.
pub fn master_domain(value: &str) -> Result<String, ProviderError> {
    let name = value.trim().trim_end_matches('.').to_ascii_lowercase();
    check_value(MASTER_DOMAIN, &name)?;
    let ok = !name.is_empty()
        && name.contains('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !ok {
        return Err(ProviderError::InvalidInput(format!(
            "{MASTER_DOMAIN} must be the master website's domain name (got {value:?})"
        )));
    }
    Ok(name)
}

/// 1, "1" and true are set; anything else is not.
pub fn flag(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// CyberPanel's own words in an answer (`error_message`, or `errorMessage` in some views);
/// `"None"` is its success value.
pub fn panel_message(answer: &Value) -> Option<String> {
    ["error_message", "errorMessage", "currentStatus"]
        .iter()
        .filter_map(|k| answer.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|m| !m.is_empty() && *m != "None")
        .map(str::to_string)
}

/// The body of an HTTP answer: CyberPanel speaks JSON in HTTP 200; anything else is not
/// its API (a Django 404 page for a route it does not have, a 500 for a crashed view).
pub fn read_json(status: u16, body: &[u8], base: &str) -> Result<Value, ProviderError> {
    let response = Response {
        status,
        headers: vec![],
        body: body.to_vec(),
    };
    if status == 404 {
        return Err(ProviderError::NotFound(format!(
            "no CyberPanel API at {base} ({}): check {HOST} and {PORT}",
            provider_sdk::errors::error_message(404, body)
        )));
    }
    if status == 401 || status == 403 {
        return Err(ProviderError::BadCredentials(format!(
            "HTTP {status} from {base}: {}",
            provider_sdk::errors::error_message(status, body)
        )));
    }
    let response = response.error_for_status()?;
    let answer: Value = response.json()?;
    if !answer.is_object() {
        return Err(ProviderError::Api(provider_sdk::ApiError {
            status,
            message: format!("unexpected answer from CyberPanel: {}", json::text(&answer)),
        }));
    }
    Ok(answer)
}

/// The error an always-200 answer stands for, in this integration's terms.
pub fn panel_error(message: &str) -> ProviderError {
    let m = message.to_ascii_lowercase();
    if m.contains("data supplied is not accepted") {
        ProviderError::InvalidInput(format!(
            "CyberPanel's input filter refused the request ({message})"
        ))
    } else if m.contains("invalid login information") {
        ProviderError::BadCredentials(format!(
            "CyberPanel refused the API token ({message}): {API_TOKEN} must be the admin's \
             token exactly as CyberPanel stores it, starting with 'Basic '"
        ))
    } else if m.contains("only administrator can access api") {
        ProviderError::BadCredentials(format!(
            "{message}: the cloudAPI serves the admin user only; set {USERNAME} to admin"
        ))
    } else if m.contains("api access disabled") {
        ProviderError::BadCredentials(format!(
            "{message}: turn API access on for admin in CyberPanel (Users > API Access)"
        ))
    } else if m.contains("administrator matching query does not exist") {
        ProviderError::BadCredentials(format!(
            "CyberPanel has no such user ({message}): check {USERNAME}"
        ))
    } else if m.contains("could not authorize access to api") {
        ProviderError::BadCredentials(format!("{message}: check {USERNAME} and {PASSWORD}"))
    } else if m.contains("not available in your version") {
        ProviderError::Unsupported(format!("CyberPanel: {message}"))
    } else {
        ProviderError::Api(provider_sdk::ApiError {
            status: 200,
            message: message.to_string(),
        })
    }
}

/// A successful answer has `key` (and `status`, when present) set to 1.
pub fn check_answer(answer: &Value, key: Option<&str>) -> Result<(), ProviderError> {
    let status_ok = answer.get("status").map(flag).is_none_or(|f| f == Some(1));
    let key_ok = key.is_none_or(|k| answer.get(k).map(flag) == Some(Some(1)));
    let has_status = answer.get("status").is_some() || key.is_some_and(|k| answer.get(k).is_some());
    if status_ok && key_ok && has_status {
        return Ok(());
    }
    Err(panel_error(&panel_message(answer).unwrap_or_else(|| {
        format!(
            "CyberPanel answered without success: {}",
            json::text(answer)
        )
    })))
}

#[derive(Debug, Clone)]
pub struct Child {
    /// `childDomain`.
    pub name: String,
    pub path: Option<String>,
}

impl Child {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Child")?;
        Ok(Child {
            name: json::field(o, "childDomain", json::string)?,
            path: json::opt(o, "path", json::string)?,
        })
    }
}

/// `fetchDomains`' `data`: a JSON string holding the list (tolerated: the list itself).
pub fn parse_children(answer: &Value) -> Result<Vec<Child>, ProviderError> {
    let unreadable = |why: String| {
        ProviderError::Api(provider_sdk::ApiError {
            status: 200,
            message: format!("CyberPanel's child-domain list is unreadable: {why}"),
        })
    };
    let list = match answer.get("data") {
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(vec![]),
        Some(Value::String(text)) => serde_json::from_slice::<Value>(text.as_bytes())
            .map_err(|e| unreadable(e.to_string()))?,
        Some(Value::Null) | None => return Err(unreadable("no data".into())),
        Some(other) => other.clone(),
    };
    let mut children = json::list(&list, Child::from_json).map_err(unreadable)?;
    for child in &mut children {
        child.name = child.name.trim().trim_end_matches('.').to_ascii_lowercase();
    }
    Ok(children)
}

/// Where a creation job stands (`statusFunc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Still running, with CyberPanel's progress text.
    Running(String),
    /// The last line ended in `[200]`.
    Done(String),
    /// The last line ended in `[404]`.
    Failed(String),
    /// The status file is not there (read already, or never written).
    Gone(String),
}

pub fn parse_job(answer: &Value) -> Job {
    let message = panel_message(answer).unwrap_or_default();
    let status = answer.get("status").and_then(flag);
    let abort = answer.get("abort").and_then(flag);
    match (status, abort) {
        (Some(1), Some(1)) => Job::Done(message),
        (Some(1), _) => Job::Running(message),
        (_, Some(1)) => Job::Failed(message),
        _ => Job::Gone(message),
    }
}

/// What a failed creation job means.
#[derive(Debug, Clone)]
pub enum CreateFailure {
    /// "This domain already exists as child domain": ours or another website's.
    ChildExists,
    Error(ProviderError),
}

pub fn creation_failure(message: &str, domain: &str) -> CreateFailure {
    let m = message.to_ascii_lowercase();
    let text = message.trim_end_matches("[404]").trim();
    if m.contains("already exists as child domain") {
        CreateFailure::ChildExists
    } else if m.contains("already exists as a website") {
        CreateFailure::Error(ProviderError::Conflict(format!(
            "{domain} is a website of its own in CyberPanel ({text}); delete that website or \
             map another domain"
        )))
    } else if m.contains("exceeded maximum number of domains") {
        CreateFailure::Error(ProviderError::LimitReached(format!(
            "the master website's package allows no more domains ({text}); raise the \
             package's domain limit in CyberPanel"
        )))
    } else if m.contains("virtual host directory already exists") {
        CreateFailure::Error(ProviderError::Conflict(format!(
            "CyberPanel has leftovers of {domain} on disk ({text}); remove them on the server"
        )))
    } else if m.contains("invalid domain") {
        CreateFailure::Error(ProviderError::InvalidInput(format!(
            "CyberPanel refused {domain}: {text}"
        )))
    } else {
        CreateFailure::Error(ProviderError::Api(provider_sdk::ApiError {
            status: 200,
            message: format!("CyberPanel could not create {domain}: {text}"),
        }))
    }
}

/// The cloudAPI body: the fixed fields, then the controller's own. No password: the
/// cloudAPI authenticates by the `Authorization` token alone (`cloudAPI/views.py` `router`,
/// `cloudAPI/cloudManager.py` `CloudManager.verifyLogin`, since commit 3ffce793 of
/// 2018-11-20; the body login before it was `userName`/`password`, never `serverPassword`).
pub fn cloud_body(user: &str, controller: &str, fields: &Value) -> Value {
    let mut body = json!({
        "serverUserName": user,
        "controller": controller,
    });
    if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
        for (k, v) in fields {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

/// Journal keys: what this event did, across retries.
fn created_key(domain: &str) -> String {
    format!("create {domain}")
}
fn status_key(domain: &str) -> String {
    format!("status file {domain}")
}
fn deleted_key(domain: &str) -> String {
    format!("delete {domain}")
}

struct Api {
    base: String,
    user: String,
    master: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let base = base_url(&config::require(HOST)?, config::get(PORT).as_deref())?;
        let user = config::require(USERNAME)?.trim().to_string();
        if user != CLOUD_API_USER {
            return Err(ProviderError::InvalidInput(format!(
                "{USERNAME} is {user:?}: CyberPanel's cloudAPI, the only API with child \
                 domains, serves the admin user only; set it to admin"
            )));
        }
        let master = master_domain(&config::require(MASTER_DOMAIN)?)?;
        Ok(Api { base, user, master })
    }

    /// The plugin's check of the admin password: `/api/verifyConn` with the login in the
    /// JSON body.
    fn verify_password(&self) -> Result<(), ProviderError> {
        let url = format!("{}/api/verifyConn", self.base);
        let body = json!({
            "adminUser": self.user,
            "adminPass": config::secret(PASSWORD).in_json()?,
        });
        let response = Request::post(url).json(&body).read_only().send()?;
        let answer = read_json(response.status, &response.body, &self.base)?;
        if answer.get("verifyConn").and_then(flag) == Some(1) {
            return Ok(());
        }
        let message = panel_message(&answer);
        Err(match message {
            Some(m) if m.contains("Data supplied is not accepted") => {
                ProviderError::InvalidInput(format!(
                    "CyberPanel's input filter refused the admin password ({m}): this \
                     CyberPanel checks /api/verifyConn, so a password with one of those \
                     characters cannot be verified; change it in CyberPanel"
                ))
            }
            Some(m) if answer.get("verifyConn").is_some() => {
                panel_error(&m).prefixed("CyberPanel rejected the login: ")
            }
            Some(m) => panel_error(&m),
            None => ProviderError::BadCredentials(format!(
                "CyberPanel rejected {USERNAME} / {PASSWORD} (verifyConn: 0)"
            )),
        })
    }

    /// One cloudAPI call, checked: `key` is the controller's own status field.
    fn call(
        &self,
        controller: &str,
        fields: Value,
        key: Option<&str>,
    ) -> Result<Value, ProviderError> {
        let answer = self.send(controller, &fields)?;
        check_answer(&answer, key)?;
        Ok(answer)
    }

    /// One cloudAPI call, its JSON answer unchecked. Every call is a POST; the reads are
    /// marked so the host does not take them for writes.
    fn send(&self, controller: &str, fields: &Value) -> Result<Value, ProviderError> {
        for value in fields.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(text) = value.as_str() {
                check_value(controller, text)?;
            }
        }
        let body = cloud_body(&self.user, controller, fields);
        let mut request = Request::post(format!("{}/cloudAPI/", self.base)).json(&body);
        if READS.contains(&controller) {
            request = request.read_only();
        }
        let response = request.send()?;
        read_json(response.status, &response.body, &self.base)
    }

    /// The master's alias children: the ones this integration makes (`alias: 1`).
    fn children(&self) -> Result<Vec<Child>, ProviderError> {
        self.fetch_children(1)
    }

    /// The master's children with a document root of their own (`alias: 0`, CyberPanel's
    /// default list): never made here, so never removed from here.
    fn own_root_children(&self) -> Result<Vec<Child>, ProviderError> {
        self.fetch_children(0)
    }

    /// `fetchDomains` lists only the children whose `alais` flag equals the request's
    /// `alias` (0 when absent): `website.py` `fetchDomains`, `childDomain.py`
    /// `findChildDomainsJson`.
    fn fetch_children(&self, alias: i64) -> Result<Vec<Child>, ProviderError> {
        let answer = self.send(
            "fetchDomains",
            &json!({ "masterDomain": self.master, "alias": alias }),
        )?;
        if let Err(error) = check_answer(&answer, Some("fetchStatus")) {
            let message = panel_message(&answer).unwrap_or_default();
            if message.contains("matching query does not exist") {
                return Err(ProviderError::NotFound(format!(
                    "CyberPanel has no website {} ({message}): check {MASTER_DOMAIN}",
                    self.master
                )));
            }
            return Err(error);
        }
        parse_children(&answer)
    }

    fn is_child(&self, domain: &str) -> Result<bool, ProviderError> {
        Ok(self.children()?.iter().any(|c| c.name == domain))
    }

    fn add(&self, domain: &str) -> Result<Outcome, ProviderError> {
        if domain == self.master {
            return Ok(Outcome::unchanged(format!(
                "{domain} is the master website itself; nothing to add"
            )));
        }
        check_value("the domain", domain)?;
        let sent_earlier = journal::recall(&created_key(domain)).is_some();
        let added = || {
            Outcome::changed(format!(
                "added {domain} as a child domain of {} (sharing its document root); \
                 CyberPanel issues its certificate",
                self.master
            ))
        };
        if self.is_child(domain)? {
            return Ok(if sent_earlier {
                added()
            } else {
                Outcome::unchanged(format!(
                    "{domain} is already a child domain of {}",
                    self.master
                ))
            });
        }
        // An earlier attempt's job may still be running: wait for it before sending again.
        if let Some(path) = journal::recall(&status_key(domain)) {
            match self.wait_for(domain, &path)? {
                Job::Done(_) => return self.confirm(domain, added()),
                Job::Failed(message) => return self.failed(domain, &message, added()),
                Job::Running(status) => {
                    return Err(ProviderError::Transient(format!(
                        "CyberPanel is still creating {domain} ({status})"
                    )));
                }
                // The status file was read to its end already: the list decides.
                Job::Gone(_) => {}
            }
        }
        journal::remember(&created_key(domain), "sent");
        let answer = self.call(
            "submitDomainCreation",
            // `path` is read on every request (`website.py` `submitDomainCreation`:
            // `data['path'].find('..')`; missing, it fails with KeyError `'path'`); with
            // `alias: 1` CyberPanel then uses the master's `public_html` whatever it says.
            json!({
                "masterDomain": self.master,
                "domainName": domain,
                "alias": 1,
                "path": "",
                "openBasedir": 0,
            }),
            Some("createWebSiteStatus"),
        )?;
        let Some(path) = answer.get("tempStatusPath").and_then(Value::as_str) else {
            // Nothing to poll: the list says whether it worked.
            return self.confirm(domain, added());
        };
        journal::remember(&status_key(domain), path);
        match self.wait_for(domain, path)? {
            Job::Done(_) | Job::Gone(_) => self.confirm(domain, added()),
            Job::Failed(message) => self.failed(domain, &message, added()),
            Job::Running(status) => Err(ProviderError::Transient(format!(
                "CyberPanel is still creating {domain} ({status})"
            ))),
        }
    }

    /// Polls a creation job until it ends or this attempt's patience runs out (then the
    /// host's retry polls the same job, recorded in the journal).
    fn wait_for(&self, domain: &str, path: &str) -> Result<Job, ProviderError> {
        let mut waited = Duration::ZERO;
        let mut delay = Duration::from_millis(250);
        loop {
            let answer = self.send("statusFunc", &json!({ "statusFile": path }))?;
            let job = parse_job(&answer);
            match &job {
                Job::Running(status) if waited < JOB_WAIT => {
                    log::debug(format!("creating {domain}: {status}"));
                    std::thread::sleep(delay);
                    waited += delay;
                    delay = (delay * 2).min(Duration::from_secs(4));
                }
                _ => return Ok(job),
            }
        }
    }

    /// The job said it worked: the list must say so too.
    fn confirm(&self, domain: &str, added: Outcome) -> Result<Outcome, ProviderError> {
        if self.is_child(domain)? {
            log::info(format!("added {domain} under {}", self.master));
            return Ok(added);
        }
        Err(ProviderError::Api(provider_sdk::ApiError {
            status: 200,
            message: format!(
                "CyberPanel's job for {domain} ended without error, but {} does not list it",
                self.master
            ),
        }))
    }

    fn failed(
        &self,
        domain: &str,
        message: &str,
        added: Outcome,
    ) -> Result<Outcome, ProviderError> {
        match creation_failure(message, domain) {
            CreateFailure::ChildExists => {
                if self.is_child(domain)? {
                    // Ours: created by an earlier attempt, or by hand before this event.
                    return Ok(if journal::recall(&created_key(domain)).is_some() {
                        added
                    } else {
                        Outcome::unchanged(format!(
                            "{domain} is already a child domain of {}",
                            self.master
                        ))
                    });
                }
                if self.own_root_children()?.iter().any(|c| c.name == domain) {
                    return Err(ProviderError::Conflict(format!(
                        "{domain} is a child domain of {} with a document root of its own                          (not an alias of the master), so it does not serve the network;                          delete it in CyberPanel and map it again",
                        self.master
                    )));
                }
                Err(ProviderError::Conflict(format!(
                    "{domain} is a child domain of another website in CyberPanel; remove it \
                     there first"
                )))
            }
            CreateFailure::Error(error) => Err(error),
        }
    }

    fn remove(&self, domain: &str) -> Result<Outcome, ProviderError> {
        if domain == self.master {
            return Err(ProviderError::Conflict(format!(
                "{domain} is the master website that serves the network; it is never removed \
                 from here"
            )));
        }
        check_value("the domain", domain)?;
        let deleted_earlier = journal::recall(&deleted_key(domain)).is_some();
        let removed = || Outcome::changed(format!("removed child domain {domain}"));
        if !self.is_child(domain)? {
            if deleted_earlier {
                return Ok(removed());
            }
            if self.own_root_children()?.iter().any(|c| c.name == domain) {
                return Ok(Outcome::unchanged(format!(
                    "{domain} is a child domain of {} with a document root of its own, which                      this integration never creates; left alone",
                    self.master
                )));
            }
            return Ok(Outcome::unchanged(format!(
                "{domain} is not a child domain of {}; nothing to remove",
                self.master
            )));
        }
        journal::remember(&deleted_key(domain), "sent");
        // The child shares the master's document root: never delete it.
        let answer = self.send(
            "submitDomainDeletion",
            &json!({ "websiteName": domain, "DeleteDocRoot": 0 }),
        )?;
        if let Err(error) = check_answer(&answer, Some("websiteDeleteStatus")) {
            if panel_message(&answer).is_some_and(|m| m.contains("matching query does not exist")) {
                return Ok(Outcome::unchanged(format!("{domain} was already removed")));
            }
            return Err(error);
        }
        log::info(format!("removed {domain} from {}", self.master));
        Ok(removed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_follows_the_allow_list_expansion() {
        assert_eq!(
            base_url("cp.example.com", None).unwrap(),
            "https://cp.example.com:8090"
        );
        assert_eq!(
            base_url("cp.example.com", Some("8443")).unwrap(),
            "https://cp.example.com:8443"
        );
        assert_eq!(
            base_url("https://cp.example.com:7080/", Some("8090")).unwrap(),
            "https://cp.example.com:7080"
        );
        assert_eq!(
            base_url(" https://cp.example.com/path ", None).unwrap(),
            "https://cp.example.com:8090"
        );
        assert!(base_url("cp.example.com", Some("80a")).is_err());
        assert!(base_url("ftp://cp.example.com", None).is_err());
        assert!(base_url("", None).is_err());
    }

    #[test]
    fn the_input_filter_is_applied_before_sending() {
        assert_eq!(filter_refuses("shop.example.com"), None);
        assert_eq!(filter_refuses("a;b"), Some(";"));
        assert_eq!(filter_refuses("a..b"), Some(".."));
        assert_eq!(filter_refuses("cp.example.com:8090"), Some(":"));
        assert!(check_value("x", "a$(b)").is_err());
        assert_eq!(
            master_domain(" Network.Example. ").unwrap(),
            "network.example"
        );
        assert!(matches!(
            master_domain("network.example/x"),
            Err(ProviderError::InvalidInput(_))
        ));
        assert!(matches!(
            master_domain("network.example;rm"),
            Err(ProviderError::InvalidInput(m)) if m.contains("input filter")
        ));
    }

    #[test]
    fn always_200_answers_are_read_by_their_status_fields() {
        let ok = json!({"status": 1, "createWebSiteStatus": 1, "error_message": "None", "tempStatusPath": "/home/cyberpanel/1234"});
        assert!(check_answer(&ok, Some("createWebSiteStatus")).is_ok());
        let invalid =
            json!({"status": 0, "createWebSiteStatus": 0, "error_message": "Invalid domain."});
        assert!(matches!(
            check_answer(&invalid, Some("createWebSiteStatus")),
            Err(ProviderError::Api(e)) if e.message == "Invalid domain."
        ));
        let token = json!({"status": 0, "error_message": "Invalid login information."});
        assert!(matches!(
            check_answer(&token, Some("fetchStatus")),
            Err(ProviderError::BadCredentials(m)) if m.contains(API_TOKEN)
        ));
        let filter = json!({"error_message": "Data supplied is not accepted, following characters are not allowed in the input ` $ & ( ) [ ] { } ; : ‘ < >.", "errorMessage": "x"});
        assert!(matches!(
            check_answer(&filter, Some("fetchStatus")),
            Err(ProviderError::InvalidInput(_))
        ));
        // Strings and missing keys.
        assert!(check_answer(&json!({"status": "1", "SSL": "1"}), Some("SSL")).is_ok());
        assert!(check_answer(&json!({"status": 1}), Some("SSL")).is_err());
        assert!(check_answer(&json!({}), None).is_err());
        assert!(matches!(
            panel_error("This function is not available in your version of CyberPanel."),
            ProviderError::Unsupported(_)
        ));
    }

    #[test]
    fn child_lists_are_double_encoded() {
        let answer = json!({"status": 1, "fetchStatus": 1, "error_message": "None",
            "data": "[{\"childDomain\": \"Shop.Example.com\", \"path\": \"/home/network.example/public_html\", \"childLunch\": \"/websites/network.example/shop.example.com\"}]"});
        let children = parse_children(&answer).unwrap();
        assert_eq!(children[0].name, "shop.example.com");
        let plain = json!({"data": [{"childDomain": "a.com"}]});
        assert_eq!(parse_children(&plain).unwrap()[0].name, "a.com");
        assert!(parse_children(&json!({"data": "[]"})).unwrap().is_empty());
        assert!(parse_children(&json!({"data": "nope"})).is_err());
        assert!(parse_children(&json!({"status": 1})).is_err());
    }

    #[test]
    fn creation_jobs_are_read_from_the_status_file_answers() {
        assert_eq!(
            parse_job(
                &json!({"status": 1, "abort": 0, "installationProgress": "50", "currentStatus": "Creating configurations.."})
            ),
            Job::Running("Creating configurations..".into())
        );
        assert_eq!(
            parse_job(
                &json!({"status": 1, "abort": 1, "installationProgress": "100", "currentStatus": "Domain successfully created. [200]"})
            ),
            Job::Done("Domain successfully created. [200]".into())
        );
        assert_eq!(
            parse_job(
                &json!({"status": 0, "abort": 1, "installationProgress": "0", "error_message": "This domain already exists as child domain. [404]"})
            ),
            Job::Failed("This domain already exists as child domain. [404]".into())
        );
        assert!(matches!(
            parse_job(
                &json!({"status": 0, "abort": 0, "installationProgress": "0", "errorMessage": "[Errno 2] No such file or directory"})
            ),
            Job::Gone(_)
        ));
        assert!(matches!(
            creation_failure("This domain already exists as child domain. [404]", "a.com"),
            CreateFailure::ChildExists
        ));
        assert!(matches!(
            creation_failure(
                "Exceeded maximum number of domains for this package. [404]",
                "a.com"
            ),
            CreateFailure::Error(ProviderError::LimitReached(_))
        ));
        assert!(matches!(
            creation_failure("This Domain already exists as a website. [404]", "a.com"),
            CreateFailure::Error(ProviderError::Conflict(_))
        ));
    }

    #[test]
    fn cloud_bodies_carry_the_fixed_fields_first() {
        let body = cloud_body(
            "admin",
            "fetchDomains",
            &json!({"masterDomain": "n.example", "alias": 1}),
        );
        assert_eq!(
            body,
            json!({"serverUserName": "admin", "controller": "fetchDomains",
                   "masterDomain": "n.example", "alias": 1})
        );
    }

    #[test]
    fn metadata_says_what_the_issue_says() {
        let m = CyberPanel::metadata();
        assert_eq!(m.id, "cyberpanel");
        assert_eq!(m.ssl_verification_attempts, 30);
        assert_eq!(
            m.default_allowed_hosts,
            vec!["{WU_CYBERPANEL_HOST}:{WU_CYBERPANEL_PORT:8090}"]
        );
        for name in [HOST, PORT, USERNAME, PASSWORD, MASTER_DOMAIN] {
            assert!(m.constant_names().contains(&name), "{name}");
        }
    }
}
