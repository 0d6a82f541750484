//! The client against the mock proxy on loopback: success to each kind of
//! target, logins, each refusal, and replies cut short or malformed.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::mock::{Proxy, success};
use super::*;

/// A server on loopback that sends back what it gets.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    address
}

async fn through(
    proxy: Proxy,
    target: &Target,
    login: Option<&Credentials>,
) -> (Arc<Proxy>, Result<TcpStream, Socks5Error>) {
    let proxy = Arc::new(proxy);
    let address = proxy.start().await;
    let result = connect(address, target, login).await;
    (proxy, result)
}

/// The error for a proxy that says `reply` (after choosing no authentication)
/// to CONNECT.
async fn refusal(reply: &[u8]) -> String {
    let proxy = Proxy {
        connect_reply: Some(reply.to_vec()),
        ..Proxy::default()
    };
    let target = Target::Ip("192.0.2.1:25".parse().unwrap());
    match through(proxy, &target, None).await.1 {
        Ok(_) => panic!("{reply:?} was taken as success"),
        Err(e) => e.to_string(),
    }
}

async fn ping(stream: &mut TcpStream) -> Vec<u8> {
    stream.write_all(b"ping").await.unwrap();
    let mut back = [0; 4];
    stream.read_exact(&mut back).await.unwrap();
    back.to_vec()
}

fn user() -> Credentials {
    Credentials::new("mjones", "secret").unwrap()
}

#[tokio::test]
async fn connects_to_an_ipv4_target_and_relays() {
    let target = Target::Ip(echo().await);
    let (proxy, stream) = through(Proxy::default(), &target, None).await;
    assert_eq!(ping(&mut stream.unwrap()).await, b"ping");
    assert_eq!(*proxy.targets.lock().unwrap(), [target]);
}

#[tokio::test]
async fn connects_to_a_domain_name_the_proxy_resolves() {
    let port = echo().await.port();
    let target = Target::Domain("localhost".into(), port);
    let (proxy, stream) = through(Proxy::default(), &target, None).await;
    assert_eq!(ping(&mut stream.unwrap()).await, b"ping");
    assert_eq!(*proxy.targets.lock().unwrap(), [target]);
}

#[tokio::test]
async fn sends_an_ipv6_target_and_reads_each_kind_of_bound_address() {
    let target = Target::Ip("[2001:db8::25]:25".parse().unwrap());
    let v6: SocketAddr = "[2001:db8::1]:40000".parse().unwrap();
    let mut named = vec![5, 0, 0, 3, 9];
    named.extend_from_slice(b"proxy.lan\x9c\x40");
    for (reply, bound) in [
        (success(v6), Target::Ip(v6)),
        (named, Target::Domain("proxy.lan".into(), 40000)),
    ] {
        let proxy = Arc::new(Proxy {
            connect_reply: Some(reply),
            ..Proxy::default()
        });
        let mut stream = TcpStream::connect(proxy.start().await).await.unwrap();
        assert_eq!(handshake(&mut stream, &target, None).await.unwrap(), bound);
        assert_eq!(
            *proxy.targets.lock().unwrap(),
            std::slice::from_ref(&target)
        );
    }
}

#[tokio::test]
async fn logs_in_when_the_proxy_asks() {
    let target = Target::Ip(echo().await);
    let login = || Proxy {
        login: Some(("mjones".into(), "secret".into())),
        ..Proxy::default()
    };
    let (_, stream) = through(login(), &target, Some(&user())).await;
    assert_eq!(ping(&mut stream.unwrap()).await, b"ping");

    let wrong = Credentials::new("mjones", "guess").unwrap();
    let (proxy, result) = through(login(), &target, Some(&wrong)).await;
    let e = result.unwrap_err().to_string();
    assert_eq!(
        e,
        "the SOCKS5 proxy refused the user name and password (status 1)"
    );
    assert!(
        proxy.targets.lock().unwrap().is_empty(),
        "no CONNECT after a refused login"
    );

    let (_, result) = through(login(), &target, None).await;
    let e = result.unwrap_err().to_string();
    assert_eq!(
        e,
        "the SOCKS5 proxy accepts none of the authentication methods offered (no authentication)"
    );
}

