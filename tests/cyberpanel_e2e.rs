//! CyberPanel end to end: child domains through the cloudAPI, the always-200 status
//! fields, the input filter, the async creation job, and retries around it.

mod support;

use panel_emulators::Emulator;
use panel_emulators::cyberpanel::CyberPanel;
use serde_json::Value;
use sha2::Digest;
use support::{Case, strings};

const HOST: &str = "cp.example.test";
const PASSWORD: &str = "cp-admin-Pa55word-7731";
const MASTER: &str = "network.example";

/// The token CyberPanel stores since January 2024: `Basic ` + sha256 hex of `admin:password`.
fn token_for(password: &str) -> String {
    let digest = sha2::Sha256::digest(format!("admin:{password}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("Basic {hex}")
}

fn emulator() -> Emulator<CyberPanel> {
    Emulator::spawn(CyberPanel::new(PASSWORD, &token_for(PASSWORD), MASTER), 0).expect("emulator")
}

fn constants_with(user: &str, password: &str, token: &str, master: &str) -> String {
    format!(
        "WU_CYBERPANEL_HOST = \"{HOST}\", WU_CYBERPANEL_USERNAME = \"{user}\", \
         WU_CYBERPANEL_PASSWORD = \"{password}\", WU_CYBERPANEL_API_TOKEN = \"{token}\", \
         WU_CYBERPANEL_MASTER_DOMAIN = \"{master}\""
    )
}

fn constants() -> String {
    constants_with("admin", PASSWORD, &token_for(PASSWORD), MASTER)
}

fn config(case: &Case, emu: &Emulator<CyberPanel>, top: &str, constants: &str, extra: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.cyberpanel]\nenabled = true\nconstants = {{ {constants} }}\n\
         routes = {{ \"{HOST}\" = \"{}\" }}\n{extra}\n",
        emu.base_url()
    ));
}

fn setup(name: &str, top: &str) -> (Case, Emulator<CyberPanel>) {
    setup_with(name, top, &constants())
}

fn setup_with(name: &str, top: &str, constants: &str) -> (Case, Emulator<CyberPanel>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu, top, constants, "");
    (case, emu)
}

fn children(emu: &Emulator<CyberPanel>) -> Vec<String> {
    emu.lock().panel.children(MASTER)
}

/// The controllers the cloudAPI received, in order.
fn controllers(emu: &Emulator<CyberPanel>) -> Vec<String> {
    emu.requests()
        .iter()
        .filter(|r| r.path == "/cloudAPI/")
        .filter_map(|r| r.json().ok())
        .filter_map(|b| b["controller"].as_str().map(str::to_string))
        .collect()
}

fn body_of(emu: &Emulator<CyberPanel>, controller: &str) -> Value {
    emu.requests()
        .iter()
        .filter_map(|r| r.json().ok())
        .find(|b| b["controller"] == controller)
        .unwrap_or_else(|| panic!("no {controller} request"))
}

fn no_secret(run: &support::Run) {
    let out = run.all_output();
    assert!(!out.contains(PASSWORD), "password leaked:\n{out}");
    assert!(
        !out.contains(&token_for(PASSWORD)[6..]),
        "token leaked:\n{out}"
    );
}

#[test]
fn add_domain_creates_an_alias_child_domain_through_the_cloud_api() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["changed"], true, "{cp}");
    assert!(
        strings(&cp["notes"])[0]
            .starts_with("added shop.example.com as a child domain of network.example"),
        "{cp}"
    );
    assert_eq!(children(&emu), vec!["shop.example.com"]);
    let child = emu.lock().panel.website(MASTER).children[0].clone();
    assert!(child.alias, "shares the master's document root");
    assert_eq!(child.path, "/home/network.example/public_html");
    assert_eq!(
        controllers(&emu),
        vec![
            "fetchDomains",
            "submitDomainCreation",
            "statusFunc",
            "statusFunc",
            "fetchDomains"
        ]
    );
    let create = body_of(&emu, "submitDomainCreation");
    assert_eq!(create["masterDomain"], MASTER);
    assert_eq!(create["domainName"], "shop.example.com");
    assert_eq!(
        (create["alias"].as_i64(), create["openBasedir"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(create["path"], "", "read on every request, alias or not");
    assert_eq!(create["serverUserName"], "admin");
    // The PHP plugin's routes were never called; every request carried the stored token.
    let requests = emu.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.path == "/cloudAPI/")
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(token_for(PASSWORD).as_str()))
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-domain-host-read-only").is_none()),
        "the host keeps its read marker to itself"
    );
    assert_eq!(
        emu.lock().panel.open_jobs(),
        0,
        "the status file was read to its end"
    );
    no_secret(&run);
}

