//! Sending a message: MAIL FROM, RCPT TO and DATA or BDAT, pipelined where the
//! server allows (RFC 2920), with the parameters the message needs and the
//! server takes.

use super::error::{ClientError, Stage};
use super::session::Client;
use crate::smtp::{Body, Enhanced, MailParams, RcptParams, Reply, Ret, dot_stuff};

/// One message and its envelope.
#[derive(Debug, Clone, Default)]
pub struct Outgoing<'a> {
    /// The reverse-path without its brackets; empty for the null path (DSNs).
    pub from: &'a str,
    /// Each forward-path without brackets, with its DSN parameters (RFC 3461).
    pub recipients: &'a [(String, RcptParams)],
    /// The message, with CRLF line ends.
    pub message: &'a [u8],
    /// SMTPUTF8 (RFC 6531) was given when the message came in.
    pub smtputf8: bool,
    /// RET and ENVID (RFC 3461), passed on to servers that announce DSN.
    pub ret: Option<Ret>,
    pub envid: Option<String>,
    /// REQUIRETLS (RFC 8689): only over TLS, to a server that announces it.
    pub requiretls: bool,
}

/// What became of one recipient: the server's reply taking the message, or why
/// it was not taken.
pub type Delivery = Result<Reply, ClientError>;

/// The replies to MAIL FROM and each RCPT TO of one transaction.
struct Envelope {
    recipients: Vec<Reply>,
    /// The reply to a pipelined DATA.
    data: Option<Reply>,
}

impl Envelope {
    fn accepted(&self) -> bool {
        self.recipients.iter().any(Reply::is_positive)
    }
}

impl Client {
    /// Sends `out`, in as many transactions as the server's LIMITS RCPTMAX
    /// (RFC 9422) asks for, and says for each recipient, in order, whether it
    /// was taken. A transaction that fails as a whole (MAIL FROM refused, the
    /// connection lost) fails each of its recipients the same way.
    pub async fn send(&mut self, out: &Outgoing<'_>) -> Vec<Delivery> {
        let mail = match self.mail_params(out) {
            Ok(mail) => mail,
            Err(e) => return vec![Err(e); out.recipients.len()],
        };
        let per_transaction = self.extensions.rcpt_max.unwrap_or(usize::MAX);
        let mut results = Vec::with_capacity(out.recipients.len());
        for recipients in out.recipients.chunks(per_transaction) {
            if self.unusable {
                let lost = ClientError::Connection {
                    stage: Stage::MailFrom,
                    reason: "the session broke in an earlier transaction".into(),
                };
                results.extend(recipients.iter().map(|_| Err(lost.clone())));
                continue;
            }
            results.extend(self.transaction(out, &mail, recipients).await);
        }
        results
    }

    async fn transaction(
        &mut self,
        out: &Outgoing<'_>,
        mail: &MailParams,
        recipients: &[(String, RcptParams)],
    ) -> Vec<Delivery> {
        let envelope = match self.envelope(out.from, mail, recipients).await {
            Ok(envelope) => envelope,
            Err(e) => return vec![Err(e); recipients.len()],
        };
        let data = self.data(out.message, &envelope).await;
        envelope
            .recipients
            .into_iter()
            .map(|reply| match reply.is_positive() {
                true => data.clone(),
                false => Err(ClientError::Rejected {
                    stage: Stage::RcptTo,
                    reply,
                }),
            })
            .collect()
    }

    /// MAIL FROM and the RCPT TOs: in one write with DATA after them where the
    /// server pipelines, one at a time otherwise.
    async fn envelope(
        &mut self,
        from: &str,
        mail: &MailParams,
        recipients: &[(String, RcptParams)],
    ) -> Result<Envelope, ClientError> {
        let mail_line = format!("MAIL FROM:<{from}>{mail}\r\n");
        let rcpt_lines: Vec<String> = recipients
            .iter()
            .map(|(to, params)| format!("RCPT TO:<{to}>{}\r\n", self.rcpt_params(params)))
            .collect();
        if !self.extensions.pipelining {
            return self.envelope_in_step(&mail_line, &rcpt_lines).await;
        }
        let mut batch = mail_line + &rcpt_lines.concat();
        let bdat = self.extensions.chunking;
        if !bdat {
            batch.push_str("DATA\r\n");
        }
        let written = self.write(Stage::MailFrom, batch.as_bytes()).await;
        // A server that refuses MAIL FROM may close at once, failing the write:
        // its reply says why, the write error does not.
        let mail_reply = match self.reply(Stage::MailFrom).await {
            Ok(reply) => reply,
            Err(e) => return Err(written.err().unwrap_or(e)),
        };
        if !mail_reply.is_positive() {
            // The pipelined commands' replies are still coming; the session is
            // not worth resynchronizing.
            self.unusable = true;
            return Err(ClientError::Rejected {
                stage: Stage::MailFrom,
                reply: mail_reply,
            });
        }
        written?;
        let mut envelope = Envelope {
            recipients: Vec::with_capacity(recipients.len()),
            data: None,
        };
        for _ in recipients {
            envelope.recipients.push(self.reply(Stage::RcptTo).await?);
        }
        if !bdat {
            envelope.data = Some(self.reply(Stage::Data).await?);
        }
        Ok(envelope)
    }

