//! Shared by the end-to-end tests: the real `domain-host` binary, the real components,
//! emulators on loopback, one scratch folder per test.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub const HOST: &str = env!("CARGO_BIN_EXE_domain-host");

/// Where `scripts/build-components.sh` puts the components.
pub fn components_dir() -> PathBuf {
    let dir = Path::new(HOST)
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("wasm32-wasip2/component");
    assert!(
        dir.join("serverpilot.wasm").is_file(),
        "components are not built: run scripts/build-components.sh first (looked in {})",
        dir.display()
    );
    dir
}

/// `domain-host`, with no `WU_*` variable of the test process leaking into it: a test
/// passes the environment it means explicitly.
pub fn host_command() -> Command {
    let mut command = Command::new(HOST);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WU_") || name == "AWS_SECRET_ACCESS_KEY" {
            command.env_remove(name);
        }
    }
    command
}

/// A scratch folder with a config file, removed at the end of the test.
pub struct Case {
    pub dir: PathBuf,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Case {
    pub fn new(name: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("domain-host-e2e-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Case { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("domain-host.toml")
    }

    /// Writes the config: `body` plus the components, state and cache folders. The cache
    /// is shared by all tests so a component is compiled once per run.
    pub fn write_config(&self, body: &str) {
        let cache = Path::new(HOST)
            .parent()
            .unwrap()
            .join("e2e-component-cache");
        let text = format!(
            "components = {:?}\nstate_dir = {:?}\ncache_dir = {:?}\n{body}",
            components_dir(),
            self.dir.join("state"),
            cache
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// `domain-host approve`: pins every enabled integration, as an operator does before
    /// `serve` (which runs approved components only).
    pub fn approve(&self, env: &[(&str, &str)]) {
        let run = self.run_with_env(&["approve"], env);
        assert_eq!(run.status, 0, "approve: {}", run.all_output());
    }

    /// `domain-host --json request-certificate NAME --site SITE`.
    pub fn request_certificate(&self, name: &str, site: u64) -> Run {
        self.run(&[
            "--json",
            "request-certificate",
            name,
            "--site",
            &site.to_string(),
        ])
    }

    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = host_command();
        command.arg("--config").arg(self.config_path()).args(args);
        command.envs(env.iter().copied());
        Run::from(command.output().expect("run domain-host"))
    }

    /// The `.cwasm` files of this case's own compile cache (see [`Case::write_config_with_cache`]).
    pub fn cached_artifacts(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("cache"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
        files
    }

    /// Like [`Case::write_config`], with a compile cache of the case's own.
    pub fn write_config_with_cache(&self, body: &str) {
        let text = format!(
            "components = {:?}\nstate_dir = {:?}\ncache_dir = {:?}\n{body}",
            components_dir(),
            self.dir.join("state"),
            self.dir.join("cache"),
        );
        std::fs::write(self.config_path(), text).unwrap();
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            status: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// The report of one integration in a `--json` run.
    pub fn integration(&self, id: &str) -> Value {
        let json = self.json();
        json["integrations"]
            .as_array()
            .and_then(|list| list.iter().find(|i| i["id"] == id).cloned())
            .unwrap_or_else(|| panic!("no report for {id}: {json}"))
    }

    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A test fixture component (built by scripts/test.sh).
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(HOST)
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("wasm32-wasip2/component")
        .join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "fixture {} is not built: run scripts/test.sh",
        path.display()
    );
    path
}

/// A TCP listener that only counts connections: proof that nothing reached it.
pub struct Canary {
    pub port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Canary {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Canary { port, connections }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Whether the tests run as root (some set-ups, such as a file owned by another user,
/// need it; CI runs as root).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
