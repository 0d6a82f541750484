//! The mbox format (mboxrd, with mboxo read as mboxrd), in one place: reading an mbox
//! into messages, writing messages as an mbox, and the dates of "From " lines. Import
//! and export only add files, positions and the store around it.
//!
//! Reading: every line that starts with "From " starts a message; blank lines before
//! the first one are skipped, anything else there means the input is not an mbox. A
//! line matching `^>+From ` loses one '>' (the writer added it), and the blank line
//! before the next "From " line ("\n" or "\r\n") is the separator, not part of the
//! message. Everything else is kept byte for byte.
//!
//! Writing: a "From MAILER-DAEMON <date, asctime, UTC>" line, the message with every
//! line matching `^>*From ` given one more '>', a line feed if the message does not
//! end with one, and a blank line.
//!
//! So writing messages and reading them back gives the same messages in the same
//! order, except that a message that does not end with a line feed (the empty message
//! included) comes back with one: without it, the separator could not be told from
//! the message's last line.

use std::io::{self, BufRead, Write};

use mail_parser::DateTime;

/// Month names as mbox "From " lines (asctime) write them.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A "From " line, which starts an mbox message, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxFromLine {
    /// The line as read, line feed included.
    pub text: Vec<u8>,
    /// Its line number, from 1, and byte offset, from 0.
    pub line: u64,
    pub offset: u64,
}

/// An mbox message as read: escaping undone, separator removed, not checked (it may
/// be empty or not start with a header field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxEntry {
    /// Its number, from 1.
    pub number: usize,
    pub from: MboxFromLine,
    pub content: Vec<u8>,
    /// Bytes of the input it took, "From " line and separator included.
    pub size: u64,
}

/// Why an mbox cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MboxError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("line {line} is not a \"From \" line: not an mbox")]
    NotMbox { line: u64 },
}

/// Reads an mbox one message at a time, counting lines and bytes for positions.
pub struct MboxReader<R> {
    input: R,
    /// Lines and bytes read so far.
    lines: u64,
    bytes: u64,
    /// Messages returned so far.
    messages: usize,
    /// The "From " line of the next message: reading a message ends by reading it.
    next: Option<MboxFromLine>,
    started: bool,
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(input: R) -> Self {
        MboxReader {
            input,
            lines: 0,
            bytes: 0,
            messages: 0,
            next: None,
            started: false,
        }
    }

    /// The next message; `None` at the end of the input. An error about the input
    /// ([`MboxError::NotMbox`]) can only come first, before any message.
    pub fn next_entry(&mut self) -> Result<Option<MboxEntry>, MboxError> {
        if !self.started {
            self.started = true;
            self.next = self.first_from_line()?;
        }
        let Some(from) = self.next.take() else {
            return Ok(None);
        };
        let mut content = Vec::new();
        let mut buf = Vec::new();
        while self.read_line(&mut buf)? {
            if buf.starts_with(b"From ") {
                self.next = Some(self.just_read(std::mem::take(&mut buf)));
                break;
            }
            let escaped = from_quotes(&buf).is_some_and(|quotes| quotes > 0);
            content.extend_from_slice(if escaped { &buf[1..] } else { &buf });
        }
        strip_separator(&mut content);
        self.messages += 1;
        let end = self.next.as_ref().map_or(self.bytes, |next| next.offset);
        Ok(Some(MboxEntry {
            number: self.messages,
            size: end - from.offset,
            from,
            content,
        }))
    }

    /// Reads one line into `line`, with its line feed; false at the end.
    fn read_line(&mut self, line: &mut Vec<u8>) -> io::Result<bool> {
        line.clear();
        let n = self.input.read_until(b'\n', line)?;
        if n > 0 {
            self.lines += 1;
            self.bytes += n as u64;
        }
        Ok(n > 0)
    }

