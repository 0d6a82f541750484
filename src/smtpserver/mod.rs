//! The SMTP server: incoming mail on port 25 (and, with authentication, submission).
//! `session` is the protocol state machine without I/O, `delivery` stores messages,
//! `incoming` runs message authentication on mail from the Internet.

mod delivery;
mod incoming;
mod listener;
mod session;
#[cfg(test)]
mod tests;

pub use delivery::{Inboxes, LocalDelivery, injected};
pub use listener::{Shared, serve};
pub use session::{Action, Backend, Envelope, Refusal, Session, Settings};
