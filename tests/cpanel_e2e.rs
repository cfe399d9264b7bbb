//! cPanel end to end: the real `domain-host`, the real component, the cPanel emulator on
//! loopback behind the operator's host name. Addon domains (UAPI, API 2 on older cPanel),
//! cPanel's own removal key, subdomain sites, AutoSSL, both credential styles, errors inside
//! HTTP 200, retries.

mod support;

use panel_emulators::cpanel::{CPanel, TokenFailure};
use panel_emulators::server::basic_header;
use panel_emulators::{Emulator, Fault, FaultKind, Request, Response};
use support::{Case, strings};

const USER: &str = "cpuser";
const TOKEN: &str = "CPTOKEN0123456789ABCDEFGHIJKLMNOP";
const PASSWORD: &str = "cp-password-s3cret-!@#";
const MAIN: &str = "hosting-main.com";
const PANEL_HOST: &str = "cp.hosting-panel.test";

fn emulator() -> Emulator<CPanel> {
    Emulator::spawn(CPanel::new(USER, TOKEN, PASSWORD, MAIN), 0).expect("emulator")
}

fn token_constants() -> String {
    format!(
        "WU_CPANEL_USERNAME = \"{USER}\", WU_CPANEL_API_TOKEN = \"{TOKEN}\", WU_CPANEL_HOST = \"{PANEL_HOST}\""
    )
}

fn config(case: &Case, emu: &Emulator<CPanel>, top: &str, constants: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.cpanel]\nenabled = true\nconstants = {{ {constants} }}\nroutes = {{ \"{PANEL_HOST}\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn setup(name: &str, top: &str) -> (Case, Emulator<CPanel>) {
    setup_with(name, top, &token_constants())
}

fn setup_with(name: &str, top: &str, constants: &str) -> (Case, Emulator<CPanel>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu, top, constants);
    (case, emu)
}

