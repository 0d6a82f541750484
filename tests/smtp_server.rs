//! `gannet localserve` serving SMTP for real: a raw client, Python's smtplib, swaks,
//! curl and openssl send mail over TCP — plain on port 25, and on submission with
//! STARTTLS or TLS and every login mechanism the clients have, including a client
//! certificate (which also logs in to IMAPS) — the server stops on SIGTERM, and the
//! messages are in the store.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gannet::store::Account;

/// A running localserve on a free SMTP port; stopped with SIGTERM on drop.
struct Server {
    child: Child,
    smtp_port: u16,
    dir: std::path::PathBuf,
}

impl Server {
    /// Starts on ports the system just had free; another process may take one
    /// of them before localserve binds it, so a start that fails is tried again.
    fn start(dir: &Path) -> Server {
        Server::start_edited(dir, |_| {})
    }

    /// Starts with the configuration `edit` changed after it was written.
    fn start_edited(dir: &Path, edit: impl Fn(&Path)) -> Server {
        for _attempt in 0..10 {
            // localserve adds the offset to 25; the others follow from it.
            let free = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let offset = (free - 25).to_string();
            let init = Command::new(env!("CARGO_BIN_EXE_gannet"))
                .args(["localserve", "--initonly", "--dir"])
                .arg(dir)
                .args(["--port-offset", &offset])
                .output()
                .unwrap();
            assert!(init.status.success(), "{init:?}");
            edit(dir);
            let mut child = Command::new(env!("CARGO_BIN_EXE_gannet"))
                .args(["localserve", "--dir"])
                .arg(dir)
                .args(["--port-offset", &offset])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            // The server says "serving" once its sockets are bound.
            let ready = lines
                .by_ref()
                .map_while(Result::ok)
                .any(|l| l.starts_with("serving"));
            if ready {
                return Server {
                    child,
                    smtp_port: free,
                    dir: dir.to_path_buf(),
                };
            }
            let _ = child.wait();
            // The configuration holds the ports of this attempt.
            let _ = std::fs::remove_file(dir.join("gannet.toml"));
        }
        panic!("localserve did not start in 10 attempts");
    }

    /// Port 587 and 465 with the same offset.
    fn submission_port(&self) -> u16 {
        self.smtp_port - 25 + 587
    }

    fn submissions_port(&self) -> u16 {
        self.smtp_port - 25 + 465
    }

    /// The self-signed certificate clients must trust.
    fn cert(&self) -> String {
        self.dir.join("tls/localhost.crt").display().to_string()
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `line` and returns the complete (possibly multi-line) reply.
fn exchange(stream: &mut BufReader<TcpStream>, line: &str) -> String {
    if !line.is_empty() {
        stream.get_mut().write_all(line.as_bytes()).unwrap();
    }
    read_reply(stream)
}

/// Reads one complete SMTP reply: lines up to the one without '-' after the code.
fn read_reply(input: &mut impl BufRead) -> String {
    let mut reply = String::new();
    loop {
        let mut l = String::new();
        input.read_line(&mut l).unwrap();
        reply.push_str(&l);
        if l.len() < 4 || l.as_bytes()[3] != b'-' {
            return reply;
        }
    }
}

fn inbox(dir: &Path, account: &str) -> Vec<String> {
    let account = Account::open(&dir.join("data/accounts").join(account), account).unwrap();
    assert!(account.verify().unwrap().is_empty());
    let inbox = account.mailbox("Inbox").unwrap().id;
    account
        .messages(inbox)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(account.read(m.id).unwrap()).unwrap())
        .collect()
}

#[test]
fn localserve_accepts_mail_over_smtp_and_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let stream = TcpStream::connect(("127.0.0.1", server.smtp_port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut s = BufReader::new(stream);
    assert!(exchange(&mut s, "").starts_with("220 localhost ESMTP gannet"));
    assert!(exchange(&mut s, "EHLO client.example\r\n").contains("250-PIPELINING"));
    // Pipelined: every reply comes, in order.
    s.get_mut()
        .write_all(b"MAIL FROM:<app@example.org>\r\nRCPT TO:<anyone@localhost>\r\nDATA\r\n")
        .unwrap();
    assert_eq!(exchange(&mut s, ""), "250 2.1.0 sender ok\r\n");
    assert_eq!(exchange(&mut s, ""), "250 2.1.5 recipient ok\r\n");
    assert!(exchange(&mut s, "").starts_with("354 "));
    assert!(
        exchange(&mut s, "Subject: raw\r\n\r\nhello\r\n.\r\n")
            .starts_with("250 2.0.0 delivered as ")
    );
    assert_eq!(
        exchange(&mut s, "RCPT TO:<x@remote.example>\r\n"),
        "503 5.5.1 send MAIL FROM first\r\n"
    );
    assert_eq!(exchange(&mut s, "QUIT\r\n"), "221 2.0.0 bye\r\n");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "the server closes after QUIT");

    // A real client library: Python's smtplib, with EHLO, SIZE and 8BITMIME.
    let script = format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {})\n\
         s.sendmail('app@example.org', ['gannet@localhost'], 'Subject: py\\r\\n\\r\\nfrom python\\r\\n', mail_options=['BODY=8BITMIME'])\n\
         s.quit()\n",
        server.smtp_port
    );
    let python = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&python.stderr)
    );

    assert!(
        server.stop().success(),
        "localserve exits cleanly on SIGTERM"
    );
    let stored = inbox(dir.path(), "gannet");
    assert_eq!(stored.len(), 2);
    assert!(stored[0].starts_with("Return-Path: <app@example.org>\r\nDelivered-To: anyone@localhost\r\nReceived: from client.example ([127.0.0.1])"), "{}", stored[0]);
    assert!(stored[0].ends_with("Subject: raw\r\n\r\nhello\r\n"));
    assert!(
        stored[1].ends_with("Subject: py\r\n\r\nfrom python\r\n"),
        "{}",
        stored[1]
    );
}

