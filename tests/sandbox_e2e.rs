//! The sandbox, proved with a deliberately hostile component (`tests/fixtures/hostile`):
//! egress, secrets, CPU, memory, response size, timeouts, stdio, crashes, and contract
//! versions. In every case the host reports the integration as failed and carries on.
//! The trust boundary (what the operator gave, approvals, request limits, files, logs) has
//! its own tests in `trust_e2e.rs`.

mod support;

use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::{Emulator, Fault, FaultKind, Recorder, Response};
use std::time::{Duration, Instant};
use support::{Canary, Case, fixture, strings};

pub const SECRET: &str = "hostile-held-secret-42424242";

/// A config with the hostile component: `routes` send those hosts to the recorder,
/// `extra` goes into its table, `top` at the top.
fn hostile(
    case: &Case,
    mode: &str,
    targets: &[String],
    recorder: &Emulator<Recorder>,
    routes: &[&str],
    top: &str,
    extra: &str,
) {
    let routes: Vec<String> = routes
        .iter()
        .map(|host| format!("{host:?} = {:?}", recorder.base_url()))
        .collect();
    case.write_config(&format!(
        "{top}\n[retry]\nattempts = 1\n\
         [integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"{mode}\", HOSTILE_TARGETS = \"{}\", HOSTILE_SECRET = \"{SECRET}\" }}\n\
         routes = {{ {} }}\n{extra}\n",
        fixture("hostile"),
        targets.join(","),
        routes.join(", "),
    ));
}

fn recorder() -> Emulator<Recorder> {
    Emulator::spawn(Recorder, 0).unwrap()
}

fn notes(run: &support::Run) -> Vec<String> {
    strings(&run.integration("hostile")["notes"])
}

#[test]
fn requests_outside_the_allow_list_are_denied_before_any_connection() {
    let case = Case::new("egress");
    let rec = recorder();
    let canary = Canary::start();
    let targets = vec![
        "https://allowed.test/ok".to_string(),
        format!("http://127.0.0.1:{}/steal", canary.port),
        "https://evil.test/steal".to_string(),
        "https://allowed.test:8443/other-port".to_string(),
        "http://allowed.test/other-scheme".to_string(),
        "https://sub.allowed.test/subdomain".to_string(),
    ];
    hostile(&case, "egress", &targets, &rec, &["allowed.test"], "", "");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = notes(&run);
    assert_eq!(notes[1], "https://allowed.test/ok -> status 200");
    for denied in &notes[2..] {
        assert!(denied.contains("Denied("), "{denied}");
    }
    assert_eq!(canary.connections(), 0, "the canary received nothing");
    // Only the allowed request arrived, carrying the host-held credential.
    let received = rec.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/ok");
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    // Denials are logged on the host.
    let log = run.integration("hostile")["log"].to_string();
    assert!(
        log.contains(&format!(
            "denied GET http://127.0.0.1:{}/steal",
            canary.port
        )),
        "{log}"
    );
    assert!(log.contains("denied GET https://evil.test/steal"), "{log}");
    assert!(!run.all_output().contains(SECRET));
}

