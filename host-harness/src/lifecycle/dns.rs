//! DNS as the CA sees it: the domain's authoritative nameservers asked directly (no cache),
//! the answer classified against what the network serves from.
//!
//! The transport is a small UDP client (TCP when the answer is truncated) over
//! hickory-proto's message encoding; [`classify`] is pure and unit-tested.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
}

/// Why a query has no answer: never a verdict on the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouldNotCheck(pub String);

fn fqdn(name: &str) -> Result<Name, CouldNotCheck> {
    let mut n =
        Name::from_ascii(name).map_err(|e| CouldNotCheck(format!("bad name {name}: {e}")))?;
    n.set_fqdn(true);
    Ok(n)
}

/// Asks one server.
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    recursion: bool,
    timeout: Duration,
) -> Result<Lookup, CouldNotCheck> {
    let id: u16 = u16::from_le_bytes(crate::sandbox::files::random_bytes::<2>());
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = recursion;
    message.add_query(Query::query(fqdn(name)?, rtype));
    let bytes = message
        .to_vec()
        .map_err(|e| CouldNotCheck(format!("encoding the query failed: {e}")))?;
    let answer = tokio::time::timeout(timeout, async {
        let local: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let socket = tokio::net::UdpSocket::bind(local).await?;
        socket.connect(server).await?;
        socket.send(&bytes).await?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = socket.recv(&mut buf).await?;
            if let Ok(m) = Message::from_vec(&buf[..n])
                && m.metadata.id == id
            {
                return Ok::<_, std::io::Error>(m);
            }
        }
    })
    .await
    .map_err(|_| CouldNotCheck(format!("{server} did not answer within {timeout:?}")))?
    .map_err(|e| CouldNotCheck(format!("{server}: {e}")))?;
    let answer = if answer.metadata.truncation {
        tokio::time::timeout(timeout, query_tcp(server, &bytes))
            .await
            .map_err(|_| {
                CouldNotCheck(format!("{server} (TCP) did not answer within {timeout:?}"))
            })??
    } else {
        answer
    };
    Ok(Lookup {
        rcode: answer.metadata.response_code,
        answers: answer.answers,
        authorities: answer.authorities,
    })
}

async fn query_tcp(server: SocketAddr, bytes: &[u8]) -> Result<Message, CouldNotCheck> {
    let fail = |e: std::io::Error| CouldNotCheck(format!("{server} (TCP): {e}"));
    let mut stream = tokio::net::TcpStream::connect(server).await.map_err(fail)?;
    stream
        .write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .map_err(fail)?;
    stream.write_all(bytes).await.map_err(fail)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(fail)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).await.map_err(fail)?;
    Message::from_vec(&buf).map_err(|e| CouldNotCheck(format!("{server}: bad answer: {e}")))
}

/// Asks each server in turn until one gives a definitive answer (NOERROR or NXDOMAIN).
pub async fn query_any(
    servers: &[SocketAddr],
    name: &str,
    rtype: RecordType,
    recursion: bool,
    timeout: Duration,
) -> Result<Lookup, CouldNotCheck> {
    let mut why = vec![];
    for server in servers {
        match query(*server, name, rtype, recursion, timeout).await {
            Ok(l) if matches!(l.rcode, ResponseCode::NoError | ResponseCode::NXDomain) => {
                return Ok(l);
            }
            Ok(l) => why.push(format!("{server} answered {}", l.rcode)),
            Err(e) => why.push(e.0),
        }
    }
    Err(CouldNotCheck(if why.is_empty() {
        "no nameserver to ask".into()
    } else {
        why.join("; ")
    }))
}

/// What the authoritative servers say about one name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub nxdomain: bool,
    /// CNAME targets, in order.
    pub cname_chain: Vec<String>,
    pub addresses: Vec<IpAddr>,
    /// The zone apex, from the SOA of a negative answer or of the name's zone.
    pub zone: Option<String>,
    /// How long resolvers may cache "does not exist" (the SOA minimum), when known.
    pub negative_ttl: Option<u32>,
}

