//! `domain-host.toml`: which integrations are enabled, their constants, their sandbox.
//!
//! ```toml
//! www = "always"            # always | main_only | never
//! components = "dir"        # optional: where <id>.wasm files are
//!
//! [integrations.serverpilot]
//! enabled = true
//! constants = { WU_SERVER_PILOT_CLIENT_ID = "cid_x", WU_SERVER_PILOT_APP_ID = "..." }
//! allowed_hosts = ["api.serverpilot.io"]                       # optional
//! routes = { "api.serverpilot.io" = "http://127.0.0.1:18081" }  # optional
//! ```
//!
//! Unknown keys and wrong types are errors that name the line and key, so a typo never
//! silently leaves a setting unused. Relative paths are relative to the config file.

use crate::allow_list::{AllowList, Routes};
use crate::domain::WwwPolicy;
use crate::retry::RetryPolicy;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    #[serde(default)]
    pub www: WwwPolicy,
    pub components: Option<PathBuf>,
    /// Lock files and integration logs. Default: `$XDG_STATE_HOME/domain-host`.
    pub state_dir: Option<PathBuf>,
    /// Compiled components. Default: `$XDG_CACHE_HOME/domain-host`.
    pub cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub integrations: BTreeMap<String, IntegrationConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    #[serde(default)]
    pub enabled: bool,
    pub component: Option<PathBuf>,
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    pub allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
}

/// The sandbox around every component call.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory a component may use.
    pub memory_mb: u64,
    /// Guest CPU time per call (host waits, such as HTTP, do not count).
    pub cpu_ms: u64,
    /// Wall time per call, HTTP included.
    pub call_timeout_secs: u64,
    /// Ceiling for each request's connect / first-byte / between-bytes timeout.
    pub request_timeout_secs: u64,
    /// Largest response body a component may receive.
    pub max_response_bytes: u64,
    /// How long an event waits for another process working on the same account.
    pub lock_wait_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: 64,
            cpu_ms: 5_000,
            call_timeout_secs: 120,
            request_timeout_secs: 30,
            max_response_bytes: 4 * 1024 * 1024,
            lock_wait_secs: 300,
        }
    }
}

/// A parsed config and the folder its relative paths start from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: HostConfig,
    pub path: PathBuf,
    base: PathBuf,
}

impl LoadedConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let config: HostConfig = toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        for (id, integration) in &config.integrations {
            validate_integration(id, integration)
                .with_context(|| format!("config file {}", path.display()))?;
        }
        check_limits(&config.limits).with_context(|| format!("config file {}", path.display()))?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(LoadedConfig {
            config,
            path: path.to_path_buf(),
            base,
        })
    }

    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        match &self.config.state_dir {
            Some(dir) => self.resolve(dir),
            None => xdg_dir("XDG_STATE_HOME", ".local/state"),
        }
    }

    pub fn cache_dir(&self) -> PathBuf {
        match &self.config.cache_dir {
            Some(dir) => self.resolve(dir),
            None => xdg_dir("XDG_CACHE_HOME", ".cache"),
        }
    }

    /// Where an integration's component is: its `component` key, else `<id>.wasm` in the
    /// first components folder that has it.
    pub fn component_path(&self, id: &str) -> Result<PathBuf> {
        if let Some(file) = self
            .config
            .integrations
            .get(id)
            .and_then(|i| i.component.as_ref())
        {
            let path = self.resolve(file);
            if !path.is_file() {
                bail!(
                    "integrations.{id}.component: no such file {} (config file {})",
                    path.display(),
                    self.path.display()
                );
            }
            return Ok(path);
        }
        let dirs = self.component_dirs();
        let names = [
            format!("{id}.wasm"),
            format!("{}.wasm", id.replace('-', "_")),
        ];
        for dir in &dirs {
            for name in &names {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Ok(candidate.canonicalize().unwrap_or(candidate));
                }
            }
        }
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        bail!(
            "integrations.{id}: unknown integration: no component {id}.wasm found (looked in {}). \
             Build the components (scripts/build-components.sh) or set `component`.",
            looked.join(", ")
        )
    }

    /// The configured folder, then `$DOMAIN_HOST_COMPONENTS`, then the folders a build of
    /// this repository puts components in, relative to this executable.
    fn component_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(dir) = &self.config.components {
            dirs.push(self.resolve(dir));
        }
        if let Some(dir) = std::env::var_os("DOMAIN_HOST_COMPONENTS") {
            dirs.push(PathBuf::from(dir));
        }
        if let Some(exe_dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            // target/<profile>/domain-host (or target/<profile>/deps/<test> in tests).
            for up in [exe_dir.join(".."), exe_dir.join("../..")] {
                dirs.push(up.join("wasm32-wasip2/component"));
                dirs.push(up.join("wasm32-wasip2/release"));
            }
            dirs.push(exe_dir.join("components"));
        }
        dirs.push(PathBuf::from("components"));
        dirs
    }
}

