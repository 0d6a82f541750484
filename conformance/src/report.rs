//! Results of one suite, and the table that shows them.

use std::fmt::Write;

/// What one suite of vectors gave.
#[derive(Debug, Default)]
pub struct Suite {
    /// What the vectors test, e.g. "RFC 5321".
    pub name: String,
    pub cases: usize,
    pub passed: usize,
    /// One line per failed case: where it is, what was expected, what happened.
    pub failures: Vec<String>,
    /// Cases where gannet knowingly differs from the vector, counted by reason. They
    /// pass when gannet behaves as the reason says.
    pub deviations: Vec<(String, usize)>,
}

impl Suite {
    pub fn new(name: impl Into<String>) -> Self {
        Suite {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Records one case: `Ok` passed, `Err(why)` failed.
    pub fn record(&mut self, result: Result<(), String>) {
        self.cases += 1;
        match result {
            Ok(()) => self.passed += 1,
            Err(why) => self.failures.push(why),
        }
    }

    /// Counts a case that follows a documented deviation.
    pub fn deviation(&mut self, reason: &str) {
        match self.deviations.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.deviations.push((reason.to_string(), 1)),
        }
    }

    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

/// The table, then the deviations and up to `max_failures` failures per suite.
pub fn table(suites: &[Suite], max_failures: usize) -> String {
    let width = suites
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:width$}  {:>6}  {:>6}  {:>6}",
        "suite", "cases", "passed", "failed"
    );
    for s in suites {
        let _ = writeln!(
            out,
            "{:width$}  {:>6}  {:>6}  {:>6}",
            s.name,
            s.cases,
            s.passed,
            s.failed()
        );
    }
    let total = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    let _ = writeln!(
        out,
        "{:width$}  {:>6}  {:>6}  {:>6}",
        "total",
        total(|s| s.cases),
        total(|s| s.passed),
        total(Suite::failed)
    );
    for s in suites {
        for (reason, n) in &s.deviations {
            let _ = writeln!(
                out,
                "\n{}: {n} cases follow a documented deviation: {reason}",
                s.name
            );
        }
        if !s.failures.is_empty() {
            let _ = writeln!(out, "\n{} failures:", s.name);
            for f in s.failures.iter().take(max_failures) {
                let _ = writeln!(out, "  {f}");
            }
            if s.failures.len() > max_failures {
                let _ = writeln!(out, "  ... and {} more", s.failures.len() - max_failures);
            }
        }
    }
    out
}
