//! IMAP command lines into the typed values of `command.rs`: `grammars/imap.pest`
//! recognizes the line, and the conversion here turns its pairs into a [`Request`],
//! taking each literal's octets from the framer's side table as its marker comes up.
//!
//! What the grammar leaves to this layer, because here it can be said precisely:
//! number ranges (`0` is no message number, 4294967296 is no UID), real calendar dates,
//! `\Recent` in STORE and APPEND, literal8 outside APPEND, UTF-8 in literals, the
//! LIST option that needs another, and the limits of ID.

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest_derive::Parser;
use time::{Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::command::{
    AppendMessage, Command, Date, Depth, EntryKind, Event, EventGroup, Fetch, FetchItem, Flag,
    List, ListReturn, ListSelect, Literal, MailboxFilter, ModSeqEntry, NotifySet, Partial,
    PartialRange, QResync, Request, Search, SearchKey, SearchReturn, Section, SectionText,
    SeqNumber, SequenceSet, Sort, SortCriterion, SortKey, StatusItem, Store, StoreAction, Thread,
    ThreadAlgorithm,
};
use crate::grammar::{SyntaxError, parse_entry};

#[derive(Parser)]
#[grammar = "../grammars/imap.pest"]
struct ImapParser;

/// Why a command line was refused. The server answers `<tag> BAD [PARSE] <message>`,
/// or `* BAD [PARSE] <message>` when the tag could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The command's tag, when the line starts with a valid one.
    pub tag: Option<String>,
    /// What was wrong and where, for the client: `FETCH at column 9: expected a
    /// sequence set, found 'x'`.
    pub message: String,
    /// The 1-based character column the message points at (one past the end of the
    /// line for what is missing at its end).
    pub column: usize,
}

/// Parses one command: `text` is the command line as the framer hands it over —
/// without the final CRLF, with each literal's bytes left out but its marker
/// (`{5}`, `{5+}`, `~{5}`) kept in place, i.e. "A1 LOGIN {5} {8}" for a LOGIN whose
/// two strings were literals — and `literals` holds the literals' bytes in order.
pub fn parse_command(text: &str, literals: Vec<Literal>) -> Result<Request, ParseError> {
    let request = parse_entry::<ImapParser, _>(Rule::request_only, text, describe, PUNCTUATION)
        .map_err(|e| syntax_error(text, &e))?;
    let mut inner = request.into_inner();
    let tag = next(&mut inner).as_str();
    let command = next(&mut inner);
    let mut cx = Conversion {
        literals: literals.into_iter(),
    };
    let fail = |f: Failure| f.into_error(text, tag, command_name(&text[tag.len() + 1..]));
    let command = cx.command(command).map_err(fail)?;
    if cx.literals.next().is_some() {
        return Err(fail(Failure {
            at: text.len(),
            message: "more literals arrived than the line has markers".into(),
        }));
    }
    Ok(Request {
        tag: tag.to_owned(),
        command,
    })
}

/// The deepest nesting of search keys (parentheses, NOT, OR) accepted. Real searches
/// nest a handful deep; the cap keeps the conversion's recursion (and the drop of the
/// result) far from any stack limit.
const MAX_SEARCH_DEPTH: usize = 64;

/// RFC 2971 3.3: at most 30 field-value pairs, fields of at most 30 octets, values of
/// at most 1024.
const ID_MAX_PAIRS: usize = 30;
const ID_MAX_FIELD: usize = 30;
const ID_MAX_VALUE: usize = 1024;

/// The largest number64 (RFC 9051 9: an unsigned 63-bit integer).
const NUMBER64_MAX: u64 = i64::MAX as u64;

/// A problem found after the grammar matched, at a byte offset of the line.
struct Failure {
    at: usize,
    message: String,
}

impl Failure {
    fn at(pair: &Pair<'_, Rule>, message: impl Into<String>) -> Self {
        Failure {
            at: pair.as_span().start(),
            message: message.into(),
        }
    }

    fn into_error(self, text: &str, tag: &str, name: &str) -> ParseError {
        let column = SyntaxError::at_byte(text, self.at, Vec::new()).column;
        ParseError {
            tag: Some(tag.to_owned()),
            message: format!("{name} at column {column}: {}", self.message),
            column,
        }
    }
}

type Converted<T> = Result<T, Failure>;

/// ID's field-value pairs, as `Command::Id` holds them.
type IdPairs = Vec<(String, Option<String>)>;

/// The state of one conversion: the literals not yet taken.
struct Conversion {
    literals: std::vec::IntoIter<Literal>,
}

/// The next pair the grammar guarantees is there.
fn next<'i>(pairs: &mut Pairs<'i, Rule>) -> Pair<'i, Rule> {
    pairs.next().expect("the grammar guarantees this pair")
}

impl Conversion {
    fn command(&mut self, pair: Pair<'_, Rule>) -> Converted<Command> {
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        Ok(match rule {
            Rule::fetch => Command::Fetch(self.fetch(inner, false)?),
            Rule::uid => {
                let sub = next(&mut inner);
                let rule = sub.as_rule();
                let mut inner = sub.into_inner();
                match rule {
                    Rule::fetch => Command::Fetch(self.fetch(inner, true)?),
                    Rule::store => Command::Store(self.store(inner, true)?),
                    Rule::search => Command::Search(self.search_parts(inner, true)?),
                    Rule::sort => Command::Sort(self.sort(inner, true)?),
                    Rule::replace => self.replace(inner, true)?,
                    Rule::thread => Command::Thread(self.thread(inner, true)?),
                    Rule::copy => {
                        let (set, mailbox) = self.set_and_mailbox(inner, "UID")?;
                        Command::Copy {
                            uid: true,
                            set,
                            mailbox,
                        }
                    }
                    Rule::move_ => {
                        let (set, mailbox) = self.set_and_mailbox(inner, "UID")?;
                        Command::Move {
                            uid: true,
                            set,
                            mailbox,
                        }
                    }
                    Rule::uid_expunge => Command::Expunge {
                        uids: Some(sequence_set(next(&mut inner), "UID")?),
                    },
                    r => unreachable!("UID command rule {r:?}"),
                }
            }
            Rule::store => Command::Store(self.store(inner, false)?),
            Rule::cmd_noop => Command::Noop,
            Rule::cmd_check => Command::Check,
            Rule::select | Rule::examine => self.select(inner, rule == Rule::examine)?,
            Rule::idle => Command::Idle,
            Rule::search => Command::Search(self.search_parts(inner, false)?),
            Rule::esearch => {
                let mut sources = None;
                let mut rest = Vec::new();
                for p in inner {
                    match p.as_rule() {
                        Rule::esearch_source => {
                            let filters = p
                                .into_inner()
                                .map(|f| self.mailbox_filter(f))
                                .collect::<Converted<_>>()?;
                            sources = Some(filters);
                        }
                        _ => rest.push(p),
                    }
                }
                let search = self.search_parts(rest, true)?;
                Command::Esearch { sources, search }
            }
            Rule::sort => Command::Sort(self.sort(inner, false)?),
            Rule::replace => self.replace(inner, false)?,
            Rule::thread => Command::Thread(self.thread(inner, false)?),
            Rule::status => {
                let mailbox = self.mailbox(next(&mut inner))?;
                let items = inner.map(|p| status_att(&p)).collect();
                Command::Status { mailbox, items }
            }
            Rule::list => Command::List(self.list(inner)?),
            Rule::expunge => Command::Expunge { uids: None },
            Rule::append => self.append(inner)?,
            Rule::copy => {
                let (set, mailbox) = self.set_and_mailbox(inner, "message number")?;
                Command::Copy {
                    uid: false,
                    set,
                    mailbox,
                }
            }
            Rule::move_ => {
                let (set, mailbox) = self.set_and_mailbox(inner, "message number")?;
                Command::Move {
                    uid: false,
                    set,
                    mailbox,
                }
            }
            Rule::cmd_close => Command::Close,
            Rule::cmd_unselect => Command::Unselect,
            Rule::cmd_unauthenticate => Command::Unauthenticate,
            // Algorithm names are case-insensitive atoms (RFC 4978 3).
            Rule::compress => Command::Compress(next(&mut inner).as_str().to_ascii_uppercase()),
            Rule::getquota => Command::GetQuota(self.string(next(&mut inner))?),
            Rule::getmetadata => self.getmetadata(inner)?,
            Rule::notify => {
                let choice = next(&mut inner);
                match choice.as_rule() {
                    Rule::notify_none => Command::Notify(None),
                    _ => Command::Notify(Some(self.notify_set(choice.into_inner())?)),
                }
            }
            Rule::setmetadata => {
                let mailbox = self.mailbox(next(&mut inner))?;
                let values = inner
                    .map(|ev| {
                        let mut parts = ev.into_inner();
                        let entry = self.entry(next(&mut parts))?;
                        let value = next(&mut parts);
                        let value = match value.as_rule() {
                            Rule::nil => None,
                            _ => Some(self.bytes(value)?),
                        };
                        Ok((entry, value))
                    })
                    .collect::<Converted<_>>()?;
                Command::SetMetadata { mailbox, values }
            }
            Rule::getquotaroot => Command::GetQuotaRoot(self.mailbox(next(&mut inner))?),
            Rule::setquota => {
                let root = self.string(next(&mut inner))?;
                let limits = inner
                    .map(|r| {
                        let mut parts = r.into_inner();
                        let name = next(&mut parts).as_str().to_ascii_uppercase();
                        let limit = number64(&next(&mut parts), &name)?;
                        Ok((name, limit))
                    })
                    .collect::<Converted<_>>()?;
                Command::SetQuota { root, limits }
            }
            Rule::login => Command::Login {
                user: self.string(next(&mut inner))?,
                password: self.string(next(&mut inner))?,
            },
            Rule::authenticate => Command::Authenticate {
                // Mechanism names are case-insensitive (RFC 4422 3.1); one spelling
                // for the lookup and the logs.
                mechanism: next(&mut inner).as_str().to_ascii_uppercase(),
                initial: inner.next().map(|p| initial_resp(&p)).transpose()?,
            },
            Rule::cmd_capability => Command::Capability,
            Rule::cmd_logout => Command::Logout,
            Rule::id => Command::Id(self.id(inner)?),
            Rule::enable => Command::Enable(inner.map(|p| p.as_str().to_owned()).collect()),
            Rule::namespace_command => Command::Namespace,
            Rule::cmd_starttls => Command::StartTls,
            Rule::create => Command::Create {
                mailbox: self.mailbox(next(&mut inner))?,
                special_use: inner.map(|p| p.as_str().to_owned()).collect(),
            },
            Rule::delete => Command::Delete(self.mailbox(next(&mut inner))?),
            Rule::rename => Command::Rename {
                from: self.mailbox(next(&mut inner))?,
                to: self.mailbox(next(&mut inner))?,
            },
            Rule::subscribe => Command::Subscribe(self.mailbox(next(&mut inner))?),
            Rule::unsubscribe => Command::Unsubscribe(self.mailbox(next(&mut inner))?),
            Rule::lsub => Command::Lsub {
                reference: self.mailbox(next(&mut inner))?,
                pattern: self.list_mailbox(next(&mut inner))?,
            },
            r => unreachable!("command rule {r:?}"),
        })
    }

