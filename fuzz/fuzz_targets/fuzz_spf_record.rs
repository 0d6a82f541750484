//! SPF records and explain-strings: no input may panic, and whatever parses must
//! print as text that parses again to an equal value.

#![no_main]

use gannet::spf::{Record, explain_string};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Records reach the parser only as ASCII text (check_host() refuses others).
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = input.parse::<Record>() {
        let printed = record.to_string();
        let again = printed.parse::<Record>();
        assert!(
            again.as_ref() == Ok(&record),
            "{input:?} parses as {record:?}, printed as {printed:?}, which parses as {again:?}"
        );
    }
    if let Ok(spec) = explain_string(input) {
        let printed = spec.to_string();
        let again = explain_string(&printed);
        assert!(
            again.as_ref() == Ok(&spec),
            "{input:?} parses as {spec:?}, printed as {printed:?}, which parses as {again:?}"
        );
    }
});
