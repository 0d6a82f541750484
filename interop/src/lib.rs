//! The interop suite: real clients and MTAs (swaks, curl, neomutt, mbsync, Postfix,
//! Exim, Dovecot's tools, ...) driven against a live gannet, as local processes and
//! in containers. It arrives with the localserve work, once gannet serves SMTP and
//! IMAP; until then `cargo xtask interop` says it is not available yet.
