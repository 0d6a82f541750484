//! ENVELOPE (RFC 9051 7.5.2): the date, subject, address fields and identifiers of a
//! message header, as IMAP's parenthesized structure.
//!
//! The address fields are read with a tolerant reader of RFC 5322 3.4 (obsolete forms
//! of section 4 included), not with `message::parse_address_list`: that grammar
//! decides security and so refuses what mail cannot be sent to, drops comments and
//! source routes, and normalizes domains, while ENVELOPE must show every stored
//! message as written. Here the display name falls back to a comment after the address
//! (`user@host (Real Name)`), a source route is the `adl` member, the host keeps its
//! case, and a broken address becomes what Dovecot shows for it (`MISSING_DOMAIN`,
//! `MISSING_MAILBOX`, `SYNTAX_ERROR`, `INVALID_ROUTE`) instead of losing the field.
//! Encoded-words stay encoded, as RFC 9051 requires.

use std::borrow::Cow;

use super::encode::nstring;
use crate::message::mime;

/// Writes the ENVELOPE of the message (or header section) `raw`:
/// `(date subject from sender reply-to to cc bcc in-reply-to message-id)`.
pub fn envelope(raw_header_or_message: &[u8], out: &mut Vec<u8>) {
    const NAMES: [&str; 10] = [
        "date",
        "subject",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "in-reply-to",
        "message-id",
    ];
    // RFC 5322 allows each of these fields once; of a repeated one the first counts,
    // the one a reader of the header meets first.
    let mut found: [Option<&[u8]>; 10] = [None; 10];
    for field in mime::fields(raw_header_or_message) {
        if let Some(k) = NAMES
            .iter()
            .position(|n| field.name.eq_ignore_ascii_case(n.as_bytes()))
        {
            found[k].get_or_insert(field.value);
        }
    }
    let [
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    ] = found;
    let from = addresses(from);
    // RFC 9051: an absent or empty Sender or Reply-To is the From member.
    let sender = addresses(sender).or_else(|| from.clone());
    let reply_to = addresses(reply_to).or_else(|| from.clone());
    out.push(b'(');
    text(out, date);
    out.push(b' ');
    text(out, subject);
    for list in [
        from,
        sender,
        reply_to,
        addresses(to),
        addresses(cc),
        addresses(bcc),
    ] {
        out.push(b' ');
        write_addresses(out, list.as_deref());
    }
    out.push(b' ');
    text(out, in_reply_to);
    out.push(b' ');
    text(out, message_id);
    out.push(b')');
}

/// An unstructured member: the unfolded value, NIL when the field is absent, the empty
/// string when it is empty (RFC 9051 7.5.2).
fn text(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => nstring(out, Some(&clean(mime::unfold(v)))),
        None => nstring(out, None),
    }
}

/// `s` without octets IMAP strings cannot carry or that would turn a member into a
/// literal for no reason: NUL, and the CR or LF left by a broken fold, become spaces.
pub(super) fn clean(s: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    if s.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
        Cow::Owned(
            s.iter()
                .map(|&b| {
                    if matches!(b, 0 | b'\r' | b'\n') {
                        b' '
                    } else {
                        b
                    }
                })
                .collect(),
        )
    } else {
        s
    }
}

/// One address structure (RFC 9051 `address`). A group is a start marker (mailbox =
/// group name, host NIL), its members, and an end marker (all NIL).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    name: Option<Vec<u8>>,
    adl: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
}

/// `(` 1*address `)`, or NIL for no addresses. RFC 9051's ABNF puts no space between
/// the addresses.
fn write_addresses(out: &mut Vec<u8>, list: Option<&[Address]>) {
    let Some(list) = list else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    for a in list {
        out.push(b'(');
        for (i, member) in [&a.name, &a.adl, &a.mailbox, &a.host]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push(b' ');
            }
            nstring(
                out,
                member
                    .as_deref()
                    .map(|m| clean(Cow::Borrowed(m)))
                    .as_deref(),
            );
        }
        out.push(b')');
    }
    out.push(b')');
}

/// The addresses of an address field's value; `None` when the field is absent or has
/// none.
fn addresses(value: Option<&[u8]>) -> Option<Vec<Address>> {
    let tokens = lex(value?);
    let mut p = AddressParser {
        tokens: &tokens,
        i: 0,
        out: Vec::new(),
    };
    p.address_list();
    (!p.out.is_empty()).then_some(p.out)
}

