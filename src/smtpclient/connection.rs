//! The bytes of a client session: replies read line by line (bounded), commands
//! written, TLS started on the same stream.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::error::{ClientError, Stage};
use crate::smtp::{Reply, ReplyLine};

/// A stream the client can talk over: TCP, TLS, or a test's pipe.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers exceed it, so
/// the client takes more, but not without bound.
const MAX_REPLY_LINE: usize = 8192;
const MAX_REPLY_LINES: usize = 256;

/// RFC 9266: the `tls-exporter` channel binding, for SCRAM-*-PLUS.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

pub(super) struct Connection {
    /// `None` only while TLS is being started, or after that failed.
    stream: Option<Box<dyn Stream>>,
    /// Received bytes not yet taken as a line.
    buffer: Vec<u8>,
    /// After STARTTLS: the negotiated version and suite, and the channel binding
    /// where sound (TLS 1.3).
    pub(super) tls: Option<(String, Option<Vec<u8>>)>,
}

impl Connection {
    pub(super) fn new(stream: Box<dyn Stream>) -> Connection {
        Connection {
            stream: Some(stream),
            buffer: Vec::new(),
            tls: None,
        }
    }

    fn stream(&mut self, stage: Stage) -> Result<&mut Box<dyn Stream>, ClientError> {
        self.stream.as_mut().ok_or_else(|| ClientError::Connection {
            stage,
            reason: "the connection was lost starting TLS".into(),
        })
    }

    /// Reads one whole reply, within `limit`.
    pub(super) async fn reply(
        &mut self,
        stage: Stage,
        limit: Duration,
    ) -> Result<Reply, ClientError> {
        match tokio::time::timeout(limit, self.read_reply(stage)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                stage,
                seconds: limit.as_secs(),
            }),
        }
    }

    async fn read_reply(&mut self, stage: Stage) -> Result<Reply, ClientError> {
        let protocol = |reason: String| ClientError::Protocol { stage, reason };
        let mut lines = Vec::new();
        loop {
            let text = self.line(stage).await?;
            let line = ReplyLine::parse(&text).map_err(|e| {
                let shown: String = text.chars().take(80).collect();
                protocol(format!("malformed reply line {shown:?}: {e}"))
            })?;
            let more = line.more;
            lines.push(line);
            if !more {
                return Reply::from_lines(&lines).map_err(|e| protocol(e.to_string()));
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(protocol(format!(
                    "a reply of more than {MAX_REPLY_LINES} lines"
                )));
            }
        }
    }

    /// One line without its line ending. A bare LF ends a line too: the client
    /// only reads replies, and gains nothing by refusing a sloppy server.
    /// Text that is not UTF-8 is shown with replacement characters.
    async fn line(&mut self, stage: Stage) -> Result<String, ClientError> {
        loop {
            if let Some(lf) = self.buffer.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=lf).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buffer.len() > MAX_REPLY_LINE {
                return Err(ClientError::Protocol {
                    stage,
                    reason: format!("a reply line longer than {MAX_REPLY_LINE} octets"),
                });
            }
            let mut chunk = [0; 4096];
            let n = self
                .stream(stage)?
                .read(&mut chunk)
                .await
                .map_err(|e| broken(stage, &e))?;
            if n == 0 {
                return Err(ClientError::Connection {
                    stage,
                    reason: "the server closed the connection".into(),
                });
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Writes and flushes `bytes`, within `limit`.
    pub(super) async fn send(
        &mut self,
        stage: Stage,
        bytes: &[u8],
        limit: Duration,
    ) -> Result<(), ClientError> {
        let stream = self.stream(stage)?;
        let write = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(limit, write).await {
            Ok(result) => result.map_err(|e| broken(stage, &e)),
            Err(_) => Err(ClientError::Timeout {
                stage,
                seconds: limit.as_secs(),
            }),
        }
    }

    /// Starts TLS on the stream. Bytes the server sent after its 220 to
    /// STARTTLS would be taken as if they came over TLS: that is an injection
    /// (CVE-2011-0411's mirror image), so it fails the session.
    pub(super) async fn start_tls(
        &mut self,
        config: Arc<ClientConfig>,
        server_name: &str,
    ) -> Result<(), ClientError> {
        if !self.buffer.is_empty() {
            return Err(ClientError::Protocol {
                stage: Stage::StartTls,
                reason: "the server sent data after its reply to STARTTLS".into(),
            });
        }
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| ClientError::Tls(format!("{server_name:?} is not a server name: {e}")))?;
        let stream = self
            .stream
            .take()
            .ok_or_else(|| ClientError::Tls("no connection".into()))?;
        let tls = TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| ClientError::Tls(format!("handshake with {server_name} failed: {e}")))?;
        let conn = tls.get_ref().1;
        let summary = match (conn.protocol_version(), conn.negotiated_cipher_suite()) {
            (Some(version), Some(suite)) => crate::tls::summary(version, suite.suite()),
            _ => String::new(),
        };
        let binding = (conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3))
            .then(|| {
                conn.export_keying_material([0; 32], EXPORTER_LABEL, None)
                    .ok()
            })
            .flatten()
            .map(|b| b.to_vec());
        self.tls = Some((summary, binding));
        self.stream = Some(Box::new(tls));
        Ok(())
    }

    pub(super) async fn close(&mut self) {
        if let Some(stream) = self.stream.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.shutdown()).await;
        }
    }
}

fn broken(stage: Stage, e: &io::Error) -> ClientError {
    ClientError::Connection {
        stage,
        reason: e.to_string(),
    }
}
