//! `reconcile`: what WordPress has mapped against what each panel serves.
//!
//! The PHP plugin fires events and forgets them, so a network's panel drifts: an event
//! lost while the panel was down, a domain removed in the panel by hand. For every
//! integration that can list its domains, [`diff`] says what is missing on the panel, what
//! the panel has that WordPress does not, and where `www` differs; [`reconcile`] can then
//! add what is missing and remove what is extra through the normal event path (locks and
//! retries included), never touching the panel's primary domain or the network's own
//! names, and lists what an operator must remove by hand when the panel cannot remove.
//!
//! [`diff`] is pure and unit-tested.

use crate::contract::{Capabilities, DomainEvent, Operations};
use crate::domain::{self, WwwPolicy, wants_www};
use crate::runtime::host::{Host, Integration};
use crate::runtime::operation::{Answer, Operation, PanelName};
use crate::runtime::report::IntegrationReport;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One site domain WordPress has, as the `--wanted` file lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Wanted {
    pub domain: String,
    pub site: u64,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A custom domain mapped to a site.
    Mapped,
    /// A subdomain site of the network.
    Subdomain,
}

/// Reads and normalises the wanted list; a bad entry is an error naming it.
pub fn parse_wanted(text: &str) -> Result<Vec<Wanted>> {
    let list: Vec<Wanted> = serde_json::from_str(text).context(
        "the wanted list must be JSON: [{\"domain\": \"shop.example.com\", \"site\": 3, \"kind\": \"mapped\"}, ...]",
    )?;
    list.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let name = domain::normalize(&w.domain, true)
                .with_context(|| format!("wanted entry {i} ({:?})", w.domain))?;
            Ok(Wanted { domain: name, ..w })
        })
        .collect()
}

/// A wanted domain with names the panel does not serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub domain: String,
    pub site: u64,
    pub kind: Kind,
    pub names: Vec<String>,
}

/// What differs between WordPress and one panel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub missing: Vec<Missing>,
    /// Panel entries WordPress does not have.
    pub extra: Vec<String>,
    /// `www` served where it is not wanted, or the reverse.
    pub www_mismatch: Vec<String>,
    /// Extra entries that are never removed: the panel's primary, the network's names.
    pub protected: Vec<String>,
}

impl Drift {
    pub fn in_sync(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.www_mismatch.is_empty()
    }
}

/// The names a wanted entry needs on the panel.
fn wanted_names(w: &Wanted, policy: WwwPolicy) -> Vec<String> {
    let mut names = vec![w.domain.clone()];
    if w.kind == Kind::Mapped
        && wants_www(policy, &w.domain)
        && !w.domain.starts_with("www.")
        && !w.domain.starts_with("*.")
    {
        names.push(format!("www.{}", w.domain));
    }
    names
}

/// The difference between what WordPress wants and what the panel lists.
pub fn diff(
    wanted: &[Wanted],
    policy: WwwPolicy,
    panel: &[PanelName],
    network: Option<&str>,
) -> Drift {
    let mut served: BTreeSet<String> = BTreeSet::new();
    for entry in panel {
        served.insert(entry.name.clone());
        if entry.www == Some(true) {
            served.insert(format!("www.{}", entry.name));
        }
    }
    let mut wanted_set: BTreeSet<String> = BTreeSet::new();
    let mut drift = Drift::default();
    for w in wanted {
        let names = wanted_names(w, policy);
        wanted_set.extend(names.iter().cloned());
        let absent: Vec<String> = names.into_iter().filter(|n| !served.contains(n)).collect();
        if absent.is_empty() {
            continue;
        }
        if absent.len() == 1 && absent[0] != w.domain {
            drift.www_mismatch.push(format!(
                "{} is served without its wanted {}",
                w.domain, absent[0]
            ));
        }
        drift.missing.push(Missing {
            domain: w.domain.clone(),
            site: w.site,
            kind: w.kind,
            names: absent,
        });
    }
    let network_names: Vec<String> = network
        .map(|n| vec![n.to_string(), format!("www.{n}")])
        .unwrap_or_default();
    for entry in panel {
        if entry.www == Some(true) {
            let www = format!("www.{}", entry.name);
            if wanted_set.contains(&entry.name) && !wanted_set.contains(&www) {
                drift.www_mismatch.push(format!(
                    "{} also serves {www}, which is not wanted",
                    entry.name
                ));
            }
        }
        if wanted_set.contains(&entry.name) {
            continue;
        }
        if entry.primary || network_names.contains(&entry.name) {
            drift.protected.push(entry.name.clone());
        } else {
            drift.extra.push(entry.name.clone());
        }
    }
    drift
}

