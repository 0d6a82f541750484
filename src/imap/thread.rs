//! THREAD (RFC 5256 3): the ORDEREDSUBJECT and REFERENCES algorithms, and the thread
//! lists of the THREAD response (RFC 5256 4), such as `(2)(3 6 (4 23)(44 7 96))`.
//!
//! The session reads one [`ThreadMessage`] per message from its header section, and
//! [`thread`] builds [`Threads`], which it writes with [`Threads::encode`].
//!
//! Trees live in an arena (nodes by index) and every walk uses an explicit stack, never
//! recursion: a conversation thousands of replies deep, or a References field listing
//! thousands of Message-IDs, must not exhaust the stack of the session's thread, and
//! neither must dropping the result.

use std::collections::HashMap;

use super::sort::{casemap, first_fields, sent_date};
use super::subject::BaseSubject;

/// A threading algorithm of THREAD (RFC 5256 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    /// "Poor man's threading": messages grouped by base subject.
    OrderedSubject,
    /// Threads from the Message-ID, References and In-Reply-To fields, then grouped by
    /// base subject.
    References,
}

/// What THREAD needs of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadMessage {
    /// The number the result lists: the sequence number for THREAD, the UID for UID
    /// THREAD. Both grow in mailbox order, which breaks ties between equal dates and
    /// decides which of two messages with the same Message-ID keeps it.
    pub number: u32,
    /// The message's Message-ID, normalized by [`message_ids`]; `None` without a valid
    /// one.
    pub message_id: Option<String>,
    /// The message's references, oldest first, normalized: the Message-IDs of its
    /// References field, or without any, the first Message-ID of its In-Reply-To field.
    pub references: Vec<String>,
    /// The base subject, which both algorithms group by, and whether it marks a reply
    /// or forward, which REFERENCES consults when it does.
    pub subject: BaseSubject,
    /// The sent date in seconds since the Unix epoch: the Date field, else the internal
    /// date (RFC 5256 2.2).
    pub date: i64,
}

impl ThreadMessage {
    /// The fields of a message with header section (or whole message) `header` and
    /// internal date `arrival`. Of a field given twice the first counts, as in ENVELOPE.
    pub fn from_header(number: u32, header: &[u8], arrival: i64) -> ThreadMessage {
        let [subject, date, message_id, references, in_reply_to] = first_fields(
            header,
            ["subject", "date", "message-id", "references", "in-reply-to"],
        );
        let mut refs = references.map(message_ids).unwrap_or_default();
        if refs.is_empty() {
            // RFC 5256 uses In-Reply-To when there is no References field; one without
            // a valid Message-ID is treated as absent.
            refs = in_reply_to.map(message_ids).unwrap_or_default();
            refs.truncate(1);
        }
        ThreadMessage {
            number,
            message_id: message_id.and_then(|v| message_ids(v).into_iter().next()),
            references: refs,
            subject: subject.map(BaseSubject::from_field).unwrap_or_default(),
            date: date.and_then(sent_date).unwrap_or(arrival),
        }
    }
}

/// The valid Message-IDs (RFC 5322 msg-id) in a Message-ID, References or In-Reply-To
/// field value, in order, normalized as RFC 5256 requires so that differently quoted
/// forms of one ID compare equal: without the angle brackets, quoting, backslash
/// escapes, comments and folding white space (`<"a.b"@x>` and `< a.b@x >` are both
/// `a.b@x`). Text outside `<...>` is skipped (In-Reply-To often has some), and so is an
/// ID without an `@` between a non-empty left and right side. IDs compare
/// case-sensitively, as RFC 5256 says.
pub fn message_ids(value: &[u8]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut at = 0;
    while let Some(&b) = value.get(at) {
        at += 1;
        match b {
            b'(' => at = skip_comment(value, at),
            b'"' => at = skip_quoted(value, at),
            b'<' => {
                let (id, next) = read_id(value, at);
                at = next;
                ids.extend(id.filter(|id| is_valid_id(id)));
            }
            _ => {}
        }
    }
    ids
}

/// The normalized ID that starts at `at` (after its `<`), and where reading goes on.
/// An ID broken off by another `<` or the end is `None`; reading resumes at that `<`.
fn read_id(value: &[u8], mut at: usize) -> (Option<String>, usize) {
    let mut id = Vec::new();
    while let Some(&b) = value.get(at) {
        at += 1;
        match b {
            b'>' => return (Some(String::from_utf8_lossy(&id).into_owned()), at),
            b'<' => return (None, at - 1),
            b'"' => at = copy_quoted(value, at, &mut id),
            b'\\' => {
                if let Some(&escaped) = value.get(at) {
                    id.push(escaped);
                    at += 1;
                }
            }
            b'(' => at = skip_comment(value, at),
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => id.push(b),
        }
    }
    (None, at)
}

/// `id-left "@" id-right`, both sides non-empty.
fn is_valid_id(id: &str) -> bool {
    id.find('@').is_some_and(|at| at > 0) && !id.ends_with('@')
}

