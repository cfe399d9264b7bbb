//! Loopback emulators of hosting-panel APIs, for tests and the README's demo.
//!
//! Each speaks its panel's documented shapes (`../shared/reference/provider-apis.md`):
//! auth, envelopes, status codes and quirks. Tests drive them in-process through
//! [`server::Emulator`] (state, received requests, injected faults); the `panel-emulator`
//! binary serves them for a demo, with `GET /_emulator/state` to look at the panel.

pub mod bigscoots;
pub mod bunnynet;
pub mod closte;
pub mod cloudflare;
pub mod cloudways;
pub mod cpanel;
pub mod cyberpanel;
pub mod directadmin;
pub mod dns;
pub mod enhance;
pub mod front;
pub mod gridpane;
pub mod hestia;
pub mod hostinger;
pub mod laravel_forge;
pub mod plesk;
pub mod rocket;
pub mod runcloud;
pub mod server;
pub mod serverpilot;
pub mod session;
pub mod tls;
pub mod wpengine;
pub mod wpmudev;

pub use server::{
    EchoAuth, EchoMode, Emulator, Fault, FaultKind, Recorder, Reflect, Request, Response,
};
