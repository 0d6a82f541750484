//! Macro expansion (RFC 7208 7): the values a record can refer to, and how a
//! macro-string becomes a domain name or an explanation.

use std::fmt::Write;
use std::net::IpAddr;

use super::record::{Macro, MacroItem, MacroString};

/// The values macros expand to, for one check_host() call.
#[derive(Debug, Clone)]
pub struct MacroValues<'a> {
    pub sender_local: &'a str,
    pub sender_domain: &'a str,
    /// `<domain>`: the domain whose record is being evaluated.
    pub domain: &'a str,
    pub ip: IpAddr,
    pub helo: &'a str,
    /// The validated name of `ip` (`%{p}`), looked up by the caller when a macro
    /// string uses it; "unknown" when none validated.
    pub validated_name: Option<&'a str>,
    /// This host's name (`%{r}`).
    pub receiver: &'a str,
    /// Seconds since the epoch (`%{t}`).
    pub now: u64,
}

impl MacroString {
    /// Whether any macro in it is `%{p}`, which needs a DNS lookup first.
    pub fn uses_validated_name(&self) -> bool {
        self.0
            .iter()
            .any(|i| matches!(i, MacroItem::Macro(m) if m.letter == 'p'))
    }

    /// The expanded text. (Parsing has made sure that `c`, `r` and `t`, which only
    /// explanations may use, are not in a domain-spec.)
    pub fn expand(&self, values: &MacroValues<'_>) -> String {
        let mut out = String::new();
        for item in &self.0 {
            match item {
                MacroItem::Literal(s) => out.push_str(s),
                MacroItem::Percent => out.push('%'),
                MacroItem::Space => out.push(' '),
                MacroItem::UrlSpace => out.push_str("%20"),
                MacroItem::Macro(m) => out.push_str(&transform(m, &value_of(m.letter, values))),
            }
        }
        out
    }

    /// The expanded domain-spec as a name to look up: over 253 octets, labels are
    /// dropped from the left until it fits (RFC 7208 7.3).
    pub fn expand_domain(&self, values: &MacroValues<'_>) -> String {
        let name = self.expand(values);
        let name = name.trim_end_matches('.');
        if name.len() <= 253 {
            return name.to_string();
        }
        // One cut after the first dot that leaves at most 253 octets (a name with
        // no such dot stays too long, and the lookup refuses it).
        let from = name.len() - 254;
        // Bytes, not str: `from` may fall inside a UTF-8 character; a dot is a
        // character boundary.
        match name.as_bytes()[from..].iter().position(|&b| b == b'.') {
            Some(dot) => name[from + dot + 1..].to_string(),
            None => name.to_string(),
        }
    }
}

fn value_of(letter: char, v: &MacroValues<'_>) -> String {
    match letter {
        's' => format!("{}@{}", v.sender_local, v.sender_domain),
        'l' => v.sender_local.to_string(),
        'o' => v.sender_domain.to_string(),
        'd' => v.domain.to_string(),
        'i' => dotted_ip(v.ip),
        'p' => v.validated_name.unwrap_or("unknown").to_string(),
        'v' => match v.ip {
            IpAddr::V4(_) => "in-addr".into(),
            IpAddr::V6(_) => "ip6".into(),
        },
        'h' => v.helo.to_string(),
        'c' => v.ip.to_string(),
        'r' => v.receiver.to_string(),
        't' => v.now.to_string(),
        other => unreachable!("the grammar has no macro letter {other}"),
    }
}

/// `%{i}`: IPv4 dotted quad, IPv6 as 32 dot-separated nibbles (RFC 7208 7.3).
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut out = String::new();
            for octet in v6.octets() {
                let _ = write!(out, "{:x}.{:x}.", octet >> 4, octet & 0xf);
            }
            out.pop();
            out
        }
    }
}

/// Splits on the delimiters, reverses, keeps the rightmost parts, joins with dots,
/// and URL-escapes for an uppercase letter.
fn transform(m: &Macro, value: &str) -> String {
    let delimiters = if m.delimiters.is_empty() {
        "."
    } else {
        m.delimiters.as_str()
    };
    let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
    if m.reverse {
        parts.reverse();
    }
    if let Some(keep) = m.keep {
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        parts.drain(..parts.len().saturating_sub(keep));
    }
    let joined = parts.join(".");
    if m.url_escape {
        url_escape(&joined)
    } else {
        joined
    }
}

/// Percent-encodes every octet but RFC 3986's unreserved characters.
fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::parse::explain_string;
    use super::*;

    /// RFC 7208 7.4's examples, with its sender, IPs and domain.
    #[test]
    fn the_rfc_7208_examples_expand_as_printed() {
        let mut values = MacroValues {
            sender_local: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
            validated_name: None,
            receiver: "mx.example.org",
            now: 0,
        };
        let cases = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
        ];
        for (spec, expected) in cases {
            let ms = explain_string(spec).unwrap();
            assert_eq!(ms.expand(&values), expected, "{spec}");
        }
        values.ip = "2001:db8::cb01".parse().unwrap();
        let ms = explain_string("%{ir}.%{v}._spf.%{d2}").unwrap();
        assert_eq!(
            ms.expand(&values),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn uppercase_letters_escape_and_explanation_letters_expand() {
        let values = MacroValues {
            sender_local: "a b",
            sender_domain: "example.com",
            domain: "example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "h",
            validated_name: None,
            receiver: "r.example",
            now: 7,
        };
        let ms = explain_string("%{L}%%%_%-%{c}%{r}%{t}%{p}").unwrap();
        assert_eq!(ms.expand(&values), "a%20b% %20192.0.2.3r.example7unknown");
    }

    #[test]
    fn long_expansions_lose_labels_from_the_left() {
        let local = "x".repeat(60);
        let values = MacroValues {
            sender_local: &local,
            sender_domain: "example.com",
            domain: "example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "h",
            validated_name: None,
            receiver: "r",
            now: 0,
        };
        let ms = explain_string("%{l}.%{l}.%{l}.%{l}.%{l}.example.com").unwrap();
        let name = ms.expand_domain(&values);
        assert_eq!(name, format!("{local}.{local}.{local}.example.com"));
    }
}
