//! Message files: one file per message, written durably before the database row that
//! refers to it commits.
//!
//! A message is first written to `tmp/` and fsynced (staging). Inside the database
//! transaction that inserts its row it is renamed to `msg/<shard>/<id>` and the
//! directory is fsynced; then the transaction commits. A crash before the commit leaves
//! a file no row refers to, which the recovery pass at open removes; a crash after it
//! loses nothing. A copy to another mailbox is a hard link.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand::RngExt;

use super::types::MessageId;

/// Messages per shard directory, so no directory grows huge.
const SHARD_SIZE: i64 = 4096;

#[derive(Debug, Clone)]
pub struct Files {
    msg: PathBuf,
    tmp: PathBuf,
}

impl Files {
    pub fn new(account_dir: &Path) -> Files {
        Files {
            msg: account_dir.join("msg"),
            tmp: account_dir.join("tmp"),
        }
    }

    /// The directory message files live in, for error messages.
    pub fn dir(&self) -> &Path {
        &self.msg
    }

    pub fn path(&self, id: MessageId) -> PathBuf {
        self.msg
            .join(format!("{:x}", id.0 / SHARD_SIZE))
            .join(id.0.to_string())
    }

    /// Writes `data` to a new temporary file and fsyncs it.
    pub fn stage(&self, data: &[u8]) -> io::Result<PathBuf> {
        fs::create_dir_all(&self.tmp)?;
        let name: u64 = rand::rng().random();
        let path = self.tmp.join(format!("{name:016x}"));
        let mut f = File::options().write(true).create_new(true).open(&path)?;
        f.write_all(data)?;
        f.sync_all()?;
        Ok(path)
    }

    /// Moves a staged file to its place for `id`. The caller fsyncs the directories
    /// with [`Files::sync`] before committing.
    pub fn install(&self, staged: &Path, id: MessageId) -> io::Result<()> {
        let path = self.path(id);
        self.ensure_shard(&path)?;
        fs::rename(staged, path)
    }

    /// Hard-links the file of `from` as the file of `to`.
    pub fn link(&self, from: MessageId, to: MessageId) -> io::Result<()> {
        let path = self.path(to);
        self.ensure_shard(&path)?;
        fs::hard_link(self.path(from), path)
    }

    fn ensure_shard(&self, path: &Path) -> io::Result<()> {
        let shard = path.parent().expect("message paths have a shard");
        if !shard.exists() {
            fs::create_dir_all(shard)?;
            // The new shard's own entry must be durable too.
            sync_dir(&self.msg)?;
        }
        Ok(())
    }

    /// Fsyncs the shard directories of `ids`, making their renames and links durable.
    pub fn sync(&self, ids: impl IntoIterator<Item = MessageId>) -> io::Result<()> {
        let mut shards: Vec<i64> = ids.into_iter().map(|id| id.0 / SHARD_SIZE).collect();
        shards.sort_unstable();
        shards.dedup();
        for shard in shards {
            sync_dir(&self.msg.join(format!("{shard:x}")))?;
        }
        Ok(())
    }

    /// Removes the file of `id`; a file already gone is not an error.
    pub fn remove(&self, id: MessageId) -> io::Result<()> {
        match fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes the files of messages no longer referenced. Failures only leave
    /// orphans, which the next recovery pass removes, so they are logged, not returned.
    pub fn remove_all(&self, ids: &[MessageId]) {
        for id in ids {
            if let Err(e) = self.remove(*id) {
                tracing::warn!(file = %self.path(*id).display(), error = %e, "cannot remove message file; recovery will");
            }
        }
    }

    /// Every message file present, by id.
    pub fn list(&self) -> io::Result<Vec<MessageId>> {
        let mut ids = Vec::new();
        let shards = match fs::read_dir(&self.msg) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(e),
        };
        for shard in shards {
            for file in fs::read_dir(shard?.path())? {
                let name = file?.file_name();
                if let Some(id) = name.to_str().and_then(|n| n.parse().ok()) {
                    ids.push(MessageId(id));
                }
            }
        }
        Ok(ids)
    }

    /// Removes staged files left by a crash; returns how many there were.
    pub fn clear_tmp(&self) -> io::Result<usize> {
        let entries = match fs::read_dir(&self.tmp) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut n = 0;
        for entry in entries {
            fs::remove_file(entry?.path())?;
            n += 1;
        }
        Ok(n)
    }
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
