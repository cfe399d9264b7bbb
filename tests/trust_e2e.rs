//! The trust boundary: a component gets nothing the operator did not give it. Each test
//! tries the attack with the real host and a hostile component (`tests/fixtures/hostile`
//! and its variants): reading other integrations' values, catching their credentials,
//! widening itself in an update, flooding, odd methods and authorities, streaming to a
//! denied host, hiding a denial in chatter, internal addresses, broken routes, tampered
//! cache artifacts and shared temporary directories.

mod support;

use panel_emulators::runcloud::RunCloud;
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::{EchoAuth, EchoMode, Emulator, Fault, FaultKind, Recorder, Reflect};
use std::time::Duration;
use support::{Canary, Case, fixture, strings};

const SECRET: &str = "hostile-held-secret-42424242";
const SP_KEY: &str = "sp-env-api-key-31337";
const RC_TOKEN: &str = "rc-env-token-27182818";
const AWS: &str = "aws-unrelated-secret-1414";

/// The hostile component's table: `mode`, `targets`, its own secret, routes for `routes`.
fn hostile_table(
    component: &str,
    mode: &str,
    targets: &[String],
    routes: &[(&str, String)],
) -> String {
    let routes: Vec<String> = routes
        .iter()
        .map(|(h, to)| format!("{h:?} = {to:?}"))
        .collect();
    format!(
        "[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"{mode}\", HOSTILE_TARGETS = \"{}\", HOSTILE_SECRET = \"{SECRET}\" }}\n\
         routes = {{ {} }}\n",
        fixture(component),
        targets.join(","),
        routes.join(", ")
    )
}

fn recorder() -> Emulator<Recorder> {
    Emulator::spawn(Recorder, 0).unwrap()
}

fn notes(run: &support::Run) -> Vec<String> {
    strings(&run.integration("hostile")["notes"])
}

fn log_text(run: &support::Run) -> String {
    run.integration("hostile")["log"].to_string()
}

/// The environment as the README advised before: every panel's keys exported.
fn exported_keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("WU_SERVER_PILOT_API_KEY", SP_KEY),
        ("WU_SERVER_PILOT_APP_ID", "app1"),
        ("WU_RUNCLOUD_API_TOKEN", RC_TOKEN),
        ("AWS_SECRET_ACCESS_KEY", AWS),
    ]
}

/// ServerPilot and RunCloud configured the documented way (secrets named in `env`),
/// beside the hostile component.
fn panels_beside_hostile(
    case: &Case,
    hostile: &str,
    sp: &Emulator<ServerPilot>,
    rc: &Emulator<RunCloud>,
) {
    case.write_config(&format!(
        "[retry]\nattempts = 1\n{hostile}\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_x\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         env = [\"WU_SERVER_PILOT_API_KEY\"]\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n\
         [integrations.runcloud]\nenabled = true\n\
         constants = {{ WU_RUNCLOUD_SERVER_ID = \"1\", WU_RUNCLOUD_APP_ID = \"2\" }}\n\
         env = [\"WU_RUNCLOUD_API_TOKEN\"]\n\
         routes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        sp.base_url(),
        rc.base_url()
    ));
}

