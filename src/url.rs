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
}
