//! bunny.net DNS: records in one zone for the network's subdomain sites
//! (`panel-apis-a.md` §8).
//!
//! `https://api.bunny.net` with the account API key in the `AccessKey` header (attached
//! by the host):
//! - `GET /dnszone/{zone}` → the zone (`Domain`, embedded `Records`): `test-connection`,
//!   and the zone's name, to turn a site's host name into a record name;
//! - `GET /dnszone/{zone}/records?page=&perPage=` → `{Items, CurrentPage, TotalItems,
//!   HasMoreItems}`, every page read (the zone's embedded list when it is not there);
//! - `PUT /dnszone/{zone}/records {Type, Ttl, Name, Value}` → 201 record;
//! - `DELETE /dnszone/{zone}/records/{id}` → 204.
//!
//! Errors are `{ErrorKey, Field, Message}`; a bad key is a bare 401. Records point at
//! `WU_BUNNYNET_TARGET`: an IPv4 address (A), an IPv6 address (AAAA) or a host name
//! (CNAME). The PHP plugin used `$_SERVER['SERVER_ADDR']`, the web server's own address,
//! which a host outside PHP cannot know (and which is empty under WP-cron and WP-CLI).
//! Mapped domains are left alone, as in the plugin: their DNS is their owner's.

use provider_sdk::http::{Request, Response};
use provider_sdk::{
    AuthScheme, Capabilities, ConstantSpec, DomainEvent, DomainProvider, HeaderAuth, Operations,
    Outcome, ProviderError, ProviderMetadata, config, journal, json, log,
};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const API_BASE: &str = "https://api.bunny.net";
pub const API_KEY: &str = "WU_BUNNYNET_API_KEY";
pub const ZONE_ID: &str = "WU_BUNNYNET_ZONE_ID";
pub const TARGET: &str = "WU_BUNNYNET_TARGET";
/// The plugin's TTL.
pub const TTL: u32 = 3600;
/// Records per page asked for (bunny.net's clients allow up to 1000).
pub const PER_PAGE: u32 = 1000;
const MAX_PAGES: u32 = 200;

pub struct BunnyNet;

impl DomainProvider for BunnyNet {
    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            id: "bunnynet".into(),
            title: "BunnyNet".into(),
            description: "Creates and removes bunny.net DNS records for the network's \
                          subdomain sites."
                .into(),
            tutorial_link:
                "https://github.com/superdav42/wp-multisite-waas/wiki/BunnyNet-Integration".into(),
            constants: vec![
                ConstantSpec::required(
                    API_KEY,
                    "API key",
                    "Account settings > API key in the bunny.net dashboard",
                )
                .secret(),
                ConstantSpec::required(
                    ZONE_ID,
                    "DNS zone ID",
                    "From the zone's URL: dash.bunny.net/dns/{ZONE_ID}",
                ),
                ConstantSpec::optional(
                    TARGET,
                    "Record target",
                    "Where the sites' records point: the server's IPv4 address (A), IPv6 \
                     address (AAAA) or host name (CNAME)",
                ),
            ],
            any_of: vec![],
            capabilities: Capabilities::SUBDOMAINS
                | Capabilities::WWW_HANDLING
                | Capabilities::REMOVAL
                | Capabilities::INDEPENDENT_DOMAINS,
            operations: Operations::empty(),
            ssl_verification_attempts: 5,
            default_allowed_hosts: vec!["api.bunny.net".into()],
            auth: vec![AuthScheme::Header(HeaderAuth {
                header_name: "AccessKey".into(),
                value_constant: API_KEY.into(),
            })],
            account_constants: vec![ZONE_ID.into()],
        }
    }

    fn test_connection() -> Result<Outcome, ProviderError> {
        let api = Api::configured()?;
        let zone = api.zone()?;
        let mut outcome = Outcome::unchanged(format!(
            "zone {} reachable: {} record(s)",
            zone.domain,
            zone.records.len()
        ));
        match config::get(TARGET) {
            Some(value) => {
                let target = Target::parse(&value)?;
                outcome.notes.push(format!(
                    "subdomain sites get {} records pointing at {}",
                    target.kind_name(),
                    target.value()
                ));
            }
            None => outcome.notes.push(missing_target()),
        }
        Ok(outcome)
    }

    fn add_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Ok(Outcome::unchanged(format!(
            "{} left alone: the bunny.net integration only manages records of subdomain \
             sites; a mapped domain's DNS belongs to its owner",
            event.domain
        )))
    }

    fn remove_domain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        Ok(Outcome::unchanged(format!(
            "{} left alone: the bunny.net integration only manages records of subdomain sites",
            event.domain
        )))
    }

    fn add_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // Before any request: without a target there is nothing to write.
        let target = match config::get(TARGET) {
            Some(value) => Target::parse(&value)?,
            None => return Err(ProviderError::BadCredentials(missing_target())),
        };
        let api = Api::configured()?;
        let zone = api.zone()?;
        let label = record_name(&event.domain, &zone.domain)?;
        let mut names = vec![label.clone()];
        if event.www {
            names.push(format!("www.{label}"));
        }
        api.add(&zone, &names, &target)
    }

    fn remove_subdomain(event: DomainEvent) -> Result<Outcome, ProviderError> {
        // Only records pointing at the target are this integration's (add-subdomain writes
        // nothing else): without it, none can be told apart from hand-made ones.
        let target = match config::get(TARGET) {
            Some(value) => Target::parse(&value)?,
            None => {
                return Err(ProviderError::BadCredentials(format!(
                    "{}; without it no record can be told apart from hand-made ones, so \
                     nothing was removed",
                    missing_target()
                )));
            }
        };
        let api = Api::configured()?;
        let zone = api.zone()?;
        let label = record_name(&event.domain, &zone.domain)?;
        // www. goes with the site only when the event says so (the host's decision: the
        // policy wants it and it is not mapped of its own), and only when it points at the
        // target too (as add-subdomain writes it).
        let mut labels = vec![label.clone()];
        if event.www {
            labels.push(format!("www.{label}"));
        }
        api.remove(&zone, &labels, &target)
    }
}

