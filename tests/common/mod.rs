//! Helpers for the integration tests that run the `gannet` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `gannet ARGS` in `dir`, without a GANNET_CONFIG from the environment.
pub fn gannet(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gannet"))
        .args(args)
        .current_dir(dir)
        .env_remove("GANNET_CONFIG")
        .output()
        .expect("gannet runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
