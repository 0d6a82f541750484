//! Building one output line, as logfmt or as JSON.

use std::fmt::{self, Write as _};

use super::{Format, Level};

/// A recorded field value, kept typed so JSON writes numbers and bools as such.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::I64(n) => write!(f, "{n}"),
            Value::U64(n) => write!(f, "{n}"),
            Value::F64(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A line under construction: level, message and package first, then fields.
pub(super) struct Line {
    format: Format,
    buf: String,
}

impl Line {
    pub(super) fn start(format: Format, level: Level, message: &str, pkg: &str) -> Line {
        let mut line = Line {
            format,
            buf: String::with_capacity(160),
        };
        match format {
            Format::Logfmt => {
                line.logfmt_key("l");
                line.buf.push_str(level.name());
                line.logfmt_key("m");
                // Always quoted, so the message is easy to find whatever it contains.
                logfmt_quoted(&mut line.buf, message);
                line.logfmt_key("pkg");
                logfmt_text(&mut line.buf, pkg);
            }
            Format::Json => {
                line.buf.push('{');
                for (key, value) in [("l", level.name()), ("m", message), ("pkg", pkg)] {
                    line.json_key(key);
                    json_str(&mut line.buf, value);
                }
            }
        }
        line
    }

    pub(super) fn field(&mut self, key: &str, value: &Value) {
        match self.format {
            Format::Logfmt => {
                self.logfmt_key(key);
                match value {
                    Value::Str(s) => logfmt_text(&mut self.buf, s),
                    // Numbers and bools never need quoting.
                    other => push_display(&mut self.buf, other),
                }
            }
            Format::Json => {
                self.json_key(key);
                json_value(&mut self.buf, value);
            }
        }
    }

    /// The finished line, newline included.
    pub(super) fn finish(mut self) -> String {
        if self.format == Format::Json {
            self.buf.push('}');
        }
        self.buf.push('\n');
        self.buf
    }

    fn logfmt_key(&mut self, key: &str) {
        if !self.buf.is_empty() {
            self.buf.push(' ');
        }
        self.buf.push_str(key);
        self.buf.push('=');
    }

    fn json_key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        json_str(&mut self.buf, key);
        self.buf.push(':');
    }
}

fn push_display(buf: &mut String, value: impl fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(buf, "{value}");
}

/// Writes `s` bare when that is unambiguous, quoted otherwise.
fn logfmt_text(buf: &mut String, s: &str) {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control());
    if needs_quotes {
        logfmt_quoted(buf, s);
    } else {
        buf.push_str(s);
    }
}

/// Escapes control characters too, so a value can never break the line or
/// inject terminal escape sequences.
fn logfmt_quoted(buf: &mut String, s: &str) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if c.is_control() => push_display(buf, c.escape_unicode()),
            c => buf.push(c),
        }
    }
    buf.push('"');
}

fn json_value(buf: &mut String, value: &Value) {
    match value {
        Value::Str(s) => json_str(buf, s),
        // JSON has no NaN or infinity; write those as strings rather than invalid JSON.
        Value::F64(n) if !n.is_finite() => json_str(buf, &n.to_string()),
        // Rust's Display for finite floats never uses exponents, so it is valid JSON.
        other => push_display(buf, other),
    }
}

fn json_str(buf: &mut String, s: &str) {
    // serde_json escapes quotes, backslashes and control characters as JSON requires.
    buf.push_str(&serde_json::Value::from(s).to_string());
}
