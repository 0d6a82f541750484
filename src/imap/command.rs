//! IMAP commands as typed values (RFC 9051 section 6, with the IMAP4rev1 forms that
//! rev1 clients still send and the extensions gannet announces). The parser
//! (`parse.rs`) builds them from the grammar; the server never sees pest.
//!
//! Names and strings are kept as the client sent them: mailbox names are still in
//! modified UTF-7 unless the client enabled UTF8=ACCEPT, which only the session knows.

use std::fs::File;

pub use super::sort::{SortCriterion, SortKey};
pub use super::thread::ThreadAlgorithm;

/// A tagged command line (with its literals), as parsed.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub tag: String,
    pub command: Command,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    // Any state (RFC 9051 6.1).
    Capability,
    Noop,
    Logout,
    /// ID (RFC 2971): the client's field/value pairs, `None` for `ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),

    // Not authenticated (6.2).
    StartTls,
    /// AUTHENTICATE with an optional SASL-IR initial response (RFC 4959), still
    /// base64; `=` (an empty response) is kept as `"="`.
    Authenticate {
        mechanism: String,
        initial: Option<String>,
    },
    Login {
        user: String,
        password: String,
    },

    // Authenticated (6.3).
    /// ENABLE with the capability names, as sent (compare case-insensitively).
    Enable(Vec<String>),
    /// SELECT, or EXAMINE when `read_only`, with the RFC 7162 parameters.
    Select {
        mailbox: String,
        read_only: bool,
        /// `(CONDSTORE)`: enables CONDSTORE.
        condstore: bool,
        /// `(QRESYNC (...))`: what the client knows, to be told what changed since.
        qresync: Option<QResync>,
    },
    /// CREATE, with the RFC 6154 `(USE (...))` attributes if given.
    Create {
        mailbox: String,
        special_use: Vec<String>,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    Subscribe(String),
    Unsubscribe(String),
    List(List),
    /// The IMAP4rev1 LSUB (reference, pattern).
    Lsub {
        reference: String,
        pattern: String,
    },
    Namespace,
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    /// APPEND, with several messages for MULTIAPPEND (RFC 3502), appended all
    /// or none.
    Append {
        mailbox: String,
        messages: Vec<AppendMessage>,
    },
    Idle,
    /// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state, keeping the
    /// connection (and its TLS).
    Unauthenticate,
    /// COMPRESS (RFC 4978) with the algorithm name, upper-cased.
    Compress(String),
    /// NOTIFY SET (RFC 5465), or NOTIFY NONE (`None`).
    Notify(Option<NotifySet>),
    /// GETMETADATA (RFC 5464): entries of a mailbox, or of the server for "".
    GetMetadata {
        mailbox: String,
        entries: Vec<String>,
        /// MAXSIZE: larger values are left out.
        max_size: Option<u64>,
        depth: Depth,
    },
    /// SETMETADATA: entries and their values (`None` for NIL, which removes).
    SetMetadata {
        mailbox: String,
        values: Vec<(String, Option<Vec<u8>>)>,
    },
    /// GETQUOTA with a quota root name (RFC 9208).
    GetQuota(String),
    /// GETQUOTAROOT with a mailbox name.
    GetQuotaRoot(String),
    /// SETQUOTA: a root and its resources' new limits (names upper-cased).
    SetQuota {
        root: String,
        limits: Vec<(String, u64)>,
    },

    // Selected (6.4).
    /// The IMAP4rev1 CHECK (RFC 3501 6.4.1): a checkpoint, which for gannet (every
    /// change is committed at once) is a NOOP in the selected state.
    Check,
    Close,
    Unselect,
    /// EXPUNGE, or UID EXPUNGE with its UID set (RFC 4315).
    Expunge {
        uids: Option<SequenceSet>,
    },
    Search(Search),
    /// ESEARCH (RFC 7377 MULTISEARCH): a UID SEARCH of the mailboxes the filters
    /// name, or of the selected one without IN.
    Esearch {
        sources: Option<Vec<MailboxFilter>>,
        search: Search,
    },
    /// SORT and UID SORT (RFC 5256), with ESORT's RETURN options (RFC 5267).
    Sort(Sort),
    /// THREAD and UID THREAD (RFC 5256).
    Thread(Thread),
    Fetch(Fetch),
    Store(Store),
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    /// REPLACE or UID REPLACE (RFC 8508): append the message to the mailbox and
    /// expunge the one numbered, atomically.
    Replace {
        uid: bool,
        number: SeqNumber,
        mailbox: String,
        message: AppendMessage,
    },
}

