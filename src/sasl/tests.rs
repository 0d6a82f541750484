//! Client against server for every mechanism, through the base64 lines the
//! protocols use: success, wrong password, unknown user, authzid, channel
//! binding (matching, mismatched, downgraded) and the exchange's life cycle.

use std::sync::OnceLock;

use super::*;

const BINDING: &[u8] = b"tls-exporter data of this connection";

fn alice() -> StoredCredentials {
    static ALICE: OnceLock<StoredCredentials> = OnceLock::new();
    ALICE
        .get_or_init(|| StoredCredentials::derive("correct horse").unwrap())
        .clone()
}

/// The accounts: "alice" only.
fn accounts(name: &str) -> Option<StoredCredentials> {
    (name == "alice").then(alice)
}

/// A TLS connection with binding data and a client certificate for alice.
fn context() -> ServerContext {
    ServerContext {
        channel_binding: Some(BINDING.to_vec()),
        external_identity: Some("alice".into()),
        hostname: "mail.example".into(),
        nonces: NonceSource::Random,
        secret: [1; 32],
    }
}

fn user(username: &str, password: &str, authzid: Option<&str>) -> ClientCredentials {
    ClientCredentials {
        username: username.into(),
        password: password.into(),
        authzid: authzid.map(Into::into),
    }
}

/// Runs a whole exchange, every message going through base64 as on the wire,
/// and returns the authcid and authzid the server settled on.
fn run(
    mechanism: Mechanism,
    context: &ServerContext,
    credentials: &ClientCredentials,
    binding: Option<&[u8]>,
    initial_response: bool,
) -> Result<(String, Option<String>), SaslError> {
    let mut server = ServerExchange::new(mechanism, context)?;
    let mut client = ClientExchange::new(mechanism, credentials, binding, &NonceSource::Random)?;
    let initial = match initial_response {
        true => client.initial_response(),
        false => None,
    };
    let initial = initial.map(|m| decode_initial_response(&encode_initial_response(&m)).unwrap());
    let mut step = server.start(initial.as_deref(), &accounts)?;
    for _ in 0..5 {
        match step {
            Step::Challenge(challenge) => {
                let challenge = wire(&encode_challenge(&challenge));
                let response = wire(&encode_challenge(&client.respond(&challenge)?));
                step = server.step(&response, &accounts)?;
            }
            Step::Done {
                authcid,
                authzid,
                server_final,
            } => {
                if let Some(server_final) = server_final {
                    assert_eq!(client.respond(&server_final)?, b"");
                }
                client.finish()?;
                return Ok((authcid, authzid));
            }
        }
    }
    panic!("{mechanism}: the exchange does not end");
}

fn wire(line: &str) -> Vec<u8> {
    match decode_response(line).unwrap() {
        Response::Message(message) => message,
        Response::Cancel => panic!("no cancel here"),
    }
}

/// What a client on this TLS connection passes: binding data for -PLUS only,
/// since it picks plain SCRAM only when -PLUS is not offered.
fn binding(mechanism: Mechanism) -> Option<&'static [u8]> {
    mechanism.scram().filter(|(_, plus)| *plus).map(|_| BINDING)
}

fn password_mechanisms() -> impl Iterator<Item = Mechanism> {
    Mechanism::ALL
        .into_iter()
        .filter(|m| *m != Mechanism::External)
}

fn done(authcid: &str, authzid: Option<&str>) -> Result<(String, Option<String>), SaslError> {
    Ok((authcid.into(), authzid.map(Into::into)))
}

