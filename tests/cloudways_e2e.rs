//! Cloudways end to end: the host's token exchange (a short-lived session), the alias list
//! read from the app and replaced under the account lock, Let's Encrypt for verified names
//! with its operation polled.

mod support;

use panel_emulators::cloudways::{self as cw, AliasAnswer, Cloudways, Failure, LetsEncryptShape};
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const EMAIL: &str = "owner@network.example";
const API_KEY: &str = "cw-key-3f9a7b1c5d2e8f60";
const SERVER: u64 = 50482;
const APP: u64 = 1234;

fn emulator() -> Emulator<Cloudways> {
    Emulator::spawn(
        Cloudways::new(EMAIL, API_KEY, SERVER, APP, "network.example"),
        0,
    )
    .expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<Cloudways>, top: &str, extra: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.cloudways]\nenabled = true\n\
         constants = {{ WU_CLOUDWAYS_EMAIL = \"{EMAIL}\", WU_CLOUDWAYS_API_KEY = \"{API_KEY}\", {extra} }}\n\
         routes = {{ \"api.cloudways.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn ids(server: &str, app: &str) -> String {
    format!("WU_CLOUDWAYS_SERVER_ID = \"{server}\", WU_CLOUDWAYS_APP_ID = \"{app}\"")
}

fn setup(name: &str, top: &str) -> (Case, Emulator<Cloudways>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(
        &case,
        &emu,
        top,
        &ids(&SERVER.to_string(), &APP.to_string()),
    );
    (case, emu)
}

fn aliases(emu: &Emulator<Cloudways>) -> Vec<String> {
    emu.lock().panel.app(SERVER, APP).aliases.clone()
}

fn set_aliases(emu: &Emulator<Cloudways>, list: &[&str]) {
    emu.lock().panel.app_mut(SERVER, APP).aliases = list.iter().map(|s| s.to_string()).collect();
}

fn alias_writes(emu: &Emulator<Cloudways>) -> Vec<panel_emulators::Request> {
    emu.requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/app/manage/aliases")
        .collect()
}

fn writes(emu: &Emulator<Cloudways>) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path != "/api/v1/oauth/access_token")
        .count()
}

fn secrets_absent(run: &support::Run) {
    let all = run.all_output();
    assert!(
        !all.contains(API_KEY) && !all.contains("cw-access-"),
        "{all}"
    );
    for password in [
        cw::master_password(SERVER),
        cw::app_password(APP),
        cw::sys_password(APP),
        cw::mysql_password(APP),
    ] {
        assert!(!all.contains(&password), "{password} in {all}");
    }
}

fn set_certificate(emu: &Emulator<Cloudways>, names: &[&str]) {
    emu.lock().panel.app_mut(SERVER, APP).certificate =
        Some(names.iter().map(|s| s.to_string()).collect());
}

fn certificate(emu: &Emulator<Cloudways>) -> Vec<String> {
    emu.lock()
        .panel
        .app(SERVER, APP)
        .certificate
        .clone()
        .unwrap_or_default()
}

#[test]
fn the_host_exchanges_the_key_and_the_alias_is_added_to_the_apps_own_list() {
    let (case, emu) = setup("add", "www = \"never\"");
    // Aliases added in the Cloudways panel by hand: the plugin's rebuild would drop them.
    set_aliases(&emu, &["by-hand.example.org"]);
    let run = case.run(&["--json", "add-domain", "Shop.Example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["changed"], true, "{cw}");
    assert_eq!(strings(&cw["notes"])[0], "added shop.example.com");
    assert_eq!(aliases(&emu), ["by-hand.example.org", "shop.example.com"]);

    let requests = emu.requests();
    let login = &requests[0];
    assert_eq!(
        (login.method.as_str(), login.path.as_str()),
        ("POST", "/api/v1/oauth/access_token")
    );
    assert_eq!(
        String::from_utf8_lossy(&login.body),
        format!("email=owner%40network.example&api_key={API_KEY}")
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path == "/api/v1/oauth/access_token")
            .count(),
        1
    );
    for r in &requests[1..] {
        assert!(
            r.header("authorization")
                .is_some_and(|h| h.starts_with("Bearer cw-access-1-")),
            "{}",
            r.path
        );
    }
    let write = &alias_writes(&emu)[0];
    assert_eq!(
        String::from_utf8_lossy(&write.body),
        format!(
            "server_id={SERVER}&app_id={APP}&aliases%5B%5D=by-hand.example.org&aliases%5B%5D=shop.example.com"
        )
    );
    secrets_absent(&run);
}

/// The token exchange's answer comes as real servers send it (the emulator writes the
/// head, then the body): the host keeps driving the connection while it reads the body,
/// so the login neither hangs nor waits out the request timeout.
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
    assert_eq!(aliases(&emu), ["shop.example.com"]);
    secrets_absent(&run);
}