/// The lexical tokens of RFC 5322 3.2 that addresses are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom (8-bit octets allowed, as RFC 6532 does and stored mail needs).
    Atom(Vec<u8>),
    /// A quoted string's content, quoted pairs resolved.
    Quoted(Vec<u8>),
    /// A domain literal, brackets included, as written.
    Literal(Vec<u8>),
    /// A comment's content, outer parentheses removed.
    Comment(Vec<u8>),
    /// One of `<>@,;:.` and a stray `)`, `]` or `\`.
    Special(u8),
}

/// A token and whether white space or a comment came before it: display names join
/// their words with a space only where the message had one (`J.R. Smith`).
type Lexed = (Token, bool);

/// Splits an address field value into tokens. CR and LF (folding) are white space.
/// Unterminated quoted strings, comments and literals run to the end.
fn lex(s: &[u8]) -> Vec<Lexed> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < s.len() {
        let b = s[i];
        let token = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                i += 1;
                continue;
            }
            b'"' => {
                let mut text = Vec::new();
                i += 1;
                while i < s.len() && s[i] != b'"' {
                    if s[i] == b'\\' && i + 1 < s.len() {
                        i += 1;
                    }
                    if !matches!(s[i], b'\r' | b'\n') {
                        text.push(s[i]);
                    }
                    i += 1;
                }
                i += 1;
                Token::Quoted(text)
            }
            b'(' => {
                let mut text = Vec::new();
                let mut depth = 0usize;
                while i < s.len() {
                    let c = s[i];
                    i += 1;
                    match c {
                        b'\\' if i < s.len() => {
                            text.push(s[i]);
                            i += 1;
                            continue;
                        }
                        b'(' => {
                            depth += 1;
                            if depth == 1 {
                                continue;
                            }
                        }
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\r' | b'\n' => continue,
                        _ => {}
                    }
                    text.push(c);
                }
                Token::Comment(text)
            }
            b'[' => {
                let start = i;
                while i < s.len() && s[i] != b']' {
                    i += if s[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(s.len());
                let literal = s[start..i]
                    .iter()
                    .copied()
                    .filter(|&c| !matches!(c, b'\r' | b'\n'));
                Token::Literal(literal.collect())
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' | b')' | b']' | b'\\' => {
                i += 1;
                Token::Special(b)
            }
            _ => {
                let start = i;
                while i < s.len() && is_atom_octet(s[i]) {
                    i += 1;
                }
                Token::Atom(s[start..i].to_vec())
            }
        };
        let comment = matches!(token, Token::Comment(_));
        tokens.push((token, std::mem::take(&mut space)));
        // A comment separates words like white space does.
        space = comment;
    }
    tokens
}

/// atext (RFC 5322 3.2.3) and the octets RFC 5322 has no place for (controls, 8-bit),
/// which stored mail has and which are kept rather than lost.
fn is_atom_octet(b: u8) -> bool {
    !matches!(
        b,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b'"'
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'.'
            | b'\\'
    )
}

/// A recursive-descent reader of `address-list` over the tokens, which always
/// progresses: what it cannot read it skips to the next `,` (or `;` in a group).
struct AddressParser<'t> {
    tokens: &'t [Lexed],
    i: usize,
    out: Vec<Address>,
}

