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
    /// Expanded from a component's default hosts (not written by the operator in
    /// `allowed_hosts`): its addresses are always vetted, even for an IP literal.
    from_component: bool,
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
            from_component: false,
        })
    }

    /// Whether the entry is an IP literal (only an operator can write one: components
    /// may not declare them), which makes its address explicitly allowed.
    pub fn is_ip_literal(&self) -> bool {
        matches!(&self.host, HostPattern::Exact(h) if h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok())
    }

    /// Whether requests through this entry connect without address vetting: only an IP
    /// literal the operator wrote in `allowed_hosts` (an explicit "this address").
    /// Entries expanded from a component's default hosts are always vetted, whatever the
    /// operator's constants expanded into them.
    pub fn skips_address_vetting(&self) -> bool {
        !self.from_component && self.is_ip_literal()
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

    /// A component's default hosts after [`expand_default`]: parsed as plain entries,
    /// but every address they resolve to (an IP literal's too) stays vetted.
    pub fn from_component_defaults<S: AsRef<str>>(expanded: &[S]) -> Result<Self, PolicyError> {
        let mut list = Self::parse(expanded)?;
        for entry in &mut list.entries {
            entry.from_component = true;
        }
        Ok(list)
    }

    /// What a component may declare as its default hosts: HTTPS names only. An `http://`
    /// default would send traffic (and credentials) in clear, and an IP literal would
    /// bypass the address check that names get; both are the operator's call.
    ///
    /// An entry may name the operator's own host for a self-hosted panel as a template,
    /// `{WU_CPANEL_HOST}:{WU_CPANEL_PORT:2083}`: see [`expand_default`]. What the component
    /// wrote in a template (the text around the braces and each `:default`) obeys the same
    /// rules, checked here with every constant unset; [`expand_default`] checks them again
    /// against the operator's values.
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
    // With every constant unset: each `:default` as written, a constant without one as a
    // plain name standing for the operator's value. What the component wrote must not
    // make an `http://` or IP-literal entry.
    expand_marked(template, |_| None, Some("1")).map(|_| ())
}

