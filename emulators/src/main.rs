//! Serves an emulated panel on 127.0.0.1 until killed. `GET /_emulator/state` shows it.
//!
//! panel-emulator serverpilot [--port N] [--client-id ID] [--api-key KEY] [--app-id ID]
//! panel-emulator runcloud [--port N] [--token T] [--api-key K] [--api-secret S]
//!                         [--server-id N] [--app-id N] [--primary DOMAIN]

use panel_emulators::Emulator;
use panel_emulators::runcloud::RunCloud;
use panel_emulators::serverpilot::ServerPilot;
use std::collections::HashMap;

fn main() {
    let mut args = std::env::args().skip(1);
    let panel = args.next().unwrap_or_default();
    let mut options: HashMap<String, String> = HashMap::new();
    while let Some(flag) = args.next() {
        let Some(name) = flag.strip_prefix("--") else {
            usage(&format!("unexpected argument {flag}"))
        };
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        options.insert(name.to_string(), value);
    }
    let mut take =
        |name: &str, default: &str| options.remove(name).unwrap_or_else(|| default.to_string());
    let port: u16 = take("port", "18081")
        .parse()
        .unwrap_or_else(|_| usage("--port must be a number"));
    let number = |value: String, flag: &str| -> u64 {
        value
            .parse()
            .unwrap_or_else(|_| usage(&format!("--{flag} must be a number")))
    };
    let (spawned, what) = match panel.as_str() {
        "serverpilot" => {
            let app = take("app-id", "demoapp00000001");
            let panel = ServerPilot::new(
                &take("client-id", "cid_demo"),
                &take("api-key", "demo-api-key"),
                &app,
            );
            (
                Emulator::spawn(panel, port).map(|e| (e.base_url(), Box::new(e) as Box<dyn Wait>)),
                format!("app {app}"),
            )
        }
        "runcloud" => {
            let server = number(take("server-id", "101"), "server-id");
            let app = number(take("app-id", "202"), "app-id");
            let panel = RunCloud::new(
                &take("token", "demo-token"),
                &take("api-key", "demo-key"),
                &take("api-secret", "demo-secret"),
                server,
                app,
                &take("primary", "network.example"),
            );
            (
                Emulator::spawn(panel, port).map(|e| (e.base_url(), Box::new(e) as Box<dyn Wait>)),
                format!("server {server}, web app {app}"),
            )
        }
        _ => usage("which panel? (serverpilot or runcloud)"),
    };
    if let Some(unknown) = options.keys().next() {
        usage(&format!("unknown option --{unknown}"));
    }
    let (url, emulator) = spawned.unwrap_or_else(|e| {
        eprintln!("panel-emulator: cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1);
    });
    println!("{panel} emulator listening on {url} ({what})");
    emulator.wait_forever();
}

trait Wait {
    fn wait_forever(self: Box<Self>);
}

impl<P: panel_emulators::server::Panel> Wait for Emulator<P> {
    fn wait_forever(self: Box<Self>) {
        (*self).wait()
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("panel-emulator: {problem}");
    eprintln!(
        "usage: panel-emulator serverpilot [--port N] [--client-id ID] [--api-key KEY] [--app-id ID]"
    );
    eprintln!(
        "       panel-emulator runcloud [--port N] [--token T] [--api-key K] [--api-secret S] [--server-id N] [--app-id N] [--primary DOMAIN]"
    );
    std::process::exit(2);
}