/// Runs swaks (from Debian's package; `.ci/run` installs it). Without it, the test is
/// skipped on a developer machine and fails in CI.
fn swaks(args: &[&str]) -> Option<std::process::Output> {
    match Command::new("swaks").args(args).output() {
        Ok(out) => Some(out),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: swaks is not installed (apt-get install swaks)");
            None
        }
        Err(e) => panic!("swaks is needed in CI: {e}"),
    }
}

#[test]
fn swaks_delivers_plain_and_pipelined_and_sees_a_failure_it_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let address = format!("127.0.0.1:{}", server.smtp_port);
    let base = [
        "--server",
        &address,
        "--from",
        "app@example.org",
        "--helo",
        "swaks.example",
    ];
    let send = |extra: &[&str]| swaks(&[&base[..], extra].concat());
    let Some(plain) = send(&[
        "--to",
        "one@localhost",
        "--header",
        "Subject: swaks plain",
        "--body",
        "plain body",
    ]) else {
        return;
    };
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stdout)
    );
    let transcript = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert!(
        transcript.contains("<-  250 2.0.0 delivered as "),
        "{transcript}"
    );

    let piped = send(&[
        "--pipeline",
        "--to",
        "two@localhost",
        "--header",
        "Subject: swaks pipelined",
        "--body",
        "piped body",
    ])
    .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stdout)
    );

    // A failure asked for by address: refused at RCPT, and swaks reports it.
    let refused = send(&["--to", "rcptto550@localhost"]).unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stdout)
            .contains("<** 550 5.0.0 simulated failure (address rcptto550@localhost asks for it"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );

    assert!(server.stop().success());
    let stored = inbox(dir.path(), "gannet");
    assert_eq!(stored.len(), 2);
    assert!(
        stored[0].contains("Subject: swaks plain\r\n") && stored[0].contains("plain body"),
        "{}",
        stored[0]
    );
    assert!(
        stored[1].contains("Delivered-To: two@localhost\r\n") && stored[1].contains("piped body"),
        "{}",
        stored[1]
    );
}

