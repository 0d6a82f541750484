//! Prints the conformance table; exits 1 when any case fails.

use std::process::ExitCode;

fn main() -> ExitCode {
    let suites = conformance::run_all(&conformance::vectors_dir());
    print!("{}", conformance::report::table(&suites, 100));
    let passed: usize = suites.iter().map(|s| s.passed).sum();
    let failed: usize = suites.iter().map(|s| s.failed()).sum();
    println!("\nconformance: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
