//! Rocket.net end to end: the host's session login, the `{success, errors, result}`
//! envelope, removal by the id found in `result`, automatic SSL and its status. Absent
//! and `www.` removals, a wrong site, writes applied before a fault:
//! `tests/conformance/rocket.rs` (the shared suite).

mod support;

use panel_emulators::rocket::{Rocket, StatusShape};
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const EMAIL: &str = "owner@network.example";
const PASSWORD: &str = "rk-pass-5b7e0c1d9a";
const SITE: u64 = 4242;

fn emulator() -> Emulator<Rocket> {
    Emulator::spawn(Rocket::new(EMAIL, PASSWORD, SITE, "network.example"), 0).expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<Rocket>, top: &str, site: &str, password: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.rocket]\nenabled = true\n\
         constants = {{ WU_ROCKET_EMAIL = \"{EMAIL}\", WU_ROCKET_PASSWORD = \"{password}\", WU_ROCKET_SITE_ID = \"{site}\" }}\n\
         routes = {{ \"api.rocket.net\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn setup(name: &str, top: &str) -> (Case, Emulator<Rocket>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(&case, &emu, top, &SITE.to_string(), PASSWORD);
    (case, emu)
}

fn names(emu: &Emulator<Rocket>) -> Vec<String> {
    emu.lock().panel.names(SITE)
}

fn writes(emu: &Emulator<Rocket>) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path != "/v1/login")
        .count()
}

/// Operations the CLI has no command for, run in-process through the host library.
fn in_process(case: &Case, operation: &str, domain: &str) -> serde_json::Value {
    use domain_host::config::LoadedConfig;
    use domain_host::contract::DomainEvent;
    use domain_host::runtime::host::{Host, HostSettings};
    use domain_host::runtime::operation::Operation;
    use domain_host::sandbox::approvals::Mode;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = LoadedConfig::load(&case.config_path()).unwrap();
        let settings = HostSettings::from_config(&config, None, Default::default()).unwrap();
        let host = Host::new(settings).unwrap();
        let integration = host
            .load_with(
                "rocket",
                &config.config.integrations["rocket"],
                config.component_path("rocket").unwrap(),
                Mode::Enforce,
            )
            .await
            .unwrap();
        let event = DomainEvent {
            domain: domain.into(),
            site_id: 1,
            www: false,
            attempt: 1,
        };
        let operation = match operation {
            "certificate-status" => Operation::CertificateStatus(event),
            "dns-requirements" => Operation::DnsRequirements(event),
            other => panic!("{other}"),
        };
        serde_json::to_value(host.run(&integration, &operation).await).unwrap()
    })
}

#[test]
fn the_host_logs_in_at_the_documented_route_and_the_domain_is_added() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "Shop.Example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rk = run.integration("rocket");
    assert_eq!(rk["changed"], true, "{rk}");
    assert_eq!(strings(&rk["notes"])[0], "added shop.example.com");
    assert_eq!(names(&emu), ["shop.example.com"]);

    let requests = emu.requests();
    let login = &requests[0];
    assert_eq!(
        (login.method.as_str(), login.path.as_str()),
        ("POST", "/v1/login")
    );
    assert_eq!(
        login.json().unwrap(),
        serde_json::json!({"username": EMAIL, "password": PASSWORD})
    );
    assert_eq!(requests.iter().filter(|r| r.path == "/v1/login").count(), 1);
    assert!(requests.iter().all(|r| r.path != "/v1/auth/login"));
    for r in &requests[1..] {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer eyJhbGciOiJIUzI1NiJ9.rocket-1.sig"),
            "{}",
            r.path
        );
    }
    let create = requests
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/domains"))
        .unwrap();
    assert_eq!(create.path, format!("/v1/sites/{SITE}/domains"));
    assert_eq!(
        create.json().unwrap(),
        serde_json::json!({"domain": "shop.example.com"})
    );
    let all = run.all_output();
    assert!(
        !all.contains(PASSWORD) && !all.contains("rocket-1.sig"),
        "{all}"
    );
}

#[test]
fn the_www_variant_follows_the_networks_policy() {
    let (case, emu) = setup("www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(names(&emu), ["shop.example.com", "www.shop.example.com"]);
    // Removal takes the www variant with it.
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        strings(&run.integration("rocket")["notes"])[0],
        "removed shop.example.com, www.shop.example.com"
    );
    assert!(names(&emu).is_empty());
}

