//! This integration's settings, as configured on the host.
//!
//! A component sees only its own constants, and never a secret one: the host attaches
//! secrets to outgoing requests itself (see [`crate::AuthScheme`]).

use crate::ProviderError;
use crate::bindings::multisite::domain_provider::config as host;

/// The value of a non-secret constant, or `None` when it is not set (or blank).
pub fn get(name: &str) -> Option<String> {
    host::get(name).filter(|value| !value.trim().is_empty())
}

/// Whether a constant is set, secret or not.
pub fn is_set(name: &str) -> bool {
    host::is_set(name)
}

/// The value of a non-secret constant the operation cannot do without.
pub fn require(name: &str) -> Result<String, ProviderError> {
    get(name).ok_or_else(|| ProviderError::BadCredentials(format!("{name} is not set")))
}

/// A constant used as a path segment (an app or server id): it must be a plain token, so
/// a bad value cannot reshape the request path.
pub fn require_id(name: &str) -> Result<String, ProviderError> {
    let value = require(name)?;
    check_id(name, &value)?;
    Ok(value)
}

pub(crate) fn check_id(name: &str, value: &str) -> Result<(), ProviderError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ProviderError::InvalidInput(format!(
            "{name} must be letters, digits, '-' or '_' (got {value:?})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_plain_tokens() {
        assert!(check_id("APP", "nlcN0TwdZAyNEgdp").is_ok());
        assert!(check_id("APP", "123").is_ok());
        for bad in ["", "../apps", "a b", "a/b", "a?x=1"] {
            assert!(check_id("APP", bad).is_err(), "{bad:?} should be refused");
        }
    }
}
