//! SORT (RFC 5256 3) with the DISPLAYFROM and DISPLAYTO keys of SORT=DISPLAY (RFC
//! 5957), the order-keeping sequence sets of ESORT (RFC 5267 3), and i;unicode-casemap (RFC 5051),
//! the collation SORT and THREAD compare strings with: RFC 5256 requires the collation
//! rules of I18NLEVEL=1 (RFC 5255), whose default collation it is.
//!
//! The session reads one [`SortFields`] per message from its header section, and
//! [`sort`] orders them. Messages whose keys are all equal keep mailbox order (sequence
//! number, which UIDs follow), whatever REVERSE says: RFC 5256 makes that order the
//! last, implicit key.

use mail_parser::HeaderValue;

use super::subject::{BaseSubject, parse_value};
use crate::message::mime;

/// A SORT key (RFC 5256 3, RFC 5957 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// The internal date and time.
    Arrival,
    /// The addr-mailbox of the first Cc address.
    Cc,
    /// The sent date and time: the Date field, else the internal date (RFC 5256 2.2).
    Date,
    /// The addr-mailbox of the first From address.
    From,
    /// RFC822.SIZE.
    Size,
    /// The base subject (RFC 5256 2.1).
    Subject,
    /// The addr-mailbox of the first To address.
    To,
    /// The display name of the first From address, else its address (RFC 5957 3).
    DisplayFrom,
    /// The display name of the first To address, else its address (RFC 5957 3).
    DisplayTo,
}

impl SortKey {
    /// Every key, in the order RFC 5256 and RFC 5957 list them.
    pub const ALL: [SortKey; 9] = [
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];

    /// The key's name in a SORT command.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Arrival => "ARRIVAL",
            SortKey::Cc => "CC",
            SortKey::Date => "DATE",
            SortKey::From => "FROM",
            SortKey::Size => "SIZE",
            SortKey::Subject => "SUBJECT",
            SortKey::To => "TO",
            SortKey::DisplayFrom => "DISPLAYFROM",
            SortKey::DisplayTo => "DISPLAYTO",
        }
    }
}

/// One key of a SORT command, REVERSE or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// REVERSE: descending order for this key only (RFC 5256 3).
    pub reverse: bool,
    pub key: SortKey,
}

/// What SORT compares of one message. Strings are kept as the message has them (the
/// session may show or log them); [`sort`] applies the collation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortFields {
    /// The number the result lists: the sequence number for SORT, the UID for UID SORT.
    /// Both grow in mailbox order, which is the order of messages whose keys tie.
    pub number: u32,
    /// The internal date, in seconds since the Unix epoch.
    pub arrival: i64,
    /// The Date field in seconds since the Unix epoch (UTC), `None` when the field is
    /// absent or cannot be read; see [`SortFields::date`].
    pub sent_date: Option<i64>,
    /// RFC822.SIZE.
    pub size: u64,
    /// The base subject.
    pub subject: String,
    /// The addr-mailbox (local part, as ENVELOPE shows it) of the first From address;
    /// empty without one.
    pub from: String,
    /// The addr-mailbox of the first To address.
    pub to: String,
    /// The addr-mailbox of the first Cc address.
    pub cc: String,
    /// The DISPLAYFROM value (RFC 5957 3): the first From address's display name with
    /// its encoded-words decoded; without one, `mailbox@host`; empty without an address.
    pub display_from: String,
    /// The DISPLAYTO value, likewise from the first To address.
    pub display_to: String,
}

impl SortFields {
    /// The fields of a message with header section (or whole message) `header`,
    /// internal date `arrival` and RFC822.SIZE `size`. Of a field given twice the first
    /// counts, as in ENVELOPE.
    pub fn from_header(number: u32, header: &[u8], arrival: i64, size: u64) -> SortFields {
        let [subject, date] = first_fields(header, ["subject", "date"]);
        let [from, to, cc] = envelope_addresses(header);
        SortFields {
            number,
            arrival,
            sent_date: date.and_then(sent_date),
            size,
            subject: subject
                .map(BaseSubject::from_field)
                .unwrap_or_default()
                .text,
            from: from.mailbox(),
            to: to.mailbox(),
            cc: cc.mailbox(),
            display_from: from.display(),
            display_to: to.display(),
        }
    }

    /// The sent date SORT DATE uses: the Date field, else the internal date (RFC 5256
    /// 2.2).
    pub fn date(&self) -> i64 {
        self.sent_date.unwrap_or(self.arrival)
    }

    /// The value this message sorts by for `key`, collation applied.
    fn key(&self, key: SortKey) -> Key {
        match key {
            SortKey::Arrival => Key::Time(self.arrival),
            SortKey::Date => Key::Time(self.date()),
            SortKey::Size => Key::Size(self.size),
            SortKey::Subject => Key::Text(casemap(&self.subject)),
            SortKey::From => Key::Text(casemap(&self.from)),
            SortKey::To => Key::Text(casemap(&self.to)),
            SortKey::Cc => Key::Text(casemap(&self.cc)),
            SortKey::DisplayFrom => Key::Text(casemap(&self.display_from)),
            SortKey::DisplayTo => Key::Text(casemap(&self.display_to)),
        }
    }
}

