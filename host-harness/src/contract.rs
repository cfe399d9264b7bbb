//! The WIT contract versions this host runs, the check made before instantiation, and the
//! adapter that presents a 0.1.0 component in 0.2.0 terms.
//!
//! One `bindgen!` module per contract version (Zed's `since_vX_Y_Z` model). The host works
//! in the types of the newest version ([`latest`]); a component built for 0.1.0 gets its
//! metadata, outcomes and errors converted ([`from_v0_1`]) and announces none of 0.2.0's
//! operations, so the host never calls them. A component's version is read from the name
//! of its `provider` export, which every component carries whatever language built it, so
//! a component built for another contract is refused with a clear message before it is
//! instantiated.

pub mod since_v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "multisite:domain-provider/domain-provider",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub mod since_v0_2_0 {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "multisite:domain-provider/domain-provider",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub use since_v0_2_0 as latest;

pub use latest::multisite::domain_provider::types::{
    AnyOfGroup, ApiError, AuthScheme, BasicAuth, BodyFormat, Capabilities, CertificateReport,
    CertificateState, ConstantSpec, DnsRecord, DomainEvent, HeaderAuth, LoginField, LoginValue,
    Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, RateLimit, SessionLogin,
};

/// The contract versions this host runs, oldest first, each accepting later patch
/// releases (semver for 0.x: the minor version is the breaking one).
pub const SUPPORTED: &[(u64, u64)] = &[(0, 1), (0, 2)];

/// Which binding a component is instantiated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V0_1,
    V0_2,
}

const PACKAGE: &str = "multisite:domain-provider";
const INTERFACE: &str = "provider";

/// Finds the contract version a component was built for, from its export names.
pub fn exported_version<'a>(export_names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let prefix = format!("{PACKAGE}/{INTERFACE}@");
    export_names
        .into_iter()
        .find_map(|name| name.strip_prefix(&prefix).map(str::to_string))
}

