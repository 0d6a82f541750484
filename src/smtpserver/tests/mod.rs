//! Transcripts of whole sessions against a real store: what the client sent, what
//! the server answered (insta snapshots), and what ended up stored.

use std::path::Path;

use super::*;
use crate::address::Domain;
use crate::auth::Authenticator;
use crate::leniency::{Leniencies, Leniency};
use crate::recipients::Recipients;
use crate::store::Store;
use crate::tls::ConnectionInfo;

mod incoming;
mod localserve;

const DOMAINS: &str = r#"
    [domains."example.org"]
    localpart_catchall_separators = ["+"]
    [domains."mail.example.org"]
    [accounts.alice]
    domain = "example.org"
    destinations = ["alice", "postmaster@mail.example.org"]
    [accounts.bob]
    domain = "example.org"
    destinations = ["bob"]
    [aliases."team@example.org"]
    members = ["alice@example.org", "bob@example.org"]
    [aliases."outside@example.org"]
    members = ["carol@remote.example"]
"#;

fn settings(lenient: Leniencies) -> Settings {
    Settings {
        hostname: Domain::parse("mail.example.org", Leniencies::PEDANTIC).unwrap(),
        max_message_size: 10_000,
        max_recipients: 3,
        lenient,
        starttls: true,
        max_errors: 5,
        max_commands_before_mail: 20,
        submission: false,
        plaintext_auth: false,
    }
}

/// Runs `script` (one entry per client write) on port 25 and returns the transcript.
fn transcript(data: &Path, lenient: Leniencies, script: &[&str]) -> String {
    run(data, settings(lenient), None, script)
}

/// A submission session with plaintext logins allowed; alice's password is
/// "secret". With `tls`, the session starts as if on port 465.
fn submission(data: &Path, tls: Option<ConnectionInfo>, script: &[&str]) -> String {
    let settings = Settings {
        submission: true,
        plaintext_auth: true,
        max_errors: 10,
        ..settings(Leniencies::PEDANTIC)
    };
    run(data, settings, tls, script)
}

fn authenticator(data: &Path) -> Authenticator {
    let domains = toml::from_str(DOMAINS).unwrap();
    let auth = Authenticator::new(data, &domains, [10, 50, 250], "mail.example.org").unwrap();
    auth.set_password("alice", "secret").unwrap();
    auth
}

/// What a backend borrows: the recipients of DOMAINS, a store, the host name.
struct Fixture {
    recipients: Recipients,
    store: Store,
    hostname: Domain,
}

impl Fixture {
    fn new(data: &Path) -> Fixture {
        Fixture {
            recipients: Recipients::new(&toml::from_str(DOMAINS).unwrap()),
            store: Store::new(data.to_path_buf()),
            hostname: Domain::parse("mail.example.org", Leniencies::PEDANTIC).unwrap(),
        }
    }

    /// A backend that delivers locally and nothing more; tests set the rest.
    fn backend(&self) -> LocalDelivery<'_> {
        LocalDelivery {
            recipients: &self.recipients,
            store: &self.store,
            hostname: &self.hostname,
            authenticator: None,
            local: None,
            resolver: None,
            dkim: None,
            queue: None,
        }
    }
}

fn run(data: &Path, settings: Settings, tls: Option<ConnectionInfo>, script: &[&str]) -> String {
    let fixture = Fixture::new(data);
    let auth = settings.submission.then(|| authenticator(data));
    let mut backend = LocalDelivery {
        authenticator: auth.as_ref(),
        ..fixture.backend()
    };
    run_with(&mut backend, settings, tls, script)
}

/// Runs `script` against `backend`; returns the transcript. A session that stops
/// answering (localserve's "timeout") or closes ends it, shown with its action.
fn run_with(
    backend: &mut LocalDelivery<'_>,
    settings: Settings,
    tls: Option<ConnectionInfo>,
    script: &[&str],
) -> String {
    let mut session = Session::new(settings, "192.0.2.7".parse().unwrap());
    if let Some(info) = tls {
        session.tls_started(info, backend);
    }
    let mut out = String::new();
    show("S: ", &session.greeting(), &mut out);
    for write in script {
        show("C: ", write.as_bytes(), &mut out);
        let (reply, action) = session.feed(write.as_bytes(), backend);
        // Delivery ids are random: keep the transcript stable.
        show(
            "S: ",
            stable(&String::from_utf8_lossy(&reply)).as_bytes(),
            &mut out,
        );
        if action != Action::Continue {
            out.push_str(&format!("-- {action:?}\n"));
            if matches!(action, Action::Close | Action::Silence) {
                break;
            }
        }
    }
    out
}

