//! Round trips, as on the internet: the ServerPilot emulator behind TLS (a throwaway CA)
//! and a proxy that holds every chunk 25 ms each way, counting the connections it is
//! asked for. One add-domain event through a `domain-host add-domain` process against
//! the same calls made the PHP plugin's way (php-cli, a new TLS connection per request,
//! as WordPress's HTTP API makes them), and a burst of events through `domain-host serve`.

use crate::{Row, SP_APP, SP_CLIENT, SP_KEY, base64_encode, connect, median, ms, post, row};
use anyhow::{Context, Result, bail};
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

/// The PHP plugin's three calls for one mapped domain, each on a new TLS connection. With a
/// WordPress root (`wp-load.php`) they go through WordPress's HTTP API (`wp_remote_request`,
/// what the plugin calls); without one through PHP's own streams.
///
/// In WordPress `sslverify` is off: the panel is reached at 127.0.0.1 and WordPress's
/// Requests library matches only DNS names against the certificate. The handshake and its
/// round trips are the same; only the name check is skipped.
const PHP_ADD_DOMAIN: &str = r#"<?php
[$port, $ca, $app, $auth, $wp_root, $wp_host] = array_slice($argv, 1);
if ($wp_root !== '') {
    $_SERVER['HTTP_HOST'] = $wp_host;
    $_SERVER['SERVER_NAME'] = '127.0.0.1';
    $_SERVER['REQUEST_URI'] = '/';
    require rtrim($wp_root, '/') . '/wp-load.php';
}
function call($method, $path, $body) {
    global $port, $ca, $auth, $wp_root;
    $headers = ['Authorization' => $auth, 'Accept' => 'application/json', 'Content-Type' => 'application/json'];
    $content = $body === null ? '' : json_encode($body);
    if ($wp_root !== '') {
        $answer = wp_remote_request("https://127.0.0.1:$port$path", ['method' => $method,
            'headers' => $headers, 'body' => $body === null ? null : $content,
            'sslverify' => false, 'timeout' => 30]);
        if (is_wp_error($answer)) { fwrite(STDERR, $answer->get_error_message() . "\n"); exit(1); }
        return json_decode(wp_remote_retrieve_body($answer), true);
    }
    $lines = "Host: api.serverpilot.io\r\nConnection: close\r\n";
    foreach ($headers as $name => $value) { $lines .= "$name: $value\r\n"; }
    $context = stream_context_create([
        'http' => ['method' => $method, 'ignore_errors' => true, 'header' => $lines, 'content' => $content],
        'ssl' => ['cafile' => $ca, 'peer_name' => 'api.serverpilot.io', 'verify_peer' => true],
    ]);
    $answer = file_get_contents("https://127.0.0.1:$port$path", false, $context);
    if ($answer === false) { fwrite(STDERR, "request failed\n"); exit(1); }
    return json_decode($answer, true);
}
$app_data = call('GET', "/v1/apps/$app", null)['data'];
$domains = array_values(array_unique(array_merge($app_data['domains'], ['example.com', 'www.example.com'])));
call('POST', "/v1/apps/$app", ['domains' => $domains]);
call('POST', "/v1/apps/$app/ssl", ['auto' => true]);
"#;

