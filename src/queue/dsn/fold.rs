//! Text as a DSN writes it: remote text and addresses made safe, header-like fields
//! folded, and no line over the limits of RFC 5322 2.1.1.

use crate::message::safe_text;

/// Where a line that can be folded is folded (RFC 5322 2.1.1: SHOULD be at most 78
/// characters). Counted in octets, which is never less.
const FOLD_AT: usize = 78;

/// The longest line allowed, without its CRLF (RFC 5322 2.1.1: MUST be at most 998).
pub(super) const MAX_LINE: usize = 998;

/// `text` made safe to write into the DSN: control characters (CR and LF among them)
/// become spaces, so that remote text can neither end a field nor start one, and
/// white space at both ends is removed. In the ASCII form (`global` false), which
/// must stay 7-bit, every non-ASCII character becomes `?`.
pub(super) fn clean(text: &str, global: bool) -> String {
    safe(text, global).trim().to_string()
}

/// [`clean`] without the trimming: for text that follows something else on its
/// line, such as the text of a reply line after its code.
pub(super) fn safe(text: &str, global: bool) -> String {
    text.chars()
        .map(safe_text::printable)
        .map(|c| if global || c.is_ascii() { c } else { '?' })
        .collect()
}

/// A header-like field, CRLF at its end: `name: ` and the first segment, then each
/// further segment on a continuation line of its own. Lines are folded before white
/// space to stay within 78 octets where the text has a space, and cut at 998 octets
/// where it has none. Unfolding (removing every CRLF) gives back `name: ` and the
/// segments joined by one space, unless a cut was needed. Segments must hold no
/// control characters (see [`safe`]).
pub(super) fn field(name: &str, segments: &[&str]) -> String {
    let mut out = format!("{name}:");
    let mut line = out.len();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
            line = 0;
        }
        push_cut(&mut out, &mut line, " ");
        for (j, piece) in pieces(segment).enumerate() {
            if j > 0 && line + piece.len() > FOLD_AT {
                out.push_str("\r\n");
                line = 0;
            }
            push_cut(&mut out, &mut line, piece);
        }
    }
    out.push_str("\r\n");
    out
}

/// `text` split before each run of white space that follows other text: the places
/// a field may be folded, with the white space kept at the start of the next piece.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let body = rest.trim_start_matches([' ', '\t']);
        let lead = rest.len() - body.len();
        let end = body.find([' ', '\t']).map_or(rest.len(), |i| lead + i);
        let (piece, next) = rest.split_at(end);
        rest = next;
        Some(piece)
    })
}

/// Appends `text` to a field's line, continuing on a new line (CRLF and a space) where
/// the line would pass [`MAX_LINE`].
fn push_cut(out: &mut String, line: &mut usize, text: &str) {
    for c in text.chars() {
        if *line + c.len_utf8() > MAX_LINE {
            out.push_str("\r\n ");
            *line = 1;
        }
        out.push(c);
        *line += c.len_utf8();
    }
}

/// Appends `line` and CRLF to a body, as several lines if it is longer than
/// [`MAX_LINE`] octets.
pub(super) fn push_body_line(out: &mut String, line: &str) {
    let mut length = 0;
    for c in line.chars() {
        if length + c.len_utf8() > MAX_LINE {
            out.push_str("\r\n");
            length = 0;
        }
        out.push(c);
        length += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_break_out() {
        assert_eq!(clean(" a\r\nX-Evil: 1\tb ", true), "a  X-Evil: 1 b");
        assert_eq!(clean("jörg", false), "j?rg");
        assert_eq!(clean("jörg", true), "jörg");
    }

    #[test]
    fn long_fields_fold_before_spaces_and_unfold_to_the_same_text() {
        let words = "word ".repeat(40);
        let value = words.trim_end();
        let folded = field("Diagnostic-Code", &[value, "second  segment"]);
        assert!(folded.ends_with("\r\n second  segment\r\n"), "{folded}");
        for line in folded.split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?}");
        }
        let unfolded = folded.trim_end().replace("\r\n", "");
        assert_eq!(
            unfolded,
            format!("Diagnostic-Code: {value} second  segment")
        );
    }

    #[test]
    fn text_without_spaces_is_cut_at_998_octets() {
        let long = "x".repeat(2500);
        let folded = field("Subject", &[&long]);
        let lines: Vec<&str> = folded.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
        let mut body = String::new();
        push_body_line(&mut body, &"é".repeat(600));
        assert!(body.split("\r\n").all(|l| l.len() <= MAX_LINE));
        assert_eq!(body.matches("\r\n").count(), 2);
    }
}
