//! Connection reuse end to end: the real `domain-host`, the real ServerPilot component,
//! the emulator on loopback counting the connections it accepts (and a TLS front
//! counting handshakes and resumptions). An event's requests to one panel share one
//! connection (two integrations never sharing one: `service_e2e.rs`).

mod support;

use panel_emulators::Emulator;
use panel_emulators::front::Front;
use panel_emulators::serverpilot::ServerPilot;
use panel_emulators::tls::TestCa;
use support::{Case, components_dir};

const CLIENT_ID: &str = "cid_poolClient";
const API_KEY: &str = "sp-secret-api-key-pool-0123456";
const APP_ID: &str = "poolAppId0000001";

fn emulator() -> Emulator<ServerPilot> {
    Emulator::spawn(ServerPilot::new(CLIENT_ID, API_KEY, APP_ID), 0).expect("emulator")
}

/// An integration table `[integrations.<id>]` running the ServerPilot component, its API
/// routed to `route`; `extra` adds keys.
fn table(id: &str, route: &str, extra: &str) -> String {
    format!(
        "[integrations.{id}]\nenabled = true\ncomponent = {:?}\nconstants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{CLIENT_ID}\", WU_SERVER_PILOT_API_KEY = \"{API_KEY}\", WU_SERVER_PILOT_APP_ID = \"{APP_ID}\" }}\nroutes = {{ \"api.serverpilot.io\" = \"{route}\" }}\n{extra}\n",
        components_dir().join("serverpilot.wasm")
    )
}

/// The emulator behind a TLS front made by `front` (a throwaway CA the case trusts), the
/// integration routed to it.
fn behind_tls(
    case: &Case,
    emu: &Emulator<ServerPilot>,
    front: fn(std::net::SocketAddr, &TestCa, &[&str]) -> std::io::Result<Front>,
) -> Front {
    let ca = TestCa::new();
    let front = front(emu.addr, &ca, &["api.serverpilot.io"]).expect("tls front");
    std::fs::write(case.dir.join("ca.pem"), &ca.pem).unwrap();
    case.write_config(&format!(
        "www = \"always\"\n{}",
        table(
            "serverpilot",
            &format!("https://{}", front.addr),
            "ca_file = \"ca.pem\""
        )
    ));
    front
}

fn add_domain(case: &Case) {
    let run = case.run(&["--json", "add-domain", "shop.example.com", "--site", "7"]);
    assert_eq!(run.status, 0, "{}", run.all_output());
}

#[test]
fn an_events_requests_to_one_panel_share_one_connection() {
    let case = Case::new("pool-one");
    let emu = emulator();
    case.write_config(&format!(
        "www = \"always\"\n{}",
        table("serverpilot", &emu.base_url(), "")
    ));
    add_domain(&case);
    let requests = emu.requests().len();
    assert!(
        requests >= 3,
        "GET the app, POST the domains, POST AutoSSL: {requests}"
    );
    assert_eq!(
        emu.connections(),
        1,
        "{requests} requests on one connection"
    );
}

#[test]
fn https_requests_to_one_panel_share_one_tls_connection() {
    let case = Case::new("pool-tls");
    let emu = emulator();
    let front = behind_tls(&case, &emu, Front::tls);
    add_domain(&case);
    assert!(emu.requests().len() >= 3);
    assert_eq!(front.connections(), 1, "one TLS handshake for the event");
}

/// A panel that takes HTTP/2 through ALPN: the event's requests are streams of one
/// connection (one TLS handshake), and they reach the panel whole: the domain is added.
#[test]
fn an_http2_panel_gets_an_events_requests_on_one_connection() {
    let case = Case::new("pool-h2");
    let emu = emulator();
    let front = behind_tls(&case, &emu, Front::tls_h2);
    add_domain(&case);
    let requests = emu.requests().len();
    assert!(requests >= 3, "{requests}");
    assert_eq!(
        front.h2_requests(),
        requests,
        "every request came over HTTP/2"
    );
    assert_eq!(front.connections(), 1, "one TLS handshake for the event");
    assert_eq!(front.h2_connections(), 1);
    let domains = emu.lock().panel.app(APP_ID).domains.clone();
    assert!(
        domains.contains(&"shop.example.com".to_string())
            && domains.contains(&"www.shop.example.com".to_string()),
        "{domains:?}"
    );
}
