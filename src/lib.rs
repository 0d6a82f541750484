//! Gannet: an all-in-one mail server. See README.md for the manual and
//! ARCHITECTURE.md (in the project's shared folder) for the map of modules.

pub mod address;
pub mod config;
pub mod grammar;
pub mod leniency;
pub mod localserve;
pub mod logging;
pub mod message;
pub mod server;
pub mod smtp;
pub mod smtpserver;
pub mod store;
