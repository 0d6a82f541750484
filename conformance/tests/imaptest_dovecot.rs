//! The imaptest runner against Dovecot 2.3, the server imaptest was written
//! for: its scripts must pass there (but for Dovecot's own bugs, listed), and
//! a wrong expectation must fail with a message that shows both sides. Skipped (passing, with a note) when the
//! `dovecot` binary is not installed; Dovecot runs as root here, as in the
//! project's peer setup (PEERS.md).

use std::path::PathBuf;
use std::time::Duration;

use conformance::imaptest::{self, Server, launch};

fn dovecot_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("dovecot"))
        .find(|p| p.is_file())
}

/// Starts Dovecot, or None (after saying why) when it is not installed.
fn dovecot() -> Option<(launch::Dovecot, Server)> {
    let Some(binary) = dovecot_binary() else {
        eprintln!("skipped: no dovecot binary (apt-get install dovecot-imapd)");
        return None;
    };
    let d = launch::Dovecot::start(&binary, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let server = Server {
        addr: d.imap,
        user: "imaptest-user".into(),
        password: launch::Dovecot::PASSWORD.into(),
        // No second user: `urlauth2` is then skipped. With one it fails on
        // Dovecot 2.3.19, whose imap-urlauth-login panics (an assertion in
        // sasl_server_auth_begin), so URLFETCH across users answers NO, each
        // after seconds of retries.
        user2: None,
    };
    Some((d, server))
}

#[test]
fn core_scripts_pass_against_dovecot() {
    let Some((d, server)) = dovecot() else { return };
    let names: Vec<String> = [
        "select",
        "fetch",
        "fetch-body",
        "store",
        "copy",
        "expunge",
        "search-flags",
        "list",
        "append",
        "pipeline",
    ]
    .map(String::from)
    .to_vec();
    let results = imaptest::run_named(&imaptest::scripts_dir(), &names, &server);
    let table = imaptest::table(&results);
    for r in &results {
        assert!(
            r.skipped.is_none() && r.failed == 0 && r.failure.is_none(),
            "{}\n{table}\ndovecot log:\n{}",
            r.name,
            d.log()
        );
        assert_eq!(r.passed, r.commands, "{}\n{table}", r.name);
        assert!(r.commands > 2, "{}\n{table}", r.name);
    }
}

/// Dovecot bugs the scripts find: the script, and the command it fails at.
/// Dovecot 2.3.19's imap process dies (assertion `!cmd->executing` in
/// client_command_free) on this URLFETCH of a sub-part with BINARY and
/// BODYPARTSTRUCTURE; a fixed Dovecot passes it.
const DOVECOT_BUGS: &[(&str, &str)] = &[(
    "urlauth-binary",
    "URLFETCH ($mail_url2sub binary bodypartstructure)",
)];

/// Every script Dovecot 2.3 has the capabilities for passes, but for its known
/// bugs (it lacks CONTEXT=SORT, so `sort-partial` is skipped).
#[test]
fn every_script_that_runs_passes_against_dovecot() {
    let Some((d, server)) = dovecot() else { return };
    let results = imaptest::run_all(&imaptest::scripts_dir(), &server);
    let table = imaptest::table(&results);
    eprintln!("{table}");
    assert!(results.len() >= 70, "{table}");
    for r in &results {
        let known_bug = DOVECOT_BUGS.iter().any(|(name, command)| {
            r.name == *name && r.failure.as_deref().is_some_and(|f| f.contains(command))
        });
        assert!(
            r.ok() || known_bug,
            "{} failed:\n{table}\ndovecot log:\n{}",
            r.name,
            d.log()
        );
    }
    let ran = results.iter().filter(|r| r.skipped.is_none()).count();
    assert!(ran >= 65, "only {ran} scripts ran:\n{table}");
}

#[test]
fn wrong_expectations_fail_with_both_sides_shown() {
    let Some((_d, server)) = dovecot() else {
        return;
    };
    let dir = launch::TempDir::new("imaptest-wrong").unwrap();
    std::fs::copy(
        imaptest::scripts_dir().join("default.mbox"),
        dir.path().join("default.mbox"),
    )
    .unwrap();
    // $uid1 is bound by the first reply, so the second cannot match it; and
    // NOOP answers OK, not NO.
    let script = "messages: 2\n\nok fetch 1:2 uid\n* 1 fetch (uid $uid1)\n* 2 fetch (uid $uid1)\n\nno noop\n\nok fetch 1 flags\n";
    std::fs::write(dir.path().join("wrong"), script).unwrap();
    let results = imaptest::run_all(dir.path(), &server);
    assert_eq!(results.len(), 1);
    let r = &results[0];
    // Three groups and the added LOGOUT; the last two pass.
    assert_eq!((r.commands, r.passed, r.failed), (4, 2, 2), "{r:?}");
    let failure = r.failure.as_deref().unwrap();
    assert!(
        failure.starts_with("command 1/4 (line 3): missing 1 untagged replies"),
        "{failure}"
    );
    assert!(
        failure.contains("first expected (line 5): 2 fetch ($!unordered=2 uid $uid1)"),
        "{failure}"
    );
    assert!(failure.contains("best match: 2 FETCH (UID 2)"), "{failure}");
    assert!(!r.ok());
}
