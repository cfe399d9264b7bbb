//! Laravel Forge end to end: domain records on the configured site (organization-scoped
//! API), `www` per policy, cursor pages, the domain's certificate requested and polled,
//! and Forge's 60-requests-a-minute limit read from its headers.

mod support;

use panel_emulators::laravel_forge::{CertificateRoute, Forge};
use panel_emulators::{Emulator, Fault, Response};
use support::{Case, strings};

const TOKEN: &str = "forge-token-7f3a9c2e1b5d";
const ORG: &str = "acme-hosting";
const SERVER: u64 = 301;
const SITE: u64 = 7001;

fn emulator() -> Emulator<Forge> {
    Emulator::spawn(Forge::new(TOKEN, ORG, SERVER, SITE, "network.example"), 0).expect("emulator")
}

fn constants(token: &str, org: &str, site: u64, extra: &str) -> String {
    format!(
        "WU_FORGE_API_TOKEN = \"{token}\", WU_FORGE_ORGANIZATION = \"{org}\", WU_FORGE_SERVER_ID = \"{SERVER}\", WU_FORGE_SITE_ID = \"{site}\"{extra}"
    )
}

fn config(case: &Case, emu: &Emulator<Forge>, top: &str, constants: &str) {
    case.write_config(&format!(
        "{top}\n[integrations.laravel-forge]\nenabled = true\nconstants = {{ {constants} }}\nroutes = {{ \"forge.laravel.com\" = \"{}\" }}\n",
        emu.base_url()
    ));
}

fn setup(name: &str, top: &str) -> (Case, Emulator<Forge>) {
    let case = Case::new(name);
    let emu = emulator();
    config(&case, &emu, top, &constants(TOKEN, ORG, SITE, ""));
    (case, emu)
}

fn site_path() -> String {
    format!("/api/orgs/{ORG}/servers/{SERVER}/sites/{SITE}")
}

fn names(emu: &Emulator<Forge>) -> Vec<String> {
    let mut names: Vec<String> = emu
        .lock()
        .panel
        .site(SERVER, SITE)
        .domains
        .iter()
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names
}

fn count(emu: &Emulator<Forge>, method: &str, suffix: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .count()
}

fn writes(emu: &Emulator<Forge>) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

/// Operations the CLI has no command for, run in-process through the host library.
fn in_process(case: &Case, operation: &str, domain: &str) -> serde_json::Value {
    use domain_host::config::LoadedConfig;
    use domain_host::contract::DomainEvent;
    use domain_host::runtime::host::{Host, HostSettings};
    use domain_host::runtime::operation::Operation;
    use domain_host::sandbox::approvals::Mode;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = LoadedConfig::load(&case.config_path()).unwrap();
        let settings = HostSettings::from_config(&config, None, Default::default()).unwrap();
        let host = Host::new(settings).unwrap();
        let id = "laravel-forge";
        let integration = host
            .load_with(
                id,
                &config.config.integrations[id],
                config.component_path(id).unwrap(),
                Mode::Enforce,
            )
            .await
            .unwrap();
        let event = DomainEvent {
            domain: domain.into(),
            site_id: 1,
            www: false,
            attempt: 1,
        };
        let operation = match operation {
            "certificate-status" => Operation::CertificateStatus(event),
            other => panic!("{other}"),
        };
        serde_json::to_value(host.run(&integration, &operation).await).unwrap()
    })
}

