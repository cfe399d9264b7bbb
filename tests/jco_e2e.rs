//! The same components in a second host: transpiled with jco and run under Node against
//! the same emulators, with the tiny JS host in `tests/js-host/` providing the contract's
//! imports (constants, logging) and a gate in front of `wasi:http`.
//!
//! Runs when `node` and `npm` are on the PATH (npm installs the pinned jco once into
//! `target/js-host`); otherwise each test says it was skipped, except in CI (`CI` set),
//! where a missing Node is a failure: `.ci/run` installs it.

mod support;

use panel_emulators::Emulator;
use panel_emulators::runcloud::RunCloud;
use panel_emulators::serverpilot::{ServerPilot, Ssl};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/js-host`, set up with jco and both components transpiled; `None` without Node.
fn js_host() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let have = |tool: &str| {
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !have("node") || !have("npm") {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but node and npm are not installed: the jco tests cannot be skipped in CI"
            );
            return None;
        }
        let dir = Path::new(support::HOST)
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("js-host");
        std::fs::create_dir_all(&dir).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js-host");
        for file in [
            "package.json",
            "package-lock.json",
            "host-imports.mjs",
            "run.mjs",
        ] {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
        let jco = dir.join("node_modules/.bin/jco");
        if !jco.is_file() {
            let status = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm install");
            assert!(status.success(), "npm install of the pinned jco failed");
        }
        for id in ["serverpilot", "runcloud"] {
            let status = Command::new(&jco)
                .arg("transpile")
                .arg(support::components_dir().join(format!("{id}.wasm")))
                .args(["-o", id, "--name", id, "-q"])
                .args([
                    "--map",
                    "multisite:domain-provider/config=../host-imports.mjs#config",
                ])
                .args([
                    "--map",
                    "multisite:domain-provider/log=../host-imports.mjs#log",
                ])
                .args([
                    "--map",
                    "multisite:domain-provider/journal=../host-imports.mjs#journal",
                ])
                .args([
                    "--map",
                    "wasi:http/outgoing-handler=../host-imports.mjs#outgoingHandler",
                ])
                .current_dir(&dir)
                .status()
                .expect("jco transpile");
            assert!(status.success(), "jco transpile {id} failed");
        }
        Some(dir)
    })
    .as_ref()
}

/// Runs one operation of a transpiled component under Node; returns run.mjs's JSON.
fn node(id: &str, settings: Value, args: &[&str]) -> Value {
    let dir = js_host().expect("checked by the caller");
    let config = dir.join(format!(
        "config-{}-{}.json",
        id,
        std::process::id() as u64 * 1000 + rand_suffix()
    ));
    std::fs::write(&config, settings.to_string()).unwrap();
    let output = Command::new("node")
        .arg("run.mjs")
        .arg(format!("./{id}/{id}.js"))
        .args(args)
        .env("DOMAIN_PROVIDER_CONFIG", &config)
        .current_dir(dir)
        .output()
        .expect("node");
    let _ = std::fs::remove_file(&config);
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

macro_rules! require_node {
    () => {
        if js_host().is_none() {
            eprintln!("skipped: node and npm are not installed");
            return;
        }
    };
}

fn serverpilot_settings(emu: &Emulator<ServerPilot>, allowed: &[&str]) -> Value {
    json!({
        "constants": {
            "WU_SERVER_PILOT_CLIENT_ID": "cid_js", "WU_SERVER_PILOT_API_KEY": "js-api-key-123",
            "WU_SERVER_PILOT_APP_ID": "jsApp00000000001"
        },
        "allowed_hosts": allowed,
        "routes": { "api.serverpilot.io": emu.base_url() }
    })
}

#[test]
fn serverpilot_component_runs_under_node() {
    require_node!();
    let emu = Emulator::spawn(
        ServerPilot::new("cid_js", "js-api-key-123", "jsApp00000000001"),
        0,
    )
    .unwrap();
    let settings = serverpilot_settings(&emu, &["api.serverpilot.io"]);
    let added = node(
        "serverpilot",
        settings.clone(),
        &["add-domain", "example.com", "3", "true"],
    );
    assert_eq!(added["ok"], true, "{added}");
    let mut domains = emu.lock().panel.app("jsApp00000000001").domains.clone();
    domains.sort();
    assert_eq!(domains, vec!["example.com", "www.example.com"]);
    assert_eq!(
        emu.lock().panel.app("jsApp00000000001").ssl,
        Ssl::Auto { force: false }
    );
    // This host hands the secret over, and the SDK builds the Basic header itself.
    assert!(
        emu.requests()[0]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    );

    let removed = node(
        "serverpilot",
        settings,
        &["remove-domain", "example.com", "3", "true"],
    );
    assert_eq!(removed["ok"], true, "{removed}");
    assert!(emu.lock().panel.app("jsApp00000000001").domains.is_empty());
}

#[test]
fn the_js_host_gate_denies_hosts_outside_its_allow_list() {
    require_node!();
    let emu = Emulator::spawn(
        ServerPilot::new("cid_js", "js-api-key-123", "jsApp00000000001"),
        0,
    )
    .unwrap();
    let result = node(
        "serverpilot",
        serverpilot_settings(&emu, &[]),
        &["add-domain", "example.com", "3", "true"],
    );
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["error"]["tag"], "denied", "{result}");
    assert!(emu.requests().is_empty());
}

#[test]
fn rejected_credentials_have_the_same_typed_error_under_node() {
    require_node!();
    let emu = Emulator::spawn(
        ServerPilot::new("cid_js", "other-key", "jsApp00000000001"),
        0,
    )
    .unwrap();
    let result = node(
        "serverpilot",
        serverpilot_settings(&emu, &["api.serverpilot.io"]),
        &["test"],
    );
    assert_eq!(result["error"]["tag"], "bad-credentials", "{result}");
}

#[test]
fn runcloud_component_runs_under_node_with_both_credential_styles() {
    require_node!();
    let emu = Emulator::spawn(
        RunCloud::new("js-token", "js-key", "js-secret", 7, 8, "network.example"),
        0,
    )
    .unwrap();
    let filler: Vec<String> = (0..50).map(|i| format!("f{i}.example.com")).collect();
    emu.lock().panel.seed(7, 8, &filler);
    let settings = |constants: Value| {
        json!({ "constants": constants, "allowed_hosts": ["manage.runcloud.io"],
                "routes": { "manage.runcloud.io": emu.base_url() } })
    };
    let v3 = settings(
        json!({ "WU_RUNCLOUD_API_TOKEN": "js-token", "WU_RUNCLOUD_SERVER_ID": "7", "WU_RUNCLOUD_APP_ID": "8" }),
    );
    let added = node(
        "runcloud",
        v3.clone(),
        &["add-domain", "shop.example.com", "1", "true"],
    );
    assert_eq!(added["ok"], true, "{added}");
    let has = |name: &str| {
        emu.lock()
            .panel
            .webapp(7, 8)
            .domains
            .iter()
            .any(|d| d.name == name)
    };
    assert!(has("shop.example.com"));
    assert_eq!(
        emu.lock()
            .panel
            .webapp(7, 8)
            .certificate
            .as_ref()
            .unwrap()
            .redeploys,
        1
    );

    let removed = node(
        "runcloud",
        v3,
        &["remove-domain", "shop.example.com", "1", "true"],
    );
    assert_eq!(removed["ok"], true, "{removed}");
    assert!(
        !has("shop.example.com"),
        "found past the first page and deleted"
    );

    let v2 = settings(
        json!({ "WU_RUNCLOUD_API_KEY": "js-key", "WU_RUNCLOUD_API_SECRET": "js-secret",
                              "WU_RUNCLOUD_SERVER_ID": "7", "WU_RUNCLOUD_APP_ID": "8" }),
    );
    let added = node(
        "runcloud",
        v2,
        &["add-subdomain", "s1.network.example", "2", "false"],
    );
    assert_eq!(added["ok"], true, "{added}");
    assert!(has("s1.network.example"));
    assert!(emu.requests().iter().any(|r| {
        r.path.starts_with("/api/v2/")
            && r.header("authorization")
                .is_some_and(|a| a.starts_with("Basic "))
    }));
}
