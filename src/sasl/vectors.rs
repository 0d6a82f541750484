//! The SCRAM and SASLprep vectors in `rfc-vectors/sasl-scram` (RFC 5802 section
//! 5, RFC 7677 section 3, RFC 4013 section 3), replayed byte for byte against
//! the server and the client.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::scram::{ScramCredentials, ScramHash};
use super::{
    ClientCredentials, ClientExchange, Mechanism, NonceSource, ServerContext, ServerExchange, Step,
    StoredCredentials, saslprep,
};

const VECTORS: &str = include_str!("../../rfc-vectors/sasl-scram/rfc-vectors.json");

#[derive(Deserialize)]
struct Vectors {
    scram: Vec<ScramVector>,
    saslprep_rfc4013_section3: Vec<PrepVector>,
}

#[derive(Deserialize)]
struct ScramVector {
    source: String,
    mechanism: String,
    username: String,
    password: String,
    client_nonce: String,
    server_nonce_suffix: String,
    salt_b64: String,
    iterations: u32,
    exchange: Vec<(String, String)>,
    derived: Derived,
}

#[derive(Deserialize)]
struct Derived {
    stored_key_b64: String,
    server_key_b64: String,
}

#[derive(Deserialize)]
struct PrepVector {
    n: u32,
    input: String,
    output: Option<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("rfc-vectors.json parses")
}

impl ScramVector {
    fn mechanism(&self) -> Mechanism {
        Mechanism::from_name(&self.mechanism).expect("a SCRAM mechanism")
    }

    fn hash(&self) -> ScramHash {
        self.mechanism().scram().expect("a SCRAM mechanism").0
    }

    fn credentials(&self) -> ScramCredentials {
        let salt = STANDARD.decode(&self.salt_b64).unwrap();
        let iterations = self.iterations.try_into().unwrap();
        ScramCredentials::with_salt(self.hash(), &self.password, &salt, iterations)
    }

    /// The messages the client (`C`) or the server (`S`) sends, in order.
    fn sent_by(&self, side: &str) -> Vec<&str> {
        self.exchange
            .iter()
            .filter(|(s, _)| s == side)
            .map(|(_, m)| m.as_str())
            .collect()
    }
}

#[test]
fn derived_keys_match() {
    for v in vectors().scram {
        let text = v.credentials().to_text();
        let expected = format!(
            "{}:{}${}:{}",
            v.iterations, v.salt_b64, v.derived.stored_key_b64, v.derived.server_key_b64
        );
        assert_eq!(text, expected, "{}", v.source);
    }
}

#[test]
fn server_replays_the_exchanges() {
    for v in vectors().scram {
        let mut stored = StoredCredentials::derive(&v.password).unwrap();
        match v.hash() {
            ScramHash::Sha1 => stored.scram_sha1 = v.credentials(),
            ScramHash::Sha256 => stored.scram_sha256 = v.credentials(),
        }
        let lookup = |name: &str| (name == v.username).then(|| stored.clone());
        let context = ServerContext {
            nonces: NonceSource::Fixed(v.server_nonce_suffix.clone()),
            ..ServerContext::default()
        };
        let mut server = ServerExchange::new(v.mechanism(), &context).unwrap();
        let [client_first, client_final] = v.sent_by("C")[..] else {
            panic!("{}: two client messages", v.source);
        };
        let [server_first, server_final] = v.sent_by("S")[..] else {
            panic!("{}: two server messages", v.source);
        };
        assert_eq!(
            server.start(Some(client_first.as_bytes()), &lookup),
            Ok(Step::Challenge(server_first.as_bytes().to_vec())),
            "{}",
            v.source
        );
        assert_eq!(
            server.step(client_final.as_bytes(), &lookup),
            Ok(Step::Done {
                authcid: v.username.clone(),
                authzid: None,
                server_final: Some(server_final.as_bytes().to_vec()),
            }),
            "{}",
            v.source
        );
    }
}

#[test]
fn client_replays_the_exchanges() {
    for v in vectors().scram {
        let credentials = ClientCredentials {
            username: v.username.clone(),
            password: v.password.clone(),
            authzid: None,
        };
        let nonces = NonceSource::Fixed(v.client_nonce.clone());
        let mut client = ClientExchange::new(v.mechanism(), &credentials, None, &nonces).unwrap();
        let client_messages = v.sent_by("C");
        let server_messages = v.sent_by("S");
        assert_eq!(
            client.initial_response().as_deref(),
            Some(client_messages[0].as_bytes()),
            "{}",
            v.source
        );
        let answer = client.respond(server_messages[0].as_bytes()).unwrap();
        assert_eq!(answer, client_messages[1].as_bytes(), "{}", v.source);
        assert_eq!(client.finish(), Err(super::SaslError::ServerNotVerified));
        assert_eq!(
            client.respond(server_messages[1].as_bytes()),
            Ok(Vec::new())
        );
        assert_eq!(client.finish(), Ok(()), "{}", v.source);
    }
}

#[test]
fn saslprep_examples() {
    let examples = vectors().saslprep_rfc4013_section3;
    assert_eq!(examples.len(), 7);
    for example in examples {
        assert_eq!(
            saslprep(&example.input).map(|s| s.into_owned()),
            example.output,
            "RFC 4013 section 3 example {}",
            example.n
        );
    }
}
