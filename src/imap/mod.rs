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
pub mod sort;
pub mod subject;
pub mod thread;

pub use bodystructure::{bodystructure, bodystructure_of};
pub use command::*;
pub use envelope::envelope;
pub use framer::{Frame, FrameError, FrameErrorKind, Framer, LITERAL_MINUS_MAX, Limits};
pub use mutf7::{Mutf7Error, Mutf7Problem, decode as decode_mutf7, encode as encode_mutf7};
pub use parse::{ParseError, parse_command};
pub use section::{UnknownCte, binary, binary_of, partial, section, section_of};
