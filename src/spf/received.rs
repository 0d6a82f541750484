//! The Received-SPF header field (RFC 7208 9.1) a receiver adds with its result.

use std::net::IpAddr;

use super::Verdict;
use crate::address::is_dot_string;
use crate::message::safe_text;

/// The SMTP facts the check was made for.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub ip: IpAddr,
    pub helo: &'a str,
    /// The MAIL FROM address; empty for the null reverse-path.
    pub mail_from: &'a str,
    /// This host's name.
    pub receiver: &'a str,
}

/// The field's value (after `Received-SPF:`): the result, the reason as a comment,
/// then the key-value pairs of RFC 7208 9.1, folded. Remote values are written as
/// dot-atoms where they are ones, else as quoted strings.
pub fn received_spf(verdict: &Verdict, envelope: &Envelope<'_>) -> String {
    let identity = if envelope.mail_from.is_empty() {
        "helo"
    } else {
        "mailfrom"
    };
    let comment = format!("{}: {}", envelope.receiver, verdict.reason);
    let pairs = [
        ("client-ip", envelope.ip.to_string()),
        ("envelope-from", envelope.mail_from.to_string()),
        ("helo", envelope.helo.to_string()),
        ("receiver", envelope.receiver.to_string()),
        ("identity", identity.to_string()),
    ];
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", dot_atom_or_quoted(value)))
        .collect();
    format!(
        "{} {}\r\n\t{};",
        verdict.result,
        safe_text::comment(&comment),
        pairs.join(";\r\n\t")
    )
}

/// RFC 7208 9.1's key-value pair values: dot-atom / quoted-string.
fn dot_atom_or_quoted(value: &str) -> String {
    if is_dot_string(value) {
        value.to_string()
    } else {
        safe_text::quoted_string(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spf::SpfResult;

    #[test]
    fn the_field_carries_the_result_reason_and_envelope() {
        let verdict = Verdict {
            result: SpfResult::Pass,
            domain: "example.com".into(),
            reason: "192.0.2.1 matched ip4:192.0.2.0/24 in the record of example.com".into(),
            explanation: None,
        };
        let envelope = Envelope {
            ip: "192.0.2.1".parse().unwrap(),
            helo: "foo.example.com",
            mail_from: "myname@example.com",
            receiver: "mybox.example.org",
        };
        assert_eq!(
            received_spf(&verdict, &envelope),
            "pass (mybox.example.org: 192.0.2.1 matched ip4:192.0.2.0/24 in the record of example.com)\r\n\
             \tclient-ip=192.0.2.1;\r\n\tenvelope-from=\"myname@example.com\";\r\n\thelo=foo.example.com;\r\n\
             \treceiver=mybox.example.org;\r\n\tidentity=mailfrom;"
        );
        let hostile = Envelope {
            helo: "x\r\nX-Injected: 1",
            mail_from: "",
            ..envelope
        };
        let field = received_spf(&verdict, &hostile);
        assert!(field.contains("\thelo=\"x  X-Injected: 1\";"), "{field}");
        assert!(
            field.contains("\tenvelope-from=\"\";") && field.contains("identity=helo;"),
            "{field}"
        );
        assert_eq!(field.matches('\n').count(), 5, "only our folds: {field:?}");
    }
}
