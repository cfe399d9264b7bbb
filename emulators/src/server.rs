//! The loopback HTTP server every panel emulator runs on, with what tests need around it:
//! a log of received requests, injected faults, and `/_emulator/state` for humans.
//!
//! Answers go out as real servers send them: the head in one write, then the body in two
//! chunks, the first after a short pause and the second after a yield (see [`Paced`]), so a
//! client that reads the head and stops driving its connection never sees the body.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

/// A request as a panel sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the emulator received it, for timing assertions that do not depend on how
    /// long the client process took to start.
    #[serde(skip)]
    pub received: std::time::Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| v.to_string())
        })
    }

    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| e.to_string())
    }

    /// Query and form-body fields in the order sent (the query's first), percent-decoded.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut read = |text: &str| {
            for pair in text.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                out.push((percent_decode(k), percent_decode(v)));
            }
        };
        read(&self.query);
        if self
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/x-www-form-urlencoded")
        {
            read(&String::from_utf8_lossy(&self.body));
        }
        out
    }

    /// Query and form-body fields by name (a form field wins over the same query key).
    pub fn form_params(&self) -> std::collections::BTreeMap<String, String> {
        self.form_pairs().into_iter().collect()
    }
}

/// `%XX` and `+` decoded, as PHP and form encoders write them; a broken escape is kept.
pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A panel's behaviour: state plus routes. The server serialises calls.
pub trait Panel: Send + 'static {
    fn handle(&mut self, request: &Request) -> Response;
    /// A JSON view of the state for `/_emulator/state` (no credentials in it).
    fn snapshot(&self) -> serde_json::Value;
}

/// What a fault does to a matching request.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer with this status, headers and body instead of the panel.
    Respond(Response),
    /// Close the connection without answering (the client sees a reset).
    Drop,
    /// Wait, then let the panel answer (for timeouts).
    Delay(Duration),
    /// Let the panel apply the request, then answer this instead of its answer (a write
    /// that succeeded but whose answer was a 503).
    ApplyThenRespond(Response),
    /// Let the panel apply the request, then close the connection without answering.
    ApplyThenDrop,
    /// The inner fault, only for requests whose body contains the text (panels whose every
    /// call shares one path, told apart by a field of the body).
    WhenBody(String, Box<FaultKind>),
}

/// A fault for the next `times` requests matching `method` and `path_prefix`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub times: u32,
    pub kind: FaultKind,
}

impl Fault {
    pub fn status(status: u16, times: u32) -> Self {
        let body = serde_json::json!({ "message": format!("injected {status}") });
        Fault {
            method: None,
            path_prefix: None,
            times,
            kind: FaultKind::Respond(Response::json(status, &body)),
        }
    }

    pub fn respond(response: Response, times: u32) -> Self {
        Fault {
            method: None,
            path_prefix: None,
            times,
            kind: FaultKind::Respond(response),
        }
    }

    /// Apply the request, then answer `status` (the panel's change stays).
    pub fn apply_then_status(status: u16, times: u32) -> Self {
        let body = serde_json::json!({ "message": format!("injected {status} after applying") });
        Fault {
            method: None,
            path_prefix: None,
            times,
            kind: FaultKind::ApplyThenRespond(Response::json(status, &body)),
        }
    }

    /// Apply the request, then drop the connection.
    pub fn apply_then_drop(times: u32) -> Self {
        Fault {
            method: None,
            path_prefix: None,
            times,
            kind: FaultKind::ApplyThenDrop,
        }
    }

    pub fn on(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = Some(method.to_string());
        self.path_prefix = Some(path_prefix.to_string());
        self
    }

    /// Only for requests whose body contains `text` (see [`FaultKind::WhenBody`]).
    pub fn when_body_contains(mut self, text: &str) -> Self {
        self.kind = FaultKind::WhenBody(text.to_string(), Box::new(self.kind));
        self
    }

