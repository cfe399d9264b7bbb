//! Where an integration may send requests, and where a host's requests are routed.
//!
//! Pure policy, unit-tested without a guest (as Spin's outbound-networking-config). The
//! hook in `outbound.rs` applies it to every request a component makes.
//!
//! Allow-list entries:
//! - `api.example.com`: that host, HTTPS, port 443;
//! - `api.example.com:8443`: that host and port, HTTPS;
//! - `*.example.com`: any subdomain (not `example.com` itself), HTTPS, port 443;
//! - an `http://` or `https://` prefix sets the scheme explicitly (`http://panel.lan:8080`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// Stored with its leading dot: `.example.com`.
    AnySubdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    https: bool,
    host: HostPattern,
    port: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<AllowedHost>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

/// Splits `[scheme://]host[:port]`, refusing paths, user info and empty parts.
fn split_target(entry: &str) -> Result<(bool, String, Option<u16>), PolicyError> {
    let fail = |why: &str| PolicyError(format!("{entry:?}: {why}"));
    let (https, rest) = if let Some(rest) = entry.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = entry.strip_prefix("http://") {
        (false, rest)
    } else if entry.contains("://") {
        return Err(fail("only http:// and https:// are supported"));
    } else {
        (true, entry)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '@', '?', '#']) || rest.contains(char::is_whitespace)
    {
        return Err(fail("expected host or host:port, without a path"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        // `[v6]:port`
        Some((host, port)) if host.starts_with('[') && host.ends_with(']') => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| fail("the port must be a number from 1 to 65535"))?;
            (host, Some(port))
        }
        Some((host, port)) if !host.contains(':') => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| fail("the port must be a number from 1 to 65535"))?;
            (host, Some(port))
        }
        _ => (rest, None),
    };
    if host.is_empty() {
        return Err(fail("the host is empty"));
    }
    Ok((https, host.to_ascii_lowercase(), port))
}

fn default_port(https: bool) -> u16 {
    if https { 443 } else { 80 }
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Result<Self, PolicyError> {
        let (https, host, port) = split_target(entry)?;
        let host = if host == "*" {
            return Err(PolicyError(format!(
                "{entry:?}: a bare \"*\" would allow every host; list the panel's API hosts"
            )));
        } else if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') || !suffix.contains('.') {
                return Err(PolicyError(format!(
                    "{entry:?}: a wildcard must be \"*.\" followed by a domain with a dot"
                )));
            }
            HostPattern::AnySubdomain(format!(".{suffix}"))
        } else if host.contains('*') {
            return Err(PolicyError(format!(
                "{entry:?}: \"*\" is only allowed as a leading \"*.\" label"
            )));
        } else {
            HostPattern::Exact(host)
        };
        Ok(AllowedHost {
            https,
            host,
            port: port.unwrap_or(default_port(https)),
        })
    }

    /// Whether the entry is an IP literal (only an operator can write one: components
    /// may not declare them), which makes its address explicitly allowed.
    pub fn is_ip_literal(&self) -> bool {
        matches!(&self.host, HostPattern::Exact(h) if h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok())
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    fn allows(&self, https: bool, host: &str, port: u16) -> bool {
        let host_ok = match &self.host {
            HostPattern::Exact(h) => h == host,
            HostPattern::AnySubdomain(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        };
        self.https == https && self.port == port && host_ok
    }
}

impl AllowList {
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, PolicyError> {
        let entries = entries
            .iter()
            .map(|e| AllowedHost::parse(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(AllowList { entries })
    }

    /// What a component may declare as its default hosts: HTTPS names only. An `http://`
    /// default would send traffic (and credentials) in clear, and an IP literal would
    /// bypass the address check that names get; both are the operator's call.
    ///
    /// An entry may name the operator's own host for a self-hosted panel as a template,
    /// `{WU_CPANEL_HOST}:{WU_CPANEL_PORT:2083}`: see [`expand_default`]. Templates are
    /// checked here for shape only; their expansion is the operator's value.
    pub fn parse_component_defaults<S: AsRef<str>>(entries: &[S]) -> Result<Self, PolicyError> {
        let mut plain = Vec::new();
        for entry in entries {
            let entry = entry.as_ref();
            if entry.contains('{') {
                check_template(entry)?;
                continue;
            }
            plain.push(entry);
            let (https, host, _) = split_target(entry)?;
            if !https {
                return Err(PolicyError(format!(
                    "{entry:?}: a component may not declare an http:// host"
                )));
            }
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<std::net::IpAddr>().is_ok() {
                return Err(PolicyError(format!(
                    "{entry:?}: a component may not declare an IP address as a host"
                )));
            }
        }
        Self::parse(&plain)
    }

    /// The entry that lets a request to `scheme://host[:port]` leave the machine.
    pub fn allowing(&self, uri: &http::Uri) -> Option<&AllowedHost> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return None,
        };
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(default_port(https));
        self.entries.iter().find(|e| e.allows(https, &host, port))
    }

    /// Whether a request to `scheme://host[:port]` may leave the machine.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        self.allowing(uri).is_some()
    }

    /// Whether any entry could match this host name (on some scheme and port).
    fn covers_host(&self, host: &str) -> bool {
        self.entries.iter().any(|e| match &e.host {
            HostPattern::Exact(h) => h == host,
            HostPattern::AnySubdomain(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        })
    }
}

/// A template's shape: every `{...}` names a constant, and the rest is a host pattern.
fn check_template(template: &str) -> Result<(), PolicyError> {
    let mut rest = template;
    let mut literal = String::new();
    while let Some(start) = rest.find('{') {
        literal.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| PolicyError(format!("{template:?}: unclosed {{")))?;
        let name = rest[start + 1..end].split(':').next().unwrap_or("");
        if !crate::sandbox::constants::is_constant_name(name) {
            return Err(PolicyError(format!(
                "{template:?}: a template names a constant: {{NAME}} or {{NAME:default}}"
            )));
        }
        literal.push('x');
        rest = &rest[end + 1..];
    }
    if rest.contains('}') || literal.contains("http://") {
        return Err(PolicyError(format!(
            "{template:?}: not a usable host template"
        )));
    }
    Ok(())
}

