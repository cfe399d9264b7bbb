//! Plesk end to end: the real `domain-host`, the real component, the Plesk emulator on
//! loopback behind the operator's host name. Site aliases with the `www` policy, subdomains
//! by label, the CLI gateway's failures inside HTTP 200, API key and admin login, no Let's
//! Encrypt run that could replace the site's one certificate, retries.

mod support;

use panel_emulators::plesk::Plesk;
use panel_emulators::server::basic_header;
use panel_emulators::{Emulator, Fault, FaultKind, Request};
use support::{Case, Run, strings};

const ADMIN: &str = "admin";
const PASSWORD: &str = "plesk-Admin-pw-5521";
const KEY: &str = "1f2e3d4c-5b6a-4789-8abc-def012345678";
const SITE: &str = "network-main.com";
const PANEL_HOST: &str = "plesk.hosting-panel.test";

fn emulator() -> Emulator<Plesk> {
    let mut panel = Plesk::new(ADMIN, PASSWORD, SITE);
    panel.keys.push(KEY.into());
    panel.sites.insert(
        "other-site.org".into(),
        panel_emulators::plesk::Site {
            aliases: vec!["taken-shop.com".into()],
            ..Default::default()
        },
    );
    Emulator::spawn(panel, 0).expect("emulator")
}

fn constants_with(auth: &str, site: &str) -> String {
    format!("WU_PLESK_HOST = \"{PANEL_HOST}\", {auth}, WU_PLESK_DOMAIN = \"{site}\"")
}

fn key_constants() -> String {
    constants_with(&format!("WU_PLESK_API_KEY = \"{KEY}\""), SITE)
}

fn setup_with(name: &str, top: &str, constants: &str) -> (Case, Emulator<Plesk>) {
    let case = Case::new(name);
    let emu = emulator();
    case.write_config(&format!(
        "{top}\n[integrations.plesk]\nenabled = true\nconstants = {{ {constants} }}\nroutes = {{ \"{PANEL_HOST}\" = \"{}\" }}\n",
        emu.base_url()
    ));
    (case, emu)
}

fn setup(name: &str, top: &str) -> (Case, Emulator<Plesk>) {
    setup_with(name, top, &key_constants())
}

fn aliases(emu: &Emulator<Plesk>) -> Vec<String> {
    emu.lock().panel.site(SITE).unwrap().aliases.clone()
}

fn subdomains(emu: &Emulator<Plesk>) -> Vec<(String, String)> {
    emu.lock()
        .panel
        .site(SITE)
        .unwrap()
        .subdomains
        .iter()
        .map(|(l, r)| (l.clone(), r.clone()))
        .collect()
}

fn writes(emu: &Emulator<Plesk>) -> Vec<String> {
    emu.lock().panel.writes()
}

