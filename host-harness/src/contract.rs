//! The WIT contract versions this host can run, and the check made before instantiation.
//!
//! One `bindgen!` module per contract version (Zed's `since_vX_Y_Z` model). A component's
//! version is read from the name of its `provider` export, which every component carries
//! whatever language built it, so a component built for another contract is refused with
//! a clear message before it is instantiated.

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

    /// Oldest and newest contract versions these bindings accept (semver-compatible).
    pub const MIN_VERSION: (u64, u64, u64) = (0, 1, 0);
    pub const MAX_VERSION: (u64, u64, u64) = (0, 1, u64::MAX);
}

pub use latest::DomainProviderPre;
pub use latest::multisite::domain_provider::types::{
    AnyOfGroup, ApiError, AuthScheme, BasicAuth, Capabilities, ConstantSpec, DomainEvent,
    HeaderAuth, Outcome, ProviderError, ProviderMetadata, RateLimit,
};
pub use since_v0_1_0 as latest;

const PACKAGE: &str = "multisite:domain-provider";
const INTERFACE: &str = "provider";

/// Finds the contract version a component was built for, from its export names.
pub fn exported_version<'a>(export_names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let prefix = format!("{PACKAGE}/{INTERFACE}@");
    export_names
        .into_iter()
        .find_map(|name| name.strip_prefix(&prefix).map(str::to_string))
}

/// Checks a component's exports against the versions this host runs.
pub fn check_exports<'a>(
    export_names: impl IntoIterator<Item = &'a str>,
) -> Result<String, String> {
    let names: Vec<&str> = export_names.into_iter().collect();
    let supported = format!("{}.{}.x", latest::MIN_VERSION.0, latest::MIN_VERSION.1);
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
    if parsed < latest::MIN_VERSION || parsed > latest::MAX_VERSION {
        return Err(format!(
            "it was built for contract {PACKAGE}@{version}; this host runs {supported}. \
             Rebuild the component against a supported contract or upgrade domain-host"
        ));
    }
    Ok(version)
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    // Pre-release tags are never compatible with a released contract.
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_supported_version() {
        let names = [
            "wasi:http/outgoing-handler@0.2.12",
            "multisite:domain-provider/provider@0.1.0",
        ];
        assert_eq!(check_exports(names).unwrap(), "0.1.0");
        assert!(check_exports(["multisite:domain-provider/provider@0.1.7"]).is_ok());
    }

    #[test]
    fn refuses_other_versions_with_both_versions_named() {
        let err = check_exports(["multisite:domain-provider/provider@0.2.0"]).unwrap_err();
        assert!(err.contains("0.2.0") && err.contains("0.1.x"), "{err}");
        assert!(check_exports(["multisite:domain-provider/provider@1.0.0"]).is_err());
        assert!(check_exports(["multisite:domain-provider/provider@0.1.0-rc1"]).is_err());
    }

    #[test]
    fn refuses_components_without_the_provider_export() {
        let err = check_exports(["wasi:cli/run@0.2.0"]).unwrap_err();
        assert!(err.contains("wasi:cli/run@0.2.0"), "{err}");
    }
}
