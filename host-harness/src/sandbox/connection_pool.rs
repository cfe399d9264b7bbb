//! One integration's open connections to its panel, reused across its requests.
//!
//! Every request is still allowed, resolved and vetted on its own (see
//! [`crate::sandbox::outbound`]); only then does it look here for an idle connection, and
//! it takes one only when that connection went to one of the addresses this request's
//! own lookup just permitted, under the same TLS name (or both plain HTTP). So a DNS
//! answer that changes, a route or a policy that changes, never sends a request down an
//! older connection to an address it would not reach now.
//!
//! Each integration has its own pool (a field of its `OutboundPolicy`), so two
//! integrations never share a connection, even to the same panel. A TLS connection is
//! HTTP/2 when the panel picks `h2` from the ALPN offer (see
//! [`crate::sandbox::egress::panel_tls_config`]): one such connection carries all of the
//! integration's concurrent requests to that address and name, so a burst of events pays
//! one handshake. Otherwise it is HTTP/1.1 with keep-alive, and goes back to the pool only
//! once its response was read to the end. Either kind is closed after [`IDLE_TIMEOUT`]
//! unused. New TLS connections resume the integration's earlier TLS sessions (rustls
//! keeps them in the integration's `ClientConfig`).

use bytes::Bytes;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use http_body::Body;
use hyper::client::conn::http1::SendRequest;
use hyper::client::conn::http2;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// How long an unused connection stays open. Below the common server keep-alive timeouts
/// (Apache's 5 s, nginx's 75 s), so the panel rarely closes one just as it is reused; a
/// request that a closed connection never sent is sent on a new one.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Idle connections kept per integration; more are closed once their answer is read.
pub const MAX_IDLE: usize = 8;

/// Which connections a request may reuse: the vetted address and the TLS name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    address: SocketAddr,
    tls_name: Option<ServerName<'static>>,
}

impl Key {
    /// Whether a request whose lookup permitted `addresses`, under `tls_name`, may use a
    /// connection opened with this key.
    fn fits(&self, addresses: &[SocketAddr], tls_name: &Option<ServerName<'static>>) -> bool {
        &self.tls_name == tls_name && addresses.contains(&self.address)
    }
}

struct Idle {
    id: u64,
    key: Key,
    sender: SendRequest<WasiBody>,
}

/// An HTTP/2 connection: shared by every request that fits its key, open while any
/// request uses it and for [`IDLE_TIMEOUT`] after the last one.
struct Shared {
    id: u64,
    key: Key,
    sender: http2::SendRequest<WasiBody>,
    in_flight: usize,
    last_used: Instant,
}

/// The pool of one integration.
#[derive(Default)]
pub struct ConnectionPool {
    idle: Mutex<Vec<Idle>>,
    shared: Mutex<Vec<Shared>>,
    next_id: AtomicU64,
    opened: AtomicU64,
    opened_h2: AtomicU64,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("opened", &self.opened.load(Ordering::Relaxed))
            .finish()
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T> Stream for T where T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}

impl ConnectionPool {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Connections this pool opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Of those, the ones the panel took as HTTP/2.
    pub fn opened_h2(&self) -> u64 {
        self.opened_h2.load(Ordering::Relaxed)
    }