provider_sdk::export_provider!(BunnyNet);

fn missing_target() -> String {
    format!(
        "{TARGET} is not set: set it to the address subdomain sites are served from (the \
         server's IPv4 or IPv6 address, or a host name for a CNAME). The PHP plugin used \
         the web server's own address ($_SERVER['SERVER_ADDR']), which this host cannot \
         know"
    )
}

/// Where records point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
}

impl Target {
    pub fn parse(value: &str) -> Result<Target, ProviderError> {
        let value = value.trim();
        if let Ok(v4) = value.parse::<Ipv4Addr>() {
            return Ok(Target::A(v4));
        }
        if let Ok(v6) = value.trim_matches(['[', ']']).parse::<Ipv6Addr>() {
            return Ok(Target::Aaaa(v6));
        }
        let name = value.trim_end_matches('.').to_ascii_lowercase();
        let ok = name.contains('.')
            && name.len() <= 253
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !ok {
            return Err(ProviderError::InvalidInput(format!(
                "{TARGET} must be an IPv4 address, an IPv6 address or a host name (got {value:?})"
            )));
        }
        Ok(Target::Cname(name))
    }

    /// bunny.net's record type number.
    pub fn kind(&self) -> u8 {
        match self {
            Target::A(_) => 0,
            Target::Aaaa(_) => 1,
            Target::Cname(_) => 2,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        type_name(self.kind()).unwrap_or("?")
    }

    pub fn value(&self) -> String {
        match self {
            Target::A(a) => a.to_string(),
            Target::Aaaa(a) => a.to_string(),
            Target::Cname(n) => n.clone(),
        }
    }

    /// Whether a record already says what this target says.
    pub fn matches(&self, record: &Record) -> bool {
        if record.kind() != Some(self.kind()) {
            return false;
        }
        let value = record
            .value
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        match self {
            Target::A(a) => value.parse::<Ipv4Addr>().ok() == Some(*a),
            Target::Aaaa(a) => value.parse::<Ipv6Addr>().ok() == Some(*a),
            Target::Cname(n) => value == *n,
        }
    }
}

/// bunny.net's record types by number (`update-dns-record` docs).
pub fn type_name(kind: u8) -> Option<&'static str> {
    const NAMES: [&str; 16] = [
        "A", "AAAA", "CNAME", "TXT", "MX", "Redirect", "Flatten", "PullZone", "SRV", "CAA", "PTR",
        "Script", "NS", "SVCB", "HTTPS", "TLSA",
    ];
    NAMES.get(usize::from(kind)).copied()
}

