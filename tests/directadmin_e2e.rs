//! DirectAdmin end to end: the real `domain-host`, the real component, the DirectAdmin
//! emulator on loopback behind the operator's host name. Domain pointers (aliases) with the
//! `www` policy, `error=1` answers in both formats, the login page as rejected credentials,
//! login keys, retries.

mod support;

use panel_emulators::directadmin::{DirectAdmin, LoginKey};
use panel_emulators::server::basic_header;
use panel_emulators::{Emulator, Request};
use support::{Case, Run, strings};

const USER: &str = "wpadmin";
const PASSWORD: &str = "da-Pass-w0rd-4417";
const KEY: &str = "DAKEY9f8e7d6c5b4a3928170ZYXWVUTSRQPONMLKJIHGFEDCBA";
const DOMAIN: &str = "network-main.com";
const PANEL_HOST: &str = "da.hosting-panel.test";

fn emulator() -> Emulator<DirectAdmin> {
    let mut panel = DirectAdmin::new(USER, PASSWORD, DOMAIN);
    panel.keys.push(LoginKey {
        key: KEY.into(),
        commands: None,
    });
    panel.elsewhere = vec!["taken-shop.com".into()];
    Emulator::spawn(panel, 0).expect("emulator")
}

fn constants_with(user: &str, secret: &str, domain: &str) -> String {
    format!(
        "WU_DIRECTADMIN_HOST = \"{PANEL_HOST}\", WU_DIRECTADMIN_USERNAME = \"{user}\", {secret}, \
         WU_DIRECTADMIN_DOMAIN = \"{domain}\""
    )
}

fn key_constants() -> String {
    constants_with(
        USER,
        &format!("WU_DIRECTADMIN_API_TOKEN = \"{KEY}\""),
        DOMAIN,
    )
}

fn password_constants() -> String {
    constants_with(
        USER,
        &format!("WU_DIRECTADMIN_PASSWORD = \"{PASSWORD}\""),
        DOMAIN,
    )
}

