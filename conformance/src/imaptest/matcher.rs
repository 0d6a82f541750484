//! Matches received replies against a script's expected ones, with imaptest's
//! rules:
//!
//! - Text compares ignoring ASCII case, except `${case:TEXT}`.
//! - `$name` (or `${name}`) that has no value yet takes its value from the
//!   input, up to the first byte equal to the pattern's next byte; once set it
//!   must match exactly. `$` alone matches anything, lists included; `$]` skips
//!   atoms up to one containing `]`. `$N` (digits) is the message that was
//!   sequence N when the group started, following EXPUNGEs since. `$modseqN`
//!   must grow by at least the difference of the N's. `$$` is a `$`.
//! - Lists may start with `$!` directives: `$!unordered[=n]` (elements, or
//!   chains of n elements, in any order; extras allowed unless `$!noextra`),
//!   `$!ordered`, `$!extra`, `$!noextra`, `$!ignore=X` (an extra X is fine with
//!   `$!noextra`) and `$!ban=X` (an extra X fails even with extras allowed).
//! - With `prefix` (tagged replies, and untagged OK/NO/BAD/BYE) the received
//!   reply may have more arguments, and the last expected one needs only to be
//!   a prefix.
//!
//! - Strings compare up to their first NUL byte, as imaptest's C strings do.
//!
//! Results are a count of matched arguments, or [`FULL`]: the counts pick the
//! "best match" shown when an expected reply never arrives.

use std::collections::HashMap;

use super::args::Arg;

/// The whole pattern matched.
pub const FULL: usize = usize::MAX;

/// Variables and the state their matching needs.
#[derive(Debug, Default)]
pub struct Matcher {
    pub vars: HashMap<String, Vec<u8>>,
    /// Variables set while matching the current reply against one expected
    /// reply; dropped again if that match fails.
    added: Vec<String>,
    /// The group's starting sequence numbers: entry N-1 is where message N is
    /// now, 0 once it was expunged.
    pub seqmap: Vec<u32>,
    modseq_idx: u32,
    modseq_value: u64,
}

