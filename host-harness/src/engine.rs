//! The wasmtime engine, the linker and the on-disk cache of compiled components.
//!
//! One engine and one linker per process. A component is compiled once per content hash
//! and engine build; later runs deserialize the cached native code, which is what keeps a
//! `domain-host` invocation fast.

use crate::contract;
use crate::store::HostState;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Epoch ticks drive the CPU deadline of guest code.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How instances get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Pre-reserved slots, reused across stores: the fastest instantiation, for hosts
    /// that run many events.
    Pooling {
        /// Stores alive at once.
        instances: u32,
        max_memory_bytes: usize,
    },
    /// Memory mapped per instance.
    OnDemand,
}

/// One engine per process. With pooling, an address-space reservation the machine refuses
/// falls back to on-demand allocation rather than failing.
pub fn new_engine(allocation: Allocation) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    let engine = match allocation {
        Allocation::Pooling {
            instances,
            max_memory_bytes,
        } => {
            let mut pool = PoolingAllocationConfig::default();
            // A Rust wasip2 component has a few core instances, memories and tables.
            pool.total_component_instances(instances)
                .total_core_instances(instances * 8)
                .total_memories(instances * 2)
                .total_tables(instances * 4)
                .total_stacks(instances)
                .max_memory_size(max_memory_bytes);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            Engine::new(&config).or_else(|_| {
                config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                Engine::new(&config)
            })?
        }
        Allocation::OnDemand => Engine::new(&config)?,
    };
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(engine)
}

/// WASI (with empty capabilities), `wasi:http`, and the contract's host interfaces.
pub fn new_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    use contract::latest::multisite::domain_provider::{config, log, types};
    types::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    config::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    log::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheStatus {
    /// Loaded compiled code from the cache.
    Hit,
    /// Compiled now, and stored for next time.
    Compiled,
}

/// Loads a component, compiling it only when the cache has no usable copy, and refuses it
/// before instantiation if it was built for another contract.
pub fn load_component(
    engine: &Engine,
    wasm_path: &Path,
    cache_dir: &Path,
) -> Result<(Component, CacheStatus)> {
    let bytes = std::fs::read(wasm_path)
        .with_context(|| format!("cannot read component {}", wasm_path.display()))?;
    let cached = cache_dir.join(format!("{}.cwasm", cache_key(engine, &bytes)));

    if cached.is_file() {
        // SAFETY: the cache directory is written only by this program, from components it
        // compiled itself, and the key covers both the component bytes and the engine's
        // compatibility hash.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            check_contract(engine, &component, wasm_path)?;
            return Ok((component, CacheStatus::Hit));
        }
        // A truncated or stale file: fall through and replace it.
    }

    let compiled = engine
        .precompile_component(&bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{} is not a valid component", wasm_path.display()))?;
    // SAFETY: `compiled` was produced just now by this engine.
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    check_contract(engine, &component, wasm_path)?;
    if let Err(e) = write_atomically(&cached, &compiled) {
        // A read-only cache only costs speed.
        eprintln!("domain-host: warning: cannot cache compiled component: {e:#}");
    }
    Ok((component, CacheStatus::Compiled))
}

fn check_contract(engine: &Engine, component: &Component, path: &Path) -> Result<()> {
    let ty = component.component_type();
    let names: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    contract::check_exports(names.iter().copied())
        .map(drop)
        .map_err(|why| anyhow::anyhow!("component {} refused: {why}", path.display()))
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut digest = Sha256::new();
    digest.update(bytes);
    digest.update(engine_hash.finish().to_le_bytes());
    digest.update(env!("CARGO_PKG_VERSION").as_bytes());
    digest
        .finalize()
        .iter()
        .take(20)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    let tmp: PathBuf = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
