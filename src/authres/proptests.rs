//! parse(print(x)) == x for Authentication-Results fields.

use proptest::prelude::*;

use super::*;

fn keyword() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
}

/// Any text without control characters (those become spaces when written).
fn text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{0,20}"
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[a-z0-9.+]{0,8}@[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}",
        "[a-z0-9]{1,8}(\\.[a-z0-9]{1,8}){0,2}",
    ]
}

fn method_result() -> impl Strategy<Value = MethodResult> {
    (
        keyword(),
        prop::option::of(0u32..10),
        keyword(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec((keyword(), keyword(), value()), 0..4),
    )
        .prop_filter("reason is not a ptype", |(.., props)| {
            props.iter().all(|(ptype, ..)| ptype != "reason")
        })
        .prop_map(
            |(method, method_version, result, comment, reason, props)| MethodResult {
                method,
                method_version,
                result,
                comment,
                reason,
                properties: props
                    .into_iter()
                    .map(|(ptype, property, value)| Property {
                        ptype,
                        property,
                        value,
                    })
                    .collect(),
            },
        )
}

proptest! {
    #[test]
    fn fields_round_trip(
        authserv_id in "[^\\p{Cc}]{1,20}",
        version in prop::option::of(0u32..5),
        results in prop::collection::vec(method_result(), 0..4),
    ) {
        let field = AuthenticationResults { authserv_id, version, results };
        let text = field.to_string().replace("\r\n", "");
        let read = AuthenticationResults::parse(&text)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(read, field, "{:?}", text);
    }
}