impl Command {
    /// The command's name as a client writes it (UID variants included), for logs
    /// and for replies such as `BAD FETCH not allowed now`.
    pub fn name(&self) -> &'static str {
        let uid = |u: bool, with, without| if u { with } else { without };
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::Id(_) => "ID",
            Command::StartTls => "STARTTLS",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Login { .. } => "LOGIN",
            Command::Enable(_) => "ENABLE",
            Command::Select {
                read_only: false, ..
            } => "SELECT",
            Command::Select {
                read_only: true, ..
            } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete(_) => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe(_) => "SUBSCRIBE",
            Command::Unsubscribe(_) => "UNSUBSCRIBE",
            Command::List(_) => "LIST",
            Command::Lsub { .. } => "LSUB",
            Command::Namespace => "NAMESPACE",
            Command::Status { .. } => "STATUS",
            Command::Append { .. } => "APPEND",
            Command::Idle => "IDLE",
            Command::Unauthenticate => "UNAUTHENTICATE",
            Command::Compress(_) => "COMPRESS",
            Command::Notify(_) => "NOTIFY",
            Command::GetMetadata { .. } => "GETMETADATA",
            Command::SetMetadata { .. } => "SETMETADATA",
            Command::GetQuota(_) => "GETQUOTA",
            Command::GetQuotaRoot(_) => "GETQUOTAROOT",
            Command::SetQuota { .. } => "SETQUOTA",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge { uids } => uid(uids.is_some(), "UID EXPUNGE", "EXPUNGE"),
            Command::Search(s) => uid(s.uid, "UID SEARCH", "SEARCH"),
            Command::Esearch { .. } => "ESEARCH",
            Command::Sort(s) => uid(s.uid, "UID SORT", "SORT"),
            Command::Thread(t) => uid(t.uid, "UID THREAD", "THREAD"),
            Command::Fetch(f) => uid(f.uid, "UID FETCH", "FETCH"),
            Command::Store(s) => uid(s.uid, "UID STORE", "STORE"),
            Command::Copy { uid: u, .. } => uid(*u, "UID COPY", "COPY"),
            Command::Move { uid: u, .. } => uid(*u, "UID MOVE", "MOVE"),
            Command::Replace { uid: u, .. } => uid(*u, "UID REPLACE", "REPLACE"),
        }
    }
}

/// A message flag as a client names it. System flags compare case-insensitively;
/// keywords are atoms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    /// `\Recent`: only in FETCH responses and rev1 SEARCH, never settable.
    Recent,
    Keyword(String),
    /// Any other `\Name` (a flag-extension), which a server may refuse.
    Extension(String),
}

/// NOTIFY SET: which events of which mailboxes the client wants to hear of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySet {
    /// STATUS: the current state of the mailboxes named, at once.
    pub status: bool,
    pub groups: Vec<EventGroup>,
}

/// Mailboxes and their events; no events is NONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGroup {
    pub filter: MailboxFilter,
    pub events: Vec<Event>,
}

/// The mailboxes an event group is about (RFC 5465 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxFilter {
    Selected,
    SelectedDelayed,
    Inboxes,
    Personal,
    Subscribed,
    /// These mailboxes and all below them.
    Subtree(Vec<String>),
    /// These mailboxes and their children (RFC 7377, ESEARCH only).
    SubtreeOne(Vec<String>),
    /// Exactly these mailboxes.
    Mailboxes(Vec<String>),
}

