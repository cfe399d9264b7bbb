//! The lifecycle's checking rate: names checked per second (authoritative DNS, CAA climb and
//! an SNI handshake each) against a loopback DNS server and a loopback HTTPS endpoint, and
//! the peak memory of the process doing it, for two sizes of network so that "flat in the
//! number of names" is measured rather than assumed.
//!
//! The checker runs in a child process (`domain-host-bench lifecycle-child DIR`) so that its
//! peak resident set is its own; the servers stay in the parent.

use anyhow::{Context, Result, bail};
use domain_host::lifecycle::Lifecycle;
use domain_host::lifecycle::config::LifecycleConfig;
use domain_host::lifecycle::database::{Database, now_ms};
use panel_emulators::dns::DnsServer;
use panel_emulators::tls::{Served, TestCa, TlsServer};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::{Row, row};

const ZONE: &str = "bench.test";

/// What the child reads from `DIR/lifecycle.toml`: the `[lifecycle]` table itself.
fn config_text(dns: &DnsServer, tls: &TlsServer, ca_pem: &Path) -> String {
    format!(
        "targets = [\"127.0.0.1\"]\nnameservers = [\"{}\"]\ntls_port = {}\nextra_roots = [{:?}]\n\
         timeout = \"5s\"\nconcurrency = 64\n",
        dns.addr,
        tls.addr.port(),
        ca_pem
    )
}

pub fn run(bench_exe: &Path, scratch: &Path, sizes: &[usize], rows: &mut Vec<Row>) -> Result<()> {
    let dns = DnsServer::spawn(ZONE)?;
    let tls = TlsServer::spawn(Arc::new(TestCa::new()), "127.0.0.1:0")?;
    // One wildcard certificate serves every name (RFC 6125 matching is part of the check).
    let wildcard = format!("*.{ZONE}");
    tls.serve(
        &wildcard,
        Served::Signed {
            names: vec![wildcard.clone()],
            from: 2020,
            until: 2090,
        },
    );
    let loopback: IpAddr = "127.0.0.1".parse()?;
    let largest = sizes.iter().copied().max().unwrap_or(0);
    {
        let mut zone = dns.zone();
        for i in 0..largest {
            zone.set_addresses(&name(i), &[loopback]);
        }
    }
    let mut measured = Vec::new();
    for &n in sizes {
        let dir = scratch.join(format!("lifecycle-{n}"));
        std::fs::create_dir_all(&dir)?;
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &tls.ca.pem)?;
        std::fs::write(dir.join("lifecycle.toml"), config_text(&dns, &tls, &ca))?;
        let store = Database::open(&dir.join("domain-host.db"))?;
        let now = now_ms();
        for i in 0..n {
            store.upsert(&name(i), i as u64, "subdomain", &[name(i)], now)?;
        }
        drop(store);
        let started = Instant::now();
        let mut child = std::process::Command::new(bench_exe)
            .arg("lifecycle-child")
            .arg(&dir)
            .arg(n.to_string())
            .spawn()
            .context("starting the lifecycle child")?;
        let (status, rss_kb) = wait_with_rss(&mut child)?;
        let elapsed = started.elapsed();
        if !status {
            bail!("the lifecycle child failed for {n} names");
        }
        measured.push((n, elapsed, rss_kb));
    }
    for &(n, elapsed, rss_kb) in &measured {
        let rate = n as f64 / elapsed.as_secs_f64();
        rows.push(row(
            format!(
                "lifecycle: names checked per second ({n} names; DNS + CAA + TLS on loopback, 64 at once)"
            ),
            format!("{rate:.0} names/s"),
            "≥ 1000 names/s",
            Some(rate >= 1000.0),
        ));
        rows.push(row(
            format!("lifecycle: peak memory of the checking process ({n} names)"),
            format!("{:.1} MB", rss_kb as f64 / 1024.0),
            "",
            None,
        ));
    }
    if let (Some(small), Some(large)) = (measured.first(), measured.last())
        && large.0 > small.0
    {
        let growth = large.2 as f64 / small.2.max(1) as f64;
        rows.push(row(
            format!(
                "lifecycle: peak memory, {} names against {} names",
                large.0, small.0
            ),
            format!("{growth:.2}x"),
            "flat (≤ 1.5x)",
            Some(growth <= 1.5),
        ));
    }
    Ok(())
}

fn name(i: usize) -> String {
    format!("site{i}.{ZONE}")
}

/// The child: checks every due domain of `dir`'s store, as `verify --due` and the service's
/// scheduler do, and exits non-zero unless every one reached `done`.
pub fn child(dir: &Path, expected: usize) -> Result<()> {
    let text = std::fs::read_to_string(dir.join("lifecycle.toml"))?;
    let config: LifecycleConfig = toml::from_str(&text)?;
    let roots = config
        .extra_roots
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<Vec<_>>>()?;
    let store = Database::open(&dir.join("domain-host.db"))?;
    let lifecycle = Lifecycle::new(config, Arc::new(store), &roots, 5)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let checked = runtime.block_on(lifecycle.check_due(None, expected))?;
    if checked != expected {
        bail!("checked {checked} of {expected} domains");
    }
    let done: usize = lifecycle.store.with_connection(|conn| {
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM domains WHERE stage = 'done'",
            [],
            |row| row.get::<_, i64>(0),
        )? as usize)
    })?;
    if done != expected {
        bail!("{done} of {expected} domains reached done");
    }
    Ok(())
}

/// Waits for `child` and returns whether it succeeded and its own peak resident set (KiB).
fn wait_with_rss(child: &mut std::process::Child) -> Result<(bool, i64)> {
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 on our own child's pid, with valid pointers to a status and a rusage.
    let pid = unsafe {
        libc::wait4(
            child.id() as libc::pid_t,
            &mut status,
            0,
            usage.as_mut_ptr(),
        )
    };
    if pid < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    // SAFETY: filled by the successful wait4 above.
    let usage = unsafe { usage.assume_init() };
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((ok, usage.ru_maxrss))
}
