//! The control socket, `DATA_DIR/ctl`: how `gannet queue ...` reaches the
//! running server, whose queue it manages. A Unix socket only the server's
//! user may open (mode 0600); one request per connection, one JSON line each
//! way.

mod client;
mod server;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::outbox::{Filter, HoldRule, Queued, Retired, Suppressed};

pub use client::{CtlError, request};
pub use server::{Control, listen};

/// Where the control socket of the server with `data_dir` is.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ctl")
}

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    QueueList {
        filter: Filter,
    },
    RetiredList {
        filter: Filter,
    },
    QueueHold {
        filter: Filter,
    },
    QueueRelease {
        filter: Filter,
    },
    /// Due `delay_seconds` from now.
    QueueSchedule {
        filter: Filter,
        delay_seconds: u64,
    },
    QueueFail {
        filter: Filter,
    },
    QueueDrop {
        filter: Filter,
    },
    QueueDump {
        message: i64,
    },
    HoldRules,
    HoldRuleAdd {
        rule: HoldRule,
    },
    HoldRuleRemove {
        id: i64,
    },
    /// Of one account, or of all.
    Suppressions {
        account: Option<String>,
    },
    SuppressAdd {
        account: String,
        address: String,
    },
    SuppressRemove {
        account: String,
        address: String,
    },
}

/// What the server answers when it could do what was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Answer {
    Queued {
        recipients: Vec<Queued>,
    },
    Retired {
        recipients: Vec<Retired>,
    },
    /// How many recipients changed.
    Count {
        n: usize,
    },
    /// A queued message, base64 (messages need not be UTF-8).
    Message {
        base64: String,
    },
    HoldRules {
        rules: Vec<HoldRule>,
    },
    HoldRule {
        rule: HoldRule,
    },
    Suppressions {
        entries: Vec<Suppressed>,
    },
    /// Whether a rule or list entry was added or removed (false: there was
    /// nothing to do).
    Changed {
        changed: bool,
    },
}

/// The answer, or what went wrong, in words for the operator.
pub type Response = Result<Answer, String>;
