//! Round trips, as on the internet: the ServerPilot emulator behind TLS (a throwaway CA)
//! and a proxy that holds every chunk 25 ms each way, counting the connections it is
//! asked for. One add-domain event through a `domain-host add-domain` process against
//! the same calls made the PHP plugin's way (see [`crate::php`]: a new TLS connection per
//! request, as WordPress's HTTP API makes them), and a burst of events through
//! `domain-host serve`.

use crate::php;
use crate::{
    METRICS_TOKEN, NativeServerPilot, Row, SP_APP, SP_CLIENT, SP_KEY, add_event, connect, median,
    ms, post, row, settings, sp_config_at,
};
use anyhow::{Result, bail};
use domain_host::runtime::host::Host;
use panel_emulators::Emulator;
use panel_emulators::front::Front;
use panel_emulators::serverpilot::{ServerPilot, Ssl};
use panel_emulators::tls::TestCa;
use std::path::Path;
use std::time::{Duration, Instant};

const EACH_WAY: Duration = Duration::from_millis(25);
const TOKEN: &str = "bench-round-trip-token-0123456789";

struct Panel {
    emu: Emulator<ServerPilot>,
    // Held for their threads: the TLS front behind the delay.
    _tls: Front,
    delay: Front,
    ca_file: std::path::PathBuf,
}

impl Panel {
    fn start(dir: &Path) -> Result<Panel> {
        let emu = Emulator::spawn(ServerPilot::new(SP_CLIENT, SP_KEY, SP_APP), 0)?;
        emu.set_paced(false);
        let ca = TestCa::new();
        let tls = Front::tls(emu.addr, &ca, &["api.serverpilot.io"])?;
        let delay = Front::delay(tls.addr, EACH_WAY)?;
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, &ca.pem)?;
        Ok(Panel {
            emu,
            _tls: tls,
            delay,
            ca_file,
        })
    }

    fn reset(&self) {
        let mut shared = self.emu.lock();
        let app = shared.panel.app_mut(SP_APP);
        app.domains.clear();
        app.ssl = Ssl::None;
        shared.requests.clear();
    }

    fn config(&self, dir: &Path, components: &Path, cache: &Path, service: &str) -> String {
        format!(
            "www = \"always\"\ncomponents = {components:?}\nstate_dir = {:?}\ncache_dir = {cache:?}\n{service}\
             [integrations.serverpilot]\nenabled = true\nca_file = {:?}\n\
             constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"{SP_CLIENT}\", WU_SERVER_PILOT_API_KEY = \"{SP_KEY}\", WU_SERVER_PILOT_APP_ID = \"{SP_APP}\" }}\n\
             routes = {{ \"api.serverpilot.io\" = \"https://{}\" }}\n",
            dir.join("state"),
            self.ca_file,
            self.delay.addr
        )
    }
}