/// The types whose records route a name to a server.
fn is_address(kind: Option<u8>) -> bool {
    matches!(kind, Some(0..=2))
}

/// A site's record name, relative to the zone: `site1` for `site1.network.example` in
/// `network.example`.
pub fn record_name(host: &str, zone: &str) -> Result<String, ProviderError> {
    let zone = zone.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    match host.strip_suffix(&zone).and_then(|l| l.strip_suffix('.')) {
        Some(label) if !label.is_empty() => Ok(label.to_string()),
        _ => Err(ProviderError::InvalidInput(format!(
            "{host} is not a subdomain of the zone {zone} ({ZONE_ID}); its record cannot be \
             managed here"
        ))),
    }
}

/// A record as bunny.net lists it (`Id`, `Type`, `Name`, `Value`).
#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    /// A number in the API; some documentation samples show the name.
    pub kind: Value,
    pub name: Option<String>,
    pub value: String,
}

impl Record {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Record")?;
        Ok(Record {
            id: json::field(o, "Id", json::u64)?,
            kind: json::field(o, "Type", json::any)?,
            name: json::opt(o, "Name", json::string)?,
            value: json::or_default(o, "Value", json::string)?,
        })
    }

    pub fn kind(&self) -> Option<u8> {
        match &self.kind {
            Value::Number(n) => n.as_u64().and_then(|k| u8::try_from(k).ok()),
            Value::String(s) => {
                (0..16u8).find(|k| type_name(*k).is_some_and(|n| n.eq_ignore_ascii_case(s)))
            }
            _ => None,
        }
    }

    pub fn has_name(&self, name: &str) -> bool {
        let own = self.name.as_deref().unwrap_or("");
        let own = if own == "@" { "" } else { own };
        own.trim_end_matches('.').eq_ignore_ascii_case(name)
    }

    fn describe(&self) -> String {
        let kind = self
            .kind()
            .and_then(type_name)
            .map(str::to_string)
            .unwrap_or_else(|| json::text(&self.kind));
        format!("{kind} {}", self.value)
    }
}

/// `Id`, `Domain`, `Records`.
#[derive(Debug, Clone)]
pub struct Zone {
    pub id: u64,
    pub domain: String,
    pub records: Vec<Record>,
}

impl Zone {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct Zone")?;
        Ok(Zone {
            id: json::field(o, "Id", json::u64)?,
            domain: json::field(o, "Domain", json::string)?,
            records: json::list_or_default(o, "Records", Record::from_json)?,
        })
    }
}

/// `Items`, `HasMoreItems`.
#[derive(Debug)]
pub struct RecordPage {
    pub items: Vec<Record>,
    pub has_more_items: bool,
}

impl RecordPage {
    /// Each field checked as serde's derive would (see [`json`]).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let o = json::object(value, "struct RecordPage")?;
        Ok(RecordPage {
            items: json::field(o, "Items", |v| json::list(v, Record::from_json))?,
            has_more_items: json::or_default(o, "HasMoreItems", json::boolean)?,
        })
    }
}

/// bunny.net's `{ErrorKey, Field, Message}`, readably.
pub fn bunny_message(status: u16, body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let field = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let Some(message) = field("Message") {
            let detail: Vec<&str> = [field("Field"), field("ErrorKey")]
                .into_iter()
                .flatten()
                .collect();
            return if detail.is_empty() {
                message.to_string()
            } else {
                format!("{message} ({})", detail.join(": "))
            };
        }
    }
    provider_sdk::errors::error_message(status, body)
}

fn created_key(name: &str) -> String {
    format!("create {name}")
}
fn deleted_key(name: &str) -> String {
    format!("delete {name}")
}

struct Api {
    zone_url: String,
}

impl Api {
    fn configured() -> Result<Api, ProviderError> {
        Ok(Api {
            zone_url: format!("{API_BASE}/dnszone/{}", config::require_id(ZONE_ID)?),
        })
    }

