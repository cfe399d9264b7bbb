//! bunny.net DNS end to end: records for subdomain sites, removed by id; mapped domains
//! left alone; the `{ErrorKey, Field, Message}` envelope. Retries, absent and foreign
//! records, a wrong zone: `tests/conformance/bunnynet.rs` (the shared suite).

mod support;

use panel_emulators::bunnynet::BunnyNet;
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const KEY: &str = "bunny-account-key-6f5e4d3c-2b1a";
const ZONE: u64 = 4711;
const TARGET: &str = "203.0.113.5";

fn emulator() -> Emulator<BunnyNet> {
    Emulator::spawn(BunnyNet::new(KEY, ZONE, "network.example"), 0).expect("emulator")
}

fn constants_with(key: &str, zone: &str, target: Option<&str>) -> String {
    let mut c = format!("WU_BUNNYNET_API_KEY = \"{key}\", WU_BUNNYNET_ZONE_ID = \"{zone}\"");
    if let Some(t) = target {
        c.push_str(&format!(", WU_BUNNYNET_TARGET = \"{t}\""));
    }
    c
}

/// A config for the emulator; `top` is the config's top-level lines. Tests that are not
/// about the `www` policy get `www = "never"`, so a subdomain site is one record.
fn setup_with(name: &str, top: &str, constants: &str) -> (Case, Emulator<BunnyNet>) {
    let case = Case::new(name);
    let emu = emulator();
    let top = if top.contains("www") {
        top.to_string()
    } else {
        format!("www = \"never\"\n{top}")
    };
    case.write_config(&format!(
        "{top}\n[integrations.bunnynet]\nenabled = true\nconstants = {{ {constants} }}\n\
         routes = {{ \"api.bunny.net\" = \"{}\" }}\n",
        emu.base_url()
    ));
    (case, emu)
}

fn setup(name: &str, top: &str) -> (Case, Emulator<BunnyNet>) {
    setup_with(
        name,
        top,
        &constants_with(KEY, &ZONE.to_string(), Some(TARGET)),
    )
}

/// `(type, name, value)` of the zone's records, sorted.
fn records(emu: &Emulator<BunnyNet>) -> Vec<(u8, String, String)> {
    let mut r: Vec<_> = emu
        .lock()
        .panel
        .records(ZONE)
        .into_iter()
        .map(|r| (r.kind, r.name, r.value))
        .collect();
    r.sort();
    r
}

fn rec(kind: u8, name: &str, value: &str) -> (u8, String, String) {
    (kind, name.into(), value.into())
}

fn count(emu: &Emulator<BunnyNet>, method: &str) -> usize {
    emu.requests().iter().filter(|r| r.method == method).count()
}

#[test]
fn a_subdomain_site_gets_an_a_record_pointing_at_the_target() {
    let (case, emu) = setup("add", "");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let report = run.integration("bunnynet");
    assert_eq!(report["changed"], true, "{report}");
    assert_eq!(
        strings(&report["notes"])[0],
        "created A record(s) for site1.network.example pointing at 203.0.113.5"
    );
    assert_eq!(records(&emu), vec![rec(0, "site1", TARGET)]);
    let put = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.path, format!("/dnszone/{ZONE}/records"));
    assert_eq!(
        put.json().unwrap(),
        serde_json::json!({"Type": 0, "Ttl": 3600, "Name": "site1", "Value": TARGET})
    );
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.header("accesskey") == Some(KEY))
    );
    assert!(!run.all_output().contains(KEY));
}

#[test]
fn ipv6_and_host_name_targets_make_aaaa_and_cname_records() {
    for (target, kind) in [("2001:db8::5", 1u8), ("edge.example.net", 2u8)] {
        let (case, emu) = setup_with(
            "targets",
            "",
            &constants_with(KEY, &ZONE.to_string(), Some(target)),
        );
        assert_eq!(
            case.run(&["add-subdomain", "site1.network.example", "--site", "9"])
                .status,
            0
        );
        assert_eq!(records(&emu), vec![rec(kind, "site1", target)]);
    }
}

