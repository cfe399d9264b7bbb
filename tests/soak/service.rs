//! The `domain-host serve` process of the soak: started on a fixed loopback port (as
//! WordPress knows one URL), SIGKILLed and started again on the same state directory, and
//! a small HTTP client that reports a refused or cut connection instead of panicking (the
//! clients retry through the service's outages).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "soak-token-0123456789abcdef-0123456789";
pub const CALLBACK_SECRET: &str = "soak-callback-key-fedcba9876543210";
/// `/metrics` is not the event token's to read (security review F11).
pub const METRICS_TOKEN: &str = "soak-metrics-token-9876543210fedcba";

/// One HTTP/1.1 exchange on a connection of its own. `Err` when the service is down, cut
/// the connection or did not answer in time: the caller decides whether to retry.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    http_as(addr, TOKEN, method, path, headers, body)
}

/// [`http`] with another bearer token (the metrics scraper's).
pub fn http_as(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {answer:?}")))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The service process, restarted across kills. `pid` is shared with the RSS sampler
/// (0 while no process runs).
pub struct Service {
    pub addr: SocketAddr,
    config: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    pub pid: Arc<AtomicI32>,
    /// Processes started so far (the current one's logs are `service-<starts-1>.log`).
    pub starts: u32,
    /// How long each start took until it listened.
    pub start_times: Vec<Duration>,
}

impl Service {
    pub fn new(dir: &Path, config: &Path, addr: SocketAddr) -> Service {
        Service {
            addr,
            config: config.to_path_buf(),
            dir: dir.to_path_buf(),
            child: None,
            pid: Arc::new(AtomicI32::new(0)),
            starts: 0,
            start_times: Vec::new(),
        }
    }

    /// `domain-host approve`, as an operator does once: `serve` runs approved components
    /// only (security review F10).
    fn approve(&self) -> Result<(), String> {
        let run = crate::support::host_command()
            .arg("--config")
            .arg(&self.config)
            .arg("approve")
            .output()
            .map_err(|e| format!("cannot run approve: {e}"))?;
        if run.status.success() {
            Ok(())
        } else {
            Err(format!(
                "approve failed: {}",
                String::from_utf8_lossy(&run.stderr)
            ))
        }
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("service-{n}.log"))
    }

    /// Starts the service and waits (at most 120 s) for its `listening on` line.
    pub fn start(&mut self) -> Result<(), String> {
        if self.starts == 0 {
            self.approve()?;
        }
        let n = self.starts;
        self.starts += 1;
        let log = self.log_path(n);
        let started = Instant::now();
        let mut command = crate::support::host_command();
        command
            .arg("--config")
            .arg(&self.config)
            .args(["--log-level", "info", "serve", "--listen"])
            .arg(self.addr.to_string())
            .env("DH_SOAK_TOKEN", TOKEN)
            .env("DH_SOAK_CALLBACK_SECRET", CALLBACK_SECRET)
            .env("DH_SOAK_METRICS_TOKEN", METRICS_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?);
        let mut child = command.spawn().map_err(|e| format!("cannot start: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the service never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx.recv_timeout(Duration::from_secs(120));
        let pid = child.id() as i32;
        self.child = Some(child);
        match line {
            Ok(line) if line == format!("listening on {}", self.addr) => {
                self.pid.store(pid, Ordering::SeqCst);
                self.start_times.push(started.elapsed());
                Ok(())
            }
            other => {
                self.kill();
                Err(format!(
                    "start {n} failed ({other:?}): {}",
                    self.log_tail(n, 40)
                ))
            }
        }
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill(&mut self) {
        self.pid.store(0, Ordering::SeqCst);
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM; the exit code (SIGKILL after 30 s).
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        self.pid.store(0, Ordering::SeqCst);
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last `lines` lines of process `n`'s log.
    pub fn log_tail(&self, n: u32, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(n)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Every process's log, for the secret check.
    pub fn all_logs(&self) -> String {
        (0..self.starts)
            .map(|n| std::fs::read_to_string(self.log_path(n)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port for the service (bound and released; the service binds it with
/// SO_REUSEADDR, so a killed process's connections do not keep it from listening again).
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// Resident set size of a process, in KiB (None when it is gone).
pub fn rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
