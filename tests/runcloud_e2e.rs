//! RunCloud end to end: both credential styles, pagination, SSL redeploy, subdomains, and
//! RunCloud beside ServerPilot.

mod support;

use panel_emulators::runcloud::{Domain, RunCloud};
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::{Emulator, Fault, FaultKind, Response};
use support::{Case, strings};

const TOKEN: &str = "rc-v3-token-abcdef123456";
const KEY: &str = "rc-v2-key-000111";
const SECRET: &str = "rc-v2-secret-999888777";
const SERVER: u64 = 101;
const APP: u64 = 202;

fn emulator() -> Emulator<RunCloud> {
    Emulator::spawn(
        RunCloud::new(TOKEN, KEY, SECRET, SERVER, APP, "network.example"),
        0,
    )
    .expect("emulator")
}

fn token_constants() -> String {
    format!(
        "WU_RUNCLOUD_API_TOKEN = \"{TOKEN}\", WU_RUNCLOUD_SERVER_ID = \"{SERVER}\", WU_RUNCLOUD_APP_ID = \"{APP}\""
    )
}

fn key_constants() -> String {
    format!(
        "WU_RUNCLOUD_API_KEY = \"{KEY}\", WU_RUNCLOUD_API_SECRET = \"{SECRET}\", WU_RUNCLOUD_SERVER_ID = \"{SERVER}\", WU_RUNCLOUD_APP_ID = \"{APP}\""
    )
}

fn config(case: &Case, emu: &Emulator<RunCloud>, top: &str, constants: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.runcloud]\nenabled = true\nconstants = {{ {constants} }}\nroutes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn setup(name: &str, top: &str) -> (Case, Emulator<RunCloud>) {
    setup_with(name, top, &token_constants())
}

fn setup_with(name: &str, top: &str, constants: &str) -> (Case, Emulator<RunCloud>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu, top, constants);
    (case, emu)
}

fn domain(emu: &Emulator<RunCloud>, name: &str) -> Option<Domain> {
    emu.lock()
        .panel
        .webapp(SERVER, APP)
        .domains
        .iter()
        .find(|d| d.name == name)
        .cloned()
}

fn names(emu: &Emulator<RunCloud>) -> Vec<String> {
    let mut names: Vec<String> = emu
        .lock()
        .panel
        .webapp(SERVER, APP)
        .domains
        .iter()
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names
}

fn redeploys(emu: &Emulator<RunCloud>) -> u32 {
    emu.lock()
        .panel
        .webapp(SERVER, APP)
        .certificate
        .as_ref()
        .map_or(0, |c| c.redeploys)
}

fn covered(emu: &Emulator<RunCloud>) -> Vec<String> {
    emu.lock()
        .panel
        .webapp(SERVER, APP)
        .certificate
        .as_ref()
        .map(|c| c.covered.clone())
        .unwrap_or_default()
}

#[test]
fn add_domain_with_www_creates_a_redirecting_alias_and_redeploys_ssl_v3() {
    let (case, emu) = setup("add-www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "Shop.Example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let d = domain(&emu, "shop.example.com").expect("domain created");
    assert!(d.www);
    assert_eq!(
        (d.redirection.as_str(), d.kind.as_str()),
        ("non-www", "alias")
    );
    assert_eq!(redeploys(&emu), 1);
    assert!(
        covered(&emu).contains(&"www.shop.example.com".to_string()),
        "{:?}",
        covered(&emu)
    );
    let requests = emu.requests();
    assert!(requests.iter().all(|r| r.path.starts_with("/api/v3/")));
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/ssl/52")),
        "the official SDK's basic redeploy"
    );
    assert!(!run.all_output().contains(TOKEN));
}

#[test]
fn add_domain_without_www_sends_no_redirect() {
    let (case, emu) = setup("add-no-www", "www = \"never\"");
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    let d = domain(&emu, "shop.example.com").unwrap();
    assert!(!d.www);
    assert_eq!(d.redirection, "none");
}

#[test]
fn adding_an_existing_domain_is_success_and_redeploys_nothing() {
    let (case, emu) = setup("add-existing", "www = \"never\"");
    emu.lock()
        .panel
        .seed(SERVER, APP, &["shop.example.com".to_string()]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["changed"], false);
    let notes = strings(&rc["notes"]);
    assert!(notes[0].contains("already on the web application"), "{rc}");
    assert!(notes[1].contains("not redeployed"), "{rc}");
    assert_eq!(
        redeploys(&emu),
        0,
        "a no-op add spends no certificate issuance"
    );
    assert_eq!(
        names(&emu)
            .iter()
            .filter(|n| *n == "shop.example.com")
            .count(),
        1
    );
}