/// Runs a Python script; panics with its stderr if it fails.
fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn submission_logs_in_with_every_mechanism_of_python_swaks_and_curl() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (port, tls_port, cert) = (
        server.submission_port(),
        server.submissions_port(),
        server.cert(),
    );

    // smtplib: STARTTLS verified against the localserve certificate, then its
    // preferred mechanism (CRAM-MD5), PLAIN and LOGIN; and implicit TLS on 465.
    let out = python(&format!(
        "import smtplib, ssl\n\
         ctx = ssl.create_default_context(cafile='{cert}')\n\
         def send(s, how, subject):\n\
         \x20   s.sendmail('gannet@localhost', ['gannet@localhost'], 'From: gannet@localhost\\r\\nSubject: ' + subject + '\\r\\n\\r\\nbody\\r\\n')\n\
         \x20   s.quit()\n\
         \x20   print(how, 'ok')\n\
         for mech in [None, 'PLAIN', 'LOGIN']:\n\
         \x20   s = smtplib.SMTP('127.0.0.1', {port})\n\
         \x20   s.starttls(context=ctx)\n\
         \x20   if mech is None:\n\
         \x20       s.login('gannet@localhost', 'gannetgannet')\n\
         \x20   else:\n\
         \x20       s.ehlo()\n\
         \x20       s.user, s.password = 'gannet@localhost', 'gannetgannet'\n\
         \x20       s.auth(mech, getattr(s, 'auth_' + mech.lower()), initial_response_ok=(mech == 'PLAIN'))\n\
         \x20   send(s, mech or 'default', 'py ' + str(mech))\n\
         s = smtplib.SMTP_SSL('127.0.0.1', {tls_port}, context=ctx)\n\
         s.login('gannet', 'gannetgannet')\n\
         send(s, 'implicit', 'py tls')\n\
         s = smtplib.SMTP('127.0.0.1', {port})\n\
         s.starttls(context=ctx)\n\
         try:\n\
         \x20   s.login('gannet@localhost', 'wrong')\n\
         except smtplib.SMTPAuthenticationError as e:\n\
         \x20   print('refused', e.smtp_code, e.smtp_error.decode())\n"
    ));
    assert_eq!(
        out,
        "default ok\nPLAIN ok\nLOGIN ok\nimplicit ok\nrefused 535 5.7.8 authentication failed\n"
    );

    // swaks: STARTTLS with certificate verification and each of its mechanisms.
    let address = format!("127.0.0.1:{port}");
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let Some(out) = swaks(&[
            "--server",
            &address,
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            &cert,
            "--auth",
            mech,
            "--auth-user",
            "gannet@localhost",
            "--auth-password",
            "gannetgannet",
            "--from",
            "gannet@localhost",
            "--to",
            "gannet@localhost",
            "--header",
            &format!("Subject: swaks {mech}"),
        ]) else {
            return;
        };
        let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{mech}: {transcript}");
        assert!(
            transcript.contains("235 2.7.0 authentication succeeded"),
            "{transcript}"
        );
    }

    // curl: STARTTLS required, --login-options picks the mechanism.
    for mech in ["PLAIN", "CRAM-MD5", "LOGIN"] {
        let message = dir.path().join("curl.eml");
        std::fs::write(
            &message,
            format!("From: gannet@localhost\r\nSubject: curl {mech}\r\n\r\nbody\r\n"),
        )
        .unwrap();
        let out = Command::new("curl")
            .args(["--silent", "--show-error", "--ssl-reqd", "--cacert", &cert])
            .arg(format!("smtp://127.0.0.1:{port}"))
            .args([
                "--user",
                "gannet@localhost:gannetgannet",
                "--login-options",
                &format!("AUTH={mech}"),
            ])
            .args([
                "--mail-from",
                "gannet@localhost",
                "--mail-rcpt",
                "gannet@localhost",
                "--upload-file",
            ])
            .arg(&message)
            .output()
            .expect("curl is installed");
        assert!(
            out.status.success(),
            "curl {mech}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The login record has every attempt, the failure included.
    let attempts = Command::new(env!("CARGO_BIN_EXE_gannet"))
        .args(["-c"])
        .arg(dir.path().join("gannet.toml"))
        .args(["loginattempts", "gannet"])
        .output()
        .unwrap();
    let attempts = String::from_utf8_lossy(&attempts.stdout).into_owned();
    for mech in ["CRAM-MD5", "PLAIN", "LOGIN"] {
        assert!(
            attempts.contains(&format!(" {mech:<18} gannet@localhost")),
            "{attempts}"
        );
    }
    assert!(attempts.contains("bad-credentials"), "{attempts}");
    assert!(attempts.contains("tls version=TLS1.3"), "{attempts}");

    assert!(server.stop().success());
    let stored = inbox(dir.path(), "gannet");
    assert_eq!(stored.len(), 10, "4 from python, 3 from swaks, 3 from curl");
    assert!(
        stored.iter().all(|m| m.contains(" with ESMTPSA")),
        "{stored:?}"
    );
}

#[test]
fn a_registered_client_certificate_logs_in_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let gannet = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gannet"))
            .arg("-c")
            .arg(dir.path().join("gannet.toml"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gannet {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let generated = gannet(&["config", "tlspubkey", "gen", "phone"]);
    assert!(generated.contains("wrote ./phone.p12"), "{generated}");
    let added = gannet(&["config", "tlspubkey", "add", "gannet", "phone.crt"]);
    assert!(
        added.contains("on account gannet, logging in as gannet@localhost"),
        "{added}"
    );
    let listed = gannet(&["config", "tlspubkey", "list"]);
    assert!(listed.contains("gannet@localhost"), "{listed}");

    let mut openssl = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-CAfile",
            &server.cert(),
        ])
        .args([
            "-connect",
            &format!("127.0.0.1:{}", server.submissions_port()),
        ])
        .args(["-cert", "phone.crt", "-key", "phone.key"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed");
    let mut stdin = openssl.stdin.take().unwrap();
    let mut stdout = BufReader::new(openssl.stdout.take().unwrap());
    let mut reply = |line: &str| {
        stdin.write_all(line.as_bytes()).unwrap();
        read_reply(&mut stdout)
    };
    assert!(reply("").starts_with("220 "));
    let ehlo = reply("EHLO phone.example\r\n");
    assert!(ehlo.contains("250-AUTH EXTERNAL "), "{ehlo}");
    assert_eq!(
        reply("MAIL FROM:<gannet@localhost>\r\n"),
        "250 2.1.0 sender ok\r\n"
    );
    assert_eq!(
        reply("RCPT TO:<gannet@localhost>\r\n"),
        "250 2.1.5 recipient ok\r\n"
    );
    assert!(reply("DATA\r\n").starts_with("354 "));
    assert!(
        reply("From: gannet@localhost\r\nSubject: by certificate\r\n\r\nhi\r\n.\r\n")
            .starts_with("250 2.0.0 delivered")
    );
    reply("QUIT\r\n");
    drop(stdin);
    openssl.wait().unwrap();

    // IMAPS with the same certificate: PREAUTH, and the message is there.
    let imaps = server.smtp_port - 25 + 993;
    let session = imap_with_certificate(
        dir.path(),
        &server.cert(),
        imaps,
        "phone",
        "a SELECT INBOX\r\n",
    );
    assert!(session.starts_with("* PREAUTH "), "{session}");
    assert!(session.contains("* 1 EXISTS\r\n"), "{session}");
    assert!(session.contains("a OK [READ-WRITE]"), "{session}");
    // A key registered without PREAUTH gets the usual greeting and logs in with
    // AUTHENTICATE EXTERNAL.
    gannet(&["config", "tlspubkey", "gen", "laptop"]);
    gannet(&[
        "config",
        "tlspubkey",
        "add",
        "gannet",
        "laptop.crt",
        "--no-imap-preauth",
    ]);
    let session = imap_with_certificate(
        dir.path(),
        &server.cert(),
        imaps,
        "laptop",
        "a AUTHENTICATE EXTERNAL =\r\n",
    );
    assert!(session.starts_with("* OK "), "{session}");
    assert!(session.contains("a OK [CAPABILITY "), "{session}");

    let fingerprint = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(gannet(&["config", "tlspubkey", "rm", &fingerprint]).contains("removed"));
    assert!(server.stop().success());
    let stored = inbox(dir.path(), "gannet");
    assert!(stored[0].contains(" with ESMTPSA"), "{}", stored[0]);
}

/// An IMAPS session with client certificate `name`.crt: the greeting, `command`
/// and its responses up to its tagged one, then LOGOUT.
fn imap_with_certificate(dir: &Path, ca: &str, port: u16, name: &str, command: &str) -> String {
    let mut openssl = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-CAfile", ca])
        .args(["-connect", &format!("127.0.0.1:{port}")])
        .args([
            "-cert",
            &format!("{name}.crt"),
            "-key",
            &format!("{name}.key"),
        ])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed");
    let mut stdin = openssl.stdin.take().unwrap();
    let mut stdout = BufReader::new(openssl.stdout.take().unwrap());
    let mut session = String::new();
    stdout.read_line(&mut session).unwrap();
    stdin.write_all(command.as_bytes()).unwrap();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        session.push_str(&line);
        if line.starts_with("a ") {
            break;
        }
    }
    stdin.write_all(b"z LOGOUT\r\n").unwrap();
    drop(stdin);
    openssl.wait().unwrap();
    session
}

#[test]
fn setaccountpassword_reads_stdin_and_the_old_password_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut set = Command::new(env!("CARGO_BIN_EXE_gannet"))
        .arg("-c")
        .arg(dir.path().join("gannet.toml"))
        .args(["setaccountpassword", "gannet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(b"a new passphrase\n")
        .unwrap();
    let out = set.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "password set for account gannet\n"
    );
    let out = python(&format!(
        "import smtplib\n\
         for password in ['gannetgannet', 'a new passphrase']:\n\
         \x20   s = smtplib.SMTP('127.0.0.1', {})\n\
         \x20   try:\n\
         \x20       s.login('gannet@localhost', password)\n\
         \x20       print('ok')\n\
         \x20   except smtplib.SMTPAuthenticationError as e:\n\
         \x20       print(e.smtp_code)\n",
        server.submission_port()
    ));
    assert_eq!(out, "535\nok\n");
    drop(server);
}

/// An SMTP client over rustls to the submissions port, with this crate's TLS
/// client config trusting the localserve certificate.
struct TlsClient {
    stream: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
}

impl TlsClient {
    fn connect(server: &Server) -> TlsClient {
        use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
        let cert = CertificateDer::from_pem_file(server.cert()).unwrap();
        let config = gannet::tls::client_config(&[cert], None).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config, name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", server.submissions_port())).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut client = TlsClient {
            stream: BufReader::new(rustls::StreamOwned::new(conn, tcp)),
        };
        assert!(client.send("").starts_with("220 "));
        client
    }

    fn send(&mut self, line: &str) -> String {
        if !line.is_empty() {
            self.stream.get_mut().write_all(line.as_bytes()).unwrap();
        }
        read_reply(&mut self.stream)
    }

    /// RFC 9266's tls-exporter value of this connection, as the client sees it.
    fn binding(&self) -> [u8; 32] {
        self.stream
            .get_ref()
            .conn
            .export_keying_material([0; 32], b"EXPORTER-Channel-Binding", None)
            .unwrap()
    }

    /// Runs SCRAM-SHA-256-PLUS bound to `binding`; the final reply.
    fn scram_plus(&mut self, binding: &[u8]) -> String {
        use gannet::sasl::{
            ClientCredentials, ClientExchange, Mechanism, NonceSource, decode_initial_response,
            encode_challenge, encode_initial_response,
        };
        let credentials = ClientCredentials {
            username: "gannet@localhost".into(),
            password: "gannetgannet".into(),
            authzid: None,
        };
        let mut sasl = ClientExchange::new(
            Mechanism::ScramSha256Plus,
            &credentials,
            Some(binding),
            &NonceSource::Random,
        )
        .unwrap();
        let first = encode_initial_response(&sasl.initial_response().unwrap());
        let mut reply = self.send(&format!("AUTH SCRAM-SHA-256-PLUS {first}\r\n"));
        while let Some(challenge) = reply.strip_prefix("334 ") {
            let challenge = decode_initial_response(challenge.trim_end()).unwrap_or_default();
            let answer = sasl.respond(&challenge).unwrap();
            reply = self.send(&format!("{}\r\n", encode_challenge(&answer)));
        }
        if reply.starts_with("235 ") {
            sasl.finish()
                .expect("the server proved it knows the credentials");
        }
        reply
    }
}

/// SCRAM-SHA-256-PLUS over a real rustls connection to the server: the binding
/// of the same connection logs in; another connection's binding (as a man in the
/// middle relaying the exchange would have) is refused.
#[test]
fn scram_plus_binds_to_the_tls_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut first = TlsClient::connect(&server);
    let ehlo = first.send("EHLO client.example\r\n");
    assert!(ehlo.contains("SCRAM-SHA-256-PLUS"), "{ehlo}");
    let own = first.binding();
    assert_eq!(
        first.scram_plus(&own),
        "235 2.7.0 authentication succeeded\r\n"
    );

    let mut second = TlsClient::connect(&server);
    second.send("EHLO client.example\r\n");
    assert_ne!(second.binding(), own);
    assert_eq!(
        second.scram_plus(&own),
        "535 5.7.8 channel binding failed: the channel binding data is not this connection's\r\n"
    );
    let own = second.binding();
    assert_eq!(
        second.scram_plus(&own),
        "235 2.7.0 authentication succeeded\r\n"
    );
    drop(server);
}