    fn set_and_mailbox(
        &mut self,
        mut inner: Pairs<'_, Rule>,
        what: &str,
    ) -> Converted<(SequenceSet, String)> {
        let set = sequence_set(next(&mut inner), what)?;
        Ok((set, self.mailbox(next(&mut inner))?))
    }

    fn select(&mut self, mut inner: Pairs<'_, Rule>, read_only: bool) -> Converted<Command> {
        let mailbox = self.mailbox(next(&mut inner))?;
        let (mut condstore, mut qresync) = (false, None);
        for param in inner {
            let name = param
                .as_str()
                .split(' ')
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let repeated = match param.as_rule() {
                Rule::select_condstore => std::mem::replace(&mut condstore, true),
                _ => qresync.replace(qresync_param(param.clone())?).is_some(),
            };
            if repeated {
                return Err(Failure::at(&param, format!("{name} is given twice")));
            }
        }
        Ok(Command::Select {
            mailbox,
            read_only,
            condstore,
            qresync,
        })
    }

    fn fetch(&mut self, mut inner: Pairs<'_, Rule>, uid: bool) -> Converted<Fetch> {
        let set = sequence_set(next(&mut inner), if uid { "UID" } else { "message number" })?;
        let mut items = Vec::with_capacity(inner.len().max(4));
        let mut changed_since = None;
        let mut vanished = None;
        let mut page = None;
        for att in inner {
            match att.as_rule() {
                Rule::changedsince => {
                    let value = next(&mut att.clone().into_inner());
                    if changed_since
                        .replace(number64(&value, "CHANGEDSINCE")?)
                        .is_some()
                    {
                        return Err(Failure::at(&att, "CHANGEDSINCE is given twice"));
                    }
                    continue;
                }
                Rule::fetch_partial => {
                    let range = partial_range(next(&mut att.clone().into_inner()))?;
                    if page.replace(range).is_some() {
                        return Err(Failure::at(&att, "PARTIAL is given twice"));
                    }
                    continue;
                }
                Rule::vanished => {
                    if vanished.replace(att.clone()).is_some() {
                        return Err(Failure::at(&att, "VANISHED is given twice"));
                    }
                    // RFC 7162 3.2.6: only UID FETCH, and only with CHANGEDSINCE.
                    if !uid {
                        return Err(Failure::at(&att, "VANISHED is for UID FETCH only"));
                    }
                    continue;
                }
                _ => self.fetch_att(att, &mut items)?,
            }
        }
        if let (Some(at), None) = (&vanished, changed_since) {
            return Err(Failure::at(at, "VANISHED needs CHANGEDSINCE"));
        }
        Ok(Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished: vanished.is_some(),
            partial: page,
        })
    }

    /// One fetch-att into `items` (a macro adds several).
    fn fetch_att(&mut self, att: Pair<'_, Rule>, items: &mut Vec<FetchItem>) -> Converted<()> {
        let rule = att.as_rule();
        let item = match rule {
            Rule::att_flags => FetchItem::Flags,
            Rule::att_uid => FetchItem::Uid,
            Rule::att_body_section | Rule::att_body_peek => {
                let mut parts = att.into_inner();
                let section = self.section(next(&mut parts))?;
                FetchItem::BodySection {
                    peek: rule == Rule::att_body_peek,
                    section,
                    partial: parts.next().map(|p| partial(&p)).transpose()?,
                }
            }
            Rule::att_bodystructure => FetchItem::BodyStructure,
            Rule::att_body => FetchItem::Body,
            Rule::att_envelope => FetchItem::Envelope,
            Rule::att_internaldate => FetchItem::InternalDate,
            Rule::att_rfc822_size => FetchItem::Rfc822Size,
            Rule::att_rfc822_header => FetchItem::Rfc822Header,
            Rule::att_rfc822_text => FetchItem::Rfc822Text,
            Rule::att_rfc822 => FetchItem::Rfc822,
            Rule::att_binary_size => {
                FetchItem::BinarySize(section_binary(next(&mut att.into_inner()))?)
            }
            Rule::att_binary | Rule::att_binary_peek => {
                let mut parts = att.into_inner();
                FetchItem::Binary {
                    peek: rule == Rule::att_binary_peek,
                    part: section_binary(next(&mut parts))?,
                    partial: parts.next().map(|p| partial(&p)).transpose()?,
                }
            }
            Rule::att_modseq => FetchItem::ModSeq,
            Rule::att_savedate => FetchItem::SaveDate,
            Rule::att_emailid => FetchItem::EmailId,
            Rule::att_threadid => FetchItem::ThreadId,
            Rule::att_preview => FetchItem::Preview {
                lazy: att.into_inner().next().is_some(),
            },
            Rule::fetch_macro => {
                // RFC 9051 6.4.5: ALL, FAST and FULL are short for these lists, so
                // the session only ever sees items.
                let name = att.as_str();
                items.extend_from_slice(&[
                    FetchItem::Flags,
                    FetchItem::InternalDate,
                    FetchItem::Rfc822Size,
                ]);
                if name.eq_ignore_ascii_case("FAST") {
                    return Ok(());
                }
                items.push(FetchItem::Envelope);
                if name.eq_ignore_ascii_case("ALL") {
                    return Ok(());
                }
                FetchItem::Body
            }
            r => unreachable!("fetch-att rule {r:?}"),
        };
        items.push(item);
        Ok(())
    }

    fn section(&mut self, pair: Pair<'_, Rule>) -> Converted<Section> {
        let mut section = Section::default();
        for p in pair.into_inner() {
            let text = match p.as_rule() {
                Rule::section_part => {
                    section.part = section_part(p)?;
                    continue;
                }
                Rule::section_header => SectionText::Header,
                Rule::section_text_text => SectionText::Text,
                Rule::section_mime => SectionText::Mime,
                rule @ (Rule::header_fields | Rule::header_fields_not) => {
                    let fields = p
                        .into_inner()
                        .map(|name| self.string(next(&mut name.into_inner())))
                        .collect::<Converted<_>>()?;
                    SectionText::HeaderFields {
                        not: rule == Rule::header_fields_not,
                        fields,
                    }
                }
                r => unreachable!("section rule {r:?}"),
            };
            section.text = Some(text);
        }
        Ok(section)
    }

    fn store(&mut self, mut inner: Pairs<'_, Rule>, uid: bool) -> Converted<Store> {
        let set = sequence_set(next(&mut inner), if uid { "UID" } else { "message number" })?;
        let mut pair = next(&mut inner);
        let mut unchanged_since = None;
        if pair.as_rule() == Rule::mod_sequence_valzer {
            unchanged_since = Some(number64(&pair, "UNCHANGEDSINCE")?);
            pair = next(&mut inner);
        }
        let action = match pair.as_str().as_bytes()[0] {
            b'+' => StoreAction::Add,
            b'-' => StoreAction::Remove,
            _ => StoreAction::Replace,
        };
        let mut silent = false;
        let mut flags = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::store_silent => silent = true,
                Rule::flag_list => flags = settable_flags(p.into_inner(), "STORE")?,
                Rule::flag => flags.push(settable_flag(&p, "STORE")?),
                r => unreachable!("store rule {r:?}"),
            }
        }
        Ok(Store {
            uid,
            set,
            unchanged_since,
            action,
            silent,
            flags,
        })
    }

    /// The return options, charset and keys of a SEARCH (or ESEARCH).
    fn search_parts<'i>(
        &mut self,
        parts: impl IntoIterator<Item = Pair<'i, Rule>>,
        uid: bool,
    ) -> Converted<Search> {
        let mut returns = None;
        let mut charset = None;
        let mut keys = Vec::new();
        for p in parts {
            match p.as_rule() {
                Rule::search_return_opts => returns = Some(search_returns(p)?),
                Rule::charset => charset = Some(self.string(next(&mut p.into_inner()))?),
                Rule::search_key => keys.push(self.search_key(p, 1)?),
                r => unreachable!("search rule {r:?}"),
            }
        }
        Ok(Search {
            uid,
            returns,
            charset,
            key: anded(keys),
        })
    }

    fn sort(&mut self, inner: Pairs<'_, Rule>, uid: bool) -> Converted<Sort> {
        let mut returns = None;
        let mut criteria = Vec::new();
        let mut charset = String::new();
        let mut keys = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::search_return_opts => returns = Some(search_returns(p)?),
                Rule::sort_criterion => criteria.push(sort_criterion(p)),
                Rule::charset => charset = self.string(next(&mut p.into_inner()))?,
                Rule::search_key => keys.push(self.search_key(p, 1)?),
                r => unreachable!("sort rule {r:?}"),
            }
        }
        Ok(Sort {
            uid,
            returns,
            criteria,
            charset,
            key: anded(keys),
        })
    }

    fn thread(&mut self, mut inner: Pairs<'_, Rule>, uid: bool) -> Converted<Thread> {
        let algorithm = match next(&mut inner).as_str().to_ascii_uppercase().as_str() {
            "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
            _ => ThreadAlgorithm::References,
        };
        let charset = self.string(next(&mut next(&mut inner).into_inner()))?;
        let keys = inner
            .map(|k| self.search_key(k, 1))
            .collect::<Converted<_>>()?;
        Ok(Thread {
            uid,
            algorithm,
            charset,
            key: anded(keys),
        })
    }

    /// One search key, `depth` levels into the nesting.
    fn search_key(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Converted<SearchKey> {
        if depth > MAX_SEARCH_DEPTH {
            return Err(Failure::at(
                &pair,
                format!("search keys are nested more than {MAX_SEARCH_DEPTH} deep"),
            ));
        }
        let key = next(&mut pair.into_inner());
        let rule = key.as_rule();
        let mut inner = key.into_inner();
        let args = &mut inner;
        Ok(match rule {
            Rule::key_uid => SearchKey::Uid(sequence_set(next(args), "UID")?),
            Rule::key_sequence => SearchKey::Sequence(sequence_set(next(args), "message number")?),
            Rule::key_not => SearchKey::Not(Box::new(self.search_key(next(args), depth + 1)?)),
            Rule::key_or => {
                let a = self.search_key(next(args), depth + 1)?;
                let b = self.search_key(next(args), depth + 1)?;
                SearchKey::Or(Box::new(a), Box::new(b))
            }
            Rule::key_list => SearchKey::And(
                args.map(|k| self.search_key(k, depth + 1))
                    .collect::<Converted<_>>()?,
            ),
            Rule::key_all => SearchKey::All,
            Rule::key_answered => SearchKey::Answered,
            Rule::key_deleted => SearchKey::Deleted,
            Rule::key_draft => SearchKey::Draft,
            Rule::key_flagged => SearchKey::Flagged,
            Rule::key_seen => SearchKey::Seen,
            Rule::key_unanswered => SearchKey::Unanswered,
            Rule::key_undeleted => SearchKey::Undeleted,
            Rule::key_undraft => SearchKey::Undraft,
            Rule::key_unflagged => SearchKey::Unflagged,
            Rule::key_unseen => SearchKey::Unseen,
            Rule::key_new => SearchKey::New,
            Rule::key_old => SearchKey::Old,
            Rule::key_recent => SearchKey::Recent,
            Rule::key_bcc => SearchKey::Bcc(self.string(next(args))?),
            Rule::key_body => SearchKey::Body(self.string(next(args))?),
            Rule::key_cc => SearchKey::Cc(self.string(next(args))?),
            Rule::key_from => SearchKey::From(self.string(next(args))?),
            Rule::key_subject => SearchKey::Subject(self.string(next(args))?),
            Rule::key_text => SearchKey::Text(self.string(next(args))?),
            Rule::key_to => SearchKey::To(self.string(next(args))?),
            Rule::key_header => {
                let name = self.string(next(&mut next(args).into_inner()))?;
                SearchKey::Header(name, self.string(next(args))?)
            }
            Rule::key_keyword => SearchKey::Keyword(next(args).as_str().to_owned()),
            Rule::key_unkeyword => SearchKey::Unkeyword(next(args).as_str().to_owned()),
            Rule::key_before => SearchKey::Before(date(next(args))?),
            Rule::key_on => SearchKey::On(date(next(args))?),
            Rule::key_since => SearchKey::Since(date(next(args))?),
            Rule::key_sentbefore => SearchKey::SentBefore(date(next(args))?),
            Rule::key_senton => SearchKey::SentOn(date(next(args))?),
            Rule::key_sentsince => SearchKey::SentSince(date(next(args))?),
            Rule::key_savedbefore => SearchKey::SavedBefore(date(next(args))?),
            Rule::key_savedon => SearchKey::SavedOn(date(next(args))?),
            Rule::key_savedsince => SearchKey::SavedSince(date(next(args))?),
            Rule::key_savedatesupported => SearchKey::SaveDateSupported,
            Rule::key_older => SearchKey::Older(nz_number(&next(args), "OLDER")?),
            Rule::key_emailid => SearchKey::EmailId(objectid(&next(args))?),
            Rule::key_threadid => SearchKey::ThreadId(objectid(&next(args))?),
            Rule::key_younger => SearchKey::Younger(nz_number(&next(args), "YOUNGER")?),
            Rule::key_larger => SearchKey::Larger(number64(&next(args), "LARGER")?),
            Rule::key_modseq => {
                let first = next(args);
                let entry = match first.as_rule() {
                    Rule::quoted => Some(modseq_entry(&first, &next(args))?),
                    _ => None,
                };
                let value = match entry {
                    Some(_) => next(args),
                    None => first,
                };
                SearchKey::ModSeq {
                    entry,
                    modseq: number64(&value, "MODSEQ")?,
                }
            }
            Rule::key_smaller => SearchKey::Smaller(number64(&next(args), "SMALLER")?),
            r => unreachable!("search-key rule {r:?}"),
        })
    }

    fn list(&mut self, inner: Pairs<'_, Rule>) -> Converted<List> {
        let mut selection = Vec::new();
        let mut reference = None;
        let mut patterns = Vec::new();
        let mut returns = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::list_select_opts => selection = list_select_opts(p)?,
                Rule::mailbox => reference = Some(self.mailbox(p)?),
                Rule::list_mailbox => patterns.push(self.list_mailbox(p)?),
                Rule::list_return_opts => {
                    for option in p.into_inner() {
                        let option = next(&mut option.into_inner());
                        returns.push(if option.as_rule() == Rule::status_option {
                            ListReturn::Status(
                                option.into_inner().map(|a| status_att(&a)).collect(),
                            )
                        } else if option.as_rule() == Rule::metadata_option {
                            ListReturn::Metadata(
                                option
                                    .into_inner()
                                    .map(|e| self.entry(e))
                                    .collect::<Converted<_>>()?,
                            )
                        } else {
                            let word = option.as_str();
                            if word.eq_ignore_ascii_case("SUBSCRIBED") {
                                ListReturn::Subscribed
                            } else if word.eq_ignore_ascii_case("CHILDREN") {
                                ListReturn::Children
                            } else {
                                ListReturn::SpecialUse
                            }
                        });
                    }
                }
                r => unreachable!("list rule {r:?}"),
            }
        }
        Ok(List {
            reference: reference.expect("the grammar guarantees a reference"),
            patterns,
            selection,
            returns,
        })
    }

    fn list_mailbox(&mut self, pair: Pair<'_, Rule>) -> Converted<String> {
        self.string(next(&mut pair.into_inner()))
    }

    fn append(&mut self, mut inner: Pairs<'_, Rule>) -> Converted<Command> {
        let mailbox = self.mailbox(next(&mut inner))?;
        let messages = inner
            .map(|m| self.append_message(m.into_inner()))
            .collect::<Converted<_>>()?;
        Ok(Command::Append { mailbox, messages })
    }

    fn notify_set(&mut self, inner: Pairs<'_, Rule>) -> Converted<NotifySet> {
        let mut set = NotifySet {
            status: false,
            groups: Vec::new(),
        };
        for p in inner {
            match p.as_rule() {
                Rule::notify_status => set.status = true,
                _ => set.groups.push(self.event_group(p.into_inner())?),
            }
        }
        Ok(set)
    }

    /// A filter-mailboxes of NOTIFY (RFC 5465) or ESEARCH IN (RFC 7377).
    fn mailbox_filter(&mut self, filter: Pair<'_, Rule>) -> Converted<MailboxFilter> {
        let rule = filter.as_rule();
        Ok(match rule {
            Rule::filter_selected => MailboxFilter::Selected,
            Rule::filter_selected_delayed => MailboxFilter::SelectedDelayed,
            Rule::filter_inboxes => MailboxFilter::Inboxes,
            Rule::filter_personal => MailboxFilter::Personal,
            Rule::filter_subscribed => MailboxFilter::Subscribed,
            _ => {
                let names = filter
                    .into_inner()
                    .map(|m| self.mailbox(m))
                    .collect::<Converted<_>>()?;
                match rule {
                    Rule::filter_subtree => MailboxFilter::Subtree(names),
                    Rule::filter_subtree_one => MailboxFilter::SubtreeOne(names),
                    _ => MailboxFilter::Mailboxes(names),
                }
            }
        })
    }

    fn event_group(&mut self, mut inner: Pairs<'_, Rule>) -> Converted<EventGroup> {
        let filter = next(&mut inner);
        let filter = self.mailbox_filter(filter)?;
        let mut events = Vec::new();
        for e in next(&mut inner).into_inner() {
            match e.as_rule() {
                Rule::events_none => {}
                Rule::event_message_new => {
                    let mut items = Vec::new();
                    for att in e.into_inner() {
                        self.fetch_att(att, &mut items)?;
                    }
                    events.push(Event::MessageNew(items));
                }
                _ => events.push(event(e.as_str())),
            }
        }
        Ok(EventGroup { filter, events })
    }

    fn getmetadata(&mut self, inner: Pairs<'_, Rule>) -> Converted<Command> {
        let (mut max_size, mut depth) = (None, Depth::default());
        let mut mailbox = None;
        let mut entries = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::maxsize_opt => {
                    max_size = Some(number64(&next(&mut p.into_inner()), "MAXSIZE")?);
                }
                Rule::depth_opt => {
                    depth = match next(&mut p.into_inner()).as_str() {
                        "0" => Depth::Zero,
                        "1" => Depth::One,
                        _ => Depth::Infinity,
                    };
                }
                Rule::mailbox => mailbox = Some(self.mailbox(p)?),
                _ => entries.push(self.entry(p)?),
            }
        }
        Ok(Command::GetMetadata {
            mailbox: mailbox.expect("the grammar has the mailbox"),
            entries,
            max_size,
            depth,
        })
    }

    /// An entry name (RFC 5464 3.2): case-insensitive, so lower-cased here.
    fn entry(&mut self, pair: Pair<'_, Rule>) -> Converted<String> {
        let at = pair.clone();
        let name = self.string(next(&mut pair.into_inner()))?;
        if !name.is_ascii() || name.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(Failure::at(
                &at,
                format!("entry {name:?} has a character entry names may not"),
            ));
        }
        Ok(name.to_ascii_lowercase())
    }

    fn replace(&mut self, mut inner: Pairs<'_, Rule>, uid: bool) -> Converted<Command> {
        let what = if uid { "UID" } else { "message number" };
        let number = seq_number(&next(&mut inner), what)?;
        let mailbox = self.mailbox(next(&mut inner))?;
        let message = self.append_message(next(&mut inner).into_inner())?;
        Ok(Command::Replace {
            uid,
            number,
            mailbox,
            message,
        })
    }

    fn append_message(&mut self, inner: Pairs<'_, Rule>) -> Converted<AppendMessage> {
        let mut flags = Vec::new();
        let mut date = None;
        for p in inner {
            match p.as_rule() {
                Rule::flag_list => flags = settable_flags(p.into_inner(), "APPEND")?,
                Rule::date_time => date = Some(date_time(p)?),
                Rule::literal | Rule::literal8 | Rule::utf8_data => {
                    let utf8 = p.as_rule() == Rule::utf8_data;
                    let literal = match utf8 {
                        true => next(&mut p.into_inner()),
                        false => p,
                    };
                    let data = self.literal(&literal)?;
                    return Ok(AppendMessage {
                        flags,
                        date,
                        data,
                        utf8,
                    });
                }
                r => unreachable!("append rule {r:?}"),
            }
        }
        unreachable!("the grammar guarantees each message's literal")
    }

    fn id(&mut self, inner: Pairs<'_, Rule>) -> Converted<Option<IdPairs>> {
        let mut pairs = Vec::new();
        for p in inner {
            if p.as_rule() == Rule::nil {
                return Ok(None);
            }
            if pairs.len() == ID_MAX_PAIRS {
                return Err(Failure::at(
                    &p,
                    format!("ID allows at most {ID_MAX_PAIRS} field-value pairs (RFC 2971 3.3)"),
                ));
            }
            let mut fv = p.into_inner();
            let field_pair = next(&mut fv);
            let field = self.string(field_pair.clone())?;
            if field.len() > ID_MAX_FIELD {
                return Err(Failure::at(
                    &field_pair,
                    format!("ID field names are at most {ID_MAX_FIELD} octets (RFC 2971 3.3)"),
                ));
            }
            let value_pair = next(&mut fv);
            let value = if value_pair.as_rule() == Rule::nil {
                None
            } else {
                let value = self.string(value_pair.clone())?;
                if value.len() > ID_MAX_VALUE {
                    return Err(Failure::at(
                        &value_pair,
                        format!("ID values are at most {ID_MAX_VALUE} octets (RFC 2971 3.3)"),
                    ));
                }
                Some(value)
            };
            pairs.push((field, value));
        }
        Ok(Some(pairs))
    }

    /// A mailbox name: INBOX in any case is INBOX (RFC 9051 5.1); any other name is
    /// kept as sent, still in modified UTF-7 if the client used it.
    fn mailbox(&mut self, pair: Pair<'_, Rule>) -> Converted<String> {
        let name = self.string(next(&mut pair.into_inner()))?;
        Ok(if name.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_owned()
        } else {
            name
        })
    }

    /// The value of an atom, quoted string or literal.
    fn string(&mut self, pair: Pair<'_, Rule>) -> Converted<String> {
        if pair.as_rule() == Rule::literal8 {
            return Err(Failure::at(
                &pair,
                "a literal8 (~{n}) is allowed only for APPEND's message and METADATA values; use {n} here",
            ));
        }
        let at = pair.clone();
        String::from_utf8(self.bytes(pair)?)
            .map_err(|_| Failure::at(&at, "the literal is not valid UTF-8"))
    }

    /// The octets of an atom, quoted string, literal or literal8 (which alone may
    /// hold NUL: a METADATA value).
    fn bytes(&mut self, pair: Pair<'_, Rule>) -> Converted<Vec<u8>> {
        match pair.as_rule() {
            Rule::quoted => Ok(unquote(pair.as_str()).into_bytes()),
            rule @ (Rule::literal | Rule::literal8) => {
                let bytes = match self.literal(&pair)? {
                    Literal::Memory(bytes) => bytes,
                    file => file
                        .bytes()
                        .map_err(|e| Failure::at(&pair, format!("reading the literal: {e}")))?
                        .into_owned(),
                };
                // CHAR8 = %x01-ff: only a literal8 may hold NUL.
                if rule == Rule::literal && bytes.contains(&0) {
                    return Err(Failure::at(&pair, "a literal string must not contain NUL"));
                }
                Ok(bytes)
            }
            _ => Ok(pair.as_str().as_bytes().to_vec()),
        }
    }

    /// The next literal from the side table, checked against its marker.
    fn literal(&mut self, pair: &Pair<'_, Rule>) -> Converted<Literal> {
        let size = number64(&next(&mut pair.clone().into_inner()), "literal size")?;
        let literal = self
            .literals
            .next()
            .ok_or_else(|| Failure::at(pair, "the literal's octets are missing"))?;
        if literal.len() != size {
            return Err(Failure::at(
                pair,
                format!(
                    "the literal's marker says {size} octets, but {} arrived",
                    literal.len()
                ),
            ));
        }
        Ok(literal)
    }
}

