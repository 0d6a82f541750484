//! The SMTP client against a server that says anything: the fuzz input is all the
//! server sends. Reply lines, EHLO keywords, AUTH challenges and the transaction
//! must never panic the client; every reply line that parses prints as one that
//! parses again with the same code.

#![no_main]

use std::time::Duration;

use gannet::sasl::ClientCredentials;
use gannet::smtp::{RcptParams, Reply, ReplyLine};
use gannet::smtpclient::{Client, Options, Outgoing, Tls};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        if let Ok(parsed) = ReplyLine::parse(line.trim_end_matches('\r')) {
            let reply = Reply::from_lines(&[ReplyLine {
                more: false,
                ..parsed
            }])
            .unwrap();
            let printed = reply.to_string();
            let again = ReplyLine::parse(printed.trim_end_matches("\r\n"));
            assert!(
                again.as_ref().is_ok_and(|l| l.code == reply.code),
                "{printed:?}: {again:?}"
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(session(data));
});

async fn session(data: &[u8]) {
    let (client, mut server) = tokio::io::duplex(1 << 20);
    server.write_all(data).await.unwrap();
    // The server says no more (the client reads the end at once, not after its
    // timeout); what the client writes is drained.
    server.shutdown().await.unwrap();
    let drain = tokio::spawn(async move {
        let mut sink = tokio::io::sink();
        let _ = tokio::io::copy(&mut server, &mut sink).await;
    });
    let options = Options {
        ehlo_name: "client.example".into(),
        server_name: "mx.example".into(),
        tls: Tls::Off,
        auth: Some(ClientCredentials {
            username: "user".into(),
            password: "password".into(),
            authzid: None,
        }),
        timeout: Some(Duration::from_millis(50)),
    };
    let recipients = [("b@example.org".to_string(), RcptParams::default())];
    if let Ok(mut client) = Client::start(client, options).await {
        let out = Outgoing {
            from: "a@example.org",
            recipients: &recipients,
            message: b"Subject: x\r\n\r\n.body\r\n",
            ..Outgoing::default()
        };
        let results = client.send(&out).await;
        assert_eq!(results.len(), 1);
        client.quit().await;
    }
    drain.abort();
}
