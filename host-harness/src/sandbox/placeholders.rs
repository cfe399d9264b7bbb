//! Secrets anywhere in a request, still never in the component (contract 0.2.0).
//!
//! A component asks `config.secret-placeholder(NAME, encoding)` and gets
//! `~dhs~<nonce>~<NAME>~<r|u|j>~`; the hook replaces it with the value in requests to the
//! integration's HTTPS allowed hosts. The nonce is 128 random bits fresh for each store, so
//! a placeholder cannot collide with real data, and one naming a constant the integration
//! does not hold as secret gets the request refused. Every character is unreserved in URLs,
//! plain in JSON and valid in headers, so no encoder changes it; its bounded length
//! ([`MAX_LEN`]) lets [`Streamer`] substitute in a streamed body holding back at most one
//! placeholder's worth of bytes.
//!
//! Pure: unit-tested without a guest.

use crate::sandbox::constants::Constants;
use crate::sandbox::redaction::percent_encode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const PREFIX: &[u8] = b"~dhs~";
const NONCE_HEX: usize = 32;
/// Longest constant name a placeholder may carry.
pub const MAX_NAME: usize = 64;
/// Longest placeholder: prefix, nonce, `~`, name, `~`, encoding, `~`.
pub const MAX_LEN: usize = PREFIX.len() + NONCE_HEX + 1 + MAX_NAME + 3;

/// How a secret is written where its placeholder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Raw,
    Url,
    Json,
}

impl Encoding {
    fn letter(self) -> u8 {
        match self {
            Encoding::Raw => b'r',
            Encoding::Url => b'u',
            Encoding::Json => b'j',
        }
    }

    fn from_letter(letter: u8) -> Option<Self> {
        match letter {
            b'r' => Some(Encoding::Raw),
            b'u' => Some(Encoding::Url),
            b'j' => Some(Encoding::Json),
            _ => None,
        }
    }

    fn encode(self, value: &str) -> String {
        match self {
            Encoding::Raw => value.to_string(),
            Encoding::Url => percent_encode(value),
            Encoding::Json => {
                let quoted = serde_json::to_string(value).unwrap_or_default();
                quoted[1..quoted.len() - 1].to_string()
            }
        }
    }
}

/// Why a request carrying a placeholder is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// The placeholders of one store: its nonce and the secrets they may stand for.
#[derive(Debug)]
pub struct Placeholders {
    /// `~dhs~<nonce>~`
    head: Vec<u8>,
    constants: Arc<Constants>,
    /// Whether the component asked for any: until it did, no request can carry one, and
    /// the hook does not scan.
    issued: AtomicBool,
}

impl Placeholders {
    pub fn new(constants: Arc<Constants>) -> Self {
        let nonce = crate::sandbox::files::hex(&crate::sandbox::files::random_bytes::<16>());
        let mut head = PREFIX.to_vec();
        head.extend_from_slice(nonce.as_bytes());
        head.push(b'~');
        Placeholders {
            head,
            constants,
            issued: AtomicBool::new(false),
        }
    }

    /// The placeholder for a secret this integration holds, or `None`.
    pub fn placeholder(&self, name: &str, encoding: Encoding) -> Option<String> {
        let held =
            name.len() <= MAX_NAME && self.constants.is_secret(name) && self.constants.is_set(name);
        if !held {
            return None;
        }
        self.issued.store(true, Ordering::SeqCst);
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        out.push_str(name);
        out.push('~');
        out.push(encoding.letter() as char);
        out.push('~');
        Some(out)
    }

    /// Whether any placeholder was handed out in this store.
    pub fn active(&self) -> bool {
        self.issued.load(Ordering::SeqCst)
    }

    /// Whether `text` carries a placeholder of this store.
    pub fn contains(&self, text: &[u8]) -> bool {
        self.active() && find(text, &self.head).is_some()
    }

