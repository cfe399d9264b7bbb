//! Cloudflare API v4: custom hostnames (Cloudflare for SaaS) and DNS records
//! (`panel-apis-a.md` §1, emulator checklist §1.7), under `/client/v4`.
//!
//! - `Authorization: Bearer <token>`. `GET /user/tokens/verify` with an unknown token is 401
//!   code 1000 "Invalid API Token" (and so is an account-owned token, which verifies under
//!   `/accounts/{id}/tokens/verify` instead); elsewhere an unknown token is 403 code 9109
//!   "Invalid access token", and a token without a grant on the zone is 403 code 10000
//!   "Authentication error". An unknown zone id is 400 with codes 7003 ("Could not route to
//!   …, perhaps your object identifier is invalid?") and 7000.
//! - Every answer is the envelope `{success, errors, messages, result, result_info?}`;
//!   `errors_in_200` answers client errors with HTTP 200 and `success: false`, as some
//!   clients report seeing.
//! - Custom hostnames: create is **201**, with `status: pending`, `ssl.status:
//!   pending_validation`, `ownership_verification*` and `validation_records`; hostnames are
//!   checked (1407 invalid, 1409 reserved TLD, 1411 `example.com/net/org`) and so is `ssl`
//!   (1432 method, 1433 type, 1440 missing); a hostname any zone already has is 409 code 1406.
//!   `GET ?hostname=` (exact by default; `hostname_filter` makes it a substring match, since
//!   the reference does not say), `id` and `hostname` together 400/1438, paging with
//!   `page`/`per_page` (default 20, at most 50) and `result_info` (`total_pages` can be left
//!   out, as the legacy fixture does). `PATCH` re-checks (202); `DELETE` answers the bare
//!   `{"id"}` of the spec (`bare_delete: false` wraps it); unknown ids 404/1436.
//!   A state machine moves hostnames on: [`Cloudflare::advance`], [`Cloudflare::activate`],
//!   [`Cloudflare::set_ssl_status`], or `auto_advance` (each read of one hostname moves it a
//!   step). Once active, the ownership and validation records disappear from the answers.
//! - `GET custom_hostnames/fallback_origin`: `{origin, status, errors}`; when none is set the
//!   answer is a 404 (code 1551, UNVERIFIED: no source shows that answer).
//! - DNS records: create 200; an identical record 400/81057 "Record already exists."; a CNAME
//!   beside an A/AAAA/CNAME 400/81053, an A/AAAA beside a CNAME 400/81054; list filters
//!   `name` (exact) and `type`, `per_page` default 100; delete answers `{result: {id}}`,
//!   unknown 404/81044. A relative `name` and `content: "@"` are expanded to the zone's names.
//! - Rate limit: `limit` requests per `window` (1200 per 5 minutes), `Ratelimit` and
//!   `Ratelimit-Policy` headers on every answer; over budget 429 code 971 with `Retry-After`,
//!   and every call refused until the window ends.

use crate::server::{Panel, Request, Response, percent_decode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    /// Zone ids it is granted on; `None`: every zone.
    pub zones: Option<Vec<String>>,
    /// Owned by an account: `/user/tokens/verify` does not know it.
    pub account_owned: bool,
    /// `(zone id, permission)` pairs, e.g. `(saas, "SSL and Certificates Write")`; `None`:
    /// every permission. Each route accepts the permissions its API reference page lists
    /// under "Accepted Permissions (at least one required)" ([`accepted`]).
    pub permissions: Option<Vec<(String, String)>>,
}

