//! `gannet spf` (and the other message-authentication tools) as an operator uses
//! them: with `--dns-zone` so that the records are the fixture's, not the
//! network's. Exit codes and printed lines.

mod common;

use common::{gannet, text};
use std::path::Path;

/// The zone file every command here answers from.
fn zone() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auth.zone")
}

fn with_zone(args: &[&str]) -> std::process::Output {
    let zone = zone();
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

/// Runs gannet in `dir` with `input` on stdin.
fn gannet_with_input(dir: &Path, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gannet"))
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn dkim_keys_records_signing_and_verifying_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = gannet(dir.path(), &["dkim", "gened25519"]);
    assert_eq!(key.status.code(), Some(0));
    assert!(text(&key.stdout).starts_with("-----BEGIN PRIVATE KEY-----\n"));
    std::fs::write(dir.path().join("ed.pem"), &key.stdout).unwrap();
    let txt = gannet(dir.path(), &["dkim", "txt", "ed.pem"]);
    let record = text(&txt.stdout).trim().to_string();
    assert!(record.starts_with("v=DKIM1; k=ed25519; p="), "{record}");
    std::fs::write(
        dir.path().join("keys.zone"),
        format!("sel._domainkey.example.org. TXT \"{record}\"\n"),
    )
    .unwrap();

    let message = b"From: a@example.org\nTo: b@example.net\nSubject: hi\n\nbody\n";
    let args = [
        "dkim",
        "sign",
        "--domain",
        "example.org",
        "--selector",
        "sel",
        "--key",
        "ed.pem",
    ];
    let signed = gannet_with_input(dir.path(), &args, message);
    assert_eq!(signed.status.code(), Some(0), "{}", text(&signed.stderr));
    let signed_text = text(&signed.stdout);
    assert!(
        signed_text.starts_with(
            "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;\n\ts=sel; t="
        ),
        "{signed_text}"
    );
    assert!(signed_text.ends_with("Subject: hi\n\nbody\n") && !signed_text.contains('\r'));

    let verify = ["--dns-zone", "keys.zone", "dkim", "verify"];
    let out = gannet_with_input(dir.path(), &verify, &signed.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "pass d=example.org s=sel a=ed25519-sha256: signed by example.org (s=sel)\n"
    );
    let changed = signed_text.replace("body", "b0dy");
    let out = gannet_with_input(dir.path(), &verify, changed.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout)
            .starts_with("fail d=example.org s=sel a=ed25519-sha256: the body hash does not match")
    );
    let out = gannet_with_input(dir.path(), &verify, message);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(1), "none: the message has no DKIM-Signature\n".into())
    );

    let out = gannet(
        dir.path(),
        &[
            "--dns-zone",
            "keys.zone",
            "dkim",
            "lookup",
            "sel",
            "example.org",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("{record}\n  valid: k=ed25519\n"));
    let out = gannet(
        dir.path(),
        &[
            "--dns-zone",
            "keys.zone",
            "dkim",
            "lookup",
            "other",
            "example.org",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet dkim lookup: no key record at other._domainkey.example.org\n"
    );
    let out = gannet(dir.path(), &["dkim", "txt", "keys.zone"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("gannet dkim: keys.zone: not a PEM key"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dmarc_lookup_shows_the_policy_and_which_report_addresses_may_receive() {
    let out = with_zone(&["dmarc", "lookup", "mail.example.org"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "policy domain: example.org (organizational domain example.org)\n",
        "  subdomains  quarantine\n",
        "  percent     100\n",
        "  warning: pct=150: not 0 to 100; the default is used\n",
        "  rua       mailto:dmarc@example.org: inside the policy domain\n",
        "  rua       mailto:agg@reports.example.net: outside, and authorized by its domain\n",
        "  ruf       mailto:x@elsewhere.example: refused: example.org._report._dmarc.elsewhere.example has no v=DMARC1 record\n",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
    let out = with_zone(&["dmarc", "lookup", "example.net"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no DMARC policy for example.net"));

    let out = with_zone(&["dmarc", "parse", "v=DMARC1; p=nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("gannet dmarc parse: not a usable DMARC record: p=nope: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dmarc_verify_runs_spf_dkim_and_dmarc_and_exits_0_only_on_pass() {
    let message = b"From: A <a@example.org>\nTo: b@example.net\nSubject: hi\n\nbody\n";
    let zone = zone();
    let verify = |ip: &str, mail_from: &str| {
        let args = [
            "--dns-zone",
            zone.to_str().unwrap(),
            "dmarc",
            "verify",
            ip,
            mail_from,
            "mx.example.org",
        ];
        gannet_with_input(Path::new("."), &args, message)
    };
    let out = verify("192.0.2.5", "a@example.org");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "spf: pass for example.org: 192.0.2.5 matched ip4:192.0.2.0/24 in the record of example.org\n\
         dmarc: pass for example.org: SPF pass of example.org aligned with example.org\n"
    );
    // The null reverse-path: SPF checks the HELO name, which publishes nothing.
    let out = verify("203.0.113.9", "<>");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "spf: none for mx.example.org: mx.example.org has no SPF record\n\
         dmarc: fail for example.org: no SPF or DKIM pass aligned with example.org\n\
         policy: reject requested, disposition reject\n"
    );
}

#[test]
fn dmarc_report_reads_aggregate_reports_and_names_a_file_it_cannot_read() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("rfc-vectors/dmarc-reports");
    let good = samples.join("aggregate/rfc9990-sample.xml");
    let out = gannet(Path::new("."), &["dmarc", "report", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}:\n  report 3v98abbp8ya9n3va8yr8oa3ya from Sample Reporter <report_sender@example-reporter.com>\n  \
             period Tue, 7 Aug 1979 00:00:00 +0000 to Tue, 7 Aug 1979 23:59:59 +0000\n  \
             policy of example.com: p=quarantine sp=none np=none\n  \
             192.0.2.123 count=123 disposition=pass dkim=pass spf=fail from=example.com\n",
            good.display()
        )
    );
    let bad = samples.join("aggregate_invalid/report_with_upper_cased_pass.xml");
    let out = gannet(
        Path::new("."),
        &[
            "dmarc",
            "report",
            bad.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("report_with_upper_cased_pass.xml: the report XML does not follow the schema: unknown variant `None`"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("report 3v98abbp8ya9n3va8yr8oa3ya"),
        "the good file is read all the same"
    );
}
