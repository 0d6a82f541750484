//! SMTP command lines, pedantic and lenient: no input may panic, and a command that
//! parses prints as a line that parses to the same command.

#![no_main]

use gannet::leniency::{Leniencies, Leniency};
use gannet::smtp::Command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The framer hands the grammar UTF-8 lines without CR or LF.
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if line.contains(['\r', '\n']) {
        return;
    }
    let lenient: Leniencies = [
        Leniency::DotLocalpart,
        Leniency::UnderscoreDomain,
        Leniency::LongLocalpart,
    ]
    .into_iter()
    .collect();
    for leniencies in [Leniencies::PEDANTIC, lenient] {
        let Ok(command) = Command::parse(line, leniencies) else {
            continue;
        };
        let printed = command.to_string();
        let again = Command::parse(&printed, leniencies);
        assert!(
            again.as_ref() == Ok(&command),
            "{line:?} parses as {command:?}, prints as {printed:?}, which parses as {again:?}"
        );
    }
});