#[test]
fn adding_twice_changes_nothing_the_second_time() {
    let (case, emu) = setup("add-twice", "www = \"never\"");
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    let writes_before = writes(&emu);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rk = run.integration("rocket");
    assert_eq!(rk["changed"], false, "{rk}");
    assert!(
        strings(&rk["notes"])[0].contains("already on the site"),
        "{rk}"
    );
    assert_eq!(writes(&emu), writes_before, "no second create");
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn removal_finds_the_id_in_result_on_a_later_page() {
    let (case, emu) = setup("remove-paged", "");
    let filler: Vec<String> = (0..130).map(|i| format!("f{i:03}.example.com")).collect();
    emu.lock().panel.seed(SITE, &filler);
    emu.lock()
        .panel
        .seed(SITE, &["target.example.com".to_string()]);
    let id = emu.lock().panel.site(SITE).domains.last().unwrap().id;
    let run = case.run(&[
        "--json",
        "remove-domain",
        "target.example.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("rocket")["changed"], true);
    assert!(!names(&emu).contains(&"target.example.com".to_string()));
    assert_eq!(names(&emu).len(), 130, "only the target was removed");
    let requests = emu.requests();
    let pages: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/domains"))
        .map(|r| r.query.as_str())
        .collect();
    assert_eq!(pages, ["page=1&per_page=100", "page=2&per_page=100"]);
    assert!(
        requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path == format!("/v1/sites/{SITE}/domains/{id}"))
    );
}

#[test]
fn subdomain_sites_need_nothing_on_rocket() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = case.run(&["--json", command, "site1.network.example", "--site", "9"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("rocket")["changed"], false);
    }
    assert!(emu.requests().is_empty(), "not even a login");
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test", "");
    emu.lock().panel.seed(SITE, &["a.example.com".to_string()]);
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("rocket")["notes"]).join(" ");
    assert!(
        notes.contains("network.example") && notes.contains("1 additional"),
        "{notes}"
    );
    assert_eq!(writes(&emu), 0);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.method == "GET" || r.path == "/v1/login")
    );
}

/// The login's answer comes as real servers send it (the emulator writes the head, then
/// the body): the host keeps driving the connection while it reads the body, so the login
/// neither hangs nor waits out the request timeout.
#[test]
fn a_login_answer_whose_body_follows_its_head_is_read_at_once() {
    let (case, emu) = setup(
        "login-paced",
        "www = \"never\"\n[limits]\nrequest_timeout_secs = 5",
    );
    let started = std::time::Instant::now();
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    let took = started.elapsed();
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}");
    assert_eq!(emu.lock().panel.logins, 1);
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn a_refused_login_is_reported_and_nothing_else_is_sent() {
    let case = Case::new("bad-login");
    let emu = emulator();
    let wrong = "not-the-password-123";
    config_with(&case, &emu, "", &SITE.to_string(), wrong);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let rk = run.integration("rocket");
    // The host performs the login, and reports the panel's refusal as what it is.
    assert_eq!(rk["error"]["kind"], "bad_credentials", "{rk}");
    assert!(
        rk["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check WU_ROCKET_EMAIL and WU_ROCKET_PASSWORD"),
        "{rk}"
    );
    assert!(
        rk["log"]
            .to_string()
            .contains("the session login was refused (HTTP 401): Authentication failed"),
        "{rk}"
    );
    assert!(emu.requests().iter().all(|r| r.path == "/v1/login"));
    assert!(names(&emu).is_empty());
    assert!(!run.all_output().contains(wrong));
}

#[test]
fn a_token_refused_before_it_was_ever_accepted_is_not_renewed_in_a_loop() {
    let (case, emu) = setup("expired", "www = \"never\"");
    emu.lock().panel.token_ttl = std::time::Duration::from_millis(0);
    // Every token is already expired when used: a token refused before the panel ever
    // accepted it is not a stale one, so the host does not log in again (security review
    // F8: no login storm), and the refusal is final.
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let rk = run.integration("rocket");
    assert_eq!(rk["error"]["kind"], "bad_credentials", "{rk}");
    assert!(
        rk["log"]
            .to_string()
            .contains("refused a session token it was just given; not logging in again"),
        "{rk}"
    );
    assert_eq!(emu.lock().panel.logins, 1);

    // A token that expires between two runs is replaced the same way, and the event goes on.
    emu.lock().panel.token_ttl = std::time::Duration::from_secs(3600);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn a_site_of_another_user_is_refused() {
    let (case, emu) = setup("forbidden", "");
    emu.lock().panel.site_mut(SITE).forbidden = true;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let rk = run.integration("rocket");
    assert_eq!(rk["error"]["kind"], "bad_credentials", "{rk}");
    assert!(
        rk["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Not authorized to access endpoint"),
        "{rk}"
    );
}

#[test]
fn panel_errors_are_reported_whether_in_a_400_or_inside_a_200() {
    for in_200 in [false, true] {
        let (case, emu) = setup(&format!("invalid-{in_200}"), "");
        emu.lock().panel.errors_in_200 = in_200;
        // Rocket refuses what the host accepts: an injected refusal of the create.
        // (Errors as plain strings, the other shape the component reads.)
        let body = serde_json::json!({"success": false, "errors": ["Domain is reserved"], "messages": [], "result": null});
        let status = if in_200 { 200 } else { 400 };
        emu.inject(Fault::respond(Response::json(status, &body), 1).on("POST", "/v1/sites/"));
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 1, "{}", run.all_output());
        let rk = run.integration("rocket");
        let message = rk["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Domain is reserved"),
            "{in_200}: {message}"
        );
        assert_eq!(
            rk["error"]["kind"],
            if in_200 { "api" } else { "invalid_input" },
            "{rk}"
        );
        assert_eq!(rk["attempts"], 1, "not retried");
    }
}

