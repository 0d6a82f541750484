//! Message files: one file per message, written durably before the database row that
//! refers to it commits.
//!
//! A message is first written to `tmp/` (staging). Inside the database transaction
//! that inserts its row it is renamed to `msg/<shard>/<id>`; then the file and the
//! shard directory are fsynced, all of a delivery's at once, and only then does the
//! transaction commit. A crash before the commit leaves a file no row refers to, which
//! the recovery pass at open removes; a crash after it loses nothing. A copy to another
//! mailbox is a hard link.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;

use rand::RngExt;

use super::types::MessageId;

/// Messages per shard directory, so no directory grows huge.
const SHARD_SIZE: i64 = 4096;

/// At most this many threads fsync a delivery's files. Fsyncs issued together are
/// served together by the disk, so a batch costs far less than its fsyncs one after
/// another (ten times less for 100 files on the benchmark's disk); the bound keeps a
/// large batch from starting hundreds of threads.
const SYNC_THREADS: usize = 16;

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

    /// Writes `data` to a new temporary file. It is not fsynced yet: [`Files::sync`]
    /// does that when it is delivered, together with the other files and directories
    /// of the delivery, which costs one round trip to the disk instead of several.
    pub fn stage(&self, data: &[u8]) -> io::Result<PathBuf> {
        fs::create_dir_all(&self.tmp)?;
        let name: u64 = rand::rng().random();
        let path = self.tmp.join(format!("{name:016x}"));
        let mut f = File::options().write(true).create_new(true).open(&path)?;
        f.write_all(data)?;
        Ok(path)
    }

    /// Moves a staged file to its place for `id`. The caller makes it durable with
    /// [`Files::sync`] before committing.
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

    /// Makes the files of `written` (installed staged files) and the directory entries
    /// of `placed` (installed or linked) durable: fsyncs those files and the shard
    /// directories, concurrently. Returns when all are done, or the first error.
    pub fn sync(&self, written: &[MessageId], placed: &[MessageId]) -> io::Result<()> {
        let mut shards: Vec<i64> = placed.iter().map(|id| id.0 / SHARD_SIZE).collect();
        shards.sort_unstable();
        shards.dedup();
        let dirs = shards.iter().map(|s| self.msg.join(format!("{s:x}")));
        let paths: Vec<PathBuf> = written
            .iter()
            .map(|id| self.path(*id))
            .chain(dirs)
            .collect();
        sync_concurrently(&paths)
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
    fsync(dir)
}

/// Fsyncs a file or a directory; opening it read-only is enough.
fn fsync(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Fsyncs `paths` spread over up to [`SYNC_THREADS`] threads (this one included),
/// because fsyncs issued one after the other each wait for the disk in turn.
fn sync_concurrently(paths: &[PathBuf]) -> io::Result<()> {
    let each = |chunk: &[PathBuf]| chunk.iter().try_for_each(|p| fsync(p));
    if paths.len() <= 1 {
        return each(paths);
    }
    let per_thread = paths.len().div_ceil(SYNC_THREADS);
    thread::scope(|scope| {
        let mut chunks = paths.chunks(per_thread);
        let own = chunks.next().expect("more than one path");
        let others: Vec<_> = chunks
            .map(|chunk| scope.spawn(move || each(chunk)))
            .collect();
        let mut result = each(own);
        for handle in others {
            let theirs = handle
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            result = result.and(theirs);
        }
        result
    })
}
