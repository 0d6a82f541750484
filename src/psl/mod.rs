//! The Public Suffix List (<https://publicsuffix.org/>): which names are public
//! suffixes (`com`, `co.uk`, `github.io`), and so which part of a domain is the part
//! one registrant holds. DMARC's organizational domain is that registrable part
//! (RFC 7489 3.2).
//!
//! The list is built in (`public_suffix_list.dat`, MPL-2.0, see `COPYRIGHT` here)
//! and read once. Its rules, ICANN and private sections alike, follow the list's own
//! algorithm: an exception rule (`!www.ck`) wins; otherwise the matching rule with
//! the most labels, a wildcard (`*.ck`) matching any one label; otherwise the
//! implicit rule `*`. Refresh it with `cargo xtask psl FILE` (README, "Message
//! authentication").

use std::collections::HashSet;
use std::sync::LazyLock;

/// The list as shipped.
pub const LIST: &str = include_str!("public_suffix_list.dat");

/// The rules of a list, every name in A-label form.
#[derive(Debug, Default)]
pub struct SuffixList {
    /// `co.uk`
    rules: HashSet<String>,
    /// `*.ck`, held as `ck`
    wildcards: HashSet<String>,
    /// `!www.ck`, held as `www.ck`
    exceptions: HashSet<String>,
}

static BUILT_IN: LazyLock<SuffixList> =
    LazyLock::new(|| SuffixList::parse(LIST).expect("the built-in list is checked by tests"));

/// A line of a list that is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ListError {
    pub line: usize,
    pub problem: String,
}

impl SuffixList {
    /// The list built into gannet.
    pub fn built_in() -> &'static SuffixList {
        &BUILT_IN
    }

    /// Reads a list in the publicsuffix.org format: one rule per line, the rule
    /// being the line up to its first white space; `//` comments and blank lines.
    pub fn parse(text: &str) -> Result<SuffixList, ListError> {
        let mut list = SuffixList::default();
        for (n, line) in text.lines().enumerate() {
            let rule = line.split_whitespace().next().unwrap_or("");
            if rule.is_empty() || rule.starts_with("//") {
                continue;
            }
            let error = |problem: String| ListError {
                line: n + 1,
                problem,
            };
            let (set, name) = if let Some(name) = rule.strip_prefix('!') {
                (&mut list.exceptions, name)
            } else if let Some(name) = rule.strip_prefix("*.") {
                (&mut list.wildcards, name)
            } else {
                (&mut list.rules, rule)
            };
            let ascii =
                to_ascii(name).ok_or_else(|| error(format!("{rule:?} is not a domain name")))?;
            set.insert(ascii);
        }
        if list.rules.is_empty() {
            return Err(ListError {
                line: 0,
                problem: "no rules: this is not a public suffix list".into(),
            });
        }
        Ok(list)
    }

    /// How many labels, counted from the right, the public suffix of `labels` (an
    /// A-label domain split at its dots) has.
    fn suffix_labels(&self, labels: &[&str]) -> usize {
        let n = labels.len();
        // names[i]: the domain from label i on.
        let names: Vec<String> = (0..n).map(|i| labels[i..].join(".")).collect();
        // Exceptions win, and an exception rule's suffix is the rule minus its
        // leftmost label.
        if let Some(i) = names.iter().position(|name| self.exceptions.contains(name)) {
            return n - i - 1;
        }
        // The longest matching rule starts leftmost.
        (0..n)
            .find(|&i| {
                self.rules.contains(&names[i])
                    || names
                        .get(i + 1)
                        .is_some_and(|rest| self.wildcards.contains(rest))
            })
            .map_or(1, |i| n - i)
    }

    /// The registrable part of `domain` (its public suffix and one label more), in
    /// the form it was given (lowercased; U-labels stay U-labels), or `None` when
    /// `domain` is a public suffix itself or not a domain name.
    pub fn registrable_domain(&self, domain: &str) -> Option<String> {
        let domain = domain.strip_suffix('.').unwrap_or(domain).to_lowercase();
        let ascii = to_ascii(&domain)?;
        let labels: Vec<&str> = ascii.split('.').collect();
        let keep = self.suffix_labels(&labels) + 1;
        if keep > labels.len() {
            return None;
        }
        // The input's own labels, where they correspond one to one (UTS #46 can map
        // other dots, such as U+3002, to '.').
        let given: Vec<&str> = domain.split('.').collect();
        let labels = if given.len() == labels.len() {
            given
        } else {
            labels
        };
        Some(labels[labels.len() - keep..].join("."))
    }
}

/// `name` in A-label form, lowercased, if it is a domain name with no empty label.
fn to_ascii(name: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii(name).ok()?;
    (!ascii.is_empty() && !ascii.split('.').any(str::is_empty)).then_some(ascii)
}

/// The organizational domain of `domain` by the built-in list (RFC 7489 3.2): its
/// registrable part, or the domain itself when it is a public suffix.
pub fn organizational_domain(domain: &str) -> String {
    SuffixList::built_in()
        .registrable_domain(domain)
        .unwrap_or_else(|| domain.strip_suffix('.').unwrap_or(domain).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_list_reads_whole() {
        let list = SuffixList::built_in();
        assert!(list.rules.len() > 5000, "{}", list.rules.len());
        assert!(list.wildcards.contains("ck"));
        assert!(list.exceptions.contains("www.ck"));
        // U-label rules are held as A-labels.
        assert!(list.rules.contains("xn--55qx5d.cn"), "公司.cn");
    }

    #[test]
    fn organizational_domains_follow_rules_wildcards_and_exceptions() {
        for (domain, org) in [
            ("mail.example.com", "example.com"),
            ("example.com", "example.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("Mail.Example.COM.", "example.com"),
            // A public suffix is its own organizational domain.
            ("co.uk", "co.uk"),
            // Private section: each github.io site is its own organization.
            ("alice.github.io", "alice.github.io"),
            ("x.alice.github.io", "alice.github.io"),
            ("b.c.mm", "b.c.mm"),
            ("www.www.ck", "www.ck"),
        ] {
            assert_eq!(organizational_domain(domain), org, "{domain}");
        }
    }

    #[test]
    fn a_list_that_is_not_one_is_refused_with_its_line() {
        assert_eq!(
            SuffixList::parse("// nothing\n").unwrap_err().problem,
            "no rules: this is not a public suffix list"
        );
        let err = SuffixList::parse("com\nbad..name\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.problem.contains("\"bad..name\""), "{err}");
    }
}