    /// An open HTTP/2 connection to one of `addresses` under `tls_name`, newest first,
    /// counted as in use until [`ConnectionPool::release`].
    fn share(
        &self,
        addresses: &[SocketAddr],
        tls_name: &Option<ServerName<'static>>,
    ) -> Option<(u64, http2::SendRequest<WasiBody>)> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.retain(|c| !c.sender.is_closed());
        let c = shared
            .iter_mut()
            .rev()
            .find(|c| c.key.fits(addresses, tls_name))?;
        c.in_flight += 1;
        Some((c.id, c.sender.clone()))
    }

    /// Adds a new HTTP/2 connection, in use by the request that opened it.
    fn add_shared(&self, key: Key, sender: http2::SendRequest<WasiBody>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Shared {
                id,
                key,
                sender,
                in_flight: 1,
                last_used: Instant::now(),
            });
        id
    }

    /// A request on HTTP/2 connection `id` is over (its answer read, dropped or failed);
    /// the connection closes once nothing used it for [`IDLE_TIMEOUT`] (its last sender
    /// dropped, hyper ends the connection).
    fn release(self: &Arc<Self>, id: u64) {
        {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            let Some(c) = shared.iter_mut().find(|c| c.id == id) else {
                return;
            };
            c.in_flight = c.in_flight.saturating_sub(1);
            c.last_used = Instant::now();
        }
        self.after_idle_timeout(move |pool| {
            pool.shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|c| c.id != id || c.in_flight > 0 || c.last_used.elapsed() < IDLE_TIMEOUT);
        });
    }

    /// Runs `close` on the pool once the idle timeout has passed, if the pool is still
    /// there (a pool dropped meanwhile took its connections with it).
    fn after_idle_timeout(self: &Arc<Self>, close: impl FnOnce(&ConnectionPool) + Send + 'static) {
        let pool = Arc::downgrade(self);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(IDLE_TIMEOUT).await;
                if let Some(pool) = pool.upgrade() {
                    close(&pool);
                }
            });
        }
    }

    /// An idle connection to one of `addresses` under `tls_name`, newest first.
    fn checkout(
        &self,
        addresses: &[SocketAddr],
        tls_name: &Option<ServerName<'static>>,
    ) -> Option<(Key, SendRequest<WasiBody>)> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|c| !c.sender.is_closed());
        let at = idle.iter().rposition(|c| c.key.fits(addresses, tls_name))?;
        let c = idle.remove(at);
        Some((c.key, c.sender))
    }

    /// Puts a connection whose answer was read back, and closes it after the idle timeout.
    fn checkin(self: &Arc<Self>, key: Key, sender: SendRequest<WasiBody>) {
        if sender.is_closed() {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(Idle { id, key, sender });
            if idle.len() > MAX_IDLE {
                idle.remove(0);
            }
        }
        self.after_idle_timeout(move |pool| {
            pool.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|c| c.id != id);
        });
    }

    /// Sends `request` (already allowed and vetted) on an open HTTP/2 connection or an
    /// idle HTTP/1.1 one to one of `addresses`, or on a new one to the first of them that
    /// answers (within the connect timeout), over TLS when `target.tls_name` is set.
    pub async fn send(
        self: &Arc<Self>,
        request: http::Request<WasiBody>,
        target: &crate::sandbox::egress::Target,
        addresses: Vec<SocketAddr>,
        tls: Arc<rustls::ClientConfig>,
        options: RequestOptions,
    ) -> Result<(http::Response<WasiBody>, IoFuture), Error> {
        let connect_timeout = options.connect_timeout.unwrap_or(Duration::from_secs(30));
        let first_byte_timeout = options
            .first_byte_timeout
            .unwrap_or(Duration::from_secs(30));
        let between_bytes = options
            .between_bytes_timeout
            .unwrap_or(Duration::from_secs(30))
            .max(Duration::from_nanos(1));
        // The authority the component asked for: HTTP/1.1 sends it as `Host` (wasmtime
        // wrote that header from it), HTTP/2 as `:authority`.
        let authority = request
            .uri()
            .authority()
            .cloned()
            .ok_or(Error::HttpRequestUriInvalid)?;
        let mut request = request;

        // A connection the panel closed meanwhile fails `ready`, or hands the request back
        // unsent; either way the next one (or a new one) is tried. A request that went out
        // is never re-sent.
        while let Some((id, mut sender)) = self.share(&addresses, &target.tls_name) {
            if sender.ready().await.is_err() {
                self.release(id);
                continue;
            }
            let h2 = match h2_form(request, &authority) {
                Ok(h2) => h2,
                Err(e) => {
                    self.release(id);
                    return Err(e);
                }
            };
            let sent = tokio::time::timeout(first_byte_timeout, sender.try_send_request(h2)).await;
            match sent {
                Ok(Ok(response)) => return Ok(self.answer_h2(response, id, between_bytes)),
                Ok(Err(mut e)) => {
                    self.release(id);
                    match e.take_message() {
                        Some(unsent) => request = unsent,
                        None => return Err(Error::from(e.into_error())),
                    }
                }
                Err(_) => {
                    self.release(id);
                    return Err(Error::ConnectionReadTimeout);
                }
            }
        }

        while let Some((key, mut sender)) = self.checkout(&addresses, &target.tls_name) {
            match tokio::time::timeout(connect_timeout, sender.ready()).await {
                Ok(Ok(())) => {}
                _ => continue,
            }
            let sent = tokio::time::timeout(
                first_byte_timeout,
                sender.try_send_request(h1_form(request, &authority)?),
            )
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?;
            match sent {
                Ok(response) => return Ok(self.answer(response, key, sender, between_bytes)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(Error::from(e.into_error())),
                },
            }
        }

        let (stream, address, h2) = connect(target, &addresses, tls, connect_timeout).await?;
        let key = Key {
            address,
            tls_name: target.tls_name.clone(),
        };
        let io = wasmtime_wasi_http::io::TokioIo::new(stream);
        if h2 {
            let (mut sender, conn) = tokio::time::timeout(
                connect_timeout,
                http2::Builder::new(hyper_util::rt::TokioExecutor::new()).handshake(io),
            )
            .await
            .map_err(|_| Error::ConnectionTimeout)??;
            self.opened.fetch_add(1, Ordering::Relaxed);
            self.opened_h2.fetch_add(1, Ordering::Relaxed);
            // The connection runs on its own task; it ends once its last sender (here and
            // in the pool) is gone.
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let h2_request = h2_form(request, &authority)?;
            let id = self.add_shared(key, sender.clone());
            let response =
                tokio::time::timeout(first_byte_timeout, sender.send_request(h2_request)).await;
            return match response {
                Ok(Ok(response)) => Ok(self.answer_h2(response, id, between_bytes)),
                Ok(Err(e)) => {
                    self.release(id);
                    Err(Error::from(e))
                }
                Err(_) => {
                    self.release(id);
                    Err(Error::ConnectionReadTimeout)
                }
            };
        }
        let (mut sender, conn) = tokio::time::timeout(
            connect_timeout,
            hyper::client::conn::http1::Builder::new().handshake(io),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
        self.opened.fetch_add(1, Ordering::Relaxed);
        // The connection outlives this request, so it is driven by a task of its own; its
        // failures reach the request as errors of the answer or of its body.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let response = tokio::time::timeout(
            first_byte_timeout,
            sender.send_request(h1_form(request, &authority)?),
        )
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
        Ok(self.answer(response, key, sender, between_bytes))
    }

    fn answer_h2(
        self: &Arc<Self>,
        response: http::Response<hyper::body::Incoming>,
        id: u64,
        between_bytes: Duration,
    ) -> (http::Response<WasiBody>, IoFuture) {
        self.wrap(
            response,
            Back::Shared(Arc::downgrade(self), id),
            between_bytes,
        )
    }

    fn answer(
        self: &Arc<Self>,
        response: http::Response<hyper::body::Incoming>,
        key: Key,
        sender: SendRequest<WasiBody>,
        between_bytes: Duration,
    ) -> (http::Response<WasiBody>, IoFuture) {
        let back = Back::Idle(Arc::downgrade(self), key, sender);
        self.wrap(response, back, between_bytes)
    }

    fn wrap(
        &self,
        response: http::Response<hyper::body::Incoming>,
        back: Back,
        between_bytes: Duration,
    ) -> (http::Response<WasiBody>, IoFuture) {
        let response = response.map(|incoming| {
            let mut timer = tokio::time::interval(between_bytes);
            timer.reset();
            http_body_util::BodyExt::boxed_unsync(PooledBody {
                incoming,
                timer,
                back: Some(back),
            })
        });
        let io: IoFuture = Box::new(async { Ok(()) });
        (response, io)
    }
}

