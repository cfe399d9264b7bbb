//! Lines a customer can act on: what a name resolves to now, what it should, and the exact
//! record to create (type, name relative to the zone, value; A/AAAA at the apex, never a
//! CNAME there). Pure.

use super::caa::Verdict;
use super::dns::{Observed, Routing};
use std::net::IpAddr;

/// The name relative to its zone (`@` at the apex), as DNS panels ask for it.
pub fn relative(name: &str, zone: Option<&str>) -> String {
    match zone {
        Some(z) if name == z => "@".into(),
        Some(z) => name
            .strip_suffix(&format!(".{z}"))
            .unwrap_or(name)
            .to_string(),
        None => name.to_string(),
    }
}

/// The records that make `name` right.
pub fn records_to_create(
    name: &str,
    zone: Option<&str>,
    targets: &[IpAddr],
    cname_target: Option<&str>,
) -> Vec<String> {
    let rel = relative(name, zone);
    let apex = rel == "@" || zone.is_none() && name.matches('.').count() == 1;
    if !apex && let Some(cname) = cname_target {
        return vec![format!("CNAME {rel} → {cname}")];
    }
    targets
        .iter()
        .map(|t| {
            let kind = if t.is_ipv4() { "A" } else { "AAAA" };
            format!("{kind} {rel} → {t}")
        })
        .collect()
}

/// What to tell the customer about a name's routing, if anything is wrong.
pub fn routing(
    name: &str,
    observed: Option<&Observed>,
    routing: &Routing,
    targets: &[IpAddr],
    cname_target: Option<&str>,
) -> Vec<String> {
    let zone = observed.and_then(|o| o.zone.as_deref());
    let records = records_to_create(name, zone, targets, cname_target).join(", ");
    let now = if routing.found.is_empty() {
        "nothing".to_string()
    } else {
        routing.found.join(", ")
    };
    let rel = relative(name, zone);
    let mut out = vec![];
    if let Some(line) = www_through_apex(name, observed, routing, targets) {
        return vec![line];
    }
    match (routing.state, routing.reason) {
        ("ok", _) => {}
        ("missing", "nxdomain") => {
            out.push(format!("{name} does not exist in DNS yet. Create: {records}."));
            if let Some(ttl) = observed.and_then(|o| o.negative_ttl) {
                out.push(format!(
                    "Resolvers may keep the \"does not exist\" answer for up to {ttl} s (the zone's SOA minimum) after the record is created."
                ));
            }
        }
        ("missing", _) => out.push(format!("{name} has no A, AAAA or CNAME record. Create: {records}.")),
        ("proxied", _) => out.push(format!(
            "{name} resolves to Cloudflare ({}): the record is proxied (orange cloud). Set it to \
             \"DNS only\" (grey cloud) until the certificate is issued, or keep it proxied with \
             SSL/TLS mode \"Full (strict)\" and let /.well-known/acme-challenge/* through to the origin.",
            routing.unwanted.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        )),
        ("wrong", "extra-a") => {
            for ip in &routing.unwanted {
                out.push(format!(
                    "{name} also resolves to {ip}, which is not this network: remove the A record {rel} → {ip} (visitors and the CA may reach it)."
                ));
            }
        }
        ("wrong", "foreign-aaaa") => {
            for ip in &routing.unwanted {
                out.push(format!(
                    "{name} has an AAAA record to {ip}, which is not this network; Let's Encrypt tries IPv6 first. Remove AAAA {rel} → {ip}{}.",
                    targets
                        .iter()
                        .find(|t| t.is_ipv6())
                        .map(|t| format!(" or change it to {t}"))
                        .unwrap_or_default()
                ));
            }
        }
        ("wrong", "cname-elsewhere") => out.push(format!(
            "{name} is a CNAME to {}, which does not lead to this network. Change it: {records}.",
            observed
                .map(|o| o.cname_chain.join(" → "))
                .filter(|c| !c.is_empty())
                .unwrap_or(now)
        )),
        ("wrong", "caa-forbids") | ("wrong", "requirement-missing") => {}
        ("wrong", _) => out.push(format!(
            "{name} resolves to {now}; it should resolve to {}. Change the record: {records}.",
            routing.expected.join(", ")
        )),
        ("unknown", _) => out.push(format!(
            "{name} could not be checked ({}); this is not counted as a failed check.",
            routing.reason
        )),
        _ => {}
    }
    out
}

/// A name whose nameservers could not be asked. It names the name: a record whose names
/// all fail gives one line per name, each saying which one it is about.
pub fn unchecked(name: &str, why: &str) -> String {
    format!(
        "The DNS of {name} could not be checked ({why}); this is not counted as a failed check."
    )
}