fn show(prefix: &str, bytes: &[u8], out: &mut String) {
    for line in String::from_utf8_lossy(bytes).split_inclusive('\n') {
        let shown = line.escape_debug().to_string();
        // Long lines are shortened: their length is what matters.
        let shown = match shown.char_indices().nth(72) {
            Some((cut, _)) => format!("{}... ({} characters)", &shown[..cut], line.len()),
            None => shown,
        };
        out.push_str(prefix);
        out.push_str(&shown);
        out.push('\n');
    }
}

/// Delivery ids are random; the transcript shows "ID".
fn stable(reply: &str) -> String {
    reply
        .split_inclusive("\r\n")
        .map(|l| match l.find("delivered as ") {
            Some(i) => format!("{}delivered as ID\r\n", &l[..i]),
            None => l.to_string(),
        })
        .collect()
}

/// The messages stored in an account's Inbox.
fn inbox(data: &Path, account: &str) -> Vec<String> {
    stored(data, account, "Inbox")
}

/// The messages stored in a mailbox of an account.
fn stored(data: &Path, account: &str, mailbox: &str) -> Vec<String> {
    let store = Store::new(data.to_path_buf());
    let shared = store.account(account).unwrap();
    let account = shared.lock().unwrap();
    let id = account.mailbox(mailbox).unwrap().id;
    account
        .messages(id)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(account.read(m.id).unwrap()).unwrap())
        .collect()
}

#[test]
fn a_message_is_delivered_with_trace_fields() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO client.example\r\n",
            "MAIL FROM:<sender@remote.example> SIZE=100\r\n",
            "RCPT TO:<alice@example.org>\r\n",
            "DATA\r\n",
            "Subject: hello\r\n\r\n..dot-stuffed line\r\n.\r\n",
            "QUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    let stored = inbox(dir.path(), "alice");
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    assert!(m.starts_with("Return-Path: <sender@remote.example>\r\nDelivered-To: alice@example.org\r\nReceived: from client.example ([192.0.2.7])\r\n\tby mail.example.org with ESMTP\r\n"), "{m}");
    assert!(
        m.contains("\r\n\tfor <alice@example.org>;\r\n\t"),
        "one recipient is named: {m}"
    );
    assert!(
        m.ends_with(" +0000\r\nSubject: hello\r\n\r\n.dot-stuffed line\r\n"),
        "the unstuffed message follows the trace fields: {m}"
    );
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO client.example\r\n",
            "MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nRCPT TO:<bob+lists@example.org>\r\nDATA\r\n",
            "Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert_eq!(inbox(dir.path(), "alice").len(), 1);
    assert_eq!(inbox(dir.path(), "bob").len(), 1);
}

#[test]
fn chunks_with_bdat() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO client.example\r\n",
            "MAIL FROM:<s@remote.example> BODY=BINARYMIME\r\nRCPT TO:<alice@example.org>\r\n",
            "DATA\r\n",
            "BDAT 16\r\nSubject: bin\r\n\r\n",
            "BDAT 7 LAST\r\nx\0y\r\n\r\n",
            "QUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert_eq!(
        inbox(dir.path(), "alice")[0].split("Subject").nth(1),
        Some(": bin\r\n\r\nx\0y\r\n\r\n")
    );
}

#[test]
fn an_alias_delivers_once_per_account() {
    let dir = tempfile::tempdir().unwrap();
    transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<>\r\n",
            "RCPT TO:<team@example.org>\r\n",
            "RCPT TO:<alice@example.org>\r\n",
            "DATA\r\n",
            "Subject: team\r\n\r\nhi\r\n.\r\n",
        ],
    );
    assert_eq!(
        inbox(dir.path(), "alice").len(),
        1,
        "alice is in the alias and a direct recipient"
    );
    assert_eq!(inbox(dir.path(), "bob").len(), 1);
}

#[test]
fn smuggled_messages_are_refused_and_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n",
            "Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n",
            "QUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert!(inbox(dir.path(), "alice").is_empty());
    assert!(
        inbox(dir.path(), "bob").is_empty(),
        "the smuggled message was not delivered"
    );
}

#[test]
fn bare_lf_leniency_accepts_bare_lf_lines() {
    let dir = tempfile::tempdir().unwrap();
    let lenient: Leniencies = [Leniency::BareLf].into_iter().collect();
    transcript(
        dir.path(),
        lenient,
        &[
            "EHLO c.example\n",
            "MAIL FROM:<s@remote.example>\nRCPT TO:<alice@example.org>\nDATA\n",
            "Subject: lf\n\nbody\r\n.\r\n",
        ],
    );
    let stored = inbox(dir.path(), "alice");
    assert!(
        stored[0].ends_with("Subject: lf\r\n\r\nbody\r\n"),
        "converted to CRLF: {:?}",
        stored[0]
    );
}

