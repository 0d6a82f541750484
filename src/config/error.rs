//! Config errors: each names the file, the key path and, where there is one, a fix.

use std::fmt;

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in a file, shown as TOML would address it:
/// `accounts.alice.destinations[2]`, `domains."example.org".description`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path extended by a table key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?
                    } else {
                        write!(f, "{k:?}")?
                    }
                }
            }
        }
        Ok(())
    }
}

/// A problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file's name as the operator knows it (`gannet.toml`, `domains.toml`).
    pub file: String,
    /// Where in the file; empty for the file as a whole.
    pub key: KeyPath,
    pub message: String,
    /// How to fix it, where that is not obvious from the message.
    pub hint: Option<String>,
}

impl ConfigError {
    pub fn new(file: &str, key: KeyPath, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_string(),
            key,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.0.is_empty() {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_read_like_toml() {
        let p = KeyPath::root()
            .key("accounts")
            .key("alice")
            .key("destinations")
            .index(2);
        assert_eq!(p.to_string(), "accounts.alice.destinations[2]");
        let p = KeyPath::root()
            .key("domains")
            .key("example.org")
            .key("description");
        assert_eq!(p.to_string(), "domains.\"example.org\".description");
    }

    #[test]
    fn errors_show_file_key_message_and_hint() {
        let e =
            ConfigError::new("domains.toml", KeyPath::root().key("accounts"), "bad").hint("fix it");
        assert_eq!(
            e.to_string(),
            "domains.toml: accounts: bad\n    hint: fix it"
        );
    }
}
