//! The header a credential travels in: a component declares its name (`X-API-Key`, a
//! session's token header), and the host refuses names that would let it smuggle requests.

/// Header names a credential may never take: framing and hop-by-hop headers would let a
/// component (or its update) smuggle requests, and `host`/`cookie` are not credentials.
pub(crate) const FORBIDDEN_AUTH_HEADERS: &[&str] = &[
    "host",
    "cookie",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Checks an auth header name a component declares.
pub fn check_auth_header_name(name: &str) -> Result<http::HeaderName, String> {
    let header = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("invalid auth header name {name:?}"))?;
    if FORBIDDEN_AUTH_HEADERS.contains(&header.as_str()) {
        return Err(format!(
            "auth header name {name:?} is refused: a credential cannot be a framing, \
             hop-by-hop, host or cookie header"
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_hop_by_hop_host_and_cookie_headers_are_refused() {
        for bad in FORBIDDEN_AUTH_HEADERS {
            assert!(check_auth_header_name(bad).is_err(), "{bad:?}");
            let upper = bad.to_ascii_uppercase();
            assert!(check_auth_header_name(&upper).is_err(), "{upper:?}");
        }
        assert!(check_auth_header_name("bad header").is_err());
        assert_eq!(
            check_auth_header_name("X-API-Key").unwrap().as_str(),
            "x-api-key"
        );
    }
}
