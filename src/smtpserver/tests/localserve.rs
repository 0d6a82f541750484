//! Transcripts of SMTP sessions under `gannet localserve`'s policy: failures asked
//! for by address and by chance, the catchall, open logins, any sender on
//! submission and the Sent copy of mail to other domains.

use std::sync::Arc;

use super::*;
use crate::config::LocalserveConfig;
use crate::localserve::failures::{ChaosRule, Failure, Stage};
use crate::localserve::{self, Options, Policy};

/// Runs `script` on localserve's generated configuration: as submission (open
/// logins, plaintext allowed) or as port 25.
fn local(data: &Path, config: &LocalserveConfig, submission: bool, script: &[&str]) -> String {
    let (_, domains) = localserve::config(&Options::default()).unwrap();
    localserve::ensure_password(data).unwrap();
    let hostname = localserve::domain();
    let auth = Authenticator::new(data, &domains, [100, 100, 100], hostname.ascii())
        .unwrap()
        .with_open_logins(&hostname, localserve::PASSWORD)
        .unwrap();
    let auth = Arc::new(auth);
    let policy = Policy::new(config, Arc::clone(&auth));
    let recipients = Recipients::new(&domains);
    let store = Store::new(data.to_path_buf());
    let mut backend = LocalDelivery {
        recipients: &recipients,
        store: &store,
        hostname: &hostname,
        authenticator: submission.then_some(&*auth),
        local: Some(&policy),
        resolver: None,
        dkim: None,
        queue: None,
    };
    let settings = Settings {
        hostname: hostname.clone(),
        submission,
        plaintext_auth: true,
        max_errors: 20,
        ..settings(Leniencies::PEDANTIC)
    };
    run_with(&mut backend, settings, None, script)
}

fn port25(data: &Path, script: &[&str]) -> String {
    local(data, &LocalserveConfig::default(), false, script)
}

/// AUTH PLAIN as `login` with localserve's password.
fn auth_plain(login: &str) -> String {
    format!(
        "AUTH PLAIN {}\r\n",
        b64(&format!("\0{login}\0{}", localserve::PASSWORD))
    )
}