#[test]
fn submitted_mail_for_other_domains_goes_through_the_queue_and_failures_come_back_as_dsns() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // One recipient is taken by localserve's own SMTP port (the catchall), the
    // other asks for a permanent failure there.
    let script = format!(
        "import smtplib, imaplib, time\n\
         s = smtplib.SMTP('127.0.0.1', {submission})\n\
         s.login('gannet@localhost', 'gannetgannet')\n\
         refused = s.sendmail('app@example.org', ['bob@example.com', 'user550@example.net'],\n\
             'From: app@example.org\\r\\nSubject: queued\\r\\n\\r\\nthrough the queue\\r\\n')\n\
         print('refused', refused)\n\
         s.quit()\n\
         m = imaplib.IMAP4('127.0.0.1', {imap})\n\
         m.login('gannet@localhost', 'gannetgannet')\n\
         for _ in range(300):\n\
         \x20   n = int(m.select('INBOX')[1][0])\n\
         \x20   if n >= 2: break\n\
         \x20   time.sleep(0.1)\n\
         print('messages', n)\n",
        submission = server.submission_port(),
        imap = server.smtp_port - 25 + 143,
    );
    let out = python(&script);
    assert!(out.contains("refused {}"), "{out}");
    assert!(out.contains("messages 2"), "{out}");
    assert!(server.stop().success());

    let stored = inbox(dir.path(), "gannet");
    // The DSN holds the message too, and may be stored first.
    let relayed = stored
        .iter()
        .find(|m| m.contains("Subject: queued") && !m.contains("multipart/report"))
        .unwrap();
    assert!(
        relayed.starts_with("Return-Path: <app@example.org>\r\nDelivered-To: bob@example.com\r\n"),
        "{relayed}"
    );
    assert_eq!(
        relayed.matches("Received: ").count(),
        2,
        "submission, then the SMTP port: {relayed}"
    );
    let dsn = stored
        .iter()
        .find(|m| m.contains("multipart/report"))
        .unwrap();
    assert!(
        dsn.starts_with("Return-Path: <>\r\nDelivered-To: app@example.org\r\n"),
        "{dsn}"
    );
    for expected in [
        "Action: failed",
        "Final-Recipient: rfc822; user550@example.net",
        "Status: 5.0.0",
        "simulated failure",
    ] {
        assert!(dsn.contains(expected), "{expected:?} missing: {dsn}");
    }
}

