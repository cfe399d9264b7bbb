//! The `wasi:http` hook: every request a component makes passes through here.
//!
//! In order, each refusal logged on the host and answered with a `wasi:http` error:
//! 1. the method (GET, HEAD, POST, PUT, PATCH, DELETE only) and the URL (http or https,
//!    no user info in the authority);
//! 2. the call's request budget (in flight and in total);
//! 3. the allow-list, checked on the URL the component asked for;
//! 4. secrets: placeholders replaced (header values and the body; the query only where
//!    the operator allowed it with `secrets_in_query`, the path never) and the credential
//!    attached (a header, or a session token the host logs in for), for HTTPS requests to
//!    allowed hosts whose real hop is TLS (or a loopback route, for tests) only; any other
//!    request carrying a placeholder is refused;
//! 5. where the request really goes: a route, or the host's own DNS lookup whose
//!    addresses must pass the address policy (see [`crate::sandbox::egress`]);
//! 6. clamped timeouts and a cap on the response body;
//! 7. the answer redacted before the component reads it: every form of every secret the
//!    host holds (see [`crate::sandbox::redaction`]) is replaced in the header values and,
//!    as it streams, in the body, so a panel that echoes a request cannot hand a component
//!    its own credential.
//!
//! A refused request's body is dropped unread: nothing a component streams to a denied
//! host is buffered. A body is held only to substitute placeholders when it declared its
//! length (the length changes), and never beyond `max_request_bytes`.

use crate::sandbox::allow_list::{AllowList, Routes};
use crate::sandbox::connection_pool::ConnectionPool;
use crate::sandbox::credentials::Credential;
use crate::sandbox::egress::{self, AddressPolicy, Target};
use crate::sandbox::logs::{IntegrationLog, Level};
use crate::sandbox::placeholders::{Placeholders, Streamer};
use crate::sandbox::redaction::StreamRedactor;
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
    /// Largest request body held to substitute placeholders.
    pub max_request_bytes: u64,
    pub budget: Arc<RequestBudget>,
    /// This integration's open connections (never shared with another integration).
    pub pool: Arc<ConnectionPool>,
    /// This store's placeholders (0.2.0 components).
    pub placeholders: Option<Arc<Placeholders>>,
    /// The operator allowed placeholders in the query string (`secrets_in_query`: a panel
    /// such as Closte whose API takes its key there). Never in the path.
    pub placeholders_in_query: bool,
    /// Requests that may have changed the panel (a write with a 2xx answer, or whose answer
    /// was lost), for the report of a retried event.
    pub writes: Arc<WriteLog>,
    pub log: IntegrationLog,
}

/// The writes of one event that may have reached the panel, across its attempts.
#[derive(Debug, Default)]
pub struct WriteLog {
    landed: std::sync::Mutex<Vec<String>>,
}

impl WriteLog {
    fn record(&self, what: String) {
        self.landed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(what);
    }