/// Decoded form or query parameters of a request.
fn params(r: &Request) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && let Some(v) = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let body = String::from_utf8_lossy(&r.body).into_owned();
    [r.query.as_str(), body.as_str()]
        .iter()
        .flat_map(|t| t.split('&'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn param(r: &Request, name: &str) -> Option<String> {
    params(r)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The cPanel function a request calls: `("uapi"|"api2", "Module::function")`.
fn call(r: &Request) -> (String, String) {
    let segments: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["execute", m, f] => ("uapi".into(), format!("{m}::{f}")),
        _ => (
            "api2".into(),
            format!(
                "{}::{}",
                param(r, "cpanel_jsonapi_module").unwrap_or_default(),
                param(r, "cpanel_jsonapi_func").unwrap_or_default()
            ),
        ),
    }
}

fn calls(emu: &Emulator<CPanel>) -> Vec<String> {
    emu.requests()
        .iter()
        .map(|r| {
            let (api, f) = call(r);
            format!("{api} {f}")
        })
        .collect()
}

const WRITES: &[&str] = &[
    "addaddondomain",
    "deladdondomain",
    "addsubdomain",
    "delsubdomain",
    "start_autossl_check",
];

fn writes(emu: &Emulator<CPanel>) -> Vec<String> {
    calls(emu)
        .into_iter()
        .filter(|c| WRITES.iter().any(|w| c.ends_with(&format!("::{w}"))))
        .collect()
}

fn find(emu: &Emulator<CPanel>, function: &str) -> Request {
    emu.requests()
        .into_iter()
        .find(|r| call(r).1.ends_with(&format!("::{function}")))
        .unwrap_or_else(|| panic!("no {function} call: {:?}", calls(emu)))
}

#[test]
fn add_domain_creates_an_addon_domain_with_uapi_and_the_token() {
    let (case, emu) = setup("add", "www = \"always\"");
    let run = case.run(&[
        "--json",
        "add-domain",
        "Shop.Acme-Widgets.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cp = run.integration("cpanel");
    assert_eq!(cp["changed"], true, "{cp}");
    let addon = emu
        .lock()
        .panel
        .addon("shop.acme-widgets.com")
        .cloned()
        .expect("addon created");
    assert_eq!(addon.label, "shopacme-widgetscom");
    assert_eq!(addon.dir, "/public_html");
    let add = find(&emu, "addaddondomain");
    assert_eq!(call(&add).0, "uapi");
    assert_eq!(add.method, "POST");
    assert_eq!(param(&add, "newdomain").unwrap(), "shop.acme-widgets.com");
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("cpanel {USER}:{TOKEN}"))),
        "every call carries the token header"
    );
    assert!(!run.all_output().contains(TOKEN));
}

#[test]
fn an_older_cpanel_without_uapi_addon_domains_gets_api_2() {
    let (case, emu) = setup("api2", "");
    emu.lock().panel.uapi_addon = false;
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(emu.lock().panel.addon("acme-widgets.com").is_some());
    assert_eq!(
        writes(&emu),
        vec![
            "uapi AddonDomain::addaddondomain",
            "api2 AddonDomain::addaddondomain"
        ]
    );
    let api2 = emu
        .requests()
        .into_iter()
        .rfind(|r| call(r).1 == "AddonDomain::addaddondomain")
        .unwrap();
    assert_eq!(param(&api2, "cpanel_jsonapi_apiversion").unwrap(), "2");
    assert_eq!(param(&api2, "subdomain").unwrap(), "acme-widgetscom");
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(emu.lock().panel.addon("acme-widgets.com").is_none());
    assert!(
        emu.lock()
            .panel
            .sub("acme-widgetscom.hosting-main.com")
            .is_none()
    );
}

/// Review #13: on cPanel 11.138+ UAPI `addaddondomain` also creates an FTP account
/// (UAPI spec); an account at its FTP limit refuses it unless `ftp_is_optional=1`
/// (`panel-apis-a.md` §2.5).
#[test]
fn an_account_at_its_ftp_limit_still_gets_its_addon_domain() {
    let (case, emu) = setup("ftp-quota", "");
    emu.lock().panel.ftp_at_quota = true;
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cpanel")["changed"], true);
    assert!(emu.lock().panel.addon("acme-widgets.com").is_some());
    let add = find(&emu, "addaddondomain");
    assert_eq!(call(&add).0, "uapi");
    assert_eq!(param(&add, "ftp_is_optional").as_deref(), Some("1"));
    assert_eq!(writes(&emu), vec!["uapi AddonDomain::addaddondomain"]);
}

/// Review #13, the other shape: should UAPI not read `ftp_is_optional` (unverified), its
/// FTP-limit refusal is retried through API 2, which reads it.
#[test]
fn an_ftp_limit_refusal_from_uapi_falls_back_to_api_2() {
    let (case, emu) = setup("ftp-quota-api2", "");
    emu.lock().panel.ftp_at_quota = true;
    emu.lock().panel.uapi_ftp_optional = false;
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(emu.lock().panel.addon("acme-widgets.com").is_some());
    assert_eq!(
        writes(&emu),
        vec![
            "uapi AddonDomain::addaddondomain",
            "api2 AddonDomain::addaddondomain"
        ]
    );
    let api2 = emu
        .requests()
        .into_iter()
        .rfind(|r| call(r).1 == "AddonDomain::addaddondomain")
        .unwrap();
    assert_eq!(param(&api2, "ftp_is_optional").as_deref(), Some("1"));
}

#[test]
fn a_label_another_subdomain_uses_is_not_reused() {
    let (case, emu) = setup("label-taken", "");
    emu.lock().panel.seed_sub("acme-widgetscom", MAIN);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        emu.lock().panel.addon("acme-widgets.com").unwrap().label,
        "acme-widgetscom2"
    );
}

#[test]
fn a_domain_another_account_holds_is_a_conflict_with_cpanels_text() {
    let (case, emu) = setup("elsewhere", "");
    emu.lock().panel.elsewhere = vec!["acme-widgets.com".into()];
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cp = run.integration("cpanel");
    assert_eq!(cp["error"]["kind"], "conflict", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The domain “acme-widgets.com” already exists in the userdata."),
        "{cp}"
    );
    assert_eq!(cp["attempts"], 1);
}

#[test]
fn a_failure_inside_http_200_is_an_error_with_cpanels_text() {
    let (case, emu) = setup("limit", "");
    emu.lock().panel.addon_limit = Some(0);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cp = run.integration("cpanel");
    assert_eq!(cp["error"]["kind"], "limit_reached", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Your addon domain limit of 0 addon domain(s) has been reached."),
        "{cp}"
    );
    assert!(emu.lock().panel.addons.is_empty());
    // API 2's `cpanelresult.error` too: a subdomain an addon domain is parked on.
    emu.lock().panel.seed_addon("parked-shop.com", "site7");
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site7.hosting-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let cp = run.integration("cpanel");
    assert_eq!(cp["error"]["kind"], "conflict", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("You must remove the addon domain before you remove the subdomain"),
        "{cp}"
    );
    assert!(emu.lock().panel.sub("site7.hosting-main.com").is_some());
}