    fn value(&self, name: &str) -> Result<&str, Refusal> {
        if !self.constants.is_secret(name) {
            return Err(Refusal(format!(
                "a placeholder names {name}, which this integration does not hold as a secret"
            )));
        }
        self.constants
            .value(name)
            .ok_or_else(|| Refusal(format!("a placeholder names {name}, which is not set")))
    }

    fn classify(&self, s: &[u8]) -> Match {
        let head = &self.head;
        if s.len() < head.len() {
            return if head.starts_with(s) {
                Match::Partial
            } else {
                Match::No
            };
        }
        if !s.starts_with(head) {
            return Match::No;
        }
        let rest = &s[head.len()..];
        let name_len = rest
            .iter()
            .take(MAX_NAME + 1)
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if name_len > MAX_NAME {
            return Match::Bad("a placeholder's name is too long".into());
        }
        if name_len == rest.len() {
            return Match::Partial;
        }
        if name_len == 0 || rest[name_len] != b'~' {
            return Match::Bad("a malformed placeholder".into());
        }
        let tail = &rest[name_len + 1..];
        match tail {
            [] => Match::Partial,
            [letter] if Encoding::from_letter(*letter).is_some() => Match::Partial,
            [letter, b'~', ..] => match Encoding::from_letter(*letter) {
                Some(encoding) => Match::Full {
                    name: String::from_utf8_lossy(&rest[..name_len]).into_owned(),
                    encoding,
                    len: head.len() + name_len + 3,
                },
                None => Match::Bad("a placeholder with an unknown encoding".into()),
            },
            _ => Match::Bad("a malformed placeholder".into()),
        }
    }

    /// `text` with every placeholder replaced.
    pub fn substitute(&self, text: &[u8]) -> Result<Vec<u8>, Refusal> {
        let mut streamer = Streamer::default();
        let mut out = streamer.push(self, text)?;
        out.extend(streamer.finish(self)?);
        Ok(out)
    }

    /// `text` with every placeholder replaced, as a string (headers, paths).
    pub fn substitute_str(&self, text: &str) -> Result<String, Refusal> {
        let out = self.substitute(text.as_bytes())?;
        String::from_utf8(out).map_err(|_| Refusal("a substituted value is not UTF-8".into()))
    }
}

enum Match {
    Full {
        name: String,
        encoding: Encoding,
        len: usize,
    },
    /// Could be a placeholder once more bytes arrive.
    Partial,
    No,
    /// Carries this store's nonce but is not a valid placeholder.
    Bad(String),
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Substitutes placeholders in a body that arrives in chunks. It holds back only a tail
/// that may be the start of a placeholder, so never more than [`MAX_LEN`] bytes.
#[derive(Debug, Default)]
pub struct Streamer {
    carry: Vec<u8>,
}

impl Streamer {
    /// Takes the next chunk; returns what can be sent now.
    pub fn push(&mut self, placeholders: &Placeholders, chunk: &[u8]) -> Result<Vec<u8>, Refusal> {
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        while i < buf.len() {
            let Some(offset) = buf[i..].iter().position(|b| *b == b'~') else {
                out.extend_from_slice(&buf[i..]);
                break;
            };
            out.extend_from_slice(&buf[i..i + offset]);
            i += offset;
            match placeholders.classify(&buf[i..]) {
                Match::Full {
                    name,
                    encoding,
                    len,
                } => {
                    out.extend_from_slice(encoding.encode(placeholders.value(&name)?).as_bytes());
                    i += len;
                }
                Match::Partial => {
                    self.carry = buf[i..].to_vec();
                    debug_assert!(self.carry.len() < MAX_LEN);
                    break;
                }
                Match::No => {
                    out.push(b'~');
                    i += 1;
                }
                Match::Bad(why) => return Err(Refusal(why)),
            }
        }
        Ok(out)
    }

    /// The end of the body: what was held back is sent as is, unless it is a cut-off
    /// placeholder.
    pub fn finish(self, placeholders: &Placeholders) -> Result<Vec<u8>, Refusal> {
        if self.carry.len() >= placeholders.head.len() {
            return Err(Refusal("the body ends inside a placeholder".into()));
        }
        Ok(self.carry)
    }