/// A SASL initial response: "=" (empty) or base64 in groups of four with "=" only as
/// the padding of the last group.
fn initial_resp(pair: &Pair<'_, Rule>) -> Converted<String> {
    let text = pair.as_str();
    if text == "=" {
        return Ok(text.to_owned());
    }
    let data = text.trim_end_matches('=');
    let padding = text.len() - data.len();
    let problem = if data.contains('=') {
        Some("'=' is only padding at the end")
    } else if !text.len().is_multiple_of(4) {
        Some("its length is not a multiple of 4")
    } else if padding > 2 {
        Some("too much padding")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Failure::at(
            pair,
            format!("the initial response is not base64: {problem}"),
        )),
        None => Ok(text.to_owned()),
    }
}

/// The contents of a quoted string, without its quotes and escapes.
fn unquote(quoted: &str) -> String {
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// A NOTIFY event other than MessageNew, by its case-insensitive name.
fn event(name: &str) -> Event {
    const EVENTS: [(&str, Event); 7] = [
        ("MessageExpunge", Event::MessageExpunge),
        ("FlagChange", Event::FlagChange),
        ("AnnotationChange", Event::AnnotationChange),
        ("MailboxName", Event::MailboxName),
        ("SubscriptionChange", Event::SubscriptionChange),
        ("MailboxMetadataChange", Event::MailboxMetadataChange),
        ("ServerMetadataChange", Event::ServerMetadataChange),
    ];
    EVENTS
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or_else(|| Event::Other(name.to_owned()), |(_, e)| e)
}

/// An objectid (RFC 8474 7): 1 to 255 letters, digits, '_' and '-'.
fn objectid(pair: &Pair<'_, Rule>) -> Converted<String> {
    match pair.as_str().len() {
        1..=255 => Ok(pair.as_str().to_owned()),
        n => Err(Failure::at(
            pair,
            format!("an objectid is at most 255 characters, not {n}"),
        )),
    }
}

/// The top-level keys of a search: one key, or all of them ANDed.
fn anded(mut keys: Vec<SearchKey>) -> SearchKey {
    match keys.len() {
        1 => keys.pop().expect("one key"),
        _ => SearchKey::And(keys),
    }
}

/// `[REVERSE SP] sort-key`.
fn sort_criterion(pair: Pair<'_, Rule>) -> SortCriterion {
    let keys = SortKey::ALL.map(|k| (k.name(), k));
    let mut reverse = false;
    let mut key = SortKey::Arrival;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::sort_reverse => reverse = true,
            _ => key = keyword(p.as_str(), &keys),
        }
    }
    SortCriterion { reverse, key }
}

