//! An integration's constants, the credential header built from them, and redaction.
//!
//! Secret constants never enter a component: `config.get` reads them as none, and the
//! outbound hook attaches the header built here to requests for allowed hosts only. Every
//! text that leaves the host (logs, notes, errors) passes through [`Redactor`] as well, in
//! case a panel echoes a credential back.

use crate::contract::{AuthScheme, ConstantSpec, ProviderMetadata};
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};

/// The resolved constants of one integration.
#[derive(Debug, Clone, Default)]
pub struct Constants {
    values: BTreeMap<String, String>,
    secret: BTreeSet<String>,
}

/// Where a value came from, for `list` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Config,
    Environment,
    Missing,
}

impl Constants {
    /// Values from the config file, then the environment variable of the same name, for
    /// every constant the provider declares. Constants the provider does not declare are
    /// an error, so a typo cannot silently leave a setting unused.
    pub fn resolve(
        specs: &[ConstantSpec],
        configured: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, BTreeMap<String, Source>), String> {
        if let Some(unknown) = configured
            .keys()
            .find(|k| !specs.iter().any(|s| &s.name == *k))
        {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "unknown constant {unknown} (this integration reads: {})",
                known.join(", ")
            ));
        }
        let mut constants = Constants::default();
        let mut sources = BTreeMap::new();
        for spec in specs {
            let (value, source) = match configured.get(&spec.name) {
                Some(v) => (Some(v.clone()), Source::Config),
                None => match env(&spec.name) {
                    Some(v) => (Some(v), Source::Environment),
                    None => (None, Source::Missing),
                },
            };
            let value = value.filter(|v| !v.trim().is_empty());
            let source = if value.is_some() {
                source
            } else {
                Source::Missing
            };
            if let Some(value) = value {
                constants.values.insert(spec.name.clone(), value);
            }
            if spec.secret {
                constants.secret.insert(spec.name.clone());
            }
            sources.insert(spec.name.clone(), source);
        }
        Ok((constants, sources))
    }

    /// A non-secret value, as `config.get` serves it to the component.
    pub fn visible(&self, name: &str) -> Option<&str> {
        if self.secret.contains(name) {
            return None;
        }
        self.values.get(name).map(String::as_str)
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// What is missing for the provider to work, named for the user.
    pub fn missing(&self, metadata: &ProviderMetadata) -> Vec<String> {
        let mut missing: Vec<String> = metadata
            .constants
            .iter()
            .filter(|c| c.required && !self.is_set(&c.name))
            .map(|c| c.name.clone())
            .collect();
        for group in &metadata.any_of {
            let satisfied = group
                .options
                .iter()
                .any(|option| option.iter().all(|name| self.is_set(name)));
            if !satisfied {
                let options: Vec<String> = group.options.iter().map(|o| o.join(" + ")).collect();
                missing.push(format!("one of: {}", options.join(" or ")));
            }
        }
        missing
    }

    /// A key for "the same account": the non-secret values, so two events for the same
    /// app serialise while different apps do not.
    pub fn account_key(&self) -> String {
        self.values
            .iter()
            .filter(|(k, _)| !self.secret.contains(*k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every secret value, for redaction.
    fn secret_values(&self) -> Vec<String> {
        self.secret
            .iter()
            .filter_map(|name| self.values.get(name).cloned())
            .collect()
    }
}

/// A header the host attaches to a component's requests.
#[derive(Clone)]
pub struct Credential {
    pub name: http::HeaderName,
    pub value: http::HeaderValue,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}: [redacted])", self.name)
    }
}