impl AddressParser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens[self.i..]
            .iter()
            .map(|(t, _)| t)
            .find(|t| !matches!(t, Token::Comment(_)))
    }

    /// Moves past comments, returning the content of the last one.
    fn comments(&mut self) -> Option<Vec<u8>> {
        let mut last = None;
        while let Some((Token::Comment(c), _)) = self.tokens.get(self.i) {
            last = Some(c.clone());
            self.i += 1;
        }
        last
    }

    fn is_special(&self, b: u8) -> bool {
        self.peek() == Some(&Token::Special(b))
    }

    /// Consumes the special `b` (and the comments before it) if it is next.
    fn eat(&mut self, b: u8) -> bool {
        if !self.is_special(b) {
            return false;
        }
        self.comments();
        self.i += 1;
        true
    }

    fn address_list(&mut self) {
        while self.peek().is_some() {
            // Empty elements (`a@b, , c@d`) are obs-addr-list.
            if self.eat(b',') {
                continue;
            }
            let start = self.i;
            if self.group_ahead() {
                self.group();
            } else {
                self.mailbox(false);
            }
            if !self.eat(b',') && self.peek().is_some() {
                self.skip_to(b",", start);
            }
        }
    }

    /// Whether a `:` comes before the next `<`, `@`, `,` or `;`: the address is a
    /// group (`name: members;`), not a mailbox.
    fn group_ahead(&self) -> bool {
        for (t, _) in &self.tokens[self.i..] {
            match t {
                Token::Special(b':') => return true,
                Token::Special(b'<' | b'@' | b',' | b';' | b'>') => return false,
                _ => {}
            }
        }
        false
    }

    /// `display-name ":" [mailbox-list / CFWS] ";"`, the `;` tolerated missing.
    fn group(&mut self) {
        let name = self.phrase();
        self.eat(b':');
        self.out.push(Address {
            name: None,
            adl: None,
            mailbox: Some(name),
            host: None,
        });
        while self.peek().is_some() && !self.eat(b';') {
            if self.eat(b',') {
                continue;
            }
            let start = self.i;
            self.mailbox(true);
            if !self.eat(b',') && !self.is_special(b';') && self.peek().is_some() {
                self.skip_to(b",;", start);
            }
        }
        self.comments();
        self.out.push(Address {
            name: None,
            adl: None,
            mailbox: None,
            host: None,
        });
    }

    /// Skips to the next of `stops` (not consuming it), making sure to have moved past
    /// `start`.
    fn skip_to(&mut self, stops: &[u8], start: usize) {
        if self.i == start {
            self.i += 1;
        }
        while let Some((t, _)) = self.tokens.get(self.i) {
            if matches!(t, Token::Special(b) if stops.contains(b)) {
                return;
            }
            self.i += 1;
        }
    }

    /// `name-addr / addr-spec`. In a group, `;` ends it too.
    fn mailbox(&mut self, in_group: bool) {
        let angle = self.tokens[self.i..]
            .iter()
            .map(|(t, _)| t)
            .take_while(|t| match t {
                Token::Special(b) => *b != b',' && !(in_group && *b == b';'),
                _ => true,
            })
            .any(|t| *t == Token::Special(b'<'));
        if angle {
            let name = self.display_name();
            self.eat(b'<');
            let mut address = self.angle_addr();
            address.name = (!name.is_empty()).then_some(name);
            self.out.push(address);
        } else {
            let spec = self.addr_spec();
            if spec.mailbox.is_none() && spec.host.is_none() {
                // Nothing of an address here (a stray `)`): junk, not an address.
                return;
            }
            // No display name: a comment in or after the address is the name, as in
            // the old `user@host (Real Name)` form.
            let name = spec.comment.clone().filter(|c| !c.is_empty());
            let mut address = Address::from(spec);
            address.name = name;
            self.out.push(address);
        }
    }

    /// After `<`: `[obs-route] addr-spec ">"`.
    fn angle_addr(&mut self) -> Address {
        let mut adl = None;
        if self.is_special(b'@') {
            let mut route = Vec::new();
            while self.eat(b'@') {
                if !route.is_empty() {
                    route.push(b',');
                }
                route.push(b'@');
                route.extend_from_slice(&self.domain());
                while self.eat(b',') {}
            }
            adl = Some(if self.eat(b':') {
                route
            } else {
                b"INVALID_ROUTE".to_vec()
            });
        }
        let mut address = Address::from(self.addr_spec());
        address.adl = adl;
        if self.eat(b'>') {
            return address;
        }
        // A missing `>` at the end of the address is forgiven; anything else before
        // the `>` means the address is not what it seems.
        if self
            .peek()
            .is_some_and(|t| !matches!(t, Token::Special(b',' | b';')))
        {
            address.host = Some(b"SYNTAX_ERROR".to_vec());
            while let Some(t) = self.peek() {
                if matches!(t, Token::Special(b',' | b';')) {
                    break;
                }
                let close = *t == Token::Special(b'>');
                self.comments();
                self.i += 1;
                if close {
                    break;
                }
            }
        }
        address
    }

    /// `local-part "@" domain`, either side possibly missing.
    fn addr_spec(&mut self) -> Spec {
        let mut comment = None;
        let mut local = Vec::new();
        let mut words = false;
        loop {
            if let Some(c) = self.comments() {
                comment = Some(c);
            }
            match self.tokens.get(self.i).map(|(t, _)| t) {
                Some(Token::Atom(w) | Token::Quoted(w)) => {
                    // Two words without a dot (`john doe@example.org`) are not a
                    // local part; keeping the space makes the result say so (quoted).
                    if words && local.last() != Some(&b'.') {
                        local.push(b' ');
                    }
                    local.extend_from_slice(w);
                }
                Some(Token::Special(b'.')) => local.push(b'.'),
                _ => break,
            }
            words = true;
            self.i += 1;
        }
        let mut host = None;
        if self.eat(b'@') {
            host = Some(self.domain()).filter(|d| !d.is_empty());
        }
        if let Some(c) = self.comments() {
            comment = Some(c);
        }
        Spec {
            mailbox: words.then(|| local_part(local)),
            host,
            comment,
        }
    }

    /// `dot-atom / domain-literal / obs-domain`, as written (case kept). Comments
    /// within it are skipped; one after it is left for the caller (it may be the name).
    fn domain(&mut self) -> Vec<u8> {
        let mut domain = Vec::new();
        let mut want_label = true;
        loop {
            let next = self.i
                + self.tokens[self.i..]
                    .iter()
                    .take_while(|(t, _)| matches!(t, Token::Comment(_)))
                    .count();
            match self.tokens.get(next).map(|(t, _)| t) {
                Some(Token::Atom(w) | Token::Literal(w)) if want_label => {
                    domain.extend_from_slice(w);
                    want_label = false;
                }
                Some(Token::Special(b'.')) => {
                    domain.push(b'.');
                    want_label = true;
                }
                _ => return domain,
            }
            self.i = next + 1;
        }
    }

    /// A group name: words joined by one space where the message had white space or a
    /// comment between them, quoted strings unquoted, `.` kept (obs-phrase), comments
    /// dropped; up to the `:`.
    fn phrase(&mut self) -> Vec<u8> {
        self.words(|t| matches!(t, Token::Special(b'.')))
    }

    /// The display name before `<`: a phrase, but any other token before the `<` is
    /// kept in it too (`john@example.org <john@example.org>` is common), rather than
    /// turning the address into a syntax error.
    fn display_name(&mut self) -> Vec<u8> {
        self.words(|t| !matches!(t, Token::Special(b'<')))
    }

    /// Joins words and the tokens `more` accepts, up to the first it does not.
    fn words(&mut self, more: impl Fn(&Token) -> bool) -> Vec<u8> {
        let mut text = Vec::new();
        while let Some((t, space)) = self.tokens.get(self.i) {
            let special;
            let word: &[u8] = match t {
                Token::Comment(_) => {
                    self.i += 1;
                    continue;
                }
                Token::Atom(w) | Token::Quoted(w) => w,
                Token::Literal(w) if more(t) => w,
                Token::Special(b) if more(t) => {
                    special = [*b];
                    &special
                }
                _ => break,
            };
            if *space && !text.is_empty() {
                text.push(b' ');
            }
            text.extend_from_slice(word);
            self.i += 1;
        }
        text
    }
}