    /// Bytes held back right now (what the tests bound).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.carry.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{AuthScheme, ConstantSpec};
    use crate::sandbox::constants::OperatorInput;
    use std::collections::BTreeMap;

    fn placeholders() -> Placeholders {
        let spec = |name: &str, secret| ConstantSpec {
            name: name.into(),
            label: String::new(),
            description: String::new(),
            secret,
            required: false,
        };
        let specs = vec![spec("HASH", true), spec("USER", false), spec("UNSET", true)];
        let table: BTreeMap<String, String> = [
            ("HASH".to_string(), "s3c&r\"et/1".to_string()),
            ("USER".to_string(), "admin".to_string()),
        ]
        .into();
        let (constants, _) = Constants::resolve(
            &specs,
            &[] as &[AuthScheme],
            OperatorInput {
                configured: &table,
                env: &[],
                secrets: &[],
            },
            |_| None,
        )
        .unwrap();
        Placeholders::new(Arc::new(constants))
    }

    #[test]
    fn placeholders_only_for_held_secrets() {
        let p = placeholders();
        assert!(!p.active());
        assert!(
            p.placeholder("USER", Encoding::Raw).is_none(),
            "not a secret"
        );
        assert!(p.placeholder("UNSET", Encoding::Raw).is_none(), "not set");
        assert!(
            p.placeholder("OTHER", Encoding::Raw).is_none(),
            "not declared"
        );
        let ph = p.placeholder("HASH", Encoding::Url).unwrap();
        assert!(p.active());
        assert!(ph.len() <= MAX_LEN);
        assert!(
            ph.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
            "{ph}"
        );
    }

    #[test]
    fn each_encoding_is_applied() {
        let p = placeholders();
        let form = format!(
            "user=admin&hash={}",
            p.placeholder("HASH", Encoding::Url).unwrap()
        );
        assert_eq!(
            p.substitute_str(&form).unwrap(),
            "user=admin&hash=s3c%26r%22et%2F1"
        );
        let json = format!(
            r#"{{"pass":"{}"}}"#,
            p.placeholder("HASH", Encoding::Json).unwrap()
        );
        assert_eq!(
            p.substitute_str(&json).unwrap(),
            r#"{"pass":"s3c&r\"et/1"}"#
        );
        let header = format!(
            "cpanel admin:{}",
            p.placeholder("HASH", Encoding::Raw).unwrap()
        );
        assert_eq!(
            p.substitute_str(&header).unwrap(),
            "cpanel admin:s3c&r\"et/1"
        );
    }

    #[test]
    fn a_placeholder_for_a_value_not_held_is_refused() {
        let p = placeholders();
        let own = p.placeholder("HASH", Encoding::Raw).unwrap();
        for forged in [
            own.replace("HASH", "USER"),
            own.replace("HASH", "WU_OTHER_KEY"),
        ] {
            let err = p.substitute_str(&forged).unwrap_err();
            assert!(err.0.contains("does not hold as a secret"), "{err:?}");
        }
        let err = p.substitute_str(&own.replace("~r~", "~x~")).unwrap_err();
        assert!(err.0.contains("unknown encoding"), "{err:?}");
    }

    #[test]
    fn other_text_and_other_nonces_pass_unchanged() {
        let p = placeholders();
        let _ = p.placeholder("HASH", Encoding::Raw);
        let text = "a ~ tilde, ~dhs~ and ~dhs~00000000000000000000000000000000~HASH~r~";
        assert_eq!(p.substitute_str(text).unwrap(), text);
    }

