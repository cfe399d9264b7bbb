//! WPMU DEV Hosting end to end: domains added to the hosted site (raw `Authorization` key,
//! form body), `www` per policy, errors with a `code` (nested message, inside HTTP 200 too),
//! optional async actions, and no removal: remove-domain and `reconcile --prune` name what
//! the operator must remove by hand. An absent removal, a wrong site id,
//! retries: `tests/conformance/wpmudev.rs` (the shared suite).

mod support;

use panel_emulators::wpmudev::{ListShape, WpmuDev};
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const KEY: &str = "wpmudev-api-key-5c1f9e2a7b";
const SITE: &str = "31337";

fn emulator() -> Emulator<WpmuDev> {
    Emulator::spawn(WpmuDev::new(KEY, SITE, "network.example"), 0).expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<WpmuDev>, top: &str, key: &str, site: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.wpmudev]\nenabled = true\n\
         constants = {{ WPMUDEV_HOSTING_SITE_ID = \"{site}\" }}\n\
         env = [\"WU_WPMUDEV_API_KEY\"]\n\
         routes = {{ \"premium.wpmudev.org\" = \"{}\" }}\n",
        emu.base_url()
    ));
    std::fs::write(case.dir.join("key"), key).unwrap();
}

fn setup(name: &str, top: &str) -> (Case, Emulator<WpmuDev>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(&case, &emu, top, KEY, SITE);
    (case, emu)
}

/// Runs the host with the key in the environment, as an operator would.
fn run(case: &Case, args: &[&str]) -> support::Run {
    let key = std::fs::read_to_string(case.dir.join("key")).unwrap();
    case.run_with_env(args, &[("WU_WPMUDEV_API_KEY", &key)])
}

fn domains(emu: &Emulator<WpmuDev>) -> Vec<String> {
    emu.lock().panel.domains.clone()
}

fn writes(emu: &Emulator<WpmuDev>) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

fn domains_path() -> String {
    format!("/api/hosting/v1/{SITE}/domains")
}

fn add(case: &Case, domain: &str) -> support::Run {
    run(case, &["--json", "add-domain", domain, "--site", "4"])
}

#[test]
fn a_domain_and_its_www_variant_are_added_with_the_raw_key() {
    let (case, emu) = setup("add", "www = \"always\"");
    let run = add(&case, "Shop.Example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let wd = run.integration("wpmudev");
    assert_eq!(wd["changed"], true, "{wd}");
    assert_eq!(
        strings(&wd["notes"])[0],
        "added shop.example, www.shop.example"
    );
    assert_eq!(
        domains(&emu),
        ["network.example", "shop.example", "www.shop.example"]
    );
    let requests = emu.requests();
    let posts: Vec<String> = requests
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            assert_eq!(r.path, domains_path());
            assert_eq!(
                r.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
            String::from_utf8_lossy(&r.body).into_owned()
        })
        .collect();
    assert_eq!(
        posts,
        [
            format!("domain=shop.example&site_id={SITE}"),
            format!("domain=www.shop.example&site_id={SITE}")
        ]
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(KEY)),
        "the raw key, no scheme"
    );
    assert!(!run.all_output().contains(KEY));
}