#[test]
fn failures_asked_for_by_address_come_at_their_stage() {
    let dir = tempfile::tempdir().unwrap();
    let t = port25(
        dir.path(),
        &[
            "EHLO app.example\r\n",
            "MAIL FROM:<mailfrom451@app.example>\r\n",
            "MAIL FROM:<app@app.example>\r\n",
            "RCPT TO:<rcptto550@localhost>\r\n",
            "RCPT TO:<user452@localhost>\r\n",
            "RCPT TO:<bob@localhost>\r\n",
            "DATA\r\n",
            "Subject: one\r\n\r\nnot stored\r\n.\r\n",
            "MAIL FROM:<app.permerror@app.example>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n",
            "Subject: two\r\n\r\nnot stored\r\n.\r\n",
            "MAIL FROM:<app@app.example>\r\nRCPT TO:<rcptto421@localhost>\r\n",
            "NOOP\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    assert!(inbox(dir.path(), "gannet").is_empty(), "nothing delivered");
}

#[test]
fn timeout_stops_answering_and_disconnect_closes() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = port25(
        dir.path(),
        &[
            "EHLO app.example\r\n",
            "MAIL FROM:<app@app.example>\r\nRCPT TO:<rcpttotimeout@localhost>\r\n",
            "NOOP\r\n",
        ],
    );
    assert!(
        timeout.ends_with("C: MAIL FROM:<app@app.example>\\r\\n\nC: RCPT TO:<rcpttotimeout@localhost>\\r\\n\nS: 250 2.1.0 sender ok\\r\\n\n-- Silence\n"),
        "{timeout}"
    );
    let disconnect = port25(
        dir.path(),
        &[
            "EHLO app.example\r\n",
            "MAIL FROM:<app@app.example>\r\nRCPT TO:<gone-disconnect@localhost>\r\nDATA\r\n",
            "Subject: x\r\n\r\nx\r\n.\r\n",
            "NOOP\r\n",
        ],
    );
    assert!(
        disconnect.ends_with("C: Subject: x\\r\\n\nC: \\r\\n\nC: x\\r\\n\nC: .\\r\\n\n-- Close\n"),
        "no reply to the message, then closed: {disconnect}"
    );
    assert!(inbox(dir.path(), "gannet").is_empty());
}

#[test]
fn chaos_rules_fail_their_stage_by_chance() {
    let dir = tempfile::tempdir().unwrap();
    let config = LocalserveConfig {
        chaos: vec![ChaosRule {
            stage: Stage::Data,
            probability: 1.0,
            failure: Failure::Reply(452, crate::smtp::Enhanced(4, 0, 0)),
        }],
        chaos_seed: Some(1),
    };
    let t = local(
        dir.path(),
        &config,
        false,
        &[
            "EHLO app.example\r\n",
            "MAIL FROM:<app@app.example>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n",
            "Subject: x\r\n\r\nx\r\n.\r\n",
        ],
    );
    assert!(
        t.contains("S: 452 4.0.0 simulated failure (a [[localserve.chaos]] rule for data"),
        "{t}"
    );
}

#[test]
fn mail_goes_to_the_account_its_local_part_names_once_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let deliver = |to: &str| {
        let script = [
            "EHLO app.example\r\n".to_string(),
            format!("MAIL FROM:<app@app.example>\r\nRCPT TO:<{to}>\r\nDATA\r\n"),
            format!("Subject: to {to}\r\n\r\nx\r\n.\r\n"),
        ];
        let script: Vec<&str> = script.iter().map(String::as_str).collect();
        let t = port25(dir.path(), &script);
        assert!(t.contains("250 2.0.0 delivered as ID"), "{t}");
    };
    deliver("bob@localhost");
    assert_eq!(
        inbox(dir.path(), "gannet").len(),
        1,
        "bob does not exist yet"
    );
    let t = local(
        dir.path(),
        &LocalserveConfig::default(),
        true,
        &["EHLO app.example\r\n", &auth_plain("Bob@localhost")],
    );
    assert!(t.contains("235 2.7.0"), "bob's first login: {t}");
    deliver("bob@localhost");
    deliver("bob@anywhere.example");
    deliver("carol@localhost");
    deliver("gannet@elsewhere.example");
    assert_eq!(inbox(dir.path(), "bob").len(), 2);
    assert_eq!(inbox(dir.path(), "gannet").len(), 3);
}

#[test]
fn submission_sends_as_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let t = local(
        dir.path(),
        &LocalserveConfig::default(),
        true,
        &[
            "EHLO app.example\r\n",
            &auth_plain("tester@localhost"),
            "MAIL FROM:<noreply@app.example>\r\nRCPT TO:<someone@remote.example>\r\nRCPT TO:<gannet@localhost>\r\nDATA\r\n",
            "From: App <noreply@app.example>\r\nTo: someone@remote.example\r\nSubject: welcome\r\n\r\nhello\r\n.\r\n",
            "MAIL FROM:<noreply@app.example>\r\nRCPT TO:<tester@localhost>\r\nDATA\r\n",
            "From: noreply@app.example\r\nSubject: local only\r\n\r\nhello\r\n.\r\n",
        ],
    );
    insta::assert_snapshot!(t);
    // Without a queue (as here), mail for other domains goes to the catchall
    // at once; `gannet localserve` queues it (tests/smtp_server.rs).
    let caught = inbox(dir.path(), "gannet");
    assert_eq!(caught.len(), 1, "one copy for two recipients of gannet");
    assert!(caught[0].contains("Subject: welcome"));
    assert_eq!(inbox(dir.path(), "tester").len(), 1);
}
