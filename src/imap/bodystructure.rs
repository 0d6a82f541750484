//! BODY and BODYSTRUCTURE (RFC 9051 7.5.2 and the `body` ABNF of section 9): the MIME
//! structure of a message from [`mime::parse`], with sizes and line counts of the
//! stored bytes.
//!
//! Where RFC 9051 leaves a choice, gannet answers as Dovecot does, which the imaptest
//! expectations show: a text part without a charset gets `("charset" "us-ascii")`
//! (RFC 2046 4.1.2's default), BODYSTRUCTURE carries all four extension members, a
//! language is always a list, and a multipart in which no delimiter was found has one
//! empty text/plain part (the ABNF requires at least one). Types and parameter names
//! are sent lowercase, as [`mime`] reads them; the five standard transfer encodings
//! uppercase, as the ABNF spells them; everything else as written.

use std::borrow::Cow;

use super::encode::{nstring, string};
use super::envelope::{clean, envelope};
use crate::message::mime::{self, Children, Param, Part};

/// Writes the BODY (`extended` false) or BODYSTRUCTURE (`extended` true) of the
/// message `raw`.
pub fn bodystructure(raw: &[u8], extended: bool, out: &mut Vec<u8>) {
    bodystructure_of(raw, &mime::parse(raw), extended, out);
}

/// [`bodystructure`] for a message already parsed: `root` is `mime::parse(raw)`, so a
/// FETCH of several items parses each message once.
pub fn bodystructure_of(raw: &[u8], root: &Part<'_>, extended: bool, out: &mut Vec<u8>) {
    body(raw, root, extended, out);
}

/// One `body`: `(` body-type-1part or body-type-mpart `)`.
fn body(raw: &[u8], part: &Part<'_>, extended: bool, out: &mut Vec<u8>) {
    out.push(b'(');
    match &part.children {
        Children::Multipart(parts) => {
            if parts.is_empty() {
                body(b"", &mime::parse(b""), extended, out);
            }
            for child in parts {
                body(raw, child, extended, out);
            }
            out.push(b' ');
            text(out, part.content_type.subtype.as_bytes());
            if extended {
                out.push(b' ');
                params(out, &part.content_type.params, false);
                extension(out, part);
            }
        }
        _ => single(raw, part, extended, out),
    }
    out.push(b')');
}

/// body-type-basic, body-type-msg or body-type-text, without the parentheses.
fn single(raw: &[u8], part: &Part<'_>, extended: bool, out: &mut Vec<u8>) {
    let ct = &part.content_type;
    let is_text = ct.media_type == "text";
    text(out, ct.media_type.as_bytes());
    out.push(b' ');
    text(out, ct.subtype.as_bytes());
    out.push(b' ');
    params(out, &ct.params, is_text);
    out.push(b' ');
    ntext(out, part.id.as_deref());
    out.push(b' ');
    ntext(out, part.description.as_deref());
    out.push(b' ');
    text(out, part.encoding().name().as_bytes());
    out.extend_from_slice(format!(" {}", part.body.len()).as_bytes());
    if is_text {
        out.extend_from_slice(format!(" {}", part.body_lines).as_bytes());
    } else if ct.is_message() {
        out.push(b' ');
        match &part.children {
            Children::Message(message) => {
                envelope(&raw[message.header.clone()], out);
                out.push(b' ');
                body(raw, message, extended, out);
            }
            // Past the nesting or part limit the message is not looked into, but a
            // client reading message/rfc822 expects an envelope and a body: the
            // envelope costs one header read, the body is shown empty.
            _ => {
                envelope(&raw[part.body.clone()], out);
                out.push(b' ');
                body(b"", &mime::parse(b""), extended, out);
            }
        }
        out.extend_from_slice(format!(" {}", part.body_lines).as_bytes());
    }
    if extended {
        out.push(b' ');
        ntext(out, part.md5.as_deref());
        extension(out, part);
    }
}

/// The members both kinds of part end with: ` disposition language location`.
fn extension(out: &mut Vec<u8>, part: &Part<'_>) {
    out.push(b' ');
    match &part.disposition {
        Some(d) => {
            out.push(b'(');
            text(out, d.kind.as_bytes());
            out.push(b' ');
            params(out, &d.params, false);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    if part.language.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for (i, tag) in part.language.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            text(out, tag);
        }
        out.push(b')');
    }
    out.push(b' ');
    ntext(out, part.location.as_deref());
}

/// body-fld-param: `(name value ...)`, or NIL when there are none; `text_default` adds
/// the us-ascii charset a text part has when it names none.
fn params(out: &mut Vec<u8>, params: &[Param<'_>], text_default: bool) {
    let default = text_default && !params.iter().any(|p| p.name == "charset");
    if params.is_empty() && !default {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        text(out, p.name.as_bytes());
        out.push(b' ');
        text(out, &p.value);
    }
    if default {
        if !params.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"charset\" \"us-ascii\"");
    }
    out.push(b')');
}