    /// Writes that may have changed the panel so far.
    pub fn landed(&self) -> Vec<String> {
        self.landed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The header with which a component says a request only reads, though its method is
/// one that could write (panels whose whole API is `POST`: CyberPanel, Hestia, ...). The
/// host removes it before sending and does not count the request as a write that may have
/// changed the panel. A component that marks a real write this way only loses the host's
/// safety net for its own report.
pub const READ_ONLY_HEADER: &str = "x-domain-host-read-only";

/// Whether a method changes the panel.
fn is_write(method: &http::Method) -> bool {
    !matches!(*method, http::Method::GET | http::Method::HEAD)
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
    fn target(&self, uri: &http::Uri, unvetted_entry: bool) -> Result<Target, HttpError> {
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
            vet: !unvetted_entry,
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
        let declared_read = request.headers_mut().remove(READ_ONLY_HEADER).is_some();
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
        let target = match self.target(&asked, entry.skips_address_vetting()) {
            Ok(target) => target,
            Err(error) => {
                self.log
                    .host(Level::Warn, &format!("denied {shown}: unusable host name"));
                return refused(error);
            }
        };
        // Secrets go to HTTPS allowed hosts, and only over a hop that is TLS too (a route
        // to plain `http://` is refused at load unless it is loopback, for tests).
        let https = entry.is_https() && (target.tls_name.is_some() || target.is_loopback());
        // Placeholders in header values (and the query where allowed): substituted for
        // HTTPS, refused otherwise.
        let placeholders = self.placeholders.clone().filter(|p| p.active());
        if let Some(p) = &placeholders
            && let Err(why) = substitute_head(p, &mut request, https, self.placeholders_in_query)
        {
            self.log
                .host(Level::Warn, &format!("denied {shown}: {why}"));
            return refused(HttpError::HttpRequestDenied);
        }
        // Credentials travel over TLS only.
        let session = match (&self.credential, https) {
            (Some(Credential::Header { name, value }), true) => {
                request.headers_mut().insert(name.clone(), value.clone());
                None
            }
            (Some(Credential::Session(session)), true) => Some(session.clone()),
            _ => None,
        };
        self.log.host(Level::Debug, &shown);

        let options = self.clamp(options);
        let limit = self.max_response_bytes;
        let max_request = self.max_request_bytes;
        let policy = self.clone();
        let log = self.log.clone();
        let writes = self.writes.clone();
        let write = is_write(&method) && !declared_read;
        let redaction = self.log.secrets().matcher();
        Box::new(async move {
            if let Some(p) = placeholders {
                request = substitute_body(request, p, https, max_request)
                    .await
                    .map_err(|why| {
                        log.host(Level::Warn, &format!("denied {shown}: {why}"));
                        HttpError::HttpRequestDenied
                    })?;
            }
            let mut token = None;
            if let Some(session) = &session {
                let value = session
                    .header_value(|login| policy.deliver_plain(login, options))
                    .await
                    .map_err(|why| {
                        log.host(Level::Warn, &format!("{shown}: {why}"));
                        HttpError::HttpRequestDenied
                    })?;
                request
                    .headers_mut()
                    .insert(session.header.clone(), value.clone());
                token = Some(value);
            }
            let sent = policy.deliver(request, &target, &shown, options).await;
            drop(slot);
            let (response, io) = match sent {
                Ok(sent) => sent,
                Err(e) => {
                    // A write whose connection broke may still have reached the panel.
                    if write
                        && !matches!(
                            e,
                            HttpError::DestinationIpProhibited
                                | HttpError::ConnectionRefused
                                | HttpError::DnsTimeout
                                | HttpError::DnsError { .. }
                                | HttpError::ConnectionTimeout
                        )
                    {
                        writes.record(format!("{shown} (no answer)"));
                    }
                    return Err(e);
                }
            };
            let status = response.status().as_u16();
            if write && ((200..300).contains(&status) || status >= 500) {
                writes.record(format!("{shown} -> {status}"));
            }
            if let (Some(session), Some(token)) = (&session, &token) {
                if status == 401 {
                    if !session.invalidate(token).await {
                        log.host(
                            Level::Warn,
                            &format!(
                                "{shown}: the panel refused a session token it was just given; \
                                 not logging in again (a missing permission?)"
                            ),
                        );
                    }
                } else {
                    session.accepted(token).await;
                }
            }
            let mut response = response.map(|body| {
                CappedBody {
                    inner: body,
                    left: limit,
                    limit,
                }
                .boxed_unsync()
            });
            redact_response(&mut response, &redaction);
            Ok((response, io))
        })
    }
}

impl OutboundPolicy {
    /// Resolves, vets and sends: the last steps every request takes.
    async fn deliver(
        &self,
        request: http::Request<WasiBody>,
        target: &Target,
        shown: &str,
        options: RequestOptions,
    ) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
        let connect_timeout = options.connect_timeout.unwrap_or(Duration::from_secs(30));
        let addresses = match egress::resolve(target, &self.addresses, connect_timeout).await? {
            Ok(addresses) => addresses,
            Err(refusal) => {
                self.log.host(
                    Level::Warn,
                    &format!(
                        "denied {shown}: {} resolves to {} ({}); allow that network with allow_private",
                        target.host, refusal.address, refusal.why
                    ),
                );
                return Err(HttpError::DestinationIpProhibited);
            }
        };
        self.pool
            .send(request, target, addresses, self.tls.clone(), options)
            .await
    }

    /// Sends a request the host makes itself (a session login) the same way, and reads
    /// the answer.
    async fn deliver_plain(
        &self,
        request: http::Request<Bytes>,
        options: RequestOptions,
    ) -> Result<(u16, Vec<u8>), String> {
        let uri = request.uri().clone();
        let shown = format!(
            "POST {}://{}{} (session login)",
            uri.scheme_str().unwrap_or("?"),
            uri.authority().map(|a| a.as_str()).unwrap_or("?"),
            uri.path()
        );
        let Some(entry) = self.allow.allowing(&uri) else {
            return Err(format!(
                "denied {shown}: host not in this integration's allowed_hosts"
            ));
        };
        let target = self
            .target(&uri, entry.skips_address_vetting())
            .map_err(|_| format!("denied {shown}: unusable host name"))?;
        self.log.host(Level::Debug, &shown);
        let request = request.map(|b| {
            http_body_util::Full::new(b)
                .map_err(|never| match never {})
                .boxed_unsync()
        });
        let (response, io) = self
            .deliver(request, &target, &shown, options)
            .await
            .map_err(|e| format!("{shown} failed: {e}"))?;
        let status = response.status().as_u16();
        // The connection runs on its own while the body is read: a body that arrives after
        // the head (as real servers send it) is read off the socket by that task, and
        // waiting for it here without driving the connection would hang until the timeout.
        tokio::spawn(Box::into_pin(io));
        let body = http_body_util::Limited::new(
            response.into_body(),
            crate::sandbox::session::Session::max_answer(),
        )
        .collect()
        .await
        .map_err(|e| format!("{shown}: reading the answer failed: {e}"))?
        .to_bytes();
        Ok((status, body.to_vec()))
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

/// Every form of every secret replaced in the answer's header values and body, so the
/// component never reads one (a panel echoing a request, a redirect repeating the query).
/// The body's length may change, so its declared length goes.
fn redact_response(
    response: &mut http::Response<WasiBody>,
    redaction: &Arc<crate::sandbox::redaction::Matcher>,
) {
    if !redaction.has_patterns() {
        return;
    }
    for value in response.headers_mut().values_mut() {
        if redaction.finds(value.as_bytes()) {
            let redacted = redaction.redact_bytes(value.as_bytes());
            *value = http::HeaderValue::from_bytes(&redacted)
                .unwrap_or_else(|_| http::HeaderValue::from_static("[redacted]"));
        }
    }
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    let body = std::mem::replace(response.body_mut(), full(Bytes::new()));
    *response.body_mut() = RedactedBody::new(body, redaction.stream()).boxed_unsync();
}

/// Substitutes placeholders in the header values (and the query, when `in_query`); without
/// HTTPS, any placeholder refuses the request, and one in the path (or a query where it is
/// not allowed) always does: the contract has no way to declare where a secret goes, so
/// the host keeps it out of the URL, which servers echo in redirects and error pages and
/// write to their logs.
fn substitute_head(
    p: &Placeholders,
    request: &mut http::Request<WasiBody>,
    https: bool,
    in_query: bool,
) -> Result<(), String> {
    let uri = request.uri().clone();
    let path = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let in_path = p.contains(path.as_bytes());
    let in_headers = request.headers().values().any(|v| p.contains(v.as_bytes()));
    if !(in_path || in_headers) {
        return Ok(());
    }
    if !https {
        return Err("secrets travel over HTTPS only".into());
    }
    if in_path {
        if p.contains(uri.path().as_bytes()) {
            return Err(
                "a placeholder in the URL path is not allowed (header values and the body only)"
                    .into(),
            );
        }
        if !in_query {
            return Err(
                "a placeholder in the query is not allowed unless the operator sets \
                 secrets_in_query = true for this integration (header values and the body only)"
                    .into(),
            );
        }
        let substituted = p.substitute_str(path).map_err(|r| r.0)?;
        let mut parts = uri.into_parts();
        parts.path_and_query = Some(
            substituted
                .parse()
                .map_err(|_| "a substituted path is not a valid URL".to_string())?,
        );
        *request.uri_mut() = http::Uri::from_parts(parts)
            .map_err(|_| "a substituted URL is not valid".to_string())?;
    }
    if in_headers {
        for value in request.headers_mut().values_mut() {
            if p.contains(value.as_bytes()) {
                let text = value
                    .to_str()
                    .map_err(|_| "a header with a placeholder is not text".to_string())?;
                let mut new =
                    http::HeaderValue::from_str(&p.substitute_str(text).map_err(|r| r.0)?)
                        .map_err(|_| {
                            "a substituted header is not a valid header value".to_string()
                        })?;
                new.set_sensitive(true);
                *value = new;
            }
        }
    }
    Ok(())
}

/// The body with placeholders substituted: held (up to `max`) and its length corrected
/// when it declared one, streamed otherwise. Without HTTPS, a placeholder in it refuses
/// the request.
async fn substitute_body(
    request: http::Request<WasiBody>,
    p: Arc<Placeholders>,
    https: bool,
    max: u64,
) -> Result<http::Request<WasiBody>, String> {
    let (mut parts, body) = request.into_parts();
    if parts.headers.contains_key(http::header::CONTENT_LENGTH) {
        let bytes = http_body_util::Limited::new(body, max as usize)
            .collect()
            .await
            .map_err(|_| format!("the request body is larger than the {max} bytes the host holds"))?
            .to_bytes();
        if !p.contains(&bytes) {
            return Ok(http::Request::from_parts(parts, full(bytes)));
        }
        if !https {
            return Err("secrets travel over HTTPS only".into());
        }
        let substituted = Bytes::from(p.substitute(&bytes).map_err(|r| r.0)?);
        parts
            .headers
            .insert(http::header::CONTENT_LENGTH, substituted.len().into());
        return Ok(http::Request::from_parts(parts, full(substituted)));
    }
    let body = SubstitutedBody {
        inner: body,
        placeholders: p,
        streamer: Some(Streamer::default()),
        https,
    };
    Ok(http::Request::from_parts(parts, body.boxed_unsync()))
}

fn full(bytes: Bytes) -> WasiBody {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A streamed request body with placeholders substituted on the way.
struct SubstitutedBody {
    inner: WasiBody,
    placeholders: Arc<Placeholders>,
    streamer: Option<Streamer>,
    https: bool,
}

impl http_body::Body for SubstitutedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        loop {
            let Some(streamer) = this.streamer.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    let Some(data) = frame.data_ref() else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    if !this.https && this.placeholders.contains(data) {
                        return Poll::Ready(Some(Err(refused_body())));
                    }
                    match streamer.push(&this.placeholders, data) {
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => {
                            return Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(out)))));
                        }
                        Err(_) => return Poll::Ready(Some(Err(refused_body()))),
                    }
                }
                Poll::Ready(None) => {
                    let streamer = this.streamer.take().expect("checked above");
                    return match streamer.finish(&this.placeholders) {
                        Ok(rest) if rest.is_empty() => Poll::Ready(None),
                        Ok(rest) => {
                            Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(rest)))))
                        }
                        Err(_) => Poll::Ready(Some(Err(refused_body()))),
                    };
                }
            }
        }
    }
}