    /// What the fault does to a request it matches.
    fn action(&self) -> FaultKind {
        match &self.kind {
            FaultKind::WhenBody(_, inner) => (**inner).clone(),
            kind => kind.clone(),
        }
    }

    fn matches(&self, request: &Request) -> bool {
        let body_ok = match &self.kind {
            FaultKind::WhenBody(text, _) => String::from_utf8_lossy(&request.body).contains(text),
            _ => true,
        };
        body_ok
            && self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&request.method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| request.path.starts_with(p))
    }
}

pub struct Shared<P> {
    pub panel: P,
    pub requests: Vec<Request>,
    pub faults: Vec<Fault>,
    /// Whether bodies wait [`BODY_PAUSE`] after the head (see [`Paced`]); on by default,
    /// off in benchmarks, which measure the client, not the emulator's pacing.
    pub paced: bool,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator<P: Panel> {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared<P>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl<P: Panel> Emulator<P> {
    /// Serves `panel` on `127.0.0.1:port` (0 picks a free port) from a thread of its own,
    /// so synchronous tests can drive a `domain-host` process against it.
    pub fn spawn(panel: P, port: u16) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            panel,
            paced: true,
            requests: Vec::new(),
            faults: Vec::new(),
        }));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let state = shared.clone();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::Builder::new()
            .name(format!("emulator-{port}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                runtime.block_on(serve(listener, state, counter, rx));
            })?;
        Ok(Emulator {
            addr,
            shared,
            connections,
            _shutdown: tx,
        })
    }

    /// Sends bodies at once after the head (`false`) or paced as real servers do (the
    /// default; see [`Paced`]).
    pub fn set_paced(&self, paced: bool) {
        self.lock().paced = paced;
    }

    /// TCP connections accepted so far (each may carry many requests: keep-alive).
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The panel's state, requests and faults, locked.
    pub fn lock(&self) -> MutexGuard<'_, Shared<P>> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// Blocks until the server is stopped (for the `panel-emulator` binary).
    pub fn wait(self) {
        loop {
            std::thread::park();
        }
    }
}

async fn serve<P: Panel>(
    listener: std::net::TcpListener,
    shared: Arc<Mutex<Shared<P>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut shutdown => return,
        };
        connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Every write leaves at once (no Nagle wait for the head's acknowledgement), so the
        // head, the body's first chunk and its rest reach the client as separate segments.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move {
                    let paced = shared.lock().unwrap_or_else(|e| e.into_inner()).paced;
                    let mut response = handle(req, shared).await?;
                    if !paced {
                        response.body_mut().pause = None;
                    }
                    Ok::<_, std::io::Error>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Largest request body the emulators accept, as a real API would refuse huge bodies.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

async fn handle<P: Panel>(
    req: hyper::Request<Incoming>,
    shared: Arc<Mutex<Shared<P>>>,
) -> Result<hyper::Response<Paced>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => {
            return Ok(to_hyper(Response::json(
                413,
                &serde_json::json!({"message": "body too large"}),
            )));
        }
    };
    let request = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        received: std::time::Instant::now(),
    };

    if request.path == "/_emulator/state" {
        let snapshot = shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .panel
            .snapshot();
        return Ok(to_hyper(Response::json(200, &snapshot)));
    }

    let fault = {
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.requests.push(request.clone());
        shared
            .faults
            .iter_mut()
            .find(|f| f.matches(&request))
            .map(|f| {
                f.times -= 1;
                f.action()
            })
    };
    match &fault {
        Some(FaultKind::Respond(response)) => return Ok(to_hyper(response.clone())),
        Some(FaultKind::Drop) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected drop",
            ));
        }
        Some(FaultKind::Delay(delay)) => tokio::time::sleep(*delay).await,
        Some(
            FaultKind::ApplyThenRespond(_) | FaultKind::ApplyThenDrop | FaultKind::WhenBody(..),
        )
        | None => {}
    }
    let response = shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .panel
        .handle(&request);
    match fault {
        Some(FaultKind::ApplyThenRespond(instead)) => Ok(to_hyper(instead)),
        Some(FaultKind::ApplyThenDrop) => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected drop after applying",
        )),
        _ => Ok(to_hyper(response)),
    }
}