#[test]
fn a_component_gets_none_of_the_values_it_was_not_given() {
    let case = Case::new("foreign");
    let sp = Emulator::spawn(ServerPilot::new("cid_x", SP_KEY, "app1"), 0).unwrap();
    let rc = Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", 1, 2, "network.example"),
        0,
    )
    .unwrap();
    panels_beside_hostile(
        &case,
        &hostile_table("hostile", "snoop", &[], &[]),
        &sp,
        &rc,
    );
    let run = case.run_with_env(
        &["--json", "add-domain", "example.com", "--site", "1"],
        &exported_keys(),
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        notes(&run)[..5],
        [
            "get HOSTILE_SECRET = None; is_set = true",
            "get WU_SERVER_PILOT_API_KEY = None; is_set = false",
            "get WU_SERVER_PILOT_APP_ID = None; is_set = false",
            "get WU_RUNCLOUD_API_TOKEN = None; is_set = false",
            "get AWS_SECRET_ACCESS_KEY = None; is_set = false",
        ]
    );
    assert_eq!(
        notes(&run)[5..],
        [
            "env vars = 0",
            "args = 0",
            "read_dir / = false",
            "read /etc/passwd = false",
            "tcp connect = false"
        ]
    );
    // The panels got their values from the environment variables their tables name.
    assert_eq!(run.integration("serverpilot")["ok"], true, "{}", run.stdout);
    assert_eq!(run.integration("runcloud")["ok"], true, "{}", run.stdout);
    assert!(
        sp.lock()
            .panel
            .app("app1")
            .domains
            .contains(&"example.com".to_string())
    );
}

