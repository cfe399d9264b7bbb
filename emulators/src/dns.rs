//! An authoritative DNS server on loopback for the lifecycle's tests and benchmark: one
//! zone whose records a test changes while the host checks it, with NXDOMAIN and NODATA
//! answers carrying the zone's SOA (as real servers do), CNAME chains followed inside the
//! zone, and SERVFAIL or silence on demand.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CAA, CNAME, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct Zone {
    pub apex: String,
    /// The SOA minimum: how long "does not exist" may be cached.
    pub negative_ttl: u32,
    records: BTreeMap<(String, u16), Vec<RData>>,
    /// Every owner name of `records`, labels reversed (`test.example.www`), so that "this
    /// name or a name below it has records" is a range lookup, not a scan of the zone
    /// (benchmarks serve 100,000 names).
    owners: BTreeSet<String>,
    servfail: BTreeSet<String>,
    silent: BTreeSet<String>,
    pub queries: u64,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn reversed(name: &str) -> String {
    name.rsplit('.').collect::<Vec<_>>().join(".")
}

fn fqdn(name: &str) -> Name {
    let mut n = Name::from_ascii(key(name)).expect("a test name");
    n.set_fqdn(true);
    n
}

impl Zone {
    fn set(&mut self, name: &str, rtype: RecordType, data: Vec<RData>) {
        let owner = key(name);
        if data.is_empty() {
            self.records.remove(&(owner.clone(), u16::from(rtype)));
        } else {
            self.records.insert((owner.clone(), u16::from(rtype)), data);
        }
        let has_records = self
            .records
            .range((owner.clone(), 0)..=(owner.clone(), u16::MAX))
            .next()
            .is_some();
        if has_records {
            self.owners.insert(reversed(&owner));
        } else {
            self.owners.remove(&reversed(&owner));
        }
    }

    pub fn set_addresses(&mut self, name: &str, addresses: &[IpAddr]) {
        let (v4, v6): (Vec<_>, Vec<_>) = addresses.iter().partition(|a| a.is_ipv4());
        self.set(
            name,
            RecordType::A,
            v4.iter()
                .map(|a| match a {
                    IpAddr::V4(ip) => RData::A(A(*ip)),
                    IpAddr::V6(_) => unreachable!(),
                })
                .collect(),
        );
        self.set(
            name,
            RecordType::AAAA,
            v6.iter()
                .map(|a| match a {
                    IpAddr::V6(ip) => RData::AAAA(AAAA(*ip)),
                    IpAddr::V4(_) => unreachable!(),
                })
                .collect(),
        );
    }

    pub fn set_cname(&mut self, name: &str, target: &str) {
        self.set(
            name,
            RecordType::CNAME,
            vec![RData::CNAME(CNAME(fqdn(target)))],
        );
    }

    /// `issue` records for these CA identities (empty: none).
    pub fn set_caa_issue(&mut self, name: &str, issuers: &[&str]) {
        self.set(
            name,
            RecordType::CAA,
            issuers
                .iter()
                .map(|i| RData::CAA(CAA::new_issue(false, Some(fqdn(i)), vec![])))
                .collect(),
        );
    }

    pub fn set_txt(&mut self, name: &str, value: &str) {
        self.set(
            name,
            RecordType::TXT,
            vec![RData::TXT(TXT::new(vec![value.to_string()]))],
        );
    }

    /// Removes every record of `name`.
    pub fn clear(&mut self, name: &str) {
        let k = key(name);
        self.records.retain(|(n, _), _| *n != k);
        self.owners.remove(&reversed(&k));
    }

    pub fn servfail(&mut self, name: &str, on: bool) {
        if on {
            self.servfail.insert(key(name));
        } else {
            self.servfail.remove(&key(name));
        }
    }

    /// Answers nothing at all for `name` (a timeout for the client).
    pub fn silent(&mut self, name: &str, on: bool) {
        if on {
            self.silent.insert(key(name));
        } else {
            self.silent.remove(&key(name));
        }
    }