/// `QRESYNC (uidvalidity modseq [known-uids] [(known-seqs known-uids)])`.
fn qresync_param(pair: Pair<'_, Rule>) -> Converted<QResync> {
    let mut inner = pair.into_inner();
    let uid_validity = nz_number(&next(&mut inner), "UIDVALIDITY")?;
    let value = next(&mut inner);
    let modseq = number64(&value, "QRESYNC modseq")?;
    if modseq == 0 {
        return Err(Failure::at(&value, "the QRESYNC modseq must not be 0"));
    }
    let (mut known_uids, mut seq_match) = (None, None);
    for p in inner {
        match p.as_rule() {
            Rule::known_uids => known_uids = Some(known_set(next(&mut p.into_inner()), "UID")?),
            _ => {
                let mut sets = p.into_inner();
                let seqs = known_set(next(&mut sets), "message number")?;
                let uids = known_set(next(&mut sets), "UID")?;
                seq_match = Some((seqs, uids));
            }
        }
    }
    Ok(QResync {
        uid_validity,
        modseq,
        known_uids,
        seq_match,
    })
}

/// A set of numbers the client knows: no `*` and no `$` (RFC 7162 7).
fn known_set(pair: Pair<'_, Rule>, what: &str) -> Converted<SequenceSet> {
    let at = pair.clone();
    let set = sequence_set(pair, what)?;
    let open = match &set {
        SequenceSet::Saved => true,
        SequenceSet::Ranges(r) => r
            .iter()
            .any(|(a, b)| *a == SeqNumber::Last || *b == SeqNumber::Last),
    };
    match open {
        true => Err(Failure::at(
            &at,
            format!("a known {what} set must list numbers, not '*' or '$'"),
        )),
        false => Ok(set),
    }
}

