//! bunny.net's DNS API (`panel-apis-a.md` §8) at `https://api.bunny.net`.
//!
//! - `AccessKey: <account API key>`; otherwise 401 with an empty body.
//! - `GET /dnszone/{id}` → the zone with its `Records`; `GET /dnszone/{id}/records` → pages
//!   `{Items, CurrentPage, TotalItems, HasMoreItems}` (`page`, `perPage` 5–1000). The paged
//!   endpoint is attested by clients, not bunny.net's docs: `records_endpoint = false`
//!   answers it 404.
//! - `PUT /dnszone/{id}/records` → 201 record (a fresh `Id`); validation → 400
//!   `{ErrorKey, Field, Message}`; `Type` as a number or a name. An exact duplicate is
//!   accepted (round robin) unless `reject_duplicates` (unverified either way).
//! - `DELETE /dnszone/{id}/records/{rid}` → 204; unknown zone or record → 404 with the
//!   envelope (its body is unverified). `type_as_name` answers `Type` as `"A"` etc.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    pub kind: u8,
    pub ttl: u32,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub domain: String,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone)]
pub struct BunnyNet {
    pub key: String,
    pub zones: BTreeMap<u64, Zone>,
    pub records_endpoint: bool,
    pub reject_duplicates: bool,
    pub type_as_name: bool,
    next_id: u64,
}

const TYPES: [&str; 16] = [
    "A", "AAAA", "CNAME", "TXT", "MX", "Redirect", "Flatten", "PullZone", "SRV", "CAA", "PTR",
    "Script", "NS", "SVCB", "HTTPS", "TLSA",
];

impl BunnyNet {
    pub fn new(key: &str, zone: u64, domain: &str) -> Self {
        let mut zones = BTreeMap::new();
        zones.insert(
            zone,
            Zone {
                domain: domain.into(),
                records: vec![],
            },
        );
        BunnyNet {
            key: key.into(),
            zones,
            records_endpoint: true,
            reject_duplicates: false,
            type_as_name: false,
            next_id: 5000,
        }
    }

    /// Adds a record directly (test set-up); returns its id.
    pub fn seed(&mut self, zone: u64, kind: u8, name: &str, value: &str) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.zones
            .get_mut(&zone)
            .expect("no such zone")
            .records
            .push(Record {
                id,
                kind,
                ttl: 300,
                name: name.into(),
                value: value.into(),
            });
        id
    }

    pub fn records(&self, zone: u64) -> Vec<Record> {
        self.zones[&zone].records.clone()
    }

    fn record_json(&self, r: &Record) -> Value {
        let kind = if self.type_as_name {
            json!(TYPES[usize::from(r.kind)])
        } else {
            json!(r.kind)
        };
        json!({
            "Id": r.id, "Type": kind, "Ttl": r.ttl, "Value": r.value, "Name": r.name,
            "Weight": 100, "Priority": 0, "Port": 0, "Flags": 0, "Tag": null,
            "Accelerated": false, "AcceleratedPullZoneId": 0, "LinkName": null,
            "IPGeoLocationInfo": null, "GeolocationInfo": null, "MonitorStatus": 0,
            "MonitorType": 0, "GeolocationLatitude": 0.0, "GeolocationLongitude": 0.0,
            "EnviromentalVariables": [], "LatencyZone": null, "SmartRoutingType": 0,
            "Disabled": false, "Comment": null, "AutoSslIssuance": true
        })
    }

    fn create(&mut self, zone: u64, request: &Request) -> Response {
        let Ok(body) = request.json() else {
            return envelope(
                400,
                "dnszone.record.invalid",
                "",
                "The request body is invalid.",
            );
        };
        let kind = match &body["Type"] {
            Value::Number(n) => n.as_u64().filter(|k| *k < 16).map(|k| k as u8),
            Value::String(s) => TYPES
                .iter()
                .position(|t| t.eq_ignore_ascii_case(s))
                .map(|k| k as u8),
            _ => None,
        };
        let Some(kind) = kind else {
            return envelope(
                400,
                "dnszone.record.invalid_type",
                "Type",
                "The record type is invalid.",
            );
        };
        let name = body["Name"].as_str().unwrap_or("").to_ascii_lowercase();
        let name_ok = name.is_empty()
            || name == "@"
            || name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*')
            });
        if !name_ok {
            return envelope(
                400,
                "dnszone.record.invalid_name",
                "Name",
                "The record name is invalid.",
            );
        }
        let value = body["Value"].as_str().unwrap_or("").to_string();
        let value_ok = match kind {
            0 => value.parse::<std::net::Ipv4Addr>().is_ok(),
            1 => value.parse::<std::net::Ipv6Addr>().is_ok(),
            2 => crate::serverpilot::valid_hostname(&value),
            _ => !value.is_empty(),
        };
        if !value_ok {
            return envelope(
                400,
                "dnszone.record.invalid_value",
                "Value",
                "The record value is invalid.",
            );
        }
        let ttl = body["Ttl"].as_u64().unwrap_or(300) as u32;
        let records = &self.zones[&zone].records;
        if kind == 2 && records.iter().any(|r| r.name == name) {
            return envelope(
                400,
                "dnszone.record.cname_conflict",
                "Name",
                "A CNAME record cannot share its name with other records.",
            );
        }
        if self.reject_duplicates
            && records
                .iter()
                .any(|r| r.name == name && r.kind == kind && r.value == value)
        {
            return envelope(
                400,
                "dnszone.record.duplicate",
                "Value",
                "The record already exists.",
            );
        }
        self.next_id += 1;
        let record = Record {
            id: self.next_id,
            kind,
            ttl,
            name,
            value,
        };
        let answer = self.record_json(&record);
        self.zones.get_mut(&zone).unwrap().records.push(record);
        Response::json(201, &answer)
    }
}

