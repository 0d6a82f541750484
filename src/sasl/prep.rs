//! SASLprep (RFC 4013) for user names and passwords.

use std::borrow::Cow;

use super::SaslError;

/// The SASLprep form of `text`, or `None` where the profile refuses it
/// (prohibited characters, a failed bidirectional check).
pub fn saslprep(text: &str) -> Option<Cow<'_, str>> {
    stringprep::saslprep(text).ok()
}

/// A user name or password as the mechanisms use it: prepared, and not empty.
/// Text made only of characters mapped to nothing (soft hyphens, joiners)
/// prepares to the empty string, which names no one.
pub(crate) fn prepared(text: &str) -> Option<Cow<'_, str>> {
    saslprep(text).filter(|prepared| !prepared.is_empty())
}

/// Our own input prepared, as an error that says which input failed.
pub(crate) fn prepare(text: &str, what: &'static str) -> Result<String, SaslError> {
    prepared(text)
        .map(Cow::into_owned)
        .ok_or(SaslError::Unpreparable(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_results_and_refusals_are_none() {
        assert_eq!(prepared("user").as_deref(), Some("user"));
        assert_eq!(saslprep("\u{ad}\u{34f}").as_deref(), Some(""));
        assert_eq!(prepared("\u{ad}\u{34f}"), None);
        assert_eq!(prepared(""), None);
        assert_eq!(prepared("a\u{7}"), None);
        assert_eq!(
            prepare("\u{34f}", "name"),
            Err(SaslError::Unpreparable("name"))
        );
    }
}
