//! SORT and THREAD (gannet::imap::sort, ::subject, ::thread) on arbitrary bytes: no input
//! may panic or take long, and
//!
//! 1. Fields: the input, cut at NUL octets into up to MAX_MESSAGES header sections, gives
//!    each message its SORT and THREAD fields; base subjects are fixed points of
//!    base-subject extraction, and every Message-ID found is valid.
//! 2. SORT: for each of a few key lists the result is a permutation of the numbers; for
//!    one key, two messages that it puts out of number order (so their keys differ)
//!    come the other way round under REVERSE; ESORT's ALL and PARTIAL spell the result.
//! 3. THREAD: both algorithms list every message exactly once, and their response is
//!    well-formed thread lists (RFC 5256 4) naming the same tree.
//!
//! The header sections rarely reference each other, so 3 also runs on messages built
//! from the input four octets at a time (an ID, references and a subject from small
//! pools, a date), where duplicates, loops and missing parents are common.

#![no_main]

use std::collections::HashMap;

use gannet::imap::PartialRange;
use gannet::imap::sort::{SortCriterion, SortFields, SortKey, sequence_set, sort};
use gannet::imap::subject::base_subject;
use gannet::imap::thread::{ThreadAlgorithm, ThreadMessage, Threads, message_ids, thread};
use libfuzzer_sys::fuzz_target;

const MAX_MESSAGES: usize = 32;

fuzz_target!(|data: &[u8]| {
    let headers: Vec<&[u8]> = data.split(|&b| b == 0).take(MAX_MESSAGES).collect();
    let mut sort_fields = Vec::new();
    let mut thread_messages = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let number = u32::try_from(i + 1).expect("few messages");
        // Few distinct internal dates, so that DATE and ARRIVAL tie.
        let arrival = i64::from(number % 3);
        let size = u64::try_from(header.len()).expect("a length");
        sort_fields.push(SortFields::from_header(number, header, arrival, size));
        let message = ThreadMessage::from_header(number, header, arrival);
        check_fields(&message);
        thread_messages.push(message);
    }
    for id in message_ids(data) {
        assert!(valid_id(&id), "{id:?}");
    }

    check_sort(&sort_fields, data);
    check_threads(&thread_messages);
    check_threads(&built(data));
});

fn check_fields(message: &ThreadMessage) {
    let again = base_subject(&message.subject.text);
    assert_eq!(again.text, message.subject.text);
    assert!(!again.reply_or_forward, "{:?}", message.subject.text);
    for id in message.message_id.iter().chain(&message.references) {
        assert!(valid_id(id), "{id:?}");
    }
}

/// `id-left "@" id-right`, both sides non-empty.
fn valid_id(id: &str) -> bool {
    id.find('@').is_some_and(|at| at > 0) && !id.ends_with('@')
}

fn check_sort(messages: &[SortFields], data: &[u8]) {
    let numbers: Vec<u32> = messages.iter().map(|m| m.number).collect();
    // Key lists from the input's first octets, and each key alone.
    let mut lists: Vec<Vec<SortCriterion>> = SortKey::ALL
        .iter()
        .map(|&key| {
            vec![SortCriterion {
                reverse: false,
                key,
            }]
        })
        .collect();
    lists.push(
        data.iter()
            .take(4)
            .map(|&b| SortCriterion {
                reverse: b & 0x80 != 0,
                key: SortKey::ALL[usize::from(b) % SortKey::ALL.len()],
            })
            .collect(),
    );
    for criteria in &lists {
        let sorted = sort(messages, criteria);
        let mut listed = sorted.clone();
        listed.sort_unstable();
        assert_eq!(listed, numbers, "{criteria:?}");
        check_esort(&sorted);
    }
    for key in SortKey::ALL {
        let forward = sort(
            messages,
            &[SortCriterion {
                reverse: false,
                key,
            }],
        );
        let backward = sort(messages, &[SortCriterion { reverse: true, key }]);
        let position: HashMap<u32, usize> =
            backward.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        for pair in forward.windows(2) {
            if let [a, b] = *pair
                && a > b
            {
                assert!(position[&b] < position[&a], "{key:?}: {a} {b}");
            }
        }
    }
}

/// ESORT's ALL and PARTIAL sets name the sorted numbers, in order.
fn check_esort(sorted: &[u32]) {
    assert_eq!(expand(sequence_set(sorted)), sorted);
    let half = u32::try_from(sorted.len() / 2).expect("few messages");
    let from_half = sorted.get(sorted.len() / 2..).unwrap_or_default();
    let range = PartialRange {
        from_end: false,
        first: half + 1,
        last: u32::MAX,
    };
    assert_eq!(expand(sequence_set(range.of(sorted))), from_half);
    let last_two = PartialRange {
        from_end: true,
        first: 1,
        last: 2,
    };
    let tail = sorted
        .get(sorted.len().saturating_sub(2)..)
        .unwrap_or_default();
    assert_eq!(expand(sequence_set(last_two.of(sorted))), tail);
}