impl MailboxFilter {
    /// Whether the filter is about the selected mailbox.
    pub fn is_selected(&self) -> bool {
        matches!(
            self,
            MailboxFilter::Selected | MailboxFilter::SelectedDelayed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// With the fetch attributes to send for each new message (selected only).
    MessageNew(Vec<FetchItem>),
    MessageExpunge,
    FlagChange,
    AnnotationChange,
    MailboxName,
    SubscriptionChange,
    MailboxMetadataChange,
    ServerMetadataChange,
    /// An event gannet does not know, as named.
    Other(String),
}

/// How far below an entry GETMETADATA looks (RFC 5464 4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// The entry itself.
    #[default]
    Zero,
    /// And its children.
    One,
    /// And everything below it.
    Infinity,
}

/// The QRESYNC parameter of SELECT/EXAMINE (RFC 7162 3.2.5): the mailbox state the
/// client has cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    pub uid_validity: u32,
    /// The HIGHESTMODSEQ the client last saw (not 0).
    pub modseq: u64,
    /// The UIDs the client knows (never `*` or `$`); all when absent.
    pub known_uids: Option<SequenceSet>,
    /// Message numbers and their UIDs, which let a server without full expunge
    /// history narrow VANISHED (EARLIER). gannet keeps every expunge's modseq, so it
    /// checks these and otherwise has no use for them.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// One end of a range in a sequence set: a number or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNumber {
    Number(u32),
    Last,
}

/// A sequence set (RFC 9051 9: `1,3:5,7:*`), or `$` for the saved search result
/// (RFC 5182, part of IMAP4rev2). Ranges are kept as written: `5:3` means `3:5`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    Ranges(Vec<(SeqNumber, SeqNumber)>),
    Saved,
}

/// A day, for the date search keys (`SINCE 1-Feb-2026`).
pub type Date = time::Date;

