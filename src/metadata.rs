//! Constructors that keep a provider's metadata close to its documentation.

use crate::{ConstantSpec, ProviderMetadata};

impl ConstantSpec {
    /// A setting the provider cannot work without.
    pub fn required(name: &str, label: &str, description: &str) -> Self {
        ConstantSpec {
            name: name.into(),
            label: label.into(),
            description: description.into(),
            secret: false,
            required: true,
        }
    }

    /// A setting the provider can do without.
    pub fn optional(name: &str, label: &str, description: &str) -> Self {
        ConstantSpec {
            required: false,
            ..Self::required(name, label, description)
        }
    }

    /// Held by the host: never handed to the component.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

impl ProviderMetadata {
    /// The names of the constants the metadata declares.
    pub fn constant_names(&self) -> Vec<&str> {
        self.constants.iter().map(|c| c.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_the_flags() {
        let c = ConstantSpec::required("WU_X_KEY", "Key", "where").secret();
        assert!(c.required && c.secret);
        let c = ConstantSpec::optional("WU_X_PORT", "Port", "2083");
        assert!(!c.required && !c.secret);
    }
}
