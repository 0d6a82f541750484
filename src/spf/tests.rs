//! Records that parse and print back, records that do not (with the error a
//! permerror reason carries), and check_host() over a static zone.

use super::*;
use crate::dns::StaticZone;

#[test]
fn records_print_back_in_canonical_form() {
    let cases = [
        ("v=spf1 -all", "v=spf1 -all"),
        (
            "V=SPF1 +A MX:%{d}/24//64 ~ALL",
            "v=spf1 a mx:%{d}/24//64 ~all",
        ),
        (
            "v=spf1 ip4:192.0.2.0/24 ip6:2001:DB8::/32 ?ptr:example.org.",
            "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ?ptr:example.org.",
        ),
        (
            "v=spf1 a//64 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} -all  ",
            "v=spf1 a//64 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} -all",
        ),
        (
            "v=spf1 redirect=_spf.example.com exp=explain.%{d} moo=%{S}cow",
            "v=spf1 redirect=_spf.example.com exp=explain.%{d} moo=%{S}cow",
        ),
        ("v=spf1", "v=spf1"),
    ];
    for (text, printed) in cases {
        let record: Record = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(record.to_string(), printed);
        assert_eq!(printed.parse::<Record>().unwrap(), record, "{printed}");
    }
}

#[test]
fn invalid_records_say_what_is_wrong() {
    let cases = [
        ("v=spf1 foo:bar -all", "syntax error: unexpected ':' at 11"),
        ("v=spf1 ip4:192.0.2.0/33", "prefix length /33 is over 32"),
        ("v=spf1 a/129", "prefix length /129 is over 32"),
        ("v=spf1 a//129", "prefix length /129 is over 128"),
        (
            "v=spf1 ip6:2001:db8:::1",
            "ip6:2001:db8:::1 is not an IPv6 address",
        ),
        (
            "v=spf1 a:1.2.3.4",
            "domain \"1.2.3.4\" must end in a macro or a top-level label",
        ),
        ("v=spf1 a:museum", "domain \"museum\" must end"),
        (
            "v=spf1 exists:%{l0}.example.com",
            "macro %{l0} keeps 0 parts",
        ),
        ("v=spf1 exists:%{x}.example.com", "syntax error"),
        (
            "v=spf1 -all exp=%{r}.example.com",
            "macro %{r} in domain \"%{r}.example.com\": c, r and t are only allowed",
        ),
        (
            "v=spf1 redirect=a.example redirect=b.example",
            "redirect= appears 2 times",
        ),
        ("v=spf1 allx", "syntax error"),
        ("v=spf1 -all\t", "syntax error"),
        (
            "v=spf2 -all",
            "syntax error: unexpected 'v' at 1, expected \"v=spf1\"",
        ),
    ];
    for (text, expected) in cases {
        let e = text.parse::<Record>().unwrap_err().to_string();
        assert!(e.starts_with(expected), "{text}: {e}");
    }
}

fn zone() -> StaticZone {
    StaticZone::from_zone_file(
        r#"
$ORIGIN example.org.
@          TXT "v=spf1 mx a:relay.example.org/28 include:partner.example.net exp=why.%{d} -all"
@          MX  10 mx
mx         A   192.0.2.10
relay      A   198.51.100.1
why        TXT "%{i} is not one of %{d}'s senders (%{c} at %{r})"
soft.example.org. TXT "v=spf1 ~all"
partner.example.net. TXT "v=spf1 ip6:2001:db8::/48 -all"
down.example.org. TXT "v=spf1 a:gone.example.org -all"
redirected.example.org. TXT "v=spf1 redirect=example.org"
"#,
    )
    .unwrap()
}

fn check(zone: &StaticZone, ip: &str, mail_from: &str) -> Verdict {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(check_mail_from(
        zone,
        ip.parse().unwrap(),
        "client.example",
        mail_from,
        "mx.receiver.example",
    ))
}

#[test]
fn check_host_walks_mechanisms_includes_and_redirects() {
    let mut zone = zone();
    zone.fail("gone.example.org", None);
    let cases = [
        (
            "192.0.2.10",
            "a@example.org",
            SpfResult::Pass,
            "192.0.2.10 matched mx in the record of example.org",
        ),
        (
            "198.51.100.14",
            "a@example.org",
            SpfResult::Pass,
            "matched a:relay.example.org/28",
        ),
        (
            "198.51.100.17",
            "a@example.org",
            SpfResult::Fail,
            "matched -all",
        ),
        (
            "2001:db8::25",
            "a@example.org",
            SpfResult::Pass,
            "matched include:partner.example.net",
        ),
        (
            "::ffff:192.0.2.10",
            "a@example.org",
            SpfResult::Pass,
            "192.0.2.10 matched mx",
        ),
        (
            "192.0.2.99",
            "b@soft.example.org",
            SpfResult::Softfail,
            "matched ~all",
        ),
        (
            "192.0.2.10",
            "b@nothing.example.org",
            SpfResult::None,
            "nothing.example.org has no SPF record",
        ),
        (
            "192.0.2.10",
            "b@down.example.org",
            SpfResult::Temperror,
            "looking up gone.example.org",
        ),
        (
            "192.0.2.10",
            "b@redirected.example.org",
            SpfResult::Pass,
            "in the record of example.org",
        ),
        (
            "192.0.2.10",
            "",
            SpfResult::None,
            "client.example has no SPF record",
        ),
        (
            "192.0.2.10",
            "b@[192.0.2.10]",
            SpfResult::None,
            "not a valid domain name",
        ),
    ];
    for (ip, from, result, reason) in cases {
        let v = check(&zone, ip, from);
        assert_eq!(v.result, result, "{ip} {from}: {v:?}");
        assert!(v.reason.contains(reason), "{ip} {from}: {}", v.reason);
    }
}

#[test]
fn a_fail_carries_the_expanded_explanation() {
    let v = check(&zone(), "203.0.113.5", "someone@example.org");
    assert_eq!(v.result, SpfResult::Fail);
    assert_eq!(
        v.explanation.as_deref(),
        Some(
            "203.0.113.5 is not one of example.org's senders (203.0.113.5 at mx.receiver.example)"
        )
    );
}
