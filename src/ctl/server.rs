//! The server side: accepts connections on the socket and does what each asks,
//! on the blocking pool (the queue's database is synchronous).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{Answer, Request, Response};
use crate::queue::Queue;
use crate::store::StoreError;
use crate::store::outbox::Suppressed;

/// A request is one line of JSON, never near this long.
const MAX_REQUEST: u64 = 1 << 20;
/// A client that sends nothing for this long is dropped.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Binds the control socket at `path`. A socket file left by a server that is
/// gone is replaced; one with a server behind it is an error.
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "{}: another server is running with this data directory",
                path.display()
            ),
        ));
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Why a request was not done.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no message {0} in the queue")]
    NotQueued(i64),
}

/// What the socket can change: the queue, with its hold rules and
/// suppression lists.
pub struct Control {
    pub queue: Arc<Queue>,
}

impl Control {
    /// Serves `listener` until the runtime shuts down.
    pub async fn serve(self: Arc<Self>, listener: UnixListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(Arc::clone(&self).connection(stream));
                }
                Err(e) => {
                    tracing::error!(error = %e, "accepting on the control socket");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn connection(self: Arc<Self>, stream: UnixStream) {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let mut reader = BufReader::new(read.take(MAX_REQUEST));
        let response = match tokio::time::timeout(TIMEOUT, reader.read_line(&mut line)).await {
            Err(_) => Err("no request within 30 seconds".to_string()),
            Ok(Err(e)) => Err(format!("reading the request: {e}")),
            Ok(Ok(_)) => match serde_json::from_str::<Request>(&line) {
                Ok(req) => self.answer(req).await,
                Err(e) => Err(format!("bad request: {e}")),
            },
        };
        let mut out = serde_json::to_vec(&response).unwrap_or_else(|e| {
            let failed: Response = Err(format!("writing the answer: {e}"));
            serde_json::to_vec(&failed).unwrap_or_default()
        });
        out.push(b'\n');
        if let Err(e) = write.write_all(&out).await {
            tracing::debug!(error = %e, "control client went away");
        }
    }

    async fn answer(self: &Arc<Self>, req: Request) -> Response {
        tracing::info!(request = ?req, "control request");
        let control = Arc::clone(self);
        match tokio::task::spawn_blocking(move || control.handle(req)).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the request failed: {e}")),
        }
    }

    fn handle(&self, req: Request) -> Result<Answer, Refusal> {
        let q = &self.queue;
        let count = |n| Answer::Count { n };
        let changed = |changed| Answer::Changed { changed };
        Ok(match req {
            Request::QueueList { filter } => Answer::Queued {
                recipients: q.list(&filter)?,
            },
            Request::RetiredList { filter } => Answer::Retired {
                recipients: q.list_retired(&filter)?,
            },
            Request::QueueHold { filter } => count(q.hold(&filter, true)?),
            Request::QueueRelease { filter } => count(q.hold(&filter, false)?),
            Request::QueueSchedule {
                filter,
                delay_seconds,
            } => {
                let delay = i64::try_from(delay_seconds).unwrap_or(i64::MAX / 2);
                count(q.schedule(&filter, crate::message::now().saturating_add(delay))?)
            }
            Request::QueueFail { filter } => count(q.fail(&filter)?),
            Request::QueueDrop { filter } => count(q.drop_recipients(&filter)?),
            Request::QueueDump { message } => match q.dump(message)? {
                Some(data) => Answer::Message {
                    base64: base64::engine::general_purpose::STANDARD.encode(data),
                },
                None => return Err(Refusal::NotQueued(message)),
            },
            Request::HoldRules => Answer::HoldRules {
                rules: q.outbox().hold_rules()?,
            },
            Request::HoldRuleAdd { rule } => Answer::HoldRule {
                rule: q.outbox().add_hold_rule(&rule)?,
            },
            Request::HoldRuleRemove { id } => changed(q.outbox().remove_hold_rule(id)?),
            Request::Suppressions { account } => Answer::Suppressions {
                entries: q.outbox().suppressions(account.as_deref())?,
            },
            Request::SuppressAdd { account, address } => {
                changed(q.outbox().suppress(&Suppressed {
                    account,
                    address,
                    reason: "added by the administrator".into(),
                    manual: true,
                    created: crate::message::now(),
                })?)
            }
            Request::SuppressRemove { account, address } => {
                changed(q.outbox().unsuppress(&account, &address)?)
            }
        })
    }
}
