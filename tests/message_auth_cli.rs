//! `gannet spf` (and the other message-authentication tools) as an operator uses
//! them: with `--dns-zone` so that the records are the fixture's, not the
//! network's. Exit codes and printed lines.

mod common;

use common::{gannet, text};
use std::path::Path;

fn with_zone(args: &[&str]) -> std::process::Output {
    let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth.zone");
    let mut all = vec!["--dns-zone", zone.to_str().unwrap()];
    all.extend_from_slice(args);
    gannet(Path::new("."), &all)
}

#[test]
fn spf_check_prints_result_reason_and_explanation_and_exits_0_only_on_pass() {
    let out = with_zone(&[
        "spf",
        "check",
        "example.org",
        "203.0.113.9",
        "--sender",
        "bob@example.org",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "result: fail\n\
         reason: 203.0.113.9 matched -all in the record of example.org\n\
         explanation: 203.0.113.9 may not send for example.org\n"
    );
    let out = with_zone(&["spf", "check", "example.org", "2001:db8::1"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("matched include:_spf.example.net"),
        "{}",
        text(&out.stdout)
    );
    let out = with_zone(&[
        "spf",
        "check",
        "example.org",
        "198.51.100.7",
        "--helo",
        "mx.example.org",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("result: pass\nreason: 198.51.100.7 matched mx"));
    let out = with_zone(&["spf", "check", "two.example.org", "192.0.2.1"]);
    assert_eq!(
        text(&out.stdout),
        "result: permerror\nreason: two.example.org has more than one SPF record\n"
    );
}

#[test]
fn spf_parse_and_lookup_print_terms_or_say_what_is_wrong() {
    let out = gannet(Path::new("."), &["spf", "parse", "V=SPF1 +MX  ~all"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "v=spf1 mx ~all\n  pass      mx\n  softfail  ~all\n"
    );
    let out = gannet(Path::new("."), &["spf", "parse", "v=spf1 ip4:192.0.2.0/33"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet spf parse: not a valid SPF record: prefix length /33 is over 32\n"
    );

    let out = with_zone(&["spf", "lookup", "EXAMPLE.org."]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("v=spf1 ip4:192.0.2.0/24 mx include:_spf.example.net"));
    let out = with_zone(&["spf", "lookup", "mx.example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet spf lookup: mx.example.org has no SPF record\n"
    );
}

#[test]
fn a_zone_file_with_an_error_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.zone"),
        "$ORIGIN example.org.\n@ MX ten mx\n",
    )
    .unwrap();
    let out = gannet(
        dir.path(),
        &["--dns-zone", "bad.zone", "spf", "lookup", "example.org"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet: --dns-zone bad.zone: line 2: bad MX preference \"ten\"\n"
    );
}