/// `www.<apex>` that is a CNAME to its own apex, while the apex does not reach this network:
/// the CNAME is right (it follows the apex), the apex is what to fix. Telling the customer to
/// replace the CNAME would leave the apex broken and split the two names.
fn www_through_apex(
    name: &str,
    observed: Option<&Observed>,
    routing: &Routing,
    targets: &[IpAddr],
) -> Option<String> {
    let observed = observed?;
    let apex = name.strip_prefix("www.")?;
    let first = observed.cname_chain.first()?;
    if !first.eq_ignore_ascii_case(apex) || matches!(routing.state, "ok" | "unknown" | "proxied") {
        return None;
    }
    let apex_now = if observed.addresses.is_empty() {
        "has no address".to_string()
    } else {
        format!(
            "resolves to {}, not this network",
            observed
                .addresses
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let zone = observed.zone.as_deref().or(Some(apex));
    let fix = records_to_create(apex, zone, targets, None).join(", ");
    Some(format!(
        "{name} is a CNAME to {apex}, which {apex_now}: keep the CNAME and fix the records of {apex}{}.",
        if fix.is_empty() {
            String::new()
        } else {
            format!(" ({fix})")
        }
    ))
}

/// What to tell about a CAA set that forbids the CA.
pub fn caa(
    name: &str,
    found_at: &str,
    zone: Option<&str>,
    verdict: &Verdict,
    ca: &str,
) -> Option<String> {
    let tag = if name.starts_with("*.") {
        "issuewild"
    } else {
        "issue"
    };
    match verdict {
        Verdict::Allowed => None,
        Verdict::Forbidden { allowed } => Some(format!(
            "The CAA records of {found_at} allow only {} to issue certificates, so the panel's CA ({ca}) cannot issue one for {name}. Add: CAA {} 0 {tag} \"{ca}\".",
            allowed.join(", "),
            relative(found_at, zone)
        )),
        Verdict::UnknownCritical(t) => Some(format!(
            "The CAA records of {found_at} carry a critical property {t:?} no CA understands, so none may issue for {name}. Remove it, and add: CAA {} 0 {tag} \"{ca}\".",
            relative(found_at, zone)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn apex_names_get_addresses_never_a_cname() {
        let t = ips(&["203.0.113.10", "2001:db8::10"]);
        assert_eq!(
            records_to_create(
                "example.com",
                Some("example.com"),
                &t,
                Some("network.example.net")
            ),
            vec!["A @ → 203.0.113.10", "AAAA @ → 2001:db8::10"]
        );
        assert_eq!(
            records_to_create(
                "shop.example.com",
                Some("example.com"),
                &t,
                Some("network.example.net")
            ),
            vec!["CNAME shop → network.example.net"]
        );
        assert_eq!(
            records_to_create("shop.example.com", Some("example.com"), &t[..1], None),
            vec!["A shop → 203.0.113.10"]
        );
    }

    fn wrong(found: &[&str], reason: &'static str) -> Routing {
        Routing {
            state: "wrong",
            reason,
            found: found.iter().map(|s| s.to_string()).collect(),
            expected: vec!["203.0.113.10".into()],
            unwanted: vec![],
        }
    }

    fn seen(chain: &[&str], addresses: &[&str]) -> Observed {
        Observed {
            cname_chain: chain.iter().map(|s| s.to_string()).collect(),
            addresses: ips(addresses),
            zone: Some("example.com".into()),
            ..Default::default()
        }
    }

    /// Each line names the name it is about, once; two names that cannot be checked for
    /// the same reason are two different lines.
    #[test]
    fn unchecked_names_say_which_name() {
        let why = "192.0.2.53:53 did not answer within 2s";
        let apex = unchecked("example.com", why);
        let www = unchecked("www.example.com", why);
        assert_ne!(apex, www);
        assert_eq!(www.matches("www.example.com").count(), 1, "{www}");
        assert_eq!(
            apex.matches("example.com").count(),
            1,
            "the apex once (the reason does not repeat it): {apex}"
        );
    }

    /// `www` as a CNAME to a wrong apex: fix the apex, keep the CNAME.
    #[test]
    fn www_cname_to_a_wrong_apex_is_told_to_fix_the_apex() {
        let t = ips(&["203.0.113.10"]);
        let observed = seen(&["example.com"], &["198.51.100.7"]);
        let lines = routing(
            "www.example.com",
            Some(&observed),
            &wrong(&["CNAME example.com", "198.51.100.7"], "points-elsewhere"),
            &t,
            Some("network.example.net"),
        );
        assert_eq!(
            lines,
            vec![
                "www.example.com is a CNAME to example.com, which resolves to 198.51.100.7, not \
                 this network: keep the CNAME and fix the records of example.com (A @ → 203.0.113.10)."
            ]
        );
        assert!(!lines[0].contains("CNAME www →"), "{lines:?}");
        // The apex missing altogether: the same advice.
        let observed = seen(&["example.com"], &[]);
        let lines = routing(
            "www.example.com",
            Some(&observed),
            &wrong(&["CNAME example.com"], "cname-elsewhere"),
            &t,
            None,
        );
        assert!(
            lines[0].contains("which has no address: keep the CNAME and fix the records of example.com (A @ → 203.0.113.10)"),
            "{lines:?}"
        );
        // A CNAME somewhere else is still told to change.
        let observed = seen(&["elsewhere.example.net"], &[]);
        let lines = routing(
            "www.example.com",
            Some(&observed),
            &wrong(&["CNAME elsewhere.example.net"], "cname-elsewhere"),
            &t,
            Some("network.example.net"),
        );
        assert_eq!(
            lines,
            vec![
                "www.example.com is a CNAME to elsewhere.example.net, which does not lead to this \
                 network. Change it: CNAME www → network.example.net."
            ]
        );
        // A www that reaches this network through the apex needs nothing.
        let observed = seen(&["example.com"], &["203.0.113.10"]);
        let ok = Routing {
            state: "ok",
            reason: "addresses",
            ..wrong(&[], "addresses")
        };
        assert!(routing("www.example.com", Some(&observed), &ok, &t, None).is_empty());
    }

    #[test]
    fn caa_advice_names_the_exact_record() {
        let line = caa(
            "shop.example.com",
            "example.com",
            Some("example.com"),
            &Verdict::Forbidden {
                allowed: vec!["digicert.com".into()],
            },
            "letsencrypt.org",
        )
        .unwrap();
        assert!(
            line.ends_with("Add: CAA @ 0 issue \"letsencrypt.org\"."),
            "{line}"
        );
    }
}
