//! The four SCRAM messages of RFC 5802 section 7, parsed from and printed to
//! their exact text. Parsers also hand back the parts of the text as sent that
//! go into AuthMessage and the channel binding check, so those never depend on
//! how we would print the same values. Unknown optional extensions are ignored,
//! as the RFC requires; a mandatory one (`m=`) fails the exchange.

use std::fmt;
use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::sasl::SaslError;

/// The gs2-cbind-flag: what the client says about channel binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// `n`: the client does not support channel binding.
    Unsupported,
    /// `y`: the client supports it but thinks the server does not.
    NotOffered,
    /// `p=cb-name`: the client binds to the channel with this type.
    Bound(String),
}

/// client-first-message: gs2-header and client-first-message-bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFirst {
    pub(crate) binding: Binding,
    pub(crate) authzid: Option<String>,
    pub(crate) username: String,
    pub(crate) nonce: String,
}

/// server-first-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerFirst {
    /// The client's nonce followed by the server's.
    pub(crate) nonce: String,
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: NonZeroU32,
}

/// client-final-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFinal {
    /// The decoded `c=`: the gs2-header, then the binding data with `p=`.
    pub(crate) channel_binding: Vec<u8>,
    pub(crate) nonce: String,
    pub(crate) proof: Vec<u8>,
}

/// server-final-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerFinal {
    /// `v=`: the ServerSignature.
    Verifier(Vec<u8>),
    /// `e=`: why the server refused.
    Error(String),
}

impl ClientFirst {
    /// The gs2-header, which `c=` in the final message repeats.
    pub(crate) fn gs2_header(&self) -> String {
        let flag = match &self.binding {
            Binding::Unsupported => "n".to_owned(),
            Binding::NotOffered => "y".to_owned(),
            Binding::Bound(name) => format!("p={name}"),
        };
        let authzid = self.authzid.as_deref().map(escape_saslname);
        format!(
            "{flag},{},",
            authzid.map_or(String::new(), |a| format!("a={a}"))
        )
    }

    /// client-first-message-bare, which starts AuthMessage.
    pub(crate) fn bare(&self) -> String {
        format!("n={},r={}", escape_saslname(&self.username), self.nonce)
    }

    /// The message, with the gs2-header and the bare message as sent.
    pub(crate) fn parse(text: &str) -> Result<(ClientFirst, &str, &str), SaslError> {
        let (flag, rest) = text
            .split_once(',')
            .ok_or_else(|| malformed("client-first-message: expected a gs2-header"))?;
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or_else(|| malformed("client-first-message: expected ',' after the authzid"))?;
        let header = &text[..text.len() - bare.len()];
        let authzid = match authzid {
            "" => None,
            _ => Some(saslname(
                authzid.strip_prefix("a=").ok_or_else(|| {
                    malformed("gs2-header: expected 'a=' or nothing before the second ','")
                })?,
                "authzid",
            )?),
        };
        if bare.starts_with("m=") {
            return Err(malformed(
                "client-first-message: mandatory extension 'm' is not supported",
            ));
        }
        let mut attributes = Attributes::new(bare, "client-first-message");
        let username = saslname(attributes.expect('n')?, "username")?;
        let nonce = nonce(attributes.expect('r')?)?;
        attributes.extensions()?;
        let first = ClientFirst {
            binding: binding_flag(flag)?,
            authzid,
            username,
            nonce,
        };
        Ok((first, header, bare))
    }
}

impl fmt::Display for ClientFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.gs2_header(), self.bare())
    }
}

impl ServerFirst {
    pub(crate) fn parse(text: &str) -> Result<ServerFirst, SaslError> {
        if text.starts_with("m=") {
            return Err(malformed(
                "server-first-message: mandatory extension 'm' is not supported",
            ));
        }
        let mut attributes = Attributes::new(text, "server-first-message");
        let nonce = nonce(attributes.expect('r')?)?;
        let salt = base64(attributes.expect('s')?, "salt")?;
        let iterations = iteration_count(attributes.expect('i')?)?;
        attributes.extensions()?;
        Ok(ServerFirst {
            nonce,
            salt,
            iterations,
        })
    }
}

impl fmt::Display for ServerFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let salt = STANDARD.encode(&self.salt);
        write!(f, "r={},s={salt},i={}", self.nonce, self.iterations)
    }
}

impl ClientFinal {
    /// client-final-message-without-proof, which ends AuthMessage.
    pub(crate) fn without_proof(&self) -> String {
        format!(
            "c={},r={}",
            STANDARD.encode(&self.channel_binding),
            self.nonce
        )
    }

