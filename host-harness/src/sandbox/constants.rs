//! An integration's constants: which values it gets and which of them are secret.
//!
//! The operator decides, not the component:
//! - which values an integration gets: only those of its own `constants` table and of the
//!   environment variables its `env` list names; a name the component declares but the
//!   operator did not give it reads as unset;
//! - which values are secret: every value from the environment, every value an auth scheme
//!   uses, and every value the component or the operator (`secrets`) marks secret.
//!
//! Secret values never enter a component: `config.get` reads them as none.

use crate::contract::{AuthScheme, ConstantSpec, ProviderMetadata};
use std::collections::{BTreeMap, BTreeSet};

/// A name a constant may have (`WU_*` and the like): what the config, the allow-list's
/// templates and placeholders accept.
pub fn is_constant_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

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

/// What the operator configured for one integration.
#[derive(Debug, Clone, Copy)]
pub struct OperatorInput<'a> {
    /// The integration's `constants` table.
    pub configured: &'a BTreeMap<String, String>,
    /// The environment variables it may read (`env`).
    pub env: &'a [String],
    /// Constants the operator marks secret (`secrets`).
    pub secrets: &'a [String],
}

/// The constant names an auth scheme reads.
pub fn auth_constants(scheme: &AuthScheme) -> Vec<&str> {
    match scheme {
        AuthScheme::Basic(b) => vec![b.username_constant.as_str(), b.password_constant.as_str()],
        AuthScheme::Bearer(token) => vec![token.as_str()],
        AuthScheme::Header(h) => vec![h.value_constant.as_str()],
        AuthScheme::Session(login) => login
            .fields
            .iter()
            .filter_map(|f| match &f.value {
                crate::contract::LoginValue::Constant(name) => Some(name.as_str()),
                crate::contract::LoginValue::Literal(_) => None,
            })
            .collect(),
    }
}

