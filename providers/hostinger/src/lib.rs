//! Hostinger: a CNAME record in the owning DNS zone of the account's domain portfolio, as
//! the PHP plugin does; the zone is only ever added to, never overwritten.
//!
//! API (`https://developers.hostinger.com`, `panel-apis-b.md` §7, Hostinger's official
//! SDK generated from its OpenAPI spec):
//! - `Authorization: Bearer <API token>` (the host attaches it); JSON bodies, DELETE included;
//!   errors `{"message", "correlation_id"}`, 422 adds `errors: {field: [...]}`;
//! - `GET /api/domains/v1/portfolio`: the account's domains (the zones that can be edited);
//! - `GET /api/dns/v1/zones/{domain}`: the zone's record sets `{name, type, ttl, records:
//!   [{content, is_disabled}]}`;
//! - `PUT /api/dns/v1/zones/{domain}` `{"overwrite": false, "zone": [...]}`: with
//!   `overwrite: false` records are appended (the default, `true`, replaces every record set
//!   with the same name and type, so it is never relied on);
//! - `DELETE /api/dns/v1/zones/{domain}` `{"filters": [{"name", "type"}]}`.
//!
//! A name outside the portfolio (a customer-owned domain whose DNS is elsewhere) is not this
//! panel's to write: a success with `changed: false` and a note naming the record to create
//! where its DNS is hosted, as the plugin also reports success (it only logs at INFO).
//!
//! Unlike the PHP plugin: the zone is read first,
//! so a present record sends nothing and a record another party owns (a CNAME pointing
//! elsewhere, an A/AAAA record at the name) is reported instead of being appended to; removal
//! deletes only the CNAME that points at the network (the plugin also deletes every A and AAAA
//! record at the name); `www.` follows the network's policy; a CNAME is never written at a
//! zone apex, where DNS does not allow one.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, Capabilities, ConstantSpec, DnsRecord, DomainEvent, DomainProvider, Operations,
    Outcome, ProviderError, ProviderMetadata, config, journal, log,
};
use serde_json::{Value, json};

pub const API: &str = "https://developers.hostinger.com";
pub const TOKEN: &str = "WU_HOSTINGER_API_TOKEN";
/// Not a plugin constant: the plugin reads the network's domain from WordPress, which a
/// component cannot see.
pub const NETWORK_DOMAIN: &str = "WU_HOSTINGER_NETWORK_DOMAIN";
/// The TTL the plugin writes.
pub const TTL: u64 = 14400;

pub struct Hostinger;