fn name_of(r: &Record) -> String {
    r.name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn soa(lookup: &Lookup) -> (Option<String>, Option<u32>) {
    lookup
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some((Some(name_of(r)), Some(soa.minimum.min(r.ttl)))),
            _ => None,
        })
        .unwrap_or((None, None))
}

/// A, AAAA and the CNAME chain of `name`, from `servers`.
pub async fn observe(
    servers: &[SocketAddr],
    name: &str,
    timeout: Duration,
) -> Result<Observed, CouldNotCheck> {
    let mut observed = Observed::default();
    let mut current = name.to_ascii_lowercase();
    for _ in 0..8 {
        let a = query_any(servers, &current, RecordType::A, false, timeout).await?;
        let aaaa = query_any(servers, &current, RecordType::AAAA, false, timeout).await?;
        if observed.zone.is_none() {
            let (zone, ttl) = soa(&a);
            observed.zone = zone;
            observed.negative_ttl = ttl;
        }
        if a.rcode == ResponseCode::NXDomain {
            observed.nxdomain = observed.cname_chain.is_empty();
            return Ok(observed);
        }
        // Follow the chain the answer carries.
        let mut end = current.clone();
        loop {
            let next = a
                .answers
                .iter()
                .chain(&aaaa.answers)
                .find_map(|r| match &r.data {
                    RData::CNAME(c) if name_of(r) == end => {
                        Some(c.0.to_ascii().trim_end_matches('.').to_ascii_lowercase())
                    }
                    _ => None,
                });
            match next {
                Some(target) if !observed.cname_chain.contains(&target) => {
                    observed.cname_chain.push(target.clone());
                    end = target;
                }
                _ => break,
            }
        }
        for r in a.answers.iter().chain(&aaaa.answers) {
            if name_of(r) != end {
                continue;
            }
            match &r.data {
                RData::A(ip) => observed.addresses.push(IpAddr::V4(ip.0)),
                RData::AAAA(ip) => observed.addresses.push(IpAddr::V6(ip.0)),
                _ => {}
            }
        }
        if !observed.addresses.is_empty() || end == current {
            if observed.zone.is_none() {
                observed.zone = zone_of(servers, name, timeout).await;
            }
            return Ok(observed);
        }
        // The chain leaves the answer: ask about its end.
        current = end;
    }
    Ok(observed)
}

/// The zone apex of `name`: the owner of the SOA its servers answer with (in the answer
/// at the apex, in the authority section below it).
async fn zone_of(servers: &[SocketAddr], name: &str, timeout: Duration) -> Option<String> {
    let l = query_any(servers, name, RecordType::SOA, false, timeout)
        .await
        .ok()?;
    l.answers
        .iter()
        .chain(&l.authorities)
        .find(|r| matches!(&r.data, RData::SOA(_)))
        .map(name_of)
}