impl Panel for BunnyNet {
    fn handle(&mut self, request: &Request) -> Response {
        if request.header("accesskey") != Some(self.key.as_str()) {
            return Response {
                status: 401,
                headers: vec![],
                body: vec![],
            };
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let zone_of = |s: &str| s.parse::<u64>().ok();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["dnszone", id]) => {
                match zone_of(id).and_then(|z| self.zones.get(&z).map(|zone| (z, zone))) {
                    Some((z, zone)) => Response::json(
                        200,
                        &json!({
                            "Id": z, "Domain": zone.domain,
                            "Records": zone.records.iter().map(|r| self.record_json(r)).collect::<Vec<_>>(),
                            "DateModified": "2026-01-01T00:00:00", "DateCreated": "2025-01-01T00:00:00",
                            "NameserversDetected": true, "CustomNameserversEnabled": false,
                            "Nameserver1": "kiki.bunny.net", "Nameserver2": "coco.bunny.net",
                            "SoaEmail": "hostmaster@bunny.net", "LoggingEnabled": false
                        }),
                    ),
                    None => zone_not_found(),
                }
            }
            ("GET", ["dnszone", id, "records"]) if self.records_endpoint => {
                let Some(zone) = zone_of(id).and_then(|z| self.zones.get(&z)) else {
                    return zone_not_found();
                };
                let page: usize = request
                    .query_param("page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1)
                    .max(1);
                let per_page: usize = request
                    .query_param("perPage")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1000);
                if !(5..=1000).contains(&per_page) {
                    return envelope(
                        400,
                        "validation",
                        "perPage",
                        "perPage must be between 5 and 1000.",
                    );
                }
                let items: Vec<Value> = zone
                    .records
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|r| self.record_json(r))
                    .collect();
                Response::json(
                    200,
                    &json!({"Items": items, "CurrentPage": page, "TotalItems": zone.records.len(),
                            "HasMoreItems": page * per_page < zone.records.len()}),
                )
            }
            ("PUT", ["dnszone", id, "records"]) => {
                match zone_of(id).filter(|z| self.zones.contains_key(z)) {
                    Some(z) => self.create(z, request),
                    None => zone_not_found(),
                }
            }
            ("DELETE", ["dnszone", id, "records", rid]) => {
                let Some(zone) = zone_of(id).and_then(|z| self.zones.get_mut(&z)) else {
                    return zone_not_found();
                };
                let rid: Option<u64> = rid.parse().ok();
                match zone.records.iter().position(|r| Some(r.id) == rid) {
                    Some(i) => {
                        zone.records.remove(i);
                        Response {
                            status: 204,
                            headers: vec![],
                            body: vec![],
                        }
                    }
                    None => envelope(
                        404,
                        "dnszone.record.not_found",
                        "Id",
                        "The requested DNS record was not found.",
                    ),
                }
            }
            _ => envelope(
                404,
                "not_found",
                "",
                "The requested resource was not found.",
            ),
        }
    }

    fn snapshot(&self) -> Value {
        let zones: Vec<Value> = self
            .zones
            .iter()
            .map(|(id, z)| json!({"id": id, "domain": z.domain, "records": z.records.iter().map(|r| self.record_json(r)).collect::<Vec<_>>()}))
            .collect();
        json!({ "panel": "bunnynet", "zones": zones })
    }
}

fn envelope(status: u16, key: &str, field: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({ "ErrorKey": key, "Field": field, "Message": message }),
    )
}

fn zone_not_found() -> Response {
    envelope(
        404,
        "dnszone.not_found",
        "Id",
        "The requested DNS zone was not found.",
    )
}
