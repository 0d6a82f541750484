//! Round trip: random commands, written out as a client could send them (the text the
//! framer hands over, and the literals beside it), parse to the same command. The
//! writer picks among the forms the grammar allows (atom, quoted string or literal,
//! keyword case, optional parentheses) from a seed, so one command is tried in many
//! spellings. And no text, however broken, makes the parser panic or lose the tag.

use base64::Engine as _;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use time::{Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::command::*;
use super::parse::parse_command;

const NUMBER64_MAX: u64 = i64::MAX as u64;

// ---- values ------------------------------------------------------------------------

/// An atom: 1*ATOM-CHAR.
fn atom() -> impl Strategy<Value = String> {
    "[!#$&'+-\\[\\^-z|-~]{1,10}"
}

/// Any string a command can carry: quoted when it can be, else a literal (which may
/// hold CR and LF, but no NUL).
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        atom(),
        "[a-zA-Z0-9 \"\\\\%*()\\]{}]{0,12}",
        "[^\\x00]{0,12}",
    ]
}

fn mailbox() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("INBOX".to_owned()),
        "(?i)inbox",
        string(),
        "[A-Za-z]{1,8}(/[A-Za-z&-]{1,8}){0,2}",
    ]
    .prop_map(|name| {
        if name.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_owned()
        } else {
            name
        }
    })
}

fn pattern() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z%*/\\]]{1,8}", string()]
}

fn nz() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..20, 1u32..=u32::MAX, Just(u32::MAX)]
}

fn seq_number() -> impl Strategy<Value = SeqNumber> {
    prop_oneof![
        4 => nz().prop_map(SeqNumber::Number),
        1 => Just(SeqNumber::Last),
    ]
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        9 => vec((seq_number(), seq_number()), 1..4).prop_map(SequenceSet::Ranges),
        1 => Just(SequenceSet::Saved),
    ]
}

fn append_message() -> impl Strategy<Value = AppendMessage> {
    (
        vec(settable_flag(), 0..3),
        proptest::option::of(date_time()),
        vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(flags, date, data, utf8)| AppendMessage {
            flags,
            date,
            data: Literal::Memory(data),
            utf8,
        })
}

/// A METADATA entry name as the parser gives it (lower case).
fn entry() -> impl Strategy<Value = String> {
    "/(private|shared)(/[a-z0-9.]{1,6}){1,3}"
}

fn mailbox_filter() -> impl Strategy<Value = MailboxFilter> {
    prop_oneof![
        select(vec![
            MailboxFilter::Selected,
            MailboxFilter::Inboxes,
            MailboxFilter::Personal,
            MailboxFilter::Subscribed,
        ]),
        vec(mailbox(), 1..3).prop_map(MailboxFilter::Subtree),
        vec(mailbox(), 1..3).prop_map(MailboxFilter::SubtreeOne),
        vec(mailbox(), 1..3).prop_map(MailboxFilter::Mailboxes),
    ]
}

fn notify_set() -> impl Strategy<Value = Option<NotifySet>> {
    let filter = prop_oneof![
        select(vec![
            MailboxFilter::Selected,
            MailboxFilter::SelectedDelayed,
            MailboxFilter::Inboxes,
            MailboxFilter::Personal,
            MailboxFilter::Subscribed,
        ]),
        vec(mailbox(), 1..3).prop_map(MailboxFilter::Subtree),
        vec(mailbox(), 1..3).prop_map(MailboxFilter::Mailboxes),
    ];
    let event = prop_oneof![
        select(vec![
            Event::MessageExpunge,
            Event::FlagChange,
            Event::AnnotationChange,
            Event::MailboxName,
            Event::SubscriptionChange,
            Event::MailboxMetadataChange,
            Event::ServerMetadataChange,
        ]),
        vec(fetch_item(), 0..3).prop_map(Event::MessageNew),
        "X[a-z]{1,6}".prop_map(Event::Other),
    ];
    let group =
        (filter, vec(event, 0..3)).prop_map(|(filter, events)| EventGroup { filter, events });
    proptest::option::of(
        (any::<bool>(), vec(group, 1..3)).prop_map(|(status, groups)| NotifySet { status, groups }),
    )
}

fn metadata_commands() -> impl Strategy<Value = Command> {
    let depth = select(vec![Depth::Zero, Depth::One, Depth::Infinity]);
    let value = proptest::option::of(vec(any::<u8>(), 0..20));
    prop_oneof![
        (
            mailbox(),
            vec(entry(), 1..4),
            proptest::option::of(0..=NUMBER64_MAX),
            depth
        )
            .prop_map(|(mailbox, entries, max_size, depth)| Command::GetMetadata {
                mailbox,
                entries,
                max_size,
                depth
            }),
        (mailbox(), vec((entry(), value), 1..4))
            .prop_map(|(mailbox, values)| Command::SetMetadata { mailbox, values }),
    ]
}

/// A set of numbers a client knows: no `*`, no `$`.
fn known_set() -> impl Strategy<Value = SequenceSet> {
    let number = || nz().prop_map(SeqNumber::Number);
    vec((number(), number()), 1..4).prop_map(SequenceSet::Ranges)
}

fn qresync() -> impl Strategy<Value = QResync> {
    (
        nz(),
        1..=NUMBER64_MAX,
        proptest::option::of(known_set()),
        proptest::option::of((known_set(), known_set())),
    )
        .prop_map(|(uid_validity, modseq, known_uids, seq_match)| QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        })
}

fn modseq_entry() -> impl Strategy<Value = ModSeqEntry> {
    let flag = prop_oneof![
        atom(),
        Just("\\Seen".to_owned()),
        Just("\\Answered".to_owned())
    ];
    let kind = select(vec![EntryKind::Private, EntryKind::Shared, EntryKind::All]);
    (flag, kind).prop_map(|(flag, kind)| ModSeqEntry { flag, kind })
}

fn date() -> impl Strategy<Value = Date> {
    (0i32..=9999, 1u8..=12, 1u8..=31).prop_filter_map("a real day", |(y, m, d)| {
        Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
    })
}

fn date_time() -> impl Strategy<Value = OffsetDateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -1439i32..=1439).prop_map(|(d, h, m, s, zone)| {
        let time = Time::from_hms(h, m, s).expect("in range");
        let offset =
            UtcOffset::from_hms((zone / 60) as i8, (zone % 60) as i8, 0).expect("in range");
        PrimitiveDateTime::new(d, time).assume_offset(offset)
    })
}

