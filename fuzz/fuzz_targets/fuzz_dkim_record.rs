//! DKIM-Signature values and key records: no input may panic, and whatever
//! parses must print as text that parses again to an equal value.

#![no_main]

use gannet::dkim::{KeyRecord, Signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = Signature::parse(input) {
        let printed = parsed.signature.to_value();
        let again = Signature::parse(&printed).map(|p| p.signature);
        assert!(
            again.as_ref() == Ok(&parsed.signature),
            "{input:?} parses as {:?}, printed as {printed:?}, which parses as {again:?}",
            parsed.signature
        );
    }
    if let Ok(record) = KeyRecord::parse(input) {
        let printed = record.to_text();
        let again = KeyRecord::parse(&printed);
        assert!(
            again.as_ref() == Ok(&record),
            "{input:?} parses as {record:?}, printed as {printed:?}, which parses as {again:?}"
        );
    }
});
