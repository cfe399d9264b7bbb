//! Hostinger end to end: CNAME records in the owning zone of the portfolio, written with
//! `overwrite: false` after reading the zone, removed by filters; names outside the
//! portfolio (customer-owned DNS) a success naming the records to create.

mod support;

use panel_emulators::hostinger::Hostinger;
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const TOKEN: &str = "hst-token-5e8d2a7c9b1f4036";
const TARGET: &str = "network.example";

fn emulator() -> Emulator<Hostinger> {
    Emulator::spawn(
        Hostinger::new(
            TOKEN,
            &["example.com", "sub.example.com", "network.example"],
        ),
        0,
    )
    .expect("emulator")
}

fn config_with(case: &Case, emu: &Emulator<Hostinger>, top: &str, constants: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.hostinger]\nenabled = true\nconstants = {{ {constants} }}\n\
         routes = {{ \"developers.hostinger.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn constants(token: &str) -> String {
    format!("WU_HOSTINGER_API_TOKEN = \"{token}\", WU_HOSTINGER_NETWORK_DOMAIN = \"{TARGET}\"")
}

fn setup(name: &str, top: &str) -> (Case, Emulator<Hostinger>) {
    let case = Case::new(name);
    let emu = emulator();
    config_with(&case, &emu, top, &constants(TOKEN));
    (case, emu)
}

fn cname(emu: &Emulator<Hostinger>, zone: &str, name: &str) -> Option<Vec<String>> {
    emu.lock()
        .panel
        .record(zone, name, "CNAME")
        .map(|s| s.contents.clone())
}

fn writes(emu: &Emulator<Hostinger>) -> Vec<panel_emulators::Request> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect()
}

#[test]
fn adding_a_domain_writes_a_cname_in_the_owning_zone_without_overwriting() {
    let (case, emu) = setup("add", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "Shop.Example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let hs = run.integration("hostinger");
    assert_eq!(hs["changed"], true, "{hs}");
    assert_eq!(
        strings(&hs["notes"])[0],
        "added CNAME shop.example.com -> network.example"
    );
    assert_eq!(
        cname(&emu, "example.com", "shop"),
        Some(vec![TARGET.to_string()])
    );
    // The rest of the zone is untouched.
    assert_eq!(emu.lock().panel.zones["example.com"].len(), 3);
    let writes = writes(&emu);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].path, "/api/dns/v1/zones/example.com");
    assert_eq!(
        writes[0].json().unwrap(),
        serde_json::json!({"overwrite": false, "zone": [
            {"name": "shop", "type": "CNAME", "ttl": 14400, "records": [{"content": TARGET}]}]})
    );
    for r in emu.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    assert!(!run.all_output().contains(TOKEN));
}

#[test]
fn the_deepest_zone_of_the_portfolio_owns_the_name() {
    let (case, emu) = setup("deepest", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "a.sub.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        cname(&emu, "sub.example.com", "a"),
        Some(vec![TARGET.to_string()])
    );
    assert_eq!(cname(&emu, "example.com", "a.sub"), None);
}

/// Review #9: `www.<domain>` goes only when the host's event says so. Added with the
/// domain under `always`, then removed under `never` (the host sends `www = false`): the
/// `www.` record stays, it may be a domain mapped on its own.
#[test]
fn a_remove_without_www_leaves_the_www_record() {
    let (case, emu) = setup("remove-no-www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(cname(&emu, "example.com", "www.shop").is_some());
    config_with(&case, &emu, "www = \"never\"", &constants(TOKEN));
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(cname(&emu, "example.com", "shop").is_none());
    assert_eq!(
        cname(&emu, "example.com", "www.shop"),
        Some(vec![TARGET.to_string()])
    );
    let delete = writes(&emu)
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        delete.json().unwrap(),
        serde_json::json!({"filters": [{"name": "shop", "type": "CNAME"}]})
    );
}

#[test]
fn the_www_variant_follows_the_policy_and_goes_with_the_domain() {
    let (case, emu) = setup("www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(cname(&emu, "example.com", "shop").is_some());
    assert!(cname(&emu, "example.com", "www.shop").is_some());
    assert_eq!(writes(&emu).len(), 1, "one PUT for both");

    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        strings(&run.integration("hostinger")["notes"])[0],
        "removed CNAME shop.example.com, www.shop.example.com"
    );
    assert!(cname(&emu, "example.com", "shop").is_none());
    assert!(cname(&emu, "example.com", "www.shop").is_none());
    let delete = writes(&emu)
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        delete.json().unwrap(),
        serde_json::json!({"filters": [{"name": "shop", "type": "CNAME"}, {"name": "www.shop", "type": "CNAME"}]})
    );
}

