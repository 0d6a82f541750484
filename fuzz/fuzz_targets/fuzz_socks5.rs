//! The SOCKS5 client against a proxy that says anything: the first octet of the
//! fuzz input picks the target (IPv4, IPv6, a name) and whether the client has a
//! login (high bit); the rest is all the proxy sends. The handshake must never
//! panic, must end (the proxy's end of stream ends it), and may only succeed
//! after a method selection the client offered.

#![no_main]

use gannet::socks5::{Credentials, Target, handshake};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, said)) = data.split_first() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(session(choice, said));
});

async fn session(choice: u8, said: &[u8]) {
    let target = match choice % 3 {
        0 => Target::Ip("192.0.2.1:25".parse().unwrap()),
        1 => Target::Ip("[2001:db8::1]:25".parse().unwrap()),
        _ => Target::Domain("mx.example.org".into(), 25),
    };
    let login = (choice & 0x80 != 0).then(|| Credentials::new("user", "password").unwrap());
    let (mut client, proxy) = tokio::io::duplex(4096);
    let (mut from_client, mut to_client) = tokio::io::split(proxy);
    // The proxy's side: what it says, then its end; what the client writes is
    // drained, so neither side waits on a full pipe.
    let bytes = said.to_vec();
    let speak = tokio::spawn(async move {
        let _ = to_client.write_all(&bytes).await;
        let _ = to_client.shutdown().await;
    });
    let drain = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut tokio::io::sink()).await;
    });
    let result = handshake(&mut client, &target, login.as_ref()).await;
    if result.is_ok() {
        let offered =
            said.starts_with(&[5, 0]) || (login.is_some() && said.starts_with(&[5, 2, 1, 0]));
        assert!(offered, "success after {said:?}");
    }
    speak.abort();
    drain.abort();
}
