//! The stage-callback receiver of the soak, on loopback: checks every request as the
//! bridge does (HMAC-SHA256 over `"<timestamp>.<body>"`, a fresh timestamp, the delivery
//! header equal to the body's `delivery`), refuses a share of them with 500 (so the
//! service's outbox retries), and records every arrival in order.

use super::service::CALLBACK_SECRET;
use hmac::Mac;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One callback request as received.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub delivery: i64,
    pub domain: String,
    pub stage: String,
    pub previous: Option<String>,
    /// 200 (acknowledged) or 500 (refused on purpose).
    pub status: u16,
}

#[derive(Default)]
pub struct Log {
    pub arrivals: Vec<Arrival>,
    /// Requests whose signature, timestamp or delivery header was wrong (must stay empty).
    pub bad: Vec<String>,
}

pub struct Receiver {
    pub url: String,
    pub log: Arc<Mutex<Log>>,
}

impl Receiver {
    /// Refuses each request with 500 when `refuse()` says so.
    pub fn start(refuse: impl Fn() -> bool + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver port");
        let url = format!(
            "http://{}/wp-json/domain-host/v1/stage",
            listener.local_addr().unwrap()
        );
        let log: Arc<Mutex<Log>> = Default::default();
        let (shared, refuse) = (log.clone(), Arc::new(refuse));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, refuse) = (shared.clone(), refuse.clone());
                // The outbox sends up to 32 changes at once: one thread each.
                std::thread::spawn(move || handle(stream, &log, &*refuse));
            }
        });
        Receiver { url, log }
    }

    pub fn snapshot(&self) -> (Vec<Arrival>, Vec<String>) {
        let log = self.log.lock().unwrap();
        (log.arrivals.clone(), log.bad.clone())
    }
}

fn handle(mut stream: TcpStream, log: &Mutex<Log>, refuse: &dyn Fn() -> bool) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let status = match check(&header, &body) {
        Err(problem) => {
            log.lock().unwrap().bad.push(problem);
            401
        }
        Ok(value) => {
            let status = if refuse() { 500 } else { 200 };
            log.lock().unwrap().arrivals.push(Arrival {
                delivery: value["delivery"].as_i64().unwrap_or(-1),
                domain: value["domain"].as_str().unwrap_or("").to_string(),
                stage: value["stage"].as_str().unwrap_or("").to_string(),
                previous: value["previous_stage"].as_str().map(str::to_string),
                status,
            });
            status
        }
    };
    let _ = stream.write_all(
        format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
            .as_bytes(),
    );
}

/// The bridge's checks; the body as JSON when they pass.
fn check(header: &dyn Fn(&str) -> Option<String>, body: &str) -> Result<Value, String> {
    let timestamp = header("x-domain-host-timestamp").ok_or("no timestamp header")?;
    let signature = header("x-domain-host-signature").ok_or("no signature header")?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(CALLBACK_SECRET.as_bytes())
        .map_err(|e| e.to_string())?;
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if signature != format!("sha256={expected}") {
        return Err(format!("bad signature on {body}"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ts: u64 = timestamp.parse().map_err(|_| "timestamp not a number")?;
    if now.abs_diff(ts) > 300 {
        return Err(format!("stale timestamp {ts} (now {now})"));
    }
    let value: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))?;
    if header("x-domain-host-delivery") != Some(value["delivery"].to_string()) {
        return Err(format!("delivery header differs from the body: {body}"));
    }
    Ok(value)
}
