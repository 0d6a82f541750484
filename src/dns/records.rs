//! The record types mail needs, in a form independent of any DNS library.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The types of record gannet looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Mx,
    Txt,
    Ptr,
    Cname,
    Tlsa,
}

impl RecordType {
    pub const ALL: [RecordType; 7] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ptr,
        RecordType::Cname,
        RecordType::Tlsa,
    ];

    /// The mnemonic of zone files, `"AAAA"`.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ptr => "PTR",
            RecordType::Cname => "CNAME",
            RecordType::Tlsa => "TLSA",
        }
    }

    /// The type a mnemonic names, in any case.
    pub fn from_name(name: &str) -> Option<RecordType> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One record's data. Names are absolute, lowercased, without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Record {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx {
        preference: u16,
        /// Without the trailing dot; "" is the root, a null MX (RFC 7505).
        exchange: String,
    },
    /// The record's character-strings, each at most 255 octets.
    Txt(Vec<Vec<u8>>),
    Ptr(String),
    Cname(String),
    Tlsa(Tlsa),
}

/// A TLSA record (RFC 6698 2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Record {
    pub fn record_type(&self) -> RecordType {
        match self {
            Record::A(_) => RecordType::A,
            Record::Aaaa(_) => RecordType::Aaaa,
            Record::Mx { .. } => RecordType::Mx,
            Record::Txt(_) => RecordType::Txt,
            Record::Ptr(_) => RecordType::Ptr,
            Record::Cname(_) => RecordType::Cname,
            Record::Tlsa(_) => RecordType::Tlsa,
        }
    }
}

/// Zone-file presentation of the data (RFC 1035 5.1, RFC 6698 2.2): names with the
/// root dot, TXT strings quoted with `"` and `\` escaped and other octets outside
/// printable ASCII as `\DDD`.
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::A(ip) => write!(f, "{ip}"),
            Record::Aaaa(ip) => write!(f, "{ip}"),
            Record::Mx {
                preference,
                exchange,
            } if exchange.is_empty() => write!(f, "{preference} ."),
            Record::Mx {
                preference,
                exchange,
            } => write!(f, "{preference} {exchange}."),
            Record::Txt(strings) => {
                for (i, s) in strings.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str("\"")?;
                    for &b in s {
                        match b {
                            b'"' | b'\\' => write!(f, "\\{}", b as char)?,
                            0x20..=0x7e => write!(f, "{}", b as char)?,
                            _ => write!(f, "\\{b:03}")?,
                        }
                    }
                    f.write_str("\"")?;
                }
                Ok(())
            }
            Record::Ptr(name) | Record::Cname(name) => write!(f, "{name}."),
            Record::Tlsa(t) => {
                write!(f, "{} {} {} ", t.usage, t.selector, t.matching)?;
                t.data.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}