/// With `allowed_hosts = [entry]`, `allowed_url` gets through (to the recorder) and
/// `denied_url` is refused.
fn assert_allow_entry(name: &str, entry: &str, route: &str, allowed_url: &str, denied_url: &str) {
    let case = Case::new(name);
    let rec = recorder();
    let targets = vec![allowed_url.to_string(), denied_url.to_string()];
    hostile(
        &case,
        "egress",
        &targets,
        &rec,
        &[route],
        "",
        &format!("allowed_hosts = [{entry:?}]"),
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    let notes = notes(&run);
    assert_eq!(
        notes[1],
        format!("{allowed_url} -> status 200"),
        "{notes:?}"
    );
    assert!(
        notes[2].starts_with(&format!("{denied_url} -> ProviderError::Denied(")),
        "{notes:?}"
    );
    assert_eq!(rec.requests().len(), 1);
}

#[test]
fn wildcard_entries_match_subdomains_but_not_the_bare_suffix() {
    assert_allow_entry(
        "egress-wildcard",
        "*.allowed.test",
        "api.allowed.test",
        "https://api.allowed.test/yes",
        "https://allowed.test/no",
    );
}

#[test]
fn host_port_entries_allow_only_that_port() {
    assert_allow_entry(
        "egress-port",
        "allowed.test:8443",
        "allowed.test",
        "https://allowed.test:8443/yes",
        "https://allowed.test/no",
    );
}

/// ServerPilot beside the hostile component, to show the others carry on.
fn with_serverpilot(case: &Case, hostile_mode: &str, limits: &str, sp: &Emulator<ServerPilot>) {
    case.write_config(&format!(
        "[limits]\n{limits}\n[retry]\nattempts = 1\n\
         [integrations.hostile]\nenabled = true\ncomponent = {:?}\nconstants = {{ HOSTILE_MODE = \"{hostile_mode}\" }}\n\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_x\", WU_SERVER_PILOT_API_KEY = \"key-x-123\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        fixture("hostile"),
        sp.base_url()
    ));
}

fn serverpilot() -> Emulator<ServerPilot> {
    Emulator::spawn(ServerPilot::new("cid_x", "key-x-123", "app1"), 0).unwrap()
}

#[test]
fn an_endless_loop_is_stopped_and_the_others_carry_on() {
    let case = Case::new("spin");
    let sp = serverpilot();
    with_serverpilot(&case, "spin", "cpu_ms = 300\ncall_timeout_secs = 60", &sp);
    let started = Instant::now();
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped by the CPU budget, not the wall clock"
    );
    assert_eq!(run.status, 1);
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "cpu_limit", "{h}");
    assert!(
        h["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 300 ms of CPU"),
        "{h}"
    );
    assert_eq!(run.integration("serverpilot")["ok"], true);
    assert_eq!(sp.lock().panel.app("app1").domains.len(), 2);
}

#[test]
fn unbounded_allocation_hits_the_memory_cap() {
    let case = Case::new("hog");
    let sp = serverpilot();
    with_serverpilot(&case, "hog", "memory_mb = 32", &sp);
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "memory_limit", "{h}");
    assert!(
        h["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 32 MiB"),
        "{h}"
    );
    assert_eq!(run.integration("serverpilot")["ok"], true);
}

#[test]
fn a_component_parked_in_a_host_call_is_stopped_by_the_outer_timeout() {
    let case = Case::new("stall");
    let sp = serverpilot();
    with_serverpilot(&case, "stall", "call_timeout_secs = 1", &sp);
    let started = Instant::now();
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "timeout", "{h}");
    assert_eq!(run.integration("serverpilot")["ok"], true);
}

#[test]
fn a_panic_is_reported_as_a_crash() {
    let case = Case::new("panic");
    let sp = serverpilot();
    with_serverpilot(&case, "panic", "", &sp);
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "trap", "{h}");
    assert!(
        h["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("hostile: the component crashed"),
        "{h}"
    );
    assert_eq!(run.integration("serverpilot")["ok"], true);
}

#[test]
fn an_oversized_response_is_cut_off_with_a_clear_error() {
    let case = Case::new("big");
    let rec = recorder();
    let body = vec![b'x'; 3 * 1024 * 1024];
    rec.inject(Fault::respond(
        Response {
            status: 200,
            headers: vec![],
            body,
        },
        1,
    ));
    hostile(
        &case,
        "big",
        &["https://allowed.test/huge".to_string()],
        &rec,
        &["allowed.test"],
        "[limits]\nmax_response_bytes = 1048576",
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "api", "{h}");
    assert!(h["error"]["message"].as_str().unwrap().contains("response body exceeded the host's limit (HTTP response body size exceeds limit: 1048576 bytes)"), "{h}");
}

#[test]
fn request_timeouts_asked_by_a_component_are_clamped() {
    let case = Case::new("slow");
    let rec = recorder();
    rec.inject(Fault {
        method: None,
        path_prefix: None,
        times: 1,
        kind: FaultKind::Delay(Duration::from_secs(20)),
    });
    hostile(
        &case,
        "slow",
        &["https://allowed.test/slow".to_string()],
        &rec,
        &["allowed.test"],
        "[limits]\nrequest_timeout_secs = 1",
        "",
    );
    let started = Instant::now();
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 600 s the component asked for was clamped to 1 s"
    );
    let notes = notes(&run);
    assert!(notes[0].contains("did not answer in time"), "{notes:?}");
}

