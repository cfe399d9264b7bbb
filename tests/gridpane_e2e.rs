//! GridPane end to end: the documented oauth API (Bearer token, domains by id, the SSL
//! toggle and `ssl_status`), never the plugin's legacy form route; a read-only test.

mod support;

use panel_emulators::gridpane::GridPane;
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const TOKEN: &str = "gp-pat-7c1e9a4b2d6f0e8a";
const SERVER: u64 = 33046;
const SITE: u64 = 495737;

fn emulator() -> Emulator<GridPane> {
    Emulator::spawn(GridPane::new(TOKEN, SERVER, SITE, "network.example"), 0).expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<GridPane>, top: &str, constants: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.gridpane]\nenabled = true\nconstants = {{ {constants} }}\n\
         routes = {{ \"my.gridpane.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn constants(token: &str, server: &str, site: &str) -> String {
    format!(
        "WU_GRIDPANE_API_KEY = \"{token}\", WU_GRIDPANE_SERVER_ID = \"{server}\", \
         WU_GRIDPANE_APP_ID = \"{site}\""
    )
}

fn setup(name: &str, top: &str) -> (Case, Emulator<GridPane>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(
        &case,
        &emu,
        top,
        &constants(TOKEN, &SERVER.to_string(), &SITE.to_string()),
    );
    (case, emu)
}

fn names(emu: &Emulator<GridPane>) -> Vec<String> {
    emu.lock().panel.names(SITE)
}

fn writes(emu: &Emulator<GridPane>) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

fn no_legacy(emu: &Emulator<GridPane>) {
    assert_eq!(emu.lock().panel.legacy_calls, 0);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.path.starts_with("/oauth/api/v1/")),
        "only the documented API"
    );
}

#[test]
fn adding_a_domain_posts_the_documented_body_with_the_bearer_token() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "Shop.Example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["changed"], true, "{gp}");
    assert_eq!(strings(&gp["notes"])[0], "added shop.example.com");
    assert_eq!(names(&emu), ["shop.example.com"]);
    let requests = emu.requests();
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let create = requests.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(create.path, "/oauth/api/v1/domain");
    assert_eq!(
        create.json().unwrap(),
        serde_json::json!({"domain_url": "shop.example.com", "site_id": SITE, "server_id": SERVER,
                           "type": "alias", "dns_management": "none_none"})
    );
    no_legacy(&emu);
    assert!(!run.all_output().contains(TOKEN));
}

#[test]
fn a_create_answered_200_with_no_body_is_accepted() {
    // Status and body of a create are not documented: both forms are read.
    let (case, emu) = setup("add-200", "www = \"never\"");
    emu.lock().panel.create_status = 200;
    emu.lock().panel.create_echoes = false;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("gridpane")["changed"], true);
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn the_www_variant_is_not_a_separate_alias() {
    // A GridPane domain serves its www. name through its routing; the policy adds nothing.
    let (case, emu) = setup("www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn removal_finds_the_id_on_a_later_page_and_deletes_by_id() {
    let (case, emu) = setup("remove-paged", "");
    let filler: Vec<String> = (0..130).map(|i| format!("f{i:03}.example.com")).collect();
    emu.lock().panel.seed(SITE, &filler);
    emu.lock()
        .panel
        .seed(SITE, &["target.example.com".to_string()]);
    let id = emu.lock().panel.named("target.example.com").unwrap().id;
    let run = case.run(&[
        "--json",
        "remove-domain",
        "target.example.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["changed"], true, "{gp}");
    assert_eq!(strings(&gp["notes"])[0], "removed target.example.com");
    assert_eq!(names(&emu).len(), 130, "only the target was removed");
    let requests = emu.requests();
    let pages: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/oauth/api/v1/domain")
        .map(|r| r.query.as_str())
        .collect();
    assert_eq!(pages, ["per_page=100&page=1", "per_page=100&page=2"]);
    let deletes: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(deletes, [format!("/oauth/api/v1/domain/{id}")]);
    no_legacy(&emu);
}

#[test]
fn a_name_on_another_site_is_neither_added_nor_removed() {
    let (case, emu) = setup("other-site", "www = \"never\"");
    emu.lock()
        .panel
        .add_site(777, SERVER, "other-network.example");
    emu.lock()
        .panel
        .seed(777, &["shop.example.com".to_string()]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["error"]["kind"], "conflict", "{gp}");
    assert!(
        gp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has already been taken"),
        "{gp}"
    );
    // Removal only looks at this site's domains.
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0);
    assert_eq!(run.integration("gridpane")["changed"], false);
    assert_eq!(emu.lock().panel.names(777), ["shop.example.com"]);
}

#[test]
fn subdomain_sites_need_nothing_on_gridpane() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = case.run(&["--json", command, "site1.network.example", "--site", "9"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("gridpane")["changed"], false);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn test_connection_only_reads_and_never_deletes_test_com() {
    let (case, emu) = setup("test", "");
    emu.lock().panel.seed(SITE, &["a.example.com".to_string()]);
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("gridpane")["notes"]).join(" ");
    assert!(
        notes.contains("owner@network.example")
            && notes.contains(&format!("site {SITE} (network.example) on server {SERVER}"))
            && notes.contains("2 domain(s)"),
        "{notes}"
    );
    assert_eq!(writes(&emu), 0);
    assert!(
        emu.requests()
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.body).contains("test.com"))
    );
    no_legacy(&emu);
}

