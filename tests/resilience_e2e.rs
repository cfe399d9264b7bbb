//! A flaky panel and events racing each other never lose a domain: transient faults are
//! retried (and only those), rate limits are honoured, and events for one account are
//! serialised across processes.

mod support;

use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::{Emulator, Fault, FaultKind, Response};
use std::time::Duration;
use support::Case;

const APP: &str = "resilienceApp001";

fn emulator() -> Emulator<ServerPilot> {
    Emulator::spawn(ServerPilot::new("cid_r", "resilience-key-777", APP), 0).unwrap()
}

/// ServerPilot routed to `target`, with a fast retry policy so tests stay quick.
fn config(case: &Case, target: &str, retry: &str, limits: &str) {
    case.write_config(&format!(
        "www = \"always\"\n[retry]\n{retry}\n[limits]\n{limits}\n\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_r\", WU_SERVER_PILOT_API_KEY = \"resilience-key-777\", WU_SERVER_PILOT_APP_ID = \"{APP}\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{target}\" }}\n"
    ));
}

const FAST: &str = "attempts = 5\nbase_delay_ms = 50\nmax_delay_ms = 200\nbudget_secs = 20";

fn setup(name: &str) -> (Case, Emulator<ServerPilot>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu.base_url(), FAST, "");
    (case, emu)
}

fn domains(emu: &Emulator<ServerPilot>) -> Vec<String> {
    let mut d = emu.lock().panel.app(APP).domains.clone();
    d.sort();
    d
}

fn add(case: &Case) -> support::Run {
    case.run(&["--json", "add-domain", "example.com", "--site", "1"])
}

#[test]
fn two_503s_then_success() {
    let (case, emu) = setup("503");
    emu.inject(Fault::status(503, 2));
    let run = add(&case);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("serverpilot")["attempts"], 3);
    assert_eq!(domains(&emu), vec!["example.com", "www.example.com"]);
    let log = run.integration("serverpilot")["log"].to_string();
    assert!(log.contains("attempt 1 failed (HTTP 503"), "{log}");
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let (case, emu) = setup("429");
    let limited = Response::json(429, &serde_json::json!({"error": {"message": "Slow down"}}))
        .with_header("retry-after", "1");
    emu.inject(Fault::respond(limited, 1));
    let run = add(&case);
    assert_eq!(run.status, 0, "{}", run.all_output());
    // Measured between the panel's own timestamps of the refused request and the retry.
    let requests = emu.requests();
    let gap = requests[1].received - requests[0].received;
    assert!(
        gap >= Duration::from_secs(1),
        "Retry-After: 1 was honoured ({gap:?})"
    );
    assert_eq!(run.integration("serverpilot")["attempts"], 2);
    assert_eq!(domains(&emu).len(), 2);
}

#[test]
fn bad_gateway_and_gateway_timeout_are_retried() {
    let (case, emu) = setup("502-504");
    emu.inject(Fault::status(502, 1));
    emu.inject(Fault::status(504, 1));
    let run = add(&case);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("serverpilot")["attempts"], 3);
}

#[test]
fn a_permanent_500_gives_up_in_bounded_time_with_a_clear_error() {
    let case = Case::new("500");
    let emu = emulator();
    config(
        &case,
        &emu.base_url(),
        "attempts = 4\nbase_delay_ms = 100\nmax_delay_ms = 400\nbudget_secs = 10",
        "",
    );
    emu.inject(Fault::status(500, 1000));
    let run = add(&case);
    let requests = emu.requests();
    let elapsed = requests[requests.len() - 1].received - requests[0].received;
    assert_eq!(run.status, 1);
    assert!(
        elapsed < Duration::from_secs(5),
        "gave up after {elapsed:?}"
    );
    let sp = run.integration("serverpilot");
    assert_eq!(sp["attempts"], 4);
    assert_eq!(sp["error"]["kind"], "transient");
    assert_eq!(
        sp["error"]["message"],
        "serverpilot: HTTP 500: injected 500 (gave up after 4 attempts)"
    );
    assert_eq!(emu.requests().len(), 4, "one request per attempt");
}

#[test]
fn a_reset_connection_is_retried() {
    let (case, emu) = setup("reset");
    emu.inject(Fault {
        method: None,
        path_prefix: None,
        times: 1,
        kind: FaultKind::Drop,
    });
    let run = add(&case);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("serverpilot")["attempts"], 2);
    assert_eq!(domains(&emu).len(), 2);
}

#[test]
fn a_timeout_is_retried() {
    let case = Case::new("timeout");
    let emu = emulator();
    config(&case, &emu.base_url(), FAST, "request_timeout_secs = 1");
    emu.inject(Fault {
        method: None,
        path_prefix: None,
        times: 1,
        kind: FaultKind::Delay(Duration::from_secs(3)),
    });
    let run = add(&case);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("serverpilot")["attempts"], 2);
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let case = Case::new("refused");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    config(
        &case,
        &format!("http://127.0.0.1:{port}"),
        "attempts = 3\nbase_delay_ms = 20\nmax_delay_ms = 50\nbudget_secs = 10",
        "",
    );
    let run = add(&case);
    assert_eq!(run.status, 1);
    let sp = run.integration("serverpilot");
    assert_eq!(sp["attempts"], 3);
    assert_eq!(sp["error"]["kind"], "transient");
    assert!(
        sp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{sp}"
    );
}

#[test]
fn client_errors_other_than_429_are_not_retried() {
    for status in [400u16, 403, 404, 409, 422] {
        let (case, emu) = setup(&format!("no-retry-{status}"));
        emu.inject(Fault::status(status, 1));
        let run = add(&case);
        assert_eq!(run.status, 1, "{status}");
        assert_eq!(run.integration("serverpilot")["attempts"], 1, "{status}");
        assert_eq!(emu.requests().len(), 1, "{status}");
    }
}

#[test]
fn malformed_or_incomplete_json_is_a_clear_error() {
    for (name, body, expected) in [
        (
            "truncated",
            &b"{\"data\": {\"domains\": ["[..],
            "response is not JSON",
        ),
        (
            "missing-field",
            &b"{\"nodata\": 1}"[..],
            "unexpected JSON shape: missing field `data`",
        ),
    ] {
        let (case, emu) = setup(name);
        emu.inject(Fault::respond(
            Response {
                status: 200,
                headers: vec![],
                body: body.to_vec(),
            },
            1,
        ));
        let run = add(&case);
        assert_eq!(run.status, 1, "{name}");
        let sp = run.integration("serverpilot");
        assert_eq!(sp["error"]["kind"], "api", "{name}: {sp}");
        assert!(
            sp["error"]["message"].as_str().unwrap().contains(expected),
            "{name}: {sp}"
        );
    }
}

#[test]
fn twenty_processes_at_once_keep_all_forty_names() {
    let (case, emu) = setup("concurrent");
    // Widen the read-modify-write window, so unserialised events would surely collide.
    emu.inject(Fault {
        method: Some("GET".into()),
        path_prefix: None,
        times: 1000,
        kind: FaultKind::Delay(Duration::from_millis(15)),
    });
    let children: Vec<_> = (0..20)
        .map(|i| {
            support::host_command()
                .arg("--config")
                .arg(case.config_path())
                .args([
                    "add-domain",
                    &format!("site{i:02}.example.com"),
                    "--site",
                    &i.to_string(),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn domain-host")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    let mut expected: Vec<String> = (0..20)
        .flat_map(|i| {
            [
                format!("site{i:02}.example.com"),
                format!("www.site{i:02}.example.com"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(domains(&emu), expected);
}