/// A flag that STORE and APPEND may set: no `\Recent`, and no extension that is a
/// system flag by another spelling.
fn settable_flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        select(vec![
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft
        ]),
        atom().prop_map(Flag::Keyword),
        atom()
            .prop_filter("not a system flag", |a| {
                !["Seen", "Answered", "Flagged", "Deleted", "Draft", "Recent"]
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(a))
            })
            .prop_map(Flag::Extension),
    ]
}

fn status_items() -> impl Strategy<Value = Vec<StatusItem>> {
    vec(
        select(vec![
            StatusItem::Messages,
            StatusItem::UidNext,
            StatusItem::UidValidity,
            StatusItem::Unseen,
            StatusItem::Deleted,
            StatusItem::Size,
            StatusItem::Recent,
            StatusItem::HighestModSeq,
            StatusItem::AppendLimit,
            StatusItem::DeletedStorage,
            StatusItem::MailboxId,
        ]),
        1..4,
    )
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    use SearchKey as K;
    let leaf = prop_oneof![
        select(vec![
            K::All,
            K::Answered,
            K::Deleted,
            K::Draft,
            K::Flagged,
            K::New,
            K::Old,
            K::Recent,
            K::Seen,
            K::Unanswered,
            K::Undeleted,
            K::Undraft,
            K::Unflagged,
            K::Unseen,
            K::SaveDateSupported,
        ]),
        string().prop_map(K::Bcc),
        string().prop_map(K::Body),
        string().prop_map(K::Cc),
        string().prop_map(K::From),
        string().prop_map(K::Subject),
        string().prop_map(K::Text),
        string().prop_map(K::To),
        (string(), string()).prop_map(|(n, v)| K::Header(n, v)),
        atom().prop_map(K::Keyword),
        atom().prop_map(K::Unkeyword),
        date().prop_map(K::Before),
        date().prop_map(K::On),
        date().prop_map(K::Since),
        date().prop_map(K::SentBefore),
        date().prop_map(K::SentOn),
        date().prop_map(K::SentSince),
        date().prop_map(K::SavedBefore),
        nz().prop_map(K::Older),
        "[A-Za-z0-9_-]{1,20}".prop_map(K::EmailId),
        "[A-Za-z0-9_-]{1,20}".prop_map(K::ThreadId),
        nz().prop_map(K::Younger),
        date().prop_map(K::SavedOn),
        date().prop_map(K::SavedSince),
        (0..=NUMBER64_MAX).prop_map(K::Larger),
        (0..=NUMBER64_MAX).prop_map(K::Smaller),
        sequence_set().prop_map(K::Uid),
        sequence_set().prop_map(K::Sequence),
        (proptest::option::of(modseq_entry()), 0..=NUMBER64_MAX)
            .prop_map(|(entry, modseq)| K::ModSeq { entry, modseq }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| K::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..4).prop_map(K::And),
        ]
    })
}

fn partial_range() -> impl Strategy<Value = PartialRange> {
    (any::<bool>(), nz(), nz()).prop_map(|(from_end, first, last)| PartialRange {
        from_end,
        first,
        last,
    })
}

fn search_returns() -> impl Strategy<Value = Option<Vec<SearchReturn>>> {
    let option = prop_oneof![
        select(vec![
            SearchReturn::Min,
            SearchReturn::Max,
            SearchReturn::All,
            SearchReturn::Count,
            SearchReturn::Save,
        ]),
        partial_range().prop_map(SearchReturn::Partial),
    ];
    proptest::option::of(vec(option, 0..4))
}

fn charset() -> impl Strategy<Value = String> {
    prop_oneof![atom(), "[A-Za-z0-9 -]{0,10}"]
}

/// The keys of a search: one, or several ANDed at the top.
fn search_keys() -> impl Strategy<Value = SearchKey> {
    prop_oneof![
        search_key(),
        vec(search_key(), 2..4).prop_map(SearchKey::And)
    ]
}

fn search() -> impl Strategy<Value = Search> {
    let charset = proptest::option::of(charset());
    (any::<bool>(), search_returns(), charset, search_keys()).prop_map(
        |(uid, returns, charset, key)| Search {
            uid,
            returns,
            charset,
            key,
        },
    )
}

fn sort() -> impl Strategy<Value = Sort> {
    let key = select(SortKey::ALL.to_vec());
    let criterion = (any::<bool>(), key).prop_map(|(reverse, key)| SortCriterion { reverse, key });
    (
        any::<bool>(),
        search_returns(),
        vec(criterion, 1..4),
        charset(),
        search_keys(),
    )
        .prop_map(|(uid, returns, criteria, charset, key)| Sort {
            uid,
            returns,
            criteria,
            charset,
            key,
        })
}

fn thread() -> impl Strategy<Value = Thread> {
    let algorithm = select(vec![
        ThreadAlgorithm::OrderedSubject,
        ThreadAlgorithm::References,
    ]);
    (any::<bool>(), algorithm, charset(), search_keys()).prop_map(
        |(uid, algorithm, charset, key)| Thread {
            uid,
            algorithm,
            charset,
            key,
        },
    )
}

fn part() -> impl Strategy<Value = Vec<u32>> {
    vec(nz(), 0..4)
}

fn partial() -> impl Strategy<Value = Option<Partial>> {
    proptest::option::of(
        (any::<u32>(), nz()).prop_map(|(offset, length)| Partial { offset, length }),
    )
}

fn section() -> impl Strategy<Value = Section> {
    let text = proptest::option::of(prop_oneof![
        Just(SectionText::Header),
        Just(SectionText::Text),
        Just(SectionText::Mime),
        (any::<bool>(), vec(string(), 1..4))
            .prop_map(|(not, fields)| SectionText::HeaderFields { not, fields }),
    ]);
    (part(), text).prop_map(|(part, text)| {
        // MIME is the header of a part: only after a part number.
        let text = match text {
            Some(SectionText::Mime) if part.is_empty() => Some(SectionText::Header),
            t => t,
        };
        Section { part, text }
    })
}

fn fetch_item() -> impl Strategy<Value = FetchItem> {
    prop_oneof![
        select(vec![
            FetchItem::Envelope,
            FetchItem::Flags,
            FetchItem::InternalDate,
            FetchItem::Uid,
            FetchItem::Rfc822,
            FetchItem::Rfc822Header,
            FetchItem::Rfc822Size,
            FetchItem::Rfc822Text,
            FetchItem::Body,
            FetchItem::BodyStructure,
            FetchItem::ModSeq,
            FetchItem::SaveDate,
            FetchItem::EmailId,
            FetchItem::ThreadId,
            FetchItem::Preview { lazy: false },
            FetchItem::Preview { lazy: true },
        ]),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| {
            FetchItem::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), part(), partial()).prop_map(|(peek, part, partial)| FetchItem::Binary {
            peek,
            part,
            partial
        }),
        part().prop_map(FetchItem::BinarySize),
    ]
}

