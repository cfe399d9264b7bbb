//! Just enough URL handling for API calls: `scheme://authority/path?query`.
//!
//! Providers build URLs from fixed API bases, so a full URL parser would only add size to
//! every component. Anything unusual is refused rather than guessed at.

use crate::ProviderError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    pub https: bool,
    pub authority: String,
    pub path_and_query: String,
}

pub fn parse(url: &str) -> Result<ParsedUrl, ProviderError> {
    let invalid = || ProviderError::InvalidInput(format!("not a usable API URL: {url:?}"));
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(invalid());
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let bad_authority = authority.is_empty()
        || authority.contains('@')
        || authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if bad_authority || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let path_and_query = match path {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    Ok(ParsedUrl {
        https,
        authority: authority.to_string(),
        path_and_query,
    })
}

/// A self-hosted panel's API base from the operator's host and port constants, the way the
/// host expands a `{HOST}:{PORT:default}` allowed-host template: a URL keeps its scheme and
/// port (a path is dropped), a bare host gets HTTPS and the port (`default_port` when the
/// port constant is unset). `host_constant` and `port_constant` name the constants in errors.
pub fn panel_base(
    host_constant: &str,
    host: &str,
    port_constant: &str,
    port: Option<&str>,
    default_port: &str,
) -> Result<String, ProviderError> {
    let host = host.trim();
    let (scheme, rest) = match host.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_string(), host),
    };
    let invalid =
        |why: &str| ProviderError::InvalidInput(format!("{host_constant} {host:?}: {why}"));
    if scheme != "https" && scheme != "http" {
        return Err(invalid("the scheme must be https"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !ok {
        return Err(invalid("expected a host name"));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !p.is_empty() && !authority.starts_with('['));
    if has_port {
        return Ok(format!("{scheme}://{authority}"));
    }
    let port = port.map(str::trim).unwrap_or(default_port);
    if !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return Err(ProviderError::InvalidInput(format!(
            "{port_constant} must be a port number (got {port:?})"
        )));
    }
    Ok(format!("{scheme}://{authority}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_https_url_into_parts() {
        let url = parse("https://api.serverpilot.io/v1/apps/abc?x=1").unwrap();
        assert!(url.https);
        assert_eq!(url.authority, "api.serverpilot.io");
        assert_eq!(url.path_and_query, "/v1/apps/abc?x=1");
    }

    #[test]
    fn empty_path_becomes_root() {
        assert_eq!(parse("http://127.0.0.1:8080").unwrap().path_and_query, "/");
        assert_eq!(parse("http://h?q=1").unwrap().path_and_query, "/?q=1");
    }

    #[test]
    fn refuses_other_schemes_userinfo_and_spaces() {
        for bad in [
            "ftp://x/y",
            "api.serverpilot.io/v1",
            "https://user:pw@host/",
            "https:///path",
            "https://host/a b",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn panel_base_follows_the_allowed_host_template() {
        let base = |h: &str, p: Option<&str>| panel_base("WU_X_HOST", h, "WU_X_PORT", p, "2083");
        assert_eq!(
            base("cp.example.com", None).unwrap(),
            "https://cp.example.com:2083"
        );
        assert_eq!(
            base(" cp.example.com ", Some("2087")).unwrap(),
            "https://cp.example.com:2087"
        );
        assert_eq!(
            base("https://cp.example.com:7080/path", Some("9")).unwrap(),
            "https://cp.example.com:7080",
            "a port written in the host wins"
        );
        assert_eq!(
            base("http://10.0.0.5", None).unwrap(),
            "http://10.0.0.5:2083"
        );
        for bad in [
            "ftp://cp.example.com",
            "cp example.com",
            "",
            "user@cp.example.com",
        ] {
            let e = base(bad, None).unwrap_err().to_string();
            assert!(e.contains("WU_X_HOST"), "{bad}: {e}");
        }
        for bad in ["http", "80a", "0", "70000", ""] {
            let e = base("cp.example.com", Some(bad)).unwrap_err().to_string();
            assert!(e.contains("WU_X_PORT"), "{bad}: {e}");
        }
    }
}
