//! The annotated reference config, generated from the config types' JSON schema
//! (their doc comments, defaults and examples), so the documentation cannot drift
//! from the code. `gannet config describe` prints it.

use schemars::{JsonSchema, schema_for};
use serde_json::{Map, Value};

use super::{DOMAINS_FILE, DomainsConfig, STATIC_FILE, StaticConfig};

/// Comment lines are wrapped at this width.
const WIDTH: usize = 88;

/// Both files, each with every key, its meaning, and its default or an example.
pub fn reference() -> String {
    let mut out = String::new();
    file::<StaticConfig>(&mut out, STATIC_FILE);
    out.push('\n');
    file::<DomainsConfig>(&mut out, DOMAINS_FILE);
    out
}

fn file<T: JsonSchema>(out: &mut String, name: &str) {
    let schema = schema_for!(T);
    let root = schema.as_value();
    let walker = Walker {
        defs: root.get("$defs").and_then(Value::as_object),
    };
    let title = root
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    out.push_str(&format!("# ==== {name} ====\n"));
    comment(out, title);
    walker.table(out, "", root);
}

struct Walker<'a> {
    defs: Option<&'a Map<String, Value>>,
}

/// A property's schema with `$ref` and `Option` (anyOf with null) taken off.
struct Resolved<'a> {
    schema: &'a Value,
    optional: bool,
}

impl<'a> Walker<'a> {
    fn resolve(&self, schema: &'a Value) -> Resolved<'a> {
        let mut optional = false;
        let mut s = schema;
        loop {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap_or(r);
                match self.defs.and_then(|d| d.get(name)) {
                    Some(def) => s = def,
                    None => break,
                }
            } else if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
                let non_null: Vec<&Value> = any
                    .iter()
                    .filter(|v| v.get("type") != Some(&"null".into()))
                    .collect();
                optional |= non_null.len() < any.len();
                match non_null.as_slice() {
                    [only] => s = only,
                    _ => break,
                }
            } else {
                break;
            }
        }
        if let Some(types) = s.get("type").and_then(Value::as_array) {
            optional |= types.iter().any(|t| t == "null");
        }
        Resolved {
            schema: s,
            optional,
        }
    }

    /// The keys of one table: plain values first, then sub-tables (TOML needs that order).
    fn table(&self, out: &mut String, prefix: &str, schema: &Value) {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut tables = Vec::new();
        for (key, prop) in props {
            let r = self.resolve(prop);
            let doc = prop
                .get("description")
                .or(r.schema.get("description"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if r.schema.get("properties").is_some()
                || r.schema.get("additionalProperties").is_some()
                || self.table_items(&r).is_some()
            {
                tables.push((key, doc, r));
            } else {
                self.value(out, key, doc, prop, &r, required.contains(&key.as_str()));
            }
        }
        for (key, doc, r) in tables {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            self.sub_table(out, &path, doc, &r);
        }
    }

    /// The entries' schema of an array of tables (`[[path]]`).
    fn table_items(&self, r: &Resolved<'a>) -> Option<&'a Value> {
        let items = self.resolve(r.schema.get("items")?).schema;
        items.get("properties").is_some().then_some(items)
    }

    fn sub_table(&self, out: &mut String, path: &str, doc: &str, r: &Resolved<'a>) {
        out.push('\n');
        comment(out, doc);
        if let Some(items) = self.table_items(r) {
            comment(out, "Any number of entries, each a [[table]] of its own.");
            out.push_str(&format!("[[{path}]]\n"));
            self.table(out, path, items);
            return;
        }
        let Some(entry) = r
            .schema
            .get("additionalProperties")
            .filter(|v| v.is_object())
        else {
            if r.optional {
                comment(out, "Optional: leave the table out to go without.");
            }
            out.push_str(&format!("[{path}]\n"));
            self.table(out, path, r.schema);
            return;
        };
        let entry = self.resolve(entry);
        if entry.schema.get("properties").is_some() {
            comment(out, "One table per NAME.");
            let path = format!("{path}.NAME");
            out.push_str(&format!("[{path}]\n"));
            self.table(out, &path, entry.schema);
        } else {
            out.push_str(&format!("[{path}]\n"));
            for example in examples(r.schema) {
                for (k, v) in example.as_object().into_iter().flatten() {
                    out.push_str(&format!("# {k} = {}\n", toml_value(v)));
                }
            }
        }
    }

    fn value(
        &self,
        out: &mut String,
        key: &str,
        doc: &str,
        prop: &Value,
        r: &Resolved<'_>,
        required: bool,
    ) {
        out.push('\n');
        comment(out, doc);
        self.choices(out, r.schema);
        let default = prop
            .get("default")
            .or(r.schema.get("default"))
            .filter(|v| !v.is_null());
        let example = examples(prop).into_iter().chain(examples(r.schema)).next();
        match (default, example) {
            (Some(d), _) => out.push_str(&format!("{key} = {}\n", toml_value(d))),
            (None, Some(e)) if required => {
                comment(out, "Required.");
                out.push_str(&format!("{key} = {}\n", toml_value(e)));
            }
            (None, Some(e)) => out.push_str(&format!("# {key} = {}\n", toml_value(e))),
            (None, None) => out.push_str(&format!("# {key} = <{}>\n", type_name(r.schema))),
        }
    }

    /// For enums, each allowed value with its meaning.
    fn choices(&self, out: &mut String, schema: &Value) {
        let schema = match schema.get("items") {
            Some(items) => self.resolve(items).schema,
            None => schema,
        };
        let Some(variants) = schema
            .get("oneOf")
            .or(schema.get("enum"))
            .and_then(Value::as_array)
        else {
            return;
        };
        comment(out, "One of:");
        for v in variants {
            let name = v.get("const").unwrap_or(v);
            let doc = v.get("description").and_then(Value::as_str).unwrap_or("");
            let line = if doc.is_empty() {
                toml_value(name)
            } else {
                format!("{}: {doc}", toml_value(name))
            };
            wrap(out, &line, "#   ", "#       ");
        }
    }
}

fn examples(schema: &Value) -> Vec<&Value> {
    schema
        .get("examples")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn type_name(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("value"),
        _ => "value",
    }
}

/// A JSON value written as a TOML value.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Null => "\"\"".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => toml::Value::String(s.clone()).to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k} = {}", toml_value(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

fn comment(out: &mut String, text: &str) {
    for paragraph in text.split('\n').filter(|p| !p.trim().is_empty()) {
        wrap(out, paragraph.trim(), "# ", "# ");
    }
}

/// Writes `text` as comment lines of at most WIDTH characters.
fn wrap(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_config() {
        insta::assert_snapshot!(super::reference());
    }

    #[test]
    fn every_example_in_the_reference_is_valid_toml() {
        let reference = super::reference();
        // Key lines, set or commented out; not prose that mentions a key.
        let key_line = |l: &&str| {
            let l = l.trim_start_matches("# ");
            l.split_once(" = ").is_some_and(|(k, v)| {
                k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !v.starts_with('<')
            })
        };
        let mut count = 0;
        for line in reference.lines().filter(key_line) {
            let line = line.trim_start_matches("# ");
            line.parse::<toml::Table>()
                .unwrap_or_else(|e| panic!("{line:?}: {e}"));
            count += 1;
        }
        assert!(count > 20, "only {count} key lines found");
    }
}
