//! `domain-host`: runs Ultimate Multisite domain-provider components in a wasmtime sandbox.
//!
//! One place per concern:
//! - [`config`]: the TOML file; [`domain`]: validating names and the `www.` policy;
//! - [`contract`]: the WIT versions this host runs; [`engine`]: engine, linker, compile cache;
//! - [`host`]: loading integrations and running events; [`store`]: the per-event store and
//!   the contract's host imports;
//! - [`allow_list`] and [`outbound`]: where a component may send requests, and the hook
//!   that enforces it; [`egress`]: the address check after DNS and the sender;
//!   [`credentials`]: constants, host-held secrets, redaction; [`approvals`]: the lock
//!   file pinning what each component was approved with;
//! - [`files`]: the host's own files, private to its user;
//! - [`retry`], [`lock`]: retrying transient faults, serialising events per account;
//! - [`report`], [`logs`], [`app`]: what the user sees.

pub mod allow_list;
pub mod app;
pub mod approvals;
pub mod component;
pub mod config;
pub mod contract;
pub mod credentials;
pub mod domain;
pub mod egress;
pub mod engine;
pub mod files;
pub mod host;
pub mod lifecycle;
pub mod lock;
pub mod logs;
pub mod network;
pub mod operation;
pub mod outbound;
pub mod placeholders;
pub mod reconcile;
pub mod report;
pub mod retry;
pub mod service;
pub mod session;
pub mod store;