/// The entry of a MODSEQ search key: `"/flags/<flag>"` and its type.
fn modseq_entry(name: &Pair<'_, Rule>, kind: &Pair<'_, Rule>) -> Converted<ModSeqEntry> {
    let text = unquote(name.as_str());
    let flag = match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("/flags/") && text.len() > 7 => &text[7..],
        _ => {
            return Err(Failure::at(
                name,
                format!("MODSEQ entry {text:?} is not \"/flags/\" and a flag"),
            ));
        }
    };
    let kind = match kind.as_str().to_ascii_lowercase().as_str() {
        "priv" => EntryKind::Private,
        "shared" => EntryKind::Shared,
        _ => EntryKind::All,
    };
    Ok(ModSeqEntry {
        flag: flag.to_owned(),
        kind,
    })
}

/// A sequence set whose numbers are `what`s (message numbers or UIDs).
fn sequence_set(pair: Pair<'_, Rule>, what: &str) -> Converted<SequenceSet> {
    if pair.as_str() == "$" {
        return Ok(SequenceSet::Saved);
    }
    let ranges = pair.into_inner();
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let mut ends = range.into_inner();
        let first = seq_number(&next(&mut ends), what)?;
        let last = match ends.next() {
            Some(p) => seq_number(&p, what)?,
            None => first,
        };
        out.push((first, last));
    }
    Ok(SequenceSet::Ranges(out))
}

fn seq_number(pair: &Pair<'_, Rule>, what: &str) -> Converted<SeqNumber> {
    if pair.as_str() == "*" {
        return Ok(SeqNumber::Last);
    }
    Ok(SeqNumber::Number(nz_number(pair, what)?))
}

/// An nz-number: 1 to 4294967295, without leading zeros.
fn nz_number(pair: &Pair<'_, Rule>, what: &str) -> Converted<u32> {
    let digits = pair.as_str();
    if digits.starts_with('0') {
        let message = if digits.bytes().all(|b| b == b'0') {
            format!("{what} 0 is not allowed (the lowest is 1)")
        } else {
            format!("{what} {digits} has a leading zero")
        };
        return Err(Failure::at(pair, message));
    }
    digits.parse().map_err(|_| {
        Failure::at(
            pair,
            format!("{what} {digits} is too large (at most {})", u32::MAX),
        )
    })
}

/// A number64 (0 to 2^63-1, leading zeros allowed).
fn number64(pair: &Pair<'_, Rule>, what: &str) -> Converted<u64> {
    let digits = pair.as_str();
    match digits.parse::<u64>() {
        Ok(n) if n <= NUMBER64_MAX => Ok(n),
        _ => Err(Failure::at(
            pair,
            format!("{what} {digits} is too large (at most {NUMBER64_MAX})"),
        )),
    }
}

/// `<offset.length>`. RFC 9051 allows 63 bits for each, `Partial` holds 32: no message
/// gannet stores is 4 GiB, so a larger number is refused rather than cut.
fn partial(pair: &Pair<'_, Rule>) -> Converted<Partial> {
    let mut inner = pair.clone().into_inner();
    let offset = next(&mut inner);
    let digits = offset.as_str();
    let offset = digits.parse().map_err(|_| {
        Failure::at(
            &offset,
            format!(
                "partial offset {digits} is too large (at most {})",
                u32::MAX
            ),
        )
    })?;
    Ok(Partial {
        offset,
        length: nz_number(&next(&mut inner), "partial length")?,
    })
}

fn section_part(pair: Pair<'_, Rule>) -> Converted<Vec<u32>> {
    pair.into_inner()
        .map(|n| nz_number(&n, "part number"))
        .collect()
}

fn section_binary(pair: Pair<'_, Rule>) -> Converted<Vec<u32>> {
    match pair.into_inner().next() {
        Some(part) => section_part(part),
        None => Ok(Vec::new()),
    }
}

fn flag(pair: &Pair<'_, Rule>) -> Flag {
    let text = pair.as_str();
    let Some(name) = text.strip_prefix('\\') else {
        return Flag::Keyword(text.to_owned());
    };
    const SYSTEM: [(&str, Flag); 6] = [
        ("Seen", Flag::Seen),
        ("Answered", Flag::Answered),
        ("Flagged", Flag::Flagged),
        ("Deleted", Flag::Deleted),
        ("Draft", Flag::Draft),
        ("Recent", Flag::Recent),
    ];
    SYSTEM
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, f)| f.clone())
        .unwrap_or_else(|| Flag::Extension(name.to_owned()))
}

/// A flag a client may set: anything but `\Recent` (RFC 9051 removed it; RFC 3501
/// 2.3.2 already said only the server sets it).
fn settable_flag(pair: &Pair<'_, Rule>, command: &str) -> Converted<Flag> {
    match flag(pair) {
        Flag::Recent => Err(Failure::at(
            pair,
            format!("\\Recent cannot be set by {command}; only the server sets it"),
        )),
        f => Ok(f),
    }
}

fn settable_flags(pairs: Pairs<'_, Rule>, command: &str) -> Converted<Vec<Flag>> {
    pairs.map(|p| settable_flag(&p, command)).collect()
}

/// A date-month, which the grammar has matched case-insensitively.
fn month(name: &str) -> Month {
    const MONTHS: [(&str, Month); 12] = [
        ("Jan", Month::January),
        ("Feb", Month::February),
        ("Mar", Month::March),
        ("Apr", Month::April),
        ("May", Month::May),
        ("Jun", Month::June),
        ("Jul", Month::July),
        ("Aug", Month::August),
        ("Sep", Month::September),
        ("Oct", Month::October),
        ("Nov", Month::November),
        ("Dec", Month::December),
    ];
    MONTHS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
        .expect("the grammar matched a month name")
}

/// Digits the grammar matched, as a small number.
fn digits(text: &str) -> u16 {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .fold(0, |n, d| n * 10 + u16::from(d - b'0'))
}

/// A date-text (`1-Feb-2026`), which must name a real day.
fn date(pair: Pair<'_, Rule>) -> Converted<Date> {
    let mut inner = pair.clone().into_inner();
    let day = digits(next(&mut inner).as_str());
    let month = month(next(&mut inner).as_str());
    let year = digits(next(&mut inner).as_str());
    calendar_date(&pair, pair.as_str(), year, month, day)
}

fn calendar_date(
    pair: &Pair<'_, Rule>,
    shown: &str,
    year: u16,
    month: Month,
    day: u16,
) -> Converted<Date> {
    let day = u8::try_from(day).unwrap_or(0);
    Date::from_calendar_date(i32::from(year), month, day)
        .map_err(|_| Failure::at(pair, format!("{shown} is not a date")))
}