#[test]
fn extra_domains_are_kept_in_the_list_and_never_removed() {
    let case = Case::new("extras");
    let emu = emulator();
    config_with(
        &case,
        &emu,
        "www = \"never\"",
        &format!(
            "{}, WU_CLOUDWAYS_EXTRA_DOMAINS = \"Static.Network.example, cdn.network.example\"",
            ids(&SERVER.to_string(), &APP.to_string())
        ),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        aliases(&emu),
        [
            "shop.example.com",
            "static.network.example",
            "cdn.network.example"
        ]
    );
    let run = case.run(&[
        "--json",
        "remove-domain",
        "cdn.network.example",
        "--site",
        "1",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["changed"], false, "{cw}");
    assert!(
        strings(&cw["notes"])
            .join(" ")
            .contains("cdn.network.example kept: listed in WU_CLOUDWAYS_EXTRA_DOMAINS"),
        "{cw}"
    );
    assert!(aliases(&emu).contains(&"cdn.network.example".to_string()));
}

#[test]
fn subdomain_sites_need_nothing_on_cloudways() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = case.run(&["--json", command, "site1.network.example", "--site", "9"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("cloudways")["changed"], false);
    }
    assert!(emu.requests().is_empty(), "not even a token exchange");
}

#[test]
fn a_refused_key_is_reported_and_nothing_else_is_sent() {
    let case = Case::new("bad-key");
    let emu = emulator();
    let wrong = "cw-wrong-key-0000111";
    case.write_config(&format!(
        "[integrations.cloudways]\nenabled = true\n\
         constants = {{ WU_CLOUDWAYS_EMAIL = \"{EMAIL}\", WU_CLOUDWAYS_API_KEY = \"{wrong}\", {} }}\n\
         routes = {{ \"api.cloudways.com\" = \"{}\" }}\n",
        ids(&SERVER.to_string(), &APP.to_string()),
        emu.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cw = run.integration("cloudways");
    // The host performs the exchange and reports its refusal itself.
    assert_eq!(cw["error"]["kind"], "bad_credentials", "{cw}");
    assert!(
        cw["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the session login was refused (HTTP 401): invalid_credentials"),
        "{cw}"
    );
    assert_eq!(cw["attempts"], 1, "not retried");
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.path == "/api/v1/oauth/access_token")
    );
    assert!(aliases(&emu).is_empty());
    assert!(!run.all_output().contains(wrong));
}

#[test]
fn a_token_refused_mid_event_leads_to_a_new_exchange() {
    let (case, emu) = setup("revoked", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    // The token works for the read, then Cloudways says it expired.
    emu.lock().panel.revoke_after = Some(1);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["changed"], true, "{cw}");
    assert_eq!(emu.lock().panel.logins, 2);
    assert_eq!(aliases(&emu), ["shop.example.com"]);
    secrets_absent(&run);
}