    /// The message, with its part before `,p=` as sent.
    pub(crate) fn parse(text: &str) -> Result<(ClientFinal, &str), SaslError> {
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| malformed("client-final-message: expected ',p=' and the proof last"))?;
        let mut attributes = Attributes::new(without_proof, "client-final-message");
        let channel_binding = base64(attributes.expect('c')?, "channel binding")?;
        let nonce = nonce(attributes.expect('r')?)?;
        attributes.extensions()?;
        let proof = base64(non_empty(proof, 'p', "client-final-message")?, "proof")?;
        let message = ClientFinal {
            channel_binding,
            nonce,
            proof,
        };
        Ok((message, without_proof))
    }
}

impl fmt::Display for ClientFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},p={}",
            self.without_proof(),
            STANDARD.encode(&self.proof)
        )
    }
}

impl ServerFinal {
    pub(crate) fn parse(text: &str) -> Result<ServerFinal, SaslError> {
        let mut attributes = Attributes::new(text, "server-final-message");
        let message = match text.as_bytes().first() {
            Some(b'e') => {
                ServerFinal::Error(value(attributes.expect('e')?, "server error")?.to_owned())
            }
            _ => ServerFinal::Verifier(base64(attributes.expect('v')?, "verifier")?),
        };
        attributes.extensions()?;
        Ok(message)
    }
}

impl fmt::Display for ServerFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerFinal::Verifier(signature) => write!(f, "v={}", STANDARD.encode(signature)),
            ServerFinal::Error(error) => write!(f, "e={error}"),
        }
    }
}

/// A saslname: `=` and `,` escaped as `=3D` and `=2C`.
pub(crate) fn escape_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The comma-separated `a=value` attributes of a message, in their fixed order.
struct Attributes<'a> {
    parts: std::str::Split<'a, char>,
    message: &'static str,
}

impl<'a> Attributes<'a> {
    fn new(text: &'a str, message: &'static str) -> Attributes<'a> {
        Attributes {
            parts: text.split(','),
            message,
        }
    }

    /// The value of the next attribute, which must be `name`.
    fn expect(&mut self, name: char) -> Result<&'a str, SaslError> {
        let part = self.parts.next().unwrap_or_default();
        let value = part
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or_else(|| {
                malformed(format!("{}: expected '{name}=' at {part:?}", self.message))
            })?;
        non_empty(value, name, self.message)
    }

    /// What is left must be extensions (`x=value`): checked, then ignored.
    fn extensions(self) -> Result<(), SaslError> {
        for part in self.parts {
            let mut name = part.chars();
            let valid = name.next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.next() == Some('=')
                && value(name.as_str(), "extension").is_ok_and(|v| !v.is_empty());
            if !valid {
                return Err(malformed(format!(
                    "{}: expected an extension 'x=value' at {part:?}",
                    self.message
                )));
            }
        }
        Ok(())
    }
}

fn non_empty<'a>(value: &'a str, name: char, message: &str) -> Result<&'a str, SaslError> {
    match value {
        "" => Err(malformed(format!(
            "{message}: '{name}=' has an empty value"
        ))),
        _ => Ok(value),
    }
}

fn binding_flag(flag: &str) -> Result<Binding, SaslError> {
    let is_cb_name = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    match flag {
        "n" => Ok(Binding::Unsupported),
        "y" => Ok(Binding::NotOffered),
        _ => match flag.strip_prefix("p=") {
            Some(name) if is_cb_name(name) => Ok(Binding::Bound(name.to_owned())),
            _ => Err(malformed(format!(
                "gs2-header: expected 'n', 'y' or 'p=cb-name', not {flag:?}"
            ))),
        },
    }
}

/// A saslname unescaped; `=` must start `=2C` or `=3D`.
fn saslname(text: &str, what: &str) -> Result<String, SaslError> {
    if text.is_empty() {
        return Err(malformed(format!("the {what} is empty")));
    }
    let text = value(text, what)?;
    let mut name = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        name.push_str(&rest[..at]);
        let escaped = match rest.get(at..at + 3) {
            Some("=2C") => ',',
            Some("=3D") => '=',
            _ => {
                return Err(malformed(format!(
                    "the {what} has '=' that is not '=2C' or '=3D'"
                )));
            }
        };
        name.push(escaped);
        rest = &rest[at + 3..];
    }
    name.push_str(rest);
    Ok(name)
}

/// value-char text: anything but NUL (and the comma that separates attributes).
fn value<'a>(text: &'a str, what: &str) -> Result<&'a str, SaslError> {
    match text.contains('\0') {
        true => Err(malformed(format!("the {what} holds NUL"))),
        false => Ok(text),
    }
}

