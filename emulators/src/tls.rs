//! An HTTPS endpoint on loopback for the lifecycle's certificate checks: certificates from
//! a throwaway CA chosen by SNI (valid, expired, for another name, self-signed), or none.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A test CA: its certificate (PEM, for `extra_roots`) and what it signs.
pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// Which certificate an SNI name gets.
#[derive(Debug, Clone)]
pub enum Served {
    /// Signed by the test CA for these names, valid `from..until` (years).
    Signed {
        names: Vec<String>,
        from: i32,
        until: i32,
    },
    /// Self-signed for these names (no trusted issuer).
    SelfSigned { names: Vec<String> },
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Throwaway Test CA");
        params
            .distinguished_name
            .push(DnType::CommonName, "Throwaway Test CA");
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("ca");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub(crate) fn certified(&self, served: &Served) -> Arc<CertifiedKey> {
        let key = KeyPair::generate().expect("key");
        let (names, from, until, self_signed) = match served {
            Served::Signed { names, from, until } => (names.clone(), *from, *until, false),
            Served::SelfSigned { names } => (names.clone(), 2020, 2090, true),
        };
        let mut params = CertificateParams::new(names.clone()).expect("params");
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        let cert = if self_signed {
            params.self_signed(&key).expect("cert")
        } else {
            params.signed_by(&key, &self.issuer).expect("cert")
        };
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::sign::any_supported_type(&der).expect("signing key");
        Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(cert.der().to_vec())],
            signing,
        ))
    }
}

#[derive(Debug, Default)]
struct BySni {
    certs: Mutex<BTreeMap<String, Arc<CertifiedKey>>>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_ascii_lowercase();
        let certs = self.certs.lock().unwrap_or_else(|e| e.into_inner());
        // The name's own certificate, else one served for `*.` + its parent.
        certs.get(&name).cloned().or_else(|| {
            let parent = name.split_once('.')?.1;
            certs.get(&format!("*.{parent}")).cloned()
        })
    }
}

/// A running HTTPS endpoint. Dropping it stops it.
pub struct TlsServer {
    pub addr: SocketAddr,
    pub ca: Arc<TestCa>,
    certs: Arc<BySni>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TlsServer {
    pub fn spawn(ca: Arc<TestCa>, bind: &str) -> std::io::Result<TlsServer> {
        let listener = std::net::TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let certs = Arc::new(BySni::default());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("tls-server".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tls runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let stream = tokio::select! {
                        got = listener.accept() => match got { Ok((s, _)) => s, Err(_) => continue },
                        _ = &mut rx => return,
                    };
                    let _ = stream.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        use tokio::io::AsyncWriteExt;
                        if let Ok(mut tls) = acceptor.accept(stream).await {
                            // The head and the body in writes of their own, as real
                            // servers send them (see `server::Paced`).
                            let _ = tls
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n")
                                .await;
                            let _ = tls.flush().await;
                            tokio::time::sleep(crate::server::BODY_PAUSE).await;
                            let _ = tls.write_all(b"ok").await;
                            let _ = tls.shutdown().await;
                        }
                    });
                }
            });
        })?;
        Ok(TlsServer {
            addr,
            ca,
            certs,
            _shutdown: tx,
        })
    }

    /// Serves `served` to clients asking for `sni` (`*.parent`: any name under parent
    /// without a certificate of its own).
    pub fn serve(&self, sni: &str, served: Served) {
        let key = self.ca.certified(&served);
        self.certs
            .certs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sni.to_ascii_lowercase(), key);
    }

    /// Serves nothing for `sni` (the handshake fails).
    pub fn stop_serving(&self, sni: &str) {
        self.certs
            .certs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&sni.to_ascii_lowercase());
    }
}
