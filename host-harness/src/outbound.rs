//! The `wasi:http` hook: every request a component makes passes through here.
//!
//! In order: the allow-list (checked on the URL the component asked for), the credential
//! header (attached only to allowed requests), the route (where the request really goes),
//! the clamped timeouts, and a cap on the response body.

use crate::allow_list::{AllowList, Routes};
use crate::credentials::Credential;
use crate::logs::{IntegrationLog, Level};
use bytes::Bytes;
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// How long a denied request's body is drained, so the guest reliably sees the denial
/// instead of a broken pipe (measured with wstd guests; harmless for others).
const DENIED_BODY_DRAIN: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct OutboundPolicy {
    pub allow: AllowList,
    pub routes: Routes,
    pub credential: Option<Credential>,
    /// Ceiling for connect, first-byte and between-bytes timeouts, whatever the guest asks.
    pub max_timeout: Duration,
    pub max_response_bytes: u64,
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
}

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            )>,
        > + Send,
>;

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
            "{}://{}{}",
            asked.scheme_str().unwrap_or("?"),
            asked.authority().map(|a| a.as_str()).unwrap_or("?"),
            asked.path()
        );

        if !self.allow.allows(&asked) {
            self.log.emit(
                Level::Warn,
                &format!("denied {method} {shown}: host not in this integration's allowed_hosts"),
            );
            return Box::new(async move {
                let _ =
                    tokio::time::timeout(DENIED_BODY_DRAIN, request.into_body().collect()).await;
                Err(HttpError::HttpRequestDenied)
            });
        }

        if let Some(credential) = &self.credential {
            request
                .headers_mut()
                .insert(credential.name.clone(), credential.value.clone());
        }
        if let Some(routed) = self.routes.apply(&asked) {
            *request.uri_mut() = routed;
        }
        self.log.emit(Level::Debug, &format!("{method} {shown}"));

        let options = self.clamp(options);
        let limit = self.max_response_bytes;
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let response = response.map(|body| {
                CappedBody {
                    inner: body.boxed_unsync(),
                    left: limit,
                    limit,
                }
                .boxed_unsync()
            });
            Ok((
                response,
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
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
