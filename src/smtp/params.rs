//! MAIL FROM and RCPT TO parameters: their values (RFC 1870 SIZE, RFC 6152 and RFC 3030
//! BODY, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 8689 REQUIRETLS, RFC 4865 FUTURERELEASE,
//! RFC 4954 AUTH) and the xtext encoding (RFC 3461 4).

use std::fmt;

/// BODY= (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
    BinaryMime,
}

/// RET= (RFC 3461 4.3): what a DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Full,
    Hdrs,
}

impl Ret {
    /// The value as sent: `FULL` or `HDRS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        }
    }

    /// The value named `name`, in any case.
    pub fn from_name(name: &str) -> Option<Ret> {
        [Ret::Full, Ret::Hdrs]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
    }
}

/// HOLDFOR= or HOLDUNTIL= (RFC 4865).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Seconds to hold the message.
    For(u32),
    /// Release time, seconds since the epoch, with the text it was given as.
    Until(i64, String),
}

/// NOTIFY= (RFC 3461 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Never,
    On {
        success: bool,
        failure: bool,
        delay: bool,
    },
}

/// ORCPT= (RFC 3461 4.2): the original recipient, decoded from xtext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orcpt {
    /// The address type, e.g. "rfc822" or "utf-8".
    pub addr_type: String,
    pub address: String,
}

/// Parameters of MAIL FROM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
    pub body: Option<Body>,
    pub smtputf8: bool,
    pub ret: Option<Ret>,
    /// ENVID=, decoded from xtext.
    pub envid: Option<String>,
    pub requiretls: bool,
    pub hold: Option<Hold>,
    /// AUTH= (RFC 4954 5): the original submitter, decoded; "<>" when unknown.
    pub auth: Option<String>,
}

/// Parameters of RCPT TO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    pub notify: Option<Notify>,
    pub orcpt: Option<Orcpt>,
}

/// Why a parameter was refused; the session answers 555 5.5.4 with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("unknown parameter {0}")]
    Unknown(String),
    #[error("parameter {0} given twice")]
    Repeated(String),
    #[error("parameter {0} needs a value")]
    MissingValue(String),
    #[error("parameter {0} takes no value")]
    UnexpectedValue(String),
    #[error("invalid value for {name}: {reason}")]
    Invalid { name: String, reason: String },
}

fn invalid(name: &str, reason: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name: name.to_string(),
        reason: reason.into(),
    }
}

fn need<'a>(name: &str, value: Option<&'a str>) -> Result<&'a str, ParamError> {
    value.ok_or_else(|| ParamError::MissingValue(name.to_string()))
}

fn digits<T: std::str::FromStr>(name: &str, value: &str, max_len: usize) -> Result<T, ParamError> {
    if value.is_empty() || value.len() > max_len || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(name, format!("expected 1 to {max_len} digits")));
    }
    value
        .parse()
        .map_err(|_| invalid(name, "number out of range"))
}

impl MailParams {
    /// Adds one `keyword[=value]`.
    pub fn add(&mut self, keyword: &str, value: Option<&str>) -> Result<(), ParamError> {
        let name = keyword.to_ascii_uppercase();
        let need = |v| need(&name, v);
        let flag = |v: Option<&str>| {
            if v.is_some() {
                Err(ParamError::UnexpectedValue(name.clone()))
            } else {
                Ok(true)
            }
        };
        let repeated = match name.as_str() {
            "SIZE" => self
                .size
                .replace(digits(&name, need(value)?, 20)?)
                .is_some(),
            "BODY" => {
                let body = match need(value)?.to_ascii_uppercase().as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    "BINARYMIME" => Body::BinaryMime,
                    _ => return Err(invalid(&name, "expected 7BIT, 8BITMIME or BINARYMIME")),
                };
                self.body.replace(body).is_some()
            }
            "SMTPUTF8" => std::mem::replace(&mut self.smtputf8, flag(value)?),
            "REQUIRETLS" => std::mem::replace(&mut self.requiretls, flag(value)?),
            "RET" => {
                let ret = Ret::from_name(need(value)?)
                    .ok_or_else(|| invalid(&name, "expected FULL or HDRS"))?;
                self.ret.replace(ret).is_some()
            }
            "ENVID" => {
                let envid = xtext_decode(need(value)?).map_err(|r| invalid(&name, r))?;
                // RFC 3461 4.4: "ENVID ... MUST NOT contain more than 100 characters".
                if envid.len() > 100 {
                    return Err(invalid(&name, "longer than 100 characters"));
                }
                self.envid.replace(envid).is_some()
            }
            "HOLDFOR" => self
                .hold
                .replace(Hold::For(digits(&name, need(value)?, 9)?))
                .is_some(),
            "HOLDUNTIL" => {
                let text = need(value)?;
                let at = rfc3339(text)
                    .ok_or_else(|| invalid(&name, "expected an RFC 3339 date-time"))?;
                self.hold
                    .replace(Hold::Until(at, text.to_string()))
                    .is_some()
            }
            "AUTH" => self
                .auth
                .replace(xtext_decode(need(value)?).map_err(|r| invalid(&name, r))?)
                .is_some(),
            _ => return Err(ParamError::Unknown(name)),
        };
        if repeated {
            Err(ParamError::Repeated(name))
        } else {
            Ok(())
        }
    }
}

