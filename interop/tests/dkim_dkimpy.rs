//! DKIM against dkimpy (Debian's python3-dkim), both ways: messages signed by
//! `gannet dkim sign` verify in dkimpy, and messages signed by dkimpy verify with
//! `gannet dkim verify`, for RSA and Ed25519 keys, every canonicalization, and
//! messages with odd white space, long folded fields and trailing blank lines.
//! DNS is the key record handed to each side (dkimpy's dnsfunc, gannet's
//! --dns-zone).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use interop::server::gannet_binary;
use interop::{Output, TempDir, require, run_fed, script, write_file};

const CANONS: [&str; 4] = [
    "relaxed/relaxed",
    "relaxed/simple",
    "simple/relaxed",
    "simple/simple",
];

/// Messages that make canonicalization work: CRLF line ends throughout.
fn messages() -> Vec<String> {
    let long_to: Vec<String> = (0..12)
        .map(|i| format!("Recipient {i} <r{i}@example.net>"))
        .collect();
    [
        "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: plain\nDate: Mon, 23 Nov 2026 04:00:00 +0000\n\nHello.\n".to_string(),
        "From:   Alice\t <alice@example.org>  \nTo: bob@example.net\nSubject:\t spaced   out \t\nDate: Mon, 23 Nov 2026 04:00:00 +0000\n\n  lead and trail  \t\n\ttab  inside\n\n\n\n".to_string(),
        format!(
            "From: alice@example.org\nTo: {}\nSubject: a long subject that is folded\n over two lines\nDate: Mon, 23 Nov 2026 04:00:00 +0000\n\n{}\n",
            long_to.join(",\n "),
            "x".repeat(990)
        ),
        "From: alice@example.org\nTo: bob@example.net\nSubject: empty body\nDate: Mon, 23 Nov 2026 04:00:00 +0000\n\n".to_string(),
        "From: alice@example.org\nTo: bob@example.net\nSubject: no final line end\nDate: Mon, 23 Nov 2026 04:00:00 +0000\n\nlast line".to_string(),
    ]
    .into_iter()
    .map(|m| m.replace('\n', "\r\n"))
    .collect()
}

struct Keys {
    /// (selector, key file, TXT record)
    keys: Vec<(&'static str, PathBuf, String)>,
    zone: PathBuf,
}

fn gannet(args: &[&str], input: Option<&Path>) -> Output {
    let mut cmd = Command::new(gannet_binary());
    cmd.args(args);
    run_fed(&mut cmd, input, Duration::from_secs(30))
}

/// An RSA and an Ed25519 key made by gannet, and a zone publishing both.
fn keys(tmp: &TempDir) -> Keys {
    let mut keys = Vec::new();
    let mut zone = String::from("$ORIGIN example.org.\n");
    for (selector, command) in [("rsa", "genrsa"), ("ed", "gened25519")] {
        let pem = gannet(&["dkim", command], None);
        pem.assert_success();
        let path = tmp.path().join(format!("{selector}.pem"));
        write_file(&path, &pem.stdout);
        let txt = gannet(&["dkim", "txt", &path.display().to_string()], None);
        txt.assert_success();
        let record = txt.stdout.trim().to_string();
        let strings: Vec<String> = record
            .as_bytes()
            .chunks(200)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        zone.push_str(&format!(
            "{selector}._domainkey TXT ( {} )\n",
            strings.join(" ")
        ));
        keys.push((selector, path, record));
    }
    let zone_path = tmp.path().join("keys.zone");
    write_file(&zone_path, &zone);
    Keys {
        keys,
        zone: zone_path,
    }
}

fn dkimpy(args: &[&str], input: &Path) -> Output {
    require("dkimverify", "python3-dkim");
    // Debian's python3-dkim imports only under the system interpreter.
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(script("dkimpy.py")).args(args);
    run_fed(&mut cmd, Some(input), Duration::from_secs(30))
}

#[test]
fn gannet_signatures_verify_in_dkimpy() {
    let tmp = TempDir::new("dkim-to-dkimpy");
    let keys = keys(&tmp);
    for (n, message) in messages().iter().enumerate() {
        let input = tmp.path().join(format!("m{n}.eml"));
        write_file(&input, message);
        for (selector, key, record) in &keys.keys {
            for canon in CANONS {
                let key = key.display().to_string();
                let args = [
                    "dkim",
                    "sign",
                    "--domain",
                    "example.org",
                    "--selector",
                    selector,
                    "--key",
                    &key,
                    "--canon",
                    canon,
                ];
                let signed = gannet(&args, Some(&input));
                signed.assert_success();
                let signed_path = tmp.path().join(format!("m{n}-{selector}.signed"));
                write_file(&signed_path, &signed.stdout);
                let name = format!("{selector}._domainkey.example.org");
                let verdict = dkimpy(&["verify", &name, record], &signed_path);
                assert!(
                    verdict.code() == Some(0),
                    "dkimpy rejects gannet's {selector} {canon} signature of message {n}:\n{verdict}\n{}",
                    signed.stdout
                );
            }
        }
    }
}

#[test]
fn dkimpy_signatures_verify_in_gannet() {
    require("openssl", "openssl");
    let tmp = TempDir::new("dkimpy-to-dkim");
    let keys = keys(&tmp);
    let zone = keys.zone.display().to_string();
    for (n, message) in messages().iter().enumerate() {
        let input = tmp.path().join(format!("m{n}.eml"));
        write_file(&input, message);
        for (selector, key, _) in &keys.keys {
            for canon in CANONS {
                let key = key.display().to_string();
                let field = dkimpy(&["sign", "example.org", selector, &key, canon], &input);
                field.assert_success();
                let signed_path = tmp.path().join(format!("m{n}-{selector}.signed"));
                write_file(&signed_path, &format!("{}{message}", field.stdout));
                let verdict = gannet(&["--dns-zone", &zone, "dkim", "verify"], Some(&signed_path));
                assert!(
                    verdict.code() == Some(0) && verdict.stdout.starts_with("pass d=example.org"),
                    "gannet rejects dkimpy's {selector} {canon} signature of message {n}:\n{verdict}\n{}",
                    field.stdout
                );
            }
        }
    }
}
