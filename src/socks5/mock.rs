//! A SOCKS5 proxy on loopback, for tests here and in the queue: it checks what
//! the client sends as RFC 1928 and 1929 say, records the CONNECT targets, then
//! relays to the target for real, or answers with scripted bytes instead.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Target;

#[derive(Default)]
pub(crate) struct Proxy {
    /// The login it asks for; without one it takes no authentication.
    pub login: Option<(String, String)>,
    /// Sent instead of the method selection.
    pub method_reply: Option<Vec<u8>>,
    /// Sent instead of connecting: the reply to CONNECT, or anything.
    pub connect_reply: Option<Vec<u8>>,
    /// The targets of the CONNECT requests, in order.
    pub targets: Mutex<Vec<Target>>,
}

impl Proxy {
    /// Listens on 127.0.0.1, serving each connection in a task of its own.
    pub async fn start(self: &Arc<Self>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let proxy = Arc::clone(self);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let proxy = Arc::clone(&proxy);
                tokio::spawn(async move {
                    let _ = proxy.serve(stream).await;
                });
            }
        });
        address
    }

    /// One client: a protocol error just ends the connection, which the client
    /// sees as the proxy closing.
    async fn serve(&self, mut client: TcpStream) -> io::Result<()> {
        let [version, count] = octets::<2>(&mut client).await?;
        expect(version == 5, "greeting version")?;
        let methods = bytes(&mut client, count.into()).await?;
        if let Some(reply) = &self.method_reply {
            return client.write_all(reply).await;
        }
        let method = if self.login.is_some() { 2 } else { 0 };
        if !methods.contains(&method) {
            return client.write_all(&[5, 0xff]).await;
        }
        client.write_all(&[5, method]).await?;
        if !self.logged_in(&mut client).await? {
            return Ok(());
        }
        let target = request(&mut client).await?;
        self.targets.lock().unwrap().push(target.clone());
        if let Some(reply) = &self.connect_reply {
            return client.write_all(reply).await;
        }
        let upstream = match &target {
            Target::Ip(address) => TcpStream::connect(address).await,
            Target::Domain(name, port) => TcpStream::connect((name.as_str(), *port)).await,
        };
        let Ok(mut upstream) = upstream else {
            // Connection refused, from 0.0.0.0:0.
            return client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await;
        };
        client.write_all(&success(upstream.local_addr()?)).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        Ok(())
    }

    /// RFC 1929, when the proxy asks for a login: whether it was the right one.
    async fn logged_in(&self, client: &mut TcpStream) -> io::Result<bool> {
        let Some((username, password)) = &self.login else {
            return Ok(true);
        };
        let [version, length] = octets::<2>(client).await?;
        expect(version == 1, "login version")?;
        let got_username = bytes(client, length.into()).await?;
        let [length] = octets::<1>(client).await?;
        let got_password = bytes(client, length.into()).await?;
        let right = got_username == username.as_bytes() && got_password == password.as_bytes();
        client.write_all(&[1, if right { 0 } else { 1 }]).await?;
        Ok(right)
    }
}

/// A CONNECT request's target.
async fn request(client: &mut TcpStream) -> io::Result<Target> {
    let [version, command, reserved, kind] = octets::<4>(client).await?;
    expect(version == 5 && command == 1 && reserved == 0, "request")?;
    let target = match kind {
        1 => Target::Ip(SocketAddr::new(
            Ipv4Addr::from(octets::<4>(client).await?).into(),
            port(client).await?,
        )),
        4 => Target::Ip(SocketAddr::new(
            Ipv6Addr::from(octets::<16>(client).await?).into(),
            port(client).await?,
        )),
        3 => {
            let [length] = octets::<1>(client).await?;
            let name = String::from_utf8(bytes(client, length.into()).await?)
                .map_err(|_| io::Error::other("name not UTF-8"))?;
            Target::Domain(name, port(client).await?)
        }
        _ => return Err(io::Error::other("address type")),
    };
    Ok(target)
}

/// A success reply naming `bound`.
pub(crate) fn success(bound: SocketAddr) -> Vec<u8> {
    let mut reply = vec![5, 0, 0];
    match bound {
        SocketAddr::V4(a) => {
            reply.push(1);
            reply.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            reply.push(4);
            reply.extend_from_slice(&a.ip().octets());
        }
    }
    reply.extend_from_slice(&bound.port().to_be_bytes());
    reply
}

async fn port(client: &mut TcpStream) -> io::Result<u16> {
    Ok(u16::from_be_bytes(octets::<2>(client).await?))
}

async fn octets<const N: usize>(client: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut buffer = [0; N];
    client.read_exact(&mut buffer).await?;
    Ok(buffer)
}

async fn bytes(client: &mut TcpStream, n: usize) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0; n];
    client.read_exact(&mut buffer).await?;
    Ok(buffer)
}

fn expect(ok: bool, what: &str) -> io::Result<()> {
    match ok {
        true => Ok(()),
        false => Err(io::Error::other(format!("bad {what}"))),
    }
}