/// The request as HTTP/1.1 sends it: the request line carries only the path and query,
/// `Host` the authority.
fn h1_form(
    request: http::Request<WasiBody>,
    authority: &http::uri::Authority,
) -> Result<http::Request<WasiBody>, Error> {
    let mut request = wire_form(request, None)?;
    if !request.headers().contains_key(http::header::HOST) {
        let host = http::HeaderValue::from_str(authority.as_str())
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        request.headers_mut().insert(http::header::HOST, host);
    }
    Ok(request)
}

/// The request as HTTP/2 sends it (over TLS only): `:scheme` https and `:authority` the
/// one the component asked for (a server refuses a request without them), no `Host`.
fn h2_form(
    request: http::Request<WasiBody>,
    authority: &http::uri::Authority,
) -> Result<http::Request<WasiBody>, Error> {
    let mut request = wire_form(request, Some(authority))?;
    request.headers_mut().remove(http::header::HOST);
    Ok(request)
}

/// The URI and version for the wire: the path and query, with the scheme and authority
/// for HTTP/2 (`Some`), alone for HTTP/1.1.
fn wire_form(
    mut request: http::Request<WasiBody>,
    h2_authority: Option<&http::uri::Authority>,
) -> Result<http::Request<WasiBody>, Error> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut uri = http::Uri::builder();
    if let Some(authority) = h2_authority {
        uri = uri.scheme("https").authority(authority.clone());
    }
    *request.uri_mut() = uri
        .path_and_query(path)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    *request.version_mut() = match h2_authority {
        Some(_) => http::Version::HTTP_2,
        None => http::Version::HTTP_11,
    };
    Ok(request)
}

