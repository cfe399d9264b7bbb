//! `domain-host serve` end to end: the real service process over HTTP, the real
//! components, the ServerPilot and RunCloud emulators (and, for stage changes, the
//! loopback DNS and HTTPS servers of the lifecycle tests). Each test names what it proves;
//! every wait is bounded, and timing is read from the emulators' request timestamps.

mod support;

use panel_emulators::dns::DnsServer;
use panel_emulators::runcloud::RunCloud;
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::tls::{Served, TestCa, TlsServer};
use panel_emulators::{Emulator, Fault, FaultKind};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Case;

const TOKEN: &str = "svc-token-0123456789abcdef-0123456789abcdef";
/// The operator's token (reconcile apply/prune, retry, metrics).
const OPERATOR: &str = "svc-operator-fedcba9876543210-fedcba9876543210";
const CALLBACK_SECRET: &str = "cb-hmac-key-fedcba9876543210-fedcba9876543210";

const SP_CLIENT: &str = "cid_svcClient";
const SP_KEY: &str = "sp-secret-api-key-service";
const SP_APP: &str = "svcAppId00000001";

const RC_TOKEN: &str = "rc-v3-token-service-123456";
const RC_SERVER: u64 = 11;
const RC_APP: u64 = 22;

fn serverpilot() -> Emulator<ServerPilot> {
    Emulator::spawn(ServerPilot::new(SP_CLIENT, SP_KEY, SP_APP), 0).expect("emulator")
}

fn runcloud() -> Emulator<RunCloud> {
    Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", RC_SERVER, RC_APP, "network.example"),
        0,
    )
    .expect("emulator")
}

fn sp_table(emu: &Emulator<ServerPilot>) -> String {
    format!(
        "[integrations.serverpilot]\nenabled = true\nconstants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{SP_CLIENT}\", WU_SERVER_PILOT_API_KEY = \"{SP_KEY}\", WU_SERVER_PILOT_APP_ID = \"{SP_APP}\" }}\nroutes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        emu.base_url()
    )
}

fn rc_table(emu: &Emulator<RunCloud>) -> String {
    format!(
        "[integrations.runcloud]\nenabled = true\nconstants = {{ WU_RUNCLOUD_API_TOKEN = \"{RC_TOKEN}\", WU_RUNCLOUD_SERVER_ID = \"{RC_SERVER}\", WU_RUNCLOUD_APP_ID = \"{RC_APP}\" }}\nroutes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        emu.base_url()
    )
}

/// The `[service]` table: the token from the environment, `extra` keys.
fn service_table(extra: &str) -> String {
    let retry = if extra.contains("retry_interval") {
        ""
    } else {
        "retry_interval = \"200ms\"\n"
    };
    format!(
        "[service]\ntoken_env = \"DH_TEST_TOKEN\"\noperator_token_env = \"DH_TEST_OPERATOR\"\n{retry}{extra}\n"
    )
}

fn sp_domains(emu: &Emulator<ServerPilot>) -> Vec<String> {
    let mut d = emu.lock().panel.app(SP_APP).domains.clone();
    d.sort();
    d
}

fn rc_names(emu: &Emulator<RunCloud>) -> Vec<String> {
    let mut names: Vec<String> = emu
        .lock()
        .panel
        .webapp(RC_SERVER, RC_APP)
        .domains
        .iter()
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names
}

/// The config most tests use: the service with its defaults, ServerPilot routed to `sp`,
/// no `www.` so each event is one name.
fn write_sp_config(case: &Case, sp: &Emulator<ServerPilot>) {
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table(""),
        sp_table(sp)
    ));
}

/// Domain-list updates ServerPilot received (each add or remove that changed the list).
fn sp_list_updates(emu: &Emulator<ServerPilot>) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(SP_APP))
        .count()
}

/// A minimal HTTP/1.1 exchange (one request per connection).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the service");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A running `domain-host serve`. Dropping it kills it.
struct Service {
    child: Option<Child>,
    addr: String,
    log: std::path::PathBuf,
}

