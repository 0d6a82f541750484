//! A SOCKS5 client (RFC 1928): CONNECT through a proxy to an IP address or a
//! domain name, without authentication or with a user name and password (RFC
//! 1929). The outgoing queue's socks5 transport delivers through it.
//!
//! The proxy's replies are read strictly, in fixed-size parts (nothing it sends
//! can make the client allocate more than a few hundred bytes); anything
//! unexpected is an error that says what was wrong, with the reply code where
//! there is one.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const VERSION: u8 = 5;
/// RFC 1929's sub-negotiation has a version of its own.
const LOGIN_VERSION: u8 = 1;
const NO_AUTHENTICATION: u8 = 0x00;
const USERNAME_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xff;
const CONNECT: u8 = 0x01;
const IPV4: u8 = 0x01;
const DOMAIN: u8 = 0x03;
const IPV6: u8 = 0x04;

/// Where the proxy connects to, or (in its reply) the address it connected from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Ip(SocketAddr),
    /// A name the proxy looks up: 1 to 255 octets.
    Domain(String, u16),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Ip(address) => address.fmt(f),
            Target::Domain(name, port) => write!(f, "{name}:{port}"),
        }
    }
}

/// A user name and password for the proxy (RFC 1929): each 1 to 255 octets.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: &str, password: &str) -> Result<Credentials, Socks5Error> {
        for (what, value) in [("user name", username), ("password", password)] {
            if value.is_empty() || value.len() > 255 {
                return Err(Socks5Error::Invalid(format!(
                    "a SOCKS5 {what} has 1 to 255 octets (RFC 1929), not {}",
                    value.len()
                )));
            }
        }
        Ok(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })
    }
}

/// The password stays out of logs.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Socks5Error {
    #[error("cannot connect to the SOCKS5 proxy: {0}")]
    Connect(io::Error),
    #[error("talking to the SOCKS5 proxy: {0}")]
    Io(#[from] io::Error),
    #[error("the SOCKS5 proxy closed the connection in the middle of its {0}")]
    Truncated(&'static str),
    #[error("the SOCKS5 proxy's {what} is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the SOCKS5 proxy accepts none of the authentication methods offered ({0})")]
    NoAcceptableMethod(&'static str),
    #[error("the SOCKS5 proxy refused the user name and password (status {0})")]
    LoginRefused(u8),
    #[error("SOCKS5 proxy refused: {} ({code})", meaning(*code))]
    Refused { code: u8 },
    /// What the caller asked for cannot be sent (a name too long).
    #[error("{0}")]
    Invalid(String),
}

/// The meaning of a reply code other than 0 (RFC 1928 section 6).
fn meaning(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused by destination host",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// Connects to the proxy at `proxy` and through it to `target`; the stream is
/// then `target`'s. No timeout of its own: callers bound the whole.
pub async fn connect(
    proxy: SocketAddr,
    target: &Target,
    credentials: Option<&Credentials>,
) -> Result<TcpStream, Socks5Error> {
    let mut stream = TcpStream::connect(proxy)
        .await
        .map_err(Socks5Error::Connect)?;
    handshake(&mut stream, target, credentials).await?;
    Ok(stream)
}

/// The client's side of the handshake on `stream`, a connection to the proxy:
/// method negotiation, the login when the proxy asks for it, and CONNECT.
/// Returns the address the proxy connected from (its BND.ADDR and BND.PORT).
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    target: &Target,
    credentials: Option<&Credentials>,
) -> Result<Target, Socks5Error> {
    // Checked before anything is sent.
    let request = connect_request(target)?;
    negotiate(stream, credentials).await?;
    stream.write_all(&request).await?;
    read_reply(stream).await
}

/// Offers no authentication, and a login when there are credentials, then does
/// what the proxy chose.
async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    credentials: Option<&Credentials>,
) -> Result<(), Socks5Error> {
    let (greeting, offered): (&[u8], _) = match credentials {
        Some(_) => (
            &[VERSION, 2, NO_AUTHENTICATION, USERNAME_PASSWORD],
            "no authentication, user name and password",
        ),
        None => (&[VERSION, 1, NO_AUTHENTICATION], "no authentication"),
    };
    stream.write_all(greeting).await?;
    let mut choice = [0; 2];
    read(stream, &mut choice, "method selection").await?;
    version(choice[0], VERSION, "method selection")?;
    match (choice[1], credentials) {
        (NO_AUTHENTICATION, _) => Ok(()),
        (USERNAME_PASSWORD, Some(credentials)) => login(stream, credentials).await,
        (NO_ACCEPTABLE_METHOD, _) => Err(Socks5Error::NoAcceptableMethod(offered)),
        (method, _) => Err(Socks5Error::Malformed {
            what: "method selection",
            detail: format!("it chose method {method:#04x}, which was not offered"),
        }),
    }
}

/// RFC 1929: the user name and password, and the proxy's verdict.
async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    credentials: &Credentials,
) -> Result<(), Socks5Error> {
    let mut request = vec![LOGIN_VERSION];
    for field in [&credentials.username, &credentials.password] {
        // Lengths were checked when the credentials were made.
        request.push(field.len() as u8);
        request.extend_from_slice(field.as_bytes());
    }
    stream.write_all(&request).await?;
    let mut status = [0; 2];
    read(stream, &mut status, "reply to the login").await?;
    version(status[0], LOGIN_VERSION, "reply to the login")?;
    match status[1] {
        0 => Ok(()),
        code => Err(Socks5Error::LoginRefused(code)),
    }
}

