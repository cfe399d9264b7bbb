//! ServerPilot end to end: the real `domain-host`, the real component, the emulator on
//! loopback. Each test names the behaviour it proves.

mod support;

use panel_emulators::serverpilot::{ServerPilot, Ssl};
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const CLIENT_ID: &str = "cid_e2eClient";
const API_KEY: &str = "sp-secret-api-key-1234567890";
const APP_ID: &str = "nlcN0TwdZAyNEgdp";

fn emulator() -> Emulator<ServerPilot> {
    Emulator::spawn(ServerPilot::new(CLIENT_ID, API_KEY, APP_ID), 0).expect("emulator")
}

/// A config with ServerPilot enabled and routed to the emulator; `extra` adds keys to its
/// table, `top` adds top-level keys.
fn config(case: &Case, emu: &Emulator<ServerPilot>, top: &str, constants: &str, extra: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.serverpilot]\nenabled = true\nconstants = {{ {constants} }}\nroutes = {{ \"api.serverpilot.io\" = \"{}\" }}\n{extra}\n",
        emu.base_url()
    ));
}

fn all_constants() -> String {
    format!(
        "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\""
    )
}

fn setup(name: &str, top: &str) -> (Case, Emulator<ServerPilot>) {
    setup_with(name, top, &all_constants(), "")
}

fn setup_with(
    name: &str,
    top: &str,
    constants: &str,
    extra: &str,
) -> (Case, Emulator<ServerPilot>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu, top, constants, extra);
    (case, emu)
}

fn domains(emu: &Emulator<ServerPilot>) -> Vec<String> {
    let mut d = emu.lock().panel.app(APP_ID).domains.clone();
    d.sort();
    d
}

fn seed(emu: &Emulator<ServerPilot>, names: &[&str]) {
    emu.lock().panel.app_mut(APP_ID).domains = names.iter().map(|s| s.to_string()).collect();
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn count(emu: &Emulator<ServerPilot>, method: &str, path_suffix: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(path_suffix))
        .count()
}

#[test]
fn add_domain_adds_domain_and_www_and_turns_autossl_on() {
    let (case, emu) = setup("add", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "Example.COM.", "--site", "7"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domains(&emu), sorted(&["example.com", "www.example.com"]));
    assert_eq!(emu.lock().panel.app(APP_ID).ssl, Ssl::Auto { force: false });
    let report = run.json();
    assert_eq!(report["domain"], "example.com");
    assert_eq!(report["site"], 7);
    assert_eq!(report["integrations"][0]["changed"], true);
    // The component set no credentials; the host attached them.
    let auth = emu.requests()[0]
        .header("authorization")
        .map(str::to_string);
    assert!(auth.is_some_and(|a| a.starts_with("Basic ")));
}