fn refused_body() -> HttpError {
    HttpError::InternalError(Some(
        "the request body carries a refused placeholder".into(),
    ))
}

/// A response body with every form of every secret replaced as it streams.
struct RedactedBody {
    inner: WasiBody,
    stream: Option<StreamRedactor>,
    /// Trailers that arrived while bytes were held back: sent after them.
    trailers: Option<http::HeaderMap>,
}

impl RedactedBody {
    fn new(inner: WasiBody, stream: StreamRedactor) -> Self {
        RedactedBody {
            inner,
            stream: Some(stream),
            trailers: None,
        }
    }
}

impl http_body::Body for RedactedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        loop {
            let Some(stream) = this.stream.as_mut() else {
                return Poll::Ready(
                    this.trailers
                        .take()
                        .map(|t| Ok(http_body::Frame::trailers(t))),
                );
            };
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => frame,
                Poll::Ready(None) => {
                    let rest = this.stream.take().expect("checked above").finish();
                    if rest.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(rest)))));
                }
            };
            match frame.into_data() {
                Ok(data) => {
                    let out = stream.push(&data);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(out)))));
                    }
                }
                Err(frame) => {
                    // Trailers end the body: what was held back goes first.
                    let matcher = stream.matcher();
                    this.trailers = frame.into_trailers().ok().map(|mut trailers| {
                        for value in trailers.values_mut() {
                            let redacted = matcher.redact_bytes(value.as_bytes());
                            *value = http::HeaderValue::from_bytes(&redacted)
                                .unwrap_or_else(|_| http::HeaderValue::from_static("[redacted]"));
                        }
                        trailers
                    });
                    let rest = this.stream.take().expect("checked above").finish();
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(rest)))));
                    }
                }
            }
        }
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
