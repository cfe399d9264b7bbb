//! Contract 0.2.0 beside 0.1.0, with the real host: secrets placed as placeholders in a
//! header, the query, a body and a streamed body; a placeholder for a secret the
//! integration does not hold; a session the host logs in for (and again after a 401); and
//! the 0.1.0 builds of ServerPilot, RunCloud and the hostile component
//! (`tests/fixtures/v0.1.0/`) still running unchanged.

mod support;

use panel_emulators::runcloud::RunCloud;
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::session::SessionPanel;
use panel_emulators::{Emulator, Recorder};
use std::path::PathBuf;
use support::{Case, fixture, strings};

const SECRET: &str = "s3cret&value/with\"quotes";

fn hostile(case: &Case, component: &str, mode: &str, target: &str, to: &str, extra: &str) {
    case.write_config(&format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"{mode}\", HOSTILE_TARGETS = \"{target}\", HOSTILE_SECRET = {SECRET:?} }}\n\
         routes = {{ \"allowed.test\" = \"{to}\" }}\n{extra}\n",
        fixture(component)
    ));
}

fn notes(run: &support::Run) -> Vec<String> {
    strings(&run.integration("hostile")["notes"])
}

#[test]
fn placeholders_are_replaced_in_header_query_and_body() {
    let case = Case::new("placeholders");
    let rec = Emulator::spawn(Recorder, 0).unwrap();
    hostile(
        &case,
        "hostile",
        "placeholders",
        "https://allowed.test/api",
        &rec.base_url(),
        // The query only where the operator allows it (see trust_e2e for the refusal).
        "secrets_in_query = true",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(notes(&run), vec!["placeholders: status 200"]);
    let received = rec.requests();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.header("x-api-key"), Some(SECRET));
    assert_eq!(r.query, "key=s3cret%26value%2Fwith%22quotes");
    assert_eq!(r.json().unwrap()["password"], SECRET);
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert!(!run.all_output().contains("s3cret"), "{}", run.all_output());
}

