//! What each integration was approved with, pinned in a lock file next to the config.
//!
//! A component declares the hosts it wants by default, the constants it reads and how its
//! panel authenticates. An update of the component must not widen any of that without the
//! operator seeing it, so the first use (or `domain-host approve`) writes a pin per
//! integration into `<config>.lock` (`domain-host.toml` → `domain-host.lock`), a small
//! TOML file meant to be reviewed and kept under version control like `Cargo.lock`.
//! Later loads compare: asking for nothing new is fine (a rebuilt component updates its
//! digest), asking for more is refused with the difference until approved. A new contract
//! version is asking for more: 0.2.0 gains secret placeholders and session logins, so a
//! rebuild from 0.1.0 to 0.2.0 needs `approve` like a new host does. A first pin is
//! printed whole, and `serve` pins nothing: it refuses an integration that has no pin yet
//! ([`Mode::Require`]), so what a service runs is always what an operator approved.
//!
//! [`Pin`] and [`Pin::widening`] are pure and unit-tested.

use crate::contract::{AuthScheme, ProviderMetadata};
use crate::sandbox::constants::auth_constants;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What one integration's component asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// `sha256:` of the component file.
    pub component: String,
    /// The contract version it was built for.
    pub contract: String,
    /// The hosts it asks for by default (the operator's `allowed_hosts` overrides them).
    pub hosts: BTreeSet<String>,
    /// Constants it may read with `config.get` (when the operator sets them).
    pub readable: BTreeSet<String>,
    /// Constants the host holds for it and never shows it.
    pub secrets: BTreeSet<String>,
    /// Where its credentials go.
    pub auth: BTreeSet<String>,
}

impl Pin {
    pub fn new(metadata: &ProviderMetadata, digest: &str, contract: &str) -> Self {
        let in_auth: BTreeSet<&str> = metadata.auth.iter().flat_map(auth_constants).collect();
        let (secrets, readable): (Vec<_>, Vec<_>) = metadata
            .constants
            .iter()
            .partition(|c| c.secret || in_auth.contains(c.name.as_str()));
        Pin {
            component: digest.to_string(),
            contract: contract.to_string(),
            hosts: metadata.default_allowed_hosts.iter().cloned().collect(),
            readable: readable.into_iter().map(|c| c.name.clone()).collect(),
            secrets: secrets.into_iter().map(|c| c.name.clone()).collect(),
            auth: metadata.auth.iter().map(describe_auth).collect(),
        }
    }

    /// What `self` asks for beyond `approved`, one line each; empty when nothing.
    pub fn widening(&self, approved: &Pin) -> Vec<String> {
        let mut out = Vec::new();
        for host in self.hosts.difference(&approved.hosts) {
            out.push(format!("+ host {host}"));
        }
        for name in self.readable.difference(&approved.readable) {
            let was = if approved.secrets.contains(name) {
                " (was host-held)"
            } else {
                ""
            };
            out.push(format!("+ readable constant {name}{was}"));
        }
        for name in self.secrets.difference(&approved.secrets) {
            if !approved.readable.contains(name) {
                out.push(format!("+ secret constant {name}"));
            }
        }
        for auth in self.auth.difference(&approved.auth) {
            out.push(format!("+ auth {auth}"));
        }
        if self.contract != approved.contract {
            // What a component may do depends on its contract (0.2.0: placeholders that
            // place its secrets in requests, session logins): a change is reviewed.
            out.push(format!(
                "+ contract {} -> {} (what the component may ask of the host)",
                approved.contract, self.contract
            ));
        }
        out
    }

