//! This integration's settings, as the operator configured them on the host.
//!
//! A component sees only the non-secret values the operator gave it. Secrets stay in the
//! host: it attaches credentials itself (see [`crate::AuthScheme`]), and [`secret`] gives
//! placeholders it replaces in requests to the integration's HTTPS hosts:
//!
//! ```ignore
//! Request::post(url).form(&[
//!     ("user", config::require("WU_HESTIA_API_USER")?),
//!     ("hash", config::secret("WU_HESTIA_API_HASH").in_form()?),
//! ])
//! ```

use crate::ProviderError;
use crate::bindings::multisite::domain_provider::config as host;
use host::Encoding;

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

/// A host-held secret of this integration, to place in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    name: String,
}

/// The secret constant `name`; its value never enters the component.
pub fn secret(name: &str) -> Secret {
    Secret { name: name.into() }
}

impl Secret {
    fn placeholder(&self, encoding: Encoding) -> Result<String, ProviderError> {
        host::secret_placeholder(&self.name, encoding)
            .ok_or_else(|| ProviderError::BadCredentials(format!("{} is not set", self.name)))
    }

    /// For a header value (`Authorization: cpanel user:<token>`).
    pub fn in_header(&self) -> Result<String, ProviderError> {
        self.placeholder(Encoding::Raw)
    }

    /// For a form body or a query string (percent-encoded by the host).
    pub fn in_form(&self) -> Result<String, ProviderError> {
        self.placeholder(Encoding::Url)
    }

    /// For the inside of a JSON string (escaped by the host).
    pub fn in_json(&self) -> Result<String, ProviderError> {
        self.placeholder(Encoding::Json)
    }
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