/// A date-time (`"17-Jul-1996 02:44:25 -0700"`), which must name a real moment.
fn date_time(pair: Pair<'_, Rule>) -> Converted<OffsetDateTime> {
    let mut inner = pair.clone().into_inner();
    let day = digits(next(&mut inner).as_str());
    let month = month(next(&mut inner).as_str());
    let year = digits(next(&mut inner).as_str());
    let shown = pair.as_str()[1..].trim_start();
    let shown = shown.split(' ').next().unwrap_or(shown);
    let date = calendar_date(&pair, shown, year, month, day)?;
    let clock = next(&mut inner);
    let hms = clock.as_str();
    let time = Time::from_hms(
        digits(&hms[0..2]) as u8,
        digits(&hms[3..5]) as u8,
        digits(&hms[6..8]) as u8,
    )
    .map_err(|_| Failure::at(&clock, format!("{hms} is not a time of day")))?;
    let zone = next(&mut inner);
    let z = zone.as_str();
    let sign: i8 = if z.starts_with('-') { -1 } else { 1 };
    let offset = UtcOffset::from_hms(
        sign * digits(&z[1..3]) as i8,
        sign * digits(&z[3..5]) as i8,
        0,
    )
    .map_err(|_| Failure::at(&zone, format!("{z} is not a time zone")))?;
    Ok(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn status_att(pair: &Pair<'_, Rule>) -> StatusItem {
    const ITEMS: [(&str, StatusItem); 11] = [
        ("MESSAGES", StatusItem::Messages),
        ("UIDNEXT", StatusItem::UidNext),
        ("UIDVALIDITY", StatusItem::UidValidity),
        ("UNSEEN", StatusItem::Unseen),
        ("DELETED", StatusItem::Deleted),
        ("SIZE", StatusItem::Size),
        ("RECENT", StatusItem::Recent),
        ("HIGHESTMODSEQ", StatusItem::HighestModSeq),
        ("APPENDLIMIT", StatusItem::AppendLimit),
        ("DELETED-STORAGE", StatusItem::DeletedStorage),
        ("MAILBOXID", StatusItem::MailboxId),
    ];
    keyword(pair.as_str(), &ITEMS)
}

/// `RETURN (...)` of SEARCH and SORT.
fn search_returns(pair: Pair<'_, Rule>) -> Converted<Vec<SearchReturn>> {
    pair.into_inner().map(|o| search_return(&o)).collect()
}

fn search_return(pair: &Pair<'_, Rule>) -> Converted<SearchReturn> {
    if pair.as_rule() == Rule::return_partial {
        let range = next(&mut pair.clone().into_inner());
        return Ok(SearchReturn::Partial(partial_range(range)?));
    }
    const OPTIONS: [(&str, SearchReturn); 5] = [
        ("MIN", SearchReturn::Min),
        ("MAX", SearchReturn::Max),
        ("ALL", SearchReturn::All),
        ("COUNT", SearchReturn::Count),
        ("SAVE", SearchReturn::Save),
    ];
    Ok(keyword(pair.as_str(), &OPTIONS))
}

/// `first:last` or `-first:-last` (RFC 9394 4).
fn partial_range(pair: Pair<'_, Rule>) -> Converted<PartialRange> {
    let range = next(&mut pair.into_inner());
    let from_end = range.as_rule() == Rule::partial_last;
    let mut ends = range.into_inner();
    let first = nz_number(&next(&mut ends), "PARTIAL position")?;
    let last = nz_number(&next(&mut ends), "PARTIAL position")?;
    Ok(PartialRange {
        from_end,
        first,
        last,
    })
}

fn list_select_opts(pair: Pair<'_, Rule>) -> Converted<Vec<ListSelect>> {
    const OPTIONS: [(&str, ListSelect); 4] = [
        ("SUBSCRIBED", ListSelect::Subscribed),
        ("REMOTE", ListSelect::Remote),
        ("RECURSIVEMATCH", ListSelect::RecursiveMatch),
        ("SPECIAL-USE", ListSelect::SpecialUse),
    ];
    let options: Vec<ListSelect> = pair
        .clone()
        .into_inner()
        .map(|p| keyword(p.as_str(), &OPTIONS))
        .collect();
    // RFC 9051 9 list-select-opts: RECURSIVEMATCH modifies a base option and is an
    // error without one.
    let base = |o: &ListSelect| matches!(o, ListSelect::Subscribed | ListSelect::SpecialUse);
    if options.contains(&ListSelect::RecursiveMatch) && !options.iter().any(base) {
        return Err(Failure::at(
            &pair,
            "RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE with it",
        ));
    }
    Ok(options)
}

/// The value of a keyword the grammar matched case-insensitively from `table`.
fn keyword<T: Copy>(word: &str, table: &[(&str, T)]) -> T {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, v)| *v)
        .expect("the grammar matched one of the table's keywords")
}

// ---- errors ------------------------------------------------------------------------

/// The commands by the name a client sends, for "unknown command" and for naming the
/// command an error is in.
const COMMANDS: &[&str] = &[
    "FETCH",
    "UID",
    "STORE",
    "NOOP",
    "SELECT",
    "IDLE",
    "SEARCH",
    "STATUS",
    "EXAMINE",
    "LIST",
    "EXPUNGE",
    "APPEND",
    "COPY",
    "MOVE",
    "CLOSE",
    "UNSELECT",
    "LOGIN",
    "AUTHENTICATE",
    "CAPABILITY",
    "LOGOUT",
    "ID",
    "ENABLE",
    "NAMESPACE",
    "STARTTLS",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LSUB",
    "CHECK",
    "UNAUTHENTICATE",
    "COMPRESS",
    "SORT",
    "THREAD",
    "GETQUOTAROOT",
    "GETQUOTA",
    "SETQUOTA",
    "REPLACE",
    "GETMETADATA",
    "SETMETADATA",
    "NOTIFY",
    "ESEARCH",
];

/// The commands that take a UID prefix, as errors name them.
const UID_COMMANDS: &[(&str, &str)] = &[
    ("FETCH", "UID FETCH"),
    ("STORE", "UID STORE"),
    ("SEARCH", "UID SEARCH"),
    ("COPY", "UID COPY"),
    ("MOVE", "UID MOVE"),
    ("EXPUNGE", "UID EXPUNGE"),
    ("SORT", "UID SORT"),
    ("THREAD", "UID THREAD"),
    ("REPLACE", "UID REPLACE"),
];

/// The name errors use for the command the grammar matched in `command` (the line
/// after the tag).
fn command_name(command: &str) -> &'static str {
    let mut words = command.split(' ');
    let word = words.next().unwrap_or("");
    let name = COMMANDS
        .iter()
        .find(|c| c.eq_ignore_ascii_case(word))
        .copied()
        .unwrap_or("command");
    if name != "UID" {
        return name;
    }
    let sub = words.next().unwrap_or("");
    UID_COMMANDS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(sub))
        .map_or("UID", |(_, name)| name)
}

/// Literal tokens worth naming when the grammar expects them: punctuation between
/// values, and the keywords that can be the only thing expected. Tokens inside values
/// (quotes, '*', '$', '+') are left to the described rules. `" .. "` is how pest shows
/// the grammar's SP, a range (see SP in the grammar); [`expected`] calls it SP.
const PUNCTUATION: &[&str] = &[
    " .. ",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ".",
    ":",
    ",",
    "-",
    "USE",
    "UNCHANGEDSINCE",
];

/// Tokens that a described rule already covers, so that `expected a search key or
/// '('` says just `expected a search key`.
const COVERED: &[(&str, &[&str])] = &[
    ("a search key", &["'('", "a sequence set"]),
    ("a flag list", &["'('"]),
    ("a fetch item", &["'('"]),
    ("a string", &["a literal", "a literal8"]),
    ("a literal", &["a literal8"]),
    ("a charset", &["a string"]),
    ("a flag action (FLAGS, +FLAGS or -FLAGS)", &["'-'"]),
];

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::tag => "a tag",
        Rule::sequence_set | Rule::seq_range | Rule::seq_number => "a sequence set",
        Rule::mailbox => "a mailbox name",
        Rule::list_mailbox | Rule::list_chars => "a mailbox name or pattern",
        Rule::quoted | Rule::astring_chars => "a string",
        Rule::literal => "a literal",
        Rule::literal8 => "a literal8",
        Rule::search_key => "a search key",
        Rule::return_simple | Rule::return_partial => {
            "a search return option (MIN, MAX, ALL, COUNT, SAVE or PARTIAL)"
        }
        Rule::partial_range | Rule::partial_first | Rule::partial_last => {
            "a range of positions (first:last or -first:-last)"
        }
        Rule::position => "a position (1 or more)",
        Rule::charset => "a charset",
        Rule::fetch_macro
        | Rule::att_flags
        | Rule::att_uid
        | Rule::att_body_section
        | Rule::att_body_peek
        | Rule::att_bodystructure
        | Rule::att_body
        | Rule::att_envelope
        | Rule::att_internaldate
        | Rule::att_rfc822_size
        | Rule::att_rfc822_header
        | Rule::att_rfc822_text
        | Rule::att_rfc822
        | Rule::att_binary_size
        | Rule::att_binary_peek
        | Rule::att_binary
        | Rule::att_modseq
        | Rule::att_savedate
        | Rule::att_emailid
        | Rule::att_threadid
        | Rule::att_preview => "a fetch item",
        Rule::section_part | Rule::nz_number => "a part number",
        Rule::header_fields_not => "HEADER.FIELDS.NOT",
        Rule::header_fields => "HEADER.FIELDS",
        Rule::section_header => "HEADER",
        Rule::section_text_text => "TEXT",
        Rule::section_mime => "MIME",
        Rule::header_fld_name => "a header field name",
        Rule::partial => "a partial range <offset.length>",
        Rule::number64 | Rule::nz_number64 | Rule::mod_sequence_valzer => "a number",
        Rule::select_condstore | Rule::select_qresync => {
            "a SELECT parameter (CONDSTORE or QRESYNC)"
        }
        Rule::known_uids => "a UID set",
        Rule::seq_match_data => "'('",
        Rule::changedsince | Rule::vanished | Rule::fetch_partial => {
            "a FETCH modifier (CHANGEDSINCE, VANISHED or PARTIAL)"
        }
        Rule::entry_type => "an entry type (priv, shared or all)",
        Rule::utf8_data => "UTF8 (~{n})",
        Rule::interval => "a number of seconds",
        Rule::objectid => "an objectid (letters, digits, '_' and '-')",
        Rule::setquota_resource | Rule::resource_name => "a quota resource (STORAGE, MESSAGE, ...)",
        Rule::sort_criterion | Rule::sort_key => {
            "a sort key (ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM or DISPLAYTO)"
        }
        Rule::sort_reverse => "REVERSE",
        Rule::thread_alg => "a threading algorithm (ORDEREDSUBJECT or REFERENCES)",
        Rule::preview_mod => "LAZY",
        Rule::flag => "a flag",
        Rule::flag_list => "a flag list",
        Rule::flag_keyword => "a keyword",
        Rule::store_action => "a flag action (FLAGS, +FLAGS or -FLAGS)",
        Rule::store_silent => ".SILENT",
        Rule::date_text | Rule::date_day | Rule::date_year => "a date (d-Mon-yyyy)",
        Rule::date_month => "a month (Jan, Feb, ...)",
        Rule::date_time => "a date-time (\"dd-Mon-yyyy hh:mm:ss +zzzz\")",
        Rule::date_day_fixed => "a day (two digits, or SP and one)",
        Rule::time => "a time (hh:mm:ss)",
        Rule::zone => "a time zone (+hhmm or -hhmm)",
        Rule::status_att => {
            "a status item (MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, DELETED, SIZE, RECENT, HIGHESTMODSEQ, APPENDLIMIT, DELETED-STORAGE or MAILBOXID)"
        }
        Rule::list_select_opts => "'('",
        Rule::list_select_opt => {
            "a selection option (SUBSCRIBED, REMOTE, RECURSIVEMATCH or SPECIAL-USE)"
        }
        Rule::list_return_opts => "RETURN",
        Rule::return_option
        | Rule::return_keyword
        | Rule::status_option
        | Rule::metadata_option => {
            "a return option (SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS or METADATA)"
        }
        Rule::maxsize_opt | Rule::depth_opt => "a GETMETADATA option (MAXSIZE or DEPTH)",
        Rule::depth => "a depth (0, 1 or infinity)",
        Rule::entry => "an entry name",
        Rule::entry_value => "an entry name and value",
        Rule::notify_none | Rule::notify_set => "SET or NONE",
        Rule::notify_status => "STATUS",
        Rule::event_group => "'('",
        Rule::filter_selected
        | Rule::filter_selected_delayed
        | Rule::filter_inboxes
        | Rule::filter_personal
        | Rule::filter_subscribed
        | Rule::filter_subtree
        | Rule::filter_subtree_one
        | Rule::filter_listed => {
            "a mailbox filter (selected, selected-delayed, inboxes, personal, subscribed, subtree or mailboxes)"
        }
        Rule::events_none => "NONE",
        Rule::event_message_new | Rule::event_name => "an event",
        Rule::use_attr => "a special-use attribute (\\Sent, \\Drafts, ...)",
        Rule::capability => "a capability",
        Rule::auth_type => "a SASL mechanism name",
        Rule::initial_resp => "a SASL initial response (base64 or '=')",
        Rule::nil => "NIL",
        Rule::EOI => "end of line",
        _ => return None,
    })
}

