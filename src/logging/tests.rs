use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Layer, SubscriberExt};

use super::filter::pkg;
use super::*;

/// An in-memory writer whose contents outlive the subscriber that owns a clone.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn at(level: Level) -> Settings {
    Settings {
        level,
        ..Settings::default()
    }
}

/// Runs `log` with a subscriber for `settings` and returns what it wrote.
fn capture(settings: &Settings, log: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let subscriber = Registry::default().with(layer(settings, Box::new(buffer.clone())));
    tracing::subscriber::with_default(subscriber, log);
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn info_event_is_one_logfmt_line() {
    let out = capture(&Settings::default(), || {
        tracing::info!(target: "gannet::smtpserver::session", remote = "192.0.2.1", port = 25, tls = false, "connection accepted");
    });
    assert_eq!(
        out,
        "l=info m=\"connection accepted\" pkg=smtpserver remote=192.0.2.1 port=25 tls=false\n"
    );
}

#[test]
fn span_fields_precede_event_fields() {
    let out = capture(&Settings::default(), || {
        let conn = tracing::info_span!(target: "gannet::smtpserver", "conn", cid = "3f2a");
        let _conn = conn.enter();
        let cmd =
            tracing::info_span!(target: "gannet::smtpserver", "cmd", verb = tracing::field::Empty);
        let _cmd = cmd.enter();
        tracing::info!(target: "gannet::smtpserver", rcpts = 2, "before record");
        cmd.record("verb", "MAIL");
        tracing::info!(target: "gannet::smtpserver", rcpts = 3, "after record");
    });
    assert_eq!(
        out,
        "l=info m=\"before record\" pkg=smtpserver cid=3f2a rcpts=2\n\
         l=info m=\"after record\" pkg=smtpserver cid=3f2a verb=MAIL rcpts=3\n"
    );
}

#[test]
fn values_are_quoted_and_escaped_when_needed() {
    let out = capture(&Settings::default(), || {
        tracing::info!(
            target: "gannet",
            words = "two words",
            quote = "say \"hi\"",
            lines = "a\nb\r\tc",
            empty = "",
            pair = "k=v",
            esc = "\u{1b}[0m",
            path = "C:\\dir",
            "m with \"quotes\" and \\"
        );
    });
    assert_eq!(
        out,
        "l=info m=\"m with \\\"quotes\\\" and \\\\\" pkg=gannet words=\"two words\" \
         quote=\"say \\\"hi\\\"\" lines=\"a\\nb\\r\\tc\" empty=\"\" pair=\"k=v\" \
         esc=\"\\u{1b}[0m\" path=C:\\dir\n"
    );
}

#[test]
fn debug_and_display_values() {
    let out = capture(&Settings::default(), || {
        tracing::info!(target: "gannet", reply = ?Some(250), name = %"mx.example", "sent");
    });
    assert_eq!(
        out,
        "l=info m=\"sent\" pkg=gannet reply=Some(250) name=mx.example\n"
    );
}

#[test]
fn json_lines_parse_back() {
    let settings = Settings {
        format: Format::Json,
        ..Settings::default()
    };
    let out = capture(&settings, || {
        let conn = tracing::info_span!(target: "gannet::smtpserver", "conn", cid = "3f2a");
        let _conn = conn.enter();
        tracing::warn!(
            target: "gannet::smtpserver::session",
            line = "bad\n\"line\"",
            esc = "\u{1b}[0m",
            size = 12u64,
            delta = -3,
            ratio = 0.5,
            nan = f64::NAN,
            tls = true,
            "syntax error"
        );
    });
    assert!(out.starts_with(r#"{"l":"warn","m":"syntax error","pkg":"smtpserver","cid":"3f2a","#));
    assert!(out.ends_with("}\n") && out.lines().count() == 1);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        parsed,
        json!({
            "l": "warn", "m": "syntax error", "pkg": "smtpserver", "cid": "3f2a",
            "line": "bad\n\"line\"", "esc": "\u{1b}[0m", "size": 12, "delta": -3, "ratio": 0.5,
            "nan": "NaN", "tls": true,
        })
    );
}

#[test]
fn module_level_overrides_default() {
    let settings = Settings {
        modules: [("smtpserver".to_owned(), Level::Debug)].into(),
        ..at(Level::Info)
    };
    let out = capture(&settings, || {
        tracing::debug!(target: "gannet::smtpserver::session", "shown");
        tracing::debug!(target: "gannet::imapserver", "hidden");
        tracing::info!(target: "gannet::imapserver", "default level");
    });
    assert_eq!(
        out,
        "l=debug m=\"shown\" pkg=smtpserver\n\
         l=info m=\"default level\" pkg=imapserver\n"
    );
}

#[test]
fn module_level_can_be_quieter_than_default() {
    let settings = Settings {
        modules: [("rustls".to_owned(), Level::Warn)].into(),
        ..at(Level::Debug)
    };
    let out = capture(&settings, || {
        tracing::info!(target: "rustls::conn", "hidden");
        tracing::warn!(target: "rustls::conn", "shown");
        tracing::debug!(target: "gannet", "root");
    });
    assert_eq!(
        out,
        "l=warn m=\"shown\" pkg=rustls\nl=debug m=\"root\" pkg=gannet\n"
    );
}

#[test]
fn trace_auth_needs_traceauth() {
    let log = || {
        tracing::trace!(target: "gannet::smtpserver", line = "EHLO x", "recv");
        crate::trace_auth!(target: "gannet::smtpserver", line = "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "recv");
    };
    assert_eq!(
        capture(&at(Level::Trace), log),
        "l=trace m=\"recv\" pkg=smtpserver line=\"EHLO x\"\n"
    );
    assert_eq!(
        capture(&at(Level::Traceauth), log),
        "l=trace m=\"recv\" pkg=smtpserver line=\"EHLO x\"\n\
         l=traceauth m=\"recv\" pkg=smtpserver line=\"AUTH PLAIN AGFsaWNlAHNlY3JldA==\"\n"
    );
}

#[test]
fn trace_data_needs_tracedata() {
    let log = || crate::trace_data!(target: "gannet::smtpserver", bytes = 5, "Hello");
    assert_eq!(capture(&at(Level::Traceauth), log), "");
    assert_eq!(
        capture(&at(Level::Tracedata), log),
        "l=tracedata m=\"Hello\" pkg=smtpserver bytes=5\n"
    );
}

#[test]
fn marker_fields_are_not_printed() {
    let settings = Settings {
        format: Format::Json,
        ..at(Level::Tracedata)
    };
    let out = capture(&settings, || {
        crate::trace_auth!(target: "gannet", "auth");
        crate::trace_data!(target: "gannet", "data");
    });
    assert_eq!(
        out,
        "{\"l\":\"traceauth\",\"m\":\"auth\",\"pkg\":\"gannet\"}\n\
         {\"l\":\"tracedata\",\"m\":\"data\",\"pkg\":\"gannet\"}\n"
    );
}

#[test]
fn pkg_from_target() {
    assert_eq!(pkg("gannet::smtpserver::session"), "smtpserver");
    assert_eq!(pkg("gannet::address"), "address");
    assert_eq!(pkg("gannet"), "gannet");
    assert_eq!(pkg("rustls::conn"), "rustls");
    assert_eq!(pkg("rustls"), "rustls");
    let out = capture(&Settings::default(), || {
        tracing::info!(target: "gannet", "root");
        tracing::info!(target: "hickory_proto::udp", "foreign");
    });
    assert_eq!(
        out,
        "l=info m=\"root\" pkg=gannet\nl=info m=\"foreign\" pkg=hickory_proto\n"
    );
}

#[test]
fn level_names_in_config() {
    assert_eq!(
        serde_json::to_string(&Level::Traceauth).unwrap(),
        "\"traceauth\""
    );
    let level: Level = serde_json::from_str("\"tracedata\"").unwrap();
    assert_eq!(level, Level::Tracedata);
    assert!(serde_json::from_str::<Level>("\"TRACE\"").is_err());
    let format: Format = serde_json::from_str("\"json\"").unwrap();
    assert_eq!(format, Format::Json);
    assert!(Level::Info < Level::Debug && Level::Trace < Level::Traceauth);
    assert_eq!(Level::default(), Level::Info);
}

#[test]
fn max_level_hint_covers_every_module() {
    let hint = |settings: &Settings| {
        Layer::<Registry>::max_level_hint(&layer(settings, Box::new(io::sink())))
    };
    assert_eq!(hint(&Settings::default()), Some(LevelFilter::INFO));
    let settings = Settings {
        modules: [("smtpserver".to_owned(), Level::Traceauth)].into(),
        ..at(Level::Warn)
    };
    assert_eq!(hint(&settings), Some(LevelFilter::TRACE));
}

#[test]
fn init_fails_when_a_subscriber_is_installed() {
    // The first call may succeed; the second cannot. Level error keeps other tests quiet.
    let _ = init(&at(Level::Error));
    let err = init(&at(Level::Error)).unwrap_err();
    assert!(err.to_string().contains("already installed"), "{err}");
}
