//! Setting up a session: greeting, EHLO (HELO for old servers), STARTTLS and
//! AUTH, as [`Options`] ask.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::ClientConfig;

use super::connection::{Connection, Stream};
use super::error::{ClientError, Stage};
use crate::sasl::{ClientCredentials, ClientExchange, Mechanism, NonceSource};
use crate::smtp::{Extensions, Reply};

/// Whether and how the session is encrypted.
#[derive(Clone)]
pub enum Tls {
    /// Plain text throughout.
    Off,
    /// STARTTLS (RFC 3207) with this config when the server offers it; when
    /// `required`, a server without it fails the session.
    StartTls {
        config: Arc<ClientConfig>,
        required: bool,
    },
    /// TLS from the first byte (RFC 8314, port 465).
    Immediate(Arc<ClientConfig>),
}

/// What a session is set up with.
#[derive(Clone)]
pub struct Options {
    /// This host's name, for EHLO.
    pub ehlo_name: String,
    /// The server's name, to check its certificate against and to show.
    pub server_name: String,
    pub tls: Tls,
    /// Log in with these (RFC 4954), choosing the strongest mechanism offered.
    pub auth: Option<ClientCredentials>,
    /// One limit for every wait instead of RFC 5321 4.5.3.2's (tests).
    pub timeout: Option<Duration>,
}

impl Options {
    /// How long to wait at `stage`: RFC 5321 4.5.3.2's minimums.
    pub(super) fn limit(&self, stage: Stage) -> Duration {
        let minutes = match stage {
            Stage::Data => 2,
            Stage::EndOfData => 10,
            _ => 5,
        };
        self.timeout.unwrap_or(Duration::from_secs(minutes * 60))
    }
}

/// A session, set up and ready for transactions (see `send`).
pub struct Client {
    pub(super) connection: Connection,
    pub(super) options: Options,
    pub(super) extensions: Extensions,
    /// Set once the session can no longer be used (a broken connection, a
    /// transaction left half done).
    pub(super) unusable: bool,
}

impl Client {
    /// Greets, says EHLO, starts TLS and logs in as `options` ask.
    pub async fn start(
        stream: impl Stream + 'static,
        options: Options,
    ) -> Result<Client, ClientError> {
        let mut connection = Connection::new(Box::new(stream));
        if let Tls::Immediate(config) = &options.tls {
            connection
                .start_tls(Arc::clone(config), &options.server_name)
                .await?;
        }
        let mut client = Client {
            connection,
            options,
            extensions: Extensions::default(),
            unusable: false,
        };
        match client.set_up().await {
            Ok(()) => Ok(client),
            Err(e) => {
                // A server that said no is still listening: say goodbye (RFC 5321 3.1).
                client.unusable |= !matches!(e, ClientError::Rejected { .. });
                client.quit().await;
                Err(e)
            }
        }
    }

    async fn set_up(&mut self) -> Result<(), ClientError> {
        let greeting = self.reply(Stage::Greeting).await?;
        if greeting.code != 220 {
            return Err(ClientError::Rejected {
                stage: Stage::Greeting,
                reply: greeting,
            });
        }
        self.hello().await?;
        self.start_tls().await?;
        if let Some(credentials) = self.options.auth.clone() {
            self.authenticate(&credentials).await?;
        }
        Ok(())
    }

    /// What the server announced.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The TLS version and cipher suite, when encrypted.
    pub fn tls(&self) -> Option<&str> {
        self.connection
            .tls
            .as_ref()
            .map(|(summary, _)| summary.as_str())
    }

    /// Whether another transaction may be sent on this session.
    pub fn is_usable(&self) -> bool {
        !self.unusable
    }

    /// Says QUIT and closes; the reply does not matter any more.
    pub async fn quit(mut self) {
        if !self.unusable {
            let short = Duration::from_secs(30).min(self.options.limit(Stage::Connect));
            if self
                .connection
                .send(Stage::Connect, b"QUIT\r\n", short)
                .await
                .is_ok()
            {
                let _ = self.connection.reply(Stage::Connect, short).await;
            }
        }
        self.connection.close().await;
    }

    pub(super) async fn reply(&mut self, stage: Stage) -> Result<Reply, ClientError> {
        let limit = self.options.limit(stage);
        let result = self.connection.reply(stage, limit).await;
        self.unusable |= result.is_err();
        result
    }

    pub(super) async fn write(&mut self, stage: Stage, bytes: &[u8]) -> Result<(), ClientError> {
        let limit = self.options.limit(stage);
        let result = self.connection.send(stage, bytes, limit).await;
        self.unusable |= result.is_err();
        result
    }

