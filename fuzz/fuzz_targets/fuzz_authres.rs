//! Authentication-Results values from remote messages: no input may panic, and a
//! parsed field, written and read again, keeps its results and is then stable
//! (writing turns control characters into spaces, so the first pass may change
//! text).

#![no_main]

use gannet::authres::AuthenticationResults;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Some(_) = AuthenticationResults::claimed_authserv_id(input) else {
        assert!(AuthenticationResults::parse(input).is_err());
        return;
    };
    let Ok(first) = AuthenticationResults::parse(input) else {
        return;
    };
    let reread = |field: &AuthenticationResults| {
        let text = field.to_string().replace("\r\n", "");
        AuthenticationResults::parse(&text)
            .unwrap_or_else(|e| panic!("{field:?} written as {text:?} does not read: {e}"))
    };
    let second = reread(&first);
    assert_eq!(second.results.len(), first.results.len());
    assert_eq!(reread(&second), second);
});