/// What `reconcile` found and did for one integration.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationDrift {
    pub id: String,
    #[serde(flatten)]
    pub drift: Drift,
    /// Events run to add what was missing (`--apply`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<IntegrationReport>,
    /// Events run to remove extras (`--prune`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<IntegrationReport>,
    /// Extras the panel cannot remove: the operator must, by hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove_by_hand: Vec<String>,
    /// Why the integration was not compared (no `list-domains`, or listing failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Why the extras were not pruned (more than `prune_max_share` without force).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune_refused: Option<String>,
    pub in_sync: bool,
    /// Whether it can list its domains at all (those that cannot never count as drift).
    #[serde(skip)]
    comparable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub in_sync: bool,
    pub integrations: Vec<IntegrationDrift>,
}

#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub apply: bool,
    pub prune: bool,
    /// Prune even an empty wanted list, or more than `max_share` of a panel's names.
    pub force: bool,
    /// The share of a panel's names a prune may remove without `force` (`prune_max_share`).
    pub max_share: f64,
}

/// `[service] prune_max_share`'s default: a prune may remove a fifth of a panel's names.
pub const DEFAULT_MAX_SHARE: f64 = 0.2;

impl Default for Mode {
    fn default() -> Self {
        Mode {
            apply: false,
            prune: false,
            force: false,
            max_share: DEFAULT_MAX_SHARE,
        }
    }
}

/// A prune of an empty wanted list would empty every panel (a truncated export, a leaked
/// token): it needs `force`. Checked before anything runs.
pub fn check_prune(wanted: &[Wanted], mode: Mode) -> Result<()> {
    if mode.prune && !mode.force && wanted.is_empty() {
        bail!(
            "refusing to prune with an empty wanted list: it would remove every domain from every panel; pass force if that is really meant"
        );
    }
    Ok(())
}

/// Why a prune of `extra` names out of a panel's `listed` is held back, if it is.
pub fn prune_held(extra: usize, listed: usize, mode: Mode) -> Option<String> {
    if mode.force || extra == 0 {
        return None;
    }
    let share = extra as f64 / listed.max(1) as f64;
    (share > mode.max_share).then(|| {
        format!(
            "the prune would remove {extra} of the panel's {listed} names ({:.0}%), more than prune_max_share ({:.0}%): nothing was removed; pass force to remove them",
            share * 100.0,
            mode.max_share * 100.0
        )
    })
}

/// Compares, and with `mode` fixes, every integration that can list its domains.
pub async fn reconcile(
    host: &Host,
    integrations: &[std::sync::Arc<Integration>],
    wanted: &[Wanted],
    policy: WwwPolicy,
    network: Option<&str>,
    mode: Mode,
) -> ReconcileReport {
    let mut out = Vec::new();
    for integration in integrations {
        out.push(reconcile_one(host, integration, wanted, policy, network, mode).await);
    }
    ReconcileReport {
        in_sync: out.iter().all(|i| i.in_sync || !i.comparable),
        integrations: out,
    }
}

async fn list(host: &Host, integration: &Integration) -> Result<Vec<PanelName>, String> {
    let report = host.run(integration, &Operation::ListDomains).await;
    match (report.answer, report.error) {
        (Some(Answer::Domains(list)), None) => Ok(list),
        (_, Some(e)) => Err(e.message),
        _ => Err("list-domains answered nothing".into()),
    }
}

