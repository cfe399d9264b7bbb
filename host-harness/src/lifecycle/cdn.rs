//! Addresses of proxying CDNs, so a proxied record is explained instead of reported as
//! "points elsewhere". Cloudflare's published ranges (https://www.cloudflare.com/ips/,
//! as listed in 2024–2026; they change rarely and are announced ahead).

use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::OnceLock;

const CLOUDFLARE: &[&str] = &[
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
];

/// Whether `ip` is one of Cloudflare's proxy addresses.
pub fn is_cloudflare(ip: IpAddr) -> bool {
    static NETS: OnceLock<Vec<IpNet>> = OnceLock::new();
    NETS.get_or_init(|| CLOUDFLARE.iter().filter_map(|n| n.parse().ok()).collect())
        .iter()
        .any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudflare_ranges() {
        assert!(is_cloudflare("104.16.1.1".parse().unwrap()));
        assert!(is_cloudflare("2606:4700::6810:1".parse().unwrap()));
        assert!(!is_cloudflare("203.0.113.10".parse().unwrap()));
    }
}
