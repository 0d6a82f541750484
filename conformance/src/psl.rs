//! The Public Suffix List's own tests (test_psl.txt, `checkPublicSuffix(input,
//! registrable-domain)`) run against the list built into gannet.

use std::fs;
use std::path::Path;

use gannet::psl::SuffixList;

use crate::Suite;

pub fn run(file: &Path) -> Suite {
    let mut suite = Suite::new("Public Suffix List");
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            suite.record(Err(format!("{}: {e}", file.display())));
            return suite;
        }
    };
    for (n, line) in text.lines().enumerate() {
        let Some(args) = line
            .strip_prefix("checkPublicSuffix(")
            .and_then(|rest| rest.strip_suffix(");"))
        else {
            continue;
        };
        let (input, expected) = match args
            .split_once(", ")
            .map(|(i, e)| (argument(i), argument(e)))
        {
            Some((Some(input), expected)) => (input, expected),
            // A null input has no domain to look up; gannet's API takes a &str.
            Some((None, None)) => continue,
            _ => {
                suite.record(Err(format!("line {}: cannot read {line:?}", n + 1)));
                continue;
            }
        };
        let got = SuffixList::built_in().registrable_domain(input);
        suite.record(if got.as_deref() == expected {
            Ok(())
        } else {
            Err(format!(
                "line {}: {input:?}: expected {expected:?}, got {got:?}",
                n + 1
            ))
        });
    }
    suite
}

/// `'text'` is the text, `null` is none.
fn argument(arg: &str) -> Option<&str> {
    arg.strip_prefix('\'').and_then(|a| a.strip_suffix('\''))
}