#[test]
fn protocol_errors_get_precise_replies_and_too_many_close_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("NOOP {}\r\n", "x".repeat(600));
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "MAIL FROM:<s@remote.example>\r\n",
            "HELO c.example\r\n",
            "MAIL FROM:<s@remote.example> SIZE=10\r\n",
            "MAIL FROM:<s@remote.example>\r\n",
            "DATA\r\n",
            "RCPT TO:<outside@example.org>\r\n",
            "EHLO c.example\r\n",
            "MAIL FROM: <s@remote.example>\r\n",
            "MAIL FROM:<s@remote.example> SIZE=20000\r\n",
            &long,
            "NOOP\nQUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
}

#[test]
fn starttls_drops_what_was_pipelined_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO c.example\r\n",
            "STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert!(
        t.ends_with("S: 220 2.0.0 go ahead\\r\\n\n-- StartTls\n"),
        "{t}"
    );
}

#[test]
fn size_limit_and_too_many_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        "Subject: big\r\n\r\n{}.\r\n",
        format!("{}\r\n", "y".repeat(998)).repeat(11)
    );
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<s@remote.example>\r\n",
            "RCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<alice@example.org>\r\n",
            "DATA\r\n",
            &big,
            "QUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert!(inbox(dir.path(), "alice").is_empty());
}

#[test]
fn bdat_text_gets_the_same_checks_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<s@remote.example> BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\n",
            "BDAT 14\r\nSubject: x\n\nb\n",
            "BDAT 3 LAST\r\nb\r\n",
            "RSET\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert!(inbox(dir.path(), "alice").is_empty());
}

fn b64(s: &str) -> String {
    crate::sasl::encode_challenge(s.as_bytes())
}

#[test]
fn submission_needs_tls_before_auth_and_auth_before_mail() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        submission: true,
        ..settings(Leniencies::PEDANTIC)
    };
    let t = run(
        dir.path(),
        settings,
        None,
        &[
            "EHLO c.example\r\n",
            &format!("AUTH PLAIN {}\r\n", b64("\0alice\0secret")),
            "MAIL FROM:<alice@example.org>\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert!(!t.contains("250-AUTH"), "no AUTH offered before TLS: {t}");
}

#[test]
fn submission_delivers_locally_from_own_addresses_only() {
    let dir = tempfile::tempdir().unwrap();
    let t = submission(
        dir.path(),
        None,
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<alice@example.org>\r\n",
            &format!("AUTH PLAIN {}\r\n", b64("\0alice@example.org\0secret")),
            "MAIL FROM:<bob@example.org>\r\n",
            "MAIL FROM:<alice+news@example.org>\r\n",
            "RCPT TO:<carol@remote.example>\r\n",
            "RCPT TO:<bob@example.org>\r\n",
            "DATA\r\n",
            "From: alice@example.org\r\nSubject: hi\r\n\r\nhello bob\r\n.\r\n",
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
            "From: Alice <alice@example.org>, Bob <bob@example.org>\r\n\r\nus\r\n.\r\n",
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
            "From: Alice <alice@example.org\r\n\r\nno end\r\n.\r\n",
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
            "Subject: no from\r\n\r\nnone\r\n.\r\n",
            "AUTH PLAIN =\r\n",
            "QUIT\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    let stored = inbox(dir.path(), "bob");
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].contains("\tby mail.example.org with ESMTPA"),
        "{}",
        stored[0]
    );
}

#[test]
fn auth_login_failures_and_malformed_answers_get_precise_replies() {
    let dir = tempfile::tempdir().unwrap();
    let t = submission(
        dir.path(),
        None,
        &[
            "EHLO c.example\r\n",
            "AUTH DIGEST-MD5\r\n",
            "AUTH LOGIN\r\n",
            &format!("{}\r\n", b64("alice")),
            &format!("{}\r\n", b64("wrong")),
            "AUTH LOGIN\r\n",
            "*\r\n",
            "AUTH LOGIN\r\n",
            "not base64!\r\n",
            "AUTH PLAIN AGFsaWNl\r\n",
            &format!("AUTH LOGIN {}\r\n", b64("alice")),
            &format!("{}\r\n", b64("secret")),
        ],
    );
    insta::assert_snapshot!(t);
}

