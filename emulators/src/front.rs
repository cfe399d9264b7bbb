//! What stands in front of an emulator to make it look like a panel on the internet: TLS
//! (a certificate from a [`TestCa`]) and network latency, each counting the connections
//! (and TLS session resumptions) it sees, for tests and benchmarks of connection reuse.
//!
//! A front opens one upstream connection per connection it accepts, so the counts of a
//! chain of fronts and of the emulator behind them agree.

use crate::tls::{Served, TestCa};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
struct Counts {
    connections: AtomicUsize,
    resumed: AtomicUsize,
    h2: AtomicUsize,
    h2_requests: AtomicUsize,
}

/// A running front; dropping it stops accepting.
pub struct Front {
    pub addr: SocketAddr,
    counts: Arc<Counts>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl Front {
    /// Terminates TLS (a certificate for `names` signed by `ca`) and forwards the plain
    /// bytes to `upstream`. TLS sessions are resumable (rustls' default session cache).
    pub fn tls(upstream: SocketAddr, ca: &TestCa, names: &[&str]) -> std::io::Result<Front> {
        Front::tls_offering(upstream, ca, names, false)
    }

    /// Like [`Front::tls`], but takes HTTP/2 when the client offers `h2` through ALPN, as
    /// the API front ends of most panels do (Cloudflare's, and nginx or Apache with
    /// `http2` on): each HTTP/2 connection is served here, its requests forwarded one at
    /// a time as HTTP/1.1 over one upstream connection (so the emulator behind still
    /// counts one connection per connection the front accepted). A client that offers
    /// only HTTP/1.1 gets its bytes forwarded as by `tls`.
    pub fn tls_h2(upstream: SocketAddr, ca: &TestCa, names: &[&str]) -> std::io::Result<Front> {
        Front::tls_offering(upstream, ca, names, true)
    }

    fn tls_offering(
        upstream: SocketAddr,
        ca: &TestCa,
        names: &[&str],
        h2: bool,
    ) -> std::io::Result<Front> {
        let cert = ca.certified(&Served::Signed {
            names: names.iter().map(|n| n.to_string()).collect(),
            from: 2020,
            until: 2090,
        });
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneCert(cert)));
        if h2 {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Front::spawn("tls-front", move |client, counts| {
            let acceptor = acceptor.clone();
            async move {
                let Ok(mut tls) = acceptor.accept(client).await else {
                    return;
                };
                if tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                    counts.resumed.fetch_add(1, Ordering::SeqCst);
                }
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = server.set_nodelay(true);
                if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    counts.h2.fetch_add(1, Ordering::SeqCst);
                    serve_h2(tls, server, counts).await;
                } else {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                }
            }
        })
    }

    /// Forwards to `upstream`, holding every chunk `each_way` in each direction: a network
    /// round trip of twice that, without limiting the bandwidth. A new connection first
    /// waits one round trip, as TCP's handshake does, before anything it sends moves on.
    pub fn delay(upstream: SocketAddr, each_way: Duration) -> std::io::Result<Front> {
        Front::spawn("delay-front", move |client, _counts| async move {
            tokio::time::sleep(each_way * 2).await;
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let up = tokio::spawn(delayed_copy(client_read, server_write, each_way));
            let down = tokio::spawn(delayed_copy(server_read, client_write, each_way));
            let _ = tokio::join!(up, down);
        })
    }

    /// Forwards each connection to the first upstream whose path prefix its first request
    /// line names, so two panels can share one address: a connection that later carries a
    /// request for the other panel reaches the wrong emulator, which refuses it.
    pub fn split(routes: Vec<(&'static str, SocketAddr)>) -> std::io::Result<Front> {
        let routes = Arc::new(routes);
        Front::spawn("split-front", move |mut client, _counts| {
            let routes = routes.clone();
            async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n") && head.len() < 8192 {
                    match client.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let path = line.split(' ').nth(1).unwrap_or("");
                let Some((_, upstream)) = routes.iter().find(|(p, _)| path.starts_with(p)) else {
                    return;
                };
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = server.set_nodelay(true);
                if server.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            }
        })
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// TLS handshakes that resumed an earlier session (TLS fronts only).
    pub fn resumed(&self) -> usize {
        self.counts.resumed.load(Ordering::SeqCst)
    }

    /// Connections that chose HTTP/2 through ALPN ([`Front::tls_h2`] only).
    pub fn h2_connections(&self) -> usize {
        self.counts.h2.load(Ordering::SeqCst)
    }

    /// Requests that came over HTTP/2.
    pub fn h2_requests(&self) -> usize {
        self.counts.h2_requests.load(Ordering::SeqCst)
    }

    fn spawn<F, Fut>(name: &str, handle: F) -> std::io::Result<Front>
    where
        F: Fn(TcpStream, Arc<Counts>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let seen = counts.clone();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("front runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("listener");
                    loop {
                        let client = tokio::select! {
                            got = listener.accept() => match got {
                                Ok((s, _)) => s,
                                Err(_) => continue,
                            },
                            _ = &mut rx => return,
                        };
                        let _ = client.set_nodelay(true);
                        seen.connections.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(handle(client, seen.clone()));
                    }
                });
            })?;
        Ok(Front {
            addr,
            counts,
            _shutdown: tx,
        })
    }
}

