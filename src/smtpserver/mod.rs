//! The SMTP server: incoming mail on port 25 (and, with authentication, submission).
//! `session` is the protocol state machine without I/O, `recipients` maps addresses
//! to accounts, `delivery` stores messages.

mod delivery;
mod listener;
mod recipients;
mod session;
#[cfg(test)]
mod tests;

pub use delivery::LocalDelivery;
pub use listener::{Shared, serve};
pub use recipients::{Destination, Recipients};
pub use session::{Action, Backend, Envelope, Session, Settings};
