//! The base subject of RFC 5256 2.1: a Subject field without the reply and forward
//! markers that deployed mail software adds (`Re:`, `Fwd:`, `[list]` tags, `(fwd)`,
//! `[fwd: ...]`). SORT SUBJECT orders by it and THREAD groups by it; THREAD=REFERENCES
//! also needs to know whether removing the markers showed the message to be a reply or
//! a forward (RFC 5256 3, step 5).
//!
//! The RFC asks every server and disconnected client to use exactly its algorithm, so
//! that a mailbox sorts the same online and offline; the steps below follow it one by
//! one. One reading is ours: its BLOBCHAR is ASCII (the grammar predates UTF-8 headers),
//! but after step (1) the subject is UTF-8, and a tag such as `[Café]` is a blob to
//! readers; here a blob is `[`, anything but brackets, `]`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;

/// A base subject and what its extraction found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaseSubject {
    /// The base subject, UTF-8, runs of white space made one space; empty for an absent
    /// or empty Subject, or one of only markers (`Re:`).
    pub text: String,
    /// Whether extraction removed a `Re:`, `Fw:` or `Fwd:` (subj-refwd), a `(fwd)`
    /// trailer, or a `[fwd: ...]` wrapper: what RFC 5256 calls a reply or forward.
    pub reply_or_forward: bool,
}

/// The octets of a subject that SORT and THREAD look at.
pub const SUBJECT_MAX: usize = 1024;

impl BaseSubject {
    /// The base subject of a raw Subject field value (after the colon, folding
    /// included), its RFC 2047 encoded-words decoded first as step (1) asks.
    pub fn from_field(raw_value: &[u8]) -> BaseSubject {
        let mut text = decode_text(raw_value);
        // Stripping a leader rescans what follows it: on a subject of thousands of
        // `[tag]`s that is quadratic. What sorts a subject is its start.
        if text.len() > SUBJECT_MAX {
            let mut end = SUBJECT_MAX;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        base_subject(&text)
    }
}

/// The text of an unstructured header field value (RFC 5322 `unstructured`), unfolded,
/// with RFC 2047 encoded-words decoded to UTF-8 and octets that are not UTF-8 replaced.
/// mail-parser does the decoding (the store uses it for the same job); charsets it
/// does not know without its `full_encoding` feature (ISO-2022-JP, ...) come out as
/// their decoded octets read as UTF-8.
pub fn decode_text(raw_value: &[u8]) -> String {
    parse_value(raw_value, |value| match value.parse_unstructured() {
        HeaderValue::Text(text) => text.into_owned(),
        _ => String::new(),
    })
    .unwrap_or_default()
}

/// Runs one of mail-parser's field value parsers on `raw_value`; `None` if it panics,
/// which costs the message this value and not the session (as in the store).
pub(super) fn parse_value<T>(
    raw_value: &[u8],
    parse: impl FnOnce(&mut MessageStream<'_>) -> T,
) -> Option<T> {
    // The parsers read a value up to the line break that ends its field.
    let mut value = Vec::with_capacity(raw_value.len() + 1);
    value.extend_from_slice(raw_value);
    value.push(b'\n');
    catch_unwind(AssertUnwindSafe(|| parse(&mut MessageStream::new(&value)))).ok()
}

/// The base subject of `subject`, a subject already decoded to UTF-8 (RFC 5256 2.1).
pub fn base_subject(subject: &str) -> BaseSubject {
    // (1) Tabs and continuations become spaces, runs of spaces one space.
    let collapsed = collapse_white_space(subject);
    let mut text = collapsed.as_str();
    let mut reply_or_forward = false;
    loop {
        // (2) Trailers.
        text = strip_trailers(text, &mut reply_or_forward);
        // (3) to (5): leaders and blobs, until neither is left.
        loop {
            let before = text.len();
            text = strip_leaders(text, &mut reply_or_forward);
            text = strip_blob(text);
            if text.len() == before {
                break;
            }
        }
        // (6) A `[fwd: ...]` wrapper, after which it all starts again from (2).
        match strip_fwd_wrapper(text) {
            Some(inner) => {
                text = inner;
                reply_or_forward = true;
            }
            None => break,
        }
    }
    // (7) What is left is the base subject.
    BaseSubject {
        text: text.to_owned(),
        reply_or_forward,
    }
}

/// Step (1) after decoding: space, tab, CR and LF (what is left of a fold) become one
/// space per run.
fn collapse_white_space(subject: &str) -> String {
    let mut out = String::with_capacity(subject.len());
    let mut in_space = false;
    for c in subject.chars() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// Step (2): removes subj-trailer (`(fwd)` or a space) from the end until none is left.
fn strip_trailers<'s>(mut text: &'s str, reply_or_forward: &mut bool) -> &'s str {
    loop {
        if let Some(rest) = text.strip_suffix(' ') {
            text = rest;
        } else if let Some(rest) = strip_suffix_ignore_case(text, "(fwd)") {
            text = rest;
            *reply_or_forward = true;
        } else {
            return text;
        }
    }
}

/// Step (3): removes subj-leader (`*subj-blob subj-refwd`, or a space) from the start
/// until none is left.
fn strip_leaders<'s>(mut text: &'s str, reply_or_forward: &mut bool) -> &'s str {
    loop {
        if let Some(rest) = text.strip_prefix(' ') {
            text = rest;
            continue;
        }
        let mut at = 0;
        while let Some(blob) = blob_len(&text[at..]) {
            at += blob;
        }
        match refwd_len(&text[at..]) {
            Some(refwd) => {
                text = &text[at + refwd..];
                *reply_or_forward = true;
            }
            None => return text,
        }
    }
}