    /// Sends one command line and reads its reply.
    async fn command(&mut self, stage: Stage, line: &str) -> Result<Reply, ClientError> {
        self.write(stage, format!("{line}\r\n").as_bytes()).await?;
        self.reply(stage).await
    }

    /// EHLO, or HELO where the server does not know EHLO (RFC 5321 3.2).
    async fn hello(&mut self) -> Result<(), ClientError> {
        let name = self.options.ehlo_name.clone();
        let reply = self.command(Stage::Ehlo, &format!("EHLO {name}")).await?;
        if reply.code == 250 {
            self.extensions = Extensions::from_ehlo(&reply);
            return Ok(());
        }
        if !matches!(reply.code, 500 | 502 | 504 | 550) {
            return Err(ClientError::Rejected {
                stage: Stage::Ehlo,
                reply,
            });
        }
        let reply = self.command(Stage::Ehlo, &format!("HELO {name}")).await?;
        self.extensions = Extensions::default();
        match reply.code {
            250 => Ok(()),
            _ => Err(ClientError::Rejected {
                stage: Stage::Ehlo,
                reply,
            }),
        }
    }

    /// STARTTLS and a new EHLO, as the options ask and the server allows.
    async fn start_tls(&mut self) -> Result<(), ClientError> {
        let Tls::StartTls { config, required } = self.options.tls.clone() else {
            return Ok(());
        };
        if !self.extensions.starttls {
            return match required {
                true => Err(ClientError::Tls(format!(
                    "{} does not offer STARTTLS, and TLS is required",
                    self.options.server_name
                ))),
                false => Ok(()),
            };
        }
        let reply = self.command(Stage::StartTls, "STARTTLS").await?;
        if reply.code != 220 {
            return Err(ClientError::Rejected {
                stage: Stage::StartTls,
                reply,
            });
        }
        let name = self.options.server_name.clone();
        let started = self.connection.start_tls(config, &name).await;
        self.unusable |= started.is_err();
        started?;
        self.hello().await
    }

    /// AUTH (RFC 4954) with the strongest mechanism both sides have. PLAIN and
    /// LOGIN show the password to anyone listening, so they are used over TLS
    /// only.
    async fn authenticate(&mut self, credentials: &ClientCredentials) -> Result<(), ClientError> {
        let binding = self.connection.tls.as_ref().and_then(|(_, b)| b.clone());
        let encrypted = self.connection.tls.is_some();
        let mechanism = Mechanism::ALL
            .into_iter()
            .filter(|m| *m != Mechanism::External)
            .filter(|m| encrypted || !matches!(m, Mechanism::Plain | Mechanism::Login))
            .filter(|m| {
                binding.is_some()
                    || !matches!(m, Mechanism::ScramSha256Plus | Mechanism::ScramSha1Plus)
            })
            .find(|m| self.extensions.auth.iter().any(|a| a == m.name()))
            .ok_or_else(|| {
                ClientError::Auth(format!(
                    "no usable mechanism among those offered ({}){}",
                    self.extensions.auth.join(" "),
                    if encrypted {
                        ""
                    } else {
                        "; PLAIN and LOGIN need TLS"
                    }
                ))
            })?;
        let mut exchange = ClientExchange::new(
            mechanism,
            credentials,
            binding.as_deref(),
            &NonceSource::Random,
        )
        .map_err(|e| ClientError::Auth(e.to_string()))?;
        let mut line = format!("AUTH {}", mechanism.name());
        if let Some(initial) = exchange.initial_response() {
            line.push(' ');
            line.push_str(&encode(&initial));
        }
        let mut reply = self.command(Stage::Auth, &line).await?;
        while reply.code == 334 {
            let challenge = STANDARD
                .decode(reply.lines.first().map_or("", |l| l.trim()))
                .map_err(|_| ClientError::Auth("the server's challenge is not base64".into()))?;
            match exchange.respond(&challenge) {
                Ok(answer) => reply = self.command(Stage::Auth, &STANDARD.encode(answer)).await?,
                Err(e) => {
                    // "*" cancels the exchange (RFC 4954 4).
                    self.command(Stage::Auth, "*").await?;
                    return Err(ClientError::Auth(e.to_string()));
                }
            }
        }
        if reply.code != 235 {
            return Err(ClientError::Rejected {
                stage: Stage::Auth,
                reply,
            });
        }
        // SCRAM: the server must have proved it knows the password.
        exchange.finish().map_err(|e| {
            self.unusable = true;
            ClientError::Auth(format!("the server's proof failed: {e}"))
        })
    }
}

/// An initial response: base64, or "=" for an empty one (RFC 4954 4).
fn encode(bytes: &[u8]) -> String {
    match bytes.is_empty() {
        true => "=".into(),
        false => STANDARD.encode(bytes),
    }
}
