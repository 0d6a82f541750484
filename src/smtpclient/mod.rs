//! The SMTP client (RFC 5321) the outgoing queue delivers with: EHLO with a HELO
//! fallback, STARTTLS (RFC 3207) or immediate TLS (RFC 8314), AUTH (RFC 4954)
//! with the SASL client mechanisms, PIPELINING (RFC 2920), SIZE (RFC 1870),
//! 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), CHUNKING (RFC 3030), DSN
//! parameters (RFC 3461), REQUIRETLS (RFC 8689) and LIMITS RCPTMAX (RFC 9422).
//!
//! Every failure keeps the server's whole reply (all lines), for the delivery
//! history and the DSN. Replies are parsed with `grammars/smtp.pest`.

mod connection;
mod error;
mod session;
#[cfg(test)]
mod tests;
mod transaction;

pub use connection::Stream;
pub use error::{ClientError, Stage};
pub use session::{Client, Options, Tls};
pub use transaction::{Delivery, Outgoing};