fn text(out: &mut Vec<u8>, s: &[u8]) {
    string(out, &clean(Cow::Borrowed(s)));
}

fn ntext(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => text(out, s),
        None => nstring(out, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::section::imaptest;

    #[test]
    fn imaptest_fetch_bodystructure() {
        imaptest::assert_script("fetch-bodystructure");
    }

    fn bs(raw: &[u8], extended: bool) -> String {
        let mut out = Vec::new();
        bodystructure(raw, extended, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn a_text_message() {
        let raw = b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nhello\r\nworld\r\n";
        assert_eq!(
            bs(raw, false),
            "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2)"
        );
        assert_eq!(
            bs(raw, true),
            "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)"
        );
        // No Content-Type: text/plain with RFC 2046's default charset.
        assert_eq!(
            bs(b"Subject: x\r\n\r\nhi", false),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 2 0)"
        );
        // A text part with other parameters gets the charset after them.
        assert_eq!(
            bs(b"Content-Type: text/html; format=flowed\r\n\r\n", false),
            "(\"text\" \"html\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)"
        );
    }

    const MIXED: &str = "Content-Type: multipart/mixed; boundary=\"b\"; x=y\r\n\
        Content-Disposition: inline\r\n\
        Content-Language: en\r\n\
        Content-Location: loc\r\n\
        \r\n\
        --b\r\n\
        Content-Type: application/pdf; name=\"a.pdf\"\r\n\
        Content-ID: <id@x>\r\n\
        Content-Description: A file\r\n\
        Content-Transfer-Encoding: base64\r\n\
        Content-MD5: md5==\r\n\
        Content-Disposition: attachment; filename=\"a.pdf\"\r\n\
        Content-Language: en, de\r\n\
        \r\n\
        QUJD\r\n\
        --b\r\n\
        Content-Type: message/rfc822\r\n\
        \r\n\
        From: a@b\r\n\
        Subject: inner\r\n\
        \r\n\
        inner body\r\n\
        --b--\r\n";

    #[test]
    fn a_multipart_with_every_extension_member() {
        let pdf =
            "(\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<id@x>\" \"A file\" \"BASE64\" 4";
        let envelope = "(NIL \"inner\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) \
            ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)";
        let inner = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 10 0";
        let message = "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 39";
        assert_eq!(
            bs(MIXED.as_bytes(), false),
            format!("({pdf}){message} {envelope} {inner}) 3) \"mixed\")")
        );
        assert_eq!(
            bs(MIXED.as_bytes(), true),
            format!(
                "({pdf} \"md5==\" (\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\") NIL)\
                 {message} {envelope} {inner} NIL NIL NIL NIL) 3 NIL NIL NIL NIL) \
                 \"mixed\" (\"boundary\" \"b\" \"x\" \"y\") (\"inline\" NIL) (\"en\") \"loc\")"
            )
        );
    }

    #[test]
    fn a_multipart_without_parts_shows_one_empty_text_part() {
        let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\nno delimiter\r\n";
        assert_eq!(
            bs(raw, false),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"mixed\")"
        );
        assert_eq!(
            bs(raw, true),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) \
             \"mixed\" (\"boundary\" \"x\") NIL NIL NIL)"
        );
    }

    #[test]
    fn odd_values_are_written_as_they_are() {
        let raw = b"Content-Type: text/plain; name=\"caf\xe9\"\r\nContent-Transfer-Encoding: X-Foo\r\n\r\n";
        let mut out = Vec::new();
        bodystructure(raw, false, &mut out);
        assert_eq!(
            out,
            b"(\"text\" \"plain\" (\"name\" {4}\r\ncaf\xe9 \"charset\" \"us-ascii\") NIL NIL \"X-Foo\" 0 0)"
        );
        // message/global is described like message/rfc822 (RFC 9051 body-type-msg).
        let raw = b"Content-Type: message/global\r\n\r\nSubject: s\r\n\r\n";
        assert_eq!(
            bs(raw, false),
            "(\"message\" \"global\" NIL NIL NIL \"7BIT\" 14 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) \
             (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) 2)"
        );
    }

    #[test]
    fn messages_past_the_nesting_limit_show_an_envelope_and_an_empty_body() {
        let mut raw = "Content-Type: message/rfc822\r\n\r\n".repeat(mime::MAX_DEPTH + 10);
        raw.push_str("Subject: deep\r\n\r\nx");
        let out = bs(raw.as_bytes(), true);
        assert_eq!(
            out.matches("(\"message\" \"rfc822\" ").count(),
            mime::MAX_DEPTH + 1
        );
        let innermost = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) \
            (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)";
        assert_eq!(out.matches(innermost).count(), 1);
        let depth = out.bytes().try_fold(0i32, |depth, b| {
            let depth = depth + i32::from(b == b'(') - i32::from(b == b')');
            (depth >= 0).then_some(depth)
        });
        assert_eq!(depth, Some(0));
    }
}