#[test]
fn what_a_component_prints_goes_to_its_log() {
    let case = Case::new("print");
    let rec = recorder();
    hostile(&case, "print", &[], &rec, &[], "", "");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0);
    let log = run.integration("hostile")["log"].to_string();
    assert!(
        log.contains("(stdio) to stdout from the component"),
        "{log}"
    );
    assert!(
        log.contains("(stdio) to stderr from the component"),
        "{log}"
    );
    let file =
        std::fs::read_to_string(case.dir.join("state/logs/integration-hostile.log")).unwrap();
    assert!(file.contains("to stderr from the component"));
    assert!(
        !run.stdout
            .lines()
            .any(|l| l == "to stdout from the component"),
        "not on the host's stdout"
    );
}

#[test]
fn a_component_for_another_contract_version_is_refused_before_instantiation() {
    let case = Case::new("future");
    let sp = serverpilot();
    case.write_config(&format!(
        "[integrations.future]\nenabled = true\ncomponent = {:?}\n\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_x\", WU_SERVER_PILOT_API_KEY = \"key-x-123\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        fixture("future-contract"),
        sp.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    let f = run.integration("future");
    let message = f["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "built for contract multisite:domain-provider@0.3.0; this host runs 0.1.x and 0.2.x"
        ),
        "{message}"
    );
    assert_eq!(run.integration("serverpilot")["ok"], true);
}

#[test]
fn wildcards_reach_providers_that_support_them_only() {
    let case = Case::new("wildcard");
    let rec = recorder();
    hostile(&case, "echo", &[], &rec, &[], "", "");
    let run = case.run(&["--json", "add-domain", "*.Example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(notes(&run), vec!["got *.example.com www=false"]);

    let sp = serverpilot();
    with_serverpilot(&case, "echo", "", &sp);
    let run = case.run(&["add-domain", "*.example.com", "--site", "1"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("ServerPilot does not support wildcard domains"),
        "{}",
        run.stderr
    );
    assert!(sp.requests().is_empty());
}

/// Security review F1: a component's default-host template whose own text names
/// `http://127.0.0.1` (`{HOSTILE_HOST:http://127.0.0.1}:{HOSTILE_PORT}`, see
/// `tests/fixtures/hostile-template`). It used to expand to an IP literal, which switched
/// address vetting off, so the component reached a loopback listener. Now the component is
/// refused at load, and nothing connects.
#[test]
fn a_default_host_template_cannot_name_loopback_or_plain_http() {
    let case = Case::new("egress-template");
    let canary = Canary::start();
    case.write_config(&format!(
        "[retry]\nattempts = 1\n\
         [integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"egress\", HOSTILE_TARGETS = \"http://127.0.0.1:{port}/latest/meta-data/\", \
         HOSTILE_SECRET = \"{SECRET}\", HOSTILE_PORT = \"{port}\" }}\n",
        fixture("hostile-template"),
        port = canary.port,
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(canary.connections(), 0, "{}", run.all_output());
    assert_ne!(run.status, 0, "{}", run.all_output());
    assert!(
        run.all_output()
            .contains("a component may not declare an http:// host"),
        "{}",
        run.all_output()
    );
    assert!(!run.all_output().contains(SECRET));
}

/// The operator's value expanded into a component's template (cPanel's
/// `{WU_CPANEL_HOST}:{WU_CPANEL_PORT:2083}`) may be an address, but the entry stays
/// vetted: loopback is refused until the operator allows that network (`allow_private`),
/// as for a name. It used to connect unvetted.
#[test]
fn an_address_from_the_operators_constant_is_still_vetted() {
    let canary = Canary::start();
    let config = |case: &Case, extra: &str| {
        case.write_config(&format!(
            "[retry]\nattempts = 1\n[integrations.cpanel]\nenabled = true\n\
             constants = {{ WU_CPANEL_USERNAME = \"u\", WU_CPANEL_API_TOKEN = \"tok-0123456789abcdef\", \
             WU_CPANEL_HOST = \"127.0.0.1\", WU_CPANEL_PORT = \"{}\" }}\n{extra}\n",
            canary.port
        ))
    };
    let case = Case::new("egress-template-operator");
    config(&case, "");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(canary.connections(), 0, "{}", run.all_output());
    assert!(
        run.all_output().contains("loopback"),
        "refused as loopback: {}",
        run.all_output()
    );
    // Allowed explicitly, it connects (the canary is no TLS server: the call then fails).
    let case = Case::new("egress-template-operator-allowed");
    config(&case, "allow_private = [\"127.0.0.0/8\"]");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert!(canary.connections() > 0, "{}", run.all_output());
}