impl DomainProvider for Hostinger {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "hostinger".into(),
            title: "Hostinger".into(),
            description: "Points mapped domains and subdomain sites at the network with CNAME \
                          records in the Hostinger DNS zones of the account's domain portfolio."
                .into(),
            tutorial_link:
                "https://ultimatemultisite.com/docs/user-guide/host-integrations/hostinger".into(),
            constants: vec![
                ConstantSpec::required(
                    TOKEN,
                    "Hostinger API token",
                    "hPanel > Account > API (a token with DNS and domain access)",
                )
                .secret(),
                ConstantSpec::optional(
                    NETWORK_DOMAIN,
                    "Network domain",
                    "The network's main domain, the CNAME target (the plugin takes it from \
                     WordPress); needed to add records",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::WWW_HANDLING
                | Capabilities::SUBDOMAINS
                | Capabilities::REMOVAL
                | Capabilities::INDEPENDENT_DOMAINS,
            operations: Operations::DNS_REQUIREMENTS,
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["developers.hostinger.com".into()],
            auth: vec![AuthScheme::Bearer(TOKEN.into())],
            account_constants: vec![],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let zones = portfolio()?;
        let mut outcome = Outcome::unchanged(format!(
            "{} domain(s) in the portfolio: {}",
            zones.len(),
            zones.join(", ")
        ));
        match config::get(NETWORK_DOMAIN) {
            Some(target) => {
                outcome = outcome.with_note(format!("records will point at {}", clean(&target)))
            }
            None => {
                outcome = outcome.with_note(format!(
                    "{NETWORK_DOMAIN} is not set: records cannot be added until it is"
                ))
            }
        }
        Ok(outcome)
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        add(&names_for(&event.domain, event.www))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // `www.<domain>` only when the host says so: it is false when the policy does not
        // want it or when `www.<domain>` is mapped as a domain of its own (review #9).
        remove(&names_for(&event.domain, event.www))
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        add(&names_for(&event.domain, event.www))
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        remove(&names_for(&event.domain, true))
    }

    fn dns_requirements(event: DomainEvent) -> Result<Vec<DnsRecord>, ProviderError> {
        let target = target()?;
        Ok(names_for(&event.domain, event.www)
            .into_iter()
            .map(|name| DnsRecord {
                kind: "CNAME".into(),
                name,
                value: target.clone(),
                purpose: "routing".into(),
            })
            .collect())
    }
}

provider_sdk::export_provider!(Hostinger);

/// The names an event points at the network: the name, and `www.` + name when wanted.
pub fn names_for(domain: &str, www: bool) -> Vec<String> {
    let mut names = vec![domain.to_string()];
    if www && !domain.starts_with("www.") {
        names.push(format!("www.{domain}"));
    }
    names
}

fn clean(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn target() -> Result<String, ProviderError> {
    let value = config::get(NETWORK_DOMAIN).ok_or_else(|| {
        ProviderError::BadCredentials(format!(
            "{NETWORK_DOMAIN} is not set: the network's domain is the CNAME target"
        ))
    })?;
    let target = clean(&value);
    let ok = !target.is_empty()
        && target.contains('.')
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !ok {
        return Err(ProviderError::InvalidInput(format!(
            "{NETWORK_DOMAIN} must be a host name (got {value:?})"
        )));
    }
    Ok(target)
}

/// The deepest portfolio domain that owns `name` (`shop.example.co.uk` in `example.co.uk`).
pub fn owning_zone<'a>(name: &str, zones: &'a [String]) -> Option<&'a String> {
    zones
        .iter()
        .filter(|z| name == z.as_str() || name.ends_with(&format!(".{z}")))
        .max_by_key(|z| z.len())
}

/// The record name relative to the zone: `@` for the apex.
pub fn relative(name: &str, zone: &str) -> String {
    if name == zone {
        "@".into()
    } else {
        name[..name.len() - zone.len() - 1].to_string()
    }
}

/// One record set of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    pub name: String,
    pub kind: String,
    pub contents: Vec<String>,
}

