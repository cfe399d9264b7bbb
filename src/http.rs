//! A small, blocking HTTP client over `wasi:http`, shaped for panel APIs.
//!
//! ```ignore
//! let app: Envelope<App> = Request::get(format!("{API}/apps/{id}"))
//!     .send()?            // transport faults become ProviderError::Transient / Denied
//!     .error_for_status()? // 4xx/5xx become typed errors with the panel's own message
//!     .json()?;            // bad JSON becomes a readable ProviderError::Api
//! ```
//!
//! Credentials: the host attaches them to every request bound for an allowed host, so a
//! provider normally sends none. [`Request::basic_auth`] and [`Request::bearer_auth`] exist
//! for hosts that hand credentials to the component instead.

use crate::errors::{error_message, parse_retry_after, status_error};
use crate::{ApiError, ProviderError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Largest response body read by default. Panel answers are small JSON documents; anything
/// bigger is refused rather than buffered.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// The header [`Request::read_only`] sets; `domain-host` removes it before sending.
pub const READ_ONLY_HEADER: &str = "x-domain-host-read-only";

/// Default time allowed for connecting and for the first byte of the answer. The host
/// clamps these to its own ceiling.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// POST, PUT and PATCH carry content, even an empty one.
    pub fn expects_content(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An outgoing request. Build it, then [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
    pub max_body: usize,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::Patch, url)
    }
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A JSON body with its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        // Serialising plain data structures to a Vec cannot fail.
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self.header("content-type", "application/json")
    }

    /// An `application/x-www-form-urlencoded` body (as PHP panels read `$_POST`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, fields: &[(K, V)]) -> Self {
        self.body = Some(form_encode(fields).into_bytes());
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// Appends query parameters to the URL, percent-encoded.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, params: &[(K, V)]) -> Self {
        if params.is_empty() {
            return self;
        }
        let separator = if self.url.contains('?') { '&' } else { '?' };
        self.url = format!("{}{separator}{}", self.url, form_encode(params));
        self
    }

    /// The headers sent: a body goes with its length, so it is not chunked (proxies in
    /// front of some panels refuse chunked requests).
    fn wire_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if let Some((name, value)) = crate::auth::guest_side_header()
            && !has(&name)
        {
            headers.push((name, value));
        }
        match &self.body {
            Some(body) => headers.push(("content-length".into(), body.len().to_string())),
            // RFC 9110 §8.6: a request whose method defines content says when there is
            // none; some servers answer 411 otherwise.
            None if self.method.expects_content() => {
                headers.push(("content-length".into(), "0".into()))
            }
            None => {}
        }
        headers
    }

    /// This request only reads, though its method could write (an API that is all `POST`).
    /// The host then does not count it among the writes that may have changed the panel,
    /// so a failure or retry after it is not reported as a change. Never mark a write.
    pub fn read_only(self) -> Self {
        self.header(READ_ONLY_HEADER, "1")
    }

    pub fn basic_auth(self, username: &str, password: &str) -> Self {
        self.header(
            "authorization",
            format!("Basic {}", crate::auth::basic_token(username, password)),
        )
    }

    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sends the request and reads the whole answer (up to the body cap).
    pub fn send(self) -> Result<Response, ProviderError> {
        // The host logs every request it lets through (or denies), so the SDK does not.
        let url = crate::url::parse(&self.url)?;
        let headers = self.wire_headers();
        transport::send(&self, &url, &headers)
    }
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The typed error for a non-2xx status, carrying the panel's own message.
    pub fn error_for_status(self) -> Result<Response, ProviderError> {
        if self.is_success() {
            return Ok(self);
        }
        Err(self.status_error())
    }

    /// The typed error this response stands for, whatever its status.
    pub fn status_error(&self) -> ProviderError {
        let retry_after = self.header("retry-after").and_then(parse_retry_after);
        status_error(
            self.status,
            retry_after,
            error_message(self.status, &self.body),
        )
    }

    /// The body as JSON of the expected shape; anything else is a readable API error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        parse_json(self.status, &self.body)
    }

    /// The body as JSON read by `read` (see [`crate::json`]); anything else is a readable
    /// API error, as with [`Response::json`].
    pub fn json_with<T>(&self, read: crate::json::Read<T>) -> Result<T, ProviderError> {
        parse_json_with(self.status, &self.body, read)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses a response body, describing what was wrong when it is not the expected JSON.
pub fn parse_json<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            format!("unexpected JSON shape: {e}")
        } else {
            format!("response is not JSON ({})", error_message(status, body))
        };
        ProviderError::Api(ApiError {
            status,
            message: what,
        })
    })
}

