//! The mbox codec (gannet::store: `split_mbox`, `write_mbox_entry`,
//! `mbox_from_line_date`), on arbitrary bytes: no input may panic, and
//!
//! 1. Reading: when the bytes read as an mbox, the entries account for every byte
//!    (each "From " line is at its offset and line number, and the sizes add up to
//!    the input after the blank lines before the first "From " line).
//! 2. Round trip of what the reader yields: writing the messages read, in order, with
//!    the writer and reading the result back gives the same messages in the same
//!    order, where a message that does not end with "\n" (only the last one of an
//!    input without a final line feed can, or an empty one) comes back with "\n"
//!    appended: read(write(ms)) == ms with "\n" added to each m not ending in "\n".
//!    Writing that result again and reading it gives it back unchanged. The "From "
//!    line is the writer's own ("From MAILER-DAEMON <asctime>"); its date is the
//!    date read from the original "From " line when that date is in the years the
//!    writer's asctime and the reader accept (1900 to 3000, UTC).
//! 3. Round trip of arbitrary messages: the bytes cut at every 0xFF byte are messages
//!    (any bytes at all: "From " lines, ">From " lines, CR, empty ones); written and
//!    read back they are equal under the same final-"\n" rule.

#![no_main]

use gannet::store::{MboxEntry, mbox_from_line_date, split_mbox, write_mbox_entry};
use libfuzzer_sys::fuzz_target;

/// 1900-01-01 and 3001-01-01, 00:00:00 UTC: the dates asctime writes with a year the
/// reader takes.
const FIRST_DATE: i64 = -2_208_988_800;
const END_DATE: i64 = 32_535_216_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = split_mbox(data) {
        check_positions(data, &entries);
        let messages: Vec<(i64, &[u8])> = entries
            .iter()
            .map(|e| (mbox_from_line_date(&e.from.text).unwrap_or(0), &*e.content))
            .collect();
        let read = round_trip(&messages);
        for (entry, again) in entries.iter().zip(&read) {
            let date = mbox_from_line_date(&entry.from.text);
            if let Some(date) = date.filter(|d| (FIRST_DATE..END_DATE).contains(d)) {
                assert_eq!(
                    mbox_from_line_date(&again.from.text),
                    Some(date),
                    "the date of {:?} written as {:?}",
                    String::from_utf8_lossy(&entry.from.text),
                    String::from_utf8_lossy(&again.from.text),
                );
            }
        }
        // Every message read back ends with "\n": a second round trip keeps them as
        // they are.
        let messages: Vec<(i64, &[u8])> = read.iter().map(|e| (0, &*e.content)).collect();
        round_trip(&messages);
    }
    let messages: Vec<(i64, &[u8])> = data.split(|&b| b == 0xFF).map(|m| (0, m)).collect();
    round_trip(&messages);
});

/// Writes `messages` (internal date, content), reads them back, and checks that they
/// are the same, in order, with "\n" added to those that do not end with one.
fn round_trip(messages: &[(i64, &[u8])]) -> Vec<MboxEntry> {
    let mut out = Vec::new();
    for (date, message) in messages {
        write_mbox_entry(&mut out, *date, message).expect("writing to a Vec");
    }
    let read = match split_mbox(&out) {
        Ok(read) => read,
        Err(e) => panic!("the writer's output {out:?} does not read: {e}"),
    };
    let expected: Vec<Vec<u8>> = messages
        .iter()
        .map(|(_, m)| {
            let mut m = m.to_vec();
            if !m.ends_with(b"\n") {
                m.push(b'\n');
            }
            m
        })
        .collect();
    let got: Vec<&[u8]> = read.iter().map(|e| &*e.content).collect();
    assert!(
        got == expected,
        "written {messages:?}\nas {out:?}\nread back as {got:?}",
    );
    check_positions(&out, &read);
    read
}

/// Each entry is numbered in order, its "From " line is where it says, and the
/// entries take all of the input after the blank lines before the first one.
fn check_positions(input: &[u8], entries: &[MboxEntry]) {
    let mut end = entries
        .first()
        .map_or(input.len() as u64, |e| e.from.offset);
    assert!(
        input[..end as usize].iter().all(u8::is_ascii_whitespace),
        "only blank lines come before the first \"From \" line",
    );
    for (i, entry) in entries.iter().enumerate() {
        let from = &entry.from;
        let offset = from.offset as usize;
        assert_eq!(entry.number, i + 1);
        assert_eq!(
            from.offset,
            end,
            "entry {} starts where the last ended",
            i + 1
        );
        assert_eq!(&input[offset..offset + from.text.len()], &from.text[..]);
        assert!(from.text.starts_with(b"From "));
        let lines_before = input[..offset].iter().filter(|&&b| b == b'\n').count();
        assert_eq!(from.line, lines_before as u64 + 1);
        end += entry.size;
    }
    assert_eq!(end, input.len() as u64, "the entries take the whole input");
}
