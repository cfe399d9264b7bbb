//! Stage changes, delivered from the outbox to `callback_url`, signed.
//!
//! ```text
//! POST <callback_url>
//! Content-Type: application/json
//! X-Domain-Host-Timestamp: <unix seconds when this attempt was sent>
//! X-Domain-Host-Signature: sha256=<hex HMAC-SHA256(callback_secret, "<timestamp>.<body>")>
//! X-Domain-Host-Delivery: <outbox id: the same on every retry of one change>
//! ```
//! A 2xx answer acknowledges; anything else (or no answer) is retried with backoff, the
//! oldest change of each domain first, so a domain's changes arrive in order.

use anyhow::{Context, Result};
use bytes::Bytes;
use hmac::Mac;
use http_body_util::{BodyExt, Full};
use sha2::Sha256;
use std::time::Duration;

/// The signature header's value for a body sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length works");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "sha256={}",
        crate::sandbox::files::hex(&mac.finalize().into_bytes())
    )
}

/// The body sent for an outbox row: the stored change plus its delivery id.
pub fn body(id: i64, stored: &str) -> String {
    let mut value: serde_json::Value =
        serde_json::from_str(stored).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(map) = value.as_object_mut() {
        map.insert("delivery".into(), id.into());
    }
    value.to_string()
}

/// The wait before the next try of a change that failed `attempts` times.
pub fn backoff(attempts: u32) -> Duration {
    let full = Duration::from_millis(500u64.saturating_mul(1 << attempts.min(16)))
        .min(Duration::from_secs(600));
    full / 2 + full.mul_f64(crate::runtime::retry::jitter() / 2.0)
}

pub struct Callback {
    pub url: http::Uri,
    pub secret: String,
    tls: std::sync::Arc<rustls::ClientConfig>,
}

impl Callback {
    pub fn new(url: &str, secret: String) -> Result<Self> {
        let url: http::Uri = url.parse().context("service.callback_url")?;
        let tls = crate::sandbox::egress::tls_config(None).map_err(|e| anyhow::anyhow!(e))?;
        Ok(Callback { url, secret, tls })
    }

    /// Sends one change; `Ok` only for a 2xx answer.
    pub async fn send(&self, delivery: i64, body: String) -> Result<u16, Failure> {
        match tokio::time::timeout(Duration::from_secs(30), self.send_inner(delivery, body)).await {
            Err(_) => Err(Failure {
                message: "no answer within 30 s".into(),
                unavailable: true,
            }),
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(status),
            Ok(Ok(status)) => Err(Failure {
                message: format!("the callback answered HTTP {status}"),
                // A 5xx (or 429) says the receiver is struggling: the breaker counts it.
                unavailable: status >= 500 || status == 429,
            }),
            Ok(Err(e)) => Err(Failure {
                message: format!("{e:#}"),
                unavailable: true,
            }),
        }
    }

    async fn send_inner(&self, delivery: i64, body: String) -> Result<u16> {
        let host = self.url.host().context("callback_url has no host")?;
        let https = self.url.scheme_str() == Some("https");
        let port = self.url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect((bare, port)),
        )
        .await
        .map_err(|_| anyhow::anyhow!("cannot connect to {host}:{port} within 10 s"))?
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
        let _ = tcp.set_nodelay(true);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let authority = self
            .url
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| host.to_string());
        let request =
            http::Request::post(self.url.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
                .header(http::header::HOST, authority)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::USER_AGENT, "domain-host")
                .header("x-domain-host-timestamp", timestamp.to_string())
                .header(
                    "x-domain-host-signature",
                    signature(&self.secret, timestamp, &body),
                )
                .header("x-domain-host-delivery", delivery.to_string())
                .body(Full::new(Bytes::from(body)))?;
        let status = if https {
            let name = crate::sandbox::egress::server_name(host)
                .map_err(|_| anyhow::anyhow!("callback_url: bad host name {host}"))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .with_context(|| format!("TLS with {host}"))?;
            exchange(hyper_util::rt::TokioIo::new(tls), request).await?
        } else {
            exchange(hyper_util::rt::TokioIo::new(tcp), request).await?
        };
        Ok(status)
    }
}

/// Why a delivery did not go through.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    /// The receiver is down or overloaded (no connection, a timeout, a 5xx or 429), as
    /// opposed to refusing this one change (another 4xx).
    pub unavailable: bool,
}

async fn exchange<T>(io: T, request: http::Request<Full<Bytes>>) -> Result<u16>
where
    T: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    let conn = tokio::spawn(conn);
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    // Read (a bounded part of) the answer so the connection ends cleanly.
    let _ = http_body_util::Limited::new(response.into_body(), 64 * 1024)
        .collect()
        .await;
    drop(sender);
    conn.abort();
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        // HMAC-SHA256("secret", "1700000000.{}"), as `openssl dgst -sha256 -hmac secret` gives.
        let s = signature("secret", 1_700_000_000, "{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64, "{s}");
        assert_ne!(s, signature("secret", 1_700_000_001, "{}"));
        assert_ne!(s, signature("other", 1_700_000_000, "{}"));
        assert_eq!(s, signature("secret", 1_700_000_000, "{}"));
    }

    #[test]
    fn the_body_names_its_delivery() {
        let b: serde_json::Value =
            serde_json::from_str(&body(7, r#"{"domain":"a.com","stage":"done"}"#)).unwrap();
        assert_eq!(b["delivery"], 7);
        assert_eq!(b["stage"], "done");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(250) && backoff(0) <= Duration::from_millis(500)
        );
        assert!(backoff(3) >= Duration::from_secs(2));
        assert!(backoff(40) <= Duration::from_secs(600));
    }
}