    /// The whole pin, one line each, for a first approval.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![
            format!("component {}", self.component),
            format!("contract {}", self.contract),
        ];
        out.extend(self.hosts.iter().map(|h| format!("host {h}")));
        out.extend(
            self.readable
                .iter()
                .map(|n| format!("readable constant {n}")),
        );
        out.extend(self.secrets.iter().map(|n| format!("secret constant {n}")));
        out.extend(self.auth.iter().map(|a| format!("auth {a}")));
        out
    }

    /// Everything that differs, for `approve` output: additions and removals.
    pub fn changes(&self, approved: &Pin) -> Vec<String> {
        let mut out = self.widening(approved);
        for host in approved.hosts.difference(&self.hosts) {
            out.push(format!("- host {host}"));
        }
        for name in approved.readable.difference(&self.readable) {
            if !self.secrets.contains(name) {
                out.push(format!("- readable constant {name}"));
            }
        }
        for name in approved.secrets.difference(&self.secrets) {
            // A secret that became readable is listed as widening above.
            if !self.readable.contains(name) {
                out.push(format!("- secret constant {name}"));
            }
        }
        for name in approved.readable.intersection(&self.secrets) {
            out.push(format!("~ constant {name} is now host-held"));
        }
        for auth in approved.auth.difference(&self.auth) {
            out.push(format!("- auth {auth}"));
        }
        if approved.component != self.component {
            out.push(format!(
                "~ component {} -> {}",
                approved.component, self.component
            ));
        }
        out
    }
}

fn describe_auth(scheme: &AuthScheme) -> String {
    match scheme {
        AuthScheme::Basic(b) => format!(
            "authorization: Basic {}:{}",
            b.username_constant, b.password_constant
        ),
        AuthScheme::Bearer(token) => format!("authorization: Bearer {token}"),
        AuthScheme::Header(h) => format!(
            "{}: {}",
            h.header_name.to_ascii_lowercase(),
            h.value_constant
        ),
        AuthScheme::Session(login) => {
            let fields: Vec<String> = login
                .fields
                .iter()
                .map(|f| match &f.value {
                    crate::contract::LoginValue::Constant(c) => format!("{}={c}", f.name),
                    crate::contract::LoginValue::Literal(v) => format!("{}={v:?}", f.name),
                })
                .collect();
            format!(
                "{}: session from POST {} ({})",
                login
                    .token_header
                    .as_deref()
                    .unwrap_or("authorization")
                    .to_ascii_lowercase(),
                login.url,
                fields.join(", ")
            )
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    version: u32,
    #[serde(default)]
    integrations: BTreeMap<String, Pin>,
}

const HEADER: &str = "\
# What each integration's component was approved to read and reach.
# Written by domain-host on first use and by `domain-host approve`; review changes to it
# like code. A component that asks for more than its pin is refused until approved.
";

/// What a load should do with the pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse widening; pin on first use; update a narrower or equal pin.
    Enforce,
    /// Compare only; never write (`list`).
    Inspect,
    /// Pin whatever the component asks for now (`approve`).
    Approve,
    /// As `Enforce`, but never a first pin: an integration without one is refused
    /// (`serve`, where nobody reads a warning before the component runs).
    Require,
}

/// The outcome of checking one integration against the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Matches its pin.
    Approved,
    /// Pinned now (first use, a rebuilt component asking for nothing new, or `approve`),
    /// with what changed.
    Pinned(Vec<String>),
    /// Asks for more than its pin.
    Refused(Vec<String>),
    /// Not pinned yet (when inspecting or requiring; other modes pin it).
    Unpinned,
}

/// The lock file of one config.
#[derive(Debug, Clone)]
pub struct Approvals {
    path: PathBuf,
}