#[test]
fn a_rejected_token_is_bad_credentials() {
    let case = Case::new("bad-token");
    let emu = emulator();
    let wrong = "gp-wrong-token-123456";
    config_with(
        &case,
        &emu,
        "",
        &constants(wrong, &SERVER.to_string(), &SITE.to_string()),
    );
    for args in [
        vec!["--json", "test"],
        vec!["--json", "add-domain", "shop.example.com", "--site", "4"],
    ] {
        let run = case.run(&args);
        assert_eq!(run.status, 1, "{}", run.all_output());
        let gp = run.integration("gridpane");
        assert_eq!(gp["error"]["kind"], "bad_credentials", "{gp}");
        let message = gp["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Unauthenticated.") && message.contains("WU_GRIDPANE_API_KEY"),
            "{message}"
        );
        assert_eq!(gp["attempts"], 1, "not retried");
        assert!(!run.all_output().contains(wrong));
    }
    assert!(names(&emu).is_empty());
    assert_eq!(writes(&emu), 0);
}

#[test]
fn a_wrong_site_or_server_id_is_reported_before_any_write() {
    for (server, site, expect) in [
        (SERVER.to_string(), "999".to_string(), "no site 999"),
        (
            "1".to_string(),
            SITE.to_string(),
            "not 1: check WU_GRIDPANE_SERVER_ID",
        ),
    ] {
        let case = Case::new("wrong-id");
        let emu = emulator();
        config_with(&case, &emu, "", &constants(TOKEN, &server, &site));
        for args in [
            vec!["--json", "test"],
            vec!["--json", "add-domain", "shop.example.com", "--site", "4"],
            vec!["--json", "remove-domain", "shop.example.com", "--site", "4"],
        ] {
            let run = case.run(&args);
            assert_eq!(run.status, 1, "{}", run.all_output());
            let gp = run.integration("gridpane");
            assert_eq!(gp["error"]["kind"], "not_found", "{gp}");
            assert!(
                gp["error"]["message"].as_str().unwrap().contains(expect),
                "{gp}"
            );
        }
        assert_eq!(writes(&emu), 0);
    }
}

#[test]
fn a_site_url_and_server_ip_as_gridpane_writes_them_are_looked_up() {
    // The plugin sends these constants as `site_url` and `server_ip`: either form works.
    let case = Case::new("by-url");
    let emu = emulator();
    config_with(
        &case,
        &emu,
        "www = \"never\"",
        &constants(TOKEN, "203.0.113.7", "https://network.example/"),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(names(&emu), ["shop.example.com"]);
    let create = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(create.json().unwrap()["site_id"], SITE);
    assert_eq!(create.json().unwrap()["server_id"], SERVER);
}

#[test]
fn panel_errors_are_reported_whether_in_a_422_or_inside_a_200() {
    // A validation error GridPane raises (the host accepts the name).
    let (case, emu) = setup("invalid", "www = \"never\"");
    let body = serde_json::json!({"message": "The domain url is reserved.",
        "errors": {"domain_url": ["The domain url is reserved."]}});
    emu.inject(Fault::respond(Response::json(422, &body), 1).on("POST", "/oauth/api/v1/domain"));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let gp = run.integration("gridpane");
    assert_eq!(gp["error"]["kind"], "invalid_input", "{gp}");
    assert!(
        gp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("domain_url: The domain url is reserved."),
        "{gp}"
    );
    assert_eq!(gp["attempts"], 1);

    // GridPane's login page with HTTP 200 instead of JSON.
    let (case, emu) = setup("login-page", "www = \"never\"");
    emu.lock().panel.login_page = true;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let gp = run.integration("gridpane");
    assert_eq!(gp["error"]["kind"], "api", "{gp}");
    let message = gp["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 200") && message.contains("Login | GridPane"),
        "{message}"
    );
    assert_eq!(
        writes(&emu),
        0,
        "nothing written after an unreadable answer"
    );
}

