//! DNS names as lookups take them: ASCII, lowercased, without the trailing dot.

use std::fmt::Write;
use std::net::IpAddr;

/// Why a name cannot be looked up (RFC 1035 2.3.4 limits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("DNS name {0:?} is empty")]
    Empty(String),
    #[error("DNS name {0:?} has an empty label")]
    EmptyLabel(String),
    #[error("DNS name {0:?} has a label longer than 63 octets")]
    LongLabel(String),
    #[error("DNS name {0:?} is longer than 253 octets")]
    Long(String),
    #[error("DNS name {0:?} is not ASCII (use the A-label form)")]
    NotAscii(String),
    #[error("DNS name {0:?} cannot be looked up: {1}")]
    Invalid(String, String),
}

/// `name` lowercased and without its trailing dot, if it is a name DNS can hold.
/// Any octet but the dot may appear in a label (underscores in `_dmarc`, for one).
pub fn normalize_name(name: &str) -> Result<String, NameError> {
    let owned = || name.to_string();
    if !name.is_ascii() {
        return Err(NameError::NotAscii(owned()));
    }
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err(NameError::Empty(owned()));
    }
    if bare.len() > 253 {
        return Err(NameError::Long(owned()));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel(owned()));
        }
        if label.len() > 63 {
            return Err(NameError::LongLabel(owned()));
        }
    }
    Ok(bare.to_ascii_lowercase())
}

/// The name of `ip`'s PTR records: `4.3.2.1.in-addr.arpa` for 1.2.3.4, and for IPv6
/// its 32 nibbles in reverse under `ip6.arpa` (RFC 3596 2.5).
pub fn reverse_name(ip: IpAddr) -> String {
    let mut out = String::new();
    match ip {
        IpAddr::V4(v4) => {
            for octet in v4.octets().iter().rev() {
                let _ = write!(out, "{octet}.");
            }
            out.push_str("in-addr.arpa");
        }
        IpAddr::V6(v6) => {
            for octet in v6.octets().iter().rev() {
                let _ = write!(out, "{:x}.{:x}.", octet & 0xf, octet >> 4);
            }
            out.push_str("ip6.arpa");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_without_the_root_dot() {
        assert_eq!(
            normalize_name("_DMARC.Example.COM.").unwrap(),
            "_dmarc.example.com"
        );
        assert!(matches!(
            normalize_name("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(normalize_name("."), Err(NameError::Empty(_))));
        assert!(matches!(
            normalize_name(&"a".repeat(64)),
            Err(NameError::LongLabel(_))
        ));
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62),
        ]
        .join(".");
        assert!(matches!(normalize_name(&long), Err(NameError::Long(_))));
        assert!(normalize_name(&long[2..]).is_ok());
        assert!(matches!(
            normalize_name("bücher.de"),
            Err(NameError::NotAscii(_))
        ));
    }

    #[test]
    fn reverse_names_follow_rfc_1035_and_rfc_3596() {
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }
}
