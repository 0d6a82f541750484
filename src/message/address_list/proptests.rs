//! Round trips: every list of mailboxes or address-list entries, printed in canonical
//! form, parses back to the same values with no obsolete syntax; and comments and white
//! space wherever CFWS may go change nothing.

use std::fmt::Display;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::phrase::Phrase;
use super::*;
use crate::address::proptests::address_text;

/// CFWS to put between tokens: comments (nested, with quoted pairs and quotes inside),
/// white space, UTF-8.
const CFWS: &[&str] = &[
    "(c)",
    " (a comment) ",
    "(nested (comment \\) \"q\"))",
    "\t",
    "(\u{65e5}\u{672c})",
];

/// Display names with the specials that need quoting, quotes and backslashes that need
/// escaping, white space that must be kept, and UTF-8.
fn display_name() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        6 => proptest::char::range(' ', '~'),
        2 => proptest::char::range('a', 'z'),
        1 => Just('\t'),
        1 => select(vec!['\u{e9}', '\u{65e5}', '\u{1f600}']),
    ];
    vec(c, 0..12).prop_map(String::from_iter)
}

fn address() -> impl Strategy<Value = Address> {
    // Generated local parts can exceed 64 octets; that rejection is tested elsewhere.
    address_text().prop_filter_map("local part over 64 octets", |text| {
        Address::parse_addr_spec(&text, Leniencies::PEDANTIC).ok()
    })
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    (proptest::option::of(display_name()), address()).prop_map(|(display_name, address)| Mailbox {
        display_name,
        address,
    })
}

fn entry() -> impl Strategy<Value = AddressListEntry> {
    prop_oneof![
        3 => mailbox().prop_map(AddressListEntry::Mailbox),
        1 => (display_name(), vec(mailbox(), 0..3))
            .prop_map(|(name, members)| AddressListEntry::Group { name, members }),
    ]
}

fn joined<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `m` with comments or white space at each place CFWS may go: around the display
/// name, around the "@", after the ">".
fn decorated(m: &Mailbox, cfws: &[&str]) -> String {
    let address = format!(
        "{}{}@{}{}",
        m.address.localpart, cfws[0], cfws[1], m.address.host
    );
    match &m.display_name {
        Some(name) => format!(
            "{}{}{}<{address}>{}",
            cfws[2],
            Phrase(name),
            cfws[3],
            cfws[4]
        ),
        None => format!("{}{address}{}", cfws[2], cfws[3]),
    }
}

/// Parses `text` (generated valid) and checks it gives `want` in the current syntax.
fn parses_to<T: PartialEq + std::fmt::Debug>(
    text: &str,
    parse: impl Fn(&str, Leniencies) -> Result<Parsed<T>, AddressListError>,
    want: &T,
) -> Result<(), TestCaseError> {
    let parsed = parse(text, Leniencies::PEDANTIC)
        .map_err(|e| TestCaseError::fail(format!("{text:?} is valid but was rejected: {e}")))?;
    prop_assert_eq!(&parsed.value, want, "from {:?}", text);
    prop_assert!(
        parsed.obsolete.is_empty(),
        "{:?} is not obsolete, but is reported as {:?}",
        text,
        parsed.obsolete
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mailbox_lists_round_trip(list in vec(mailbox(), 1..4)) {
        parses_to(&joined(&list), parse_mailbox_list, &list)?;
    }

    #[test]
    fn address_lists_round_trip(list in vec(entry(), 1..4)) {
        parses_to(&joined(&list), parse_address_list, &list)?;
    }

    #[test]
    fn one_mailbox_round_trips(m in mailbox()) {
        parses_to(&m.to_string(), parse_mailbox, &m)?;
    }

    #[test]
    fn comments_and_white_space_change_nothing(
        list in vec((mailbox(), vec(select(CFWS), 5)), 1..4),
        separator in select(CFWS),
    ) {
        let text = list
            .iter()
            .map(|(m, cfws)| decorated(m, cfws))
            .collect::<Vec<_>>()
            .join(&format!(",{separator}"));
        let want: Vec<Mailbox> = list.into_iter().map(|(m, _)| m).collect();
        parses_to(&text, parse_mailbox_list, &want)?;
    }
}