/// The header for the first scheme whose constants are all set.
pub fn credential_for(
    schemes: &[AuthScheme],
    constants: &Constants,
) -> Result<Option<Credential>, String> {
    for scheme in schemes {
        let built = match scheme {
            AuthScheme::Basic(basic) => {
                match (
                    constants.value(&basic.username_constant),
                    constants.value(&basic.password_constant),
                ) {
                    (Some(user), Some(password)) => {
                        let token = base64::engine::general_purpose::STANDARD
                            .encode(format!("{user}:{password}"));
                        Some((http::header::AUTHORIZATION, format!("Basic {token}")))
                    }
                    _ => None,
                }
            }
            AuthScheme::Bearer(token_constant) => constants
                .value(token_constant)
                .map(|token| (http::header::AUTHORIZATION, format!("Bearer {token}"))),
            AuthScheme::Header(header) => match constants.value(&header.value_constant) {
                Some(value) => {
                    let name = http::HeaderName::from_bytes(header.header_name.as_bytes())
                        .map_err(|_| {
                            format!("invalid auth header name {:?}", header.header_name)
                        })?;
                    Some((name, value.to_string()))
                }
                None => None,
            },
        };
        if let Some((name, value)) = built {
            let mut value = http::HeaderValue::from_str(&value).map_err(|_| {
                "a credential contains characters not allowed in a header".to_string()
            })?;
            value.set_sensitive(true);
            return Ok(Some(Credential { name, value }));
        }
    }
    Ok(None)
}

/// Replaces secret values (and their Basic-auth encoding) in text leaving the host.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

pub const REDACTED: &str = "[redacted]";

