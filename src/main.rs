//! The `gannet` binary: parses the command line and runs the command.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
