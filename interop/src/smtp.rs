//! Putting mail into the account the way mail really arrives: over SMTP, with a
//! plain socket so that no client under test is needed to set a test up.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Delivers `message` (CRLF line endings) from `from` to `to` on the SMTP port;
/// panics with the server's reply if any step is refused.
pub fn deliver(port: u16, from: &str, to: &[&str], message: &str) {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot connect to SMTP port {port}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a timeout");
    let mut s = BufReader::new(stream);
    expect(&mut s, None, "220");
    expect(&mut s, Some("EHLO interop.example\r\n"), "250");
    expect(&mut s, Some(&format!("MAIL FROM:<{from}>\r\n")), "250");
    for rcpt in to {
        expect(&mut s, Some(&format!("RCPT TO:<{rcpt}>\r\n")), "250");
    }
    expect(&mut s, Some("DATA\r\n"), "354");
    let mut data = String::new();
    for line in message
        .strip_suffix("\r\n")
        .unwrap_or(message)
        .split("\r\n")
    {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    expect(&mut s, Some(&data), "250");
    expect(&mut s, Some("QUIT\r\n"), "221");
}

fn expect(s: &mut BufReader<TcpStream>, send: Option<&str>, code: &str) {
    if let Some(text) = send {
        s.get_mut()
            .write_all(text.as_bytes())
            .expect("write to SMTP");
    }
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        let n = s.read_line(&mut line).expect("read an SMTP reply");
        assert!(n > 0, "SMTP connection closed; so far: {reply:?}");
        reply.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            break;
        }
    }
    let first = send
        .map(|t| t.lines().next().unwrap_or(""))
        .unwrap_or("(greeting)");
    assert!(
        reply.starts_with(code),
        "SMTP: after {first:?} expected {code}, got {reply:?}"
    );
}