#[test]
fn without_www_only_the_domain_is_added() {
    let (case, emu) = setup("www-never", "www = \"never\"");
    let run = add(&case, "shop.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domains(&emu), ["network.example", "shop.example"]);
    assert_eq!(writes(&emu), 1);
}

#[test]
fn adding_a_present_domain_changes_nothing() {
    let (case, emu) = setup("add-twice", "www = \"never\"");
    assert_eq!(add(&case, "shop.example").status, 0);
    let again = add(&case, "shop.example");
    assert_eq!(again.status, 0, "{}", again.all_output());
    let wd = again.integration("wpmudev");
    assert_eq!(wd["changed"], false, "{wd}");
    assert!(
        strings(&wd["notes"])[0].contains("already on WPMU DEV site"),
        "{wd}"
    );
    assert_eq!(writes(&emu), 1, "not posted again");
    assert_eq!(domains(&emu), ["network.example", "shop.example"]);
}

#[test]
fn a_duplicate_the_list_did_not_show_is_a_success() {
    // The list (read before posting) missed the name; WPMU DEV answers with the nested
    // error form, and a second read finds the name.
    let (case, emu) = setup("duplicate", "www = \"never\"");
    emu.lock().panel.domains.push("shop.example".into());
    emu.inject(
        Fault::respond(Response::json(200, &serde_json::json!([])), 1).on("GET", &domains_path()),
    );
    let run = add(&case, "shop.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let wd = run.integration("wpmudev");
    assert_eq!(wd["changed"], false, "{wd}");
    assert_eq!(writes(&emu), 1);
    assert_eq!(domains(&emu), ["network.example", "shop.example"]);
}

#[test]
fn removal_is_not_offered_and_the_report_says_what_to_remove_by_hand() {
    let (case, emu) = setup("remove", "www = \"always\"");
    emu.lock()
        .panel
        .domains
        .extend(["old.example".to_string(), "www.old.example".to_string()]);
    let run_ = run(
        &case,
        &["--json", "remove-domain", "old.example", "--site", "4"],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let wd = run_.integration("wpmudev");
    assert_eq!(wd["changed"], false, "{wd}");
    assert!(
        strings(&wd["notes"])[0].contains(&format!(
            "cannot remove domains: remove old.example, www.old.example by hand in the Hub \
             (Hosting > site {SITE} > Domains)"
        )),
        "{wd}"
    );
    assert_eq!(writes(&emu), 0, "nothing is sent that could remove");
    assert!(domains(&emu).contains(&"old.example".to_string()));

    let list = run(&case, &["--json", "list"]);
    assert_eq!(list.status, 0, "{}", list.all_output());
    let entry = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "wpmudev")
        .cloned()
        .unwrap();
    let caps = strings(&entry["capabilities"]);
    assert!(!caps.contains(&"removal".to_string()), "{caps:?}");
    assert!(caps.contains(&"auto-ssl".to_string()), "{caps:?}");
    assert_eq!(entry["ssl_verification_attempts"], 10, "as the plugin sets");
}

#[test]
fn subdomain_sites_send_nothing() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = run(
            &case,
            &["--json", command, "site1.network.example", "--site", "9"],
        );
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("wpmudev")["changed"], false);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test", "");
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("wpmudev")["notes"]).join(" ");
    assert!(
        notes.contains(&format!("site {SITE} reachable: 1 domain")),
        "{notes}"
    );
    let requests = emu.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", domains_path().as_str())
    );
    assert!(!run.all_output().contains(KEY));
}

#[test]
fn every_list_shape_is_read() {
    for shape in [ListShape::Objects, ListShape::Names, ListShape::Wrapped] {
        let (case, emu) = setup("shapes", "");
        emu.lock().panel.shape = shape;
        emu.lock().panel.domains.push("a.example.com".into());
        let run = run(&case, &["--json", "list-domains", "wpmudev"]);
        assert_eq!(run.status, 0, "{shape:?}: {}", run.all_output());
        let primary = shape != ListShape::Names;
        assert_eq!(
            run.integration("wpmudev")["domains"],
            serde_json::json!([
                {"name": "network.example", "primary": primary},
                {"name": "a.example.com", "primary": false}
            ]),
            "{shape:?}"
        );
        assert_eq!(writes(&emu), 0);
    }
}

#[test]
fn bad_credentials_are_reported_as_rejected() {
    let case = Case::new("bad-credentials");
    let emu = emulator();
    let wrong = "wpmudev-wrong-key-0000";
    config_with(&case, &emu, "", wrong, SITE);
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 1);
    let wd = run.integration("wpmudev");
    assert_eq!(wd["error"]["kind"], "bad_credentials", "{wd}");
    let message = wd["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Invalid API key") && message.contains("WU_WPMUDEV_API_KEY"),
        "{message}"
    );
    assert!(!run.all_output().contains(wrong));
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(wrong)),
        "the key the operator gave reached the panel"
    );
}

#[test]
fn errors_inside_http_200_are_errors() {
    let (case, emu) = setup("errors-in-200", "www = \"never\"");
    let body = serde_json::json!({"code": "domain_limit", "message": {"message": "Your plan allows 10 domains."}});
    emu.inject(Fault::respond(Response::json(200, &body), 1).on("POST", &domains_path()));
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.status, 1, "{}", run_.all_output());
    let wd = run_.integration("wpmudev");
    assert_eq!(wd["error"]["kind"], "api", "{wd}");
    assert!(
        wd["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Your plan allows 10 domains. (domain_limit)"),
        "{wd}"
    );
    // A rejected key inside a 200 is still bad credentials.
    emu.lock().panel.errors_in_200 = true;
    config_with(&case, &emu, "", "wpmudev-wrong-key-1111", SITE);
    let run_ = run(&case, &["--json", "test"]);
    assert_eq!(run_.status, 1);
    assert_eq!(
        run_.integration("wpmudev")["error"]["kind"],
        "bad_credentials"
    );
}

#[test]
fn panel_errors_in_4xx_are_passed_through_readably() {
    let (case, emu) = setup("400", "www = \"never\"");
    let body = serde_json::json!({"code": "invalid_domain", "message": "The domain is reserved."});
    emu.inject(Fault::respond(Response::json(400, &body), 1).on("POST", &domains_path()));
    let run = add(&case, "shop.example");
    assert_eq!(run.status, 1);
    let wd = run.integration("wpmudev");
    assert_eq!(wd["error"]["kind"], "invalid_input", "{wd}");
    assert!(
        wd["error"]["message"]
            .as_str()
            .unwrap()
            .contains("adding shop.example failed: The domain is reserved. (invalid_domain)"),
        "{wd}"
    );
}

