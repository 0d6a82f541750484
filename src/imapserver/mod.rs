//! The IMAP server (RFC 9051 IMAP4rev2, and IMAP4rev1 for clients that do not
//! enable rev2): sessions over the store and the authentication layer, the
//! listener that serves them, and one session on stdin and stdout for
//! `gannet admin imapserve`.

mod listener;
mod session;
mod stdio;

pub use listener::{Shared, serve};
pub use session::{Action, Progress, RecentClaims, Services, Session, Settings};
pub use stdio::{StdioError, StdioSession};
