//! IMAP sessions after COMPRESS=DEFLATE (RFC 4978): a session logged in by PREAUTH (a
//! registered client certificate, so no password hash runs per input) turns on
//! compression, then gets arbitrary bytes in arbitrary pieces, either as they are
//! (DEFLATE data the fuzzer makes up: the inflater's error paths, and stored blocks
//! it finds) or deflated first by a client (arbitrary IMAP behind the inflater). No
//! input may panic, and every answer must inflate on its own (it ends with a sync
//! flush) to whole lines that end in CRLF.

#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
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
        "gannet-fuzz-imap-compress-{}-{generation}",
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

/// A session logged in by PREAUTH, with compression on.
fn compressed_session(env: &Env) -> Session {
    let tls = ConnectionInfo {
        version: ProtocolVersion::TLSv1_3,
        cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        client_key: Some(SpkiFingerprint::from_bytes([7; 32])),
        channel_binding: None,
    };
    let settings = Settings {
        hostname: "mail.example.org".into(),
        starttls: false,
        plaintext_auth: false,
        limits: Limits::new(env.dir.join("tmp"), 64 * 1024),
        max_errors: 50,
    };
    let mut session = Session::new(
        settings,
        env.services.clone(),
        "192.0.2.1".parse().unwrap(),
        Some(tls),
    );
    let greeting = session.greeting();
    assert!(greeting.starts_with(b"* PREAUTH"), "{greeting:?}");
    let (ok, action) = session.feed(b"z COMPRESS DEFLATE\r\n");
    assert_eq!(ok, b"z OK DEFLATE active\r\n");
    assert_eq!(action, Action::Continue);
    session
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split size, whether the input is deflated first, and
    // with which flush.
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
    let mut session = compressed_session(env_now);
    let mut client = Client::new();
    let deflated = control & 1 == 1;
    let flush = match control & 2 {
        0 => FlushCompress::Partial,
        _ => FlushCompress::Sync,
    };
    let chunk = usize::from(control >> 2).max(1);
    for piece in stream.chunks(chunk) {
        let wire = match deflated {
            true => client.deflate(piece, flush),
            false => piece.to_vec(),
        };
        let (out, action) = session.feed(&wire);
        client.check(&out);
        if matches!(action, Action::Close | Action::StartTls) {
            assert_eq!(action, Action::Close, "no STARTTLS under compression");
            return;
        }
    }
    client.check(&session.changes_arrived().0);
});

/// The client's side of the compressed connection.
struct Client {
    deflater: Compress,
    inflater: Decompress,
}

impl Client {
    fn new() -> Client {
        Client {
            deflater: Compress::new(Compression::default(), false),
            inflater: Decompress::new(false),
        }
    }

    fn deflate(&mut self, plain: &[u8], flush: FlushCompress) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 1024);
        self.deflater.compress_vec(plain, &mut out, flush).unwrap();
        out
    }

    /// An answer inflates whole, on its own, to lines that end in CRLF.
    fn check(&mut self, compressed: &[u8]) {
        if compressed.is_empty() {
            return;
        }
        assert!(
            compressed.ends_with(&[0, 0, 0xff, 0xff]),
            "answer not sync-flushed: {compressed:02x?}"
        );
        let mut plain = Vec::new();
        let mut rest = compressed;
        while !rest.is_empty() || plain.len() == plain.capacity() {
            plain.reserve(64 * 1024);
            let read = self.inflater.total_in();
            self.inflater
                .decompress_vec(rest, &mut plain, FlushDecompress::Sync)
                .expect("the server's DEFLATE stream inflates");
            rest = &rest[(self.inflater.total_in() - read) as usize..];
        }
        assert!(
            plain.ends_with(b"\r\n"),
            "output does not end in CRLF: {:?}",
            String::from_utf8_lossy(&plain)
        );
    }
}