/// Step (4): removes a leading subj-blob if something is left after it: a subject that
/// is only a blob (`[PATCH]`) keeps it as its base.
fn strip_blob(text: &str) -> &str {
    match blob_len(text) {
        Some(len) if len < text.len() => &text[len..],
        _ => text,
    }
}

/// Step (6): the subject inside `[fwd:` and `]`, if it is so wrapped.
fn strip_fwd_wrapper(text: &str) -> Option<&str> {
    let inner = strip_prefix_ignore_case(text, "[fwd:")?;
    inner.strip_suffix(']')
}

/// The length of the subj-blob at the start of `text`: `[`, no brackets, `]`, and the
/// spaces after it.
fn blob_len(text: &str) -> Option<usize> {
    let inside = text.strip_prefix('[')?;
    let close = inside.find(['[', ']'])?;
    if !inside[close..].starts_with(']') {
        return None;
    }
    let after = &inside[close + 1..];
    let spaces = after.len() - after.trim_start_matches(' ').len();
    Some(1 + close + 1 + spaces)
}

/// The length of the subj-refwd at the start of `text`:
/// `("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`, case-insensitive.
fn refwd_len(text: &str) -> Option<usize> {
    let word = ["re", "fwd", "fw"]
        .into_iter()
        .find(|w| strip_prefix_ignore_case(text, w).is_some())?;
    let mut rest = text[word.len()..].trim_start_matches(' ');
    if let Some(blob) = blob_len(rest) {
        rest = &rest[blob..];
    }
    let rest = rest.strip_prefix(':')?;
    Some(text.len() - rest.len())
}