fn config(case: &Case, emu: &Emulator<DirectAdmin>, top: &str, constants: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.directadmin]\nenabled = true\nconstants = {{ {constants} }}\nroutes = {{ \"{PANEL_HOST}\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn setup_with(name: &str, top: &str, constants: &str) -> (Case, Emulator<DirectAdmin>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu, top, constants);
    (case, emu)
}

fn setup(name: &str, top: &str) -> (Case, Emulator<DirectAdmin>) {
    setup_with(name, top, &key_constants())
}

fn pointers(emu: &Emulator<DirectAdmin>) -> Vec<String> {
    emu.lock().panel.pointers(DOMAIN)
}

fn seed(emu: &Emulator<DirectAdmin>, name: &str, alias: bool) {
    emu.lock()
        .panel
        .domains
        .get_mut(DOMAIN)
        .unwrap()
        .insert(name.into(), alias);
}

fn writes(emu: &Emulator<DirectAdmin>) -> Vec<Request> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

fn param(r: &Request, name: &str) -> Option<String> {
    r.form_params().get(name).cloned()
}

fn no_secret(run: &Run) {
    let out = run.all_output();
    for secret in [PASSWORD, KEY] {
        assert!(!out.contains(secret), "secret leaked:\n{out}");
    }
}

#[test]
fn add_domain_adds_alias_pointers_for_the_domain_and_its_www() {
    let (case, emu) = setup("add", "www = \"always\"");
    let run = case.run(&[
        "--json",
        "add-domain",
        "Shop.Acme-Widgets.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let da = run.integration("directadmin");
    assert_eq!(da["changed"], true, "{da}");
    assert_eq!(
        pointers(&emu),
        vec!["shop.acme-widgets.com", "www.shop.acme-widgets.com"]
    );
    let posts = writes(&emu);
    assert_eq!(posts.len(), 2);
    for (post, from) in posts
        .iter()
        .zip(["shop.acme-widgets.com", "www.shop.acme-widgets.com"])
    {
        assert_eq!(post.path, "/CMD_API_DOMAIN_POINTER");
        assert_eq!(param(post, "domain").as_deref(), Some(DOMAIN));
        assert_eq!(param(post, "action").as_deref(), Some("add"));
        assert_eq!(param(post, "from").as_deref(), Some(from));
        assert_eq!(param(post, "alias").as_deref(), Some("yes"));
    }
    let expected = basic_header(USER, KEY);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(expected.as_str()))
    );
    assert!(
        emu.lock().panel.domains[DOMAIN]
            .values()
            .all(|alias| *alias)
    );
    no_secret(&run);
}

#[test]
fn the_www_policy_never_adds_only_the_domain() {
    let (case, emu) = setup("www-never", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(pointers(&emu), vec!["acme-widgets.com"]);
}

#[test]
fn a_redirecting_pointer_is_a_conflict() {
    let (case, emu) = setup("redirect", "www = \"never\"");
    seed(&emu, "acme-widgets.com", false);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let da = run.integration("directadmin");
    assert_eq!(da["error"]["kind"], "conflict", "{da}");
    assert!(writes(&emu).is_empty());
}

#[test]
fn a_redirecting_pointer_is_never_removed() {
    // This integration only adds alias pointers: a redirecting one is someone else's.
    let (case, emu) = setup("remove-redirect", "www = \"always\"");
    seed(&emu, "acme-widgets.com", false);
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let da = run.integration("directadmin");
    assert_eq!(da["changed"], false, "{da}");
    assert!(
        strings(&da["notes"])[0].contains("redirecting pointer"),
        "the note says why it stays: {da}"
    );
    assert!(writes(&emu).is_empty(), "{:?}", writes(&emu));
    assert_eq!(pointers(&emu), vec!["acme-widgets.com"]);
}

#[test]
fn a_name_another_user_holds_is_a_conflict_with_directadmins_text() {
    let (case, emu) = setup("elsewhere", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "taken-shop.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let da = run.integration("directadmin");
    assert_eq!(da["error"]["kind"], "conflict", "{da}");
    let message = da["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Cannot create pointer: That domain already exists on this server"),
        "{message}"
    );
    assert!(!message.contains("<br>"), "{message}");
    assert_eq!(da["attempts"], 1);
    assert!(pointers(&emu).is_empty());
}

#[test]
fn url_encoded_answers_are_read_as_well_as_json() {
    let (case, emu) = setup("urlencoded", "www = \"always\"");
    emu.lock().panel.json_mode = false;
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(pointers(&emu).len(), 2);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.integration("directadmin")["changed"], false);
    // An error=1 in that format too.
    let run = case.run(&["--json", "add-domain", "taken-shop.com", "--site", "4"]);
    let da = run.integration("directadmin");
    assert_eq!(da["error"]["kind"], "conflict", "{da}");
    assert!(
        da["error"]["message"]
            .as_str()
            .unwrap()
            .contains("That domain already exists"),
        "{da}"
    );
    // And JSON lists whose values are objects.
    emu.lock().panel.json_mode = true;
    emu.lock().panel.json_pointer_objects = true;
    let run = case.run(&["--json", "list-domains"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("directadmin")["domains"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn remove_domain_deletes_the_domain_and_its_www_in_one_call() {
    let (case, emu) = setup("remove", "www = \"always\"");
    seed(&emu, "acme-widgets.com", true);
    seed(&emu, "www.acme-widgets.com", true);
    seed(&emu, "keep-shop.com", true);
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("directadmin")["changed"], true);
    assert_eq!(pointers(&emu), vec!["keep-shop.com"]);
    let posts = writes(&emu);
    assert_eq!(posts.len(), 1);
    assert_eq!(param(&posts[0], "action").as_deref(), Some("delete"));
    assert_eq!(
        param(&posts[0], "select0").as_deref(),
        Some("acme-widgets.com")
    );
    assert_eq!(
        param(&posts[0], "select1").as_deref(),
        Some("www.acme-widgets.com")
    );
}

/// Review #9: `www.<domain>` goes only when the host's event says so. Added with the
/// domain under `always`, then removed under `never` (the host sends `www = false`): the
/// `www.` pointer stays, it may be a domain mapped on its own.
#[test]
fn a_remove_without_www_leaves_the_www_pointer() {
    let (case, emu) = setup("remove-no-www", "www = \"always\"");
    seed(&emu, "keep-shop.com", true);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        pointers(&emu),
        vec!["acme-widgets.com", "keep-shop.com", "www.acme-widgets.com"]
    );
    let posts_before = writes(&emu).len();
    config(&case, &emu, "www = \"never\"", &key_constants());
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("directadmin")["changed"], true);
    assert_eq!(
        pointers(&emu),
        vec!["keep-shop.com", "www.acme-widgets.com"]
    );
    let posts = writes(&emu);
    assert_eq!(posts.len(), posts_before + 1);
    let delete = posts.last().unwrap();
    assert_eq!(
        param(delete, "select0").as_deref(),
        Some("acme-widgets.com")
    );
    assert_eq!(param(delete, "select1"), None);
}

#[test]
fn removing_an_absent_pointer_succeeds_unchanged_without_a_write() {
    let (case, emu) = setup("remove-absent", "www = \"never\"");
    // The bare name only: its never-added www. is not sent (the plugin got error=1).
    seed(&emu, "acme-widgets.com", true);
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let posts = writes(&emu);
    assert_eq!(posts.len(), 1);
    assert_eq!(param(&posts[0], "select1"), None);
    let run = case.run(&["--json", "remove-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let da = run.integration("directadmin");
    assert_eq!(da["changed"], false);
    assert!(
        strings(&da["notes"])[0].contains("nothing to remove"),
        "{da}"
    );
    assert_eq!(writes(&emu).len(), 1);
}

#[test]
fn subdomain_sites_are_pointers_too() {
    let (case, emu) = setup("subdomain", "www = \"never\"");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("directadmin")["changed"], true);
    assert_eq!(pointers(&emu), vec!["site1.network-main.com"]);
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("directadmin")["changed"], true);
    assert!(pointers(&emu).is_empty());
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network-main.com",
        "--site",
        "9",
    ]);
    assert_eq!(run.integration("directadmin")["changed"], false);
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test-connection", "");
    seed(&emu, "acme-widgets.com", true);
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("directadmin")["notes"]).join(" ");
    assert!(notes.contains("Login OK"), "{notes}");
    assert!(notes.contains("has 1 pointer"), "{notes}");
    assert!(emu.requests().iter().all(|r| r.method == "GET"));
    let paths: Vec<String> = emu.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        vec!["/CMD_API_LOGIN_TEST", "/CMD_API_DOMAIN_POINTER"]
    );
    no_secret(&run);
}

