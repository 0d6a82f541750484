//! The conformance harness: runs the vectors in `rfc-vectors/` against gannet's
//! modules, and scripted sessions against a live server (`imaptest`: Dovecot's
//! imaptest scripts over IMAP), and reports a table of suite, cases, passed and
//! failed.
//!
//! `cargo test --workspace` runs every suite through `tests/vectors.rs`; the binary
//! (`cargo xtask conformance`) prints the table.

pub mod dkim_corpus;
pub mod dmarc_reports;
pub mod imaptest;
pub mod parse_vectors;
pub mod psl;
pub mod report;
pub mod spf;
pub mod uts46;

use std::path::{Path, PathBuf};

pub use report::Suite;

/// The `rfc-vectors` folder of this checkout.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rfc-vectors")
}

/// Every suite, in table order.
pub fn run_all(vectors: &Path) -> Vec<Suite> {
    let mut suites = parse_vectors::run(vectors);
    suites.push(uts46::run(&vectors.join("uts46/IdnaTestV2.txt")));
    suites.push(psl::run(&vectors.join("psl/test_psl.txt")));
    suites.extend(spf::run(&vectors.join("rfc7208")));
    suites.push(dkim_corpus::run(&dkim_corpus::corpus_dir()));
    suites.push(dmarc_reports::run(&vectors.join("dmarc-reports")));
    suites
}
