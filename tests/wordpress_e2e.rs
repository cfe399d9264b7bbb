//! The WordPress bridge end to end, in a real WordPress: Debian's `wordpress` package on
//! PHP's built-in server and MariaDB, a multisite network, the bridge
//! (`wordpress/domain-host-bridge.php`) and a stand-in of Ultimate Multisite as must-use
//! plugins (set up by `scripts/wordpress-env.sh`), the real `domain-host serve`, the
//! ServerPilot emulator, and a loopback DNS server and HTTPS endpoint for the stage checks.
//!
//! One WordPress for the run, so one test function in named phases. Without root (the
//! set-up installs packages) it is skipped with the reason, or fails when `CI` is set.

mod support;

use hmac::{Hmac, Mac};
use panel_emulators::Emulator;
use panel_emulators::dns::DnsServer;
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::tls::{Served, TestCa, TlsServer};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{Case, HOST};

const ZONE: &str = "example.test";
const SHOP: &str = "shop.example.test";
const QUEUED: &str = "later.example.test";
const GONE: &str = "gone.example.test";
const TWICE: &str = "twice.example.test";
const CLIENT_ID: &str = "cid_wordpress";
const API_KEY: &str = "sp-wordpress-api-key-0987654321";
const APP_ID: &str = "wpApp01";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The WordPress `scripts/wordpress-env.sh` set up (its `env` file).
struct WordPress {
    root: String,
    host: String,
    url: String,
    service_port: u16,
    token: String,
    secret: String,
}

fn env_dir() -> PathBuf {
    std::env::var_os("DOMAIN_HOST_WP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/domain-host-wordpress"))
}

/// Sets up (or checks) the WordPress environment; Err says why it is not available.
fn wordpress() -> Result<WordPress, String> {
    if support::is_root() {
        let out = Command::new("bash")
            .arg(repo().join("scripts/wordpress-env.sh"))
            .output()
            .map_err(|e| format!("could not run scripts/wordpress-env.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/wordpress-env.sh failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let file = env_dir().join("env");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "no WordPress environment ({}: {e}); run `sudo bash scripts/wordpress-env.sh` (it needs root and apt)",
            file.display()
        )
    })?;
    let vars: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| {
        vars.get(k)
            .map(|v| v.to_string())
            .ok_or_else(|| format!("{} has no {k}", file.display()))
    };
    let wp = WordPress {
        root: get("WP_ROOT")?,
        host: get("WP_HOST")?,
        url: get("WP_URL")?,
        service_port: get("SERVICE_PORT")?.parse().map_err(|e| format!("{e}"))?,
        token: get("DOMAIN_HOST_TOKEN")?,
        secret: get("DOMAIN_HOST_CALLBACK_SECRET")?,
    };
    let (status, _) = http("GET", &format!("{}/wp-json/", wp.url), &[], "")
        .map_err(|e| format!("WordPress at {} does not answer: {e}", wp.url))?;
    if status != 200 {
        return Err(format!("WordPress at {} answered {status}", wp.url));
    }
    Ok(wp)
}

impl WordPress {
    /// `tests/wordpress/wp.php`: one thing done inside WordPress, JSON back.
    fn php(&self, args: &[&str]) -> Value {
        self.php_env(&[], args)
    }

