//! `panel-emulator serverpilot [--port N] [--client-id ID] [--api-key KEY] [--app-id ID]`
//!
//! Serves an emulated panel on 127.0.0.1 until killed. `GET /_emulator/state` shows it.

use panel_emulators::Emulator;
use panel_emulators::serverpilot::ServerPilot;

fn main() {
    let mut args = std::env::args().skip(1);
    let panel = args.next().unwrap_or_default();
    let mut port = 18081u16;
    let mut client_id = "cid_demo".to_string();
    let mut api_key = "demo-api-key".to_string();
    let mut app_id = "demoapp0000000001".to_string();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--port" => {
                port = value
                    .parse()
                    .unwrap_or_else(|_| usage("--port must be a number"))
            }
            "--client-id" => client_id = value,
            "--api-key" => api_key = value,
            "--app-id" => app_id = value,
            other => usage(&format!("unknown option {other}")),
        }
    }
    let emulator = match panel.as_str() {
        "serverpilot" => Emulator::spawn(ServerPilot::new(&client_id, &api_key, &app_id), port),
        _ => usage("which panel? (serverpilot)"),
    }
    .unwrap_or_else(|e| {
        eprintln!("panel-emulator: cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1);
    });
    println!(
        "{panel} emulator listening on {} (app {app_id})",
        emulator.base_url()
    );
    emulator.wait();
}

fn usage(problem: &str) -> ! {
    eprintln!("panel-emulator: {problem}");
    eprintln!(
        "usage: panel-emulator serverpilot [--port N] [--client-id ID] [--api-key KEY] [--app-id ID]"
    );
    std::process::exit(2);
}