    fn check(&self, response: Response) -> Result<Response, ProviderError> {
        match response.status {
            200..=299 => Ok(response),
            401 | 403 => Err(ProviderError::BadCredentials(format!(
                "bunny.net rejected the API key ({} {}): check {API_KEY} (the account's API \
                 key, not a storage or stream key)",
                response.status,
                bunny_message(response.status, &response.body)
            ))),
            404 => Err(ProviderError::NotFound(format!(
                "bunny.net has no such DNS zone or record ({}): check {ZONE_ID}",
                bunny_message(404, &response.body)
            ))),
            400 | 422 => Err(ProviderError::InvalidInput(format!(
                "bunny.net refused the record: {}",
                bunny_message(response.status, &response.body)
            ))),
            status => Err(provider_sdk::errors::status_error(
                status,
                response
                    .header("retry-after")
                    .and_then(provider_sdk::errors::parse_retry_after),
                bunny_message(status, &response.body),
            )),
        }
    }

    fn zone(&self) -> Result<Zone, ProviderError> {
        self.check(Request::get(&self.zone_url).send()?)?
            .json_with(Zone::from_json)
    }

    /// Every record of the zone, every page; the zone's embedded list when the paged
    /// endpoint is not there.
    fn records(&self, zone: &Zone) -> Result<Vec<Record>, ProviderError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let response = Request::get(format!("{}/records", self.zone_url))
                .query(&[
                    ("page", page.to_string()),
                    ("perPage", PER_PAGE.to_string()),
                ])
                .send()?;
            if response.status == 404 && page == 1 {
                log::debug("no paged records endpoint; using the zone's records");
                return Ok(zone.records.clone());
            }
            let current = self.check(response)?.json_with(RecordPage::from_json)?;
            let more = current.has_more_items && !current.items.is_empty();
            all.extend(current.items);
            if !more {
                break;
            }
        }
        Ok(all)
    }

    fn add(
        &self,
        zone: &Zone,
        names: &[String],
        target: &Target,
    ) -> Result<Outcome, ProviderError> {
        let records = self.records(zone)?;
        let fqdn = |name: &str| format!("{name}.{}", zone.domain);
        let mut added = Vec::new();
        let mut present = Vec::new();
        for name in names {
            let routing: Vec<&Record> = records
                .iter()
                .filter(|r| r.has_name(name) && is_address(r.kind()))
                .collect();
            if routing.iter().any(|r| target.matches(r)) {
                if journal::recall(&created_key(name)).is_some() {
                    added.push(fqdn(name));
                } else {
                    present.push(fqdn(name));
                }
                continue;
            }
            if let Some(other) = routing.first() {
                return Err(ProviderError::Conflict(format!(
                    "{} already has a record {} in the zone; it is not changed from here \
                     (delete it in bunny.net to let this site's record be created)",
                    fqdn(name),
                    other.describe()
                ))
                .prefixed(&if added.is_empty() {
                    String::new()
                } else {
                    format!("created {}, but ", added.join(", "))
                }));
            }
            journal::remember(&created_key(name), "sent");
            let body = json!({
                "Type": target.kind(),
                "Ttl": TTL,
                "Name": name,
                "Value": target.value(),
            });
            let created: Value = self
                .check(
                    Request::put(format!("{}/records", self.zone_url))
                        .json(&body)
                        .send()?,
                )?
                .json()
                .unwrap_or(Value::Null);
            log::info(format!(
                "created {} {} -> {} (record {})",
                target.kind_name(),
                fqdn(name),
                target.value(),
                created.get("Id").map(Value::to_string).unwrap_or_default()
            ));
            added.push(fqdn(name));
        }
        if added.is_empty() {
            return Ok(Outcome::unchanged(format!(
                "{} already point at {}",
                present.join(", "),
                target.value()
            )));
        }
        let mut outcome = Outcome::changed(format!(
            "created {} record(s) for {} pointing at {}",
            target.kind_name(),
            added.join(", "),
            target.value()
        ));
        if !present.is_empty() {
            outcome
                .notes
                .push(format!("{} already pointed there", present.join(", ")));
        }
        Ok(outcome)
    }

    /// Deletes the routing records of `names` that point at `target` (the ones
    /// add-subdomain writes); any other record of those names is reported and left alone.
    fn remove(
        &self,
        zone: &Zone,
        names: &[String],
        target: &Target,
    ) -> Result<Outcome, ProviderError> {
        let records = self.records(zone)?;
        let mut removed = Vec::new();
        let mut left = Vec::new();
        for name in names {
            let fqdn = format!("{name}.{}", zone.domain);
            let (own, foreign): (Vec<&Record>, Vec<&Record>) = records
                .iter()
                .filter(|r| r.has_name(name) && is_address(r.kind()))
                .partition(|r| target.matches(r));
            left.extend(foreign.iter().map(|r| format!("{fqdn} {}", r.describe())));
            if own.is_empty() && journal::recall(&deleted_key(name)).is_some() {
                removed.push(fqdn.clone());
            }
            for record in own {
                journal::remember(&deleted_key(name), "sent");
                let response =
                    Request::delete(format!("{}/records/{}", self.zone_url, record.id)).send()?;
                if response.status != 404 {
                    self.check(response)?;
                }
                log::info(format!("deleted record {} ({name})", record.id));
                removed.push(format!("{fqdn} {}", record.describe()));
            }
        }
        let left_note = (!left.is_empty()).then(|| {
            format!(
                "left alone (not pointing at {}, so not created by this integration): {}",
                target.value(),
                left.join(", ")
            )
        });
        let mut outcome = if removed.is_empty() {
            Outcome::unchanged(format!(
                "no records for {} point at {} in the zone; nothing to remove",
                names
                    .iter()
                    .map(|n| format!("{n}.{}", zone.domain))
                    .collect::<Vec<_>>()
                    .join(", "),
                target.value()
            ))
        } else {
            Outcome::changed(format!("removed {}", removed.join(", ")))
        };
        outcome.notes.extend(left_note);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_choose_the_record_type() {
        assert_eq!(Target::parse("203.0.113.5").unwrap().kind(), 0);
        assert_eq!(Target::parse("2001:db8::5").unwrap().kind(), 1);
        assert_eq!(Target::parse("[2001:db8::5]").unwrap().kind(), 1);
        assert_eq!(
            Target::parse("Edge.Example.NET.").unwrap(),
            Target::Cname("edge.example.net".into())
        );
        assert!(Target::parse("not a host").is_err());
        assert!(Target::parse("localhost").is_err());
    }

    #[test]
    fn record_names_are_relative_to_the_zone() {
        assert_eq!(
            record_name("site1.network.example", "network.example").unwrap(),
            "site1"
        );
        assert_eq!(
            record_name("a.b.network.example", "Network.Example.").unwrap(),
            "a.b"
        );
        assert!(record_name("network.example", "network.example").is_err());
        assert!(record_name("site1.other.example", "network.example").is_err());
        assert!(record_name("site1.xnetwork.example", "network.example").is_err());
    }

    #[test]
    fn records_with_numeric_or_named_types() {
        let zone = provider_sdk::http::parse_json_with(
            200,
            br#"{"Id":12,"Domain":"example.com","Records":[
                {"Id":1,"Type":0,"Ttl":300,"Value":"192.0.2.1","Name":"www","Weight":100},
                {"Id":2,"Type":"CNAME","Ttl":300,"Value":"edge.example.net.","Name":"cdn"},
                {"Id":3,"Type":3,"Value":"v=spf1","Name":""}]}"#,
            Zone::from_json,
        )
        .unwrap();
        assert_eq!(zone.records[0].kind(), Some(0));
        assert_eq!(zone.records[1].kind(), Some(2));
        assert!(
            Target::parse("edge.example.net")
                .unwrap()
                .matches(&zone.records[1])
        );
        assert!(
            Target::parse("192.0.2.1")
                .unwrap()
                .matches(&zone.records[0])
        );
        assert!(
            !Target::parse("192.0.2.2")
                .unwrap()
                .matches(&zone.records[0])
        );
        assert!(zone.records[2].has_name(""));
        assert!(zone.records[0].has_name("WWW"));
    }

    #[test]
    fn error_envelopes_are_readable() {
        assert_eq!(
            bunny_message(
                400,
                br#"{"ErrorKey":"dnszone.record.invalid_value","Field":"Value","Message":"The record value is invalid."}"#
            ),
            "The record value is invalid. (Value: dnszone.record.invalid_value)"
        );
        assert_eq!(bunny_message(401, b""), "empty response body (HTTP 401)");
    }
}