/// A sort value. One criterion always gives the same variant, so only like values are
/// compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Time(i64),
    Size(u64),
    /// Canonicalized by [`casemap`]: comparing these octets is comparing by the
    /// collation.
    Text(String),
}

/// The numbers of `messages` in the order of `criteria` (RFC 5256 3): by the first key,
/// ties by the next, and what ties on every key by number. Each key's values are
/// computed once, not at every comparison.
pub fn sort(messages: &[SortFields], criteria: &[SortCriterion]) -> Vec<u32> {
    let mut rows: Vec<(Vec<Key>, u32)> = messages
        .iter()
        .map(|m| (criteria.iter().map(|c| m.key(c.key)).collect(), m.number))
        .collect();
    rows.sort_by(|(a, a_number), (b, b_number)| {
        a.iter()
            .zip(b)
            .zip(criteria)
            .map(|((a, b), c)| if c.reverse { b.cmp(a) } else { a.cmp(b) })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a_number.cmp(b_number))
    });
    rows.into_iter().map(|(_, number)| number).collect()
}

/// The first value of each of `names` among the fields of the header section at the
/// start of `header`: RFC 5322 allows these fields once, and of a repeated one the first
/// counts, as ENVELOPE has it.
pub(super) fn first_fields<'h, const N: usize>(
    header: &'h [u8],
    names: [&str; N],
) -> [Option<&'h [u8]>; N] {
    let mut found = [None; N];
    for field in mime::fields(header) {
        let name = names
            .iter()
            .position(|n| field.name.eq_ignore_ascii_case(n.as_bytes()));
        if let Some(slot) = name.and_then(|k| found.get_mut(k)) {
            slot.get_or_insert(field.value);
        }
    }
    found
}

/// A Date field value as seconds since the Unix epoch, in UTC; `None` if it cannot be
/// read, for which RFC 5256 2.2 has the internal date used.
pub(super) fn sent_date(raw_value: &[u8]) -> Option<i64> {
    parse_value(raw_value, |value| match value.parse_date() {
        HeaderValue::DateTime(date) if date.is_valid() => Some(date.to_timestamp()),
        _ => None,
    })
    .flatten()
}

// ---- addresses, from ENVELOPE ------------------------------------------------------

/// The first address structure of an address member of ENVELOPE (RFC 9051 7.5.2), its
/// members NIL when `None`. RFC 5256 and RFC 5957 define the address keys on these
/// members (addr-name, addr-mailbox, addr-host), so they are read back from the ENVELOPE
/// gannet writes rather than by a second parser that could disagree with it; groups
/// included, where the first structure is the group's start (its name as addr-mailbox,
/// no host).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct EnvelopeAddress {
    name: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
}

impl EnvelopeAddress {
    /// The FROM, TO and CC value: addr-mailbox, or empty.
    fn mailbox(&self) -> String {
        lossy(self.mailbox.as_deref().unwrap_or_default())
    }

