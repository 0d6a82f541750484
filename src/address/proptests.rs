//! Round trips: for every valid address, path and domain `a`,
//! `parse(display(a)) == a`, and display is stable across the round trip.

use proptest::prelude::*;

use super::*;
use crate::leniency::{Leniencies, Leniency};

const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
/// Valid U-labels (NFC, allowed by IDNA2008) to mix with random LDH labels.
const U_LABELS: &[&str] = &[
    "bücher",
    "münchen",
    "日本語",
    "παράδειγμα",
    "faß",
    "δοκιμή",
    "пример",
];

fn atext() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => proptest::char::range('0', '9'),
        1 => proptest::sample::select(ATEXT_SPECIALS.chars().collect::<Vec<_>>()),
        1 => proptest::sample::select(vec!['é', 'ö', 'ß', '日', 'δ', '😀']),
    ]
}

fn dot_string() -> impl Strategy<Value = String> {
    let atom = proptest::collection::vec(atext(), 1..8).prop_map(String::from_iter);
    proptest::collection::vec(atom, 1..4).prop_map(|atoms| atoms.join("."))
}

/// Any text a Quoted-string can hold, quoted and escaped as RFC 5321 requires.
fn quoted_string() -> impl Strategy<Value = String> {
    let qchar = prop_oneof![8 => proptest::char::range(' ', '~'), 1 => Just('ü'), 1 => Just('中')];
    proptest::collection::vec(qchar, 0..12).prop_map(|chars| {
        let escaped: String = chars
            .into_iter()
            .flat_map(|c| {
                if c == '"' || c == '\\' {
                    vec!['\\', c]
                } else {
                    vec![c]
                }
            })
            .collect();
        format!("\"{escaped}\"")
    })
}

fn localpart_text() -> impl Strategy<Value = String> {
    prop_oneof![dot_string(), quoted_string()]
}

fn ldh_label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?"
        // "ab--cd" is a reserved LDH label under IDNA2008.
        .prop_filter("no '--' at positions 3-4", |l| l.get(2..4) != Some("--"))
}

pub(crate) fn domain_text() -> impl Strategy<Value = String> {
    let label = prop_oneof![4 => ldh_label(), 1 => proptest::sample::select(U_LABELS).prop_map(String::from)];
    proptest::collection::vec(label, 1..5).prop_map(|labels| labels.join("."))
}

pub(crate) fn host_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => domain_text(),
        1 => any::<[u8; 4]>().prop_map(|o| format!("[{}]", std::net::Ipv4Addr::from(o))),
        1 => any::<[u16; 8]>().prop_map(|s| format!("[IPv6:{}]", std::net::Ipv6Addr::from(s))),
    ]
}

pub(crate) fn address_text() -> impl Strategy<Value = String> {
    (localpart_text(), host_text()).prop_map(|(l, h)| format!("{l}@{h}"))
}

/// Parses `text` (generated valid), then checks the round trip through Display.
fn round_trip<T: PartialEq + std::fmt::Debug + std::fmt::Display>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, AddressError>,
) -> Result<(), TestCaseError> {
    let value = match parse(text) {
        Ok(v) => v,
        // Generated local parts can exceed 64 octets; that rejection is tested elsewhere.
        Err(AddressError::LocalpartTooLong(_)) => return Ok(()),
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "{text:?} is valid but was rejected: {e}"
            )));
        }
    };
    let shown = value.to_string();
    let again =
        parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?} does not parse: {e}")))?;
    prop_assert_eq!(&again, &value);
    prop_assert_eq!(again.to_string(), shown);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn addresses_round_trip(text in address_text()) {
        round_trip(&text, |s| Address::parse(s, Leniencies::PEDANTIC))?;
    }

    #[test]
    fn addr_specs_round_trip_through_mailboxes(text in address_text()) {
        round_trip(&text, |s| Address::parse_addr_spec(s, Leniencies::PEDANTIC))?;
    }

    #[test]
    fn domains_round_trip_in_both_forms(text in domain_text()) {
        round_trip(&text, |s| Domain::parse(s, Leniencies::PEDANTIC))?;
        let d = Domain::parse(&text, Leniencies::PEDANTIC).unwrap();
        prop_assert_eq!(Domain::parse(d.ascii(), Leniencies::PEDANTIC).unwrap(), d);
    }

    #[test]
    fn paths_round_trip(text in address_text(), null in any::<bool>()) {
        let path = if null { "<>".to_string() } else { format!("<{text}>") };
        if path.len() <= 256 {
            round_trip(&path, |s| ReversePath::parse(s, Leniencies::PEDANTIC))?;
            if !null {
                round_trip(&path, |s| ForwardPath::parse(s, Leniencies::PEDANTIC))?;
            }
        }
    }

    #[test]
    fn lenient_local_parts_round_trip_in_quoted_form(atoms in proptest::collection::vec("[a-z]{0,5}", 2..5)) {
        let text = format!("{}@example.org", atoms.join("."));
        let lenient: Leniencies = [Leniency::DotLocalpart].into_iter().collect();
        round_trip(&text, |s| Address::parse(s, lenient))?;
    }
}