async fn reconcile_one(
    host: &Host,
    integration: &Integration,
    wanted: &[Wanted],
    policy: WwwPolicy,
    network: Option<&str>,
    mode: Mode,
) -> IntegrationDrift {
    let mut result = IntegrationDrift {
        id: integration.id.clone(),
        drift: Drift::default(),
        applied: vec![],
        pruned: vec![],
        remove_by_hand: vec![],
        skipped: None,
        prune_refused: None,
        in_sync: false,
        comparable: integration
            .metadata
            .operations
            .contains(Operations::LIST_DOMAINS),
    };
    if !result.comparable {
        result.skipped = Some(format!(
            "{} cannot list its domains (no list-domains)",
            integration.metadata.title
        ));
        return result;
    }
    let panel = match list(host, integration).await {
        Ok(panel) => panel,
        Err(e) => {
            result.skipped = Some(format!("listing the panel's domains failed: {e}"));
            return result;
        }
    };
    let drift = diff(wanted, policy, &panel, network);
    let can_remove = integration
        .metadata
        .capabilities
        .contains(Capabilities::REMOVAL);
    if mode.apply {
        for m in &drift.missing {
            let event = DomainEvent {
                domain: m.domain.clone(),
                site_id: m.site,
                www: wants_www(policy, &m.domain),
                attempt: 1,
            };
            let op = match m.kind {
                Kind::Mapped => Operation::AddDomain(event),
                Kind::Subdomain => Operation::AddSubdomain(event),
            };
            result.applied.push(host.run(integration, &op).await);
        }
    }
    let held = if mode.prune {
        prune_held(drift.extra.len(), panel.len(), mode)
    } else {
        None
    };
    if held.is_some() {
        result.prune_refused = held;
        if !can_remove {
            result.remove_by_hand = drift.extra.clone();
        }
    } else if mode.prune {
        for name in &drift.extra {
            if !can_remove {
                result.remove_by_hand.push(name.clone());
                continue;
            }
            let event = DomainEvent {
                domain: name.clone(),
                site_id: 0,
                www: false,
                attempt: 1,
            };
            result
                .pruned
                .push(host.run(integration, &Operation::RemoveDomain(event)).await);
        }
    } else if !can_remove {
        result.remove_by_hand = drift.extra.clone();
    }
    // What remains, from the panel's own list after the changes.
    let changed = !result.applied.is_empty() || !result.pruned.is_empty();
    result.drift = if changed {
        match list(host, integration).await {
            Ok(panel) => diff(wanted, policy, &panel, network),
            Err(e) => {
                result.skipped = Some(format!("listing the panel's domains again failed: {e}"));
                drift
            }
        }
    } else {
        drift
    };
    result.in_sync = result.skipped.is_none() && result.drift.in_sync();
    result
}

/// The report as text.
pub fn render(report: &ReconcileReport) -> String {
    let mut out = String::new();
    for i in &report.integrations {
        if let Some(why) = &i.skipped {
            out.push_str(&format!("{}: skipped: {why}\n", i.id));
            continue;
        }
        if let Some(why) = &i.prune_refused {
            out.push_str(&format!("{}: prune held back: {why}\n", i.id));
        }
        let d = &i.drift;
        out.push_str(&format!(
            "{}: {}\n",
            i.id,
            if i.in_sync { "in sync" } else { "drift" }
        ));
        for m in &d.missing {
            out.push_str(&format!(
                "  missing  {} (site {}): {}\n",
                m.domain,
                m.site,
                m.names.join(", ")
            ));
        }
        for e in &d.extra {
            out.push_str(&format!("  extra    {e}\n"));
        }
        for w in &d.www_mismatch {
            out.push_str(&format!("  www      {w}\n"));
        }
        for p in &d.protected {
            out.push_str(&format!("  kept     {p} (primary or network domain)\n"));
        }
        for r in i.applied.iter().chain(&i.pruned) {
            let what = match &r.error {
                None if r.changed => format!("changed: {}", r.notes.join("; ")),
                None => format!("ok: {}", r.notes.join("; ")),
                Some(e) => format!("FAILED: {}", e.message),
            };
            out.push_str(&format!("  ran      {what}\n"));
        }
        for h in &i.remove_by_hand {
            out.push_str(&format!(
                "  by hand  {h}: the panel's API cannot remove it; remove it in the panel\n"
            ));
        }
    }
    out.push_str(if report.in_sync {
        "in sync\n"
    } else {
        "drift remains\n"
    });
    out
}