fn connect_request(target: &Target) -> Result<Vec<u8>, Socks5Error> {
    let mut request = vec![VERSION, CONNECT, 0];
    let port = match target {
        Target::Ip(SocketAddr::V4(a)) => {
            request.push(IPV4);
            request.extend_from_slice(&a.ip().octets());
            a.port()
        }
        Target::Ip(SocketAddr::V6(a)) => {
            request.push(IPV6);
            request.extend_from_slice(&a.ip().octets());
            a.port()
        }
        Target::Domain(name, port) => {
            let length = u8::try_from(name.len())
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Socks5Error::Invalid(format!(
                        "a SOCKS5 destination name has 1 to 255 octets, not {}",
                        name.len()
                    ))
                })?;
            request.extend_from_slice(&[DOMAIN, length]);
            request.extend_from_slice(name.as_bytes());
            *port
        }
    };
    request.extend_from_slice(&port.to_be_bytes());
    Ok(request)
}

/// The reply to CONNECT: a refusal is reported by its code, whatever follows
/// (the proxy closes soon after, RFC 1928 section 6); on success, the bound
/// address is read whole, so that what follows is the target's.
async fn read_reply<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Target, Socks5Error> {
    const WHAT: &str = "reply to CONNECT";
    let mut status = [0; 2];
    read(stream, &mut status, WHAT).await?;
    let [ver, code] = status;
    version(ver, VERSION, WHAT)?;
    if code != 0 {
        return Err(Socks5Error::Refused { code });
    }
    let mut rest = [0; 2];
    read(stream, &mut rest, WHAT).await?;
    let [reserved, kind] = rest;
    let malformed = |detail: String| Socks5Error::Malformed { what: WHAT, detail };
    if reserved != 0 {
        return Err(malformed(format!(
            "the reserved octet is {reserved}, not 0"
        )));
    }
    let host = match kind {
        IPV4 => {
            let mut ip = [0; 4];
            read(stream, &mut ip, WHAT).await?;
            Host::Ip(Ipv4Addr::from(ip).into())
        }
        IPV6 => {
            let mut ip = [0; 16];
            read(stream, &mut ip, WHAT).await?;
            Host::Ip(Ipv6Addr::from(ip).into())
        }
        DOMAIN => Host::Name(read_name(stream).await?),
        other => return Err(malformed(format!("unknown address type {other}"))),
    };
    let mut port = [0; 2];
    read(stream, &mut port, WHAT).await?;
    let port = u16::from_be_bytes(port);
    Ok(match host {
        Host::Ip(ip) => Target::Ip(SocketAddr::new(ip, port)),
        Host::Name(name) => Target::Domain(name, port),
    })
}

enum Host {
    Ip(IpAddr),
    Name(String),
}

/// A bound address given as a name: a length octet, then that many octets of
/// text.
async fn read_name<S: AsyncRead + Unpin>(stream: &mut S) -> Result<String, Socks5Error> {
    const WHAT: &str = "reply to CONNECT";
    let mut length = [0; 1];
    read(stream, &mut length, WHAT).await?;
    let mut name = vec![0; usize::from(length[0])];
    read(stream, &mut name, WHAT).await?;
    let malformed = |detail: &str| Socks5Error::Malformed {
        what: WHAT,
        detail: detail.into(),
    };
    if name.is_empty() {
        return Err(malformed("the bound address is an empty name"));
    }
    String::from_utf8(name).map_err(|_| malformed("the bound address is not UTF-8 text"))
}

/// Fills `buffer`; the proxy closing first is `Truncated`.
async fn read<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut [u8],
    what: &'static str,
) -> Result<(), Socks5Error> {
    match stream.read_exact(buffer).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(Socks5Error::Truncated(what)),
        Err(e) => Err(e.into()),
    }
}

fn version(got: u8, want: u8, what: &'static str) -> Result<(), Socks5Error> {
    match got == want {
        true => Ok(()),
        false => Err(Socks5Error::Malformed {
            what,
            detail: format!("version {got}, not {want}"),
        }),
    }
}

#[cfg(test)]
pub(crate) mod mock;
#[cfg(test)]
mod tests;
