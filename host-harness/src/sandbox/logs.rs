//! Each integration's log: what its component logged or printed, and what the host decided
//! about it (denied requests, attempts, limits).
//!
//! The two kinds of lines are kept apart on purpose. The host's own lines are always
//! kept, written and echoed; a component's lines are capped per event (one summary line
//! says how many were dropped) and its control characters and newlines are escaped, so a
//! chatty or hostile component can neither hide a denial nor forge a host line. Every line
//! is redacted with the secrets of all integrations, and goes to the file in one `write`.

use crate::sandbox::redaction::Secrets;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// Who wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Host,
    Component,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub level: Level,
    pub origin: Origin,
    pub message: String,
}

/// Where log lines go besides the report.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Lines at or above this level are echoed to the host's stderr.
    pub echo_level: Option<Level>,
    /// `<dir>/integration-<id>.log`, as the PHP plugin's `wu-logs/`. The directory is
    /// checked (private to this user) before the file is opened.
    pub dir: Option<PathBuf>,
    /// Component lines kept per event.
    pub max_component_lines: u32,
}

#[derive(Debug, Default)]
struct EventLines {
    lines: Vec<LogLine>,
    component_lines: u32,
    dropped: u32,
}

#[derive(Debug, Clone)]
pub struct IntegrationLog {
    id: String,
    secrets: Secrets,
    settings: LogSettings,
    event: Arc<Mutex<EventLines>>,
    /// `integration-<id>.log`, opened on the first line and shared by every event.
    file: Arc<Mutex<Option<std::fs::File>>>,
}

/// Longest message kept, so one line cannot grow the host's memory without bound.
const MAX_LINE_CHARS: usize = 2000;

impl IntegrationLog {
    pub fn new(id: &str, secrets: Secrets, settings: LogSettings) -> Self {
        IntegrationLog {
            id: id.to_string(),
            secrets,
            settings,
            event: Arc::default(),
            file: Arc::default(),
        }
    }

    /// The same log for a new event: lines already kept belong to earlier events.
    pub fn for_event(&self) -> Self {
        IntegrationLog {
            event: Arc::default(),
            ..self.clone()
        }
    }

    /// A line of the host's own: always kept, written and echoed.
    pub fn host(&self, level: Level, message: &str) {
        let message = truncate(self.secrets.redact(message));
        self.event
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lines
            .push(LogLine {
                level,
                origin: Origin::Host,
                message: message.clone(),
            });
        self.write(level, Origin::Host, &message);
    }

    /// A line from the component (its `log` import or its stdout/stderr): escaped, and
    /// capped per event.
    pub fn component(&self, level: Level, message: &str) {
        let message = truncate(self.secrets.redact(&escape(message)));
        {
            let mut event = self.event.lock().unwrap_or_else(|e| e.into_inner());
            if event.component_lines >= self.settings.max_component_lines {
                event.dropped += 1;
                return;
            }
            event.component_lines += 1;
            event.lines.push(LogLine {
                level,
                origin: Origin::Component,
                message: message.clone(),
            });
        }
        self.write(level, Origin::Component, &message);
    }

    /// Ends an event: says how many component lines were dropped, if any.
    pub fn finish_event(&self) {
        let dropped =
            std::mem::take(&mut self.event.lock().unwrap_or_else(|e| e.into_inner()).dropped);
        if dropped > 0 {
            self.host(
                Level::Warn,
                &format!(
                    "{dropped} more component log line(s) dropped (limit {} per event)",
                    self.settings.max_component_lines
                ),
            );
        }
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.event
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lines
            .clone()
    }

    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    fn write(&self, level: Level, origin: Origin, message: &str) {
        let tag = match origin {
            Origin::Host => "",
            Origin::Component => " (component)",
        };
        if self.settings.echo_level.is_some_and(|min| level >= min) {
            let line = format!(
                "[{}] {}{tag}: {message}\n",
                self.id,
                level.as_str().to_lowercase()
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if let Some(dir) = &self.settings.dir {
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            if file.is_none() {
                *file = open_log(dir, &self.id).ok();
            }
            if let Some(file) = file.as_mut() {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let line = format!("[{secs}] [{}]{tag} {message}\n", level.as_str());
                // One write per line: with O_APPEND, lines of concurrent processes do
                // not interleave.
                let _ = file.write_all(line.as_bytes());
            }
        }
    }
}

fn open_log(dir: &std::path::Path, id: &str) -> anyhow::Result<std::fs::File> {
    crate::sandbox::files::private_dir(dir)?;
    Ok(crate::sandbox::files::open_append(
        &dir.join(format!("integration-{id}.log")),
        0o600,
    )?)
}

fn truncate(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(MAX_LINE_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// Newlines and other control characters as visible escapes, so component text stays on
/// one line and cannot imitate a line of the host's.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(max: u32) -> IntegrationLog {
        IntegrationLog::new(
            "x",
            Secrets::default(),
            LogSettings {
                echo_level: None,
                dir: None,
                max_component_lines: max,
            },
        )
    }

    #[test]
    fn component_lines_are_capped_and_host_lines_are_not() {
        let log = quiet(3);
        for i in 0..10 {
            log.component(Level::Info, &format!("chatter {i}"));
        }
        log.host(Level::Warn, "denied GET https://evil.example/");
        log.finish_event();
        let lines = log.lines();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[3].message, "denied GET https://evil.example/");
        assert_eq!(lines[3].origin, Origin::Host);
        assert_eq!(
            lines[4].message,
            "7 more component log line(s) dropped (limit 3 per event)"
        );
    }

    #[test]
    fn component_text_is_escaped_onto_one_line() {
        let log = quiet(10);
        log.component(Level::Info, "ok\n[1700000000] [WARN] forged\u{1b}[31m");
        assert_eq!(
            log.lines()[0].message,
            "ok\\n[1700000000] [WARN] forged\\u{1b}[31m"
        );
    }

    #[test]
    fn lines_are_redacted_with_every_integration_secret() {
        let secrets = Secrets::default();
        let log = IntegrationLog::new(
            "x",
            secrets.clone(),
            LogSettings {
                echo_level: None,
                dir: None,
                max_component_lines: 10,
            },
        );
        // Registered after the log was made, by another integration.
        secrets.add("other-panel-token");
        log.component(Level::Info, "saw other-panel-token");
        assert_eq!(log.lines()[0].message, "saw [redacted]");
    }
}