/// Expands a default-host template from the operator's constants: `{NAME}` is the value
/// of constant `NAME`, `{NAME:default}` falls back to `default` when it is unset. A value
/// may be a bare host or a URL (`https://panel.example.com:8083/api/`): its scheme, path
/// and a port already in it are taken as the operator wrote them. `Ok(None)` when a
/// constant without a default is unset (the integration then reports it missing).
pub fn expand_default(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, PolicyError> {
    let fail = |why: &str| PolicyError(format!("{template:?}: {why}"));
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| fail("unclosed {"))?;
        let inner = &rest[start + 1..end];
        let (name, default) = match inner.split_once(':') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if !crate::sandbox::constants::is_constant_name(name) {
            return Err(fail(
                "a template names a constant: {NAME} or {NAME:default}",
            ));
        }
        let found = value(name).filter(|v| !v.trim().is_empty());
        let text = match (found, default) {
            (Some(v), _) => v.trim().to_string(),
            (None, Some(d)) => d.to_string(),
            (None, None) => return Ok(None),
        };
        out.push_str(&text);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    // A value written as a URL: keep its scheme and authority, drop the path.
    let (scheme, authority) = match out.split_once("://") {
        Some((scheme, after)) => (Some(scheme.to_string()), after.to_string()),
        None => (None, out.clone()),
    };
    let authority = authority
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    // `{HOST}:{PORT}` where HOST already carried a port: the operator's port wins.
    let authority = match authority.matches(':').count() {
        2 if !authority.contains('[') => {
            let mut parts = authority.splitn(3, ':');
            let (host, port) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            format!("{host}:{port}")
        }
        _ => authority,
    };
    let expanded = match scheme {
        Some(scheme) => format!("{scheme}://{authority}"),
        None => authority,
    };
    AllowedHost::parse(&expanded)?;
    Ok(Some(expanded))
}

