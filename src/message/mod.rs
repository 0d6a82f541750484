//! Messages as gannet writes them: dates (RFC 5322 3.3) and trace header fields
//! (Received, Return-Path, Delivered-To). Parsing of stored messages is mail-parser's
//! job, used through the store.

mod date;
mod trace;

pub use date::{now, rfc5322_date};
pub use trace::{Received, trace_headers};
