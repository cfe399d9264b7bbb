//! The `wasi:http` hook: every request a component makes passes through here.
//!
//! In order, each refusal logged on the host and answered with a `wasi:http` error:
//! 1. the method (GET, HEAD, POST, PUT, PATCH, DELETE only) and the URL (http or https,
//!    no user info in the authority);
//! 2. the call's request budget (in flight and in total);
//! 3. the allow-list, checked on the URL the component asked for;
//! 4. the credential header, attached to HTTPS requests for allowed hosts only;
//! 5. where the request really goes: a route, or the host's own DNS lookup whose
//!    addresses must pass the address policy (see [`crate::egress`]);
//! 6. clamped timeouts and a cap on the response body.
//!
//! A refused request's body is dropped unread: nothing a component streams to a denied
//! host is buffered.

use crate::allow_list::{AllowList, Routes};
use crate::credentials::Credential;
use crate::egress::{self, AddressPolicy, Target};
use crate::logs::{IntegrationLog, Level};
use bytes::Bytes;
use http_body_util::BodyExt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The methods panel APIs use. TRACE, CONNECT and custom methods are refused.
const ALLOWED_METHODS: &[http::Method] = &[
    http::Method::GET,
    http::Method::HEAD,
    http::Method::POST,
    http::Method::PUT,
    http::Method::PATCH,
    http::Method::DELETE,
];

/// How many requests one call may make, in flight and in total.
#[derive(Debug, Default)]
pub struct RequestBudget {
    max_total: u32,
    max_in_flight: u32,
    total: AtomicU32,
    in_flight: AtomicU32,
    /// Refused for the budget, beyond the first (which is logged on its own).
    refused_quietly: AtomicU32,
}

impl RequestBudget {
    pub fn new(max_total: u32, max_in_flight: u32) -> Arc<Self> {
        Arc::new(RequestBudget {
            max_total,
            max_in_flight,
            ..Default::default()
        })
    }

    /// Takes a slot, or says which limit is reached.
    fn take(self: &Arc<Self>) -> Result<InFlight, String> {
        let total = self.total.fetch_add(1, Ordering::SeqCst) + 1;
        if total > self.max_total {
            return Err(format!(
                "over the limit of {} requests per call",
                self.max_total
            ));
        }
        let in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = InFlight(self.clone());
        if in_flight > self.max_in_flight {
            return Err(format!(
                "over the limit of {} requests in flight",
                self.max_in_flight
            ));
        }
        Ok(slot)
    }

    /// Logs one line per refusal kind and counts the rest, so a flood of requests cannot
    /// flood the log; [`RequestBudget::finish`] reports the count.
    fn refuse(&self, log: &IntegrationLog, what: &str, why: &str) {
        if self.refused_quietly.fetch_add(1, Ordering::SeqCst) == 0 {
            log.host(Level::Warn, &format!("denied {what}: {why}"));
        }
    }

    /// At the end of a call: how many more requests were refused for the budget.
    pub fn finish(&self, log: &IntegrationLog) {
        let quiet = self
            .refused_quietly
            .load(Ordering::SeqCst)
            .saturating_sub(1);
        if quiet > 0 {
            log.host(
                Level::Warn,
                &format!(
                    "denied {quiet} more request(s) over the call's request limits \
                     ({} in all, {} in flight)",
                    self.max_total, self.max_in_flight
                ),
            );
        }
    }
}