    /// The line just read, as a "From " line.
    fn just_read(&self, text: Vec<u8>) -> MboxFromLine {
        MboxFromLine {
            line: self.lines,
            offset: self.bytes - text.len() as u64,
            text,
        }
    }

    /// Skips blank lines at the start; the first other line must be a "From " line.
    fn first_from_line(&mut self) -> Result<Option<MboxFromLine>, MboxError> {
        let mut buf = Vec::new();
        while self.read_line(&mut buf)? {
            if buf.starts_with(b"From ") {
                return Ok(Some(self.just_read(buf)));
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                return Err(MboxError::NotMbox { line: self.lines });
            }
        }
        Ok(None)
    }
}

/// Every message of an mbox in memory, in order.
pub fn split_mbox(input: &[u8]) -> Result<Vec<MboxEntry>, MboxError> {
    let mut reader = MboxReader::new(input);
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

/// Writes one mboxrd entry: the "From " line with `internal_date` (seconds since the
/// epoch), the message with its "From " lines escaped, a line feed if it does not end
/// with one, and the blank line that separates entries.
pub fn write_mbox_entry(
    out: &mut impl Write,
    internal_date: i64,
    message: &[u8],
) -> io::Result<()> {
    writeln!(out, "From MAILER-DAEMON {}", asctime(internal_date))?;
    for line in message.split_inclusive(|&b| b == b'\n') {
        if from_quotes(line).is_some() {
            out.write_all(b">")?;
        }
        out.write_all(line)?;
    }
    if !message.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}

/// The number of '>' before "From " when `line` is a "From " line, escaped or not
/// (`^>*From `): mboxrd writers add one '>' to such lines, readers remove one.
fn from_quotes(line: &[u8]) -> Option<usize> {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    line[quotes..].starts_with(b"From ").then_some(quotes)
}

/// Removes the blank line that ends an mbox entry ("\n" or "\r\n"): it separates
/// messages and is not part of one. An entry without one is left as it is.
fn strip_separator(content: &mut Vec<u8>) {
    let Some(rest) = content.strip_suffix(b"\n") else {
        return;
    };
    let start = rest.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if matches!(&rest[start..], b"" | b"\r") {
        content.truncate(start);
    }
}

/// A time as asctime writes it, in UTC: "Thu Jan  1 00:00:00 1970".
fn asctime(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let t = DateTime::from_timestamp(unix);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[usize::from(t.day_of_week() % 7)],
        MONTHS[usize::from(t.month.saturating_sub(1) % 12)],
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.year
    )
}

/// The date of a "From sender Sat Jan  3 01:05:34 1996" line, in seconds since the
/// epoch (asctime; UTC unless a numeric zone such as +0100 follows the time). `None`
/// when there is none, or its year is not from 1900 to 3000.
pub fn mbox_from_line_date(line: &[u8]) -> Option<i64> {
    let line = std::str::from_utf8(line).ok()?;
    // Skips "From" and the sender; an empty sender leaves the weekday, skipped too.
    let tokens: Vec<&str> = line.split_whitespace().skip(2).collect();
    let m = tokens.iter().position(|t| month_number(t).is_some())?;
    let [month, day, time, rest @ ..] = &tokens[m..] else {
        return None;
    };
    let (hour, minute, second) = time_of_day(time)?;
    let year = rest
        .iter()
        .find_map(|t| (t.len() == 4).then(|| t.parse().ok()).flatten())?;
    let zone = rest.iter().find_map(|t| numeric_zone(t)).unwrap_or(0);
    let date = DateTime {
        year,
        month: month_number(month)?,
        day: day.parse().ok()?,
        hour,
        minute,
        second,
        tz_before_gmt: false,
        tz_hour: 0,
        tz_minute: 0,
    };
    date.is_valid().then(|| date.to_timestamp() - zone)
}

fn month_number(name: &str) -> Option<u8> {
    let index = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))?;
    u8::try_from(index + 1).ok()
}

