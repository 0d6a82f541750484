//! The messages a script appends: an mbox file read the way imaptest reads it.
//!
//! A message runs from after its `From ` line to the next valid `From ` line,
//! so it keeps the empty line that separates messages in the file; every line
//! ends with CRLF. The `From ` line's date becomes the APPEND date, written in
//! the zone the line gives (or +0000 when it gives none, which is what imaptest
//! sends on a machine running in UTC).

use std::path::Path;

/// One message to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The message with CRLF line ends.
    pub data: Vec<u8>,
    /// The IMAP date-time for APPEND, e.g. `22-Feb-2008 17:06:23 +0000`.
    pub date: String,
}

/// Messages handed out in file order, starting over after the last, as imaptest
/// does when a script wants more messages than the file holds.
#[derive(Debug)]
pub struct Source {
    messages: Vec<Message>,
    next: usize,
}

impl Source {
    pub fn open(path: &Path) -> Result<Source, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let messages = parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Source { messages, next: 0 })
    }

    /// Whether every message has been handed out once since the last wrap.
    pub fn at_end(&self) -> bool {
        self.next >= self.messages.len()
    }

    pub fn next_message(&mut self) -> &Message {
        if self.at_end() {
            self.next = 0;
        }
        let i = self.next;
        self.next += 1;
        &self.messages[i]
    }
}

/// Splits an mbox file into messages.
pub fn parse(bytes: &[u8]) -> Result<Vec<Message>, String> {
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut messages = Vec::new();
    let mut current: Option<Message> = None;
    for (n, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(date) = from_line_date(line) {
            // A From line right after another one starts an empty message in
            // imaptest; such files do not occur, so a later From line simply
            // ends the message it follows.
            if let Some(m) = current.take() {
                messages.push(m);
            }
            current = Some(Message {
                data: Vec::new(),
                date,
            });
            continue;
        }
        let Some(m) = current.as_mut() else {
            return Err(format!("line {}: not an mbox file (no From line)", n + 1));
        };
        m.data.extend_from_slice(line);
        m.data.extend_from_slice(b"\r\n");
    }
    messages.extend(current);
    if messages.is_empty() {
        return Err("empty mbox file".into());
    }
    Ok(messages)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The date of an mbox `From sender date` line as an IMAP date-time, or None
/// when the line is not one. Accepts `Www Mmm dd hh:mm[:ss] yyyy [+zzzz]` and
/// `Www Mmm dd hh:mm[:ss] [+zzzz] yyyy`.
pub fn from_line_date(line: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(b"From ")?;
    let text = std::str::from_utf8(rest).ok()?;
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    // The sender is one word; the date follows it.
    let date = words.get(1..)?;
    let (&weekday, date) = date.split_first()?;
    if !DAYS.iter().any(|d| d.eq_ignore_ascii_case(weekday)) {
        return None;
    }
    let (&month, date) = date.split_first()?;
    let month = MONTHS.iter().find(|m| m.eq_ignore_ascii_case(month))?;
    let (&day, date) = date.split_first()?;
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let (&time, date) = date.split_first()?;
    let mut hms = time.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m) = (hms.next()??, hms.next()??);
    let s = hms.next().unwrap_or(Some(0))?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let (year, zone) = match date {
        [y] => (*y, "+0000"),
        [y, z] if is_zone(z) => (*y, *z),
        [z, y] if is_zone(z) => (*y, *z),
        _ => return None,
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{day:02}-{month}-{year} {h:02}:{m:02}:{s:02} {zone}"
    ))
}

fn is_zone(z: &str) -> bool {
    let b = z.as_bytes();
    b.len() == 5 && (b[0] == b'+' || b[0] == b'-') && b[1..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_the_separator_line_and_get_crlf() {
        let mbox = b"From user@domain  Fri Feb 22 17:06:23 2008\nSubject: a\n\nbody1\n\n\
                     From user@domain  Sat Mar 24 23:00:00 2007 +0200\nSubject: b\r\n\r\nFrom me\n";
        let msgs = parse(mbox).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].data, b"Subject: a\r\n\r\nbody1\r\n\r\n");
        assert_eq!(msgs[0].date, "22-Feb-2008 17:06:23 +0000");
        // "From me" is not a valid From line, so it is body text.
        assert_eq!(msgs[1].data, b"Subject: b\r\n\r\nFrom me\r\n");
        assert_eq!(msgs[1].date, "24-Mar-2007 23:00:00 +0200");
    }

    #[test]
    fn the_source_wraps() {
        let mut src = Source {
            messages: parse(
                b"From a Fri Feb 22 17:06:23 2008\nx\nFrom a Fri Feb 22 17:06:23 2008\ny\n",
            )
            .unwrap(),
            next: 0,
        };
        assert_eq!(src.next_message().data, b"x\r\n");
        assert!(!src.at_end());
        assert_eq!(src.next_message().data, b"y\r\n");
        assert!(src.at_end());
        assert_eq!(src.next_message().data, b"x\r\n");
    }

    #[test]
    fn every_vendored_mbox_parses() {
        let dir = crate::imaptest::scripts_dir();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "mbox") {
                let src = Source::open(&path).unwrap();
                assert!(!src.messages.is_empty(), "{}", path.display());
            }
        }
    }
}
