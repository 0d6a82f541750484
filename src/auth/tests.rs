//! The authenticator against a real auth database: logins by name and address,
//! every outcome, rate limiting and the login record.

use rustls::{CipherSuite, ProtocolVersion};

use super::*;
use crate::sasl::{ClientCredentials, ClientExchange};
use crate::tls::SpkiFingerprint;

const DOMAINS: &str = r#"
    [domains."example.org"]
    [domains."frozen.example"]
    login_disabled = "moving to a new server"
    [accounts.alice]
    domain = "example.org"
    destinations = ["alice", "a.smith@example.org"]
    [accounts.bob]
    domain = "example.org"
    destinations = ["bob"]
    login_disabled = "bob's account is being migrated"
    [accounts.carol]
    domain = "frozen.example"
    destinations = ["carol"]
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    auth: Authenticator,
}

fn fixture(max_failures: [u32; 3]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let domains: DomainsConfig = toml::from_str(DOMAINS).unwrap();
    let auth = Authenticator::new(dir.path(), &domains, max_failures, "mx.example.org").unwrap();
    for account in ["alice", "bob", "carol"] {
        auth.set_password(account, "correct horse").unwrap();
    }
    Fixture { _dir: dir, auth }
}

fn client(ip: &str) -> Client {
    Client {
        protocol: "submission",
        remote_ip: ip.parse().unwrap(),
        tls: None,
        key: None,
        user_agent: None,
    }
}

/// Runs a whole exchange with the crate's SASL client; the final outcome.
fn login(auth: &Authenticator, c: &Client, mech: Mechanism, user: &str, password: &str) -> Outcome {
    let credentials = ClientCredentials {
        username: user.to_string(),
        password: password.to_string(),
        authzid: None,
    };
    let binding = c.tls.as_ref().and_then(|t| t.channel_binding);
    let mut sasl = ClientExchange::new(
        mech,
        &credentials,
        binding.as_ref().map(|b| &b[..]),
        &NonceSource::Random,
    )
    .unwrap();
    let initial = sasl.initial_response();
    let (mut exchange, mut outcome) = auth.start(c, mech.name(), initial.as_deref());
    while let Outcome::Challenge(challenge) = &outcome {
        let answer = sasl.respond(challenge).unwrap();
        let exchange = exchange.as_mut().expect("open while challenging");
        outcome = auth.step(c, exchange, Response::Message(answer));
    }
    if let Outcome::Success {
        server_final: Some(v),
        ..
    } = &outcome
    {
        assert_eq!(
            sasl.respond(v).unwrap(),
            b"",
            "SCRAM's last answer is empty"
        );
        sasl.finish()
            .expect("the server proved it knows the credentials");
    }
    outcome
}

