//! What a component's store holds, and the contract's host imports (`config`, `log`).
//!
//! One fresh store per event: no state survives from one event to the next, and a
//! component sees only its own integration's constants.

use crate::contract::since_v0_1_0::multisite::domain_provider as v1;
use crate::contract::since_v0_2_0::multisite::domain_provider as v2;
use crate::sandbox::constants::Constants;
use crate::sandbox::logs::{IntegrationLog, Level};
use crate::sandbox::outbound::OutboundPolicy;
use crate::sandbox::placeholders::{Encoding, Placeholders};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The most a component may write to stdout/stderr per event.
const STDIO_CAPTURE_BYTES: usize = 64 * 1024;

/// What an event keeps across its attempts (contract 0.2.0 `journal`).
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<BTreeMap<String, String>>,
}

impl Journal {
    const MAX_KEYS: usize = 64;
    const MAX_VALUE: usize = 1024;

    /// Records a value; beyond the limits it is dropped (and the host says so).
    pub fn remember(&self, key: String, value: String) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let fits = value.len() <= Self::MAX_VALUE
            && key.len() <= Self::MAX_VALUE
            && (entries.len() < Self::MAX_KEYS || entries.contains_key(&key));
        if fits {
            entries.insert(key, value);
        }
        fits
    }

    pub fn recall(&self, key: &str) -> Option<String> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }
}

pub struct HostState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    constants: Arc<Constants>,
    placeholders: Arc<Placeholders>,
    journal: Arc<Journal>,
    log: IntegrationLog,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    pub(crate) limits: StoreLimits,
}

impl HostState {
    /// A store's state. `outbound.placeholders` must be the same as `placeholders`, so
    /// what `config.secret-placeholder` hands out is what the hook substitutes.
    pub fn new(
        mut outbound: OutboundPolicy,
        constants: Arc<Constants>,
        journal: Arc<Journal>,
        log: IntegrationLog,
        limits: StoreLimits,
    ) -> Self {
        let placeholders = Arc::new(Placeholders::new(constants.clone()));
        outbound.placeholders = Some(placeholders.clone());
        let stdout = MemoryOutputPipe::new(STDIO_CAPTURE_BYTES);
        let stderr = MemoryOutputPipe::new(STDIO_CAPTURE_BYTES);
        // Empty capabilities: no preopened directories, no environment, no arguments, no
        // sockets or name lookups. Only `wasi:http`, filtered by `outbound`, reaches out.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound,
            constants,
            placeholders,
            journal,
            log,
            stdout,
            stderr,
            limits,
        }
    }

    /// Moves what the component printed into its integration's log. Called once, after
    /// the store's only call.
    pub fn flush_stdio(&self) {
        for (pipe, level) in [(&self.stdout, Level::Info), (&self.stderr, Level::Warn)] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                self.log.component(level, &format!("(stdio) {line}"));
            }
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl v1::types::Host for HostState {}
impl v2::types::Host for HostState {}

impl v1::config::Host for HostState {
    fn get(&mut self, name: String) -> Option<String> {
        self.constants.visible(&name).map(str::to_string)
    }

    fn is_set(&mut self, name: String) -> bool {
        self.constants.is_set(&name)
    }
}

impl v2::config::Host for HostState {
    fn get(&mut self, name: String) -> Option<String> {
        self.constants.visible(&name).map(str::to_string)
    }

    fn is_set(&mut self, name: String) -> bool {
        self.constants.is_set(&name)
    }

    fn secret_placeholder(
        &mut self,
        name: String,
        encoding: v2::config::Encoding,
    ) -> Option<String> {
        let encoding = match encoding {
            v2::config::Encoding::Raw => Encoding::Raw,
            v2::config::Encoding::Url => Encoding::Url,
            v2::config::Encoding::Json => Encoding::Json,
        };
        self.placeholders.placeholder(&name, encoding)
    }
}

fn level(l: v2::log::Level) -> Level {
    match l {
        v2::log::Level::Trace => Level::Trace,
        v2::log::Level::Debug => Level::Debug,
        v2::log::Level::Info => Level::Info,
        v2::log::Level::Warn => Level::Warn,
        v2::log::Level::Error => Level::Error,
    }
}

impl v1::log::Host for HostState {
    fn log(&mut self, l: v1::log::Level, message: String) {
        let l = match l {
            v1::log::Level::Trace => v2::log::Level::Trace,
            v1::log::Level::Debug => v2::log::Level::Debug,
            v1::log::Level::Info => v2::log::Level::Info,
            v1::log::Level::Warn => v2::log::Level::Warn,
            v1::log::Level::Error => v2::log::Level::Error,
        };
        self.log.component(level(l), &message);
    }
}

impl v2::log::Host for HostState {
    fn log(&mut self, l: v2::log::Level, message: String) {
        self.log.component(level(l), &message);
    }
}

impl v2::journal::Host for HostState {
    fn remember(&mut self, key: String, value: String) {
        if !self.journal.remember(key, value) {
            self.log.host(
                Level::Warn,
                "a journal entry was dropped (at most 64 keys of 1 KiB per event)",
            );
        }
    }

    fn recall(&mut self, key: String) -> Option<String> {
        self.journal.recall(&key)
    }
}