/// `text` without the ASCII `prefix`, compared case-insensitively.
fn strip_prefix_ignore_case<'s>(text: &'s str, prefix: &str) -> Option<&'s str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `text` without the ASCII `suffix`, compared case-insensitively.
fn strip_suffix_ignore_case<'s>(text: &'s str, suffix: &str) -> Option<&'s str> {
    let start = text.len().checked_sub(suffix.len())?;
    let tail = text.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..start])
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_huge_subject_is_cut_before_it_is_stripped() {
        let raw = "[a]".repeat(80_000) + " hello";
        let base = BaseSubject::from_field(raw.as_bytes());
        // Only the start counts, whatever follows.
        assert!(base.text.len() <= SUBJECT_MAX, "{}", base.text.len());
        assert!(!base.text.contains("hello"), "{}", base.text);
    }

    use proptest::prelude::*;

    use super::*;

    /// The base subject of `subject` and whether it is a reply or forward.
    fn base(subject: &str) -> (String, bool) {
        let b = base_subject(subject);
        (b.text, b.reply_or_forward)
    }

    fn reply(text: &str) -> (String, bool) {
        (text.to_owned(), true)
    }

    fn plain(text: &str) -> (String, bool) {
        (text.to_owned(), false)
    }

    #[test]
    fn plain_subjects_are_their_own_base() {
        assert_eq!(base("hello"), plain("hello"));
        assert_eq!(base("Hello World"), plain("Hello World"));
        assert_eq!(base(""), plain(""));
        assert_eq!(base("   "), plain(""));
        assert_eq!(base("Réponse"), plain("Réponse"));
        // Words that merely start like a marker.
        assert_eq!(base("Reply: x"), plain("Reply: x"));
        assert_eq!(base("Re x"), plain("Re x"));
        assert_eq!(base("Fwding: x"), plain("Fwding: x"));
        assert_eq!(base("Ref: x"), plain("Ref: x"));
        assert_eq!(base("RE"), plain("RE"));
    }

    #[test]
    fn step_1_white_space_collapses() {
        assert_eq!(base("a\t\tb"), plain("a b"));
        assert_eq!(base("a \r\n\tb   c"), plain("a b c"));
        assert_eq!(base("\t a "), plain("a"));
    }

    #[test]
    fn step_2_trailers() {
        assert_eq!(base("hello (fwd)"), reply("hello"));
        assert_eq!(base("hello (FWD)(fwd) (Fwd)  "), reply("hello"));
        assert_eq!(base("hello(fwd)"), reply("hello"));
        // Only at the end.
        assert_eq!(base("(fwd) hello"), plain("(fwd) hello"));
        assert_eq!(base("hello (fwd) x"), plain("hello (fwd) x"));
        assert_eq!(base("(fwd)"), reply(""));
    }

    #[test]
    fn step_3_leaders() {
        assert_eq!(base("Re: hello"), reply("hello"));
        assert_eq!(base("RE: hello"), reply("hello"));
        assert_eq!(base("re:hello"), reply("hello"));
        assert_eq!(base("Fw: hello"), reply("hello"));
        assert_eq!(base("FWD: hello"), reply("hello"));
        assert_eq!(base("Re : hello"), reply("hello"));
        assert_eq!(base("Re[2]: hello"), reply("hello"));
        assert_eq!(base("Re [2] : hello"), reply("hello"));
        assert_eq!(base("Re: Re: RE: hello"), reply("hello"));
        // Blobs before a Re: go with it.
        assert_eq!(base("[list] Re: hello"), reply("hello"));
        assert_eq!(base("[a][b] Fwd: hello"), reply("hello"));
        assert_eq!(base("Re:"), reply(""));
        assert_eq!(base("Re: "), reply(""));
        // A colon is needed.
        assert_eq!(base("Re hello"), plain("Re hello"));
        assert_eq!(base("Re [x] hello"), plain("Re [x] hello"));
    }

    #[test]
    fn step_4_blobs_go_unless_nothing_would_be_left() {
        assert_eq!(base("[list] hello"), plain("hello"));
        assert_eq!(base("[list]hello"), plain("hello"));
        assert_eq!(base("[a] [b] hello"), plain("hello"));
        assert_eq!(base("[PATCH]"), plain("[PATCH]"));
        assert_eq!(base("[a] [b]"), plain("[b]"));
        assert_eq!(base("[a] [b] "), plain("[b]"));
        assert_eq!(base("[]x"), plain("x"));
        // A bracket inside is no blob.
        assert_eq!(base("[a[b] x"), plain("[a[b] x"));
        assert_eq!(base("[unclosed x"), plain("[unclosed x"));
        // Non-ASCII inside a blob (see the module comment).
        assert_eq!(base("[Café] hello"), plain("hello"));
    }

    #[test]
    fn step_5_leaders_and_blobs_repeat() {
        assert_eq!(base("[list] hello Re: x"), plain("hello Re: x"));
        assert_eq!(base("[list] [other] Re: [x] hello"), reply("hello"));
        assert_eq!(base("Re: [list] Re: hello"), reply("hello"));
        assert_eq!(base("[a] Re: [b] Fwd: [c] hello"), reply("hello"));
    }

    #[test]
    fn step_6_fwd_wrapper() {
        assert_eq!(base("[fwd: hello]"), reply("hello"));
        assert_eq!(base("[Fwd: Re: x]"), reply("x"));
        assert_eq!(base("[FWD:hello (fwd)]"), reply("hello"));
        assert_eq!(base("[fwd: [fwd: x]]"), reply("x"));
        assert_eq!(base("[fwd: [list] x]"), reply("x"));
        assert_eq!(base("[fwd:]"), reply(""));
        assert_eq!(base("Re: [fwd: x] (fwd)"), reply("x"));
        // Not wrapped: the `]` must end the subject.
        assert_eq!(base("[fwd: x] y"), plain("y"));
        assert_eq!(base("[fwd: x"), plain("[fwd: x"));
    }

    #[test]
    fn everything_together() {
        assert_eq!(base("Re: [list] Fwd: Re: hello (fwd)"), reply("hello"));
        assert_eq!(
            base("[list] Re: [fwd: Re: hello world]  (fwd)"),
            reply("hello world")
        );
        assert_eq!(
            base("  RE:  re:\t[x]  the  subject  "),
            reply("the subject")
        );
    }

    #[test]
    fn encoded_words_are_decoded_first() {
        let from = |raw: &str| {
            let b = BaseSubject::from_field(raw.as_bytes());
            (b.text, b.reply_or_forward)
        };
        assert_eq!(from(" =?utf-8?q?Re=3A_h=C3=A9llo?="), reply("héllo"));
        assert_eq!(
            from(" =?ISO-8859-1?Q?Caf=E9?= =?utf-8?b?IChmd2Qp?="),
            reply("Café")
        );
        assert_eq!(from(" Re:\r\n\t[list]\r\n  hello"), reply("hello"));
        assert_eq!(from(""), plain(""));
        assert_eq!(from(" =?utf-8?q?broken"), plain("=?utf-8?q?broken"));
        // Octets that are not UTF-8 are replaced, not fatal.
        let b = BaseSubject::from_field(b" caf\xe9");
        assert_eq!(b.text, "caf\u{fffd}");
    }

    #[test]
    fn markers_inside_multibyte_text_do_not_split_characters() {
        assert_eq!(base("é(fwd)"), reply("é"));
        assert_eq!(base("éé"), plain("éé"));
        assert_eq!(base("ＲＥ: x"), plain("ＲＥ: x"));
    }

    proptest! {
        #[test]
        fn extraction_is_idempotent(subject in subject()) {
            let once = base_subject(&subject);
            let twice = base_subject(&once.text);
            prop_assert_eq!(&twice.text, &once.text);
            prop_assert!(!twice.reply_or_forward, "{:?} left a marker", once.text);
        }

        #[test]
        fn base_subjects_have_no_outer_or_double_spaces(subject in subject()) {
            let b = base_subject(&subject).text;
            prop_assert!(!b.starts_with(' ') && !b.ends_with(' '), "{:?}", b);
            prop_assert!(!b.contains("  ") && !b.contains('\t'), "{:?}", b);
        }

        #[test]
        fn any_text_is_taken(subject in any::<String>()) {
            base_subject(&subject);
        }
    }

    /// Subjects made of the pieces the algorithm looks for.
    fn subject() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("Re:"),
            Just("re"),
            Just("FWD:"),
            Just("Fw"),
            Just(":"),
            Just("["),
            Just("]"),
            Just("[list]"),
            Just("[fwd:"),
            Just("(fwd)"),
            Just(" "),
            Just("\t"),
            Just("\r\n "),
            Just("x"),
            Just("é"),
            Just("hello"),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }
}