fn to_hyper(response: Response) -> hyper::Response<Paced> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Paced::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| hyper::Response::new(Paced::new(Bytes::new())))
}

/// How long the body waits after the head has been flushed: long enough that the client
/// reads the head on its own, short enough that a test making hundreds of requests does
/// not notice.
pub const BODY_PAUSE: Duration = Duration::from_millis(2);

/// A response body sent the way real servers send theirs (a framework flushes the head,
/// then writes the body, a proxy forwards it in chunks): nothing until [`BODY_PAUSE`] has
/// passed, so hyper flushes the head alone; then the first half; then, after a yield (which
/// makes hyper flush again), the rest. Its length is exact, so `content-length` is still
/// sent.
pub struct Paced {
    chunks: VecDeque<Bytes>,
    len: u64,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    yielded: bool,
}

impl Paced {
    pub fn new(body: Bytes) -> Self {
        let len = body.len() as u64;
        let mut chunks = VecDeque::new();
        if body.len() >= 2 {
            let mut first = body;
            let rest = first.split_off(first.len() / 2);
            chunks.push_back(first);
            chunks.push_back(rest);
        } else if !body.is_empty() {
            chunks.push_back(body);
        }
        let pause = (!chunks.is_empty()).then(|| Box::pin(tokio::time::sleep(BODY_PAUSE)));
        Paced {
            chunks,
            len,
            pause,
            yielded: false,
        }
    }
}