/// An addr-spec as read, before it becomes an [`Address`].
struct Spec {
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
    /// The last comment inside or right after it.
    comment: Option<Vec<u8>>,
}

impl From<Spec> for Address {
    fn from(spec: Spec) -> Address {
        Address {
            name: None,
            adl: None,
            mailbox: Some(spec.mailbox.unwrap_or_else(|| b"MISSING_MAILBOX".to_vec())),
            host: Some(spec.host.unwrap_or_else(|| b"MISSING_DOMAIN".to_vec())),
        }
    }
}

/// The local part as addr-spec text, so that `mailbox "@" host` is the address: as
/// written when that is a dot-atom (`"john"` becomes `john`), else one quoted string
/// (`"a b"` stays `"a b"`).
fn local_part(text: Vec<u8>) -> Vec<u8> {
    let dot_atom = text
        .split(|&b| b == b'.')
        .all(|atom| !atom.is_empty() && atom.iter().all(|&b| is_atext(b)));
    if dot_atom {
        return text;
    }
    let mut quoted = Vec::with_capacity(text.len() + 2);
    quoted.push(b'"');
    for b in text {
        if matches!(b, b'"' | b'\\') {
            quoted.push(b'\\');
        }
        quoted.push(b);
    }
    quoted.push(b'"');
    quoted
}