#[test]
fn an_add_that_starts_an_action_is_followed_to_its_end() {
    let (case, emu) = setup("action", "www = \"never\"");
    emu.lock().panel.async_actions = true;
    emu.lock().panel.action_reads = 1;
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(run_.integration("wpmudev")["changed"], true);
    let reads: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.path.contains("/actions/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        reads,
        [
            format!("/api/hosting/v1/{SITE}/actions/101"),
            format!("/api/hosting/v1/{SITE}/actions/101")
        ],
        "in-progress once, then completed"
    );

    // An errored action is an error, and the name is not on the site.
    emu.lock().panel.failing.insert("bad.example".into());
    let run_ = add(&case, "bad.example");
    assert_eq!(run_.status, 1);
    let wd = run_.integration("wpmudev");
    assert!(
        wd["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not add bad.example: action 102 errored"),
        "{wd}"
    );
    assert!(!emu.lock().panel.has("bad.example"));
}

#[test]
fn reconcile_prune_lists_extras_to_remove_by_hand() {
    let (case, emu) = setup("reconcile", "");
    case.write_config(&format!(
        "www = \"never\"\nnetwork_domain = \"network.example\"\n\
         [integrations.wpmudev]\nenabled = true\n\
         constants = {{ WPMUDEV_HOSTING_SITE_ID = \"{SITE}\" }}\n\
         env = [\"WU_WPMUDEV_API_KEY\"]\n\
         routes = {{ \"premium.wpmudev.org\" = \"{}\" }}\n",
        emu.base_url()
    ));
    emu.lock().panel.domains.extend([
        "keep.example.com".to_string(),
        "old.example.com".to_string(),
    ]);
    let wanted = case.dir.join("wanted.json");
    std::fs::write(
        &wanted,
        r#"[{"domain": "keep.example.com", "site": 2, "kind": "mapped"},
            {"domain": "new.example.com", "site": 3, "kind": "mapped"}]"#,
    )
    .unwrap();
    let run_ = run(
        &case,
        &[
            "--json",
            "reconcile",
            "--wanted",
            wanted.to_str().unwrap(),
            "--apply",
            "--prune",
        ],
    );
    assert_eq!(run_.status, 1, "the extra remains: {}", run_.all_output());
    let entry = run_.json()["integrations"][0].clone();
    assert_eq!(entry["id"], "wpmudev");
    assert_eq!(entry["applied"].as_array().unwrap().len(), 1, "{entry}");
    assert_eq!(
        entry["remove_by_hand"],
        serde_json::json!(["old.example.com"])
    );
    assert!(
        entry.get("pruned").is_none(),
        "nothing was run to remove: {entry}"
    );
    assert_eq!(entry["extra"], serde_json::json!(["old.example.com"]));
    assert_eq!(entry["protected"], serde_json::json!(["network.example"]));
    assert_eq!(
        domains(&emu),
        [
            "network.example",
            "keep.example.com",
            "old.example.com",
            "new.example.com"
        ]
    );
    assert_eq!(writes(&emu), 1, "only the missing domain was added");

    let text = run(
        &case,
        &["reconcile", "--wanted", wanted.to_str().unwrap(), "--prune"],
    );
    assert_eq!(text.status, 1);
    assert!(
        text.stdout.contains(
            "by hand  old.example.com: the panel's API cannot remove it; remove it in the panel"
        ),
        "{}",
        text.stdout
    );
}

#[test]
fn an_unreadable_list_does_not_stop_the_add() {
    // panel-review.md #11: `GET …/domains` answers a shape the component cannot read. The
    // plugin posts without reading; so does the component, and a duplicate is a success.
    let (case, emu) = setup("unreadable-list", "www = \"always\"");
    emu.lock().panel.shape = ListShape::KeyedByName;
    emu.lock().panel.domains.push("www.shop.example".into());
    let run = add(&case, "shop.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let wd = run.integration("wpmudev");
    assert_eq!(wd["changed"], true, "{wd}");
    let notes = strings(&wd["notes"]).join("\n");
    assert!(notes.starts_with("added shop.example"), "{wd}");
    assert!(
        notes.contains("www.shop.example already on the site"),
        "{wd}"
    );
    assert!(notes.contains("not in a known shape"), "{wd}");
    let posts: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(
        posts,
        [
            format!("domain=shop.example&site_id={SITE}"),
            format!("domain=www.shop.example&site_id={SITE}")
        ]
    );
    assert_eq!(
        domains(&emu),
        ["network.example", "www.shop.example", "shop.example"]
    );
    // The connection test still passes: WPMU DEV answered 200, as the plugin requires.
    let test = run_test(&case);
    assert_eq!(test.status, 0, "{}", test.all_output());
}

fn run_test(case: &Case) -> support::Run {
    run(case, &["--json", "test"])
}
