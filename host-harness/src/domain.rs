//! Domain names: validated and normalised before any component runs, and the `www.` policy.
//!
//! A refused name never reaches a panel, so everything a provider receives is lower-case
//! ASCII (IDN in punycode) without a trailing dot, made of valid DNS labels.

use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;

const MAX_NAME_OCTETS: usize = 253;
const MAX_LABEL_OCTETS: usize = 63;

/// Multi-part public suffixes the PHP plugin treats as one TLD for `main_only`
/// (`Domain_Manager::is_main_domain`, filter `wu_multi_part_tlds`).
const MULTI_PART_TLDS: &[&str] = &["co.uk", "com.au", "co.nz", "com.br", "co.in"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub input: String,
    pub reason: String,
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid domain {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for DomainError {}

/// Validates and normalises a host name. `allow_wildcard` permits one leading `*.` label,
/// for providers that declare wildcard support.
pub fn normalize(input: &str, allow_wildcard: bool) -> Result<String, DomainError> {
    let fail = |reason: &str| DomainError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    if input.is_empty() {
        return Err(fail("the name is empty"));
    }
    if input.chars().any(char::is_whitespace) {
        return Err(fail("it contains whitespace"));
    }
    let bare = input.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Err(fail("IP addresses cannot be mapped; give a domain name"));
    }
    if input.contains("://") || input.contains(['/', '?', '#', '@']) {
        return Err(fail("give the bare domain name, not a URL or path"));
    }
    if let Some(bad) = input
        .chars()
        .find(|&c| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '*')))
    {
        return Err(fail(&format!(
            "character {bad:?} is not allowed in a domain"
        )));
    }

    let name = input.strip_suffix('.').unwrap_or(input);
    let (wildcard, rest) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if rest.contains('*') {
        return Err(fail(
            "only a single leading \"*.\" wildcard label is allowed",
        ));
    }
    if wildcard && !allow_wildcard {
        return Err(fail(
            "wildcard domains are not supported by the enabled integrations",
        ));
    }
    if rest.starts_with('.') || rest.ends_with('.') || rest.contains("..") {
        return Err(fail("it has an empty label"));
    }

    let ascii = idna::domain_to_ascii(rest)
        .map_err(|_| fail("it is not a valid internationalised domain name"))?
        .to_ascii_lowercase();

    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(fail("a domain needs at least two labels (example.com)"));
    }
    for label in &labels {
        check_label(label).map_err(|reason| fail(&reason))?;
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(fail(
            "the top-level label is numeric; IP addresses cannot be mapped",
        ));
    }
    let full_len = ascii.len() + if wildcard { 2 } else { 0 };
    if full_len > MAX_NAME_OCTETS {
        return Err(fail(&format!(
            "it is {full_len} octets long; the limit is {MAX_NAME_OCTETS}"
        )));
    }
    Ok(if wildcard {
        format!("*.{ascii}")
    } else {
        ascii
    })
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("it has an empty label".into());
    }
    if label.len() > MAX_LABEL_OCTETS {
        return Err(format!(
            "label {label:?} is {} octets long; the limit is {MAX_LABEL_OCTETS}",
            label.len()
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label {label:?} starts or ends with a hyphen"));
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!("label {label:?} has characters not allowed in DNS"));
    }
    Ok(())
}

/// The network's `www.` policy, as the PHP plugin's `auto_create_www_subdomain` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WwwPolicy {
    #[default]
    Always,
    MainOnly,
    Never,
}

/// Whether a mapped domain gets its `www.` variant too.
pub fn wants_www(policy: WwwPolicy, domain: &str) -> bool {
    if domain.starts_with("www.") || domain.starts_with("*.") {
        return false;
    }
    match policy {
        WwwPolicy::Always => true,
        WwwPolicy::Never => false,
        WwwPolicy::MainOnly => is_main_domain(domain),
    }
}

/// Whether a remove-domain event takes `www.<domain>` with it: when the policy gives the
/// domain a `www.` variant and `www.<domain>` is not mapped as a domain of its own (review
/// #9: removing `example.com` must not take a separately mapped `www.example.com`).
pub fn www_on_remove(policy: WwwPolicy, domain: &str, www_mapped_separately: bool) -> bool {
    wants_www(policy, domain) && !www_mapped_separately
}

