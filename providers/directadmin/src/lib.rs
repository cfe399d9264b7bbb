//! DirectAdmin: mapped domains (and subdomain sites) become domain pointers of the network's
//! domain, as aliases (served by the same site, not redirected).
//!
//! API (`panel-apis-a.md` §4), the legacy `CMD_API_*` commands on `https://{host}:2222`:
//! - Auth: HTTP Basic `user:<login key>` or `user:<password>`, attached by the host. A
//!   refused login is DirectAdmin's HTML login page, usually with HTTP 200.
//! - Answers are `error=0&text=…&details=…` (URL-encoded), or JSON with `json=yes`; lists
//!   are `name=value` pairs. Both are read, whichever comes back. `error=1` is a failure
//!   carrying `text` and `details`, whatever the HTTP status.
//! - `CMD_API_LOGIN_TEST` ("Login OK") and the pointer list (`GET CMD_API_DOMAIN_POINTER
//!   ?domain=…`) are `test-connection`'s reads; the list is every operation's first read.
//! - Add: `POST CMD_API_DOMAIN_POINTER` `domain=<base>&action=add&from=<name>&alias=yes`,
//!   one per name missing (the name, and `www.` + name per the `www` policy).
//! - Remove: one `action=delete` with `select0`, `select1` for the names present.
//!
//! Unlike the PHP plugin: only missing pointers are added and present ones deleted (the
//! plugin always deleted `www.` too and got `error=1` for one never added); a failure is
//! re-read before it is reported (a pointer that exists as wanted is success); a pointer
//! that exists as a redirect is reported, not silently kept; and a login page in any answer
//! (not only the connection test's) is rejected credentials.

use provider_sdk::errors::error_message;
use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AnyOfGroup, ApiError, AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent,
    DomainProvider, Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, config,
    journal, log,
};
use serde_json::Value;
use std::collections::BTreeMap;

pub const HOST: &str = "WU_DIRECTADMIN_HOST";
pub const PORT: &str = "WU_DIRECTADMIN_PORT";
pub const USERNAME: &str = "WU_DIRECTADMIN_USERNAME";
pub const API_TOKEN: &str = "WU_DIRECTADMIN_API_TOKEN";
pub const PASSWORD: &str = "WU_DIRECTADMIN_PASSWORD";
pub const DOMAIN: &str = "WU_DIRECTADMIN_DOMAIN";
pub const DEFAULT_PORT: &str = "2222";

pub struct DirectAdmin;