#[test]
fn remove_domain_finds_it_on_a_later_page() {
    let (case, emu) = setup("remove-paged", "");
    let filler: Vec<String> = (0..95).map(|i| format!("site{i:02}.example.com")).collect();
    emu.lock().panel.seed(SERVER, APP, &filler);
    emu.lock()
        .panel
        .seed(SERVER, APP, &["target.example.com".to_string()]);
    let run = case.run(&["remove-domain", "target.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(domain(&emu, "target.example.com").is_none());
    assert_eq!(names(&emu).len(), 96, "only the target was removed");
    let pages: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/domains"))
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        pages,
        vec![
            "page=1&perPage=40",
            "page=2&perPage=40",
            "page=3&perPage=40"
        ]
    );
}

#[test]
fn subdomain_sites_are_created_and_deleted_as_domains() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    assert_eq!(
        case.run(&["add-subdomain", "site1.network.example", "--site", "9"])
            .status,
        0
    );
    let d = domain(&emu, "site1.network.example").expect("subdomain created");
    assert!(!d.www, "subdomain sites get no www");
    assert_eq!(
        case.run(&["remove-subdomain", "site1.network.example", "--site", "9"])
            .status,
        0
    );
    assert!(domain(&emu, "site1.network.example").is_none());
}

#[test]
fn the_seeds_v2_key_and_secret_use_basic_auth_and_the_v2_api() {
    let (case, emu) = setup_with("v2", "", &key_constants());
    let run = case.run(&["add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(domain(&emu, "shop.example.com").is_some());
    let requests = emu.requests();
    assert!(requests.iter().all(|r| r.path.starts_with("/api/v2/")));
    assert!(requests.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    }));
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/ssl/52")),
        "v2 redeploy path"
    );
    assert_eq!(redeploys(&emu), 1);
    assert!(!run.all_output().contains(SECRET));
}

#[test]
fn neither_token_nor_key_and_secret_is_a_clear_error() {
    let (case, emu) = setup_with(
        "no-credentials",
        "",
        &format!(
            "WU_RUNCLOUD_API_KEY = \"{KEY}\", WU_RUNCLOUD_SERVER_ID = \"{SERVER}\", WU_RUNCLOUD_APP_ID = \"{APP}\""
        ),
    );
    let run = case.run(&["add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stdout.contains(
            "one of: WU_RUNCLOUD_API_TOKEN or WU_RUNCLOUD_API_KEY + WU_RUNCLOUD_API_SECRET"
        ),
        "{}",
        run.all_output()
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn a_bad_token_is_reported_as_rejected_credentials() {
    let bad = "wrong-token-5555555555";
    let (case, _emu) = setup_with(
        "bad-token",
        "",
        &format!(
            "WU_RUNCLOUD_API_TOKEN = \"{bad}\", WU_RUNCLOUD_SERVER_ID = \"{SERVER}\", WU_RUNCLOUD_APP_ID = \"{APP}\""
        ),
    );
    let run = case.run(&["--json", "--log-level", "trace", "test"]);
    assert_eq!(run.status, 1);
    let rc = run.integration("runcloud");
    assert_eq!(rc["error"]["kind"], "bad_credentials");
    let message = rc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("check WU_RUNCLOUD_API_TOKEN") && message.contains("Unauthenticated."),
        "{message}"
    );
    assert!(!run.all_output().contains(bad));
}

#[test]
fn a_wrong_app_id_is_explained() {
    let (case, _emu) = setup_with(
        "wrong-app",
        "",
        &format!(
            "WU_RUNCLOUD_API_TOKEN = \"{TOKEN}\", WU_RUNCLOUD_SERVER_ID = \"{SERVER}\", WU_RUNCLOUD_APP_ID = \"999\""
        ),
    );
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1);
    let rc = run.integration("runcloud");
    assert_eq!(rc["error"]["kind"], "not_found");
    assert!(
        rc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check WU_RUNCLOUD_SERVER_ID and WU_RUNCLOUD_APP_ID"),
        "{rc}"
    );
}