    /// The DISPLAYFROM and DISPLAYTO value (RFC 5957 3): the addr-name with encoded-words
    /// decoded if that leaves text, else `addr-mailbox@addr-host`, else addr-mailbox,
    /// else empty.
    fn display(&self) -> String {
        let name = self.name.as_deref().map(super::subject::decode_text);
        if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
            return name;
        }
        match (&self.mailbox, &self.host) {
            (Some(mailbox), Some(host)) => format!("{}@{}", lossy(mailbox), lossy(host)),
            (Some(mailbox), None) => lossy(mailbox),
            _ => String::new(),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The first addresses of From, To and Cc (ENVELOPE members 3, 6 and 7); all NIL where
/// a field is absent or has none.
fn envelope_addresses(header: &[u8]) -> [EnvelopeAddress; 3] {
    let mut envelope = Vec::new();
    super::envelope(header, &mut envelope);
    let members = match read_item(&envelope, &mut 0, 0) {
        Some(Item::List(members)) => members,
        _ => Vec::new(),
    };
    [2, 5, 6].map(|k| members.get(k).map(first_address).unwrap_or_default())
}

/// The first address structure of an ENVELOPE address list (`NIL` or `(` 1*address
/// `)`).
fn first_address(list: &Item) -> EnvelopeAddress {
    let Item::List(addresses) = list else {
        return EnvelopeAddress::default();
    };
    let Some(Item::List(members)) = addresses.first() else {
        return EnvelopeAddress::default();
    };
    let text = |k: usize| match members.get(k) {
        Some(Item::Text(t)) => Some(t.clone()),
        _ => None,
    };
    EnvelopeAddress {
        name: text(0),
        mailbox: text(2),
        host: text(3),
    }
}

/// A value of ENVELOPE's response syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Nil,
    Text(Vec<u8>),
    List(Vec<Item>),
}

/// ENVELOPE nests three deep (envelope, address list, address); more is not ENVELOPE.
const ENVELOPE_DEPTH: usize = 3;

/// Reads the value at `*at` of `s` (a parenthesized list, NIL, a quoted string or a
/// literal) and moves past it; `None` for anything else.
fn read_item(s: &[u8], at: &mut usize, depth: usize) -> Option<Item> {
    match *s.get(*at)? {
        b'(' if depth < ENVELOPE_DEPTH => {
            *at += 1;
            let mut items = Vec::new();
            loop {
                match *s.get(*at)? {
                    b')' => {
                        *at += 1;
                        return Some(Item::List(items));
                    }
                    b' ' => *at += 1,
                    _ => items.push(read_item(s, at, depth + 1)?),
                }
            }
        }
        b'"' => read_quoted(s, at).map(Item::Text),
        b'{' => read_literal(s, at).map(Item::Text),
        b'N' if s.get(*at..*at + 3) == Some(b"NIL") => {
            *at += 3;
            Some(Item::Nil)
        }
        _ => None,
    }
}

/// A quoted string at `*at`, its backslash escapes resolved.
fn read_quoted(s: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    *at += 1;
    loop {
        let b = *s.get(*at)?;
        *at += 1;
        match b {
            b'"' => return Some(text),
            b'\\' => {
                text.push(*s.get(*at)?);
                *at += 1;
            }
            _ => text.push(b),
        }
    }
}

/// A literal at `*at`: `{` size `}` CRLF and that many octets.
fn read_literal(s: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let rest = s.get(*at + 1..)?;
    let close = rest.iter().position(|&b| b == b'}')?;
    let size: usize = std::str::from_utf8(rest.get(..close)?).ok()?.parse().ok()?;
    let start = *at + 1 + close + 1 + 2;
    let text = s.get(start..start.checked_add(size)?)?;
    *at = start + size;
    Some(text.to_vec())
}

// ---- ESORT -------------------------------------------------------------------------

/// `numbers` as a sequence-set that keeps their order, for ESORT's results: runs of
/// consecutive ascending numbers become `first:last`, everything else is listed one by
/// one (a descending `9:7` would read as 7 to 9); `None` for no numbers.
pub fn sequence_set(numbers: &[u32]) -> Option<String> {
    let (&first, rest) = numbers.split_first()?;
    let mut out = first.to_string();
    let mut run_end = first;
    let mut in_run = false;
    for &n in rest {
        if run_end.checked_add(1) == Some(n) {
            run_end = n;
            in_run = true;
            continue;
        }
        if in_run {
            out.push(':');
            out.push_str(&run_end.to_string());
        }
        out.push(',');
        out.push_str(&n.to_string());
        run_end = n;
        in_run = false;
    }
    if in_run {
        out.push(':');
        out.push_str(&run_end.to_string());
    }
    Some(out)
}

// ---- i;unicode-casemap -------------------------------------------------------------

/// `text` in the "titlecased canonicalized UTF-8" of i;unicode-casemap (RFC 5051 2):
/// each character titlecased, then replaced by its decomposition, again until neither
/// changes it. Two strings compare by the collation as their canonical forms compare
/// octet by octet, which is how `String`s compare.
///
/// Within what gannet's dependencies offer, two steps are approximated:
/// - Titlecase is the simple uppercase mapping where that is one character (the two
///   differ only for the Latin digraphs, mapped here by hand, and for Greek letters
///   with ypogegrammeni), and the character itself where Unicode uppercases to several
///   (`ß`, `ŉ`), as the simple mappings RFC 5051 uses leave those alone.
/// - Decompositions (canonical and compatibility) are those of the Latin-1 Supplement,
///   Latin Extended-A and Latin Extended Additional blocks: `É` is `E` and an acute
///   accent, so it sorts right after `E`. Other characters stay as they are, which
///   compares them by code point; a direct dependency on `unicode-normalization`
///   (already in Cargo.lock) would give NFKD for all of Unicode.
pub fn casemap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_canonical(c, &mut out, 0);
    }
    out
}

/// Appends the canonical form of `c`. The table's decompositions are already full;
/// titlecasing their parts can only meet the table again through compatibility
/// mappings, so two rounds are always enough.
fn push_canonical(c: char, out: &mut String, round: u8) {
    let title = titlecase(c);
    match decomposition(title) {
        Some(parts) if round < 2 => {
            for part in parts.chars() {
                push_canonical(part, out, round + 1);
            }
        }
        _ => out.push(title),
    }
}

