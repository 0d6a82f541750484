//! DMARC policy records: no input may panic, and whatever parses without warnings
//! must print as text that parses again to an equal record.

#![no_main]

use gannet::dmarc::Parsed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Parsed::parse(input) else {
        return;
    };
    let printed = parsed.record.to_string();
    let again = Parsed::parse(&printed);
    assert!(
        again.as_ref().map(|p| (&p.record, p.warnings.is_empty())) == Ok((&parsed.record, true)),
        "{input:?} parses as {parsed:?}, printed as {printed:?}, which parses as {again:?}"
    );
});