fn list() -> impl Strategy<Value = List> {
    let selection = vec(
        select(vec![
            ListSelect::Subscribed,
            ListSelect::Remote,
            ListSelect::RecursiveMatch,
            ListSelect::SpecialUse,
        ]),
        0..4,
    )
    .prop_map(|mut s| {
        let base = s
            .iter()
            .any(|o| matches!(o, ListSelect::Subscribed | ListSelect::SpecialUse));
        if s.contains(&ListSelect::RecursiveMatch) && !base {
            s.push(ListSelect::Subscribed);
        }
        s
    });
    let returns = vec(
        prop_oneof![
            Just(ListReturn::Subscribed),
            Just(ListReturn::Children),
            Just(ListReturn::SpecialUse),
            status_items().prop_map(ListReturn::Status),
            vec(entry(), 1..3).prop_map(ListReturn::Metadata),
        ],
        0..3,
    );
    (mailbox(), vec(pattern(), 1..3), selection, returns).prop_map(
        |(reference, patterns, selection, returns)| List {
            reference,
            patterns,
            selection,
            returns,
        },
    )
}

fn id() -> impl Strategy<Value = Option<Vec<(String, Option<String>)>>> {
    let field = "[^\\x00]{0,7}";
    let value = proptest::option::of(string());
    proptest::option::of(vec((field, value), 0..5))
}