/// RFC 5322 atext, with RFC 6532's UTF-8 (any 8-bit octet).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::section::imaptest;

    #[test]
    fn imaptest_fetch_envelope() {
        imaptest::assert_script("fetch-envelope");
    }

    fn env(header: &str) -> String {
        let mut out = Vec::new();
        envelope(header.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The address list ENVELOPE gives for a To field with `value`.
    fn to(value: &str) -> String {
        let e = env(&format!("To:{value}\r\n\r\nbody"));
        let start = "(NIL NIL NIL NIL NIL ".len();
        e[start..e.len() - " NIL NIL NIL NIL)".len()].to_string()
    }

    #[test]
    fn every_member_in_order() {
        let header = "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n\
            Subject: Saying\r\n Hello\r\n\
            From: John Doe <jdoe@machine.example>\r\n\
            Sender: Michael Jones <mjones@machine.example>\r\n\
            Reply-To: \"Mary Smith: Personal Account\" <smith@home.example>\r\n\
            To: Mary Smith <mary@example.net>\r\n\
            Cc: <boss@nil.test>\r\n\
            Bcc: b@example.org\r\n\
            In-Reply-To: <1234@local.machine.example>\r\n\
            Message-ID: <5678.21-Nov-1997@example.com>\r\n\
            \r\n\
            Subject: not a field, the body\r\n";
        assert_eq!(
            env(header),
            "(\"Fri, 21 Nov 1997 09:55:06 -0600\" \"Saying Hello\" \
             ((\"John Doe\" NIL \"jdoe\" \"machine.example\")) \
             ((\"Michael Jones\" NIL \"mjones\" \"machine.example\")) \
             ((\"Mary Smith: Personal Account\" NIL \"smith\" \"home.example\")) \
             ((\"Mary Smith\" NIL \"mary\" \"example.net\")) \
             ((NIL NIL \"boss\" \"nil.test\")) \
             ((NIL NIL \"b\" \"example.org\")) \
             \"<1234@local.machine.example>\" \"<5678.21-Nov-1997@example.com>\")"
        );
    }

    #[test]
    fn absent_members_are_nil_and_empty_ones_empty() {
        assert_eq!(env(""), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        assert_eq!(
            env("Subject:\r\nDate:  \r\nTo:\r\n\r\n"),
            "(\"\" \"\" NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
        // Sender and Reply-To, absent or empty, are From (RFC 9051 7.5.2).
        assert_eq!(
            env("From: a@b\r\nSender: \r\n\r\n"),
            "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) \
             NIL NIL NIL NIL NIL)"
        );
        // The first of a repeated field counts.
        assert!(env("Subject: one\r\nSubject: two\r\n").starts_with("(NIL \"one\" "));
    }

    #[test]
    fn rfc5322_appendix_a_addresses() {
        assert_eq!(
            to(" \"Joe Q. Public\" <john.q.public@example.com>"),
            "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))"
        );
        assert_eq!(
            to(" Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
            "((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" \"example.org\")\
             (\"Who?\" NIL \"one\" \"y.test\"))"
        );
        assert_eq!(
            to(" <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
            "((NIL NIL \"boss\" \"nil.test\")(\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" \"example.net\"))"
        );
        assert_eq!(
            to(" A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
            "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")\
             (NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL))"
        );
        assert_eq!(
            to(" Undisclosed recipients:;"),
            "((NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL))"
        );
        // A.5: white space and comments.
        assert_eq!(
            to(" Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            "((\"Pete\" NIL \"pete\" \"silly.test\"))"
        );
        assert_eq!(
            to(
                "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n \
                joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)"
            ),
            "((NIL NIL \"A Group\" NIL)(\"Chris Jones\" NIL \"c\" \"public.example\")\
             (NIL NIL \"joe\" \"example.org\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL))"
        );
        // A.6: obsolete forms.
        assert_eq!(
            to(" Joe Q. Public <john.q.public@example.com>"),
            "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))"
        );
        assert_eq!(
            to(" Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"),
            "((\"Mary Smith\" \"@node.test\" \"mary\" \"example.net\")(NIL NIL \"jdoe\" \"test.example\"))"
        );
        assert_eq!(
            to(" John Doe <jdoe@machine(comment).  example>"),
            "((\"John Doe\" NIL \"jdoe\" \"machine.example\"))"
        );
        assert_eq!(
            to(" <@a.test,,@b.test:x@c.test>"),
            "((NIL \"@a.test,@b.test\" \"x\" \"c.test\"))"
        );
    }

    #[test]
    fn names_come_from_a_comment_when_there_is_no_phrase() {
        assert_eq!(
            to(" user@domain (Real Name)"),
            "((\"Real Name\" NIL \"user\" \"domain\"))"
        );
        assert_eq!(
            to(" Phrase <user@domain> (comment)"),
            "((\"Phrase\" NIL \"user\" \"domain\"))"
        );
        assert_eq!(to(" \"\" <a@b>"), "((NIL NIL \"a\" \"b\"))");
    }

    #[test]
    fn values_are_kept_as_written() {
        // Case, encoded-words and UTF-8 as in the message.
        assert_eq!(
            to(" =?utf-8?q?J=C3=B6rg?= <J.Doe@Example.COM>"),
            "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"J.Doe\" \"Example.COM\"))"
        );
        assert_eq!(
            to(" Jörg <jörg@bücher.example>"),
            "((\"Jörg\" NIL \"jörg\" \"bücher.example\"))"
        );
        // The mailbox is a local part as it would be written: quoted only when needed.
        assert_eq!(
            to(" \"john\"@a, \"a b\"@c, \"x\\\"y\"@d, \"\"@e"),
            "((NIL NIL \"john\" \"a\")(NIL NIL \"\\\"a b\\\"\" \"c\")\
             (NIL NIL \"\\\"x\\\\\\\"y\\\"\" \"d\")(NIL NIL \"\\\"\\\"\" \"e\"))"
        );
        assert_eq!(to(" a@[192.0.2.1]"), "((NIL NIL \"a\" \"[192.0.2.1]\"))");
        // 8-bit text that is not UTF-8 goes as a literal; NUL becomes a space.
        let mut out = Vec::new();
        envelope(b"Subject: caf\xe9\x00\r\n", &mut out);
        assert_eq!(
            out,
            b"(NIL {5}\r\ncaf\xe9  NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
    }

    #[test]
    fn broken_addresses_are_shown_not_dropped() {
        assert_eq!(
            to(" undisclosed-recipients"),
            "((NIL NIL \"undisclosed-recipients\" \"MISSING_DOMAIN\"))"
        );
        assert_eq!(
            to(" @example.org, a@"),
            "((NIL NIL \"MISSING_MAILBOX\" \"example.org\")(NIL NIL \"a\" \"MISSING_DOMAIN\"))"
        );
        assert_eq!(to(" Name <a@b"), "((\"Name\" NIL \"a\" \"b\"))");
        assert_eq!(
            to(" Name <a@b junk>, c@d"),
            "((\"Name\" NIL \"a\" \"SYNTAX_ERROR\")(NIL NIL \"c\" \"d\"))"
        );
        assert_eq!(to(" <@route a@b>"), "((NIL \"INVALID_ROUTE\" \"a\" \"b\"))");
        // A name with an address in it, as some mailers write.
        assert_eq!(
            to(" a@b.example <a@b.example>"),
            "((\"a@b.example\" NIL \"a\" \"b.example\"))"
        );
        // Junk between addresses is skipped; the addresses around it are kept.
        assert_eq!(
            to(" a@b ) ] > c, d@e"),
            "((NIL NIL \"a\" \"b\")(NIL NIL \"d\" \"e\"))"
        );
        // Nothing but junk or separators: no addresses.
        assert_eq!(to(" , ,"), "NIL");
        assert_eq!(to(" ) , ] ,"), "NIL");
        assert_eq!(
            to(" <>"),
            "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"
        );
        assert_eq!(to(" (just a comment)"), "NIL");
        // A group without its `;`.
        assert_eq!(
            to(" g: a@b"),
            "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))"
        );
    }
}
