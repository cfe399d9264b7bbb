//! Redaction: every text that leaves the host (report, notes, errors, logs, stderr, JSON)
//! and every response a panel sends a component passes through [`Secrets`], which knows
//! the secrets of every integration, in case a panel echoes a credential back.
//!
//! Each secret is searched in every form the host can recognise ([`forms`]): as is,
//! JSON-escaped once or twice (a JSON body echoed inside a JSON answer; also with `\/`, as
//! PHP writes it), and each of those percent-encoded (upper and lower hex, `+` for spaces,
//! `~` escaped or not), HTML-escaped, hex (upper and lower) and base64 (standard and
//! URL-safe, at each of the three alignments, so a secret inside a longer encoded text is
//! found too).
//! One Aho-Corasick automaton holds every form of every secret; it is rebuilt only when the
//! set changes. A session token has a [`SecretSlot`]: refreshing it replaces the old one
//! (kept one refresh longer, for answers to requests that carried it), so the set stays the
//! size of the configuration however long the service runs.
//!
//! [`StreamRedactor`] redacts a body that arrives in chunks, holding back fewer bytes than
//! the longest form, so a secret split across chunks is still caught.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

pub const REDACTED: &str = "[redacted]";

/// Shortest secret (and shortest form of one) redacted: shorter ones would redact ordinary
/// words, and secrets are never that short.
const MIN_LEN: usize = 4;

/// The secrets of every integration of a config, shared by everything that prints or
/// writes text, so one integration's credential echoed in another's output is redacted
/// too.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Values that stay for the life of the process (constants, credential headers).
    fixed: BTreeSet<String>,
    /// Replaceable values (session tokens), per slot: the current one and the one before.
    slots: BTreeMap<u64, Vec<String>>,
    next_slot: u64,
    /// Built from the values above; `None` when they changed since.
    matcher: Option<Arc<Matcher>>,
}

impl Secrets {
    /// Registers a secret value for as long as the process runs.
    pub fn add(&self, value: &str) {
        if value.len() < MIN_LEN {
            return;
        }
        let mut inner = self.write();
        if inner.fixed.insert(value.to_string()) {
            inner.matcher = None;
        }
    }

    /// A replaceable secret (a session token).
    pub fn slot(&self) -> SecretSlot {
        let mut inner = self.write();
        let id = inner.next_slot;
        inner.next_slot += 1;
        inner.slots.insert(id, Vec::new());
        SecretSlot {
            secrets: self.clone(),
            id,
        }
    }

    /// The matcher for the current set, built now if the set changed.
    pub fn matcher(&self) -> Arc<Matcher> {
        if let Some(m) = &self.inner.read().unwrap_or_else(|e| e.into_inner()).matcher {
            return m.clone();
        }
        let mut inner = self.write();
        if let Some(m) = &inner.matcher {
            return m.clone();
        }
        let values = inner
            .fixed
            .iter()
            .chain(inner.slots.values().flatten())
            .map(String::as_str);
        let matcher = Arc::new(Matcher::new(values));
        inner.matcher = Some(matcher.clone());
        matcher
    }

    pub fn redact(&self, text: &str) -> String {
        self.matcher().redact(text)
    }