/// `gannet queue ARGS` against the server configured in `dir`: status, stdout,
/// stderr.
fn queue(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gannet"))
        .arg("-c")
        .arg(dir.join("gannet.toml"))
        .arg("queue")
        .args(args)
        .env_remove("GANNET_CONFIG")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Submits a message from gannet@localhost to `to` and returns the refused
/// recipients as Python prints them.
fn submit(server: &Server, subject: &str, to: &[&str]) -> String {
    let to: Vec<String> = to.iter().map(|a| format!("'{a}'")).collect();
    python(&format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {port})\n\
         s.login('gannet@localhost', 'gannetgannet')\n\
         print(s.sendmail('gannet@localhost', [{to}],\n\
             'From: gannet@localhost\\r\\nSubject: {subject}\\r\\n\\r\\nqueued\\r\\n'))\n\
         s.quit()\n",
        port = server.submission_port(),
        to = to.join(", "),
    ))
}

/// Waits until `gannet queue list` shows what `done` accepts.
fn wait_for_queue(dir: &Path, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        let (status, listed, err) = queue(dir, &["list"]);
        assert_eq!(status, 0, "{err}");
        if done(&listed) {
            return listed;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the queue did not get there: {}", queue(dir, &["list"]).1);
}

#[test]
fn gannet_queue_manages_the_running_servers_queue_through_its_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start(d);

    // A hold rule holds new mail for example.net; a suppressed recipient fails
    // without an attempt.
    assert_eq!(
        queue(d, &["holdrules", "add", "--to-domain", "Example.NET"]),
        (0, "1  to-domain example.net\n".into(), String::new())
    );
    assert_eq!(
        queue(d, &["suppress", "add", "gannet", "Dave@example.com"]).1,
        "suppressed\n"
    );
    let refused = submit(
        &server,
        "managed",
        &["bob@example.net", "carol@example.com", "dave@example.com"],
    );
    assert_eq!(refused.trim(), "{}");
    let listed = wait_for_queue(d, |l| l.lines().count() == 1);
    assert!(
        listed.starts_with("1  bob@example.net  from <gannet@localhost>  account gannet")
            && listed.trim_end().ends_with("on hold"),
        "{listed}"
    );
    let (status, dumped, _) = queue(d, &["dump", "1"]);
    assert_eq!(status, 0);
    assert!(dumped.contains("Subject: managed\r\n"), "{dumped}");
    assert_eq!(
        queue(d, &["dump", "99"]),
        (
            1,
            String::new(),
            "gannet queue: no message 99 in the queue\n".into()
        )
    );

    // Changing the queue needs a filter or --all.
    let (status, _, err) = queue(d, &["hold"]);
    assert_eq!(status, 2);
    assert!(err.contains("hold needs --all or a filter"), "{err}");

    assert_eq!(
        queue(d, &["release", "--to", "example.net"]).1,
        "released 1 recipient\n"
    );
    wait_for_queue(d, str::is_empty);
    let retired = queue(d, &["list", "--retired"]).1;
    for expected in [
        "1  bob@example.net  from <gannet@localhost>  account gannet  delivered",
        "1  carol@example.com  from <gannet@localhost>  account gannet  delivered",
        "1  dave@example.com  from <gannet@localhost>  account gannet  failed",
        "permanent failure (5.7.1): not sent: the address is on the suppression list (added by the administrator)",
    ] {
        assert!(
            retired.contains(expected),
            "{expected:?} missing: {retired}"
        );
    }

    // A recipient that keeps failing: rescheduled, then failed by hand (the
    // sender gets a DSN); another dropped (no DSN).
    submit(&server, "retried", &["rcptto451@example.org"]);
    submit(&server, "dropped", &["rcptto452@example.org"]);
    wait_for_queue(d, |l| l.matches("last: temporary failure").count() == 2);
    assert_eq!(
        queue(d, &["schedule", "--id", "2", "--in", "2h"]).1,
        "rescheduled 1 recipient\n"
    );
    assert_eq!(queue(d, &["fail", "--id", "2"]).1, "failed 1 recipient\n");
    assert_eq!(
        queue(d, &["drop", "--to", "rcptto452@example.org"]).1,
        "dropped 1 recipient\n"
    );
    assert_eq!(queue(d, &["list"]).1, "");
    let retired = queue(d, &["list", "--retired", "--id", "3"]).1;
    assert!(
        retired.contains("dropped from the queue by the administrator"),
        "{retired}"
    );

    assert_eq!(queue(d, &["holdrules", "rm", "1"]).1, "hold rule removed\n");
    assert_eq!(
        queue(d, &["holdrules", "rm", "1"]),
        (1, String::new(), "gannet queue: no hold rule 1\n".into())
    );
    assert_eq!(
        queue(d, &["suppress", "list"])
            .1
            .split("  ")
            .take(2)
            .collect::<Vec<_>>(),
        ["gannet", "Dave@example.com"]
    );
    assert_eq!(
        queue(d, &["suppress", "rm", "gannet", "dave@EXAMPLE.com"]).1,
        "no longer suppressed\n"
    );
    assert!(server.stop().success());

    // The DSNs: the suppressed recipient's and the one failed by hand.
    let stored = inbox(d, "gannet");
    let dsns: Vec<_> = stored
        .iter()
        .filter(|m| m.contains("multipart/report"))
        .collect();
    assert_eq!(dsns.len(), 2, "{dsns:?}");
    assert!(
        dsns.iter()
            .any(|m| m.contains("Final-Recipient: rfc822; dave@example.com")
                && m.contains("Status: 5.7.1")
                && m.contains("Reason: not sent: the address is on the suppression list"))
    );
    assert!(dsns.iter().any(
        |m| m.contains("Final-Recipient: rfc822; rcptto451@example.org")
            && m.contains("Status: 5.3.0")
            && m.contains("Reason: delivery cancelled by the mail system's administrator")
    ));

    let (status, _, err) = queue(d, &["list"]);
    assert_eq!(status, 1);
    assert!(err.contains("cannot reach the running server at"), "{err}");
}

