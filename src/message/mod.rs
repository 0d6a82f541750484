//! Messages as gannet writes them: dates (RFC 5322 3.3) and trace header fields
//! (Received, Return-Path, Delivered-To). Parsing of stored messages is mail-parser's
//! job, used through the store; what decides security (the From field for DMARC and
//! submission) is read from the raw message with our own header reader and grammar.

mod address_list;
mod date;
mod header;
mod line_ends;
pub mod mime;
mod originator;
pub mod safe_text;
mod trace;

pub use address_list::{
    AddressListEntry, AddressListError, Mailbox, Obsolete, Parsed, parse_address_list,
    parse_mailbox, parse_mailbox_list,
};
pub(crate) use address_list::{MAX_COMMENT_DEPTH, check_comment_depth};
pub use date::{now, now_unsigned, rfc5322_date};
pub use header::{HeaderError, HeaderField, HeaderSection};
pub use line_ends::crlf_line_ends;
pub use originator::{FromError, from_addresses};
pub use trace::{Received, trace_headers};
