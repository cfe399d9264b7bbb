//! Short-lived sessions (contract 0.2.0 `auth-scheme.session`): the host logs in with the
//! integration's long-lived credentials, caches the token until it expires, attaches it
//! like a bearer credential, and logs in again after a 401. Neither the credentials nor
//! the token ever enter the component.
//!
//! One token per session: a refresh replaces the token in the redaction set (the one
//! before stays until the next refresh, for answers still on their way), so a service that
//! runs for months redacts as many values as on its first day. A 401 on a token younger
//! than [`MIN_RELOGIN_INTERVAL`] that the panel never accepted does not log in again (a
//! fresh token that is refused is a missing scope, not a stale token, and a component
//! looping on such an endpoint must not turn into a login storm against the panel).
//!
//! [`Session::login_request`] and [`parse_token`] are pure and unit-tested.

use crate::contract::{BodyFormat, LoginValue, SessionLogin};
use crate::sandbox::constants::Constants;
use crate::sandbox::redaction::{SecretSlot, Secrets, percent_encode};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Longest login answer read.
const MAX_LOGIN_ANSWER: usize = 64 * 1024;

/// A token is refreshed this long before the panel says it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A token refused (401) within this time of its login is kept: no new login for it.
pub const MIN_RELOGIN_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Token {
    value: http::HeaderValue,
    expires: Instant,
    issued: Instant,
    /// The panel accepted it at least once: a 401 now means it went stale.
    proven: bool,
}

/// One integration's session: how to log in, and the current token.
pub struct Session {
    pub url: http::Uri,
    content_type: &'static str,
    /// The login body, with the credentials in it: never logged, never shown.
    body: Bytes,
    token_pointer: String,
    lifetime_pointer: Option<String>,
    default_lifetime: Duration,
    pub header: http::HeaderName,
    bearer: bool,
    current: tokio::sync::Mutex<Option<Token>>,
    /// How many times the panel refused a token (401), so the host can retry an attempt
    /// that failed only because its token went stale.
    invalidations: std::sync::atomic::AtomicU32,
    /// How the last login failed, for the report (the component only sees a denial).
    last_failure: std::sync::Mutex<Option<LoginFailure>>,
    /// The constants the login sends, named when the panel refuses them.
    credential_names: Vec<String>,
    /// The constants of the integration's other auth schemes (one entry per scheme, joined
    /// with " + "), named too: the refused value may be meant for one of them.
    alternatives: Vec<String>,
    secrets: Secrets,
    /// The current token (and the one before) in the redaction set.
    slot: SecretSlot,
}

/// Why a login did not give a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFailure {
    /// The panel refused the credentials (401/403): fix them; not retried.
    Refused(String),
    /// The panel or the network failed (5xx, timeouts): retried.
    Unavailable(String),
    /// The answer could not be used (no token where the login says).
    Unusable(String),
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({} [credentials redacted])", self.url)
    }
}

impl Session {
    /// The session for `spec` with these constants, or `None` when a constant its login
    /// needs is not set (then the next auth scheme is tried).
    pub fn new(
        spec: &SessionLogin,
        constants: &Constants,
        secrets: Secrets,
    ) -> Result<Option<Self>, String> {
        let url: http::Uri = spec
            .url
            .parse()
            .map_err(|_| format!("session login URL {:?} does not parse", spec.url))?;
        if url.scheme_str() != Some("https") {
            return Err(format!("session login URL {:?} must be https", spec.url));
        }
        let mut fields = Vec::new();
        let mut credential_names = Vec::new();
        for field in &spec.fields {
            let value = match &field.value {
                LoginValue::Constant(name) => match constants.value(name) {
                    Some(v) => {
                        credential_names.push(name.clone());
                        v.to_string()
                    }
                    None => return Ok(None),
                },
                LoginValue::Literal(v) => v.clone(),
            };
            fields.push((field.name.clone(), value));
        }
        let (content_type, body) = login_body(spec.body_format, &fields);
        let (header, bearer) = match &spec.token_header {
            None => (http::header::AUTHORIZATION, true),
            Some(name) => (
                crate::sandbox::auth_header::check_auth_header_name(name)?,
                false,
            ),
        };
        Ok(Some(Session {
            url,
            content_type,
            body: Bytes::from(body),
            token_pointer: spec.token_pointer.clone(),
            lifetime_pointer: spec.lifetime_pointer.clone(),
            default_lifetime: Duration::from_secs(u64::from(spec.default_lifetime_secs.max(1))),
            header,
            bearer,
            current: tokio::sync::Mutex::new(None),
            invalidations: Default::default(),
            last_failure: Default::default(),
            credential_names,
            alternatives: Vec::new(),
            slot: secrets.slot(),
            secrets,
        }))
    }

