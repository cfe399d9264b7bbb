//! The PHP plugin's way, for the PHP column: the three calls Ultimate Multisite's
//! ServerPilot integration makes for one mapped domain (GET the app, POST the merged domain
//! list, POST AutoSSL), each on a new connection as WordPress's HTTP API makes them, run by
//! php-cli, inside the test WordPress of `scripts/wordpress-env.sh` when it is there
//! (`wp-load.php`, then `wp_remote_request`, what the plugin calls).

use crate::{SP_APP, SP_CLIENT, SP_KEY, base64_encode, median};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Prints the time the three calls took, in milliseconds, to stdout (without the start of
/// PHP and WordPress: what a WordPress already loaded, as Action Scheduler's runner is,
/// spends on one event).
///
/// In WordPress `sslverify` is off: the panel is reached at 127.0.0.1 and WordPress's
/// Requests library matches only DNS names against the certificate. The handshake and its
/// round trips are the same; only the name check is skipped.
const ADD_DOMAIN: &str = r#"<?php
[$base, $ca, $app, $auth, $wp_root, $wp_host] = array_slice($argv, 1);
if ($wp_root !== '') {
    $_SERVER['HTTP_HOST'] = $wp_host;
    $_SERVER['SERVER_NAME'] = '127.0.0.1';
    $_SERVER['REQUEST_URI'] = '/';
    // No cron spawned from here: it would run the site's queue beside the measurement.
    define('DISABLE_WP_CRON', true);
    require rtrim($wp_root, '/') . '/wp-load.php';
}
function call($method, $path, $body) {
    global $base, $ca, $auth, $wp_root;
    $headers = ['Authorization' => $auth, 'Accept' => 'application/json', 'Content-Type' => 'application/json'];
    $content = $body === null ? '' : json_encode($body);
    if ($wp_root !== '') {
        $answer = wp_remote_request("$base$path", ['method' => $method,
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
    $answer = file_get_contents("$base$path", false, $context);
    if ($answer === false) { fwrite(STDERR, "request failed\n"); exit(1); }
    return json_decode($answer, true);
}
$started = hrtime(true);
$app_data = call('GET', "/v1/apps/$app", null)['data'];
$domains = array_values(array_unique(array_merge($app_data['domains'], ['example.com', 'www.example.com'])));
call('POST', "/v1/apps/$app", ['domains' => $domains]);
call('POST', "/v1/apps/$app/ssl", ['auto' => true]);
echo (hrtime(true) - $started) / 1e6, "\n";
"#;

/// Where the calls go: `base` is `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`
/// (then `ca` is the CA file to trust outside WordPress).
pub struct Target<'a> {
    pub base: String,
    pub ca: &'a Path,
}

/// Medians over the runs, and the largest resident set of one php process.
pub struct Runs {
    /// The whole php process: start, WordPress, the calls.
    pub wall: Duration,
    /// The calls alone.
    pub calls: Duration,
    pub max_rss_kb: i64,
}

/// Whether php-cli with openssl is here: `Err(why)` when it is not.
pub fn available() -> Result<(), String> {
    let modules = std::process::Command::new("php")
        .arg("-m")
        .output()
        .map_err(|_| "php (php-cli) is not installed".to_string())?;
    if !String::from_utf8_lossy(&modules.stdout)
        .lines()
        .any(|l| l == "openssl")
    {
        return Err("php has no openssl extension".into());
    }
    Ok(())
}

/// The test WordPress of `scripts/wordpress-env.sh` (its root and host), from the `env`
/// file it writes in `DOMAIN_HOST_WP_DIR` (default `/tmp/domain-host-wordpress`).
pub fn test_wordpress() -> Result<(String, String), String> {
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

/// Runs the calls `n` times (after one warm-up), `reset` before each run and `check`
/// after it (that the panel holds what the calls should have left).
pub fn runs(
    dir: &Path,
    target: &Target<'_>,
    wordpress: Option<&(String, String)>,
    n: usize,
    reset: &dyn Fn(),
    check: &dyn Fn() -> bool,
) -> Result<Runs> {
    let script: PathBuf = dir.join("add-domain.php");
    std::fs::write(&script, ADD_DOMAIN)?;
    let auth = format!(
        "Basic {}",
        base64_encode(format!("{SP_CLIENT}:{SP_KEY}").as_bytes())
    );
    let run = || -> Result<(Duration, Duration, i64)> {
        reset();
        let mut command = std::process::Command::new("php");
        command
            .arg(&script)
            .arg(&target.base)
            .arg(target.ca)
            .arg(SP_APP)
            .arg(&auth)
            .args(match wordpress {
                Some((root, host)) => [root.as_str(), host.as_str()],
                None => ["", ""],
            });
        let started = Instant::now();
        let (ok, stdout, stderr, rss) = run_measured(command)?;
        let wall = started.elapsed();
        if !ok || !check() {
            bail!("the PHP way failed: {stderr}");
        }
        let calls: f64 = stdout
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("the PHP way printed {stdout:?}"))?;
        Ok((wall, Duration::from_secs_f64(calls / 1000.0), rss))
    };
    run()?;
    let samples = (0..n).map(|_| run()).collect::<Result<Vec<_>>>()?;
    Ok(Runs {
        wall: median(samples.iter().map(|s| s.0).collect()),
        calls: median(samples.iter().map(|s| s.1).collect()),
        max_rss_kb: samples.iter().map(|s| s.2).max().unwrap_or(0),
    })
}

/// Runs `command` to the end: whether it succeeded, its stdout and stderr, and its own
/// peak resident set (from `wait4`, so no other child's counts).
pub fn run_measured(mut command: std::process::Command) -> Result<(bool, String, String, i64)> {
    use std::io::Read;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let mut err_pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(pipe) = err_pipe.as_mut() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)?;
    }
    stderr.push_str(&reader.join().unwrap_or_default());
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: waits for our own child, filling the status and rusage it is given. The
    // `Child` is not waited on afterwards (dropping it does not wait).
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr()) };
    if pid <= 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((ok, stdout, stderr, usage.ru_maxrss))
}
