//! Prints the conformance table; exits 1 when any case fails.

use std::process::ExitCode;

fn main() -> ExitCode {
    let suites = conformance::run_all(&conformance::vectors_dir());
    print!("{}", conformance::report::table(&suites, 100));
    if suites.iter().any(|s| s.failed() > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