impl Constants {
    /// The values the operator gave this integration, for the constants its component
    /// declares. A name the operator configures that the component does not declare is
    /// an error, so a typo cannot silently leave a setting unused.
    pub fn resolve(
        specs: &[ConstantSpec],
        auth: &[AuthScheme],
        input: OperatorInput<'_>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, BTreeMap<String, Source>), String> {
        let declared = |name: &str| specs.iter().any(|s| s.name == name);
        let known = || {
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (key, names) in [
            (
                "constants",
                input.configured.keys().cloned().collect::<Vec<_>>(),
            ),
            ("env", input.env.to_vec()),
            ("secrets", input.secrets.to_vec()),
        ] {
            if let Some(unknown) = names.iter().find(|n| !declared(n)) {
                return Err(format!(
                    "{key}: unknown constant {unknown} (this integration reads: {})",
                    known()
                ));
            }
        }
        let used_by_auth: BTreeSet<&str> = auth.iter().flat_map(auth_constants).collect();
        let mut constants = Constants::default();
        let mut sources = BTreeMap::new();
        for spec in specs {
            let name = spec.name.as_str();
            let (value, source) = match input.configured.get(name) {
                Some(v) => (Some(v.clone()), Source::Config),
                None if input.env.iter().any(|e| e == name) => (env(name), Source::Environment),
                None => (None, Source::Missing),
            };
            let value = value.filter(|v| !v.trim().is_empty());
            let source = if value.is_some() {
                source
            } else {
                Source::Missing
            };
            let secret = spec.secret
                || used_by_auth.contains(name)
                || input.secrets.iter().any(|s| s == name)
                || source == Source::Environment;
            if let Some(value) = value {
                constants.values.insert(spec.name.clone(), value);
            }
            if secret {
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

    pub fn is_secret(&self, name: &str) -> bool {
        self.secret.contains(name)
    }

    /// The constants the host holds and never shows the component.
    pub fn secret_names(&self) -> Vec<String> {
        self.secret.iter().cloned().collect()
    }

    pub(crate) fn value(&self, name: &str) -> Option<&str> {
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

    /// Every secret value.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.secret
            .iter()
            .filter_map(|name| self.values.get(name).map(String::as_str))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::contract::{AnyOfGroup, Capabilities};

    pub(crate) fn spec(name: &str, secret: bool, required: bool) -> ConstantSpec {
        ConstantSpec {
            name: name.into(),
            label: name.into(),
            description: String::new(),
            secret,
            required,
        }
    }

    pub(crate) fn specs() -> Vec<ConstantSpec> {
        vec![
            spec("CID", false, true),
            spec("KEY", true, true),
            spec("APP", false, true),
        ]
    }

    pub(crate) fn configured(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub(crate) fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Resolves with the given table, `env` list and environment.
    pub(crate) fn resolve(
        specs: &[ConstantSpec],
        auth: &[AuthScheme],
        table: &[(&str, &str)],
        env_names: &[&str],
        secrets: &[&str],
        environment: &[(&str, &str)],
    ) -> Result<(Constants, BTreeMap<String, Source>), String> {
        let table = configured(table);
        let env_names = names(env_names);
        let secrets = names(secrets);
        let environment = configured(environment);
        Constants::resolve(
            specs,
            auth,
            OperatorInput {
                configured: &table,
                env: &env_names,
                secrets: &secrets,
            },
            |n| environment.get(n).cloned(),
        )
    }

    #[test]
    fn config_wins_then_the_environment_variables_the_operator_names() {
        let env = [("CID", "env-cid"), ("KEY", "env-key"), ("APP", "env-app")];
        let (c, sources) = resolve(
            &specs(),
            &[],
            &[("CID", "cid_x")],
            &["CID", "KEY"],
            &[],
            &env,
        )
        .unwrap();
        assert_eq!(c.visible("CID"), Some("cid_x"));
        assert_eq!(sources["CID"], Source::Config);
        assert_eq!(sources["KEY"], Source::Environment);
        assert_eq!(
            sources["APP"],
            Source::Missing,
            "APP is not in the env list"
        );
        assert!(!c.is_set("APP"));
    }

    #[test]
    fn a_declared_name_the_operator_did_not_give_reads_as_unset() {
        // The component declares another panel's constant; the environment has it.
        let specs = vec![spec("WU_SERVER_PILOT_API_KEY", false, false)];
        let env = [("WU_SERVER_PILOT_API_KEY", "sp-key")];
        let (c, sources) = resolve(&specs, &[], &[], &[], &[], &env).unwrap();
        assert!(!c.is_set("WU_SERVER_PILOT_API_KEY"));
        assert_eq!(c.visible("WU_SERVER_PILOT_API_KEY"), None);
        assert_eq!(sources["WU_SERVER_PILOT_API_KEY"], Source::Missing);
    }

    #[test]
    fn the_host_decides_what_is_secret() {
        let specs = vec![
            spec("FROM_ENV", false, false),
            spec("IN_AUTH", false, false),
            spec("MARKED", true, false),
            spec("OPERATOR", false, false),
            spec("PLAIN", false, false),
        ];
        let auth = vec![AuthScheme::Bearer("IN_AUTH".into())];
        let table = [
            ("IN_AUTH", "auth-value"),
            ("MARKED", "marked-value"),
            ("OPERATOR", "op-value"),
            ("PLAIN", "plain-value"),
        ];
        let env = [("FROM_ENV", "env-value")];
        let (c, _) = resolve(&specs, &auth, &table, &["FROM_ENV"], &["OPERATOR"], &env).unwrap();
        for secret in ["FROM_ENV", "IN_AUTH", "MARKED", "OPERATOR"] {
            assert!(c.is_set(secret), "{secret}");
            assert_eq!(c.visible(secret), None, "{secret} is secret");
        }
        assert_eq!(c.visible("PLAIN"), Some("plain-value"));
        assert!(!c.account_key().contains("value\n") && !c.account_key().contains("env-value"));
    }

    #[test]
    fn unknown_names_in_constants_env_or_secrets_are_refused() {
        for (table, env, secrets, key) in [
            (&[("WU_TYPO", "x")][..], &[][..], &[][..], "constants"),
            (&[][..], &["WU_TYPO"][..], &[][..], "env"),
            (&[][..], &[][..], &["WU_TYPO"][..], "secrets"),
        ] {
            let err = resolve(&specs(), &[], table, env, secrets, &[]).unwrap_err();
            assert!(
                err.starts_with(key) && err.contains("WU_TYPO") && err.contains("CID"),
                "{err}"
            );
        }
    }

    #[test]
    fn blank_values_count_as_missing() {
        let (c, sources) = resolve(&specs(), &[], &[("CID", "  ")], &[], &[], &[]).unwrap();
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
            operations: crate::contract::Operations::empty(),
            account_constants: vec![],
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
        let (c, _) = resolve(&specs, &[], &[("KEY", "k")], &[], &[], &[]).unwrap();
        assert_eq!(
            c.missing(&meta),
            vec![
                "APP".to_string(),
                "one of: TOKEN or KEY + SECRET".to_string()
            ]
        );
        let (c, _) = resolve(&specs, &[], &[("TOKEN", "t"), ("APP", "1")], &[], &[], &[]).unwrap();
        assert!(c.missing(&meta).is_empty());
    }
}