fn success(outcome: &Outcome) -> &Login {
    match outcome {
        Outcome::Success { login, .. } => login,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failure(outcome: Outcome) -> Failure {
    match outcome {
        Outcome::Failure(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn every_password_mechanism_logs_in_by_name_or_address() {
    let f = fixture([10, 50, 250]);
    let c = client("192.0.2.1");
    for mech in [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
    ] {
        for name in ["alice", "alice@example.org", "A.Smith@Example.ORG"] {
            let outcome = login(&f.auth, &c, mech, name, "correct horse");
            let l = success(&outcome);
            assert_eq!((l.account.as_str(), l.mechanism), ("alice", mech), "{name}");
        }
    }
}

#[test]
fn wrong_passwords_and_unknown_names_fail_alike_and_slow_down() {
    let f = fixture([10, 50, 250]);
    let c = client("192.0.2.1");
    let wrong = failure(login(&f.auth, &c, Mechanism::Plain, "alice", "wrong"));
    let unknown = failure(login(&f.auth, &c, Mechanism::Plain, "nobody", "wrong"));
    assert_eq!(wrong.message, unknown.message);
    assert_eq!(wrong.result, LoginResult::BadCredentials);
    assert!(unknown.delay > wrong.delay, "{unknown:?} after {wrong:?}");
    let scram = failure(login(&f.auth, &c, Mechanism::ScramSha256, "alice", "wrong"));
    assert_eq!(scram.message, "authentication failed");
}

#[test]
fn too_many_failures_lock_the_network_out_for_every_login() {
    let f = fixture([2, 3, 10]);
    let c = client("192.0.2.1");
    for _ in 0..2 {
        failure(login(&f.auth, &c, Mechanism::Plain, "alice", "wrong"));
    }
    let locked = failure(login(
        &f.auth,
        &c,
        Mechanism::Plain,
        "alice",
        "correct horse",
    ));
    assert_eq!(locked.result, LoginResult::RateLimited);
    assert!(locked.message.contains("too many failed authentications"));
    // A neighbour in the same /26 may still try, until the /26 is full too.
    let neighbour = client("192.0.2.2");
    success(&login(
        &f.auth,
        &neighbour,
        Mechanism::Plain,
        "alice",
        "correct horse",
    ));
    failure(login(
        &f.auth,
        &neighbour,
        Mechanism::Plain,
        "alice",
        "wrong",
    ));
    let locked = failure(login(
        &f.auth,
        &neighbour,
        Mechanism::Plain,
        "alice",
        "correct horse",
    ));
    assert_eq!(locked.result, LoginResult::RateLimited);
    success(&login(
        &f.auth,
        &client("198.51.100.1"),
        Mechanism::Plain,
        "alice",
        "correct horse",
    ));
}

#[test]
fn disabled_logins_show_their_message_after_a_correct_password() {
    let f = fixture([10, 50, 250]);
    let c = client("192.0.2.1");
    let bob = failure(login(&f.auth, &c, Mechanism::Plain, "bob", "correct horse"));
    assert_eq!(bob.result, LoginResult::Disabled);
    assert_eq!(bob.message, "bob's account is being migrated");
    let carol = failure(login(
        &f.auth,
        &c,
        Mechanism::ScramSha256,
        "carol@frozen.example",
        "correct horse",
    ));
    assert_eq!(carol.message, "moving to a new server");
    // A wrong password does not reveal that the account is disabled.
    let wrong = failure(login(&f.auth, &c, Mechanism::Plain, "bob", "wrong"));
    assert_eq!(wrong.message, "authentication failed");
}

#[test]
fn unknown_mechanisms_and_cancels_are_refused_plainly() {
    let f = fixture([10, 50, 250]);
    let c = client("192.0.2.1");
    let (exchange, outcome) = f.auth.start(&c, "DIGEST-MD5", None);
    assert!(exchange.is_none());
    assert_eq!(failure(outcome).message, "unknown mechanism \"DIGEST-MD5\"");
    let (exchange, outcome) = f.auth.start(&c, "SCRAM-SHA-256-PLUS", None);
    assert!(exchange.is_none(), "no TLS, no -PLUS");
    assert_eq!(failure(outcome).result, LoginResult::Malformed);
    let (exchange, outcome) = f.auth.start(&c, "login", None);
    assert_eq!(outcome, Outcome::Challenge(b"Username:".to_vec()));
    let cancelled = failure(f.auth.step(&c, &mut exchange.unwrap(), Response::Cancel));
    assert_eq!(cancelled.result, LoginResult::Cancelled);
    assert_eq!(cancelled.delay, Duration::ZERO);
}

#[test]
fn attempts_are_recorded_with_their_client() {
    let f = fixture([10, 50, 250]);
    let mut c = client("192.0.2.9");
    c.user_agent = Some("Thunderbird 140".into());
    success(&login(
        &f.auth,
        &c,
        Mechanism::Plain,
        "a.smith@example.org",
        "correct horse",
    ));
    failure(login(&f.auth, &c, Mechanism::Plain, "alice", "wrong"));
    failure(login(
        &f.auth,
        &c,
        Mechanism::Plain,
        "nobody@example.org",
        "wrong",
    ));
    let records = f.auth.db.lock().unwrap().login_records(None, 10).unwrap();
    let summary: Vec<(&str, Option<&str>, LoginResult)> = records
        .iter()
        .map(|r| {
            (
                r.attempt.login.as_str(),
                r.attempt.account.as_deref(),
                r.attempt.result,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("nobody@example.org", None, LoginResult::BadCredentials),
            ("alice", Some("alice"), LoginResult::BadCredentials),
            ("a.smith@example.org", Some("alice"), LoginResult::Success),
        ]
    );
    failure(login(&f.auth, &c, Mechanism::Plain, "alice", "wrong"));
    let records = f
        .auth
        .db
        .lock()
        .unwrap()
        .login_records(Some("alice"), 10)
        .unwrap();
    assert_eq!(
        records[0].count, 2,
        "identical attempts are counted in one record"
    );
    assert!(
        records
            .iter()
            .all(|r| r.attempt.user_agent.as_deref() == Some("Thunderbird 140"))
    );
    assert!(records.iter().all(|r| r.attempt.protocol == "submission"));
}

/// Alice's phone's key, registered to log in as alice@example.org.
pub(crate) fn alices_phone(fingerprint: SpkiFingerprint) -> TlsPubKey {
    TlsPubKey {
        fingerprint: *fingerprint.as_bytes(),
        account: "alice".into(),
        login_address: "alice@example.org".into(),
        name: "phone".into(),
        no_imap_preauth: false,
        created: 0,
    }
}

/// A client on TLS 1.3, with the registration of its certificate's key looked up
/// as protocols do.
fn tls_client(
    auth: &Authenticator,
    key: Option<SpkiFingerprint>,
    binding: Option<[u8; 32]>,
) -> Client {
    let info = ConnectionInfo {
        version: ProtocolVersion::TLSv1_3,
        cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        client_key: key,
        channel_binding: binding,
    };
    Client {
        key: auth.registered_key(&info),
        tls: Some(info),
        ..client("192.0.2.1")
    }
}

#[test]
fn a_registered_client_key_logs_in_and_offers_external() {
    let f = fixture([10, 50, 250]);
    let fingerprint = SpkiFingerprint::of_spki(b"a public key");
    f.auth
        .db
        .lock()
        .unwrap()
        .add_tls_pubkey(&alices_phone(fingerprint))
        .unwrap();
    let c = tls_client(&f.auth, Some(fingerprint), Some([1; 32]));
    let offered = f.auth.offered(&c);
    assert_eq!(offered[0], Mechanism::External);
    assert!(offered.contains(&Mechanism::ScramSha256Plus));
    let (l, key) = f.auth.client_key_login(&c).unwrap();
    assert_eq!((l.account.as_str(), key.name.as_str()), ("alice", "phone"));
    let outcome = login(&f.auth, &c, Mechanism::External, "", "");
    assert_eq!(success(&outcome).name, "alice@example.org");
    // SCRAM-PLUS binds to this connection's exporter.
    success(&login(
        &f.auth,
        &c,
        Mechanism::ScramSha256Plus,
        "alice",
        "correct horse",
    ));

    let stranger = tls_client(
        &f.auth,
        Some(SpkiFingerprint::of_spki(b"another key")),
        None,
    );
    assert!(f.auth.client_key_login(&stranger).is_none());
    assert!(!f.auth.offered(&stranger).contains(&Mechanism::External));
}

/// Exchanges opened before any failure cannot all guess: each answer reserves a
/// failure first, so the limit holds across connections.
#[test]
fn open_exchanges_cannot_guess_past_the_limit() {
    let f = fixture([10, 50, 250]);
    let c = client("192.0.2.1");
    let mut open: Vec<Exchange> = (0..20)
        .map(|_| {
            let (exchange, outcome) = f.auth.start(&c, "LOGIN", Some(b"alice"));
            assert_eq!(outcome, Outcome::Challenge(b"Password:".to_vec()));
            exchange.unwrap()
        })
        .collect();
    let results: Vec<LoginResult> = open
        .iter_mut()
        .map(|e| failure(f.auth.step(&c, e, Response::Message(b"guess".to_vec()))).result)
        .collect();
    let count = |r: LoginResult| results.iter().filter(|&&x| x == r).count();
    assert_eq!(count(LoginResult::BadCredentials), 10, "{results:?}");
    assert_eq!(count(LoginResult::RateLimited), 10, "{results:?}");
}

/// After failures, a success waits as long as a failure would: the delay does
/// not give the verdict away.
#[test]
fn success_and_failure_wait_alike() {
    let f = fixture([10, 50, 250]);
    let c = client("192.0.2.1");
    for _ in 0..3 {
        failure(login(&f.auth, &c, Mechanism::Plain, "alice", "wrong"));
    }
    let wrong = failure(login(&f.auth, &c, Mechanism::Plain, "alice", "wrong"));
    let right = login(&f.auth, &c, Mechanism::Plain, "alice", "correct horse");
    let Outcome::Success { delay, .. } = right else {
        panic!("{right:?}")
    };
    assert_eq!(
        wrong.delay,
        Duration::from_millis(750),
        "three failures before"
    );
    assert_eq!(delay, Duration::from_millis(1000), "four failures before");
}

/// Giving up after SCRAM looked the name up (to learn its salt) is a probe and
/// counts; giving up before that does not.
#[test]
fn cancelling_after_a_lookup_counts_as_a_failure() {
    let f = fixture([2, 50, 250]);
    let c = client("192.0.2.1");
    for _ in 0..5 {
        let (exchange, _) = f.auth.start(&c, "LOGIN", None);
        failure(f.auth.step(&c, &mut exchange.unwrap(), Response::Cancel));
    }
    success(&login(
        &f.auth,
        &c,
        Mechanism::Plain,
        "alice",
        "correct horse",
    ));
    let credentials = crate::sasl::ClientCredentials {
        username: "alice".into(),
        password: "whatever".into(),
        authzid: None,
    };
    for _ in 0..2 {
        let mut sasl = ClientExchange::new(
            Mechanism::ScramSha256,
            &credentials,
            None,
            &NonceSource::Random,
        )
        .unwrap();
        let first = sasl.initial_response().unwrap();
        let (exchange, outcome) = f.auth.start(&c, "SCRAM-SHA-256", Some(&first));
        assert!(matches!(outcome, Outcome::Challenge(_)));
        failure(f.auth.step(&c, &mut exchange.unwrap(), Response::Cancel));
    }
    let locked = failure(login(
        &f.auth,
        &c,
        Mechanism::Plain,
        "alice",
        "correct horse",
    ));
    assert_eq!(locked.result, LoginResult::RateLimited);
}

#[test]
fn open_logins_make_an_account_per_local_part_at_their_domain_only() {
    let dir = tempfile::tempdir().unwrap();
    let domains: DomainsConfig = toml::from_str(DOMAINS).unwrap();
    let localhost = Domain::parse("localhost", Leniencies::PEDANTIC).unwrap();
    let auth = Authenticator::new(dir.path(), &domains, [100, 100, 100], "localhost")
        .unwrap()
        .with_open_logins(&localhost, "shared secret")
        .unwrap();
    auth.set_password("alice", "correct horse").unwrap();
    let c = client("127.0.0.1");
    assert!(!auth.has_account("dave"));
    for mech in [Mechanism::Plain, Mechanism::CramMd5, Mechanism::ScramSha256] {
        let outcome = login(&auth, &c, mech, "Dave@localhost", "shared secret");
        assert_eq!(success(&outcome).account, "dave", "{mech:?}");
    }
    assert!(auth.has_account("dave"), "made at the first login");
    assert!(auth.has_account("alice"), "configured");
    let refused = [
        ("dave@localhost", "wrong"),
        ("erin@example.org", "shared secret"),
        ("alice@example.org", "shared secret"),
        (".hidden@localhost", "shared secret"),
        ("../etc@localhost", "shared secret"),
    ];
    for (name, password) in refused {
        let f = failure(login(&auth, &c, Mechanism::Plain, name, password));
        assert_eq!(f.result, LoginResult::BadCredentials, "{name}");
    }
    assert!(!auth.has_account("erin"));
    auth.set_password("dave", "own password").unwrap();
    let f = failure(login(
        &auth,
        &c,
        Mechanism::Plain,
        "dave@localhost",
        "shared secret",
    ));
    assert_eq!(
        f.result,
        LoginResult::BadCredentials,
        "an own password wins"
    );
    success(&login(
        &auth,
        &c,
        Mechanism::Plain,
        "dave@localhost",
        "own password",
    ));
}