    /// Names the integration's other credentials in a refusal ("or set X instead").
    pub fn with_alternatives(mut self, alternatives: Vec<String>) -> Self {
        self.alternatives = alternatives;
        self
    }

    /// The login request to send.
    pub fn login_request(&self) -> http::Request<Bytes> {
        let authority = self.url.authority().map(|a| a.as_str()).unwrap_or("");
        http::Request::builder()
            .method(http::Method::POST)
            .uri(self.url.clone())
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, self.content_type)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_LENGTH, self.body.len())
            .body(self.body.clone())
            .expect("a login request from a parsed URL")
    }

    /// The header value to attach, logging in (once, for all concurrent callers) when
    /// there is no valid token.
    pub async fn header_value<F, Fut>(&self, login: F) -> Result<http::HeaderValue, String>
    where
        F: FnOnce(http::Request<Bytes>) -> Fut,
        Fut: Future<Output = Result<(u16, Vec<u8>), String>>,
    {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && token.expires > Instant::now()
        {
            return Ok(token.value.clone());
        }
        let fail = |failure: LoginFailure| {
            let text = match &failure {
                LoginFailure::Refused(m)
                | LoginFailure::Unavailable(m)
                | LoginFailure::Unusable(m) => m.clone(),
            };
            *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure);
            text
        };
        let (status, body) = match login(self.login_request()).await {
            Ok(answer) => answer,
            Err(e) => return Err(fail(LoginFailure::Unavailable(e))),
        };
        if !(200..300).contains(&status) {
            let mut message = format!(
                "the session login was refused (HTTP {status}): {}",
                answer_message(&body)
            );
            if matches!(status, 401 | 403) && !self.credential_names.is_empty() {
                message.push_str(&format!("; check {}", self.credential_names.join(" and ")));
                if !self.alternatives.is_empty() {
                    message.push_str(&format!(
                        ", or set {} instead",
                        self.alternatives.join(" or ")
                    ));
                }
            }
            let message = self.secrets.redact(&message);
            return Err(fail(if matches!(status, 401 | 403) {
                LoginFailure::Refused(message)
            } else if status >= 500 || status == 429 || status == 408 {
                LoginFailure::Unavailable(message)
            } else {
                LoginFailure::Unusable(message)
            }));
        }
        let (token, lifetime) = parse_token(
            &body,
            &self.token_pointer,
            self.lifetime_pointer.as_deref(),
            self.default_lifetime,
        )
        .map_err(|e| fail(LoginFailure::Unusable(e)))?;
        self.slot.replace(&token);
        let shown = if self.bearer {
            format!("Bearer {token}")
        } else {
            token
        };
        let mut value = http::HeaderValue::from_str(&shown)
            .map_err(|_| "the session token is not a valid header value".to_string())?;
        value.set_sensitive(true);
        let expires = Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN).max(lifetime / 2);
        *current = Some(Token {
            value: value.clone(),
            expires,
            issued: Instant::now(),
            proven: false,
        });
        Ok(value)
    }

    /// The panel answered a request that carried `sent` with something else than 401.
    pub async fn accepted(&self, sent: &http::HeaderValue) {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_mut()
            && token.value == *sent
        {
            token.proven = true;
        }
    }

    /// The panel answered 401 to a request that carried `sent`: forgets that token so the
    /// next request logs in again, unless it is fresh and never accepted (logging in again
    /// would only get another token the panel refuses the same way) or already replaced.
    /// Returns whether the token was forgotten.
    pub async fn invalidate(&self, sent: &http::HeaderValue) -> bool {
        let mut current = self.current.lock().await;
        let forget = current.as_ref().is_some_and(|t| {
            t.value == *sent && (t.proven || t.issued.elapsed() >= MIN_RELOGIN_INTERVAL)
        });
        if forget {
            *current = None;
            self.invalidations
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        forget
    }

    /// Takes how the last login failed, if it did since the last call.
    pub fn take_failure(&self) -> Option<LoginFailure> {
        self.last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// How many times a token was refused so far.
    pub fn invalidations(&self) -> u32 {
        self.invalidations.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The maximum bytes of a login answer read.
    pub fn max_answer() -> usize {
        MAX_LOGIN_ANSWER
    }
}

/// The panel's message from a refused login, short and on one line.
fn answer_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let found = json.as_ref().and_then(|j| {
        [
            "/message",
            "/error/message",
            "/error",
            "/errors/0/message",
            "/error_description",
        ]
        .iter()
        .find_map(|p| j.pointer(p).and_then(|v| v.as_str()).map(str::to_string))
    });
    let text = found.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(200).collect()
}

fn login_body(format: BodyFormat, fields: &[(String, String)]) -> (&'static str, Vec<u8>) {
    match format {
        BodyFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            (
                "application/json",
                serde_json::to_vec(&map).unwrap_or_default(),
            )
        }
        BodyFormat::Form => {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            ("application/x-www-form-urlencoded", body.into_bytes())
        }
    }
}

