//! Peers in containers against a localserve on the host: Postfix 3.7 relays mail
//! into it (with STARTTLS, as Postfix does by default), and Dovecot 2.3's doveadm,
//! with its imapc backend, reads it back over IMAP. The containers share the
//! host's network and reach localserve on 127.0.0.1.

use std::time::{Duration, Instant};

use interop::containers::{engine, sh, start};
use interop::serve::Host;
use interop::server::PASSWORD;
use interop::store::{StoredMessage, header};
use interop::{Gannet, TempDir};
use testcontainers::core::WaitFor;
use testcontainers::{Container, GenericImage};

/// What arrived in `account` once something has, within 30 s (Postfix delivers
/// from its queue, after the submission that the test waited for).
fn wait_for_mail(server: &Gannet, account: &str) -> Vec<StoredMessage> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stored = server.stored_in(account);
        if !stored.is_empty() || Instant::now() > deadline {
            return stored;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn postfix_in_a_container_relays_into_localserve() {
    if !engine() {
        return;
    }
    let tmp = TempDir::new("postfix-container");
    let server = Gannet::start(&tmp);
    // No listening service (the host's network is shared); the relay host is
    // localserve's SMTP port; TLS when offered, without verification.
    let setup = format!(
        "postconf -e 'relayhost = [127.0.0.1]:{}' 'master_service_disable = inet' \
         'smtp_tls_security_level = may' && exec postfix start-fg",
        server.smtp_port()
    );
    let postfix = start(
        "postfix",
        &["sh".to_string(), "-c".to_string(), setup],
        WaitFor::message_on_stdout("daemon started"),
    );
    println!(
        "ran postfix: {}",
        sh(&postfix, "postconf -h mail_version").trim()
    );
    sh(
        &postfix,
        "printf 'From: App <app@example.org>\\nTo: relayed@localhost\\nSubject: through postfix\\n\\n.a dotted line\\nbody from postfix\\n' \
         | sendmail -f app@example.org relayed@localhost",
    );
    let stored = wait_for_mail(&server, "gannet");
    assert_eq!(stored.len(), 1, "{}", server.log());
    let message = &stored[0].content;
    assert_eq!(header(message, "Subject"), Some("through postfix"));
    assert_eq!(header(message, "Delivered-To"), Some("relayed@localhost"));
    assert!(
        message
            .contains("Received: from mx.test.example ([127.0.0.1])\r\n\tby localhost with ESMTPS"),
        "Postfix's EHLO name and STARTTLS in our trace field:\n{message}"
    );
    assert!(
        message.ends_with("\r\n\r\n.a dotted line\r\nbody from postfix\r\n"),
        "{message}"
    );
}

#[test]
fn dovecot_doveadm_in_a_container_reads_from_localserve_over_imap() {
    if !engine() {
        return;
    }
    let tmp = TempDir::new("dovecot-container");
    let server = Gannet::start(&tmp);
    server.deliver("for dovecot", "read by doveadm over imapc");
    let dovecot = start("dovecot", &[], WaitFor::message_on_stderr("starting up"));
    println!("ran dovecot: {}", sh(&dovecot, "dovecot --version").trim());
    let fetched = sh(
        &dovecot,
        &format!(
            "doveadm -o mail_location=imapc:~/imapc -o imapc_host=127.0.0.1 \
             -o imapc_port={} -o imapc_user=gannet@localhost -o imapc_password={PASSWORD} \
             -o imapc_ssl=no fetch -u reader 'hdr body' mailbox INBOX all",
            server.imap_port()
        ),
    );
    let stored = server.stored();
    assert_eq!(stored.len(), 1);
    let (headers, body) = stored[0].content.split_once("\r\n\r\n").unwrap();
    // doveadm prints "hdr:", the header block as stored (with its empty line),
    // "body:" and the body: byte for byte what the store holds.
    let expected = format!("hdr:\n{headers}\r\n\r\nbody:\n{body}");
    assert_eq!(fetched, expected);
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A peer MTA in a container as the queue's destination: it takes mail for
/// `domain` on `port`, delivering to /var/mail/USER: dest exists, later is
/// deferred until `lift` runs, `unknown` is refused for good with `refusal`.
struct Destination {
    container: Container<GenericImage>,
    domain: &'static str,
    port: u16,
    lift: &'static str,
    unknown: &'static str,
    refusal: &'static str,
    /// The Status of the DSN for `unknown`.
    status: &'static str,
}

/// Submits three messages to gannet, whose route sends `peer.domain` to the
/// peer, and checks each outcome: delivered, failed with a DSN, deferred and
/// then delivered on the retry.
fn queue_delivers_to(peer: &Destination) {
    let tmp = TempDir::new(&format!("destination-{}", peer.domain));
    let route = format!(
        "[queue]\nfirst_retry_seconds = 3600\n\
         [transports.peer]\nkind = \"relay\"\nhost = \"127.0.0.1\"\nport = {}\n\
         [[routes]]\nto_domains = [\"{}\"]\ntransport = \"peer\"\n",
        peer.port, peer.domain
    );
    let gannet = Host::new(
        tmp.path(),
        ("gannet.example", "alice"),
        ("127.0.0.1", free_port(), free_port()),
        &route,
        "",
    );
    let _server = gannet.serve();
    let domain = peer.domain;
    let unknown = format!("{}@{domain}", peer.unknown);
    gannet.submit(
        "alice@gannet.example",
        &format!("dest@{domain}"),
        "to the peer",
    );
    gannet.submit(
        "alice@gannet.example",
        &format!("later@{domain}"),
        "later to the peer",
    );
    gannet.submit("alice@gannet.example", &unknown, "to no one");

    let deadline = Instant::now() + Duration::from_secs(30);
    let mailbox = loop {
        let mailbox = sh(&peer.container, "cat /var/mail/dest 2>/dev/null || true");
        if mailbox.contains("Subject: to the peer") || Instant::now() > deadline {
            break mailbox;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(mailbox.contains("Subject: to the peer"), "{mailbox}");
    // Postfix writes Return-Path, Exim Return-path.
    assert!(
        mailbox
            .to_lowercase()
            .contains("return-path: <alice@gannet.example>"),
        "{mailbox}"
    );

    // Refused for good: the peer's reply in a DSN in alice's Inbox.
    let subject = format!("Delivery failed: {unknown}");
    let alices = gannet.wait_for("alice", &subject);
    let dsn = alices.iter().find(|m| m.subject() == subject).unwrap();
    for expected in [
        &format!("Final-Recipient: rfc822; {unknown}"),
        &format!("Status: {}", peer.status),
        "Remote-MTA: dns; 127.0.0.1",
        peer.refusal,
    ] {
        assert!(
            dsn.content.contains(expected),
            "{expected:?}: {}",
            dsn.content
        );
    }

    // Refused for now, then taken once the peer allows it and the queue retries.
    let later = format!("later@{domain}");
    let listed = gannet.wait_for_queue(&["list"], |l| l.contains("last: temporary failure"));
    assert!(listed.contains(&later), "{listed}");
    sh(&peer.container, peer.lift);
    gannet.queue(&["schedule", "--to", &later]);
    gannet.wait_for_queue(&["list"], str::is_empty);
    let mailbox = sh(&peer.container, "cat /var/mail/later");
    assert!(mailbox.contains("Subject: later to the peer"), "{mailbox}");
    let retired = gannet.queue(&["list", "--retired", "--to", &later]);
    assert!(
        retired.contains("delivered") && retired.contains("after 2 attempts"),
        "{retired}"
    );
}

#[test]
fn the_queue_delivers_to_postfix_in_a_container_through_a_relay_route() {
    if !engine() {
        return;
    }
    let port = free_port();
    let setup = format!(
        "useradd -m dest && useradd -m later \
         && printf 'later@postfix.example 450 4.2.0 not yet\\nnobody@postfix.example 550 5.1.1 no such user here\\n' > /etc/postfix/access \
         && postconf -e 'mydestination = postfix.example' 'inet_interfaces = 127.0.0.1' \
            'smtpd_recipient_restrictions = check_recipient_access texthash:/etc/postfix/access, permit_mynetworks, reject_unauth_destination' \
         && postconf -M# smtp/inet \
         && postconf -Me '{port}/inet = {port} inet n - n - - smtpd' \
         && exec postfix start-fg"
    );
    let container = start(
        "postfix",
        &["sh".to_string(), "-c".to_string(), setup],
        WaitFor::message_on_stdout("daemon started"),
    );
    queue_delivers_to(&Destination {
        container,
        domain: "postfix.example",
        port,
        lift: "postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination' \
               && postfix reload",
        unknown: "nobody",
        refusal: "550 5.1.1 <nobody@postfix.example>: Recipient address rejected: no such user here",
        status: "5.1.1",
    });
}

#[test]
fn the_queue_delivers_to_exim_in_a_container_through_a_relay_route() {
    if !engine() {
        return;
    }
    let port = free_port();
    let run = format!("exec exim4 -bdf -v -oX {port}");
    let container = start(
        "exim",
        &["sh".to_string(), "-c".to_string(), run],
        WaitFor::message_on_either_std("daemon started"),
    );
    queue_delivers_to(&Destination {
        container,
        domain: "exim.example",
        port,
        lift: "rm /etc/exim4/hold-later",
        unknown: "nosuchuser",
        refusal: "550 no such user here",
        status: "5.0.0",
    });
}