/// Parses a response body into a [`serde_json::Value`] and reads it with `read` (see
/// [`crate::json`]): the same errors as [`parse_json`], without a deserializer per type.
pub fn parse_json_with<T>(
    status: u16,
    body: &[u8],
    read: crate::json::Read<T>,
) -> Result<T, ProviderError> {
    let value = parse_json::<serde_json::Value>(status, body)?;
    read(&value).map_err(|e| {
        ProviderError::Api(ApiError {
            status,
            message: format!("unexpected JSON shape: {e}"),
        })
    })
}

/// `k=v&k2=v2`, each part percent-encoded (unreserved characters kept, so secret
/// placeholders pass through unchanged).
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encode(k.as_ref()),
                percent_encode(v.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{:?}` of a `wasi:http` error code, exactly as wasip2's generated `Debug` writes it
/// (`ErrorCode::DnsTimeout`, `ErrorCode::HttpRequestBodySize(Some(5))`), without core's
/// `Debug` builders, which cost about 6 KB of every component.
#[cfg(any(target_arch = "wasm32", test))]
fn error_code_debug(code: &wasip2::http::types::ErrorCode) -> String {
    use wasip2::http::types::{ErrorCode as E, FieldSizePayload};
    fn string(value: &Option<String>) -> String {
        match value {
            Some(s) => format!("Some({s:?})"),
            None => "None".into(),
        }
    }
    fn number(value: Option<u64>) -> String {
        match value {
            Some(n) => format!("Some({n})"),
            None => "None".into(),
        }
    }
    fn field_size(p: &FieldSizePayload) -> String {
        format!(
            "FieldSizePayload {{ field-name: {}, field-size: {} }}",
            string(&p.field_name),
            number(p.field_size.map(u64::from))
        )
    }
    let name = match code {
        E::DnsTimeout => "DnsTimeout",
        E::DnsError(_) => "DnsError",
        E::DestinationNotFound => "DestinationNotFound",
        E::DestinationUnavailable => "DestinationUnavailable",
        E::DestinationIpProhibited => "DestinationIpProhibited",
        E::DestinationIpUnroutable => "DestinationIpUnroutable",
        E::ConnectionRefused => "ConnectionRefused",
        E::ConnectionTerminated => "ConnectionTerminated",
        E::ConnectionTimeout => "ConnectionTimeout",
        E::ConnectionReadTimeout => "ConnectionReadTimeout",
        E::ConnectionWriteTimeout => "ConnectionWriteTimeout",
        E::ConnectionLimitReached => "ConnectionLimitReached",
        E::TlsProtocolError => "TlsProtocolError",
        E::TlsCertificateError => "TlsCertificateError",
        E::TlsAlertReceived(_) => "TlsAlertReceived",
        E::HttpRequestDenied => "HttpRequestDenied",
        E::HttpRequestLengthRequired => "HttpRequestLengthRequired",
        E::HttpRequestBodySize(_) => "HttpRequestBodySize",
        E::HttpRequestMethodInvalid => "HttpRequestMethodInvalid",
        E::HttpRequestUriInvalid => "HttpRequestUriInvalid",
        E::HttpRequestUriTooLong => "HttpRequestUriTooLong",
        E::HttpRequestHeaderSectionSize(_) => "HttpRequestHeaderSectionSize",
        E::HttpRequestHeaderSize(_) => "HttpRequestHeaderSize",
        E::HttpRequestTrailerSectionSize(_) => "HttpRequestTrailerSectionSize",
        E::HttpRequestTrailerSize(_) => "HttpRequestTrailerSize",
        E::HttpResponseIncomplete => "HttpResponseIncomplete",
        E::HttpResponseHeaderSectionSize(_) => "HttpResponseHeaderSectionSize",
        E::HttpResponseHeaderSize(_) => "HttpResponseHeaderSize",
        E::HttpResponseBodySize(_) => "HttpResponseBodySize",
        E::HttpResponseTrailerSectionSize(_) => "HttpResponseTrailerSectionSize",
        E::HttpResponseTrailerSize(_) => "HttpResponseTrailerSize",
        E::HttpResponseTransferCoding(_) => "HttpResponseTransferCoding",
        E::HttpResponseContentCoding(_) => "HttpResponseContentCoding",
        E::HttpResponseTimeout => "HttpResponseTimeout",
        E::HttpUpgradeFailed => "HttpUpgradeFailed",
        E::HttpProtocolError => "HttpProtocolError",
        E::LoopDetected => "LoopDetected",
        E::ConfigurationError => "ConfigurationError",
        E::InternalError(_) => "InternalError",
    };
    let payload = match code {
        E::DnsError(p) => format!(
            "DnsErrorPayload {{ rcode: {}, info-code: {} }}",
            string(&p.rcode),
            number(p.info_code.map(u64::from))
        ),
        E::TlsAlertReceived(p) => format!(
            "TlsAlertReceivedPayload {{ alert-id: {}, alert-message: {} }}",
            number(p.alert_id.map(u64::from)),
            string(&p.alert_message)
        ),
        E::HttpRequestBodySize(n) | E::HttpResponseBodySize(n) => number(*n),
        E::HttpRequestHeaderSectionSize(n)
        | E::HttpRequestTrailerSectionSize(n)
        | E::HttpResponseHeaderSectionSize(n)
        | E::HttpResponseTrailerSectionSize(n) => number(n.map(u64::from)),
        E::HttpRequestHeaderSize(Some(p)) => format!("Some({})", field_size(p)),
        E::HttpRequestHeaderSize(None) => "None".into(),
        E::HttpRequestTrailerSize(p)
        | E::HttpResponseHeaderSize(p)
        | E::HttpResponseTrailerSize(p) => field_size(p),
        E::HttpResponseTransferCoding(s)
        | E::HttpResponseContentCoding(s)
        | E::InternalError(s) => string(s),
        _ => return format!("ErrorCode::{name}"),
    };
    format!("ErrorCode::{name}({payload})")
}

/// `{:?}` of a header error, as wasip2's generated `Debug` writes it.
#[cfg(any(target_arch = "wasm32", test))]
fn header_error_debug(error: &wasip2::http::types::HeaderError) -> &'static str {
    use wasip2::http::types::HeaderError;
    match error {
        HeaderError::InvalidSyntax => "HeaderError::InvalidSyntax",
        HeaderError::Forbidden => "HeaderError::Forbidden",
        HeaderError::Immutable => "HeaderError::Immutable",
    }
}

#[cfg(target_arch = "wasm32")]
mod transport {
    //! The `wasi:http` plumbing, in one place.
    use super::{Method, Request, Response, error_code_debug, header_error_debug};
    use crate::url::ParsedUrl;
    use crate::{ApiError, ProviderError};
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest,
        RequestOptions, Scheme, http_error_code,
    };
    use wasip2::io::streams::{OutputStream, StreamError};

    pub(super) fn send(
        request: &Request,
        url: &ParsedUrl,
        headers: &[(String, String)],
    ) -> Result<Response, ProviderError> {
        let fields: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        let headers = Fields::from_list(&fields).map_err(|e| {
            ProviderError::InvalidInput(format!("bad request header: {}", header_error_debug(&e)))
        })?;
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method {
            Method::Get => WasiMethod::Get,
            Method::Post => WasiMethod::Post,
            Method::Put => WasiMethod::Put,
            Method::Patch => WasiMethod::Patch,
            Method::Delete => WasiMethod::Delete,
        };
        let invalid = |what: &str| ProviderError::InvalidInput(format!("bad request {what}"));
        outgoing
            .set_method(&method)
            .map_err(|()| invalid("method"))?;
        let scheme = if url.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| invalid("scheme"))?;
        outgoing
            .set_authority(Some(&url.authority))
            .map_err(|()| invalid("host"))?;
        outgoing
            .set_path_with_query(Some(&url.path_and_query))
            .map_err(|()| invalid("path"))?;

        // A body is only opened when there is one: with none, a host denial reaches us
        // deterministically as `HttpRequestDenied` on the response future.
        const EMPTY: &Vec<u8> = &Vec::new();
        let content = match &request.body {
            Some(bytes) => Some(bytes),
            None if request.method.expects_content() => Some(EMPTY),
            None => None,
        };
        let body = match content {
            Some(bytes) => {
                let body = outgoing.body().map_err(|()| invalid("body"))?;
                Some((body, bytes))
            }
            None => None,
        };

        let options = RequestOptions::new();
        let nanos = u64::try_from(request.timeout.as_nanos()).unwrap_or(u64::MAX);
        // The host may refuse to let a guest set these; its own ceiling applies then.
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));

        let future = outgoing_handler::handle(outgoing, Some(options)).map_err(transport_error)?;
        // The body is written after the request is handed over. Once the server has read
        // `content-length` bytes it may drop the stream, so a failed flush or finish does
        // not mean the request failed: the response future says what happened.
        let body_failed = match body {
            Some((body, bytes)) => {
                let written = {
                    let stream = body.write().map_err(|()| invalid("body stream"))?;
                    write_all(&stream, bytes)
                };
                let finished = OutgoingBody::finish(body, None);
                !written || finished.is_err()
            }
            None => false,
        };

        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(transport_error(code)),
            Some(Err(())) | None if body_failed => {
                return Err(ProviderError::Transient(
                    "connection closed while sending the request body".into(),
                ));
            }
            Some(Err(())) | None => {
                return Err(ProviderError::Transient(
                    "response future was already consumed".into(),
                ));
            }
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| ProviderError::Transient("response body unavailable".into()))?;
        let body = read_capped(&incoming, request.max_body, status)?;
        drop(IncomingBody::finish(incoming));
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// What `std::io::Write`'s `write_all` and `flush` do on a `wasi:io` output stream
    /// (wasip2's `Write` impl), without std's `io::Error` machinery: whether every byte
    /// was written and flushed.
    fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            let budget = loop {
                match stream.check_write() {
                    Ok(0) => stream.subscribe().block(),
                    Ok(n) => break n,
                    // A closed stream takes nothing (`write_all`'s `WriteZero`).
                    Err(_) => return false,
                }
            };
            let Ok(budget) = usize::try_from(budget) else {
                return false;
            };
            let n = bytes.len().min(budget);
            if stream.write(&bytes[..n]).is_err() {
                return false;
            }
            bytes = &bytes[n..];
        }
        stream.blocking_flush().is_ok()
    }

    fn read_capped(
        incoming: &IncomingBody,
        max: usize,
        status: u16,
    ) -> Result<Vec<u8>, ProviderError> {
        let stream = incoming
            .stream()
            .map_err(|()| ProviderError::Transient("response body unavailable".into()))?;
        let mut body = Vec::new();
        loop {
            // Ask for one byte past the cap so an exactly-full body is not mistaken for too big.
            let want = (max + 1 - body.len()).min(64 * 1024) as u64;
            match stream.blocking_read(want) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                // The host says why the read failed in `wasi:http` terms (body too large,
                // connection reset, timeout), which sorts it like any transport error.
                Err(StreamError::LastOperationFailed(error)) => {
                    return Err(match http_error_code(&error) {
                        Some(code) => transport_error(code),
                        None => body_read_error(&error.to_debug_string(), status),
                    });
                }
            }
            if body.len() > max {
                return Err(ProviderError::Api(ApiError {
                    status,
                    message: format!("response body is larger than {max} bytes; refused"),
                }));
            }
        }
        Ok(body)
    }

    /// A failed body read the host did not tag with an `error-code` (wasmtime 48 tags only
    /// its p2 codes, not the errors of its shared HTTP layer): told by its text.
    fn body_read_error(debug: &str, status: u16) -> ProviderError {
        let first_line = debug.lines().next().unwrap_or("").trim();
        if first_line.contains("size exceeds limit") {
            // A host limit: the same response will break it again, so this is final.
            return ProviderError::Api(ApiError {
                status,
                message: format!("response body exceeded the host's limit ({first_line})"),
            });
        }
        ProviderError::Transient(format!("reading the response failed: {first_line}"))
    }

    /// `wasi:http` transport errors, sorted into what a retry can fix and what it cannot.
    fn transport_error(code: ErrorCode) -> ProviderError {
        match code {
            ErrorCode::HttpRequestDenied => {
                ProviderError::Denied("the host's sandbox does not allow this request".into())
            }
            ErrorCode::DestinationIpProhibited => ProviderError::Denied(
                "the host's sandbox does not allow this destination address".into(),
            ),
            ErrorCode::HttpResponseBodySize(limit) => ProviderError::Api(ApiError {
                status: 0,
                message: format!(
                    "response body exceeded the host's limit{}",
                    limit.map(|l| format!(" of {l} bytes")).unwrap_or_default()
                ),
            }),
            ErrorCode::TlsCertificateError => ProviderError::Api(ApiError {
                status: 0,
                message: "the panel's TLS certificate was not accepted".into(),
            }),
            ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestMethodInvalid => {
                ProviderError::InvalidInput(format!("request refused: {}", error_code_debug(&code)))
            }
            other => ProviderError::Transient(describe(&other)),
        }
    }

    fn describe(code: &ErrorCode) -> String {
        match code {
            ErrorCode::ConnectionRefused => "connection refused".into(),
            ErrorCode::ConnectionTerminated => "connection reset".into(),
            ErrorCode::HttpProtocolError | ErrorCode::HttpResponseIncomplete => {
                "the connection broke before the panel's answer was complete".into()
            }
            ErrorCode::ConnectionTimeout => "connect timed out".into(),
            ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
                "the panel did not answer in time".into()
            }
            ErrorCode::DnsTimeout => "DNS lookup timed out".into(),
            ErrorCode::DnsError(payload) => format!(
                "DNS lookup failed{}",
                payload
                    .rcode
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            ErrorCode::InternalError(Some(detail)) => format!("transport error: {detail}"),
            other => format!("transport error: {}", error_code_debug(other)),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod transport {
    //! Outside a component there is no `wasi:http`; unit tests exercise everything but
    //! the wire, and end-to-end tests run the real component in the host.
    use super::{Request, Response};
    use crate::ProviderError;
    use crate::url::ParsedUrl;

    pub(super) fn send(
        _: &Request,
        _: &ParsedUrl,
        _: &[(String, String)],
    ) -> Result<Response, ProviderError> {
        Err(ProviderError::Denied(
            "wasi:http is only available inside a component".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_read_as_their_debug() {
        use wasip2::http::types::{
            DnsErrorPayload, ErrorCode as E, FieldSizePayload, HeaderError, TlsAlertReceivedPayload,
        };
        let text = Some("a \"b\"\n\u{7f}é".to_string());
        let size = |name: Option<String>, size| FieldSizePayload {
            field_name: name,
            field_size: size,
        };
        let mut codes = vec![
            E::DnsTimeout,
            E::DestinationNotFound,
            E::DestinationUnavailable,
            E::DestinationIpProhibited,
            E::DestinationIpUnroutable,
            E::ConnectionRefused,
            E::ConnectionTerminated,
            E::ConnectionTimeout,
            E::ConnectionReadTimeout,
            E::ConnectionWriteTimeout,
            E::ConnectionLimitReached,
            E::TlsProtocolError,
            E::TlsCertificateError,
            E::HttpRequestDenied,
            E::HttpRequestLengthRequired,
            E::HttpRequestMethodInvalid,
            E::HttpRequestUriInvalid,
            E::HttpRequestUriTooLong,
            E::HttpResponseIncomplete,
            E::HttpResponseTimeout,
            E::HttpUpgradeFailed,
            E::HttpProtocolError,
            E::LoopDetected,
            E::ConfigurationError,
            E::HttpRequestHeaderSize(None),
        ];
        for s in [None, text.clone()] {
            codes.extend([
                E::HttpResponseTransferCoding(s.clone()),
                E::HttpResponseContentCoding(s.clone()),
                E::InternalError(s.clone()),
            ]);
            for n in [None, Some(0), Some(u32::MAX)] {
                codes.extend([
                    E::HttpRequestHeaderSize(Some(size(s.clone(), n))),
                    E::HttpRequestTrailerSize(size(s.clone(), n)),
                    E::HttpResponseHeaderSize(size(s.clone(), n)),
                    E::HttpResponseTrailerSize(size(s.clone(), n)),
                    E::HttpRequestHeaderSectionSize(n),
                    E::HttpRequestTrailerSectionSize(n),
                    E::HttpResponseHeaderSectionSize(n),
                    E::HttpResponseTrailerSectionSize(n),
                    E::DnsError(DnsErrorPayload {
                        rcode: s.clone(),
                        info_code: n.map(|n| n as u16),
                    }),
                    E::TlsAlertReceived(TlsAlertReceivedPayload {
                        alert_id: n.map(|n| n as u8),
                        alert_message: s.clone(),
                    }),
                ]);
            }
        }
        for n in [None, Some(0), Some(u64::MAX)] {
            codes.extend([E::HttpRequestBodySize(n), E::HttpResponseBodySize(n)]);
        }
        for code in codes {
            assert_eq!(error_code_debug(&code), format!("{code:?}"));
        }
        for error in [
            HeaderError::InvalidSyntax,
            HeaderError::Forbidden,
            HeaderError::Immutable,
        ] {
            assert_eq!(header_error_debug(&error), format!("{error:?}"));
        }
    }

    #[test]
    fn bodies_are_sent_with_their_length() {
        let req = Request::post("https://x/y").json(&serde_json::json!({"auto": true}));
        assert!(
            req.wire_headers()
                .contains(&("content-length".into(), "13".into()))
        );
        let get = Request::get("https://x/y");
        assert!(
            !get.wire_headers()
                .iter()
                .any(|(k, _)| k == "content-length")
        );
        let put = Request::put("https://x/ssl/52");
        assert!(
            put.wire_headers()
                .contains(&("content-length".into(), "0".into()))
        );
    }

    #[test]
    fn form_bodies_and_queries_are_percent_encoded() {
        let req = Request::post("https://x/api").form(&[
            ("cmd", "v-add-web-domain-alias"),
            ("arg3", "shop.example.com"),
            ("q", "a b&c=d"),
        ]);
        assert_eq!(
            req.body.as_deref(),
            Some(&b"cmd=v-add-web-domain-alias&arg3=shop.example.com&q=a%20b%26c%3Dd"[..])
        );
        assert!(
            req.headers
                .iter()
                .any(|(k, v)| k == "content-type" && v == "application/x-www-form-urlencoded")
        );
        let placeholder = "~dhs~0123456789abcdef0123456789abcdef~WU_X~u~";
        assert_eq!(
            form_encode(&[("hash", placeholder)]),
            format!("hash={placeholder}")
        );
        let req = Request::get("https://x/json-api/cpanel?cpanel_jsonapi_version=2")
            .query(&[("domain", "a.com")]);
        assert_eq!(
            req.url,
            "https://x/json-api/cpanel?cpanel_jsonapi_version=2&domain=a.com"
        );
        assert_eq!(
            Request::get("https://x/y").query(&[("p", "1")]).url,
            "https://x/y?p=1"
        );
    }

    #[test]
    fn read_only_requests_carry_the_hosts_marker() {
        let req = Request::post("https://x/cloudAPI/").read_only();
        assert!(req.headers.contains(&(READ_ONLY_HEADER.into(), "1".into())));
    }

    #[test]
    fn json_body_sets_content_type() {
        let req = Request::post("https://x/y").json(&serde_json::json!({"auto": true}));
        assert_eq!(req.body.as_deref(), Some(&br#"{"auto":true}"#[..]));
        assert!(
            req.headers
                .iter()
                .any(|(k, v)| k == "content-type" && v == "application/json")
        );
    }

    #[test]
    fn error_for_status_uses_panel_message_and_retry_after() {
        let resp = Response {
            status: 429,
            headers: vec![("Retry-After".into(), "2".into())],
            body: br#"{"message":"Too Many Attempts."}"#.to_vec(),
        };
        match resp.error_for_status() {
            Err(ProviderError::RateLimited(rl)) => {
                assert_eq!(rl.retry_after_secs, Some(2));
                assert_eq!(rl.message, "Too Many Attempts.");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_json_is_an_api_error_not_a_panic() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Shape {
            data: Vec<String>,
        }
        let html = parse_json::<Shape>(200, b"<html><title>Login</title></html>").unwrap_err();
        assert!(matches!(&html, ProviderError::Api(e) if e.message.contains("not JSON")));
        let shape = parse_json::<Shape>(200, br#"{"data": 3}"#).unwrap_err();
        assert!(
            matches!(&shape, ProviderError::Api(e) if e.message.contains("unexpected JSON shape"))
        );
    }
}