#[test]
fn a_domain_is_added_to_the_site_with_www_per_policy() {
    for (policy, www) in [("always", "from-www"), ("never", "none")] {
        let (case, emu) = setup(&format!("add-{policy}"), &format!("www = \"{policy}\""));
        let run = case.run(&["--json", "add-domain", "Shop.Example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        let lf = run.integration("laravel-forge");
        assert_eq!(lf["changed"], true, "{lf}");
        let record = emu
            .lock()
            .panel
            .record_named(SERVER, SITE, "shop.example.com")
            .expect("record created");
        assert_eq!(record.www_redirect_type, www, "{policy}");
        assert_eq!(record.kind, "alias");
        assert!(!record.allow_wildcard_subdomains);
        let requests = emu.requests();
        let create = requests.iter().find(|r| r.method == "POST").unwrap();
        assert_eq!(create.path, format!("{}/domains", site_path()));
        assert_eq!(
            create.json().unwrap(),
            serde_json::json!({"name": "shop.example.com", "allow_wildcard_subdomains": false, "www_redirect_type": www})
        );
        assert!(
            requests
                .iter()
                .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
        );
        // One site, no new site per domain, no certificate ordered before DNS points here.
        assert_eq!(emu.lock().panel.sites.len(), 1);
        assert_eq!(count(&emu, "POST", "/certificate"), 0);
        assert!(!run.all_output().contains(TOKEN));
    }
}

#[test]
fn adding_twice_changes_nothing_and_a_missing_www_is_turned_on() {
    let (case, emu) = setup("add-twice", "www = \"never\"");
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["changed"], false, "{lf}");
    assert!(
        strings(&lf["notes"])[0].contains("already on the site"),
        "{lf}"
    );
    assert_eq!(writes(&emu), 1, "one create in all");

    // The network now wants www: the record is updated, not created again.
    config(
        &case,
        &emu,
        "www = \"always\"",
        &constants(TOKEN, ORG, SITE, ""),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("laravel-forge")["changed"], true);
    assert_eq!(count(&emu, "PATCH", ""), 1);
    let record = emu
        .lock()
        .panel
        .record_named(SERVER, SITE, "shop.example.com")
        .unwrap();
    assert_eq!(record.www_redirect_type, "from-www");
    assert_eq!(names(&emu), ["network.example", "shop.example.com"]);
}

#[test]
fn removal_follows_the_cursor_to_a_later_page() {
    let (case, emu) = setup("remove-paged", "");
    let filler: Vec<String> = (0..40).map(|i| format!("f{i:02}.example.com")).collect();
    emu.lock().panel.seed(SERVER, SITE, &filler, "none");
    emu.lock().panel.seed(
        SERVER,
        SITE,
        &["target.example.com".to_string()],
        "from-www",
    );
    let run = case.run(&[
        "--json",
        "remove-domain",
        "target.example.com",
        "--site",
        "4",
    ]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("laravel-forge")["changed"], true);
    assert!(
        emu.lock()
            .panel
            .record_named(SERVER, SITE, "target.example.com")
            .is_none()
    );
    assert_eq!(names(&emu).len(), 41, "only the target was removed");
    let pages: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/domains"))
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(pages, ["", "page%5Bcursor%5D=cur30"]);
}

#[test]
fn remove_keeps_a_separate_www_record_when_the_event_says_www_false() {
    // `www = "never"`: the host sends the remove with `www = false` (as it does while
    // `www.<domain>` is mapped of its own); its record stays.
    let (case, emu) = setup("remove-keeps-www", "www = \"never\"");
    let both = [
        "shop.example.com".to_string(),
        "www.shop.example.com".to_string(),
    ];
    emu.lock().panel.seed(SERVER, SITE, &both, "none");
    let run = case.run(&["--json", "remove-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("laravel-forge")["changed"], true);
    assert!(
        emu.lock()
            .panel
            .record_named(SERVER, SITE, "www.shop.example.com")
            .is_some(),
        "www. was removed: {:?}",
        names(&emu)
    );
    assert!(
        emu.lock()
            .panel
            .record_named(SERVER, SITE, "shop.example.com")
            .is_none()
    );
}

#[test]
fn a_record_still_being_deleted_counts_as_removed() {
    let (case, emu) = setup("async-delete", "");
    emu.lock().panel.async_delete = true;
    emu.lock()
        .panel
        .seed(SERVER, SITE, &["old.example.com".to_string()], "none");
    assert_eq!(
        case.run(&["remove-domain", "old.example.com", "--site", "4"])
            .status,
        0
    );
    let run = case.run(&["--json", "remove-domain", "old.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.integration("laravel-forge")["changed"], false);
    assert_eq!(count(&emu, "DELETE", ""), 1, "not deleted twice");
}

#[test]
fn subdomain_sites_need_nothing_on_forge() {
    let (case, emu) = setup("subdomains", "www = \"always\"");
    for command in ["add-subdomain", "remove-subdomain"] {
        let run = case.run(&["--json", command, "site1.network.example", "--site", "9"]);
        assert_eq!(run.status, 0, "{}", run.all_output());
        assert_eq!(run.integration("laravel-forge")["changed"], false);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn a_bad_token_is_reported_as_rejected_credentials() {
    let case = Case::new("bad-token");
    let emu = emulator();
    let bad = "forge-wrong-token-000111";
    config(&case, &emu, "", &constants(bad, ORG, SITE, ""));
    let run = case.run(&["--json", "test"]);
    assert_eq!(run.status, 1);
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["error"]["kind"], "bad_credentials", "{lf}");
    let message = lf["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("No valid API key was provided.")
            && message.contains("WU_FORGE_API_TOKEN"),
        "{message}"
    );
    assert!(!run.all_output().contains(bad));
}

#[test]
fn a_wrong_organization_or_site_is_explained() {
    for (name, org, site) in [("wrong-org", "someone-else", SITE), ("wrong-site", ORG, 9)] {
        let case = Case::new(name);
        let emu = emulator();
        config(&case, &emu, "", &constants(TOKEN, org, site, ""));
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 1, "{name}");
        let lf = run.integration("laravel-forge");
        assert_eq!(lf["error"]["kind"], "not_found", "{name}: {lf}");
        assert!(
            lf["error"]["message"]
                .as_str()
                .unwrap()
                .contains("check WU_FORGE_ORGANIZATION, WU_FORGE_SERVER_ID and WU_FORGE_SITE_ID"),
            "{lf}"
        );
        assert_eq!(writes(&emu), 0);
    }
}

#[test]
fn validation_errors_are_passed_through_readably() {
    let (case, emu) = setup("422", "");
    let body = serde_json::json!({"message": "The name is reserved.", "errors": {"name": ["The name is reserved."]}});
    emu.inject(Fault::respond(Response::json(422, &body), 1).on("POST", "/api/orgs/"));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["error"]["kind"], "invalid_input", "{lf}");
    assert!(
        lf["error"]["message"]
            .as_str()
            .unwrap()
            .contains("name: The name is reserved."),
        "{lf}"
    );
}

#[test]
fn a_name_on_another_site_of_the_server_is_a_conflict() {
    let (case, emu) = setup("taken", "");
    emu.lock()
        .panel
        .add_site(SERVER, 7002, &["other.example", "shop.example.com"]);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["error"]["kind"], "conflict", "{lf}");
    assert!(
        lf["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already been taken")
    );
}

#[test]
fn maintenance_503s_are_retried() {
    let (case, emu) = setup("503", "www = \"never\"\n[retry]\nbase_delay_ms = 10");
    let body = serde_json::json!({"message": "Forge is offline for maintenance."});
    emu.inject(Fault::respond(Response::json(503, &body), 1).on("GET", &site_path()));
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["attempts"], 2, "{lf}");
    assert!(
        strings(&lf["notes"])
            .iter()
            .any(|n| n.contains("offline for maintenance")),
        "{lf}"
    );
    assert_eq!(names(&emu), ["network.example", "shop.example.com"]);
}

#[test]
fn a_429_is_waited_out_as_long_as_forge_says() {
    // With Retry-After (Laravel's throttle sends it), and with only the documented
    // X-RateLimit-* headers, whose reset is a Unix time.
    for retry_after in [true, false] {
        let (case, emu) = setup(
            &format!("429-{retry_after}"),
            "www = \"never\"\n[retry]\nattempts = 4\nbudget_secs = 20",
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut limited =
            Response::json(429, &serde_json::json!({"message": "Too Many Attempts."}))
                .with_header("x-ratelimit-limit", "60")
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", (now + 2).to_string());
        if retry_after {
            limited = limited.with_header("retry-after", "1");
        }
        emu.inject(Fault::respond(limited, 1).on("POST", &format!("{}/domains", site_path())));
        let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
        assert_eq!(run.status, 0, "{retry_after}: {}", run.all_output());
        let lf = run.integration("laravel-forge");
        assert_eq!(lf["attempts"], 2, "{lf}");
        assert_eq!(lf["changed"], true, "{lf}");
        assert!(
            strings(&lf["notes"])
                .iter()
                .any(|n| n.contains("Too Many Attempts.")),
            "{lf}"
        );
        assert_eq!(names(&emu), ["network.example", "shop.example.com"]);
        // The wait is measured between the panel's own timestamps.
        let posts: Vec<std::time::Instant> = emu
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .map(|r| r.received)
            .collect();
        assert_eq!(posts.len(), 2);
        assert!(
            posts[1] - posts[0] >= std::time::Duration::from_millis(900),
            "{retry_after}: waited {:?}",
            posts[1] - posts[0]
        );
    }
}

#[test]
fn a_spent_budget_is_not_spent_further() {
    let (case, emu) = setup(
        "budget",
        "www = \"never\"\n[retry]\nattempts = 3\nbudget_secs = 20",
    );
    // One request left in this second's window: the list uses it and reports 0 remaining,
    // so the component asks the host to wait instead of sending a create Forge would refuse.
    emu.lock()
        .panel
        .limit_rate(2, std::time::Duration::from_secs(2), 1);
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let lf = run.integration("laravel-forge");
    assert!(lf["attempts"].as_u64().unwrap() >= 2, "{lf}");
    assert!(
        strings(&lf["notes"])
            .iter()
            .any(|n| n.contains("X-RateLimit-Remaining: 0")),
        "{lf}"
    );
    assert_eq!(names(&emu), ["network.example", "shop.example.com"]);
}

#[test]
fn request_certificate_orders_and_polls_the_domains_certificate() {
    for route in [CertificateRoute::Singular, CertificateRoute::Plural] {
        let (case, emu) = setup(&format!("cert-{route:?}"), "www = \"never\"");
        emu.lock().panel.certificate_route = route;
        assert_eq!(
            case.run(&["add-domain", "shop.example.com", "--site", "4"])
                .status,
            0
        );
        let run = case.request_certificate("shop.example.com", 4);
        assert_eq!(run.status, 0, "{route:?}: {}", run.all_output());
        let lf = run.integration("laravel-forge");
        assert_eq!(lf["changed"], true, "{lf}");
        assert!(
            strings(&lf["notes"])[0].contains("installed"),
            "{route:?}: {lf}"
        );
        let record = emu
            .lock()
            .panel
            .record_named(SERVER, SITE, "shop.example.com")
            .unwrap();
        assert_eq!(record.certificates.len(), 1, "{route:?}");
        assert_eq!(record.certificates[0].status, "installed");
        let post = emu
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path.contains("/certificate"))
            .unwrap();
        let suffix = match route {
            CertificateRoute::Singular => "/certificate",
            CertificateRoute::Plural => "/certificates",
        };
        assert_eq!(
            post.path,
            format!("{}/domains/{}{suffix}", site_path(), record.id)
        );
        assert_eq!(
            post.json().unwrap(),
            serde_json::json!({"type": "letsencrypt", "letsencrypt": {"verification_method": "http-01"}})
        );
        // Asked again: nothing new is ordered.
        let run = case.request_certificate("shop.example.com", 4);
        assert_eq!(run.status, 0);
        assert_eq!(run.integration("laravel-forge")["changed"], false);
        let status = in_process(&case, "certificate-status", "shop.example.com");
        assert_eq!(status["certificate"]["state"], "active", "{status}");
        assert_eq!(
            emu.lock()
                .panel
                .record_named(SERVER, SITE, "shop.example.com")
                .unwrap()
                .certificates
                .len(),
            1
        );
    }
}

#[test]
fn a_failed_certificate_is_an_error_and_a_status() {
    let (case, emu) = setup("cert-failed", "www = \"never\"");
    emu.lock().panel.failing.insert("shop.example.com".into());
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 1, "{}", run.all_output());
    let lf = run.integration("laravel-forge");
    assert!(
        lf["error"]["message"]
            .as_str()
            .unwrap()
            .contains("DNS does not point"),
        "{lf}"
    );
    let status = in_process(&case, "certificate-status", "shop.example.com");
    assert_eq!(status["certificate"]["state"], "failed", "{status}");
    let none = in_process(&case, "certificate-status", "network.example");
    assert_eq!(none["certificate"]["state"], "none", "{none}");
}

#[test]
fn a_certificate_still_installing_is_reported_as_requested() {
    let (case, emu) = setup("cert-slow", "www = \"never\"");
    emu.lock().panel.certificate_reads = 100;
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["changed"], true);
    assert!(
        strings(&lf["notes"])[0].contains("still working on it"),
        "{lf}"
    );
    let status = in_process(&case, "certificate-status", "shop.example.com");
    assert_eq!(status["certificate"]["state"], "pending", "{status}");
}