/// Moves past a comment whose `(` is just before `at` (nested comments and quoted pairs
/// included); to the end if it is not closed.
fn skip_comment(value: &[u8], mut at: usize) -> usize {
    let mut depth = 1usize;
    while let Some(&b) = value.get(at) {
        at += 1;
        match b {
            b'\\' => at += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    value.len()
}

/// Moves past a quoted string whose `"` is just before `at`.
fn skip_quoted(value: &[u8], at: usize) -> usize {
    copy_quoted(value, at, &mut Vec::new())
}

/// Copies the content of a quoted string whose `"` is just before `at` to `out`,
/// quoted pairs resolved and folding removed; returns where it ends.
fn copy_quoted(value: &[u8], mut at: usize, out: &mut Vec<u8>) -> usize {
    while let Some(&b) = value.get(at) {
        at += 1;
        match b {
            b'"' => return at,
            b'\\' => {
                if let Some(&escaped) = value.get(at) {
                    out.push(escaped);
                    at += 1;
                }
            }
            b'\r' | b'\n' => {}
            _ => out.push(b),
        }
    }
    value.len()
}

// ---- the result ------------------------------------------------------------------

/// One node of [`Threads`]: a message, or a dummy that holds threads with the same base
/// subject together (REFERENCES, at the top level only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadNode {
    /// The message's number; `None` for a dummy.
    pub number: Option<u32>,
    /// Indexes of the children in [`Threads`], in order.
    pub children: Vec<usize>,
}

/// The threads of a THREAD command, in order: a forest of [`ThreadNode`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Threads {
    nodes: Vec<ThreadNode>,
    roots: Vec<usize>,
}

impl Threads {
    /// The indexes of the threads' top nodes, in order.
    pub fn roots(&self) -> &[usize] {
        &self.roots
    }

    /// The node at `index` (from [`Threads::roots`] or [`ThreadNode::children`]).
    pub fn node(&self, index: usize) -> Option<&ThreadNode> {
        self.nodes.get(index)
    }

    /// Appends the thread lists of the THREAD response (RFC 5256 4: `1*thread-list`),
    /// nothing when there are no threads: the caller writes `* THREAD`, and a space
    /// before these when there are any. A message with one child is followed by that
    /// child (`1 2`); with several, by each child's thread in parentheses (`1 (2)(3)`);
    /// a dummy writes only its children (`((2)(3))`).
    pub fn encode(&self, out: &mut Vec<u8>) {
        /// What is left to write, last first.
        enum Step {
            /// A thread-list: `(`, the node's members, `)`.
            List(usize),
            /// A node's number and what follows it.
            Members(usize),
            Close,
        }
        let mut steps: Vec<Step> = self.roots.iter().rev().map(|&r| Step::List(r)).collect();
        while let Some(step) = steps.pop() {
            match step {
                Step::Close => out.push(b')'),
                Step::List(index) => {
                    out.push(b'(');
                    steps.push(Step::Close);
                    steps.push(Step::Members(index));
                }
                Step::Members(index) => {
                    let Some(node) = self.nodes.get(index) else {
                        continue;
                    };
                    if let Some(number) = node.number {
                        out.extend_from_slice(number.to_string().as_bytes());
                        if !node.children.is_empty() {
                            out.push(b' ');
                        }
                    }
                    match node.children.as_slice() {
                        [only] => steps.push(Step::Members(*only)),
                        children => steps.extend(children.iter().rev().map(|&c| Step::List(c))),
                    }
                }
            }
        }
    }
}

/// The threads of `messages` by `algorithm` (RFC 5256 3). The messages may come in any
/// order; their numbers should be distinct.
pub fn thread(messages: &[ThreadMessage], algorithm: ThreadAlgorithm) -> Threads {
    match algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(messages),
        ThreadAlgorithm::References => References::new(messages).run(),
    }
}

/// What orders messages by sent date (RFC 5256 2.2): the date, then the number.
fn date_order(message: &ThreadMessage) -> (i64, u32) {
    (message.date, message.number)
}

/// ORDEREDSUBJECT: messages sorted by base subject, then sent date; each run with one
/// base subject is a thread whose first message is the parent of all the others (no
/// grandchildren); threads sorted by the sent date of their first message.
fn ordered_subject(messages: &[ThreadMessage]) -> Threads {
    let keys: Vec<(String, (i64, u32))> = messages
        .iter()
        .map(|m| (casemap(&m.subject.text), date_order(m)))
        .collect();
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let mut nodes: Vec<ThreadNode> = messages
        .iter()
        .map(|m| ThreadNode {
            number: Some(m.number),
            children: Vec::new(),
        })
        .collect();
    let mut roots = Vec::new();
    for run in order.chunk_by(|&a, &b| keys[a].0 == keys[b].0) {
        if let [first, rest @ ..] = run {
            nodes[*first].children = rest.to_vec();
            roots.push(*first);
        }
    }
    roots.sort_by_key(|&r| keys[r].1);
    Threads { nodes, roots }
}

// ---- REFERENCES ------------------------------------------------------------------

/// A container of the REFERENCES algorithm: a message, or a dummy for a Message-ID that
/// is referenced but no searched message has.
#[derive(Debug, Clone, Default)]
struct Container {
    /// The index of the message in the input; `None` for a dummy.
    message: Option<usize>,
    /// Only used in step 1, after which the children lists hold the trees.
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The REFERENCES algorithm (RFC 5256 3), its steps numbered as there. Container `i` is
/// message `i` of the input; dummies follow.
struct References<'m> {
    messages: &'m [ThreadMessage],
    containers: Vec<Container>,
    /// Casemapped base subjects, by message.
    subjects: Vec<String>,
}