#[test]
fn adding_a_present_record_changes_nothing() {
    let (case, emu) = setup("add-twice", "");
    emu.lock().panel.seed(ZONE, 0, "site1", TARGET);
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let report = run.integration("bunnynet");
    assert_eq!(report["changed"], false, "{report}");
    assert!(strings(&report["notes"])[0].contains("already point at 203.0.113.5"));
    assert_eq!(count(&emu, "PUT"), 0);
}

#[test]
fn a_name_pointing_elsewhere_is_a_conflict_and_left_alone() {
    let (case, emu) = setup("conflict", "");
    emu.lock().panel.seed(ZONE, 0, "site1", "198.51.100.7");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1);
    let report = run.integration("bunnynet");
    assert_eq!(report["error"]["kind"], "conflict", "{report}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("A 198.51.100.7")
    );
    assert_eq!(records(&emu), vec![rec(0, "site1", "198.51.100.7")]);
}

#[test]
fn removal_deletes_the_sites_records_by_id_and_its_www_and_nothing_else() {
    // `www = "always"`: the event carries `www`, so `www.site1` goes with the site.
    let (case, emu) = setup("remove", "www = \"always\"");
    let (a, www) = {
        let mut shared = emu.lock();
        let a = shared.panel.seed(ZONE, 0, "site1", TARGET);
        let www = shared.panel.seed(ZONE, 0, "www.site1", TARGET);
        shared.panel.seed(ZONE, 3, "site1", "v=spf1 -all");
        shared.panel.seed(ZONE, 0, "site2", TARGET);
        (a, www)
    };
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("bunnynet")["changed"], true);
    assert_eq!(
        records(&emu),
        vec![rec(0, "site2", TARGET), rec(3, "site1", "v=spf1 -all")]
    );
    let deletes: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        deletes,
        vec![
            format!("/dnszone/{ZONE}/records/{a}"),
            format!("/dnszone/{ZONE}/records/{www}")
        ]
    );
}

#[test]
fn subdomain_sites_get_www_records_as_the_policy_says() {
    let www = rec(0, "www.site1", TARGET);
    let site = rec(0, "site1", TARGET);
    for (policy, expected) in [
        ("always", vec![site.clone(), www.clone()]),
        // `main_only` gives `www.` to registrable domains only, never to a site's host.
        ("main_only", vec![site.clone()]),
        ("never", vec![site.clone()]),
    ] {
        let (case, emu) = setup("www", &format!("www = \"{policy}\""));
        let run = case.run(&["add-subdomain", "site1.network.example", "--site", "9"]);
        assert_eq!(run.status, 0, "{policy}: {}", run.all_output());
        assert_eq!(records(&emu), expected, "{policy}");
    }
}