#[test]
fn removal_uses_the_key_cpanel_really_uses() {
    let (case, emu) = setup("remove", "");
    // Created by hand with a label WordPress could not guess.
    emu.lock().panel.seed_addon("acme-widgets.com", "acmeshop");
    emu.lock()
        .panel
        .seed_addon("other-shop.com", "othershopcom");
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cpanel")["changed"], true);
    let del = find(&emu, "deladdondomain");
    assert_eq!(
        param(&del, "subdomain").unwrap(),
        "acmeshop_hosting-main.com"
    );
    let panel = &emu.lock().panel;
    assert!(panel.addon("acme-widgets.com").is_none());
    assert!(panel.sub("acmeshop.hosting-main.com").is_none());
    assert!(panel.addon("other-shop.com").is_some());
}

#[test]
fn subdomain_sites_are_created_and_deleted() {
    let (case, emu) = setup("subdomain", "");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.hosting-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cpanel")["changed"], true);
    let sub = emu
        .lock()
        .panel
        .sub("site1.hosting-main.com")
        .cloned()
        .unwrap();
    assert_eq!(
        (sub.label.as_str(), sub.dir.as_str()),
        ("site1", "/public_html")
    );
    assert_eq!(call(&find(&emu, "addsubdomain")).0, "uapi");
    // The same host mapped as a domain (a subdomain network maps its sites too).
    let run = case.run(&[
        "--json",
        "add-domain",
        "site1.hosting-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cpanel")["changed"], false);
    let before = writes(&emu).len();
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.hosting-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.integration("cpanel")["changed"], false);
    assert_eq!(writes(&emu).len(), before);
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.hosting-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cpanel")["changed"], true);
    assert_eq!(call(&find(&emu, "delsubdomain")).0, "api2");
    assert!(emu.lock().panel.sub("site1.hosting-main.com").is_none());
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.hosting-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0);
    assert_eq!(run.integration("cpanel")["changed"], false);
}

#[test]
fn a_subdomain_outside_the_account_is_refused_before_any_write() {
    let (case, emu) = setup("subdomain-outside", "");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.elsewhere.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1);
    assert_eq!(run.integration("cpanel")["error"]["kind"], "invalid_input");
    assert!(writes(&emu).is_empty());
}