#[test]
fn a_login_page_even_with_200_is_rejected_credentials() {
    for status in [200u16, 401] {
        let (case, emu) = setup_with(
            "bad-password",
            "www = \"never\"",
            &constants_with(USER, "WU_DIRECTADMIN_PASSWORD = \"wrong-pass-123\"", DOMAIN),
        );
        emu.lock().panel.login_page_status = status;
        let run = case.run(&[
            "--json",
            "--log-level",
            "trace",
            "add-domain",
            "acme-widgets.com",
            "--site",
            "4",
        ]);
        assert_eq!(run.status, 1);
        let da = run.integration("directadmin");
        assert_eq!(da["error"]["kind"], "bad_credentials", "{da}");
        let message = da["error"]["message"].as_str().unwrap();
        assert!(message.contains("login page"), "{message}");
        assert!(message.contains("WU_DIRECTADMIN_PASSWORD"), "{message}");
        assert_eq!(da["attempts"], 1);
        assert!(writes(&emu).is_empty());
        assert!(!run.all_output().contains("wrong-pass-123"));
    }
}

#[test]
fn the_password_goes_as_basic_auth() {
    let (case, emu) = setup_with("password", "www = \"never\"", &password_constants());
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let expected = basic_header(USER, PASSWORD);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(expected.as_str()))
    );
    no_secret(&run);
}

#[test]
fn a_login_key_without_the_pointer_command_is_rejected_credentials() {
    let (case, emu) = setup("key-limited", "www = \"never\"");
    emu.lock().panel.keys[0].commands = Some(vec!["CMD_API_LOGIN_TEST".into()]);
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1);
    let da = run.integration("directadmin");
    assert_eq!(da["error"]["kind"], "bad_credentials", "{da}");
    assert!(
        da["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CMD_API_DOMAIN_POINTER"),
        "{da}"
    );
    no_secret(&run);
}

#[test]
fn a_domain_the_user_does_not_own_is_not_found() {
    let (case, emu) = setup_with(
        "wrong-domain",
        "",
        &constants_with(
            USER,
            &format!("WU_DIRECTADMIN_API_TOKEN = \"{KEY}\""),
            "not-mine.com",
        ),
    );
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let da = run.integration("directadmin");
    assert_eq!(da["error"]["kind"], "not_found", "{da}");
    let message = da["error"]["message"].as_str().unwrap();
    assert!(message.contains("You do not own that domain"), "{message}");
    assert!(message.contains("WU_DIRECTADMIN_DOMAIN"), "{message}");
    assert!(writes(&emu).is_empty());
}

#[test]
fn the_pointer_limit_inside_http_200_is_limit_reached() {
    let (case, emu) = setup("limit", "www = \"always\"");
    emu.lock().panel.pointer_limit = Some(1);
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let da = run.integration("directadmin");
    assert_eq!(da["error"]["kind"], "limit_reached", "{da}");
    assert!(
        da["error"]["message"]
            .as_str()
            .unwrap()
            .contains("domain pointer limit"),
        "{da}"
    );
    // The first pointer went in; the report names what failed.
    assert_eq!(pointers(&emu), vec!["acme-widgets.com"]);
}

#[test]
fn a_hardened_server_that_refuses_post_is_explained() {
    let (case, emu) = setup("post-blocked", "www = \"never\"");
    emu.lock().panel.post_blocked = true;
    let run = case.run(&["--json", "add-domain", "acme-widgets.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let da = run.integration("directadmin");
    assert!(
        da["error"]["message"].as_str().unwrap().contains("405"),
        "{da}"
    );
}

#[test]
fn the_allowed_host_is_the_configured_host_and_port() {
    let (case, emu) = setup("allowed-default", "");
    let run = case.run(&["list"]);
    assert!(
        run.stdout.contains(&format!("{PANEL_HOST}:2222")),
        "{}",
        run.stdout
    );
    let (case, _emu2) = setup_with(
        "allowed-port",
        "",
        &format!("{}, WU_DIRECTADMIN_PORT = \"2444\"", key_constants()),
    );
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .contains(&format!("https://{PANEL_HOST}:2444/CMD_API_LOGIN_TEST")),
        "{}",
        run.stdout
    );
    let run = case.run(&["list"]);
    assert!(
        run.stdout.contains(&format!("{PANEL_HOST}:2444")),
        "{}",
        run.stdout
    );
    assert!(emu.requests().is_empty());
}