#[test]
fn extra_data_stays_with_the_queue_and_a_later_dsn_is_matched_by_the_unique_mail_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start_edited(d, |d| {
        let path = d.join("domains.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(
                "[domains.localhost]\n",
                "[domains.localhost]\nlocalpart_catchall_separators = [\"+\"]\n",
            )
            .replace(
                "[accounts.gannet]\n",
                "[accounts.gannet]\nunique_mail_from = true\n",
            );
        std::fs::write(path, text).unwrap();
    });
    python(&format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {port})\n\
         s.login('gannet@localhost', 'gannetgannet')\n\
         s.sendmail('gannet@localhost', ['bob@example.com'],\n\
             'From: gannet@localhost\\r\\nMessage-ID: <m1@localhost>\\r\\n'\n\
             'X-Gannet-Extra-Campaign: autumn\\r\\nSubject: tracked\\r\\n\\r\\nhi\\r\\n')\n\
         s.quit()\n",
        port = server.submission_port(),
    ));
    wait_for_queue(d, str::is_empty);
    let retired = queue(d, &["list", "--retired"]).1;
    let sender = retired
        .split("from <")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap()
        .to_string();
    let id = sender
        .strip_prefix("gannet+")
        .and_then(|rest| rest.strip_suffix("@localhost"))
        .unwrap_or_else(|| panic!("not a unique MAIL FROM: {sender}"));
    assert_eq!(id.len(), 16, "{sender}");
    assert!(
        retired.contains("    extra: {\"Campaign\":\"autumn\"}\n"),
        "{retired}"
    );

    // The receiving server bounces it later, to the unique MAIL FROM.
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.com\r\nTo: {sender}\r\nSubject: Undelivered\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nbob is gone\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.com\r\n\r\n\
         Final-Recipient: rfc822; bob@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: gannet@localhost\r\nMessage-ID: <m1@localhost>\r\n\r\n--b--\r\n"
    );
    let mut smtp = BufReader::new(TcpStream::connect(("127.0.0.1", server.smtp_port)).unwrap());
    read_reply(&mut smtp);
    for (line, code) in [
        ("EHLO mx.example.com\r\n", "250"),
        ("MAIL FROM:<>\r\n", "250"),
        (&format!("RCPT TO:<{sender}>\r\n"), "250"),
        ("DATA\r\n", "354"),
        (&format!("{dsn}.\r\n"), "250"),
    ] {
        let reply = exchange(&mut smtp, line);
        assert!(reply.starts_with(code), "{line}: {reply}");
    }
    let retired = queue(d, &["list", "--retired"]).1;
    assert!(
        retired.contains(
            "    later DSN: failed 5.1.1: 550 5.1.1 no such user (reported by mx.example.com)\n"
        ),
        "{retired}"
    );
    let suppressed = queue(d, &["suppress", "list"]).1;
    assert!(
        suppressed.starts_with("gannet  bob@example.com  automatic"),
        "{suppressed}"
    );
    assert!(server.stop().success());

    let stored = inbox(d, "gannet");
    let relayed = stored
        .iter()
        .find(|m| m.contains("Subject: tracked"))
        .unwrap();
    assert!(!relayed.contains("X-Gannet-Extra"), "{relayed}");
    assert!(
        relayed.starts_with(&format!("Return-Path: <{sender}>\r\n")),
        "{relayed}"
    );
}
