//! BigScoots end to end, against an emulator of what Ultimate Multisite's newest code
//! assumes of the WPO API (unverified, so its uncertain shapes are switches): sub-sites keyed
//! by blog id, the mapped domain PATCHed on and back off, subdomain sites registered and
//! deleted, the certificate requested once DNS points at BigScoots. The primary kept, a
//! wrong primary UUID, retries and a PATCH applied before a fault:
//! `tests/conformance/bigscoots.rs` (the shared suite).

mod support;

use panel_emulators::bigscoots::BigScoots;
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const EMAIL: &str = "network-admin@network.example";
const KEY: &str = "bigscoots-api-key-3a9d7e1f0b";
const PRIMARY: &str = "0f3c9a2e-5d14-4b7e-9c61-2e8f4a7d1b90";

fn emulator() -> Emulator<BigScoots> {
    let mut panel = BigScoots::new(EMAIL, KEY, PRIMARY, "network.example");
    panel.seed(4, "network.example/shop", "");
    panel.wordpress.insert("site9.network.example".into(), 9);
    Emulator::spawn(panel, 0).expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<BigScoots>, top: &str, key: &str, primary: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.bigscoots]\nenabled = true\n\
         constants = {{ WU_BIGSCOOTS_API_EMAIL = \"{EMAIL}\", WU_BIGSCOOTS_PRIMARY_UUID = \"{primary}\" }}\n\
         env = [\"WU_BIGSCOOTS_API_KEY\"]\n\
         routes = {{ \"api.bigscoots.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
    std::fs::write(case.dir.join("key"), key).unwrap();
}

fn setup(name: &str, top: &str) -> (Case, Emulator<BigScoots>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(&case, &emu, top, KEY, PRIMARY);
    (case, emu)
}

fn run(case: &Case, args: &[&str]) -> support::Run {
    let key = std::fs::read_to_string(case.dir.join("key")).unwrap();
    case.run_with_env(args, &[("WU_BIGSCOOTS_API_KEY", &key)])
}

fn domain_of(emu: &Emulator<BigScoots>, blog: u64) -> Option<String> {
    emu.lock().panel.subs.get(&blog).map(|s| s.domain.clone())
}

fn writes(emu: &Emulator<BigScoots>) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

fn sub_site(blog: u64) -> String {
    format!("/v1/multi-sites/sub-sites/{PRIMARY}/{blog}")
}

fn add(case: &Case, domain: &str, site: &str) -> support::Run {
    run(case, &["--json", "add-domain", domain, "--site", site])
}

#[test]
fn a_mapped_domain_becomes_the_sub_sites_domain() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = add(&case, "Shop.Example", "4");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let bs = run.integration("bigscoots");
    assert_eq!(bs["changed"], true, "{bs}");
    assert_eq!(
        strings(&bs["notes"]),
        [
            "shop.example mapped to site 4",
            "it replaces network.example"
        ]
    );
    assert_eq!(domain_of(&emu, 4).as_deref(), Some("shop.example"));
    let requests = emu.requests();
    let patch = requests.iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.path, sub_site(4));
    assert_eq!(
        patch.json().unwrap(),
        serde_json::json!({"domain": "shop.example"})
    );
    assert!(requests.iter().all(|r| {
        r.header("x-auth-email") == Some(EMAIL) && r.header("x-auth-key") == Some(KEY)
    }));
    assert!(!run.all_output().contains(KEY));
}

#[test]
fn the_www_policy_is_noted_not_sent() {
    let (case, emu) = setup("www", "www = \"always\"");
    let run = add(&case, "shop.example", "4");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("bigscoots")["notes"]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("www.shop.example is not added")),
        "{notes:?}"
    );
    assert_eq!(writes(&emu), 1, "one PATCH, no www request");
}

#[test]
fn mapping_the_same_domain_twice_changes_nothing() {
    let (case, emu) = setup("add-twice", "www = \"never\"");
    assert_eq!(add(&case, "shop.example", "4").status, 0);
    let again = add(&case, "shop.example", "4");
    assert_eq!(again.status, 0, "{}", again.all_output());
    let bs = again.integration("bigscoots");
    assert_eq!(bs["changed"], false, "{bs}");
    assert!(strings(&bs["notes"])[0].contains("already is site 4's domain"));
    assert_eq!(writes(&emu), 1);
}

#[test]
fn removal_patches_the_network_address_back_and_an_absent_name_changes_nothing() {
    let (case, emu) = setup("remove", "www = \"never\"");
    assert_eq!(add(&case, "shop.example", "4").status, 0);
    let run_ = run(
        &case,
        &["--json", "remove-domain", "shop.example", "--site", "4"],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["changed"], true, "{bs}");
    assert!(
        strings(&bs["notes"])[0].contains("site 4 is served on network.example again"),
        "{bs}"
    );
    assert_eq!(domain_of(&emu, 4).as_deref(), Some("network.example"));
    let patches: Vec<serde_json::Value> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(
        patches,
        [
            serde_json::json!({"domain": "shop.example"}),
            serde_json::json!({"domain": "network.example"})
        ]
    );
    // Again, and a site that is no sub-site: nothing is sent.
    let before = writes(&emu);
    for site in ["4", "77"] {
        let run_ = run(
            &case,
            &["--json", "remove-domain", "shop.example", "--site", site],
        );
        assert_eq!(run_.status, 0, "{}", run_.all_output());
        let bs = run_.integration("bigscoots");
        assert_eq!(bs["changed"], false, "{bs}");
        assert!(
            strings(&bs["notes"])[0].contains("nothing to remove"),
            "{bs}"
        );
    }
    assert_eq!(writes(&emu), before);
}