#[tokio::test]
async fn each_refusal_names_its_reply_code() {
    let meanings = [
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused by destination host",
        "TTL expired",
        "command not supported",
        "address type not supported",
        "unassigned reply code",
    ];
    for (code, meaning) in (1..).zip(meanings) {
        let e = refusal(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await;
        assert_eq!(e, format!("SOCKS5 proxy refused: {meaning} ({code})"));
    }
    // A refusal is reported even when the proxy closes without the rest.
    let e = refusal(&[5, 255]).await;
    assert_eq!(e, "SOCKS5 proxy refused: unassigned reply code (255)");
}

#[tokio::test]
async fn a_target_the_proxy_cannot_reach_is_refused() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::Ip(closed.local_addr().unwrap());
    drop(closed);
    let e = through(Proxy::default(), &target, None)
        .await
        .1
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "SOCKS5 proxy refused: connection refused by destination host (5)"
    );
}

#[tokio::test]
async fn replies_cut_short_are_truncated_at_every_length() {
    let mut full = success("192.0.2.9:2525".parse().unwrap());
    for n in 0..full.len() {
        let e = refusal(&full[..n]).await;
        assert_eq!(
            e,
            "the SOCKS5 proxy closed the connection in the middle of its reply to CONNECT"
        );
    }
    full = vec![5, 0, 0, 3, 20, b'a'];
    let e = refusal(&full).await;
    assert!(e.ends_with("in the middle of its reply to CONNECT"), "{e}");

    let proxy = Proxy {
        method_reply: Some(vec![5]),
        ..Proxy::default()
    };
    let target = Target::Ip("192.0.2.1:25".parse().unwrap());
    let e = through(proxy, &target, None).await.1.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the SOCKS5 proxy closed the connection in the middle of its method selection"
    );
}

#[tokio::test]
async fn malformed_replies_say_what_is_wrong() {
    let cases: [(&[u8], &str); 5] = [
        (
            &[4, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            "reply to CONNECT is malformed: version 4, not 5",
        ),
        (
            &[5, 0, 1, 1, 0, 0, 0, 0, 0, 0],
            "the reserved octet is 1, not 0",
        ),
        (&[5, 0, 0, 2, 0, 0, 0, 0, 0, 0], "unknown address type 2"),
        (
            &[5, 0, 0, 3, 0, 0, 25],
            "the bound address is an empty name",
        ),
        (
            &[5, 0, 0, 3, 1, 0xff, 0, 25],
            "the bound address is not UTF-8 text",
        ),
    ];
    for (reply, want) in cases {
        let e = refusal(reply).await;
        assert!(e.contains(want), "{reply:?}: {e}");
    }
    let target = Target::Ip("192.0.2.1:25".parse().unwrap());
    for (method, want) in [
        (vec![5, 2], "it chose method 0x02, which was not offered"),
        (
            vec![4, 0],
            "method selection is malformed: version 4, not 5",
        ),
    ] {
        let proxy = Proxy {
            method_reply: Some(method),
            ..Proxy::default()
        };
        let e = through(proxy, &target, None)
            .await
            .1
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[tokio::test]
async fn what_cannot_be_sent_is_refused_before_sending() {
    assert!(Credentials::new("", "x").is_err());
    assert!(Credentials::new("x", &"p".repeat(256)).is_err());
    assert!(Credentials::new(&"u".repeat(255), &"p".repeat(255)).is_ok());
    let long = Target::Domain("a".repeat(256), 25);
    let (proxy, result) = through(Proxy::default(), &long, None).await;
    let e = result.unwrap_err().to_string();
    assert_eq!(e, "a SOCKS5 destination name has 1 to 255 octets, not 256");
    assert!(proxy.targets.lock().unwrap().is_empty());
    assert!(
        format!("{:?}", user()).contains("mjones") && !format!("{:?}", user()).contains("secret")
    );
}