    fn soa(&self) -> Record {
        Record::from_rdata(
            fqdn(&self.apex),
            300,
            RData::SOA(SOA::new(
                fqdn(&format!("ns1.{}", self.apex)),
                fqdn(&format!("hostmaster.{}", self.apex)),
                1,
                3600,
                600,
                86400,
                self.negative_ttl,
            )),
        )
    }

    /// Whether `name` or a name below it has records (else NXDOMAIN).
    fn exists(&self, name: &str) -> bool {
        let r = reversed(name);
        // Names below `name` sort between `r.` and `r/` ('/' follows '.').
        self.owners.contains(&r)
            || self
                .owners
                .range(format!("{r}.")..format!("{r}/"))
                .next()
                .is_some()
    }

    /// The answer to one question, or `None` to stay silent.
    pub fn answer(&mut self, request: &Message) -> Option<Message> {
        self.queries += 1;
        let query = request.queries.first()?;
        let name = key(&query.name().to_ascii());
        if self.silent.contains(&name) {
            return None;
        }
        let mut response = Message::new(
            request.metadata.id,
            MessageType::Response,
            request.metadata.op_code,
        );
        response.metadata.authoritative = true;
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.add_query(query.clone());
        if self.servfail.contains(&name) {
            response.metadata.response_code = ResponseCode::ServFail;
            return Some(response);
        }
        if name != self.apex && !name.ends_with(&format!(".{}", self.apex)) {
            response.metadata.response_code = ResponseCode::Refused;
            return Some(response);
        }
        let rtype = query.query_type();
        let mut current = name.clone();
        for _ in 0..8 {
            if rtype != RecordType::CNAME
                && let Some(cnames) = self
                    .records
                    .get(&(current.clone(), u16::from(RecordType::CNAME)))
            {
                let target = match &cnames[0] {
                    RData::CNAME(c) => key(&c.0.to_ascii()),
                    _ => break,
                };
                response.add_answer(Record::from_rdata(fqdn(&current), 60, cnames[0].clone()));
                current = target;
                continue;
            }
            if let Some(data) = self.records.get(&(current.clone(), u16::from(rtype))) {
                for d in data {
                    response.add_answer(Record::from_rdata(fqdn(&current), 60, d.clone()));
                }
            } else if rtype == RecordType::SOA && current == self.apex && current != name {
                // A CNAME to the apex: the answer carries the apex's SOA after the CNAME,
                // as an authoritative server answers (RFC 1034 §3.6.2 / 4.3.2 step 3a).
                response.add_answer(self.soa());
            }
            break;
        }
        if response.answers.is_empty() {
            if !self.exists(&name) {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            response.add_authority(self.soa());
        }
        Some(response)
    }
}

/// A running server. Dropping it stops it.
pub struct DnsServer {
    pub addr: SocketAddr,
    pub zone: Arc<Mutex<Zone>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl DnsServer {
    /// Serves `apex`'s zone on 127.0.0.1 (UDP), from a thread of its own.
    pub fn spawn(apex: &str) -> std::io::Result<DnsServer> {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        let zone = Arc::new(Mutex::new(Zone {
            apex: key(apex),
            negative_ttl: 300,
            ..Default::default()
        }));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let shared = zone.clone();
        std::thread::Builder::new().name("dns-server".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("dns runtime");
            runtime.block_on(async move {
                let socket = tokio::net::UdpSocket::from_std(socket).expect("socket");
                let mut buf = vec![0u8; 4096];
                loop {
                    let (n, from) = tokio::select! {
                        got = socket.recv_from(&mut buf) => match got { Ok(x) => x, Err(_) => continue },
                        _ = &mut rx => return,
                    };
                    let Ok(request) = Message::from_vec(&buf[..n]) else { continue };
                    let answer = shared.lock().unwrap_or_else(|e| e.into_inner()).answer(&request);
                    if let Some(answer) = answer
                        && let Ok(bytes) = answer.to_vec()
                    {
                        let _ = socket.send_to(&bytes, from).await;
                    }
                }
            });
        })?;
        Ok(DnsServer {
            addr,
            zone,
            _shutdown: tx,
        })
    }

    pub fn zone(&self) -> std::sync::MutexGuard<'_, Zone> {
        self.zone.lock().unwrap_or_else(|e| e.into_inner())
    }
}
