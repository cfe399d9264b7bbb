//! WP Engine end to end: the public Hosting Platform API (Basic auth), domains of the install
//! with their TXT ownership record shown by dns-requirements and verified by
//! request-certificate, removal by id, offset pages, certificate state from network info.

mod support;

use panel_emulators::wpengine::WpEngine;
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const USER: &str = "wpe-api-user-4d2c";
const PASSWORD: &str = "wpe-api-pass-9f8e7d6c5b";
const INSTALL: &str = "294deacc-d8b8-4005-82c4-0727ba8ddde0";

fn emulator() -> Emulator<WpEngine> {
    Emulator::spawn(WpEngine::new(USER, PASSWORD, INSTALL, "network.example"), 0).expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<WpEngine>, top: &str, password: &str, install: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.wpengine]\nenabled = true\n\
         constants = {{ WU_WPENGINE_API_USER = \"{USER}\", WU_WPENGINE_INSTALL_ID = \"{install}\" }}\n\
         env = [\"WU_WPENGINE_API_PASSWORD\"]\n\
         routes = {{ \"api.wpengineapi.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
    std::fs::write(case.dir.join("password"), password).unwrap();
}

fn setup(name: &str, top: &str) -> (Case, Emulator<WpEngine>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(&case, &emu, top, PASSWORD, INSTALL);
    (case, emu)
}

/// Runs the host with the password in the environment, as an operator would.
fn run(case: &Case, args: &[&str]) -> support::Run {
    let password = std::fs::read_to_string(case.dir.join("password")).unwrap();
    case.run_with_env(args, &[("WU_WPENGINE_API_PASSWORD", &password)])
}

fn names(emu: &Emulator<WpEngine>) -> Vec<String> {
    emu.lock().panel.names(INSTALL)
}

fn writes(emu: &Emulator<WpEngine>) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

fn domains_path() -> String {
    format!("/v1/installs/{INSTALL}/domains")
}

/// Operations the CLI has no command for, run in-process through the host library.
fn in_process(case: &Case, operation: &str, domain: &str, www: bool) -> serde_json::Value {
    use domain_host::config::LoadedConfig;
    use domain_host::contract::DomainEvent;
    use domain_host::runtime::host::{Host, HostSettings};
    use domain_host::runtime::operation::Operation;
    use domain_host::sandbox::approvals::Mode;
    // The same configuration with the password among the constants (marked secret), so
    // this process's environment stays untouched.
    let password = std::fs::read_to_string(case.dir.join("password")).unwrap();
    let text = std::fs::read_to_string(case.config_path())
        .unwrap()
        .replace(
            "env = [\"WU_WPENGINE_API_PASSWORD\"]",
            "secrets = [\"WU_WPENGINE_API_PASSWORD\"]",
        )
        .replace(
            "WU_WPENGINE_API_USER = ",
            &format!("WU_WPENGINE_API_PASSWORD = \"{password}\", WU_WPENGINE_API_USER = "),
        );
    let path = case.dir.join("in-process.toml");
    std::fs::write(&path, text).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = LoadedConfig::load(&path).unwrap();
        let settings = HostSettings::from_config(&config, None, Default::default()).unwrap();
        let host = Host::new(settings).unwrap();
        let integration = host
            .load_with(
                "wpengine",
                &config.config.integrations["wpengine"],
                config.component_path("wpengine").unwrap(),
                Mode::Enforce,
            )
            .await
            .unwrap();
        let event = DomainEvent {
            domain: domain.into(),
            site_id: 1,
            www,
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
fn a_domain_is_added_with_its_txt_record_shown() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = run(
        &case,
        &["--json", "add-domain", "Shop.Example", "--site", "4"],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    let wpe = run.integration("wpengine");
    assert_eq!(wpe["changed"], true, "{wpe}");
    let notes = strings(&wpe["notes"]);
    assert_eq!(notes[0], "added shop.example");
    let domain = emu
        .lock()
        .panel
        .find(INSTALL, "shop.example")
        .expect("added");
    assert!(
        notes[1].contains(&format!(
            "TXT _wpe_verification.shop.example = {}",
            domain.txt_value.clone().unwrap()
        )),
        "{notes:?}"
    );
    let requests = emu.requests();
    let create = requests.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(create.path, domains_path());
    assert_eq!(
        create.json().unwrap(),
        serde_json::json!({"name": "shop.example", "primary": false})
    );
    assert!(requests.iter().all(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    }));
    assert!(!run.all_output().contains(PASSWORD));

    let records = in_process(&case, "dns-requirements", "shop.example", false);
    assert_eq!(
        records["records"],
        serde_json::json!([
            {"kind": "TXT", "name": "_wpe_verification.shop.example", "value": domain.txt_value.unwrap(), "purpose": "ownership"},
            {"kind": "A", "name": "shop.example", "value": "141.193.213.10", "purpose": "routing"},
            {"kind": "A", "name": "shop.example", "value": "141.193.213.11", "purpose": "routing"}
        ]),
        "{records}"
    );
}

#[test]
fn the_www_variant_follows_the_networks_policy() {
    let (case, emu) = setup("www", "www = \"always\"");
    let run_ = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(
        strings(&run_.integration("wpengine")["notes"])[0],
        "added shop.example, www.shop.example"
    );
    assert_eq!(
        names(&emu),
        ["network.example", "shop.example", "www.shop.example"]
    );
    let records = in_process(&case, "dns-requirements", "shop.example", true);
    let www: Vec<&serde_json::Value> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "www.shop.example")
        .collect();
    assert_eq!(
        www,
        [
            &serde_json::json!({"kind": "CNAME", "name": "www.shop.example", "value": "wp.wpenginepowered.com", "purpose": "routing"})
        ],
        "{records}"
    );
    let run_ = run(
        &case,
        &["--json", "remove-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(names(&emu), ["network.example"]);
}

/// Review #9: `www.<domain>` goes only when the host's event says so. Added with the
/// domain under `always`, then removed under `never` (the host sends `www = false`): the
/// `www.` domain stays on the install, it may be a domain mapped on its own.
#[test]
fn a_remove_without_www_leaves_the_www_domain() {
    let (case, emu) = setup("remove-no-www", "www = \"always\"");
    let run_ = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(
        names(&emu),
        ["network.example", "shop.example", "www.shop.example"]
    );
    config_with(&case, &emu, "www = \"never\"", PASSWORD, INSTALL);
    let run_ = run(
        &case,
        &["--json", "remove-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(run_.integration("wpengine")["changed"], true);
    assert_eq!(names(&emu), ["network.example", "www.shop.example"]);
    let deletes = emu
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 1);
}

#[test]
fn a_name_on_another_install_is_a_conflict() {
    let (case, emu) = setup("taken", "www = \"never\"");
    emu.lock()
        .panel
        .add_install("0d6f1a52-0000-4000-a000-000000000001", &["shop.example"]);
    let run = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run.status, 1);
    let wpe = run.integration("wpengine");
    assert_eq!(wpe["error"]["kind"], "conflict", "{wpe}");
    assert!(
        wpe["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Name has already been taken"),
        "{wpe}"
    );
}

#[test]
fn request_certificate_verifies_ownership_once_the_txt_record_exists() {
    let (case, emu) = setup("verify", "www = \"never\"");
    assert_eq!(
        run(&case, &["add-domain", "shop.example", "--site", "4"]).status,
        0
    );
    // No TXT record yet: WP Engine refuses, and the error says what to create.
    let early = run(
        &case,
        &[
            "--json",
            "request-certificate",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(early.status, 1);
    let wpe = early.integration("wpengine");
    assert_eq!(wpe["error"]["kind"], "invalid_input", "{wpe}");
    let message = wpe["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("TXT record not found")
            && message.contains("_wpe_verification.shop.example"),
        "{message}"
    );
    let status = in_process(&case, "certificate-status", "shop.example", false);
    assert_eq!(status["certificate"]["state"], "pending", "{status}");
    assert!(
        status["certificate"]["message"]
            .as_str()
            .unwrap()
            .contains("TXT")
    );

    emu.lock().panel.txt_present.insert("shop.example".into());
    let ok = run(
        &case,
        &[
            "--json",
            "request-certificate",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(ok.status, 0, "{}", ok.all_output());
    let wpe = ok.integration("wpengine");
    assert_eq!(wpe["changed"], true, "{wpe}");
    assert!(strings(&wpe["notes"])[0].contains("ownership of shop.example verified"));
    assert_eq!(
        emu.lock()
            .panel
            .find(INSTALL, "shop.example")
            .unwrap()
            .ownership_status,
        "TXT_VERIFIED"
    );
    // Again: nothing to do.
    let again = run(
        &case,
        &[
            "--json",
            "request-certificate",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(again.integration("wpengine")["changed"], false);
    // The certificate follows automatically; its state comes from the network info.
    let first = in_process(&case, "certificate-status", "shop.example", false);
    assert_eq!(first["certificate"]["state"], "pending", "{first}");
    let second = in_process(&case, "certificate-status", "shop.example", false);
    assert_eq!(second["certificate"]["state"], "active", "{second}");
    assert!(
        emu.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.starts_with(&format!("{}/", domains_path())))
    );
    // Once verified, only the routing records remain.
    let records = in_process(&case, "dns-requirements", "shop.example", false);
    assert!(
        records["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["purpose"] == "routing"),
        "{records}"
    );
}

#[test]
fn a_failed_certificate_is_reported_as_failed() {
    let (case, emu) = setup("cert-failed", "");
    emu.lock()
        .panel
        .seed(INSTALL, &["shop.example".to_string()]);
    {
        let mut shared = emu.lock();
        let d = shared
            .panel
            .install_mut(INSTALL)
            .domains
            .iter_mut()
            .find(|d| d.name == "shop.example")
            .unwrap();
        d.ssl_status = "pending".into();
        shared.panel.failing.insert("shop.example".into());
        shared.panel.ssl_reads = 1;
    }
    let report = in_process(&case, "certificate-status", "shop.example", false);
    assert_eq!(report["certificate"]["state"], "failed", "{report}");
    let absent = in_process(&case, "certificate-status", "gone.example", false);
    assert_eq!(absent["error"]["kind"], "not_found", "{absent}");
}

#[test]
fn removal_is_by_id_and_follows_offset_pages() {
    let (case, emu) = setup("remove-paged", "");
    let filler: Vec<String> = (0..120).map(|i| format!("f{i:03}.example.com")).collect();
    emu.lock().panel.seed(INSTALL, &filler);
    emu.lock()
        .panel
        .seed(INSTALL, &["target.example.com".to_string()]);
    let id = emu
        .lock()
        .panel
        .find(INSTALL, "target.example.com")
        .unwrap()
        .id;
    let run = run(
        &case,
        &[
            "--json",
            "remove-domain",
            "target.example.com",
            "--site",
            "4",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("wpengine")["changed"], true);
    assert!(
        emu.lock()
            .panel
            .find(INSTALL, "target.example.com")
            .is_none()
    );
    assert_eq!(names(&emu).len(), 121);
    let requests = emu.requests();
    let pages: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == domains_path())
        .map(|r| r.query.as_str())
        .collect();
    assert_eq!(pages, ["limit=100&offset=0", "limit=100&offset=100"]);
    assert!(
        requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path == format!("{}/{id}", domains_path()))
    );
}

#[test]
fn subdomain_sites_are_added_unless_a_wildcard_serves_them() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    let run_ = run(
        &case,
        &[
            "--json",
            "add-subdomain",
            "site1.network.example",
            "--site",
            "9",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let added = emu
        .lock()
        .panel
        .find(INSTALL, "site1.network.example")
        .expect("added");
    assert_eq!(
        added.ownership_status, "TXT_VERIFIED",
        "under the verified network domain"
    );
    assert!(
        emu.lock()
            .panel
            .find(INSTALL, "www.site1.network.example")
            .is_none()
    );
    let run_ = run(
        &case,
        &[
            "--json",
            "remove-subdomain",
            "site1.network.example",
            "--site",
            "9",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert!(
        emu.lock()
            .panel
            .find(INSTALL, "site1.network.example")
            .is_none()
    );

    emu.lock()
        .panel
        .seed(INSTALL, &["*.network.example".to_string()]);
    let before = writes(&emu);
    let run_ = run(
        &case,
        &[
            "--json",
            "add-subdomain",
            "site2.network.example",
            "--site",
            "10",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let wpe = run_.integration("wpengine");
    assert_eq!(wpe["changed"], false);
    assert!(
        strings(&wpe["notes"])[0].contains("wildcard domain *.network.example"),
        "{wpe}"
    );
    assert_eq!(writes(&emu), before);
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test", "");
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("wpengine")["notes"]).join(" ");
    assert!(
        notes.contains("network") && notes.contains("1 domain"),
        "{notes}"
    );
    assert_eq!(writes(&emu), 0);
    assert!(!run.all_output().contains(PASSWORD));
}

#[test]
fn bad_credentials_are_reported_as_rejected() {
    let case = Case::new("bad-credentials");
    let emu = emulator();
    let wrong = "wpe-wrong-password-1234";
    config_with(&case, &emu, "", wrong, INSTALL);
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 1);
    let wpe = run.integration("wpengine");
    assert_eq!(wpe["error"]["kind"], "bad_credentials", "{wpe}");
    let message = wpe["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Bad Credentials") && message.contains("WU_WPENGINE_API_PASSWORD"),
        "{message}"
    );
    assert!(!run.all_output().contains(wrong));
}

#[test]
fn a_wrong_install_id_is_explained() {
    let case = Case::new("wrong-install");
    let emu = emulator();
    config_with(
        &case,
        &emu,
        "",
        PASSWORD,
        "11111111-2222-4333-a444-555555555555",
    );
    let run = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run.status, 1);
    let wpe = run.integration("wpengine");
    assert_eq!(wpe["error"]["kind"], "not_found", "{wpe}");
    assert!(
        wpe["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check WU_WPENGINE_INSTALL_ID"),
        "{wpe}"
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn panel_errors_are_passed_through_readably() {
    let (case, emu) = setup("400", "www = \"never\"");
    let body = serde_json::json!({"message": "Invalid Domain: Name is reserved", "documentation_url": "x",
        "errors": [{"resource": "Domain", "field": "name", "type": "invalid_value", "code": "reserved", "message": "Name is reserved"}]});
    emu.inject(Fault::respond(Response::json(400, &body), 1).on("POST", &domains_path()));
    let run_ = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 1);
    let wpe = run_.integration("wpengine");
    assert_eq!(wpe["error"]["kind"], "invalid_input", "{wpe}");
    assert!(
        wpe["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid Domain: Name is reserved (name: Name is reserved)"),
        "{wpe}"
    );
    // A 500 is transient and retried until the budget is spent.
    let body = serde_json::json!({"message": "An unexpected error occurred, please try again in a few minutes"});
    emu.inject(Fault::respond(Response::json(500, &body), 10).on("POST", &domains_path()));
    config_with(
        &case,
        &emu,
        "www = \"never\"\n[retry]\nattempts = 2\nbase_delay_ms = 10",
        PASSWORD,
        INSTALL,
    );
    let run_ = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 1);
    let wpe = run_.integration("wpengine");
    assert_eq!(wpe["error"]["kind"], "transient", "{wpe}");
    assert_eq!(wpe["attempts"], 2);
    assert!(
        wpe["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unexpected error")
    );
}

#[test]
fn a_503_without_a_body_is_retried() {
    let (case, emu) = setup("503", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    emu.inject(
        Fault::respond(
            Response {
                status: 503,
                headers: vec![],
                body: vec![],
            },
            1,
        )
        .on("GET", &domains_path()),
    );
    let run = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    let wpe = run.integration("wpengine");
    assert_eq!(wpe["attempts"], 2, "{wpe}");
    assert_eq!(wpe["changed"], true);
    assert!(emu.lock().panel.find(INSTALL, "shop.example").is_some());
}

#[test]
fn a_rate_limit_without_retry_after_is_retried_with_backoff() {
    let (case, emu) = setup("429", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    let limited = Response {
        status: 429,
        headers: vec![],
        body: vec![],
    };
    emu.inject(Fault::respond(limited, 1).on("POST", &domains_path()));
    let run = run(
        &case,
        &["--json", "add-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    let wpe = run.integration("wpengine");
    assert_eq!(wpe["attempts"], 2, "{wpe}");
    assert!(emu.lock().panel.find(INSTALL, "shop.example").is_some());
}

#[test]
fn list_domains_reports_certificates_and_the_primary() {
    let (case, emu) = setup("list-domains", "");
    emu.lock()
        .panel
        .seed(INSTALL, &["a.example.com".to_string()]);
    let run = run(&case, &["--json", "list-domains", "wpengine"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("wpengine")["domains"],
        serde_json::json!([
            {"name": "network.example", "certificate": "active", "primary": true},
            {"name": "a.example.com", "certificate": "active", "primary": false}
        ])
    );
    assert_eq!(writes(&emu), 0);
}
