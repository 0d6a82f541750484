//! Sending to `gannet localserve` with the clients developers test with: curl,
//! msmtp, s-nail, neomutt and Python's smtplib. Each client logs in as an account
//! of its own (NAME@localhost, made at its first login) and sends to that address
//! as an application would, from `noreply@app.example`. Each test then checks what
//! arrived, headers and body bytes, in the store and over IMAP, and that nothing
//! went to the catchall account. The failures a test asks for by address reach
//! the clients as the replies they asked for.

use std::process::Command;
use std::time::Duration;

use interop::imap::Imap;
use interop::server::PASSWORD;
use interop::store::{StoredMessage, header};
use interop::{Gannet, TempDir, neomutt, require, run, run_fed, write_file};

/// The message a client sends as `client`: an application's notification, with a
/// line that starts with a dot (SMTP dot-stuffing must give it back unchanged).
fn notification(client: &str) -> String {
    format!(
        "From: App <noreply@app.example>\r\n\
         To: {client}@localhost\r\n\
         Subject: sent by {client}\r\n\
         Message-ID: <{client}@app.example>\r\n\
         \r\n\
         Welcome, {client}.\r\n\
         .a line that starts with a dot\r\n"
    )
}

/// The one message in `client`'s Inbox; panics unless there is exactly one and
/// the catchall account got nothing.
fn arrived(server: &Gannet, client: &str) -> StoredMessage {
    let mut stored = server.stored_in(client);
    assert_eq!(stored.len(), 1, "{client}: {stored:#?}");
    assert!(
        server.stored().is_empty(),
        "nothing goes to the catchall account"
    );
    let message = stored.remove(0);
    assert_eq!(message.mailbox, "INBOX");
    assert_eq!(
        header(&message.content, "Return-Path"),
        Some("<noreply@app.example>")
    );
    assert_eq!(
        header(&message.content, "Delivered-To"),
        Some(format!("{client}@localhost").as_str())
    );
    message
}

/// `notification(client)` arrived as sent: every header line the client sent is
/// there, and the body is byte for byte the same.
fn arrived_as_sent(server: &Gannet, client: &str) {
    let sent = notification(client);
    let message = arrived(server, client);
    let (headers, body) = sent.split_once("\r\n\r\n").unwrap();
    for line in headers.split("\r\n") {
        assert!(
            message.content.contains(&format!("\r\n{line}\r\n")),
            "{line:?} missing:\n{}",
            message.content
        );
    }
    assert!(
        message.content.ends_with(&format!("\r\n\r\n{body}")),
        "{}",
        message.content
    );
}

#[test]
fn curl_sends_with_starttls_and_auth() {
    let tmp = TempDir::new("ls-curl");
    let server = Gannet::start(&tmp);
    let curl = require("curl", "curl");
    let file = write_file(&tmp.path().join("message.eml"), &notification("curl"));
    let out = run(
        Command::new(&curl)
            .args(["--silent", "--show-error", "--max-time", "20", "--ssl-reqd"])
            .args(["--cacert", &server.cert().display().to_string()])
            .arg(format!("smtp://localhost:{}", server.submission_port()))
            .args(["--user", &format!("curl@localhost:{PASSWORD}")])
            .args(["--mail-from", "noreply@app.example"])
            .args(["--mail-rcpt", "curl@localhost", "--upload-file", &file]),
        Duration::from_secs(30),
    );
    out.assert_success();
    arrived_as_sent(&server, "curl");
}

#[test]
fn msmtp_sends_with_starttls_and_auth_and_reports_failures_asked_for() {
    let tmp = TempDir::new("ls-msmtp");
    let server = Gannet::start(&tmp);
    let msmtp = require("msmtp", "msmtp");
    let config = tmp.path().join("msmtprc");
    write_file(
        &config,
        &format!(
            "account default\nhost 127.0.0.1\nport {}\nfrom noreply@app.example\n\
             tls on\ntls_starttls on\ntls_trust_file {}\n\
             auth on\nuser msmtp@localhost\npassword {PASSWORD}\n",
            server.submission_port(),
            server.cert().display()
        ),
    );
    // msmtp refuses a config others can read: it holds a password.
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod msmtprc");
    let message = tmp.path().join("message.eml");
    let send = |recipients: &[&str], text: &str| {
        write_file(&message, text);
        let mut cmd = Command::new(&msmtp);
        cmd.arg("-C").arg(&config);
        match recipients {
            [] => cmd.arg("-t"),
            _ => cmd.args(recipients),
        };
        run_fed(&mut cmd, Some(&message), Duration::from_secs(30))
    };
    send(&[], &notification("msmtp")).assert_success();
    arrived_as_sent(&server, "msmtp");

    // msmtp exits 69 (EX_UNAVAILABLE) for a refused recipient, temporary or not,
    // and prints the server's reply.
    let refused = send(&["rcptto451@localhost"], "Subject: x\r\n\r\nx\r\n");
    assert_eq!(refused.code(), Some(69), "{refused}");
    assert!(
        refused.stderr.contains("server message: 451 4.0.0 simulated failure (address rcptto451@localhost asks for it; gannet localserve)"),
        "{refused}"
    );
    let refused = send(&["user552@localhost"], "Subject: x\r\n\r\nx\r\n");
    assert!(
        refused
            .stderr
            .contains("server message: 552 5.0.0 simulated failure"),
        "{refused}"
    );
    assert_eq!(server.stored_in("msmtp").len(), 1, "nothing more arrived");
}