#[test]
fn no_other_integrations_credential_is_attached_to_a_components_requests() {
    let case = Case::new("foreign-auth");
    let sp = Emulator::spawn(ServerPilot::new("cid_x", SP_KEY, "app1"), 0).unwrap();
    let rc = Emulator::spawn(
        RunCloud::new(RC_TOKEN, "k", "s", 1, 2, "network.example"),
        0,
    )
    .unwrap();
    let rec = recorder();
    let table = hostile_table(
        "hostile",
        "egress",
        &["https://allowed.test/collect".into()],
        &[("allowed.test", rec.base_url())],
    );
    panels_beside_hostile(&case, &table, &sp, &rc);
    let run = case.run_with_env(
        &["--json", "add-domain", "example.com", "--site", "1"],
        &exported_keys(),
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    let received = rec.requests();
    assert_eq!(received.len(), 1);
    // Its first auth scheme names RunCloud's token; it was never given that value, so the
    // host fell back to the component's own secret.
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    for r in &received {
        let all = format!("{:?}", r.headers);
        assert!(!all.contains(RC_TOKEN) && !all.contains(SP_KEY), "{all}");
    }
}

/// ServerPilot against a panel that echoes the credential back.
fn echo_case(name: &str, mode: EchoMode) -> (Case, Emulator<EchoAuth>) {
    let case = Case::new(name);
    let echo = Emulator::spawn(
        EchoAuth {
            mode,
            extra: String::new(),
        },
        0,
    )
    .unwrap();
    case.write_config(&format!(
        "[retry]\nattempts = 1\n[integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_x\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         env = [\"WU_SERVER_PILOT_API_KEY\"]\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        echo.base_url()
    ));
    (case, echo)
}

/// Every text the host produced in `run` and in its log file.
fn everything(case: &Case, run: &support::Run) -> String {
    let file = std::fs::read_to_string(case.dir.join("state/logs/integration-serverpilot.log"))
        .unwrap_or_default();
    format!("{}\n{}\n{file}", run.stdout, run.stderr)
}

#[test]
fn a_credential_echoed_by_the_panel_is_redacted_everywhere() {
    let basic = panel_emulators::server::basic_header("cid_x", SP_KEY);
    let token = basic.trim_start_matches("Basic ").to_string();
    for (name, mode) in [
        ("echo-json", EchoMode::Json401),
        ("echo-html", EchoMode::Html401),
    ] {
        let (case, echo) = echo_case(name, mode);
        let env = [("WU_SERVER_PILOT_API_KEY", SP_KEY)];
        for args in [
            &[
                "--json",
                "--log-level",
                "trace",
                "add-domain",
                "example.com",
                "--site",
                "1",
            ][..],
            &[
                "--log-level",
                "trace",
                "add-domain",
                "example.com",
                "--site",
                "1",
            ][..],
            &["--json", "test"][..],
        ] {
            let run = case.run_with_env(args, &env);
            assert_eq!(run.status, 1, "{}", run.all_output());
            let all = everything(&case, &run);
            assert!(
                all.contains("[redacted]"),
                "{name}: the echo was seen: {all}"
            );
            assert!(!all.contains(SP_KEY), "{name}: {all}");
            assert!(!all.contains(&token), "{name}: {all}");
        }
        // The panel really did echo the header: the test would catch a leak.
        assert!(
            echo.requests()[0]
                .header("authorization")
                .unwrap()
                .contains(&token)
        );
    }
}

#[test]
fn redaction_knows_the_secrets_of_every_integration() {
    let case = Case::new("echo-cross");
    let echo = Emulator::spawn(
        EchoAuth {
            mode: EchoMode::Text,
            extra: SP_KEY.into(),
        },
        0,
    )
    .unwrap();
    let sp = Emulator::spawn(ServerPilot::new("cid_x", SP_KEY, "app1"), 0).unwrap();
    case.write_config(&format!(
        "[retry]\nattempts = 1\n{}\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_x\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         env = [\"WU_SERVER_PILOT_API_KEY\"]\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        hostile_table("hostile", "read", &["https://allowed.test/echo".into()], &[("allowed.test", echo.base_url())]),
        sp.base_url()
    ));
    let run = case.run_with_env(
        &["--json", "add-domain", "example.com", "--site", "1"],
        &[("WU_SERVER_PILOT_API_KEY", SP_KEY)],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    // The hostile component's panel answered with ServerPilot's key and its own token.
    assert_eq!(notes(&run), vec!["read: auth=[redacted] extra=[redacted]"]);
    assert!(!run.all_output().contains(SP_KEY));
}

#[test]
fn an_update_that_widens_the_component_is_refused_until_approved() {
    let case = Case::new("approve");
    let rec = recorder();
    let component = case.dir.join("hostile.wasm");
    std::fs::copy(fixture("hostile"), &component).unwrap();
    let config = format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {component:?}\n\
         constants = {{ HOSTILE_MODE = \"echo\" }}\nroutes = {{ \"allowed.test\" = \"{}\" }}\n",
        rec.base_url()
    );
    case.write_config(&config);
    // First use pins what the component asks for, and shows all of it.
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    for line in [
        "approved and pinned in",
        "first approval of",
        "contract 0.2.0",
        "host allowed.test",
        "secret constant HOSTILE_SECRET",
        "auth authorization: Bearer HOSTILE_SECRET",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    let lock = case.dir.join("domain-host.lock");
    let pinned = std::fs::read_to_string(&lock).unwrap();
    assert!(
        pinned.contains("allowed.test") && !pinned.contains("collector.test"),
        "{pinned}"
    );

    // The update asks for another host and another constant.
    std::fs::copy(fixture("hostile-widened"), &component).unwrap();
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "not_approved", "{h}");
    let message = h["error"]["message"].as_str().unwrap();
    assert!(message.contains("+ host collector.test"), "{message}");
    assert!(
        message.contains("+ readable constant HOSTILE_EXTRA"),
        "{message}"
    );
    assert!(message.contains("domain-host approve hostile"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        pinned,
        "a refusal writes nothing"
    );
    // `list` shows what it wants, without approving it.
    let list = case.run(&["list"]);
    assert!(
        list.stdout.contains("approval: + host collector.test"),
        "{}",
        list.stdout
    );

    let approve = case.run(&["approve", "hostile"]);
    assert_eq!(approve.status, 0, "{}", approve.all_output());
    assert!(
        approve.stdout.contains("hostile: approved"),
        "{}",
        approve.stdout
    );
    assert!(
        approve.stdout.contains("+ host collector.test"),
        "{}",
        approve.stdout
    );
    assert!(
        std::fs::read_to_string(&lock)
            .unwrap()
            .contains("collector.test")
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(notes(&run), vec!["got example.com www=true"]);
}

/// On a server root runs `approve` (the service may not write the lock file beside the
/// config) while the state directory is the service user's. Approving reads components and
/// writes the lock file only: it must not refuse over a database it does not open, which
/// the other commands still refuse to use there.
#[test]
fn approve_pins_beside_a_state_directory_that_is_not_this_users() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::new("approve-foreign-state");
    let rec = recorder();
    let config = format!(
        "[service]\ntoken_env = \"DH_TEST_TOKEN\"\n[integrations.hostile]\nenabled = true\n\
         component = {:?}\nconstants = {{ HOSTILE_MODE = \"echo\" }}\n\
         routes = {{ \"allowed.test\" = \"{}\" }}\n",
        fixture("hostile"),
        rec.base_url()
    );
    case.write_config(&config);
    // Group-writable: not private to this user, as the service user's 0700 directory is
    // not private to root.
    let state = case.dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o770)).unwrap();
    let env = [("DH_TEST_TOKEN", "approve-test-token-0123456789")];

    let approve = case.run_with_env(&["approve"], &env);
    assert_eq!(approve.status, 0, "{}", approve.all_output());
    assert!(
        approve.stdout.contains("hostile: approved"),
        "{}",
        approve.stdout
    );
    assert!(case.dir.join("domain-host.lock").is_file());
    assert_eq!(
        std::fs::read_dir(&state).unwrap().count(),
        0,
        "approve wrote into the state directory"
    );

    let test = case.run_with_env(&["test", "hostile"], &env);
    assert_ne!(test.status, 0, "{}", test.all_output());
    assert!(test.stderr.contains("refusing to use"), "{}", test.stderr);
}

#[test]
fn a_credential_in_a_framing_header_is_refused_at_load() {
    let case = Case::new("bad-header");
    let sp = Emulator::spawn(ServerPilot::new("cid_x", "key-x-123", "app1"), 0).unwrap();
    case.write_config(&format!(
        "{}[integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_x\", WU_SERVER_PILOT_API_KEY = \"key-x-123\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        hostile_table("hostile-bad-header", "echo", &[], &[]),
        sp.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    let message = run.integration("hostile")["error"]["message"].to_string();
    assert!(
        message.contains("auth header name \\\"Transfer-Encoding\\\" is refused"),
        "{message}"
    );
    assert_eq!(run.integration("serverpilot")["ok"], true);
}

/// The hostile component alone, its requests routed to `rec`.
fn alone(
    case: &Case,
    mode: &str,
    targets: &[String],
    rec: &Emulator<Recorder>,
    top: &str,
    extra: &str,
) {
    case.write_config(&format!(
        "{top}\n[retry]\nattempts = 1\n{}{extra}\n",
        hostile_table(
            "hostile",
            mode,
            targets,
            &[("allowed.test", rec.base_url())]
        )
    ));
}

#[test]
fn a_flood_of_requests_stops_at_the_calls_limit() {
    let case = Case::new("flood");
    let rec = recorder();
    alone(
        &case,
        "flood",
        &["https://allowed.test/flood".into()],
        &rec,
        "[limits]\nmax_requests_per_call = 100",
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(notes(&run), vec!["flood: 100 sent, 2900 denied"]);
    assert_eq!(rec.requests().len(), 100);
    let log = log_text(&run);
    assert!(
        log.contains("over the limit of 100 requests per call"),
        "{log}"
    );
    assert!(
        log.contains("denied 2899 more request(s) over the call's request limits"),
        "{log}"
    );
}

#[test]
fn requests_beyond_the_in_flight_limit_are_denied() {
    let case = Case::new("burst");
    let rec = recorder();
    rec.inject(Fault {
        method: None,
        path_prefix: None,
        times: 100,
        kind: FaultKind::Delay(Duration::from_millis(500)),
    });
    alone(
        &case,
        "burst",
        &["https://allowed.test/burst".into()],
        &rec,
        "[limits]\nmax_requests_in_flight = 4",
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(notes(&run), vec!["burst: 4 answered, 46 denied"]);
    assert_eq!(rec.requests().len(), 4);
    assert!(log_text(&run).contains("over the limit of 4 requests in flight"));
}

#[test]
fn trace_and_user_info_never_leave() {
    for (mode, expected_log) in [
        (
            "trace",
            "denied TRACE https://allowed.test/x: method TRACE is not allowed",
        ),
        ("userinfo", "user info in the URL is not allowed"),
    ] {
        let case = Case::new(mode);
        let rec = recorder();
        alone(
            &case,
            mode,
            &["https://allowed.test/x".into()],
            &rec,
            "",
            "",
        );
        let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert!(rec.requests().is_empty(), "{mode} reached the panel");
        let notes = notes(&run);
        assert!(!notes[0].starts_with("status"), "{mode}: {notes:?}");
        assert!(
            log_text(&run).contains(expected_log),
            "{mode}: {}",
            log_text(&run)
        );
    }
}

#[test]
fn a_body_streamed_to_a_denied_host_is_not_buffered() {
    let case = Case::new("stream");
    let rec = recorder();
    alone(
        &case,
        "stream",
        &["https://denied.test/upload".into()],
        &rec,
        "",
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let note = &notes(&run)[0];
    let streamed: usize = note
        .strip_prefix("streamed ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    // 64 MiB were offered; the host dropped the body unread at once.
    assert!(
        streamed <= 1 << 20,
        "the host took {streamed} bytes: {note}"
    );
    assert!(note.ends_with("HttpRequestDenied"), "{note}");
    assert!(log_text(&run).contains("denied POST https://denied.test/upload"));
}

#[test]
fn a_denial_after_a_thousand_log_lines_is_still_logged() {
    let case = Case::new("chatty");
    let rec = recorder();
    alone(
        &case,
        "chatty",
        &["https://denied.test/after".into()],
        &rec,
        "",
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let lines = run.integration("hostile")["log"]
        .as_array()
        .unwrap()
        .clone();
    let component = lines.iter().filter(|l| l["origin"] == "component").count();
    assert_eq!(component, 200, "component lines are capped per event");
    let host: Vec<String> = lines
        .iter()
        .filter(|l| l["origin"] == "host")
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        host.iter()
            .any(|m| m.starts_with("denied GET https://denied.test/after")),
        "{host:?}"
    );
    assert!(
        host.contains(&"800 more component log line(s) dropped (limit 200 per event)".to_string()),
        "{host:?}"
    );
    let file =
        std::fs::read_to_string(case.dir.join("state/logs/integration-hostile.log")).unwrap();
    assert!(file.contains("denied GET https://denied.test/after"));
    assert!(
        file.lines().all(|l| l.starts_with('[')),
        "one line per write"
    );
}

#[test]
fn component_text_cannot_forge_a_host_line() {
    let case = Case::new("forge");
    let rec = recorder();
    alone(&case, "forge", &[], &rec, "", "");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    let file =
        std::fs::read_to_string(case.dir.join("state/logs/integration-hostile.log")).unwrap();
    let forged: Vec<&str> = file
        .lines()
        .filter(|l| l.contains("forged.example"))
        .collect();
    assert_eq!(forged.len(), 1, "{file}");
    assert!(
        forged[0].contains("(component) fine\\n[1700000000]"),
        "{file}"
    );
    let lines = run.integration("hostile")["log"]
        .as_array()
        .unwrap()
        .clone();
    assert!(lines.iter().all(|l| l["origin"] == "component"));
}

#[test]
fn names_resolving_to_internal_addresses_are_refused_unless_allowed() {
    let rec = recorder();
    let port = rec.addr.port();
    let target = format!("http://localhost:{port}/internal");
    let entry = format!("http://localhost:{port}");
    let run_with = |name: &str, extra: &str| {
        let case = Case::new(name);
        case.write_config(&format!(
            "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
             constants = {{ HOSTILE_MODE = \"egress\", HOSTILE_TARGETS = \"{target}\", HOSTILE_SECRET = \"{SECRET}\" }}\n\
             allowed_hosts = [{entry:?}]\n{extra}\n",
            fixture("hostile")
        ));
        let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        (notes(&run), log_text(&run))
    };
    let (notes, log) = run_with("loopback", "");
    assert!(notes[1].contains("Denied("), "{notes:?}");
    assert!(log.contains("resolves to 127.0.0.1 (loopback)"), "{log}");
    assert!(rec.requests().is_empty());

    let (notes, _) = run_with(
        "loopback-allowed",
        "allow_private = [\"127.0.0.0/8\", \"::1\"]",
    );
    assert_eq!(notes[1], format!("{target} -> status 200"));
    let received = rec.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].header("authorization"),
        None,
        "credentials travel over HTTPS only"
    );
}

#[test]
fn an_ip_literal_in_allowed_hosts_is_an_explicit_allowance() {
    let canary = Canary::start();
    let case = Case::new("ip-literal");
    let target = format!("http://127.0.0.1:{}/x", canary.port);
    case.write_config(&format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"egress\", HOSTILE_TARGETS = \"{target}\" }}\n\
         allowed_hosts = [\"http://127.0.0.1:{}\"]\n",
        fixture("hostile"),
        canary.port
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        canary.connections(),
        1,
        "the operator's own address was reached"
    );
}

#[test]
fn broken_routes_are_refused_at_load() {
    let rec = recorder();
    let case = Case::new("routes");
    // A target that does not parse: the config itself is refused.
    case.write_config(&format!(
        "[integrations.hostile]\nenabled = true\ncomponent = {:?}\nroutes = {{ \"allowed.test\" = \"127.0.0.1:1\" }}\n",
        fixture("hostile")
    ));
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("integrations.hostile.routes"),
        "{}",
        run.stderr
    );
    // A key that matches no allowed host: the integration is refused, nothing is sent.
    case.write_config(&format!(
        "[integrations.hostile]\nenabled = true\ncomponent = {:?}\nconstants = {{ HOSTILE_MODE = \"egress\", HOSTILE_TARGETS = \"https://allowed.test/x\" }}\n\
         routes = {{ \"allowed.tset\" = \"{}\" }}\n",
        fixture("hostile"),
        rec.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    let message = run.integration("hostile")["error"]["message"].to_string();
    assert!(
        message.contains("route key \\\"allowed.tset\\\" matches no allowed host"),
        "{message}"
    );
    assert!(rec.requests().is_empty());
}

#[test]
fn a_tampered_or_foreign_cache_artifact_is_refused_and_recompiled() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::new("cache");
    case.write_config_with_cache(&format!(
        "[integrations.hostile]\nenabled = true\ncomponent = {:?}\n",
        fixture("hostile")
    ));
    let cache_of = |run: &support::Run| run.integration("hostile")["component"]["cache"].clone();
    let run = case.run(&["--json", "test"]);
    assert_eq!(cache_of(&run), "compiled", "{}", run.all_output());
    assert_eq!(cache_of(&case.run(&["--json", "test"])), "hit");
    let artifact = case.cached_artifacts().pop().unwrap();

    // One flipped byte in the compiled code.
    let mut bytes = std::fs::read(&artifact).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&artifact, &bytes).unwrap();
    let run = case.run(&["--json", "test"]);
    assert_eq!(cache_of(&run), "compiled");
    assert!(
        run.stderr.contains("failed authentication"),
        "{}",
        run.stderr
    );
    assert_eq!(
        cache_of(&case.run(&["--json", "test"])),
        "hit",
        "replaced with a good copy"
    );

    // Writable by others: someone else could have put it there.
    std::fs::set_permissions(&artifact, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = case.run(&["--json", "test"]);
    assert_eq!(cache_of(&run), "compiled");
    assert!(
        run.stderr.contains("writable by group or others"),
        "{}",
        run.stderr
    );

    // Owned by another user (needs root to arrange; CI runs as root).
    if support::is_root() {
        std::os::unix::fs::chown(&artifact, Some(65534), Some(65534)).unwrap();
        let run = case.run(&["--json", "test"]);
        assert_eq!(cache_of(&run), "compiled");
        assert!(run.stderr.contains("owned by uid 65534"), "{}", run.stderr);
    }
}

#[test]
fn without_home_or_xdg_nothing_falls_back_to_a_shared_temporary_directory() {
    let case = Case::new("no-home");
    let tmp = case.dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        case.config_path(),
        format!(
            "components = {:?}\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n",
            support::components_dir(),
            fixture("hostile")
        ),
    )
    .unwrap();
    let output = support::host_command()
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TMPDIR", &tmp)
        .arg("--config")
        .arg(case.config_path())
        .args(["add-domain", "example.com", "--site", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("neither XDG_STATE_HOME nor HOME is set"),
        "{stderr}"
    );
    assert!(stderr.contains("set `state_dir`"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing written to TMPDIR"
    );
}

/// A secret with characters every encoding changes, so each form differs from the others.
const WEIRD: &str = "hs/\"Q&+ 0123456789abcdef~x";

/// The hostile component with [`WEIRD`] as its secret, its requests routed to `to`.
fn weird_table(mode: &str, target: &str, to: &str, extra: &str) -> String {
    format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"{mode}\", HOSTILE_TARGETS = \"{target}\", HOSTILE_SECRET = {WEIRD:?} }}\n\
         routes = {{ \"allowed.test\" = \"{to}\" }}\n{extra}\n",
        fixture("hostile")
    )
}

/// `secret` in the forms a component could carry it out in, after reading it raw or in a
/// panel's encoding: none may appear anywhere the host writes.
fn leaked_forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_string();
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut out = vec![];
    for form in [secret.to_string(), json] {
        out.push(hex(&form));
        out.push(form.chars().rev().collect());
        out.push(form.chars().map(|c| format!("{c} ")).collect());
        out.push(form);
    }
    out.push(
        secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect(),
    );
    out
}

fn assert_no_leak(run: &support::Run, what: &str) {
    let all = run.all_output();
    for form in leaked_forms(WEIRD) {
        assert!(!all.contains(&form), "{what}: {form:?} leaked: {all}");
    }
}

#[test]
fn a_component_never_reads_its_secret_back_from_a_reflecting_panel() {
    let case = Case::new("reflect");
    let panel = Emulator::spawn(Reflect, 0).unwrap();
    case.write_config(&weird_table(
        "reflect",
        "https://allowed.test/echo",
        &panel.base_url(),
        "",
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    // The attack is real: the panel got the secret (placeholder and credential) and sent
    // it back raw, JSON-, HTML-, percent-, hex- and base64-encoded.
    let received = panel.requests();
    assert_eq!(received[0].header("x-api-key"), Some(WEIRD));
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {WEIRD}").as_str())
    );
    let notes = notes(&run);
    let raw = notes.iter().find(|n| n.starts_with("raw=")).unwrap();
    for line in [
        "x-echo-api-key: [redacted]",
        // The credential header's whole value is a secret of its own.
        "raw [redacted]|[redacted]|{\"password\":\"[redacted]\"}",
        "php \"[redacted]|[redacted]|{\\\"password\\\":\\\"[redacted]\\\"}\"",
        "percent [redacted]%7c[redacted]%7c",
        "hex [redacted]7C[redacted]7C",
    ] {
        assert!(raw.contains(line), "{line}: {raw}");
    }
    assert_no_leak(&run, "reflected");
}

#[test]
fn placeholders_stay_out_of_the_url_unless_the_operator_allows_the_query() {
    let panel = Emulator::spawn(Reflect, 0).unwrap();
    let target = "https://allowed.test";
    // In the path: refused whatever the operator says; in the query: refused by default.
    for (mode, extra, why) in [
        (
            "reflect-path",
            "secrets_in_query = true",
            "placeholder in the URL path is not allowed",
        ),
        ("reflect-query", "", "secrets_in_query = true"),
    ] {
        let case = Case::new(mode);
        case.write_config(&weird_table(mode, target, &panel.base_url(), extra));
        let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert!(notes(&run)[0].contains("Denied("), "{:?}", notes(&run));
        assert!(log_text(&run).contains(why), "{mode}: {}", log_text(&run));
        assert!(panel.requests().is_empty(), "{mode}: nothing sent");
        assert_no_leak(&run, mode);
    }
    // Allowed in the query (Closte's API wants it there): the redirect that repeats the
    // URL reaches the component redacted.
    let case = Case::new("reflect-query-allowed");
    case.write_config(&weird_table(
        "reflect-query",
        target,
        &panel.base_url(),
        "secrets_in_query = true",
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(panel.requests().len(), 1);
    assert!(
        panel.requests()[0]
            .query
            .starts_with("k=hs%2F%22Q%26%2B%200123"),
        "{}",
        panel.requests()[0].query
    );
    let raw = notes(&run)[0].clone();
    assert!(
        raw.contains("status 301")
            && raw.contains("location: https://elsewhere.example/redirect?k=[redacted]"),
        "{raw}"
    );
    assert_no_leak(&run, "query");
}

#[test]
fn plain_http_routes_off_this_machine_are_refused_at_load() {
    let case = Case::new("http-route");
    case.write_config(&format!(
        "[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         routes = {{ \"allowed.test\" = \"http://192.0.2.10:8080\" }}\n",
        fixture("hostile")
    ));
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("integrations.hostile.routes")
            && run.stderr.contains("credentials would travel in clear"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_contract_upgrade_needs_approval() {
    let case = Case::new("contract-upgrade");
    let rec = recorder();
    let component = case.dir.join("hostile.wasm");
    // The 0.1.0 build of the hostile component, as an operator approved it.
    let legacy = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/v0.1.0/hostile.wasm");
    std::fs::copy(&legacy, &component).unwrap();
    case.write_config(&format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {component:?}\n\
         constants = {{ HOSTILE_MODE = \"echo\" }}\nroutes = {{ \"allowed.test\" = \"{}\" }}\n",
        rec.base_url()
    ));
    let approve = case.run(&["approve", "hostile"]);
    assert_eq!(approve.status, 0, "{}", approve.all_output());
    // The same component rebuilt for 0.2.0 (which can place its secrets in requests).
    std::fs::copy(fixture("hostile"), &component).unwrap();
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let h = run.integration("hostile");
    assert_eq!(h["error"]["kind"], "not_approved", "{h}");
    assert!(
        h["error"]["message"]
            .as_str()
            .unwrap()
            .contains("+ contract 0.1.0 -> 0.2.0"),
        "{h}"
    );
}

#[test]
fn serve_runs_no_integration_nobody_approved() {
    use std::io::BufRead;
    let case = Case::new("serve-unpinned");
    case.write_config(&format!(
        "[service]\ntoken_env = \"DH_F10_TOKEN\"\n\
         [integrations.hostile]\nenabled = true\ncomponent = {:?}\n",
        fixture("hostile")
    ));
    let stderr = case.dir.join("serve.log");
    let mut child = support::host_command()
        .arg("--config")
        .arg(case.config_path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DH_F10_TOKEN", "f10-token-0123456789abcdef-0123456789")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(line.starts_with("listening on"), "{line}{log}");
    assert!(
        log.contains("integration hostile is not loaded")
            && log.contains("has not been approved yet")
            && log.contains("domain-host approve hostile"),
        "{log}"
    );
    assert!(
        !case.dir.join("domain-host.lock").exists(),
        "serve pinned nothing"
    );
}
