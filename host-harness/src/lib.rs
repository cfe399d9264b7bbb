//! `domain-host`: runs Ultimate Multisite domain-provider components in a wasmtime sandbox.
//!
//! The crate by concern (the README's "Architecture" section shows an event's way through):
//! - [`commands`]: the CLI's commands, independent of argument parsing (`main.rs`);
//!   [`config`]: `domain-host.toml`; [`domain`]: validating names and the `www.` policy;
//! - [`dispatch`]: one WordPress network's integrations and the one dispatch path that the
//!   CLI, the service and the lifecycle all call; [`reconcile`]: WordPress against panels;
//! - [`contract`]: the WIT versions this host runs, the vocabulary every folder shares;
//! - [`runtime`]: engine, compiled-component cache, instances, operations, retries, locks,
//!   reports: running one operation of one component; the threads the service runs events on;
//! - [`sandbox`]: everything a component's request passes through, and what it may read;
//! - [`lifecycle`]: DNS and certificate checks per mapped domain, in SQLite or
//!   [`mysql`] (the store several instances share);
//! - [`service`]: `domain-host serve`, the durable queue WordPress's bridge feeds.

pub mod commands;
pub mod config;
pub mod contract;
pub(crate) mod dispatch;
pub(crate) mod domain;
pub mod lifecycle;
pub mod mysql;
pub(crate) mod reconcile;
pub mod runtime;
pub mod sandbox;
pub mod service;