#[test]
fn every_mechanism_authenticates_with_and_without_initial_response() {
    let alice = user("alice", "correct horse", None);
    for mechanism in password_mechanisms() {
        for initial in [true, false] {
            assert_eq!(
                run(mechanism, &context(), &alice, binding(mechanism), initial),
                done("alice", None),
                "{mechanism}, initial response {initial}"
            );
        }
    }
    for initial in [true, false] {
        let external = user("", "", None);
        assert_eq!(
            run(Mechanism::External, &context(), &external, None, initial),
            done("alice", None)
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    for mechanism in password_mechanisms() {
        for credentials in [
            user("alice", "wrong horse", None),
            user("bob", "correct horse", None),
            user("Alice", "correct horse", None),
        ] {
            assert_eq!(
                run(
                    mechanism,
                    &context(),
                    &credentials,
                    binding(mechanism),
                    true
                ),
                Err(SaslError::AuthenticationFailed),
                "{mechanism} {}",
                credentials.username
            );
        }
    }
}

#[test]
fn user_names_and_passwords_are_prepared() {
    let soft_hyphens = user("al\u{ad}ice", "correct\u{ad} horse", None);
    for mechanism in password_mechanisms() {
        assert_eq!(
            run(
                mechanism,
                &context(),
                &soft_hyphens,
                binding(mechanism),
                true
            ),
            done("alice", None),
            "{mechanism}"
        );
    }
    // The server prepares what it is sent, whatever the client did.
    let message = b"\0al\xc2\xadice\0correct horse";
    let mut server = ServerExchange::new(Mechanism::Plain, &context()).unwrap();
    assert!(matches!(
        server.start(Some(message), &accounts),
        Ok(Step::Done { .. })
    ));
}

#[test]
fn authzid_only_as_oneself() {
    let mechanisms = [
        Mechanism::Plain,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256Plus,
        Mechanism::External,
    ];
    for mechanism in mechanisms {
        let as_self = user("alice", "correct horse", Some("alice"));
        assert_eq!(
            run(mechanism, &context(), &as_self, binding(mechanism), true),
            done("alice", Some("alice")),
            "{mechanism}"
        );
        let as_other = user("alice", "correct horse", Some("bob"));
        assert_eq!(
            run(mechanism, &context(), &as_other, binding(mechanism), true),
            Err(SaslError::AuthzidNotPermitted),
            "{mechanism}"
        );
    }
}

#[test]
fn plus_binds_to_the_connection() {
    let alice = user("alice", "correct horse", None);
    for mechanism in [Mechanism::ScramSha1Plus, Mechanism::ScramSha256Plus] {
        assert_eq!(
            run(
                mechanism,
                &context(),
                &alice,
                Some(b"another connection"),
                true
            ),
            Err(SaslError::ChannelBinding(
                "the channel binding data is not this connection's"
            )),
            "{mechanism}"
        );
    }
}

#[test]
fn downgrade_from_plus_is_detected() {
    let alice = user("alice", "correct horse", None);
    for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        // The client could bind (it says "y") but the server did offer -PLUS:
        // someone removed it from the list.
        assert!(
            matches!(
                run(mechanism, &context(), &alice, Some(BINDING), true),
                Err(SaslError::ChannelBinding(_))
            ),
            "{mechanism}"
        );
        // Without TLS binding data on either side, "n" and "y" are fine.
        let plain = ServerContext::default();
        assert_eq!(
            run(mechanism, &plain, &alice, None, true),
            done("alice", None)
        );
        assert_eq!(
            run(mechanism, &plain, &alice, Some(BINDING), true),
            done("alice", None)
        );
        // A client without binding data says "n", fine even where -PLUS was offered.
        assert_eq!(
            run(mechanism, &context(), &alice, None, true),
            done("alice", None)
        );
    }
}

/// The salt and iteration count of the server-first-message for `name`.
fn salting(mechanism: Mechanism, context: &ServerContext, name: &str) -> (Vec<u8>, u32) {
    let mut server = ServerExchange::new(mechanism, context).unwrap();
    let first = format!("n,,n={name},r=abc");
    let Ok(Step::Challenge(server_first)) = server.start(Some(first.as_bytes()), &accounts) else {
        panic!("{mechanism}: a server-first-message for {name}");
    };
    let server_first = scram::ServerFirst::parse(std::str::from_utf8(&server_first).unwrap());
    let server_first = server_first.unwrap();
    (server_first.salt, server_first.iterations.get())
}

/// Unknown users get fake salts that look like real ones: a probe comparing
/// hashes, case variants or restarts must not tell which accounts exist.
#[test]
fn scram_fake_salts_reveal_no_accounts() {
    let context = context();
    let salt = |mechanism, name| salting(mechanism, &context, name).0;
    // Real users have one salt per hash; unknown users too.
    assert_ne!(
        salt(Mechanism::ScramSha1, "alice"),
        salt(Mechanism::ScramSha256, "alice")
    );
    assert_ne!(
        salt(Mechanism::ScramSha1, "nobody"),
        salt(Mechanism::ScramSha256, "nobody")
    );
    // Case variants, and names that prepare alike, get the same salt.
    for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        let nobody = salt(mechanism, "nobody");
        for variant in ["Nobody", "NOBODY", "no\u{ad}body"] {
            assert_eq!(salt(mechanism, variant), nobody, "{mechanism} {variant}");
        }
        assert_ne!(salt(mechanism, "somebody"), nobody, "{mechanism}");
    }
    // Same secret (as after a restart): same salt; another secret: another salt.
    let restarted = ServerContext {
        secret: context.secret,
        ..ServerContext::default()
    };
    let other_secret = ServerContext {
        secret: [2; 32],
        ..context.clone()
    };
    for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        let nobody = salt(mechanism, "nobody");
        assert_eq!(salting(mechanism, &restarted, "nobody").0, nobody);
        assert_ne!(salting(mechanism, &other_secret, "nobody").0, nobody);
        // Salt length and iteration count are those of real credentials.
        let (real_salt, real_iterations) = salting(mechanism, &context, "alice");
        let (fake_salt, fake_iterations) = salting(mechanism, &context, "nobody");
        assert_eq!(fake_salt.len(), real_salt.len(), "{mechanism}");
        assert_eq!(fake_iterations, real_iterations, "{mechanism}");
    }
}