static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Service {
    fn start(case: &Case) -> Service {
        Service::start_with(case, &[])
    }

    /// [`Service::start`] with more environment variables.
    fn start_with(case: &Case, env: &[(&str, &str)]) -> Service {
        // `serve` runs approved components only (security review F10).
        case.approve(&[]);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = case.dir.join(format!("service-{n}.log"));
        let mut command = support::host_command();
        command
            .arg("--config")
            .arg(case.config_path())
            .args(["--log-level", "info", "serve", "--listen", "127.0.0.1:0"])
            .env("DH_TEST_TOKEN", TOKEN)
            .env("DH_TEST_OPERATOR", OPERATOR)
            .env("DH_TEST_CALLBACK_SECRET", CALLBACK_SECRET)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = command.spawn().expect("start domain-host serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the service never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "the service did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Service {
            child: Some(child),
            addr,
            log,
        }
    }

    fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = http(&self.addr, method, path, Some(TOKEN), &[], body);
        (status, json(&text))
    }

    /// A call with the operator's token.
    fn operator(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = http(&self.addr, method, path, Some(OPERATOR), &[], body);
        (status, json(&text))
    }

    fn post_event(&self, event: &str, domain: &str, site: u64, key: Option<&str>) -> (u16, Value) {
        let body = serde_json::json!({ "event": event, "domain": domain, "site_id": site });
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        let (status, text) = http(
            &self.addr,
            "POST",
            "/v1/events",
            Some(TOKEN),
            &headers,
            &body.to_string(),
        );
        (status, json(&text))
    }

    /// Posts an event that must be accepted; its id.
    fn accept(&self, event: &str, domain: &str, site: u64) -> i64 {
        let (status, body) = self.post_event(event, domain, site, None);
        assert_eq!(status, 202, "{body}");
        body["id"].as_i64().unwrap()
    }

    fn event(&self, id: i64) -> Value {
        let (status, body) = self.call("GET", &format!("/v1/events/{id}"), "");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits (at most 60 s) until the event is done or failed.
    fn finished(&self, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let event = self.event(id);
            if event["state"] == "done" || event["state"] == "failed" {
                return event;
            }
            assert!(
                Instant::now() < deadline,
                "event {id} not finished: {event}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn metrics(&self) -> String {
        let (status, text) = http(&self.addr, "GET", "/metrics", Some(OPERATOR), &[], "");
        assert_eq!(status, 200, "{text}");
        text
    }

    /// Waits (at most 60 s) until the event is in `state`.
    fn reaches(&self, id: i64, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let event = self.event(id);
            if event["state"] == state {
                return event;
            }
            assert!(
                Instant::now() < deadline,
                "event {id} never {state}: {event}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) -> String {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        self.log()
    }

    /// SIGTERM; the exit status (waits at most 30 s).
    fn terminate(mut self) -> (Option<i32>, Duration, String) {
        let started = Instant::now();
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let mut child = self.child.take().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code(), started.elapsed(), self.log());
            }
            if started.elapsed() > Duration::from_secs(30) {
                child.kill().unwrap();
                panic!("the service did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn events_posted_over_http_reach_both_panels() {
    let case = Case::new("svc-reach");
    let (sp, rc) = (serverpilot(), runcloud());
    case.write_config(&format!(
        "www = \"never\"\n{}{}{}",
        service_table(""),
        sp_table(&sp),
        rc_table(&rc)
    ));
    let service = Service::start(&case);
    let (status, health) = http(&service.addr, "GET", "/healthz", None, &[], "");
    assert_eq!(
        (status, json(&health)["ok"].clone()),
        (200, Value::Bool(true))
    );

    let id = service.accept("add-domain", "Shop.Example.COM.", 3);
    let event = service.finished(id);
    assert_eq!(event["state"], "done", "{event}");
    assert_eq!(event["domain"], "shop.example.com", "stored normalised");
    assert_eq!(event["attempts"], 1);
    let reports = event["report"]["integrations"].as_array().unwrap();
    let ids: Vec<&str> = reports.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["runcloud", "serverpilot"]);
    assert!(
        reports
            .iter()
            .all(|r| r["ok"] == true && r["changed"] == true),
        "{event}"
    );
    assert_eq!(sp_domains(&sp), ["shop.example.com"]);
    assert!(rc_names(&rc).contains(&"shop.example.com".to_string()));

    let id = service.accept("add-subdomain", "blog.network.example", 4);
    assert_eq!(service.finished(id)["state"], "done");
    assert!(sp_domains(&sp).contains(&"blog.network.example".to_string()));

    let metrics = service.metrics();
    assert!(
        metrics.contains("domain_host_events{state=\"done\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("domain_host_queue_depth 0"), "{metrics}");
    assert!(
        metrics.contains("domain_host_panel_latency_seconds_count{integration=\"serverpilot\"} 2"),
        "{metrics}"
    );
    let (status, list) = service.call("GET", "/v1/integrations", "");
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let (status, test) = service.call("POST", "/v1/integrations/runcloud/test", "");
    assert_eq!(
        (status, test["ok"].clone()),
        (200, Value::Bool(true)),
        "{test}"
    );
    assert_eq!(
        test["integrations"].as_array().unwrap().len(),
        1,
        "only runcloud: {test}"
    );

    let log = service.kill();
    for secret in [TOKEN, SP_KEY, RC_TOKEN] {
        assert!(!log.contains(secret), "a secret in the log: {log}");
    }
}

/// Review #9 through the service: a remove-domain whose body says `www_mapped` (as the
/// bridge sends it when Ultimate Multisite maps `www.<domain>` on its own) reaches the
/// panels with `www = false`, under a policy that wants `www.`; without it, `www = true`.
#[test]
fn a_remove_with_www_mapped_keeps_the_www_name() {
    let case = Case::new("svc-www-mapped");
    let sp = serverpilot();
    case.write_config(&format!(
        "www = \"always\"\n{}{}",
        service_table(""),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    let (status, body) = service.call(
        "POST",
        "/v1/events",
        r#"{"event": "remove-domain", "domain": "shop.example.com", "site_id": 3, "www_mapped": true}"#,
    );
    assert_eq!(status, 202, "{body}");
    let event = service.finished(body["id"].as_i64().unwrap());
    assert_eq!(event["state"], "done", "{event}");
    assert_eq!(event["report"]["www"], false, "{event}");
    let id = service.accept("remove-domain", "shop.example.com", 3);
    let event = service.finished(id);
    assert_eq!(event["report"]["www"], true, "{event}");
}

#[test]
fn requests_without_or_with_a_wrong_token_are_refused_and_change_nothing() {
    let case = Case::new("svc-auth");
    let sp = serverpilot();
    write_sp_config(&case, &sp);
    let service = Service::start(&case);
    let body = r#"{"event": "add-domain", "domain": "shop.example.com", "site_id": 3}"#;
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let (status, text) = http(&service.addr, "POST", "/v1/events", token, &[], body);
        assert_eq!(status, 401, "{token:?}: {text}");
        assert!(
            json(&text)["error"].as_str().unwrap().contains("token"),
            "{text}"
        );
        assert!(!text.contains(TOKEN));
    }
    for path in ["/v1/events/1", "/v1/domains", "/v1/integrations"] {
        let (status, _) = http(&service.addr, "GET", path, None, &[], "");
        assert_eq!(status, 401, "{path}");
    }
    let (status, text) = http(
        &service.addr,
        "POST",
        "/v1/reconcile?apply=true",
        Some("wrong-token-0123456789"),
        &[],
        "[]",
    );
    assert_eq!(status, 401, "{text}");
    // Nothing was stored and nothing reached the panel.
    let (status, _) = service.call("GET", "/v1/events/1", "");
    assert_eq!(status, 404);
    assert!(
        service
            .metrics()
            .contains("domain_host_events_accepted_total 0")
    );
    assert!(sp.requests().is_empty(), "{:?}", sp.requests());
    let id = service.accept("add-domain", "shop.example.com", 3);
    assert_eq!(id, 1, "the first stored event");
}

#[test]
fn a_bad_event_is_refused_with_400_and_nothing_is_stored() {
    let case = Case::new("svc-bad");
    let sp = serverpilot();
    write_sp_config(&case, &sp);
    let service = Service::start(&case);
    let cases = [
        (
            r#"{"event": "add-domain", "domain": "http://shop.example.com/x", "site_id": 3}"#,
            "not a URL",
        ),
        (
            r#"{"event": "add-domain", "domain": "bad domain.com", "site_id": 3}"#,
            "whitespace",
        ),
        (
            r#"{"event": "add-domain", "domain": "203.0.113.7", "site_id": 3}"#,
            "IP addresses",
        ),
        (
            r#"{"event": "add-thing", "domain": "shop.example.com", "site_id": 3}"#,
            "unknown event",
        ),
        (
            r#"{"event": "add-domain", "domain": "shop.example.com"}"#,
            "site_id",
        ),
        (
            r#"{"event": "add-domain", "domain": "shop.example.com", "site_id": -1}"#,
            "site_id",
        ),
        (
            r#"{"event": "add-domain", "domain": "shop.example.com", "site_id": "3a"}"#,
            "site_id",
        ),
        (
            r#"{"event": "add-domain", "domain": "shop.example.com", "site_id": 1.5}"#,
            "site_id",
        ),
        (
            r#"{"event": "add-domain", "domain": "a.com", "site_id": 1, "extra": 1}"#,
            "extra",
        ),
        ("not json", "JSON"),
    ];
    for (body, says) in cases {
        let (status, text) = http(&service.addr, "POST", "/v1/events", Some(TOKEN), &[], body);
        assert_eq!(status, 400, "{body}: {text}");
        let message = json(&text)["error"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{body}: {message}");
    }
    let (status, text) = http(
        &service.addr,
        "POST",
        "/v1/events",
        Some(TOKEN),
        &[("Idempotency-Key", "")],
        r#"{"event": "add-domain", "domain": "shop.example.com", "site_id": 3}"#,
    );
    assert_eq!(status, 400, "{text}");
    let metrics = service.metrics();
    assert!(
        metrics.contains("domain_host_events_accepted_total 0"),
        "{metrics}"
    );
    assert!(metrics.contains("domain_host_queue_depth 0"), "{metrics}");
    assert!(sp.requests().is_empty());
    assert_eq!(service.accept("add-domain", "shop.example.com", 3), 1);
    // A site id in a string (as PHP may hold it) reads as the command line's --site.
    let (status, text) = http(
        &service.addr,
        "POST",
        "/v1/events",
        Some(TOKEN),
        &[],
        r#"{"event": "add-domain", "domain": "other.example.com", "site_id": "7"}"#,
    );
    assert_eq!(status, 202, "{text}");
    assert_eq!(
        service.event(json(&text)["id"].as_i64().unwrap())["site_id"],
        7
    );
}

#[test]
fn an_event_accepted_before_a_sigkill_is_applied_once_after_restart() {
    let case = Case::new("svc-kill-queued");
    let sp = serverpilot();
    // Paused: events are accepted and committed, and nothing is applied until restart.
    let write = |paused: bool| {
        case.write_config(&format!(
            "www = \"never\"\n{}{}",
            service_table(&format!("paused = {paused}")),
            sp_table(&sp)
        ))
    };
    write(true);
    let service = Service::start(&case);
    let id = service.accept("add-domain", "shop.example.com", 3);
    assert_eq!(service.event(id)["state"], "queued");
    service.kill();
    assert!(
        sp.requests().is_empty(),
        "nothing was applied before the kill"
    );

    write(false);
    let service = Service::start(&case);
    let event = service.finished(id);
    assert_eq!(event["state"], "done", "{event}");
    assert_eq!(event["attempts"], 1);
    assert_eq!(sp_domains(&sp), ["shop.example.com"]);
    assert_eq!(sp_list_updates(&sp), 1, "applied once");
    // Another restart finds nothing left to do.
    service.kill();
    let service = Service::start(&case);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(service.event(id)["attempts"], 1);
    assert_eq!(sp_list_updates(&sp), 1);
}

/// A service whose add-domain event is in the middle of ServerPilot's list update (the
/// panel holds that request for `delay`): returns once the update has reached the panel.
fn mid_list_update(
    case: &Case,
    sp: &Emulator<ServerPilot>,
    delay: Duration,
    service_extra: &str,
) -> (Service, i64) {
    sp.inject(Fault {
        method: Some("POST".into()),
        path_prefix: Some(format!("/v1/apps/{SP_APP}")),
        times: 1,
        kind: FaultKind::Delay(delay),
    });
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table(service_extra),
        sp_table(sp)
    ));
    let service = Service::start(case);
    let id = service.accept("add-domain", "shop.example.com", 3);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sp_list_updates(sp) == 0 {
        assert!(
            Instant::now() < deadline,
            "the update never reached the panel"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    (service, id)
}

#[test]
fn an_event_killed_while_running_is_finished_after_restart_and_applied_once() {
    let case = Case::new("svc-kill-running");
    let sp = serverpilot();
    // The panel takes 1.5 s over the list update: the service is killed meanwhile.
    let (service, id) = mid_list_update(&case, &sp, Duration::from_millis(1500), "");
    assert_eq!(service.event(id)["state"], "running");
    service.kill();
    // Let the delayed request land (or not) before the restart.
    std::thread::sleep(Duration::from_millis(1600));

    let service = Service::start(&case);
    let event = service.finished(id);
    assert_eq!(event["state"], "done", "{event}");
    assert_eq!(
        event["attempts"], 2,
        "the interrupted attempt counts: {event}"
    );
    assert_eq!(
        sp_domains(&sp),
        ["shop.example.com"],
        "on the panel once, whether the first update landed or not"
    );
    assert!(service.log().contains("queued again"), "{}", service.log());
}

#[test]
fn two_hundred_events_posted_concurrently_are_all_applied() {
    let case = Case::new("svc-200");
    let rc = runcloud();
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table(""),
        rc_table(&rc)
    ));
    let service = Arc::new(Service::start(&case));
    let ids = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let (service, ids) = (service.clone(), ids.clone());
            std::thread::spawn(move || {
                for i in (t..200).step_by(16) {
                    let id =
                        service.accept("add-domain", &format!("site{i}.example.com"), i as u64);
                    ids.lock().unwrap().push(id);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut ids = ids.lock().unwrap().clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "200 distinct ids");
    for id in &ids {
        assert_eq!(service.finished(*id)["state"], "done");
    }
    let names = rc_names(&rc);
    for i in 0..200 {
        assert!(
            names.contains(&format!("site{i}.example.com")),
            "site{i} missing"
        );
    }
    let creates = rc
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/domains"))
        .count();
    assert_eq!(creates, 200, "each created once");
    assert!(
        service
            .metrics()
            .contains("domain_host_events{state=\"done\"} 200")
    );
}

#[test]
fn events_for_one_domain_apply_in_the_order_accepted() {
    let case = Case::new("svc-order");
    let sp = serverpilot();
    write_sp_config(&case, &sp);
    let service = Service::start(&case);
    let mut pairs = Vec::new();
    for i in 0..8 {
        let domain = format!("gone{i}.example.com");
        let add = service.accept("add-domain", &domain, i);
        let remove = service.accept("remove-domain", &domain, i);
        pairs.push((add, remove));
    }
    let kept = service.accept("add-domain", "kept.example.com", 9);
    for (add, remove) in &pairs {
        let (add, remove) = (service.finished(*add), service.finished(*remove));
        assert_eq!(
            (&add["state"], &remove["state"]),
            (&"done".into(), &"done".into())
        );
        assert!(
            remove["started_at"].as_str().unwrap() >= add["finished_at"].as_str().unwrap(),
            "the remove started after the add finished: {add} {remove}"
        );
        assert_eq!(
            remove["report"]["integrations"][0]["changed"], true,
            "{remove}"
        );
    }
    service.finished(kept);
    assert_eq!(
        sp_domains(&sp),
        ["kept.example.com"],
        "add then remove ends removed"
    );
}

#[test]
fn a_repeated_idempotency_key_is_applied_once() {
    let case = Case::new("svc-idem");
    let sp = serverpilot();
    write_sp_config(&case, &sp);
    let service = Service::start(&case);
    let (status, first) =
        service.post_event("add-domain", "shop.example.com", 3, Some("wp-evt-42"));
    assert_eq!(status, 202, "{first}");
    let id = first["id"].as_i64().unwrap();
    for _ in 0..3 {
        let (status, again) =
            service.post_event("add-domain", "shop.example.com", 3, Some("wp-evt-42"));
        assert_eq!((status, again["id"].as_i64()), (200, Some(id)), "{again}");
    }
    let (status, other) =
        service.post_event("remove-domain", "shop.example.com", 3, Some("wp-evt-42"));
    assert_eq!(status, 409, "a key reused for another event: {other}");
    assert_eq!(service.finished(id)["state"], "done");
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = service.call("GET", &format!("/v1/events/{}", id + 1), "");
    assert_eq!(status, 404, "one event stored");
    assert_eq!(sp_list_updates(&sp), 1);
    assert_eq!(sp_domains(&sp), ["shop.example.com"]);
}

#[test]
fn a_transient_failure_is_queued_again_with_backoff() {
    let case = Case::new("svc-retry");
    let sp = serverpilot();
    sp.inject(Fault::status(503, 1).on("POST", &format!("/v1/apps/{SP_APP}")));
    // The host's own retries are off, so the service's backoff is what retries.
    case.write_config(&format!(
        "www = \"never\"\n[retry]\nattempts = 1\n{}{}",
        service_table("retry_interval = \"400ms\""),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    let id = service.accept("add-domain", "shop.example.com", 3);
    let event = service.finished(id);
    assert_eq!(
        (event["state"].as_str(), event["attempts"].as_i64()),
        (Some("done"), Some(2)),
        "{event}"
    );
    let updates: Vec<Instant> = sp
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(SP_APP))
        .map(|r| r.received)
        .collect();
    assert_eq!(updates.len(), 2);
    let gap = updates[1] - updates[0];
    assert!(
        gap >= Duration::from_millis(200),
        "waited {gap:?} (at least half the interval)"
    );
    assert_eq!(sp_domains(&sp), ["shop.example.com"]);
    assert!(
        service
            .metrics()
            .contains("domain_host_event_outcomes_total{outcome=\"retried\"} 1")
    );
}

/// What the receiver got: its answer, the request's headers (lower-cased names), the body.
type Received = (u16, Vec<(String, String)>, String);

/// A callback receiver that answers 500 to its first `failures` requests, then 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(failures: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/wp-json/domain-host/v1/stage",
            listener.local_addr().unwrap()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = Vec::new();
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or(0);
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let mut got = seen.lock().unwrap();
                let status = if got.len() < failures { 500 } else { 200 };
                got.push((status, headers, String::from_utf8(body).unwrap()));
                drop(got);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                    )
                    .as_bytes(),
                );
            }
        });
        Receiver { url, got }
    }

    /// The bodies it acknowledged, after checking each request's signature.
    fn accepted(&self) -> Vec<Value> {
        use hmac::Mac;
        let got = self.got.lock().unwrap();
        let mut out = Vec::new();
        for (status, headers, body) in got.iter() {
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no {name} header"))
            };
            let timestamp = header("x-domain-host-timestamp");
            let mut mac =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(CALLBACK_SECRET.as_bytes()).unwrap();
            mac.update(format!("{timestamp}.{body}").as_bytes());
            let expected: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                header("x-domain-host-signature"),
                format!("sha256={expected}")
            );
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let ts: u64 = timestamp.parse().unwrap();
            assert!(now.abs_diff(ts) < 300, "a fresh timestamp");
            let value = json(body);
            assert_eq!(
                header("x-domain-host-delivery"),
                value["delivery"].to_string()
            );
            if *status == 200 {
                out.push(value);
            }
        }
        out
    }

    fn requests(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

#[test]
fn every_stage_change_reaches_a_callback_that_fails_twice_once_and_signed() {
    const SHOP: &str = "shop.example.test";
    let case = Case::new("svc-callback");
    let sp = serverpilot();
    let receiver = Receiver::start(2);
    let dns = DnsServer::spawn("example.test").unwrap();
    let tls = TlsServer::spawn(Arc::new(TestCa::new()), "127.0.0.1:0").unwrap();
    let ca = case.dir.join("ca.pem");
    std::fs::write(&ca, &tls.ca.pem).unwrap();
    let localhost: IpAddr = "127.0.0.1".parse().unwrap();
    dns.zone().set_addresses(SHOP, &[localhost]);
    tls.serve(
        SHOP,
        Served::Signed {
            names: vec![SHOP.into()],
            from: 2020,
            until: 2090,
        },
    );
    case.write_config(&format!(
        "www = \"never\"\n[lifecycle]\ntargets = [\"127.0.0.1\"]\nnameservers = [\"{}\"]\ntls_port = {}\nextra_roots = [{:?}]\nfirst_interval = \"100ms\"\nmax_interval = \"400ms\"\ntimeout = \"1s\"\n{}{}",
        dns.addr,
        tls.addr.port(),
        ca,
        service_table(&format!(
            "callback_url = \"{}\"\ncallback_secret_env = \"DH_TEST_CALLBACK_SECRET\"",
            receiver.url
        )),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    let add = service.accept("add-domain", SHOP, 3);
    service.finished(add);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, domain) = service.call("GET", &format!("/v1/domains/{SHOP}"), "");
        assert_eq!(status, 200, "{domain}");
        if domain["stage"] == "done" {
            // The same JSON as `status --json`.
            let cli = case.run(&["--json", "status", SHOP]);
            let mut cli = cli.json();
            let mut api = domain.clone();
            for v in [&mut cli, &mut api] {
                v["next_check_at"] = Value::Null;
            }
            assert_eq!(api, cli);
            break;
        }
        assert!(Instant::now() < deadline, "never done: {domain}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let remove = service.accept("remove-domain", SHOP, 3);
    service.finished(remove);
    let (status, _) = service.call("GET", &format!("/v1/domains/{SHOP}"), "");
    assert_eq!(status, 404, "no record after the removal");

    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.accepted().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "{} request(s), {:?}\n{}",
            receiver.requests(),
            receiver.accepted(),
            service.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let accepted = receiver.accepted();
    let stages: Vec<(&str, Option<&str>)> = accepted
        .iter()
        .map(|v| (v["stage"].as_str().unwrap(), v["previous_stage"].as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            ("checking-dns", None),
            ("done", Some("checking-dns")),
            ("removed", Some("done"))
        ],
        "each change once, in order"
    );
    assert_eq!(receiver.requests(), 5, "two refused, three acknowledged");
    assert_eq!(accepted[0]["event_id"], add);
    assert_eq!(
        accepted[1]["event_id"],
        Value::Null,
        "a check, not an event"
    );
    assert_eq!(accepted[2]["event_id"], remove);
    assert_eq!(accepted[1]["names"][0]["certificate"], "ok");
    assert!(
        accepted
            .iter()
            .all(|v| v["domain"] == SHOP && v["site"] == 3)
    );
    let metrics = service.metrics();
    assert!(
        metrics.contains("domain_host_callbacks_total{result=\"failed\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("domain_host_outbox_pending 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("domain_host_checks_total{result=\"done\"}"),
        "{metrics}"
    );
    let log = service.kill();
    assert!(
        !log.contains(CALLBACK_SECRET) && !log.contains(TOKEN),
        "{log}"
    );
}

#[test]
fn sigterm_lets_the_running_event_finish_and_exits_cleanly() {
    let case = Case::new("svc-term");
    let sp = serverpilot();
    // The panel takes 800 ms over the list update: SIGTERM arrives meanwhile.
    let (service, id) = mid_list_update(
        &case,
        &sp,
        Duration::from_millis(800),
        "shutdown_grace = \"10s\"",
    );
    let addr = service.addr.clone();
    let (code, took, log) = service.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(TcpStream::connect(&addr).is_err(), "no longer listening");
    assert_eq!(sp_domains(&sp), ["shop.example.com"]);
    // It finished before the exit: a restart does not run it again.
    let service = Service::start(&case);
    let event = service.event(id);
    assert_eq!(
        (event["state"].as_str(), event["attempts"].as_i64()),
        (Some("done"), Some(1)),
        "{event}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sp_list_updates(&sp), 1);
}

#[test]
fn reconcile_and_verify_over_http() {
    let case = Case::new("svc-reconcile");
    let sp = serverpilot();
    sp.lock().panel.app_mut(SP_APP).domains = vec!["stale.example.com".into()];
    case.write_config(&format!(
        "www = \"never\"\nnetwork_domain = \"network.example\"\n{}{}",
        service_table(""),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    let wanted = r#"[{"domain": "shop.example.com", "site": 3, "kind": "mapped"}]"#;
    let (status, report) = service.call("POST", "/v1/reconcile", wanted);
    assert_eq!(
        (status, report["in_sync"].clone()),
        (200, Value::Bool(false)),
        "{report}"
    );
    assert_eq!(
        sp_domains(&sp),
        ["stale.example.com"],
        "a dry run changes nothing"
    );
    let (status, report) = service.operator(
        "POST",
        "/v1/reconcile?apply=true&prune=true&force=true",
        wanted,
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(sp_domains(&sp), ["shop.example.com"], "{report}");
    for (path, body) in [
        ("/v1/reconcile?apply=yes", wanted),
        ("/v1/reconcile?hurry=true", wanted),
        (
            "/v1/reconcile",
            r#"[{"domain": "bad domain", "site": 1, "kind": "mapped"}]"#,
        ),
    ] {
        let (status, answer) = service.call("POST", path, body);
        assert_eq!(status, 400, "{path}: {answer}");
    }
    // Without a [lifecycle] table there is nothing to verify.
    let (status, answer) = service.call("POST", "/v1/domains/shop.example.com/verify", "");
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("[lifecycle]"),
        "{answer}"
    );
}

#[test]
fn a_second_service_on_the_same_database_is_refused() {
    let case = Case::new("svc-twice");
    let sp = serverpilot();
    write_sp_config(&case, &sp);
    let first = Service::start(&case);
    let run = case.run_with_env(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("DH_TEST_TOKEN", TOKEN), ("DH_TEST_OPERATOR", OPERATOR)],
    );
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("another domain-host serve"),
        "{}",
        run.stderr
    );
    let id = first.accept("add-domain", "shop.example.com", 3);
    assert_eq!(
        first.finished(id)["state"],
        "done",
        "the first one is untouched"
    );
}

#[test]
fn serve_refuses_to_start_without_its_token() {
    let case = Case::new("svc-notoken");
    let sp = serverpilot();
    write_sp_config(&case, &sp);
    let run = case.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(run.stderr.contains("DH_TEST_TOKEN"), "{}", run.stderr);
}

/// ServerPilot with its API key read from `WU_SERVER_PILOT_API_KEY` (the systemd
/// `EnvironmentFile` way), not from the config.
fn sp_table_key_from_env(emu: &Emulator<ServerPilot>) -> String {
    format!(
        "[integrations.serverpilot]\nenabled = true\nconstants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{SP_CLIENT}\", WU_SERVER_PILOT_APP_ID = \"{SP_APP}\" }}\nenv = [\"WU_SERVER_PILOT_API_KEY\"]\nroutes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        emu.base_url()
    )
}

/// Security review F4: the environment lacks the panel's key, so the integration cannot
/// run. Accepted events wait `blocked` with the reason (API, metrics, integrations,
/// `status`), nothing reaches the panel, and once the key is there the restarted service
/// applies them, in order, without anyone posting them again.
#[test]
fn events_for_an_integration_that_cannot_load_wait_blocked_and_run_after_the_fix() {
    let case = Case::new("svc-blocked");
    let sp = serverpilot();
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table(""),
        sp_table_key_from_env(&sp)
    ));
    let service = Service::start(&case);
    let first = service.accept("add-domain", "shop.example.com", 3);
    let second = service.accept("add-domain", "blog.example.com", 4);
    for id in [first, second] {
        let event = service.reaches(id, "blocked");
        assert_eq!(event["attempts"], 0, "never tried: {event}");
        let why = event["error"].as_str().unwrap_or_default();
        assert!(
            why.contains("serverpilot") && why.contains("WU_SERVER_PILOT_API_KEY"),
            "{event}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(service.event(first)["state"], "blocked", "it stays blocked");
    assert!(sp.requests().is_empty(), "{:?}", sp.requests());
    let metrics = service.metrics();
    assert!(
        metrics.contains("domain_host_events{state=\"blocked\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("domain_host_queue_depth 2"), "{metrics}");
    let (_, list) = service.call("GET", "/v1/integrations", "");
    let error = list[0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("WU_SERVER_PILOT_API_KEY"), "{list}");
    let status = case.run(&["status"]);
    assert!(
        status.stdout.contains("2 event(s) blocked")
            && status.stdout.contains("WU_SERVER_PILOT_API_KEY"),
        "{}",
        status.all_output()
    );
    assert!(
        service.log().contains("wait as blocked"),
        "said at start: {}",
        service.log()
    );
    service.kill();

    // The operator adds the key and restarts: both run, once each, in order.
    let service = Service::start_with(&case, &[("WU_SERVER_PILOT_API_KEY", SP_KEY)]);
    for id in [first, second] {
        let event = service.finished(id);
        assert_eq!(
            (event["state"].as_str(), event["attempts"].as_i64()),
            (Some("done"), Some(1)),
            "{event}"
        );
    }
    assert_eq!(sp_domains(&sp), ["blog.example.com", "shop.example.com"]);
    assert!(service.log().contains("queued again"), "{}", service.log());
    let log = service.kill();
    assert!(!log.contains(SP_KEY), "{log}");
}

/// Security review F4 (re-drive) and F16: an event that failed for good can be queued
/// again by the operator (not with the event token), and posting the same event again
/// under its Idempotency-Key is a new event (202 naming the failed one), never a 200
/// that reads as "already done".
#[test]
fn a_failed_event_is_retried_by_the_operator_and_a_repeat_of_its_key_is_not_a_success() {
    let case = Case::new("svc-retry-failed");
    let sp = serverpilot();
    case.write_config(&format!(
        "www = \"never\"\n[retry]\nattempts = 1\n{}{}",
        service_table(""),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    // The key is refused once (a rotated key, fixed since): not retryable, failed.
    sp.inject(Fault::status(401, 1));
    let (status, body) = service.post_event("add-domain", "shop.example.com", 3, Some("wp-1"));
    assert_eq!(status, 202, "{body}");
    let failed = body["id"].as_i64().unwrap();
    assert_eq!(service.finished(failed)["state"], "failed");

    let (status, again) = service.post_event("add-domain", "shop.example.com", 3, Some("wp-1"));
    assert_eq!(
        status, 202,
        "a failed event is not answered as a success: {again}"
    );
    assert_eq!(again["replaces_failed"], failed, "{again}");
    let new = again["id"].as_i64().unwrap();
    assert_ne!(new, failed);
    assert_eq!(service.finished(new)["state"], "done");
    let (status, third) = service.post_event("add-domain", "shop.example.com", 3, Some("wp-1"));
    assert_eq!((status, third["id"].as_i64()), (200, Some(new)), "{third}");
    assert_eq!(sp_domains(&sp), ["shop.example.com"]);

    sp.inject(Fault::status(401, 1));
    let id = service.accept("add-domain", "blog.example.com", 4);
    assert_eq!(service.finished(id)["state"], "failed");
    let path = format!("/v1/events/{id}/retry");
    let (status, answer) = service.call("POST", &path, "");
    assert_eq!(status, 403, "the event token may not re-drive: {answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("operator token"),
        "{answer}"
    );
    assert_eq!(service.event(id)["state"], "failed", "unchanged");
    let (status, answer) = service.operator("POST", &path, "");
    assert_eq!(status, 200, "{answer}");
    let event = service.finished(id);
    assert_eq!(
        (event["state"].as_str(), event["attempts"].as_i64()),
        (Some("done"), Some(1)),
        "{event}"
    );
    assert_eq!(sp_domains(&sp), ["blog.example.com", "shop.example.com"]);
    let (status, answer) = service.operator("POST", &path, "");
    assert_eq!(status, 409, "only a failed event: {answer}");
    let (status, _) = service.operator("POST", "/v1/events/999/retry", "");
    assert_eq!(status, 404);
}

/// Security review F5: the event token (WordPress holds it) can no longer empty the
/// panels. It may still read, verify, test and dry-run; apply, prune, retry and metrics
/// need the operator token; a prune of an empty list or of more than prune_max_share of a
/// panel's names is refused without force, on the API and on the command line.
#[test]
fn the_event_token_cannot_prune_and_a_large_prune_needs_force() {
    let case = Case::new("svc-operator");
    let sp = serverpilot();
    let names = [
        "a.example.com",
        "b.example.com",
        "c.example.com",
        "d.example.com",
        "e.example.com",
    ];
    sp.lock().panel.app_mut(SP_APP).domains = names.iter().map(|n| n.to_string()).collect();
    write_sp_config(&case, &sp);
    let service = Service::start(&case);
    let wanted = |list: &[&str]| {
        serde_json::to_string(
            &list
                .iter()
                .map(|d| serde_json::json!({ "domain": d, "site": 3, "kind": "mapped" }))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    };
    for path in [
        "/v1/reconcile?prune=true",
        "/v1/reconcile?apply=true",
        "/v1/reconcile?apply=true&prune=true&force=true",
    ] {
        let (status, answer) = service.call("POST", path, "[]");
        assert_eq!(status, 403, "{path}: {answer}");
    }
    let (status, text) = http(&service.addr, "GET", "/metrics", Some(TOKEN), &[], "");
    assert_eq!(status, 403, "{text}");
    assert_eq!(sp_domains(&sp), names, "nothing removed");
    // What the WordPress page does with the event token still works.
    let (status, report) = service.call("POST", "/v1/reconcile", &wanted(&names[..2]));
    assert_eq!(
        (status, report["in_sync"].clone()),
        (200, Value::Bool(false)),
        "{report}"
    );
    let (status, test) = service.call("POST", "/v1/integrations/serverpilot/test", "");
    assert_eq!(status, 200, "{test}");
    let (status, _) = service.call("GET", "/v1/integrations", "");
    assert_eq!(status, 200);
    let (status, answer) = service.call("POST", "/v1/domains/a.example.com/verify", "");
    assert_eq!(
        status, 409,
        "no [lifecycle] here, but not refused for the token: {answer}"
    );

    // The operator: an empty list, and three of five names, are held back.
    let (status, answer) = service.operator("POST", "/v1/reconcile?apply=true&prune=true", "[]");
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("empty wanted list"),
        "{answer}"
    );
    let (status, answer) =
        service.operator("POST", "/v1/reconcile?prune=true", &wanted(&names[..2]));
    assert_eq!(status, 409, "{answer}");
    let held = answer["report"]["integrations"][0]["prune_refused"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        held.contains("3 of the panel's 5") && held.contains("20%"),
        "{answer}"
    );
    assert_eq!(sp_domains(&sp), names, "nothing removed");
    // One of five is within the share.
    let (status, answer) =
        service.operator("POST", "/v1/reconcile?prune=true", &wanted(&names[..4]));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(sp_domains(&sp), names[..4]);

    // The command line: the same guard, and --force.
    let empty = case.dir.join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    let empty = empty.to_str().unwrap();
    let run = case.run(&["reconcile", "--wanted", empty, "--prune"]);
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(run.stderr.contains("empty wanted list"), "{}", run.stderr);
    assert_eq!(sp_domains(&sp), names[..4]);
    let two = case.dir.join("two.json");
    std::fs::write(&two, wanted(&names[..2])).unwrap();
    let two = two.to_str().unwrap();
    let run = case.run(&["reconcile", "--wanted", two, "--prune"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("prune held back"),
        "{}",
        run.all_output()
    );
    assert_eq!(sp_domains(&sp), names[..4]);
    let (status, answer) = service.operator(
        "POST",
        "/v1/reconcile?prune=true&force=true",
        &wanted(&names[..2]),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(sp_domains(&sp), names[..2]);
    let log = service.kill();
    assert!(!log.contains(OPERATOR) && !log.contains(TOKEN), "{log}");
}

/// Security review F11: `/metrics` needs the operator's or the scraper's token, a client
/// that never finishes its headers is cut off, and connections beyond max_connections
/// wait instead of using up the service's file descriptors.
#[test]
fn metrics_need_a_token_slow_headers_are_cut_off_and_connections_are_capped() {
    const SCRAPER: &str = "svc-metrics-0123456789abcdef-0123456789";
    let case = Case::new("svc-listener");
    let sp = serverpilot();
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table(
            "metrics_token_env = \"DH_TEST_METRICS\"\nheader_timeout = \"1s\"\nmax_connections = 2"
        ),
        sp_table(&sp)
    ));
    let service = Service::start_with(&case, &[("DH_TEST_METRICS", SCRAPER)]);
    for (token, expected) in [
        (None, 401),
        (Some(TOKEN), 403),
        (Some(SCRAPER), 200),
        (Some(OPERATOR), 200),
    ] {
        let (status, text) = http(&service.addr, "GET", "/metrics", token, &[], "");
        assert_eq!(status, expected, "{token:?}: {text}");
        assert!(!text.contains("domain_host_events") || expected == 200);
    }

    // Half-sent headers: the service closes the connection after header_timeout.
    let started = Instant::now();
    let mut slow = TcpStream::connect(&service.addr).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let read = slow.read_to_end(&mut buf);
    assert!(read.is_ok(), "still open after 10 s: {read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A connection that sends nothing at all is cut off the same way.
    let started = Instant::now();
    let mut silent = TcpStream::connect(&service.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let read = silent.read_to_end(&mut buf);
    assert!(
        read.is_ok(),
        "a silent connection still open after 10 s: {read:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Two idle connections take both slots: a third request waits until they are cut off.
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(&service.addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (status, _) = http(&service.addr, "GET", "/healthz", None, &[], "");
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        waited >= Duration::from_millis(500),
        "served at once ({waited:?}): no connection cap"
    );
    drop(idle);
}

/// A callback receiver that answers after `delay` with the status set in `answer`, one
/// thread per connection, counting how many requests it holds at once.
struct SlowReceiver {
    url: String,
    answer: Arc<std::sync::atomic::AtomicU16>,
    /// (arrived, status answered, body)
    got: Arc<Mutex<Vec<(Instant, u16, Value)>>>,
    most_at_once: Arc<std::sync::atomic::AtomicUsize>,
}

impl SlowReceiver {
    fn start(status: u16, delay: Duration) -> SlowReceiver {
        use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/stage", listener.local_addr().unwrap());
        let answer = Arc::new(AtomicU16::new(status));
        let got = Arc::new(Mutex::new(Vec::new()));
        let most = Arc::new(AtomicUsize::new(0));
        let now = Arc::new(AtomicUsize::new(0));
        let (a, g, m) = (answer.clone(), got.clone(), most.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (a, g, m, now) = (a.clone(), g.clone(), m.clone(), now.clone());
                std::thread::spawn(move || {
                    let arrived = Instant::now();
                    let held = now.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(held, Ordering::SeqCst);
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    std::thread::sleep(delay);
                    let status = a.load(Ordering::SeqCst);
                    now.fetch_sub(1, Ordering::SeqCst);
                    g.lock().unwrap().push((
                        arrived,
                        status,
                        serde_json::from_slice(&body).unwrap_or(Value::Null),
                    ));
                    let _ = stream.write_all(
                        format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
                            .as_bytes(),
                    );
                });
            }
        });
        SlowReceiver {
            url,
            answer,
            got,
            most_at_once: most,
        }
    }
}

/// The `[lifecycle]` table of a network whose names do not resolve yet (every domain
/// stays `checking-dns`), asking `dns`.
fn quiet_lifecycle(dns: &DnsServer) -> String {
    format!(
        "[lifecycle]\ntargets = [\"127.0.0.1\"]\nnameservers = [\"{}\"]\nfirst_interval = \"10m\"\ntimeout = \"1s\"\n",
        dns.addr
    )
}

/// Security review F7: a receiver that is down (slow 503s) gets at most
/// callback_concurrency deliveries at once, the breaker stops deliveries after five
/// failures in a row, a change refused callback_max_attempts times is dead (metrics,
/// `status`), and a later change of the same domain is delivered once the receiver is back.
#[test]
fn callbacks_are_few_at_once_broken_off_and_dead_lettered() {
    let case = Case::new("svc-callback-brake");
    let sp = serverpilot();
    let dns = DnsServer::spawn("example.test").unwrap();
    let receiver = SlowReceiver::start(503, Duration::from_millis(300));
    case.write_config(&format!(
        "www = \"never\"\n{}{}{}",
        quiet_lifecycle(&dns),
        service_table(&format!(
            "callback_url = \"{}\"\ncallback_secret_env = \"DH_TEST_CALLBACK_SECRET\"\ncallback_max_attempts = 1\ncallback_breaker_cooldown = \"1s\"",
            receiver.url
        )),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    // Nine changes: four in flight at once, four more as those fail; the fifth failure
    // opens the breaker while the second four are out, so the ninth waits the cooldown.
    let ids: Vec<i64> = (0..9)
        .map(|i| service.accept("add-domain", &format!("d{i}.example.test"), 3))
        .collect();
    for id in &ids {
        assert_eq!(service.finished(*id)["state"], "done");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = service.metrics();
        if metrics.contains("domain_host_outbox_dead 9") {
            assert!(
                metrics.contains("domain_host_outbox_pending 0"),
                "{metrics}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}\n{}", service.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let most = receiver
        .most_at_once
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= 4, "{most} deliveries at once");
    let arrivals: Vec<Instant> = receiver.got.lock().unwrap().iter().map(|g| g.0).collect();
    assert_eq!(arrivals.len(), 9, "each tried once");
    let mut sorted = arrivals.clone();
    sorted.sort();
    // Without a breaker the ninth would go out as the first of the second four fails
    // (about 300 ms after the eighth); with it, after the 1 s cooldown.
    assert!(
        sorted[8] - sorted[7] >= Duration::from_millis(900),
        "the breaker paused after five failures: {:?}",
        sorted.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
    );
    assert!(
        service.log().contains("failures in a row"),
        "{}",
        service.log()
    );
    let status = case.run(&["status"]);
    assert!(
        status.stdout.contains("9 stage change(s) dead"),
        "{}",
        status.all_output()
    );

    // The receiver is back: a later change of d0 is not held by its dead first change.
    receiver
        .answer
        .store(200, std::sync::atomic::Ordering::SeqCst);
    let remove = service.accept("remove-domain", "d0.example.test", 3);
    assert_eq!(service.finished(remove)["state"], "done");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered = receiver
            .got
            .lock()
            .unwrap()
            .iter()
            .any(|(_, status, body)| {
                *status == 200 && body["stage"] == "removed" && body["domain"] == "d0.example.test"
            });
        if delivered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never delivered\n{}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Security review F9: a remove-domain the panel refused is not called back as
/// `removed`: the record stays, stage `failed`, the panel's error its diagnosis.
#[test]
fn a_failed_remove_is_reported_failed_not_removed() {
    let case = Case::new("svc-failed-remove");
    let sp = serverpilot();
    let dns = DnsServer::spawn("example.test").unwrap();
    let receiver = Receiver::start(0);
    case.write_config(&format!(
        "www = \"never\"\n[retry]\nattempts = 1\n{}{}{}",
        quiet_lifecycle(&dns),
        service_table(&format!(
            "callback_url = \"{}\"\ncallback_secret_env = \"DH_TEST_CALLBACK_SECRET\"",
            receiver.url
        )),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    let add = service.accept("add-domain", "shop.example.test", 3);
    assert_eq!(service.finished(add)["state"], "done");
    sp.inject(Fault::status(401, 100));
    let remove = service.accept("remove-domain", "shop.example.test", 3);
    assert_eq!(service.finished(remove)["state"], "failed");
    let (status, domain) = service.call("GET", "/v1/domains/shop.example.test", "");
    assert_eq!(status, 200, "the record stays: {domain}");
    assert_eq!(domain["stage"], "failed", "{domain}");
    assert!(
        domain["diagnosis"].to_string().contains("serverpilot"),
        "{domain}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !receiver.accepted().iter().any(|v| v["stage"] == "failed") {
        assert!(
            Instant::now() < deadline,
            "{:?}\n{}",
            receiver.accepted(),
            service.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let stages: Vec<Value> = receiver
        .accepted()
        .iter()
        .map(|v| v["stage"].clone())
        .collect();
    assert!(!stages.contains(&Value::from("removed")), "{stages:?}");
    assert_eq!(
        sp_domains(&sp),
        ["shop.example.test"],
        "the panel still serves it"
    );
    // An add that no panel took makes no record at all.
    let other = service.accept("add-domain", "other.example.test", 3);
    assert_eq!(service.finished(other)["state"], "failed");
    let (status, _) = service.call("GET", "/v1/domains/other.example.test", "");
    assert_eq!(status, 404);
}

/// Finished events are deleted after events_retention (here 1 s), at start.
#[test]
fn finished_events_are_pruned_after_their_retention() {
    let case = Case::new("svc-prune-events");
    let sp = serverpilot();
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table("events_retention = \"1s\""),
        sp_table(&sp)
    ));
    let service = Service::start(&case);
    let id = service.accept("add-domain", "shop.example.com", 3);
    assert_eq!(service.finished(id)["state"], "done");
    service.kill();
    std::thread::sleep(Duration::from_millis(1200));
    let service = Service::start(&case);
    let (status, _) = service.call("GET", &format!("/v1/events/{id}"), "");
    assert_eq!(status, 404, "pruned");
    assert!(
        service.log().contains("1 finished event(s)"),
        "{}",
        service.log()
    );
}

/// A callback_url without [lifecycle] would never be called: refused at start.
#[test]
fn a_callback_without_a_lifecycle_is_refused() {
    let case = Case::new("svc-callback-nolc");
    let sp = serverpilot();
    case.write_config(&format!(
        "www = \"never\"\n{}{}",
        service_table(
            "callback_url = \"http://127.0.0.1:9/stage\"\ncallback_secret_env = \"DH_TEST_CALLBACK_SECRET\""
        ),
        sp_table(&sp)
    ));
    let run = case.run_with_env(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("DH_TEST_TOKEN", TOKEN),
            ("DH_TEST_OPERATOR", OPERATOR),
            ("DH_TEST_CALLBACK_SECRET", CALLBACK_SECRET),
        ],
    );
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("callback_url") && run.stderr.contains("[lifecycle]"),
        "{}",
        run.stderr
    );
}

/// Connection reuse in the service: a burst of events to one panel travels on one
/// connection (one worker: the events run one after another), and a burst spread over
/// four workers on at most four.
#[test]
fn a_burst_of_events_to_one_panel_shares_its_connections() {
    for (workers, most) in [(1, 1), (4, 4)] {
        let case = Case::new("svc-pool");
        let sp = serverpilot();
        case.write_config(&format!(
            "www = \"never\"\n{}{}",
            service_table(&format!("workers = {workers}")),
            sp_table(&sp)
        ));
        let service = Service::start(&case);
        let ids: Vec<i64> = (0..12)
            .map(|n| service.accept("add-domain", &format!("shop{n}.example.com"), 3))
            .collect();
        for id in ids {
            assert_eq!(service.finished(id)["state"], "done");
        }
        let requests = sp.requests().len();
        assert!(requests >= 24, "{requests}");
        let connections = sp.connections();
        assert!(
            (1..=most).contains(&connections),
            "{workers} worker(s): {requests} requests on {connections} connections"
        );
    }
}

/// A panel whose API takes HTTP/2 (ALPN `h2`, as most API front ends do) gets a burst of
/// events from four workers on one connection and one TLS handshake: their requests are
/// streams of it. Over HTTP/1.1 the same burst needs up to one connection per worker
/// (the test above).
#[test]
fn a_burst_of_events_to_an_http2_panel_shares_one_connection() {
    let case = Case::new("svc-pool-h2");
    let sp = serverpilot();
    let ca = TestCa::new();
    let front = panel_emulators::front::Front::tls_h2(sp.addr, &ca, &["api.serverpilot.io"])
        .expect("front");
    std::fs::write(case.dir.join("ca.pem"), &ca.pem).unwrap();
    case.write_config(&format!(
        "www = \"never\"\n{}{}ca_file = \"ca.pem\"\n",
        service_table("workers = 4"),
        sp_table(&sp).replace(&sp.base_url(), &format!("https://{}", front.addr))
    ));
    let service = Service::start(&case);
    let ids: Vec<i64> = (0..12)
        .map(|n| service.accept("add-domain", &format!("h2shop{n}.example.com"), 3))
        .collect();
    for id in ids {
        let event = service.finished(id);
        assert_eq!(event["state"], "done", "{event}\n{}", service.log());
    }
    assert!(front.h2_requests() >= 24, "{}", front.h2_requests());
    assert_eq!(front.connections(), 1, "{}", service.log());
    assert_eq!(front.h2_connections(), 1);
    let domains = sp_domains(&sp);
    assert!(
        (0..12).all(|n| domains
            .iter()
            .any(|d| d == &format!("h2shop{n}.example.com"))),
        "{domains:?}"
    );
}

/// Two integrations whose panels share one address (a front that sends each connection to
/// the panel its first request names) keep a connection each across a burst of events:
/// with one pool between them, a request of one would ride the other's idle connection
/// to the wrong panel and fail there.
#[test]
fn two_integrations_at_one_address_never_share_a_connection() {
    let case = Case::new("svc-pool-two");
    let (sp, rc) = (serverpilot(), runcloud());
    let front = panel_emulators::front::Front::split(vec![("/v1/", sp.addr), ("/api/", rc.addr)])
        .expect("front");
    let url = format!("http://{}", front.addr);
    case.write_config(&format!(
        "www = \"never\"\n{}{}{}",
        service_table("workers = 1"),
        sp_table(&sp).replace(&sp.base_url(), &url),
        rc_table(&rc).replace(&rc.base_url(), &url)
    ));
    let service = Service::start(&case);
    let ids: Vec<i64> = (0..6)
        .map(|n| service.accept("add-domain", &format!("both{n}.example.com"), 3))
        .collect();
    for id in ids {
        let event = service.finished(id);
        assert_eq!(event["state"], "done", "{event}\n{}", service.log());
    }
    assert_eq!(sp.connections(), 1, "{}", service.log());
    assert_eq!(rc.connections(), 1, "{}", service.log());
    assert_eq!(front.connections(), 2);
}