/// The numbers of a sequence-set in the order it lists them.
fn expand(set: Option<String>) -> Vec<u32> {
    let Some(set) = set else {
        return Vec::new();
    };
    let mut numbers = Vec::new();
    for part in set.split(',') {
        match part.split_once(':') {
            Some((first, last)) => {
                let (first, last): (u32, u32) = (first.parse().unwrap(), last.parse().unwrap());
                assert!(first < last, "{set}");
                numbers.extend(first..=last);
            }
            None => numbers.push(part.parse().unwrap()),
        }
    }
    numbers
}

/// Messages four input octets each: a Message-ID or none, up to three references and a
/// subject from small pools, and a date.
fn built(data: &[u8]) -> Vec<ThreadMessage> {
    const SUBJECTS: [&str; 8] = ["", "a", "Re: a", "a (fwd)", "[l] b", "Fwd: B", "c", "Re:"];
    let id = |b: u8| format!("{}@x", b % 8);
    data.chunks_exact(4)
        .take(64)
        .zip(1u32..)
        .map(|(chunk, i)| {
            let [own, refs, subject, date] = [chunk[0], chunk[1], chunk[2], chunk[3]];
            ThreadMessage {
                // Numbers with gaps, in an order the dates often disagree with.
                number: i * 2 + u32::from(date & 1),
                message_id: (own & 8 == 0).then(|| id(own)),
                references: (0..refs % 4).map(|k| id(refs >> (2 * k + 2))).collect(),
                subject: base_subject(SUBJECTS[usize::from(subject) % SUBJECTS.len()]),
                date: i64::from(date % 4),
            }
        })
        .collect()
}

fn check_threads(messages: &[ThreadMessage]) {
    let mut numbers: Vec<u32> = messages.iter().map(|m| m.number).collect();
    numbers.sort_unstable();
    if numbers.windows(2).any(|w| w[0] == w[1]) {
        return;
    }
    for algorithm in [ThreadAlgorithm::OrderedSubject, ThreadAlgorithm::References] {
        let threads = thread(messages, algorithm);
        let mut listed = listed(&threads);
        listed.sort_unstable();
        assert_eq!(listed, numbers, "{algorithm:?}");
        let mut out = Vec::new();
        threads.encode(&mut out);
        let text = std::str::from_utf8(&out).expect("ASCII");
        assert_eq!(parse(text), trees(&threads), "{algorithm:?}: {text}");
        assert_eq!(text.is_empty(), messages.is_empty());
    }
}

/// The numbers of every node, walked with a stack.
fn listed(threads: &Threads) -> Vec<u32> {
    let mut numbers = Vec::new();
    let mut stack = threads.roots().to_vec();
    while let Some(index) = stack.pop() {
        let node = threads.node(index).expect("a node");
        numbers.extend(node.number);
        stack.extend(&node.children);
    }
    numbers
}

/// A thread as nested values.
#[derive(Debug, PartialEq, Eq)]
struct Tree {
    number: Option<u32>,
    children: Vec<Tree>,
}

/// The threads as nested values (inputs are small: recursion is fine here).
fn trees(threads: &Threads) -> Vec<Tree> {
    fn tree(threads: &Threads, index: usize) -> Tree {
        let node = threads.node(index).expect("a node");
        Tree {
            number: node.number,
            children: node.children.iter().map(|&c| tree(threads, c)).collect(),
        }
    }
    threads.roots().iter().map(|&r| tree(threads, r)).collect()
}

/// Parses `*thread-list`, panicking at anything that is not.
fn parse(mut rest: &str) -> Vec<Tree> {
    let mut lists = Vec::new();
    while !rest.is_empty() {
        lists.push(thread_list(&mut rest));
    }
    lists
}

/// `"(" (thread-members / thread-nested) ")"`.
fn thread_list(rest: &mut &str) -> Tree {
    *rest = rest.strip_prefix('(').expect("(");
    let tree = if rest.starts_with('(') {
        Tree {
            number: None,
            children: nested(rest),
        }
    } else {
        members(rest)
    };
    *rest = rest.strip_prefix(')').expect(")");
    tree
}

/// `2*thread-list`.
fn nested(rest: &mut &str) -> Vec<Tree> {
    let mut lists = Vec::new();
    while rest.starts_with('(') {
        lists.push(thread_list(rest));
    }
    assert!(lists.len() >= 2, "a thread-nested of one list");
    lists
}

/// `nz-number *(SP nz-number) [SP thread-nested]`, as a chain of parents.
fn members(rest: &mut &str) -> Tree {
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number: u32 = rest[..digits].parse().expect("a number");
    assert!(number > 0 && !rest.starts_with('0'), "an nz-number");
    *rest = &rest[digits..];
    let children = match rest.strip_prefix(' ') {
        Some(after) if after.starts_with('(') => {
            *rest = after;
            nested(rest)
        }
        Some(after) => {
            *rest = after;
            vec![members(rest)]
        }
        None => Vec::new(),
    };
    Tree {
        number: Some(number),
        children,
    }
}