#[test]
fn no_certificate_yet_is_reported_not_failed() {
    for (name, constants) in [
        ("no-cert-v3", token_constants()),
        ("no-cert-v2", key_constants()),
    ] {
        let case = Case::new(name);
        let emu = emulator();
        emu.lock().panel.webapp_mut(SERVER, APP).certificate = None;
        config(&case, &emu, "", &constants);
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "{name}: {}", run.all_output());
        let notes = strings(&run.integration("runcloud")["notes"]).join(" ");
        assert!(
            notes.contains("no SSL certificate is installed"),
            "{name}: {notes}"
        );
        assert!(domain(&emu, "shop.example.com").is_some());
    }
}

/// §2.9: the status of "SSL not installed!" is unknown; a 200 with that message is read
/// as "no certificate" as the 404 is.
#[test]
fn no_certificate_answered_with_http_200_is_reported_not_failed() {
    let case = Case::new("no-cert-200");
    let emu = emulator();
    emu.lock().panel.webapp_mut(SERVER, APP).certificate = None;
    emu.lock().panel.no_ssl_status = 200;
    config(&case, &emu, "", &token_constants());
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("runcloud")["notes"]).join(" ");
    assert!(notes.contains("no SSL certificate is installed"), "{notes}");
    assert!(domain(&emu, "shop.example.com").is_some());
}

#[test]
fn validation_errors_are_passed_through_readably() {
    let (case, emu) = setup("422", "");
    let body = serde_json::json!({"message": "The given data was invalid.", "errors": {"name": ["The name may not be a reserved domain."]}});
    emu.inject(Fault::respond(Response::json(422, &body), 1).on("POST", "/api/v3/servers"));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let rc = run.integration("runcloud");
    assert_eq!(rc["error"]["kind"], "invalid_input");
    assert_eq!(
        rc["error"]["message"],
        "runcloud: refused: The given data was invalid. (name: The name may not be a reserved domain.)"
    );
}