/// SCRAM-SHA-256 through the session with the crate's client: the server's
/// final message comes as one more 334, answered with an empty line.
#[test]
fn scram_logs_in_through_the_session() {
    use crate::sasl::{ClientCredentials, ClientExchange, Mechanism, NonceSource};
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::new(dir.path());
    let auth = authenticator(dir.path());
    let mut backend = LocalDelivery {
        authenticator: Some(&auth),
        ..fixture.backend()
    };
    let settings = Settings {
        submission: true,
        plaintext_auth: true,
        ..settings(Leniencies::PEDANTIC)
    };
    let mut session = Session::new(settings, "192.0.2.7".parse().unwrap());
    let credentials = ClientCredentials {
        username: "alice".into(),
        password: "secret".into(),
        authzid: None,
    };
    let mut client = ClientExchange::new(
        Mechanism::ScramSha256,
        &credentials,
        None,
        &NonceSource::Random,
    )
    .unwrap();
    session.feed(b"EHLO c.example\r\n", &mut backend);
    let first = crate::sasl::encode_initial_response(&client.initial_response().unwrap());
    let mut line = format!("AUTH SCRAM-SHA-256 {first}\r\n");
    let mut replies = Vec::new();
    loop {
        let (reply, _) = session.feed(line.as_bytes(), &mut backend);
        let reply = String::from_utf8(reply).unwrap();
        replies.push(reply[..3].to_string());
        let Some(challenge) = reply.strip_prefix("334 ") else {
            break;
        };
        let challenge =
            crate::sasl::decode_initial_response(challenge.trim_end()).unwrap_or_default();
        let answer = client.respond(&challenge).unwrap();
        line = format!("{}\r\n", crate::sasl::encode_challenge(&answer));
    }
    assert_eq!(replies, ["334", "334", "235"]);
    client
        .finish()
        .expect("the server proved it knows the credentials");
}

#[test]
fn a_registered_client_certificate_is_logged_in_at_the_handshake() {
    use crate::store::AuthDb;
    use crate::tls::SpkiFingerprint;
    let dir = tempfile::tempdir().unwrap();
    let key = SpkiFingerprint::of_spki(b"alice's phone");
    AuthDb::open(dir.path())
        .unwrap()
        .add_tls_pubkey(&crate::auth::tests::alices_phone(key))
        .unwrap();
    let info = ConnectionInfo {
        version: rustls::ProtocolVersion::TLSv1_3,
        cipher_suite: rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
        client_key: Some(key),
        channel_binding: Some([9; 32]),
    };
    let t = submission(
        dir.path(),
        Some(info),
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
            "From: alice@example.org\r\nSubject: from my phone\r\n\r\nhi\r\n.\r\n",
            "AUTH EXTERNAL =\r\n",
            "AUTH EXTERNAL =\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    let stored = inbox(dir.path(), "bob");
    assert!(stored[0].contains("with ESMTPSA"), "{}", stored[0]);
    assert!(stored[0].contains("version=TLS1.3"), "{}", stored[0]);
}

#[test]
fn without_starttls_auth_names_the_port_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        submission: true,
        starttls: false,
        ..settings(Leniencies::PEDANTIC)
    };
    let t = run(
        dir.path(),
        settings,
        None,
        &["EHLO c.example\r\n", "AUTH PLAIN =\r\n"],
    );
    assert!(
        t.contains("S: 538 5.7.11 encryption required, and this port offers no STARTTLS"),
        "{t}"
    );
}

#[test]
fn sessions_that_send_no_mail_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let noops = "NOOP\r\n".repeat(21);
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &["EHLO c.example\r\n", &noops],
    );
    assert!(
        t.ends_with("S: 421 4.7.0 too many commands without a message; closing\\r\\n\n-- Close\n"),
        "{t}"
    );
    assert_eq!(
        t.matches("250 2.0.0 ok").count(),
        19,
        "EHLO and 19 NOOPs make 20"
    );
}

#[test]
fn the_dsn_request_is_kept_with_each_delivered_message() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(
        dir.path(),
        Leniencies::PEDANTIC,
        &[
            "EHLO c.example\r\n",
            "MAIL FROM:<s@remote.example> RET=HDRS ENVID=QQ314159+2B\r\n",
            "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice@example.org\r\n",
            "RCPT TO:<bob@example.org>\r\n",
            "DATA\r\n",
            "Subject: dsn\r\n\r\nbody\r\n.\r\n",
        ],
    );
    assert!(t.contains("250 2.0.0 delivered as ID"), "{t}");
    let dsn = |account: &str| {
        let store = Store::new(dir.path().to_path_buf());
        let shared = store.account(account).unwrap();
        let account = shared.lock().unwrap();
        let inbox = account.mailbox("Inbox").unwrap().id;
        let id = account.messages(inbox).unwrap()[0].id;
        account.received(id).unwrap().dsn
    };
    assert_eq!(
        dsn("alice").as_deref(),
        Some("RET=HDRS ENVID=QQ314159+2B NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice@example.org")
    );
    assert_eq!(dsn("bob").as_deref(), Some("RET=HDRS ENVID=QQ314159+2B"));
}