#[test]
fn server_context_debug_leaves_the_secret_out() {
    let context = ServerContext {
        secret: [0xab; 32],
        ..ServerContext::default()
    };
    let debug = format!("{context:?}");
    assert!(
        !debug.contains("secret") && !debug.contains("171"),
        "{debug}"
    );
}

#[test]
fn binding_flags_must_fit_the_mechanism() {
    let cases = [
        (Mechanism::ScramSha256, "p=tls-exporter,,n=alice,r=abc"),
        (Mechanism::ScramSha256Plus, "n,,n=alice,r=abc"),
        (Mechanism::ScramSha256Plus, "y,,n=alice,r=abc"),
        (Mechanism::ScramSha1Plus, "p=tls-unique,,n=alice,r=abc"),
    ];
    for (mechanism, message) in cases {
        let mut server = ServerExchange::new(mechanism, &context()).unwrap();
        assert!(
            matches!(
                server.start(Some(message.as_bytes()), &accounts),
                Err(SaslError::ChannelBinding(_))
            ),
            "{mechanism} {message}"
        );
    }
}

#[test]
fn mechanisms_need_what_the_connection_lacks() {
    let bare = ServerContext::default();
    for mechanism in [
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256Plus,
        Mechanism::External,
    ] {
        assert_eq!(
            ServerExchange::new(mechanism, &bare).err(),
            Some(SaslError::MechanismUnavailable(mechanism.name().into()))
        );
    }
    let alice = user("alice", "correct horse", None);
    assert!(matches!(
        ClientExchange::new(
            Mechanism::ScramSha256Plus,
            &alice,
            None,
            &NonceSource::Random
        ),
        Err(SaslError::MechanismUnavailable(_))
    ));
    assert_eq!(
        ClientExchange::new(
            Mechanism::Plain,
            &user("alice", "", None),
            None,
            &NonceSource::Random
        )
        .err(),
        Some(SaslError::Unpreparable("the password"))
    );
}