fn supported_text() -> String {
    SUPPORTED
        .iter()
        .map(|(major, minor)| format!("{major}.{minor}.x"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Checks a component's exports against the versions this host runs.
pub fn check_exports<'a>(
    export_names: impl IntoIterator<Item = &'a str>,
) -> Result<(String, Version), String> {
    let names: Vec<&str> = export_names.into_iter().collect();
    let Some(version) = exported_version(names.iter().copied()) else {
        return Err(format!(
            "it does not export {PACKAGE}/{INTERFACE} (exports: {}); \
             is it a domain-provider component?",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    let parsed = parse_version(&version)
        .ok_or_else(|| format!("it exports an unreadable contract version {version:?}"))?;
    match (parsed.0, parsed.1) {
        (0, 1) => Ok((version, Version::V0_1)),
        (0, 2) => Ok((version, Version::V0_2)),
        _ => Err(format!(
            "it was built for contract {PACKAGE}@{version}; this host runs {}. \
             Rebuild the component against a supported contract or upgrade domain-host",
            supported_text()
        )),
    }
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    // Pre-release tags are never compatible with a released contract.
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// 0.1.0 values in 0.2.0 terms, and 0.2.0 events for a 0.1.0 component.
pub mod from_v0_1 {
    use super::*;
    use since_v0_1_0::multisite::domain_provider::types as v1;

    pub fn metadata(m: v1::ProviderMetadata) -> ProviderMetadata {
        let mut capabilities = Capabilities::empty();
        for (old, new) in [
            (v1::Capabilities::AUTO_SSL, Capabilities::AUTO_SSL),
            (v1::Capabilities::WWW_HANDLING, Capabilities::WWW_HANDLING),
            (v1::Capabilities::SUBDOMAINS, Capabilities::SUBDOMAINS),
            (v1::Capabilities::REMOVAL, Capabilities::REMOVAL),
            (v1::Capabilities::WILDCARDS, Capabilities::WILDCARDS),
            (
                v1::Capabilities::INDEPENDENT_DOMAINS,
                Capabilities::INDEPENDENT_DOMAINS,
            ),
        ] {
            if m.capabilities.contains(old) {
                capabilities |= new;
            }
        }
        ProviderMetadata {
            id: m.id,
            title: m.title,
            description: m.description,
            tutorial_link: m.tutorial_link,
            constants: m
                .constants
                .into_iter()
                .map(|c| ConstantSpec {
                    name: c.name,
                    label: c.label,
                    description: c.description,
                    secret: c.secret,
                    required: c.required,
                })
                .collect(),
            any_of: m
                .any_of
                .into_iter()
                .map(|g| AnyOfGroup {
                    label: g.label,
                    options: g.options,
                })
                .collect(),
            capabilities,
            // 0.1.0 has none of the newer operations: the host never calls them.
            operations: Operations::empty(),
            ssl_verification_attempts: m.ssl_verification_attempts,
            default_allowed_hosts: m.default_allowed_hosts,
            auth: m
                .auth
                .into_iter()
                .map(|a| match a {
                    v1::AuthScheme::Basic(b) => AuthScheme::Basic(BasicAuth {
                        username_constant: b.username_constant,
                        password_constant: b.password_constant,
                    }),
                    v1::AuthScheme::Bearer(t) => AuthScheme::Bearer(t),
                    v1::AuthScheme::Header(h) => AuthScheme::Header(HeaderAuth {
                        header_name: h.header_name,
                        value_constant: h.value_constant,
                    }),
                })
                .collect(),
            // 0.1.0 locks on every non-secret value, as it always did.
            account_constants: vec![],
        }
    }

    pub fn event(e: &DomainEvent) -> v1::DomainEvent {
        v1::DomainEvent {
            domain: e.domain.clone(),
            site_id: e.site_id,
            www: e.www,
        }
    }

    pub fn subdomain_event(e: &DomainEvent) -> v1::DomainEvent {
        v1::DomainEvent {
            www: false,
            ..event(e)
        }
    }

    pub fn result(r: Result<v1::Outcome, v1::ProviderError>) -> Result<Outcome, ProviderError> {
        r.map(|o| Outcome {
            changed: o.changed,
            notes: o.notes,
        })
        .map_err(error)
    }

    pub fn error(e: v1::ProviderError) -> ProviderError {
        match e {
            v1::ProviderError::BadCredentials(m) => ProviderError::BadCredentials(m),
            v1::ProviderError::NotFound(m) => ProviderError::NotFound(m),
            v1::ProviderError::Conflict(m) => ProviderError::Conflict(m),
            v1::ProviderError::RateLimited(r) => ProviderError::RateLimited(RateLimit {
                retry_after_secs: r.retry_after_secs,
                message: r.message,
            }),
            v1::ProviderError::Transient(m) => ProviderError::Transient(m),
            v1::ProviderError::InvalidInput(m) => ProviderError::InvalidInput(m),
            v1::ProviderError::LimitReached(m) => ProviderError::LimitReached(m),
            v1::ProviderError::Denied(m) => ProviderError::Denied(m),
            v1::ProviderError::Api(a) => ProviderError::Api(ApiError {
                status: a.status,
                message: a.message,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_supported_versions() {
        let names = [
            "wasi:http/outgoing-handler@0.2.12",
            "multisite:domain-provider/provider@0.1.0",
        ];
        assert_eq!(
            check_exports(names).unwrap(),
            ("0.1.0".into(), Version::V0_1)
        );
        assert_eq!(
            check_exports(["multisite:domain-provider/provider@0.1.7"])
                .unwrap()
                .1,
            Version::V0_1
        );
        assert_eq!(
            check_exports(["multisite:domain-provider/provider@0.2.0"])
                .unwrap()
                .1,
            Version::V0_2
        );
    }

    #[test]
    fn refuses_other_versions_with_both_versions_named() {
        let err = check_exports(["multisite:domain-provider/provider@0.3.0"]).unwrap_err();
        assert!(
            err.contains("0.3.0") && err.contains("0.1.x and 0.2.x"),
            "{err}"
        );
        assert!(check_exports(["multisite:domain-provider/provider@1.0.0"]).is_err());
        assert!(check_exports(["multisite:domain-provider/provider@0.2.0-rc1"]).is_err());
    }

    #[test]
    fn refuses_components_without_the_provider_export() {
        let err = check_exports(["wasi:cli/run@0.2.0"]).unwrap_err();
        assert!(err.contains("wasi:cli/run@0.2.0"), "{err}");
    }

    #[test]
    fn a_v0_1_component_announces_no_newer_operation() {
        use since_v0_1_0::multisite::domain_provider::types as v1;
        let old = v1::ProviderMetadata {
            id: "x".into(),
            title: "X".into(),
            description: String::new(),
            tutorial_link: String::new(),
            constants: vec![],
            any_of: vec![],
            capabilities: v1::Capabilities::REMOVAL | v1::Capabilities::INDEPENDENT_DOMAINS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["a.example".into()],
            auth: vec![v1::AuthScheme::Bearer("T".into())],
        };
        let new = from_v0_1::metadata(old);
        assert_eq!(new.operations, Operations::empty());
        assert_eq!(
            new.capabilities,
            Capabilities::REMOVAL | Capabilities::INDEPENDENT_DOMAINS
        );
        assert!(matches!(&new.auth[0], AuthScheme::Bearer(t) if t == "T"));
    }
}