#[test]
fn add_domain_keeps_the_existing_list() {
    let (case, emu) = setup("keep", "");
    seed(&emu, &["network.com", "www.network.com", "other.org"]);
    let run = case.run(&["add-domain", "shop.com", "--site", "3"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        domains(&emu),
        sorted(&[
            "network.com",
            "www.network.com",
            "other.org",
            "shop.com",
            "www.shop.com"
        ])
    );
}

#[test]
fn add_subdomain_adds_the_host_without_www() {
    let (case, emu) = setup("subdomain", "www = \"always\"");
    let run = case.run(&["add-subdomain", "site1.network.com", "--site", "9"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domains(&emu), sorted(&["site1.network.com"]));
    assert!(matches!(emu.lock().panel.app(APP_ID).ssl, Ssl::Auto { .. }));
}

#[test]
fn remove_subdomain_removes_the_host() {
    let (case, emu) = setup("remove-subdomain", "");
    seed(&emu, &["site1.network.com", "site2.network.com"]);
    let run = case.run(&["remove-subdomain", "site1.network.com", "--site", "9"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domains(&emu), sorted(&["site2.network.com"]));
}

#[test]
fn remove_keeps_www_when_the_event_says_www_false() {
    // `www = "never"`: the host sends the remove with `www = false` (as it does when
    // `www.<domain>` is mapped of its own); `www.` stays on the app.
    let (case, emu) = setup("remove-keeps-www", "www = \"never\"");
    seed(&emu, &["example.com", "www.example.com", "other.org"]);
    let run = case.run(&["remove-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domains(&emu), sorted(&["www.example.com", "other.org"]));
}

#[test]
fn www_policy_never_adds_only_the_domain() {
    let (case, emu) = setup("www-never", "www = \"never\"");
    assert_eq!(
        case.run(&["add-domain", "example.com", "--site", "1"])
            .status,
        0
    );
    assert_eq!(domains(&emu), sorted(&["example.com"]));
}

#[test]
fn www_policy_main_only_adds_www_to_registrable_domains_only() {
    let (case, emu) = setup("www-main", "www = \"main_only\"");
    assert_eq!(
        case.run(&["add-domain", "example.co.uk", "--site", "1"])
            .status,
        0
    );
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "2"])
            .status,
        0
    );
    assert_eq!(
        domains(&emu),
        sorted(&["example.co.uk", "www.example.co.uk", "shop.example.com"])
    );
}

#[test]
fn rejected_credentials_are_reported_without_the_secret() {
    let wrong_key = "wrong-secret-key-987654321";
    let constants = format!(
        "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{wrong_key}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\""
    );
    let (case, emu) = setup_with("bad-credentials", "", &constants, "");
    let run = case.run(&[
        "--log-level",
        "trace",
        "--json",
        "add-domain",
        "example.com",
        "--site",
        "1",
    ]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let sp = run.integration("serverpilot");
    assert_eq!(sp["error"]["kind"], "bad_credentials");
    let message = sp["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("serverpilot: credentials rejected (401)"),
        "{message}"
    );
    assert_eq!(sp["attempts"], 1, "a 401 is not retried");
    assert!(
        !run.all_output().contains(wrong_key),
        "secret leaked:\n{}",
        run.all_output()
    );
    let log =
        std::fs::read_to_string(case.dir.join("state/logs/integration-serverpilot.log")).unwrap();
    assert!(!log.contains(wrong_key));
    assert!(domains(&emu).is_empty());
}

#[test]
fn unknown_app_is_reported_as_not_found() {
    let constants = format!(
        "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\", WU_SERVER_PILOT_APP_ID = \"noSuchApp\""
    );
    let (case, _emu) = setup_with("app-not-found", "", &constants, "");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    let sp = run.integration("serverpilot");
    assert_eq!(sp["error"]["kind"], "not_found");
    assert!(
        sp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{sp}"
    );
    assert!(
        sp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WU_SERVER_PILOT_APP_ID"),
        "the message names the constant to check: {sp}"
    );
}

#[test]
fn an_html_page_instead_of_json_is_a_clear_error() {
    let (case, emu) = setup("html", "");
    emu.lock().panel.raw_override = Some(Response {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><head><title>Maintenance</title></head></html>".to_vec(),
    });
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let sp = run.integration("serverpilot");
    assert_eq!(sp["error"]["kind"], "api");
    let message = sp["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not JSON") && message.contains("Maintenance"),
        "{message}"
    );
}

#[test]
fn before_dns_points_here_autossl_waits_and_the_domains_are_written() {
    let (case, emu) = setup("autossl-unavailable", "");
    emu.lock().panel.app_mut(APP_ID).autossl_available = false;
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let sp = run.integration("serverpilot");
    assert_eq!(sp["changed"], true);
    let notes = strings(&sp["notes"]);
    assert!(
        notes[1].contains("will be enabled once the domains point at the server"),
        "{notes:?}"
    );
    assert_eq!(domains(&emu), sorted(&["example.com", "www.example.com"]));
    assert_eq!(
        count(&emu, "POST", "/ssl"),
        0,
        "no AutoSSL request ServerPilot must refuse"
    );

    // DNS now points here: the lifecycle (or an operator) asks for the certificate.
    emu.lock().panel.app_mut(APP_ID).autossl_available = true;
    let run = case.request_certificate("example.com", 1);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        strings(&run.integration("serverpilot")["notes"]),
        vec!["AutoSSL enabled"]
    );
    assert_eq!(emu.lock().panel.app(APP_ID).ssl, Ssl::Auto { force: false });
}

#[test]
fn autossl_refused_when_available_is_an_error_with_serverpilots_message() {
    let (case, emu) = setup("autossl-refused", "");
    emu.inject(
        Fault::respond(
            Response::json(
                400,
                &serde_json::json!({"error": {"message": "Your plan does not include AutoSSL."}}),
            ),
            1,
        )
        .on("POST", &format!("/v1/apps/{APP_ID}/ssl")),
    );
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let sp = run.integration("serverpilot");
    let message = sp["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("added example.com, www.example.com, but enabling AutoSSL failed"),
        "{message}"
    );
    assert!(
        message.contains("Your plan does not include AutoSSL."),
        "{message}"
    );
    assert_eq!(sp["changed"], true, "the domains were written: {sp}");
    assert_eq!(domains(&emu), sorted(&["example.com", "www.example.com"]));
}

#[test]
fn list_domains_and_certificate_status_read_the_app() {
    let (case, emu) = setup("list", "");
    seed(&emu, &["a.example.com", "b.example.com"]);
    {
        let mut shared = emu.lock();
        let app = shared.panel.app_mut(APP_ID);
        app.ssl = Ssl::Auto { force: false };
        app.autossl_covers = Some(vec!["a.example.com".into()]);
    }
    let run = case.run(&["--json", "list-domains"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let listed = run.integration("serverpilot")["domains"].clone();
    let state = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()["certificate"]
            .clone()
    };
    assert_eq!(state("a.example.com"), "active");
    assert_eq!(state("b.example.com"), "pending");
    assert!(
        emu.requests().iter().all(|r| r.method == "GET"),
        "reads only"
    );
}

#[test]
fn the_300_domain_limit_is_reported_before_serverpilot_refuses() {
    let (case, emu) = setup("limit", "");
    let existing: Vec<String> = (0..299).map(|i| format!("d{i}.example.com")).collect();
    emu.lock().panel.app_mut(APP_ID).domains = existing.clone();
    let run = case.run(&["--json", "add-domain", "new.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    let sp = run.integration("serverpilot");
    assert_eq!(sp["error"]["kind"], "limit_reached");
    assert!(
        sp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 300 domains"),
        "{sp}"
    );
    assert_eq!(
        emu.lock().panel.app(APP_ID).domains.len(),
        299,
        "nothing was written"
    );
    // One name still fits.
    let (case2, emu2) = setup("limit-fits", "www = \"never\"");
    emu2.lock().panel.app_mut(APP_ID).domains = existing;
    assert_eq!(
        case2.run(&["add-domain", "new.com", "--site", "1"]).status,
        0
    );
    assert_eq!(emu2.lock().panel.app(APP_ID).domains.len(), 300);
}

#[test]
fn an_invalid_domain_is_refused_before_anything_is_sent() {
    let (case, emu) = setup("invalid-domain", "");
    for bad in [
        "https://example.com/",
        "exa mple.com",
        "192.168.0.1",
        "a;rm -rf.com",
        "-bad.com",
    ] {
        let run = case.run(&["add-domain", "--site", "1", "--", bad]);
        assert_eq!(run.status, 2, "{bad}: {}", run.all_output());
        assert!(
            run.stderr.contains("invalid domain"),
            "{bad}: {}",
            run.stderr
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn idn_domains_reach_the_panel_in_punycode() {
    let (case, emu) = setup("idn", "www = \"never\"");
    assert_eq!(
        case.run(&["add-domain", "Bücher.Example.", "--site", "1"])
            .status,
        0
    );
    assert_eq!(domains(&emu), sorted(&["xn--bcher-kva.example"]));
}

#[test]
fn a_missing_constant_is_named_and_nothing_is_sent() {
    let constants = format!(
        "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\""
    );
    let (case, emu) = setup_with("missing-constant", "", &constants, "");
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stdout
            .contains("missing constants: WU_SERVER_PILOT_APP_ID"),
        "{}",
        run.all_output()
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn secrets_come_from_the_environment_variables_the_operator_names() {
    let (case, emu) = setup_with(
        "env-constants",
        "",
        &format!(
            "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\""
        ),
        "env = [\"WU_SERVER_PILOT_API_KEY\"]",
    );
    let run = case.run_with_env(
        &["add-domain", "example.com", "--site", "1"],
        &[("WU_SERVER_PILOT_API_KEY", API_KEY)],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domains(&emu), sorted(&["example.com", "www.example.com"]));
}

#[test]
fn an_exported_variable_the_config_does_not_name_is_not_read() {
    let (case, emu) = setup_with(
        "env-unnamed",
        "",
        &format!(
            "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\""
        ),
        "",
    );
    let run = case.run_with_env(
        &["add-domain", "example.com", "--site", "1"],
        &[("WU_SERVER_PILOT_API_KEY", API_KEY)],
    );
    assert_eq!(run.status, 1, "{}", run.all_output());
    assert!(
        run.stdout
            .contains("missing constants: WU_SERVER_PILOT_API_KEY")
            && run.stdout.contains("env list"),
        "{}",
        run.stdout
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn an_unknown_constant_in_the_config_is_an_error() {
    let (case, emu) = setup_with(
        "unknown-constant",
        "",
        &format!("{}, WU_SERVER_PILOT_APPID = \"x\"", all_constants()),
        "",
    );
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stdout
            .contains("unknown constant WU_SERVER_PILOT_APPID"),
        "{}",
        run.all_output()
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn requests_to_hosts_outside_the_allow_list_never_leave_the_machine() {
    let case = Case::new("denied");
    let emu = emulator();
    case.write_config(&format!(
        "[integrations.serverpilot]\nenabled = true\nconstants = {{ {} }}\n\
         allowed_hosts = [\"api.other-panel.example\"]\n\
         routes = {{ \"api.other-panel.example\" = \"{}\" }}\n",
        all_constants(),
        emu.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let sp = run.integration("serverpilot");
    assert_eq!(sp["error"]["kind"], "denied");
    assert!(
        sp["log"]
            .to_string()
            .contains("denied GET https://api.serverpilot.io/v1/apps/"),
        "the host logs the denial: {sp}"
    );
    assert!(emu.requests().is_empty(), "the emulator received nothing");
}

#[test]
fn disabled_integrations_receive_nothing() {
    let (case, emu) = setup_with("disabled", "", &all_constants(), "");
    let text = std::fs::read_to_string(case.config_path())
        .unwrap()
        .replace("enabled = true", "enabled = false");
    std::fs::write(case.config_path(), text).unwrap();
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 0);
    assert!(
        run.stdout.contains("no integration is enabled"),
        "{}",
        run.stdout
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn test_connection_reads_the_app() {
    let (case, emu) = setup("test-connection", "");
    seed(&emu, &["a.com", "www.a.com"]);
    let run = case.run(&["test", "serverpilot"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(
        run.stdout.contains("app wordpress reachable: 2 domain(s)"),
        "{}",
        run.stdout
    );
    assert_eq!(emu.requests().len(), 1);
    assert_eq!(emu.requests()[0].method, "GET");
}

#[test]
fn list_shows_constants_by_source_and_never_their_values() {
    let (case, emu) = setup_with(
        "list",
        "",
        &format!(
            "WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\""
        ),
        "",
    );
    let run = case.run(&["--json", "list"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let sp = &run.json()[0];
    assert_eq!(sp["id"], "serverpilot");
    assert_eq!(sp["constants"]["WU_SERVER_PILOT_API_KEY"], "config");
    assert_eq!(sp["constants"]["WU_SERVER_PILOT_APP_ID"], "missing");
    assert_eq!(
        strings(&sp["missing"]),
        vec!["WU_SERVER_PILOT_APP_ID".to_string()]
    );
    assert_eq!(
        strings(&sp["allowed_hosts"]),
        vec!["api.serverpilot.io".to_string()]
    );
    assert!(!run.all_output().contains(API_KEY) && !run.all_output().contains(CLIENT_ID));
    assert!(emu.requests().is_empty(), "list makes no requests");
}

#[test]
fn compiled_components_are_cached_on_disk() {
    let (case, _emu) = setup("cache", "");
    let cache = case.dir.join("own-cache");
    let text = std::fs::read_to_string(case.config_path()).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("cache_dir") {
                format!("cache_dir = {cache:?}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(case.config_path(), text).unwrap();
    let first = case.run(&["--json", "test"]);
    assert_eq!(
        first.integration("serverpilot")["component"]["cache"],
        "compiled",
        "{}",
        first.stdout
    );
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(cached.len(), 1, "one compiled component in the cache");
    let second = case.run(&["--json", "test"]);
    assert_eq!(
        second.integration("serverpilot")["component"]["cache"],
        "hit",
        "{}",
        second.stdout
    );
}

#[test]
fn a_broken_config_file_points_at_the_line() {
    let case = Case::new("broken-config");
    std::fs::write(
        case.config_path(),
        "www = \"always\"\n[integrations.serverpilot\nenabled = true\n",
    )
    .unwrap();
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
}