fn params(r: &Request) -> Vec<String> {
    r.json().unwrap()["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn no_secret(run: &Run) {
    let out = run.all_output();
    for secret in [PASSWORD, KEY] {
        assert!(!out.contains(secret), "secret leaked:\n{out}");
    }
}

fn gateway_answer(code: i64, stderr: &str) -> panel_emulators::Response {
    panel_emulators::Response::json(
        200,
        &serde_json::json!({ "code": code, "stdout": "", "stderr": stderr }),
    )
}

#[test]
fn add_domain_creates_site_aliases_for_the_domain_and_its_www() {
    let (case, emu) = setup("add", "www = \"always\"");
    let run = case.run(&[
        "--json",
        "add-domain",
        "Shop.Acme-Widgets.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let p = run.integration("plesk");
    assert_eq!(p["changed"], true, "{p}");
    assert_eq!(
        aliases(&emu),
        vec!["shop.acme-widgets.com", "www.shop.acme-widgets.com"]
    );
    assert_eq!(
        writes(&emu),
        vec![
            format!("site_alias --create shop.acme-widgets.com -domain {SITE}"),
            format!("site_alias --create www.shop.acme-widgets.com -domain {SITE}"),
        ]
    );
    let create = emu
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v2/cli/site_alias/call" && params(r)[0] == "--create")
        .unwrap();
    assert_eq!(create.method, "POST");
    assert_eq!(
        params(&create),
        vec!["--create", "shop.acme-widgets.com", "-domain", SITE]
    );
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("x-api-key") == Some(KEY) && r.header("authorization").is_none())
    );
    no_secret(&run);
}

#[test]
fn the_www_policy_never_adds_only_the_domain() {
    let (case, emu) = setup("www-never", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(aliases(&emu), vec!["acme-widgets.com"]);
}

#[test]
fn an_alias_of_another_site_is_a_conflict() {
    let (case, emu) = setup("elsewhere", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "taken-shop.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let p = run.integration("plesk");
    assert_eq!(p["error"]["kind"], "conflict", "{p}");
    assert!(
        p["error"]["message"]
            .as_str()
            .unwrap()
            .contains("other-site.org"),
        "{p}"
    );
    assert!(writes(&emu).is_empty());
    // When --info does not say which site (unverified output), the alias is taken as
    // present, nothing is written, and the report says Plesk did not tell.
    emu.lock().panel.info_names_site = false;
    let run = case.run(&["--json", "add-domain", "taken-shop.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let p = run.integration("plesk");
    assert_eq!(p["changed"], false);
    assert!(
        strings(&p["notes"])
            .join(" ")
            .contains("did not say of which site"),
        "{p}"
    );
    assert!(writes(&emu).is_empty());
}

#[test]
fn a_nonzero_code_inside_http_200_is_an_error_with_its_stderr() {
    let (case, emu) = setup("code-1", "www = \"never\"");
    emu.lock().panel.alias_limit = Some(0);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let p = run.integration("plesk");
    assert_eq!(p["error"]["kind"], "limit_reached", "{p}");
    let message = p["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("The limit on the number of domain aliases is exceeded"),
        "{message}"
    );
    assert!(message.contains("exit code 1"), "{message}");
    assert_eq!(p["attempts"], 1);
    assert!(aliases(&emu).is_empty());
    // Any other failure text is an API error carrying it.
    emu.lock().panel.alias_limit = None;
    emu.inject(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v2/cli/site_alias/call".into()),
        times: 1,
        kind: FaultKind::Delay(std::time::Duration::ZERO),
    });
    emu.inject(
        Fault::respond(
            gateway_answer(1, "Unable to update Apache configuration"),
            1,
        )
        .on("POST", "/api/v2/cli/site_alias/call"),
    );
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let p = run.integration("plesk");
    assert_eq!(p["error"]["kind"], "api", "{p}");
    assert!(
        p["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unable to update Apache configuration"),
        "{p}"
    );
}

#[test]
fn subdomain_sites_are_subdomains_by_label() {
    let (case, emu) = setup("subdomain", "www = \"never\"");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("plesk")["changed"], true);
    assert_eq!(
        subdomains(&emu),
        vec![("site1".to_string(), "/httpdocs".to_string())]
    );
    assert_eq!(
        writes(&emu),
        vec![format!(
            "subdomain --create site1 -domain {SITE} -www-root /httpdocs"
        )]
    );
    // The same host mapped as a domain (a subdomain network maps its sites too).
    let run = case.run(&[
        "--json",
        "add-domain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("plesk")["changed"], false);
    assert_eq!(writes(&emu).len(), 1);
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("plesk")["changed"], true);
    assert!(subdomains(&emu).is_empty());
    assert_eq!(
        writes(&emu)[1],
        format!("subdomain --remove site1 -domain {SITE}")
    );
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.integration("plesk")["changed"], false);
    assert_eq!(writes(&emu).len(), 2);
    // A host outside the site is refused before anything is sent.
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.elsewhere.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.integration("plesk")["error"]["kind"], "invalid_input");
    assert_eq!(writes(&emu).len(), 2);
}

#[test]
fn a_wrong_site_is_not_found_whether_plesk_answers_an_empty_list_or_404() {
    for four_oh_four in [false, true] {
        let (case, emu) = setup_with(
            "wrong-site",
            "",
            &constants_with(&format!("WU_PLESK_API_KEY = \"{KEY}\""), "not-here.com"),
        );
        emu.lock().panel.missing_domain_404 = four_oh_four;
        let run = case.run(&["--json", "test"]);
        assert_eq!(run.status, 1);
        let p = run.integration("plesk");
        assert_eq!(p["error"]["kind"], "not_found", "{p}");
        assert!(
            p["error"]["message"]
                .as_str()
                .unwrap()
                .contains("WU_PLESK_DOMAIN"),
            "{p}"
        );
        // And an event on it: Plesk's own "Unable to find domain" from the gateway, and
        // the constant to check.
        let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
        assert_eq!(run.status, 1);
        let p = run.integration("plesk");
        assert_eq!(p["error"]["kind"], "not_found", "{p}");
        let message = p["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Unable to find domain not-here.com"),
            "{p}"
        );
        assert!(message.contains("WU_PLESK_DOMAIN"), "{p}");
    }
}

#[test]
fn the_admin_login_goes_as_basic_auth() {
    let (case, emu) = setup_with(
        "password",
        "www = \"never\"",
        &constants_with(
            &format!("WU_PLESK_USERNAME = \"{ADMIN}\", WU_PLESK_PASSWORD = \"{PASSWORD}\""),
            SITE,
        ),
    );
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let expected = basic_header(ADMIN, PASSWORD);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(expected.as_str()))
    );
    no_secret(&run);
    let (case, _emu) = setup_with(
        "bad-password",
        "",
        &constants_with(
            "WU_PLESK_USERNAME = \"admin\", WU_PLESK_PASSWORD = \"nope-nope-nope\"",
            SITE,
        ),
    );
    let run = case.run(&["--json", "test"]);
    let p = run.integration("plesk");
    assert_eq!(p["error"]["kind"], "bad_credentials", "{p}");
    assert!(
        p["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WU_PLESK_PASSWORD"),
        "{p}"
    );
}

