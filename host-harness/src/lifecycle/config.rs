//! `[lifecycle]`: where the network serves from, whom to ask, and how patiently.
//!
//! ```toml
//! [lifecycle]
//! targets = ["203.0.113.10", "2001:db8::10"]  # addresses the network serves from
//! cname_target = "network.example.com"        # optional: a name customers may CNAME to
//! nameservers = ["127.0.0.1:5353"]            # optional: ask only these (tests, split-horizon)
//! public_resolvers = ["1.1.1.1:53", "8.8.8.8:53"]   # optional: the propagation view
//! tls_port = 443
//! extra_roots = ["ca.pem"]                    # optional PEM files trusted besides the system roots
//! ca = "letsencrypt.org"                      # CAA identity of the CA the panels use
//! mode = "continuous"                         # or "compatible" (Ultimate Multisite's attempts)
//! first_interval = "1m"                       # then doubling, capped at max_interval
//! max_interval = "4h"
//! dns_horizon = "7d"                          # continuous mode: DNS failed after this long
//! certificate_horizon = "30d"                 # continuous mode: SSL failed after this long
//! recheck = "1d"                              # after done (and after failed): slow re-checks
//! dns_attempts = 5                            # compatible mode: failed after this many + 1 checks
//! ssl_attempts = 5                            # compatible mode; default: the providers' own
//! timeout = "3s"                              # per DNS query or TLS handshake
//! concurrency = 64                            # names checked at once
//! ```

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Exponential checks with horizons, then slow re-checks: nothing gives up for good.
    #[default]
    Continuous,
    /// Ultimate Multisite's counts: `dns_attempts` and `ssl_attempts` failed checks.
    Compatible,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleConfig {
    #[serde(default)]
    pub targets: Vec<IpAddr>,
    pub cname_target: Option<String>,
    #[serde(default)]
    pub nameservers: Vec<SocketAddr>,
    /// Recursive resolvers used to find a name's authoritative servers. Default: the
    /// system's (`/etc/resolv.conf`).
    #[serde(default)]
    pub resolvers: Vec<SocketAddr>,
    #[serde(default)]
    pub public_resolvers: Vec<SocketAddr>,
    #[serde(default = "default_tls_port")]
    pub tls_port: u16,
    #[serde(default)]
    pub extra_roots: Vec<PathBuf>,
    #[serde(default = "default_ca")]
    pub ca: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default = "d_1m", with = "humantime_serde_compat")]
    pub first_interval: Duration,
    #[serde(default = "d_4h", with = "humantime_serde_compat")]
    pub max_interval: Duration,
    #[serde(default = "d_7d", with = "humantime_serde_compat")]
    pub dns_horizon: Duration,
    #[serde(default = "d_30d", with = "humantime_serde_compat")]
    pub certificate_horizon: Duration,
    #[serde(default = "d_1d", with = "humantime_serde_compat")]
    pub recheck: Duration,
    #[serde(default = "default_attempts")]
    pub dns_attempts: u32,
    pub ssl_attempts: Option<u32>,
    #[serde(default = "d_3s", with = "humantime_serde_compat")]
    pub timeout: Duration,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_tls_port() -> u16 {
    443
}
fn default_ca() -> String {
    "letsencrypt.org".into()
}
fn default_attempts() -> u32 {
    5
}
fn default_concurrency() -> usize {
    64
}
fn d_1m() -> Duration {
    Duration::from_secs(60)
}
fn d_4h() -> Duration {
    Duration::from_secs(4 * 3600)
}
fn d_7d() -> Duration {
    Duration::from_secs(7 * 86400)
}
fn d_30d() -> Duration {
    Duration::from_secs(30 * 86400)
}
fn d_1d() -> Duration {
    Duration::from_secs(86400)
}
fn d_3s() -> Duration {
    Duration::from_secs(3)
}

impl LifecycleConfig {
    /// Refuses settings that cannot work, naming the key.
    pub fn check(&self) -> Result<(), String> {
        if self.targets.is_empty() && self.cname_target.is_none() {
            return Err(
                "lifecycle: set targets (the addresses the network serves from) or cname_target"
                    .into(),
            );
        }
        if self.first_interval.is_zero() || self.max_interval < self.first_interval {
            return Err(
                "lifecycle: first_interval must be above 0 and at most max_interval".into(),
            );
        }
        if self.concurrency == 0 {
            return Err("lifecycle.concurrency must be greater than 0".into());
        }
        if let Some(name) = &self.cname_target
            && crate::domain::normalize(name, false).is_err()
        {
            return Err(format!(
                "lifecycle.cname_target: {name:?} is not a domain name"
            ));
        }
        Ok(())
    }
}

/// `"90s"`, `"1m"`, `"4h"`, `"7d"` for durations, as operators write them.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration like \"90s\", \"4h\", \"7d\": {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_operators_write_them() {
        let c: LifecycleConfig = toml::from_str(
            "targets = [\"203.0.113.10\"]\nfirst_interval = \"200ms\"\nmax_interval = \"2s\"\nrecheck = \"1d\"\n",
        )
        .unwrap();
        assert_eq!(c.first_interval, Duration::from_millis(200));
        assert_eq!(c.recheck, Duration::from_secs(86400));
        assert_eq!(c.dns_horizon, Duration::from_secs(7 * 86400));
        assert_eq!(c.ca, "letsencrypt.org");
        c.check().unwrap();
        assert!(toml::from_str::<LifecycleConfig>("first_interval = \"soon\"").is_err());
        let empty: LifecycleConfig = toml::from_str("").unwrap();
        assert!(empty.check().unwrap_err().contains("targets"));
    }
}
