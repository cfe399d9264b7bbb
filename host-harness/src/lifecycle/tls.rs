//! The certificate track: what the world sees. An SNI handshake to every address the name
//! resolves to (v4 and v6), the chain verified against the system roots plus the
//! configured extra roots, the name matched (RFC 6125, single-label wildcards), the
//! validity window checked; issuer, expiry and days left recorded.
//!
//! The handshake always completes (a verifier records webpki's verdict instead of
//! aborting), so an invalid certificate is still read and described.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The roots certificates are verified against.
pub fn roots(extra_pem: &[Vec<u8>]) -> Result<Arc<rustls::RootCertStore>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for pem in extra_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("cannot read a certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("unusable certificate: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err("no PEM certificate found".into());
        }
    }
    Ok(Arc::new(roots))
}

/// What one handshake saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `ok`, `missing`, `expired`, `wrong-name`, `untrusted` or `unknown`.
    pub state: &'static str,
    pub reason: String,
    pub issuer: Option<String>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
}

/// The certificate track of a name: the worst of its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub seen: Seen,
    /// The address that showed `seen`.
    pub address: Option<IpAddr>,
}

#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
    end_entity: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(drop);
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        *self.end_entity.lock().unwrap_or_else(|e| e.into_inner()) = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn verdict_state(verdict: &Result<(), rustls::Error>) -> (&'static str, String) {
    match verdict {
        Ok(()) => ("ok", "valid".into()),
        Err(rustls::Error::InvalidCertificate(e)) => match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                ("expired", "the certificate has expired".into())
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                ("expired", "the certificate is not valid yet".into())
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                (
                    "wrong-name",
                    "the certificate does not cover this name".into(),
                )
            }
            CertificateError::UnknownIssuer => (
                "untrusted",
                "the certificate is not signed by a trusted authority".into(),
            ),
            other => (
                "untrusted",
                format!("the certificate was refused: {other:?}"),
            ),
        },
        Err(other) => ("untrusted", format!("the certificate was refused: {other}")),
    }
}

fn details(der: &[u8]) -> (Option<String>, Option<i64>, Option<i64>) {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let issuer = cert
                .issuer()
                .iter_organization()
                .chain(cert.issuer().iter_common_name())
                .filter_map(|a| a.as_str().ok())
                .collect::<Vec<_>>()
                .join(", ");
            (
                (!issuer.is_empty()).then_some(issuer),
                Some(cert.validity().not_before.timestamp()),
                Some(cert.validity().not_after.timestamp()),
            )
        }
        Err(_) => (None, None, None),
    }
}

/// One SNI handshake to `address`.
pub async fn handshake(
    name: &str,
    address: SocketAddr,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
) -> Seen {
    let unknown = |reason: String| Seen {
        state: "unknown",
        reason,
        issuer: None,
        not_before: None,
        not_after: None,
    };
    let missing = |reason: String| Seen {
        state: "missing",
        reason,
        issuer: None,
        not_before: None,
        not_after: None,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = match WebPkiServerVerifier::builder_with_provider(roots, provider.clone()).build() {
        Ok(v) => v,
        Err(e) => return unknown(format!("no usable roots: {e}")),
    };
    let recording = Arc::new(Recording {
        inner,
        verdict: Mutex::new(None),
        end_entity: Mutex::new(None),
    });
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(recording.clone())
            .with_no_client_auth(),
        Err(e) => return unknown(e.to_string()),
    };
    let Ok(server_name) = ServerName::try_from(name.to_string()) else {
        return unknown(format!("{name} is not a usable TLS name"));
    };
    let connect = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await;
    let tcp = match connect {
        Err(_) => {
            return unknown(format!(
                "{address} did not accept a connection within {timeout:?}"
            ));
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return missing(format!("nothing listens for HTTPS on {address}"));
        }
        Ok(Err(e)) => return unknown(format!("{address}: {e}")),
        Ok(Ok(tcp)) => tcp,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(timeout, connector.connect(server_name, tcp)).await;
    let der = recording
        .end_entity
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let verdict = recording
        .verdict
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    match (result, der, verdict) {
        (_, Some(der), Some(verdict)) => {
            let (state, reason) = verdict_state(&verdict);
            let (issuer, not_before, not_after) = details(&der);
            Seen {
                state,
                reason,
                issuer,
                not_before,
                not_after,
            }
        }
        (Err(_), _, _) => unknown(format!("the TLS handshake with {address} timed out")),
        (Ok(Err(e)), _, _) => missing(format!("no certificate for this name on {address}: {e}")),
        (Ok(Ok(_)), _, _) => unknown("the handshake showed no certificate".into()),
    }
}

/// Rank of a state when addresses disagree: the worst is reported.
fn rank(state: &str) -> u8 {
    match state {
        "ok" => 0,
        "unknown" => 1,
        "missing" => 2,
        "untrusted" => 3,
        "wrong-name" => 4,
        "expired" => 5,
        _ => 1,
    }
}

/// The certificate track over every address of the name.
pub async fn check(
    name: &str,
    addresses: &[IpAddr],
    port: u16,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
) -> Certificate {
    let mut worst: Option<Certificate> = None;
    for ip in addresses {
        // The handshake is most of a check's CPU (key exchange, signature checks): it runs
        // as a task of its own, so the checks of many names spread over the runtime's
        // threads instead of sharing the one thread that polls them all.
        let (owned, roots) = (name.to_string(), roots.clone());
        let address = SocketAddr::new(*ip, port);
        let seen =
            match tokio::spawn(async move { handshake(&owned, address, roots, timeout).await })
                .await
            {
                Ok(seen) => seen,
                Err(e) => Seen {
                    state: "unknown",
                    reason: format!("the handshake with {address} stopped: {e}"),
                    issuer: None,
                    not_before: None,
                    not_after: None,
                },
            };
        let replace = worst
            .as_ref()
            .is_none_or(|w| rank(seen.state) > rank(w.seen.state));
        if replace {
            worst = Some(Certificate {
                seen,
                address: Some(*ip),
            });
        }
    }
    worst.unwrap_or(Certificate {
        seen: Seen {
            state: "unknown",
            reason: "the name has no address to connect to".into(),
            issuer: None,
            not_before: None,
            not_after: None,
        },
        address: None,
    })
}
