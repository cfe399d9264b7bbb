//! What a component's store holds, and the contract's host imports (`config`, `log`).
//!
//! One fresh store per event: no state survives from one event to the next, and a
//! component sees only its own integration's constants.

use crate::contract::latest::multisite::domain_provider::{config, log, types};
use crate::credentials::Constants;
use crate::logs::{IntegrationLog, Level};
use crate::outbound::OutboundPolicy;
use std::sync::Arc;
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The most a component may write to stdout/stderr per event.
const STDIO_CAPTURE_BYTES: usize = 64 * 1024;

pub struct HostState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    constants: Arc<Constants>,
    log: IntegrationLog,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    pub(crate) limits: StoreLimits,
}

impl HostState {
    pub fn new(
        outbound: OutboundPolicy,
        constants: Arc<Constants>,
        log: IntegrationLog,
        limits: StoreLimits,
    ) -> Self {
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

impl types::Host for HostState {}

impl config::Host for HostState {
    fn get(&mut self, name: String) -> Option<String> {
        self.constants.visible(&name).map(str::to_string)
    }

    fn is_set(&mut self, name: String) -> bool {
        self.constants.is_set(&name)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => Level::Trace,
            log::Level::Debug => Level::Debug,
            log::Level::Info => Level::Info,
            log::Level::Warn => Level::Warn,
            log::Level::Error => Level::Error,
        };
        self.log.component(level, &message);
    }
}