    /// `wp.php` with extra environment (`DH_TEST_URL`: this run's DOMAIN_HOST_URL).
    fn php_env(&self, env: &[(&str, &str)], args: &[&str]) -> Value {
        let out = Command::new("php")
            .arg(repo().join("tests/wordpress/wp.php"))
            .arg(&self.root)
            .arg(&self.host)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("php");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "wp.php {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout.lines().last().unwrap_or("");
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("wp.php {args:?}: not JSON ({e}): {stdout}"))
    }

    /// Another MySQL client holding the named lock `name` (`bridge:<lock>` is the bridge's
    /// own name for `<lock>`) for up to `seconds`; released when the child is killed.
    fn hold_lock(&self, name: &str, seconds: u32) -> Child {
        let mut child = Command::new("php")
            .arg(repo().join("tests/wordpress/wp.php"))
            .arg(&self.root)
            .arg(&self.host)
            .args(["hold-lock", name, &seconds.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("php");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(line.contains(r#""held":true"#), "{name} not held: {line}");
        child
    }

    fn state(&self) -> Value {
        self.php(&["state"])
    }

    fn stage_url(&self) -> String {
        format!("{}/wp-json/domain-host/v1/stage", self.url)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(
            Path::new(&self.root).join("wp-content/uploads/wu-logs/integration-domain-host.log"),
        )
        .unwrap_or_default()
    }
}

/// A minimal HTTP/1.0 client (one request per connection).
fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: {}\r\n",
        if path.is_empty() { "/" } else { path },
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A stand-in for the service on `port` that answers one request with `status` (and
/// `Retry-After: 120`), then returns the request it got.
fn answer_once(port: u16, status: &'static str) -> std::thread::JoinHandle<String> {
    answer_once_with(port, status, "Retry-After: 120\r\n", r#"{"error":"busy"}"#)
}

/// Something on `port` that answers one request with `status`, the extra header lines
/// `headers` (each ending in CRLF) and `body`, then returns the request it got.
fn answer_once_with(
    port: u16,
    status: &'static str,
    headers: &'static str,
    body: &'static str,
) -> std::thread::JoinHandle<String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("the service's port");
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap_or(0);
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let content_type = if body.starts_with('{') {
            "application/json"
        } else {
            "text/html"
        };
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        String::from_utf8_lossy(&request).to_string()
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `domain-host serve`, stopped when dropped.
struct Service {
    child: Child,
}

impl Service {
    fn start(case: &Case, wp: &WordPress) -> Service {
        // `serve` runs approved components only (security review F10).
        case.approve(&[]);
        let listen = format!("127.0.0.1:{}", wp.service_port);
        let child = support::host_command()
            .arg("--config")
            .arg(case.config_path())
            .args(["serve", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(case.dir.join("serve.log"))
                    .unwrap(),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("start {HOST} serve: {e}"));
        let mut service = Service { child };
        let url = format!("http://{listen}/healthz");
        let start = Instant::now();
        loop {
            if let Ok((200, _)) = http("GET", &url, &[], "") {
                break;
            }
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!(
                    "domain-host serve exited ({status}):\n{}",
                    std::fs::read_to_string(case.dir.join("serve.log")).unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "domain-host serve did not answer on {url} (is the port taken?)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn panel_domains(emu: &Emulator<ServerPilot>) -> Vec<String> {
    emu.lock().panel.app(APP_ID).domains.clone()
}

/// How many times a write of the app's domain list added `domain` (absent before, present
/// after): an event applied twice by a careless panel client would show here.
fn additions(emu: &Emulator<ServerPilot>, domain: &str) -> usize {
    let mut present = false;
    let mut added = 0;
    for request in emu.requests() {
        if request.method != "POST" || !request.path.ends_with(APP_ID) {
            continue;
        }
        let now = request
            .json()
            .ok()
            .and_then(|j| j["domains"].as_array().cloned())
            .is_some_and(|d| d.iter().any(|x| x == domain));
        if now && !present {
            added += 1;
        }
        present = now;
    }
    added
}

/// The test's scraper token for `/metrics` (`[service] metrics_token`): the event token
/// WordPress holds may not read it.
const METRICS_TOKEN: &str = "wp-e2e-metrics-0123456789abcdef0123";

/// The service's `/metrics` line `name{label} value`, as a number (0 when absent).
fn metric(wp: &WordPress, line: &str) -> u64 {
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let (status, text) = http(
        "GET",
        &format!("http://127.0.0.1:{}/metrics", wp.service_port),
        &[("Authorization", bearer.as_str())],
        "",
    )
    .expect("metrics");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Events the service holds, in any state (its store, kept across restarts).
fn stored_events(wp: &WordPress) -> u64 {
    ["queued", "running", "done", "failed"]
        .iter()
        .map(|state| metric(wp, &format!("domain_host_events{{state=\"{state}\"}}")))
        .sum()
}

/// One WordPress for the run: the tests take turns (each starts with `reset`).
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
static ENV: std::sync::OnceLock<Result<WordPress, String>> = std::sync::OnceLock::new();

/// The environment (set up once) and this test's turn in it; None when it is not
/// available (skipped, or a failure in CI).
fn turn() -> Option<(&'static WordPress, std::sync::MutexGuard<'static, ()>)> {
    let guard = TURN.lock().unwrap_or_else(|e| e.into_inner());
    match ENV.get_or_init(wordpress) {
        Ok(wp) => Some((wp, guard)),
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("the WordPress environment is required in CI: {reason}")
        }
        Err(reason) => {
            eprintln!("skipped: the WordPress environment is not available: {reason}");
            None
        }
    }
}

/// A stage callback as the service signs it, posted straight to WordPress.
fn callback(wp: &WordPress, domain: &str, site: u64, stage: &str, delivery: u64) -> (u16, String) {
    let body = serde_json::json!({
        "domain": domain, "site": site, "stage": stage, "delivery": delivery,
        "changed_at": format!("2026-01-01T00:00:{delivery:02}Z"),
    })
    .to_string();
    let ts = now().to_string();
    http(
        "POST",
        &wp.stage_url(),
        &[
            ("X-Domain-Host-Timestamp", &ts),
            ("X-Domain-Host-Signature", &sign(&wp.secret, &ts, &body)),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
    .unwrap()
}

/// F1 (bridge-review.md §2.2): the real domain model's `save()` is `false` when the row
/// already holds the values; a callback whose stage the row has is acknowledged (200), not
/// refused for the service to retry forever, and later changes still land.
#[test]
fn a_callback_for_the_stage_the_row_already_has_is_acknowledged() {
    let Some((wp, _turn)) = turn() else { return };
    const D: &str = "same.example.test";
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    wp.php(&["map", D, "11"]);
    // The service's first callback: checking-dns, which UM's row was created with.
    let (status, answer) = callback(wp, D, 11, "checking-dns", 1);
    assert_eq!(status, 200, "{answer}");
    let state = wp.state();
    assert_eq!(state["model"][D]["stage"], "checking-dns", "{state}");
    assert_eq!(state["stages"][D]["stage"], "checking-dns", "{state}");
    // UM's own checker reached done first; the service's done is the same: 200.
    wp.php(&["um-stage", D, "done", "1"]);
    let (status, answer) = callback(wp, D, 11, "done", 2);
    assert_eq!(status, 200, "{answer}");
    let state = wp.state();
    assert_eq!(state["stages"][D]["stage"], "done", "{state}");
    assert_eq!(state["model"][D]["stage"], "done", "{state}");
    // The domain's later changes are not held up.
    let (status, answer) = callback(wp, D, 11, "failed", 3);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(wp.state()["model"][D]["stage"], "failed");
    assert!(!wp.log().contains("not recorded"), "{}", wp.log());
    wp.php(&["standin", "off"]);
}

/// F2 (bridge-review.md §2.4): the bridge writes UM's stage as a forward-only
/// compare-and-set against the row as it is now: a live `done` never goes back to
/// `checking-*` (only to a failure; `degraded` stays in the bridge's own record), and an
/// admin's `done-without-ssl` is kept except on failure.
#[test]
fn stages_only_move_forward_in_the_domain_model() {
    let Some((wp, _turn)) = turn() else { return };
    const D: &str = "live.example.test";
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    wp.php(&["map", D, "12"]);
    wp.php(&["um-stage", D, "done", "1"]);
    let model = |wp: &WordPress| wp.state()["model"][D]["stage"].clone();
    for (delivery, stage) in [
        (1, "checking-dns"),
        (2, "checking-ssl-cert"),
        (3, "degraded"),
    ] {
        let (status, answer) = callback(wp, D, 12, stage, delivery);
        assert_eq!(status, 200, "{stage}: {answer}");
        let state = wp.state();
        assert_eq!(
            state["model"][D]["stage"], "done",
            "{stage} kept out: {state}"
        );
        assert_eq!(state["model"][D]["secure"], true, "{state}");
        assert_eq!(
            state["stages"][D]["stage"], stage,
            "in the bridge's record: {state}"
        );
    }
    let (status, _) = callback(wp, D, 12, "ssl-failed", 4);
    assert_eq!(status, 200);
    assert_eq!(model(wp), "ssl-failed", "a failure does reach the model");
    let (status, _) = callback(wp, D, 12, "done", 5);
    assert_eq!(status, 200);
    assert_eq!(model(wp), "done");
    // A network admin chose done-without-ssl: the service's stages leave it, but failure.
    wp.php(&["um-stage", D, "done-without-ssl", "0"]);
    for (delivery, stage) in [(6, "checking-ssl-cert"), (7, "ssl-failed"), (8, "done")] {
        let (status, answer) = callback(wp, D, 12, stage, delivery);
        assert_eq!(status, 200, "{stage}: {answer}");
        assert_eq!(model(wp), "done-without-ssl", "{stage} kept out");
    }
    let (status, _) = callback(wp, D, 12, "failed", 9);
    assert_eq!(status, 200);
    assert_eq!(model(wp), "failed");
    wp.php(&["standin", "off"]);
}

/// F3 (bridge-review.md §5): a new subdomain site fires both `wu_add_subdomain` (site id a
/// numeric string) and `wu_add_domain` for the same host, and its deletion both removes:
/// the bridge sends one event each time; a mapped domain of that site is still its own.
#[test]
fn a_subdomain_site_is_one_event() {
    let Some((wp, _turn)) = turn() else { return };
    const SITE: &str = "blog.example.test";
    const MAPPED: &str = "blog-shop.example.test";
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    let events = |state: &Value| -> Vec<(String, String, Value)> {
        state["queue"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap().into(),
                    e["domain"].as_str().unwrap().into(),
                    e["site_id"].clone(),
                )
            })
            .collect()
    };
    let created = wp.php(&["site-create", SITE, "13"]);
    assert_eq!(
        events(&created),
        [("add-subdomain".to_string(), SITE.to_string(), 13.into())],
        "{created}"
    );
    let mapped = wp.php(&["map", MAPPED, "13"]);
    assert_eq!(events(&mapped).len(), 2, "{mapped}");
    assert_eq!(events(&mapped)[1].0, "add-domain");
    let deleted = wp.php(&["site-delete", SITE, "13"]);
    assert_eq!(
        events(&deleted)[2..],
        [("remove-subdomain".to_string(), SITE.to_string(), 13.into())],
        "{deleted}"
    );
    wp.php(&["standin", "off"]);
}

/// Queue entries as (event, domain, site_id).
fn queued(state: &Value) -> Vec<(String, String, u64)> {
    state["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["domain"].as_str().unwrap().to_string(),
                e["site_id"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn ev(event: &str, domain: &str, site: u64) -> (String, String, u64) {
    (event.to_string(), domain.to_string(), site)
}

/// Issue 20 item 1 (security review F7): the queue and the stage records are the bridge's
/// own tables, one row per event / per domain, created by the bridge; 0.1's network options
/// are moved over once (order, keys and attempts kept); a delivered event leaves the table;
/// `removed` records are pruned after 7 days; a callback for the stage the row has does not
/// save the model.
#[test]
fn storage_is_the_bridges_own_tables() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    let old_queue = serde_json::json!([
        {"key": "wu-as-7-add-domain-aaaa", "event": "add-domain", "domain": "old-a.example.test",
         "site_id": 3, "queued": 1, "attempts": 2, "last_error": "service unreachable"},
        {"key": "wp-old-two", "event": "remove-domain", "domain": "old-b.example.test",
         "site_id": 4, "queued": 2, "attempts": 0},
    ])
    .to_string();
    let eight_days_ago = now() - 8 * 86400;
    let old_stages = serde_json::json!({
        "old-a.example.test": {"stage": "done", "site": 3, "kind": "mapped", "previous": "checking-ssl-cert",
            "diagnosis": ["fine"], "delivery": 5, "changed_at": "2026-01-01T00:00:05Z",
            "received": now(), "model": "option"},
        "long-gone.example.test": {"stage": "removed", "site": 4, "delivery": 9,
            "changed_at": "2026-01-01T00:00:09Z", "received": eight_days_ago, "model": "option"},
    })
    .to_string();
    wp.php(&["legacy", &old_queue, &old_stages]);
    let state = wp.state();
    let keys: Vec<&str> = state["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["wu-as-7-add-domain-aaaa", "wp-old-two"], "{state}");
    assert_eq!(state["queue"][0]["attempts"], 2, "{state}");
    assert_eq!(state["stages"]["old-a.example.test"]["stage"], "done");
    assert_eq!(state["stages"]["old-a.example.test"]["delivery"], 5);
    assert_eq!(state["stages"]["old-a.example.test"]["site"], 3);
    let storage = wp.php(&["storage"]);
    assert!(
        storage["tables"]
            .as_object()
            .unwrap()
            .values()
            .all(|t| t == true),
        "{storage}"
    );
    assert_eq!(storage["schema"], 1, "{storage}");
    assert_eq!(
        storage["old_queue"],
        Value::Null,
        "moved, not copied: {storage}"
    );
    assert_eq!(storage["old_stages"], Value::Null, "{storage}");
    // The self-healing check prunes `removed` records past their week.
    let healed = wp.php(&["heal"]);
    assert!(
        healed["stages"].get("long-gone.example.test").is_none(),
        "{healed}"
    );
    assert_eq!(healed["stages"]["old-a.example.test"]["stage"], "done");

    // A delivered event leaves the table: one row less, nothing kept.
    wp.php(&["reset"]);
    let service = answer_once_with(wp.service_port, "202 Accepted", "", r#"{"id":41}"#);
    let sent = wp.php(&["fire", "wu_add_domain", "row.example.test", "3"]);
    service.join().unwrap();
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    assert_eq!(wp.php(&["storage"])["events"], 0);

    // A callback for the stage the row already has writes nothing to the model (no save()).
    wp.php(&["standin", "on"]);
    wp.php(&["map", "rows.example.test", "5"]);
    let (status, answer) = callback(wp, "rows.example.test", 5, "checking-dns", 1);
    assert_eq!(status, 200, "{answer}");
    let state = wp.state();
    assert_eq!(state["model"]["rows.example.test"]["saves"], 0, "{state}");
    assert_eq!(
        state["stages"]["rows.example.test"]["stage"],
        "checking-dns"
    );
    wp.php(&["standin", "off"]);
}

/// Issue 20 item 2 (security review F6): the bridge's MySQL named locks carry this install's
/// random id: another client holding the old bare name (`domain_host_deliver_1`) blocks
/// nothing; when the bridge's own delivery lock is held elsewhere, a new event is stored,
/// not sent, and a run is scheduled (deliver_queue returns).
#[test]
fn named_locks_carry_a_per_install_random_part() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    let storage = wp.php(&["storage"]);
    let lock = storage["lock"].as_str().unwrap().to_string();
    let install = wp.php(&["storage"])["install_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(install.len(), 32, "{storage}");
    assert!(
        lock.starts_with("dh_") && lock.contains(&install[..24]) && lock.len() <= 64,
        "{lock}"
    );
    assert!(!lock.ends_with("_1"), "not the bare network id: {lock}");

    // Another tenant of the database server holds the name 0.1 used.
    let mut other = wp.hold_lock("domain_host_deliver_1", 30);
    let tried = wp.php(&["fire", "wu_add_domain", "lock-a.example.test", "3"]);
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(tried["queue"][0]["attempts"], 1, "sent at once: {tried}");

    // This install's own delivery lock is held: the new event waits in the table, the head
    // is not posted again, and a delivery run is scheduled.
    let mut sender = wp.hold_lock("bridge:deliver", 30);
    let waiting = wp.php(&["fire", "wu_add_domain", "lock-b.example.test", "3"]);
    let _ = sender.kill();
    let _ = sender.wait();
    assert_eq!(
        queued(&waiting),
        [
            ev("add-domain", "lock-a.example.test", 3),
            ev("add-domain", "lock-b.example.test", 3)
        ],
        "{waiting}"
    );
    assert_eq!(waiting["queue"][0]["attempts"], 1, "not sent: {waiting}");
    assert_eq!(waiting["queue"][1]["attempts"], 0, "{waiting}");
    assert!(
        waiting["scheduled"].is_u64(),
        "a run is scheduled: {waiting}"
    );
}

/// Issue 20 item 3 (bridge-review.md §4.2, F5): Action Scheduler runs in the main site (a
/// request in a subsite schedules delivery in the main site's store, where Ultimate
/// Multisite's jobs run); a 0 from `as_schedule_single_action` is a failure and WP-Cron takes
/// the run; a queue left with no run (the run died) gets one from the self-healing check.
#[test]
fn action_scheduler_in_the_main_site_and_a_self_healing_trigger() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    wp.php(&["as", "on"]);
    let pending = |actions: &Value| -> usize {
        actions
            .as_object()
            .map(|a| {
                a.values()
                    .filter(|a| a["hook"] == "domain_host_deliver" && a["status"] == "pending")
                    .count()
            })
            .unwrap_or(0)
    };
    let fired = wp.php(&["subsite-fire", "wu_add_domain", "sub.example.test", "2"]);
    assert_eq!(queued(&fired), [ev("add-domain", "sub.example.test", 2)]);
    assert_eq!(
        pending(&fired["sub_actions"]),
        0,
        "not the subsite's store: {fired}"
    );
    assert_eq!(fired["sub_scheduled"], false, "{fired}");
    assert_eq!(
        pending(&fired["actions"]),
        1,
        "the main site's store: {fired}"
    );
    assert_eq!(fired["scheduled"], false, "{fired}");

    // Action Scheduler answers 0: WP-Cron (in the main site) takes the run.
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    wp.php(&["as", "on"]);
    wp.php(&["as-fail", "on"]);
    let fell_back = wp.php(&["fire", "wu_add_domain", "zero.example.test", "3"]);
    assert_eq!(pending(&fell_back["actions"]), 0, "{fell_back}");
    assert!(
        fell_back["scheduled"].is_u64(),
        "WP-Cron took it: {fell_back}"
    );
    assert!(wp.log().contains("returned 0"), "{}", wp.log());

    // The run died (Action Scheduler marked it failed; no cron either): the next request's
    // self-healing check schedules one.
    wp.php(&["as-fail", "off"]);
    wp.php(&["cron-clear"]);
    let stalled = wp.php(&["as-clear"]);
    assert_eq!(stalled["scheduled"], false, "{stalled}");
    assert_eq!(pending(&stalled["actions"]), 0, "{stalled}");
    assert_eq!(queued(&stalled).len(), 1);
    let healed = wp.php(&["heal"]);
    assert_eq!(pending(&healed["actions"]), 1, "scheduled again: {healed}");
    assert!(wp.log().contains("no delivery run waiting"), "{}", wp.log());
    wp.php(&["as", "off"]);
}

/// Issue 20 item 4 (bridge-review.md §2.3-2.4, F2): one checker. While the service answers,
/// Ultimate Multisite's own stage job moves no stage (the service checks; its callback moves
/// the row and the bridge fires `wu_domain_manager_dns_propagation_finished` as UM's checker
/// would); once the service has been silent longer than DOMAIN_HOST_CHECKER_SILENCE (30
/// minutes), UM's checker runs as before.
#[test]
fn one_checker_the_service_while_it_answers() {
    let Some((wp, _turn)) = turn() else { return };
    const D1: &str = "checked.example.test";
    const D2: &str = "fallback.example.test";
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    wp.php(&["um-checks-pass", "dns"]);
    wp.php(&["map", D1, "21"]);
    wp.php(&["service-answered", "60"]);
    let handed = wp.php(&["um-check", D1]);
    assert_eq!(handed["model"][D1]["stage"], "checking-dns", "{handed}");
    assert_eq!(handed["checks"], 0, "UM's check did not run: {handed}");
    assert!(
        wp.log()
            .contains(&format!("Stage check of {D1}: domain-host checks it"))
    );
    let (status, answer) = callback(wp, D1, 21, "checking-ssl-cert", 1);
    assert_eq!(status, 200, "{answer}");
    let moved = wp.state();
    assert_eq!(moved["model"][D1]["stage"], "checking-ssl-cert", "{moved}");
    assert_eq!(
        moved["heard"],
        serde_json::json!([format!("dns_propagation_finished {D1}")]),
        "{moved}"
    );

    // Silent for 31 minutes (and not answering now): UM's own checker runs.
    wp.php(&["service-answered", "1860"]);
    wp.php(&["map", D2, "22"]);
    let fallback = wp.php(&["um-check", D2]);
    assert_eq!(fallback["checks"], 1, "{fallback}");
    assert_eq!(
        fallback["model"][D2]["stage"], "checking-ssl-cert",
        "{fallback}"
    );
    assert!(wp.log().contains("Ultimate Multisite's own check runs"));

    // A service that answers but checks no stage (no [lifecycle]: 409) leaves it to UM.
    const D3: &str = "unchecked.example.test";
    wp.php(&["service-answered", "60"]);
    wp.php(&["map", D3, "25"]);
    let fake = answer_once_with(
        wp.service_port,
        "409 Conflict",
        "",
        r#"{"error":"this service has no [lifecycle] section"}"#,
    );
    let unchecked = wp.php(&["um-check", D3]);
    let request = fake.join().unwrap();
    assert!(
        request.starts_with(&format!("POST /v1/domains/{D3}/verify ")),
        "{request}"
    );
    assert_eq!(unchecked["checks"], 2, "{unchecked}");
    assert_eq!(
        unchecked["model"][D3]["stage"], "checking-ssl-cert",
        "{unchecked}"
    );
    assert!(wp.log().contains("the service does not check it (HTTP 409"));
    wp.php(&["standin", "off"]);
}

/// Issue 20 item 5 (bridge-review.md F9): Ultimate Multisite enqueues `wu_add_domain` for a
/// renamed domain and nothing for the old name; the bridge sends the old name's removal
/// first. A domain moved to another site (no UM event at all) is removed from the old site
/// and added to the new one.
#[test]
fn a_rename_is_remove_then_add() {
    let Some((wp, _turn)) = turn() else { return };
    const OLD: &str = "old-name.example.test";
    const NEW: &str = "new-name.example.test";
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    wp.php(&["map", OLD, "23"]);
    let renamed = wp.php(&["rename", OLD, NEW]);
    assert_eq!(renamed["saved"], true, "{renamed}");
    assert_eq!(
        queued(&renamed),
        [
            ev("add-domain", OLD, 23),
            ev("remove-domain", OLD, 23),
            ev("add-domain", NEW, 23)
        ],
        "{renamed}"
    );
    let moved = wp.php(&["move", NEW, "24"]);
    assert_eq!(
        queued(&moved)[3..],
        [ev("remove-domain", NEW, 23), ev("add-domain", NEW, 24)],
        "{moved}"
    );
    wp.php(&["standin", "off"]);
}

/// Issue 20 item 6, security review F3: only the service's own answers end an event. A
/// redirect (not followed), a proxy's 400 page, a 2xx without `{"id"}` and a 421 keep it
/// queued; a 2xx with the id sends it.
#[test]
fn only_the_services_own_answer_ends_an_event() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    let waiting = wp.php(&["fire", "wu_add_domain", "kept.example.test", "3"]);
    assert_eq!(queued(&waiting).len(), 1);
    // Where a redirect points: nothing may reach it (the token would go along).
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let location: &'static str = Box::leak(
        format!(
            "Location: http://127.0.0.1:{}/v1/events\r\n",
            elsewhere.local_addr().unwrap().port()
        )
        .into_boxed_str(),
    );
    for (answer, headers, body, error) in [
        ("301 Moved Permanently", location, "", "HTTP 301 redirect"),
        ("308 Permanent Redirect", location, "", "HTTP 308 redirect"),
        (
            "400 Bad Request",
            "",
            "<html>The plain HTTP request was sent to HTTPS port</html>",
            "HTTP 400: The plain HTTP request",
        ),
        (
            "200 OK",
            "",
            "<html>It works!</html>",
            "HTTP 200 without an event id",
        ),
        ("202 Accepted", "", "{}", "HTTP 202 without an event id"),
        ("421 Misdirected Request", "", "", "HTTP 421"),
    ] {
        let fake = answer_once_with(wp.service_port, answer, headers, body);
        let kept = wp.php(&["cron"]);
        fake.join().unwrap();
        assert_eq!(kept["ran"], true, "{answer}: {kept}");
        assert_eq!(queued(&kept).len(), 1, "{answer} kept it: {kept}");
        assert!(
            kept["queue"][0]["last_error"]
                .as_str()
                .unwrap()
                .starts_with(error),
            "{answer}: {kept}"
        );
        assert!(kept["scheduled"].is_u64(), "{answer}: retried: {kept}");
        assert!(
            elsewhere.accept().is_err(),
            "{answer}: the redirect was followed"
        );
    }
    let fake = answer_once_with(wp.service_port, "202 Accepted", "", r#"{"id":77}"#);
    let sent = wp.php(&["cron"]);
    fake.join().unwrap();
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    assert!(wp.log().contains("accepted as event 77"), "{}", wp.log());
    wp.php(&["standin", "off"]);
}

/// The operator page's hands on the queue (bridge-admin's admin.php calls these):
/// `queued_events()` lists it with each event's id, `retry_queued_event(id)` sends the queue
/// now from its head; an id that is not queued is refused and changes nothing.
#[test]
fn the_queue_can_be_listed_and_retried_by_id() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    let waiting = wp.php(&["fire", "wu_add_domain", "retry.example.test", "3"]);
    let id = waiting["queue"][0]["id"].as_u64().expect("an id");
    assert_eq!(waiting["queue"][0]["attempts"], 1, "{waiting}");
    let unknown = wp.php(&["retry", &(id + 1000).to_string()]);
    assert_eq!(unknown["retried"], false, "{unknown}");
    assert_eq!(
        unknown["queue"], waiting["queue"],
        "nothing changed: {unknown}"
    );
    let still_down = wp.php(&["retry", &id.to_string()]);
    assert_eq!(still_down["retried"], true, "{still_down}");
    assert_eq!(still_down["queue"][0]["attempts"], 2, "{still_down}");
    let fake = answer_once_with(wp.service_port, "202 Accepted", "", r#"{"id":91}"#);
    let sent = wp.php(&["retry", &id.to_string()]);
    assert_eq!(sent["retried"], true, "{sent}");
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    assert!(fake.join().unwrap().contains("retry.example.test"));
}

/// Security review F14: the admin page's `GET /v1/domains` goes through the one transport,
/// so a redirect is not followed with the token, and `http://` to another machine is not
/// sent at all.
#[test]
fn the_admin_page_never_carries_the_token_elsewhere() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let location: &'static str = Box::leak(
        format!(
            "Location: http://127.0.0.1:{}/v1/domains\r\n",
            elsewhere.local_addr().unwrap().port()
        )
        .into_boxed_str(),
    );
    let fake = answer_once_with(wp.service_port, "302 Found", location, "");
    let page = wp.php(&["admin-page"]);
    fake.join().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(elsewhere.accept().is_err(), "the redirect was followed");
    assert!(
        page["html"].as_str().unwrap().contains("HTTP 302"),
        "{page}"
    );
    let env = [("DH_TEST_URL", "http://192.0.2.10:8787")];
    let page = wp.php_env(&env, &["admin-page"]);
    let html = page["html"].as_str().unwrap();
    assert!(html.contains("not this machine"), "{html}");
    assert!(!html.contains(&wp.token), "the token is on the page");
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Issue 22 (the bridge's part): DOMAIN_HOST_URL lists several service instances. The bridge
/// tries the next on a connection error or a 5xx (503 included), remembers the one that
/// answered and tries it first next time; one unacceptable URL in the list stops them all.
#[test]
fn several_service_urls_fail_over() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    let dead = dead_port();
    let live = wp.service_port;
    let failovers = |wp: &WordPress| wp.log().matches("did not answer").count();
    let list: &'static str =
        Box::leak(format!("http://127.0.0.1:{dead}, http://127.0.0.1:{live}/").into_boxed_str());
    let env = [("DH_TEST_URL", list)];

    // The first is dead: the second takes the event.
    let fake = answer_once_with(live, "202 Accepted", "", r#"{"id":101}"#);
    let sent = wp.php_env(&env, &["fire", "wu_add_domain", "first.example.test", "3"]);
    // (The queue first: a bridge that never called the fake fails here instead of hanging.)
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    assert!(fake.join().unwrap().contains("first.example.test"));
    assert_eq!(failovers(wp), 1, "{}", wp.log());
    assert!(
        wp.log().contains(&format!(
            "The service at http://127.0.0.1:{dead} did not answer"
        )),
        "{}",
        wp.log()
    );

    // Remembered: the next event goes to the second at once.
    let fake = answer_once_with(live, "202 Accepted", "", r#"{"id":102}"#);
    let sent = wp.php_env(&env, &["fire", "wu_add_domain", "second.example.test", "3"]);
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    assert!(fake.join().unwrap().contains("second.example.test"));
    assert_eq!(
        failovers(wp),
        1,
        "the dead one was not tried again: {}",
        wp.log()
    );

    // The remembered one answers 503 (its store is down): the other instance takes it.
    let other = dead_port();
    let both: &'static str =
        Box::leak(format!("http://127.0.0.1:{other},http://127.0.0.1:{live}").into_boxed_str());
    let env = [("DH_TEST_URL", both)];
    let busy = answer_once_with(
        live,
        "503 Service Unavailable",
        "Retry-After: 5\r\n",
        r#"{"error":"the store is unavailable"}"#,
    );
    let fake = answer_once_with(other, "202 Accepted", "", r#"{"id":103}"#);
    let sent = wp.php_env(&env, &["fire", "wu_add_domain", "third.example.test", "3"]);
    assert!(
        busy.join().unwrap().contains("third.example.test"),
        "tried first"
    );
    let request = fake.join().unwrap();
    assert!(request.contains("third.example.test"), "{request}");
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    assert!(wp.log().contains("(HTTP 503); trying"), "{}", wp.log());

    // None answers: the event waits, with the last error.
    let env = [("DH_TEST_URL", list)];
    let kept = wp.php_env(&env, &["fire", "wu_add_domain", "fourth.example.test", "3"]);
    assert_eq!(queued(&kept).len(), 1, "{kept}");
    assert!(
        kept["queue"][0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("service unreachable"),
        "{kept}"
    );

    // One URL in clear to another machine: nothing is sent anywhere, and it is said.
    let fake = answer_once_with(live, "202 Accepted", "", r#"{"id":104}"#);
    let mixed: &'static str =
        Box::leak(format!("http://127.0.0.1:{live},http://192.0.2.10:8787").into_boxed_str());
    let env = [("DH_TEST_URL", mixed)];
    let refused = wp.php_env(&env, &["cron"]);
    assert!(
        refused["queue"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("URL 2 is http:// to 192.0.2.10, not this machine"),
        "{refused}"
    );
    // Release the fake (nothing reached it): a request of our own.
    let _ = http("GET", &format!("http://127.0.0.1:{live}/"), &[], "");
    assert!(!fake.join().unwrap().contains("fourth.example.test"));
    wp.php(&["standin", "off"]);
}

/// Issue 20 item 6, security review F14: a DOMAIN_HOST_URL of `http://` to another machine
/// is refused before any request (the token would travel in clear): the event waits, the
/// log and a network admin notice say why.
#[test]
fn cleartext_to_another_machine_is_refused() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    // 192.0.2.0/24 is TEST-NET-1: documentation only; nothing is ever sent there.
    let env = [("DH_TEST_URL", "http://192.0.2.10:8787")];
    let kept = wp.php_env(&env, &["fire", "wu_add_domain", "clear.example.test", "3"]);
    assert_eq!(queued(&kept).len(), 1, "{kept}");
    assert!(
        kept["queue"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("is http:// to 192.0.2.10, not this machine"),
        "{kept}"
    );
    let notices = wp.php_env(&env, &["notices"]);
    assert!(
        notices["html"]
            .as_str()
            .unwrap()
            .contains("not this machine"),
        "{notices}"
    );
    // The loopback URL of the test network is fine: no notice.
    let fine = wp.php(&["notices"]);
    assert!(
        !fine["html"].as_str().unwrap().contains("Domain Host"),
        "{fine}"
    );
}

/// Issue 20 item 6, security review F16: idempotency keys are this install's random id and a
/// random part, never Action Scheduler's action id (which a restored database hands out
/// again): the same action id after a restore is a new key.
#[test]
fn idempotency_keys_do_not_repeat_after_a_restore() {
    let Some((wp, _turn)) = turn() else { return };
    let install = {
        wp.php(&["reset"]);
        wp.php(&["storage"])["install_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut keys = Vec::new();
    for _ in 0..2 {
        // reset: the database as the backup had it (no queue, no Action Scheduler actions).
        wp.php(&["reset"]);
        wp.php(&["as", "on"]);
        let fired = wp.php(&[
            "as-fire",
            "601",
            "wu_add_domain",
            "restored.example.test",
            "3",
        ]);
        assert_eq!(fired["ran"], true, "{fired}");
        let key = fired["queue"][0]["key"].as_str().unwrap().to_string();
        assert!(
            // (Not "601" anywhere: the random hex part may hold those digits by chance.)
            key.starts_with(&format!("wp-{}-", &install[..12]))
                && !key.starts_with("wu-as-")
                && !key.contains("-601-")
                && !key.ends_with("-601"),
            "{key}"
        );
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1], "the same action id, two keys");
    wp.php(&["as", "off"]);
}

/// Issue 20 item 6, security review F17: refused callbacks are logged at most once a minute,
/// with the count of those not logged one by one.
#[test]
fn refused_callbacks_are_logged_once_a_minute() {
    let Some((wp, _turn)) = turn() else { return };
    wp.php(&["reset"]);
    wp.php(&["standin", "on"]);
    let refused = |wp: &WordPress| {
        let ts = now().to_string();
        let (status, _) = http(
            "POST",
            &wp.stage_url(),
            &[
                ("X-Domain-Host-Timestamp", &ts),
                ("X-Domain-Host-Signature", "sha256=00"),
                ("Content-Type", "application/json"),
            ],
            r#"{"domain":"x.example.test","stage":"failed"}"#,
        )
        .unwrap();
        assert_eq!(status, 401);
    };
    for _ in 0..5 {
        refused(wp);
    }
    let lines = |log: &str| {
        log.lines()
            .filter(|l| l.contains("Refused a stage callback"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&wp.log()).len(), 1, "{}", wp.log());
    wp.php(&["refusals-due"]);
    refused(wp);
    let logged = lines(&wp.log());
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(
        logged[1].contains("(4 more refused since the last line.)"),
        "{logged:?}"
    );
    wp.php(&["standin", "off"]);
}

#[test]
fn the_bridge_in_a_real_wordpress() {
    let Some((wp, _turn)) = turn() else { return };

    // The world: ServerPilot, DNS pointing the shop here, a valid certificate for it.
    let emu = Emulator::spawn(ServerPilot::new(CLIENT_ID, API_KEY, APP_ID), 0).expect("emulator");
    let dns = DnsServer::spawn(ZONE).unwrap();
    let tls = TlsServer::spawn(Arc::new(TestCa::new()), "127.0.0.1:0").unwrap();
    let here: IpAddr = "127.0.0.1".parse().unwrap();
    for name in [SHOP, QUEUED] {
        dns.zone().set_addresses(name, &[here]);
        tls.serve(
            name,
            Served::Signed {
                names: vec![name.to_string()],
                from: 2020,
                until: 2090,
            },
        );
    }
    let case = Case::new("wordpress");
    let ca = case.dir.join("ca.pem");
    std::fs::write(&ca, &tls.ca.pem).unwrap();
    case.write_config(&format!(
        "www = \"never\"\n\
         [service]\ntoken = \"{token}\"\ncallback_url = \"{callback}\"\ncallback_secret = \"{secret}\"\nmetrics_token = \"{METRICS_TOKEN}\"\n\
         [lifecycle]\ntargets = [\"127.0.0.1\"]\nnameservers = [\"{dns}\"]\ntls_port = {tls_port}\n\
         extra_roots = [{ca:?}]\nfirst_interval = \"100ms\"\nmax_interval = \"400ms\"\ntimeout = \"1s\"\n\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{emu}\" }}\n",
        token = wp.token,
        callback = wp.stage_url(),
        secret = wp.secret,
        dns = dns.addr,
        tls_port = tls.addr.port(),
        emu = emu.base_url(),
    ));
    wp.php(&["reset"]);

    // Phase 1: mapping a domain in WordPress reaches the emulated panel.
    wp.php(&["standin", "on"]);
    let service = Service::start(&case, wp);
    let after = wp.php(&["map", SHOP, "3"]);
    assert_eq!(
        after["queue"],
        serde_json::json!([]),
        "delivered at once, nothing left queued: {after}"
    );
    wait_for("the shop on the panel", Duration::from_secs(20), || {
        panel_domains(&emu).contains(&SHOP.to_string())
    });
    assert!(
        !panel_domains(&emu).contains(&format!("www.{SHOP}")),
        "www = never"
    );

    // Phase 2: the stage callback lands in WordPress, through Ultimate Multisite's domain
    // model (the stand-in), and in the network option.
    wait_for(
        "the shop's stage done in the domain model",
        Duration::from_secs(30),
        || wp.state()["model"][SHOP]["stage"] == "done",
    );
    let state = wp.state();
    assert_eq!(state["model"][SHOP]["secure"], true, "{state}");
    assert_eq!(state["stages"][SHOP]["stage"], "done", "{state}");
    assert_eq!(state["stages"][SHOP]["model"], "domain-model", "{state}");
    assert_eq!(state["stages"][SHOP]["site"], 3, "{state}");

    // Phase 3: with the service stopped, an event waits in WordPress (Ultimate Multisite
    // switched off now: the stage will go to the network option) ...
    wp.php(&["standin", "off"]);
    service.stop();
    let waiting = wp.php(&["fire", "wu_add_domain", QUEUED, "4"]);
    let queue = waiting["queue"].as_array().unwrap().clone();
    assert_eq!(queue.len(), 1, "{waiting}");
    assert_eq!(queue[0]["domain"], QUEUED);
    assert_eq!(queue[0]["event"], "add-domain");
    assert!(
        queue[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{waiting}"
    );
    assert!(
        waiting["scheduled"].is_u64(),
        "a retry is scheduled: {waiting}"
    );
    let key = queue[0]["key"].as_str().unwrap().to_string();
    // Another domain mapped and removed again while the service is down: both wait, in order.
    wp.php(&["fire", "wu_add_domain", GONE, "6"]);
    let waiting = wp.php(&["fire", "wu_remove_domain", GONE, "6"]);
    let events: Vec<(String, String)> = waiting["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().into(),
                e["domain"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("add-domain".to_string(), QUEUED.to_string()),
            ("add-domain".into(), GONE.into()),
            ("remove-domain".into(), GONE.into())
        ],
        "{waiting}"
    );
    let keys: std::collections::BTreeSet<&str> = waiting["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3, "one idempotency key per event");
    // ... a cron run while it is still down keeps it, with the same key ...
    let still = wp.php(&["cron"]);
    assert_eq!(still["ran"], true);
    assert_eq!(still["queue"][0]["key"], key.as_str(), "{still}");
    assert_eq!(
        still["queue"][0]["attempts"], 4,
        "tried on each event and by cron: {still}"
    );
    assert_eq!(still["queue"].as_array().unwrap().len(), 3, "{still}");
    assert!(still["scheduled"].is_u64(), "rescheduled: {still}");
    assert!(!panel_domains(&emu).contains(&QUEUED.to_string()));
    // ... a service answering 503 or 429 keeps it too, honouring Retry-After, and every
    // attempt carries the event's same Idempotency-Key and the token ...
    for (answer, error) in [
        ("503 Service Unavailable", "HTTP 503: busy"),
        ("429 Too Many Requests", "HTTP 429: busy"),
    ] {
        let fake = answer_once(wp.service_port, answer);
        let before = now();
        let kept = wp.php(&["cron"]);
        let request = fake.join().unwrap().to_ascii_lowercase();
        assert!(
            request.contains(&format!("idempotency-key: {}", key.to_ascii_lowercase())),
            "{request}"
        );
        assert!(
            request.contains(&format!(
                "authorization: bearer {}",
                wp.token.to_ascii_lowercase()
            )),
            "{request}"
        );
        assert_eq!(kept["queue"][0]["key"], key.as_str(), "{kept}");
        assert_eq!(kept["queue"][0]["last_error"], error, "{kept}");
        assert_eq!(kept["queue"].as_array().unwrap().len(), 3, "{kept}");
        assert!(
            kept["scheduled"].as_u64().unwrap() >= before + 119,
            "Retry-After: 120 honoured: {kept}"
        );
    }

    // ... and is delivered once after the service starts and WP-Cron runs (the real
    // wp-cron.php, over HTTP, once the retry is due).
    let service = Service::start(&case, wp);
    let due = wp.php(&["due"]);
    assert!(due["scheduled"].as_u64().unwrap() <= now(), "{due}");
    let (status, _) = http("GET", &format!("{}/wp-cron.php", wp.url), &[], "").unwrap();
    assert_eq!(status, 200);
    let ran = wp.state();
    assert_eq!(ran["queue"], serde_json::json!([]), "{ran}");
    assert_eq!(ran["scheduled"], false, "nothing left to schedule: {ran}");
    wait_for(
        "the queued domain on the panel",
        Duration::from_secs(20),
        || panel_domains(&emu).contains(&QUEUED.to_string()),
    );
    wait_for(
        "the added-then-removed domain gone",
        Duration::from_secs(20),
        || additions(&emu, GONE) == 1 && !panel_domains(&emu).contains(&GONE.to_string()),
    );
    assert_eq!(additions(&emu, QUEUED), 1, "applied once");
    // Every event the bridge sent is one event in the service: the shop, then the three
    // that waited (the cron run that found the service down left nothing behind).
    wait_for(
        "4 events done in the service",
        Duration::from_secs(20),
        || metric(wp, "domain_host_events{state=\"done\"}") == 4,
    );
    assert_eq!(stored_events(wp), 4);
    let again = wp.php(&["cron"]);
    assert_eq!(again["ran"], false, "no run left behind: {again}");

    // Its stage lands in the network option (no Ultimate Multisite domain model).
    wait_for("the queued domain's stage", Duration::from_secs(30), || {
        wp.state()["stages"][QUEUED]["stage"] == "done"
    });
    let state = wp.state();
    assert_eq!(state["stages"][QUEUED]["model"], "option", "{state}");
    assert!(state["model"].get(QUEUED).is_none(), "{state}");

    // Phase 4: under Action Scheduler (the stand-in's, with its real semantics), Ultimate
    // Multisite's job runs once: a finished action is never run again.
    wp.php(&["as", "on"]);
    let ran = wp.php(&["as-fire", "501", "wu_add_domain", TWICE, "8"]);
    assert_eq!(ran["ran"], true, "{ran}");
    assert_eq!(ran["queue"], serde_json::json!([]), "{ran}");
    let again = wp.php(&["as-fire", "501", "wu_add_domain", TWICE, "8"]);
    assert_eq!(again["ran"], false, "a complete action is ignored: {again}");
    wait_for("the domain on the panel", Duration::from_secs(20), || {
        panel_domains(&emu).contains(&TWICE.to_string())
    });
    wait_for(
        "5 events done in the service",
        Duration::from_secs(20),
        || metric(wp, "domain_host_events{state=\"done\"}") == 5,
    );
    assert_eq!(stored_events(wp), 5);
    assert_eq!(additions(&emu, TWICE), 1);
    // ... and a retry waits as a pending Action Scheduler action, not a WP-Cron event.
    let service_stopped = {
        service.stop();
        wp.php(&["as-fire", "502", "wu_remove_domain", TWICE, "8"])
    };
    let key = service_stopped["queue"][0]["key"].as_str().unwrap();
    // `wp-<install>-<24 random hex digits>`: no part of it is the action's id (random hex
    // may well contain the digits 502 somewhere, so the parts are compared, not searched).
    let parts: Vec<&str> = key.split('-').collect();
    assert!(
        parts[0] == "wp"
            && parts
                .last()
                .is_some_and(|r| r.len() == 24 && r.bytes().all(|b| b.is_ascii_hexdigit()))
            && !parts.contains(&"502"),
        "a random key, not the action's id: {key}"
    );
    assert_eq!(service_stopped["scheduled"], false, "{service_stopped}");
    let pending: Vec<&Value> = service_stopped["actions"]
        .as_object()
        .unwrap()
        .values()
        .filter(|a| a["hook"] == "domain_host_deliver" && a["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{service_stopped}");
    assert_eq!(pending[0]["group"], "domain-host");
    let service = Service::start(&case, wp);
    let ran = wp.php(&["as-run"]);
    assert_eq!(ran["ran"], 1);
    assert_eq!(ran["queue"], serde_json::json!([]), "{ran}");
    wait_for("the re-run domain removed", Duration::from_secs(20), || {
        !panel_domains(&emu).contains(&TWICE.to_string())
    });
    assert_eq!(stored_events(wp), 6);
    wp.php(&["as", "off"]);

    // The removals come back as the service's `removed` stage, in the option.
    wait_for(
        "the removed domains' stage",
        Duration::from_secs(30),
        || {
            let stages = wp.state()["stages"].clone();
            stages[GONE]["stage"] == "removed" && stages[TWICE]["stage"] == "removed"
        },
    );

    // Phase 5: an event the service refuses for good (400) is logged and dropped.
    wp.php(&["standin", "on"]);
    let refused = wp.php(&["fire", "wu_add_domain", "not a domain!", "4"]);
    assert_eq!(refused["queue"], serde_json::json!([]), "{refused}");
    assert_eq!(refused["scheduled"], false, "{refused}");
    assert_eq!(stored_events(wp), 6, "nothing stored for the refused event");
    assert!(
        wp.log()
            .contains("Dropped add-domain not a domain! (site 4"),
        "{}",
        wp.log()
    );

    // Phase 6: forged callbacks are refused and record nothing.
    let before = wp.state()["stages"].clone();
    let body = format!(r#"{{"domain":"{SHOP}","site":3,"stage":"failed"}}"#);
    let fresh = now().to_string();
    let stale = (now() - 400).to_string();
    let future = (now() + 400).to_string();
    let good_for_stale = sign(&wp.secret, &stale, &body);
    let good_for_future = sign(&wp.secret, &future, &body);
    let wrong_key = sign("not-the-secret", &fresh, &body);
    let other_body = sign(&wp.secret, &fresh, "{}");
    let forged: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "a signature with the wrong key",
            vec![
                ("X-Domain-Host-Timestamp", &fresh),
                ("X-Domain-Host-Signature", &wrong_key),
            ],
        ),
        (
            "a signature over another body",
            vec![
                ("X-Domain-Host-Timestamp", &fresh),
                ("X-Domain-Host-Signature", &other_body),
            ],
        ),
        (
            "an old timestamp, correctly signed",
            vec![
                ("X-Domain-Host-Timestamp", &stale),
                ("X-Domain-Host-Signature", &good_for_stale),
            ],
        ),
        (
            "a timestamp in the future, correctly signed",
            vec![
                ("X-Domain-Host-Timestamp", &future),
                ("X-Domain-Host-Signature", &good_for_future),
            ],
        ),
        ("no signature at all", vec![]),
    ];
    for (what, headers) in forged {
        let mut headers = headers;
        headers.push(("Content-Type", "application/json"));
        let (status, answer) = http("POST", &wp.stage_url(), &headers, &body).unwrap();
        assert!(
            status == 401 || status == 403,
            "{what}: answered {status} {answer}"
        );
    }
    let after = wp.state();
    assert_eq!(after["stages"], before, "nothing recorded");
    assert_eq!(after["stages"][SHOP]["stage"], "done");

    // A replay of a change already recorded (same delivery number), freshly and correctly
    // signed, is acknowledged and changes nothing.
    let last = before[SHOP].clone();
    assert!(
        last["delivery"].is_u64(),
        "the service numbers its changes: {last}"
    );
    let replay = serde_json::json!({
        "domain": SHOP, "site": 3, "stage": "failed",
        "delivery": last["delivery"], "changed_at": last["changed_at"],
    })
    .to_string();
    let (status, answer) = http(
        "POST",
        &wp.stage_url(),
        &[
            ("X-Domain-Host-Timestamp", &fresh),
            (
                "X-Domain-Host-Signature",
                &sign(&wp.secret, &fresh, &replay),
            ),
            ("Content-Type", "application/json"),
        ],
        &replay,
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(r#""already":true"#), "{answer}");
    assert_eq!(wp.state()["stages"], before);
    assert_eq!(wp.state()["model"][SHOP]["stage"], "done");

    // A correctly signed callback without a well-formed stage is refused too (400).
    let bad = format!(r#"{{"domain":"{SHOP}","site":3,"stage":"<b>Exploded</b>"}}"#);
    let (status, _) = http(
        "POST",
        &wp.stage_url(),
        &[
            ("X-Domain-Host-Timestamp", &fresh),
            ("X-Domain-Host-Signature", &sign(&wp.secret, &fresh, &bad)),
            ("Content-Type", "application/json"),
        ],
        &bad,
    )
    .unwrap();
    assert_eq!(status, 400);
    assert_eq!(wp.state()["stages"], before);

    // Phase 7: the network admin page lists the service's domains with their stage.
    let page = wp.php(&["admin-page"]);
    let html = page["html"].as_str().unwrap();
    assert!(html.contains(SHOP) && html.contains(QUEUED), "{html}");
    assert!(html.contains("<code>done</code>"), "{html}");
    assert!(
        !html.contains("notice-error"),
        "the service answered: {html}"
    );
    assert!(!html.contains("notice-warning"), "{html}");
    // ... and warns when Ultimate Multisite's own ServerPilot integration is on too.
    wp.php(&["um-integrations", "serverpilot"]);
    let page = wp.php(&["admin-page"]);
    let html = page["html"].as_str().unwrap();
    assert!(
        html.contains("notice-warning") && html.contains("enabled too (serverpilot)"),
        "{html}"
    );
    wp.php(&["um-integrations"]);

    // Phase 8: the bridge logged through wu_log_add (the stand-in's log file while it was
    // on) and never the token or the secret.
    let log = wp.log();
    assert!(
        log.contains(&format!("Sent add-domain {SHOP} (site 3")),
        "{log}"
    );
    assert!(log.contains(&format!("Stage of {SHOP}: done")), "{log}");
    for secret in [&wp.token, &wp.secret] {
        assert!(!log.contains(secret.as_str()), "a secret in the log");
    }
    service.stop();
}

// ---------------------------------------------------------------------------------------
// The operator's page (wordpress/domain-host-bridge/admin.php) and the migration export
// (export.php).
// ---------------------------------------------------------------------------------------

/// Counts the connections made to a port while it holds it (the service's port, the
/// service stopped): proof that a refused action sent nothing. Released when dropped.
struct PortWatch {
    connections: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PortWatch {
    fn on(port: u16) -> PortWatch {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port");
        listener.set_nonblocking(true).unwrap();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (count, halt) = (connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        drop(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        PortWatch {
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for PortWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The admin page's action `action` on `target` as `who` with `nonce` (tests/wordpress/wp.php
/// admin-action).
fn admin_action(wp: &WordPress, who: &str, action: &str, target: &str, nonce: &str) -> Value {
    wp.php(&["admin-action", who, action, target, nonce])
}

/// Every action of the page checks `manage_network` and its own nonce before it does
/// anything: refused without them, nothing reaches the service, the queue is unchanged, no
/// file is sent. The network admin with the right nonce does reach the service (the same
/// watch counts it), so the refusals are not a broken path.
#[test]
fn admin_actions_need_a_nonce_and_manage_network() {
    let Some((wp, _turn)) = turn() else { return };
    const D: &str = "refused.example.test";
    wp.php(&["reset"]);
    // The service down: the event waits in the queue.
    let queued = wp.php(&["fire", "wu_add_domain", D, "4"]);
    assert_eq!(queued["queue"].as_array().unwrap().len(), 1, "{queued}");
    // The page lists it from the bridge's events table, "Retry now" naming the row's id.
    let table_id = queued["queue"][0]["id"]
        .as_u64()
        .expect("the events table's id");
    let html = wp.php(&["admin-page"])["html"]
        .as_str()
        .unwrap()
        .to_string();
    let queue_table = &html[html
        .find("id=\"domain-host-queue\"")
        .expect("the queue table")..];
    assert!(
        queue_table.contains(D)
            && queue_table.contains(&format!(
                "data-action=\"retry\" data-target=\"{table_id}\">Retry now"
            )),
        "{queue_table}"
    );
    let watch = PortWatch::on(wp.service_port);
    let before = wp.state()["queue"].clone();
    let rows = admin_action(wp, "network-admin", "retry", "0", "missing")["rows"].clone();
    let id = rows[0]["id"].as_u64().expect("a queue row id").to_string();
    assert_eq!(rows[0]["domain"], D, "{rows}");
    assert_eq!(id, table_id.to_string(), "{rows}");
    let refusals = [
        ("network-admin", "missing", "expired or is not valid"),
        ("network-admin", "other", "expired or is not valid"),
        ("site-admin", "valid", "not allowed"),
        ("site-admin", "admins", "not allowed"),
        ("anonymous", "valid", "not allowed"),
        ("anonymous", "admins", "not allowed"),
    ];
    for (action, target) in [
        ("check", D),
        ("test", "serverpilot"),
        ("retry", id.as_str()),
        ("export", "env"),
        ("export", "toml"),
    ] {
        for (who, nonce, says) in refusals {
            let out = admin_action(wp, who, action, target, nonce);
            let result = &out["result"];
            assert_eq!(
                result["ok"], false,
                "{action} as {who}, nonce {nonce}: {out}"
            );
            assert!(
                result["message"].as_str().unwrap().contains(says),
                "{action} as {who}, nonce {nonce}: {out}"
            );
            assert!(result.get("download").is_none(), "no file: {out}");
            let text = out.to_string();
            for secret in [&wp.token, &wp.secret] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{action} as {who}: a secret"
                );
            }
        }
    }
    assert_eq!(watch.connections(), 0, "nothing reached the service");
    assert_eq!(wp.state()["queue"], before, "the queue is unchanged");
    // The same actions with manage_network and their nonce do act.
    let retried = admin_action(wp, "network-admin", "retry", &id, "valid");
    assert_eq!(retried["result"]["ok"], true, "{retried}");
    wait_for(
        "the retry at the service's port",
        Duration::from_secs(10),
        || watch.connections() >= 1,
    );
    assert_eq!(
        retried["queue"][0]["attempts"].as_u64(),
        before[0]["attempts"].as_u64().map(|a| a + 1),
        "{retried}"
    );
    let checked = admin_action(wp, "network-admin", "check", D, "valid");
    assert!(
        checked["result"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Checking {D} failed.")),
        "{checked}"
    );
    assert!(watch.connections() >= 2);
    let exported = admin_action(wp, "network-admin", "export", "toml", "valid");
    assert!(
        exported["result"]["download"]["body"]
            .as_str()
            .unwrap()
            .contains("[service]"),
        "{exported}"
    );
    drop(watch);
}

/// The migration export: Ultimate Multisite's enabled integrations (a constant and
/// credentials its wizard stored encrypted), its www setting, as `domain-host.toml` (ids
/// in `constants`, secrets named in `env`) and the environment file (the secret values).
/// The secrets are only in the environment file: not in the toml, not on the page. The
/// toml is one `domain-host` reads: `list` with that environment finds nothing missing.
#[test]
fn the_export_holds_secrets_only_in_the_download() {
    let Some((wp, _turn)) = turn() else { return };
    const KEY: &str = "sp-export-secret-5f1c2a9e";
    const DA_PASSWORD: &str = "da-export-secret-0b7e41d2";
    const HOSTINGER_TOKEN: &str = "hg-export-secret-93aa6c10";
    wp.php(&["reset"]);
    wp.php(&[
        "um-settings",
        &serde_json::json!({
            "constants": {
                "WU_SERVER_PILOT_CLIENT_ID": "cid_export",
                "WU_DIRECTADMIN_HOST": "da.example.test",
                "WU_DIRECTADMIN_USERNAME": "netadmin",
                "WU_DIRECTADMIN_DOMAIN": "network.example.test",
            },
            "credentials": {
                "WU_SERVER_PILOT_API_KEY": KEY,
                "WU_SERVER_PILOT_APP_ID": "expApp01",
                "WU_RUNCLOUD_SERVER_ID": "9",
                "WU_DIRECTADMIN_PASSWORD": DA_PASSWORD,
                "WU_HOSTINGER_API_TOKEN": HOSTINGER_TOKEN,
            },
            "www": "main_only",
            "enabled": {
                "serverpilot": true, "runcloud": true, "wpengine": true, "cloudflare": false,
                "directadmin": true, "hostinger": true,
            },
        })
        .to_string(),
    ]);
    let download = |which: &str| -> String {
        let out = admin_action(wp, "network-admin", "export", which, "valid");
        out["result"]["download"]["body"]
            .as_str()
            .unwrap_or_else(|| panic!("no {which} download: {out}"))
            .to_string()
    };
    let toml = download("toml");
    let env = download("env");
    // The secrets only in the environment file.
    let secrets = [
        KEY,
        DA_PASSWORD,
        HOSTINGER_TOKEN,
        wp.token.as_str(),
        wp.secret.as_str(),
    ];
    for secret in secrets {
        assert!(!toml.contains(secret), "a secret in the toml:\n{toml}");
        assert!(
            env.contains(&format!("='{secret}'")),
            "{secret} in the env file"
        );
    }
    assert!(toml.contains("www = \"main_only\""), "{toml}");
    assert!(
        toml.contains("[integrations.serverpilot]\nenabled = true\n"),
        "{toml}"
    );
    assert!(
        toml.contains(
            "constants = { WU_SERVER_PILOT_CLIENT_ID = \"cid_export\", WU_SERVER_PILOT_APP_ID = \"expApp01\" }"
        ),
        "the constant and the stored credential, both read: {toml}"
    );
    assert!(
        toml.contains("env = [\"WU_SERVER_PILOT_API_KEY\"]"),
        "{toml}"
    );
    assert!(
        toml.contains("# runcloud: enabled in Ultimate Multisite but not set up"),
        "{toml}"
    );
    assert!(toml.contains("# wpengine:"), "{toml}");
    // Integrations of Ultimate Multisite's newer releases: DirectAdmin with its password
    // stored by the wizard; Hostinger, whose network domain UM takes from WordPress.
    assert!(
        toml.contains(
            "[integrations.directadmin]\nenabled = true\n\
             constants = { WU_DIRECTADMIN_HOST = \"da.example.test\", WU_DIRECTADMIN_USERNAME = \"netadmin\", WU_DIRECTADMIN_DOMAIN = \"network.example.test\" }\n\
             env = [\"WU_DIRECTADMIN_PASSWORD\"]\n"
        ),
        "{toml}"
    );
    assert!(
        toml.contains(&format!(
            "[integrations.hostinger]\nenabled = true\n\
             constants = {{ WU_HOSTINGER_NETWORK_DOMAIN = \"{}\" }}\n\
             env = [\"WU_HOSTINGER_API_TOKEN\"]\n",
            wp.host
        )),
        "{toml}"
    );
    assert!(!toml.contains("cloudflare"), "disabled in UM: {toml}");
    assert!(
        toml.contains(&format!("callback_url = \"{}\"", wp.stage_url())),
        "{toml}"
    );
    // The callbacks need the lifecycle (domain-host refuses callback_url without it): the
    // network's address, as Ultimate Multisite's DNS check takes it (the test network is an
    // IP literal, so no cname_target).
    assert!(
        toml.contains("[lifecycle]\n") && toml.contains("\ntargets = [\"127.0.0.1\"]\n"),
        "{toml}"
    );
    // Nothing of it on the page.
    let html = wp.php(&["admin-page"])["html"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(html.contains("Download domain-host.toml"), "{html}");
    for secret in secrets {
        assert!(!html.contains(secret), "a secret on the page");
    }
    let log = wp.log();
    for secret in [KEY, DA_PASSWORD, HOSTINGER_TOKEN] {
        assert!(!log.contains(secret), "the export logs nothing");
    }

    // domain-host reads it: with the environment file, the integration has all it needs,
    // its key from the environment (secret), its ids from the file.
    let case = Case::new("wordpress-export");
    case.write_config(&toml);
    let vars: Vec<(String, String)> = env
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.trim_matches('\'').to_string())
        })
        .collect();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = case.run_with_env(&["--json", "list"], &vars);
    assert_eq!(run.status, 0, "{}", run.all_output());
    for secret in [KEY, DA_PASSWORD, HOSTINGER_TOKEN] {
        assert!(
            !run.all_output().contains(secret),
            "a secret is never printed"
        );
    }
    let list = run.json();
    let sp = list
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"] == "serverpilot").cloned())
        .unwrap_or_else(|| panic!("serverpilot not listed: {list}"));
    assert_eq!(sp["missing"], serde_json::json!([]), "{sp}");
    assert_eq!(sp["enabled"], true, "{sp}");
    assert_eq!(
        sp["constants"]["WU_SERVER_PILOT_API_KEY"], "environment",
        "{sp}"
    );
    assert!(
        support::strings(&sp["secrets"]).contains(&"WU_SERVER_PILOT_API_KEY".to_string()),
        "{sp}"
    );
    for (id, secret) in [
        ("directadmin", "WU_DIRECTADMIN_PASSWORD"),
        ("hostinger", "WU_HOSTINGER_API_TOKEN"),
    ] {
        let entry = list
            .as_array()
            .and_then(|l| l.iter().find(|i| i["id"] == id).cloned())
            .unwrap_or_else(|| panic!("{id} not listed: {list}"));
        assert_eq!(entry["missing"], serde_json::json!([]), "{entry}");
        assert_eq!(entry["constants"][secret], "environment", "{entry}");
    }
    wp.php(&["um-settings", "off"]);
}

/// Debian's chromium and the pinned playwright-core (tests/browser, installed once under
/// target/browser); None (skipped) when chromium, node or npm is missing, a failure in CI.
fn browser() -> Option<PathBuf> {
    let chromium = Path::new("/usr/bin/chromium");
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !chromium.is_file() || !have("node") || !have("npm") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but /usr/bin/chromium, node or npm is missing: the browser test cannot be skipped in CI (.ci/run installs them)"
        );
        eprintln!(
            "skipped: the browser test needs /usr/bin/chromium (apt-get install chromium), node and npm"
        );
        return None;
    }
    let target = Path::new(HOST).parent().unwrap().parent().unwrap();
    let dir = target.join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let source = repo().join("tests/browser");
    for file in ["package.json", "package-lock.json", "admin-page.mjs"] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm ci");
        assert!(
            status.success(),
            "npm ci of the pinned playwright-core failed"
        );
    }
    Some(dir)
}

/// The operator's page in a real browser: headless chromium logs in as the network admin,
/// opens Settings > Domain Host, presses "Check now" on a domain whose apex points
/// elsewhere (its `www` a CNAME to it) and "Test" on ServerPilot; the rendered page shows
/// the stage, the diagnosis in the service's words (one line per name, the `www` told to
/// keep its CNAME and fix the apex) and the test's result, and nothing secret. The
/// screenshot is kept at target/artifacts/bridge-admin.png.
#[test]
fn the_operator_page_in_a_browser() {
    let Some((wp, _turn)) = turn() else { return };
    let Some(browser) = browser() else { return };
    const PAGE: &str = "page.test";
    let emu = Emulator::spawn(ServerPilot::new(CLIENT_ID, API_KEY, APP_ID), 0).expect("emulator");
    let dns = DnsServer::spawn(PAGE).unwrap();
    dns.zone()
        .set_addresses(PAGE, &["198.51.100.7".parse().unwrap()]);
    dns.zone().set_cname(&format!("www.{PAGE}"), PAGE);
    let case = Case::new("wordpress-browser");
    case.write_config(&format!(
        "www = \"always\"\n\
         [service]\ntoken = \"{token}\"\ncallback_url = \"{callback}\"\ncallback_secret = \"{secret}\"\n\
         [lifecycle]\ntargets = [\"127.0.0.1\"]\nnameservers = [\"{dns}\"]\n\
         first_interval = \"10m\"\nmax_interval = \"1h\"\ntimeout = \"1s\"\n\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{emu}\" }}\n",
        token = wp.token,
        callback = wp.stage_url(),
        secret = wp.secret,
        dns = dns.addr,
        emu = emu.base_url(),
    ));
    // Pinned before the service starts: the page shows it enabled, nothing awaiting.
    let approve = case.run(&["approve", "serverpilot"]);
    assert_eq!(approve.status, 0, "{}", approve.all_output());
    wp.php(&["reset"]);
    let service = Service::start(&case, wp);
    let sent = wp.php(&["fire", "wu_add_domain", PAGE, "5"]);
    assert_eq!(sent["queue"], serde_json::json!([]), "{sent}");
    let auth = format!("Bearer {}", wp.token);
    let status_url = format!("http://127.0.0.1:{}/v1/domains/{PAGE}", wp.service_port);
    wait_for("the domain's first check", Duration::from_secs(30), || {
        http("GET", &status_url, &[("Authorization", &auth)], "")
            .ok()
            .and_then(|(status, body)| (status == 200).then_some(body))
            .and_then(|body| serde_json::from_str::<Value>(&body).ok())
            .is_some_and(|v| v["last_check_at"].is_string())
    });

    let login = wp.php(&["admin-password"]);
    let artifacts = Path::new(HOST)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("bridge-admin.png");
    let _ = std::fs::remove_file(&screenshot);
    let profile = case.dir.join("chromium-profile");
    let out = Command::new("node")
        .arg(browser.join("admin-page.mjs"))
        .current_dir(&browser)
        .env("WP_URL", &wp.url)
        .env("WP_USER", login["login"].as_str().unwrap())
        .env("WP_PASSWORD", login["password"].as_str().unwrap())
        .env("DOMAIN", PAGE)
        .env("INTEGRATION", "serverpilot")
        .env("SCREENSHOT", &screenshot)
        .env("PROFILE", &profile)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(page["after_login"], "/wp-admin/", "logged in: {page}");
    assert_eq!(page["title"], "Domain Host");

    // "Check now": the service checked it again; its stage and words on the page.
    let check = &page["check"];
    assert_eq!(
        check["notice"],
        format!("Checked {PAGE} now: stage checking-dns."),
        "{check}"
    );
    assert!(
        check["notice_class"]
            .as_str()
            .unwrap()
            .contains("notice-success"),
        "{check}"
    );
    assert_eq!(check["stage"], "checking-dns", "{check}");
    let names = support::strings(&check["names"]);
    assert_eq!(names.len(), 2, "{check}");
    assert!(
        names[0].starts_with(&format!("{PAGE}: DNS wrong (points-elsewhere)")),
        "{names:?}"
    );
    let diagnosis = support::strings(&check["diagnosis"]);
    assert_eq!(diagnosis, support::strings(&check["lines"]), "{check}");
    for line in [
        format!(
            "{PAGE} resolves to 198.51.100.7; it should resolve to 127.0.0.1. Change the record: A @ → 127.0.0.1."
        ),
        format!(
            "www.{PAGE} is a CNAME to {PAGE}, which resolves to 198.51.100.7, not this network: keep the CNAME and fix the records of {PAGE} (A @ → 127.0.0.1)."
        ),
    ] {
        assert!(diagnosis.contains(&line), "{line}\nnot in {diagnosis:#?}");
    }
    assert!(
        !diagnosis.iter().any(|l| l.contains("CNAME www →")),
        "the www's CNAME is not to be replaced: {diagnosis:#?}"
    );
    assert!(
        !diagnosis.iter().any(|l| l.contains("could not")),
        "both names were checked: {diagnosis:#?}"
    );
    // Each line says which name it is about; no two lines are the same.
    let distinct: std::collections::BTreeSet<&String> = diagnosis.iter().collect();
    assert_eq!(distinct.len(), diagnosis.len(), "{diagnosis:#?}");
    assert!(diagnosis.iter().all(|l| l.contains(PAGE)), "{diagnosis:#?}");
    let checks = || -> u64 {
        let (_, body) = http("GET", &status_url, &[("Authorization", &auth)], "").unwrap();
        serde_json::from_str::<Value>(&body).unwrap()["checks"]
            .as_u64()
            .unwrap()
    };
    assert!(checks() >= 2, "the button made the service check again");

    // "Test": the integration's connection test, through the service, against the panel.
    let test = &page["test"];
    assert_eq!(test["state"], "enabled", "approved: {test}");
    assert_eq!(
        test["notice"], "Test of serverpilot: the connection works.",
        "{test}"
    );
    assert!(
        emu.requests().iter().any(|r| r.method == "GET"),
        "the test reached the panel"
    );

    // Nothing secret in what the browser got.
    let html = page["html"].as_str().unwrap();
    for secret in [wp.token.as_str(), wp.secret.as_str(), API_KEY] {
        assert!(!html.contains(secret), "a secret on the page");
    }
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    service.stop();
}
