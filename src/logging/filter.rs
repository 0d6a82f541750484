//! Which events and spans are written: their rank, their package, and the level
//! configured for that package.

use std::collections::BTreeMap;

use tracing::Metadata;
use tracing::level_filters::LevelFilter;

use super::{Level, Settings};

/// Field added by `trace_auth!`. Its name, spelled out in the macro, is part of the
/// callsite's metadata, so the rank is known before any value is recorded.
pub(super) const AUTH_MARKER: &str = "traceauth";
/// Field added by `trace_data!`.
pub(super) const DATA_MARKER: &str = "tracedata";

/// The static decision of what to write, from [`Settings`].
pub(super) struct Filter {
    default: Level,
    modules: BTreeMap<String, Level>,
}

impl Filter {
    pub(super) fn new(settings: &Settings) -> Filter {
        Filter {
            default: settings.level,
            modules: settings.modules.clone(),
        }
    }

    /// Depends on the metadata only, so the answer can be cached per callsite.
    pub(super) fn enabled(&self, meta: &Metadata<'_>) -> bool {
        rank(meta) <= self.level_for(pkg(meta.target()))
    }

    fn level_for(&self, pkg: &str) -> Level {
        self.modules.get(pkg).copied().unwrap_or(self.default)
    }

    /// The most verbose tracing level any package writes, so tracing's macros skip
    /// everything more verbose with a single comparison.
    pub(super) fn max_level(&self) -> LevelFilter {
        let most = self
            .modules
            .values()
            .copied()
            .fold(self.default, Level::max);
        match most {
            Level::Error => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Debug => LevelFilter::DEBUG,
            Level::Trace | Level::Traceauth | Level::Tracedata => LevelFilter::TRACE,
        }
    }
}

/// The level an event or span is written at: its tracing level, or for events
/// marked by `trace_auth!`/`trace_data!` the level of the marker.
pub(super) fn rank(meta: &Metadata<'_>) -> Level {
    if meta.is_event() {
        let fields = meta.fields();
        if fields.field(DATA_MARKER).is_some() {
            return Level::Tracedata;
        }
        if fields.field(AUTH_MARKER).is_some() {
            return Level::Traceauth;
        }
    }
    match *meta.level() {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::TRACE => Level::Trace,
    }
}

/// The package an event belongs to, from its target: our own module
/// (`gannet::smtpserver::session` is `smtpserver`), `gannet` for the crate root,
/// and the crate name for other crates (`rustls::conn` is `rustls`).
pub(super) fn pkg(target: &str) -> &str {
    let mut segments = target.split("::");
    let first = segments.next().unwrap_or(target);
    match (first, segments.next()) {
        ("gannet", Some(module)) => module,
        _ => first,
    }
}
