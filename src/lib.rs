//! Gannet: an all-in-one mail server. See README.md for the manual and
//! ARCHITECTURE.md (in the project's shared folder) for the map of modules.

pub mod address;
pub mod auth;
pub mod authres;
pub mod config;
pub mod connection;
pub mod connlimit;
pub mod ctl;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod grammar;
pub mod imap;
pub mod imapserver;
pub mod iprev;
pub mod leniency;
pub mod localserve;
pub mod logging;
pub mod message;
pub mod psl;
pub mod queue;
pub mod ratelimit;
pub mod recipients;
pub mod sasl;
pub mod server;
pub mod smtp;
pub mod smtpclient;
pub mod smtpserver;
pub mod socks5;
pub mod spf;
pub mod store;
pub mod tag_list;
pub mod tls;
