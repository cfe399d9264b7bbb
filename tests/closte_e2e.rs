//! Closte end to end: domain aliases added, listed and deleted as Closte's own plugin calls
//! them, the API key a host-filled placeholder in the form body and query, the
//! `{success, error}` envelope inside HTTP 200, automatic SSL (no invented SSL call).
//! `www.` kept on remove, retries and writes applied before a fault:
//! `tests/conformance/closte.rs` (the shared suite).

mod support;

use panel_emulators::closte::Closte;
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const KEY: &str = "closte-client-key-8e21f0c4d9";

fn emulator() -> Emulator<Closte> {
    Emulator::spawn(Closte::new(KEY, "network.example"), 0).expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<Closte>, top: &str, key: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.closte]\nenabled = true\n\
         env = [\"CLOSTE_CLIENT_API_KEY\"]\nsecrets_in_query = true\n\
         routes = {{ \"app.closte.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
    std::fs::write(case.dir.join("key"), key).unwrap();
}

fn setup(name: &str, top: &str) -> (Case, Emulator<Closte>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(&case, &emu, top, KEY);
    (case, emu)
}

/// Runs the host with the key in the environment, as Closte's servers define it.
fn run(case: &Case, args: &[&str]) -> support::Run {
    let key = std::fs::read_to_string(case.dir.join("key")).unwrap();
    case.run_with_env(args, &[("CLOSTE_CLIENT_API_KEY", &key)])
}

fn names(emu: &Emulator<Closte>) -> Vec<String> {
    emu.lock().panel.names()
}

fn writes(emu: &Emulator<Closte>) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