/// The addresses of a name (for the CNAME target, and the public view).
pub async fn addresses(
    servers: &[SocketAddr],
    name: &str,
    recursion: bool,
    timeout: Duration,
) -> Result<Vec<IpAddr>, CouldNotCheck> {
    let mut out = vec![];
    for rtype in [RecordType::A, RecordType::AAAA] {
        let l = query_any(servers, name, rtype, recursion, timeout).await?;
        for r in &l.answers {
            match &r.data {
                RData::A(ip) => out.push(IpAddr::V4(ip.0)),
                RData::AAAA(ip) => out.push(IpAddr::V6(ip.0)),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The first non-empty CAA set on the way from `name` up to the top-level domain, and
/// where it was found (RFC 8659 §3).
///
/// `top` ends the climb at a zone apex: with configured nameservers (tests,
/// split-horizon) nothing above the zone is theirs to answer.
pub async fn caa_set(
    servers: &[SocketAddr],
    name: &str,
    recursion: bool,
    timeout: Duration,
    top: Option<&str>,
) -> Result<Option<(String, Vec<super::caa::Caa>)>, CouldNotCheck> {
    let mut candidate = name.trim_start_matches("*.").to_string();
    loop {
        let l = query_any(servers, &candidate, RecordType::CAA, recursion, timeout).await?;
        let set: Vec<super::caa::Caa> = l
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::CAA(c) => Some(super::caa::Caa {
                    critical: c.issuer_critical,
                    tag: c.tag.to_ascii_lowercase(),
                    value: match c.value_as_issue() {
                        Ok((Some(n), _))
                            if c.tag.eq_ignore_ascii_case("issue")
                                || c.tag.eq_ignore_ascii_case("issuewild") =>
                        {
                            n.to_ascii().trim_end_matches('.').to_string()
                        }
                        _ if c.tag.eq_ignore_ascii_case("issue")
                            || c.tag.eq_ignore_ascii_case("issuewild") =>
                        {
                            String::new()
                        }
                        _ => String::from_utf8_lossy(&c.value).into_owned(),
                    },
                }),
                _ => None,
            })
            .collect();
        if !set.is_empty() {
            return Ok(Some((candidate, set)));
        }
        if top == Some(candidate.as_str()) {
            return Ok(None);
        }
        match candidate.split_once('.') {
            Some((_, parent)) if !parent.is_empty() => candidate = parent.to_string(),
            _ => return Ok(None),
        }
    }
}

/// The servers authoritative for `name`'s zone: found by asking the recursive
/// `resolvers` for NS records, from the name up, and resolving them.
pub async fn authoritative(
    resolvers: &[SocketAddr],
    name: &str,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, CouldNotCheck> {
    let mut candidate = name.to_string();
    loop {
        let l = query_any(resolvers, &candidate, RecordType::NS, true, timeout).await?;
        let ns: Vec<String> = l
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) if name_of(r) == candidate => {
                    Some(ns.0.to_ascii().trim_end_matches('.').to_string())
                }
                _ => None,
            })
            .collect();
        if !ns.is_empty() {
            let mut servers = vec![];
            for n in ns {
                for ip in addresses(resolvers, &n, true, timeout)
                    .await
                    .unwrap_or_default()
                {
                    servers.push(SocketAddr::new(ip, 53));
                }
            }
            if servers.is_empty() {
                return Err(CouldNotCheck(format!(
                    "the nameservers of {candidate} have no address"
                )));
            }
            return Ok(servers);
        }
        match candidate.split_once('.') {
            Some((_, parent)) if parent.contains('.') => candidate = parent.to_string(),
            // The caller's line names the name; this says only what went wrong.
            _ => return Err(CouldNotCheck("no zone found above it".into())),
        }
    }
}

/// The system's resolvers, from `/etc/resolv.conf`.
pub fn system_resolvers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// What the network expects a name to resolve to.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub targets: Vec<IpAddr>,
    pub cname_target: Option<String>,
    /// The CNAME target's own addresses (a flattened CNAME shows these).
    pub cname_target_addresses: Vec<IpAddr>,
}

/// The routing track of one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// `ok`, `wrong`, `missing`, `proxied` or `unknown`.
    pub state: &'static str,
    pub reason: &'static str,
    pub found: Vec<String>,
    pub expected: Vec<String>,
    /// Addresses that should not be there (extra A, foreign AAAA).
    pub unwanted: Vec<IpAddr>,
}

impl Expect {
    pub fn expected(&self) -> Vec<String> {
        let mut e: Vec<String> = self.targets.iter().map(|t| t.to_string()).collect();
        if let Some(c) = &self.cname_target {
            e.push(format!("CNAME {c}"));
        }
        e
    }
}

