//! Arbitrary client messages to every SASL server mechanism in turn, and to the
//! base64 line decoders: no input may panic, and a success names a user (for
//! EXTERNAL, the certificate's identity).
//!
//! Input: the first byte picks the connection (bit 0: `tls-exporter` data, so
//! the -PLUS variants are offered; bit 1: a client certificate, so EXTERNAL is)
//! and whether the first message is an initial response (bit 2). The rest,
//! split at 0xFF bytes (never part of UTF-8 text), is the client's messages,
//! all of them fed even after the exchange ends.

#![no_main]

use std::sync::OnceLock;

use gannet::sasl::{
    Mechanism, NonceSource, ServerContext, ServerExchange, Step, StoredCredentials,
    decode_initial_response, decode_response,
};
use libfuzzer_sys::fuzz_target;

/// argon2id with the smallest parameters: the default ones would make every
/// PLAIN and LOGIN input take tens of milliseconds. The password is "pencil".
const CHEAP_ARGON2ID: &str =
    "$argon2id$v=19$m=8,t=1,p=1$ZnV6enNhbHRmdXp6c2FsdA$Zv90u4nV92QGwZErWzkVZiFcgZD2bc0MxiT8gl+IhCs";

/// Every name has password "pencil": an unknown name would cost a default-strength
/// argon2id check (the dummy that hides which users exist).
fn credentials() -> &'static StoredCredentials {
    static CREDENTIALS: OnceLock<StoredCredentials> = OnceLock::new();
    CREDENTIALS.get_or_init(|| {
        let derived = StoredCredentials::derive("pencil")
            .expect("a valid password")
            .to_text();
        let text: String = derived
            .lines()
            .map(|line| match line.starts_with("argon2id ") {
                true => format!("argon2id {CHEAP_ARGON2ID}\n"),
                false => format!("{line}\n"),
            })
            .collect();
        StoredCredentials::from_text(&text).expect("valid credentials text")
    })
}

fn lookup(_: &str) -> Option<StoredCredentials> {
    Some(credentials().clone())
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let context = ServerContext {
        channel_binding: (flags & 1 != 0).then(|| b"fuzz binding".to_vec()),
        external_identity: (flags & 2 != 0).then(|| "user".to_owned()),
        hostname: "fuzz.example".to_owned(),
        nonces: NonceSource::Fixed("fuzznonce".to_owned()),
        ..ServerContext::default()
    };
    let messages: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    for mechanism in Mechanism::ALL {
        let Ok(mut exchange) = ServerExchange::new(mechanism, &context) else {
            assert!(
                !context.offered().contains(&mechanism),
                "{mechanism} is offered"
            );
            continue;
        };
        let mut messages = messages.iter().copied();
        let initial = match flags & 4 != 0 {
            true => messages.next(),
            false => None,
        };
        let mut results = vec![exchange.start(initial, &lookup)];
        results.extend(messages.map(|message| exchange.step(message, &lookup)));
        for result in results {
            if let Ok(Step::Done { authcid, .. }) = result {
                assert!(!authcid.is_empty(), "{mechanism} authenticated no one");
                if mechanism == Mechanism::External {
                    assert_eq!(authcid, "user", "EXTERNAL is the certificate's identity");
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = decode_initial_response(text);
        let _ = decode_response(text);
    }
});
