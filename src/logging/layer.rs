//! The tracing layer: keeps span fields and writes one line per enabled event.

use std::fmt::Debug;
use std::io::Write;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::filter::{AUTH_MARKER, DATA_MARKER, Filter, pkg, rank};
use super::format::{Line, Value};
use super::{Format, Settings};

/// Filters events by [`Settings`] and writes them, one line each, to a writer.
pub struct LogLayer {
    filter: Filter,
    format: Format,
    out: Mutex<Box<dyn Write + Send>>,
}

impl LogLayer {
    pub(super) fn new(settings: &Settings, writer: Box<dyn Write + Send>) -> LogLayer {
        LogLayer {
            filter: Filter::new(settings),
            format: settings.format,
            out: Mutex::new(writer),
        }
    }

    /// One `write_all` under the lock, so lines from concurrent sessions never interleave.
    fn write_line(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A log line that cannot be written (stderr closed) has nowhere to be reported.
        let _ = out.write_all(line.as_bytes());
        // Buffered writers must not hold lines back: the last lines before a crash matter most.
        let _ = out.flush();
    }
}

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // The settings never change, so the answer holds for the callsite's lifetime
        // and disabled callsites are skipped without calling `enabled`.
        if self.filter.enabled(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.filter.enabled(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.filter.max_level())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().replace(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<Fields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.take_message();
        let mut line = Line::start(self.format, rank(meta), &message, pkg(meta.target()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<Fields>() {
                    span_fields.write_to(&mut line);
                }
            }
        }
        fields.write_to(&mut line);
        self.write_line(&line.finish());
    }
}

/// The fields of a span or event in the order first recorded. A span's fields
/// live in its registry extensions, so every event inside it can print them.
#[derive(Default)]
struct Fields(Vec<(&'static str, Value)>);

impl Fields {
    /// Replaces a value recorded earlier, as `Span::record` on a span does.
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        // Markers only select the level; they say nothing to the reader.
        if name == AUTH_MARKER || name == DATA_MARKER {
            return;
        }
        match self.0.iter_mut().find(|(key, _)| *key == name) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((name, value)),
        }
    }

    /// Removes the event's message, which has its own place in the line.
    fn take_message(&mut self) -> String {
        let Some(index) = self.0.iter().position(|(key, _)| *key == "message") else {
            return String::new();
        };
        match self.0.remove(index).1 {
            Value::Str(s) => s,
            other => other.to_string(),
        }
    }

    fn write_to(&self, line: &mut Line) {
        for (key, value) in &self.0 {
            line.field(key, value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.put(field, Value::Str(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Str(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::U64(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
}