/// "01:05:34" or "01:05".
fn time_of_day(time: &str) -> Option<(u8, u8, u8)> {
    let mut parts = time.split(':').map(str::parse::<u8>);
    let hour = parts.next()?.ok()?;
    let minute = parts.next()?.ok()?;
    let second = parts.next().transpose().ok()?.unwrap_or(0);
    parts.next().is_none().then_some((hour, minute, second))
}

/// "+0100" as seconds east of UTC.
fn numeric_zone(token: &str) -> Option<i64> {
    let (sign, digits) = match token.as_bytes().first()? {
        b'+' => (1, &token[1..]),
        b'-' => (-1, &token[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entries(mbox: &[u8]) -> Vec<(usize, u64, u64, Vec<u8>)> {
        let mut reader = MboxReader::new(mbox);
        let mut out = Vec::new();
        while let Ok(Some(e)) = reader.next_entry() {
            out.push((e.number, e.from.line, e.from.offset, e.content));
        }
        out
    }

    #[test]
    fn mbox_entries_are_unescaped_and_lose_their_separator() {
        let mbox = b"\nFrom a Sat Jan  3 01:05:34 1996\nA: 1\n\n>From x\n>>From y\n>Fromage\n\nFrom b\r\nB: 2\r\n\r\nbody\r\n\r\nFrom c\nC: 3\n\nno final line break";
        let got = entries(mbox);
        assert_eq!(
            got,
            vec![
                (1, 2, 1, b"A: 1\n\nFrom x\n>From y\n>Fromage\n".to_vec()),
                (2, 9, 66, b"B: 2\r\n\r\nbody\r\n".to_vec()),
                (3, 14, 90, b"C: 3\n\nno final line break".to_vec()),
            ]
        );
    }

    #[test]
    fn text_before_the_first_from_line_is_not_an_mbox() {
        let mut reader = MboxReader::new(&b"\nSubject: x\n\nFrom a\n"[..]);
        assert!(matches!(
            reader.next_entry(),
            Err(MboxError::NotMbox { line: 2 })
        ));
    }

    #[test]
    fn separator_lines_are_lf_or_crlf_blank_lines() {
        for (before, after) in [
            (&b"a\n\n"[..], &b"a\n"[..]),
            (b"a\r\n\r\n", b"a\r\n"),
            (b"a\r\n\n", b"a\r\n"),
            (b"a\n", b"a\n"),
            (b"\n", b""),
            (b"a", b"a"),
        ] {
            let mut content = before.to_vec();
            strip_separator(&mut content);
            assert_eq!(content, after, "{:?}", String::from_utf8_lossy(before));
        }
    }

    #[test]
    fn mbox_entries_escape_from_lines_and_end_with_a_blank_line() {
        let mut out = Vec::new();
        write_mbox_entry(
            &mut out,
            820631134,
            b"A: 1\n\nFrom x\n>From y\r\nFromage\nno lf",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From MAILER-DAEMON Wed Jan  3 01:05:34 1996\nA: 1\n\n>From x\n>>From y\r\nFromage\nno lf\n\n"
        );
    }

    #[test]
    fn empty_messages_come_back_as_one_line_feed() {
        let mut out = Vec::new();
        write_mbox_entry(&mut out, 0, b"").unwrap();
        write_mbox_entry(&mut out, 0, b"\n").unwrap();
        let got: Vec<Vec<u8>> = split_mbox(&out)
            .unwrap()
            .into_iter()
            .map(|e| e.content)
            .collect();
        assert_eq!(got, [b"\n".to_vec(), b"\n".to_vec()]);
    }

    #[test]
    fn asctime_pads_the_day_with_a_space() {
        assert_eq!(asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(asctime(1_767_225_599), "Wed Dec 31 23:59:59 2025");
    }

    #[test]
    fn from_line_dates_are_asctime_in_utc_or_with_a_zone() {
        assert_eq!(
            mbox_from_line_date(b"From god@heaven.af.mil Sat Jan  3 01:05:34 1996\n"),
            Some(820631134)
        );
        assert_eq!(
            mbox_from_line_date(b"From x Sat Jan 3 02:05:34 +0100 1996"),
            Some(820631134)
        );
        assert_eq!(
            mbox_from_line_date(b"From  Sat Jan  3 01:05 1996"),
            Some(820631100)
        );
        assert_eq!(mbox_from_line_date(b"From x"), None);
        assert_eq!(mbox_from_line_date(b"From x Sat Foo 3 01:05:34 1996"), None);
        assert_eq!(
            mbox_from_line_date(b"From x Sat Jan 32 01:05:34 1996"),
            None
        );
    }

    /// The line endings messages use, and none for a last line without one.
    fn ending() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("\n"), Just("\r\n")]
    }

    /// Lines that matter to mbox: "From " lines escaped 0 to 2 times, near misses,
    /// blank lines (LF and CRLF), a lone CR, and other text.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let text = prop_oneof![
            Just(String::new()),
            Just("\r".to_string()),
            Just(" ".to_string()),
            Just("From ".to_string()),
            Just("From".to_string()),
            Just("Fromage".to_string()),
            Just(">".to_string()),
            "(>{0,3})From [ -~]{0,20}",
            " >*From x",
            "[ -~]{0,30}",
            "[^\n]{0,10}",
        ];
        (text, ending()).prop_map(|(text, end)| format!("{text}{end}").into_bytes())
    }

    /// A message: a header-ish first line (or not), more lines, and a last line
    /// that may lack its line ending.
    fn message() -> impl Strategy<Value = Vec<u8>> {
        let first = prop_oneof![
            3 => ("[A-Za-z-]{1,12}: [ -~]{0,20}", ending()).prop_map(|(t, e)| format!("{t}{e}")),
            1 => ("[^\n]{0,12}", ending()).prop_map(|(t, e)| format!("{t}{e}")),
            1 => Just(String::new()),
        ];
        let last = prop_oneof![
            Just(Vec::new()),
            "[^\n]{1,10}".prop_map(String::into_bytes),
            Just(b"\r".to_vec()),
            Just(b"From x".to_vec()),
        ];
        (first, prop::collection::vec(line(), 0..8), last).prop_map(|(first, lines, last)| {
            let mut message = first.into_bytes();
            message.extend(lines.concat());
            message.extend(last);
            message
        })
    }

    proptest! {
        /// Written messages read back equal, in order, except that one without a final
        /// line feed (the empty one included) gets one.
        #[test]
        fn written_messages_read_back_equal(
            messages in prop::collection::vec((message(), any::<i64>()), 0..6),
        ) {
            let mut out = Vec::new();
            for (message, date) in &messages {
                write_mbox_entry(&mut out, *date, message).unwrap();
            }
            let read = split_mbox(&out).unwrap();
            let expected: Vec<Vec<u8>> = messages
                .iter()
                .map(|(message, _)| {
                    let mut m = message.clone();
                    if !m.ends_with(b"\n") {
                        m.push(b'\n');
                    }
                    m
                })
                .collect();
            let got: Vec<Vec<u8>> = read.iter().map(|e| e.content.clone()).collect();
            prop_assert_eq!(got, expected);
            let sizes: u64 = read.iter().map(|e| e.size).sum();
            prop_assert_eq!(sizes, out.len() as u64);
        }

        /// A From line's date is the one written, for the years a From line can have.
        #[test]
        fn from_line_dates_read_back_equal(date in -2_208_988_800i64..32_535_216_000) {
            let mut out = Vec::new();
            write_mbox_entry(&mut out, date, b"A: b\n").unwrap();
            let entry = &split_mbox(&out).unwrap()[0];
            prop_assert_eq!(mbox_from_line_date(&entry.from.text), Some(date));
        }
    }
}