#[test]
fn list_shows_the_any_of_group_as_satisfied() {
    let (case, emu) = setup("list", "");
    let run = case.run(&["--json", "list"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = &run.json()[0];
    assert_eq!(rc["constants"]["WU_RUNCLOUD_API_TOKEN"], "config");
    assert_eq!(rc["constants"]["WU_RUNCLOUD_API_SECRET"], "missing");
    assert!(strings(&rc["missing"]).is_empty(), "{rc}");
    assert!(emu.requests().is_empty());
}

#[test]
fn serverpilot_and_runcloud_both_receive_every_event() {
    let case = Case::new("both");
    let rc = emulator();
    let sp = Emulator::spawn(
        ServerPilot::new("cid_both", "sp-key-both-123", "spApp0000000001"),
        0,
    )
    .unwrap();
    case.write_config(&format!(
        "www = \"always\"\n\
         [integrations.runcloud]\nenabled = true\nconstants = {{ {} }}\nroutes = {{ \"manage.runcloud.io\" = \"{}\" }}\n\
         [integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_both\", WU_SERVER_PILOT_API_KEY = \"sp-key-both-123\", WU_SERVER_PILOT_APP_ID = \"spApp0000000001\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        token_constants(),
        rc.base_url(),
        sp.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "both.example.com", "--site", "5"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(domain(&rc, "both.example.com").is_some());
    let mut sp_domains = sp.lock().panel.app("spApp0000000001").domains.clone();
    sp_domains.sort();
    assert_eq!(sp_domains, vec!["both.example.com", "www.both.example.com"]);

    let run = case.run(&["--json", "remove-domain", "both.example.com", "--site", "5"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(domain(&rc, "both.example.com").is_none());
    assert!(sp.lock().panel.app("spApp0000000001").domains.is_empty());
    // Each integration reaches only its own panel.
    assert!(rc.requests().iter().all(|r| r.path.starts_with("/api/")));
    assert!(sp.requests().iter().all(|r| r.path.starts_with("/v1/")));

    // One failing integration does not stop the other, and the exit status says so.
    rc.lock().panel.token = "rotated".into();
    let run = case.run(&["--json", "add-domain", "again.example.com", "--site", "5"]);
    assert_eq!(run.status, 1);
    assert_eq!(run.integration("runcloud")["ok"], false);
    assert_eq!(run.integration("serverpilot")["ok"], true);
}

#[test]
fn rate_limits_are_waited_out_and_the_event_completes() {
    let (case, emu) = setup("rate-limit", "[retry]\nattempts = 4\nbudget_secs = 20");
    {
        let mut shared = emu.lock();
        // Five requests a second, four already spent by another client, the window
        // starting now: the first attempt is cut off by a 429, the retry fits.
        shared
            .panel
            .limit_rate(5, std::time::Duration::from_secs(1));
        shared.panel.rate_used = 4;
    }
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["attempts"], 2, "{rc}");
    assert_eq!(rc["changed"], true, "{rc}");
    assert!(domain(&emu, "shop.example.com").is_some());
    assert_eq!(redeploys(&emu), 1, "{rc}");
    // Retry-After was honoured: measured between the panel's own request timestamps.
    let requests = emu.requests();
    let limited = requests
        .iter()
        .position(|r| r.path.ends_with("/ssl/advanced"))
        .expect("the request the 429 answered");
    let gap = requests[limited + 1].received - requests[limited].received;
    assert!(gap >= std::time::Duration::from_secs(1), "waited {gap:?}");
}

/// Requests of `method` whose path ends with `suffix`.
fn count(emu: &Emulator<RunCloud>, method: &str, suffix: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .count()
}

#[test]
fn a_create_applied_before_a_503_is_reported_and_redeployed_once() {
    let (case, emu) = setup("apply-503", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    emu.inject(Fault::apply_then_status(503, 1).on(
        "POST",
        &format!("/api/v3/servers/{SERVER}/webapps/{APP}/domains"),
    ));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["attempts"], 2, "{rc}");
    assert_eq!(rc["changed"], true, "the first attempt created it: {rc}");
    assert_eq!(strings(&rc["notes"])[0], "added shop.example.com", "{rc}");
    assert_eq!(
        names(&emu)
            .iter()
            .filter(|n| *n == "shop.example.com")
            .count(),
        1
    );
    assert_eq!(
        redeploys(&emu),
        1,
        "the changed list is redeployed once: {rc}"
    );
}

#[test]
fn a_failed_redeploy_is_retried_without_reporting_a_no_op() {
    let (case, emu) = setup(
        "redeploy-503",
        "www = \"never\"\n[retry]\nbase_delay_ms = 10",
    );
    emu.inject(Fault::status(503, 1).on(
        "PUT",
        &format!("/api/v3/servers/{SERVER}/webapps/{APP}/ssl/52"),
    ));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["changed"], true, "{rc}");
    assert_eq!(rc["attempts"], 2, "{rc}");
    let notes = strings(&rc["notes"]);
    assert_eq!(notes[0], "added shop.example.com", "{rc}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("attempt 1 failed") && n.contains("SSL redeploy failed")),
        "{rc}"
    );
    assert_eq!(redeploys(&emu), 1);
    assert_eq!(
        count(&emu, "POST", "/domains"),
        1,
        "the retry read first and found it: the create is not sent again"
    );
}

#[test]
fn a_login_page_answering_the_create_is_an_error_not_an_add() {
    let (case, emu) = setup("create-login-page", "www = \"never\"");
    let page = Response {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><head><title>Log in</title></head></html>".to_vec(),
    };
    emu.inject(Fault::respond(page, 1).on(
        "POST",
        &format!("/api/v3/servers/{SERVER}/webapps/{APP}/domains"),
    ));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let rc = run.integration("runcloud");
    let message = rc["error"]["message"].as_str().unwrap();
    assert!(!message.contains("added"), "{rc}");
    assert!(message.contains("adding shop.example.com"), "{rc}");
    assert_eq!(
        redeploys(&emu),
        0,
        "no redeploy for a create that did not happen"
    );
}

#[test]
fn a_name_held_by_another_web_application_is_a_conflict() {
    let (case, emu) = setup("taken-elsewhere", "");
    emu.lock()
        .panel
        .add_webapp(SERVER, 303, &["shop.example.com"]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["error"]["kind"], "conflict", "{rc}");
    assert!(
        rc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another web application on this server"),
        "{rc}"
    );
    assert_eq!(redeploys(&emu), 0);
}

#[test]
fn an_existing_record_gets_www_when_the_policy_wants_it() {
    let (case, emu) = setup("www-update", "www = \"always\"");
    emu.lock()
        .panel
        .seed(SERVER, APP, &["shop.example.com".to_string()]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["changed"], true, "{rc}");
    let d = domain(&emu, "shop.example.com").unwrap();
    assert!(d.www && d.redirection == "non-www", "{d:?}");
    assert_eq!(count(&emu, "PATCH", "/meta"), 1);
    assert_eq!(redeploys(&emu), 1, "the certificate now covers www. too");
    assert!(covered(&emu).contains(&"www.shop.example.com".to_string()));
}

#[test]
fn paging_continues_while_pages_are_full_when_meta_is_missing() {
    let (case, emu) = setup("no-meta", "");
    let filler: Vec<String> = (0..45).map(|i| format!("f{i:02}.example.com")).collect();
    {
        let mut shared = emu.lock();
        shared.panel.seed(SERVER, APP, &filler);
        shared
            .panel
            .seed(SERVER, APP, &["target.example.com".to_string()]);
        shared.panel.omit_meta = true;
    }
    let run = case.run(&[
        "--json",
        "remove-domain",
        "target.example.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("runcloud")["changed"], true);
    assert!(
        domain(&emu, "target.example.com").is_none(),
        "found on page 2 without meta"
    );
}

#[test]
fn the_primary_domain_is_never_removed() {
    let (case, emu) = setup("primary", "");
    let run = case.run(&["--json", "remove-domain", "network.example", "--site", "1"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["error"]["kind"], "conflict", "{rc}");
    assert!(
        rc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("primary domain"),
        "{rc}"
    );
    assert!(domain(&emu, "network.example").is_some());
    assert_eq!(count(&emu, "DELETE", ""), 0);
}

#[test]
fn two_concurrent_removals_on_different_pages_both_happen() {
    let (case, emu) = setup("concurrent-removals", "");
    {
        let mut shared = emu.lock();
        let mut names: Vec<String> = (0..38).map(|i| format!("f{i:02}.example.com")).collect();
        names.insert(5, "first-page.example.com".into());
        // Index 40 (with the primary at 0): the first record of page 2.
        names.push("second-page.example.com".into());
        names.extend((0..10).map(|i| format!("g{i:02}.example.com")));
        shared.panel.seed(SERVER, APP, &names);
    }
    // Slow list reads widen the window in which one removal shifts the other's record
    // onto the page it already read.
    emu.inject(Fault {
        method: Some("GET".into()),
        path_prefix: None,
        times: 1000,
        kind: FaultKind::Delay(std::time::Duration::from_millis(200)),
    });
    let spawn = |name: &str| {
        support::host_command()
            .arg("--config")
            .arg(case.config_path())
            .args(["--json", "remove-domain", name, "--site", "1"])
            .output()
            .unwrap()
    };
    // The second starts while the first is reading its pages, so (without the fix) the
    // first deletes its record between the second's reads of page 1 and page 2.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("first-page.example.com"));
        std::thread::sleep(std::time::Duration::from_millis(100));
        let b = s.spawn(|| spawn("second-page.example.com"));
        (a.join().unwrap(), b.join().unwrap())
    });
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\"changed\": true"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(domain(&emu, "first-page.example.com").is_none());
    assert!(domain(&emu, "second-page.example.com").is_none());
}

#[test]
fn advanced_ssl_installs_the_domains_own_certificate() {
    let (case, emu) = setup("advanced-ssl", "www = \"always\"");
    emu.lock().panel.webapp_mut(SERVER, APP).advanced = true;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let id = domain(&emu, "shop.example.com").unwrap().id;
    let cert = emu
        .lock()
        .panel
        .webapp(SERVER, APP)
        .domain_certificates
        .get(&id)
        .cloned()
        .expect("installed");
    assert_eq!(
        cert.covered,
        vec!["shop.example.com", "www.shop.example.com"]
    );
    assert_eq!(
        redeploys(&emu),
        0,
        "the app certificate is not touched in advanced mode"
    );
    // Once DNS points here, request-certificate redeploys it.
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cert = emu.lock().panel.webapp(SERVER, APP).domain_certificates[&id].clone();
    assert_eq!(cert.redeploys, 1);
}

#[test]
fn the_plugins_unverified_redeploy_route_is_a_fallback() {
    let (case, emu) = setup("plugin-route", "www = \"never\"");
    emu.lock().panel.basic_redeploy_route = false;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(count(&emu, "PUT", "/ssl/52"), 1);
    assert_eq!(count(&emu, "PATCH", "/ssl/advanced/52/redeploy"), 1);
    assert_eq!(redeploys(&emu), 1);
}

#[test]
fn list_domains_reads_every_page_with_www_and_primary() {
    let (case, emu) = setup("list-domains", "");
    let filler: Vec<String> = (0..45).map(|i| format!("f{i:02}.example.com")).collect();
    emu.lock().panel.seed(SERVER, APP, &filler);
    let run = case.run(&["--json", "list-domains"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let domains = run.integration("runcloud")["domains"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(domains.len(), 46);
    assert_eq!(domains[0]["name"], "network.example");
    assert_eq!(domains[0]["primary"], true);
    assert_eq!(domains[45]["www"], false);
}