/// The test WordPress of `scripts/wordpress-env.sh` (its root and host), from the `env`
/// file it writes in `DOMAIN_HOST_WP_DIR` (default `/tmp/domain-host-wordpress`).
fn test_wordpress() -> Result<(String, String), String> {
    let dir =
        std::env::var("DOMAIN_HOST_WP_DIR").unwrap_or_else(|_| "/tmp/domain-host-wordpress".into());
    let env = std::fs::read_to_string(Path::new(&dir).join("env"))
        .map_err(|_| format!("no test WordPress in {dir} (run scripts/wordpress-env.sh)"))?;
    let get = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
            .ok_or_else(|| format!("{dir}/env has no {key}"))
    };
    let (root, host) = (get("WP_ROOT")?, get("WP_HOST")?);
    if !Path::new(&root).join("wp-load.php").exists() {
        return Err(format!("{root} has no wp-load.php"));
    }
    Ok((root, host))
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
    rows.push(row(
        format!("{label}: one add-domain event, `domain-host add-domain` process, wall time (median of {n})"),
        ms(ours),
        "",
        None,
    ));
    rows.push(row(
        format!("{label}: connections (TLS handshakes) opened for that event, 3 requests"),
        connections.to_string(),
        "1 per panel",
        Some(connections == 1),
    ));

    // The PHP plugin's way: plain php-cli, then inside the test WordPress.
    let wordpress = test_wordpress();
    let mut best = None;
    for (way, wp) in [
        ("php-cli, WordPress not loaded", Err(String::new())),
        (
            "php-cli, wp-load.php of the test WordPress, wp_remote_request",
            wordpress.clone(),
        ),
    ] {
        let skipped = match (&wp, &wordpress) {
            (Err(_), _) if way.contains("not loaded") => None,
            (Err(why), _) => Some(why.clone()),
            _ => None,
        };
        let outcome = match skipped {
            Some(why) => Err(why),
            None => php_runs(&panel, &dir, n, wp.ok())?,
        };
        match outcome {
            Ok((php, php_connections)) => {
                rows.push(row(
                    format!("{label}: the same calls the PHP plugin's way ({way}; a new TLS connection per request), wall time (median of {n})"),
                    format!("{} ({php_connections} connections)", ms(php)),
                    "",
                    None,
                ));
                best = Some((way, php));
            }
            Err(why) => rows.push(row(
                format!("{label}: the PHP plugin's way ({way})"),
                format!("skipped: {why}"),
                "",
                None,
            )),
        }
    }
    if let Some((way, php)) = best {
        let ratio = php.as_secs_f64() / ours.as_secs_f64();
        rows.push(row(
            format!("{label}: PHP way ({way}) / domain-host, per event"),
            format!("{ratio:.2}x"),
            "≥ 2x",
            Some(ratio >= 2.0),
        ));
    }

    // A burst through the service.
    runtime.block_on(service_burst(
        host_bin, components, &cache, &panel, &dir, &label, rows,
    ))?;
    Ok(())
}

/// `Ok(Err(why))` when PHP cannot run the comparison here.
fn php_runs(
    panel: &Panel,
    dir: &Path,
    n: usize,
    wordpress: Option<(String, String)>,
) -> Result<Result<(Duration, usize), String>> {
    let has_openssl = std::process::Command::new("php")
        .arg("-m")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == "openssl")
        });
    match has_openssl {
        Err(_) => return Ok(Err("php (php-cli) is not installed".into())),
        Ok(false) => return Ok(Err("php has no openssl extension".into())),
        Ok(true) => {}
    }
    let script = dir.join("add-domain.php");
    std::fs::write(&script, PHP_ADD_DOMAIN)?;
    let auth = format!(
        "Basic {}",
        base64_encode(format!("{SP_CLIENT}:{SP_KEY}").as_bytes())
    );
    let run = || -> Result<(Duration, usize)> {
        panel.reset();
        let before = panel.delay.connections();
        let started = Instant::now();
        let out = std::process::Command::new("php")
            .arg(&script)
            .arg(panel.delay.addr.port().to_string())
            .arg(&panel.ca_file)
            .arg(SP_APP)
            .arg(&auth)
            .args(match &wordpress {
                Some((root, host)) => [root.as_str(), host.as_str()],
                None => ["", ""],
            })
            .output()?;
        let elapsed = started.elapsed();
        if !out.status.success() || panel.emu.lock().panel.app(SP_APP).domains.len() != 2 {
            bail!(
                "round trip: the PHP way failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((elapsed, panel.delay.connections() - before))
    };
    run()?;
    let runs = (0..n).map(|_| run()).collect::<Result<Vec<_>>>()?;
    let connections = runs.iter().map(|r| r.1).max().unwrap_or(0);
    Ok(Ok((
        median(runs.into_iter().map(|r| r.0).collect()),
        connections,
    )))
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
    use std::io::BufRead;
    const EVENTS: usize = 50;
    let config = dir.join("service.toml");
    std::fs::write(
        &config,
        panel.config(
            &dir.join("service"),
            components,
            cache,
            "[service]\ntoken_env = \"BENCH_TOKEN\"\n",
        ),
    )?;
    panel.reset();
    let mut child = std::process::Command::new(host_bin)
        .arg("--config")
        .arg(&config)
        .args(["--log-level", "off", "serve", "--listen", "127.0.0.1:0"])
        .env("BENCH_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .context("the service did not start")?
        .to_string();
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