    /// How many patterns the matcher searches (for tests: it must not grow with refreshes).
    pub fn pattern_count(&self) -> usize {
        self.matcher().patterns
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// One replaceable secret of [`Secrets`]; removed when dropped.
#[derive(Debug)]
pub struct SecretSlot {
    secrets: Secrets,
    id: u64,
}

impl SecretSlot {
    /// Makes `value` the slot's secret. The previous one stays one refresh longer (an
    /// answer to a request that carried it may still arrive); older ones are forgotten.
    pub fn replace(&self, value: &str) {
        let mut inner = self.secrets.write();
        let values = inner.slots.entry(self.id).or_default();
        if values.first().map(String::as_str) == Some(value) || value.len() < MIN_LEN {
            return;
        }
        values.insert(0, value.to_string());
        values.truncate(2);
        inner.matcher = None;
    }
}

impl Drop for SecretSlot {
    fn drop(&mut self) {
        let mut inner = self.secrets.write();
        if inner.slots.remove(&self.id).is_some_and(|v| !v.is_empty()) {
            inner.matcher = None;
        }
    }
}

/// Every form of every secret, in one automaton.
#[derive(Debug)]
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    /// The longest form: a stream holds back one byte less.
    max_len: usize,
    patterns: usize,
}

impl Matcher {
    fn new<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        let mut all: BTreeSet<Vec<u8>> = BTreeSet::new();
        for value in values {
            all.extend(forms(value));
        }
        let max_len = all.iter().map(Vec::len).max().unwrap_or(0);
        let patterns = all.len();
        let automaton = (!all.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&all)
                .expect("an automaton over a bounded set of secrets")
        });
        Matcher {
            automaton,
            max_len,
            patterns,
        }
    }

    pub fn redact(&self, text: &str) -> String {
        match &self.automaton {
            None => text.to_string(),
            Some(a) => a.replace_all(text, &vec![REDACTED; self.patterns]),
        }
    }

    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.automaton {
            None => bytes.to_vec(),
            Some(a) => a.replace_all_bytes(bytes, &vec![REDACTED.as_bytes(); self.patterns]),
        }
    }

    /// Whether there is any secret to look for.
    pub fn has_patterns(&self) -> bool {
        self.automaton.is_some()
    }

    /// Whether `bytes` carries any form of any secret.
    pub fn finds(&self, bytes: &[u8]) -> bool {
        self.automaton.as_ref().is_some_and(|a| a.is_match(bytes))
    }

    /// A redactor for a body that arrives in chunks.
    pub fn stream(self: &Arc<Self>) -> StreamRedactor {
        StreamRedactor {
            matcher: self.clone(),
            carry: Vec::new(),
        }
    }
}

/// Redacts a streamed body: what may be the start of a secret is held back (fewer bytes
/// than the longest form) until the next chunk says whether it is one.
#[derive(Debug)]
pub struct StreamRedactor {
    matcher: Arc<Matcher>,
    carry: Vec<u8>,
}

impl StreamRedactor {
    /// Takes the next chunk; returns what can be passed on now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(automaton) = &self.matcher.automaton else {
            return chunk.to_vec();
        };
        self.carry.extend_from_slice(chunk);
        let buf = std::mem::take(&mut self.carry);
        // A match starting before `safe` ends inside `buf`: forms are at most `max_len`
        // long. One starting later may still grow with the next chunk.
        let safe = buf.len().saturating_sub(self.matcher.max_len - 1);
        let mut out = Vec::with_capacity(buf.len());
        let mut done = 0;
        for m in automaton.find_iter(&buf) {
            if m.start() >= safe {
                break;
            }
            out.extend_from_slice(&buf[done..m.start()]);
            out.extend_from_slice(REDACTED.as_bytes());
            done = m.end();
        }
        let keep_from = done.max(safe);
        out.extend_from_slice(&buf[done..keep_from]);
        self.carry = buf[keep_from..].to_vec();
        out
    }

    /// The matcher this stream uses.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.matcher.clone()
    }

    /// The end of the body: what was held back, redacted.
    pub fn finish(self) -> Vec<u8> {
        self.matcher.redact_bytes(&self.carry)
    }

    /// Bytes held back right now (what the tests bound).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.carry.len()
    }
}

/// The forms of `value` a panel (or a proxy) may echo it in: the value, JSON-escaped,
/// and JSON-escaped twice (a request body echoed inside a JSON answer), each with and
/// without PHP's `\/`; and each of those as is, HTML-escaped, percent-encoded (upper and
/// lower hex, `+` for spaces, with or without the unreserved `-._~` escaped too), hex and
/// base64.
pub fn forms(value: &str) -> Vec<Vec<u8>> {
    if value.len() < MIN_LEN {
        return vec![];
    }
    let once = json_inner(value);
    let php_once = once.replace('/', "\\/");
    let twice = json_inner(&once);
    let bases = [
        value.to_string(),
        twice.replace('/', "\\/"),
        json_inner(&php_once),
        php_once,
        once,
        twice,
    ];
    let mut out: Vec<Vec<u8>> = Vec::new();
    for base in &bases {
        out.extend(encodings(base));
    }
    out.retain(|f| f.len() >= MIN_LEN);
    out.sort();
    out.dedup();
    out
}

