//! The credential header an integration's constants build, for the outbound hook to
//! attach to HTTPS requests for allowed hosts only (never to the component).

use crate::contract::AuthScheme;
use crate::sandbox::auth_header::check_auth_header_name;
use crate::sandbox::constants::Constants;
use crate::sandbox::redaction::Secrets;
use crate::sandbox::session::Session;
use base64::Engine as _;
use std::sync::Arc;

/// What the host attaches to a component's requests.
#[derive(Clone)]
pub enum Credential {
    /// A header built from constants (Basic, Bearer, API key).
    Header {
        name: http::HeaderName,
        value: http::HeaderValue,
    },
    /// A token from a login the host performs (contract 0.2.0).
    Session(Arc<Session>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Header { name, .. } => write!(f, "Credential({name}: [redacted])"),
            Credential::Session(s) => write!(f, "Credential({s:?})"),
        }
    }
}

/// The credential for the first scheme whose constants are all set. Every header name is
/// checked, used or not, so a component cannot hide a forbidden one behind another.
pub fn credential_for(
    schemes: &[AuthScheme],
    constants: &Constants,
    secrets: &Secrets,
) -> Result<Option<Credential>, String> {
    for scheme in schemes {
        match scheme {
            AuthScheme::Header(header) => {
                check_auth_header_name(&header.header_name)?;
            }
            AuthScheme::Session(login) => {
                if let Some(name) = &login.token_header {
                    check_auth_header_name(name)?;
                }
            }
            _ => {}
        }
    }
    for scheme in schemes {
        let built = match scheme {
            AuthScheme::Session(login) => {
                if let Some(session) = Session::new(login, constants, secrets.clone())? {
                    // The other schemes' constants, for a refusal to name: a value given
                    // to this login may belong in one of them (a new kind of token in the
                    // old key's constant).
                    let alternatives = schemes
                        .iter()
                        .filter(|other| !std::ptr::eq(*other, scheme))
                        .map(|other| crate::sandbox::constants::auth_constants(other).join(" + "))
                        .filter(|names| !names.is_empty())
                        .collect();
                    let session = session.with_alternatives(alternatives);
                    return Ok(Some(Credential::Session(Arc::new(session))));
                }
                None
            }
            AuthScheme::Basic(basic) => {
                match (
                    constants.value(&basic.username_constant),
                    constants.value(&basic.password_constant),
                ) {
                    (Some(user), Some(password)) => Some((
                        http::header::AUTHORIZATION,
                        format!("Basic {}", basic_token(user, password)),
                    )),
                    _ => None,
                }
            }
            AuthScheme::Bearer(token_constant) => constants
                .value(token_constant)
                .map(|token| (http::header::AUTHORIZATION, format!("Bearer {token}"))),
            AuthScheme::Header(header) => constants
                .value(&header.value_constant)
                .map(|value| {
                    (
                        check_auth_header_name(&header.header_name),
                        value.to_string(),
                    )
                })
                .map(|(name, value)| (name.expect("checked above"), value)),
        };
        if let Some((name, value)) = built {
            let mut value = http::HeaderValue::from_str(&value).map_err(|_| {
                "a credential contains characters not allowed in a header".to_string()
            })?;
            value.set_sensitive(true);
            return Ok(Some(Credential::Header { name, value }));
        }
    }
    Ok(None)
}

