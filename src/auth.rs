//! Credentials for hosts that hand them to the component instead of attaching them.
//!
//! `domain-host` keeps secrets to itself: `config.get` reads them as none and its
//! outbound hook adds the header. A simpler host (the JS one under Node, for example) may
//! answer `config.get` with the secret instead; then the SDK builds the header from the
//! provider's declared [`AuthScheme`]s, so the same component works in both.

use crate::{AuthScheme, config};
use std::sync::OnceLock;

static SCHEMES: OnceLock<Vec<AuthScheme>> = OnceLock::new();

/// Records the provider's schemes (once per instance; called by the export adapter).
pub(crate) fn register(schemes: impl FnOnce() -> Vec<AuthScheme>) {
    SCHEMES.get_or_init(schemes);
}

/// The header to attach, when the host handed over every value of a scheme.
pub(crate) fn guest_side_header() -> Option<(String, String)> {
    header_from(SCHEMES.get()?, config::get)
}

fn header_from(
    schemes: &[AuthScheme],
    get: impl Fn(&str) -> Option<String>,
) -> Option<(String, String)> {
    schemes.iter().find_map(|scheme| match scheme {
        AuthScheme::Basic(basic) => {
            let user = get(&basic.username_constant)?;
            let password = get(&basic.password_constant)?;
            Some((
                "authorization".to_string(),
                format!("Basic {}", basic_token(&user, &password)),
            ))
        }
        AuthScheme::Bearer(token) => Some((
            "authorization".to_string(),
            format!("Bearer {}", get(token)?),
        )),
        AuthScheme::Header(header) => Some((
            header.header_name.to_ascii_lowercase(),
            get(&header.value_constant)?,
        )),
        // A login is the host's job; a host that hands secrets over does not log in.
        AuthScheme::Session(_) => None,
    })
}

/// The token of `Authorization: Basic`: base64 (RFC 4648) of `user:password`.
pub(crate) fn basic_token(user: &str, password: &str) -> String {
    base64_encode(format!("{user}:{password}").as_bytes())
}

fn base64_encode(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BasicAuth;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("cid_x:key", "Y2lkX3g6a2V5"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), output);
        }
    }

    fn schemes() -> Vec<AuthScheme> {
        vec![
            AuthScheme::Bearer("TOKEN".into()),
            AuthScheme::Basic(BasicAuth {
                username_constant: "KEY".into(),
                password_constant: "SECRET".into(),
            }),
        ]
    }

    #[test]
    fn nothing_when_the_host_keeps_the_secrets() {
        // domain-host: secrets read as none, so the host's own header is the only one.
        let get = |name: &str| (name == "KEY").then(|| "k".to_string());
        assert_eq!(header_from(&schemes(), get), None);
    }

    #[test]
    fn first_scheme_the_host_handed_over() {
        let get = |name: &str| match name {
            "KEY" => Some("cid_x".to_string()),
            "SECRET" => Some("key".to_string()),
            _ => None,
        };
        assert_eq!(
            header_from(&schemes(), get),
            Some(("authorization".into(), "Basic Y2lkX3g6a2V5".into()))
        );
        let get = |name: &str| (name == "TOKEN").then(|| "t0k".to_string());
        assert_eq!(
            header_from(&schemes(), get),
            Some(("authorization".into(), "Bearer t0k".into()))
        );
    }
}