#[test]
fn the_www_policy_adds_no_second_child() {
    let (case, emu) = setup("www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("cyberpanel")["notes"]).join(" ");
    assert!(
        notes.contains("www.shop.example.com is not added separately"),
        "{notes}"
    );
    assert_eq!(children(&emu), vec!["shop.example.com"]);
}

#[test]
fn remove_domain_deletes_the_child_but_never_its_document_root() {
    let (case, emu) = setup("remove", "");
    emu.lock()
        .panel
        .seed(MASTER, &["shop.example.com", "other.example.com"]);
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["changed"], true, "{cp}");
    assert_eq!(
        strings(&cp["notes"])[0],
        "removed child domain shop.example.com"
    );
    assert_eq!(children(&emu), vec!["other.example.com"]);
    let delete = body_of(&emu, "submitDomainDeletion");
    assert_eq!(delete["websiteName"], "shop.example.com");
    assert_eq!(delete["DeleteDocRoot"].as_i64(), Some(0));
    assert!(
        emu.lock().panel.deleted_docroots.is_empty(),
        "the master's files are shared"
    );
}

#[test]
fn subdomain_sites_need_nothing() {
    let (case, emu) = setup("subdomains", "");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = case.run(&["--json", command, "site1.network.example", "--site", "9"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("cyberpanel")["changed"], false);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn test_connection_checks_password_token_and_master_and_only_reads() {
    let (case, emu) = setup("test", "");
    emu.lock().panel.seed(MASTER, &["a.example.com"]);
    let run = case.run(&["--json", "test", "cyberpanel"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("cyberpanel")["notes"]).join(" ");
    assert!(
        notes.contains("admin password verified, API token accepted"),
        "{notes}"
    );
    assert!(
        notes.contains("network.example has 1 child domain(s)"),
        "{notes}"
    );
    let requests = emu.requests();
    assert_eq!(requests[0].path, "/api/verifyConn");
    let verify = requests[0].json().unwrap();
    assert_eq!(verify["adminUser"], "admin");
    assert_eq!(
        verify["adminPass"], PASSWORD,
        "the host put the password in the body"
    );
    assert_eq!(controllers(&emu), vec!["verifyLogin", "fetchDomains"]);
    assert_eq!(children(&emu), vec!["a.example.com"], "nothing written");
    no_secret(&run);
}

#[test]
fn api_access_turned_off_is_explained() {
    let (case, emu) = setup("api-off", "");
    emu.lock().panel.users.get_mut("admin").unwrap().api = false;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let message = run.integration("cyberpanel")["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("API Access Disabled.") && message.contains("Users > API Access"),
        "{message}"
    );
}

#[test]
fn a_user_other_than_admin_is_refused_before_sending() {
    let (case, emu) = setup_with(
        "not-admin",
        "",
        &constants_with("reseller", PASSWORD, &token_for(PASSWORD), MASTER),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["error"]["kind"], "invalid_input", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("serves the admin user only")
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn values_the_input_filter_refuses_are_never_sent() {
    let (case, emu) = setup_with(
        "filter",
        "",
        &constants_with(
            "admin",
            PASSWORD,
            &token_for(PASSWORD),
            "network.example;id",
        ),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["error"]["kind"], "invalid_input", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("input filter"),
        "{cp}"
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn a_filtered_verify_conn_explains_a_password_it_refuses() {
    let password = "pa$$(word)-9988";
    let case = Case::new("filter-password");
    let emu = Emulator::spawn(CyberPanel::new(password, &token_for(password), MASTER), 0).unwrap();
    emu.lock().panel.verify_conn_filtered = true;
    config(
        &case,
        &emu,
        "",
        &constants_with("admin", password, &token_for(password), MASTER),
        "",
    );
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["error"]["kind"], "invalid_input", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused the admin password"),
        "{cp}"
    );
    assert!(!run.all_output().contains(password));
    // Where verifyConn is exempt (the reference's tree), the same password works.
    emu.lock().panel.verify_conn_filtered = false;
    assert_eq!(case.run(&["test"]).status, 0);
}

#[test]
fn the_package_limit_and_other_job_failures_are_reported_from_the_status_file() {
    let (case, emu) = setup("limit", "");
    emu.lock().panel.website_mut(MASTER).max_domains = Some(0);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["error"]["kind"], "limit_reached", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Exceeded maximum number of domains")
    );
    // A website of its own.
    emu.lock().panel.website_mut(MASTER).max_domains = None;
    emu.lock().panel.website_mut("shop.example.com");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.integration("cyberpanel")["error"]["kind"], "conflict");
    assert!(children(&emu).is_empty());
}

#[test]
fn a_child_of_another_website_is_a_conflict() {
    let (case, emu) = setup("other-master", "");
    emu.lock()
        .panel
        .seed("other.example", &["shop.example.com"]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["error"]["kind"], "conflict", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another website"),
        "{cp}"
    );
}

#[test]
fn request_certificate_calls_issue_ssl_and_reports_acme_failures() {
    let (case, emu) = setup("ssl", "");
    emu.lock().panel.seed(MASTER, &["shop.example.com"]);
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cyberpanel")["changed"], true);
    assert_eq!(emu.lock().panel.certificates, vec!["shop.example.com"]);
    assert_eq!(body_of(&emu, "issueSSL")["virtualHost"], "shop.example.com");
    assert!(
        !emu.lock().panel.website(MASTER).suspended,
        "nothing suspended or unsuspended"
    );

    emu.lock().panel.ssl_failures.insert(
        "shop.example.com".into(),
        "Failed to obtain SSL for: shop.example.com. Verify DNS points here.".into(),
    );
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 1);
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["attempts"], 1, "an ACME failure is not hammered: {cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Verify DNS points here"),
        "{cp}"
    );

    let run = case.request_certificate("unknown.example.com", 4);
    assert_eq!(run.integration("cyberpanel")["error"]["kind"], "not_found");
}

#[test]
fn list_domains_reads_the_double_encoded_list_and_the_plain_one() {
    let (case, emu) = setup("list", "");
    emu.lock()
        .panel
        .seed(MASTER, &["a.example.com", "b.example.com"]);
    for as_list in [false, true] {
        emu.lock().panel.data_as_list = as_list;
        let run = case.run(&["--json", "list-domains"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        let domains = run.integration("cyberpanel")["domains"]
            .as_array()
            .unwrap()
            .clone();
        let names: Vec<&str> = domains
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec![MASTER, "a.example.com", "b.example.com"],
            "{as_list}"
        );
        assert_eq!(domains[0]["primary"], true);
    }
}

/// Review #1: CyberPanel reads `data['path']` on every `submitDomainCreation`
/// (`websiteFunctions/website.py`), so a body without it fails with the KeyError text.
#[test]
fn submit_domain_creation_carries_the_path_cyberpanel_reads_on_every_request() {
    let (case, emu) = setup("create-path", "");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cyberpanel")["changed"], true);
    let create = body_of(&emu, "submitDomainCreation");
    assert_eq!(create["path"], "");
    assert_eq!(create["alias"].as_i64(), Some(1));
    let child = emu.lock().panel.website(MASTER).children[0].clone();
    assert_eq!(
        (child.alias, child.path.as_str()),
        (true, "/home/network.example/public_html"),
        "an alias child uses the master's root whatever the path says"
    );
    // What the panel answers a body without it.
    let mut body = create.clone();
    body.as_object_mut().unwrap().remove("path");
    body["domainName"] = "other.example.com".into();
    let answer = post_cloud(&emu, &body);
    assert_eq!(answer["createWebSiteStatus"], 0, "{answer}");
    assert_eq!(answer["error_message"], "'path'", "{answer}");
}

/// Review #2: `fetchDomains` lists only the children whose alias flag equals the request's
/// `alias` (0 when absent), so the alias children this integration makes are found only
/// with `alias: 1`; children with a root of their own are listed but never removed.
#[test]
fn alias_children_are_read_with_alias_1_and_the_others_are_left_alone() {
    let (case, emu) = setup("alias-list", "");
    emu.lock().panel.seed(MASTER, &["shop.example.com"]);
    emu.lock()
        .panel
        .seed_own_root(MASTER, &["blog.example.com"]);

    let run = case.run(&["--json", "list-domains"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let names: Vec<String> = run.integration("cyberpanel")["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec![MASTER, "shop.example.com", "blog.example.com"]);
    let flags: Vec<Option<i64>> = emu
        .requests()
        .iter()
        .filter_map(|r| r.json().ok())
        .filter(|b| b["controller"] == "fetchDomains")
        .map(|b| b["alias"].as_i64())
        .collect();
    assert_eq!(flags, vec![Some(1), Some(0)]);

    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(emu.lock().panel.certificates, vec!["shop.example.com"]);

    let run = case.run(&["--json", "remove-domain", "blog.example.com", "--site", "5"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cp = run.integration("cyberpanel");
    assert_eq!(cp["changed"], false, "{cp}");
    assert!(
        strings(&cp["notes"])[0].contains("document root of its own"),
        "{cp}"
    );

    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cyberpanel")["changed"], true);
    assert_eq!(children(&emu), vec!["blog.example.com"]);
    assert_eq!(
        controllers(&emu)
            .iter()
            .filter(|c| *c == "submitDomainDeletion")
            .count(),
        1,
        "the child with its own root was never deleted"
    );
}

/// Review #15: the cloudAPI authenticates by the token alone
/// (`cloudAPI/cloudManager.py` `verifyLogin`); the password goes only to `/api/verifyConn`.
#[test]
fn the_admin_password_goes_only_to_verify_conn() {
    let (case, emu) = setup("password-scope", "");
    for args in [
        vec!["--json", "test"],
        vec!["--json", "add-domain", "shop.example.com", "--site", "4"],
        vec!["--json", "remove-domain", "shop.example.com", "--site", "4"],
    ] {
        let run = case.run(&args);
        assert_eq!(run.status, 0, "{}", run.all_output());
    }
    let requests = emu.requests();
    let verify: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/verifyConn")
        .collect();
    assert_eq!(verify.len(), 1);
    for request in requests.iter().filter(|r| r.path == "/cloudAPI/") {
        let body = String::from_utf8_lossy(&request.body).to_string();
        assert!(
            !body.contains(PASSWORD),
            "password in a cloudAPI body: {body}"
        );
        assert!(!body.contains("serverPassword"), "{body}");
    }
}

/// One cloudAPI POST straight to the emulator, with the stored token.
fn post_cloud(emu: &Emulator<CyberPanel>, body: &Value) -> Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(emu.addr).unwrap();
    let body = body.to_string();
    write!(
        stream,
        "POST /cloudAPI/ HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        token_for(PASSWORD),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn secrets_can_come_from_the_environment() {
    let case = Case::new("env");
    let emu = emulator();
    config(
        &case,
        &emu,
        "",
        &format!(
            "WU_CYBERPANEL_HOST = \"{HOST}\", WU_CYBERPANEL_USERNAME = \"admin\", WU_CYBERPANEL_MASTER_DOMAIN = \"{MASTER}\""
        ),
        "env = [\"WU_CYBERPANEL_PASSWORD\", \"WU_CYBERPANEL_API_TOKEN\"]",
    );
    let token = token_for(PASSWORD);
    let run = case.run_with_env(
        &["--json", "test"],
        &[
            ("WU_CYBERPANEL_PASSWORD", PASSWORD),
            ("WU_CYBERPANEL_API_TOKEN", &token),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    no_secret(&run);
}

#[test]
fn a_slow_job_is_polled_until_it_ends() {
    let (case, emu) = setup("slow-job", "");
    emu.lock().panel.running_polls = 3;
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        controllers(&emu)
            .iter()
            .filter(|c| *c == "statusFunc")
            .count(),
        4
    );
    assert_eq!(emu.lock().panel.open_jobs(), 0);
}

#[test]
fn the_plugins_routes_do_not_exist_and_its_ssl_call_unsuspends() {
    // What the PHP plugin sends, against the emulator: why this component does not.
    let emu = emulator();
    emu.lock().panel.website_mut(MASTER).suspended = true;
    let post = |path: &str, body: Value| {
        let mut stream = std::net::TcpStream::connect(emu.addr).unwrap();
        let body = body.to_string();
        use std::io::{Read, Write};
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let login = |extra: Value| {
        let mut body = serde_json::json!({"adminUser": "admin", "adminPass": PASSWORD});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let answer = post(
        "/api/addChildDomain",
        login(serde_json::json!({"masterDomain": MASTER, "childDomain": "shop.example.com"})),
    );
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let answer = post(
        "/api/submitWebsiteStatus",
        login(serde_json::json!({"websiteName": MASTER, "state": "issueSSL"})),
    );
    assert!(answer.contains("\"websiteStatus\":1"), "{answer}");
    assert!(
        !emu.lock().panel.website(MASTER).suspended,
        "unsuspended, no certificate"
    );
    assert!(emu.lock().panel.certificates.is_empty());
}
