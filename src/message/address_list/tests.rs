//! What the vectors in `rfc-vectors/rfc5322-addresses/` do not show: the typed values
//! themselves, the order of obsolete forms, and the lexical corners of the comment cap.

use super::*;

fn mailboxes(value: &str) -> Vec<Mailbox> {
    parse_mailbox_list(value, Leniencies::PEDANTIC)
        .unwrap_or_else(|e| panic!("{value:?}: {e}"))
        .value
}

#[test]
fn display_names_are_decoded() {
    let names: Vec<Option<String>> = mailboxes(
        r#"a@example.org, <b@example.org>, "" <c@example.org>, "x\"y" (c) z <d@example.org>"#,
    )
    .into_iter()
    .map(|m| m.display_name)
    .collect();
    let want = [None, None, Some(""), Some("x\"y z")];
    assert_eq!(names, want.map(|n| n.map(String::from)));
}

#[test]
fn addresses_are_typed() {
    let m = &mailboxes(" Jo <\"jo hn\"@B\u{fc}cher.example>")[0];
    assert_eq!(m.address.localpart.as_str(), "jo hn");
    assert_eq!(m.address.host.ascii(), "xn--bcher-kva.example");
}

#[test]
fn groups_hold_their_members() {
    let list = parse_address_list(
        " G: a@example.org, B <b@example.org>;, c@example.org",
        Leniencies::PEDANTIC,
    )
    .unwrap()
    .value;
    let [
        AddressListEntry::Group { name, members },
        AddressListEntry::Mailbox(c),
    ] = &list[..]
    else {
        panic!("{list:?}");
    };
    assert_eq!(name, "G");
    assert_eq!(members.len(), 2);
    assert_eq!(members[1].display_name.as_deref(), Some("B"));
    assert_eq!(c.to_string(), "c@example.org");
}

#[test]
fn obsolete_forms_are_listed_once_in_order_of_use() {
    let parsed = parse_mailbox_list(
        "a@b . example, , Q. <c@d.example>, e@f . example",
        Leniencies::PEDANTIC,
    )
    .unwrap();
    assert_eq!(
        parsed.obsolete,
        [
            Obsolete::Domain,
            Obsolete::EmptyListElement,
            Obsolete::Phrase
        ]
    );
    assert!(
        parse_mailbox(" A (b) <c@d.example>", Leniencies::PEDANTIC)
            .unwrap()
            .obsolete
            .is_empty()
    );
}

#[test]
fn parentheses_in_quotes_literals_and_quoted_pairs_do_not_nest() {
    let deep = "(".repeat(MAX_COMMENT_DEPTH + 1);
    for value in [
        format!("\"{deep}\" <a@example.org>"),
        format!("a@example.org ({})", "\\(".repeat(40)),
    ] {
        assert!(
            parse_mailbox(&value, Leniencies::PEDANTIC).is_ok(),
            "{value}"
        );
    }
    let literal = format!("a@[{deep}]");
    assert!(matches!(
        parse_mailbox(&literal, Leniencies::PEDANTIC),
        Err(AddressListError::Address { .. })
    ));
    let nested = format!("a@example.org {deep}{}", ")".repeat(MAX_COMMENT_DEPTH + 1));
    assert_eq!(
        parse_mailbox(&nested, Leniencies::PEDANTIC).unwrap_err(),
        AddressListError::CommentDepth { column: 47 }
    );
}

#[test]
fn errors_shift_into_their_field() {
    let err = parse_mailbox(" <a@example.org", Leniencies::PEDANTIC).unwrap_err();
    assert_eq!(err.to_string(), "unexpected end at 16, expected '.' or '>'");
    assert_eq!(
        err.shifted(5).to_string(),
        "unexpected end at 21, expected '.' or '>'"
    );
    let err = parse_mailbox(" (x) <a@exa!mple.org>", Leniencies::PEDANTIC).unwrap_err();
    assert!(
        matches!(err, AddressListError::Address { column: 7, .. }),
        "{err}"
    );
    assert!(matches!(
        err.shifted(5),
        AddressListError::Address { column: 12, .. }
    ));
}