    #[test]
    fn a_placeholder_split_across_chunks_is_substituted() {
        let p = placeholders();
        let ph = p.placeholder("HASH", Encoding::Raw).unwrap();
        let body = format!("start {ph} middle {ph} end");
        let bytes = body.as_bytes();
        for size in [1, 2, 7, 40, 64, bytes.len()] {
            let mut streamer = Streamer::default();
            let mut out = Vec::new();
            for chunk in bytes.chunks(size) {
                out.extend(streamer.push(&p, chunk).unwrap());
                assert!(streamer.held() < MAX_LEN, "held {}", streamer.held());
            }
            out.extend(streamer.finish(&p).unwrap());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "start s3c&r\"et/1 middle s3c&r\"et/1 end",
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn a_body_cut_inside_a_placeholder_is_refused() {
        let p = placeholders();
        let ph = p.placeholder("HASH", Encoding::Raw).unwrap();
        let mut streamer = Streamer::default();
        assert!(
            streamer
                .push(&p, &ph.as_bytes()[..ph.len() - 3])
                .unwrap()
                .is_empty()
        );
        assert!(streamer.finish(&p).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A store whose secret `HASH` holds `secret`.
        fn holding(secret: &str) -> Placeholders {
            let specs = vec![ConstantSpec {
                name: "HASH".into(),
                label: String::new(),
                description: String::new(),
                secret: true,
                required: false,
            }];
            let table: BTreeMap<String, String> = [("HASH".to_string(), secret.to_string())].into();
            let (constants, _) = Constants::resolve(
                &specs,
                &[] as &[AuthScheme],
                OperatorInput {
                    configured: &table,
                    env: &[],
                    secrets: &[],
                },
                |_| None,
            )
            .unwrap();
            Placeholders::new(Arc::new(constants))
        }

        fn encoding() -> impl Strategy<Value = Encoding> {
            prop_oneof![
                Just(Encoding::Raw),
                Just(Encoding::Url),
                Just(Encoding::Json)
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            /// Text around placeholders comes out unchanged, each placeholder becomes the
            /// secret in its encoding, and a stream cut anywhere gives the same bytes
            /// while holding back less than one placeholder.
            #[test]
            fn substitution_replaces_exactly_the_placeholders(
                // A blank value counts as not set (constants.rs), so the secret holds at
                // least one visible character; spaces around it are kept as they are.
                secret in "[ -~]{0,20}[!-~][ -~]{0,19}",
                parts in prop::collection::vec(("[ -~]{0,30}", encoding()), 0..4),
                tail in "[ -~]{0,30}",
                cuts in prop::collection::vec(1usize..50, 1..10),
            ) {
                let p = holding(&secret);
                let mut text = String::new();
                let mut want = String::new();
                for (before, enc) in &parts {
                    text.push_str(before);
                    want.push_str(before);
                    text.push_str(&p.placeholder("HASH", *enc).unwrap());
                    want.push_str(&enc.encode(&secret));
                }
                text.push_str(&tail);
                want.push_str(&tail);
                let out = p.substitute(text.as_bytes()).unwrap();
                prop_assert_eq!(String::from_utf8_lossy(&out), want.as_str());
                let mut streamer = Streamer::default();
                let mut streamed = Vec::new();
                let mut rest = text.as_bytes();
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (chunk, after) = rest.split_at((*cut).min(rest.len()));
                    streamed.extend(streamer.push(&p, chunk).unwrap());
                    prop_assert!(streamer.held() < MAX_LEN);
                    rest = after;
                }
                streamed.extend(streamer.finish(&p).unwrap());
                prop_assert_eq!(streamed, out);
            }

            /// Another store's placeholder (another nonce) is not substituted: it is just
            /// text here, so the secret it names never comes out.
            #[test]
            fn another_stores_placeholder_is_not_substituted(
                secret in "[a-zA-Z0-9]{8,40}", enc in encoding(),
            ) {
                let ours = holding(&secret);
                let theirs = holding(&secret);
                ours.placeholder("HASH", enc).unwrap();
                let foreign = theirs.placeholder("HASH", enc).unwrap();
                let out = ours.substitute(foreign.as_bytes()).unwrap();
                prop_assert_eq!(out, foreign.as_bytes().to_vec());
            }
        }
    }
}
