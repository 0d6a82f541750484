//! TOML text to typed config, collecting every error instead of stopping at the first.
//!
//! serde stops at the first bad value. To report all of them, a bad value is recorded
//! with its key path, removed from the parsed table, and decoding runs again, until it
//! succeeds (defaults then stand in for what was removed) or nothing can be removed.
//! Keys no type knows are collected with serde_ignored and reported as errors too.

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::error::{ConfigError, KeyPath, Segment};

/// More bad values than this in one file is not a config anyone meant to write.
const MAX_ERRORS: usize = 100;

/// Decodes `text` (the contents of `file`) into `T`, pushing every problem onto
/// `errors`. Returns `None` only when nothing usable could be decoded.
pub fn decode<T: DeserializeOwned>(
    file: &str,
    text: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let mut table: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            errors.push(syntax_error(file, text, &e));
            return None;
        }
    };
    let mut removed: Vec<KeyPath> = Vec::new();
    // Kept across passes: a table removed for a bad value may hold unknown keys too.
    let mut unknown: Vec<KeyPath> = Vec::new();
    for _ in 0..MAX_ERRORS {
        let value = Value::Table(table.clone());
        let mut on_unknown = |path: serde_ignored::Path<'_>| {
            let key = ignored_path(&path);
            if !unknown.contains(&key) {
                unknown.push(key);
            }
        };
        let de = serde_ignored::Deserializer::new(value, &mut on_unknown);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(config) => {
                errors.extend(unknown.into_iter().map(|key| unknown_key(file, key)));
                return Some(config);
            }
            Err(e) => {
                let key = error_path(e.path());
                let message = e.into_inner().message().to_string();
                if !follows_removal(&key, &message, &removed) {
                    errors.push(ConfigError::new(file, key.clone(), message));
                }
                if !remove(&mut table, &key.0) {
                    errors.extend(unknown.into_iter().map(|key| unknown_key(file, key)));
                    return None;
                }
                removed.push(key);
            }
        }
    }
    None
}

/// A "missing field" error for a required value that was removed because it was bad
/// has been reported already, as that bad value.
fn follows_removal(key: &KeyPath, message: &str, removed: &[KeyPath]) -> bool {
    let field = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'));
    field.is_some_and(|f| removed.contains(&key.key(f)))
}

fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = match e.span() {
        Some(span) => {
            // The parser's position may not be a char boundary; count up to the one before.
            let end = (0..=span.start.min(text.len()))
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            let before = &text[..end];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_string(),
    };
    ConfigError::new(file, KeyPath::root(), format!("not valid TOML: {message}"))
}

fn unknown_key(file: &str, key: KeyPath) -> ConfigError {
    ConfigError::new(file, key, "unknown key")
        .hint("check the spelling; `gannet config describe` lists every key this section takes")
}

fn error_path(path: &serde_path_to_error::Path) -> KeyPath {
    KeyPath(
        path.iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect(),
    )
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> KeyPath {
    use serde_ignored::Path;
    match path {
        Path::Root => KeyPath::root(),
        Path::Seq { parent, index } => ignored_path(parent).index(*index),
        Path::Map { parent, key } => ignored_path(parent).key(key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

/// Removes the value at `path`; false when there is nothing there to remove (the
/// error is about the whole file, or about a key that is missing).
fn remove(table: &mut Table, path: &[Segment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut value = match parents.first() {
        None => return matches!(last, Segment::Key(k) if table.remove(k).is_some()),
        Some(Segment::Key(k)) => table.get_mut(k),
        Some(Segment::Index(_)) => None,
    };
    for seg in &parents[1..] {
        value = match (value, seg) {
            (Some(Value::Table(t)), Segment::Key(k)) => t.get_mut(k),
            (Some(Value::Array(a)), Segment::Index(i)) => a.get_mut(*i),
            _ => None,
        };
    }
    match (value, last) {
        (Some(Value::Table(t)), Segment::Key(k)) => t.remove(k).is_some(),
        (Some(Value::Array(a)), Segment::Index(i)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(default)]
        port: u16,
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        users: BTreeMap<String, User>,
    }

    #[derive(Debug, Deserialize)]
    struct User {
        uid: u32,
    }

    fn run(text: &str) -> (Option<Sample>, Vec<String>) {
        let mut errors = Vec::new();
        let s = decode::<Sample>("t.toml", text, &mut errors);
        (
            s,
            errors
                .iter()
                .map(|e| e.to_string().lines().next().unwrap_or("").to_string())
                .collect(),
        )
    }

    #[test]
    fn every_bad_value_and_unknown_key_is_reported() {
        let (s, errors) =
            run("port = \"x\"\nnames = [\"a\", 3]\nprot = 1\n[users.bob]\nuid = -1\nextra = 2\n");
        // Decoding goes on with the bad values removed: what is left is the good values,
        // and defaults where bad ones were.
        let s = s.expect("a decoded config");
        assert_eq!(
            (
                s.port,
                s.names.as_slice(),
                s.users.values().map(|u| u.uid).sum::<u32>()
            ),
            (0, &["a".to_string()][..], 0)
        );
        assert_eq!(
            errors,
            [
                "t.toml: names[1]: invalid type: integer `3`, expected a string",
                "t.toml: port: invalid type: string \"x\", expected u16",
                "t.toml: users.bob.uid: invalid value: integer `-1`, expected u32",
                "t.toml: prot: unknown key",
                "t.toml: users.bob.extra: unknown key",
            ]
        );
    }

    #[test]
    fn a_missing_required_value_is_reported() {
        let (_, errors) = run("[users.bob]\n");
        assert_eq!(errors, ["t.toml: users.bob: missing field `uid`"]);
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let (s, errors) = run("port = 1\nnames = [\n");
        assert!(s.is_none());
        assert!(
            errors[0].starts_with("t.toml: not valid TOML: line 2, column"),
            "{errors:?}"
        );
    }
}