pub fn basic_token(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Registers an integration's secret values and its credential header with `secrets`, so
/// a panel that echoes either is redacted.
pub fn register_secrets(secrets: &Secrets, constants: &Constants, credential: Option<&Credential>) {
    for value in constants.secret_values() {
        secrets.add(value);
    }
    if let Some(Credential::Header { value, .. }) = credential
        && let Ok(value) = value.to_str()
    {
        secrets.add(value);
        if let Some((_, token)) = value.split_once(' ') {
            secrets.add(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{BasicAuth, HeaderAuth};
    use crate::sandbox::constants::tests::{resolve, spec, specs};

    /// The header of a header credential.
    fn header(c: &Credential) -> (&str, &str) {
        match c {
            Credential::Header { name, value } => (name.as_str(), value.to_str().unwrap()),
            Credential::Session(_) => panic!("not a header"),
        }
    }
    #[test]
    fn basic_credential_and_its_redaction() {
        let schemes = vec![AuthScheme::Basic(BasicAuth {
            username_constant: "CID".into(),
            password_constant: "KEY".into(),
        })];
        let (c, _) = resolve(
            &specs(),
            &schemes,
            &[("CID", "cid_x"), ("KEY", "k3y-value")],
            &[],
            &[],
            &[],
        )
        .unwrap();
        let cred = credential_for(&schemes, &c, &Secrets::default())
            .unwrap()
            .unwrap();
        assert_eq!(header(&cred).1, "Basic Y2lkX3g6azN5LXZhbHVl");
        assert!(matches!(&cred, Credential::Header { value, .. } if value.is_sensitive()));
        assert!(!format!("{cred:?}").contains("Y2lk"));
        let secrets = Secrets::default();
        register_secrets(&secrets, &c, Some(&cred));
        assert_eq!(
            secrets.redact("key k3y-value, header Y2lkX3g6azN5LXZhbHVl"),
            "key [redacted], header [redacted]"
        );
        // CID is used by the auth scheme, so it is secret too.
        assert_eq!(c.visible("CID"), None);
    }

    #[test]
    fn api_key_header_scheme_and_forbidden_names() {
        let specs = vec![spec("KEY", true, true)];
        let schemes = vec![AuthScheme::Header(HeaderAuth {
            header_name: "X-API-Key".into(),
            value_constant: "KEY".into(),
        })];
        let (c, _) = resolve(&specs, &schemes, &[("KEY", "hdr-secret-1")], &[], &[], &[]).unwrap();
        let cred = credential_for(&schemes, &c, &Secrets::default())
            .unwrap()
            .unwrap();
        assert_eq!(header(&cred), ("x-api-key", "hdr-secret-1"));
        // Every name the auth-header policy refuses is refused here too, used or not.
        let refused = ["bad header", "Host", "Upgrade"].into_iter();
        for bad in refused.chain(
            crate::sandbox::auth_header::FORBIDDEN_AUTH_HEADERS
                .iter()
                .copied(),
        ) {
            let bad = vec![AuthScheme::Header(HeaderAuth {
                header_name: bad.into(),
                value_constant: "KEY".into(),
            })];
            assert!(
                credential_for(&bad, &c, &Secrets::default()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn first_complete_scheme_wins() {
        let specs = vec![
            spec("TOKEN", true, false),
            spec("KEY", false, false),
            spec("SECRET", true, false),
        ];
        let schemes = vec![
            AuthScheme::Bearer("TOKEN".into()),
            AuthScheme::Basic(BasicAuth {
                username_constant: "KEY".into(),
                password_constant: "SECRET".into(),
            }),
        ];
        let (c, _) = resolve(
            &specs,
            &schemes,
            &[("KEY", "k"), ("SECRET", "s")],
            &[],
            &[],
            &[],
        )
        .unwrap();
        let cred = credential_for(&schemes, &c, &Secrets::default())
            .unwrap()
            .unwrap();
        assert!(header(&cred).1.starts_with("Basic "));
        let (c, _) = resolve(&specs, &schemes, &[("TOKEN", "tok")], &[], &[], &[]).unwrap();
        let cred = credential_for(&schemes, &c, &Secrets::default())
            .unwrap()
            .unwrap();
        assert_eq!(header(&cred).1, "Bearer tok");
        let (c, _) = resolve(&specs, &schemes, &[], &[], &[], &[]).unwrap();
        assert!(
            credential_for(&schemes, &c, &Secrets::default())
                .unwrap()
                .is_none()
        );
    }
}