    async fn envelope_in_step(
        &mut self,
        mail_line: &str,
        rcpt_lines: &[String],
    ) -> Result<Envelope, ClientError> {
        self.write(Stage::MailFrom, mail_line.as_bytes()).await?;
        let reply = self.reply(Stage::MailFrom).await?;
        if !reply.is_positive() {
            return Err(ClientError::Rejected {
                stage: Stage::MailFrom,
                reply,
            });
        }
        let mut recipients = Vec::with_capacity(rcpt_lines.len());
        for line in rcpt_lines {
            self.write(Stage::RcptTo, line.as_bytes()).await?;
            recipients.push(self.reply(Stage::RcptTo).await?);
        }
        Ok(Envelope {
            recipients,
            data: None,
        })
    }

    /// Sends the message after the envelope; the server's final reply, or why
    /// the message was not taken.
    async fn data(&mut self, message: &[u8], envelope: &Envelope) -> Delivery {
        let accepted = envelope.accepted();
        if self.extensions.chunking {
            if !accepted {
                return self.reset().await;
            }
            let mut chunk = format!("BDAT {} LAST\r\n", message.len()).into_bytes();
            chunk.extend_from_slice(message);
            self.write(Stage::Data, &chunk).await?;
            return self.final_reply().await;
        }
        let reply = match &envelope.data {
            Some(reply) => reply.clone(),
            None if accepted => {
                self.write(Stage::Data, b"DATA\r\n").await?;
                self.reply(Stage::Data).await?
            }
            None => return self.reset().await,
        };
        match (reply.code, accepted) {
            (354, true) => {
                self.write(Stage::EndOfData, &dot_stuff(message)).await?;
                self.final_reply().await
            }
            // RFC 2920 3.1: DATA taken with no recipient: end it at once.
            (354, false) => {
                self.write(Stage::EndOfData, b".\r\n").await?;
                self.reply(Stage::EndOfData).await?;
                Err(no_recipients())
            }
            (_, false) => Err(no_recipients()),
            (_, true) => Err(ClientError::Rejected {
                stage: Stage::Data,
                reply,
            }),
        }
    }

    async fn final_reply(&mut self) -> Delivery {
        let reply = self.reply(Stage::EndOfData).await?;
        match reply.is_positive() {
            true => Ok(reply),
            false => Err(ClientError::Rejected {
                stage: Stage::EndOfData,
                reply,
            }),
        }
    }

    /// Ends a transaction in which no recipient was taken.
    async fn reset(&mut self) -> Delivery {
        self.write(Stage::Data, b"RSET\r\n").await?;
        self.reply(Stage::Data).await?;
        Err(no_recipients())
    }

    /// MAIL FROM's parameters for `out`, or why this server cannot take it.
    fn mail_params(&self, out: &Outgoing<'_>) -> Result<MailParams, ClientError> {
        let server = &self.options.server_name;
        let ext = &self.extensions;
        let size = out.message.len() as u64;
        let eight_bit = !out.message.is_ascii();
        let smtputf8 = out.smtputf8
            || !out.from.is_ascii()
            || out.recipients.iter().any(|(to, _)| !to.is_ascii());
        if smtputf8 && !ext.smtputf8 {
            return Err(unsupported(
                Enhanced(5, 6, 7),
                format!("{server} does not announce SMTPUTF8 (RFC 6531), which this message needs"),
            ));
        }
        if eight_bit && !ext.eight_bit_mime {
            return Err(unsupported(
                Enhanced(5, 6, 3),
                format!("{server} does not announce 8BITMIME, and this message has 8-bit data"),
            ));
        }
        if let Some(max) = ext.size.filter(|&max| max > 0 && size > max) {
            return Err(unsupported(
                Enhanced(5, 3, 4),
                format!("the message ({size} octets) is larger than {server} takes ({max} octets)"),
            ));
        }
        if out.requiretls && !(ext.requiretls && self.tls().is_some()) {
            return Err(unsupported(
                Enhanced(5, 7, 30),
                format!(
                    "the message requires TLS (RFC 8689), and {server} does not offer REQUIRETLS over TLS"
                ),
            ));
        }
        Ok(MailParams {
            size: ext.size.map(|_| size),
            body: eight_bit.then_some(Body::EightBitMime),
            smtputf8,
            ret: out.ret.filter(|_| ext.dsn),
            envid: out.envid.clone().filter(|_| ext.dsn),
            requiretls: out.requiretls,
            ..MailParams::default()
        })
    }

    /// NOTIFY and ORCPT go only to servers that announce DSN (RFC 3461 4).
    fn rcpt_params(&self, params: &RcptParams) -> RcptParams {
        match self.extensions.dsn {
            true => params.clone(),
            false => RcptParams::default(),
        }
    }
}

/// The failure for a message needing what the server lacks.
fn unsupported(enhanced: Enhanced, reason: String) -> ClientError {
    ClientError::Unsupported { enhanced, reason }
}

fn no_recipients() -> ClientError {
    ClientError::Protocol {
        stage: Stage::Data,
        reason: "no recipient was accepted".into(),
    }
}