impl Redactor {
    pub fn new(constants: &Constants, credential: Option<&Credential>) -> Self {
        let mut needles = constants.secret_values();
        if let Some(credential) = credential
            && let Ok(value) = credential.value.to_str()
        {
            needles.push(value.to_string());
            if let Some((_, token)) = value.split_once(' ') {
                needles.push(token.to_string());
            }
        }
        // Very short values would redact ordinary words; secrets are never that short.
        needles.retain(|n| n.len() >= 4);
        // Longest first, so a value containing another is replaced whole.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Redactor { needles }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{AnyOfGroup, BasicAuth, Capabilities};

    fn spec(name: &str, secret: bool, required: bool) -> ConstantSpec {
        ConstantSpec {
            name: name.into(),
            label: name.into(),
            description: String::new(),
            secret,
            required,
        }
    }

    fn specs() -> Vec<ConstantSpec> {
        vec![
            spec("CID", false, true),
            spec("KEY", true, true),
            spec("APP", false, true),
        ]
    }

    fn configured(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn config_wins_then_environment() {
        let (c, sources) = Constants::resolve(&specs(), &configured(&[("CID", "cid_x")]), |name| {
            (name == "CID" || name == "KEY").then(|| format!("env-{name}"))
        })
        .unwrap();
        assert_eq!(c.visible("CID"), Some("cid_x"));
        assert_eq!(sources["CID"], Source::Config);
        assert_eq!(sources["KEY"], Source::Environment);
        assert_eq!(sources["APP"], Source::Missing);
    }

    #[test]
    fn secrets_are_never_visible() {
        let (c, _) =
            Constants::resolve(&specs(), &configured(&[("KEY", "s3cret-key")]), |_| None).unwrap();
        assert!(c.is_set("KEY"));
        assert_eq!(c.visible("KEY"), None);
        assert!(!c.account_key().contains("s3cret"));
    }

    #[test]
    fn unknown_constants_are_refused() {
        let err =
            Constants::resolve(&specs(), &configured(&[("WU_TYPO", "x")]), |_| None).unwrap_err();
        assert!(err.contains("WU_TYPO") && err.contains("CID"));
    }

    #[test]
    fn blank_values_count_as_missing() {
        let (c, sources) =
            Constants::resolve(&specs(), &configured(&[("CID", "  ")]), |_| None).unwrap();
        assert!(!c.is_set("CID"));
        assert_eq!(sources["CID"], Source::Missing);
    }

    fn metadata(any_of: Vec<AnyOfGroup>, constants: Vec<ConstantSpec>) -> ProviderMetadata {
        ProviderMetadata {
            id: "x".into(),
            title: "X".into(),
            description: String::new(),
            tutorial_link: String::new(),
            constants,
            any_of,
            capabilities: Capabilities::empty(),
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec![],
            auth: vec![],
        }
    }

    #[test]
    fn missing_names_required_constants_and_unmet_groups() {
        let specs = vec![
            spec("TOKEN", true, false),
            spec("KEY", false, false),
            spec("SECRET", true, false),
            spec("APP", false, true),
        ];
        let group = AnyOfGroup {
            label: "credentials".into(),
            options: vec![vec!["TOKEN".into()], vec!["KEY".into(), "SECRET".into()]],
        };
        let meta = metadata(vec![group], specs.clone());
        let (c, _) = Constants::resolve(&specs, &configured(&[("KEY", "k")]), |_| None).unwrap();
        assert_eq!(
            c.missing(&meta),
            vec![
                "APP".to_string(),
                "one of: TOKEN or KEY + SECRET".to_string()
            ]
        );
        let (c, _) =
            Constants::resolve(&specs, &configured(&[("TOKEN", "t"), ("APP", "1")]), |_| {
                None
            })
            .unwrap();
        assert!(c.missing(&meta).is_empty());
    }

    #[test]
    fn basic_credential_and_its_redaction() {
        let (c, _) = Constants::resolve(
            &specs(),
            &configured(&[("CID", "cid_x"), ("KEY", "k3y-value")]),
            |_| None,
        )
        .unwrap();
        let schemes = vec![AuthScheme::Basic(BasicAuth {
            username_constant: "CID".into(),
            password_constant: "KEY".into(),
        })];
        let cred = credential_for(&schemes, &c).unwrap().unwrap();
        assert_eq!(cred.value.to_str().unwrap(), "Basic Y2lkX3g6azN5LXZhbHVl");
        assert!(cred.value.is_sensitive());
        assert!(!format!("{cred:?}").contains("Y2lk"));
        let r = Redactor::new(&c, Some(&cred));
        assert_eq!(
            r.redact("key k3y-value, header Y2lkX3g6azN5LXZhbHVl"),
            "key [redacted], header [redacted]"
        );
    }

    #[test]
    fn api_key_header_scheme() {
        let specs = vec![spec("KEY", true, true)];
        let schemes = vec![AuthScheme::Header(crate::contract::HeaderAuth {
            header_name: "X-API-Key".into(),
            value_constant: "KEY".into(),
        })];
        let (c, _) =
            Constants::resolve(&specs, &configured(&[("KEY", "hdr-secret-1")]), |_| None).unwrap();
        let cred = credential_for(&schemes, &c).unwrap().unwrap();
        assert_eq!(cred.name.as_str(), "x-api-key");
        assert_eq!(cred.value.to_str().unwrap(), "hdr-secret-1");
        assert!(cred.value.is_sensitive());
        assert_eq!(
            Redactor::new(&c, Some(&cred)).redact("key=hdr-secret-1"),
            "key=[redacted]"
        );
        let bad = vec![AuthScheme::Header(crate::contract::HeaderAuth {
            header_name: "bad header".into(),
            value_constant: "KEY".into(),
        })];
        assert!(
            credential_for(&bad, &c)
                .unwrap_err()
                .contains("invalid auth header name")
        );
    }

    #[test]
    fn first_complete_scheme_wins() {
        let specs = vec![
            spec("TOKEN", true, false),
            spec("KEY", false, false),
            spec("SECRET", true, false),
        ];
        let schemes = vec![
            AuthScheme::Bearer("TOKEN".into()),
            AuthScheme::Basic(BasicAuth {
                username_constant: "KEY".into(),
                password_constant: "SECRET".into(),
            }),
        ];
        let (c, _) = Constants::resolve(
            &specs,
            &configured(&[("KEY", "k"), ("SECRET", "s")]),
            |_| None,
        )
        .unwrap();
        let cred = credential_for(&schemes, &c).unwrap().unwrap();
        assert!(cred.value.to_str().unwrap().starts_with("Basic "));
        let (c, _) =
            Constants::resolve(&specs, &configured(&[("TOKEN", "tok")]), |_| None).unwrap();
        assert_eq!(
            credential_for(&schemes, &c)
                .unwrap()
                .unwrap()
                .value
                .to_str()
                .unwrap(),
            "Bearer tok"
        );
        let (c, _) = Constants::resolve(&specs, &configured(&[]), |_| None).unwrap();
        assert!(credential_for(&schemes, &c).unwrap().is_none());
    }
}
