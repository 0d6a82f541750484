//! Shared IMAP types: commands (from `grammars/imap.pest`), the byte framer that
//! reads command lines and literals, mailbox name encoding, and the encoding of
//! responses, including ENVELOPE, BODYSTRUCTURE and body sections computed from the
//! raw message.

mod bodystructure;
pub mod command;
pub mod encode;
mod envelope;
mod framer;
mod mutf7;
mod parse;
#[cfg(test)]
mod proptests;
mod section;

pub use command::*;
