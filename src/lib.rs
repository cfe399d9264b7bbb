//! Guest SDK for Ultimate Multisite domain-provider components.
//!
//! A provider is a `wasm32-wasip2` component that knows one hosting panel's API. It links
//! this crate, implements [`DomainProvider`] and registers itself with
//! [`export_provider!`]. The SDK gives it:
//!
//! - the contract's types ([`ProviderMetadata`], [`DomainEvent`], [`ProviderError`], ...),
//!   generated from `wit/since_v0.2.0` and re-exported under friendlier paths, with
//!   constructors that keep metadata short ([`ConstantSpec::required`], ...);
//! - [`http`]: a small blocking HTTP client over `wasi:http` with JSON and form bodies,
//!   query strings, a response size cap and status-to-error mapping, so a provider reads
//!   like its API documentation;
//! - [`config`]: this integration's settings, and [`config::secret`] placeholders that put
//!   a host-held secret anywhere in a request without the component ever seeing it;
//! - [`json`]: reading a JSON answer into the provider's types without a deserializer
//!   per type;
//! - [`journal`]: what the event did in earlier attempts; [`log`]: levelled logging.
//!
//! Everything that does not touch the network (building bodies, parsing responses, mapping
//! statuses) is plain Rust that runs under `cargo test` on the host target.

mod auth;
pub mod config;
pub mod errors;
pub mod http;
pub mod journal;
pub mod json;
pub mod log;
mod metadata;
pub mod url;

/// The contract version this SDK implements (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Generated bindings. Public for the export macro; provider code uses the re-exports.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/since_v0.2.0",
        world: "multisite:domain-provider/domain-provider",
        with: {
            "wasi:http/types@0.2.12": wasip2::http::types,
            "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        },
        pub_export_macro: true,
        export_macro_name: "export_provider_world",
        default_bindings_module: "provider_sdk::bindings",
    });
}

use bindings::exports::multisite::domain_provider::provider::Guest;
pub use bindings::multisite::domain_provider::types::{
    AnyOfGroup, ApiError, AuthScheme, BasicAuth, BodyFormat, Capabilities, CertificateReport,
    CertificateState, ConstantSpec, DnsRecord, DomainEvent, HeaderAuth, LoginField, LoginValue,
    Operations, Outcome, PanelDomain, ProviderError, ProviderMetadata, RateLimit, SessionLogin,
};

/// What a provider component implements. Every operation must be idempotent: adding a
/// present domain or removing an absent one succeeds with [`Outcome::unchanged`], and a
/// provider writes to the panel only when the panel needs the change.
///
/// The four events and `test_connection` are required; the newer operations default to
/// [`ProviderError::Unsupported`] and are only called when [`ProviderMetadata::operations`]
/// announces them.
pub trait DomainProvider {
    /// Static facts about the provider; must not make requests.
    fn metadata() -> ProviderMetadata;
    /// A cheap authenticated read proving the credentials and ids work. Never writes.
    fn test_connection() -> Result<Outcome, ProviderError>;
    /// A custom domain was mapped to a site.
    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError>;
    /// A mapped domain was removed; its `www.` variant goes with it only when `event.www`
    /// is true (the host sets it false when the policy does not want `www.` for the name,
    /// or when `www.<domain>` is mapped as a domain of its own).
    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError>;
    /// A site was created on a subdomain network. Panels that serve every subdomain
    /// through a wildcard need nothing here.
    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let _ = event;
        Ok(Outcome::unchanged(
            "this panel does not manage subdomain sites",
        ))
    }
    /// A subdomain site was deleted.
    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let _ = event;
        Ok(Outcome::unchanged(
            "this panel does not manage subdomain sites",
        ))
    }
    /// The names the panel serves for this network, every page read
    /// ([`Operations::LIST_DOMAINS`]).
    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        Err(unsupported("list-domains"))
    }
    /// DNS for the name now points at the server: ask for a certificate
    /// ([`Operations::REQUEST_CERTIFICATE`]).
    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        let _ = event;
        Err(unsupported("request-certificate"))
    }
    /// The panel's own view of the name's certificate ([`Operations::CERTIFICATE_STATUS`]).
    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        let _ = event;
        Err(unsupported("certificate-status"))
    }
    /// Records the customer must create for this panel ([`Operations::DNS_REQUIREMENTS`]).
    fn dns_requirements(event: DomainEvent) -> Result<Vec<DnsRecord>, ProviderError> {
        let _ = event;
        Err(unsupported("dns-requirements"))
    }
}

fn unsupported(operation: &str) -> ProviderError {
    ProviderError::Unsupported(format!("this provider does not offer {operation}"))
}

impl Outcome {
    /// The panel was changed.
    pub fn changed(note: impl Into<String>) -> Self {
        Outcome {
            changed: true,
            notes: vec![note.into()],
        }
    }

    /// The panel already was in the wanted state.
    pub fn unchanged(note: impl Into<String>) -> Self {
        Outcome {
            changed: false,
            notes: vec![note.into()],
        }
    }

    /// Adds a note to the report.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// Adapts a [`DomainProvider`] to the generated export trait. Used by [`export_provider!`].
#[doc(hidden)]
pub struct Export<P>(core::marker::PhantomData<P>);

impl<P: DomainProvider> Guest for Export<P> {
    fn metadata() -> ProviderMetadata {
        P::metadata()
    }
    fn test_connection() -> Result<Outcome, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::test_connection()
    }
    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::add_domain(event)
    }
    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::remove_domain(event)
    }
    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::add_subdomain(event)
    }
    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::remove_subdomain(event)
    }
    fn list_domains() -> Result<Vec<PanelDomain>, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::list_domains()
    }
    fn request_certificate(event: DomainEvent) -> Result<Outcome, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::request_certificate(event)
    }
    fn certificate_status(event: DomainEvent) -> Result<CertificateReport, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::certificate_status(event)
    }
    fn dns_requirements(event: DomainEvent) -> Result<Vec<DnsRecord>, ProviderError> {
        auth::register(|| P::metadata().auth);
        P::dns_requirements(event)
    }
}

/// Registers a [`DomainProvider`] as the component's export.
///
/// ```ignore
/// struct ServerPilot;
/// impl provider_sdk::DomainProvider for ServerPilot { /* ... */ }
/// provider_sdk::export_provider!(ServerPilot);
/// ```
///
/// Only emitted for `wasm32`, so the same crate builds natively for unit tests.
#[macro_export]
macro_rules! export_provider {
    ($provider:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __ProviderExport = $crate::Export<$provider>;
            $crate::bindings::export_provider_world!(
                __ProviderExport with_types_in $crate::bindings
            );
        };
    };
}