/// A nonce: printable ASCII but the comma.
fn nonce(text: &str) -> Result<String, SaslError> {
    match text.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        true => Ok(text.to_owned()),
        false => Err(malformed("the nonce must be printable ASCII")),
    }
}

fn base64(text: &str, what: &str) -> Result<Vec<u8>, SaslError> {
    STANDARD
        .decode(text)
        .map_err(|e| malformed(format!("the {what} is not valid base64: {e}")))
}

/// posit-number: no leading zero, and it must fit the u32 we compute with.
fn iteration_count(text: &str) -> Result<NonZeroU32, SaslError> {
    let digits = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    match text.parse() {
        Ok(count) if digits => Ok(count),
        _ => Err(malformed(format!(
            "the iteration count {text:?} is not a positive number"
        ))),
    }
}

fn malformed(detail: impl Into<String>) -> SaslError {
    SaslError::malformed(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_first_with_binding_and_authzid() {
        let text = "p=tls-exporter,a=j=3Dd=2Cx,n=us=2Cer,r=abc,x=ext";
        let (first, header, bare) = ClientFirst::parse(text).unwrap();
        assert_eq!(first.binding, Binding::Bound("tls-exporter".into()));
        assert_eq!(first.authzid.as_deref(), Some("j=d,x"));
        assert_eq!(first.username, "us,er");
        assert_eq!(first.nonce, "abc");
        assert_eq!(header, "p=tls-exporter,a=j=3Dd=2Cx,");
        assert_eq!(bare, "n=us=2Cer,r=abc,x=ext");
        assert_eq!(
            first.to_string(),
            "p=tls-exporter,a=j=3Dd=2Cx,n=us=2Cer,r=abc"
        );
    }

    #[test]
    fn client_first_errors() {
        for bad in [
            "",
            "n",
            "n,",
            "n,,",
            "x,,n=user,r=abc",
            "p=,,n=user,r=abc",
            "p=tls_exporter,,n=user,r=abc",
            "n,b=user,n=user,r=abc",
            "n,a=,n=user,r=abc",
            "n,,m=ext,n=user,r=abc",
            "n,,n=user",
            "n,,r=abc,n=user",
            "n,,n=,r=abc",
            "n,,n=user,r=",
            "n,,n=us=2cer,r=abc",
            "n,,n=user=,r=abc",
            "n,,n=us\0er,r=abc",
            "n,,n=user,r=a b",
            "n,,n=user,r=abc,",
            "n,,n=user,r=abc,xx=1",
            "n,,n=user,r=abc,x=",
            "n,,n=user,r=abc,1=x",
        ] {
            assert!(
                matches!(ClientFirst::parse(bad), Err(SaslError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn server_first_and_errors() {
        let first = ServerFirst::parse("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096,z=ignored").unwrap();
        assert_eq!(first.nonce, "abcdef");
        assert_eq!(first.iterations.get(), 4096);
        for bad in [
            "m=x,r=a,s=QQ==,i=1",
            "r=a,s=QQ==",
            "r=a,s=QQ==,i=0",
            "r=a,s=QQ==,i=01",
            "r=a,s=QQ==,i=+1",
            "r=a,s=QQ==,i=4294967296",
            "r=a,s=QQ,i=1",
            "s=QQ==,r=a,i=1",
        ] {
            assert!(ServerFirst::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_final_keeps_the_text_without_proof() {
        let text = "c=biws,r=abc,x=y,p=dGlt";
        let (last, without_proof) = ClientFinal::parse(text).unwrap();
        assert_eq!(without_proof, "c=biws,r=abc,x=y");
        assert_eq!(last.channel_binding, b"n,,");
        assert_eq!(last.proof, b"tim");
        for bad in [
            "c=biws,r=abc",
            "c=biws,r=abc,p=",
            "c=biws,r=abc,p=dGlt,x=y",
            "r=abc,c=biws,p=dGlt",
            "c=biws,p=dGlt",
            "p=dGlt",
            "c=bi,r=abc,p=dGlt",
        ] {
            assert!(ClientFinal::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn server_final_verifier_or_error() {
        assert_eq!(
            ServerFinal::parse("v=dGlt"),
            Ok(ServerFinal::Verifier(b"tim".to_vec()))
        );
        assert_eq!(
            ServerFinal::parse("e=invalid-proof"),
            Ok(ServerFinal::Error("invalid-proof".into()))
        );
        for bad in ["", "v=", "x=1", "e=", "v=dGlt,", "v=dGl"] {
            assert!(ServerFinal::parse(bad).is_err(), "{bad:?}");
        }
    }
}
