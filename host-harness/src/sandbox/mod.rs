//! The sandbox: everything a component's request passes through on its way out (the
//! allow-list, the outbound hook, the address check, credentials, placeholders, sessions)
//! and what the operator decided about it (approvals, the host's private files, logs).
//! Policy lives in pure modules unit-tested without a guest; `outbound` applies it.

pub(crate) mod allow_list;
pub mod approvals;
pub(crate) mod auth_header;
pub(crate) mod connection_pool;
pub mod constants;
pub(crate) mod credentials;
pub(crate) mod egress;
pub(crate) mod files;
pub mod logs;
pub(crate) mod outbound;
pub(crate) mod placeholders;
pub mod redaction;
pub(crate) mod session;
