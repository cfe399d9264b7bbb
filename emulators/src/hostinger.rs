//! Hostinger's public API (`panel-apis-b.md` §7), as its official SDK (generated from the
//! OpenAPI spec) describes it: the domain portfolio and DNS zones.
//!
//! - `Authorization: Bearer <token>`; otherwise 401 `{"message", "correlation_id"}`.
//! - `GET /api/domains/v1/portfolio` → `[{"id", "domain", "type", "status", "created_at",
//!   "expires_at"}]` (`domain` null for an unclaimed free domain).
//! - `GET /api/dns/v1/zones/{domain}` → `[{"name", "type", "ttl", "records": [{"content",
//!   "is_disabled"}]}]`; a domain not in the portfolio → `unknown_zone_status` (404 or 422:
//!   not documented).
//! - `PUT /api/dns/v1/zones/{domain}` `{"overwrite", "zone": [...]}`: `overwrite` defaults to
//!   **true** (record sets with the same name and type are replaced); with false, records are
//!   appended and TTLs updated. Invalid records → 422 `{message, errors: {"zone.N.records.M
//!   .content": [...]}, correlation_id}` (the field path is unverified); a CNAME at `@` or
//!   beside other data at its name → 422 (unverified wording).
//! - `DELETE /api/dns/v1/zones/{domain}` `{"filters": [{"name", "type"}]}` deletes every
//!   matching record set; no match → 200 (unverified).
//! - Mutations answer 200 `{"message": "Request accepted"}`.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    pub name: String,
    pub kind: String,
    pub ttl: u64,
    pub contents: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Hostinger {
    pub token: String,
    /// Portfolio domains (None: an unclaimed free domain).
    pub portfolio: Vec<Option<String>>,
    pub zones: BTreeMap<String, Vec<RecordSet>>,
    pub unknown_zone_status: u16,
    served: u64,
}

impl Hostinger {
    /// An account whose portfolio holds `domains`, each zone with an apex A record and MX.
    pub fn new(token: &str, domains: &[&str]) -> Self {
        let mut zones = BTreeMap::new();
        for d in domains {
            zones.insert(
                d.to_string(),
                vec![
                    RecordSet {
                        name: "@".into(),
                        kind: "A".into(),
                        ttl: 14400,
                        contents: vec!["203.0.113.20".into()],
                    },
                    RecordSet {
                        name: "@".into(),
                        kind: "MX".into(),
                        ttl: 14400,
                        contents: vec!["5 mx1.hostinger.com".into()],
                    },
                ],
            );
        }
        let mut portfolio: Vec<Option<String>> =
            domains.iter().map(|d| Some(d.to_string())).collect();
        portfolio.push(None);
        Hostinger {
            token: token.into(),
            portfolio,
            zones,
            unknown_zone_status: 404,
            served: 0,
        }
    }

    /// The record sets of `zone` at `name` (relative), e.g. `("shop", "CNAME")`.
    pub fn record(&self, zone: &str, name: &str, kind: &str) -> Option<&RecordSet> {
        self.zones
            .get(zone)?
            .iter()
            .find(|s| s.name == name && s.kind == kind)
    }

    /// Adds a record set directly (test set-up).
    pub fn seed(&mut self, zone: &str, name: &str, kind: &str, content: &str) {
        self.zones
            .get_mut(zone)
            .expect("no such zone")
            .push(RecordSet {
                name: name.into(),
                kind: kind.into(),
                ttl: 3600,
                contents: vec![content.into()],
            });
    }

    fn error(&mut self, status: u16, message: &str) -> Response {
        self.served += 1;
        Response::json(
            status,
            &json!({"message": message, "correlation_id": format!("c0ffee{:06}", self.served)}),
        )
    }

    fn invalid(&mut self, field: &str, message: &str) -> Response {
        self.served += 1;
        Response::json(
            422,
            &json!({"message": message, "errors": {field: [message]},
                    "correlation_id": format!("c0ffee{:06}", self.served)}),
        )
    }