impl<'m> References<'m> {
    fn new(messages: &'m [ThreadMessage]) -> References<'m> {
        References {
            messages,
            containers: (0..messages.len())
                .map(|m| Container {
                    message: Some(m),
                    ..Container::default()
                })
                .collect(),
            subjects: messages.iter().map(|m| casemap(&m.subject.text)).collect(),
        }
    }

    fn run(mut self) -> Threads {
        self.link();
        let roots = self.prune();
        let roots = self.sort_top(roots);
        let roots = self.group_by_subject(roots);
        let roots = self.sort_all(roots);
        let messages = self.messages;
        Threads {
            nodes: self
                .containers
                .into_iter()
                .map(|c| ThreadNode {
                    number: c.message.map(|m| messages[m].number),
                    children: c.children,
                })
                .collect(),
            roots,
        }
    }

    /// Step 1: parent links from each message's references, in mailbox order.
    fn link(&mut self) {
        let messages = self.messages;
        let mut order: Vec<usize> = (0..messages.len()).collect();
        order.sort_by_key(|&m| messages[m].number);
        // A Message-ID names the first message in mailbox order that has it; the others
        // with it, and those without one, have an ID of their own that nothing
        // references, which is the same as having none here.
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for &m in &order {
            if let Some(id) = messages[m].message_id.as_deref() {
                by_id.entry(id).or_insert(m);
            }
        }
        let mut roots = RootFinder::new();
        for &m in &order {
            let chain: Vec<usize> = messages[m]
                .references
                .iter()
                .map(|id| {
                    *by_id.entry(id.as_str()).or_insert_with(|| {
                        // A dummy for an ID no message has, shared by later references.
                        self.containers.push(Container::default());
                        self.containers.len() - 1
                    })
                })
                .collect();
            // (A) Each reference is the parent of the next, unless that one already
            // has a parent (a References field may have been cut short, so the first
            // link seen is kept) or the link would make a loop.
            for pair in chain.windows(2) {
                if let [parent, child] = *pair
                    && self.containers[child].parent.is_none()
                    && roots.find(&self.containers, parent) != child
                {
                    self.containers[child].parent = Some(parent);
                }
            }
            // (B) The last reference is the message's parent, replacing any it had;
            // without references, or if that would make a loop, it has none.
            let last = chain.last().copied();
            if self.containers[m].parent != last {
                if self.containers[m].parent.take().is_some() {
                    roots.forget();
                }
                if let Some(parent) = last
                    && roots.find(&self.containers, parent) != m
                {
                    self.containers[m].parent = Some(parent);
                }
            }
        }
    }

    /// Steps 2 and 3: the trees' roots (step 2's dummy root is the list), and dummies
    /// pruned: below the top level each dummy gives way to its children; at the top
    /// level one without children goes, one with a single child gives way to it, and
    /// one with several stays to hold them together. Returns the top level.
    fn prune(&mut self) -> Vec<usize> {
        for c in 0..self.containers.len() {
            if let Some(p) = self.containers[c].parent {
                self.containers[p].children.push(c);
            }
        }
        let roots: Vec<usize> = (0..self.containers.len())
            .filter(|&c| self.containers[c].parent.is_none())
            .collect();
        // Every dummy has one parent, so each is expanded once, by its nearest
        // ancestor that is a message or a top-level dummy.
        for c in 0..self.containers.len() {
            if self.containers[c].message.is_some() || self.containers[c].parent.is_none() {
                self.skip_dummies(c);
            }
        }
        let mut top = Vec::with_capacity(roots.len());
        for r in roots {
            match (
                self.containers[r].message,
                self.containers[r].children.as_slice(),
            ) {
                (Some(_), _) => top.push(r),
                (None, []) => {}
                (None, [only]) => top.push(*only),
                (None, _) => top.push(r),
            }
        }
        top
    }

    /// Replaces the dummies among `node`'s children, at any depth, by the messages
    /// under them, keeping their order.
    fn skip_dummies(&mut self, node: usize) {
        let mut pending: Vec<usize> = std::mem::take(&mut self.containers[node].children);
        pending.reverse();
        let mut kept = Vec::with_capacity(pending.len());
        while let Some(c) = pending.pop() {
            if self.containers[c].message.is_some() {
                kept.push(c);
            } else {
                let grandchildren = std::mem::take(&mut self.containers[c].children);
                pending.extend(grandchildren.into_iter().rev());
            }
        }
        self.containers[node].children = kept;
    }

    /// Step 4: the top level sorted by sent date, a dummy by its first child once its
    /// children are sorted.
    fn sort_top(&mut self, mut roots: Vec<usize>) -> Vec<usize> {
        for &r in &roots {
            if self.containers[r].message.is_none() {
                self.sort_children(r);
            }
        }
        roots.sort_by_key(|&r| self.date_order(r));
        roots
    }

    /// Step 5: threads with the same base subject gathered under one top-level node.
    fn group_by_subject(&mut self, mut roots: Vec<usize>) -> Vec<usize> {
        // (A), (B) The subject table: the top-level position of the thread that
        // stands for each subject. A dummy is preferred, then a thread whose own
        // subject is not a reply or forward.
        let mut table: HashMap<String, usize> = HashMap::new();
        for (slot, &node) in roots.iter().enumerate() {
            let Some(subject) = self.thread_subject(node) else {
                continue;
            };
            match table.get(subject) {
                None => {
                    table.insert(subject.to_owned(), slot);
                }
                Some(&held) => {
                    let held = roots[held];
                    if !self.is_dummy(held)
                        && (self.is_dummy(node) || self.is_reply(held) && !self.is_reply(node))
                    {
                        table.insert(subject.to_owned(), slot);
                    }
                }
            }
        }
        // (C) Every other thread with that subject merges into it.
        let mut merged = vec![false; roots.len()];
        for slot in 0..roots.len() {
            let node = roots[slot];
            let Some(&held_slot) = self.thread_subject(node).and_then(|s| table.get(s)) else {
                continue;
            };
            if held_slot == slot {
                continue;
            }
            let held = roots[held_slot];
            if self.is_dummy(held) && self.is_dummy(node) {
                let children = std::mem::take(&mut self.containers[node].children);
                self.containers[held].children.extend(children);
            } else if self.is_dummy(held) || self.is_reply(node) && !self.is_reply(held) {
                self.containers[held].children.push(node);
            } else {
                self.containers.push(Container {
                    children: vec![held, node],
                    ..Container::default()
                });
                roots[held_slot] = self.containers.len() - 1;
            }
            merged[slot] = true;
        }
        roots
            .into_iter()
            .zip(merged)
            .filter_map(|(node, merged)| (!merged).then_some(node))
            .collect()
    }

    /// Step 6: every set of siblings sorted by sent date, the top level last (a dummy
    /// sorts by its first child).
    fn sort_all(&mut self, roots: Vec<usize>) -> Vec<usize> {
        for c in 0..self.containers.len() {
            self.sort_children(c);
        }
        let mut roots = roots;
        roots.sort_by_key(|&r| self.date_order(r));
        roots
    }

    fn sort_children(&mut self, node: usize) {
        let mut children = std::mem::take(&mut self.containers[node].children);
        children.sort_by_key(|&c| self.date_order(c));
        self.containers[node].children = children;
    }

    /// The message a node stands for in sorting and subject grouping: itself, or for a
    /// dummy its first child (a message, as dummies are only at the top level).
    fn representative(&self, node: usize) -> Option<usize> {
        let container = &self.containers[node];
        container.message.or_else(|| {
            let first = *container.children.first()?;
            self.containers[first].message
        })
    }

    fn date_order(&self, node: usize) -> (i64, u32) {
        self.representative(node)
            .map_or((i64::MAX, u32::MAX), |m| date_order(&self.messages[m]))
    }

    /// The thread subject of step 5 (B)(i); `None` when empty, as (ii) skips those.
    fn thread_subject(&self, node: usize) -> Option<&str> {
        let subject = self.subjects[self.representative(node)?].as_str();
        (!subject.is_empty()).then_some(subject)
    }

    fn is_dummy(&self, node: usize) -> bool {
        self.containers[node].message.is_none()
    }

    /// Whether the node is a message whose subject marks a reply or forward.
    fn is_reply(&self, node: usize) -> bool {
        self.containers[node]
            .message
            .is_some_and(|m| self.messages[m].subject.reply_or_forward)
    }
}

/// The root of a container's tree, for step 1's loop check: making A the parent of B,
/// which has no parent (step 1 links no other), makes a loop exactly when B is A's
/// root. Roots found are remembered along the path walked (path compression): while
/// links are only added, a remembered root stays an ancestor, so walks stay short even
/// for chains thousands deep. Cutting a link (step 1 (B)) forgets them all.
#[derive(Debug)]
struct RootFinder {
    /// Per container: the generation it was found in, and the root found.
    known: Vec<(u64, usize)>,
    /// Starts at 1, so that the zeroed entries of new containers are stale.
    generation: u64,
    /// The containers walked by the current `find`.
    path: Vec<usize>,
}

impl RootFinder {
    fn new() -> RootFinder {
        RootFinder {
            known: Vec::new(),
            generation: 1,
            path: Vec::new(),
        }
    }