/// The token and its lifetime from a login answer.
pub fn parse_token(
    body: &[u8],
    token_pointer: &str,
    lifetime_pointer: Option<&str>,
    default_lifetime: Duration,
) -> Result<(String, Duration), String> {
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| "the session login answer is not JSON".to_string())?;
    // One pointer, or alternatives separated by `|` (the first present wins), for panels
    // whose answers are documented in more than one shape.
    let token = token_pointer
        .split('|')
        .find_map(|p| {
            json.pointer(p.trim())
                .and_then(|v| v.as_str())
                .filter(|t| !t.is_empty())
        })
        .ok_or_else(|| format!("the session login answer has no token at {token_pointer}"))?
        .to_string();
    let lifetime = lifetime_pointer
        .and_then(|p| json.pointer(p))
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .map(Duration::from_secs)
        .unwrap_or(default_lifetime);
    Ok((token, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_lifetimes_are_read_where_the_panel_puts_them() {
        let body = br#"{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"#;
        let (token, life) = parse_token(
            body,
            "/access_token",
            Some("/expires_in"),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!((token.as_str(), life), ("tok-1", Duration::from_secs(3600)));
        let body = br#"{"success":true,"result":{"token":"tok-2","expires":"900"}}"#;
        let (token, life) = parse_token(
            body,
            "/result/token",
            Some("/result/expires"),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!((token.as_str(), life), ("tok-2", Duration::from_secs(900)));
        let (_, life) = parse_token(
            br#"{"token":"t"}"#,
            "/token",
            None,
            Duration::from_secs(3000),
        )
        .unwrap();
        assert_eq!(life, Duration::from_secs(3000));
        assert!(parse_token(br#"{"token":""}"#, "/token", None, Duration::ZERO).is_err());
        assert!(parse_token(b"<html>", "/token", None, Duration::ZERO).is_err());
    }

    #[test]
    fn login_bodies_in_both_formats() {
        let fields = vec![
            ("email".to_string(), "me@example.com".to_string()),
            ("api_key".to_string(), "k&y".to_string()),
        ];
        assert_eq!(
            login_body(BodyFormat::Form, &fields),
            (
                "application/x-www-form-urlencoded",
                b"email=me%40example.com&api_key=k%26y".to_vec()
            )
        );
        let (kind, json) = login_body(BodyFormat::Json, &fields);
        assert_eq!(kind, "application/json");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&json).unwrap(),
            serde_json::json!({"email": "me@example.com", "api_key": "k&y"})
        );
    }
}