/// The ParseError for a line the grammar refused: the tag if the line starts with a
/// valid one, and the place, named after the command it is in.
fn syntax_error(text: &str, error: &SyntaxError) -> ParseError {
    let tag_end = text.find(' ').unwrap_or(text.len());
    let token = &text[..tag_end];
    if let Err(e) = ImapParser::parse(Rule::tag_only, token) {
        let byte = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((p, _)) => p,
        };
        let at = SyntaxError::at_byte(text, byte, Vec::new());
        let message = if byte == 0 {
            format!("expected a tag at column 1, found {}", found(at.found))
        } else {
            format!(
                "invalid character {} in tag at column {}",
                found(at.found),
                at.column
            )
        };
        return ParseError {
            tag: None,
            message,
            column: at.column,
        };
    }
    let tag = Some(token.to_owned());
    let column = error.column;
    let end_column = SyntaxError::at_byte(text, tag_end, Vec::new()).column;
    if tag_end == text.len() {
        return ParseError {
            tag,
            message: format!("expected SP after tag at column {end_column}"),
            column: end_column,
        };
    }
    let rest = &text[tag_end + 1..];
    let mut words = rest.split(' ');
    let word = words.next().unwrap_or("");
    if word.is_empty() {
        return ParseError {
            tag,
            message: format!(
                "expected a command at column {}, found {}",
                end_column + 1,
                found(rest.chars().next())
            ),
            column: end_column + 1,
        };
    }
    let unknown = |word: String| ParseError {
        tag: tag.clone(),
        message: format!("unknown command {word}"),
        column: end_column + 1,
    };
    let Some(name) = COMMANDS.iter().find(|c| c.eq_ignore_ascii_case(word)) else {
        return unknown(command_word(word));
    };
    let name = if *name == "UID" {
        match words.next() {
            Some(sub) if !sub.is_empty() => {
                match UID_COMMANDS
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(sub))
                {
                    Some((_, name)) => name,
                    None => return unknown(format!("UID {}", command_word(sub))),
                }
            }
            _ => "UID",
        }
    } else {
        name
    };
    let expected = expected(&after_word(text, column, &error.expected));
    let found = found_token(text, column);
    let detail = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {expected}, found {found}")
    };
    ParseError {
        tag,
        message: format!("{name} at column {column}: {detail}"),
        column,
    }
}

/// What was expected, without the things that would start a new token when the error
/// is right after a letter or digit: no token starts in the middle of a word, so there
/// they only say that the word could have gone on ("SELECT a b": "a string" could
/// continue "a"), while SP or ')' say what must come next. If nothing else is left,
/// all are kept ("1-Jan-26" needs more of a date).
fn after_word<'e>(text: &str, column: usize, expected: &'e [String]) -> Vec<&'e String> {
    let after_word = column > 1
        && text
            .chars()
            .nth(column - 2)
            .is_some_and(char::is_alphanumeric);
    let token = |e: &&String| e.starts_with('\'') || e.as_str() == "end of line";
    if after_word && expected.iter().any(|e| token(&e)) {
        expected.iter().filter(token).collect()
    } else {
        expected.iter().collect()
    }
}

/// The expected things as a phrase: `'('`, `SP` and keywords read as they are written.
fn expected(list: &[&String]) -> String {
    let words: Vec<String> = list
        .iter()
        .map(|e| match e.as_str() {
            "' .. '" => "SP".to_owned(),
            quoted
                if quoted.len() > 3
                    && quoted.starts_with('\'')
                    && quoted[1..quoted.len() - 1]
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || matches!(b, b'.' | b'+' | b'-')) =>
            {
                quoted[1..quoted.len() - 1].to_owned()
            }
            other => other.to_owned(),
        })
        .fold(Vec::new(), |mut out, w| {
            if !out.contains(&w) {
                out.push(w);
            }
            out
        });
    let covered = |w: &String| {
        COVERED
            .iter()
            .any(|(rule, tokens)| tokens.contains(&w.as_str()) && words.iter().any(|x| x == rule))
    };
    let mut words: Vec<&String> = words.iter().filter(|w| !covered(w)).collect();
    // One order whatever order pest tried them in: what was named, then SP, then
    // punctuation, then the end of the line.
    words.sort_by_key(|w| match w.as_str() {
        "SP" => 1,
        "end of line" => 3,
        w if w.starts_with('\'') => 2,
        _ => 0,
    });
    match words.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(|w| w.as_str()).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

/// What stands at `column` of `text`, for "found ...": the run of letters and digits
/// there (at most 20 shown), or the one character that is neither.
fn found_token(text: &str, column: usize) -> String {
    let Some((byte, first)) = text.char_indices().nth(column - 1) else {
        return found(None);
    };
    if !first.is_alphanumeric() {
        return found(Some(first));
    }
    let word = &text[byte..];
    let end = word
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(word.len());
    format!("'{}'", shown(&word[..end]))
}

/// A character as a message shows it.
fn found(c: Option<char>) -> String {
    match c {
        None => "end of line".to_owned(),
        Some(' ') => "SP".to_owned(),
        Some(c) => format!("'{}'", shown(&c.to_string())),
    }
}

/// A client's text in a message: at most 20 characters, anything but printable ASCII
/// escaped (`\u{e9}`), since the message goes into a response line that an IMAP4rev1
/// client reads as 7-bit text.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(24));
    for c in text.chars().take(20) {
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            out.extend(c.escape_unicode());
        }
    }
    if text.chars().nth(20).is_some() {
        out.push_str("...");
    }
    out
}