/// The titlecase of `c`, as [`casemap`] approximates it.
fn titlecase(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    match c {
        '\u{1c4}'..='\u{1c6}' => '\u{1c5}',
        '\u{1c7}'..='\u{1c9}' => '\u{1c8}',
        '\u{1ca}'..='\u{1cc}' => '\u{1cb}',
        '\u{1f1}'..='\u{1f3}' => '\u{1f2}',
        _ => {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        }
    }
}

/// The full decomposition of `c` from [`DECOMPOSITIONS`].
fn decomposition(c: char) -> Option<&'static str> {
    let i = DECOMPOSITIONS.binary_search_by_key(&c, |&(k, _)| k).ok()?;
    DECOMPOSITIONS.get(i).map(|&(_, parts)| parts)
}

/// Full decompositions (UnicodeData.txt, canonical and compatibility, applied until
/// none is left) of the characters of the Latin-1 Supplement, Latin Extended-A and
/// Latin Extended Additional blocks that titlecasing leaves alone, in code point order.
/// Generated from Unicode 14.0 data; lowercase letters are absent because [`casemap`]
/// titlecases first (`é` becomes `É`, which is here).
#[rustfmt::skip]
const DECOMPOSITIONS: &[(char, &str)] = &[
    ('\u{a0}', " "), ('¨', " \u{308}"), ('ª', "a"), ('¯', " \u{304}"), ('²', "2"),
    ('³', "3"), ('´', " \u{301}"), ('¸', " \u{327}"), ('¹', "1"), ('º', "o"),
    ('¼', "1\u{2044}4"), ('½', "1\u{2044}2"), ('¾', "3\u{2044}4"), ('À', "A\u{300}"),
    ('Á', "A\u{301}"), ('Â', "A\u{302}"), ('Ã', "A\u{303}"), ('Ä', "A\u{308}"),
    ('Å', "A\u{30a}"), ('Ç', "C\u{327}"), ('È', "E\u{300}"), ('É', "E\u{301}"),
    ('Ê', "E\u{302}"), ('Ë', "E\u{308}"), ('Ì', "I\u{300}"), ('Í', "I\u{301}"),
    ('Î', "I\u{302}"), ('Ï', "I\u{308}"), ('Ñ', "N\u{303}"), ('Ò', "O\u{300}"),
    ('Ó', "O\u{301}"), ('Ô', "O\u{302}"), ('Õ', "O\u{303}"), ('Ö', "O\u{308}"),
    ('Ù', "U\u{300}"), ('Ú', "U\u{301}"), ('Û', "U\u{302}"), ('Ü', "U\u{308}"),
    ('Ý', "Y\u{301}"), ('Ā', "A\u{304}"), ('Ă', "A\u{306}"), ('Ą', "A\u{328}"),
    ('Ć', "C\u{301}"), ('Ĉ', "C\u{302}"), ('Ċ', "C\u{307}"), ('Č', "C\u{30c}"),
    ('Ď', "D\u{30c}"), ('Ē', "E\u{304}"), ('Ĕ', "E\u{306}"), ('Ė', "E\u{307}"),
    ('Ę', "E\u{328}"), ('Ě', "E\u{30c}"), ('Ĝ', "G\u{302}"), ('Ğ', "G\u{306}"),
    ('Ġ', "G\u{307}"), ('Ģ', "G\u{327}"), ('Ĥ', "H\u{302}"), ('Ĩ', "I\u{303}"),
    ('Ī', "I\u{304}"), ('Ĭ', "I\u{306}"), ('Į', "I\u{328}"), ('İ', "I\u{307}"), ('Ĳ', "IJ"),
    ('Ĵ', "J\u{302}"), ('Ķ', "K\u{327}"), ('Ĺ', "L\u{301}"), ('Ļ', "L\u{327}"),
    ('Ľ', "L\u{30c}"), ('Ŀ', "L\u{b7}"), ('Ń', "N\u{301}"), ('Ņ', "N\u{327}"),
    ('Ň', "N\u{30c}"), ('ŉ', "\u{2bc}n"), ('Ō', "O\u{304}"), ('Ŏ', "O\u{306}"),
    ('Ő', "O\u{30b}"), ('Ŕ', "R\u{301}"), ('Ŗ', "R\u{327}"), ('Ř', "R\u{30c}"),
    ('Ś', "S\u{301}"), ('Ŝ', "S\u{302}"), ('Ş', "S\u{327}"), ('Š', "S\u{30c}"),
    ('Ţ', "T\u{327}"), ('Ť', "T\u{30c}"), ('Ũ', "U\u{303}"), ('Ū', "U\u{304}"),
    ('Ŭ', "U\u{306}"), ('Ů', "U\u{30a}"), ('Ű', "U\u{30b}"), ('Ų', "U\u{328}"),
    ('Ŵ', "W\u{302}"), ('Ŷ', "Y\u{302}"), ('Ÿ', "Y\u{308}"), ('Ź', "Z\u{301}"),
    ('Ż', "Z\u{307}"), ('Ž', "Z\u{30c}"), ('Ḁ', "A\u{325}"), ('Ḃ', "B\u{307}"),
    ('Ḅ', "B\u{323}"), ('Ḇ', "B\u{331}"), ('Ḉ', "C\u{327}\u{301}"), ('Ḋ', "D\u{307}"),
    ('Ḍ', "D\u{323}"), ('Ḏ', "D\u{331}"), ('Ḑ', "D\u{327}"), ('Ḓ', "D\u{32d}"),
    ('Ḕ', "E\u{304}\u{300}"), ('Ḗ', "E\u{304}\u{301}"), ('Ḙ', "E\u{32d}"),
    ('Ḛ', "E\u{330}"), ('Ḝ', "E\u{327}\u{306}"), ('Ḟ', "F\u{307}"), ('Ḡ', "G\u{304}"),
    ('Ḣ', "H\u{307}"), ('Ḥ', "H\u{323}"), ('Ḧ', "H\u{308}"), ('Ḩ', "H\u{327}"),
    ('Ḫ', "H\u{32e}"), ('Ḭ', "I\u{330}"), ('Ḯ', "I\u{308}\u{301}"), ('Ḱ', "K\u{301}"),
    ('Ḳ', "K\u{323}"), ('Ḵ', "K\u{331}"), ('Ḷ', "L\u{323}"), ('Ḹ', "L\u{323}\u{304}"),
    ('Ḻ', "L\u{331}"), ('Ḽ', "L\u{32d}"), ('Ḿ', "M\u{301}"), ('Ṁ', "M\u{307}"),
    ('Ṃ', "M\u{323}"), ('Ṅ', "N\u{307}"), ('Ṇ', "N\u{323}"), ('Ṉ', "N\u{331}"),
    ('Ṋ', "N\u{32d}"), ('Ṍ', "O\u{303}\u{301}"), ('Ṏ', "O\u{303}\u{308}"),
    ('Ṑ', "O\u{304}\u{300}"), ('Ṓ', "O\u{304}\u{301}"), ('Ṕ', "P\u{301}"),
    ('Ṗ', "P\u{307}"), ('Ṙ', "R\u{307}"), ('Ṛ', "R\u{323}"), ('Ṝ', "R\u{323}\u{304}"),
    ('Ṟ', "R\u{331}"), ('Ṡ', "S\u{307}"), ('Ṣ', "S\u{323}"), ('Ṥ', "S\u{301}\u{307}"),
    ('Ṧ', "S\u{30c}\u{307}"), ('Ṩ', "S\u{323}\u{307}"), ('Ṫ', "T\u{307}"),
    ('Ṭ', "T\u{323}"), ('Ṯ', "T\u{331}"), ('Ṱ', "T\u{32d}"), ('Ṳ', "U\u{324}"),
    ('Ṵ', "U\u{330}"), ('Ṷ', "U\u{32d}"), ('Ṹ', "U\u{303}\u{301}"),
    ('Ṻ', "U\u{304}\u{308}"), ('Ṽ', "V\u{303}"), ('Ṿ', "V\u{323}"), ('Ẁ', "W\u{300}"),
    ('Ẃ', "W\u{301}"), ('Ẅ', "W\u{308}"), ('Ẇ', "W\u{307}"), ('Ẉ', "W\u{323}"),
    ('Ẋ', "X\u{307}"), ('Ẍ', "X\u{308}"), ('Ẏ', "Y\u{307}"), ('Ẑ', "Z\u{302}"),
    ('Ẓ', "Z\u{323}"), ('Ẕ', "Z\u{331}"), ('ẖ', "h\u{331}"), ('ẗ', "t\u{308}"),
    ('ẘ', "w\u{30a}"), ('ẙ', "y\u{30a}"), ('ẚ', "a\u{2be}"), ('Ạ', "A\u{323}"),
    ('Ả', "A\u{309}"), ('Ấ', "A\u{302}\u{301}"), ('Ầ', "A\u{302}\u{300}"),
    ('Ẩ', "A\u{302}\u{309}"), ('Ẫ', "A\u{302}\u{303}"), ('Ậ', "A\u{323}\u{302}"),
    ('Ắ', "A\u{306}\u{301}"), ('Ằ', "A\u{306}\u{300}"), ('Ẳ', "A\u{306}\u{309}"),
    ('Ẵ', "A\u{306}\u{303}"), ('Ặ', "A\u{323}\u{306}"), ('Ẹ', "E\u{323}"),
    ('Ẻ', "E\u{309}"), ('Ẽ', "E\u{303}"), ('Ế', "E\u{302}\u{301}"),
    ('Ề', "E\u{302}\u{300}"), ('Ể', "E\u{302}\u{309}"), ('Ễ', "E\u{302}\u{303}"),
    ('Ệ', "E\u{323}\u{302}"), ('Ỉ', "I\u{309}"), ('Ị', "I\u{323}"), ('Ọ', "O\u{323}"),
    ('Ỏ', "O\u{309}"), ('Ố', "O\u{302}\u{301}"), ('Ồ', "O\u{302}\u{300}"),
    ('Ổ', "O\u{302}\u{309}"), ('Ỗ', "O\u{302}\u{303}"), ('Ộ', "O\u{323}\u{302}"),
    ('Ớ', "O\u{31b}\u{301}"), ('Ờ', "O\u{31b}\u{300}"), ('Ở', "O\u{31b}\u{309}"),
    ('Ỡ', "O\u{31b}\u{303}"), ('Ợ', "O\u{31b}\u{323}"), ('Ụ', "U\u{323}"),
    ('Ủ', "U\u{309}"), ('Ứ', "U\u{31b}\u{301}"), ('Ừ', "U\u{31b}\u{300}"),
    ('Ử', "U\u{31b}\u{309}"), ('Ữ', "U\u{31b}\u{303}"), ('Ự', "U\u{31b}\u{323}"),
    ('Ỳ', "Y\u{300}"), ('Ỵ', "Y\u{323}"), ('Ỷ', "Y\u{309}"), ('Ỹ', "Y\u{303}"),
];

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    fn criterion(key: SortKey) -> SortCriterion {
        SortCriterion {
            reverse: false,
            key,
        }
    }

    fn reverse(key: SortKey) -> SortCriterion {
        SortCriterion { reverse: true, key }
    }

    fn message(number: u32) -> SortFields {
        SortFields {
            number,
            ..SortFields::default()
        }
    }

    #[test]
    fn casemap_titlecases() {
        assert_eq!(casemap("Hello, World"), "HELLO, WORLD");
        assert_eq!(casemap(""), "");
        assert_eq!(casemap("straße"), "STRAßE");
        assert_eq!(casemap("ǆungla ǉ Ǌ ǲ"), "ǅUNGLA ǈ ǋ ǲ");
        assert_eq!(casemap("ΣΑΣ σας"), "ΣΑΣ ΣΑΣ");
        assert_eq!(casemap("ﬁ"), "ﬁ");
    }

    #[test]
    fn casemap_decomposes_latin_letters() {
        assert_eq!(casemap("é"), "E\u{301}");
        assert_eq!(casemap("É"), casemap("e\u{301}"));
        assert_eq!(casemap("Ắ"), "A\u{306}\u{301}");
        assert_eq!(casemap("ª½"), "A1\u{2044}2");
        assert_eq!(casemap("\u{a0}"), " ");
        assert_eq!(casemap("µ"), "Μ");
        assert_eq!(casemap("ǅ"), "ǅ");
    }

    #[test]
    fn casemap_order_is_the_collations() {
        let mut words = ["zebra", "Émile", "emil", "apple", "_x", "Ärger", "b", "Z"];
        words.sort_by_key(|w| casemap(w));
        assert_eq!(
            words,
            ["apple", "Ärger", "b", "emil", "Émile", "Z", "zebra", "_x"]
        );
        // Equal under the collation: case and composition do not matter.
        assert_eq!(casemap("ÉCOLE"), casemap("e\u{301}cole"));
    }

    #[test]
    fn decomposition_table_is_sorted_and_titlecased() {
        for pair in DECOMPOSITIONS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?} before {:?}", pair[0], pair[1]);
        }
        for &(c, parts) in DECOMPOSITIONS {
            assert_eq!(titlecase(c), c, "{c:?} is not a titlecase fixed point");
            assert_ne!(parts, c.to_string());
            // Full: the parts do not decompose further once titlecased.
            for part in parts.chars() {
                let title = titlecase(part);
                if let Some(more) = decomposition(title) {
                    assert!(more.chars().all(|m| decomposition(titlecase(m)).is_none()));
                }
            }
        }
    }

    #[test]
    fn each_key_orders() {
        let a = SortFields {
            number: 1,
            arrival: 300,
            sent_date: Some(100),
            size: 20,
            subject: "beta".into(),
            from: "carol".into(),
            to: "Bob".into(),
            cc: "".into(),
            display_from: "Zed".into(),
            display_to: "alice".into(),
        };
        let b = SortFields {
            number: 2,
            arrival: 100,
            sent_date: None,
            size: 10,
            subject: "Alpha".into(),
            from: "alice".into(),
            to: "bob".into(),
            cc: "x".into(),
            display_from: "émile".into(),
            display_to: "Zoe".into(),
        };
        let c = SortFields {
            number: 3,
            arrival: 200,
            sent_date: Some(300),
            size: 30,
            subject: "gamma".into(),
            from: "Bob".into(),
            to: "able".into(),
            cc: "a".into(),
            display_from: "Eve".into(),
            display_to: "".into(),
        };
        let all = [a, b, c];
        let by = |key| sort(&all, &[criterion(key)]);
        assert_eq!(by(SortKey::Arrival), [2, 3, 1]);
        // b has no Date: its internal date (100) ties with a's Date.
        assert_eq!(by(SortKey::Date), [1, 2, 3]);
        assert_eq!(by(SortKey::Size), [2, 1, 3]);
        assert_eq!(by(SortKey::Subject), [2, 1, 3]);
        assert_eq!(by(SortKey::From), [2, 3, 1]);
        // "Bob" and "bob" tie: number decides.
        assert_eq!(by(SortKey::To), [3, 1, 2]);
        // The empty string sorts first.
        assert_eq!(by(SortKey::Cc), [1, 3, 2]);
        assert_eq!(by(SortKey::DisplayFrom), [3, 2, 1]);
        assert_eq!(by(SortKey::DisplayTo), [3, 1, 2]);
    }

    #[test]
    fn reverse_applies_to_its_key_only() {
        let all: Vec<SortFields> = [(1, 5, "a"), (2, 5, "b"), (3, 7, "a"), (4, 5, "a")]
            .into_iter()
            .map(|(number, size, subject)| SortFields {
                size,
                subject: subject.into(),
                ..message(number)
            })
            .collect();
        assert_eq!(sort(&all, &[reverse(SortKey::Size)]), [3, 1, 2, 4]);
        assert_eq!(
            sort(&all, &[reverse(SortKey::Size), criterion(SortKey::Subject)]),
            [3, 1, 4, 2]
        );
        assert_eq!(
            sort(&all, &[criterion(SortKey::Subject), reverse(SortKey::Size)]),
            [3, 1, 4, 2]
        );
        assert_eq!(
            sort(&all, &[reverse(SortKey::Subject), reverse(SortKey::Size)]),
            [2, 3, 1, 4]
        );
        // No keys: mailbox order, whatever order the messages came in.
        let mut shuffled = all.clone();
        shuffled.reverse();
        assert_eq!(sort(&shuffled, &[]), [1, 2, 3, 4]);
        assert_eq!(sort(&[], &[criterion(SortKey::Size)]), Vec::<u32>::new());
    }

    #[test]
    fn fields_come_from_the_header() {
        let header = b"From: =?utf-8?q?J=C3=B6rg?= <Joerg@Example.org>, b@c\r\n\
            To: \"Smith, Mary\" <mary@x.test>\r\n\
            Cc: undisclosed-recipients\r\n\
            Subject: Re: [list] =?utf-8?q?F=C3=BCr?= you (fwd)\r\n\
            Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n\
            Subject: not this one\r\n\
            \r\n\
            From: body@example.org\r\n";
        let f = SortFields::from_header(7, header, 5, 1234);
        assert_eq!(
            f,
            SortFields {
                number: 7,
                arrival: 5,
                sent_date: Some(880127706),
                size: 1234,
                subject: "Für you".into(),
                from: "Joerg".into(),
                to: "mary".into(),
                cc: "undisclosed-recipients".into(),
                display_from: "Jörg".into(),
                display_to: "Smith, Mary".into(),
            }
        );
        assert_eq!(f.date(), 880127706);
    }

    #[test]
    fn missing_fields_are_empty_and_date_falls_back() {
        let f = SortFields::from_header(1, b"X-Other: y\r\n\r\n", 42, 0);
        assert_eq!(
            f,
            SortFields {
                arrival: 42,
                ..message(1)
            }
        );
        assert_eq!(f.date(), 42);
        let f = SortFields::from_header(
            1,
            b"Date: yesterday-ish\r\nDate: 1 Jan 2000 00:00:00 +0000\r\n",
            42,
            0,
        );
        assert_eq!(f.sent_date, None, "the first Date counts");
        assert_eq!(f.date(), 42);
        assert_eq!(SortFields::from_header(1, b"", 0, 0), message(1));
    }

    #[test]
    fn display_values_follow_rfc_5957() {
        let display = |from: &str| {
            let header = format!("From:{from}\r\n\r\n");
            let f = SortFields::from_header(1, header.as_bytes(), 0, 0);
            (f.from, f.display_from)
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(display(" Name <a@b>"), pair("a", "Name"));
        assert_eq!(display(" a@b (Comment Name)"), pair("a", "Comment Name"));
        assert_eq!(display(" <a@b>"), pair("a", "a@b"));
        assert_eq!(display(" \"\" <a@b>"), pair("a", "a@b"));
        assert_eq!(display(" =?utf-8?q?_?= <a@b>"), pair("a", "a@b"));
        assert_eq!(display(" =?utf-8?b?w4lt?= <a@b>"), pair("a", "Ém"));
        // A group's first structure is its start: the name as addr-mailbox, no host.
        assert_eq!(display(" Friends: x@y, z@w;"), pair("Friends", "Friends"));
        assert_eq!(
            display(" Undisclosed recipients:;"),
            pair("Undisclosed recipients", "Undisclosed recipients")
        );
        assert_eq!(display(" , ,"), pair("", ""));
        assert_eq!(display(" \"a b\"@c"), pair("\"a b\"", "\"a b\"@c"));
    }

    #[test]
    fn envelope_items_read_back() {
        let mut at = 0;
        assert_eq!(
            read_item(
                b"(NIL \"a\\\"b\" {3}\r\nx\"y ((\"n\" NIL \"m\" \"h\")))",
                &mut at,
                0
            ),
            Some(Item::List(vec![
                Item::Nil,
                Item::Text(b"a\"b".to_vec()),
                Item::Text(b"x\"y".to_vec()),
                Item::List(vec![Item::List(vec![
                    Item::Text(b"n".to_vec()),
                    Item::Nil,
                    Item::Text(b"m".to_vec()),
                    Item::Text(b"h".to_vec()),
                ])]),
            ]))
        );
        for broken in [
            &b"(NIL"[..],
            b"(\"x",
            b"({9}\r\nab)",
            b"(NI)",
            b"((((NIL))))",
            b"x",
        ] {
            assert_eq!(read_item(broken, &mut 0, 0), None, "{broken:?}");
        }
    }

    #[test]
    fn sequence_sets_keep_the_order() {
        assert_eq!(sequence_set(&[]), None);
        assert_eq!(sequence_set(&[4]).as_deref(), Some("4"));
        assert_eq!(sequence_set(&[1, 2, 3, 4]).as_deref(), Some("1:4"));
        assert_eq!(sequence_set(&[3, 2, 1]).as_deref(), Some("3,2,1"));
        assert_eq!(sequence_set(&[1, 2, 4, 5, 7]).as_deref(), Some("1:2,4:5,7"));
        assert_eq!(
            sequence_set(&[u32::MAX - 1, u32::MAX, 1]).as_deref(),
            Some("4294967294:4294967295,1")
        );
    }

    /// Messages numbered 1..=n in a shuffled order, with keys from small pools so that
    /// ties are common.
    fn messages() -> impl Strategy<Value = Vec<SortFields>> {
        let text = || select(vec!["", "a", "A", "b", "é", "E\u{301}", "z"]).prop_map(String::from);
        let fields = (
            0i64..4,
            proptest::option::of(0i64..4),
            0u64..4,
            text(),
            text(),
            text(),
            text(),
            text(),
            text(),
        );
        vec(fields, 0..12)
            .prop_map(|rows| {
                rows.into_iter()
                    .zip(1u32..)
                    .map(
                        |((arrival, sent_date, size, s, f, t, c, df, dt), number)| SortFields {
                            number,
                            arrival,
                            sent_date,
                            size,
                            subject: s,
                            from: f,
                            to: t,
                            cc: c,
                            display_from: df,
                            display_to: dt,
                        },
                    )
                    .collect::<Vec<_>>()
            })
            .prop_shuffle()
    }

    fn key() -> impl Strategy<Value = SortKey> {
        select(SortKey::ALL.to_vec())
    }

    fn criteria() -> impl Strategy<Value = Vec<SortCriterion>> {
        vec(
            (any::<bool>(), key()).prop_map(|(reverse, key)| SortCriterion { reverse, key }),
            0..4,
        )
    }

    proptest! {
        #[test]
        fn sort_is_a_sorted_permutation(messages in messages(), criteria in criteria()) {
            let sorted = sort(&messages, &criteria);
            let mut numbers = sorted.clone();
            numbers.sort_unstable();
            let mut want: Vec<u32> = messages.iter().map(|m| m.number).collect();
            want.sort_unstable();
            prop_assert_eq!(numbers, want);
            let by_number = |n: u32| messages.iter().find(|m| m.number == n).expect("listed");
            for pair in sorted.windows(2) {
                let (a, b) = (by_number(pair[0]), by_number(pair[1]));
                let order = criteria
                    .iter()
                    .map(|c| {
                        let o = a.key(c.key).cmp(&b.key(c.key));
                        if c.reverse { o.reverse() } else { o }
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or_else(|| a.number.cmp(&b.number));
                prop_assert!(order.is_lt(), "{:?} before {:?}", a, b);
            }
        }

        #[test]
        fn reverse_reverses_all_but_ties(messages in messages(), key in key()) {
            let forward = sort(&messages, &[criterion(key)]);
            let backward = sort(&messages, &[reverse(key)]);
            let key_of = |n: u32| messages.iter().find(|m| m.number == n).expect("listed").key(key);
            // The groups of equal keys come in reverse order, each still by number.
            let mut groups: Vec<Vec<u32>> = forward
                .chunk_by(|&a, &b| key_of(a) == key_of(b))
                .map(<[u32]>::to_vec)
                .collect();
            groups.reverse();
            prop_assert_eq!(backward, groups.concat());
        }
    }
}