/// Expands a default-host template from the operator's constants: `{NAME}` is the value
/// of constant `NAME`, `{NAME:default}` falls back to `default` when it is unset. A value
/// may be a bare host or a URL (`https://panel.example.com:8083/api/`): its scheme, path
/// and a port already in it are taken as the operator wrote them. `Ok(None)` when a
/// constant without a default is unset (the integration then reports it missing).
///
/// Only the operator's values may turn the entry into an `http://` or IP-literal one: the
/// component's own text (around the braces, and each `:default`) is held to the rules of a
/// plain component default, and fails here when it would not be. Whatever it expands to,
/// the entry's addresses stay vetted ([`AllowList::from_component_defaults`]).
pub fn expand_default(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, PolicyError> {
    expand_marked(template, value, None)
}

/// [`expand_default`], keeping track of which bytes the operator supplied: an `http://`
/// scheme or an IP-literal host must come wholly from the operator's values, never from the
/// component's text (around the braces or a `:default`). `unset`, when given, stands for
/// the value of every constant without a default (the check at load, before any value).
fn expand_marked(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
    unset: Option<&str>,
) -> Result<Option<String>, PolicyError> {
    let fail = |why: &str| PolicyError(format!("{template:?}: {why}"));
    let mut out = String::new();
    // `operator[i]`: byte `i` of `out` came from an operator's value.
    let mut operator: Vec<bool> = Vec::new();
    let mut push = |out: &mut String, text: &str, by_operator: bool| {
        out.push_str(text);
        operator.extend(std::iter::repeat_n(by_operator, text.len()));
    };
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        push(&mut out, &rest[..start], false);
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
        match (found, default, unset) {
            (Some(v), _, _) => push(&mut out, v.trim(), true),
            (None, Some(d), _) => push(&mut out, d, false),
            (None, None, Some(u)) => push(&mut out, u, true),
            (None, None, None) => return Ok(None),
        }
        rest = &rest[end + 1..];
    }
    push(&mut out, rest, false);
    // A value written as a URL: keep its scheme and authority, drop the path.
    let (scheme, authority, authority_at) = match out.split_once("://") {
        Some((scheme, after)) => (
            Some(scheme.to_string()),
            after.to_string(),
            scheme.len() + 3,
        ),
        None => (None, out.clone(), 0),
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
    let entry = AllowedHost::parse(&expanded)?;
    // The host is a prefix of the authority in `out` (the steps above keep `host[:port]`
    // at its start), and `split_target` keeps its length.
    let (_, host, _) = split_target(&expanded)?;
    let by_operator = |range: std::ops::Range<usize>| {
        operator
            .get(range)
            .is_some_and(|bytes| bytes.iter().all(|b| *b))
    };
    if !entry.is_https() && !by_operator(0..authority_at) {
        return Err(fail(
            "a component may not declare an http:// host (only the operator's value may name one)",
        ));
    }
    if entry.is_ip_literal() && !by_operator(authority_at..authority_at + host.len()) {
        return Err(fail(
            "a component may not declare an IP address as a host (only the operator's value may name one)",
        ));
    }
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
            // Requests to an HTTPS allowed host carry its credential and secrets: a plain
            // HTTP hop would put them on the wire in clear. Only loopback (a test
            // emulator, a local TLS-terminating proxy) may take them unencrypted.
            if !to_https && !crate::sandbox::egress::is_loopback_host(&to_host) {
                return Err(PolicyError(format!(
                    "route for {host:?}: {target:?} is plain http:// to a host that is not \
                     loopback; credentials would travel in clear. Use https:// (with ca_file \
                     for a private CA)"
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
            // Plain HTTP off this machine: credentials in clear.
            "http://10.0.0.5:8080",
            "http://panel.internal",
            "http://[fd00::1]:80",
        ] {
            let target = target.to_string();
            assert!(Routes::parse([(&key, &target)]).is_err(), "{target}");
        }
        let bad_key = "https://api.serverpilot.io".to_string();
        let target = "http://127.0.0.1:1".to_string();
        assert!(Routes::parse([(&bad_key, &target)]).is_err());
        for fine in [
            "http://localhost:8080",
            "http://[::1]:9",
            "https://10.0.0.5",
        ] {
            let target = fine.to_string();
            assert!(Routes::parse([(&key, &target)]).is_ok(), "{fine}");
        }
    }

    fn unset(_: &str) -> Option<String> {
        None
    }

    /// Security review F1: what the component wrote in a template is held to the rules of
    /// a plain default, at load and at expansion.
    #[test]
    fn templates_cannot_smuggle_http_or_addresses() {
        for bad in [
            "{WU_X:http://169.254.169.254}",
            "{WU_X:127.0.0.1}:8787",
            "169.254.169.254{WU_X:}",
            "[::1]{A:}:99",
            "{A:[::1]}",
            "{WU_X:http://127.0.0.1:2375}",
            "{WU_X:http}://example.com",
            "127.0.0.{WU_X}",
            "{WU_X:10.0.0.1}:{WU_P:2083}",
        ] {
            let err = AllowList::parse_component_defaults(&[bad]).unwrap_err();
            assert!(err.0.contains("may not declare"), "{bad}: {err}");
            assert!(!matches!(expand_default(bad, unset), Ok(Some(_))), "{bad}");
        }
        // The operator's value completing the component's address is still the component's.
        assert!(expand_default("{WU_X}.0.0.1", |_| Some("127".into())).is_err());
        assert!(expand_default("1{WU_X}", |_| Some("27.0.0.1".into())).is_err());
        // The normal shapes still work.
        for good in [
            "{WU_X}.example.com",
            "{WU_X}:{WU_P:2083}",
            "{WU_API_URL}",
            "{WU_X:api.example.com}",
        ] {
            AllowList::parse_component_defaults(&[good]).unwrap();
        }
        assert_eq!(
            expand_default("{WU_X}.example.com", |_| Some("panel".into()))
                .unwrap()
                .unwrap(),
            "panel.example.com"
        );
    }

    /// The operator's own value may be an address or `http://`; the entry is vetted all
    /// the same, where an operator-written `allowed_hosts` address is not.
    #[test]
    fn an_operators_value_may_name_an_address_but_stays_vetted() {
        let value = |v: &'static str| move |n: &str| (n != "WU_P").then(|| v.to_string());
        for (template, v, want) in [
            ("{WU_X}:{WU_P:2083}", "127.0.0.1", "127.0.0.1:2083"),
            ("{WU_X}:{WU_P:2083}", "[::1]", "[::1]:2083"),
            (
                "{WU_URL}",
                "http://169.254.169.254/latest/",
                "http://169.254.169.254",
            ),
        ] {
            let expanded = expand_default(template, value(v)).unwrap().unwrap();
            assert_eq!(expanded, want);
            let from_component = AllowList::from_component_defaults(&[&expanded]).unwrap();
            assert!(
                from_component
                    .entries
                    .iter()
                    .all(|e| e.is_ip_literal() && !e.skips_address_vetting())
            );
            let operator = AllowList::parse(&[&expanded]).unwrap();
            assert!(
                operator
                    .entries
                    .iter()
                    .all(AllowedHost::skips_address_vetting)
            );
        }
    }

    mod matching {
        use super::super::*;
        use proptest::prelude::*;

        fn label() -> impl Strategy<Value = String> {
            "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
        }

        fn domain() -> impl Strategy<Value = String> {
            prop::collection::vec(label(), 2..4).prop_map(|l| l.join("."))
        }

        fn uri(text: &str) -> Option<http::Uri> {
            text.parse().ok()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            /// An exact entry allows its host on its scheme and port only, in any case;
            /// never a longer name that merely starts or ends like it.
            #[test]
            fn an_exact_entry_allows_its_host_and_nothing_like_it(
                host in domain(), other in label(), port in 1u16..65535, path in "(/[a-z0-9]{0,8}){0,3}",
            ) {
                let list = AllowList::parse(&[format!("{host}:{port}")]).unwrap();
                let allowed = |u: &str| uri(u).is_some_and(|u| list.allows(&u));
                { let u = format!("https://{host}:{port}{path}"); prop_assert!(allowed(&u), "{}", u); }
                { let u = format!("https://{}:{port}{path}", host.to_ascii_uppercase()); prop_assert!(allowed(&u), "{}", u); }
                if port == 443 {
                    { let u = format!("https://{host}{path}"); prop_assert!(allowed(&u), "{}", u); }
                }
                for near in [
                    format!("https://{other}.{host}:{port}{path}"),
                    format!("https://{other}{host}:{port}{path}"),
                    format!("https://{host}.{other}:{port}{path}"),
                    format!("https://{host}{other}:{port}{path}"),
                    format!("http://{host}:{port}{path}"),
                    format!("https://{host}:{}{path}", if port == 1 { 2 } else { port - 1 }),
                    format!("ftp://{host}:{port}{path}"),
                ] {
                    prop_assert!(!allowed(&near), "{}", near);
                }
            }

            /// `*.suffix` allows names below the suffix only: not the suffix itself, not a
            /// name that ends with its text without the dot.
            #[test]
            fn a_wildcard_allows_subdomains_only(
                suffix in domain(), sub in prop::collection::vec(label(), 1..3), other in label(),
            ) {
                let list = AllowList::parse(&[format!("*.{suffix}")]).unwrap();
                let allowed = |u: &str| uri(u).is_some_and(|u| list.allows(&u));
                let sub = sub.join(".");
                { let u = format!("https://{sub}.{suffix}/x"); prop_assert!(allowed(&u), "{}", u); }
                { let u = format!("https://{suffix}/x"); prop_assert!(!allowed(&u), "{}", u); }
                { let u = format!("https://{other}{suffix}/x"); prop_assert!(!allowed(&u), "{}", u); }
                // Unless the labels line up into a name below the suffix again
                // (`a.3.3` + `.3` is `a.3.3.3`, below `3.3`).
                let longer = format!("{sub}.{suffix}.{other}");
                if !longer.ends_with(&format!(".{suffix}")) {
                    let u = format!("https://{longer}/x");
                    prop_assert!(!allowed(&u), "{}", u);
                }
                { let u = format!("http://{sub}.{suffix}/x"); prop_assert!(!allowed(&u), "{}", u); }
            }
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Pieces a hostile component writes around and inside the braces.
        fn component_text() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                Just("http://".to_string()),
                Just("https://".to_string()),
                Just("http".to_string()),
                Just("://".to_string()),
                Just("127.0.0.1".to_string()),
                Just("169.254.169.254".to_string()),
                Just("127".to_string()),
                Just(".0.0.1".to_string()),
                Just("[::1]".to_string()),
                Just("::1".to_string()),
                Just(":8787".to_string()),
                Just(":".to_string()),
                Just(".example.com".to_string()),
                Just("api.example.com".to_string()),
                Just("/path".to_string()),
                "[a-z0-9.:/\\[\\]]{0,12}",
            ]
        }

        /// Operator values that name no address and no plain HTTP.
        fn safe_value() -> impl Strategy<Value = Option<String>> {
            prop_oneof![
                Just(None),
                Just(Some("panel.example.com".to_string())),
                Just(Some("https://cp.example.com:2096/".to_string())),
                Just(Some("2083".to_string())),
                Just(Some("cp".to_string())),
                Just(Some("1".to_string())),
            ]
        }

        /// Any operator value, hostile ones included.
        fn any_value() -> impl Strategy<Value = Option<String>> {
            prop_oneof![
                safe_value(),
                Just(Some("127.0.0.1".to_string())),
                Just(Some("http://10.0.0.5:8080/api".to_string())),
                Just(Some("[::1]".to_string())),
                Just(Some("http://".to_string())),
                Just(Some("27.0.0.1".to_string())),
                "[a-z0-9.:/\\[\\]]{0,12}".prop_map(Some),
            ]
        }

        fn template() -> impl Strategy<Value = String> {
            prop::collection::vec(
                (
                    component_text(),
                    prop::option::of(component_text()),
                    0usize..2,
                ),
                1..4,
            )
            .prop_map(|parts| {
                let mut t = String::new();
                for (literal, default, name) in parts {
                    t.push_str(&literal);
                    let name = ["WU_A", "WU_B"][name];
                    match default {
                        Some(d) => t.push_str(&format!("{{{name}:{d}}}")),
                        None => t.push_str(&format!("{{{name}}}")),
                    }
                }
                t
            })
        }

        fn expand(t: &str, a: &Option<String>, b: &Option<String>) -> Option<AllowedHost> {
            let (a, b) = (a.clone(), b.clone());
            let expanded =
                expand_default(t, move |n| if n == "WU_A" { a.clone() } else { b.clone() })
                    .ok()
                    .flatten()?;
            let list = AllowList::from_component_defaults(&[expanded]).unwrap();
            list.entries.into_iter().next()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever the component writes, with operator values that name no address
            /// and no plain HTTP, the expansion is HTTPS and names no IP literal.
            #[test]
            fn component_text_never_yields_http_or_an_address(
                t in template(), a in safe_value(), b in safe_value(),
            ) {
                if let Some(entry) = expand(&t, &a, &b) {
                    prop_assert!(entry.is_https(), "{t} with {a:?}, {b:?}");
                    prop_assert!(!entry.is_ip_literal(), "{t} with {a:?}, {b:?}");
                }
            }

            /// Whatever anyone supplies, an entry expanded from a component default is
            /// vetted; and one that is `http://` or an address carries it in an operator's
            /// value.
            #[test]
            fn expanded_defaults_are_always_vetted(
                t in template(), a in any_value(), b in any_value(),
            ) {
                if let Some(entry) = expand(&t, &a, &b) {
                    prop_assert!(!entry.skips_address_vetting());
                    let values = [a.clone(), b.clone()];
                    if !entry.is_https() {
                        prop_assert!(values.iter().flatten().any(|v| v.trim().starts_with("http://")), "{t} with {a:?}, {b:?}");
                    }
                }
            }
        }
    }
}