#[test]
fn a_name_on_another_site_is_a_conflict() {
    for in_200 in [false, true] {
        let (case, emu) = setup(&format!("taken-{in_200}"), "www = \"never\"");
        emu.lock().panel.errors_in_200 = in_200;
        emu.lock()
            .panel
            .add_site(77, "other.example", &["shop.example.com"]);
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 1, "{}", run.all_output());
        let rk = run.integration("rocket");
        assert_eq!(rk["error"]["kind"], "conflict", "{in_200}: {rk}");
        assert!(names(&emu).is_empty());
    }
}

#[test]
fn a_503_is_retried() {
    let (case, emu) = setup("503", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    emu.inject(Fault::status(503, 1).on("GET", &format!("/v1/sites/{SITE}/domains")));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let rk = run.integration("rocket");
    assert_eq!(rk["attempts"], 2, "{rk}");
    assert_eq!(rk["changed"], true);
    assert_eq!(names(&emu), ["shop.example.com"]);
}

#[test]
fn list_domains_reads_result_and_marks_the_main_domain() {
    let (case, emu) = setup("list-domains", "");
    emu.lock().panel.seed(SITE, &["a.example.com".to_string()]);
    let run = case.run(&["--json", "list-domains", "rocket"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let domains = run.integration("rocket")["domains"].clone();
    assert_eq!(
        domains,
        serde_json::json!([
            {"name": "network.example", "primary": true},
            {"name": "a.example.com", "certificate": "active", "primary": false}
        ])
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn certificate_status_comes_from_the_main_domain_status() {
    for shape in [StatusShape::Nested, StatusShape::Flat] {
        let (case, emu) = setup(&format!("cert-{shape:?}"), "www = \"never\"");
        emu.lock().panel.status_shape = shape;
        assert_eq!(
            case.run(&["add-domain", "shop.example.com", "--site", "4"])
                .status,
            0
        );
        let first = in_process(&case, "certificate-status", "shop.example.com");
        assert_eq!(
            first["certificate"]["state"], "pending",
            "{shape:?}: {first}"
        );
        let second = in_process(&case, "certificate-status", "shop.example.com");
        assert_eq!(
            second["certificate"]["state"], "active",
            "{shape:?}: {second}"
        );
        assert!(
            emu.requests()
                .iter()
                .any(|r| r.path == format!("/v1/sites/{SITE}/maindomain/status"))
        );
        let absent = in_process(&case, "certificate-status", "nope.example.com");
        assert_eq!(absent["error"]["kind"], "not_found", "{absent}");
    }
}

#[test]
fn a_failed_certificate_is_reported_as_failed() {
    let (case, emu) = setup("cert-failed", "www = \"never\"");
    emu.lock().panel.reads_to_active = 1;
    emu.lock().panel.failing.insert("shop.example.com".into());
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    let report = in_process(&case, "certificate-status", "shop.example.com");
    assert_eq!(report["certificate"]["state"], "failed", "{report}");
    assert!(
        report["certificate"]["message"]
            .as_str()
            .unwrap()
            .contains("failed"),
        "{report}"
    );
}

#[test]
fn a_login_answer_with_the_token_inside_result_opens_the_session() {
    // panel-review.md #10. Unverified which shape Rocket.net's login answers: the
    // documentation and the live-tested client read `token` at the root, every other
    // answer is wrapped in `result` (panel-apis-b.md §3.1-3.2). Both must work.
    for wrapped in [false, true] {
        let (case, emu) = setup(&format!("login-wrapped-{wrapped}"), "www = \"never\"");
        emu.lock().panel.login_wrapped = wrapped;
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "wrapped {wrapped}: {}", run.all_output());
        assert_eq!(names(&emu), ["shop.example.com"], "wrapped {wrapped}");
        let requests = emu.requests();
        assert_eq!(requests.iter().filter(|r| r.path == "/v1/login").count(), 1);
        for r in requests.iter().filter(|r| r.path != "/v1/login") {
            assert_eq!(
                r.header("authorization"),
                Some("Bearer eyJhbGciOiJIUzI1NiJ9.rocket-1.sig"),
                "wrapped {wrapped}: {}",
                r.path
            );
        }
        assert!(!run.all_output().contains("rocket-1.sig"));
    }
}