/// The inside of a JSON string holding `value`.
fn json_inner(value: &str) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    json[1..json.len().saturating_sub(1).max(1)].to_string()
}

/// `text` as is and in every outer encoding the host recognises.
fn encodings(text: &str) -> Vec<Vec<u8>> {
    let raw = text.as_bytes();
    let mut out: Vec<Vec<u8>> = vec![raw.to_vec(), html_escape(text).into_bytes()];
    for upper in [percent_encode(text), percent_encode_all(text)] {
        out.push(upper.replace("%20", "+").into_bytes());
        let lower = lower_escapes(&upper);
        out.push(lower.replace("%20", "+").into_bytes());
        out.push(upper.into_bytes());
        out.push(lower.into_bytes());
    }
    let hex = crate::sandbox::files::hex(raw);
    out.push(hex.to_ascii_uppercase().into_bytes());
    out.push(hex.into_bytes());
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        for offset in 0..3 {
            out.push(base64_core(engine, raw, offset));
        }
    }
    out
}

/// The characters of a base64 text that depend on `raw` alone when `raw` starts `offset`
/// bytes into a 3-byte group: found whatever surrounds the secret in the encoded text.
fn base64_core(engine: &base64::engine::GeneralPurpose, raw: &[u8], offset: usize) -> Vec<u8> {
    let mut padded = vec![0u8; offset];
    padded.extend_from_slice(raw);
    let encoded = engine.encode(&padded);
    let first = (8 * offset).div_ceil(6);
    let last = (8 * (offset + raw.len())) / 6;
    encoded.as_bytes()[first..last.max(first)].to_vec()
}

fn html_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `%2F` → `%2f`.
fn lower_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut after_percent = 0;
    for c in encoded.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
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