#[test]
fn a_placeholder_in_a_streamed_body_is_replaced_across_chunks() {
    let case = Case::new("placeholder-stream");
    let rec = Emulator::spawn(Recorder, 0).unwrap();
    hostile(
        &case,
        "hostile",
        "placeholder-stream",
        "https://allowed.test/form",
        &rec.base_url(),
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(notes(&run), vec!["streamed: status 200"]);
    let body = String::from_utf8(rec.requests()[0].body.clone()).unwrap();
    assert_eq!(
        body,
        "user=hostile&password=s3cret%26value%2Fwith%22quotes&end=1"
    );
}

#[test]
fn a_placeholder_for_a_secret_the_integration_does_not_hold_is_denied() {
    let case = Case::new("placeholder-forged");
    let rec = Emulator::spawn(Recorder, 0).unwrap();
    hostile(
        &case,
        "hostile",
        "placeholder-forged",
        "https://allowed.test/x",
        &rec.base_url(),
        "",
    );
    let run = case.run_with_env(
        &["--json", "add-domain", "example.com", "--site", "1"],
        &[("WU_SERVER_PILOT_API_KEY", "sp-key-in-the-environment")],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(notes(&run)[0].contains("Denied"), "{:?}", notes(&run));
    assert!(rec.requests().is_empty());
    let log = run.integration("hostile")["log"].to_string();
    assert!(
        log.contains("names WU_SERVER_PILOT_API_KEY, which this integration does not hold"),
        "{log}"
    );
}

#[test]
fn placeholders_never_go_to_a_plain_http_host() {
    let case = Case::new("placeholder-http");
    let rec = Emulator::spawn(Recorder, 0).unwrap();
    let port = rec.addr.port();
    case.write_config(&format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"placeholders\", HOSTILE_TARGETS = \"http://127.0.0.1:{port}/api\", HOSTILE_SECRET = {SECRET:?} }}\n\
         allowed_hosts = [\"http://127.0.0.1:{port}\"]\n",
        fixture("hostile")
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert!(rec.requests().is_empty(), "{}", run.all_output());
    assert!(
        run.integration("hostile")["log"]
            .to_string()
            .contains("secrets travel over HTTPS only")
    );
}

fn session_case(
    name: &str,
    panel: SessionPanel,
    targets: &[&str],
) -> (Case, Emulator<SessionPanel>) {
    let case = Case::new(name);
    let emu = Emulator::spawn(panel, 0).unwrap();
    let targets: Vec<String> = targets
        .iter()
        .map(|t| format!("https://allowed.test{t}"))
        .collect();
    hostile(
        &case,
        "hostile-session",
        "egress",
        &targets.join(","),
        &emu.base_url(),
        "",
    );
    (case, emu)
}

#[test]
fn the_host_logs_in_once_and_attaches_the_session_token() {
    let (case, emu) = session_case(
        "session",
        SessionPanel::new("hostile", SECRET),
        &["/a", "/b"],
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        notes(&run)[1..],
        [
            "https://allowed.test/a -> status 200",
            "https://allowed.test/b -> status 200"
        ]
    );
    let requests = emu.requests();
    assert_eq!(
        requests.iter().filter(|r| r.path == "/login").count(),
        1,
        "one login"
    );
    let login = &requests[0];
    assert_eq!(
        login.json().unwrap(),
        serde_json::json!({"username": "hostile", "password": SECRET})
    );
    for r in &requests[1..] {
        assert_eq!(r.header("authorization"), Some("Bearer session-token-1"));
    }
    let all = run.all_output();
    assert!(
        !all.contains("session-token-1") && !all.contains("s3cret"),
        "{all}"
    );
}

#[test]
fn a_refused_session_token_leads_to_a_new_login() {
    let mut panel = SessionPanel::new("hostile", SECRET);
    // The token expires early: after the first answer, the panel refuses it.
    panel.revoke_after = Some(1);
    let case = Case::new("session-revoked");
    let emu = Emulator::spawn(panel, 0).unwrap();
    hostile(
        &case,
        "hostile-session",
        "read-all",
        "https://allowed.test/a,https://allowed.test/b",
        &emu.base_url(),
        "",
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let h = run.integration("hostile");
    assert_eq!(h["attempts"], 2, "{h}");
    assert!(
        h["log"]
            .to_string()
            .contains("refused the session token; logging in again"),
        "{h}"
    );
    assert_eq!(emu.lock().panel.logins, 2);
    let last = emu.requests().into_iter().last().unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer session-token-2"));
}

#[test]
fn a_fresh_token_the_panel_refuses_is_not_a_login_storm() {
    // An endpoint the account has no scope for answers 401 to every token: logging in
    // again cannot help, and a component looping on it must not log in per request.
    let mut panel = SessionPanel::new("hostile", SECRET);
    panel.out_of_scope = Some("/admin".into());
    let (case, emu) = session_case("session-scope", panel, &["/admin/1"; 20]);
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        notes(&run)[1..]
            .iter()
            .filter(|n| n.ends_with("status 401"))
            .count(),
        20,
        "{:?}",
        notes(&run)
    );
    assert_eq!(emu.lock().panel.logins, 1, "one login for 20 refusals");
    let log = run.integration("hostile")["log"].to_string();
    assert!(
        log.contains("refused a session token it was just given; not logging in again"),
        "{log}"
    );
    assert!(!run.all_output().contains("session-token-1"));
}

#[test]
fn a_refused_login_is_a_clear_error() {
    let (case, emu) = session_case(
        "session-refused",
        SessionPanel::new("hostile", "another password"),
        &["/a"],
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(notes(&run)[1].contains("Denied"), "{:?}", notes(&run));
    let log = run.integration("hostile")["log"].to_string();
    assert!(
        log.contains("the session login was refused (HTTP 401): Invalid credentials"),
        "{log}"
    );
    assert_eq!(emu.requests().len(), 1, "nothing but the login was sent");
    assert!(!run.all_output().contains("s3cret"));
}

fn legacy(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../tests/fixtures/v0.1.0/{name}.wasm"));
    assert!(path.is_file(), "{}", path.display());
    path
}

#[test]
fn the_v0_1_0_builds_of_serverpilot_and_runcloud_still_run() {
    let case = Case::new("legacy");
    let sp = Emulator::spawn(ServerPilot::new("cid_old", "old-key-123", "oldapp"), 0).unwrap();
    let rc = Emulator::spawn(
        RunCloud::new("old-token", "k", "s", 1, 2, "network.example"),
        0,
    )
    .unwrap();
    case.write_config(&format!(
        "[integrations.serverpilot]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_old\", WU_SERVER_PILOT_API_KEY = \"old-key-123\", WU_SERVER_PILOT_APP_ID = \"oldapp\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n\
         [integrations.runcloud]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ WU_RUNCLOUD_API_TOKEN = \"old-token\", WU_RUNCLOUD_SERVER_ID = \"1\", WU_RUNCLOUD_APP_ID = \"2\" }}\n\
         routes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        legacy("serverpilot"),
        sp.base_url(),
        legacy("runcloud"),
        rc.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "3"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("serverpilot")["changed"], true);
    assert_eq!(run.integration("runcloud")["changed"], true);
    let mut names = sp.lock().panel.app("oldapp").domains.clone();
    names.sort();
    assert_eq!(names, vec!["shop.example.com", "www.shop.example.com"]);
    assert!(
        rc.lock()
            .panel
            .webapp(1, 2)
            .domains
            .iter()
            .any(|d| d.name == "shop.example.com")
    );
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "3"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(sp.lock().panel.app("oldapp").domains.is_empty());

    // The host knows a 0.1.0 component has none of 0.2.0's operations.
    let run = case.run(&["--json", "list-domains"]);
    assert_eq!(run.status, 1);
    for id in ["serverpilot", "runcloud"] {
        let r = run.integration(id);
        assert_eq!(r["error"]["kind"], "unsupported", "{r}");
    }
    let pinned = std::fs::read_to_string(case.dir.join("domain-host.lock")).unwrap();
    assert!(pinned.contains("contract = \"0.1.0\""), "{pinned}");
}

#[test]
fn the_v0_1_0_hostile_component_stays_in_its_sandbox() {
    let case = Case::new("legacy-hostile");
    let rec = Emulator::spawn(Recorder, 0).unwrap();
    case.write_config(&format!(
        "[retry]\nattempts = 1\n[integrations.hostile]\nenabled = true\ncomponent = {:?}\n\
         constants = {{ HOSTILE_MODE = \"egress\", HOSTILE_TARGETS = \"https://allowed.test/ok,https://evil.test/steal\", HOSTILE_SECRET = \"legacy-secret-1\" }}\n\
         routes = {{ \"allowed.test\" = \"{}\" }}\n",
        legacy("hostile"),
        rec.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = notes(&run);
    assert_eq!(notes[1], "https://allowed.test/ok -> status 200");
    assert!(notes[2].contains("Denied("), "{notes:?}");
    assert_eq!(rec.requests().len(), 1);
    assert_eq!(
        rec.requests()[0].header("authorization"),
        Some("Bearer legacy-secret-1")
    );
}
