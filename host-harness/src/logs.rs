//! Each integration's log: what its component logged, what it wrote to stderr, and what
//! the host decided about it (denied requests, retries). Every line is redacted before it
//! is kept, printed or written.

use crate::credentials::Redactor;
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

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

/// Where log lines go besides the report.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Lines at or above this level are echoed to the host's stderr.
    pub echo_level: Option<Level>,
    /// `<dir>/integration-<id>.log`, as the PHP plugin's `wu-logs/`.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct IntegrationLog {
    id: String,
    redactor: Redactor,
    settings: LogSettings,
    lines: Arc<Mutex<Vec<LogLine>>>,
    /// `integration-<id>.log`, opened on the first line and shared by every event.
    file: Arc<Mutex<Option<std::fs::File>>>,
}

/// Most lines one integration may keep per event; a chatty or hostile component cannot
/// grow the host's memory without bound.
const MAX_LINES: usize = 1000;
const MAX_LINE_CHARS: usize = 2000;

impl IntegrationLog {
    pub fn new(id: &str, redactor: Redactor, settings: LogSettings) -> Self {
        IntegrationLog {
            id: id.to_string(),
            redactor,
            settings,
            lines: Arc::default(),
            file: Arc::default(),
        }
    }

    /// The same log for a new event: lines already kept belong to earlier events.
    pub fn for_event(&self) -> Self {
        IntegrationLog {
            lines: Arc::default(),
            ..self.clone()
        }
    }

    pub fn emit(&self, level: Level, message: &str) {
        let mut message = self.redactor.redact(message);
        if let Some((cut, _)) = message.char_indices().nth(MAX_LINE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        {
            let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
            if lines.len() >= MAX_LINES {
                return;
            }
            lines.push(LogLine {
                level,
                message: message.clone(),
            });
        }
        if self.settings.echo_level.is_some_and(|min| level >= min) {
            eprintln!(
                "[{}] {}: {}",
                self.id,
                level.as_str().to_lowercase(),
                message
            );
        }
        if let Some(dir) = &self.settings.dir {
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            if file.is_none() {
                *file = open_log(dir, &self.id).ok();
            }
            if let Some(file) = file.as_mut() {
                let _ = write_line(file, level, &message);
            }
        }
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}

fn open_log(dir: &PathBuf, id: &str) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("integration-{id}.log")))
}

fn write_line(file: &mut std::fs::File, level: Level, message: &str) -> std::io::Result<()> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    writeln!(file, "[{secs}] [{}] {message}", level.as_str())
}
