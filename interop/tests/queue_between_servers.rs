//! Two `gannet serve` instances deliver to each other through their queues, as
//! two hosts of the Internet would: a.example on 127.0.0.2 and b.example on
//! 127.0.0.3, both on port 25, with MX records from a static zone. They run in a
//! network namespace of their own (the test thread enters it), so port 25 and
//! those addresses are theirs whatever the machine runs.
//!
//! What is checked: delivery by MX, a temporary failure (b.example down) retried
//! until it succeeds, a permanent failure (an unknown user at b.example) coming
//! back to the sender's Inbox as a DSN and onto the suppression list, and a reply
//! the other way.

use std::process::Command;

use interop::require;
use interop::serve::Host;
use interop::tempdir::TempDir;

const ZONE: &str = "$ORIGIN example.\n\
    a     MX 10 mx.a.example.\n\
    mx.a  A  127.0.0.2\n\
    b     MX 10 mx.b.example.\n\
    mx.b  A  127.0.0.3\n";

/// Moves the calling thread, and so the processes and sockets it makes, into a
/// new network namespace with its loopback up.
fn enter_network_namespace() {
    // SAFETY: unshare changes only this thread's namespace; no memory is involved.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET) needs root (CAP_SYS_ADMIN): {}",
        std::io::Error::last_os_error()
    );
    let ip = require("ip", "iproute2");
    let up = Command::new(ip)
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(up.success(), "ip link set lo up");
}

/// The server of `domain` with `account` on `ip`, ports 25 and 587; retries
/// after a second.
fn host(root: &std::path::Path, domain: &str, account: &str, ip: &'static str) -> Host {
    let queue = "[queue]\nfirst_retry_seconds = 1";
    Host::new(root, (domain, account), (ip, 25, 587), queue, ZONE)
}

#[test]
fn two_servers_deliver_to_each_other_by_mx_with_retries_and_dsns() {
    enter_network_namespace();
    let root = TempDir::new("queue-between-servers");
    let a = host(root.path(), "a.example", "alice", "127.0.0.2");
    let b = host(root.path(), "b.example", "bob", "127.0.0.3");

    // b.example is down: the first attempt fails and is retried.
    let a_server = a.serve();
    a.submit("alice@a.example", "bob@b.example", "while b was down");
    a.wait_for_queue(&["list"], |l| l.contains("last: temporary failure"));
    let b_server = b.serve();
    let bobs = b.wait_for("bob", "while b was down");
    let got = bobs
        .iter()
        .find(|m| m.subject() == "while b was down")
        .unwrap();
    assert!(
        got.content.contains("Return-Path: <alice@a.example>"),
        "{}",
        got.content
    );
    assert!(
        got.content.contains("Received: from mx.a.example (")
            && got.content.contains("by mx.b.example with ESMTP"),
        "{}",
        got.content
    );
    let retired = a.queue(&["list", "--retired"]);
    assert!(
        retired.contains("bob@b.example  from <alice@a.example>  account alice  delivered"),
        "{retired}"
    );
    assert!(retired.contains("after 2 attempts"), "{retired}");

    // An unknown user: b.example refuses, the DSN comes back to alice, and the
    // address goes on her suppression list.
    a.submit("alice@a.example", "nobody@b.example", "to nobody");
    let alices = a.wait_for("alice", "Delivery failed: nobody@b.example");
    let dsn = alices
        .iter()
        .find(|m| m.subject() == "Delivery failed: nobody@b.example")
        .unwrap();
    for expected in [
        "Final-Recipient: rfc822; nobody@b.example",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.b.example",
        "550 5.1.1",
    ] {
        assert!(
            dsn.content.contains(expected),
            "{expected:?}: {}",
            dsn.content
        );
    }
    // The address goes on the list just after the DSN is delivered.
    a.wait_for_queue(&["suppress", "list"], |l| {
        l.starts_with("alice  nobody@b.example  automatic")
    });

    // And back: bob replies through his own server.
    b.submit("bob@b.example", "alice@a.example", "the reply");
    a.wait_for("alice", "the reply");
    drop((a_server, b_server));
}