#[test]
fn no_certificate_request_replaces_the_sites_certificate() {
    // Review #4: the site carries one certificate with its aliases on it, and a Let's
    // Encrypt run replaces it with exactly the names given. The component leaves issuance
    // to SSL It! "Keep websites secured", as the PHP plugin does.
    let (case, emu) = setup("certificate", "www = \"always\"");
    {
        let mut shared = emu.lock();
        shared.panel.site_mut(SITE).unwrap().aliases = vec![
            "a-shop.com".into(),
            "acme-widgets.com".into(),
            "www.acme-widgets.com".into(),
        ];
        shared.panel.certificates.insert(
            SITE.into(),
            vec![SITE.into(), format!("www.{SITE}"), "a-shop.com".into()],
        );
    }
    let run = case.request_certificate("acme-widgets.com", 4);
    let p = run.integration("plesk");
    assert_eq!(p["error"]["kind"], "unsupported", "{p}");
    assert_eq!(
        emu.lock().panel.certificates[SITE],
        vec![SITE.to_string(), format!("www.{SITE}"), "a-shop.com".into()],
        "the site and its other aliases keep HTTPS"
    );
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.path != "/api/v2/cli/extension/call"),
        "no Let's Encrypt run"
    );
}

#[test]
fn an_unknown_utility_is_explained() {
    let (case, emu) = setup("no-utility", "www = \"never\"");
    emu.inject(
        Fault::respond(
            panel_emulators::Response::json(
                404,
                &serde_json::json!({"code": 0, "message": "Command site_alias not found"}),
            ),
            1,
        )
        .on("POST", "/api/v2/cli/site_alias/call"),
    );
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let p = run.integration("plesk");
    let message = p["error"]["message"].as_str().unwrap();
    assert!(message.contains("CLI gateway has no utility"), "{message}");
}

#[test]
fn the_allowed_host_is_the_configured_host_and_port() {
    let (case, _emu) = setup("allowed-default", "");
    let run = case.run(&["list"]);
    assert!(
        run.stdout.contains(&format!("{PANEL_HOST}:8443")),
        "{}",
        run.stdout
    );
    let (case, _emu) = setup_with(
        "allowed-url",
        "",
        &format!(
            "WU_PLESK_HOST = \"https://{PANEL_HOST}:9443/\", WU_PLESK_API_KEY = \"{KEY}\", \
             WU_PLESK_DOMAIN = \"{SITE}\""
        ),
    );
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .contains(&format!("https://{PANEL_HOST}:9443/api/v2/server")),
        "{}",
        run.stdout
    );
    let run = case.run(&["list"]);
    assert!(
        run.stdout.contains(&format!("https://{PANEL_HOST}:9443")),
        "{}",
        run.stdout
    );
}