impl RcptParams {
    /// Adds one `keyword[=value]`.
    pub fn add(&mut self, keyword: &str, value: Option<&str>) -> Result<(), ParamError> {
        let name = keyword.to_ascii_uppercase();
        let value = || need(&name, value);
        let repeated = match name.as_str() {
            "NOTIFY" => self
                .notify
                .replace(notify(value()?).map_err(|r| invalid(&name, r))?)
                .is_some(),
            "ORCPT" => {
                let (addr_type, xtext) = value()?
                    .split_once(';')
                    .ok_or_else(|| invalid(&name, "expected addr-type;address"))?;
                let valid_type = !addr_type.is_empty()
                    && addr_type
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !valid_type {
                    return Err(invalid(
                        &name,
                        "the address type must be an atom such as rfc822",
                    ));
                }
                let address = xtext_decode(xtext).map_err(|r| invalid(&name, r))?;
                self.orcpt
                    .replace(Orcpt {
                        addr_type: addr_type.to_string(),
                        address,
                    })
                    .is_some()
            }
            _ => return Err(ParamError::Unknown(name)),
        };
        if repeated {
            Err(ParamError::Repeated(name))
        } else {
            Ok(())
        }
    }
}

/// NOTIFY="NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
fn notify(value: &str) -> Result<Notify, &'static str> {
    if value.eq_ignore_ascii_case("NEVER") {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for item in value.split(',') {
        let slot = match item.to_ascii_uppercase().as_str() {
            "SUCCESS" => &mut success,
            "FAILURE" => &mut failure,
            "DELAY" => &mut delay,
            "NEVER" => return Err("NEVER cannot be combined with other values"),
            _ => return Err("expected NEVER, or SUCCESS, FAILURE and DELAY separated by commas"),
        };
        if std::mem::replace(slot, true) {
            return Err("a value is listed twice");
        }
    }
    Ok(Notify::On {
        success,
        failure,
        delay,
    })
}

/// xtext = *( xchar / hexchar ); xchar = %d33-42 / %d44-60 / %d62-126 ("+" and "="
/// excluded); hexchar = "+" 2(uppercase HEXDIG).
pub fn xtext_decode(s: &str) -> Result<String, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or("'+' must be followed by two hex digits")?;
                if !hex
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
                {
                    return Err("'+' must be followed by two uppercase hex digits");
                }
                let hex = std::str::from_utf8(hex).map_err(|_| "bad hex")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad hex")?);
                i += 3;
            }
            b'=' => return Err("'=' must be written as +3D"),
            33..=126 => {
                out.push(bytes[i]);
                i += 1;
            }
            _ => return Err("only printable ASCII is allowed"),
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded value is not UTF-8")
}

/// The xtext form of `s`.
pub fn xtext_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'+' | b'=' => format!("+{b:02X}"),
            33..=126 => (b as char).to_string(),
            _ => format!("+{b:02X}"),
        })
        .collect()
}

/// An RFC 3339 date-time as seconds since the epoch:
/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`.
pub fn rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = 19;
    if sep(rest, b".") {
        rest += 1;
        let digits = b[rest..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest += digits;
    }
    let offset = match b.get(rest)? {
        b'Z' | b'z' if rest + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if rest + 6 == b.len() && sep(rest + 3, b":") => {
            let minutes = num(rest + 1..rest + 3)? * 60 + num(rest + 4..rest + 6)?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60;
    valid.then(|| {
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset * 60
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

impl fmt::Display for MailParams {
    /// The parameters as sent, each preceded by a space, in a fixed order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(size) = self.size {
            write!(f, " SIZE={size}")?;
        }
        if let Some(body) = self.body {
            let b = match body {
                Body::SevenBit => "7BIT",
                Body::EightBitMime => "8BITMIME",
                Body::BinaryMime => "BINARYMIME",
            };
            write!(f, " BODY={b}")?;
        }
        if self.smtputf8 {
            f.write_str(" SMTPUTF8")?;
        }
        if let Some(ret) = self.ret {
            write!(f, " RET={}", ret.as_str())?;
        }
        if let Some(envid) = &self.envid {
            write!(f, " ENVID={}", xtext_encode(envid))?;
        }
        if self.requiretls {
            f.write_str(" REQUIRETLS")?;
        }
        match &self.hold {
            Some(Hold::For(s)) => write!(f, " HOLDFOR={s}")?,
            Some(Hold::Until(_, text)) => write!(f, " HOLDUNTIL={text}")?,
            None => {}
        }
        if let Some(auth) = &self.auth {
            write!(f, " AUTH={}", xtext_encode(auth))?;
        }
        Ok(())
    }
}

impl fmt::Display for RcptParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.notify {
            Some(Notify::Never) => f.write_str(" NOTIFY=NEVER")?,
            Some(Notify::On {
                success,
                failure,
                delay,
            }) => {
                let on: Vec<&str> = [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
                    .into_iter()
                    .filter_map(|(set, name)| set.then_some(name))
                    .collect();
                write!(f, " NOTIFY={}", on.join(","))?;
            }
            None => {}
        }
        if let Some(o) = &self.orcpt {
            write!(f, " ORCPT={};{}", o.addr_type, xtext_encode(&o.address))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_round_trips_and_rejects_lowercase_hex() {
        assert_eq!(xtext_decode("a+2Bb+3Dc").unwrap(), "a+b=c");
        assert_eq!(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
        assert!(xtext_decode("a+2b").is_err());
        assert!(xtext_decode("a=b").is_err());
    }

    #[test]
    fn rfc3339_dates_with_offsets() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("2026-11-22T10:00:00+01:00"), Some(1795338000));
        assert_eq!(rfc3339("2024-02-29T12:00:00.5Z"), Some(1709208000));
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-11-22 10:00:00Z",
            "2026-11-22T10:00:00",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn notify_values_follow_rfc_3461() {
        assert_eq!(notify("never"), Ok(Notify::Never));
        assert_eq!(
            notify("SUCCESS,DELAY"),
            Ok(Notify::On {
                success: true,
                failure: false,
                delay: true
            })
        );
        assert!(notify("NEVER,SUCCESS").is_err());
        assert!(notify("SUCCESS,SUCCESS").is_err());
    }
}
