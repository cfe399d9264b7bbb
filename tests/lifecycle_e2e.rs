//! The domain lifecycle end to end: the real `domain-host`, an authoritative DNS server and
//! an HTTPS endpoint on loopback (certificates from a throwaway CA), and the SQLite store
//! under the case's state directory. Each test names the case it proves.

mod support;

use panel_emulators::dns::DnsServer;
use panel_emulators::serverpilot::{ServerPilot, Ssl};
use panel_emulators::tls::{Served, TestCa, TlsServer};
use panel_emulators::{Emulator, Reflect};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;
use support::Case;

const ZONE: &str = "example.test";
const SHOP: &str = "shop.example.test";
const WWW: &str = "www.shop.example.test";

struct World {
    case: Case,
    dns: DnsServer,
    tls: TlsServer,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn valid(names: &[&str]) -> Served {
    Served::Signed {
        names: names.iter().map(|s| s.to_string()).collect(),
        from: 2020,
        until: 2090,
    }
}

/// A network serving from 127.0.0.1, its zone on the loopback DNS server, `lifecycle`
/// extra keys, `tables` extra integrations.
fn world(name: &str, lifecycle: &str, tables: &str) -> World {
    let case = Case::new(name);
    let dns = DnsServer::spawn(ZONE).unwrap();
    let tls = TlsServer::spawn(Arc::new(TestCa::new()), "127.0.0.1:0").unwrap();
    let ca = case.dir.join("ca.pem");
    std::fs::write(&ca, &tls.ca.pem).unwrap();
    case.write_config(&format!(
        "www = \"always\"\n[lifecycle]\ntargets = [\"127.0.0.1\"]\nnameservers = [\"{}\"]\ntls_port = {}\n\
         extra_roots = [{:?}]\nfirst_interval = \"100ms\"\nmax_interval = \"400ms\"\n{}{lifecycle}\n{tables}",
        dns.addr,
        tls.addr.port(),
        ca,
        if lifecycle.contains("timeout") { "" } else { "timeout = \"1s\"\n" }
    ));
    World { case, dns, tls }
}

impl World {
    fn point(&self, name: &str, addresses: &[&str]) {
        let addresses: Vec<IpAddr> = addresses.iter().map(|a| ip(a)).collect();
        self.dns.zone().set_addresses(name, &addresses);
    }

    fn right(&self) {
        self.point(SHOP, &["127.0.0.1"]);
        self.point(WWW, &["127.0.0.1"]);
        self.tls.serve(SHOP, valid(&[SHOP, WWW]));
        self.tls.serve(WWW, valid(&[SHOP, WWW]));
    }

