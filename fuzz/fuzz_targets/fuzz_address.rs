//! Every address parser, pedantic and lenient: no input may panic, and whatever
//! parses must print as text that parses again to an equal value.

#![no_main]

use std::fmt::{Debug, Display};

use gannet::address::{Address, AddressError, Domain, ForwardPath, Localpart, ReversePath};
use gannet::leniency::{Leniencies, Leniency};
use libfuzzer_sys::fuzz_target;

type Parser<T> = fn(&str, Leniencies) -> Result<T, AddressError>;

fuzz_target!(|data: &[u8]| {
    // The parsers take text: protocol framers reject non-UTF-8 before they run.
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let lenient: Leniencies = [
        Leniency::DotLocalpart,
        Leniency::UnderscoreDomain,
        Leniency::LongLocalpart,
    ]
    .into_iter()
    .collect();
    for leniencies in [Leniencies::PEDANTIC, lenient] {
        round_trip(input, leniencies, Address::parse, Address::parse);
        // An addr-spec prints as an RFC 5321 Mailbox, the form SMTP sends.
        round_trip(input, leniencies, Address::parse_addr_spec, Address::parse);
        if let Some(domain) = round_trip(input, leniencies, Domain::parse, Domain::parse) {
            let ascii = Domain::parse(domain.ascii(), leniencies);
            assert!(
                ascii.as_ref() == Ok(&domain),
                "A-label form {:?} of {domain:?} (from {input:?}, {leniencies:?}) parses as {ascii:?}",
                domain.ascii(),
            );
        }
        round_trip(input, leniencies, Localpart::parse, Localpart::parse);
        round_trip(input, leniencies, ReversePath::parse, ReversePath::parse);
        round_trip(input, leniencies, ForwardPath::parse, ForwardPath::parse);
    }
});

/// Parses `input`; if that succeeds, checks that `reparse` of the printed value gives
/// an equal value. Both use the same leniencies: a value accepted only leniently
/// (a 65-octet local part) cannot be expected to reparse pedantically.
fn round_trip<T: Display + Debug + PartialEq>(
    input: &str,
    leniencies: Leniencies,
    parse: Parser<T>,
    reparse: Parser<T>,
) -> Option<T> {
    let value = parse(input, leniencies).ok()?;
    let printed = value.to_string();
    let again = reparse(&printed, leniencies);
    assert!(
        again.as_ref() == Ok(&value),
        "{input:?} parses ({leniencies:?}) as {value:?}, printed as {printed:?}, which parses as {again:?}",
    );
    Some(value)
}
