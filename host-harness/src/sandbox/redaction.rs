//! Redaction: every text that leaves the host (report, notes, errors, logs, stderr, JSON)
//! passes through [`Secrets`], which knows the secrets of every integration, in case a
//! panel echoes a credential back.

use std::sync::{Arc, RwLock};

pub const REDACTED: &str = "[redacted]";

/// The secrets of every integration of a config, shared by everything that prints or
/// writes text, so one integration's credential echoed in another's output is redacted
/// too.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    needles: Arc<RwLock<Vec<String>>>,
}

impl Secrets {
    /// Registers a secret value, with the forms it takes in JSON, in URLs and form
    /// bodies, so a panel that echoes it in any of them is caught.
    pub fn add(&self, value: &str) {
        // Very short values would redact ordinary words; secrets are never that short.
        if value.len() < 4 {
            return;
        }
        let mut forms = vec![value.to_string()];
        if let Ok(json) = serde_json::to_string(value) {
            forms.push(json[1..json.len() - 1].to_string());
        }
        forms.push(percent_encode(value));
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        for form in forms {
            if !needles.contains(&form) {
                needles.push(form);
            }
        }
        // Longest first, so a value containing another is replaced whole.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    pub fn redact(&self, text: &str) -> String {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for needle in needles.iter() {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }
}

/// `application/x-www-form-urlencoded` / query encoding.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_covers_json_and_url_forms() {
        let secrets = Secrets::default();
        secrets.add("p\"a&ss/w0rd");
        assert_eq!(
            secrets.redact(r#"{"pw":"p\"a&ss/w0rd"}"#),
            r#"{"pw":"[redacted]"}"#
        );
        assert_eq!(
            secrets.redact("pass=p%22a%26ss%2Fw0rd&x=1"),
            "pass=[redacted]&x=1"
        );
        secrets.add("abc");
        assert_eq!(secrets.redact("abc"), "abc", "too short to redact safely");
    }
}
