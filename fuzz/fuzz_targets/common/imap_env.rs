//! What the IMAP session fuzz targets share: a data directory with one account
//! whose client key is registered (so a session logs in by PREAUTH and no password
//! hash runs per input), replaced every so many inputs, and sessions over it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gannet::auth::Authenticator;
use gannet::imap::Limits;
use gannet::imapserver::{Services, Session, Settings};
use gannet::store::{AuthDb, Store, TlsPubKey};
use gannet::tls::{ConnectionInfo, SpkiFingerprint};
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

/// The registered client key's fingerprint.
const CLIENT_KEY: [u8; 32] = [7; 32];

pub struct Env {
    dir: PathBuf,
    services: Services,
    inputs: u32,
}

static ENV: Mutex<Option<(Env, u32)>> = Mutex::new(None);

/// Runs `f` with the environment of this input.
pub fn with_env<T>(f: impl FnOnce(&Env) -> T) -> T {
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
    f(env_now)
}

fn env(generation: &mut u32) -> Env {
    *generation += 1;
    let dir = std::env::temp_dir().join(format!(
        "gannet-{}-{}-{generation}",
        env!("CARGO_BIN_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    AuthDb::open(&dir)
        .unwrap()
        .add_tls_pubkey(&TlsPubKey {
            fingerprint: CLIENT_KEY,
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

/// A session over `env`: logged in by the registered client key (TLS) when
/// `preauth`, else a plain connection offering STARTTLS.
pub fn session(env: &Env, preauth: bool) -> Session {
    let tls = preauth.then(|| ConnectionInfo {
        version: ProtocolVersion::TLSv1_3,
        cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        client_key: Some(SpkiFingerprint::from_bytes(CLIENT_KEY)),
        channel_binding: None,
    });
    let settings = Settings {
        hostname: "mail.example.org".into(),
        starttls: !preauth,
        // No password is ever checked: a login attempt is refused before hashing.
        plaintext_auth: false,
        limits: Limits::new(env.dir.join("tmp"), 64 * 1024),
        max_errors: 50,
        progress: gannet::imapserver::Progress::default(),
    };
    Session::new(
        settings,
        env.services.clone(),
        "192.0.2.1".parse().unwrap(),
        tls,
    )
}
