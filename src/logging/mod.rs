//! Logging: one line per event, logfmt by default or JSON, with a level per module.
//!
//! All code logs through `tracing`; this module installs the subscriber that decides
//! what is written and how. Besides tracing's five levels there are two more,
//! `traceauth` and `tracedata`, so operators can trace protocols without writing
//! passwords or mail to the log by default. Code marks such events with
//! [`trace_auth!`](crate::trace_auth) and [`trace_data!`](crate::trace_data).
//!
//! A logfmt line looks like
//! `l=info m="connection accepted" pkg=smtpserver cid=3f2a remote=192.0.2.1`:
//! the level, the message, the module the event comes from, the fields of the
//! enclosing spans (outermost first) and the event's own fields.

mod filter;
mod format;
mod layer;
#[cfg(test)]
mod tests;

pub use layer::LogLayer;

use std::collections::BTreeMap;
use std::io::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;

/// How much is logged, from least to most. Each level includes the ones before it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Failures that need an operator: a listener that cannot start, a store that cannot be written.
    Error,
    /// Problems the server works around: a misbehaving peer, a delivery that will be retried.
    Warn,
    /// Connections, deliveries and significant changes, one line each. The default.
    #[default]
    Info,
    /// Decisions and their reasons: policy results, queue scheduling.
    Debug,
    /// Protocol lines as sent and received, with credentials and message data left out.
    Trace,
    /// Like trace, and also protocol lines that carry credentials (AUTH, LOGIN). Never leave on in production.
    Traceauth,
    /// Like traceauth, and also message data (DATA, BDAT, APPEND, message bodies). Writes mail contents to the log.
    Tracedata,
}

impl Level {
    /// The name used in config files and in log lines.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
            Level::Traceauth => "traceauth",
            Level::Tracedata => "tracedata",
        }
    }
}

/// How each log line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `key=value` pairs on one line, easy to read and to grep. The default.
    #[default]
    Logfmt,
    /// One JSON object per line, for log collectors.
    Json,
}

/// What to log and how; built by the config module from the `[log]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Level for every module without an entry in `modules`.
    pub level: Level,
    pub format: Format,
    /// Level per module, keyed by a name from [`PACKAGES`] or another crate's name.
    pub modules: BTreeMap<String, Level>,
}

/// Module names that events are attributed to (the `pkg` of a log line), so the
/// config can reject unknown `[log.modules]` keys. `gannet` covers the crate root,
/// `cli` the command line. Each new module adds its name here.
pub const PACKAGES: &[&str] = &["gannet", "cli", "address", "config", "localserve", "store"];

/// Why the logger could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot install the logger: a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing::subscriber::SetGlobalDefaultError),
}

/// Installs the process-wide logger, writing to stderr. Call once, at startup.
///
/// # Errors
///
/// [`Error::AlreadyInstalled`] if a global subscriber was installed before.
pub fn init(settings: &Settings) -> Result<(), Error> {
    let subscriber = Registry::default().with(layer(settings, Box::new(std::io::stderr())));
    tracing::subscriber::set_global_default(subscriber).map_err(Error::AlreadyInstalled)
}

/// The layer that filters and writes events to `writer`; [`init`] puts it on a
/// [`Registry`], tests capture its output in memory.
pub fn layer(settings: &Settings, writer: Box<dyn Write + Send>) -> LogLayer {
    LogLayer::new(settings, writer)
}

/// Logs a TRACE event that carries credentials; written only at level `traceauth`
/// or higher. Takes the same arguments as `tracing::trace!`.
#[macro_export]
macro_rules! trace_auth {
    (target: $target:expr, $($arg:tt)+) => {
        ::tracing::trace!(target: $target, traceauth = true, $($arg)+)
    };
    ($($arg:tt)+) => {
        ::tracing::trace!(traceauth = true, $($arg)+)
    };
}

/// Logs a TRACE event that carries message data; written only at level `tracedata`.
/// Takes the same arguments as `tracing::trace!`.
#[macro_export]
macro_rules! trace_data {
    (target: $target:expr, $($arg:tt)+) => {
        ::tracing::trace!(target: $target, tracedata = true, $($arg)+)
    };
    ($($arg:tt)+) => {
        ::tracing::trace!(tracedata = true, $($arg)+)
    };
}
