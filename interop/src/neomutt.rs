//! neomutt in batch mode: the settings a run needs so that no prompt waits for an
//! answer (a prompt nobody answers would hang until the test's timeout), and the
//! key presses of the scenario the IMAP tests share.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{Output, require, run as run_command};

/// Runs neomutt with the muttrc `rc`, `HOME` at `home`, and `options` after it (such
/// as a debug log), and checks that it exited cleanly. neomutt needs a terminal:
/// script(1) gives it a pseudo-tty.
#[track_caller]
pub fn run(home: &Path, rc: &Path, options: &str) -> Output {
    let neomutt = require("neomutt", "neomutt");
    let screen = run_command(
        Command::new(require("script", "bsdutils"))
            .env("HOME", home)
            .env("TERM", "dumb")
            .args(["--quiet", "--return", "--command"])
            .arg(format!(
                "{} -n -F {} {options}",
                neomutt.display(),
                rc.display()
            ))
            .arg("/dev/null"),
        Duration::from_secs(30),
    );
    screen.assert_success();
    screen
}

/// A muttrc: `access` (how to reach the server: folder, login or tunnel),
/// `header_cache` (empty for none), `extra` settings, then the key presses `keys`.
pub fn muttrc(access: &str, header_cache: &str, extra: &str, keys: &str) -> String {
    format!(
        "{access}\
         set spoolfile=\"+INBOX\"\nset record=\"\"\nset postponed=\"\"\n\
         set header_cache=\"{header_cache}\"\nset message_cachedir=\"\"\n\
         {extra}\
         set mbox_type=mbox\nset confirmappend=no\nset confirmcreate=no\n\
         set delete=yes\nset move=no\nset mark_old=no\nset quit=yes\nset wait_key=no\n\
         set imap_check_subscribed=no\n\
         push \"{keys}\"\n"
    )
}

/// The shared scenario: copy every message to `saved`, flag "mutt one", copy "mutt
/// two" to Archive, delete "mutt three", sync and quit.
pub fn scenario_keys(saved: &Path) -> String {
    let saved = saved.display();
    format!(
        "<tag-pattern>~A<enter><tag-prefix><copy-message>{saved}<enter>\
         <untag-pattern>~A<enter>\
         <tag-pattern>~s 'mutt one'<enter><tag-prefix><flag-message><untag-pattern>~A<enter>\
         <tag-pattern>~s 'mutt two'<enter><tag-prefix><copy-message>=Archive<enter>\
         <untag-pattern>~A<enter>\
         <tag-pattern>~s 'mutt three'<enter><tag-prefix><delete-message>\
         <sync-mailbox><quit>"
    )
}
