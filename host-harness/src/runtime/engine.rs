//! The wasmtime engine, the linker and the on-disk cache of compiled components.
//!
//! One engine and one linker per process. A component is compiled once per content hash
//! and engine build; later runs deserialize the cached native code, which is what keeps a
//! `domain-host` invocation fast.

use crate::contract;
use crate::runtime::instance::HostState;
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
    {
        use contract::since_v0_1_0::multisite::domain_provider::{config, log, types};
        types::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        config::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        log::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    }
    {
        use contract::since_v0_2_0::multisite::domain_provider::{config, journal, log, types};
        types::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        config::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        log::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        journal::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    }
    Ok(linker)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheStatus {
    /// Loaded compiled code from the cache.
    Hit,
    /// Compiled now, and stored for next time.
    Compiled,
    /// Compiled now; the cache is not usable (see the warning on stderr).
    Uncached,
}

/// The on-disk cache of compiled components, and the per-install key that authenticates
/// what is in it.
#[derive(Clone)]
pub struct CompileCache {
    dir: PathBuf,
    /// `None` when the directory or the key is not private to this user: then nothing is
    /// read from or written to the cache.
    key: Option<[u8; 32]>,
}

/// A compiled artifact on disk: this magic, an HMAC-SHA256 tag, then wasmtime's bytes.
const MAGIC: &[u8; 8] = b"DHCWASM1";
const TAG_LEN: usize = 32;

impl CompileCache {
    /// Opens the cache in `dir`, with its key in `dir/cache.key` (created on first use,
    /// 0600). A cache that is not private to this user is not used, with one warning.
    pub fn open(dir: &Path) -> Self {
        let key = crate::sandbox::files::private_dir(dir)
            .and_then(|()| crate::sandbox::files::key_file(&dir.join("cache.key")))
            .map_err(|e| {
                eprintln!(
                    "domain-host: warning: not using the compile cache: {e:#}; \
                     components are compiled on every run"
                )
            })
            .ok();
        CompileCache {
            dir: dir.to_path_buf(),
            key,
        }
    }

    fn tag(key: &[u8; 32], cache_key: &str, payload: &[u8]) -> [u8; TAG_LEN] {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("any key length works");
        mac.update(cache_key.as_bytes());
        mac.update(payload);
        mac.finalize().into_bytes().into()
    }

    /// The artifact for `cache_key`, when the file is there, private to this user and
    /// carries a valid tag. Anything else is refused (and later replaced).
    fn read(&self, cache_key: &str) -> Result<Option<Vec<u8>>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let path = self.dir.join(format!("{cache_key}.cwasm"));
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        crate::sandbox::files::check_private_file(&path)?;
        let mut bytes = std::fs::read(&path)?;
        let header = MAGIC.len() + TAG_LEN;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            anyhow::bail!("{} is not a domain-host artifact", path.display());
        }
        let expected = Self::tag(key, cache_key, &bytes[header..]);
        // Constant-time comparison, so the tag cannot be guessed byte by byte.
        let given = &bytes[MAGIC.len()..header];
        if given
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
        {
            anyhow::bail!(
                "{} failed authentication (altered or not ours)",
                path.display()
            );
        }
        bytes.drain(..header);
        Ok(Some(bytes))
    }

    fn write(&self, cache_key: &str, payload: &[u8]) -> Result<bool> {
        let Some(key) = &self.key else {
            return Ok(false);
        };
        let mut bytes = Vec::with_capacity(MAGIC.len() + TAG_LEN + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&Self::tag(key, cache_key, payload));
        bytes.extend_from_slice(payload);
        crate::sandbox::files::write_atomically(
            &self.dir.join(format!("{cache_key}.cwasm")),
            &bytes,
            0o600,
        )?;
        Ok(true)
    }
}

/// A component ready to instantiate, and what is known about its file.
pub struct LoadedComponent {
    pub component: Component,
    pub cache: CacheStatus,
    /// `sha256:` of the file.
    pub digest: String,
    /// The contract version it was built for, and which binding runs it.
    pub contract: String,
    pub version: contract::Version,
}

/// Loads a component, compiling it only when the cache has no usable copy, and refuses it
/// before instantiation if it was built for another contract.
pub fn load_component(
    engine: &Engine,
    wasm_path: &Path,
    cache: &CompileCache,
) -> Result<LoadedComponent> {
    let bytes = std::fs::read(wasm_path)
        .with_context(|| format!("cannot read component {}", wasm_path.display()))?;
    let key = cache_key(engine, &bytes);
    let digest = component_digest(&bytes);

    match cache.read(&key) {
        Ok(Some(artifact)) => {
            // SAFETY: `deserialize` trusts its input to be native code this engine
            // produced. What is checked: the artifact's directory and file are owned by
            // this user and not writable by group or others, and the file carries an
            // HMAC-SHA256 tag, under a per-install key kept 0600 by this user, over the
            // cache key (component bytes + engine compatibility hash + host version) and
            // the artifact. Only this program, holding the key, writes such tags, and only
            // for code it compiled itself.
            if let Ok(component) = unsafe { Component::deserialize(engine, &artifact) } {
                let (contract, version) = check_contract(engine, &component, wasm_path)?;
                return Ok(LoadedComponent {
                    component,
                    cache: CacheStatus::Hit,
                    digest,
                    contract,
                    version,
                });
            }
        }
        Ok(None) => {}
        Err(e) => eprintln!("domain-host: warning: cached component refused, recompiling: {e:#}"),
    }

    let compiled = engine
        .precompile_component(&bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{} is not a valid component", wasm_path.display()))?;
    // SAFETY: `compiled` was produced just now by this engine.
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    let (contract, version) = check_contract(engine, &component, wasm_path)?;
    let status = match cache.write(&key, &compiled) {
        Ok(true) => CacheStatus::Compiled,
        Ok(false) => CacheStatus::Uncached,
        Err(e) => {
            // A read-only cache only costs speed.
            eprintln!("domain-host: warning: cannot cache compiled component: {e:#}");
            CacheStatus::Uncached
        }
    };
    Ok(LoadedComponent {
        component,
        cache: status,
        digest,
        contract,
        version,
    })
}

/// The contract version the component was built for, if this host runs it.
fn check_contract(
    engine: &Engine,
    component: &Component,
    path: &Path,
) -> Result<(String, contract::Version)> {
    let ty = component.component_type();
    let names: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    contract::check_exports(names.iter().copied())
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
    crate::sandbox::files::hex(&digest.finalize()[..20])
}

/// `sha256:<hex>` of a component's bytes, as approvals pin it.
pub fn component_digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        crate::sandbox::files::hex(&Sha256::digest(bytes))
    )
}
