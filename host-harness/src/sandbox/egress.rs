//! Where a request really connects: the address check after DNS, and the sender.
//!
//! The allow-list works on names, and a name can resolve to `127.0.0.1`, a LAN panel or
//! the cloud metadata service. So the host resolves the name itself, refuses loopback,
//! private, link-local, metadata and other internal addresses unless the operator allowed
//! that network (`allow_private`) or routed the host explicitly, and connects to the
//! address it vetted (no second lookup a DNS answer could change in between). TLS
//! verifies the certificate against the public roots plus the integration's `ca_file`.
//! The connection itself is made (or reused) by [`crate::sandbox::connection_pool`].
//!
//! [`classify`] and [`AddressPolicy`] are pure policy, unit-tested without a network.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::Error;

/// Why an address is internal (not on the public internet), or `None` when it is public.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4-mapped and -compatible forms are judged as the IPv4 address they carry.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if s[0] & 0xfe00 == 0xfc00 {
                // fd00:ec2::254 (AWS metadata) is in here.
                Some("private (unique local)")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("multicast")
            } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
                // ::a.b.c.d (deprecated IPv4-compatible).
                classify_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ))
                .or(Some("IPv4-compatible"))
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                // NAT64: the IPv4 address it reaches decides.
                classify_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ))
            } else {
                None
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if o == [169, 254, 169, 254] || o == [100, 100, 100, 200] {
        Some("cloud metadata")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_private() {
        Some("private")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Some("multicast or reserved")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignment")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else {
        None
    }
}

/// Which internal networks one integration may reach by name.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    pub allow_private: Vec<IpNet>,
}

impl AddressPolicy {
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let allow_private = entries
            .iter()
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{e:?} is not an address or network"))
            })
            .collect::<Result<_, _>>()?;
        Ok(AddressPolicy { allow_private })
    }

    /// `Err(reason)` when a resolved address may not be contacted.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match classify(canonical) {
            None => Ok(()),
            Some(_) if self.allow_private.iter().any(|n| n.contains(&canonical)) => Ok(()),
            Some(why) => Err(why),
        }
    }
}

/// How one request reaches its server.
pub struct Target {
    /// Host name (or IP literal) to resolve and connect to.
    pub host: String,
    pub port: u16,
    /// Resolved addresses are vetted with `policy` unless the operator named this
    /// destination explicitly (a route, or an IP literal in `allowed_hosts`).
    pub vet: bool,
    /// The name the certificate must carry, for HTTPS.
    pub tls_name: Option<rustls_pki_types::ServerName<'static>>,
}

impl Target {
    /// Whether the hop stays on this machine (an address in 127.0.0.0/8 or `::1`, or
    /// `localhost`): the only place a plain-HTTP hop may carry a secret (tests, a local
    /// TLS-terminating proxy).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// `localhost`, or a loopback address literal (brackets allowed).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A refused destination, with the address and why, for the integration's log.
#[derive(Debug)]
pub struct Refused {
    pub address: IpAddr,
    pub why: &'static str,
}

/// Resolves `target` and keeps the addresses the policy permits. `Ok(empty)` never
/// happens: a name whose every address is refused is `Err`.
pub async fn resolve(
    target: &Target,
    policy: &AddressPolicy,
    timeout: Duration,
) -> Result<Result<Vec<SocketAddr>, Refused>, Error> {
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addresses: Vec<SocketAddr> = match tokio::time::timeout(timeout, lookup).await {
        Err(_) => return Err(Error::DnsTimeout),
        Ok(Err(_)) => {
            return Err(Error::DnsError {
                rcode: Some("name could not be resolved".into()),
                info_code: None,
            });
        }
        Ok(Ok(found)) => found.collect(),
    };
    if !target.vet {
        return Ok(Ok(addresses));
    }
    let mut refused = None;
    let permitted: Vec<SocketAddr> = addresses
        .into_iter()
        .filter(|a| match policy.check(a.ip()) {
            Ok(()) => true,
            Err(why) => {
                refused.get_or_insert(Refused {
                    address: a.ip(),
                    why,
                });
                false
            }
        })
        .collect();
    match (permitted.is_empty(), refused) {
        (true, Some(refused)) => Ok(Err(refused)),
        (true, None) => Err(Error::DestinationNotFound),
        (false, _) => Ok(Ok(permitted)),
    }
}

/// TLS settings for a panel's API: those of [`tls_config`], offering HTTP/2 and HTTP/1.1
/// through ALPN, so that a panel which takes HTTP/2 carries all of an integration's
/// concurrent requests on one connection (see [`crate::sandbox::connection_pool`]).
pub fn panel_tls_config(extra_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut config = Arc::unwrap_or_clone(tls_config(extra_pem)?);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// TLS settings of one integration: the public roots, plus its `ca_file`. No ALPN: the
/// connection is HTTP/1.1 (the service's callbacks, the lifecycle's checks).
pub fn tls_config(extra_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    if let Some(pem) = extra_pem {
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The TLS name for a host: a DNS name, or an IP literal.
pub fn server_name(host: &str) -> Result<rustls_pki_types::ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(rustls_pki_types::ServerName::from(ip));
    }
    rustls_pki_types::ServerName::try_from(bare.to_string())
        .map_err(|_| Error::HttpRequestUriInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_classified() {
        for (addr, why) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("::1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("100.100.100.200", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("fe80::1", "link-local"),
            ("fd00:ec2::254", "private (unique local)"),
            ("fc00::1", "private (unique local)"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "cloud metadata"),
            ("224.0.0.1", "multicast or reserved"),
            ("255.255.255.255", "multicast or reserved"),
            ("ff02::1", "multicast"),
        ] {
            assert_eq!(classify(ip(addr)), Some(why), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "1.1.1.1",
            "203.0.113.10",
            "2606:4700::1111",
            "64:ff9b::101:101",
        ] {
            assert_eq!(classify(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn the_operator_can_allow_one_private_network() {
        let policy = AddressPolicy::parse(&["10.0.0.0/24".into(), "fd12::5".into()]).unwrap();
        assert!(policy.check(ip("10.0.0.5")).is_ok());
        assert!(policy.check(ip("::ffff:10.0.0.5")).is_ok());
        assert!(policy.check(ip("fd12::5")).is_ok());
        assert_eq!(policy.check(ip("10.0.1.5")), Err("private"));
        assert_eq!(policy.check(ip("127.0.0.1")), Err("loopback"));
        assert_eq!(
            AddressPolicy::default().check(ip("169.254.169.254")),
            Err("cloud metadata")
        );
        assert!(AddressPolicy::parse(&["10.0.0.0/33".into()]).is_err());
    }

    #[test]
    fn server_names_for_names_and_literals() {
        assert!(matches!(
            server_name("panel.example.com").unwrap(),
            rustls_pki_types::ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            rustls_pki_types::ServerName::IpAddress(_)
        ));
    }
}
