//! The `gannet` binary as an operator uses it: exit codes and what it prints.

mod common;

use common::{gannet, text};
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn config_test_reports_every_error_with_file_key_and_hint() {
    let out = gannet(
        &fixture("broken-config"),
        &["--config", "gannet.toml", "config", "test"],
    );
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stderr));
}

#[test]
fn config_test_names_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = gannet(dir.path(), &["-c", "gannet.toml", "config", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("gannet.toml: cannot read: No such file or directory"),
        "{err}"
    );
    assert!(err.contains("domains.toml: cannot read"), "{err}");
}

#[test]
fn the_example_config_is_written_and_passes_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let out = gannet(dir.path(), &["config", "example", "--write", "etc"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = gannet(dir.path(), &["-c", "etc/gannet.toml", "config", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "configuration is valid: 2 listeners, 1 domain, 2 accounts, 1 alias\n"
    );
    let again = gannet(dir.path(), &["config", "example", "--write", "etc"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "existing files are not overwritten"
    );
}

#[test]
fn describe_prints_the_reference() {
    let out = gannet(Path::new("."), &["config", "describe"]);
    assert!(out.status.success());
    let reference = text(&out.stdout);
    assert!(reference.starts_with("# ==== gannet.toml ===="));
    assert!(reference.contains("[listeners.NAME.smtp]"));
}

#[test]
fn localserve_initonly_writes_a_config_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = gannet(dir.path(), &["localserve", "--dir", "ls", "--initonly"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "wrote a new configuration in ls\n");
    assert!(
        dir.path().join("ls/gannet.toml").exists() && dir.path().join("ls/domains.toml").exists()
    );
    let out = gannet(dir.path(), &["-c", "ls/gannet.toml", "config", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = gannet(dir.path(), &["localserve", "--dir", "ls", "--initonly"]);
    assert_eq!(text(&out.stdout), "using the configuration in ls\n");
}

#[test]
fn serve_names_the_address_it_cannot_listen_on() {
    let dir = tempfile::tempdir().unwrap();
    // Hold a port, and configure a listener on it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    assert!(
        gannet(dir.path(), &["config", "example", "--write", "."])
            .status
            .success()
    );
    let config = std::fs::read_to_string(dir.path().join("gannet.toml")).unwrap();
    let config = config.replace(
        "[listeners.public.smtp]",
        &format!("[listeners.public.smtp]\nport = {port}"),
    );
    std::fs::write(dir.path().join("gannet.toml"), config).unwrap();
    let out = gannet(dir.path(), &["-c", "gannet.toml", "serve"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("l=info m=\"configuration loaded\" pkg=cli config=gannet.toml"),
        "{err}"
    );
    assert!(
        err.contains("gannet: cannot listen on 0.0.0.0:")
            && err.contains(&format!(":{port} for smtp:")),
        "{err}"
    );
}

#[test]
fn planned_commands_say_so_and_unknown_ones_are_errors() {
    let out = gannet(Path::new("."), &["sendmail"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "gannet sendmail: not available yet (arrives with outgoing delivery)\n"
    );
    let out = gannet(Path::new("."), &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: unrecognized subcommand 'frobnicate'"));
}

#[test]
fn version_prints_the_package_version() {
    let out = gannet(Path::new("."), &["version"]);
    assert_eq!(
        text(&out.stdout),
        format!("gannet {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn store_and_auth_commands_have_their_own_help() {
    let out = gannet(Path::new("."), &["--help"]);
    let help = text(&out.stdout);
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("Planned, not available yet: sendmail."),
        "{help}"
    );
    for command in [
        "import",
        "export",
        "store",
        "setaccountpassword",
        "loginattempts",
        "queue",
    ] {
        assert!(help.contains(&format!("\n  {command} ")), "{help}");
    }
    for command in [
        &["import", "mbox"][..],
        &["import", "maildir"],
        &["export", "mbox"],
        &["export", "maildir"],
        &["store", "verify"],
        &["setaccountpassword"],
        &["loginattempts"],
        &["config", "tlspubkey", "add"],
        &["config", "tlspubkey", "gen"],
        &["queue", "list"],
        &["queue", "holdrules", "add"],
        &["queue", "suppress", "add"],
    ] {
        let out = gannet(Path::new("."), &[command, &["--help"]].concat());
        assert!(out.status.success(), "{command:?}");
        assert!(text(&out.stdout).contains("Usage: gannet "), "{command:?}");
    }
}

#[test]
fn auth_commands_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = tempfile::tempdir().unwrap();
    assert!(
        gannet(dir.path(), &["config", "example", "--write", "."])
            .status
            .success()
    );
    let run = |args: &[&str]| gannet(dir.path(), &[&["-c", "gannet.toml"][..], args].concat());

    let out = run(&["setaccountpassword", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet setaccountpassword: no account \"nobody\" in domains.toml\n"
    );

    let generated = gannet(cert_dir.path(), &["config", "tlspubkey", "gen", "laptop"]);
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let cert = cert_dir.path().join("laptop.crt");
    let cert = cert.to_str().unwrap();
    let out = run(&[
        "config",
        "tlspubkey",
        "add",
        "alice",
        cert,
        "--login",
        "bob@example.org",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet config tlspubkey add: bob@example.org is not an address of account alice\n"
    );
    assert!(
        run(&["config", "tlspubkey", "add", "alice", cert])
            .status
            .success()
    );
    let again = run(&["config", "tlspubkey", "add", "bob", cert]);
    assert_eq!(
        text(&again.stderr),
        "gannet config tlspubkey add: this TLS public key is already registered\n"
    );
    let out = run(&["config", "tlspubkey", "rm", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected 64 hex digits"));

    let out = run(&["loginattempts"]);
    assert_eq!(text(&out.stdout), "no login attempts recorded\n");
    let again = gannet(cert_dir.path(), &["config", "tlspubkey", "gen", "laptop"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("laptop.key exists; not overwriting it"));
}

#[test]
fn serve_refuses_a_localserve_config_and_localserve_names_a_bad_leniency() {
    let dir = tempfile::tempdir().unwrap();
    let out = gannet(dir.path(), &["localserve", "--dir", "ls", "--initonly"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = gannet(dir.path(), &["-c", "ls/gannet.toml", "serve"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet serve: ls/gannet.toml has a [localserve] section, which makes a test server that takes mail for everyone; run it with `gannet localserve --dir DIR`, or remove the section\n"
    );
    let out = gannet(
        dir.path(),
        &["localserve", "--dir", "ls", "--lenient=bare-lf,bare-cr"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid value 'bare-cr' for '--lenient[=<LENIENCY>...]': unknown leniency; the leniencies are dot-localpart, underscore-domain, long-localpart, bare-lf"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn chaos_rules_with_a_bad_probability_or_failure_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = gannet(dir.path(), &["localserve", "--dir", "ls", "--initonly"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let path = dir.path().join("ls/gannet.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let mut errors = String::new();
    for (probability, failure) in [("1.5", "451"), ("0.5", "bounce")] {
        let rule = format!(
            "\n[[localserve.chaos]]\nstage = \"data\"\nprobability = {probability}\nfailure = \"{failure}\"\n"
        );
        std::fs::write(&path, format!("{config}{rule}")).unwrap();
        let out = gannet(dir.path(), &["-c", "ls/gannet.toml", "config", "test"]);
        assert_eq!(out.status.code(), Some(1));
        errors.push_str(&text(&out.stderr));
    }
    insta::assert_snapshot!(errors);
}