/// LIST with RFC 9051 / RFC 5258 selection and return options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub reference: String,
    /// One or more patterns (`LIST "" ("INBOX" "Sent*")` gives two).
    pub patterns: Vec<String>,
    pub selection: Vec<ListSelect>,
    pub returns: Vec<ListReturn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSelect {
    Subscribed,
    Remote,
    RecursiveMatch,
    SpecialUse,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListReturn {
    Subscribed,
    Children,
    SpecialUse,
    /// LIST-STATUS (RFC 5819).
    Status(Vec<StatusItem>),
    /// LIST-METADATA (RFC 9590): these entries of each mailbox.
    Metadata(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    /// RFC 8438, part of IMAP4rev2.
    Size,
    /// IMAP4rev1 only.
    Recent,
    /// CONDSTORE (RFC 7162).
    HighestModSeq,
    /// The largest message APPEND takes into the mailbox (RFC 7889).
    AppendLimit,
    /// What EXPUNGE would free, in KiB (RFC 9208 4.2).
    DeletedStorage,
    /// The mailbox's objectid (RFC 8474).
    MailboxId,
}

/// The message of an APPEND.
#[derive(Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<Flag>,
    /// The INTERNALDATE to set, if given.
    pub date: Option<time::OffsetDateTime>,
    pub data: Literal,
    /// Sent as `UTF8 (~{n})` (RFC 6855 4): a message with UTF-8 header fields,
    /// after ENABLE UTF8=ACCEPT.
    pub utf8: bool,
}

/// A literal's bytes. Small ones stay in memory; larger ones (APPEND messages) are
/// spooled by the framer to an unlinked temporary file, so a big upload costs no
/// memory while it arrives.
#[derive(Debug)]
pub enum Literal {
    Memory(Vec<u8>),
    File { file: File, len: u64 },
}

impl PartialEq for Literal {
    /// Literals compare by their bytes, so a spooled literal equals the same bytes in
    /// memory (tests of the parser compare commands).
    fn eq(&self, other: &Self) -> bool {
        match (self.bytes(), other.bytes()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Literal {}

impl Literal {
    pub fn len(&self) -> u64 {
        match self {
            Literal::Memory(v) => v.len() as u64,
            Literal::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All of the bytes (read back from the file for a spooled literal).
    pub fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        use std::io::{Read, Seek, SeekFrom};
        match self {
            Literal::Memory(v) => Ok(v.into()),
            Literal::File { file, len } => {
                let mut file = file;
                file.seek(SeekFrom::Start(0))?;
                let mut out = Vec::with_capacity(*len as usize);
                file.take(*len).read_to_end(&mut out)?;
                Ok(out.into())
            }
        }
    }
}

/// SEARCH, UID SEARCH, with RFC 9051's ESEARCH return options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub uid: bool,
    /// `RETURN (...)`: `None` when absent (a rev1 `* SEARCH` answer, or ESEARCH ALL
    /// for rev2), `Some(vec![])` for `RETURN ()` (same as `RETURN (ALL)`).
    pub returns: Option<Vec<SearchReturn>>,
    pub charset: Option<String>,
    /// The keys, ANDed.
    pub key: SearchKey,
}

/// SORT and UID SORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub uid: bool,
    /// ESORT's `RETURN (...)` (RFC 5267 3.2); `None` for a plain `* SORT` answer.
    pub returns: Option<Vec<SearchReturn>>,
    pub criteria: Vec<SortCriterion>,
    pub charset: String,
    /// The keys, ANDed.
    pub key: SearchKey,
}

/// THREAD and UID THREAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub uid: bool,
    pub algorithm: ThreadAlgorithm,
    pub charset: String,
    /// The keys, ANDed.
    pub key: SearchKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
    /// PARTIAL (RFC 9394): a page of the result.
    Partial(PartialRange),
}

/// Positions in a result (RFC 9394): `first:last` counting from 1 at the start,
/// or from the end when `from_end` (`-1:-100`, the last hundred). Kept as sent:
/// `5:1` is `1:5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialRange {
    pub from_end: bool,
    pub first: u32,
    pub last: u32,
}

impl PartialRange {
    /// The items of `all` at these positions, in their order.
    pub fn of<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let (low, high) = (
            self.first.min(self.last) as usize,
            self.first.max(self.last) as usize,
        );
        let (start, end) = match self.from_end {
            false => (low - 1, high),
            true => (
                all.len().saturating_sub(high),
                all.len().saturating_sub(low - 1),
            ),
        };
        let end = end.min(all.len());
        all.get(start.min(end)..end).unwrap_or_default()
    }
}

impl std::fmt::Display for PartialRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.from_end { "-" } else { "" };
        write!(f, "{sign}{}:{sign}{}", self.first, self.last)
    }
}

/// A search key (RFC 9051 6.4.4). Several keys in a row are one `And`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u64),
    /// IMAP4rev1: `\Recent` and not `\Seen`.
    New,
    Not(Box<SearchKey>),
    /// IMAP4rev1: not `\Recent`.
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// IMAP4rev1.
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// Message sequence numbers.
    Sequence(SequenceSet),
    /// SAVEDBEFORE, SAVEDON, SAVEDSINCE (RFC 8514): when the message was put in
    /// its mailbox.
    SavedBefore(Date),
    SavedOn(Date),
    SavedSince(Date),
    /// SAVEDATESUPPORTED (RFC 8514): whether the mailbox keeps save dates (all do).
    SaveDateSupported,
    /// OLDER and YOUNGER (RFC 5032 WITHIN): arrived more than, or at most, this
    /// many seconds ago.
    Older(u32),
    Younger(u32),
    /// EMAILID and THREADID (RFC 8474): the objectid as sent.
    EmailId(String),
    ThreadId(String),
    /// MODSEQ (RFC 7162 3.1.5): messages changed at or after the modseq. A flag
    /// entry may be named; gannet keeps one modseq per message, which stands for
    /// every entry (the RFC allows that).
    ModSeq {
        entry: Option<ModSeqEntry>,
        modseq: u64,
    },
    /// A parenthesized list, or the top-level keys.
    And(Vec<SearchKey>),
}

