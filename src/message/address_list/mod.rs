//! Header field values made of addresses (RFC 5322 3.4): From, Sender, Reply-To, To, Cc,
//! Bcc and their Resent- forms.
//!
//! A value, unfolded by [`super::HeaderSection`], is parsed with `grammars/message.pest`
//! and turned into [`Mailbox`] and [`AddressListEntry`] values here. The obsolete syntax
//! of RFC 5322 section 4 is accepted, as parsers MUST, and reported with the result.
//! This is what decides the From domain for DMARC and the sender checks of submission:
//! mail-parser, which is tolerant, is not used for that.
//!
//! Each addr-spec must also be an address mail can be sent to: it goes through
//! [`Address::parse_addr_spec`] with the caller's leniencies, so `a@exa!mple.org`, valid
//! RFC 5322, is refused with the reason.

mod addr_spec;
mod grammar;
pub(crate) use grammar::{MAX_COMMENT_DEPTH, check_comment_depth};
mod obsolete;
mod phrase;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;

use pest::iterators::Pair;

use grammar::Rule;
pub use obsolete::Obsolete;
use phrase::Phrase;

use crate::address::{Address, AddressError};
use crate::grammar::SyntaxError;
use crate::leniency::Leniencies;

/// A mailbox in a header field: an address and the name shown with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, decoded: quotes removed, quoted pairs resolved, comments
    /// dropped, white space between words made one space. RFC 2047 encoded-words are
    /// left as they are. `None` for a bare addr-spec; `Some("")` for `"" <a@b>`.
    pub display_name: Option<String>,
    pub address: Address,
}

/// One element of an address list (To, Cc, Reply-To, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressListEntry {
    Mailbox(Mailbox),
    /// A named group of mailboxes, possibly none (`Undisclosed recipients:;`).
    Group {
        name: String,
        members: Vec<Mailbox>,
    },
}

/// A parsed field value, and the obsolete syntax it used (each form once, in the order
/// of first use; empty for a value in the current syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub value: T,
    pub obsolete: Vec<Obsolete>,
}

/// Why a field value is not a valid mailbox, mailbox list or address list. Columns
/// count characters of the value from 1; [`AddressListError::shifted`] moves them for a
/// value shown within its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressListError {
    #[error("{0}")]
    Syntax(SyntaxError),
    #[error("comment nested more than {MAX_COMMENT_DEPTH} deep at {column}")]
    CommentDepth { column: usize },
    /// The grammar recognized an addr-spec, but it is not an address mail can be sent
    /// to. `text` is the addr-spec without its comments and white space; the columns in
    /// `error` count within it.
    #[error("address {text:?} at {column}: {error}")]
    Address {
        column: usize,
        text: String,
        error: AddressError,
    },
}

impl AddressListError {
    /// The same error with its column moved `by` characters to the right.
    pub fn shifted(self, by: usize) -> Self {
        match self {
            AddressListError::Syntax(mut e) => {
                e.column += by;
                AddressListError::Syntax(e)
            }
            AddressListError::CommentDepth { column } => AddressListError::CommentDepth {
                column: column + by,
            },
            AddressListError::Address {
                column,
                text,
                error,
            } => AddressListError::Address {
                column: column + by,
                text,
                error,
            },
        }
    }
}

/// Parses a field value that is one mailbox (Sender, Resent-Sender).
pub fn parse_mailbox(
    value: &str,
    lenient: Leniencies,
) -> Result<Parsed<Mailbox>, AddressListError> {
    parse(Rule::mailbox_only, value, |pair| {
        mailbox(pair, value, lenient)
    })
}

/// Parses a field value that is a mailbox list (From, Resent-From).
pub fn parse_mailbox_list(
    value: &str,
    lenient: Leniencies,
) -> Result<Parsed<Vec<Mailbox>>, AddressListError> {
    parse(Rule::mailbox_list_only, value, |pair| {
        mailboxes(pair, value, lenient)
    })
}

/// Parses a field value that is an address list (Reply-To, To, Cc, Bcc with at least
/// one address, and their Resent- forms).
pub fn parse_address_list(
    value: &str,
    lenient: Leniencies,
) -> Result<Parsed<Vec<AddressListEntry>>, AddressListError> {
    parse(Rule::address_list_only, value, |pair| {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::address)
            .map(|p| entry(p, value, lenient))
            .collect()
    })
}

/// Runs the grammar from `rule`, notes the obsolete forms, and converts.
fn parse<'i, T>(
    rule: Rule,
    value: &'i str,
    convert: impl FnOnce(Pair<'i, Rule>) -> Result<T, AddressListError>,
) -> Result<Parsed<T>, AddressListError> {
    let pair = grammar::parse(rule, value)?;
    let obsolete = obsolete::obsolete_forms(&pair);
    Ok(Parsed {
        value: convert(pair)?,
        obsolete,
    })
}

/// Converts an `address` pair.
fn entry(
    pair: Pair<'_, Rule>,
    input: &str,
    lenient: Leniencies,
) -> Result<AddressListEntry, AddressListError> {
    let form = pair.into_inner().next().expect("an address has one form");
    if form.as_rule() == Rule::mailbox {
        return mailbox(form, input, lenient).map(AddressListEntry::Mailbox);
    }
    let mut parts = form.into_inner();
    let name = phrase::decode(parts.next().expect("a group has a display name"));
    let members = match parts.find(|p| p.as_rule() == Rule::mailbox_list) {
        Some(list) => mailboxes(list, input, lenient)?,
        None => Vec::new(),
    };
    Ok(AddressListEntry::Group { name, members })
}

/// Converts a `mailbox_list` pair, leaving out its empty elements.
fn mailboxes(
    pair: Pair<'_, Rule>,
    input: &str,
    lenient: Leniencies,
) -> Result<Vec<Mailbox>, AddressListError> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::mailbox)
        .map(|p| mailbox(p, input, lenient))
        .collect()
}

/// Converts a `mailbox` pair: a bare addr-spec, or a name-addr with or without a
/// display name. A source route (obs-route) is dropped.
fn mailbox(
    pair: Pair<'_, Rule>,
    input: &str,
    lenient: Leniencies,
) -> Result<Mailbox, AddressListError> {
    let form = pair.into_inner().next().expect("a mailbox has one form");
    if form.as_rule() == Rule::addr_spec {
        return Ok(Mailbox {
            display_name: None,
            address: addr_spec::address(form, input, lenient)?,
        });
    }
    let mut parts = form.into_inner().peekable();
    let display_name = parts
        .next_if(|p| p.as_rule() == Rule::display_name)
        .map(phrase::decode);
    let angle_addr = parts.next().expect("a name-addr has an angle-addr");
    let spec = angle_addr
        .into_inner()
        .find(|p| p.as_rule() == Rule::addr_spec);
    let spec = spec.expect("an angle-addr has an addr-spec");
    Ok(Mailbox {
        display_name,
        address: addr_spec::address(spec, input, lenient)?,
    })
}

impl fmt::Display for Mailbox {
    /// The canonical form: `addr-spec`, or `display-name <addr-spec>` with the name as
    /// atoms where it is made of them and as a quoted string otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.display_name {
            Some(name) => write!(f, "{} <{}>", Phrase(name), self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

impl fmt::Display for AddressListEntry {
    /// A mailbox as [`Mailbox`] shows it; a group as `name: a@b, c <d@e>;`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressListEntry::Mailbox(m) => m.fmt(f),
            AddressListEntry::Group { name, members } => {
                write!(f, "{}:", Phrase(name))?;
                for (i, m) in members.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{m}")?;
                }
                f.write_str(";")
            }
        }
    }
}