    fn route(&mut self, request: &Request) -> Response {
        let bearer = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "));
        // §7.1 [DOC] HS-PY: Bearer token; 401 `{message, correlation_id}` (`InlineObject*`;
        // the message text is unverified, the component reads only the status).
        if bearer != Some(self.token.as_str()) {
            return self.error(401, "Unauthenticated");
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            // §7.2 [DOC] HS-PY: the portfolio is a plain array, no paging; `domain` null for
            // unclaimed free domains.
            ("GET", ["api", "domains", "v1", "portfolio"]) => {
                let list: Vec<Value> = self
                    .portfolio
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        json!({"id": 1000 + i, "domain": d, "type": if d.is_some() { "domain" } else { "free_domain" },
                               "status": if d.is_some() { "active" } else { "pending_setup" },
                               "created_at": "2025-01-10T10:00:00Z", "expires_at": "2027-01-10T10:00:00Z"})
                    })
                    .collect();
                Response::json(200, &Value::Array(list))
            }
            (method, ["api", "dns", "v1", "zones", domain]) => {
                let domain = domain.to_ascii_lowercase();
                // §7.2: a domain outside the portfolio is undocumented (unverified: both 404
                // and 422 served, `unknown_zone_status`).
                if !self.zones.contains_key(&domain) {
                    let status = self.unknown_zone_status;
                    return self.error(status, "Domain not found in your account");
                }
                match method {
                    "GET" => {
                        let list: Vec<Value> = self.zones[&domain]
                            .iter()
                            .map(|s| {
                                json!({"name": s.name, "type": s.kind, "ttl": s.ttl,
                                       "records": s.contents.iter().map(|c| json!({"content": c, "is_disabled": false})).collect::<Vec<_>>()})
                            })
                            .collect();
                        Response::json(200, &Value::Array(list))
                    }
                    // §7.2 [DOC] HS-PY `DNSV1ZoneUpdateRequest.md`: `overwrite` defaults to
                    // true; DELETE takes a JSON body of `filters` (name + type).
                    "PUT" => self.update(&domain, request),
                    "DELETE" => self.delete(&domain, request),
                    _ => self.error(405, "Method not allowed"),
                }
            }
            _ => self.error(404, "Not found"),
        }
    }

    fn update(&mut self, domain: &str, request: &Request) -> Response {
        let Ok(body) = request.json() else {
            return self.invalid("zone", "The zone field is required.");
        };
        let overwrite = body["overwrite"].as_bool().unwrap_or(true);
        let Some(sets) = body["zone"].as_array().filter(|z| !z.is_empty()) else {
            return self.invalid("zone", "The zone field is required.");
        };
        let mut parsed = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            let name = set["name"].as_str().unwrap_or("").to_ascii_lowercase();
            let kind = set["type"].as_str().unwrap_or("").to_ascii_uppercase();
            if name.is_empty() {
                return self.invalid(&format!("zone.{i}.name"), "The name field is required.");
            }
            if ![
                "A", "AAAA", "CNAME", "ALIAS", "MX", "TXT", "NS", "SOA", "SRV", "CAA",
            ]
            .contains(&kind.as_str())
            {
                return self.invalid(&format!("zone.{i}.type"), "The selected type is invalid.");
            }
            let ttl = set["ttl"].as_u64().unwrap_or(14400);
            let mut contents = Vec::new();
            for (j, r) in set["records"].as_array().into_iter().flatten().enumerate() {
                let content = r["content"].as_str().unwrap_or("").to_string();
                let field = format!("zone.{i}.records.{j}.content");
                if content.is_empty() {
                    return self.invalid(&field, "The content field is required.");
                }
                if kind == "CNAME"
                    && !crate::serverpilot::valid_hostname(content.trim_end_matches('.'))
                {
                    return self.invalid(&field, "The content must be a valid hostname.");
                }
                contents.push(content);
            }
            if contents.is_empty() {
                return self.invalid(
                    &format!("zone.{i}.records"),
                    "The records field is required.",
                );
            }
            if kind == "CNAME" && name == "@" {
                return self.invalid(
                    &format!("zone.{i}.name"),
                    "CNAME record cannot be created for the root domain.",
                );
            }
            parsed.push(RecordSet {
                name,
                kind,
                ttl,
                contents,
            });
        }
        let zone = self.zones.get(domain).cloned().unwrap_or_default();
        let mut next = zone.clone();
        for set in parsed {
            if overwrite {
                next.retain(|s| !(s.name == set.name && s.kind == set.kind));
            }
            // A CNAME cannot share its name with other data.
            let clash = next
                .iter()
                .any(|s| s.name == set.name && (s.kind == "CNAME") != (set.kind == "CNAME"));
            if clash {
                return self.invalid(
                    "zone",
                    &format!(
                        "A CNAME record cannot coexist with other records for {}.",
                        set.name
                    ),
                );
            }
            match next
                .iter_mut()
                .find(|s| s.name == set.name && s.kind == set.kind)
            {
                Some(existing) => {
                    existing.ttl = set.ttl;
                    for c in set.contents {
                        if !existing.contents.contains(&c) {
                            existing.contents.push(c);
                        }
                    }
                }
                None => next.push(set),
            }
        }
        self.zones.insert(domain.to_string(), next);
        Response::json(200, &json!({"message": "Request accepted"}))
    }

    fn delete(&mut self, domain: &str, request: &Request) -> Response {
        let body = request.json().unwrap_or(Value::Null);
        let Some(filters) = body["filters"].as_array().filter(|f| !f.is_empty()) else {
            return self.invalid("filters", "The filters field is required.");
        };
        let mut pairs = Vec::new();
        for (i, f) in filters.iter().enumerate() {
            let (Some(name), Some(kind)) = (f["name"].as_str(), f["type"].as_str()) else {
                return self.invalid(
                    &format!("filters.{i}"),
                    "The name and type fields are required.",
                );
            };
            pairs.push((name.to_ascii_lowercase(), kind.to_ascii_uppercase()));
        }
        if let Some(zone) = self.zones.get_mut(domain) {
            zone.retain(|s| !pairs.iter().any(|(n, k)| &s.name == n && &s.kind == k));
        }
        Response::json(200, &json!({"message": "Request accepted"}))
    }
}