#[test]
fn s_nail_composes_and_sends_with_starttls_and_auth() {
    let tmp = TempDir::new("ls-s-nail");
    let server = Gannet::start(&tmp);
    let s_nail = require("s-nail", "s-nail");
    let body = tmp.path().join("body.txt");
    write_file(&body, "Welcome, s-nail.\n");
    // s-nail checks the certificate's DNS names only: connect as localhost.
    let mta = format!(
        "mta=smtp://s-nail%40localhost:{PASSWORD}@localhost:{}",
        server.submission_port()
    );
    let out = run_fed(
        Command::new(&s_nail)
            .env("HOME", tmp.path())
            .args(["-:", "/", "-S", "v15-compat", "-S", "ttycharset=utf-8"])
            .args(["-S", "nosave", "-S", &mta, "-S", "smtp-use-starttls"])
            .args(["-S", &format!("tls-ca-file={}", server.cert().display())])
            .args([
                "-S",
                "smtp-auth=plain",
                "-S",
                "from=App <noreply@app.example>",
            ])
            .args(["-S", "sendwait", "-s", "sent by s-nail", "s-nail@localhost"]),
        Some(&body),
        Duration::from_secs(30),
    );
    out.assert_success();
    let message = arrived(&server, "s-nail");
    assert_eq!(header(&message.content, "Subject"), Some("sent by s-nail"));
    assert_eq!(
        header(&message.content, "From"),
        Some("App <noreply@app.example>")
    );
    assert!(
        message.content.ends_with("\r\n\r\nWelcome, s-nail.\r\n"),
        "{}",
        message.content
    );
}

/// neomutt sends twice in batch mode: on plain submission it picks SCRAM-SHA-256;
/// with STARTTLS it needs `smtp_authenticators`, because Debian's neomutt offers
/// GNU SASL the -PLUS mechanisms but gives it no channel binding, and gives up
/// (see the README's client notes). Then neomutt reads both over IMAP.
#[test]
fn neomutt_sends_with_its_smtp_and_reads_with_its_imap() {
    let tmp = TempDir::new("ls-neomutt");
    let server = Gannet::start(&tmp);
    let binary = require("neomutt", "neomutt");
    let port = server.submission_port();
    let common = format!(
        "set from=\"App <noreply@app.example>\"\nset use_from=yes\nset record=\"\"\n\
         set smtp_pass=\"{PASSWORD}\"\nset ssl_ca_certificates_file=\"{}\"\n",
        server.cert().display()
    );
    let transports = [
        (
            "plain",
            format!(
                "set smtp_url=\"smtp://neomutt%40localhost@127.0.0.1:{port}/\"\n\
                 set ssl_starttls=no\nset ssl_force_tls=no\n"
            ),
        ),
        (
            "starttls",
            format!(
                "set smtp_url=\"smtp://neomutt%40localhost@localhost:{port}/\"\n\
                 set ssl_starttls=yes\nset ssl_force_tls=yes\nset smtp_authenticators=\"plain\"\n"
            ),
        ),
    ];
    for (name, transport) in &transports {
        let rc = tmp.path().join(format!("send-{name}.rc"));
        write_file(&rc, &format!("{common}{transport}"));
        let body = tmp.path().join("body.txt");
        write_file(&body, &format!("Sent by neomutt over {name}.\n"));
        let out = run_fed(
            Command::new(&binary)
                .env("HOME", tmp.path())
                .args(["-n", "-F"])
                .arg(&rc)
                .args(["-s", &format!("neomutt {name}"), "--", "neomutt@localhost"]),
            Some(&body),
            Duration::from_secs(30),
        );
        out.assert_success();
    }
    assert!(
        server
            .log()
            .contains("mechanism=SCRAM-SHA-256 login=neomutt@localhost account=neomutt result=ok"),
        "SCRAM on plain submission:\n{}",
        server.log()
    );

    let saved = tmp.path().join("saved.mbox");
    let access = format!(
        "set folder=\"imap://127.0.0.1:{}/\"\nset ssl_starttls=no\nset ssl_force_tls=no\n\
         set imap_user=\"neomutt@localhost\"\nset imap_pass=\"{PASSWORD}\"\n",
        server.imap_port()
    );
    let keys = format!(
        "<tag-pattern>~A<enter><tag-prefix><copy-message>{}<enter><quit>",
        saved.display()
    );
    let rc = tmp.path().join("read.rc");
    write_file(&rc, &neomutt::muttrc(&access, "", "", &keys));
    let screen = neomutt::run(tmp.path(), &rc, "");
    let mbox = std::fs::read_to_string(&saved)
        .unwrap_or_else(|e| panic!("neomutt saved nothing ({e}):\n{screen}"));
    for (name, _) in &transports {
        assert!(
            mbox.contains(&format!("Subject: neomutt {name}\n")),
            "{mbox}"
        );
        assert!(
            mbox.contains(&format!("\nSent by neomutt over {name}.\n")),
            "{mbox}"
        );
    }
    assert_eq!(server.stored_in("neomutt").len(), 2);
    assert!(server.stored().is_empty());
}

