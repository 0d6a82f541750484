//! The client side, for the command line: blocking, one request at a time.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::{Answer, Request, Response};

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error(
        "cannot reach the running server at {path}: {source}; is `gannet serve` (or `gannet localserve`) running with this configuration?"
    )]
    Unreachable {
        path: String,
        source: std::io::Error,
    },
    #[error("talking to the server at {path}: {reason}")]
    Exchange { path: String, reason: String },
    /// The server could not do what was asked.
    #[error("{0}")]
    Refused(String),
}

/// Sends `req` to the server listening at `path` and returns its answer.
pub fn request(path: &Path, req: &Request) -> Result<Answer, CtlError> {
    let shown = path.display().to_string();
    let stream = UnixStream::connect(path).map_err(|source| CtlError::Unreachable {
        path: shown.clone(),
        source,
    })?;
    let exchange = |reason: String| CtlError::Exchange {
        path: shown.clone(),
        reason,
    };
    let mut line = serde_json::to_vec(req).map_err(|e| exchange(e.to_string()))?;
    line.push(b'\n');
    (&stream)
        .write_all(&line)
        .map_err(|e| exchange(e.to_string()))?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .map_err(|e| exchange(e.to_string()))?;
    if reply.is_empty() {
        return Err(exchange(
            "the server closed the connection without an answer".into(),
        ));
    }
    let response: Response =
        serde_json::from_str(&reply).map_err(|e| exchange(format!("unreadable answer: {e}")))?;
    response.map_err(CtlError::Refused)
}