fn validate_integration(id: &str, integration: &IntegrationConfig) -> Result<()> {
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !id_ok {
        bail!("[integrations.{id}]: an integration id is lower-case letters, digits, '-' or '_'");
    }
    if let Some(hosts) = &integration.allowed_hosts {
        AllowList::parse(hosts)
            .map_err(|e| anyhow::anyhow!("integrations.{id}.allowed_hosts: {e}"))?;
    }
    Routes::parse(&integration.routes)
        .map_err(|e| anyhow::anyhow!("integrations.{id}.routes: {e}"))?;
    Ok(())
}

fn check_limits(limits: &Limits) -> Result<()> {
    let zero = [
        ("memory_mb", limits.memory_mb),
        ("cpu_ms", limits.cpu_ms),
        ("call_timeout_secs", limits.call_timeout_secs),
        ("request_timeout_secs", limits.request_timeout_secs),
        ("max_response_bytes", limits.max_response_bytes),
    ]
    .into_iter()
    .find(|(_, v)| *v == 0);
    if let Some((key, _)) = zero {
        bail!("limits.{key} must be greater than 0");
    }
    Ok(())
}

fn xdg_dir(var: &str, fallback: &str) -> PathBuf {
    let base = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
        .unwrap_or_else(std::env::temp_dir);
    base.join("domain-host")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedConfig> {
        LoadedConfig::parse(text, Path::new("/etc/dh/domain-host.toml"))
    }

    fn error(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn parses_the_documented_shape() {
        let c = parse(
            r#"
            www = "main_only"
            components = "wasm"
            [integrations.serverpilot]
            enabled = true
            component = "sp.wasm"
            constants = { WU_SERVER_PILOT_CLIENT_ID = "cid_x", WU_SERVER_PILOT_APP_ID = "app" }
            allowed_hosts = ["api.serverpilot.io"]
            routes = { "api.serverpilot.io" = "http://127.0.0.1:18081" }
            "#,
        )
        .unwrap();
        assert_eq!(c.config.www, WwwPolicy::MainOnly);
        let sp = &c.config.integrations["serverpilot"];
        assert!(sp.enabled);
        assert_eq!(sp.constants["WU_SERVER_PILOT_APP_ID"], "app");
        assert_eq!(
            c.resolve(sp.component.as_ref().unwrap()),
            PathBuf::from("/etc/dh/sp.wasm")
        );
    }

    #[test]
    fn integrations_are_disabled_unless_enabled() {
        let c = parse("[integrations.serverpilot]\n").unwrap();
        assert!(!c.config.integrations["serverpilot"].enabled);
    }

    #[test]
    fn bad_toml_names_the_line() {
        let e = error("www = \"always\"\n[integrations.serverpilot\nenabled = true\n");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key_and_line() {
        let e = error("[integrations.serverpilot]\nenabled = \"yes\"\n");
        assert!(e.contains("line 2") && e.contains("enabled"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = error("[integrations.serverpilot]\nenabeld = true\n");
        assert!(e.contains("enabeld") && e.contains("line 2"), "{e}");
        let e = error("wwww = \"always\"\n");
        assert!(e.contains("wwww"), "{e}");
    }

    #[test]
    fn bad_www_value_is_refused() {
        let e = error("www = \"sometimes\"\n");
        assert!(e.contains("sometimes") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn bad_allowed_hosts_and_routes_name_the_integration() {
        let e = error("[integrations.serverpilot]\nallowed_hosts = [\"*\"]\n");
        assert!(e.contains("integrations.serverpilot.allowed_hosts"), "{e}");
        let e = error(
            "[integrations.serverpilot]\nroutes = { \"api.serverpilot.io\" = \"127.0.0.1:1\" }\n",
        );
        assert!(e.contains("integrations.serverpilot.routes"), "{e}");
    }

    #[test]
    fn bad_integration_ids_are_refused() {
        let e = error("[integrations.\"Server Pilot\"]\n");
        assert!(e.contains("Server Pilot"), "{e}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let e = error("[limits]\nmemory_mb = 0\n");
        assert!(e.contains("limits.memory_mb"), "{e}");
    }

    #[test]
    fn missing_component_file_is_named() {
        let c = parse("[integrations.serverpilot]\ncomponent = \"nope.wasm\"\n").unwrap();
        let e = format!("{:#}", c.component_path("serverpilot").unwrap_err());
        assert!(
            e.contains("integrations.serverpilot.component") && e.contains("/etc/dh/nope.wasm"),
            "{e}"
        );
    }

    #[test]
    fn unknown_integration_is_named() {
        let c =
            parse("components = \"/nonexistent\"\n[integrations.nosuchpanel]\nenabled = true\n")
                .unwrap();
        let e = format!("{:#}", c.component_path("nosuchpanel").unwrap_err());
        assert!(
            e.contains("unknown integration") && e.contains("nosuchpanel.wasm"),
            "{e}"
        );
    }
}