/// A registrable domain: two labels, or three under a known multi-part TLD.
pub fn is_main_domain(domain: &str) -> bool {
    let labels = domain.split('.').count();
    labels == 2
        || (labels == 3
            && MULTI_PART_TLDS
                .iter()
                .any(|tld| domain.ends_with(&format!(".{tld}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        normalize(input, false).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn refused(input: &str) -> String {
        match normalize(input, false) {
            Ok(v) => panic!("{input:?} was accepted as {v:?}"),
            Err(e) => e.reason,
        }
    }

    #[test]
    fn lower_cases_and_strips_trailing_dot() {
        assert_eq!(ok("Example.COM."), "example.com");
        assert_eq!(ok("shop.example.co.uk"), "shop.example.co.uk");
    }

    #[test]
    fn converts_idn_to_punycode() {
        assert_eq!(ok("Bücher.Example."), "xn--bcher-kva.example");
        assert_eq!(ok("münchen.de"), "xn--mnchen-3ya.de");
    }

    #[test]
    fn refuses_empty_and_whitespace() {
        assert!(refused("").contains("empty"));
        assert!(refused("exa mple.com").contains("whitespace"));
        assert!(refused(" example.com").contains("whitespace"));
    }

    #[test]
    fn refuses_urls_and_paths() {
        for input in [
            "https://example.com",
            "example.com/path",
            "example.com?x",
            "user@example.com",
        ] {
            assert!(refused(input).contains("URL"), "{input}");
        }
    }

    #[test]
    fn refuses_ip_addresses() {
        for input in ["192.168.1.10", "::1", "[2001:db8::1]", "10.0.0.1."] {
            assert!(refused(input).contains("IP"), "{input}");
        }
    }

    #[test]
    fn refuses_shell_metacharacters() {
        for input in [
            "a;b.com", "$(x).com", "a`b`.com", "a|b.com", "a&b.com", "a'b.com", "a_b.com",
        ] {
            assert!(refused(input).contains("not allowed"), "{input}");
        }
    }

    #[test]
    fn refuses_bad_labels() {
        assert!(refused("-a.com").contains("hyphen"));
        assert!(refused("a-.com").contains("hyphen"));
        assert!(refused("a..com").contains("empty label"));
        assert!(refused(".a.com").contains("empty label"));
        assert!(refused("localhost").contains("two labels"));
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(refused(&long_label).contains("63"));
        assert_eq!(ok(&format!("{}.com", "a".repeat(63))).len(), 67);
    }

    #[test]
    fn refuses_names_over_253_octets() {
        let label = "a".repeat(60);
        let name = format!("{label}.{label}.{label}.{label}.com"); // 4*61 + 3 = 247
        assert_eq!(ok(&name).len(), 247);
        let too_long = format!("abcdefg.{name}"); // 255
        assert!(refused(&too_long).contains("253"));
    }

    #[test]
    fn wildcards_only_leading_and_only_when_supported() {
        assert!(refused("*.example.com").contains("not supported"));
        assert_eq!(normalize("*.Example.com", true).unwrap(), "*.example.com");
        for input in ["a.*.example.com", "*example.com", "*.*.example.com"] {
            assert!(normalize(input, true).is_err(), "{input}");
        }
    }

    #[test]
    fn www_policy_matches_the_plugin() {
        assert!(wants_www(WwwPolicy::Always, "shop.example.com"));
        assert!(!wants_www(WwwPolicy::Never, "example.com"));
        assert!(wants_www(WwwPolicy::MainOnly, "example.com"));
        assert!(wants_www(WwwPolicy::MainOnly, "example.co.uk"));
        assert!(!wants_www(WwwPolicy::MainOnly, "shop.example.com"));
        assert!(!wants_www(WwwPolicy::Always, "www.example.com"));
    }

    #[test]
    fn www_goes_on_remove_only_when_wanted_and_not_mapped_on_its_own() {
        assert!(www_on_remove(WwwPolicy::Always, "example.com", false));
        assert!(!www_on_remove(WwwPolicy::Always, "example.com", true));
        assert!(!www_on_remove(WwwPolicy::Never, "example.com", false));
        assert!(!www_on_remove(WwwPolicy::Never, "example.com", true));
        assert!(www_on_remove(WwwPolicy::MainOnly, "example.com", false));
        assert!(!www_on_remove(
            WwwPolicy::MainOnly,
            "shop.example.com",
            false
        ));
        assert!(!www_on_remove(WwwPolicy::Always, "www.example.com", false));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// A name made of plausible labels, in any case, maybe with a trailing dot.
        fn name() -> impl Strategy<Value = String> {
            (
                prop::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?", 1..5),
                any::<bool>(),
            )
                .prop_map(|(labels, dot)| {
                    let mut n = labels.join(".");
                    if dot {
                        n.push('.');
                    }
                    n
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            /// A normalised name is its own normal form, lower-case ASCII, within the DNS
            /// limits, with two labels or more, and never an address.
            #[test]
            fn a_normal_form_is_stable_and_well_formed(
                input in prop_oneof![name(), "\\PC{0,40}", "[0-9.:\\[\\]a-f]{1,20}"],
                wildcard in any::<bool>(),
            ) {
                if let Ok(n) = normalize(&input, wildcard) {
                    let again = normalize(&n, wildcard).ok();
                    prop_assert_eq!(again.as_deref(), Some(n.as_str()));
                    prop_assert!(n.is_ascii() && n == n.to_ascii_lowercase(), "{}", n);
                    prop_assert!(n.len() <= MAX_NAME_OCTETS, "{}", n);
                    let bare = n.strip_prefix("*.").unwrap_or(&n);
                    prop_assert!(!bare.contains('*'), "{}", n);
                    let labels: Vec<&str> = bare.split('.').collect();
                    prop_assert!(labels.len() >= 2, "{}", n);
                    prop_assert!(labels.iter().all(|l| !l.is_empty() && l.len() <= 63), "{}", n);
                    prop_assert!(bare.parse::<IpAddr>().is_err(), "{}", n);
                    prop_assert!(!input.chars().any(char::is_whitespace));
                }
            }

            /// Case and a trailing dot never change the answer.
            #[test]
            fn case_and_the_root_dot_do_not_matter(input in name()) {
                let bare = input.trim_end_matches('.');
                let a = normalize(bare, false).ok();
                prop_assert_eq!(normalize(&bare.to_ascii_uppercase(), false).ok(), a.clone());
                prop_assert_eq!(normalize(&format!("{bare}."), false).ok(), a);
            }

            /// A URL, a path, user info or a space is refused whatever surrounds it.
            #[test]
            fn urls_and_paths_are_refused(
                input in name(),
                junk in prop_oneof![Just("https://"), Just("/"), Just("?"), Just("#"), Just("@"), Just(" ")],
                at_start in any::<bool>(),
            ) {
                let bad = if at_start { format!("{junk}{input}") } else { format!("{input}{junk}x") };
                prop_assert!(normalize(&bad, true).is_err(), "{}", bad);
            }
        }
    }
}