/// The permissions a route accepts, as the API reference lists them (pages under
/// https://developers.cloudflare.com/api/resources/…, "Accepted Permissions (at least one
/// required)"; only the ones that matter here):
/// - `GET /zones/{id}` ("Zone Details", `zones/methods/get`): Zone Read, Zone Write, DNS
///   Read, DNS Write, SSL and Certificates Read/Write and many more, so a token scoped
///   only to "SSL and Certificates: Edit" on the SaaS zone can read that zone.
/// - `GET custom_hostnames`, `GET custom_hostnames/{id}`, `GET …/fallback_origin`
///   (`custom_hostnames/methods/list`, `…/get`, `fallback_origin/methods/get`): SSL and
///   Certificates Read or Write; `POST`/`PATCH`/`DELETE` custom hostnames: Write only.
/// - DNS records list: DNS Read or Write; create and delete: DNS Write.
pub fn accepted(method: &str, rest: &[&str]) -> &'static [&'static str] {
    const SSL_READ: &[&str] = &["SSL and Certificates Read", "SSL and Certificates Write"];
    const SSL_WRITE: &[&str] = &["SSL and Certificates Write"];
    const DNS_READ: &[&str] = &["DNS Read", "DNS Write"];
    const DNS_WRITE: &[&str] = &["DNS Write"];
    const ZONE: &[&str] = &[
        "Zone Read",
        "Zone Write",
        "DNS Read",
        "DNS Write",
        "SSL and Certificates Read",
        "SSL and Certificates Write",
    ];
    match (method, rest.first().copied()) {
        (_, None) => ZONE,
        ("GET", Some("custom_hostnames")) => SSL_READ,
        (_, Some("custom_hostnames")) => SSL_WRITE,
        ("GET", Some("dns_records")) => DNS_READ,
        _ => DNS_WRITE,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub content: String,
    pub proxied: bool,
    pub ttl: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomHostname {
    pub id: String,
    pub hostname: String,
    pub status: String,
    pub ssl_status: String,
    pub ssl_method: String,
    pub ownership_value: String,
    pub validation_token: String,
    /// No-change PATCHes received (re-checks).
    pub rechecks: u32,
    pub expires_on: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub records: Vec<DnsRecord>,
    pub hostnames: Vec<CustomHostname>,
    pub fallback_origin: Option<String>,
}

/// How `GET custom_hostnames?hostname=` matches (the reference does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostnameFilter {
    Exact,
    Contains,
}

#[derive(Debug, Clone)]
pub struct Cloudflare {
    pub tokens: Vec<Token>,
    pub zones: BTreeMap<String, Zone>,
    pub hostname_filter: HostnameFilter,
    /// `result_info.total_pages` in listings.
    pub total_pages: bool,
    /// Custom-hostname DELETE answers the bare `{"id"}` (the spec), else an envelope.
    pub bare_delete: bool,
    /// Client errors come with HTTP 200 and `success: false`.
    pub errors_in_200: bool,
    /// Each `GET custom_hostnames/{id}` or listing that shows a hostname moves it a step.
    pub auto_advance: bool,
    pub limit: u32,
    pub window: Duration,
    pub used: u32,
    window_started: Instant,
    next_id: u64,
}

/// The SSL steps of a new hostname, in order.
const SSL_STEPS: &[&str] = &[
    "initializing",
    "pending_validation",
    "pending_issuance",
    "pending_deployment",
    "active",
];

impl Cloudflare {
    /// One token with a grant on every zone, and no zones yet.
    pub fn new(token: &str) -> Self {
        Cloudflare {
            tokens: vec![Token {
                value: token.into(),
                zones: None,
                account_owned: false,
                permissions: None,
            }],
            zones: BTreeMap::new(),
            hostname_filter: HostnameFilter::Exact,
            total_pages: true,
            bare_delete: true,
            errors_in_200: false,
            auto_advance: false,
            limit: 1200,
            window: Duration::from_secs(300),
            used: 0,
            window_started: Instant::now(),
            next_id: 1,
        }
    }

    pub fn add_zone(&mut self, id: &str, name: &str) {
        self.zones.insert(
            id.into(),
            Zone {
                id: id.into(),
                name: name.into(),
                records: vec![],
                hostnames: vec![],
                fallback_origin: None,
            },
        );
    }

    pub fn zone(&self, id: &str) -> &Zone {
        &self.zones[id]
    }

    pub fn zone_mut(&mut self, id: &str) -> &mut Zone {
        self.zones.get_mut(id).expect("no such zone")
    }

    /// Allows `limit` requests per `window`, the window starting now.
    pub fn limit_rate(&mut self, limit: u32, window: Duration) {
        self.limit = limit;
        self.window = window;
        self.used = 0;
        self.window_started = Instant::now();
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn uuid(&mut self) -> String {
        let n = self.id();
        let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (h >> 32) as u32,
            (h >> 16) as u16,
            (h & 0xfff) as u16,
            (n & 0xfff) as u16,
            n
        )
    }

    fn hex_id(&mut self) -> String {
        let n = self.id();
        format!("{:016x}{:016x}", n.wrapping_mul(0x2545_F491_4F6C_DD1D), n)
    }

    fn new_hostname(&mut self, hostname: &str, method: &str) -> CustomHostname {
        CustomHostname {
            id: self.uuid(),
            hostname: hostname.into(),
            status: "pending".into(),
            ssl_status: "pending_validation".into(),
            ssl_method: method.into(),
            ownership_value: self.uuid(),
            validation_token: format!("ca3-{}", self.hex_id()),
            rechecks: 0,
            expires_on: None,
        }
    }

    /// A custom hostname created directly (test set-up); returns its id.
    pub fn seed_hostname(&mut self, zone: &str, hostname: &str) -> String {
        let h = self.new_hostname(hostname, "http");
        let id = h.id.clone();
        self.zone_mut(zone).hostnames.push(h);
        id
    }

    pub fn seed_record(&mut self, zone: &str, kind: &str, name: &str, content: &str) {
        let id = self.hex_id();
        self.zone_mut(zone).records.push(DnsRecord {
            id,
            kind: kind.into(),
            name: name.into(),
            content: content.into(),
            proxied: false,
            ttl: 1,
        });
    }

    pub fn hostname(&self, zone: &str, hostname: &str) -> Option<&CustomHostname> {
        self.zones[zone]
            .hostnames
            .iter()
            .find(|h| h.hostname == hostname)
    }

    fn hostname_mut(&mut self, hostname: &str) -> Option<&mut CustomHostname> {
        self.zones
            .values_mut()
            .flat_map(|z| z.hostnames.iter_mut())
            .find(|h| h.hostname == hostname)
    }

    /// The hostname's certificate moves one step (and the hostname becomes active once its
    /// certificate is being issued).
    pub fn advance(&mut self, hostname: &str) {
        if let Some(h) = self.hostname_mut(hostname) {
            step(h);
        }
    }

    /// Hostname and certificate both active, the certificate expiring at `expires_on`.
    pub fn activate(&mut self, hostname: &str, expires_on: &str) {
        if let Some(h) = self.hostname_mut(hostname) {
            h.status = "active".into();
            h.ssl_status = "active".into();
            h.expires_on = Some(expires_on.into());
        }
    }

    pub fn set_ssl_status(&mut self, hostname: &str, status: &str) {
        if let Some(h) = self.hostname_mut(hostname) {
            h.ssl_status = status.into();
        }
    }

    fn fail(&self, status: u16, errors: &[(i64, String)]) -> Response {
        let status = if self.errors_in_200 && (400..500).contains(&status) && status != 429 {
            200
        } else {
            status
        };
        let errors: Vec<Value> = errors
            .iter()
            .map(|(code, message)| json!({ "code": code, "message": message }))
            .collect();
        Response::json(
            status,
            &json!({ "success": false, "errors": errors, "messages": [], "result": null }),
        )
    }

    fn fail1(&self, status: u16, code: i64, message: &str) -> Response {
        self.fail(status, &[(code, message.to_string())])
    }

    fn route(&mut self, request: &Request) -> Response {
        let Some(path) = request.path.strip_prefix("/client/v4") else {
            return self.fail1(404, 7000, "No route for that URI");
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        // Bearer token (§1.1, CFGO `internal/requestconfig`); a request without one is
        // unverified: 9106 is what clients report, not a documented table.
        let header = request.header("authorization").unwrap_or("");
        let Some(presented) = header.strip_prefix("Bearer ") else {
            return self.fail1(
                400,
                9106,
                "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
            );
        };
        let token = self.tokens.iter().find(|t| t.value == presented).cloned();
        let method = request.method.as_str();
        // §1.2/§1.3: verify 200 + message 10000 ([3P] ref 2434022), unknown 401/1000
        // ([3P] ref 494794143, [FIELD] ref 69560052117).
        if let ("GET", ["user", "tokens", "verify"]) = (method, segments.as_slice()) {
            return match token {
                Some(t) if !t.account_owned => ok(
                    200,
                    json!({ "id": "ed17574386854bf78a67040be0a770b0", "status": "active" }),
                    &[
                        json!({ "code": 10000, "message": "This API Token is valid and active", "type": null }),
                    ],
                ),
                _ => self.fail1(401, 1000, "Invalid API Token"),
            };
        }
        // §1.2: an unknown token elsewhere is 403/9109 ([3P] refs 53173839320, 61026015954).
        let Some(token) = token else {
            return self.fail1(403, 9109, "Invalid access token");
        };
        let ["zones", zone_id, rest @ ..] = segments.as_slice() else {
            return self.fail1(400, 7000, "No route for that URI");
        };
        let zone_id = zone_id.to_string();
        // Unknown zone 400/7003+7000: unverified, no stored source shows the body (the
        // component maps any 7003 or 404 to not_found and names the constant).
        if !self.zones.contains_key(&zone_id) {
            return self.fail(
                400,
                &[
                    (
                        7003,
                        format!(
                            "Could not route to {}, perhaps your object identifier is invalid?",
                            request.path
                        ),
                    ),
                    (7000, "No route for that URI".into()),
                ],
            );
        }
        if token
            .zones
            .as_ref()
            .is_some_and(|zones| !zones.contains(&zone_id))
        {
            return self.fail1(403, 10000, "Authentication error");
        }
        // A token without one of the route's accepted permissions on this zone: 403/10000,
        // as for a missing zone grant (§1.2, [3P] ref 61026015954).
        if let Some(granted) = &token.permissions {
            let wanted = accepted(method, rest);
            if !granted
                .iter()
                .any(|(z, p)| *z == zone_id && wanted.contains(&p.as_str()))
            {
                return self.fail1(403, 10000, "Authentication error");
            }
        }
        match (method, rest) {
            ("GET", []) => {
                let z = &self.zones[&zone_id];
                ok(
                    200,
                    json!({ "id": z.id, "name": z.name, "status": "active", "paused": false,
                            "type": "full", "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"] }),
                    &[],
                )
            }
            ("GET", ["dns_records"]) => self.list_records(&zone_id, request),
            ("POST", ["dns_records"]) => self.create_record(&zone_id, request),
            // §1.3: delete is enveloped `{result:{id}}` (CFGO `RecordDeleteResponse`);
            // unknown 404/81044 is unverified (§1.4).
            ("DELETE", ["dns_records", id]) => {
                let zone = self.zone_mut(&zone_id);
                match zone.records.iter().position(|r| r.id == *id) {
                    Some(i) => {
                        let removed = zone.records.remove(i);
                        ok(200, json!({ "id": removed.id }), &[])
                    }
                    None => self.fail1(404, 81044, "Record does not exist."),
                }
            }
            // `fallback_origin/methods/get` (docs): `{origin, status, errors}`; the 404 when
            // none is set is unverified (the component reads any 404 or empty origin alike).
            ("GET", ["custom_hostnames", "fallback_origin"]) => {
                match &self.zones[&zone_id].fallback_origin {
                    Some(origin) => ok(
                        200,
                        json!({ "origin": origin, "status": "active", "errors": [],
                                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" }),
                        &[],
                    ),
                    None => self.fail1(404, 1551, "No fallback origin found for this zone."),
                }
            }
            ("GET", ["custom_hostnames"]) => self.list_hostnames(&zone_id, request),
            ("POST", ["custom_hostnames"]) => self.create_hostname(&zone_id, request),
            // §1.3 get one 200; unknown 404/1436 (§1.4, CF-SC).
            ("GET", ["custom_hostnames", id]) => {
                let auto = self.auto_advance;
                let zone = self.zone_mut(&zone_id);
                match zone.hostnames.iter_mut().find(|h| h.id == *id) {
                    Some(h) => {
                        if auto {
                            step(h);
                        }
                        let body = hostname_json(h);
                        ok(200, body, &[])
                    }
                    None => self.fail1(404, 1436, "The custom hostname was not found."),
                }
            }
            // §1.3/§1.5: a no-change PATCH re-triggers DCV, 202 (CF-SC; "Common API Calls",
            // developers.cloudflare.com/cloudflare-for-saas/start/common-api-calls).
            ("PATCH", ["custom_hostnames", id]) => {
                if let Err(response) = self.check_ssl(request) {
                    return response;
                }
                let zone = self.zone_mut(&zone_id);
                match zone.hostnames.iter_mut().find(|h| h.id == *id) {
                    Some(h) => {
                        h.rechecks += 1;
                        if ["moved", "deleted"].contains(&h.status.as_str()) {
                            h.status = "pending".into();
                            h.ssl_status = "pending_validation".into();
                        }
                        let body = hostname_json(h);
                        ok(202, body, &[])
                    }
                    None => self.fail1(404, 1436, "The custom hostname was not found."),
                }
            }
            // §1.3/§1.6: bare `{"id"}` per spec (CFGO `Delete`, docs "Delete Custom Hostname
            // … -> { id }"); `bare_delete: false` serves the enveloped shape too.
            ("DELETE", ["custom_hostnames", id]) => {
                let bare = self.bare_delete;
                let zone = self.zone_mut(&zone_id);
                match zone.hostnames.iter().position(|h| h.id == *id) {
                    Some(i) => {
                        let removed = zone.hostnames.remove(i);
                        if bare {
                            Response::json(200, &json!({ "id": removed.id }))
                        } else {
                            ok(200, json!({ "id": removed.id }), &[])
                        }
                    }
                    None => self.fail1(404, 1436, "The custom hostname was not found."),
                }
            }
            _ => self.fail1(400, 7000, "No route for that URI"),
        }
    }

    fn page_params(&self, request: &Request, default: usize, max: usize) -> (usize, usize) {
        let page = request
            .query_param("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let per_page = request
            .query_param("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(default)
            .min(max);
        (page, per_page)
    }

    fn result_info(&self, page: usize, per_page: usize, count: usize, total: usize) -> Value {
        let mut info =
            json!({ "page": page, "per_page": per_page, "count": count, "total_count": total });
        if self.total_pages {
            info["total_pages"] = json!(total.div_ceil(per_page).max(1));
        }
        info
    }

    /// §1.3/§1.5: `hostname` filter (exact or, as the current reference's
    /// `hostname.contain` says, substring: both served via `hostname_filter`), `id`+`hostname`
    /// 400/1438 (CF-SC), `result_info` paging (CFGO0 `ResultInfo`; `total_pages` optional).
    fn list_hostnames(&mut self, zone_id: &str, request: &Request) -> Response {
        let hostname = request.query_param("hostname").map(|h| percent_decode(&h));
        let id = request.query_param("id");
        if hostname.is_some() && id.is_some() {
            return self.fail1(
                400,
                1438,
                "The id and hostname parameters cannot be used together.",
            );
        }
        let (page, per_page) = self.page_params(request, 20, 50);
        let filter = self.hostname_filter;
        let auto = self.auto_advance;
        let zone = self.zone_mut(zone_id);
        let matching: Vec<&mut CustomHostname> = zone
            .hostnames
            .iter_mut()
            .filter(|h| match (&hostname, &id) {
                (Some(name), _) => match filter {
                    HostnameFilter::Exact => h.hostname.eq_ignore_ascii_case(name),
                    HostnameFilter::Contains => h.hostname.contains(&name.to_ascii_lowercase()),
                },
                (None, Some(id)) => &h.id == id,
                (None, None) => true,
            })
            .collect();
        let total = matching.len();
        let mut items = Vec::new();
        for h in matching
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
        {
            if auto && hostname.is_some() {
                step(h);
            }
            items.push(hostname_json(h));
        }
        let info = self.result_info(page, per_page, items.len(), total);
        envelope(200, json!(items), Some(info))
    }

    /// §1.4 (CF-SC): 1400 bad JSON, 1440 method and type both required, 1432 method,
    /// 1433 type (`dv` only, CFGO).
    fn check_ssl(&self, request: &Request) -> Result<Value, Response> {
        let body = request
            .json()
            .map_err(|_| self.fail1(400, 1400, "Unable to decode the JSON request body."))?;
        let Some(ssl) = body.get("ssl").filter(|s| s.is_object()) else {
            return Err(self.fail1(400, 1440, "Both the SSL method and type are required."));
        };
        let method = ssl.get("method").and_then(Value::as_str).unwrap_or("");
        if !["http", "txt", "email"].contains(&method) {
            return Err(self.fail1(
                400,
                1432,
                "The SSL attribute method is invalid. Valid methods: http, txt, email.",
            ));
        }
        if ssl.get("type").and_then(Value::as_str) != Some("dv") {
            return Err(self.fail1(
                400,
                1433,
                "The SSL attribute type is invalid. Valid types: dv.",
            ));
        }
        Ok(body)
    }

    /// §1.3/§1.6: create is 201 (CF-SC success codes); a duplicate 409/1406 (CF-SC).
    fn create_hostname(&mut self, zone_id: &str, request: &Request) -> Response {
        let body = match self.check_ssl(request) {
            Ok(body) => body,
            Err(response) => {
                // A missing or unreadable hostname is reported first.
                if request
                    .json()
                    .ok()
                    .and_then(|b| b.get("hostname").cloned())
                    .is_none()
                {
                    return self.fail1(400, 1407, "Invalid custom hostname.");
                }
                return response;
            }
        };
        let hostname = body
            .get("hostname")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if let Err(response) = self.check_hostname(&hostname) {
            return response;
        }
        if self
            .zones
            .values()
            .any(|z| z.hostnames.iter().any(|h| h.hostname == hostname))
        {
            return self.fail1(409, 1406, "Duplicate custom hostname found.");
        }
        let method = body["ssl"]["method"].as_str().unwrap_or("http").to_string();
        let h = self.new_hostname(&hostname, &method);
        let json = hostname_json(&h);
        self.zone_mut(zone_id).hostnames.push(h);
        ok(201, json, &[])
    }

    /// §1.4 (CF-SC): 1407 invalid, 1409 reserved TLD, 1411 `example.com/net/org`.
    fn check_hostname(&self, hostname: &str) -> Result<(), Response> {
        let labels: Vec<&str> = hostname.split('.').collect();
        let valid = hostname.len() <= 255
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && !labels
                .last()
                .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(self.fail1(400, 1407, "Invalid custom hostname."));
        }
        let tld = labels.last().copied().unwrap_or("");
        if ["test", "example", "invalid", "localhost", "local"].contains(&tld) {
            return Err(self.fail1(
                400,
                1409,
                "The custom hostname is a reserved top level domain.",
            ));
        }
        if ["example.com", "example.net", "example.org"]
            .iter()
            .any(|d| hostname == *d || hostname.ends_with(&format!(".{d}")))
        {
            return Err(self.fail1(
                400,
                1411,
                "Custom hostnames ending in example.com, example.net, or example.org are prohibited.",
            ));
        }
        Ok(())
    }

    /// §1.3: `name`/`type` filters, `per_page` default 100 (CFGO0 `dns.go`).
    fn list_records(&self, zone_id: &str, request: &Request) -> Response {
        let zone = &self.zones[zone_id];
        let name = request.query_param("name").map(|n| percent_decode(&n));
        let kind = request.query_param("type");
        let (page, per_page) = self.page_params(request, 100, 5000);
        let matching: Vec<&DnsRecord> = zone
            .records
            .iter()
            .filter(|r| name.as_ref().is_none_or(|n| r.name.eq_ignore_ascii_case(n)))
            .filter(|r| kind.as_ref().is_none_or(|k| r.kind.eq_ignore_ascii_case(k)))
            .collect();
        let items: Vec<Value> = matching
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|r| record_json(r, zone))
            .collect();
        let info = self.result_info(page, per_page, items.len(), matching.len());
        envelope(200, json!(items), Some(info))
    }

    /// §1.3/§1.4: create 200 (status unverified); 81057 identical ([3P] refs 66586203362,
    /// 953415409), 81054 ([3P] SynologyCloudflareDDNS#29), 81053 unverified. The
    /// expansion of a relative name and `"@"` is unverified (§1.6); the component sends
    /// fully qualified names, so it does not rely on it.
    fn create_record(&mut self, zone_id: &str, request: &Request) -> Response {
        let Ok(body) = request.json() else {
            return self.fail1(400, 9207, "Request body is invalid.");
        };
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(kind), Some(name), Some(content)) =
            (field("type"), field("name"), field("content"))
        else {
            return self.fail1(400, 1004, "DNS Validation Error");
        };
        let kind = kind.to_ascii_uppercase();
        if !["A", "AAAA", "CNAME", "TXT", "MX", "CAA"].contains(&kind.as_str()) {
            return self.fail1(400, 1004, "DNS Validation Error");
        }
        let apex = self.zones[zone_id].name.clone();
        let name = expand(&name, &apex);
        if name != apex && !name.ends_with(&format!(".{apex}")) {
            return self.fail1(400, 1004, "DNS Validation Error");
        }
        let content = if kind == "CNAME" {
            expand_target(&content, &apex)
        } else {
            content
        };
        let zone = &self.zones[zone_id];
        let same_name: Vec<&DnsRecord> = zone
            .records
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(&name))
            .collect();
        if same_name
            .iter()
            .any(|r| r.kind == kind && r.content.eq_ignore_ascii_case(&content))
        {
            return self.fail1(400, 81057, "Record already exists.");
        }
        let routed = |r: &&&DnsRecord| ["A", "AAAA", "CNAME"].contains(&r.kind.as_str());
        if kind == "CNAME" && same_name.iter().any(|r| routed(&r)) {
            return self.fail1(
                400,
                81053,
                "An A, AAAA, or CNAME record with that host already exists.",
            );
        }
        if ["A", "AAAA"].contains(&kind.as_str()) && same_name.iter().any(|r| r.kind == "CNAME") {
            return self.fail1(400, 81054, "A CNAME record with that host already exists.");
        }
        let record = DnsRecord {
            id: self.hex_id(),
            kind,
            name,
            content,
            proxied: body
                .get("proxied")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ttl: body.get("ttl").and_then(Value::as_u64).unwrap_or(1),
        };
        let zone = self.zone_mut(zone_id);
        let json = record_json(&record, zone);
        zone.records.push(record);
        ok(200, json, &[])
    }
}

/// One step of the state machine.
fn step(h: &mut CustomHostname) {
    if let Some(i) = SSL_STEPS.iter().position(|s| *s == h.ssl_status)
        && i + 1 < SSL_STEPS.len()
    {
        h.ssl_status = SSL_STEPS[i + 1].into();
        if SSL_STEPS[i + 1] == "active" && h.expires_on.is_none() {
            h.expires_on = Some("2027-03-01T12:00:00Z".into());
        }
    }
    if h.ssl_status != "pending_validation" && h.status == "pending" {
        h.status = "active".into();
    }
}

/// A record name as a fully qualified name in the zone `apex` (relative names get the
/// zone appended, `@` is the apex).
fn expand(name: &str, apex: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "@" || name.is_empty() {
        apex.to_string()
    } else if name == apex || name.ends_with(&format!(".{apex}")) {
        name
    } else {
        format!("{name}.{apex}")
    }
}

/// A CNAME target: `@` is the apex, anything else a name as written.
fn expand_target(target: &str, apex: &str) -> String {
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    if target == "@" {
        apex.to_string()
    } else {
        target
    }
}

fn envelope(status: u16, result: Value, info: Option<Value>) -> Response {
    let mut body = json!({ "success": true, "errors": [], "messages": [], "result": result });
    if let Some(info) = info {
        body["result_info"] = info;
    }
    Response::json(status, &body)
}

fn ok(status: u16, result: Value, messages: &[Value]) -> Response {
    Response::json(
        status,
        &json!({ "success": true, "errors": [], "messages": messages, "result": result }),
    )
}

fn hostname_json(h: &CustomHostname) -> Value {
    let active = h.status == "active";
    let mut ssl = json!({
        "id": format!("ssl-{}", h.id), "status": h.ssl_status, "method": h.ssl_method, "type": "dv",
        "validation_errors": [], "settings": { "http2": "on", "min_tls_version": "1.2" },
        "wildcard": false, "bundle_method": "ubiquitous", "certificate_authority": "google",
    });
    if h.ssl_status == "pending_validation" {
        ssl["validation_records"] = match h.ssl_method.as_str() {
            "txt" => {
                json!([{ "txt_name": format!("_acme-challenge.{}", h.hostname), "txt_value": h.validation_token }])
            }
            _ => json!([{
                "http_url": format!("http://{}/.well-known/pki-validation/{}.txt", h.hostname, h.validation_token),
                "http_body": h.validation_token,
            }]),
        };
    }
    if let Some(expires) = &h.expires_on {
        ssl["expires_on"] = json!(expires);
    }
    let mut body = json!({
        "id": h.id, "hostname": h.hostname, "ssl": ssl, "status": h.status,
        "created_at": "2026-02-06T18:11:23.531995Z",
    });
    if !active {
        body["verification_errors"] = json!([
            "None of the A or AAAA records are owned by this account and the pre-generated ownership verification token was not found."
        ]);
        body["ownership_verification"] = json!({
            "type": "txt", "name": format!("_cf-custom-hostname.{}", h.hostname), "value": h.ownership_value,
        });
        body["ownership_verification_http"] = json!({
            "http_url": format!("http://{}/.well-known/cf-custom-hostname-challenge/{}", h.hostname, h.id),
            "http_body": h.ownership_value,
        });
    }
    body
}

fn record_json(r: &DnsRecord, zone: &Zone) -> Value {
    json!({
        "id": r.id, "zone_id": zone.id, "zone_name": zone.name, "name": r.name, "type": r.kind,
        "content": r.content, "proxiable": true, "proxied": r.proxied, "ttl": r.ttl,
        "locked": false, "meta": { "auto_added": false },
        "created_on": "2026-01-01T00:00:00Z", "modified_on": "2026-01-01T00:00:00Z",
    })
}

impl Panel for Cloudflare {
    fn handle(&mut self, request: &Request) -> Response {
        if self.window_started.elapsed() >= self.window {
            self.window_started = Instant::now();
            self.used = 0;
        }
        let left = self.window.saturating_sub(self.window_started.elapsed());
        let reset = left.as_secs_f64().ceil().max(1.0) as u64;
        // §1.5 (CF-RL): 1200/5 min, `Ratelimit*` headers, 429 + `Retry-After` and lockout;
        // code 971 is unverified.
        if self.used >= self.limit {
            // Over budget: everything is refused for the rest of the window.
            return Response::json(
                429,
                &json!({ "success": false, "errors": [{ "code": 971, "message": "Please wait and consider throttling your request speed" }], "messages": [], "result": null }),
            )
            .with_header("retry-after", reset.to_string())
            .with_header("ratelimit", format!("\"default\";r=0;t={reset}"))
            .with_header(
                "ratelimit-policy",
                format!("\"default\";q={};w={}", self.limit, self.window.as_secs()),
            );
        }
        self.used += 1;
        let remaining = self.limit - self.used;
        let limit = self.limit;
        let window = self.window.as_secs();
        self.route(request)
            .with_header("ratelimit", format!("\"default\";r={remaining};t={reset}"))
            .with_header(
                "ratelimit-policy",
                format!("\"default\";q={limit};w={window}"),
            )
    }

    fn snapshot(&self) -> Value {
        let zones: Vec<Value> = self
            .zones
            .values()
            .map(|z| {
                json!({
                    "id": z.id, "name": z.name, "fallback_origin": z.fallback_origin,
                    "dns_records": z.records.iter().map(|r| record_json(r, z)).collect::<Vec<_>>(),
                    "custom_hostnames": z.hostnames.iter().map(hostname_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "panel": "cloudflare", "zones": zones })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_expanded_in_the_zone() {
        assert_eq!(expand("@", "net.com"), "net.com");
        assert_eq!(expand("site1", "net.com"), "site1.net.com");
        assert_eq!(expand("site1.net.com", "net.com"), "site1.net.com");
        assert_eq!(expand("www.site1", "net.com"), "www.site1.net.com");
        assert_eq!(
            expand_target("target.other.org", "net.com"),
            "target.other.org"
        );
        assert_eq!(expand_target("@", "net.com"), "net.com");
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(percent_decode("a%2Eb.com"), "a.b.com");
        assert_eq!(percent_decode("x%"), "x%");
    }
}