/// A request in flight; the slot is freed when it is dropped.
#[derive(Debug)]
struct InFlight(Arc<RequestBudget>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
pub struct OutboundPolicy {
    pub allow: AllowList,
    pub routes: Routes,
    pub addresses: AddressPolicy,
    pub tls: Arc<rustls::ClientConfig>,
    pub credential: Option<Credential>,
    /// Ceiling for connect, first-byte and between-bytes timeouts, whatever the guest asks.
    pub max_timeout: Duration,
    pub max_response_bytes: u64,
    pub budget: Arc<RequestBudget>,
    pub log: IntegrationLog,
}

impl OutboundPolicy {
    fn clamp(&self, options: Option<RequestOptions>) -> RequestOptions {
        let cap =
            |d: Option<Duration>| Some(d.map_or(self.max_timeout, |d| d.min(self.max_timeout)));
        let o = options.unwrap_or_default();
        RequestOptions {
            connect_timeout: cap(o.connect_timeout),
            first_byte_timeout: cap(o.first_byte_timeout),
            between_bytes_timeout: cap(o.between_bytes_timeout),
        }
    }

    /// The request's first refusal, if any (steps 1 to 3), with what to log.
    fn refusal(&self, request: &http::Request<WasiBody>) -> Option<(String, HttpError)> {
        let uri = request.uri();
        if !ALLOWED_METHODS.contains(request.method()) {
            return Some((
                format!("method {} is not allowed", request.method()),
                HttpError::HttpRequestMethodInvalid,
            ));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Some((
                "user info in the URL is not allowed".into(),
                HttpError::HttpRequestUriInvalid,
            ));
        }
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Some((
                "only http and https are allowed".into(),
                HttpError::HttpRequestUriInvalid,
            ));
        }
        None
    }

    /// Where an allowed request connects (step 5).
    fn target(&self, uri: &http::Uri, ip_literal_entry: bool) -> Result<Target, HttpError> {
        let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
        let https = uri.scheme_str() == Some("https");
        if let Some(route) = self.routes.route_for(uri) {
            // The operator named this destination: its addresses are not vetted. The
            // certificate must carry the route's name, or the original one when the route
            // is an address.
            let tls_name = if route.to_https {
                let literal = route
                    .to_host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok();
                Some(egress::server_name(if literal {
                    host
                } else {
                    &route.to_host
                })?)
            } else {
                None
            };
            return Ok(Target {
                host: route
                    .to_host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port: route.to_port,
                vet: false,
                tls_name,
            });
        }
        Ok(Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            vet: !ip_literal_entry,
            tls_name: if https {
                Some(egress::server_name(host)?)
            } else {
                None
            },
        })
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            )>,
        > + Send,
>;

fn refused(error: HttpError) -> ResponseFuture {
    Box::new(async move { Err(error) })
}

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let method = request.method().clone();
        let asked = request.uri().clone();
        let shown = format!(
            "{} {}://{}{}",
            method,
            asked.scheme_str().unwrap_or("?"),
            asked.authority().map(|a| a.as_str()).unwrap_or("?"),
            asked.path()
        );

        // Every refusal drops `request`, and with it the body, unread.
        if let Some((why, error)) = self.refusal(&request) {
            self.log
                .host(Level::Warn, &format!("denied {shown}: {why}"));
            return refused(error);
        }
        let slot = match self.budget.take() {
            Ok(slot) => slot,
            Err(why) => {
                self.budget.refuse(&self.log, &shown, &why);
                return refused(HttpError::HttpRequestDenied);
            }
        };
        let Some(entry) = self.allow.allowing(&asked) else {
            self.log.host(
                Level::Warn,
                &format!("denied {shown}: host not in this integration's allowed_hosts"),
            );
            return refused(HttpError::HttpRequestDenied);
        };
        let https = entry.is_https();
        let target = match self.target(&asked, entry.is_ip_literal()) {
            Ok(target) => target,
            Err(error) => {
                self.log
                    .host(Level::Warn, &format!("denied {shown}: unusable host name"));
                return refused(error);
            }
        };
        // Credentials travel over TLS only.
        if https && let Some(credential) = &self.credential {
            request
                .headers_mut()
                .insert(credential.name.clone(), credential.value.clone());
        }
        self.log.host(Level::Debug, &shown);

        let options = self.clamp(options);
        let limit = self.max_response_bytes;
        let policy = self.addresses.clone();
        let tls = self.tls.clone();
        let log = self.log.clone();
        Box::new(async move {
            let connect_timeout = options.connect_timeout.unwrap_or(Duration::from_secs(30));
            let addresses = match egress::resolve(&target, &policy, connect_timeout).await? {
                Ok(addresses) => addresses,
                Err(refusal) => {
                    log.host(
                        Level::Warn,
                        &format!(
                            "denied {shown}: {} resolves to {} ({}); allow that network with allow_private",
                            target.host, refusal.address, refusal.why
                        ),
                    );
                    return Err(HttpError::DestinationIpProhibited);
                }
            };
            let (response, io) = egress::send(request, &target, addresses, tls, options).await?;
            drop(slot);
            let response = response.map(|body| {
                CappedBody {
                    inner: body,
                    left: limit,
                    limit,
                }
                .boxed_unsync()
            });
            Ok((response, io))
        })
    }
}

/// A response body that fails once it passes the host's size limit, so a hostile or
/// broken panel cannot fill the component's (or the host's) memory.
struct CappedBody {
    inner: WasiBody,
    left: u64,
    limit: u64,
}

impl http_body::Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.left {
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(
                            this.limit,
                        )))));
                    }
                    this.left -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_total_and_in_flight() {
        let budget = RequestBudget::new(3, 2);
        let a = budget.take().unwrap();
        let _b = budget.take().unwrap();
        assert!(budget.take().unwrap_err().contains("2 requests in flight"));
        drop(a);
        // The refused one still counted towards the total.
        assert!(budget.take().unwrap_err().contains("3 requests per call"));
    }
}
