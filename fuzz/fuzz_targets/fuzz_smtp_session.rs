//! Whole SMTP sessions: arbitrary bytes, delivered in arbitrary pieces, against a
//! backend that accepts every recipient and keeps messages in memory. No input may
//! panic, every reply line must be well-formed, and a message is only delivered
//! after a DATA or BDAT that ended.

#![no_main]

use gannet::address::{Address, Domain, ForwardPath, ReversePath};
use gannet::auth::{Authenticator, Login};
use gannet::leniency::{Leniencies, Leniency};
use gannet::smtpserver::{Action, Backend, Envelope, Refusal, Session, Settings};
use libfuzzer_sys::fuzz_target;

struct Memory(usize);

impl Backend for Memory {
    fn sender(&mut self, _from: &ReversePath) -> Result<(), Refusal> {
        Ok(())
    }

    fn recipient(&mut self, _to: &ForwardPath, _login: Option<&Login>) -> Result<(), Refusal> {
        Ok(())
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