#[test]
fn a_record_someone_else_owns_is_not_overwritten() {
    for (kind, content, what) in [
        ("CNAME", "elsewhere.net", "a CNAME to elsewhere.net"),
        ("A", "198.51.100.4", "A record(s)"),
    ] {
        let (case, emu) = setup(&format!("taken-{kind}"), "www = \"never\"");
        emu.lock().panel.seed("example.com", "shop", kind, content);
        let before = emu.lock().panel.zones["example.com"].clone();
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 1, "{}", run.all_output());
        let hs = run.integration("hostinger");
        assert_eq!(hs["error"]["kind"], "conflict", "{hs}");
        let message = hs["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(what) && message.contains("not overwritten"),
            "{message}"
        );
        assert!(writes(&emu).is_empty());
        assert_eq!(emu.lock().panel.zones["example.com"], before);
    }
}

#[test]
fn a_customer_owned_domain_outside_the_portfolio_is_a_success_naming_its_records() {
    // Review (Hostinger, add-domain): a name outside the portfolio was a NotFound error, and
    // with customer-owned domains that is every add. Its DNS is not this panel's to write:
    // the customer creates the record, the lifecycle checks DNS.
    let (case, emu) = setup("outside", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "customer.org", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let hs = run.integration("hostinger");
    assert_eq!(hs["ok"], true, "{hs}");
    assert_eq!(hs["changed"], false, "{hs}");
    let notes = strings(&hs["notes"]).join(" ");
    assert!(
        notes.contains("not in this Hostinger account's domain portfolio")
            && notes.contains("CNAME customer.org -> network.example")
            && notes.contains("CNAME www.customer.org -> network.example")
            && notes.contains("where its DNS is hosted"),
        "{notes}"
    );
    assert!(writes(&emu).is_empty());
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.path == "/api/domains/v1/portfolio"),
        "no zone is read or written"
    );
    // Removing it has nothing to undo: a success that says so.
    let run = case.run(&["--json", "remove-domain", "customer.org", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let hs = run.integration("hostinger");
    assert_eq!(hs["changed"], false);
    assert!(
        strings(&hs["notes"])
            .join(" ")
            .contains("customer.org is in no zone of the portfolio"),
        "{hs}"
    );
    // A real failure stays one: a portfolio that cannot be read is an error, not a note.
    config_with(
        &case,
        &emu,
        "www = \"always\"\n[retry]\nbase_delay_ms = 10",
        &constants(TOKEN),
    );
    emu.inject(Fault::status(500, 20).on("GET", "/api/domains/v1/portfolio"));
    let run = case.run(&["--json", "add-domain", "customer.org", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    assert_eq!(run.integration("hostinger")["ok"], false);
    assert!(!run.all_output().contains(TOKEN));
}

#[test]
fn the_zone_apex_gets_no_cname() {
    let (case, emu) = setup("apex-www", "www = \"always\"");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let hs = run.integration("hostinger");
    assert_eq!(hs["changed"], true);
    let notes = strings(&hs["notes"]).join(" ");
    assert!(
        notes.contains("added CNAME www.example.com")
            && notes.contains("DNS allows no CNAME there"),
        "{notes}"
    );
    assert!(cname(&emu, "example.com", "@").is_none());
    assert!(cname(&emu, "example.com", "www").is_some());

    let (case, emu) = setup("apex", "www = \"never\"");
    let run = case.run(&["--json", "add-domain", "example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    assert_eq!(
        run.integration("hostinger")["error"]["kind"],
        "invalid_input"
    );
    assert!(writes(&emu).is_empty());
}

#[test]
fn removal_deletes_only_the_cname_pointing_at_the_network() {
    let (case, emu) = setup("remove-ours", "www = \"never\"");
    emu.lock()
        .panel
        .seed("example.com", "legacy", "A", "198.51.100.4");
    emu.lock()
        .panel
        .seed("example.com", "other", "CNAME", "elsewhere.net");
    for name in ["legacy.example.com", "other.example.com"] {
        let run = case.run(&["--json", "remove-domain", name, "--site", "4"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        let hs = run.integration("hostinger");
        assert_eq!(hs["changed"], false, "{hs}");
        assert!(
            strings(&hs["notes"]).join(" ").contains("left alone"),
            "{hs}"
        );
    }
    assert!(
        writes(&emu).is_empty(),
        "the plugin would delete A/AAAA here"
    );
    assert!(
        emu.lock()
            .panel
            .record("example.com", "legacy", "A")
            .is_some()
    );
    assert!(cname(&emu, "example.com", "other").is_some());
}

#[test]
fn subdomain_sites_get_their_record_and_lose_it() {
    let (case, emu) = setup("subdomains", "www = \"never\"");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("hostinger")["changed"], true);
    assert_eq!(
        cname(&emu, "network.example", "site1"),
        Some(vec![TARGET.to_string()])
    );
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("hostinger")["changed"], true);
    assert!(cname(&emu, "network.example", "site1").is_none());
}

#[test]
fn test_connection_only_reads() {
    let (case, emu) = setup("test", "");
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("hostinger")["notes"]).join(" ");
    assert!(
        notes.contains("3 domain(s) in the portfolio")
            && notes.contains("point at network.example"),
        "{notes}"
    );
    assert!(writes(&emu).is_empty());
    assert!(emu.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn a_rejected_token_is_bad_credentials() {
    let case = Case::new("bad-token");
    let emu = emulator();
    let wrong = "hst-wrong-token-000";
    config_with(&case, &emu, "", &constants(wrong));
    for args in [
        vec!["--json", "test"],
        vec!["--json", "add-domain", "shop.example.com", "--site", "4"],
    ] {
        let run = case.run(&args);
        assert_eq!(run.status, 1, "{}", run.all_output());
        let hs = run.integration("hostinger");
        assert_eq!(hs["error"]["kind"], "bad_credentials", "{hs}");
        let message = hs["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Unauthenticated")
                && message.contains("correlation id")
                && message.contains("WU_HOSTINGER_API_TOKEN"),
            "{message}"
        );
        assert_eq!(hs["attempts"], 1);
        assert!(!run.all_output().contains(wrong));
    }
    assert!(writes(&emu).is_empty());
}

#[test]
fn a_missing_network_domain_is_reported_by_name_and_nothing_is_sent() {
    let case = Case::new("no-target");
    let emu = emulator();
    config_with(
        &case,
        &emu,
        "",
        &format!("WU_HOSTINGER_API_TOKEN = \"{TOKEN}\""),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let hs = run.integration("hostinger");
    assert!(
        hs["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WU_HOSTINGER_NETWORK_DOMAIN is not set"),
        "{hs}"
    );
    assert!(emu.requests().is_empty());
    // The test still works, and says what is missing.
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0);
    assert!(
        strings(&run.integration("hostinger")["notes"])
            .join(" ")
            .contains("WU_HOSTINGER_NETWORK_DOMAIN is not set")
    );
}

#[test]
fn panel_errors_are_reported_whether_in_a_422_or_inside_a_200() {
    let (case, emu) = setup("invalid", "www = \"never\"");
    let body = serde_json::json!({"message": "The given data was invalid.",
        "errors": {"zone.0.records.0.content": ["The content must be a valid hostname."]},
        "correlation_id": "abc123"});
    emu.inject(Fault::respond(Response::json(422, &body), 1).on("PUT", "/api/dns/v1/zones/"));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let hs = run.integration("hostinger");
    assert_eq!(hs["error"]["kind"], "invalid_input", "{hs}");
    let message = hs["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("zone.0.records.0.content: The content must be a valid hostname.")
            && message.contains("correlation id abc123"),
        "{message}"
    );
    assert_eq!(hs["attempts"], 1);

    // An HTML page with HTTP 200 where the zone should be: nothing is written.
    let (case, emu) = setup("html-200", "www = \"never\"");
    let page = Response {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><head><title>Maintenance | Hostinger</title></head></html>"
            .to_vec(),
    };
    emu.inject(Fault::respond(page, 1).on("GET", "/api/dns/v1/zones/"));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let hs = run.integration("hostinger");
    assert_eq!(hs["error"]["kind"], "api", "{hs}");
    assert!(
        hs["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Maintenance | Hostinger"),
        "{hs}"
    );
    assert!(writes(&emu).is_empty());
}

#[test]
fn dns_requirements_name_the_cname() {
    let (case, emu) = setup("dns-req", "www = \"always\"");
    let run = case.run(&["--json", "dns-requirements", "shop.example.com"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("hostinger")["records"],
        serde_json::json!([
            {"kind": "CNAME", "name": "shop.example.com", "value": TARGET, "purpose": "routing"},
            {"kind": "CNAME", "name": "www.shop.example.com", "value": TARGET, "purpose": "routing"}
        ])
    );
    assert!(emu.requests().is_empty());
}