#[test]
fn a_wrong_server_or_app_id_is_reported_before_any_write() {
    for (server, app, expect) in [
        (SERVER.to_string(), "999".to_string(), "WU_CLOUDWAYS_APP_ID"),
        ("1".to_string(), APP.to_string(), "WU_CLOUDWAYS_SERVER_ID"),
    ] {
        let case = Case::new("wrong-id");
        let emu = emulator();
        config_with(&case, &emu, "", &ids(&server, &app));
        for args in [
            vec!["--json", "test"],
            vec!["--json", "add-domain", "shop.example.com", "--site", "4"],
            vec!["--json", "remove-domain", "shop.example.com", "--site", "4"],
        ] {
            let run = case.run(&args);
            assert_eq!(run.status, 1, "{}", run.all_output());
            let cw = run.integration("cloudways");
            assert_eq!(cw["error"]["kind"], "not_found", "{cw}");
            assert!(
                cw["error"]["message"].as_str().unwrap().contains(expect),
                "{cw}"
            );
        }
        assert_eq!(writes(&emu), 0);
    }
    // Not a number at all: refused before anything is sent.
    let case = Case::new("id-not-number");
    let emu = emulator();
    config_with(&case, &emu, "", &ids("web-1", &APP.to_string()));
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.integration("cloudways")["error"]["kind"],
        "invalid_input"
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn panel_errors_are_reported_whether_in_a_422_or_inside_a_200() {
    let (case, emu) = setup("invalid", "www = \"never\"");
    let body =
        serde_json::json!({"aliases": [{"code": "invalid", "message": "Alias is reserved."}]});
    emu.inject(
        Fault::respond(Response::json(422, &body), 1).on("POST", "/api/v1/app/manage/aliases"),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let cw = run.integration("cloudways");
    assert_eq!(cw["error"]["kind"], "invalid_input", "{cw}");
    assert!(
        cw["error"]["message"]
            .as_str()
            .unwrap()
            .contains("aliases: Alias is reserved."),
        "{cw}"
    );
    assert_eq!(cw["attempts"], 1);

    let (case, emu) = setup("status-false", "www = \"never\"");
    let body = serde_json::json!({"status": false, "message": "An operation is already in progress on this application"});
    emu.inject(
        Fault::respond(Response::json(200, &body), 1).on("POST", "/api/v1/app/manage/aliases"),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let cw = run.integration("cloudways");
    assert_eq!(cw["error"]["kind"], "api", "{cw}");
    assert!(
        cw["error"]["message"]
            .as_str()
            .unwrap()
            .contains("status: false: An operation is already in progress"),
        "{cw}"
    );
}

#[test]
fn both_alias_answers_are_accepted() {
    for answer in [AliasAnswer::Empty, AliasAnswer::Status] {
        let (case, emu) = setup(&format!("answer-{answer:?}"), "www = \"never\"");
        emu.lock().panel.alias_answer = answer;
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "{answer:?}: {}", run.all_output());
        assert_eq!(aliases(&emu), ["shop.example.com"]);
    }
}

#[test]
fn a_502_on_the_alias_call_is_retried() {
    let (case, emu) = setup("502", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    emu.inject(Fault::status(502, 1).on("POST", "/api/v1/app/manage/aliases"));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["attempts"], 2, "{cw}");
    assert_eq!(cw["changed"], true);
    assert_eq!(aliases(&emu), ["shop.example.com"]);
}

#[test]
fn a_429_is_waited_out() {
    let (case, emu) = setup("429", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    emu.inject(
        Fault::respond(
            Response::json(429, &serde_json::json!({"error": "Too Many Attempts."}))
                .with_header("retry-after", "1"),
            1,
        )
        .on("GET", "/api/v1/server"),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cloudways")["attempts"], 2);
    assert_eq!(aliases(&emu), ["shop.example.com"]);
}

#[test]
fn concurrent_events_for_the_same_app_lose_no_alias() {
    // The alias call replaces the whole list: the host's account lock serialises events.
    let (case, emu) = setup("concurrent", "www = \"never\"");
    let config = case.config_path();
    let children: Vec<_> = (0..6)
        .map(|i| {
            support::host_command()
                .arg("--config")
                .arg(&config)
                .args(["add-domain", &format!("d{i}.example.com"), "--site", "4"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut list = aliases(&emu);
    list.sort();
    let wanted: Vec<String> = (0..6).map(|i| format!("d{i}.example.com")).collect();
    assert_eq!(list, wanted);
}

#[test]
fn request_certificate_installs_lets_encrypt_and_polls_the_operation() {
    let (case, emu) = setup("cert", "www = \"always\"");
    // The unverified object shape, which lists the certificate's names.
    emu.lock().panel.lets_encrypt_shape = LetsEncryptShape::Object;
    set_aliases(&emu, &["shop.example.com", "www.shop.example.com"]);
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["changed"], true, "{cw}");
    assert!(
        strings(&cw["notes"])[0].contains("installed for shop.example.com, www.shop.example.com"),
        "{cw}"
    );
    let installs = emu.lock().panel.installs.clone();
    assert_eq!(installs.len(), 1);
    assert_eq!(installs[0].ssl_email, EMAIL, "the host put the e-mail in");
    assert_eq!(installs[0].wild_card, "false");
    assert_eq!(
        installs[0].domains,
        [
            "network.example",
            "shop.example.com",
            "www.shop.example.com"
        ],
        "the app's primary domain is always on its certificate"
    );
    let polls = emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/operation/"))
        .count();
    assert_eq!(polls, 2, "polled until is_completed");
    assert_eq!(
        certificate(&emu),
        [
            "network.example",
            "shop.example.com",
            "www.shop.example.com"
        ]
    );
    secrets_absent(&run);

    // Asked again: the certificate covers the names, nothing is sent.
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0);
    assert_eq!(run.integration("cloudways")["changed"], false);
    assert_eq!(emu.lock().panel.installs.len(), 1);

    // Another name: the certificate is replaced, so it keeps the names it covers.
    set_aliases(
        &emu,
        &[
            "shop.example.com",
            "www.shop.example.com",
            "blog.example.net",
        ],
    );
    let run = case.request_certificate("blog.example.net", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let installs = emu.lock().panel.installs.clone();
    assert_eq!(
        installs[1].domains,
        [
            "network.example",
            "shop.example.com",
            "www.shop.example.com",
            "blog.example.net"
        ],
        "www.blog is not an alias, so it is not asked for"
    );
}

#[test]
fn a_certificate_request_never_narrows_the_apps_certificate() {
    // Review #3: `lets_encrypt_install` replaces the certificate. Cloudways' answer gives
    // `lets_encrypt` as a string (cloudways-js-client), which does not say which names the
    // certificate covers: the request carries the primary domain and every alias.
    let (case, emu) = setup("cert-keep", "www = \"never\"");
    set_aliases(&emu, &["a.example.com", "b.example.com"]);
    set_certificate(&emu, &["network.example", "a.example.com"]);
    let run = case.request_certificate("b.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        emu.lock().panel.installs[0].domains,
        ["network.example", "a.example.com", "b.example.com"]
    );
    assert_eq!(
        certificate(&emu),
        ["network.example", "a.example.com", "b.example.com"],
        "network.example and a.example.com keep HTTPS"
    );
    secrets_absent(&run);

    // No certificate yet (`lets_encrypt: null`): the primary domain and the event's names.
    let (case, emu) = setup("cert-first", "www = \"never\"");
    set_aliases(&emu, &["a.example.com", "b.example.com"]);
    let run = case.request_certificate("b.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(certificate(&emu), ["network.example", "b.example.com"]);
}

#[test]
fn with_the_names_listed_an_alias_whose_dns_is_wrong_blocks_nobody() {
    // The object shape (unverified) lists the covered names: the request carries those and
    // the event's names, not an alias whose DNS the host has not verified.
    let (case, emu) = setup("cert-listed", "www = \"never\"");
    emu.lock().panel.lets_encrypt_shape = LetsEncryptShape::Object;
    emu.lock().panel.polls_to_complete = 1;
    set_aliases(
        &emu,
        &["a.example.com", "b.example.com", "bad-dns.example.org"],
    );
    emu.lock()
        .panel
        .failing
        .insert("bad-dns.example.org".into());
    set_certificate(&emu, &["network.example", "a.example.com"]);
    let run = case.request_certificate("b.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        certificate(&emu),
        ["network.example", "a.example.com", "b.example.com"]
    );
}

#[test]
fn a_certificate_over_lets_encrypts_100_names_is_refused_before_anything_is_sent() {
    let (case, emu) = setup("cert-cap", "www = \"never\"");
    let many: Vec<String> = (0..100).map(|i| format!("d{i}.example.com")).collect();
    set_aliases(&emu, &many.iter().map(String::as_str).collect::<Vec<_>>());
    set_certificate(&emu, &["network.example"]);
    let run = case.request_certificate("d7.example.com", 4);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["error"]["kind"], "limit_reached", "{cw}");
    assert!(emu.lock().panel.installs.is_empty());
    assert_eq!(certificate(&emu), ["network.example"]);
}

#[test]
fn the_accounts_passwords_never_reach_any_output() {
    // Review #15: `GET /server` carries every password of the account.
    let (case, emu) = setup("passwords", "www = \"never\"");
    for args in [
        vec!["--json", "test"],
        vec!["--json", "list-domains", "cloudways"],
        vec!["--json", "add-domain", "shop.example.com", "--site", "4"],
    ] {
        let run = case.run(&args);
        assert_eq!(run.status, 0, "{}", run.all_output());
        secrets_absent(&run);
    }
    // `status: false` around the very same list: the error names no field's value.
    let mut body = emu.lock().panel.server_list_body();
    body["status"] = serde_json::json!(false);
    emu.inject(Fault::respond(Response::json(200, &body), 1).on("GET", "/api/v1/server"));
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert!(
        cw["error"]["message"]
            .as_str()
            .unwrap()
            .contains("status: false: no message in the answer"),
        "{cw}"
    );
    secrets_absent(&run);
}

#[test]
fn a_failed_lets_encrypt_operation_is_reported_in_either_form() {
    for failure in [Failure::CompletedWithError, Failure::Negative] {
        let (case, emu) = setup(&format!("cert-failed-{failure:?}"), "www = \"never\"");
        set_aliases(&emu, &["shop.example.com"]);
        emu.lock().panel.failing.insert("shop.example.com".into());
        emu.lock().panel.failure = failure;
        emu.lock().panel.polls_to_complete = 1;
        let run = case.request_certificate("shop.example.com", 4);
        assert_eq!(run.status, 1, "{failure:?}: {}", run.all_output());
        let cw = run.integration("cloudways");
        let message = cw["error"]["message"].as_str().unwrap();
        assert!(
            message
                .contains("could not install the Let's Encrypt certificate for shop.example.com"),
            "{failure:?}: {message}"
        );
        assert_eq!(emu.lock().panel.installs.len(), 1, "not re-requested");
        assert!(emu.lock().panel.app(SERVER, APP).certificate.is_none());
    }
}

#[test]
fn request_certificate_for_a_name_not_on_the_app_is_not_found() {
    let (case, emu) = setup("cert-unmapped", "www = \"never\"");
    let run = case.request_certificate("nope.example.com", 4);
    assert_eq!(run.status, 1);
    assert_eq!(run.integration("cloudways")["error"]["kind"], "not_found");
    assert!(emu.lock().panel.installs.is_empty());
}

#[test]
fn list_domains_marks_the_primary_names() {
    let (case, emu) = setup("list", "");
    set_aliases(&emu, &["a.example.com"]);
    let run = case.run(&["--json", "list-domains", "cloudways"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("cloudways")["domains"],
        serde_json::json!([
            {"name": "network.example", "primary": true},
            {"name": format!("wordpress-{APP}.cloudwaysapps.com"), "primary": true},
            {"name": "a.example.com", "primary": false}
        ])
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn removing_the_last_alias_sends_an_explicit_empty_list() {
    // Review #14: an empty list form-encodes to no field at all; whether Cloudways requires
    // the field is not documented, so the component sends it, empty, and the emulator is
    // run both ways.
    for required in [false, true] {
        let (case, emu) = setup(&format!("last-alias-{required}"), "");
        set_aliases(&emu, &["shop.example.com"]);
        emu.lock().panel.aliases_field_required = required;
        let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "required {required}: {}", run.all_output());
        assert!(aliases(&emu).is_empty());
        assert_eq!(
            String::from_utf8_lossy(&alias_writes(&emu)[0].body),
            format!("server_id={SERVER}&app_id={APP}&aliases%5B%5D=")
        );
    }
}

/// A platform access token (the API key's replacement since 2026-10-15).
const ACCESS_TOKEN: &str = "cwat-7d41c9e2b85f03a6";

fn v2_emulator() -> Emulator<Cloudways> {
    let emu = emulator();
    {
        let mut state = emu.lock();
        state.panel.access_tokens = vec![ACCESS_TOKEN.to_string()];
        // Today is past the cut-off: the old key no longer exchanges.
        state.panel.api_keys_retired = true;
    }
    emu
}

#[test]
fn an_access_token_maps_a_domain_through_v2_with_no_exchange() {
    let case = Case::new("v2-token");
    let emu = v2_emulator();
    // The old key is still in the config: the access token goes first.
    config_with(
        &case,
        &emu,
        "www = \"always\"",
        &format!(
            "WU_CLOUDWAYS_ACCESS_TOKEN = \"{ACCESS_TOKEN}\", {}",
            ids(&SERVER.to_string(), &APP.to_string())
        ),
    );
    set_aliases(&emu, &["by-hand.example.org"]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["changed"], true, "{cw}");
    assert_eq!(
        aliases(&emu),
        [
            "by-hand.example.org",
            "shop.example.com",
            "www.shop.example.com"
        ]
    );
    // The certificate goes through v2 as well, with the e-mail as its contact.
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(emu.lock().panel.installs[0].ssl_email, EMAIL);
    let run_test = case.run(&["--json", "test"]);
    assert_eq!(run_test.status, 0, "{}", run_test.all_output());
    let notes = strings(&run_test.integration("cloudways")["notes"]).join(" ");
    assert!(notes.contains("API v2"), "{notes}");

    let requests = emu.requests();
    assert_eq!(emu.lock().panel.logins, 0);
    for r in &requests {
        assert!(r.path.starts_with("/api/v2/"), "{} {}", r.method, r.path);
        assert!(!r.path.ends_with("/oauth/access_token"), "{}", r.path);
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {ACCESS_TOKEN}").as_str()),
            "{}",
            r.path
        );
    }
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/api/v2/app/manage/aliases")
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/api/v2/security/lets_encrypt_install")
    );
    for run in [&run, &run_test] {
        secrets_absent(run);
        assert!(
            !run.all_output().contains(ACCESS_TOKEN),
            "{}",
            run.all_output()
        );
    }
}

#[test]
fn an_access_token_given_as_the_api_key_is_refused_naming_its_constant() {
    let case = Case::new("v2-token-as-key");
    let emu = v2_emulator();
    case.write_config(&format!(
        "[integrations.cloudways]\nenabled = true\n\
         constants = {{ WU_CLOUDWAYS_EMAIL = \"{EMAIL}\", WU_CLOUDWAYS_API_KEY = \"{ACCESS_TOKEN}\", {} }}\n\
         routes = {{ \"api.cloudways.com\" = \"{}\" }}\n",
        ids(&SERVER.to_string(), &APP.to_string()),
        emu.base_url()
    ));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cw = run.integration("cloudways");
    assert_eq!(cw["error"]["kind"], "bad_credentials", "{cw}");
    let message = cw["error"]["message"].as_str().unwrap();
    assert!(message.contains("invalid_credentials"), "{cw}");
    assert!(message.contains("WU_CLOUDWAYS_ACCESS_TOKEN"), "{cw}");
    assert_eq!(cw["attempts"], 1, "not retried");
    // The exchange only, on v1; nothing else.
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.path == "/api/v1/oauth/access_token")
    );
    assert!(aliases(&emu).is_empty());
    assert!(
        !run.all_output().contains(ACCESS_TOKEN),
        "{}",
        run.all_output()
    );
    secrets_absent(&run);
}

#[test]
fn a_refused_access_token_names_its_constant_in_either_error_shape() {
    for shape in [cw::V2Errors::OAuth, cw::V2Errors::Message] {
        let case = Case::new("v2-token-refused");
        let emu = v2_emulator();
        emu.lock().panel.v2_errors = shape;
        let wrong = "cwat-revoked-00ff11";
        config_with(
            &case,
            &emu,
            "",
            &format!(
                "WU_CLOUDWAYS_ACCESS_TOKEN = \"{wrong}\", {}",
                ids(&SERVER.to_string(), &APP.to_string())
            ),
        );
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 1, "{}", run.all_output());
        let cw = run.integration("cloudways");
        assert_eq!(cw["error"]["kind"], "bad_credentials", "{cw}");
        let message = cw["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("(401): The access token provided is invalid or has expired.")
                && message.contains("check WU_CLOUDWAYS_ACCESS_TOKEN"),
            "{shape:?}: {cw}"
        );
        assert_eq!(writes(&emu), 0);
        assert_eq!(emu.lock().panel.logins, 0);
        assert!(!run.all_output().contains(wrong));
        secrets_absent(&run);
    }
}
