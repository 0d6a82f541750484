//! Every vector suite passes: this is how `cargo test` runs the RFC vectors.

#[test]
fn every_vector_suite_passes() {
    let suites = conformance::run_all(&conformance::vectors_dir());
    assert!(
        suites.iter().all(|s| s.cases > 0),
        "a suite found no cases:\n{}",
        conformance::report::table(&suites, 0)
    );
    let failed: usize = suites.iter().map(|s| s.failed()).sum();
    assert_eq!(failed, 0, "\n{}", conformance::report::table(&suites, 50));
}
