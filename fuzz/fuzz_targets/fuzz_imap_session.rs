//! Whole IMAP sessions against a real store: arbitrary bytes, delivered in
//! arbitrary pieces, either before login or logged in from the start (PREAUTH by a
//! registered client certificate, so no password hash runs per input). No input
//! may panic, and every response line must end in CRLF.

#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gannet::auth::Authenticator;
use gannet::imap::Limits;
use gannet::imapserver::{Action, Services, Session, Settings};
use gannet::store::{AuthDb, Store, TlsPubKey};
use gannet::tls::{ConnectionInfo, SpkiFingerprint};
use libfuzzer_sys::fuzz_target;
use rustls::{CipherSuite, ProtocolVersion};

const DOMAINS: &str = r#"
    [domains."example.org"]
    [accounts.alice]
    domain = "example.org"
    destinations = ["alice"]
"#;

/// Inputs run against one data directory before it is replaced, so mailboxes and
/// messages the inputs create do not pile up without end.
const INPUTS_PER_DIR: u32 = 500;

struct Env {
    dir: PathBuf,
    services: Services,
    inputs: u32,
}

fn env(generation: &mut u32) -> Env {
    *generation += 1;
    let dir = std::env::temp_dir().join(format!(
        "gannet-fuzz-imap-{}-{generation}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    AuthDb::open(&dir)
        .unwrap()
        .add_tls_pubkey(&TlsPubKey {
            fingerprint: [7; 32],
            account: "alice".into(),
            login_address: "alice@example.org".into(),
            name: "fuzzer".into(),
            no_imap_preauth: false,
            created: 0,
        })
        .unwrap();
    let domains = toml::from_str(DOMAINS).unwrap();
    let auth = Authenticator::new(&dir, &domains, [10, 50, 250], "mail.example.org").unwrap();
    let services = Services {
        store: Arc::new(Store::new(dir.clone())),
        authenticator: Arc::new(auth),
        recent: Arc::default(),
    };
    Env {
        dir,
        services,
        inputs: 0,
    }
}

static ENV: Mutex<Option<(Env, u32)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split size and whether the session is logged in.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let mut guard = ENV.lock().unwrap();
    let (env_now, generation) = guard.get_or_insert_with(|| {
        let mut g = 0;
        (env(&mut g), g)
    });
    if env_now.inputs >= INPUTS_PER_DIR {
        let _ = std::fs::remove_dir_all(&env_now.dir);
        *env_now = env(generation);
    }
    env_now.inputs += 1;
    let preauth = control & 1 == 1;
    let tls = preauth.then(|| ConnectionInfo {
        version: ProtocolVersion::TLSv1_3,
        cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        client_key: Some(SpkiFingerprint::from_bytes([7; 32])),
        channel_binding: None,
    });
    let settings = Settings {
        hostname: "mail.example.org".into(),
        starttls: !preauth,
        // No password is ever checked: a login attempt is refused before hashing.
        plaintext_auth: false,
        limits: Limits::new(env_now.dir.join("tmp"), 64 * 1024),
        max_errors: 50,
    };
    let mut session = Session::new(
        settings,
        env_now.services.clone(),
        "192.0.2.1".parse().unwrap(),
        tls,
    );
    check(&session.greeting());
    let chunk = usize::from(control >> 1).max(1);
    for piece in stream.chunks(chunk) {
        let (out, action) = session.feed(piece);
        check(&out);
        if matches!(action, Action::Close | Action::StartTls) {
            return;
        }
    }
    check(&session.changes_arrived().0);
});

/// Output is whole lines (literals included), each ending in CRLF.
fn check(out: &[u8]) {
    assert!(
        out.is_empty() || out.ends_with(b"\r\n"),
        "output does not end in CRLF: {:?}",
        String::from_utf8_lossy(out)
    );
}
