//! Shared SMTP types: commands (from `grammars/smtp.pest`), their parameters, and
//! replies with enhanced status codes. The server and the client sessions use them.

mod command;
mod data;
mod ehlo;
mod line;
mod params;
#[cfg(test)]
mod proptests;
mod reply;

pub use command::{Command, CommandError};
pub use data::{DataDecoder, DataError, DataRules, Fed, MAX_LINE, dot_stuff};
pub use ehlo::Extensions;
pub use line::{Found, LineError, MAX_COMMAND_LINE, line_text, next_line};
pub use params::{
    Body, Hold, MailParams, Notify, Orcpt, ParamError, RcptParams, Ret, rfc3339, xtext_decode,
    xtext_encode,
};
pub use reply::{Enhanced, Reply, ReplyError, ReplyLine};