impl DomainProvider for DirectAdmin {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "directadmin".into(),
            title: "DirectAdmin".into(),
            description: "Adds mapped domains (and subdomain sites) as domain pointers (aliases) \
                          of the network's domain in DirectAdmin."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/directadmin".into(),
            constants: vec![
                ConstantSpec::required(
                    HOST,
                    "Host",
                    "DirectAdmin's host name, as in https://HOST:2222 (a URL is fine)",
                ),
                ConstantSpec::required(USERNAME, "Username", "The DirectAdmin user"),
                ConstantSpec::optional(
                    API_TOKEN,
                    "Login key",
                    "A login key (Account Manager > Login Keys) allowing CMD_API_LOGIN_TEST \
                     and CMD_API_DOMAIN_POINTER",
                )
                .secret(),
                ConstantSpec::optional(PASSWORD, "Password", "The user's password").secret(),
                ConstantSpec::required(
                    DOMAIN,
                    "Domain",
                    "The DirectAdmin domain that serves the network",
                ),
                ConstantSpec::optional(PORT, "Port", "DirectAdmin's port (2222)"),
            ],
            any_of: vec![AnyOfGroup {
                label: "DirectAdmin credentials".into(),
                options: vec![vec![API_TOKEN.into()], vec![PASSWORD.into()]],
            }],
            // Not independent-domains: all pointers hang off one domain of one user.
            capabilities: Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL,
            operations: Operations::LIST_DOMAINS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec![format!("{{{HOST}}}:{{{PORT}:{DEFAULT_PORT}}}")],
            auth: vec![
                AuthScheme::Basic(BasicAuth {
                    username_constant: USERNAME.into(),
                    password_constant: API_TOKEN.into(),
                }),
                AuthScheme::Basic(BasicAuth {
                    username_constant: USERNAME.into(),
                    password_constant: PASSWORD.into(),
                }),
            ],
            account_constants: vec![HOST.into(), PORT.into(), DOMAIN.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let login = api.call_get("CMD_API_LOGIN_TEST", &[])?;
        let text = login.text().unwrap_or_else(|| "Login OK".into());
        let pointers = api.pointers()?;
        Ok(Outcome::unchanged(format!(
            "DirectAdmin reachable ({} auth, {text}): domain {} has {} pointer(s)",
            if api.key { "login key" } else { "password" },
            api.domain,
            pointers.len()
        )))
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&event.domain, event.www)
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.<domain>` only when the host says so: it is false when the policy does not
        // want it or when `www.<domain>` is mapped as a domain of its own (review #9).
        Api::configured()?.remove(&event.domain, event.www)
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.add(&event.domain, event.www)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Api::configured()?.remove(&event.domain, true)
    }

    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        let api = Api::configured()?;
        let pointers = api.pointers()?;
        let mut list = vec![PanelDomain {
            name: api.domain.clone(),
            www: None,
            certificate: None,
            primary: true,
        }];
        list.extend(
            pointers
                .iter()
                .filter(|(_, kind)| *kind == Kind::Alias)
                .map(|(name, _)| PanelDomain {
                    name: name.clone(),
                    www: None,
                    certificate: None,
                    primary: false,
                }),
        );
        Ok(list)
    }
}

provider_sdk::export_provider!(DirectAdmin);

/// The DirectAdmin URL from the operator's host and port: a URL keeps its scheme and port,
/// a bare host gets HTTPS and the port (2222).
pub fn base_url(host: &str, port: Option<&str>) -> Result<String, ProviderError> {
    provider_sdk::url::panel_base(HOST, host, PORT, port, DEFAULT_PORT)
}

/// What a pointer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Served by the domain's own site (`alias=yes`).
    Alias,
    /// A redirect to the domain.
    Pointer,
}

impl Kind {
    fn parse(v: &Value) -> Kind {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("type")
                .or_else(|| o.get("alias"))
                .map(|t| match t {
                    Value::String(s) => s.clone(),
                    other => provider_sdk::json::text(other),
                })
                .unwrap_or_default(),
            other => provider_sdk::json::text(other),
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "pointer" | "no" | "0" | "false" | "redirect" => Kind::Pointer,
            _ => Kind::Alias,
        }
    }
}

/// One DirectAdmin answer, read from JSON or `a=b&c=d`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub fields: BTreeMap<String, Value>,
}

impl Answer {
    /// `Err` carries a failure's `text: details`.
    pub fn parse(body: &str) -> Result<Answer, String> {
        let body = body.trim();
        let fields: BTreeMap<String, Value> = if body.starts_with('{') {
            match serde_json::from_slice::<Value>(body.as_bytes()) {
                Ok(Value::Object(map)) => map.into_iter().collect(),
                _ => return Err(format!("unreadable answer: {}", short(body))),
            }
        } else if body.starts_with('[') {
            // A bare JSON list (of names).
            match serde_json::from_slice::<Value>(body.as_bytes()) {
                Ok(Value::Array(list)) => list
                    .iter()
                    .filter_map(|v| v.as_str().map(|s| (s.to_string(), Value::from("alias"))))
                    .collect(),
                _ => return Err(format!("unreadable answer: {}", short(body))),
            }
        } else {
            url_fields(body)
        };
        let answer = Answer { fields };
        if answer.failed() {
            return Err(answer.message());
        }
        Ok(answer)
    }

    fn get(&self, key: &str) -> Option<String> {
        self.fields.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => provider_sdk::json::text(other),
        })
    }

    fn failed(&self) -> bool {
        self.get("error")
            .is_some_and(|e| !matches!(e.trim(), "" | "0" | "false" | "null"))
    }

    /// `text: details`, cleaned of DirectAdmin's HTML.
    pub fn message(&self) -> String {
        let parts: Vec<String> = ["text", "details", "result", "message"]
            .iter()
            .filter_map(|k| self.get(k))
            .map(|t| clean(&t))
            .filter(|t| !t.is_empty() && t != "none")
            .collect();
        if parts.is_empty() {
            let error = self.get("error").unwrap_or_default();
            if error.len() > 1 {
                return clean(&error);
            }
            return "DirectAdmin reported an error without a message".into();
        }
        parts.join(": ")
    }

    pub fn text(&self) -> Option<String> {
        self.get("text")
            .map(|t| clean(&t))
            .filter(|t| !t.is_empty())
    }

    /// The pointers of a `CMD_API_DOMAIN_POINTER` list: every field that is a domain name.
    pub fn pointers(&self) -> Vec<(String, Kind)> {
        let list = self
            .fields
            .get("list")
            .and_then(|v| v.as_object().cloned())
            .map(|o| o.into_iter().collect::<BTreeMap<_, _>>())
            .unwrap_or_else(|| self.fields.clone());
        list.iter()
            .filter(|(k, _)| k.contains('.') && !matches!(k.as_str(), "error" | "text" | "details"))
            .map(|(k, v)| (k.trim_end_matches('.').to_ascii_lowercase(), Kind::parse(v)))
            .collect()
    }
}

/// `a=b&c=d`, percent-decoded, HTML entities undone (DirectAdmin's `unhtmlentities`).
fn url_fields(body: &str) -> BTreeMap<String, Value> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                entities(&percent_decode(k)),
                Value::String(entities(&percent_decode(v))),
            )
        })
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn entities(text: &str) -> String {
    let mut out = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#61;", "=")
        .replace("&#38;", "&");
    out = out.replace("&amp;", "&");
    out
}

/// One line, tags such as `<br>` removed.
fn clean(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn short(text: &str) -> String {
    clean(text).chars().take(200).collect()
}

/// Whether an answer is DirectAdmin's login page (a refused login).
pub fn is_login_page(body: &str) -> bool {
    let head: String = body
        .chars()
        .take(4096)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype") || head.contains("<form")
}

/// The contract's error for a DirectAdmin failure text.
pub fn classify(text: &str, what: &str) -> ProviderError {
    let t = text.to_ascii_lowercase();
    let message = format!("{what}: DirectAdmin: {text}");
    if t.contains("do not own") || t.contains("doesn't own") || t.contains("does not own") {
        ProviderError::NotFound(format!("{message}; check {DOMAIN}"))
    } else if t.contains("not allowed")
        || t.contains("cannot execute")
        || t.contains("permission")
        || t.contains("access denied")
    {
        ProviderError::BadCredentials(format!(
            "{message}; the login key in {API_TOKEN} must allow CMD_API_LOGIN_TEST and \
             CMD_API_DOMAIN_POINTER"
        ))
    } else if t.contains("limit") || t.contains("maximum") {
        ProviderError::LimitReached(message)
    } else if t.contains("already exists") || t.contains("exists") {
        ProviderError::Conflict(message)
    } else if t.contains("invalid") || t.contains("not a valid") {
        ProviderError::InvalidInput(message)
    } else {
        ProviderError::Api(ApiError {
            status: 200,
            message,
        })
    }
}

fn added_key(name: &str) -> String {
    format!("added {name}")
}
fn deleted_key(name: &str) -> String {
    format!("deleted {name}")
}

struct Api {
    base: String,
    key: bool,
    domain: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        let base = base_url(&config::require(HOST)?, config::get(PORT).as_deref())?;
        let domain = config::require(DOMAIN)?.trim().to_ascii_lowercase();
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(ProviderError::InvalidInput(format!(
                "{DOMAIN} must be a domain name (got {domain:?})"
            )));
        }
        Ok(Api {
            base,
            key: config::is_set(API_TOKEN),
            domain,
        })
    }

    fn rejected(&self, detail: &str) -> ProviderError {
        let which = if self.key { API_TOKEN } else { PASSWORD };
        ProviderError::BadCredentials(format!(
            "DirectAdmin refused the login ({detail}); check {USERNAME} and {which}"
        ))
    }

    /// Sends and reads an answer; `Ok(Err(text))` is DirectAdmin's `error=1`.
    fn send(&self, request: Request) -> Result<Result<Answer, String>, ProviderError> {
        let response = request.send()?;
        self.read(&response)
    }

    fn read(&self, response: &Response) -> Result<Result<Answer, String>, ProviderError> {
        let body = String::from_utf8_lossy(&response.body).into_owned();
        if is_login_page(&body) {
            return Err(self.rejected(&format!(
                "the answer was the login page, HTTP {}",
                response.status
            )));
        }
        match response.status {
            200..=299 => {}
            401 | 403 => {
                let detail = Answer::parse(&body)
                    .err()
                    .unwrap_or_else(|| error_message(response.status, &response.body));
                return Err(self.rejected(&format!("HTTP {}: {detail}", response.status)));
            }
            405 => {
                return Err(ProviderError::Api(ApiError {
                    status: 405,
                    message: "DirectAdmin refused the method (405 Method Not Allowed): the \
                              server's API hardening blocks this call"
                        .into(),
                }));
            }
            408 | 429 | 500..=599 => {
                return Err(ProviderError::Transient(format!(
                    "DirectAdmin: HTTP {}: {}",
                    response.status,
                    error_message(response.status, &response.body)
                )));
            }
            status => {
                // An error envelope with another status is still DirectAdmin's error.
                if let Err(text) = Answer::parse(&body)
                    && !text.starts_with("unreadable")
                {
                    return Ok(Err(text));
                }
                return Err(ProviderError::Api(ApiError {
                    status,
                    message: format!("DirectAdmin: {}", error_message(status, &response.body)),
                }));
            }
        }
        Ok(Answer::parse(&body))
    }

    fn call_get(&self, command: &str, params: &[(&str, &str)]) -> Result<Answer, ProviderError> {
        let mut query: Vec<(&str, &str)> = params.to_vec();
        query.push(("json", "yes"));
        self.send(Request::get(format!("{}/{command}", self.base)).query(&query))?
            .map_err(|text| classify(&text, command))
    }

    fn post(&self, params: &[(&str, String)]) -> Result<Result<Answer, String>, ProviderError> {
        let mut form: Vec<(&str, String)> = params.to_vec();
        form.push(("json", "yes".into()));
        self.send(Request::post(format!("{}/CMD_API_DOMAIN_POINTER", self.base)).form(&form))
    }

    fn pointers(&self) -> Result<Vec<(String, Kind)>, ProviderError> {
        let answer = self
            .call_get("CMD_API_DOMAIN_POINTER", &[("domain", &self.domain)])
            .map_err(|e| e.prefixed(&format!("listing the pointers of {}: ", self.domain)))?;
        Ok(answer.pointers())
    }

    fn add(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        if name == self.domain {
            return Ok(Outcome::unchanged(format!(
                "{name} is the DirectAdmin domain itself ({DOMAIN})"
            )));
        }
        let pointers = self.pointers()?;
        let kind_of =
            |list: &[(String, Kind)], n: &str| list.iter().find(|(p, _)| p == n).map(|(_, k)| *k);
        let mut wanted = vec![name.to_string()];
        if www && !name.starts_with("www.") {
            wanted.push(format!("www.{name}"));
        }
        let redirects: Vec<&String> = wanted
            .iter()
            .filter(|n| kind_of(&pointers, n) == Some(Kind::Pointer))
            .collect();
        if !redirects.is_empty() {
            return Err(ProviderError::Conflict(format!(
                "{} already exists as a redirecting pointer of {} (not an alias); delete it \
                 in DirectAdmin to have it served as an alias",
                redirects
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.domain
            )));
        }
        let mut added = Vec::new();
        for n in &wanted {
            if kind_of(&pointers, n).is_some() {
                if journal::recall(&added_key(n)).is_some() {
                    added.push(n.clone());
                }
                continue;
            }
            journal::remember(&added_key(n), "sent");
            let answer = self.post(&[
                ("domain", self.domain.clone()),
                ("action", "add".into()),
                ("from", n.clone()),
                ("alias", "yes".into()),
            ])?;
            match answer {
                Ok(_) => {
                    log::info(format!("added pointer {n} to {}", self.domain));
                    added.push(n.clone());
                }
                Err(text) => {
                    // Exists as wanted after all (another event, or a lost answer)?
                    if kind_of(&self.pointers()?, n) == Some(Kind::Alias) {
                        continue;
                    }
                    return Err(match classify(&text, &format!("adding pointer {n}")) {
                        ProviderError::Conflict(m) => ProviderError::Conflict(format!(
                            "{m} (not as a pointer of {}: another domain or user on the \
                             server holds it)",
                            self.domain
                        )),
                        other => other,
                    });
                }
            }
        }
        if added.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} already pointer(s) (alias) of {}",
                wanted.join(" and "),
                self.domain
            )));
        }
        Ok(Outcome::changed(format!(
            "added {} as pointer(s) (alias) of {}",
            added.join(" and "),
            self.domain
        )))
    }

    /// Deletes the pointer `name`, and `www.` + name when `www` (and it is present).
    fn remove(&self, name: &str, www: bool) -> Result<Outcome, ProviderError> {
        if name == self.domain {
            return Err(ProviderError::Conflict(format!(
                "{name} is the DirectAdmin domain itself ({DOMAIN}); it is never removed here"
            )));
        }
        let pointers = self.pointers()?;
        let mut names = vec![name.to_string()];
        if www && !name.starts_with("www.") {
            names.push(format!("www.{name}"));
        }
        // Only alias pointers are this integration's: a redirecting one (never added here,
        // and a conflict for `add`) is someone else's and stays.
        let of_kind = |n: &String, kind: Kind| pointers.iter().any(|(p, k)| p == n && *k == kind);
        let present: Vec<String> = names
            .iter()
            .filter(|n| of_kind(n, Kind::Alias))
            .cloned()
            .collect();
        let kept: Vec<String> = names
            .iter()
            .filter(|n| of_kind(n, Kind::Pointer))
            .cloned()
            .collect();
        let kept_note = (!kept.is_empty()).then(|| {
            format!(
                "{} is a redirecting pointer of {}, not an alias this integration adds; left \
                 as it is",
                kept.join(" and "),
                self.domain
            )
        });
        let with_kept = |mut outcome: Outcome| {
            outcome.notes.extend(kept_note.clone());
            outcome
        };
        let earlier: Vec<String> = names
            .iter()
            .filter(|n| journal::recall(&deleted_key(n)).is_some() && !present.contains(n))
            .cloned()
            .collect();
        if present.is_empty() {
            return Ok(if earlier.is_empty() {
                Outcome::unchanged(kept_note.clone().unwrap_or_else(|| {
                    format!(
                        "{name} is not a pointer of {}; nothing to remove",
                        self.domain
                    )
                }))
            } else {
                with_kept(Outcome::changed(format!(
                    "removed pointer(s) {} from {}",
                    earlier.join(" and "),
                    self.domain
                )))
            });
        }
        let mut form = vec![
            ("domain", self.domain.clone()),
            ("action", "delete".to_string()),
        ];
        let selects: Vec<String> = (0..present.len()).map(|i| format!("select{i}")).collect();
        for (i, n) in present.iter().enumerate() {
            journal::remember(&deleted_key(n), "sent");
            form.push((selects[i].as_str(), n.clone()));
        }
        if let Err(text) = self.post(&form)? {
            let after = self.pointers()?;
            if present.iter().any(|n| after.iter().any(|(p, _)| p == n)) {
                return Err(classify(
                    &text,
                    &format!("removing {}", present.join(" and ")),
                ));
            }
        }
        log::info(format!(
            "removed pointer(s) {} from {}",
            present.join(", "),
            self.domain
        ));
        let mut all = earlier;
        all.extend(present);
        Ok(with_kept(Outcome::changed(format!(
            "removed pointer(s) {} from {}",
            all.join(" and "),
            self.domain
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_follows_the_hosts_template() {
        assert_eq!(
            base_url("da.example.com", None).unwrap(),
            "https://da.example.com:2222"
        );
        assert_eq!(
            base_url("https://da.example.com:2223/", Some("9")).unwrap(),
            "https://da.example.com:2223"
        );
        assert_eq!(
            base_url("da.example.com", Some("2444")).unwrap(),
            "https://da.example.com:2444"
        );
        assert!(base_url("da example.com", None).is_err());
        assert!(base_url("da.example.com", Some("x")).is_err());
    }

    #[test]
    fn url_encoded_and_json_answers_are_both_read() {
        let ok = Answer::parse("error=0&text=Login%20OK&details=none").unwrap();
        assert_eq!(ok.text().unwrap(), "Login OK");
        let failed = Answer::parse(
            "error=1&text=Cannot%20create%20pointer&details=That%20domain%20already%20exists%3Cbr%3E",
        )
        .unwrap_err();
        assert_eq!(failed, "Cannot create pointer: That domain already exists");
        let json =
            Answer::parse(r#"{"error":"1","text":"You do not own that domain","details":""}"#)
                .unwrap_err();
        assert!(json.contains("do not own"));
        let list = Answer::parse("a.com=alias&b.com=pointer")
            .unwrap()
            .pointers();
        assert_eq!(
            list,
            vec![
                ("a.com".into(), Kind::Alias),
                ("b.com".into(), Kind::Pointer)
            ]
        );
        let list = Answer::parse(r#"{"a.com":{"type":"alias"},"b.com":"pointer"}"#)
            .unwrap()
            .pointers();
        assert_eq!(
            list,
            vec![
                ("a.com".into(), Kind::Alias),
                ("b.com".into(), Kind::Pointer)
            ]
        );
        assert!(Answer::parse("").unwrap().pointers().is_empty());
        assert!(
            Answer::parse(r#"{"error":"0","list":{"a.com":"alias"}}"#)
                .unwrap()
                .pointers()
                .len()
                == 1
        );
    }

    #[test]
    fn login_pages_and_failures_are_classified() {
        assert!(is_login_page(
            "<html><head><title>DirectAdmin Login</title>"
        ));
        assert!(!is_login_page("error=0&text=Login OK"));
        assert!(matches!(
            classify("You do not own that domain", "x"),
            ProviderError::NotFound(_)
        ));
        assert!(matches!(
            classify(
                "This login key is not allowed to run CMD_API_DOMAIN_POINTER",
                "x"
            ),
            ProviderError::BadCredentials(_)
        ));
        assert!(matches!(
            classify("Cannot create pointer: That domain already exists", "x"),
            ProviderError::Conflict(_)
        ));
        assert!(matches!(
            classify("You have reached your domain pointer limit", "x"),
            ProviderError::LimitReached(_)
        ));
    }
}
