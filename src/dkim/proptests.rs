//! parse(print(x)) == x for DKIM-Signature values and key records.

use proptest::prelude::*;

use super::*;

fn canon() -> impl Strategy<Value = Canon> {
    prop_oneof![Just(Canon::Simple), Just(Canon::Relaxed)]
}

fn domain() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\\.[a-z0-9]{1,8}){1,3}"
}

fn signature() -> impl Strategy<Value = Signature> {
    (
        prop_oneof![
            Just(Algorithm::RsaSha256),
            Just(Algorithm::RsaSha1),
            Just(Algorithm::Ed25519Sha256)
        ],
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(any::<u8>(), 32),
        (canon(), canon()),
        domain(),
        prop::collection::vec("[A-Za-z][A-Za-z0-9-]{0,12}", 0..6),
        prop::option::of("[a-z0-9.+=;-]{0,10}"),
        prop::option::of(0u64..1_000_000),
        "[a-z0-9]{1,10}(\\.[a-z0-9]{1,5})?",
        prop::option::of((0u64..999_999_999_999, 0u64..1_000_000)),
    )
        .prop_map(
            |(
                algorithm,
                signature,
                body_hash,
                (header_canon, body_canon),
                domain,
                mut headers,
                local,
                length,
                selector,
                times,
            )| {
                headers.insert(0, "From".into());
                Signature {
                    algorithm,
                    signature,
                    body_hash,
                    header_canon,
                    body_canon,
                    identity: local.map(|l| format!("{l}@{domain}")),
                    domain,
                    headers,
                    length,
                    selector,
                    timestamp: times.map(|(t, _)| t),
                    expiration: times.map(|(t, life)| t + life),
                }
            },
        )
}

fn key_record() -> impl Strategy<Value = KeyRecord> {
    (
        prop_oneof![Just(KeyType::Rsa), Just(KeyType::Ed25519)],
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of(prop::collection::vec(
            prop_oneof![Just("sha256".to_string()), Just("sha1".to_string())],
            1..3,
        )),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(key_type, public_key, hashes, strict_identity, testing)| KeyRecord {
                key_type,
                public_key,
                hashes,
                strict_identity,
                testing,
            },
        )
}

proptest! {
    #[test]
    fn signature_values_round_trip(signature in signature()) {
        let value = signature.to_value();
        let parsed = Signature::parse(&value).map_err(|e| TestCaseError::fail(format!("{value}: {e}")))?;
        prop_assert_eq!(parsed.signature, signature, "{}", value);
    }

    #[test]
    fn key_records_round_trip(record in key_record()) {
        let text = record.to_text();
        let parsed = KeyRecord::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed, record, "{}", text);
    }
}