/// Every byte but ASCII letters and digits escaped (`~` as `%7E` too), as some encoders do.
fn percent_encode_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() {
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
    use proptest::prelude::*;

    #[test]
    fn redaction_covers_json_and_url_forms() {
        let secrets = Secrets::default();
        secrets.add("p\"a&ss/w0rd");
        assert_eq!(
            secrets.redact(r#"{"pw":"p\"a&ss/w0rd"}"#),
            r#"{"pw":"[redacted]"}"#
        );
        assert_eq!(
            secrets.redact(r#"{"pw":"p\"a&ss\/w0rd"}"#),
            r#"{"pw":"[redacted]"}"#
        );
        assert_eq!(
            secrets.redact("pass=p%22a%26ss%2Fw0rd&x=1"),
            "pass=[redacted]&x=1"
        );
        assert_eq!(
            secrets.redact("pass=p%22a%26ss%2fw0rd&x=1"),
            "pass=[redacted]&x=1"
        );
        assert_eq!(
            secrets.redact("<b>p&quot;a&amp;ss/w0rd</b>"),
            "<b>[redacted]</b>"
        );
        secrets.add("abc");
        assert_eq!(secrets.redact("abc"), "abc", "too short to redact safely");
    }

    #[test]
    fn hex_and_base64_inside_longer_text_are_found() {
        let secrets = Secrets::default();
        secrets.add("hs-0123456789abcdef");
        for prefix in ["", "a", "ab", "user:"] {
            let whole = format!("{prefix}hs-0123456789abcdef and more");
            for encoded in [
                base64::engine::general_purpose::STANDARD.encode(&whole),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&whole),
                crate::sandbox::files::hex(whole.as_bytes()),
                crate::sandbox::files::hex(whole.as_bytes()).to_ascii_uppercase(),
            ] {
                assert!(
                    secrets.redact(&encoded).contains(REDACTED),
                    "{prefix:?}: {encoded}"
                );
            }
        }
    }

    #[test]
    fn a_refreshed_token_replaces_the_one_before_last() {
        let secrets = Secrets::default();
        secrets.add("a-fixed-secret");
        let slot = secrets.slot();
        slot.replace("token-number-0");
        let base = secrets.pattern_count();
        for i in 1..100 {
            slot.replace(&format!("token-number-{i}"));
        }
        // Current and previous only: the set does not grow with refreshes.
        assert!(
            secrets.pattern_count() <= base * 2,
            "{}",
            secrets.pattern_count()
        );
        assert_eq!(
            secrets.redact("token-number-99 token-number-98 token-number-97"),
            "[redacted] [redacted] token-number-97"
        );
        drop(slot);
        assert_eq!(secrets.redact("token-number-99"), "token-number-99");
        assert_eq!(secrets.redact("a-fixed-secret"), REDACTED);
    }

    /// Every encoding the host promises to recognise.
    fn promised(secret: &str, before: &str, after: &str) -> Vec<String> {
        let json = |s: &str| {
            let j = serde_json::to_string(s).unwrap();
            j[1..j.len() - 1].to_string()
        };
        let mut out = vec![];
        for inner in [
            secret.to_string(),
            json(secret),
            json(secret).replace('/', "\\/"),
            json(&json(secret)),
            json(&json(secret)).replace('/', "\\/"),
        ] {
            let whole = format!("{before}{inner}{after}");
            let pct = percent_encode(&inner);
            out.extend([
                pct.clone(),
                lower_escapes(&pct),
                pct.replace("%20", "+"),
                lower_escapes(&percent_encode_all(&inner)),
                html_escape(&inner),
                crate::sandbox::files::hex(inner.as_bytes()),
                crate::sandbox::files::hex(inner.as_bytes()).to_ascii_uppercase(),
                base64::engine::general_purpose::STANDARD.encode(&whole),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&whole),
                inner,
            ]);
        }
        out
    }

    /// What may be left of an encoded secret after redaction: at most the partial base64
    /// characters at its edges, never a run of it as long as the core.
    fn survives(secret: &str, output: &str) -> bool {
        forms(secret).iter().any(|f| {
            output
                .as_bytes()
                .windows(f.len())
                .any(|w| w == f.as_slice())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn no_secret_survives_any_promised_encoding(
            secret in "[ -~]{8,40}",
            before in "[ -~]{0,5}",
            after in "[ -~]{0,5}",
            text in "[ -~]{0,30}",
        ) {
            let secrets = Secrets::default();
            secrets.add(&secret);
            for encoded in promised(&secret, &before, &after) {
                let out = secrets.redact(&format!("{text}{encoded}{text}"));
                prop_assert!(!survives(&secret, &out), "{encoded:?} -> {out:?}");
                prop_assert!(!out.contains(&encoded), "{encoded:?} -> {out:?}");
                prop_assert!(!out.contains(&secret));
            }
        }

        #[test]
        fn no_secret_survives_a_stream_cut_anywhere(
            secret in "[!-~]{8,40}",
            text in "[ -~]{0,40}",
            cuts in proptest::collection::vec(1usize..20, 1..20),
        ) {
            let secrets = Secrets::default();
            secrets.add(&secret);
            let matcher = secrets.matcher();
            for encoded in promised(&secret, "", "") {
                let body = format!("{text}{encoded}{text}{encoded}");
                let mut stream = matcher.stream();
                let mut out = Vec::new();
                let mut rest = body.as_bytes();
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
                    out.extend(stream.push(chunk));
                    prop_assert!(stream.held() < matcher.max_len);
                    rest = tail;
                }
                out.extend(stream.finish());
                let out = String::from_utf8_lossy(&out).into_owned();
                // The stream redacts what the whole text redacts.
                prop_assert_eq!(&out, &matcher.redact(&body));
                prop_assert!(!survives(&secret, &out), "{encoded:?} -> {out:?}");
            }
        }
    }
}