/// Copies `from` to `to`, each chunk leaving `delay` after it arrived.
async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or(0);
        let due = tokio::time::Instant::now() + delay;
        if tx.send((due, buf[..n].to_vec())).is_err() || n == 0 {
            break;
        }
    }
    let _ = writer.await;
}

/// Serves one HTTP/2 connection, forwarding each request as HTTP/1.1 over `upstream`, one
/// at a time. HTTP/2 sends the host as `:authority` (RFC 9113, 8.3.1); HTTP/1.1 needs it
/// as `Host` (RFC 9112, 3.2).
async fn serve_h2<S>(client: S, upstream: TcpStream, counts: Arc<Counts>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    type Upstream = hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>;
    let Ok((sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await
    else {
        return;
    };
    tokio::spawn(conn);
    let sender: Arc<tokio::sync::Mutex<Upstream>> = Arc::new(tokio::sync::Mutex::new(sender));
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let sender = sender.clone();
            let counts = counts.clone();
            async move {
                counts.h2_requests.fetch_add(1, Ordering::SeqCst);
                let (parts, body) = request.into_parts();
                let body = body.collect().await?.to_bytes();
                let path = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let mut forward = hyper::Request::builder().method(parts.method).uri(path);
                for (name, value) in &parts.headers {
                    forward = forward.header(name, value);
                }
                if let Some(authority) = parts.uri.authority()
                    && !parts.headers.contains_key(hyper::header::HOST)
                {
                    forward = forward.header(hyper::header::HOST, authority.as_str());
                }
                let forward = forward
                    .body(Full::new(body))
                    .expect("a request head already parsed");
                let mut sender = sender.lock().await;
                let response = match sender.send_request(forward).await {
                    Ok(response) => response,
                    Err(_) => {
                        return Ok::<_, hyper::Error>(
                            hyper::Response::builder()
                                .status(502)
                                .body(Full::new(bytes::Bytes::from_static(b"upstream failed")))
                                .expect("a fixed response"),
                        );
                    }
                };
                let (mut parts, body) = response.into_parts();
                let body = body.collect().await?.to_bytes();
                drop(sender);
                // Connection-specific headers are not allowed in HTTP/2 (RFC 9113, 8.2.2).
                for name in ["connection", "keep-alive", "transfer-encoding", "upgrade"] {
                    parts.headers.remove(name);
                }
                Ok(hyper::Response::from_parts(parts, Full::new(body)))
            }
        });
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(client), service)
        .await;
}