impl hyper::body::Body for Paced {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if let Some(pause) = this.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.pause = None;
        } else if !this.chunks.is_empty() && !this.yielded {
            // Later chunks: one yield, so the chunk before leaves in a write of its own.
            this.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.yielded = false;
        match this.chunks.pop_front() {
            Some(chunk) => {
                this.len -= chunk.len() as u64;
                Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

/// The `Authorization` value of HTTP Basic credentials.
pub fn basic_header(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// HTTP Basic credentials from an `Authorization` header.
pub fn basic_credentials(request: &Request) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = request.header("authorization")?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// A 16-character id like the panels' (deterministic per counter, so runs are repeatable).
pub fn opaque_id(counter: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = counter
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    (0..16)
        .map(|_| {
            x ^= x >> 33;
            x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// A panel that answers every request with `200 {"ok": true}` and keeps nothing but the
/// request log: the "allowed destination" of sandbox tests.
#[derive(Debug, Clone, Default)]
pub struct Recorder;

impl Panel for Recorder {
    fn handle(&mut self, _: &Request) -> Response {
        Response::json(200, &serde_json::json!({ "ok": true }))
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "panel": "recorder" })
    }
}

/// How [`EchoAuth`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoMode {
    /// `401 {"error": {"message": "... <Authorization> ..."}}`, as a careless panel might.
    Json401,
    /// `401` HTML page whose title carries the `Authorization` header.
    Html401,
    /// `200` text with the `Authorization` header and `extra`.
    Text,
}

/// A panel that echoes the credential it receives back in its answers: the attacker (or
/// the careless panel) of redaction tests.
#[derive(Debug, Clone)]
pub struct EchoAuth {
    pub mode: EchoMode,
    /// Also echoed in `Text` mode (another integration's secret, say).
    pub extra: String,
}

impl Panel for EchoAuth {
    fn handle(&mut self, request: &Request) -> Response {
        let auth = request
            .header("authorization")
            .unwrap_or("(none)")
            .to_string();
        match self.mode {
            EchoMode::Json401 => Response::json(
                401,
                &serde_json::json!({ "error": { "message": format!("rejected Authorization: {auth}") } }),
            ),
            EchoMode::Html401 => Response {
                status: 401,
                headers: vec![("content-type".into(), "text/html".into())],
                body: format!(
                    "<!DOCTYPE html><html><head><title>Unauthorized: {auth}</title></head><body>{auth}</body></html>"
                )
                .into_bytes(),
            },
            EchoMode::Text => Response {
                status: 200,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: format!("auth={auth} extra={}", self.extra).into_bytes(),
            },
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "panel": "echo-auth" })
    }
}

/// A careless panel that reflects the request back in every form a real one might: the
/// `Authorization` and `X-Api-Key` headers and the body as they came, JSON-escaped (`\/`
/// too, as PHP writes it), HTML-escaped, percent-encoded, hex and base64; the path and
/// query in a `Location` header (a redirect under `/redirect`) and in a 404 page (under
/// `/missing`). Under `/reversed` the whole answer comes back reversed, a form no host
/// recognises. The attacker's accomplice in the redaction tests.
#[derive(Debug, Clone, Default)]
pub struct Reflect;

impl Panel for Reflect {
    fn handle(&mut self, request: &Request) -> Response {
        use base64::Engine as _;
        let auth = request.header("authorization").unwrap_or("").to_string();
        let key = request.header("x-api-key").unwrap_or("").to_string();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let url = if request.query.is_empty() {
            request.path.clone()
        } else {
            format!("{}?{}", request.path, request.query)
        };
        let all = format!("{auth}|{key}|{body}");
        let json = serde_json::to_string(&all).unwrap_or_default();
        let html = all
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let percent: String = all
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect();
        let hex: String = all.bytes().map(|b| format!("{b:02X}")).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("x{all}"));
        let text = format!(
            "raw {all}\njson {json}\nphp {}\nhtml {html}\npercent {percent}\nhex {hex}\nbase64 {b64}\nurl {url}\n",
            json.replace('/', "\\/")
        );
        let mut headers = vec![
            ("content-type".to_string(), "text/plain".to_string()),
            ("x-echo-authorization".to_string(), auth),
            ("x-echo-api-key".to_string(), key),
        ];
        let status = if request.path.starts_with("/redirect") {
            headers.push(("location".into(), format!("https://elsewhere.example{url}")));
            301
        } else if request.path.starts_with("/missing") {
            404
        } else {
            200
        };
        let text = if request.path.starts_with("/reversed") {
            text.chars().rev().collect()
        } else {
            text
        };
        Response {
            status,
            headers,
            body: text.into_bytes(),
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "panel": "reflect" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Body as _;
    use std::io::{Read, Write};

    #[test]
    fn the_body_comes_after_the_head_in_two_chunks() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut body = Paced::new(Bytes::from_static(b"{\"ok\":true}"));
            assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(11));
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            // Nothing before the pause: hyper flushes the head alone.
            assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending());
            tokio::time::sleep(BODY_PAUSE * 2).await;
            let first = match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap(),
                _ => panic!("the first chunk after the pause"),
            };
            assert_eq!(&first[..], b"{\"ok\"");
            // A yield between the chunks, so each leaves in a write of its own.
            assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending());
            let rest = match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap(),
                _ => panic!("the rest"),
            };
            assert_eq!(&rest[..], b":true}");
            assert!(hyper::body::Body::is_end_stream(&body));
            assert!(matches!(
                Pin::new(&mut body).poll_frame(&mut cx),
                Poll::Ready(None)
            ));
        });
    }

    #[test]
    fn a_paced_answer_is_whole_and_keeps_its_length() {
        let emulator = Emulator::spawn(Recorder, 0).unwrap();
        let mut stream = std::net::TcpStream::connect(emulator.addr).unwrap();
        stream
            .write_all(b"GET /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("content-length: 11"), "{head}");
        assert_eq!(body, "{\"ok\":true}");
    }
}