fn bodies(emu: &Emulator<Closte>, path: &str) -> Vec<String> {
    emu.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

fn add(case: &Case, domain: &str) -> support::Run {
    run(case, &["--json", "add-domain", domain, "--site", "4"])
}

fn remove(case: &Case, domain: &str) -> support::Run {
    run(case, &["--json", "remove-domain", domain, "--site", "4"])
}

#[test]
fn an_alias_is_added_with_the_key_in_the_form_body() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = add(&case, "Shop.Example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cl = run.integration("closte");
    assert_eq!(cl["changed"], true, "{cl}");
    let notes = strings(&cl["notes"]);
    assert_eq!(notes[0], "added shop.example");
    assert!(notes[1].contains("certificate automatically"), "{notes:?}");
    assert_eq!(names(&emu), ["network.example", "shop.example"]);
    assert_eq!(
        bodies(&emu, "/api/client/adddomainalias"),
        [format!("apikey={KEY}&domain=shop.example&wildcard=0")],
        "the host filled the placeholder in"
    );
    let list = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(list.path, "/api/client/getdomains");
    assert_eq!(list.query, format!("apikey={KEY}"));
    assert!(!run.all_output().contains(KEY));
    // No SSL call is invented.
    assert!(
        emu.requests()
            .iter()
            .all(|r| !r.path.contains("ssl") && !r.path.contains("certificate"))
    );
}

#[test]
fn the_www_variant_follows_the_networks_policy() {
    let (case, emu) = setup("www", "www = \"always\"");
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(
        strings(&run_.integration("closte")["notes"])[0],
        "added shop.example, www.shop.example"
    );
    assert_eq!(
        names(&emu),
        ["network.example", "shop.example", "www.shop.example"]
    );
    let run_ = remove(&case, "shop.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(
        strings(&run_.integration("closte")["notes"])[0],
        "removed shop.example, www.shop.example"
    );
    assert_eq!(names(&emu), ["network.example"]);
    assert_eq!(
        bodies(&emu, "/api/client/deletedomainalias"),
        [
            format!("apikey={KEY}&domain=shop.example&wildcard=0"),
            format!("apikey={KEY}&domain=www.shop.example&wildcard=0")
        ]
    );
}

#[test]
fn adding_a_present_alias_changes_nothing() {
    let (case, emu) = setup("add-twice", "www = \"never\"");
    assert_eq!(add(&case, "shop.example").status, 0);
    let again = add(&case, "shop.example");
    assert_eq!(again.status, 0, "{}", again.all_output());
    let cl = again.integration("closte");
    assert_eq!(cl["changed"], false, "{cl}");
    assert!(strings(&cl["notes"])[0].contains("already on the Closte site"));
    assert_eq!(writes(&emu), 1);
}

#[test]
fn a_duplicate_refused_inside_http_200_is_a_success_when_listed() {
    // The first list missed the alias; Closte refuses it inside a 200 and a second read
    // shows it.
    let (case, emu) = setup("duplicate", "www = \"never\"");
    emu.lock().panel.seed(&["shop.example"]);
    emu.inject(
        Fault::respond(
            Response::json(200, &serde_json::json!({"success": true, "domains": []})),
            1,
        )
        .on("GET", "/api/client/getdomains"),
    );
    let run = add(&case, "shop.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("closte")["changed"], false);
    assert_eq!(writes(&emu), 1);
}

#[test]
fn removing_an_absent_alias_changes_nothing_and_the_main_domain_is_kept() {
    let (case, emu) = setup("remove-absent", "");
    let run_ = remove(&case, "gone.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let cl = run_.integration("closte");
    assert_eq!(cl["changed"], false);
    assert!(
        strings(&cl["notes"])[0].contains("nothing to remove"),
        "{cl}"
    );
    let main = remove(&case, "network.example");
    assert_eq!(main.status, 1);
    assert_eq!(main.integration("closte")["error"]["kind"], "conflict");
    assert_eq!(writes(&emu), 0);
    assert_eq!(names(&emu), ["network.example"]);
}

#[test]
fn an_alias_gone_before_the_delete_is_not_an_error() {
    let (case, emu) = setup("gone-meanwhile", "www = \"never\"");
    emu.lock().panel.seed(&["old.example"]);
    emu.inject(
        Fault::respond(
            Response::json(
                200,
                &serde_json::json!({"success": false, "error": "Domain not found"}),
            ),
            1,
        )
        .on("POST", "/api/client/deletedomainalias"),
    );
    let run = remove(&case, "old.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("closte")["changed"], false);
}

#[test]
fn subdomain_sites_send_nothing() {
    let (case, emu) = setup("subdomains", "www = \"never\"");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = run(
            &case,
            &["--json", command, "site1.network.example", "--site", "9"],
        );
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("closte")["changed"], false);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test", "");
    let run = run(&case, &["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("closte")["notes"]).join(" ");
    assert!(notes.contains("1 domain(s)"), "{notes}");
    assert_eq!(
        writes(&emu),
        0,
        "no empty alias is posted, unlike the plugin"
    );
    assert!(!run.all_output().contains(KEY));
}

#[test]
fn bad_credentials_are_reported_as_rejected() {
    let case = Case::new("bad-credentials");
    let emu = emulator();
    let wrong = "closte-wrong-key-0000";
    config_with(&case, &emu, "", wrong);
    let run_ = run(&case, &["--json", "test"]);
    assert_eq!(run_.status, 1);
    let cl = run_.integration("closte");
    assert_eq!(cl["error"]["kind"], "bad_credentials", "{cl}");
    let message = cl["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Invalid API key") && message.contains("CLOSTE_CLIENT_API_KEY"),
        "{message}"
    );
    assert!(!run_.all_output().contains(wrong));
    // The same when Closte answers with a 401 status and other words.
    emu.lock().panel.bad_key_status = 401;
    emu.lock().panel.bad_key_error = "Unauthorized".into();
    let run_ = run(&case, &["--json", "add-domain", "a.example", "--site", "2"]);
    assert_eq!(
        run_.integration("closte")["error"]["kind"],
        "bad_credentials"
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn a_missing_key_names_the_constant() {
    let case = Case::new("no-key");
    let emu = emulator();
    config_with(&case, &emu, "", KEY);
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1);
    let cl = run.integration("closte");
    assert!(
        cl["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CLOSTE_CLIENT_API_KEY"),
        "{cl}"
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn panel_errors_inside_http_200_are_errors() {
    let (case, emu) = setup("errors-in-200", "www = \"never\"");
    emu.inject(
        Fault::respond(
            Response::json(
                200,
                &serde_json::json!({"success": false, "error": "Domain limit reached for this plan"}),
            ),
            1,
        )
        .on("POST", "/api/client/adddomainalias"),
    );
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.status, 1);
    let cl = run_.integration("closte");
    assert_eq!(cl["error"]["kind"], "api", "{cl}");
    assert!(
        cl["error"]["message"]
            .as_str()
            .unwrap()
            .contains("adding shop.example failed: Closte: Domain limit reached for this plan"),
        "{cl}"
    );
    // Closte's "Invalid or empty domain" is refused input.
    emu.inject(
        Fault::respond(
            Response::json(
                200,
                &serde_json::json!({"success": false, "error": "Invalid or empty domain: shop.example"}),
            ),
            1,
        )
        .on("POST", "/api/client/adddomainalias"),
    );
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.integration("closte")["error"]["kind"], "invalid_input");
    // A 200 that is not the envelope is not taken for success.
    emu.inject(
        Fault::respond(
            Response {
                status: 200,
                headers: vec![],
                body: b"<html>maintenance</html>".to_vec(),
            },
            1,
        )
        .on("POST", "/api/client/adddomainalias"),
    );
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.status, 1);
    assert!(
        run_.integration("closte")["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no success flag")
    );
}

#[test]
fn list_domains_and_certificate_state_come_from_getdomains() {
    let (case, emu) = setup("list", "");
    emu.lock().panel.seed(&["a.example.com"]);
    emu.lock().panel.ssl_reads = 1;
    let first = run(&case, &["--json", "list-domains", "closte"]);
    assert_eq!(first.status, 0, "{}", first.all_output());
    assert_eq!(
        first.integration("closte")["domains"],
        serde_json::json!([
            {"name": "network.example", "certificate": "active", "primary": true},
            {"name": "a.example.com", "certificate": "pending", "primary": false}
        ])
    );
    let second = run(&case, &["--json", "list-domains", "closte"]);
    assert_eq!(
        second.integration("closte")["domains"][1]["certificate"],
        "active"
    );
    // Plain names (the item shape is not documented) are read too.
    emu.lock().panel.names_only = true;
    let plain = run(&case, &["--json", "list-domains", "closte"]);
    assert_eq!(
        plain.integration("closte")["domains"],
        serde_json::json!([
            {"name": "network.example", "primary": false},
            {"name": "a.example.com", "primary": false}
        ])
    );
    assert_eq!(writes(&emu), 0);
    let list = run(&case, &["--json", "list"]);
    let entry = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "closte")
        .cloned()
        .unwrap();
    assert!(
        strings(&entry["capabilities"]).contains(&"removal".to_string()),
        "{entry}"
    );
    assert_eq!(entry["ssl_verification_attempts"], 20, "as the plugin sets");
}

#[test]
fn a_wildcard_alias_is_sent_with_the_wildcard_flag() {
    let (case, emu) = setup("wildcard", "www = \"always\"");
    let run = add(&case, "*.wild.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        strings(&run.integration("closte")["notes"])[0],
        "added *.wild.example",
        "no www. for a wildcard"
    );
    assert_eq!(
        bodies(&emu, "/api/client/adddomainalias"),
        [format!("apikey={KEY}&domain=%2A.wild.example&wildcard=1")]
    );
    assert!(emu.lock().panel.find("*.wild.example").unwrap().wildcard);
}

#[test]
fn removal_posts_deletedomainalias_whatever_the_list_item_shape() {
    // panel-review.md #12: `getdomains` items as `{"Domain": …}`. The plugin always posts
    // `deletedomainalias`; the component must too, and read its `success`.
    let (case, emu) = setup("remove-capitalised", "www = \"never\"");
    emu.lock().panel.capitalised_items = true;
    emu.lock().panel.seed(&["shop.example"]);
    let run = remove(&case, "shop.example");
    assert_eq!(run.status, 0, "{}", run.all_output());
    let cl = run.integration("closte");
    assert_eq!(cl["changed"], true, "{cl}");
    assert_eq!(strings(&cl["notes"])[0], "removed shop.example");
    assert_eq!(
        bodies(&emu, "/api/client/deletedomainalias"),
        [format!("apikey={KEY}&domain=shop.example&wildcard=0")]
    );
    assert_eq!(names(&emu), ["network.example"]);
}

#[test]
fn with_unreadable_list_items_remove_still_posts_and_a_duplicate_add_is_a_success() {
    // Items the component cannot read at all: the list is only a hint, Closte's answer to
    // the write decides.
    let (case, emu) = setup("unreadable-items", "www = \"never\"");
    emu.lock().panel.seed(&["shop.example", "old.example"]);
    let unreadable = || {
        Fault::respond(
            Response::json(
                200,
                &serde_json::json!({"success": true, "domains": [{"fqdn": "x"}, {"fqdn": "y"}]}),
            ),
            10,
        )
        .on("GET", "/api/client/getdomains")
    };
    emu.inject(unreadable());
    let run_ = add(&case, "shop.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let cl = run_.integration("closte");
    assert_eq!(cl["changed"], false, "{cl}");
    assert!(
        strings(&cl["notes"])[0].contains("already on the Closte site"),
        "{cl}"
    );
    let run_ = remove(&case, "old.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    let cl = run_.integration("closte");
    assert_eq!(cl["changed"], true, "{cl}");
    assert_eq!(strings(&cl["notes"])[0], "removed old.example");
    // An absent one: Closte says so, nothing changed.
    let run_ = remove(&case, "gone.example");
    assert_eq!(run_.status, 0, "{}", run_.all_output());
    assert_eq!(run_.integration("closte")["changed"], false);
    assert_eq!(names(&emu), ["network.example", "shop.example"]);
}