#[test]
fn subdomain_sites_are_registered_and_deleted() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    let run_ = run(
        &case,
        &[
            "--json",
            "add-subdomain",
            "site9.network.example",
            "--site",
            "9",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(run_.integration("bigscoots")["changed"], true);
    let post = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.path, "/v1/multi-sites/sub-sites/");
    assert_eq!(
        post.json().unwrap(),
        serde_json::json!({"primary_uuid": PRIMARY, "blog_url": "site9.network.example"})
    );
    assert_eq!(domain_of(&emu, 9).as_deref(), Some("site9.network.example"));
    // Twice: already registered, nothing sent.
    let before = writes(&emu);
    let again = run(
        &case,
        &[
            "--json",
            "add-subdomain",
            "site9.network.example",
            "--site",
            "9",
        ],
    );
    assert_eq!(again.integration("bigscoots")["changed"], false);
    assert_eq!(writes(&emu), before);

    let run_ = run(
        &case,
        &[
            "--json",
            "remove-subdomain",
            "site9.network.example",
            "--site",
            "9",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(run_.integration("bigscoots")["changed"], true);
    assert!(domain_of(&emu, 9).is_none());
    // A 404 is "already absent".
    let run_ = run(
        &case,
        &[
            "--json",
            "remove-subdomain",
            "site9.network.example",
            "--site",
            "9",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["changed"], false, "{bs}");
    assert!(strings(&bs["notes"])[0].contains("nothing to remove"));
}

#[test]
fn request_certificate_sets_the_domain_then_asks_for_ssl() {
    let (case, emu) = setup("ssl", "www = \"never\"");
    assert_eq!(add(&case, "shop.example", "4").status, 0);
    let run_ = run(
        &case,
        &[
            "--json",
            "request-certificate",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["changed"], true, "{bs}");
    assert!(
        strings(&bs["notes"])[0].contains("certificate requested for shop.example"),
        "{bs}"
    );
    let ssl: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(ssl, [format!("/v1/multi-sites/sub-sites/ssl/{PRIMARY}/4")]);
    assert_eq!(
        writes(&emu),
        2,
        "the domain was already set: no second PATCH"
    );

    let status = run(
        &case,
        &[
            "--json",
            "certificate-status",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(status.status, 0, "{}", status.all_output());
    assert_eq!(
        status.integration("bigscoots")["certificate"]["state"],
        "pending",
        "{}",
        status.stdout
    );
    let status = run(
        &case,
        &[
            "--json",
            "certificate-status",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(
        status.integration("bigscoots")["certificate"]["state"],
        "active"
    );
    // Active: asking again sends nothing.
    let before = writes(&emu);
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
    assert_eq!(again.status, 0, "{}", again.all_output());
    assert_eq!(again.integration("bigscoots")["changed"], false);
    assert_eq!(writes(&emu), before);
}

#[test]
fn an_unknown_certificate_shape_is_unknown_not_guessed() {
    let (case, emu) = setup("ssl-unknown", "www = \"never\"");
    emu.lock().panel.ssl_in_list = false;
    emu.lock().panel.wrap = false;
    assert_eq!(add(&case, "shop.example", "4").status, 0);
    let status = run(
        &case,
        &[
            "--json",
            "certificate-status",
            "shop.example",
            "--site",
            "4",
        ],
    );
    assert_eq!(status.status, 0, "{}", status.all_output());
    assert_eq!(
        status.integration("bigscoots")["certificate"]["state"],
        "unknown"
    );
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test", "");
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("bigscoots")["notes"]).join(" ");
    assert!(
        notes.contains(&format!(
            "primary site {PRIMARY} (network.example), 1 sub-site(s)"
        )),
        "{notes}"
    );
    let paths: Vec<String> = emu.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/accounts/".to_string(),
            "/v1/sites/account/a6f0c1de-7b1e-4c55-9d3a-0b8e5f2c7a11".to_string(),
            format!("/v1/multi-sites/sub-sites/{PRIMARY}")
        ]
    );
    assert_eq!(writes(&emu), 0);
    assert!(!run.all_output().contains(KEY));
}

#[test]
fn bad_credentials_are_reported_as_rejected() {
    let case = Case::new("bad-credentials");
    let emu = emulator();
    let wrong = "bigscoots-wrong-key-0000";
    config_with(&case, &emu, "", wrong, PRIMARY);
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 1);
    let bs = run.integration("bigscoots");
    assert_eq!(bs["error"]["kind"], "bad_credentials", "{bs}");
    let message = bs["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Unauthenticated.") && message.contains("WU_BIGSCOOTS_API_KEY"),
        "{message}"
    );
    assert!(!run.all_output().contains(wrong));
}

#[test]
fn a_primary_without_multisite_access_says_what_to_ask_for() {
    let (case, emu) = setup("not-multisite", "www = \"never\"");
    emu.lock().panel.multisite = false;
    let run = add(&case, "shop.example", "4");
    assert_eq!(run.status, 1);
    let bs = run.integration("bigscoots");
    assert_eq!(bs["error"]["kind"], "unsupported", "{bs}");
    assert!(
        bs["error"]["message"]
            .as_str()
            .unwrap()
            .contains("enable multisite API access"),
        "{bs}"
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn panel_errors_are_read_from_every_place() {
    let (case, emu) = setup("422", "www = \"never\"");
    let body = serde_json::json!({"response": {"error": "Domain is not pointed to BigScoots"}});
    emu.inject(Fault::respond(Response::json(422, &body), 1).on("PATCH", &sub_site(4)));
    let run_ = add(&case, "shop.example", "4");
    assert_eq!(run_.status, 1);
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["error"]["kind"], "invalid_input", "{bs}");
    assert!(
        bs["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mapping shop.example failed: Domain is not pointed to BigScoots"),
        "{bs}"
    );
    // A failure inside a 200.
    let body = serde_json::json!({"success": false, "message": "Sub-site is locked"});
    emu.inject(Fault::respond(Response::json(200, &body), 1).on("PATCH", &sub_site(4)));
    let run_ = add(&case, "shop.example", "4");
    assert_eq!(run_.status, 1);
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["error"]["kind"], "api", "{bs}");
    assert!(
        bs["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Sub-site is locked")
    );
    assert_eq!(domain_of(&emu, 4).as_deref(), Some("network.example"));
}

#[test]
fn list_domains_reads_the_sub_sites() {
    let (case, emu) = setup("list", "");
    emu.lock()
        .panel
        .seed(5, "network.example/blog", "blog.example.com");
    let run = run(&case, &["--json", "list-domains", "bigscoots"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("bigscoots")["domains"],
        serde_json::json!([
            {"name": "network.example", "certificate": "active", "primary": false},
            {"name": "blog.example.com", "certificate": "active", "primary": false}
        ])
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn an_e_mail_kept_secret_reaches_the_panel_but_no_output() {
    let case = Case::new("email-secret");
    let emu = emulator();
    case.write_config(&format!(
        "www = \"never\"\n[integrations.bigscoots]\nenabled = true\n\
         constants = {{ WU_BIGSCOOTS_PRIMARY_UUID = \"{PRIMARY}\" }}\n\
         env = [\"WU_BIGSCOOTS_API_KEY\", \"WU_BIGSCOOTS_API_EMAIL\"]\n\
         routes = {{ \"api.bigscoots.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
    let run = case.run_with_env(
        &["--json", "add-domain", "shop.example", "--site", "4"],
        &[
            ("WU_BIGSCOOTS_API_KEY", KEY),
            ("WU_BIGSCOOTS_API_EMAIL", EMAIL),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(domain_of(&emu, 4).as_deref(), Some("shop.example"));
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("x-auth-email") == Some(EMAIL)),
        "the host filled the placeholder in"
    );
    assert!(!run.all_output().contains(EMAIL) && !run.all_output().contains(KEY));
}

#[test]
fn a_second_mapping_does_not_overwrite_the_sites_domain() {
    // panel-review.md #6: site 7 is served on shop.example (its primary mapping). Mapping
    // shop-alias.example too must not PATCH it over (the plugin PATCHes the site's primary
    // host, which the event does not carry); removing shop-alias.example must not send the
    // site back to its network address; its certificate is not requested either.
    let (case, emu) = setup("second-mapping", "www = \"never\"");
    emu.lock()
        .panel
        .seed(7, "network.example/seven", "shop.example");
    let run_ = add(&case, "shop-alias.example", "7");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["changed"], false, "{bs}");
    let note = strings(&bs["notes"])[0].clone();
    assert!(
        note.contains("shop-alias.example not set on BigScoots")
            && note.contains("served there on shop.example"),
        "{bs}"
    );
    assert_eq!(domain_of(&emu, 7).as_deref(), Some("shop.example"));

    let run_ = run(
        &case,
        &[
            "--json",
            "request-certificate",
            "shop-alias.example",
            "--site",
            "7",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(run_.integration("bigscoots")["changed"], false);

    let run_ = run(
        &case,
        &[
            "--json",
            "remove-domain",
            "shop-alias.example",
            "--site",
            "7",
        ],
    );
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let bs = run_.integration("bigscoots");
    assert_eq!(bs["changed"], false, "{bs}");
    assert!(
        strings(&bs["notes"])[0].contains("served on shop.example, which stays"),
        "{bs}"
    );
    assert_eq!(domain_of(&emu, 7).as_deref(), Some("shop.example"));
    assert_eq!(writes(&emu), 0, "no PATCH and no SSL request");
}
