//! Mail addresses, shared by every protocol.
//!
//! - [`Localpart`]: the part before the `@`, kept decoded (no quotes or escapes).
//! - [`Domain`]: a DNS name in both its A-label (ASCII) and U-label (Unicode) forms,
//!   validated with UTS #46 and compared by its lowercase A-label form.
//! - [`Host`]: a domain or an address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
//! - [`Address`]: `localpart@host`, parsed as an RFC 5321 Mailbox or an RFC 5322 addr-spec.
//! - [`ReversePath`] and [`ForwardPath`]: the SMTP MAIL FROM and RCPT TO paths.
//!
//! All parsing goes through `grammars/address.pest`; this module adds what ABNF cannot
//! express (octet limits, IDNA validation, numeric ranges) and the leniencies.

mod domain;
mod grammar;
mod localpart;
mod mailbox;
mod path;
#[cfg(test)]
pub(crate) mod proptests;

pub use domain::{Domain, Host, ascii_domain, domain_of};
pub use localpart::Localpart;
pub(crate) use localpart::is_dot_string;
pub use mailbox::Address;
pub use path::{ForwardPath, ReversePath};

use crate::grammar::SyntaxError;
use crate::leniency::Leniency;

/// Why a text is not a valid address, domain or path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0}")]
    Syntax(SyntaxError),
    #[error("{what} at {column} (allowed only with leniency \"{}\")", .leniency.name())]
    NeedsLeniency {
        what: &'static str,
        column: usize,
        leniency: Leniency,
    },
    #[error("local part is {0} octets, over the 64 that RFC 5321 4.5.3.1.1 allows")]
    LocalpartTooLong(usize),
    #[error("a tab in a quoted local part cannot be used in SMTP (RFC 5321 4.1.2)")]
    TabInLocalpart,
    #[error("domain is {0} octets in ASCII form, over the 253 that DNS allows")]
    DomainTooLong(usize),
    #[error("label {0:?} is {1} octets in ASCII form, over the 63 that DNS allows")]
    LabelTooLong(String, usize),
    #[error("label {0:?} has \"--\" in positions 3 and 4, which IDNA reserves (RFC 5891 4.2.3.1)")]
    ReservedLabel(String),
    #[error("{0:?} is not a valid internationalized domain name (UTS #46 processing failed)")]
    Idna(String),
    #[error("{0:?} is not a valid IPv4 address literal: each part must be 0 to 255")]
    Ipv4Literal(String),
    #[error("{0:?} is not a valid IPv6 address")]
    Ipv6Literal(String),
    #[error("address literal tag {0:?} is not registered; use [IPv6:...] or [a.b.c.d]")]
    UnknownLiteralTag(String),
    #[error("domain {0:?} is not a valid domain name: {1}")]
    InvalidDomain(String, Box<AddressError>),
    #[error("path is {0} octets, over the 256 that RFC 5321 4.5.3.1.3 allows")]
    PathTooLong(usize),
}

impl AddressError {
    /// The same error with its column moved `by` characters to the right, for an
    /// address embedded in a longer line (an SMTP command, a header).
    pub fn shifted(self, by: usize) -> Self {
        match self {
            AddressError::Syntax(mut e) => {
                e.column += by;
                AddressError::Syntax(e)
            }
            AddressError::NeedsLeniency {
                what,
                column,
                leniency,
            } => AddressError::NeedsLeniency {
                what,
                column: column + by,
                leniency,
            },
            other => other,
        }
    }
}