#[test]
fn a_429_too_fast_is_waited_out() {
    let (case, emu) = setup("429", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    let body = serde_json::json!({"message": "Too Many Attempts. You are going too fast."});
    emu.inject(
        Fault::respond(
            Response::json(429, &body).with_header("retry-after", "1"),
            1,
        )
        .on("POST", "/oauth/api/v1/domain"),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["attempts"], 2, "{gp}");
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn request_certificate_turns_ssl_on_by_id_and_waits_for_ssl_status() {
    let (case, emu) = setup("cert", "www = \"never\"");
    emu.lock()
        .panel
        .seed(SITE, &["shop.example.com".to_string()]);
    let id = emu.lock().panel.named("shop.example.com").unwrap().id;
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["changed"], true, "{gp}");
    assert!(strings(&gp["notes"])[0].contains("issued"), "{gp}");
    let put: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].path, format!("/oauth/api/v1/domain/{id}"));
    assert_eq!(put[0].json().unwrap(), serde_json::json!({"ssl": true}));
    let d = emu.lock().panel.named("shop.example.com").cloned().unwrap();
    assert!(d.is_ssl);
    assert_eq!(d.ssl_status.as_deref(), Some("succeed"));

    // Asked again: nothing is sent, nothing changes.
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0);
    assert_eq!(run.integration("gridpane")["changed"], false);
    assert_eq!(
        emu.requests().iter().filter(|r| r.method == "PUT").count(),
        1
    );

    let run = case.run(&["--json", "certificate-status", "shop.example.com"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["certificate"]["state"], "active", "{gp}");
    assert!(
        gp["certificate"]["message"]
            .as_str()
            .unwrap()
            .contains("ssl_status succeed")
    );
}

#[test]
fn a_failed_certificate_is_reported_as_failed() {
    let (case, emu) = setup("cert-failed", "www = \"never\"");
    emu.lock()
        .panel
        .seed(SITE, &["shop.example.com".to_string()]);
    emu.lock().panel.failing.insert("shop.example.com".into());
    emu.lock().panel.reads_to_issue = 1;
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert!(
        gp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ssl_status failed"),
        "{gp}"
    );
    let run = case.run(&["--json", "certificate-status", "shop.example.com"]);
    assert_eq!(
        run.integration("gridpane")["certificate"]["state"],
        "failed"
    );
}

#[test]
fn certificate_status_of_a_name_without_ssl_is_none_and_of_an_unknown_name_not_found() {
    let (case, emu) = setup("cert-none", "www = \"never\"");
    emu.lock()
        .panel
        .seed(SITE, &["shop.example.com".to_string()]);
    let run = case.run(&["--json", "certificate-status", "shop.example.com"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("gridpane")["certificate"]["state"], "none");
    let run = case.run(&["--json", "certificate-status", "nope.example.com"]);
    assert_eq!(run.status, 1);
    assert_eq!(run.integration("gridpane")["error"]["kind"], "not_found");
    assert_eq!(writes(&emu), 0);
}

#[test]
fn list_domains_marks_the_primary() {
    let (case, emu) = setup("list", "");
    emu.lock().panel.seed(SITE, &["a.example.com".to_string()]);
    emu.lock().panel.add_site(777, SERVER, "elsewhere.example");
    let run = case.run(&["--json", "list-domains", "gridpane"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("gridpane")["domains"],
        serde_json::json!([
            {"name": "network.example", "certificate": "active", "primary": true},
            {"name": "a.example.com", "certificate": "none", "primary": false}
        ])
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn the_plugins_switch_turned_off_sends_nothing() {
    let case = Case::new("switch-off");
    let emu = emulator();
    config_with(
        &case,
        &emu,
        "",
        &format!(
            "{}, WU_GRIDPANE = \"false\"",
            constants(TOKEN, &SERVER.to_string(), &SITE.to_string())
        ),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let gp = run.integration("gridpane");
    assert_eq!(gp["changed"], false);
    assert!(
        strings(&gp["notes"])[0].contains("WU_GRIDPANE is off"),
        "{gp}"
    );
    assert!(emu.requests().is_empty());

    // On (as GridPane writes it), the same event goes through.
    let case = Case::new("switch-on");
    config_with(
        &case,
        &emu,
        "www = \"never\"",
        &format!(
            "{}, WU_GRIDPANE = \"true\"",
            constants(TOKEN, &SERVER.to_string(), &SITE.to_string())
        ),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(names(&emu), ["shop.example.com"]);
}
