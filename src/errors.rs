//! Turning panel responses into the contract's typed errors.
//!
//! Panels disagree on error bodies (`{"error":{"message"}}` at ServerPilot, Laravel's
//! `{"message","errors"}` at RunCloud, HTML pages from a proxy in front of either), so
//! [`error_message`] reads all the common shapes, and [`status_error`] decides the case the
//! host retries on. Pure functions, unit-tested on the host target.

use crate::{ApiError, ProviderError, RateLimit};
use serde_json::Value;

/// Longest panel message carried into an error, so one bad response cannot flood a report.
const MAX_MESSAGE_CHARS: usize = 300;

/// The case for a non-success HTTP status. `message` is the panel's own words.
pub fn status_error(status: u16, retry_after: Option<u32>, message: String) -> ProviderError {
    match status {
        401 => ProviderError::BadCredentials(format!("credentials rejected (401): {message}")),
        404 => ProviderError::NotFound(message),
        409 => ProviderError::Conflict(message),
        400 | 422 => ProviderError::InvalidInput(message),
        429 => ProviderError::RateLimited(RateLimit {
            retry_after_secs: retry_after,
            message,
        }),
        408 | 500..=599 => ProviderError::Transient(format!("HTTP {status}: {message}")),
        _ => ProviderError::Api(ApiError { status, message }),
    }
}

/// A readable message from an error body, whatever shape the panel used.
pub fn error_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(json) => json_message(&json).unwrap_or_else(|| compact(&text)),
        Err(_) if looks_like_html(&text) => match html_title(&text) {
            Some(title) => format!("HTML error page: {title}"),
            None => "HTML error page".to_string(),
        },
        Err(_) if text.trim().is_empty() => format!("empty response body (HTTP {status})"),
        Err(_) => compact(&text),
    };
    truncate(&message)
}

/// `{"error":{"message"}}`, `{"error":"..."}`, `{"message", "errors":{field:[...]}}`.
fn json_message(json: &Value) -> Option<String> {
    if let Some(error) = json.get("error") {
        if let Some(message) = error.get("message").and_then(Value::as_str) {
            return Some(message.to_string());
        }
        if let Some(message) = error.as_str() {
            return Some(message.to_string());
        }
    }
    let message = json.get("message").and_then(Value::as_str);
    let details = json
        .get("errors")
        .map(validation_details)
        .unwrap_or_default();
    match (message, details.is_empty()) {
        (Some(message), true) => Some(message.to_string()),
        (Some(message), false) => Some(format!("{message} ({details})")),
        (None, false) => Some(details),
        (None, true) => None,
    }
}

/// Laravel validation errors: `{"name": ["The name has already been taken."]}`.
fn validation_details(errors: &Value) -> String {
    match errors {
        Value::Object(fields) => fields
            .iter()
            .map(|(field, problems)| {
                let problems = match problems {
                    Value::Array(list) => join(list.iter().filter_map(Value::as_str), " "),
                    Value::String(s) => s.clone(),
                    other => crate::json::text(other),
                };
                format!("{field}: {problems}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Array(list) => join(list.iter().filter_map(Value::as_str), "; "),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn looks_like_html(text: &str) -> bool {
    let head = text
        .trim_start()
        .get(..15)
        .unwrap_or("")
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = compact(&text[start..end]);
    (!title.is_empty()).then_some(title)
}

/// One line, no control characters.
fn compact(text: &str) -> String {
    join(text.split_whitespace(), " ")
}

/// The words with `separator` between them, as `[&str]::join` writes them (without
/// instantiating a second copy of `join` next to the one for `String`s).
fn join<'a>(words: impl Iterator<Item = &'a str>, separator: &str) -> String {
    let mut out = String::new();
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(word);
    }
    out
}

fn truncate(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

impl ProviderError {
    /// The same error with context in front of its message ("added x.com but ...").
    pub fn prefixed(self, prefix: &str) -> ProviderError {
        use ProviderError::*;
        let p = |m: String| format!("{prefix}{m}");
        match self {
            BadCredentials(m) => BadCredentials(p(m)),
            NotFound(m) => NotFound(p(m)),
            Conflict(m) => Conflict(p(m)),
            Transient(m) => Transient(p(m)),
            InvalidInput(m) => InvalidInput(p(m)),
            LimitReached(m) => LimitReached(p(m)),
            Denied(m) => Denied(p(m)),
            Unsupported(m) => Unsupported(p(m)),
            RateLimited(mut r) => {
                r.message = p(r.message);
                RateLimited(r)
            }
            Api(mut e) => {
                e.message = p(e.message);
                Api(e)
            }
        }
    }
}

/// Seconds from a `Retry-After` header. The HTTP-date form yields `None` (the host then
/// uses its own backoff).
pub fn parse_retry_after(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_serverpilot_error_envelope() {
        let body = br#"{"error":{"message":"Invalid argument: auto"}}"#;
        assert_eq!(error_message(400, body), "Invalid argument: auto");
    }

    #[test]
    fn reads_laravel_validation_errors() {
        let body = br#"{"message":"The given data was invalid.","errors":{"name":["The name has already been taken."]}}"#;
        assert_eq!(
            error_message(422, body),
            "The given data was invalid. (name: The name has already been taken.)"
        );
    }

    #[test]
    fn reads_plain_message() {
        assert_eq!(
            error_message(401, br#"{"message":"Invalid credentials."}"#),
            "Invalid credentials."
        );
    }

    #[test]
    fn html_pages_are_summarised_by_title() {
        let body = b"<!DOCTYPE html><html><head><title>502 Bad\n Gateway</title></head><body>...</body></html>";
        assert_eq!(error_message(502, body), "HTML error page: 502 Bad Gateway");
    }

    #[test]
    fn empty_and_plain_bodies() {
        assert_eq!(error_message(503, b""), "empty response body (HTTP 503)");
        assert_eq!(error_message(500, b"oops\n\tbad"), "oops bad");
    }

    #[test]
    fn long_messages_are_truncated() {
        let body = "x".repeat(1000);
        let message = error_message(500, body.as_bytes());
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn statuses_map_to_retryable_and_final_cases() {
        let case = |s| status_error(s, Some(3), "m".into());
        assert!(matches!(case(401), ProviderError::BadCredentials(_)));
        assert!(matches!(case(404), ProviderError::NotFound(_)));
        assert!(matches!(case(409), ProviderError::Conflict(_)));
        assert!(matches!(case(422), ProviderError::InvalidInput(_)));
        assert!(matches!(case(400), ProviderError::InvalidInput(_)));
        assert!(matches!(
            case(429),
            ProviderError::RateLimited(RateLimit {
                retry_after_secs: Some(3),
                ..
            })
        ));
        for s in [500, 502, 503, 504, 408] {
            assert!(matches!(case(s), ProviderError::Transient(_)), "{s}");
        }
        assert!(matches!(
            case(403),
            ProviderError::Api(ApiError { status: 403, .. })
        ));
    }

    #[test]
    fn prefixed_keeps_the_case() {
        let e = ProviderError::Transient("503".into()).prefixed("added a.com but ");
        assert!(matches!(e, ProviderError::Transient(m) if m == "added a.com but 503"));
        let e = status_error(429, Some(1), "slow down".into()).prefixed("x: ");
        assert!(matches!(e, ProviderError::RateLimited(r) if r.message == "x: slow down"));
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after(" 7 "), Some(7));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