/// Sends one host's requests elsewhere (a staging panel, an emulator in tests). The
/// allow-list is checked against the original URL, so a route cannot widen the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    host: String,
    pub to_https: bool,
    pub to_host: String,
    pub to_port: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Self, PolicyError> {
        let mut routes = Vec::new();
        for (host, target) in pairs {
            if host.contains(['/', ':', '*']) || host.is_empty() {
                return Err(PolicyError(format!(
                    "route key {host:?}: expected a plain host name"
                )));
            }
            if !target.contains("://") {
                return Err(PolicyError(format!(
                    "route for {host:?}: {target:?} needs a scheme (http:// or https://)"
                )));
            }
            let (to_https, to_host, port) = split_target(target)?;
            if to_host.contains('*') {
                return Err(PolicyError(format!(
                    "route for {host:?}: {target:?} must name one host"
                )));
            }
            routes.push(Route {
                host: host.to_ascii_lowercase(),
                to_https,
                to_port: port.unwrap_or(default_port(to_https)),
                to_host,
            });
        }
        Ok(Routes { routes })
    }

    /// Fails closed: a route whose key no allowed host matches would never be used, which
    /// almost always means a typo that sends traffic somewhere unintended.
    pub fn check_keys(&self, allow: &AllowList) -> Result<(), PolicyError> {
        match self.routes.iter().find(|r| !allow.covers_host(&r.host)) {
            Some(route) => Err(PolicyError(format!(
                "route key {:?} matches no allowed host",
                route.host
            ))),
            None => Ok(()),
        }
    }

    /// Where requests for `uri`'s host really go, when it has a route.
    pub fn route_for(&self, uri: &http::Uri) -> Option<&Route> {
        let host = uri.host()?.to_ascii_lowercase();
        self.routes.iter().find(|r| r.host == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(entries).unwrap()
    }

    fn uri(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    #[test]
    fn exact_host_allows_https_default_port_only() {
        let l = list(&["api.serverpilot.io"]);
        assert!(l.allows(&uri("https://api.serverpilot.io/v1/apps/x")));
        assert!(l.allows(&uri("https://API.ServerPilot.io:443/")));
        assert!(!l.allows(&uri("http://api.serverpilot.io/")), "scheme");
        assert!(!l.allows(&uri("https://api.serverpilot.io:8443/")), "port");
        assert!(!l.allows(&uri("https://evil.example/")), "host");
        assert!(
            !l.allows(&uri("https://api.serverpilot.io.evil.example/")),
            "suffix trick"
        );
    }

    #[test]
    fn host_port_entries_pin_the_port() {
        let l = list(&["panel.example.com:2083"]);
        assert!(l.allows(&uri("https://panel.example.com:2083/x")));
        assert!(!l.allows(&uri("https://panel.example.com/x")));
    }

    #[test]
    fn wildcard_matches_subdomains_not_the_bare_suffix() {
        let l = list(&["*.runcloud.io"]);
        assert!(l.allows(&uri("https://manage.runcloud.io/api")));
        assert!(l.allows(&uri("https://a.b.runcloud.io/")));
        assert!(!l.allows(&uri("https://runcloud.io/")));
        assert!(!l.allows(&uri("https://evilruncloud.io/")));
    }

    #[test]
    fn explicit_http_scheme() {
        let l = list(&["http://127.0.0.1:8080"]);
        assert!(l.allows(&uri("http://127.0.0.1:8080/x")));
        assert!(!l.allows(&uri("https://127.0.0.1:8080/x")));
    }

    #[test]
    fn empty_list_denies_everything() {
        assert!(!AllowList::default().allows(&uri("https://api.serverpilot.io/")));
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry_named() {
        for bad in [
            "*",
            "https://*",
            "a.*.com",
            "*.com",
            "host/path",
            "ftp://x",
            "h:0",
            "h:99999",
            "u@h",
            "",
        ] {
            let err = AllowList::parse(&[bad]).unwrap_err();
            assert!(err.0.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[test]
    fn routes_name_where_a_host_really_goes() {
        let target = "http://127.0.0.1:18081".to_string();
        let key = "api.serverpilot.io".to_string();
        let routes = Routes::parse([(&key, &target)]).unwrap();
        let route = routes
            .route_for(&uri("https://api.serverpilot.io/v1/apps/a?x=1"))
            .unwrap();
        assert_eq!(
            (route.to_https, route.to_host.as_str(), route.to_port),
            (false, "127.0.0.1", 18081)
        );
        assert!(routes.route_for(&uri("https://other.example/")).is_none());
    }

    #[test]
    fn route_keys_must_match_an_allowed_host() {
        let target = "http://127.0.0.1:1".to_string();
        let allow = list(&["api.serverpilot.io", "*.runcloud.io"]);
        for ok in ["api.serverpilot.io", "manage.runcloud.io"] {
            let key = ok.to_string();
            Routes::parse([(&key, &target)])
                .unwrap()
                .check_keys(&allow)
                .unwrap();
        }
        let typo = "api.serverpilot.com".to_string();
        let err = Routes::parse([(&typo, &target)])
            .unwrap()
            .check_keys(&allow)
            .unwrap_err();
        assert!(
            err.0.contains("api.serverpilot.com") && err.0.contains("matches no allowed host"),
            "{err}"
        );
    }

    #[test]
    fn components_may_declare_https_names_only() {
        assert!(
            AllowList::parse_component_defaults(&[
                "api.serverpilot.io",
                "*.runcloud.io",
                "panel.example:2083"
            ])
            .is_ok()
        );
        for bad in [
            "http://api.example.com",
            "203.0.113.5",
            "https://[2001:db8::1]:443",
            "127.0.0.1:8080",
        ] {
            assert!(
                AllowList::parse_component_defaults(&[bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn default_host_templates_expand_from_the_operators_values() {
        let values = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let t = "{WU_CPANEL_HOST}:{WU_CPANEL_PORT:2083}";
        assert_eq!(
            expand_default(t, values(&[("WU_CPANEL_HOST", "cp.example.com")]))
                .unwrap()
                .unwrap(),
            "cp.example.com:2083"
        );
        assert_eq!(
            expand_default(
                t,
                values(&[
                    ("WU_CPANEL_HOST", "cp.example.com"),
                    ("WU_CPANEL_PORT", "2087")
                ])
            )
            .unwrap()
            .unwrap(),
            "cp.example.com:2087"
        );
        assert_eq!(
            expand_default(
                t,
                values(&[("WU_CPANEL_HOST", "https://cp.example.com:2096/")])
            )
            .unwrap()
            .unwrap(),
            "https://cp.example.com:2096"
        );
        assert_eq!(
            expand_default(
                "{WU_HESTIA_API_URL}",
                values(&[("WU_HESTIA_API_URL", "https://hcp.example.com:8083/api/")])
            )
            .unwrap()
            .unwrap(),
            "https://hcp.example.com:8083"
        );
        assert_eq!(
            expand_default(t, values(&[])).unwrap(),
            None,
            "unset: reported missing elsewhere"
        );
        assert!(expand_default("{not a name}", values(&[])).is_err());
        assert!(expand_default(t, values(&[("WU_CPANEL_HOST", "a b")])).is_err());
        assert!(AllowList::parse_component_defaults(&[t]).is_ok());
    }

    #[test]
    fn ip_literal_entries_are_known() {
        let l = list(&["203.0.113.5:8443", "panel.example.com"]);
        assert!(
            l.allowing(&uri("https://203.0.113.5:8443/"))
                .unwrap()
                .is_ip_literal()
        );
        assert!(
            !l.allowing(&uri("https://panel.example.com/"))
                .unwrap()
                .is_ip_literal()
        );
    }

    #[test]
    fn bad_routes_are_refused() {
        let key = "api.serverpilot.io".to_string();
        for target in [
            "127.0.0.1:18081",
            "http://127.0.0.1:18081/path",
            "gopher://x",
        ] {
            let target = target.to_string();
            assert!(Routes::parse([(&key, &target)]).is_err(), "{target}");
        }
        let bad_key = "https://api.serverpilot.io".to_string();
        let target = "http://127.0.0.1:1".to_string();
        assert!(Routes::parse([(&bad_key, &target)]).is_err());
    }
}
