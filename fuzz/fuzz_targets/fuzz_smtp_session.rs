//! Whole SMTP sessions: arbitrary bytes, delivered in arbitrary pieces, against a
//! backend that accepts every recipient and counts messages, except where an
//! address asks for a failure as under localserve (so refusals, silence and
//! disconnects are fuzzed too). No input may
//! panic, every reply line must be well-formed, and a message is only delivered
//! after a DATA or BDAT that ended.

#![no_main]

use gannet::address::{Address, Domain, ForwardPath, ReversePath};
use gannet::auth::{Authenticator, Login};
use gannet::leniency::{Leniencies, Leniency};
use gannet::localserve::failures::{Party, Stage, by_localpart};
use gannet::localserve::policy::Injected;
use gannet::smtpserver::{Action, Backend, Envelope, Refusal, Session, Settings, injected};
use libfuzzer_sys::fuzz_target;

struct Memory(usize);

/// The failure `address` asks for at `stage`, if any.
fn asked(address: &Address, party: Party, stage: Stage) -> Result<(), Refusal> {
    match by_localpart(address.localpart.as_str(), party) {
        Some((at, failure)) if at == stage => Err(injected(Injected {
            failure,
            why: "fuzz".to_string(),
        })),
        _ => Ok(()),
    }
}

impl Backend for Memory {
    fn sender(&mut self, from: &ReversePath) -> Result<(), Refusal> {
        match from {
            ReversePath::Mailbox(a) => asked(a, Party::Sender, Stage::MailFrom),
            ReversePath::Null => Ok(()),
        }
    }

    fn recipient(&mut self, to: &ForwardPath, _login: Option<&Login>) -> Result<(), Refusal> {
        match to {
            ForwardPath::Mailbox(a) => asked(a, Party::Recipient, Stage::RcptTo),
            ForwardPath::Postmaster => Ok(()),
        }
    }

    fn may_send_as(&self, _login: &Login, _address: &Address) -> bool {
        true
    }

    /// Submission sessions are fuzzed up to AUTH; the SASL mechanisms have
    /// their own target (fuzz_sasl).
    fn authenticator(&self) -> Option<&Authenticator> {
        None
    }

    fn deliver(&mut self, envelope: &Envelope, _message: &[u8]) -> Result<String, Refusal> {
        assert!(
            !envelope.recipients.is_empty(),
            "delivery without recipients"
        );
        for (to, _) in &envelope.recipients {
            if let ForwardPath::Mailbox(a) = to {
                asked(a, Party::Recipient, Stage::Data)?;
            }
        }
        self.0 += 1;
        Ok(self.0.to_string())
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split size and the leniency; the rest is the stream.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let lenient: Leniencies = if control & 1 == 1 {
        [Leniency::BareLf].into_iter().collect()
    } else {
        Leniencies::PEDANTIC
    };
    let settings = Settings {
        hostname: Domain::parse("mail.example.org", Leniencies::PEDANTIC).unwrap(),
        max_message_size: 4096,
        max_recipients: 5,
        lenient,
        starttls: control & 2 == 2,
        max_errors: 20,
        max_commands_before_mail: 50,
        submission: control & 2 == 0,
        plaintext_auth: true,
    };
    let mut session = Session::new(settings, "192.0.2.1".parse().unwrap());
    let mut backend = Memory(0);
    let piece = usize::from(control >> 2) + 1;
    for chunk in stream.chunks(piece) {
        let (out, action) = session.feed(chunk, &mut backend);
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // "ddd" then ' ' or '-', ending in CR: RFC 5321 4.2.
            assert!(
                line.len() >= 5
                    && line[..3].iter().all(u8::is_ascii_digit)
                    && matches!(line[3], b' ' | b'-'),
                "bad reply line {:?}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(line.last(), Some(&b'\r'), "reply line without CRLF");
        }
        if action != Action::Continue {
            break;
        }
    }
});
