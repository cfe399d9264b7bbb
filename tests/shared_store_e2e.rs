//! Several `domain-host serve` instances sharing one MariaDB store (`[store]`), end to end:
//! a real MariaDB started here (a private data directory under the temp dir, loopback
//! only), the real binary twice, the RunCloud emulator, a callback receiver.
//!
//! Without `mariadbd` the tests fail under CI (`CI` set: `.ci/run` installs
//! `mariadb-server` through `scripts/wordpress-env.sh`) and are skipped elsewhere.

mod support;

use panel_emulators::dns::DnsServer;
use panel_emulators::runcloud::RunCloud;
use panel_emulators::{Emulator, Fault, FaultKind};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Case;

const TOKEN: &str = "svc-token-0123456789abcdef-0123456789abcdef";
const OPERATOR: &str = "svc-operator-0123456789abcdef-0123456789";
const CALLBACK_SECRET: &str = "cb-hmac-key-fedcba9876543210-fedcba9876543210";
const DB_PASSWORD: &str = "dh-db-password-5f3a9c";
const RC_TOKEN: &str = "rc-v3-token-shared-123456";
const RC_SERVER: u64 = 11;
const RC_APP: u64 = 22;

/// The grants the README asks for, and nothing more.
const GRANTS: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES";

/// The user the test runs as (the server runs as the same one, never switching).
fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A MariaDB server of the test's own.
pub struct MariaDb {
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl MariaDb {
    /// Installs and starts a fresh server; `None` (skip) when MariaDB is not installed and
    /// `CI` is not set.
    pub fn start(name: &str) -> Option<MariaDb> {
        let installed = Path::new("/usr/sbin/mariadbd").exists()
            && Command::new("mariadb-install-db")
                .arg("--help")
                .output()
                .is_ok();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: MariaDB is not installed (apt-get install mariadb-server; .ci/run does)"
            );
            eprintln!("skipped: MariaDB is not installed (mariadb-server)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("dh-mariadb-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // A temporary directory of its own: with /tmp shared, the bootstrap servers of tests
        // running at once failed now and then on temporary tables ("Could not remove
        // temporary table '/tmp/#sql-temptable-...'", then "Unknown table mysql.tmp_user_sys").
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let out = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ])
            .arg(format!("--user={}", current_user()))
            .arg(format!("--datadir={}", dir.join("data").display()))
            // (mariadb-install-db hands options it does not know to the bootstrap server.)
            .arg(format!("--tmpdir={}", dir.join("tmp").display()))
            .output()
            .expect("mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut db = MariaDb {
            dir,
            port,
            child: None,
        };
        db.launch();
        db.sql(&format!(
            "CREATE DATABASE dh; CREATE USER 'dh'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}';
             GRANT {GRANTS} ON dh.* TO 'dh'@'127.0.0.1';"
        ));
        Some(db)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    /// Starts `mariadbd` on the data directory (again after [`MariaDb::kill`]).
    pub fn launch(&mut self) {
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.join("mysqld.err").display()
            ))
            .arg(format!("--port={}", self.port))
            .arg(format!("--tmpdir={}", self.dir.join("tmp").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
            ])
            // As whoever runs the test (mariadbd wants the name given when that is root).
            .arg(format!("--user={}", current_user()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mariadbd did not start: {}",
                std::fs::read_to_string(self.dir.join("mysqld.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: the database is lost at once (a crash, not a shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs SQL as root over the socket; the output, tab-separated, no headers.
    pub fn sql(&self, sql: &str) -> String {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .output()
            .expect("mariadb client");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The URL the config's `url_env` gives (the password in it).
    pub fn url(&self) -> String {
        format!("mysql://dh:{DB_PASSWORD}@127.0.0.1:{}/dh", self.port)
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A minimal HTTP/1.1 exchange; `None` when the service cannot be reached.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAuthorization: Bearer {token}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok())?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A running `domain-host serve`. Dropping it kills it.
pub struct Service {
    child: Option<Child>,
    pub addr: String,
    log: PathBuf,
}

impl Service {
    pub fn start(case: &Case, url: &str, tag: &str) -> Service {
        let log = case.dir.join(format!("service-{tag}.log"));
        let mut child = support::host_command()
            .arg("--config")
            .arg(case.config_path())
            .args(["--log-level", "info", "serve", "--listen", "127.0.0.1:0"])
            .env("DH_TEST_TOKEN", TOKEN)
            .env("DH_TEST_OPERATOR", OPERATOR)
            .env("DH_TEST_CALLBACK_SECRET", CALLBACK_SECRET)
            .env("DH_TEST_DATABASE_URL", url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start domain-host serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(180))
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

    pub fn get(&self, path: &str, token: &str) -> Option<(u16, Value)> {
        let (status, text) = http(&self.addr, "GET", path, token, &[], "")?;
        Some((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Posts an event under its idempotency key to the first instance that takes it, going
/// round the list while an instance is down or says 503 (the bridge's failover). The id.
pub fn post(
    addrs: &[String],
    start: usize,
    event: &str,
    domain: &str,
    site: u64,
    key: &str,
) -> i64 {
    let body = serde_json::json!({ "event": event, "domain": domain, "site_id": site }).to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut i = start;
    loop {
        let addr = &addrs[i % addrs.len()];
        if let Some((status, text)) = http(
            addr,
            "POST",
            "/v1/events",
            TOKEN,
            &[("Idempotency-Key", key)],
            &body,
        ) {
            if status == 202 || status == 200 {
                let v: Value = serde_json::from_str(&text).unwrap();
                return v["id"].as_i64().unwrap();
            }
            assert_eq!(status, 503, "{event} {domain}: {text}");
        }
        assert!(
            Instant::now() < deadline,
            "{event} {domain} was never accepted"
        );
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The callback's receiver: every delivery it got, acknowledged with 200.
pub struct Receiver {
    pub url: String,
    /// (delivery id, body) in arrival order.
    pub got: Arc<Mutex<Vec<(i64, Value)>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
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
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    let mut length = 0usize;
                    reader.read_line(&mut line).unwrap_or(0);
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.trim_end().split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let id = value["delivery"].as_i64().unwrap_or(-1);
                    seen.lock().unwrap().push((id, value));
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    );
                });
            }
        });
        Receiver { url, got }
    }
}

fn runcloud() -> Emulator<RunCloud> {
    let emu = Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", RC_SERVER, RC_APP, "network.example"),
        0,
    )
    .expect("emulator");
    // Every panel call takes a while, so an instance killed at any moment has work in hand.
    emu.inject(Fault {
        method: None,
        path_prefix: None,
        times: 100_000,
        kind: FaultKind::Delay(Duration::from_millis(40)),
    });
    emu
}

/// One instance's config: the shared store, its own name and state directory.
pub fn write_config(
    case: &Case,
    instance: &str,
    rc: &Emulator<RunCloud>,
    dns: &DnsServer,
    receiver: &Receiver,
    lease: &str,
) {
    case.write_config(&format!(
        "www = \"never\"\n\
         [store]\nurl_env = \"DH_TEST_DATABASE_URL\"\nlease = \"{lease}\"\ntimeout = \"2s\"\n\
         [lifecycle]\ntargets = [\"127.0.0.1\"]\nnameservers = [\"{}\"]\nfirst_interval = \"10m\"\ntimeout = \"1s\"\n\
         [service]\ntoken_env = \"DH_TEST_TOKEN\"\noperator_token_env = \"DH_TEST_OPERATOR\"\ninstance = \"{instance}\"\nretry_interval = \"200ms\"\nworkers = 8\n\
         callback_url = \"{}\"\ncallback_secret_env = \"DH_TEST_CALLBACK_SECRET\"\n\
         [integrations.runcloud]\nenabled = true\nconstants = {{ WU_RUNCLOUD_API_TOKEN = \"{RC_TOKEN}\", WU_RUNCLOUD_SERVER_ID = \"{RC_SERVER}\", WU_RUNCLOUD_APP_ID = \"{RC_APP}\" }}\nroutes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        dns.addr,
        receiver.url,
        rc.base_url()
    ));
    // `serve` runs approved components only (security review F10).
    case.approve(&[]);
}

/// Per event: (id, domain, state, attempts, started_ms, finished_ms), from the database.
fn events(db: &MariaDb) -> Vec<EventRow> {
    db.sql("SELECT id, domain, state, attempts, COALESCE(started_ms, 0), COALESCE(finished_ms, 0) FROM dh.events ORDER BY id")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string(), f[3].parse().unwrap(), f[4].parse().unwrap(), f[5].parse().unwrap())
        })
        .collect()
}

fn wait_all_done(db: &MariaDb, n: usize, services: &[&Service], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let done = db
            .sql("SELECT COUNT(*) FROM dh.events WHERE state = 'done'")
            .trim()
            .parse::<usize>()
            .unwrap_or(0);
        if done >= n {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = services.iter().map(|s| s.log()).collect();
            panic!(
                "{done} of {n} events done: {}\n{}",
                db.sql("SELECT state, COUNT(*) FROM dh.events GROUP BY state"),
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The three events of domain `i`, in order: add, remove, add (so a domain ends added,
/// and a remove run before its add, or an add after the second add, shows).
fn script() -> Vec<Scripted> {
    let mut out = Vec::new();
    for round in 0..3 {
        for i in 0..100u64 {
            let event = if round == 1 {
                "remove-domain"
            } else {
                "add-domain"
            };
            out.push((
                event,
                format!("site{i}.example.test"),
                i + 1,
                format!("wp-{i}-{round}"),
            ));
        }
    }
    out
}

/// One scripted event: (event, domain, site, idempotency key).
type Scripted = (&'static str, String, u64, String);
type Work = Arc<Mutex<Vec<(usize, Scripted)>>>;
/// An event's row: (id, domain, state, attempts, started_ms, finished_ms).
type EventRow = (i64, String, String, i64, i64, i64);

/// The next event to post, in the script's order.
fn next(work: &Work) -> Option<(usize, Scripted)> {
    let mut list = work.lock().unwrap();
    (!list.is_empty()).then(|| list.remove(0))
}

/// Every event done; a domain's events ran one after the other in the order accepted;
/// every domain is on the panel; every stage change in the outbox was delivered, and
/// each domain's changes arrived in order.
fn assert_the_outcome(db: &MariaDb, rc: &Emulator<RunCloud>, receiver: &Receiver) {
    let rows = events(db);
    assert_eq!(rows.len(), 300, "300 events stored, none twice");
    assert!(rows.iter().all(|r| r.2 == "done"), "{rows:?}");
    let mut by_domain: BTreeMap<&str, Vec<&EventRow>> = BTreeMap::new();
    for r in &rows {
        by_domain.entry(&r.1).or_default().push(r);
    }
    assert_eq!(by_domain.len(), 100);
    for (domain, list) in &by_domain {
        assert_eq!(list.len(), 3, "{domain}");
        for pair in list.windows(2) {
            assert!(
                pair[1].4 >= pair[0].5,
                "{domain}: event {} started before event {} finished: {pair:?}",
                pair[1].0,
                pair[0].0
            );
        }
    }
    let names: Vec<String> = rc
        .lock()
        .panel
        .webapp(RC_SERVER, RC_APP)
        .domains
        .iter()
        .map(|d| d.name.clone())
        .collect();
    for i in 0..100 {
        assert!(
            names.contains(&format!("site{i}.example.test")),
            "site{i} is not on the panel"
        );
    }
    // The outbox: every change delivered.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = db
            .sql("SELECT COUNT(*) FROM dh.outbox WHERE delivered_ms IS NULL")
            .trim()
            .to_string();
        if left == "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} stage change(s) never delivered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let outbox: Vec<(i64, String)> = db
        .sql("SELECT id, domain FROM dh.outbox ORDER BY id")
        .lines()
        .map(|l| {
            let (id, d) = l.split_once('\t').unwrap();
            (id.parse().unwrap(), d.to_string())
        })
        .collect();
    assert!(
        outbox.len() >= 300,
        "a stage change per event at least: {}",
        outbox.len()
    );
    let got = receiver.got.lock().unwrap().clone();
    let mut first_seen: HashMap<i64, usize> = HashMap::new();
    for (n, (id, _)) in got.iter().enumerate() {
        first_seen.entry(*id).or_insert(n);
    }
    for (id, domain) in &outbox {
        assert!(
            first_seen.contains_key(id),
            "stage change {id} of {domain} never reached the callback"
        );
    }
    let mut last: HashMap<&str, (i64, usize)> = HashMap::new();
    for (id, domain) in &outbox {
        let at = first_seen[id];
        if let Some((prev, prev_at)) = last.get(domain.as_str()) {
            assert!(
                at > *prev_at,
                "{domain}: change {id} arrived before change {prev}"
            );
        }
        last.insert(domain, (*id, at));
    }
}

#[test]
fn two_instances_share_the_work_and_one_killed_mid_run_loses_nothing() {
    let Some(db) = MariaDb::start("kill") else {
        return;
    };
    let rc = runcloud();
    let dns = DnsServer::spawn("example.test").unwrap();
    let receiver = Receiver::start();
    let (case_a, case_b) = (Case::new("shared-a"), Case::new("shared-b"));
    write_config(&case_a, "web-a", &rc, &dns, &receiver, "3s");
    write_config(&case_b, "web-b", &rc, &dns, &receiver, "3s");
    let mut a = Service::start(&case_a, &db.url(), "a");
    let b = Service::start(&case_b, &db.url(), "b");
    for (service, name) in [(&a, "web-a"), (&b, "web-b")] {
        let (status, health) = service.get("/healthz", TOKEN).unwrap();
        assert_eq!(status, 200, "{health}");
        assert_eq!(
            (health["instance"].as_str(), health["store"].as_str()),
            (Some(name), Some("mysql"))
        );
    }
    let (status, metrics) = b.get("/metrics", OPERATOR).unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("domain_host_events{instance=\"web-b\",state=\"queued\"}"),
        "{metrics}"
    );

    let addrs = vec![a.addr.clone(), b.addr.clone()];
    let work: Work = Arc::new(Mutex::new(script().into_iter().enumerate().collect()));
    let posters: Vec<_> = (0..6)
        .map(|_| {
            let (work, addrs) = (work.clone(), addrs.clone());
            std::thread::spawn(move || {
                loop {
                    let Some((n, (event, domain, site, key))) = next(&work) else {
                        return;
                    };
                    post(&addrs, n, event, &domain, site, &key);
                }
            })
        })
        .collect();
    // Kill A once a third of the work is done, while it holds events.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let held = db
            .sql("SELECT COUNT(*) FROM dh.events WHERE state = 'running' AND lease_owner = 'web-a'")
            .trim()
            .parse::<u32>()
            .unwrap_or(0);
        let done = db
            .sql("SELECT COUNT(*) FROM dh.events WHERE state = 'done'")
            .trim()
            .parse::<u32>()
            .unwrap_or(0);
        if done >= 100 && held > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A never held work past 100 done events\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let taken: Vec<i64> = db
        .sql("SELECT id FROM dh.events WHERE state = 'running' AND lease_owner = 'web-a'")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    a.kill();
    for p in posters {
        p.join().unwrap();
    }
    wait_all_done(&db, 300, &[&b], Duration::from_secs(240));
    assert_the_outcome(&db, &rc, &receiver);
    // What A held when it died was finished by B, after A's lease ran out.
    let rows = events(&db);
    let mut resumed = 0;
    for id in &taken {
        let row = rows.iter().find(|r| r.0 == *id).unwrap();
        if row.3 >= 2 {
            resumed += 1;
        }
    }
    assert!(
        resumed > 0,
        "none of A's events {taken:?} was taken over: {rows:?}"
    );
    let log = b.log();
    assert!(!log.contains(DB_PASSWORD) && !log.contains(TOKEN), "{log}");
    // The CLI reads the same store: a domain B recorded, through A's config.
    let url = db.url();
    let run = case_a.run_with_env(
        &["status", "site5.example.test"],
        &[("DH_TEST_DATABASE_URL", url.as_str())],
    );
    assert!(
        run.all_output().contains("site5.example.test") && run.status != 2,
        "{}",
        run.all_output()
    );
    assert!(!run.all_output().contains(DB_PASSWORD));
}

#[test]
fn the_database_restarted_mid_run_loses_nothing() {
    let Some(mut db) = MariaDb::start("restart") else {
        return;
    };
    let rc = runcloud();
    let dns = DnsServer::spawn("example.test").unwrap();
    let receiver = Receiver::start();
    let (case_a, case_b) = (Case::new("restart-a"), Case::new("restart-b"));
    write_config(&case_a, "web-a", &rc, &dns, &receiver, "3s");
    write_config(&case_b, "web-b", &rc, &dns, &receiver, "3s");
    let a = Service::start(&case_a, &db.url(), "a");
    let b = Service::start(&case_b, &db.url(), "b");
    let addrs = vec![a.addr.clone(), b.addr.clone()];
    let work: Work = Arc::new(Mutex::new(script().into_iter().enumerate().collect()));
    let posters: Vec<_> = (0..6)
        .map(|_| {
            let (work, addrs) = (work.clone(), addrs.clone());
            std::thread::spawn(move || {
                loop {
                    let Some((n, (event, domain, site, key))) = next(&work) else {
                        return;
                    };
                    post(&addrs, n, event, &domain, site, &key);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while db
        .sql("SELECT COUNT(*) FROM dh.events WHERE state = 'done'")
        .trim()
        .parse::<u32>()
        .unwrap_or(0)
        < 80
    {
        assert!(Instant::now() < deadline, "not 80 done\n{}", a.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    db.kill();
    // While it is gone: the instances run on, say 503 with why, and take no event.
    std::thread::sleep(Duration::from_millis(500));
    let (status, health) = a.get("/healthz", TOKEN).expect("A keeps running");
    assert_eq!(status, 503, "{health}");
    assert!(
        health["error"].as_str().unwrap_or("").contains("database"),
        "{health}"
    );
    let body =
        serde_json::json!({ "event": "add-domain", "domain": "late.example.test", "site_id": 7 })
            .to_string();
    let (status, text) =
        http(&b.addr, "POST", "/v1/events", TOKEN, &[], &body).expect("B keeps running");
    assert_eq!(status, 503, "{text}");
    assert!(!text.contains(DB_PASSWORD), "{text}");
    std::thread::sleep(Duration::from_secs(3));
    db.launch();
    for p in posters {
        p.join().unwrap();
    }
    wait_all_done(&db, 300, &[&a, &b], Duration::from_secs(240));
    assert_the_outcome(&db, &rc, &receiver);
    let (status, health) = a.get("/healthz", TOKEN).unwrap();
    assert_eq!(status, 200, "back: {health}");
}

#[test]
fn store_copy_moves_an_sqlite_state_directory_into_an_empty_database() {
    let Some(db) = MariaDb::start("copy") else {
        return;
    };
    let rc = Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", RC_SERVER, RC_APP, "network.example"),
        0,
    )
    .unwrap();
    let dns = DnsServer::spawn("example.test").unwrap();
    let receiver = Receiver::start();
    // A network on SQLite: two events applied, a stage change each in its outbox.
    let case = Case::new("copy-sqlite");
    write_config(&case, "solo", &rc, &dns, &receiver, "3s");
    let text = std::fs::read_to_string(case.config_path()).unwrap();
    let sqlite = text.replace(
        "[store]\nurl_env = \"DH_TEST_DATABASE_URL\"\nlease = \"3s\"\ntimeout = \"2s\"\n",
        "",
    );
    std::fs::write(case.config_path(), &sqlite).unwrap();
    let mut solo = Service::start(&case, "", "solo");
    let addrs = vec![solo.addr.clone()];
    let first = post(&addrs, 0, "add-domain", "one.example.test", 1, "wp-one");
    let second = post(&addrs, 0, "add-domain", "two.example.test", 2, "wp-two");
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in [first, second] {
        loop {
            let (_, e) = solo.get(&format!("/v1/events/{id}"), TOKEN).unwrap();
            if e["state"] == "done" {
                break;
            }
            assert!(Instant::now() < deadline, "{e}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    solo.kill();
    // Into the empty database, the password from the environment (never on the command line).
    let url = format!("mysql://dh@127.0.0.1:{}/dh", db.port);
    let run = case.run_with_env(
        &[
            "store",
            "copy",
            "--to",
            &url,
            "--password-env",
            "DH_TEST_DB_PASSWORD",
        ],
        &[("DH_TEST_DB_PASSWORD", DB_PASSWORD)],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(run.stdout.contains("2 events"), "{}", run.stdout);
    assert_eq!(db.sql("SELECT COUNT(*) FROM dh.domains").trim(), "2");
    assert_eq!(
        db.sql("SELECT idempotency_key FROM dh.events WHERE id = 1")
            .trim(),
        "wp-one"
    );
    // Copying again is refused: the database is not empty, and nothing changes.
    let again = case.run_with_env(
        &[
            "store",
            "copy",
            "--to",
            &url,
            "--password-env",
            "DH_TEST_DB_PASSWORD",
        ],
        &[("DH_TEST_DB_PASSWORD", DB_PASSWORD)],
    );
    assert_eq!(again.status, 1, "{}", again.all_output());
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
    assert!(!again.all_output().contains(DB_PASSWORD));
    assert_eq!(db.sql("SELECT COUNT(*) FROM dh.events").trim(), "2");
    // The same network on the shared store: the copied key still names its event.
    std::fs::write(case.config_path(), &text).unwrap();
    let shared = Service::start(&case, &db.url(), "shared");
    let again = post(
        std::slice::from_ref(&shared.addr),
        0,
        "add-domain",
        "one.example.test",
        1,
        "wp-one",
    );
    assert_eq!(again, first, "the idempotency key came along");
    let (status, e) = shared.get(&format!("/v1/events/{first}"), TOKEN).unwrap();
    assert_eq!((status, e["state"].as_str()), (200, Some("done")), "{e}");
    let next = post(
        std::slice::from_ref(&shared.addr),
        0,
        "add-domain",
        "three.example.test",
        3,
        "wp-three",
    );
    assert!(next > 2, "new ids follow the copied ones: {next}");
}

#[test]
fn instances_starting_at_once_on_an_empty_database_migrate_it_once() {
    let Some(db) = MariaDb::start("migrate") else {
        return;
    };
    let rc = runcloud();
    let dns = DnsServer::spawn("example.test").unwrap();
    let receiver = Receiver::start();
    let cases: Vec<Case> = (0..4).map(|i| Case::new(&format!("migrate-{i}"))).collect();
    for (i, case) in cases.iter().enumerate() {
        write_config(case, &format!("web-{i}"), &rc, &dns, &receiver, "3s");
    }
    // Four processes open the empty store at the same moment (`status` migrates as `serve` does).
    let url = db.url();
    let runs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| {
                let url = url.clone();
                scope.spawn(move || {
                    case.run_with_env(&["status"], &[("DH_TEST_DATABASE_URL", url.as_str())])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert_eq!(run.status, 0, "{}", run.all_output());
    }
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM dh.schema_migrations").trim(),
        "1"
    );
    let tables = db.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'dh' ORDER BY table_name");
    assert_eq!(
        tables.split_whitespace().collect::<Vec<_>>(),
        [
            "checks",
            "domains",
            "events",
            "names",
            "outbox",
            "schema_migrations"
        ]
    );
}

#[test]
fn a_config_with_a_password_in_store_url_is_refused() {
    let case = Case::new("store-url-password");
    case.write_config(&format!(
        "[store]\nurl = \"mysql://dh:{DB_PASSWORD}@127.0.0.1:3306/dh\"\n[service]\ntoken = \"{TOKEN}\"\n"
    ));
    let run = case.run(&["status"]);
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(
        run.all_output().contains("password_env"),
        "{}",
        run.all_output()
    );
    assert!(
        !run.all_output().contains(DB_PASSWORD),
        "{}",
        run.all_output()
    );
}

/// A bench config: the queue only (no lifecycle, no callback), the store shared or not.
fn write_bench_config(
    case: &Case,
    instance: &str,
    rc: &Emulator<RunCloud>,
    shared: bool,
    lease: &str,
) {
    let store = if shared {
        format!("[store]\nurl_env = \"DH_TEST_DATABASE_URL\"\nlease = \"{lease}\"\n")
    } else {
        String::new()
    };
    case.write_config(&format!(
        "www = \"never\"\n{store}\
         [service]\ntoken_env = \"DH_TEST_TOKEN\"\noperator_token_env = \"DH_TEST_OPERATOR\"\ninstance = \"{instance}\"\nworkers = 16\n\
         [integrations.runcloud]\nenabled = true\nconstants = {{ WU_RUNCLOUD_API_TOKEN = \"{RC_TOKEN}\", WU_RUNCLOUD_SERVER_ID = \"{RC_SERVER}\", WU_RUNCLOUD_APP_ID = \"{RC_APP}\" }}\nroutes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        rc.base_url()
    ));
    case.approve(&[]);
}

/// Posts `n` add-domain events from 8 threads round the instances, waits for all to be
/// done; (events per second from the first post to the last done, p99 of accepted→finished
/// in ms).
fn bench_run(services: &[&Service], n: usize, tag: &str) -> (f64, i64) {
    let addrs: Vec<String> = services.iter().map(|s| s.addr.clone()).collect();
    let started = Instant::now();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (addrs, ids, next, tag) =
                (addrs.clone(), ids.clone(), next.clone(), tag.to_string());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let id = post(
                        &addrs,
                        i,
                        "add-domain",
                        &format!("b{i}.{tag}.example.test"),
                        1,
                        &format!("{tag}-{i}"),
                    );
                    ids.lock().unwrap().push(id);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let ids = ids.lock().unwrap().clone();
    let mut latencies = Vec::new();
    let mut last_done = Instant::now();
    for id in &ids {
        loop {
            let (_, e) = services[0].get(&format!("/v1/events/{id}"), TOKEN).unwrap();
            if e["state"] == "done" {
                let ms = |f: &str| humantime::parse_rfc3339(e[f].as_str().unwrap()).unwrap();
                latencies.push(
                    ms("finished_at")
                        .duration_since(ms("accepted_at"))
                        .unwrap()
                        .as_millis() as i64,
                );
                last_done = Instant::now();
                break;
            }
            assert_ne!(e["state"], "failed", "{e}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = last_done;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    (n as f64 / elapsed, p99)
}

/// `cargo test --release -p domain-host --test shared_store_e2e -- --ignored --nocapture bench`:
/// the rows of BENCHMARKS.md's shared-store table.
#[test]
#[ignore]
fn bench_shared_store() {
    let Some(db) = MariaDb::start("bench") else {
        return;
    };
    let n = 300;
    // SQLite, one instance.
    let rc = Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", RC_SERVER, RC_APP, "network.example"),
        0,
    )
    .unwrap();
    let case = Case::new("bench-sqlite");
    write_bench_config(&case, "solo", &rc, false, "30s");
    let solo = Service::start(&case, "", "solo");
    let (rate, p99) = bench_run(&[&solo], n, "sqlite");
    println!("| SQLite, 1 instance | {n} | {rate:.0} | {p99} |");
    drop(solo);
    // MariaDB, one instance.
    let case = Case::new("bench-my1");
    write_bench_config(&case, "web-1", &rc, true, "30s");
    let one = Service::start(&case, &db.url(), "my1");
    let (rate, p99) = bench_run(&[&one], n, "my1");
    println!("| MariaDB, 1 instance | {n} | {rate:.0} | {p99} |");
    // MariaDB, two instances.
    let case2 = Case::new("bench-my2");
    write_bench_config(&case2, "web-2", &rc, true, "30s");
    let two = Service::start(&case2, &db.url(), "my2");
    let (rate, p99) = bench_run(&[&one, &two], n, "my2");
    println!("| MariaDB, 2 instances | {n} | {rate:.0} | {p99} |");
    drop(one);
    drop(two);
    // Takeover: A holds events (each panel call 1 s) and is SIGKILLed; how long until B
    // starts each of them again, with a 5 s lease.
    db.sql("DELETE FROM dh.events");
    let slow = runcloud_with_delay(Duration::from_millis(1000));
    let (ca, cb) = (Case::new("bench-ka"), Case::new("bench-kb"));
    write_bench_config(&ca, "web-a", &slow, true, "5s");
    write_bench_config(&cb, "web-b", &slow, true, "5s");
    let mut a = Service::start(&ca, &db.url(), "ka");
    let b = Service::start(&cb, &db.url(), "kb");
    let _ = b.addr.clone();
    for i in 0..8 {
        post(
            &[a.addr.clone()],
            0,
            "add-domain",
            &format!("k{i}.example.test"),
            1,
            &format!("k-{i}"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let held = loop {
        let held: Vec<i64> = db
            .sql("SELECT id FROM dh.events WHERE state = 'running' AND lease_owner = 'web-a'")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        if !held.is_empty() {
            break held;
        }
        assert!(Instant::now() < deadline, "A never ran an event");
        std::thread::sleep(Duration::from_millis(5));
    };
    let killed_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    a.kill();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut resumed = Vec::new();
    for id in &held {
        loop {
            let row = db.sql(&format!("SELECT COALESCE(started_ms, 0), COALESCE(lease_owner, ''), state FROM dh.events WHERE id = {id}"));
            let f: Vec<&str> = row.trim().split('\t').collect();
            let started: i64 = f[0].parse().unwrap_or(0);
            if started > killed_ms {
                resumed.push(started - killed_ms);
                break;
            }
            assert!(Instant::now() < deadline, "event {id} never resumed: {row}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    println!(
        "| kill -9 to resumed elsewhere (lease 5 s) | {} event(s) held | max {} ms | min {} ms |",
        held.len(),
        resumed.iter().max().unwrap(),
        resumed.iter().min().unwrap()
    );
}

fn runcloud_with_delay(delay: Duration) -> Emulator<RunCloud> {
    let emu = Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", RC_SERVER, RC_APP, "network.example"),
        0,
    )
    .expect("emulator");
    emu.inject(Fault {
        method: None,
        path_prefix: None,
        times: 100_000,
        kind: FaultKind::Delay(delay),
    });
    emu
}
