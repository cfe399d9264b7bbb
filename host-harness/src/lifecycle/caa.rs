//! CAA (RFC 8659): whether the CA the panels use may issue for a name. Pure: the caller
//! climbs the tree (the name, then each parent) and hands over the first non-empty set.

/// One CAA record as read from DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caa {
    pub critical: bool,
    pub tag: String,
    /// The issuer domain of an `issue`/`issuewild` value (parameters dropped), or the raw
    /// value for other tags.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The set forbids `ca`: what it allows instead.
    Forbidden {
        allowed: Vec<String>,
    },
    /// An unknown critical property: no CA may issue (RFC 8659 §4.1).
    UnknownCritical(String),
}

/// The verdict of the relevant CAA set for `ca` (for a wildcard name, `issuewild` first).
pub fn evaluate(set: &[Caa], ca: &str, wildcard: bool) -> Verdict {
    if let Some(c) = set.iter().find(|c| {
        c.critical
            && ![
                "issue",
                "issuewild",
                "iodef",
                "contactemail",
                "contactphone",
            ]
            .contains(&c.tag.as_str())
    }) {
        return Verdict::UnknownCritical(c.tag.clone());
    }
    let of = |tag: &str| -> Vec<&Caa> {
        set.iter()
            .filter(|c| c.tag.eq_ignore_ascii_case(tag))
            .collect()
    };
    let relevant = if wildcard && !of("issuewild").is_empty() {
        of("issuewild")
    } else {
        of("issue")
    };
    if relevant.is_empty() {
        return Verdict::Allowed;
    }
    let wanted = ca.trim_end_matches('.').to_ascii_lowercase();
    if relevant
        .iter()
        .any(|c| c.value.trim_end_matches('.').eq_ignore_ascii_case(&wanted))
    {
        Verdict::Allowed
    } else {
        Verdict::Forbidden {
            allowed: relevant
                .iter()
                .map(|c| {
                    if c.value.is_empty() {
                        ";".to_string()
                    } else {
                        c.value.clone()
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caa(tag: &str, value: &str) -> Caa {
        Caa {
            critical: false,
            tag: tag.into(),
            value: value.into(),
        }
    }

    #[test]
    fn an_issue_set_without_the_ca_forbids_it() {
        let set = vec![caa("issue", "digicert.com"), caa("iodef", "mailto:x@y")];
        assert_eq!(
            evaluate(&set, "letsencrypt.org", false),
            Verdict::Forbidden {
                allowed: vec!["digicert.com".into()]
            }
        );
        let set = vec![
            caa("issue", "digicert.com"),
            caa("issue", "LetsEncrypt.org"),
        ];
        assert_eq!(evaluate(&set, "letsencrypt.org", false), Verdict::Allowed);
    }

    #[test]
    fn no_issue_property_allows_and_empty_issuer_forbids() {
        assert_eq!(
            evaluate(&[caa("iodef", "mailto:x@y")], "letsencrypt.org", false),
            Verdict::Allowed
        );
        assert!(matches!(
            evaluate(&[caa("issue", "")], "letsencrypt.org", false),
            Verdict::Forbidden { .. }
        ));
    }

    #[test]
    fn wildcards_use_issuewild_when_present() {
        let set = vec![
            caa("issue", "letsencrypt.org"),
            caa("issuewild", "digicert.com"),
        ];
        assert_eq!(evaluate(&set, "letsencrypt.org", false), Verdict::Allowed);
        assert!(matches!(
            evaluate(&set, "letsencrypt.org", true),
            Verdict::Forbidden { .. }
        ));
    }

    #[test]
    fn an_unknown_critical_tag_forbids_everyone() {
        let set = vec![Caa {
            critical: true,
            tag: "futuretag".into(),
            value: String::new(),
        }];
        assert_eq!(
            evaluate(&set, "letsencrypt.org", false),
            Verdict::UnknownCritical("futuretag".into())
        );
    }
}