#[test]
fn request_certificate_starts_one_autossl_check() {
    let (case, emu) = setup("autossl", "");
    emu.lock()
        .panel
        .seed_addon("acme-widgets.com", "acmewidgetscom");
    let run = case.request_certificate("acme-widgets.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("cpanel")["changed"], true);
    assert_eq!(emu.lock().panel.autossl_runs, 1);
    assert_eq!(call(&find(&emu, "start_autossl_check")).0, "uapi");
    // While it runs, no second check is queued.
    let run = case.request_certificate("acme-widgets.com", 4);
    assert_eq!(run.status, 0);
    let cp = run.integration("cpanel");
    assert_eq!(cp["changed"], false);
    assert!(strings(&cp["notes"])[0].contains("already running"), "{cp}");
    assert_eq!(emu.lock().panel.autossl_runs, 1);
    emu.lock().panel.finish_autossl();
    let run = case.request_certificate("acme-widgets.com", 4);
    assert_eq!(run.integration("cpanel")["changed"], true);
    assert_eq!(emu.lock().panel.autossl_runs, 2);
    let run = case.request_certificate("unmapped-shop.com", 4);
    assert_eq!(run.integration("cpanel")["error"]["kind"], "not_found");
}

#[test]
fn list_domains_shows_the_accounts_names_without_addon_subdomains() {
    let (case, emu) = setup("list", "");
    {
        let mut shared = emu.lock();
        shared
            .panel
            .seed_addon("acme-widgets.com", "acmewidgetscom");
        shared.panel.parked.push("alias-shop.com".into());
        shared.panel.seed_sub("site1", MAIN);
        shared.panel.main_domain_as_array = true;
    }
    let run = case.run(&["--json", "list-domains"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let listed = run.integration("cpanel")["domains"].clone();
    let names: Vec<(String, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["primary"] == true,
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (MAIN.to_string(), true),
            ("acme-widgets.com".to_string(), false),
            ("alias-shop.com".to_string(), false),
            ("site1.hosting-main.com".to_string(), false),
        ]
    );
    assert!(writes(&emu).is_empty());
}

#[test]
fn a_bad_token_is_rejected_credentials_in_either_answer() {
    for failure in [TokenFailure::Text401, TokenFailure::Json403] {
        let bad = "BADTOKEN999999999999999999";
        let (case, emu) = setup_with(
            "bad-token",
            "",
            &format!(
                "WU_CPANEL_USERNAME = \"{USER}\", WU_CPANEL_API_TOKEN = \"{bad}\", WU_CPANEL_HOST = \"{PANEL_HOST}\""
            ),
        );
        emu.lock().panel.token_failure = failure;
        let run = case.run(&["--json", "--log-level", "trace", "test"]);
        assert_eq!(run.status, 1, "{failure:?}");
        let cp = run.integration("cpanel");
        assert_eq!(cp["error"]["kind"], "bad_credentials", "{cp}");
        let message = cp["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Access denied") && message.contains("WU_CPANEL_API_TOKEN"),
            "{message}"
        );
        assert!(!run.all_output().contains(bad));
    }
}

#[test]
fn the_password_goes_as_basic_auth() {
    let (case, emu) = setup_with(
        "password",
        "",
        &format!(
            "WU_CPANEL_USERNAME = \"{USER}\", WU_CPANEL_HOST = \"{PANEL_HOST}\", WU_CPANEL_PASSWORD = \"{PASSWORD}\""
        ),
    );
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(emu.lock().panel.addon("acme-widgets.com").is_some());
    let expected = basic_header(USER, PASSWORD);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(expected.as_str()))
    );
    assert!(!run.all_output().contains(PASSWORD));
    // A wrong password: API 2's "Access denied" with 403.
    let (case, _emu) = setup_with(
        "bad-password",
        "",
        &format!(
            "WU_CPANEL_USERNAME = \"{USER}\", WU_CPANEL_HOST = \"{PANEL_HOST}\", WU_CPANEL_PASSWORD = \"nope-nope-nope\""
        ),
    );
    let run = case.run(&["--json", "test"]);
    let cp = run.integration("cpanel");
    assert_eq!(cp["error"]["kind"], "bad_credentials", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WU_CPANEL_PASSWORD")
    );
}

#[test]
fn a_wrong_username_is_reported_as_rejected_credentials() {
    let (case, emu) = setup_with(
        "wrong-user",
        "",
        &format!(
            "WU_CPANEL_USERNAME = \"someoneelse\", WU_CPANEL_API_TOKEN = \"{TOKEN}\", WU_CPANEL_HOST = \"{PANEL_HOST}\""
        ),
    );
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let cp = run.integration("cpanel");
    assert_eq!(cp["error"]["kind"], "bad_credentials", "{cp}");
    assert!(
        cp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WU_CPANEL_USERNAME")
    );
    assert!(writes(&emu).is_empty());
}

#[test]
fn a_login_page_instead_of_json_is_rejected_credentials() {
    let (case, emu) = setup("login-page", "");
    let page = Response {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><head><title>cPanel Login</title></head></html>".to_vec(),
    };
    emu.inject(Fault {
        method: None,
        path_prefix: None,
        times: 1,
        kind: FaultKind::Respond(page),
    });
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.integration("cpanel")["error"]["kind"],
        "bad_credentials"
    );
}

#[test]
fn a_host_written_as_a_url_keeps_its_port() {
    let (case, emu) = setup_with(
        "host-url",
        "",
        &format!(
            "WU_CPANEL_USERNAME = \"{USER}\", WU_CPANEL_API_TOKEN = \"{TOKEN}\", WU_CPANEL_HOST = \"https://{PANEL_HOST}:2087/\""
        ),
    );
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(emu.requests().len(), 1);
    let run = case.run(&["--json", "list"]);
    assert!(
        run.stdout.contains(&format!("https://{PANEL_HOST}:2087")),
        "{}",
        run.stdout
    );
}
