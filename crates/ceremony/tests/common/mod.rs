//! Helpers shared by this crate's integration tests: where the python-tuf
//! peer is, how to run the `ceremony` binary, and how to show its output in
//! a failure. (Each test binary uses a different subset of them.)
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv python with python-tuf that `cargo xtask test` makes (or
/// `$TUF_CEREMONY_PYTHON`).
pub fn python() -> PathBuf {
    std::env::var_os("TUF_CEREMONY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

/// Runs the `ceremony` binary with `args`.
pub fn ceremony(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ceremony"))
        .args(args)
        .output()
        .expect("run ceremony")
}

/// Runs the `ceremony` binary with `args` against the SoftHSM2 tokens of
/// `softhsm2_conf`.
pub fn ceremony_with_conf(args: &[&OsStr], softhsm2_conf: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ceremony"))
        .args(args)
        .env("SOFTHSM2_CONF", softhsm2_conf)
        .output()
        .expect("run ceremony")
}

/// Exit code and both streams, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