#[test]
fn mapped_domains_are_left_alone_with_a_note() {
    let (case, emu) = setup("mapped", "www = \"always\"");
    for command in ["add-domain", "remove-domain"] {
        let run = case.run(&["--json", command, "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        let report = run.integration("bunnynet");
        assert_eq!(report["changed"], false);
        assert!(
            strings(&report["notes"])[0].contains("left alone"),
            "{report}"
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn without_a_target_nothing_is_sent_and_the_error_says_what_is_needed() {
    let (case, emu) = setup_with(
        "no-target",
        "",
        &constants_with(KEY, &ZONE.to_string(), None),
    );
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1);
    let message = run.integration("bunnynet")["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("WU_BUNNYNET_TARGET is not set") && message.contains("SERVER_ADDR"),
        "{message}"
    );
    assert!(emu.requests().is_empty());
    // test says so too, and still succeeds.
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert!(
        strings(&run.integration("bunnynet")["notes"])
            .join(" ")
            .contains("WU_BUNNYNET_TARGET is not set")
    );
}

#[test]
fn test_connection_reads_the_zone_only() {
    let (case, emu) = setup("test", "");
    emu.lock().panel.seed(ZONE, 0, "site1", TARGET);
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("bunnynet")["notes"]);
    assert_eq!(notes[0], "zone network.example reachable: 1 record(s)");
    assert_eq!(
        notes[1],
        "subdomain sites get A records pointing at 203.0.113.5"
    );
    assert!(emu.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn a_bad_key_is_rejected_credentials() {
    let bad = "wrong-bunny-key-0000111122";
    let (case, emu) = setup_with(
        "bad-key",
        "",
        &constants_with(bad, &ZONE.to_string(), Some(TARGET)),
    );
    let run = case.run(&[
        "--json",
        "--log-level",
        "trace",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1);
    let report = run.integration("bunnynet");
    assert_eq!(report["error"]["kind"], "bad_credentials", "{report}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WU_BUNNYNET_API_KEY")
    );
    assert_eq!(report["attempts"], 1);
    assert!(!run.all_output().contains(bad));
    assert!(records(&emu).is_empty());
}

#[test]
fn validation_errors_carry_message_field_and_key() {
    let (case, emu) = setup("400", "");
    let body = serde_json::json!({"ErrorKey": "dnszone.record.invalid_value", "Field": "Value", "Message": "The record value is invalid."});
    emu.inject(Fault::respond(Response::json(400, &body), 1).on("PUT", "/dnszone/"));
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1);
    let report = run.integration("bunnynet");
    assert_eq!(report["error"]["kind"], "invalid_input");
    assert_eq!(
        report["error"]["message"],
        "bunnynet: refused: bunny.net refused the record: The record value is invalid. (Value: dnszone.record.invalid_value)"
    );
}

#[test]
fn a_site_outside_the_zone_is_refused() {
    let (case, emu) = setup("outside", "");
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.other.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.integration("bunnynet")["error"]["kind"],
        "invalid_input"
    );
    assert_eq!(count(&emu, "PUT"), 0);
}

#[test]
fn large_zones_are_read_page_by_page_and_the_zone_list_is_a_fallback() {
    let (case, emu) = setup("paged", "");
    {
        let mut shared = emu.lock();
        for i in 0..1500 {
            shared.panel.seed(ZONE, 0, &format!("f{i:04}"), "192.0.2.1");
        }
        shared.panel.seed(ZONE, 0, "site1", TARGET);
    }
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("bunnynet")["changed"], true);
    let pages: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/records") && r.method == "GET")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(pages, vec!["page=1&perPage=1000", "page=2&perPage=1000"]);
    // Without the paged endpoint, the zone's embedded list.
    emu.lock().panel.records_endpoint = false;
    emu.lock().panel.seed(ZONE, 0, "site2", TARGET);
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "site2.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("bunnynet")["changed"], true);
}

#[test]
fn record_types_answered_as_names_are_understood() {
    let (case, emu) = setup("type-names", "");
    emu.lock().panel.type_as_name = true;
    emu.lock().panel.seed(ZONE, 0, "site1", TARGET);
    let run = case.run(&[
        "--json",
        "add-subdomain",
        "site1.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("bunnynet")["changed"], false);
}

#[test]
fn removal_deletes_only_records_pointing_at_the_target() {
    // panel-review.md #7: `blog A <target>` is this integration's, a hand-made
    // `www.blog CNAME landing.other-host.net` is not, and stays.
    let (case, emu) = setup("remove-own-only", "www = \"always\"");
    let a = {
        let mut shared = emu.lock();
        let a = shared.panel.seed(ZONE, 0, "blog", TARGET);
        shared
            .panel
            .seed(ZONE, 2, "www.blog", "landing.other-host.net");
        shared.panel.seed(ZONE, 0, "blog", "198.51.100.99");
        a
    };
    let run = case.run(&[
        "--json",
        "remove-subdomain",
        "blog.network.example",
        "--site",
        "9",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let report = run.integration("bunnynet");
    assert_eq!(report["changed"], true, "{report}");
    assert_eq!(
        records(&emu),
        vec![
            rec(0, "blog", "198.51.100.99"),
            rec(2, "www.blog", "landing.other-host.net")
        ]
    );
    let deletes: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(deletes, vec![format!("/dnszone/{ZONE}/records/{a}")]);
    let notes = strings(&report["notes"]).join("\n");
    assert!(
        notes.contains("www.blog.network.example CNAME landing.other-host.net")
            && notes.contains("left alone"),
        "{report}"
    );
    assert!(
        notes.contains("blog.network.example A 198.51.100.99"),
        "{report}"
    );
}