/// A command word the client sent, as "unknown command" shows it: bare if it looks
/// like a command name, else quoted, so that the response line never ends in
/// something like `{5}`, which a client would take for a literal.
fn command_word(word: &str) -> String {
    let plain = word
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='));
    if plain && word.len() <= 20 {
        word.to_owned()
    } else {
        format!("'{}'", shown(word))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn parse(text: &str) -> Result<Request, ParseError> {
        parse_command(text, Vec::new())
    }

    fn with(text: &str, literals: &[&[u8]]) -> Result<Request, ParseError> {
        let literals = literals
            .iter()
            .map(|l| Literal::Memory(l.to_vec()))
            .collect();
        parse_command(text, literals)
    }

    fn error(text: &str) -> (Option<String>, String, usize) {
        let e = parse(text).expect_err(text);
        (e.tag, e.message, e.column)
    }

    fn command(text: &str) -> Command {
        parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .command
    }

    #[test]
    fn errors_keep_the_tag_and_say_what_was_expected_where() {
        for (line, tag, message, column) in [
            ("A1", Some("A1"), "expected SP after tag at column 3", 3),
            (
                "A1 ",
                Some("A1"),
                "expected a command at column 4, found end of line",
                4,
            ),
            (
                "A1  NOOP",
                Some("A1"),
                "expected a command at column 4, found SP",
                4,
            ),
            ("A1 FOO bar", Some("A1"), "unknown command FOO", 4),
            ("A1 UID FOO 1", Some("A1"), "unknown command UID FOO", 4),
            (
                "A1 NOOP ",
                Some("A1"),
                "NOOP at column 8: expected end of line, found SP",
                8,
            ),
            (
                "A1 FETCH x FLAGS",
                Some("A1"),
                "FETCH at column 10: expected a sequence set, found 'x'",
                10,
            ),
            (
                "A1 FETCH 1 FLAGZ",
                Some("A1"),
                "FETCH at column 12: expected a fetch item, found 'FLAGZ'",
                12,
            ),
            (
                "a2 SEARCH UNSEEN FOO",
                Some("a2"),
                "SEARCH at column 18: expected a search key, found 'FOO'",
                18,
            ),
            (
                "a2 UID FETCH 1 (FLAGS",
                Some("a2"),
                "UID FETCH at column 22: expected SP or ')', found end of line",
                22,
            ),
            (
                "A1 LIST (FOO) \"\" *",
                Some("A1"),
                "LIST at column 10: expected a selection option (SUBSCRIBED, REMOTE, RECURSIVEMATCH or SPECIAL-USE) or ')', found 'FOO'",
                10,
            ),
            (
                "A1 STORE 1 FLAGS.SILENT \\Seen  \\Deleted",
                Some("A1"),
                "STORE at column 31: expected a flag, found SP",
                31,
            ),
            (" A1 NOOP", None, "expected a tag at column 1, found SP", 1),
            ("", None, "expected a tag at column 1, found end of line", 1),
            ("+ NOOP", None, "expected a tag at column 1, found '+'", 1),
            (
                "A(1 NOOP",
                None,
                "invalid character '(' in tag at column 2",
                2,
            ),
            (
                "A1\tNOOP",
                None,
                "invalid character '\\u{9}' in tag at column 3",
                3,
            ),
            ("A1 {5}", Some("A1"), "unknown command '{5}'", 4),
            (
                "A1 sélect INBOX",
                Some("A1"),
                "unknown command 's\\u{e9}lect'",
                4,
            ),
        ] {
            assert_eq!(
                error(line),
                (tag.map(String::from), message.to_string(), column),
                "{line:?}"
            );
        }
    }

    #[test]
    fn checks_after_the_grammar_name_the_problem() {
        for (line, message) in [
            (
                "A1 FETCH 0 FLAGS",
                "FETCH at column 10: message number 0 is not allowed (the lowest is 1)",
            ),
            (
                "A1 UID FETCH 1:4294967296 FLAGS",
                "UID FETCH at column 16: UID 4294967296 is too large (at most 4294967295)",
            ),
            (
                "A1 COPY 01 Trash",
                "COPY at column 9: message number 01 has a leading zero",
            ),
            (
                "A1 FETCH 1 BODY[1.0]",
                "FETCH at column 19: part number 0 is not allowed (the lowest is 1)",
            ),
            (
                "A1 FETCH 1 BODY[]<0.0>",
                "FETCH at column 21: partial length 0 is not allowed (the lowest is 1)",
            ),
            (
                "A1 SEARCH LARGER 9223372036854775808",
                "SEARCH at column 18: LARGER 9223372036854775808 is too large (at most 9223372036854775807)",
            ),
            (
                "A1 SEARCH SINCE 31-Feb-2026",
                "SEARCH at column 17: 31-Feb-2026 is not a date",
            ),
            (
                "A1 STORE 1 +FLAGS (\\Seen \\Recent)",
                "STORE at column 26: \\Recent cannot be set by STORE; only the server sets it",
            ),
            (
                "A1 LIST (REMOTE RECURSIVEMATCH) \"\" *",
                "LIST at column 9: RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE with it",
            ),
            (
                "A1 AUTHENTICATE PLAIN abc",
                "AUTHENTICATE at column 23: the initial response is not base64: its length is not a multiple of 4",
            ),
        ] {
            let (tag, got, _) = error(line);
            assert_eq!(tag.as_deref(), Some("A1"));
            assert_eq!(got, message, "{line}");
        }
    }

    #[test]
    fn literals_fill_the_strings_in_order() {
        let r = with("A1 LOGIN {5} {8+}", &[b"fred1", b"pass word"[..8].as_ref()]).unwrap();
        assert_eq!(
            r.command,
            Command::Login {
                user: "fred1".into(),
                password: "pass wor".into()
            }
        );
        // A quoted string that looks like a marker is a string, not a literal.
        assert_eq!(
            command("A1 LOGIN \"{5}\" \"a\\\"b\\\\\""),
            Command::Login {
                user: "{5}".into(),
                password: "a\"b\\".into()
            }
        );
        for (text, literals, message) in [
            (
                "A1 LOGIN {5} x",
                &[][..],
                "LOGIN at column 10: the literal's octets are missing",
            ),
            (
                "A1 LOGIN x y",
                &[b"extra".as_slice()][..],
                "LOGIN at column 13: more literals arrived than the line has markers",
            ),
            (
                "A1 LOGIN {4} x",
                &[b"fred1".as_slice()][..],
                "LOGIN at column 10: the literal's marker says 4 octets, but 5 arrived",
            ),
            (
                "A1 LOGIN {2} x",
                &[b"\xff\xfe".as_slice()][..],
                "LOGIN at column 10: the literal is not valid UTF-8",
            ),
            (
                "A1 LOGIN {2} x",
                &[b"a\0".as_slice()][..],
                "LOGIN at column 10: a literal string must not contain NUL",
            ),
            (
                "A1 SELECT ~{5}",
                &[b"INBOX".as_slice()][..],
                "SELECT at column 11: a literal8 (~{n}) is allowed only for APPEND's message and METADATA values; use {n} here",
            ),
        ] {
            let e = with(text, literals).expect_err(text);
            assert_eq!(
                (e.tag.as_deref(), e.message.as_str()),
                (Some("A1"), message)
            );
        }
    }

    #[test]
    fn append_moves_its_literal_and_takes_literal8() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"Subject: hi\r\n\r\nbody\r\n").unwrap();
        let literal = Literal::File { file, len: 21 };
        let r = parse_command(
            "A3 APPEND saved (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {21}",
            vec![literal],
        )
        .unwrap();
        let Command::Append {
            mailbox,
            mut messages,
        } = r.command
        else {
            panic!("not an APPEND");
        };
        let message = messages.pop().unwrap();
        assert_eq!(mailbox, "saved");
        assert_eq!(message.flags, vec![Flag::Seen]);
        let date = message.date.unwrap();
        assert_eq!(
            (date.day(), date.hour(), date.offset().whole_hours()),
            (7, 21, -8)
        );
        // The spooled file itself, not a copy in memory.
        assert!(matches!(message.data, Literal::File { len: 21, .. }));

        let r = with("A4 APPEND INBOX ~{3}", &[b"a\0b"]).unwrap();
        let Command::Append { messages, .. } = r.command else {
            panic!("not an APPEND");
        };
        assert_eq!(messages[0].data, Literal::Memory(b"a\0b".to_vec()));
        assert_eq!(
            with("A5 APPEND INBOX \"hello\"", &[]).unwrap_err().message,
            "APPEND at column 18: expected a day (two digits, or SP and one) or SP, found 'hello'"
        );
    }

    #[test]
    fn inbox_is_case_insensitive_other_names_are_kept() {
        for text in ["A1 SELECT inbox", "A1 SELECT \"InBox\"", "A1 SELECT INBOX"] {
            assert_eq!(
                command(text),
                Command::Select {
                    mailbox: "INBOX".into(),
                    read_only: false,
                    condstore: false,
                    qresync: None
                }
            );
        }
        assert_eq!(
            command("A1 EXAMINE Inbox/Sub"),
            Command::Select {
                mailbox: "Inbox/Sub".into(),
                read_only: true,
                condstore: false,
                qresync: None
            }
        );
        assert_eq!(
            command("A1 CREATE &ZeVnLIqe-"),
            Command::Create {
                mailbox: "&ZeVnLIqe-".into(),
                special_use: vec![]
            }
        );
    }

    #[test]
    fn search_keys_nest_into_and_or_not() {
        let Command::Search(s) = command("A1 SEARCH ALL") else {
            panic!()
        };
        assert_eq!(s.key, SearchKey::All);
        let Command::Search(s) = command("A1 UID SEARCH (SEEN) 2:4") else {
            panic!()
        };
        assert!(s.uid);
        assert_eq!(
            s.key,
            SearchKey::And(vec![
                SearchKey::And(vec![SearchKey::Seen]),
                SearchKey::Sequence(SequenceSet::Ranges(vec![(
                    SeqNumber::Number(2),
                    SeqNumber::Number(4)
                )])),
            ])
        );
        let Command::Search(s) =
            command("A1 SEARCH RETURN () OR NOT FROM \"a b\" SINCE 1-feb-2026")
        else {
            panic!()
        };
        assert_eq!(s.returns, Some(vec![]));
        assert_eq!(
            s.key,
            SearchKey::Or(
                Box::new(SearchKey::Not(Box::new(SearchKey::From("a b".into())))),
                Box::new(SearchKey::Since(
                    Date::from_calendar_date(2026, Month::February, 1).unwrap()
                )),
            )
        );
        let deep = format!("A1 SEARCH {}ALL{}", "(".repeat(70), ")".repeat(70));
        assert_eq!(
            error(&deep).1,
            "SEARCH at column 75: search keys are nested more than 64 deep"
        );
        let nots = format!("A1 SEARCH {}ALL", "NOT ".repeat(5000));
        assert!(error(&nots).1.starts_with("SEARCH at column "));
    }

    #[test]
    fn fetch_macros_expand() {
        let items = |text| match command(text) {
            Command::Fetch(f) => f.items,
            c => panic!("{c:?}"),
        };
        use FetchItem::*;
        assert_eq!(items("A1 FETCH 1 FAST"), [Flags, InternalDate, Rfc822Size]);
        assert_eq!(
            items("A1 FETCH 1 all"),
            [Flags, InternalDate, Rfc822Size, Envelope]
        );
        assert_eq!(
            items("A1 FETCH 1 Full"),
            [Flags, InternalDate, Rfc822Size, Envelope, Body]
        );
        assert_eq!(
            items("A1 FETCH 1 (PREVIEW BINARY.PEEK[1.2]<5.10>)"),
            [
                Preview { lazy: false },
                Binary {
                    peek: true,
                    part: vec![1, 2],
                    partial: Some(Partial {
                        offset: 5,
                        length: 10
                    })
                }
            ]
        );
    }

    #[test]
    fn id_is_limited_as_rfc_2971_says() {
        let pairs: String = (0..31).map(|i| format!(" \"f{i}\" NIL")).collect();
        let text = format!("A1 ID ({})", &pairs[1..]);
        assert!(
            error(&text)
                .1
                .ends_with("ID allows at most 30 field-value pairs (RFC 2971 3.3)")
        );
        assert_eq!(
            error(&format!("A1 ID (\"{}\" NIL)", "f".repeat(31))).1,
            "ID at column 8: ID field names are at most 30 octets (RFC 2971 3.3)"
        );
        assert_eq!(command("A1 ID ()"), Command::Id(Some(vec![])));
    }
}
