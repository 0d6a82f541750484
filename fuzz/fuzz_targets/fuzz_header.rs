//! The header reader and the address-field parsers (gannet::message) on arbitrary
//! bytes: no input may panic, and
//!
//! 1. Reading: the fields account for the header section byte for byte, each at the
//!    line it says, and the body starts after them (after the empty line, or at the end
//!    of a message without one).
//! 2. Values: every field value that is UTF-8, and the input itself when it is, goes
//!    through the mailbox, mailbox-list and address-list parsers; whatever parses prints
//!    in canonical form, which parses again to the same values and prints the same.
//! 3. From: `from_addresses` agrees with the reader about the From fields.

#![no_main]

use std::fmt::{Debug, Display};

use gannet::leniency::Leniencies;
use gannet::message::{
    AddressListError, FromError, HeaderError, HeaderSection, Mailbox, Parsed, from_addresses,
    parse_address_list, parse_mailbox, parse_mailbox_list,
};
use libfuzzer_sys::fuzz_target;

type Parser<T> = fn(&str, Leniencies) -> Result<Parsed<T>, AddressListError>;

fuzz_target!(|data: &[u8]| {
    let header = HeaderSection::parse(data);
    if let Ok(header) = &header {
        check_fields(data, header);
        for field in header.fields() {
            if let Ok(value) = field.value_str() {
                parse_value(&value);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        parse_value(text);
    }
    check_from(&header, from_addresses(data, Leniencies::PEDANTIC));
});

/// The fields follow each other from the start of the message, each on its line, and
/// the body follows them.
fn check_fields(message: &[u8], header: &HeaderSection<'_>) {
    let mut end = 0;
    for field in header.fields() {
        assert!(
            message[end..].starts_with(field.raw()),
            "field {field:?} is at {end}"
        );
        let line = 1 + message[..end].iter().filter(|&&b| b == b'\n').count();
        assert_eq!(field.line(), line, "the line of {field:?}");
        assert!(field.raw().ends_with(b"\r\n"));
        assert!(field.raw()[..field.value_offset()].ends_with(b":"));
        end += field.raw().len();
    }
    let body = header.body_offset();
    assert!(
        body == end + 2 && &message[end..body] == b"\r\n" || body == end && end == message.len(),
        "the body at {body} follows the fields ending at {end}",
    );
}

fn parse_value(value: &str) {
    round_trip(value, parse_mailbox, |m| m.to_string());
    round_trip(value, parse_mailbox_list, |list| joined(list));
    round_trip(value, parse_address_list, |list| joined(list));
}

/// Parses `value`; if that succeeds, checks that the printed form parses to the same
/// value and prints the same.
fn round_trip<T: PartialEq + Debug>(value: &str, parse: Parser<T>, print: fn(&T) -> String) {
    let Ok(parsed) = parse(value, Leniencies::PEDANTIC) else {
        return;
    };
    let printed = print(&parsed.value);
    let again = parse(&printed, Leniencies::PEDANTIC);
    let again = match again {
        Ok(again) => again.value,
        Err(e) => {
            panic!("{value:?} parses as {parsed:?}, printed as {printed:?}, which fails: {e}")
        }
    };
    assert_eq!(again, parsed.value, "{value:?} printed as {printed:?}");
    assert_eq!(print(&again), printed, "{value:?} printed as {printed:?}");
}

fn joined<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `from_addresses` fails for a header the reader refuses, finds no From field or two
/// exactly when the reader does, and otherwise gives what the one field's value gives.
fn check_from(
    header: &Result<HeaderSection<'_>, HeaderError>,
    from: Result<Parsed<Vec<Mailbox>>, FromError>,
) {
    let Ok(header) = header else {
        assert!(matches!(from, Err(FromError::Header(_))), "{from:?}");
        return;
    };
    let fields: Vec<_> = header.fields_named("from").collect();
    match (&fields[..], from) {
        ([], Err(FromError::Missing)) | ([_, _, ..], Err(FromError::Repeated { .. })) => {}
        ([field], from) => {
            let value = field.value_str();
            let Ok(value) = value else {
                assert!(matches!(from, Err(FromError::Header(_))), "{from:?}");
                return;
            };
            let direct = parse_mailbox_list(&value, Leniencies::PEDANTIC);
            match (direct, from) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(FromError::Value(b))) => {
                    assert_eq!(a.shifted(field.value_offset()), b)
                }
                (direct, from) => {
                    panic!("{value:?} parses as {direct:?}; the From field as {from:?}")
                }
            }
        }
        (fields, from) => panic!("From fields {fields:?} give {from:?}"),
    }
}