    fn find(&mut self, containers: &[Container], start: usize) -> usize {
        if self.known.len() < containers.len() {
            self.known.resize(containers.len(), (0, 0));
        }
        let mut at = start;
        loop {
            let next = match self.known.get(at) {
                Some(&(generation, root)) if generation == self.generation && root != at => {
                    Some(root)
                }
                _ => containers.get(at).and_then(|c| c.parent),
            };
            match next {
                Some(up) => {
                    self.path.push(at);
                    at = up;
                }
                None => break,
            }
        }
        for walked in self.path.drain(..) {
            if let Some(entry) = self.known.get_mut(walked) {
                *entry = (self.generation, at);
            }
        }
        at
    }

    fn forget(&mut self) {
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::imap::subject::base_subject;

    /// A message with `id` (normalized, no brackets), `references`, raw `subject` and
    /// sent `date`.
    fn msg(
        number: u32,
        id: Option<&str>,
        references: &[&str],
        subject: &str,
        date: i64,
    ) -> ThreadMessage {
        ThreadMessage {
            number,
            message_id: id.map(String::from),
            references: references.iter().map(|r| r.to_string()).collect(),
            subject: base_subject(subject),
            date,
        }
    }

    fn encoded(messages: &[ThreadMessage], algorithm: ThreadAlgorithm) -> String {
        let mut out = Vec::new();
        thread(messages, algorithm).encode(&mut out);
        String::from_utf8(out).expect("ASCII")
    }

    fn references(messages: &[ThreadMessage]) -> String {
        encoded(messages, ThreadAlgorithm::References)
    }

    fn ordered(messages: &[ThreadMessage]) -> String {
        encoded(messages, ThreadAlgorithm::OrderedSubject)
    }

    // ---- Message-IDs ---------------------------------------------------------------

    #[test]
    fn message_ids_are_found_and_normalized() {
        let ids = |v: &str| message_ids(v.as_bytes());
        assert_eq!(ids(" <a@b>"), ["a@b"]);
        assert_eq!(
            ids(" <a@b> <c@d>\r\n\t<e.f@g.h>"),
            ["a@b", "c@d", "e.f@g.h"]
        );
        // RFC 5256's example: quoting does not make another ID.
        assert_eq!(
            ids("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>"),
            ids("<01KF8JCEOCBS0045PS@xxx.yyy.com>")
        );
        assert_eq!(ids("<\"a b\\\"c\"@x>"), ["a b\"c@x"]);
        assert_eq!(ids("< a.b @ x (comment) >"), ["a.b@x"]);
        assert_eq!(ids("<a\\>b@x>"), ["a>b@x"]);
        // Case is kept: IDs compare case-sensitively.
        assert_eq!(ids("<ABC@x>"), ["ABC@x"]);
    }

    #[test]
    fn text_around_message_ids_is_skipped() {
        let ids = |v: &str| message_ids(v.as_bytes());
        assert_eq!(
            ids(" Your message of Mon, 1 Jan <a@b> (was <c@d>) \"<e@f>\""),
            ["a@b"]
        );
        assert_eq!(ids(" (nested (comment <x@y>) still) <a@b>"), ["a@b"]);
        assert_eq!(ids("no ids at all"), Vec::<String>::new());
    }

    #[test]
    fn invalid_message_ids_are_dropped() {
        let ids = |v: &str| message_ids(v.as_bytes());
        for broken in [
            "<>", "<abc>", "<@b>", "<a@>", "<a@b", "a@b", "<a@b (x>", "(<a@b>",
        ] {
            assert_eq!(ids(broken), Vec::<String>::new(), "{broken}");
        }
        // A `<` inside an ID starts a new one.
        assert_eq!(ids("<broken <a@b>"), ["a@b"]);
        assert_eq!(ids("<x@y <a@b>"), ["a@b"]);
        assert_eq!(message_ids(b"<\xff@b>"), ["\u{fffd}@b"]);
    }

    #[test]
    fn thread_fields_come_from_the_header() {
        let header = b"Message-ID: <one@x>\r\n\
            References: <r1@x>\r\n <r2@x>\r\n\
            In-Reply-To: <other@x>\r\n\
            Subject: Re: =?utf-8?q?h=C3=A9llo?=\r\n\
            Date: Sat, 24 Mar 2007 23:00:00 +0200\r\n\
            Message-ID: <two@x>\r\n\r\n";
        assert_eq!(
            ThreadMessage::from_header(3, header, 9),
            ThreadMessage {
                number: 3,
                message_id: Some("one@x".into()),
                references: vec!["r1@x".into(), "r2@x".into()],
                subject: BaseSubject {
                    text: "héllo".into(),
                    reply_or_forward: true,
                },
                date: 1174770000,
            }
        );
    }

    #[test]
    fn in_reply_to_stands_in_for_missing_references() {
        let refs = |header: &str| ThreadMessage::from_header(1, header.as_bytes(), 0).references;
        assert_eq!(refs("In-Reply-To: <a@x> <b@x>\r\n"), ["a@x"]);
        assert_eq!(refs("References: junk\r\nIn-Reply-To: <a@x>\r\n"), ["a@x"]);
        assert_eq!(refs("References: <r@x>\r\nIn-Reply-To: <a@x>\r\n"), ["r@x"]);
        assert_eq!(refs("In-Reply-To: a message\r\n"), Vec::<String>::new());
    }

    #[test]
    fn absent_fields_thread_alone() {
        let m = ThreadMessage::from_header(4, b"Message-ID: not an id\r\nDate: never\r\n", 77);
        assert_eq!(
            m,
            ThreadMessage {
                number: 4,
                date: 77,
                ..ThreadMessage::default()
            }
        );
    }

    // ---- encoding ------------------------------------------------------------------

    fn node(number: Option<u32>, children: &[usize]) -> ThreadNode {
        ThreadNode {
            number,
            children: children.to_vec(),
        }
    }

    #[test]
    fn encodes_rfc_5256s_example() {
        // (2)(3 6 (4 23)(44 7 96))
        let threads = Threads {
            nodes: vec![
                node(Some(2), &[]),
                node(Some(3), &[2]),
                node(Some(6), &[3, 5]),
                node(Some(4), &[4]),
                node(Some(23), &[]),
                node(Some(44), &[6]),
                node(Some(7), &[7]),
                node(Some(96), &[]),
            ],
            roots: vec![0, 1],
        };
        let mut out = Vec::new();
        threads.encode(&mut out);
        assert_eq!(out, b"(2)(3 6 (4 23)(44 7 96))");
        assert_eq!(parse(&out), trees(&threads));
    }

    #[test]
    fn encodes_dummies_and_nothing() {
        let threads = Threads {
            nodes: vec![
                node(None, &[1, 2]),
                node(Some(1), &[]),
                node(Some(2), &[3]),
                node(Some(3), &[]),
            ],
            roots: vec![0],
        };
        let mut out = Vec::new();
        threads.encode(&mut out);
        assert_eq!(out, b"((1)(2 3))");
        let mut out = Vec::new();
        Threads::default().encode(&mut out);
        assert_eq!(out, b"");
    }

    // ---- REFERENCES ----------------------------------------------------------------

    #[test]
    fn references_builds_rfc_5256s_example() {
        let messages = [
            msg(2, Some("2@x"), &[], "two", 1),
            msg(3, Some("3@x"), &[], "three", 2),
            msg(4, Some("4@x"), &["3@x", "6@x"], "Re: three", 4),
            msg(6, Some("6@x"), &["3@x"], "Re: three", 3),
            msg(7, Some("7@x"), &["3@x", "6@x", "44@x"], "Re: three", 7),
            msg(23, Some("23@x"), &["3@x", "6@x", "4@x"], "Re: three", 5),
            msg(44, Some("44@x"), &["3@x", "6@x"], "Re: three", 6),
            msg(
                96,
                Some("96@x"),
                &["3@x", "6@x", "44@x", "7@x"],
                "Re: three",
                8,
            ),
        ];
        assert_eq!(references(&messages), "(2)(3 6 (4 23)(44 7 96))");
    }

    #[test]
    fn messages_without_ids_are_threads_of_their_own() {
        let messages = [
            msg(1, None, &[], "b", 3),
            msg(2, None, &[], "a", 1),
            msg(3, None, &[], "c", 2),
        ];
        assert_eq!(references(&messages), "(2)(3)(1)");
        assert_eq!(references(&[]), "");
    }

    #[test]
    fn a_missing_parent_becomes_a_dummy() {
        // Two replies to a message not in the mailbox are held by a dummy.
        let messages = [
            msg(1, Some("a@x"), &["gone@x"], "one", 1),
            msg(2, Some("b@x"), &["gone@x"], "two", 2),
        ];
        assert_eq!(references(&messages), "((1)(2))");
        // A dummy with one child gives way to it.
        let messages = [
            msg(1, Some("a@x"), &["gone@x"], "one", 1),
            msg(2, None, &[], "two", 2),
        ];
        assert_eq!(references(&messages), "(1)(2)");
        // Dummies below the top level always give way.
        let messages = [
            msg(1, Some("a@x"), &["g1@x", "g2@x", "g3@x"], "one", 1),
            msg(2, Some("b@x"), &["g1@x", "g2@x", "g4@x"], "two", 2),
            msg(3, Some("c@x"), &["g1@x", "g5@x", "a@x"], "three", 3),
        ];
        assert_eq!(references(&messages), "((1 3)(2))");
    }

    #[test]
    fn a_duplicate_message_id_belongs_to_the_first_message() {
        let messages = [
            msg(1, Some("dup@x"), &[], "one", 1),
            msg(2, Some("dup@x"), &[], "two", 2),
            msg(3, Some("c@x"), &["dup@x"], "three", 3),
        ];
        assert_eq!(references(&messages), "(1 3)(2)");
        // Mailbox order decides, not input order.
        let mut shuffled = messages.clone();
        shuffled.reverse();
        assert_eq!(references(&shuffled), "(1 3)(2)");
    }

    #[test]
    fn reference_loops_are_not_made() {
        // Each names the other as parent: the first processed gets its parent.
        let messages = [
            msg(1, Some("a@x"), &["b@x"], "one", 1),
            msg(2, Some("b@x"), &["a@x"], "two", 2),
        ];
        assert_eq!(references(&messages), "(2 1)");
        // A message that references itself.
        let messages = [msg(1, Some("a@x"), &["a@x"], "one", 1)];
        assert_eq!(references(&messages), "(1)");
        // A loop within one References field.
        let messages = [
            msg(
                1,
                Some("a@x"),
                &["p@x", "q@x", "p@x", "a@x", "q@x"],
                "one",
                1,
            ),
            msg(2, Some("b@x"), &["q@x"], "two", 2),
        ];
        assert_eq!(references(&messages), "((1)(2))");
        // A longer cycle through three messages.
        let messages = [
            msg(1, Some("a@x"), &["c@x"], "one", 1),
            msg(2, Some("b@x"), &["a@x"], "two", 2),
            msg(3, Some("c@x"), &["b@x"], "three", 3),
        ];
        assert_eq!(references(&messages), "(3 1 2)");
    }

    #[test]
    fn a_messages_own_references_replace_a_parent_guessed_earlier() {
        // Message 1's References put 2 under p; 2's own say q (message 3).
        let messages = [
            msg(1, Some("one@x"), &["p@x", "two@x"], "one", 3),
            msg(2, Some("two@x"), &["q@x"], "two", 2),
            msg(3, Some("q@x"), &[], "three", 1),
        ];
        assert_eq!(references(&messages), "(3 2 1)");
        // Without references it loses the guessed parent.
        let messages = [
            msg(1, Some("one@x"), &["three@x", "two@x"], "one", 3),
            msg(2, Some("two@x"), &[], "two", 2),
            msg(3, Some("three@x"), &[], "three", 1),
        ];
        assert_eq!(references(&messages), "(3)(2 1)");
        // A link found first is kept against a later message's References.
        let messages = [
            msg(1, Some("one@x"), &["a@x", "b@x"], "one", 1),
            msg(2, Some("two@x"), &["c@x", "b@x"], "two", 2),
            msg(3, Some("a@x"), &[], "three", 0),
        ];
        assert_eq!(references(&messages), "(3 (1)(2))");
    }

    #[test]
    fn siblings_sort_by_date_then_number() {
        let messages = [
            msg(1, Some("r@x"), &[], "root", 0),
            msg(2, Some("c@x"), &["r@x"], "Re: root", 5),
            msg(3, Some("d@x"), &["r@x"], "Re: root", 4),
            msg(4, Some("e@x"), &["r@x"], "Re: root", 5),
            msg(5, Some("f@x"), &[], "other", -1),
        ];
        assert_eq!(references(&messages), "(5)(1 (3)(2)(4))");
        // A top-level dummy sorts by its earliest child.
        let messages = [
            msg(1, Some("a@x"), &[], "first", 2),
            msg(2, Some("b@x"), &["gone@x"], "x", 3),
            msg(3, Some("c@x"), &["gone@x"], "y", 1),
        ];
        assert_eq!(references(&messages), "((3)(2))(1)");
    }

    #[test]
    fn subjects_gather_threads() {
        // A reply joins the original.
        let messages = [
            msg(1, None, &[], "hello", 1),
            msg(2, None, &[], "Re: hello", 2),
        ];
        assert_eq!(references(&messages), "(1 2)");
        // Even when it came first.
        let messages = [
            msg(1, None, &[], "RE: Hello", 1),
            msg(2, None, &[], "hello", 2),
        ];
        assert_eq!(references(&messages), "(2 1)");
        // Two originals, or two replies, go under a dummy.
        let messages = [
            msg(1, None, &[], "hello", 1),
            msg(2, None, &[], "[list] hello", 2),
        ];
        assert_eq!(references(&messages), "((1)(2))");
        let messages = [
            msg(1, None, &[], "Re: hello", 1),
            msg(2, None, &[], "Fwd: hello", 2),
        ];
        assert_eq!(references(&messages), "((1)(2))");
        let messages = [
            msg(1, None, &[], "hello", 1),
            msg(2, None, &[], "hello", 2),
            msg(3, None, &[], "Re: hello", 3),
            msg(4, None, &[], "other", 4),
        ];
        assert_eq!(references(&messages), "((1)(2)(3))(4)");
        // Empty subjects are not gathered.
        let messages = [
            msg(1, None, &[], "", 1),
            msg(2, None, &[], "Re:", 2),
            msg(3, None, &[], " ", 3),
        ];
        assert_eq!(references(&messages), "(1)(2)(3)");
    }

    #[test]
    fn subjects_gather_dummies() {
        // A dummy holding threads about x takes in another thread about x.
        let messages = [
            msg(1, Some("a@x"), &["gone@x"], "x", 1),
            msg(2, Some("b@x"), &["gone@x"], "x", 2),
            msg(3, None, &[], "x", 3),
        ];
        assert_eq!(references(&messages), "((1)(2)(3))");
        // Two such dummies become one.
        let messages = [
            msg(1, Some("a@x"), &["gone@x"], "x", 1),
            msg(2, Some("b@x"), &["gone@x"], "x", 2),
            msg(3, Some("c@x"), &["lost@x"], "Re: x", 3),
            msg(4, Some("d@x"), &["lost@x"], "x", 4),
        ];
        assert_eq!(references(&messages), "((1)(2)(3)(4))");
        // A thread's subject is its top message's, however its replies are titled.
        let messages = [
            msg(1, Some("a@x"), &[], "x", 1),
            msg(2, Some("b@x"), &["a@x"], "Re: y", 2),
            msg(3, None, &[], "Re: x", 3),
            msg(4, None, &[], "y", 4),
        ];
        assert_eq!(references(&messages), "(1 (2)(3))(4)");
    }

    #[test]
    fn deep_and_wide_inputs_stay_fast_and_on_the_stack() {
        // A conversation where each message answers the previous one.
        let n = 50_000;
        let messages: Vec<ThreadMessage> = (1..=n)
            .map(|i| {
                let refs: Vec<String> = (i > 1)
                    .then(|| format!("{}@x", i - 1))
                    .into_iter()
                    .collect();
                ThreadMessage {
                    number: i,
                    message_id: Some(format!("{i}@x")),
                    references: refs,
                    subject: base_subject("chain"),
                    date: i64::from(i),
                }
            })
            .collect();
        let start = Instant::now();
        for (algorithm, start) in [
            (ThreadAlgorithm::References, &b"(1 2 3 4 "[..]),
            (ThreadAlgorithm::OrderedSubject, b"(1 (2)(3)(4)"),
        ] {
            let threads = thread(&messages, algorithm);
            let mut out = Vec::new();
            threads.encode(&mut out);
            assert!(out.starts_with(start), "{algorithm:?}");
            drop(threads);
        }
        // One message whose References list many IDs, over and over in loops.
        let mut refs: Vec<String> = (0..20_000).map(|i| format!("r{i}@x")).collect();
        for _ in 0..20_000 {
            refs.push("r19999@x".into());
            refs.push("r0@x".into());
        }
        let looping = [ThreadMessage {
            number: 1,
            message_id: Some("m@x".into()),
            references: refs,
            ..ThreadMessage::default()
        }];
        assert_eq!(references(&looping), "(1)");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    // ---- ORDEREDSUBJECT ------------------------------------------------------------

    #[test]
    fn ordered_subject_groups_by_base_subject() {
        let messages = [
            msg(1, None, &[], "apples", 5),
            msg(2, None, &[], "Re: pears", 2),
            msg(3, None, &[], "re: apples", 3),
            msg(4, None, &[], "pears", 4),
            msg(5, None, &[], "[list] Apples (fwd)", 1),
            msg(6, None, &[], "plums", 0),
            msg(7, None, &[], "Re: apples", 3),
        ];
        // References and subjects of replies do not matter: only base subject and date.
        assert_eq!(ordered(&messages), "(6)(5 (3)(7)(1))(2 4)");
        assert_eq!(ordered(&[]), "");
    }

    #[test]
    fn ordered_subject_ignores_references() {
        let messages = [
            msg(1, Some("a@x"), &[], "one", 1),
            msg(2, Some("b@x"), &["a@x"], "two", 2),
            msg(3, None, &[], "", 3),
            msg(4, None, &[], "Re:", 0),
        ];
        // Empty base subjects are one subject here.
        assert_eq!(ordered(&messages), "(4 3)(1)(2)");
    }

    // ---- properties ----------------------------------------------------------------

    /// A thread as nested values, to compare what was built with what was written.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Tree {
        number: Option<u32>,
        children: Vec<Tree>,
    }

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

    /// Parses `1*thread-list` (RFC 5256 4), panicking at anything else.
    fn parse(text: &[u8]) -> Vec<Tree> {
        let text = std::str::from_utf8(text).expect("ASCII");
        let mut rest = text;
        let mut lists = Vec::new();
        while !rest.is_empty() {
            lists.push(thread_list(&mut rest));
        }
        lists
    }

    /// `"(" (thread-members / thread-nested) ")"`.
    fn thread_list(rest: &mut &str) -> Tree {
        *rest = rest.strip_prefix('(').expect("a thread-list starts with (");
        let tree = if rest.starts_with('(') {
            Tree {
                number: None,
                children: nested(rest),
            }
        } else {
            members(rest)
        };
        *rest = rest.strip_prefix(')').expect("a thread-list ends with )");
        tree
    }

    /// `2*thread-list`.
    fn nested(rest: &mut &str) -> Vec<Tree> {
        let mut lists = Vec::new();
        while rest.starts_with('(') {
            lists.push(thread_list(rest));
        }
        assert!(lists.len() >= 2, "thread-nested has at least two lists");
        lists
    }

    /// `nz-number *(SP nz-number) [SP thread-nested]`, as a chain of parents.
    fn members(rest: &mut &str) -> Tree {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u32 = rest[..digits].parse().expect("a number");
        assert_ne!(number, 0);
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

    /// Each node with its depth (0 at the top) and parent.
    fn walk(threads: &Threads) -> Vec<(&ThreadNode, usize, Option<&ThreadNode>)> {
        let mut out = Vec::new();
        let mut stack: Vec<(usize, usize, Option<&ThreadNode>)> =
            threads.roots().iter().map(|&r| (r, 0, None)).collect();
        while let Some((index, depth, parent)) = stack.pop() {
            let node = threads.node(index).expect("a node");
            out.push((node, depth, parent));
            stack.extend(node.children.iter().map(|&c| (c, depth + 1, Some(node))));
        }
        out
    }

    /// Up to 10 messages with distinct numbers in any order, IDs and references from a
    /// small pool (so that duplicates, loops and missing parents are common), and few
    /// subjects and dates (so that ties are).
    fn messages() -> impl Strategy<Value = Vec<ThreadMessage>> {
        let id = || select(vec!["a@x", "b@x", "c@x", "d@x", "e@x", "f@x"]).prop_map(String::from);
        let subject = select(vec!["", "x", "Re: x", "X (fwd)", "[l] y", "Fwd: Y", "z"]);
        let message = (
            1u32..4,
            proptest::option::of(id()),
            vec(id(), 0..4),
            subject,
            0i64..3,
        );
        vec(message, 0..10)
            .prop_map(|rows| {
                let mut number = 0;
                rows.into_iter()
                    .map(|(gap, message_id, references, subject, date)| {
                        number += gap;
                        ThreadMessage {
                            number,
                            message_id,
                            references,
                            subject: base_subject(subject),
                            date,
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .prop_shuffle()
    }

    fn date_of(messages: &[ThreadMessage], node: &ThreadNode, threads: &Threads) -> (i64, u32) {
        let number = node.number.or_else(|| {
            let first = *node.children.first()?;
            threads.node(first)?.number
        });
        let message = messages
            .iter()
            .find(|m| Some(m.number) == number)
            .expect("a message");
        date_order(message)
    }

    fn subject_of(messages: &[ThreadMessage], number: Option<u32>) -> String {
        let message = messages
            .iter()
            .find(|m| Some(m.number) == number)
            .expect("a message");
        casemap(&message.subject.text)
    }

    proptest! {
        #[test]
        fn every_message_appears_once(messages in messages(), references in any::<bool>()) {
            let algorithm = if references { ThreadAlgorithm::References } else { ThreadAlgorithm::OrderedSubject };
            let threads = thread(&messages, algorithm);
            let mut listed: Vec<u32> = walk(&threads).iter().filter_map(|(n, _, _)| n.number).collect();
            listed.sort_unstable();
            let mut want: Vec<u32> = messages.iter().map(|m| m.number).collect();
            want.sort_unstable();
            prop_assert_eq!(listed, want);
        }

        #[test]
        fn the_encoding_parses_back(messages in messages(), references in any::<bool>()) {
            let algorithm = if references { ThreadAlgorithm::References } else { ThreadAlgorithm::OrderedSubject };
            let threads = thread(&messages, algorithm);
            let mut out = Vec::new();
            threads.encode(&mut out);
            prop_assert_eq!(parse(&out), trees(&threads));
        }

        #[test]
        fn references_keeps_its_shape(messages in messages()) {
            let threads = thread(&messages, ThreadAlgorithm::References);
            for (node, depth, _) in walk(&threads) {
                if node.number.is_none() {
                    prop_assert_eq!(depth, 0, "a dummy below the top");
                    prop_assert!(node.children.len() >= 2, "a dummy with {:?}", node.children);
                }
                let dates: Vec<(i64, u32)> = node
                    .children
                    .iter()
                    .map(|&c| date_of(&messages, threads.node(c).expect("a node"), &threads))
                    .collect();
                prop_assert!(dates.is_sorted(), "siblings out of order: {:?}", dates);
            }
            let tops: Vec<(i64, u32)> = threads
                .roots()
                .iter()
                .map(|&r| date_of(&messages, threads.node(r).expect("a node"), &threads))
                .collect();
            prop_assert!(tops.is_sorted(), "threads out of order: {:?}", tops);
            // Step 5 left at most one thread per non-empty subject.
            let mut subjects: Vec<String> = threads
                .roots()
                .iter()
                .map(|&r| {
                    let node = threads.node(r).expect("a node");
                    let number = node.number.or_else(|| threads.node(node.children[0])?.number);
                    subject_of(&messages, number)
                })
                .filter(|s| !s.is_empty())
                .collect();
            let count = subjects.len();
            subjects.sort();
            subjects.dedup();
            prop_assert_eq!(subjects.len(), count);
        }

        #[test]
        fn ordered_subject_keeps_its_shape(messages in messages()) {
            let threads = thread(&messages, ThreadAlgorithm::OrderedSubject);
            let mut subjects = Vec::new();
            for &r in threads.roots() {
                let root = threads.node(r).expect("a node");
                let subject = subject_of(&messages, root.number);
                let mut dates = vec![date_of(&messages, root, &threads)];
                for &c in &root.children {
                    let child = threads.node(c).expect("a node");
                    prop_assert!(child.children.is_empty(), "a grandchild");
                    prop_assert_eq!(&subject_of(&messages, child.number), &subject);
                    dates.push(date_of(&messages, child, &threads));
                }
                prop_assert!(dates.is_sorted(), "{:?}", dates);
                subjects.push(subject);
            }
            let count = subjects.len();
            subjects.sort();
            subjects.dedup();
            prop_assert_eq!(subjects.len(), count, "a subject in two threads");
        }
    }
}