fn python(script: &str) -> String {
    let python = require("python3", "python3");
    let out = run(
        Command::new(&python).args(["-c", script]),
        Duration::from_secs(60),
    );
    out.assert_success();
    out.stdout
}

#[test]
fn smtplib_sends_and_imaplib_reads_the_same_bytes() {
    let tmp = TempDir::new("ls-python");
    let server = Gannet::start(&tmp);
    let message = notification("python");
    let fetched = python(&format!(
        "import imaplib, smtplib, sys\n\
         s = smtplib.SMTP('127.0.0.1', {smtp})\n\
         s.login('python@localhost', '{PASSWORD}')\n\
         s.sendmail('noreply@app.example', ['python@localhost'], {message:?}.encode())\n\
         s.quit()\n\
         m = imaplib.IMAP4('127.0.0.1', {imap})\n\
         m.login('python@localhost', '{PASSWORD}')\n\
         m.select('INBOX')\n\
         typ, data = m.uid('FETCH', '1', '(BODY.PEEK[])')\n\
         sys.stdout.write(data[0][1].decode())\n\
         m.logout()\n",
        smtp = server.submission_port(),
        imap = server.imap_port(),
    ));
    arrived_as_sent(&server, "python");
    assert_eq!(fetched, server.stored_in("python")[0].content);
    // The test's own account is separate from another's.
    let mut imap = Imap::login_as(server.imap_port(), "other@localhost");
    assert!(imap.uid_flags("INBOX").is_empty());
    imap.logout();
}

/// Each failure a test can ask for by address, as smtplib reports it; nothing of
/// these is stored.
#[test]
fn failures_asked_for_by_address_reach_smtplib_as_asked() {
    let tmp = TempDir::new("ls-failures");
    let server = Gannet::start(&tmp);
    let results = python(&format!(
        "import smtplib\n\
         def attempt(sender, rcpt):\n\
         \x20   s = smtplib.SMTP('127.0.0.1', {port}, timeout=3)\n\
         \x20   try:\n\
         \x20       s.sendmail(sender, [rcpt], b'Subject: x\\r\\n\\r\\nx\\r\\n')\n\
         \x20       return 'sent'\n\
         \x20   except smtplib.SMTPSenderRefused as e:\n\
         \x20       return 'MAIL FROM %d %s' % (e.smtp_code, e.smtp_error.decode())\n\
         \x20   except smtplib.SMTPRecipientsRefused as e:\n\
         \x20       code, text = e.recipients[rcpt]\n\
         \x20       return 'RCPT TO %d %s' % (code, text.decode())\n\
         \x20   except smtplib.SMTPDataError as e:\n\
         \x20       return 'DATA %d %s' % (e.smtp_code, e.smtp_error.decode())\n\
         \x20   except smtplib.SMTPServerDisconnected as e:\n\
         \x20       return 'disconnected: %s' % e\n\
         for sender, rcpt in [\n\
         \x20   ('mailfromtemperror@app.example', 'gannet@localhost'),\n\
         \x20   ('app@app.example', 'rcptto550@localhost'),\n\
         \x20   ('app@app.example', 'user552@localhost'),\n\
         \x20   ('app.permerror@app.example', 'gannet@localhost'),\n\
         \x20   ('app@app.example', 'disconnect@localhost'),\n\
         \x20   ('app@app.example', 'rcpttotimeout@localhost'),\n\
         \x20   ('app@app.example', 'gannet@localhost'),\n\
         ]:\n\
         \x20   print(attempt(sender, rcpt))\n",
        port = server.smtp_port()
    ));
    let simulated =
        |who: &str| format!("simulated failure (address {who} asks for it; gannet localserve)");
    let expected = [
        format!(
            "MAIL FROM 451 4.3.0 {}",
            simulated("mailfromtemperror@app.example")
        ),
        format!("RCPT TO 550 5.0.0 {}", simulated("rcptto550@localhost")),
        format!("DATA 552 5.0.0 {}", simulated("user552@localhost")),
        format!("DATA 550 5.0.0 {}", simulated("app.permerror@app.example")),
        "disconnected: Connection unexpectedly closed".to_string(),
        // smtplib reports its own timeout as a closed connection, with the reason.
        "disconnected: Connection unexpectedly closed: timed out".to_string(),
        "sent".to_string(),
    ];
    assert_eq!(results.lines().collect::<Vec<_>>(), expected);
    assert_eq!(server.stored().len(), 1, "only the last one arrived");
}
