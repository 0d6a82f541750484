//! DMARC (RFC 7489, with the DMARCbis changes of RFC 9989 noted where they apply):
//! policy records parsed with `grammars/dmarc.pest`, policy discovery, identifier
//! alignment of SPF and DKIM results with the From domain, the policy to apply, and
//! the check that an outside report destination agreed to take reports.
//!
//! What is RFC 7489 and what is RFC 9989 here:
//! - The organizational domain is found with the Public Suffix List ([`crate::psl`],
//!   RFC 7489 3.2), not RFC 9989's DNS tree walk.
//! - np= (policy for subdomains that do not exist), psd= and t=y (apply one step
//!   milder) are RFC 9989 tags, honoured; pct=, rf= and ri= are RFC 7489 tags that
//!   RFC 9989 dropped, still honoured as records still carry them.

mod destination;
mod evaluate;
#[cfg(test)]
mod proptests;
mod record;
pub mod report;
#[cfg(test)]
mod tests;

use std::fmt;

pub use destination::{Destination, verify_destinations};
pub use evaluate::{Discovery, Evaluation, Identifiers, author_domain, discover, evaluate};
pub use record::{
    Alignment, FailureOption, Parsed, Policy, PublicSuffix, Record, RecordError, ReportUri,
    is_dmarc_record,
};

/// The results of RFC 8601 2.7.1's dmarc method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcResult {
    /// An aligned SPF or DKIM pass.
    Pass,
    Fail,
    /// The From domain publishes no policy.
    None,
    /// A DNS lookup the result needs failed for now.
    Temperror,
    /// The policy record cannot be used, or the From field names no single domain.
    Permerror,
}

impl DmarcResult {
    pub fn name(self) -> &'static str {
        match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::None => "none",
            DmarcResult::Temperror => "temperror",
            DmarcResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for DmarcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
