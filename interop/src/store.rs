//! Reading what `gannet export maildir` wrote: a Maildir++ tree with the inbox at its
//! root and one `.Name` folder per other mailbox, flags in the file names.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub mailbox: String,
    /// Maildir flag letters, sorted: D(raft) F(lagged) R(eplied, \Answered) S(een)
    /// T(rashed, \Deleted).
    pub flags: String,
    pub content: String,
    /// The file it was read from.
    pub path: PathBuf,
}

impl StoredMessage {
    /// The first Subject header's value.
    pub fn subject(&self) -> &str {
        header(&self.content, "Subject").unwrap_or("")
    }

    pub fn has_flag(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
}

/// The value of the first header field `name` in `message` (unfolded lines only,
/// enough for the messages these tests write). Lines may end in CRLF or, as in a
/// client's Maildir, in LF.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

pub fn read_maildir_tree(root: &Path) -> Vec<StoredMessage> {
    let mut messages = read_maildir(root, "INBOX");
    let mut folders: Vec<_> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with('.'))
        .collect();
    folders.sort();
    for folder in folders {
        let mailbox = folder[1..].replace('.', "/");
        messages.extend(read_maildir(&root.join(&folder), &mailbox));
    }
    messages
}

/// The messages of one Maildir. For the export this is the store's order: it names
/// files `<internal date>.<id>.gannet`, and ids grow with each delivery or append.
pub fn read_maildir(dir: &Path, mailbox: &str) -> Vec<StoredMessage> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let mut flags: Vec<char> = name
                .split_once(":2,")
                .map(|(_, f)| f.chars().collect())
                .unwrap_or_default();
            flags.sort();
            let bytes = std::fs::read(entry.path()).expect("read a message file");
            found.push((
                order_key(&name),
                StoredMessage {
                    mailbox: mailbox.to_string(),
                    flags: flags.into_iter().collect(),
                    content: String::from_utf8_lossy(&bytes).into_owned(),
                    path: entry.path(),
                },
            ));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, m)| m).collect()
}

fn order_key(name: &str) -> (u64, u64, String) {
    let mut parts = name.split('.');
    let first = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let second = parts
        .next()
        .and_then(|p| p.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (second, first, name.to_string())
}
