//! What this event did in earlier attempts.
//!
//! The host retries a failed operation from the start in a fresh instance. A write whose
//! answer was lost (a 503 after the panel applied it, a dropped connection) leaves the
//! next attempt finding the change already made; the journal lets it say so truthfully
//! ("added a.com") instead of "already there", and lets it finish what the change needs
//! (redeploy a certificate) exactly once.
//!
//! ```ignore
//! journal::remember("wrote", "a.com");   // before sending the write
//! // ... later attempt:
//! if journal::recall("wrote").is_some() { /* the change is ours */ }
//! ```

use crate::bindings::multisite::domain_provider::journal as host;

/// Records `value` under `key` for this and later attempts of the event (at most 64 keys
/// of 1 KiB; the host drops and reports what does not fit).
pub fn remember(key: &str, value: impl AsRef<str>) {
    host::remember(key, value.as_ref());
}

/// What this event recorded under `key`, if anything.
pub fn recall(key: &str) -> Option<String> {
    host::recall(key)
}