/// The entry a MODSEQ search key names: `"/flags/\\seen" priv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModSeqEntry {
    /// The flag, as named after `/flags/` (`\Seen` or a keyword).
    pub flag: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Private,
    Shared,
    All,
}

/// FETCH and UID FETCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub uid: bool,
    pub set: SequenceSet,
    /// The items, with the macros ALL, FAST and FULL expanded.
    pub items: Vec<FetchItem>,
    /// `(CHANGEDSINCE n)` (RFC 7162 3.1.4): only messages changed after n.
    pub changed_since: Option<u64>,
    /// `(VANISHED)` (RFC 7162 3.2.6, UID FETCH with CHANGEDSINCE only): also the
    /// UIDs in the set expunged after CHANGEDSINCE.
    pub vanished: bool,
    /// `(PARTIAL range)` (RFC 9394): only the messages at these positions of the
    /// set (after CHANGEDSINCE).
    pub partial: Option<PartialRange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    Envelope,
    Flags,
    InternalDate,
    Uid,
    /// RFC822 (the whole message; sets \Seen).
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    /// RFC822.TEXT (sets \Seen).
    Rfc822Text,
    /// BODY without a section: the non-extensible BODYSTRUCTURE.
    Body,
    BodyStructure,
    /// BODY[section]<partial> and BODY.PEEK[...].
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// BINARY[part]<partial> and BINARY.PEEK[...] (RFC 3516, in IMAP4rev2).
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<Partial>,
    },
    BinarySize(Vec<u32>),
    /// PREVIEW (RFC 8970), with LAZY.
    Preview {
        lazy: bool,
    },
    /// MODSEQ (CONDSTORE).
    ModSeq,
    /// SAVEDATE (RFC 8514).
    SaveDate,
    /// EMAILID and THREADID (RFC 8474).
    EmailId,
    ThreadId,
}

/// `<offset.length>` of a partial fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    pub offset: u32,
    pub length: u32,
}

/// A body section: a part path (`1.2`, empty for the whole message) and which text
/// of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// HEADER.FIELDS (`not` = false) or HEADER.FIELDS.NOT, with the field names as
    /// sent.
    HeaderFields {
        not: bool,
        fields: Vec<String>,
    },
    Text,
    /// MIME: the header of a part (only with a part number).
    Mime,
}

/// STORE and UID STORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub uid: bool,
    pub set: SequenceSet,
    /// CONDSTORE's `(UNCHANGEDSINCE n)`.
    pub unchanged_since: Option<u64>,
    pub action: StoreAction,
    pub silent: bool,
    pub flags: Vec<Flag>,
}

/// `FLAGS`, `+FLAGS` or `-FLAGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreAction {
    Replace,
    Add,
    Remove,
}

#[cfg(test)]
mod tests {
    use super::PartialRange;

    #[test]
    fn partial_ranges_pick_positions_from_either_end() {
        let all = [5, 6, 7, 2, 3, 9, 8];
        let range = |from_end, first, last| PartialRange {
            from_end,
            first,
            last,
        };
        assert_eq!(range(false, 1, 3).of(&all), [5, 6, 7]);
        assert_eq!(range(false, 5, 4).of(&all), [2, 3]);
        assert_eq!(range(false, 6, 100).of(&all), [9, 8]);
        assert_eq!(range(false, 8, 9).of(&all), [] as [i32; 0]);
        assert_eq!(range(true, 1, 2).of(&all), [9, 8]);
        assert_eq!(range(true, 3, 1).of(&all), [3, 9, 8]);
        assert_eq!(range(true, 7, 100).of(&all), [5]);
        assert_eq!(range(true, 8, 9).of(&all), [] as [i32; 0]);
        assert_eq!(range(false, u32::MAX, u32::MAX).of(&all), [] as [i32; 0]);
        assert_eq!(range(true, u32::MAX, u32::MAX).of(&all), [] as [i32; 0]);
        assert_eq!(range(true, 1, 10).to_string(), "-1:-10");
    }
}