pub fn run(
    host_bin: &Path,
    components: &Path,
    scratch: &Path,
    n: usize,
    runtime: &tokio::runtime::Runtime,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let dir = scratch.join("round-trip");
    std::fs::create_dir_all(&dir)?;
    let panel = Panel::start(&dir)?;
    let cache = scratch.join("cache");
    let config = dir.join("cli.toml");
    std::fs::write(&config, panel.config(&dir, components, &cache, ""))?;
    let label = format!(
        "round trip ({} ms each way, TLS, ServerPilot emulator)",
        EACH_WAY.as_millis()
    );

    // domain-host: one process per event, as the CLI runs.
    let run_cli = || -> Result<(Duration, usize)> {
        panel.reset();
        let before = panel.delay.connections();
        let started = Instant::now();
        let status = std::process::Command::new(host_bin)
            .arg("--config")
            .arg(&config)
            .args(["add-domain", "example.com", "--site", "1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        let elapsed = started.elapsed();
        if !status.success() || panel.emu.requests().len() < 3 {
            bail!("round trip: domain-host add-domain failed");
        }
        Ok((elapsed, panel.delay.connections() - before))
    };
    run_cli()?; // compiles into the cache
    let runs = (0..n).map(|_| run_cli()).collect::<Result<Vec<_>>>()?;
    let connections = runs.iter().map(|r| r.1).max().unwrap_or(0);
    let ours = median(runs.into_iter().map(|r| r.0).collect());

    // The PHP plugin's way: inside the test WordPress, and plain php-cli.
    let base = format!("https://127.0.0.1:{}", panel.delay.addr.port());
    let target = php::Target {
        base,
        ca: &panel.ca_file,
    };
    let check = || panel.emu.lock().panel.app(SP_APP).domains.len() == 2;
    let php_way = |wordpress: Option<&(String, String)>| -> Result<(Duration, usize)> {
        let before = panel.delay.connections();
        let runs = php::runs(&dir, &target, wordpress, n, &|| panel.reset(), &check)?;
        let per_run = (panel.delay.connections() - before) as f64 / (n + 1) as f64;
        Ok((runs.wall, per_run.round() as usize))
    };
    let (in_wordpress, plain) = match php::available() {
        Err(why) => (Err(why.clone()), Err(why)),
        Ok(()) => (
            match php::test_wordpress() {
                Ok(wp) => Ok(php_way(Some(&wp))?),
                Err(why) => Err(why),
            },
            Ok(php_way(None)?),
        ),
    };
    let shown = |r: &Result<(Duration, usize), String>,
                 f: &dyn Fn(&(Duration, usize)) -> String| match r {
        Ok(v) => f(v),
        Err(why) => format!("skipped: {why}"),
    };
    rows.push(
        row(
            format!("{label}: one add-domain event, wall time (median of {n}; this project: a `domain-host add-domain` process; PHP: php-cli, wp-load.php of the test WordPress, wp_remote_request)"),
            ms(ours),
            "",
            None,
        )
        .php(shown(&in_wordpress, &|(t, _)| ms(*t))),
    );
    rows.push(
        row(
            format!("{label}: connections (TLS handshakes) opened for that event, 3 requests"),
            connections.to_string(),
            "1 per panel",
            Some(connections == 1),
        )
        .php(shown(&in_wordpress, &|(_, c)| c.to_string())),
    );
    rows.push(
        row(
            format!("{label}: the same, PHP without WordPress (php-cli and its own streams), wall time (median of {n})"),
            "",
            "",
            None,
        )
        .php(shown(&plain, &|(t, c)| format!("{} ({c} connections)", ms(*t)))),
    );
    if let Ok((php, _)) = &in_wordpress {
        let ratio = php.as_secs_f64() / ours.as_secs_f64();
        rows.push(row(
            format!("{label}: PHP way (in WordPress) / this project, per event"),
            format!("{ratio:.2}x"),
            "≥ 2x",
            Some(ratio >= 2.0),
        ));
    }

    // The host already running, against a native client with the same connection policy.
    runtime.block_on(in_process(components, scratch, &panel, n, &label, rows))?;

    // A burst through the service.
    runtime.block_on(service_burst(
        host_bin, components, &cache, &panel, &dir, &label, rows,
    ))?;
    Ok(())
}

/// One add-domain event with the host already running and its connection kept (as in the
/// service), against the native client doing the same over one kept TLS connection: at a
/// panel's real distance the component's fixed cost per event (instantiation, the guest
/// side of wasi:http) is small next to the round trips both pay.
async fn in_process(
    components: &Path,
    scratch: &Path,
    panel: &Panel,
    n: usize,
    label: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let host = Host::new(settings(scratch, &scratch.join("cache")))?;
    let config = sp_config_at(
        format!("https://{}", panel.delay.addr),
        Some(panel.ca_file.clone()),
    );
    let sp = host
        .load("serverpilot", &config, components.join("serverpilot.wasm"))
        .await?;
    let native = NativeServerPilot::tls(panel.delay.addr, &std::fs::read(&panel.ca_file)?)?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..=n {
        panel.reset();
        let started = Instant::now();
        let report = host.run(&sp, &add_event()).await;
        let elapsed = started.elapsed();
        if !report.ok {
            bail!(
                "round trip: add-domain in the host failed: {:?}",
                report.error
            );
        }
        panel.reset();
        let started = Instant::now();
        native.add_domain("example.com", true).await?;
        // The first of each opens the kept connection.
        if i > 0 {
            ours.push(elapsed);
            theirs.push(started.elapsed());
        }
    }
    let (c, b) = (median(ours), median(theirs));
    let ratio = c.as_secs_f64() / b.as_secs_f64();
    rows.push(
        row(
            format!("{label}: one add-domain event, the host already running, connection kept (median of {n}; native: the same calls, one kept TLS connection)"),
            ms(c),
            "",
            None,
        )
        .native(ms(b)),
    );
    rows.push(row(
        format!("{label}: this project / native per event"),
        format!("{ratio:.3}x"),
        "≤ 1.3x",
        Some(ratio <= 1.3),
    ));
    Ok(())
}

/// 50 add-domain events posted at once to `domain-host serve`: the time to the last one
/// done, and the connections the service opened to the panel for them.
async fn service_burst(
    host_bin: &Path,
    components: &Path,
    cache: &Path,
    panel: &Panel,
    dir: &Path,
    label: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    const EVENTS: usize = 50;
    let config = dir.join("service.toml");
    std::fs::write(
        &config,
        panel.config(
            &dir.join("service"),
            components,
            cache,
            &format!(
                "[service]\ntoken_env = \"BENCH_TOKEN\"\nmetrics_token = \"{METRICS_TOKEN}\"\n"
            ),
        ),
    )?;
    panel.reset();
    let (mut child, addr) = crate::start_service(host_bin, &config, TOKEN)?;
    let before = panel.delay.connections();
    let started = Instant::now();
    let mut sender = connect(&addr).await?;
    for i in 0..EVENTS {
        let body = serde_json::json!({ "event": "add-domain", "domain": format!("burst{i}.example.com"), "site_id": 1 });
        let (status, _) = post(&mut sender, "/v1/events", TOKEN, body.to_string()).await?;
        if status != 202 {
            bail!("round trip: the service answered HTTP {status}");
        }
    }
    let done = crate::wait_done(&addr, EVENTS).await;
    let elapsed = started.elapsed();
    let connections = panel.delay.connections() - before;
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    done?;
    rows.push(row(
        format!("{label}: {EVENTS} add-domain events posted at once to the service, first POST to last done"),
        format!("{} ({:.0} ms per event)", ms(elapsed), elapsed.as_secs_f64() * 1000.0 / EVENTS as f64),
        "",
        None,
    ));
    rows.push(row(
        format!(
            "{label}: connections (TLS handshakes) the service opened for those {EVENTS} events"
        ),
        connections.to_string(),
        "1 per panel per burst",
        Some(connections == 1),
    ));
    Ok(())
}