fn command() -> impl Strategy<Value = Command> {
    // Command is not Clone (a literal may be a file), so no Just or select.
    let simple = (0..10usize).prop_map(|i| match i {
        0 => Command::Capability,
        1 => Command::Noop,
        2 => Command::Logout,
        3 => Command::StartTls,
        4 => Command::Namespace,
        5 => Command::Idle,
        6 => Command::Close,
        7 => Command::Check,
        8 => Command::Unauthenticate,
        _ => Command::Unselect,
    });
    let initial = prop_oneof![
        Just(None),
        Just(Some("=".to_owned())),
        vec(any::<u8>(), 1..40)
            .prop_map(|b| Some(base64::engine::general_purpose::STANDARD.encode(b))),
    ];
    prop_oneof![
        simple,
        id().prop_map(Command::Id),
        (atom(), initial).prop_map(|(m, initial)| Command::Authenticate {
            mechanism: m.to_ascii_uppercase(),
            initial
        }),
        (string(), string()).prop_map(|(user, password)| Command::Login { user, password }),
        vec(atom(), 1..4).prop_map(Command::Enable),
        atom().prop_map(|a| Command::Compress(a.to_ascii_uppercase())),
        string().prop_map(Command::GetQuota),
        metadata_commands(),
        notify_set().prop_map(Command::Notify),
        mailbox().prop_map(Command::GetQuotaRoot),
        (
            string(),
            vec(
                (
                    atom().prop_map(|a| a.to_ascii_uppercase()),
                    0..=NUMBER64_MAX
                ),
                0..3
            )
        )
            .prop_map(|(root, limits)| Command::SetQuota { root, limits }),
        (
            mailbox(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(qresync())
        )
            .prop_map(|(mailbox, read_only, condstore, qresync)| Command::Select {
                mailbox,
                read_only,
                condstore,
                qresync
            }),
        (mailbox(), vec(atom().prop_map(|a| format!("\\{a}")), 0..3)).prop_map(
            |(mailbox, special_use)| Command::Create {
                mailbox,
                special_use
            }
        ),
        mailbox().prop_map(Command::Delete),
        (mailbox(), mailbox()).prop_map(|(from, to)| Command::Rename { from, to }),
        mailbox().prop_map(Command::Subscribe),
        mailbox().prop_map(Command::Unsubscribe),
        list().prop_map(Command::List),
        (mailbox(), pattern())
            .prop_map(|(reference, pattern)| Command::Lsub { reference, pattern }),
        (mailbox(), status_items()).prop_map(|(mailbox, items)| Command::Status { mailbox, items }),
        (mailbox(), vec(append_message(), 1..4))
            .prop_map(|(mailbox, messages)| Command::Append { mailbox, messages }),
        (any::<bool>(), seq_number(), mailbox(), append_message()).prop_map(
            |(uid, number, mailbox, message)| Command::Replace {
                uid,
                number,
                mailbox,
                message
            }
        ),
        proptest::option::of(sequence_set()).prop_map(|uids| Command::Expunge { uids }),
        search().prop_map(Command::Search),
        (proptest::option::of(vec(mailbox_filter(), 1..3)), search()).prop_map(
            |(sources, mut search)| {
                // ESEARCH is always by UID.
                search.uid = true;
                Command::Esearch { sources, search }
            }
        ),
        sort().prop_map(Command::Sort),
        thread().prop_map(Command::Thread),
        (
            any::<bool>(),
            sequence_set(),
            vec(fetch_item(), 1..5),
            proptest::option::of(0..=NUMBER64_MAX),
            any::<bool>(),
            proptest::option::of(partial_range()),
        )
            .prop_map(|(uid, set, items, changed_since, vanished, partial)| {
                Command::Fetch(Fetch {
                    uid,
                    set,
                    items,
                    changed_since,
                    // Only UID FETCH with CHANGEDSINCE takes VANISHED.
                    vanished: vanished && uid && changed_since.is_some(),
                    partial,
                })
            }),
        (
            any::<bool>(),
            sequence_set(),
            proptest::option::of(0..=NUMBER64_MAX),
            select(vec![
                StoreAction::Replace,
                StoreAction::Add,
                StoreAction::Remove
            ]),
            any::<bool>(),
            vec(settable_flag(), 0..4)
        )
            .prop_map(|(uid, set, unchanged_since, action, silent, flags)| {
                Command::Store(Store {
                    uid,
                    set,
                    unchanged_since,
                    action,
                    silent,
                    flags,
                })
            }),
        (any::<bool>(), sequence_set(), mailbox()).prop_map(|(uid, set, mailbox)| Command::Copy {
            uid,
            set,
            mailbox
        }),
        (any::<bool>(), sequence_set(), mailbox()).prop_map(|(uid, set, mailbox)| Command::Move {
            uid,
            set,
            mailbox
        }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    ("[!#$&',-\\[\\]\\^-z|-~]{1,8}", command()).prop_map(|(tag, command)| Request { tag, command })
}

// ---- the writer --------------------------------------------------------------------

/// Writes a request as a client could, choosing among the allowed forms with a seeded
/// generator: the command text with literal markers, and the literals' octets.
struct Writer {
    text: String,
    literals: Vec<Literal>,
    state: u64,
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '(' | ')' | '{' | '%' | '*' | '"' | '\\' | ']')
}

impl Writer {
    fn new(seed: u64) -> Self {
        Writer {
            text: String::new(),
            literals: Vec::new(),
            state: seed | 1,
        }
    }

    fn coin(&mut self) -> bool {
        // xorshift64: choices that replay with the seed.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state & 1 == 1
    }

    fn raw(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn sp(&mut self) {
        self.text.push(' ');
    }

    /// A keyword in a random mix of cases.
    fn kw(&mut self, keyword: &str) {
        for c in keyword.chars() {
            let c = if self.coin() {
                c.to_ascii_lowercase()
            } else {
                c
            };
            self.text.push(c);
        }
    }

    fn number(&mut self, n: impl std::fmt::Display) {
        self.text.push_str(&n.to_string());
    }

    /// A number64, where leading zeros are allowed.
    fn number64(&mut self, n: u64) {
        if self.coin() && self.coin() {
            self.text.push('0');
        }
        self.number(n);
    }

    fn literal(&mut self, bytes: &[u8], literal8: bool) {
        let plus = if self.coin() { "+" } else { "" };
        let tilde = if literal8 { "~" } else { "" };
        self.text
            .push_str(&format!("{tilde}{{{}{plus}}}", bytes.len()));
        self.literals.push(Literal::Memory(bytes.to_vec()));
    }

    /// A string: quoted when it can be and the coin says so, else a literal.
    fn string(&mut self, s: &str) {
        if !s.contains(['\r', '\n']) && self.coin() {
            self.text.push('"');
            for c in s.chars() {
                if matches!(c, '"' | '\\') {
                    self.text.push('\\');
                }
                self.text.push(c);
            }
            self.text.push('"');
        } else {
            self.literal(s.as_bytes(), false);
        }
    }

    fn astring(&mut self, s: &str) {
        if !s.is_empty() && s.chars().all(|c| is_atom_char(c) || c == ']') && self.coin() {
            self.raw(s);
        } else {
            self.string(s);
        }
    }

    fn mailbox(&mut self, s: &str) {
        if s == "INBOX" && self.coin() {
            self.kw("INBOX");
        } else {
            self.astring(s);
        }
    }

    fn list_mailbox(&mut self, s: &str) {
        let list_char = |c: char| is_atom_char(c) || matches!(c, '%' | '*' | ']');
        if !s.is_empty() && s.chars().all(list_char) && self.coin() {
            self.raw(s);
        } else {
            self.string(s);
        }
    }

    /// Items separated by SP, each written by `each`.
    fn joined<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.sp();
            }
            each(self, item);
        }
    }

    fn parenthesized<T>(&mut self, items: &[T], each: impl FnMut(&mut Self, &T)) {
        self.raw("(");
        self.joined(items, each);
        self.raw(")");
    }

    fn mailbox_filter(&mut self, filter: &MailboxFilter) {
        let (word, names) = match filter {
            MailboxFilter::Selected => ("selected", None),
            MailboxFilter::SelectedDelayed => ("selected-delayed", None),
            MailboxFilter::Inboxes => ("inboxes", None),
            MailboxFilter::Personal => ("personal", None),
            MailboxFilter::Subscribed => ("subscribed", None),
            MailboxFilter::Subtree(names) => ("subtree ", Some(names.as_slice())),
            MailboxFilter::SubtreeOne(names) => ("subtree-one ", Some(names.as_slice())),
            MailboxFilter::Mailboxes(names) => ("mailboxes ", Some(names.as_slice())),
        };
        self.kw(word);
        match names {
            Some([one]) if self.coin() => self.mailbox(one),
            Some(names) => self.parenthesized(names, |w, n| w.mailbox(n)),
            None => {}
        }
    }

    fn event(&mut self, event: &Event) {
        let name = match event {
            Event::MessageNew(items) => {
                self.kw("MessageNew");
                if !items.is_empty() {
                    self.sp();
                    self.parenthesized(items, Self::fetch_item);
                }
                return;
            }
            Event::MessageExpunge => "MessageExpunge",
            Event::FlagChange => "FlagChange",
            Event::AnnotationChange => "AnnotationChange",
            Event::MailboxName => "MailboxName",
            Event::SubscriptionChange => "SubscriptionChange",
            Event::MailboxMetadataChange => "MailboxMetadataChange",
            Event::ServerMetadataChange => "ServerMetadataChange",
            // Kept as sent: unknown names are not case-folded.
            Event::Other(name) => return self.raw(name),
        };
        self.kw(name);
    }

    /// METADATA entries: one alone, or any number in parentheses.
    fn entries(&mut self, entries: &[String]) {
        match entries {
            [one] if self.coin() => self.astring(one),
            _ => self.parenthesized(entries, |w, e| w.astring(e)),
        }
    }

    /// One message of APPEND or REPLACE, with the SP before it.
    fn append_message(&mut self, message: &AppendMessage) {
        if !message.flags.is_empty() || self.coin() {
            self.sp();
            self.parenthesized(&message.flags, Self::flag);
        }
        if let Some(date) = message.date {
            self.sp();
            self.date_time(date);
        }
        self.sp();
        let bytes = message.data.bytes().expect("in memory").into_owned();
        if message.utf8 {
            self.kw("UTF8 (");
            self.literal(&bytes, true);
            return self.raw(")");
        }
        let literal8 = bytes.contains(&0) || self.coin();
        self.literal(&bytes, literal8);
    }

    fn seq_number(&mut self, n: SeqNumber) {
        match n {
            SeqNumber::Number(n) => self.number(n),
            SeqNumber::Last => self.raw("*"),
        }
    }

    fn sequence_set(&mut self, set: &SequenceSet) {
        match set {
            SequenceSet::Saved => self.raw("$"),
            SequenceSet::Ranges(ranges) => {
                for (i, (a, b)) in ranges.iter().enumerate() {
                    if i > 0 {
                        self.raw(",");
                    }
                    self.seq_number(*a);
                    if a != b || self.coin() {
                        self.raw(":");
                        self.seq_number(*b);
                    }
                }
            }
        }
    }

    fn flag(&mut self, flag: &Flag) {
        match flag {
            Flag::Seen => self.kw("\\Seen"),
            Flag::Answered => self.kw("\\Answered"),
            Flag::Flagged => self.kw("\\Flagged"),
            Flag::Deleted => self.kw("\\Deleted"),
            Flag::Draft => self.kw("\\Draft"),
            Flag::Recent => self.kw("\\Recent"),
            Flag::Keyword(k) => self.raw(k),
            Flag::Extension(e) => {
                self.raw("\\");
                self.raw(e);
            }
        }
    }

    fn month(&mut self, month: Month) {
        let name = month.to_string();
        self.kw(&name[..3]);
    }

    fn date(&mut self, date: Date) {
        let quoted = self.coin();
        if quoted {
            self.raw("\"");
        }
        if date.day() < 10 && self.coin() {
            self.raw("0");
        }
        self.number(date.day());
        self.raw("-");
        self.month(date.month());
        self.raw(&format!("-{:04}", date.year()));
        if quoted {
            self.raw("\"");
        }
    }

    fn date_time(&mut self, at: OffsetDateTime) {
        let day = at.day();
        let pad = if day >= 10 {
            ""
        } else if self.coin() {
            " "
        } else {
            "0"
        };
        self.raw(&format!("\"{pad}{day}-"));
        self.month(at.month());
        let offset = at.offset();
        let sign = if offset.is_negative() { '-' } else { '+' };
        self.raw(&format!(
            "-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}\"",
            at.year(),
            at.hour(),
            at.minute(),
            at.second(),
            offset.whole_hours().unsigned_abs(),
            offset.minutes_past_hour().unsigned_abs(),
        ));
    }

    fn search_key(&mut self, key: &SearchKey) {
        use SearchKey as K;
        let (word, arg): (&str, Option<&str>) = match key {
            K::All => ("ALL", None),
            K::Answered => ("ANSWERED", None),
            K::Deleted => ("DELETED", None),
            K::Draft => ("DRAFT", None),
            K::Flagged => ("FLAGGED", None),
            K::New => ("NEW", None),
            K::Old => ("OLD", None),
            K::Recent => ("RECENT", None),
            K::Seen => ("SEEN", None),
            K::Unanswered => ("UNANSWERED", None),
            K::SaveDateSupported => ("SAVEDATESUPPORTED", None),
            K::Undeleted => ("UNDELETED", None),
            K::Undraft => ("UNDRAFT", None),
            K::Unflagged => ("UNFLAGGED", None),
            K::Unseen => ("UNSEEN", None),
            K::Bcc(s) => ("BCC", Some(s)),
            K::Body(s) => ("BODY", Some(s)),
            K::Cc(s) => ("CC", Some(s)),
            K::From(s) => ("FROM", Some(s)),
            K::Subject(s) => ("SUBJECT", Some(s)),
            K::Text(s) => ("TEXT", Some(s)),
            K::To(s) => ("TO", Some(s)),
            K::Header(name, value) => {
                self.kw("HEADER");
                self.sp();
                self.astring(name);
                self.sp();
                return self.astring(value);
            }
            K::Keyword(k) | K::Unkeyword(k) => {
                self.kw(if matches!(key, K::Keyword(_)) {
                    "KEYWORD"
                } else {
                    "UNKEYWORD"
                });
                self.sp();
                return self.raw(k);
            }
            K::Before(d)
            | K::On(d)
            | K::Since(d)
            | K::SentBefore(d)
            | K::SentOn(d)
            | K::SentSince(d)
            | K::SavedBefore(d)
            | K::SavedOn(d)
            | K::SavedSince(d) => {
                self.kw(match key {
                    K::Before(_) => "BEFORE",
                    K::On(_) => "ON",
                    K::Since(_) => "SINCE",
                    K::SentBefore(_) => "SENTBEFORE",
                    K::SentOn(_) => "SENTON",
                    K::SentSince(_) => "SENTSINCE",
                    K::SavedBefore(_) => "SAVEDBEFORE",
                    K::SavedOn(_) => "SAVEDON",
                    _ => "SAVEDSINCE",
                });
                self.sp();
                return self.date(*d);
            }
            K::EmailId(id) | K::ThreadId(id) => {
                self.kw(if matches!(key, K::EmailId(_)) {
                    "EMAILID"
                } else {
                    "THREADID"
                });
                self.sp();
                return self.raw(id);
            }
            K::Older(n) | K::Younger(n) => {
                self.kw(if matches!(key, K::Older(_)) {
                    "OLDER"
                } else {
                    "YOUNGER"
                });
                self.sp();
                return self.number(*n);
            }
            K::Larger(n) | K::Smaller(n) => {
                self.kw(if matches!(key, K::Larger(_)) {
                    "LARGER"
                } else {
                    "SMALLER"
                });
                self.sp();
                return self.number64(*n);
            }
            K::Uid(set) => {
                self.kw("UID");
                self.sp();
                return self.sequence_set(set);
            }
            K::Sequence(set) => return self.sequence_set(set),
            K::ModSeq { entry, modseq } => {
                self.kw("MODSEQ ");
                if let Some(e) = entry {
                    self.raw(&format!("\"/flags/{}\" ", e.flag.replace('\\', "\\\\")));
                    self.kw(match e.kind {
                        EntryKind::Private => "priv",
                        EntryKind::Shared => "shared",
                        EntryKind::All => "all",
                    });
                    self.sp();
                }
                return self.number64(*modseq);
            }
            K::Not(k) => {
                self.kw("NOT");
                self.sp();
                return self.search_key(k);
            }
            K::Or(a, b) => {
                self.kw("OR");
                self.sp();
                self.search_key(a);
                self.sp();
                return self.search_key(b);
            }
            K::And(keys) => return self.parenthesized(keys, |w, k| w.search_key(k)),
        };
        self.kw(word);
        if let Some(arg) = arg {
            self.sp();
            self.astring(arg);
        }
    }

    fn part(&mut self, part: &[u32]) {
        for (i, n) in part.iter().enumerate() {
            if i > 0 {
                self.raw(".");
            }
            self.number(n);
        }
    }

    fn partial(&mut self, partial: &Option<Partial>) {
        if let Some(p) = partial {
            self.raw("<");
            self.number64(u64::from(p.offset));
            self.raw(".");
            self.number(p.length);
            self.raw(">");
        }
    }

    fn fetch_item(&mut self, item: &FetchItem) {
        match item {
            FetchItem::Envelope => self.kw("ENVELOPE"),
            FetchItem::Flags => self.kw("FLAGS"),
            FetchItem::InternalDate => self.kw("INTERNALDATE"),
            FetchItem::Uid => self.kw("UID"),
            FetchItem::Rfc822 => self.kw("RFC822"),
            FetchItem::Rfc822Header => self.kw("RFC822.HEADER"),
            FetchItem::Rfc822Size => self.kw("RFC822.SIZE"),
            FetchItem::Rfc822Text => self.kw("RFC822.TEXT"),
            FetchItem::Body => self.kw("BODY"),
            FetchItem::BodyStructure => self.kw("BODYSTRUCTURE"),
            FetchItem::ModSeq => self.kw("MODSEQ"),
            FetchItem::SaveDate => self.kw("SAVEDATE"),
            FetchItem::EmailId => self.kw("EMAILID"),
            FetchItem::ThreadId => self.kw("THREADID"),
            FetchItem::Preview { lazy } => {
                self.kw("PREVIEW");
                if *lazy {
                    self.sp();
                    self.kw("(LAZY)");
                }
            }
            FetchItem::BodySection {
                peek,
                section,
                partial,
            } => {
                self.kw(if *peek { "BODY.PEEK[" } else { "BODY[" });
                self.part(&section.part);
                if let Some(text) = &section.text {
                    if !section.part.is_empty() {
                        self.raw(".");
                    }
                    match text {
                        SectionText::Header => self.kw("HEADER"),
                        SectionText::Text => self.kw("TEXT"),
                        SectionText::Mime => self.kw("MIME"),
                        SectionText::HeaderFields { not, fields } => {
                            self.kw(if *not {
                                "HEADER.FIELDS.NOT"
                            } else {
                                "HEADER.FIELDS"
                            });
                            self.sp();
                            self.parenthesized(fields, |w, f| w.astring(f));
                        }
                    }
                }
                self.raw("]");
                self.partial(partial);
            }
            FetchItem::Binary {
                peek,
                part,
                partial,
            } => {
                self.kw(if *peek { "BINARY.PEEK[" } else { "BINARY[" });
                self.part(part);
                self.raw("]");
                self.partial(partial);
            }
            FetchItem::BinarySize(part) => {
                self.kw("BINARY.SIZE[");
                self.part(part);
                self.raw("]");
            }
        }
    }

    fn status_item(&mut self, item: &StatusItem) {
        self.kw(match item {
            StatusItem::Messages => "MESSAGES",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::Recent => "RECENT",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
            StatusItem::MailboxId => "MAILBOXID",
        });
    }

    fn uid(&mut self, uid: bool) {
        if uid {
            self.kw("UID");
            self.sp();
        }
    }

    fn command(&mut self, command: &Command) {
        match command {
            Command::Capability => self.kw("CAPABILITY"),
            Command::Noop => self.kw("NOOP"),
            Command::Check => self.kw("CHECK"),
            Command::Logout => self.kw("LOGOUT"),
            Command::StartTls => self.kw("STARTTLS"),
            Command::Namespace => self.kw("NAMESPACE"),
            Command::Idle => self.kw("IDLE"),
            Command::Close => self.kw("CLOSE"),
            Command::Unselect => self.kw("UNSELECT"),
            Command::Unauthenticate => self.kw("UNAUTHENTICATE"),
            Command::Compress(algorithm) => {
                self.kw("COMPRESS ");
                self.kw(algorithm);
            }
            Command::Notify(None) => self.kw("NOTIFY NONE"),
            Command::Notify(Some(set)) => {
                self.kw("NOTIFY SET");
                if set.status {
                    self.kw(" STATUS");
                }
                for group in &set.groups {
                    self.raw(" (");
                    self.mailbox_filter(&group.filter);
                    self.sp();
                    if group.events.is_empty() {
                        self.kw("NONE");
                    } else {
                        self.parenthesized(&group.events, Self::event);
                    }
                    self.raw(")");
                }
            }
            Command::GetMetadata {
                mailbox,
                entries,
                max_size,
                depth,
            } => {
                self.kw("GETMETADATA ");
                let mut options = Vec::new();
                if let Some(n) = max_size {
                    options.push(format!("MAXSIZE {n}"));
                }
                match depth {
                    Depth::Zero if !self.coin() => {}
                    Depth::Zero => options.push("DEPTH 0".into()),
                    Depth::One => options.push("DEPTH 1".into()),
                    Depth::Infinity => options.push("DEPTH infinity".into()),
                }
                if !options.is_empty() {
                    self.raw("(");
                    self.kw(&options.join(" "));
                    self.raw(") ");
                }
                self.mailbox(mailbox);
                self.sp();
                self.entries(entries);
            }
            Command::SetMetadata { mailbox, values } => {
                self.kw("SETMETADATA ");
                self.mailbox(mailbox);
                self.sp();
                self.parenthesized(values, |w, (entry, value)| {
                    w.astring(entry);
                    w.sp();
                    match value {
                        None => w.kw("NIL"),
                        Some(bytes) if bytes.contains(&0) || w.coin() => w.literal(bytes, true),
                        Some(bytes) => w.literal(bytes, false),
                    }
                });
            }
            Command::GetQuota(root) => {
                self.kw("GETQUOTA ");
                self.astring(root);
            }
            Command::GetQuotaRoot(mailbox) => {
                self.kw("GETQUOTAROOT ");
                self.mailbox(mailbox);
            }
            Command::SetQuota { root, limits } => {
                self.kw("SETQUOTA ");
                self.astring(root);
                self.sp();
                self.parenthesized(limits, |w, (name, limit)| {
                    w.kw(name);
                    w.sp();
                    w.number64(*limit);
                });
            }
            Command::Id(None) => self.kw("ID NIL"),
            Command::Id(Some(pairs)) => {
                self.kw("ID ");
                self.parenthesized(pairs, |w, (field, value)| {
                    w.string(field);
                    w.sp();
                    match value {
                        Some(v) => w.string(v),
                        None => w.kw("NIL"),
                    }
                });
            }
            Command::Authenticate { mechanism, initial } => {
                self.kw("AUTHENTICATE ");
                self.kw(mechanism);
                if let Some(i) = initial {
                    self.sp();
                    self.raw(i);
                }
            }
            Command::Login { user, password } => {
                self.kw("LOGIN ");
                self.astring(user);
                self.sp();
                self.astring(password);
            }
            Command::Enable(caps) => {
                self.kw("ENABLE ");
                self.joined(caps, |w, c| w.raw(c));
            }
            Command::Select {
                mailbox,
                read_only,
                condstore,
                qresync,
            } => {
                self.kw(if *read_only { "EXAMINE " } else { "SELECT " });
                self.mailbox(mailbox);
                self.select_params(*condstore, qresync.as_ref());
            }
            Command::Create {
                mailbox,
                special_use,
            } => {
                self.kw("CREATE ");
                self.mailbox(mailbox);
                if !special_use.is_empty() || self.coin() {
                    self.kw(" (USE ");
                    self.parenthesized(special_use, |w, u| w.raw(u));
                    self.raw(")");
                }
            }
            Command::Delete(m) => {
                self.kw("DELETE ");
                self.mailbox(m);
            }
            Command::Rename { from, to } => {
                self.kw("RENAME ");
                self.mailbox(from);
                self.sp();
                self.mailbox(to);
            }
            Command::Subscribe(m) => {
                self.kw("SUBSCRIBE ");
                self.mailbox(m);
            }
            Command::Unsubscribe(m) => {
                self.kw("UNSUBSCRIBE ");
                self.mailbox(m);
            }
            Command::List(list) => self.list(list),
            Command::Lsub { reference, pattern } => {
                self.kw("LSUB ");
                self.mailbox(reference);
                self.sp();
                self.list_mailbox(pattern);
            }
            Command::Status { mailbox, items } => {
                self.kw("STATUS ");
                self.mailbox(mailbox);
                self.sp();
                self.parenthesized(items, Self::status_item);
            }
            Command::Append { mailbox, messages } => {
                self.kw("APPEND ");
                self.mailbox(mailbox);
                for message in messages {
                    self.append_message(message);
                }
            }
            Command::Replace {
                uid,
                number,
                mailbox,
                message,
            } => {
                self.uid(*uid);
                self.kw("REPLACE ");
                self.seq_number(*number);
                self.sp();
                self.mailbox(mailbox);
                self.append_message(message);
            }
            Command::Expunge { uids: None } => self.kw("EXPUNGE"),
            Command::Expunge { uids: Some(set) } => {
                self.kw("UID EXPUNGE ");
                self.sequence_set(set);
            }
            Command::Search(search) => self.search(search),
            Command::Esearch { sources, search } => {
                self.kw("ESEARCH");
                if let Some(sources) = sources {
                    self.kw(" IN (");
                    self.joined(sources, Self::mailbox_filter);
                    self.raw(")");
                }
                self.search_returns(search.returns.as_deref());
                self.sp();
                if let Some(charset) = &search.charset {
                    self.kw("CHARSET ");
                    self.charset(charset);
                    self.sp();
                }
                self.search_keys(&search.key);
            }
            Command::Sort(sort) => self.sort(sort),
            Command::Thread(thread) => self.thread(thread),
            Command::Fetch(fetch) => self.fetch(fetch),
            Command::Store(store) => self.store(store),
            Command::Copy { uid, set, mailbox } | Command::Move { uid, set, mailbox } => {
                self.uid(*uid);
                self.kw(if matches!(command, Command::Copy { .. }) {
                    "COPY "
                } else {
                    "MOVE "
                });
                self.sequence_set(set);
                self.sp();
                self.mailbox(mailbox);
            }
        }
    }

    fn list(&mut self, list: &List) {
        self.kw("LIST ");
        if !list.selection.is_empty() || self.coin() {
            self.parenthesized(&list.selection, |w, s| {
                w.kw(match s {
                    ListSelect::Subscribed => "SUBSCRIBED",
                    ListSelect::Remote => "REMOTE",
                    ListSelect::RecursiveMatch => "RECURSIVEMATCH",
                    ListSelect::SpecialUse => "SPECIAL-USE",
                })
            });
            self.sp();
        }
        self.mailbox(&list.reference);
        self.sp();
        if list.patterns.len() == 1 && self.coin() {
            self.list_mailbox(&list.patterns[0]);
        } else {
            self.parenthesized(&list.patterns, |w, p| w.list_mailbox(p));
        }
        if !list.returns.is_empty() || self.coin() {
            self.kw(" RETURN ");
            self.parenthesized(&list.returns, |w, r| match r {
                ListReturn::Subscribed => w.kw("SUBSCRIBED"),
                ListReturn::Children => w.kw("CHILDREN"),
                ListReturn::SpecialUse => w.kw("SPECIAL-USE"),
                ListReturn::Status(items) => {
                    w.kw("STATUS ");
                    w.parenthesized(items, Self::status_item);
                }
                ListReturn::Metadata(entries) => {
                    w.kw("METADATA ");
                    w.entries(entries);
                }
            });
        }
    }

    fn search(&mut self, search: &Search) {
        self.uid(search.uid);
        self.kw("SEARCH");
        self.search_returns(search.returns.as_deref());
        self.sp();
        if let Some(charset) = &search.charset {
            self.kw("CHARSET ");
            self.charset(charset);
            self.sp();
        }
        self.search_keys(&search.key);
    }

    fn sort(&mut self, sort: &Sort) {
        self.uid(sort.uid);
        self.kw("SORT");
        self.search_returns(sort.returns.as_deref());
        self.raw(" ");
        self.parenthesized(&sort.criteria, |w, c| {
            if c.reverse {
                w.kw("REVERSE ");
            }
            w.kw(c.key.name());
        });
        self.sp();
        self.charset(&sort.charset);
        self.sp();
        self.search_keys(&sort.key);
    }

    fn thread(&mut self, thread: &Thread) {
        self.uid(thread.uid);
        self.kw("THREAD ");
        self.kw(match thread.algorithm {
            ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT",
            ThreadAlgorithm::References => "REFERENCES",
        });
        self.sp();
        self.charset(&thread.charset);
        self.sp();
        self.search_keys(&thread.key);
    }

    fn search_returns(&mut self, returns: Option<&[SearchReturn]>) {
        if let Some(returns) = returns {
            self.kw(" RETURN ");
            self.parenthesized(returns, |w, r| match r {
                SearchReturn::Min => w.kw("MIN"),
                SearchReturn::Max => w.kw("MAX"),
                SearchReturn::All => w.kw("ALL"),
                SearchReturn::Count => w.kw("COUNT"),
                SearchReturn::Save => w.kw("SAVE"),
                SearchReturn::Partial(range) => {
                    w.kw("PARTIAL ");
                    w.raw(&range.to_string());
                }
            });
        }
    }

    /// charset = atom / quoted: never a literal.
    fn charset(&mut self, charset: &str) {
        if !charset.is_empty() && charset.chars().all(is_atom_char) && self.coin() {
            self.raw(charset);
        } else {
            self.raw(&format!("\"{charset}\""));
        }
    }

    fn search_keys(&mut self, key: &SearchKey) {
        match key {
            // Several keys at the top are one And; one key in parentheses is an And
            // of one.
            SearchKey::And(keys) if keys.len() > 1 => self.joined(keys, Self::search_key),
            key => self.search_key(key),
        }
    }

    fn select_params(&mut self, condstore: bool, qresync: Option<&QResync>) {
        if !condstore && qresync.is_none() {
            return;
        }
        self.raw(" (");
        // Either order: CONDSTORE before or after QRESYNC.
        let condstore_first = condstore && (qresync.is_none() || self.coin());
        if condstore_first {
            self.kw("CONDSTORE");
        }
        if let Some(q) = qresync {
            if condstore_first {
                self.sp();
            }
            self.qresync(q);
            if condstore && !condstore_first {
                self.kw(" CONDSTORE");
            }
        }
        self.raw(")");
    }

    fn qresync(&mut self, q: &QResync) {
        self.kw("QRESYNC (");
        self.number(q.uid_validity);
        self.sp();
        self.number64(q.modseq);
        if let Some(known) = &q.known_uids {
            self.sp();
            self.sequence_set(known);
        }
        if let Some((seqs, uids)) = &q.seq_match {
            self.raw(" (");
            self.sequence_set(seqs);
            self.sp();
            self.sequence_set(uids);
            self.raw(")");
        }
        self.raw(")");
    }

    fn fetch(&mut self, fetch: &Fetch) {
        use FetchItem as F;
        self.uid(fetch.uid);
        self.kw("FETCH ");
        self.sequence_set(&fetch.set);
        self.sp();
        let fast = [F::Flags, F::InternalDate, F::Rfc822Size];
        let all = [F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope];
        let full = [
            F::Flags,
            F::InternalDate,
            F::Rfc822Size,
            F::Envelope,
            F::Body,
        ];
        let items = fetch.items.as_slice();
        if items == fast {
            self.kw("FAST");
        } else if items == all {
            self.kw("ALL");
        } else if items == full {
            self.kw("FULL");
        } else if items.len() == 1 && self.coin() {
            self.fetch_item(&items[0]);
        } else {
            self.parenthesized(items, Self::fetch_item);
        }
        let mut modifiers = Vec::new();
        if let Some(n) = fetch.changed_since {
            modifiers.push(format!("CHANGEDSINCE {n}"));
        }
        if let Some(range) = fetch.partial {
            modifiers.push(format!("PARTIAL {range}"));
        }
        if fetch.vanished {
            modifiers.push("VANISHED".to_owned());
        }
        if !modifiers.is_empty() {
            if self.coin() {
                modifiers.reverse();
            }
            self.raw(" (");
            self.kw(&modifiers.join(" "));
            self.raw(")");
        }
    }

    fn store(&mut self, store: &Store) {
        self.uid(store.uid);
        self.kw("STORE ");
        self.sequence_set(&store.set);
        if let Some(n) = store.unchanged_since {
            self.kw(" (UNCHANGEDSINCE ");
            self.number64(n);
            self.raw(")");
        }
        self.sp();
        self.raw(match store.action {
            StoreAction::Replace => "",
            StoreAction::Add => "+",
            StoreAction::Remove => "-",
        });
        self.kw("FLAGS");
        if store.silent {
            self.kw(".SILENT");
        }
        self.sp();
        if store.flags.is_empty() || self.coin() {
            self.parenthesized(&store.flags, Self::flag);
        } else {
            self.joined(&store.flags, Self::flag);
        }
    }
}