/// Checks the wanted list is usable before anything runs.
pub fn check_wanted(wanted: &[Wanted]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for w in wanted {
        if !seen.insert(&w.domain) {
            bail!("the wanted list has {} twice", w.domain);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(domain: &str, kind: Kind) -> Wanted {
        Wanted {
            domain: domain.into(),
            site: 3,
            kind,
        }
    }

    fn name(n: &str, www: Option<bool>, primary: bool) -> PanelName {
        PanelName {
            name: n.into(),
            www,
            certificate: None,
            primary,
        }
    }

    #[test]
    fn names_listed_one_by_one_as_serverpilot_does() {
        let panel = vec![
            name("shop.example.com", None, false),
            name("www.shop.example.com", None, false),
            name("old.example.com", None, false),
            name("network.example", None, false),
        ];
        let want = vec![
            wanted("shop.example.com", Kind::Mapped),
            wanted("new.example.com", Kind::Mapped),
            wanted("s1.network.example", Kind::Subdomain),
        ];
        let d = diff(&want, WwwPolicy::Always, &panel, Some("network.example"));
        assert_eq!(
            d.missing
                .iter()
                .map(|m| m.names.clone())
                .collect::<Vec<_>>(),
            vec![
                vec![
                    "new.example.com".to_string(),
                    "www.new.example.com".to_string()
                ],
                vec!["s1.network.example".to_string()]
            ]
        );
        assert_eq!(d.extra, vec!["old.example.com"]);
        assert_eq!(d.protected, vec!["network.example"]);
        assert!(d.www_mismatch.is_empty());
    }

    #[test]
    fn www_flags_as_runcloud_lists_them() {
        let panel = vec![
            name("network.example", Some(false), true),
            name("a.example.com", Some(false), false),
            name("b.example.com", Some(true), false),
        ];
        let want = vec![
            wanted("a.example.com", Kind::Mapped),
            wanted("b.example.com", Kind::Mapped),
        ];
        let d = diff(&want, WwwPolicy::Always, &panel, None);
        assert_eq!(
            d.www_mismatch,
            vec!["a.example.com is served without its wanted www.a.example.com"]
        );
        assert_eq!(d.missing.len(), 1);
        assert_eq!(
            d.protected,
            vec!["network.example"],
            "the primary is never extra"
        );
        let d = diff(&want, WwwPolicy::Never, &panel, None);
        assert_eq!(
            d.www_mismatch,
            vec!["b.example.com also serves www.b.example.com, which is not wanted"]
        );
        assert!(d.missing.is_empty() && d.extra.is_empty());
    }

    #[test]
    fn in_sync_when_everything_matches() {
        let panel = vec![name("a.example.com", Some(true), false)];
        let d = diff(
            &[wanted("a.example.com", Kind::Mapped)],
            WwwPolicy::Always,
            &panel,
            None,
        );
        assert!(d.in_sync(), "{d:?}");
    }

    #[test]
    fn a_prune_of_nothing_or_of_too_much_needs_force() {
        let prune = Mode {
            prune: true,
            ..Mode::default()
        };
        assert!(check_prune(&[], prune).is_err());
        assert!(
            check_prune(
                &[],
                Mode {
                    force: true,
                    ..prune
                }
            )
            .is_ok()
        );
        assert!(check_prune(&[], Mode::default()).is_ok(), "a dry run");
        assert_eq!(prune_held(2, 10, prune), None, "a fifth is allowed");
        assert!(
            prune_held(3, 10, prune)
                .unwrap()
                .contains("3 of the panel's 10")
        );
        assert_eq!(
            prune_held(
                3,
                10,
                Mode {
                    force: true,
                    ..prune
                }
            ),
            None
        );
        assert!(prune_held(1, 1, prune).is_some());
    }

    #[test]
    fn the_wanted_file_is_validated() {
        let list =
            parse_wanted(r#"[{"domain": "Shop.Example.COM.", "site": 3, "kind": "mapped"}]"#)
                .unwrap();
        assert_eq!(list[0].domain, "shop.example.com");
        let err = format!(
            "{:#}",
            parse_wanted(r#"[{"domain": "bad domain", "site": 3, "kind": "mapped"}]"#).unwrap_err()
        );
        assert!(err.contains("wanted entry 0"), "{err}");
        assert!(parse_wanted(r#"[{"domain": "a.com", "site": 3, "kind": "alias"}]"#).is_err());
        assert!(parse_wanted("{}").is_err());
        let twice = parse_wanted(r#"[{"domain": "a.com", "site": 1, "kind": "mapped"}, {"domain": "A.com", "site": 2, "kind": "mapped"}]"#).unwrap();
        assert!(check_wanted(&twice).is_err());
    }
}
