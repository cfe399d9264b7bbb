//! RunCloud end to end: both credential styles, pagination, SSL redeploy, subdomains, and
//! RunCloud beside ServerPilot.

mod support;

use panel_emulators::runcloud::{Domain, RunCloud};
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::{Emulator, Fault, Response};
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
            .any(|r| r.method == "PATCH" && r.path.ends_with("/ssl/advanced/52/redeploy")),
        "v3 redeploy path"
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
fn adding_an_existing_domain_is_success_not_failure() {
    let (case, emu) = setup("add-existing", "");
    emu.lock()
        .panel
        .seed(SERVER, APP, &["shop.example.com".to_string()]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["changed"], false);
    assert!(
        strings(&rc["notes"])[0].contains("already on the web application"),
        "{rc}"
    );
    assert_eq!(redeploys(&emu), 1, "the certificate is still redeployed");
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
fn removing_a_missing_domain_succeeds_with_a_note() {
    let (case, emu) = setup("remove-missing", "");
    let run = case.run(&["--json", "remove-domain", "gone.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rc = run.integration("runcloud");
    assert_eq!(rc["changed"], false);
    assert!(
        strings(&rc["notes"])[0].contains("nothing to remove"),
        "{rc}"
    );
    assert!(emu.requests().iter().all(|r| r.method == "GET"));
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
        // Three requests a second, two of them already spent by another client: the first
        // attempt is cut off by a 429, the retry after the window fits.
        shared.panel.rate_limit = Some(3);
        shared.panel.rate_used = 2;
        shared.panel.rate_window = std::time::Duration::from_secs(1);
    }
    let started = std::time::Instant::now();
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let rc = run.integration("runcloud");
    assert_eq!(rc["attempts"], 2, "{rc}");
    assert!(domain(&emu, "shop.example.com").is_some());
    assert!(redeploys(&emu) >= 1);
    let limited = emu.requests().len();
    assert!(
        limited >= 4,
        "the 429 answers were received too ({limited} requests)"
    );
}