/// `GET /api/dns/v1/zones/{domain}`: a JSON array of record sets.
pub fn parse_zone(body: &Value) -> Result<Vec<RecordSet>, String> {
    let list = body
        .as_array()
        .or_else(|| body.get("data").and_then(Value::as_array))
        .ok_or("the zone is not a list of records")?;
    Ok(list
        .iter()
        .filter_map(|set| {
            Some(RecordSet {
                name: set.get("name")?.as_str()?.to_ascii_lowercase(),
                kind: set.get("type")?.as_str()?.to_ascii_uppercase(),
                contents: set
                    .get("records")
                    .and_then(Value::as_array)
                    .map(|records| {
                        records
                            .iter()
                            .filter_map(|r| r.get("content").and_then(Value::as_str))
                            .map(clean)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// The record sets at a relative name (`@` also matches an empty name or the zone's own).
fn at<'a>(zone: &'a [RecordSet], rel: &str, apex: &str) -> Vec<&'a RecordSet> {
    zone.iter()
        .filter(|s| {
            s.name == rel
                || (rel == "@" && (s.name.is_empty() || s.name == apex))
                || clean(&s.name) == format!("{rel}.{apex}")
        })
        .collect()
}

/// What a name's records say, against the wanted CNAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The CNAME points at the network.
    Present,
    /// Nothing at the name.
    Absent,
    /// Something else owns the name.
    Taken(String),
}

pub fn state_of(zone: &[RecordSet], rel: &str, apex: &str, target: Option<&str>) -> State {
    let sets = at(zone, rel, apex);
    if sets.is_empty() {
        return State::Absent;
    }
    let cname = sets.iter().find(|s| s.kind == "CNAME");
    if let Some(set) = cname {
        if target.is_some_and(|t| set.contents.iter().all(|c| c == t) && !set.contents.is_empty()) {
            return State::Present;
        }
        return State::Taken(format!("a CNAME to {}", set.contents.join(", ")));
    }
    // CNAME cannot share a name with other data; TXT/MX/CAA at a subdomain still block it.
    let kinds: Vec<&str> = sets.iter().map(|s| s.kind.as_str()).collect();
    State::Taken(format!("{} record(s)", kinds.join("/")))
}

fn api_error(status: u16, message: String) -> ProviderError {
    ProviderError::Api(provider_sdk::ApiError { status, message })
}

/// Hostinger's words, with its correlation id (what its support asks for).
fn panel_message(status: u16, body: &[u8]) -> String {
    let message = provider_sdk::errors::error_message(status, body);
    let id = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("correlation_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    match id {
        Some(id) => format!("{message} (correlation id {id})"),
        None => message,
    }
}

fn check(response: Response) -> Result<Value, ProviderError> {
    if response.is_success() {
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&response.body).map_err(|_| {
            api_error(
                response.status,
                format!(
                    "Hostinger answered HTTP {} with something that is not JSON ({})",
                    response.status,
                    provider_sdk::errors::error_message(response.status, &response.body)
                ),
            )
        });
    }
    let message = panel_message(response.status, &response.body);
    Err(match response.status {
        401 => ProviderError::BadCredentials(format!(
            "Hostinger refused the token (401): {message}; check {TOKEN}"
        )),
        403 => ProviderError::BadCredentials(format!(
            "Hostinger does not let this token do that (403): {message}; check {TOKEN}'s \
             permissions"
        )),
        status => provider_sdk::errors::status_error(
            status,
            response
                .header("retry-after")
                .and_then(provider_sdk::errors::parse_retry_after),
            message,
        ),
    })
}

/// The zones the account can edit: its portfolio's domains (unclaimed ones have none).
fn portfolio() -> Result<Vec<String>, ProviderError> {
    let body = check(Request::get(format!("{API}/api/domains/v1/portfolio")).send()?)?;
    let list = body
        .as_array()
        .or_else(|| body.get("data").and_then(Value::as_array))
        .ok_or_else(|| api_error(200, "the portfolio answer is not a list".into()))?;
    let mut zones: Vec<String> = list
        .iter()
        .filter_map(|d| d.get("domain").and_then(Value::as_str))
        .map(clean)
        .filter(|d| !d.is_empty())
        .collect();
    zones.dedup();
    Ok(zones)
}

fn zone_url(zone: &str) -> String {
    format!("{API}/api/dns/v1/zones/{zone}")
}

fn read_zone(zone: &str) -> Result<Vec<RecordSet>, ProviderError> {
    let body = check(Request::get(zone_url(zone)).send()?)
        .map_err(|e| e.prefixed(&format!("reading the zone {zone} failed: ")))?;
    parse_zone(&body).map_err(|m| api_error(200, format!("zone {zone}: {m}")))
}

/// The names grouped by owning zone; names outside the portfolio separately.
/// Names grouped by the zone that owns them.
type Grouped = Vec<(String, Vec<String>)>;

fn by_zone(names: &[String]) -> Result<(Grouped, Vec<String>), ProviderError> {
    let zones = portfolio()?;
    let mut grouped: Grouped = Vec::new();
    let mut outside = Vec::new();
    for name in names {
        match owning_zone(name, &zones) {
            Some(zone) => match grouped.iter_mut().find(|(z, _)| z == zone) {
                Some((_, list)) => list.push(name.clone()),
                None => grouped.push((zone.clone(), vec![name.clone()])),
            },
            None => outside.push(name.clone()),
        }
    }
    Ok((grouped, outside))
}

/// "CNAME a -> t and CNAME www.a -> t": the records a name outside the portfolio needs.
fn records_to_create(names: &[String], target: &str) -> String {
    names
        .iter()
        .map(|name| format!("CNAME {name} -> {target}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn add(names: &[String]) -> Result<Outcome, ProviderError> {
    let target = target()?;
    let (grouped, outside) = by_zone(names)?;
    if grouped.is_empty() {
        // A customer-owned domain whose DNS is hosted elsewhere: not this panel's to write
        // (the plugin too reports success). The customer creates the record; the host's
        // lifecycle checks DNS, and `dns-requirements` names the same records.
        return Ok(Outcome::unchanged(format!(
            "{} is not in this Hostinger account's domain portfolio: nothing to write here",
            names.join(", ")
        ))
        .with_note(format!(
            "where its DNS is hosted, create {} (at a zone's apex, where DNS allows no \
             CNAME, an A record for the network's address instead)",
            records_to_create(names, &target)
        )));
    }
    let mut added = Vec::new();
    let mut present = Vec::new();
    let mut notes = Vec::new();
    for (zone, names) in &grouped {
        let records = read_zone(zone)?;
        let mut sets = Vec::new();
        for name in names {
            let rel = relative(name, zone);
            let key = format!("put {name}");
            if rel == "@" {
                notes.push(format!(
                    "{name} is the apex of the zone {zone}: DNS allows no CNAME there, so \
                     nothing was written for it; point it at the network's server with an A \
                     record"
                ));
                continue;
            }
            match state_of(&records, &rel, zone, Some(&target)) {
                State::Present if journal::recall(&key).is_some() => added.push(name.clone()),
                State::Present => present.push(name.clone()),
                State::Taken(what) => {
                    let done = if added.is_empty() {
                        String::new()
                    } else {
                        format!(" (added {})", added.join(", "))
                    };
                    return Err(ProviderError::Conflict(format!(
                        "{name} already has {what} in the Hostinger zone {zone}; the zone is \
                         not overwritten: remove that record, or point it at {target}{done}"
                    )));
                }
                State::Absent => {
                    journal::remember(&key, "sent");
                    sets.push((name.clone(), rel));
                }
            }
        }
        if sets.is_empty() {
            continue;
        }
        let zone_body: Vec<Value> = sets
            .iter()
            .map(|(_, rel)| {
                json!({"name": rel, "type": "CNAME", "ttl": TTL,
                       "records": [{"content": target}]})
            })
            .collect();
        check(
            Request::put(zone_url(zone))
                .json(&json!({"overwrite": false, "zone": zone_body}))
                .send()?,
        )
        .map_err(|e| {
            let list: Vec<&str> = sets.iter().map(|(n, _)| n.as_str()).collect();
            e.prefixed(&format!(
                "adding {} to the zone {zone} failed: ",
                list.join(", ")
            ))
        })?;
        for (name, _) in sets {
            log::info(format!("CNAME {name} -> {target} added to the zone {zone}"));
            added.push(name);
        }
    }
    if !outside.is_empty() {
        notes.push(format!(
            "{} is in no zone of the portfolio: where its DNS is hosted, create {}",
            outside.join(", "),
            records_to_create(&outside, &target)
        ));
    }
    if added.is_empty() && present.is_empty() {
        return Err(ProviderError::InvalidInput(notes.join("; ")));
    }
    let mut outcome = if added.is_empty() {
        Outcome::unchanged(format!("{} already point at {target}", present.join(", ")))
    } else {
        let mut o = Outcome::changed(format!("added CNAME {} -> {target}", added.join(", ")));
        if !present.is_empty() {
            o.notes
                .push(format!("{} already point at {target}", present.join(", ")));
        }
        o
    };
    outcome.notes.extend(notes);
    Ok(outcome)
}

fn remove(names: &[String]) -> Result<Outcome, ProviderError> {
    let target = config::get(NETWORK_DOMAIN).map(|t| clean(&t));
    let (grouped, outside) = by_zone(names)?;
    let mut removed = Vec::new();
    let mut notes = Vec::new();
    for (zone, names) in &grouped {
        let records = read_zone(zone)?;
        let mut filters = Vec::new();
        let mut ours = Vec::new();
        for name in names {
            let rel = relative(name, zone);
            let key = format!("delete {name}");
            match state_of(&records, &rel, zone, target.as_deref()) {
                State::Present => {
                    journal::remember(&key, "sent");
                    filters.push(json!({"name": rel, "type": "CNAME"}));
                    ours.push(name.clone());
                }
                State::Absent if journal::recall(&key).is_some() => removed.push(name.clone()),
                State::Absent => {}
                State::Taken(what) => notes.push(format!(
                    "{name} has {what} in the zone {zone}, not a CNAME to {}: left alone",
                    target
                        .as_deref()
                        .unwrap_or("the network (set WU_HOSTINGER_NETWORK_DOMAIN)")
                )),
            }
        }
        if filters.is_empty() {
            continue;
        }
        check(
            Request::delete(zone_url(zone))
                .json(&json!({ "filters": filters }))
                .send()?,
        )
        .map_err(|e| e.prefixed(&format!("removing {} failed: ", ours.join(", "))))?;
        for name in ours {
            log::info(format!("CNAME {name} removed from the zone {zone}"));
            removed.push(name);
        }
    }
    if !outside.is_empty() {
        notes.push(format!(
            "{} is in no zone of the portfolio: nothing to remove on Hostinger",
            outside.join(", ")
        ));
    }
    let mut outcome = if removed.is_empty() {
        Outcome::unchanged(format!(
            "no CNAME for {} in Hostinger; nothing to remove",
            names.join(", ")
        ))
    } else {
        Outcome::changed(format!("removed CNAME {}", removed.join(", ")))
    };
    outcome.notes.extend(notes);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_zone_owns_the_name() {
        let zones = vec![
            "example.com".to_string(),
            "shop.example.com".to_string(),
            "other.net".to_string(),
        ];
        assert_eq!(
            owning_zone("a.shop.example.com", &zones).map(String::as_str),
            Some("shop.example.com")
        );
        assert_eq!(
            owning_zone("example.com", &zones).map(String::as_str),
            Some("example.com")
        );
        assert_eq!(owning_zone("notexample.com", &zones), None);
        assert_eq!(relative("a.shop.example.com", "shop.example.com"), "a");
        assert_eq!(relative("example.com", "example.com"), "@");
    }

    #[test]
    fn zones_and_states() {
        let body = json!([
            {"name": "www", "type": "CNAME", "ttl": 14400, "records": [{"content": "network.example.", "is_disabled": false}]},
            {"name": "shop", "type": "CNAME", "ttl": 14400, "records": [{"content": "elsewhere.net"}]},
            {"name": "api", "type": "A", "ttl": 300, "records": [{"content": "203.0.113.5"}]},
            {"name": "@", "type": "A", "ttl": 300, "records": [{"content": "203.0.113.5"}]}
        ]);
        let zone = parse_zone(&body).unwrap();
        let t = Some("network.example");
        assert_eq!(state_of(&zone, "www", "example.com", t), State::Present);
        assert!(
            matches!(state_of(&zone, "shop", "example.com", t), State::Taken(w) if w.contains("elsewhere.net"))
        );
        assert!(
            matches!(state_of(&zone, "api", "example.com", t), State::Taken(w) if w.contains("A record"))
        );
        assert_eq!(state_of(&zone, "new", "example.com", t), State::Absent);
        assert!(parse_zone(&json!({"message": "x"})).is_err());
    }

    #[test]
    fn www_follows_the_policy() {
        assert_eq!(names_for("a.com", true), ["a.com", "www.a.com"]);
        assert_eq!(names_for("a.com", false), ["a.com"]);
        assert_eq!(names_for("www.a.com", true), ["www.a.com"]);
    }
}