impl Approvals {
    /// `<config dir>/<config stem>.lock`.
    pub fn for_config(config: &Path) -> Self {
        Approvals {
            path: config.with_extension("lock"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<LockFile> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                let lock: LockFile = toml::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{} is damaged ({}); restore it or delete it and run `domain-host approve`",
                        self.path.display(),
                        e.message().trim()
                    )
                })?;
                if lock.version != 1 {
                    bail!(
                        "{} has version {}; this domain-host reads version 1",
                        self.path.display(),
                        lock.version
                    );
                }
                Ok(lock)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile {
                version: 1,
                ..Default::default()
            }),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    /// Checks `id`'s component against its pin, writing the lock file when `mode` allows.
    pub fn check(&self, id: &str, pin: Pin, mode: Mode) -> Result<Verdict> {
        if mode == Mode::Inspect {
            let lock = self.read()?;
            return Ok(match lock.integrations.get(id) {
                Some(approved) if *approved == pin => Verdict::Approved,
                Some(approved) => match pin.widening(approved) {
                    wider if wider.is_empty() => Verdict::Approved,
                    wider => Verdict::Refused(wider),
                },
                None => Verdict::Unpinned,
            });
        }
        // Read-modify-write under a lock on the config's directory, which every user of
        // this config shares.
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let guard =
            std::fs::File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
        guard
            .lock()
            .with_context(|| format!("cannot lock {}", dir.display()))?;
        let mut lock = self.read()?;
        let verdict = match lock.integrations.get(id) {
            Some(approved) if *approved == pin => return Ok(Verdict::Approved),
            Some(approved) => {
                let wider = pin.widening(approved);
                if !wider.is_empty() && mode != Mode::Approve {
                    return Ok(Verdict::Refused(wider));
                }
                Verdict::Pinned(pin.changes(approved))
            }
            None if mode == Mode::Require => return Ok(Verdict::Unpinned),
            None => {
                let mut first = vec!["first approval of".to_string()];
                first.extend(pin.describe());
                Verdict::Pinned(first)
            }
        };
        lock.integrations.insert(id.to_string(), pin);
        let text = format!(
            "{HEADER}{}",
            toml::to_string(&lock).context("cannot write the lock file")?
        );
        crate::sandbox::files::write_atomically(&self.path, text.as_bytes(), 0o644).with_context(
            || {
                format!(
                    "integration {id} needs approval, but {} cannot be written; run \
                 `domain-host approve {id}` as a user who can write it",
                    self.path.display()
                )
            },
        )?;
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{BasicAuth, Capabilities, ConstantSpec};

    fn constant(name: &str, secret: bool) -> ConstantSpec {
        ConstantSpec {
            name: name.into(),
            label: name.into(),
            description: String::new(),
            secret,
            required: true,
        }
    }

    fn metadata(
        hosts: &[&str],
        constants: Vec<ConstantSpec>,
        auth: Vec<AuthScheme>,
    ) -> ProviderMetadata {
        ProviderMetadata {
            id: "x".into(),
            title: "X".into(),
            description: String::new(),
            tutorial_link: String::new(),
            constants,
            any_of: vec![],
            capabilities: Capabilities::empty(),
            operations: crate::contract::Operations::empty(),
            account_constants: vec![],
            ssl_verification_attempts: 5,
            default_allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            auth,
        }
    }

    fn serverpilot_like(hosts: &[&str], extra: Vec<ConstantSpec>) -> Pin {
        let mut constants = vec![
            constant("CID", false),
            constant("KEY", true),
            constant("APP", false),
        ];
        constants.extend(extra);
        let auth = vec![AuthScheme::Basic(BasicAuth {
            username_constant: "CID".into(),
            password_constant: "KEY".into(),
        })];
        Pin::new(&metadata(hosts, constants, auth), "sha256:aa", "0.1.0")
    }

    #[test]
    fn auth_constants_are_host_held() {
        let pin = serverpilot_like(&["api.serverpilot.io"], vec![]);
        assert_eq!(pin.readable, BTreeSet::from(["APP".to_string()]));
        assert_eq!(
            pin.secrets,
            BTreeSet::from(["CID".to_string(), "KEY".to_string()])
        );
    }

    #[test]
    fn new_hosts_and_constants_widen() {
        let approved = serverpilot_like(&["api.serverpilot.io"], vec![]);
        let update = serverpilot_like(
            &["api.serverpilot.io", "collector.example"],
            vec![constant("WU_OTHER", false)],
        );
        assert_eq!(
            update.widening(&approved),
            vec!["+ host collector.example", "+ readable constant WU_OTHER"]
        );
    }

    #[test]
    fn a_secret_becoming_readable_widens() {
        let approved = Pin::new(
            &metadata(&["a.example"], vec![constant("TOKEN", true)], vec![]),
            "sha256:aa",
            "0.1.0",
        );
        let update = Pin::new(
            &metadata(&["a.example"], vec![constant("TOKEN", false)], vec![]),
            "sha256:bb",
            "0.1.0",
        );
        assert_eq!(
            update.widening(&approved),
            vec!["+ readable constant TOKEN (was host-held)"]
        );
    }

    #[test]
    fn asking_for_less_or_a_new_build_is_not_widening() {
        let approved = serverpilot_like(&["api.serverpilot.io", "old.example"], vec![]);
        let mut update = serverpilot_like(&["api.serverpilot.io"], vec![]);
        update.component = "sha256:bb".into();
        assert!(update.widening(&approved).is_empty());
        let changes = update.changes(&approved);
        assert!(
            changes.contains(&"- host old.example".to_string()),
            "{changes:?}"
        );
        assert!(
            changes.iter().any(|c| c.starts_with("~ component")),
            "{changes:?}"
        );
    }

    #[test]
    fn a_contract_upgrade_widens() {
        let approved = serverpilot_like(&["a.example"], vec![]);
        let mut update = approved.clone();
        update.contract = "0.2.0".into();
        assert_eq!(
            update.widening(&approved),
            vec!["+ contract 0.1.0 -> 0.2.0 (what the component may ask of the host)"]
        );
    }

    #[test]
    fn a_new_auth_target_widens() {
        let approved = serverpilot_like(&["a.example"], vec![]);
        let mut update = approved.clone();
        update.auth.insert("x-exfil: KEY".into());
        assert_eq!(update.widening(&approved), vec!["+ auth x-exfil: KEY"]);
    }

    #[test]
    fn the_lock_file_pins_refuses_and_approves() {
        let dir = std::env::temp_dir().join(format!("dh-approvals-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let approvals = Approvals::for_config(&dir.join("domain-host.toml"));
        assert_eq!(approvals.path(), dir.join("domain-host.lock"));
        let v1 = serverpilot_like(&["api.serverpilot.io"], vec![]);
        // `serve` pins nothing.
        assert_eq!(
            approvals.check("sp", v1.clone(), Mode::Require).unwrap(),
            Verdict::Unpinned
        );
        assert!(!approvals.path().exists());
        let Verdict::Pinned(first) = approvals.check("sp", v1.clone(), Mode::Enforce).unwrap()
        else {
            panic!("not pinned");
        };
        // The whole pin is shown.
        assert!(
            first.contains(&"host api.serverpilot.io".to_string()),
            "{first:?}"
        );
        assert!(
            first.contains(&"secret constant KEY".to_string()),
            "{first:?}"
        );
        assert_eq!(
            approvals.check("sp", v1.clone(), Mode::Require).unwrap(),
            Verdict::Approved
        );
        assert_eq!(
            approvals.check("sp", v1.clone(), Mode::Enforce).unwrap(),
            Verdict::Approved
        );
        let v2 = serverpilot_like(&["api.serverpilot.io", "evil.example"], vec![]);
        assert_eq!(
            approvals.check("sp", v2.clone(), Mode::Enforce).unwrap(),
            Verdict::Refused(vec!["+ host evil.example".into()])
        );
        assert!(matches!(
            approvals.check("sp", v2.clone(), Mode::Inspect).unwrap(),
            Verdict::Refused(_)
        ));
        assert!(matches!(
            approvals.check("sp", v2.clone(), Mode::Approve).unwrap(),
            Verdict::Pinned(_)
        ));
        assert_eq!(
            approvals.check("sp", v2, Mode::Enforce).unwrap(),
            Verdict::Approved
        );
        let text = std::fs::read_to_string(approvals.path()).unwrap();
        assert!(text.starts_with("# What each integration"), "{text}");
        assert!(text.contains("evil.example"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