    fn add(&self) {
        let run = self
            .case
            .run(&["--json", "add-domain", SHOP, "--site", "3"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
    }

    fn verify(&self) -> Value {
        let run = self.case.run(&["--json", "verify", SHOP]);
        assert!(run.status == 0 || run.status == 1, "{}", run.all_output());
        run.json()
    }

    fn status(&self) -> Value {
        let run = self.case.run(&["--json", "status", SHOP]);
        run.json()
    }
}

fn name<'a>(status: &'a Value, n: &str) -> &'a Value {
    status["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == n)
        .unwrap_or_else(|| panic!("no {n}: {status}"))
}

fn diagnosis(status: &Value) -> String {
    support::strings(&status["diagnosis"]).join("\n")
}

#[test]
fn the_happy_path_reaches_done_with_both_names_checked() {
    let w = world("happy", "", "");
    w.right();
    w.add();
    let s = w.status();
    assert_eq!(s["stage"], "checking-dns", "recorded after the add: {s}");
    assert_eq!(s["names"].as_array().unwrap().len(), 2, "the apex and www.");
    let s = w.verify();
    assert_eq!(s["stage"], "done", "{s}");
    for n in [SHOP, WWW] {
        let n = name(&s, n);
        assert_eq!(n["dns"]["state"], "ok");
        assert_eq!(n["dns"]["found"], serde_json::json!(["127.0.0.1"]));
        assert_eq!(n["dns"]["expected"], serde_json::json!(["127.0.0.1"]));
        assert_eq!(n["certificate"]["state"], "ok", "{n}");
        assert_eq!(
            n["certificate"]["issuer"],
            "Throwaway Test CA, Throwaway Test CA"
        );
        assert!(n["certificate"]["days_left"].as_i64().unwrap() > 365 * 50);
        assert!(
            n["certificate"]["not_after"]
                .as_str()
                .unwrap()
                .starts_with("2090-01-01")
        );
    }
    for key in [
        "domain",
        "site",
        "stage",
        "names",
        "attempts",
        "next_check_at",
        "diagnosis",
    ] {
        assert!(s.get(key).is_some(), "{key}: {s}");
    }
    // Removing the domain ends its record.
    assert_eq!(
        w.case.run(&["remove-domain", SHOP, "--site", "3"]).status,
        0
    );
    assert_eq!(w.case.run(&["status", SHOP]).status, 2);
}

#[test]
fn wrong_dns_until_the_third_check_then_right() {
    let w = world("wrong-then-right", "", "");
    w.right();
    w.point(SHOP, &["198.51.100.7"]);
    w.add();
    for attempt in 1..=2 {
        let s = w.verify();
        assert_eq!(s["stage"], "checking-dns", "{s}");
        assert_eq!(s["attempts"], attempt);
        let dns = &name(&s, SHOP)["dns"];
        assert_eq!(
            (dns["state"].as_str(), dns["reason"].as_str()),
            (Some("wrong"), Some("points-elsewhere"))
        );
        assert!(
            diagnosis(&s).contains("shop.example.test resolves to 198.51.100.7; it should resolve to 127.0.0.1. Change the record: A shop → 127.0.0.1."),
            "{s}"
        );
        assert_eq!(name(&s, SHOP)["certificate"]["reason"], "waiting-for-dns");
    }
    w.point(SHOP, &["127.0.0.1"]);
    let s = w.verify();
    assert_eq!(s["stage"], "done", "{s}");
}

#[test]
fn a_proxied_record_gets_the_exact_advice() {
    let w = world("proxied", "", "");
    w.right();
    w.point(SHOP, &["104.16.1.1"]);
    w.add();
    let s = w.verify();
    let dns = &name(&s, SHOP)["dns"];
    assert_eq!(
        (dns["state"].as_str(), dns["reason"].as_str()),
        (Some("proxied"), Some("cloudflare-proxy"))
    );
    assert!(
        diagnosis(&s).contains("proxied (orange cloud)") && diagnosis(&s).contains("Full (strict)"),
        "{s}"
    );
}

#[test]
fn a_stale_aaaa_record_is_named() {
    let w = world("stale-aaaa", "", "");
    w.right();
    w.point(SHOP, &["127.0.0.1", "2001:db8::bad"]);
    w.add();
    let s = w.verify();
    let dns = &name(&s, SHOP)["dns"];
    assert_eq!(
        (dns["state"].as_str(), dns["reason"].as_str()),
        (Some("wrong"), Some("foreign-aaaa"))
    );
    assert!(
        diagnosis(&s).contains("Remove AAAA shop → 2001:db8::bad"),
        "{s}"
    );
}

#[test]
fn an_extra_a_record_and_a_missing_name_are_explained() {
    let w = world("extra-a", "", "");
    w.right();
    w.point(SHOP, &["127.0.0.1", "198.51.100.9"]);
    w.dns.zone().clear(WWW);
    w.add();
    let s = w.verify();
    assert_eq!(name(&s, SHOP)["dns"]["reason"], "extra-a");
    assert!(
        diagnosis(&s).contains("remove the A record shop → 198.51.100.9"),
        "{s}"
    );
    assert_eq!(name(&s, WWW)["dns"]["reason"], "nxdomain");
    assert!(
        diagnosis(&s).contains(
            "www.shop.example.test does not exist in DNS yet. Create: A www.shop → 127.0.0.1."
        ),
        "{s}"
    );
    assert!(
        diagnosis(&s).contains("up to 300 s (the zone's SOA minimum)"),
        "{s}"
    );
}

#[test]
fn caa_forbidding_the_ca_names_the_record_to_add() {
    let w = world("caa", "", "");
    w.right();
    w.dns.zone().set_caa_issue(ZONE, &["digicert.com"]);
    w.add();
    let s = w.verify();
    assert_eq!(name(&s, SHOP)["dns"]["reason"], "caa-forbids", "{s}");
    assert!(
        diagnosis(&s).contains("Add: CAA @ 0 issue \"letsencrypt.org\"."),
        "{s}"
    );
    assert_ne!(s["stage"], "done");
    w.dns
        .zone()
        .set_caa_issue(ZONE, &["digicert.com", "letsencrypt.org"]);
    assert_eq!(w.verify()["stage"], "done");
}

#[test]
fn expired_wrong_name_and_untrusted_certificates() {
    let w = world("bad-certs", "", "");
    w.right();
    w.add();
    for (served, state) in [
        (
            Served::Signed {
                names: vec![SHOP.into(), WWW.into()],
                from: 2020,
                until: 2021,
            },
            "expired",
        ),
        (valid(&["other.example.test"]), "wrong-name"),
        (
            Served::SelfSigned {
                names: vec![SHOP.into(), WWW.into()],
            },
            "untrusted",
        ),
    ] {
        w.tls.serve(SHOP, served);
        let s = w.verify();
        assert_eq!(s["stage"], "checking-ssl-cert", "{s}");
        assert_eq!(name(&s, SHOP)["certificate"]["state"], state, "{s}");
        assert_eq!(name(&s, WWW)["certificate"]["state"], "ok");
    }
    w.tls.stop_serving(SHOP);
    let s = w.verify();
    assert_eq!(name(&s, SHOP)["certificate"]["state"], "missing", "{s}");
}

#[test]
fn compatible_mode_exhausts_to_failed_and_ssl_failed() {
    let w = world(
        "compatible",
        "mode = \"compatible\"\ndns_attempts = 2\nssl_attempts = 1",
        "",
    );
    w.right();
    w.point(SHOP, &["198.51.100.7"]);
    w.add();
    // Ultimate Multisite's count: `> attempts` failed checks, so 2 means 3 checks.
    let stages: Vec<String> = (0..3)
        .map(|_| w.verify()["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages, ["checking-dns", "checking-dns", "failed"]);
    // Not given up for good: slow re-checks continue.
    assert!(w.status()["next_check_at"].as_str().is_some());

    // DNS fixed, certificate wrong: ssl-failed after ssl_attempts + 1 checks.
    w.point(SHOP, &["127.0.0.1"]);
    w.tls.serve(SHOP, valid(&["other.example.test"]));
    let s = w.verify();
    assert_eq!(s["stage"], "checking-ssl-cert", "{s}");
    // The next scheduled check (run by `verify --due`, as cron or the service would).
    std::thread::sleep(std::time::Duration::from_millis(150));
    let run = w.case.run(&["--json", "verify", "--due"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(w.status()["stage"], "ssl-failed", "{}", w.status());
}

#[test]
fn a_done_domain_whose_dns_moves_away_is_degraded() {
    let w = world("degraded", "", "");
    w.right();
    w.add();
    assert_eq!(w.verify()["stage"], "done");
    w.point(SHOP, &["198.51.100.7"]);
    let s = w.verify();
    assert_eq!(s["stage"], "degraded", "{s}");
    assert!(diagnosis(&s).contains("resolves to 198.51.100.7"), "{s}");
    w.point(SHOP, &["127.0.0.1"]);
    assert_eq!(w.verify()["stage"], "done");
}

#[test]
fn servfail_is_never_counted_as_a_failed_check() {
    let w = world("servfail", "", "");
    w.right();
    w.add();
    assert_eq!(w.verify()["stage"], "done");
    w.dns.zone().servfail(SHOP, true);
    let s = w.verify();
    assert_eq!(s["stage"], "done", "a working domain is not demoted: {s}");
    assert_eq!(name(&s, SHOP)["dns"]["state"], "unknown");
    assert!(
        diagnosis(&s).contains("not counted as a failed check"),
        "{s}"
    );
}

#[test]
fn a_process_killed_mid_check_loses_nothing() {
    let w = world("killed", "timeout = \"5s\"", "");
    w.right();
    w.point(SHOP, &["198.51.100.7"]);
    w.add();
    assert_eq!(w.verify()["attempts"], 1);
    let before = w.status();
    // The next check hangs on a silent nameserver; the process is killed in the middle.
    w.dns.zone().silent(SHOP, true);
    let mut child = support::host_command()
        .arg("--config")
        .arg(w.case.config_path())
        .args(["verify", SHOP])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    child.kill().unwrap();
    child.wait().unwrap();
    let after = w.status();
    assert_eq!(
        after["checks"], before["checks"],
        "the half-done check left nothing"
    );
    assert_eq!(after["names"], before["names"]);
    w.dns.zone().silent(SHOP, false);
    w.point(SHOP, &["127.0.0.1"]);
    assert_eq!(w.verify()["stage"], "done", "it resumes");
}

#[test]
fn verify_wait_prints_plain_lines_when_not_on_a_terminal() {
    let w = world("wait-plain", "", "");
    w.right();
    w.point(SHOP, &["198.51.100.7"]);
    w.add();
    let zone = w.dns.zone.clone();
    let flip = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(600));
        zone.lock().unwrap().set_addresses(SHOP, &[ip("127.0.0.1")]);
    });
    let run = w.case.run(&["verify", SHOP, "--wait", "--timeout", "60s"]);
    flip.join().unwrap();
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("check 1: checking-dns")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("next check in"), "{}", run.stderr);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no terminal escapes in plain output"
    );
    assert!(
        run.stdout.contains("shop.example.test (site 3): done"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_wait_shows_progress_on_a_terminal() {
    let w = world("wait-tty", "", "");
    w.right();
    w.add();
    let command = format!(
        "{} --config {} verify {SHOP} --wait --timeout 60s",
        support::HOST,
        w.case.config_path().display()
    );
    // `script` gives the command a pseudo-terminal.
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("WU_SERVER_PILOT_API_KEY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains('\u{1b}'),
        "a terminal gets a progress line: {text:?}"
    );
    assert!(text.contains("done"), "{text}");
}

#[test]
fn dns_turning_right_asks_the_panel_for_a_certificate() {
    let sp = Emulator::spawn(ServerPilot::new("cid_l", "key-l-123", "app1"), 0).unwrap();
    sp.lock().panel.app_mut("app1").autossl_available = false;
    let w = world(
        "request-certificate",
        "",
        &format!(
            "[integrations.serverpilot]\nenabled = true\n\
             constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_l\", WU_SERVER_PILOT_API_KEY = \"key-l-123\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
             routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
            sp.base_url()
        ),
    );
    w.right();
    w.tls.stop_serving(SHOP);
    w.add();
    assert_eq!(
        sp.lock().panel.app("app1").ssl,
        Ssl::None,
        "AutoSSL waits for DNS"
    );
    // DNS points here now: ServerPilot can issue.
    sp.lock().panel.app_mut("app1").autossl_available = true;
    let s = w.verify();
    assert!(
        diagnosis(&s)
            .contains("DNS is right: ServerPilot was asked for a certificate (AutoSSL enabled)"),
        "{s}"
    );
    assert_eq!(sp.lock().panel.app("app1").ssl, Ssl::Auto { force: false });
    // The panel's own view is shown beside ours while the certificate does not verify.
    assert_eq!(
        name(&s, SHOP)["panel"]["serverpilot"]["state"],
        "active",
        "{s}"
    );
    // Asked once: a second check does not ask again.
    let posts = sp
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/ssl"))
        .count();
    w.verify();
    assert_eq!(
        sp.requests()
            .iter()
            .filter(|r| r.path.ends_with("/ssl"))
            .count(),
        posts
    );
}

#[test]
fn a_secret_a_component_hands_the_lifecycle_is_never_stored_or_shown() {
    // The component reads its secret back from an accomplice panel in a form no host
    // recognises (reversed), turns it back and returns it as a record the customer must
    // create: the lifecycle would store it, show it and send it to WordPress.
    const SECRET: &str = "lifecycle-held-secret-0123456789";
    let panel = Emulator::spawn(Reflect, 0).unwrap();
    let w = world(
        "hostile-records",
        "",
        &format!(
            "[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
             constants = {{ HOSTILE_MODE = \"echo\", HOSTILE_TARGETS = \"https://allowed.test\", HOSTILE_SECRET = \"{SECRET}\" }}\n\
             routes = {{ \"allowed.test\" = \"{}\" }}\n",
            support::fixture("hostile"),
            panel.base_url()
        ),
    );
    w.add();
    // The attack is real: the panel got the secret.
    let received = panel.requests();
    assert_eq!(received.last().unwrap().header("x-api-key"), Some(SECRET));
    let status = w.status();
    let requirements = name(&status, SHOP)["requirements"].to_string();
    assert!(requirements.contains("[redacted]"), "{status}");
    assert!(!status.to_string().contains(SECRET), "{status}");
    // Nor is it in anything the host stored (the database and its journal).
    for entry in std::fs::read_dir(w.case.dir.join("state")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{} holds the secret",
                path.display()
            );
        }
    }
}
