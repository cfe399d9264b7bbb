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
            let token = crate::http::base64_encode(format!("{user}:{password}").as_bytes());
            Some(("authorization".to_string(), format!("Basic {token}")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BasicAuth;

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
