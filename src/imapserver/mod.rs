//! The IMAP server (RFC 9051 IMAP4rev2, and IMAP4rev1 for clients that do not
//! enable rev2): sessions over the store and the authentication layer, and the
//! listener that serves them.

mod listener;
mod session;

pub use listener::{Shared, serve};
pub use session::{Action, RecentClaims, Services, Session, Settings};
