//! `domain-host reconcile` end to end against the ServerPilot and RunCloud emulators: drift
//! found (missing, extra, www), applied through the normal add path, pruned without ever
//! touching the panel's primary or the network's own domain; exit 0 only in sync.

mod support;

use panel_emulators::Emulator;
use panel_emulators::runcloud::RunCloud;
use panel_emulators::serverpilot::ServerPilot;
use support::Case;

const WANTED: &str = r#"[
  {"domain": "keep.example.com", "site": 2, "kind": "mapped"},
  {"domain": "New.Example.com", "site": 3, "kind": "mapped"},
  {"domain": "s1.network.example", "site": 4, "kind": "subdomain"}
]"#;

fn serverpilot() -> Emulator<ServerPilot> {
    let emu = Emulator::spawn(ServerPilot::new("cid_r", "key-r-123", "app1"), 0).unwrap();
    emu.lock().panel.app_mut("app1").domains = [
        "keep.example.com",
        "www.keep.example.com",
        "old.example.com",
        "network.example",
    ]
    .map(String::from)
    .to_vec();
    emu
}

fn runcloud() -> Emulator<RunCloud> {
    let emu = Emulator::spawn(
        RunCloud::new("rc-token-r", "k", "s", 1, 2, "network.example"),
        0,
    )
    .unwrap();
    emu.lock()
        .panel
        .seed(1, 2, &["keep.example.com".into(), "old.example.com".into()]);
    emu
}

fn sp_table(emu: &Emulator<ServerPilot>) -> String {
    format!(
        "[integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_r\", WU_SERVER_PILOT_API_KEY = \"key-r-123\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n",
        emu.base_url()
    )
}

fn rc_table(emu: &Emulator<RunCloud>) -> String {
    format!(
        "[integrations.runcloud]\nenabled = true\n\
         constants = {{ WU_RUNCLOUD_API_TOKEN = \"rc-token-r\", WU_RUNCLOUD_SERVER_ID = \"1\", WU_RUNCLOUD_APP_ID = \"2\" }}\n\
         routes = {{ \"manage.runcloud.io\" = \"{}\" }}\n",
        emu.base_url()
    )
}

fn case_with(name: &str, tables: &str) -> Case {
    let case = Case::new(name);
    case.write_config(&format!(
        "www = \"always\"\nnetwork_domain = \"network.example\"\n{tables}"
    ));
    std::fs::write(case.dir.join("wanted.json"), WANTED).unwrap();
    case
}

fn reconcile(case: &Case, flags: &[&str]) -> support::Run {
    let wanted = case.dir.join("wanted.json");
    let mut args = vec!["--json", "reconcile", "--wanted", wanted.to_str().unwrap()];
    args.extend_from_slice(flags);
    case.run(&args)
}

fn entry(run: &support::Run, id: &str) -> serde_json::Value {
    run.json()["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{}", run.stdout))
}

fn sp_names(emu: &Emulator<ServerPilot>) -> Vec<String> {
    let mut names = emu.lock().panel.app("app1").domains.clone();
    names.sort();
    names
}

#[test]
fn serverpilot_drift_is_found_applied_and_pruned() {
    let emu = serverpilot();
    let case = case_with("reconcile-sp", &sp_table(&emu));

    let run = reconcile(&case, &[]);
    assert_eq!(run.status, 1, "drift: {}", run.all_output());
    let sp = entry(&run, "serverpilot");
    let missing: Vec<&str> = sp["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["domain"].as_str().unwrap())
        .collect();
    assert_eq!(missing, vec!["new.example.com", "s1.network.example"]);
    assert_eq!(
        sp["missing"][0]["names"],
        serde_json::json!(["new.example.com", "www.new.example.com"])
    );
    assert_eq!(sp["extra"], serde_json::json!(["old.example.com"]));
    assert_eq!(sp["protected"], serde_json::json!(["network.example"]));
    assert!(
        emu.requests().iter().all(|r| r.method == "GET"),
        "a plain reconcile only reads"
    );

    let run = reconcile(&case, &["--apply"]);
    assert_eq!(run.status, 1, "the extra remains: {}", run.all_output());
    let sp = entry(&run, "serverpilot");
    assert_eq!(sp["applied"].as_array().unwrap().len(), 2);
    assert_eq!(sp["missing"], serde_json::json!([]));
    assert_eq!(sp["extra"], serde_json::json!(["old.example.com"]));

    let run = reconcile(&case, &["--apply", "--prune"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(entry(&run, "serverpilot")["in_sync"], true);
    assert_eq!(
        sp_names(&emu),
        vec![
            "keep.example.com",
            "network.example",
            "new.example.com",
            "s1.network.example",
            "www.keep.example.com",
            "www.new.example.com"
        ]
    );
}

#[test]
fn runcloud_drift_with_www_and_the_primary() {
    let emu = runcloud();
    let case = case_with("reconcile-rc", &rc_table(&emu));
    let run = reconcile(&case, &[]);
    assert_eq!(run.status, 1);
    let rc = entry(&run, "runcloud");
    // keep.example.com is on the app without www, which the policy wants.
    assert!(
        rc["www_mismatch"]
            .to_string()
            .contains("keep.example.com is served without its wanted www.keep.example.com"),
        "{rc}"
    );
    assert_eq!(rc["extra"], serde_json::json!(["old.example.com"]));
    assert_eq!(
        rc["protected"],
        serde_json::json!(["network.example"]),
        "the primary is kept"
    );

    // One extra of the panel's four names is more than prune_max_share (a fifth).
    let run = reconcile(&case, &["--apply", "--prune", "--force"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    let panel = emu.lock().panel.webapp(1, 2).clone();
    let find = |n: &str| panel.domains.iter().find(|d| d.name == n).cloned();
    assert!(
        find("keep.example.com").unwrap().www,
        "www added to the existing record"
    );
    assert!(find("new.example.com").unwrap().www);
    assert!(find("s1.network.example").is_some());
    assert!(find("old.example.com").is_none(), "pruned");
    assert_eq!(
        find("network.example").unwrap().kind,
        "primary",
        "never pruned"
    );

    let text = case.run(&[
        "reconcile",
        "--wanted",
        case.dir.join("wanted.json").to_str().unwrap(),
    ]);
    assert_eq!(text.status, 0, "{}", text.all_output());
    assert!(
        text.stdout.contains("runcloud: in sync") && text.stdout.ends_with("in sync\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn both_panels_at_once_and_a_bad_wanted_list_changes_nothing() {
    let sp = serverpilot();
    let rc = runcloud();
    let case = case_with(
        "reconcile-both",
        &format!("{}{}", sp_table(&sp), rc_table(&rc)),
    );
    // One extra of the panel's four names is more than prune_max_share (a fifth).
    let run = reconcile(&case, &["--apply", "--prune", "--force"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
    assert_eq!(run.json()["in_sync"], true);

    std::fs::write(
        case.dir.join("wanted.json"),
        r#"[{"domain": "bad domain", "site": 1, "kind": "mapped"}]"#,
    )
    .unwrap();
    let before = (sp.requests().len(), rc.requests().len());
    let run = reconcile(&case, &["--apply", "--prune"]);
    assert_eq!(run.status, 2, "{}", run.all_output());
    assert!(run.stdout.contains("wanted entry 0"), "{}", run.stdout);
    assert_eq!(
        (sp.requests().len(), rc.requests().len()),
        before,
        "nothing was sent"
    );
}
