//! The runtime: one engine and compile cache per process, an integration loaded once, and
//! one operation of one component run in a fresh instance with retries, per-account locks
//! and a report. What a request may do is the sandbox's business, not the runtime's.

pub(crate) mod account_lock;
pub(crate) mod component;
pub mod engine;
pub mod executor;
pub mod host;
pub(crate) mod instance;
pub mod operation;
pub mod report;
pub mod retry;