/// The request as command text and literals.
fn write(request: &Request, seed: u64) -> (String, Vec<Literal>) {
    let mut w = Writer::new(seed);
    w.raw(&request.tag);
    w.sp();
    w.command(&request.command);
    (w.text, w.literals)
}

/// Text that is mostly IMAP words and punctuation, so that mutations reach deep into
/// the grammar.
fn imapish_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        select(vec![
            " ",
            "(",
            ")",
            "[",
            "]",
            "<",
            ">",
            ".",
            ":",
            ",",
            "*",
            "$",
            "%",
            "\"",
            "\\",
            "{",
            "}",
            "~{",
            "+",
            "-",
            "=",
            "0",
            "1",
            "4294967296",
            "A1",
            "UID",
            "FETCH",
            "STORE",
            "SEARCH",
            "LIST",
            "APPEND",
            "LOGIN",
            "BODY",
            "BODY.PEEK",
            "HEADER.FIELDS",
            "MIME",
            "FLAGS",
            "\\Seen",
            "\\Recent",
            "NOT",
            "OR",
            "SINCE",
            "1-Feb-2026",
            "RETURN",
            "CHARSET",
            "STATUS",
            "ID",
            "NIL",
            "{5}",
            "{0}",
            "~{3}",
            "INBOX",
            "\t",
            "é",
        ])
        .prop_map(str::to_owned),
        "[\\x00-\\x7f]{1,3}",
        "\\PC{1,2}",
    ];
    vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn requests_round_trip(request in request(), seed in any::<u64>()) {
        let (text, literals) = write(&request, seed);
        let parsed = parse_command(&text, literals)
            .map_err(|e| TestCaseError::fail(format!("{text:?} was rejected: {e}")))?;
        prop_assert_eq!(parsed, request, "text {:?}", text);
    }

    #[test]
    fn arbitrary_text_never_panics(
        text in imapish_text(),
        literals in vec(vec(any::<u8>(), 0..6), 0..3),
    ) {
        let literals = literals.into_iter().map(Literal::Memory).collect();
        if let Err(e) = parse_command(&text, literals) {
            // It goes into a response line: printable ASCII, and not ending like a
            // literal's marker.
            prop_assert!(!e.message.is_empty());
            prop_assert!(e.message.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "{:?}", e.message);
            prop_assert!(!e.message.ends_with('}'), "{:?}", e.message);
            prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1);
        }
    }

    #[test]
    fn a_valid_tag_is_always_recovered(
        tag in "[!#$&',-\\[\\]\\^-z|-~]{1,8}",
        rest in imapish_text(),
    ) {
        let text = format!("{tag} {rest}");
        if let Err(e) = parse_command(&text, Vec::new()) {
            prop_assert_eq!(e.tag.as_deref(), Some(tag.as_str()), "{}", e.message);
        }
    }

    #[test]
    fn a_mutated_command_never_panics(
        request in request(),
        seed in any::<u64>(),
        at in any::<prop::sample::Index>(),
        with in prop_oneof![Just(String::new()), imapish_text()],
    ) {
        let (text, literals) = write(&request, seed);
        let mut chars: Vec<char> = text.chars().collect();
        let i = at.index(chars.len() + 1);
        chars.splice(i..(i + 1).min(chars.len()), with.chars());
        let text: String = chars.into_iter().collect();
        let _ = parse_command(&text, literals);
    }
}