/// Connects to the first of `addresses` that answers, then TLS when the target has a name;
/// says whether the panel chose HTTP/2 (`h2` through ALPN, offered only when the
/// integration's TLS settings offer it).
async fn connect(
    target: &crate::sandbox::egress::Target,
    addresses: &[SocketAddr],
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
) -> Result<(Box<dyn Stream>, SocketAddr, bool), Error> {
    let tcp = async {
        let mut last = None;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => return Ok((stream, *address)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no address to connect to")))
    };
    let (tcp, address) = match tokio::time::timeout(connect_timeout, tcp).await {
        Ok(connected) => connected.map_err(Error::Connect)?,
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let _ = tcp.set_nodelay(true);
    match &target.tls_name {
        Some(name) => {
            let connector = tokio_rustls::TlsConnector::from(tls);
            let handshake = connector.connect(name.clone(), tcp);
            let stream = match tokio::time::timeout(connect_timeout, handshake).await {
                Ok(stream) => stream.map_err(Error::Tls)?,
                Err(_) => return Err(Error::ConnectionTimeout),
            };
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            Ok((Box::new(stream), address, h2))
        }
        None => Ok((Box::new(tcp), address, false)),
    }
}

/// Where a response's connection goes once the body is over.
enum Back {
    /// An HTTP/1.1 connection: back to the idle list, if the body was read to the end
    /// (a body dropped half-read takes its connection with it).
    Idle(Weak<ConnectionPool>, Key, SendRequest<WasiBody>),
    /// A stream of an HTTP/2 connection: the connection stays either way (hyper resets a
    /// stream dropped half-read); the pool only learns that one request less uses it.
    Shared(Weak<ConnectionPool>, u64),
}

/// A response body that fails when the panel pauses longer than the between-bytes timeout,
/// and hands its connection back to the pool when it is over.
struct PooledBody {
    incoming: hyper::body::Incoming,
    timer: tokio::time::Interval,
    back: Option<Back>,
}

impl PooledBody {
    /// The body is over: read to the end (`complete`), failed or dropped.
    fn finish(&mut self, complete: bool) {
        match self.back.take() {
            Some(Back::Idle(pool, key, sender)) if complete => {
                if let Some(pool) = pool.upgrade() {
                    pool.checkin(key, sender);
                }
            }
            Some(Back::Shared(pool, id)) => {
                if let Some(pool) = pool.upgrade() {
                    pool.release(id);
                }
            }
            _ => {}
        }
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        let complete = self.incoming.is_end_stream();
        self.finish(complete);
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => {
                self.finish(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.finish(false);
                Poll::Ready(Some(Err(if e.is_timeout() {
                    Error::HttpResponseTimeout
                } else {
                    Error::from(e)
                })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                self.timer.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timer.poll_tick(cx));
                self.finish(false);
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::egress::Target;
    use http_body_util::BodyExt;
    use std::sync::atomic::AtomicUsize;

    /// A keep-alive HTTP/1.1 server on every loopback address; counts its connections.
    async fn server() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                seen.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(Bytes::from_static(b"ok")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (port, count)
    }

    /// One GET to `ip:port`, its answer read to the end.
    async fn get(pool: &Arc<ConnectionPool>, ip: &str, port: u16) {
        let tls = crate::sandbox::egress::tls_config(None).unwrap();
        let response = send(pool, ip, port, None, tls).await;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok");
    }

    /// One GET to `ip:port` (over TLS to `tls_name` when given); the answer unread.
    async fn send(
        pool: &Arc<ConnectionPool>,
        ip: &str,
        port: u16,
        tls_name: Option<&str>,
        tls: Arc<rustls::ClientConfig>,
    ) -> http::Response<WasiBody> {
        let address: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let target = Target {
            host: ip.into(),
            port,
            vet: false,
            tls_name: tls_name.map(|n| ServerName::try_from(n.to_string()).unwrap()),
        };
        let scheme = if tls_name.is_some() { "https" } else { "http" };
        let request = http::Request::get(format!("{scheme}://{ip}:{port}/"))
            .body(
                http_body_util::Empty::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .unwrap();
        let (response, _io) = pool
            .send(
                request,
                &target,
                vec![address],
                tls,
                RequestOptions::default(),
            )
            .await
            .unwrap();
        response
    }

    /// A second connection (the first is busy: its answer not yet read) resumes the
    /// first one's TLS session instead of a full handshake.
    #[tokio::test]
    async fn a_new_tls_connection_resumes_the_integrations_session() {
        let (port, connections) = server().await;
        let ca = panel_emulators::tls::TestCa::new();
        let upstream: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let front = panel_emulators::front::Front::tls(upstream, &ca, &["panel.test"]).unwrap();
        let tls = crate::sandbox::egress::tls_config(Some(ca.pem.as_bytes())).unwrap();
        let pool = ConnectionPool::new();
        let port = front.addr.port();
        let first = send(&pool, "127.0.0.1", port, Some("panel.test"), tls.clone()).await;
        let second = send(&pool, "127.0.0.1", port, Some("panel.test"), tls.clone()).await;
        for response in [first, second] {
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        assert_eq!(pool.opened(), 2);
        assert_eq!(front.connections(), 2);
        assert_eq!(connections.load(Ordering::SeqCst), 2);
        assert_eq!(front.resumed(), 1, "the second handshake resumed the first");
        // Both connections are idle now; the next requests take them, no third handshake.
        let third = send(&pool, "127.0.0.1", port, Some("panel.test"), tls).await;
        third.into_body().collect().await.unwrap();
        assert_eq!(front.connections(), 2);
    }

    /// A panel that takes `h2`: concurrent requests are streams of one connection (one
    /// handshake), which stays for the next ones; a client that does not offer `h2`
    /// (the plain `tls_config`) gets HTTP/1.1 and a connection per concurrent request.
    #[tokio::test]
    async fn concurrent_requests_to_an_http2_panel_share_one_connection() {
        let (port, _) = server().await;
        let ca = panel_emulators::tls::TestCa::new();
        let upstream: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let front = panel_emulators::front::Front::tls_h2(upstream, &ca, &["panel.test"]).unwrap();
        let port = front.addr.port();

        let h2 = crate::sandbox::egress::panel_tls_config(Some(ca.pem.as_bytes())).unwrap();
        let pool = ConnectionPool::new();
        let first = send(&pool, "127.0.0.1", port, Some("panel.test"), h2.clone()).await;
        // The first answer is not read yet: over HTTP/1.1 the second would need a
        // connection of its own.
        let second = send(&pool, "127.0.0.1", port, Some("panel.test"), h2.clone()).await;
        for response in [first, second] {
            assert_eq!(response.version(), http::Version::HTTP_2);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        let third = send(&pool, "127.0.0.1", port, Some("panel.test"), h2).await;
        third.into_body().collect().await.unwrap();
        assert_eq!((pool.opened(), pool.opened_h2()), (1, 1));
        assert_eq!(front.connections(), 1);
        assert_eq!(front.h2_requests(), 3);

        let h1 = crate::sandbox::egress::tls_config(Some(ca.pem.as_bytes())).unwrap();
        let pool = ConnectionPool::new();
        let first = send(&pool, "127.0.0.1", port, Some("panel.test"), h1.clone()).await;
        let second = send(&pool, "127.0.0.1", port, Some("panel.test"), h1).await;
        for response in [first, second] {
            assert_eq!(response.version(), http::Version::HTTP_11);
            response.into_body().collect().await.unwrap();
        }
        assert_eq!((pool.opened(), pool.opened_h2()), (2, 0));
        assert_eq!(
            front.h2_connections(),
            1,
            "only the first pool's connection"
        );
    }

    #[tokio::test]
    async fn a_connection_is_reused_only_for_the_address_it_was_opened_to() {
        let (port, connections) = server().await;
        let pool = ConnectionPool::new();
        get(&pool, "127.0.0.1", port).await;
        get(&pool, "127.0.0.1", port).await;
        get(&pool, "127.0.0.1", port).await;
        assert_eq!(
            connections.load(Ordering::SeqCst),
            1,
            "one connection, reused"
        );
        // Another vetted address (the same server) never gets the pooled connection.
        get(&pool, "127.0.0.2", port).await;
        assert_eq!(connections.load(Ordering::SeqCst), 2);
        get(&pool, "127.0.0.1", port).await;
        get(&pool, "127.0.0.2", port).await;
        assert_eq!(connections.load(Ordering::SeqCst), 2);
        assert_eq!(pool.opened(), 2);
    }

    #[tokio::test]
    async fn an_idle_connection_is_closed_after_the_idle_timeout() {
        let (port, connections) = server().await;
        let pool = ConnectionPool::new();
        get(&pool, "127.0.0.1", port).await;
        tokio::time::sleep(IDLE_TIMEOUT / 2).await;
        get(&pool, "127.0.0.1", port).await;
        assert_eq!(connections.load(Ordering::SeqCst), 1, "reused while fresh");
        tokio::time::sleep(IDLE_TIMEOUT + Duration::from_millis(300)).await;
        assert!(
            pool.idle.lock().unwrap().is_empty(),
            "no idle connection kept"
        );
        get(&pool, "127.0.0.1", port).await;
        assert_eq!(connections.load(Ordering::SeqCst), 2, "a new one after it");
    }

    #[tokio::test]
    async fn pools_do_not_share_connections() {
        let (port, connections) = server().await;
        let (a, b) = (ConnectionPool::new(), ConnectionPool::new());
        get(&a, "127.0.0.1", port).await;
        get(&b, "127.0.0.1", port).await;
        get(&a, "127.0.0.1", port).await;
        get(&b, "127.0.0.1", port).await;
        assert_eq!(connections.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_connection_fits_only_its_vetted_address_and_tls_name() {
        let name = |n: &str| Some(ServerName::try_from(n.to_string()).unwrap());
        let a: SocketAddr = "203.0.113.7:443".parse().unwrap();
        let b: SocketAddr = "203.0.113.8:443".parse().unwrap();
        let key = Key {
            address: a,
            tls_name: name("panel.example"),
        };
        assert!(key.fits(&[b, a], &name("panel.example")));
        assert!(!key.fits(&[b], &name("panel.example")), "another address");
        assert!(!key.fits(&[a], &name("other.example")), "another TLS name");
        assert!(
            !key.fits(&[a], &None),
            "plain HTTP never takes a TLS connection"
        );
        let plain = Key {
            address: a,
            tls_name: None,
        };
        assert!(!plain.fits(&[a], &name("panel.example")));
    }
}