impl Matcher {
    pub fn new() -> Matcher {
        Matcher::default()
    }

    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.vars.insert(name.to_string(), value.into());
    }

    /// Starts matching one received reply: forgets which variables were new.
    pub fn begin(&mut self) {
        self.added.clear();
    }

    /// The last match failed: drop the variables it set.
    pub fn revert(&mut self) {
        for name in self.added.drain(..) {
            self.vars.remove(&name);
        }
    }

    /// Starts a group: messages 1..=`exists` are where they are.
    pub fn reset_seqmap(&mut self, exists: u32) {
        self.seqmap = (1..=exists).collect();
    }

    /// Follows an EXPUNGE of sequence `seq` in the group's sequence map.
    pub fn expunged(&mut self, seq: u32) {
        if seq == 0 || seq as usize > self.seqmap.len() {
            // Beyond the messages the group started with: it arrived after an
            // EXISTS, and no `$N` can name it.
            return;
        }
        for s in self.seqmap.iter_mut().skip(seq as usize - 1) {
            if *s == seq {
                *s = 0;
            } else if *s > seq {
                *s -= 1;
            }
        }
    }

    fn relative_seq(&self, seq: u32) -> Vec<u8> {
        let text = if seq == 0 {
            "<zero seq>".to_string()
        } else {
            match self.seqmap.get(seq as usize - 1) {
                None => "<out of range>".to_string(),
                Some(0) => "<expunged>".to_string(),
                Some(s) => s.to_string(),
            }
        };
        text.into_bytes()
    }

    /// Expands the variables of a command. With `lenient`, an unknown variable
    /// stays `$` (for showing an expected reply) instead of failing.
    pub fn expand(&self, text: &[u8], lenient: bool) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i] != b'$' || i + 1 == text.len() {
                out.push(text[i]);
                i += 1;
                continue;
            }
            i += 1;
            match text[i] {
                b'$' => {
                    out.push(b'$');
                    i += 1;
                }
                b'!' => {
                    // A directive: dropped up to the next space (or the end of
                    // its list, so shown replies keep their parentheses).
                    while i < text.len() && text[i] != b' ' && text[i] != b')' {
                        i += 1;
                    }
                }
                _ => {
                    let (name, next) = var_name(text, i).ok_or("missing '}'")?;
                    i = next;
                    let name = String::from_utf8_lossy(name).into_owned();
                    if let Some(seq) = seq_number(&name) {
                        out.extend(self.relative_seq(seq));
                    } else if let Some(v) = self.vars.get(&name) {
                        out.extend_from_slice(v);
                    } else if lenient {
                        out.push(b'$');
                    } else {
                        return Err(format!("uninitialized variable: {name}"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Matches `input` against one pattern string, setting variables as it
    /// goes. Returns the pattern with variables replaced, and whether the final
    /// comparison ignores case; None on a mismatch found on the way.
    fn expand_input(&mut self, pat: &[u8], input: &[u8]) -> Option<(Vec<u8>, bool)> {
        let mut icase = true;
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < pat.len() {
            if pat[i] != b'$' || pat.get(i + 1) == Some(&b'$') {
                if pat[i] == b'$' {
                    i += 1;
                }
                if !input
                    .get(j)
                    .is_some_and(|c| c.eq_ignore_ascii_case(&pat[i]))
                {
                    return None;
                }
                out.push(pat[i]);
                i += 1;
                j += 1;
                continue;
            }
            i += 1;
            let Some((name, next)) = var_name(pat, i) else {
                // An unclosed `${`: nothing sensible can match.
                return Some((Vec::new(), icase));
            };
            i = next;
            let name = String::from_utf8_lossy(name).into_owned();
            let value: Vec<u8> = if let Some(seq) = seq_number(&name) {
                self.relative_seq(seq)
            } else if let Some(text) = name.strip_prefix("case:") {
                icase = false;
                text.as_bytes().to_vec()
            } else if let Some(v) = (!name.is_empty()).then(|| self.vars.get(&name)).flatten() {
                v.clone()
            } else {
                // Unset: take the input up to the pattern's next byte (after
                // expanding a variable that follows directly).
                let rest = &pat[i..];
                let (stop, stop_icase) = if rest.first() == Some(&b'$') {
                    match self.expand_input(rest, &input[j.min(input.len())..]) {
                        Some((s, ic)) => (s.first().copied(), ic),
                        None => (None, true),
                    }
                } else {
                    (rest.first().copied(), true)
                };
                let tail = input.get(j..).unwrap_or_default();
                let len = match stop {
                    Some(c) => tail
                        .iter()
                        .position(|b| {
                            if stop_icase {
                                b.eq_ignore_ascii_case(&c)
                            } else {
                                *b == c
                            }
                        })
                        .unwrap_or(tail.len()),
                    None => tail.len(),
                };
                let mut captured = tail[..len].to_vec();
                if name.is_empty() {
                    // `$` matches and forgets.
                } else if let Some(idx) = name.strip_prefix("modseq").and_then(seq_number) {
                    // Kept even when the reply fails, so the failure shows it.
                    captured = self.check_modseq(idx, captured);
                    self.vars.insert(name.clone(), captured.clone());
                } else {
                    self.vars.insert(name.clone(), captured.clone());
                    self.added.push(name.clone());
                }
                captured
            };
            out.extend_from_slice(&value);
            for &b in &value {
                if input.get(j) != Some(&b) {
                    return None;
                }
                j += 1;
            }
        }
        Some((out, icase))
    }

    /// `$modseqN` values must grow at least as fast as their N: returns the
    /// value, or a text that cannot match and says what was wanted.
    fn check_modseq(&mut self, idx: u32, value: Vec<u8>) -> Vec<u8> {
        let Some(v) = std::str::from_utf8(&value)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return b"$modseq-not-number".to_vec();
        };
        if self.modseq_idx > idx {
            return b"$modseq-order-mismatch".to_vec();
        }
        let at_least = self.modseq_value + u64::from(idx - self.modseq_idx);
        self.modseq_idx = idx;
        if v < at_least {
            self.modseq_value = at_least;
            return format!("$modseq-at-least-{at_least}").into_bytes();
        }
        self.modseq_value = v;
        value
    }

    /// Matches received `args` against `pattern`: [`FULL`], or how many
    /// arguments matched before the first difference. At most `max` pattern
    /// arguments are compared.
    pub fn match_args(&mut self, pattern: &[Arg], args: &[Arg], max: usize, prefix: bool) -> usize {
        let mut ret = 0;
        let mut left = max;
        let mut ai = 0;
        for (mi, m) in pattern.iter().enumerate() {
            if left == 0 {
                break;
            }
            let arg = args.get(ai);
            match m {
                Arg::Nil => {
                    if arg != Some(&Arg::Nil) {
                        return ret;
                    }
                }
                Arg::List(sub) => {
                    let Some(Arg::List(items)) = arg else {
                        return ret;
                    };
                    let r = self.match_list(sub, items);
                    if r != FULL {
                        return ret + r;
                    }
                }
                _ => {
                    let ms = until_nul(m.as_astring().unwrap_or_default());
                    if ms == b"$" && matches!(arg, Some(Arg::List(_))) {
                        // `$` skips a list too.
                    } else if ms == b"$]" {
                        while args
                            .get(ai)
                            .and_then(Arg::as_atom)
                            .is_some_and(|a| !a.contains(&b']'))
                        {
                            ai += 1;
                        }
                    } else {
                        let Some(astr) = arg.and_then(Arg::as_astring).map(until_nul) else {
                            return ret;
                        };
                        let Some((expanded, icase)) = self.expand_input(ms, astr) else {
                            return ret;
                        };
                        let last = mi + 1 == pattern.len();
                        let ok = if prefix && last {
                            astr.len() >= expanded.len()
                                && eq(&astr[..expanded.len()], &expanded, icase)
                        } else {
                            eq(astr, &expanded, icase)
                        };
                        if !ok {
                            return ret;
                        }
                    }
                }
            }
            ret += 1;
            ai += 1;
            left -= 1;
        }
        if prefix || ai >= args.len() || left == 0 {
            FULL
        } else {
            ret
        }
    }

    /// Matches a list's elements, honouring its `$!` directives.
    fn match_list(&mut self, pattern: &[Arg], args: &[Arg]) -> usize {
        let mut unordered = false;
        let mut chain = 1usize;
        let mut noextra: Option<bool> = None;
        let mut ignores: Vec<&[u8]> = Vec::new();
        let mut bans: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for m in pattern {
            let Some(d) = m.as_atom().and_then(|a| a.strip_prefix(b"$!")) else {
                break;
            };
            if let Some(rest) = d.strip_prefix(b"unordered") {
                unordered = true;
                noextra.get_or_insert(false);
                if let Some(n) = rest.strip_prefix(b"=") {
                    chain = std::str::from_utf8(n)
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .unwrap_or(1);
                }
            } else if d == b"ordered" {
                unordered = false;
            } else if d == b"extra" {
                noextra = Some(false);
            } else if d == b"noextra" {
                noextra = Some(true);
            } else if let Some(x) = d.strip_prefix(b"ignore=") {
                ignores.push(x);
            } else if let Some(x) = d.strip_prefix(b"ban=") {
                bans.push(x);
            }
            start += 1;
        }
        let noextra = noextra.unwrap_or(true);
        let pattern = &pattern[start..];
        if !unordered {
            return self.match_args(pattern, args, usize::MAX, false);
        }
        if !args.len().is_multiple_of(chain) {
            return 0;
        }
        let mut matched = vec![false; args.len()];
        let mut ret = 0;
        for wanted in pattern.chunks(chain) {
            let found = (0..args.len())
                .step_by(chain)
                .find(|&i| self.match_args(wanted, &args[i..], chain, false) == FULL);
            match found {
                Some(i) => matched[i] = true,
                None => return ret,
            }
            ret += 1;
        }
        // Elements nobody asked for: only their first (string) element counts.
        let unasked = (0..args.len())
            .step_by(chain)
            .filter(|&i| !matched[i])
            .filter_map(|i| args[i].as_astring());
        for extra in unasked {
            let listed = |list: &[&[u8]]| list.iter().any(|x| x.eq_ignore_ascii_case(extra));
            if noextra && !listed(&ignores) {
                return ret;
            }
            if !noextra && listed(&bans) {
                return ret;
            }
        }
        FULL
    }
}

/// Text up to its first NUL byte. imaptest compares C strings, so bytes after
/// a NUL never count; `append-binary` relies on that (its expected BINARY[1]
/// literal, which starts with NUL, is a byte shorter than what its APPEND
/// stores and the BINARY.SIZE it expects).
fn until_nul(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |n| &s[..n])
}

fn eq(a: &[u8], b: &[u8], icase: bool) -> bool {
    if icase {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// The variable name at `text[i..]` (after the `$`): `{...}` or a run of
/// letters, digits and `_`. Returns the name and the offset after it; None for
/// an unclosed `{`.
fn var_name(text: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if text.get(i) == Some(&b'{') {
        let close = text[i + 1..].iter().position(|&b| b == b'}')? + i + 1;
        return Some((&text[i + 1..close], close + 1));
    }
    let end = text[i..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .map_or(text.len(), |p| p + i);
    Some((&text[i..end], end))
}

/// A name made only of digits, as a number.
fn seq_number(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::args::parse;
    use super::super::script::parse_expected;
    use super::*;

    fn matches(m: &mut Matcher, pattern: &str, reply: &str, prefix: bool) -> usize {
        // With the default directives, as the script parser inserts them.
        let p = parse_expected(pattern.as_bytes()).unwrap();
        let r = parse(reply.as_bytes(), false).unwrap();
        m.begin();
        let n = m.match_args(&p, &r, usize::MAX, prefix);
        if n != FULL {
            m.revert();
        }
        n
    }

    #[test]
    fn variables_capture_then_must_repeat() {
        let mut m = Matcher::new();
        assert_eq!(
            matches(&mut m, "1 fetch (uid $uid1)", "1 FETCH (UID 42)", false),
            FULL
        );
        assert_eq!(m.vars["uid1"], b"42");
        assert_eq!(
            matches(&mut m, "1 fetch (uid $uid1)", "1 FETCH (UID 43)", false),
            2
        );
        // Captures stop at the pattern's next byte.
        assert_eq!(
            matches(
                &mut m,
                "ok [uidnext $next]",
                "OK [UIDNEXT 7] Predicted",
                true
            ),
            FULL
        );
        assert_eq!(m.vars["next"], b"7");
        assert_eq!(matches(&mut m, "search $a:$b", "SEARCH 3:9", false), FULL);
        assert_eq!(
            (m.vars["a"].as_slice(), m.vars["b"].as_slice()),
            (&b"3"[..], &b"9"[..])
        );
        // A failed match forgets what it captured.
        assert_eq!(
            matches(&mut m, "list () $sep x", "LIST () \"/\" y", false),
            3
        );
        assert!(!m.vars.contains_key("sep"));
        assert_eq!(
            m.expand(b"uid fetch $uid1:* ${next}2 $$x $!unordered y", false)
                .unwrap(),
            b"uid fetch 42:* 72 $x  y"
        );
        assert!(
            m.expand(b"select $nope", false)
                .unwrap_err()
                .contains("nope")
        );
        assert_eq!(m.expand(b"a $nope", true).unwrap(), b"a $");
    }

    #[test]
    fn case_and_anything() {
        let mut m = Matcher::new();
        assert_eq!(
            matches(&mut m, "list () \"/\" inbox", "LIST () \"/\" INBOX", false),
            FULL
        );
        assert_eq!(
            matches(
                &mut m,
                "list () \"/\" ${case:INBOX}",
                "LIST () \"/\" inbox",
                false
            ),
            3
        );
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (uid $ flags $)",
                "1 FETCH (UID 5 FLAGS (\\Seen))",
                false
            ),
            FULL
        );
        // `$` does not match NIL, as in imaptest.
        assert_ne!(
            matches(
                &mut m,
                "1 fetch (envelope ($ $))",
                "1 FETCH (ENVELOPE (NIL x))",
                false
            ),
            FULL
        );
        assert_eq!(
            matches(
                &mut m,
                "ok [capability $] done",
                "OK [CAPABILITY IMAP4rev1 X] done",
                true
            ),
            FULL
        );
    }

    #[test]
    fn unordered_lists_and_extras() {
        let mut m = Matcher::new();
        // FETCH items in any order, extra items allowed.
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (flags (\\seen) uid 4)",
                "1 FETCH (UID 4 MODSEQ (3) FLAGS (\\Seen))",
                false
            ),
            FULL
        );
        // FLAGS: no extras, except \Recent.
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (flags (\\seen))",
                "1 FETCH (FLAGS (\\Recent \\Seen))",
                false
            ),
            FULL
        );
        assert_ne!(
            matches(
                &mut m,
                "1 fetch (flags (\\seen))",
                "1 FETCH (FLAGS (\\Seen \\Flagged))",
                false
            ),
            FULL
        );
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (flags ($!unordered \\seen))",
                "1 FETCH (FLAGS (\\Seen \\Flagged))",
                false
            ),
            FULL
        );
        assert_ne!(
            matches(&mut m, "x ($!unordered $!ban=\\b a)", "X (\\b a)", false),
            FULL
        );
        assert_eq!(
            matches(&mut m, "x ($!unordered $!ban=\\b a)", "X (c a)", false),
            FULL
        );
        // Ordered is the default elsewhere, and lengths must agree.
        assert_ne!(matches(&mut m, "search (a b)", "SEARCH (b a)", false), FULL);
        assert_ne!(matches(&mut m, "search 1 2", "SEARCH 1 2 3", false), FULL);
        assert_eq!(matches(&mut m, "search 1 2", "SEARCH 1 2 3", true), FULL);
    }

    #[test]
    fn literals_compare_as_strings() {
        let mut m = Matcher::new();
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (body[] {5}\r\nab\r\nc)",
                "1 FETCH (BODY[] \"ab\\r\\nc\")",
                false
            ),
            2
        );
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (body[] {5}\r\nab\r\nc)",
                "1 FETCH (BODY[] {5}\r\nab\r\nc)",
                false
            ),
            FULL
        );
        assert_eq!(
            matches(
                &mut m,
                "1 fetch (body[text] $t)",
                "1 FETCH (BODY[TEXT] {3}\r\nx y)",
                false
            ),
            FULL
        );
        assert_eq!(m.vars["t"], b"x y");
    }

    #[test]
    fn strings_end_at_nul_as_in_imaptest() {
        let mut m = Matcher::new();
        assert_eq!(
            matches(&mut m, "x ~{3}\r\n\0ab", "X ~{2}\r\n\0c", false),
            FULL
        );
        assert_ne!(
            matches(&mut m, "x ~{3}\r\na\0b", "X ~{2}\r\nc\0", false),
            FULL
        );
    }

    #[test]
    fn relative_sequences_follow_expunges() {
        let mut m = Matcher::new();
        m.reset_seqmap(4);
        assert_eq!(matches(&mut m, "$2 expunge", "2 EXPUNGE", false), FULL);
        m.expunged(2);
        assert_eq!(matches(&mut m, "$3 expunge", "2 EXPUNGE", false), FULL);
        m.expunged(2);
        assert_eq!(m.expand(b"$2 $4", false).unwrap(), b"<expunged> 2");
    }

    #[test]
    fn modseqs_must_grow() {
        let mut m = Matcher::new();
        assert_eq!(matches(&mut m, "x $modseq2", "X 10", false), FULL);
        assert_eq!(matches(&mut m, "x $modseq5", "X 12", false), 1);
        assert_eq!(m.vars["modseq5"], b"$modseq-at-least-13");
    }
}