impl Panel for Hostinger {
    fn handle(&mut self, request: &Request) -> Response {
        self.route(request)
    }

    fn snapshot(&self) -> Value {
        let zones: serde_json::Map<String, Value> = self
            .zones
            .iter()
            .map(|(z, sets)| {
                (
                    z.clone(),
                    sets.iter()
                        .map(|s| json!({"name": s.name, "type": s.kind, "ttl": s.ttl, "contents": s.contents}))
                        .collect(),
                )
            })
            .collect();
        json!({"panel": "hostinger", "portfolio": self.portfolio, "zones": zones})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(panel: &mut Hostinger, body: Value) -> Response {
        panel.handle(&Request {
            method: "PUT".into(),
            path: "/api/dns/v1/zones/example.com".into(),
            query: String::new(),
            headers: vec![("authorization".into(), "Bearer t".into())],
            body: serde_json::to_vec(&body).unwrap(),
            received: std::time::Instant::now(),
        })
    }

    #[test]
    fn overwrite_defaults_to_true_and_false_appends() {
        let mut panel = Hostinger::new("t", &["example.com"]);
        panel.seed("example.com", "txt", "TXT", "one");
        let set = |c: &str| json!([{"name": "txt", "type": "TXT", "records": [{"content": c}]}]);
        assert_eq!(
            put(&mut panel, json!({"overwrite": false, "zone": set("two")})).status,
            200
        );
        assert_eq!(
            panel.record("example.com", "txt", "TXT").unwrap().contents,
            ["one", "two"]
        );
        assert_eq!(put(&mut panel, json!({"zone": set("three")})).status, 200);
        assert_eq!(
            panel.record("example.com", "txt", "TXT").unwrap().contents,
            ["three"]
        );
        let apex = json!({"overwrite": false, "zone": [{"name": "@", "type": "CNAME", "records": [{"content": "x.net"}]}]});
        assert_eq!(put(&mut panel, apex).status, 422);
    }
}
