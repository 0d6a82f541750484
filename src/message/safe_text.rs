//! Writing remote text into header fields we add (Authentication-Results,
//! Received-SPF) so that it cannot end the field or start another: control
//! characters, CR and LF among them, become spaces, and the quoting characters of
//! comments and quoted strings are escaped (RFC 5322 3.2.2, 3.2.4).

/// `c`, or a space for a control character.
pub fn printable(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

/// `text` as a comment: `(text)`, with `(`, `)` and `\` escaped.
pub fn comment(text: &str) -> String {
    escaped('(', text, "()\\", ')')
}

/// `text` as a quoted string: `"text"`, with `"` and `\` escaped.
pub fn quoted_string(text: &str) -> String {
    escaped('"', text, "\"\\", '"')
}

fn escaped(open: char, text: &str, special: &str, close: char) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(open);
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(printable(c));
    }
    out.push(close);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_breaks_out() {
        assert_eq!(comment("a) b\r\nX: y (c\\"), "(a\\) b  X: y \\(c\\\\)");
        assert_eq!(quoted_string("say \"hi\"\n\\"), "\"say \\\"hi\\\" \\\\\"");
    }
}