#[test]
fn cram_md5_rfc_2195_example_against_the_server() {
    let context = ServerContext {
        hostname: "postoffice.reston.mci.net".into(),
        nonces: NonceSource::Fixed("1896.697170952".into()),
        ..ServerContext::default()
    };
    let tim = StoredCredentials::derive("tanstaaftanstaaf").unwrap();
    let lookup = |name: &str| (name == "tim").then(|| tim.clone());
    let mut server = ServerExchange::new(Mechanism::CramMd5, &context).unwrap();
    let challenge = server.start(None, &lookup).unwrap();
    assert_eq!(
        challenge,
        Step::Challenge(b"<1896.697170952@postoffice.reston.mci.net>".to_vec())
    );
    assert_eq!(
        encode_challenge(b"<1896.697170952@postoffice.reston.mci.net>"),
        "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
    );
    let response = wire("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    assert_eq!(response, b"tim b913a602c7eda7a495b4e6e7334d3890");
    assert_eq!(
        server.step(&response, &lookup),
        Ok(Step::Done {
            authcid: "tim".into(),
            authzid: None,
            server_final: None
        })
    );
}

#[test]
fn cram_md5_takes_no_initial_response() {
    let mut server = ServerExchange::new(Mechanism::CramMd5, &context()).unwrap();
    assert!(matches!(
        server.start(Some(b""), &accounts),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn scram_client_refuses_a_server_that_cannot_sign() {
    let alice = user("alice", "correct horse", None);
    let mut server =
        ServerExchange::new(Mechanism::ScramSha256, &ServerContext::default()).unwrap();
    let mut client =
        ClientExchange::new(Mechanism::ScramSha256, &alice, None, &NonceSource::Random).unwrap();
    let Ok(Step::Challenge(server_first)) =
        server.start(client.initial_response().as_deref(), &accounts)
    else {
        panic!("a server-first-message");
    };
    let client_final = client.respond(&server_first).unwrap();
    let Ok(Step::Done {
        server_final: Some(server_final),
        ..
    }) = server.step(&client_final, &accounts)
    else {
        panic!("success");
    };
    let forged = format!("v={}", encode_challenge(&[0; 32]));
    assert_ne!(forged.as_bytes(), server_final);
    assert_eq!(
        client.respond(forged.as_bytes()),
        Err(SaslError::ServerNotVerified)
    );
    assert_eq!(client.finish(), Err(SaslError::ServerNotVerified));
}

#[test]
fn scram_client_checks_the_server_nonce() {
    let alice = user("alice", "correct horse", None);
    let nonces = NonceSource::Fixed("abc".into());
    for server_first in [
        "r=xyz123,s=QSXCR+Q6sek8bf92,i=4096",
        "r=abc,s=QSXCR+Q6sek8bf92,i=4096",
    ] {
        let mut client = ClientExchange::new(Mechanism::ScramSha1, &alice, None, &nonces).unwrap();
        client.initial_response();
        assert!(matches!(
            client.respond(server_first.as_bytes()),
            Err(SaslError::Malformed(_))
        ));
    }
    let mut client = ClientExchange::new(Mechanism::ScramSha1, &alice, None, &nonces).unwrap();
    client.initial_response();
    let greedy = "r=abcdef,s=QSXCR+Q6sek8bf92,i=4294967295";
    assert!(matches!(
        client.respond(greedy.as_bytes()),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn scram_server_checks_the_final_nonce_and_rejects_replays() {
    let mut server =
        ServerExchange::new(Mechanism::ScramSha256, &ServerContext::default()).unwrap();
    server.start(Some(b"n,,n=alice,r=abc"), &accounts).unwrap();
    let result = server.step(b"c=biws,r=abc,p=dGlt", &accounts);
    assert!(matches!(result, Err(SaslError::Malformed(_))));
    assert!(matches!(
        server.step(b"c=biws,r=abc,p=dGlt", &accounts),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn the_exchange_ends_after_done_or_an_error() {
    let mut server = ServerExchange::new(Mechanism::Plain, &context()).unwrap();
    assert_eq!(server.mechanism(), Mechanism::Plain);
    assert_eq!(
        server.start(None, &accounts),
        Ok(Step::Challenge(Vec::new()))
    );
    assert!(matches!(
        server.start(None, &accounts),
        Err(SaslError::Malformed(_))
    ));
    assert!(matches!(
        server.step(b"\0alice\0correct horse", &accounts),
        Ok(Step::Done { .. })
    ));
    assert!(matches!(
        server.step(b"\0alice\0correct horse", &accounts),
        Err(SaslError::Malformed(_))
    ));

    let mut server = ServerExchange::new(Mechanism::Login, &context()).unwrap();
    assert_eq!(
        server.step(b"alice", &accounts),
        Ok(Step::Challenge(b"Password:".to_vec()))
    );
    assert_eq!(
        server.step(b"wrong", &accounts),
        Err(SaslError::AuthenticationFailed)
    );
    assert!(matches!(
        server.step(b"correct horse", &accounts),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn cancel_is_a_line_not_a_message() {
    // The protocol sees "*" and drops the exchange; nothing reaches the mechanism.
    assert_eq!(decode_response("*"), Ok(Response::Cancel));
    let mut server = ServerExchange::new(Mechanism::Login, &context()).unwrap();
    assert_eq!(
        server.start(None, &accounts),
        Ok(Step::Challenge(b"Username:".to_vec()))
    );
    assert_eq!(encode_challenge(b"Username:"), "VXNlcm5hbWU6");
}

#[test]
fn external_takes_an_empty_message_or_its_own_name() {
    let mut server = ServerExchange::new(Mechanism::External, &context()).unwrap();
    assert_eq!(
        server.start(None, &accounts),
        Ok(Step::Challenge(Vec::new()))
    );
    assert_eq!(
        server.step(b"", &accounts),
        Ok(Step::Done {
            authcid: "alice".into(),
            authzid: None,
            server_final: None
        })
    );
}

#[test]
fn debug_output_holds_no_password() {
    let alice = user("alice", "correct horse", None);
    let client = ClientExchange::new(Mechanism::Plain, &alice, None, &NonceSource::Random).unwrap();
    let server = ServerExchange::new(Mechanism::Plain, &context()).unwrap();
    for text in [
        format!("{alice:?}"),
        format!("{client:?}"),
        format!("{server:?}"),
    ] {
        assert!(text.contains("Plain") || text.contains("alice"), "{text}");
        assert!(!text.contains("horse"), "{text}");
    }
}

#[test]
fn names_that_prepare_to_nothing_name_no_one() {
    // A lookup that would give credentials for any name, even an empty one.
    let anyone = |_: &str| Some(alice());
    let messages: [(Mechanism, &[u8]); 4] = [
        (Mechanism::Plain, "\0\u{34f}\0correct horse".as_bytes()),
        (Mechanism::Plain, "\0alice\0\u{ad}".as_bytes()),
        (Mechanism::ScramSha256, "n,,n=\u{ad},r=abc".as_bytes()),
        (
            Mechanism::CramMd5,
            "\u{ad} b913a602c7eda7a495b4e6e7334d3890".as_bytes(),
        ),
    ];
    for (mechanism, message) in messages {
        let mut server = ServerExchange::new(mechanism, &ServerContext::default()).unwrap();
        server.start(None, &anyone).unwrap();
        let result = server.step(message, &anyone);
        if mechanism == Mechanism::ScramSha256 {
            // The user is unknown, which shows only at the end.
            let Ok(Step::Challenge(server_first)) = result else {
                panic!("a server-first-message, not {result:?}");
            };
            let server_first = String::from_utf8(server_first).unwrap();
            let nonce = server_first.split(',').next().unwrap();
            let last = format!("c=biws,{nonce},p={}", encode_challenge(&[0; 32]));
            let result = server.step(last.as_bytes(), &anyone);
            assert_eq!(result, Err(SaslError::AuthenticationFailed));
        } else {
            assert_eq!(result, Err(SaslError::AuthenticationFailed), "{mechanism}");
        }
    }
}