/// Whether the name is right, and if not, why.
pub fn classify(observed: &Observed, expect: &Expect) -> Routing {
    let mut found: Vec<String> = observed
        .cname_chain
        .iter()
        .map(|c| format!("CNAME {c}"))
        .collect();
    found.extend(observed.addresses.iter().map(|a| a.to_string()));
    let routing = |state, reason, unwanted| Routing {
        state,
        reason,
        found: found.clone(),
        expected: expect.expected(),
        unwanted,
    };
    if observed.nxdomain {
        return routing("missing", "nxdomain", vec![]);
    }
    if let Some(target) = &expect.cname_target
        && observed
            .cname_chain
            .iter()
            .any(|c| c.eq_ignore_ascii_case(target))
    {
        return routing("ok", "cname", vec![]);
    }
    if observed.addresses.is_empty() {
        return if observed.cname_chain.is_empty() {
            routing("missing", "no-record", vec![])
        } else {
            routing("wrong", "cname-elsewhere", vec![])
        };
    }
    let ours =
        |ip: &IpAddr| expect.targets.contains(ip) || expect.cname_target_addresses.contains(ip);
    let foreign: Vec<IpAddr> = observed
        .addresses
        .iter()
        .copied()
        .filter(|a| !ours(a))
        .collect();
    if foreign.is_empty() {
        let flattened = observed
            .addresses
            .iter()
            .all(|a| !expect.targets.contains(a));
        return routing(
            "ok",
            if flattened {
                "flattened-cname"
            } else {
                "addresses"
            },
            vec![],
        );
    }
    if foreign.iter().any(|a| super::cdn::is_cloudflare(*a)) {
        return routing("proxied", "cloudflare-proxy", foreign);
    }
    if foreign.len() == observed.addresses.len() {
        return routing("wrong", "points-elsewhere", foreign);
    }
    let v6_only = foreign.iter().all(|a| a.is_ipv6());
    routing(
        "wrong",
        if v6_only { "foreign-aaaa" } else { "extra-a" },
        foreign,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect() -> Expect {
        Expect {
            targets: vec![
                "203.0.113.10".parse().unwrap(),
                "2001:db8::10".parse().unwrap(),
            ],
            cname_target: Some("network.example.com".into()),
            cname_target_addresses: vec![
                "203.0.113.10".parse().unwrap(),
                "203.0.113.11".parse().unwrap(),
            ],
        }
    }

    fn seen(addresses: &[&str], chain: &[&str]) -> Observed {
        Observed {
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            cname_chain: chain.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn right_answers() {
        assert_eq!(
            classify(&seen(&["203.0.113.10"], &[]), &expect()).state,
            "ok"
        );
        assert_eq!(
            classify(&seen(&["203.0.113.10", "2001:db8::10"], &[]), &expect()).reason,
            "addresses"
        );
        assert_eq!(
            classify(
                &seen(&["203.0.113.10"], &["x.cdn.example", "network.example.com"]),
                &expect()
            )
            .reason,
            "cname"
        );
        let flat = classify(&seen(&["203.0.113.11"], &[]), &expect());
        assert_eq!((flat.state, flat.reason), ("ok", "flattened-cname"));
    }

    #[test]
    fn wrong_answers_say_why() {
        let r = classify(&seen(&["198.51.100.7"], &[]), &expect());
        assert_eq!((r.state, r.reason), ("wrong", "points-elsewhere"));
        let r = classify(&seen(&["203.0.113.10", "198.51.100.9"], &[]), &expect());
        assert_eq!((r.state, r.reason), ("wrong", "extra-a"));
        assert_eq!(r.unwanted, vec!["198.51.100.9".parse::<IpAddr>().unwrap()]);
        let r = classify(&seen(&["203.0.113.10", "2001:db8::bad"], &[]), &expect());
        assert_eq!((r.state, r.reason), ("wrong", "foreign-aaaa"));
        let r = classify(&seen(&["104.16.1.1"], &[]), &expect());
        assert_eq!((r.state, r.reason), ("proxied", "cloudflare-proxy"));
        let r = classify(
            &Observed {
                nxdomain: true,
                ..Default::default()
            },
            &expect(),
        );
        assert_eq!((r.state, r.reason), ("missing", "nxdomain"));
        assert_eq!(classify(&seen(&[], &[]), &expect()).reason, "no-record");
        assert_eq!(
            classify(&seen(&[], &["elsewhere.example"]), &expect()).reason,
            "cname-elsewhere"
        );
    }
}
