//! The config check (gannet::config::Config::from_text, which `Config::load` uses),
//! on arbitrary bytes: the text before the first 0xFF byte is gannet.toml, the text
//! after it domains.toml (0xFF never occurs in UTF-8; without one, domains.toml is
//! empty). Non-UTF-8 halves are skipped: the files are read as UTF-8 text, and a
//! file that is not is reported before the check runs.
//!
//! No input may panic; a rejected config has at least one error, and every error
//! has a non-empty message, names one of the two files, and displays its message.

#![no_main]

use std::path::Path;

use gannet::config::Config;
use libfuzzer_sys::fuzz_target;

/// A directory that does not exist: TLS certificate paths relative to it are missing,
/// whatever the fuzzer writes, and nothing is created.
const DIR: &str = "/nonexistent/gannet-fuzz-config";

fuzz_target!(|data: &[u8]| {
    let (static_bytes, domains_bytes) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (Ok(static_text), Ok(domains_text)) = (
        std::str::from_utf8(static_bytes),
        std::str::from_utf8(domains_bytes),
    ) else {
        return;
    };
    let dir = Path::new(DIR);
    let Err(errors) = Config::from_text(dir, static_text, domains_text) else {
        return;
    };
    assert!(!errors.is_empty(), "rejected without an error");
    for error in &errors {
        assert!(
            !error.message.trim().is_empty(),
            "an error without a message: {error:?}"
        );
        assert!(
            error.file.ends_with("gannet.toml") || error.file.ends_with("domains.toml"),
            "an error about no file: {error:?}"
        );
        assert!(error.to_string().contains(&error.message));
    }
});
