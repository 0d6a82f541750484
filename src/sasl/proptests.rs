//! parse(print(x)) == x for every message codec: the four SCRAM messages, the
//! PLAIN message, saslname escaping and the base64 lines.

use proptest::prelude::*;

use super::plain::PlainMessage;
use super::scram::{Binding, ClientFinal, ClientFirst, ServerFinal, ServerFirst, escape_saslname};
use super::{
    Response, decode_initial_response, decode_response, encode_challenge, encode_initial_response,
};

/// Any text without NUL, the one character no saslname or PLAIN field may hold.
fn name() -> impl Strategy<Value = String> {
    "[^\u{0}]{1,24}"
}

/// Printable ASCII but the comma.
fn nonce() -> impl Strategy<Value = String> {
    "[!-+\\--~]{1,32}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..48)
}

fn binding() -> impl Strategy<Value = Binding> {
    prop_oneof![
        Just(Binding::Unsupported),
        Just(Binding::NotOffered),
        "[A-Za-z0-9.-]{1,16}".prop_map(Binding::Bound),
    ]
}

proptest! {
    #[test]
    fn client_first_round_trips(
        binding in binding(),
        authzid in prop::option::of(name()),
        username in name(),
        nonce in nonce(),
    ) {
        let first = ClientFirst { binding, authzid, username, nonce };
        let text = first.to_string();
        let (parsed, header, bare) = ClientFirst::parse(&text).unwrap();
        prop_assert_eq!(header, first.gs2_header());
        prop_assert_eq!(bare, first.bare());
        prop_assert_eq!(parsed, first);
    }

    #[test]
    fn server_first_round_trips(nonce in nonce(), salt in bytes(), iterations in 1..=u32::MAX) {
        let first = ServerFirst { nonce, salt, iterations: iterations.try_into().unwrap() };
        prop_assert_eq!(ServerFirst::parse(&first.to_string()), Ok(first));
    }

    #[test]
    fn client_final_round_trips(channel_binding in bytes(), nonce in nonce(), proof in bytes()) {
        let last = ClientFinal { channel_binding, nonce, proof };
        let text = last.to_string();
        let (parsed, without_proof) = ClientFinal::parse(&text).unwrap();
        prop_assert_eq!(without_proof, last.without_proof());
        prop_assert_eq!(parsed, last);
    }

    #[test]
    fn server_final_round_trips(
        last in prop_oneof![
            bytes().prop_map(ServerFinal::Verifier),
            "[^\u{0},]{1,24}".prop_map(ServerFinal::Error),
        ],
    ) {
        prop_assert_eq!(ServerFinal::parse(&last.to_string()), Ok(last));
    }

    #[test]
    fn saslname_escaping_round_trips(username in name()) {
        let escaped = escape_saslname(&username);
        prop_assert!(!escaped.contains(','));
        let (first, _, _) = ClientFirst::parse(&format!("n,,n={escaped},r=x")).unwrap();
        prop_assert_eq!(first.username, username);
    }

    #[test]
    fn plain_message_round_trips(
        authzid in prop::option::of(name()),
        authcid in name(),
        password in name(),
    ) {
        let message = PlainMessage { authzid, authcid, password };
        prop_assert_eq!(PlainMessage::parse(&message.to_bytes()), Ok(message));
    }

    #[test]
    fn base64_lines_round_trip(message in prop::collection::vec(any::<u8>(), 0..64)) {
        let initial = decode_initial_response(&encode_initial_response(&message));
        prop_assert_eq!(initial, Ok(message.clone()));
        let response = decode_response(&encode_challenge(&message));
        prop_assert_eq!(response, Ok(Response::Message(message)));
    }
}