#[test]
fn a_certificate_order_applied_before_a_503_is_not_ordered_again() {
    let (case, emu) = setup(
        "cert-apply-503",
        "www = \"never\"\n[retry]\nbase_delay_ms = 10",
    );
    assert_eq!(
        case.run(&["add-domain", "shop.example.com", "--site", "4"])
            .status,
        0
    );
    emu.inject(Fault::apply_then_status(503, 1).on("POST", &format!("{}/domains/", site_path())));
    let run = case.request_certificate("shop.example.com", 4);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["attempts"], 2, "{lf}");
    assert_eq!(lf["changed"], true, "{lf}");
    let record = emu
        .lock()
        .panel
        .record_named(SERVER, SITE, "shop.example.com")
        .unwrap();
    assert_eq!(record.certificates.len(), 1, "ordered once");
}

#[test]
fn request_certificate_for_an_unknown_domain_is_not_found() {
    let (case, emu) = setup("cert-unknown", "");
    let run = case.request_certificate("nope.example.com", 4);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.integration("laravel-forge")["error"]["kind"],
        "not_found"
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn the_plugins_load_balancer_and_extra_servers_are_refused_not_half_done() {
    let case = Case::new("load-balancer");
    let emu = emulator();
    config(
        &case,
        &emu,
        "",
        &constants(
            TOKEN,
            ORG,
            SITE,
            ", WU_FORGE_LOAD_BALANCER_SERVER_ID = \"5\", WU_FORGE_LOAD_BALANCER_SITE_ID = \"6\"",
        ),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 1);
    let lf = run.integration("laravel-forge");
    assert_eq!(lf["error"]["kind"], "unsupported", "{lf}");
    assert!(emu.requests().is_empty());

    // A deploy command is reported as not run; the domain is still added.
    config(
        &case,
        &emu,
        "",
        &constants(
            TOKEN,
            ORG,
            SITE,
            ", WU_FORGE_DEPLOY_COMMAND = \"php artisan x {domain}\"",
        ),
    );
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "4"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let notes = strings(&run.integration("laravel-forge")["notes"]).join(" ");
    assert!(
        notes.contains("WU_FORGE_DEPLOY_COMMAND is set but not supported"),
        "{notes}"
    );
}

#[test]
fn list_domains_shows_www_and_the_primary() {
    let (case, emu) = setup("list-domains", "");
    emu.lock()
        .panel
        .seed(SERVER, SITE, &["a.example.com".to_string()], "from-www");
    let run = case.run(&["--json", "list-domains", "laravel-forge"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(
        run.integration("laravel-forge")["domains"],
        serde_json::json!([
            {"name": "network.example", "www": false, "primary": true},
            {"name": "a.example.com", "www": true, "primary": false}
        ])
    );
}
